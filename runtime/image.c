/* image.c - one image file as bytes: PNG through libpng, PGM and PPM (the
 * Netpbm formats P2, P3, P5, P6) read here.
 *
 * The file is read whole into memory and its first bytes say what it is,
 * whatever its name. Every image comes out as 8-bit grey or 8-bit RGB,
 * HWC: PNG palettes are expanded, 1/2/4-bit grey scaled to 8 bits (1 is
 * 255), alpha dropped (not composited: PIL's convert('RGB') does the same),
 * gamma ignored (the samples as stored), 16-bit samples scaled with
 * libpng's png_set_scale_16, round(v * 255 / 65535). A PGM/PPM sample v of
 * maxval M becomes round(v * 255 / M) the same way, so a 16-bit PGM and a
 * 16-bit PNG of the same samples give the same bytes.
 *
 * Netpbm files are checked strictly (its spec, netpbm.sourceforge.net):
 * magic, width, height and maxval (1 to 65535) separated by whitespace and
 * '#' comments (which run to the end of the line), one whitespace byte
 * before a binary raster, big-endian 2-byte samples when maxval > 255, no
 * sample above maxval, and nothing after the raster but (in the plain
 * formats) whitespace and comments. Errors say the byte and the line.
 *
 * No allocation is larger than the file can justify: a binary raster must
 * be in the file, a plain one needs 2 bytes a sample, and a PNG's pixels
 * cannot be more than 1032 times its size (deflate's largest ratio). So a
 * small hostile file cannot make the reader ask for gigabytes. */
#include "runtime.h"

#include <errno.h>
#include <inttypes.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

enum {
  MAX_FILE = 1 << 30,    /* bytes of an image file */
  MAX_SAMPLES = 1 << 28, /* h * w * c of a decoded image */
  MAX_SIDE = 1 << 20,    /* width or height */
  DEFLATE_RATIO = 1032,  /* the most deflate expands: 258 bytes for 2 bits */
  CHUNK_SLACK = 1 << 16, /* a kept chunk's bytes beyond the file's size */
  MAX_CHUNKS = 256,      /* ancillary chunks kept (text, sPLT...) */
};

void cnn_image_free(CnnImage *img) {
  free(img->pixels);
  *img = (CnnImage){0};
}

/* h * w * c bytes for out, after checking that they are not too many */
static bool allocate(const char *name, int64_t h, int64_t w, int64_t c,
                     CnnImage *out) {
  if (h * w * c > MAX_SAMPLES) {
    cnn_error("%s: %" PRId64 "x%" PRId64 " pixels of %" PRId64 " channel%s: "
              "more than the %d samples an image may have", name, w, h, c,
              c == 1 ? "" : "s", MAX_SAMPLES);
    return false;
  }
  out->pixels = malloc((size_t)(h * w * c));
  if (!out->pixels) {
    cnn_error("%s: out of memory for %" PRId64 "x%" PRId64 " pixels", name, w,
              h);
    return false;
  }
  out->h = h, out->w = w, out->c = c;
  return true;
}

/* round(v * 255 / maxval): v <= maxval <= 65535 */
static uint8_t to_byte(uint32_t v, uint32_t maxval) {
  return (uint8_t)((v * 255 + maxval / 2) / maxval);
}

/* --- PGM and PPM ----------------------------------------------------------- */

typedef struct Pnm {
  const char *name;
  const uint8_t *p;
  size_t size, at; /* at: the next byte */
} Pnm;

static bool is_space(uint8_t b) {
  return b == ' ' || b == '\t' || b == '\n' || b == '\v' || b == '\f' ||
         b == '\r';
}

static int64_t line_of(const Pnm *f, size_t at) {
  int64_t line = 1;
  for (size_t i = 0; i < at && i < f->size; i++)
    line += f->p[i] == '\n';
  return line;
}

