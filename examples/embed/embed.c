/* embed.c - a program that classifies images with an inference object cnnc
 * made, and nothing else: no runtime library, no allocation. For any model
 * whose output is its classes, under any --name:
 *
 *   embed DIR      the accuracy on DIR's test set, as the trainer prints
 *                  it: MNIST-style IDX files (t10k-images-idx3-ubyte and
 *                  t10k-labels-idx1-ubyte), or CIFAR-10's test_batch.bin
 *   embed IMAGE    the class of one binary PGM (P5, grey) or PPM (P6,
 *                  RGB) image of the model's size, 8-bit samples
 *
 * (several arguments are classified in turn). The build names the header
 * and the prefix of its names (model_names.h). Pixels reach the model as
 * the trainer's do: byte / 255, height x width x channels. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "model_names.h"

enum {
  H = MODEL(_INPUT_HEIGHT), W = MODEL(_INPUT_WIDTH), C = MODEL(_INPUT_CHANNELS),
  PIXELS = MODEL(_INPUT_SIZE),
};

static _Alignas(MODEL(_SCRATCH_ALIGN)) unsigned char
    scratch[MODEL(_SCRATCH_SIZE)];

static int fail(const char *path, const char *what) {
  fprintf(stderr, "embed: error: %s: %s\n", path, what);
  return 0;
}

/* Bytes in height x width x channels order, as the model takes them.
 * The buffers are static, not on the stack, for a model of any size. */
static int classify(const unsigned char *hwc) {
  static float input[PIXELS];
  for (int i = 0; i < PIXELS; i++)
    input[i] = hwc[i] / 255.0f;
  return FN(_predict)(input, scratch);
}

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static FILE *open_in(const char *dir, const char *name, char *path, size_t cap) {
  snprintf(path, cap, "%s/%s", dir, name);
  return fopen(path, "rb");
}

/* An IDX test set: images count x H x W (a grey model's), labels count. */
static int idx_test_set(const char *dir, FILE *images, const char *ipath) {
  char lpath[4096];
  FILE *labels = open_in(dir, "t10k-labels-idx1-ubyte", lpath, sizeof lpath);
  static unsigned char px[PIXELS];
  unsigned char ih[16], lh[8], label;
  if (fread(ih, 1, 16, images) != 16 || be32(ih) != 0x803) {
    if (labels)
      fclose(labels);
    return fail(ipath, "not an IDX file of images (idx3-ubyte)");
  }
  if (C != 1 || be32(ih + 8) != H || be32(ih + 12) != W) {
    if (labels)
      fclose(labels);
    if (C != 1)
      return fail(ipath, "an IDX file is grey; the model takes RGB");
    fprintf(stderr, "embed: error: %s: the images are %lux%lu (width x "
            "height); the model takes %dx%d\n", ipath,
            (unsigned long)be32(ih + 12), (unsigned long)be32(ih + 8), W, H);
    return 0;
  }
  if (!labels || fread(lh, 1, 8, labels) != 8 || be32(lh) != 0x801 ||
      be32(lh + 4) != be32(ih + 4)) {
    if (labels)
      fclose(labels);
    return fail(lpath, "not an IDX label file with one label an image");
  }
  uint32_t n = be32(ih + 4), right = 0;
  for (uint32_t i = 0; i < n; i++) {
    if (fread(px, 1, PIXELS, images) != PIXELS || fread(&label, 1, 1, labels) != 1) {
      fclose(labels);
      return fail(ipath, "truncated");
    }
    right += classify(px) == label;
  }
  fclose(labels);
  printf("test_acc: %.4f (%u of %u)\n", n ? right / (double)n : 0.0, right, n);
  return 1;
}

/* CIFAR-10's test_batch.bin: records of a label and 32x32 planes of R, G
 * and B, which the model takes as HWC. */
static int cifar_test_set(FILE *f, const char *path) {
  if (H != 32 || W != 32 || C != 3)
    return fail(path, "CIFAR-10's images are 32x32x3; the model takes "
                "another size");
  static unsigned char rec[1 + 3 * 32 * 32], hwc[PIXELS];
  uint32_t n = 0, right = 0;
  size_t got;
  while ((got = fread(rec, 1, sizeof rec, f)) == sizeof rec) {
    for (int p = 0; p < 32 * 32; p++)
      for (int c = 0; c < 3; c++)
        hwc[p * 3 + c] = rec[1 + c * 32 * 32 + p];
    right += classify(hwc) == rec[0];
    n++;
  }
  if (got != 0 || n == 0)
    return fail(path, "not whole CIFAR-10 records of 3,073 bytes");
  printf("test_acc: %.4f (%u of %u)\n", right / (double)n, right, n);
  return 1;
}

static int test_set(const char *dir) {
  char path[4096];
  FILE *f = open_in(dir, "t10k-images-idx3-ubyte", path, sizeof path);
  int ok;
  if (f) {
    ok = idx_test_set(dir, f, path);
  } else if ((f = open_in(dir, "test_batch.bin", path, sizeof path))) {
    ok = cifar_test_set(f, path);
  } else {
    return fail(dir, "no test set in it (t10k-images-idx3-ubyte or "
                "test_batch.bin)");
  }
  fclose(f);
  return ok;
}

/* One binary PGM or PPM header number, after blanks and # comments. */
static int header_number(FILE *f) {
  int ch, v = 0, digits = 0;
  while ((ch = fgetc(f)) == '#' || ch == ' ' || ch == '\t' || ch == '\n' ||
         ch == '\r')
    if (ch == '#')
      while ((ch = fgetc(f)) != '\n' && ch != EOF) {
      }
  for (; ch >= '0' && ch <= '9' && v < 100000; ch = fgetc(f), digits++)
    v = v * 10 + (ch - '0');
  return digits ? v : -1; /* the one blank after the number is consumed */
}

static int image_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return fail(path, "cannot open it");
  static unsigned char px[PIXELS];
  char magic[3] = {0};
  int ok = fread(magic, 1, 2, f) == 2 &&
           strcmp(magic, C == 1 ? "P5" : C == 3 ? "P6" : "") == 0;
  int w = ok ? header_number(f) : -1, h = ok ? header_number(f) : -1;
  int max = ok ? header_number(f) : -1;
  ok = ok && w == W && h == H && max == 255 &&
       fread(px, 1, PIXELS, f) == PIXELS;
  fclose(f);
  if (!ok)
    return fail(path, C == 1 ? "not a binary PGM (P5) of the model's size "
                "with maxval 255" : "not a binary PPM (P6) of the model's "
                "size with maxval 255");
  printf("%s: %d\n", path, classify(px));
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: embed TEST_DIR|IMAGE.%s...\n"
            "Classifies with the inference object '%s' (%dx%dx%d images, %d "
            "classes).\n", C == 1 ? "pgm" : "ppm", STR(CNN_MODEL_PREFIX), H, W,
            C, MODEL(_OUTPUT_SIZE));
    return 1;
  }
  int ok = 1;
  for (int i = 1; i < argc; i++) {
    struct stat st;
    int dir = stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode);
    ok &= dir ? test_set(argv[i]) : image_file(argv[i]);
  }
  return ok ? 0 : 1;
}
