/* resume.c - reading a checkpoint back (--resume) and weights (--init).
 *
 * Both go through the one safetensors reader (stread.c), which checks
 * every bound and every value. A checkpoint's metadata is looked at
 * before its tensors, so that each wrong file gets its own message: a
 * --save file (weights only), a checkpoint of another model, of this model
 * but another run (a flag that changes the results differs: the message
 * names it and both values), or a file that is cut or corrupt. */
#include "runtime.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stread.h"

/* The reader's messages start with the file's name: the flag goes first,
 * so that a run given both --resume and --data files says which. */
typedef struct Source {
  const char *flag, *path;
} Source;

static void report(const char *msg, void *ctx) {
  const Source *src = ctx;
  size_t n = strlen(src->path);
  if (strncmp(msg, src->path, n) == 0 && msg[n] == ':')
    cnn_error("%s %s", src->flag, msg);
  else
    cnn_error("%s %s: %s", src->flag, src->path, msg);
}

/* Each parameter, then (for a checkpoint) each of its state slots, into
 * `torch` in the file's layout, at the offsets of params then state. */
static int wanted(const CnnModel *m, bool state, float *torch, StWant *w,
                  Arena *a) {
  int n = 0, slots = state ? cnn_state_slots(m) : 0;
  for (int k = -1; k < slots; k++)
    for (int64_t t = 0; t < m->num_param_tensors; t++) {
      const CnnParam *p = &m->params[t];
      if (k >= 0 && !p->trainable)
        continue; /* a buffer: no optimizer state */
      int64_t at = k < 0 ? p->offset
                         : m->num_params + cnn_state_offset(m, p, k);
      const char *name =
          k < 0 ? p->name
                : arena_printf(a, "%s.%s", p->name, cnn_state_name(m, k));
      w[n] = (StWant){name, 0, {0}, torch + at, false,
                      k < 0 && p->dtype == CNN_I64};
      w[n].rank = cnn_torch_shape(p, w[n].shape);
      n++;
    }
  return n;
}

static void to_cnnc(const CnnModel *m, const float *torch, float *params,
                    float *state) {
  int slots = state ? cnn_state_slots(m) : 0;
  for (int64_t t = 0; t < m->num_param_tensors; t++) {
    const CnnParam *p = &m->params[t];
    cnn_from_torch(p, torch + p->offset, params + p->offset);
    for (int k = 0; k < slots && p->trainable; k++) {
      int64_t at = cnn_state_offset(m, p, k);
      cnn_from_torch(p, torch + m->num_params + at, state + at);
    }
  }
}

/* --- --resume: the metadata first ------------------------------------------- */

typedef struct Resume {
  const CnnModel *m;
  const CnnFingerprint *f;
  const char *path;
  CnnRunState *r;
  const CnnRunShape *shape;
  const char *data; /* the --data folder, for messages */
} Resume;

static const char *const flag_of[FP_COUNT] = {
    NULL, "--batch", "--seed", "--lr", "--limit", "--validation", "--data",
    "--epochs"};

static bool kind_ok(const Resume *c, const StMeta *meta, int n) {
  const char *kind = st_meta(meta, n, "cnnc.kind");
  const char *producer = st_meta(meta, n, "producer");
  const char *model = st_meta(meta, n, "model");
  if (kind && strcmp(kind, "checkpoint") == 0) {
    if (model && strcmp(model, c->m->name) == 0)
      return true;
    cnn_error("--resume %s: a checkpoint of the model '%s', not of '%s'",
              c->path, model ? model : "?", c->m->name);
  } else if (producer && strncmp(producer, "cnnc", 4) == 0) {
    cnn_error("--resume %s: holds the weights only (a --save file), not a "
              "run's state; --resume needs a --checkpoint file (to start "
              "from these weights, use --init %s)", c->path, c->path);
  } else {
    cnn_error("--resume %s: not a cnnc checkpoint (its metadata has no "
              "cnnc.kind); to start from its weights, use --init %s",
              c->path, c->path);
  }
  return false;
}

/* Every value that changes the results, as this run has it; each that
 * differs is named. */
