/* random.c - cnn_random, the counter-based generator of cnnrt.h.
 *
 * A pure function of (seed, stream, counter): a value never depends on the
 * order of the draws, so initialisation, shuffling and dropout give the
 * same bits whatever the thread count, and a resumed run can recompute any
 * of them. */
#include "runtime.h"

#define GOLDEN UINT64_C(0x9e3779b97f4a7c15)

/* splitmix64's finaliser */
static uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
  return z ^ (z >> 31);
}

uint64_t cnn_random(uint64_t seed, uint64_t stream, uint64_t counter) {
  uint64_t key = mix(seed ^ mix(stream + GOLDEN));
  return mix(key + counter * GOLDEN);
}

double cnn_uniform(uint64_t r) { return (double)(r >> 11) * 0x1p-53; }
