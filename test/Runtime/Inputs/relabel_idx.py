#!/usr/bin/env python3
"""relabel_idx.py - change some training labels of a data folder.

    relabel_idx.py DIR FIRST COUNT

In DIR/train-labels-idx1-ubyte (as make_idx.py writes it), the labels of
images FIRST .. FIRST+COUNT-1 (from 0) become (label + 1) mod 10: a run
that trains or validates on any of them reports other numbers; a run that
uses none of them reports the same.
"""
import os
import sys


def main():
    folder, first, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    path = os.path.join(folder, "train-labels-idx1-ubyte")
    with open(path, "rb") as f:
        data = bytearray(f.read())
    for i in range(8 + first, 8 + first + count):
        data[i] = (data[i] + 1) % 10
    with open(path, "wb") as f:
        f.write(data)


if __name__ == "__main__":
    main()
