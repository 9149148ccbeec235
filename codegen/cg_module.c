/* cg_module.c - one LLVM module per model: the train step, the inference
 * function and the descriptor, verified, optimised with the new pass
 * manager and written as object, assembly or IR.
 *
 * The functions match runtime/cnnrt.h's CnnTrainStepFn and CnnInferFn.
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

/* The widest float vector of the target: 16 lanes with AVX-512, 8 with
 * AVX, 4 otherwise (SSE, NEON). */
static int vector_width(LLVMTargetMachineRef tm) {
  char *features = LLVMGetTargetMachineFeatureString(tm);
  char *triple = LLVMGetTargetMachineTriple(tm);
  int vw = 4;
  if (strstr(features, "+avx512f"))
    vw = 16;
  else if (strstr(features, "+avx"))
    vw = 8;
  (void)triple;
  LLVMDisposeMessage(features);
  LLVMDisposeMessage(triple);
  return vw;
}

static int64_t scratch_bytes(const Cg *g) {
  int64_t most = 0;
  for (int i = 0; i < g->m->nnodes; i++) {
    int64_t s = cg_conv_scratch_bytes(g, g->m->nodes[i]);
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
  g->vec = LLVMVectorType(g->f32, (unsigned)g->vw);
}

static void emit_node(Cg *g, const Node *n) {
  switch (n->op) {
  case OP_CONV2D: cg_conv2d(g, n); return;
  case OP_CONV2D_BWD_DATA: cg_conv2d_bwd_data(g, n); return;
  case OP_CONV2D_BWD_WEIGHT: cg_conv2d_bwd_weight(g, n); return;
  case OP_CONV2D_BWD_BIAS: cg_conv2d_bwd_bias(g, n); return;
  case OP_DENSE: cg_dense(g, n); return;
  case OP_DENSE_BWD_DATA: cg_dense_bwd_data(g, n); return;
  case OP_DENSE_BWD_WEIGHT: cg_dense_bwd_weight(g, n); return;
  case OP_DENSE_BWD_BIAS: cg_dense_bwd_bias(g, n); return;
  case OP_MAXPOOL:
  case OP_AVGPOOL:
  case OP_POOL_DROPOUT: cg_pool(g, n); return;
  case OP_MAXPOOL_BWD:
  case OP_AVGPOOL_BWD:
  case OP_POOL_DROPOUT_BWD: cg_pool_bwd(g, n); return;
  case OP_DROPOUT:
  case OP_DROPOUT_BWD: cg_dropout(g, n); return;
  case OP_FLATTEN:
  case OP_FLATTEN_BWD: return; /* views: plan-memory shared the storage */
  case OP_RELU:
  case OP_LEAKY_RELU:
  case OP_SIGMOID:
  case OP_TANH:
  case OP_ACT_BWD:
  case OP_ADD: cg_elementwise(g, n); return;
  case OP_SOFTMAX: cg_softmax(g, n); return;
  case OP_SOFTMAX_BWD: cg_softmax_bwd(g, n); return;
  case OP_CROSS_ENTROPY:
  case OP_SOFTMAX_XENT: cg_loss(g, n); return;
  case OP_CROSS_ENTROPY_BWD:
  case OP_SOFTMAX_XENT_BWD: cg_loss_bwd(g, n); return;
  case OP_SGD_UPDATE:
  case OP_ADAM_UPDATE: cg_update(g, n); return;
  case OP_COUNT: break;
  }
  unreachable();
}

static LLVMValueRef new_function(Cg *g, const char *name, LLVMTypeRef *params,
                                 unsigned nparams) {
  LLVMTypeRef ft = LLVMFunctionType(g->void_t, params, nparams, false);
  LLVMValueRef fn = LLVMAddFunction(g->mod, name, ft);
  LLVMSetLinkage(fn, LLVMInternalLinkage);
  unsigned noalias = LLVMGetEnumAttributeKindForName("noalias", 7);
  for (unsigned i = 0; i < nparams; i++)
    if (params[i] == g->ptr)
      LLVMAddAttributeAtIndex(fn, i + 1,
                              LLVMCreateEnumAttribute(g->ctx, noalias, 0));
  g->fn = fn;
  g->entry = LLVMAppendBasicBlockInContext(g->ctx, fn, "entry");
  LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(g->ctx, fn, "start");
  LLVMPositionBuilderAtEnd(g->b, body);
  return fn;
}

/* The entry block holds only the stack slots; it falls through at the end. */
static void finish_function(Cg *g) {
  LLVMBuildRetVoid(g->b);
  LLVMBasicBlockRef start = LLVMGetNextBasicBlock(g->entry);
  LLVMPositionBuilderAtEnd(g->b, g->entry);
  LLVMBuildBr(g->b, start);
  memset(g->buf, 0, sizeof g->buf);
}

/* void train_step(params, opt_state, images, labels, n, arena, step, seed,
 *                 lr, loss_sum, correct) */
static LLVMValueRef emit_train_step(Cg *g) {
  LLVMTypeRef p = g->ptr, i = g->i64;
  LLVMTypeRef params[] = {p, p, p, p, i, p, i, i, g->f32, p, p};
  char *name = arena_printf(g->m->arena, "%s_train_step", g->m->name);
  LLVMValueRef fn = new_function(g, name, params, 11);
  g->scratch = g->m->train_arena_bytes;
  g->buf[BUF_PARAMS] = LLVMGetParam(fn, 0);
  g->buf[BUF_STATE] = LLVMGetParam(fn, 1);
  g->buf[BUF_INPUT] = LLVMGetParam(fn, 2);
  g->buf[BUF_LABELS] = LLVMGetParam(fn, 3);
  g->n = LLVMGetParam(fn, 4);
  g->buf[BUF_ARENA] = LLVMGetParam(fn, 5);
  g->step = LLVMGetParam(fn, 6);
  g->seed = LLVMGetParam(fn, 7);
  g->lr = LLVMGetParam(fn, 8);
  g->loss_sum = LLVMGetParam(fn, 9);
  g->correct = LLVMGetParam(fn, 10);
  g->training = true;
  for (int k = 0; k < g->m->nnodes; k++)
    emit_node(g, g->m->nodes[k]);
  finish_function(g);
  return fn;
}

static bool is_forward(const Node *n) {
  return !(ir_op_info(n->op)->flags & (OPF_GRAD | OPF_UPDATE | OPF_LOSS));
}

/* void infer(params, images, probs, n, arena): the forward graph without
 * dropout, then the prediction copied out. */
static LLVMValueRef emit_infer(Cg *g) {
  LLVMTypeRef p = g->ptr;
  LLVMTypeRef params[] = {p, p, p, g->i64, p};
  char *name = arena_printf(g->m->arena, "%s_infer", g->m->name);
  LLVMValueRef fn = new_function(g, name, params, 5);
  g->scratch = g->m->infer_arena_bytes;
  g->buf[BUF_PARAMS] = LLVMGetParam(fn, 0);
  g->buf[BUF_INPUT] = LLVMGetParam(fn, 1);
  g->n = LLVMGetParam(fn, 3);
  g->buf[BUF_ARENA] = LLVMGetParam(fn, 4);
  g->training = false;
  for (int k = 0; k < g->m->nnodes; k++)
    if (is_forward(g->m->nodes[k]))
      emit_node(g, g->m->nodes[k]);
  int64_t classes = ir_shape_elems(&g->m->output->shape);
  LLVMValueRef probs = LLVMGetParam(fn, 2);
  CgLoop lb, lk;
  LLVMValueRef b = cg_loop_begin(g, &lb, g->n, "b");
  LLVMValueRef out = cg_tensor(g, g->m->output, b);
  LLVMValueRef row = cg_gep(g, g->f32, probs, cg_mulc(g, b, classes));
  LLVMValueRef k = cg_for(g, &lk, classes, "k");
  cg_store(g, cg_load(g, out, k), row, k);
  cg_loop_end(g, &lk);
  cg_loop_end(g, &lb);
  finish_function(g);
  return fn;
}

/* ---- target, passes, output ---------------------------------------------- */

static LLVMTargetMachineRef target_machine(const CgOptions *o, Diag *d) {
  LLVMInitializeAllTargetInfos();
  LLVMInitializeAllTargets();
  LLVMInitializeAllTargetMCs();
  LLVMInitializeAllAsmPrinters();
  char *triple = o->triple ? LLVMNormalizeTargetTriple(o->triple)
                           : LLVMGetDefaultTargetTriple();
  LLVMTargetRef target;
  char *err = NULL;
  LLVMTargetMachineRef tm = NULL;
  if (LLVMGetTargetFromTriple(triple, &target, &err)) {
    diag_tool_error(d, "unknown target '%s': %s", triple, err);
    LLVMDisposeMessage(err);
  } else {
    bool host = !o->triple;
    char *cpu = o->cpu ? LLVMCreateMessage(o->cpu)
                       : host ? LLVMGetHostCPUName() : LLVMCreateMessage("generic");
    char *features = host && !o->cpu ? LLVMGetHostCPUFeatures() : LLVMCreateMessage("");
    LLVMCodeGenOptLevel level = o->opt_level == 0   ? LLVMCodeGenLevelNone
                                : o->opt_level == 1 ? LLVMCodeGenLevelLess
                                : o->opt_level == 2 ? LLVMCodeGenLevelDefault
                                                    : LLVMCodeGenLevelAggressive;
    tm = LLVMCreateTargetMachine(target, triple, cpu, features, level,
                                 LLVMRelocPIC, LLVMCodeModelDefault);
    LLVMDisposeMessage(cpu);
    LLVMDisposeMessage(features);
  }
  LLVMDisposeMessage(triple);
  return tm;
}

static bool optimise(Cg *g, LLVMTargetMachineRef tm, int level, Diag *d) {
  char passes[32];
  snprintf(passes, sizeof passes, "default<O%d>", level);
  LLVMPassBuilderOptionsRef opts = LLVMCreatePassBuilderOptions();
  LLVMErrorRef err = LLVMRunPasses(g->mod, passes, tm, opts);
  LLVMDisposePassBuilderOptions(opts);
  if (!err)
    return true;
  char *msg = LLVMGetErrorMessage(err);
  diag_tool_error(d, "LLVM passes failed: %s", msg);
  LLVMDisposeErrorMessage(msg);
  return false;
}

static bool write_output(Cg *g, LLVMTargetMachineRef tm, EmitKind kind,
                         const char *path, Diag *d) {
  char *err = NULL;
  bool failed;
  if (kind == EMIT_LLVM)
    failed = LLVMPrintModuleToFile(g->mod, path, &err);
  else
    failed = LLVMTargetMachineEmitToFile(
        tm, g->mod, (char *)path,
        kind == EMIT_ASM ? LLVMAssemblyFile : LLVMObjectFile, &err);
  if (failed) {
    diag_tool_error(d, "cannot write '%s': %s", path, err ? err : "?");
    LLVMDisposeMessage(err);
  }
  return !failed;
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

bool cg_emit(const Module *m, const CgOptions *o, const char *path, Diag *d) {
  if (!m->differentiated || !m->train_arena_bytes)
    unreachable();
  LLVMTargetMachineRef tm = target_machine(o, d);
  if (!tm)
    return false;
  Cg g = {0};
  g.m = m;
  g.vw = vector_width(tm);
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
  LLVMValueRef train = emit_train_step(&g);
  LLVMValueRef infer = emit_infer(&g);
  cg_model_descriptor(&g, train, infer);
  verify(&g);
  bool ok = optimise(&g, tm, o->opt_level, d) &&
            write_output(&g, tm, o->emit, path, d);
  LLVMDisposeBuilder(g.b);
  LLVMDisposeModule(g.mod);
  LLVMDisposeTargetData(layout);
  LLVMContextDispose(g.ctx);
  LLVMDisposeTargetMachine(tm);
  return ok;
}
