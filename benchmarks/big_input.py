"""Build the large varied-text input of the 100 MB round trip (README, scaling section).

    python -m benchmarks.big_input OUT [--bytes 100000000] [--data-dir DIR]

OUT gets every file of the data dir's ``text-train/`` and then ``text/`` (sorted paths,
PROVENANCE.md and SHA256SUMS left out) concatenated, repeated from the start until it is
``--bytes`` long. Varied text, so that the text model codes it: one text repeated (as the
scaling suite's bible.txt) would go to xz, which codes exact repeats better. The README's
100,000,000-byte file built this way has sha256 5fb151013d5a7606….
"""
from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

from arcodec.train.data import data_dir

SKIP = {"PROVENANCE.md", "SHA256SUMS"}


def sources(root: Path) -> list[Path]:
    """The files concatenated, in order: text-train's, then text's, each sorted by path."""
    out = []
    for sub in ("text-train", "text"):
        if not (root / sub).is_dir():
            raise FileNotFoundError(f"missing {root / sub} (see the data dir's PROVENANCE.md)")
        out += [p for p in sorted((root / sub).rglob("*")) if p.is_file() and p.name not in SKIP]
    return out


def build(root: Path, n: int, out: Path) -> str:
    """Write the first n bytes of the repeated concatenation to out; return its sha256 hex."""
    files = sources(root)
    if n and not any(p.stat().st_size for p in files):
        raise ValueError("the text folders hold no bytes")
    h, left = hashlib.sha256(), n
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "wb") as f:
        while left:
            for p in files:
                chunk = p.read_bytes()[:left]
                f.write(chunk)
                h.update(chunk)
                left -= len(chunk)
                if not left:
                    break
    tmp.replace(out)
    return h.hexdigest()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.big_input")
    ap.add_argument("out", type=Path)
    ap.add_argument("--bytes", type=int, default=100_000_000)
    ap.add_argument("--data-dir", default=None, help="data sets (default: $ARCODEC_DATA)")
    a = ap.parse_args(argv)
    try:
        digest = build(data_dir(a.data_dir), a.bytes, a.out)
    except (FileNotFoundError, ValueError) as e:
        print(f"big_input: {e}", file=sys.stderr)
        return 2
    print(f"{a.out}: {a.bytes:,} bytes, sha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
