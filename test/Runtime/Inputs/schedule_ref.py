#!/usr/bin/env python3
"""schedule_ref.py - the learning-rate schedules, independently of cnnrt.

The formulas of docs/trainer.md (issue 13), written again from the text,
and PyTorch's OneCycleLR itself (with --torch, under /usr/bin/python3):

  schedule_ref.py vectors SPEC < ACTUAL
      ACTUAL is Inputs/schedule_vectors's output for SPEC ("t lr momentum"
      a line); every line is checked against the reference
  schedule_ref.py log SPEC --train N --batch B FILE.csv
      the lr column of a --log file: the rate of each epoch's last step

SPEC is KIND SCHEDULE P1 P2 FILE_LR RUN_LR EPOCHS STEPS MOMENTUM, as
schedule_vectors takes it (for `log`, STEPS is computed from --train and
--batch and may be given as 0): KIND sgd|adam|adamw; SCHEDULE constant|
step|cosine|onecycle; P1 P2: every and factor (step), warmup (cosine),
max_lr (onecycle); MOMENTUM the file's momentum (sgd) or beta1.

With --torch the onecycle rates and momenta come from
torch.optim.lr_scheduler.OneCycleLR stepped T times over an optimizer of
that kind; the others from the formulas. Exit status 1 on a mismatch,
naming the step and both values."""
import argparse
import math
import sys

REL = 1e-9  # the C side computes in double, as these do


def formula(spec, t):
    """(lr, momentum) of step t (from 0) by the documented formulas"""
    lr, S, T = spec.run_lr, spec.steps, spec.epochs * spec.steps
    if spec.schedule == "constant":
        return lr, spec.momentum
    if spec.schedule == "step":
        e = t // S + 1
        return lr * spec.p2 ** ((e - 1) // int(spec.p1)), spec.momentum
    if spec.schedule == "cosine":
        W = int(spec.p1) * S
        if t < W:
            return lr * (t + 1) / W, spec.momentum
        return lr * (1 + math.cos(math.pi * (t - W) / (T - W))) / 2, spec.momentum
    if spec.schedule == "onecycle":
        return onecycle_by_hand(spec, t)
    raise SystemExit("unknown schedule " + spec.schedule)


def onecycle_by_hand(spec, t):
    """OneCycleLR's defaults as its documentation describes them"""
    T = spec.epochs * spec.steps
    max_lr = spec.p1 * spec.run_lr / spec.file_lr
    initial, end1, end2 = max_lr / 25, 0.3 * T - 1, T - 1
    low = initial / 1e4

    def cos_anneal(a, b, pct):
        return b + (a - b) / 2 * (math.cos(math.pi * pct) + 1)
    if t <= end1:
        pct = t / end1
        return cos_anneal(initial, max_lr, pct), cos_anneal(0.95, 0.85, pct)
    pct = (t - end1) / (end2 - end1)
    return cos_anneal(max_lr, low, pct), cos_anneal(0.85, 0.95, pct)


def torch_onecycle(spec):
    """[(lr, momentum)] of every step, from torch's own scheduler"""
    import warnings
    import torch
    warnings.simplefilter("ignore")
    p = [torch.nn.Parameter(torch.zeros(1))]
    if spec.kind == "sgd":
        opt = torch.optim.SGD(p, lr=spec.file_lr, momentum=0.9)
    elif spec.kind == "adam":
        opt = torch.optim.Adam(p, lr=spec.file_lr, betas=(spec.momentum, 0.999))
    else:
        opt = torch.optim.AdamW(p, lr=spec.file_lr, betas=(spec.momentum, 0.999))
    max_lr = spec.p1 * spec.run_lr / spec.file_lr
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=max_lr, total_steps=spec.epochs * spec.steps)
    out = []
    for _ in range(spec.epochs * spec.steps):
        g = opt.param_groups[0]
        mom = g["momentum"] if spec.kind == "sgd" else g["betas"][0]
        out.append((g["lr"], mom))
        opt.step()
        sched.step()
    return out


def expected(spec, use_torch):
    T = spec.epochs * spec.steps
    if use_torch and spec.schedule == "onecycle":
        return torch_onecycle(spec)
    return [formula(spec, t) for t in range(T)]


def close(a, b, rel):
    return abs(a - b) <= rel * max(abs(a), abs(b), 1e-300)


def check_vectors(spec, use_torch):
    want = expected(spec, use_torch)
    lines = [l.split() for l in sys.stdin if l.strip()]
    if len(lines) != len(want):
        sys.exit("%d steps, expected %d" % (len(lines), len(want)))
    for (t, lr, mom), (wlr, wmom) in zip(lines, want):
        if not (close(float(lr), wlr, REL) and close(float(mom), wmom, REL)):
            sys.exit("step %s: lr %s momentum %s, expected %.17g %.17g"
                     % (t, lr, mom, wlr, wmom))
    print("%d steps match" % len(want))


def check_log(spec, use_torch, path, train, batch, first):
    spec.steps = (train + batch - 1) // batch
    want = expected(spec, use_torch)
    with open(path) as f:
        rows = [l.rstrip("\n").split(",") for l in f]
    col = rows[0].index("lr")
    for row in rows[1:]:
        e = int(row[0])
        wlr = want[e * spec.steps - 1][0]
        # %.8g in the file
        if not close(float(row[col]), wlr, 1e-7):
            sys.exit("%s: epoch %d: lr %s, expected %.8g" % (path, e, row[col], wlr))
    epochs = [int(r[0]) for r in rows[1:]]
    if epochs != list(range(first, first + len(epochs))):
        sys.exit("%s: epochs %s" % (path, epochs))
    print("%d epochs match" % len(epochs))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["vectors", "log"])
    ap.add_argument("kind", choices=["sgd", "adam", "adamw"])
    ap.add_argument("schedule")
    ap.add_argument("p1", type=float)
    ap.add_argument("p2", type=float)
    ap.add_argument("file_lr", type=float)
    ap.add_argument("run_lr", type=float)
    ap.add_argument("epochs", type=int)
    ap.add_argument("steps", type=int)
    ap.add_argument("momentum", type=float)
    ap.add_argument("csv", nargs="?")
    ap.add_argument("--train", type=int)
    ap.add_argument("--batch", type=int)
    ap.add_argument("--first", type=int, default=1,
                    help="the log's first epoch")
    ap.add_argument("--torch", action="store_true")
    a = ap.parse_args()
    if a.mode == "vectors":
        check_vectors(a, a.torch)
    else:
        check_log(a, a.torch, a.csv, a.train, a.batch, a.first)


if __name__ == "__main__":
    main()
