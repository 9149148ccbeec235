/* fuzz_image.c - libFuzzer target over the image reader (runtime/image.c:
 * PGM/PPM parsed here, PNG through libpng) and what --predict does with
 * its result (runtime/image_fit.c): any bytes must end in an image or in
 * exactly one reported error, never a crash or an out-of-bounds access.
 *
 *   an image: 1 or 3 channels of at least 1x1 pixels, every byte of which
 *     is read (ASan checks the buffer holds h * w * c), then converted to
 *     1 and to 3 channels and resized to 5x3 and 2x7 (the conversions
 *     must keep grey values: grey -> RGB -> grey is the identity);
 *   an error: one message, not empty, and no image left behind.
 *
 * This target links the counted cnn_error of fuzz_errors.c. The build has image.c ignore PNG CRCs and zlib's Adler-32
 * (CNN_IMAGE_FUZZ), as libpng's own fuzzer does, so that mutated chunks
 * reach the decoder rather than the checksum. */
#include "fuzz_errors.h"

#include <stdlib.h>
#include <string.h>

static void check_resize(const CnnImage *img, int64_t oh, int64_t ow) {
  int64_t n = img->h * img->w * img->c;
  float *src = malloc((size_t)n * sizeof *src);
  float *dst = malloc((size_t)(oh * ow * img->c) * sizeof *dst);
  if (!src || !dst)
    __builtin_trap();
  for (int64_t i = 0; i < n; i++)
    src[i] = (float)img->pixels[i] / 255.0f;
  cnn_resize_bilinear(src, img->h, img->w, img->c, dst, oh, ow);
  for (int64_t i = 0; i < oh * ow * img->c; i++)
    if (!(dst[i] >= -1e-6f && dst[i] <= 1.000001f))
      __builtin_trap(); /* a mix of values in [0, 1] left it */
  free(src);
  free(dst);
}

static void check_image(CnnImage *img) {
  if (img->h < 1 || img->w < 1 || (img->c != 1 && img->c != 3) ||
      !img->pixels || !img->format)
    __builtin_trap();
  unsigned sum = 0;
  for (int64_t i = 0; i < img->h * img->w * img->c; i++)
    sum += img->pixels[i];
  (void)sum;
  check_resize(img, 5, 3);
  check_resize(img, 2, 7);
  if (!cnn_image_channels(img, 1))
    __builtin_trap();
  size_t n = (size_t)(img->h * img->w);
  uint8_t *grey = malloc(n);
  if (!grey)
    __builtin_trap();
  memcpy(grey, img->pixels, n);
  if (!cnn_image_channels(img, 3) || !cnn_image_channels(img, 1) ||
      memcmp(grey, img->pixels, n) != 0)
    __builtin_trap(); /* grey -> RGB -> grey changed a value */
  free(grey);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_errors = 0;
  CnnImage img;
  bool ok = cnn_image_decode("fuzz", data, size, &img);
  if (ok != (fuzz_errors == 0) || (!ok && fuzz_errors != 1))
    __builtin_trap(); /* an image with an error, or not one error */
  if (!ok && img.pixels)
    __builtin_trap(); /* a failure left pixels behind */
  if (ok)
    check_image(&img);
  cnn_image_free(&img);
  return 0;
}
