#!/usr/bin/env python3
"""tmux_run.py - what a command leaves on a terminal of a given size.

    tmux_run.py --width W [--height H] -- COMMAND [ARG...]

runs COMMAND in a detached tmux session of W x H cells (a private tmux
server, its socket in a temporary folder), waits for it to end, and prints
the rows of the screen and its history, trailing blanks and empty rows
dropped: what a user would see, a line that wrapped showing as two rows.
A row that reaches the last column ends with " <- full row": the cursor
there wraps with the next character. Exits 1 when tmux itself fails.
"""
import argparse
import os
import shlex
import subprocess
import sys
import tempfile

WAIT_LIMIT = 600  # seconds: only against a hang, never reached by a good run


def tmux(sock, *args, **kw):
    return subprocess.run(["tmux", "-S", sock, "-f", os.devnull, *args],
                          check=True, capture_output=True, text=True, **kw)


def run(width, height, command):
    with tempfile.TemporaryDirectory() as tmp:
        sock = os.path.join(tmp, "sock")
        # The command signals its end on a tmux channel, then waits (in the
        # pane's shell, which keeps the screen) until the screen is read.
        tmux_cmd = "tmux -S %s -f %s wait-for" % (shlex.quote(sock), os.devnull)
        shell = "%s; %s -S done; %s release" % (
            " ".join(shlex.quote(a) for a in command), tmux_cmd, tmux_cmd)
        tmux(sock, "new-session", "-d", "-s", "t", "-x", str(width),
             "-y", str(height), "sh -c %s" % shlex.quote(shell))
        try:
            tmux(sock, "wait-for", "done", timeout=WAIT_LIMIT)
            return tmux(sock, "capture-pane", "-p", "-S", "-", "-t", "t").stdout
        finally:
            subprocess.run(["tmux", "-S", sock, "kill-server"],
                           capture_output=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--width", type=int, required=True)
    ap.add_argument("--height", type=int, default=50)
    ap.add_argument("command", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    command = a.command[1:] if a.command[:1] == ["--"] else a.command
    try:
        screen = run(a.width, a.height, command)
    except (subprocess.SubprocessError, OSError) as e:
        print("tmux_run.py: %s" % e, file=sys.stderr)
        return 1
    rows = [r.rstrip() for r in screen.split("\n")]
    while rows and not rows[-1]:
        rows.pop()
    for r in rows:
        print(r + (" <- full row" if len(r) >= a.width else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
