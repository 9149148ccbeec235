/* init.c - the parameters' first values, as each one's descriptor says
 * (Keras's initialisers).
 *
 * glorot_uniform: uniform in [-limit, limit) with limit = sqrt(6 / (fan_in
 * + fan_out)); zeros (biases, running means, counters); ones (batchnorm's
 * weight, running variances). Element e of tensor t
 * draws cnn_random(seed, 2^62 + 2^32 + t, e) (e in cnnc's layout), so a
 * value depends only on the seed and where it lives, and a script can
 * recompute any of them: u = (r >> 11) * 2^-53, value = (float)((2u - 1) *
 * limit), in double until that one rounding. */
#include "runtime.h"

#include <math.h>
#include <string.h>

static void glorot_uniform(const CnnParam *p, uint64_t seed, uint64_t tensor,
                           float *dst) {
  double limit = sqrt(6.0 / (double)(p->fan_in + p->fan_out));
  uint64_t stream = CNN_STREAM_INIT + tensor;
  for (int64_t e = 0; e < p->size; e++) {
    double u = cnn_uniform(cnn_random(seed, stream, (uint64_t)e));
    double centred = 2.0 * u - 1.0; /* exact: no rounding before the product */
    dst[e] = (float)(centred * limit);
  }
}

void cnn_init_params(const CnnModel *m, uint64_t seed, float *params) {
  memset(params, 0, (size_t)m->num_params * sizeof *params);
  for (int64_t t = 0; t < m->num_param_tensors; t++) {
    const CnnParam *p = &m->params[t];
    float *dst = params + p->offset;
    switch ((CnnInit)p->init) {
    case CNN_INIT_GLOROT_UNIFORM: glorot_uniform(p, seed, (uint64_t)t, dst); break;
    case CNN_INIT_ZEROS: break; /* the memset; an I64's zero too */
    case CNN_INIT_ONES:
      for (int64_t e = 0; e < p->size; e++)
        dst[e] = 1.0f;
      break;
    }
  }
}
