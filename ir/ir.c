/* ir.c - building and editing the graph; the op table. */
#include "ir.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const OpInfo op_table[OP_COUNT] = {
#define OP(e, name, min_in, max_in, attrs, flags)                            \
  [OP_##e] = {name, min_in, max_in, attrs, flags},
#include "ops.def"
#undef OP
};

const OpInfo *ir_op_info(Op op) {
  if ((unsigned)op >= OP_COUNT)
    unreachable();
  return &op_table[op];
}

bool ir_op_is(Op op, unsigned flags) {
  return (ir_op_info(op)->flags & flags) == flags;
}

Op ir_act_op(ActKind k) {
  switch (k) {
  case ACT_NONE: return OP_COUNT;
  case ACT_RELU: return OP_RELU;
  case ACT_LEAKY_RELU: return OP_LEAKY_RELU;
  case ACT_SIGMOID: return OP_SIGMOID;
  case ACT_TANH: return OP_TANH;
  case ACT_SOFTMAX: return OP_SOFTMAX;
  }
  unreachable();
}

Activation ir_op_act(const Node *n) {
  for (ActKind k = ACT_RELU; k <= ACT_SOFTMAX; k++)
    if (ir_act_op(k) == n->op)
      return (Activation){k, k == ACT_LEAKY_RELU ? n->attr.act.alpha : 0};
  return (Activation){ACT_NONE, 0};
}

Activation *ir_act_slot(Node *n) {
  if (!ir_op_is(n->op, OPF_ACT_SLOT))
    return NULL;
  switch (ir_op_info(n->op)->attrs) {
  case ATTR_CONV: return &n->attr.conv.act;
  case ATTR_DENSE: return &n->attr.dense.act;
  case ATTR_JOIN: return &n->attr.join.act;
  case ATTR_BN: return &n->attr.bn.act;
  case ATTR_NONE:
  case ATTR_POOL:
  case ATTR_DROPOUT:
  case ATTR_ACT:
  case ATTR_ACT_BWD:
  case ATTR_OPT:
  case ATTR_SLICE:
  case ATTR_NORM:
    break;
  }
  unreachable(); /* an OPF_ACT_SLOT op whose attributes have no act */
}

const char *ir_act_name(ActKind k) {
  return k == ACT_NONE ? "linear" : ir_op_info(ir_act_op(k))->name;
}

bool ir_shape_equal(const Shape *a, const Shape *b) {
  if (a->rank != b->rank)
    return false;
  for (int i = 0; i < a->rank; i++)
    if (a->dim[i] != b->dim[i])
      return false;
  return true;
}

int64_t ir_shape_elems(const Shape *s) {
  if (s->rank < 0)
    return -1;
  int64_t n = 1;
  for (int i = 0; i < s->rank; i++)
    n *= s->dim[i];
  return n;
}

int64_t ir_dtype_bytes(DType dt) { return dt == DT_I64 ? 8 : 4; }

bool ir_tensor_per_image(const Tensor *t) {
  if (t->kind != TK_VALUE)
    return t->kind == TK_INPUT || t->kind == TK_LABELS;
  unsigned once = OPF_PARAM_GRAD | OPF_BATCH_PARTIAL | OPF_UPDATE;
  return !(ir_op_info(t->def->op)->flags & once);
}

const char *ir_num_str(double v, bool is_float, char *buf) {
  for (int prec = 6; prec <= 17; prec++) {
    snprintf(buf, 32, "%.*g", prec, v);
    double back = strtod(buf, NULL);
    if (is_float ? (float)back == (float)v : back == v)
      break;
  }
  return buf;
}

static int64_t pad_total(int64_t in, int64_t out, int64_t k, int64_t s,
                         Padding p) {
  int64_t total = (out - 1) * s + k - in;
  return p == PAD_SAME && total > 0 ? total : 0;
}

int64_t ir_conv_pad_before(int64_t in, int64_t out, int64_t k, int64_t s,
                           Padding p) {
  return pad_total(in, out, k, s, p) / 2;
}

int64_t ir_conv_pad_after(int64_t in, int64_t out, int64_t k, int64_t s,
                          Padding p) {
  int64_t total = pad_total(in, out, k, s, p);
  return total - total / 2;
}

const char *ir_shape_str(const Shape *s, char *buf, size_t cap) {
  if (s->rank < 0) {
    snprintf(buf, cap, "?");
    return buf;
  }
  size_t len = 0;
  buf[0] = '\0';
  for (int i = 0; i < s->rank && len < cap; i++)
    len += (size_t)snprintf(buf + len, cap - len, "%s%" PRId64,
                            i ? "x" : "", s->dim[i]);
  return buf;
}

Module *ir_module_new(Arena *a, Diag *d, const char *name, Loc loc) {
  Module *m = arena_alloc(a, sizeof(Module));
  m->arena = a;
  m->diag = d;
  m->name = name;
  m->loc = loc;
  return m;
}

