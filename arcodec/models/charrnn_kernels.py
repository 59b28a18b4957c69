"""The integer LSTM cell as one compiled loop (numba), for the CPU.

``IntCharRNN.torch_cell`` is ~20 int64 tensor operations over (N, 4H) per step; on a CPU their
memory traffic, not the arithmetic, costs as much as the step's one product. ``cell`` computes
exactly the same integers (the same formulas, element by element, in int64; a test compares the
two on real text and at the extremes) in one pass over (stream, unit). The torch form stays for
CUDA. Clamps are branch-free and shifts constant: the saturation of gates depends on the data,
and branches on it cost 1.5x in a coding loop.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ..exact.jit import kernel
from .charrnn import C_MAX, Q, Z_MAX


@njit(inline="always")
def _clamp(v, lim):
    """min(max(v, -lim), lim) without branches (int64)."""
    d = v + lim
    v -= d & (d >> 63)
    d = v - lim
    return v - (d & ~(d >> 63))


@kernel
def cell(acc, byte, x, m_z, gate_lut, gate_off, c, tanh_c, hq):
    """One step of the recurrence after the product (``IntCharRNN.torch_cell``).

    acc (N, >= 4H) products of h with W_h (gate columns first; int32 or int64); byte (N,) int64;
    x (256, 4H) byte table (int32 or int64); m_z (4H,) requantisation multipliers (shift 32);
    gate_lut (4 * 513,) the SIGMOID, SIGMOID, TANH, SIGMOID tables and gate_off (4H,) each
    column's offset into it; c (N, H) the cell state (int32 or int64, returned in its dtype);
    tanh_c (513,) TANH; hq the bound of h. Returns (h (N, H) int64, c (N, H))."""
    n, hs = c.shape
    h_out = np.empty((n, hs), np.int64)
    c_out = np.empty_like(c)
    gates = np.empty(4 * hs, np.int64)
    for r in range(n):
        xr, ar = x[byte[r]], acc[r]
        for col in range(4 * hs):
            z = ((np.int64(ar[col]) + xr[col]) * m_z[col] + (1 << 31)) >> 32
            gates[col] = gate_lut[np.uint64(_clamp(z, Z_MAX) + gate_off[col])]
        cr, co, ho = c[r], c_out[r], h_out[r]
        for u in range(hs):
            cn = (((gates[hs + u] * cr[u] + (1 << (Q - 1))) >> Q)
                  + ((gates[u] * gates[2 * hs + u] + (1 << (Q - 1))) >> Q))
            cn = _clamp(cn, C_MAX)
            co[u] = cn
            cz = _clamp((cn + 64) >> 7, Z_MAX) + Z_MAX
            ho[u] = (gates[3 * hs + u] * tanh_c[np.uint64(cz)] * hq + (1 << (2 * Q - 1))) >> (2 * Q)
    return h_out, c_out
