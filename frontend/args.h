/* args.h - checking the arguments of a layer, a call or a setting.
 *
 * The parser accepts any `kind(args)`; these helpers give it meaning. A
 * caller describes the parameters it takes, args_bind() matches positional
 * and keyword arguments to them, and the typed getters convert one value,
 * reporting a wrong type or range where the value was written:
 *
 *   conv.cnn:4:10: error: conv2d_1: 'filters' must be an integer, not the
 *   identifier 'same'
 */
#ifndef CNNC_ARGS_H
#define CNNC_ARGS_H

#include "ast.h"
#include "suggest.h"

typedef struct ParamSpec {
  const char *key;
  bool required;
  bool positional; /* may be given without `key =`, in table order */
} ParamSpec;

enum { MAX_PARAMS = 8 };

/* Fills out[i] with the value given for specs[i], or NULL. Reports unknown
 * keys (with a suggestion), repeated keys, surplus positional arguments and
 * missing required ones; returns false if it reported anything. `what`
 * names the thing in messages ("conv2d_1", "adam"). */
bool args_bind(Diag *d, const char *what, Loc loc, const AstArg *args,
               const ParamSpec *specs, int nspecs, AstValue **out);

bool value_int(Diag *d, const AstValue *v, const char *what, const char *key,
               int64_t min, int64_t max, int64_t *out);
bool value_float(Diag *d, const AstValue *v, const char *what,
                 const char *key, double *out);
bool value_bool(Diag *d, const AstValue *v, const char *what, const char *key,
                bool *out);
bool value_string(Diag *d, const AstValue *v, const char *what,
                  const char *key, const char **out);
/* An identifier from `choices`; returns its index, or -1 after reporting. */
int value_choice(Diag *d, const AstValue *v, const char *what,
                 const char *key, const char *const *choices, int nchoices);
/* The same for a value that may be a call, `adam` or `adam(lr=0.01)`: the
 * callee's name is the choice (the arguments are the caller's to check). */
int value_callee_choice(Diag *d, const AstValue *v, const char *what,
                        const char *key, const char *const *choices,
                        int nchoices);


/* If `word`, unknown where it stands, is Keras' or PyTorch's name for
 * something (frontend/foreign.def), reports what cnnc calls it, or that
 * cnnc does not support it yet, and returns true. `context` says where the
 * word stands ("layer", "argument", "train setting", or the key of a value:
 * "optimizer", "activation", "loss"); `cands` are the names valid there;
 * `what` prefixes the message ("conv2d_1: ..."), or is NULL. */
bool foreign_name(Diag *d, Loc loc, const char *what, const char *context,
                  const char *word, const char *const *cands, int n);

#endif
