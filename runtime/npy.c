/* npy.c - one NumPy .npy file: an array of numbers, C order.
 *
 * The format (numpy/lib/format.py): the magic "\x93NUMPY", a major and a
 * minor version byte (1.0, 2.0 or 3.0), the header's length (2 bytes,
 * little-endian, in 1.0; 4 in 2.0 and 3.0), the header, then the elements.
 * The header is a Python dict literal, padded with spaces to a multiple of
 * 64 bytes and ended by '\n':
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (10000, 32, 32, 3), }
 * It is parsed here as the small language it is, strictly (the three keys
 * once each, nothing else, Python's tuple syntax) but in any key order and
 * spacing, with either quote, so that the files of np.save and those a
 * user writes by hand both read. Numbers (u1..u8, i1..i8, f4, f8) come out
 * in the host's byte order.
 *
 * The data must be exactly what the header promises; the buffer grows as
 * the bytes arrive rather than trusting the header, so that a corrupt one
 * cannot ask for terabytes up front. */
#include "runtime.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* The fuzz target sets a small chunk, for inputs of a few KB to grow it. */
#ifndef NPY_FIRST_CHUNK
#define NPY_FIRST_CHUNK (1 << 20)
#endif

enum {
  MAGIC_BYTES = 6, PREAMBLE = MAGIC_BYTES + 2, MAX_HEADER = 1 << 16,
  FIRST_CHUNK = NPY_FIRST_CHUNK, MAX_RANK = 8,
};

static const char MAGIC[MAGIC_BYTES] = "\x93NUMPY";

/* --- types ----------------------------------------------------------------- */

typedef struct TypeInfo {
  char kind;     /* 'u', 'i', 'f' as descr spells it */
  int size;      /* bytes */
  const char *name;
} TypeInfo;

/* indexed by CnnNpyType */
static const TypeInfo TYPES[] = {
    {'u', 1, "uint8"},  {'i', 1, "int8"},  {'u', 2, "uint16"},
    {'i', 2, "int16"},  {'u', 4, "uint32"}, {'i', 4, "int32"},
    {'u', 8, "uint64"}, {'i', 8, "int64"}, {'f', 4, "float32"},
    {'f', 8, "float64"},
};
enum { NTYPES = sizeof TYPES / sizeof TYPES[0] };

int cnn_npy_itemsize(CnnNpyType t) { return TYPES[t].size; }
const char *cnn_npy_type_name(CnnNpyType t) { return TYPES[t].name; }
bool cnn_npy_is_integer(CnnNpyType t) { return TYPES[t].kind != 'f'; }

int64_t cnn_npy_elements(const CnnNpy *a) {
  int64_t n = 1;
  for (int i = 0; i < a->rank; i++)
    n *= a->shape[i];
  return n;
}

/* "(100, 32, 32)", "(100,)", "()" */
const char *cnn_npy_shape_text(const CnnNpy *a, char *buf, size_t cap) {
  size_t len = 0;
  buf[0] = '\0';
  for (int i = 0; i <= a->rank && len < cap; i++) {
    int k = i == a->rank ? snprintf(buf + len, cap - len, "%s)",
                                    a->rank == 1 ? "," : "")
                         : snprintf(buf + len, cap - len, "%s%" PRId64,
                                    i ? ", " : "(", a->shape[i]);
    len += k > 0 ? (size_t)k : 0;
  }
  if (a->rank == 0)
    snprintf(buf, cap, "()");
  return buf;
}

/* --- the header's little language ----------------------------------------- */

typedef struct Parser {
  const char *path;
  const char *s;   /* the header */
  size_t len, at;
  int64_t base;    /* its first byte's offset in the file */
  CnnNpy *out;
  bool seen[3];    /* descr, fortran_order, shape */
} Parser;

static bool fail(const Parser *p, const char *fmt, ...) CNN_PRINTF(2, 3);
static bool fail(const Parser *p, const char *fmt, ...) {
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  cnn_error("%s: bad .npy header at byte %" PRId64 ": %s", p->path,
            p->base + (int64_t)p->at, msg);
  return false;
}

/* what is at the cursor, for messages: "'x'", "byte 0x07" or "its end" */
static const char *found(const Parser *p, char *buf, size_t cap) {
  if (p->at >= p->len)
    return "the end of the header";
  unsigned char c = (unsigned char)p->s[p->at];
  if (c == '\'')
    snprintf(buf, cap, "\"'\"");
  else if (c >= 0x20 && c < 0x7f)
    snprintf(buf, cap, "'%c'", c);
  else
    snprintf(buf, cap, "byte 0x%02x", c);
  return buf;
}

static bool expected(const Parser *p, const char *what) {
  char buf[16];
  return fail(p, "expected %s, found %s", what, found(p, buf, sizeof buf));
}

