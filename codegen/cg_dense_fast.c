/* cg_dense_fast.c - register-blocked dense layers with explicit vectors;
 * w is [in][out], a chunk holds up to chunk_images images.
 *
 *   forward     acc[r][v] += splat(x[b0 + r][i]) * w[i][o0 + v*vw ...]
 *   bwd weight  acc[r][v] += splat(x[b][i0 + r]) * dz[b][o0 + v*vw ...]
 *   bwd data    acc[r][k] += dz[b0 + r][o ...] * w[i0 + k][o ...], then each
 *               accumulator summed across its lanes into dx[b0 + r][i0 + k]
 *
 * The block of images is the whole chunk when its accumulators fit in the
 * registers, so that each vector of w, the largest tensor a dense layer
 * touches (1.6 MB in the seed network), is loaded once per chunk and feeds
 * one FMA per image. The chunk's image count is known only at run time:
 * full blocks first, then the images left over as one more block. Units
 * that are not a whole number of vectors end in a masked vector
 * (cg_blocks.c); with --reference, cg_dense.c's loop nests do the work. */
#include "cg.h"

/* Images per block: the most, up to a chunk, leaving room in the
 * registers for at least one vector of units each. */
static int64_t block_images(const Cg *g) {
  int64_t acc = cg_max_accumulators(g), chunk = g->m->chunk_images;
  return chunk < acc ? chunk : acc;
}

/* Vectors of units per block of block_images(): the rest of the
 * registers. */
static int64_t block_vectors(const Cg *g) {
  return cg_max_accumulators(g) / block_images(g);
}

/* The largest divisor of n that is at most cap. */
static int64_t divisor_at_most(int64_t n, int64_t cap) {
  int64_t d = cap < n ? cap : n;
  while (n % d)
    d--;
  return d;
}

static bool fast_ok(const Cg *g) { return !g->reference; }

/* A block of R images from b0, of which the first `valid` are the
 * chunk's (NULL: all R). */
typedef struct Images {
  LLVMValueRef b0, valid;
  int64_t R;
} Images;

/* Image r of the block: past the valid ones, the block's first again, so
 * that every load stays in the chunk; what they compute is not stored. */
static LLVMValueRef image(Cg *g, const Images *im, int64_t r) {
  LLVMValueRef b = cg_addc(g, im->b0, r);
  if (!im->valid || r == 0)
    return b;
  LLVMValueRef in = LLVMBuildICmp(g->b, LLVMIntULT, cg_i64(g, r), im->valid,
                                  "");
  return LLVMBuildSelect(g->b, in, b, im->b0, "");
}

/* Stores of image r go inside: if (r < valid) { ... } */
static void if_valid(Cg *g, const Images *im, int64_t r, CgIf *c) {
  LLVMValueRef in = im->valid ? LLVMBuildICmp(g->b, LLVMIntULT, cg_i64(g, r),
                                              im->valid, "")
                              : LLVMConstInt(LLVMInt1TypeInContext(g->ctx), 1, 0);
  cg_if_begin(g, c, in);
}

/* Calls block() for full blocks of R images of the chunk, then once for
 * the images left, if any, as a block of R of which only they are stored:
 * a chunk holds up to 8 images but often fewer (a batch of 50 is chunks of
 * 7 and 6), and one image at a time would read all of w for each. */
typedef void (*ImageBlockFn)(Cg *g, const Node *n, const Images *im,
                             LLVMValueRef o0, const void *ctx);

static void over_images(Cg *g, const Node *n, int64_t R, LLVMValueRef o0,
                        ImageBlockFn block, const void *ctx) {
  LLVMValueRef full = LLVMBuildUDiv(g->b, g->n, cg_i64(g, R), "full");
  CgLoop lf;
  LLVMValueRef f = cg_loop_begin(g, &lf, full, "blk");
  Images all = {cg_mulc(g, f, R), NULL, R};
  block(g, n, &all, o0, ctx);
  cg_loop_end(g, &lf);
  LLVMValueRef done = cg_mulc(g, full, R);
  LLVMValueRef left = LLVMBuildSub(g->b, g->n, done, "left");
  CgIf c;
  cg_if_begin(g, &c, LLVMBuildICmp(g->b, LLVMIntNE, left, cg_i64(g, 0), ""));
  Images some = {done, left, R};
  block(g, n, &some, o0, ctx);
  cg_if_end(g, &c);
}

