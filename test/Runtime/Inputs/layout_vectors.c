/* layout_vectors.c - cnn_to_torch on tensors whose values are their own
 * cnnc indices, printed in PyTorch order: a conv weight with several input
 * and output channels and a non-square kernel, a dense weight after a
 * flatten of 2x3x4, a plain dense weight and a bias. layout_ref.py prints
 * what PyTorch's layouts say they should be. */
#include "runtime.h"

#include <inttypes.h>
#include <stdio.h>

static const CnnParam PARAMS[] = {
  {"conv", CNN_PARAM_CONV_WEIGHT, 4, {3, 2, 2, 5}, 0, 60, 12, 30, 0, 0, 0, CNN_INIT_GLOROT_UNIFORM, 1, CNN_F32},
  {"flat", CNN_PARAM_DENSE_WEIGHT, 2, {24, 3}, 0, 72, 24, 3, 2, 3, 4, CNN_INIT_GLOROT_UNIFORM, 1, CNN_F32},
  {"dense", CNN_PARAM_DENSE_WEIGHT, 2, {4, 3}, 0, 12, 4, 3, 0, 0, 0, CNN_INIT_GLOROT_UNIFORM, 1, CNN_F32},
  {"bias", CNN_PARAM_VECTOR, 1, {6}, 0, 6, 0, 0, 0, 0, 0, CNN_INIT_ZEROS, 1, CNN_F32},
};

static void show(const CnnParam *p) {
  float src[72], dst[72];
  int64_t shape[4];
  for (int i = 0; i < p->size; i++)
    src[i] = (float)i;
  cnn_to_torch(p, src, dst);
  int rank = cnn_torch_shape(p, shape);
  printf("%s [", p->name);
  for (int i = 0; i < rank; i++)
    printf("%s%" PRId64, i ? ", " : "", shape[i]);
  printf("]");
  for (int i = 0; i < p->size; i++)
    printf(" %g", dst[i]);
  printf("\n");
}

int main(void) {
  for (size_t i = 0; i < sizeof PARAMS / sizeof PARAMS[0]; i++)
    show(&PARAMS[i]);
  return 0;
}
