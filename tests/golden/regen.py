"""Regenerate the golden .arc files (only on purpose: a format or model change).

    python tests/golden/regen.py

Writes, for each file ``examples/NAME``, ``tests/golden/NAME.arc`` (stored name NAME, mode 644),
``tests/golden/adapt/hello.txt.arc`` (the same with ``--adapt``) and
``tests/golden/nomix/hello.txt.arc`` (``--no-mix``: the format without the options field).
``legacy/`` holds files of earlier format variants and retired weights; they are never
regenerated.
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
    src = EXAMPLES / "hello.txt"
    arc = arcodec.compress_bytes(src.read_bytes(), name=src.name, mode=0o644, adapt=True).data
    (HERE / "adapt" / "hello.txt.arc").write_bytes(arc)
    print("adapt/hello.txt", len(arc), "bytes")
    arc = arcodec.compress_bytes(src.read_bytes(), name=src.name, mode=0o644, mix=False).data
    (HERE / "nomix" / "hello.txt.arc").write_bytes(arc)
    print("nomix/hello.txt", len(arc), "bytes")
