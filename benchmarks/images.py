"""Suites ``photos`` (Kodak RGB, held-out photos, any folder of PNGs in
$ARCODEC_BENCH_IMAGES) and ``images`` (MNIST test 8-bit gray, Fashion-MNIST test 8-bit and
binarised at 128), against PNG, WebP and JPEG-XL lossless (JBIG1 for bilevel).

arcodec codes Kodak and other photos with pixelcnn-photo (each image its own file, encoded
and decoded, timed), 8-bit digits with pixelcnn-mnist (integer NLL of every digit; a subset
encoded and decoded as files) and bilevel digits with made-mnist.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
from PIL import Image

import arcodec
from arcodec.train.data import binarize, mnist, read_idx_images

from . import baselines, nll_gap, within_bound

QUICK_CROP = np.s_[200:328, 300:492]     # --quick: one 192x128 crop of kodim01 (rows, cols)
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


def _dataset(name: str, images: list[np.ndarray]) -> dict:
    """A data set's entry with its baselines; the caller fills in ``arcodec``."""
    dims = sum(im.size for im in images)
    return {"name": name, "items": len(images), "dims": dims, "arcodec": None,
            "baselines": _baselines(images, dims)}


def _times(enc_s: float, enc_items: int, enc_dims: int,
           dec_s: float, dec_items: int, dec_dims: int) -> dict:
    """Mean seconds per item and microseconds per dimension of the items encoded / decoded."""
    return {"encode_s_mean": enc_s / enc_items, "encode_us_per_dim": 1e6 * enc_s / enc_dims,
            "decode_s_mean": dec_s / dec_items if dec_items else None,
            "decode_us_per_dim": 1e6 * dec_s / dec_dims if dec_items else None}


def _photos(name: str, images: list[np.ndarray], session, decode: int) -> dict:
    """Each image compressed as its own file with pixelcnn-photo; the first ``decode`` decoded."""
    d = _dataset(name, images)
    fm = nll_gap.float_model(session, "pixelcnn-photo")[0]
    payload = nll = files = fnll = 0
    items, exact, over = [], True, True
    for i, im in enumerate(images):
        t0 = time.perf_counter()
        r = arcodec.compress_image(im, "pixelcnn-photo", session)
        t1 = time.perf_counter()
        fbits = nll_gap.pixelcnn_float_bits(fm, im)
        row = {"shape": list(im.shape), "payload_bits_per_dim": 8 * r.payload_bytes / im.size,
               "int_nll_bits_per_dim": r.nll_bits / im.size,
               "float_nll_bits_per_dim": fbits / im.size, "encode_s": t1 - t0}
        over &= within_bound(8 * r.payload_bytes, r.nll_bits)
        if i < decode:                   # timed apart from the float model's NLL
            t1 = time.perf_counter()
            back = arcodec.decompress_image(r.data, session=session)
            row["decode_s"] = time.perf_counter() - t1
            row["exact"] = bool(np.array_equal(back, im))
            exact &= row["exact"]
        items.append(row)
        payload, nll, files = payload + 8 * r.payload_bytes, nll + r.nll_bits, files + 8 * len(r.data)
        fnll += fbits
    dims = d["dims"]
    dec = [x["decode_s"] for x in items if "decode_s" in x]
    times = _times(sum(x["encode_s"] for x in items), len(items), dims,
                   sum(dec), len(dec), sum(im.size for im in images[:len(dec)]))
    d.update(round_trip_exact=exact, overhead_ok=over, per_image=items,
             arcodec={"payload_bits_per_dim": payload / dims, "file_bits_per_dim": files / dims,
                      "int_nll_bits_per_dim": nll / dims, "float_nll_bits_per_dim": fnll / dims,
                      "model": "pixelcnn-photo",
                      **times, "decoded": len(dec)})
    return d


def _digits8(name: str, digits: np.ndarray, session, files: int, decode: int) -> dict:
    """8-bit 28x28 digits: integer NLL of all (teacher forced), ``files`` coded as .arc files."""
    import torch
    from arcodec import zoo
    from arcodec.train.pixelcnn_export import int_nll_bits_per_dim
    d = _dataset(name, [baselines.tile(digits, 100)])
    d["items"] = len(digits)          # digits, not the one tiled image of the baselines
    im = session.model(zoo.resolve("pixelcnn-mnist"))[1]
    nll_all = int_nll_bits_per_dim(im, torch.from_numpy(digits[:, None].copy()), 100)
    fnll_all = nll_gap.digits8_float_bits(nll_gap.float_model(session, "pixelcnn-mnist")[0],
                                          digits) / digits.size
    payload = nll = fbits = 0
    exact, over, t_enc, t_dec = True, True, 0.0, 0.0
    for i, x in enumerate(digits[:files]):
        t0 = time.perf_counter()
        r = arcodec.compress_image(x, "pixelcnn-mnist", session)
        t_enc += time.perf_counter() - t0
        if i < decode:
            t0 = time.perf_counter()
            exact &= bool(np.array_equal(arcodec.decompress_image(r.data, session=session), x))
            t_dec += time.perf_counter() - t0
        over &= within_bound(8 * r.payload_bytes, r.nll_bits)
        payload, nll, fbits = payload + 8 * r.payload_bytes, nll + r.nll_bits, fbits + 8 * len(r.data)
    dims = files * 784
    d.update(round_trip_exact=exact, overhead_ok=over,
             arcodec={"payload_bits_per_dim": payload / dims, "file_bits_per_dim": fbits / dims,
                      "int_nll_bits_per_dim": nll / dims, "int_nll_all_bits_per_dim": nll_all,
                      "float_nll_all_bits_per_dim": fnll_all,
                      "model": "pixelcnn-mnist", "files": files, "decoded": decode,
                      **_times(t_enc, files, 784 * files, t_dec, decode, 784 * decode)})
    return d


