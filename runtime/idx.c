/* idx.c - reading one IDX file (LeCun's MNIST format), plain or gzip.
 *
 * An IDX file is a big-endian header (magic 0x0000 0x08 D: unsigned bytes
 * in D dimensions, then D 32-bit sizes) and the bytes. Everything the
 * header promises is checked against what the file holds, and every
 * complaint names the file, because a wrong file in the data folder is the
 * likeliest mistake a user makes.
 *
 * A file that starts with gzip's magic (1f 8b) is decompressed here with
 * zlib's raw inflate, the gzip framing (RFC 1952) checked by hand: gzread
 * accepts a stream cut before its trailer, cannot say where a file goes
 * wrong, and ignores what follows the data, so corrupt pixels would train.
 * Each member's header is checked (method, reserved flags, header CRC), its
 * deflate data must end, and its 8-byte trailer (CRC-32, then the length
 * mod 2^32) must be there and match what was decompressed. Members may
 * follow one another, as gzip(1) reads `cat a.gz b.gz`, each checked the
 * same way; any other byte after the last member is an error. Offsets in
 * the messages count the compressed file's bytes from 0. */
#include "runtime.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

enum { IDX_UBYTE = 0x08, FIRST_CHUNK = 1 << 20, MAX_CHUNK = 1 << 30 };
enum { IN_BUFFER = 1 << 16 };

/* RFC 1952: ID1 ID2 CM FLG MTIME(4) XFL OS, then the optional fields */
enum {
  GZ_ID1 = 0x1f, GZ_ID2 = 0x8b, GZ_DEFLATE = 8, GZ_FIXED_HEADER = 10,
  GZ_FHCRC = 0x02, GZ_FEXTRA = 0x04, GZ_FNAME = 0x08, GZ_FCOMMENT = 0x10,
  GZ_RESERVED = 0xe0, GZ_TRAILER = 8,
};

typedef enum GzState {
  GZ_HEADER,  /* a member's header comes next */
  GZ_DATA,    /* inside its deflate data */
  GZ_BETWEEN, /* after its trailer: the end, another member, or garbage */
  GZ_END,     /* every member read and checked */
} GzState;

typedef struct Reader {
  const char *path;
  FILE *f;
  int64_t offset;    /* bytes of IDX data (decompressed) read so far */
  /* the file's bytes: z.next_in/z.avail_in is the unread part of `in`, for
   * plain files too */
  z_stream z;
  int64_t file_read; /* bytes of the file read into `in` so far */
  bool eof;
  /* gzip only */
  bool gzip, inflating; /* inflating: inflateEnd is owed */
  GzState state;
  int member;           /* from 1 */
  int64_t member_start; /* its first byte in the file */
  uint32_t crc;         /* of the member's decompressed bytes so far */
  uint64_t length;      /* how many */
  uint8_t in[IN_BUFFER];
} Reader;

static const char *kind_name(CnnIdxKind kind) {
  return kind == CNN_IDX_IMAGES ? "images" : "labels";
}

/* --- the file's bytes ---------------------------------------------------- */

/* where the next unread byte of the file is */
static int64_t file_at(const Reader *r) {
  return r->file_read - (int64_t)r->z.avail_in;
}

/* At least n (<= IN_BUFFER) unread bytes in `in`, fewer only at the end of
 * the file; false after a read error. */
static bool fill(Reader *r, size_t n) {
  while (r->z.avail_in < n && !r->eof) {
    memmove(r->in, r->z.next_in, r->z.avail_in);
    r->z.next_in = r->in;
    errno = 0;
    size_t k = fread(r->in + r->z.avail_in, 1, sizeof r->in - r->z.avail_in,
                     r->f);
    if (ferror(r->f)) {
      cnn_error("%s: cannot read after byte %" PRId64 ": %s", r->path,
                r->file_read, errno ? strerror(errno) : "read error");
      return false;
    }
    r->eof = k == 0;
    r->file_read += (int64_t)k;
    r->z.avail_in += (uInt)k;
  }
  return true;
}

