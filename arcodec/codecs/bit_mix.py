"""Mixers 3 and 4: context mixing in the bit tree; a byte is a path of 8 binary decisions.

Mixers 1 and 2 (``context_mix.py``) mix byte logits over all 256 symbols. Mixer 3 keeps their
statistics (order-2/3/4/6 and word count rows, the match model, all updated the same way) but
mixes the way PAQ-style coders do: a byte is the path of 8 binary decisions from the root of the
255-node bit tree (node v = 1..255, depth d = bit_length(v) - 1, children 2v and 2v + 1; the
byte is the leaf 256 + y). At every node on the path each stream predicts the next bit:

  * count rows: n0, n1 = the row's counts under the node's two children (from one prefix sum
    of the row per byte); input st = LN[n1 >> s] - LN[n0 >> s], LN[c] = round(256 ln(c + 0.4)),
    s the smallest shift that brings both under CAP + 1 (stretch units: 1/256 nat, |st| <= 2047);
  * the model: the same of its own frequency table (``logits_to_freqs``, total 2^16);
  * the match model: +-256 on the path of the byte it predicts, 0 elsewhere.

p1 = squash((sum_i w_i st_i) >> 16), each weight chosen by (source, bucket, depth): count rows
by their total under the node (bit length, capped) and whether one child is empty, the model by
how many count rows have been seen, the match by its length. Two adaptive probability maps
(APMs) refine it, one keyed by (the stream's last byte, node), one by a hash of (last two
bytes, node) into 2^16 contexts: 33 buckets over the stretch domain each, linear
interpolation; p = (2 p1 + 3 apm1 + 3 apm2) / 8 clamped to [32, 2^16 - 32]. Mixer 3 codes each
bit with the table [2^16 - p, p]; mixer 4 codes each nibble with a table built from its 4-level
subtree's probabilities (``bit_tables``), a quarter of the range coder's per-symbol cost.

Learning happens after each byte, from its 8 nodes: weights move by (sum of
(bit 2^16 - p1) st_i over the byte's nodes and the step's streams) >> shift, APM cells by the
integer mean of their moves; then the counts and the match model as in mixer 2. Every value is
an integer (int64 products < 2^40; int32 where counts and APM cells are held), so the encoder
(all 8 nodes of a known byte at once) and the decoder (a subtree at a time) compute the same
probabilities on any device.

Tuned by replay on training text (``python -m benchmarks.mixer_replay --set books4 --mixer 2 3``,
4 MiB of text-train books, bits/byte): mixer 2 1.7635; bit-tree mixing with the first APM
1.7384; + the second APM 1.7332. Tried and not kept (books4, with both APMs unless said): weights
by node instead of depth 1.7388 (first APM only); learning-rate shift 11 1.7393 (first APM only);
order 1 added 1.7336; order 5 added 1.7319; rows halved past 255 1.7370, past 4095 1.7317; a
"last byte seen in this context" input 1.7331; a bias input 1.7383 (first APM only); weights
by the last byte's class 1.6985 vs 1.6894 on the first 100 KB; second APM of 2^18 contexts
1.7331; its rate 5 1.7331; learning-rate decay 1 1.7341, 3 1.7332. (Gains under 0.1% were
not worth another count table's 128 MB or a mixer-specific halving rule.) Later, on mixer 4
(replays of experimental subclasses): hashed tables of 2^20 rows instead of 2^18 1.7225
(-0.6%, but 4x the tables' 640 MB); an adaptive bit probability per hashed (context, node)
for each count row's context (2^22 slots, rate 1/(n + 1.5), n <= 127 or 30) 1.6223 / 1.6228
vs 1.6205 on the first MiB of books4; match lengths bucketed up to 2^16 (24 buckets) 1.6206
there; a second weight set chosen by the last byte's top 3 bits, the two mixes combined by a
learnt 2-input mixer per depth (PAQ's two layers) 1.6176 there, 1.7324 on all of books4.
Also on the first MiB of books4 (1.6205): 2^20 rows 1.6154; order 7 added 1.6199; PAQ's
indirect model (per hashed (context, node) a nonstationary bit-history state, an adaptive
probability per state, as extra inputs) 1.6235 (without the model 1.8193 vs 1.8194). Fewer
streams, so that the weights learn after fewer bytes (no model, first 256 KiB, stream count
forced): 128 (the default there) 1.9895, 64 1.9852, 16 1.9875, 4 2.0006 bits/byte, so
learning from a step of many streams at once costs nothing measurable. Weights also chosen by
the model's confidence at the node (|st| of the model in 4 buckets of 512, 3 of 1024 or 8 of
256): 1.6219, 1.6209, 1.6256 vs 1.6205 (more weights, each learning more slowly).
"""
from __future__ import annotations

