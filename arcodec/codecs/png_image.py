"""Any PNG: samples by a PixelCNN where one fits, by an exact fallback otherwise; chunks kept.

Plans (stored in the extra field):
  PLAN_FALLBACK  every sample by the fallback (palette indices, 1/2/4-bit and 16-bit gray)
  PLAN_MODEL     the colour planes by the model (gray: a 1-channel model, RGB: a 3-channel
                 model); an alpha plane by the fallback
  PLAN_GRAY_RGB  gray replicated to R = G = B for a 3-channel model (the decoder keeps R)
The fallback is LZMA (xz preset 9e) over the samples in PNG row order (16-bit big-endian).

Extra field: colour type, bit depth, plan, varint chunk count, then per chunk: 1 byte
(0 before IDAT, 1 after), the 4-byte chunk type, varint length, the chunk data.
Payload: varint length of the model stream, the model stream (range coder), the LZMA stream.
Checksum: CRC-32 of the samples (uint8, or big-endian uint16), over (H, W, channels).
"""
from __future__ import annotations

import lzma
from typing import Callable

import numpy as np

from .. import container
from ..errors import FormatError
from ..png import CHANNELS, DEPTHS, PngImage
from . import pixel_image

PLAN_FALLBACK, PLAN_MODEL, PLAN_GRAY_RGB = 0, 1, 2


def sample_bytes(samples: np.ndarray) -> bytes:
    """Canonical bytes of the samples (what the checksum covers)."""
    return samples.astype(">u2").tobytes() if samples.dtype == np.uint16 else samples.tobytes()


def pack_extra(p: PngImage, plan: int) -> bytes:
    out = bytearray([p.color_type, p.bit_depth, plan])
    cs = [(0, k, b) for k, b in p.before] + [(1, k, b) for k, b in p.after]
    out += container._varint(len(cs))
    for where, k, b in cs:
        out += bytes([where]) + k + container._varint(len(b)) + b
    return bytes(out)


def parse_extra(extra: bytes, h: int, w: int) -> tuple[PngImage, int]:
    """Extra field -> (PngImage without samples, plan). FormatError when malformed."""
    r = container._Reader(extra)
    ct, depth, plan = r.take(3, "PNG description")
    if ct not in CHANNELS or depth not in DEPTHS[ct] or plan > PLAN_GRAY_RGB:
        raise FormatError("corrupt .arc file (bad PNG description)")
    p = PngImage(w, h, depth, ct, np.zeros((0,), np.uint8))
    for _ in range(r.varint("chunk count")):
        where = r.take(1, "chunk")[0]
        kind = r.take(4, "chunk")
        body = r.take(r.varint("chunk"), "chunk")
        (p.after if where else p.before).append((kind, body))
    if r.pos != len(extra):
        raise FormatError("corrupt .arc file (bad PNG description)")
    return p, plan


def planes(p: PngImage, plan: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Split samples into (model image (H, W, C) uint8 or None, fallback samples or None)."""
    s = p.samples
    if plan == PLAN_FALLBACK:
        return None, s
    colour = 1 if p.color_type in (0, 4) else 3
    img = s[:, :, :colour]
    if plan == PLAN_GRAY_RGB:
        img = np.repeat(img, 3, axis=2)
    rest = s[:, :, colour:] if s.shape[2] > colour else None
    return np.ascontiguousarray(img), rest


def encode(p: PngImage, plan: int, model, batch_rows: int | None = None,
           progress: Callable[[int], None] | None = None) -> tuple[bytes, float, int]:
    """PngImage -> (payload, integer-model NLL bits of the model-coded planes, bytes of the
    payload coded without the model: the LZMA stream of the fallback samples)."""
    img, rest = planes(p, plan)
    stream, nll = b"", 0.0
    if img is not None:
        stream, nll = pixel_image.encode(model, img, batch_rows, progress)
    fb = b"" if rest is None else lzma.compress(sample_bytes(rest),
                                                 preset=9 | lzma.PRESET_EXTREME)
    return container._varint(len(stream)) + stream + fb, nll, len(fb)


def decode(p: PngImage, plan: int, payload: bytes, model, batch_rows: int | None = None,
           progress: Callable[[int], None] | None = None) -> np.ndarray:
    """Payload -> samples (H, W, channels) of ``p`` (whose samples are not yet known)."""
    r = container._Reader(payload)
    stream = r.take(r.varint("model stream"), "model stream")
    fb = payload[r.pos:]
    h, w, n_ch = p.height, p.width, CHANNELS[p.color_type]
    dtype = np.uint16 if p.bit_depth == 16 else np.uint8
    parts = []
    if plan != PLAN_FALLBACK:
        img = pixel_image.decode(model, stream, h, w, batch_rows, progress)
        parts.append(img[:, :, :1] if plan == PLAN_GRAY_RGB else img)
    n_rest = n_ch - (parts[0].shape[2] if parts else 0)
    if n_rest:
        want = h * w * n_rest * (2 if dtype == np.uint16 else 1)
        try:   # never inflate more than the image needs (a corrupt stream could be a bomb)
            raw = lzma.LZMADecompressor().decompress(fb, max_length=want + 1)
        except lzma.LZMAError:
            raise FormatError("corrupt .arc file (fallback stream)") from None
        if len(raw) != want:
            raise FormatError("corrupt .arc file (fallback stream size)")
        a = np.frombuffer(raw, dtype=">u2" if dtype == np.uint16 else np.uint8)
        parts.append(a.astype(dtype).reshape(h, w, n_rest))
    return np.ascontiguousarray(np.concatenate(parts, axis=2).astype(dtype))
