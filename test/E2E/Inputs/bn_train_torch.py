#!/usr/bin/python3
"""PyTorch's side of batchnorm-train-parity.test: the same training steps
in cnnc and in the torch.nn twin of the .cnn file (test/Inputs/cnn_torch.py)
from the same weights, every tensor compared afterwards.

    bn_train_torch.py init CNN OUT.safetensors
        the twin's initial state: PyTorch's initialisation (seeded), every
        batchnorm's weight, bias and running statistics random (far from
        1 and 0, so that reading one wrong shows), num_batches_tracked 17
    bn_train_torch.py check CNN DATA_DIR N STEPS INIT SAVED [--bn-momentum M]
        loads INIT into the twin, runs STEPS steps in train mode, each on
        the first N training images of DATA_DIR as one batch, with the
        train block's optimizer, and compares with SAVED (cnnc's --save
        after --init INIT --limit N --batch N --validation 0 --epochs
        STEPS): the same tensors, num_batches_tracked equal, every other
        element within 1e-4 of the tensor's scale. --bn-momentum replaces
        every batchnorm's momentum in the twin (to see the check fail).

A step of the twin is cnnc's: the mean cross-entropy of the batch, and
sgd(lr, momentum) as torch.optim.SGD; adam(lr, beta1, beta2, eps) is
Keras's Adam (docs/trainer.md), which is torch.optim.Adam with eps
replaced by eps / sqrt(1 - beta2^t) at step t."""
import argparse
import math
import os
import sys

import numpy as np

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "Inputs"))
import cnn_torch  # noqa: E402

RTOL = 1e-4


def init(cnn, out):
    import torch
    torch.manual_seed(11)
    net = cnn_torch.twin(cnn_torch.load_cnn(cnn))
    cnn_torch.randomise_batchnorms(net)
    cnn_torch.write_safetensors(out, net.state_dict())


def optimizer(torch, net, spec):
    """The train block's optimizer, and what to do before each step."""
    o = spec.train["optimizer"]
    kw = dict(zip(("lr", "momentum"), o.args), **o.kwargs)
    if o.name == "sgd":
        sgd = torch.optim.SGD(net.parameters(), lr=kw["lr"],
                              momentum=kw.get("momentum", 0))
        return sgd, lambda t: None
    kw = dict(zip(("lr", "beta1", "beta2", "eps"), o.args), **o.kwargs)
    b1, b2, eps = kw.get("beta1", 0.9), kw.get("beta2", 0.999), kw.get("eps", 1e-7)
    adam = torch.optim.Adam(net.parameters(), lr=kw["lr"], betas=(b1, b2))

    def keras_eps(t):
        for group in adam.param_groups:
            group["eps"] = eps / math.sqrt(1 - b2 ** t)
    return adam, keras_eps


def train(cnn, data, n, steps, start, bn_momentum):
    """The twin's state after `steps` full-batch steps from `start`."""
    import torch
    torch.set_default_dtype(torch.float32)
    spec = cnn_torch.load_cnn(cnn)
    net = cnn_torch.twin(spec)
    net.load_state_dict(cnn_torch.as_state_dict(cnn_torch.read_safetensors(start)),
                        strict=True)
    if bn_momentum is not None:
        for m in net.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.momentum = bn_momentum
    x = torch.from_numpy(cnn_torch.idx_images(
        os.path.join(data, "train-images-idx3-ubyte"), n))
    y = torch.from_numpy(cnn_torch.idx_labels(
        os.path.join(data, "train-labels-idx1-ubyte"), n))
    opt, before_step = optimizer(torch, net, spec)
    net.train()
    for t in range(1, steps + 1):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x, logits=True), y).backward()
        before_step(t)
        opt.step()
    return {k: v.numpy() for k, v in net.state_dict().items()}


def compare(ours, theirs):
    """Problems found, one line each; the worst relative difference."""
    problems, worst = [], 0.0
    if list(ours) != list(theirs):
        problems.append("names: cnnc %s, PyTorch %s" % (list(theirs), list(ours)))
    for name in ours:
        a, b = theirs.get(name), ours[name]
        if a is None or a.shape != b.shape or a.dtype != b.dtype:
            problems.append("%s: cnnc %s, PyTorch %s %s" % (
                name, None if a is None else (a.dtype, a.shape), b.dtype, b.shape))
        elif b.dtype.kind == "i":
            if not np.array_equal(a, b):
                problems.append("%s: cnnc %s, PyTorch %s" % (name, a, b))
        else:
            scale = np.abs(b).mean() + 1e-30
            diff = np.abs(a.astype(np.float64) - b) / (np.abs(b) + scale)
            worst = max(worst, float(diff.max()))
            if diff.max() > RTOL:
                i = np.unravel_index(diff.argmax(), b.shape)
                problems.append("%s%s: cnnc %.7g, PyTorch %.7g (relative %.2e)"
                                % (name, list(i), a[i], b[i], diff.max()))
    return problems, worst


def check(argv):
    ap = argparse.ArgumentParser()
    for arg in ("cnn", "data", "n", "steps", "init", "saved"):
        ap.add_argument(arg)
    ap.add_argument("--bn-momentum", type=float)
    a = ap.parse_args(argv)
    ours = train(a.cnn, a.data, int(a.n), int(a.steps), a.init, a.bn_momentum)
    problems, worst = compare(ours, cnn_torch.read_safetensors(a.saved))
    for p in problems:
        print("bn_train_torch.py: " + p)
    if problems:
        sys.exit(1)
    print("same: %d tensors after %s steps, within %.1e (worst %.1e)"
          % (len(ours), a.steps, RTOL, worst))


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "init":
        init(sys.argv[2], sys.argv[3])
    elif len(sys.argv) >= 8 and sys.argv[1] == "check":
        check(sys.argv[2:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
