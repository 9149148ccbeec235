/* embed.c - a program that classifies digits with an inference object
 * cnnc made, and nothing else: no runtime library, no allocation.
 *
 *   cnnc --infer --weights mnist.safetensors examples/mnist.cnn -o mnist_cnn.o
 *   cmake -S examples/embed -B build-embed -DMODEL_DIR=$PWD && cmake --build build-embed
 *   build-embed/embed data/mnist            # accuracy on the 10,000 test images
 *   build-embed/embed data/mnist digit.pgm  # and the class of one 28x28 PGM
 *
 * The accuracy it prints is the trainer's test_acc for the same weights. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mnist_cnn.h"

enum { IMAGES = 10000, PIXELS = MNIST_CNN_INPUT_SIZE };

static _Alignas(MNIST_CNN_SCRATCH_ALIGN) unsigned char
    scratch[MNIST_CNN_SCRATCH_SIZE];
static unsigned char pixels[IMAGES][PIXELS], labels[IMAGES];

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* An IDX file: its header must say `magic` and `count` items of `size`. */
static int read_idx(const char *dir, const char *file, uint32_t magic,
                    int header, void *data, size_t size) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  FILE *f = fopen(path, "rb");
  unsigned char h[16];
  int ok = f && fread(h, 1, (size_t)header, f) == (size_t)header &&
           be32(h) == magic && be32(h + 4) == IMAGES &&
           fread(data, 1, size, f) == size;
  if (f)
    fclose(f);
  if (!ok)
    fprintf(stderr, "embed: error: %s: not a %d-item IDX file\n", path, IMAGES);
  return ok;
}

static int classify(const unsigned char *px) {
  float input[PIXELS];
  for (int i = 0; i < PIXELS; i++)
    input[i] = px[i] / 255.0f;
  return mnist_cnn_predict(input, scratch);
}

/* A binary PGM (P5) of 28x28 pixels, maxval 255. */
static int classify_pgm(const char *path) {
  FILE *f = fopen(path, "rb");
  int w = 0, h = 0, max = 0;
  unsigned char px[PIXELS];
  int ok = f && fscanf(f, "P5 %d %d %d", &w, &h, &max) == 3 &&
           w == MNIST_CNN_INPUT_WIDTH && h == MNIST_CNN_INPUT_HEIGHT &&
           max == 255 && fgetc(f) != EOF && fread(px, 1, PIXELS, f) == PIXELS;
  if (f)
    fclose(f);
  if (!ok) {
    fprintf(stderr, "embed: error: %s: not a 28x28 binary PGM with maxval 255\n",
            path);
    return 1;
  }
  printf("%s: %d\n", path, classify(px));
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: embed MNIST_DIR [IMAGE.pgm]\n");
    return 1;
  }
  FILE *pgm = argc == 3 ? fopen(argv[2], "rb") : NULL;
  if (argc == 3 && !pgm) {
    fprintf(stderr, "embed: error: cannot open %s\n", argv[2]);
    return 1;
  }
  if (pgm)
    fclose(pgm);
  if (!read_idx(argv[1], "t10k-images-idx3-ubyte", 0x803, 16, pixels,
                sizeof pixels) ||
      !read_idx(argv[1], "t10k-labels-idx1-ubyte", 0x801, 8, labels,
                sizeof labels))
    return 1;
  int right = 0;
  for (int i = 0; i < IMAGES; i++)
    right += classify(pixels[i]) == labels[i];
  printf("test_acc: %.4f (%d of %d)\n", right / (double)IMAGES, right, IMAGES);
  return argc == 3 ? classify_pgm(argv[2]) : 0;
}
