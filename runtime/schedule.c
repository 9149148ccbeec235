/* schedule.c - the learning rate and momentum of every step.
 *
 * The train block's `schedule = ...` is computed here, per step, as a pure
 * function of the step (counted from 0 over the whole run), the steps of
 * an epoch and the run's epochs: no state, so that a resumed run takes the
 * rates the uninterrupted one takes, and the CSV log can say the rate of
 * any step after the fact. With S steps an epoch, T = epochs * S steps in
 * all, t the step from 0 and e = t / S + 1 its epoch:
 *
 *   constant                 lr
 *   step(every=E, factor=F)  lr * F^floor((e - 1) / E)
 *   cosine(warmup=W)         lr * (t + 1) / (W S) while t < W S, then
 *                            lr * (1 + cos(pi (t - W S) / (T - W S))) / 2
 *   onecycle(max_lr=M)       torch.optim.lr_scheduler.OneCycleLR(max_lr=M,
 *                            total_steps=T) with its defaults, whose
 *                            momentum (sgd's, or adam's beta1) cycles too
 *
 * --lr scales the whole schedule: every rate by --lr / the file's lr, and
 * onecycle's max_lr by the same factor. The other schedules leave the
 * momentum (or beta1) as the file has it. */
#include "runtime.h"

#include <math.h>

#define PI 3.14159265358979323846

/* OneCycleLR's defaults (torch 1.13, three_phase=False) */
#define ONECYCLE_PCT_START 0.3
#define ONECYCLE_DIV 25.0
#define ONECYCLE_FINAL_DIV 1e4
#define ONECYCLE_BASE_MOMENTUM 0.85
#define ONECYCLE_MAX_MOMENTUM 0.95

static double step_decay(const CnnModel *m, double lr, int64_t epoch) {
  return lr * pow(m->schedule_factor,
                  (double)((epoch - 1) / m->schedule_every));
}

static double cosine(const CnnModel *m, double lr, int64_t t, int64_t total,
                     int64_t steps) {
  int64_t warm = m->schedule_warmup * steps;
  if (t < warm)
    return lr * (double)(t + 1) / (double)warm;
  return lr * (1 + cos(PI * (double)(t - warm) / (double)(total - warm))) / 2;
}

/* OneCycleLR's _annealing_cos */
static double anneal(double start, double end, double pct) {
  return end + (start - end) / 2.0 * (cos(PI * pct) + 1);
}

/* OneCycleLR.get_lr at step_num t: the first phase ends at step
 * 0.3 T - 1 (a float: it need not be a step), the second at T - 1, and
 * each anneals from where the one before ended. */
static CnnRate onecycle(double max_lr, int64_t t, int64_t total) {
  double initial = max_lr / ONECYCLE_DIV;
  double min = initial / ONECYCLE_FINAL_DIV;
  double end1 = ONECYCLE_PCT_START * (double)total - 1;
  double end2 = (double)total - 1;
  double step = (double)t;
  if (step <= end1) {
    double pct = step / end1;
    return (CnnRate){
        anneal(initial, max_lr, pct),
        anneal(ONECYCLE_MAX_MOMENTUM, ONECYCLE_BASE_MOMENTUM, pct)};
  }
  double pct = (step - end1) / (end2 - end1);
  return (CnnRate){anneal(max_lr, min, pct),
                   anneal(ONECYCLE_BASE_MOMENTUM, ONECYCLE_MAX_MOMENTUM, pct)};
}

CnnRate cnn_schedule_rate(const CnnModel *m, const CnnScheduleRun *run,
                          int64_t t) {
  int64_t total = run->epochs * run->steps;
  double scale = m->lr > 0 ? run->lr / m->lr : 1; /* the .cnn's is > 0 */
  CnnRate r = {run->lr, cnn_compiled_momentum(m)};
  switch ((CnnSchedule)m->schedule) {
  case CNN_SCHEDULE_CONSTANT: break;
  case CNN_SCHEDULE_STEP:
    r.lr = step_decay(m, run->lr, t / run->steps + 1);
    break;
  case CNN_SCHEDULE_COSINE:
    r.lr = cosine(m, run->lr, t, total, run->steps);
    break;
  case CNN_SCHEDULE_ONECYCLE:
    r = onecycle(m->schedule_max_lr * scale, t, total);
    break;
  }
  return r;
}

/* "cosine(warmup=1)", as the .cnn spells it, with --lr's scaling of
 * onecycle's max_lr; "" for constant */
void cnn_schedule_text(const CnnModel *m, double lr, char *buf, size_t cap) {
  switch ((CnnSchedule)m->schedule) {
  case CNN_SCHEDULE_CONSTANT: snprintf(buf, cap, "%s", ""); return;
  case CNN_SCHEDULE_STEP:
    snprintf(buf, cap, "step(every=%lld, factor=%g)",
             (long long)m->schedule_every, m->schedule_factor);
    return;
  case CNN_SCHEDULE_COSINE:
    snprintf(buf, cap, "cosine(warmup=%lld)", (long long)m->schedule_warmup);
    return;
  case CNN_SCHEDULE_ONECYCLE:
    snprintf(buf, cap, "onecycle(max_lr=%g)",
             m->schedule_max_lr * (m->lr > 0 ? lr / m->lr : 1));
    return;
  }
  snprintf(buf, cap, "?");
}
