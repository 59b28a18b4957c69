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


VARIANTS = [  # (golden file, compress options that write it today)
    # the bytes codec without the options field (format of the first releases)
    ("nomix/hello.txt.arc", {"mix": False}),
    # --adapt with today's (reachable-target) update rule
    ("adapt/hello.txt.arc", {"adapt": True}),
]


@pytest.mark.parametrize("golden, options", VARIANTS, ids=[v[0] for v in VARIANTS])
def test_variant_golden_file_decodes_and_is_reproduced_byte_for_byte(golden, options, session):
    arc = (GOLDEN / golden).read_bytes()
    src = EXAMPLES / "hello.txt"
    assert arcodec.decompress_bytes(arc, session=session).data == src.read_bytes()
    again = arcodec.compress_bytes(src.read_bytes(), session=session, name=src.name,
                                   mode=0o644, **options)
    assert again.data == arc


def test_files_of_the_first_context_mixer_still_decode(session):
    """``legacy/hello.txt.mix1.arc`` was written with mixer 1 (options bit 6 without bit 8).
    It must decode; and the bit must matter: the same file marked as mixer 2 decodes to other
    bytes, which the checksum catches."""
    from arcodec import container
    from arcodec.api import MIX2_OPTION, MIX_OPTION
    arc = (GOLDEN / "legacy" / "hello.txt.mix1.arc").read_bytes()
    src = EXAMPLES / "hello.txt"
    assert arcodec.decompress_bytes(arc, session=session).data == src.read_bytes()
    hdr, payload, _ = container.unpack(arc)
    assert hdr.dims[2] == MIX_OPTION
    hdr.dims = [*hdr.dims[:2], MIX_OPTION | MIX2_OPTION]
    with pytest.raises(arcodec.FormatError):
        arcodec.decompress_bytes(container.pack(hdr, payload), session=session)


@pytest.mark.parametrize("version", [2, 3])
def test_files_of_earlier_context_mixers_still_decode(version, session):
    """``legacy/hello.txt.mix2.arc`` was written with mixer 2 (options bits 6 and 8), the
    default before mixer 3 (bits 6 and 9); ``legacy/hello.txt.mix3.arc`` with mixer 3, the
    default before mixer 4 (bits 6 and 10). Each must decode; marked as the next mixer it
    must not."""
    from arcodec import container
    from arcodec.api import MIX_BITS
    arc = (GOLDEN / "legacy" / f"hello.txt.mix{version}.arc").read_bytes()
    src = EXAMPLES / "hello.txt"
    assert arcodec.decompress_bytes(arc, session=session).data == src.read_bytes()
    hdr, payload, _ = container.unpack(arc)
    assert hdr.dims[2] == MIX_BITS[version]
    hdr.dims = [*hdr.dims[:2], MIX_BITS[version + 1]]
    with pytest.raises(arcodec.FormatError):
        arcodec.decompress_bytes(container.pack(hdr, payload), session=session)


def test_adaptive_files_of_the_first_update_rule_still_decode(session):
    """``legacy/hello.txt.adapt1.arc`` was written by ``--adapt`` before the reachable-target
    rule (options bit 7 unset). It must decode; and the bit must matter: the same file marked
    with today's rule decodes to other bytes, which the checksum catches."""
    from arcodec import container
    from arcodec.api import REACH_OPTION
    arc = (GOLDEN / "legacy" / "hello.txt.adapt1.arc").read_bytes()
    src = EXAMPLES / "hello.txt"
    assert arcodec.decompress_bytes(arc, session=session).data == src.read_bytes()
    hdr, payload, _ = container.unpack(arc)
    assert hdr.dims[2] & REACH_OPTION == 0
    hdr.dims = [*hdr.dims[:2], hdr.dims[2] | REACH_OPTION]
    with pytest.raises(arcodec.FormatError):
        arcodec.decompress_bytes(container.pack(hdr, payload), session=session)


