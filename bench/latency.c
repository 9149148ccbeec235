/* latency.c - single-image latency of an inference object: the median of
 * 500 calls of mnist_cnn_infer, after 20 to warm caches. Prints JSON. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>

#include "timing.h"
#include "mnist_cnn.h"

enum { WARM = 20, CALLS = 500 };

static _Alignas(MNIST_CNN_SCRATCH_ALIGN) unsigned char
    scratch[MNIST_CNN_SCRATCH_SIZE];

int main(void) {
  static float input[MNIST_CNN_INPUT_SIZE], output[MNIST_CNN_OUTPUT_SIZE];
  static double t[CALLS];
  for (int i = 0; i < MNIST_CNN_INPUT_SIZE; i++)
    input[i] = (float)(i % 255) / 255.0f;
  for (int i = 0; i < WARM; i++)
    mnist_cnn_infer(input, output, scratch);
  for (int i = 0; i < CALLS; i++) {
    double t0 = now();
    mnist_cnn_infer(input, output, scratch);
    t[i] = now() - t0;
  }
  printf("{\"object_latency_ms\": %.4f}\n", median(t, CALLS) * 1e3);
  return 0;
}
