/* cg_conv.c - conv2d forward and its three gradients, NHWC with HWIO
 * weights: the plain loop nests. They are the reference the register-blocked
 * kernels of cg_conv_fast.c are tested against, and the path for shapes
 * those do not take (channels that are not a multiple of the vector width,
 * strided backward data) or when --reference asks for them.
 *
 * Every kernel puts a channel dimension innermost, contiguous in memory,
 * so that the vectoriser works along channels:
 *   forward      y[p][co] += x[q][ci] * w[k][ci][co]      (over co)
 *   bwd weight  dw[k][ci][co] += x[q][ci] * dz[p][co]     (over co)
 *   bwd data    dx[q][ci] += sum_co dz[p][co] * w[k][ci][co]  (a dot)
 * where p is an output pixel, q the input pixel under kernel tap k. The
 * gradients read dz, the gradient before the fused activation: autodiff's
 * act_bwd writes it, or, after fuse-conv-act-bwd, each gradient computes it
 * from dy and y as it reads (GradIn). */
#include "cg.h"

static ConvGeom geometry(const ConvAttr *a, const Shape *x, const Shape *y) {
  ConvGeom g = {x->dim[0], x->dim[1], x->dim[2], y->dim[0], y->dim[1],
                y->dim[2], a->kh, a->kw, a->sh, a->sw, 0, 0, 0, 0};
  g.ph = ir_conv_pad_before(g.h, g.oh, g.kh, g.sh, a->padding);
  g.pw = ir_conv_pad_before(g.w, g.ow, g.kw, g.sw, a->padding);
  g.hp = (g.oh - 1) * g.sh + g.kh;
  g.wp = (g.ow - 1) * g.sw + g.kw;
  g.hp = g.hp < g.h ? g.h : g.hp;
  g.wp = g.wp < g.w ? g.w : g.wp;
  return g;
}

/* conv2d: x -> out; bwd_weight: x, dz; bwd_data: dz -> dx (= x's shape) */
ConvGeom cg_conv_geom(const Node *n) {
  const ConvAttr *a = &n->attr.conv;
  if (n->op == OP_CONV2D || n->op == OP_CONV2D_BN)
    return geometry(a, &n->in[0]->shape, &n->out->shape);
  if (n->op == OP_CONV2D_BWD_WEIGHT)
    return geometry(a, &n->in[0]->shape, &n->in[1]->shape);
  if (n->op == OP_CONV2D_BWD_DATA)
    return geometry(a, &n->out->shape, &n->in[0]->shape);
  unreachable();
}

int64_t cg_conv_bn_bytes(const Node *n) {
  int64_t co = n->attr.conv.filters;
  return n->op == OP_CONV2D_BN ? cnn_align_up(2 * co * 4) : 0;
}

/* s = gamma / sqrt(var + eps) and t = beta + (b - mean) s, b the conv's
 * bias or 0, into the scratch's first 2 co floats; returns s (t follows) */
LLVMValueRef cg_conv_bn_coefficients(Cg *g, const Node *n) {
  int64_t co = n->attr.conv.filters;
  LLVMValueRef s = cg_scratch(g, 0);
  LLVMValueRef t = cg_gep(g, g->f32, s, cg_i64(g, co));
  LLVMValueRef in[5];
  for (int i = 0; i < 4; i++)
    in[i] = cg_tensor(g, n->in[2 + i], NULL);
  in[4] = n->nin == 7 ? cg_tensor(g, n->in[6], NULL) : NULL;
  CgLoop lc;
  LLVMValueRef c = cg_for(g, &lc, co, "c");
  LLVMValueRef var = cg_fadd(g, cg_load(g, in[3], c), cg_f32(g, n->attr.conv.eps));
  LLVMValueRef scale = cg_fdiv(g, cg_load(g, in[0], c),
                               cg_call1(g, "llvm.sqrt", var));
  LLVMValueRef b = in[4] ? cg_load(g, in[4], c) : cg_f32(g, 0);
  cg_store(g, scale, s, c);
  cg_store(g, cg_fma(g, cg_fsub(g, b, cg_load(g, in[2], c)), scale,
                     cg_load(g, in[1], c)), t, c);
  cg_loop_end(g, &lc);
  return s;
}

