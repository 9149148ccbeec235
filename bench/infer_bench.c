/* infer_bench.c - inference throughput and single-image latency of a
 * generated model: links with the object `cnnc --emit=obj` makes and with
 * libcnnrt (for the thread pool).
 *
 *   infer_bench THREADS IMAGES REPEATS
 *
 * Throughput: IMAGES images (in calls of the model's batch) REPEATS times,
 * the best repeat. Latency: one image per call, the median of 200 calls.
 * Prints one line of JSON. Inputs are pseudo-random pixels: the work does
 * not depend on them. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>

#include "timing.h"
#include "cnnrt.h"

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: infer_bench THREADS IMAGES REPEATS\n");
    return 1;
  }
  const CnnModel *m = &cnn_model;
  int threads = atoi(argv[1]);
  int64_t images = atoll(argv[2]);
  int repeats = atoi(argv[3]);
  cnn_set_threads(threads);
  int64_t px = m->input_h * m->input_w * m->input_c;
  float *x = malloc(sizeof(float) * (size_t)(images * px));
  float *probs = malloc(sizeof(float) * (size_t)(images * m->num_classes));
  float *params = calloc((size_t)m->num_params, sizeof(float));
  void *arena = aligned_alloc(64, ((size_t)m->infer_arena_bytes + 63) / 64 * 64);
  uint64_t s = 1;
  for (int64_t i = 0; i < images * px; i++)
    x[i] = (float)((s = s * 6364136223846793005ULL + 1) >> 40) / 16777216.0f;
  for (int64_t i = 0; i < m->num_params; i++)
    params[i] = (float)(i % 7) * 0.01f - 0.03f;
  double best = 1e30;
  for (int r = 0; r < repeats; r++) {
    double t0 = now();
    for (int64_t i = 0; i < images; i += m->batch) {
      int64_t n = images - i < m->batch ? images - i : m->batch;
      m->infer(params, x + i * px, probs + i * m->num_classes, n, arena);
    }
    double t = now() - t0;
    best = t < best ? t : best;
  }
  enum { CALLS = 200 };
  double lat[CALLS];
  for (int i = 0; i < CALLS; i++) {
    double t0 = now();
    m->infer(params, x + (i % images) * px, probs, 1, arena);
    lat[i] = now() - t0;
  }
  printf("{\"infer_img_s\": %.1f, \"infer_batch1_ms\": %.4f}\n",
         (double)images / best, median(lat, CALLS) * 1e3);
  free(x);
  free(probs);
  free(params);
  free(arena);
  return 0;
}
