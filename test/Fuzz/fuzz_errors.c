/* fuzz_errors.c - the runtime's cnn_error for the fuzz targets of its
 * readers (fuzz_data.c, fuzz_image.c): it formats each message, so that
 * its arguments are exercised, traps on an empty one, and counts them
 * instead of printing, so that a target can require exactly one error per
 * failure. */
#include "fuzz_errors.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int fuzz_errors;

void cnn_error(const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (strlen(msg) == 0)
    __builtin_trap(); /* an error that says nothing */
  fuzz_errors++;
}
