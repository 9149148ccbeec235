/* fold_batchnorm.c - fold-batchnorm: a batchnorm after a conv2d, in an
 * inference module, becomes part of the conv.
 *
 * Requires: infer-shapes; an inference module (the batchnorm uses its
 * running statistics; in training it needs the batch's); else it does
 * nothing.
 * Keeps: every shape; removes the batchnorm and gives its activation to
 * the conv. With baked weights (m->bake_weights) the fold is in the
 * weights: it records a BnFold that ir_apply_folds applies to them,
 *
 *   %c = conv2d %x, %c.weight {...}                 %c = conv2d %x, %c.weight,
 *   %bn = batchnorm %c, %bn.weight, ... {act=relu}  ==>   %bn.bias {..., act=relu}
 *
 * so the object computes y = act(x (*) w' + b'), w' = w s and b' = beta +
 * (b - mean) s, s = gamma / sqrt(var + eps): nothing is left of the
 * batchnorm. Weights set at run time cannot be changed here, so the conv
 * becomes a conv2d_bn, which computes s and the shift from the batchnorm's
 * parameters once a call and applies them in its epilogue, in the same
 * pass over memory. */
#include "passes.h"

static void record(Module *m, BnFold f) {
  if (m->nfolds == m->cap_folds) {
    int cap = m->cap_folds ? 2 * m->cap_folds : 8;
    BnFold *grown = arena_array(m->arena, (size_t)cap, sizeof *grown);
    for (int i = 0; i < m->nfolds; i++)
      grown[i] = m->folds[i];
    m->folds = grown;
    m->cap_folds = cap;
  }
  m->folds[m->nfolds++] = f;
}

/* baked weights: into the weights */
static void fold_weights(Module *m, Node *conv, Node *bn) {
  Tensor *conv_bias = conv->nin == 3 ? conv->in[2] : NULL;
  BnFold f = {conv->in[1], conv_bias ? conv_bias : bn->in[2], conv_bias,
              bn->in[1], bn->in[2], bn->in[3], bn->in[4], bn->attr.bn.eps};
  if (!conv_bias) {
    ir_node_add_input(m, conv, bn->in[2]);
    conv->attr.conv.bias = true;
  }
  conv->attr.conv.act = bn->attr.bn.act;
  record(m, f);
  bn->dead = true;
  ir_replace_uses(m, bn->out, conv->out);
}

/* weights at run time: conv2d_bn x, w, gamma, beta, mean, var[, b] */
static void fold_epilogue(Module *m, Node *conv, Node *bn) {
  Tensor *bias = conv->nin == 3 ? conv->in[2] : NULL;
  conv->nin = 2;
  for (int i = 1; i <= 4; i++)
    ir_node_add_input(m, conv, bn->in[i]);
  if (bias)
    ir_node_add_input(m, conv, bias);
  conv->op = OP_CONV2D_BN;
  conv->attr.conv.act = bn->attr.bn.act;
  conv->attr.conv.eps = bn->attr.bn.eps;
  bn->dead = true;
  ir_replace_uses(m, bn->out, conv->out);
}

void pass_fold_batchnorm(Module *m) {
  if (!m->shaped || m->has_train)
    return;
  for (int i = 0; i < m->nnodes; i++) {
    Node *conv = m->nodes[i];
    if (conv->dead || conv->op != OP_CONV2D ||
        conv->attr.conv.act.kind != ACT_NONE)
      continue;
    Node *bn = ir_sole_user(m, conv->out);
    if (!bn || bn->op != OP_BATCHNORM || bn->nin != 6 || bn->in[0] != conv->out)
      continue;
    if (m->bake_weights)
      fold_weights(m, conv, bn);
    else
      fold_epilogue(m, conv, bn);
  }
  ir_sweep(m);
}
