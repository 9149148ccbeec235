/* autodiff.c - appends the backward graph.
 *
 * Requires: infer-shapes (gradients take their shapes from the forward
 * tensors) and a loss (a train block). Without a loss it does nothing: an
 * inference-only module has no backward graph.
 * Keeps: the forward graph; adds one or more gradient nodes per forward
 * node, in reverse order, and sets Tensor.grad of every tensor that gets a
 * gradient. The model's input gets none: nothing consumes it.
 *
 *   %conv2d_2 = conv2d %conv2d_1, %w, %b {..., act=relu}
 * gives
 *   %d.conv2d_2.pre = act_bwd %d.conv2d_2, %conv2d_2 {act=relu}
 *   %d.conv2d_2.weight = conv2d_bwd_weight %conv2d_1, %d.conv2d_2.pre
 *   %d.conv2d_2.bias = conv2d_bwd_bias %d.conv2d_2.pre
 *   %d.conv2d_1 = conv2d_bwd_data %d.conv2d_2.pre, %w
 *
 * A tensor read by several nodes sums its gradients with `grad_sum`. */
#include "passes.h"

static Node *grad_node_n(Module *m, Op op, const Node *fwd, const char *name,
                         const Shape *shape, Tensor **in, int nin) {
  Node *n = ir_node_new(m, op, fwd->layer, name, fwd->loc, in, nin);
  n->out->shape = *shape;
  n->attr = fwd->attr;
  return n;
}

static Node *grad_node(Module *m, Op op, const Node *fwd, const char *name,
                       const Shape *shape, Tensor *a, Tensor *b) {
  Tensor *in[2] = {a, b};
  return grad_node_n(m, op, fwd, name, shape, in, b ? 2 : 1);
}

/* The name of the next part of t's gradient: d.X, then d.X.part,
 * d.X.part2, ... Named after t, not after the part: one tensor (add's dz)
 * can be a part of several gradients. */
static const char *part_name(Module *m, const Tensor *t, const char *tail) {
  int k = t->grad_parts;
  if (k == 0)
    return arena_printf(m->arena, "d.%s%s", t->name, tail);
  if (k == 1)
    return arena_printf(m->arena, "d.%s.part%s", t->name, tail);
  return arena_printf(m->arena, "d.%s.part%d%s", t->name, k, tail);
}

/* Records g as (a part of) t's gradient. */
static void accumulate(Module *m, const Node *fwd, Tensor *t, Tensor *g) {
  if (t->grad) {
    const char *name = part_name(m, t, ".sum");
    g = grad_node(m, OP_GRAD_SUM, fwd, name, &t->shape, t->grad, g)->out;
  }
  t->grad = g;
  t->grad_parts++;
}

static const char *grad_name(Module *m, const Tensor *t) {
  return part_name(m, t, "");
}

/* The input, its labels and the input normalised (a function of the input
 * alone) need no gradient: the first layer's backward-data is skipped. */
static bool needs_grad(const Tensor *x) {
  return x->kind != TK_INPUT && x->kind != TK_LABELS &&
         !(x->def && x->def->op == OP_NORMALIZE);
}

/* The gradient flowing into input i of fwd, computed by `op` from `in`;
 * NULL for the model's input, whose gradient nothing needs. */
static Node *grad_input_n(Module *m, const Node *fwd, int i, Op op,
                          Tensor **in, int nin) {
  Tensor *x = fwd->in[i];
  if (!needs_grad(x))
    return NULL;
  Node *n = grad_node_n(m, op, fwd, grad_name(m, x), &x->shape, in, nin);
  accumulate(m, fwd, x, n->out);
  return n;
}

static Node *grad_input(Module *m, const Node *fwd, int i, Op op, Tensor *a,
                        Tensor *b) {
  Tensor *in[2] = {a, b};
  return grad_input_n(m, fwd, i, op, in, b ? 2 : 1);
}

