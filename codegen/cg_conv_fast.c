/* cg_conv_fast.c - register-blocked convolutions with explicit vectors.
 *
 * The core computes a valid convolution of one image, HWIO weights, output
 * channels in the lanes of the target's widest vector (vw floats):
 *
 *   for each output row, for each block of R output pixels and CB vectors
 *   of output channels:   acc[R][CB] = bias
 *     for each kernel row kh, for j over its kw taps of ci channels (kw*ci
 *     floats in a row of both x and w, so one loop):
 *       wv[v] = w[kh][j][co0 + v*vw ...]                   CB vector loads
 *       acc[r][v] += splat(x[row + kh][col_r * ci + j]) * wv[v]   R*CB FMAs
 *     y = act(acc)
 *
 * R * CB accumulators stay in registers (24 of AVX-512's and NEON's 32, 12
 * of AVX2's 16), so each weight vector loaded feeds R FMAs. Any channel
 * count: the last vector of a count that is not a multiple of vw is a
 * narrower, masked one (cg_blocks.c). Padding is done
 * once per image by copying into a zeroed scratch buffer, which removes every
 * bounds test from the inner loops. The backward pass reuses the core:
 * with stride 1, dx is the valid convolution of dz padded by kernel - 1 - pad
 * with the flipped weights, transposed to [kh][kw][cout][cin]; dw gathers
 * the outer products x (x) dz into the same kind of register block, rows of
 * a kernel row's kw*ci (tap, input channel) pairs by vectors of output
 * channels. */
#include "cg.h"

enum { MAX_BLOCK_VECTORS = 4 };

typedef struct Core {
  LLVMValueRef x;       /* one image, rows of xw pixels of ci channels */
  int64_t xw, ci;
  LLVMValueRef w;       /* [kh][kw][ci][co] */
  int64_t kh, kw, sh, sw;
  LLVMValueRef y;       /* oh x ow x co */
  int64_t oh, ow, co;
  LLVMValueRef bias;    /* [co] or NULL */
  LLVMValueRef scale;   /* [co] then the shift [co], or NULL (conv2d_bn) */
  Activation act;
} Core;

/* acc[r][v] for R pixels x CB vectors, starting at output (oh, ow0), output
 * channel co0. */
static void core_block(Cg *g, const Core *c, LLVMValueRef oh, LLVMValueRef ow0,
                       LLVMValueRef co0, int64_t R, int64_t CB, int64_t tail) {
  LLVMValueRef acc[24 * MAX_BLOCK_VECTORS];
  for (int64_t v = 0; v < CB; v++) {
    LLVMValueRef co = cg_addc(g, co0, v * g->target.vw);
    int64_t lanes = cg_lanes_of(g, v, CB, tail);
    LLVMValueRef init = c->bias ? cg_vload_lanes(g, c->bias, co, lanes)
                                : LLVMConstNull(cg_lanes_type(g, lanes));
    for (int64_t r = 0; r < R; r++)
      acc[r * CB + v] = cg_var(g, LLVMTypeOf(init), init, "acc");
  }
  /* a row's kw taps of ci channels are kw * ci floats in a row of both x
   * and w: one loop over j = kw * ci + channel */
  CgLoop lkh, lj;
  LLVMValueRef kh = cg_for(g, &lkh, c->kh, "kh");
  LLVMValueRef row = cg_mulc(g, cg_add(g, cg_mulc(g, oh, c->sh), kh), c->xw);
  LLVMValueRef taps = cg_mulc(g, kh, c->kw * c->ci);
  LLVMValueRef j = cg_for(g, &lj, c->kw * c->ci, "j");
  LLVMValueRef wrow = cg_add(g, cg_mulc(g, cg_add(g, taps, j), c->co), co0);
  LLVMValueRef wv[MAX_BLOCK_VECTORS];
  for (int64_t v = 0; v < CB; v++)
    wv[v] = cg_vload_lanes(g, c->w, cg_addc(g, wrow, v * g->target.vw),
                           cg_lanes_of(g, v, CB, tail));
  for (int64_t r = 0; r < R; r++) {
    LLVMValueRef col = cg_mulc(g, cg_addc(g, ow0, r), c->sw);
    LLVMValueRef xi = cg_add(g, cg_mulc(g, cg_add(g, row, col), c->ci), j);
    cg_fma_row(g, &acc[r * CB], cg_load(g, c->x, xi), wv, CB);
  }
  cg_loop_end(g, &lj);
  cg_loop_end(g, &lkh);
  for (int64_t r = 0; r < R; r++) {
    LLVMValueRef px = cg_add(g, cg_mulc(g, oh, c->ow), cg_addc(g, ow0, r));
    for (int64_t v = 0; v < CB; v++) {
      LLVMValueRef a = cg_var_load(g, acc[r * CB + v]);
      LLVMValueRef co = cg_addc(g, co0, v * g->target.vw);
      LLVMValueRef at = cg_add(g, cg_mulc(g, px, c->co), co);
      int64_t lanes = cg_lanes_of(g, v, CB, tail);
      if (c->scale)
        a = cg_fma(g, a, cg_vload_lanes(g, c->scale, co, lanes),
                   cg_vload_lanes(g, c->scale, cg_addc(g, co, c->co), lanes));
      cg_vstore_lanes(g, cg_activate(g, c->act, a), c->y, at, lanes);
    }
  }
}

