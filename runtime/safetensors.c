/* safetensors.c - the trained weights as a safetensors file.
 *
 * The format: an 8-byte little-endian length N, N bytes of JSON mapping
 * each tensor's name to {"dtype", "shape", "data_offsets": [begin, end]}
 * (offsets into the data that follows the header) plus "__metadata__"
 * (string values only), padded with spaces to a multiple of 8 so that the
 * data is aligned, then the tensors' raw little-endian bytes, back to back.
 * Names and layouts are PyTorch's (layout.c), so that
 *   model.load_state_dict(safetensors.torch.load_file(path))
 * takes the file as it is. A saver writes any list of tensors (the
 * weights, and for a checkpoint the optimizer's state beside them) and
 * string metadata; the memory a save needs is allocated before the first
 * step (cnn_saver_create). */
#include "runtime.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outfile.h"

/* The header is written into memory allocated before training, so that
 * a save after hours of training cannot fail for want of memory; Text
 * appends to that fixed buffer, and the capacity is computed to fit. */
typedef struct Text {
  char *at;
  size_t len, cap;
  bool overflow; /* something did not fit: the header is refused */
} Text;

static void put(Text *t, const char *fmt, ...) CNN_PRINTF(2, 3);
static void put(Text *t, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(t->at + t->len, t->cap - t->len, fmt, ap);
  va_end(ap);
  if (k < 0 || (size_t)k >= t->cap - t->len)
    t->overflow = true;
  else
    t->len += (size_t)k;
}

static void json_chars(Text *t, const char *s) {
  for (; *s && !t->overflow; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      put(t, "\\%c", c);
    else if (c < 0x20)
      put(t, "\\u%04x", c);
    else
      put(t, "%c", c);
  }
}

/* "name" or "name.suffix", escaped, with no buffer of a fixed size */
static void json_string(Text *t, const char *s, const char *suffix) {
  put(t, "\"");
  json_chars(t, s);
  if (suffix) {
    put(t, ".");
    json_chars(t, suffix);
  }
  put(t, "\"");
}

/* the most a JSON string of s can take: \u00XX per byte, and quotes */
static size_t json_string_cap(const char *s) { return 6 * strlen(s) + 2; }

static void json_tensor(Text *t, const CnnTensorOut *x, int64_t begin) {
  int64_t shape[4];
  int rank = cnn_torch_shape(x->p, shape);
  json_string(t, x->p->name, x->suffix);
  put(t, ":{\"dtype\":\"%s\",\"shape\":[",
      x->p->dtype == CNN_I64 ? "I64" : "F32");
  for (int i = 0; i < rank; i++)
    put(t, "%s%" PRId64, i ? "," : "", shape[i]);
  put(t, "],\"data_offsets\":[%" PRId64 ",%" PRId64 "]},", begin,
      begin + 4 * cnn_param_floats(x->p));
}

static void json_metadata(Text *t, const CnnMeta *meta, int n) {
  put(t, "\"__metadata__\":{\"format\":\"pt\"");
  for (int i = 0; i < n; i++) {
    put(t, ",");
    json_string(t, meta[i].key, NULL);
    put(t, ":");
    json_string(t, meta[i].value, NULL);
  }
  put(t, "}");
}

/* 20 digits a number, 6 numbers and 80 bytes of keys a tensor, its name
 * and suffix, the metadata's own capacity, and 8 bytes of padding */
static size_t header_cap(const CnnTensorOut *x, int n, size_t meta_cap) {
  size_t cap = 64 + meta_cap + 8;
  for (int i = 0; i < n; i++)
    cap += json_string_cap(x[i].p->name) +
           (x[i].suffix ? json_string_cap(x[i].suffix) : 0) + 6 * 20 + 80;
  return cap;
}


/* the JSON header, padded with spaces to a multiple of 8; 0 when it would
 * not fit cap (the caller's metadata grew past what it reserved) */