/* the next byte of the file, -1 at its end, -2 after a read error */
static int next_byte(Reader *r) {
  if (!fill(r, 1))
    return -2;
  if (r->z.avail_in == 0)
    return -1;
  r->z.avail_in--;
  return *r->z.next_in++;
}

/* --- gzip ------------------------------------------------------------------ */

static bool gz_fail(const Reader *r, const char *fmt, ...) CNN_PRINTF(2, 3);
/* "f.gz: MESSAGE", or "f.gz: gzip member 2 (from byte N): MESSAGE" */
static bool gz_fail(const Reader *r, const char *fmt, ...) {
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (r->member > 1)
    cnn_error("%s: gzip member %d (from byte %" PRId64 "): %s", r->path,
              r->member, r->member_start, msg);
  else
    cnn_error("%s: %s", r->path, msg);
  return false;
}

static uint32_t little_endian(const uint8_t *b) {
  return (uint32_t)b[3] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[1] << 8 | b[0];
}

/* n bytes of a member's header, summed into its CRC (for FHCRC) */
static bool header_bytes(Reader *r, uLong *crc, uint8_t *b, size_t n) {
  for (size_t i = 0; i < n; i++) {
    int c = next_byte(r);
    if (c == -2)
      return false;
    if (c < 0)
      return gz_fail(r, "truncated gzip header: ends at byte %" PRId64,
                     r->file_read);
    b[i] = (uint8_t)c;
    *crc = crc32(*crc, b + i, 1);
  }
  return true;
}

/* FNAME and FCOMMENT: zero-terminated */
static bool skip_string(Reader *r, uLong *crc) {
  uint8_t b = 1;
  while (b != 0)
    if (!header_bytes(r, crc, &b, 1))
      return false;
  return true;
}

static bool skip_extra(Reader *r, uLong *crc) {
  uint8_t b[2];
  if (!header_bytes(r, crc, b, 2))
    return false;
  for (unsigned n = (unsigned)b[1] << 8 | b[0]; n > 0; n--)
    if (!header_bytes(r, crc, b, 1))
      return false;
  return true;
}

static bool check_header_crc(Reader *r, uLong *crc) {
  uint8_t b[2];
  int64_t at = file_at(r);
  unsigned computed = (unsigned)(*crc & 0xffff);
  if (!header_bytes(r, crc, b, 2))
    return false;
  unsigned stored = (unsigned)b[1] << 8 | b[0];
  if (stored == computed)
    return true;
  return gz_fail(r, "gzip header CRC mismatch at byte %" PRId64 " (stored "
                 "0x%04x, computed 0x%04x)", at, stored, computed);
}

/* the magic (h[0], h[1]) was seen by detect_gzip or next_member */
static bool check_fixed_header(Reader *r, const uint8_t *h) {
  if (h[2] != GZ_DEFLATE)
    return gz_fail(r, "unknown gzip compression method %d at byte %" PRId64
                   " (8, deflate, is the only one)", h[2], r->member_start + 2);
  if (h[3] & GZ_RESERVED)
    return gz_fail(r, "reserved gzip flags 0x%02x set at byte %" PRId64,
                   h[3] & GZ_RESERVED, r->member_start + 3);
  return true;
}

static bool read_header(Reader *r) {
  uLong crc = crc32(0, NULL, 0);
  uint8_t h[GZ_FIXED_HEADER];
  r->member_start = file_at(r);
  if (!header_bytes(r, &crc, h, sizeof h) || !check_fixed_header(r, h))
    return false;
  uint8_t flags = h[3];
  if ((flags & GZ_FEXTRA) && !skip_extra(r, &crc))
    return false;
  if ((flags & GZ_FNAME) && !skip_string(r, &crc))
    return false;
  if ((flags & GZ_FCOMMENT) && !skip_string(r, &crc))
    return false;
  if ((flags & GZ_FHCRC) && !check_header_crc(r, &crc))
    return false;
  r->crc = (uint32_t)crc32(0, NULL, 0);
  r->length = 0;
  r->state = GZ_DATA;
  return true;
}

