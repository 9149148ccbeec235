/* summary.h - the Keras-style model summary of `cnnc --summary`. */
#ifndef CNNC_SUMMARY_H
#define CNNC_SUMMARY_H

#include "ir.h"

/* Requires: a shaped module (infer-shapes ran). One row per layer, then the
 * parameter totals, forward FLOPs per image and activation bytes per image. */
void summary_print(FILE *out, const Module *m);

#endif
