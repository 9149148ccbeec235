/* use.c - one call of an inference object's NAME_infer, on a ramp of
 * pixels; with SET_WEIGHTS, all weights zero first. Prints the outputs. */
#include <stdio.h>

#include HEADER

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define STR2(x) #x
#define STR(x) STR2(x)
#define FN(suffix) CAT(PREFIX, suffix)
#define SIZE(what) CAT(UPPER, what)

static _Alignas(SIZE(_SCRATCH_ALIGN)) unsigned char scratch[SIZE(_SCRATCH_SIZE)];

int main(void) {
  float in[SIZE(_INPUT_SIZE)], out[SIZE(_OUTPUT_SIZE)];
  for (int i = 0; i < SIZE(_INPUT_SIZE); i++)
    in[i] = (float)i / SIZE(_INPUT_SIZE);
#ifdef SET_WEIGHTS
  static const float weights[SIZE(_WEIGHTS_SIZE)];
  FN(_set_weights)(weights);
#endif
  FN(_infer)(in, out, scratch);
  printf("%s: %d outputs", STR(PREFIX), SIZE(_OUTPUT_SIZE));
  for (int i = 0; i < SIZE(_OUTPUT_SIZE); i++)
    printf(" %.4f", out[i]);
  printf(", class %d\n", FN(_predict)(in, scratch));
  return 0;
}
