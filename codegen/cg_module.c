/* cg_module.c - one LLVM module per model: the trainer's functions
 * (cg_schedule.c) and descriptor (cg_descriptor.c), or an inference
 * object's (cg_infer.c), for the target of cg_target.c, verified,
 * optimised with the new pass manager and written as object, assembly or
 * IR.
 *
 * Every pointer argument is noalias: the caller passes distinct buffers,
 * and telling LLVM so is what lets it vectorise a weight read against an
 * arena write without run-time checks. */
#include <llvm-c/Analysis.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>
#include <stdlib.h>
#include <string.h>

#include "cg.h"

static int64_t scratch_bytes(const Cg *g) {
  int64_t most = 0;
  for (int i = 0; i < g->m->nnodes; i++) {
    const Node *n = g->m->nodes[i];
    Node folded;
    Tensor *in[7];
    int64_t s = cg_conv_scratch_bytes(g, n);
    if (cg_eval_fold(g->m, n, &folded, in) &&
        cg_conv_scratch_bytes(g, &folded) > s)
      s = cg_conv_scratch_bytes(g, &folded);
    int64_t bn = cg_batchnorm_scratch_bytes(n);
    s = bn > s ? bn : s;
    most = s > most ? s : most;
  }
  return most;
}

static void init_types(Cg *g) {
  g->f32 = LLVMFloatTypeInContext(g->ctx);
  g->f64 = LLVMDoubleTypeInContext(g->ctx);
  g->i1 = LLVMInt1TypeInContext(g->ctx);
  g->i32 = LLVMInt32TypeInContext(g->ctx);
  g->i64 = LLVMInt64TypeInContext(g->ctx);
  g->ptr = LLVMPointerTypeInContext(g->ctx, 0);
  g->void_t = LLVMVoidTypeInContext(g->ctx);
  g->vec = LLVMVectorType(g->f32, (unsigned)g->target.vw);
}

static bool optimise(Cg *g, LLVMTargetMachineRef tm, int level, Diag *d) {
  char passes[32];
  snprintf(passes, sizeof passes, "default<O%d>", level);
  LLVMPassBuilderOptionsRef opts = LLVMCreatePassBuilderOptions();
  /* The kernels are register-blocked by hand, so LLVM's unroller only
   * multiplied their code: with it, examples/mnist.cnn took 1.3 s to
   * compile instead of 0.7 s, and trained and inferred no faster
   * (measured 2026-12-01). */
  LLVMPassBuilderOptionsSetLoopUnrolling(opts, false);
  LLVMErrorRef err = LLVMRunPasses(g->mod, passes, tm, opts);
  LLVMDisposePassBuilderOptions(opts);
  if (!err)
    return true;
  char *msg = LLVMGetErrorMessage(err);
  diag_tool_error(d, "LLVM passes failed: %s", msg);
  LLVMDisposeErrorMessage(msg);
  return false;
}

/* The output in memory, so that the driver writes it through one writer
 * (runtime/outfile.h) and a full disk is an error, not an LLVM abort. */
static bool take_bytes(const char *data, size_t size, CgBytes *out, Diag *d) {
  out->data = malloc(size ? size : 1);
  out->size = size;
  if (!out->data) {
    diag_tool_error(d, "out of memory for the %zu bytes of output", size);
    return false;
  }
  memcpy(out->data, data, size);
  return true;
}

static bool render(Cg *g, LLVMTargetMachineRef tm, EmitKind kind,
                   CgBytes *out, Diag *d) {
  if (kind == EMIT_LLVM) {
    char *text = LLVMPrintModuleToString(g->mod);
    bool ok = take_bytes(text, strlen(text), out, d);
    LLVMDisposeMessage(text);
    return ok;
  }
  char *err = NULL;
  LLVMMemoryBufferRef buf;
  if (LLVMTargetMachineEmitToMemoryBuffer(
          tm, g->mod, kind == EMIT_ASM ? LLVMAssemblyFile : LLVMObjectFile,
          &err, &buf)) {
    diag_tool_error(d, "LLVM cannot emit the code: %s", err ? err : "?");
    LLVMDisposeMessage(err);
    return false;
  }
  bool ok = take_bytes(LLVMGetBufferStart(buf), LLVMGetBufferSize(buf), out, d);
  LLVMDisposeMemoryBuffer(buf);
  return ok;
}

void cg_bytes_free(CgBytes *b) {
  free(b->data);
  *b = (CgBytes){0};
}

static void verify(Cg *g) {
  char *msg = NULL;
  if (LLVMVerifyModule(g->mod, LLVMReturnStatusAction, &msg)) {
    fprintf(stderr, "cnnc: internal error: invalid LLVM module:\n%s\n", msg);
    LLVMDisposeMessage(msg);
    unreachable();
  }
  LLVMDisposeMessage(msg);
}

bool cg_emit(const Module *m, const CgOptions *o, CgBytes *out, Diag *d) {
  if (!m->infer_arena_bytes || (!o->infer_name && !m->differentiated))
    unreachable();
  Cg g = {0};
  LLVMTargetMachineRef tm = cg_target_machine(o, &g.target, d);
  if (!tm)
    return false;
  g.m = m;
  g.reference = o->reference;
  g.ctx = LLVMContextCreate();
  g.mod = LLVMModuleCreateWithNameInContext(m->name, g.ctx);
  g.b = LLVMCreateBuilderInContext(g.ctx);
  init_types(&g);
  g.scratch_bytes = scratch_bytes(&g);
  LLVMTargetDataRef layout = LLVMCreateTargetDataLayout(tm);
  LLVMSetModuleDataLayout(g.mod, layout);
  char *triple = LLVMGetTargetMachineTriple(tm);
  LLVMSetTarget(g.mod, triple);
  LLVMDisposeMessage(triple);
  if (o->infer_name) {
    cg_inference_entries(&g, o);
  } else {
    CgEntryPoints e = cg_emit_trainer(&g);
    cg_model_descriptor(&g, &e);
  }
  verify(&g);
  bool ok = optimise(&g, tm, o->opt_level, d) &&
            render(&g, tm, o->emit, out, d);
  LLVMDisposeBuilder(g.b);
  LLVMDisposeModule(g.mod);
  LLVMDisposeTargetData(layout);
  LLVMContextDispose(g.ctx);
  LLVMDisposeTargetMachine(tm);
  return ok;
}
