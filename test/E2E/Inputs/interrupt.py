#!/usr/bin/env python3
"""interrupt.py - signals for the trainer, from a parent that can send them.

A lit RUN line cannot send SIGINT: a shell's background job has SIGINT
ignored, and the trainer keeps an ignored SIGINT ignored (nohup). So this
harness starts the trainer itself, with SIGINT and SIGTERM at their
default actions, as a terminal's foreground job has them.

    interrupt.py stop [--signal INT|TERM|KILL] [--twice] -- TRAINER ARGS...
        For stall_step.c's trainer: waits until it has created the file
        $STALL_READY, sends the signal; with --twice, waits until it has
        seen that one ($STALL_READY.seen) and sends it again. Prints how
        the trainer ended ("exit status 130", "killed by SIGINT"); a
        trainer still running 120 s later is killed and reported as hung.

    interrupt.py limit --fsize BYTES [--signal INT|TERM] -- TRAINER ARGS...
        For stall_step.c's trainer with STALL_MODE=go: once it has created
        $STALL_READY, limits the size of the files it writes (RLIMIT_FSIZE)
        to BYTES and lets it go on ($STALL_READY.go): every later write of
        a larger file fails half-way. With --signal (and STALL_MODE=once),
        sends the signal instead. Prints how the trainer ended.

    interrupt.py pieces --signal KILL|INT|TERM|USR1 [--pieces N] [--seed S]
                        --dir DIR -- TRAINER ARGS...
        Runs TRAINER ARGS once without interruption (with --checkpoint,
        --save and --log in DIR, 2 threads), timing it; then again in
        pieces: each piece resumes the checkpoint the previous ones left
        (or starts afresh if there is none yet), runs with 1 or 2 threads
        in turn, and gets the signal after a random fraction (seeded: the
        same fractions each run) of the uninterrupted run's time, so that
        the signals land at the same stages of the run on a fast machine
        and a slow one; after N pieces, one more runs to the end. Then the
        pieces' --save file must equal the uninterrupted run's byte for
        byte, and so must their CSV log, but for the time columns.
        Prints "OK: ..." and what happened to each piece (on stderr).
"""
import argparse
import glob
import json
import os
import random
import re
import signal
import struct
import subprocess
import sys
import time

SIGNALS = {"INT": signal.SIGINT, "TERM": signal.SIGTERM,
           "USR1": signal.SIGUSR1, "KILL": signal.SIGKILL}
HANG = 120  # seconds: far more than any of the tests' runs takes


def default_signals():
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1):
        signal.signal(sig, signal.SIG_DFL)


def start(cmd, **kw):
    return subprocess.Popen(cmd, preexec_fn=default_signals, **kw)


def ended(rc):
    if rc < 0:
        return "killed by " + signal.Signals(-rc).name
    return "exit status %d" % rc


def fail(msg):
    sys.exit("interrupt.py: " + msg)


def wait(p):
    try:
        return p.wait(timeout=HANG)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        fail("the trainer still ran %d s after the signal: hung" % HANG)


def wait_for_file(path, p):
    while not os.path.exists(path):
        if p.poll() is not None:
            fail("the trainer ended (%s) before it created %s"
                 % (ended(p.returncode), path))
        time.sleep(0.001)


def start_stalled(cmd, marks):
    """The trainer of stall_step.c, once it waits inside its step: the
    markers of an earlier run removed first. Returns it and STALL_READY."""
    ready = os.environ["STALL_READY"]
    for path in [ready] + [ready + m for m in marks]:
        if os.path.exists(path):
            os.remove(path)
    sys.stdout.flush()
    p = start(cmd)
    wait_for_file(ready, p)
    return p, ready


def stop(a):
    sig = SIGNALS[a.signal]
    p, ready = start_stalled(a.cmd, [".seen"])
    p.send_signal(sig)
    if a.twice:
        wait_for_file(ready + ".seen", p)
        p.send_signal(sig)
    print(ended(wait(p)))


def limit(a):
    import resource
    p, ready = start_stalled(a.cmd, [".go"])
    resource.prlimit(p.pid, resource.RLIMIT_FSIZE, (a.fsize, a.fsize))
    if a.signal:
        p.send_signal(SIGNALS[a.signal])
    else:
        open(ready + ".go", "w").close()
    print(ended(wait(p)))


# --- pieces -------------------------------------------------------------------

def log_rows(path):
    """the CSV's rows without their time columns (seconds, images/s)"""
    with open(path) as f:
        return [",".join(line.split(",")[:5]) for line in f]


def reference(a):
    out = os.path.join(a.dir, "reference")
    cmd = a.cmd + ["--threads", "2", "--quiet", "--checkpoint", out + ".ck",
                   "--save", out + ".st", "--log", out + ".csv"]
    begin = time.monotonic()
    rc = start(cmd, stdout=subprocess.DEVNULL).wait()
    if rc != 0:
        fail("the uninterrupted run ended with %s" % ended(rc))
    return time.monotonic() - begin