import math
from decimal import Decimal, getcontext
from functools import lru_cache

import numpy as np
import torch

from ..exact import jit
from ..exact.tables import exp_table, logits_to_freqs
from . import context_mix as cm

ST_MAX = 2047          # stretch domain: |st| <= ST_MAX, 1/256 nat units
CAP = 4095             # LN covers counts 0..CAP; larger pairs are shifted down together
BETA = "0.4"           # LN[c] = round(256 ln(c + BETA))
SH = 12                # weight learning-rate shift (plus log2(streams) / 2 and the decay)
W_MODEL0, W_ORDER0, W_MATCH0 = 1 << 16, 19660, 1 << 15   # initial weights, Q16 (1.0, 0.3, 0.5)
APM_CELLS = 33         # APM buckets over the stretch domain (step 128)
APM_RATE = 6           # APM cells move by (target - cell) * weight >> (7 + APM_RATE)
APM2_BITS = 16         # the second APM has 2^APM2_BITS hashed (last two bytes, node) contexts
P_MIN = 32             # coded probabilities lie in [P_MIN, 2^16 - P_MIN]
ONE = 1 << 16


@lru_cache(maxsize=None)
def ln_table(beta: str, cap: int) -> tuple[int, ...]:
    """round(256 ln(c + beta)) for c = 0..cap (with beta = 0, c = 0 gives the value for 0.5).

    float64 logarithms, with every value that lies near a rounding boundary checked in
    decimal arithmetic, so the table is the same on every platform."""
    getcontext().prec = 30
    b = float(beta)
    out = []
    for c in range(cap + 1):
        x = c + b if c or b else 0.5
        v = 256 * math.log(x)
        if abs(v - math.floor(v) - 0.5) < 1e-6:
            v = float((Decimal(256) * (Decimal(c) + Decimal(beta) if c or b else Decimal("0.5"))
                       .ln()).to_integral_value())
        out.append(int(round(v)))
    return tuple(out)


@lru_cache(maxsize=None)
def squash_table() -> tuple[int, ...]:
    """p1 in Q16, clamped to [1, 2^16 - 1], for st = -ST_MAX .. ST_MAX."""
    getcontext().prec = 30
    return tuple(max(1, min(ONE - 1, int((Decimal(ONE) / (1 + (Decimal(-d) / 256).exp()))
                                         .to_integral_value())))
                 for d in range(-ST_MAX, ST_MAX + 1))


