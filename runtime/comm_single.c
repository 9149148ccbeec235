/* comm_single.c - comm.h for a trainer linked without --mpi: one process,
 * rank 0 of 1, with no one to exchange with. */
#include "comm.h"

#include <stdlib.h>

bool cnn_comm_start(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  return true;
}

void cnn_comm_end(int status) { (void)status; }

int cnn_comm_rank(void) { return 0; }

int cnn_comm_size(void) { return 1; }

int cnn_comm_local_size(void) { return 1; }

int64_t cnn_comm_max(int64_t v) { return v; }

void cnn_comm_exchange(const CnnTransfer *sends, int64_t nsends,
                       const CnnTransfer *recvs, int64_t nrecvs) {
  (void)sends;
  (void)recvs;
  if (nsends || nrecvs) /* a rank of 1 has no peer: a bug of the caller */
    abort();
}

bool cnn_comm_is_mpi(void) { return false; }
