/* idx.c - reading one IDX file (LeCun's MNIST format), plain or gzip.
 *
 * zlib's gzread reads both: a file without the gzip magic passes through
 * unchanged. An IDX file is a big-endian header (magic 0x0000 0x08 D: unsigned
 * bytes in D dimensions, then D 32-bit sizes) and the bytes. Everything the
 * header promises is checked against what the file holds, and every
 * complaint names the file, because a wrong file in the data folder is the
 * likeliest mistake a user makes. */
#include "runtime.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

enum { IDX_UBYTE = 0x08, FIRST_CHUNK = 1 << 20, MAX_CHUNK = 1 << 30 };

typedef struct Reader {
  const char *path;
  gzFile gz;
  int64_t offset; /* bytes read so far, header included */
} Reader;

static const char *kind_name(CnnIdxKind kind) {
  return kind == CNN_IDX_IMAGES ? "images" : "labels";
}

/* zlib's message repeats the path ("f.gz: incorrect data check") */
static const char *zlib_message(const Reader *r) {
  int err;
  const char *msg = gzerror(r->gz, &err);
  size_t len = strlen(r->path);
  if (err == Z_ERRNO)
    return strerror(errno);
  if (!strncmp(msg, r->path, len) && !strncmp(msg + len, ": ", 2))
    return msg + len + 2;
  return msg;
}

/* Reads up to n bytes; a short count means the end of the data. */
static bool read_some(Reader *r, void *buf, size_t n, size_t *got) {
  *got = 0; /* set on every path: gcc -O3 cannot see it otherwise */
  int k = gzread(r->gz, buf, (unsigned)n);
  if (k < 0) {
    cnn_error("%s: cannot read after byte %" PRId64 ": %s", r->path, r->offset,
              zlib_message(r));
    return false;
  }
  *got = (size_t)k;
  r->offset += k;
  return true;
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
  return gzdirect(r->gz) ? "" : " decompressed";
}

/* gzread reports a gzip stream that stops early as a plain end of data;
 * only gzerror tells it from a complete one. */
static const char *stream_cut(Reader *r) {
  int err;
  gzerror(r->gz, &err);
  return err == Z_BUF_ERROR ? " (the gzip stream is cut short)" : "";
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
    cnn_error("%s: truncated: header says %s, file has %" PRId64 "%s bytes%s",
              r->path, what, r->offset, decompressed(r), stream_cut(r));
    return false;
  }
  if (!count_trailing(r, &extra))
    return false;
  if (extra == 0 && *stream_cut(r)) {
    cnn_error("%s: truncated%s", r->path, stream_cut(r));
    return false;
  }
  if (extra == 0)
    return true;
  cnn_error("%s: %" PRId64 " bytes of trailing data: header says %s, file has "
            "%" PRId64 "%s bytes", r->path, extra, what, r->offset, decompressed(r));
  return false;
}

static bool read_file(Reader *r, CnnIdxKind kind, CnnIdx *x) {
  int64_t sizes[3];
  if (!read_magic(r, kind) || !read_sizes(r, kind, sizes))
    return false;
  x->count = sizes[0];
  x->rows = sizes[1];
  x->cols = sizes[2];
  return read_body(r, kind, x);
}

bool cnn_idx_read(const char *path, CnnIdxKind kind, CnnIdx *out) {
  *out = (CnnIdx){0};
  errno = 0;
  Reader r = {path, gzopen(path, "rb"), 0};
  if (!r.gz) {
    cnn_error("%s: cannot open: %s", path,
              errno ? strerror(errno) : "out of memory");
    return false;
  }
  bool ok = read_file(&r, kind, out);
  gzclose(r.gz);
  if (!ok)
    cnn_idx_free(out);
  return ok;
}

void cnn_idx_free(CnnIdx *idx) {
  free(idx->data);
  *idx = (CnnIdx){0};
}
