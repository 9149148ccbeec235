/* cg_batchnorm.c - batch normalization: the batch statistics, the
 * normalisation, its gradients and the running statistics' update.
 *
 * A train step runs the batch as chunks in parallel. Each chunk's
 * batch_stats holds its own per-channel mean, sum of squared deviations
 * (two passes over the chunk: robust in float) and count. Every kernel
 * that needs the batch's moments combines all chunks' in chunk order, in
 * double (Chan et al.'s pairwise update), so every chunk computes the same
 * moments bit for bit whatever the thread count, and they are the whole
 * batch's, as PyTorch's are, not a chunk's. The gradient's sums over the
 * batch (dbias = sum dy, dweight = sum dy x^) are the parameter gradients
 * themselves: batchnorm_bwd_data reads every chunk's partial sums of them.
 *
 * Per-channel coefficients go to the start of the kernel's scratch. */
#include "cg.h"

/* ---- per chunk ------------------------------------------------------------- */

/* Pixels per image (1 for a vector) and channels. */
static void pixels_channels(const Tensor *x, int64_t *p, int64_t *c) {
  const Shape *s = &x->shape;
  *c = s->dim[s->rank - 1];
  *p = ir_shape_elems(s) / *c;
}

/* row r of the chunk's per-channel rows at `base` */
static LLVMValueRef row(Cg *g, LLVMValueRef base, int64_t r, int64_t c) {
  return cg_gep(g, g->f32, base, cg_i64(g, r * c));
}

/* out[c] = sum of f(x[b][p][c], c) over the chunk's images and pixels,
 * image after image, pixel after pixel; the terms are vectors of `lanes`
 * channels from c, the sums held in registers, a block of channels at a
 * time */
typedef LLVMValueRef (*TermFn)(Cg *g, const Node *n, LLVMValueRef b,
                               LLVMValueRef at, LLVMValueRef c, int64_t lanes);

typedef struct ChunkSum {
  const Node *n;
  LLVMValueRef out;
  int64_t p, c;
  TermFn term;
} ChunkSum;

enum { SUM_VECTORS = 4 };

static void sum_block(Cg *g, const void *ctx, LLVMValueRef c0, int64_t CB,
                      int64_t tail) {
  const ChunkSum *s = ctx;
  LLVMValueRef acc[SUM_VECTORS];
  for (int64_t v = 0; v < CB; v++) {
    LLVMTypeRef t = cg_lanes_type(g, cg_lanes_of(g, v, CB, tail));
    acc[v] = cg_var(g, t, LLVMConstNull(t), "sum");
  }
  CgLoop lb, lp;
  LLVMValueRef b = cg_loop_begin(g, &lb, g->n, "b");
  LLVMValueRef px = cg_for(g, &lp, s->p, "p");
  for (int64_t v = 0; v < CB; v++) {
    LLVMValueRef c = cg_addc(g, c0, v * g->target.vw);
    LLVMValueRef at = cg_add(g, cg_mulc(g, px, s->c), c);
    LLVMValueRef term = s->term(g, s->n, b, at, c, cg_lanes_of(g, v, CB, tail));
    LLVMBuildStore(g->b, cg_fadd(g, cg_var_load(g, acc[v]), term), acc[v]);
  }
  cg_loop_end(g, &lp);
  cg_loop_end(g, &lb);
  for (int64_t v = 0; v < CB; v++)
    cg_vstore_lanes(g, cg_var_load(g, acc[v]), s->out,
                    cg_addc(g, c0, v * g->target.vw),
                    cg_lanes_of(g, v, CB, tail));
}

static void sum_over_chunk(Cg *g, const Node *n, LLVMValueRef out,
                           const Tensor *like, TermFn term) {
  ChunkSum s = {n, out, 0, 0, term};
  pixels_channels(like, &s.p, &s.c);
  cg_for_channel_blocks(g, s.c, SUM_VECTORS, sum_block, &s, "cb");
}

static LLVMValueRef term_x(Cg *g, const Node *n, LLVMValueRef b,
                           LLVMValueRef at, LLVMValueRef c, int64_t lanes) {
  (void)c;
  return cg_vload_lanes(g, cg_tensor(g, n->in[0], b), at, lanes);
}

