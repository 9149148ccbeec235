/* lower_train.c - the train block: loss, optimizer and the recipe.
 *
 * Defaults follow Keras, the article's framework: adam(lr=0.001,
 * beta1=0.9, beta2=0.999, eps=1e-7), sgd(lr=0.01, momentum=0), batch 32,
 * one epoch, seed 1, no validation split. Settings are checked in the order
 * they are written, so errors come out in source order. Optimizer numbers
 * are checked as the float32 the generated code computes with. */
#include <math.h>
#include <string.h>

#include "args.h"
#include "ast.h"
#include "ir.h"

enum { MAX_BATCH = 1 << 16, MAX_EPOCHS = 1 << 20 };

/* data = KIND("DIR"): the kinds, as the .cnn spells them */
static const char *const KINDS[] = {
#define DATA_KIND(e, spelling, files) spelling,
#include "../runtime/data_kinds.def"
#undef DATA_KIND
};

static const char *const keys[] = {
    "loss", "optimizer", "batch", "epochs", "seed", "validation", "data",
    "augment", "schedule", "patience", "label_smoothing"};
enum { KEY_LOSS, KEY_OPTIMIZER, KEY_BATCH, KEY_EPOCHS, KEY_SEED,
       KEY_VALIDATION, KEY_DATA, KEY_AUGMENT, KEY_SCHEDULE, KEY_PATIENCE,
       KEY_LABEL_SMOOTHING, NKEYS };

static TrainSpec defaults(void) {
  TrainSpec t = {0};
  t.loss = LOSS_CROSS_ENTROPY;
  t.opt = ir_default_optimizer(OPT_ADAM);
  t.schedule = (Schedule){SCHEDULE_CONSTANT, 1, 1, 0, 0};
  t.batch = 32;
  t.epochs = 1;
  t.seed = 1;
  return t;
}

/* The key's index; -1 after reporting an unknown or repeated key. */
static int key_of(Diag *d, const AstSetting *s, const AstSetting **seen) {
  int k = 0;
  while (k < NKEYS && strcmp(keys[k], s->key) != 0)
    k++;
  if (k == NKEYS) {
    if (foreign_name(d, s->loc, NULL, "train setting", s->key, keys, NKEYS))
      return -1;
    const char *sug = suggest(s->key, keys, NKEYS);
    if (sug)
      diag_error(d, s->loc, "unknown train setting '%s'; did you mean '%s'?",
                 s->key, sug);
    else
      diag_error(d, s->loc, "unknown train setting '%s'", s->key);
    return -1;
  }
  if (seen[k]) {
    diag_error(d, s->loc, "train setting '%s' is given twice", s->key);
    diag_note(d, seen[k]->loc, "first given here");
    return -1;
  }
  seen[k] = s;
  return k;
}

/* validation = 5000 (images) | 0.1 (a fraction of the training set) */
static void lower_validation(Diag *d, const AstValue *v, TrainSpec *t) {
  if (v->kind == VAL_FLOAT) {
    if (v->f > 0 && v->f < 1)
      t->validation_frac = v->f;
    else
      diag_error(d, v->loc, "train: 'validation' as a fraction must be in "
                 "(0, 1), got %s", v->text);
    return;
  }
  value_int(d, v, "train", "validation", 0, INT64_C(1) << 40,
            &t->validation);
}

/* data = idx("DIR") | cifar10("DIR") | cifar100("DIR", label=fine|coarse)
 * | npy("DIR") */
static void lower_data(Diag *d, const AstValue *v, TrainSpec *t) {
  static const char *const labels[] = {"fine", "coarse"};
  static const ParamSpec spec[] = {{"path", true, true}, {"label", false, false}};
  if (v->kind != VAL_CALL && v->kind != VAL_IDENT) {
    diag_error(d, v->loc, "train: 'data' must be a source and its folder: "
               "idx(\"FOLDER\"), cifar10(\"FOLDER\"), cifar100(\"FOLDER\") or "
               "npy(\"FOLDER\")");
    return;
  }
  int k = value_callee_choice(d, v, "train", "data", KINDS, DATA_KIND_COUNT);
  if (k < 0)
    return;
  if (v->kind != VAL_CALL) {
    diag_error(d, v->loc, "train: 'data' must be %s(\"FOLDER\"), the folder "
               "of its files", KINDS[k]);
    return;
  }
  AstValue *a[2] = {0};
  const char *path;
  int nspecs = k == DATA_CIFAR100 ? 2 : 1;
  if (!args_bind(d, KINDS[k], v->loc, v->args, spec, nspecs, a) ||
      !value_string(d, a[0], KINDS[k], "path", &path))
    return;
  if (!*path)
    diag_error(d, a[0]->loc, "%s: the path is empty", KINDS[k]);
  int label = a[1] ? value_choice(d, a[1], "cifar100", "label", labels, 2) : 0;
  t->data = path;
  t->data_kind = (DataKind)k;
  t->data_label = label == 1 ? CIFAR_LABEL_COARSE : CIFAR_LABEL_FINE;
  t->data_loc = v->loc;
}

