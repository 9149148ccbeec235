/* weights.c - a safetensors checkpoint into the model's parameter buffer.
 * See weights.h for what is checked. */
#include "weights.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

enum { MAX_HEADER = 100 << 20 }; /* the reference implementation's limit */

typedef struct Entry {
  const char *name;
  const Json *shape;
  int64_t begin, end;
} Entry;

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

static const char *shape_str(const Json *shape, char *buf, size_t cap) {
  size_t len = (size_t)snprintf(buf, cap, "[");
  for (int i = 0; shape && i < shape->n && len < cap; i++)
    len += (size_t)snprintf(buf + len, cap - len, "%s%" PRId64, i ? ", " : "",
                            shape->items[i]->num);
  if (len < cap)
    snprintf(buf + len, cap - len, "]");
  return buf;
}

/* One tensor's header entry: F32, a shape of non-negative integers, and
 * offsets whose span is the shape's size. */
static bool read_entry(const char *file, const char *key, const Json *v,
                       Entry *e, Diag *d) {
  const Json *dtype = json_get(v, "dtype"), *shape = json_get(v, "shape");
  const Json *offs = json_get(v, "data_offsets");
  if (!dtype || dtype->kind != JSON_STRING || !shape ||
      shape->kind != JSON_ARRAY || !offs || offs->kind != JSON_ARRAY ||
      offs->n != 2 || offs->items[0]->kind != JSON_INT ||
      offs->items[1]->kind != JSON_INT) {
    diag_tool_error(d, "%s: tensor '%s' lacks a dtype, shape or data_offsets",
                    file, key);
    return false;
  }
  if (strcmp(dtype->str, "F32") != 0) {
    diag_tool_error(d, "%s: tensor '%s' is %s; cnnc needs F32", file, key,
                    dtype->str);
    return false;
  }
  int64_t elems = 1;
  for (int i = 0; i < shape->n; i++) {
    const Json *s = shape->items[i];
    if (s->kind != JSON_INT || s->num < 0 ||
        __builtin_mul_overflow(elems, s->num, &elems) || elems > INT64_MAX / 4) {
      diag_tool_error(d, "%s: tensor '%s' has a bad shape", file, key);
      return false;
    }
  }
  *e = (Entry){key, shape, offs->items[0]->num, offs->items[1]->num};
  if (e->begin < 0 || e->end < e->begin || e->end - e->begin != elems * 4) {
    diag_tool_error(d, "%s: tensor '%s': data_offsets [%" PRId64 ", %" PRId64
                    "] do not hold %" PRId64 " floats", file, key, e->begin,
                    e->end, elems);
    return false;
  }
  return true;
}

static int by_begin(const void *a, const void *b) {
  const Entry *x = a, *y = b;
  return (x->begin > y->begin) - (x->begin < y->begin);
}

/* Offsets in order, from 0, without gaps or overlaps, to the end. */
static bool contiguous(const char *file, Entry *e, int n, int64_t data,
                       Diag *d) {
  qsort(e, (size_t)n, sizeof *e, by_begin);
  int64_t at = 0;
  for (int i = 0; i < n; i++) {
    if (e[i].begin != at) {
      diag_tool_error(d, "%s: tensor '%s' starts at byte %" PRId64 " of the "
                      "data, expected %" PRId64 " (gap or overlap)", file,
                      e[i].name, e[i].begin, at);
      return false;
    }
    at = e[i].end;
  }
  if (at != data)
    diag_tool_error(d, "%s: the tensors hold %" PRId64 " bytes, the file "
                    "has %" PRId64 " after the header", file, at, data);
  return at == data;
}

static const Entry *find(const Entry *e, int n, const char *name) {
  for (int i = 0; i < n; i++)
    if (strcmp(e[i].name, name) == 0)
      return &e[i];
  return NULL;
}

