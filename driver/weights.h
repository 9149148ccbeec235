/* weights.h - reading a safetensors checkpoint into a model's parameters.
 *
 * The format: 8 bytes little-endian N, N bytes of JSON header mapping each
 * tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (and an
 * optional "__metadata__" object of strings), then the data. Every bound
 * the reference implementation checks is checked here: the header fits the
 * file, is JSON, names each tensor once; offsets are in order, contiguous
 * from 0, cover the data exactly, and each matches its dtype and shape. The
 * tensors must be exactly the model's parameters, F32, with PyTorch's
 * names and shapes; they are converted to cnnc's layouts. */
#ifndef CNNC_WEIGHTS_H
#define CNNC_WEIGHTS_H

#include <stddef.h>

#include "ir.h"

/* The model's parameter buffer (m->param_floats floats, cnnc layout), or
 * NULL after reporting what is wrong with `name` as tool errors. */
float *weights_parse(const unsigned char *buf, size_t len, const char *name,
                     const Module *m, Diag *d, Arena *a);
float *weights_load(const char *path, const Module *m, Diag *d, Arena *a);

#endif
