#!/usr/bin/env python3
"""report_check.py - checks the end of a run's per-class report (stdout)
and its --report CSV file against the test labels, read here from the data
files themselves (standard library only).

    report_check.py constant IN OUT K
        OUT: the safetensors file IN with every tensor zero but the last
        one's element K (the output layer's bias) 1: a model that predicts
        class K for every image
    report_check.py check STDOUT CSV LABELS [--cifar BYTES INDEX]
        LABELS: an IDX labels file, or with --cifar a CIFAR binary file of
        records of BYTES label bytes (the class is the INDEX-th) and 3072
        pixels. Prints what it found, one fact a line, for FileCheck:
          labels: N images, K classes
          csv: header ok, K rows
          csv: images per class are the labels' counts
          csv: correct is the diagonal, accuracy correct / images
          csv: diagonal / images = test_acc A
          stdout: every line fits 80 columns  (of the report)
          stdout: matrix = csv   (when stdout shows the matrix)
          predicted: C1 C2 ...   (the classes any image was predicted as)
        and exits 1 at the first fact that does not hold.
"""
import csv
import os
import re
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_tool  # noqa: E402


def constant(src, dst, k):
    meta, tensors = st_tool.read(src)
    for t in tensors:
        t[3] = bytes(len(t[3]))
    last = tensors[-1]
    data = bytearray(last[3])
    data[4 * k:4 * k + 4] = struct.pack("<f", 1.0)
    last[3] = bytes(data)
    open(dst, "wb").write(st_tool.encode(meta, tensors))


def labels_of(path, cifar):
    blob = open(path, "rb").read()
    if cifar is None:
        magic, n = struct.unpack(">II", blob[:8])
        assert magic == 0x801, "not an IDX labels file"
        return list(blob[8:8 + n])
    size, index = cifar
    record = size + 3072
    return [blob[at + index] for at in range(0, len(blob), record)]


def fail(what):
    sys.exit("report_check: " + what)


def check_csv(rows, classes, labels):
    header = rows[0]
    want = ["class", "name", "images", "correct", "accuracy"] + [
        "predicted_%d" % g for g in range(classes)]
    if header != want:
        fail("csv header %s" % header)
    body = rows[1:]
    if len(body) != classes:
        fail("csv holds %d rows for %d classes" % (len(body), classes))
    print("csv: header ok, %d rows" % classes)
    matrix = [[int(v) for v in r[5:]] for r in body]
    for k, r in enumerate(body):
        if int(r[0]) != k or int(r[2]) != labels.count(k) or \
                sum(matrix[k]) != labels.count(k):
            fail("csv row %d: %s, but the labels hold %d" %
                 (k, r[:5], labels.count(k)))
    print("csv: images per class are the labels' counts")
    for k, r in enumerate(body):
        images, right = int(r[2]), int(r[3])
        acc = "%.6f" % (right / images) if images else ""
        if right != matrix[k][k] or r[4] != acc:
            fail("csv row %d: correct %s accuracy %s" % (k, r[3], r[4]))
    print("csv: correct is the diagonal, accuracy correct / images")
    return matrix


def main():
    if sys.argv[1] == "constant":
        constant(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    out_path, csv_path, labels_path = sys.argv[2:5]
    cifar = None
    if len(sys.argv) > 5 and sys.argv[5] == "--cifar":
        cifar = (int(sys.argv[6]), int(sys.argv[7]))
    labels = labels_of(labels_path, cifar)
    rows = list(csv.reader(open(csv_path, newline="")))
    classes = len(rows[0]) - 5
    print("labels: %d images, %d classes" % (len(labels), classes))
    matrix = check_csv(rows, classes, labels)
    out = open(out_path).read().splitlines()
    acc = [l for l in out if l.startswith("test_acc: ")][-1].split()[1]
    diagonal = sum(matrix[k][k] for k in range(classes))
    if "%.4f" % (diagonal / len(labels)) != acc:
        fail("the diagonal holds %d of %d, but test_acc is %s" %
             (diagonal, len(labels), acc))
    print("csv: diagonal / images = test_acc %s" % acc)
    heading = "per class (test images; rows: true class, columns: predicted):"
    first = [i for i, l in enumerate(out)
             if l in (heading, "accuracy per class (test images):")][0]
    last = [i for i, l in enumerate(out)
            if i > first and l.startswith(("saved ", "test_acc: "))][0]
    if any(len(l) > 80 for l in out[first:last]):
        fail("a line of the report is wider than 80 columns")
    print("stdout: every line fits 80 columns")
    if heading in out:
        at = out.index(heading) + 2
        shown = [[int(v) for v in re.split(r" +", l.strip())[-2 - classes:-2]]
                 for l in out[at:at + classes]]
        if shown != matrix:
            fail("stdout's matrix %s is not the csv's %s" % (shown, matrix))
        print("stdout: matrix = csv")
    predicted = [g for g in range(classes)
                 if any(matrix[t][g] for t in range(classes))]
    print("predicted: " + " ".join(map(str, predicted)))


main()
