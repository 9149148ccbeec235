#!/usr/bin/env python3
"""write_npy.py - one .npy file with a header given verbatim, for the tests
of the header parser (test/Runtime/npy-headers.test).

    write_npy.py OUT HEADER [--version V] [--bytes N] [--raw]

HEADER is the dict literal as it should appear; it is padded with spaces
and ended by '\\n' as np.save does (to a multiple of 64 bytes), unless --raw
(then written as it is). The data is N bytes 0, 1, 2, ... (mod 256).
"""
import argparse

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("header")
ap.add_argument("--version", type=int, default=1)
ap.add_argument("--bytes", type=int, default=0)
ap.add_argument("--raw", action="store_true")
a = ap.parse_args()
size = 2 if a.version == 1 else 4
header = a.header
if not a.raw:
    header += " " * ((64 - (10 + (size - 2) + len(header) + 1) % 64) % 64) + "\n"
text = header.encode("utf-8")
with open(a.out, "wb") as f:
    f.write(b"\x93NUMPY" + bytes([a.version, 0]) +
            len(text).to_bytes(size, "little") + text +
            bytes(i % 256 for i in range(a.bytes)))
