#!/usr/bin/env bash
# build.sh [DIR [CMAKE OPTIONS...]] - configures and builds cnnc in DIR
# (default: build/ at the top of the checkout).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$top/build}
shift || true
cmake -S "$top" -B "$dir" -G Ninja -DCNNC_WERROR=ON "$@" >/dev/null
cmake --build "$dir"
