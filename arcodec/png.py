"""PNG files as exact samples plus the chunks around them.

``read_png`` returns the raw samples (the integers the PNG stores: palette indices, 1/2/4/8-bit
gray, 16-bit gray, 8-bit colour and alpha) and every chunk other than IHDR, IDAT and IEND as
raw bytes (PLTE, tRNS, iCCP, gAMA, sRGB, cHRM, pHYs, tEXt, zTXt, iTXt, tIME, ...), in order.
``write_png`` writes them back: pixels identical, every stored chunk byte for byte, always
non-interlaced (the file bytes may differ from the original; the pixels and metadata do not).
Pillow decodes the pixels; the chunk layer and the writer are our own so that nothing is
dropped or rescaled.
"""
from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass, field

import numpy as np

from .errors import InputError

SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}      # colour type -> samples per pixel
DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}


@dataclass
class PngImage:
    width: int
    height: int
    bit_depth: int
    color_type: int
    samples: np.ndarray                  # (H, W, channels) uint8, or uint16 for 16-bit
    before: list[tuple[bytes, bytes]] = field(default_factory=list)  # chunks before IDAT
    after: list[tuple[bytes, bytes]] = field(default_factory=list)   # chunks after IDAT

    @property
    def channels(self) -> int:
        return CHANNELS[self.color_type]


class Unsupported(Exception):
    """A valid PNG whose samples this reader cannot deliver exactly (the caller stores it)."""


def is_png(data: bytes) -> bool:
    return data[:8] == SIGNATURE


def chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """All chunks (type, data) of a PNG file; InputError if the structure is broken."""
    out, pos = [], 8
    while pos < len(data):
        if pos + 8 > len(data):
            raise InputError("corrupt PNG file (truncated chunk header)")
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if pos + 12 + n > len(data):
            raise InputError(f"corrupt PNG file (truncated {kind.decode('latin-1')} chunk)")
        body = data[pos + 8:pos + 8 + n]
        crc = struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])[0]
        if zlib.crc32(kind + body) & 0xFFFFFFFF != crc:
            raise InputError(f"corrupt PNG file (bad CRC in {kind.decode('latin-1')} chunk)")
        out.append((kind, body))
        pos += 12 + n
        if kind == b"IEND":
            break
    if not out or out[0][0] != b"IHDR" or out[-1][0] != b"IEND":
        raise InputError("corrupt PNG file (no IHDR or IEND chunk)")
    return out


def read_png(data: bytes) -> PngImage:
    """PNG bytes -> PngImage. InputError for a broken file; Unsupported for a valid PNG whose
    samples cannot be read exactly here (16-bit colour, animated PNG)."""
    from PIL import Image
    cs = chunks(data)
    w, h, depth, ct, _comp, _filt, _interlace = struct.unpack(">IIBBBBB", cs[0][1][:13])
    if ct not in CHANNELS or depth not in DEPTHS[ct] or w == 0 or h == 0:
        raise InputError(f"corrupt PNG file (colour type {ct}, bit depth {depth})")
    if depth == 16 and ct != 0:
        raise Unsupported(f"16-bit {'RGB' if ct == 2 else 'gray+alpha' if ct == 4 else 'RGBA'}")
    if any(k == b"acTL" for k, _ in cs):
        raise Unsupported("animated PNG")
    try:
        img = Image.open(io.BytesIO(data))
        img.load()
    except Exception as e:   # Pillow raises many types for broken image data
        raise InputError(f"corrupt PNG file ({e})") from None
    a = np.asarray(img)
    if ct == 0 and depth == 1:
        s = a.astype(np.uint8)
    elif ct == 0 and depth in (2, 4):
        s = a // (255 // (2**depth - 1))                 # Pillow scales 2/4-bit gray to 0..255
    elif ct == 0 and depth == 16:
        s = a.astype(np.uint16)
    else:
        s = a
    s = np.ascontiguousarray(s.reshape(h, w, CHANNELS[ct]))
    idat = [i for i, (k, _) in enumerate(cs) if k == b"IDAT"]
    keep = lambda lo, hi: [(k, b) for k, b in cs[lo:hi] if k not in (b"IDAT", b"IEND")]
    return PngImage(w, h, depth, ct, s, keep(1, idat[0]), keep(idat[-1] + 1, len(cs)))


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(
        ">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def _raw_rows(p: PngImage) -> tuple[np.ndarray, int]:
    """Samples -> (H, row bytes) uint8 scanlines (unfiltered) and bytes per pixel (>= 1)."""
    s = p.samples.reshape(p.height, -1)
    if p.bit_depth == 16:
        return s.astype(">u2").view(np.uint8).reshape(p.height, -1), 2 * p.channels
    if p.bit_depth == 8:
        return s.astype(np.uint8), p.channels
    d = p.bit_depth
    bits = (s[:, :, None] >> np.arange(d - 1, -1, -1, dtype=np.uint8)) & 1   # MSB first
    return np.packbits(bits.reshape(p.height, -1).astype(np.uint8), axis=1), 1


def _filter(rows: np.ndarray, bpp: int, chunk: int = 256) -> bytes:
    """Adaptive filtering (per row, the filter with the least sum of |signed bytes|), done
    ``chunk`` rows at a time so that memory stays a few times one chunk."""
    out = []
    prev = np.zeros((1, rows.shape[1]), dtype=np.int16)
    for k in range(0, len(rows), chunk):
        x = rows[k:k + chunk].astype(np.int16)
        up = np.vstack([prev, x[:-1]])
        prev = x[-1:]
        left = np.hstack([np.zeros_like(x[:, :bpp]), x[:, :-bpp]])
        ul = np.hstack([np.zeros_like(up[:, :bpp]), up[:, :-bpp]])
        pa, pb, pc = np.abs(up - ul), np.abs(left - ul), np.abs(left + up - 2 * ul)
        paeth = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, up, ul))
        cands = np.stack([x, x - left, x - up, x - (left + up) // 2, x - paeth]) & 0xFF
        cost = np.abs(cands.astype(np.int8).astype(np.int32)).sum(axis=2)   # (5, rows)
        best = cost.argmin(axis=0)
        sel = cands[best, np.arange(len(x))].astype(np.uint8)
        out.append(np.hstack([best[:, None].astype(np.uint8), sel]).tobytes())
    return b"".join(out)


def write_png(p: PngImage) -> bytes:
    """PngImage -> PNG bytes (non-interlaced, the stored chunks in their places)."""
    rows, bpp = _raw_rows(p)
    ihdr = struct.pack(">IIBBBBB", p.width, p.height, p.bit_depth, p.color_type, 0, 0, 0)
    out = [SIGNATURE, _chunk(b"IHDR", ihdr)]
    out += [_chunk(k, b) for k, b in p.before]
    out.append(_chunk(b"IDAT", zlib.compress(_filter(rows, bpp), 6)))
    out += [_chunk(k, b) for k, b in p.after]
    out.append(_chunk(b"IEND", b""))
    return b"".join(out)
