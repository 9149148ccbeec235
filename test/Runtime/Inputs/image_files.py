#!/usr/bin/env python3
"""image_files.py - PNG, PGM and PPM files for the image reader's tests,
written with the standard library only (zlib and struct).

    image_files.py cases DIR          every kind of file the reader takes,
                                      each NAME with NAME.want (the dump
                                      image_dump should print), NAME.grey and
                                      NAME.rgb (the same in 1 and 3 channels)
    image_files.py check DIR DUMP     runs DUMP (image_dump) on each case of
                                      DIR: "ok NAME", or "MISMATCH NAME"
    image_files.py bad DIR            malformed files, one per error
    image_files.py pgm DIR IMAGES      every image of an IDX images file as
                                      DIR/K.pgm (binary, from K = 0)
    image_files.py doubled IN.pgm OUT.pgm
                                      a binary PGM with every pixel doubled
                                      (2x2 of it), twice the width and height
    image_files.py colour DIR W H      DIR/rgb.ppm and rgb.png (the same random
                                      pixels), grey.pgm and grey-as-rgb.ppm
                                      (its grey repeated in 3 channels)
    image_files.py random OUT W H C   a random binary PGM (C 1) or PPM (C 3)
    image_files.py idx DIR IMAGES K... test image K of an IDX images file
                                      (make_idx.py's) in every format the
                                      pixels fit exactly, as DIR/K-FORMAT.EXT;
                                      and DIR/K-colour.ppm, an RGB image
                                      whose luma is image K, with the RGB
                                      values random

The writers cover PNG colour types 0, 2, 3, 4, 6 at every bit depth they
allow, the five row filters in turn, Adam7 interlacing, and the Netpbm
formats P2, P3, P5 and P6 with comments, any maxval and 2-byte samples.
Expected values: a sample v of maxval M (2^depth - 1 in a PNG) is the byte
(v * 255 + M // 2) // M; grey from RGB is PIL's convert('L'),
(19595 R + 38470 G + 7471 B + 32768) >> 16.
"""
import os
import random
import struct
import subprocess
import sys
import zlib

# --- PNG -----------------------------------------------------------------

CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(
        ">I", zlib.crc32(body) & 0xFFFFFFFF)


def pack_row(samples, depth):
    if depth == 16:
        return b"".join(struct.pack(">H", s) for s in samples)
    if depth == 8:
        return bytes(samples)
    out, acc, bits = bytearray(), 0, 0
    for s in samples:
        acc, bits = acc << depth | s, bits + depth
        if bits == 8:
            out.append(acc)
            acc, bits = 0, 0
    if bits:
        out.append(acc << (8 - bits))
    return bytes(out)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def filter_row(kind, row, prev, bpp):
    out = bytearray([kind])
    for i, x in enumerate(row):
        a = row[i - bpp] if i >= bpp else 0
        b = prev[i] if prev else 0
        c = prev[i - bpp] if prev and i >= bpp else 0
        pred = [0, a, b, (a + b) // 2, paeth(a, b, c)][kind]
        out.append((x - pred) & 0xFF)
    return out


def raw_rows(rows, depth, bpp, first_filter=0):
    """The filtered rows of one (sub)image: filters 0..4 in turn."""
    out, prev = bytearray(), None
    for y, samples in enumerate(rows):
        row = pack_row(samples, depth)
        out += filter_row((first_filter + y) % 5, row, prev, bpp)
        prev = row
    return out


ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4),
         (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))


def interlaced(rows, w, h, ch, depth, bpp):
    out = bytearray()
    for x0, y0, dx, dy in ADAM7:
        sub = [[s for x in range(x0, w, dx) for s in rows[y][x * ch:x * ch + ch]]
               for y in range(y0, h, dy)]
        if sub and sub[0]:
            out += raw_rows(sub, depth, bpp)
    return out


def png(w, h, ctype, depth, rows, palette=None, trns=None, interlace=False,
        extra=b""):
    """rows: h lists of w * channels samples"""
    ch = CHANNELS[ctype]
    bpp = max(1, ch * depth // 8)
    data = (interlaced(rows, w, h, ch, depth, bpp) if interlace
            else raw_rows(rows, depth, bpp))
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(
        ">IIBBBBB", w, h, depth, ctype, 0, 0, 1 if interlace else 0))
    out += extra
    if palette is not None:
        out += chunk(b"PLTE", bytes(v for rgb in palette for v in rgb))
    if trns is not None:
        out += chunk(b"tRNS", trns)
    return out + chunk(b"IDAT", zlib.compress(bytes(data), 9)) + chunk(b"IEND", b"")


