/* infile.c - opening a file the trainer reads (data, images), with the
 * one message every reader gives when it cannot: "PATH: cannot open: WHY". */
#include "runtime.h"

#include <errno.h>
#include <string.h>

FILE *cnn_open_read(const char *path) {
  errno = 0;
  FILE *f = fopen(path, "rb");
  if (!f)
    cnn_error("%s: cannot open: %s", path,
              errno ? strerror(errno) : "out of memory");
  return f;
}
