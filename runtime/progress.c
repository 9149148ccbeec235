/* progress.c - Keras-style reports of the epoch loop on stdout.
 *
 * On a terminal it looks like Keras's fit:
 *   Epoch 3/10
 *   1100/1100 [==============================] - 38s 35ms/step - loss: 0.0412
 *   - accuracy: 0.9871 - val_loss: 0.0301 - val_accuracy: 0.9912 - lr: 0.0010
 * (one line; lr is the last step's, which a schedule moves), the bar
 * redrawn in place with "\r" and an ETA while the epoch runs, at most ten
 * times a second so that a fast model does not spend its time printing.
 * Into a file or a pipe a bar would be noise: one plain line per epoch
 * instead, easy to grep.
 *
 * The bar line never reaches the terminal's last column: a line that wraps
 * leaves a row behind at every redraw (74 rows for one epoch on 80
 * columns). Each draw asks the terminal its width (TIOCGWINSZ, else
 * $COLUMNS, else 80) and fits the line into one column less: the bar
 * shrinks from 30 characters to 10, then whole items go, least useful
 * first (see DROP_ORDER); none is ever cut in the middle. */
#include "runtime.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

enum { BAR = 30, MIN_BAR = 10, LINE = 512, DEFAULT_WIDTH = 80 };
#define REDRAW_SECONDS 0.1

/* stdout's first failure is reported with its reason (outputs.c), which a
 * plain fflush here would lose: errno does not last until later */
static void flush(FILE *out) {
  if (out == stdout)
    cnn_stdout_ok();
  else
    fflush(out);
}

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
  flush(p->out);
}

/* --- the bar -------------------------------------------------------------- */