def _bilevel(name: str, digits: np.ndarray, session) -> dict:
    """Bilevel 28x28 digits: arcodec made-mnist per digit vs JBIG1 and image codecs, tiled."""
    payload = nll = files = 0
    exact = over = True
    t_enc = t_dec = 0.0
    n_dec = min(20, len(digits))
    for i, d in enumerate(digits):
        t0 = time.perf_counter()
        r = arcodec.compress_image(d, "made-mnist", session)
        t_enc += time.perf_counter() - t0
        over &= within_bound(8 * r.payload_bytes, r.nll_bits)
        payload, nll, files = payload + 8 * r.payload_bytes, nll + r.nll_bits, files + 8 * len(r.data)
        if i < n_dec:
            t0 = time.perf_counter()
            exact &= bool(np.array_equal(arcodec.decompress_image(r.data, session=session), d))
            t_dec += time.perf_counter() - t0
    dims = digits.size
    fnll = nll_gap.made_float_bits(nll_gap.float_model(session, "made-mnist")[0], digits)
    tiled = baselines.tile(digits, 100)
    base = {"JBIG1 (pbmtojbg -q, tiled)": {"bits_per_dim": 8 * baselines.jbig1_bytes(tiled) / dims}
            if baselines.missing("pbmtojbg") is None else {"missing": baselines.missing("pbmtojbg")}}
    base.update(_baselines([(tiled * 255).astype(np.uint8)], dims))
    return {"name": name, "items": len(digits), "dims": dims, "round_trip_exact": exact,
            "overhead_ok": over,
            "arcodec": {"payload_bits_per_dim": payload / dims, "file_bits_per_dim": files / dims,
                        "int_nll_bits_per_dim": nll / dims, "float_nll_bits_per_dim": fnll / dims,
                        "model": "made-mnist",
                        "decoded": n_dec,
                        **_times(t_enc, len(digits), dims, t_dec, n_dec, 784 * n_dec)},
            "baselines": base}


def run(data_dir, quick: bool, session) -> dict:
    root = Path(data_dir)
    sets = []
    n = 300 if quick else 10000
    digits = mnist("t10k", data_dir)[:n]
    sets.append(_digits8(f"MNIST test, 8-bit ({n}; baselines tiled 100 wide)", digits, session,
                         20 if quick else 300, 5 if quick else 50))
    try:
        fm = fashion(root)[:n]
        sets.append(_digits8(f"Fashion-MNIST test, 8-bit ({n}; baselines tiled 100 wide)", fm,
                             session, 20 if quick else 300, 5 if quick else 50))
        sets.append(_bilevel(f"Fashion-MNIST test, binarised at 128 ({n})", binarize(fm), session))
    except FileNotFoundError as e:
        sets.append({"name": "Fashion-MNIST test", "missing_data": str(e)})
    return _suite("images", sets)


def _export_nll(model: str) -> dict:
    """The model's weights hash and its float / QAT / integer NLL recorded at export."""
    from arcodec import zoo
    info = zoo.resolve(model)
    meta = zoo.load_meta(info)
    return {"weights_sha256": info.sha256, "test_set": meta.get("test_set", "its test split"),
            **{k: float(meta[f"test_bits_{k}"]) for k in ("float", "qat", "int")
               if f"test_bits_{k}" in meta}}


def _suite(name: str, sets: list[dict]) -> dict:
    used = sorted({s["arcodec"]["model"] for s in sets if s.get("arcodec")})
    return {"suite": name, "sets": sets, "models": {m: _export_nll(m) for m in used},
            "round_trip_exact": all(s.get("round_trip_exact", True) for s in sets),
            "overhead_within_bound": all(s.get("overhead_ok", True) for s in sets)}


