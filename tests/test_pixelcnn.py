"""Gated PixelCNN: causality, exact and order-independent conditionals, pixel-exact round trips."""
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

import arcodec
from arcodec import zoo
from arcodec.codecs import pixel_image
from arcodec.models.pixelcnn import PixelCNN, PixelCNNConfig
from arcodec.models.pixelcnn_int import IntPixelCNN


def _kodak_crop(data_dir, h=24, w=40, name="kodim23.png", y=200, x=300) -> np.ndarray:
    a = np.asarray(Image.open(data_dir / "kodak" / name).convert("RGB"))
    return np.ascontiguousarray(a[y:y + h, x:x + w])


@pytest.fixture(scope="module")
def photo(session):
    return session.model(zoo.resolve("pixelcnn-photo"))[1]


@pytest.fixture(scope="module")
def gray(session):
    return session.model(zoo.resolve("pixelcnn-mnist"))[1]


# --- causality -----------------------------------------------------------------------------

def _order(c: int, y: int, x: int, w: int, channels: int) -> int:
    return (y * w + x) * channels + c


@pytest.mark.parametrize("channels", [1, 3])
def test_no_conditional_depends_on_its_own_or_a_later_subpixel(channels):
    """Gradient of the logits of every sub-pixel w.r.t. every input sub-pixel: zero for the
    sub-pixel itself and all later ones (raster order, R -> G -> B), non-zero for neighbours
    above-right (the blind spot of the original PixelCNN) and for earlier channels."""
    torch.manual_seed(1)
    m = PixelCNN(PixelCNNConfig(channels=channels, hidden=6 * channels, layers=4)).double()
    h, w = 7, 8
    p = torch.rand(1, channels, h, w, dtype=torch.float64) * 255
    p.requires_grad_(True)
    logits = m(p)                                           # (1, C, 256, H, W)
    for y, x in [(3, 3), (4, 0), (6, 7), (0, 5)]:
        for c in range(channels):
            g, = torch.autograd.grad(logits[0, c, :, y, x].sum(), p, retain_graph=True)
            g = g[0].abs()                                  # (C, H, W)
            for cc in range(channels):
                for yy in range(h):
                    for xx in range(w):
                        later = _order(cc, yy, xx, w, channels) >= _order(c, y, x, w, channels)
                        if later:
                            assert g[cc, yy, xx] == 0, (c, y, x, "sees", cc, yy, xx)
            if y >= 2 and x + 2 < w:
                assert g[:, y - 1, x + 2].sum() > 0 and g[:, y - 2, x + 2].sum() > 0  # no blind spot
            if x >= 1:
                assert g[:, y, x - 1].sum() > 0
            for cc in range(c):
                assert g[cc, y, x] > 0                      # G sees R, B sees R and G


def test_integer_conditionals_ignore_later_subpixels(photo, data_dir):
    """Changing any later sub-pixel leaves the integer tables of earlier ones unchanged."""
    img = _kodak_crop(data_dir, 9, 11)
    x = torch.from_numpy(img).permute(2, 0, 1)[None].contiguous()
    base = photo.forward_freqs(x)[0]                        # (C, H, W, 256)
    rng = np.random.default_rng(0)
    for _ in range(6):
        c, y, xx = int(rng.integers(3)), int(rng.integers(9)), int(rng.integers(11))
        x2 = x.clone()
        x2[0, c, y, xx] = 255 - x2[0, c, y, xx]
        f2 = photo.forward_freqs(x2)[0]
        for cc in range(3):
            for yy in range(9):
                for x3 in range(11):
                    if _order(cc, yy, x3, 11, 3) <= _order(c, y, xx, 11, 3):
                        assert torch.equal(base[cc, yy, x3], f2[cc, yy, x3])


# --- exactness -----------------------------------------------------------------------------

def _trace(model, img, batch_rows=None) -> dict:
    got = {}

    def code(c, rows, xs, f):
        for r, xx, row in zip(rows.tolist(), xs.tolist(), f):
            got[(c, r, xx)] = row.clone()
        return torch.from_numpy(img[rows.numpy(), xs.numpy(), c].astype(np.int64))

    pixel_image.Wavefront(model, img.shape[0], img.shape[1]).run(code, batch_rows)
    return got


