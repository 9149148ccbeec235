/* summary.c - `cnnc --summary`: what Keras's model.summary() prints, and
 * what a compiler can add: forward FLOPs and activation memory per image.
 *
 * Rows are layers, not nodes: an `activation=` node and its conv2d are one
 * row, a batchnorm's batch_stats and the batchnorm are one row, and a fused
 * node is one row, so the table reads the same before and after fusion.
 * Only the forward graph has rows: the loss, gradients and updates are not
 * layers.
 *
 * A chain (every layer reads the one before it) prints as Keras prints a
 * Sequential model; a graph (from=, add, concat) as Keras prints a
 * functional one: an InputLayer row first, and a "Connected to" column
 * that names the layers each one reads. */
#include "summary.h"

#include <inttypes.h>
#include <string.h>

/* The columns' least widths; a longer name or shape widens its column, as
 * Keras widens them, so that the columns stay aligned. */
enum { LABEL_W = 32, SHAPE_W = 25, PARAMS_W = 12, CONNECTED_W = 25 };
enum { SEQUENTIAL_RULE = 1 + LABEL_W + 1 + SHAPE_W + 1 + 10 };

typedef struct Row {
  const char *name;
  const char *type;   /* "conv2d", or "InputLayer" for the input */
  const Tensor *out;  /* what the next layer reads */
  int64_t trainable;  /* floats the optimizer updates */
  int64_t frozen;     /* float buffers: running statistics */
  const Tensor **reads; /* the tensors it reads from other layers */
  int nreads;
} Row;

typedef struct Table {
  Row *rows;
  int nrows;
  bool graph;        /* print the "Connected to" column and the input */
  int label_w, shape_w, rule;
} Table;

typedef struct Totals {
  int64_t trainable, frozen;
  double flops;
  int64_t act_elems;
} Totals;

/* 469514 -> "469,514" */
static const char *grouped(int64_t v, char *buf, size_t cap) {
  char digits[32];
  int n = snprintf(digits, sizeof digits, "%" PRId64, v);
  size_t j = 0;
  for (int i = 0; i < n && j + 2 < cap; i++) {
    if (i > 0 && digits[i - 1] != '-' && (n - i) % 3 == 0)
      buf[j++] = ',';
    buf[j++] = digits[i];
  }
  buf[j] = '\0';
  return buf;
}

static void rule(FILE *out, int width, char c) {
  for (int i = 0; i < width; i++)
    fputc(c, out);
  fputc('\n', out);
}

/* "(None, 28, 28, 64)": the batch is the leading None, as in Keras. */
static void keras_shape(const Shape *s, char *buf, size_t cap) {
  size_t len = (size_t)snprintf(buf, cap, "(None");
  for (int i = 0; i < s->rank && len < cap; i++)
    len += (size_t)snprintf(buf + len, cap - len, ", %" PRId64, s->dim[i]);
  if (len < cap)
    snprintf(buf + len, cap - len, ")");
}

static double node_flops(const Node *n) {
  const Shape *out = &n->out->shape;
  if (n->op == OP_CONV2D) {
    const ConvAttr *c = &n->attr.conv;
    double cin = (double)n->in[0]->shape.dim[2];
    return 2.0 * (double)ir_shape_elems(out) * c->kh * c->kw * cin;
  }
  if (n->op == OP_DENSE)
    return 2.0 * (double)n->in[0]->shape.dim[0] * n->attr.dense.units;
  return 0;
}

/* ---- collecting the rows ------------------------------------------------ */

/* The loss, the backward graph and the updates are not layers. */
static bool is_layer_node(const Node *n) {
  return !(ir_op_info(n->op)->flags & (OPF_LOSS | OPF_GRAD | OPF_UPDATE));
}

static const char *layer_of(const Tensor *t) {
  return t->def ? t->def->layer : t->name;
}

/* Whether nodes[first..n->index) of the layer already read t. */
static bool read_before(const Module *m, int first, const Node *n,
                        const Tensor *t) {
  for (int j = first; j < n->index; j++)
    for (int i = 0; i < m->nodes[j]->nin; i++)
      if (m->nodes[j]->in[i] == t)
        return true;
  return false;
}

/* Counts a parameter as Keras does: a trainable float is a trainable
 * parameter; a float buffer (batchnorm's running_mean and running_var,
 * Keras's moving_mean and moving_variance) a non-trainable one. An int64
 * buffer (num_batches_tracked) is a counter of steps, not a parameter:
 * Keras has none and PyTorch's parameters() leaves it out, so it is not
 * counted. */
