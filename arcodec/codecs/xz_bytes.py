"""Any bytes, by LZMA2 (xz's algorithm, preset 9e): the fallback for inputs a byte model codes
badly (spreadsheets, executables, fax bitmaps: data with long exact repeats and no text).

The payload is a raw LZMA2 stream (no .xz container: the .arc header already holds the length
and a CRC-32 of the data). The dictionary size follows from the input length alone, so the
decoder rebuilds the same filter chain from the header.
"""
from __future__ import annotations

import lzma

from ..errors import FormatError

MAX_DICT = 64 << 20       # xz -9's dictionary


def _filters(n: int) -> list[dict]:
    """LZMA2 preset 9e with a dictionary just large enough for n bytes (4 KiB .. 64 MiB)."""
    d = 4096
    while d < n and d < MAX_DICT:
        d *= 2
    return [{"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME, "dict_size": d}]


def encode(data: bytes) -> bytes:
    """bytes -> raw LZMA2 payload."""
    return lzma.compress(data, format=lzma.FORMAT_RAW, filters=_filters(len(data)))


def decode(payload: bytes, n: int) -> bytes:
    """Payload -> the n original bytes (never inflates more than n + 1 bytes)."""
    try:
        out = lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=_filters(n)).decompress(
            payload, max_length=n + 1)
    except lzma.LZMAError:
        raise FormatError("corrupt .arc file (xz stream)") from None
    if len(out) != n:
        raise FormatError("corrupt .arc file (xz stream size)")
    return out