# --- PGM / PPM --------------------------------------------------------------


def pnm(magic, w, h, maxval, samples, comments=False):
    head = magic + (b"\n# written by image_files.py\n" if comments else b"\n")
    head += b"%d %d\n" % (w, h) if not comments else b"%d # width\n%d\n" % (w, h)
    head += b"%d\n" % maxval
    if magic in (b"P2", b"P3"):
        words = [b"%d" % s for s in samples]
        lines = [b" ".join(words[i:i + 12]) for i in range(0, len(words), 12)]
        return head + b"\n".join(lines) + b"\n"
    if maxval > 255:
        return head + b"".join(struct.pack(">H", s) for s in samples)
    return head + bytes(samples)


# --- expected values ------------------------------------------------------------


def to_byte(v, maxval):
    return (v * 255 + maxval // 2) // maxval


def luma(r, g, b):
    return (19595 * r + 38470 * g + 7471 * b + 32768) >> 16


def dump(fmt, w, h, c, pixels):
    """what image_dump prints: the header line, then a row a line"""
    lines = ["%s %dx%d %s" % (fmt, w, h, "grey" if c == 1 else "RGB")]
    for y in range(h):
        lines.append(" ".join(str(v) for v in pixels[y * w * c:(y + 1) * w * c]))
    return "\n".join(lines) + "\n"


def as_grey(pixels, c):
    if c == 1:
        return pixels
    return [luma(*pixels[i:i + 3]) for i in range(0, len(pixels), 3)]


def as_rgb(pixels, c):
    return pixels if c == 3 else [v for v in pixels for _ in range(3)]


def write_case(d, name, data, fmt, w, h, c, pixels):
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)
    for suffix, cc, px in (("want", c, pixels), ("grey", 1, as_grey(pixels, c)),
                           ("rgb", 3, as_rgb(pixels, c))):
        with open(os.path.join(d, name + "." + suffix), "w") as f:
            f.write(dump(fmt, w, h, cc, px))


# --- the cases -------------------------------------------------------------------


