/* augment_vectors.c - libcnnrt's augmentation of known images, printed as
 * augment_ref.py prints them from cnnrt.h's description: per image its
 * index, then the augmented pixels as bytes (value * 255, rounded), row by
 * row. The images are 5x6 with 2 channels, pixel (y, x, c) of image k
 * being 1 + (k * 37 + y * 13 + x * 3 + c) mod 250, so that every pixel is
 * told apart from the zeros the padding brings in.
 *
 *   augment_vectors SHIFT FLIP SEED EPOCH */
#include "runtime.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

enum { N = 6, H = 5, W = 6, C = 2 };

int main(int argc, char **argv) {
  if (argc != 5)
    return 2;
  static uint8_t pixels[N][H][W][C];
  static int32_t labels[N];
  for (int k = 0; k < N; k++)
    for (int y = 0; y < H; y++)
      for (int x = 0; x < W; x++)
        for (int c = 0; c < C; c++)
          pixels[k][y][x][c] = (uint8_t)(1 + (k * 37 + y * 13 + x * 3 + c) % 250);
  CnnSet set = {.count = N, .h = H, .w = W, .c = C, .pixels = H * W * C,
                .type = CNN_PIXELS_U8, .images = pixels, .labels = labels};
  CnnAugment aug = {.shift = atoi(argv[1]), .flip = atoi(argv[2]) != 0,
                    .seed = strtoull(argv[3], NULL, 10),
                    .epoch = atoi(argv[4])};
  /* a shuffled order: the draws follow the image, not its place */
  int64_t order[N] = {3, 0, 5, 1, 4, 2};
  static float out[N][H * W * C];
  int32_t got[N];
  cnn_gather(&set, order, 0, N, &aug, &out[0][0], got);
  for (int b = 0; b < N; b++) {
    printf("image %lld\n", (long long)order[b]);
    for (int y = 0; y < H; y++) {
      for (int v = 0; v < W * C; v++)
        printf("%s%ld", v ? " " : "", lroundf(out[b][y * W * C + v] * 255));
      printf("\n");
    }
  }
  return 0;
}