static bool check_trailer(Reader *r, const uint8_t *t, int64_t at) {
  uint32_t crc = little_endian(t), length = little_endian(t + 4);
  if (crc != r->crc)
    return gz_fail(r, "CRC mismatch in the gzip trailer at byte %" PRId64
                   " (stored 0x%08" PRIx32 ", computed 0x%08" PRIx32 ")", at,
                   crc, r->crc);
  if (length == (uint32_t)r->length)
    return true;
  return gz_fail(r, "length in trailer %" PRIu32 " != %" PRIu64 " bytes "
                 "decompressed%s (trailer at byte %" PRId64 ")", length,
                 r->length, r->length >> 32 ? ", not even mod 2^32" : "", at);
}

static bool read_trailer(Reader *r) {
  uint8_t t[GZ_TRAILER];
  int64_t at = file_at(r);
  for (int i = 0; i < GZ_TRAILER; i++) {
    int c = next_byte(r);
    if (c == -2)
      return false;
    if (c < 0 && i == 0)
      return gz_fail(r, "truncated gzip stream: ends at byte %" PRId64
                     " before its 8-byte trailer", at);
    if (c < 0)
      return gz_fail(r, "truncated gzip stream: ends at byte %" PRId64
                     ", %d bytes into its 8-byte trailer", at + i, i);
    t[i] = (uint8_t)c;
  }
  r->state = GZ_BETWEEN;
  return check_trailer(r, t, at);
}

/* What follows a member: nothing, another member, or garbage (counted to
 * the end of the file, to say how much). */
static bool next_member(Reader *r) {
  int64_t at = file_at(r);
  if (!fill(r, 2))
    return false;
  if (r->z.avail_in == 0) {
    r->state = GZ_END;
    return true;
  }
  if (r->z.avail_in >= 2 && r->z.next_in[0] == GZ_ID1 &&
      r->z.next_in[1] == GZ_ID2) {
    r->member++;
    r->state = GZ_HEADER;
    return inflateReset(&r->z) == Z_OK ||
           gz_fail(r, "cannot restart zlib's inflate");
  }
  do
    r->z.avail_in = 0;
  while (fill(r, 1) && r->z.avail_in > 0);
  if (!r->eof)
    return false;
  return gz_fail(r, "%" PRId64 " bytes of trailing garbage after the gzip "
                 "data at byte %" PRId64, r->file_read - at, at);
}

/* Decompresses into buf[*got .. n), as far as one call of inflate goes. */
static bool inflate_some(Reader *r, uint8_t *buf, size_t n, size_t *got) {
  if (!fill(r, 1))
    return false;
  if (r->z.avail_in == 0)
    return gz_fail(r, "truncated gzip stream: ends at byte %" PRId64 " inside"
                   " the compressed data, before its 8-byte trailer",
                   r->file_read);
  size_t room = n - *got;
  r->z.next_out = buf + *got;
  r->z.avail_out = (uInt)(room < MAX_CHUNK ? room : MAX_CHUNK);
  int rc = inflate(&r->z, Z_NO_FLUSH);
  size_t k = (size_t)(r->z.next_out - (buf + *got));
  r->crc = (uint32_t)crc32(r->crc, buf + *got, (uInt)k);
  r->length += k;
  *got += k;
  if (rc == Z_STREAM_END)
    return read_trailer(r);
  if (rc == Z_OK || rc == Z_BUF_ERROR) /* progress made; more to come */
    return true;
  if (rc == Z_MEM_ERROR)
    return gz_fail(r, "out of memory in zlib's inflate");
  /* zlib reads a few bytes ahead: the fault is at or shortly before this */
  return gz_fail(r, "corrupt deflate data near byte %" PRId64 ": %s",
                 file_at(r), r->z.msg ? r->z.msg : "zlib error");
}

static bool gz_read(Reader *r, uint8_t *buf, size_t n, size_t *got) {
  bool ok = true;
  while (ok && *got < n && r->state != GZ_END)
    switch (r->state) {
    case GZ_HEADER: ok = read_header(r); break;
    case GZ_DATA: ok = inflate_some(r, buf, n, got); break;
    case GZ_BETWEEN: ok = next_member(r); break;
    case GZ_END: break;
    }
  return ok;
}

