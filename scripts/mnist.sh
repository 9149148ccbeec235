#!/usr/bin/env bash
# mnist.sh - the main job: set up, build cnnc, fetch MNIST, compile
# examples/mnist.cnn into a trainer and train it for the .cnn's 10 epochs.
#
# Extra arguments go to the trainer (e.g. --epochs 1, --threads 2). The
# trainer writes build/mnist.csv (one row per epoch) and
# build/mnist.safetensors (the trained weights, PyTorch names and layouts).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/setup.sh"
"$top/scripts/build.sh" "$top/build"
"$top/scripts/fetch-mnist.sh" "$top/data/mnist"
"$top/build/cnnc" "$top/examples/mnist.cnn" -o "$top/build/train_mnist"
cd "$top" # the .cnn names its data relative to the top: data/mnist
exec "$top/build/train_mnist" --log "$top/build/mnist.csv" \
  --save "$top/build/mnist.safetensors" "$@"