typedef struct CoreRow {
  const Core *c;
  LLVMValueRef oh;
} CoreRow;

/* One output row's channel block: blocks of R pixels, and a last, shorter
 * block. */
static void row_blocks(Cg *g, const void *ctx, LLVMValueRef co0, int64_t CB,
                       int64_t tail) {
  const CoreRow *row = ctx;
  const Core *c = row->c;
  int64_t R = cg_max_accumulators(g) / CB;
  if (R > c->ow)
    R = c->ow;
  int64_t blocks = c->ow / R, rest = c->ow % R;
  CgLoop lbk;
  LLVMValueRef bk = cg_for(g, &lbk, blocks, "blk");
  core_block(g, c, row->oh, cg_mulc(g, bk, R), co0, R, CB, tail);
  cg_loop_end(g, &lbk);
  if (rest)
    core_block(g, c, row->oh, cg_i64(g, blocks * R), co0, rest, CB, tail);
}

/* One image: rows, each in channel blocks of pixel blocks. */
static void core_image(Cg *g, const Core *c) {
  CgLoop loh;
  CoreRow row = {c, cg_for(g, &loh, c->oh, "oh")};
  cg_for_channel_blocks(g, c->co, MAX_BLOCK_VECTORS, row_blocks, &row, "ct");
  cg_loop_end(g, &loh);
}

/* dst (hp x wp x c) gets src (h x w x c, masked if src.y) at (top, left).
 * Its border is left as it is: zeroed once per call (pad_zero), before the
 * first image, since no image writes there. */
void cg_conv_pad_copy(Cg *g, const GradIn *src, int64_t h, int64_t w,
                      int64_t c, LLVMValueRef dst, int64_t top, int64_t left,
                      int64_t wp) {
  CgLoop li, lj;
  LLVMValueRef i = cg_for(g, &li, h, "pi");
  LLVMValueRef from = cg_mulc(g, i, w * c);
  LLVMValueRef to = cg_mulc(g, cg_addc(g, i, top), wp * c);
  to = cg_addc(g, to, left * c);
  LLVMValueRef j = cg_for(g, &lj, w * c, "pj");
  cg_store(g, cg_grad_load(g, src, cg_add(g, from, j)), dst, cg_add(g, to, j));
  cg_loop_end(g, &lj);
  cg_loop_end(g, &li);
}

static void pad_zero(Cg *g, LLVMValueRef dst, int64_t hp, int64_t wp,
                     int64_t c) {
  cg_fill(g, dst, hp * wp * c, cg_f32(g, 0));
}

/* ---- geometry -------------------------------------------------------------- */

static bool padded(const ConvGeom *c) {
  return c->ph || c->pw || c->hp != c->h || c->wp != c->w;
}

static bool fast_forward_ok(const Cg *g, const ConvGeom *c) {
  (void)c; /* every shape: channel tails are masked */
  return !g->reference;
}

static bool fast_data_ok(const Cg *g, const ConvGeom *c) {
  return !g->reference && c->sh == 1 && c->sw == 1;
}

/* A strided backward-data runs as one stride-1 convolution per phase of
 * dx (below): the same register blocks. */
static bool strided_data_ok(const Cg *g, const ConvGeom *c) {
  return !g->reference && (c->sh > 1 || c->sw > 1);
}

/* The zero margin around dz that every phase's taps stay within. */
static int64_t margin_y(const ConvGeom *c) { return c->kh + 1; }
static int64_t margin_x(const ConvGeom *c) { return c->kw + 1; }

