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
  int64_t classes = m->has_train ? ir_data_classes(&m->train) : 0;
  if (classes && in->dim[0] != classes)
    diag_error(m->diag, m->train.data_loc, "train: %s%s has %lld classes, "
               "but the model '%s' has %lld outputs",
               ir_data_kind_name(m->train.data_kind),
               m->train.data_kind != DATA_CIFAR100 ? ""
               : m->train.data_label == CIFAR_LABEL_COARSE ? " (label=coarse)"
                                                           : " (label=fine)",
               (long long)classes, m->name, (long long)in->dim[0]);
  n->out->shape = (Shape){0, {0}};
}

/* The layer that made t, for messages: "'b1_bn2' (28x28x16)". */
static const char *layer_of(const Tensor *t) {
  return t->def ? t->def->layer : t->name;
}

static void infer_add(Module *m, Node *n) {
  char a[96], b[96];
  for (int i = 1; i < n->nin; i++) {
    const Shape *s0 = &n->in[0]->shape, *si = &n->in[i]->shape;
    if (ir_shape_equal(s0, si))
      continue;
    diag_error(m->diag, n->loc, "%s: add needs layers of one shape, but "
               "'%s' is %s and '%s' is %s", n->layer, layer_of(n->in[0]),
               str(s0, a, sizeof a), layer_of(n->in[i]), str(si, b, sizeof b));
    return;
  }
  n->out->shape = n->in[0]->shape;
}

/* Images of one height and width along channels, or vectors end to end. */
static void infer_concat(Module *m, Node *n) {
  const Shape *s0 = &n->in[0]->shape;
  Shape out = *s0;
  char a[96], b[96];
  for (int i = 1; i < n->nin; i++) {
    const Shape *si = &n->in[i]->shape;
    bool fits_with = si->rank == s0->rank &&
                     (s0->rank == 1 || (si->dim[0] == s0->dim[0] &&
                                        si->dim[1] == s0->dim[1]));
    if (!fits_with) {
      diag_error(m->diag, n->loc, "%s: concat joins images of one height "
                 "and width (or vectors), but '%s' is %s and '%s' is %s",
                 n->layer, layer_of(n->in[0]), str(s0, a, sizeof a),
                 layer_of(n->in[i]), str(si, b, sizeof b));
      return;
    }
    out.dim[out.rank - 1] += si->dim[si->rank - 1];
  }
  set_shape(m, n, n->out, out, "output");
}

/* Channels last: C of an HxWxC image, or the length of a vector. */
static void infer_batchnorm(Module *m, Node *n) {
  const Shape *in = &n->in[0]->shape;
  int64_t c = in->dim[in->rank - 1];
  for (int i = 1; i <= 4; i++)
    if (!set_shape(m, n, n->in[i], shape1(c), "parameter"))
      return;
  n->in[5]->shape = (Shape){0, {0}};
  if (!params_fit(m, n, n->in[5], &m->param_floats))
    return;
  n->out->shape = *in;
}

static void infer_node(Module *m, Node *n) {
  switch (n->op) {
  case OP_ADD: infer_add(m, n); return;
  case OP_CONCAT: infer_concat(m, n); return;
  case OP_BATCHNORM: infer_batchnorm(m, n); return;
  case OP_BATCH_STATS: {
    const Shape *in = &n->in[0]->shape;
    n->out->shape = (Shape){2, {3, in->dim[in->rank - 1], 0, 0}};
    return;
  }
  case OP_GLOBAL_MAXPOOL:
  case OP_GLOBAL_AVGPOOL:
    if (need_image(m, n, &n->in[0]->shape))
      n->out->shape = shape1(n->in[0]->shape.dim[2]);
    return;
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
  case OP_NORMALIZE:
  case OP_DROPOUT:
  case OP_RELU:
  case OP_LEAKY_RELU:
  case OP_SIGMOID:
  case OP_TANH:
  case OP_SOFTMAX: n->out->shape = n->in[0]->shape; return;
  case OP_CONV2D_BN: /* fold-batchnorm makes it from shaped nodes */
  case OP_ACT_BWD:
  case OP_SOFTMAX_BWD:
  case OP_CROSS_ENTROPY_BWD:
  case OP_SOFTMAX_XENT_BWD:
  case OP_CONV2D_BWD_DATA:
  case OP_CONV2D_BWD_WEIGHT:
  case OP_CONV2D_BWD_BIAS:
  case OP_DENSE_BWD_DATA:
  case OP_DENSE_BWD_WEIGHT:
  case OP_DENSE_BWD_BIAS:
  case OP_MAXPOOL_BWD:
  case OP_AVGPOOL_BWD:
  case OP_GLOBAL_MAXPOOL_BWD:
  case OP_GLOBAL_AVGPOOL_BWD:
  case OP_POOL_DROPOUT_BWD:
  case OP_DROPOUT_BWD:
  case OP_FLATTEN_BWD:
  case OP_CONCAT_BWD:
  case OP_BATCHNORM_BWD_WEIGHT:
  case OP_BATCHNORM_BWD_BIAS:
  case OP_BATCHNORM_BWD_DATA:
  case OP_GRAD_SUM:
  case OP_SGD_UPDATE:
  case OP_ADAM_UPDATE:
  case OP_ADAMW_UPDATE:
  case OP_RUNNING_STATS_UPDATE:
  case OP_COUNT:
    break; /* autodiff and optimizer shape what they make */
  }
  unreachable();
}

/* Whether every input of n has its shape (not so after an error
 * upstream). */
static bool inputs_shaped(const Node *n) {
  for (int i = 0; i < n->nin; i++)
    if (n->in[i]->kind != TK_PARAM && n->in[i]->kind != TK_LABELS &&
        n->in[i]->shape.rank < 0)
      return false;
  return true;
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
    if (!inputs_shaped(n) ||
        (ir_op_info(n->op)->flags & (OPF_GRAD | OPF_UPDATE)))
      continue;
    infer_node(m, n);
  }
  m->shaped = m->diag->errors == before;
}
