/* fuzz_errors.h - the counted cnn_error of fuzz_errors.c. */
#ifndef CNNC_FUZZ_ERRORS_H
#define CNNC_FUZZ_ERRORS_H

#include "runtime.h"

/* the messages cnn_error received since the target last set it to 0 */
extern int fuzz_errors;

#endif