/* One phase's output, the largest: ceil(h / sh) x ceil(w / sw) x ci. */
static int64_t phase_bytes(const ConvGeom *c) {
  int64_t rows = (c->h + c->sh - 1) / c->sh, cols = (c->w + c->sw - 1) / c->sw;
  return cnn_align_up(rows * cols * c->ci * 4);
}

static int64_t strided_data_scratch(const ConvGeom *c) {
  int64_t dzp = (c->oh + 2 * margin_y(c)) * (c->ow + 2 * margin_x(c)) * c->co;
  return cnn_align_up(c->kh * c->kw * c->ci * c->co * 4) +
         cnn_align_up(dzp * 4) + phase_bytes(c);
}

static bool masked(const Node *n) {
  return ir_op_is(n->op, OPF_MASKS_DY) &&
         n->nin > ir_op_info(n->op)->min_inputs;
}

/* One image of a gradient's dz, when the kernel stores it (masked). */
static int64_t dz_image_bytes(const Node *n) {
  const Tensor *dy = n->in[ir_conv_grad_dy(n->op)];
  return masked(n) ? cnn_align_up(ir_shape_elems(&dy->shape) * 4) : 0;
}

/* Scratch, per op: forward [padded x]; bwd weight [dz][padded x]; bwd data
 * fast [w^T][padded dz], else [dz]. The parts in brackets are there only
 * when needed: padding, a mask to apply. */
int64_t cg_conv_scratch_bytes(const Cg *g, const Node *n) {
  if (n->op != OP_CONV2D && n->op != OP_CONV2D_BN &&
      n->op != OP_CONV2D_BWD_WEIGHT && n->op != OP_CONV2D_BWD_DATA)
    return 0;
  int64_t winograd = cg_winograd_scratch_bytes(g, n);
  if (winograd)
    return winograd;
  ConvGeom c = cg_conv_geom(n);
  if (n->op == OP_CONV2D_BWD_DATA && strided_data_ok(g, &c))
    return strided_data_scratch(&c);
  if (n->op == OP_CONV2D_BWD_DATA)
    return fast_data_ok(g, &c)
               ? cnn_align_up(c.kh * c.kw * c.ci * c.co * 4) +
                     cnn_align_up((c.h + c.kh - 1) * (c.w + c.kw - 1) *
                                  c.co * 4)
               : dz_image_bytes(n);
  int64_t padded_x = fast_forward_ok(g, &c) && padded(&c)
                         ? cnn_align_up(c.hp * c.wp * c.ci * 4)
                         : 0;
  return cg_conv_bn_bytes(n) + dz_image_bytes(n) + padded_x;
}


/* Image b's dz: dy itself, or dy * act'(y) written once into the scratch's
 * start, so that the loops reading each element many times read it plain. */
LLVMValueRef cg_conv_dz_image(Cg *g, const Node *n, LLVMValueRef b) {
  GradIn d = cg_conv_grad_in(g, n, b);
  if (!d.y)
    return d.dy;
  const Tensor *dy = n->in[ir_conv_grad_dy(n->op)];
  LLVMValueRef dz = cg_scratch(g, 0);
  CgLoop le;
  LLVMValueRef e = cg_for(g, &le, ir_shape_elems(&dy->shape), "e");
  cg_store(g, cg_grad_load(g, &d, e), dz, e);
  cg_loop_end(g, &le);
  return dz;
}

/* ---- the bias gradient inside the weight gradient's kernel -----------------
 *
 * After fuse-conv-act-bwd the weight and bias gradients of a layer both read
 * dy and y. Apart, the bias kernel reads the two tensors again, cold, only
 * to sum them: it cost more than the act_bwd pass the fusion removed. So
 * the weight kernel, which writes each image's dz to scratch anyway, also
 * adds it into db there, and the bias node's own kernel does nothing: a
 * sibling fusion the code generator makes, since an IR node has one output.
 * The sums run pixel after pixel, image after image, as the bias kernel's do. */

static bool same_gradient(const Node *weight, const Node *bias) {
  return weight->op == OP_CONV2D_BWD_WEIGHT && bias->op == OP_CONV2D_BWD_BIAS &&
         weight->nin == 3 && bias->nin == 2 && weight->in[1] == bias->in[0] &&
         weight->in[2] == bias->in[1];
}

