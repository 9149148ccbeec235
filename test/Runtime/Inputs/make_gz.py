#!/usr/bin/env python3
"""make_gz.py - gzip one file of a data folder, well or badly, for the tests.

    make_gz.py DIR KIND [--file NAME]

replaces DIR/NAME (default train-labels-idx1-ubyte, as make_idx.py writes
it) by DIR/NAME.gz. The gzip framing (RFC 1952) is written here, byte by
byte, so that the damage lands exactly where a test says, whatever zlib's
version. Unless KIND says otherwise the deflate data is stored blocks (a
5-byte block header per 65535 bytes), so that every offset is known in
advance: for the 208-byte labels of 200 images the header is bytes 0-9, the
block header 10-14, the data 15-222, the trailer 223-230; the file is 231
bytes.

KIND, good:
  ok          stored blocks
  compressed  zlib's best compression
  fields      a header with FEXTRA, FNAME, FCOMMENT and a right FHCRC
  members     two members (the first half of the bytes, then the rest)
  empty       the file, then a member of no bytes
KIND, bad:
  cut-data     the file cut to 100 bytes, inside the deflate data
  cut-trailer  cut before the 8-byte trailer
  cut-inside   cut 3 bytes into the trailer
  crc          the trailer's CRC-32 is 0x12345678
  length       the trailer's length is one too many
  pixels       one byte of the data changed (the trailer unchanged)
  deflate      the first block's type is 3, which does not exist
  garbage      17 bytes after the trailer
  magic-garbage  1f 8b and 3 more bytes after the trailer
  member-crc   two members, the second's CRC-32 wrong
  method       compression method 7
  flags        the reserved flag 0x20 set
  header-crc   FHCRC set, its CRC 0x1234
  cut-header   the file cut to 6 bytes
"""
import argparse
import os
import struct
import zlib

FHCRC, FEXTRA, FNAME, FCOMMENT = 0x02, 0x04, 0x08, 0x10


def header(flags=0, method=8, extra=b"", name=b"", comment=b"", hcrc=None):
    h = bytes([0x1F, 0x8B, method, flags]) + struct.pack("<I", 0) + b"\0\3"
    if flags & FEXTRA:
        h += struct.pack("<H", len(extra)) + extra
    if flags & FNAME:
        h += name + b"\0"
    if flags & FCOMMENT:
        h += comment + b"\0"
    if flags & FHCRC:
        h += struct.pack("<H", zlib.crc32(h) & 0xFFFF if hcrc is None else hcrc)
    return h


def stored(data):
    """deflate stored blocks: BFINAL|BTYPE=00 in a byte, LEN, NLEN, bytes"""
    out, at = b"", 0
    while True:
        block = data[at:at + 65535]
        at += len(block)
        final = at >= len(data)
        out += bytes([1 if final else 0]) + struct.pack(
            "<HH", len(block), len(block) ^ 0xFFFF) + block
        if final:
            return out


def compressed(data):
    z = zlib.compressobj(9, zlib.DEFLATED, -15)
    return z.compress(data) + z.flush()


def trailer(data, crc=None, length=None):
    return struct.pack("<II", zlib.crc32(data) if crc is None else crc,
                       len(data) if length is None else length)


def member(data, **kw):
    return header() + stored(data) + trailer(data, **kw)


def wrong_crc(data):
    return 0x12345678 if zlib.crc32(data) != 0x12345678 else 0x87654321


def pixels(data):
    body = bytearray(stored(data))
    body[len(body) // 2] ^= 0x55
    return header() + bytes(body) + trailer(data)


def make(kind, data):
    half = len(data) // 2
    good = member(data)
    return {
        "ok": lambda: good,
        "compressed": lambda: header() + compressed(data) + trailer(data),
        "fields": lambda: header(FEXTRA | FNAME | FCOMMENT | FHCRC,
                                 extra=b"AB\2\0xy", name=b"labels",
                                 comment=b"made by make_gz.py")
        + stored(data) + trailer(data),
        "members": lambda: member(data[:half]) + member(data[half:]),
        "empty": lambda: good + member(b""),
        "cut-data": lambda: good[:100],
        "cut-trailer": lambda: good[:-8],
        "cut-inside": lambda: good[:-5],
        "crc": lambda: member(data, crc=wrong_crc(data)),
        "length": lambda: member(data, length=len(data) + 1),
        "pixels": lambda: pixels(data),
        "deflate": lambda: header() + b"\x07" + stored(data)[1:] + trailer(data),
        "garbage": lambda: good + bytes(range(17)),
        "magic-garbage": lambda: good + b"\x1f\x8b\x08\x00\x00",
        "member-crc": lambda: member(data[:half])
        + member(data[half:], crc=wrong_crc(data[half:])),
        "method": lambda: header(method=7) + stored(data) + trailer(data),
        "flags": lambda: header(flags=0x20) + stored(data) + trailer(data),
        "header-crc": lambda: header(FHCRC, hcrc=0x1234) + stored(data)
        + trailer(data),
        "cut-header": lambda: good[:6],
    }[kind]()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("kind")
    ap.add_argument("--file", default="train-labels-idx1-ubyte")
    a = ap.parse_args()
    path = os.path.join(a.dir, a.file)
    with open(path, "rb") as f:
        data = f.read()
    with open(path + ".gz", "wb") as f:
        f.write(make(a.kind, data))
    os.remove(path)


if __name__ == "__main__":
    main()
