/* verify.c - the IR's invariants, checked after every pass in debug builds.
 *
 * A failure here is a bug in cnnc, not in the user's file, so it is
 * reported as an internal error naming the pass that ran last. */
#include "ir.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct Checker {
  const Module *m;
  const char *after;
  bool ok;
} Checker;

static void fail(Checker *c, const char *what, const char *name) {
  fprintf(stderr, "cnnc: internal error: IR invalid after %s: %s%s%s\n",
          c->after, what, name ? ": %" : "", name ? name : "");
  c->ok = false;
}

/* Inputs, parameters and labels are defined from the start; a value is
 * defined once its node has been seen. */
/* Whether n is in the list where its index says (a stale index fails). */
static bool listed(const Module *m, const Node *n) {
  return n->index >= 0 && n->index < m->nnodes && m->nodes[n->index] == n;
}

static bool defined_before(const Module *m, const Tensor *t, int node) {
  return t->kind != TK_VALUE || (listed(m, t->def) && t->def->index < node);
}

/* A value belongs through its node; inputs, parameters, state and labels
 * by a search of the few tensors that are not values. */
static bool in_module(const Module *m, const Tensor *t) {
  if (t->kind == TK_VALUE)
    return t->def && listed(m, t->def) && t->def->out == t;
  for (int i = 0; i < m->ntensors; i++)
    if (m->tensors[i] == t)
      return true;
  return false;
}

/* A conv gradient given y (fuse-conv-act-bwd) masks dy with act'(y): the
 * two must be the same shape, and the mask must come from an activation. */
static void check_grad_mask(Checker *c, const Node *n) {
  if (!ir_op_is(n->op, OPF_MASKS_DY) || n->nin == ir_op_info(n->op)->min_inputs)
    return;
  const Tensor *dy = n->in[ir_conv_grad_dy(n->op)];
  const Tensor *y = n->in[n->nin - 1];
  if (n->attr.conv.act.kind == ACT_NONE)
    fail(c, "conv gradient given y but no activation", n->out->name);
  if (c->m->shaped && !ir_shape_equal(&dy->shape, &y->shape))
    fail(c, "conv gradient's y and dy differ in shape", n->out->name);
}

static void check_attrs(Checker *c, const Node *n) {
  const char *name = n->out->name;
  switch (ir_op_info(n->op)->attrs) {
  case ATTR_CONV: {
    const ConvAttr *a = &n->attr.conv;
    if (a->filters < 1 || a->kh < 1 || a->kw < 1 || a->sh < 1 || a->sw < 1)
      fail(c, "conv2d with a size below 1", name);
    if (n->op == OP_CONV2D && a->bias != (n->nin == 3))
      fail(c, "conv2d bias attribute disagrees with its inputs", name);
    if (n->op == OP_CONV2D_BN && (a->bias != (n->nin == 7) || !(a->eps > 0)))
      fail(c, "conv2d_bn bias or eps disagrees with its inputs", name);
    check_grad_mask(c, n);
    break;
  }
  case ATTR_POOL:
    if (n->attr.pool.size < 1 || n->attr.pool.stride < 1)
      fail(c, "pool with a size below 1", name);
    break;
  case ATTR_DROPOUT:
    if (!(n->attr.dropout.rate >= 0 && n->attr.dropout.rate < 1))
      fail(c, "dropout rate outside [0, 1)", name);
    break;
  case ATTR_DENSE:
    if (n->attr.dense.units < 1)
      fail(c, "dense with no units", name);
    if (n->op == OP_DENSE && n->attr.dense.bias != (n->nin == 3))
      fail(c, "dense bias attribute disagrees with its inputs", name);
    break;
  case ATTR_BN:
    if (!(n->attr.bn.eps > 0 && n->attr.bn.momentum >= 0 &&
          n->attr.bn.momentum <= 1))
      fail(c, "batchnorm with eps <= 0 or momentum outside [0, 1]", name);
    break;
  case ATTR_SLICE:
    if (n->attr.slice.first < 0 || n->attr.slice.count < 1)
      fail(c, "concat_bwd with an empty or negative slice", name);
    break;
  case ATTR_NORM:
    for (int i = 0; i < n->attr.norm.channels; i++)
      if (!(n->attr.norm.std[i] > 0) || !isfinite(n->attr.norm.mean[i]))
        fail(c, "normalize with a std <= 0 or a mean not finite", name);
    if (n->attr.norm.channels < 1 ||
        (c->m->shaped && n->in[0]->shape.rank > 0 &&
         n->in[0]->shape.dim[n->in[0]->shape.rank - 1] != n->attr.norm.channels))
      fail(c, "normalize whose constants are not one per channel", name);
    break;
  case ATTR_NONE:
  case ATTR_ACT:
  case ATTR_ACT_BWD:
  case ATTR_OPT:
  case ATTR_JOIN:
    break;
  }
}

