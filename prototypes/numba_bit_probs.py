"""Prototype (not on main): mixer 4's bit_probs as one numba kernel; checks equality with the
torch path and times both (2026-11-24, 1 MiB of bible.txt after 300 steps, 256 streams,
a 15-node subtree: equal; torch 1474-1850 us, numba 220-242 us per call).

Run: PYTHONPATH=<numba>:. python prototypes/numba_bit_probs.py (needs .dev/tfast.py's setup
inlined below)."""
import time, numpy as np, torch, arcodec
from arcodec.codecs import bytes_stream as bs, bit_mix as bm, context_mix as cm
ST_MAX, APM_CELLS = bm.ST_MAX, bm.APM_CELLS
data = open("/work/shared/data/text/large/bible.txt", "rb").read()[:1 << 20]
ns = bs.streams_for(len(data)); buf = np.frombuffer(data, np.uint8)
mx = bm.BitMixer(len(data), ns, "cpu", 4)
steps = list(bs._steps(len(data), ns))
for k, a, pos in steps[:300]:
    mx.begin(torch.zeros(a, 256, dtype=torch.int64), torch.from_numpy(pos)); sy = torch.from_numpy(buf[pos].astype(np.int64))
    mx.bit_probs(bm.node_bits(sy)[0]); mx.update(sy)
k, a, pos = steps[300]
mx.begin(torch.randint(-2000, 2000, (a, 256)), torch.from_numpy(pos))
hi = torch.from_numpy(buf[pos].astype(np.int64)) >> 4
sub = torch.from_numpy((np.ones(a, np.int64)[:, None] << bs._SUB_LEVEL[4]) + bs._SUB_OFFSET[4])
sub2 = ((16 + hi)[:, None] << torch.from_numpy(bs._SUB_LEVEL[4])) + torch.from_numpy(bs._SUB_OFFSET[4])

import time, numpy as np, torch, numba
from numba import njit, prange
from arcodec.codecs import bytes_stream as bs, bit_mix as bm, context_mix as cm

@njit(cache=True)
def probs(nodes, cs, ms, top, pred, ok, mb, last2, wb, bbase, LN, LN16, SQ, apm, sh_e, ed, apm2_at):
    a, D = nodes.shape
    K = cs.shape[1]
    out = np.empty((a, D), np.int64)
    for i in range(a):
        for j in range(D):
            v = nodes[i, j]
            d = 0
            while (v >> (d + 1)) > 0:
                d += 1
            lo = (v << (8 - d)) - 256
            half = 1 << (7 - d)
            a0, a1, a2 = lo, lo + half, lo + 2 * half
            dot = 0
            for k in range(K):
                n0 = np.int64(cs[i, k, a1] - cs[i, k, a0]); n1 = np.int64(cs[i, k, a2] - cs[i, k, a1])
                mx = max(n0, n1)
                s = 0
                while s < 9 and sh_e[s] < mx:
                    s += 1
                st = np.int64(LN[n1 >> s]) - np.int64(LN[n0 >> s])
                st = min(max(st, -2047), 2047)
                nt = n0 + n1
                b = 0
                while b < 9 and ed[b] <= nt:
                    b += 1
                if min(n0, n1) == 0 and nt > 0:
                    b += 10
                dot += wb[b * 8 + d + bbase[1 + k]] * st
            stm = LN16[ms[i, a2] - ms[i, a1]] - LN16[ms[i, a1] - ms[i, a0]]
            stm = min(max(stm, -2047), 2047)
            dot += wb[top[i] * 8 + d + bbase[0]] * stm
            p = pred[i]
            if ok[i] and (p >> (8 - d)) == v:
                stx = ((p >> (7 - d)) & 1) * 512 - 256
                dot += wb[mb[i] * 8 + d + bbase[K + 1]] * stx
            st2 = min(max(dot >> 16, -2047), 2047) + 2047
            cell = st2 >> 7
            l2 = last2[i]
            ia = ((l2 & 255) * 255 + v - 1) * 33 + cell
            h2 = ((((l2 << 8) | v) * 2654435761) & 0xFFFFFFFF) >> 16
            ib = h2 * 33 + cell + apm2_at
            wt = st2 & 127
            pa = (np.int64(apm[ia]) * (128 - wt) + np.int64(apm[ia + 1]) * wt) >> 7
            pb = (np.int64(apm[ib]) * (128 - wt) + np.int64(apm[ib + 1]) * wt) >> 7
            out[i, j] = min(max((2 * SQ[st2] + 3 * pa + 3 * pb) >> 3, 32), 65536 - 32)
    return out

def nb_probs(self, nodes):
    rows, c, pos, cs, ms, top, pred, ok, mb, last2 = self._step
    f = lambda t: t.numpy()
    return probs(f(nodes), f(cs), f(ms), f(top), f(pred), f(ok), f(mb), f(last2), f(self.wb), f(self.bbase),
                 f(self.LN), f(self.LN16), f(self.SQ), f(self.apm), f(self.shift_edges), f(self.edges32), self.apm2_at)
for nd in (sub, sub2):
    r0 = mx.bit_probs(nd).numpy(); mx._memo.clear()
    r1 = nb_probs(mx, nd)
    print("equal", np.array_equal(r0, r1))
def t(f, n=300):
    f(); t0 = time.perf_counter()
    for _ in range(n): f()
    return (time.perf_counter() - t0) / n * 1e6
for _ in range(3):
    print("torch %.0f us  numba %.0f us" % (t(lambda: (mx.bit_probs(sub2), mx._memo.clear())), t(lambda: nb_probs(mx, sub2))))
