/* object_parity.c - an inference object's outputs against PyTorch's for
 * the same weights and images (DIR/images.bin and DIR/REF, the floats a
 * reference script wrote): every value within 1e-4. The object is made
 * with --name=net, so one program serves every model.
 *
 *   object_parity DIR N REF */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "net.h"

static _Alignas(NET_SCRATCH_ALIGN) unsigned char scratch[NET_SCRATCH_SIZE];

static float *load(const char *dir, const char *name, size_t count) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  float *v = malloc(count * sizeof *v);
  if (!f || !v || fread(v, sizeof *v, count, f) != count) {
    fprintf(stderr, "object_parity: cannot read %s\n", path);
    exit(1);
  }
  fclose(f);
  return v;
}

int main(int argc, char **argv) {
  if (argc != 4)
    return 2;
  int n = atoi(argv[2]);
  float *x = load(argv[1], "images.bin", (size_t)n * NET_INPUT_SIZE);
  float *ref = load(argv[1], argv[3], (size_t)n * NET_OUTPUT_SIZE);
  float *ours = malloc(sizeof(float) * (size_t)n * NET_OUTPUT_SIZE);
  net_infer_batch(n, x, ours, scratch);
  double worst = 0;
  for (int i = 0; i < n * NET_OUTPUT_SIZE; i++) {
    double e = fabs((double)ours[i] - ref[i]);
    if (!(e <= worst)) /* a NaN is the worst */
      worst = e;
  }
  printf("%s: %d images, %d outputs each, differ by at most %.2e\n",
         worst <= 1e-4 ? "OK" : "FAIL", n, NET_OUTPUT_SIZE, worst);
  free(x);
  free(ref);
  free(ours);
  return !(worst <= 1e-4);
}
