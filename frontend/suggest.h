/* suggest.h - "did you mean 'avgpool'?": shared by the compiler and the
 * trainers' runtime, which builds suggest.c into libcnnrt too. */
#ifndef CNNC_SUGGEST_H
#define CNNC_SUGGEST_H

/* The closest candidate within a small edit distance, or NULL. */
const char *suggest(const char *word, const char *const *cands, int n);

#endif
