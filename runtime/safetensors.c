/* safetensors.c - the trained weights as a safetensors file.
 *
 * The format: an 8-byte little-endian length N, N bytes of JSON mapping
 * each tensor's name to {"dtype", "shape", "data_offsets": [begin, end]}
 * (offsets into the data that follows the header) plus "__metadata__"
 * (string values only), padded with spaces to a multiple of 8 so that the
 * data is aligned, then the tensors' raw little-endian bytes, back to back.
 * Names and layouts are PyTorch's (layout.c), so that
 *   model.load_state_dict(safetensors.torch.load_file(path))
 * takes the file as it is. */
#include "runtime.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static void json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      fprintf(f, "\\%c", c);
    else if (c < 0x20)
      fprintf(f, "\\u%04x", c);
    else
      fputc(c, f);
  }
  fputc('"', f);
}

static void json_tensor(FILE *f, const CnnParam *p, int64_t begin) {
  int64_t shape[4];
  int rank = cnn_torch_shape(p, shape);
  json_string(f, p->name);
  fputs(":{\"dtype\":\"F32\",\"shape\":[", f);
  for (int i = 0; i < rank; i++)
    fprintf(f, "%s%" PRId64, i ? "," : "", shape[i]);
  fprintf(f, "],\"data_offsets\":[%" PRId64 ",%" PRId64 "]},", begin,
          begin + 4 * p->size);
}

static void json_metadata(FILE *f, const CnnModel *m,
                          const CnnCheckpointInfo *info) {
  fputs("\"__metadata__\":{\"format\":\"pt\",\"model\":", f);
  json_string(f, m->name);
  fprintf(f, ",\"producer\":\"cnnc libcnnrt\",\"epochs\":\"%" PRId64
          "\",\"step\":\"%" PRId64 "\",\"seed\":\"%" PRIu64
          "\",\"test_accuracy\":\"%.4f\"}", info->epochs, info->step,
          info->seed, info->test_accuracy);
}

/* the JSON header, padded with spaces to a multiple of 8 */
static char *header(const CnnModel *m, const CnnCheckpointInfo *info,
                    size_t *len) {
  char *text = NULL;
  FILE *f = open_memstream(&text, len);
  if (!f) {
    cnn_error("out of memory");
    return NULL;
  }
  fputc('{', f);
  int64_t at = 0;
  for (int64_t t = 0; t < m->num_param_tensors; t++) {
    json_tensor(f, &m->params[t], at);
    at += 4 * m->params[t].size;
  }
  json_metadata(f, m, info);
  fputc('}', f);
  while (ftell(f) % 8)
    fputc(' ', f);
  fclose(f);
  return text;
}

static void put_le64(uint8_t *out, uint64_t v) {
  for (int i = 0; i < 8; i++)
    out[i] = (uint8_t)(v >> (8 * i));
}

static uint8_t *put_floats(uint8_t *out, const float *v, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    uint32_t bits;
    memcpy(&bits, &v[i], 4);
    for (int b = 0; b < 4; b++)
      *out++ = (uint8_t)(bits >> (8 * b));
  }
  return out;
}

/* the tensors in PyTorch's layouts, in the header's order */
static bool put_tensors(const CnnModel *m, const float *params, uint8_t *out) {
  float *tmp = malloc((size_t)(m->num_params ? m->num_params : 1) * sizeof *tmp);
  if (!tmp) {
    cnn_error("out of memory");
    return false;
  }
  for (int64_t t = 0; t < m->num_param_tensors; t++) {
    const CnnParam *p = &m->params[t];
    cnn_to_torch(p, params + p->offset, tmp);
    out = put_floats(out, tmp, p->size);
  }
  free(tmp);
  return true;
}

static int64_t data_bytes(const CnnModel *m) {
  int64_t n = 0;
  for (int64_t t = 0; t < m->num_param_tensors; t++)
    n += 4 * m->params[t].size;
  return n;
}

bool cnn_save_safetensors(const CnnModel *m, const float *params,
                          const CnnCheckpointInfo *info, const char *path) {
  size_t len;
  char *json = header(m, info, &len);
  size_t size = 8 + len + (size_t)data_bytes(m);
  uint8_t *file = json ? malloc(size) : NULL;
  bool ok = file != NULL;
  if (json && !file)
    cnn_error("out of memory");
  if (ok) {
    put_le64(file, len);
    memcpy(file + 8, json, len);
    ok = put_tensors(m, params, file + 8 + len) &&
         cnn_write_atomic(path, file, size);
  }
  free(file);
  free(json);
  return ok;
}
