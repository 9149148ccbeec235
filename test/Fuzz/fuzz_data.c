/* fuzz_data.c - libFuzzer target over the data readers (runtime/npy.c and
 * runtime/cifar.c): any bytes must end in an array or in exactly one
 * reported error, never a crash or an out-of-bounds access, and the
 * readers must agree with what the bytes say, computed here again:
 *
 *   .npy: a read array's header and data account for every byte of the
 *     input, and every byte of its data is touched (ASan checks the
 *     buffer holds what the shape says);
 *   CIFAR-10, and CIFAR-100 with either label: the input reads iff it is
 *     a non-empty whole number of records whose label bytes are in range;
 *     then each image is its record's planes interleaved, with the right
 *     label. Each input is read twice onto one set, as the training files
 *     are concatenated, so the second copy must follow the first.
 *
 * This target links the counted cnn_error of fuzz_errors.c. The build gives the readers small blocks (CIFAR_BLOCK_RECORDS,
 * NPY_FIRST_CHUNK) so that inputs of a few KB cross them. */
#include "fuzz_errors.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

char *cnn_format(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *s = malloc((size_t)n + 1);
  va_start(ap, fmt);
  vsnprintf(s, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return s;
}

void cnn_set_free(CnnSet *s) {
  free(s->images);
  free(s->labels);
  *s = (CnnSet){0};
}

/* The input as a stream; fmemopen refuses no size on glibc, but an empty
 * buffer is read from /dev/null to be safe. */
static FILE *stream(const uint8_t *data, size_t size) {
  FILE *f = size ? fmemopen((void *)data, size, "rb") : fopen("/dev/null", "rb");
  if (!f)
    __builtin_trap();
  return f;
}

/* A result and the messages agree: success says nothing, a failure says
 * exactly one thing. */
static void check_reported(bool ok) {
  if (ok ? fuzz_errors != 0 : fuzz_errors != 1)
    __builtin_trap();
  fuzz_errors = 0;
}

/* --- .npy ------------------------------------------------------------------------- */

static size_t header_end(const uint8_t *d) {
  if (d[6] == 1)
    return 10 + (size_t)(d[8] | d[9] << 8);
  return 12 + ((size_t)d[8] | (size_t)d[9] << 8 | (size_t)d[10] << 16 |
               (size_t)d[11] << 24);
}

static void fuzz_npy(const uint8_t *data, size_t size) {
  FILE *f = stream(data, size);
  CnnNpy a;
  bool ok = cnn_npy_read_stream(f, "fuzz.npy", &a);
  fclose(f);
  check_reported(ok);
  if (!ok)
    return;
  if (a.rank < 0 || a.rank > 8 || size < 12)
    __builtin_trap();
  size_t bytes = (size_t)cnn_npy_itemsize(a.type);
  for (int i = 0; i < a.rank; i++)
    bytes *= (size_t)a.shape[i];
  if (header_end(data) + bytes != size ||
      (int64_t)(bytes / (size_t)cnn_npy_itemsize(a.type)) != cnn_npy_elements(&a))
    __builtin_trap(); /* bytes unaccounted for */
  volatile uint8_t sum = 0;
  for (size_t i = 0; i < bytes; i++)
    sum += ((const uint8_t *)a.data)[i];
  char shape[160];
  cnn_npy_shape_text(&a, shape, sizeof shape);
  cnn_npy_free(&a);
}

/* --- CIFAR ------------------------------------------------------------------------- */

enum { PLANE = 1024, PIXELS = 3 * PLANE };

/* what the reader must conclude, computed from the bytes alone */
static bool readable(const uint8_t *data, size_t size, int label_bytes) {
  const int limits[2][2] = {{10, 0}, {20, 100}};
  size_t record = (size_t)label_bytes + PIXELS;
  if (size == 0 || size % record)
    return false;
  for (size_t r = 0; r < size; r += record)
    for (int k = 0; k < label_bytes; k++)
      if (data[r + k] >= limits[label_bytes - 1][k])
        return false;
  return true;
}

static void check_images(const CnnSet *s, int64_t first, const uint8_t *data,
                         size_t size, int label_bytes, int label) {
  size_t record = (size_t)label_bytes + PIXELS;
  int64_t n = (int64_t)(size / record);
  if (s->h != 32 || s->w != 32 || s->c != 3 || s->pixels != PIXELS ||
      s->type != CNN_PIXELS_U8)
    __builtin_trap();
  for (int64_t i = 0; i < n; i++) {
    const uint8_t *rec = data + (size_t)i * record;
    const uint8_t *img = (const uint8_t *)s->images + (first + i) * PIXELS;
    if (s->labels[first + i] != rec[label])
      __builtin_trap();
    for (int p = 0; p < PLANE; p++)
      for (int c = 0; c < 3; c++)
        if (img[3 * p + c] != rec[label_bytes + c * PLANE + p])
          __builtin_trap();
  }
}

static void fuzz_cifar(const uint8_t *data, size_t size, int label_bytes,
                       int label, int64_t classes) {
  CnnSet s = {0};
  int64_t room = 0;
  bool expect = readable(data, size, label_bytes);
  for (int copy = 0; copy < 2; copy++) {
    FILE *f = stream(data, size);
    int64_t before = s.count;
    bool ok = cnn_cifar_append(f, "fuzz.bin", label_bytes, label, classes,
                               &s, &room);
    fclose(f);
    check_reported(ok);
    if (ok != expect || (ok && room < s.count))
      __builtin_trap();
    if (!ok)
      break;
    if (s.count != before + (int64_t)(size / ((size_t)label_bytes + PIXELS)))
      __builtin_trap();
    check_images(&s, before, data, size, label_bytes, label);
  }
  cnn_set_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_npy(data, size);
  fuzz_cifar(data, size, 1, 0, 10);   /* CIFAR-10 */
  fuzz_cifar(data, size, 2, 1, 100);  /* CIFAR-100, label=fine */
  fuzz_cifar(data, size, 2, 0, 20);   /* CIFAR-100, label=coarse */
  return 0;
}
