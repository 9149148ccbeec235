/* plot.c - --plot FILE.svg: the run's curves as an SVG image a browser
 * shows, redrawn after each epoch so that it can be watched.
 *
 * Three panels against the epoch: the loss and the accuracy (training and,
 * when there are validation images, validation) and the learning rate,
 * each with its axes, ticks and a legend, and a fourth corner that gives
 * the last epoch's figures. The figures are the CSV log's rows (the run's
 * rows are kept in memory, CnnRunState), parsed again at each drawing, so
 * that a resumed run draws the epochs before it too and nothing is
 * allocated. The file is replaced atomically each time (outfile.c): a
 * browser that reloads it never sees half a drawing. A drawing that
 * cannot be written is reported once; training goes on, and the next
 * epoch tries again. */
#include "runtime.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "outfile.h"

enum { WIDTH = 900, HEIGHT = 600, PANEL_W = WIDTH / 2, PANEL_H = 270,
       TOP = 40, LEFT = 70, RIGHT = 20, ABOVE = 30, BELOW = 45 };

/* the columns of a log row (csvlog.c) */
enum { C_EPOCH, C_LOSS, C_ACC, C_VAL_LOSS, C_VAL_ACC, C_LR, C_COLUMNS };

/* --- the rows ------------------------------------------------------------ */

/* One row's values (NA: NaN) from *p, which moves to the next row; false
 * at the end. */
static bool next_row(const char **p, double v[C_COLUMNS]) {
  if (!**p)
    return false;
  const char *at = *p;
  for (int c = 0; c < C_COLUMNS; c++) {
    char *end;
    v[c] = strtod(at, &end);
    if (end == at)
      v[c] = NAN; /* "NA" */
    at += strcspn(at, ",\n");
    if (*at == ',')
      at++;
  }
  at += strcspn(at, "\n");
  *p = *at ? at + 1 : at;
  return true;
}

typedef struct Range {
  double hi; /* the axis is [0, hi] */
  double step;
} Range;

static double nice_step(double span, int ticks) {
  double raw = span / ticks, p = pow(10, floor(log10(raw))), f = raw / p;
  return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * p;
}

static Range range_of(double most, int ticks, bool whole) {
  if (!(most > 0) || !isfinite(most))
    most = 1;
  double step = nice_step(most, ticks);
  if (whole && step < 1)
    step = 1;
  return (Range){ceil(most / step - 1e-9) * step, step};
}

static bool any_value(const char *rows, int c) {
  double v[C_COLUMNS];
  for (const char *p = rows; next_row(&p, v);)
    if (isfinite(v[c]))
      return true;
  return false;
}

/* the largest finite value of column c, or 0 */
static double largest(const char *rows, int c) {
  double v[C_COLUMNS], most = 0;
  for (const char *p = rows; next_row(&p, v);)
    if (isfinite(v[c]) && v[c] > most)
      most = v[c];
  return most;
}

/* --- a panel ----------------------------------------------------------- */

typedef struct Panel {
  int x, y;        /* its top left corner */
  Range ex, ey;    /* epochs, values */
  const char *title;
} Panel;

static double px(const Panel *p, double epoch) {
  return p->x + LEFT + epoch / p->ex.hi * (PANEL_W - LEFT - RIGHT);
}

static double py(const Panel *p, double value) {
  return p->y + ABOVE + (1 - value / p->ey.hi) * (PANEL_H - ABOVE - BELOW);
}

static void axes(OutBuffer *s, const Panel *p) {
  double x0 = px(p, 0), x1 = px(p, p->ex.hi);
  double y0 = py(p, 0), y1 = py(p, p->ey.hi);
  outbuf_printf(s, "<g class=\"panel\">\n<text x=\"%.1f\" y=\"%d\" font-size=\"15\" "
      "font-weight=\"bold\">%s</text>\n", x0, p->y + 20, p->title);
  outbuf_printf(s, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
      "fill=\"none\" stroke=\"#444\"/>\n", x0, y1, x1 - x0, y0 - y1);
  for (double t = 0; t <= p->ey.hi * (1 + 1e-9); t += p->ey.step) {
    outbuf_printf(s, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
        "stroke=\"#ddd\"/>\n", x0, py(p, t), x1, py(p, t));
    outbuf_printf(s, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n",
        x0 - 5, py(p, t) + 4, t);
  }
  for (double t = 0; t <= p->ex.hi * (1 + 1e-9); t += p->ex.step) {
    outbuf_printf(s, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
        "stroke=\"#444\"/>\n", px(p, t), y0, px(p, t), y0 + 5);
    outbuf_printf(s, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g</text>\n",
        px(p, t), y0 + 18, t);
  }
  outbuf_printf(s, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">epoch</text>\n",
      (x0 + x1) / 2, y0 + 36);
  outbuf_printf(s, "</g>\n");
}

/* column c as a polyline (a point per epoch that has a value), and a dot
 * per point while there are few enough to tell apart */
static void curve(OutBuffer *s, const Panel *p, const char *rows, int c,
                  const char *colour, const char *name) {
  double v[C_COLUMNS];
  int64_t n = 0;
  outbuf_printf(s, "<polyline class=\"%s\" fill=\"none\" stroke=\"%s\" "
      "stroke-width=\"2\" points=\"", name, colour);
  for (const char *q = rows; next_row(&q, v);)
    if (isfinite(v[c]) && isfinite(v[C_EPOCH])) {
      outbuf_printf(s, "%s%.1f,%.1f", n ? " " : "", px(p, v[C_EPOCH]), py(p, v[c]));
      n++;
    }
  outbuf_printf(s, "\"/>\n");
  if (n > 40)
    return;
  for (const char *q = rows; next_row(&q, v);)
    if (isfinite(v[c]) && isfinite(v[C_EPOCH]))
      outbuf_printf(s, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n",
          px(p, v[C_EPOCH]), py(p, v[c]), colour);
}

