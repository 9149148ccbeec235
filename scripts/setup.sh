#!/usr/bin/env bash
# setup.sh - installs everything cnnc needs to build and test on Debian 12.
#
# Idempotent and quick when all is there: apt-get runs only for packages
# that are missing. Needs root, or sudo.
set -euo pipefail

packages=(
  gcc libc6-dev cmake ninja-build flex bison python3
  llvm-19-dev llvm-19-tools clang-19 libclang-rt-19-dev zlib1g-dev
  libpng-dev               # libcnnrt reads PNG files (a trainer's --predict)
  curl ca-certificates npm  # scripts/fetch-mnist.sh
  tmux util-linux          # the progress bar tests (a terminal), unshare for the full-disk tests
  valgrind                 # the linear-time tests count instructions (callgrind)
  g++ binutils            # the inference header's C++ test; objcopy
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user  # AArch64 objects
  python3-torch python3-numpy  # PyTorch parity tests
  chromium                 # renders --plot's SVG (Runtime/plot.test)
  openmpi-bin libopenmpi-dev  # cnnc --mpi: libcnnrt_mpi.a, mpicc, mpirun
  linux-perf               # bench/: where the time goes (perf record)
  pkgconf                  # the installed cnnrt.pc's test
)

# A command that is already there counts as installed: npm may come with
# another vendor's nodejs, whose package conflicts with Debian's npm.
provided_by_command() {
  case "$1" in
    npm) command -v npm >/dev/null ;;
    *) return 1 ;;
  esac
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
    provided_by_command "$p" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup.sh: run as root (or install sudo)" >&2; exit 1; }
  sudo=sudo
fi
echo "setup.sh: installing ${missing[*]}"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
