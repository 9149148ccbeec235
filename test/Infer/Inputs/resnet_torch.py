#!/usr/bin/python3
"""PyTorch's side of resnet-torch-parity.test: the torch.nn twin of a .cnn
file (test/Inputs/cnn_torch.py) with PyTorch's initialisation (seeded) and
every batchnorm's weight, bias, running_mean and running_var set to random
values, so that an inference object that ignored one of them, or mixed
them up, would not compute PyTorch's probabilities.

    resnet_torch.py make CNN MNIST_DIR N OUT_DIR
        writes OUT_DIR/w.safetensors (the state_dict), OUT_DIR/bad.safetensors
        (the same with one running_var 10% larger), OUT_DIR/images.bin (the
        first N MNIST test images, N x H x W x C float32, pixel/255),
        OUT_DIR/probs.bin (the twin's eval-mode probabilities, N x classes),
        OUT_DIR/data (IDX files: those N test images, 10 training images)
        and OUT_DIR/torch.txt (PyTorch's test loss and images right)
    resnet_torch.py check OUT_DIR TRAINER_STDOUT
        the trainer's "test:" line (--epochs 0 --init OUT_DIR/w.safetensors
        --data OUT_DIR/data) against PyTorch's: the same accuracy, the loss
        within the last printed digit
"""
import os
import re
import sys

import numpy as np

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "Inputs"))
import cnn_torch  # noqa: E402


def sharpen(net, torch):
    """The last dense layer's weights times 10: PyTorch's initialisation
    gives nearly uniform probabilities, which would hide small errors."""
    last = [m for m in net.modules() if isinstance(m, torch.nn.Linear)][-1]
    last.weight.data *= 10


def write_data(mnist, n, out):
    """A small IDX folder: the first n test images and 10 training ones."""
    os.makedirs(out, exist_ok=True)
    for prefix, count in (("t10k", n), ("train", 10)):
        for what in ("images-idx3-ubyte", "labels-idx1-ubyte"):
            name = "%s-%s" % (prefix, what)
            cnn_torch.write_idx(os.path.join(out, name),
                                cnn_torch.read_idx(os.path.join(mnist, name))[:count])


def make(cnn, mnist, n, out):
    import torch
    torch.manual_seed(7)
    net = cnn_torch.twin(cnn_torch.load_cnn(cnn))
    cnn_torch.randomise_batchnorms(net)
    sharpen(net, torch)
    net.eval()
    state = net.state_dict()
    cnn_torch.write_safetensors(os.path.join(out, "w.safetensors"), state)
    bad = dict(state)
    name = [k for k in state if k.endswith("running_var")][-1]
    bad[name] = state[name] * 1.1
    cnn_torch.write_safetensors(os.path.join(out, "bad.safetensors"), bad)
    x = cnn_torch.idx_images(os.path.join(mnist, "t10k-images-idx3-ubyte"), n)
    y = cnn_torch.idx_labels(os.path.join(mnist, "t10k-labels-idx1-ubyte"), n)
    p = cnn_torch.predict(net, x)
    x.transpose(0, 2, 3, 1).astype("<f4").tofile(os.path.join(out, "images.bin"))
    p.astype("<f4").tofile(os.path.join(out, "probs.bin"))
    write_data(mnist, n, os.path.join(out, "data"))
    loss = -np.log(p[np.arange(n), y].astype(np.float64)).mean()
    right = int((p.argmax(1) == y).sum())
    with open(os.path.join(out, "torch.txt"), "w") as f:
        f.write("%r %d %d\n" % (loss, right, n))
    print("PyTorch: %d of %d right, loss %.4f, largest probability %.3f on "
          "average" % (right, n, loss, p.max(1).mean()))


def check(out, stdout):
    loss, right, n = open(os.path.join(out, "torch.txt")).read().split()
    loss, right, n = float(loss), int(right), int(n)
    m = re.search(r"^test: loss ([0-9.]+) acc ([0-9.]+) \((\d+) images",
                  open(stdout).read(), re.M)
    if not m:
        sys.exit("resnet_torch.py: no 'test:' line in %s" % stdout)
    if int(m.group(3)) != n or m.group(2) != "%.4f" % (right / n):
        sys.exit("resnet_torch.py: the trainer says acc %s of %s images, "
                 "PyTorch %d right of %d" % (m.group(2), m.group(3), right, n))
    if abs(float(m.group(1)) - loss) > 1.5e-4:
        sys.exit("resnet_torch.py: the trainer says loss %s, PyTorch %.6f"
                 % (m.group(1), loss))
    print("trainer: %d of %d right, loss %.4f, as in PyTorch" % (right, n, loss))


def main():
    if len(sys.argv) == 6 and sys.argv[1] == "make":
        make(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
    elif len(sys.argv) == 4 and sys.argv[1] == "check":
        check(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
