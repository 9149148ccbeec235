#!/usr/bin/env python3
"""Runs `cnnc --summary` on every file in a folder: each must end with exit
status 0 or 1 and no internal error or sanitizer report. Used for the
fuzzer's crashers and other hostile inputs."""
import os
import subprocess
import sys

BAD = ("internal error", "Sanitizer", "runtime error:", "Segmentation")


def main():
    cnnc, folder = sys.argv[1], sys.argv[2]
    names = sorted(os.listdir(folder))
    failures = 0
    for name in names:
        path = os.path.join(folder, name)
        r = subprocess.run([cnnc, "--summary", path], capture_output=True,
                           timeout=60)
        err = r.stderr.decode("utf-8", "replace")
        if r.returncode not in (0, 1) or any(b in err for b in BAD):
            print(f"FAIL {name}: exit {r.returncode}\n{err}")
            failures += 1
        elif r.returncode == 1 and "error" not in err:
            print(f"FAIL {name}: exit 1 without an error message")
            failures += 1
    print(f"{len(names) - failures} of {len(names)} inputs handled")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
