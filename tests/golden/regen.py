"""Regenerate the golden .arc files (only on purpose: a format or model change).

    python tests/golden/regen.py

Writes, for each file ``examples/NAME``, ``tests/golden/NAME.arc`` (stored name NAME, mode 644).
"""
from pathlib import Path

import arcodec

HERE = Path(__file__).parent
EXAMPLES = HERE.parent.parent / "examples"

if __name__ == "__main__":
    for src in sorted(p for p in EXAMPLES.iterdir() if p.is_file()):
        arc = arcodec.compress_bytes(src.read_bytes(), name=src.name, mode=0o644).data
        (HERE / f"{src.name}.arc").write_bytes(arc)
        print(src.name, len(arc), "bytes")
