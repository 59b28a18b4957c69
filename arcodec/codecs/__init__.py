"""Codecs turn inputs into symbol streams and back. Codec ids are stored in .arc headers."""

BINARY_IMAGE = 1   # bilevel image, coded by a MADE over its pixels in raster order
BYTES = 2          # any bytes, coded by a char-RNN over parallel streams
STORED = 3         # the input as is: used when a model would expand it (like zip's "store")
PNG_IMAGE = 4      # any PNG: samples by a PixelCNN where one fits, exact fallback otherwise
XZ_BYTES = 5       # any bytes by LZMA2 (preset 9e): used when it beats the byte model
