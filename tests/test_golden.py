"""Golden files pin the format: today's code must decode them and re-encode to the same bytes.

``tests/golden/NAME.arc`` is the compressed ``examples/NAME`` (regenerate on purpose only:
``python tests/golden/regen.py``).
"""
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import arcodec

GOLDEN = Path(__file__).parent / "golden"
EXAMPLES = Path(__file__).parent.parent / "examples"
CASES = sorted(GOLDEN.glob("*.arc"))


def test_every_example_has_a_golden_file():
    examples = sorted(p.name for p in EXAMPLES.iterdir() if p.is_file())
    assert examples and [c.stem for c in CASES] == examples


@pytest.mark.parametrize("arc", CASES, ids=[c.stem for c in CASES])
def test_golden_file_decodes_to_its_example(arc, session):
    src = EXAMPLES / arc.stem
    out = arcodec.decompress_bytes(arc.read_bytes(), session=session).data
    if src.suffix == ".png":
        restored, original = Image.open(io.BytesIO(out)), Image.open(src)
        assert restored.mode == original.mode
        assert np.array_equal(np.asarray(restored), np.asarray(original))
    else:
        assert out == src.read_bytes()


@pytest.mark.parametrize("arc", CASES, ids=[c.stem for c in CASES])
def test_golden_file_is_reproduced_byte_for_byte(arc, session):
    src = EXAMPLES / arc.stem
    got = arcodec.compress_bytes(src.read_bytes(), session=session, name=src.name, mode=0o644)
    assert got.data == arc.read_bytes()


def test_byte_files_written_before_context_mixing_still_decode(session):
    """``legacy/hello.txt.nomix.arc``: the bytes codec without the options field (format of
    the first releases); it must decode and equal what ``mix=False`` writes today."""
    arc = (GOLDEN / "legacy" / "hello.txt.nomix.arc").read_bytes()
    src = EXAMPLES / "hello.txt"
    assert arcodec.decompress_bytes(arc, session=session).data == src.read_bytes()
    again = arcodec.compress_bytes(src.read_bytes(), session=session, name=src.name,
                                   mode=0o644, mix=False)
    assert again.data == arc


def test_adaptive_golden_file_is_reproduced_byte_for_byte(session):
    """``adapt/hello.txt.arc``: ``--adapt`` with today's (reachable-target) update rule."""
    arc = (GOLDEN / "adapt" / "hello.txt.arc").read_bytes()
    src = EXAMPLES / "hello.txt"
    assert arcodec.decompress_bytes(arc, session=session).data == src.read_bytes()
    again = arcodec.compress_bytes(src.read_bytes(), session=session, name=src.name,
                                   mode=0o644, adapt=True)
    assert again.data == arc


def test_adaptive_files_of_the_first_update_rule_still_decode(session):
    """``legacy/hello.txt.adapt1.arc`` was written by ``--adapt`` before the reachable-target
    rule (options bit 7 unset). It must decode; and the bit must matter: the same file marked
    with today's rule decodes to other bytes, which the checksum catches."""
    from arcodec import container
    arc = (GOLDEN / "legacy" / "hello.txt.adapt1.arc").read_bytes()
    src = EXAMPLES / "hello.txt"
    assert arcodec.decompress_bytes(arc, session=session).data == src.read_bytes()
    hdr, payload, _ = container.unpack(arc)
    assert hdr.dims[2] & 128 == 0
    hdr.dims = [*hdr.dims[:2], hdr.dims[2] | 128]
    with pytest.raises(arcodec.FormatError):
        arcodec.decompress_bytes(container.pack(hdr, payload), session=session)
