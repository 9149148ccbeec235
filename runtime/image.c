/* image.c - one image file (placeholder). */
#include "runtime.h"

bool cnn_image_read(const char *path, CnnImage *out) {
  *out = (CnnImage){0};
  cnn_error("%s: image files cannot be read yet", path);
  return false;
}

void cnn_image_free(CnnImage *img) { *img = (CnnImage){0}; }
