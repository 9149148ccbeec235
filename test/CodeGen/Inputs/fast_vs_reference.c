/* fast_vs_reference.c - the register-blocked kernels against the plain
 * loop nests (cnnc --reference) on one model: inference outputs, and the
 * parameters after two training steps from the same start.
 *
 * Linked with two objects of the same .cnn; the reference one's
 * descriptor is renamed cnn_model_ref (objcopy). The kernels sum in other
 * orders, so the results agree to float rounding, not bit for bit:
 * |fast - reference| <= TOL * (1 + |reference|) for every value. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnnrt.h"

extern const CnnModel cnn_model_ref;
static const double TOL = 1e-5;

static uint64_t state = 0x9e3779b97f4a7c15ULL;
static double uniform(void) {
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  return (double)((state * 0x2545f4914f6cdd1dULL) >> 11) * 0x1p-53;
}

static double worst_diff(const float *a, const float *b, int64_t n) {
  double worst = 0;
  for (int64_t i = 0; i < n; i++)
    worst = fmax(worst, fabs((double)a[i] - b[i]) / (1 + fabs((double)b[i])));
  return worst;
}

typedef struct Side {
  const CnnModel *m;
  float *params, *state, *probs;
  void *arena;
} Side;

static Side side(const CnnModel *m, const float *params) {
  Side s = {m, malloc(sizeof(float) * (size_t)m->num_params),
            calloc((size_t)m->opt_state_floats + 1, sizeof(float)),
            malloc(sizeof(float) * (size_t)(m->batch * m->num_classes)),
            aligned_alloc(64, ((size_t)m->train_arena_bytes + 63) / 64 * 64)};
  memcpy(s.params, params, sizeof(float) * (size_t)m->num_params);
  return s;
}

int main(void) {
  const CnnModel *m = &cnn_model;
  int64_t n = m->batch, px = m->input_h * m->input_w * m->input_c;
  float *params = malloc(sizeof(float) * (size_t)m->num_params);
  float *x = malloc(sizeof(float) * (size_t)(n * px));
  int32_t *labels = malloc(sizeof(int32_t) * (size_t)n);
  for (int64_t t = 0; t < m->num_param_tensors; t++) {
    const CnnParam *p = &m->params[t];
    double a = p->fan_in ? sqrt(6.0 / (double)(p->fan_in + p->fan_out)) : 0.1;
    for (int64_t i = 0; i < p->size; i++)
      params[p->offset + i] = (float)((2 * uniform() - 1) * a);
  }
  for (int64_t i = 0; i < n * px; i++)
    x[i] = (float)uniform();
  for (int64_t i = 0; i < n; i++)
    labels[i] = (int32_t)(uniform() * (double)m->num_classes);
  Side fast = side(m, params), ref = side(&cnn_model_ref, params);
  fast.m->infer(fast.params, x, fast.probs, n, fast.arena);
  ref.m->infer(ref.params, x, ref.probs, n, ref.arena);
  double infer = worst_diff(fast.probs, ref.probs, n * m->num_classes);
  double train = 0;
  for (int64_t step = 1; step <= 2; step++) {
    double loss[2] = {0, 0};
    int64_t correct[2] = {0, 0};
    Side *s[2] = {&fast, &ref};
    for (int k = 0; k < 2; k++)
      cnn_train_step(s[k]->m, s[k]->params, s[k]->state, x, labels, n,
                          s[k]->arena, step, 5, 0.1f, (float)cnn_compiled_momentum(m),
                          &loss[k], &correct[k]);
    train = fmax(train, worst_diff(fast.params, ref.params, m->num_params));
    printf("step %lld: loss %.6f, reference %.6f\n", (long long)step,
           loss[0] / (double)n, loss[1] / (double)n);
  }
  bool ok = infer <= TOL && train <= TOL;
  printf("%s: inference differs by %.2e, parameters by %.2e\n",
         ok ? "OK" : "FAIL", infer, train);
  Side *sides[2] = {&fast, &ref};
  for (int k = 0; k < 2; k++) {
    free(sides[k]->params);
    free(sides[k]->state);
    free(sides[k]->probs);
    free(sides[k]->arena);
  }
  free(params);
  free(x);
  free(labels);
  return !ok;
}
