/* lower_optimizer.c - the train block's optimizer = ..., with PyTorch's
 * semantics where cnnc follows torch.optim, and Keras' for adam's update
 * (the article's framework):
 *
 *   adam(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-7, weight_decay=0)
 *       Keras' Adam (eps added to sqrt(v) before the bias correction);
 *       weight_decay is L2, added to the gradient, as torch.optim.Adam
 *   adamw(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01)
 *       torch.optim.AdamW exactly: w -= lr wd w, then Adam with eps added
 *       to sqrt(v_hat) after the bias correction
 *   sgd(lr=0.01, momentum=0, nesterov=false, weight_decay=0)
 *       torch.optim.SGD: L2 added to the gradient before the momentum
 *
 * and decay_biases=false on any of them exempts the biases and batchnorm
 * parameters (every vector) from the decay, as many recipes do. Numbers
 * are checked as the float32 the generated code computes with. */
#include <math.h>
#include <string.h>

#include "args.h"
#include "ast.h"
#include "ir.h"

enum { OPT_ARGS = 6 };

Optimizer ir_default_optimizer(OptimizerKind k) {
  switch (k) {
  case OPT_ADAM: return (Optimizer){OPT_ADAM, 0.001, 0, 0.9, 0.999, 1e-7, 0, false, true};
  case OPT_ADAMW: return (Optimizer){OPT_ADAMW, 0.001, 0, 0.9, 0.999, 1e-8, 0.01, false, true};
  case OPT_SGD: break;
  }
  return (Optimizer){OPT_SGD, 0.01, 0, 0, 0, 0, 0, false, true};
}

/* x in (lo, hi) (or [lo, hi) when lo_closed) and still so as a float. */
static bool in_range(Diag *d, const AstValue *v, const char *what,
                     const char *key, double lo, bool lo_closed, double hi) {
  double x = v->f;
  float f = (float)x;
  if (!((lo_closed ? x >= lo : x > lo) && x < hi)) {
    diag_error(d, v->loc, "%s: '%s' must be in %s%g, %g), got %s", what, key,
               lo_closed ? "[" : "(", lo, hi, v->text);
    return false;
  }
  if (!((lo_closed ? f >= lo : f > lo) && f < hi && isfinite(f))) {
    diag_error(d, v->loc, "%s: '%s' is %s, which is %g as a 32-bit float: "
               "out of range", what, key, v->text, (double)f);
    return false;
  }
  return true;
}

static void number(Diag *d, const AstValue *v, const char *what,
                   const char *key, double *out, double lo, bool lo_closed,
                   double hi) {
  double x;
  if (v && value_float(d, v, what, key, &x) &&
      in_range(d, v, what, key, lo, lo_closed, hi))
    *out = x;
}

/* adam's and adamw's: lr, beta1, beta2, eps, weight_decay, decay_biases */
static void lower_adam(Diag *d, const char *what, AstValue **a, Optimizer *o) {
  number(d, a[0], what, "lr", &o->lr, 0, false, INFINITY);
  number(d, a[1], what, "beta1", &o->beta1, 0, true, 1);
  number(d, a[2], what, "beta2", &o->beta2, 0, true, 1);
  number(d, a[3], what, "eps", &o->eps, 0, false, 1);
  number(d, a[4], what, "weight_decay", &o->weight_decay, 0, true, INFINITY);
  if (a[5])
    value_bool(d, a[5], what, "decay_biases", &o->decay_biases);
}

/* sgd's: lr, momentum, nesterov, weight_decay, decay_biases */
static void lower_sgd(Diag *d, AstValue **a, Optimizer *o) {
  number(d, a[0], "sgd", "lr", &o->lr, 0, false, INFINITY);
  number(d, a[1], "sgd", "momentum", &o->momentum, 0, true, 1);
  if (a[2] && value_bool(d, a[2], "sgd", "nesterov", &o->nesterov) &&
      o->nesterov && !(o->momentum > 0))
    diag_error(d, a[2]->loc, "sgd: nesterov=true needs a momentum above 0 "
               "(as torch.optim.SGD)");
  number(d, a[3], "sgd", "weight_decay", &o->weight_decay, 0, true, INFINITY);
  if (a[4])
    value_bool(d, a[4], "sgd", "decay_biases", &o->decay_biases);
}

void ir_lower_optimizer(Diag *d, const AstValue *v, Optimizer *o) {
  static const char *const names[] = {"adam", "adamw", "sgd"};
  static const OptimizerKind kinds[] = {OPT_ADAM, OPT_ADAMW, OPT_SGD};
  static const ParamSpec adam[OPT_ARGS] = {
      {"lr", 0, 1}, {"beta1", 0, 1}, {"beta2", 0, 1}, {"eps", 0, 1},
      {"weight_decay", 0, 1}, {"decay_biases", 0, 0}};
  /* positional in the order the parameters are listed, as the issue and
   * docs write them; decay_biases by keyword only */
  static const ParamSpec sgd[] = {{"lr", 0, 1}, {"momentum", 0, 1},
                                  {"nesterov", 0, 1}, {"weight_decay", 0, 1},
                                  {"decay_biases", 0, 0}};
  int k = value_callee_choice(d, v, "train", "optimizer", names, 3);
  if (k < 0)
    return;
  *o = ir_default_optimizer(kinds[k]);
  AstValue *a[OPT_ARGS] = {0};
  if (v->kind != VAL_CALL)
    return;
  if (kinds[k] == OPT_SGD) {
    if (args_bind(d, "sgd", v->loc, v->args, sgd, 5, a))
      lower_sgd(d, a, o);
  } else if (args_bind(d, names[k], v->loc, v->args, adam, OPT_ARGS, a)) {
    lower_adam(d, names[k], a, o);
  }
}
