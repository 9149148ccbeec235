/* cg_kernels.c - one LLVM function per op: which kernel emits an op,
 * the kernels' arguments, and the calls of a chunk's kernels.
 *
 * An op has a reference kernel (the plain loop nest) and may have a fast
 * one (register-blocked and vectorised, cg_conv_fast.c, cg_dense_fast.c)
 * that takes the shapes it can and declines the others: the table says
 * which, so that neither calls the other. --reference keeps to the loop
 * nests, the yardstick every fast kernel is tested against. */
#include <string.h>

#include "cg.h"

/* flatten and its gradient are views: plan-memory shared the storage */
static void view(Cg *g, const Node *n) {
  (void)g;
  (void)n;
}

typedef struct Kernel {
  bool (*fast)(Cg *g, const Node *n); /* false: not this shape */
  void (*reference)(Cg *g, const Node *n);
} Kernel;

/* Tried before the fast kernel: an algorithm of fewer multiply-adds, for
 * the shapes it takes (false for the others). */
static bool (*const FEWER_FLOPS[OP_COUNT])(Cg *g, const Node *n) = {
  [OP_CONV2D] = cg_conv2d_winograd,
  [OP_CONV2D_BN] = cg_conv2d_winograd,
  [OP_CONV2D_BWD_DATA] = cg_conv2d_winograd,
};

static const Kernel KERNELS[OP_COUNT] = {
  [OP_CONV2D] = {cg_conv2d_fast, cg_conv2d},
  [OP_CONV2D_BN] = {cg_conv2d_fast, cg_conv2d},
  [OP_CONV2D_BWD_DATA] = {cg_conv2d_bwd_data_fast, cg_conv2d_bwd_data},
  [OP_CONV2D_BWD_WEIGHT] = {cg_conv2d_bwd_weight_fast, cg_conv2d_bwd_weight},
  [OP_CONV2D_BWD_BIAS] = {cg_conv2d_bwd_bias_fast, cg_conv2d_bwd_bias},
  [OP_DENSE] = {cg_dense_fast, cg_dense},
  [OP_DENSE_BWD_DATA] = {cg_dense_bwd_data_fast, cg_dense_bwd_data},
  [OP_DENSE_BWD_WEIGHT] = {cg_dense_bwd_weight_fast, cg_dense_bwd_weight},
  [OP_DENSE_BWD_BIAS] = {NULL, cg_dense_bwd_bias},
  [OP_MAXPOOL] = {NULL, cg_pool},
  [OP_AVGPOOL] = {NULL, cg_pool},
  [OP_POOL_DROPOUT] = {NULL, cg_pool},
  [OP_MAXPOOL_BWD] = {NULL, cg_pool_bwd},
  [OP_AVGPOOL_BWD] = {NULL, cg_pool_bwd},
  [OP_POOL_DROPOUT_BWD] = {NULL, cg_pool_bwd},
  [OP_DROPOUT] = {NULL, cg_dropout},
  [OP_DROPOUT_BWD] = {NULL, cg_dropout},
  [OP_FLATTEN] = {NULL, view},
  [OP_FLATTEN_BWD] = {NULL, view},
  [OP_RELU] = {NULL, cg_elementwise},
  [OP_LEAKY_RELU] = {NULL, cg_elementwise},
  [OP_SIGMOID] = {NULL, cg_elementwise},
  [OP_TANH] = {NULL, cg_elementwise},
  [OP_ACT_BWD] = {NULL, cg_elementwise},
  [OP_GRAD_SUM] = {NULL, cg_elementwise},
  [OP_ADD] = {NULL, cg_sum},
  [OP_CONCAT] = {NULL, cg_concat},
  [OP_NORMALIZE] = {NULL, cg_normalize},
  [OP_CONCAT_BWD] = {NULL, cg_concat_bwd},
  [OP_GLOBAL_MAXPOOL] = {NULL, cg_global_pool},
  [OP_GLOBAL_AVGPOOL] = {NULL, cg_global_pool},
  [OP_GLOBAL_MAXPOOL_BWD] = {NULL, cg_global_pool_bwd},
  [OP_GLOBAL_AVGPOOL_BWD] = {NULL, cg_global_pool_bwd},
  [OP_BATCH_STATS] = {NULL, cg_batch_stats},
  [OP_BATCHNORM] = {NULL, cg_batchnorm},
  [OP_BATCHNORM_BWD_WEIGHT] = {NULL, cg_batchnorm_bwd_weight},
  [OP_BATCHNORM_BWD_BIAS] = {NULL, cg_batchnorm_bwd_bias},
  [OP_BATCHNORM_BWD_DATA] = {NULL, cg_batchnorm_bwd_data},
  [OP_RUNNING_STATS_UPDATE] = {NULL, cg_running_stats_update},
  [OP_SOFTMAX] = {NULL, cg_softmax},
  [OP_SOFTMAX_BWD] = {NULL, cg_softmax_bwd},
  [OP_CROSS_ENTROPY] = {NULL, cg_loss},
  [OP_SOFTMAX_XENT] = {NULL, cg_loss},
  [OP_CROSS_ENTROPY_BWD] = {NULL, cg_loss_bwd},
  [OP_SOFTMAX_XENT_BWD] = {NULL, cg_loss_bwd},
  [OP_SGD_UPDATE] = {NULL, cg_update},
  [OP_ADAM_UPDATE] = {NULL, cg_update},
  [OP_ADAMW_UPDATE] = {NULL, cg_update},
};

