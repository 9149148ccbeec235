/* step.c - one training step: the generated gradients of a step's chunks,
 * their sum in gradsum.c's fixed order, and the generated update.
 *
 * A step of n images has c = cnn_chunks(n) chunks. They run in passes of
 * at most the arena's slots: one pass when c fits (a batch), else passes
 * of P chunks, P the largest power of two that fits (--accumulate's
 * larger steps). A pass of P aligned chunks is a node of the sum's tree,
 * so the passes' sums add up to the same bits as one pass would. (A model
 * with more than one phase, batchnorm's, needs every chunk's statistics
 * at once: its steps must fit one pass; cnn_stepper_create says so.)
 *
 * With several processes (an MPI job) each takes a contiguous share of a
 * pass's chunks and computes their gradients with its threads; after
 * each phase the tensors a later phase reads in every slot (the model's
 * `exchanges`) go to every process. Then each process adds its share's
 * subtrees, and the gradient, cut in one slice per process, is summed
 * slice by slice: every process sends each slice of its subtrees to the
 * slice's owner, which adds them as the tree says (a reduce-scatter);
 * the owners' sums go to everyone (an allgather). Every process then
 * applies the same update to the same weights. The bytes a process sends
 * per pass: (N-1)/N of the gradient per subtree it holds (one or two at
 * most a few), and (N-1)/N of it again for the allgather. */
#include "runtime.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "comm.h"

enum { SUM_SLICES = 16 }; /* the pool's jobs when adding a gradient */

struct CnnStepper {
  const CnnModel *m;
  int rank, ranks;
  int64_t pass_chunks;   /* P */
  float *images;         /* a pass's share: chunk_slots x CNN_CHUNK_IMAGES */
  int32_t *labels;
  int64_t *bounds;       /* chunk_slots + 1 */
  double *loss;          /* per slot */
  int64_t *correct;
  CnnNode *pieces;       /* every rank's subtrees of a pass */
  int64_t *piece_rank;
  float **partial;       /* --accumulate: a pass's sum, per tree level */
  int depth;
  CnnTransfer *sends, *recvs;
  int64_t cap_transfers;
};

static int64_t floor_pow2(int64_t v) {
  int64_t p = 1;
  while (p * 2 <= v)
    p *= 2;
  return p;
}

/* the first float of rank r's slice of the gradient (whole cache lines) */
static int64_t slice_start(const CnnStepper *s, int r) {
  int64_t lines = (s->m->grads + 15) / 16;
  int64_t at = 16 * cnn_share(lines, s->ranks, r);
  return at < s->m->grads ? at : s->m->grads;
}

static float *slot_grads(const CnnStepper *s, void *arena, int64_t slot) {
  char *p = (char *)arena + slot * s->m->chunk_stride + s->m->grads_offset;
  return (float *)(void *)p;
}

/* ---- adding gradients on the pool --------------------------------------- */

typedef struct SumJob {
  CnnTreeSum tree;
  const CnnNode *nodes; /* the nodes to add, each over [from, to) */
  int64_t nnodes;
  int64_t from, to;
} SumJob;

static void sum_slice(void *ctx, int64_t i) {
  const SumJob *j = ctx;
  int64_t lines = (j->to - j->from + 15) / 16;
  int64_t a = j->from + 16 * cnn_share(lines, SUM_SLICES, i);
  int64_t b = j->from + 16 * cnn_share(lines, SUM_SLICES, i + 1);
  if (b > j->to)
    b = j->to;
  for (int64_t k = 0; k < j->nnodes && a < b; k++)
    cnn_tree_sum(&j->tree, j->nodes[k].lo, j->nodes[k].hi, a, b);
}

static void sum_nodes(SumJob *j) { cnn_parallel_for(sum_slice, j, SUM_SLICES); }

/* ---- creation ----------------------------------------------------------- */

static int tree_depth(int64_t chunks, int64_t pass) {
  int d = 1;
  for (int64_t c = pass; c < chunks; c *= 2)
    d++;
  return d;
}

static bool fits_one_pass(const CnnModel *m, int64_t most) {
  if (m->train_phases <= 1 || cnn_chunks(most) <= m->chunk_slots)
    return true;
  cnn_error("a step of %" PRId64 " images is %" PRId64 " chunks, more than "
            "the %" PRId64 " this trainer's arena holds at once, and the "
            "model's batchnorm needs the statistics of the whole step at "
            "once: accumulate fewer images (--accumulate), or compile the "
            "model with batch = %" PRId64, most, cnn_chunks(most),
            m->chunk_slots, most);
  return false;
}

