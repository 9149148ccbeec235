/* args.c - binding arguments to parameters and converting values. */
#include "args.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

static int find_key(const ParamSpec *specs, int n, const char *key) {
  for (int i = 0; i < n; i++)
    if (strcmp(specs[i].key, key) == 0)
      return i;
  return -1;
}

static void unknown_key(Diag *d, const char *what, const AstArg *a,
                        const ParamSpec *specs, int n) {
  const char *keys[MAX_PARAMS];
  for (int i = 0; i < n; i++)
    keys[i] = specs[i].key;
  if (foreign_name(d, a->key_loc, what, "argument", a->key, keys, n))
    return;
  const char *s = suggest(a->key, keys, n);
  if (s)
    diag_error(d, a->key_loc, "%s: unknown argument '%s'; did you mean '%s'?",
               what, a->key, s);
  else
    diag_error(d, a->key_loc, "%s: unknown argument '%s'", what, a->key);
}

/* Positional arguments fill the positional parameters in order. */
static int next_positional(const ParamSpec *specs, int n, int after) {
  for (int i = after + 1; i < n; i++)
    if (specs[i].positional)
      return i;
  return -1;
}

/* The slot of one argument, or -1 after reporting why it has none. As in
 * Python, positional arguments come before keyword arguments. */
static int slot_of(Diag *d, const char *what, const AstArg *a,
                   const ParamSpec *specs, int n, int *pos, bool *keywords) {
  if (a->key) {
    *keywords = true;
    int slot = find_key(specs, n, a->key);
    if (slot < 0)
      unknown_key(d, what, a, specs, n);
    return slot;
  }
  if (*keywords) {
    diag_error(d, a->value->loc, "%s: positional argument after a keyword "
               "argument", what);
    return -1;
  }
  *pos = next_positional(specs, n, *pos);
  if (*pos < 0)
    diag_error(d, a->value->loc, "%s: too many positional arguments", what);
  return *pos;
}

bool args_bind(Diag *d, const char *what, Loc loc, const AstArg *args,
               const ParamSpec *specs, int nspecs, AstValue **out) {
  int before = d->errors;
  Loc first[MAX_PARAMS];
  for (int i = 0; i < nspecs; i++)
    out[i] = NULL;
  int pos = -1;
  bool keywords = false;
  for (const AstArg *a = args; a; a = a->next) {
    int slot = slot_of(d, what, a, specs, nspecs, &pos, &keywords);
    Loc where = a->key ? a->key_loc : a->value->loc;
    if (slot < 0)
      continue;
    if (out[slot]) {
      diag_error(d, where, "%s: '%s' is given twice", what, specs[slot].key);
      diag_note(d, first[slot], "first given here");
      continue;
    }
    out[slot] = a->value;
    first[slot] = where;
  }
  for (int i = 0; i < nspecs; i++)
    if (specs[i].required && !out[i])
      diag_error(d, loc, "%s: missing required argument '%s'", what,
                 specs[i].key);
  return d->errors == before;
}

/* "the identifier 'same'", "the number 0.5", "a call to adam(...)" */
static void wrong_type(Diag *d, const AstValue *v, const char *what,
                       const char *key, const char *want) {
  switch (v->kind) {
  case VAL_INT:
  case VAL_FLOAT:
    diag_error(d, v->loc, "%s: '%s' must be %s, not the number %s", what, key,
               want, v->text);
    return;
  case VAL_IDENT:
    diag_error(d, v->loc, "%s: '%s' must be %s, not the identifier '%s'",
               what, key, want, v->text);
    return;
  case VAL_STRING:
    diag_error(d, v->loc, "%s: '%s' must be %s, not a string", what, key,
               want);
    return;
  case VAL_CALL:
    diag_error(d, v->loc, "%s: '%s' must be %s, not a call to '%s'", what,
               key, want, v->text);
    return;
  case VAL_LIST:
    diag_error(d, v->loc, "%s: '%s' must be %s, not a list", what, key, want);
    return;
  }
}

bool value_int(Diag *d, const AstValue *v, const char *what, const char *key,
               int64_t min, int64_t max, int64_t *out) {
  if (v->kind != VAL_INT) {
    wrong_type(d, v, what, key, "an integer");
    return false;
  }
  if (v->i < min) {
    diag_error(d, v->loc, "%s: '%s' must be at least %" PRId64 ", got %s",
               what, key, min, v->text);
    return false;
  }
  if (v->i > max) {
    diag_error(d, v->loc, "%s: '%s' must be at most %" PRId64 ", got %s",
               what, key, max, v->text);
    return false;
  }
  *out = v->i;
  return true;
}

bool value_float(Diag *d, const AstValue *v, const char *what,
                 const char *key, double *out) {
  if (v->kind != VAL_FLOAT && v->kind != VAL_INT) {
    wrong_type(d, v, what, key, "a number");
    return false;
  }
  *out = v->f;
  return true;
}

bool value_bool(Diag *d, const AstValue *v, const char *what, const char *key,
                bool *out) {
  bool is_true = v->kind == VAL_IDENT && strcmp(v->text, "true") == 0;
  bool is_false = v->kind == VAL_IDENT && strcmp(v->text, "false") == 0;
  if (!is_true && !is_false) {
    wrong_type(d, v, what, key, "true or false");
    return false;
  }
  *out = is_true;
  return true;
}

bool value_string(Diag *d, const AstValue *v, const char *what,
                  const char *key, const char **out) {
  if (v->kind != VAL_STRING) {
    wrong_type(d, v, what, key, "a string");
    return false;
  }
  *out = v->text;
  return true;
}

static void list_choices(char *buf, size_t cap, const char *const *choices,
                         int n) {
  buf[0] = '\0';
  for (int i = 0; i < n; i++) {
    size_t len = strlen(buf);
    snprintf(buf + len, cap - len, "%s'%s'",
             i == 0 ? "" : i == n - 1 ? " or " : ", ", choices[i]);
  }
}

int value_callee_choice(Diag *d, const AstValue *v, const char *what,
                        const char *key, const char *const *choices,
                        int nchoices) {
  AstValue name = *v;
  if (v->kind == VAL_CALL)
    name.kind = VAL_IDENT;
  return value_choice(d, &name, what, key, choices, nchoices);
}

int value_choice(Diag *d, const AstValue *v, const char *what,
                 const char *key, const char *const *choices, int nchoices) {
  char list[256];
  list_choices(list, sizeof list, choices, nchoices);
  if (v->kind != VAL_IDENT) {
    wrong_type(d, v, what, key, list);
    return -1;
  }
  for (int i = 0; i < nchoices; i++)
    if (strcmp(v->text, choices[i]) == 0)
      return i;
  if (foreign_name(d, v->loc, what, key, v->text, choices, nchoices))
    return -1;
  const char *s = suggest(v->text, choices, nchoices);
  if (s)
    diag_error(d, v->loc, "%s: unknown %s '%s'; did you mean '%s'?", what,
               key, v->text, s);
  else
    diag_error(d, v->loc, "%s: unknown %s '%s'; expected %s", what, key,
               v->text, list);
  return -1;
}