/* (x - mean)^2 with this chunk's mean, row 0 of the output */
static LLVMValueRef term_dev2(Cg *g, const Node *n, LLVMValueRef b,
                              LLVMValueRef at, LLVMValueRef c, int64_t lanes) {
  LLVMValueRef d =
      cg_fsub(g, term_x(g, n, b, at, c, lanes),
              cg_vload_lanes(g, cg_tensor(g, n->out, NULL), c, lanes));
  return cg_fmul(g, d, d);
}

/* batch_stats: [mean; sum (x - mean)^2; count] of this chunk */
void cg_batch_stats(Cg *g, const Node *n) {
  int64_t p, c;
  pixels_channels(n->in[0], &p, &c);
  LLVMValueRef out = cg_tensor(g, n->out, NULL);
  sum_over_chunk(g, n, out, n->in[0], term_x);
  LLVMValueRef count = LLVMBuildSIToFP(g->b, cg_mulc(g, g->n, p), g->f32, "");
  CgLoop lc;
  LLVMValueRef ch = cg_for(g, &lc, c, "c");
  cg_store(g, cg_fdiv(g, cg_load(g, out, ch), count), out, ch);
  cg_store(g, count, row(g, out, 2, c), ch);
  cg_loop_end(g, &lc);
  sum_over_chunk(g, n, row(g, out, 1, c), n->in[0], term_dev2);
}

/* ---- the batch's moments, from every chunk ---------------------------------- */

static LLVMValueRef dload(Cg *g, LLVMValueRef p, LLVMValueRef i) {
  return LLVMBuildFPExt(g->b, cg_load(g, p, i), g->f64, "");
}

static LLVMValueRef dvar(Cg *g, LLVMValueRef v) {
  return LLVMBuildLoad2(g->b, g->f64, v, "");
}

/* Channel c's count, mean and sum of squared deviations over the batch:
 * the chunks' combined in chunk order. */
typedef struct Moments {
  LLVMValueRef count, mean, m2; /* double */
} Moments;

static Moments batch_moments(Cg *g, const Tensor *stats, LLVMValueRef c) {
  int64_t ch = stats->shape.dim[1];
  LLVMValueRef count = cg_var(g, g->f64, LLVMConstReal(g->f64, 0), "count");
  LLVMValueRef mean = cg_var(g, g->f64, LLVMConstReal(g->f64, 0), "mean");
  LLVMValueRef m2 = cg_var(g, g->f64, LLVMConstReal(g->f64, 0), "m2");
  CgLoop lk;
  LLVMValueRef k = cg_loop_begin(g, &lk, g->batch_chunks, "k");
  LLVMValueRef s = cg_chunk_copy(g, stats, k);
  LLVMValueRef nk = dload(g, row(g, s, 2, ch), c);
  LLVMValueRef mk = dload(g, s, c), qk = dload(g, row(g, s, 1, ch), c);
  LLVMValueRef n0 = dvar(g, count), m0 = dvar(g, mean);
  LLVMValueRef n1 = LLVMBuildFAdd(g->b, n0, nk, "");
  LLVMValueRef delta = LLVMBuildFSub(g->b, mk, m0, "");
  LLVMValueRef frac = LLVMBuildFDiv(g->b, nk, n1, "");
  LLVMBuildStore(g->b, LLVMBuildFAdd(g->b, m0, LLVMBuildFMul(g->b, delta,
                                                             frac, ""), ""),
                 mean);
  /* m2 += qk + delta^2 n0 nk / n1 */
  LLVMValueRef cross = LLVMBuildFMul(g->b, LLVMBuildFMul(g->b, delta, delta,
                                                         ""),
                                     LLVMBuildFMul(g->b, n0, frac, ""), "");
  LLVMBuildStore(g->b, LLVMBuildFAdd(g->b, dvar(g, m2),
                                     LLVMBuildFAdd(g->b, qk, cross, ""), ""),
                 m2);
  LLVMBuildStore(g->b, n1, count);
  cg_loop_end(g, &lk);
  return (Moments){dvar(g, count), dvar(g, mean), dvar(g, m2)};
}