/* "'x'", "byte 0x07" or "the end of the file", what is at `at` */
static const char *found(const Pnm *f, size_t at, char *buf, size_t cap) {
  if (at >= f->size)
    snprintf(buf, cap, "the end of the file");
  else if (f->p[at] > ' ' && f->p[at] < 127)
    snprintf(buf, cap, "'%c'", f->p[at]);
  else
    snprintf(buf, cap, "byte 0x%02x", f->p[at]);
  return buf;
}

static bool expected(const Pnm *f, const char *what) {
  char buf[32];
  cnn_error("%s: expected %s at byte %zu (line %" PRId64 "), found %s",
            f->name, what, f->at, line_of(f, f->at),
            found(f, f->at, buf, sizeof buf));
  return false;
}

/* whitespace and comments; a comment runs to the next CR or LF */
static void skip_blanks(Pnm *f) {
  while (f->at < f->size) {
    if (f->p[f->at] == '#')
      while (f->at < f->size && f->p[f->at] != '\n' && f->p[f->at] != '\r')
        f->at++;
    else if (is_space(f->p[f->at]))
      f->at++;
    else
      return;
  }
}

/* A decimal number of at most `max` after blanks; `what` names it, *start
 * is where it starts. */
static bool number(Pnm *f, const char *what, uint32_t max, uint32_t *out,
                   size_t *start_out) {
  skip_blanks(f);
  if (f->at >= f->size || f->p[f->at] < '0' || f->p[f->at] > '9')
    return expected(f, what);
  size_t start = *start_out = f->at;
  uint64_t v = 0;
  for (; f->at < f->size && f->p[f->at] >= '0' && f->p[f->at] <= '9'; f->at++)
    if ((v = v * 10 + (f->p[f->at] - '0')) > max) {
      cnn_error("%s: %s at byte %zu (line %" PRId64 ") is above %" PRIu32,
                f->name, what, start, line_of(f, start), max);
      return false;
    }
  *out = (uint32_t)v;
  return true;
}

typedef struct PnmHeader {
  bool plain;    /* P2, P3: decimal samples */
  int c;         /* 1 (PGM) or 3 (PPM) */
  uint32_t w, h, maxval;
} PnmHeader;

/* the width, height or maxval, from 1 to max */
static bool field(Pnm *f, const char *what, uint32_t max, uint32_t *out) {
  size_t at;
  char name[32];
  snprintf(name, sizeof name, "the %s", what);
  if (!number(f, name, max, out, &at))
    return false;
  if (*out > 0)
    return true;
  cnn_error("%s: the %s at byte %zu (line %" PRId64 ") is 0", f->name, what,
            at, line_of(f, at));
  return false;
}

static bool pnm_header(Pnm *f, PnmHeader *h) {
  uint8_t kind = f->p[1]; /* the caller checked "P2", "P3", "P5" or "P6" */
  h->plain = kind == '2' || kind == '3';
  h->c = kind == '3' || kind == '6' ? 3 : 1;
  f->at = 2;
  if (f->at < f->size && !is_space(f->p[f->at]) && f->p[f->at] != '#')
    return expected(f, "whitespace after the magic number");
  if (!field(f, "width", MAX_SIDE, &h->w) ||
      !field(f, "height", MAX_SIDE, &h->h) ||
      !field(f, "maxval", 65535, &h->maxval))
    return false;
  /* the one whitespace byte that ends the header */
  if (f->at >= f->size || !is_space(f->p[f->at]))
    return expected(f, "one whitespace byte after the maxval");
  f->at++;
  return true;
}

/* "row 3, column 7" of sample i */
static void where(const PnmHeader *h, int64_t i, char *buf, size_t cap) {
  int64_t px = i / h->c;
  snprintf(buf, cap, "row %" PRId64 ", column %" PRId64 "%s", px / h->w,
           px % h->w,
           h->c == 1 ? "" : i % 3 == 0 ? ", red" : i % 3 == 1 ? ", green"
                                                             : ", blue");
}

