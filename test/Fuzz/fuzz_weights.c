/* fuzz_weights.c - libFuzzer target over the safetensors reader
 * (runtime/stread.c and runtime/json.c, through driver/weights.c): any bytes must end in weights or
 * reported errors, never a crash or an out-of-bounds read. The models are
 * two small fixed ones (one with a batchnorm, for I64), lowered once.
 *
 * Each input is read twice, as a file whose size is known and as a pipe
 * that has no size and hands out a few bytes per read: both must come to
 * the same answer (the same weights, or errors), since the size check up
 * front and the one-more-byte check at the end describe the same file. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ast.h"
#include "passes.h"
#include "weights.h"

/* The tiny model, and the same with a batchnorm: its buffers, the I64
 * num_batches_tracked among them. Every input is read for both. */
static const char *const models[2] = {
    "model tiny {\n input(6, 6, 1)\n conv2d(3, kernel=3, padding=same)\n"
    " flatten()\n dense(2, activation=softmax)\n}\n",
    "model tiny {\n input(6, 6, 1)\n conv2d(3, kernel=3, padding=same)\n"
    " batchnorm()\n flatten()\n dense(2, activation=softmax)\n}\n"};

static Module *model(int k) {
  static Arena a;
  static Module *m[2];
  if (m[k])
    return m[k];
  static Source src[2];
  src[k] = (Source){"tiny.cnn", models[k], strlen(models[k])};
  static Diag d;
  diag_init(&d, &src[k], NULL);
  m[k] = ir_lower(parse_source(&src[k], &d, &a), &d, &a);
  PipelineOptions po = {NULL, NULL, NULL};
  if (!m[k] || !pipeline_run(m[k], &po))
    __builtin_trap();
  return m[k];
}

/* A pipe over the input: short reads of 1 to 13 bytes. */
typedef struct Pipe {
  const uint8_t *p;
  size_t len, at, reads;
} Pipe;

static ptrdiff_t read_pipe(void *ctx, void *buf, size_t n) {
  Pipe *pipe = ctx;
  size_t k = 1 + pipe->reads++ * 7 % 13;
  k = k < n ? k : n;
  k = k < pipe->len - pipe->at ? k : pipe->len - pipe->at;
  memcpy(buf, pipe->p + pipe->at, k);
  pipe->at += k;
  return (ptrdiff_t)k;
}

/* The weights, or NULL; a result with an error is a contradiction. */
static float *checked(float *w, const Diag *d) {
  if (w && d->errors)
    __builtin_trap();
  if (!w && !d->errors)
    __builtin_trap(); /* refused without saying why */
  return w;
}

/* Messages are formatted (into /dev/null), so that their arguments are
 * exercised too. */
static FILE *sink(void) {
  static FILE *f;
  if (!f && !(f = fopen("/dev/null", "w")))
    __builtin_trap();
  return f;
}

static void read_both_ways(const uint8_t *data, size_t size, Module *m) {
  Arena a;
  arena_init(&a);
  Diag file_d, pipe_d;
  diag_init(&file_d, NULL, sink());
  diag_init(&pipe_d, NULL, sink());
  float *file = checked(weights_parse(data, size, "fuzz.safetensors", m,
                                      &file_d, &a), &file_d);
  Pipe pipe = {data, size, 0, 0};
  StInput in = {"fuzz.fifo", -1, read_pipe, &pipe};
  float *piped = checked(weights_read(&in, m, &pipe_d, &a), &pipe_d);
  if (!file != !piped ||
      (file && memcmp(file, piped, sizeof *file * (size_t)m->param_floats)))
    __builtin_trap(); /* the two ways of reading disagree */
  arena_free_all(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  for (int k = 0; k < 2; k++)
    read_both_ways(data, size, model(k));
  return 0;
}
