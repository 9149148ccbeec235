/* header.h - the C header beside an inference object. */
#ifndef CNNC_HEADER_H
#define CNNC_HEADER_H

#include <stdbool.h>
#include <stdint.h>

#include "ir.h"

/* Writes the header for the inference object of m whose entry points are
 * named after `name`; `baked`: weights are in the object. */
bool header_write(const char *path, const Module *m, const char *name,
                  bool baked, int64_t scratch_bytes, Diag *d);

#endif
