/* npy_info.c - reads .npy files with libcnnrt's cnn_npy_read and prints,
 * per file, "FILE: TYPE SHAPE (DESCR)" and its first elements (up to 8),
 * in the host's byte order; exit status 1 after the first error. */
#include "runtime.h"

#include <inttypes.h>
#include <string.h>

static void print_element(const CnnNpy *a, int64_t i) {
  const void *d = a->data;
  switch (a->type) {
  case CNN_NPY_U8: printf(" %u", ((const uint8_t *)d)[i]); return;
  case CNN_NPY_I8: printf(" %d", ((const int8_t *)d)[i]); return;
  case CNN_NPY_U16: printf(" %u", ((const uint16_t *)d)[i]); return;
  case CNN_NPY_I16: printf(" %d", ((const int16_t *)d)[i]); return;
  case CNN_NPY_U32: printf(" %" PRIu32, ((const uint32_t *)d)[i]); return;
  case CNN_NPY_I32: printf(" %" PRId32, ((const int32_t *)d)[i]); return;
  case CNN_NPY_U64: printf(" %" PRIu64, ((const uint64_t *)d)[i]); return;
  case CNN_NPY_I64: printf(" %" PRId64, ((const int64_t *)d)[i]); return;
  case CNN_NPY_F32: printf(" %.9g", (double)((const float *)d)[i]); return;
  case CNN_NPY_F64: printf(" %.17g", ((const double *)d)[i]); return;
  }
}

int main(int argc, char **argv) {
  for (int f = 1; f < argc; f++) {
    CnnNpy a;
    char shape[160];
    if (!cnn_npy_read(argv[f], &a))
      return 1;
    const char *name = strrchr(argv[f], '/');
    printf("%s: %s %s (%s)", name ? name + 1 : argv[f],
           cnn_npy_type_name(a.type),
           cnn_npy_shape_text(&a, shape, sizeof shape), a.descr);
    int64_t n = cnn_npy_elements(&a);
    for (int64_t i = 0; i < n && i < 8; i++)
      print_element(&a, i);
    printf("\n");
    cnn_npy_free(&a);
  }
  return 0;
}
