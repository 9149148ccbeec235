#!/usr/bin/python3
"""One case of optimizer-torch-parity.test: optim_net.cnn with this
optimizer (and label_smoothing), compiled, trained from DIR/init.st for 1
and then 5 full-batch steps, each compared with PyTorch's by
optim_torch.py.

    optim_run.py DIR OPTIMIZER [--label-smoothing X] [--unfused]
                 [--against OPTIMIZER]

--unfused compiles without fuse-softmax-xent; --against gives PyTorch
another optimizer than the trainer's (to see the comparison fail)."""
import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def model(text, optimizer, smoothing):
    text = text.replace("optimizer = sgd(lr=0.1)", "optimizer = " + optimizer)
    if smoothing:
        text = text.replace("  validation = 0\n", "  validation = 0\n"
                            "  label_smoothing = %s\n" % smoothing)
    return text


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("optimizer")
    ap.add_argument("--label-smoothing")
    ap.add_argument("--unfused", action="store_true")
    ap.add_argument("--against")
    a = ap.parse_args()
    base = open(os.path.join(HERE, "optim_net.cnn")).read()
    cnn, ref = os.path.join(a.dir, "case.cnn"), os.path.join(a.dir, "ref.cnn")
    with open(cnn, "w") as f:
        f.write(model(base, a.optimizer, a.label_smoothing))
    with open(ref, "w") as f:
        f.write(model(base, a.against or a.optimizer,
                      None if a.against else a.label_smoothing))
    passes = []
    if a.unfused:
        names = subprocess.run(["cnnc", "--list-passes"], check=True,
                               capture_output=True, text=True).stdout.split()
        passes = ["--passes=" + ",".join(p for p in names
                                         if p != "fuse-softmax-xent")]
    train = os.path.join(a.dir, "case")
    subprocess.run(["cnnc"] + passes + [cnn, "-o", train], check=True)
    data, init = os.path.join(a.dir, "data"), os.path.join(a.dir, "init.st")
    status = 0
    for steps in (1, 5):
        out = os.path.join(a.dir, "case.st")
        subprocess.run([train, "--data", data, "--limit", "64", "--validation",
                        "0", "--epochs", str(steps), "--init", init, "--save",
                        out, "--quiet"], check=True, stdout=subprocess.DEVNULL)
        sys.stdout.flush()
        status |= subprocess.run(["/usr/bin/python3",
                                  os.path.join(HERE, "optim_torch.py"), ref,
                                  data, "64", init, str(steps), out]).returncode
    sys.exit(status)


if __name__ == "__main__":
    main()
