/* two_objects.c - the largest difference between the outputs of two
 * inference objects of one model (A and B, the header names they were
 * given) on random images. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "a.h"
#include "b.h"

int main(void) {
  static float in[A_INPUT_SIZE], ya[A_OUTPUT_SIZE], yb[B_OUTPUT_SIZE];
  static _Alignas(64) unsigned char sa[A_SCRATCH_SIZE], sb[B_SCRATCH_SIZE];
  double worst = 0;
  srand(1);
  for (int t = 0; t < 50; t++) {
    for (int i = 0; i < A_INPUT_SIZE; i++)
      in[i] = (float)rand() / (float)RAND_MAX;
    a_infer(in, ya, sa);
    b_infer(in, yb, sb);
    for (int k = 0; k < A_OUTPUT_SIZE; k++)
      worst = fmax(worst, fabs(ya[k] - yb[k]));
  }
  printf("%s: outputs differ by at most %.3g\n", worst <= 1e-5 ? "OK" : "FAIL",
         worst);
  return worst > 1e-5;
}