static bool above_maxval(const Pnm *f, const PnmHeader *h, int64_t i,
                         uint32_t v, size_t at) {
  char buf[80];
  where(h, i, buf, sizeof buf);
  cnn_error("%s: the sample at byte %zu (%s) is %" PRIu32 ", above the "
            "maxval %" PRIu32, f->name, at, buf, v, h->maxval);
  return false;
}

static bool binary_raster(Pnm *f, const PnmHeader *h, int64_t n,
                          uint8_t *px) {
  int bytes = h->maxval > 255 ? 2 : 1;
  for (int64_t i = 0; i < n; i++) {
    const uint8_t *s = f->p + f->at + i * bytes;
    uint32_t v = bytes == 2 ? (uint32_t)s[0] << 8 | s[1] : s[0];
    if (v > h->maxval)
      return above_maxval(f, h, i, v, f->at + (size_t)(i * bytes));
    px[i] = to_byte(v, h->maxval);
  }
  return true;
}

static bool plain_raster(Pnm *f, const PnmHeader *h, int64_t n, uint8_t *px) {
  for (int64_t i = 0; i < n; i++) {
    skip_blanks(f);
    if (f->at >= f->size) {
      char buf[80];
      where(h, i, buf, sizeof buf);
      cnn_error("%s: truncated: the file ends (byte %zu) before sample %"
                PRId64 " of %" PRId64 " (%s)", f->name, f->size, i + 1, n,
                buf);
      return false;
    }
    size_t at;
    uint32_t v;
    if (!number(f, "a sample", 65535, &v, &at))
      return false;
    if (v > h->maxval)
      return above_maxval(f, h, i, v, at);
    px[i] = to_byte(v, h->maxval);
  }
  skip_blanks(f);
  if (f->at < f->size)
    return expected(f, "the end of the file after the last sample");
  return true;
}

/* Before allocating: a binary raster is exactly the rest of the file; a
 * plain sample takes a digit and a separator (the last none). */
static bool raster_fits(const Pnm *f, const PnmHeader *h, int64_t n) {
  uint64_t have = f->size - f->at;
  const char *kind = h->c == 1 ? "PGM" : "PPM";
  if (h->plain) {
    if ((uint64_t)n <= (have + 1) / 2)
      return true;
    cnn_error("%s: truncated: the %" PRIu32 "x%" PRIu32 " %s needs %" PRId64
              " samples; the %" PRIu64 " bytes after its header hold at most %"
              PRIu64, f->name, h->w, h->h, kind, n, have, (have + 1) / 2);
    return false;
  }
  int bytes = h->maxval > 255 ? 2 : 1;
  uint64_t need = (uint64_t)n * (uint64_t)bytes;
  if (have == need)
    return true;
  if (have < need)
    cnn_error("%s: truncated: the %" PRIu32 "x%" PRIu32 " %s's raster (%d "
              "byte%s a sample) needs %" PRIu64 " bytes after the header, "
              "which ends at byte %zu; the file has %" PRIu64, f->name, h->w,
              h->h, kind, bytes, bytes == 1 ? "" : "s", need, f->at, have);
  else
    cnn_error("%s: %" PRIu64 " bytes after the end of the image (byte %"
              PRIu64 "): a file holds one image", f->name, have - need,
              f->at + need);
  return false;
}

static bool decode_pnm(const char *name, const uint8_t *data, size_t size,
                       CnnImage *out) {
  Pnm f = {name, data, size, 0};
  PnmHeader h;
  if (!pnm_header(&f, &h))
    return false;
  int64_t n = (int64_t)h.w * h.h * h.c;
  if (!raster_fits(&f, &h, n) || !allocate(name, h.h, h.w, h.c, out))
    return false;
  out->format = h.c == 1 ? "PGM" : "PPM";
  bool ok = h.plain ? plain_raster(&f, &h, n, out->pixels)
                    : binary_raster(&f, &h, n, out->pixels);
  if (!ok)
    cnn_image_free(out);
  return ok;
}

