#!/usr/bin/python3
"""Writes random weights for a model as safetensors (PyTorch's names and
layouts), with the standard library only: the parameter list comes from
`cnnc --print-ir --passes=infer-shapes` on stdin. Batchnorm buffers get
values far from their defaults (running_var in [0.5, 2]), and
num_batches_tracked is an I64.

    cnnc --print-ir --passes=infer-shapes M.cnn | random_weights.py OUT SEED
"""
import json, random, re, struct, sys

PARAM = re.compile(r"%(\S+) = param : (f32|i64)\[([0-9x]*)\]")


def torch_shape(dims):
    if len(dims) == 4:  # HWIO -> OIHW
        return [dims[3], dims[2], dims[0], dims[1]]
    if len(dims) == 2:  # [in, out] -> [out, in]
        return [dims[1], dims[0]]
    return dims


def values(name, count, rng):
    if name.endswith("running_var"):
        return [rng.uniform(0.5, 2.0) for _ in range(count)]
    return [rng.uniform(-0.5, 0.5) for _ in range(count)]


def main():
    out, rng = sys.argv[1], random.Random(int(sys.argv[2]))
    header, data = {}, b""
    for name, dtype, shape in PARAM.findall(sys.stdin.read()):
        dims = torch_shape([int(d) for d in shape.split("x")] if shape else [])
        count = 1
        for d in dims:
            count *= d
        if dtype == "i64":
            blob = struct.pack("<%dq" % count, *[rng.randrange(1000)] * count)
        else:
            blob = struct.pack("<%df" % count, *values(name, count, rng))
        header[name] = {"dtype": dtype.upper(), "shape": dims,
                        "data_offsets": [len(data), len(data) + len(blob)]}
        data += blob
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(out, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


main()
