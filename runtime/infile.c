/* infile.c - opening a file the trainer reads (data, images), with the
 * one message every reader gives when it cannot: "PATH: cannot open: WHY". */
#include "runtime.h"

#include <errno.h>
#include <string.h>

FILE *cnn_open_optional(const char *path, bool *absent) {
  errno = 0;
  FILE *f = fopen(path, "rb");
  *absent = !f && errno == ENOENT;
  if (!f && !*absent)
    cnn_error("%s: cannot open: %s", path,
              errno ? strerror(errno) : "out of memory");
  return f;
}

FILE *cnn_open_read(const char *path) {
  bool absent;
  FILE *f = cnn_open_optional(path, &absent);
  if (absent)
    cnn_error("%s: cannot open: %s", path, strerror(ENOENT));
  return f;
}
