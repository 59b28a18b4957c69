"""Suite ``nll-gap``: the float model's NLL beside the integer model's, per model and data set.

The float model is the shipped weights in float arithmetic (``models.build_float_model``, the
exact inverse of the export): float activations, exact tanh / sigmoid, a float softmax. The
integer model's NLL is that of the frequency tables the coder uses: teacher-forced tables for
digits (equal to the coder's, as the determinism tests check), the coder's own NLL for photos
(``compress_image``) and for text (the model alone over the coder's parallel streams, no
context mixing). Gap = integer / float - 1: what integer-exact inference costs.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import arcodec
from arcodec.codecs import bytes_stream
from arcodec.models import build_float_model
from arcodec.train.data import binarize, mnist
from arcodec.train.pixelcnn_export import int_nll_bits_per_dim

from . import images, text

LN2 = math.log(2)


def float_model(session, name: str):
    """(float network on the session's device in float32, integer model) of a model."""
    lm, im = session.model(session.resolve(name))
    return build_float_model(lm.arch, lm.config, lm.tensors).float().to(session.device), im


@torch.no_grad()
def made_float_bits(fm, digits: np.ndarray, batch: int = 500) -> float:
    """Float NLL in bits of binary digits (N, 28, 28)."""
    dev = next(fm.parameters()).device
    return sum(float(fm.nll_bits(torch.from_numpy(digits[i:i + batch].reshape(-1, 784))
                                 .float().to(dev), quant=False).sum())
               for i in range(0, len(digits), batch))


def made_int_bits(im, digits: np.ndarray) -> float:
    """Integer NLL in bits of binary digits (N, 28, 28): teacher-forced tables."""
    from arcodec.train.made_mnist import int_nll_bits
    return int_nll_bits(im, torch.from_numpy(digits.reshape(-1, 784))) * len(digits)


@torch.no_grad()
def pixelcnn_float_bits(fm, pixels: np.ndarray, band: int = 64) -> float:
    """Float NLL in bits of one (H, W[, C]) image, computed in bands of ``band`` rows, each
    with the rows above it that its conditionals see (the receptive field, with room to
    spare), so memory does not grow with the image."""
    p = torch.from_numpy(np.array(pixels))                 # a writable copy
    p = (p[None, None] if p.ndim == 2 else p.permute(2, 0, 1)[None]).to(
        next(fm.parameters()).device)
    ctx = 2 * (fm.cfg.first_r + fm.cfg.layers)
    total = 0.0
    for y in range(0, p.shape[2], band):
        top = max(0, y - ctx)
        bits = _pixel_bits(fm, p[:, :, top:y + band])
        total += float(bits[:, :, y - top:].sum())
    return total


def _pixel_bits(fm, p: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) pixels -> (N, C, H, W) float bits of each sub-pixel."""
    logits = fm(p, quant=False)                                    # (N, C, 256, H, W)
    return torch.nn.functional.cross_entropy(logits.transpose(1, 2).float(), p.long(),
                                             reduction="none") / LN2


@torch.no_grad()
def digits8_float_bits(fm, digits: np.ndarray, batch: int = 100) -> float:
    """Float NLL in bits of 8-bit digits (N, 28, 28)."""
    x = torch.from_numpy(digits[:, None].copy()).to(next(fm.parameters()).device)
    return sum(float(_pixel_bits(fm, x[i:i + batch]).sum()) for i in range(0, len(x), batch))


@torch.no_grad()
def charrnn_float_bits(fm, data: bytes, n_streams: int, window: int = 512) -> float:
    """Float NLL in bits of ``data`` cut into the coder's ``n_streams`` segments, each from the
    zero state (the first byte of a segment from the output bias alone)."""
    if not data:
        return 0.0
    dev = next(fm.parameters()).device
    buf = torch.from_numpy(np.frombuffer(data, dtype=np.uint8).astype(np.int64))
    starts, base, r = bytes_stream.layout(len(buf), n_streams)
    total = 0.0
    for lo, hi, length in ((0, r, base + 1), (r, n_streams, base)):   # longer segments first
        if hi <= lo or length == 0:
            continue
        idx = torch.from_numpy(starts[lo:hi])[:, None] + torch.arange(length)
        x = buf[idx].to(dev)                                          # (S, L)
        first = torch.log_softmax(fm.out.bias.float(), 0)[x[:, 0]]
        total -= float(first.sum()) / LN2
        state = None
        for k in range(0, length - 1, window):
            logits, state = fm.run(x[:, k:min(k + window, length - 1)], "fast", state)
            tgt = x[:, k + 1:k + 1 + logits.shape[1]]
            total += float(torch.nn.functional.cross_entropy(
                logits.reshape(-1, 256), tgt.reshape(-1), reduction="sum")) / LN2
    return total


# Canterbury files that are not text; arcodec codes them with xz (see the text suite)
CANTERBURY_BINARY = ("cantrbry/kennedy.xls", "cantrbry/ptt5", "cantrbry/sum")


def _row(model: str, data: str, items: int, dims: int, fl: float, it: float) -> dict:
    return {"model": model, "data": data, "items": items, "dims": dims,
            "float_bits_per_dim": fl / dims, "int_bits_per_dim": it / dims,
            "gap_pct": 100 * (it / fl - 1)}


def _digit_sets(root: Path, quick: bool, missing: list) -> dict:
    n = 1000 if quick else 10000
    sets = {"MNIST test": mnist("t10k", root)[:n]}
    try:
        sets["Fashion-MNIST test"] = images.fashion(root)[:n]
    except FileNotFoundError as e:
        missing.append(str(e))
    return sets


def made_rows(root: Path, quick: bool, session, missing: list) -> list[dict]:
    fm, im = float_model(session, "made-mnist")
    rows = []
    for name, d in _digit_sets(root, quick, missing).items():
        b = binarize(d)
        rows.append(_row("made-mnist", f"{name}, binarised at 128", len(d), d.size,
                         made_float_bits(fm, b), made_int_bits(im, b)))
    return rows


def digit8_rows(root: Path, quick: bool, session, missing: list) -> list[dict]:
    fm, im = float_model(session, "pixelcnn-mnist")
    rows = []
    for name, d in _digit_sets(root, quick, missing).items():
        d = d[:300] if quick else d
        it = int_nll_bits_per_dim(im, torch.from_numpy(d[:, None].copy()), 100) * d.size
        rows.append(_row("pixelcnn-mnist", f"{name}, 8-bit", len(d), d.size,
                         digits8_float_bits(fm, d), it))
    return rows


def photo_rows(root: Path, quick: bool, session, missing: list) -> list[dict]:
    fm, _ = float_model(session, "pixelcnn-photo")
    kodak = sorted((root / "kodak").glob("*.png"))
    photo_sets = {}
    if kodak:
        photo_sets[f"Kodak ({'1 crop of kodim01' if quick else f'{len(kodak)} images'})"] = (
            [np.asarray(Image.open(kodak[0]).convert("RGB"))[images.QUICK_CROP]] if quick
            else [np.asarray(Image.open(p).convert("RGB")) for p in kodak])
    else:
        missing.append(f"no Kodak PNGs in {root / 'kodak'}")
    held = sorted((root / "photos-train").glob("*.png"))[-8:]
    if held and not quick:
        photo_sets["photos-train held-out files (last 8)"] = [
            np.asarray(Image.open(p).convert("RGB")) for p in held]
    rows = []
    for name, ims in photo_sets.items():
        fl = sum(pixelcnn_float_bits(fm, x) for x in ims)
        it = sum(arcodec.compress_image(np.ascontiguousarray(x), "pixelcnn-photo",
                                        session).nll_bits for x in ims)
        rows.append(_row("pixelcnn-photo", name, len(ims), sum(x.size for x in ims), fl, it))
    return rows


def text_rows(root: Path, quick: bool, session, missing: list) -> list[dict]:
    fm, _ = float_model(session, "charrnn-text")
    troot = root / "text"
    files = [f for f in (text.QUICK_FILES if quick else text.FULL_FILES) if (troot / f).exists()]
    if len(files) < len(text.QUICK_FILES if quick else text.FULL_FILES):
        missing.append(f"text files missing under {troot}")
    binary = [f for f in files if f in CANTERBURY_BINARY]
    groups = {"Canterbury text files": [f for f in files
                                        if f.startswith("cantrbry/") and f not in binary],
              "Canterbury binary files (kennedy.xls, ptt5, sum)": binary,
              "large corpus (bible.txt, world192.txt)": [f for f in files
                                                         if f.startswith("large/")]}
    rows = []
    for name, fs in groups.items():
        if not fs:
            continue
        fl = it = 0.0
        size = 0
        for f in fs:
            data = (troot / f).read_bytes()
            fl += charrnn_float_bits(fm, data, bytes_stream.streams_for(len(data)))
            it += text.plain_nll(data, session)
            size += len(data)
        rows.append(_row("charrnn-text", f"{name} ({len(fs)} files; the model alone)",
                         len(fs), size, fl, it))
    return rows


MODELS = {"made-mnist": made_rows, "pixelcnn-mnist": digit8_rows,
          "pixelcnn-photo": photo_rows, "charrnn-text": text_rows}


def run(data_dir, quick: bool, session, models: list[str] | None = None) -> dict:
    """Rows for every shipped model, or for ``models`` (names of ``MODELS``) only."""
    root = Path(data_dir)
    rows, missing = [], []
    for name in models or MODELS:
        try:
            rows += MODELS[name](root, quick, session, missing)
        except FileNotFoundError as e:
            missing.append(str(e))
    missing = list(dict.fromkeys(missing))   # both digit models report a missing set
    if not rows:
        raise FileNotFoundError("; ".join(missing))
    return {"suite": "nll-gap", "rows": rows, "missing": missing,
            "round_trip_exact": True, "overhead_within_bound": True}


def markdown(r: dict) -> str:
    lines = ["| model | data set | items | float NLL | integer NLL | gap |",
             "| --- | --- | ---: | ---: | ---: | ---: |"]
    for x in r["rows"]:
        lines.append(f"| {x['model']} | {x['data']} | {x['items']:,} | "
                     f"{x['float_bits_per_dim']:.4f} | {x['int_bits_per_dim']:.4f} | "
                     f"{x['gap_pct']:+.2f}% |")
    lines += ["", "bits/dim (bits/byte for text). Float: the shipped weights in float "
              "arithmetic; integer: the tables the coder uses (no context mixing for text). "
              "No round trips here: the other suites check those."]
    lines += [f"- missing: {m}" for m in r.get("missing", [])]
    return "\n".join(lines)
