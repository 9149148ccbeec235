#!/usr/bin/env python3
"""make_weights_seeds.py OUT_DIR - the seed corpus of fuzz_weights, written
to test/Fuzz/weights-seeds/ (committed; rerun this after changing it).

fuzz_weights reads every input for the small model of fuzz_weights.c,
whose parameters are those of test/Driver/Inputs/tiny.cnn, so the seeds
are that model's good file and near misses of each check in the order the
reader makes them: the 8-byte length (short, over the limit, past the
end), the header (cut, not JSON, deep, odd numbers, repeated names and
fields, bad shapes and offsets), its match with the model (missing,
extra, wrong shape or dtype), the file's size against the header (one
byte short or long, cut inside each tensor), and the values (NaN, Inf).
A few KB each at most."""
import os
import struct
import sys

sys.dont_write_bytecode = True
here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "Infer", "Inputs"))
import make_safetensors  # noqa: E402
import weights_cases  # noqa: E402


def header_of(good):
    n = struct.unpack("<Q", good[:8])[0]
    return n, good[8:8 + n].decode()


def batchnorm_seeds(put, good, n, text):
    """fuzz_weights' second model puts a batchnorm between the conv and the
    flatten: the good file gains its five tensors (num_batches_tracked an
    I64 of shape []), and near misses of the I64 checks."""
    import copy
    import json
    header = json.loads(text)
    data = good[8 + n:]
    at = len(data)
    extra = b""
    for name in ("weight", "bias", "running_mean", "running_var"):
        blob = struct.pack("<3f", 1.0, 0.5, 0.25)
        header["batchnorm_1." + name] = {"dtype": "F32", "shape": [3],
                                         "data_offsets": [at, at + 12]}
        extra += blob
        at += 12
    header["batchnorm_1.num_batches_tracked"] = {
        "dtype": "I64", "shape": [], "data_offsets": [at, at + 8]}
    extra += struct.pack("<q", 17)

    def file(h, blob):
        raw = json.dumps(h).encode()
        raw += b" " * (-len(raw) % 8)
        return struct.pack("<Q", len(raw)) + raw + blob

    put("batchnorm-good", file(header, data + extra))
    put("batchnorm-cut-counter", file(header, data + extra)[:-3])
    as_f32 = copy.deepcopy(header)
    as_f32["batchnorm_1.num_batches_tracked"]["dtype"] = "F32"
    put("batchnorm-counter-f32", file(as_f32, data + extra))
    wide = copy.deepcopy(header)
    wide["batchnorm_1.running_var"]["dtype"] = "I64"
    put("batchnorm-var-i64", file(wide, data + extra))


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    # The generators' files: good, missing, extra, shape, dtype, length,
    # json, gap, span, short; long-header, twice, two-dtypes, nan, inf,
    # neg-inf.
    sys.argv = [sys.argv[0], out]
    make_safetensors.main()
    weights_cases.main()
    with open(os.path.join(out, "good.safetensors"), "rb") as f:
        good = f.read()
    n, text = header_of(good)
    data = good[8 + n:]

    def put(name, blob):
        with open(os.path.join(out, name + ".safetensors"), "wb") as f:
            f.write(blob)

    def header(new_text, rest=data):
        raw = new_text.encode()
        return struct.pack("<Q", len(raw)) + raw + rest

    batchnorm_seeds(put, good, n, text)
    # The reading order: cut in the length, at the header's end, inside
    # each tensor; one byte short or long.
    put("cut-length", good[:5])
    put("cut-header-end", good[:8 + n])
    for name, at in (("conv-weight", 50), ("conv-bias", 112),
                     ("dense-weight", 500), ("dense-bias", 988)):
        put("cut-" + name, good[:8 + n + at])
    put("one-short", good[:-1])
    put("one-long", good + b"\0")
    put("length-zero", struct.pack("<Q", 0) + data)
    put("length-limit", struct.pack("<Q", 100 << 20) + good[8:])
    # The header as JSON: empty object, whitespace, nesting, numbers,
    # escapes, metadata alone.
    put("empty-object", header("{}", b""))
    put("metadata-only", header('{"__metadata__": {"format": "pt"}}', b""))
    put("spaces", header(" \t\r\n" + text + " \n"))
    put("deep", header('{"a": ' + "[" * 40 + "]" * 40 + "}"))
    put("numbers", header(text.replace("[0, 108]", "[0.0, 1.08e2]")))
    put("negative", header(text.replace("[0, 108]", "[-0, -108]")))
    put("huge-offset", header(text.replace("[0, 108]",
                                           "[0, 9223372036854775807]")))
    put("overflow-offset", header(text.replace("[0, 108]",
                                               "[0, 9223372036854775808]")))
    put("huge-shape", header(text.replace("[3, 1, 3, 3]",
                                          "[4611686018427387904, 4]")))
    put("escaped-name", header(text.replace('"conv2d_1.bias"',
                                            '"conv2d_1\\u002ebias"')))
    put("true-false-null", header(text.replace('"format": "pt"',
                                               '"a": true, "b": false, '
                                               '"c": null')))
    put("unicode-metadata", header(text.replace(
        '"format": "pt"', '"format": "pt", "note": "\\u00e9\\ud83d\\ude00 '
        '\\"q\\" \\\\ \\/ \\b\\f\\n\\r\\t"')))
    put("nul-escape", header(text.replace('"conv2d_1.bias"',
                                          '"conv2d_1.bias\\u0000x"')))
    put("bad-escape", header(text.replace('"conv2d_1.bias"',
                                          '"conv2d_1.bias\\q"')))
    put("lone-surrogate", header(text.replace('"conv2d_1.bias"',
                                              '"conv2d_1.bias\\ud800"')))
    put("entry-not-object", header(text.replace(
        '"conv2d_1.bias": {"dtype": "F32", "shape": [3], '
        '"data_offsets": [108, 120]}', '"conv2d_1.bias": [108, 120]')))
    put("no-dtype", header(text.replace(
        '"conv2d_1.bias": {"dtype": "F32", ', '"conv2d_1.bias": {')))
    put("trailing-comma", header(text.replace("[0, 108]", "[0, 108,]")))
    put("leading-zero", header(text.replace("[0, 108]", "[0, 0108]")))
    put("text-after", header(text.rstrip() + " {}"))


if __name__ == "__main__":
    main()
