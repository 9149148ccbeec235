#!/usr/bin/env python3
"""through_fifo.py [--cut=N] [--extra=N] FILE COMMAND... - runs COMMAND
with every '{}' in it replaced by a FIFO through which a writer sends
FILE's bytes: all of them, only the first N (--cut), or all and N more
(--extra). The writer sends small pieces, so the reader gets short reads
as from a real pipe. Exits with COMMAND's status.

lit's shell has no '&', hence this script; the FIFO lives in a fresh
temporary folder that is removed afterwards."""
import argparse
import os
import subprocess
import sys
import tempfile
import threading


def write(fifo, data):
    try:
        with open(fifo, "wb", buffering=0) as f:
            for at in range(0, len(data), 1000):
                f.write(data[at:at + 1000])
    except BrokenPipeError:  # the reader stopped early: its message says why
        pass


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cut", type=int)
    p.add_argument("--extra", type=int, default=0)
    p.add_argument("file")
    p.add_argument("command", nargs=argparse.REMAINDER)
    args = p.parse_args()
    with open(args.file, "rb") as f:
        data = f.read()
    if args.cut is not None:
        data = data[:args.cut]
    data += b"\0" * args.extra
    with tempfile.TemporaryDirectory() as tmp:
        fifo = os.path.join(tmp, "weights.fifo")
        os.mkfifo(fifo)
        writer = threading.Thread(target=write, args=(fifo, data), daemon=True)
        writer.start()
        status = subprocess.run([a.replace("{}", fifo) for a in args.command]
                                ).returncode
        # A command that never opened the FIFO leaves the writer waiting
        # in open(): a reader of our own drains it.
        if writer.is_alive():
            fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
            while writer.is_alive():
                try:
                    os.read(fd, 1 << 16)
                except BlockingIOError:
                    pass
                writer.join(0.01)
            os.close(fd)
    return status


if __name__ == "__main__":
    sys.exit(main())