/* torch.nn.CrossEntropyLoss(label_smoothing=X): X in [0, 1) */
static void lower_label_smoothing(Diag *d, const AstValue *v, TrainSpec *t) {
  double x;
  if (!value_float(d, v, "train", "label_smoothing", &x))
    return;
  if (x >= 0 && (float)x < 1)
    t->label_smoothing = x;
  else
    diag_error(d, v->loc, "train: 'label_smoothing' must be in [0, 1), got %s",
               v->text);
}

static void lower_setting(Diag *d, int key, const AstValue *v, TrainSpec *t) {
  static const char *const losses[] = {"cross_entropy"};
  int64_t seed;
  switch (key) {
  case KEY_LOSS: value_choice(d, v, "train", "loss", losses, 1); return;
  case KEY_OPTIMIZER: ir_lower_optimizer(d, v, &t->opt); return;
  case KEY_BATCH:
    value_int(d, v, "train", "batch", 1, MAX_BATCH, &t->batch);
    return;
  case KEY_EPOCHS:
    value_int(d, v, "train", "epochs", 1, MAX_EPOCHS, &t->epochs);
    return;
  case KEY_SEED:
    if (value_int(d, v, "train", "seed", 0, INT64_MAX, &seed))
      t->seed = (uint64_t)seed;
    return;
  case KEY_VALIDATION: lower_validation(d, v, t); return;
  case KEY_DATA: lower_data(d, v, t); return;
  case KEY_AUGMENT: ir_lower_augment(d, v, t); return;
  case KEY_SCHEDULE:
    ir_lower_schedule(d, v, &t->schedule);
    t->schedule_loc = v->loc;
    return;
  case KEY_PATIENCE:
    value_int(d, v, "train", "patience", 1, MAX_EPOCHS, &t->patience);
    t->patience_loc = v->loc;
    return;
  case KEY_LABEL_SMOOTHING: lower_label_smoothing(d, v, t); return;
  }
  unreachable();
}

/* CIFAR's images are 32x32x3: a model that cannot take them is a
 * compile-time error, not a run-time one (infer-shapes checks the
 * classes, ir_data_classes). */
static void check_data_shape(Module *m, const TrainSpec *t) {
  if (t->data_kind != DATA_CIFAR10 && t->data_kind != DATA_CIFAR100)
    return;
  if (!m->input || !m->output)
    return;
  const Shape *in = &m->input->shape;
  const char *kind = ir_data_kind_name(t->data_kind);
  if (in->rank != 3 || in->dim[0] != 32 || in->dim[1] != 32 || in->dim[2] != 3) {
    char shape[64];
    ir_shape_str(in, shape, sizeof shape);
    diag_error(m->diag, t->data_loc, "train: %s images are 32x32x3, but the "
               "model '%s' takes %s", kind, m->name, shape);
  }
}

int64_t ir_data_classes(const TrainSpec *t) {
  switch (t->data_kind) {
  case DATA_CIFAR10: return 10;
  case DATA_CIFAR100: return t->data_label == CIFAR_LABEL_COARSE ? 20 : 100;
  case DATA_IDX:
  case DATA_NPY: return 0;
  case DATA_KIND_COUNT: break;
  }
  unreachable();
}

const char *ir_data_kind_name(DataKind k) { return KINDS[k]; }

bool ir_lower_train(Module *m, const Ast *ast, Loc *loss_loc) {
  Diag *d = m->diag;
  int before = d->errors;
  const AstSetting *seen[NKEYS] = {0};
  TrainSpec t = defaults();
  for (const AstSetting *s = ast->settings; s; s = s->next) {
    int k = key_of(d, s, seen);
    if (k == KEY_LOSS)
      *loss_loc = s->value->loc;
    if (k >= 0)
      lower_setting(d, k, s->value, &t);
  }
  m->has_train = true;
  m->train = t;
  if (d->errors == before)
    check_data_shape(m, &t);
  if (d->errors == before && t.patience && t.validation == 0 &&
      t.validation_frac == 0)
    diag_error(d, t.patience_loc, "train: patience stops on the validation "
               "loss, but the train block holds no validation images: add "
               "validation = N (or a fraction)");
  if (d->errors == before && t.schedule.kind == SCHEDULE_ONECYCLE &&
      t.opt.kind == OPT_SGD && !(t.opt.momentum > 0))
    diag_error(d, t.schedule_loc, "train: onecycle cycles sgd's momentum "
               "(0.95 to 0.85, as torch's OneCycleLR): give sgd a momentum, "
               "e.g. sgd(lr=0.1, momentum=0.9)");
  if (d->errors == before && t.schedule.kind == SCHEDULE_COSINE &&
      t.schedule.warmup >= t.epochs)
    diag_error(d, t.schedule_loc, "train: cosine's warmup of %lld epochs "
               "leaves none of the %lld to anneal", (long long)t.schedule.warmup,
               (long long)t.epochs);
  if (d->errors == before && m->input && t.augment_shift > 0) {
    const Shape *in = &m->input->shape;
    int64_t side = in->dim[0] < in->dim[1] ? in->dim[0] : in->dim[1];
    if (t.augment_shift >= side)
      diag_error(d, t.augment_loc, "augment: a move of up to %lld pixels "
                 "can leave nothing of a %lldx%lld image; give fewer than %lld",
                 (long long)t.augment_shift, (long long)in->dim[0],
                 (long long)in->dim[1], (long long)side);
  }
  return d->errors == before;
}
