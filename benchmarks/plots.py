"""PNG plots of a results.json: payload vs NLL with y = x, bits/dim per codec, throughput."""
from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib
import numpy as np

from benchmarks import within_bound

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def payload_vs_nll(results: list[dict], out: Path) -> Path | None:
    """One point per coded item: payload bits against the integer model's NLL bits."""
    pts = []
    for r in results:
        if r.get("suite") == "mnist-binary":
            pi = r["per_item"]
            pts.append(("MNIST digits (made-mnist)", pi["nll_bits"], pi["payload_bits"]))
        elif r.get("suite") == "text":
            fs = r["files"] + r.get("adapt", [])    # the model's own payload, even where
            pts.append(("text files (charrnn-text, plain and --adapt)",   # xz was smaller
                        [f["int_nll_bits_per_byte"] * f["bytes"] for f in fs],
                        [f.get("model_payload_bits_per_byte", f["payload_bits_per_byte"])
                         * f["bytes"] for f in fs]))
        elif r.get("suite") == "photos":
            items = [(x, int(np.prod(x["shape"]))) for s in r["sets"]
                     for x in s.get("per_image", [])]
            if items:
                pts.append(("photos (pixelcnn-photo)",
                            [x["int_nll_bits_per_dim"] * n for x, n in items],
                            [x["payload_bits_per_dim"] * n for x, n in items]))
    if not pts:
        return None
    fig, axes = plt.subplots(1, len(pts), figsize=(5.5 * len(pts), 5), squeeze=False)
    for ax, (title, x, y) in zip(axes[0], pts):
        ax.scatter(x, y, s=14, alpha=0.6, label="files")
        lo, hi = min(min(x), min(y)), max(max(x), max(y))
        if title.startswith(("text", "photos")):   # sizes span decades; one photo in --quick
            ax.set_xscale("log")
            ax.set_yscale("log")
            lo, hi = lo / 2, hi * 2
        else:
            lo, hi = 0, hi * 1.05
        ax.plot([lo, hi], [lo, hi], "k--", lw=1, label="y = x")
        ax.set_xlim(lo, hi)                     # the same range on both axes: a point's
        ax.set_ylim(lo, hi)                     # distance from y = x is its overhead
        inside = sum(within_bound(b, a) for a, b in zip(x, y))
        ax.text(0.97, 0.03, f"all {len(x)} together: payload/NLL - 1 = "
                f"{100 * (sum(y) / sum(x) - 1):+.3f}%\n"
                f"{inside} of {len(x)} within 0.1% + 64 bits",
                transform=ax.transAxes, ha="right", va="bottom")
        ax.set_xlabel("integer-model NLL (bits)")
        ax.set_ylabel("payload (bits)")
        ax.set_title(title)
        ax.legend(loc="upper left")
    fig.suptitle("Compressed size tracks the model's NLL")
    fig.tight_layout()
    path = out / "payload_vs_nll.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def bar_panels(results: list[dict]) -> list[tuple[str, dict[str, float]]]:
    """(title, {codec: bits per dimension}) for every data set that arcodec coded."""
    panels = []
    for r in results:
        if r.get("suite") == "mnist-binary":
            bars = {"arcodec (payload)": r["payload_bits_per_digit"] / 784,
                    "arcodec (file)": r["file_bits_per_digit"] / 784}
            bars.update({k: v["bits_per_digit"] / 784 for k, v in r["baselines"].items()
                         if "missing" not in v})
            panels.append((f"binarised MNIST test, {r['digits_encoded']} digits (bits/pixel)",
                           bars))
        elif r.get("suite") == "text":
            total = sum(f["bytes"] for f in r["files"])
            bars = {"arcodec": 8 * sum(f["arc_bytes"] for f in r["files"]) / total}
            bars.update({k: 8 * sum(v.values()) / total for k, v in r["baselines"].items()
                         if "missing" not in v})
            panels.append((f"{len(r['files'])} text files, all together (bits/byte)", bars))
        elif r.get("suite") in ("images", "photos"):
            for st in r["sets"]:
                a = st.get("arcodec")
                if not a:
                    continue
                bars = {f"arcodec {a['model']} (payload)": a["payload_bits_per_dim"],
                        f"arcodec {a['model']} (file)": a["file_bits_per_dim"]}
                bars.update({k: v["bits_per_dim"] for k, v in st["baselines"].items()
                             if "missing" not in v})
                unit = "bits/pixel" if "binarised" in st["name"] else "bits/sub-pixel"
                panels.append((f"{st['name']} ({unit})", bars))
    return panels


def bits_per_codec(results: list[dict], out: Path) -> Path | None:
    """Bars: bits per dimension of arcodec and each baseline, a panel per data set."""
    panels = bar_panels(results)
    if not panels:
        return None
    cols = min(3, len(panels))
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(6.5 * cols, 4 * rows), squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    for ax, (title, bars) in zip(axes.flat, panels):
        names = list(bars)
        ax.barh(names, [bars[n] for n in names],
                color=["tab:orange" if n.startswith("arcodec") else "tab:blue" for n in names])
        for i, n in enumerate(names):
            ax.text(bars[n], i, f" {bars[n]:.3f}", va="center")
        ax.invert_yaxis()
        ax.set_title(textwrap.fill(title, 48), fontsize=10)
        ax.set_xlim(0, max(bars.values()) * 1.25)
    fig.tight_layout()
    path = out / "bits_per_codec.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _time_and_memory(ax_t, ax_m, n: list, rows: list[dict], unit: str, what: str) -> None:
    ax_t.loglog(n, [x["encode_s"] for x in rows], "o-", label="compress")
    ax_t.loglog(n, [x["decode_s"] for x in rows], "s-", label="decompress")
    ax_t.loglog(n, [k / n[-1] * rows[-1]["decode_s"] for k in n], "k:", label="linear")
    ax_t.set_xlabel(unit)
    ax_t.set_ylabel("seconds")
    ax_t.set_title(f"time vs input size ({what})")
    ax_t.legend()
    ax_m.semilogx(n, [x["peak_rss_mb"] for x in rows], "o-")
    ax_m.set_xlabel(unit)
    ax_m.set_ylabel("peak RSS (MiB)")
    ax_m.set_title(f"peak memory vs input size ({what})")
    ax_m.set_ylim(0, None)


def scaling(results: list[dict], out: Path) -> Path | None:
    """Time and peak memory against input size (log-log), text and images."""
    r = next((r for r in results if r.get("suite") == "scaling"), None)
    if r is None:
        return None
    panels = []         # a capped run may have no text or no image rows
    if r.get("rows"):
        panels.append(([x["bytes"] for x in r["rows"]], r["rows"], "input bytes", "charrnn-text"))
    if r.get("image_rows"):
        panels.append(([x["subpixels"] for x in r["image_rows"]], r["image_rows"],
                       "sub-pixels", "pixelcnn-photo"))
    if not panels:
        return None
    fig, axes = plt.subplots(len(panels), 2, figsize=(11, 4.5 * len(panels)), squeeze=False)
    for (a, b), args in zip(axes, panels):
        _time_and_memory(a, b, *args)
    fig.tight_layout()
    path = out / "scaling.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_all(results: list[dict], out: Path) -> list[Path]:
    """The plots the results allow (suites whose data was missing are left out)."""
    results = [r for r in results if "missing_data" not in r]
    return [p for p in (payload_vs_nll(results, out), bits_per_codec(results, out),
                        scaling(results, out)) if p]
