"""mpi_kill.py - runs an MPI job, kills one of its processes, and reports
how the job ended.

  mpi_kill.py --rank R --after FILE [--signal KILL] [--target rank|mpirun]
              [--within S] -- mpirun ARGS...

Starts the command, waits for FILE to exist (a checkpoint the job writes),
then sends the signal to the process of rank R (found by its
OMPI_COMM_WORLD_RANK) or to mpirun itself, and waits for mpirun. Prints
"exit N" (mpirun's status, 128 + a signal's number if one ended it) and
"ended within S seconds" (default 10), or how long it took if longer; the
job's stderr goes to this script's stderr. Fails if the job does not end
within 60 s."""
import argparse
import os
import signal
import subprocess
import sys
import time


def parent(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def descends(pid, root):
    while pid > 1:
        if pid == root:
            return True
        pid = parent(pid)
    return False


def rank_pid(rank, root):
    """the process of this rank among root's descendants (other jobs may
    run beside this one)"""
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == root:
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if (f"OMPI_COMM_WORLD_RANK={rank}".encode() in env
                and descends(int(pid), root)):
            return int(pid)
    return None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rank", type=int, default=1)
    p.add_argument("--after", required=True)
    p.add_argument("--signal", default="KILL")
    p.add_argument("--target", choices=["rank", "mpirun"], default="rank")
    p.add_argument("--within", type=float, default=10)
    p.add_argument("cmd", nargs=argparse.REMAINDER)
    a = p.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    job = subprocess.Popen(cmd)
    deadline = time.time() + 120
    while not os.path.exists(a.after):
        if job.poll() is not None or time.time() > deadline:
            sys.exit(f"mpi_kill.py: the job ended (or took too long) before {a.after} appeared")
        time.sleep(0.05)
    sig = getattr(signal, "SIG" + a.signal)
    if a.target == "mpirun":
        victim = job.pid
    else:
        victim = None
        while victim is None and time.time() < deadline:
            victim = rank_pid(a.rank, job.pid)
        if victim is None:
            sys.exit(f"mpi_kill.py: no process of rank {a.rank}")
    start = time.time()
    os.kill(victim, sig)
    try:
        rc = job.wait(timeout=60)
    except subprocess.TimeoutExpired:
        job.kill()
        sys.exit("mpi_kill.py: the job did not end within 60 s")
    took = time.time() - start
    print(f"exit {rc if rc >= 0 else 128 - rc}")
    if took <= a.within:
        print(f"ended within {a.within:g} seconds")
    else:
        print(f"ended after {took:.1f} seconds")


main()