def png_case(rng, ctype, depth, w, h, interlace=False):
    """a random PNG and its bytes as the reader gives them"""
    ch = CHANNELS[ctype]
    top = (1 << depth) - 1
    if ctype == 3:
        colours = min(1 << depth, 200)
        palette = [tuple(rng.randrange(256) for _ in range(3))
                   for _ in range(colours)]
        idx = [rng.randrange(colours) for _ in range(w * h)]
        rows = [idx[y * w:(y + 1) * w] for y in range(h)]
        trns = bytes(rng.randrange(256) for _ in range(colours // 2 + 1))
        data = png(w, h, 3, depth, rows, palette, trns, interlace)
        return data, 3, [v for i in idx for v in palette[i]]
    samples = [rng.randrange(top + 1) for _ in range(w * h * ch)]
    rows = [samples[y * w * ch:(y + 1) * w * ch] for y in range(h)]
    data = png(w, h, ctype, depth, rows, interlace=interlace)
    colour = 3 if ctype in (2, 6) else 1
    pixels = [to_byte(samples[p * ch + k], top)
              for p in range(w * h) for k in range(colour)]
    return data, colour, pixels


def pnm_case(rng, magic, maxval, w, h, comments=False):
    c = 3 if magic in (b"P3", b"P6") else 1
    samples = [rng.randrange(maxval + 1) for _ in range(w * h * c)]
    return (pnm(magic, w, h, maxval, samples, comments), c,
            [to_byte(s, maxval) for s in samples])


def cases(d):
    os.makedirs(d, exist_ok=True)
    rng = random.Random(12)
    for ctype, depths in ((0, (1, 2, 4, 8, 16)), (2, (8, 16)), (3, (1, 2, 4, 8)),
                          (4, (8, 16)), (6, (8, 16))):
        for depth in depths:
            data, c, px = png_case(rng, ctype, depth, 13, 5)
            write_case(d, "type%d-%d.png" % (ctype, depth), data, "PNG", 13, 5,
                       c, px)
    for name, ctype, depth, w, h in (("adam7-rgb.png", 2, 8, 11, 9),
                                     ("adam7-grey2.png", 0, 2, 10, 3),
                                     ("adam7-palette4.png", 3, 4, 9, 9),
                                     ("adam7-1x1.png", 0, 8, 1, 1)):
        data, c, px = png_case(rng, ctype, depth, w, h, interlace=True)
        write_case(d, name, data, "PNG", w, h, c, px)
    data, c, px = png_case(rng, 0, 8, 1, 1)
    write_case(d, "one-pixel.png", data, "PNG", 1, 1, c, px)
    # an ancillary chunk with a wrong CRC is skipped, not an error
    bad_text = chunk(b"tEXt", b"Comment\0hello")[:-1] + b"\0"
    px = [rng.randrange(256) for _ in range(6)]
    write_case(d, "bad-ancillary-crc.png",
               png(3, 2, 0, 8, [px[:3], px[3:]], extra=bad_text), "PNG", 3, 2,
               1, px)
    for name, magic, maxval, comments in (
            ("p2.pgm", b"P2", 255, False), ("p2-comments.pgm", b"P2", 255, True),
            ("p2-max15.pgm", b"P2", 15, False), ("p2-16.pgm", b"P2", 65535, False),
            ("p3.ppm", b"P3", 255, True), ("p3-max2.ppm", b"P3", 2, False),
            ("p5.pgm", b"P5", 255, False), ("p5-comments.pgm", b"P5", 255, True),
            ("p5-max1.pgm", b"P5", 1, False), ("p5-max100.pgm", b"P5", 100, False),
            ("p5-max1000.pgm", b"P5", 1000, False),
            ("p5-16.pgm", b"P5", 65535, False), ("p6.ppm", b"P6", 255, False),
            ("p6-16.ppm", b"P6", 65535, True), ("p6-max7.ppm", b"P6", 7, False)):
        data, c, px = pnm_case(rng, magic, maxval, 7, 4, comments)
        write_case(d, name, data, "PGM" if c == 1 else "PPM", 7, 4, c, px)
    # known values: primaries and white to grey are PIL's 76, 150, 29, 255
    prim = [255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255, 128, 128, 128]
    write_case(d, "primaries.ppm", pnm(b"P6", 5, 1, 255, prim), "PPM", 5, 1, 3,
               prim)
    # a header on one line, CR LF line ends, a comment right after the magic
    px = [rng.randrange(256) for _ in range(6)]
    write_case(d, "p5-one-line.pgm", b"P5 3 2 255 " + bytes(px), "PGM", 3, 2, 1, px)
    write_case(d, "p2-crlf.pgm", b"P2\r\n3 2\r\n255\r\n" + b" ".join(
        b"%d" % v for v in px) + b"\r\n", "PGM", 3, 2, 1, px)
    write_case(d, "p5-comment-after-magic.pgm",
               b"P5#c\n3 2\n255\n" + bytes(px), "PGM", 3, 2, 1, px)


def check(d, dump_tool):
    names = sorted(n for n in os.listdir(d) if n.endswith((".png", ".pgm", ".ppm")))
    good = 0
    for n in names:
        path = os.path.join(d, n)
        ok = True
        for suffix, args in (("want", []), ("grey", ["1"]), ("rgb", ["3"])):
            with open(path + "." + suffix) as f:
                want = f.read()
            r = subprocess.run([dump_tool, path] + args, capture_output=True,
                               text=True)
            if r.returncode != 0 or r.stdout != want:
                ok = False
                print("MISMATCH %s (%s): %s" % (n, suffix, r.stderr.strip()))
        good += ok
        if ok:
            print("ok " + n)
    print("%d of %d decoded as written" % (good, len(names)))


# --- malformed files ------------------------------------------------------------


def bad(d):
    os.makedirs(d, exist_ok=True)
    grey = png(4, 3, 0, 8, [[1, 2, 3, 4]] * 3)
    idat_at = grey.index(b"IDAT") - 4
    iend_at = grey.index(b"IEND") - 4
    ihdr = grey[:33]

    def with_ihdr(w, h, depth, ctype):
        body = b"IHDR" + struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, 0)
        return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + body +
                struct.pack(">I", zlib.crc32(body)) + grey[33:])

    def flip(data, at):
        return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1:]

    short_idat = chunk(b"IDAT", zlib.compress(bytes([0, 1, 2, 3, 4]) * 2))
    files = {
        "empty.png": b"",
        "signature-only.png": grey[:8],
        "cut-in-ihdr.png": grey[:20],
        "cut-in-idat.png": grey[:idat_at + 12],
        "no-iend.png": grey[:iend_at],
        "ihdr-crc.png": flip(grey, 30),
        "idat-crc.png": flip(grey, iend_at - 1),
        "bad-depth.png": with_ihdr(4, 3, 3, 0),
        "bad-colour-type.png": with_ihdr(4, 3, 8, 5),
        "zero-width.png": with_ihdr(0, 3, 8, 0),
        "too-wide.png": with_ihdr(1 << 21, 1, 8, 0),
        "huge-claim.png": with_ihdr(100000, 100000, 8, 2),
        "bad-zlib.png": grey[:idat_at] + chunk(b"IDAT", b"\x78\x9c\xff\xff\xff\xff") +
                        grey[iend_at:],
        "short-data.png": grey[:idat_at] + short_idat + grey[iend_at:],
        "palette-missing.png": with_ihdr(4, 3, 8, 3),
        "jpeg.png": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
        "gif.pgm": b"GIF89a\x01\x00",
        "text.pgm": b"hello, world\n",
        "pbm.pgm": b"P4\n8 1\n\xff",
        "magic-only.pgm": b"P5",
        "magic-glued.pgm": b"P5x 2 2 255\n1234",
        "bad-width.pgm": b"P5 two 2 255\n1234",
        "zero-width.pgm": b"P5 0 2 255\n",
        "zero-height.pgm": b"P5\n# comment\n2 0 255\n",
        "huge-width.pgm": b"P5 99999999999 2 255\n",
        "zero-maxval.pgm": b"P5 2 2 0\n1234",
        "big-maxval.pgm": b"P5 2 2 65536\n1234",
        "no-maxval.pgm": b"P5 2 2\n",
        "maxval-at-end.pgm": b"P5 2 2 255",
        "maxval-glued.pgm": b"P5 2 2 255x1234",
        "truncated.pgm": b"P5 4 4 255\n" + bytes(10),
        "truncated-16.pgm": b"P5 4 1 65535\n" + bytes(7),
        "trailing.pgm": b"P5 2 2 255\n" + bytes(4) + b"\n\n",
        "above-maxval.pgm": b"P5 2 2 100\n" + bytes([0, 200, 0, 0]),
        "above-maxval-16.pgm": b"P5 2 1 1000\n" + struct.pack(">HH", 1000, 1001),
        "above-maxval.ppm": b"P6 2 1 100\n" + bytes([1, 2, 3, 4, 101, 6]),
        "plain-above-maxval.pgm": b"P2 2 2 15\n1 2\n3 16\n",
        "plain-not-number.pgm": b"P2 2 2 255\n1 2\n3 x\n",
        "plain-huge-sample.pgm": b"P2 1 1 255\n1234567\n",
        "plain-truncated.pgm": b"P2 3 3 255\n1 2 3\n",
        "plain-ends-early.pgm": b"P3 2 1 255\n1 2 3 4 5          \n",
        "plain-trailing.pgm": b"P2 2 1 255\n1 2 3\n",
    }
    for name, data in files.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


