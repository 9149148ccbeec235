/* cg_eval_fold.c - a trainer's inference function runs each conv2d that a
 * batchnorm follows as one conv2d_bn kernel.
 *
 * In training a batchnorm needs its conv's output (the batch's statistics,
 * the gradients); evaluating, it only scales and shifts it with the running
 * statistics. So the inference function (validation, test) runs the pair
 * as a conv2d_bn (cg_conv.c) that writes the batchnorm's output, and no
 * batchnorm kernel, the same fold inference objects get from the
 * fold-batchnorm pass. The conv's own output is then never written: in
 * the forward graph only the batchnorm reads it. The batchnorm's output
 * cannot share the conv input's memory: in a trainer that input lives on
 * until the conv's weight gradient reads it. */
#include "cg.h"

/* The batchnorm that is the only forward reader of conv's output (batch
 * statistics and gradients aside), or NULL. */
static const Node *batchnorm_after(const Module *m, const Node *conv) {
  if (conv->op != OP_CONV2D || conv->attr.conv.act.kind != ACT_NONE ||
      m->output == conv->out || !m->differentiated)
    return NULL;
  const Node *bn = NULL;
  for (int i = 0; i < m->nnodes; i++) {
    const Node *n = m->nodes[i];
    for (int j = 0; j < n->nin && cg_is_forward(n); j++) {
      if (n->in[j] != conv->out)
        continue;
      if (n->op != OP_BATCHNORM || j != 0 || bn)
        return NULL;
      bn = n;
    }
  }
  return bn;
}

bool cg_eval_fold(const Module *m, const Node *conv, Node *out,
                  Tensor **in) {
  const Node *bn = batchnorm_after(m, conv);
  if (!bn)
    return false;
  *out = *conv;
  out->op = OP_CONV2D_BN;
  in[0] = conv->in[0];
  in[1] = conv->in[1];
  for (int i = 1; i <= 4; i++)
    in[1 + i] = bn->in[i]; /* gamma, beta, mean, var */
  out->nin = 6;
  if (conv->nin == 3)
    in[out->nin++] = conv->in[2];
  out->in = in;
  out->out = bn->out;
  out->attr.conv.act = bn->attr.bn.act;
  out->attr.conv.eps = bn->attr.bn.eps;
  return true;
}

bool cg_eval_folded(const Module *m, const Node *n) {
  if (n->op != OP_BATCHNORM || n->in[0]->def == NULL)
    return false;
  return batchnorm_after(m, n->in[0]->def) == n;
}
