#!/usr/bin/env python3
"""make_data_seeds.py OUT_DIR - the seed corpus of fuzz_data, written to
test/Fuzz/data-seeds/ (committed; rerun this after changing it).

fuzz_data reads every input as a .npy file and as CIFAR-10 and CIFAR-100
records, so the seeds are good files of each and near misses of each
check in the order the readers make them: .npy's magic, version, header
length, the header's dict (keys, quotes, tuples, descr, fortran_order),
the data's length; CIFAR's whole records and label bytes. A few KB each
(the fuzz build reads CIFAR files in blocks of two records)."""
import os
import sys

sys.dont_write_bytecode = True
here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "Inputs"))
import synth_data as sd  # noqa: E402


def npy(header, data, version=1):
    return sd.npy_bytes(header, data, version)


def header(descr, shape, fortran=False):
    return sd.npy_header(descr, shape, fortran)


def npy_seeds():
    u8 = bytes(range(8))
    yield "u8.npy", npy(header("|u1", (2, 4)), u8)
    yield "f4.npy", npy(header("<f4", (2, 1, 2)), sd.pack("<f4", [0, 1, -1, 0.5]))
    yield "f4-big.npy", npy(header(">f4", (2,)), sd.pack(">f4", [1.5, -2]))
    yield "i8-big.npy", npy(header(">i8", (3,)), sd.pack(">i8", [0, 9, -1]))
    yield "u2-v2.npy", npy(header("<u2", (1, 3)), sd.pack("<u2", [1, 2, 3]), 2)
    yield "i4-v3.npy", npy(header("<i4", ()), sd.pack("<i4", [7]), 3)
    yield "f8.npy", npy(header("<f8", (1,)), sd.pack("<f8", [0.25]))
    yield "empty-shape.npy", npy(header("|u1", (0, 32, 32, 3)), b"")
    yield "images.npy", npy(header("|u1", (2, 4, 4, 3)), bytes(96))
    yield "hand.npy", npy('{"shape":(2,),"descr":"|i1","fortran_order":False}',
                          b"\x01\xff")
    raw = b"{'descr':'|u1','fortran_order':False,'shape':(1,)}"  # unpadded
    yield "raw.npy", (b"\x93NUMPY\x01\x00" + len(raw).to_bytes(2, "little") +
                      raw + b"\x05")
    yield "short.npy", npy(header("|u1", (2, 4)), u8[:-1])
    yield "trailing.npy", npy(header("|u1", (2, 4)), u8 + b"\0")
    yield "magic.npy", b"\x93NUMPX\x01\x00" + npy(header("|u1", (1,)), b"")[8:]
    yield "version.npy", b"\x93NUMPY\x04\x00" + npy(header("|u1", (1,)), b"\0")[8:]
    yield "long-header.npy", b"\x93NUMPY\x02\x00\xff\xff\x00\x00{"
    yield "cut-header.npy", npy(header("|u1", (1,)), b"\0")[:30]
    yield "fortran.npy", npy(header("|u1", (2, 2), True), bytes(4))
    yield "dup-key.npy", npy("{'descr': '|u1', 'descr': '|u1', 'fortran_order': False, 'shape': (1,)}", b"\0")
    yield "extra-key.npy", npy("{'descr': '|u1', 'fortran_order': False, 'shape': (1,), 'x': 1}", b"\0")
    yield "no-comma.npy", npy("{'descr': '|u1', 'fortran_order': False, 'shape': (1)}", b"\0")
    yield "structured.npy", npy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}", bytes(4))
    yield "nine-dims.npy", npy(header("|u1", (1,) * 9), b"\0")
    yield "huge.npy", npy(header("<f8", (2 ** 40, 2 ** 40)), b"")


def cifar(records, label_bytes):
    out = b""
    for labels, fill in records:
        out += bytes(labels) + bytes((fill + i) % 256 for i in range(3072))
    return out


def cifar_seeds():
    yield "cifar10-one.bin", cifar([((3,), 0)], 1)
    yield "cifar10-three.bin", cifar([((0,), 1), ((9,), 2), ((5,), 3)], 1)
    yield "cifar10-partial.bin", cifar([((1,), 4)], 1) + b"\x02\x00\x00"
    yield "cifar10-label.bin", cifar([((1,), 4), ((10,), 5)], 1)
    yield "cifar100-two.bin", cifar([((19, 99), 6), ((0, 0), 7)], 2)
    yield "cifar100-coarse.bin", cifar([((20, 5), 8)], 2)
    yield "cifar100-fine.bin", cifar([((2, 100), 9)], 2)
    yield "empty.bin", b""


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, data in list(npy_seeds()) + list(cifar_seeds()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
