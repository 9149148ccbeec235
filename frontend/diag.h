/* diag.h - compiler diagnostics: "file:line:col: error: message", the source
 * line, a caret.
 *
 * Every token, AST node and IR node keeps a Loc, so any stage can point at
 * the text the user wrote. Errors are counted, not fatal: the parser recovers
 * and later stages run only while the count is zero. After `max_errors`
 * errors the rest are swallowed, as clang's -ferror-limit does. */
#ifndef CNNC_DIAG_H
#define CNNC_DIAG_H

#include <stddef.h>
#include <stdio.h>

/* 1-based line and byte column; line 0 means "no position". */
typedef struct Loc {
  int line, col;
} Loc;

typedef struct Source {
  const char *name; /* as the user spelled it */
  const char *text; /* NUL-terminated copy of the file */
  size_t len;       /* bytes, not counting the terminator */
} Source;

typedef struct Diag {
  const Source *src;
  FILE *out;      /* NULL: count only (the fuzzer) */
  int errors;
  int warnings;
  int max_errors; /* 0: no limit */
} Diag;

void diag_init(Diag *d, const Source *src, FILE *out);

void diag_error(Diag *d, Loc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Reports and counts a warning; it does not stop compilation. */
void diag_warning(Diag *d, Loc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Attaches to the error just reported (skipped if that one was swallowed). */
void diag_note(Diag *d, Loc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "cnnc: error: ..." for errors that have no place in a source file. */
void diag_tool_error(Diag *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Internal errors name the compiler's own file and line, never the user's. */
#define unreachable()                                                        \
  diag_internal_error(__FILE__, __LINE__)
_Noreturn void diag_internal_error(const char *file, int line);

#endif
