"""The .arc container: a compact, self-describing, little-endian header and the payload.

See docs/format.md for the byte layout. Every field is checked when reading; errors name what is
wrong in one line.
"""
from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from .errors import FormatError

MAGIC = b"\xac\x0d"
VERSION = 1
CODER_RANGE = 0
FLAG_EXTRA = 2   # kind-byte flag: an extra field (varint length + bytes) follows the dims


@dataclass
class Header:
    model_code: int              # shipped model number (1..255), or 0: model named by ``model_name``
    weights_hash: bytes          # first 4 bytes of the weight file's sha256
    codec: int                   # codec id (0..7), see codecs/__init__.py
    dims: list[int]              # data shape, 0..3 numbers (codec-defined meaning)
    crc32: int                   # CRC-32 of the original data (codec-defined canonical bytes)
    model_name: str = ""         # only when model_code == 0
    flags: int = 0               # bit 0: codec-defined; bit 1 (FLAG_EXTRA) is set by ``pack``
    extra: bytes = b""           # optional codec metadata (e.g. file name and mode bits)
    coder: int = CODER_RANGE     # entropy coder (0: constriction range coder)
    version: int = VERSION


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, n: int, what: str) -> bytes:
        if self.pos + n > len(self.data):
            raise FormatError(f"truncated .arc file (ends inside the {what})")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def varint(self, what: str) -> int:
        n = shift = 0
        while True:
            b = self.take(1, what)[0]
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return n
            if shift > 63:
                raise FormatError(f"corrupt .arc file (bad {what})")


def pack(h: Header, payload: bytes) -> bytes:
    """Header + payload -> file bytes."""
    if not (0 <= h.codec < 8 and 0 <= len(h.dims) < 4 and 0 <= h.flags < 2 and h.coder < 2):
        raise ValueError("header field out of range")
    flags = h.flags | (FLAG_EXTRA if h.extra else 0)
    out = bytearray(MAGIC)
    out.append(h.version)
    out.append(h.model_code)
    if h.model_code == 0:
        name = h.model_name.encode()
        out += _varint(len(name)) + name
    out += h.weights_hash[:4]
    out.append(h.codec << 5 | h.coder << 4 | len(h.dims) << 2 | flags)
    for d in h.dims:
        out += _varint(d)
    if h.extra:
        out += _varint(len(h.extra)) + h.extra
    out += struct.pack("<I", h.crc32)
    out += _varint(len(payload))
    return bytes(out) + payload


def unpack(data: bytes) -> tuple[Header, bytes, int]:
    """File bytes -> (header, payload, header length). Raises FormatError naming the problem."""
    if len(data) == 0:
        raise FormatError("empty file, not an .arc file")
    if data[:2] != MAGIC:
        raise FormatError("not an .arc file (bad magic bytes)")
    r = _Reader(data)
    r.take(2, "magic")
    version = r.take(1, "version")[0]
    if version != VERSION:
        raise FormatError(f"unsupported .arc format version {version} (this arcodec reads {VERSION})")
    code = r.take(1, "model id")[0]
    name = ""
    if code == 0:
        name = r.take(r.varint("model name"), "model name").decode("utf-8", "replace")
    whash = r.take(4, "weights hash")
    kind = r.take(1, "kind")[0]
    dims = [r.varint("shape") for _ in range((kind >> 2) & 3)]
    extra = r.take(r.varint("extra field"), "extra field") if kind & FLAG_EXTRA else b""
    crc = struct.unpack("<I", r.take(4, "checksum"))[0]
    n = r.varint("payload length")
    hlen = r.pos
    payload = r.take(n, "payload")
    if r.pos != len(data):
        raise FormatError(f"corrupt .arc file ({len(data) - r.pos} bytes after the payload)")
    h = Header(model_code=code, weights_hash=whash, codec=kind >> 5, dims=dims, crc32=crc,
               model_name=name, flags=kind & 1, coder=(kind >> 4) & 1, version=version,
               extra=extra)
    return h, payload, hlen


def crc32(data: bytes) -> int:
    return zlib.crc32(data) & 0xFFFFFFFF
