/* stread.c - the safetensors reader; see stread.h for what is checked
 * and in which order it is read. */
#define _POSIX_C_SOURCE 200809L /* open, fstat, read */
#include "stread.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json.h"

enum {
  MAX_HEADER = 100 << 20, /* the reference implementation's limit */
  FIRST_READ = 64 << 10,  /* the header buffer's size before it grows */
};

typedef struct Entry {
  const char *name;
  const Json *shape;
  int64_t begin, end;
  StWant *want; /* what it fills; NULL for a tolerated one, skipped */
  bool known;   /* wanted or tolerated */
  bool i64;     /* I64, not F32 */
} Entry;

/* An input being read, and how far. */
typedef struct Reading {
  const StInput *in;
  const char *file;
  int64_t at; /* bytes read so far */
  const StRequest *req;
  int errors;
} Reading;

static void report(Reading *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void report(Reading *r, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  r->errors++;
  r->req->error(msg, r->req->error_ctx);
}

static uint64_t le64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--)
    v = v << 8 | p[i];
  return v;
}

static float le_float(const unsigned char *p) {
  uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
               (uint32_t)p[3] << 24;
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

/* ---- reading: every byte through take() ----------------------------------- */

/* Up to n bytes, fewer only where the input ends: how many, or -1 after
 * reporting the OS's reason. A pipe hands out what it has, so one call to
 * read is not enough. */
static int64_t take(Reading *r, void *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ptrdiff_t k = r->in->read(r->in->ctx, (char *)buf + got, n - got);
    if (k < 0) {
      report(r, "cannot read '%s': %s", r->file, strerror(errno));
      return -1;
    }
    if (k == 0)
      break;
    got += (size_t)k;
  }
  r->at += (int64_t)got;
  return (int64_t)got;
}

/* The 8-byte header length, checked against the limit and against the
 * file's size when it has one. */
static bool header_length(Reading *r, uint64_t *len) {
  unsigned char b[8];
  int64_t got = take(r, b, sizeof b);
  if (got < 0)
    return false;
  if (got < 8) {
    report(r, "%s: not a safetensors file (%" PRId64 " bytes, "
                    "too short for the 8-byte header length)", r->file, got);
    return false;
  }
  *len = le64(b);
  int64_t size = r->in->size;
  if (*len > MAX_HEADER) {
    report(r, "%s: not a safetensors file (the header length, %"
                    PRIu64 " bytes, is over the limit of 100 MiB)", r->file,
                    *len);
    return false;
  }
  if (size >= 0 && *len > (uint64_t)(size - 8)) {
    report(r, "%s: not a safetensors file (the header length, %"
                    PRIu64 " bytes, does not fit the file's %" PRId64 ")",
                    r->file, *len, size);
    return false;
  }
  return true;
}

/* The header's n bytes, or NULL after an error. The buffer grows with the
 * bytes that arrive, so a length that lies costs at most twice the bytes
 * that are really there. */
static char *read_header(Reading *r, size_t n) {
  size_t cap = n < FIRST_READ ? n : FIRST_READ, got = 0;
  char *buf = NULL;
  for (;;) {
    char *more = realloc(buf, cap + 1);
    if (!more) {
      report(r, "%s: no memory for the %zu-byte header", r->file,
                      n);
      break;
    }
    buf = more;
    int64_t k = take(r, buf + got, cap - got);
    if (k < 0)
      break;
    if ((got += (size_t)k) == n)
      return buf;
    if (got < cap) {
      report(r, "%s: the file ends after %" PRId64 " bytes, "
                      "inside the %zu-byte header", r->file, r->at, n);
      break;
    }
    cap = cap > n / 2 ? n : cap * 2;
  }
  free(buf);
  return NULL;
}

/* The file's size against the header's 8 + header + data, before reading
 * the data: a 20 GB file for a small model is refused at once. */
static bool size_matches(Reading *r, uint64_t hlen, int64_t data) {
  int64_t want = 8 + (int64_t)hlen + data;
  if (r->in->size < 0 || r->in->size == want)
    return true;
  report(r, "%s: the file has %" PRId64 " bytes; its header "
                  "describes %" PRId64 " (8 + %" PRIu64 " of header + %"
                  PRId64 " of data)", r->file, r->in->size, want, hlen, data);
  return false;
}