/* The bias node whose sum the weight node's kernel makes, or NULL. */
static const Node *absorbed_bias(const Cg *g, const Node *weight) {
  if (weight->op != OP_CONV2D_BWD_WEIGHT || weight->nin != 3)
    return NULL;
  ConvGeom c = cg_conv_geom(weight);
  if (!fast_forward_ok(g, &c))
    return NULL;
  for (int i = weight->index + 1; i < g->m->nnodes; i++)
    if (same_gradient(weight, g->m->nodes[i]))
      return g->m->nodes[i];
  return NULL;
}

bool cg_conv_bias_absorbed(const Cg *g, const Node *bias) {
  for (int i = 0; i < bias->index; i++)
    if (absorbed_bias(g, g->m->nodes[i]) == bias)
      return true;
  return false;
}

typedef struct BiasSum {
  const GradIn *d;
  LLVMValueRef db, copy;
  int64_t co, pixels;
} BiasSum;

static void bias_block(Cg *g, const void *ctx, LLVMValueRef co0, int64_t CB,
                       int64_t tail) {
  const BiasSum *s = ctx;
  LLVMValueRef acc[MAX_BLOCK_VECTORS];
  for (int64_t v = 0; v < CB; v++) {
    LLVMValueRef db = cg_vload_lanes(g, s->db, cg_addc(g, co0, v * g->target.vw),
                                     cg_lanes_of(g, v, CB, tail));
    acc[v] = cg_var(g, LLVMTypeOf(db), db, "acc");
  }
  CgLoop lp;
  LLVMValueRef p = cg_for(g, &lp, s->pixels, "p");
  for (int64_t v = 0; v < CB; v++) {
    LLVMValueRef at = cg_add(g, cg_mulc(g, p, s->co),
                             cg_addc(g, co0, v * g->target.vw));
    int64_t lanes = cg_lanes_of(g, v, CB, tail);
    LLVMValueRef val = cg_grad_vload(g, s->d, at, lanes);
    if (s->copy)
      cg_vstore_lanes(g, val, s->copy, at, lanes);
    LLVMBuildStore(g->b, cg_fadd(g, cg_var_load(g, acc[v]), val), acc[v]);
  }
  cg_loop_end(g, &lp);
  for (int64_t v = 0; v < CB; v++)
    cg_vstore_lanes(g, cg_var_load(g, acc[v]), s->db,
                    cg_addc(g, co0, v * g->target.vw), cg_lanes_of(g, v, CB, tail));
}

/* db[co] += dz[p][co] over one image's pixels, in pixel order, with CB
 * vectors of channels held in registers across them; each vector of dz is
 * also stored at the same place in `copy` when there is one. */
static void sum_bias_image(Cg *g, const Node *n, const GradIn *d,
                           LLVMValueRef db, LLVMValueRef copy) {
  const Shape *s = &n->in[ir_conv_grad_dy(n->op)]->shape;
  BiasSum sum = {d, db, copy, s->dim[2], s->dim[0] * s->dim[1]};
  cg_for_channel_blocks(g, sum.co, MAX_BLOCK_VECTORS, bias_block, &sum, "cb");
}

/* The masked dz of image b into scratch, as cg_conv_dz_image, and db +=
 * its pixels, in the same pass. */
static LLVMValueRef dz_image_and_bias(Cg *g, const Node *n, LLVMValueRef b,
                                      LLVMValueRef db) {
  GradIn d = cg_conv_grad_in(g, n, b);
  LLVMValueRef dz = cg_scratch(g, 0);
  sum_bias_image(g, n, &d, db, dz);
  return dz;
}

/* Where the padded input goes: scratch at `offset`, zeroed, or NULL when
 * the convolution does not pad. Emitted before the loop over images. */
static LLVMValueRef padded_scratch(Cg *g, const ConvGeom *c, int64_t offset) {
  if (!padded(c))
    return NULL;
  LLVMValueRef xp = cg_scratch(g, offset);
  pad_zero(g, xp, c->hp, c->wp, c->ci);
  return xp;
}

/* Image b's input, copied into xp's interior when there is an xp. */
static LLVMValueRef padded_input(Cg *g, const ConvGeom *c, const Tensor *x,
                                 LLVMValueRef b, LLVMValueRef xp) {
  LLVMValueRef src = cg_tensor(g, x, b);
  if (!xp)
    return src;
  GradIn plain = {src, NULL, {ACT_NONE, 0}};
  cg_conv_pad_copy(g, &plain, c->h, c->w, c->ci, xp, c->ph, c->pw, c->wp);
  return xp;
}

/* ---- the three kernels ------------------------------------------------------ */

