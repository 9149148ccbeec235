/* cg_module.c - one LLVM module per model: the train step, the inference
 * function and the descriptor, verified, optimised with the new pass
 * manager and written as object, assembly or IR.
 *
 * The functions match runtime/cnnrt.h's CnnGradientsFn, CnnUpdateFn and
 * CnnInferFn.
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

/* The widest float vector of the host (or of a bare --target), from the
 * features the target machine was made with: 16 lanes with AVX-512, 8
 * with AVX, 4 otherwise (SSE, NEON). A named --cpu's come from cg_cpu.c. */
static int vector_width(LLVMTargetMachineRef tm) {
  char *features = LLVMGetTargetMachineFeatureString(tm);
  int vw = 4;
  if (strstr(features, "+avx512f"))
    vw = 16;
  else if (strstr(features, "+avx"))
    vw = 8;
  LLVMDisposeMessage(features);
  return vw;
}

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
  g->vec = LLVMVectorType(g->f32, (unsigned)g->vw);
}

static void emit_node(Cg *g, const Node *n) {
  switch (n->op) {
  case OP_CONV2D:
  case OP_CONV2D_BN: cg_conv2d(g, n); return;
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
  case OP_GRAD_SUM: cg_elementwise(g, n); return;
  case OP_ADD: cg_sum(g, n); return;
  case OP_CONCAT: cg_concat(g, n); return;
  case OP_NORMALIZE: cg_normalize(g, n); return;
  case OP_CONCAT_BWD: cg_concat_bwd(g, n); return;
  case OP_GLOBAL_MAXPOOL:
  case OP_GLOBAL_AVGPOOL: cg_global_pool(g, n); return;
  case OP_GLOBAL_MAXPOOL_BWD:
  case OP_GLOBAL_AVGPOOL_BWD: cg_global_pool_bwd(g, n); return;
  case OP_BATCH_STATS: cg_batch_stats(g, n); return;
  case OP_BATCHNORM: cg_batchnorm(g, n); return;
  case OP_BATCHNORM_BWD_WEIGHT: cg_batchnorm_bwd_weight(g, n); return;
  case OP_BATCHNORM_BWD_BIAS: cg_batchnorm_bwd_bias(g, n); return;
  case OP_BATCHNORM_BWD_DATA: cg_batchnorm_bwd_data(g, n); return;
  case OP_RUNNING_STATS_UPDATE: cg_running_stats_update(g, n); return;
  case OP_SOFTMAX: cg_softmax(g, n); return;
  case OP_SOFTMAX_BWD: cg_softmax_bwd(g, n); return;
  case OP_CROSS_ENTROPY:
  case OP_SOFTMAX_XENT: cg_loss(g, n); return;
  case OP_CROSS_ENTROPY_BWD:
  case OP_SOFTMAX_XENT_BWD: cg_loss_bwd(g, n); return;
  case OP_SGD_UPDATE:
  case OP_ADAM_UPDATE:
  case OP_ADAMW_UPDATE: cg_update(g, n); return;
  case OP_COUNT: break;
  }
  unreachable();
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

static LLVMValueRef new_function(Cg *g, const char *name, LLVMTypeRef *params,
                                 unsigned nparams) {
  return cg_new_function(g, name, g->void_t, params, nparams, false);
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

static void finish_function(Cg *g) { cg_finish_function(g, NULL); }

/* ---- chunks ------------------------------------------------------------------
 *
 * A call runs as chunks, each with its own slot of the arena, through the
 * runtime's cnn_parallel_for. Inference deals its n images out evenly
 * over min(n, chunks) chunks: chunk k gets n / chunks of them, one more
 * while k < n % chunks, so no chunk is left nearly empty while another
 * makes every thread wait. A train step's chunks are the runtime's
 * (cnnrt.h's cnn_chunks: the same cut whatever the threads, processes or
 * passes), and it says where each begins (`bounds`). Chunk k reads its
 * images and writes its own partial parameter gradients, which the
 * runtime sums in a fixed order before it calls the update. Nothing
 * depends on which thread ran a chunk. */

/* The arguments of a call, as the chunk functions receive them. */
enum { CTX_PARAMS, CTX_IMAGES, CTX_LABELS, CTX_N, CTX_ARENA, CTX_STEP,
       CTX_SEED, CTX_PROBS, CTX_BOUNDS, CTX_FIRST, CTX_CHUNKS, CTX_LOSS,
       CTX_CORRECT, CTX_FIELDS };

static LLVMTypeRef context_type(Cg *g) {
  LLVMTypeRef p = g->ptr, i = g->i64;
  LLVMTypeRef f[CTX_FIELDS] = {p, p, p, i, p, i, i, p, p, i, i, p, p};
  return LLVMStructTypeInContext(g->ctx, f, CTX_FIELDS, false);
}

static LLVMValueRef ctx_field(Cg *g, LLVMTypeRef ct, LLVMValueRef ctx,
                              unsigned i) {
  return LLVMBuildStructGEP2(g->b, ct, ctx, i, "");
}

static LLVMValueRef ctx_get(Cg *g, LLVMTypeRef ct, LLVMValueRef ctx,
                            unsigned i, LLVMTypeRef t) {
  return LLVMBuildLoad2(g->b, t, ctx_field(g, ct, ctx, i), "");
}

static LLVMValueRef byte_offset(Cg *g, LLVMValueRef p, LLVMValueRef off) {
  LLVMTypeRef i8 = LLVMInt8TypeInContext(g->ctx);
  return LLVMBuildInBoundsGEP2(g->b, i8, p, &off, 1, "");
}

static int64_t chunk_stride(const Cg *g, bool training) {
  int64_t bytes = (training ? g->m->train_arena_bytes : g->m->infer_arena_bytes) +
                  g->scratch_bytes;
  return (bytes + 63) / 64 * 64;
}

int64_t cg_arena_bytes(const Cg *g, bool training) {
  return g->m->chunks * chunk_stride(g, training);
}

int64_t cg_chunk_stride(const Cg *g) { return chunk_stride(g, true); }

/* inference: min(n, chunks), each at most chunk_images as n <= the batch */
static LLVMValueRef infer_chunk_count(Cg *g, LLVMValueRef n) {
  LLVMValueRef most = cg_i64(g, g->m->chunks);
  LLVMValueRef fewer = LLVMBuildICmp(g->b, LLVMIntSLT, n, most, "");
  return LLVMBuildSelect(g->b, fewer, n, most, "chunks");
}

LLVMValueRef cg_chunk_copy(Cg *g, const Tensor *t, LLVMValueRef k) {
  if (ir_tensor_per_image(t) || t->buffer != BUF_ARENA)
    unreachable();
  LLVMValueRef apart = LLVMBuildSub(g->b, k, g->chunk, "");
  LLVMValueRef off = cg_addc(g, cg_mulc(g, apart, chunk_stride(g, true)),
                             t->offset);
  LLVMTypeRef i8 = LLVMInt8TypeInContext(g->ctx);
  /* not inbounds of this chunk's pointer: chunk 0's copy lies before it */
  return LLVMBuildGEP2(g->b, i8, g->buf[BUF_ARENA], &off, 1, "");
}

/* Points g at inference chunk k of the call described by ctx: its
 * images, arena slot, image count and first image. */
static void enter_infer_chunk(Cg *g, LLVMTypeRef ct, LLVMValueRef ctx,
                              LLVMValueRef k) {
  const Shape *in = &g->m->input->shape;
  g->batch_n = ctx_get(g, ct, ctx, CTX_N, g->i64);
  LLVMValueRef chunks = infer_chunk_count(g, g->batch_n);
  LLVMValueRef base = LLVMBuildSDiv(g->b, g->batch_n, chunks, "base");
  LLVMValueRef extra = LLVMBuildSRem(g->b, g->batch_n, chunks, "extra");
  LLVMValueRef more = LLVMBuildICmp(g->b, LLVMIntSLT, k, extra, "");
  LLVMValueRef before = LLVMBuildSelect(g->b, more, k, extra, "");
  g->image_base = cg_add(g, cg_mul(g, k, base), before);
  g->chunk = k;
  g->n = cg_add(g, base, LLVMBuildZExt(g->b, more, g->i64, ""));
  g->buf[BUF_PARAMS] = ctx_get(g, ct, ctx, CTX_PARAMS, g->ptr);
  g->buf[BUF_INPUT] = byte_offset(
      g, ctx_get(g, ct, ctx, CTX_IMAGES, g->ptr),
      cg_mulc(g, g->image_base, ir_shape_elems(in) * 4));
  g->buf[BUF_ARENA] = byte_offset(g, ctx_get(g, ct, ctx, CTX_ARENA, g->ptr),
                                  cg_mulc(g, k, chunk_stride(g, false)));
}

static LLVMValueRef load_i64(Cg *g, LLVMValueRef p, LLVMValueRef i) {
  return LLVMBuildLoad2(g->b, g->i64, cg_gep(g, g->i64, p, i), "");
}

/* Points g at the train chunk in slot i of the call described by ctx:
 * chunk first + i, whose images are bounds[i] .. bounds[i + 1] - 1 of the
 * step, the call's images starting at bounds[0]. */
static void enter_train_chunk(Cg *g, LLVMTypeRef ct, LLVMValueRef ctx,
                              LLVMValueRef i) {
  const Shape *in = &g->m->input->shape;
  LLVMValueRef bounds = ctx_get(g, ct, ctx, CTX_BOUNDS, g->ptr);
  LLVMValueRef from = load_i64(g, bounds, cg_i64(g, 0));
  LLVMValueRef begin = load_i64(g, bounds, i);
  LLVMValueRef end = load_i64(g, bounds, cg_addc(g, i, 1));
  LLVMValueRef skip = LLVMBuildSub(g->b, begin, from, "");
  g->batch_n = ctx_get(g, ct, ctx, CTX_N, g->i64);
  g->batch_chunks = ctx_get(g, ct, ctx, CTX_CHUNKS, g->i64);
  g->image_base = begin;
  g->n = LLVMBuildSub(g->b, end, begin, "n");
  g->chunk = cg_add(g, ctx_get(g, ct, ctx, CTX_FIRST, g->i64), i);
  g->buf[BUF_PARAMS] = ctx_get(g, ct, ctx, CTX_PARAMS, g->ptr);
  g->buf[BUF_INPUT] = byte_offset(g, ctx_get(g, ct, ctx, CTX_IMAGES, g->ptr),
                                  cg_mulc(g, skip, ir_shape_elems(in) * 4));
  g->buf[BUF_ARENA] = byte_offset(g, ctx_get(g, ct, ctx, CTX_ARENA, g->ptr),
                                  cg_mulc(g, i, chunk_stride(g, true)));
  g->buf[BUF_LABELS] = byte_offset(g, ctx_get(g, ct, ctx, CTX_LABELS, g->ptr),
                                   cg_mulc(g, skip, 4));
  g->step = ctx_get(g, ct, ctx, CTX_STEP, g->i64);
  g->seed = ctx_get(g, ct, ctx, CTX_SEED, g->i64);
  g->loss_sum = cg_gep(g, g->f64, ctx_get(g, ct, ctx, CTX_LOSS, g->ptr), i);
  g->correct = cg_gep(g, g->i64, ctx_get(g, ct, ctx, CTX_CORRECT, g->ptr), i);
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

static LLVMValueRef emit_kernel(Cg *g, const Node *n, bool training) {
  LLVMTypeRef types[K_ARGS];
  kernel_types(g, types);
  char *name = arena_printf(g->m->arena, "%s.%s.%s", g->m->name,
                            training ? "train" : "infer", n->out->name);
  LLVMValueRef fn = new_function(g, name, types, K_ARGS);
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
  finish_function(g);
  return fn;
}

/* A kernel per node that `want` selects, in node order; NULL elsewhere. */
LLVMValueRef *cg_emit_kernels(Cg *g, bool training,
                                  bool (*want)(const Node *)) {
  LLVMValueRef *k = arena_array(g->m->arena, (size_t)g->m->nnodes + 1,
                                sizeof *k);
  for (int i = 0; i < g->m->nnodes; i++)
    if (want(g->m->nodes[i]))
      k[i] = emit_kernel(g, g->m->nodes[i], training);
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

static bool is_update(const Node *n) {
  return ir_op_info(n->op)->flags & OPF_UPDATE;
}

static bool is_not_update(const Node *n) { return !is_update(n); }

/* ---- phases ------------------------------------------------------------------
 *
 * A chunk runs from input to loss and back on its own, except where a node
 * combines every chunk's partial sums (OPF_READS_BATCH: batchnorm's
 * statistics): the step then runs in phases, every chunk finishing one
 * before any starts the next. phase[i] of node i: the first after those
 * of the per-chunk tensors it combines, never before the node before it. */
static int *chunk_phases(const Module *m, int *nphases) {
  int *phase = arena_array(m->arena, (size_t)m->nnodes + 1, sizeof *phase);
  int p = 0;
  for (int i = 0; i < m->nnodes; i++) {
    const Node *n = m->nodes[i];
    for (int j = 0; j < n->nin && ir_op_is(n->op, OPF_READS_BATCH); j++) {
      const Tensor *t = n->in[j];
      if (t->def && !ir_tensor_per_image(t) && !is_update(t->def) &&
          phase[t->def->index] + 1 > p)
        p = phase[t->def->index] + 1;
    }
    phase[i] = p;
  }
  *nphases = p + 1;
  return phase;
}

/* void NAME_train_chunk_P(ctx, i): phase P of the forward, loss and
 * backward of the chunk in slot i */
static LLVMValueRef emit_train_phase(Cg *g, LLVMTypeRef ct,
                                     const LLVMValueRef *all,
                                     const int *phase, int p) {
  LLVMValueRef *kernels = arena_array(g->m->arena, (size_t)g->m->nnodes + 1,
                                      sizeof *kernels);
  for (int i = 0; i < g->m->nnodes; i++)
    kernels[i] = phase[i] == p ? all[i] : NULL;
  LLVMTypeRef params[] = {g->ptr, g->i64};
  char *name = arena_printf(g->m->arena, "%s_train_chunk_%d", g->m->name, p);
  LLVMValueRef fn = new_function(g, name, params, 2);
  enter_train_chunk(g, ct, LLVMGetParam(fn, 0), LLVMGetParam(fn, 1));
  g->training = true;
  cg_call_kernels(g, kernels);
  finish_function(g);
  return fn;
}

/* The inference kernels of a trainer: the forward graph's, with each
 * conv that a batchnorm follows and that batchnorm as one kernel. */
static LLVMValueRef *eval_kernels(Cg *g) {
  const Module *m = g->m;
  LLVMValueRef *k = arena_array(m->arena, (size_t)m->nnodes + 1, sizeof *k);
  for (int i = 0; i < m->nnodes; i++) {
    const Node *n = m->nodes[i];
    Node folded;
    Tensor *in[7];
    if (!cg_is_forward(n) || cg_eval_folded(m, n))
      continue;
    k[i] = emit_kernel(g, cg_eval_fold(m, n, &folded, in) ? &folded : n, false);
  }
  return k;
}

/* void NAME_infer_chunk(ctx, k): the forward graph without dropout, and
 * the prediction copied out */
static LLVMValueRef emit_infer_chunk(Cg *g, LLVMTypeRef ct) {
  LLVMValueRef *kernels = eval_kernels(g);
  LLVMTypeRef params[] = {g->ptr, g->i64};
  char *name = arena_printf(g->m->arena, "%s_infer_chunk", g->m->name);
  LLVMValueRef fn = new_function(g, name, params, 2);
  LLVMValueRef ctx = LLVMGetParam(fn, 0);
  enter_infer_chunk(g, ct, ctx, LLVMGetParam(fn, 1));
  cg_call_kernels(g, kernels);
  int64_t classes = ir_shape_elems(&g->m->output->shape);
  LLVMValueRef probs = cg_gep(g, g->f32, ctx_get(g, ct, ctx, CTX_PROBS, g->ptr),
                              cg_mulc(g, g->image_base, classes));
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

/* cnn_parallel_for(fn, ctx, count): fn(ctx, 0 .. count - 1) on the pool */
static void parallel_for(Cg *g, LLVMValueRef fn, LLVMValueRef ctx,
                         LLVMValueRef count) {
  LLVMTypeRef params[] = {g->ptr, g->ptr, g->i64};
  LLVMTypeRef ft = LLVMFunctionType(g->void_t, params, 3, false);
  LLVMValueRef pf = LLVMGetNamedFunction(g->mod, "cnn_parallel_for");
  if (!pf)
    pf = LLVMAddFunction(g->mod, "cnn_parallel_for", ft);
  LLVMValueRef args[] = {fn, ctx, count};
  LLVMBuildCall2(g->b, ft, pf, args, 3, "");
}

static LLVMValueRef new_context(Cg *g, LLVMTypeRef ct, const LLVMValueRef *v) {
  LLVMValueRef ctx = cg_var(g, ct, LLVMConstNull(ct), "ctx");
  for (unsigned i = 0; i < CTX_FIELDS; i++)
    if (v[i])
      LLVMBuildStore(g->b, v[i], ctx_field(g, ct, ctx, i));
  return ctx;
}

/* A private constant array of the phases' functions. */
static LLVMValueRef phase_table(Cg *g, LLVMValueRef *fns, int nphases) {
  LLVMValueRef init = LLVMConstArray2(g->ptr, fns, (uint64_t)nphases);
  LLVMValueRef gv = LLVMAddGlobal(g->mod, LLVMTypeOf(init), "train.phases");
  LLVMSetInitializer(gv, init);
  LLVMSetGlobalConstant(gv, true);
  LLVMSetLinkage(gv, LLVMPrivateLinkage);
  return gv;
}

/* CnnGradientsFn: void NAME_train_chunks(params, images, labels, bounds,
 * first, count, batch_n, batch_chunks, phase, arena, step, seed, loss,
 * correct) */
static LLVMValueRef emit_gradients(Cg *g, const int *phase, int nphases) {
  LLVMTypeRef ct = context_type(g);
  LLVMValueRef *all = cg_emit_kernels(g, true, is_not_update);
  LLVMValueRef *fns = arena_array(g->m->arena, (size_t)nphases, sizeof *fns);
  for (int p = 0; p < nphases; p++)
    fns[p] = emit_train_phase(g, ct, all, phase, p);
  LLVMValueRef table = phase_table(g, fns, nphases);
  LLVMTypeRef p = g->ptr, i = g->i64;
  LLVMTypeRef params[] = {p, p, p, p, i, i, i, i, i, p, i, i, p, p};
  char *name = arena_printf(g->m->arena, "%s_train_chunks", g->m->name);
  LLVMValueRef fn = new_function(g, name, params, 14);
  static const unsigned field[] = {
      CTX_PARAMS, CTX_IMAGES, CTX_LABELS, CTX_BOUNDS, CTX_FIRST, CTX_FIELDS,
      CTX_N, CTX_CHUNKS, CTX_FIELDS, CTX_ARENA, CTX_STEP, CTX_SEED,
      CTX_LOSS, CTX_CORRECT};
  LLVMValueRef a[CTX_FIELDS + 1] = {0};
  for (unsigned k = 0; k < 14; k++)
    if (field[k] != CTX_FIELDS)
      a[field[k]] = LLVMGetParam(fn, k);
  LLVMValueRef ctx = new_context(g, ct, a);
  LLVMValueRef at = cg_gep(g, g->ptr, table, LLVMGetParam(fn, 8));
  LLVMValueRef chunk_fn = LLVMBuildLoad2(g->b, g->ptr, at, "phase");
  parallel_for(g, chunk_fn, ctx, LLVMGetParam(fn, 5));
  finish_function(g);
  return fn;
}

/* CnnUpdateFn: void NAME_train_update(params, opt_state, arena, batch_n,
 * batch_chunks, step, lr, momentum) */
static LLVMValueRef emit_update(Cg *g) {
  LLVMValueRef *updates = cg_emit_kernels(g, true, is_update);
  LLVMTypeRef p = g->ptr, i = g->i64;
  LLVMTypeRef params[] = {p, p, p, i, i, i, g->f32, g->f32};
  char *name = arena_printf(g->m->arena, "%s_train_update", g->m->name);
  LLVMValueRef fn = new_function(g, name, params, 8);
  g->buf[BUF_PARAMS] = LLVMGetParam(fn, 0);
  g->buf[BUF_STATE] = LLVMGetParam(fn, 1);
  g->buf[BUF_ARENA] = LLVMGetParam(fn, 2);
  g->batch_n = LLVMGetParam(fn, 3);
  g->batch_chunks = LLVMGetParam(fn, 4);
  g->step = LLVMGetParam(fn, 5);
  g->lr = LLVMGetParam(fn, 6);
  g->momentum = LLVMGetParam(fn, 7);
  g->chunk = cg_i64(g, 0);
  g->training = true;
  cg_call_kernels(g, updates);
  finish_function(g);
  return fn;
}

/* void infer(params, images, probs, n, arena) */
static LLVMValueRef emit_infer(Cg *g) {
  LLVMTypeRef ct = context_type(g);
  LLVMValueRef chunk_fn = emit_infer_chunk(g, ct);
  LLVMTypeRef p = g->ptr;
  LLVMTypeRef params[] = {p, p, p, g->i64, p};
  char *name = arena_printf(g->m->arena, "%s_infer", g->m->name);
  LLVMValueRef fn = new_function(g, name, params, 5);
  LLVMValueRef a[CTX_FIELDS] = {0};
  a[CTX_PARAMS] = LLVMGetParam(fn, 0);
  a[CTX_IMAGES] = LLVMGetParam(fn, 1);
  a[CTX_PROBS] = LLVMGetParam(fn, 2);
  a[CTX_N] = LLVMGetParam(fn, 3);
  a[CTX_ARENA] = LLVMGetParam(fn, 4);
  parallel_for(g, chunk_fn, new_context(g, ct, a),
               infer_chunk_count(g, a[CTX_N]));
  finish_function(g);
  return fn;
}

/* The trainer's entry points and its descriptor. */
static void emit_trainer(Cg *g) {
  int nphases;
  int *phase = chunk_phases(g->m, &nphases);
  CgEntryPoints e = {.gradients = emit_gradients(g, phase, nphases),
                     .update = emit_update(g), .infer = emit_infer(g),
                     .phase = phase, .nphases = nphases};
  cg_model_descriptor(g, &e);
}

/* ---- target, passes, output ---------------------------------------------- */

static void init_llvm_targets(void) {
  LLVMInitializeAllTargetInfos();
  LLVMInitializeAllTargets();
  LLVMInitializeAllTargetMCs();
  LLVMInitializeAllAsmPrinters();
}

/* The target of --target (the host's without it); *triple is LLVM's
 * message, to dispose. */
static bool find_target(const CgOptions *o, char **triple, LLVMTargetRef *t,
                        Diag *d) {
  init_llvm_targets();
  *triple = o->triple ? LLVMNormalizeTargetTriple(o->triple)
                      : LLVMGetDefaultTargetTriple();
  char *err = NULL;
  if (!LLVMGetTargetFromTriple(*triple, t, &err))
    return true;
  diag_tool_error(d, "unknown target '%s': %s", *triple, err);
  LLVMDisposeMessage(err);
  LLVMDisposeMessage(*triple);
  return false;
}

static LLVMCodeGenOptLevel codegen_level(int opt_level) {
  return opt_level == 0   ? LLVMCodeGenLevelNone
         : opt_level == 1 ? LLVMCodeGenLevelLess
         : opt_level == 2 ? LLVMCodeGenLevelDefault
                          : LLVMCodeGenLevelAggressive;
}

static bool host_triple(const char *triple) {
  char *host = LLVMGetDefaultTargetTriple();
  bool same = strcmp(host, triple) == 0;
  LLVMDisposeMessage(host);
  return same;
}

/* The host's CPU and features without --target or --cpu, or with
 * --cpu=native; --cpu=NAME checked against the target's CPUs; "generic"
 * for another target. */
static LLVMTargetMachineRef target_machine(const CgOptions *o, int *vw,
                                           Diag *d) {
  char *triple;
  LLVMTargetRef target;
  if (!find_target(o, &triple, &target, d))
    return NULL;
  bool native = o->cpu && strcmp(o->cpu, "native") == 0;
  bool host = (!o->triple && !o->cpu) || native;
  LLVMTargetMachineRef tm = NULL;
  if (native && o->triple && !host_triple(triple)) {
    diag_tool_error(d, "--cpu=native is this machine's CPU, which cannot run "
                    "%s code; name one of its CPUs (--cpu=help)", triple);
    LLVMDisposeMessage(triple);
    return NULL;
  }
  *vw = 0; /* from the features string, below */
  if (host || !o->cpu || cg_check_cpu(target, triple, o->cpu, vw, d)) {
    char *cpu = host ? LLVMGetHostCPUName()
                     : LLVMCreateMessage(o->cpu ? o->cpu : "generic");
    char *features = host ? LLVMGetHostCPUFeatures() : LLVMCreateMessage("");
    tm = LLVMCreateTargetMachine(target, triple, cpu, features,
                                 codegen_level(o->opt_level), LLVMRelocPIC,
                                 LLVMCodeModelDefault);
    LLVMDisposeMessage(cpu);
    LLVMDisposeMessage(features);
  }
  LLVMDisposeMessage(triple);
  return tm;
}

bool cg_list_cpus(const CgOptions *o, FILE *out, Diag *d) {
  char *triple;
  LLVMTargetRef target;
  if (!find_target(o, &triple, &target, d))
    return false;
  bool ok = cg_print_cpus(target, triple, out);
  if (!ok)
    diag_tool_error(d, "cannot list the CPUs of %s", triple);
  LLVMDisposeMessage(triple);
  return ok;
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
  int cpu_vw;
  LLVMTargetMachineRef tm = target_machine(o, &cpu_vw, d);
  if (!tm)
    return false;
  Cg g = {0};
  g.m = m;
  g.vw = cpu_vw ? cpu_vw : vector_width(tm);
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
    emit_trainer(&g);
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
