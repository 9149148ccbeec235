#!/usr/bin/env python3
"""weights_cases.py OUT_DIR - safetensors files for test/Driver/Inputs/tiny.cnn
that the reading order and the value checks must handle, beside
make_safetensors.py's (whose writer this one uses):

    long-header.safetensors  a header length within the limit, past the file's end
    twice.safetensors        conv2d_1.bias named twice
    two-dtypes.safetensors   dense_1.bias with a dtype F16 and then a dtype F32
    nan.safetensors          one NaN in dense_1.weight, element 150 [1, 42]
    inf.safetensors          one +Inf in conv2d_1.weight, element 13 [1, 0, 1, 1]
    neg-inf.safetensors      one -Inf in conv2d_1.bias, element 2, and a NaN
                             in dense_1.bias, element 0
"""
import json
import os
import struct
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_safetensors import GOOD, write  # noqa: E402


def retext(good, old, new):
    """good's header text with old replaced by new."""
    n = struct.unpack("<Q", good[:8])[0]
    text = good[8:8 + n].decode()
    assert old in text, old
    return text.replace(old, new).rstrip().encode()


def poke(path, tensor, element, value):
    """Overwrites one float of a tensor (PyTorch's element order)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        begin, end = json.loads(f.read(n))[tensor]["data_offsets"]
    assert 0 <= 4 * element < end - begin, "poke: no such element"
    with open(path, "r+b") as f:
        f.seek(8 + n + begin + 4 * element)
        f.write(struct.pack("<f", value))


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    p = lambda n: os.path.join(out, n)
    write(p("good.safetensors"), GOOD)
    with open(p("good.safetensors"), "rb") as f:
        good = f.read()
    with open(p("long-header.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", 4096) + good[8:100])
    # JSON objects from Python cannot repeat a key: these edit the text.
    write(p("twice.safetensors"), GOOD, raw_header=retext(
        good, '"conv2d_1.bias": {', '"conv2d_1.bias": {"dtype": "F32", '
        '"shape": [3], "data_offsets": [108, 120]}, "conv2d_1.bias": {'))
    write(p("two-dtypes.safetensors"), GOOD, raw_header=retext(
        good, '"dense_1.bias": {"dtype": "F32"',
        '"dense_1.bias": {"dtype": "F16", "dtype": "F32"'))
    for name, pokes in (
            ("nan", [("dense_1.weight", 150, float("nan"))]),
            ("inf", [("conv2d_1.weight", 13, float("inf"))]),
            ("neg-inf", [("conv2d_1.bias", 2, float("-inf")),
                         ("dense_1.bias", 0, float("nan"))])):
        write(p(name + ".safetensors"), GOOD)
        for tensor, element, value in pokes:
            poke(p(name + ".safetensors"), tensor, element, value)


if __name__ == "__main__":
    main()