static bool plain_read(Reader *r, uint8_t *buf, size_t n, size_t *got) {
  while (*got < n) {
    if (!fill(r, 1))
      return false;
    if (r->z.avail_in == 0)
      break;
    size_t k = n - *got < r->z.avail_in ? n - *got : r->z.avail_in;
    memcpy(buf + *got, r->z.next_in, k);
    r->z.next_in += k;
    r->z.avail_in -= (uInt)k;
    *got += k;
  }
  return true;
}

/* The kind is told by the first two bytes, not by the name: a plain file
 * named .gz reads as plain (its IDX magic then says what it is). */
static bool detect_gzip(Reader *r) {
  r->z.next_in = r->in;
  if (!fill(r, 2))
    return false;
  r->gzip = r->z.avail_in >= 2 && r->in[0] == GZ_ID1 && r->in[1] == GZ_ID2;
  if (!r->gzip)
    return true;
  r->member = 1;
  r->state = GZ_HEADER;
  if (inflateInit2(&r->z, -MAX_WBITS) == Z_OK) { /* raw deflate */
    r->inflating = true;
    return true;
  }
  cnn_error("%s: cannot start zlib's inflate: out of memory", r->path);
  return false;
}

/* --- the IDX data ---------------------------------------------------------- */

/* Reads up to n bytes; a short count means the end of the data. */
static bool read_some(Reader *r, void *buf, size_t n, size_t *got) {
  *got = 0; /* set on every path: gcc -O3 cannot see it otherwise */
  bool ok = r->gzip ? gz_read(r, buf, n, got) : plain_read(r, buf, n, got);
  r->offset += (int64_t)*got;
  return ok;
}

