/* cg_join.c - the ops that join or reduce whole images: add, concat, global
 * pooling, and their gradients.
 *
 * Images are NHWC, so a pixel's channels are contiguous: concat copies
 * each input's channels into its slice of every output pixel, and global
 * pooling walks the pixels with the channels innermost. */
#include <math.h>

#include "cg.h"

/* y = act(in0 + in1 + ...), in input order */
void cg_sum(Cg *g, const Node *n) {
  int64_t elems = ir_shape_elems(&n->out->shape);
  CgLoop lb, le;
  LLVMValueRef b = cg_loop_begin(g, &lb, g->n, "b");
  LLVMValueRef y = cg_tensor(g, n->out, b);
  LLVMValueRef *x = arena_array(g->m->arena, (size_t)n->nin, sizeof *x);
  for (int i = 0; i < n->nin; i++)
    x[i] = cg_tensor(g, n->in[i], b);
  LLVMValueRef e = cg_for(g, &le, elems, "e");
  LLVMValueRef v = cg_load(g, x[0], e);
  for (int i = 1; i < n->nin; i++)
    v = cg_fadd(g, v, cg_load(g, x[i], e));
  cg_store(g, cg_activate(g, n->attr.join.act, v), y, e);
  cg_loop_end(g, &le);
  cg_loop_end(g, &lb);
}

/* Pixels of an image (1 for a vector) and its channels. */
static int64_t pixels(const Tensor *t) {
  const Shape *s = &t->shape;
  return ir_shape_elems(s) / s->dim[s->rank - 1];
}

static int64_t channels(const Tensor *t) {
  return t->shape.dim[t->shape.rank - 1];
}

/* dst[p][first + c] = src[p][c] (to_slice) or back, for c < count */
static void copy_slice(Cg *g, LLVMValueRef wide, LLVMValueRef narrow,
                       int64_t npix, int64_t wide_c, int64_t first,
                       int64_t count, bool to_wide) {
  CgLoop lp, lc;
  LLVMValueRef p = cg_for(g, &lp, npix, "p");
  LLVMValueRef w = cg_gep(g, g->f32, wide, cg_addc(g, cg_mulc(g, p, wide_c),
                                                   first));
  LLVMValueRef s = cg_gep(g, g->f32, narrow, cg_mulc(g, p, count));
  LLVMValueRef c = cg_for(g, &lc, count, "c");
  if (to_wide)
    cg_store(g, cg_load(g, s, c), w, c);
  else
    cg_store(g, cg_load(g, w, c), s, c);
  cg_loop_end(g, &lc);
  cg_loop_end(g, &lp);
}

void cg_concat(Cg *g, const Node *n) {
  int64_t npix = pixels(n->out), wide_c = channels(n->out), first = 0;
  CgLoop lb;
  LLVMValueRef b = cg_loop_begin(g, &lb, g->n, "b");
  for (int i = 0; i < n->nin; i++) {
    int64_t count = channels(n->in[i]);
    copy_slice(g, cg_tensor(g, n->out, b), cg_tensor(g, n->in[i], b), npix,
               wide_c, first, count, true);
    first += count;
  }
  cg_loop_end(g, &lb);
}

/* dx = dy's channels [first, first + count) */
void cg_concat_bwd(Cg *g, const Node *n) {
  const SliceAttr *s = &n->attr.slice;
  CgLoop lb;
  LLVMValueRef b = cg_loop_begin(g, &lb, g->n, "b");
  copy_slice(g, cg_tensor(g, n->in[0], b), cg_tensor(g, n->out, b),
             pixels(n->out), channels(n->in[0]), s->first, s->count, false);
  cg_loop_end(g, &lb);
}

