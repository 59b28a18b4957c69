"""Model registry: retrained shipped models keep decoding the files of their older weights."""
import io
from pathlib import Path

import numpy as np
import pytest
import torch
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


def _export(folder: Path, value: int) -> str | None:
    """Export a tiny stand-in model as shipped model ``demo`` (number 9) into ``folder``."""
    from arcodec.weights import save_weights
    meta = {"name": "demo", "domain": "test", "test_bits_per_dim": f"{value}.0"}
    return save_weights(folder / "demo.safetensors", "made", {"n": 1},
                        {"w": torch.full((2,), value, dtype=torch.int32)}, meta, register_code=9)


def test_exporting_over_a_shipped_model_keeps_its_old_weights_as_a_legacy_entry(tmp_path):
    import json
    from arcodec.weights import file_sha256, load_weights
    assert _export(tmp_path, 1) is None
    first = json.loads((tmp_path / "registry.json").read_text())["demo"]
    assert _export(tmp_path, 2) == "demo.v1"
    assert _export(tmp_path, 2) is None             # the same weights again: nothing to keep
    assert _export(tmp_path, 3) == "demo.v2"
    reg = json.loads((tmp_path / "registry.json").read_text())
    assert sorted(reg) == ["demo", "demo.v1", "demo.v2"]
    assert reg["demo.v1"] == dict(first, file="demo.v1.safetensors", legacy=True)
    assert reg["demo.v1"]["sha256"] == file_sha256(tmp_path / "demo.v1.safetensors")
    assert reg["demo.v2"]["bits_per_dim"] == "2.0" and reg["demo.v2"]["legacy"]
    assert reg["demo"]["sha256"] == file_sha256(tmp_path / "demo.safetensors")
    assert reg["demo"]["code"] == 9 and "legacy" not in reg["demo"]
    assert load_weights(tmp_path / "demo.v1.safetensors")[1]["w"].tolist() == [1, 1]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "demo.safetensors", "demo.v1.safetensors", "demo.v2.safetensors", "registry.json"]


def test_a_weight_file_depends_only_on_its_tensors_and_metadata(tmp_path):
    """safetensors writes its metadata in no fixed order; arcodec sorts it, so exporting the same
    weights twice gives the same bytes, hence the same weights hash in the .arc files."""
    from arcodec.weights import load_weights, save_weights
    meta = {k: str(i) for i, k in enumerate("abcdefghijklmnop")}
    t = {"b": torch.arange(6, dtype=torch.int16).reshape(2, 3), "a": torch.ones(3)}
    files = []
    for i in range(4):
        save_weights(tmp_path / f"{i}.safetensors", "made", {"z": 1, "y": [2]}, t, meta)
        files.append((tmp_path / f"{i}.safetensors").read_bytes())
    assert len(set(files)) == 1
    got_meta, got = load_weights(tmp_path / "0.safetensors")
    assert {k: got_meta[k] for k in meta} == meta
    assert all(torch.equal(got[k], t[k]) for k in t)
