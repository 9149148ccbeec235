/* evaluate.c - loss and accuracy of the generated inference over a range
 * of a data set (validation each epoch, test at the end), and for the test
 * the confusion matrix that --report and the end of a run show.
 *
 * The loss is Keras's categorical cross-entropy of the probabilities:
 * clipped to [1e-7, 1 - 1e-7] first so that one confidently wrong image
 * gives a large but finite loss rather than log(0). */
#include "runtime.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>

#include "comm.h"

#define EPSILON 1e-7

static double cross_entropy(const float *probs, int32_t label) {
  double p = probs[label];
  p = p < EPSILON ? EPSILON : p > 1 - EPSILON ? 1 - EPSILON : p;
  return -log(p);
}

/* the first of equal maxima, as numpy's argmax */
static int64_t argmax(const float *v, int64_t n) {
  int64_t best = 0;
  for (int64_t k = 1; k < n; k++)
    if (v[k] > v[best])
      best = k;
  return best;
}

/* block j of the range: up to a batch of images, inferred in one call */
typedef struct Block {
  double loss; /* summed over its images, in order */
  int64_t right;
} Block;

static Block score_block(const CnnModel *m, const float *params,
                         const CnnEvalBuffers *b, const CnnSet *s,
                         int64_t first, int64_t n, int64_t *confusion) {
  int64_t k = m->num_classes;
  Block out = {0, 0};
  cnn_gather(s, NULL, first, n, NULL, b->images, b->labels);
  m->infer(params, b->images, b->probs, n, b->arena);
  for (int64_t i = 0; i < n; i++) {
    const float *p = b->probs + i * k;
    int64_t guess = argmax(p, k);
    out.loss += cross_entropy(p, b->labels[i]);
    out.right += guess == b->labels[i];
    if (confusion) /* one well-predicted branch: no cost when NULL */
      confusion[b->labels[i] * k + guess]++;
  }
  return out;
}

/* mid-run, with every process of a job waiting for this one: the run
 * cannot go on (the last checkpoint stays) */
static void out_of_memory(int64_t count) {
  cnn_error("out of memory for the scores of %" PRId64 " images", count);
  cnn_error_own();
  exit(1);
}

/* every rank's blocks to every rank, and the confusion matrices to rank 0
 * (which alone reports them) */
static void share_scores(const CnnModel *m, Block *blocks, int64_t nblocks,
                         int64_t *confusion, int64_t *theirs) {
  int ranks = cnn_comm_size(), me = cnn_comm_rank();
  CnnTransfer *send = calloc(2 * (size_t)ranks, sizeof *send);
  CnnTransfer *recv = calloc(2 * (size_t)ranks, sizeof *recv);
  if (!send || !recv)
    out_of_memory(nblocks * m->batch);
  int64_t ns = 0, nr = 0, cells = m->num_classes * m->num_classes;
  int64_t a = cnn_share(nblocks, ranks, me), b = cnn_share(nblocks, ranks, me + 1);
  for (int r = 0; r < ranks; r++) {
    int64_t ra = cnn_share(nblocks, ranks, r), rb = cnn_share(nblocks, ranks, r + 1);
    if (r == me)
      continue;
    if (b > a)
      send[ns++] = (CnnTransfer){r, 0, blocks + a, (b - a) * (int64_t)sizeof *blocks};
    if (rb > ra)
      recv[nr++] = (CnnTransfer){r, 0, blocks + ra, (rb - ra) * (int64_t)sizeof *blocks};
    if (confusion && me != 0 && r == 0)
      send[ns++] = (CnnTransfer){0, 1, confusion, cells * 8};
    if (confusion && me == 0)
      recv[nr++] = (CnnTransfer){r, 1, theirs + (r - 1) * cells, cells * 8};
  }
  cnn_comm_exchange(send, ns, recv, nr);
  free(send);
  free(recv);
  for (int r = 1; confusion && me == 0 && r < ranks; r++)
    for (int64_t i = 0; i < cells; i++)
      confusion[i] += theirs[(r - 1) * cells + i];
}

/* The range in blocks of a batch; in a job of several processes each
 * scores a share of the blocks, and the blocks' sums are added in block
 * order, so every process gets the same loss (patience and --save-best
 * decide alike) whatever the number of processes. */
CnnScore cnn_evaluate_confusion(const CnnModel *m, const float *params,
                                const CnnEvalBuffers *b, const CnnSet *s,
                                int64_t first, int64_t count,
                                int64_t *confusion) {
  int64_t nblocks = (count + m->batch - 1) / m->batch;
  int ranks = cnn_comm_size(), me = cnn_comm_rank();
  int64_t cells = m->num_classes * m->num_classes;
  Block *blocks = calloc((size_t)nblocks + 1, sizeof *blocks);
  int64_t *theirs = ranks > 1 && confusion && me == 0
                        ? calloc((size_t)((ranks - 1) * cells), 8) : NULL;
  if (!blocks || (ranks > 1 && confusion && me == 0 && !theirs))
    out_of_memory(count);
  for (int64_t j = cnn_share(nblocks, ranks, me); j < cnn_share(nblocks, ranks, me + 1);
       j++) {
    int64_t at = j * m->batch;
    int64_t n = count - at < m->batch ? count - at : m->batch;
    blocks[j] = score_block(m, params, b, s, first + at, n, confusion);
  }
  if (ranks > 1)
    share_scores(m, blocks, nblocks, confusion, theirs);
  double loss = 0;
  int64_t right = 0;
  for (int64_t j = 0; j < nblocks; j++) {
    loss += blocks[j].loss;
    right += blocks[j].right;
  }
  free(blocks);
  free(theirs);
  if (count == 0)
    return (CnnScore){0, 0};
  return (CnnScore){loss / (double)count, (double)right / (double)count};
}

CnnScore cnn_evaluate(const CnnModel *m, const float *params,
                      const CnnEvalBuffers *b, const CnnSet *s, int64_t first,
                      int64_t count) {
  return cnn_evaluate_confusion(m, params, b, s, first, count, NULL);
}
