#!/usr/bin/env bash
# mnist.sh - the main job: set up, build cnnc, compile examples/mnist.cnn.
#
# For now cnnc stops at a checked, shaped, fused IR: this prints the
# network's summary. Training arrives with the code generator.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/setup.sh"
"$top/scripts/build.sh" "$top/build"
"$top/build/cnnc" --summary "$top/examples/mnist.cnn"