/* Nothing after the data. A pipe has no size: only reading one more byte
 * shows that it goes on. */
static bool at_end(Reading *r) {
  unsigned char extra;
  int64_t got = take(r, &extra, 1);
  if (got > 0)
    report(r, "%s: the file goes on past the %" PRId64 " bytes "
                    "its header describes", r->file, r->at - 1);
  return got == 0;
}

/* ---- the header ------------------------------------------------------------ */

static const char *shape_str(const Json *shape, char *buf, size_t cap) {
  size_t len = (size_t)snprintf(buf, cap, "[");
  for (int i = 0; shape && i < shape->n && len < cap; i++)
    len += (size_t)snprintf(buf + len, cap - len, "%s%" PRId64, i ? ", " : "",
                            shape->items[i]->num);
  if (len < cap)
    snprintf(buf + len, cap - len, "]");
  return buf;
}

static bool pair_of_ints(const Json *v) {
  return v->kind == JSON_ARRAY && v->n == 2 &&
         v->items[0]->kind == JSON_INT && v->items[1]->kind == JSON_INT;
}

/* An entry's dtype, shape and data_offsets in one pass over its members
 * (a repeated one is an error, as in the reference implementation), each
 * of its JSON type; false after reporting what is wrong. */
static bool entry_fields(Reading *r, const char *key, const Json *v,
                         const Json *field[3]) {
  const char *file = r->file;
  static const char *const names[3] = {"dtype", "shape", "data_offsets"};
  static const char *const types[3] = {"a string", "an array",
                                       "a pair of integers"};
  if (v->kind != JSON_OBJECT) {
    report(r, "%s: tensor '%s' is not an object (of dtype, shape "
                    "and data_offsets)", file, key);
    return false;
  }
  field[0] = field[1] = field[2] = NULL;
  for (int i = 0; i < v->n; i++)
    for (int k = 0; k < 3; k++) {
      if (strcmp(v->keys[i], names[k]) != 0)
        continue;
      if (field[k]) {
        report(r, "%s: tensor '%s' has two '%s' fields", file, key,
                        names[k]);
        return false;
      }
      field[k] = v->items[i];
    }
  for (int k = 0; k < 3; k++) {
    bool typed = field[k] && (k == 0   ? field[k]->kind == JSON_STRING
                              : k == 1 ? field[k]->kind == JSON_ARRAY
                                       : pair_of_ints(field[k]));
    if (!field[k])
      report(r, "%s: tensor '%s' has no '%s'", file, key, names[k]);
    else if (!typed)
      report(r, "%s: tensor '%s': '%s' is not %s", file, key,
                      names[k], types[k]);
    if (!typed)
      return false;
  }
  return true;
}

/* One tensor's header entry: F32 (or I64, as PyTorch keeps counters), a
 * shape of non-negative integers, and offsets whose span is the shape's
 * size. */
static bool read_entry(Reading *r, const char *key, const Json *v, Entry *e) {
  const char *file = r->file;
  const Json *field[3];
  if (!entry_fields(r, key, v, field))
    return false;
  const Json *dtype = field[0], *shape = field[1], *offs = field[2];
  bool i64 = strcmp(dtype->str, "I64") == 0;
  if (strcmp(dtype->str, "F32") != 0 && !i64) {
    report(r, "%s: tensor '%s' is %s; cnnc needs F32 (I64 for counters "
           "such as num_batches_tracked)", file, key, dtype->str);
    return false;
  }
  int64_t width = i64 ? 8 : 4;
  int64_t elems = 1;
  for (int i = 0; i < shape->n; i++) {
    const Json *s = shape->items[i];
    if (s->kind != JSON_INT || s->num < 0 ||
        __builtin_mul_overflow(elems, s->num, &elems) || elems > INT64_MAX / 8) {
      report(r, "%s: tensor '%s' has a bad shape", file, key);
      return false;
    }
  }
  *e = (Entry){key, shape, offs->items[0]->num, offs->items[1]->num, NULL,
               false, i64};
  if (e->begin < 0 || e->end < e->begin || e->end - e->begin != elems * width) {
    report(r, "%s: tensor '%s': data_offsets [%" PRId64 ", %" PRId64
                    "] do not hold %" PRId64 " %s", file, key, e->begin,
                    e->end, elems, i64 ? "64-bit integers" : "floats");
    return false;
  }
  return true;
}

