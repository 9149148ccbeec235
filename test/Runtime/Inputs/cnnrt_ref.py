#!/usr/bin/env python3
"""cnnrt_ref.py - libcnnrt's random draws, written again from cnnrt.h's words.

An independent reference for the tests: cnn_random, the Fisher-Yates
shuffle of each epoch and the glorot_uniform initialisation, in plain
Python integers and doubles. Run as a script it prints the same report as
rng_vectors.c, so that the two can be compared with diff.
"""
import math
import struct
import sys

M64 = (1 << 64) - 1
G = 0x9E3779B97F4A7C15
STREAM_SHUFFLE = 1 << 62
STREAM_INIT = (1 << 62) + (1 << 32)


def mix(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def cnn_random(seed, stream, counter):
    key = mix((seed ^ mix((stream + G) & M64)) & M64)
    return mix((key + counter * G) & M64)


def uniform(r):
    return (r >> 11) * 2.0 ** -53


def shuffle(n, seed, epoch):
    order = list(range(n))
    for i in range(n - 1, 0, -1):
        j = cnn_random(seed, STREAM_SHUFFLE + epoch, i) % (i + 1)
        order[i], order[j] = order[j], order[i]
    return order


def to_f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def glorot(seed, tensor, size, fan_in, fan_out):
    """the initial values of tensor number `tensor`, in cnnc's layout"""
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    stream = STREAM_INIT + tensor
    return [to_f32((2.0 * uniform(cnn_random(seed, stream, e)) - 1.0) * limit)
            for e in range(size)]


VECTORS = [(0, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 2, 3),
           (M64, M64, M64), (42, STREAM_SHUFFLE + 1, 7),
           (1, STREAM_INIT + 2, 783), (12345678901234567890, 5 << 16 | 3, 99)]
SHUFFLES = [(10, 1, 1), (10, 1, 2), (7, 42, 3), (1, 5, 1)]


def report():
    for s, t, c in VECTORS:
        print("random %d %d %d = %016x" % (s, t, c, cnn_random(s, t, c)))
    for n, seed, epoch in SHUFFLES:
        print("shuffle %d %d %d =" % (n, seed, epoch),
              " ".join(map(str, shuffle(n, seed, epoch))))
    for e in range(4):
        print("glorot %d = %.9g" % (e, glorot(1, 2, 4, 784, 10)[e]))


if __name__ == "__main__":
    report() if sys.argv[1:] == ["report"] else sys.exit("usage: cnnrt_ref.py report")