bool cg_conv2d_fast(Cg *g, const Node *n) {
  ConvGeom c = cg_conv_geom(n);
  if (!fast_forward_ok(g, &c))
    return false;
  bool bn = n->op == OP_CONV2D_BN; /* its bias is in the shift */
  LLVMValueRef scale = bn ? cg_conv_bn_coefficients(g, n) : NULL;
  LLVMValueRef xp = padded_scratch(g, &c, cg_conv_bn_bytes(n));
  CgLoop lb;
  LLVMValueRef b = cg_loop_begin(g, &lb, g->n, "b");
  Core core = {padded_input(g, &c, n->in[0], b, xp), c.wp, c.ci,
               cg_tensor(g, n->in[1], NULL), c.kh, c.kw, c.sh, c.sw,
               cg_tensor(g, n->out, b), c.oh, c.ow, c.co,
               n->nin == 3 && !bn ? cg_tensor(g, n->in[2], NULL) : NULL,
               scale, n->attr.conv.act};
  core_image(g, &core);
  cg_loop_end(g, &lb);
  return true;
}

/* wT[kh][kw][co][ci] = w[KH-1-kh][KW-1-kw][ci][co] */
void cg_conv_flip_transpose(Cg *g, const ConvGeom *c, LLVMValueRef w,
                            LLVMValueRef wt) {
  CgLoop lt, lco, lci;
  LLVMValueRef t = cg_for(g, &lt, c->kh * c->kw, "tap");
  LLVMValueRef src_tap = cg_addc(g, cg_mulc(g, t, -1), c->kh * c->kw - 1);
  LLVMValueRef co = cg_for(g, &lco, c->co, "co");
  LLVMValueRef ci = cg_for(g, &lci, c->ci, "ci");
  LLVMValueRef from = cg_add(g, cg_mulc(g, cg_add(g, cg_mulc(g, src_tap, c->ci),
                                                  ci), c->co), co);
  LLVMValueRef to = cg_add(g, cg_mulc(g, cg_add(g, cg_mulc(g, t, c->co), co),
                                      c->ci), ci);
  cg_store(g, cg_load(g, w, from), wt, to);
  cg_loop_end(g, &lci);
  cg_loop_end(g, &lco);
  cg_loop_end(g, &lt);
}

/* ---- strided backward data ---------------------------------------------------
 *
 * With stride s, dx's row ih = s i + r (phase r) gets the taps kh = k0 +
 * s t, k0 = (r + pad) mod s, from dz's rows i + q - t, q = (r + pad - k0) /
 * s: a stride-1 valid convolution of dz (with a zero margin) by the flipped
 * sub-kernel of those taps, whose output is every s-th row and column of
 * dx. Each phase runs on the register-blocked core into the scratch, then
 * goes to its rows and columns of dx; a phase with no taps (a 1x1 kernel
 * of stride 2 reaches only even rows) is zeros. */
typedef struct Phase {
  int64_t ry, rx;   /* the phase: dx rows s i + ry, columns s j + rx */
  int64_t k0y, k0x; /* its first tap */
  int64_t ty, tx;   /* its taps per axis */
  int64_t qy, qx;   /* dz's row and column of its first output, tap 0 */
  int64_t hi, wi;   /* its rows and columns of dx */
  int64_t w_at;     /* its sub-kernel's first float in the scratch */
} Phase;

static int64_t taps(int64_t k0, int64_t k, int64_t s) {
  return k0 < k ? (k - k0 + s - 1) / s : 0;
}

static Phase phase_of(const ConvGeom *c, int64_t ry, int64_t rx,
                      int64_t w_at) {
  Phase p = {ry, rx, (ry + c->ph) % c->sh, (rx + c->pw) % c->sw, 0, 0, 0, 0,
             (c->h - ry + c->sh - 1) / c->sh, (c->w - rx + c->sw - 1) / c->sw,
             w_at};
  p.ty = taps(p.k0y, c->kh, c->sh);
  p.tx = taps(p.k0x, c->kw, c->sw);
  p.qy = (ry + c->ph - p.k0y) / c->sh;
  p.qx = (rx + c->pw - p.k0x) / c->sw;
  return p;
}

