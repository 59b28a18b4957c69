"""Data sets. The data directory comes from ``--data-dir`` or ``$ARCODEC_DATA``, never a fixed path."""
from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np

BINARY_THRESHOLD = 128  # pixel >= 128 -> 1


def data_dir(explicit: str | os.PathLike | None = None) -> Path:
    """Resolve the data directory; raises FileNotFoundError with a hint when it is unknown."""
    d = explicit or os.environ.get("ARCODEC_DATA")
    if not d:
        raise FileNotFoundError("no data directory: pass --data-dir or set ARCODEC_DATA")
    p = Path(d)
    if not p.is_dir():
        raise FileNotFoundError(f"data directory {p} does not exist")
    return p


def read_idx_images(path: Path) -> np.ndarray:
    """MNIST idx3 file (optionally .gz) -> (N, 28, 28) uint8."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    magic, n, h, w = struct.unpack(">IIII", raw[:16])
    if magic != 2051:
        raise ValueError(f"{path} is not an idx3 image file")
    return np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(n, h, w)


def mnist(split: str, root: str | os.PathLike | None = None) -> np.ndarray:
    """MNIST images of ``split`` ('train' or 't10k') -> (N, 28, 28) uint8."""
    p = data_dir(root) / "mnist" / f"{split}-images-idx3-ubyte.gz"
    if not p.exists():
        raise FileNotFoundError(f"missing MNIST file {p} (see the data dir's mnist/PROVENANCE.md)")
    return read_idx_images(p)


def binarize(images: np.ndarray) -> np.ndarray:
    """uint8 images -> same-shape uint8 in {0, 1} (pixel >= 128 -> 1)."""
    return (images >= BINARY_THRESHOLD).astype(np.uint8)
