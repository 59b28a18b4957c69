"""Any bytes, coded by a byte-level recurrent model over N parallel streams.

The input of n bytes is cut into N = streams_for(n) contiguous segments; segment j has
``n // N + (j < n % N)`` bytes, so at every step the active segments are a prefix 0..a-1. Each
segment starts from the zero state. Step k codes byte k of every active segment, position-major.
The encoder runs exactly the decoder's step loop (the model's ``step``), feeding the range
coder as it goes, so memory stays O(N) beyond the input and output buffers.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch

from .. import coding
from . import bit_tables
from .bit_mix import make_mixer, node_bits

STREAM_BYTES = 2048    # target bytes per stream (measured cost of 2 KB streams: +0.16% on alice29)
MAX_STREAMS = 256      # upper bound on N (kept in the header, so it may change later)


def streams_for(n: int) -> int:
    """Number of parallel streams for an input of n bytes (0 for the empty input)."""
    return 0 if n == 0 else max(1, min(MAX_STREAMS, math.ceil(n / STREAM_BYTES)))


def layout(n: int, n_streams: int) -> tuple[np.ndarray, int, int]:
    """(starts (N,) int64, base length L, r): stream j starts at starts[j], has L + (j < r) bytes."""
    base, r = divmod(n, n_streams)
    j = np.arange(n_streams, dtype=np.int64)
    return j * base + np.minimum(j, r), base, r


def _steps(n: int, n_streams: int):
    """Yield (step k, active streams a, positions (a,)) for every step."""
    starts, base, r = layout(n, n_streams)
    for k in range(base + (1 if r else 0)):
        a = n_streams if k < base else r
        yield k, a, starts[:a] + k


# The binary decoder asks for the probabilities of a subtree of 4 levels below the
# current node at once, twice (15 nodes each: fewer, larger tensor operations than one node at a time;
# the probabilities do not depend on which nodes are asked for). Level-major node layout:
# node v's subtree of L levels is (v << _SUB_LEVEL[L]) + _SUB_OFFSET[L].
DECODE_LEVELS = (4, 4)
_SUB_LEVEL = {L: np.array([lv for lv in range(L) for _ in range(1 << lv)]) for L in DECODE_LEVELS}
_SUB_OFFSET = {L: np.array([o for lv in range(L) for o in range(1 << lv)]) for L in DECODE_LEVELS}


class _Tables:
    """The one source of the coder's tables for encoder and decoder: the model's own, the
    model's logits mixed with the file's statistics (``ContextMixer``: one 256-symbol table per
    byte), or mixed in the bit tree (``BitMixer``, ``bit_tables``: per byte 8 binary tables,
    coded depth by depth: all streams' bits of depth 0, then of depth 1, ...; or 2 nibble
    tables: all streams' high nibbles, then their low nibbles)."""

    def __init__(self, model, n: int, n_streams: int, mix: int):
        self.model = model
        self.mixer = make_mixer(mix, n, n_streams, model.device) if mix else None
        self.binary = self.mixer is not None and self.mixer.binary
        self.nibbles = self.binary and self.mixer.nibbles

    def freqs(self, state, pos: np.ndarray) -> np.ndarray:
        """(a,) positions -> (a, 256) int64 frequency table of each active stream."""
        if self.mixer is None:
            return self.model.freqs(state).cpu().numpy()
        p = torch.from_numpy(pos).to(self.model.device)
        return self.mixer.freqs(self.model.logits(state), p).cpu().numpy()

    def encode(self, enc: coding.Encoder, state, pos: np.ndarray, sym: np.ndarray) -> float:
        """Code the (a,) bytes ``sym`` at ``pos``; returns the NLL of their tables in bits."""
        if not self.binary:
            f = self.freqs(state, pos)
            enc.encode(sym, f)
            return coding.nll_bits(sym, f)
        self.mixer.begin(self.model.logits(state), torch.from_numpy(pos).to(self.model.device))
        nodes, bits = node_bits(torch.from_numpy(sym).to(self.model.device))
        p, bits = self.mixer.path_probs(nodes).cpu().numpy(), bits.cpu().numpy()
        if self.nibbles and self.mixer.compiled:
            from .bit_kernels import nibble_rows     # numba: imported only where it runs
            s, f = nibble_rows(p, bits, coding.EXACT_TOTAL)
        else:
            s, f = bit_tables.byte_rows(p, bits, self.nibbles)
        enc.encode(s, f, exact=self.nibbles)
        return coding.nll_bits(s, f)

    def decode(self, dec: coding.Decoder, state, pos: np.ndarray) -> np.ndarray:
        """(a,) positions -> the (a,) int64 bytes decoded there."""
        if not self.binary:
            return dec.decode(self.freqs(state, pos)).astype(np.int64)
        dev, a = self.model.device, len(pos)
        self.mixer.begin(self.model.logits(state), torch.from_numpy(pos).to(dev))
        node, ar = np.ones(a, dtype=np.int64), np.arange(a)
        for levels in DECODE_LEVELS:          # the probabilities of a subtree, then its bits
            sub = (node[:, None] << _SUB_LEVEL[levels]) + _SUB_OFFSET[levels]
            p = self.mixer.bit_probs(torch.from_numpy(sub).to(dev)).cpu().numpy()
            if self.nibbles and self.mixer.compiled:
                from .bit_kernels import tree_rows
                off = dec.decode(tree_rows(p, coding.EXACT_TOTAL), exact=True).astype(np.int64)
            elif self.nibbles:
                off = dec.decode(bit_tables.tree_rows(p), exact=True).astype(np.int64)
            else:
                off = np.zeros(a, dtype=np.int64)
                for lv in range(levels):
                    q = p[ar, (1 << lv) - 1 + off]
                    off = 2 * off + dec.decode(bit_tables.binary_rows(q))
            node = (node << levels) + off
        return node - 256

    def step(self, state, sym: torch.Tensor):
        """The model's state after the coded (a,) bytes ``sym``; the mixer learns from them.

        (Stepping the model in a worker thread meanwhile was tried: on 2 cores the two compete
        for the same threads, 12.0 vs 17.6 KB/s compress on 256 KB of bible.txt.)"""
        if self.mixer is not None:
            self.mixer.update(sym)
        return self.model.step(state, sym)


@torch.no_grad()
def encode(model, data: bytes, n_streams: int,
           progress: Callable[[int], None] | None = None,
           mix: int = 0) -> tuple[bytes, float]:
    """bytes -> (payload, NLL of the coded tables in bits). ``mix``: the version of the context
    mixer (``context_mix.MIXERS``), 0 for the model alone."""
    buf = np.frombuffer(data, dtype=np.uint8)
    enc = coding.Encoder()
    nll = 0.0
    if n_streams == 0:
        return enc.finish(), 0.0
    state = model.init_state(n_streams)
    tables = _Tables(model, len(buf), n_streams, mix)
    for k, a, pos in _steps(len(buf), n_streams):
        state = model.take(state, a)
        sym = buf[pos].astype(np.int64)
        nll += tables.encode(enc, state, pos, sym)
        state = tables.step(state, torch.from_numpy(sym).to(model.device))
        if progress:
            progress(a)
    return enc.finish(), nll


@torch.no_grad()
def decode(model, payload: bytes, n: int, n_streams: int,
           progress: Callable[[int], None] | None = None, mix: int = 0) -> bytes:
    """payload -> the n original bytes (``mix`` as for ``encode``)."""
    out = np.zeros(n, dtype=np.uint8)
    if n_streams == 0:
        return out.tobytes()
    dec = coding.Decoder(payload)
    state = model.init_state(n_streams)
    tables = _Tables(model, n, n_streams, mix)
    for k, a, pos in _steps(n, n_streams):
        state = model.take(state, a)
        sym = tables.decode(dec, state, pos)
        out[pos] = sym
        state = tables.step(state, torch.from_numpy(sym).to(model.device))
        if progress:
            progress(a)
    return out.tobytes()