def test_adaptive_files_of_the_fixed_learning_rate_shift_still_decode(session):
    """``legacy/hello.txt.adapt-shift10.arc`` was written by ``--adapt`` when every file used
    shift 10 (now the shift follows the stream count: ``api.adapt_shift``). The shift is read
    from the file, so it decodes; today's file of the same text stores 18."""
    arc = (GOLDEN / "legacy" / "hello.txt.adapt-shift10.arc").read_bytes()
    src = (EXAMPLES / "hello.txt").read_bytes()
    assert arcodec.decompress_bytes(arc, session=session).data == src
    assert arcodec.info(arc)["shape"][2] % 64 == 10
    assert arcodec.info((GOLDEN / "adapt" / "hello.txt.arc").read_bytes())["shape"][2] % 64 == 18


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_files_of_the_retired_pixelcnn_mnist_weights_still_decode(version, session):
    """``legacy/digit7-gray8.png.pixelcnn-mnist.vK.arc`` were written with earlier
    pixelcnn-mnist weights, retired when the model was trained further (registry entries
    ``pixelcnn-mnist.v1``, ``.v2``; both on the 1/32 gate grid of configs that predate the
    ``z_one`` field, the current one on 1/64). Each must decode to its example; today's file of
    the same digit names the current weights."""
    arc = (GOLDEN / "legacy" / f"digit7-gray8.png.pixelcnn-mnist.{version}.arc").read_bytes()
    old = arcodec.info(arc)
    assert old["model"] == f"pixelcnn-mnist.{version}"
    out = arcodec.decompress_bytes(arc, session=session).data
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(out))),
                          np.asarray(Image.open(EXAMPLES / "digit7-gray8.png")))
    now = arcodec.info((GOLDEN / "digit7-gray8.png.arc").read_bytes())
    assert now["model"] == "pixelcnn-mnist" and now["weights"] != old["weights"]


@pytest.mark.parametrize("name", ["hello.txt.charrnn-text.v1.arc", "hello.txt.nomix.arc"])
def test_files_of_the_retired_charrnn_text_weights_still_decode(name, session):
    """``legacy/hello.txt.charrnn-text.v1.arc`` (default options) and ``legacy/hello.txt.nomix.arc``
    (no options field) were written with the first charrnn-text weights, retired when the model
    was trained further (registry entry ``charrnn-text.v1``). They must decode to their example;
    today's file of the same text names the current weights."""
    arc = (GOLDEN / "legacy" / name).read_bytes()
    old = arcodec.info(arc)
    assert old["model"] == "charrnn-text.v1"
    text = (EXAMPLES / "hello.txt").read_bytes()
    assert arcodec.decompress_bytes(arc, session=session).data == text
    now = arcodec.info((GOLDEN / "hello.txt.arc").read_bytes())
    assert now["model"] == "charrnn-text" and now["weights"] != old["weights"]


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_files_of_the_retired_pixelcnn_photo_weights_still_decode(version, session):
    """``legacy/parrots.png.pixelcnn-photo.vK.arc`` were written with earlier pixelcnn-photo
    weights, retired when the model was trained further (registry entries
    ``pixelcnn-photo.v1``: 1/32 gate grid; ``.v2``: 1/64, gate outputs 1/127, skip 1/32; the
    current one on 1/128, 1/255, 1/64). Each must decode to its example, pixel for pixel;
    today's file of the same image names the current weights."""
    arc = (GOLDEN / "legacy" / f"parrots.png.pixelcnn-photo.{version}.arc").read_bytes()
    old = arcodec.info(arc)
    assert old["model"] == f"pixelcnn-photo.{version}"
    out = arcodec.decompress_bytes(arc, session=session).data
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(out))),
                          np.asarray(Image.open(EXAMPLES / "parrots.png")))
    now = arcodec.info((GOLDEN / "parrots.png.arc").read_bytes())
    assert now["model"] == "pixelcnn-photo" and now["weights"] != old["weights"]
