/* cg_winograd.c - 3x3 stride-1 convolutions by Winograd's F(2x2, 3x3)
 * (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks",
 * 2015): each 2x2 block of outputs comes from a 4x4 tile of the input with
 * 16 multiply-adds a channel pair instead of the direct kernel's 36.
 *
 *   U[e][ci][co] = (G g G^T)[e], e = 4 i + j      the weights, once a call
 *   for each image, for each row of tiles:
 *     V[e][t][ci] = (B^T d_t B)[e]                the row's tiles
 *     M[e][t][co] = sum over ci of V[e][t][ci] U[e][ci][co]
 *                                                 16 matrix products,
 *                                                 register-blocked
 *     y[2 x 2 outputs of t][co] = act(A^T M_t A + bias)
 *
 * The backward-data of such a convolution is one too: of dz, padded by
 * 2 - pad, with the weights flipped and transposed (as cg_conv_fast.c's).
 *
 * The transforms run on vectors of channels; the products are the direct
 * kernel's register block (R tiles x CB vectors of co), with U[e] small
 * enough to stay in L1 across a row's tiles. The sums run in another
 * order than the direct kernel's, so the results differ from it in the
 * last bits (by as little as the rounding of the transforms; the suite
 * compares them with the loop nests); they are the same at every run and
 * thread count. */
#include "cg.h"

enum { TAPS = 16 }; /* a 4 x 4 tile */

/* The valid 3x3 convolution of an h x w x ci image placed at (top, left)
 * in a zeroed hq x wq x ci one, into oh x ow x co. */
typedef struct Geom {
  int64_t h, w, ci, top, left;
  int64_t oh, ow, co;
} Geom;

typedef struct Wino {
  Geom c;
  int64_t th, tw;     /* tiles: rows, columns */
  int64_t hq, wq;     /* the padded image the tiles read */
  bool data;          /* a backward-data: the weights flipped, transposed */
  LLVMValueRef wt, u, xq, v, m;
} Wino;

static Wino geometry(const Node *n) {
  ConvGeom c = cg_conv_geom(n);
  Wino w = {{c.h, c.w, c.ci, c.ph, c.pw, c.oh, c.ow, c.co}, 0, 0, 0, 0,
            n->op == OP_CONV2D_BWD_DATA, NULL, NULL, NULL, NULL, NULL};
  if (w.data)
    w.c = (Geom){c.oh, c.ow, c.co, c.kh - 1 - c.ph, c.kw - 1 - c.pw,
                 c.h, c.w, c.ci};
  w.th = (w.c.oh + 1) / 2;
  w.tw = (w.c.ow + 1) / 2;
  w.hq = 2 * w.th + 2;
  w.wq = 2 * w.tw + 2;
  return w;
}

/* Worth it where the products dominate the transforms: enough channels
 * both ways, in whole vectors. */
static bool winograd_ok(const Cg *g, const Node *n) {
  if (g->reference || (n->op != OP_CONV2D && n->op != OP_CONV2D_BN &&
                       n->op != OP_CONV2D_BWD_DATA))
    return false;
  ConvGeom c = cg_conv_geom(n);
  return c.kh == 3 && c.kw == 3 && c.sh == 1 && c.sw == 1 && c.ci >= 16 &&
         c.co >= 16 && c.ci % g->target.vw == 0 && c.co % g->target.vw == 0 &&
         c.oh >= 2 && c.ow >= 2 && c.h >= 2 && c.w >= 2 && c.ph <= 2 &&
         c.pw <= 2; /* 'valid' or 'same': 0 or 1 */
}

enum { PARTS = 5 };

/* [w^T (backward-data)][U][xq][V][M], after conv2d_bn's coefficients */
static int64_t part_bytes(const Wino *w, int part) {
  const Geom *c = &w->c;
  int64_t floats[PARTS] = {w->data ? 9 * c->ci * c->co : 0,
                           TAPS * c->ci * c->co, w->hq * w->wq * c->ci,
                           TAPS * w->tw * c->ci, TAPS * w->tw * c->co};
  return cnn_align_up(floats[part] * 4);
}