/* --- PNG ----------------------------------------------------------------------- */

typedef struct PngSource {
  const uint8_t *data;
  size_t size, at;
  char message[160]; /* what went wrong, for the error */
  char warning[120];  /* libpng's last warning */
} PngSource;

static void png_read_bytes(png_structp png, png_bytep out, size_t n) {
  PngSource *s = png_get_io_ptr(png);
  if (n > s->size - s->at) {
    snprintf(s->message, sizeof s->message, "truncated: the file ends at "
             "byte %zu, inside a chunk", s->size);
    png_longjmp(png, 1);
  }
  memcpy(out, s->data + s->at, n);
  s->at += n;
}

/* libpng says what is wrong with a header in warnings, then errs with
 * "Invalid IHDR data": the message has both. */
static void png_on_error(png_structp png, png_const_charp msg) {
  PngSource *s = png_get_error_ptr(png);
  bool ihdr = strcmp(msg, "Invalid IHDR data") == 0 && s->warning[0];
  snprintf(s->message, sizeof s->message, "%s%s%s%s", msg, ihdr ? " (" : "",
           ihdr ? s->warning : "", ihdr ? ")" : "");
  png_longjmp(png, 1);
}

/* Otherwise warnings are benign problems (an ancillary chunk's CRC, which
 * libpng then skips) that do not change the pixels. */
static void png_on_warning(png_structp png, png_const_charp msg) {
  PngSource *s = png_get_error_ptr(png);
  snprintf(s->warning, sizeof s->warning, "%s", msg);
}

