/* cg_elementwise.c - activations, their gradients, the gradient sum, and
 * softmax (per pixel over the channels for an image). */

#include "cg.h"

/* out[b][e] = f(in0[b][e], in1[b][e]) over the whole tensor */
typedef LLVMValueRef (*ElemFn)(Cg *g, const Node *n, LLVMValueRef a,
                               LLVMValueRef b);

static void map(Cg *g, const Node *n, ElemFn f) {
  int64_t elems = ir_shape_elems(&n->out->shape);
  CgLoop lb, le;
  LLVMValueRef b = cg_loop_begin(g, &lb, g->n, "b");
  LLVMValueRef a = cg_tensor(g, n->in[0], b);
  LLVMValueRef c = n->nin > 1 ? cg_tensor(g, n->in[1], b) : NULL;
  LLVMValueRef y = cg_tensor(g, n->out, b);
  LLVMValueRef e = cg_for(g, &le, elems, "e");
  LLVMValueRef av = cg_load(g, a, e), cv = c ? cg_load(g, c, e) : NULL;
  cg_store(g, f(g, n, av, cv), y, e);
  cg_loop_end(g, &le);
  cg_loop_end(g, &lb);
}

static LLVMValueRef activate(Cg *g, const Node *n, LLVMValueRef x,
                             LLVMValueRef unused) {
  (void)unused;
  return cg_activate(g, ir_op_act(n), x);
}

/* act_bwd: dy * f'(y) */
static LLVMValueRef act_grad(Cg *g, const Node *n, LLVMValueRef dy,
                             LLVMValueRef y) {
  return cg_fmul(g, dy, cg_activation_grad(g, n->attr.act_bwd, y));
}

static LLVMValueRef add(Cg *g, const Node *n, LLVMValueRef a,
                        LLVMValueRef b) {
  (void)n;
  return cg_fadd(g, a, b);
}

void cg_elementwise(Cg *g, const Node *n) {
  if (ir_op_is(n->op, OPF_ELEMENTWISE | OPF_ACTIVATION))
    map(g, n, activate);
  else if (n->op == OP_ACT_BWD)
    map(g, n, act_grad);
  else if (n->op == OP_GRAD_SUM)
    map(g, n, add);
  else
    unreachable();
}

/* Softmax normalises over the last axis, as Keras' Softmax(axis=-1) and
 * PyTorch's Softmax(dim=1) on NCHW do: an image's H*W pixels one by one,
 * each over its C channels; a vector as a whole. The kernels below run
 * over image b's rows of k contiguous values (NHWC keeps a pixel's
 * channels together). */
typedef void (*RowFn)(Cg *g, const Node *n, LLVMValueRef b, LLVMValueRef at,
                      int64_t k);

static void each_row(Cg *g, const Node *n, RowFn row) {
  const Shape *s = &n->out->shape;
  int64_t k = s->dim[s->rank - 1], rows = ir_shape_elems(s) / k;
  CgLoop lb, lr;
  LLVMValueRef b = cg_loop_begin(g, &lb, g->n, "b");
  LLVMValueRef r = cg_for(g, &lr, rows, "row");
  row(g, n, b, cg_mulc(g, r, k), k);
  cg_loop_end(g, &lr);
  cg_loop_end(g, &lb);
}

/* t's row at `at` of image b */
static LLVMValueRef row_of(Cg *g, const Tensor *t, LLVMValueRef b,
                           LLVMValueRef at) {
  return cg_gep(g, g->f32, cg_tensor(g, t, b), at);
}

/* y = e^(x - max) / sum: the shift keeps exp from overflowing. */
static void softmax_row(Cg *g, const Node *n, LLVMValueRef b, LLVMValueRef at,
                        int64_t k) {
  CgLoop li, lj;
  LLVMValueRef x = row_of(g, n->in[0], b, at), y = row_of(g, n->out, b, at);
  LLVMValueRef m = cg_load(g, x, cg_argmax(g, x, k));
  LLVMValueRef sum = cg_var(g, g->f32, cg_f32(g, 0), "sum");
  LLVMValueRef i = cg_for(g, &li, k, "i");
  LLVMValueRef ex = cg_call1(g, "llvm.exp", cg_fsub(g, cg_load(g, x, i), m));
  cg_store(g, ex, y, i);
  LLVMBuildStore(g->b, cg_fadd(g, LLVMBuildLoad2(g->b, g->f32, sum, ""), ex),
                 sum);
  cg_loop_end(g, &li);
  LLVMValueRef inv = cg_fdiv(g, cg_f32(g, 1),
                             LLVMBuildLoad2(g->b, g->f32, sum, ""));
  LLVMValueRef j = cg_for(g, &lj, k, "j");
  cg_store(g, cg_fmul(g, cg_load(g, y, j), inv), y, j);
  cg_loop_end(g, &lj);
}

/* dx = y * (dy - sum(dy * y)), the sum over the row; inputs dy, y */
static void softmax_bwd_row(Cg *g, const Node *n, LLVMValueRef b,
                            LLVMValueRef at, int64_t k) {
  CgLoop li, lj;
  LLVMValueRef dy = row_of(g, n->in[0], b, at), y = row_of(g, n->in[1], b, at);
  LLVMValueRef dx = row_of(g, n->out, b, at);
  LLVMValueRef dot = cg_var(g, g->f32, cg_f32(g, 0), "dot");
  LLVMValueRef i = cg_for(g, &li, k, "i");
  LLVMValueRef prod = cg_fmul(g, cg_load(g, dy, i), cg_load(g, y, i));
  LLVMBuildStore(g->b,
                 cg_fadd(g, LLVMBuildLoad2(g->b, g->f32, dot, ""), prod), dot);
  cg_loop_end(g, &li);
  LLVMValueRef s = LLVMBuildLoad2(g->b, g->f32, dot, "");
  LLVMValueRef j = cg_for(g, &lj, k, "j");
  cg_store(g, cg_fmul(g, cg_load(g, y, j), cg_fsub(g, cg_load(g, dy, j), s)),
           dx, j);
  cg_loop_end(g, &lj);
}

void cg_softmax(Cg *g, const Node *n) { each_row(g, n, softmax_row); }

void cg_softmax_bwd(Cg *g, const Node *n) { each_row(g, n, softmax_bwd_row); }
