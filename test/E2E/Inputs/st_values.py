#!/usr/bin/python3
"""Prints named tensors of a safetensors file: NAME DTYPE SHAPE values...,
with the standard library only.

    st_values.py FILE NAME...
"""
import json, struct, sys


def main():
    path, names = sys.argv[1], sys.argv[2:]
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    data = blob[8 + n:]
    for name in names:
        e = header[name]
        begin, end = e["data_offsets"]
        code = {"F32": "f", "I64": "q"}[e["dtype"]]
        count = (end - begin) // struct.calcsize(code)
        values = struct.unpack("<%d%s" % (count, code), data[begin:end])
        print(name, e["dtype"], json.dumps(e["shape"]).replace(" ", ""),
              ", ".join(repr(v) for v in values))


main()
