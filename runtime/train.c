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
 * where and what to try: NaN weights are never trained on nor saved.
 *
 * Where the run stands lives in one CnnRunState (epoch, steps done in it,
 * the epoch's running sums, the CSV rows so far), which is all a
 * checkpoint needs besides the weights and the optimizer's state: every
 * other input of a step is a pure function of it (the shuffle order of
 * (seed, epoch), the dropout masks of (seed, step), the learning rate and
 * momentum of (step, the run's epochs and steps an epoch): schedule.c).
 * So a run resumed from a checkpoint takes exactly the steps the
 * uninterrupted run takes.
 *
 * After each epoch's validation the run state keeps the best val_loss
 * (patience = N stops the run when N epochs in a row have not lowered it,
 * as Keras' EarlyStopping with min_delta 0) and the best val_accuracy
 * (--save-best writes the weights of each epoch that raises it, as Keras'
 * ModelCheckpoint with save_best_only). */
#include "runtime.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "comm.h"

struct CnnTrainer {
  const CnnModel *m;
  const CnnOptions *o;
  const CnnSet *train;
  CnnSplit split;
  float *params, *opt_state;
  CnnEvalBuffers buf; /* the arena and one batch, shared with evaluation */
  CnnStepper *stepper;
  int64_t *order;     /* this epoch's training images */
  CnnRunState run;
  CnnProgress progress;
  CnnFingerprint fingerprint;
  CnnScheduleRun schedule;
  CnnSaver *checkpoint; /* with --checkpoint */
  int64_t checkpoint_failures;
  CnnSaver *best;       /* with --save-best */
  int64_t best_failures;
  bool checkpoint_current; /* the last write succeeded */
  int64_t written_epoch, written_step; /* where it stood */
};

void *cnn_alloc_zeroed(int64_t count, size_t size, bool *ok) {
  void *p = calloc(count > 0 ? (size_t)count : 1, size);
  *ok = *ok && p;
  return p;
}

static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* the images of an update: --accumulate's batches */
static int64_t step_images(const CnnTrainer *t) {
  return t->o->batch * t->o->accumulate;
}

static bool allocate(CnnTrainer *t) {
  const CnnModel *m = t->m;
  bool ok = true;
  t->params = cnn_alloc_zeroed(m->num_params, sizeof(float), &ok);
  t->opt_state = cnn_alloc_zeroed(m->opt_state_floats, sizeof(float), &ok);
  t->buf.images = cnn_alloc_zeroed(m->batch * t->train->pixels, sizeof(float), &ok);
  t->buf.labels = cnn_alloc_zeroed(m->batch, sizeof(int32_t), &ok);
  t->buf.probs = cnn_alloc_zeroed(m->batch * m->num_classes, sizeof(float), &ok);
  t->order = cnn_alloc_zeroed(t->split.train, sizeof(int64_t), &ok);
  t->run.rows_cap = (size_t)(t->o->epochs + 1) * CNN_LOG_ROW;
  t->run.rows = cnn_alloc_zeroed((int64_t)t->run.rows_cap, 1, &ok);
  if (!ok)
    cnn_error("out of memory");
  t->buf.arena = ok ? cnn_arena_create(max64(m->train_arena_bytes,
                                             m->infer_arena_bytes)) : NULL;
  t->stepper = t->buf.arena ? cnn_stepper_create(m, step_images(t),
                                                 t->train->pixels) : NULL;
  return t->stepper != NULL;
}

static int64_t steps_per_epoch(const CnnTrainer *t) {
  return (t->split.train + step_images(t) - 1) / step_images(t);
}

/* --resume's state, --init's weights, or Keras' initialisation */
static bool starting_point(CnnTrainer *t) {
  const CnnOptions *o = t->o;
  t->run.epoch = 1;
  t->run.best_val_loss = HUGE_VAL;
  t->run.best_val_accuracy = -1;
  if (o->resume) {
    int64_t steps = steps_per_epoch(t);
    CnnRunShape shape = {steps, step_images(t), t->split.train, o->epochs,
                         o->data};
    return cnn_read_checkpoint(t->m, &t->fingerprint, &shape, o->resume,
                               t->params, t->opt_state, &t->run);
  }
  if (o->init)
    return cnn_read_weights(t->m, o->init, t->params);
  cnn_init_params(t->m, o->seed, t->params);
  return true;
}

CnnTrainer *cnn_trainer_create(const CnnModel *m, const CnnOptions *o,
                               const CnnSet *train, const CnnSet *test,
                               CnnSplit split) {
  CnnTrainer *t = calloc(1, sizeof *t);
  if (!t) {
    cnn_error("out of memory");
    return NULL;
  }
  *t = (CnnTrainer){.m = m, .o = o, .train = train, .split = split};
  t->schedule = (CnnScheduleRun){o->lr, o->epochs, steps_per_epoch(t)};
  cnn_fingerprint(m, o, train, test, &t->fingerprint);
  bool ok = allocate(t) && starting_point(t);
  if (ok && o->checkpoint && cnn_comm_rank() == 0) /* rank 0 writes */
    ok = (t->checkpoint = cnn_checkpoint_saver(m, t->params, t->opt_state,
                                               t->run.rows_cap)) != NULL;
  if (ok && o->save_best && cnn_comm_rank() == 0)
    ok = (t->best = cnn_weights_saver(m, t->params)) != NULL;
  if (!ok) {
    cnn_trainer_free(t);
    return NULL;
  }
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
  free(t->run.rows);
  cnn_saver_free(t->checkpoint);
  cnn_saver_free(t->best);
  cnn_stepper_free(t->stepper);
  cnn_arena_free(t->buf.arena);
  free(t);
}

typedef struct BatchGather {
  const CnnTrainer *t;
  int64_t at; /* the step's first image in this epoch's order */
  CnnAugment aug;
} BatchGather;

static void gather_batch(void *ctx, int64_t first, int64_t count,
                         float *images, int32_t *labels) {
  const BatchGather *b = ctx;
  cnn_gather(b->t->train, b->t->order, b->at + first, count, &b->aug, images,
             labels);
}

/* one step on images order[at .. at+n) */
static void train_batch(CnnTrainer *t, int64_t at, int64_t n) {
  const CnnModel *m = t->m;
  CnnRunState *r = &t->run;
  BatchGather g = {t, at, {.shift = m->augment_shift,
                           .flip = m->augment_flip != 0, .seed = t->o->seed,
                           .epoch = r->epoch}};
  CnnRate rate = cnn_schedule_rate(m, &t->schedule, r->step);
  r->step++;
  CnnStepArgs a = {t->params, t->opt_state, t->buf.arena, n, gather_batch,
                   &g, r->step, t->o->seed, (float)rate.lr,
                   (float)rate.momentum, &r->loss_sum, &r->correct};
  cnn_step(t->stepper, &a);
  r->epoch_steps++;
  r->images += n;
}

/* the epoch's report from where the run stands; the rate is its last
 * step's (before the first, the one it will take) */
static void stats_of(const CnnTrainer *t, CnnEpochStats *s) {
  const CnnRunState *r = &t->run;
  int64_t last = r->step - (r->epoch_steps > 0);
  s->lr = cnn_schedule_rate(t->m, &t->schedule, last).lr;
  s->steps = r->epoch_steps;
  s->images = r->images;
  s->loss = r->images ? r->loss_sum / (double)r->images : 0;
  s->accuracy = r->images ? (double)r->correct / (double)r->images : 0;
  s->train_seconds = r->train_seconds;
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

static bool diverged(const CnnTrainer *t, const CnnEpochStats *s) {
  double loss_sum = t->run.loss_sum;
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

/* A checkpoint that cannot be written is reported, and training goes on:
 * the previous one stays valid; the exit status will be 1. */
static void write_checkpoint(CnnTrainer *t) {
  const CnnRunState *r = &t->run;
  bool same = t->checkpoint_current && r->epoch == t->written_epoch &&
              r->step == t->written_step;
  if (!t->checkpoint || same) /* a stop just after an epoch's write */
    return;
  t->checkpoint_current = cnn_write_checkpoint(
      t->checkpoint, t->m, &t->fingerprint, r, t->o->checkpoint);
  t->checkpoint_failures += !t->checkpoint_current;
  t->written_epoch = r->epoch;
  t->written_step = r->step;
}

static bool every_n_steps(const CnnTrainer *t) {
  int64_t n = t->o->checkpoint_every;
  return n > 0 && t->run.step % n == 0;
}

typedef enum Outcome { GO_ON, FAILED, STOPPED } Outcome;

/* A signal asked to stop: the state is saved first (see interrupt.c). In
 * a job of several processes, all stop at the step where any was asked
 * (the signal may reach them at different steps). */
static Outcome stop_if_asked(CnnTrainer *t) {
  if (!cnn_stop_requested())
    return GO_ON;
  write_checkpoint(t);
  return STOPPED;
}

static Outcome train_steps(CnnTrainer *t, CnnEpochStats *s, double start) {
  int64_t batch = step_images(t), count = t->split.train;
  for (int64_t at = t->run.epoch_steps * batch; at < count; at += batch) {
    train_batch(t, at, count - at < batch ? count - at : batch);
    t->run.train_seconds = cnn_seconds() - start;
    stats_of(t, s);
    if (diverged(t, s))
      return FAILED;
    cnn_progress_step(&t->progress, s);
    if (every_n_steps(t))
      write_checkpoint(t);
    if (stop_if_asked(t) == STOPPED)
      return STOPPED;
  }
  return GO_ON;
}

/* The epoch done: its row, and the state of the next one's start. */
static void close_epoch(CnnTrainer *t, const CnnEpochStats *s, CnnLog *log) {
  CnnRunState *r = &t->run;
  char row[CNN_LOG_ROW];
  size_t len = cnn_log_format(s, row, sizeof row);
  if (len && r->rows_len + len < r->rows_cap) {
    memcpy(r->rows + r->rows_len, row, len + 1);
    r->rows_len += len;
  }
  if (log)
    cnn_log_row(log, row); /* a failure is reported once; training goes on */
  if (t->o->plot && cnn_comm_rank() == 0) /* likewise */
    cnn_plot_write(t->o->plot, t->m->name, t->o->epochs, r->rows);
  cnn_stdout_ok();         /* likewise */
  /* the next epoch starts; the step, the rows and the best stay */
  r->epoch = s->epoch + 1;
  r->epoch_steps = r->images = r->correct = 0;
  r->loss_sum = r->train_seconds = 0;
  write_checkpoint(t);
}

/* --save-best: a failure is reported, and training goes on (the file
 * keeps the previous best); the exit status will be 1 */
static void save_best(CnnTrainer *t, const CnnEpochStats *s) {
  if (!t->best)
    return;
  if (!cnn_write_best(t->best, t->m, t->o, s->epoch, t->run.step,
                      s->validation.accuracy)) {
    t->best_failures++;
    return;
  }
  if (!t->o->quiet)
    printf("epoch %" PRId64 ": val_accuracy improved to %.4f; saved %s\n",
           s->epoch, s->validation.accuracy, t->o->save_best);
}

/* Keras' EarlyStopping (min_delta 0, mode min) and ModelCheckpoint
 * (save_best_only, mode max): better is strictly lower, or higher */
static void track_validation(CnnTrainer *t, const CnnEpochStats *s) {
  CnnRunState *r = &t->run;
  if (s->validation.loss < r->best_val_loss) {
    r->best_val_loss = s->validation.loss;
    r->best_loss_epoch = s->epoch;
    r->epochs_no_better = 0;
  } else {
    r->epochs_no_better++;
  }
  if (s->validation.accuracy > r->best_val_accuracy) {
    r->best_val_accuracy = s->validation.accuracy;
    r->best_accuracy_epoch = s->epoch;
    save_best(t, s);
  }
}

/* patience = N is spent: N epochs without a better val_loss (Keras never
 * stops after the first epoch) */
static bool patience_spent(const CnnTrainer *t) {
  const CnnRunState *r = &t->run;
  return t->m->patience > 0 && r->epoch > 2 &&
         r->epochs_no_better >= t->m->patience;
}

/* patience spent: says so, once */
static bool stopped_early(const CnnTrainer *t) {
  const CnnRunState *r = &t->run;
  if (!patience_spent(t))
    return false;
  if (t->o->quiet)
    return true;
  printf("early stopping after epoch %" PRId64 ": val_loss has not improved "
         "for %" PRId64 " epochs (patience %" PRId64 "; the best, %.4f, was "
         "at epoch %" PRId64 ")\n", r->epoch - 1, r->epochs_no_better,
         t->m->patience, r->best_val_loss, r->best_loss_epoch);
  cnn_stdout_ok();
  return true;
}

static Outcome run_epoch(CnnTrainer *t, int64_t epoch, CnnLog *log) {
  const CnnOptions *o = t->o;
  /* a resumed epoch's clock goes on from its checkpoint's */
  double start = cnn_seconds() - t->run.train_seconds;
  int64_t steps = steps_per_epoch(t);
  CnnEpochStats s = {.epoch = epoch, .epochs = o->epochs};
  stats_of(t, &s);
  cnn_shuffle(t->order, t->split.train, o->seed, epoch);
  cnn_progress_epoch_begin(&t->progress, epoch, o->epochs, steps);
  Outcome out = train_steps(t, &s, start);
  if (out != GO_ON)
    return out;
  if (t->split.validation > 0) {
    s.has_validation = true;
    s.validation = cnn_evaluate(t->m, t->params, &t->buf, t->train,
                                t->split.validation_first,
                                t->split.validation);
  }
  s.seconds = cnn_seconds() - start;
  cnn_progress_epoch_end(&t->progress, &s);
  if (s.has_validation)
    track_validation(t, &s);
  close_epoch(t, &s, log);
  return stop_if_asked(t);
}

int cnn_trainer_run(CnnTrainer *t, CnnLog *log) {
  for (int64_t epoch = t->run.epoch; epoch <= t->o->epochs; epoch++) {
    if (stopped_early(t)) /* a resumed run that had stopped */
      return 0;
    Outcome out = run_epoch(t, epoch, log);
    if (out == FAILED)
      return -1;
    if (out == STOPPED)
      return cnn_stop_requested();
    if (stopped_early(t))
      return 0;
  }
  return 0;
}

CnnScore cnn_trainer_test(CnnTrainer *t, const CnnSet *test,
                          int64_t *confusion) {
  return cnn_evaluate_confusion(t->m, t->params, &t->buf, test, 0,
                                test->count, confusion);
}

CnnScore cnn_trainer_validate(CnnTrainer *t) {
  return cnn_evaluate(t->m, t->params, &t->buf, t->train,
                      t->split.validation_first, t->split.validation);
}

const float *cnn_trainer_params(const CnnTrainer *t) { return t->params; }

const CnnFingerprint *cnn_trainer_fingerprint(const CnnTrainer *t) {
  return &t->fingerprint;
}

uint64_t cnn_trainer_start_hash(const CnnTrainer *t) {
  const CnnModel *m = t->m;
  const CnnRunState *r = &t->run;
  uint64_t h = 0xcbf29ce484222325u;
  h = cnn_hash(h, t->params, (size_t)m->num_params * sizeof(float));
  h = cnn_hash(h, t->opt_state, (size_t)m->opt_state_floats * sizeof(float));
  int64_t at[] = {r->epoch, r->step, r->epoch_steps, r->images, r->correct};
  return cnn_hash(h, at, sizeof at);
}

int64_t cnn_trainer_steps(const CnnTrainer *t) { return t->run.step; }

const CnnRunState *cnn_trainer_state(const CnnTrainer *t) { return &t->run; }

int64_t cnn_trainer_checkpoint_failures(const CnnTrainer *t) {
  return t->checkpoint_failures;
}

int64_t cnn_trainer_best_failures(const CnnTrainer *t) {
  return t->best_failures;
}

bool cnn_trainer_checkpoint_current(const CnnTrainer *t) {
  return t->checkpoint_current;
}
