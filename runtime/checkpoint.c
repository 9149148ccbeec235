/* checkpoint.c - what a --save and a --checkpoint file hold.
 *
 * Both are safetensors files whose weights have PyTorch's names and
 * layouts (so either loads into the torch.nn twin). A --checkpoint file
 * also holds the optimizer's state, beside each parameter under the names
 * torch.optim uses (conv2d_1.weight.exp_avg and .exp_avg_sq for Adam,
 * .momentum_buffer for SGD), and in __metadata__ where the run stands
 * (epoch, step, the epoch's running sums, the CSV rows so far, the best
 * validation so far for patience and --save-best) and its fingerprint:
 * everything that changes the results, so that --resume can refuse a run
 * that would not continue this one. Doubles are written with
 * %a, which reads back bit for bit.
 *
 * The optimizer state buffer holds, for each trainable parameter in order
 * (they come first in the parameter buffer; buffers such as running
 * statistics have no state), its
 * slots one after the other (Adam: m then v; SGD with momentum: the
 * velocity), each in the parameter's layout: plan-memory places the state
 * tensors so, in the order the optimizer pass creates them. */
#include "runtime.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

int cnn_state_slots(const CnnModel *m) {
  return m->num_trainable ? (int)(m->opt_state_floats / m->num_trainable) : 0;
}

const char *cnn_state_name(const CnnModel *m, int slot) {
  if (m->optimizer != CNN_OPT_SGD) /* adam and adamw: torch's names alike */
    return slot == 0 ? "exp_avg" : "exp_avg_sq";
  return "momentum_buffer";
}

int64_t cnn_state_offset(const CnnModel *m, const CnnParam *p, int slot) {
  return cnn_state_slots(m) * p->offset + slot * p->size;
}

/* the weights, then each parameter's state slots */
static int tensor_list(const CnnModel *m, const float *params,
                       const float *state, CnnTensorOut *out) {
  int n = 0, slots = state ? cnn_state_slots(m) : 0;
  for (int64_t t = 0; t < m->num_param_tensors; t++) {
    const CnnParam *p = &m->params[t];
    out[n++] = (CnnTensorOut){p, NULL, params + p->offset};
  }
  for (int64_t t = 0; t < m->num_param_tensors; t++)
    for (int k = 0; k < slots && m->params[t].trainable; k++) {
      const CnnParam *p = &m->params[t];
      out[n++] = (CnnTensorOut){p, cnn_state_name(m, k),
                                state + cnn_state_offset(m, p, k)};
    }
  return n;
}

static CnnSaver *saver(const CnnModel *m, const float *params,
                       const float *state, size_t meta_cap) {
  CnnTensorOut *x = malloc((size_t)(3 * m->num_param_tensors + 1) * sizeof *x);
  if (!x) {
    cnn_error("out of memory");
    return NULL;
  }
  CnnSaver *s = cnn_saver_create(x, tensor_list(m, params, state, x), meta_cap);
  free(x);
  return s;
}

/* --- --save ----------------------------------------------------------------- */

enum { WEIGHTS_META = 1024 };

CnnSaver *cnn_weights_saver(const CnnModel *m, const float *params) {
  return saver(m, params, NULL, WEIGHTS_META + 6 * strlen(m->name));
}

/* the weights' metadata: how far the run had trained, and one score */
static bool write_weights(CnnSaver *s, const CnnModel *m, const CnnOptions *o,
                          int64_t epochs, int64_t steps, const char *key,
                          double score, const char *flag, const char *path) {
  char epoch[24], step[24], seed[24], acc[32];
  snprintf(epoch, sizeof epoch, "%" PRId64, epochs);
  snprintf(step, sizeof step, "%" PRId64, steps);
  snprintf(seed, sizeof seed, "%" PRIu64, o->seed);
  snprintf(acc, sizeof acc, "%.4f", score);
  const CnnMeta meta[] = {{"model", m->name}, {"producer", "cnnc libcnnrt"},
                          {"epochs", epoch}, {"step", step}, {"seed", seed},
                          {key, acc}};
  return cnn_saver_write(s, meta, 6, flag, path);
}