static int by_begin(const void *a, const void *b) {
  const Entry *x = a, *y = b;
  return (x->begin > y->begin) - (x->begin < y->begin);
}

/* Offsets in order, from 0, without gaps or overlaps: the entries sorted
 * by begin, and the data's size, or -1 after an error. */
static int64_t contiguous(Reading *r, Entry *e, int n) {
  const char *file = r->file;
  qsort(e, (size_t)n, sizeof *e, by_begin);
  int64_t at = 0;
  for (int i = 0; i < n; i++) {
    if (e[i].begin != at) {
      report(r, "%s: tensor '%s' starts at byte %" PRId64 " of the "
                      "data, expected %" PRId64 " (gap or overlap)", file,
                      e[i].name, e[i].begin, at);
      return -1;
    }
    at = e[i].end;
  }
  return at;
}

static int by_name(const void *a, const void *b) {
  const Entry *const *x = a, *const *y = b;
  return strcmp((*x)->name, (*y)->name);
}

/* The entries sorted by name, for lookups in log n (a linear search per
 * name made a header of 80,000 tensors take 14 s). NULL after reporting
 * a name that appears twice. */
static Entry **sorted_by_name(Reading *r, Entry *e, int n, Arena *a) {
  const char *file = r->file;
  Entry **s = arena_array(a, (size_t)n + 1, sizeof *s);
  for (int i = 0; i < n; i++)
    s[i] = &e[i];
  qsort(s, (size_t)n, sizeof *s, by_name);
  for (int i = 1; i < n; i++)
    if (strcmp(s[i - 1]->name, s[i]->name) == 0) {
      report(r, "%s: tensor '%s' appears twice", file, s[i]->name);
      return NULL;
    }
  return s;
}

static Entry *find(Entry **sorted, int n, const char *name) {
  const Entry key = {.name = name}, *k = &key;
  Entry **x = bsearch(&k, sorted, (size_t)n, sizeof *sorted, by_name);
  return x ? *x : NULL;
}

static const char *dims_str(const int64_t *dims, int rank, char *buf,
                            size_t cap) {
  size_t len = (size_t)snprintf(buf, cap, "[");
  for (int k = 0; k < rank && len < cap; k++)
    len += (size_t)snprintf(buf + len, cap - len, "%s%" PRId64, k ? ", " : "",
                            dims[k]);
  if (len < cap)
    snprintf(buf + len, cap - len, "]");
  return buf;
}

/* Every wanted tensor present (the required ones) with its shape, each
 * entry marked with what it fills; then nothing unknown, in header order. */
static bool matches_request(Reading *r, Entry *e, Entry **sorted, int n) {
  const StRequest *q = r->req;
  int before = r->errors;
  char want[96], got[96];
  for (int i = 0; i < q->nwant; i++) {
    StWant *w = &q->want[i];
    Entry *x = find(sorted, n, w->name);
    w->found = x != NULL;
    dims_str(w->shape, w->rank, want, sizeof want);
    if (!x) {
      if (i < q->nrequired)
        report(r, "%s: no tensor '%s' (the model needs one of shape %s)",
               r->file, w->name, want);
      continue;
    }
    x->want = w;
    x->known = true;
    bool same = x->shape->n == w->rank;
    for (int k = 0; same && k < w->rank; k++)
      same = x->shape->items[k]->num == w->shape[k];
    if (!same)
      report(r, "%s: tensor '%s' has shape %s; the model needs %s (PyTorch's "
             "layout)", r->file, w->name, shape_str(x->shape, got, sizeof got),
             want);
    else if (x->i64 != w->i64)
      report(r, "%s: tensor '%s' is %s; the model needs %s", r->file, w->name,
             x->i64 ? "I64" : "F32", w->i64 ? "I64" : "F32");
  }
  for (int i = 0; i < n && r->errors == before; i++) {
    if (!e[i].known && q->tolerated && q->tolerated(e[i].name, q->ctx))
      e[i].known = true;
    if (!e[i].known)
      report(r, "%s: tensor '%s' is not a parameter of model '%s'", r->file,
             e[i].name, q->model);
  }
  return r->errors == before;
}

