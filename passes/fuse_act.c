/* fuse_act.c - fuse-conv-relu, fuse-dense-act, fuse-add-act and
 * fuse-batchnorm-act.
 *
 * Requires: nothing (shapes are kept if present).
 * Keeps: every shape; removes the activation node.
 *
 * An elementwise activation whose input is a conv2d or dense output used by
 * nothing else becomes that op's `act`, so the code generator applies it in
 * the op's epilogue (forward) and as a mask in its gradient (backward),
 * without a round trip of the whole tensor through memory:
 *
 *   %conv2d_1 = conv2d %input, %w, %b {...}          %conv2d_1 = conv2d %input,
 *   %conv2d_1.relu = relu %conv2d_1          ==>         %w, %b {..., act=relu}
 *
 * Softmax is not elementwise (its gradient couples the whole row), so it is
 * left alone; fuse-softmax-xent handles the softmax that matters. */
#include "passes.h"

static void fuse_activations_into(Module *m, Op producer) {
  for (int i = 0; i < m->nnodes; i++) {
    Node *p = m->nodes[i];
    if (p->dead || p->op != producer)
      continue;
    Activation *slot = ir_act_slot(p);
    if (slot->kind != ACT_NONE)
      continue;
    Node *act = ir_sole_user(m, p->out);
    unsigned need = OPF_ELEMENTWISE | OPF_ACTIVATION;
    if (!act || (ir_op_info(act->op)->flags & need) != need)
      continue;
    *slot = ir_op_act(act);
    act->dead = true;
    ir_replace_uses(m, act->out, p->out);
  }
  ir_sweep(m);
}

void pass_fuse_conv_relu(Module *m) { fuse_activations_into(m, OP_CONV2D); }

void pass_fuse_dense_act(Module *m) { fuse_activations_into(m, OP_DENSE); }

void pass_fuse_add_act(Module *m) { fuse_activations_into(m, OP_ADD); }

void pass_fuse_batchnorm_act(Module *m) {
  fuse_activations_into(m, OP_BATCHNORM);
}