/* ---- forward
 * ----------------------------------------------------------------- */

/* The rows of w a forward block reads: [i0, i0 + rows). A tile starts
 * from the bias where `first` (an i1; NULL: always), else from the sums
 * the earlier tiles left in y; the last one applies the activation. */
typedef struct Tile {
  LLVMValueRef i0, first;
  int64_t rows;
  bool activate;
  int64_t CB, tail; /* this block's vectors of units, as cg_blocks.c says */
} Tile;

static void forward_block(Cg *g, const Node *n, const Images *im,
                          LLVMValueRef o0, const void *ctx) {
  const Tile *t = ctx;
  int64_t out = n->out->shape.dim[0], R = im->R, CB = t->CB;
  LLVMValueRef acc[MAX_ACCUMULATORS], x[MAX_ACCUMULATORS], y[MAX_ACCUMULATORS];
  for (int64_t r = 0; r < R; r++) {
    x[r] = cg_tensor(g, n->in[0], image(g, im, r));
    y[r] = cg_tensor(g, n->out, image(g, im, r));
  }
  for (int64_t v = 0; v < CB; v++) {
    LLVMValueRef o = cg_addc(g, o0, v * g->target.vw);
    int64_t lanes = cg_lanes_of(g, v, CB, t->tail);
    LLVMValueRef bias =
        n->nin == 3 ? cg_vload_lanes(g, cg_tensor(g, n->in[2], NULL), o, lanes)
                    : LLVMConstNull(cg_lanes_type(g, lanes));
    for (int64_t r = 0; r < R; r++) {
      LLVMValueRef init =
          t->first == NULL
              ? bias
              : LLVMBuildSelect(g->b, t->first, bias,
                                cg_vload_lanes(g, y[r], o, lanes), "");
      acc[r * CB + v] = cg_var(g, LLVMTypeOf(init), init, "acc");
    }
  }
  LLVMValueRef w = cg_tensor(g, n->in[1], NULL);
  CgLoop li;
  LLVMValueRef i = cg_add(g, t->i0, cg_for(g, &li, t->rows, "i"));
  LLVMValueRef wv[MAX_ACCUMULATORS];
  for (int64_t v = 0; v < CB; v++)
    wv[v] = cg_vload_lanes(
        g, w, cg_add(g, cg_mulc(g, i, out), cg_addc(g, o0, v * g->target.vw)),
        cg_lanes_of(g, v, CB, t->tail));
  for (int64_t r = 0; r < R; r++)
    cg_fma_row(g, &acc[r * CB], cg_load(g, x[r], i), wv, CB);
  cg_loop_end(g, &li);
  for (int64_t r = 0; r < R; r++) {
    CgIf c;
    if_valid(g, im, r, &c);
    for (int64_t v = 0; v < CB; v++) {
      LLVMValueRef a = cg_var_load(g, acc[r * CB + v]);
      if (t->activate)
        a = cg_activate(g, n->attr.dense.act, a);
      cg_vstore_lanes(g, a, y[r], cg_addc(g, o0, v * g->target.vw),
                      cg_lanes_of(g, v, CB, t->tail));
    }
    cg_if_end(g, &c);
  }
}

/* Rows of w per tile: as many as keep half the L2 cache. Without tiles,
 * each block of output vectors walks all of w's rows, a few cache lines
 * a row, as far apart as a row is long: too far for the prefetchers, so
 * that a large layer (2304 x 512 in the colour network) waited on memory
 * at 8% of the FMA peak. A tile's rows are read once from memory and
 * then from L2 for every block; each output's sum still runs over i in
 * order, so the results are the same. */
static int64_t tile_rows(const Cg *g, int64_t in, int64_t out) {
  int64_t rows = g->target.l2_bytes / 2 / (out * 4);
  return rows < 16 ? 16 : rows > in ? in : rows;
}

typedef struct TileOf {
  const Node *n;
  const Tile *t;
} TileOf;

