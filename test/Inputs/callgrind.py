"""callgrind.py - work counted, not timed: the instructions a command
executes inside one function, under valgrind's callgrind (deterministic for
the same binary and input, whatever else the machine is doing).

    from callgrind import instructions
    count = instructions(argv, "main", expect="is given twice")

The command must exit 1 with `expect` in its stderr (the scaling tests
feed cnnc inputs it refuses, so that the error paths are counted too).
The lit feature `valgrind` (test/lit.cfg.py) says when this can run: not
on a sanitizer build, whose binaries valgrind cannot run."""
import re
import subprocess
import sys


def instructions(argv, function, expect):
    r = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
         "--toggle-collect=" + function] + argv,
        capture_output=True, text=True, errors="replace")
    if r.returncode != 1 or expect not in r.stderr:
        sys.exit(f"callgrind.py: expected {argv[0]} to report '{expect}' "
                 f"(exit 1), got exit {r.returncode}:\n{r.stderr[-2000:]}")
    m = re.search(r"Collected : (\d+)", r.stderr)
    if not m:
        sys.exit(f"callgrind.py: no instruction count from callgrind:\n"
                 f"{r.stderr[-2000:]}")
    return int(m.group(1))