static void count_param(Row *r, const Tensor *t) {
  if (t->dtype != DT_F32)
    return;
  if (t->param.trainable)
    r->trainable += ir_shape_elems(&t->shape);
  else
    r->frozen += ir_shape_elems(&t->shape);
}

/* What node n of the row adds: its parameters (each once) and the
 * tensors it reads from other layers (each once, but add(a, a) reads a
 * twice, as Keras would show). */
static void add_node(const Module *m, Row *r, int first, const Node *n) {
  for (int i = 0; i < n->nin; i++) {
    const Tensor *t = n->in[i];
    bool again = read_before(m, first, n, t);
    if (t->kind == TK_PARAM && !again)
      count_param(r, t);
    bool outside = t->kind == TK_INPUT ||
                   (t->kind == TK_VALUE && strcmp(layer_of(t), r->name));
    if (outside && !again)
      r->reads[r->nreads++] = t;
  }
}

/* The row of the layer that starts at nodes[first]; returns the index of
 * the first node after it. Its type is the op of the node that makes the
 * tensor named after the layer (batchnorm, not its batch_stats; conv2d,
 * not its relu), else its first node's. */
static int collect_row(const Module *m, int first, Row *r, Totals *t) {
  const Node *head = m->nodes[first];
  int nin = 0, end = first;
  for (; end < m->nnodes && strcmp(m->nodes[end]->layer, head->layer) == 0;
       end++)
    nin += m->nodes[end]->nin;
  *r = (Row){head->layer, ir_op_info(head->op)->name, NULL, 0, 0, NULL, 0};
  r->reads = arena_array(m->arena, (size_t)nin + 1, sizeof *r->reads);
  for (int i = first; i < end; i++) {
    const Node *n = m->nodes[i];
    add_node(m, r, first, n);
    t->flops += node_flops(n);
    if (strcmp(n->out->name, r->name) == 0)
      r->type = ir_op_info(n->op)->name;
    r->out = n->out;
  }
  return end;
}

/* A chain: each row reads exactly the output of the row before it. */
static bool is_chain(const Module *m, const Table *tb) {
  const Tensor *prev = m->input;
  for (int i = 0; i < tb->nrows; i++) {
    if (tb->rows[i].nreads != 1 || tb->rows[i].reads[0] != prev)
      return false;
    prev = tb->rows[i].out;
  }
  return true;
}

static Row input_row(const Module *m) {
  return (Row){m->input->name, "InputLayer", m->input, 0, 0, NULL, 0};
}

static void collect_rows(const Module *m, Table *tb, Totals *t) {
  tb->rows = arena_array(m->arena, (size_t)m->nnodes + 2, sizeof *tb->rows);
  tb->nrows = 0;
  for (int i = 0; i < m->nnodes;) {
    if (!is_layer_node(m->nodes[i])) {
      i++;
      continue;
    }
    i = collect_row(m, i, &tb->rows[tb->nrows++], t);
  }
  tb->graph = !is_chain(m, tb);
  if (!tb->graph)
    return;
  /* the input's normalisation (a row named after the input) is part of
   * its InputLayer row, which the other rows name as what they read */
  bool normalized = tb->nrows > 0 && strcmp(tb->rows[0].name, m->input->name) == 0;
  const Tensor *out = normalized ? tb->rows[0].out : m->input;
  if (!normalized) {
    memmove(tb->rows + 1, tb->rows, (size_t)tb->nrows * sizeof *tb->rows);
    tb->nrows++;
  }
  tb->rows[0] = input_row(m);
  tb->rows[0].out = out; /* counted among the activations, as in a chain */
}

/* ---- printing ------------------------------------------------------------ */

/* "conv2d_1 (conv2d)", padded to width; names may be of any length. */
static int label_len(const Row *r) {
  return (int)(strlen(r->name) + strlen(r->type) + 3);
}

static void print_label(FILE *out, const Row *r, int width) {
  fprintf(out, " %s (%s)%*s", r->name, r->type,
          width > label_len(r) ? width - label_len(r) : 0, "");
}

static int max_int(int a, int b) { return a > b ? a : b; }

