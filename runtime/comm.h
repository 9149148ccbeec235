/* comm.h - the processes of a run: this one alone, or an MPI job's.
 *
 * libcnnrt.a has comm_single.c behind these (one process: rank 0 of 1);
 * libcnnrt_mpi.a, which `cnnc --mpi` links, has comm_mpi.c (Open MPI).
 * Nothing else in the runtime knows which. Every function that talks to
 * the other processes is collective: every rank calls it, in the same
 * order, or the job hangs. */
#ifndef CNNRT_COMM_H
#define CNNRT_COMM_H

#include <stdbool.h>
#include <stdint.h>

/* Joins the job (MPI_Init) if there is one. False after reporting why
 * not. Call first thing, once. */
bool cnn_comm_start(int *argc, char ***argv);
/* Leaves it (MPI_Finalize); status is the process's exit status. */
void cnn_comm_end(int status);

int cnn_comm_rank(void);
int cnn_comm_size(void);
/* the job's processes on this machine (for the default thread count) */
int cnn_comm_local_size(void);

/* the largest of every rank's v (collective) */
int64_t cnn_comm_max(int64_t v);

/* One message: to or from rank `peer`, with `tag` (unique among the
 * messages of one exchange between two ranks, below 32768). */
typedef struct CnnTransfer {
  int peer;
  int tag;
  void *data;
  int64_t bytes;
} CnnTransfer;

/* Sends and receives these, all at once, and returns when all are done.
 * Collective in effect: each receive needs its peer's send. A failure
 * (a process of the job died) ends this one with a message. */
void cnn_comm_exchange(const CnnTransfer *sends, int64_t nsends,
                       const CnnTransfer *recvs, int64_t nrecvs);

/* "processes" in messages: the words for a plain trainer say nothing */
bool cnn_comm_is_mpi(void);

#endif
