"""Generic autoregressive coding: teacher-forced encoding, one-at-a-time decoding.

Any integer model with this interface plugs in:
  ``model.freqs(x)``: (N, D) int symbols -> (N, D, K) int64 frequency tables (all at once);
  ``model.decoder(N)``: a stepper with ``freqs(i) -> (N, K)`` and ``push(i, symbols (N,))``.
The model's exactness guarantees both paths give identical tables, so what the encoder codes
the decoder can decode. Symbols are coded position-major: (pos 0, all N), (pos 1, all N), ...
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from . import coding


def encode(model, x: torch.Tensor) -> tuple[bytes, float]:
    """(N, D) int symbols -> (payload, integer-model NLL in bits)."""
    with torch.no_grad():
        f = model.freqs(x).cpu().numpy()                      # (N, D, K)
    sym = x.cpu().numpy().T.reshape(-1)                       # position-major
    f = f.transpose(1, 0, 2).reshape(-1, f.shape[-1])
    return coding.encode(sym, f), coding.nll_bits(sym, f)


def decode(model, payload: bytes, n: int, d: int,
           progress: Callable[[int], None] | None = None) -> torch.Tensor:
    """payload -> (n, d) int64 symbols, decoding one position (for all n rows) at a time."""
    dec = coding.Decoder(payload)
    out = np.zeros((n, d), dtype=np.int64)
    with torch.no_grad():
        st = model.decoder(n)
        for i in range(d):
            sym = dec.decode(st.freqs(i).cpu().numpy())
            out[:, i] = sym
            st.push(i, torch.from_numpy(out[:, i]))
            if progress:
                progress(i + 1)
    return torch.from_numpy(out)
