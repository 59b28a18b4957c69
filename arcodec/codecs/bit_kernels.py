"""The bit mixer on the CPU as compiled loops (numba): node probabilities, learning and the
nibble coder's tables (``nibble_rows``, ``tree_rows``: ``bit_tables``' numpy forms in one pass).

``BitMixer``'s torch form is ~60 small int64 tensor operations to predict and ~40 to learn per
byte step; on a CPU their overhead, not the arithmetic, sets the speed. ``node_probs`` and
``learn`` compute exactly the same integers (the same formulas, in int64, element by element;
tests compare them with the torch form on real text) in one pass over (stream, node). The torch
form stays for CUDA. The mixer's constants are compile-time constants here (constant shifts).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ..exact.jit import kernel
from .bit_mix import APM2_BITS, APM_CELLS, APM_RATE, ONE, P_MIN, ST_MAX
from .context_mix import GOLD, T_BUCKETS, W_MAX

APM2_AT = 256 * 255 * APM_CELLS     # where the second APM starts in the one APM table


@njit(inline="always")
def _mix(i, v, cs, ms, top, pred, ok, mb, wb, bbase, LN, LN16, shift_edges, edges, depth_of,
         node_at, io, so):
    """Stream i's mixer inputs at node v (``BitMixer._terms``): fills io, so (K,) with the count
    rows' weight indices and stretches; returns (st_m, i_m, st_x, i_x, st2) (st2 = the mixed
    stretch + ST_MAX)."""
    d = depth_of[v]
    a0, a1, a2 = node_at[v, 0], node_at[v, 1], node_at[v, 2]
    dot = np.int64(0)
    for k in range(cs.shape[1]):
        n0 = np.int64(cs[i, k, a1]) - cs[i, k, a0]
        n1 = np.int64(cs[i, k, a2]) - cs[i, k, a1]
        mx = max(n0, n1)
        s = 0
        while s < len(shift_edges) and shift_edges[s] < mx:         # bucketize, right=False
            s += 1
        st = min(max(np.int64(LN[n1 >> s]) - LN[n0 >> s], -ST_MAX), ST_MAX)
        nt = n0 + n1
        b = 0
        while b < len(edges) and edges[b] <= nt:                    # bucketize, right=True
            b += 1
        if min(n0, n1) == 0 and nt > 0:
            b += T_BUCKETS
        io[k] = b * 8 + d + bbase[1 + k]
        so[k] = st
        dot += wb[io[k]] * st
    st_m = min(max(LN16[ms[i, a2] - ms[i, a1]] - LN16[ms[i, a1] - ms[i, a0]], -ST_MAX), ST_MAX)
    i_m = top[i] * 8 + d + bbase[0]
    dot += wb[i_m] * st_m
    p = np.int64(pred[i])
    st_x = np.int64(0)
    if ok[i] and (p >> (8 - d)) == v:
        st_x = ((p >> (7 - d)) & 1) * 512 - 256
    i_x = mb[i] * 8 + d + bbase[cs.shape[1] + 1]
    dot += wb[i_x] * st_x
    st2 = min(max(dot >> 16, -ST_MAX), ST_MAX) + ST_MAX
    return st_m, i_m, st_x, i_x, st2


@njit(inline="always")
def _apm_cells(l2, v, st2):
    """The two APMs' first interpolation cells for last two bytes l2, node v, stretch st2."""
    cell = st2 >> 7
    ia = ((l2 & 255) * 255 + v - 1) * APM_CELLS + cell
    h2 = ((((l2 << 8) | v) * GOLD) & 0xFFFFFFFF) >> (32 - APM2_BITS)
    return ia, h2 * APM_CELLS + cell + APM2_AT


@kernel
def node_probs(nodes, cs, ms, top, pred, ok, mb, last2, wb, bbase, LN, LN16, SQ, apm,
               shift_edges, edges, depth_of, node_at):
    """(a, D) nodes -> (a, D) Q16 probabilities of bit 1 (``BitMixer.torch_bit_probs``).

    cs (a, K, 257) int32 and ms (a, 257) int64 prefix sums of the count rows and the model's
    table; top, pred (byte | 256), ok, mb, last2 (a,) as kept by ``BitMixer.begin``; the other
    arrays are the mixer's own (weights, tables, bucket edges, node depths and leaf bounds)."""
    a, d_n = nodes.shape
    io = np.empty(cs.shape[1], np.int64)
    so = np.empty(cs.shape[1], np.int64)
    out = np.empty((a, d_n), np.int64)
    for i in range(a):
        l2 = np.int64(last2[i])
        for j in range(d_n):
            v = np.int64(nodes[i, j])
            st2 = _mix(i, v, cs, ms, top, pred, ok, mb, wb, bbase, LN, LN16, shift_edges,
                       edges, depth_of, node_at, io, so)[4]
            ia, ib = _apm_cells(l2, v, st2)
            wt = st2 & 127
            pa = (np.int64(apm[ia]) * (128 - wt) + np.int64(apm[ia + 1]) * wt) >> 7
            pb = (np.int64(apm[ib]) * (128 - wt) + np.int64(apm[ib + 1]) * wt) >> 7
            out[i, j] = min(max((2 * SQ[st2] + 3 * pa + 3 * pb) >> 3, P_MIN), ONE - P_MIN)
    return out