CnnStepper *cnn_stepper_create(const CnnModel *m, int64_t most,
                               int64_t pixels) {
  if (!fits_one_pass(m, most))
    return NULL;
  CnnStepper *s = calloc(1, sizeof *s);
  if (!s) {
    cnn_error("out of memory");
    return NULL;
  }
  int64_t slots = m->chunk_slots, chunks = cnn_chunks(most);
  *s = (CnnStepper){.m = m, .rank = cnn_comm_rank(), .ranks = cnn_comm_size()};
  s->pass_chunks = chunks <= slots ? chunks : floor_pow2(slots);
  s->depth = tree_depth(chunks, s->pass_chunks);
  int64_t images = slots * CNN_CHUNK_IMAGES;
  bool ok = true;
  s->images = cnn_alloc_zeroed(images * pixels, sizeof(float), &ok);
  s->labels = cnn_alloc_zeroed(images, sizeof(int32_t), &ok);
  s->bounds = cnn_alloc_zeroed(slots + 1, sizeof(int64_t), &ok);
  s->loss = cnn_alloc_zeroed(slots, sizeof(double), &ok);
  s->correct = cnn_alloc_zeroed(slots, sizeof(int64_t), &ok);
  s->pieces = cnn_alloc_zeroed(2 * slots, sizeof(CnnNode), &ok);
  s->piece_rank = cnn_alloc_zeroed(2 * slots, sizeof(int64_t), &ok);
  s->partial = cnn_alloc_zeroed(s->depth, sizeof(float *), &ok);
  int64_t slice = slice_start(s, s->rank + 1) - slice_start(s, s->rank);
  for (int d = 0; ok && s->pass_chunks < chunks && d < s->depth; d++)
    s->partial[d] = cnn_alloc_zeroed(slice, sizeof(float), &ok);
  /* the most of one exchange: every slot's every tensor to every rank */
  s->cap_transfers = (2 * slots + 2) * (m->num_exchanges + 2) * s->ranks;
  s->sends = cnn_alloc_zeroed(s->cap_transfers, sizeof(CnnTransfer), &ok);
  s->recvs = cnn_alloc_zeroed(s->cap_transfers, sizeof(CnnTransfer), &ok);
  if (!ok) {
    cnn_error("out of memory");
    cnn_stepper_free(s);
    return NULL;
  }
  return s;
}

void cnn_stepper_free(CnnStepper *s) {
  if (!s)
    return;
  free(s->images);
  free(s->labels);
  free(s->bounds);
  free(s->loss);
  free(s->correct);
  free(s->pieces);
  free(s->piece_rank);
  for (int d = 0; s->partial && d < s->depth; d++)
    free(s->partial[d]);
  free(s->partial);
  free(s->sends);
  free(s->recvs);
  free(s);
}

/* ---- a pass ----------------------------------------------------------------- */

typedef struct Pass {
  const CnnStepArgs *a;
  int64_t chunks;     /* of the step */
  int64_t p0, p1;     /* the pass's chunks */
  int64_t own0, own1; /* this rank's */
  int64_t npieces;
  int64_t mine0, mine1; /* this rank's pieces among them */
} Pass;

static int64_t owner_of_chunk(const CnnStepper *s, const Pass *p, int64_t k) {
  for (int r = 0; r < s->ranks; r++)
    if (k < p->p0 + cnn_share(p->p1 - p->p0, s->ranks, r + 1))
      return r;
  return s->ranks - 1;
}

typedef struct Transfers {
  CnnStepper *s;
  int64_t nsends, nrecvs;
} Transfers;

static void add_transfer(Transfers *t, bool send, int peer, int tag,
                         void *data, int64_t bytes) {
  int64_t *n = send ? &t->nsends : &t->nrecvs;
  if (*n >= t->s->cap_transfers || bytes <= 0)
    abort(); /* the capacity is counted at creation: a bug */
  (send ? t->s->sends : t->s->recvs)[(*n)++] =
      (CnnTransfer){peer, tag % 32768, data, bytes};
}

static void run_transfers(const Transfers *t) {
  cnn_comm_exchange(t->s->sends, t->nsends, t->s->recvs, t->nrecvs);
}

/* every slot's [offset, offset + bytes) from its chunk's rank to all */
static void share_slots(Transfers *t, const Pass *p, void *arena,
                        int64_t offset, int64_t bytes, int tag0) {
  CnnStepper *s = t->s;
  for (int64_t k = p->p0; k < p->p1; k++) {
    int q = (int)owner_of_chunk(s, p, k);
    void *at = (char *)arena + (k - p->p0) * s->m->chunk_stride + offset;
    for (int r = 0; r < s->ranks; r++)
      if (q == s->rank && r != s->rank)
        add_transfer(t, true, r, tag0 + (int)(k - p->p0), at, bytes);
      else if (q != s->rank && r == q)
        add_transfer(t, false, q, tag0 + (int)(k - p->p0), at, bytes);
  }
}

/* the per-slot losses and counts of the pass, from each chunk's rank:
 * a rank's chunks are consecutive, so two messages per pair of ranks */
