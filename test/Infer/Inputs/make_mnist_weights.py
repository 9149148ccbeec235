#!/usr/bin/env python3
"""Writes a safetensors file of deterministic pseudo-random weights for
examples/mnist.cnn, in PyTorch's names and shapes (standard library only).

    make_mnist_weights.py OUT.safetensors
"""
import json, math, random, struct, sys

SHAPES = [("conv2d_1.weight", [64, 1, 3, 3]), ("conv2d_1.bias", [64]),
          ("conv2d_2.weight", [64, 64, 3, 3]), ("conv2d_2.bias", [64]),
          ("conv2d_3.weight", [32, 64, 3, 3]), ("conv2d_3.bias", [32]),
          ("conv2d_4.weight", [32, 32, 3, 3]), ("conv2d_4.bias", [32]),
          ("dense_1.weight", [256, 1568]), ("dense_1.bias", [256]),
          ("dense_2.weight", [10, 256]), ("dense_2.bias", [10])]


def main():
    rng = random.Random(7)
    header, blobs, at = {}, [], 0
    for name, shape in SHAPES:
        n = math.prod(shape)
        fan_in = math.prod(shape[1:]) if len(shape) > 1 else 1
        a = math.sqrt(3.0 / fan_in)
        blob = struct.pack("<%df" % n, *(rng.uniform(-a, a) for _ in range(n)))
        header[name] = {"dtype": "F32", "shape": shape,
                        "data_offsets": [at, at + len(blob)]}
        blobs.append(blob)
        at += len(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(sys.argv[1], "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


if __name__ == "__main__":
    main()