static void skip_space(Parser *p) {
  while (p->at < p->len && strchr(" \t\r\n", p->s[p->at]) && p->s[p->at])
    p->at++;
}

static bool peek(Parser *p, char c) {
  skip_space(p);
  return p->at < p->len && p->s[p->at] == c;
}

static bool eat(Parser *p, char c) {
  if (!peek(p, c))
    return false;
  p->at++;
  return true;
}

static bool need(Parser *p, char c, const char *what) {
  return eat(p, c) || expected(p, what);
}

/* 'text' or "text", no escapes (no header needs one); [*start, +*n) */
static bool string(Parser *p, size_t *start, size_t *n) {
  skip_space(p);
  char q = p->at < p->len ? p->s[p->at] : 0;
  if (q != '\'' && q != '"')
    return expected(p, "a quoted string");
  size_t open = p->at++;
  while (p->at < p->len && p->s[p->at] != q) {
    if (p->s[p->at] == '\\' || p->s[p->at] == '\n')
      return fail(p, "escapes and line breaks are not allowed in a string");
    p->at++;
  }
  if (p->at >= p->len) {
    p->at = open;
    return fail(p, "the string is not closed");
  }
  *start = open + 1;
  *n = p->at++ - open - 1;
  return true;
}

static bool word_is(const Parser *p, const char *w) {
  size_t n = strlen(w);
  if (p->len - p->at < n || memcmp(p->s + p->at, w, n) != 0)
    return false;
  char next = p->at + n < p->len ? p->s[p->at + n] : ' ';
  return !(next == '_' || (next >= 'a' && next <= 'z') ||
           (next >= 'A' && next <= 'Z') || (next >= '0' && next <= '9'));
}

/* '<f4', '>i8', '|u1': byte order, kind, size */
static bool parse_descr(Parser *p) {
  skip_space(p);
  if (p->at < p->len && p->s[p->at] == '[')
    return fail(p, "a structured dtype (a list of fields) is not an array of "
                "numbers");
  size_t at = p->at, start, n;
  if (!string(p, &start, &n))
    return false;
  const char *d = p->s + start;
  char order = n == 3 ? d[0] : 0;
  for (int t = 0; t < NTYPES && n == 3; t++) {
    if (d[1] != TYPES[t].kind || d[2] != '0' + TYPES[t].size)
      continue;
    bool one = TYPES[t].size == 1;
    if (order == '<' || order == '>' || (one && order == '|')) {
      p->out->type = (CnnNpyType)t;
      p->out->big_endian = order == '>' && !one;
      snprintf(p->out->descr, sizeof p->out->descr, "%.3s", d);
      return true;
    }
  }
  p->at = at;
  return fail(p, "descr '%.*s' is not one of the numbers read here: u1..u8, "
              "i1..i8, f4, f8, with '<' or '>' (little- or big-endian) before "
              "them, or '|' before a 1-byte one ('|u1')", (int)(n < 16 ? n : 16),
              d);
}

static bool parse_fortran(Parser *p) {
  skip_space(p);
  if (word_is(p, "False")) {
    p->at += 5;
    return true;
  }
  if (word_is(p, "True"))
    return fail(p, "fortran_order is True: the array is stored column-major;"
                " save a C-ordered one (np.ascontiguousarray)");
  return expected(p, "True or False");
}

static bool number(Parser *p, int64_t *v) {
  skip_space(p);
  if (p->at >= p->len || p->s[p->at] < '0' || p->s[p->at] > '9')
    return expected(p, "a size");
  size_t start = p->at;
  *v = 0;
  for (; p->at < p->len && p->s[p->at] >= '0' && p->s[p->at] <= '9'; p->at++) {
    if (*v > (INT64_MAX - 9) / 10) {
      p->at = start;
      return fail(p, "the size is too large");
    }
    *v = *v * 10 + (p->s[p->at] - '0');
  }
  if (p->s[start] == '0' && p->at - start > 1) {
    p->at = start;
    return fail(p, "a size with a leading zero"); /* Python rejects 010 */
  }
  return true;
}

/* (), (N,), (N, H, W), (N, H, W,) */
static bool parse_shape(Parser *p) {
  if (!need(p, '(', "a tuple '(...)'"))
    return false;
  CnnNpy *a = p->out;
  a->rank = 0;
  while (!eat(p, ')')) {
    if (a->rank == MAX_RANK)
      return fail(p, "more than %d dimensions", MAX_RANK);
    if (!number(p, &a->shape[a->rank]))
      return false;
    a->rank++;
    if (eat(p, ','))
      continue;
    if (a->rank == 1 && peek(p, ')'))
      return fail(p, "(N) is a number, not a tuple: a 1-d shape is (N,)");
    if (!peek(p, ')'))
      return expected(p, "',' or ')'");
  }
  return true;
}

