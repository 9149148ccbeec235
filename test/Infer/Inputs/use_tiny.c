/* use_tiny.c - compiles as C and as C++ against the header of tiny.cnn's
 * inference object made without weights, and checks the entry points: with
 * all weights zero every class is equally likely, and the prediction is
 * the first class. */
#include <stdio.h>
#include <string.h>

#include "tiny.h"

static float weights[TINY_WEIGHTS_SIZE];
#ifdef __cplusplus
alignas(TINY_SCRATCH_ALIGN) static unsigned char scratch[TINY_SCRATCH_SIZE];
#else
_Alignas(TINY_SCRATCH_ALIGN) static unsigned char scratch[TINY_SCRATCH_SIZE];
#endif

int main(void) {
  float input[2][TINY_INPUT_SIZE], output[2][TINY_OUTPUT_SIZE];
  for (int i = 0; i < TINY_INPUT_SIZE; i++)
    input[0][i] = input[1][i] = (float)i / TINY_INPUT_SIZE;
  tiny_set_weights(weights);
  tiny_infer_batch(2, &input[0][0], &output[0][0], scratch);
  int bad = 0;
  for (int b = 0; b < 2; b++)
    for (int k = 0; k < TINY_OUTPUT_SIZE; k++)
      bad += output[b][k] != 1.0f / TINY_OUTPUT_SIZE;
  int cls = tiny_predict(input[0], scratch);
  printf("%s: outputs %g %g, class %d\n", bad || cls ? "FAIL" : "OK",
         (double)output[0][0], (double)output[1][1], cls);
  return bad || cls;
}
