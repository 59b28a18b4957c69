"""Prototype (not in the file format): binary-decomposition mixing over the context mixer's
byte-count rows, measured by replay on training text (issue 4, the bible.txt target).

    python -m benchmarks.bitmix_prototype --set books4 [--bytes N] [--sh 12] [--apm] [--no-model]

Instead of mixing byte logits (mixer 2), every byte is seen as a path of 8 binary decisions in
the 255-node bit tree. For each stream and node: the count sources' inputs are
st_i = LN[n1] - LN[n0] (n0, n1: the row's counts under the node's two children, in 1/256 nat
units), the model's input is the same of its frequency table, the match model gives +-256 on
the predicted byte's path. The node's probability is squash(sum_i w_i st_i), each weight chosen
by (source, bucket of n0 + n1 and whether the node is deterministic, depth); ``--apm`` adds an
adaptive probability map keyed by (last byte, node) over 33 stretch buckets, averaged 1:3 with
the mixer. The byte table is the product of the node probabilities down the tree (split of
2^30 at every node, exact), then ``e * (2^16 - 256) // 2^30 + 1`` like ``logits_to_freqs``.
Weights, maps and counts learn after every byte from the 8 nodes of its path. All int64.

Measured (books4, 4 MiB, cached logits of charrnn-text; mixer 2: 1.7635 bits/byte, 72 s):
bit tree, weight shift 12: 1.7469 (-0.94%, 396 s); shift 14: 1.7525; with the APM: 1.7417
(-1.24%, 838 s, two runs sharing 2 cores); adaptive state maps in place of LN: 1.7487.
Without the model (``--no-model``, first MiB of books4; zpaq -m5: 1.7454): mixer 2 1.9231
(22 s), bit tree 1.8398 (-4.3%, 96 s), with the APM 1.8244 (-5.1%, 241 s). Its cost per step,
4.4x mixer 2's (11x with the APM as written), is more than the 20 KB/s CPU target can take.
"""
from __future__ import annotations

import argparse
import sys
import time
from decimal import Decimal, getcontext
from functools import lru_cache

import torch

from arcodec.codecs import context_mix as cm
from arcodec.errors import ArcodecError
from arcodec.exact.tables import logits_to_freqs

from . import mixer_replay as mr

ST_MAX = 2047          # stretch domain: 1/256 nat units
CAP = 4095             # count tables cover 0..CAP; larger pairs are shifted down together


@lru_cache(maxsize=None)
def _ln(beta: str, cap: int) -> tuple[int, ...]:
    """round(256 ln(c + beta)) for c = 0..cap (c = 0 and beta = 0: the value for 0.5)."""
    getcontext().prec = 30
    return tuple(int((Decimal(256) * (Decimal(c) + Decimal(beta) if c or float(beta) else
                                      Decimal("0.5")).ln()).to_integral_value())
                 for c in range(cap + 1))


@lru_cache(maxsize=None)
def _squash() -> tuple[int, ...]:
    """p1 in Q16, clamped to [1, 65535], for st = -ST_MAX .. ST_MAX."""
    getcontext().prec = 30
    return tuple(max(1, min(65535, int((Decimal(65536) / (1 + (Decimal(-d) / 256).exp()))
                                       .to_integral_value())))
                 for d in range(-ST_MAX, ST_MAX + 1))


