/* schedule_vectors.c - every step's rate of a schedule, by cnnrt's
 * cnn_schedule_rate, for schedule_ref.py to check:
 *
 *   schedule_vectors KIND SCHEDULE P1 P2 FILE_LR RUN_LR EPOCHS STEPS MOMENTUM
 *
 * prints "t lr momentum" for t = 0 .. EPOCHS * STEPS - 1 (%.17g). KIND is
 * sgd, adam or adamw; P1 and P2 are every and factor (step), warmup
 * (cosine) or max_lr (onecycle); MOMENTUM is the file's momentum (sgd) or
 * beta1 (adam, adamw). */
#include "runtime.h"

#include <stdlib.h>
#include <string.h>

static int64_t kind_of(const char *s) {
  return !strcmp(s, "sgd") ? CNN_OPT_SGD : !strcmp(s, "adam") ? CNN_OPT_ADAM
                                                               : CNN_OPT_ADAMW;
}

static int64_t schedule_of(const char *s) {
  return !strcmp(s, "step")       ? CNN_SCHEDULE_STEP
         : !strcmp(s, "cosine")   ? CNN_SCHEDULE_COSINE
         : !strcmp(s, "onecycle") ? CNN_SCHEDULE_ONECYCLE
                                  : CNN_SCHEDULE_CONSTANT;
}

int main(int argc, char **argv) {
  if (argc != 10) {
    fprintf(stderr, "usage: schedule_vectors KIND SCHEDULE P1 P2 FILE_LR "
                    "RUN_LR EPOCHS STEPS MOMENTUM\n");
    return 2;
  }
  double p1 = atof(argv[3]), p2 = atof(argv[4]), mom = atof(argv[9]);
  CnnModel m = {.name = "vectors", .optimizer = kind_of(argv[1]),
                .schedule = schedule_of(argv[2]), .lr = atof(argv[5]),
                .momentum = mom, .beta1 = mom,
                .schedule_every = (int64_t)p1, .schedule_factor = p2,
                .schedule_warmup = (int64_t)p1, .schedule_max_lr = p1};
  CnnScheduleRun run = {atof(argv[6]), atoll(argv[7]), atoll(argv[8])};
  for (int64_t t = 0; t < run.epochs * run.steps; t++) {
    CnnRate r = cnn_schedule_rate(&m, &run, t);
    printf("%lld %.17g %.17g\n", (long long)t, r.lr, r.momentum);
  }
  return 0;
}