def node_bits(sym: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(a,) bytes -> (nodes (a, 8), bits (a, 8)): the node (1..255) at each depth of the byte's
    path and the bit taken there."""
    d8 = torch.arange(8, device=sym.device)
    return (256 | sym[:, None]) >> (8 - d8), (sym[:, None] >> (7 - d8)) & 1


def _learn_apm(t: torch.Tensor, i: torch.Tensor, wt: torch.Tensor, tgt: torch.Tensor,
               scratch: torch.Tensor) -> None:
    """Move the APM ``t``'s cells i and i + 1 (interpolation weights 128 - wt, wt; all (m,))
    toward the targets ``tgt`` (m,), Q16: each touched cell by the integer mean of its moves
    this step, so the result does not depend on the order of the m visits. ``scratch``: zeros
    (2, len(t)) int64, left zero."""
    for j, wj in ((i, 128 - wt), (i + 1, wt)):
        dp = ((tgt - t[j]) * wj) >> (7 + APM_RATE)
        scratch[0].index_add_(0, j, dp)
        scratch[1].index_add_(0, j, torch.ones_like(j))
        tot, cnt = scratch[:, j]
        t[j] = (t[j] + tot // cnt).clamp(16, ONE - 16).to(t.dtype)   # duplicates: same value
        scratch[:, j] = 0


def make_mixer(version: int, n: int, n_streams: int,
               device: torch.device | str = "cpu") -> cm.ContextMixer:
    """The context mixer of a format version (1 and 2: ``ContextMixer``; 3 and 4: ``BitMixer``)."""
    if version in (3, 4):
        return BitMixer(n, n_streams, device, version)
    return cm.ContextMixer(n, n_streams, device, version)


class BitMixer(cm.ContextMixer):
    """Mixers 3 and 4 (see module doc). Per byte step: ``begin(logits, pos)``;
    ``bit_probs(nodes)`` for any nodes, as often as needed (it changes nothing); then
    ``update(sym)``. ``compiled``: on the CPU, gather the step's inputs, predict, learn and
    update the statistics in numba loops (``stats_kernels``, ``bit_kernels``) rather than
    torch operations (the same integers; False for tests). The two versions mix alike;
    ``nibbles`` says how the bytes are coded (``bit_tables``: 8 binary tables per byte for
    mixer 3, 2 nibble tables for mixer 4)."""

    binary = True

    def __init__(self, n: int, n_streams: int, device: torch.device | str = "cpu",
                 version: int = 4, compiled: bool = True):
        super().__init__(n, n_streams, device, version)
        self.nibbles = version >= 4
        # on the CPU, predict and learn in the compiled loops (``bit_kernels``); else in torch
        self.compiled = compiled and self.device.type == "cpu" and jit.available()
        i64 = dict(dtype=torch.int64, device=self.device)
        k = self.k
        self.LN = torch.tensor(ln_table(BETA, CAP), dtype=torch.int32, device=self.device)
        self.LN16 = torch.tensor(ln_table("0", ONE), **i64)
        self.SQ = torch.tensor(squash_table(), **i64)
        # weights (Q16) by node depth: model (K + 1 top-order buckets), count row i (2T
        # buckets), match (MATCH_BUCKETS); source bucket b at depth d: wb[base + 8 b + d]
        self.wb = torch.cat([torch.full(((k + 1) * 8,), W_MODEL0, **i64),
                             torch.full((k * 2 * cm.T_BUCKETS * 8,), W_ORDER0, **i64),
                             torch.full((cm.MATCH_BUCKETS * 8,), W_MATCH0, **i64)])
        self.bbase = torch.tensor([0] + [(k + 1 + 2 * cm.T_BUCKETS * i) * 8 for i in range(k)]
                                  + [(k + 1 + 2 * cm.T_BUCKETS * k) * 8], **i64)
        v = torch.arange(256, **i64)
        self.depth_of = torch.tensor([max(u.bit_length() - 1, 0) for u in range(256)], **i64)
        lo = (v << (8 - self.depth_of)) - 256
        half = 1 << (7 - self.depth_of)
        # leaves under node v: [lo, lo + half) after bit 0, [lo + half, lo + 2 half) after bit 1
        self.node_at = torch.stack([lo, lo + half, lo + 2 * half], 1).clamp(0, 256)   # (256, 3)
        # count sums are < 2^19 (256 counts of at most COUNT_MAX + 256): int32 where they are used
        self.shift_edges = torch.tensor([(CAP + 1) * (1 << i) - 1 for i in range(9)],
                                        dtype=torch.int32, device=self.device)
        self.edges32 = self.edges.to(torch.int32)
        st = ((torch.arange(APM_CELLS, **i64) - APM_CELLS // 2) * 128).clamp(-ST_MAX, ST_MAX)
        # both APMs in one table: (last byte, node - 1, cell), then (hash, cell); Q16 in int32
        self.apm = self.SQ[st + ST_MAX].to(torch.int32).repeat(256 * 255 + (1 << APM2_BITS))
        self.apm2_at = 256 * 255 * APM_CELLS
        self._scratch = torch.zeros(2, len(self.apm), **i64)
        self._step = None
        self._memo = []
        if self.compiled:
            self._np_tables = [t.numpy() for t in (self.wb, self.bbase, self.LN, self.LN16,
                                                   self.SQ, self.apm, self.shift_edges,
                                                   self.edges32, self.depth_of, self.node_at)]
            self._bind_compiled()

    def _bind_compiled(self) -> None:
        """The statistics' state and row rule as numpy views (the compiled loops write them in
        place), in the order ``stats_kernels.step_inputs`` and ``update_statistics`` take them
        after their per-step arguments."""
        mm = 8 * self.spec.match_min
        hist, counts, mptr, mlen, seen, done, buf, word, prev_word = (
            t.numpy() for t in (self.hist, self.counts, self.mptr, self.mlen, self.seen,
                                self.done, self.buf, self.word, self.prev_word))
        self._inputs_args = (exp_table().numpy(), hist, word, prev_word, self.masks.numpy(),
                             self.salt.numpy(), self.hashed.numpy(), self.row0.numpy(),
                             33 - self.rows.bit_length(), counts, mptr, mlen, seen, done, buf,
                             self.spec.match_min)
        self._update_args = (counts, mptr, mlen, buf, done, hist, seen, word, prev_word,
                             self.mtab.numpy(), self.spec.words, self.spec.match_min,
                             -1 if mm >= 64 else (1 << mm) - 1, 33 - self.mrows.bit_length())

    def begin(self, logits: torch.Tensor, pos: torch.Tensor) -> None:
        """Start a byte step: (a, 256) model logits, (a,) positions of the active streams.

        Gathers the count rows and the model's table as prefix sums ((a, K, 257), (a, 257));
        on the CPU in one compiled loop (``stats_kernels.step_inputs``: the same integers)."""
        a, k = logits.shape[0], self.k
        if self.compiled:
            self._begin_compiled(logits, pos)
            return
        rows = self._rows(a)
        c = self.counts.index_select(0, rows.reshape(-1)).view(a, k, 256)   # int16
        cs = torch.nn.functional.pad(c.cumsum(2, dtype=torch.int32), (1, 0))   # (a, K, 257)
        top = (cs[:, :, -1] > 0).sum(1)
        ms = torch.nn.functional.pad(logits_to_freqs(logits, 16).cumsum(1), (1, 0))  # (a, 257)
        pred, ok = self.match(a)
        mb = torch.clamp(self.mlen[:a], max=cm.MATCH_BUCKETS - 1)
        self._step = (rows, c, pos, cs, ms, top, pred | 256, ok, mb, self.hist[:a] & 0xFFFF)
        self._memo: list[tuple[torch.Tensor, tuple[torch.Tensor, ...]]] = []

    def _begin_compiled(self, logits: torch.Tensor, pos: torch.Tensor) -> None:
        """``begin`` in one compiled loop: the same step state, held as numpy arrays (for the
        compiled loops) and as torch views of them (``_step``; no counts: ``update`` judges
        halving from the prefix sums)."""
        from .stats_kernels import step_inputs
        a, k = logits.shape[0], self.k
        out = [np.empty((a, k), np.int64), np.empty((a, k, 257), np.int32),
               np.empty((a, 257), np.int64), np.empty(a, np.int64), np.empty(a, np.int64),
               np.empty(a, np.bool_), np.empty(a, np.int64), np.empty(a, np.int64)]
        step_inputs(logits.contiguous().numpy(), *self._inputs_args, *out)
        # rows, pos, cs, ms, top, pred, ok, mb, last2
        self._step_np = (out[0], pos.numpy(), *out[1:])
        t = [torch.from_numpy(x) for x in self._step_np]
        self._step = (t[0], None, *t[1:])
        self._memo = []

    def _terms(self, nodes: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """(a, D) nodes -> the inputs and weight indices of the model and the match model
        (a, D) and of the count rows (a, K, D), the mixer's stretch + ST_MAX (a, D) and the two
        APMs' cell indices (a, D)."""
        rows, c, pos, cs, ms, top, pred, ok, mb, last2 = self._step
        a, dd, k = nodes.shape[0], nodes.shape[1], self.k
        depth = self.depth_of[nodes]
        at = self.node_at[nodes].view(a, dd * 3)                            # (a, 3D)
        n = cs.gather(2, at[:, None, :].expand(a, k, dd * 3)).view(a, k, dd, 3).diff(dim=3)
        n0, n1 = n.unbind(3)                                                # (a, K, D)
        s = torch.bucketize(torch.maximum(n0, n1), self.shift_edges)
        st_o = (self.LN[n1 >> s] - self.LN[n0 >> s]).clamp(-ST_MAX, ST_MAX)
        nt = n0 + n1
        det = (torch.minimum(n0, n1) == 0) & (nt > 0)
        b_ord = torch.bucketize(nt, self.edges32, right=True) + cm.T_BUCKETS * det
        i_o = b_ord * 8 + (depth[:, None, :] + self.bbase[None, 1:k + 1, None])
        m0, m1 = self.LN16[ms.gather(1, at).view(a, dd, 3).diff(dim=2)].unbind(2)
        st_m = (m1 - m0).clamp(-ST_MAX, ST_MAX)
        on = ((pred[:, None] >> (8 - depth)) == nodes) & ok[:, None]
        st_x = on * (((pred[:, None] >> (7 - depth)) & 1) * 512 - 256)
        i_m = top[:, None] * 8 + depth + self.bbase[0]                      # (a, D)
        i_x = mb[:, None] * 8 + depth + self.bbase[k + 1]
        w = self.wb
        dot = w[i_m] * st_m + (w[i_o] * st_o).sum(1) + w[i_x] * st_x
        st2 = (dot >> 16).clamp(-ST_MAX, ST_MAX) + ST_MAX                   # 0 .. 2 ST_MAX
        cell = st2 >> 7
        ia = ((last2[:, None] & 255) * 255 + nodes - 1) * APM_CELLS + cell
        h2 = (((last2[:, None] << 8 | nodes) * cm.GOLD) & 0xFFFFFFFF) >> (32 - APM2_BITS)
        return st_m, i_m, st_x, i_x, st_o, i_o, st2, ia, h2 * APM_CELLS + cell + self.apm2_at

    def bit_probs(self, nodes: torch.Tensor) -> torch.Tensor:
        """(a, D) nodes (1..255) -> (a, D) Q16 probabilities that the next bit there is 1.

        Depends only on the state at ``begin``: any nodes, in any grouping, give the same.
        On the CPU one compiled loop (``bit_kernels.node_probs``) computes them; elsewhere
        (``compiled=False``, and in ``torch_bit_probs``) torch does, giving the same integers."""
        if not self.compiled:
            return self.torch_bit_probs(nodes)
        from .bit_kernels import node_probs      # numba: imported (0.3 s) only when needed
        return torch.from_numpy(node_probs(nodes.contiguous().numpy(), *self._kernel_args()))

    def _kernel_args(self) -> list:
        """The state at ``begin`` and the mixer's tables as numpy arrays, in the order the
        compiled loops (``bit_kernels``) take them after their first argument."""
        return list(self._step_np[2:]) + self._np_tables

    def path_probs(self, path: torch.Tensor) -> torch.Tensor:
        """``bit_probs`` of the (a, 8) path of the bytes about to be coded (the encoder). On
        CUDA in torch, keeping the path's terms, which ``update`` needs there anyway."""
        return self.bit_probs(path) if self.compiled else self.torch_bit_probs(path)

    def torch_bit_probs(self, nodes: torch.Tensor) -> torch.Tensor:
        """``bit_probs`` in torch tensor operations (any device); keeps the terms for ``update``."""
        terms = self._terms(nodes)
        self._memo.append((nodes, terms))          # update() reuses the path's terms
        st2, ia, ib = terms[-3:]
        wt = (st2 & 127)[:, None, :]
        ab = self.apm[torch.stack([ia, ib, ia + 1, ib + 1], 1)]               # (a, 4, D) int32
        pa, pb = ((ab[:, :2] * (128 - wt) + ab[:, 2:] * wt) >> 7).unbind(1)
        return ((2 * self.SQ[st2] + 3 * pa + 3 * pb) >> 3).clamp(P_MIN, ONE - P_MIN)

    def _path_terms(self, path: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """``_terms(path)`` for the (a, 8) path nodes: taken from the nodes ``bit_probs`` was
        asked for in this step where they cover the path (the same values: ``_terms`` depends
        only on the state at ``begin``), else computed."""
        if len(self._memo) == 1 and torch.equal(self._memo[0][0], path):
            return self._memo[0][1]                   # the encoder asked for the path itself
        if self._memo:
            nodes = torch.cat([m[0] for m in self._memo], 1)                # (a, M)
            a, cols = nodes.shape
            col = torch.full((a, 256), -1, dtype=torch.int64, device=self.device)
            # a node asked for twice has the same terms in both columns: either one will do
            col.scatter_(1, nodes, torch.arange(cols, device=self.device).expand(a, cols))
            col = col.gather(1, path)                                       # (a, 8)
            if bool((col >= 0).all()):
                k = self.k
                out = []
                for t in zip(*(m[1] for m in self._memo)):
                    t = torch.cat(t, -1)
                    out.append(t.gather(2, col[:, None, :].expand(-1, k, -1)) if t.dim() == 3
                               else t.gather(1, col))
                return tuple(out)
        return self._terms(path)

    def update(self, sym: torch.Tensor) -> None:
        """Learn from the (a,) bytes just coded, at the 8 nodes of each one's path (on the CPU
        in one compiled loop, ``bit_kernels.learn``; elsewhere ``torch_learn``: the same
        integers), then update the counts and the match model."""
        sh = self.learn_shift(sym.shape[0])
        if self.compiled:
            from .bit_kernels import learn
            from .stats_kernels import update_statistics
            y = sym.contiguous().numpy()
            learn(y, *self._kernel_args(), sh, *self._scratch.numpy())
            rows, pos, cs = self._step_np[:3]
            update_statistics(y, rows, cs, pos, *self._update_args)
        else:
            rows, c, pos = self._step[:3]
            self.torch_learn(sym, sh)
            self.update_statistics(sym, rows, c, pos)
        self.coded += sym.shape[0]
        self._step, self._memo = None, []

    def learn_shift(self, a: int) -> int:
        """The weights' learning-rate shift for a step of a streams."""
        return SH + max(a - 1, 0).bit_length() // 2 \
            + min(self.spec.lr_decay_max, (self.coded >> cm.LR_T0).bit_length())

    def torch_learn(self, sym: torch.Tensor, sh: int) -> None:
        """The weights' and APMs' step of ``update`` in torch tensor operations (any device)."""
        nodes, bit = node_bits(sym)                                          # (a, 8)
        st_m, i_m, st_x, i_x, st_o, i_o, st2, ia, ib = self._path_terms(nodes)
        err = (bit << 16) - self.SQ[st2]                                    # the mixer's own error
        idx = torch.cat([i_m.reshape(-1), i_o.reshape(-1), i_x.reshape(-1)])
        g = torch.cat([(err * st_m).reshape(-1), (err[:, None, :] * st_o).reshape(-1),
                       (err * st_x).reshape(-1)])
        step = torch.zeros_like(self.wb).index_add_(0, idx, g)
        self.wb.copy_((self.wb + (step >> sh)).clamp(-cm.W_MAX, cm.W_MAX))
        tgt, wt = (bit << 16).reshape(-1), (st2 & 127).reshape(-1)
        _learn_apm(self.apm, torch.cat([ia.reshape(-1), ib.reshape(-1)]), wt.repeat(2),
                   tgt.repeat(2), self._scratch)
