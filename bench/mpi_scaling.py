#!/usr/bin/env python3
"""mpi_scaling.py - what the MPI exchange costs on this machine.

  bench/mpi_scaling.py [--build DIR] [--data DIR] [--images N] [--rounds R]
                       [--tcp]

Compiles examples/mnist.cnn with cnnc --mpi and trains it for one epoch of
N images (default 10,000) as 1 process x 2 threads and as 2 processes x
1 thread (mpirun -np 2), alternating, R rounds (default 3). Prints each
round's training throughput (the epoch line's img/s, steps only), the
medians, their ratio, and the bytes each process sent per step
(CNNRT_MPI_STATS=1) beside the gradient's size. Throughput is the CSV
log's images_per_second (the steps' time only, not the evaluation's).
Both runs give the same weights (checked): only the exchange differs."""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(cmd, env=None):
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        sys.exit(f"mpi_scaling.py: {' '.join(cmd)} failed:\n{p.stderr}")
    return p


def throughput(log, steps):
    """(ms per step, images per second) of the epoch's row in the CSV log"""
    with open(log) as f:
        head, row = f.read().split("\n")[:2]
    v = dict(zip(head.split(","), row.split(",")))
    return float(v["seconds"]) * 1000 / steps, float(v["images_per_second"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(TOP, "build"))
    ap.add_argument("--data", default=os.path.join(TOP, "data", "mnist"))
    ap.add_argument("--images", type=int, default=10000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--tcp", action="store_true",
                    help="the 2 processes over TCP on the loopback")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="mpi-scaling-")
    train = os.path.join(work, "train")
    run([os.path.join(a.build, "cnnc"), "--mpi",
         os.path.join(TOP, "examples", "mnist.cnn"), "-o", train])
    flags = ["--data", a.data, "--epochs", "1", "--limit", str(a.images),
             "--validation", "0"]
    env = dict(os.environ, CNNRT_MPI_STATS="1")
    # the loopback only, over shared memory or TCP
    mpirun = ["mpirun", "--allow-run-as-root", "-np", "2", "-x",
              "CNNRT_MPI_STATS", "--mca", "oob_tcp_if_include", "lo",
              "--mca", "btl_tcp_if_include", "lo", "--mca", "btl",
              "self,tcp" if a.tcp else "self,vader"]
    one, two, sent, waited = [], [], [], []
    steps = (a.images + 49) // 50
    for r in range(a.rounds):
        p1 = run([train, "--threads", "2", "--save", f"{work}/one.st",
                  "--log", f"{work}/one.csv"] + flags)
        p2 = run(mpirun + [train, "--threads", "1", "--save", f"{work}/two.st",
                           "--log", f"{work}/two.csv"] + flags, env)
        if open(f"{work}/one.st", "rb").read() != open(f"{work}/two.st", "rb").read():
            sys.exit("mpi_scaling.py: the two runs trained different weights")
        one.append(throughput(f"{work}/one.csv", steps))
        two.append(throughput(f"{work}/two.csv", steps))
        sent += [int(b) for b in re.findall(r"sent ([0-9]+) bytes", p2.stderr)]
        waited += [float(t) for t in re.findall(r"([0-9.]+) s in them", p2.stderr)]
        print(f"round {r + 1}: 1 process x 2 threads {one[-1][1]:.0f} img/s "
              f"({one[-1][0]:.1f} ms/step); 2 processes x 1 thread "
              f"{two[-1][1]:.0f} img/s ({two[-1][0]:.1f} ms/step)", flush=True)
    m1 = statistics.median(x[1] for x in one)
    m2 = statistics.median(x[1] for x in two)
    params = int(re.search(r"([0-9]+) parameters", p1.stdout).group(1))
    print(f"median: 1x2 {m1:.0f} img/s, 2x1 {m2:.0f} img/s, ratio "
          f"{m2 / m1:.3f}")
    per_step = statistics.median(sent) / steps
    print(f"sent per process per step: {per_step / 1e6:.3f} MB "
          f"(median over processes and rounds, {steps} steps, the test "
          f"set's scores included); the gradient: {params} floats, "
          f"{params * 4 / 1e6:.3f} MB")
    print(f"in the exchanges per process per step: "
          f"{statistics.median(waited) / steps * 1000:.2f} ms (the transfer "
          f"and the wait for the other process; median)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
