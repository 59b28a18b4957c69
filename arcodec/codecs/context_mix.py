"""Integer-exact context mixing on top of a byte model's logits (bytes codec, options bit 6).

A byte model knows language in general; it does not know the file in hand. The mixer adds
what the file itself has shown so far, the way PAQ-style coders do, and learns online how
much to trust each source. Everything is int64 arithmetic on tensors (and float64 products
with integer terms, proven exact), so encoder and decoder, on any device, compute the same
tables. Measured on unseen parts of text-train (4 x 150 KB, mixer 1): 2.015 -> 1.679 bits/byte.

Sources, for each stream j predicting its next byte (N active streams, 256 symbols):
  * the model's logits ``z0`` (N, 256) in LOGIT_ONE units per nat;
  * order-k counts, k in ORDERS: a table row per context (the stream's last k bytes; order 2
    exact, higher orders hashed into ``rows`` rows), 256 counts per row, shared by all
    streams; feature ``LN[c]`` = round(LOGIT_ONE * ln(c + alpha)) per symbol (an additive estimate's
    log-probability up to a per-row constant, which softmax ignores);
  * word contexts (mixer 2): a hash of the letters of the current word and the last byte, and
    the same with the previous word too (letters: ASCII a-z, case folded, and bytes >= 128);
  * a match model: the byte that followed the last occurrence of the stream's last ``match_min``
    bytes anywhere in the already-coded data; feature LOGIT_ONE on that byte, 0 elsewhere.

Mixed logits: ``z = sum_i (w_i[b_i] * x_i) >> W_FRAC`` (geometric mixing), where each source's
weight is chosen by a confidence bucket ``b_i`` (row total and whether the row is deterministic;
match length; for the model, how many orders have counts). Weights are Q16 int64, updated by
an integer gradient step after every byte:
  g_i = sum_s (f_s - 2^16 [s = y]) * x_i[s]        (exact int64: the NLL gradient in Q units)
  w_i[b] -= (sum over streams in bucket b of g_i) >> (max(LR_MIN_SHIFT, LR_SHIFT + log2 N) + d)
with d = min(lr_decay_max, bit_length(bytes coded so far >> 18)) (mixer 2; 0 in mixer 1).
Counts are bumped after every byte (all streams of a step together, then rows past COUNT_MAX
are halved), so the same updates happen in the same order in encoder and decoder.

The constants are part of the format. This class is mixers 1 (options bit 6 alone, the first
release) and 2 (bits 6 and 8); mixers 3 and 4 (``bit_mix.py``: bits 6 and 9, 6 and 10) keep
mixer 2's statistics and mix in the bit tree (mixer 4: what new files use). Mixer 2, tuned on
training text (4 MiB of text-train books: 1.8898 -> 1.8186 bits/byte), adds the word contexts,
follows matches of 8 bytes instead of 6, sharpens the count features (alpha 1/16 instead of
1/2), lets the hashed tables grow to 2^18 rows instead of 2^16 and lowers the learning rate as
the input grows (the rate is near its edge of stability on long inputs: with LR_SHIFT 6
instead of 7 the mixer diverged on bible.txt, 2.64 bits/byte).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, getcontext
from functools import lru_cache

import torch

from ..exact.tables import LOGIT_MAX, LOGIT_ONE, logits_to_freqs

ORDERS = (2, 3, 4, 6)      # context orders of the count tables (order 1 measured: no gain)
HASHED_FROM = 3            # orders >= this are hashed into ``rows`` rows
COUNT_MAX = 1023           # a row with a count above this is halved (keeps the model adaptive)
MATCH_BITS = 22            # the match model's hash table has up to 2^22 entries
MATCH_BUCKETS = 16         # match-length buckets: min(len, 15)
T_BUCKETS = 10             # row-total buckets: bit_length(total) capped at 9, x2 deterministic
W_FRAC = 16                # weights are Q16
W_MAX = 1 << 22            # |w| <= 64.0
LR_SHIFT = 7               # learning-rate shift (tuned on unseen parts of text-train)
LR_MIN_SHIFT = 12          # ... but never larger steps than a mean over 32 streams
W_ORD0 = 13000             # initial order weights (Q16, about 0.2)
W_MATCH0 = 1 << 16         # initial match weights (Q16, 1.0)
M31 = 2**31 - 1
GOLD = 2654435761          # Knuth's multiplicative hash constant (< 2^32)
LR_T0 = 18                 # the learning rate halves at 2^18, 2^19, ... coded bytes (mixer 2)
WORD_MUL = 271             # word hash: h <- (h * WORD_MUL + letter + 1) mod M31


@dataclass(frozen=True)
class MixerSpec:
    """What differs between the mixer versions (each one a fixed part of the format)."""
    words: int          # word contexts: 0, or 2 (current word; current and previous word)
    match_min: int      # bytes that must agree for the match model to follow a match
    alpha: str          # count feature LN[c] = round(LOGIT_ONE * ln(c + alpha)) (decimal text)
    rows_max: int       # hashed tables have at most 2^rows_max rows
    lr_decay_max: int   # at most this many extra halvings of the learning rate as input grows


MIXERS = {1: MixerSpec(words=0, match_min=6, alpha="0.5", rows_max=16, lr_decay_max=0),
          2: MixerSpec(words=2, match_min=8, alpha="0.0625", rows_max=18, lr_decay_max=2),
          # mixer 3 keeps mixer 2's statistics and mixes in the bit tree (bit_mix.BitMixer)
          3: MixerSpec(words=2, match_min=8, alpha="0.0625", rows_max=18, lr_decay_max=2),
          # mixer 4 mixes as mixer 3 and codes nibbles instead of bits (bit_tables.py)
          4: MixerSpec(words=2, match_min=8, alpha="0.0625", rows_max=18, lr_decay_max=2)}
LATEST = 4                 # what new files use (mixer 4: bit_mix.BitMixer, nibble tables)


@lru_cache(maxsize=None)
def _ln_list(alpha: str) -> tuple[int, ...]:
    getcontext().prec = 40
    # counts may pass COUNT_MAX by up to one per stream before their row is halved
    return tuple(int((Decimal(LOGIT_ONE) * (Decimal(c) + Decimal(alpha)).ln())
                     .to_integral_value()) for c in range(COUNT_MAX + 258))


def table_rows(n: int, rows_max: int = 16) -> int:
    """Rows of each hashed count table for an n-byte input: a power of two in [2^10, 2^rows_max]."""
    return 1 << min(rows_max, max(10, (max(n, 1) - 1).bit_length()))


class ContextMixer:
    """Mixes a byte model's logits with order-k counts and a match model (see module doc).

    Use per coding run (it learns): ``freqs(logits, pos)`` then ``update(sym)`` for every step,
    with ``pos`` (a,) the positions of the a active streams (a prefix of the streams).

    Sources: the model's logits (a, 256), the count features X (a, K, 256) (|X| < 2^10;
    K = orders + word contexts) and the match feature; each stream picks one weight per source, Wsel (a, S),
    S = K + 2, |w| <= W_MAX = 2^22. The products ``Wsel @ X`` (mixing) and ``X @ err``
    (gradient, |err| <= 2^16) run in float64: every term is an integer and every sum is below
    2^53 (S * 2^22 * 2^10 < 2^36; 256 * 2^16 * 2^10 = 2^34), so they are exact in any
    summation order, on any device.
    """

    binary = False     # mixes byte tables (``freqs``); see bit_mix.BitMixer for binary coding

    def __init__(self, n: int, n_streams: int, device: torch.device | str = "cpu",
                 version: int = 2):
        dev = self.device = torch.device(device)
        i64 = dict(dtype=torch.int64, device=dev)
        spec = self.spec = MIXERS[version]
        k = self.k = len(ORDERS) + spec.words
        self.n = n
        self.rows = table_rows(n, spec.rows_max)
        sizes = [256 ** o if o < HASHED_FROM else self.rows for o in ORDERS] + [self.rows] * spec.words
        self.row0 = torch.tensor([sum(sizes[:i]) for i in range(k)], **i64)   # (K,)
        self.counts = torch.zeros(sum(sizes), 256, dtype=torch.int16, device=dev)
        self.ln = torch.tensor(_ln_list(spec.alpha), dtype=torch.float64, device=dev)
        self.hist = torch.zeros(n_streams, **i64)      # last 7 bytes of each stream
        self.seen = torch.zeros(n_streams, **i64)      # bytes coded per stream
        self.buf = torch.zeros(max(n, 1), dtype=torch.uint8, device=dev)   # bytes coded so far
        self.done = torch.zeros(max(n, 1), dtype=torch.bool, device=dev)
        self.mrows = 1 << min(MATCH_BITS, max(10, (max(n, 1) - 1).bit_length()))
        self.mtab = torch.full((self.mrows,), -1, **i64)
        self.mptr = torch.full((n_streams,), -1, **i64)
        self.mlen = torch.zeros(n_streams, **i64)
        # one weight vector: [model by top order (K+1)] [order i by total bucket (K x 2T)]
        # [match by length (MB)]; ``base`` is where each source's weights start
        self.w = torch.cat([torch.full((k + 1,), 1 << W_FRAC, **i64),
                            torch.full((k * 2 * T_BUCKETS,), W_ORD0, **i64),
                            torch.full((MATCH_BUCKETS,), W_MATCH0, **i64)])
        self.base = torch.tensor([0] + [k + 1 + 2 * T_BUCKETS * i for i in range(k)]
                                 + [k + 1 + 2 * T_BUCKETS * k], **i64)          # (S,)
        self.edges = torch.tensor([1 << i for i in range(T_BUCKETS - 1)], **i64)
        self.masks = torch.tensor([(1 << (8 * o)) - 1 for o in ORDERS], **i64)
        self.salt = torch.tensor(list(ORDERS) + [101, 102][:spec.words], **i64)
        self.hashed = torch.tensor([o >= HASHED_FROM for o in ORDERS] + [True] * spec.words,
                                   device=dev)
        self.word = torch.zeros(n_streams, **i64)      # hash of each stream's current word
        self.prev_word = torch.zeros(n_streams, **i64)
        self.coded = 0                                 # bytes coded so far (all streams)
        self._last = None

    # -- contexts -------------------------------------------------------------------------
    def _rows(self, a: int) -> torch.Tensor:
        """(a, K) rows of the count table for each stream's contexts."""
        ctx = self.hist[:a, None] & self.masks                          # (a, orders)
        if self.spec.words:
            last, w = self.hist[:a] & 255, self.word[:a]
            both = (self.prev_word[:a] * (1 << 31) + w) % M31       # < 2^62
            ctx = torch.cat([ctx, torch.stack([w * 256 + last, both * 256 + last], 1)], 1)
        hsh = ((((ctx + self.salt) % M31) * GOLD) & 0xFFFFFFFF) >> (33 - self.rows.bit_length())
        return torch.where(self.hashed, hsh, ctx) + self.row0

    def _mhash(self, a: int) -> torch.Tensor:
        ctx = self.hist[:a] & ((1 << (8 * self.spec.match_min)) - 1)
        return (((ctx % M31) * GOLD) & 0xFFFFFFFF) >> (33 - self.mrows.bit_length())

    # -- prediction -----------------------------------------------------------------------
    def match(self, a: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(pred, ok), each (a,): the byte each stream's match predicts and whether it has one
        (a match whose next byte is not coded yet is dropped)."""
        ptr = self.mptr[:a]
        ok = (ptr >= 0) & self.done[ptr.clamp(0, self.n - 1)] \
            & (self.seen[:a] >= self.spec.match_min)
        ptr = torch.where(ok, ptr, torch.full_like(ptr, -1))
        self.mptr[:a] = ptr
        return self.buf[ptr.clamp(min=0)].to(torch.int64), ok

    def freqs(self, logits: torch.Tensor, pos: torch.Tensor, total_bits: int = 16) -> torch.Tensor:
        """(a, 256) model logits, (a,) positions -> (a, 256) int64 frequencies (sum 2^bits)."""
        a, k = logits.shape[0], self.k
        ar = torch.arange(a, device=self.device)
        rows = self._rows(a)                                            # (a, K)
        c = self.counts.index_select(0, rows.reshape(-1)).view(a, k, 256).to(torch.int64)
        tot = c.sum(2)                                                  # (a, K)
        det = (c.max(2).values == tot) & (tot > 0)
        b_ord = torch.bucketize(tot, self.edges, right=True) + T_BUCKETS * det
        top = (tot > 0).sum(1)            # orders are nested: contexts seen = the lowest ones
        pred, ok = self.match(a)
        xo = self.ln.index_select(0, c.reshape(-1)).view(a, k, 256)     # LN[c]
        mb = torch.clamp(self.mlen[:a], max=MATCH_BUCKETS - 1)
        idx = torch.cat([top[:, None], b_ord, mb[:, None]], 1) + self.base  # (a, S)
        wsel = self.w[idx].to(torch.float64)
        z = torch.bmm(wsel[:, None, 1:k + 1], xo)[:, 0] + wsel[:, :1] * logits
        z[ar, pred] += wsel[:, k + 1] * (LOGIT_ONE * ok)
        z = torch.floor(z / (1 << W_FRAC)).to(torch.int64)
        z = (z - z.max(1, keepdim=True).values + LOGIT_MAX).clamp(min=-LOGIT_MAX)
        f = logits_to_freqs(z, total_bits)
        self._last = (logits, xo, pred, ok, idx, rows, c, pos, f, total_bits)
        return f

    # -- learning -------------------------------------------------------------------------
    def update(self, sym: torch.Tensor) -> None:
        """Learn from the (a,) bytes just coded at the positions given to ``freqs``."""
        logits, xo, pred, ok, idx, rows, c, pos, f, bits = self._last
        a = sym.shape[0]
        ar = torch.arange(a, device=self.device)
        err = f.clone()
        err[ar, sym] -= 1 << bits                                   # f - 2^bits * onehot
        g = torch.cat([(err * logits).sum(1, keepdim=True),
                       torch.bmm(xo, err.to(torch.float64)[:, :, None])[:, :, 0].to(torch.int64),
                       (err[ar, pred] * (LOGIT_ONE * ok))[:, None]], 1)          # (a, S)
        sh = max(LR_MIN_SHIFT, LR_SHIFT + max(a - 1, 0).bit_length()) \
            + min(self.spec.lr_decay_max, (self.coded >> LR_T0).bit_length())
        self.coded += a
        step = torch.zeros_like(self.w).index_add_(0, idx.reshape(-1), g.reshape(-1))
        self.w = (self.w - (step >> sh)).clamp(-W_MAX, W_MAX)
        self.update_statistics(sym, rows, c, pos)

    def update_statistics(self, sym: torch.Tensor, rows: torch.Tensor, c: torch.Tensor,
                          pos: torch.Tensor) -> None:
        """Bump the counts of the (a, K) ``rows`` (whose counts before this step were ``c``,
        (a, K, 256)), follow the match model and record the (a,) bytes ``sym`` coded at ``pos``."""
        a = sym.shape[0]
        ar = torch.arange(a, device=self.device)
        # counts: all streams of this step together, then halve rows that went past COUNT_MAX
        # (judged from the count before this step, so the rule does not depend on the order)
        r = rows.reshape(-1)
        sy = sym[:, None].expand(a, self.k).reshape(-1)
        self.counts.index_put_((r, sy), torch.ones_like(r, dtype=torch.int16), accumulate=True)
        big = r[(c[ar, :, sym] >= COUNT_MAX).reshape(-1)]
        self.counts[big] = self.counts[big] >> 1

        # match model: follow or drop the current match, then look up / record the context
        ptr = self.mptr[:a]
        hit = (ptr >= 0) & (self.buf[ptr.clamp(min=0)] == sym)
        self.mlen[:a] = torch.where(hit, self.mlen[:a] + 1, torch.zeros_like(ptr))
        self.mptr[:a] = torch.where(hit, ptr + 1, torch.full_like(ptr, -1))
        self.buf[pos] = sym.to(torch.uint8)
        self.done[pos] = True
        self.hist[:a] = ((self.hist[:a] << 8) | sym) & ((1 << 56) - 1)
        self.seen[:a] += 1
        if self.spec.words:
            low = sym | 32
            letter = ((low >= 97) & (low <= 122)) | (sym >= 128)
            w = self.word[:a]
            self.prev_word[:a] = torch.where(~letter & (w != 0), w, self.prev_word[:a])
            self.word[:a] = torch.where(letter, (w * WORD_MUL + low + 1) % M31, torch.zeros_like(w))
        mh = self._mhash(a)
        full = self.seen[:a] >= self.spec.match_min
        cand = self.mtab[mh]
        new = full & (self.mptr[:a] < 0) & (cand >= 0)
        self.mptr[:a] = torch.where(new, cand, self.mptr[:a])
        # several streams may record the same hash in one step: the highest position wins
        self.mtab.scatter_reduce_(0, mh[full], (pos + 1)[full], reduce="amax", include_self=False)