# the exit statuses a piece may end with, besides 0 (the signal came after
# the last epoch, in the test or the --save, and the run finished): a
# SIGKILL kills; SIGINT and SIGTERM stop the run after the checkpoint
# (128 + the signal), or kill it while the data load, before the first
# step, when there is nothing to save yet
def expected(sig):
    if sig == signal.SIGKILL:
        return {-sig}
    return {128 + sig, -sig}


def where(ck):
    """(epoch, step) of a checkpoint, from its __metadata__"""
    with open(ck, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        meta = json.loads(f.read(n))["__metadata__"]
    return int(meta["cnnc.epoch"]), int(meta["cnnc.step"])


# "stopped by SIGINT at epoch 2, step 100 of the run": the checkpoint
# holds that state, written after the signal
def check_stop(ck, err, i):
    said = re.search(r"stopped by SIG\w+ at epoch (\d+), step (\d+) ", err)
    if not said:
        fail("piece %d: no 'stopped by' message:\n%s" % (i, err))
    if where(ck) != (int(said.group(1)), int(said.group(2))):
        fail("piece %d: stopped at epoch %s, step %s, but the checkpoint "
             "holds epoch %d, step %d" % ((i,) + said.groups() + where(ck)))


def piece(a, i, rng, seconds):
    ck = os.path.join(a.dir, "ck.st")
    resume = ["--resume", ck] if os.path.exists(ck) else []
    threads = ["--threads", str(1 + i % 2)]
    cmd = a.cmd + threads + resume + ["--quiet", "--checkpoint", ck,
                                      "--save", os.path.join(a.dir, "out.st"),
                                      "--log", os.path.join(a.dir, "out.csv")]
    if i == a.pieces:
        return start(cmd, stdout=subprocess.DEVNULL).wait(), "finished"
    delay = rng.uniform(0.02, 0.25) * seconds
    left = set(glob.glob(ck + ".tmp-*"))  # by earlier pieces
    p = start(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        p.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        p.send_signal(SIGNALS[a.signal])
    err = p.communicate(timeout=HANG)[1].decode()
    rc = p.returncode
    if rc != 0 and rc not in expected(SIGNALS[a.signal]):
        fail("piece %d ended with %s:\n%s" % (i, ended(rc), err))
    if rc == 128 + SIGNALS[a.signal]:
        check_stop(ck, err, i)
    torn = set(glob.glob(ck + ".tmp-*")) - left
    what = ended(rc) + (" inside a checkpoint write" if torn and
                        a.signal == "KILL" else "")
    if os.path.exists(ck):
        what += "; the checkpoint is at epoch %d, step %d" % where(ck)
    return rc, "after %.3f s: %s" % (delay, what)


def pieces(a):
    os.makedirs(a.dir, exist_ok=True)
    for old in glob.glob(os.path.join(a.dir, "*")):
        os.remove(old)
    seconds = reference(a)
    rng = random.Random(a.seed)
    stopped = 0
    for i in range(a.pieces + 1):
        rc, what = piece(a, i, rng, seconds)
        print("piece %d: %s" % (i, what), file=sys.stderr)
        if rc == 0:
            break
        stopped += 1
    if rc != 0:
        fail("the last piece ended with %s" % ended(rc))
    ref = os.path.join(a.dir, "reference")
    out = os.path.join(a.dir, "out")
    if open(ref + ".st", "rb").read() != open(out + ".st", "rb").read():
        fail("the weights differ from the uninterrupted run's (%s.st, %s.st)"
             % (ref, out))
    if log_rows(ref + ".csv") != log_rows(out + ".csv"):
        fail("the CSV log differs from the uninterrupted run's (%s.csv, "
             "%s.csv)" % (ref, out))
    print("OK: %d of %d pieces %s; the weights and the log are the "
          "uninterrupted run's" % (stopped, a.pieces,
                                   "killed" if a.signal == "KILL"
                                   else "stopped"))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="mode", required=True)
    p = sub.add_parser("stop")
    p.add_argument("--signal", choices=sorted(SIGNALS), default="INT")
    p.add_argument("--twice", action="store_true")
    p.set_defaults(run=stop)
    p = sub.add_parser("limit")
    p.add_argument("--fsize", type=int, required=True)
    p.add_argument("--signal", choices=["INT", "TERM"])
    p.set_defaults(run=limit)
    p = sub.add_parser("pieces")
    p.add_argument("--signal", choices=sorted(SIGNALS), required=True)
    p.add_argument("--pieces", type=int, default=8)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--dir", required=True)
    p.set_defaults(run=pieces)
    for p in sub.choices.values():
        p.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    if a.cmd[:1] == ["--"]:
        a.cmd = a.cmd[1:]
    if not a.cmd:
        ap.error("no trainer given after --")
    a.run(a)


if __name__ == "__main__":
    main()
