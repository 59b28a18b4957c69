"""Integer-exact arithmetic on float or int tensors.

Every value handled here is an integer. Matrix products run in a float dtype (so BLAS/cuBLAS
can do the work) but only where the sum of the absolute values of all terms is provably below
the dtype's exact-integer limit (2^24 for float32, 2^53 for float64). Then every partial sum,
in any order, blocking or split-K scheme, is an exactly representable integer, so the result
does not depend on the library, thread count, batch size or device.

When the bound does not fit, the integer input is split into base-2^b digits and each digit
plane is multiplied separately; the planes are recombined in int64.

Products of int8 tensors (``exact_matmul_int8``) accumulate in int32: integer sums, exact in
any order while ``K * max|x| * max|w| < 2^31``. They are used only where a probe at start-up
(``int8_products_exact``) shows this torch build's CPU kernel computes them without
saturating intermediate sums (int8 GEMMs without VNNI may saturate int16 pair sums).
"""
from __future__ import annotations

import torch

EXACT_LIMIT = {torch.float32: 2**24, torch.float64: 2**53}


def digit_bits(k: int, w_max: int, x_max: int, dtype: torch.dtype) -> int:
    """Bits per digit plane so that ``k * w_max * (2**b - 1) < limit(dtype)``.

    Returns ``x_max.bit_length()`` (a single plane) when the whole input fits.
    Raises ValueError when not even 1-bit planes fit.
    """
    limit = EXACT_LIMIT[dtype]
    need = max(int(x_max), 1).bit_length()
    if k * w_max * int(x_max) < limit:
        return need
    b = 0
    while b < need and k * w_max * (2 ** (b + 1) - 1) < limit:
        b += 1
    if b == 0:
        raise ValueError(f"no exact {dtype} product: k={k}, |w|<={w_max}")
    return b


def _require_full_precision(dtype: torch.dtype) -> None:
    """Refuse float32 products under reduced matmul precision: "high"/"medium" allow TF32/bf16
    products, which round inputs wider than 11/8 bits."""
    if dtype == torch.float32 and torch.get_float32_matmul_precision() != "highest":
        raise RuntimeError("exact float32 products need "
                           "torch.set_float32_matmul_precision('highest')")


def exact_matmul(x: torch.Tensor, w_t: torch.Tensor, *, x_max: int, w_max: int,
                 dtype: torch.dtype, check: bool = True) -> torch.Tensor:
    """Exact integer product ``x @ w_t``.

    x: (N, K) integer-valued, 0 <= x <= x_max (non-negative activations or binary inputs).
    w_t: (K, M) integer-valued, |w| <= w_max, already in ``dtype`` on x's device.
    check: verify the range of x at run time; pass False only where the caller's arithmetic
    proves it (hot loops), and say where in a comment.
    Returns (N, M) int64.
    """
    _require_full_precision(dtype)
    if check and x.numel() and (x.min() < 0 or x.max() > x_max):
        raise ValueError("exact_matmul input outside its declared range")
    k = x.shape[-1]
    b = digit_bits(k, w_max, x_max, dtype)
    xi = x.to(torch.int64)
    if b >= max(int(x_max), 1).bit_length():
        return (xi.to(dtype) @ w_t).to(torch.int64)
    out = None
    shift = 0
    mask = (1 << b) - 1
    while (x_max >> shift) > 0:
        plane = ((xi >> shift) & mask).to(dtype)
        part = (plane @ w_t).to(torch.int64) << shift
        out = part if out is None else out + part
        shift += b
    return out


def fixed_multiplier(scale: torch.Tensor, shift: int = 24) -> torch.Tensor:
    """Fixed-point multiplier ``round(scale * 2**shift)`` as int64 (computed once, at conversion)."""
    return torch.round(scale.to(torch.float64) * 2.0**shift).to(torch.int64)


