#!/usr/bin/env python3
"""synth_data.py - synthetic CIFAR-10, CIFAR-100 and NumPy .npy data
folders, in the layouts the real ones have, for the loaders' tests and the
end-to-end training tests. No dependency beyond the standard library.

    synth_data.py cifar10  DIR [--train N] [--test N] [--seed S] [--pattern]
                               [--break CASE]
    synth_data.py cifar100 DIR [same]
    synth_data.py npy      DIR [same] [--variant u8|grey|f32] [--size H W]
                               [--endian little|big] [--labels DESCR]
                               [--npy-version 1|2|3]
    synth_data.py dump KIND DIR-ARGS... --show SET:INDEX ...
                  prints what the loader must hold (see below)

The task is learnable, and only from the pixels where they belong: class
k (0..9) is colour k // 2 (red, green, blue, yellow, cyan) and orientation
k % 2 (0: a horizontal bar, 1: a vertical one), 3 pixels thick and 14 long
at a random place, on a dim noisy background. A loader that swaps the
colour planes, reads them interleaved or transposes the image reads other
colours or orientations than were drawn. (A network still learns from such
a loader, whose error is the same in every image; what it learnt is not
what a correct reader, torchvision's, evaluates. data-pixels.test compares
the pixels themselves.)
  cifar10:  data_batch_1.bin .. data_batch_5.bin (the training images,
            split as evenly as they go, in order), test_batch.bin, and
            batches.meta.txt (the names, then a blank line, as the real
            file has). Records: the label byte, 1024 red, 1024 green, 1024
            blue bytes, each plane 32 rows of 32.
  cifar100: train.bin, test.bin (records: coarse byte, fine byte, pixels),
            coarse = the class (of 20: only 0..9 occur), fine = coarse * 5
            + a random 0..4 (of 100); fine_label_names.txt and
            coarse_label_names.txt.
  npy:      train_images.npy, train_labels.npy, test_images.npy,
            test_labels.npy, as np.save writes them. --variant u8: uint8
            N x H x W x 3; f32: float32 N x H x W x 3 of byte / 127.5 - 1
            (not in [0, 1], so a loader that divides by 255 shows);
            grey: uint8 N x H x W, where colour is gone, so class k is
            brightness level k // 2 (of 5) and orientation k % 2.
            Labels '<i8' (NumPy's default int), or --labels DESCR.

--pattern replaces the task by images whose every pixel is known:
  image i, pixel (y, x), channel c = (7 i + 3 y + 5 x + 11 c) mod 256
(for f32: that byte / 127.5 - 1), labels i mod 10 (CIFAR-100: coarse i mod
20, fine 7 i mod 100), so that a test can name exact values.

dump writes, for each --show SET:INDEX (SET train or test), the image as
the loader must hold it, HWC, in the format of
test/Runtime/Inputs/data_dump.c:
  train 503 test 100 names 10
  name 0 red_horizontal
  train[7] label 3
  v v v ... (all values of the image, HWC, one line)
It regenerates the images from the same arguments (it does not read the
files), so the comparison checks the writer and the loader together
against what the images are meant to be.

--break CASE spoils one file after writing, for the error tests:
  cifar10/100: partial (10 stray bytes after the last record of the
    second training file; CIFAR-100: of train.bin), label (record 3 of
    data_batch_2.bin gets label 10), coarse / fine (CIFAR-100: record 2 of
    train.bin gets coarse label 20 / record 3 of test.bin fine label 100),
    missing (no data_batch_3.bin; CIFAR-100: no test.bin), empty (an empty
    test file), nonames (no names file), names-blank (a blank line inside
    the names), names-count (the last name dropped), names-control (a
    control byte in a name)
  npy: magic, version (4.0), header (a ':' missing), fortran
    (fortran_order True), key (an unknown key), rank1 ((N) for a shape:
    a number, not a tuple), descr (images int16), short (7 bytes of the
    training images missing), trailing (3 stray bytes after the test
    labels), count (one training label fewer), label (test label 7 is 10),
    negative (training label 4 is -1), labels2d (labels of shape (N, 1)),
    labelfloat (labels float32), nan (with --variant f32: a NaN in
    training image 5), missing (no test_labels.npy)
"""
import argparse
import os
import random
import struct
import sys

