/* safetensors.c - the trained weights as a safetensors file.
 *
 * The format: an 8-byte little-endian length N, N bytes of JSON mapping
 * each tensor's name to {"dtype", "shape", "data_offsets": [begin, end]}
 * (offsets into the data that follows the header) plus "__metadata__"
 * (string values only), padded with spaces to a multiple of 8 so that the
 * data is aligned, then the tensors' raw little-endian bytes, back to back.
 * Names and layouts are PyTorch's (layout.c), so that
 *   model.load_state_dict(safetensors.torch.load_file(path))
 * takes the file as it is. The memory a save needs is allocated before
 * the first step (cnn_saver_create). */
#include "runtime.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "outfile.h"

/* The header is written into memory allocated before training, so that
 * a save after hours of training cannot fail for want of memory; Text
 * appends to that fixed buffer, and the capacity is computed to fit. */
typedef struct Text {
  char *at;
  size_t len, cap;
} Text;

static void put(Text *t, const char *fmt, ...) CNN_PRINTF(2, 3);
static void put(Text *t, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(t->at + t->len, t->cap - t->len, fmt, ap);
  va_end(ap);
  if (k > 0)
    t->len = t->len + (size_t)k < t->cap ? t->len + (size_t)k : t->cap - 1;
}

static void json_string(Text *t, const char *s) {
  put(t, "\"");
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      put(t, "\\%c", c);
    else if (c < 0x20)
      put(t, "\\u%04x", c);
    else
      put(t, "%c", c);
  }
  put(t, "\"");
}

/* the most a JSON string of s can take: \u00XX per byte, and quotes */
static size_t json_string_cap(const char *s) { return 6 * strlen(s) + 2; }

static void json_tensor(Text *t, const CnnParam *p, int64_t begin) {
  int64_t shape[4];
  int rank = cnn_torch_shape(p, shape);
  json_string(t, p->name);
  put(t, ":{\"dtype\":\"F32\",\"shape\":[");
  for (int i = 0; i < rank; i++)
    put(t, "%s%" PRId64, i ? "," : "", shape[i]);
  put(t, "],\"data_offsets\":[%" PRId64 ",%" PRId64 "]},", begin,
      begin + 4 * p->size);
}

static void json_metadata(Text *t, const CnnModel *m,
                          const CnnCheckpointInfo *info) {
  put(t, "\"__metadata__\":{\"format\":\"pt\",\"model\":");
  json_string(t, m->name);
  put(t, ",\"producer\":\"cnnc libcnnrt\",\"epochs\":\"%" PRId64
      "\",\"step\":\"%" PRId64 "\",\"seed\":\"%" PRIu64
      "\",\"test_accuracy\":\"%.4f\"}", info->epochs, info->step, info->seed,
      info->test_accuracy);
}

/* 20 digits a number, 5 numbers and 80 bytes of keys a tensor; 5 numbers
 * and 200 bytes of keys in the metadata; 8 bytes of padding */
static size_t header_cap(const CnnModel *m) {
  size_t cap = 2 + json_string_cap(m->name) + 5 * 20 + 200 + 8;
  for (int64_t t = 0; t < m->num_param_tensors; t++)
    cap += json_string_cap(m->params[t].name) + 5 * 20 + 80;
  return cap;
}

/* the JSON header, padded with spaces to a multiple of 8 */
static size_t header(const CnnModel *m, const CnnCheckpointInfo *info,
                     char *out, size_t cap) {
  Text t = {out, 0, cap};
  put(&t, "{");
  int64_t at = 0;
  for (int64_t i = 0; i < m->num_param_tensors; i++) {
    json_tensor(&t, &m->params[i], at);
    at += 4 * m->params[i].size;
  }
  json_metadata(&t, m, info);
  put(&t, "}");
  while (t.len % 8)
    put(&t, " ");
  return t.len;
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

static int64_t data_bytes(const CnnModel *m) {
  int64_t n = 0;
  for (int64_t t = 0; t < m->num_param_tensors; t++)
    n += 4 * m->params[t].size;
  return n;
}

struct CnnSaver {
  const CnnModel *m;
  size_t header_cap;
  uint8_t *file; /* 8 + header_cap + the tensors */
};

CnnSaver *cnn_saver_create(const CnnModel *m) {
  CnnSaver *s = malloc(sizeof *s);
  size_t cap = header_cap(m);
  uint8_t *file = s ? malloc(8 + cap + (size_t)data_bytes(m)) : NULL;
  if (!file) {
    cnn_error("out of memory for the checkpoint's %" PRId64 " bytes",
              data_bytes(m));
    free(s);
    return NULL;
  }
  *s = (CnnSaver){m, cap, file};
  return s;
}

void cnn_saver_free(CnnSaver *s) {
  if (s)
    free(s->file);
  free(s);
}

/* the tensors in PyTorch's layouts, in the header's order; out is 8-byte
 * aligned (the header's length is a multiple of 8) */
static void put_tensors(const CnnModel *m, const float *params, float *out) {
  for (int64_t t = 0; t < m->num_param_tensors; t++) {
    const CnnParam *p = &m->params[t];
    cnn_to_torch(p, params + p->offset, out);
    to_little_endian(out, p->size);
    out += p->size;
  }
}

bool cnn_saver_write(CnnSaver *s, const float *params,
                     const CnnCheckpointInfo *info, const char *path) {
  size_t len = header(s->m, info, (char *)s->file + 8, s->header_cap);
  put_le64(s->file, len);
  put_tensors(s->m, params, (float *)(void *)(s->file + 8 + len));
  char why[OUTFILE_WHY];
  size_t size = 8 + len + (size_t)data_bytes(s->m);
  if (outfile_write_file(path, s->file, size, 0666, why, sizeof why))
    return true;
  cnn_error("--save %s", why);
  return false;
}
