"""Autoregressive models: float training networks and their integer-exact coding twins."""
from __future__ import annotations

import torch

from ..errors import ModelError


def build_int_model(arch: str, config: dict, tensors: dict[str, torch.Tensor],
                    device: torch.device | str, dtype: torch.dtype = torch.float64,
                    adapt_shift: int | None = None):
    """Integer-exact model for coding from a weight file's arch, config and tensors.
    ``adapt_shift``: build the adaptive char-RNN (learns while coding; one object per file)."""
    if arch == "made":
        from .made import IntMADE, MADEConfig
        return IntMADE(MADEConfig(**config), tensors, device=device, dtype=dtype)
    if arch == "charrnn":
        from .charrnn import AdaptiveIntCharRNN, CharRNNConfig, IntCharRNN
        if adapt_shift is not None:
            return AdaptiveIntCharRNN(CharRNNConfig(**config), tensors, device=device,
                                      dtype=dtype, shift=adapt_shift)
        return IntCharRNN(CharRNNConfig(**config), tensors, device=device, dtype=dtype)
    raise ModelError(f"unknown model architecture {arch!r}")
