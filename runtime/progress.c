/* progress.c - Keras-style reports of the epoch loop on stdout.
 *
 * On a terminal it looks like Keras's fit:
 *   Epoch 3/10
 *   1100/1100 [==============================] - 38s 35ms/step - loss: 0.0412
 *   - accuracy: 0.9871 - val_loss: 0.0301 - val_accuracy: 0.9912
 * (one line), the bar redrawn in place with "\r" and an ETA while the epoch
 * runs, at most ten times a second so that a fast model does not spend its
 * time printing. Into a file or a pipe a bar would be noise: one plain line
 * per epoch instead, easy to grep. */
#include "runtime.h"

#include <inttypes.h>
#include <stdarg.h>
#include <unistd.h>

enum { BAR = 30, LINE = 512 };
#define REDRAW_SECONDS 0.1

void cnn_progress_init(CnnProgress *p, FILE *out, bool quiet) {
  *p = (CnnProgress){.out = out, .quiet = quiet, .tty = isatty(fileno(out))};
}

void cnn_progress_epoch_begin(CnnProgress *p, int64_t epoch, int64_t epochs,
                              int64_t steps) {
  p->total_steps = steps;
  p->last_draw = 0;
  p->width = 0;
  if (p->quiet || !p->tty)
    return;
  fprintf(p->out, "Epoch %" PRId64 "/%" PRId64 "\n", epoch, epochs);
  fflush(p->out);
}

/* --- the bar -------------------------------------------------------------- */

typedef struct Line {
  char text[LINE];
  int len;
} Line;

static void append(Line *l, const char *fmt, ...) CNN_PRINTF(2, 3);
static void append(Line *l, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(l->text + l->len, LINE - (size_t)l->len, fmt, ap);
  va_end(ap);
  if (k > 0)
    l->len = l->len + k < LINE ? l->len + k : LINE - 1;
}

/* Keras's format_eta: 1:02:03, 2:03 or 45s */
static void append_eta(Line *l, double seconds) {
  long s = (long)seconds;
  if (s > 3600)
    append(l, "%ld:%02ld:%02ld", s / 3600, s % 3600 / 60, s % 60);
  else if (s > 60)
    append(l, "%ld:%02ld", s / 60, s % 60);
  else
    append(l, "%lds", s);
}

static void append_per_step(Line *l, double seconds) {
  if (seconds >= 1 || seconds == 0)
    append(l, "%.0fs/step", seconds);
  else if (seconds >= 1e-3)
    append(l, "%.0fms/step", seconds * 1e3);
  else
    append(l, "%.0fus/step", seconds * 1e6);
}

static int digits(int64_t v) {
  int d = 1;
  while (v >= 10) {
    v /= 10;
    d++;
  }
  return d;
}

/* "  50/1100 [>.............................]" */
static void append_bar(Line *l, int64_t step, int64_t total) {
  char bar[BAR + 1];
  int filled = total > 0 ? (int)(BAR * step / total) : BAR;
  for (int i = 0; i < BAR; i++)
    bar[i] = i < filled ? '=' : '.';
  if (step < total)
    bar[filled > 0 ? filled - 1 : 0] = '>';
  bar[BAR] = '\0';
  append(l, "%*" PRId64 "/%" PRId64 " [%s]", digits(total), step, total, bar);
}

static void append_timing(Line *l, const CnnEpochStats *s, int64_t total,
                          bool done) {
  double per_step = s->steps > 0 ? s->train_seconds / (double)s->steps : 0;
  if (done) {
    append(l, " - %.0fs ", s->seconds);
    append_per_step(l, per_step);
  } else {
    append(l, " - ETA: ");
    append_eta(l, per_step * (double)(total - s->steps));
  }
}

static void append_metrics(Line *l, const CnnEpochStats *s, bool done) {
  append(l, " - loss: %.4f - accuracy: %.4f", s->loss, s->accuracy);
  if (done && s->has_validation)
    append(l, " - val_loss: %.4f - val_accuracy: %.4f", s->validation.loss,
           s->validation.accuracy);
}

static void draw(CnnProgress *p, const CnnEpochStats *s, bool done) {
  Line l = {.len = 0};
  append_bar(&l, s->steps, p->total_steps);
  append_timing(&l, s, p->total_steps, done);
  append_metrics(&l, s, done);
  /* blank what a longer previous line (a longer ETA) would leave behind */
  int pad = p->width > l.len ? p->width - l.len : 0;
  fprintf(p->out, "\r%s%*s%s", l.text, pad, "", done ? "\n" : "");
  fflush(p->out);
  p->width = l.len;
}

void cnn_progress_step(CnnProgress *p, const CnnEpochStats *s) {
  if (p->quiet || !p->tty)
    return;
  double now = cnn_seconds();
  if (now - p->last_draw < REDRAW_SECONDS)
    return;
  p->last_draw = now;
  draw(p, s, false);
}

/* --- the line per epoch -------------------------------------------------- */

static void print_plain(FILE *out, const CnnEpochStats *s) {
  double ms = s->steps > 0 ? s->train_seconds * 1e3 / (double)s->steps : 0;
  double rate = s->train_seconds > 0 ? (double)s->images / s->train_seconds : 0;
  fprintf(out, "epoch %" PRId64 "/%" PRId64 ": loss %.4f acc %.4f", s->epoch,
          s->epochs, s->loss, s->accuracy);
  if (s->has_validation)
    fprintf(out, " val_loss %.4f val_acc %.4f", s->validation.loss,
            s->validation.accuracy);
  fprintf(out, " time %.1fs (%.*f ms/step, %.0f img/s)\n", s->seconds,
          ms >= 10 ? 0 : ms >= 1 ? 1 : 2, ms, rate);
  fflush(out);
}

void cnn_progress_epoch_end(CnnProgress *p, const CnnEpochStats *s) {
  if (p->quiet)
    return;
  if (p->tty)
    draw(p, s, true);
  else
    print_plain(p->out, s);
}
