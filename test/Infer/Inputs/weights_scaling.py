#!/usr/bin/env python3
"""weights_scaling.py CNNC MODEL [N] - the safetensors reader's work must
grow linearly (or as n log n) with the header's entries.

For each hostile header below it writes a file of N entries and one of
10 N, and counts the instructions `cnnc --infer --weights=FILE MODEL`
executes inside weights_load with callgrind (so the fixed cost of loading
the program stays out). Instruction counts do not depend on the machine's
speed or load, so this is not a timed test: linear work gives a ratio of
about 10, n log n a little more, a quadratic path about 100. MODEL has few
parameters, so every file is an error, and the error paths are what is
measured, as a hostile file would drive them:

    extra      the model's tensors and N others       ('is not a parameter'):
               every entry parsed, checked for a twin, looked up, reported
    duplicate  N tensors, the last named as the first  ('appears twice')

(Each run costs about 1.5 s of loading LLVM under valgrind, so the cases
are few.)

Valgrind cannot run a program built with AddressSanitizer; in such a build
the check is skipped and says so."""
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

BOUND = 15.0  # linear is ~10; the quadratic lookups this guards gave ~100
MODEL_TENSORS = {  # test/Driver/Inputs/tiny.cnn's, in PyTorch's shapes
    "conv2d_1.weight": [3, 1, 3, 3], "conv2d_1.bias": [3],
    "dense_1.weight": [2, 108], "dense_1.bias": [2],
}
CASES = {
    "extra": ("is not a parameter", lambda n: list(MODEL_TENSORS.items()) +
              [(f"layer_{i}.weight", [1]) for i in range(n)]),
    "duplicate": ("appears twice", lambda n:
                  [(f"layer_{i}.weight", [1]) for i in range(n)] +
                  [("layer_0.weight", [1])]),
}


def write(path, tensors):
    """A well-formed file whose header lists tensors in that order (JSON
    keeps a repeated key as text, so the duplicate is written by hand)."""
    parts, at = [], 0
    for name, shape in tensors:
        size = 4
        for d in shape:
            size *= d
        entry = {"dtype": "F32", "shape": shape,
                 "data_offsets": [at, at + size]}
        parts.append(json.dumps(name) + ": " + json.dumps(entry))
        at += size
    header = ("{" + ", ".join(parts) + "}").encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header + bytes(at))


def instructions(cnnc, model, path, expect):
    r = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
         "--toggle-collect=weights_load", cnnc, "--infer",
         "--weights=" + path, model, "-o", os.devnull],
        capture_output=True, text=True, errors="replace")
    if r.returncode != 1 or expect not in r.stderr:
        sys.exit(f"weights_scaling.py: expected cnnc to report '{expect}' "
                 f"(exit 1), got exit {r.returncode}:\n{r.stderr[-2000:]}")
    m = re.search(r"Collected : (\d+)", r.stderr)
    if not m:
        sys.exit(f"weights_scaling.py: no instruction count from callgrind:"
                 f"\n{r.stderr[-2000:]}")
    return int(m.group(1))


def sanitized(cnnc):
    with open(cnnc, "rb") as f:
        return b"__asan_init" in f.read()


def main():
    cnnc, model = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    if sanitized(cnnc):
        print("weights scaling: skipped: valgrind cannot run an "
              "AddressSanitizer build")
        return 0
    if not shutil.which("valgrind"):
        sys.exit("weights_scaling.py: valgrind not found "
                 "(scripts/setup.sh installs it)")
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        for case, (expect, tensors) in CASES.items():
            counts = []
            for size in (n, 10 * n):
                path = os.path.join(tmp, f"{case}-{size}.safetensors")
                write(path, tensors(size))
                counts.append(instructions(cnnc, model, path, expect))
            ratio = counts[1] / counts[0]
            print(f"weights scaling: {case}: {counts[0]} instructions for "
                  f"N={n}, {counts[1]} for 10N: {ratio:.1f}x")
            if ratio > BOUND:
                print(f"weights scaling: FAIL: {case}: more than {BOUND:g}x "
                      f"the work for 10x the entries")
                failed = True
    if not failed:
        print("weights scaling: linear")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
