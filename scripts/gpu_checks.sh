#!/usr/bin/env bash
# The device checks in one short run (a few minutes of a lent GPU), and their second half on a
# CPU machine:
#
#   scripts/gpu_checks.sh run DATA OUT      on the GPU machine
#   scripts/gpu_checks.sh verify OUT        on a CPU machine, with OUT brought back
#
# run: (1) the CUDA tests (CUDA and CPU give the same tables and files for every model);
# (2) `benchmarks --suite text-speed` and `--suite image-speed` on the GPU (image-speed --quick
# unless FULL=1: two whole Kodak images take minutes there); (3) compresses on the GPU
# a text, an image and a digit into OUT/files (the originals in OUT/files/orig).
# verify: decompresses OUT/files on this machine's CPU and compares the results with the
# originals (bytes; pixels for PNGs): files written on the GPU must decode exactly on a CPU.
#
# DATA needs text/cantrbry/alice29.txt, text/large/bible.txt, kodak/kodim01.png, kodim04.png,
# kodim23.png and the MNIST t10k idx files. Wheels the GPU machine lacks (constriction,
# safetensors, click, tqdm, setuptools >= 77 for the editable install) are taken from .whl/
# (pip --no-index); numba is not needed there: where it does not import, the CPU side of the
# tests runs the torch forms of the compiled loops (the same integers). DEVICE=cpu QUICK=1
# smoke-tests this script on a CPU (text-speed --quick too). Every step runs even if one before
# it failed; the exit status says whether all passed.
set -uo pipefail
PY=${PY:-python}
DEV=${DEVICE:-cuda}
fail=0
step() { echo "== $*"; "$@" || { echo "== FAILED: $*"; fail=1; }; }

case ${1:-} in
run)
    DATA=$2 OUT=$3
    mkdir -p "$OUT/files"
    export ARCODEC_DATA=$DATA
    if [ -d .whl ]; then
        $PY -m pip install -q --no-index --find-links .whl constriction safetensors click tqdm \
            2>&1 | tail -2
    fi
    $PY -c "import arcodec" 2>/dev/null || step $PY -m pip install -q --no-index \
        --find-links .whl --no-deps -e .
    $PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(),
torch.cuda.get_device_name() if torch.cuda.is_available() else '')"
    step $PY -m pytest -q -p no:cacheprovider -k cuda tests
    quick=--quick; [ "${FULL:-0}" = 1 ] && quick=
    tquick=; [ "${QUICK:-0}" = 1 ] && tquick=--quick
    step $PY -m benchmarks --device "$DEV" --suite text-speed $tquick --out "$OUT/text-speed"
    step $PY -m benchmarks --device "$DEV" --suite image-speed $quick --out "$OUT/image-speed"
    cp "$DATA/text/cantrbry/alice29.txt" "$OUT/files/"
    $PY - "$DATA" "$OUT/files" <<'EOF'
import sys, pathlib
import numpy as np
from PIL import Image
from arcodec.train.data import mnist
data, out = map(pathlib.Path, sys.argv[1:])
Image.open(data / "kodak/kodim23.png").convert("RGB").crop((200, 100, 328, 196)).save(out / "kodim23-crop.png")
Image.fromarray(mnist("t10k", data)[0]).save(out / "digit0.png")
EOF
    for f in "$OUT"/files/alice29.txt "$OUT"/files/kodim23-crop.png "$OUT"/files/digit0.png; do
        step $PY -m arcodec.cli compress -v -f --device "$DEV" "$f"
    done
    mkdir -p "$OUT/files/orig"
    mv "$OUT/files/alice29.txt" "$OUT/files/kodim23-crop.png" "$OUT/files/digit0.png" \
        "$OUT/files/orig/"
    ;;
verify)
    OUT=$2
    d=$(mktemp -d)
    cp "$OUT"/files/*.arc "$d"/
    for f in "$d"/*.arc; do
        step $PY -m arcodec.cli decompress -v --device cpu "$f"
    done
    step $PY scripts/same_content.py "$OUT/files/orig" "$d"
    rm -r "$d"
    ;;
*)
    sed -n 2,21p "$0"; exit 2 ;;
esac
[ $fail = 0 ] && echo "== all passed" || echo "== some step failed"
exit $fail