bool cnn_write_weights(CnnSaver *s, const CnnModel *m, const CnnOptions *o,
                       int64_t epochs, int64_t steps, double test_accuracy) {
  return write_weights(s, m, o, epochs, steps, "test_accuracy", test_accuracy,
                       "--save", o->save);
}

bool cnn_write_best(CnnSaver *s, const CnnModel *m, const CnnOptions *o,
                    int64_t epoch, int64_t steps, double val_accuracy) {
  return write_weights(s, m, o, epoch, steps, "val_accuracy", val_accuracy,
                       "--save-best", o->save_best);
}

/* --- the fingerprint ----------------------------------------------------------- */

static uint64_t fnv(uint64_t h, const void *data, size_t n) {
  const unsigned char *p = data;
  for (size_t i = 0; i < n; i++)
    h = (h ^ p[i]) * 0x100000001b3u;
  return h;
}

static uint64_t fnv_i64(uint64_t h, int64_t v) { return fnv(h, &v, sizeof v); }
static uint64_t fnv_f64(uint64_t h, double v) { return fnv(h, &v, sizeof v); }

/* What the generated code was compiled for: the tensors, the optimizer
 * and its constants, the batch it was sized for, the data and its
 * augmentation, and the code itself (code_hash). */
static uint64_t model_hash(const CnnModel *m) {
  uint64_t h = fnv(0xcbf29ce484222325u, m->name, strlen(m->name) + 1);
  int64_t dims[] = {m->input_h, m->input_w, m->input_c, m->num_classes,
                    m->batch, m->num_params, m->num_trainable,
                    m->opt_state_floats, m->optimizer, m->data_kind,
                    m->data_label, m->augment_shift, m->augment_flip,
                    m->code_hash};
  for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++)
    h = fnv_i64(h, dims[i]);
  /* the schedule and patience are the runtime's, which the IR (code_hash)
   * does not hold */
  int64_t recipe[] = {m->schedule, m->schedule_every, m->schedule_warmup,
                      m->patience};
  for (size_t i = 0; i < sizeof recipe / sizeof recipe[0]; i++)
    h = fnv_i64(h, recipe[i]);
  double consts[] = {m->momentum, m->beta1, m->beta2, m->eps, m->lr,
                     m->schedule_factor, m->schedule_max_lr};
  for (size_t i = 0; i < sizeof consts / sizeof consts[0]; i++)
    h = fnv_f64(h, consts[i]);
  for (int64_t t = 0; t < m->num_param_tensors; t++) {
    const CnnParam *p = &m->params[t];
    h = fnv(h, p->name, strlen(p->name) + 1);
    int64_t v[] = {p->kind, p->rank, p->shape[0], p->shape[1], p->shape[2],
                   p->shape[3], p->flat_h, p->flat_w, p->flat_c, p->init,
                   p->trainable, p->dtype};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
      h = fnv_i64(h, v[i]);
  }
  return h;
}

static uint32_t set_crc(const CnnSet *s) {
  uLong crc = crc32(0L, Z_NULL, 0);
  size_t value = s->type == CNN_PIXELS_F32 ? sizeof(float) : 1;
  crc = crc32_z(crc, s->images, (z_size_t)(s->count * s->pixels) * value);
  return (uint32_t)crc32_z(crc, (const Bytef *)s->labels,
                           (z_size_t)s->count * sizeof *s->labels);
}

/* The shortest %g that reads back as v: 0.1, not 0.10000000000000001 */
static void exact(char *buf, size_t cap, double v) {
  for (int digits = 6; digits <= 17; digits++) {
    snprintf(buf, cap, "%.*g", digits, v);
    if (strtod(buf, NULL) == v)
      return;
  }
}