static size_t header(const CnnTensorOut *x, int n, const CnnMeta *meta,
                     int nmeta, char *out, size_t cap) {
  Text t = {out, 0, cap, false};
  put(&t, "{");
  int64_t at = 0;
  for (int i = 0; i < n; i++) {
    json_tensor(&t, &x[i], at);
    at += 4 * cnn_param_floats(x[i].p);
  }
  json_metadata(&t, meta, nmeta);
  put(&t, "}");
  while (t.len % 8 && !t.overflow)
    put(&t, " ");
  return t.overflow ? 0 : t.len;
}

static void put_le64(uint8_t *out, uint64_t v) {
  for (int i = 0; i < 8; i++)
    out[i] = (uint8_t)(v >> (8 * i));
}

/* floats to little-endian bytes in place (nothing to do on the hosts cnnc
 * targets, but the file format says little-endian) */
static void to_little_endian(float *v, int64_t n) {
  uint8_t *out = (uint8_t *)v;
  for (int64_t i = 0; i < n; i++) {
    uint32_t bits;
    memcpy(&bits, &v[i], 4);
    for (int b = 0; b < 4; b++)
      out[4 * i + b] = (uint8_t)(bits >> (8 * b));
  }
}

static int64_t data_bytes(const CnnTensorOut *x, int n) {
  int64_t bytes = 0;
  for (int i = 0; i < n; i++)
    bytes += 4 * cnn_param_floats(x[i].p);
  return bytes;
}

struct CnnSaver {
  CnnTensorOut *tensors;
  int n;
  size_t header_cap;
  uint8_t *file; /* 8 + header_cap + the tensors */
};

CnnSaver *cnn_saver_create(const CnnTensorOut *tensors, int n,
                           size_t meta_cap) {
  size_t cap = header_cap(tensors, n, meta_cap);
  size_t bytes = 8 + cap + (size_t)data_bytes(tensors, n);
  CnnSaver *s = calloc(1, sizeof *s);
  if (s) {
    s->tensors = malloc((size_t)(n ? n : 1) * sizeof *tensors);
    s->file = s->tensors ? malloc(bytes) : NULL;
  }
  if (!s || !s->file) {
    cnn_error("out of memory for the %zu bytes a save needs", bytes);
    cnn_saver_free(s);
    return NULL;
  }
  memcpy(s->tensors, tensors, (size_t)n * sizeof *tensors);
  s->n = n;
  s->header_cap = cap;
  return s;
}

void cnn_saver_free(CnnSaver *s) {
  if (s) {
    free(s->file);
    free(s->tensors);
  }
  free(s);
}

/* the tensors in PyTorch's layouts, in the header's order; out is 8-byte
 * aligned (the header's length is a multiple of 8) */
static void put_tensors(const CnnSaver *s, float *out) {
  for (int i = 0; i < s->n; i++) {
    const CnnTensorOut *x = &s->tensors[i];
    cnn_to_torch(x->p, x->src, out);
    /* an I64 is two 32-bit words, low first: already little-endian */
    to_little_endian(out, cnn_param_floats(x->p));
    out += cnn_param_floats(x->p);
  }
}

bool cnn_saver_write(CnnSaver *s, const CnnMeta *meta, int nmeta,
                     const char *flag, const char *path) {
  size_t len = header(s->tensors, s->n, meta, nmeta, (char *)s->file + 8,
                      s->header_cap);
  if (len == 0) {
    cnn_error("%s %s: the checkpoint's header outgrew the %zu bytes kept for "
              "it", flag, path, s->header_cap);
    return false;
  }
  put_le64(s->file, len);
  put_tensors(s, (float *)(void *)(s->file + 8 + len));
  char why[OUTFILE_WHY];
  size_t size = 8 + len + (size_t)data_bytes(s->tensors, s->n);
  if (outfile_write_file(path, s->file, size, 0666, why, sizeof why))
    return true;
  cnn_error("%s %s", flag, why);
  return false;
}
