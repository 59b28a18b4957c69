"""The arcodec command line, driven as a user would, on real MNIST test digits."""
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from arcodec import container, info
from arcodec.api import MIX_BITS
from arcodec.codecs.context_mix import LATEST
from arcodec.cli import main

from .conftest import save_1bit_png


def _run(*args, input=None):
    return CliRunner().invoke(main, list(args), input=input)


def _pixels(p: Path) -> np.ndarray:
    return np.asarray(Image.open(p))


def test_help_lists_the_commands():
    r = _run("--help")
    assert r.exit_code == 0
    for cmd in ("compress", "decompress", "info", "models"):
        assert cmd in r.output


def test_hundred_digits_round_trip_with_compact_files(tmp_path, test_digits):
    files = [save_1bit_png(test_digits[i], tmp_path / f"d{i}.png") for i in range(100)]
    originals = [_pixels(f) for f in files]
    r = _run("compress", *map(str, files))
    assert r.exit_code == 0, r.output
    for f in files:
        arc = Path(f"{f}.arc").read_bytes()
        _, payload, hlen = container.unpack(arc)
        assert hlen <= 16
        f.unlink()
    r = _run("decompress", *[f"{f}.arc" for f in files])
    assert r.exit_code == 0, r.output
    for f, orig in zip(files, originals):
        assert Image.open(f).mode == "1"
        assert np.array_equal(_pixels(f), orig)


def test_gray_0_255_image_comes_back_as_gray(tmp_path, test_digits):
    src = tmp_path / "g.png"
    Image.fromarray((test_digits[5] * 255).astype(np.uint8), mode="L").save(src)
    assert _run("compress", str(src), "-o", str(tmp_path / "g.arc")).exit_code == 0
    r = _run("decompress", str(tmp_path / "g.arc"), "-o", str(tmp_path / "out.png"))
    assert r.exit_code == 0, r.output
    out = Image.open(tmp_path / "out.png")
    assert out.mode == "L" and np.array_equal(np.asarray(out), np.asarray(Image.open(src)))


def test_verbose_reports_bits_per_dim_nll_and_overhead(tmp_path, test_digits):
    src = save_1bit_png(test_digits[0], tmp_path / "a.png")
    r = _run("compress", "-v", str(src))
    assert r.exit_code == 0
    assert "bits/dim" in r.output and "NLL" in r.output and "overhead" in r.output


def test_existing_output_is_not_overwritten_without_force(tmp_path, test_digits):
    src = save_1bit_png(test_digits[0], tmp_path / "a.png")
    (tmp_path / "a.png.arc").write_bytes(b"keep me")
    r = _run("compress", str(src))
    assert r.exit_code != 0 and "already exists" in r.output
    assert (tmp_path / "a.png.arc").read_bytes() == b"keep me"
    assert _run("compress", "-f", str(src)).exit_code == 0
    assert (tmp_path / "a.png.arc").read_bytes() != b"keep me"


def test_stdin_to_stdout_round_trip(test_digits, tmp_path):
    src = save_1bit_png(test_digits[9], tmp_path / "s.png")
    r = CliRunner().invoke(main, ["compress", "-"], input=src.read_bytes())
    assert r.exit_code == 0
    arc = r.stdout_bytes
    r2 = CliRunner().invoke(main, ["decompress", "-"], input=arc)
    assert r2.exit_code == 0
    out = tmp_path / "o.png"
    out.write_bytes(r2.stdout_bytes)
    assert np.array_equal(_pixels(out), _pixels(src))


def test_info_names_model_shape_and_sizes(tmp_path, test_digits):
    src = save_1bit_png(test_digits[0], tmp_path / "a.png")
    _run("compress", str(src))
    r = _run("info", f"{src}.arc")
    assert r.exit_code == 0 and "made-mnist" in r.output and "28x28" in r.output


def test_info_gives_bits_per_byte_of_a_byte_file_and_width_x_height_of_an_image(tmp_path):
    txt = tmp_path / "t.txt"
    txt.write_bytes(b"the quick brown fox jumps over the lazy dog\n" * 8)
    _run("compress", "--model", "charrnn-text", str(txt))
    arc = tmp_path / "t.txt.arc"
    d = info(arc.read_bytes())
    assert d["unit"] == "byte" and d["symbols"] == 352
    assert d["bits_per_dim"] == 8 * arc.stat().st_size / 352      # not over n x streams x options
    r = _run("info", str(arc))
    assert "352 bytes in 1 stream," in r.output and "bits/byte" in r.output
    png = tmp_path / "wide.png"
    Image.fromarray(np.full((6, 10, 3), 90, np.uint8)).save(png)
    _run("compress", str(png))
    r = _run("info", f"{png}.arc")
    assert r.exit_code == 0 and "10x6 pixels" in r.output and "bits/pixel" in r.output