void cnn_fingerprint(const CnnModel *m, const CnnOptions *o,
                     const CnnSet *train, const CnnSet *test,
                     CnnFingerprint *f) {
  snprintf(f->value[FP_MODEL], sizeof f->value[0], "%016" PRIx64,
           model_hash(m));
  /* --batch 50 --accumulate 2 takes the steps of --batch 100 */
  snprintf(f->value[FP_BATCH], sizeof f->value[0], "%" PRId64,
           o->batch * o->accumulate);
  snprintf(f->value[FP_SEED], sizeof f->value[0], "%" PRIu64, o->seed);
  exact(f->value[FP_LR], sizeof f->value[0], o->lr);
  if (o->limit > 0)
    snprintf(f->value[FP_LIMIT], sizeof f->value[0], "%" PRId64, o->limit);
  else
    snprintf(f->value[FP_LIMIT], sizeof f->value[0], "all");
  if (o->validation_frac > 0)
    exact(f->value[FP_VALIDATION], sizeof f->value[0], o->validation_frac);
  else
    snprintf(f->value[FP_VALIDATION], sizeof f->value[0], "%" PRId64,
             o->validation);
  /* cosine's and onecycle's rates depend on the run's length: resumed
   * with other --epochs, a run would not continue this one */
  if (m->schedule == CNN_SCHEDULE_COSINE ||
      m->schedule == CNN_SCHEDULE_ONECYCLE)
    snprintf(f->value[FP_EPOCHS], sizeof f->value[0], "%" PRId64, o->epochs);
  else
    snprintf(f->value[FP_EPOCHS], sizeof f->value[0], "any");
  snprintf(f->value[FP_DATA], sizeof f->value[0],
           "%" PRId64 " training images crc32 %08" PRIx32 ", %" PRId64
           " test images crc32 %08" PRIx32, train->count, set_crc(train),
           test->count, set_crc(test));
}

const char *const cnn_fingerprint_key[FP_COUNT] = {
    "cnnc.model", "cnnc.batch", "cnnc.seed", "cnnc.lr", "cnnc.limit",
    "cnnc.validation", "cnnc.data", "cnnc.epochs"};

/* --- --checkpoint ------------------------------------------------------------- */

enum { CHECKPOINT_META = 4096 };

CnnSaver *cnn_checkpoint_saver(const CnnModel *m, const float *params,
                               const float *state, size_t rows_cap) {
  /* the rows are digits, signs, dots, commas and newlines: 2 bytes each
   * at most in JSON */
  return saver(m, params, state, CHECKPOINT_META + 6 * strlen(m->name) +
                                     2 * rows_cap);
}

bool cnn_write_checkpoint(CnnSaver *s, const CnnModel *m,
                          const CnnFingerprint *f, const CnnRunState *r,
                          const char *path) {
  char num[6][32];
  snprintf(num[0], 32, "%" PRId64, r->epoch);
  snprintf(num[1], 32, "%" PRId64, r->epoch_steps);
  snprintf(num[2], 32, "%" PRId64, r->step);
  snprintf(num[3], 32, "%" PRId64, r->images);
  snprintf(num[4], 32, "%" PRId64, r->correct);
  snprintf(num[5], 32, "%a", r->loss_sum);
  char seconds[32], best[5][32];
  snprintf(seconds, sizeof seconds, "%a", r->train_seconds);
  snprintf(best[0], 32, "%a", r->best_val_loss);
  snprintf(best[1], 32, "%" PRId64, r->best_loss_epoch);
  snprintf(best[2], 32, "%" PRId64, r->epochs_no_better);
  snprintf(best[3], 32, "%a", r->best_val_accuracy);
  snprintf(best[4], 32, "%" PRId64, r->best_accuracy_epoch);
  CnnMeta meta[24 + FP_COUNT] = {
      {"model", m->name},          {"producer", "cnnc libcnnrt"},
      {"cnnc.kind", "checkpoint"}, {"cnnc.epoch", num[0]},
      {"cnnc.epoch_steps", num[1]}, {"cnnc.step", num[2]},
      {"cnnc.images", num[3]},     {"cnnc.correct", num[4]},
      {"cnnc.loss_sum", num[5]},   {"cnnc.train_seconds", seconds},
      {"cnnc.log_rows", r->rows ? r->rows : ""},
      {"cnnc.best_val_loss", best[0]}, {"cnnc.best_loss_epoch", best[1]},
      {"cnnc.epochs_no_better", best[2]},
      {"cnnc.best_val_accuracy", best[3]},
      {"cnnc.best_accuracy_epoch", best[4]}};
  int n = 16;
  for (int i = 0; i < FP_COUNT; i++)
    meta[n++] = (CnnMeta){cnn_fingerprint_key[i], f->value[i]};
  return cnn_saver_write(s, meta, n, "--checkpoint", path);
}
