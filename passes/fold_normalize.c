/* fold_normalize.c - fold-normalize: the input's normalisation becomes
 * part of the first layer's weights, in an inference object with baked
 * weights.
 *
 * Requires: infer-shapes; an inference module with baked weights
 * (m->bake_weights); else it does nothing. Runs before fold-batchnorm,
 * whose fold then starts from the weights this one made.
 * Keeps: every shape; removes the normalize node. Where its only reader is
 * a conv2d with padding=valid and a bias, or a flatten whose only reader
 * is a dense with a bias, that layer reads the raw input instead:
 *
 *   %n = normalize %input {mean, std}     %c = conv2d %input, %c.weight,
 *   %c = conv2d %n, %c.weight, %c.bias  ==>          %c.bias {...}
 *
 * with, for every weight w of input channel ch and output o (ir_apply_folds),
 *   w' = w / std[ch];  b'[o] = b[o] - sum over o's weights of w mean[ch] / std[ch]
 * since sum w (x - mean) / std + b = sum w' x + b'. Padding of 'same'
 * would break the identity at the border (the zeros a conv pads with are
 * raw zeros, not normalised ones), so such a conv keeps the normalize. */
#include "passes.h"

static void record(Module *m, NormFold f) {
  if (m->nnorm_folds == m->cap_norm_folds) {
    int cap = m->cap_norm_folds ? 2 * m->cap_norm_folds : 4;
    NormFold *grown = arena_array(m->arena, (size_t)cap, sizeof *grown);
    for (int i = 0; i < m->nnorm_folds; i++)
      grown[i] = m->norm_folds[i];
    m->norm_folds = grown;
    m->cap_norm_folds = cap;
  }
  m->norm_folds[m->nnorm_folds++] = f;
}

/* The layer whose weights can take the fold, reading `t` as its input 0
 * (directly, or through a flatten); NULL when there is none. */
static Node *foldable_reader(const Module *m, const Tensor *t, Node **via) {
  Node *u = ir_sole_user(m, t);
  *via = NULL;
  if (u && u->op == OP_FLATTEN) {
    *via = u;
    u = ir_sole_user(m, u->out);
    if (u && u->op != OP_DENSE)
      return NULL;
  }
  if (!u || u->nin != 3 || u->in[0] != (*via ? (*via)->out : t))
    return NULL;
  if (u->op == OP_DENSE && *via)
    return u;
  if (u->op == OP_CONV2D && u->attr.conv.padding == PAD_VALID)
    return u;
  return NULL;
}

void pass_fold_normalize(Module *m) {
  if (!m->shaped || m->has_train || !m->bake_weights)
    return;
  for (int i = 0; i < m->nnodes; i++) {
    Node *n = m->nodes[i], *via;
    if (n->dead || n->op != OP_NORMALIZE)
      continue;
    Node *layer = foldable_reader(m, n->out, &via);
    if (!layer)
      continue;
    record(m, (NormFold){layer->in[1], layer->in[2], n->attr.norm});
    ir_replace_uses(m, n->out, n->in[0]);
    n->dead = true;
  }
  ir_sweep(m);
}
