"""Golden files pin the format: today's code must decode them and re-encode to the same bytes."""
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import arcodec

GOLDEN = Path(__file__).parent / "golden"
EXAMPLES = Path(__file__).parent.parent / "examples"
CASES = sorted(GOLDEN.glob("*.arc"))


def test_golden_files_exist():
    assert len(CASES) >= 2


@pytest.mark.parametrize("arc", CASES, ids=[c.stem for c in CASES])
def test_golden_file_decodes_to_its_example(arc, session):
    src = EXAMPLES / f"{arc.stem}.png"
    out = arcodec.decompress_bytes(arc.read_bytes(), session=session).data
    restored = Image.open(io.BytesIO(out))
    original = Image.open(src)
    assert restored.mode == original.mode
    assert np.array_equal(np.asarray(restored), np.asarray(original))


@pytest.mark.parametrize("arc", CASES, ids=[c.stem for c in CASES])
def test_golden_file_is_reproduced_byte_for_byte(arc, session):
    src = EXAMPLES / f"{arc.stem}.png"
    assert arcodec.compress_bytes(src.read_bytes(), session=session).data == arc.read_bytes()
