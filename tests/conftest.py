"""Shared fixtures. Real data comes from $ARCODEC_DATA (CI points it at the shared data dir)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from arcodec.train.data import binarize, mnist

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    d = os.environ.get("ARCODEC_DATA")
    if not d or not Path(d).is_dir():
        pytest.fail("set ARCODEC_DATA to the data directory (see README)")
    return Path(d)


@pytest.fixture(scope="session")
def test_digits(data_dir) -> np.ndarray:
    """(10000, 28, 28) uint8 in {0, 1}: the binarised MNIST test split."""
    return binarize(mnist("t10k", data_dir))


@pytest.fixture(scope="session")
def session():
    import arcodec
    return arcodec.Session("cpu")


@pytest.fixture(scope="session")
def int_made(session):
    from arcodec import zoo
    return session.model(zoo.resolve("made-mnist"))[1]


def save_1bit_png(bits: np.ndarray, path: Path) -> Path:
    Image.fromarray(bits.astype(bool)).save(path)
    return path
