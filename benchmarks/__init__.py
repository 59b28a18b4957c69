"""arcodec benchmark suite (uses only the public API). Run: python -m benchmarks --help"""


def within_bound(payload_bits, nll_bits):
    """The suite's pass condition: a payload at most 0.1% + 8 bytes over its integer NLL (bits;
    numbers or numpy arrays, elementwise)."""
    return payload_bits <= nll_bits * 1.001 + 64
