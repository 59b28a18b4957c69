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
from .codecs import BINARY_IMAGE, BYTES, STORED, bytes_stream
from .codecs import binary_image as bimg
from .errors import ArcodecError, FormatError, InputError, ModelError
from .models import build_int_model

DEFAULT_BINARY_MODEL = "made-mnist"


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

    @property
    def payload_bits_per_dim(self) -> float:
        return 8 * self.payload_bytes / max(self.dims, 1)

    @property
    def nll_bits_per_dim(self) -> float:
        return self.nll_bits / max(self.dims, 1)

    @property
    def overhead_pct(self) -> float:
        return 100 * (8 * self.payload_bytes - self.nll_bits) / max(self.nll_bits, 1e-9)


@dataclass
class Session:
    """Device, arithmetic and loaded models for a run of calls (no global state).

    device: "auto" (CUDA when available), "cpu" or "cuda". dtype: float type of the exact
    products (None: each model's fastest; float32 may need digit planes). Results are identical
    for every choice.
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


def compress_image(bits: np.ndarray, model: str | None = None, session: Session | None = None,
                   *, flag: int = bimg.FLAG_MODE_1) -> Result:
    """(H, W) array in {0, 1} -> Result with the .arc bytes (decodes to a 1-bit PNG)."""
    s = _session(session)
    bits = np.asarray(bits)
    if bits.ndim != 2 or not np.all((bits == 0) | (bits == 1)):
        raise InputError("compress_image takes a 2-D array of 0s and 1s")
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
ADAPT_SHIFT = 10          # learning-rate shift of --adapt, stored in each file (tuned: 9 best, 7 diverges)


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


def _adaptive(s: Session, lm, shift: int):
    """A fresh adaptive model (it changes while coding, so it is never shared)."""
    return build_int_model(lm.arch, lm.config, lm.tensors, s.device, s.dtype, adapt_shift=shift)


def compress_data(data: bytes, model: str | None = None, session: Session | None = None, *,
                  name: str | None = None, mode: int | None = None, adapt: bool = False,
                  progress: Callable[[int], None] | None = None) -> Result:
    """Any bytes -> Result with the .arc bytes, coded by a byte model (default charrnn-text).

    ``name`` and ``mode`` (permission bits) are stored in the file when given. ``adapt``: the
    model's output layer keeps learning from the data while coding (deterministically).
    """
    s = _session(session)
    info = s.resolve(model or DEFAULT_BYTES_MODEL)
    lm, im = s.model(info)
    if lm.arch != "charrnn":
        raise InputError(f"model {info.name} does not code byte streams")
    if adapt:
        im = _adaptive(s, lm, ADAPT_SHIFT)
    n_streams = bytes_stream.streams_for(len(data))
    payload, nll = bytes_stream.encode(im, data, n_streams, progress)
    dims = [len(data), n_streams] + ([ADAPT_SHIFT] if adapt else [])
    hdr = container.Header(model_code=info.code, model_name="" if info.code else info.name,
                           weights_hash=info.hash4, codec=BYTES, dims=dims,
                           crc32=container.crc32(data), extra=_bytes_extra(name, mode),
                           flags=1 if adapt else 0)
    arc = container.pack(hdr, payload)
    r = Result(arc, info.name, len(data), len(payload), len(arc) - len(payload), nll, len(data))
    return _smaller_of(r, data, name, mode)


def _smaller_of(r: Result, data: bytes, name: str | None, mode: int | None) -> Result:
    """``r``, or the input stored as is when that file would be smaller (never expand more
    than a header's worth)."""
    hdr = container.Header(model_code=0, model_name="", weights_hash=bytes(4), codec=STORED,
                           dims=[len(data)], crc32=container.crc32(data),
                           extra=_bytes_extra(name, mode))
    arc = container.pack(hdr, data)
    if len(arc) >= len(r.data):
        return r
    return Result(arc, "stored", len(data), len(data), len(arc) - len(data), r.nll_bits, len(data))


def compress_bytes(data: bytes, model: str | None = None, session: Session | None = None, *,
                   name: str | None = None, mode: int | None = None, adapt: bool = False,
                   progress: Callable[[int], None] | None = None) -> Result:
    """File contents -> Result with the .arc bytes. Picks the codec and model from the input:
    28x28 bilevel PNGs -> made-mnist; other PNGs -> an error naming what is supported (until the
    image codec lands); every other file (JPEG, GIF and other non-PNG images included: their
    bytes, not pixels, are what must come back) -> charrnn-text. ``model``
    overrides (a byte model codes any input, images included, as bytes). ``adapt`` applies to
    byte models."""
    session = _session(session)
    if model is not None and zoo.load_meta(session.resolve(model)).get("arch") == "charrnn":
        return compress_data(data, model, session, name=name, mode=mode, adapt=adapt,
                             progress=progress)
    img = bimg.open_image(data)
    if img is None or img.format != "PNG":     # only PNG pixels are coded as an image
        if model is not None:
            raise InputError(f"model {model} codes bilevel PNG images; this input is not one")
        return compress_data(data, None, session, name=name, mode=mode, adapt=adapt,
                             progress=progress)
    conv = bimg.to_bits(img)
    if conv is None:
        raise InputError(f"unsupported image {bimg.describe(img)}: made-mnist codes 28x28 "
                         "bilevel images (a 1-bit PNG, or 8-bit gray with only 0 and 255); "
                         "use --model charrnn-text to code it as plain bytes")
    bits, flag = conv
    r = compress_image(bits, model, session, flag=flag)
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
    if hdr.codec == STORED:
        return hdr, payload, hlen, None, None
    if hdr.codec not in (BINARY_IMAGE, BYTES):
        raise FormatError(f"unknown codec {hdr.codec} in .arc file")
    info = zoo.find(hdr.model_code, hdr.model_name, hdr.weights_hash, model, s.resolve)
    lm, im = s.model(info)
    want = "made" if hdr.codec == BINARY_IMAGE else "charrnn"
    if lm.arch != want:
        raise ModelError(f"model {info.name} cannot decode this file")
    return hdr, payload, hlen, info, im


def decompress_image(arc: bytes, model: str | None = None,
                     session: Session | None = None) -> np.ndarray:
    """.arc bytes of a bilevel image -> (H, W) uint8 array in {0, 1}."""
    hdr, payload, _, info, im = _open(arc, model, _session(session))
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
    if hdr.codec == BINARY_IMAGE:
        bits = _decode_image(hdr, payload, im, info)
        out = bimg.to_png(bits, hdr.flags)
        return Result(out, info.name, bits.size, len(payload), hlen, 0.0, len(out))
    adaptive = bool(hdr.flags & 1)
    n, n_streams = hdr.dims[:2] if len(hdr.dims) == 2 + adaptive else (-1, -1)
    if not ((n == 0 and n_streams == 0) or 0 < n_streams <= min(n, 1 << 20)) or n > 1 << 40:
        raise FormatError(f"corrupt .arc file (bad stream layout {hdr.dims})")
    if adaptive:
        if not 8 <= hdr.dims[2] <= 40:
            raise FormatError(f"corrupt .arc file (adaptation shift {hdr.dims[2]})")
        im = _adaptive(s, s.model(info)[0], hdr.dims[2])
    out = bytes_stream.decode(im, payload, n, n_streams, progress)
    if container.crc32(out) != hdr.crc32:
        raise FormatError("checksum mismatch: the .arc file is corrupt")
    r = Result(out, info.name, n, len(payload), hlen, 0.0, n)
    r.name, r.mode = _parse_bytes_extra(hdr.extra)
    return r


def info(arc: bytes) -> dict:
    """Header fields of an .arc file, without decoding it."""
    hdr, payload, hlen = container.unpack(arc)
    name = "stored (no model)" if hdr.codec == STORED else hdr.model_name or next(
        (m.name for m in zoo.shipped() if m.code == hdr.model_code), f"model #{hdr.model_code}")
    dims = int(np.prod(hdr.dims)) if hdr.dims else 0
    return {"model": name, "weights": hdr.weights_hash.hex(), "format_version": hdr.version,
            "codec": hdr.codec, "shape": hdr.dims, "header_bytes": hlen,
            "payload_bytes": len(payload), "file_bytes": len(arc),
            "bits_per_dim": 8 * len(arc) / max(dims, 1),
            "payload_bits_per_dim": 8 * len(payload) / max(dims, 1)}


def write_atomic(path: Path, data: bytes, force: bool, mode: int | None = None) -> None:
    """Write via a temp file in the same folder and rename; refuse to overwrite unless ``force``.
    The file gets ``mode`` if given, else the usual ``0666 & ~umask``."""
    _check_dst(path, force)
    fd, tmp = tempfile.mkstemp(prefix=".arcodec-", dir=path.parent or Path("."))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, mode if mode is not None else 0o666 & ~_umask())  # mkstemp makes 0600
        os.replace(tmp, path)
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
    return p.read_bytes()


