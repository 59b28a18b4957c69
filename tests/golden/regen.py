"""Regenerate the golden .arc files (only on purpose: a format or model change).

    python tests/golden/regen.py

Writes, for each example image in ``examples/``, ``tests/golden/NAME.arc``.
"""
from pathlib import Path

import arcodec

HERE = Path(__file__).parent
EXAMPLES = HERE.parent.parent / "examples"

if __name__ == "__main__":
    for png in sorted(EXAMPLES.glob("*.png")):
        arc = arcodec.compress_bytes(png.read_bytes()).data
        (HERE / f"{png.stem}.arc").write_bytes(arc)
        print(png.name, len(arc), "bytes")