/* the terminal's columns: the kernel's idea first, as `ls` does */
static int terminal_width(FILE *out) {
  struct winsize ws;
  if (ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
    return ws.ws_col;
  const char *columns = getenv("COLUMNS");
  char *end;
  long n = columns ? strtol(columns, &end, 10) : 0;
  if (columns && *columns && !*end && n > 0 && n < 100000)
    return (int)n;
  return DEFAULT_WIDTH;
}

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

/* the pieces of a bar line, in the order they are shown */
typedef enum Item {
  ITEM_BAR,          /* " [====>.....]", BAR characters or fewer */
  ITEM_TIMING,       /* " - ETA: 12s", or at the end " - 38s 35ms/step" */
  ITEM_LOSS,
  ITEM_ACCURACY,
  ITEM_VAL_LOSS,     /* at the end only */
  ITEM_VAL_ACCURACY, /* at the end only */
  ITEM_LR,           /* the last step's learning rate */
  ITEMS
} Item;

/* What goes when the line is too wide, first to last. The step counter
 * ("  50/1100") always stays: it is the progress. */
static const Item DROP_ORDER[] = {ITEM_LR, ITEM_VAL_ACCURACY, ITEM_VAL_LOSS,
                                  ITEM_ACCURACY, ITEM_TIMING, ITEM_BAR,
                                  ITEM_LOSS};

typedef struct Layout {
  Line item[ITEMS]; /* the bar's is drawn after the fit, at its width */
  bool shown[ITEMS];
  int bar;          /* characters between the brackets */
} Layout;

static void set_metric(Layout *y, Item i, const char *name, double value) {
  append(&y->item[i], " - %s: %.4f", name, value);
  y->shown[i] = true;
}

/* Keras' Progbar: 4 decimals, or 4 significant digits below 1e-3 */
static void set_lr(Layout *y, double lr) {
  append(&y->item[ITEM_LR], lr > 1e-3 ? " - lr: %.4f" : " - lr: %.4e", lr);
  y->shown[ITEM_LR] = true;
}

static void set_timing(Layout *y, const CnnEpochStats *s, int64_t total,
                       bool done) {
  Line *l = &y->item[ITEM_TIMING];
  double per_step = s->steps > 0 ? s->train_seconds / (double)s->steps : 0;
  if (done) {
    append(l, " - %.0fs ", s->seconds);
    append_per_step(l, per_step);
  } else {
    append(l, " - ETA: ");
    append_eta(l, per_step * (double)(total - s->steps));
  }
  y->shown[ITEM_TIMING] = true;
}

static void set_items(Layout *y, const CnnEpochStats *s, int64_t total,
                      bool done) {
  y->shown[ITEM_BAR] = true;
  set_timing(y, s, total, done);
  set_metric(y, ITEM_LOSS, "loss", s->loss);
  set_metric(y, ITEM_ACCURACY, "accuracy", s->accuracy);
  if (done && s->has_validation) {
    set_metric(y, ITEM_VAL_LOSS, "val_loss", s->validation.loss);
    set_metric(y, ITEM_VAL_ACCURACY, "val_accuracy", s->validation.accuracy);
  }
  set_lr(y, s->lr);
}

/* Shows as much as fits in `room` characters beside the counter: the bar
 * as wide as it can be up to BAR, dropping items while it is narrower than
 * MIN_BAR. Returns false when not even the counter fits. */
static bool fit(Layout *y, int room) {
  for (size_t k = 0;; k++) {
    int used = 0;
    for (int i = 0; i < ITEMS; i++)
      used += y->shown[i] && i != ITEM_BAR ? y->item[i].len : 0;
    int bar_room = room - used - 3; /* " [" and "]" */
    if (y->shown[ITEM_BAR] && bar_room >= MIN_BAR) {
      y->bar = bar_room < BAR ? bar_room : BAR;
      return true;
    }
    if (!y->shown[ITEM_BAR] && used <= room)
      return true;
    if (k == sizeof DROP_ORDER / sizeof DROP_ORDER[0])
      return false;
    y->shown[DROP_ORDER[k]] = false;
  }
}

/* " [===>.........]": `width` characters between the brackets */
static void append_bar(Line *l, int64_t step, int64_t total, int width) {
  char bar[BAR + 1];
  int filled = total > 0 ? (int)(width * step / total) : width;
  for (int i = 0; i < width; i++)
    bar[i] = i < filled ? '=' : '.';
  if (step < total)
    bar[filled > 0 ? filled - 1 : 0] = '>';
  bar[width] = '\0';
  append(l, " [%s]", bar);
}

/* "  50/1100 [>.........] - ETA: 1:02 - loss: 0.0412", at most
 * `columns` - 1 characters; empty when not even the counter fits */
static void layout_line(Line *l, const CnnEpochStats *s, int64_t total,
                        bool done, int columns) {
  Layout y = {0};
  Line counter = {.len = 0};
  append(&counter, "%*" PRId64 "/%" PRId64, digits(total), s->steps, total);
  set_items(&y, s, total, done);
  if (!fit(&y, columns - 1 - counter.len))
    return;
  append(l, "%s", counter.text);
  if (y.shown[ITEM_BAR])
    append_bar(l, s->steps, total, y.bar);
  for (int i = ITEM_BAR + 1; i < ITEMS; i++)
    if (y.shown[i])
      append(l, "%s", y.item[i].text);
}

static void draw(CnnProgress *p, const CnnEpochStats *s, bool done) {
  Line l = {.len = 0};
  int columns = terminal_width(p->out);
  layout_line(&l, s, p->total_steps, done, columns);
  /* blank what a longer previous line (a longer ETA) would leave behind,
   * but never into the last column */
  int blank = p->width < columns - 1 ? p->width : columns - 1;
  int pad = blank > l.len ? blank - l.len : 0;
  fprintf(p->out, "\r%s%*s%s", l.text, pad, "", done ? "\n" : "");
  flush(p->out);
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
  fprintf(out, " lr %g", s->lr);
  fprintf(out, " time %.1fs (%.*f ms/step, %.0f img/s)\n", s->seconds,
          ms >= 10 ? 0 : ms >= 1 ? 1 : 2, ms, rate);
  flush(out);
}

void cnn_progress_epoch_end(CnnProgress *p, const CnnEpochStats *s) {
  if (p->quiet)
    return;
  if (p->tty)
    draw(p, s, true);
  else
    print_plain(p->out, s);
}
