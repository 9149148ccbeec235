/* suggest.c - "did you mean 'avgpool'?" by edit distance, for cnnc's
 * diagnostics and the trainers' options alike (libcnnrt builds it too). */
#include <string.h>

#include "suggest.h"

enum { MAX_WORD = 64 };

static int min3(int a, int b, int c) {
  int m = a < b ? a : b;
  return m < c ? m : c;
}

/* Levenshtein distance with one row of memory. */
static int edit_distance(const char *a, const char *b) {
  int la = (int)strlen(a), lb = (int)strlen(b);
  int row[MAX_WORD + 1];
  for (int j = 0; j <= lb; j++)
    row[j] = j;
  for (int i = 1; i <= la; i++) {
    int diag = row[0];
    row[0] = i;
    for (int j = 1; j <= lb; j++) {
      int up = row[j];
      row[j] = min3(row[j] + 1, row[j - 1] + 1,
                    diag + (a[i - 1] != b[j - 1]));
      diag = up;
    }
  }
  return row[lb];
}

const char *suggest(const char *word, const char *const *cands, int n) {
  if (strlen(word) > MAX_WORD)
    return NULL;
  const char *best = NULL;
  int best_d = 0;
  for (int i = 0; i < n; i++) {
    if (strlen(cands[i]) > MAX_WORD)
      continue;
    int d = edit_distance(word, cands[i]);
    int limit = (int)strlen(cands[i]) / 3 + 1;
    if (d <= limit && (!best || d < best_d)) {
      best = cands[i];
      best_d = d;
    }
  }
  return best;
}
