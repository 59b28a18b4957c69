"""Bilevel images: a 1-bit PNG, or an 8-bit gray PNG whose pixels are all 0 or 255.

Pixels come back identical and in the same PNG mode; the PNG file bytes may differ.
"""
from __future__ import annotations

import io

import numpy as np
from PIL import Image

from ..errors import InputError

FLAG_MODE_1 = 0   # original was a 1-bit PNG (mode "1")
FLAG_MODE_L = 1   # original was 8-bit gray with pixels in {0, 255}


def open_image(data: bytes) -> Image.Image | None:
    """PIL image of ``data``, or None when ``data`` is no image Pillow can read."""
    try:
        im = Image.open(io.BytesIO(data))
        im.load()
        return im
    except Exception:
        return None


def to_bits(im: Image.Image) -> tuple[np.ndarray, int] | None:
    """(H, W) uint8 in {0, 1} and the mode flag, or None when ``im`` is not bilevel."""
    if im.mode == "1":
        return (np.asarray(im, dtype=np.uint8) > 0).astype(np.uint8), FLAG_MODE_1
    if im.mode == "L":
        a = np.asarray(im)
        if np.all((a == 0) | (a == 255)):
            return (a == 255).astype(np.uint8), FLAG_MODE_L
    return None


def to_png(bits: np.ndarray, flag: int) -> bytes:
    """(H, W) {0, 1} -> PNG bytes in the original mode."""
    if flag == FLAG_MODE_1:
        im = Image.fromarray(bits.astype(bool))
    elif flag == FLAG_MODE_L:
        im = Image.fromarray((bits * 255).astype(np.uint8), mode="L")
    else:
        raise InputError(f"unknown bilevel image flag {flag}")
    buf = io.BytesIO()
    im.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def describe(im: Image.Image) -> str:
    return f"{im.mode} {im.width}x{im.height}"