/* The header's entries in header order, checked one by one; NULL after
 * an error. */
static Entry *entries(Reading *r, const Json *h, int *n, Arena *a) {
  Entry *e = arena_array(a, (size_t)h->n + 1, sizeof *e);
  *n = 0;
  for (int i = 0; i < h->n; i++) {
    const char *key = h->keys[i];
    if (strcmp(key, "__metadata__") == 0)
      continue;
    if (!read_entry(r, key, h->items[i], &e[*n]))
      return NULL;
    ++*n;
  }
  return e;
}

/* __metadata__: an object of strings */
static bool metadata(Reading *r, const Json *h, StMeta **meta, int *nmeta,
                     Arena *a) {
  for (int i = 0; i < h->n; i++) {
    const Json *v = h->items[i];
    if (strcmp(h->keys[i], "__metadata__") != 0)
      continue;
    if (v->kind != JSON_OBJECT) {
      report(r, "%s: __metadata__ is not an object", r->file);
      return false;
    }
    StMeta *m = arena_array(a, (size_t)v->n + 1, sizeof *m);
    for (int k = 0; k < v->n; k++) {
      if (v->items[k]->kind != JSON_STRING) {
        report(r, "%s: __metadata__ '%s' is not a string", r->file,
               v->keys[k]);
        return false;
      }
      m[k] = (StMeta){v->keys[k], v->items[k]->str};
    }
    if (meta)
      *meta = m;
    if (nmeta)
      *nmeta = v->n;
  }
  return true;
}

/* The header's tensors, checked against the request and sorted by offset,
 * and the size of the data they describe; NULL after an error. */
static Entry *header_tensors(Reading *r, const char *text, size_t len,
                             int *n, int64_t *data, StMeta **meta,
                             int *nmeta, Arena *a) {
  JsonError err;
  Json *h = json_parse(text, len, a, &err);
  if (!h) {
    report(r, "%s: the header is not valid JSON: %s at byte %zu of the file",
           r->file, err.what, 8 + err.at);
    return NULL;
  }
  if (h->kind != JSON_OBJECT) {
    report(r, "%s: the header is not a JSON object", r->file);
    return NULL;
  }
  StMeta *m = NULL;
  int nm = 0;
  const StRequest *q = r->req;
  if (!metadata(r, h, &m, &nm, a) ||
      (q->check_meta && !q->check_meta(m, nm, q->ctx)))
    return NULL;
  if (meta)
    *meta = m;
  if (nmeta)
    *nmeta = nm;
  Entry *e = entries(r, h, n, a);
  Entry **sorted = e ? sorted_by_name(r, e, *n, a) : NULL;
  if (!sorted || !matches_request(r, e, sorted, *n) ||
      (*data = contiguous(r, e, *n)) < 0)
    return NULL;
  return e;
}

/* ---- the data -------------------------------------------------------------- */

/* "[index 1, 42]": where element k of a tensor of that shape sits, in
 * PyTorch's order. The shape matched the model's, so its rank is at most
 * 4 and no dimension is 0. */
static const char *index_str(const Json *shape, int64_t k, char *buf,
                             size_t cap) {
  int64_t at[4] = {0};
  for (int i = shape->n - 1; i >= 0; i--) {
    at[i] = k % shape->items[i]->num;
    k /= shape->items[i]->num;
  }
  size_t len = (size_t)snprintf(buf, cap, "[index");
  for (int i = 0; i < shape->n && len < cap; i++)
    len += (size_t)snprintf(buf + len, cap - len, "%s %" PRId64, i ? "," : "",
                            at[i]);
  if (len < cap)
    snprintf(buf + len, cap - len, "]");
  return buf;
}

