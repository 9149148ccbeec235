/* header.h - the C header beside an inference object. */
#ifndef CNNC_HEADER_H
#define CNNC_HEADER_H

#include <stdbool.h>
#include <stdint.h>

#include "codegen.h"
#include "ir.h"

/* The text of the header `path` for the inference object of m whose entry
 * points are named after `name`; `baked`: weights are in the object. */
bool header_text(const char *path, const Module *m, const char *name,
                 bool baked, int64_t scratch_bytes, CgBytes *out, Diag *d);

#endif
