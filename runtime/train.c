/* train.c - the epoch loop around the generated train step.
 *
 * Everything the loop needs is allocated once, before the first step: the
 * parameters (initialised as Keras would), the optimizer state (zeros: the
 * first Adam moments, or the SGD momentum), one batch of float images and
 * labels, and one 64-byte aligned arena. The arena serves both generated
 * functions (train step and inference never run at the same time), so it
 * has the larger of their two sizes. `step` counts updates from 1 over the
 * whole run: Adam's bias correction and the dropout masks depend on it.
 *
 * A run that diverges (a learning rate too high) stops at the step where
 * the loss or a parameter stops being finite, with a message that says
 * where and what to try: NaN weights are never trained on nor saved. */
#include "runtime.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct CnnTrainer {
  const CnnModel *m;
  const CnnOptions *o;
  const CnnSet *train;
  CnnSplit split;
  float *params, *opt_state;
  CnnEvalBuffers buf; /* the arena and one batch, shared with evaluation */
  int64_t *order;     /* this epoch's training images */
  int64_t step;       /* updates done */
  CnnProgress progress;
};

static void *alloc_array(int64_t count, size_t size, bool *ok) {
  void *p = calloc(count > 0 ? (size_t)count : 1, size);
  *ok = *ok && p;
  return p;
}

static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

CnnTrainer *cnn_trainer_create(const CnnModel *m, const CnnOptions *o,
                               const CnnSet *train, CnnSplit split) {
  CnnTrainer *t = calloc(1, sizeof *t);
  if (!t) {
    cnn_error("out of memory");
    return NULL;
  }
  *t = (CnnTrainer){.m = m, .o = o, .train = train, .split = split};
  bool ok = true;
  t->params = alloc_array(m->num_params, sizeof(float), &ok);
  t->opt_state = alloc_array(m->opt_state_floats, sizeof(float), &ok);
  t->buf.images = alloc_array(m->batch * train->pixels, sizeof(float), &ok);
  t->buf.labels = alloc_array(m->batch, sizeof(int32_t), &ok);
  t->buf.probs = alloc_array(m->batch * m->num_classes, sizeof(float), &ok);
  t->order = alloc_array(split.train, sizeof(int64_t), &ok);
  if (!ok)
    cnn_error("out of memory");
  t->buf.arena = ok ? cnn_arena_create(max64(m->train_arena_bytes,
                                             m->infer_arena_bytes)) : NULL;
  if (!t->buf.arena) {
    cnn_trainer_free(t);
    return NULL;
  }
  cnn_init_params(m, o->seed, t->params);
  cnn_progress_init(&t->progress, stdout, o->quiet);
  return t;
}

void cnn_trainer_free(CnnTrainer *t) {
  if (!t)
    return;
  free(t->params);
  free(t->opt_state);
  free(t->buf.images);
  free(t->buf.labels);
  free(t->buf.probs);
  free(t->order);
  cnn_arena_free(t->buf.arena);
  free(t);
}

/* one call of the generated step on images order[at .. at+n) */
static void train_batch(CnnTrainer *t, int64_t at, int64_t n,
                        CnnEpochStats *s, double *loss_sum, int64_t *correct) {
  const CnnModel *m = t->m;
  cnn_gather(t->train, t->order, at, n, t->buf.images, t->buf.labels);
  t->step++;
  m->train_step(t->params, t->opt_state, t->buf.images, t->buf.labels, n,
                t->buf.arena, t->step, t->o->seed, (float)t->o->lr, loss_sum,
                correct);
  s->steps++;
  s->images += n;
  s->loss = *loss_sum / (double)s->images;
  s->accuracy = (double)*correct / (double)s->images;
}

/* The first parameter that is NaN or infinite, or -1. Integer tests on
 * the bits, so that the loop vectorises: it runs after every step. */
