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
 * The batch is cut into chunks (see choose_chunks), of at most
 * chunk_images images each, that threads process independently; the arena
 * planned here is one chunk's, and the code generator lays out one per
 * chunk. Each activation or activation gradient holds the chunk's images,
 * [chunk_images][elems], aligned to 64 bytes; parameter gradients hold one
 * copy and come last, in one contiguous region, so that the chunks' partial
 * gradients are summed by one loop in a fixed order: the same sums whatever
 * the number of threads. Forward tensors come first so that inference needs
 * only a prefix. Views (flatten and its gradient) and in-place updates
 * share their input's storage.
 *
 * Slices are reused by liveness: walking the chunk's nodes in order, a
 * tensor's slice returns to a free list once the last node that reads it
 * (or a view of it) has run, and each new tensor takes the first free
 * slice that fits. The model's output and the loss live to the end. */
#include "passes.h"

#include "../runtime/cnnrt.h"

enum { MAX_CHUNKS = CNN_CHUNK_GROUP };

static int64_t align_up(int64_t x) { return cnn_align_up(x); }

static bool is_view(const Node *n) {
  return ir_op_info(n->op)->flags & (OPF_VIEW | OPF_UPDATE);
}

static int64_t bytes_of(const Module *m, const Tensor *t) {
  int64_t copies = ir_tensor_per_image(t) ? m->chunk_images : 1;
  return align_up(ir_shape_elems(&t->shape) * ir_dtype_bytes(t->dtype) *
                  copies);
}

/* ---- the free list: holes in the arena, sorted by offset ---------------------- */

typedef struct Hole {
  int64_t offset, size;
} Hole;

typedef struct Heap {
  Hole *holes;
  int nholes;
  int64_t end; /* the arena so far */
} Heap;

static int64_t heap_take(Heap *h, int64_t size) {
  for (int i = 0; i < h->nholes; i++) {
    if (h->holes[i].size < size)
      continue;
    int64_t at = h->holes[i].offset;
    h->holes[i].offset += size;
    h->holes[i].size -= size;
    return at;
  }
  int64_t at = h->end;
  h->end += size;
  return at;
}

/* Puts [offset, offset + size) back, merging it with its neighbours. */
static void heap_give(Heap *h, int64_t offset, int64_t size) {
  int i = 0;
  while (i < h->nholes && h->holes[i].offset < offset)
    i++;
  for (int j = h->nholes; j > i; j--)
    h->holes[j] = h->holes[j - 1];
  h->holes[i] = (Hole){offset, size};
  h->nholes++;
  for (int j = h->nholes - 1; j > 0; j--) {
    Hole *a = &h->holes[j - 1], *b = &h->holes[j];
    if (a->offset + a->size != b->offset)
      continue;
    a->size += b->size;
    for (int k = j; k + 1 < h->nholes; k++)
      h->holes[k] = h->holes[k + 1];
    h->nholes--;
  }
}

/* ---- liveness ------------------------------------------------------------------------ */

typedef enum Stage { FORWARD, BACKWARD, PARAM_GRADS } Stage;

static Stage stage_of(const Node *n) {
  if (!(ir_op_info(n->op)->flags & (OPF_GRAD | OPF_UPDATE)))
    return FORWARD;
  return ir_op_is(n->op, OPF_PARAM_GRAD) ? PARAM_GRADS : BACKWARD;
}

/* The node whose slice holds t: views are followed to what they view. */
static int owner(const Module *m, const Tensor *t) {
  while (t->def && is_view(t->def) && !(ir_op_info(t->def->op)->flags & OPF_UPDATE))
    t = t->def->in[0];
  (void)m;
  return t->def ? t->def->index : -1;
}

/* last[i]: the last node that reads node i's slice; nnodes for the
 * output and the loss, which the caller reads after the chunk. */
static int *last_uses(Module *m) {
  int *last = arena_array(m->arena, (size_t)m->nnodes + 1, sizeof *last);
  for (int i = 0; i < m->nnodes; i++)
    last[i] = i;
  for (int j = 0; j < m->nnodes; j++)
    for (int k = 0; k < m->nodes[j]->nin; k++) {
      int o = owner(m, m->nodes[j]->in[k]);
      if (o >= 0 && last[o] < j)
        last[o] = j;
    }
  /* A chunk's partial sums are read by every chunk, some of which may run
   * ahead of it in a phase: they stay to the end. */
  for (int i = 0; i < m->nnodes; i++)
    if (ir_op_is(m->nodes[i]->op, OPF_BATCH_PARTIAL))
      last[i] = m->nnodes;
  if (m->output && owner(m, m->output) >= 0)
    last[owner(m, m->output)] = m->nnodes;
  if (m->loss && owner(m, m->loss) >= 0)
    last[owner(m, m->loss)] = m->nnodes;
  return last;
}

