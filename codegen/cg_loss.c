/* cg_loss.c - cross-entropy, fused with softmax or not, and its gradient.
 *
 * The forward adds each image's loss to the caller's *loss_sum (a double,
 * so that an epoch's sum loses nothing) and counts the images whose
 * arg-max is the label in *correct. The gradient carries the 1/n of the
 * batch mean. Probabilities are clamped at 1e-7 before a log or a division,
 * as Keras does.
 *
 * With label_smoothing = e (torch.nn.CrossEntropyLoss's), the target is
 * q = (1 - e) onehot + e / K over the K classes:
 *   loss = (1 - e) (-log p[label]) + e (-sum_c log p_c) / K
 * in that order, as PyTorch adds them, and the gradients are p - q (from
 * the logits) and -q / p. */
#include "cg.h"

static LLVMValueRef label_of(Cg *g, const Node *n, LLVMValueRef b) {
  LLVMValueRef p = cg_tensor(g, n->in[1], b);
  LLVMValueRef l = LLVMBuildLoad2(g->b, g->i32, p, "label");
  return LLVMBuildSExt(g->b, l, g->i64, "");
}

static LLVMValueRef clamp_prob(Cg *g, LLVMValueRef p) {
  LLVMValueRef lo = cg_f32(g, 1e-7);
  LLVMValueRef small = LLVMBuildFCmp(g->b, LLVMRealOLT, p, lo, "");
  return LLVMBuildSelect(g->b, small, lo, p, "");
}

static float smoothing(const Cg *g) {
  return (float)g->m->train.label_smoothing;
}

/* sum_c f(x_c) over the k values at x, f: -x or -log(clamp(x)) */
static LLVMValueRef sum_over(Cg *g, LLVMValueRef x, int64_t k, bool logs) {
  LLVMValueRef sum = cg_var(g, g->f32, cg_f32(g, 0), "sum");
  CgLoop l;
  LLVMValueRef c = cg_for(g, &l, k, "c");
  LLVMValueRef v = cg_load(g, x, c);
  if (logs)
    v = cg_call1(g, "llvm.log", clamp_prob(g, v));
  LLVMBuildStore(g->b, cg_fadd(g, LLVMBuildLoad2(g->b, g->f32, sum, ""), v),
                 sum);
  cg_loop_end(g, &l);
  return LLVMBuildLoad2(g->b, g->f32, sum, "");
}

/* (1 - e) nll + e smooth, where smooth = -(sum of `terms`) / k */
static LLVMValueRef smoothed(Cg *g, LLVMValueRef nll, LLVMValueRef smooth) {
  float e = smoothing(g);
  return cg_fadd(g, cg_fmul(g, cg_f32(g, 1 - (double)e), nll),
                 cg_fmul(g, cg_f32(g, e), smooth));
}

/* log(sum e^(z - max)) + max - z[label] */
static LLVMValueRef xent_from_logits(Cg *g, LLVMValueRef z, int64_t k,
                                     LLVMValueRef label) {
  LLVMValueRef m = cg_var(g, g->f32, cg_load(g, z, cg_i64(g, 0)), "max");
  LLVMValueRef sum = cg_var(g, g->f32, cg_f32(g, 0), "sum");
  CgLoop l1, l2;
  LLVMValueRef i = cg_for(g, &l1, k, "i");
  LLVMValueRef v = cg_load(g, z, i), cur = LLVMBuildLoad2(g->b, g->f32, m, "");
  LLVMValueRef gt = LLVMBuildFCmp(g->b, LLVMRealOGT, v, cur, "");
  LLVMBuildStore(g->b, LLVMBuildSelect(g->b, gt, v, cur, ""), m);
  cg_loop_end(g, &l1);
  LLVMValueRef mx = LLVMBuildLoad2(g->b, g->f32, m, "");
  LLVMValueRef j = cg_for(g, &l2, k, "j");
  LLVMValueRef ex = cg_call1(g, "llvm.exp", cg_fsub(g, cg_load(g, z, j), mx));
  LLVMBuildStore(g->b, cg_fadd(g, LLVMBuildLoad2(g->b, g->f32, sum, ""), ex),
                 sum);
  cg_loop_end(g, &l2);
  LLVMValueRef lse = cg_fadd(
      g, cg_call1(g, "llvm.log", LLVMBuildLoad2(g->b, g->f32, sum, "")), mx);
  LLVMValueRef nll = cg_fsub(g, lse, cg_load(g, z, label));
  if (smoothing(g) == 0)
    return nll;
  /* -sum_c log p_c / k = lse - sum_c z_c / k */
  LLVMValueRef mean_z = cg_fdiv(g, sum_over(g, z, k, false), cg_f32(g, (double)k));
  return smoothed(g, nll, cg_fsub(g, lse, mean_z));
}

