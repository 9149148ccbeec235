/* error.c - the runtime's one way to report an error, and a formatter.
 *
 * Every message is a single line on stderr that starts with "cnnrt: error:"
 * so that a user (or a test) can tell the runtime's complaints apart from
 * whatever the shell prints. */
#include "runtime.h"

#include <stdarg.h>
#include <stdlib.h>

#include "comm.h"

/* Before a job's processes agree to start, the errors of all but rank 0
 * wait here: the lowest failing rank's are printed, and only those (every
 * rank rejects a bad flag alike: one message, not one per process). */
static FILE *held;
static char *held_text;
static size_t held_len;

void cnn_error(const char *fmt, ...) {
  fflush(stdout); /* keep the order the user would expect in a shared log */
  FILE *out = held ? held : stderr;
  va_list ap;
  va_start(ap, fmt);
  fputs("cnnrt: error: ", out);
  if (cnn_comm_size() > 1)
    fprintf(out, "rank %d: ", cnn_comm_rank());
  vfprintf(out, fmt, ap);
  fputc('\n', out);
  va_end(ap);
}

void cnn_error_own(void) { cnn_error_release(true); }

void cnn_error_hold(void) {
  if (!held)
    held = open_memstream(&held_text, &held_len);
}

void cnn_error_release(bool print) {
  if (!held)
    return;
  fclose(held);
  held = NULL;
  if (print && held_text)
    fputs(held_text, stderr);
  free(held_text);
  held_text = NULL;
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
