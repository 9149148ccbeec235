/* cg_elementwise.c - activations, their gradients, add, and softmax. */

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
  switch (n->op) {
  case OP_RELU:
  case OP_LEAKY_RELU:
  case OP_SIGMOID:
  case OP_TANH: map(g, n, activate); return;
  case OP_ACT_BWD: map(g, n, act_grad); return;
  case OP_ADD: map(g, n, add); return;
  default: unreachable();
  }
}

/* y = e^(x - max) / sum: the shift keeps exp from overflowing. */
void cg_softmax(Cg *g, const Node *n) {
  int64_t k = ir_shape_elems(&n->out->shape);
  CgLoop lb, li, lj;
  LLVMValueRef b = cg_loop_begin(g, &lb, g->n, "b");
  LLVMValueRef x = cg_tensor(g, n->in[0], b), y = cg_tensor(g, n->out, b);
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
  cg_loop_end(g, &lb);
}

/* dx = y * (dy - sum(dy * y)); inputs dy, y */
void cg_softmax_bwd(Cg *g, const Node *n) {
  int64_t k = ir_shape_elems(&n->out->shape);
  CgLoop lb, li, lj;
  LLVMValueRef b = cg_loop_begin(g, &lb, g->n, "b");
  LLVMValueRef dy = cg_tensor(g, n->in[0], b), y = cg_tensor(g, n->in[1], b);
  LLVMValueRef dx = cg_tensor(g, n->out, b);
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
  cg_loop_end(g, &lb);
}
