"""The context mixer's statistics on the CPU as compiled loops (numba).

``ContextMixer``'s torch form gathers the count rows, the model's table and the match model in
~30 small tensor operations per byte step and updates them in ~30 more; for a few streams their
overhead, not the arithmetic, sets the speed (0.55 of 1.1 ms per step on a 5 KB text). These
loops compute the same integers element by element, in phases that read what the torch form
reads before it writes (tests compare the whole mixer state with the torch form on real text):

* ``step_inputs`` = ``ContextMixer._rows`` + ``match`` + the prefix sums of ``BitMixer.begin``
  (``logits_to_freqs`` of the model's logits included);
* ``update_statistics`` = ``ContextMixer.update_statistics``.
"""
from __future__ import annotations

import numpy as np

from ..exact.jit import kernel
from ..exact.tables import LOGIT_MAX
from .context_mix import COUNT_MAX, GOLD, M31, MATCH_BUCKETS, WORD_MUL

HIST_MASK = (1 << 56) - 1      # each stream keeps its last 7 bytes


@kernel
def step_inputs(logits, exp_tab, hist, word, prev_word, masks, salt, hashed, row0, shift,
                counts, mptr, mlen, seen, done, buf, match_min, rows, cs, ms, top, pred, ok,
                mb, last2):
    """What a byte step of a active streams reads, written into the output arrays.

    logits (a, 256) int64 model logits; exp_tab (2 LOGIT_MAX + 1,) the exp table; hist, word,
    prev_word, mptr, mlen, seen (N,) int64, done (n,) bool, buf (n,) uint8 and counts (R, 256)
    int16 the mixer's state (mptr is cleared where its match is dropped, as ``match`` does);
    masks, salt, hashed, row0 (K,) the row rule, shift the hash's right shift.
    Out: rows (a, K) int64; cs (a, K, 257) int32 prefix sums of the rows' counts; ms (a, 257)
    int64 prefix sums of the model's table (total 2^16); top (a,) rows with counts; pred (a,)
    the match's byte | 256; ok (a,) bool; mb (a,) match-length bucket; last2 (a,) last 2 bytes.
    """
    a, k = rows.shape
    n_ord = len(masks)
    n = len(done)
    e = np.empty(256, np.int64)
    for i in range(a):
        h = hist[i]
        # contexts -> rows (``_rows``)
        for j in range(k):
            if j < n_ord:
                ctx = h & masks[j]
            elif j == n_ord:
                ctx = word[i] * 256 + (h & 255)
            else:
                ctx = ((prev_word[i] * (1 << 31) + word[i]) % M31) * 256 + (h & 255)
            if hashed[j]:
                ctx = ((((ctx + salt[j]) % M31) * GOLD) & 0xFFFFFFFF) >> shift
            rows[i, j] = ctx + row0[j]
        # count prefix sums and how many rows have counts
        t = 0
        for j in range(k):
            r = rows[i, j]
            s = np.int32(0)
            cs[i, j, 0] = 0
            for y in range(256):
                s += counts[r, y]
                cs[i, j, y + 1] = s
            if s > 0:
                t += 1
        top[i] = t
        # the model's table (``logits_to_freqs``, total 2^16) as prefix sums
        mx = -LOGIT_MAX
        for y in range(256):
            mx = max(mx, min(max(logits[i, y], -LOGIT_MAX), LOGIT_MAX))
        tot = np.int64(0)
        first = -1
        for y in range(256):
            d = mx - min(max(logits[i, y], -LOGIT_MAX), LOGIT_MAX)
            if d == 0 and first < 0:
                first = y
            e[y] = exp_tab[d]
            tot += e[y]
        fsum = np.int64(0)
        for y in range(256):
            e[y] = e[y] * (65536 - 256) // tot + 1
            fsum += e[y]
        e[first] += 65536 - fsum
        ms[i, 0] = 0
        for y in range(256):
            ms[i, y + 1] = ms[i, y] + e[y]
        # the match model (``match``)
        p = mptr[i]
        good = p >= 0 and done[min(max(p, 0), n - 1)] and seen[i] >= match_min
        if not good:
            p = -1
        mptr[i] = p
        ok[i] = good
        pred[i] = np.int64(buf[max(p, 0)]) | 256
        mb[i] = min(mlen[i], MATCH_BUCKETS - 1)
        last2[i] = h & 0xFFFF


@kernel
def update_statistics(sym, rows, cs, pos, counts, mptr, mlen, buf, done, hist, seen, word,
                      prev_word, mtab, words, match_min, mmask, mshift):
    """``ContextMixer.update_statistics`` for the (a,) bytes ``sym`` coded at ``pos``, with
    the (a, K) ``rows`` and count prefix sums ``cs`` of ``step_inputs``; the state arrays as
    there, mtab (M,) int64 the match table; words (0 or 2), match_min, mmask (the match
    context's mask, -1 for all bits) and mshift the mixer's constants. In place."""
    a, k = rows.shape
    # counts: all streams together, then halve (once) every row whose count of the coded
    # byte was at COUNT_MAX or more before this step
    for i in range(a):
        for j in range(k):
            counts[rows[i, j], sym[i]] += 1
    big = np.empty(a * k, np.int64)
    nb = 0
    for i in range(a):
        y = sym[i]
        for j in range(k):
            if cs[i, j, y + 1] - cs[i, j, y] >= COUNT_MAX:
                big[nb] = rows[i, j]
                nb += 1
    if nb:
        for r in np.unique(big[:nb]):
            for y in range(256):
                counts[r, y] = counts[r, y] >> 1
    # match model: follow or drop the current match (reading buf before this step's bytes)
    for i in range(a):
        p = mptr[i]
        if p >= 0 and buf[p] == sym[i]:
            mlen[i] += 1
            mptr[i] = p + 1
        else:
            mlen[i] = 0
            mptr[i] = -1
    for i in range(a):
        y = sym[i]
        buf[pos[i]] = y
        done[pos[i]] = True
        hist[i] = ((hist[i] << 8) | y) & HIST_MASK
        seen[i] += 1
        if words:
            low = y | 32
            letter = (low >= 97 and low <= 122) or y >= 128
            w = word[i]
            if not letter and w != 0:
                prev_word[i] = w
            word[i] = (w * WORD_MUL + low + 1) % M31 if letter else 0
    # look up each stream's context (all reads first), then record this step's positions:
    # where several streams record one slot, the highest position wins
    mh = np.empty(a, np.int64)
    for i in range(a):
        mh[i] = ((((hist[i] & mmask) % M31) * GOLD) & 0xFFFFFFFF) >> mshift
        cand = mtab[mh[i]]
        if seen[i] >= match_min and mptr[i] < 0 and cand >= 0:
            mptr[i] = cand
    for i in range(a):
        if seen[i] >= match_min:
            mtab[mh[i]] = -1
    for i in range(a):
        if seen[i] >= match_min:
            mtab[mh[i]] = max(mtab[mh[i]], pos[i] + 1)
