#!/usr/bin/env python3
"""st_tool.py - looks into and spoils safetensors files, for the tests of
--checkpoint, --resume and --init (standard library only).

    st_tool.py show FILE
        one line per tensor ("NAME [SHAPE] DTYPE"), in the header's order,
        then one per __metadata__ entry ("meta KEY=VALUE", newlines as \\n)
    st_tool.py same A B
        every tensor of A is in B with the same dtype, shape and bytes
        (B may hold more: a checkpoint holds a --save file's tensors and
        the optimizer's); prints "same: N tensors", or exits 1 naming the
        first that differs
    st_tool.py edit IN OUT [--drop NAME] [--add NAME] [--transpose NAME]
                           [--nan NAME] [--meta KEY=VALUE] [--unmeta KEY]
                           [--cut BYTES]
        IN with a tensor left out, one more (zeros, shape [3]), a 2-D
        tensor's shape reversed, element 1 made NaN, a metadata entry set
        or removed; --cut keeps only the first BYTES bytes of the result
"""
import argparse
import json
import struct
import sys


def read(path):
    blob = open(path, "rb").read()
    n = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + n])
    meta = header.pop("__metadata__", None)
    data = blob[8 + n:]
    tensors = []
    for name, t in header.items():
        begin, end = t["data_offsets"]
        tensors.append([name, t["dtype"], list(t["shape"]), data[begin:end]])
    tensors.sort(key=lambda t: header[t[0]]["data_offsets"][0])
    return meta, tensors


def encode(meta, tensors):
    header, at = {}, 0
    if meta is not None:
        header["__metadata__"] = meta
    for name, dtype, shape, data in tensors:
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [at, at + len(data)]}
        at += len(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(t[3] for t in tensors)


def show(a):
    meta, tensors = read(a.file)
    for name, dtype, shape, _ in tensors:
        print("%s %s %s" % (name, shape, dtype))
    for key, value in (meta or {}).items():
        print("meta %s=%s" % (key, value.replace("\n", "\\n")))


def same(a):
    _, first = read(a.a)
    _, second = read(a.b)
    other = {t[0]: t for t in second}
    for t in first:
        if other.get(t[0]) != t:
            sys.exit("st_tool: tensor %s of %s differs in %s, or is not there"
                     % (t[0], a.a, a.b))
    print("same: %d tensors" % len(first))


def find(tensors, name):
    for t in tensors:
        if t[0] == name:
            return t
    sys.exit("st_tool: no tensor %s" % name)


def edit(a):
    meta, tensors = read(a.input)
    for name in a.drop:
        tensors.remove(find(tensors, name))
    for name in a.add:
        tensors.append([name, "F32", [3], bytes(12)])
    for name in a.transpose:
        find(tensors, name)[2].reverse()
    for name in a.nan:
        t = find(tensors, name)
        t[3] = t[3][:4] + struct.pack("<f", float("nan")) + t[3][8:]
    for item in a.meta:
        key, _, value = item.partition("=")
        meta[key] = value
    for key in a.unmeta:
        del meta[key]
    blob = encode(meta, tensors)
    if a.cut is not None:
        blob = blob[:a.cut]
    open(a.output, "wb").write(blob)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("show")
    p.add_argument("file")
    p.set_defaults(run=show)
    p = sub.add_parser("same")
    p.add_argument("a")
    p.add_argument("b")
    p.set_defaults(run=same)
    p = sub.add_parser("edit")
    p.add_argument("input")
    p.add_argument("output")
    for opt in ("drop", "add", "transpose", "nan", "meta", "unmeta"):
        p.add_argument("--" + opt, action="append", default=[])
    p.add_argument("--cut", type=int)
    p.set_defaults(run=edit)
    a = ap.parse_args()
    a.run(a)


if __name__ == "__main__":
    main()
