/* gradcheck.c - the generated backward against central finite differences
 * of the generated forward, for every parameter tensor of a model.
 *
 * Linked with the object `cnnc --emit=obj` makes of a .cnn whose optimizer
 * is sgd(lr=1) without momentum (the trainable parameters; buffers such as
 * running statistics are not trained): one train step with lr = 1 moves every
 * weight by exactly minus its gradient, and a step with lr = 0 returns the
 * loss without changing anything. Dropout masks depend on (seed, step) only,
 * so every evaluation uses the same step and sees the same masks.
 *
 * Passes when, for every sampled element, |analytic - numeric| <=
 * 1e-2 * max(|analytic|, |numeric|) + ATOL, and not all gradients are zero.
 * The float32 loss has about 7 digits; ATOL absorbs that noise for the
 * smallest gradients. A sample whose difference quotients at eps and eps/2
 * disagree sits on a kink (a ReLU at 0, two values of a max-pool window
 * swapping places): no derivative to compare, so another is drawn. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnnrt.h"

enum { BATCH_MAX = 64, SAMPLES = 24 };
static const double EPS = 1e-3, RTOL = 1e-2, ATOL = 2e-4;

static uint64_t state = 0x853c49e6748fea9bULL;

static double uniform(void) { /* xorshift64*: the test's own inputs */
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  return (double)((state * 0x2545f4914f6cdd1dULL) >> 11) * 0x1p-53;
}

typedef struct Run {
  const CnnModel *m;
  float *params, *state, *images;
  int32_t *labels;
  void *arena;
  int64_t n;
} Run;

static double loss_at(Run *r, float lr) {
  double loss = 0;
  int64_t correct = 0;
  cnn_train_step(r->m, r->params, r->state, r->images, r->labels, r->n, r->arena,
                   7, 42, lr, (float)cnn_compiled_momentum(r->m), &loss, &correct);
  return loss / (double)r->n;
}

/* analytic gradient of every parameter: w(before) - w(after one lr=1 step) */
static float *analytic(Run *r) {
  int64_t np = r->m->num_params;
  float *g = malloc((size_t)np * sizeof *g);
  float *saved = malloc((size_t)np * sizeof *saved);
  memcpy(saved, r->params, (size_t)np * sizeof *saved);
  loss_at(r, 1.0f);
  for (int64_t i = 0; i < np; i++)
    g[i] = saved[i] - r->params[i];
  memcpy(r->params, saved, (size_t)np * sizeof *saved);
  free(saved);
  return g;
}

static double quotient(Run *r, int64_t i, double eps) {
  float w = r->params[i];
  r->params[i] = (float)(w + eps);
  double up = loss_at(r, 0);
  r->params[i] = (float)(w - eps);
  double down = loss_at(r, 0);
  r->params[i] = w;
  return (up - down) / (2 * eps);
}

static bool close(double a, double b) {
  return fabs(a - b) <= RTOL * fmax(fabs(a), fabs(b)) + ATOL;
}

/* The central difference, or NAN on a kink. */
static double numeric(Run *r, int64_t i) {
  double full = quotient(r, i, EPS), half = quotient(r, i, EPS / 2);
  return close(full, half) ? full : NAN;
}

static int check_tensor(Run *r, const CnnParam *p, const float *g,
                        int *nonzero, int *kinks) {
  int bad = 0;
  double worst = 0;
  for (int s = 0, tries = 0; s < SAMPLES && s < p->size && tries < 4 * SAMPLES;
       tries++) {
    int64_t i = p->offset + (p->size <= SAMPLES ? s
                                 : (int64_t)(uniform() * (double)p->size));
    double a = g[i], num = numeric(r, i);
    if (isnan(num)) {
      ++*kinks;
      if (p->size <= SAMPLES)
        s++; /* every element is sampled once: skip this one */
      continue;
    }
    s++;
    double err = fabs(a - num);
    *nonzero += fabs(a) > 1e-6;
    if (!close(a, num)) {
      printf("  MISMATCH %s[%lld]: analytic %.6g numeric %.6g\n", p->name,
             (long long)(i - p->offset), a, num);
      bad++;
    }
    worst = fmax(worst, err / (fmax(fabs(a), fabs(num)) + 1e-12));
  }
  printf("%s: %lld values, worst relative error %.2e\n", p->name,
         (long long)p->size, worst);
  return bad;
}

int main(void) {
  const CnnModel *m = &cnn_model;
  Run r = {m, NULL, NULL, NULL, NULL, NULL, m->batch < BATCH_MAX ? m->batch
                                                                  : BATCH_MAX};
  int64_t px = m->input_h * m->input_w * m->input_c;
  r.params = malloc((size_t)m->num_params * sizeof(float));
  r.state = calloc((size_t)m->opt_state_floats + 1, sizeof(float));
  r.images = malloc((size_t)(r.n * px) * sizeof(float));
  r.labels = malloc((size_t)r.n * sizeof(int32_t));
  r.arena = aligned_alloc(64, ((size_t)m->train_arena_bytes + 63) / 64 * 64);
  /* Glorot-scaled weights keep activations and the loss near 1, where the
   * float32 loss resolves a difference quotient to ATOL. */
  memset(r.params, 0, (size_t)m->num_params * sizeof(float));
  for (int64_t t = 0; t < m->num_param_tensors; t++) {
    const CnnParam *p = &m->params[t];
    double fan = (double)(p->fan_in + p->fan_out);
    double a = fan > 0 ? sqrt(6.0 / fan) : 0.5;
    /* buffers (running statistics) start as the runtime starts them; a
     * training step's loss does not read them */
    for (int64_t i = 0; i < p->size && p->dtype == CNN_F32; i++)
      r.params[p->offset + i] =
          p->trainable ? (float)((2 * uniform() - 1) * a)
                       : (float)(p->init == CNN_INIT_ONES);
  }
  for (int64_t i = 0; i < r.n * px; i++)
    r.images[i] = (float)uniform();
  for (int64_t i = 0; i < r.n; i++)
    r.labels[i] = (int32_t)(uniform() * (double)m->num_classes);
  float *g = analytic(&r);
  int bad = 0, nonzero = 0, kinks = 0;
  for (int64_t t = 0; t < m->num_param_tensors; t++)
    if (m->params[t].trainable)
      bad += check_tensor(&r, &m->params[t], g, &nonzero, &kinks);
  printf("gradcheck: %s, %d mismatches, %d non-zero gradients sampled, "
         "%d kinks skipped\n", bad || !nonzero ? "FAIL" : "OK", bad, nonzero,
         kinks);
  free(g);
  free(r.params);
  free(r.state);
  free(r.images);
  free(r.labels);
  free(r.arena);
  return bad || !nonzero;
}
