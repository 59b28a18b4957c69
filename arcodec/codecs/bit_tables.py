"""Coder tables from bit-tree probabilities (the bit mixers, ``bit_mix.py``).

A byte is a path of 8 binary decisions; the mixer gives, at any node, the Q16 probability p that
the next bit is 1. Two ways to code the path, one per mixer version:

* binary (mixer 3): 8 symbols per byte, each with the table [2^16 - p, p];
* nibbles (mixer 4): 2 symbols per byte (the high then the low 4 bits), each with a 16-entry
  table of total 2^24 = ``coding.EXACT_TOTAL`` that splits the total down the nibble's 4-level
  subtree: a node's mass M goes to its children as (M - m1, m1), m1 = (M p) >> 16 clamped so
  each leaf keeps at least 1. The range coder's own cost is ~1.4e-4 bits per coded symbol
  (range precision 24 in 32-bit words), so 2 symbols per byte instead of 8 cut it fourfold.

The encoder knows the byte, so it needs only the path's 8 probabilities: the coded nibble's
interval [cdf, cdf + width) follows from the path alone, and its row keeps that interval exactly
(every other entry >= 1; see ``path_rows``). The decoder computes all 15 probabilities of the
subtree and the full table (``tree_rows``); both give the coder the same interval.
"""
from __future__ import annotations

import numpy as np

from ..coding import EXACT_TOTAL

ONE = 1 << 16
LEVELS = 4                      # bits per nibble


def _split(mass: np.ndarray, p: np.ndarray, leaves: int) -> tuple[np.ndarray, np.ndarray]:
    """Split ``mass`` (int64, any shape) by the Q16 probability ``p`` of bit 1 into (m0, m1),
    each at least ``leaves`` (the leaves under each child). ``mass * p`` < 2^40."""
    m1 = np.clip((mass * p) >> 16, leaves, mass - leaves)
    return mass - m1, m1


def path_rows(p: np.ndarray, bits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The nibble coded at a path: (a, 4) Q16 probabilities, (a, 4) bits -> (symbols (a,),
    rows (a, 16) int64 of total ``EXACT_TOTAL``) whose interval for the symbol is the one the
    full table (``tree_rows``) gives it; the other entries are filler (>= 1)."""
    a = len(p)
    mass = np.full(a, EXACT_TOTAL, dtype=np.int64)
    cdf = np.zeros(a, dtype=np.int64)
    sym = np.zeros(a, dtype=np.int64)
    for lv in range(LEVELS):
        m0, m1 = _split(mass, p[:, lv].astype(np.int64), 8 >> lv)
        b = bits[:, lv].astype(np.int64)
        cdf += b * m0
        mass = np.where(b == 1, m1, m0)
        sym = 2 * sym + b
    rows = np.ones((a, 16), dtype=np.int64)
    ar = np.arange(a)
    rows[:, 0] += cdf - sym                                  # leaves before sym: cdf >= sym
    rows[:, 15] += EXACT_TOTAL - cdf - mass - (15 - sym)     # leaves after: >= 15 - sym
    rows[ar, sym] += mass - 1
    return sym, rows


def tree_rows(p: np.ndarray) -> np.ndarray:
    """(a, 15) Q16 probabilities of a 4-level subtree, level-major (root; its two children; ...)
    -> (a, 16) int64 leaf masses of total ``EXACT_TOTAL``, each >= 1."""
    a = len(p)
    mass = np.full((a, 1), EXACT_TOTAL, dtype=np.int64)
    for lv in range(LEVELS):
        m0, m1 = _split(mass, p[:, (1 << lv) - 1:(2 << lv) - 1].astype(np.int64), 8 >> lv)
        mass = np.stack([m0, m1], 2).reshape(a, 2 << lv)     # children 2v, 2v + 1 side by side
    return mass


def binary_rows(p: np.ndarray) -> np.ndarray:
    """(m,) Q16 probabilities of bit 1 -> (m, 2) binary tables [2^16 - p, p] (mixer 3)."""
    return np.stack([ONE - p, p], 1)


def byte_rows(p: np.ndarray, bits: np.ndarray, nibbles: bool) -> tuple[np.ndarray, np.ndarray]:
    """What the encoder codes for (a,) bytes: their paths' (a, 8) Q16 probabilities and bits ->
    (symbols (m,), rows (m, k)) in coding order: nibbles (mixer 4) high nibbles then low
    nibbles, m = 2a, rows of total ``EXACT_TOTAL`` (code them ``exact``); else (mixer 3) all
    depth-0 bits, then depth 1, ..., m = 8a, binary rows."""
    if nibbles:
        hi, lo = path_rows(p[:, :LEVELS], bits[:, :LEVELS]), path_rows(p[:, LEVELS:],
                                                                           bits[:, LEVELS:])
        return np.concatenate([hi[0], lo[0]]), np.concatenate([hi[1], lo[1]])
    return bits.T.reshape(-1), binary_rows(p.T.reshape(-1))
