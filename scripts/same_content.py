"""Compare restored files with their originals: PNGs by pixels (their file bytes may differ),
everything else byte for byte. Exit 1 if any differs or is missing.

    python scripts/same_content.py ORIGINALS_DIR RESTORED_DIR
"""
import sys
from pathlib import Path

import numpy as np
from PIL import Image


def same(a: Path, b: Path) -> bool:
    if not b.exists():
        return False
    if a.suffix.lower() == ".png":
        with Image.open(a) as x, Image.open(b) as y:
            return x.mode == y.mode and np.array_equal(np.asarray(x), np.asarray(y))
    return a.read_bytes() == b.read_bytes()


def main() -> int:
    orig, got = map(Path, sys.argv[1:3])
    bad = 0
    for p in sorted(q for q in orig.iterdir() if q.is_file()):
        ok = same(p, got / p.name)
        print(f"{p.name}: {'identical' if ok else 'DIFFERS or missing'}")
        bad += not ok
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
