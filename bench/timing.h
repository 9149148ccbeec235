/* timing.h - the clock and the median the bench programs share (they are
 * built apart, each with its own object, so the helpers are static). */
#ifndef CNNC_BENCH_TIMING_H
#define CNNC_BENCH_TIMING_H

#include <stdlib.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int compare_doubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The median of t[0..n), which it sorts. */
static double median(double *t, size_t n) {
  qsort(t, n, sizeof t[0], compare_doubles);
  return t[n / 2];
}

#endif