/* the legend, inside the panel at its right, at the top or (accuracy,
 * whose curves end high) the bottom */
static void legend(OutBuffer *s, const Panel *p, int n, const char *const *colours,
                   const char *const *names, bool bottom) {
  double x = px(p, p->ex.hi) - 110;
  double y = bottom ? py(p, 0) - 16 - 18 * n : py(p, p->ey.hi) + 8;
  outbuf_printf(s, "<g class=\"legend\">\n<rect x=\"%.1f\" y=\"%.1f\" width=\"104\" "
      "height=\"%d\" fill=\"white\" fill-opacity=\"0.85\" stroke=\"#aaa\"/>\n",
      x, y, 8 + 18 * n);
  for (int i = 0; i < n; i++) {
    double ly = y + 14 + 18 * i;
    outbuf_printf(s, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
        "stroke=\"%s\" stroke-width=\"2\"/>\n", x + 6, ly, x + 26, ly,
        colours[i]);
    outbuf_printf(s, "<text x=\"%.1f\" y=\"%.1f\">%s</text>\n", x + 32, ly + 4,
        names[i]);
  }
  outbuf_printf(s, "</g>\n");
}

static const char *const COLOURS[] = {"#1f77b4", "#ff7f0e", "#2ca02c"};
static const char *const NAMES[] = {"training", "validation"};

static void pair_panel(OutBuffer *s, Panel *p, const char *rows, int train,
                       int validation, double most, bool bottom) {
  bool has_validation = any_value(rows, validation);
  p->ey = range_of(most, 5, false);
  axes(s, p);
  curve(s, p, rows, train, COLOURS[0], "training");
  if (has_validation)
    curve(s, p, rows, validation, COLOURS[1], "validation");
  legend(s, p, has_validation ? 2 : 1, COLOURS, NAMES, bottom);
}

/* the last row's figures, in the fourth corner */
static void summary(OutBuffer *s, const char *rows, const char *model,
                    int64_t epochs) {
  double v[C_COLUMNS] = {0}, last[C_COLUMNS] = {0};
  int64_t n = 0;
  for (const char *q = rows; next_row(&q, v); n++)
    memcpy(last, v, sizeof v);
  int x = PANEL_W + LEFT, y = TOP + PANEL_H + ABOVE + 10;
  outbuf_printf(s, "<g class=\"summary\" font-size=\"14\">\n");
  outbuf_printf(s, "<text x=\"%d\" y=\"%d\" font-weight=\"bold\">model %s</text>\n", x,
      y, model);
  if (n == 0) {
    outbuf_printf(s, "<text x=\"%d\" y=\"%d\">no epoch yet (of %" PRId64
        ")</text>\n</g>\n", x, y + 24, epochs);
    return;
  }
  outbuf_printf(s, "<text x=\"%d\" y=\"%d\">epoch %g of %" PRId64 "</text>\n", x,
      y + 24, last[C_EPOCH], epochs);
  outbuf_printf(s, "<text x=\"%d\" y=\"%d\">loss %.4f, accuracy %.4f</text>\n", x,
      y + 48, last[C_LOSS], last[C_ACC]);
  if (isfinite(last[C_VAL_LOSS]))
    outbuf_printf(s, "<text x=\"%d\" y=\"%d\">val_loss %.4f, val_accuracy %.4f"
        "</text>\n", x, y + 72, last[C_VAL_LOSS], last[C_VAL_ACC]);
  outbuf_printf(s, "<text x=\"%d\" y=\"%d\">lr %g</text>\n</g>\n", x, y + 96,
      last[C_LR]);
}

static void draw(OutBuffer *s, const char *model, int64_t epochs, const char *rows) {
  outbuf_printf(s, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://"
      "www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"%d\" "
      "height=\"%d\" fill=\"white\"/>\n", WIDTH, HEIGHT, WIDTH, HEIGHT, WIDTH,
      HEIGHT);
  outbuf_printf(s, "<title>%s: training curves</title>\n", model);
  double most_epoch = largest(rows, C_EPOCH);
  Range ex = range_of(most_epoch > epochs ? most_epoch : (double)epochs, 6,
                      true);
  double loss = largest(rows, C_LOSS), val_loss = largest(rows, C_VAL_LOSS);
  Panel p = {0, TOP, ex, {1, 0.2}, "loss"};
  pair_panel(s, &p, rows, C_LOSS, C_VAL_LOSS,
             loss > val_loss ? loss : val_loss, false);
  p = (Panel){PANEL_W, TOP, ex, {1, 0.2}, "accuracy"};
  pair_panel(s, &p, rows, C_ACC, C_VAL_ACC, 1, true);
  p = (Panel){0, TOP + PANEL_H, ex, range_of(largest(rows, C_LR), 5, false),
              "learning rate"};
  axes(s, &p);
  curve(s, &p, rows, C_LR, COLOURS[2], "lr");
  legend(s, &p, 1, COLOURS + 2, (const char *const[]){"lr"}, false);
  summary(s, rows, model, epochs);
  outbuf_printf(s, "</svg>\n");
}

static bool reported;

bool cnn_plot_write(const char *path, const char *model, int64_t epochs,
                    const char *rows) {
  static OutBuffer s; /* 16 KiB with its OutFile: off the stack */
  if (outbuf_open(&s, path))
    draw(&s, model, epochs, rows);
  if (outbuf_commit(&s))
    return true; /* else the previous drawing stays */
  if (!reported)
    cnn_error("--plot %s; training goes on, and each epoch tries again",
              s.f.why);
  reported = true;
  return false;
}

bool cnn_plot_failed(void) {
  return reported;
}