static LLVMValueRef to_f32(Cg *g, LLVMValueRef d) {
  return LLVMBuildFPTrunc(g->b, d, g->f32, "");
}

/* 1 / sqrt(var + eps) */
static LLVMValueRef invstd_of(Cg *g, LLVMValueRef var, float eps) {
  LLVMValueRef sd = cg_call1(g, "llvm.sqrt", cg_fadd(g, var, cg_f32(g, eps)));
  return cg_fdiv(g, cg_f32(g, 1), sd);
}

/* The batch's mean and 1 / sqrt(var + eps) of channel c, with its biased
 * variance, from stats (every chunk's). */
static void batch_mean_invstd(Cg *g, const Tensor *stats, float eps,
                              LLVMValueRef c, LLVMValueRef *mean,
                              LLVMValueRef *invstd) {
  Moments mo = batch_moments(g, stats, c);
  *mean = to_f32(g, mo.mean);
  *invstd = invstd_of(g, to_f32(g, LLVMBuildFDiv(g->b, mo.m2, mo.count, "")),
                      eps);
}

/* A batchnorm's mean and invstd of channel c: the batch's in training,
 * the running statistics' otherwise (and in every inference). */
static void mean_invstd(Cg *g, const Node *bn, LLVMValueRef c,
                        LLVMValueRef *mean, LLVMValueRef *invstd) {
  if (g->training && bn->nin == 7) {
    batch_mean_invstd(g, bn->in[6], bn->attr.bn.eps, c, mean, invstd);
    return;
  }
  *mean = cg_load(g, cg_tensor(g, bn->in[3], NULL), c);
  *invstd = invstd_of(g, cg_load(g, cg_tensor(g, bn->in[4], NULL), c),
                      bn->attr.bn.eps);
}

/* ---- forward ---------------------------------------------------------------- */

int64_t cg_batchnorm_scratch_bytes(const Node *n) {
  if (n->op != OP_BATCHNORM && n->op != OP_BATCHNORM_BWD_WEIGHT &&
      n->op != OP_BATCHNORM_BWD_DATA)
    return 0;
  const Shape *s = &n->in[0]->shape;
  return 3 * 4 * s->dim[s->rank - 1]; /* three rows of coefficients */
}

/* y = act(x * scale + shift): scale = weight * invstd, shift = bias -
 * mean * scale, per channel */
void cg_batchnorm(Cg *g, const Node *n) {
  int64_t p, c;
  pixels_channels(n->in[0], &p, &c);
  LLVMValueRef coef = cg_scratch(g, 0);
  LLVMValueRef w = cg_tensor(g, n->in[1], NULL), bias = cg_tensor(g, n->in[2],
                                                                   NULL);
  CgLoop lc, lb, le;
  LLVMValueRef ch = cg_for(g, &lc, c, "c");
  LLVMValueRef mean, invstd;
  mean_invstd(g, n, ch, &mean, &invstd);
  LLVMValueRef scale = cg_fmul(g, cg_load(g, w, ch), invstd);
  cg_store(g, scale, coef, ch);
  cg_store(g, cg_fsub(g, cg_load(g, bias, ch), cg_fmul(g, mean, scale)),
           row(g, coef, 1, c), ch);
  cg_loop_end(g, &lc);
  LLVMValueRef b = cg_loop_begin(g, &lb, g->n, "b");
  LLVMValueRef x = cg_tensor(g, n->in[0], b), y = cg_tensor(g, n->out, b);
  CgLoop lp;
  LLVMValueRef px = cg_for(g, &lp, p, "p");
  LLVMValueRef e = cg_for(g, &le, c, "c");
  LLVMValueRef at = cg_add(g, cg_mulc(g, px, c), e);
  LLVMValueRef v = cg_fma(g, cg_load(g, x, at), cg_load(g, coef, e),
                          cg_load(g, row(g, coef, 1, c), e));
  cg_store(g, cg_activate(g, n->attr.bn.act, v), y, at);
  cg_loop_end(g, &le);
  cg_loop_end(g, &lp);
  cg_loop_end(g, &lb);
}

/* ---- backward ----------------------------------------------------------------- */

