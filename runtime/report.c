/* report.c - the test set's per-class accuracy and confusion matrix: what
 * the end of a run prints, and what --report FILE.csv writes.
 *
 * On the terminal (80 columns) the matrix is shown whole when it fits
 * (ten classes do, even with 10000 test images): one row per true class,
 * its label ("3 cat", names cut short to fit, or the index alone), the
 * counts of each predicted class, the row's images and its accuracy.
 * When it does not fit (CIFAR-100), the per-class accuracies are printed
 * in columns and the matrix is summed up by its ten largest off-diagonal
 * cells, the most confused pairs; the file always holds it all.
 *
 * The file is one CSV table, a row per true class:
 *   class,name,images,correct,accuracy,predicted_0,...,predicted_{K-1}
 * so that the per-class figures and the matrix row of a class are one
 * record (pandas: read_csv, then the predicted_* columns are the matrix).
 * name is empty when the dataset names no classes; accuracy is empty for a
 * class without test images. */
#include "runtime.h"

#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "outfile.h"

enum { COLUMNS = 80, NAME_MAX_SHOWN = 16, TOP_PAIRS = 10 };

static int digits(int64_t v) {
  int n = 1;
  for (; v >= 10; v /= 10)
    n++;
  return n;
}

static int64_t cell(const CnnReport *r, int64_t truth, int64_t guess) {
  return r->confusion[truth * r->classes + guess];
}

static int64_t row_images(const CnnReport *r, int64_t truth) {
  int64_t n = 0;
  for (int64_t g = 0; g < r->classes; g++)
    n += cell(r, truth, g);
  return n;
}

static const char *name_of(const CnnReport *r, int64_t k) {
  return r->names && r->names->count > k ? r->names->names[k] : NULL;
}

static int longest_name(const CnnReport *r) {
  size_t n = 0;
  for (int64_t k = 0; k < r->classes; k++)
    if (name_of(r, k) && strlen(name_of(r, k)) > n)
      n = strlen(name_of(r, k));
  return (int)n;
}

/* "0.9230", or "-" for a class without test images, in width w */
static void print_accuracy(FILE *out, int64_t right, int64_t images, int w) {
  if (images == 0)
    fprintf(out, "%*s", w, "-");
  else
    fprintf(out, "%*.4f", w, (double)right / (double)images);
}

/* "  3 cat     ": the index, and the name cut to name_w (0: none) */
static void print_label(FILE *out, const CnnReport *r, int64_t k, int idx_w,
                        int name_w) {
  fprintf(out, "  %*" PRId64, idx_w, k);
  if (name_w > 0)
    fprintf(out, " %-*.*s", name_w, name_w, name_of(r, k) ? name_of(r, k) : "");
}

typedef struct Matrix {
  int idx_w, name_w, cell_w, images_w;
} Matrix;

enum { ACC_W = 8 }; /* "  0.9230" */

static int matrix_width(const CnnReport *r, const Matrix *x) {
  return 2 + x->idx_w + (x->name_w ? 1 + x->name_w : 0) +
         (int)r->classes * x->cell_w + x->images_w + ACC_W;
}

/* The widths of a matrix that fits in COLUMNS, names cut to fit (or left
 * out); false when even the indices alone are too wide. */
static bool matrix_fits(const CnnReport *r, Matrix *x) {
  int64_t most = 0, images = 0;
  for (int64_t t = 0; t < r->classes; t++) {
    int64_t n = row_images(r, t);
    images = n > images ? n : images;
    for (int64_t g = 0; g < r->classes; g++)
      most = cell(r, t, g) > most ? cell(r, t, g) : most;
  }
  x->idx_w = digits(r->classes - 1);
  int w = digits(most) > x->idx_w ? digits(most) : x->idx_w;
  x->cell_w = (w < 3 ? 3 : w) + 1;
  x->images_w = (digits(images) < 6 ? 6 : digits(images)) + 2;
  x->name_w = longest_name(r) < NAME_MAX_SHOWN ? longest_name(r)
                                               : NAME_MAX_SHOWN;
  while (x->name_w > 3 && matrix_width(r, x) > COLUMNS)
    x->name_w--;
  if (matrix_width(r, x) > COLUMNS)
    x->name_w = 0;
  return matrix_width(r, x) <= COLUMNS;
}

static void print_matrix(const CnnReport *r, const Matrix *x, FILE *out) {
  fprintf(out, "per class (test images; rows: true class, columns: "
          "predicted):\n");
  fprintf(out, "%*s", 2 + x->idx_w + (x->name_w ? 1 + x->name_w : 0), "");
  for (int64_t g = 0; g < r->classes; g++)
    fprintf(out, "%*" PRId64, x->cell_w, g);
  fprintf(out, "%*s%*s\n", x->images_w, "images", ACC_W, "acc");
  for (int64_t t = 0; t < r->classes; t++) {
    print_label(out, r, t, x->idx_w, x->name_w);
    for (int64_t g = 0; g < r->classes; g++)
      fprintf(out, "%*" PRId64, x->cell_w, cell(r, t, g));
    int64_t images = row_images(r, t);
    fprintf(out, "%*" PRId64, x->images_w, images);
    print_accuracy(out, cell(r, t, t), images, ACC_W);
    fputc('\n', out);
  }
}