# --- an IDX test image in every format -------------------------------------------


def idx_images(path):
    with open(path, "rb") as f:
        data = f.read()
    magic, n, rows, cols = struct.unpack(">IIII", data[:16])
    assert magic == 0x803
    size = rows * cols
    return [list(data[16 + k * size:16 + (k + 1) * size]) for k in range(n)], rows, cols


def idx(d, images_path, ks):
    os.makedirs(d, exist_ok=True)
    images, h, w = idx_images(images_path)
    rng = random.Random(5)
    for k in ks:
        px = images[k]
        rows = [px[y * w:(y + 1) * w] for y in range(h)]
        alpha = [[v for x in r for v in (x, rng.randrange(256))] for r in rows]
        rgb = [[x for x in r for _ in range(3)] for r in rows]
        rgba = [[v for x in r for v in (x, x, x, rng.randrange(256))] for r in rows]
        wide = lambda rr: [[x * 257 for x in r] for r in rr]
        levels = sorted(set(px))
        palette = [(v, v, v) for v in levels]
        index = [[levels.index(x) for x in r] for r in rows]
        flat = lambda rr: [x for r in rr for x in r]
        files = {
            "grey8.png": png(w, h, 0, 8, rows),
            "grey16.png": png(w, h, 0, 16, wide(rows)),
            "greyalpha8.png": png(w, h, 4, 8, alpha),
            "rgb8.png": png(w, h, 2, 8, rgb),
            "rgb16.png": png(w, h, 2, 16, wide(rgb)),
            "rgba8.png": png(w, h, 6, 8, rgba),
            "rgba16.png": png(w, h, 6, 16, wide(rgba)),
            "palette8.png": png(w, h, 3, 8, index, palette, bytes([128] * 3)),
            "adam7.png": png(w, h, 0, 8, rows, interlace=True),
            "p2.pgm": pnm(b"P2", w, h, 255, flat(rows), comments=True),
            "p5.pgm": pnm(b"P5", w, h, 255, flat(rows)),
            "p5-16.pgm": pnm(b"P5", w, h, 65535, flat(wide(rows))),
            "p3.ppm": pnm(b"P3", w, h, 255, flat(rgb)),
            "p6.ppm": pnm(b"P6", w, h, 255, flat(rgb)),
        }
        # the pixels at 4 bits: 4-bit grey and palette PNG, maxval 15 PGM,
        # all of which read as the same bytes 17 * q
        q = [[(x + 8) // 17 for x in r] for r in rows]
        files["q4-grey4.png"] = png(w, h, 0, 4, q)
        files["q4-palette4.png"] = png(w, h, 3, 4, q, [(17 * v,) * 3 for v in range(16)])
        files["q4-max15.pgm"] = pnm(b"P5", w, h, 15, flat(q))
        files["q4-p2.pgm"] = pnm(b"P2", w, h, 255, [17 * v for v in flat(q)])
        # and at 1 bit
        b1 = [[1 if x >= 128 else 0 for x in r] for r in rows]
        files["q1-grey1.png"] = png(w, h, 0, 1, b1)
        files["q1-max1.pgm"] = pnm(b"P5", w, h, 1, flat(b1))
        files["q1-p5.pgm"] = pnm(b"P5", w, h, 255, [255 * v for v in flat(b1)])
        # colour whose luma is the image: random R and B, G then chosen
        # among the values that give it; the grey image goes beside it
        colour, lum = [], []
        for x in px:
            r, b = rng.randrange(256), rng.randrange(256)
            g = min(range(256), key=lambda g: abs(luma(r, g, b) - x))
            colour += [r, g, b]
            lum.append(luma(r, g, b))
        files["colour.ppm"] = pnm(b"P6", w, h, 255, colour)
        files["colour-luma.pgm"] = pnm(b"P5", w, h, 255, lum)
        for name, data in files.items():
            with open(os.path.join(d, "%d-%s" % (k, name)), "wb") as f:
                f.write(data)


def pgm(d, images_path):
    os.makedirs(d, exist_ok=True)
    images, h, w = idx_images(images_path)
    for k, px in enumerate(images):
        with open(os.path.join(d, "%d.pgm" % k), "wb") as f:
            f.write(pnm(b"P5", w, h, 255, px))


def read_p5(path):
    with open(path, "rb") as f:
        data = f.read()
    magic, w, h, maxval = data.split(None, 4)[:4]
    assert magic == b"P5" and maxval == b"255"
    w, h = int(w), int(h)
    return w, h, list(data[-w * h:])


def doubled(src, dst):
    w, h, px = read_p5(src)
    out = [px[(y // 2) * w + x // 2] for y in range(2 * h) for x in range(2 * w)]
    with open(dst, "wb") as f:
        f.write(pnm(b"P5", 2 * w, 2 * h, 255, out))


def random_image(dst, w, h, c):
    rng = random.Random(w * 1000 + h)
    px = [rng.randrange(256) for _ in range(w * h * c)]
    with open(dst, "wb") as f:
        f.write(pnm(b"P5" if c == 1 else b"P6", w, h, 255, px))


def colour(d, w, h):
    os.makedirs(d, exist_ok=True)
    rng = random.Random(9)
    rgb = [rng.randrange(256) for _ in range(w * h * 3)]
    grey = [rng.randrange(256) for _ in range(w * h)]
    files = {
        "rgb.ppm": pnm(b"P6", w, h, 255, rgb),
        "rgb.png": png(w, h, 2, 8, [rgb[y * w * 3:(y + 1) * w * 3] for y in range(h)]),
        "grey.pgm": pnm(b"P5", w, h, 255, grey),
        "grey-as-rgb.ppm": pnm(b"P6", w, h, 255, as_rgb(grey, 1)),
    }
    for name, data in files.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


def main():
    cmd = sys.argv[1]
    if cmd == "cases":
        cases(sys.argv[2])
    elif cmd == "check":
        check(sys.argv[2], sys.argv[3])
    elif cmd == "bad":
        bad(sys.argv[2])
    elif cmd == "pgm":
        pgm(sys.argv[2], sys.argv[3])
    elif cmd == "doubled":
        doubled(sys.argv[2], sys.argv[3])
    elif cmd == "colour":
        colour(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif cmd == "random":
        random_image(sys.argv[2], *(int(v) for v in sys.argv[3:6]))
    elif cmd == "idx":
        idx(sys.argv[2], sys.argv[3], [int(k) for k in sys.argv[4:]])
    else:
        sys.exit("image_files.py: unknown command " + cmd)


if __name__ == "__main__":
    main()
