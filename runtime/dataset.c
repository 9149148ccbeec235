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
#include <string.h>

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

/* Value v of image k as the model reads it: byte / 255, or the float. */
static float value(const CnnSet *s, int64_t k, int64_t v) {
  int64_t at = k * s->pixels + v;
  if (s->type == CNN_PIXELS_F32)
    return ((const float *)s->images)[at];
  return (float)((const uint8_t *)s->images)[at] / 255.0f;
}

static void convert(const CnnSet *s, int64_t k, float *dst) {
  if (s->type == CNN_PIXELS_F32) {
    memcpy(dst, (const float *)s->images + k * s->pixels,
           (size_t)s->pixels * sizeof *dst);
    return;
  }
  for (int64_t v = 0; v < s->pixels; v++)
    dst[v] = value(s, k, v);
}

/* A draw in [-shift, shift]; the modulus is biased by at most its span /
 * 2^64: below 2^-52 for the largest move the language allows (1,024). */
static int64_t draw_shift(const CnnAugment *a, uint64_t stream, uint64_t at) {
  uint64_t span = 2 * (uint64_t)a->shift + 1;
  return (int64_t)(cnn_random(a->seed, stream, at) % span) - a->shift;
}

/* Image k moved by (dy, dx) with zeros coming in, then mirrored, as
 * cnnrt.h's augmentation stream defines it. */
static void augment(const CnnSet *s, const CnnAugment *a, int64_t k,
                    float *dst) {
  uint64_t stream = CNN_STREAM_AUGMENT + (uint64_t)a->epoch;
  uint64_t at = 4 * (uint64_t)k;
  int64_t dy = a->shift ? draw_shift(a, stream, at) : 0;
  int64_t dx = a->shift ? draw_shift(a, stream, at + 1) : 0;
  bool flip = a->flip && cnn_random(a->seed, stream, at + 2) >> 63;
  int64_t h = s->h, w = s->w, c = s->c;
  for (int64_t y = 0; y < h; y++)
    for (int64_t x = 0; x < w; x++) {
      int64_t sy = y + dy, sx = (flip ? w - 1 - x : x) + dx;
      float *out = dst + (y * w + x) * c;
      bool inside = sy >= 0 && sy < h && sx >= 0 && sx < w;
      for (int64_t ch = 0; ch < c; ch++)
        out[ch] = inside ? value(s, k, (sy * w + sx) * c + ch) : 0.0f;
    }
}

void cnn_gather(const CnnSet *s, const int64_t *order, int64_t first,
                int64_t n, const CnnAugment *aug, float *images,
                int32_t *labels) {
  bool moves = aug && (aug->shift > 0 || aug->flip);
  for (int64_t b = 0; b < n; b++) {
    int64_t k = order ? order[first + b] : first + b;
    float *dst = images + b * s->pixels;
    if (moves)
      augment(s, aug, k, dst);
    else
      convert(s, k, dst);
    labels[b] = s->labels[k];
  }
}
