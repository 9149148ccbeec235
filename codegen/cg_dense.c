/* cg_dense.c - dense forward and its three gradients; w is [in][out].
 *
 *   forward     y[b][o] += x[b][i] * w[i][o]          (over o, contiguous)
 *   bwd weight dw[i][o] += x[b][i] * dz[b][o]         (over o)
 *   bwd data   dx[b][i] = sum_o dz[b][o] * w[i][o]    (a dot over o)
 * The images of the chunk are the loop inside the weight rows: a row of w
 * is read once per chunk, not once per image, which matters because w is
 * the largest tensor a dense layer touches (1.6 MB in the seed network).
 * dz is the gradient before the fused activation (autodiff's act_bwd).
 * These are the loop nests: cg_dense_fast.c's register-blocked kernels
 * take every layer whose output units fill whole vectors. */
#include "cg.h"

static int64_t units_in(const Node *n) { return n->in[0]->shape.dim[0]; }

/* The row of image b in a [chunk][units] tensor. */
static LLVMValueRef row_of(Cg *g, const Tensor *t, LLVMValueRef b) {
  return cg_tensor(g, t, b);
}

void cg_dense(Cg *g, const Node *n) {
  int64_t in = units_in(n), out = n->out->shape.dim[0];
  LLVMValueRef w = cg_tensor(g, n->in[1], NULL);
  CgLoop lb, lo, li, lb2, lo2, lb3, le;
  LLVMValueRef b = cg_loop_begin(g, &lb, g->n, "b");
  LLVMValueRef y = row_of(g, n->out, b);
  LLVMValueRef o = cg_for(g, &lo, out, "o");
  cg_store(g, n->nin == 3 ? cg_load(g, cg_tensor(g, n->in[2], NULL), o)
                          : cg_f32(g, 0),
           y, o);
  cg_loop_end(g, &lo);
  cg_loop_end(g, &lb);
  LLVMValueRef i = cg_for(g, &li, in, "i");
  LLVMValueRef wrow = cg_gep(g, g->f32, w, cg_mulc(g, i, out));
  b = cg_loop_begin(g, &lb2, g->n, "b");
  LLVMValueRef xv = cg_load(g, row_of(g, n->in[0], b), i);
  y = row_of(g, n->out, b);
  o = cg_for(g, &lo2, out, "o");
  cg_store(g, cg_fma(g, xv, cg_load(g, wrow, o), cg_load(g, y, o)), y, o);
  cg_loop_end(g, &lo2);
  cg_loop_end(g, &lb2);
  cg_loop_end(g, &li);
  if (n->attr.dense.act.kind != ACT_NONE) {
    b = cg_loop_begin(g, &lb3, g->n, "b");
    y = row_of(g, n->out, b);
    LLVMValueRef e = cg_for(g, &le, out, "e");
    cg_store(g, cg_activate(g, n->attr.dense.act, cg_load(g, y, e)), y, e);
    cg_loop_end(g, &le);
    cg_loop_end(g, &lb3);
  }
}

/* inputs x, dz */
void cg_dense_bwd_weight(Cg *g, const Node *n) {
  int64_t in = units_in(n), out = n->in[1]->shape.dim[0];
  LLVMValueRef dw = cg_tensor(g, n->out, NULL);
  cg_fill(g, dw, in * out, cg_f32(g, 0));
  CgLoop li, lb, lo;
  LLVMValueRef i = cg_for(g, &li, in, "i");
  LLVMValueRef row = cg_gep(g, g->f32, dw, cg_mulc(g, i, out));
  LLVMValueRef b = cg_loop_begin(g, &lb, g->n, "b");
  LLVMValueRef xv = cg_load(g, row_of(g, n->in[0], b), i);
  LLVMValueRef dz = row_of(g, n->in[1], b);
  LLVMValueRef o = cg_for(g, &lo, out, "o");
  cg_store(g, cg_fma(g, xv, cg_load(g, dz, o), cg_load(g, row, o)), row, o);
  cg_loop_end(g, &lo);
  cg_loop_end(g, &lb);
  cg_loop_end(g, &li);
}

/* input dz */
void cg_dense_bwd_bias(Cg *g, const Node *n) {
  int64_t out = n->in[0]->shape.dim[0];
  LLVMValueRef db = cg_tensor(g, n->out, NULL);
  cg_fill(g, db, out, cg_f32(g, 0));
  CgLoop lb, lo;
  LLVMValueRef b = cg_loop_begin(g, &lb, g->n, "b");
  LLVMValueRef dz = row_of(g, n->in[0], b);
  LLVMValueRef o = cg_for(g, &lo, out, "o");
  cg_accum(g, db, o, cg_load(g, dz, o));
  cg_loop_end(g, &lo);
  cg_loop_end(g, &lb);
}

/* inputs dz, w */
void cg_dense_bwd_data(Cg *g, const Node *n) {
  int64_t in = n->out->shape.dim[0], out = n->in[0]->shape.dim[0];
  LLVMValueRef w = cg_tensor(g, n->in[1], NULL);
  CgLoop li, lb, lo;
  LLVMValueRef i = cg_for(g, &li, in, "i");
  LLVMValueRef row = cg_gep(g, g->f32, w, cg_mulc(g, i, out));
  LLVMValueRef b = cg_loop_begin(g, &lb, g->n, "b");
  LLVMValueRef dz = row_of(g, n->in[0], b), dx = row_of(g, n->out, b);
  LLVMValueRef sum = cg_var(g, g->f32, cg_f32(g, 0), "dot");
  LLVMValueRef o = cg_for(g, &lo, out, "o");
  LLVMValueRef s = LLVMBuildLoad2(g->b, g->f32, sum, "");
  LLVMValueRef prod = cg_fmul(g, cg_load(g, dz, o), cg_load(g, row, o));
  LLVMBuildStore(g->b, cg_fadd_reassoc(g, s, prod), sum);
  cg_loop_end(g, &lo);
  cg_store(g, LLVMBuildLoad2(g->b, g->f32, sum, ""), dx, i);
  cg_loop_end(g, &lb);
  cg_loop_end(g, &li);
}