GradIn cg_conv_grad_in(Cg *g, const Node *n, LLVMValueRef b) {
  bool masked = ir_op_is(n->op, OPF_MASKS_DY) &&
                n->nin > ir_op_info(n->op)->min_inputs;
  const Tensor *dy = n->in[ir_conv_grad_dy(n->op)];
  return (GradIn){cg_tensor(g, dy, b),
                  masked ? cg_tensor(g, n->in[n->nin - 1], b) : NULL,
                  n->attr.conv.act};
}

LLVMValueRef cg_grad_load(Cg *g, const GradIn *d, LLVMValueRef i) {
  LLVMValueRef dy = cg_load(g, d->dy, i);
  if (!d->y)
    return dy;
  return cg_fmul(g, dy, cg_activation_grad(g, d->act, cg_load(g, d->y, i)));
}

LLVMValueRef cg_grad_vload(Cg *g, const GradIn *d, LLVMValueRef i,
                           int64_t lanes) {
  LLVMValueRef dy = cg_vload_lanes(g, d->dy, i, lanes);
  if (!d->y)
    return dy;
  LLVMValueRef y = cg_vload_lanes(g, d->y, i, lanes);
  return cg_fmul(g, dy, cg_activation_grad(g, d->act, y));
}

/* The input coordinate under output coordinate o and tap k. */
static LLVMValueRef input_coord(Cg *g, LLVMValueRef o, LLVMValueRef k,
                                int64_t stride, int64_t pad) {
  return cg_addc(g, cg_add(g, cg_mulc(g, o, stride), k), -pad);
}

/* Index of pixel (i, j) in an image of width w and c channels, times c. */
static LLVMValueRef pixel(Cg *g, LLVMValueRef i, LLVMValueRef j, int64_t w,
                          int64_t c) {
  return cg_mulc(g, cg_add(g, cg_mulc(g, i, w), j), c);
}

/* Visits every (output pixel, valid tap) pair of image b; `body` gets the
 * offsets of the output pixel, the input pixel and the tap's weights, and
 * src, what the kernel streams of image b: x forward, dz backward. */
typedef void (*TapFn)(Cg *g, const Node *n, const ConvGeom *cg,
                      LLVMValueRef b, LLVMValueRef src, LLVMValueRef out_px,
                      LLVMValueRef in_px, LLVMValueRef tap);

static void for_each_tap(Cg *g, const Node *n, const ConvGeom *c,
                         LLVMValueRef b, LLVMValueRef src, TapFn body) {
  CgLoop loh, low, lkh, lkw;
  LLVMValueRef oh = cg_for(g, &loh, c->oh, "oh");
  LLVMValueRef ow = cg_for(g, &low, c->ow, "ow");
  LLVMValueRef out_px = pixel(g, oh, ow, c->ow, c->co);
  LLVMValueRef kh = cg_for(g, &lkh, c->kh, "kh");
  LLVMValueRef ih = input_coord(g, oh, kh, c->sh, c->ph);
  CgIf row;
  cg_if_begin(g, &row, cg_in_range(g, ih, c->h));
  LLVMValueRef kw = cg_for(g, &lkw, c->kw, "kw");
  LLVMValueRef iw = input_coord(g, ow, kw, c->sw, c->pw);
  CgIf col;
  cg_if_begin(g, &col, cg_in_range(g, iw, c->w));
  LLVMValueRef in_px = pixel(g, ih, iw, c->w, c->ci);
  LLVMValueRef tap = cg_mulc(g, cg_add(g, cg_mulc(g, kh, c->kw), kw),
                             c->ci * c->co);
  body(g, n, c, b, src, out_px, in_px, tap);
  cg_if_end(g, &col);
  cg_loop_end(g, &lkw);
  cg_if_end(g, &row);
  cg_loop_end(g, &lkh);
  cg_loop_end(g, &low);
  cg_loop_end(g, &loh);
}

/* ---- forward ------------------------------------------------------------ */