/* After png_read_info: 8-bit grey or RGB out, whatever is in. */
static void png_transforms(png_structp png, png_infop info) {
  int type = png_get_color_type(png, info);
  int depth = png_get_bit_depth(png, info);
  if (type == PNG_COLOR_TYPE_PALETTE)
    png_set_palette_to_rgb(png); /* which makes tRNS an alpha channel */
  if (type == PNG_COLOR_TYPE_GRAY && depth < 8)
    png_set_expand_gray_1_2_4_to_8(png);
  if (depth == 16)
    png_set_scale_16(png);
  if ((type & PNG_COLOR_MASK_ALPHA) || png_get_valid(png, info, PNG_INFO_tRNS))
    png_set_strip_alpha(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
}

/* The pixels cannot be more than deflate can make of the file's bytes
 * (rows of the file's samples, a filter byte each). */
static bool png_size_possible(const char *name, png_structp png,
                              png_infop info, size_t size) {
  uint64_t w = png_get_image_width(png, info);
  uint64_t h = png_get_image_height(png, info);
  uint64_t bits = (uint64_t)png_get_channels(png, info) *
                  png_get_bit_depth(png, info);
  uint64_t raw = h * (1 + (w * bits + 7) / 8);
  if (raw / DEFLATE_RATIO <= size)
    return true;
  cnn_error("%s: truncated or corrupt: a %" PRIu64 "x%" PRIu64 " PNG needs "
            "more than its %zu bytes hold", name, w, h, size);
  return false;
}

typedef struct PngRead {
  png_structp png;
  png_infop info;
  png_bytep *rows;
} PngRead;

/* The part that libpng may leave by longjmp; returns false only for the
 * errors it reports itself (the caller reports libpng's). */
static bool png_decode_rows(const char *name, PngRead *r, PngSource *src,
                            CnnImage *out) {
  png_set_read_fn(r->png, src, png_read_bytes);
  png_set_user_limits(r->png, MAX_SIDE, MAX_SIDE);
  /* png_chunks_fit bounds a chunk by the file; this bounds what a
   * compressed one (zTXt, iTXt, iCCP) may decompress to, and how many
   * ancillary chunks libpng keeps. */
  png_set_chunk_malloc_max(r->png, src->size + CHUNK_SLACK);
  png_set_chunk_cache_max(r->png, MAX_CHUNKS);
#ifdef CNN_IMAGE_FUZZ /* test/Fuzz/fuzz_image.c: past the checksums */
  png_set_crc_action(r->png, PNG_CRC_QUIET_USE, PNG_CRC_QUIET_USE);
  png_set_option(r->png, PNG_IGNORE_ADLER32, PNG_OPTION_ON);
#endif
  png_read_info(r->png, r->info);
  if (!png_size_possible(name, r->png, r->info, src->size))
    return false;
  png_transforms(r->png, r->info);
  int64_t w = png_get_image_width(r->png, r->info);
  int64_t h = png_get_image_height(r->png, r->info);
  int64_t c = png_get_channels(r->png, r->info);
  if ((c != 1 && c != 3) || png_get_rowbytes(r->png, r->info) != (size_t)(w * c)) {
    cnn_error("%s: libpng gives %" PRId64 " channels of %zu bytes a row, not "
              "8-bit grey or RGB (a bug in cnnrt's use of it)", name, c,
              png_get_rowbytes(r->png, r->info));
    return false;
  }
  if (!allocate(name, h, w, c, out))
    return false;
  out->format = "PNG";
  r->rows = malloc((size_t)h * sizeof *r->rows);
  if (!r->rows) {
    cnn_error("%s: out of memory", name);
    return false;
  }
  for (int64_t y = 0; y < h; y++)
    r->rows[y] = out->pixels + y * w * c;
  png_read_image(r->png, r->rows);
  png_read_end(r->png, NULL); /* up to IEND, every CRC checked */
  return true;
}

/* The longjmp target. It changes no local of its own between setjmp and
 * longjmp (what changes is the caller's), so none is indeterminate after. */
static bool png_guarded(const char *name, PngRead *r, PngSource *src,
                        CnnImage *out) {
  if (setjmp(png_jmpbuf(r->png)) == 0)
    return png_decode_rows(name, r, src, out);
  cnn_error("%s: not a valid PNG: %s", name, src->message);
  return false;
}

/* Every chunk's length against the bytes that follow it, before libpng
 * reads any: libpng allocates what a chunk's length says before it reads
 * the chunk (a 100-byte file whose tEXt chunk claims 150 MB made it
 * allocate 150 MB, found by fuzz_image), so that no allocation of the
 * reader exceeds the file. The end, IEND and the CRCs are libpng's to
 * check. */
static bool png_chunks_fit(const char *name, const uint8_t *data,
                           size_t size) {
  for (size_t at = 8; size - at >= 8;) {
    const uint8_t *c = data + at;
    uint64_t length = (uint64_t)c[0] << 24 | c[1] << 16 | c[2] << 8 | c[3];
    if (length + 4 > size - at - 8) {
      cnn_error("%s: not a valid PNG: truncated: the file ends at byte %zu, "
                "inside a chunk", name, size);
      return false;
    }
    if (memcmp(c + 4, "IEND", 4) == 0)
      break;
    at += 12 + (size_t)length;
  }
  return true;
}

static bool decode_png(const char *name, const uint8_t *data, size_t size,
                       CnnImage *out) {
  if (!png_chunks_fit(name, data, size))
    return false;
  PngSource src = {data, size, 0, "", ""};
  PngRead r = {0};
  r.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, png_on_error,
                                 png_on_warning);
  r.info = r.png ? png_create_info_struct(r.png) : NULL;
  if (!r.info) {
    png_destroy_read_struct(&r.png, NULL, NULL);
    cnn_error("%s: out of memory for libpng", name);
    return false;
  }
  bool ok = png_guarded(name, &r, &src, out);
  free(r.rows);
  png_destroy_read_struct(&r.png, &r.info, NULL);
  if (!ok)
    cnn_image_free(out);
  return ok;
}

/* --- which format ------------------------------------------------------------ */

