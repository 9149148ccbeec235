/* fma_peak.c - the machine's peak of float multiply-adds: what a kernel's
 * GFLOP/s is a fraction of.
 *
 *   fma_peak THREADS      (build: cc -O2 -march=native fma_peak.c -pthread)
 *
 * Each thread runs 20 independent chains of vector FMAs (enough to cover
 * the latency of two FMA units) on vectors of the widest size the
 * compiler targets, for a fraction of a second, in TRIALS rounds; prints
 * one line of JSON with the best round's GFLOP/s of all threads together
 * and per thread. The best, since a peak is what the machine can do: on a
 * shared VM a round that a neighbour slows measures the neighbour. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "timing.h"

#if defined(__AVX512F__)
enum { LANES = 16 };
#elif defined(__AVX__)
enum { LANES = 8 };
#else
enum { LANES = 4 };
#endif
typedef float vec __attribute__((vector_size(4 * LANES)));

enum { CHAINS = 20, TRIALS = 5 };
static const long ITERS = 40L * 1000 * 1000;

/* The chains as named variables, so that they live in registers. */
#define EACH(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) \
  X(11) X(12) X(13) X(14) X(15) X(16) X(17) X(18) X(19)
#define DECLARE(k) vec a##k = m * (float)(k + 1);
#define STEP(k) a##k = a##k * m + c; /* one FMA: GCC contracts by default */
#define ADD(k) acc += a##k;

static void *chains(void *out) {
  vec m, c;
  for (int i = 0; i < LANES; i++)
    m[i] = 0.999999f, c[i] = 1e-7f;
  EACH(DECLARE)
  for (long i = 0; i < ITERS; i++) {
    EACH(STEP)
    __asm__ volatile("" ::: "memory"); /* the loop stays a loop */
  }
  vec acc = m * 0.0f;
  EACH(ADD)
  float sum = 0;
  for (int i = 0; i < LANES; i++)
    sum += acc[i];
  *(float *)out = sum; /* keeps the chains alive */
  return NULL;
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 1;
  if (threads < 1 || threads > 256) {
    fprintf(stderr, "usage: fma_peak THREADS\n");
    return 1;
  }
  (void)median; /* timing.h's, for the other programs */
  pthread_t t[256];
  float sink[256];
  double gflops = 0;
  for (int trial = 0; trial < TRIALS; trial++) {
    double t0 = now();
    for (int i = 0; i < threads; i++)
      pthread_create(&t[i], NULL, chains, &sink[i]);
    for (int i = 0; i < threads; i++)
      pthread_join(t[i], NULL);
    double s = now() - t0;
    double g = 2.0 * LANES * CHAINS * (double)ITERS * threads / s / 1e9;
    if (g > gflops)
      gflops = g;
  }
  printf("{\"peak_gflops\": %.1f, \"per_thread\": %.1f, \"lanes\": %d, "
         "\"check\": %g}\n", gflops, gflops / threads, LANES, (double)sink[0]);
  return 0;
}
