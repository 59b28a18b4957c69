"""Classical codecs run as external programs. A missing program is reported, never dropped."""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image


def missing(tool: str) -> str | None:
    """None when ``tool`` is on PATH, else a message saying how to get it."""
    if shutil.which(tool):
        return None
    pkg = {"optipng": "optipng", "pbmtojbg": "jbigkit-bin", "xz": "xz-utils"}.get(tool, tool)
    return f"{tool} not found (apt-get install {pkg})"


def optipng_1bit_bytes(bits: np.ndarray, level: str = "-o2") -> int:
    """Size of a (H, W) {0, 1} image as a 1-bit PNG after ``optipng``."""
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "x.png"
        Image.fromarray(bits.astype(bool)).save(p)
        subprocess.run(["optipng", "-quiet", level, str(p)], check=True)
        return p.stat().st_size


def tile(images: np.ndarray, cols: int) -> np.ndarray:
    """(N, h, w) -> one (rows*h, cols*w) mosaic, zero padded."""
    n, h, w = images.shape
    rows = -(-n // cols)
    out = np.zeros((rows * h, cols * w), dtype=images.dtype)
    for i in range(n):
        r, c = divmod(i, cols)
        out[r * h:(r + 1) * h, c * w:(c + 1) * w] = images[i]
    return out


def jbig1_bytes(bits: np.ndarray) -> int:
    """Size of a (H, W) {0, 1} image (1 = white in arcodec, written as PBM black=1) under pbmtojbg."""
    with tempfile.TemporaryDirectory() as d:
        pbm = Path(d) / "x.pbm"
        h, w = bits.shape
        pbm.write_bytes(f"P4\n{w} {h}\n".encode() + np.packbits(bits, axis=1).tobytes())
        jbg = Path(d) / "x.jbg"
        subprocess.run(["pbmtojbg", str(pbm), str(jbg)], check=True)
        return jbg.stat().st_size


def xz_bytes(data: bytes) -> int:
    return len(subprocess.run(["xz", "-9e", "-c"], input=data, capture_output=True,
                              check=True).stdout)
