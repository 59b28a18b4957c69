"""The bit mixer's probabilities as one compiled loop (numba), for the CPU.

``BitMixer.bit_probs`` in torch is ~60 small int64 tensor operations per call; on a CPU their
overhead, not the arithmetic, sets the speed. ``node_probs`` computes exactly the same integers
(the same formulas, in int64, element by element; a test compares the two) in one pass over
(stream, node). The torch path stays for CUDA.
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=False, nogil=True)
def node_probs(nodes, cs, ms, top, pred, ok, mb, last2, wb, bbase, LN, LN16, SQ, apm,
               shift_edges, edges, depth_of, node_at, st_max, t_buckets, cells, gold, apm2_bits, apm2_at, p_min,
               one):
    """(a, D) nodes -> (a, D) Q16 probabilities of bit 1 (``BitMixer._terms`` + ``bit_probs``).

    cs (a, K, 257) int32 and ms (a, 257) int64 prefix sums of the count rows and the model's
    table; top, pred (byte | 256), ok, mb, last2 (a,) as kept by ``BitMixer.begin``; the other
    arrays are the mixer's own (weights, tables, bucket edges, node depths and leaf bounds)."""
    a, d_n = nodes.shape
    k_n = cs.shape[1]
    out = np.empty((a, d_n), np.int64)
    for i in range(a):
        l2 = np.int64(last2[i])
        for j in range(d_n):
            v = np.int64(nodes[i, j])
            d = depth_of[v]
            a0, a1, a2 = node_at[v, 0], node_at[v, 1], node_at[v, 2]
            dot = np.int64(0)
            for k in range(k_n):
                n0 = np.int64(cs[i, k, a1]) - cs[i, k, a0]
                n1 = np.int64(cs[i, k, a2]) - cs[i, k, a1]
                mx = max(n0, n1)
                s = 0
                while s < len(shift_edges) and shift_edges[s] < mx:     # bucketize, right=False
                    s += 1
                st = min(max(np.int64(LN[n1 >> s]) - LN[n0 >> s], -st_max), st_max)
                nt = n0 + n1
                b = 0
                while b < len(edges) and edges[b] <= nt:                # bucketize, right=True
                    b += 1
                if min(n0, n1) == 0 and nt > 0:
                    b += t_buckets
                dot += wb[b * 8 + d + bbase[1 + k]] * st
            st_m = min(max(LN16[ms[i, a2] - ms[i, a1]] - LN16[ms[i, a1] - ms[i, a0]], -st_max),
                       st_max)
            dot += wb[top[i] * 8 + d + bbase[0]] * st_m
            p = np.int64(pred[i])
            if ok[i] and (p >> (8 - d)) == v:
                dot += wb[mb[i] * 8 + d + bbase[k_n + 1]] * (((p >> (7 - d)) & 1) * 512 - 256)
            st2 = min(max(dot >> 16, -st_max), st_max) + st_max
            cell = st2 >> 7
            ia = ((l2 & 255) * 255 + v - 1) * cells + cell
            h2 = ((((l2 << 8) | v) * gold) & 0xFFFFFFFF) >> (32 - apm2_bits)
            ib = h2 * cells + cell + apm2_at
            wt = st2 & 127
            pa = (np.int64(apm[ia]) * (128 - wt) + np.int64(apm[ia + 1]) * wt) >> 7
            pb = (np.int64(apm[ib]) * (128 - wt) + np.int64(apm[ib + 1]) * wt) >> 7
            out[i, j] = min(max((2 * SQ[st2] + 3 * pa + 3 * pb) >> 3, p_min), one - p_min)
    return out