int64_t cg_winograd_scratch_bytes(const Cg *g, const Node *n) {
  if (!winograd_ok(g, n))
    return 0;
  Wino w = geometry(n);
  int64_t bytes = cg_conv_bn_bytes(n);
  for (int part = 0; part < PARTS; part++)
    bytes += part_bytes(&w, part);
  return bytes;
}

/* out = f applied to each column of in, then to each row of that: the
 * 2-D transform T in T^T of each 1-D one, f mapping n_in values to n_out
 * (vectors of channels all) */
typedef void Transform(Cg *g, const LLVMValueRef *in, LLVMValueRef *out);

static void transform_2d(Cg *g, Transform *f, int n_in, int n_out,
                         LLVMValueRef in[4][4], LLVMValueRef out[4][4]) {
  LLVMValueRef t[4][4];
  for (int j = 0; j < n_in; j++) { /* columns */
    LLVMValueRef col[4], res[4];
    for (int i = 0; i < n_in; i++)
      col[i] = in[i][j];
    f(g, col, res);
    for (int i = 0; i < n_out; i++)
      t[i][j] = res[i];
  }
  for (int i = 0; i < n_out; i++) /* rows */
    f(g, t[i], out[i]);
}

static LLVMValueRef half(Cg *g, LLVMValueRef v) {
  return cg_fmul(g, v, cg_const_like(g, v, 0.5));
}

/* ---- the weights: U = G g G^T, G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1] */

/* out[0..3] = G in[0..2] */
static void times_g(Cg *g, const LLVMValueRef *in, LLVMValueRef *out) {
  out[0] = in[0];
  out[1] = half(g, cg_fadd(g, cg_fadd(g, in[0], in[1]), in[2]));
  out[2] = half(g, cg_fadd(g, cg_fsub(g, in[0], in[1]), in[2]));
  out[3] = in[2];
}

/* wt: [3][3][ci][co] */
static void transform_weights(Cg *g, const Wino *w, LLVMValueRef wt) {
  const Geom *c = &w->c;
  CgLoop lc, lo;
  LLVMValueRef ci = cg_for(g, &lc, c->ci, "ci");
  LLVMValueRef o = cg_mulc(g, cg_for(g, &lo, c->co / g->target.vw, "ov"),
                           g->target.vw);
  LLVMValueRef k[4][4], u[4][4];
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++) {
      LLVMValueRef row = cg_addc(g, ci, (i * 3 + j) * c->ci);
      k[i][j] = cg_vload(g, wt, cg_add(g, cg_mulc(g, row, c->co), o));
    }
  transform_2d(g, times_g, 3, 4, k, u); /* u = G k G^T */
  for (int e = 0; e < TAPS; e++)
    cg_vstore(g, u[e / 4][e % 4], w->u,
              cg_add(g, cg_mulc(g, cg_addc(g, ci, e * c->ci), c->co), o));
  cg_loop_end(g, &lo);
  cg_loop_end(g, &lc);
}

/* ---- the input: V = B^T d B, B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1] */

static void times_bt(Cg *g, const LLVMValueRef *in, LLVMValueRef *out) {
  out[0] = cg_fsub(g, in[0], in[2]);
  out[1] = cg_fadd(g, in[1], in[2]);
  out[2] = cg_fsub(g, in[2], in[1]);
  out[3] = cg_fsub(g, in[1], in[3]);
}

/* V of the tiles of row ty */
static void transform_row(Cg *g, const Wino *w, LLVMValueRef ty) {
  const Geom *c = &w->c;
  CgLoop lt, lc;
  LLVMValueRef tx = cg_for(g, &lt, w->tw, "tx");
  LLVMValueRef ch = cg_mulc(g, cg_for(g, &lc, c->ci / g->target.vw, "cv"),
                            g->target.vw);
  LLVMValueRef top = cg_mulc(g, ty, 2), left = cg_mulc(g, tx, 2);
  LLVMValueRef d[4][4], v[4][4];
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++) {
      LLVMValueRef px = cg_add(g, cg_mulc(g, cg_addc(g, top, i), w->wq),
                               cg_addc(g, left, j));
      d[i][j] = cg_vload(g, w->xq, cg_add(g, cg_mulc(g, px, c->ci), ch));
    }
  transform_2d(g, times_bt, 4, 4, d, v); /* v = B^T d B */
  for (int e = 0; e < TAPS; e++) {
    LLVMValueRef tile = cg_addc(g, tx, e * w->tw);
    LLVMValueRef at = cg_add(g, cg_mulc(g, tile, c->ci), ch);
    cg_vstore(g, v[e / 4][e % 4], w->v, at);
  }
  cg_loop_end(g, &lc);
  cg_loop_end(g, &lt);
}