/* Arena-backed growth: the old array is simply abandoned to the arena. */
static void *grow(Arena *a, void *old, int n, int *cap, size_t elem) {
  if (n < *cap)
    return old;
  int new_cap = *cap ? *cap * 2 : 16;
  void *p = arena_array(a, (size_t)new_cap, elem);
  if (old)
    memcpy(p, old, (size_t)n * elem);
  *cap = new_cap;
  return p;
}

Tensor *ir_tensor_new(Module *m, const char *name, TensorKind kind,
                      DType dt, Loc loc) {
  Tensor *t = arena_alloc(m->arena, sizeof(Tensor));
  t->name = name;
  t->kind = kind;
  t->dtype = dt;
  t->shape.rank = -1;
  t->loc = loc;
  m->tensors = grow(m->arena, m->tensors, m->ntensors, &m->cap_tensors,
                    sizeof(Tensor *));
  m->tensors[m->ntensors++] = t;
  return t;
}

Node *ir_node_new(Module *m, Op op, const char *layer, const char *out_name,
                  Loc loc, Tensor **in, int nin) {
  Node *n = arena_alloc(m->arena, sizeof(Node));
  n->op = op;
  n->layer = layer;
  n->loc = loc;
  n->nin = nin;
  n->in = arena_array(m->arena, (size_t)nin + 1, sizeof(Tensor *));
  for (int i = 0; i < nin; i++)
    n->in[i] = in[i];
  n->out = ir_tensor_new(m, out_name, TK_VALUE, DT_F32, loc);
  n->out->def = n;
  m->nodes = grow(m->arena, m->nodes, m->nnodes, &m->cap_nodes,
                  sizeof(Node *));
  n->index = m->nnodes;
  m->nodes[m->nnodes++] = n;
  return n;
}

void ir_node_add_input(Module *m, Node *n, Tensor *t) {
  Tensor **in = arena_array(m->arena, (size_t)n->nin + 1, sizeof(Tensor *));
  memcpy(in, n->in, (size_t)n->nin * sizeof *in);
  in[n->nin++] = t;
  n->in = in;
}

void ir_node_drop_input(Node *n, int i) {
  for (int j = i; j + 1 < n->nin; j++)
    n->in[j] = n->in[j + 1];
  n->nin--;
}

int ir_conv_grad_dy(Op op) { return op == OP_CONV2D_BWD_WEIGHT ? 1 : 0; }

int ir_use_count(const Module *m, const Tensor *t) {
  int uses = (m->output == t) + (m->loss == t);
  for (int i = 0; i < m->nnodes; i++) {
    const Node *n = m->nodes[i];
    for (int j = 0; j < n->nin && !n->dead; j++)
      uses += n->in[j] == t;
  }
  return uses;
}

Node *ir_sole_user(const Module *m, const Tensor *t) {
  if (ir_use_count(m, t) != 1)
    return NULL;
  for (int i = 0; i < m->nnodes; i++) {
    Node *n = m->nodes[i];
    for (int j = 0; j < n->nin && !n->dead; j++)
      if (n->in[j] == t)
        return n;
  }
  return NULL; /* the one use is the module's output or loss */
}

void ir_replace_uses(Module *m, Tensor *from, Tensor *to) {
  for (int i = 0; i < m->nnodes; i++) {
    Node *n = m->nodes[i];
    for (int j = 0; j < n->nin; j++)
      if (n->in[j] == from)
        n->in[j] = to;
  }
  if (m->output == from)
    m->output = to;
  if (m->loss == from)
    m->loss = to;
}

void ir_drop_training(Module *m) {
  if (m->loss)
    m->loss->def->dead = true;
  for (int i = 0; i < m->nnodes; i++) {
    Node *n = m->nodes[i];
    if (ir_op_is(n->op, OPF_TRAIN_ONLY))
      n->dead = true;
    for (int j = n->nin - 1; j >= 0; j--)
      if (n->in[j]->def && ir_op_is(n->in[j]->def->op, OPF_TRAIN_ONLY))
        ir_node_drop_input(n, j);
  }
  m->loss = NULL;
  ir_sweep(m);
  int kept = 0;
  for (int i = 0; i < m->ntensors; i++)
    if (m->tensors[i]->kind != TK_LABELS)
      m->tensors[kept++] = m->tensors[i];
  m->ntensors = kept;
  m->labels = NULL;
  m->has_train = false;
}

void ir_number_nodes(Module *m) {
  for (int i = 0; i < m->nnodes; i++)
    m->nodes[i]->index = i;
}

void ir_sweep(Module *m) {
  int kept = 0;
  for (int i = 0; i < m->nnodes; i++)
    if (!m->nodes[i]->dead)
      m->nodes[kept++] = m->nodes[i];
  m->nnodes = kept;
  ir_number_nodes(m);
  kept = 0;
  for (int i = 0; i < m->ntensors; i++) {
    Tensor *t = m->tensors[i];
    if (!(t->def && t->def->dead))
      m->tensors[kept++] = t;
  }
  m->ntensors = kept;
}
