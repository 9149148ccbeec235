/* image_dump.c - what libcnnrt's image reader makes of a file, printed:
 *
 *   image_dump FILE            "PNG 13x5 grey", then a row of bytes a line
 *   image_dump FILE C          the same in C channels (1 or 3)
 *   image_dump FILE C H W      the model's floats (byte / 255) resized to
 *                              H rows of W, a row a line, as %.9g
 *
 * A program with its own main, linked against libcnnrt.a; exit status 1
 * after the reader's error. */
#include "runtime.h"

#include <inttypes.h>
#include <stdlib.h>

static void print_bytes(const CnnImage *img) {
  printf("%s %" PRId64 "x%" PRId64 " %s\n", img->format, img->w, img->h,
         img->c == 1 ? "grey" : "RGB");
  int64_t row = img->w * img->c;
  for (int64_t y = 0; y < img->h; y++)
    for (int64_t i = 0; i < row; i++)
      printf("%d%c", img->pixels[y * row + i], i + 1 < row ? ' ' : '\n');
}

static int print_resized(const CnnImage *img, int64_t h, int64_t w) {
  int64_t n = img->h * img->w * img->c;
  float *src = malloc((size_t)n * sizeof *src);
  float *dst = malloc((size_t)(h * w * img->c) * sizeof *dst);
  if (!src || !dst)
    return 1;
  for (int64_t i = 0; i < n; i++)
    src[i] = (float)img->pixels[i] / 255.0f;
  cnn_resize_bilinear(src, img->h, img->w, img->c, dst, h, w);
  int64_t row = w * img->c;
  for (int64_t y = 0; y < h; y++)
    for (int64_t i = 0; i < row; i++)
      printf("%.9g%c", dst[y * row + i], i + 1 < row ? ' ' : '\n');
  free(src);
  free(dst);
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 2 && argc != 3 && argc != 5) {
    fprintf(stderr, "usage: image_dump FILE [C [H W]]\n");
    return 2;
  }
  CnnImage img;
  if (!cnn_image_read(argv[1], &img))
    return 1;
  int status = 0;
  if (argc >= 3 && !cnn_image_channels(&img, atoi(argv[2])))
    status = 1;
  else if (argc == 5)
    status = print_resized(&img, atoi(argv[3]), atoi(argv[4]));
  else
    print_bytes(&img);
  cnn_image_free(&img);
  return status;
}
