#!/usr/bin/env python3
"""weights_cases.py OUT_DIR - safetensors files for test/Driver/Inputs/tiny.cnn
that the reading order must handle, beside
make_safetensors.py's (whose writer this one uses):

    long-header.safetensors  a header length within the limit, past the file's end
"""
import os
import struct
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_safetensors import GOOD, write  # noqa: E402


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    p = lambda n: os.path.join(out, n)
    write(p("good.safetensors"), GOOD)
    with open(p("good.safetensors"), "rb") as f:
        good = f.read()
    with open(p("long-header.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", 4096) + good[8:100])


if __name__ == "__main__":
    main()
