/* clock.c - wall time for the progress bar, the log and the throughput. */
#include "runtime.h"

#include <time.h>

double cnn_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
