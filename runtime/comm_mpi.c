/* comm_mpi.c - comm.h over Open MPI, for trainers linked with cnnc --mpi.
 *
 * Started by mpirun (OMPI_COMM_WORLD_SIZE is set) or another launcher
 * (launched()), the trainer joins the job; started alone it never calls
 * MPI_Init and is the plain trainer,
 * rank 0 of 1 (an MPI singleton would fork a daemon and take a third of a
 * second for nothing).
 *
 * No MPI call reports a process of the job that died (Open MPI 4.1 blocks
 * in the wait, over shared memory and TCP alike): mpirun notices, and
 * ends the others with SIGTERM, then SIGKILL a second later. A process
 * that is waiting here when SIGTERM comes, and still waiting half a
 * second later (or four times its longest wait so far, if longer), is
 * waiting for one that will not come: it says so and exits (interrupt.c's
 * flag alone would wait for the SIGKILL). */
#define _POSIX_C_SOURCE 200809L
#include "comm.h"

#include <limits.h>
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runtime.h"

static bool joined;
static int rank_of = 0, size_of = 1, local_of = 1;
/* what this process sent: CNNRT_MPI_STATS=1 prints it at the end */
static int64_t bytes_sent, messages_sent, exchanges;
static double exchange_seconds; /* in exchanges, waiting for the others too */

static int env_int(const char *name, int otherwise) {
  const char *v = getenv(name);
  char *end = NULL;
  long n = v ? strtol(v, &end, 10) : 0;
  return v && *v && !*end && n > 0 && n < INT_MAX ? (int)n : otherwise;
}

static void fail(const char *what, int err) {
  char text[MPI_MAX_ERROR_STRING] = "";
  int len = 0;
  MPI_Error_string(err, text, &len);
  cnn_error("%s failed: %s; the job cannot go on", what, text);
  cnn_error_own();
  MPI_Abort(MPI_COMM_WORLD, 1);
  exit(1);
}

/* mpirun's processes have OMPI_COMM_WORLD_SIZE; a PMIx launcher's (srun
 * --mpi=pmix) PMIX_RANK; a PMI-1/2 one's PMI_SIZE */
static bool launched(void) {
  return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") ||
         getenv("PMI_SIZE");
}

bool cnn_comm_start(int *argc, char ***argv) {
  if (!launched())
    return true;
  /* only the main thread calls MPI; the pool's threads compute */
  int provided = 0;
  int err = MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
  if (err != MPI_SUCCESS) {
    cnn_error("cannot join the MPI job (MPI_Init failed)");
    return false;
  }
  joined = true;
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_of);
  MPI_Comm_size(MPI_COMM_WORLD, &size_of);
  local_of = env_int("OMPI_COMM_WORLD_LOCAL_SIZE", 1);
  return true;
}

void cnn_comm_end(int status) {
  const char *stats = getenv("CNNRT_MPI_STATS");
  if (joined && stats && !strcmp(stats, "1"))
    fprintf(stderr, "cnnrt: rank %d sent %lld bytes in %lld messages, %lld "
            "exchanges, %.3f s in them\n", rank_of, (long long)bytes_sent,
            (long long)messages_sent, (long long)exchanges,
            exchange_seconds);
  /* A failed process leaves at once: mpirun ends the job (MPI_Finalize
   * would wait for the others, and meet mpirun's SIGTERM on the way). The
   * run's outcome is decided: no more words for a signal from here. */
  signal(SIGTERM, SIG_DFL);
  signal(SIGINT, SIG_DFL);
  if (joined && status == 0)
    MPI_Finalize();
  joined = false;
}

int cnn_comm_rank(void) { return rank_of; }

int cnn_comm_size(void) { return size_of; }

int cnn_comm_local_size(void) { return local_of; }

bool cnn_comm_is_mpi(void) { return joined; }

