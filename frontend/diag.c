/* diag.c - printing diagnostics in the clang format. */
#include "diag.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_ECHO = 240 }; /* longest source line echoed in full */

void diag_init(Diag *d, const Source *src, FILE *out) {
  d->src = src;
  d->out = out;
  d->errors = 0;
  d->warnings = 0;
  d->max_errors = 20;
}

static const char *line_start(const Source *src, int line) {
  const char *p = src->text;
  const char *end = src->text + src->len;
  for (int l = 1; l < line && p < end; p++)
    if (*p == '\n')
      l++;
  return p;
}

/* Echoes the line with a caret under `col`; tabs are kept in the caret line
 * so that the caret lands under the right character in any terminal. */
static void echo_line(FILE *out, const Source *src, Loc loc) {
  if (!src || !src->text || loc.line <= 0)
    return;
  const char *s = line_start(src, loc.line);
  const char *end = src->text + src->len;
  size_t n = 0;
  while (s + n < end && s[n] != '\n' && s[n] != '\r' && n < MAX_ECHO)
    n++;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    fputc(c == '\t' || (c >= 0x20 && c != 0x7f) ? c : '?', out);
  }
  fputc('\n', out);
  for (int i = 0; i + 1 < loc.col && (size_t)i < n; i++)
    fputc(s[i] == '\t' ? '\t' : ' ', out);
  fputs("^\n", out);
}

static bool swallowed(Diag *d) {
  return d->max_errors > 0 && d->errors > d->max_errors;
}

static void vreport(Diag *d, Loc loc, const char *kind, const char *fmt,
                    va_list ap) {
  if (!d->out)
    return;
  const char *name = d->src ? d->src->name : "cnnc";
  if (loc.line > 0)
    fprintf(d->out, "%s:%d:%d: %s: ", name, loc.line, loc.col, kind);
  else
    fprintf(d->out, "%s: %s: ", name, kind);
  vfprintf(d->out, fmt, ap);
  fputc('\n', d->out);
  echo_line(d->out, d->src, loc);
}

void diag_error(Diag *d, Loc loc, const char *fmt, ...) {
  d->errors++;
  if (swallowed(d)) {
    if (d->errors == d->max_errors + 1 && d->out)
      fprintf(d->out, "cnnc: fatal error: too many errors emitted, "
                      "stopping now\n");
    return;
  }
  va_list ap;
  va_start(ap, fmt);
  vreport(d, loc, "error", fmt, ap);
  va_end(ap);
}

void diag_warning(Diag *d, Loc loc, const char *fmt, ...) {
  if (swallowed(d))
    return;
  d->warnings++;
  va_list ap;
  va_start(ap, fmt);
  vreport(d, loc, "warning", fmt, ap);
  va_end(ap);
}

void diag_note(Diag *d, Loc loc, const char *fmt, ...) {
  if (swallowed(d))
    return;
  va_list ap;
  va_start(ap, fmt);
  vreport(d, loc, "note", fmt, ap);
  va_end(ap);
}

void diag_tool_error(Diag *d, const char *fmt, ...) {
  d->errors++;
  if (!d->out)
    return;
  va_list ap;
  va_start(ap, fmt);
  fputs("cnnc: error: ", d->out);
  vfprintf(d->out, fmt, ap);
  fputc('\n', d->out);
  va_end(ap);
}

_Noreturn void diag_internal_error(const char *file, int line) {
  fprintf(stderr, "cnnc: internal error at %s:%d; please report it\n", file,
          line);
  abort();
}