/* The gradient before the fused activation: dy * act'(y). */
static Tensor *pre_activation(Module *m, const Node *fwd, Activation act) {
  Tensor *dy = fwd->out->grad;
  if (act.kind == ACT_NONE)
    return dy;
  const char *name = arena_printf(m->arena, "d.%s.pre", fwd->out->name);
  Node *n = grad_node(m, OP_ACT_BWD, fwd, name, &fwd->out->shape, dy,
                      fwd->out);
  n->attr.act_bwd = act;
  return n->out;
}

/* conv2d and dense: weight, bias, then the input's gradient. */
static void grad_linear(Module *m, const Node *fwd, Activation act,
                        Op bwd_data, Op bwd_weight, Op bwd_bias) {
  Tensor *dz = pre_activation(m, fwd, act);
  grad_input(m, fwd, 1, bwd_weight, fwd->in[0], dz);
  if (fwd->nin == 3)
    grad_input(m, fwd, 2, bwd_bias, dz, NULL);
  grad_input(m, fwd, 0, bwd_data, dz, fwd->in[1]);
}

/* add: every input's gradient is dz itself */
static void grad_add(Module *m, const Node *fwd) {
  Tensor *dz = pre_activation(m, fwd, fwd->attr.join.act);
  for (int i = 0; i < fwd->nin; i++)
    if (needs_grad(fwd->in[i]))
      accumulate(m, fwd, fwd->in[i], dz);
}

/* concat: each input's channels of dy */
static void grad_concat(Module *m, const Node *fwd) {
  int first = 0;
  for (int i = 0; i < fwd->nin; i++) {
    const Shape *s = &fwd->in[i]->shape;
    int count = (int)s->dim[s->rank - 1];
    Node *g = grad_input(m, fwd, i, OP_CONCAT_BWD, fwd->out->grad, NULL);
    if (g)
      g->attr.slice = (SliceAttr){first, count};
    first += count;
  }
}

/* batchnorm in training (its 7th input is the batch's statistics): the
 * weight and bias gradients are the sums the input's gradient needs */
static void grad_batchnorm(Module *m, const Node *fwd) {
  Tensor *dz = pre_activation(m, fwd, fwd->attr.bn.act);
  Tensor *x = fwd->in[0], *weight = fwd->in[1], *stats = fwd->in[6];
  Tensor *win[3] = {x, dz, stats};
  Node *dw = grad_input_n(m, fwd, 1, OP_BATCHNORM_BWD_WEIGHT, win, 3);
  Node *db = grad_input(m, fwd, 2, OP_BATCHNORM_BWD_BIAS, dz, NULL);
  Tensor *din[6] = {dz, x, weight, stats, dw->out, db->out};
  grad_input_n(m, fwd, 0, OP_BATCHNORM_BWD_DATA, din, 6);
}

/* The softmax whose output is the prediction paired with this loss. */
static Tensor *softmax_of(const Module *m, const Tensor *logits) {
  for (int i = 0; i < m->nnodes; i++)
    if (m->nodes[i]->op == OP_SOFTMAX && m->nodes[i]->in[0] == logits)
      return m->nodes[i]->out;
  unreachable();
}