def test_models_lists_made_mnist():
    r = _run("models")
    assert r.exit_code == 0 and "made-mnist" in r.output and "bits/dim" in r.output
    assert "held-out bytes" in r.output and "on MNIST t10k" in r.output   # where measured


def _bad_file_case(tmp_path, name, data):
    p = tmp_path / name
    p.write_bytes(data)
    before = set(tmp_path.iterdir())
    r = _run("decompress", str(p))
    assert r.exit_code != 0
    lines = [l for l in r.output.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("arcodec: ")
    assert "Traceback" not in r.output
    assert set(tmp_path.iterdir()) == before          # no output, no temp file left
    return lines[0]


@pytest.fixture
def good_arc(tmp_path, test_digits):
    src = save_1bit_png(test_digits[3], tmp_path / "x.png")
    _run("compress", str(src))
    data = Path(f"{src}.arc").read_bytes()
    Path(f"{src}.arc").unlink()
    src.unlink()
    return data


def test_empty_file_gives_one_line_error(tmp_path):
    assert "empty" in _bad_file_case(tmp_path, "e.arc", b"")


def test_random_bytes_give_one_line_error(tmp_path):
    rng = np.random.default_rng(0)
    assert "not an .arc" in _bad_file_case(tmp_path, "r.arc", rng.bytes(300))


def test_truncated_file_gives_one_line_error(tmp_path, good_arc):
    for n in (3, 10, len(good_arc) - 1):
        assert "truncated" in _bad_file_case(tmp_path, f"t{n}.arc", good_arc[:n])


def test_corrupted_payload_is_detected(tmp_path, good_arc):
    bad = bytearray(good_arc)
    bad[-2] ^= 0x5A
    msg = _bad_file_case(tmp_path, "c.arc", bytes(bad))
    assert "corrupt" in msg or "checksum" in msg


def test_wrong_weights_hash_names_the_model_needed(tmp_path, good_arc):
    bad = bytearray(good_arc)
    bad[4:8] = b"\x00\x11\x22\x33"
    msg = _bad_file_case(tmp_path, "w.arc", bytes(bad))
    assert "made-mnist" in msg and "00112233" in msg


def test_unknown_model_names_what_is_needed(tmp_path, good_arc):
    bad = bytearray(good_arc)
    bad[3] = 200
    assert "not installed" in _bad_file_case(tmp_path, "u.arc", bytes(bad))


def test_image_the_chosen_model_cannot_code_says_what_the_model_accepts(tmp_path):
    p = tmp_path / "rgb.png"
    Image.new("RGB", (32, 32), (10, 200, 30)).save(p)
    r = _run("compress", "--model", "made-mnist", str(p))
    assert r.exit_code != 0 and "28x28 bilevel" in r.output
    assert len(r.output.strip().splitlines()) == 1
    assert not (tmp_path / "rgb.png.arc").exists()


def test_missing_input_file_gives_one_line_error(tmp_path):
    r = _run("compress", str(tmp_path / "nope.png"))
    assert r.exit_code != 0 and "no such file" in r.output


@pytest.mark.parametrize("enc_threads,dec_threads", [(1, 2), (2, 1)])
def test_file_written_with_one_thread_count_decodes_with_another(tmp_path, test_digits,
                                                                 enc_threads, dec_threads):
    import os
    import subprocess
    import sys
    src = save_1bit_png(test_digits[42], tmp_path / "t.png")
    exe = [sys.executable, "-m", "arcodec.cli"]

    def run(threads, *args):
        env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
        subprocess.run(exe + list(args), env=env, check=True, capture_output=True)

    run(enc_threads, "compress", str(src), "-o", str(tmp_path / "t.arc"))
    run(dec_threads, "decompress", str(tmp_path / "t.arc"), "-o", str(tmp_path / "back.png"))
    assert np.array_equal(_pixels(tmp_path / "back.png"), _pixels(src))


def test_output_files_get_the_usual_permissions(tmp_path, test_digits):
    import os
    src = save_1bit_png(test_digits[0], tmp_path / "p.png")
    assert _run("compress", str(src)).exit_code == 0
    mask = os.umask(0o022)
    os.umask(mask)
    assert (tmp_path / "p.png.arc").stat().st_mode & 0o777 == 0o666 & ~mask


def test_text_file_round_trips_with_the_default_model(tmp_path, data_dir):
    src = tmp_path / "fields.c"
    src.write_bytes((data_dir / "text/cantrbry/fields.c").read_bytes())
    src.chmod(0o600)
    r = _run("compress", "-v", str(src))
    assert r.exit_code == 0, r.output
    assert "charrnn-text" in r.output
    original = src.read_bytes()
    src.unlink()
    assert _run("decompress", f"{src}.arc").exit_code == 0
    assert src.read_bytes() == original
    assert src.stat().st_mode & 0o777 == 0o600


def test_non_png_image_is_coded_as_bytes(tmp_path):
    src = tmp_path / "photo.jpg"
    Image.new("RGB", (16, 16), (200, 10, 10)).save(src, format="JPEG")
    assert _run("compress", str(src)).exit_code == 0
    original = src.read_bytes()
    src.unlink()
    assert _run("decompress", f"{src}.arc").exit_code == 0
    assert src.read_bytes() == original


@pytest.mark.slow
@pytest.mark.parametrize("name", ["alice29.txt", "asyoulik.txt", "cp.html", "fields.c",
                                  "grammar.lsp", "kennedy.xls", "lcet10.txt", "plrabn12.txt",
                                  "ptt5", "sum", "xargs.1", "../large/bible.txt",
                                  "../large/world192.txt"])
def test_corpus_file_round_trips_through_the_cli(tmp_path, data_dir, name):
    src = tmp_path / Path(name).name
    src.write_bytes((data_dir / "text/cantrbry" / name).read_bytes())
    assert _run("compress", str(src)).exit_code == 0
    original = src.read_bytes()
    src.unlink()
    assert _run("decompress", f"{src}.arc").exit_code == 0
    assert src.read_bytes() == original


def test_image_the_model_cannot_predict_is_stored_not_expanded(tmp_path):
    rng = np.random.default_rng(1)
    src = save_1bit_png(rng.integers(0, 2, (28, 28)), tmp_path / "noise.png")
    r = _run("compress", "-v", str(src))
    assert r.exit_code == 0 and "stored" in r.output
    assert Path(f"{src}.arc").stat().st_size <= src.stat().st_size + 24
    original = src.read_bytes()
    src.unlink()
    assert _run("decompress", f"{src}.arc").exit_code == 0
    assert src.read_bytes() == original


def test_users_can_train_a_byte_model_and_code_with_it(tmp_path, data_dir):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_bytes((data_dir / "text/cantrbry/asyoulik.txt").read_bytes()[:60000])
    out = tmp_path / "mine.safetensors"
    r = _run("train", str(corpus), "--out", str(out), "--minutes", "0.15",
             "--qat-minutes", "0.02", "--hidden", "32")
    assert r.exit_code == 0, r.output
    src = tmp_path / "note.txt"
    src.write_bytes((data_dir / "text/cantrbry/asyoulik.txt").read_bytes()[60000:64000])
    r = _run("compress", "-v", "--model", str(out), str(src))
    assert r.exit_code == 0 and "model mine" in r.output, r.output
    original = src.read_bytes()
    src.unlink()
    r = _run("decompress", f"{src}.arc")
    assert r.exit_code != 0 and "mine" in r.output        # the file names its model
    assert _run("decompress", "--model", str(out), f"{src}.arc").exit_code == 0
    assert src.read_bytes() == original


def test_no_mix_writes_a_model_alone_file_that_round_trips(tmp_path):
    src = tmp_path / "notes.txt"
    src.write_bytes(b"arcodec codes text with a byte model; --no-mix skips context mixing.\n" * 3)
    mixed = tmp_path / "mixed.arc"
    plain = tmp_path / "plain.arc"
    assert _run("compress", str(src), "-o", str(mixed)).exit_code == 0
    assert _run("compress", "--no-mix", str(src), "-o", str(plain)).exit_code == 0
    assert info(mixed.read_bytes())["shape"][2:] == [MIX_BITS[LATEST]]
    assert info(plain.read_bytes())["shape"][2:] == []
    src.rename(tmp_path / "orig.txt")
    for arc in (mixed, plain):
        r = _run("decompress", "-f", str(arc), "-o", str(src))
        assert r.exit_code == 0, r.output
        assert src.read_bytes() == (tmp_path / "orig.txt").read_bytes()


@pytest.mark.parametrize("where", ["missing folder", "a folder", "a folder, forced"])
def test_an_output_that_cannot_be_written_gives_one_line_error_before_coding(tmp_path, where):
    src = tmp_path / "a.txt"
    src.write_bytes(b"hello, world\n")
    (tmp_path / "d").mkdir()
    dst, force = {"missing folder": (tmp_path / "no" / "a.arc", []),
                  "a folder": (tmp_path / "d", []),
                  "a folder, forced": (tmp_path / "d", ["-f"])}[where]
    before = set(tmp_path.rglob("*"))
    r = _run("compress", *force, "-o", str(dst), str(src))
    assert r.exit_code == 1 and "Traceback" not in r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("arcodec: ")
    assert ("no such directory" if where == "missing folder" else "is a directory") in lines[0]
    assert set(tmp_path.rglob("*")) == before          # nothing written, no temp file left


def test_a_failed_write_leaves_no_temp_file_and_gives_one_line_error(tmp_path, monkeypatch):
    """A full disk (ENOSPC) while writing: the one-line error, the folder as it was."""
    import errno
    import os
    src = tmp_path / "a.txt"
    src.write_bytes(b"hello, world\n")
    real_fdopen = os.fdopen

    class Full:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(os, "fdopen", lambda fd, mode: Full(real_fdopen(fd, mode)))
    r = _run("compress", str(src))
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert "cannot write (No space left on device)" in r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


@pytest.mark.parametrize("where", ["an existing file", "a folder", "a missing folder"])
def test_train_refuses_an_output_it_cannot_write_before_training(tmp_path, where):
    src = tmp_path / "a.txt"
    src.write_bytes(b"some training text\n" * 2000)
    (tmp_path / "old.safetensors").write_bytes(b"keep me")
    (tmp_path / "d").mkdir()
    out = {"an existing file": tmp_path / "old.safetensors", "a folder": tmp_path / "d",
           "a missing folder": tmp_path / "no" / "m.safetensors"}[where]
    before = set(tmp_path.rglob("*"))
    r = _run("train", "--out", str(out), "--minutes", "0.01", str(src))
    assert r.exit_code == 1 and "Traceback" not in r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("arcodec: ")
    assert {"an existing file": "use -f", "a folder": "is a directory",
            "a missing folder": "no such directory"}[where] in lines[0]
    assert set(tmp_path.rglob("*")) == before           # no checkpoints, nothing replaced
    assert (tmp_path / "old.safetensors").read_bytes() == b"keep me"


def test_train_with_too_little_data_says_so_and_leaves_no_checkpoint_folder(tmp_path):
    src = tmp_path / "a.txt"
    src.write_bytes(b"hi\n")
    r = _run("train", "--out", str(tmp_path / "m.safetensors"), "--minutes", "0.01", str(src))
    assert r.exit_code == 1 and "too little training data" in r.output
    assert len(r.output.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_verbose_never_shows_an_nll_for_a_fallback_that_has_none(tmp_path):
    """A 16-bit PNG: xz of its samples (no model, no NLL) lost to storing the file."""
    p = tmp_path / "g16.png"
    Image.fromarray((np.arange(400).reshape(20, 20) * 100).astype(np.uint16)).save(p)
    r = _run("compress", "-v", str(p))
    assert r.exit_code == 0
    assert "model stored" in r.output and "fallback (xz) larger: not used" in r.output
    assert "NLL 0.0000" not in r.output


def test_verbose_overhead_of_an_rgba_png_is_the_model_part_only(tmp_path, data_dir):
    """The alpha plane goes to xz outside the model's NLL; the overhead must not count it."""
    rgb = np.asarray(Image.open(data_dir / "kodak" / "kodim05.png").convert("RGB"))[:24, :20]
    alpha = np.random.default_rng(0).integers(0, 255, (24, 20), dtype=np.uint8)  # no pattern
    p = tmp_path / "rgba.png"
    Image.fromarray(np.dstack([rgb, alpha])).save(p)
    r = _run("compress", "-v", str(p))
    assert r.exit_code == 0 and "model pixelcnn-photo" in r.output
    over = float(r.output.split("overhead ")[1].split("%")[0])
    assert abs(over) < 1.0, r.output
    assert "payload bytes by xz, no model: alpha" in r.output


def test_verbose_on_a_file_written_without_a_model_shows_no_nll_or_overhead(tmp_path, data_dir):
    """A palette PNG goes to the xz fallback whole: there is no NLL to compare with."""
    p = tmp_path / "pal.png"
    rgb = np.asarray(Image.open(data_dir / "kodak" / "kodim05.png").convert("RGB"))[:64, :64]
    Image.fromarray(rgb).quantize(16).save(p, compress_level=0)
    r = _run("compress", "-v", str(p))
    assert r.exit_code == 0 and "model fallback (xz)" in r.output, r.output
    assert "no model, no NLL" in r.output
    assert "overhead" not in r.output and "NLL 0.0000" not in r.output
