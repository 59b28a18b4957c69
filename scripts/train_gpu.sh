#!/usr/bin/env bash
# The GPU recipe: trains the three larger models side by side on one GPU, then exports each to
# an integer model whose weight file records its float, QAT and integer NLL.
#
#   scripts/train_gpu.sh DATA RUNS [MINUTES]
#
# DATA: the data dir (mnist/, photos-train/ (PNG or lossless WebP), text-train/); RUNS: where
# the runs and the exported weights go; MINUTES: wall-time budget of each training (default 14;
# the last 20% of PixelCNN steps and the last QAT_MINUTES (2.5) of the Char-RNN are quantisation-
# aware). DEVICE=cpu runs the same on the CPU (a smoke test with a budget of a minute or so).
# Register an exported file with: python -m arcodec.train.<trainer> export ... --register, or
# copy it to arcodec/weights/ and add it to registry.json (keep the old weights as a legacy entry).
set -euo pipefail
DATA=$1 RUNS=$2 M=${3:-14}
PY=${PY:-python}
QAT=${QAT_MINUTES:-2.5}
DEV=${DEVICE:-cuda}
Z=${Z_ONE:-64}    # PixelCNN gate pre-activations in 1/Z steps (1/32 cost pixelcnn-mnist 0.8%)
mkdir -p "$RUNS"
$PY -m arcodec.train.pixelcnn train --recipe mnist --data-dir "$DATA" --out "$RUNS/pcnn-mnist" \
    --minutes "$M" --steps 100000000 --batch 128 --ckpt 1000 --device "$DEV" --threads 4 \
    --z-one "$Z" > "$RUNS/pcnn-mnist.log" 2>&1 &
$PY -m arcodec.train.pixelcnn train --recipe photo --data-dir "$DATA" --out "$RUNS/pcnn-photo" \
    --minutes "$M" --steps 100000000 --batch 32 --crop 64 --lr 2e-3 --ckpt 500 --device "$DEV" \
    --threads 4 --z-one "$Z" > "$RUNS/pcnn-photo.log" 2>&1 &
( $PY -m arcodec.train.charrnn_text train --data-dir "$DATA" --out "$RUNS/charrnn" \
      --minutes "$($PY -c "print($M - $QAT)")" --batch 256 --lr 2e-3 --eval-every 500 \
      --device "$DEV" --threads 4 \
  && $PY -m arcodec.train.charrnn_text train --data-dir "$DATA" --out "$RUNS/charrnn" --resume \
      --qat --qat-carry --minutes "$QAT" --batch 256 --lr 3e-4 --eval-every 100 \
      --device "$DEV" --threads 4 \
) > "$RUNS/charrnn.log" 2>&1 &
wait
for r in mnist photo; do
    $PY -m arcodec.train.pixelcnn export --recipe $r --data-dir "$DATA" --run "$RUNS/pcnn-$r" \
        --out "$RUNS/pixelcnn-$r.safetensors" --threads 4 > "$RUNS/export-$r.log" 2>&1 &
done
for c in best last; do
    $PY -m arcodec.train.charrnn_text export --data-dir "$DATA" --run "$RUNS/charrnn" \
        --checkpoint $c.safetensors --out "$RUNS/charrnn-text.$c.safetensors" --threads 4 \
        > "$RUNS/export-charrnn-$c.log" 2>&1 &
done
wait
tail -n 3 "$RUNS"/*.log
