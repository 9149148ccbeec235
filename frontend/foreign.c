/* foreign.c - Keras' and PyTorch's names mapped to cnnc's ("'Conv2D' is
 * Keras' name; cnnc calls it 'conv2d'"), or said to be unsupported, from
 * the table in foreign.def. */
#include <stdio.h>
#include <string.h>

#include "args.h"

typedef struct ForeignName {
  const char *context, *name, *whose, *cnnc, *text;
} ForeignName;

static const ForeignName foreign_names[] = {
#define FOREIGN(context, name, whose, cnnc, text)                            \
  {context, name, whose, cnnc, text},
#include "foreign.def"
#undef FOREIGN
};
enum { NFOREIGN = sizeof foreign_names / sizeof foreign_names[0] };

static bool among(const char *word, const char *const *cands, int n) {
  for (int i = 0; i < n; i++)
    if (strcmp(word, cands[i]) == 0)
      return true;
  return false;
}

/* "the layers are: input, conv2d, ..." or "conv2d_1 takes: filters, ..." */
static void list_valid(char *buf, size_t cap, const char *what,
                       const char *context, const char *const *cands,
                       int n) {
  size_t len;
  if (strcmp(context, "argument") == 0)
    len = (size_t)snprintf(buf, cap, "%s takes%s", what ? what : "it",
                           n ? ":" : " no arguments");
  else
    len = (size_t)snprintf(buf, cap, "the %s%s are:", context,
                           context[strlen(context) - 1] == 's' ? "es" : "s");
  for (int i = 0; i < n && len < cap; i++)
    len += (size_t)snprintf(buf + len, cap - len, "%s %s", i ? "," : "",
                            cands[i]);
}

/* "what: " before a message, or nothing. */
static const char *prefix(char *buf, size_t cap, const char *what) {
  snprintf(buf, cap, "%s%s", what ? what : "", what ? ": " : "");
  return buf;
}

static void report_foreign(Diag *d, Loc loc, const char *what,
                           const ForeignName *f, const char *const *cands,
                           int n, bool supported) {
  char pre[128], list[512];
  prefix(pre, sizeof pre, what);
  if (supported) /* "'Conv2D' is Keras' name; cnnc calls it 'conv2d'" */
    diag_error(d, loc, "%s'%s' is %s name; cnnc calls it '%s'%s", pre,
               f->name, f->whose, f->cnnc, f->text ? f->text : "");
  else if (!f->cnnc && f->text && f->whose)
    diag_error(d, loc, "%s'%s' is %s name; cnnc %s", pre, f->name, f->whose,
               f->text);
  else if (!f->cnnc && f->text) /* cnnc's own name, in the wrong place */
    diag_error(d, loc, "%s'%s' is not a %s; cnnc %s", pre, f->name,
               f->context, f->text);
  else {
    list_valid(list, sizeof list, what, f->context, cands, n);
    diag_error(d, loc, "%s'%s' is not supported by cnnc yet (%s)", pre,
               f->name, list);
  }
}

bool foreign_name(Diag *d, Loc loc, const char *what, const char *context,
                  const char *word, const char *const *cands, int n) {
  bool argument = strcmp(context, "argument") == 0;
  for (int i = 0; i < NFOREIGN; i++) {
    const ForeignName *f = &foreign_names[i];
    if (strcmp(f->context, context) != 0 || strcmp(f->name, word) != 0)
      continue;
    bool supported = f->cnnc && among(f->cnnc, cands, n);
    /* An argument of another layer: kernel_size is kernel or size. */
    if (f->cnnc && !supported && argument)
      continue;
    report_foreign(d, loc, what, f, cands, n, supported);
    return true;
  }
  return false;
}
