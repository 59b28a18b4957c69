"""Autoregressive models: float training networks and their integer-exact coding twins."""
from __future__ import annotations

import torch

from ..errors import ModelError
from ..exact.intops import int8_products_exact


def build_int_model(arch: str, config: dict, tensors: dict[str, torch.Tensor],
                    device: torch.device | str, dtype: torch.dtype | None = None,
                    adapt_shift: int | None = None, adapt_reachable: bool = True):
    """Integer-exact model for coding from a weight file's arch, config and tensors.
    ``dtype``: the type of the exact products; None takes the model's fastest (MADE:
    float64, one pass; PixelCNN: float32, one pass, where its bounds allow, else float64;
    char-RNN: int8 with int32 sums on a CPU where they are exact, else float32). Results are
    identical for any choice.
    ``adapt_shift``: build the adaptive char-RNN (learns while coding; one object per file);
    ``adapt_reachable``: its update rule (False: the first one, for old files)."""
    if arch == "made":
        from .made import IntMADE, MADEConfig
        return IntMADE(MADEConfig(**config), tensors, device=device,
                       dtype=dtype or torch.float64)
    if arch == "charrnn":
        from .charrnn import AdaptiveIntCharRNN, CharRNNConfig, IntCharRNN
        if dtype is None:
            h = config.get("hidden", CharRNNConfig.hidden)
            exact8 = torch.device(device).type == "cpu" and int8_products_exact(h, 4 * h + 256)
            dtype = torch.int8 if exact8 else torch.float32
        if adapt_shift is not None:
            return AdaptiveIntCharRNN(CharRNNConfig(**config), tensors, device=device,
                                      dtype=dtype or torch.float32, shift=adapt_shift,
                                      reachable=adapt_reachable)
        return IntCharRNN(CharRNNConfig(**config), tensors, device=device,
                          dtype=dtype or torch.float32)
    if arch == "pixelcnn":
        from .pixelcnn import PixelCNNConfig
        from .pixelcnn_int import IntPixelCNN
        cfg = PixelCNNConfig(**config)
        if dtype is None:           # float32 where every product fits it exactly (F <= 85
            try:                    # at least; _Lin checks), else float64
                return IntPixelCNN(cfg, tensors, device=device, dtype=torch.float32)
            except ValueError:
                dtype = torch.float64
        return IntPixelCNN(cfg, tensors, device=device, dtype=dtype)
    raise ModelError(f"unknown model architecture {arch!r}")


def build_float_model(arch: str, config: dict, tensors: dict[str, torch.Tensor]):
    """The float network whose weights are a weight file's integer tensors (float64, CPU, eval
    mode): the float model of the shipped weights, for the float-vs-integer NLL gap. Each
    model's ``to_float`` is the exact inverse of its ``to_integer``."""
    if arch == "made":
        from .made import MADEConfig, to_float
        return to_float(MADEConfig(**config), tensors)
    if arch == "charrnn":
        from .charrnn import CharRNNConfig, to_float
        return to_float(CharRNNConfig(**config), tensors)
    if arch == "pixelcnn":
        from .pixelcnn import PixelCNNConfig
        from .pixelcnn_int import to_float
        return to_float(PixelCNNConfig(**config), tensors)
    raise ModelError(f"unknown model architecture {arch!r}")