/* sub[u][v][co][ci] = w[k0y + s (ty-1-u)][k0x + s (tx-1-v)][ci][co] */
static void phase_kernel(Cg *g, const ConvGeom *c, const Phase *p,
                         LLVMValueRef w, LLVMValueRef sub) {
  CgLoop lu, lv, lco, lci;
  LLVMValueRef u = cg_for(g, &lu, p->ty, "u");
  LLVMValueRef v = cg_for(g, &lv, p->tx, "v");
  LLVMValueRef kh = cg_addc(g, cg_mulc(g, u, -c->sh), p->k0y + c->sh * (p->ty - 1));
  LLVMValueRef kw = cg_addc(g, cg_mulc(g, v, -c->sw), p->k0x + c->sw * (p->tx - 1));
  LLVMValueRef tap = cg_add(g, cg_mulc(g, kh, c->kw), kw);
  LLVMValueRef to_tap = cg_add(g, cg_mulc(g, u, p->tx), v);
  LLVMValueRef co = cg_for(g, &lco, c->co, "co");
  LLVMValueRef ci = cg_for(g, &lci, c->ci, "ci");
  LLVMValueRef from = cg_add(g, cg_mulc(g, cg_add(g, cg_mulc(g, tap, c->ci),
                                                  ci), c->co), co);
  LLVMValueRef to = cg_add(g, cg_mulc(g, cg_add(g, cg_mulc(g, to_tap, c->co),
                                                co), c->ci), ci);
  cg_store(g, cg_load(g, w, from), sub, cg_addc(g, to, p->w_at));
  cg_loop_end(g, &lci);
  cg_loop_end(g, &lco);
  cg_loop_end(g, &lv);
  cg_loop_end(g, &lu);
}

/* dx[s i + ry][s j + rx][ci] = out[i][j][ci], or 0 without out */
static void phase_to_dx(Cg *g, const ConvGeom *c, const Phase *p,
                        LLVMValueRef out, LLVMValueRef dx) {
  CgLoop li, lj, lc;
  LLVMValueRef i = cg_for(g, &li, p->hi, "i");
  LLVMValueRef j = cg_for(g, &lj, p->wi, "j");
  LLVMValueRef ih = cg_addc(g, cg_mulc(g, i, c->sh), p->ry);
  LLVMValueRef iw = cg_addc(g, cg_mulc(g, j, c->sw), p->rx);
  LLVMValueRef to = cg_mulc(g, cg_add(g, cg_mulc(g, ih, c->w), iw), c->ci);
  LLVMValueRef from = cg_mulc(g, cg_add(g, cg_mulc(g, i, p->wi), j), c->ci);
  LLVMValueRef ch = cg_for(g, &lc, c->ci, "c");
  LLVMValueRef v = out ? cg_load(g, out, cg_add(g, from, ch)) : cg_f32(g, 0);
  cg_store(g, v, dx, cg_add(g, to, ch));
  cg_loop_end(g, &lc);
  cg_loop_end(g, &lj);
  cg_loop_end(g, &li);
}

static void strided_data(Cg *g, const Node *n, const ConvGeom *c) {
  int64_t my = margin_y(c), mx = margin_x(c), wpad = c->ow + 2 * mx;
  int64_t wbytes = cnn_align_up(c->kh * c->kw * c->ci * c->co * 4);
  int64_t dzbytes = cnn_align_up((c->oh + 2 * my) * wpad * c->co * 4);
  LLVMValueRef sub = cg_scratch(g, 0), dzp = cg_scratch(g, wbytes);
  LLVMValueRef out = cg_scratch(g, wbytes + dzbytes);
  Phase ph[64];
  int np = 0;
  for (int64_t ry = 0, at = 0; ry < c->sh; ry++)
    for (int64_t rx = 0; rx < c->sw; rx++, np++) {
      ph[np] = phase_of(c, ry, rx, at);
      at += ph[np].ty * ph[np].tx * c->ci * c->co;
      phase_kernel(g, c, &ph[np], cg_tensor(g, n->in[1], NULL), sub);
    }
  pad_zero(g, dzp, c->oh + 2 * my, wpad, c->co);
  CgLoop lb;
  LLVMValueRef b = cg_loop_begin(g, &lb, g->n, "b");
  GradIn dz = cg_conv_grad_in(g, n, b);
  cg_conv_pad_copy(g, &dz, c->oh, c->ow, c->co, dzp, my, mx, wpad);
  LLVMValueRef dx = cg_tensor(g, n->out, b);
  for (int k = 0; k < np; k++) {
    const Phase *p = &ph[k];
    if (p->hi == 0 || p->wi == 0)
      continue;
    if (p->ty == 0 || p->tx == 0) {
      phase_to_dx(g, c, p, NULL, dx);
      continue;
    }
    int64_t first = (my + p->qy - p->ty + 1) * wpad + mx + p->qx - p->tx + 1;
    Core core = {cg_gep(g, g->f32, dzp, cg_i64(g, first * c->co)), wpad,
                 c->co, cg_gep(g, g->f32, sub, cg_i64(g, p->w_at)), p->ty,
                 p->tx, 1, 1, out, p->hi, p->wi, c->ci, NULL, NULL,
                 {ACT_NONE, 0}};
    core_image(g, &core);
    phase_to_dx(g, c, p, out, dx);
  }
  cg_loop_end(g, &lb);
}

