/* cg_update.c - the optimizer's update of one parameter, in place.
 *
 * adam (Keras's form, bias correction folded into the step size):
 *   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
 *   w -= lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)
 * sgd: v = momentum v + g; w -= lr v  (w -= lr g without momentum) */
#include <math.h>

#include "cg.h"

/* lr * sqrt(1 - b2^t) / (1 - b1^t), computed once per step in double. */
static LLVMValueRef adam_step_size(Cg *g, const OptAttr *o) {
  LLVMValueRef t = LLVMBuildSIToFP(g->b, g->step, g->f64, "t");
  LLVMValueRef ln1 = LLVMConstReal(g->f64, log((double)o->beta1));
  LLVMValueRef ln2 = LLVMConstReal(g->f64, log((double)o->beta2));
  LLVMValueRef one = LLVMConstReal(g->f64, 1);
  LLVMValueRef b1t = cg_call1(g, "llvm.exp", LLVMBuildFMul(g->b, t, ln1, ""));
  LLVMValueRef b2t = cg_call1(g, "llvm.exp", LLVMBuildFMul(g->b, t, ln2, ""));
  LLVMValueRef num = cg_call1(g, "llvm.sqrt", LLVMBuildFSub(g->b, one, b2t, ""));
  LLVMValueRef den = LLVMBuildFSub(g->b, one, b1t, "");
  LLVMValueRef lr = LLVMBuildFPExt(g->b, g->lr, g->f64, "");
  LLVMValueRef s = LLVMBuildFDiv(g->b, LLVMBuildFMul(g->b, lr, num, ""), den, "");
  return LLVMBuildFPTrunc(g->b, s, g->f32, "step_size");
}

static void adam(Cg *g, const Node *n) {
  const OptAttr *o = &n->attr.opt;
  int64_t size = ir_shape_elems(&n->out->shape);
  LLVMValueRef w = cg_tensor(g, n->in[0], NULL), gr = cg_tensor(g, n->in[1], NULL);
  LLVMValueRef m = cg_tensor(g, n->in[2], NULL), v = cg_tensor(g, n->in[3], NULL);
  LLVMValueRef step = adam_step_size(g, o);
  CgLoop l;
  LLVMValueRef i = cg_for(g, &l, size, "i");
  LLVMValueRef gv = cg_load(g, gr, i);
  LLVMValueRef mv = cg_fma(g, cg_f32(g, o->beta1), cg_load(g, m, i),
                           cg_fmul(g, cg_f32(g, 1 - (double)o->beta1), gv));
  LLVMValueRef vv = cg_fma(g, cg_f32(g, o->beta2), cg_load(g, v, i),
                           cg_fmul(g, cg_f32(g, 1 - (double)o->beta2),
                                   cg_fmul(g, gv, gv)));
  cg_store(g, mv, m, i);
  cg_store(g, vv, v, i);
  LLVMValueRef den = cg_fadd(g, cg_call1(g, "llvm.sqrt", vv), cg_f32(g, o->eps));
  LLVMValueRef delta = cg_fdiv(g, cg_fmul(g, step, mv), den);
  cg_store(g, cg_fsub(g, cg_load(g, w, i), delta), w, i);
  cg_loop_end(g, &l);
}

static void sgd(Cg *g, const Node *n) {
  int64_t size = ir_shape_elems(&n->out->shape);
  LLVMValueRef w = cg_tensor(g, n->in[0], NULL), gr = cg_tensor(g, n->in[1], NULL);
  LLVMValueRef vel = n->nin == 3 ? cg_tensor(g, n->in[2], NULL) : NULL;
  CgLoop l;
  LLVMValueRef i = cg_for(g, &l, size, "i");
  LLVMValueRef d = cg_load(g, gr, i);
  if (vel) {
    d = cg_fma(g, cg_f32(g, n->attr.opt.momentum), cg_load(g, vel, i), d);
    cg_store(g, d, vel, i);
  }
  cg_store(g, cg_fsub(g, cg_load(g, w, i), cg_fmul(g, g->lr, d)), w, i);
  cg_loop_end(g, &l);
}

void cg_update(Cg *g, const Node *n) {
  if (n->op == OP_ADAM_UPDATE)
    adam(g, n);
  else
    sgd(g, n);
}
