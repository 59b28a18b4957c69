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
    pkg = {"pbmtojbg": "jbigkit-bin", "xz": "xz-utils", "cwebp": "webp",
           "cjxl": "libjxl-tools"}.get(tool, tool)
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
    """Size of a (H, W) {0, 1} image (written as PBM, 1 = black) under ``pbmtojbg -q``
    (one resolution layer: JBIG1's best setting here, 120.4 vs 129.2 bits per digit)."""
    with tempfile.TemporaryDirectory() as d:
        pbm = Path(d) / "x.pbm"
        h, w = bits.shape
        pbm.write_bytes(f"P4\n{w} {h}\n".encode() + np.packbits(bits, axis=1).tobytes())
        jbg = Path(d) / "x.jbg"
        subprocess.run(["pbmtojbg", "-q", str(pbm), str(jbg)], check=True)
        return jbg.stat().st_size


def xz_bytes(data: bytes) -> int:
    return len(subprocess.run(["xz", "-9e", "-c"], input=data, capture_output=True,
                              check=True).stdout)


# Text baselines: name -> (program, argument list producing the compressed bytes on stdout)
TEXT_CODECS = {
    "gzip -9": ["gzip", "-9", "-c"],
    "bzip2 -9": ["bzip2", "-9", "-c"],
    "xz -9e": ["xz", "-9e", "-c"],
    "zstd --ultra -22": ["zstd", "--ultra", "-22", "-c", "-q"],
    "brotli -q 11": ["brotli", "-q", "11", "-c"],
}


def text_codec_bytes(name: str, data: bytes) -> int:
    """Compressed size of ``data`` under a classical text codec (``TEXT_CODECS`` or zpaq -m5)."""
    if name == "zpaq -m5":
        with tempfile.TemporaryDirectory() as d:
            src, arc = Path(d) / "f", Path(d) / "f.zpaq"
            src.write_bytes(data)
            subprocess.run(["zpaq", "a", str(arc), str(src), "-m5"], check=True,
                           capture_output=True)
            return arc.stat().st_size
    return len(subprocess.run(TEXT_CODECS[name], input=data, capture_output=True,
                              check=True).stdout)


TEXT_TOOLS = {**{k: v[0] for k, v in TEXT_CODECS.items()}, "zpaq -m5": "zpaq"}


# Lossless image codecs: name -> (program, function building the command from (src, dst))
IMAGE_CODECS = {
    "PNG (optipng -o2)": ("optipng", lambda src, dst: ["optipng", "-quiet", "-o2", "-out", dst, src]),
    "WebP (cwebp -lossless -z 9)": ("cwebp", lambda src, dst: ["cwebp", "-quiet", "-lossless",
                                                               "-z", "9", src, "-o", dst]),
    "JPEG-XL (cjxl -d 0 -e 7)": ("cjxl", lambda src, dst: ["cjxl", "-d", "0", "-e", "7", "--quiet",
                                                           src, dst]),
}


def image_codec_bytes(name: str, pixels: np.ndarray) -> int:
    """Size of an (H, W) or (H, W, 3) uint8 image under a lossless image codec."""
    _, cmd = IMAGE_CODECS[name]
    with tempfile.TemporaryDirectory() as d:
        src, dst = Path(d) / "in.png", Path(d) / "out.bin"
        Image.fromarray(pixels).save(src)
        subprocess.run(cmd(str(src), str(dst)), check=True, capture_output=True)
        return dst.stat().st_size
