#!/usr/bin/env bash
# Packs the training data (never the test sets) into bundles a GPU machine can be sent (the
# device tool carries at most 64 MiB per call): BUNDLES/text-mnist.tar.xz (text-train/ and the
# MNIST train files) and BUNDLES/photos-N.tar (photos-train/ as lossless WebP, each file checked
# pixel-identical to its PNG, split to stay under 60 MiB). Unpack there into one data dir:
#   mkdir -p D && for f in BUNDLES/*.tar*; do tar xf "$f" -C D; done
#
#   scripts/gpu_data.sh DATA BUNDLES
set -euo pipefail
DATA=$1 OUT=$2
PY=${PY:-python}
mkdir -p "$OUT"
tar cJf "$OUT/text-mnist.tar.xz" -C "$DATA" text-train mnist/train-images-idx3-ubyte.gz \
    mnist/train-labels-idx1-ubyte.gz mnist/PROVENANCE.md
tmp=$(mktemp -d)
mkdir -p "$tmp/photos-train"
for f in "$DATA"/photos-train/*.png; do
    cwebp -quiet -lossless -z 6 -exact "$f" -o "$tmp/photos-train/$(basename "${f%.png}").webp"
done
$PY - "$DATA/photos-train" "$tmp/photos-train" <<'PYEOF'
import sys, pathlib, numpy as np
from PIL import Image
src, dst = map(pathlib.Path, sys.argv[1:])
for p in sorted(src.glob("*.png")):
    a = np.asarray(Image.open(p).convert("RGB"))
    b = np.asarray(Image.open(dst / (p.stem + ".webp")).convert("RGB"))
    if not np.array_equal(a, b):
        sys.exit(f"{p.name}: WebP copy differs")
print("webp copies pixel-identical:", len(list(src.glob("*.png"))))
PYEOF
n=0 size=0 list=()
flush() { [ ${#list[@]} -gt 0 ] && tar cf "$OUT/photos-$n.tar" -C "$tmp" "${list[@]}"; n=$((n+1)); size=0; list=(); }
for f in "$tmp"/photos-train/*.webp; do
    s=$(stat -c %s "$f")
    if [ $((size + s)) -gt $((60 * 1024 * 1024)) ]; then flush; fi
    list+=("photos-train/$(basename "$f")"); size=$((size + s))
done
flush
rm -r "$tmp"
ls -l "$OUT"
