"""arcodec: lossless compression with learned autoregressive models.

Coding-time inference is integer-exact, so a file decodes bit-exactly on any machine.
"""
from .api import (Result, Session, compress_bytes, compress_file, compress_image,
                  decompress_bytes, decompress_file, decompress_image, info)
from .errors import ArcodecError, FormatError, InputError, ModelError

__all__ = ["Result", "Session", "compress_bytes", "compress_file", "compress_image",
           "decompress_bytes", "decompress_file", "decompress_image", "info",
           "ArcodecError", "FormatError", "InputError", "ModelError"]
