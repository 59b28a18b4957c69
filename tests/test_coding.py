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