static void forward_units(Cg *g, const void *ctx, LLVMValueRef o0, int64_t CB,
                          int64_t tail) {
  const TileOf *of = ctx;
  Tile t = *of->t;
  t.CB = CB;
  t.tail = tail;
  over_images(g, of->n, block_images(g), o0, forward_block, &t);
}

static void forward_tile(Cg *g, const Node *n, const Tile *t) {
  TileOf of = {n, t};
  cg_for_channel_blocks(g, n->out->shape.dim[0], block_vectors(g),
                        forward_units, &of, "ob");
}

bool cg_dense_fast(Cg *g, const Node *n) {
  int64_t in = n->in[0]->shape.dim[0], out = n->out->shape.dim[0];
  if (!fast_ok(g))
    return false;
  int64_t rows = tile_rows(g, in, out), tiles = (in + rows - 1) / rows;
  LLVMTypeRef i1 = LLVMInt1TypeInContext(g->ctx);
  if (tiles > 1) { /* all but the last tile */
    CgLoop lt;
    LLVMValueRef k = cg_for(g, &lt, tiles - 1, "tile");
    Tile t = {cg_mulc(g, k, rows),
              LLVMBuildICmp(g->b, LLVMIntEQ, k, cg_i64(g, 0), ""), rows,
              false, 0, 0};
    forward_tile(g, n, &t);
    cg_loop_end(g, &lt);
  }
  /* the last one, whose rows may be fewer */
  Tile last = {cg_i64(g, (tiles - 1) * rows),
               tiles > 1 ? LLVMConstInt(i1, 0, false) : NULL,
               in - (tiles - 1) * rows, true, 0, 0};
  forward_tile(g, n, &last);
  return true;
}

/* ---- weight gradient
 * ---------------------------------------------------------- */

/* dw[i0 .. i0 + RI)[o0 .. o0 + CB vectors) = sum over the chunk's images
 * of x[b][i] * dz[b][o]; inputs x, dz */
static void weight_block(Cg *g, const Node *n, LLVMValueRef i0, int64_t RI,
                         LLVMValueRef o0, int64_t CB, int64_t tail) {
  int64_t out = n->in[1]->shape.dim[0];
  LLVMValueRef acc[MAX_ACCUMULATORS];
  for (int64_t k = 0; k < RI * CB; k++) {
    LLVMTypeRef t = cg_lanes_type(g, cg_lanes_of(g, k % CB, CB, tail));
    acc[k] = cg_var(g, t, LLVMConstNull(t), "acc");
  }
  CgLoop lb;
  LLVMValueRef b = cg_loop_begin(g, &lb, g->n, "b");
  LLVMValueRef x = cg_tensor(g, n->in[0], b), dz = cg_tensor(g, n->in[1], b);
  LLVMValueRef dv[MAX_ACCUMULATORS];
  for (int64_t v = 0; v < CB; v++)
    dv[v] = cg_vload_lanes(g, dz, cg_addc(g, o0, v * g->target.vw),
                           cg_lanes_of(g, v, CB, tail));
  for (int64_t r = 0; r < RI; r++)
    cg_fma_row(g, &acc[r * CB], cg_load(g, x, cg_addc(g, i0, r)), dv, CB);
  cg_loop_end(g, &lb);
  LLVMValueRef dw = cg_tensor(g, n->out, NULL);
  for (int64_t r = 0; r < RI; r++)
    for (int64_t v = 0; v < CB; v++) {
      LLVMValueRef at = cg_add(g, cg_mulc(g, cg_addc(g, i0, r), out),
                               cg_addc(g, o0, v * g->target.vw));
      cg_vstore_lanes(g, cg_var_load(g, acc[r * CB + v]), dw, at,
                      cg_lanes_of(g, v, CB, tail));
    }
}

typedef struct WeightRows {
  const Node *n;
  LLVMValueRef i0;
  int64_t RI;
} WeightRows;

static void weight_units(Cg *g, const void *ctx, LLVMValueRef o0, int64_t CB,
                         int64_t tail) {
  const WeightRows *w = ctx;
  weight_block(g, w->n, w->i0, w->RI, o0, CB, tail);
}

