/* stread.h - reading a safetensors file: the one reader of cnnc (--infer
 * --weights) and of the trainers (--resume, --init).
 *
 * The format: 8 bytes little-endian N, N bytes of JSON header mapping each
 * tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (and an
 * optional "__metadata__" object of strings), then the data. Every bound
 * the reference implementation checks is checked here: the header fits the
 * file, is JSON, names each tensor once; offsets are in order, contiguous
 * from 0, cover the data exactly, and each matches its dtype and shape.
 * The caller says which tensors it wants (name and shape, F32) and which
 * others it tolerates; every value read must be finite.
 *
 * The reading order keeps a lying or huge file cheap: the 8-byte length
 * first (checked against the limit and the file's size), then the header,
 * checked against what is wanted, and only then exactly the data it
 * describes, tensor by tensor. So the memory spent is the header's and
 * the tensors', never the file's, and a FIFO or a pipe reads like a file.
 *
 * Errors go to the caller's callback, one message a call, each starting
 * with the file's name; the caller adds its "cnnc: error:" prefix. */
#ifndef CNNC_STREAD_H
#define CNNC_STREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"

/* Bytes in order from a file, a pipe or memory. */
typedef struct StInput {
  const char *name; /* as the user spelled it, for messages */
  int64_t size;     /* bytes in all, or -1 when not known (a FIFO, a pipe) */
  /* Up to n bytes into buf: how many (0 at the end), or -1 with errno set. */
  ptrdiff_t (*read)(void *ctx, void *buf, size_t n);
  void *ctx;
} StInput;

/* One entry of __metadata__. */
typedef struct StMeta {
  const char *key, *value;
} StMeta;

/* A tensor wanted: F32 (or I64) of this shape (PyTorch's, for a
 * parameter), its elements into dst in the file's order (an I64's 8 bytes
 * each). */
typedef struct StWant {
  const char *name;
  int rank;
  int64_t shape[4];
  float *dst;
  bool found; /* out: an optional one was there */
  bool i64;   /* I64, not F32 */
} StWant;

typedef struct StRequest {
  StWant *want;
  int nwant;
  int nrequired; /* want[0..nrequired) must be there, the rest may */
  const char *model; /* its name, for messages */
  /* other tensors that may be there and are skipped (an optimizer's
   * state, for --init); NULL: none */
  bool (*tolerated)(const char *name, void *ctx);
  /* __metadata__, seen before the tensors are matched, so that a file of
   * the wrong kind gets its own message; false (after reporting) stops
   * the reading. NULL: no check. */
  bool (*check_meta)(const struct StMeta *meta, int n, void *ctx);
  void *ctx;
  void (*error)(const char *msg, void *ctx);
  void *error_ctx;
} StRequest;

/* True when every wanted tensor was read; *meta and *nmeta (may be NULL)
 * get __metadata__, in the arena. */
bool st_read(const StInput *in, const StRequest *req, StMeta **meta,
             int *nmeta, Arena *a);
/* The file at path: a regular file has a size to check the header against;
 * anything else (a FIFO, a pipe) is read as a stream. */
bool st_load(const char *path, const StRequest *req, StMeta **meta,
             int *nmeta, Arena *a);
/* A value of __metadata__, or NULL */
const char *st_meta(const StMeta *meta, int n, const char *key);

#endif
