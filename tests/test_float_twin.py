"""The float model of the shipped weights (for the float-vs-integer NLL gap): each model's
``to_float`` inverts its ``to_integer`` exactly, and the float NLL computed in pieces (image
bands, text windows and streams) equals the NLL computed whole."""
import numpy as np
import pytest
import torch
from PIL import Image

from arcodec import zoo
from arcodec.codecs import bytes_stream
from arcodec.models import build_float_model
from arcodec.models.charrnn import to_integer as charrnn_to_integer
from arcodec.models.made import to_integer as made_to_integer
from arcodec.models.pixelcnn_int import to_integer as pixelcnn_to_integer
from arcodec.train.data import binarize, mnist
from benchmarks import nll_gap

TO_INTEGER = {"made": made_to_integer, "charrnn": charrnn_to_integer,
              "pixelcnn": pixelcnn_to_integer}


@pytest.mark.parametrize("name", [m.name for m in zoo.shipped()])
def test_the_float_twin_of_a_shipped_model_converts_back_to_its_integers(name):
    lm = zoo.load(zoo.resolve(name))
    back = TO_INTEGER[lm.arch](build_float_model(lm.arch, lm.config, lm.tensors))
    assert set(back) == set(lm.tensors)
    for k, t in lm.tensors.items():
        assert torch.equal(back[k].to(t.dtype), t), k


def test_the_float_model_of_the_digit_models_is_close_to_the_integer_model(session, data_dir):
    """Wrong units anywhere in a conversion would move the float NLL far off; the integer
    model's arithmetic costs at most a few percent."""
    x = mnist("t10k", data_dir)[:40]
    fm, im = nll_gap.float_model(session, "pixelcnn-mnist")
    from arcodec.train.pixelcnn_export import int_nll_bits_per_dim
    fl = nll_gap.digits8_float_bits(fm, x) / x.size
    it = int_nll_bits_per_dim(im, torch.from_numpy(x[:, None].copy()))
    assert 0.9 < fl < 1.4 and abs(it / fl - 1) < 0.03
    b = binarize(x)
    fm, im = nll_gap.float_model(session, "made-mnist")
    fl, it = nll_gap.made_float_bits(fm, b), nll_gap.made_int_bits(im, b)
    assert 60 * len(b) < fl < 140 * len(b) and abs(it / fl - 1) < 0.03


def test_the_banded_float_nll_of_a_photo_equals_the_whole_image_nll(session, data_dir):
    x = np.asarray(Image.open(data_dir / "kodak/kodim04.png").convert("RGB"))[100:164, 200:296]
    fm, _ = nll_gap.float_model(session, "pixelcnn-photo")
    whole = nll_gap.pixelcnn_float_bits(fm, x, band=1000)
    banded = nll_gap.pixelcnn_float_bits(fm, x, band=8)
    assert banded == pytest.approx(whole, rel=1e-6)
    assert 2.0 < whole / x.size < 7.0


def test_the_float_text_nll_is_the_sum_over_the_coders_streams(session, data_dir):
    data = (data_dir / "text/cantrbry/grammar.lsp").read_bytes()[:1001]
    fm, im = nll_gap.float_model(session, "charrnn-text")
    starts, _, _ = bytes_stream.layout(len(data), 3)
    ends = list(starts[1:]) + [len(data)]
    parts = sum(nll_gap.charrnn_float_bits(fm, data[a:b], 1, window=10_000)
                for a, b in zip(starts, ends))
    assert nll_gap.charrnn_float_bits(fm, data, 3, window=7) == pytest.approx(parts, rel=1e-6)
    assert parts / bytes_stream.encode(im, data, 3)[1] == pytest.approx(1, abs=0.02)


def test_training_can_start_from_a_shipped_model_of_the_recipes_architecture():
    from arcodec.models.pixelcnn import PixelCNNConfig
    from arcodec.train.pixelcnn import RECIPES, init_model
    model, label = init_model("pixelcnn-mnist", PixelCNNConfig(**RECIPES["mnist"]["cfg"]))
    assert label == f"pixelcnn-mnist (weights {zoo.resolve('pixelcnn-mnist').sha256[:8]})"
    assert model.training and next(model.parameters()).dtype == torch.float32
    lm = zoo.load(zoo.resolve("pixelcnn-mnist"))
    assert torch.equal(pixelcnn_to_integer(model.double())["head2.w"], lm.tensors["head2.w"])
    with pytest.raises(SystemExit, match="not this recipe's"):
        init_model("pixelcnn-mnist", PixelCNNConfig(**RECIPES["photo"]["cfg"]))


def test_photo_training_names_a_folder_with_too_few_photos(tmp_path):
    from arcodec.train.pixelcnn import load_photos
    (tmp_path / "photos-train").mkdir()
    for i in range(3):
        Image.new("RGB", (40, 40)).save(tmp_path / "photos-train" / f"{i}.png")
    with pytest.raises(FileNotFoundError, match="3 photos in .*more than 8"):
        load_photos(str(tmp_path), "train")
