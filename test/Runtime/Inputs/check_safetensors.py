#!/usr/bin/env python3
"""check_safetensors.py - reads a safetensors file with the standard library
only and checks what the format and cnnc's checkpoint promise.

    check_safetensors.py FILE [--expect-init SEED] [--predict DATA_DIR
                              --trainer-output STDOUT_FILE]

Always: the 8-byte little-endian header length, a JSON object padded with
spaces to a multiple of 8, "__metadata__" with string values and
format "pt", every tensor F32 with data_offsets that match its shape, the
tensors back to back from offset 0 to the end of the file. Prints one line
per tensor (name, dtype, shape) for FileCheck.

--expect-init SEED: the file holds fake_model.c's parameters as libcnnrt
initialises them (cnnrt_ref.glorot, zero biases), moved to PyTorch's
layouts; compared bit for bit, so the dense weight's H,W,C -> C,H,W
permutation is checked element by element.

--predict DIR: runs fake_model.c's network written the PyTorch way (conv
weight [out, in, kh, kw], C,H,W flatten, Linear [out, in]) over DIR's test
images and checks that it scores the test_acc the trainer printed.
"""
import argparse
import json
import math
import os
import struct
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cnnrt_ref  # noqa: E402

# fake_model.c's table: name, cnnc shape, fan_in, fan_out, (H, W, C) of flatten
FAKE = [("conv2d_1.weight", [2, 2, 1, 4], 4, 16, None),
        ("conv2d_1.bias", [4], 0, 0, None),
        ("dense_1.weight", [784, 10], 784, 10, (14, 14, 4)),
        ("dense_1.bias", [10], 0, 0, None)]


def fail(msg):
    sys.exit("check_safetensors: " + msg)


def read(path):
    blob = open(path, "rb").read()
    if len(blob) < 8:
        fail("shorter than the 8-byte header length")
    n = struct.unpack("<Q", blob[:8])[0]
    if n % 8 or 8 + n > len(blob):
        fail("header length %d not a multiple of 8 or past the end" % n)
    text = blob[8:8 + n].decode("utf-8")
    if not text.startswith("{") or text.rstrip(" ") != text.rstrip():
        fail("header does not start with { or is not padded with spaces")
    return json.loads(text), blob[8 + n:]


def check_metadata(header):
    meta = header.pop("__metadata__", None)
    if not isinstance(meta, dict) or meta.get("format") != "pt":
        fail("no __metadata__ with format pt")
    if not all(isinstance(v, str) for v in meta.values()):
        fail("__metadata__ values must be strings")
    return meta


def check_tensors(header, data):
    at = 0
    for name, t in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"]):
        begin, end = t["data_offsets"]
        if t["dtype"] != "F32" or begin != at:
            fail("%s: dtype %s or offset %d not contiguous (expected %d)"
                 % (name, t["dtype"], begin, at))
        if end - begin != 4 * math.prod(t["shape"]):
            fail("%s: %d bytes for shape %s" % (name, end - begin, t["shape"]))
        at = end
    if at != len(data):
        fail("tensors end at %d, the data at %d" % (at, len(data)))


def tensor(header, data, name):
    begin, end = header[name]["data_offsets"]
    return list(struct.unpack("<%df" % ((end - begin) // 4), data[begin:end]))


def to_torch(values, shape, flat):
    """cnnc's layout -> PyTorch's, written from the layouts' definitions"""
    if len(shape) == 4:
        kh, kw, ci, co = shape
        return [values[((y * kw + x) * ci + i) * co + o]
                for o in range(co) for i in range(ci)
                for y in range(kh) for x in range(kw)]
    if len(shape) == 2:
        n_in, n_out = shape
        h, w, c = flat or (1, 1, n_in)
        out = [0.0] * (n_in * n_out)
        for o in range(n_out):
            for ch in range(c):
                for y in range(h):
                    for x in range(w):
                        torch_in = (ch * h + y) * w + x
                        out[o * n_in + torch_in] = values[((y * w + x) * c + ch) * n_out + o]
        return out
    return values


def expect_init(header, data, seed):
    for t, (name, shape, fan_in, fan_out, flat) in enumerate(FAKE):
        size = math.prod(shape)
        cnnc = (cnnrt_ref.glorot(seed, t, size, fan_in, fan_out) if fan_in
                else [0.0] * size)
        if tensor(header, data, name) != to_torch(cnnc, shape, flat):
            fail("%s: not the expected initial values in PyTorch's layout" % name)
    print("init: %d tensors match" % len(FAKE))


def idx(path, header_bytes):
    blob = open(path, "rb").read()
    return blob[header_bytes:]


def predict_one(p, img):
    cw, cb, dw, db = p
    flat = []  # C, H, W: PyTorch's flatten of the conv's [4, 14, 14] output
    for c in range(4):
        k = cw[c * 4:c * 4 + 4]
        for y in range(14):
            r0, r1 = (2 * y) * 28, (2 * y + 1) * 28
            for x in range(14):
                flat.append(cb[c] + k[0] * img[r0 + 2 * x] + k[1] * img[r0 + 2 * x + 1]
                            + k[2] * img[r1 + 2 * x] + k[3] * img[r1 + 2 * x + 1])
    z = [db[o] + sum(a * b for a, b in zip(dw[o * 784:(o + 1) * 784], flat))
         for o in range(10)]
    return z.index(max(z))


def predict(header, data, folder, trainer_output):
    p = [tensor(header, data, name) for name, *_ in FAKE]
    images = idx(os.path.join(folder, "t10k-images-idx3-ubyte"), 16)
    labels = idx(os.path.join(folder, "t10k-labels-idx1-ubyte"), 8)
    right = sum(predict_one(p, [v / 255.0 for v in images[i * 784:(i + 1) * 784]]) == labels[i]
                for i in range(len(labels)))
    acc = right / len(labels)
    last = open(trainer_output).read().splitlines()[-1]
    said = float(last.split("test_acc:")[1])
    if abs(acc - said) > 0.011:
        fail("PyTorch-layout network scores %.4f, the trainer said %.4f" % (acc, said))
    print("predict: PyTorch layout scores the trainer's test_acc (%.4f)" % acc)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--expect-init", type=int)
    ap.add_argument("--predict")
    ap.add_argument("--trainer-output")
    a = ap.parse_args()
    header, data = read(a.file)
    meta = check_metadata(header)
    check_tensors(header, data)
    for name, t in header.items():
        print("tensor %s %s %s" % (name, t["dtype"], t["shape"]))
    print("metadata", " ".join("%s=%s" % kv for kv in sorted(meta.items())))
    if a.expect_init is not None:
        expect_init(header, data, a.expect_init)
    if a.predict:
        predict(header, data, a.predict, a.trainer_output)


if __name__ == "__main__":
    main()