def tree_sums(c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(..., 256) leaf counts -> (n0, n1), each (..., 255): the counts under the two children
    of every node of the bit tree, in heap order (node id 1..255 at index id - 1)."""
    levels = [c]
    for _ in range(7):
        levels.append(levels[-1].view(*c.shape[:-1], -1, 2).sum(-1))
    # levels[7 - d] holds the 2^(d+1) children of the depth-d nodes
    return (torch.cat([levels[7 - d][..., 0::2] for d in range(8)], -1),
            torch.cat([levels[7 - d][..., 1::2] for d in range(8)], -1))


def path(sym: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(a,) bytes -> (node index (a, 8), bit (a, 8)) of each byte's path from the root."""
    d8 = torch.arange(8, device=sym.device)
    return ((256 | sym[:, None]) >> (8 - d8)) - 1, (sym[:, None] >> (7 - d8)) & 1


class BitTreeMixer(cm.ContextMixer):
    """Same interface and statistics as ``ContextMixer`` (version 2); mixes in the bit tree."""

    def __init__(self, n: int, n_streams: int, sh: int = 12, apm: bool = False,
                 apm_rate: int = 6, beta: str = "0.4"):
        super().__init__(n, n_streams, "cpu", 2)
        i64 = dict(dtype=torch.int64)
        self.LN = torch.tensor(_ln(beta, CAP), **i64)
        self.LN16 = torch.tensor(_ln("0", 1 << 16), **i64)
        self.SQ = torch.tensor(_squash(), **i64)
        self.sh, self.apm, self.apm_rate = sh, apm, apm_rate
        k = self.k
        self.depth = torch.tensor([v.bit_length() - 1 for v in range(1, 256)], **i64)
        # weights by depth: model (K+1 by top order), order i (2T buckets), match (MB)
        self.wb = torch.cat([torch.full(((k + 1) * 8,), 1 << 16, **i64),
                             torch.full((k * 2 * cm.T_BUCKETS * 8,), int(0.3 * 65536), **i64),
                             torch.full((cm.MATCH_BUCKETS * 8,), 65536 // 2, **i64)])
        self.bbase = torch.tensor([0] + [(k + 1 + 2 * cm.T_BUCKETS * i) * 8 for i in range(k)]
                                  + [(k + 1 + 2 * cm.T_BUCKETS * k) * 8], **i64)
        self.shift_edges = torch.tensor([(CAP + 1) * (1 << i) - 1 for i in range(9)], **i64)
        if apm:
            st = ((torch.arange(33, **i64) - 16) * 128).clamp(-ST_MAX, ST_MAX)
            self.apm_t = self.SQ[st + ST_MAX].repeat(256 * 255)

    def freqs(self, logits: torch.Tensor, pos: torch.Tensor, total_bits: int = 16) -> torch.Tensor:
        """(a, 256) model logits, (a,) positions -> (a, 256) int64 frequencies."""
        a, k = logits.shape[0], self.k
        rows = self._rows(a)
        c = self.counts.index_select(0, rows.reshape(-1)).view(a, k, 256).to(torch.int64)
        top = (c.sum(2) > 0).sum(1)
        n0, n1 = tree_sums(c)                                          # (a, K, 255)
        s = torch.bucketize(torch.maximum(n0, n1), self.shift_edges)
        st_o = (self.LN[n1 >> s] - self.LN[n0 >> s]).clamp(-ST_MAX, ST_MAX)
        nt = n0 + n1
        det = ((n0 == 0) | (n1 == 0)) & (nt > 0)
        b_ord = torch.bucketize(nt, self.edges, right=True) + cm.T_BUCKETS * det
        m0, m1 = tree_sums(logits_to_freqs(logits, 16))                 # (a, 255)
        st_m = (self.LN16[m1] - self.LN16[m0]).clamp(-ST_MAX, ST_MAX)
        pred, ok = self.match(a)
        pnode, pbit = path(pred)
        st_x = torch.zeros(a, 255, dtype=torch.int64).scatter_(
            1, pnode, (2 * pbit - 1) * 256 * ok[:, None])
        mb = torch.clamp(self.mlen[:a], max=cm.MATCH_BUCKETS - 1)
        i_m = top[:, None] * 8 + self.depth + self.bbase[0]                 # (a, 255)
        i_o = b_ord * 8 + self.depth + self.bbase[1:k + 1, None]            # (a, K, 255)
        i_x = mb[:, None] * 8 + self.depth + self.bbase[k + 1]              # (a, 255)
        w = self.wb
        dot = w[i_m] * st_m + (w[i_o] * st_o).sum(1) + w[i_x] * st_x
        stm = (dot >> 16).clamp(-ST_MAX, ST_MAX)
        p1 = self.SQ[stm + ST_MAX]                                          # (a, 255) Q16
        pf, amap = p1, None
        if self.apm:
            st2 = stm + ST_MAX
            ia = ((self.hist[:a] & 255)[:, None] * 255 + torch.arange(255)) * 33 + (st2 >> 7)
            wt = st2 & 127
            pa = (self.apm_t[ia] * (128 - wt) + self.apm_t[ia + 1] * wt) >> 7
            pf, amap = ((p1 + 3 * pa) >> 2).clamp(32, 65536 - 32), (ia, wt)
        e = torch.full((a, 1), 1 << 30, dtype=torch.int64)
        for d in range(8):                       # split 2^30 down the tree: sums stay exact
            r = (e * pf[:, (1 << d) - 1:(2 << d) - 1]) >> 16
            e = torch.stack([e - r, r], 2).reshape(a, -1)
        total = 1 << total_bits
        f = e * (total - 256) // (1 << 30) + 1
        f = f.scatter_add(1, e.argmax(1, keepdim=True), total - f.sum(1, keepdim=True))
        self._last = (st_m, st_o, st_x, i_m, i_o, i_x, p1, amap, rows, c, pos)
        return f

    def update(self, sym: torch.Tensor) -> None:
        """Learn from the (a,) bytes just coded at the positions given to ``freqs``."""
        st_m, st_o, st_x, i_m, i_o, i_x, p1, amap, rows, c, pos = self._last
        a, k = sym.shape[0], self.k
        node, bit = path(sym)                                               # (a, 8)
        nk = node[:, None, :].expand(a, k, 8)
        err = (bit << 16) - p1.gather(1, node)                              # (a, 8) Q16
        idx = torch.cat([i_m.gather(1, node).reshape(-1), i_o.gather(2, nk).reshape(-1),
                         i_x.gather(1, node).reshape(-1)])
        g = torch.cat([(err * st_m.gather(1, node)).reshape(-1),
                       (err[:, None, :] * st_o.gather(2, nk)).reshape(-1),
                       (err * st_x.gather(1, node)).reshape(-1)])
        sh = self.sh + max(a - 1, 0).bit_length() // 2 \
            + min(self.spec.lr_decay_max, (self.coded >> cm.LR_T0).bit_length())
        self.coded += a
        step = torch.zeros_like(self.wb).index_add_(0, idx, g)
        self.wb = (self.wb + (step >> sh)).clamp(-cm.W_MAX, cm.W_MAX)
        if amap is not None:          # each cell moves by the mean of its targets this step
            ia, wt = (t.gather(1, node).reshape(-1) for t in amap)
            tgt = (bit << 16).reshape(-1)
            for j, wj in ((ia, 128 - wt), (ia + 1, wt)):
                dp = ((tgt - self.apm_t[j]) * wj) >> (7 + self.apm_rate)
                s2 = torch.zeros_like(self.apm_t).index_add_(0, j, dp)
                cnt = torch.zeros_like(self.apm_t).index_add_(0, j, torch.ones_like(j))
                self.apm_t = (self.apm_t + s2 // cnt.clamp(min=1)).clamp(16, 65536 - 16)
        self.update_statistics(sym, rows, c, pos)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    mr.input_args(ap)
    ap.add_argument("--sh", type=int, default=12, help="weight learning-rate shift")
    ap.add_argument("--apm", action="store_true", help="add the (last byte, node) APM stage")
    a = ap.parse_args()
    data, logits = mr.replay_input(a)
    torch.set_num_threads(1)
    t = time.time()
    bits = mr.replay(data, logits, lambda n, ns: BitTreeMixer(n, ns, a.sh, a.apm))
    print(f"{a.set or 'files'} ({len(data):,} bytes) bit tree (sh {a.sh}{', APM' if a.apm else ''})"
          f"{' without the model' if a.no_model else ''}: {bits / max(len(data), 1):.4f}"
          f" bits/byte ({time.time() - t:.0f} s)")


if __name__ == "__main__":
    try:
        main()
    except (OSError, ArcodecError) as e:
        sys.exit(f"bitmix_prototype: {e}")