/* ---- the products: M[e][t][co] = sum over ci of V[e][t][ci] U[e][ci][co] */

typedef struct Product {
  const Wino *w;
  LLVMValueRef e;
} Product;

static void product_block(Cg *g, const Product *p, LLVMValueRef t0,
                          LLVMValueRef co0, int64_t R, int64_t CB) {
  const Geom *c = &p->w->c;
  LLVMValueRef acc[MAX_ACCUMULATORS];
  for (int64_t k = 0; k < R * CB; k++)
    acc[k] = cg_var(g, g->vec, LLVMConstNull(g->vec), "acc");
  LLVMValueRef vrow = cg_add(g, cg_mulc(g, p->e, p->w->tw), t0);
  CgLoop lc;
  LLVMValueRef ci = cg_for(g, &lc, c->ci, "ci");
  LLVMValueRef ub = cg_add(g, cg_mulc(g, cg_add(g, cg_mulc(g, p->e, c->ci), ci),
                                      c->co), co0);
  LLVMValueRef uv[MAX_ACCUMULATORS];
  for (int64_t v = 0; v < CB; v++)
    uv[v] = cg_vload(g, p->w->u, cg_addc(g, ub, v * g->target.vw));
  for (int64_t r = 0; r < R; r++) {
    LLVMValueRef at = cg_add(g, cg_mulc(g, cg_addc(g, vrow, r), c->ci), ci);
    cg_fma_row(g, &acc[r * CB], cg_load(g, p->w->v, at), uv, CB);
  }
  cg_loop_end(g, &lc);
  for (int64_t r = 0; r < R; r++)
    for (int64_t v = 0; v < CB; v++) {
      LLVMValueRef at = cg_add(g, cg_mulc(g, cg_addc(g, vrow, r), c->co),
                               cg_addc(g, co0, v * g->target.vw));
      cg_vstore(g, cg_var_load(g, acc[r * CB + v]), p->w->m, at);
    }
}

static void product_blocks(Cg *g, const void *ctx, LLVMValueRef co0,
                           int64_t CB, int64_t tail) {
  (void)tail; /* co is whole vectors (winograd_ok) */
  const Product *p = ctx;
  int64_t tw = p->w->tw, R = cg_max_accumulators(g) / CB;
  if (R > tw)
    R = tw;
  CgLoop lk;
  LLVMValueRef k = cg_for(g, &lk, tw / R, "tb");
  product_block(g, p, cg_mulc(g, k, R), co0, R, CB);
  cg_loop_end(g, &lk);
  if (tw % R)
    product_block(g, p, cg_i64(g, tw / R * R), co0, tw % R, CB);
}

static void products(Cg *g, const Wino *w) {
  CgLoop le;
  Product p = {w, cg_for(g, &le, TAPS, "e")};
  cg_for_channel_blocks(g, w->c.co, 4, product_blocks, &p, "cb");
  cg_loop_end(g, &le);
}

/* ---- the output: y = A^T M A, A^T = [1 1 1 0; 0 1 -1 -1] */

static void times_at(Cg *g, const LLVMValueRef *in, LLVMValueRef *out) {
  out[0] = cg_fadd(g, cg_fadd(g, in[0], in[1]), in[2]);
  out[1] = cg_fsub(g, cg_fsub(g, in[1], in[2]), in[3]);
}

typedef struct Epilogue {
  LLVMValueRef bias, scale; /* [co], or NULL; scale then shift (conv2d_bn) */
  Activation act;
  LLVMValueRef y;           /* this image's output */
} Epilogue;

static void store_output(Cg *g, const Wino *w, const Epilogue *ep,
                         LLVMValueRef oy, LLVMValueRef ox, LLVMValueRef o,
                         LLVMValueRef val) {
  const Geom *c = &w->c;
  if (ep->scale)
    val = cg_fma(g, val, cg_vload(g, ep->scale, o),
                 cg_vload(g, ep->scale, cg_addc(g, o, c->co)));
  else if (ep->bias)
    val = cg_fadd(g, val, cg_vload(g, ep->bias, o));
  LLVMValueRef at = cg_add(g, cg_mulc(g, cg_add(g, cg_mulc(g, oy, c->ow), ox),
                                      c->co), o);
  cg_vstore(g, cg_activate(g, ep->act, val), ep->y, at);
}

