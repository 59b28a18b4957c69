"""The Python API: compress and decompress files, bytes and arrays.

>>> import arcodec, numpy as np
>>> digit = np.zeros((28, 28), np.uint8); digit[8:20, 13:15] = 1
>>> r = arcodec.compress_image(digit)
>>> bool(np.array_equal(arcodec.decompress_image(r.data), digit))
True
"""
from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from . import autoregressive, container, zoo
from . import png as pngio
from .codecs import (BINARY_IMAGE, BYTES, PNG_IMAGE, STORED, XZ_BYTES, bytes_stream, png_image,
                     xz_bytes)
from .codecs import binary_image as bimg
from .codecs import context_mix
from .errors import ArcodecError, FormatError, InputError, ModelError
from .models import build_int_model

DEFAULT_BINARY_MODEL = "made-mnist"
DEFAULT_PHOTO_MODEL = "pixelcnn-photo"    # 8-bit RGB(A), and gray images other than 28x28
DEFAULT_GRAY_MODEL = "pixelcnn-mnist"     # 8-bit gray 28x28


@dataclass
class Result:
    """What one compress or decompress call did. ``data`` is the .arc or the restored bytes."""
    data: bytes
    model: str
    dims: int                 # number of coded symbols (image pixels, bytes)
    payload_bytes: int
    header_bytes: int
    nll_bits: float = 0.0     # integer model's -log2 likelihood of the input (compress only)
    original_bytes: int = 0   # size of the uncompressed input / restored output
    name: str | None = None   # stored original file name (bytes codec), on decompress
    mode: int | None = None   # stored permission bits (bytes codec), on decompress
    nll_model: str = ""       # the model ``nll_bits`` belongs to, when a fallback was written
    model_payload_bytes: int = 0   # that model's payload, which the fallback beat
    unmodelled_bytes: int = 0      # payload coded without the model (a PNG's alpha plane by
                                   # xz), outside ``nll_bits`` and ``overhead_pct``

    @property
    def payload_bits_per_dim(self) -> float:
        return 8 * self.payload_bytes / max(self.dims, 1)

    @property
    def nll_bits_per_dim(self) -> float:
        return self.nll_bits / max(self.dims, 1)

    @property
    def overhead_pct(self) -> float:
        """The model-coded payload over the model's NLL, in percent."""
        coded = 8 * (self.payload_bytes - self.unmodelled_bytes)
        return 100 * (coded - self.nll_bits) / max(self.nll_bits, 1e-9)


@dataclass
class Session:
    """Device, arithmetic and loaded models for a run of calls (no global state).

    device: "auto" (CUDA when available), "cpu" or "cuda". dtype: type of the exact
    products (None: each model's fastest; float32 may need digit planes; torch.int8: char-RNN
    only). Results are identical for every choice.
    """
    device: str = "auto"
    dtype: torch.dtype | None = None
    _models: dict = field(default_factory=dict)
    _infos: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.device == "auto":
            self.device = "cuda" if torch.cuda.is_available() else "cpu"
        elif self.device == "cuda" and not torch.cuda.is_available():
            raise InputError("--device cuda: no CUDA device is available")
        elif self.device not in ("cpu", "cuda"):
            raise InputError(f"unknown device {self.device!r} (use auto, cpu or cuda)")

    def resolve(self, spec: str) -> zoo.ModelInfo:
        """``zoo.resolve`` once per spec for this session (it hashes the whole weight file)."""
        if spec not in self._infos:
            self._infos[spec] = zoo.resolve(spec)
        return self._infos[spec]

    def model(self, info: zoo.ModelInfo):
        if info.sha256 not in self._models:
            lm = zoo.load(info)
            self._models[info.sha256] = (lm, build_int_model(lm.arch, lm.config, lm.tensors,
                                                             self.device, self.dtype))
        return self._models[info.sha256]


def _session(s: Session | None) -> Session:
    return s if s is not None else Session("cpu")


