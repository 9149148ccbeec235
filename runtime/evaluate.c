/* evaluate.c - loss and accuracy of the generated inference over a range
 * of a data set (validation each epoch, test at the end), and for the test
 * the confusion matrix that --report and the end of a run show.
 *
 * The loss is Keras's categorical cross-entropy of the probabilities:
 * clipped to [1e-7, 1 - 1e-7] first so that one confidently wrong image
 * gives a large but finite loss rather than log(0). */
#include "runtime.h"

#include <math.h>

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

CnnScore cnn_evaluate_confusion(const CnnModel *m, const float *params,
                                const CnnEvalBuffers *b, const CnnSet *s,
                                int64_t first, int64_t count,
                                int64_t *confusion) {
  int64_t k = m->num_classes;
  double loss = 0;
  int64_t right = 0;
  for (int64_t at = 0; at < count; at += m->batch) {
    int64_t n = count - at < m->batch ? count - at : m->batch;
    cnn_gather(s, NULL, first + at, n, NULL, b->images, b->labels);
    m->infer(params, b->images, b->probs, n, b->arena);
    for (int64_t i = 0; i < n; i++) {
      const float *p = b->probs + i * k;
      int64_t guess = argmax(p, k);
      loss += cross_entropy(p, b->labels[i]);
      right += guess == b->labels[i];
      if (confusion) /* one well-predicted branch: no cost when NULL */
        confusion[b->labels[i] * k + guess]++;
    }
  }
  if (count == 0)
    return (CnnScore){0, 0};
  return (CnnScore){loss / (double)count, (double)right / (double)count};
}

CnnScore cnn_evaluate(const CnnModel *m, const float *params,
                      const CnnEvalBuffers *b, const CnnSet *s, int64_t first,
                      int64_t count) {
  return cnn_evaluate_confusion(m, params, b, s, first, count, NULL);
}
