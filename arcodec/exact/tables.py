"""Integer logits -> integer frequency tables: the one function encoder and decoder share.

Logits arrive as int64 in fixed point (LOGIT_ONE units per nat). The exponential comes from a
lookup table built with Python's ``decimal`` module (correctly rounded, platform independent),
never from libm, so every machine builds the same table.
"""
from __future__ import annotations

from decimal import Decimal, getcontext
from functools import lru_cache

import torch

LOGIT_ONE = 64          # fixed-point logits: 64 units = 1 nat
LOGIT_MAX = 16 * LOGIT_ONE  # logits are clamped to [-LOGIT_MAX, LOGIT_MAX]
EXP_BITS = 30           # exp table values are in [0, 2^30]


@lru_cache(maxsize=None)
def _exp_table_list(n: int, one: int, bits: int) -> tuple[int, ...]:
    getcontext().prec = 50
    scale = Decimal(2) ** bits
    return tuple(int((scale * (Decimal(-d) / Decimal(one)).exp()).to_integral_value())
                 for d in range(n))


@lru_cache(maxsize=8)
def _exp_table(device: str) -> torch.Tensor:
    t = torch.tensor(_exp_table_list(2 * LOGIT_MAX + 1, LOGIT_ONE, EXP_BITS), dtype=torch.int64,
                     device=device)
    t.requires_grad_(False)
    return t


def exp_table(device: torch.device | str = "cpu") -> torch.Tensor:
    """(2*LOGIT_MAX + 1,) int64: ``round(2^EXP_BITS * exp(-d / LOGIT_ONE))`` for d = 0, 1, ...

    Memoised per device (a read-only constant; callers must not modify it).
    """
    return _exp_table(str(torch.device(device)))


def logits_to_freqs(logits: torch.Tensor, total_bits: int = 16) -> torch.Tensor:
    """Integer softmax: (..., n) int64 fixed-point logits -> (..., n) int64 frequencies.

    Every frequency is >= 1 and each row sums to exactly ``2**total_bits``. Pure int64
    arithmetic, so the result is identical on every device and for any batch layout.

    >>> logits_to_freqs(torch.tensor([[0, 64]])).tolist()   # p(1) = sigmoid(1 nat)
    [[17625, 47911]]
    """
    n = logits.shape[-1]
    total = 1 << total_bits
    if n >= total:
        raise ValueError("alphabet larger than the frequency total")
    lg = logits.clamp(-LOGIT_MAX, LOGIT_MAX)
    d = lg.max(dim=-1, keepdim=True).values - lg          # 0 .. 2*LOGIT_MAX
    e = exp_table(logits.device).index_select(0, d.reshape(-1)).view(d.shape)  # max 2^30
    s = e.sum(dim=-1, keepdim=True)                        # < n * 2^30
    f = e * (total - n) // s + 1                           # < 2^30 * 2^16: fits int64
    short = total - f.sum(dim=-1, keepdim=True)            # >= 0, < n
    top = d.argmin(dim=-1, keepdim=True)                   # first most likely symbol
    return f.scatter_add(-1, top, short)
