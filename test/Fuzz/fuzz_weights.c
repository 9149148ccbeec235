/* fuzz_weights.c - libFuzzer target over the safetensors reader
 * (driver/weights.c and driver/json.c): any bytes must end in weights or
 * reported errors, never a crash or an out-of-bounds read. The model is a
 * small fixed one, lowered once. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ast.h"
#include "passes.h"
#include "weights.h"

static const char model[] =
    "model tiny {\n input(6, 6, 1)\n conv2d(3, kernel=3, padding=same)\n"
    " flatten()\n dense(2, activation=softmax)\n}\n";

static Module *tiny(void) {
  static Arena a;
  static Module *m;
  if (m)
    return m;
  static Source src = {"tiny.cnn", model, sizeof model - 1};
  static Diag d;
  diag_init(&d, &src, NULL);
  m = ir_lower(parse_source(&src, &d, &a), &d, &a);
  PipelineOptions po = {NULL, NULL, NULL};
  if (!m || !pipeline_run(m, &po))
    __builtin_trap();
  return m;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  Module *m = tiny();
  Arena a;
  arena_init(&a);
  Diag d;
  diag_init(&d, NULL, NULL);
  float *w = weights_parse(data, size, "fuzz.safetensors", m, &d, &a);
  if (w && d.errors)
    __builtin_trap(); /* weights and an error: a contradiction */
  arena_free_all(&a);
  return 0;
}
