"""Model registry: retrained shipped models keep decoding the files of their older weights."""
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import arcodec
from arcodec import zoo
from arcodec.errors import ModelError

GOLDEN = Path(__file__).parent / "golden"
EXAMPLES = Path(__file__).parent.parent / "examples"


@pytest.fixture
def retrained(monkeypatch):
    """The registry as it looks after pixelcnn-mnist is retrained: its number and name point at
    new weights (here: another shipped file, standing in for them), and the old weights stay as
    a legacy entry whose name sorts *before* the current one."""
    reg = {k: dict(v) for k, v in zoo.registry().items()}
    old = reg["pixelcnn-mnist"]
    new = dict(old, file=reg["made-mnist"]["file"], sha256=reg["made-mnist"]["sha256"])
    reg["pixelcnn-mnist"] = new
    reg["aaa-pixelcnn-mnist.v1"] = dict(old, legacy=True)
    monkeypatch.setattr(zoo, "registry", lambda: reg)
    return old, new


def test_a_file_of_legacy_weights_decodes_after_its_model_is_retrained(retrained):
    arc = (GOLDEN / "digit7-gray8.png.arc").read_bytes()
    assert arcodec.info(arc)["model"] == "aaa-pixelcnn-mnist.v1"
    out = arcodec.decompress_bytes(arc).data
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(out))),
                          np.asarray(Image.open(EXAMPLES / "digit7-gray8.png")))


def test_the_current_weights_not_the_legacy_ones_are_found_by_name_and_number(retrained):
    old, new = retrained
    assert zoo.resolve("pixelcnn-mnist").sha256 == new["sha256"]
    assert zoo.shipped_name(3) == "pixelcnn-mnist"
    assert zoo.find(3, "", bytes.fromhex(new["sha256"][:8])).name == "pixelcnn-mnist"
    assert zoo.find(3, "", bytes.fromhex(old["sha256"][:8])).name == "aaa-pixelcnn-mnist.v1"


def test_weights_that_no_entry_has_are_named_in_the_error(retrained):
    with pytest.raises(ModelError, match="pixelcnn-mnist with weights 00000000"):
        zoo.find(3, "", bytes(4))


def test_shipped_registry_has_one_current_entry_per_model_number():
    current = [m.code for m in zoo.shipped() if not m.legacy]
    assert sorted(current) == sorted(set(current))
    assert {m.code for m in zoo.shipped()} == set(current)
