/* fuse_act_bwd.c - fuse-conv-act-bwd: the activation's mask inside the
 * conv gradient kernels.
 *
 * Requires: autodiff (it rewrites the backward graph; without one it does
 * nothing).
 * Keeps: every shape; removes the act_bwd node.
 *
 * autodiff gives a conv with an activation an act_bwd node, dz = dy *
 * act'(y), that writes dz for the conv's three gradients to read. When
 * those are dz's only readers, each of them gets dy and y instead and
 * applies the mask as it reads, so dz is never stored:
 *
 *   %d.c.pre = act_bwd %d.c, %c {act=relu}
 *   %d.c.weight = conv2d_bwd_weight %x, %d.c.pre         %d.c.weight =
 *   %d.c.bias = conv2d_bwd_bias %d.c.pre          ==>      conv2d_bwd_weight
 *   %d.x = conv2d_bwd_data %d.c.pre, %w                    %x, %d.c, %c
 *                                                      ...
 * The act applied is the node's own attribute, set here from the act_bwd:
 * a standalone activation layer (fuse-conv-relu off) fuses the same way.
 * The code generator then sums the bias gradient inside the weight
 * gradient's kernel (cg_conv_fast.c), which reads the same dy and y. */
#include "passes.h"

static bool is_conv_grad(Op op) { return ir_op_is(op, OPF_MASKS_DY); }

/* Whether every reader of dz is a conv gradient that reads it as its dy
 * and has no mask of its own yet. */
static bool only_conv_grads_read(const Module *m, const Tensor *dz) {
  int readers = 0;
  for (int i = 0; i < m->nnodes; i++) {
    const Node *n = m->nodes[i];
    bool reads = false;
    for (int j = 0; j < n->nin; j++)
      reads |= n->in[j] == dz;
    if (!reads || n->dead)
      continue;
    const OpInfo *info = ir_op_info(n->op);
    if (!is_conv_grad(n->op) || n->nin != info->min_inputs ||
        n->in[ir_conv_grad_dy(n->op)] != dz)
      return false;
    for (int j = 0; j < n->nin; j++)
      if (j != ir_conv_grad_dy(n->op) && n->in[j] == dz)
        return false;
    readers++;
  }
  return readers > 0 && readers == ir_use_count(m, dz);
}

static void fuse(Module *m, Node *act_bwd) {
  Tensor *dz = act_bwd->out, *dy = act_bwd->in[0], *y = act_bwd->in[1];
  for (int i = 0; i < m->nnodes; i++) {
    Node *n = m->nodes[i];
    if (n->dead || !is_conv_grad(n->op) || n->in[ir_conv_grad_dy(n->op)] != dz)
      continue;
    n->in[ir_conv_grad_dy(n->op)] = dy;
    ir_node_add_input(m, n, y);
    n->attr.conv.act = act_bwd->attr.act_bwd;
  }
  /* dz was the gradient of a standalone activation's input: it is gone */
  for (int i = 0; i < m->ntensors; i++)
    if (m->tensors[i]->grad == dz)
      m->tensors[i]->grad = NULL;
  act_bwd->dead = true;
}

void pass_fuse_conv_act_bwd(Module *m) {
  for (int i = 0; i < m->nnodes; i++) {
    Node *n = m->nodes[i];
    if (!n->dead && n->op == OP_ACT_BWD && only_conv_grads_read(m, n->out))
      fuse(m, n);
  }
  ir_sweep(m);
}
