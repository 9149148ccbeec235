/* weights.h - reading a safetensors checkpoint into a model's parameters:
 * the tensors must be exactly the model's parameters, F32, with PyTorch's
 * names and shapes, and finite (runtime/stread.h says what else is
 * checked, and in which order the file is read); they are converted to
 * cnnc's layouts. */
#ifndef CNNC_WEIGHTS_H
#define CNNC_WEIGHTS_H

#include <stddef.h>
#include <stdint.h>

#include "ir.h"
#include "stread.h"

/* The model's parameter buffer (m->param_floats floats, cnnc layout), or
 * NULL after reporting what is wrong with the input as tool errors. */
float *weights_read(const StInput *in, const Module *m, Diag *d, Arena *a);
/* The same from len bytes in memory, or from the file at path. */
float *weights_parse(const unsigned char *buf, size_t len, const char *name,
                     const Module *m, Diag *d, Arena *a);
float *weights_load(const char *path, const Module *m, Diag *d, Arena *a);

#endif
