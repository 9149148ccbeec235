/* weights.c - a safetensors checkpoint into the model's parameter buffer,
 * through the one safetensors reader (runtime/stread.c): the model's
 * parameters are wanted under PyTorch's names and shapes, nothing else is
 * tolerated, and the floats are moved from PyTorch's layouts to cnnc's. */
#include "weights.h"

#include <fcntl.h>
#include <string.h>

static void report(const char *msg, void *ctx) {
  diag_tool_error(ctx, "%s", msg);
}

/* The model's parameters, each read into its own run of `torch`. */
static StRequest request(const Module *m, float *torch, Diag *d, Arena *a) {
  StWant *want = arena_array(a, (size_t)m->ntensors + 1, sizeof *want);
  int n = 0;
  for (int i = 0; i < m->ntensors; i++) {
    const Tensor *t = m->tensors[i];
    if (t->kind != TK_PARAM)
      continue;
    Shape s = ir_param_torch_shape(m, t);
    want[n] = (StWant){t->name, s.rank, {0}, torch + t->offset / 4, false,
                       t->dtype == DT_I64};
    memcpy(want[n].shape, s.dim, sizeof want[n].shape);
    n++;
  }
  return (StRequest){want, n, n, m->name, NULL, NULL, NULL, report, d};
}

static float *to_cnnc(const Module *m, const float *torch, Arena *a) {
  float *out = arena_array(a, (size_t)m->param_floats + 1, sizeof *out);
  for (int i = 0; i < m->ntensors; i++) {
    const Tensor *t = m->tensors[i];
    if (t->kind != TK_PARAM)
      continue;
    ParamLayout p = ir_param_layout(m, t);
    const float *src = torch + t->offset / 4;
    float *dst = out + t->offset / 4;
    if (p.kind == PARAM_VECTOR) { /* the same layout; an I64 as it is */
      memcpy(dst, src, (size_t)(ir_shape_elems(&t->shape) *
                                ir_dtype_bytes(t->dtype)));
      continue;
    }
    for (int64_t k = 0; k < ir_shape_elems(&t->shape); k++)
      dst[ir_param_from_torch(p, &t->shape, k)] = src[k];
  }
  return out;
}

float *weights_read(const StInput *in, const Module *m, Diag *d, Arena *a) {
  float *torch = arena_array(a, (size_t)m->param_floats + 1, sizeof *torch);
  StRequest q = request(m, torch, d, a);
  return st_read(in, &q, NULL, NULL, a) ? to_cnnc(m, torch, a) : NULL;
}

float *weights_load(const char *path, const Module *m, Diag *d, Arena *a) {
  float *torch = arena_array(a, (size_t)m->param_floats + 1, sizeof *torch);
  StRequest q = request(m, torch, d, a);
  return st_load(path, &q, NULL, NULL, a) ? to_cnnc(m, torch, a) : NULL;
}

typedef struct Memory {
  const unsigned char *p;
  size_t len, at;
} Memory;

static ptrdiff_t read_memory(void *ctx, void *buf, size_t n) {
  Memory *mem = ctx;
  size_t k = n < mem->len - mem->at ? n : mem->len - mem->at;
  memcpy(buf, mem->p + mem->at, k);
  mem->at += k;
  return (ptrdiff_t)k;
}

float *weights_parse(const unsigned char *buf, size_t len, const char *name,
                     const Module *m, Diag *d, Arena *a) {
  Memory mem = {buf, len, 0};
  StInput in = {name, (int64_t)len, read_memory, &mem};
  return weights_read(&in, m, d, a);
}
