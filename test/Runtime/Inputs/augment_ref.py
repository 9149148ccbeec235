#!/usr/bin/python3
"""The augmentation of augment_vectors.c's images, computed from cnnrt.h's
description of the stream (not from libcnnrt's code), printed as
augment_vectors prints it.

    augment_ref.py SHIFT FLIP SEED EPOCH
"""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cnnrt_ref  # noqa: E402

N, H, W, C = 6, 5, 6, 2
STREAM_AUGMENT = (1 << 62) + (1 << 33)


def pixel(k, y, x, c):
    return 1 + (k * 37 + y * 13 + x * 3 + c) % 250


def augmented(k, shift, flip, seed, epoch):
    def r(i):
        return cnnrt_ref.cnn_random(seed, STREAM_AUGMENT + epoch, 4 * k + i)
    dy = r(0) % (2 * shift + 1) - shift if shift else 0
    dx = r(1) % (2 * shift + 1) - shift if shift else 0
    mirrored = flip and r(2) >> 63 == 1
    rows = []
    for y in range(H):
        row = []
        for x in range(W):
            sy, sx = y + dy, (W - 1 - x if mirrored else x) + dx
            inside = 0 <= sy < H and 0 <= sx < W
            row += [pixel(k, sy, sx, c) if inside else 0 for c in range(C)]
        rows.append(row)
    return rows


def main(shift, flip, seed, epoch):
    for k in (3, 0, 5, 1, 4, 2):
        print("image %d" % k)
        for row in augmented(k, shift, flip, seed, epoch):
            print(" ".join(str(v) for v in row))


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
