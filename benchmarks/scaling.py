"""Suite: encode/decode time and peak memory against input size: text through charrnn-text
(bible.txt repeated to size; the model named, so that xz never stands in for it) and RGB images
through pixelcnn-photo (kodim01 mirrored to N x N).

Each size runs in a fresh process so its peak resident memory (``VmHWM``, see
``benchmarks.memory``) is its own. Before the timed run each child codes a small input once
(``warmup_s``): loading the model and numba's first compile (tens of seconds on a fresh checkout,
whose cache is empty) are a fixed cost per process, not part of the cost per byte or pixel.
``$ARCODEC_BENCH_MAX_SIDE`` / ``$ARCODEC_BENCH_MAX_BYTES`` cap the sizes of a full run.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from benchmarks import memory

QUICK_SIZES = [10_000, 100_000]
FULL_SIZES = [10_000, 100_000, 1_000_000, 10_000_000]
QUICK_SIDES = [32, 64]
FULL_SIDES = [64, 128, 256, 512, 1024, 2048]

_CHILD = r"""
import json, sys, time, torch
import arcodec
path, n, device = sys.argv[1], int(sys.argv[2]), sys.argv[3]
src = open(path, "rb").read()
data = (src * (n // len(src) + 1))[:n]
s = arcodec.Session(device)
w0 = time.perf_counter()
arcodec.decompress_bytes(arcodec.compress_bytes(src[:2000], "charrnn-text", session=s).data,
                         session=s)
t0 = time.perf_counter(); r = arcodec.compress_bytes(data, "charrnn-text", session=s)
t1 = time.perf_counter()
back = arcodec.decompress_bytes(r.data, session=s).data; t2 = time.perf_counter()
print(json.dumps({"bytes": n, "warmup_s": t0 - w0, "encode_s": t1 - t0, "decode_s": t2 - t1,
                  "exact": back == data, "bits_per_byte": 8 * len(r.data) / n,
                  "peak_rss_mb": peak_rss_mb()}))
"""


_CHILD_IMG = r"""
import json, sys, time, numpy as np, torch
from PIL import Image
import arcodec
path, n, device = sys.argv[1], int(sys.argv[2]), sys.argv[3]
a = np.asarray(Image.open(path).convert("RGB"))
img = np.pad(a, ((0, max(0, n - a.shape[0])), (0, max(0, n - a.shape[1])), (0, 0)),
             mode="symmetric")[:n, :n].copy()
s = arcodec.Session(device)
w0 = time.perf_counter()
arcodec.decompress_image(arcodec.compress_image(a[:8, :8].copy(), "pixelcnn-photo", s).data,
                         session=s)
t0 = time.perf_counter(); r = arcodec.compress_image(img, "pixelcnn-photo", s)
t1 = time.perf_counter(); back = arcodec.decompress_image(r.data, session=s)
t2 = time.perf_counter()
print(json.dumps({"side": n, "subpixels": img.size, "warmup_s": t0 - w0,
                  "encode_s": t1 - t0, "decode_s": t2 - t1,
                  "exact": bool(np.array_equal(back, img)),
                  "bits_per_dim": 8 * r.payload_bytes / img.size,
                  "peak_rss_mb": peak_rss_mb()}))
"""


def run(data_dir, quick: bool, session) -> dict:
    src = Path(data_dir) / "text/large/bible.txt"
    if not src.exists():
        raise FileNotFoundError(f"missing {src}")
    max_bytes = int(os.environ.get("ARCODEC_BENCH_MAX_BYTES", FULL_SIZES[-1]))
    max_side = int(os.environ.get("ARCODEC_BENCH_MAX_SIDE", FULL_SIDES[-1]))
    rows = []
    for n in QUICK_SIZES if quick else [n for n in FULL_SIZES if n <= max_bytes]:
        out = subprocess.run([sys.executable, "-c", memory.child_code(_CHILD), str(src),
                              str(n), session.device], capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    img_rows = []
    kodim = Path(data_dir) / "kodak/kodim01.png"
    sides = QUICK_SIDES if quick else [n for n in FULL_SIDES if n <= max_side]
    for n in sides if kodim.exists() else []:
        out = subprocess.run([sys.executable, "-c", memory.child_code(_CHILD_IMG),
                              str(kodim), str(n), session.device],
                             capture_output=True, text=True, check=True)
        img_rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {"suite": "scaling", "input": "bible.txt repeated to size", "rows": rows,
            "image_input": "kodim01 mirrored to N x N", "image_rows": img_rows,
            "round_trip_exact": all(r["exact"] for r in rows + img_rows),
            "overhead_within_bound": True}


def markdown(r: dict) -> str:
    lines = ["| bytes | encode s | decode s | encode KB/s | decode KB/s | peak RSS MiB "
             "| bits/byte |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for x in r["rows"]:
        lines.append(f"| {x['bytes']:,} | {x['encode_s']:.1f} | {x['decode_s']:.1f} | "
                     f"{x['bytes'] / 1000 / x['encode_s']:.1f} | {x['bytes'] / 1000 / x['decode_s']:.1f} | "
                     f"{x['peak_rss_mb']:.0f} | {x['bits_per_byte']:.3f} |")
    if r.get("image_rows"):
        lines += ["", f"Images ({r['image_input']}, pixelcnn-photo):", "",
                  "| side | sub-pixels | encode s | decode s | decode µs/sub-pixel | "
                  "peak RSS MiB | bits/dim |", "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for x in r["image_rows"]:
            lines.append(f"| {x['side']} | {x['subpixels']:,} | {x['encode_s']:.1f} | "
                         f"{x['decode_s']:.1f} | {1e6 * x['decode_s'] / x['subpixels']:.1f} | "
                         f"{x['peak_rss_mb']:.0f} | {x['bits_per_dim']:.3f} |")
    warm = [x["warmup_s"] for x in r["rows"] + r.get("image_rows", []) if "warmup_s" in x]
    if warm:
        lines += ["", f"Each size runs in its own process, which first codes a small input "
                      f"untimed (model load, compiling): {min(warm):.1f}–{max(warm):.1f} s. "
                      f"Peak RSS is that process's own (VmHWM)."]
    return "\n".join(lines)