def run_photos(data_dir, quick: bool, session) -> dict:
    """Suite ``photos``: Kodak, held-out training-source photos, ``$ARCODEC_BENCH_IMAGES``.
    Every Kodak image is encoded and decoded (``$ARCODEC_BENCH_DECODE``: decode only the first
    N, for a shorter run)."""
    root = Path(data_dir)
    kodak = sorted((root / "kodak").glob("*.png"))
    if not kodak:
        raise FileNotFoundError(f"no Kodak PNGs in {root / 'kodak'}")
    sets = []
    if quick:       # one 192x128 crop of one image: seconds, not minutes
        k_imgs = [np.asarray(Image.open(kodak[0]).convert("RGB"))[QUICK_CROP].copy()]
        k_name = "Kodak (1 crop 192x128 of kodim01, RGB)"
    else:
        k_imgs = [np.asarray(Image.open(p).convert("RGB")) for p in kodak]
        k_name = f"Kodak ({len(kodak)} images, RGB)"
    n_dec = int(os.environ.get("ARCODEC_BENCH_DECODE", len(k_imgs)))  # default: decode all
    sets.append(_photos(k_name, k_imgs, session, n_dec))
    if not quick:
        held = sorted((root / "photos-train").glob("*.png"))[-8:]
        if held:
            sets.append(_photos("photos-train held-out files (last 8 by name: Urban100 "
                                "512x512 crops, not trained on)",
                                [np.asarray(Image.open(p).convert("RGB")) for p in held],
                                session, 0))
    folder = os.environ.get("ARCODEC_BENCH_IMAGES")
    if folder:
        pngs = sorted(Path(folder).glob("*.png"))
        sets.append(_photos(f"folder {folder} ({len(pngs)} PNGs)",
                            [np.asarray(Image.open(p).convert("RGB")) for p in pngs], session,
                            len(pngs)))
    return _suite("photos", sets)


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
        cell = (f"**{a['payload_bits_per_dim']:.4f}** payload, {a['file_bits_per_dim']:.4f} file, "
                f"{a['int_nll_bits_per_dim']:.4f} NLL ({a['model']})" if a else "no model")
        vals = []
        for k in names:
            v = s["baselines"].get(k)
            vals.append("" if v is None else v.get("missing") or f"{v['bits_per_dim']:.4f}")
        lines.append(f"| {s['name']} | {cell} | " + " | ".join(vals) + " |")
    lines += ["", "bits/dim = bits per sub-pixel (pixel for gray). Bilevel rows: arcodec codes each "
              "digit as its own file (16-byte header each); the baselines code one tiled image."]
    for s in r["sets"]:
        a = s.get("arcodec") or {}
        if a:
            fl, it = (a.get("float_nll_all_bits_per_dim"), a.get("int_nll_all_bits_per_dim"))
            if fl is None:
                fl, it = a.get("float_nll_bits_per_dim"), a["int_nll_bits_per_dim"]
            gap = ("" if fl is None else f"; float model (shipped weights, float arithmetic) "
                   f"{fl:.4f} bits/dim, integer {it:.4f}: gap {100 * (it / fl - 1):+.2f}%")
            lines.append(f"- {s['name']}: payload over integer NLL "
                         f"{100 * (a['payload_bits_per_dim'] / a['int_nll_bits_per_dim'] - 1):+.2f}%"
                         f", every file within 0.1% + 8 bytes: {s.get('overhead_ok', True)}{gap}.")
    for m, e in r.get("models", {}).items():
        unit = "bits per digit" if m == "made-mnist" else "bits/dim"
        lines.append(f"- Model {m} (weights {e['weights_sha256'][:8]}), recorded at export on "
                     f"{e['test_set']}: "
                     + ", ".join(f"{label} {e[k]}" for k, label in
                                 (("float", "float"), ("qat", "QAT"), ("int", "integer"))
                                 if k in e) + f" {unit}.")
    for s in r["sets"]:
        a = s.get("arcodec") or {}
        if a.get("model") == "pixelcnn-photo":
            dec = (f", decode {a['decode_s_mean']:.1f} s per image "
                   f"({a['decode_us_per_dim']:.1f} µs per sub-pixel; {a['decoded']} decoded, "
                   f"exact: {s['round_trip_exact']})" if a.get("decode_s_mean") else "")
            lines.append(f"- {s['name']}: encode {a['encode_s_mean']:.1f} s per image "
                         f"({a['encode_us_per_dim']:.1f} µs per sub-pixel){dec}.")
        elif a.get("model") == "pixelcnn-mnist":
            lines.append(f"- {s['name']}: integer NLL of all {s['items']} digits "
                         f"{a['int_nll_all_bits_per_dim']:.4f} bits/dim; {a['files']} coded as "
                         f"files (payload/file/NLL above), {a['decoded']} decoded (exact: "
                         f"{s['round_trip_exact']}); encode {1000 * a['encode_s_mean']:.0f} ms, "
                         f"decode {1000 * a['decode_s_mean']:.0f} ms per digit.")
        elif a.get("model") == "made-mnist":
            lines.append(f"- {s['name']}: all {s['items']} coded, {a['decoded']} decoded (exact: "
                         f"{s['round_trip_exact']}); encode {1000 * a['encode_s_mean']:.1f} ms, "
                         f"decode {1000 * a['decode_s_mean']:.0f} ms per digit.")
    return "\n".join(lines)
