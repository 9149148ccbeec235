/* cg_update.c - the optimizer's update of one parameter, in place.
 *
 * The step's lr and momentum (sgd's momentum, adam's beta1: a schedule
 * may move both) are run-time arguments; the rest is compiled in. wd is
 * the parameter's weight decay (0 where decay_biases=false exempts it).
 *
 * adam (Keras's form, bias correction folded into the step size; L2 decay
 * as torch.optim.Adam's):
 *   g += wd w;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
 *   w -= lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)
 * adamw (torch.optim.AdamW, in its order of operations):
 *   w *= 1 - lr wd;  m += (1 - b1) (g - m);  v = b2 v + (1 - b2) g^2
 *   w -= lr / (1 - b1^t) * (m / (sqrt(v) / sqrt(1 - b2^t) + eps))
 * sgd (torch.optim.SGD): g += wd w; v = momentum v + g;
 *   w -= lr v, or w -= lr (g + momentum v) with nesterov (w -= lr g
 *   without momentum) */
#include <math.h>

#include "cg.h"

static LLVMValueRef f64(Cg *g, LLVMValueRef f32) {
  return LLVMBuildFPExt(g->b, f32, g->f64, "");
}

/* b^t for the step t, in double */
static LLVMValueRef power_of_step(Cg *g, LLVMValueRef b) {
  LLVMValueRef t = LLVMBuildSIToFP(g->b, g->step, g->f64, "t");
  LLVMValueRef ln = cg_call1(g, "llvm.log", b);
  return cg_call1(g, "llvm.exp", LLVMBuildFMul(g->b, t, ln, ""));
}

static LLVMValueRef one_minus(Cg *g, LLVMValueRef x) {
  return LLVMBuildFSub(g->b, LLVMConstReal(g->f64, 1), x, "");
}

/* adam: lr * sqrt(1 - b2^t) / (1 - b1^t), once per step in double */
static LLVMValueRef adam_step_size(Cg *g, const OptAttr *o) {
  LLVMValueRef b1t = power_of_step(g, f64(g, g->momentum));
  LLVMValueRef b2t = power_of_step(g, LLVMConstReal(g->f64, o->beta2));
  LLVMValueRef num = cg_call1(g, "llvm.sqrt", one_minus(g, b2t));
  LLVMValueRef s = LLVMBuildFDiv(g->b, LLVMBuildFMul(g->b, f64(g, g->lr), num, ""),
                                 one_minus(g, b1t), "");
  return LLVMBuildFPTrunc(g->b, s, g->f32, "step_size");
}

/* g + wd w, or g when the parameter has no decay */
static LLVMValueRef decayed(Cg *g, const OptAttr *o, LLVMValueRef gv,
                            LLVMValueRef wv) {
  if (o->weight_decay == 0)
    return gv;
  return cg_fadd(g, gv, cg_fmul(g, cg_f32(g, o->weight_decay), wv));
}

/* m and v after this step's gradient, stored; m's update as `lerp` (adamw:
 * torch's exp_avg.lerp_) or as b1 m + (1 - b1) g (adam: Keras') */
static LLVMValueRef moments(Cg *g, const OptAttr *o, LLVMValueRef gv,
                            LLVMValueRef m, LLVMValueRef v, LLVMValueRef i,
                            bool lerp, LLVMValueRef *vv) {
  LLVMValueRef b1 = g->momentum;
  LLVMValueRef one_b1 = cg_fsub(g, cg_f32(g, 1), b1);
  LLVMValueRef mv = cg_load(g, m, i);
  mv = lerp ? cg_fadd(g, mv, cg_fmul(g, one_b1, cg_fsub(g, gv, mv)))
            : cg_fma(g, b1, mv, cg_fmul(g, one_b1, gv));
  *vv = cg_fma(g, cg_f32(g, o->beta2), cg_load(g, v, i),
               cg_fmul(g, cg_f32(g, 1 - (double)o->beta2), cg_fmul(g, gv, gv)));
  cg_store(g, mv, m, i);
  cg_store(g, *vv, v, i);
  return mv;
}

static void adam(Cg *g, const Node *n) {
  const OptAttr *o = &n->attr.opt;
  int64_t size = ir_shape_elems(&n->out->shape);
  LLVMValueRef w = cg_tensor(g, n->in[0], NULL), gr = cg_tensor(g, n->in[1], NULL);
  LLVMValueRef m = cg_tensor(g, n->in[2], NULL), v = cg_tensor(g, n->in[3], NULL);
  LLVMValueRef step = adam_step_size(g, o);
  CgLoop l;
  LLVMValueRef i = cg_for(g, &l, size, "i");
  LLVMValueRef wv = cg_load(g, w, i), vv;
  LLVMValueRef gv = decayed(g, o, cg_load(g, gr, i), wv);
  LLVMValueRef mv = moments(g, o, gv, m, v, i, false, &vv);
  LLVMValueRef den = cg_fadd(g, cg_call1(g, "llvm.sqrt", vv), cg_f32(g, o->eps));
  cg_store(g, cg_fsub(g, wv, cg_fdiv(g, cg_fmul(g, step, mv), den)), w, i);
  cg_loop_end(g, &l);
}