static bool parse_item(Parser *p) {
  static const char *const keys[3] = {"descr", "fortran_order", "shape"};
  size_t key_at, start, n;
  skip_space(p);
  key_at = p->at;
  if (!string(p, &start, &n))
    return false;
  int k = 0;
  while (k < 3 && !(strlen(keys[k]) == n && !memcmp(p->s + start, keys[k], n)))
    k++;
  p->at = key_at;
  if (k == 3)
    return fail(p, "unknown key '%.*s' (a .npy header has 'descr', "
                "'fortran_order' and 'shape')", (int)(n < 32 ? n : 32),
                p->s + start);
  if (p->seen[k])
    return fail(p, "'%s' is given twice", keys[k]);
  p->seen[k] = true;
  string(p, &start, &n);
  if (!need(p, ':', "':'"))
    return false;
  return k == 0 ? parse_descr(p) : k == 1 ? parse_fortran(p) : parse_shape(p);
}

static bool parse_header(Parser *p) {
  if (!need(p, '{', "'{'"))
    return false;
  while (!eat(p, '}')) {
    if (!parse_item(p))
      return false;
    if (!eat(p, ',') && !peek(p, '}'))
      return expected(p, "',' or '}'");
  }
  skip_space(p);
  if (p->at < p->len)
    return expected(p, "only spaces and a line break after the '}'");
  static const char *const keys[3] = {"descr", "fortran_order", "shape"};
  for (int k = 0; k < 3; k++)
    if (!p->seen[k])
      return fail(p, "the key '%s' is missing", keys[k]);
  return true;
}

/* --- the file ------------------------------------------------------------- */

typedef struct Reader {
  FILE *f;
  const char *path;
  int64_t offset; /* bytes read so far */
} Reader;

static bool read_bytes(Reader *r, void *buf, size_t n, size_t *got) {
  errno = 0;
  *got = fread(buf, 1, n, r->f);
  r->offset += (int64_t)*got;
  if (!ferror(r->f))
    return true;
  cnn_error("%s: cannot read after byte %" PRId64 ": %s", r->path, r->offset,
            errno ? strerror(errno) : "read error");
  return false;
}

static bool truncated(const Reader *r, const char *what) {
  cnn_error("%s: truncated: %" PRId64 " bytes, too short for %s", r->path,
            r->offset, what);
  return false;
}

static uint32_t little_endian(const uint8_t *b, int n) {
  uint32_t v = 0;
  for (int i = n - 1; i >= 0; i--)
    v = v << 8 | b[i];
  return v;
}

/* the magic and version; the header's length */
static bool read_preamble(Reader *r, size_t *header_len) {
  uint8_t b[PREAMBLE + 4];
  size_t got;
  if (!read_bytes(r, b, PREAMBLE, &got))
    return false;
  if (got < MAGIC_BYTES || memcmp(b, MAGIC, MAGIC_BYTES) != 0) {
    if (got < MAGIC_BYTES && memcmp(b, MAGIC, got) == 0)
      return truncated(r, "a .npy file's magic");
    cnn_error("%s: not a .npy file: it does not start with NumPy's magic "
              "\\x93NUMPY", r->path);
    return false;
  }
  if (got < PREAMBLE)
    return truncated(r, "a .npy file's version");
  int major = b[6], minor = b[7];
  if (major < 1 || major > 3 || minor != 0) {
    cnn_error("%s: .npy format version %d.%d at byte 6; versions 1.0, 2.0 and "
              "3.0 are read", r->path, major, minor);
    return false;
  }
  int n = major == 1 ? 2 : 4;
  if (!read_bytes(r, b + PREAMBLE, (size_t)n, &got))
    return false;
  if (got < (size_t)n)
    return truncated(r, "the header's length");
  *header_len = little_endian(b + PREAMBLE, n);
  if (*header_len <= MAX_HEADER)
    return true;
  cnn_error("%s: the .npy header's length at byte 8 is %zu bytes, more than "
            "the %d a header can need", r->path, *header_len, MAX_HEADER);
  return false;
}

static bool read_header(Reader *r, CnnNpy *a) {
  size_t len, got;
  if (!read_preamble(r, &len))
    return false;
  char *text = malloc(len + 1);
  if (!text) {
    cnn_error("%s: out of memory", r->path);
    return false;
  }
  Parser p = {r->path, text, len, 0, r->offset, a, {false, false, false}};
  bool ok = read_bytes(r, text, len, &got);
  if (ok && got < len) {
    cnn_error("%s: truncated: the header of %zu bytes from byte %" PRId64
              " ends at byte %" PRId64, r->path, len, p.base, r->offset);
    ok = false;
  }
  ok = ok && parse_header(&p);
  free(text);
  return ok;
}

