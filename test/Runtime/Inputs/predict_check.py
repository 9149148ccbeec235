#!/usr/bin/env python3
"""predict_check.py - reads what a trainer's --predict (or examples/embed's
classify) printed: one block per file, "FILE: FORMAT WxH KIND..." then
"  PROB  CLASS  [NAME]" lines.

    predict_check.py groups OUT        the files of one image that image_files.py
                                       idx wrote (K-grey8.png, K-p5.pgm...) and
                                       that hold the same pixels got the same
                                       lines: "image K full: 14 files agree"
    predict_check.py same OUT A B       the files named A and B (their paths
                                       end so) got the same lines
    predict_check.py relabel OUT DATA NEW
                                       NEW: DATA's IDX files, with the test
                                       labels the top classes --predict gave
                                       DIR/K.pgm (image_files.py pgm), so that
                                       the trainer's test accuracy on NEW is 1
                                       exactly when it classifies every test
                                       image as --predict did
    predict_check.py loss OUT TRAINER_OUT
                                       the mean of -ln(top probability) over
                                       OUT's files is the "test: loss" of
                                       TRAINER_OUT (a run on relabel's NEW),
                                       within what rounding to 4 decimals
                                       can change
    predict_check.py close A B TOL     the same files, classes in the same
                                       order (but among probabilities within
                                       TOL), each probability within TOL
"""
import os
import re
import shutil
import struct
import sys

# the files of image_files.py idx that hold the same pixels
GROUPS = {
    "full": ("grey8.png", "grey16.png", "greyalpha8.png", "rgb8.png",
             "rgb16.png", "rgba8.png", "rgba16.png", "palette8.png",
             "adam7.png", "p2.pgm", "p5.pgm", "p5-16.pgm", "p3.ppm", "p6.ppm"),
    "4-bit": ("q4-grey4.png", "q4-palette4.png", "q4-max15.pgm", "q4-p2.pgm"),
    "1-bit": ("q1-grey1.png", "q1-max1.pgm", "q1-p5.pgm"),
    "colour": ("colour.ppm", "colour-luma.pgm"),
}


def blocks(path):
    """{file: (header, [(prob, class)])} in the order printed"""
    out, current = {}, None
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            if not line.startswith(" "):
                name, header = line.split(": ", 1)
                current = out[name] = (header, [])
            else:
                prob, cls = line.split()[:2]
                current[1].append((float(prob), int(cls), line.strip()))
    return out


def groups(path):
    b = blocks(path)
    ks = sorted({int(os.path.basename(n).split("-")[0]) for n in b})
    for k in ks:
        for group, names in GROUPS.items():
            files = [n for n in b if os.path.basename(n) in
                     ["%d-%s" % (k, x) for x in names]]
            lines = {tuple(x[2] for x in b[n][1]) for n in files}
            state = "agree" if len(lines) == 1 else "DISAGREE"
            print("image %d %s: %d files %s" % (k, group, len(files), state))


def same(path, a, b):
    blocks_ = blocks(path)
    ends = lambda suffix: [v[1] for n, v in blocks_.items() if n.endswith("/" + suffix)]
    x, y = ends(a), ends(b)
    if len(x) != 1 or len(y) != 1:
        sys.exit("predict_check.py: %s or %s is not in %s once" % (a, b, path))
    lines = lambda v: [line for _, _, line in v]
    print("the same lines" if lines(x[0]) == lines(y[0]) else "DIFFERENT lines")


def relabel(path, data, new):
    os.makedirs(new, exist_ok=True)
    for name in os.listdir(data):
        shutil.copy(os.path.join(data, name), new)
    top = {}
    for name, (_, classes) in blocks(path).items():
        top[int(re.match(r"(\d+)\.pgm$", os.path.basename(name)).group(1))] = classes[0][1]
    labels = os.path.join(new, "t10k-labels-idx1-ubyte")
    with open(labels, "rb") as f:
        n = struct.unpack(">II", f.read(8))[1]
    if sorted(top) != list(range(n)):
        sys.exit("predict_check.py: %d test images, %d files classified" % (n, len(top)))
    with open(labels, "wb") as f:
        f.write(struct.pack(">II", 0x801, n) + bytes(top[k] for k in range(n)))
    print("relabelled %d test images" % n)


def loss(path, trainer_out):
    import math
    with open(trainer_out) as f:
        trainer = float(re.search(r"^test: loss ([0-9.]+)", f.read(), re.M).group(1))
    tops = [classes[0][0] for _, classes in blocks(path).values()]
    mean = sum(-math.log(p) for p in tops) / len(tops)
    # each p printed is within 5e-5 of the one the loss took, the loss
    # within 5e-5 of its value
    bound = sum(5e-5 / (p - 5e-5) for p in tops) / len(tops) + 5e-5 + 1e-6
    verdict = "agrees" if abs(mean - trainer) <= bound else "DIFFERS"
    print("loss %s: trainer %.4f, --predict's probabilities %.4f (bound %.1e)"
          % (verdict, trainer, mean, bound))


def close(a, b, tol):
    x, y = blocks(a), blocks(b)
    if sorted(x) != sorted(y):
        sys.exit("predict_check.py: the files differ: %s / %s" % (sorted(x), sorted(y)))
    worst = 0.0
    for name in x:
        px, py = x[name][1], y[name][1]
        if len(px) != len(py):
            sys.exit("predict_check.py: %s: %d classes / %d" % (name, len(px), len(py)))
        for (p, c, _), (q, d, _) in zip(px, py):
            worst = max(worst, abs(p - q))
            # another order is only allowed between near-equal probabilities
            if c != d and abs(p - dict((cc, pp) for pp, cc, _ in px).get(d, -1)) > tol:
                sys.exit("predict_check.py: %s: class %d / %d" % (name, c, d))
    verdict = "within" if worst <= tol else "NOT within"
    print("%d files: probabilities %s %g" % (len(x), verdict, tol))


def main():
    cmd = sys.argv[1]
    if cmd == "groups":
        groups(sys.argv[2])
    elif cmd == "same":
        same(sys.argv[2], sys.argv[3], sys.argv[4])
    elif cmd == "relabel":
        relabel(sys.argv[2], sys.argv[3], sys.argv[4])
    elif cmd == "loss":
        loss(sys.argv[2], sys.argv[3])
    elif cmd == "close":
        close(sys.argv[2], sys.argv[3], float(sys.argv[4]))
    else:
        sys.exit("predict_check.py: unknown command " + cmd)


if __name__ == "__main__":
    main()