static void fwd_tap(Cg *g, const Node *n, const ConvGeom *c, LLVMValueRef b,
                    LLVMValueRef src, LLVMValueRef out_px,
                    LLVMValueRef in_px, LLVMValueRef tap) {
  LLVMValueRef x = cg_gep(g, g->f32, src, in_px);
  LLVMValueRef y = cg_gep(g, g->f32, cg_tensor(g, n->out, b), out_px);
  LLVMValueRef w = cg_gep(g, g->f32, cg_tensor(g, n->in[1], NULL), tap);
  CgLoop lci, lco;
  LLVMValueRef ci = cg_for(g, &lci, c->ci, "ci");
  LLVMValueRef xv = cg_load(g, x, ci);
  LLVMValueRef wrow = cg_gep(g, g->f32, w, cg_mulc(g, ci, c->co));
  LLVMValueRef co = cg_for(g, &lco, c->co, "co");
  LLVMValueRef acc = cg_fma(g, xv, cg_load(g, wrow, co), cg_load(g, y, co));
  cg_store(g, acc, y, co);
  cg_loop_end(g, &lco);
  cg_loop_end(g, &lci);
}

/* y = bias (or 0), then the taps, then the activation in place. */
void cg_conv2d(Cg *g, const Node *n) {
  ConvGeom c = cg_conv_geom(n);
  int64_t pixels = c.oh * c.ow;
  bool bn = n->op == OP_CONV2D_BN; /* its bias is in the shift */
  LLVMValueRef scale = bn ? cg_conv_bn_coefficients(g, n) : NULL;
  LLVMValueRef shift = bn ? cg_gep(g, g->f32, scale, cg_i64(g, c.co)) : NULL;
  CgLoop lb, lp, lco;
  LLVMValueRef b = cg_loop_begin(g, &lb, g->n, "b");
  LLVMValueRef y = cg_tensor(g, n->out, b);
  LLVMValueRef p = cg_for(g, &lp, pixels, "p");
  LLVMValueRef co = cg_for(g, &lco, c.co, "co");
  LLVMValueRef init = n->nin == 3 && !bn
                          ? cg_load(g, cg_tensor(g, n->in[2], NULL), co)
                          : cg_f32(g, 0);
  cg_store(g, init, y, cg_add(g, cg_mulc(g, p, c.co), co));
  cg_loop_end(g, &lco);
  cg_loop_end(g, &lp);
  for_each_tap(g, n, &c, b, cg_tensor(g, n->in[0], b), fwd_tap);
  if (bn || n->attr.conv.act.kind != ACT_NONE) {
    CgLoop le, lk;
    LLVMValueRef e = cg_for(g, &le, pixels, "e");
    LLVMValueRef k = cg_for(g, &lk, c.co, "k");
    LLVMValueRef at = cg_add(g, cg_mulc(g, e, c.co), k);
    LLVMValueRef v = cg_load(g, y, at);
    if (bn)
      v = cg_fma(g, v, cg_load(g, scale, k), cg_load(g, shift, k));
    cg_store(g, cg_activate(g, n->attr.conv.act, v), y, at);
    cg_loop_end(g, &lk);
    cg_loop_end(g, &le);
  }
  cg_loop_end(g, &lb);
}

/* ---- gradients ------------------------------------------------------------ */

static void weight_tap(Cg *g, const Node *n, const ConvGeom *c,
                       LLVMValueRef b, LLVMValueRef src, LLVMValueRef out_px,
                       LLVMValueRef in_px, LLVMValueRef tap) {
  LLVMValueRef x = cg_gep(g, g->f32, cg_tensor(g, n->in[0], b), in_px);
  LLVMValueRef dz = cg_gep(g, g->f32, src, out_px);
  LLVMValueRef dw = cg_gep(g, g->f32, cg_tensor(g, n->out, NULL), tap);
  CgLoop lci, lco;
  LLVMValueRef ci = cg_for(g, &lci, c->ci, "ci");
  LLVMValueRef xv = cg_load(g, x, ci);
  LLVMValueRef row = cg_gep(g, g->f32, dw, cg_mulc(g, ci, c->co));
  LLVMValueRef co = cg_for(g, &lco, c->co, "co");
  cg_store(g, cg_fma(g, xv, cg_load(g, dz, co), cg_load(g, row, co)), row,
           co);
  cg_loop_end(g, &lco);
  cg_loop_end(g, &lci);
}