/* the data's size in bytes; false if it cannot be one */
static bool data_size(const Reader *r, const CnnNpy *a, size_t *size) {
  uint64_t n = (uint64_t)cnn_npy_itemsize(a->type);
  for (int i = 0; i < a->rank; i++) {
    uint64_t d = (uint64_t)a->shape[i];
    if (d != 0 && n > (uint64_t)(PTRDIFF_MAX - 16) / d) {
      char shape[160];
      cnn_error("%s: the shape %s of %s is impossibly large", r->path,
                cnn_npy_shape_text(a, shape, sizeof shape),
                cnn_npy_type_name(a->type));
      return false;
    }
    n *= d;
  }
  for (int i = 0; i < a->rank; i++)
    if (a->shape[i] == 0)
      n = 0;
  *size = (size_t)n;
  return true;
}

static bool read_data(Reader *r, size_t want, uint8_t **data, size_t *got) {
  size_t cap = 0;
  *got = 0;
  *data = NULL;
  while (*got < want) {
    if (*got == cap) {
      cap = cap == 0 ? (want < FIRST_CHUNK ? want : FIRST_CHUNK)
                     : (cap > want / 2 ? want : cap * 2);
      uint8_t *p = realloc(*data, cap);
      if (!p) {
        cnn_error("%s: out of memory reading %zu bytes", r->path, want);
        return false;
      }
      *data = p;
    }
    size_t k;
    if (!read_bytes(r, *data + *got, cap - *got, &k))
      return false;
    if (k == 0)
      break;
    *got += k;
  }
  if (!*data && !(*data = malloc(1))) { /* an empty array owns a buffer too */
    cnn_error("%s: out of memory", r->path);
    return false;
  }
  return true;
}

static bool count_trailing(Reader *r, int64_t *extra) {
  uint8_t buf[4096];
  size_t k;
  *extra = 0;
  do {
    if (!read_bytes(r, buf, sizeof buf, &k))
      return false;
    *extra += (int64_t)k;
  } while (k > 0);
  return true;
}

static bool check_length(Reader *r, const CnnNpy *a, int64_t start,
                         size_t want, size_t got) {
  char shape[160];
  int64_t extra = 0;
  if (got == want && !count_trailing(r, &extra))
    return false;
  if (got == want && extra == 0)
    return true;
  cnn_npy_shape_text(a, shape, sizeof shape);
  if (got < want)
    cnn_error("%s: truncated: the header says shape %s of %s: %zu bytes of "
              "data from byte %" PRId64 ", but only %zu follow it", r->path,
              shape, cnn_npy_type_name(a->type), want, start, got);
  else
    cnn_error("%s: %" PRId64 " byte%s of trailing data: the header says shape"
              " %s of %s: %zu bytes of data from byte %" PRId64 ", but %"
              PRId64 " follow it", r->path, extra, extra == 1 ? "" : "s",
              shape, cnn_npy_type_name(a->type), want, start,
              (int64_t)want + extra);
  return false;
}

static bool host_is_big_endian(void) {
  const uint16_t one = 1;
  return *(const uint8_t *)&one == 0;
}

static void to_host_order(CnnNpy *a, size_t bytes) {
  int size = cnn_npy_itemsize(a->type);
  if (size == 1 || a->big_endian == host_is_big_endian())
    return;
  uint8_t *d = a->data;
  for (size_t e = 0; e < bytes; e += (size_t)size)
    for (int i = 0; i < size / 2; i++) {
      uint8_t t = d[e + i];
      d[e + i] = d[e + size - 1 - i];
      d[e + size - 1 - i] = t;
    }
}

bool cnn_npy_read_stream(FILE *f, const char *path, CnnNpy *out) {
  *out = (CnnNpy){0};
  Reader r = {f, path, 0};
  size_t want, got;
  uint8_t *data = NULL;
  bool ok = read_header(&r, out) && data_size(&r, out, &want);
  int64_t start = r.offset;
  ok = ok && read_data(&r, want, &data, &got);
  out->data = data;
  ok = ok && check_length(&r, out, start, want, got);
  if (ok)
    to_host_order(out, want);
  else
    cnn_npy_free(out);
  return ok;
}

bool cnn_npy_read(const char *path, CnnNpy *out) {
  *out = (CnnNpy){0};
  FILE *f = cnn_open_read(path);
  if (!f)
    return false;
  bool ok = cnn_npy_read_stream(f, path, out);
  fclose(f);
  return ok;
}

void cnn_npy_free(CnnNpy *a) {
  free(a->data);
  *a = (CnnNpy){0};
}
