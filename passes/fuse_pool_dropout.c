/* fuse_pool_dropout.c - fuse-pool-dropout.
 *
 * Requires: nothing (shapes are kept if present).
 * Keeps: every shape; removes the dropout node.
 *
 * A pool followed by a dropout that is the pool's only user becomes one
 * pool_dropout, which pools a window and applies the mask while the value is
 * still in a register: one pass over memory instead of two, forward and
 * backward. */
#include "passes.h"

void pass_fuse_pool_dropout(Module *m) {
  for (int i = 0; i < m->nnodes; i++) {
    Node *pool = m->nodes[i];
    if (pool->dead || (pool->op != OP_MAXPOOL && pool->op != OP_AVGPOOL))
      continue;
    Node *drop = ir_sole_user(m, pool->out);
    if (!drop || drop->op != OP_DROPOUT)
      continue;
    pool->attr.pool.kind = pool->op == OP_MAXPOOL ? POOL_MAX : POOL_AVG;
    pool->attr.pool.dropout = drop->attr.dropout;
    pool->op = OP_POOL_DROPOUT;
    drop->dead = true;
    ir_replace_uses(m, drop->out, pool->out);
  }
  ir_sweep(m);
}