@pytest.mark.parametrize("which", ["photo", "gray"])
def test_teacher_forced_tables_equal_incremental_wavefront_tables(which, request, data_dir):
    model = request.getfixturevalue(which)
    img = _kodak_crop(data_dir, 10, 13)
    if which == "gray":
        img = img[:, :, :1].copy()
    full = model.forward_freqs(torch.from_numpy(img).permute(2, 0, 1)[None].contiguous())[0]
    got = _trace(model, img)
    assert len(got) == img.size
    for (c, y, x), row in got.items():
        assert torch.equal(full[c, y, x], row), (c, y, x)


@pytest.mark.parametrize("field,value,coarse,channels", [
    ("z_one", 128, 32, 1),          # gate pre-activations' step
    ("g_max", 255, 127, 3),         # gate outputs' step
    ("s_one", 64, 32, 3),           # skip sum and head hidden layer's step
])
def test_a_finer_grid_reaches_every_form_of_the_model(field, value, coarse, channels, data_dir):
    """The grid fields of the config (``z_one``, ``g_max``, ``s_one``; the first shipped
    models have 32, 127, 32) are honoured by the QAT grid, the integer conversion (both ways),
    the teacher-forced tables and the wavefront coder: a model on the finer grid gives the same
    tables both ways, its integer tables track its own QAT grid's tables, far closer than the
    same float network's tables on the coarser grid, and its integers differ from those the
    coarser grid would give."""
    from dataclasses import replace

    from arcodec.exact.tables import logits_to_freqs
    from arcodec.models.pixelcnn_int import to_float, to_integer
    torch.manual_seed(0)
    cfg = PixelCNNConfig(channels=channels, hidden=4 * channels, layers=3, first_r=2,
                         **{field: value})
    fm = PixelCNN(cfg).double().eval()
    with torch.no_grad():
        for p in fm.parameters():
            p.mul_(3.0)                         # spread the pre-activations over the tables
    img = _kodak_crop(data_dir, 9, 11)[:, :, :channels].copy()
    x = torch.from_numpy(img).permute(2, 0, 1)[None].contiguous()
    t = to_integer(fm)
    back = to_integer(to_float(cfg, t))
    assert all(torch.equal(back[k], t[k]) for k in t)
    im = IntPixelCNN(cfg, t)
    full = im.forward_freqs(x)[0]
    for (c, y, xx), row in _trace(im, img).items():
        assert torch.equal(full[c, y, xx], row), (c, y, xx)

    cm = PixelCNN(replace(cfg, **{field: coarse})).double().eval()  # same network, coarse grid
    cm.load_state_dict(fm.state_dict())
    assert any(not torch.equal(v, t[k]) for k, v in to_integer(cm).items())

    def kl(m) -> float:                     # mean KL(QAT tables of m || integer tables), bits
        with torch.no_grad():               # the QAT grid's tables (logits in 1/64 nat)
            q = logits_to_freqs(torch.round(m(x.double(), quant=True)[0].movedim(1, -1) * 64)
                                .long()).double()
        return float((q / 65536 * (torch.log2(q) - torch.log2(full.double()))).sum(-1).mean())
    own, other = kl(fm), kl(cm)
    # seed 0: own 0.8e-6 / 1.8e-6 / 1.3e-5, other 2.4e-3 / 6.3e-4 / 2.9e-4 bits
    assert own < 1e-4 and other > 10 * own, (own, other)


def test_rows_per_batch_do_not_change_the_tables_or_the_file(photo, data_dir):
    img = _kodak_crop(data_dir, 12, 9)
    a = _trace(photo, img)
    b = _trace(photo, img, batch_rows=2)
    assert all(torch.equal(a[k], b[k]) for k in a)
    p1, _ = pixel_image.encode(photo, img)
    p2, _ = pixel_image.encode(photo, img, batch_rows=1)
    assert p1 == p2
    assert np.array_equal(pixel_image.decode(photo, p1, 12, 9, batch_rows=3), img)


def test_float32_and_float64_products_give_the_same_file(session, data_dir):
    info = zoo.resolve("pixelcnn-photo")
    lm = session.model(info)[0]
    img = _kodak_crop(data_dir, 8, 10)
    m32 = IntPixelCNN(PixelCNNConfig(**lm.config), lm.tensors, dtype=torch.float32)
    m64 = IntPixelCNN(PixelCNNConfig(**lm.config), lm.tensors, dtype=torch.float64)
    assert pixel_image.encode(m32, img)[0] == pixel_image.encode(m64, img)[0]