/* Activations and their gradients, by liveness; parameter gradients after
 * them, one contiguous region. */
/* dying[i]: the nodes whose slices are free once node i has run, as a
 * list threaded through next[] (-1 ends it). */
static void death_lists(Module *m, const int *last, int *dying, int *next) {
  for (int i = 0; i <= m->nnodes; i++)
    dying[i] = -1;
  for (int d = 0; d < m->nnodes; d++) {
    next[d] = dying[last[d]];
    dying[last[d]] = d;
  }
}

static bool owns_slice(const Node *n) {
  return stage_of(n) != PARAM_GRADS && !is_view(n);
}

static void place_values(Module *m) {
  int *last = last_uses(m);
  int *dying = arena_array(m->arena, (size_t)m->nnodes + 1, sizeof *dying);
  int *next = arena_array(m->arena, (size_t)m->nnodes + 1, sizeof *next);
  death_lists(m, last, dying, next);
  Heap h = {arena_array(m->arena, (size_t)m->nnodes + 1, sizeof(Hole)), 0, 0};
  for (int i = 0; i < m->nnodes; i++) {
    for (int d = i > 0 ? dying[i - 1] : -1; d >= 0; d = next[d])
      if (owns_slice(m->nodes[d]))
        heap_give(&h, m->nodes[d]->out->offset, bytes_of(m, m->nodes[d]->out));
    Node *n = m->nodes[i];
    Stage st = stage_of(n);
    if (is_view(n)) {
      n->out->buffer = n->in[0]->buffer;
      n->out->offset = n->in[0]->offset;
    } else if (st != PARAM_GRADS) {
      n->out->buffer = BUF_ARENA;
      n->out->offset = heap_take(&h, bytes_of(m, n->out));
      if (st == FORWARD && n->out->offset + bytes_of(m, n->out) > m->infer_arena_bytes)
        m->infer_arena_bytes = n->out->offset + bytes_of(m, n->out);
    }
  }
  m->grads_offset = m->train_arena_bytes = h.end;
  for (int i = 0; i < m->nnodes; i++) {
    Tensor *t = m->nodes[i]->out;
    if (stage_of(m->nodes[i]) == PARAM_GRADS && !is_view(m->nodes[i])) {
      t->buffer = BUF_ARENA;
      t->offset = m->train_arena_bytes;
      m->train_arena_bytes += bytes_of(m, t);
    }
  }
  m->grads_bytes = m->train_arena_bytes - m->grads_offset;
}

/* A trainer cuts a step as cnnrt.h's cnn_chunks does, whatever its batch
 * (so --accumulate's larger steps run slot by slot): a slot per chunk of
 * a batch, each with room for CNN_CHUNK_IMAGES. Inference alone cuts a
 * call into min(batch, MAX_CHUNKS) chunks of ceil(batch / chunks). */
static void choose_chunks(Module *m) {
  int64_t batch = m->has_train ? m->train.batch : 1;
  if (m->differentiated) {
    m->chunks = cnn_chunks(batch);
    m->chunk_images = CNN_CHUNK_IMAGES;
    return;
  }
  m->chunks = batch < MAX_CHUNKS ? batch : MAX_CHUNKS;
  m->chunk_images = (batch + m->chunks - 1) / m->chunks;
}

/* The trainable parameters first, then the buffers: the optimizer's
 * state mirrors the trainable prefix. */
static void place_params(Module *m, bool trainable) {
  for (int i = 0; i < m->ntensors; i++) {
    Tensor *t = m->tensors[i];
    if (t->kind != TK_PARAM || t->param.trainable != trainable)
      continue;
    t->buffer = BUF_PARAMS;
    t->offset = m->param_floats * 4;
    m->param_floats += ir_shape_elems(&t->shape) * ir_dtype_bytes(t->dtype) / 4;
  }
}

static void place_leaves(Module *m) {
  place_params(m, true);
  m->trainable_floats = m->param_floats;
  place_params(m, false);
  for (int i = 0; i < m->ntensors; i++) {
    Tensor *t = m->tensors[i];
    int64_t floats = ir_shape_elems(&t->shape);
    switch (t->kind) {
    case TK_INPUT: t->buffer = BUF_INPUT; t->offset = 0; break;
    case TK_LABELS: t->buffer = BUF_LABELS; t->offset = 0; break;
    case TK_PARAM: break;
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
  m->infer_arena_bytes = 0;
  choose_chunks(m);
  place_leaves(m);
  place_values(m);
}
