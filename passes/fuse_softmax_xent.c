/* fuse_softmax_xent.c - fuse-softmax-xent.
 *
 * Requires: nothing (shapes are kept if present).
 * Keeps: the softmax node, which stays the model's prediction; changes the
 * loss to read the logits.
 *
 *   %p = softmax %z                          %p = softmax %z
 *   %loss = cross_entropy %p, %labels  ==>   %loss = softmax_xent %z, %labels
 *
 * The fused loss is computed from the logits with log-sum-exp, so it cannot
 * take log(0), and its gradient is simply softmax(z) - onehot(label). */
#include "passes.h"

void pass_fuse_softmax_xent(Module *m) {
  for (int i = 0; i < m->nnodes; i++) {
    Node *loss = m->nodes[i];
    if (loss->op != OP_CROSS_ENTROPY)
      continue;
    Node *sm = loss->in[0]->def;
    if (!sm || sm->op != OP_SOFTMAX)
      continue;
    loss->op = OP_SOFTMAX_XENT;
    loss->in[0] = sm->in[0];
  }
}