static void share_outputs(CnnStepper *s, const Pass *p) {
  Transfers t = {s, 0, 0};
  int64_t cnt = p->p1 - p->p0;
  for (int r = 0; r < s->ranks; r++) {
    int64_t a = cnn_share(cnt, s->ranks, r), b = cnn_share(cnt, s->ranks, r + 1);
    int64_t mine = p->own0 - p->p0, n = p->own1 - p->own0;
    if (r == s->rank)
      continue;
    if (n > 0) {
      add_transfer(&t, true, r, 0, &s->loss[mine], n * (int64_t)sizeof(double));
      add_transfer(&t, true, r, 1, &s->correct[mine], n * (int64_t)sizeof(int64_t));
    }
    if (b > a) {
      add_transfer(&t, false, r, 0, &s->loss[a], (b - a) * (int64_t)sizeof(double));
      add_transfer(&t, false, r, 1, &s->correct[a], (b - a) * (int64_t)sizeof(int64_t));
    }
  }
  run_transfers(&t);
}

static void run_phases(CnnStepper *s, const Pass *p) {
  const CnnModel *m = s->m;
  const CnnStepArgs *a = p->a;
  int64_t count = p->own1 - p->own0, skip = p->own0 - p->p0;
  void *arena = (char *)a->arena + skip * m->chunk_stride;
  for (int64_t phase = 0; phase < m->train_phases; phase++) {
    if (count > 0)
      m->gradients(a->params, s->images, s->labels, s->bounds, p->own0, count,
                   a->n, p->chunks, phase, arena, a->step, a->seed,
                   s->loss + skip, s->correct + skip);
    Transfers t = {s, 0, 0}; /* the phase's tensors, in one exchange */
    for (int64_t e = 0; s->ranks > 1 && e < m->num_exchanges; e++)
      if (m->exchanges[e].phase == phase)
        share_slots(&t, p, a->arena, m->exchanges[e].offset,
                    m->exchanges[e].bytes, (int)(e * m->chunk_slots));
    run_transfers(&t);
  }
}

/* every rank's subtrees of the pass, in chunk order */
static void find_pieces(CnnStepper *s, Pass *p) {
  p->npieces = 0;
  for (int r = 0; r < s->ranks; r++) {
    int64_t a = p->p0 + cnn_share(p->p1 - p->p0, s->ranks, r);
    int64_t b = p->p0 + cnn_share(p->p1 - p->p0, s->ranks, r + 1);
    int64_t before = p->npieces;
    p->npieces = cnn_tree_pieces(p->p0, p->p1, a, b, s->pieces, p->npieces);
    for (int64_t i = before; i < p->npieces; i++)
      s->piece_rank[i] = r;
    if (r == s->rank) {
      p->mine0 = before;
      p->mine1 = p->npieces;
    }
  }
}

/* the pass's gradient sum: in slot 0, over this rank's slice */
static void sum_pass(CnnStepper *s, const Pass *p) {
  void *arena = p->a->arena;
  /* this rank's subtrees, each from its leaves, over the whole gradient */
  SumJob own = {{slot_grads(s, arena, 0), s->m->chunk_stride / 4, p->p0,
                 NULL, 0}, s->pieces + p->mine0, p->mine1 - p->mine0, 0,
                s->m->grads};
  sum_nodes(&own);
  if (s->ranks == 1)
    return;
  int64_t f0 = slice_start(s, s->rank), f1 = slice_start(s, s->rank + 1);
  Transfers t = {s, 0, 0};
  for (int64_t i = 0; i < p->npieces; i++) {
    float *g = slot_grads(s, arena, s->pieces[i].lo - p->p0);
    int q = (int)s->piece_rank[i];
    for (int r = 0; r < s->ranks; r++) {
      int64_t a = slice_start(s, r), b = slice_start(s, r + 1);
      if (q == s->rank && r != s->rank && b > a)
        add_transfer(&t, true, r, (int)i, g + a, (b - a) * 4);
    }
    if (q != s->rank && f1 > f0)
      add_transfer(&t, false, q, (int)i, g + f0, (f1 - f0) * 4);
  }
  run_transfers(&t);
  SumJob all = {{slot_grads(s, arena, 0), s->m->chunk_stride / 4, p->p0,
                 s->pieces, p->npieces}, &(CnnNode){p->p0, p->p1}, 1, f0, f1};
  sum_nodes(&all);
}