_ENCODE = """
import sys, numpy as np, torch, arcodec
torch.set_num_threads(int(sys.argv[1]))
img = np.load(sys.argv[2])
sys.stdout.buffer.write(arcodec.compress_image(img, "pixelcnn-photo").data)
"""


def test_thread_count_does_not_change_the_file(tmp_path, data_dir):
    img = _kodak_crop(data_dir, 16, 20)
    np.save(tmp_path / "img.npy", img)
    outs = []
    for threads in ("1", "2"):
        env = {**os.environ, "OMP_NUM_THREADS": threads}
        outs.append(subprocess.run([sys.executable, "-c", _ENCODE, threads,
                                    str(tmp_path / "img.npy")], env=env, check=True,
                                   capture_output=True).stdout)
    assert outs[0] == outs[1]
    assert np.array_equal(arcodec.decompress_image(outs[0]), img)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_and_cpu_give_the_same_file(data_dir):
    img = _kodak_crop(data_dir, 16, 20)
    a = arcodec.compress_image(img, "pixelcnn-photo", arcodec.Session("cpu")).data
    b = arcodec.compress_image(img, "pixelcnn-photo", arcodec.Session("cuda")).data
    assert a == b
    assert np.array_equal(arcodec.decompress_image(b, session=arcodec.Session("cpu")), img)


def test_integer_nll_stays_close_to_the_float_nll_recorded_at_export():
    from arcodec.zoo import load_meta
    for name in ("pixelcnn-photo", "pixelcnn-mnist"):
        meta = load_meta(zoo.resolve(name))
        f, q, i = (float(meta[k]) for k in ("test_bits_float", "test_bits_qat", "test_bits_int"))
        # the integer tables floor every frequency at 2^-16, which caps the cost of confident
        # misses that QAT's float softmax charges in full: the integer model may be better
        assert i <= q * 1.01, name                # integer model no worse than its QAT twin
        assert (i - f) / f < 0.05, name           # quantisation costs little over float


# --- round trips ----------------------------------------------------------------------------

def test_photo_crop_round_trips_with_payload_near_the_integer_nll(data_dir, session):
    img = _kodak_crop(data_dir, 32, 48, "kodim05.png", 100, 100)
    r = arcodec.compress_image(img, session=session)
    assert r.model == "pixelcnn-photo"
    assert 8 * r.payload_bytes <= r.nll_bits * 1.001 + 64
    assert np.array_equal(arcodec.decompress_image(r.data, session=session), img)


def test_mnist_8bit_digits_round_trip_with_the_gray_model(data_dir, session):
    from arcodec.train.data import mnist
    digits = mnist("t10k", data_dir)[:3]
    for d in digits:
        r = arcodec.compress_image(d, session=session)
        assert r.model == "pixelcnn-mnist"
        assert np.array_equal(arcodec.decompress_image(r.data, session=session), d)


_BIG = r"""
import sys, numpy as np
from PIL import Image
import arcodec
a = np.asarray(Image.open(sys.argv[1]).convert("RGB"))
n = int(sys.argv[2])
img = np.pad(a, ((0, n - a.shape[0]), (0, n - a.shape[1]), (0, 0)), mode="symmetric")
arc = arcodec.compress_image(img, "pixelcnn-photo").data
ok = bool(np.array_equal(arcodec.decompress_image(arc), img))
print(ok, len(arc), int(peak_rss_mb()))
"""


@pytest.mark.slow
def test_a_4096_square_rgb_image_round_trips_within_4_gb(data_dir):
    """Peak memory does not grow with the image area: 4096 x 4096 RGB (kodim01 mirrored)."""
    from benchmarks import memory      # the child's own peak (ru_maxrss would be the parent's)
    code = memory.child_code(_BIG)
    out = subprocess.run([sys.executable, "-c", code, str(data_dir / "kodak" / "kodim01.png"),
                          "4096"], check=True, capture_output=True, text=True).stdout.split()
    assert out[0] == "True"
    assert int(out[2]) < 4096, f"peak RSS {out[2]} MB"


@pytest.mark.parametrize("shape", [(1, 1, 3), (1, 7, 3), (6, 1, 3), (3, 5, 4), (2, 3), (5, 4)])
def test_tiny_and_thin_images_round_trip(shape, session):
    img = np.random.default_rng(sum(shape)).integers(2, 256, shape, dtype=np.uint8)
    r = arcodec.compress_image(img, session=session)
    assert np.array_equal(arcodec.decompress_image(r.data, session=session), img)