/* many classes: "  12 apple      0.8100" entries, as many a line as fit */
static void print_accuracies(const CnnReport *r, FILE *out) {
  int idx_w = digits(r->classes - 1);
  int name_w = longest_name(r) < 10 ? longest_name(r) : 10;
  int entry = idx_w + (name_w ? 1 + name_w : 0) + ACC_W;
  int per_line = (COLUMNS - 2) / (entry + 2);
  per_line = per_line < 1 ? 1 : per_line;
  fprintf(out, "accuracy per class (test images):\n");
  for (int64_t k = 0; k < r->classes; k++) {
    print_label(out, r, k, idx_w, name_w);
    print_accuracy(out, cell(r, k, k), row_images(r, k), ACC_W);
    if ((k + 1) % per_line == 0 || k + 1 == r->classes)
      fputc('\n', out);
  }
}

typedef struct Pair {
  int64_t count, truth, guess;
} Pair;

/* the TOP_PAIRS largest off-diagonal cells, largest first (ties: in the
 * matrix's order), without allocating */
static int most_confused(const CnnReport *r, Pair top[TOP_PAIRS]) {
  int n = 0;
  for (int64_t t = 0; t < r->classes; t++)
    for (int64_t g = 0; g < r->classes; g++) {
      Pair p = {cell(r, t, g), t, g};
      if (t == g || p.count == 0 || (n == TOP_PAIRS &&
                                     p.count <= top[n - 1].count))
        continue;
      int at = n < TOP_PAIRS ? n++ : n - 1;
      for (; at > 0 && top[at - 1].count < p.count; at--)
        top[at] = top[at - 1];
      top[at] = p;
    }
  return n;
}

static void print_class(const CnnReport *r, int64_t k, FILE *out) {
  if (name_of(r, k))
    fprintf(out, "%" PRId64 " %s", k, name_of(r, k));
  else
    fprintf(out, "%" PRId64, k);
}

static void print_pairs(const CnnReport *r, FILE *out) {
  Pair top[TOP_PAIRS];
  int n = most_confused(r, top);
  fprintf(out, "most confused (images: true class -> predicted; the "
          "whole matrix: --report):\n");
  if (n == 0)
    fprintf(out, "  none\n");
  for (int i = 0; i < n; i++) {
    fprintf(out, "  %6" PRId64 "  ", top[i].count);
    print_class(r, top[i].truth, out);
    fprintf(out, " -> ");
    print_class(r, top[i].guess, out);
    fputc('\n', out);
  }
}

void cnn_report_print(const CnnReport *r, FILE *out) {
  Matrix x;
  if (matrix_fits(r, &x)) {
    print_matrix(r, &x, out);
    return;
  }
  print_accuracies(r, out);
  print_pairs(r, out);
}

/* --- the CSV file ----------------------------------------------------- */

/* a CSV field: quoted (quotes doubled) when it holds , " or edge spaces */
static void csv_field(OutBuffer *c, const char *s) {
  size_t len = strlen(s);
  bool edge = len && (s[0] == ' ' || s[len - 1] == ' ');
  bool quote = edge || strpbrk(s, ",\"");
  if (!quote) {
    outbuf_put(c, s, len);
    return;
  }
  outbuf_put(c, "\"", 1);
  for (const char *q = s; *q; q++)
    outbuf_put(c, *q == '"' ? "\"\"" : q, *q == '"' ? 2 : 1);
  outbuf_put(c, "\"", 1);
}

static void csv_rows(const CnnReport *r, OutBuffer *c) {
  outbuf_printf(c, "class,name,images,correct,accuracy");
  for (int64_t g = 0; g < r->classes; g++)
    outbuf_printf(c, ",predicted_%" PRId64, g);
  outbuf_put(c, "\n", 1);
  for (int64_t t = 0; t < r->classes; t++) {
    outbuf_printf(c, "%" PRId64 ",", t);
    if (name_of(r, t))
      csv_field(c, name_of(r, t));
    int64_t images = row_images(r, t), right = cell(r, t, t);
    outbuf_printf(c, ",%" PRId64 ",%" PRId64 ",", images, right);
    if (images > 0)
      outbuf_printf(c, "%.6f", (double)right / (double)images);
    for (int64_t g = 0; g < r->classes; g++)
      outbuf_printf(c, ",%" PRId64, cell(r, t, g));
    outbuf_put(c, "\n", 1);
  }
}

bool cnn_report_write(const CnnReport *r, const char *path) {
  /* through a fixed buffer: writing at the end of a long run needs no
   * memory (as --save allocates before the first step) */
  static OutBuffer c; /* 16 KiB with its OutFile: off the stack, used once */
  if (outbuf_open(&c, path))
    csv_rows(r, &c);
  if (outbuf_commit(&c))
    return true; /* else the previous file, if any, stays */
  cnn_error("--report %s", c.f.why);
  return false;
}
