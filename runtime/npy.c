/* npy.c - NumPy's .npy files (placeholder). */
#include "runtime.h"

bool cnn_npy_read(const char *path, CnnNpy *out) {
  *out = (CnnNpy){0};
  cnn_error("%s: .npy files cannot be read yet", path);
  return false;
}

void cnn_npy_free(CnnNpy *a) { *a = (CnnNpy){0}; }
