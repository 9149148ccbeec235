#!/usr/bin/env python3
"""scaling.py CNNC [N] - the front end's work grows linearly with its input.

Writes a .cnn file with N of each long list the front end handles (layer
arguments, optimizer arguments, train settings, named and unnamed layers),
then one with 10 N, and counts the instructions `cnnc --summary` executes on
each with callgrind (inside main, so the fixed cost of loading the program
stays out). Instruction counts do not depend on the machine's speed or load,
so this is not a timed test: linear work gives a ratio of about 10, a
quadratic path about 100. The lists repeat a key or a setting, so the error
paths ("given twice") are what is measured, as a hostile file would drive
them.

Needs the lit feature valgrind (not a sanitizer build)."""
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "Inputs"))
import callgrind  # noqa: E402  test/Inputs/callgrind.py

BOUND = 15.0  # linear is ~10; the quadratic paths this guards gave 27-73


def write_model(path, n):
    """n of each list; every line a layer or a setting so that n scales all."""
    lines = ["model m {", "  input(2, 2, 1)"]
    for i in range(n // 2):
        lines.append(f"  l{i} = relu()")  # user names, checked for duplicates
        lines.append("  relu()")  # automatic names, checked against those
    lines.append("  flatten()")
    lines.append("  dense(2, " + "use_bias=true, " * n + "activation=softmax)")
    lines.append("}")
    lines.append("train {")
    lines.append("  optimizer = adam(" + "lr=0.1, " * n + ")")
    lines += ["  seed = 1"] * n
    lines.append("}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def instructions(cnnc, path):
    return callgrind.instructions([cnnc, "--summary", path], "main",
                                  "is given twice")


def main():
    cnnc = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    with tempfile.TemporaryDirectory() as tmp:
        small, large = os.path.join(tmp, "n.cnn"), os.path.join(tmp, "10n.cnn")
        write_model(small, n)
        write_model(large, 10 * n)
        a, b = instructions(cnnc, small), instructions(cnnc, large)
    ratio = b / a
    print(f"scaling: {a} instructions for N={n}, {b} for 10N: {ratio:.1f}x")
    if ratio > BOUND:
        print(f"scaling: FAIL: more than {BOUND:g}x the work for 10x "
              "the input")
        return 1
    print("scaling: linear")
    return 0


if __name__ == "__main__":
    sys.exit(main())
