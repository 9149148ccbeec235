/* error.c - the runtime's one way to report an error, and a formatter.
 *
 * Every message is a single line on stderr that starts with "cnnrt: error:"
 * so that a user (or a test) can tell the runtime's complaints apart from
 * whatever the shell prints. */
#include "runtime.h"

#include <stdarg.h>
#include <stdlib.h>

void cnn_error(const char *fmt, ...) {
  fflush(stdout); /* keep the order the user would expect in a shared log */
  va_list ap;
  va_start(ap, fmt);
  fputs("cnnrt: error: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

char *cnn_format(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *s = n < 0 ? NULL : malloc((size_t)n + 1);
  if (!s) {
    cnn_error("out of memory");
    return NULL;
  }
  va_start(ap, fmt);
  vsnprintf(s, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return s;
}