static void set_widths(Table *tb) {
  tb->label_w = LABEL_W;
  tb->shape_w = SHAPE_W;
  char shape[96];
  for (int i = 0; i < tb->nrows; i++) {
    keras_shape(&tb->rows[i].out->shape, shape, sizeof shape);
    tb->label_w = max_int(tb->label_w, label_len(&tb->rows[i]));
    tb->shape_w = max_int(tb->shape_w, (int)strlen(shape));
  }
  int widened = tb->label_w - LABEL_W + tb->shape_w - SHAPE_W;
  tb->rule = SEQUENTIAL_RULE + widened;
  if (tb->graph)
    tb->rule += PARAMS_W - 10 + 1 + CONNECTED_W;
}

/* "b1_bn2, stem_bn", wrapped at the rule onto lines that start under the
 * column; "-" for the input. */
static void print_connected(FILE *out, const Table *tb, const Row *r,
                            int column) {
  if (r->nreads == 0) {
    fputs("-", out);
    return;
  }
  int at = column;
  for (int i = 0; i < r->nreads; i++) {
    const char *name = layer_of(r->reads[i]);
    int len = (int)strlen(name) + (i + 1 < r->nreads);
    if (i > 0 && at + 1 + len > tb->rule) {
      fprintf(out, "\n%*s", column, "");
      at = column;
    } else if (i > 0) {
      fputc(' ', out);
      at++;
    }
    fprintf(out, "%s%s", name, i + 1 < r->nreads ? "," : "");
    at += len;
  }
}

static void print_row(FILE *out, const Table *tb, const Row *r) {
  char shape[96], num[32];
  keras_shape(&r->out->shape, shape, sizeof shape);
  grouped(r->trainable + r->frozen, num, sizeof num);
  print_label(out, r, tb->label_w);
  if (!tb->graph) {
    fprintf(out, " %-*s %s\n", tb->shape_w, shape, num);
    return;
  }
  fprintf(out, " %-*s %-*s ", tb->shape_w, shape, PARAMS_W, num);
  print_connected(out, tb, r, 1 + tb->label_w + 1 + tb->shape_w + 1 +
                                  PARAMS_W + 1);
  fputc('\n', out);
}

static void print_header(FILE *out, const Table *tb) {
  if (tb->graph)
    fprintf(out, " %-*s %-*s %-*s %s\n", tb->label_w, "Layer (type)",
            tb->shape_w, "Output Shape", PARAMS_W, "Param #", "Connected to");
  else
    fprintf(out, " %-*s %-*s %s\n", tb->label_w, "Layer (type)", tb->shape_w,
            "Output Shape", "Param #");
}

static void print_totals(FILE *out, const Totals *t, int width) {
  char num[32];
  int64_t total = t->trainable + t->frozen;
  fprintf(out, "Total params: %s (%.2f MB)\n", grouped(total, num, 32),
          (double)total * 4 / (1024.0 * 1024.0));
  fprintf(out, "Trainable params: %s\n", grouped(t->trainable, num, 32));
  fprintf(out, "Non-trainable params: %s\n", grouped(t->frozen, num, 32));
  rule(out, width, '_');
  if (t->flops < 9e18)
    grouped((int64_t)t->flops, num, sizeof num);
  else
    snprintf(num, sizeof num, "%.3g", t->flops);
  fprintf(out, "Forward FLOPs per image: %s (%.2f MFLOP; multiply-adds of "
          "conv2d and dense, 2 each)\n", num, t->flops / 1e6);
  fprintf(out, "Activations per image: %s bytes (%.1f KiB; the input and "
          "every layer's output, f32)\n", grouped(t->act_elems * 4, num, 32),
          (double)t->act_elems * 4 / 1024);
}

void summary_print(FILE *out, const Module *m) {
  if (!m->shaped)
    unreachable();
  Totals t = {0, 0, 0, ir_shape_elems(&m->input->shape)};
  Table tb;
  collect_rows(m, &tb, &t);
  set_widths(&tb);
  fprintf(out, "Model: \"%s\"\n", m->name);
  rule(out, tb.rule, '_');
  print_header(out, &tb);
  rule(out, tb.rule, '=');
  for (int i = 0; i < tb.nrows; i++) {
    const Row *r = &tb.rows[i];
    print_row(out, &tb, r);
    t.trainable += r->trainable;
    t.frozen += r->frozen;
    if (r->out != m->input)
      t.act_elems += ir_shape_elems(&r->out->shape);
  }
  rule(out, tb.rule, '=');
  print_totals(out, &t, tb.rule);
}
