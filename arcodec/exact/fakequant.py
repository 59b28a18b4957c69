"""Fake quantisation for quantisation-aware training (QAT).

The forward pass sees the values the integer runtime will use; gradients pass straight through.
"""
from __future__ import annotations

import torch


def ste(x: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Forward ``q``, backward identity (straight-through estimator)."""
    return x + (q - x).detach()


def weight_scale(w: torch.Tensor, bits: int) -> torch.Tensor:
    """Per-output-row symmetric scale: (M, K) weights -> (M,) scales, max |w| maps to 2^(bits-1)-1."""
    qmax = 2 ** (bits - 1) - 1
    m = w.detach().abs().amax(dim=1)
    return torch.where(m > 0, m / qmax, torch.ones_like(m))  # all-zero (masked) rows: scale 1


def fake_quant_weight(w: torch.Tensor, bits: int) -> torch.Tensor:
    """(M, K) float -> (M, K) float on the integer grid of ``weight_scale``."""
    s = weight_scale(w, bits)[:, None]
    qmax = 2 ** (bits - 1) - 1
    return ste(w, torch.clamp(torch.round(w / s), -qmax, qmax) * s)


class ActQuant(torch.nn.Module):
    """ReLU followed by unsigned ``bits``-bit quantisation on [0, clip].

    ``clip`` follows an exponential moving average of the batch maximum while training and is
    frozen in eval mode; it is saved with the weights and fixes the integer model's scale.
    """

    def __init__(self, bits: int, momentum: float = 0.01):
        super().__init__()
        self.bits = bits
        self.momentum = momentum
        self.register_buffer("clip", torch.tensor(0.0))

    @property
    def scale(self) -> torch.Tensor:
        return self.clip / (2**self.bits - 1)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        h = torch.relu(h)
        if self.training:
            m = h.detach().amax()
            if self.clip <= 0:
                self.clip.copy_(m)
            else:
                self.clip.mul_(1 - self.momentum).add_(self.momentum * m)
        s = self.scale.clamp_min(1e-8)
        q = torch.clamp(torch.round(h / s), 0, 2**self.bits - 1) * s
        return ste(h, q)
