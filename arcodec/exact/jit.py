"""``kernel``: numba's ``njit`` for arcodec's compiled CPU loops (``codecs/bit_kernels.py``,
``models/charrnn_kernels.py``).

Each loop is compiled once per machine and kept in numba's cache (``__pycache__`` beside the
module, else the user's cache directory; ``NUMBA_CACHE_DIR`` overrides): a small file then
costs no compile time (2.1 s less per process). Where no cache directory can be written the
loops are compiled in every process instead. The loops are integer code, so compiled and
cached code compute the same.
"""
from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def available() -> bool:
    """Whether numba imports here. It is a dependency; where it cannot be imported (a bare
    GPU machine, a platform without its wheels) the callers run the torch forms of the loops
    instead: the same integers, only slower on the CPU."""
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def kernel(fn):
    """``njit(nogil=True)`` with numba's on-disk cache where it can be written."""
    from numba import njit
    try:
        return njit(cache=True, nogil=True)(fn)
    except RuntimeError:         # "cannot cache function ...: no locator available"
        return njit(cache=False, nogil=True)(fn)
