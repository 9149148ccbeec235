/* interrupt.c - Ctrl-C and kill as requests to stop at the next step.
 *
 * With --checkpoint, the first SIGINT or SIGTERM only sets a flag: the
 * epoch loop sees it after the step that is running, writes the
 * checkpoint, and the trainer exits with 128 + the signal's number (130,
 * 143), as a shell expects of a program the signal ended. A second signal
 * ends the process at once, as without --checkpoint: the temporaries are
 * removed (tempfile.c) and the signal's default action ends it; the last
 * checkpoint written stays valid, since a checkpoint is replaced only by
 * a rename. */
#define _POSIX_C_SOURCE 200809L
#include "runtime.h"

#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "comm.h"
#include "tempfile.h"

static volatile sig_atomic_t requested; /* the first signal, or 0 */

static void on_signal(int sig) {
  if (!requested) {
    requested = sig;
    return;
  }
  tempfile_remove_all();
  signal(sig, SIG_DFL);
  raise(sig);
}

/* A process of an MPI job without --checkpoint, which mpirun ends with
 * SIGTERM when another process ended or the job was interrupted: it says
 * why it stops, which the default action would not. */
static char job_end_text[160];
static size_t job_end_len;

static void on_job_end(int sig) {
  if (write(STDERR_FILENO, job_end_text, job_end_len) < 0) {
    /* nothing left to tell it with */
  }
  tempfile_remove_all();
  signal(sig, SIG_DFL);
  raise(sig);
}

static void handle(int sig, void (*fn)(int)) {
  struct sigaction old, sa = {0};
  if (sigaction(sig, NULL, &old) == 0 && old.sa_handler == SIG_IGN)
    return; /* nohup, a background job: stays ignored */
  sa.sa_handler = fn;
  sigemptyset(&sa.sa_mask);
  sigaction(sig, &sa, NULL);
}

void cnn_interrupt_install(void) {
  handle(SIGINT, on_signal);
  handle(SIGTERM, on_signal);
  handle(SIGUSR1, on_signal);
}

/* In a job, SIGUSR1 (which mpirun forwards as it is, where it turns
 * Ctrl-C into SIGTERM and a SIGKILL a second later) always asks for a
 * stop at the next step; SIGINT and SIGTERM too with --checkpoint, else
 * they end the process at once, with a word. */
void cnn_interrupt_install_job(bool checkpoint) {
  if (checkpoint) {
    cnn_interrupt_install();
    return;
  }
  int n = snprintf(job_end_text, sizeof job_end_text,
                   "cnnrt: error: rank %d: ended by a signal (mpirun ends "
                   "the job when one of its processes ends, or when it is "
                   "interrupted)\n", cnn_comm_rank());
  job_end_len = n > 0 && (size_t)n < sizeof job_end_text ? (size_t)n : 0;
  handle(SIGINT, on_job_end);
  handle(SIGTERM, on_job_end);
  handle(SIGUSR1, on_signal);
}

int cnn_interrupt_requested(void) { return requested; }

/* Every rank's request, combined: a signal that reached any of them (all
 * ranks call this at the same points, between steps). */
int cnn_stop_requested(void) {
  int sig = requested;
  return cnn_comm_size() > 1 ? (int)cnn_comm_max(sig) : sig;
}