static bool same_run(const Resume *c, const StMeta *meta, int n) {
  const char *model = st_meta(meta, n, cnn_fingerprint_key[FP_MODEL]);
  if (!model || strcmp(model, c->f->value[FP_MODEL]) != 0) {
    cnn_error("--resume %s: a checkpoint of another version of the model "
              "'%s' (its layers, optimizer, compiled batch, data kind or augmentation differ)",
              c->path, c->m->name);
    return false;
  }
  bool ok = true;
  for (int k = FP_MODEL + 1; k < FP_COUNT; k++) {
    const char *was = st_meta(meta, n, cnn_fingerprint_key[k]);
    if (was && strcmp(was, c->f->value[k]) == 0)
      continue;
    if (k == FP_BATCH)
      cnn_error("--resume %s: updates of %s images (--batch, times "
                "--accumulate), but the checkpoint was written with updates "
                "of %s; the run would not continue the same way", c->path,
                c->f->value[k], was ? was : "?");
    else if (k == FP_DATA)
      cnn_error("--resume %s: --data %s holds other images (%s) than the "
                "checkpoint's run (%s); the run would not continue the same "
                "way", c->path, c->data, c->f->value[k], was ? was : "?");
    else
      cnn_error("--resume %s: %s %s, but the checkpoint was written with %s "
                "%s; the run would not continue the same way%s", c->path,
                flag_of[k], c->f->value[k], flag_of[k] + 2, was ? was : "?",
                k == FP_EPOCHS ? " (the schedule's rates depend on the run's "
                                 "length)" : "");
    ok = false;
  }
  return ok;
}

static bool counter(const Resume *c, const StMeta *meta, int n,
                    const char *key, int64_t *out) {
  const char *v = st_meta(meta, n, key);
  char *end = NULL;
  errno = 0;
  long long x = v ? strtoll(v, &end, 10) : -1;
  if (v && *v && !*end && !errno && x >= 0) {
    *out = x;
    return true;
  }
  cnn_error("--resume %s: corrupt checkpoint: %s is '%s'", c->path, key,
            v ? v : "missing");
  return false;
}

static bool real(const Resume *c, const StMeta *meta, int n, const char *key,
                 double *out) {
  const char *v = st_meta(meta, n, key);
  char *end = NULL;
  *out = v ? strtod(v, &end) : 0;
  if (v && *v && !*end)
    return true;
  cnn_error("--resume %s: corrupt checkpoint: %s is '%s'", c->path, key,
            v ? v : "missing");
  return false;
}

static bool rows(const Resume *c, const StMeta *meta, int n) {
  const char *v = st_meta(meta, n, "cnnc.log_rows");
  size_t len = v ? strlen(v) : 0;
  if (v && len < c->r->rows_cap) {
    memcpy(c->r->rows, v, len + 1);
    c->r->rows_len = len;
    return true;
  }
  cnn_error("--resume %s: corrupt checkpoint: cnnc.log_rows is %s", c->path,
            v ? "longer than its epochs' rows can be" : "missing");
  return false;
}

static bool corrupt(const Resume *c, const char *key, const char *why) {
  cnn_error("--resume %s: corrupt checkpoint: %s %s", c->path, key, why);
  return false;
}

/* The best validation so far is of an epoch done, and patience's count
 * of epochs done since. */
static bool best_consistent(const Resume *c) {
  const CnnRunState *r = c->r;
  if (!(r->best_val_loss >= 0))
    return corrupt(c, "cnnc.best_val_loss", "is not a loss");
  if (r->best_loss_epoch >= r->epoch)
    return corrupt(c, "cnnc.best_loss_epoch", "is not an epoch done");
  if (r->epochs_no_better > r->epoch - 1 - r->best_loss_epoch)
    return corrupt(c, "cnnc.epochs_no_better", "is more than the epochs "
                   "since the best");
  if (!(r->best_val_accuracy >= -1 && r->best_val_accuracy <= 1))
    return corrupt(c, "cnnc.best_val_accuracy", "is not an accuracy");
  if (r->best_accuracy_epoch >= r->epoch)
    return corrupt(c, "cnnc.best_accuracy_epoch", "is not an epoch done");
  return true;
}

/* The counters of a run of this batch and data are tied together: a
 * damaged or hand-edited file that is still valid safetensors must not
 * start an epoch 0, or a batch at a negative image. */
static bool consistent(const Resume *c) {
  const CnnRunState *r = c->r;
  const CnnRunShape *s = c->shape;
  if (r->epoch < 1 || r->epoch > INT64_MAX / (s->steps + 1))
    return corrupt(c, "cnnc.epoch", "is out of range");
  if (r->epoch_steps > s->steps)
    return corrupt(c, "cnnc.epoch_steps", "is more than an epoch's steps");
  if (r->step != (r->epoch - 1) * s->steps + r->epoch_steps)
    return corrupt(c, "cnnc.step", "does not match the epoch and its steps");
  int64_t images = r->epoch_steps * s->batch;
  if (r->images != (images < s->images ? images : s->images))
    return corrupt(c, "cnnc.images", "does not match the epoch's steps");
  if (r->correct > r->images)
    return corrupt(c, "cnnc.correct", "is more than the images");
  if (!(r->loss_sum >= 0 && r->loss_sum < HUGE_VAL))
    return corrupt(c, "cnnc.loss_sum", "is not a finite sum");
  if (!(r->train_seconds >= 0 && r->train_seconds < HUGE_VAL))
    return corrupt(c, "cnnc.train_seconds", "is not a finite time");
  return best_consistent(c);
}

