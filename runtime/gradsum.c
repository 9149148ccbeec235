/* gradsum.c - the fixed order in which a step's chunk gradients are added.
 *
 * The chunks' partial gradients are added pairwise, over a tree that
 * depends only on the number of chunks c: the sum of chunks [lo, hi) is
 * the sum of [lo, s) plus the sum of [s, hi), s = lo + the largest power
 * of two below hi - lo. Whoever adds a node, a thread, a process or a
 * later pass of --accumulate, adds the same two floats, so the step's
 * gradient is the same bits at any thread count, process count and pass
 * size. A tree rather than a running sum lets a process add its own
 * chunks before it sends them (their subtrees): it sends a few node sums
 * rather than every chunk's. (Pairwise summation is also the more
 * accurate: its error grows with log c, not c.)
 *
 * Node [lo, hi)'s sum is kept in the slot of chunk lo. */
#include "runtime.h"

/* the first chunk of [lo, hi)'s right subtree */
static int64_t split_of(int64_t lo, int64_t hi) {
  int64_t half = 1;
  while (half * 2 < hi - lo)
    half *= 2;
  return lo + half;
}

int64_t cnn_tree_pieces(int64_t lo, int64_t hi, int64_t a, int64_t b,
                        CnnNode *out, int64_t count) {
  if (b <= lo || a >= hi || a >= b)
    return count;
  if (a <= lo && hi <= b) {
    out[count] = (CnnNode){lo, hi};
    return count + 1;
  }
  int64_t s = split_of(lo, hi);
  count = cnn_tree_pieces(lo, s, a, b, out, count);
  return cnn_tree_pieces(s, hi, a, b, out, count);
}

static bool is_piece(const CnnTreeSum *t, int64_t lo, int64_t hi) {
  if (hi - lo == 1)
    return true;
  for (int64_t i = 0; i < t->npieces; i++)
    if (t->pieces[i].lo == lo && t->pieces[i].hi == hi)
      return true;
  return false;
}

static float *slot_of(const CnnTreeSum *t, int64_t chunk) {
  return t->slot0 + (chunk - t->first) * t->stride;
}

static void add_node(const CnnTreeSum *t, int64_t lo, int64_t hi,
                     int64_t from, int64_t to) {
  if (is_piece(t, lo, hi))
    return;
  int64_t s = split_of(lo, hi);
  add_node(t, lo, s, from, to);
  add_node(t, s, hi, from, to);
  float *restrict left = slot_of(t, lo);
  const float *restrict right = slot_of(t, s);
  for (int64_t i = from; i < to; i++)
    left[i] += right[i];
}

void cnn_tree_sum(const CnnTreeSum *t, int64_t lo, int64_t hi, int64_t from,
                  int64_t to) {
  add_node(t, lo, hi, from, to);
}

bool cnn_tree_has_node(int64_t c, int64_t lo, int64_t hi) {
  int64_t l = 0, h = c;
  while (h - l > 1 && !(l == lo && h == hi)) {
    int64_t s = split_of(l, h);
    if (hi <= s)
      h = s;
    else if (lo >= s)
      l = s;
    else
      return false;
  }
  return l == lo && h == hi;
}

int64_t cnn_tree_split(int64_t lo, int64_t hi) { return split_of(lo, hi); }
