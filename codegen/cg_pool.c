/* cg_pool.c - max and average pooling, dropout, and their fusion.
 *
 * Pooling walks output pixels with the channels innermost. The fused
 * pool_dropout applies the mask while the pooled value is in a register;
 * its gradient applies the same mask (regenerated from the counter-based
 * generator, never stored) before spreading to the window. */
#include <math.h>

#include "cg.h"

typedef struct PoolGeom {
  int64_t h, w, c, oh, ow, size, stride;
} PoolGeom;

static PoolGeom geometry(const Node *n, const Shape *x, const Shape *y) {
  return (PoolGeom){x->dim[0], x->dim[1], x->dim[2], y->dim[0], y->dim[1],
                    n->attr.pool.size, n->attr.pool.stride};
}

/* The pools and their gradients carry the kind lowering gave them. */
static bool is_max(const Node *n) { return n->attr.pool.kind == POOL_MAX; }

static const DropoutAttr *dropout_of(const Node *n) {
  return ir_op_info(n->op)->attrs == ATTR_DROPOUT ? &n->attr.dropout
                                                  : &n->attr.pool.dropout;
}

static bool has_dropout(const Node *n) { return ir_op_is(n->op, OPF_DROPOUT); }

/* Offset of input pixel (oh * stride + kh, ow * stride + kw), times c. */
static LLVMValueRef window_px(Cg *g, const PoolGeom *p, LLVMValueRef oh,
                              LLVMValueRef ow, LLVMValueRef kh,
                              LLVMValueRef kw) {
  LLVMValueRef ih = cg_add(g, cg_mulc(g, oh, p->stride), kh);
  LLVMValueRef iw = cg_add(g, cg_mulc(g, ow, p->stride), kw);
  return cg_mulc(g, cg_add(g, cg_mulc(g, ih, p->w), iw), p->c);
}

static LLVMValueRef combine(Cg *g, bool max, LLVMValueRef a, LLVMValueRef b) {
  if (!max)
    return cg_fadd(g, a, b);
  LLVMValueRef gt = LLVMBuildFCmp(g->b, LLVMRealOGT, b, a, "");
  return LLVMBuildSelect(g->b, gt, b, a, "");
}

/* y[p][c] = max or mean of the window, times the dropout scale. */
void cg_pool(Cg *g, const Node *n) {
  PoolGeom p = geometry(n, &n->in[0]->shape, &n->out->shape);
  bool max = is_max(n), mask = has_dropout(n) && g->training;
  int64_t elems = p.oh * p.ow * p.c;
  LLVMValueRef key = mask ? cg_dropout_key(g, dropout_of(n)->stream) : NULL;
  CgLoop lb, loh, low, lc, lkh, lkw, lc2;
  LLVMValueRef b = cg_loop_begin(g, &lb, g->n, "b");
  LLVMValueRef x = cg_tensor(g, n->in[0], b);
  LLVMValueRef oh = cg_for(g, &loh, p.oh, "oh");
  LLVMValueRef ow = cg_for(g, &low, p.ow, "ow");
  LLVMValueRef out_px = cg_mulc(g, cg_add(g, cg_mulc(g, oh, p.ow), ow), p.c);
  LLVMValueRef y = cg_gep(g, g->f32, cg_tensor(g, n->out, b), out_px);
  cg_fill(g, y, p.c, cg_f32(g, max ? -INFINITY : 0));
  LLVMValueRef kh = cg_for(g, &lkh, p.size, "kh");
  LLVMValueRef kw = cg_for(g, &lkw, p.size, "kw");
  LLVMValueRef xw = cg_gep(g, g->f32, x, window_px(g, &p, oh, ow, kh, kw));
  LLVMValueRef c = cg_for(g, &lc, p.c, "c");
  cg_store(g, combine(g, max, cg_load(g, y, c), cg_load(g, xw, c)), y, c);
  cg_loop_end(g, &lc);
  cg_loop_end(g, &lkw);
  cg_loop_end(g, &lkh);
  if (!max || mask) {
    c = cg_for(g, &lc2, p.c, "c");
    LLVMValueRef v = cg_load(g, y, c);
    if (!max)
      v = cg_fmul(g, v, cg_f32(g, 1.0 / (double)(p.size * p.size)));
    if (mask) {
      LLVMValueRef e = cg_dropout_counter(g, b, elems, cg_add(g, out_px, c));
      v = cg_fmul(g, v, cg_dropout_scale(g, key, n->attr.pool.dropout.rate, e));
    }
    cg_store(g, v, y, c);
    cg_loop_end(g, &lc2);
  }
  cg_loop_end(g, &low);
  cg_loop_end(g, &loh);
  cg_loop_end(g, &lb);
}

/* The offset of the first maximum of the window of (oh, ow), channel c;
 * the first one on ties, as the forward's strict > keeps it. */
