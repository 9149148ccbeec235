/* fuzz_frontend.c - libFuzzer target over the whole front end: reading,
 * parsing, lowering, every pass with the verifier, printing and the summary;
 * then the inference pipeline of the same model (no train block, the
 * batchnorms folded into the weights or into the convs' epilogues), and
 * its PyTorch module (--emit=torch: infer-shapes only).
 *
 * Any input must end in either a clean module or reported errors; a crash,
 * a sanitizer report or a verifier failure (which aborts) is a bug. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "ast.h"
#include "ir.h"
#include "passes.h"
#include "summary.h"
#include "torch.h"

static FILE *sink(void) {
  static FILE *f;
  if (!f)
    f = fopen("/dev/null", "w");
  return f;
}

/* The pipeline over a fresh lowering of ast: as a trainer, or as an
 * inference object with weights baked in or not. */
static void compile(const Ast *ast, Diag *d, bool infer, bool baked) {
  Arena a;
  arena_init(&a);
  Module *m = ir_lower(ast, d, &a);
  if (m && infer) {
    ir_drop_training(m);
    m->bake_weights = baked;
  }
  PipelineOptions po = {NULL, NULL, sink()};
  if (m && pipeline_run(m, &po)) {
    if (!ir_verify(m, "the fuzzer's pipeline"))
      __builtin_trap();
    ir_print(sink(), m);
    summary_print(sink(), m);
  }
  arena_free_all(&a);
}

/* What --emit=torch writes, from infer-shapes alone. */
static void torch_module(const Ast *ast, Diag *d) {
  Arena a;
  arena_init(&a);
  Module *m = ir_lower(ast, d, &a);
  PipelineOptions po = {"infer-shapes", NULL, sink()};
  char *text = NULL;
  size_t size = 0;
  if (m) {
    ir_drop_training(m);
    if (pipeline_run(m, &po) && torch_check_names(m, d) &&
        torch_module_text(m, "fuzz.cnn", &text, &size, d))
      fwrite(text, 1, size, sink());
  }
  free(text);
  arena_free_all(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  Arena a;
  arena_init(&a);
  Source src = {"fuzz.cnn", arena_strndup(&a, (const char *)data, size), size};
  Diag d;
  diag_init(&d, &src, sink());
  Ast *ast = parse_source(&src, &d, &a);
  for (int k = 0; k < 3 && ast && !d.errors; k++)
    compile(ast, &d, k > 0, k == 2);
  if (ast && !d.errors)
    torch_module(ast, &d);
  arena_free_all(&a);
  return 0;
}