/* dx = valid conv of dz padded by (kernel - 1 - pad) with flipped w^T;
 * inputs dy, w[, y]: the mask is applied as dz is copied into the padding.
 * Strides above 1 run by phases (strided_data). */
bool cg_conv2d_bwd_data_fast(Cg *g, const Node *n) {
  ConvGeom c = cg_conv_geom(n);
  if (strided_data_ok(g, &c) && c.sh * c.sw <= 64) {
    strided_data(g, n, &c);
    return true;
  }
  if (!fast_data_ok(g, &c))
    return false;
  LLVMValueRef wt = cg_scratch(g, 0);
  cg_conv_flip_transpose(g, &c, cg_tensor(g, n->in[1], NULL), wt);
  LLVMValueRef dzp =
      cg_scratch(g, cnn_align_up(c.kh * c.kw * c.ci * c.co * 4));
  int64_t hp = c.h + c.kh - 1, wp = c.w + c.kw - 1;
  pad_zero(g, dzp, hp, wp, c.co);
  CgLoop lb;
  LLVMValueRef b = cg_loop_begin(g, &lb, g->n, "b");
  GradIn dz = cg_conv_grad_in(g, n, b);
  cg_conv_pad_copy(g, &dz, c.oh, c.ow, c.co, dzp, c.kh - 1 - c.ph,
                   c.kw - 1 - c.pw, wp);
  Core core = {dzp, wp, c.co, wt, c.kh, c.kw, 1, 1, cg_tensor(g, n->out, b),
               c.h, c.w, c.ci, NULL, NULL, {ACT_NONE, 0}};
  core_image(g, &core);
  cg_loop_end(g, &lb);
  return true;
}

/* dw[kh][j0 + r][co0 + v] += sum over pixels x[pixel + kh row][j0 + r] *
 * dz[pixel][co0 + v], for one image, where j = kw * ci + channel: a
 * kernel row's taps of all input channels, kw * ci floats in a row of both
 * dw and x, block as one run of rows (a 3x3 conv of 64 channels has 192,
 * of 1 channel 3, rather than 64 and 1). */
static void weight_block(Cg *g, const ConvGeom *c, LLVMValueRef x, LLVMValueRef dz,
                         LLVMValueRef dw, LLVMValueRef kh, LLVMValueRef j0,
                         LLVMValueRef co0, int64_t RB, int64_t CB,
                         int64_t tail) {
  LLVMValueRef acc[24 * MAX_BLOCK_VECTORS], at[24 * MAX_BLOCK_VECTORS];
  LLVMValueRef taps = cg_mulc(g, kh, c->kw * c->ci);
  for (int64_t r = 0; r < RB; r++)
    for (int64_t v = 0; v < CB; v++) {
      LLVMValueRef row = cg_addc(g, cg_add(g, taps, j0), r);
      at[r * CB + v] = cg_add(g, cg_mulc(g, row, c->co),
                              cg_addc(g, co0, v * g->target.vw));
      LLVMValueRef sum =
          cg_vload_lanes(g, dw, at[r * CB + v], cg_lanes_of(g, v, CB, tail));
      acc[r * CB + v] = cg_var(g, LLVMTypeOf(sum), sum, "acc");
    }
  CgLoop loh, low;
  LLVMValueRef oh = cg_for(g, &loh, c->oh, "oh");
  LLVMValueRef ow = cg_for(g, &low, c->ow, "ow");
  LLVMValueRef px = cg_mulc(g, cg_add(g, cg_mulc(g, oh, c->ow), ow), c->co);
  LLVMValueRef ih = cg_add(g, cg_mulc(g, oh, c->sh), kh);
  LLVMValueRef iw = cg_mulc(g, ow, c->sw);
  LLVMValueRef xi = cg_add(g, cg_mulc(g, cg_add(g, cg_mulc(g, ih, c->wp), iw),
                                      c->ci), j0);
  LLVMValueRef dv[MAX_BLOCK_VECTORS];
  for (int64_t v = 0; v < CB; v++)
    dv[v] = cg_vload_lanes(g, dz,
                           cg_add(g, px, cg_addc(g, co0, v * g->target.vw)),
                           cg_lanes_of(g, v, CB, tail));
  for (int64_t r = 0; r < RB; r++)
    cg_fma_row(g, &acc[r * CB], cg_load(g, x, cg_addc(g, xi, r)), dv, CB);
  cg_loop_end(g, &low);
  cg_loop_end(g, &loh);
  for (int64_t k = 0; k < RB * CB; k++)
    cg_vstore_lanes(g, cg_var_load(g, acc[k]), dw, at[k],
                    cg_lanes_of(g, k % CB, CB, tail));
}

