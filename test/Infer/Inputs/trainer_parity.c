/* trainer_parity.c - an inference object's outputs against the trainer's
 * own inference (cnn_model.infer) for the same weights and images.
 *
 * Linked with the trainer's object (--emit=obj) and the inference object
 * made without weights (--infer), whose NAME_set_weights takes the same
 * cnnc-layout buffer as the trainer. Every output within 1e-5. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cnnrt.h"
#include "mnist_cnn.h"

enum { N = 20 };

int main(void) {
  const CnnModel *m = &cnn_model;
  uint64_t s = 12345;
  float *w = malloc(sizeof(float) * MNIST_CNN_WEIGHTS_SIZE);
  for (int64_t t = 0; t < m->num_param_tensors; t++) {
    const CnnParam *p = &m->params[t];
    double a = p->fan_in ? sqrt(6.0 / (double)(p->fan_in + p->fan_out)) : 0.1;
    for (int64_t i = 0; i < p->size; i++) {
      s = s * 6364136223846793005ULL + 1442695040888963407ULL;
      w[p->offset + i] = (float)(((double)(s >> 11) * 0x1p-53 * 2 - 1) * a);
    }
  }
  static float x[N][MNIST_CNN_INPUT_SIZE], ours[N][10], theirs[N][10];
  for (int b = 0; b < N; b++)
    for (int i = 0; i < MNIST_CNN_INPUT_SIZE; i++) {
      s = s * 6364136223846793005ULL + 1442695040888963407ULL;
      x[b][i] = (float)((s >> 40) & 255) / 255.0f;
    }
  void *arena = aligned_alloc(64, ((size_t)m->infer_arena_bytes + 63) / 64 * 64);
  void *scratch = aligned_alloc(64, MNIST_CNN_SCRATCH_SIZE);
  for (int b = 0; b < N; b += (int)m->batch) {
    int n = N - b < (int)m->batch ? N - b : (int)m->batch;
    m->infer(w, x[b], theirs[b], n, arena);
  }
  mnist_cnn_set_weights(w);
  mnist_cnn_infer_batch(N, &x[0][0], &ours[0][0], scratch);
  double worst = 0;
  for (int b = 0; b < N; b++)
    for (int k = 0; k < 10; k++)
      worst = fmax(worst, fabs((double)ours[b][k] - theirs[b][k]));
  printf("%s: outputs differ by at most %.2e\n", worst <= 1e-5 ? "OK" : "FAIL",
         worst);
  free(w);
  free(arena);
  free(scratch);
  return worst > 1e-5;
}