def requant(acc: torch.Tensor, mult: torch.Tensor, shift: int = 24) -> torch.Tensor:
    """Round-half-up ``acc * mult / 2**shift`` in int64 (arithmetic shift, exact everywhere).

    acc: (..., M) int64; mult: (M,) int64. Caller guarantees |acc * mult| < 2^62.
    """
    return (acc * mult + (1 << (shift - 1))) >> shift


def exact_addmm(bias: torch.Tensor | None, x: torch.Tensor, w_t: torch.Tensor, *,
                bound: int, dtype: torch.dtype) -> torch.Tensor:
    """``bias + x @ w_t`` left in ``dtype`` (integer-valued): for products that continue a sum.

    bias: (N, M) integer-valued in ``dtype`` (or None); x: (N, K) integer-valued; w_t: (K, M).
    ``bound``: the caller's proven bound on the sum of the absolute values of all terms of an
    output, bias included; it must be below the dtype's exact limit, so every partial sum in
    any order is exact. Returns (N, M) in ``dtype``.
    """
    _require_full_precision(dtype)
    if bound >= EXACT_LIMIT[dtype]:
        raise ValueError(f"no exact one-pass {dtype} product: bound {bound}")
    xf = x.to(dtype)
    return xf @ w_t if bias is None else torch.addmm(bias, xf, w_t)


def exact_matmul_signed(x: torch.Tensor, w_t: torch.Tensor, *, x_max: int, w_max: int,
                        dtype: torch.dtype) -> torch.Tensor:
    """Exact integer product ``x @ w_t`` of signed inputs in one pass.

    x: (N, K) integer-valued with |x| <= x_max (the caller's arithmetic guarantees it);
    w_t: (K, M) integer-valued in ``dtype``, |w| <= w_max. The bound ``K * w_max * x_max``
    must be below the dtype's exact limit; raises ValueError otherwise (use float64).
    Returns (N, M) int64.
    """
    _require_full_precision(dtype)
    k = x.shape[-1]
    if k * w_max * x_max >= EXACT_LIMIT[dtype]:
        raise ValueError(f"no exact one-pass {dtype} product: k={k}, |w|<={w_max}, |x|<={x_max}")
    return (x.to(dtype) @ w_t).to(torch.int64)


INT8_LIMIT = 2**31


def exact_matmul_int8(x: torch.Tensor, w_t: torch.Tensor) -> torch.Tensor:
    """Exact integer product ``x @ w_t`` of int8 tensors: x (N, K), w_t (K, M), int32 sums.

    The caller guarantees ``K * max|x| * max|w| < INT8_LIMIT`` and that
    ``int8_products_exact(K, M)`` held on this device. Returns (N, M) int32."""
    return torch._int_mm(x, w_t)


def int8_products_exact(k: int, m: int, device: torch.device | str = "cpu") -> bool:
    """Whether ``exact_matmul_int8`` of (n, k) by (k, m) int8 tensors with |values| <= 127 is
    exact here: False where torch has no int8 product for the device, or where its result on
    the extreme inputs (every |value| 127, all signs alike and mixed: the inputs that saturate
    a kernel with 16-bit intermediate sums first) differs from the exact one, for n = 1, 3, 17
    and 256 rows."""
    if k * 127 * 127 >= INT8_LIMIT or not hasattr(torch, "_int_mm"):
        return False
    g = torch.Generator().manual_seed(0)
    sign = lambda *shape: (torch.randint(0, 2, shape, generator=g) * 2 - 1).to(torch.int8)
    w_all = [torch.full((k, m), 127, dtype=torch.int8), 127 * sign(k, m)]
    try:
        for n in (1, 3, 17, 256):
            for x in (torch.full((n, k), 127, dtype=torch.int8), 127 * sign(n, k)):
                for w in w_all + [-w_all[0]]:
                    got = exact_matmul_int8(x.to(device), w.to(device)).cpu().to(torch.int64)
                    if not torch.equal(got, (x.double() @ w.double()).to(torch.int64)):
                        return False
    except (RuntimeError, NotImplementedError):
        return False
    return True