static LLVMValueRef term_dy(Cg *g, const Node *n, LLVMValueRef b,
                            LLVMValueRef at, LLVMValueRef c, int64_t lanes) {
  (void)c;
  int dy = n->op == OP_BATCHNORM_BWD_BIAS ? 0 : 1;
  return cg_vload_lanes(g, cg_tensor(g, n->in[dy], b), at, lanes);
}

/* dy (x - mean): times invstd afterwards; the mean is in the scratch */
static LLVMValueRef term_dy_xc(Cg *g, const Node *n, LLVMValueRef b,
                               LLVMValueRef at, LLVMValueRef c, int64_t lanes) {
  LLVMValueRef x = cg_vload_lanes(g, cg_tensor(g, n->in[0], b), at, lanes);
  LLVMValueRef mean = cg_vload_lanes(g, cg_scratch(g, 0), c, lanes);
  return cg_fmul(g, term_dy(g, n, b, at, c, lanes), cg_fsub(g, x, mean));
}

/* the batch's mean and invstd of each channel into the scratch rows 0, 1 */
static void moments_to_scratch(Cg *g, const Node *n, const Tensor *stats,
                               int64_t c) {
  LLVMValueRef s = cg_scratch(g, 0);
  CgLoop lc;
  LLVMValueRef ch = cg_for(g, &lc, c, "c");
  LLVMValueRef mean, invstd;
  batch_mean_invstd(g, stats, n->attr.bn.eps, ch, &mean, &invstd);
  cg_store(g, mean, s, ch);
  cg_store(g, invstd, row(g, s, 1, c), ch);
  cg_loop_end(g, &lc);
}

/* dweight = invstd * sum dy (x - mean) */
void cg_batchnorm_bwd_weight(Cg *g, const Node *n) {
  const Shape *x = &n->in[0]->shape;
  int64_t c = x->dim[x->rank - 1];
  moments_to_scratch(g, n, n->in[2], c);
  LLVMValueRef dw = cg_tensor(g, n->out, NULL);
  sum_over_chunk(g, n, dw, n->in[0], term_dy_xc);
  LLVMValueRef s = cg_scratch(g, 0);
  CgLoop lc;
  LLVMValueRef ch = cg_for(g, &lc, c, "c");
  cg_store(g, cg_fmul(g, cg_load(g, dw, ch), cg_load(g, row(g, s, 1, c), ch)),
           dw, ch);
  cg_loop_end(g, &lc);
}

/* the sum over every chunk's copy of a per-chunk [C] tensor, element c */
static LLVMValueRef over_chunks(Cg *g, const Tensor *t, LLVMValueRef c) {
  LLVMValueRef sum = cg_var(g, g->f32, cg_f32(g, 0), "sum");
  CgLoop lk;
  LLVMValueRef k = cg_loop_begin(g, &lk, g->batch_chunks, "k");
  LLVMValueRef v = cg_load(g, cg_chunk_copy(g, t, k), c);
  LLVMBuildStore(g->b, cg_fadd(g, LLVMBuildLoad2(g->b, g->f32, sum, ""), v),
                 sum);
  cg_loop_end(g, &lk);
  return LLVMBuildLoad2(g->b, g->f32, sum, "");
}

/* dx = a dy + e x + f per channel, with a = weight invstd, db and dw the
 * batch's sums and M its count:
 *   dx = a (dy - db / M - (x - mean) invstd dw / M)
 *   e = -a invstd dw / M,  f = -a db / M - e mean */
