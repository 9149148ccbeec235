/* plan_memory.c - gives every tensor its place in a run-time buffer.
 *
 * Requires: infer-shapes; run it last (after autodiff and optimizer).
 * Keeps: the graph; sets Tensor.buffer and Tensor.offset and the module's
 * buffer sizes, so that a train step or an inference call allocates
 * nothing: the caller passes the parameter, state and arena buffers.
 *
 * Parameters and optimizer state are packed in creation order (floats, so
 * the runtime can address them as float arrays).
 *
 * The batch is cut into a fixed number of chunks (at most MAX_CHUNKS, of
 * chunk_images images each) that threads process independently; the arena
 * planned here is one chunk's, and the code generator lays out one per
 * chunk. Each activation or activation gradient holds the chunk's images,
 * [chunk_images][elems], aligned to 64 bytes; parameter gradients hold one
 * copy and come last, in one contiguous region, so that the chunks' partial
 * gradients are summed by one loop in a fixed order: the same sums whatever
 * the number of threads. Forward tensors come first so that inference needs
 * only a prefix. Views (flatten and its gradient) and in-place updates
 * share their input's storage.
 *
 * This plan gives every tensor its own slice; reusing slices of tensors
 * whose lifetimes do not overlap is the next step. */
#include "passes.h"

enum { ALIGN = 64, MAX_CHUNKS = 8 };

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

typedef enum Stage { FORWARD, BACKWARD, PARAM_GRADS } Stage;

static Stage stage_of(const Node *n) {
  if (!(ir_op_info(n->op)->flags & (OPF_GRAD | OPF_UPDATE)))
    return FORWARD;
  return ir_tensor_per_image(n->out) || is_view(n) ? BACKWARD : PARAM_GRADS;
}

static void place_values(Module *m, Stage stage) {
  for (int i = 0; i < m->nnodes; i++) {
    Node *n = m->nodes[i];
    if (stage_of(n) != stage)
      continue;
    if (is_view(n)) {
      n->out->buffer = n->in[0]->buffer;
      n->out->offset = n->in[0]->offset;
    } else {
      place_arena(m, n->out, m->chunk_images);
    }
  }
}

/* chunks = min(batch, MAX_CHUNKS); chunk_images = ceil(batch / chunks) */
static void choose_chunks(Module *m) {
  int64_t batch = m->has_train ? m->train.batch : 1;
  m->chunks = batch < MAX_CHUNKS ? batch : MAX_CHUNKS;
  m->chunk_images = (batch + m->chunks - 1) / m->chunks;
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
  choose_chunks(m);
  place_leaves(m);
  place_values(m, FORWARD);
  m->infer_arena_bytes = m->train_arena_bytes;
  place_values(m, BACKWARD);
  m->grads_offset = m->train_arena_bytes;
  place_values(m, PARAM_GRADS);
  m->grads_bytes = m->train_arena_bytes - m->grads_offset;
}
