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

void cnn_interrupt_install(void) {
  static const int sigs[] = {SIGINT, SIGTERM};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
    struct sigaction old, sa = {0};
    if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
      continue; /* nohup, a background job: stays ignored */
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(sigs[i], &sa, NULL);
  }
}

int cnn_interrupt_requested(void) { return requested; }

/* Every rank's request, combined: a signal that reached any of them (all
 * ranks call this at the same points, between steps). */
int cnn_stop_requested(void) {
  int sig = requested;
  return cnn_comm_size() > 1 ? (int)cnn_comm_max(sig) : sig;
}
