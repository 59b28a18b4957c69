"""Suite ``image-speed``: encode and decode time of ``pixelcnn-photo`` on two Kodak images, one
landscape (kodim01, 768x512) and one portrait (kodim04, 512x768: more wavefront steps), on the
session's device; ``--quick``: one 192x128 crop. Minutes instead of the photos suite's hour:
the way to measure image speed on a GPU (``--device cuda``) or on an idle machine.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PIL import Image

import arcodec

from . import within_bound
from .images import QUICK_CROP

IMAGES = ("kodim01.png", "kodim04.png")


def run(data_dir, quick: bool, session) -> dict:
    root = Path(data_dir) / "kodak"
    missing = [str(root / f) for f in IMAGES if not (root / f).exists()]
    if missing:
        raise FileNotFoundError(f"missing {', '.join(missing)}")
    imgs = [(f, np.asarray(Image.open(root / f).convert("RGB"))) for f in IMAGES]
    if quick:
        imgs = [(f"{IMAGES[0]} crop 192x128", imgs[0][1][QUICK_CROP].copy())]
    rows = []
    for name, im in imgs:
        t0 = time.perf_counter()
        r = arcodec.compress_image(im, "pixelcnn-photo", session)
        t1 = time.perf_counter()
        back = arcodec.decompress_image(r.data, session=session)
        t2 = time.perf_counter()
        rows.append({"image": name, "shape": list(im.shape), "encode_s": t1 - t0,
                     "decode_s": t2 - t1, "decode_us_per_subpixel": 1e6 * (t2 - t1) / im.size,
                     "payload_bits_per_dim": 8 * r.payload_bytes / im.size,
                     "exact": bool(np.array_equal(back, im)),
                     "within_bound": within_bound(8 * r.payload_bytes, r.nll_bits)})
    return {"suite": "image-speed", "device": session.device, "images": rows,
            "round_trip_exact": all(x["exact"] for x in rows),
            "overhead_within_bound": all(x["within_bound"] for x in rows)}


def markdown(r: dict) -> str:
    lines = ["| pixelcnn-photo | W x H | encode s | decode s | decode µs/sub-pixel | bits/dim | exact |",
             "| --- | --- | ---: | ---: | ---: | ---: | --- |"]
    for x in r["images"]:
        h, w, _ = x["shape"]
        lines.append(f"| {x['image']} | {w} x {h} | {x['encode_s']:.1f} | {x['decode_s']:.1f} | "
                     f"{x['decode_us_per_subpixel']:.1f} | {x['payload_bits_per_dim']:.4f} | "
                     f"{x['exact']} |")
    return "\n".join(lines) + f"\n\nDevice: {r['device']}."
