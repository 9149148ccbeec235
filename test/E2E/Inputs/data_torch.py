#!/usr/bin/python3
"""PyTorch's side of the colour-data tests: a cnnc checkpoint (--save)
loaded with load_state_dict(strict=True) into the torch.nn twin of its .cnn
file (test/Inputs/cnn_torch.py), scoring the data folder's test images as
torchvision reads them (CIFAR's planar records to N,C,H,W; .npy arrays
N,H,W,C transposed), against the trainer's own report.

    data_torch.py KIND CNN DIR SAVED TRAINER_STDOUT [--label fine|coarse]

KIND is cifar10, cifar100 or npy. Prints both accuracies; fails when they
differ by more than one image (a probability on the edge may round the
other way in float32). --misread swap|interleave|transpose reads the
images as a wrong loader would (the red and blue planes swapped, the
planar bytes taken as interleaved ones, rows for columns), to show that
the comparison fails then: the synthetic task's classes are colours and
orientations, which those readings change."""
import argparse
import os
import re
import sys

import numpy as np

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "Inputs"))
import cnn_torch  # noqa: E402


def trainer_says(stdout):
    text = open(stdout).read()
    m = re.search(r"^test: loss ([0-9.]+) acc ([0-9.]+) \((\d+) images", text, re.M)
    if not m:
        sys.exit("data_torch.py: no 'test:' line in %s" % stdout)
    return float(m.group(2)), int(m.group(3))


def misread(x, how):
    """N,C,H,W images as a loader with that mistake would hold them."""
    if how == "swap":
        return np.ascontiguousarray(x[:, ::-1])
    if how == "transpose":
        return np.ascontiguousarray(x.transpose(0, 1, 3, 2))
    n, c, h, w = x.shape  # the same bytes, read as H,W,C
    return np.ascontiguousarray(x.reshape(n, h, w, c).transpose(0, 3, 1, 2))


def main():
    ap = argparse.ArgumentParser()
    for arg in ("kind", "cnn", "dir", "saved", "stdout"):
        ap.add_argument(arg)
    ap.add_argument("--label", default="fine")
    ap.add_argument("--misread", choices=("swap", "interleave", "transpose"))
    a = ap.parse_args()
    net = cnn_torch.twin(cnn_torch.load_cnn(a.cnn))
    state = cnn_torch.read_safetensors(a.saved)
    net.load_state_dict(cnn_torch.as_state_dict(state), strict=True)
    net.eval()
    if a.kind == "npy":
        x, y = cnn_torch.npy_test_set(a.dir)
    else:
        x, y = cnn_torch.cifar_test_set(a.dir, a.kind, a.label)
    x = misread(x, a.misread) if a.misread else x
    p = cnn_torch.predict(net, x)
    right = int((p.argmax(1) == y).sum())
    acc, n = trainer_says(a.stdout)
    if n != len(y):
        sys.exit("data_torch.py: the trainer tested %d images, the folder "
                 "holds %d" % (n, len(y)))
    print("PyTorch: %d of %d right (acc %.4f); the trainer: acc %.4f"
          % (right, n, right / n, acc))
    if abs(right - round(acc * n)) > 1:
        sys.exit("data_torch.py: the accuracies differ")
    print("the same accuracy")


if __name__ == "__main__":
    main()