/* -log p[label], smoothed: from probabilities */
static LLVMValueRef xent_from_probs(Cg *g, LLVMValueRef p, int64_t k,
                                    LLVMValueRef label) {
  LLVMValueRef nll = LLVMBuildFNeg(
      g->b, cg_call1(g, "llvm.log", clamp_prob(g, cg_load(g, p, label))), "");
  if (smoothing(g) == 0)
    return nll;
  LLVMValueRef logs = sum_over(g, p, k, true);
  return smoothed(g, nll, cg_fdiv(g, LLVMBuildFNeg(g->b, logs, ""),
                                  cg_f32(g, (double)k)));
}

static void add_to(Cg *g, LLVMValueRef slot, LLVMTypeRef t, LLVMValueRef v) {
  LLVMValueRef old = LLVMBuildLoad2(g->b, t, slot, "");
  LLVMValueRef sum = t == g->f64 ? LLVMBuildFAdd(g->b, old, v, "")
                                 : LLVMBuildAdd(g->b, old, v, "");
  LLVMBuildStore(g->b, sum, slot);
}

/* softmax_xent (inputs z, labels) and cross_entropy (inputs p, labels) */
void cg_loss(Cg *g, const Node *n) {
  int64_t k = ir_shape_elems(&n->in[0]->shape);
  CgLoop lb;
  LLVMValueRef b = cg_loop_begin(g, &lb, g->n, "b");
  LLVMValueRef in = cg_tensor(g, n->in[0], b);
  LLVMValueRef label = label_of(g, n, b);
  LLVMValueRef loss = n->op == OP_SOFTMAX_XENT
                          ? xent_from_logits(g, in, k, label)
                          : xent_from_probs(g, in, k, label);
  LLVMBuildStore(g->b, loss, cg_tensor(g, n->out, b));
  add_to(g, g->loss_sum, g->f64, LLVMBuildFPExt(g->b, loss, g->f64, ""));
  LLVMValueRef hit = LLVMBuildICmp(g->b, LLVMIntEQ, cg_argmax(g, in, k), label, "");
  add_to(g, g->correct, g->i64, LLVMBuildZExt(g->b, hit, g->i64, ""));
  cg_loop_end(g, &lb);
}

/* softmax_xent_bwd: (p - q) / n; cross_entropy_bwd: -q / (p n), q the
 * target (onehot, or smoothed).
 * Inputs p, labels. */
void cg_loss_bwd(Cg *g, const Node *n) {
  int64_t k = ir_shape_elems(&n->out->shape);
  LLVMValueRef inv_n = cg_fdiv(g, cg_f32(g, 1),
                               LLVMBuildSIToFP(g->b, g->batch_n, g->f32, ""));
  CgLoop lb, lo;
  LLVMValueRef b = cg_loop_begin(g, &lb, g->n, "b");
  LLVMValueRef p = cg_tensor(g, n->in[0], b), d = cg_tensor(g, n->out, b);
  LLVMValueRef label = label_of(g, n, b);
  LLVMValueRef o = cg_for(g, &lo, k, "o");
  LLVMValueRef is = LLVMBuildICmp(g->b, LLVMIntEQ, o, label, "");
  LLVMValueRef onehot = LLVMBuildUIToFP(g->b, is, g->f32, "");
  float e = smoothing(g);
  if (e != 0) /* the smoothed target q */
    onehot = cg_fadd(g, cg_fmul(g, cg_f32(g, 1 - (double)e), onehot),
                     cg_f32(g, (double)e / (double)k));
  LLVMValueRef pv = cg_load(g, p, o), v;
  if (n->op == OP_SOFTMAX_XENT_BWD)
    v = cg_fmul(g, cg_fsub(g, pv, onehot), inv_n);
  else
    v = cg_fmul(g, LLVMBuildFNeg(g->b, onehot, ""),
                cg_fdiv(g, inv_n, clamp_prob(g, pv)));
  cg_store(g, v, d, o);
  cg_loop_end(g, &lo);
  cg_loop_end(g, &lb);
}
