#!/usr/bin/python3
"""What --checkpoint costs the seed network, measured on this machine.

    bench/checkpoint_cost.py [--build DIR] [--steps N] [--rounds R]

Trains examples/mnist.cnn for N steps (batch 50) three ways, in R rounds
of back-to-back runs so that the machine's drift cancels: without
checkpoints, with a checkpoint after every step (--checkpoint-every 1),
and with one every 10 steps. The extra time over the extra checkpoints is
the cost of one (the 5.6 MB file: weights and Adam's two moments, written
to a temporary, fsync'ed, renamed). Against the time of a step it gives
the overhead of a checkpoint per epoch (1,100 steps) and of
--checkpoint-every 100. Prints the medians and the ranges."""
import argparse, os, statistics, subprocess, sys, tempfile, time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(train, data, steps, extra):
    cmd = [train, "--data", data, "--limit", str(50 * steps),
           "--validation", "0", "--epochs", "1", "--quiet"] + extra
    start = time.monotonic()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - start


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(TOP, "build"))
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    data = os.path.join(TOP, "data", "mnist")
    with tempfile.TemporaryDirectory() as tmp:
        train = os.path.join(tmp, "train")
        subprocess.run([os.path.join(a.build, "cnnc"),
                        os.path.join(TOP, "examples", "mnist.cnn"), "-o", train],
                       check=True)
        ck = os.path.join(tmp, "ck.safetensors")
        every = {1: [], 10: []}
        plain = []
        for _ in range(a.rounds):
            plain.append(run(train, data, a.steps, []))
            for k in every:
                every[k].append(run(train, data, a.steps,
                                    ["--checkpoint", ck, "--checkpoint-every",
                                     str(k)]))
        size = os.path.getsize(ck)
    # the end of the epoch writes one checkpoint more
    per = [(e - p) / (a.steps + 1) for e, p in zip(every[1], plain)]
    per10 = [(e - p) / (a.steps // 10 + 1) for e, p in zip(every[10], plain)]
    step = statistics.median(plain) / a.steps  # start-up included: an upper bound
    cost = statistics.median(per)
    print(f"checkpoint file: {size / 1e6:.2f} MB")
    print(f"one checkpoint (every step): median {cost * 1e3:.1f} ms, range "
          f"{min(per) * 1e3:.1f} .. {max(per) * 1e3:.1f} ms")
    print(f"one checkpoint (every 10 steps): median "
          f"{statistics.median(per10) * 1e3:.1f} ms, range "
          f"{min(per10) * 1e3:.1f} .. {max(per10) * 1e3:.1f} ms")
    print(f"a step (start-up included): {step * 1e3:.1f} ms")
    print(f"per epoch of 1,100 steps: {100 * cost / (1100 * step):.3f}% "
          f"of the epoch")
    print(f"--checkpoint-every 100: {100 * cost / (100 * step):.2f}% of the "
          f"training time")


if __name__ == "__main__":
    sys.exit(main())