static int64_t first_non_finite(const float *v, int64_t n) {
  uint32_t bad = 0;
  for (int64_t i = 0; i < n; i++) {
    uint32_t bits;
    memcpy(&bits, &v[i], 4);
    bad |= (bits & 0x7f800000u) == 0x7f800000u;
  }
  for (int64_t i = 0; bad && i < n; i++)
    if (!isfinite(v[i]))
      return i;
  return -1;
}

static const char *param_name(const CnnModel *m, int64_t at) {
  for (int64_t t = 0; t < m->num_param_tensors; t++)
    if (at >= m->params[t].offset && at < m->params[t].offset + m->params[t].size)
      return m->params[t].name;
  return "?";
}

static bool diverged(const CnnTrainer *t, const CnnEpochStats *s,
                     double loss_sum) {
  int64_t bad = isfinite(loss_sum)
                    ? first_non_finite(t->params, t->m->num_params) : -1;
  if (isfinite(loss_sum) && bad < 0)
    return false;
  char what[160];
  double v = bad < 0 ? loss_sum : (double)t->params[bad];
  const char *value = isnan(v) ? "NaN" : v > 0 ? "infinite" : "-infinite";
  if (bad < 0)
    snprintf(what, sizeof what, "the loss is %s", value);
  else
    snprintf(what, sizeof what, "the parameter %s holds %s values",
             param_name(t->m, bad), value);
  if (t->progress.tty && !t->progress.quiet && t->progress.width > 0)
    fputc('\n', stdout); /* the message below the bar, not after it */
  cnn_error("training diverged at epoch %" PRId64 ", step %" PRId64 "/%"
            PRId64 ": %s; stopped, and nothing was saved. Try a lower "
            "learning rate (--lr; it is %g)", s->epoch, s->steps,
            t->progress.total_steps, what, t->o->lr);
  return true;
}

static bool train_steps(CnnTrainer *t, CnnEpochStats *s, double start) {
  int64_t batch = t->o->batch, count = t->split.train;
  double loss_sum = 0;
  int64_t correct = 0;
  for (int64_t at = 0; at < count; at += batch) {
    int64_t n = count - at < batch ? count - at : batch;
    train_batch(t, at, n, s, &loss_sum, &correct);
    if (diverged(t, s, loss_sum))
      return false;
    s->train_seconds = cnn_seconds() - start;
    cnn_progress_step(&t->progress, s);
  }
  return true;
}

static bool run_epoch(CnnTrainer *t, int64_t epoch, CnnEpochStats *out) {
  const CnnOptions *o = t->o;
  double start = cnn_seconds();
  int64_t steps = (t->split.train + o->batch - 1) / o->batch;
  CnnEpochStats s = {.epoch = epoch, .epochs = o->epochs};
  cnn_shuffle(t->order, t->split.train, o->seed, epoch);
  cnn_progress_epoch_begin(&t->progress, epoch, o->epochs, steps);
  if (!train_steps(t, &s, start))
    return false;
  if (t->split.validation > 0) {
    s.has_validation = true;
    s.validation = cnn_evaluate(t->m, t->params, &t->buf, t->train,
                                t->split.validation_first,
                                t->split.validation);
  }
  s.seconds = cnn_seconds() - start;
  cnn_progress_epoch_end(&t->progress, &s);
  *out = s;
  return true;
}

bool cnn_trainer_run(CnnTrainer *t, CnnLog *log) {
  for (int64_t epoch = 1; epoch <= t->o->epochs; epoch++) {
    CnnEpochStats s;
    if (!run_epoch(t, epoch, &s))
      return false;
    if (log)
      cnn_log_row(log, &s); /* a failure is reported once; training goes on */
    cnn_stdout_ok();        /* likewise */
  }
  return true;
}

CnnScore cnn_trainer_test(CnnTrainer *t, const CnnSet *test) {
  return cnn_evaluate(t->m, t->params, &t->buf, test, 0, test->count);
}

const float *cnn_trainer_params(const CnnTrainer *t) { return t->params; }

int64_t cnn_trainer_steps(const CnnTrainer *t) { return t->step; }