/* adamw's per-step scalars, in double as torch computes them, then
 * float32 as its tensor arithmetic uses them */
typedef struct AdamwScalars {
  LLVMValueRef keep;      /* 1 - lr wd */
  LLVMValueRef step_size; /* lr / (1 - b1^t) */
  LLVMValueRef bc2_sqrt;  /* sqrt(1 - b2^t) */
} AdamwScalars;

static AdamwScalars adamw_scalars(Cg *g, const OptAttr *o) {
  LLVMValueRef lr = f64(g, g->lr);
  LLVMValueRef wd = LLVMConstReal(g->f64, o->weight_decay);
  LLVMValueRef b1t = power_of_step(g, f64(g, g->momentum));
  LLVMValueRef b2t = power_of_step(g, LLVMConstReal(g->f64, o->beta2));
  LLVMValueRef keep = one_minus(g, LLVMBuildFMul(g->b, lr, wd, ""));
  LLVMValueRef size = LLVMBuildFDiv(g->b, lr, one_minus(g, b1t), "");
  LLVMValueRef bc2 = cg_call1(g, "llvm.sqrt", one_minus(g, b2t));
  return (AdamwScalars){LLVMBuildFPTrunc(g->b, keep, g->f32, "keep"),
                        LLVMBuildFPTrunc(g->b, size, g->f32, "step_size"),
                        LLVMBuildFPTrunc(g->b, bc2, g->f32, "bc2_sqrt")};
}

static void adamw(Cg *g, const Node *n) {
  const OptAttr *o = &n->attr.opt;
  int64_t size = ir_shape_elems(&n->out->shape);
  LLVMValueRef w = cg_tensor(g, n->in[0], NULL), gr = cg_tensor(g, n->in[1], NULL);
  LLVMValueRef m = cg_tensor(g, n->in[2], NULL), v = cg_tensor(g, n->in[3], NULL);
  AdamwScalars s = adamw_scalars(g, o);
  CgLoop l;
  LLVMValueRef i = cg_for(g, &l, size, "i");
  LLVMValueRef wv = cg_load(g, w, i), vv;
  if (o->weight_decay != 0)
    wv = cg_fmul(g, wv, s.keep);
  LLVMValueRef mv = moments(g, o, cg_load(g, gr, i), m, v, i, true, &vv);
  LLVMValueRef den = cg_fadd(g, cg_fdiv(g, cg_call1(g, "llvm.sqrt", vv),
                                        s.bc2_sqrt), cg_f32(g, o->eps));
  LLVMValueRef delta = cg_fmul(g, s.step_size, cg_fdiv(g, mv, den));
  cg_store(g, cg_fsub(g, wv, delta), w, i);
  cg_loop_end(g, &l);
}

static void sgd(Cg *g, const Node *n) {
  const OptAttr *o = &n->attr.opt;
  int64_t size = ir_shape_elems(&n->out->shape);
  LLVMValueRef w = cg_tensor(g, n->in[0], NULL), gr = cg_tensor(g, n->in[1], NULL);
  LLVMValueRef vel = n->nin == 3 ? cg_tensor(g, n->in[2], NULL) : NULL;
  CgLoop l;
  LLVMValueRef i = cg_for(g, &l, size, "i");
  LLVMValueRef wv = cg_load(g, w, i);
  LLVMValueRef d = decayed(g, o, cg_load(g, gr, i), wv);
  if (vel) {
    LLVMValueRef buf = cg_fma(g, g->momentum, cg_load(g, vel, i), d);
    cg_store(g, buf, vel, i);
    d = o->nesterov ? cg_fma(g, g->momentum, buf, d) : buf;
  }
  cg_store(g, cg_fsub(g, wv, cg_fmul(g, g->lr, d)), w, i);
  cg_loop_end(g, &l);
}

void cg_update(Cg *g, const Node *n) {
  if (n->op == OP_ADAM_UPDATE)
    adam(g, n);
  else if (n->op == OP_ADAMW_UPDATE)
    adamw(g, n);
  else if (n->op == OP_SGD_UPDATE)
    sgd(g, n);
  else
    unreachable();
}
