/* cg_schedule.c - how a call runs: its chunks, their arena slots, the
 * phases of a train step, and the entry points of a trainer (gradients,
 * update, inference) that run them on the runtime's pool. */
#include <stdlib.h>
#include <string.h>

#include "cg.h"

static LLVMValueRef new_function(Cg *g, const char *name, LLVMTypeRef *params,
                                 unsigned nparams) {
  return cg_new_function(g, name, g->void_t, params, nparams, false);
}

static void finish_function(Cg *g) { cg_finish_function(g, NULL); }

static bool is_not_update(const Node *n) { return !cg_is_update(n); }

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
  return cnn_align_up(bytes);
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
      if (t->def && !ir_tensor_per_image(t) && !cg_is_update(t->def) &&
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
    k[i] = cg_emit_kernel(g, cg_eval_fold(m, n, &folded, in) ? &folded : n,
                          false);
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
  return cg_private_constant(g, init, "train.phases");
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
  LLVMValueRef *updates = cg_emit_kernels(g, true, cg_is_update);
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

CgEntryPoints cg_emit_trainer(Cg *g) {
  int nphases;
  int *phase = chunk_phases(g->m, &nphases);
  return (CgEntryPoints){.gradients = emit_gradients(g, phase, nphases),
                         .update = emit_update(g), .infer = emit_infer(g),
                         .phase = phase, .nphases = nphases};
}