static void emit_node(Cg *g, const Node *n) {
  const Kernel *k = &KERNELS[n->op];
  if (!k->reference)
    unreachable(); /* an op without a kernel: the table is incomplete */
  if (FEWER_FLOPS[n->op] && !g->reference && FEWER_FLOPS[n->op](g, n))
    return;
  if (k->fast && !g->reference && k->fast(g, n))
    return;
  k->reference(g, n);
}

LLVMValueRef cg_new_function(Cg *g, const char *name, LLVMTypeRef ret,
                             LLVMTypeRef *params, unsigned nparams,
                             bool exported) {
  LLVMTypeRef ft = LLVMFunctionType(ret, params, nparams, false);
  LLVMValueRef fn = LLVMAddFunction(g->mod, name, ft);
  if (!exported)
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

/* The entry block holds only the stack slots; it falls through at the end.
 * ret: the value to return, or NULL for void. */
void cg_finish_function(Cg *g, LLVMValueRef ret) {
  if (ret)
    LLVMBuildRet(g->b, ret);
  else
    LLVMBuildRetVoid(g->b);
  LLVMBasicBlockRef start = LLVMGetNextBasicBlock(g->entry);
  LLVMPositionBuilderAtEnd(g->b, g->entry);
  LLVMBuildBr(g->b, start);
  memset(g->buf, 0, sizeof g->buf);
  g->n = g->batch_n = g->image_base = g->step = g->seed = g->lr = NULL;
  g->momentum = NULL;
  g->chunk = g->batch_chunks = NULL;
  g->loss_sum = g->correct = NULL;
}


/* ---- kernels -------------------------------------------------------------------
 *
 * Every op is a function of its own (never inlined: a profile then names
 * the op that takes the time, and --emit=llvm reads op by op). A kernel's
 * arguments are the state of the chunk that calls it. */
enum { K_PARAMS, K_STATE, K_INPUT, K_LABELS, K_ARENA, K_N, K_BATCH_N,
       K_BASE, K_STEP, K_SEED, K_CHUNK, K_CHUNKS, K_LR, K_MOMENTUM, K_LOSS,
       K_CORRECT, K_ARGS };

static void kernel_types(Cg *g, LLVMTypeRef *t) {
  for (int i = 0; i < K_ARGS; i++)
    t[i] = i >= K_N && i <= K_CHUNKS ? g->i64 : g->ptr;
  t[K_LR] = t[K_MOMENTUM] = g->f32;
}

LLVMValueRef cg_emit_kernel(Cg *g, const Node *n, bool training) {
  LLVMTypeRef types[K_ARGS];
  kernel_types(g, types);
  char *name = arena_printf(g->m->arena, "%s.%s.%s", g->m->name,
                            training ? "train" : "infer", n->out->name);
  LLVMValueRef fn = cg_new_function(g, name, g->void_t, types, K_ARGS, false);
  unsigned noinline = LLVMGetEnumAttributeKindForName("noinline", 8);
  LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                          LLVMCreateEnumAttribute(g->ctx, noinline, 0));
  Buffer bufs[] = {BUF_PARAMS, BUF_STATE, BUF_INPUT, BUF_LABELS, BUF_ARENA};
  for (int i = 0; i <= K_ARENA; i++)
    g->buf[bufs[i]] = LLVMGetParam(fn, (unsigned)i);
  g->n = LLVMGetParam(fn, K_N);
  g->batch_n = LLVMGetParam(fn, K_BATCH_N);
  g->image_base = LLVMGetParam(fn, K_BASE);
  g->step = LLVMGetParam(fn, K_STEP);
  g->seed = LLVMGetParam(fn, K_SEED);
  g->chunk = LLVMGetParam(fn, K_CHUNK);
  g->batch_chunks = LLVMGetParam(fn, K_CHUNKS);
  g->lr = LLVMGetParam(fn, K_LR);
  g->momentum = LLVMGetParam(fn, K_MOMENTUM);
  g->loss_sum = LLVMGetParam(fn, K_LOSS);
  g->correct = LLVMGetParam(fn, K_CORRECT);
  g->training = training;
  g->scratch = training ? g->m->train_arena_bytes : g->m->infer_arena_bytes;
  emit_node(g, n);
  cg_finish_function(g, NULL);
  return fn;
}