void cg_batchnorm_bwd_data(Cg *g, const Node *n) {
  int64_t p, c;
  pixels_channels(n->in[1], &p, &c);
  LLVMValueRef coef = cg_scratch(g, 0);
  LLVMValueRef w = cg_tensor(g, n->in[2], NULL);
  CgLoop lc, lb, lp, le;
  LLVMValueRef ch = cg_for(g, &lc, c, "c");
  Moments mo = batch_moments(g, n->in[3], ch);
  LLVMValueRef mean = to_f32(g, mo.mean);
  LLVMValueRef invstd = invstd_of(
      g, to_f32(g, LLVMBuildFDiv(g->b, mo.m2, mo.count, "")), n->attr.bn.eps);
  LLVMValueRef inv_m = cg_fdiv(g, cg_f32(g, 1), to_f32(g, mo.count));
  LLVMValueRef a = cg_fmul(g, cg_load(g, w, ch), invstd);
  LLVMValueRef dw = cg_fmul(g, over_chunks(g, n->in[4], ch), inv_m);
  LLVMValueRef db = cg_fmul(g, over_chunks(g, n->in[5], ch), inv_m);
  LLVMValueRef e = LLVMBuildFNeg(g->b, cg_fmul(g, cg_fmul(g, a, invstd), dw),
                                 "");
  LLVMValueRef f = cg_fsub(g, LLVMBuildFNeg(g->b, cg_fmul(g, a, db), ""),
                           cg_fmul(g, e, mean));
  cg_store(g, a, coef, ch);
  cg_store(g, e, row(g, coef, 1, c), ch);
  cg_store(g, f, row(g, coef, 2, c), ch);
  cg_loop_end(g, &lc);
  LLVMValueRef b = cg_loop_begin(g, &lb, g->n, "b");
  LLVMValueRef dy = cg_tensor(g, n->in[0], b), x = cg_tensor(g, n->in[1], b);
  LLVMValueRef dx = cg_tensor(g, n->out, b);
  LLVMValueRef px = cg_for(g, &lp, p, "p");
  LLVMValueRef k = cg_for(g, &le, c, "c");
  LLVMValueRef at = cg_add(g, cg_mulc(g, px, c), k);
  LLVMValueRef v = cg_fma(g, cg_load(g, coef, k), cg_load(g, dy, at),
                          cg_fma(g, cg_load(g, row(g, coef, 1, c), k),
                                 cg_load(g, x, at),
                                 cg_load(g, row(g, coef, 2, c), k)));
  cg_store(g, v, dx, at);
  cg_loop_end(g, &le);
  cg_loop_end(g, &lp);
  cg_loop_end(g, &lb);
}

/* ---- the running statistics ------------------------------------------------------ */

/* running = (1 - momentum) running + momentum batch, with the unbiased
 * variance; num_batches_tracked += 1. Once a step, after the chunks. */
void cg_running_stats_update(Cg *g, const Node *n) {
  int64_t c = n->in[0]->shape.dim[0];
  LLVMValueRef rm = cg_tensor(g, n->in[0], NULL);
  LLVMValueRef rv = cg_tensor(g, n->in[1], NULL);
  LLVMValueRef mom = cg_f32(g, n->attr.bn.momentum);
  LLVMValueRef keep = cg_f32(g, 1.0 - (double)n->attr.bn.momentum);
  CgLoop lc;
  LLVMValueRef ch = cg_for(g, &lc, c, "c");
  Moments mo = batch_moments(g, n->in[3], ch);
  LLVMValueRef one = LLVMConstReal(g->f64, 1);
  LLVMValueRef dof = LLVMBuildFSub(g->b, mo.count, one, "");
  LLVMValueRef few = LLVMBuildFCmp(g->b, LLVMRealOLT, dof, one, "");
  dof = LLVMBuildSelect(g->b, few, one, dof, ""); /* one value: var 0 */
  LLVMValueRef var = to_f32(g, LLVMBuildFDiv(g->b, mo.m2, dof, ""));
  cg_store(g, cg_fadd(g, cg_fmul(g, keep, cg_load(g, rm, ch)),
                      cg_fmul(g, mom, to_f32(g, mo.mean))), rm, ch);
  cg_store(g, cg_fadd(g, cg_fmul(g, keep, cg_load(g, rv, ch)),
                      cg_fmul(g, mom, var)), rv, ch);
  cg_loop_end(g, &lc);
  LLVMValueRef nbt = cg_tensor(g, n->in[2], NULL);
  LLVMValueRef old = LLVMBuildLoad2(g->b, g->i64, nbt, "");
  LLVMSetAlignment(old, 4);
  LLVMValueRef st = LLVMBuildStore(g->b, cg_addc(g, old, 1), nbt);
  LLVMSetAlignment(st, 4);
}

/* dbias = sum dy */
void cg_batchnorm_bwd_bias(Cg *g, const Node *n) {
  sum_over_chunk(g, n, cg_tensor(g, n->out, NULL), n->in[0], term_dy);
}
