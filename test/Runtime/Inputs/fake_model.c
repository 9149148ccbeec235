/* fake_model.c - a hand-written stand-in for the object cnnc generates.
 *
 * Softmax regression with a twist, small enough to check by hand:
 *   input 28x28x1 -> conv 2x2 stride 2, 4 filters (no activation)
 *   -> 14x14x4 -> flatten -> dense 10 -> softmax,
 * trained with Adam on softmax cross-entropy. The 2x2 convolution makes the
 * dense layer read a flatten of C = 4 channels, so the checkpoint's
 * H,W,C -> C,H,W reordering of dense_1.weight is not the identity.
 *
 * It also polices the runtime's side of the contract (64-byte aligned
 * arena, 1 <= n <= batch, steps counting 1, 2, 3..., pixels in [0, 1],
 * labels in range) and aborts with a message on any breach.
 *
 * -DFAKE_ABI=N, -DFAKE_DATA="dir" and -DFAKE_BATCH=N vary the model for
 * the tests of the runtime's own checks. */
#include "cnnrt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FAKE_ABI
#define FAKE_ABI CNN_ABI_VERSION
#endif
#ifndef FAKE_DATA
#define FAKE_DATA NULL
#endif
#ifndef FAKE_BATCH
#define FAKE_BATCH 32
#endif

enum {
  H = 28, W = 28, FH = 14, FW = 14, FC = 4, FEAT = FH * FW * FC, K = 10,
  OFF_CW = 0, OFF_CB = OFF_CW + 2 * 2 * FC, OFF_DW = OFF_CB + FC,
  OFF_DB = OFF_DW + FEAT * K, NPARAMS = OFF_DB + K,
};

static const CnnParam PARAMS[] = {
  {"conv2d_1.weight", CNN_PARAM_CONV_WEIGHT, 4, {2, 2, 1, FC}, OFF_CW, 4 * FC,
   4, 4 * FC, 0, 0, 0, CNN_INIT_GLOROT_UNIFORM, 1, CNN_F32},
  {"conv2d_1.bias", CNN_PARAM_VECTOR, 1, {FC}, OFF_CB, FC, 0, 0, 0, 0, 0, CNN_INIT_ZEROS, 1, CNN_F32},
  {"dense_1.weight", CNN_PARAM_DENSE_WEIGHT, 2, {FEAT, K}, OFF_DW, FEAT * K,
   FEAT, K, FH, FW, FC, CNN_INIT_GLOROT_UNIFORM, 1, CNN_F32},
  {"dense_1.bias", CNN_PARAM_VECTOR, 1, {K}, OFF_DB, K, 0, 0, 0, 0, 0, CNN_INIT_ZEROS, 1, CNN_F32},
};

/* cnn_chunks(FAKE_BATCH), as a constant: the arena's slots */
#define GROUP_IMAGES (CNN_CHUNK_GROUP * CNN_CHUNK_IMAGES)
#define GROUPS_CHUNKS (CNN_CHUNK_GROUP * ((FAKE_BATCH + GROUP_IMAGES - 1) / GROUP_IMAGES))
#define SLOTS (FAKE_BATCH < GROUPS_CHUNKS ? FAKE_BATCH : GROUPS_CHUNKS)

static void fail(const char *what) {
  fprintf(stderr, "fake_model: contract broken: %s\n", what);
  abort();
}

/* --- forward ------------------------------------------------------------- */

static void conv(const float *p, const float *img, float *feat) {
  for (int y = 0; y < FH; y++)
    for (int x = 0; x < FW; x++)
      for (int c = 0; c < FC; c++) {
        float s = p[OFF_CB + c];
        for (int ky = 0; ky < 2; ky++)
          for (int kx = 0; kx < 2; kx++)
            s += img[(2 * y + ky) * W + 2 * x + kx] *
                 p[OFF_CW + (ky * 2 + kx) * FC + c];
        feat[(y * FW + x) * FC + c] = s;
      }
}

/* dense + softmax; returns the cross-entropy for `label` (from the logits,
 * so that a tiny probability does not underflow to log(0)) */
static double dense_softmax(const float *p, const float *feat, float *probs,
                            int label) {
  double z[K], max = -INFINITY, sum = 0;
  for (int k = 0; k < K; k++) {
    z[k] = p[OFF_DB + k];
    for (int i = 0; i < FEAT; i++)
      z[k] += (double)feat[i] * p[OFF_DW + i * K + k];
    max = z[k] > max ? z[k] : max;
  }
  for (int k = 0; k < K; k++)
    sum += exp(z[k] - max);
  for (int k = 0; k < K; k++)
    probs[k] = (float)(exp(z[k] - max) / sum);
  return label < 0 ? 0 : log(sum) + max - z[label];
}

static int argmax(const float *v) {
  int best = 0;
  for (int k = 1; k < K; k++)
    if (v[k] > v[best])
      best = k;
  return best;
}

/* --- backward ------------------------------------------------------------- */

/* gradients of the mean loss over n images, image by image */
static void backward(const float *p, const float *img, const float *feat,
                     const float *probs, int label, int64_t n, float *g,
                     float *dfeat) {
  float dz[K];
  for (int k = 0; k < K; k++) {
    dz[k] = (probs[k] - (k == label)) / (float)n;
    g[OFF_DB + k] += dz[k];
  }
  for (int i = 0; i < FEAT; i++) {
    dfeat[i] = 0;
    for (int k = 0; k < K; k++) {
      g[OFF_DW + i * K + k] += feat[i] * dz[k];
      dfeat[i] += p[OFF_DW + i * K + k] * dz[k];
    }
  }
  for (int y = 0; y < FH; y++)
    for (int x = 0; x < FW; x++)
      for (int c = 0; c < FC; c++) {
        float d = dfeat[(y * FW + x) * FC + c];
        g[OFF_CB + c] += d;
        for (int ky = 0; ky < 2; ky++)
          for (int kx = 0; kx < 2; kx++)
            g[OFF_CW + (ky * 2 + kx) * FC + c] +=
                img[(2 * y + ky) * W + 2 * x + kx] * d;
      }
}