static void run_pass(CnnStepper *s, Pass *p) {
  const CnnStepArgs *a = p->a;
  int64_t cnt = p->p1 - p->p0;
  p->own0 = p->p0 + cnn_share(cnt, s->ranks, s->rank);
  p->own1 = p->p0 + cnn_share(cnt, s->ranks, s->rank + 1);
  for (int64_t k = p->own0; k <= p->own1; k++)
    s->bounds[k - p->own0] = cnn_chunk_first(a->n, k);
  int64_t first = s->bounds[0];
  if (p->own1 > p->own0)
    a->gather(a->gather_ctx, first, s->bounds[p->own1 - p->own0] - first,
              s->images, s->labels);
  memset(s->loss, 0, (size_t)cnt * sizeof *s->loss);
  memset(s->correct, 0, (size_t)cnt * sizeof *s->correct);
  run_phases(s, p);
  find_pieces(s, p);
  sum_pass(s, p);
  if (s->ranks > 1)
    share_outputs(s, p);
  for (int64_t i = 0; i < cnt; i++) { /* in chunk order */
    *a->loss_sum += s->loss[i];
    *a->correct += s->correct[i];
  }
}

/* ---- the step --------------------------------------------------------------- */

/* node [lo, hi)'s sum over this rank's slice into partial[d] */
static void sum_passes(CnnStepper *s, Pass *p, int64_t lo, int64_t hi, int d) {
  int64_t f0 = slice_start(s, s->rank), f1 = slice_start(s, s->rank + 1);
  if (hi - lo <= s->pass_chunks) {
    p->p0 = lo;
    p->p1 = hi;
    run_pass(s, p);
    memcpy(s->partial[d], slot_grads(s, p->a->arena, 0) + f0,
           (size_t)(f1 - f0) * sizeof(float));
    return;
  }
  int64_t mid = cnn_tree_split(lo, hi);
  sum_passes(s, p, lo, mid, d);
  sum_passes(s, p, mid, hi, d + 1);
  float *restrict left = s->partial[d];
  const float *restrict right = s->partial[d + 1];
  for (int64_t i = 0; i < f1 - f0; i++)
    left[i] += right[i];
}

/* slot 0's gradient: every rank's slice from its owner */
static void gather_slices(CnnStepper *s, void *arena) {
  Transfers t = {s, 0, 0};
  float *g = slot_grads(s, arena, 0);
  int64_t f0 = slice_start(s, s->rank), f1 = slice_start(s, s->rank + 1);
  for (int r = 0; r < s->ranks; r++) {
    int64_t a = slice_start(s, r), b = slice_start(s, r + 1);
    if (r == s->rank)
      continue;
    if (f1 > f0)
      add_transfer(&t, true, r, 0, g + f0, (f1 - f0) * 4);
    if (b > a)
      add_transfer(&t, false, r, 0, g + a, (b - a) * 4);
  }
  run_transfers(&t);
}

void cnn_step(CnnStepper *s, const CnnStepArgs *a) {
  const CnnModel *m = s->m;
  int64_t chunks = cnn_chunks(a->n);
  Pass p = {.a = a, .chunks = chunks};
  if (chunks <= m->chunk_slots) {
    p.p0 = 0;
    p.p1 = chunks;
    run_pass(s, &p);
  } else {
    int64_t f0 = slice_start(s, s->rank), f1 = slice_start(s, s->rank + 1);
    sum_passes(s, &p, 0, chunks, 0);
    memcpy(slot_grads(s, a->arena, 0) + f0, s->partial[0],
           (size_t)(f1 - f0) * sizeof(float));
  }
  if (s->ranks > 1)
    gather_slices(s, a->arena);
  m->update(a->params, a->opt_state, a->arena, a->n, chunks, a->step, a->lr,
            a->momentum);
}

/* ---- one step on arrays (tests, and programs of their own) ------------------ */

typedef struct ArrayGather {
  const float *images;
  const int32_t *labels;
  int64_t pixels;
} ArrayGather;

static void gather_arrays(void *ctx, int64_t first, int64_t count,
                          float *images, int32_t *labels) {
  const ArrayGather *g = ctx;
  memcpy(images, g->images + first * g->pixels,
         (size_t)(count * g->pixels) * sizeof(float));
  memcpy(labels, g->labels + first, (size_t)count * sizeof(int32_t));
}

bool cnn_train_step(const CnnModel *m, float *params, float *opt_state,
                    const float *images, const int32_t *labels, int64_t n,
                    void *arena, int64_t step, uint64_t seed, float lr,
                    float momentum, double *loss_sum, int64_t *correct) {
  int64_t pixels = m->input_h * m->input_w * m->input_c;
  if (n < 1) {
    cnn_error("a training step needs at least 1 image, not %" PRId64, n);
    return false;
  }
  CnnStepper *s = cnn_stepper_create(m, n, pixels);
  if (!s)
    return false;
  ArrayGather g = {images, labels, pixels};
  CnnStepArgs a = {params, opt_state, arena, n, gather_arrays, &g, step,
                   seed, lr, momentum, loss_sum, correct};
  cnn_step(s, &a);
  cnn_stepper_free(s);
  return true;
}
