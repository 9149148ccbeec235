#!/usr/bin/python3
"""PyTorch's side of optimizer-torch-parity.test: the same steps with
torch.optim, from the same weights, on the same images.

    optim_torch.py CNN DATA_DIR N INIT.safetensors STEPS CNNC.safetensors

CNN's train block names the optimizer (sgd, adam, adamw, with their
weight_decay, nesterov, decay_biases) and its label_smoothing; N is its
batch: each step is one full batch of the first N training images (what
the trainer's --limit N --validation 0 trains on, in another order, which
a full-batch gradient does not see). Loads INIT into the torch.nn twin
(test/Inputs/cnn_torch.py), takes STEPS steps with torch.optim and
torch.nn.CrossEntropyLoss(label_smoothing=...), and compares every weight
with the trainer's after as many steps (CNNC): prints the largest
difference and fails above 2e-5 (float32 rounding in another order), or
when the steps changed the weights by less than 100 times that (a test
that moved nothing would pass)."""
import os
import sys

import numpy as np

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "Inputs"))
import cnn_torch  # noqa: E402

TOLERANCE = 2e-5


def arg(call, key, index, default):
    if key in call.kwargs:
        return call.kwargs[key]
    return call.args[index] if len(call.args) > index else default


def param_groups(net, decay, decay_biases):
    """every parameter decayed, or the vectors (biases, batchnorm) not"""
    if decay_biases:
        return [{"params": list(net.parameters()), "weight_decay": decay}]
    vectors = [p for p in net.parameters() if p.dim() == 1]
    others = [p for p in net.parameters() if p.dim() != 1]
    return [{"params": others, "weight_decay": decay},
            {"params": vectors, "weight_decay": 0.0}]


def optimizer(torch, net, opt):
    name = opt if isinstance(opt, str) else opt.name
    call = opt if not isinstance(opt, str) else cnn_torch.Call(name, [], {})
    truth = lambda v: v is True or v == "true"  # noqa: E731
    decay_biases = truth(call.kwargs.get("decay_biases", "true"))
    if name == "sgd":
        groups = param_groups(net, call.kwargs.get("weight_decay", 0.0), decay_biases)
        return torch.optim.SGD(groups, lr=arg(call, "lr", 0, 0.01),
                               momentum=arg(call, "momentum", 1, 0.0),
                               nesterov=truth(call.kwargs.get("nesterov", False)))
    defaults = {"adam": (1e-7, 0.0), "adamw": (1e-8, 0.01)}[name]
    groups = param_groups(net, call.kwargs.get("weight_decay", defaults[1]),
                          decay_biases)
    cls = torch.optim.Adam if name == "adam" else torch.optim.AdamW
    return cls(groups, lr=arg(call, "lr", 0, 0.001),
               betas=(arg(call, "beta1", 1, 0.9), arg(call, "beta2", 2, 0.999)),
               eps=arg(call, "eps", 3, defaults[0]))


def main(cnn, data, n, init, steps, cnnc):
    import torch
    spec = cnn_torch.load_cnn(cnn)
    net = cnn_torch.twin(spec)
    net.load_state_dict(cnn_torch.as_state_dict(cnn_torch.read_safetensors(init)))
    start = {k: v.clone() for k, v in net.state_dict().items()}
    x = torch.from_numpy(cnn_torch.idx_images(
        os.path.join(data, "train-images-idx3-ubyte"), n))
    y = torch.from_numpy(cnn_torch.idx_labels(
        os.path.join(data, "train-labels-idx1-ubyte"), n).astype(np.int64))
    opt = optimizer(torch, net, spec.train.get("optimizer", "adam"))
    loss_fn = torch.nn.CrossEntropyLoss(
        label_smoothing=float(spec.train.get("label_smoothing", 0.0)))
    for _ in range(steps):
        opt.zero_grad()
        loss_fn(net(x, logits=True), y).backward()
        opt.step()
    theirs = cnn_torch.read_safetensors(cnnc)
    worst = moved = 0.0
    for k, v in net.state_dict().items():
        mine = v.detach().numpy()
        worst = max(worst, float(np.abs(mine - theirs[k]).max()))
        moved = max(moved, float(np.abs(mine - start[k].numpy()).max()))
    print("%d steps: weights differ by at most %.3g (moved by up to %.3g)"
          % (steps, worst, moved))
    if worst > TOLERANCE or moved < 100 * TOLERANCE:
        sys.exit("optim_torch.py: FAIL")
    print("OK")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4],
         int(sys.argv[5]), sys.argv[6])
