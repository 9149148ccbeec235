#!/usr/bin/python3
"""PyTorch's side of resnet-checkpoint-torch.test: a cnnc checkpoint
(--save) loaded with load_state_dict(strict=True) into the torch.nn twin
of its .cnn file (test/Inputs/cnn_torch.py) scores MNIST's test images in
eval mode (running statistics) as the trainer said it did.

    checkpoint_torch.py CNN MNIST_DIR SAVED TRAINER_STDOUT [--scale NAME=F]

The trainer's "test: loss L acc A" and "test_acc: A" lines against
PyTorch's: the accuracy within 0.001, the loss within the last printed
digit. --scale multiplies the tensor NAME by F before loading (to see the
check fail)."""
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
    """(loss, accuracy) of the trainer's report on the test images."""
    text = open(stdout).read()
    test = re.search(r"^test: loss ([0-9.]+) acc ([0-9.]+) \(10000 images", text, re.M)
    final = re.search(r"^test_acc: ([0-9.]+)$", text, re.M)
    if not test or not final or test.group(2) != final.group(1):
        sys.exit("checkpoint_torch.py: no 'test:' and matching 'test_acc:' "
                 "lines in %s" % stdout)
    return float(test.group(1)), float(final.group(1))


def torch_says(cnn, mnist, saved, scale):
    """(loss, accuracy) of the twin with the checkpoint, in eval mode."""
    state = cnn_torch.read_safetensors(saved)
    if scale:
        name, factor = scale.split("=")
        state[name] = state[name] * np.float32(factor)
    net = cnn_torch.twin(cnn_torch.load_cnn(cnn))
    net.load_state_dict(cnn_torch.as_state_dict(state), strict=True)
    net.eval()
    x = cnn_torch.idx_images(os.path.join(mnist, "t10k-images-idx3-ubyte"))
    y = cnn_torch.idx_labels(os.path.join(mnist, "t10k-labels-idx1-ubyte"))
    p = cnn_torch.predict(net, x).astype(np.float64)
    return -np.log(p[np.arange(len(y)), y]).mean(), (p.argmax(1) == y).mean()


def main():
    ap = argparse.ArgumentParser()
    for arg in ("cnn", "mnist", "saved", "stdout"):
        ap.add_argument(arg)
    ap.add_argument("--scale")
    a = ap.parse_args()
    loss, acc = trainer_says(a.stdout)
    torch_loss, torch_acc = torch_says(a.cnn, a.mnist, a.saved, a.scale)
    print("PyTorch: test_acc %.4f loss %.4f; the trainer: test_acc %.4f loss "
          "%.4f" % (torch_acc, torch_loss, acc, loss))
    if abs(torch_acc - acc) > 0.001 or abs(torch_loss - loss) > 1.5e-4:
        sys.exit("checkpoint_torch.py: PyTorch does not score the checkpoint "
                 "as the trainer did")
    print("same: test accuracy and loss")


if __name__ == "__main__":
    main()
