"""Entropy coding over integer frequency tables."""
import numpy as np
import pytest

from arcodec import coding
from arcodec.errors import FormatError


def _tables(n, k, seed):
    rng = np.random.default_rng(seed)
    f = rng.integers(1, 2000, size=(n, k)) ** 2
    f = np.floor(f / f.sum(1, keepdims=True) * (2**16 - k)).astype(np.int64) + 1
    f[:, 0] += 2**16 - f.sum(1)
    x = np.array([rng.choice(k, p=row / row.sum()) for row in f])
    return x, f


@pytest.mark.parametrize("n,k", [(1, 2), (784, 2), (3000, 256), (70000, 3)])
def test_round_trip_restores_symbols_and_payload_tracks_nll(n, k):
    x, f = _tables(n, k, seed=n)
    payload = coding.encode(x, f)
    assert np.array_equal(coding.Decoder(payload).decode(f), x)
    nll = coding.nll_bits(x, f)
    assert 8 * len(payload) <= nll * 1.001 + 64


def test_trimmed_payload_has_no_superfluous_bytes():
    """No payload one byte shorter (rounded down or up) decodes to the same symbols."""
    x, f = _tables(784, 2, seed=3)
    payload = coding.encode(x, f)
    k = len(payload) - 1
    assert k >= 0
    head = int.from_bytes(payload[:k], "big") if k else 0
    for cand in (head, head + 1):
        if cand < 256**k:
            shorter = cand.to_bytes(k, "big") if k else b""
            assert not np.array_equal(coding.Decoder(shorter).decode(f), x)


def test_step_by_step_decoding_equals_batch_decoding():
    x, f = _tables(500, 5, seed=7)
    dec = coding.Decoder(coding.encode(x, f))
    got = np.concatenate([dec.decode(f[i:i + 1]) for i in range(500)])
    assert np.array_equal(got, x)


def test_empty_message_round_trips():
    f = np.zeros((0, 2), dtype=np.int64)
    assert coding.encode(np.zeros(0, np.int32), f) == b""


def test_decoder_reports_bad_tables_as_format_error():
    with pytest.raises(FormatError):
        coding.Decoder(b"\x01\x02").decode(np.full((2, 2), np.nan))


def test_exact_rows_are_coded_with_exactly_their_frequencies():
    """Rows of total 2^24 coded ``exact`` keep every frequency (constriction's quantisation is
    the identity on them), so a symbol's bits depend only on its interval: a row that keeps
    only the coded symbol's interval (the rest filler) gives the same bytes as the full row,
    and the payload is the rows' NLL plus the range coder's small cost."""
    from arcodec.codecs import bit_tables
    rng = np.random.default_rng(3)
    a = 20000
    p = rng.integers(32, (1 << 16) - 31, (a, 15))
    p[: a // 2] = np.where(rng.random((a // 2, 15)) < 0.5, 32, (1 << 16) - 32)   # skewed
    full = bit_tables.tree_rows(p)
    assert (full >= 1).all() and (full.sum(1) == coding.EXACT_TOTAL).all()
    cum = full.cumsum(1) / coding.EXACT_TOTAL
    sym = (rng.random(a)[:, None] > cum).sum(1)                    # drawn from the rows
    bits = (sym[:, None] >> (3 - np.arange(4))) & 1
    heap = np.ones(a, dtype=np.int64)
    path = np.zeros((a, 4), dtype=np.int64)
    for lv in range(4):                                            # the path's probabilities
        path[:, lv] = p[np.arange(a), heap - 1]
        heap = 2 * heap + bits[:, lv]
    s, sparse = bit_tables.path_rows(path, bits)
    assert np.array_equal(s, sym) and (sparse >= 1).all()
    assert (sparse.sum(1) == coding.EXACT_TOTAL).all()
    assert np.array_equal(sparse[np.arange(a), sym], full[np.arange(a), sym])
    payload = coding.encode(sym, full, exact=True)
    assert coding.encode(sym, sparse, exact=True) == payload
    assert np.array_equal(coding.Decoder(payload).decode(full, exact=True), sym)
    nll = coding.nll_bits(sym, full)
    assert nll <= 8 * len(payload) <= nll + 2e-4 * a + 64
    # symbols of width 1..3 (of 2^24) cost exactly their 22.4..24 bits; a width changed by 1
    # would shift the payload by >= 0.4 bits a symbol (as requantising does without ``exact``)
    m = 3000
    rows = rng.integers(1, 1 << 19, (m, 16))
    sym = rng.integers(0, 16, m)
    rows[np.arange(m), sym] = rng.integers(1, 4, m)
    rows[np.arange(m), 15 - sym // 8 * 15] += coding.EXACT_TOTAL - rows.sum(1)   # not coded
    nll = coding.nll_bits(sym, rows)
    assert abs(8 * len(coding.encode(sym, rows, exact=True)) - nll) <= 64
    assert abs(8 * len(coding.encode(sym, rows)) - nll) > 0.1 * m
