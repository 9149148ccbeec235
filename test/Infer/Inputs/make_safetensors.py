#!/usr/bin/env python3
"""Writes safetensors files for test/Driver/Inputs/tiny.cnn (conv2d_1:
3 filters 3x3 over 1 channel, dense_1: 108 -> 2), good and broken, with
the standard library only.

    make_safetensors.py OUT_DIR
"""
import json, os, struct, sys

GOOD = {  # PyTorch names and shapes of tiny.cnn's parameters
    "conv2d_1.weight": [3, 1, 3, 3],
    "conv2d_1.bias": [3],
    "dense_1.weight": [2, 108],
    "dense_1.bias": [2],
}


def count(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def write(path, tensors, dtype="F32", header_edit=None, raw_header=None,
          length_edit=0):
    header, data, at = {}, b"", 0
    for name, shape in tensors.items():
        values = [((i * 37 + len(name)) % 19 - 9) / 50.0 for i in range(count(shape))]
        blob = struct.pack("<%df" % len(values), *values)
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [at, at + len(blob)]}
        data += blob
        at += len(blob)
    header["__metadata__"] = {"format": "pt"}
    if header_edit:
        header_edit(header)
    text = raw_header if raw_header is not None else json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text) + length_edit) + text + data)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    p = lambda n: os.path.join(out, n)
    write(p("good.safetensors"), GOOD)
    write(p("missing.safetensors"), {k: v for k, v in GOOD.items() if k != "dense_1.bias"})
    write(p("extra.safetensors"), dict(GOOD, **{"dense_9.weight": [2, 2]}))
    write(p("shape.safetensors"), dict(GOOD, **{"conv2d_1.weight": [3, 1, 5, 5]}))
    write(p("dtype.safetensors"), GOOD, dtype="F16")
    write(p("length.safetensors"), GOOD, length_edit=1 << 40)
    write(p("json.safetensors"), GOOD, raw_header=b'{"conv2d_1.weight": [')

    def gap(h):
        h["dense_1.bias"]["data_offsets"] = [x + 4 for x in h["dense_1.bias"]["data_offsets"]]
    write(p("gap.safetensors"), GOOD, header_edit=gap)

    def wrong_span(h):
        h["conv2d_1.bias"]["data_offsets"][1] -= 4
    write(p("span.safetensors"), GOOD, header_edit=wrong_span)
    with open(p("short.safetensors"), "wb") as f:
        f.write(b"\x01\x02")


if __name__ == "__main__":
    main()