/* y[c] = max or mean over the pixels of x[p][c] */
void cg_global_pool(Cg *g, const Node *n) {
  bool max = n->op == OP_GLOBAL_MAXPOOL;
  int64_t npix = pixels(n->in[0]), c = channels(n->in[0]);
  CgLoop lb, lp, lc, lc2;
  LLVMValueRef b = cg_loop_begin(g, &lb, g->n, "b");
  LLVMValueRef x = cg_tensor(g, n->in[0], b), y = cg_tensor(g, n->out, b);
  cg_fill(g, y, c, cg_f32(g, max ? -INFINITY : 0));
  LLVMValueRef p = cg_for(g, &lp, npix, "p");
  LLVMValueRef xp = cg_gep(g, g->f32, x, cg_mulc(g, p, c));
  LLVMValueRef ch = cg_for(g, &lc, c, "c");
  LLVMValueRef v = cg_load(g, xp, ch), acc = cg_load(g, y, ch);
  if (max) {
    LLVMValueRef gt = LLVMBuildFCmp(g->b, LLVMRealOGT, v, acc, "");
    v = LLVMBuildSelect(g->b, gt, v, acc, "");
  } else {
    v = cg_fadd(g, acc, v);
  }
  cg_store(g, v, y, ch);
  cg_loop_end(g, &lc);
  cg_loop_end(g, &lp);
  if (!max) {
    ch = cg_for(g, &lc2, c, "c");
    cg_store(g, cg_fmul(g, cg_load(g, y, ch), cg_f32(g, 1.0 / (double)npix)),
             y, ch);
    cg_loop_end(g, &lc2);
  }
  cg_loop_end(g, &lb);
}

/* the pixel of the first maximum of channel c, as the forward's strict >
 * keeps it */
static LLVMValueRef first_max(Cg *g, LLVMValueRef x, int64_t npix, int64_t c,
                              LLVMValueRef ch) {
  LLVMValueRef best = cg_var(g, g->f32, cg_f32(g, -INFINITY), "best");
  LLVMValueRef at = cg_var(g, g->i64, cg_i64(g, 0), "at");
  CgLoop lp;
  LLVMValueRef p = cg_for(g, &lp, npix, "p");
  LLVMValueRef v = cg_load(g, x, cg_add(g, cg_mulc(g, p, c), ch));
  LLVMValueRef bv = LLVMBuildLoad2(g->b, g->f32, best, "");
  LLVMValueRef gt = LLVMBuildFCmp(g->b, LLVMRealOGT, v, bv, "");
  LLVMBuildStore(g->b, LLVMBuildSelect(g->b, gt, v, bv, ""), best);
  LLVMBuildStore(g->b, LLVMBuildSelect(g->b, gt, p,
                                       LLVMBuildLoad2(g->b, g->i64, at, ""),
                                       ""), at);
  cg_loop_end(g, &lp);
  return LLVMBuildLoad2(g->b, g->i64, at, "");
}

/* max: dy[c] to the first maximum of channel c; mean: dy[c] / pixels to
 * every pixel */
void cg_global_pool_bwd(Cg *g, const Node *n) {
  bool max = n->op == OP_GLOBAL_MAXPOOL_BWD;
  int64_t npix = pixels(n->out), c = channels(n->out);
  CgLoop lb, lp, lc;
  LLVMValueRef b = cg_loop_begin(g, &lb, g->n, "b");
  LLVMValueRef dy = cg_tensor(g, n->in[0], b), dx = cg_tensor(g, n->out, b);
  if (max) {
    LLVMValueRef x = cg_tensor(g, n->in[1], b);
    cg_fill(g, dx, npix * c, cg_f32(g, 0));
    LLVMValueRef ch = cg_for(g, &lc, c, "c");
    LLVMValueRef p = first_max(g, x, npix, c, ch);
    cg_store(g, cg_load(g, dy, ch), dx, cg_add(g, cg_mulc(g, p, c), ch));
    cg_loop_end(g, &lc);
  } else {
    LLVMValueRef p = cg_for(g, &lp, npix, "p");
    LLVMValueRef row = cg_gep(g, g->f32, dx, cg_mulc(g, p, c));
    LLVMValueRef ch = cg_for(g, &lc, c, "c");
    cg_store(g, cg_fmul(g, cg_load(g, dy, ch),
                        cg_f32(g, 1.0 / (double)npix)), row, ch);
    cg_loop_end(g, &lc);
    cg_loop_end(g, &lp);
  }
  cg_loop_end(g, &lb);
}