/* Every model parameter present with PyTorch's shape; nothing else. */
static bool matches_model(const char *file, const Entry *e, int n,
                          const Module *m, Diag *d) {
  int used = 0, before = d->errors;
  char want[96], got[96];
  for (int i = 0; i < m->ntensors; i++) {
    const Tensor *t = m->tensors[i];
    if (t->kind != TK_PARAM)
      continue;
    Shape s = ir_param_torch_shape(m, t);
    const Entry *x = find(e, n, t->name);
    size_t len = (size_t)snprintf(want, sizeof want, "[");
    for (int k = 0; k < s.rank && len < sizeof want; k++)
      len += (size_t)snprintf(want + len, sizeof want - len, "%s%" PRId64,
                              k ? ", " : "", s.dim[k]);
    if (len < sizeof want)
      snprintf(want + len, sizeof want - len, "]");
    if (!x) {
      diag_tool_error(d, "%s: no tensor '%s' (the model needs one of shape "
                      "%s)", file, t->name, want);
      continue;
    }
    used++;
    bool same = x->shape->n == s.rank;
    for (int k = 0; same && k < s.rank; k++)
      same = x->shape->items[k]->num == s.dim[k];
    if (!same)
      diag_tool_error(d, "%s: tensor '%s' has shape %s; the model needs %s "
                      "(PyTorch's layout)", file, t->name,
                      shape_str(x->shape, got, sizeof got), want);
  }
  for (int i = 0; used < n && i < n && d->errors == before; i++) {
    bool known = false;
    for (int j = 0; j < m->ntensors && !known; j++)
      known = m->tensors[j]->kind == TK_PARAM &&
              strcmp(m->tensors[j]->name, e[i].name) == 0;
    if (!known)
      diag_tool_error(d, "%s: tensor '%s' is not a parameter of model '%s'",
                      file, e[i].name, m->name);
  }
  return d->errors == before;
}

static void convert(const unsigned char *data, const Entry *e, int n,
                    const Module *m, float *out) {
  for (int i = 0; i < m->ntensors; i++) {
    const Tensor *t = m->tensors[i];
    if (t->kind != TK_PARAM)
      continue;
    const Entry *x = find(e, n, t->name);
    float *dst = out + t->offset / 4;
    int64_t elems = ir_shape_elems(&t->shape);
    for (int64_t k = 0; k < elems; k++)
      dst[ir_param_from_torch(m, t, k)] = le_float(data + x->begin + 4 * k);
  }
}

/* The header's entries, checked one by one; NULL after an error. */
static Entry *entries(const char *file, const Json *h, int *n, Diag *d,
                      Arena *a) {
  Entry *e = arena_array(a, (size_t)h->n + 1, sizeof *e);
  *n = 0;
  for (int i = 0; i < h->n; i++) {
    const char *key = h->keys[i];
    if (strcmp(key, "__metadata__") == 0)
      continue;
    if (find(e, *n, key)) {
      diag_tool_error(d, "%s: tensor '%s' appears twice", file, key);
      return NULL;
    }
    if (!read_entry(file, key, h->items[i], &e[*n], d))
      return NULL;
    ++*n;
  }
  return e;
}

float *weights_parse(const unsigned char *buf, size_t len, const char *file,
                     const Module *m, Diag *d, Arena *a) {
  uint64_t hlen = len >= 8 ? le64(buf) : 0;
  if (len < 8 || hlen > MAX_HEADER || hlen > len - 8) {
    diag_tool_error(d, "%s: not a safetensors file (the header length does "
                    "not fit the file)", file);
    return NULL;
  }
  size_t at = 0;
  Json *h = json_parse((const char *)buf + 8, (size_t)hlen, a, &at);
  if (!h || h->kind != JSON_OBJECT) {
    diag_tool_error(d, "%s: the header is not a JSON object (byte %zu)", file,
                    h ? 8 : at + 8);
    return NULL;
  }
  int n;
  Entry *e = entries(file, h, &n, d, a);
  int64_t data = (int64_t)(len - 8 - hlen);
  if (!e || !matches_model(file, e, n, m, d) ||
      !contiguous(file, e, n, data, d))
    return NULL;
  float *out = arena_array(a, (size_t)m->param_floats + 1, sizeof *out);
  convert(buf + 8 + hlen, e, n, m, out);
  return out;
}

float *weights_load(const char *path, const Module *m, Diag *d, Arena *a) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    diag_tool_error(d, "cannot open '%s': %s", path, strerror(errno));
    return NULL;
  }
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *buf = size >= 0 ? malloc((size_t)size + 1) : NULL;
  bool ok = buf && fread(buf, 1, (size_t)size, f) == (size_t)size;
  fclose(f);
  if (!ok) {
    diag_tool_error(d, "cannot read '%s'", path);
    free(buf);
    return NULL;
  }
  float *w = weights_parse(buf, (size_t)size, path, m, d, a);
  free(buf);
  return w;
}