typedef struct WeightRow {
  const ConvGeom *c;
  LLVMValueRef x, dz, dw, kh;
} WeightRow;

/* One kernel row's channel block of output channels, over blocks of its
 * kw * ci rows: as many rows as leave CB vectors each in the registers,
 * and a last, shorter block. */
static void weight_blocks(Cg *g, const void *ctx, LLVMValueRef co0,
                          int64_t CB, int64_t tail) {
  const WeightRow *t = ctx;
  int64_t rows = t->c->kw * t->c->ci, RB = cg_max_accumulators(g) / CB;
  if (RB > rows)
    RB = rows;
  CgLoop lj;
  LLVMValueRef jb = cg_for(g, &lj, rows / RB, "jb");
  weight_block(g, t->c, t->x, t->dz, t->dw, t->kh, cg_mulc(g, jb, RB), co0,
               RB, CB, tail);
  cg_loop_end(g, &lj);
  if (rows % RB)
    weight_block(g, t->c, t->x, t->dz, t->dw, t->kh,
                 cg_i64(g, rows / RB * RB), co0, rows % RB, CB, tail);
}

/* inputs x, dy[, y]: dw summed over the batch, image by image so that one
 * image's x and dz stay in cache while every tap and block reads them. */
bool cg_conv2d_bwd_weight_fast(Cg *g, const Node *n) {
  ConvGeom c = cg_conv_geom(n);
  if (!fast_forward_ok(g, &c))
    return false;
  LLVMValueRef dw = cg_tensor(g, n->out, NULL);
  cg_fill(g, dw, ir_shape_elems(&n->out->shape), cg_f32(g, 0));
  const Node *bias = absorbed_bias(g, n);
  LLVMValueRef db = bias ? cg_tensor(g, bias->out, NULL) : NULL;
  if (db)
    cg_fill(g, db, c.co, cg_f32(g, 0));
  LLVMValueRef xp = padded_scratch(g, &c, dz_image_bytes(n));
  CgLoop lb, lkh;
  LLVMValueRef b = cg_loop_begin(g, &lb, g->n, "b");
  LLVMValueRef dz = db ? dz_image_and_bias(g, n, b, db)
                       : cg_conv_dz_image(g, n, b);
  LLVMValueRef x = padded_input(g, &c, n->in[0], b, xp);
  WeightRow row = {&c, x, dz, dw, cg_for(g, &lkh, c.kh, "kh")};
  cg_for_channel_blocks(g, c.co, MAX_BLOCK_VECTORS, weight_blocks, &row, "cob");
  cg_loop_end(g, &lkh);
  cg_loop_end(g, &lb);
  return true;
}

/* inputs dy[, y]: db[co] += dz[p][co], pixel after pixel as the loop nest
 * adds them (so the sums are the same), with CB vectors of channels held in
 * registers across an image's pixels instead of loaded and stored for each. */
bool cg_conv2d_bwd_bias_fast(Cg *g, const Node *n) {
  if (cg_conv_bias_absorbed(g, n))
    return true; /* the weight gradient's kernel sums it */
  int64_t co = n->in[0]->shape.dim[2];
  if (g->reference)
    return false;
  LLVMValueRef db = cg_tensor(g, n->out, NULL);
  cg_fill(g, db, co, cg_f32(g, 0));
  CgLoop lb;
  LLVMValueRef b = cg_loop_begin(g, &lb, g->n, "b");
  GradIn dz = cg_conv_grad_in(g, n, b);
  sum_bias_image(g, n, &dz, db, NULL);
  cg_loop_end(g, &lb);
  return true;
}
