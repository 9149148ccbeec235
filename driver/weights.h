/* weights.h - reading a safetensors checkpoint into a model's parameters.
 *
 * The format: 8 bytes little-endian N, N bytes of JSON header mapping each
 * tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (and an
 * optional "__metadata__" object of strings), then the data. Every bound
 * the reference implementation checks is checked here: the header fits the
 * file, is JSON, names each tensor once; offsets are in order, contiguous
 * from 0, cover the data exactly, and each matches its dtype and shape. The
 * tensors must be exactly the model's parameters, F32, with PyTorch's
 * names and shapes, and finite; they are converted to cnnc's layouts.
 *
 * The reading order keeps a lying or huge file cheap: the 8-byte length
 * first (checked against the limit and the file's size), then the header,
 * checked against the model, and only then exactly the data it describes,
 * tensor by tensor. So the memory spent is the header's and the model's,
 * never the file's, and a FIFO or a pipe reads like a file. */
#ifndef CNNC_WEIGHTS_H
#define CNNC_WEIGHTS_H

#include <stddef.h>
#include <stdint.h>

#include "ir.h"

/* Bytes in order from a file, a pipe or memory. */
typedef struct WeightsInput {
  const char *name; /* as the user spelled it, for messages */
  int64_t size;     /* bytes in all, or -1 when not known (a FIFO, a pipe) */
  /* Up to n bytes into buf: how many (0 at the end), or -1 with errno set. */
  ptrdiff_t (*read)(void *ctx, void *buf, size_t n);
  void *ctx;
} WeightsInput;

/* The model's parameter buffer (m->param_floats floats, cnnc layout), or
 * NULL after reporting what is wrong with the input as tool errors. */
float *weights_read(const WeightsInput *in, const Module *m, Diag *d,
                    Arena *a);
/* The same from len bytes in memory, or from the file at path. */
float *weights_parse(const unsigned char *buf, size_t len, const char *name,
                     const Module *m, Diag *d, Arena *a);
float *weights_load(const char *path, const Module *m, Diag *d, Arena *a);

#endif
