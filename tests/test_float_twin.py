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


def test_text_training_can_start_from_the_shipped_model_with_its_own_weights():
    from arcodec.train.charrnn_text import init_model
    model, label = init_model("charrnn-text", 64)
    assert label == f"charrnn-text (weights {zoo.resolve('charrnn-text').sha256[:8]})"
    assert model.training and model.emb.weight.shape == (256, 64)
    back = charrnn_to_integer(model.double())
    lm = zoo.load(zoo.resolve("charrnn-text"))
    for k, t in lm.tensors.items():
        diff = (back[k].to(torch.int64) - t.to(torch.int64)).abs()
        if k == "x":    # the gate table, factored through a 64-wide embedding: rounding only
            assert diff.max() <= 1 and (diff == 0).float().mean() > 0.9
        else:
            assert diff.max() == 0, k
    with pytest.raises(SystemExit, match="not a charrnn"):
        init_model("made-mnist", 64)


def test_text_training_from_a_model_goes_on_with_its_step_count_and_records_it(tmp_path):
    from arcodec.train.charrnn_text import load_float, main
    text = tmp_path / "mine.txt"
    text.write_bytes(b"my own notes, to fine-tune the text model on. " * 100)
    main(["train", "--out", str(tmp_path / "run"), "--init", "charrnn-text", "--start-step", "100",
          "--files", str(text), "--minutes", "0.02",
          "--batch", "2", "--bptt", "16", "--threads", "1"])
    model, info = load_float(tmp_path / "run" / "last.safetensors")
    assert info["step"] > 100 and info["init"].startswith("charrnn-text (weights ")
    assert model.cfg.hidden == 384


def test_photo_training_names_a_folder_with_too_few_photos(tmp_path):
    from arcodec.train.pixelcnn import load_photos
    (tmp_path / "photos-train").mkdir()
    for i in range(3):
        Image.new("RGB", (40, 40)).save(tmp_path / "photos-train" / f"{i}.png")
    with pytest.raises(FileNotFoundError, match="3 photos in .*more than 8"):
        load_photos(str(tmp_path), "train")


def test_a_pixelcnn_run_records_its_settings_and_the_export_names_them(tmp_path, data_dir,
                                                                      monkeypatch):
    from arcodec.train import pixelcnn
    from arcodec.train.pixelcnn import load_ckpt, main
    from arcodec.train.pixelcnn_export import recipe_line
    monkeypatch.setattr(pixelcnn, "evaluate", lambda *a, **k: 0.0)   # minutes on 2,000 digits
    run = tmp_path / "run"
    main(["train", "--recipe", "mnist", "--data-dir", str(data_dir), "--out", str(run),
          "--steps", "2", "--ckpt", "2", "--lr", "5e-4", "--qat", "0.5", "--z-one", "64",
          "--g-max", "255", "--threads", "1"])
    trained, step, info = load_ckpt(run / "last.safetensors")
    assert (trained.cfg.z_one, trained.cfg.g_max, trained.cfg.s_one) == (64, 255, 32)
    assert step == 2 and info["settings"] == {"lr": 5e-4, "qat": 0.5, "batch": 32, "z_one": 64,
                                              "g_max": 255, "s_one": 32, "seed": 0, "steps": 2}
    assert load_ckpt(run / "float.safetensors")[2]["settings"] == info["settings"]  # pre-QAT
    line = recipe_line("mnist", step, info)
    assert ("--recipe mnist --lr 0.0005 --qat 0.5 --batch 32 --z-one 64 --g-max 255 --s-one 32 "
            "--seed 0 --steps 2") in line
    model, _, _ = load_ckpt(run / "last.safetensors")       # as if stopped at step 2 of 4
    pixelcnn.save_ckpt(model, None, 2, {**info, "total_steps": 4}, run / "last.safetensors")
    main(["train", "--recipe", "mnist", "--data-dir", str(data_dir), "--out", str(run),
          "--steps", "9", "--lr", "1e-3", "--resume", "--threads", "1"])
    step, info2 = load_ckpt(run / "last.safetensors")[1:]
    assert step == 4 and info2["settings"] == info["settings"]   # the run's own, not --lr 1e-3