static uint32_t big_endian(const uint8_t *b) {
  return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static const char *magic_hint(uint32_t magic) {
  if (magic == 0x00000801)
    return " (this is a labels file)";
  if (magic == 0x00000803)
    return " (this is an images file)";
  if ((magic & 0xffffff00) == 0x00000800)
    return " (an IDX file with other dimensions)";
  if ((magic & 0xffff0000) == 0x1f8b0000)
    return " (gzip data inside the gzip data?)";
  return " (not an IDX file)";
}

static bool read_magic(Reader *r, CnnIdxKind kind) {
  uint8_t b[4];
  size_t got;
  if (!read_some(r, b, 4, &got))
    return false;
  if (got < 4) {
    cnn_error("%s: truncated: %zu bytes, too short for an IDX header", r->path,
              got);
    return false;
  }
  uint32_t magic = big_endian(b), want = (uint32_t)IDX_UBYTE << 8 | kind;
  if (magic == want)
    return true;
  cnn_error("%s: bad magic number 0x%08" PRIx32 ", expected 0x%08" PRIx32
            " for %s%s", r->path, magic, want, kind_name(kind), magic_hint(magic));
  return false;
}

static bool read_sizes(Reader *r, CnnIdxKind kind, int64_t sizes[3]) {
  uint8_t b[12];
  size_t want = 4 * (size_t)kind, got;
  if (!read_some(r, b, want, &got))
    return false;
  if (got < want) {
    cnn_error("%s: truncated: %" PRId64 " bytes, too short for the %zu-byte "
              "header of an IDX %s file", r->path, r->offset, 4 + want,
              kind_name(kind));
    return false;
  }
  for (int i = 0; i < 3; i++)
    sizes[i] = i < (int)kind ? big_endian(b + 4 * i) : 1;
  return true;
}

/* "60000 images of 28x28 (47040016 bytes)" or "60000 labels (60008 bytes)" */
static void describe(const CnnIdx *x, CnnIdxKind kind, int64_t header,
                     char *buf, size_t n) {
  uint64_t total = (uint64_t)header + (uint64_t)x->count *
                   (uint64_t)x->rows * (uint64_t)x->cols;
  if (kind == CNN_IDX_IMAGES)
    snprintf(buf, n, "%" PRId64 " images of %" PRId64 "x%" PRId64 " (%" PRIu64
             " bytes)", x->count, x->rows, x->cols, total);
  else
    snprintf(buf, n, "%" PRId64 " labels (%" PRIu64 " bytes)", x->count, total);
}

static const char *decompressed(const Reader *r) {
  return r->gzip ? " decompressed" : "";
}

static size_t grow(size_t cap, size_t want) {
  if (cap == 0)
    return want < FIRST_CHUNK ? want : FIRST_CHUNK;
  return cap > want / 2 ? want : cap * 2;
}

/* The buffer grows as the bytes arrive rather than trusting the header, so
 * that a corrupt header cannot ask for terabytes of memory up front. */
static bool read_data(Reader *r, uint8_t **data, size_t want, size_t *got) {
  size_t cap = 0;
  *got = 0;
  while (*got < want) {
    if (*got == cap) {
      cap = grow(cap, want);
      uint8_t *p = realloc(*data, cap);
      if (!p) {
        cnn_error("%s: out of memory reading %zu bytes", r->path, want);
        return false;
      }
      *data = p;
    }
    size_t ask = cap - *got < MAX_CHUNK ? cap - *got : MAX_CHUNK, k;
    if (!read_some(r, *data + *got, ask, &k))
      return false;
    if (k == 0)
      break;
    *got += k;
  }
  return true;
}

/* Reads to the end, which for gzip also checks the last member's trailer
 * and that nothing but members follows. */
static bool count_trailing(Reader *r, int64_t *extra) {
  uint8_t buf[4096];
  size_t k;
  *extra = 0;
  do {
    if (!read_some(r, buf, sizeof buf, &k))
      return false;
    *extra += (int64_t)k;
  } while (k > 0);
  return true;
}

static bool data_size(const Reader *r, const CnnIdx *x, size_t *size) {
  uint64_t n = (uint64_t)x->count * (uint64_t)x->rows; /* < 2^64 */
  if (x->cols != 0 && n > (PTRDIFF_MAX - 16) / (uint64_t)x->cols) {
    cnn_error("%s: the header's sizes %" PRId64 " x %" PRId64 " x %" PRId64
              " are impossibly large", r->path, x->count, x->rows, x->cols);
    return false;
  }
  *size = (size_t)(n * (uint64_t)x->cols);
  return true;
}

static bool read_body(Reader *r, CnnIdxKind kind, CnnIdx *x) {
  int64_t header = r->offset, extra;
  size_t want, got;
  char what[128];
  if (!data_size(r, x, &want) || !read_data(r, &x->data, want, &got))
    return false;
  describe(x, kind, header, what, sizeof what);
  if (got < want) {
    cnn_error("%s: truncated: header says %s, file has %" PRId64 "%s bytes",
              r->path, what, r->offset, decompressed(r));
    return false;
  }
  if (!count_trailing(r, &extra))
    return false;
  if (extra == 0)
    return true;
  cnn_error("%s: %" PRId64 " bytes of trailing data: header says %s, file has "
            "%" PRId64 "%s bytes", r->path, extra, what, r->offset, decompressed(r));
  return false;
}

static bool read_file(Reader *r, CnnIdxKind kind, CnnIdx *x) {
  int64_t sizes[3];
  if (!detect_gzip(r) || !read_magic(r, kind) || !read_sizes(r, kind, sizes))
    return false;
  x->count = sizes[0];
  x->rows = sizes[1];
  x->cols = sizes[2];
  return read_body(r, kind, x);
}

bool cnn_idx_read(const char *path, CnnIdxKind kind, CnnIdx *out) {
  *out = (CnnIdx){0};
  Reader *r = calloc(1, sizeof *r); /* 64 KiB of input buffer */
  if (!r) {
    cnn_error("%s: out of memory", path);
    return false;
  }
  r->path = path;
  r->f = cnn_open_read(path);
  bool ok = r->f && read_file(r, kind, out);
  if (r->inflating)
    inflateEnd(&r->z);
  if (r->f)
    fclose(r->f);
  free(r);
  if (!ok)
    cnn_idx_free(out);
  return ok;
}

void cnn_idx_free(CnnIdx *idx) {
  free(idx->data);
  *idx = (CnnIdx){0};
}
