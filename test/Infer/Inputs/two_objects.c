/* two_objects.c - the largest difference between the outputs of two
 * inference objects of one model (A and B, the header names they were
 * given) on random images. With -DSET_WEIGHTS the objects take their
 * weights at run time: both get the same random ones, in [0.02, 0.12):
 * positive, so that a batchnorm's running variance is, and small, so that
 * the probabilities do not saturate at 0 and 1 where a difference would
 * not show. A NaN anywhere is a failure. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "a.h"
#include "b.h"

int main(void) {
  static float in[A_INPUT_SIZE], ya[A_OUTPUT_SIZE], yb[B_OUTPUT_SIZE];
  static _Alignas(64) unsigned char sa[A_SCRATCH_SIZE], sb[B_SCRATCH_SIZE];
  double worst = 0;
  srand(1);
#ifdef SET_WEIGHTS
  static float w[A_WEIGHTS_SIZE];
  for (int i = 0; i < A_WEIGHTS_SIZE; i++)
    w[i] = 0.02f + 0.1f * (float)rand() / (float)RAND_MAX;
  a_set_weights(w);
  b_set_weights(w);
#endif
  for (int t = 0; t < 50; t++) {
    for (int i = 0; i < A_INPUT_SIZE; i++)
      in[i] = (float)rand() / (float)RAND_MAX;
    a_infer(in, ya, sa);
    b_infer(in, yb, sb);
    for (int k = 0; k < A_OUTPUT_SIZE; k++) {
      double d = fabs(ya[k] - yb[k]);
      worst = d <= worst ? worst : d; /* NaN: stays NaN */
    }
  }
  bool ok = worst <= 1e-5;
  printf("%s: outputs differ by at most %.3g\n", ok ? "OK" : "FAIL", worst);
  return !ok;
}