SIDE = 32
COLOURS = (("red", (230, 40, 40)), ("green", (40, 210, 40)),
           ("blue", (40, 60, 230)), ("yellow", (230, 220, 40)),
           ("cyan", (40, 210, 220)))
GREYS = (60, 105, 150, 195, 240)
ORIENTATIONS = ("horizontal", "vertical")
CLASSES = 10
THICK = 3
# a dim background: each byte of noise mapped to 0..39, at C speed
DIM = bytes(b * 40 // 256 for b in range(256))


def class_names(grey=False):
    """The ten classes' names, in class order."""
    kinds = [str(g) for g in GREYS] if grey else [c[0] for c in COLOURS]
    return [f"{kinds[k // 2]}_{ORIENTATIONS[k % 2]}" for k in range(CLASSES)]


def fine_names():
    """CIFAR-100's 100: five per class of the task, then unused ones"""
    used = [f"{name}_{j}" for name in class_names() for j in range(5)]
    return used + [f"unused_{k}" for k in range(len(used), 100)]


def coarse_names():
    return class_names() + [f"unused_{k}" for k in range(CLASSES, 20)]


# --- images: a list of planes (bytearrays of h * w), one per channel -------

def noise(rng, n):
    return bytearray(rng.getrandbits(8 * n).to_bytes(n, "little").translate(DIM))


def bar_length(h, w):
    return max(THICK + 1, min(h, w) * 7 // 16)  # 14 at 32x32


def draw_bar(rng, planes, h, w, values, vertical):
    """values[c] on a THICK x length bar at a random place inside."""
    length = bar_length(h, w)
    rows, cols = (length, THICK) if vertical else (THICK, length)
    y0 = rng.randrange(h - rows + 1)
    x0 = rng.randrange(w - cols + 1)
    for plane, v in zip(planes, values):
        for y in range(y0, y0 + rows):
            plane[y * w + x0:y * w + x0 + cols] = bytes([v]) * cols


def jitter(rng, v, by):
    return max(0, min(255, v + rng.randint(-by, by)))


def task_image(rng, label, h, w, grey):
    channels = 1 if grey else 3
    planes = [noise(rng, h * w) for _ in range(channels)]
    if grey:
        values = [jitter(rng, GREYS[label // 2], 4)]
    else:
        values = [jitter(rng, v, 15) for v in COLOURS[label // 2][1]]
    draw_bar(rng, planes, h, w, values, label % 2 == 1)
    return planes


def pattern_image(i, h, w, channels):
    return [bytearray((7 * i + 3 * y + 5 * x + 11 * c) % 256
                      for y in range(h) for x in range(w))
            for c in range(channels)]


def hwc(planes):
    """planar -> interleaved"""
    out = bytearray(len(planes[0]) * len(planes))
    for c, plane in enumerate(planes):
        out[c::len(planes)] = plane
    return bytes(out)


class Set:
    """n images (planes) with labels; `fine` for CIFAR-100."""

    def __init__(self, images, labels, fine=None):
        self.images, self.labels, self.fine = images, labels, fine


def make_set(seed, which, n, h=SIDE, w=SIDE, grey=False, pattern=False):
    """The `which` ("train" or "test") set: deterministic from the seed."""
    rng = random.Random(f"synth_data:{seed}:{which}")
    channels = 1 if grey else 3
    first = 0 if which == "train" else 1000003  # test patterns differ
    if pattern:
        idx = [first + i for i in range(n)]
        return Set([pattern_image(i, h, w, channels) for i in idx],
                   [i % CLASSES for i in idx],
                   fine=[(i % 20, 7 * i % 100) for i in idx])
    labels = [rng.randrange(CLASSES) for _ in range(n)]
    images = [task_image(rng, k, h, w, grey) for k in labels]
    fine = [(k, k * 5 + rng.randrange(5)) for k in labels]
    return Set(images, labels, fine)


# --- CIFAR ---------------------------------------------------------------------

CIFAR10_TRAIN = [f"data_batch_{k}.bin" for k in range(1, 6)]


def cifar_records(s, cifar100):
    out = []
    for i, planes in enumerate(s.images):
        labels = bytes(s.fine[i]) if cifar100 else bytes([s.labels[i]])
        out.append(labels + b"".join(bytes(p) for p in planes))
    return out


def split_evenly(items, parts):
    n = len(items)
    return [items[n * k // parts:n * (k + 1) // parts] for k in range(parts)]


def write_names(path, names):
    with open(path, "w", newline="\n") as f:
        f.write("".join(n + "\n" for n in names) + "\n")


def write_cifar10(folder, train=500, test=100, seed=1, pattern=False):
    os.makedirs(folder, exist_ok=True)
    sets = make_set(seed, "train", train, pattern=pattern), \
        make_set(seed, "test", test, pattern=pattern)
    for name, recs in zip(CIFAR10_TRAIN, split_evenly(cifar_records(sets[0], False), 5)):
        write(os.path.join(folder, name), b"".join(recs))
    write(os.path.join(folder, "test_batch.bin"),
          b"".join(cifar_records(sets[1], False)))
    write_names(os.path.join(folder, "batches.meta.txt"), class_names())
    return sets


def write_cifar100(folder, train=500, test=100, seed=1, pattern=False):
    os.makedirs(folder, exist_ok=True)
    sets = make_set(seed, "train", train, pattern=pattern), \
        make_set(seed, "test", test, pattern=pattern)
    for name, s in zip(("train.bin", "test.bin"), sets):
        write(os.path.join(folder, name), b"".join(cifar_records(s, True)))
    write_names(os.path.join(folder, "fine_label_names.txt"), fine_names())
    write_names(os.path.join(folder, "coarse_label_names.txt"), coarse_names())
    return sets


# --- .npy ----------------------------------------------------------------------

NPY_FILES = ("train_images.npy", "train_labels.npy", "test_images.npy",
             "test_labels.npy")
# descr -> struct code (the byte order comes from the descr's first char)
INT_CODES = {"u1": "B", "i1": "b", "u2": "H", "i2": "h", "u4": "I",
             "i4": "i", "u8": "Q", "i8": "q", "f4": "f", "f8": "d"}


def shape_text(shape):
    if len(shape) == 1:
        return f"({shape[0]},)"
    return "(" + ", ".join(str(d) for d in shape) + ")"


def npy_header(descr, shape, fortran=False):
    return ("{'descr': '%s', 'fortran_order': %s, 'shape': %s, }"
            % (descr, "True" if fortran else "False", shape_text(shape)))


def npy_bytes(header, data, version=1):
    """np.save's framing: magic, version, length, the header padded with
    spaces to a multiple of 64 bytes and ended by a newline, the data."""
    size = 2 if version == 1 else 4
    pre = 6 + 2 + size
    header += " " * ((64 - (pre + len(header) + 1) % 64) % 64) + "\n"
    text = header.encode("latin1" if version < 3 else "utf-8")
    return (b"\x93NUMPY" + bytes([version, 0]) +
            len(text).to_bytes(size, "little") + text + data)


def pack(descr, values):
    order = ">" if descr[0] == ">" else "<"
    return struct.pack(f"{order}{len(values)}{INT_CODES[descr[1:]]}", *values)


def f32_of_byte(b):
    return struct.unpack("<f", struct.pack("<f", b / 127.5 - 1))[0]


F32_TABLE = [f32_of_byte(b) for b in range(256)]


def npy_images(s, size, variant, endian):
    """(descr, shape, data) of a set's images"""
    n, (h, w) = len(s.images), size
    flat = b"".join(hwc(p) for p in s.images)
    if variant == "grey":
        return "|u1", (n, h, w), flat
    if variant == "u8":
        return "|u1", (n, h, w, 3), flat
    descr = (">" if endian == "big" else "<") + "f4"
    return descr, (n, h, w, 3), pack(descr, [F32_TABLE[b] for b in flat])


def write_npy(folder, train=500, test=100, seed=1, pattern=False,
              variant="u8", size=(SIDE, SIDE), endian="little",
              labels="<i8", version=1):
    os.makedirs(folder, exist_ok=True)
    sets = []
    for which, n in (("train", train), ("test", test)):
        s = make_set(seed, which, n, size[0], size[1], variant == "grey",
                     pattern)
        descr, shape, data = npy_images(s, size, variant, endian)
        write(os.path.join(folder, f"{which}_images.npy"),
              npy_bytes(npy_header(descr, shape), data, version))
        write(os.path.join(folder, f"{which}_labels.npy"),
              npy_bytes(npy_header(labels, (n,)), pack(labels, s.labels),
                        version))
        sets.append(s)
    return sets


# --- spoiling --------------------------------------------------------------------

def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def set_byte(path, at, value):
    data = bytearray(read(path))
    data[at] = value
    write(path, bytes(data))


def replace_text(path, old, new):
    data = read(path)
    assert old in data, (path, old)
    write(path, data.replace(old, new, 1))


def names_file(kind):
    return "batches.meta.txt" if kind == "cifar10" else "fine_label_names.txt"


def spoil_names(folder, kind, case):
    path = os.path.join(folder, names_file(kind))
    lines = read(path).decode().split("\n")
    if case == "nonames":
        os.remove(path)
        if kind == "cifar100":
            os.remove(os.path.join(folder, "coarse_label_names.txt"))
        return
    if case == "names-blank":
        lines.insert(3, "")
    elif case == "names-count":
        lines = lines[:CLASSES - 1] if kind == "cifar10" else lines[:99]
    elif case == "names-control":
        lines[2] = lines[2][:2] + "\x01" + lines[2][2:]
    write(path, "\n".join(lines).encode())


def spoil_cifar(folder, kind, case):
    train = "data_batch_2.bin" if kind == "cifar10" else "train.bin"
    test = "test_batch.bin" if kind == "cifar10" else "test.bin"
    record = 3073 if kind == "cifar10" else 3074
    if case.startswith("names") or case == "nonames":
        spoil_names(folder, kind, case)
    elif case == "partial":
        with open(os.path.join(folder, train), "ab") as f:
            f.write(bytes(range(10)))
    elif case == "label" and kind == "cifar10":
        set_byte(os.path.join(folder, "data_batch_2.bin"), 3 * record, 10)
    elif case == "coarse":
        set_byte(os.path.join(folder, "train.bin"), 2 * record, 20)
    elif case == "fine":
        set_byte(os.path.join(folder, "test.bin"), 3 * record + 1, 100)
    elif case == "missing":
        os.remove(os.path.join(folder, "data_batch_3.bin" if kind == "cifar10"
                               else test))
    elif case == "empty":
        write(os.path.join(folder, test), b"")
    else:
        sys.exit(f"synth_data.py: no --break {case} for {kind}")


def spoil_npy(folder, case, n_train):
    p = {name: os.path.join(folder, name) for name in NPY_FILES}
    images = p["train_images.npy"]
    if case == "magic":
        set_byte(images, 1, ord("X"))
    elif case == "version":
        set_byte(images, 6, 4)
    elif case == "header":
        replace_text(images, b"'shape':", b"'shape' ")
    elif case == "fortran":
        replace_text(images, b"False", b"True ")
    elif case == "key":
        extra = b"'extra': 1, "
        replace_text(images, b"'shape'", extra + b"'shape'")
        fix_header_length(images, len(extra))
    elif case == "rank1":
        replace_text(p["test_labels.npy"], b",), }", b"), } ")
    elif case == "descr":
        data = read(images)
        pixels = data[data.index(b"\n") + 1:]
        write(images, npy_bytes(npy_header("<i2", (n_train, SIDE, SIDE, 3)),
                                pack("<i2", list(pixels))))
    elif case == "short":
        write(images, read(images)[:-7])
    elif case == "trailing":
        with open(p["test_labels.npy"], "ab") as f:
            f.write(b"\0\0\0")
    elif case in ("count", "negative", "labels2d", "labelfloat"):
        labels = [k % CLASSES for k in range(n_train)]
        shape = (n_train,)
        descr = "<i8"
        if case == "count":
            labels, shape = labels[:-1], (n_train - 1,)
        elif case == "negative":
            labels[4] = -1
        elif case == "labels2d":
            shape = (n_train, 1)
        else:
            descr = "<f4"
        write(p["train_labels.npy"],
              npy_bytes(npy_header(descr, shape), pack(descr, labels)))
    elif case == "label":
        write(p["test_labels.npy"], spoil_label(read(p["test_labels.npy"]),
                                                7, 10))
    elif case == "nan":
        data = bytearray(read(images))
        at = data.index(b"\n") + 1 + 4 * (5 * 3 * SIDE * SIDE + 100)
        data[at:at + 4] = struct.pack("<f", float("nan"))
        write(images, bytes(data))
    elif case == "missing":
        os.remove(p["test_labels.npy"])
    else:
        sys.exit(f"synth_data.py: no --break {case} for npy")


def fix_header_length(path, grew):
    """after the header grew by `grew` bytes (version 1)"""
    data = bytearray(read(path))
    n = int.from_bytes(data[8:10], "little") + grew
    data[8:10] = n.to_bytes(2, "little")
    write(path, bytes(data))


def spoil_label(data, index, value):
    """label `index` of an '<i8' labels file becomes `value`"""
    start = data.index(b"\n") + 1
    at = start + 8 * index
    return data[:at] + struct.pack("<q", value) + data[at + 8:]


# --- dump --------------------------------------------------------------------------

def image_values(s, i, kind, variant):
    flat = hwc(s.images[i])
    if kind == "npy" and variant == "f32":
        return ["%.9g" % F32_TABLE[b] for b in flat]
    return [str(b) for b in flat]


def set_label(s, i, kind, label):
    if kind == "cifar100":
        return s.fine[i][0 if label == "coarse" else 1]
    return s.labels[i]


def dump(args, sets):
    names = {"cifar10": class_names(),
             "cifar100": coarse_names() if args.label == "coarse" else fine_names(),
             "npy": []}[args.kind]
    print(f"train {len(sets[0].labels)} test {len(sets[1].labels)} "
          f"names {len(names)}")
    for k, name in enumerate(names):
        print(f"name {k} {name}")
    for show in args.show:
        which, index = show.split(":")
        s, i = sets[0 if which == "train" else 1], int(index)
        print(f"{which}[{i}] label {set_label(s, i, args.kind, args.label)}")
        print(" ".join(image_values(s, i, args.kind, args.variant)))


# --- the command line ----------------------------------------------------------------

def parser():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("kind", choices=("cifar10", "cifar100", "npy", "dump"))
    ap.add_argument("rest", nargs=argparse.REMAINDER)
    return ap


def kind_parser(kind):
    ap = argparse.ArgumentParser(prog=f"synth_data.py {kind}")
    ap.add_argument("dir")
    ap.add_argument("--train", type=int, default=500)
    ap.add_argument("--test", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--pattern", action="store_true")
    ap.add_argument("--break", dest="spoil")
    ap.add_argument("--variant", choices=("u8", "grey", "f32"), default="u8")
    ap.add_argument("--size", type=int, nargs=2, default=(SIDE, SIDE))
    ap.add_argument("--endian", choices=("little", "big"), default="little")
    ap.add_argument("--labels", default="<i8", choices=sorted(
        o + k for k in INT_CODES if k[0] != "f" for o in "<>|"
        if (o == "|") == (k[1] == "1")))
    ap.add_argument("--npy-version", type=int, choices=(1, 2, 3), default=1)
    ap.add_argument("--label", choices=("fine", "coarse"), default="fine",
                    help="dump: the CIFAR-100 label the loader keeps")
    ap.add_argument("--show", action="append", default=[],
                    help="dump: SET:INDEX, e.g. train:0")
    return ap


def generate(kind, a):
    common = dict(train=a.train, test=a.test, seed=a.seed, pattern=a.pattern)
    if kind == "cifar10":
        return write_cifar10(a.dir, **common)
    if kind == "cifar100":
        return write_cifar100(a.dir, **common)
    return write_npy(a.dir, variant=a.variant, size=tuple(a.size),
                     endian=a.endian, labels=a.labels,
                     version=a.npy_version, **common)


def regenerate(a):
    grey = a.kind == "npy" and a.variant == "grey"
    h, w = a.size if a.kind == "npy" else (SIDE, SIDE)
    return [make_set(a.seed, which, n, h, w, grey, a.pattern)
            for which, n in (("train", a.train), ("test", a.test))]


def main(argv):
    top = parser().parse_args(argv)
    if top.kind == "dump":
        kind = top.rest[0]
        a = kind_parser(kind).parse_args(top.rest[1:])
        a.kind = kind
        dump(a, regenerate(a))
        return 0
    a = kind_parser(top.kind).parse_args(top.rest)
    generate(top.kind, a)
    if a.spoil and top.kind == "npy":
        spoil_npy(a.dir, a.spoil, a.train)
    elif a.spoil:
        spoil_cifar(a.dir, top.kind, a.spoil)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
