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

Needs the lit feature valgrind (not a sanitizer build)."""
import json
import os
import struct
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "Inputs"))
import callgrind  # noqa: E402  test/Inputs/callgrind.py

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
    return callgrind.instructions(
        [cnnc, "--infer", "--weights=" + path, model, "-o", os.devnull],
        "weights_load", expect)


def main():
    cnnc, model = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
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
