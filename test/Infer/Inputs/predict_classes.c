/* predict_classes.c - prints the class an inference object predicts for
 * each of the first N MNIST test images, one per line, so that objects for
 * different CPUs can be compared with diff.
 *
 *   predict_classes MNIST_DIR N */
#include <stdio.h>
#include <stdlib.h>

#include "mnist_cnn.h"

static _Alignas(MNIST_CNN_SCRATCH_ALIGN) unsigned char
    scratch[MNIST_CNN_SCRATCH_SIZE];

int main(int argc, char **argv) {
  if (argc != 3)
    return 2;
  char path[4096];
  snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte", argv[1]);
  FILE *f = fopen(path, "rb");
  int n = atoi(argv[2]);
  unsigned char header[16], px[MNIST_CNN_INPUT_SIZE];
  if (!f || fread(header, 1, 16, f) != 16)
    return 1;
  for (int i = 0; i < n && fread(px, 1, sizeof px, f) == sizeof px; i++) {
    float in[MNIST_CNN_INPUT_SIZE];
    for (int k = 0; k < MNIST_CNN_INPUT_SIZE; k++)
      in[k] = px[k] / 255.0f;
    printf("%d\n", mnist_cnn_predict(in, scratch));
  }
  fclose(f);
  return 0;
}