def compress_image(pixels: np.ndarray, model: str | None = None,
                   session: Session | None = None, *, flag: int = bimg.FLAG_MODE_1,
                   batch_rows: int | None = None) -> Result:
    """Image array -> Result with the .arc bytes.

    (H, W) of 0s and 1s: a bilevel image (made-mnist; decodes to a 1-bit PNG). (H, W) uint8:
    8-bit gray; (H, W, 3) / (H, W, 4) uint8: RGB / RGBA (PixelCNN; decode to the same array).
    ``batch_rows``: most image rows computed at once (memory knob; the file is the same).
    """
    s = _session(session)
    bits = np.asarray(pixels)
    if bits.dtype == np.uint8 and (bits.ndim == 3 or np.any(bits > 1)):
        if not (bits.ndim == 2 or (bits.ndim == 3 and bits.shape[2] in (3, 4))):
            raise InputError("compress_image takes (H, W), (H, W, 3) or (H, W, 4) arrays")
        ct = {2: 0}.get(bits.ndim) if bits.ndim == 2 else {3: 2, 4: 6}[bits.shape[2]]
        p = pngio.PngImage(bits.shape[1], bits.shape[0], 8, ct,
                           np.ascontiguousarray(bits.reshape(bits.shape[0], bits.shape[1], -1)))
        return compress_png(p, model, s, batch_rows=batch_rows)
    if bits.ndim != 2 or not np.all((bits == 0) | (bits == 1)):
        raise InputError("compress_image takes a 2-D array of 0s and 1s, or 8-bit pixels")
    info = s.resolve(model or DEFAULT_BINARY_MODEL)
    lm, im = s.model(info)
    if lm.arch != "made":
        raise InputError(f"model {info.name} does not code bilevel images")
    h, w = bits.shape
    if h * w != im.cfg.n_in:
        raise InputError(f"model {info.name} codes {im.cfg.n_in}-pixel bilevel images "
                         f"(28x28 for made-mnist); got {w}x{h}")
    x = torch.from_numpy(bits.reshape(1, -1).astype(np.int64))
    payload, nll = autoregressive.encode(im, x)
    hdr = container.Header(model_code=info.code, model_name="" if info.code else info.name,
                           weights_hash=info.hash4, codec=BINARY_IMAGE, dims=[h, w],
                           crc32=container.crc32(bits.astype(np.uint8).tobytes()), flags=flag)
    data = container.pack(hdr, payload)
    return Result(data, info.name, h * w, len(payload), len(data) - len(payload), nll,
                  (h * w + 7) // 8)


DEFAULT_BYTES_MODEL = "charrnn-text"
MIX_OPTION = 64           # bytes codec options dim: bit 6 = context mixing, bits 0-5 = adapt shift
REACH_OPTION = 128        # ... bit 7 = --adapt with the reachable-target rule (unset: first rule)
MIX2_OPTION = 256         # ... bit 8 (with bit 6) = mixer 2 (unset: mixer 1, context_mix.MIXERS)
MIX3_OPTION = 512         # ... bit 9 (with bit 6, without bit 8) = mixer 3 (codecs/bit_mix.py)
MIX4_OPTION = 1024        # ... bit 10 (with bit 6, without bits 8, 9) = mixer 4 (nibble tables)
MIX_BITS = {1: MIX_OPTION, 2: MIX_OPTION | MIX2_OPTION, 3: MIX_OPTION | MIX3_OPTION,
            4: MIX_OPTION | MIX4_OPTION}
ADAPT_STEP_SHIFT = 18     # --adapt: shift + bit_length(streams - 1), see adapt_shift


def adapt_shift(n_streams: int) -> int:
    """The learning-rate shift of ``--adapt`` for an input coded in ``n_streams`` streams
    (stored in each file, so a decoder never recomputes it; see docs/determinism.md).

    An update is the mean over the streams of one step (``AdaptiveIntCharRNN.learn`` adds
    bit_length(N - 1) to the shift), so with one shift for every file the step per coded byte
    grew as the stream count fell: shift 10, right for 256 streams, made texts of a few KB
    (1-6 streams) up to twice as large as without adaptation. The shift is chosen so that
    shift + bit_length(N - 1) = 18 (at least 10: inputs of 256 streams and more keep 10)."""
    return max(10, ADAPT_STEP_SHIFT - max(n_streams - 1, 0).bit_length())


def _png_plan(p: pngio.PngImage, model: str | None, s: Session):
    """(plan, model info or None) for a PNG: the model fits 8-bit gray/RGB(A) samples."""
    fits = p.bit_depth == 8 and p.color_type in (0, 2, 4, 6)
    gray = p.color_type in (0, 4)
    what = f"{p.bit_depth}-bit {_PNG_KIND[p.color_type]}"
    if model is None:
        if not fits:
            return png_image.PLAN_FALLBACK, None
        spec = DEFAULT_GRAY_MODEL if gray and (p.height, p.width) == (28, 28) \
            else DEFAULT_PHOTO_MODEL
        if spec not in zoo.registry():
            return png_image.PLAN_FALLBACK, None
    else:
        spec = model
    info = s.resolve(spec)
    lm, im = s.model(info)
    if lm.arch != "pixelcnn":
        raise InputError(f"model {info.name} does not code {what} images")
    if not fits:
        raise InputError(f"{what} PNGs are coded by the exact fallback, not by a model; "
                         "leave out --model")
    if gray:
        return (png_image.PLAN_MODEL if im.C == 1 else png_image.PLAN_GRAY_RGB), info
    if im.C != 3:
        raise InputError(f"model {info.name} codes gray images; this image is {what}")
    return png_image.PLAN_MODEL, info


_PNG_KIND = {0: "gray", 2: "RGB", 3: "palette", 4: "gray+alpha", 6: "RGBA"}


def compress_png(p: pngio.PngImage, model: str | None = None, session: Session | None = None,
                 *, batch_rows: int | None = None,
                 progress: Callable[..., None] | None = None) -> Result:
    """A PNG's samples and chunks -> Result with the .arc bytes (``png_image`` codec)."""
    s = _session(session)
    plan, info = _png_plan(p, model, s)
    im = s.model(info)[1] if info is not None else None
    prog = None
    if progress is not None and im is not None:
        total = p.height * p.width * im.C
        prog = lambda n: progress(n * im.C, total, "px")     # noqa: E731
    payload, nll, unmodelled = png_image.encode(p, plan, im, batch_rows, prog)
    hdr = container.Header(
        model_code=info.code if info else 0,
        model_name=info.name if info is not None and not info.code else "",
        weights_hash=info.hash4 if info else bytes(4), codec=PNG_IMAGE,
        dims=[p.height, p.width], crc32=container.crc32(png_image.sample_bytes(p.samples)),
        extra=png_image.pack_extra(p, plan), flags=1 if info else 0)
    arc = container.pack(hdr, payload)
    return Result(arc, info.name if info else "fallback (xz)", p.samples.size, len(payload),
                  len(arc) - len(payload), nll, p.samples.nbytes,
                  unmodelled_bytes=unmodelled if info else 0)


def _decode_png(hdr, payload: bytes, im, batch_rows=None, progress=None) -> pngio.PngImage:
    if len(hdr.dims) != 2 or not 0 < hdr.dims[0] < 1 << 31 or not 0 < hdr.dims[1] < 1 << 31 \
            or hdr.dims[0] * hdr.dims[1] > 1 << 30:
        raise FormatError(f"corrupt .arc file (image shape {hdr.dims})")
    p, plan = png_image.parse_extra(hdr.extra, *hdr.dims)
    if (plan != png_image.PLAN_FALLBACK) != (im is not None):
        raise FormatError("corrupt .arc file (image plan and model disagree)")
    if im is not None:
        need = 1 if plan == png_image.PLAN_MODEL and p.color_type in (0, 4) else 3
        if im.C != need:
            raise ModelError("this model cannot decode this file")
        if progress is not None:
            total = p.height * p.width * im.C
            progress = (lambda f: (lambda n: f(n * im.C, total, "px")))(progress)
    p.samples = png_image.decode(p, plan, payload, im, batch_rows, progress)
    if container.crc32(png_image.sample_bytes(p.samples)) != hdr.crc32:
        raise FormatError("checksum mismatch: the .arc file is corrupt")
    return p


def _bytes_extra(name: str | None, mode: int | None) -> bytes:
    if name is None and mode is None:
        return b""
    return container._varint(mode or 0) + (name or "").encode("utf-8", "surrogateescape")


def _parse_bytes_extra(extra: bytes) -> tuple[str | None, int | None]:
    if not extra:
        return None, None
    r = container._Reader(extra)
    mode = r.varint("mode")
    return extra[r.pos:].decode("utf-8", "surrogateescape") or None, mode


def _adaptive(s: Session, lm, shift: int, reachable: bool = True):
    """A fresh adaptive model (it changes while coding, so it is never shared)."""
    return build_int_model(lm.arch, lm.config, lm.tensors, s.device, s.dtype, adapt_shift=shift,
                           adapt_reachable=reachable)


def compress_data(data: bytes, model: str | None = None, session: Session | None = None, *,
                  name: str | None = None, mode: int | None = None, adapt: bool = False,
                  mix: bool = True, progress: Callable[[int], None] | None = None) -> Result:
    """Any bytes -> Result with the .arc bytes, coded by a byte model (default charrnn-text).

    ``name`` and ``mode`` (permission bits) are stored in the file when given. ``adapt``: the
    model's output layer keeps learning from the data while coding (deterministically).
    ``mix``: the model's predictions are mixed with the file's own statistics (context counts
    and a match model, ``codecs/context_mix.py``): much smaller files, about half the speed. With
    the default model, xz (LZMA2 9e) codes the input instead where that is smaller (binary
    files full of exact repeats); a ``model`` named by the caller is always used. Either way
    an input that would grow is stored as is.
    """
    s = _session(session)
    info = s.resolve(model or DEFAULT_BYTES_MODEL)
    lm, im = s.model(info)
    if lm.arch != "charrnn":
        raise InputError(f"model {info.name} does not code byte streams")
    n_streams = bytes_stream.streams_for(len(data))
    shift = adapt_shift(n_streams)
    if adapt:
        im = _adaptive(s, lm, shift)
    payload, nll = bytes_stream.encode(im, data, n_streams, progress,
                                       mix=context_mix.LATEST if mix else 0)
    mix = mix and bool(data)
    opts = (shift | REACH_OPTION if adapt else 0) | (MIX_BITS[context_mix.LATEST] if mix else 0)
    dims = [len(data), n_streams] + ([opts] if opts else [])
    hdr = container.Header(model_code=info.code, model_name="" if info.code else info.name,
                           weights_hash=info.hash4, codec=BYTES, dims=dims,
                           crc32=container.crc32(data), extra=_bytes_extra(name, mode),
                           flags=1 if adapt else 0)
    arc = container.pack(hdr, payload)
    r = Result(arc, info.name, len(data), len(payload), len(arc) - len(payload), nll, len(data))
    return _smaller_of(r, data, name, mode, try_xz=model is None)


def _stored(data: bytes, name: str | None, mode: int | None, why: str = "stored") -> Result:
    """The input kept as is in an .arc container (codec STORED)."""
    hdr = container.Header(model_code=0, model_name="", weights_hash=bytes(4), codec=STORED,
                           dims=[len(data)], crc32=container.crc32(data),
                           extra=_bytes_extra(name, mode))
    arc = container.pack(hdr, data)
    return Result(arc, why, len(data), len(data), len(arc) - len(data), 0.0, len(data))


def _xz(data: bytes, name: str | None, mode: int | None) -> Result:
    """The input by LZMA2 preset 9e in an .arc container (codec XZ_BYTES)."""
    payload = xz_bytes.encode(data)
    hdr = container.Header(model_code=0, model_name="", weights_hash=bytes(4), codec=XZ_BYTES,
                           dims=[len(data)], crc32=container.crc32(data),
                           extra=_bytes_extra(name, mode))
    arc = container.pack(hdr, payload)
    return Result(arc, XZ_NAME, len(data), len(payload), len(arc) - len(payload), 0.0, len(data))


XZ_NAME = "xz (fallback)"


def _smaller_of(r: Result, data: bytes, name: str | None, mode: int | None,
                try_xz: bool = False) -> Result:
    """The smallest of ``r``, the input by xz (when ``try_xz``) and the input stored as is
    (so nothing grows by more than a header). ``nll_bits`` stays the model's NLL."""
    best = r
    for alt in ((_xz, _stored) if try_xz and data else (_stored,)):
        a = alt(data, name, mode)
        if len(a.data) < len(best.data):
            best = a
    if best is not r:
        best.nll_bits, best.nll_model = r.nll_bits, r.model
        best.model_payload_bytes = r.payload_bytes
    return best


def compress_bytes(data: bytes, model: str | None = None, session: Session | None = None, *,
                   name: str | None = None, mode: int | None = None, adapt: bool = False,
                   mix: bool = True, progress: Callable[[int], None] | None = None) -> Result:
    """File contents -> Result with the .arc bytes. Picks the codec and model from the input:
    28x28 bilevel PNGs without metadata -> made-mnist; other PNGs -> the PNG codec (8-bit gray
    28x28 -> pixelcnn-mnist, other 8-bit gray and RGB(A) -> pixelcnn-photo, alpha and every
    other sample kind -> exact xz fallback; chunks kept; 16-bit colour and animated PNGs are
    stored as they are); every other file (JPEG, GIF and other non-PNG images included: their
    bytes, not pixels, are what must come back) -> charrnn-text, or xz (LZMA2 9e) where that
    is smaller. ``model`` overrides (a byte model codes any input, images included, as bytes,
    and is used even where xz would be smaller).
    ``adapt`` and ``mix`` apply to byte models. Whatever the codec, a file that would come out larger
    than the input is stored as is."""
    session = _session(session)
    if model is not None and zoo.load_meta(session.resolve(model)).get("arch") == "charrnn":
        return compress_data(data, model, session, name=name, mode=mode, adapt=adapt,
                             mix=mix, progress=progress)
    if not pngio.is_png(data):      # only PNG pixels are coded as an image
        if model is not None:
            raise InputError(f"model {model} codes PNG images; this input is not one")
        return compress_data(data, None, session, name=name, mode=mode, adapt=adapt,
                             mix=mix, progress=progress)
    try:
        p = pngio.read_png(data)
    except pngio.Unsupported as e:  # exact samples not readable here: keep the file as is
        return _stored(data, None, None, f"stored ({e} PNG)")
    except InputError:              # a broken PNG is still a file: code its bytes
        if model is not None:
            raise
        return compress_data(data, None, session, name=name, mode=mode, adapt=adapt,
                             mix=mix, progress=progress)
    img = bimg.open_image(data)
    conv = bimg.to_bits(img) if img is not None and not (p.before or p.after) else None
    arch = None if model is None else zoo.load_meta(session.resolve(model)).get("arch")
    if conv is not None and arch in (None, "made") and (p.height, p.width) == (28, 28):
        bits, flag = conv
        r = compress_image(bits, model, session, flag=flag)
    elif arch == "made":
        raise InputError(f"model {model} codes 28x28 bilevel PNGs without metadata chunks; "
                         f"this is a {p.width}x{p.height} {p.bit_depth}-bit "
                         f"{_PNG_KIND[p.color_type]} PNG")
    else:
        r = compress_png(p, model, session, progress=progress)
    r.original_bytes = len(data)
    return _smaller_of(r, data, None, None)


def _decode_image(hdr, payload: bytes, im, info):
    if len(hdr.dims) != 2 or hdr.dims[0] * hdr.dims[1] != im.cfg.n_in:
        raise FormatError(f"corrupt .arc file (shape {hdr.dims} does not fit {info.name})")
    x = autoregressive.decode(im, payload, 1, im.cfg.n_in)
    bits = x.numpy().reshape(hdr.dims).astype(np.uint8)
    if container.crc32(bits.tobytes()) != hdr.crc32:
        raise FormatError("checksum mismatch: the .arc file is corrupt")
    return bits


def _open(arc: bytes, model: str | None, s: Session):
    hdr, payload, hlen = container.unpack(arc)
    if hdr.codec in (STORED, XZ_BYTES):
        return hdr, payload, hlen, None, None
    if hdr.codec not in (BINARY_IMAGE, BYTES, PNG_IMAGE):
        raise FormatError(f"unknown codec {hdr.codec} in .arc file")
    if hdr.codec == PNG_IMAGE and not hdr.flags & 1:      # every sample by the fallback
        return hdr, payload, hlen, None, None
    info = zoo.find(hdr.model_code, hdr.model_name, hdr.weights_hash, model, s.resolve)
    lm, im = s.model(info)
    want = {BINARY_IMAGE: "made", BYTES: "charrnn", PNG_IMAGE: "pixelcnn"}[hdr.codec]
    if lm.arch != want:
        raise ModelError(f"model {info.name} cannot decode this file")
    return hdr, payload, hlen, info, im


def decompress_image(arc: bytes, model: str | None = None, session: Session | None = None,
                     *, batch_rows: int | None = None) -> np.ndarray:
    """.arc bytes of an image -> its samples: (H, W) in {0, 1} for a bilevel image, (H, W)
    for gray, (H, W, C) for colour / alpha (uint8, or uint16 for 16-bit)."""
    hdr, payload, _, info, im = _open(arc, model, _session(session))
    if hdr.codec == PNG_IMAGE:
        p = _decode_png(hdr, payload, im, batch_rows)
        return p.samples[:, :, 0] if p.samples.shape[2] == 1 else p.samples
    if hdr.codec != BINARY_IMAGE:
        raise InputError("this .arc file holds bytes, not an image; use decompress_bytes")
    return _decode_image(hdr, payload, im, info)


def decompress_bytes(arc: bytes, model: str | None = None, session: Session | None = None, *,
                     progress: Callable[[int], None] | None = None) -> Result:
    """.arc bytes -> Result whose ``data`` is the restored file (images: same pixels and PNG
    mode); ``name`` and ``mode`` are the stored file name and permission bits, if any."""
    s = _session(session)
    hdr, payload, hlen, info, im = _open(arc, model, s)
    if hdr.codec == STORED:
        if len(hdr.dims) != 1 or hdr.dims[0] != len(payload) or \
                container.crc32(payload) != hdr.crc32:
            raise FormatError("checksum mismatch: the .arc file is corrupt")
        r = Result(payload, "stored", len(payload), len(payload), hlen, 0.0, len(payload))
        r.name, r.mode = _parse_bytes_extra(hdr.extra)
        return r
    if hdr.codec == XZ_BYTES:
        if len(hdr.dims) != 1 or not 0 < hdr.dims[0] <= 1 << 40:
            raise FormatError(f"corrupt .arc file (size {hdr.dims})")
        out = xz_bytes.decode(payload, hdr.dims[0])
        if container.crc32(out) != hdr.crc32:
            raise FormatError("checksum mismatch: the .arc file is corrupt")
        r = Result(out, XZ_NAME, len(out), len(payload), hlen, 0.0, len(out))
        r.name, r.mode = _parse_bytes_extra(hdr.extra)
        return r
    if hdr.codec == PNG_IMAGE:
        p = _decode_png(hdr, payload, im, progress=progress)
        out = pngio.write_png(p)
        return Result(out, info.name if info else "fallback (xz)", p.samples.size,
                      len(payload), hlen, 0.0, len(out))
    if hdr.codec == BINARY_IMAGE:
        bits = _decode_image(hdr, payload, im, info)
        out = bimg.to_png(bits, hdr.flags)
        return Result(out, info.name, bits.size, len(payload), hlen, 0.0, len(out))
    n, n_streams = hdr.dims[:2] if len(hdr.dims) >= 2 else (-1, -1)
    opts = hdr.dims[2] if len(hdr.dims) == 3 else 0
    shift, mixed, reach = opts % MIX_OPTION, bool(opts & MIX_OPTION), bool(opts & REACH_OPTION)
    versions = [v for v, bit in ((2, MIX2_OPTION), (3, MIX3_OPTION), (4, MIX4_OPTION))
                if opts & bit]
    mixer = (versions[0] if versions else 1) if mixed else 0
    if not ((n == 0 and n_streams == 0) or 0 < n_streams <= min(n, 1 << 20)) or n > 1 << 40 \
            or opts >= 2 * MIX4_OPTION or (len(hdr.dims) == 3 and not opts) \
            or (versions and not mixed) or len(versions) > 1:
        raise FormatError(f"corrupt .arc file (bad stream layout {hdr.dims})")
    if bool(hdr.flags & 1) != (shift != 0) or (shift and not 8 <= shift <= 40) \
            or (reach and not shift):
        raise FormatError(f"corrupt .arc file (adaptation flag {hdr.flags & 1}, options {opts})")
    if shift:
        im = _adaptive(s, s.model(info)[0], shift, reach)
    out = bytes_stream.decode(im, payload, n, n_streams, progress, mix=mixer)
    if container.crc32(out) != hdr.crc32:
        raise FormatError("checksum mismatch: the .arc file is corrupt")
    r = Result(out, info.name, n, len(payload), hlen, 0.0, n)
    r.name, r.mode = _parse_bytes_extra(hdr.extra)
    return r


def info(arc: bytes) -> dict:
    """Header fields of an .arc file, without decoding it. ``bits_per_dim`` is per ``unit``:
    per byte of a byte file, per pixel of an image (the header does not hold the channels)."""
    hdr, payload, hlen = container.unpack(arc)
    name = "stored (no model)" if hdr.codec == STORED else "xz (no model)" \
        if hdr.codec == XZ_BYTES else hdr.model_name or zoo.shipped_name(
        hdr.model_code, hdr.weights_hash) or f"model #{hdr.model_code}"
    if hdr.codec in (BINARY_IMAGE, PNG_IMAGE):      # dims: height, width
        h, w = (list(hdr.dims) + [0, 0])[:2]
        unit, n, size = "pixel", h * w, f"{w}x{h} pixels"
    else:                                           # dims: length n (then streams, options)
        unit, n = "byte", hdr.dims[0] if hdr.dims else 0
        size = f"{n:,} bytes" + (f" in {hdr.dims[1]} stream{'s' * (hdr.dims[1] != 1)}"
                                   if len(hdr.dims) > 1 else "")
    return {"model": name, "weights": hdr.weights_hash.hex(), "format_version": hdr.version,
            "codec": hdr.codec, "shape": hdr.dims, "size": size, "unit": unit, "symbols": n,
            "header_bytes": hlen, "payload_bytes": len(payload), "file_bytes": len(arc),
            "bits_per_dim": 8 * len(arc) / max(n, 1),
            "payload_bits_per_dim": 8 * len(payload) / max(n, 1)}


def write_atomic(path: Path, data: bytes, force: bool, mode: int | None = None) -> None:
    """Write via a temp file in the same folder and rename; refuse to overwrite unless ``force``.
    The file gets ``mode`` if given, else the usual ``0666 & ~umask``."""
    check_output(path, force)
    try:
        fd, tmp = tempfile.mkstemp(prefix=".arcodec-", dir=path.parent or Path("."))
    except OSError as e:
        raise ArcodecError(f"{path}: cannot write ({e.strerror or e})") from e
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, mode if mode is not None else 0o666 & ~_umask())  # mkstemp makes 0600
        os.replace(tmp, path)
    except OSError as e:                # disk full, a folder put there meanwhile, ...
        Path(tmp).unlink(missing_ok=True)
        raise ArcodecError(f"{path}: cannot write ({e.strerror or e})") from e
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    """The process umask (read by setting and restoring it; POSIX offers no other way)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _read(src: str | Path) -> bytes:
    if str(src) == "-":
        return sys.stdin.buffer.read()
    p = Path(src)
    if not p.exists():
        raise InputError(f"{p}: no such file")
    if p.is_dir():
        raise InputError(f"{p} is a directory")
    try:
        return p.read_bytes()
    except OSError as e:
        raise InputError(f"{p}: cannot read ({e.strerror or e})") from e


def compress_file(src: str | Path, dst: str | Path | None = None, *, force: bool = False,
                  model: str | None = None, session: Session | None = None, adapt: bool = False,
                  mix: bool = True, progress: Callable[[int], None] | None = None) -> Result:
    """Compress ``src`` to ``dst`` (default ``src.arc``; "-" is stdin/stdout). Keeps the input.
    Byte-coded files keep their name and permission bits in the .arc header."""
    dst = dst if dst is not None else ("-" if str(src) == "-" else f"{src}.arc")
    check_output(dst, force)
    data = _read(src)
    name = mode = None
    if str(src) != "-":
        name, mode = Path(src).name, Path(src).stat().st_mode & 0o7777
    r = compress_bytes(data, model, session, name=name, mode=mode, adapt=adapt, mix=mix,
                       progress=progress)
    _emit(r.data, dst, force)
    return r


def decompress_file(src: str | Path, dst: str | Path | None = None, *, force: bool = False,
                    model: str | None = None, session: Session | None = None,
                    progress: Callable[[int], None] | None = None) -> Result:
    """Decompress ``src`` to ``dst`` (default: ``src`` without ``.arc``), restoring stored
    permission bits."""
    if dst is None:
        if str(src) == "-":
            dst = "-"
        elif str(src).endswith(".arc"):
            dst = str(src)[:-4]
        else:
            raise InputError(f"{src}: name does not end in .arc; give -o OUT")
    check_output(dst, force)
    r = decompress_bytes(_read(src), model, session, progress=progress)
    _emit(r.data, dst, force, r.mode)
    return r


def check_output(dst: str | Path, force: bool) -> None:
    """Refuse, before any work, an output file that cannot or must not be written ("-" is
    stdout): a folder, a missing folder, an existing file without ``force``."""
    if str(dst) == "-":
        return
    p = Path(dst)
    if p.is_dir():
        raise ArcodecError(f"{dst} is a directory; give an output file name")
    if not p.parent.is_dir():
        raise ArcodecError(f"{dst}: no such directory {p.parent}")
    if p.exists() and not force:
        raise ArcodecError(f"{dst} already exists; use -f to overwrite")


def _emit(data: bytes, dst: str | Path, force: bool, mode: int | None = None) -> None:
    if str(dst) == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        write_atomic(Path(dst), data, force, mode)
