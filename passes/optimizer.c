/* optimizer.c - appends the parameter updates.
 *
 * Requires: autodiff (every parameter has its gradient).
 * Keeps: everything; adds the optimizer's state tensors (TK_STATE) and one
 * update node per parameter, whose output is the parameter itself updated
 * in place (plan-memory gives it the parameter's storage).
 *
 *   adam:  g += wd w (L2, torch.optim.Adam's); m = b1 m + (1 - b1) g;
 *          v = b2 v + (1 - b2) g^2;
 *          w -= lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)
 *          (Keras's form: eps is added to sqrt(v) before the bias
 *          correction, codegen/cg_update.c)
 *   adamw: torch.optim.AdamW: w *= 1 - lr wd, then m and v as adam's,
 *          w -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 *   sgd:   g += wd w; v = momentum v + g; w -= lr v, or with nesterov
 *          w -= lr (g + momentum v)  (PyTorch's form; no v when momentum
 *          is 0)
 * decay_biases=false gives every vector (biases, batchnorm's weight and
 * bias) a weight decay of 0.
 * eps is Keras's 1e-7 by default, as the article used Keras; the step t
 * and the learning rate are run-time arguments of the train step.
 *
 * A batchnorm's running statistics are not trained but updated too, once a
 * step from the batch's statistics: one running_stats_update per batchnorm. */
#include "passes.h"

static Tensor *state(Module *m, const Tensor *p, const char *what) {
  const char *name = arena_printf(m->arena, "%s.%s", p->name, what);
  Tensor *t = ir_tensor_new(m, name, TK_STATE, DT_F32, p->loc);
  t->shape = p->shape;
  return t;
}

static void update(Module *m, Tensor *p) {
  const Optimizer *o = &m->train.opt;
  Tensor *in[4] = {p, p->grad, NULL, NULL};
  int nin = 2;
  Op op = OP_SGD_UPDATE;
  if (o->kind != OPT_SGD) {
    in[nin++] = state(m, p, "adam_m");
    in[nin++] = state(m, p, "adam_v");
    op = o->kind == OPT_ADAM ? OP_ADAM_UPDATE : OP_ADAMW_UPDATE;
  } else if (o->momentum > 0) {
    in[nin++] = state(m, p, "velocity");
  }
  const char *name = arena_printf(m->arena, "%s.updated", p->name);
  Node *n = ir_node_new(m, op, p->grad->def->layer, name, p->loc, in, nin);
  n->out->shape = p->shape;
  bool exempt = !o->decay_biases && p->param.kind == PARAM_VECTOR;
  n->attr.opt = (OptAttr){(float)o->momentum, (float)o->beta1,
                          (float)o->beta2, (float)o->eps,
                          exempt ? 0.0f : (float)o->weight_decay, o->nesterov};
}

static void update_running_stats(Module *m, const Node *bn) {
  Tensor *in[4] = {bn->in[3], bn->in[4], bn->in[5], bn->in[6]};
  const char *name = arena_printf(m->arena, "%s.updated", bn->in[3]->name);
  Node *n = ir_node_new(m, OP_RUNNING_STATS_UPDATE, bn->layer, name, bn->loc,
                        in, 4);
  n->out->shape = bn->in[3]->shape;
  n->attr.bn = bn->attr.bn;
}

static bool has_updates(const Module *m) {
  for (int i = 0; i < m->nnodes; i++)
    if (ir_op_info(m->nodes[i]->op)->flags & OPF_UPDATE)
      return true;
  return false;
}

void pass_optimizer(Module *m) {
  if (!m->differentiated || has_updates(m))
    return;
  int ntensors = m->ntensors;
  for (int i = 0; i < ntensors; i++) {
    Tensor *p = m->tensors[i];
    if (p->kind == TK_PARAM && p->grad)
      update(m, p);
  }
  int nnodes = m->nnodes;
  for (int i = 0; i < nnodes; i++)
    if (m->nodes[i]->op == OP_BATCHNORM && m->nodes[i]->nin == 7)
      update_running_stats(m, m->nodes[i]);
}
