/* layout.c - cnnc's tensor layouts to PyTorch's state_dict layouts.
 *
 * cnnc computes in NHWC with HWIO convolution weights and [in, out] dense
 * weights; PyTorch's Conv2d holds [out, in, kh, kw] and Linear [out, in].
 * A dense layer right after flatten also numbers its inputs differently:
 * cnnc flattens H, W, C (index (h*W + w)*C + c), PyTorch C, H, W (index
 * (c*H + h)*W + w), so those rows are permuted as well. Biases agree. */
#include "runtime.h"

#include <string.h>

int64_t cnn_param_floats(const CnnParam *p) {
  return p->dtype == CNN_I64 ? 2 * p->size : p->size;
}

int cnn_torch_shape(const CnnParam *p, int64_t shape[4]) {
  const int64_t *s = p->shape;
  switch (p->kind) {
  case CNN_PARAM_CONV_WEIGHT:
    memcpy(shape, (int64_t[4]){s[3], s[2], s[0], s[1]}, 4 * sizeof *shape);
    return 4;
  case CNN_PARAM_DENSE_WEIGHT:
    memcpy(shape, (int64_t[2]){s[1], s[0]}, 2 * sizeof *shape);
    return 2;
  case CNN_PARAM_VECTOR:
    memcpy(shape, s, (size_t)p->rank * sizeof *shape);
    return (int)p->rank;
  }
  return -1; /* cnn_model_check refuses any other kind */
}

/* Each layout change is one loop nest over the pairs (cnnc's index c,
 * PyTorch's index t), copied one way or the other. */
typedef enum Way { TO_TORCH, FROM_TORCH } Way;

static void copy(Way way, const float *src, float *dst, int64_t c, int64_t t) {
  if (way == TO_TORCH)
    dst[t] = src[c];
  else
    dst[c] = src[t];
}

/* [kh][kw][cin][cout] <-> [cout][cin][kh][kw] */
static void conv(Way way, const int64_t s[4], const float *src, float *dst) {
  int64_t kh = s[0], kw = s[1], cin = s[2], cout = s[3];
  for (int64_t y = 0; y < kh; y++)
    for (int64_t x = 0; x < kw; x++)
      for (int64_t i = 0; i < cin; i++)
        for (int64_t o = 0; o < cout; o++)
          copy(way, src, dst, ((y * kw + x) * cin + i) * cout + o,
               ((o * cin + i) * kh + y) * kw + x);
}

/* cnnc's input index of a dense weight -> PyTorch's */
static int64_t torch_input(const CnnParam *p, int64_t in) {
  if (p->flat_c == 0)
    return in;
  int64_t c = in % p->flat_c, hw = in / p->flat_c;
  int64_t w = hw % p->flat_w, h = hw / p->flat_w;
  return (c * p->flat_h + h) * p->flat_w + w;
}

/* [in][out] <-> [out][in'] with in' in PyTorch's flatten order */
static void dense(Way way, const CnnParam *p, const float *src, float *dst) {
  int64_t in = p->shape[0], out = p->shape[1];
  for (int64_t i = 0; i < in; i++) {
    int64_t t = torch_input(p, i);
    for (int64_t o = 0; o < out; o++)
      copy(way, src, dst, i * out + o, o * in + t);
  }
}

static void convert(Way way, const CnnParam *p, const float *src, float *dst) {
  switch (p->kind) {
  case CNN_PARAM_CONV_WEIGHT: conv(way, p->shape, src, dst); break;
  case CNN_PARAM_DENSE_WEIGHT: dense(way, p, src, dst); break;
  case CNN_PARAM_VECTOR:
    memcpy(dst, src, (size_t)cnn_param_floats(p) * sizeof *dst);
    break;
  }
}

void cnn_to_torch(const CnnParam *p, const float *src, float *dst) {
  convert(TO_TORCH, p, src, dst);
}

void cnn_from_torch(const CnnParam *p, const float *src, float *dst) {
  convert(FROM_TORCH, p, src, dst);
}
