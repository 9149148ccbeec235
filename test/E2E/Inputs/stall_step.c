/* stall_step.c - a trainer that waits for a signal at an exact step.
 *
 * A signal sent at a random moment lands anywhere; the tests of what a
 * signal does at a given step need it to land there. Linked with a
 * trainer object of cnnc (cnnc --emit=obj) and libcnnrt, this is the same
 * trainer (the same CnnModel, so the same checkpoints), but its train step
 * number STALL_STEP (environment), once taken, creates the file STALL_READY
 * and waits until the runtime has seen a signal (SIGINT or SIGTERM, which
 * --checkpoint turns into a request to stop); then it creates
 * STALL_READY.seen and
 *   STALL_MODE=once (default): returns, so the run stops after that step;
 *   STALL_MODE=forever: waits for ever: only a second signal ends it.
 * STALL_MODE=go waits for no signal, but for the file STALL_READY.go
 * (meanwhile the test may change the process's limits), then returns.
 * Without STALL_STEP it is the plain trainer. */
#define _POSIX_C_SOURCE 200809L
#include "runtime.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static CnnUpdateFn real_step;
static int64_t stall_at;

static void touch(const char *path) {
  FILE *f = fopen(path, "w");
  if (!f || fclose(f) != 0) {
    fprintf(stderr, "stall_step: cannot create %s\n", path);
    exit(2);
  }
}

static void nap(void) {
  struct timespec ms = {0, 1000000};
  nanosleep(&ms, NULL);
}

static bool is(const char *mode, const char *name) {
  return mode && strcmp(mode, name) == 0;
}

static void stall(void) {
  const char *ready = getenv("STALL_READY"), *mode = getenv("STALL_MODE");
  char seen[4096], go[4096];
  ready = ready ? ready : "stall";
  snprintf(seen, sizeof seen, "%s.seen", ready);
  snprintf(go, sizeof go, "%s.go", ready);
  touch(ready);
  if (is(mode, "go")) {
    while (access(go, F_OK) != 0)
      nap();
    return;
  }
  while (!cnn_interrupt_requested())
    nap();
  touch(seen);
  while (is(mode, "forever"))
    nap();
}

static void step(float *params, float *opt_state, void *arena,
                 int64_t batch_n, int64_t batch_chunks, int64_t at, float lr,
                 float momentum) {
  real_step(params, opt_state, arena, batch_n, batch_chunks, at, lr, momentum);
  if (at == stall_at)
    stall();
}

int main(int argc, char **argv) {
  CnnModel m = cnn_model;
  const char *at = getenv("STALL_STEP");
  stall_at = at ? atoll(at) : -1;
  real_step = m.update;
  m.update = step;
  return cnn_main(&m, argc, argv);
}
