"""python -m benchmarks [--quick] [--out DIR] [--data-dir DIR] [--device auto|cpu|cuda]
                       [--suite NAME ...] [--model NAME ...]

Writes results.json (figures, package versions, machine, date) and results.md to --out.
Exits 1 if a round trip is not exact or a payload exceeds its integer NLL by more than
0.1% + 8 bytes.
"""
from __future__ import annotations

import argparse
import datetime
import json
import platform
import sys
import time
from importlib.metadata import version
from pathlib import Path

import torch

import arcodec
import arcodec.zoo
from arcodec.train.data import data_dir

from . import image_speed, images, memory, mnist_binary, nll_gap, photos, scaling, text, text_speed

SUITES = {"mnist-binary": mnist_binary, "photos": photos, "images": images, "text": text,
          "nll-gap": nll_gap, "scaling": scaling, "text-speed": text_speed, "image-speed": image_speed}
FOCUSED = {"text-speed", "image-speed", "nll-gap"}  # not in the default set: the full suites
                                                   # time the same and report the same NLLs
_MNIST = ("the MNIST idx files (t10k-images-idx3-ubyte.gz, train-images-idx3-ubyte.gz) from "
          "http://yann.lecun.com/exdb/mnist/ into DATA/mnist/")
_KODAK = "kodim01.png … kodim24.png from https://r0k.us/graphics/kodak/ into DATA/kodak/"
_TEXT = ("the Canterbury corpus and bible.txt, world192.txt of the large corpus from "
         "https://corpus.canterbury.ac.nz/ into DATA/text/cantrbry/ and DATA/text/large/")
GET = {"mnist-binary": _MNIST, "images": _MNIST, "photos": _KODAK, "image-speed": _KODAK,
       "text": _TEXT, "text-speed": _TEXT, "scaling": _TEXT,
       "nll-gap": f"{_MNIST}; {_KODAK}; {_TEXT}"}    # where a missing data set comes from


def machine(session: arcodec.Session) -> dict:
    return {"python": platform.python_version(), "platform": platform.platform(),
            "cpu": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
            "device": session.device,
            "gpu": torch.cuda.get_device_name() if session.device == "cuda" else None,
            "packages": {p: version(p) for p in ("arcodec", "torch", "constriction", "numpy")},
            "models": {m.name: m.sha256 for m in arcodec.zoo.shipped()},
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks")
    ap.add_argument("--quick", action="store_true", help="small subsets (CI, a few minutes)")
    ap.add_argument("--out", default="results", help="output folder")
    ap.add_argument("--data-dir", default=None, help="data sets (default: $ARCODEC_DATA)")
    ap.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--suite", action="append", choices=sorted(SUITES),
                    help="default: all but text-speed, image-speed and nll-gap (the "
                         "full suites measure the same)")
    ap.add_argument("--model", action="append", choices=sorted(nll_gap.MODELS),
                    help="nll-gap: only the rows of this model (default: every shipped model)")
    a = ap.parse_args(argv)
    if a.model and a.suite != ["nll-gap"]:
        print("benchmarks: --model selects rows of --suite nll-gap; name that suite alone",
              file=sys.stderr)
        return 2
    try:
        root = data_dir(a.data_dir)
    except FileNotFoundError as e:
        print(f"benchmarks: {e}", file=sys.stderr)
        return 2
    session = arcodec.Session(a.device)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    results, ok = [], True
    md = [f"# arcodec benchmark ({'quick' if a.quick else 'full'})", ""]
    for name in a.suite or sorted(set(SUITES) - FOCUSED):
        mod = SUITES[name]
        own_peak = memory.reset_peak()
        t0 = time.perf_counter()
        try:
            r = (mod.run(root, a.quick, session, a.model) if a.model
                 else mod.run(root, a.quick, session))
        except FileNotFoundError as e:
            r = {"suite": name, "missing_data": str(e), "get": GET[name]}
            md += [f"## {name}", "", f"missing data: {e}. Get {GET[name]}.", ""]
            results.append(r)
            continue
        r["peak_rss_mb"] = memory.peak_rss_mb()
        r["peak_rss_of"] = ("the process while this suite ran (what earlier suites left "
                            "resident included)" if own_peak else "the process so far")
        r["wall_s"] = time.perf_counter() - t0
        results.append(r)
        ok &= bool(r["round_trip_exact"] and r["overhead_within_bound"])
        md += [f"## {name}", "", mod.markdown(r), "",
               f"Peak resident memory of {r['peak_rss_of']}: {r['peak_rss_mb']:.0f} MiB "
               f"(device {session.device}); the suite ran {r['wall_s']:.0f} s.", ""]
    doc = {"machine": machine(session), "quick": a.quick, "results": results}
    (out / "results.json").write_text(json.dumps(doc, indent=1, default=float))
    try:
        from . import plots
        for p in plots.write_all(results, out):
            md += [f"![{p.stem}]({p.name})", ""]
    except ImportError:
        md += ["(plots skipped: pip install matplotlib)", ""]
    (out / "results.md").write_text("\n".join(md))
    print("\n".join(md))
    if not ok:
        print("benchmarks: FAILED (inexact round trip or payload over its NLL bound)",
              file=sys.stderr)
    if all("missing_data" in r for r in results):
        print(f"benchmarks: no data set found in {root} (see the messages above)",
              file=sys.stderr)
        return 2
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