def compress_file(src: str | Path, dst: str | Path | None = None, *, force: bool = False,
                  model: str | None = None, session: Session | None = None, adapt: bool = False,
                  progress: Callable[[int], None] | None = None) -> Result:
    """Compress ``src`` to ``dst`` (default ``src.arc``; "-" is stdin/stdout). Keeps the input.
    Byte-coded files keep their name and permission bits in the .arc header."""
    dst = dst if dst is not None else ("-" if str(src) == "-" else f"{src}.arc")
    _check_dst(dst, force)
    data = _read(src)
    name = mode = None
    if str(src) != "-":
        name, mode = Path(src).name, Path(src).stat().st_mode & 0o7777
    r = compress_bytes(data, model, session, name=name, mode=mode, adapt=adapt,
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
    _check_dst(dst, force)
    r = decompress_bytes(_read(src), model, session, progress=progress)
    _emit(r.data, dst, force, r.mode)
    return r


def _check_dst(dst: str | Path, force: bool) -> None:
    if str(dst) != "-" and Path(dst).exists() and not force:
        raise ArcodecError(f"{dst} already exists; use -f to overwrite")


def _emit(data: bytes, dst: str | Path, force: bool, mode: int | None = None) -> None:
    if str(dst) == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        write_atomic(Path(dst), data, force, mode)
