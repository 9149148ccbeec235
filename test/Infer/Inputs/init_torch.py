#!/usr/bin/python3
"""PyTorch's side of the --init test: test/E2E/Inputs/resume_adam.cnn as
torch.nn, under the names cnnc gives its layers, trained a little in
PyTorch (seeded), its state_dict saved as safetensors, and what PyTorch
scores with it on the validation images (the last 200 of the training
file) and the test images of an IDX folder.

    init_torch.py make DATA_DIR OUT_DIR
        writes OUT_DIR/torch.st and OUT_DIR/torch.txt (the scores), and
        OUT_DIR/hwc.st: the same but dense_1.weight's inputs in H,W,C
        order (cnnc's activations') instead of PyTorch's C,H,W
    init_torch.py check OUT_DIR TRAINER_STDOUT
        the trainer's --epochs 0 --init OUT_DIR/torch.st report against
        PyTorch's: the same number of images right (validation and test),
        the losses within the last printed digit
"""
import collections
import os
import re
import sys

import numpy as np

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
VALIDATION = 200


def twin():
    import torch.nn as nn
    L = collections.OrderedDict
    return nn.Sequential(L([
        ("conv2d_1", nn.Conv2d(1, 8, 3, padding=1)), ("r1", nn.ReLU()),
        ("p1", nn.MaxPool2d(2)), ("d1", nn.Dropout(0.25)),
        ("conv2d_2", nn.Conv2d(8, 16, 3)), ("r2", nn.ReLU()),
        ("p2", nn.AvgPool2d(2)), ("flatten", nn.Flatten()),
        ("dense_1", nn.Linear(576, 32)), ("r3", nn.ReLU()),
        ("d2", nn.Dropout(0.5)), ("dense_2", nn.Linear(32, 10))]))


def idx(folder, prefix):
    with open(os.path.join(folder, prefix + "-images-idx3-ubyte"), "rb") as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16)
    with open(os.path.join(folder, prefix + "-labels-idx1-ubyte"), "rb") as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)
    x = images.astype(np.float32).reshape(-1, 1, 28, 28) / 255.0
    return x, labels.astype(np.int64)


def score(torch, net, x, y):
    with torch.no_grad():
        logits = net(torch.from_numpy(x))
        loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(y))
        right = int((logits.argmax(1).numpy() == y).sum())
    return float(loss), right, len(y)


def make(data, out):
    import torch
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from torch_reference import save_safetensors
    torch.manual_seed(5)
    torch.set_num_threads(1)
    x, y = idx(data, "train")
    train_x, train_y = x[:-VALIDATION], y[:-VALIDATION]
    net = twin()
    opt = torch.optim.Adam(net.parameters(), lr=0.003)
    # a few steps: the scores are neither chance nor perfect, so that a
    # weight read wrong would show
    for step in range(30):
        at = (step * 32) % (len(train_y) - 32)
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(
            net(torch.from_numpy(train_x[at:at + 32])),
            torch.from_numpy(train_y[at:at + 32]))
        loss.backward()
        opt.step()
    net.eval()
    state = net.state_dict()
    save_safetensors(state, os.path.join(out, "torch.st"))
    hwc = collections.OrderedDict(state)
    hwc["dense_1.weight"] = (state["dense_1.weight"].reshape(32, 16, 6, 6)
                             .permute(0, 2, 3, 1).reshape(32, 576))
    save_safetensors(hwc, os.path.join(out, "hwc.st"))
    test_x, test_y = idx(data, "t10k")
    with open(os.path.join(out, "torch.txt"), "w") as f:
        for name, (xs, ys) in (("validation", (x[-VALIDATION:], y[-VALIDATION:])),
                               ("test", (test_x, test_y))):
            f.write("%s %r %d %d\n" % ((name,) + score(torch, net, xs, ys)))


def check(out, stdout):
    torch_says = {}
    for line in open(os.path.join(out, "torch.txt")):
        name, loss, right, n = line.split()
        torch_says[name] = (float(loss), int(right), int(n))
    report = open(stdout).read()
    for name in ("validation", "test"):
        m = re.search(r"^%s: loss ([0-9.]+) acc ([0-9.]+) \((\d+) images"
                      % name, report, re.M)
        if not m:
            sys.exit("init_torch.py: no '%s:' line in %s" % (name, stdout))
        loss, right, n = torch_says[name]
        if int(m.group(3)) != n or m.group(2) != "%.4f" % (right / n):
            sys.exit("init_torch.py: %s: the trainer says acc %s of %s images, "
                     "PyTorch %d right of %d (%.4f)" % (name, m.group(2),
                                                       m.group(3), right, n,
                                                       right / n))
        if abs(float(m.group(1)) - loss) > 1.5e-4:
            sys.exit("init_torch.py: %s: the trainer says loss %s, PyTorch "
                     "%.6f" % (name, m.group(1), loss))
        if not 0.3 < right / n < 1:
            sys.exit("init_torch.py: %s: PyTorch's accuracy %.4f is too near "
                     "chance or perfection to tell" % (name, right / n))
        print("%s: %d of %d right, loss %.4f, as in PyTorch" % (name, right, n,
                                                               loss))
    m = re.search(r"^test_acc: ([0-9.]+)$", report, re.M)
    right, n = torch_says["test"][1:]
    if not m or m.group(1) != "%.4f" % (right / n):
        sys.exit("init_torch.py: test_acc is not PyTorch's %.4f" % (right / n))


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "make":
        make(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "check":
        check(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