/* Tensor x's bytes into its destination; false after reporting the
 * first value that is not finite: a NaN or an infinity in the weights
 * would only show as wrong answers. */
static bool convert(Reading *r, const unsigned char *data, const Entry *x) {
  if (x->i64) { /* little-endian on every host cnnc targets */
    memcpy(x->want->dst, data, (size_t)(x->end - x->begin));
    return true;
  }
  int64_t elems = (x->end - x->begin) / 4;
  char where[96];
  for (int64_t k = 0; k < elems; k++) {
    float v = le_float(data + 4 * k);
    if (!isfinite(v)) {
      report(r, "%s: tensor '%s' holds a non-finite value (%s) at element %"
             PRId64 " %s", r->file, x->name,
             isnan(v) ? "nan" : v > 0 ? "inf" : "-inf", k,
             index_str(x->shape, k, where, sizeof where));
      return false;
    }
    x->want->dst[k] = v;
  }
  return true;
}

/* The tensors in the order of their offsets, each read into one buffer
 * as large as the largest and converted; a tolerated one is read past.
 * Every tensor that holds a non-finite value is named. */
static bool read_tensors(Reading *r, const Entry *e, int n) {
  size_t most = 0;
  for (int i = 0; i < n; i++)
    if ((size_t)(e[i].end - e[i].begin) > most)
      most = (size_t)(e[i].end - e[i].begin);
  unsigned char *buf = malloc(most + 1);
  bool ok = buf != NULL, finite = true;
  if (!ok)
    report(r, "%s: no memory for a %zu-byte tensor", r->file, most);
  for (int i = 0; ok && i < n; i++) {
    size_t bytes = (size_t)(e[i].end - e[i].begin);
    int64_t got = take(r, buf, bytes);
    if (got >= 0 && (size_t)got < bytes)
      report(r, "%s: the file ends after %" PRId64 " bytes, inside tensor "
             "'%s' (%" PRId64 " of its %zu bytes)", r->file, r->at,
             e[i].name, got, bytes);
    if ((ok = got >= 0 && (size_t)got == bytes) && e[i].want)
      finite &= convert(r, buf, &e[i]);
  }
  free(buf);
  return ok && finite;
}

bool st_read(const StInput *in, const StRequest *req, StMeta **meta,
             int *nmeta, Arena *a) {
  Reading r = {in, in->name, 0, req, 0};
  if (meta)
    *meta = NULL;
  if (nmeta)
    *nmeta = 0;
  uint64_t hlen;
  if (!header_length(&r, &hlen))
    return false;
  char *text = read_header(&r, (size_t)hlen);
  if (!text)
    return false;
  int n;
  int64_t data;
  Entry *e = header_tensors(&r, text, (size_t)hlen, &n, &data, meta, nmeta, a);
  free(text);
  return e && size_matches(&r, hlen, data) && read_tensors(&r, e, n) &&
         at_end(&r);
}

const char *st_meta(const StMeta *meta, int n, const char *key) {
  for (int i = 0; i < n; i++)
    if (strcmp(meta[i].key, key) == 0)
      return meta[i].value;
  return NULL;
}

/* ---- a file ----------------------------------------------------------------- */

static ptrdiff_t read_fd(void *ctx, void *buf, size_t n) {
  ssize_t k;
  do
    k = read(*(const int *)ctx, buf, n < (1u << 30) ? n : (1u << 30));
  while (k < 0 && errno == EINTR);
  return k;
}

/* A folder opens, and reading it says why not. */
bool st_load(const char *path, const StRequest *req, StMeta **meta,
             int *nmeta, Arena *a) {
  char msg[1024];
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    snprintf(msg, sizeof msg, "cannot %s '%s': %s", fd < 0 ? "open" : "stat",
             path, strerror(errno));
    req->error(msg, req->error_ctx);
    if (fd >= 0)
      close(fd);
    return false;
  }
  StInput in = {path, S_ISREG(st.st_mode) ? (int64_t)st.st_size : -1, read_fd,
                &fd};
  bool ok = st_read(&in, req, meta, nmeta, a);
  close(fd);
  return ok;
}
