"""The shipped MADE's conditionals are exact: identical however they are computed."""
import os
import subprocess
import sys

import pytest
import torch

from arcodec import zoo
from arcodec.models import build_int_model


def _x(test_digits, n):
    return torch.from_numpy(test_digits[:n].reshape(n, -1).astype("int64"))


def test_teacher_forced_equals_pixel_by_pixel(int_made, test_digits):
    x = _x(test_digits, 3)
    tf = int_made.freqs(x)
    st = int_made.decoder(3)
    for i in range(784):
        assert torch.equal(st.freqs(i), tf[:, i]), f"pixel {i}"
        st.push(i, x[:, i])


@pytest.mark.parametrize("batch", [1, 7, 64])
def test_frequencies_do_not_depend_on_batch_size(int_made, test_digits, batch):
    x = _x(test_digits, 64)
    ref = int_made.freqs(x)
    got = torch.cat([int_made.freqs(x[i:i + batch]) for i in range(0, 64, batch)])
    assert torch.equal(got, ref)


def test_fp32_and_fp64_arithmetic_give_the_same_frequencies(test_digits):
    lm = zoo.load(zoo.resolve("made-mnist"))
    m32 = build_int_model(lm.arch, lm.config, lm.tensors, "cpu", torch.float32)
    m64 = build_int_model(lm.arch, lm.config, lm.tensors, "cpu", torch.float64)
    x = _x(test_digits, 32)
    assert torch.equal(m32.freqs(x), m64.freqs(x))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_and_cpu_give_the_same_frequencies(test_digits):
    lm = zoo.load(zoo.resolve("made-mnist"))
    cpu = build_int_model(lm.arch, lm.config, lm.tensors, "cpu")
    x = _x(test_digits, 32)
    for dtype in (torch.float32, torch.float64):
        gpu = build_int_model(lm.arch, lm.config, lm.tensors, "cuda", dtype)
        assert torch.equal(gpu.freqs(x).cpu(), cpu.freqs(x))


_HASH_SCRIPT = """
import hashlib, sys, torch, numpy as np
from arcodec import zoo
from arcodec.models import build_int_model
from arcodec.train.data import binarize, mnist
torch.set_num_threads(int(sys.argv[1]))
lm = zoo.load(zoo.resolve("made-mnist"))
m = build_int_model(lm.arch, lm.config, lm.tensors, "cpu")
x = torch.from_numpy(binarize(mnist("t10k"))[:200].reshape(200, -1).astype("int64"))
print(hashlib.sha256(m.freqs(x).numpy().tobytes()).hexdigest())
"""


def test_frequencies_do_not_depend_on_thread_count(data_dir):
    out = []
    for threads in (1, 2):
        env = {**os.environ, "OMP_NUM_THREADS": str(threads), "ARCODEC_DATA": str(data_dir)}
        r = subprocess.run([sys.executable, "-c", _HASH_SCRIPT, str(threads)], env=env,
                           capture_output=True, text=True, check=True)
        out.append(r.stdout.strip())
    assert out[0] == out[1] and len(out[0]) == 64


def test_no_conditional_depends_on_its_own_or_later_pixels(int_made, test_digits):
    """Flip pixel j: the logits of pixels 0..j must not change (raster order)."""
    x = _x(test_digits, 1)
    base = int_made.logits(x)
    for j in [0, 1, 100, 350, 351, 500, 783]:
        y = x.clone()
        y[0, j] = 1 - y[0, j]
        changed = (int_made.logits(y) != base)[0]
        assert not changed[:j + 1].any(), f"pixel {j} leaks into conditional <= {j}"


def test_float_made_gradients_respect_the_ordering():
    """Gradient of output i w.r.t. inputs >= i is exactly zero (the masks are right)."""
    from arcodec.models.made import MADE, MADEConfig
    m = MADE(MADEConfig(n_in=20, hidden=[32, 32]))
    x = torch.randint(0, 2, (1, 20)).float().requires_grad_(True)
    m.train()
    m(x)
    m.eval()
    for i in [0, 5, 19]:
        x.grad = None
        m(x)[0, i].backward()
        assert torch.all(x.grad[0, i:] == 0)
        if i > 0:
            assert torch.any(x.grad[0, :i] != 0)


def test_integer_nll_is_within_2_percent_of_float_nll(int_made, test_digits):
    """Recompute the integer NLL on the 10,000 test digits; it must equal the figure recorded
    at export, which must be within 2% of the float (QAT) model's recorded NLL."""
    from arcodec.train.made_mnist import int_nll_bits
    meta = zoo.load(zoo.resolve("made-mnist")).meta
    measured = int_nll_bits(int_made, _x(test_digits, 10000))
    assert abs(measured - float(meta["test_bits_int"])) < 0.001
    f = float(meta["test_bits_float"])
    assert abs(measured - f) / f < 0.02
