/* dataset.c - which images train and validate, in what order, in batches.
 *
 * As Keras's validation_split: the LAST images of the training file are the
 * validation set (`validation` of them, or that fraction of the file), and
 * the ones before it train. `--limit N` trains on the first N of those, so
 * that it means what it says: N training images, whatever `validation`
 * is, validated on the same images as a run without it. Each epoch's order
 * is a Fisher-Yates shuffle of the identity driven by cnn_random(seed,
 * 2^62 + epoch, i): a pure function of (seed, epoch), so any epoch's order
 * can be recomputed without replaying the ones before it. */
#include "runtime.h"

#include <inttypes.h>

static int64_t held_out(int64_t n, const CnnOptions *o) {
  if (o->validation_frac > 0) /* Keras: split_at = int(n * (1 - split)) */
    return n - (int64_t)((double)n * (1.0 - o->validation_frac));
  return o->validation;
}

bool cnn_split(int64_t available, const CnnOptions *o, CnnSplit *out) {
  int64_t validation = held_out(available, o);
  if (validation >= available) {
    cnn_error("the training file has %" PRId64 " images: too few to hold out %"
              PRId64 " for validation and train on the rest; lower "
              "--validation", available, validation);
    return false;
  }
  int64_t before = available - validation;
  if (o->limit > before) {
    cnn_error("--limit %" PRId64 ": the training file has %" PRId64 " images"
              " before the %" PRId64 " held out for validation (%" PRId64
              " in all); lower --limit or --validation", o->limit, before,
              validation, available);
    return false;
  }
  *out = (CnnSplit){.train = o->limit > 0 ? o->limit : before,
                    .validation = validation, .validation_first = before};
  return true;
}

/* j = r mod (i + 1) is biased by at most (i + 1) / 2^64: nothing next to
 * the 2^32 images an IDX file can hold. */
void cnn_shuffle(int64_t *order, int64_t n, uint64_t seed, int64_t epoch) {
  uint64_t stream = CNN_STREAM_SHUFFLE + (uint64_t)epoch;
  for (int64_t i = 0; i < n; i++)
    order[i] = i;
  for (int64_t i = n - 1; i > 0; i--) {
    int64_t j = (int64_t)(cnn_random(seed, stream, (uint64_t)i) %
                          (uint64_t)(i + 1));
    int64_t t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
}

void cnn_gather(const CnnSet *s, const int64_t *order, int64_t first,
                int64_t n, float *images, int32_t *labels) {
  for (int64_t b = 0; b < n; b++) {
    int64_t k = order ? order[first + b] : first + b;
    const uint8_t *src = s->images + k * s->pixels;
    float *dst = images + b * s->pixels;
    for (int64_t p = 0; p < s->pixels; p++)
      dst[p] = (float)src[p] / 255.0f;
    labels[b] = s->labels[k];
  }
}
