"""Codecs turn inputs into symbol streams and back. Codec ids are stored in .arc headers."""

BINARY_IMAGE = 1   # bilevel image, coded by a MADE over its pixels in raster order
