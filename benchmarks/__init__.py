"""arcodec benchmark suite (uses only the public API). Run: python -m benchmarks --help"""
