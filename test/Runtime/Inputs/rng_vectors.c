/* rng_vectors.c - libcnnrt's random draws, printed as cnnrt_ref.py prints
 * them: cnn_random, the shuffle of an epoch, glorot values. A program with
 * its own main, linked against libcnnrt.a (whose main.c it leaves out). */
#include "runtime.h"

#include <inttypes.h>
#include <stdio.h>

#define SHUFFLE CNN_STREAM_SHUFFLE
#define INIT CNN_STREAM_INIT

static const uint64_t VECTORS[][3] = {
  {0, 0, 0}, {1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 2, 3},
  {UINT64_MAX, UINT64_MAX, UINT64_MAX}, {42, SHUFFLE + 1, 7},
  {1, INIT + 2, 783}, {UINT64_C(12345678901234567890), 5 << 16 | 3, 99},
};
static const int64_t SHUFFLES[][3] = {{10, 1, 1}, {10, 1, 2}, {7, 42, 3}, {1, 5, 1}};

/* tensor 2 of a model whose third tensor is a 784 -> 10 dense weight */
static void glorot(void) {
  CnnParam params[3] = {
    {"a", CNN_PARAM_VECTOR, 1, {1}, 0, 1, 0, 0, 0, 0, 0, CNN_INIT_ZEROS, 1, CNN_F32},
    {"b", CNN_PARAM_VECTOR, 1, {1}, 1, 1, 0, 0, 0, 0, 0, CNN_INIT_ZEROS, 1, CNN_F32},
    {"w", CNN_PARAM_DENSE_WEIGHT, 2, {784, 10}, 2, 7840, 784, 10, 0, 0, 0, CNN_INIT_GLOROT_UNIFORM, 1, CNN_F32},
  };
  CnnModel m = {.num_params = 7842, .num_trainable = 7842, .num_param_tensors = 3, .params = params};
  static float p[7842];
  cnn_init_params(&m, 1, p);
  for (int e = 0; e < 4; e++)
    printf("glorot %d = %.9g\n", e, p[2 + e]);
}

int main(void) {
  for (size_t i = 0; i < sizeof VECTORS / sizeof VECTORS[0]; i++) {
    const uint64_t *v = VECTORS[i];
    printf("random %" PRIu64 " %" PRIu64 " %" PRIu64 " = %016" PRIx64 "\n",
           v[0], v[1], v[2], cnn_random(v[0], v[1], v[2]));
  }
  for (size_t i = 0; i < sizeof SHUFFLES / sizeof SHUFFLES[0]; i++) {
    int64_t order[16];
    const int64_t *s = SHUFFLES[i];
    cnn_shuffle(order, s[0], (uint64_t)s[1], s[2]);
    printf("shuffle %" PRId64 " %" PRId64 " %" PRId64 " =", s[0], s[1], s[2]);
    for (int64_t k = 0; k < s[0]; k++)
      printf(" %" PRId64, order[k]);
    printf("\n");
  }
  glorot();
  return 0;
}
