#!/usr/bin/env bash
# test.sh - the whole test suite, from a fresh clone on a fresh machine.
#
# 1. build with gcc, warnings as errors, and run every lit suite (the
#    end-to-end ones train on MNIST, fetched first);
# 2. build again with clang under AddressSanitizer and UBSan, with the
#    libFuzzer target, and run every suite again, including a one-minute
#    fuzz run of the front end.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/setup.sh"
# MNIST for the end-to-end tests (a few seconds; skipped when present).
"$top/scripts/fetch-mnist.sh" "$top/data/mnist"

echo "== gcc build, -Wall -Wextra -Wpedantic -Werror"
CC=gcc "$top/scripts/build.sh" "$top/build"
(cd "$top/build" && ctest --output-on-failure -V)

echo "== clang build with ASan + UBSan + libFuzzer"
CC=clang-19 "$top/scripts/build.sh" "$top/build-asan" \
  -DCNNC_SANITIZE=ON -DCNNC_FUZZ=ON
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd "$top/build-asan" && ctest --output-on-failure -V)