/* dw = sum over the batch and the output pixels; inputs x, dy[, y] */
void cg_conv2d_bwd_weight(Cg *g, const Node *n) {
  ConvGeom c = cg_conv_geom(n);
  cg_fill(g, cg_tensor(g, n->out, NULL), ir_shape_elems(&n->out->shape),
          cg_f32(g, 0));
  CgLoop lb;
  LLVMValueRef b = cg_loop_begin(g, &lb, g->n, "b");
  for_each_tap(g, n, &c, b, cg_conv_dz_image(g, n, b), weight_tap);
  cg_loop_end(g, &lb);
}

/* db = sum of dz over the batch and the pixels; inputs dy[, y] */
void cg_conv2d_bwd_bias(Cg *g, const Node *n) {
  const Shape *s = &n->in[0]->shape;
  int64_t cout = s->dim[2], pixels = s->dim[0] * s->dim[1];
  LLVMValueRef db = cg_tensor(g, n->out, NULL);
  cg_fill(g, db, cout, cg_f32(g, 0));
  CgLoop lb, lp, lco;
  LLVMValueRef b = cg_loop_begin(g, &lb, g->n, "b");
  GradIn dz = cg_conv_grad_in(g, n, b);
  LLVMValueRef p = cg_for(g, &lp, pixels, "p");
  LLVMValueRef co = cg_for(g, &lco, cout, "co");
  cg_accum(g, db, co, cg_grad_load(g, &dz, cg_add(g, cg_mulc(g, p, cout), co)));
  cg_loop_end(g, &lco);
  cg_loop_end(g, &lp);
  cg_loop_end(g, &lb);
}

static void data_tap(Cg *g, const Node *n, const ConvGeom *c, LLVMValueRef b,
                     LLVMValueRef src, LLVMValueRef out_px,
                     LLVMValueRef in_px, LLVMValueRef tap) {
  LLVMValueRef dz = cg_gep(g, g->f32, src, out_px);
  LLVMValueRef dx = cg_gep(g, g->f32, cg_tensor(g, n->out, b), in_px);
  LLVMValueRef w = cg_gep(g, g->f32, cg_tensor(g, n->in[1], NULL), tap);
  CgLoop lci, lco;
  LLVMValueRef ci = cg_for(g, &lci, c->ci, "ci");
  LLVMValueRef row = cg_gep(g, g->f32, w, cg_mulc(g, ci, c->co));
  LLVMValueRef sum = cg_var(g, g->f32, cg_f32(g, 0), "dot");
  LLVMValueRef co = cg_for(g, &lco, c->co, "co");
  LLVMValueRef prod = cg_fmul(g, cg_load(g, dz, co), cg_load(g, row, co));
  LLVMValueRef s = LLVMBuildLoad2(g->b, g->f32, sum, "");
  LLVMBuildStore(g->b, cg_fadd_reassoc(g, s, prod), sum);
  cg_loop_end(g, &lco);
  cg_accum(g, dx, ci, LLVMBuildLoad2(g->b, g->f32, sum, ""));
  cg_loop_end(g, &lci);
}

/* dx: every input pixel gathers from the outputs its taps reach; inputs
 * dy, w[, y]. The forward's tap walk scatters into dx instead, which visits the
 * same (pixel, tap) pairs. */
void cg_conv2d_bwd_data(Cg *g, const Node *n) {
  ConvGeom c = cg_conv_geom(n);
  CgLoop lb;
  LLVMValueRef b = cg_loop_begin(g, &lb, g->n, "b");
  cg_fill(g, cg_tensor(g, n->out, b), ir_shape_elems(&n->out->shape),
          cg_f32(g, 0));
  for_each_tap(g, n, &c, b, cg_conv_dz_image(g, n, b), data_tap);
  cg_loop_end(g, &lb);
}