/* Row ty's outputs; the last row or column of an odd size is not stored. */
static void output_row(Cg *g, const Wino *w, const Epilogue *ep,
                       LLVMValueRef ty) {
  const Geom *c = &w->c;
  CgLoop lt, lo;
  LLVMValueRef tx = cg_for(g, &lt, w->tw, "tx");
  LLVMValueRef o = cg_mulc(g, cg_for(g, &lo, c->co / g->target.vw, "ov"),
                           g->target.vw);
  LLVMValueRef m[4][4], y[4][4];
  for (int e = 0; e < TAPS; e++)
    m[e / 4][e % 4] = cg_vload(
        g, w->m, cg_add(g, cg_mulc(g, cg_addc(g, tx, e * w->tw), c->co), o));
  transform_2d(g, times_at, 4, 2, m, y); /* y = A^T m A */
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 2; j++) {
      LLVMValueRef oy = cg_addc(g, cg_mulc(g, ty, 2), i);
      LLVMValueRef ox = cg_addc(g, cg_mulc(g, tx, 2), j);
      LLVMValueRef in = LLVMConstInt(LLVMInt1TypeInContext(g->ctx), 1, 0);
      if (i == 1 && c->oh % 2)
        in = cg_in_range(g, oy, c->oh);
      if (j == 1 && c->ow % 2)
        in = LLVMBuildAnd(g->b, in, cg_in_range(g, ox, c->ow), "");
      CgIf keep;
      cg_if_begin(g, &keep, in);
      store_output(g, w, ep, oy, ox, o, y[i][j]);
      cg_if_end(g, &keep);
    }
  cg_loop_end(g, &lo);
  cg_loop_end(g, &lt);
}

/* ---- the kernel ---------------------------------------------------------- */

bool cg_conv2d_winograd(Cg *g, const Node *n) {
  if (!winograd_ok(g, n))
    return false;
  Wino w = geometry(n);
  bool bn = n->op == OP_CONV2D_BN; /* its bias is in the shift */
  Epilogue ep = {NULL, bn ? cg_conv_bn_coefficients(g, n) : NULL,
                 w.data ? (Activation){ACT_NONE, 0} : n->attr.conv.act, NULL};
  if (!w.data && !bn && n->nin == 3)
    ep.bias = cg_tensor(g, n->in[2], NULL);
  int64_t at = cg_conv_bn_bytes(n);
  LLVMValueRef *parts[PARTS] = {&w.wt, &w.u, &w.xq, &w.v, &w.m};
  for (int part = 0; part < PARTS; part++) {
    *parts[part] = cg_scratch(g, at);
    at += part_bytes(&w, part);
  }
  LLVMValueRef weights = cg_tensor(g, n->in[1], NULL);
  if (w.data) {
    ConvGeom forward = cg_conv_geom(n);
    cg_conv_flip_transpose(g, &forward, weights, w.wt);
    weights = w.wt;
  }
  transform_weights(g, &w, weights);
  cg_fill(g, w.xq, w.hq * w.wq * w.c.ci, cg_f32(g, 0));
  CgLoop lb, lr;
  LLVMValueRef b = cg_loop_begin(g, &lb, g->n, "b");
  GradIn src = {cg_tensor(g, n->in[0], b), NULL, {ACT_NONE, 0}};
  if (w.data)
    src = cg_conv_grad_in(g, n, b);
  /* xq's interior; its border stays zero */
  cg_conv_pad_copy(g, &src, w.c.h, w.c.w, w.c.ci, w.xq, w.c.top, w.c.left,
                   w.wq);
  ep.y = cg_tensor(g, n->out, b);
  LLVMValueRef ty = cg_for(g, &lr, w.th, "ty");
  transform_row(g, &w, ty);
  products(g, &w);
  output_row(g, &w, &ep, ty);
  cg_loop_end(g, &lr);
  cg_loop_end(g, &lb);
  return true;
}
