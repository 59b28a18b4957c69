"""PNG plots of a results.json: payload vs NLL with y = x, bits/dim per codec, throughput."""
from __future__ import annotations

from pathlib import Path

import matplotlib

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
            fs = [f for f in r["files"] if f["model"] != "stored"]
            pts.append(("text files (charrnn-text)",
                        [f["int_nll_bits_per_byte"] * f["bytes"] for f in fs],
                        [f["payload_bits_per_byte"] * f["bytes"] for f in fs]))
    if not pts:
        return None
    fig, axes = plt.subplots(1, len(pts), figsize=(5.5 * len(pts), 5), squeeze=False)
    for ax, (title, x, y) in zip(axes[0], pts):
        ax.scatter(x, y, s=6, alpha=0.5, label="files")
        lo, hi = min(min(x), min(y)), max(max(x), max(y))
        ax.plot([lo, hi], [lo, hi], "k--", lw=1, label="y = x")
        if title.startswith("text"):
            ax.set_xscale("log")
            ax.set_yscale("log")
        ax.set_xlabel("integer-model NLL (bits)")
        ax.set_ylabel("payload (bits)")
        ax.set_title(title)
        ax.legend()
    fig.suptitle("Compressed size tracks the model's NLL")
    fig.tight_layout()
    path = out / "payload_vs_nll.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def bits_per_codec(results: list[dict], out: Path) -> Path | None:
    """Bars: bits per dimension of arcodec and each baseline, per data set."""
    panels = []
    for r in results:
        if r.get("suite") == "mnist-binary":
            bars = {"arcodec (payload)": r["payload_bits_per_digit"] / 784,
                    "arcodec (file)": r["file_bits_per_digit"] / 784}
            bars.update({k: v["bits_per_digit"] / 784 for k, v in r["baselines"].items()
                         if "missing" not in v})
            panels.append(("binarised MNIST test (bits/pixel)", bars))
        elif r.get("suite") == "text":
            total = sum(f["bytes"] for f in r["files"])
            bars = {"arcodec": 8 * sum(f["arc_bytes"] for f in r["files"]) / total}
            bars.update({k: 8 * sum(v.values()) / total for k, v in r["baselines"].items()
                         if "missing" not in v})
            panels.append(("text files, all together (bits/byte)", bars))
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.5), squeeze=False)
    for ax, (title, bars) in zip(axes[0], panels):
        names = list(bars)
        ax.barh(names, [bars[n] for n in names],
                color=["tab:orange" if n.startswith("arcodec") else "tab:blue" for n in names])
        for i, n in enumerate(names):
            ax.text(bars[n], i, f" {bars[n]:.3f}", va="center")
        ax.invert_yaxis()
        ax.set_title(title)
        ax.set_xlim(0, max(bars.values()) * 1.25)
    fig.tight_layout()
    path = out / "bits_per_codec.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def scaling(results: list[dict], out: Path) -> Path | None:
    """Time and peak memory against input size (log-log)."""
    r = next((r for r in results if r.get("suite") == "scaling"), None)
    if r is None:
        return None
    n = [x["bytes"] for x in r["rows"]]
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.5))
    a.loglog(n, [x["encode_s"] for x in r["rows"]], "o-", label="compress")
    a.loglog(n, [x["decode_s"] for x in r["rows"]], "s-", label="decompress")
    a.loglog(n, [n_ / n[-1] * r["rows"][-1]["decode_s"] for n_ in n], "k:", label="linear")
    a.set_xlabel("input bytes")
    a.set_ylabel("seconds")
    a.set_title("time vs input size (charrnn-text)")
    a.legend()
    b.semilogx(n, [x["peak_rss_mb"] for x in r["rows"]], "o-")
    b.set_xlabel("input bytes")
    b.set_ylabel("peak RSS (MB)")
    b.set_title("peak memory vs input size")
    b.set_ylim(0, None)
    fig.tight_layout()
    path = out / "scaling.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_all(results: list[dict], out: Path) -> list[Path]:
    return [p for p in (payload_vs_nll(results, out), bits_per_codec(results, out),
                        scaling(results, out)) if p]
