/* plan_memory.c - gives every tensor its place in a run-time buffer.
 *
 * Requires: infer-shapes; run it last (after autodiff and optimizer).
 * Keeps: the graph; sets Tensor.buffer and Tensor.offset and the module's
 * buffer sizes, so that a train step or an inference call allocates
 * nothing: the caller passes the parameter, state and arena buffers.
 *
 * Parameters and optimizer state are packed in creation order (floats, so
 * the runtime can address them as float arrays). In the arena each
 * activation or activation gradient holds the whole batch, [batch][elems],
 * aligned to 64 bytes; parameter gradients hold one copy. Forward tensors
 * come first so that inference needs only a prefix of the arena. Views
 * (flatten and its gradient) and in-place updates share their input's
 * storage.
 *
 * This plan gives every tensor its own slice; reusing slices of tensors
 * whose lifetimes do not overlap is the next step. */
#include "passes.h"

enum { ALIGN = 64 };

static int64_t align_up(int64_t x) { return (x + ALIGN - 1) / ALIGN * ALIGN; }

static bool is_view(const Node *n) {
  return n->op == OP_FLATTEN || n->op == OP_FLATTEN_BWD ||
         (ir_op_info(n->op)->flags & OPF_UPDATE);
}

static void place_arena(Module *m, Tensor *t, int64_t batch) {
  int64_t copies = ir_tensor_per_image(t) ? batch : 1;
  t->buffer = BUF_ARENA;
  t->offset = m->train_arena_bytes;
  m->train_arena_bytes += align_up(ir_shape_elems(&t->shape) * 4 * copies);
}

static void place_values(Module *m, bool backward) {
  for (int i = 0; i < m->nnodes; i++) {
    Node *n = m->nodes[i];
    bool is_bwd = ir_op_info(n->op)->flags & (OPF_GRAD | OPF_UPDATE);
    if (is_bwd != backward)
      continue;
    if (is_view(n)) {
      n->out->buffer = n->in[0]->buffer;
      n->out->offset = n->in[0]->offset;
    } else {
      place_arena(m, n->out, m->has_train ? m->train.batch : 1);
    }
  }
}

static void place_leaves(Module *m) {
  for (int i = 0; i < m->ntensors; i++) {
    Tensor *t = m->tensors[i];
    int64_t floats = ir_shape_elems(&t->shape);
    switch (t->kind) {
    case TK_INPUT: t->buffer = BUF_INPUT; t->offset = 0; break;
    case TK_LABELS: t->buffer = BUF_LABELS; t->offset = 0; break;
    case TK_PARAM:
      t->buffer = BUF_PARAMS;
      t->offset = m->param_floats * 4;
      m->param_floats += floats;
      break;
    case TK_STATE:
      t->buffer = BUF_STATE;
      t->offset = m->state_floats * 4;
      m->state_floats += floats;
      break;
    case TK_VALUE: break;
    }
  }
}

void pass_plan_memory(Module *m) {
  if (!m->shaped) {
    diag_tool_error(m->diag, "plan-memory needs the infer-shapes pass first");
    return;
  }
  m->param_floats = m->state_floats = m->train_arena_bytes = 0;
  place_leaves(m);
  place_values(m, false);
  m->infer_arena_bytes = m->train_arena_bytes;
  place_values(m, true);
}
