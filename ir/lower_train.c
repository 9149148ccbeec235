/* lower_train.c - the train block: loss, optimizer and the recipe.
 *
 * Defaults follow Keras, the article's framework: adam(lr=0.001,
 * beta1=0.9, beta2=0.999, eps=1e-7), sgd(lr=0.01, momentum=0), batch 32,
 * one epoch, seed 1, no validation split. */
#include <string.h>

#include "args.h"
#include "ast.h"
#include "ir.h"

enum { MAX_BATCH = 1 << 16, MAX_EPOCHS = 1 << 20 };

static const char *const keys[] = {"loss", "optimizer", "batch", "epochs",
                                   "seed", "validation", "data"};
enum { KEY_LOSS, KEY_OPTIMIZER, KEY_BATCH, KEY_EPOCHS, KEY_SEED,
       KEY_VALIDATION, KEY_DATA, NKEYS };

static TrainSpec defaults(void) {
  TrainSpec t = {0};
  t.loss = LOSS_CROSS_ENTROPY;
  t.opt = (Optimizer){OPT_ADAM, 0.001, 0, 0.9, 0.999, 1e-7};
  t.batch = 32;
  t.epochs = 1;
  t.seed = 1;
  return t;
}

/* Finds each setting's slot; unknown and repeated keys are errors. */
static void bind_settings(Diag *d, const Ast *ast, const AstSetting **slot) {
  for (const AstSetting *s = ast->settings; s; s = s->next) {
    int k = 0;
    while (k < NKEYS && strcmp(keys[k], s->key) != 0)
      k++;
    if (k == NKEYS) {
      const char *sug = suggest(s->key, keys, NKEYS);
      if (sug)
        diag_error(d, s->loc, "unknown train setting '%s'; did you mean "
                   "'%s'?", s->key, sug);
      else
        diag_error(d, s->loc, "unknown train setting '%s'", s->key);
    } else if (slot[k]) {
      diag_error(d, s->loc, "train setting '%s' is given twice", s->key);
      diag_note(d, slot[k]->loc, "first given here");
    } else {
      slot[k] = s;
    }
  }
}

static bool check_range(Diag *d, const AstValue *v, const char *what,
                        const char *key, double x, double lo, double hi,
                        const char *range) {
  if (x > lo && x < hi)
    return true;
  diag_error(d, v->loc, "%s: '%s' must be in %s, got %s", what, key, range,
             v->text);
  return false;
}

static void optimizer_param(Diag *d, const AstValue *v, const char *what,
                            const char *key, double *out, double hi,
                            const char *range) {
  double x;
  if (v && value_float(d, v, what, key, &x) &&
      check_range(d, v, what, key, x, 0, hi, range))
    *out = x;
}

/* adam | adam(lr, beta1=, beta2=, eps=) | sgd | sgd(lr, momentum=) */
static void lower_optimizer(Diag *d, const AstValue *v, Optimizer *o) {
  static const char *const names[] = {"adam", "sgd"};
  static const ParamSpec adam[] = {{"lr", false, true}, {"beta1", 0, 0},
                                   {"beta2", 0, 0}, {"eps", 0, 0}};
  static const ParamSpec sgd[] = {{"lr", false, true}, {"momentum", 0, 0}};
  AstValue probe = *v;
  probe.kind = VAL_IDENT; /* a call is checked by its callee's name */
  int k = value_choice(d, v->kind == VAL_CALL ? &probe : v, "train",
                       "optimizer", names, 2);
  if (k < 0)
    return;
  AstValue *a[4] = {0};
  if (k == 0) {
    *o = (Optimizer){OPT_ADAM, 0.001, 0, 0.9, 0.999, 1e-7};
    if (v->kind == VAL_CALL && args_bind(d, "adam", v->loc, v->args, adam, 4, a)) {
      optimizer_param(d, a[0], "adam", "lr", &o->lr, 1e9, "(0, inf)");
      optimizer_param(d, a[1], "adam", "beta1", &o->beta1, 1, "(0, 1)");
      optimizer_param(d, a[2], "adam", "beta2", &o->beta2, 1, "(0, 1)");
      optimizer_param(d, a[3], "adam", "eps", &o->eps, 1, "(0, 1)");
    }
    return;
  }
  *o = (Optimizer){OPT_SGD, 0.01, 0, 0, 0, 0};
  if (v->kind == VAL_CALL && args_bind(d, "sgd", v->loc, v->args, sgd, 2, a)) {
    optimizer_param(d, a[0], "sgd", "lr", &o->lr, 1e9, "(0, inf)");
    double mom = 0;
    if (a[1] && value_float(d, a[1], "sgd", "momentum", &mom) &&
        (mom == 0 || check_range(d, a[1], "sgd", "momentum", mom, 0, 1,
                                 "[0, 1)")))
      o->momentum = mom;
  }
}

/* validation = 5000 (images) | 0.1 (a fraction of the training set) */
static void lower_validation(Diag *d, const AstValue *v, TrainSpec *t) {
  if (v->kind == VAL_FLOAT) {
    if (check_range(d, v, "train", "validation", v->f, 0, 1, "(0, 1) as a "
                    "fraction"))
      t->validation_frac = v->f;
    return;
  }
  value_int(d, v, "train", "validation", 0, INT64_C(1) << 40,
            &t->validation);
}

/* data = idx("folder") */
static void lower_data(Diag *d, const AstValue *v, TrainSpec *t) {
  static const ParamSpec spec[] = {{"path", true, true}};
  if (v->kind != VAL_CALL || strcmp(v->text, "idx") != 0) {
    diag_error(d, v->loc, "train: 'data' must be idx(\"FOLDER\"), the folder "
               "of the four IDX files");
    return;
  }
  AstValue *a[1];
  const char *path;
  if (!args_bind(d, "idx", v->loc, v->args, spec, 1, a) ||
      !value_string(d, a[0], "idx", "path", &path))
    return;
  if (!*path)
    diag_error(d, a[0]->loc, "idx: the path is empty");
  t->data = path;
}

bool ir_lower_train(Module *m, const Ast *ast, Loc *loss_loc) {
  static const char *const losses[] = {"cross_entropy"};
  Diag *d = m->diag;
  int before = d->errors;
  const AstSetting *s[NKEYS] = {0};
  TrainSpec t = defaults();
  bind_settings(d, ast, s);
  if (s[KEY_LOSS]) {
    *loss_loc = s[KEY_LOSS]->value->loc;
    value_choice(d, s[KEY_LOSS]->value, "train", "loss", losses, 1);
  }
  if (s[KEY_OPTIMIZER])
    lower_optimizer(d, s[KEY_OPTIMIZER]->value, &t.opt);
  if (s[KEY_BATCH])
    value_int(d, s[KEY_BATCH]->value, "train", "batch", 1, MAX_BATCH,
              &t.batch);
  if (s[KEY_EPOCHS])
    value_int(d, s[KEY_EPOCHS]->value, "train", "epochs", 1, MAX_EPOCHS,
              &t.epochs);
  int64_t seed = 1;
  if (s[KEY_SEED] && value_int(d, s[KEY_SEED]->value, "train", "seed", 0,
                               INT64_MAX, &seed))
    t.seed = (uint64_t)seed;
  if (s[KEY_VALIDATION])
    lower_validation(d, s[KEY_VALIDATION]->value, &t);
  if (s[KEY_DATA])
    lower_data(d, s[KEY_DATA]->value, &t);
  m->has_train = true;
  m->train = t;
  return d->errors == before;
}
