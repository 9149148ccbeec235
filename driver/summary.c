/* summary.c - `cnnc --summary`: what Keras's model.summary() prints, and
 * what a compiler can add: forward FLOPs and activation memory per image.
 *
 * Rows are layers, not nodes: an `activation=` node and its conv2d are one
 * row, and a fused node is one row, so the table reads the same before and
 * after fusion. */
#include "summary.h"

#include <inttypes.h>
#include <string.h>

enum { RULE = 70 };

typedef struct Totals {
  int64_t params;
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

static void rule(FILE *out, char c) {
  for (int i = 0; i < RULE; i++)
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

static int64_t node_params(const Node *n) {
  int64_t p = 0;
  for (int i = 0; i < n->nin; i++)
    if (n->in[i]->kind == TK_PARAM)
      p += ir_shape_elems(&n->in[i]->shape);
  return p;
}

/* Prints the row of the layer that starts at nodes[i]; returns the index
 * of the first node of the next layer. */
static int print_layer(FILE *out, const Module *m, int i, Totals *t) {
  const Node *first = m->nodes[i], *last = first;
  int64_t params = 0;
  for (; i < m->nnodes && strcmp(m->nodes[i]->layer, first->layer) == 0; i++) {
    last = m->nodes[i];
    params += node_params(last);
    t->flops += node_flops(last);
  }
  char label[128], shape[96], num[32];
  snprintf(label, sizeof label, "%s (%s)", first->layer,
           ir_op_info(first->op)->name);
  keras_shape(&last->out->shape, shape, sizeof shape);
  fprintf(out, " %-32s %-25s %s\n", label, shape,
          grouped(params, num, sizeof num));
  t->params += params;
  t->act_elems += ir_shape_elems(&last->out->shape);
  return i;
}

static void print_totals(FILE *out, const Totals *t) {
  char num[32];
  fprintf(out, "Total params: %s (%.2f MB)\n", grouped(t->params, num, 32),
          (double)t->params * 4 / (1024.0 * 1024.0));
  fprintf(out, "Trainable params: %s\n", grouped(t->params, num, 32));
  fprintf(out, "Non-trainable params: 0\n");
  rule(out, '_');
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
  Totals t = {0, 0, ir_shape_elems(&m->input->shape)};
  fprintf(out, "Model: \"%s\"\n", m->name);
  rule(out, '_');
  fprintf(out, " %-32s %-25s %s\n", "Layer (type)", "Output Shape",
          "Param #");
  rule(out, '=');
  for (int i = 0; i < m->nnodes;) {
    if (ir_op_info(m->nodes[i]->op)->flags & OPF_LOSS) {
      i++;
      continue;
    }
    i = print_layer(out, m, i, &t);
  }
  rule(out, '=');
  print_totals(out, &t);
}
