#!/usr/bin/env bash
# fetch-cifar10.sh [DIR] - puts CIFAR-10's binary version in DIR (default:
# data/cifar10 at the top of the repository): data_batch_1.bin ...
# data_batch_5.bin, test_batch.bin and batches.meta.txt, the files of the
# archive's cifar-10-batches-bin/ folder, so that a model with
# data = cifar10("DIR") trains on them.
#
# The archive is downloaded into a temporary folder inside DIR, checked
# against its published MD5, unpacked there, its files checked to be whole
# records, and only then moved into place: a failure at any step leaves
# DIR as it was (made, if it was not there). When all seven are there
# (the batches whole records), nothing is downloaded.
#
# CIFAR10_URL replaces the download's address (a mirror, or a test's
# file://). CIFAR10_TEST_MD5 replaces the MD5 it must have, for the test
# suite's made-up archives only: a warning says so whenever it is set.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$here/data/cifar10}
url=${CIFAR10_URL:-https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz}
md5=${CIFAR10_TEST_MD5:-c32a1d4ab5d03f1284b67883e8d87530}
folder=cifar-10-batches-bin # inside the archive
record=3073                 # a label byte, then 3072 pixels
batches=(data_batch_1.bin data_batch_2.bin data_batch_3.bin data_batch_4.bin
         data_batch_5.bin test_batch.bin)
names=("${batches[@]}" batches.meta.txt)

say() { echo "fetch-cifar10.sh: $*" >&2; }
fail() { say "$*"; exit 1; }

[ -z "${CIFAR10_TEST_MD5:-}" ] ||
  say "warning: CIFAR10_TEST_MD5 is set: checking the archive against $md5, not CIFAR-10's published MD5"

whole() { # FILE: there, not empty, a whole number of records
  local size
  [ -f "$1" ] || return 1
  size=$(wc -c < "$1")
  [ "$size" -gt 0 ] && [ $((size % record)) -eq 0 ]
}

missing() {
  local n
  for n in "${batches[@]}"; do whole "$dir/$n" || echo "$n"; done
  [ -f "$dir/batches.meta.txt" ] || echo batches.meta.txt
}

mkdir -p "$dir" || fail "cannot make the folder $dir"
if [ -z "$(missing)" ]; then
  say "$dir: all seven files present (the batches whole records)"
  exit 0
fi
tmp=$(mktemp -d "$dir/.fetch-XXXXXX") || fail "cannot write in $dir"
trap 'rm -rf "$tmp"' EXIT
archive=$tmp/cifar-10-binary.tar.gz

say "downloading $url"
err=$(curl --fail --silent --show-error --location --connect-timeout 10 \
  --max-time 3600 -o "$archive" "$url" 2>&1) ||
  fail "$url: ${err:-curl failed}; $dir is unchanged"

got=$(md5sum < "$archive" | cut -d' ' -f1)
[ "$got" = "$md5" ] ||
  fail "$url: MD5 $got, but the published archive's is $md5: not used," \
       "nothing unpacked; $dir is unchanged"

tar -xzf "$archive" -C "$tmp" --no-same-owner --no-same-permissions \
  "$folder" 2> "$tmp/tar.log" ||
  fail "$url: cannot unpack $folder/ from the archive: $(head -n 1 "$tmp/tar.log");" \
       "$dir is unchanged"
for n in "${batches[@]}"; do
  whole "$tmp/$folder/$n" ||
    fail "$url: the archive's $folder/$n is missing or not whole" \
         "$record-byte records; $dir is unchanged"
done
[ -f "$tmp/$folder/batches.meta.txt" ] ||
  fail "$url: the archive has no $folder/batches.meta.txt; $dir is unchanged"

# Same file system: each move is a rename.
for n in "${names[@]}"; do
  mv -f "$tmp/$folder/$n" "$dir/$n"
done
say "$dir: ${names[*]} (MD5 of the archive verified)"