/* A sound checkpoint of a run further on than --epochs asks. */
static bool within_epochs(const Resume *c) {
  const CnnRunState *r = c->r;
  int64_t done = r->epoch - 1 + (r->epoch_steps > 0);
  if (done <= c->shape->epochs)
    return true;
  cnn_error("--resume %s: --epochs %" PRId64 ", but the checkpoint's run has "
            "trained %s%" PRId64 " epochs already; give --epochs %" PRId64
            " or more", c->path, c->shape->epochs,
            r->epoch_steps > 0 ? "into " : "", done, done);
  return false;
}

static bool run_state(const Resume *c, const StMeta *meta, int n) {
  CnnRunState *r = c->r;
  return counter(c, meta, n, "cnnc.epoch", &r->epoch) &&
         counter(c, meta, n, "cnnc.epoch_steps", &r->epoch_steps) &&
         counter(c, meta, n, "cnnc.step", &r->step) &&
         counter(c, meta, n, "cnnc.images", &r->images) &&
         counter(c, meta, n, "cnnc.correct", &r->correct) &&
         real(c, meta, n, "cnnc.loss_sum", &r->loss_sum) &&
         real(c, meta, n, "cnnc.train_seconds", &r->train_seconds) &&
         real(c, meta, n, "cnnc.best_val_loss", &r->best_val_loss) &&
         counter(c, meta, n, "cnnc.best_loss_epoch", &r->best_loss_epoch) &&
         counter(c, meta, n, "cnnc.epochs_no_better", &r->epochs_no_better) &&
         real(c, meta, n, "cnnc.best_val_accuracy", &r->best_val_accuracy) &&
         counter(c, meta, n, "cnnc.best_accuracy_epoch",
                 &r->best_accuracy_epoch) &&
         consistent(c) && within_epochs(c) && rows(c, meta, n);
}

static bool check_checkpoint(const StMeta *meta, int n, void *ctx) {
  const Resume *c = ctx;
  return kind_ok(c, meta, n) && same_run(c, meta, n) &&
         run_state(c, meta, n);
}

/* --- reading ------------------------------------------------------------------- */

static bool load(const CnnModel *m, const char *path, bool state,
                 StRequest *q, float *params, float *opt_state) {
  /* at most: every tensor with every slot */
  int count = (int)m->num_param_tensors * (1 + (state ? cnn_state_slots(m) : 0));
  float *torch = malloc((size_t)(m->num_params + (state ? m->opt_state_floats
                                                        : 0) + 1) *
                        sizeof *torch);
  StWant *want = malloc((size_t)(count + 1) * sizeof *want);
  bool ok = torch && want;
  if (!ok)
    cnn_error("out of memory reading %s", path);
  Arena a;
  arena_init(&a);
  if (ok) {
    q->want = want;
    q->nwant = q->nrequired = wanted(m, state, torch, want, &a);
    q->model = m->name;
    ok = st_load(path, q, NULL, NULL, &a);
  }
  arena_free_all(&a);
  if (ok)
    to_cnnc(m, torch, params, state ? opt_state : NULL);
  free(torch);
  free(want);
  return ok;
}

bool cnn_read_checkpoint(const CnnModel *m, const CnnFingerprint *f,
                         const CnnRunShape *shape, const char *path,
                         float *params, float *state, CnnRunState *r) {
  Resume c = {m, f, path, r, shape, shape->data};
  Source src = {"--resume", path};
  StRequest q = {.check_meta = check_checkpoint, .ctx = &c, .error = report,
                 .error_ctx = &src};
  return load(m, path, true, &q, params, state);
}

/* --init takes a checkpoint too: its optimizer's state is left aside. */
static bool optimizer_state(const char *name, void *ctx) {
  const char *dot = strrchr(name, '.');
  const CnnModel *m = ctx;
  static const char *const kinds[] = {"exp_avg", "exp_avg_sq",
                                      "momentum_buffer"};
  bool state = false;
  for (int i = 0; dot && i < 3; i++)
    state |= strcmp(dot + 1, kinds[i]) == 0;
  for (int64_t t = 0; state && t < m->num_param_tensors; t++)
    if (strncmp(name, m->params[t].name, (size_t)(dot - name)) == 0 &&
        m->params[t].name[dot - name] == '\0')
      return true;
  return false;
}

bool cnn_read_weights(const CnnModel *m, const char *path, float *params) {
  Source src = {"--init", path};
  StRequest q = {.tolerated = optimizer_state, .ctx = (void *)m,
                 .error = report, .error_ctx = &src};
  return load(m, path, false, &q, params, NULL);
}