static LLVMValueRef argmax(Cg *g, const PoolGeom *p, LLVMValueRef x,
                           LLVMValueRef oh, LLVMValueRef ow, LLVMValueRef c) {
  LLVMValueRef best = cg_var(g, g->f32, cg_f32(g, -INFINITY), "best");
  LLVMValueRef at = cg_var(g, g->i64, cg_i64(g, 0), "at");
  CgLoop lkh, lkw;
  LLVMValueRef kh = cg_for(g, &lkh, p->size, "kh");
  LLVMValueRef kw = cg_for(g, &lkw, p->size, "kw");
  LLVMValueRef i = cg_add(g, window_px(g, p, oh, ow, kh, kw), c);
  LLVMValueRef v = cg_load(g, x, i);
  LLVMValueRef b = LLVMBuildLoad2(g->b, g->f32, best, "");
  LLVMValueRef gt = LLVMBuildFCmp(g->b, LLVMRealOGT, v, b, "");
  LLVMValueRef a = LLVMBuildLoad2(g->b, g->i64, at, "");
  LLVMBuildStore(g->b, LLVMBuildSelect(g->b, gt, v, b, ""), best);
  LLVMBuildStore(g->b, LLVMBuildSelect(g->b, gt, i, a, ""), at);
  cg_loop_end(g, &lkw);
  cg_loop_end(g, &lkh);
  return LLVMBuildLoad2(g->b, g->i64, at, "");
}

/* Whether the windows cover the input exactly once: then an average
 * pool's gradient can store into dx instead of zeroing it first and
 * adding (the zeroing was a memset of the whole input per image). */
static bool windows_tile(const PoolGeom *p) {
  return p->stride == p->size && p->oh * p->size == p->h &&
         p->ow * p->size == p->w;
}

/* inputs dy (and x for max): dx gets each dy, masked, at the window's max
 * or spread evenly over it. */
void cg_pool_bwd(Cg *g, const Node *n) {
  PoolGeom p = geometry(n, &n->out->shape, &n->in[0]->shape);
  bool max = is_max(n), mask = has_dropout(n);
  bool store = !max && windows_tile(&p);
  int64_t elems = p.oh * p.ow * p.c;
  LLVMValueRef key = mask ? cg_dropout_key(g, dropout_of(n)->stream) : NULL;
  CgLoop lb, loh, low, lc, lkh, lkw;
  LLVMValueRef b = cg_loop_begin(g, &lb, g->n, "b");
  LLVMValueRef dy = cg_tensor(g, n->in[0], b), dx = cg_tensor(g, n->out, b);
  LLVMValueRef x = max ? cg_tensor(g, n->in[1], b) : NULL;
  if (!store)
    cg_fill(g, dx, ir_shape_elems(&n->out->shape), cg_f32(g, 0));
  LLVMValueRef oh = cg_for(g, &loh, p.oh, "oh");
  LLVMValueRef ow = cg_for(g, &low, p.ow, "ow");
  LLVMValueRef c = cg_for(g, &lc, p.c, "c");
  LLVMValueRef e = cg_add(g, cg_mulc(g, cg_add(g, cg_mulc(g, oh, p.ow), ow),
                                     p.c), c);
  LLVMValueRef gv = cg_load(g, dy, e);
  if (mask)
    gv = cg_fmul(g, gv, cg_dropout_scale(g, key, n->attr.pool.dropout.rate,
                                         cg_dropout_counter(g, b, elems, e)));
  if (max) {
    cg_accum(g, dx, argmax(g, &p, x, oh, ow, c), gv);
  } else {
    gv = cg_fmul(g, gv, cg_f32(g, 1.0 / (double)(p.size * p.size)));
    LLVMValueRef kh = cg_for(g, &lkh, p.size, "kh");
    LLVMValueRef kw = cg_for(g, &lkw, p.size, "kw");
    LLVMValueRef i = cg_add(g, window_px(g, &p, oh, ow, kh, kw), c);
    if (store)
      cg_store(g, gv, dx, i);
    else
      cg_accum(g, dx, i, gv);
    cg_loop_end(g, &lkw);
    cg_loop_end(g, &lkh);
  }
  cg_loop_end(g, &lc);
  cg_loop_end(g, &low);
  cg_loop_end(g, &loh);
  cg_loop_end(g, &lb);
}

/* dropout (training: x * scale; inference: a copy) and dropout_bwd (dy *
 * the same scale). */
void cg_dropout(Cg *g, const Node *n) {
  int64_t elems = ir_shape_elems(&n->out->shape);
  bool mask = g->training;
  LLVMValueRef key = mask ? cg_dropout_key(g, dropout_of(n)->stream) : NULL;
  CgLoop lb, le;
  LLVMValueRef b = cg_loop_begin(g, &lb, g->n, "b");
  LLVMValueRef x = cg_tensor(g, n->in[0], b), y = cg_tensor(g, n->out, b);
  LLVMValueRef e = cg_for(g, &le, elems, "e");
  LLVMValueRef v = cg_load(g, x, e);
  if (mask)
    v = cg_fmul(g, v, cg_dropout_scale(g, key, n->attr.dropout.rate,
                                       cg_dropout_counter(g, b, elems, e)));
  cg_store(g, v, y, e);
  cg_loop_end(g, &le);
  cg_loop_end(g, &lb);
}
