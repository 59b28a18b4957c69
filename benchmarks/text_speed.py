"""Suite ``text-speed``: the throughput of ``charrnn-text`` alone, as the ``text`` suite measures
it (1 MiB of English, the first bytes of bible.txt; 128 KiB with ``--quick``), with and without
context mixing, compress and decompress, on the session's device. A few minutes instead of the
text suite's hour: the way to measure speed on a GPU (``--device cuda``) or on an idle machine.
"""
from __future__ import annotations

from pathlib import Path

from .text import english_throughput


def run(data_dir, quick: bool, session) -> dict:
    root = Path(data_dir) / "text"
    if not (root / "large/bible.txt").exists():
        raise FileNotFoundError(f"missing {root / 'large/bible.txt'}")
    mixed, plain = english_throughput(root, quick, session)
    return {"suite": "text-speed", "device": session.device, "throughput": mixed,
            "throughput_no_mix": plain, "round_trip_exact": mixed["exact"] and plain["exact"],
            "overhead_within_bound": True}


def markdown(r: dict) -> str:
    lines = ["| charrnn-text | bytes | compress KB/s | decompress KB/s | bits/byte | exact |",
             "| --- | ---: | ---: | ---: | ---: | --- |"]
    for label, s in (("mixed (default)", r["throughput"]), ("--no-mix", r["throughput_no_mix"])):
        lines.append(f"| {label} | {s['bytes']:,} | {s['compress_kb_per_s']:.1f} | "
                     f"{s['decompress_kb_per_s']:.1f} | {s['bits_per_byte']:.3f} | {s['exact']} |")
    return "\n".join(lines) + f"\n\nDevice: {r['device']}; input: {r['throughput']['source']}."
