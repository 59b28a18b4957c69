"""Suite: images. Kodak (RGB), MNIST test (8-bit gray), Fashion-MNIST test (8-bit and binarised
at 128) and any folder of PNGs, against PNG, WebP and JPEG-XL lossless (JBIG1 for bilevel).

arcodec codes what its installed models cover (today: 28x28 bilevel images with made-mnist);
for the rest the table says that no arcodec model exists yet, so the row is baselines only.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

import arcodec
from arcodec.train.data import binarize, mnist, read_idx_images

from . import baselines

FASHION_DIRS = ["fashion-mnist", "/usr/share/datasets/fashion-mnist"]  # under data dir, Debian


def fashion(data_dir) -> np.ndarray:
    """Fashion-MNIST test images (N, 28, 28) uint8 from the data dir or Debian's package."""
    for d in FASHION_DIRS:
        p = Path(data_dir) / d / "t10k-images-idx3-ubyte.gz"
        if p.exists():
            return read_idx_images(p)
    raise FileNotFoundError("Fashion-MNIST not found: apt-get install dataset-fashion-mnist, "
                            "or put its idx files in DATA/fashion-mnist/")


def _baselines(images: list[np.ndarray], dims: int) -> dict:
    out = {}
    for name, (tool, _) in baselines.IMAGE_CODECS.items():
        if (m := baselines.missing(tool)) is not None:
            out[name] = {"missing": m}
        else:
            out[name] = {"bits_per_dim": 8 * sum(baselines.image_codec_bytes(name, im)
                                                 for im in images) / dims}
    return out


def _dataset(name: str, images: list[np.ndarray], note: str = "") -> dict:
    dims = sum(im.size for im in images)
    return {"name": name, "items": len(images), "dims": dims, "arcodec": None,
            "arcodec_note": note or "no arcodec model for this kind of image yet",
            "baselines": _baselines(images, dims)}


def _bilevel(name: str, digits: np.ndarray, session) -> dict:
    """Bilevel 28x28 digits: arcodec made-mnist per digit vs JBIG1 and image codecs, tiled."""
    payload = nll = files = 0
    exact = True
    for i, d in enumerate(digits):
        r = arcodec.compress_image(d, "made-mnist", session)
        payload, nll, files = payload + 8 * r.payload_bytes, nll + r.nll_bits, files + 8 * len(r.data)
        if i < 20:
            exact &= bool(np.array_equal(arcodec.decompress_image(r.data, session=session), d))
    dims = digits.size
    tiled = baselines.tile(digits, 100)
    base = {"JBIG1 (pbmtojbg -q, tiled)": {"bits_per_dim": 8 * baselines.jbig1_bytes(tiled) / dims}
            if baselines.missing("pbmtojbg") is None else {"missing": baselines.missing("pbmtojbg")}}
    base.update(_baselines([(tiled * 255).astype(np.uint8)], dims))
    return {"name": name, "items": len(digits), "dims": dims, "round_trip_exact": exact,
            "arcodec": {"payload_bits_per_dim": payload / dims, "file_bits_per_dim": files / dims,
                        "int_nll_bits_per_dim": nll / dims, "model": "made-mnist"},
            "baselines": base}


def run(data_dir, quick: bool, session) -> dict:
    root = Path(data_dir)
    sets = []
    kodak = sorted((root / "kodak").glob("*.png"))
    if not kodak:
        raise FileNotFoundError(f"no Kodak PNGs in {root / 'kodak'}")
    kodak = kodak[:3] if quick else kodak
    sets.append(_dataset(f"Kodak ({len(kodak)} images, RGB)",
                         [np.asarray(Image.open(p).convert("RGB")) for p in kodak]))
    n = 300 if quick else 10000
    digits = mnist("t10k", data_dir)[:n]
    sets.append(_dataset(f"MNIST test, 8-bit ({n}, tiled 100 wide)", [baselines.tile(digits, 100)]))
    try:
        fm = fashion(root)[:n]
        sets.append(_dataset(f"Fashion-MNIST test, 8-bit ({n}, tiled 100 wide)",
                             [baselines.tile(fm, 100)]))
        sets.append(_bilevel(f"Fashion-MNIST test, binarised at 128 ({n})", binarize(fm), session))
    except FileNotFoundError as e:
        sets.append({"name": "Fashion-MNIST test", "missing_data": str(e)})
    folder = os.environ.get("ARCODEC_BENCH_IMAGES")
    if folder:
        pngs = sorted(Path(folder).glob("*.png"))
        sets.append(_dataset(f"folder {folder} ({len(pngs)} PNGs)",
                             [np.asarray(Image.open(p).convert("RGB")) for p in pngs]))
    exact = all(s.get("round_trip_exact", True) for s in sets)
    return {"suite": "images", "sets": sets, "round_trip_exact": exact,
            "overhead_within_bound": True}


def markdown(r: dict) -> str:
    names = []
    for s in r["sets"]:
        for k in s.get("baselines", {}):
            if k not in names:
                names.append(k)
    lines = ["| data set | arcodec bits/dim | " + " | ".join(names) + " |",
             "|" + " --- |" * (2 + len(names))]
    for s in r["sets"]:
        if "missing_data" in s:
            lines.append(f"| {s['name']} | missing data: {s['missing_data']} |" + " |" * len(names))
            continue
        a = s["arcodec"]
        cell = (f"{a['payload_bits_per_dim']:.4f} payload, {a['file_bits_per_dim']:.4f} file "
                f"({a['model']})" if a else s["arcodec_note"])
        vals = []
        for k in names:
            v = s["baselines"].get(k)
            vals.append("" if v is None else v.get("missing") or f"{v['bits_per_dim']:.4f}")
        lines.append(f"| {s['name']} | {cell} | " + " | ".join(vals) + " |")
    lines += ["", "bits/dim = bits per sub-pixel (pixel for gray). Bilevel rows: arcodec codes each "
              "digit as its own file (16-byte header each); the baselines code one tiled image."]
    return "\n".join(lines)