@kernel
def learn(sym, cs, ms, top, pred, ok, mb, last2, wb, bbase, LN, LN16, SQ, apm,
          shift_edges, edges, depth_of, node_at, sh, tot, cnt):
    """Learn from the (a,) bytes ``sym`` at the 8 nodes of each one's path, in place: the
    weights ``wb`` and the APM table ``apm`` (``BitMixer.torch_learn``). Arguments as for
    ``node_probs``; sh the weights' learning-rate shift; tot, cnt int64 zeros (len(apm),),
    left zero."""
    a = len(sym)
    m = 8 * a
    io = np.empty(cs.shape[1], np.int64)
    so = np.empty(cs.shape[1], np.int64)
    step = np.zeros(len(wb), np.int64)
    cells = np.empty(2 * m, np.int64)
    wts = np.empty(m, np.int64)
    tgts = np.empty(m, np.int64)
    for i in range(a):
        y = np.int64(sym[i])
        l2 = np.int64(last2[i])
        for d in range(8):
            v = (256 | y) >> (8 - d)
            bit = (y >> (7 - d)) & 1
            st_m, i_m, st_x, i_x, st2 = _mix(i, v, cs, ms, top, pred, ok, mb, wb, bbase, LN,
                                             LN16, shift_edges, edges, depth_of, node_at, io,
                                             so)
            err = (bit << 16) - SQ[st2]                     # the mixer's own error
            step[i_m] += err * st_m
            for k in range(cs.shape[1]):
                step[io[k]] += err * so[k]
            step[i_x] += err * st_x
            e = 8 * i + d
            cells[e], cells[m + e] = _apm_cells(l2, v, st2)
            wts[e] = st2 & 127
            tgts[e] = bit << 16
    for j in range(len(wb)):
        wb[j] = min(max(wb[j] + (step[j] >> sh), -W_MAX), W_MAX)
    # each APM cell moves by the integer mean of its moves: cells i (weights 128 - wt), then
    # cells i + 1 (weights wt) from the values the first pass left
    for o in range(2):
        for e in range(2 * m):
            c = cells[e] + o
            wt = wts[e % m] if o else 128 - wts[e % m]
            tot[c] += ((tgts[e % m] - apm[c]) * wt) >> (7 + APM_RATE)
            cnt[c] += 1
        for e in range(2 * m):
            c = cells[e] + o
            if cnt[c]:
                apm[c] = min(max(apm[c] + tot[c] // cnt[c], 16), ONE - 16)
                tot[c] = 0
                cnt[c] = 0


@njit(inline="always")
def _split(mass, p, leaves):
    """``bit_tables._split`` for one node: (m0, m1)."""
    m1 = min(max((mass * p) >> 16, leaves), mass - leaves)
    return mass - m1, m1


@kernel
def nibble_rows(p, bits, total):
    """``bit_tables.byte_rows`` for mixer 4: (a, 8) Q16 path probabilities and bits ->
    (symbols (2a,), rows (2a, 16) int64 of total ``total``): the high nibbles, then the low."""
    a = p.shape[0]
    sym = np.empty(2 * a, np.int64)
    rows = np.ones((2 * a, 16), np.int64)
    for h in range(2):
        for i in range(a):
            mass, cdf, s = np.int64(total), np.int64(0), 0
            for lv in range(4):
                m0, m1 = _split(mass, np.int64(p[i, 4 * h + lv]), 8 >> lv)
                b = np.int64(bits[i, 4 * h + lv])
                cdf += b * m0
                mass = m1 if b == 1 else m0
                s = 2 * s + b
            e = h * a + i
            sym[e] = s
            rows[e, 0] += cdf - s
            rows[e, 15] += total - cdf - mass - (15 - s)
            rows[e, s] += mass - 1
    return sym, rows


@kernel
def tree_rows(p, total):
    """``bit_tables.tree_rows``: (a, 15) Q16 probabilities of 4-level subtrees, level-major
    -> (a, 16) int64 leaf masses of total ``total``."""
    a = p.shape[0]
    out = np.empty((a, 16), np.int64)
    mass = np.empty(16, np.int64)
    nxt = np.empty(16, np.int64)
    for i in range(a):
        mass[0] = total
        for lv in range(4):
            for u in range(1 << lv):
                nxt[2 * u], nxt[2 * u + 1] = _split(mass[u], np.int64(p[i, (1 << lv) - 1 + u]),
                                                    8 >> lv)
            mass[:2 << lv] = nxt[:2 << lv]
        out[i] = mass
    return out