/* A kernel per node that `want` selects, in node order; NULL elsewhere. */
LLVMValueRef *cg_emit_kernels(Cg *g, bool training,
                                  bool (*want)(const Node *)) {
  LLVMValueRef *k = arena_array(g->m->arena, (size_t)g->m->nnodes + 1,
                                sizeof *k);
  for (int i = 0; i < g->m->nnodes; i++)
    if (want(g->m->nodes[i]))
      k[i] = cg_emit_kernel(g, g->m->nodes[i], training);
  return k;
}

static LLVMValueRef or_zero(LLVMValueRef v, LLVMTypeRef t) {
  return v ? v : LLVMConstNull(t);
}

/* Calls every kernel with the state g holds for the current function. */
void cg_call_kernels(Cg *g, LLVMValueRef *kernels) {
  LLVMTypeRef types[K_ARGS];
  kernel_types(g, types);
  LLVMTypeRef ft = LLVMFunctionType(g->void_t, types, K_ARGS, false);
  LLVMValueRef a[K_ARGS] = {
      g->buf[BUF_PARAMS], g->buf[BUF_STATE], g->buf[BUF_INPUT],
      g->buf[BUF_LABELS], g->buf[BUF_ARENA], g->n, g->batch_n,
      g->image_base, g->step, g->seed, g->chunk, g->batch_chunks, g->lr,
      g->momentum,
      g->loss_sum, g->correct};
  for (int i = 0; i < K_ARGS; i++)
    a[i] = or_zero(a[i], types[i]);
  for (int i = 0; i < g->m->nnodes; i++)
    if (kernels[i])
      LLVMBuildCall2(g->b, ft, kernels[i], a, K_ARGS, "");
}

bool cg_is_forward(const Node *n) {
  unsigned not_inference = OPF_GRAD | OPF_UPDATE | OPF_LOSS | OPF_TRAIN_ONLY;
  return !(ir_op_info(n->op)->flags & not_inference);
}

bool cg_is_update(const Node *n) {
  return ir_op_info(n->op)->flags & OPF_UPDATE;
}

