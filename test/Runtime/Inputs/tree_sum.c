/* tree_sum.c - checks gradsum.c's order: the sum of c chunks is the same
 * bits whichever way the chunks are shared out (processes: contiguous
 * shares whose subtrees are added first; passes: aligned blocks of a
 * power of two), and every pass block is a node of the tree. Prints one
 * line per property and exits 1 on the first failure. */
#include "runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { FLOATS = 37, MAXC = 200 };

static float data[MAXC][FLOATS], work[MAXC][FLOATS];

static uint64_t state = 12345;
static float noise(void) { /* values of many magnitudes: rounding shows */
  state = state * 6364136223846793005u + 1442695040888963407u;
  int e = (int)(state >> 60) - 8;
  float m = (float)((state >> 20) & 0xffffff) / 16777216.0f - 0.5f;
  return m * (float)(1 << (e + 8)) / 256.0f;
}

/* the whole tree from single chunks */
static void reference(int64_t c, float *out) {
  memcpy(work, data, sizeof work);
  CnnTreeSum t = {&work[0][0], FLOATS, 0, NULL, 0};
  cnn_tree_sum(&t, 0, c, 0, FLOATS);
  memcpy(out, work[0], FLOATS * sizeof(float));
}

/* n ranks: each adds its pieces, then the pieces are added */
static void shared(int64_t c, int64_t n, float *out) {
  memcpy(work, data, sizeof work);
  CnnNode pieces[4 * MAXC];
  int64_t np = 0;
  for (int64_t r = 0; r < n; r++) {
    int64_t before = np;
    np = cnn_tree_pieces(0, c, cnn_share(c, n, r), cnn_share(c, n, r + 1), pieces, np);
    CnnTreeSum own = {&work[0][0], FLOATS, 0, NULL, 0};
    for (int64_t i = before; i < np; i++)
      cnn_tree_sum(&own, pieces[i].lo, pieces[i].hi, 0, FLOATS);
  }
  CnnTreeSum all = {&work[0][0], FLOATS, 0, pieces, np};
  cnn_tree_sum(&all, 0, c, 0, FLOATS);
  memcpy(out, work[0], FLOATS * sizeof(float));
}

/* every node of at most p chunks met going down is a pass block */
static int blocks_ok(int64_t lo, int64_t hi, int64_t c, int64_t p) {
  if (!cnn_tree_has_node(c, lo, hi))
    return 0;
  if (hi - lo <= p)
    return lo % p == 0 && hi == (lo + p < c ? lo + p : c);
  int64_t s = cnn_tree_split(lo, hi);
  return blocks_ok(lo, s, c, p) && blocks_ok(s, hi, c, p);
}

int main(void) {
  for (int k = 0; k < MAXC; k++)
    for (int i = 0; i < FLOATS; i++)
      data[k][i] = noise();
  float ref[FLOATS], got[FLOATS];
  for (int64_t c = 1; c <= MAXC; c++) {
    reference(c, ref);
    for (int64_t n = 1; n <= 9 && n <= c + 2; n++) {
      shared(c, n, got);
      if (memcmp(ref, got, sizeof ref)) {
        printf("FAIL: %lld chunks over %lld ranks differ\n", (long long)c,
               (long long)n);
        return 1;
      }
    }
    for (int64_t p = 1; p <= 64; p *= 2)
      if (!blocks_ok(0, c, c, p)) {
        printf("FAIL: %lld chunks in passes of %lld\n", (long long)c,
               (long long)p);
        return 1;
      }
  }
  /* the order matters at all: a running sum differs somewhere */
  int differs = 0;
  for (int64_t c = 3; c <= MAXC && !differs; c++) {
    reference(c, ref);
    float run[FLOATS] = {0};
    for (int64_t k = 0; k < c; k++)
      for (int i = 0; i < FLOATS; i++)
        run[i] += data[k][i];
    differs = memcmp(ref, run, sizeof ref) != 0;
  }
  printf("shares: same bits for 1..200 chunks over 1..9 ranks\n");
  printf("passes: every block of 1..64 chunks is a node\n");
  printf("order: %s\n", differs ? "a running sum rounds otherwise" : "FAIL");
  return differs ? 0 : 1;
}