static void adam(float *p, float *state, const float *g, int64_t step,
                 float lr) {
  const CnnModel *m = &cnn_model;
  float *mom = state, *vel = state + NPARAMS;
  double c1 = 1 - pow(m->beta1, (double)step), c2 = 1 - pow(m->beta2, (double)step);
  for (int i = 0; i < NPARAMS; i++) {
    mom[i] = (float)(m->beta1 * mom[i] + (1 - m->beta1) * g[i]);
    vel[i] = (float)(m->beta2 * vel[i] + (1 - m->beta2) * g[i] * g[i]);
    p[i] -= (float)(lr * (mom[i] / c1) / (sqrt(vel[i] / c2) + m->eps));
  }
}

/* --- the contract ------------------------------------------------------------ */

static void police(const float *images, const int32_t *labels, int64_t n,
                   const void *arena) {
  if ((size_t)arena % 64)
    fail("arena not 64-byte aligned");
  if (n < 1 || n > SLOTS * CNN_CHUNK_IMAGES)
    fail("n outside 1..the slots' images");
  for (int64_t i = 0; i < n * H * W; i++)
    if (!(images[i] >= 0 && images[i] <= 1))
      fail("pixel outside [0, 1]");
  for (int64_t i = 0; labels && i < n; i++)
    if (labels[i] < 0 || labels[i] >= K)
      fail("label out of range");
}

/* one slot: the gradients first, then the forward's scratch */
enum { SLOT_FLOATS = NPARAMS + 2 * FEAT + K,
       SLOT_BYTES = (SLOT_FLOATS * 4 + 63) / 64 * 64 };

static void gradients(const float *params, const float *images,
                      const int32_t *labels, const int64_t *bounds,
                      int64_t first, int64_t count, int64_t batch_n,
                      int64_t batch_chunks, int64_t phase, void *arena,
                      int64_t step, uint64_t seed, double *loss,
                      int64_t *correct) {
  (void)seed;
  (void)step;
  if (phase != 0 || batch_chunks != cnn_chunks(batch_n) || first < 0 ||
      first + count > batch_chunks)
    fail("a phase or chunk outside the step");
  for (int64_t i = 0; i <= count; i++)
    if (bounds[i] != cnn_chunk_first(batch_n, first + i))
      fail("chunk bounds are not cnn_chunk_first's");
  police(images, labels, bounds[count] - bounds[0], arena);
  for (int64_t i = 0; i < count; i++) {
    float *g = (float *)arena + i * (SLOT_BYTES / 4);
    float *feat = g + NPARAMS, *dfeat = feat + FEAT, *probs = dfeat + FEAT;
    memset(g, 0, NPARAMS * sizeof *g);
    for (int64_t b = bounds[i]; b < bounds[i + 1]; b++) {
      const float *img = images + (b - bounds[0]) * H * W;
      int32_t label = labels[b - bounds[0]];
      conv(params, img, feat);
      loss[i] += dense_softmax(params, feat, probs, label);
      correct[i] += argmax(probs) == label;
      backward(params, img, feat, probs, label, batch_n, g, dfeat);
    }
  }
}

static void update(float *params, float *opt_state, void *arena,
                   int64_t batch_n, int64_t batch_chunks, int64_t step,
                   float lr, float momentum) {
  (void)momentum; /* its Adam keeps its own beta1 */
  (void)batch_n;
  (void)batch_chunks;
  static int64_t last_step;
  /* a resumed run starts at its checkpoint's step, then counts on */
  if (last_step && step != last_step + 1)
    fail("steps do not count 1, 2, 3...");
  last_step = step;
  adam(params, opt_state, arena, step, lr);
}

static void infer(const float *params, const float *images, float *probs,
                  int64_t n, void *arena) {
  police(images, NULL, n, arena);
  float *feat = arena;
  for (int64_t b = 0; b < n; b++) {
    conv(params, images + b * H * W, feat);
    dense_softmax(params, feat, probs + b * K, -1);
  }
}

const CnnModel cnn_model = {
  .abi_version = FAKE_ABI,
  .name = "fake_softmax",
  .input_h = H, .input_w = W, .input_c = 1,
  .num_classes = K,
  .batch = FAKE_BATCH,
  .num_params = NPARAMS,
  .num_trainable = NPARAMS,
  .num_param_tensors = sizeof PARAMS / sizeof PARAMS[0],
  .params = PARAMS,
  .opt_state_floats = 2 * NPARAMS,
  .train_arena_bytes = SLOTS * SLOT_BYTES,
  .infer_arena_bytes = FEAT * sizeof(float),
  .chunk_slots = SLOTS,
  .chunk_stride = SLOT_BYTES,
  .grads_offset = 0,
  .grads = NPARAMS,
  .train_phases = 1,
  .optimizer = CNN_OPT_ADAM,
  .lr = 0.005, .momentum = 0, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-7,
  .epochs = 3,
  .seed = 1,
  .validation = 100,
  .validation_frac = 0,
  .data = FAKE_DATA,
  .gradients = gradients,
  .update = update,
  .infer = infer,
};