bool cg_dense_bwd_weight_fast(Cg *g, const Node *n) {
  int64_t in = n->in[0]->shape.dim[0], out = n->in[1]->shape.dim[0];
  if (!fast_ok(g))
    return false;
  /* rows of dw outside, so that a block of rows is written in full, each
   * row a run of memory */
  int64_t CB = cg_channel_blocks(g, out, 4).vectors;
  int64_t RI = divisor_at_most(in, cg_max_accumulators(g) / CB);
  CgLoop li;
  LLVMValueRef ib = cg_for(g, &li, in / RI, "ib");
  WeightRows rows = {n, cg_mulc(g, ib, RI), RI};
  cg_for_channel_blocks(g, out, 4, weight_units, &rows, "ob");
  cg_loop_end(g, &li);
  return true;
}

/* ---- data gradient
 * -------------------------------------------------------------- */

/* Rows of w per block of R images in the data gradient. */
static int64_t data_rows(const Cg *g, const Node *n, int64_t R) {
  return divisor_at_most(n->out->shape.dim[0], cg_max_accumulators(g) / R);
}

/* acc[r][k] += dz[r][o ...] * wrow[k][o ...] for one vector of units at o,
 * its first `lanes` */
static void data_units(Cg *g, const LLVMValueRef *wrow, const LLVMValueRef *dz,
                       LLVMValueRef o, int64_t R, int64_t RI,
                       const LLVMValueRef *acc, int64_t lanes) {
  LLVMValueRef wv[MAX_ACCUMULATORS];
  for (int64_t k = 0; k < RI; k++)
    wv[k] = cg_vload_masked(g, wrow[k], o, lanes);
  for (int64_t r = 0; r < R; r++)
    cg_fma_row(g, &acc[r * RI], cg_vload_masked(g, dz[r], o, lanes), wv, RI);
}

/* dx[b0 + r][i0 + k] = sum over o of dz[b0 + r][o] * w[i0 + k][o]; inputs
 * dz, w. The sums run along o in vector lanes, each reduced at the end. */
static void data_block(Cg *g, const Node *n, const Images *im,
                       LLVMValueRef i0, const void *ctx) {
  (void)ctx;
  int64_t R = im->R;
  int64_t out = n->in[0]->shape.dim[0], RI = data_rows(g, n, block_images(g));
  LLVMValueRef acc[MAX_ACCUMULATORS], dz[MAX_ACCUMULATORS],
      wrow[MAX_ACCUMULATORS];
  for (int64_t k = 0; k < R * RI; k++)
    acc[k] =
        cg_var(g, g->vec, cg_const_like(g, LLVMGetUndef(g->vec), 0), "acc");
  for (int64_t r = 0; r < R; r++)
    dz[r] = cg_tensor(g, n->in[0], image(g, im, r));
  LLVMValueRef w = cg_tensor(g, n->in[1], NULL);
  for (int64_t k = 0; k < RI; k++)
    wrow[k] = cg_gep(g, g->f32, w, cg_mulc(g, cg_addc(g, i0, k), out));
  CgLoop lo;
  LLVMValueRef o = cg_mulc(g, cg_for(g, &lo, out / g->target.vw, "ov"), g->target.vw);
  data_units(g, wrow, dz, o, R, RI, acc, g->target.vw);
  cg_loop_end(g, &lo);
  if (out % g->target.vw) /* the units past the last whole vector */
    data_units(g, wrow, dz, cg_i64(g, out / g->target.vw * g->target.vw), R,
               RI, acc, out % g->target.vw);
  for (int64_t r = 0; r < R; r++) {
    LLVMValueRef dx = cg_tensor(g, n->out, image(g, im, r));
    CgIf c;
    if_valid(g, im, r, &c);
    for (int64_t k = 0; k < RI; k++)
      cg_store(g, cg_vsum(g, cg_var_load(g, acc[r * RI + k])), dx,
               cg_addc(g, i0, k));
    cg_if_end(g, &c);
  }
}

bool cg_dense_bwd_data_fast(Cg *g, const Node *n) {
  int64_t in = n->out->shape.dim[0];
  if (!fast_ok(g))
    return false;
  int64_t R = block_images(g), RI = data_rows(g, n, R);
  CgLoop li;
  LLVMValueRef ib = cg_for(g, &li, in / RI, "ib");
  over_images(g, n, R, cg_mulc(g, ib, RI), data_block, NULL);
  cg_loop_end(g, &li);
  return true;
}