/* ---- waiting -------------------------------------------------------------- */

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* The longest an exchange has waited so far: for the others' share of a
 * step, rank 0's checkpoint, an evaluation. A wait past SIGTERM several
 * times longer than that is one for a process that will not come. */
static double longest_wait;

/* mpirun's SIGTERM came while this process waited, and it still waits */
static void give_up(int sig) {
  cnn_error("stopped by %s while waiting for the other processes of the "
            "job: mpirun is ending it (one of its processes ended, or the "
            "job was interrupted); no checkpoint was written now (for a "
            "clean stop of a job, send SIGUSR1 to mpirun)",
            sig == SIGTERM ? "SIGTERM" : "a signal");
  cnn_error_own();
  fflush(stderr);
  _exit(128 + sig);
}

static void wait_all(MPI_Request *req, int count) {
  double start = now(), since = 0;
  for (;;) {
    int done = 0;
    int err = MPI_Testall(count, req, &done, MPI_STATUSES_IGNORE);
    if (err != MPI_SUCCESS)
      fail("an exchange with another process", err);
    if (done)
      break;
    if (cnn_interrupt_requested() != SIGTERM)
      continue;
    double t = now(), patience = 4 * longest_wait;
    if (since == 0)
      since = t;
    else if (t - since > (patience > 0.5 ? patience : 0.5))
      give_up(SIGTERM);
  }
  if (since == 0 && now() - start > longest_wait)
    longest_wait = now() - start;
}

int64_t cnn_comm_max(int64_t v) {
  if (!joined)
    return v;
  int64_t out = v;
  MPI_Request req;
  int err = MPI_Iallreduce(&v, &out, 1, MPI_INT64_T, MPI_MAX, MPI_COMM_WORLD,
                           &req);
  if (err != MPI_SUCCESS)
    fail("MPI_Iallreduce", err);
  wait_all(&req, 1);
  return out;
}

static MPI_Request *requests(int64_t count) {
  static MPI_Request *req;
  static int64_t cap;
  if (count > cap) {
    free(req);
    cap = count * 2;
    req = malloc((size_t)cap * sizeof *req);
    if (!req) {
      cnn_error("out of memory for %lld messages", (long long)count);
      cnn_error_own();
      MPI_Abort(MPI_COMM_WORLD, 1);
      exit(1);
    }
  }
  return req;
}

static int bytes_of(const CnnTransfer *t) {
  if (t->bytes > INT_MAX) { /* a slice of more than 2 GiB of gradients */
    cnn_error("a message of %lld bytes, more than MPI's int counts",
              (long long)t->bytes);
    cnn_error_own();
    MPI_Abort(MPI_COMM_WORLD, 1);
    exit(1);
  }
  return (int)t->bytes;
}

void cnn_comm_exchange(const CnnTransfer *sends, int64_t nsends,
                       const CnnTransfer *recvs, int64_t nrecvs) {
  if (nsends + nrecvs == 0)
    return;
  double start = now();
  MPI_Request *req = requests(nsends + nrecvs);
  int n = 0;
  for (int64_t i = 0; i < nrecvs; i++, n++) {
    int err = MPI_Irecv(recvs[i].data, bytes_of(&recvs[i]), MPI_BYTE,
                        recvs[i].peer, recvs[i].tag, MPI_COMM_WORLD, &req[n]);
    if (err != MPI_SUCCESS)
      fail("MPI_Irecv", err);
  }
  for (int64_t i = 0; i < nsends; i++, n++) {
    int err = MPI_Isend(sends[i].data, bytes_of(&sends[i]), MPI_BYTE,
                        sends[i].peer, sends[i].tag, MPI_COMM_WORLD, &req[n]);
    if (err != MPI_SUCCESS)
      fail("MPI_Isend", err);
    bytes_sent += sends[i].bytes;
  }
  messages_sent += nsends;
  exchanges++;
  wait_all(req, n);
  exchange_seconds += now() - start;
}