/* The flags of ops.def that the chunks of a train step depend on: an
 * update must read a gradient summed over the batch (else the op that
 * makes it lacks OPF_PARAM_GRAD, and the step would train on one chunk's
 * images), and a node reading another's per-chunk partial sums must
 * combine every chunk's (OPF_READS_BATCH), else it sees one chunk's. */
static void check_chunk_flags(Checker *c, const Node *n) {
  const char *name = n->out->name;
  if (ir_op_is(n->op, OPF_UPDATE) && n->nin > 1 && n->in[1]->def &&
      ir_tensor_per_image(n->in[1]))
    fail(c, "an update reads a per-image gradient (its op lacks "
            "OPF_PARAM_GRAD in ops.def)", name);
  if (ir_op_is(n->op, OPF_UPDATE) || ir_op_is(n->op, OPF_READS_BATCH))
    return;
  for (int j = 0; j < n->nin; j++) {
    const Tensor *t = n->in[j];
    if (t->def && !ir_tensor_per_image(t) && !ir_op_is(t->def->op, OPF_UPDATE))
      fail(c, "a node reads per-chunk partial sums without OPF_READS_BATCH",
           name);
  }
}

static void check_node(Checker *c, int idx) {
  const Module *m = c->m;
  const Node *n = m->nodes[idx];
  const OpInfo *info = ir_op_info(n->op);
  const char *name = n->out ? n->out->name : "?";
  if (n->dead)
    fail(c, "dead node left in the list", name);
  if (n->index != idx)
    fail(c, "node index out of date", name);
  if (!n->out || n->out->def != n || n->out->kind != TK_VALUE)
    fail(c, "node output not linked back to its node", name);
  if (n->nin < info->min_inputs || n->nin > info->max_inputs)
    fail(c, "wrong number of inputs", name);
  for (int j = 0; j < n->nin; j++) {
    if (!n->in[j] || !in_module(m, n->in[j]))
      fail(c, "input not in the module", name);
    else if (!defined_before(m, n->in[j], idx))
      fail(c, "input used before it is defined", n->in[j]->name);
  }
  check_attrs(c, n);
  if (n->out)
    check_chunk_flags(c, n);
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted, equal names are neighbours: n log n, not n^2, for big models. */
static void check_unique_names(Checker *c) {
  const Module *m = c->m;
  const char **names = malloc(sizeof *names * ((size_t)m->ntensors + 1));
  if (!names)
    return;
  for (int i = 0; i < m->ntensors; i++)
    names[i] = m->tensors[i]->name;
  qsort(names, (size_t)m->ntensors, sizeof *names, by_name);
  for (int i = 1; i < m->ntensors; i++)
    if (strcmp(names[i - 1], names[i]) == 0)
      fail(c, "two tensors share a name", names[i]);
  free(names);
}

static void check_tensors(Checker *c) {
  const Module *m = c->m;
  check_unique_names(c);
  for (int i = 0; i < m->ntensors; i++) {
    const Tensor *t = m->tensors[i];
    if (m->shaped && (t->shape.rank < 0 || t->shape.rank > MAX_RANK))
      fail(c, "tensor without a shape after infer-shapes", t->name);
    if (m->shaped && ir_shape_elems(&t->shape) > IR_MAX_ELEMS)
      fail(c, "tensor larger than the element limit", t->name);
    if (t->kind == TK_VALUE && (!t->def || t->def->out != t))
      fail(c, "value tensor without its defining node", t->name);
  }
}

bool ir_verify(const Module *m, const char *after) {
  Checker c = {m, after, true};
  check_tensors(&c);
  for (int i = 0; i < m->nnodes; i++)
    check_node(&c, i);
  if (m->nnodes > 0 && !(m->output && in_module(m, m->output)))
    fail(&c, "no output tensor", NULL);
  if (m->loss && !in_module(m, m->loss))
    fail(&c, "loss tensor not in the module", NULL);
  return c.ok;
}