static void grad_node_of(Module *m, const Node *n) {
  Tensor *dy = n->out->grad;
  switch (n->op) {
  case OP_SOFTMAX_XENT:
    grad_input(m, n, 0, OP_SOFTMAX_XENT_BWD, softmax_of(m, n->in[0]), n->in[1]);
    return;
  case OP_CROSS_ENTROPY:
    grad_input(m, n, 0, OP_CROSS_ENTROPY_BWD, n->in[0], n->in[1]);
    return;
  case OP_CONV2D:
    grad_linear(m, n, n->attr.conv.act, OP_CONV2D_BWD_DATA,
                OP_CONV2D_BWD_WEIGHT, OP_CONV2D_BWD_BIAS);
    return;
  case OP_DENSE:
    grad_linear(m, n, n->attr.dense.act, OP_DENSE_BWD_DATA,
                OP_DENSE_BWD_WEIGHT, OP_DENSE_BWD_BIAS);
    return;
  case OP_MAXPOOL: grad_input(m, n, 0, OP_MAXPOOL_BWD, dy, n->in[0]); return;
  case OP_AVGPOOL: grad_input(m, n, 0, OP_AVGPOOL_BWD, dy, NULL); return;
  case OP_POOL_DROPOUT:
    grad_input(m, n, 0, OP_POOL_DROPOUT_BWD, dy, n->in[0]);
    return;
  case OP_DROPOUT: grad_input(m, n, 0, OP_DROPOUT_BWD, dy, NULL); return;
  case OP_FLATTEN: grad_input(m, n, 0, OP_FLATTEN_BWD, dy, NULL); return;
  case OP_SOFTMAX: grad_input(m, n, 0, OP_SOFTMAX_BWD, dy, n->out); return;
  case OP_GLOBAL_MAXPOOL:
    grad_input(m, n, 0, OP_GLOBAL_MAXPOOL_BWD, dy, n->in[0]);
    return;
  case OP_GLOBAL_AVGPOOL:
    grad_input(m, n, 0, OP_GLOBAL_AVGPOOL_BWD, dy, NULL);
    return;
  case OP_ADD: grad_add(m, n); return;
  case OP_CONCAT: grad_concat(m, n); return;
  case OP_BATCHNORM: grad_batchnorm(m, n); return;
  case OP_RELU:
  case OP_LEAKY_RELU:
  case OP_SIGMOID:
  case OP_TANH: {
    Node *g = grad_input(m, n, 0, OP_ACT_BWD, dy, n->out);
    if (g)
      g->attr.act_bwd = ir_op_act(n);
    return;
  }
  case OP_NORMALIZE:   /* needs_grad: none */
  case OP_CONV2D_BN:   /* inference only */
  case OP_BATCH_STATS: /* the batchnorm's gradient accounts for them */
  case OP_ACT_BWD:
  case OP_SOFTMAX_BWD:
  case OP_CROSS_ENTROPY_BWD:
  case OP_SOFTMAX_XENT_BWD:
  case OP_CONV2D_BWD_DATA:
  case OP_CONV2D_BWD_WEIGHT:
  case OP_CONV2D_BWD_BIAS:
  case OP_DENSE_BWD_DATA:
  case OP_DENSE_BWD_WEIGHT:
  case OP_DENSE_BWD_BIAS:
  case OP_MAXPOOL_BWD:
  case OP_AVGPOOL_BWD:
  case OP_GLOBAL_MAXPOOL_BWD:
  case OP_GLOBAL_AVGPOOL_BWD:
  case OP_POOL_DROPOUT_BWD:
  case OP_DROPOUT_BWD:
  case OP_FLATTEN_BWD:
  case OP_CONCAT_BWD:
  case OP_BATCHNORM_BWD_WEIGHT:
  case OP_BATCHNORM_BWD_BIAS:
  case OP_BATCHNORM_BWD_DATA:
  case OP_GRAD_SUM:
  case OP_SGD_UPDATE:
  case OP_ADAM_UPDATE:
  case OP_ADAMW_UPDATE:
  case OP_RUNNING_STATS_UPDATE:
  case OP_COUNT:
    break;
  }
  unreachable();
}

void pass_autodiff(Module *m) {
  if (!m->loss || m->differentiated)
    return;
  if (!m->shaped) {
    diag_tool_error(m->diag, "autodiff needs the infer-shapes pass first");
    return;
  }
  int nforward = m->nnodes;
  for (int i = nforward - 1; i >= 0; i--) {
    Node *n = m->nodes[i];
    bool is_loss = ir_op_info(n->op)->flags & OPF_LOSS;
    if (is_loss || n->out->grad)
      grad_node_of(m, n);
  }
  m->differentiated = true;
}
