#!/usr/bin/env python3
"""early_stop.py - where patience = N must stop a run, from its CSV log.

    early_stop.py --patience N FULL.csv STOPPED.csv

FULL.csv is the log of the run without patience, STOPPED.csv of the same
run with it. Keras' EarlyStopping(monitor='val_loss', min_delta=0,
mode='min', patience=N) on FULL's val_loss column gives the epoch it stops
after: STOPPED must hold exactly FULL's rows up to it (but for the time
columns), and FULL must go on after it (else the run was not built to
stop). Prints "stops after epoch E" and "best val_accuracy at epoch B" (the
first of the highest, which --save-best keeps: a tie is no improvement)."""
import argparse
import sys


def rows(path):
    with open(path) as f:
        lines = [l.rstrip("\n").split(",") for l in f]
    head = lines[0]
    keep = head.index("seconds")  # the columns before the times
    return head, [r[:keep] for r in lines[1:]]


def keras_stop(losses, patience):
    """EarlyStopping.on_epoch_end, epoch by epoch (from 0)"""
    best, wait = float("inf"), 0
    for epoch, loss in enumerate(losses):
        wait += 1
        if loss < best:
            best, wait = loss, 0
        if wait >= patience and epoch > 0:
            return epoch + 1
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--patience", type=int, required=True)
    ap.add_argument("full")
    ap.add_argument("stopped")
    a = ap.parse_args()
    head, full = rows(a.full)
    _, stopped = rows(a.stopped)
    vl, va = head.index("val_loss"), head.index("val_accuracy")
    stop = keras_stop([float(r[vl]) for r in full], a.patience)
    if stop is None or stop == len(full):
        sys.exit("the full run does not stop before its end: not built to stop")
    if stopped != full[:stop]:
        sys.exit("the stopped log has %d rows, expected the full log's first %d"
                 % (len(stopped), stop))
    accs = [float(r[va]) for r in stopped]
    print("stops after epoch %d" % stop)
    print("best val_accuracy at epoch %d" % (accs.index(max(accs)) + 1))


if __name__ == "__main__":
    main()
