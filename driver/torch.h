/* torch.h - `cnnc --emit=torch`: the model as a PyTorch module. */
#ifndef CNNC_TORCH_H
#define CNNC_TORCH_H

#include <stdbool.h>

#include <stddef.h>

#include "ir.h"

/* Whether every layer of m can be a PyTorch submodule of its own name:
 * reports those that cannot (a Python keyword, a name nn.Module has) at
 * the layer, so d->src must be m's source. */
bool torch_check_names(const Module *m, Diag *d);

/* The Python text of the module for m, which has been through
 * infer-shapes only (the layers as written) and has no training graph,
 * into *text (malloc'd) and *size. `source` names the .cnn file in the
 * text's docstring. */
bool torch_module_text(const Module *m, const char *source, char **text,
                       size_t *size, Diag *d);

#endif
