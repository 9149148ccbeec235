/* infer_shapes.c - every tensor gets its static shape.
 *
 * Requires: a lowered module (the input's shape is known).
 * Keeps: the graph; sets Tensor.shape everywhere and m->shaped.
 *
 * The errors a user sees for a network that does not fit together are
 * made here, at the layer that does not fit, naming both shapes:
 *   conv2d_3: kernel 5x5 does not fit a 3x3 input with padding=valid */
#include <inttypes.h>

#include "passes.h"

static Shape shape3(int64_t h, int64_t w, int64_t c) {
  return (Shape){3, {h, w, c, 0}};
}

static Shape shape1(int64_t n) { return (Shape){1, {n, 0, 0, 0}}; }

static const char *str(const Shape *s, char *buf, size_t cap) {
  return ir_shape_str(s, buf, cap);
}

/* Products are checked: input(100000, 100000, 3) must be an error, not a
 * wrapped-around size. */
static bool fits(Module *m, const Node *n, const char *what, const Shape *s) {
  int64_t elems = 1;
  bool overflow = false;
  for (int i = 0; i < s->rank; i++)
    overflow |= __builtin_mul_overflow(elems, s->dim[i], &elems);
  if (!overflow && elems <= IR_MAX_ELEMS)
    return true;
  char buf[96];
  diag_error(m->diag, n ? n->loc : m->input->loc,
             "%s: %s %s has more than %" PRId64 " elements, the most a "
             "tensor may hold", n ? n->layer : m->input->name, what,
             str(s, buf, sizeof buf), IR_MAX_ELEMS);
  return false;
}

/* The parameters of the whole model must fit IR_MAX_ELEMS too: the
 * runtime addresses them as one buffer. */
static bool params_fit(Module *m, Node *n, const Tensor *t, int64_t *total) {
  if (t->kind != TK_PARAM)
    return true;
  *total += ir_shape_elems(&t->shape);
  if (*total <= IR_MAX_ELEMS)
    return true;
  diag_error(m->diag, n->loc, "%s: the model has more than %" PRId64
             " parameters with this layer, the most it may hold", n->layer,
             IR_MAX_ELEMS);
  return false;
}

static bool set_shape(Module *m, Node *n, Tensor *t, Shape s,
                      const char *what) {
  if (!fits(m, n, what, &s))
    return false;
  t->shape = s;
  return params_fit(m, n, t, &m->param_floats);
}

static bool need_image(Module *m, const Node *n, const Shape *in) {
  if (in->rank == 3)
    return true;
  char buf[96];
  diag_error(m->diag, n->loc, "%s: %s needs an HxWxC input, got a vector "
             "of %s; it cannot follow flatten or dense", n->layer,
             ir_op_info(n->op)->name, str(in, buf, sizeof buf));
  return false;
}

static int64_t conv_out(int64_t in, int k, int s, Padding p) {
  return p == PAD_SAME ? (in + s - 1) / s : (in - k) / s + 1;
}

static void infer_conv(Module *m, Node *n) {
  const Shape *in = &n->in[0]->shape;
  const ConvAttr *c = &n->attr.conv;
  if (!need_image(m, n, in))
    return;
  char buf[96];
  if (c->padding == PAD_VALID && (c->kh > in->dim[0] || c->kw > in->dim[1])) {
    diag_error(m->diag, n->loc, "%s: kernel %dx%d does not fit a %" PRId64
               "x%" PRId64 " input with padding=valid (input %s)", n->layer,
               c->kh, c->kw, in->dim[0], in->dim[1], str(in, buf, sizeof buf));
    return;
  }
  Shape w = {4, {c->kh, c->kw, in->dim[2], c->filters}};
  if (!set_shape(m, n, n->in[1], w, "weight"))
    return;
  if (n->nin == 3 && !set_shape(m, n, n->in[2], shape1(c->filters), "bias"))
    return;
  set_shape(m, n, n->out,
            shape3(conv_out(in->dim[0], c->kh, c->sh, c->padding),
                   conv_out(in->dim[1], c->kw, c->sw, c->padding),
                   c->filters),
            "output");
}

static void infer_pool(Module *m, Node *n) {
  const Shape *in = &n->in[0]->shape;
  const PoolAttr *p = &n->attr.pool;
  if (!need_image(m, n, in))
    return;
  if (p->size > in->dim[0] || p->size > in->dim[1]) {
    diag_error(m->diag, n->loc, "%s: window %dx%d does not fit a %" PRId64
               "x%" PRId64 " input", n->layer, p->size, p->size, in->dim[0],
               in->dim[1]);
    return;
  }
  set_shape(m, n, n->out,
            shape3((in->dim[0] - p->size) / p->stride + 1,
                   (in->dim[1] - p->size) / p->stride + 1, in->dim[2]),
            "output");
}

static void infer_dense(Module *m, Node *n) {
  const Shape *in = &n->in[0]->shape;
  const DenseAttr *d = &n->attr.dense;
  char buf[96];
  if (in->rank != 1) {
    diag_error(m->diag, n->loc, "%s: dense takes a vector, but its input is "
               "%s (rank %d); add flatten() before it", n->layer,
               str(in, buf, sizeof buf), in->rank);
    return;
  }
  if (!set_shape(m, n, n->in[1], (Shape){2, {in->dim[0], d->units}},
                 "weight"))
    return;
  if (n->nin == 3 && !set_shape(m, n, n->in[2], shape1(d->units), "bias"))
    return;
  set_shape(m, n, n->out, shape1(d->units), "output");
}

static void infer_loss(Module *m, Node *n) {
  const Shape *in = &n->in[0]->shape;
  const Node *last = n->in[0]->def;
  char buf[96];
  if (in->rank != 1) {
    diag_error(m->diag, last->loc, "%s: cross_entropy needs a vector of "
               "class scores, but this last layer's output is %s; end the "
               "model with flatten() and dense(...)", last->layer,
               str(in, buf, sizeof buf));
    return;
  }
  n->out->shape = (Shape){0, {0}};
}

static void infer_node(Module *m, Node *n) {
  switch (n->op) {
  case OP_CONV2D: infer_conv(m, n); return;
  case OP_MAXPOOL:
  case OP_AVGPOOL:
  case OP_POOL_DROPOUT: infer_pool(m, n); return;
  case OP_FLATTEN:
    set_shape(m, n, n->out, shape1(ir_shape_elems(&n->in[0]->shape)),
              "output");
    return;
  case OP_DENSE: infer_dense(m, n); return;
  case OP_CROSS_ENTROPY:
  case OP_SOFTMAX_XENT: infer_loss(m, n); return;
  case OP_DROPOUT:
  case OP_RELU:
  case OP_LEAKY_RELU:
  case OP_SIGMOID:
  case OP_TANH:
  case OP_SOFTMAX: n->out->shape = n->in[0]->shape; return;
  default: break;
  }
  unreachable();
}

void pass_infer_shapes(Module *m) {
  int before = m->diag->errors;
  m->shaped = false;
  m->param_floats = 0; /* counts parameters here; plan-memory recounts */
  if (m->input && !fits(m, NULL, "shape", &m->input->shape))
    return;
  for (int i = 0; i < m->nnodes; i++) {
    Node *n = m->nodes[i];
    /* After an error upstream there is nothing sound to say here; the
     * backward graph is shaped by autodiff. */
    if (n->in[0]->shape.rank < 0 ||
        (ir_op_info(n->op)->flags & (OPF_GRAD | OPF_UPDATE)))
      continue;
    infer_node(m, n);
  }
  m->shaped = m->diag->errors == before;
}
