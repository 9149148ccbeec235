/* lower_normalize.c - the input's mean= and std=: per-channel normalisation
 * that belongs to the model.
 *
 *   input(32, 32, 3, mean=[0.4914, 0.4822, 0.4465], std=[0.247, 0.243, 0.261])
 *   input(28, 28, 1, mean=0.1307, std=0.3081)
 *
 * Each is a number (every channel) or a list of one number per channel,
 * in the units of the pixels the model reads (byte / 255), as PyTorch's
 * transforms.Normalize takes them; the model computes (x - mean) / std.
 * A missing one is the identity's: mean 0, std 1. Values are checked as
 * the float32 the generated code computes with. */
#include <math.h>

#include "args.h"
#include "ast.h"
#include "ir.h"

/* One float32 value: finite, and for std positive. */
static bool one_value(Diag *d, const AstValue *v, const char *layer,
                      const char *key, float *out) {
  double x;
  if (!value_float(d, v, layer, key, &x))
    return false;
  float f = (float)x;
  bool is_std = key[0] == 's';
  if (!isfinite(f) || (is_std && !(f > 0))) {
    diag_error(d, v->loc, "%s: '%s' must be %s, got %s", layer, key,
               is_std ? "a positive number (as a 32-bit float)"
                      : "a finite number (as a 32-bit float)",
               v->text);
    return false;
  }
  *out = f;
  return true;
}

static int list_length(const AstValue *v) {
  int n = 0;
  for (const AstArg *a = v->args; a; a = a->next)
    n++;
  return n;
}

/* v (or NULL: dflt) into out[0..channels) */
static bool per_channel(Diag *d, const AstValue *v, const char *layer,
                        const char *key, int64_t channels, float dflt,
                        float *out) {
  if (!v || v->kind != VAL_LIST) {
    float x = dflt;
    if (v && !one_value(d, v, layer, key, &x))
      return false;
    for (int64_t c = 0; c < channels; c++)
      out[c] = x;
    return true;
  }
  int n = list_length(v);
  if (n != channels) {
    diag_error(d, v->loc, "%s: '%s' has %d value%s, but the input has %lld "
               "channel%s: give one per channel, or one number for all",
               layer, key, n, n == 1 ? "" : "s", (long long)channels,
               channels == 1 ? "" : "s");
    return false;
  }
  bool ok = true;
  int c = 0;
  for (const AstArg *a = v->args; a; a = a->next, c++)
    ok = one_value(d, a->value, layer, key, &out[c]) && ok;
  return ok;
}

/* Pixels in [0, 1] must normalise to finite floats: std=1e-45 is positive
 * but 1 / std is not a float, and would make every value infinite. */
static bool in_range(Diag *d, const AstValue *where, const char *layer,
                     const float *mean, const float *std, int64_t channels) {
  for (int64_t c = 0; c < channels; c++) {
    float lo = (0.0f - mean[c]) / std[c], hi = (1.0f - mean[c]) / std[c];
    if (isfinite(lo) && isfinite(hi))
      continue;
    diag_error(d, where->loc, "%s: channel %lld's mean %g and std %g take "
               "pixels in [0, 1] beyond the 32-bit float range", layer,
               (long long)c, (double)mean[c], (double)std[c]);
    return false;
  }
  return true;
}

bool ir_lower_normalization(Module *m, const char *layer, const AstValue *mean,
                            const AstValue *std, int64_t channels,
                            NormAttr *out) {
  if ((!mean && !std) || channels < 1 || channels > IR_MAX_ELEMS)
    return false;
  float *mv = arena_array(m->arena, (size_t)channels, sizeof *mv);
  float *sv = arena_array(m->arena, (size_t)channels, sizeof *sv);
  bool ok = per_channel(m->diag, mean, layer, "mean", channels, 0.0f, mv);
  ok = per_channel(m->diag, std, layer, "std", channels, 1.0f, sv) && ok;
  ok = ok && in_range(m->diag, std ? std : mean, layer, mv, sv, channels);
  *out = (NormAttr){(int)channels, mv, sv};
  return ok;
}
