#!/usr/bin/env python3
"""make_idx.py - small synthetic MNIST-style IDX files for the runtime tests.

    make_idx.py OUT_DIR [--train N] [--test N] [--size S] [--gz] [--break KIND]

writes train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte
and t10k-labels-idx1-ubyte (with --gz: the same names + .gz, gzip-compressed).
Image of class k: dim noise with a bright 5x5 square at the k-th of ten
places (two rows of five), jittered by up to two pixels: easy for a linear
model, not trivial for a broken one. Deterministic.

--break KIND spoils one file, for the error tests:
  magic     train images start with 0x12345678
  swap      the train images file holds the train labels
  truncate  train images cut to 1000 bytes
  trailing  train labels followed by 5 extra bytes
  count     one train label fewer than train images
  label     test label 7 becomes 12 (the fake model has 10 classes)
  empty     train images file empty
  gzcut     (with --gz) the gzip stream of the train images cut short
  gzcrc     (with --gz) the train images' gzip checksum spoilt
"""
import argparse
import gzip
import os
import random
import struct

NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def image(rng, k, size):
    px = [rng.randrange(0, 40) for _ in range(size * size)]
    cell = size // 5
    cy = (k // 5) * (size // 2) + size // 4 + rng.randint(-2, 2)
    cx = (k % 5) * cell + cell // 2 + rng.randint(-2, 2)
    for y in range(cy - 2, cy + 3):
        for x in range(cx - 2, cx + 3):
            if 0 <= y < size and 0 <= x < size:
                px[y * size + x] = rng.randrange(180, 256)
    return bytes(px)


def make_set(rng, n, size):
    labels = [rng.randrange(10) for _ in range(n)]
    images = b"".join(image(rng, k, size) for k in labels)
    return (struct.pack(">IIII", 0x803, n, size, size) + images,
            struct.pack(">II", 0x801, n) + bytes(labels))


def spoil(files, kind):
    ti, tl, si, sl = files
    if kind == "magic":
        ti = struct.pack(">I", 0x12345678) + ti[4:]
    elif kind == "swap":
        ti = tl
    elif kind == "truncate":
        ti = ti[:1000]
    elif kind == "trailing":
        tl = tl + b"\0\1\2\3\4"
    elif kind == "count":
        n = struct.unpack(">I", tl[4:8])[0]
        tl = struct.pack(">II", 0x801, n - 1) + tl[8:-1]
    elif kind == "empty":
        ti = b""
    elif kind == "label":
        sl = sl[:8 + 7] + bytes([12]) + sl[8 + 8:]
    return [ti, tl, si, sl]


def write(out, name, data, gz, damage):
    if gz:
        data = gzip.compress(data, mtime=0)
        name += ".gz"
        if damage == "gzcut":
            data = data[:len(data) // 2]
        elif damage == "gzcrc":  # the CRC-32 is the trailer's first 4 bytes
            data = data[:-8] + bytes([data[-8] ^ 0xFF]) + data[-7:]
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--train", type=int, default=600)
    ap.add_argument("--test", type=int, default=200)
    ap.add_argument("--size", type=int, default=28)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--gz", action="store_true")
    ap.add_argument("--break", dest="kind")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    files = list(make_set(rng, a.train, a.size) + make_set(rng, a.test, a.size))
    files = spoil(files, a.kind)
    os.makedirs(a.out, exist_ok=True)
    for i, (name, data) in enumerate(zip(NAMES, files)):
        write(a.out, name, data, a.gz, a.kind if i == 0 else None)


if __name__ == "__main__":
    main()
