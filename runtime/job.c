/* job.c - the processes of an MPI job start together or not at all.
 *
 * Each process checks its flags, reads the data and the files it was
 * given, and allocates, before the first step; then all agree
 * (cnn_job_ready): if any failed, every one stops, and only the lowest
 * failing rank's messages are printed (all but rank 0 hold theirs until
 * then), so a bad flag is one message and not one per process. A process
 * that fails before reaching the agreement takes part in it on its way
 * out (cnn_job_end). After it the processes go in step and report alike:
 * rank 0 alone prints errors then, but for a process's own end (an
 * exchange that failed, memory). Only rank 0 prints progress: the others' stdout is
 * /dev/null. A plain trainer, or one started without mpirun, is a job of
 * one process, for which all of this does nothing. */
#define _POSIX_C_SOURCE 200809L
#include "runtime.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "comm.h"

static bool agreed;

void cnn_job_begin(void) {
  if (cnn_comm_size() == 1 || cnn_comm_rank() == 0)
    return;
  cnn_error_hold();
  fflush(stdout);
  int null = open("/dev/null", O_WRONLY);
  if (null >= 0) {
    dup2(null, STDOUT_FILENO);
    close(null);
  }
}

bool cnn_job_ready(bool ok) {
  agreed = true;
  int size = cnn_comm_size(), rank = cnn_comm_rank();
  if (size == 1)
    return ok;
  /* the largest of size - rank over the failing ranks: the lowest one */
  int64_t worst = cnn_comm_max(ok ? 0 : size - rank);
  cnn_error_release(worst != 0 && size - worst == rank);
  /* From here the processes go in step: what one reports (a divergence)
   * all report, and rank 0 says it for the job. A process's own end (an
   * exchange that failed) prints its message through cnn_error_own. */
  if (rank != 0)
    cnn_error_hold();
  return worst == 0;
}

uint64_t cnn_hash(uint64_t h, const void *data, size_t n) {
  const unsigned char *p = data;
  for (size_t i = 0; i < n; i++)
    h = (h ^ p[i]) * 0x100000001b3u;
  return h;
}

/* whether every process has the same v */
static bool all_same(uint64_t v) {
  /* 63 bits, so that both the largest and the smallest are maxima */
  int64_t h = (int64_t)(v >> 1);
  return cnn_comm_max(h) == -cnn_comm_max(-h);
}

bool cnn_job_same_run(const CnnFingerprint *f, uint64_t start) {
  if (cnn_comm_size() == 1)
    return true;
  uint64_t h = 0xcbf29ce484222325u;
  for (int k = 0; k < FP_COUNT; k++)
    h = cnn_hash(h, f->value[k], strlen(f->value[k]) + 1);
  bool same_run = all_same(h), same_start = all_same(start);
  if (!same_run && cnn_comm_rank() == 0)
    cnn_error("the processes of the job do not all train the same run: "
              "their data files or their flags differ (each process reads "
              "the data itself: every machine needs the same files, as on "
              "a shared file system)");
  else if (!same_start && cnn_comm_rank() == 0)
    cnn_error("the processes of the job do not all start from the same "
              "point: the weights or the state they read (--init, --resume) "
              "differ, or flags that decide what they do together "
              "(--epochs, --batch, --accumulate, --checkpoint, --quiet, "
              "--report)");
  return same_run && same_start;
}

void cnn_job_end(int status) {
  if (!agreed)
    cnn_job_ready(status == 0);
  cnn_error_release(false);
  cnn_comm_end(status);
}
