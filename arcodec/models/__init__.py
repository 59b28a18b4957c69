"""Autoregressive models: float training networks and their integer-exact coding twins."""
from __future__ import annotations

import torch

from ..errors import ModelError


def build_int_model(arch: str, config: dict, tensors: dict[str, torch.Tensor],
                    device: torch.device | str, dtype: torch.dtype = torch.float64):
    """Integer-exact model for coding from a weight file's arch, config and tensors."""
    if arch == "made":
        from .made import IntMADE, MADEConfig
        return IntMADE(MADEConfig(**config), tensors, device=device, dtype=dtype)
    if arch == "charrnn":
        from .charrnn import CharRNNConfig, IntCharRNN
        return IntCharRNN(CharRNNConfig(**config), tensors, device=device, dtype=dtype)
    raise ModelError(f"unknown model architecture {arch!r}")
