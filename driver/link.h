/* link.h - turning the generated object into a trainer executable. */
#ifndef CNNC_LINK_H
#define CNNC_LINK_H

#include <stdbool.h>

#include "diag.h"

/* Links `object` with libcnnrt into the executable `output` through the
 * system C compiler ($CC, else cc); with `mpi`, with libcnnrt_mpi through
 * Open MPI's mpicc (which runs that compiler). Errors go to d. */
bool link_trainer(const char *object, const char *output, bool mpi, Diag *d);

#endif
