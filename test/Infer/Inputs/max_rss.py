#!/usr/bin/env python3
"""max_rss.py MB COMMAND... - runs COMMAND and fails if it ever held more
than MB megabytes of memory (its peak resident set, from the kernel's
rusage). A bound on memory, not on time: a reader that allocates the file
it is given shows it whatever the machine's speed.

Prints COMMAND's output, then 'exit status N' (so that a test can check
that it failed as it should), then the peak. Exits 0 when the peak is
within the bound, 1 when it is over."""
import resource
import subprocess
import sys


def main():
    limit_mb, command = float(sys.argv[1]), sys.argv[2:]
    status = subprocess.run(command).returncode
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    sys.stdout.flush()
    print(f"exit status {status}")
    if peak_mb > limit_mb:
        print(f"max_rss.py: FAIL: peak resident memory {peak_mb:.0f} MB, over "
              f"the bound of {limit_mb:g} MB")
        return 1
    print(f"max_rss.py: peak resident memory within {limit_mb:g} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
