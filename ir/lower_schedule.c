/* lower_schedule.c - the train block's schedule = ...: how the learning
 * rate moves, step by step (the runtime computes it, runtime/schedule.c):
 *
 *   constant                 the optimizer's lr throughout (the default)
 *   step(every=E, factor=F)  lr F^floor((epoch - 1) / E), torch's StepLR
 *   cosine(warmup=W)         W epochs of linear warmup, then a cosine to 0
 *   onecycle(max_lr=M)       torch's OneCycleLR with its defaults, which
 *                            also cycles sgd's momentum (adam's beta1) */
#include <math.h>

#include "args.h"
#include "ast.h"
#include "ir.h"

enum { MAX_EPOCHS = 1 << 20 };

static const char *const names[] = {"constant", "step", "cosine", "onecycle"};

static void positive(Diag *d, const AstValue *v, const char *what,
                     const char *key, double *out) {
  double x;
  if (!v || !value_float(d, v, what, key, &x))
    return;
  if (!(x > 0) || !isfinite((float)x) || !((float)x > 0))
    diag_error(d, v->loc, "%s: '%s' must be a positive number (as a 32-bit "
               "float), got %s", what, key, v->text);
  else
    *out = x;
}

static void lower_args(Diag *d, const AstValue *v, Schedule *s) {
  static const ParamSpec step[] = {{"every", true, true}, {"factor", true, true}};
  static const ParamSpec cosine[] = {{"warmup", false, true}};
  static const ParamSpec onecycle[] = {{"max_lr", true, true}};
  AstValue *a[2] = {0};
  switch (s->kind) {
  case SCHEDULE_CONSTANT:
    args_bind(d, "constant", v->loc, v->args, NULL, 0, a);
    return;
  case SCHEDULE_STEP:
    if (args_bind(d, "step", v->loc, v->args, step, 2, a)) {
      value_int(d, a[0], "step", "every", 1, MAX_EPOCHS, &s->every);
      positive(d, a[1], "step", "factor", &s->factor);
    }
    return;
  case SCHEDULE_COSINE:
    if (args_bind(d, "cosine", v->loc, v->args, cosine, 1, a) && a[0])
      value_int(d, a[0], "cosine", "warmup", 0, MAX_EPOCHS, &s->warmup);
    return;
  case SCHEDULE_ONECYCLE:
    if (args_bind(d, "onecycle", v->loc, v->args, onecycle, 1, a))
      positive(d, a[0], "onecycle", "max_lr", &s->max_lr);
    return;
  }
}

void ir_lower_schedule(Diag *d, const AstValue *v, Schedule *s) {
  int k = value_callee_choice(d, v, "train", "schedule", names, 4);
  if (k < 0)
    return;
  *s = (Schedule){(ScheduleKind)k, 1, 1, 0, 0};
  bool needs_args = k == SCHEDULE_STEP || k == SCHEDULE_ONECYCLE;
  if (v->kind == VAL_CALL)
    lower_args(d, v, s);
  else if (needs_args)
    diag_error(d, v->loc, "train: schedule %s needs its arguments: %s",
               names[k], k == SCHEDULE_STEP ? "step(every=E, factor=F)"
                                            : "onecycle(max_lr=M)");
}
