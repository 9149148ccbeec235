#!/usr/bin/python3
"""resize_ref.py - libcnnrt's bilinear resize (image_dump FILE C H W) against
PyTorch's F.interpolate(mode='bilinear', align_corners=False,
antialias=False) on the same floats (bytes / 255), NCHW.

    resize_ref.py DUMP FILE C HxW...

prints, per size, the largest difference and whether it is within 1e-6.
"""
import subprocess
import sys

import torch
import torch.nn.functional as F


def dump(tool, *args):
    out = subprocess.run([tool] + list(args), check=True, capture_output=True,
                         text=True).stdout
    return out.splitlines()


def main():
    tool, path, c = sys.argv[1], sys.argv[2], int(sys.argv[3])
    lines = dump(tool, path, str(c))
    w, h = (int(v) for v in lines[0].split()[1].split("x"))
    pixels = [int(v) for line in lines[1:] for v in line.split()]
    src = torch.tensor(pixels, dtype=torch.float32).reshape(1, h, w, c) / 255
    src = src.permute(0, 3, 1, 2)
    for size in sys.argv[4:]:
        oh, ow = (int(v) for v in size.split("x"))
        want = F.interpolate(src, size=(oh, ow), mode="bilinear",
                             align_corners=False, antialias=False)
        want = want.permute(0, 2, 3, 1).reshape(-1)
        got = torch.tensor([float(v) for line in dump(tool, path, str(c), str(oh), str(ow))
                            for v in line.split()])
        diff = (got - want).abs().max().item()
        print("%s from %dx%d: max difference %.1e %s" % (
            size, h, w, diff, "ok" if diff <= 1e-6 else "TOO LARGE"))


if __name__ == "__main__":
    main()
