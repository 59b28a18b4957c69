"""The integer-exact runtime: exact products, requantisation and frequency tables."""
import pytest
import torch

from arcodec.exact.intops import digit_bits, exact_addmm, exact_matmul, requant
from arcodec.exact.tables import LOGIT_MAX, logits_to_freqs


def _int_case(n=16, k=1024, m=64, x_max=4095, w_max=127, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, x_max + 1, (n, k), generator=g)
    w = torch.randint(-w_max, w_max + 1, (k, m), generator=g)
    return x, w


def test_fp32_digit_planes_equal_int64_reference():
    x, w = _int_case()
    ref = x @ w                                   # int64 reference
    got = exact_matmul(x, w.float(), x_max=4095, w_max=127, dtype=torch.float32)
    assert torch.equal(got, ref)


def test_fp64_single_pass_equals_int64_reference():
    x, w = _int_case(seed=1)
    got = exact_matmul(x, w.double(), x_max=4095, w_max=127, dtype=torch.float64)
    assert torch.equal(got, x @ w)


def test_plain_fp32_product_over_the_bound_is_not_exact():
    """Why digit planes exist: the same product in one fp32 pass loses low bits."""
    x = torch.full((1, 1024), 4095)
    w = torch.full((1024, 1), 127)
    w[::2] = 126
    plain = (x.float() @ w.float()).to(torch.int64)
    assert not torch.equal(plain, x @ w)
    assert torch.equal(exact_matmul(x, w.float(), x_max=4095, w_max=127, dtype=torch.float32), x @ w)


def test_a_product_split_by_input_rows_sums_exactly_in_fp32():
    """The PixelCNN coder adds the centre taps' product to the fixed taps' product in fp32."""
    x, w = _int_case(n=64, k=96, m=32, x_max=255, seed=2)        # 96 * 127 * 255 < 2^24
    x = x - 128                                                   # signed, |x| <= 255
    bound = 96 * 127 * 255
    part = exact_addmm(None, x[:, :80], w[:80].float(), bound=bound, dtype=torch.float32)
    got = exact_addmm(part, x[:, 80:], w[80:].float(), bound=bound, dtype=torch.float32)
    assert got.dtype == torch.float32
    assert torch.equal(got.to(torch.int64), x @ w)


def test_exact_addmm_refuses_a_bound_at_the_float_limit():
    x, w = _int_case(n=2, k=8, m=3)
    with pytest.raises(ValueError, match="no exact"):
        exact_addmm(None, x, w.float(), bound=2**24, dtype=torch.float32)
    assert exact_addmm(None, x, w.double(), bound=2**24, dtype=torch.float64).dtype == torch.float64


def test_digit_bits_respect_the_fp32_limit():
    b = digit_bits(1024, 127, 4095, torch.float32)
    assert 1024 * 127 * (2**b - 1) < 2**24
    assert 1024 * 127 * (2 ** (b + 1) - 1) >= 2**24


def test_exact_matmul_rejects_inputs_outside_their_declared_range():
    with pytest.raises(ValueError):
        exact_matmul(torch.tensor([[5000]]), torch.ones(1, 1), x_max=4095, w_max=1,
                     dtype=torch.float64)


def test_requant_rounds_half_up_for_negative_and_positive_values():
    acc = torch.tensor([-3, -2, -1, 0, 1, 2, 3])
    half = torch.full((7,), 1 << 31)               # multiply by 0.5 with shift 32
    assert requant(acc, half, 32).tolist() == [-1, -1, 0, 0, 1, 1, 2]


def test_frequency_tables_are_positive_and_sum_to_the_total():
    g = torch.Generator().manual_seed(0)
    lg = torch.randint(-3 * LOGIT_MAX, 3 * LOGIT_MAX, (500, 256), generator=g)
    f = logits_to_freqs(lg, 16)
    assert int(f.min()) >= 1
    assert torch.all(f.sum(-1) == 2**16)


def test_frequency_tables_follow_the_logits():
    f = logits_to_freqs(torch.tensor([[0, 0], [0, 64], [0, -LOGIT_MAX]]), 16)
    assert f[0].tolist() == [32768, 32768]
    assert abs(f[1, 1] / 65536 - 0.7311) < 1e-3     # sigmoid(1)
    assert f[2, 1] == 1


def test_frequency_tables_do_not_depend_on_batch_layout():
    g = torch.Generator().manual_seed(1)
    lg = torch.randint(-LOGIT_MAX, LOGIT_MAX, (64, 256), generator=g)
    whole = logits_to_freqs(lg)
    rows = torch.cat([logits_to_freqs(lg[i:i + 1]) for i in range(64)])
    assert torch.equal(whole, rows)


def test_reduced_precision_float32_products_are_refused():
    x, w = _int_case(n=2, k=8, m=3)
    old = torch.get_float32_matmul_precision()
    try:
        torch.set_float32_matmul_precision("high")
        with pytest.raises(RuntimeError, match="highest"):
            exact_matmul(x, w.float(), x_max=4095, w_max=127, dtype=torch.float32)
        with pytest.raises(RuntimeError, match="highest"):
            exact_addmm(None, x, w.float(), bound=8 * 127 * 4095, dtype=torch.float32)
    finally:
        torch.set_float32_matmul_precision(old)


def test_int8_products_are_exact_at_the_extremes_where_the_probe_says_so():
    """``exact_matmul_int8`` (int32 sums) against int64 products, on inputs at +-127 that
    saturate kernels with 16-bit intermediate sums; the probe refuses sizes past the int32
    bound."""
    from arcodec.exact.intops import exact_matmul_int8, int8_products_exact
    assert not int8_products_exact(2**31 // (127 * 127) + 1, 8)
    if not int8_products_exact(384, 1792):
        pytest.skip("this torch build has no exact int8 product on this CPU")
    g = torch.Generator().manual_seed(5)
    for n in (1, 5, 40, 256):
        x = torch.randint(-127, 128, (n, 384), generator=g, dtype=torch.int64)
        x[: n // 2] = 127 * x[: n // 2].sign()
        w = torch.randint(-127, 128, (384, 1792), generator=g, dtype=torch.int64)
        w[:, :64] = 127
        got = exact_matmul_int8(x.to(torch.int8), w.to(torch.int8))
        assert got.dtype == torch.int32 and torch.equal(got.to(torch.int64), x @ w)


def test_a_compiled_loop_whose_cache_cannot_be_written_is_compiled_without_it():
    """numba refuses ``cache=True`` where no cache directory can be written (here: a function
    with no source file); ``kernel`` then compiles it in the process."""
    from arcodec.exact.jit import kernel
    ns: dict = {}
    exec("def plus_one(x):\n    return x + 1\n", ns)
    assert kernel(ns["plus_one"])(41) == 42