static bool starts(const uint8_t *data, size_t size, const char *magic,
                   size_t n) {
  return size >= n && memcmp(data, magic, n) == 0;
}

/* Formats this reader does not take, by their first bytes. */
static const char *other_format(const uint8_t *d, size_t n) {
  if (starts(d, n, "\xff\xd8\xff", 3))
    return "a JPEG file";
  if (starts(d, n, "GIF8", 4))
    return "a GIF file";
  if (starts(d, n, "BM", 2))
    return "a BMP file";
  if (starts(d, n, "RIFF", 4) && n >= 12 && memcmp(d + 8, "WEBP", 4) == 0)
    return "a WebP file";
  if (starts(d, n, "II*\0", 4) || starts(d, n, "MM\0*", 4))
    return "a TIFF file";
  if (starts(d, n, "P1", 2) || starts(d, n, "P4", 2))
    return "a PBM bitmap (P1/P4)";
  if (starts(d, n, "P7", 2))
    return "a PAM file (P7)";
  return NULL;
}

/* The first 4 bytes as C would write them: "GIF8", "\x00\x01" */
static const char *first_bytes(const uint8_t *d, size_t n, char *buf,
                               size_t cap) {
  size_t len = 0;
  for (size_t i = 0; i < n && i < 4; i++)
    len += (size_t)snprintf(buf + len, cap - len,
                            d[i] >= ' ' && d[i] < 127 && d[i] != '"' &&
                                    d[i] != '\\' ? "%c" : "\\x%02x", d[i]);
  return buf;
}

bool cnn_image_decode(const char *name, const uint8_t *data, size_t size,
                      CnnImage *out) {
  *out = (CnnImage){0};
  if (size == 0) {
    cnn_error("%s: the file is empty", name);
    return false;
  }
  if (starts(data, size, "\x89PNG\r\n\x1a\n", 8))
    return decode_png(name, data, size, out);
  if (size >= 2 && data[0] == 'P' && data[1] && strchr("2356", data[1]))
    return decode_pnm(name, data, size, out);
  const char *other = other_format(data, size);
  if (other)
    cnn_error("%s: %s; images are read from PNG, PGM or PPM files (convert "
              "it to one)", name, other);
  else
    cnn_error("%s: not a PNG, PGM or PPM file (it starts with \"%s\")", name,
              first_bytes(data, size, (char[48]){0}, 48));
  return false;
}

/* --- the file ------------------------------------------------------------------ */

/* The whole file, of any kind (a pipe too): NULL after an error. */
static uint8_t *slurp(const char *path, size_t *size) {
  FILE *f = cnn_open_read(path);
  if (!f)
    return NULL;
  /* up to one byte more than the largest file, to see that it is larger */
  size_t cap = 1 << 16, n = 0;
  uint8_t *buf = malloc(cap);
  while (buf && (n += fread(buf + n, 1, cap - n, f)) == cap && n <= MAX_FILE) {
    cap = cap * 2 > MAX_FILE ? (size_t)MAX_FILE + 1 : cap * 2;
    uint8_t *grown = realloc(buf, cap);
    if (!grown)
      free(buf);
    buf = grown;
  }
  bool failed = buf && ferror(f);
  int err = errno;
  fclose(f);
  if (!buf)
    cnn_error("%s: out of memory for the file", path);
  else if (failed)
    cnn_error("%s: cannot read: %s", path, strerror(err));
  else if (n > MAX_FILE)
    cnn_error("%s: larger than %d bytes, too large for an image", path,
              MAX_FILE);
  if (!buf || failed || n > MAX_FILE) {
    free(buf);
    return NULL;
  }
  *size = n;
  return buf;
}

bool cnn_image_read(const char *path, CnnImage *out) {
  *out = (CnnImage){0};
  size_t size;
  uint8_t *data = slurp(path, &size);
  if (!data)
    return false;
  bool ok = cnn_image_decode(path, data, size, out);
  free(data);
  return ok;
}
