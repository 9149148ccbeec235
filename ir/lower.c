/* lower.c - from the syntax tree to the forward graph.
 *
 * Requires: a parsed Ast without syntax errors.
 * Produces: a Module whose nodes follow the layers in order, one node per
 * layer plus one per `activation=` (marked implicit, so that the fusion
 * passes have something to fuse and the summary still shows one row per
 * layer), and with a train block the labels and the cross-entropy loss.
 * Shapes are left to infer-shapes except the input's, which is given.
 *
 * Every check that needs only the layer itself is made here: known layer
 * kinds and keys, argument types, ranges, names. Checks that need the
 * shape flowing in (a kernel that does not fit) belong to infer-shapes. */
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "ir.h"

enum { MAX_SIZE = 1 << 20 }; /* any one size argument: filters, kernel... */
/* Dropout's random stream is step * 2^16 + the layer's position, so a
 * model has fewer than 2^16 layers. */
enum { MAX_LAYERS = (1 << 16) - 1 };

/* Names are looked up through a sorted copy, so that a model of 60,000
 * named layers costs n log n comparisons, not one per pair of layers. */
typedef struct NamedLayer {
  const char *name;
  int index; /* in the model, to break ties: the first named comes first */
} NamedLayer;

/* The scope: every layer's name and, once lowered, its output. A layer
 * reads `cur` (the layer written before it) unless it names another. */
typedef struct Lowerer {
  Module *m;
  Diag *d;
  Arena *a;
  Tensor *cur;     /* what the layer being lowered reads */
  int layer_index; /* of the layer being lowered */
  bool training;   /* the file has a train block */
  const AstLayer **layers;
  const char **names;    /* of every layer, by index */
  Tensor **outputs;      /* of every layer lowered so far; NULL after an error */
  NamedLayer *by_name;   /* every layer, sorted by name */
  int nlayers;
} Lowerer;

typedef void (*LowerFn)(Lowerer *, const AstLayer *, const char *name,
                        AstValue **args);

typedef struct LayerDef {
  const char *kind;
  LowerFn lower;
  int nparams;
  ParamSpec params[MAX_PARAMS];
} LayerDef;

static void lower_input(Lowerer *, const AstLayer *, const char *, AstValue **);
static void lower_conv2d(Lowerer *, const AstLayer *, const char *, AstValue **);
static void lower_pool(Lowerer *, const AstLayer *, const char *, AstValue **);
static void lower_dropout(Lowerer *, const AstLayer *, const char *, AstValue **);
static void lower_flatten(Lowerer *, const AstLayer *, const char *, AstValue **);
static void lower_dense(Lowerer *, const AstLayer *, const char *, AstValue **);
static void lower_act_layer(Lowerer *, const AstLayer *, const char *, AstValue **);
static void lower_batchnorm(Lowerer *, const AstLayer *, const char *, AstValue **);
static void lower_global_pool(Lowerer *, const AstLayer *, const char *, AstValue **);
static void lower_join(Lowerer *, const AstLayer *, const char *, AstValue **);

#define REQ(k) {k, true, true}
#define POS(k) {k, false, true}
#define KEY(k) {k, false, false}

/* Every layer but input, add and concat also takes from=NAME: own_args()
 * takes it out before binding; it is listed for the messages that name
 * what a layer takes, and for suggestions. */
static const LayerDef layer_defs[] = {
    {"input", lower_input, 5,
     {REQ("height"), REQ("width"), POS("channels"), KEY("mean"), KEY("std")}},
    {"conv2d", lower_conv2d, 7,
     {REQ("filters"), REQ("kernel"), KEY("stride"), KEY("padding"),
      KEY("activation"), KEY("use_bias"), KEY("from")}},
    {"maxpool", lower_pool, 3, {REQ("size"), KEY("stride"), KEY("from")}},
    {"avgpool", lower_pool, 3, {REQ("size"), KEY("stride"), KEY("from")}},
    {"dropout", lower_dropout, 2, {REQ("rate"), KEY("from")}},
    {"flatten", lower_flatten, 1, {KEY("from")}},
    {"dense", lower_dense, 4,
     {REQ("units"), KEY("activation"), KEY("use_bias"), KEY("from")}},
    {"relu", lower_act_layer, 1, {KEY("from")}},
    {"leaky_relu", lower_act_layer, 2, {POS("alpha"), KEY("from")}},
    {"sigmoid", lower_act_layer, 1, {KEY("from")}},
    {"tanh", lower_act_layer, 1, {KEY("from")}},
    {"softmax", lower_act_layer, 1, {KEY("from")}},
    {"batchnorm", lower_batchnorm, 4,
     {KEY("momentum"), KEY("eps"), KEY("activation"), KEY("from")}},
    {"globalavgpool", lower_global_pool, 1, {KEY("from")}},
    {"globalmaxpool", lower_global_pool, 1, {KEY("from")}},
    {"add", lower_join, 1, {KEY("activation")}},
    {"concat", lower_join, 0, {{0}}},
};
enum { NLAYER_DEFS = sizeof layer_defs / sizeof layer_defs[0] };

static const LayerDef *find_layer_def(Diag *d, const AstLayer *l) {
  const char *kinds[NLAYER_DEFS];
  for (int i = 0; i < NLAYER_DEFS; i++) {
    if (strcmp(layer_defs[i].kind, l->kind) == 0)
      return &layer_defs[i];
    kinds[i] = layer_defs[i].kind;
  }
  if (foreign_name(d, l->loc, NULL, "layer", l->kind, kinds, NLAYER_DEFS))
    return NULL;
  const char *s = suggest(l->kind, kinds, NLAYER_DEFS);
  if (s)
    diag_error(d, l->loc, "unknown layer '%s'; did you mean '%s'?", l->kind,
               s);
  else
    diag_error(d, l->loc, "unknown layer '%s'", l->kind);
  return NULL;
}

/* ---- arguments -------------------------------------------------------------- */

static int64_t size_arg(Lowerer *lo, const AstValue *v, const char *what,
                        const char *key, int64_t dflt) {
  int64_t x = dflt;
  if (v)
    value_int(lo->d, v, what, key, 1, MAX_SIZE, &x);
  return x;
}

static bool bool_arg(Lowerer *lo, const AstValue *v, const char *what,
                     const char *key, bool dflt) {
  bool b = dflt;
  if (v)
    value_bool(lo->d, v, what, key, &b);
  return b;
}

static const char *const act_names[] = {"linear", "relu", "leaky_relu",
                                        "sigmoid", "tanh", "softmax"};
static const ActKind act_kinds[] = {ACT_NONE, ACT_RELU, ACT_LEAKY_RELU,
                                    ACT_SIGMOID, ACT_TANH, ACT_SOFTMAX};

enum { DEFAULT_LEAKY_ALPHA_X100 = 1 }; /* 0.01, PyTorch's default */

/* leaky_relu's slope for x < 0: in [0, 1], as Keras requires. */
static float alpha_arg(Lowerer *lo, const AstValue *v, const char *what) {
  double alpha = DEFAULT_LEAKY_ALPHA_X100 / 100.0;
  if (!v || !value_float(lo->d, v, what, "alpha", &alpha))
    return (float)alpha;
  if (!(alpha >= 0 && alpha <= 1)) {
    diag_error(lo->d, v->loc, "%s: leaky_relu's 'alpha' must be in [0, 1], "
               "got %s", what, v->text);
    return DEFAULT_LEAKY_ALPHA_X100 / 100.0f;
  }
  return (float)alpha;
}

static float leaky_alpha(Lowerer *lo, const AstArg *args, Loc loc,
                         const char *what) {
  static const ParamSpec spec[] = {POS("alpha")};
  AstValue *v[1];
  if (!args_bind(lo->d, what, loc, args, spec, 1, v))
    return DEFAULT_LEAKY_ALPHA_X100 / 100.0f;
  return alpha_arg(lo, v[0], what);
}

/* activation=relu | leaky_relu | leaky_relu(0.2) | ... */
static Activation activation_arg(Lowerer *lo, const AstValue *v,
                                 const char *what) {
  Activation act = {ACT_NONE, 0};
  if (!v)
    return act;
  if (v->kind == VAL_CALL && strcmp(v->text, "leaky_relu") == 0)
    return (Activation){ACT_LEAKY_RELU, leaky_alpha(lo, v->args, v->loc, what)};
  int i = value_callee_choice(lo->d, v, what, "activation", act_names, 6);
  if (i >= 0 && v->kind == VAL_CALL) {
    diag_error(lo->d, v->loc, "%s: activation '%s' takes no arguments; only "
               "leaky_relu(alpha) does", what, v->text);
    return act;
  }
  if (i >= 0)
    act.kind = act_kinds[i];
  if (act.kind == ACT_LEAKY_RELU)
    act.alpha = DEFAULT_LEAKY_ALPHA_X100 / 100.0f;
  return act;
}

/* ---- building nodes ------------------------------------------------------------ */

static Tensor *param(Lowerer *lo, const char *layer, const char *what,
                     Loc loc, ParamDesc desc) {
  const char *name = arena_printf(lo->a, "%s.%s", layer, what);
  Tensor *t = ir_tensor_new(lo->m, name, TK_PARAM, DT_F32, loc);
  t->param = desc;
  return t;
}

static const ParamDesc CONV_WEIGHT = {PARAM_CONV_WEIGHT, INIT_GLOROT_UNIFORM,
                                      true};
static const ParamDesc DENSE_WEIGHT = {PARAM_DENSE_WEIGHT,
                                       INIT_GLOROT_UNIFORM, true};
static const ParamDesc BIAS = {PARAM_VECTOR, INIT_ZEROS, true};
static const ParamDesc SCALE = {PARAM_VECTOR, INIT_ONES, true};
static const ParamDesc BUFFER_ZEROS = {PARAM_VECTOR, INIT_ZEROS, false};
static const ParamDesc BUFFER_ONES = {PARAM_VECTOR, INIT_ONES, false};

static Node *emit(Lowerer *lo, Op op, const char *layer, const char *out,
                  Loc loc, Tensor **in, int nin) {
  if (ir_op_is(op, OPF_FUSED))
    unreachable(); /* only passes make fused ops */
  Node *n = ir_node_new(lo->m, op, layer, out, loc, in, nin);
  lo->cur = n->out;
  return n;
}

static Node *emit_unary(Lowerer *lo, Op op, const char *layer, Loc loc) {
  Tensor *in[1] = {lo->cur};
  return emit(lo, op, layer, layer, loc, in, 1);
}

/* The node for `activation=` after a conv2d or dense: `%name.relu`. */
static void emit_activation(Lowerer *lo, Activation act, const char *layer,
                            Loc loc) {
  if (act.kind == ACT_NONE)
    return;
  Tensor *in[1] = {lo->cur};
  const char *out = arena_printf(lo->a, "%s.%s", layer, ir_act_name(act.kind));
  Node *n = emit(lo, ir_act_op(act.kind), layer, out, loc, in, 1);
  n->attr.act.alpha = act.alpha;
  n->implicit = true;
}

/* ---- the layers ------------------------------------------------------------------ */

static void lower_input(Lowerer *lo, const AstLayer *l, const char *name,
                        AstValue **v) {
  Tensor *t = ir_tensor_new(lo->m, name, TK_INPUT, DT_F32, l->loc);
  t->shape.rank = 3;
  t->shape.dim[0] = size_arg(lo, v[0], name, "height", 1);
  t->shape.dim[1] = size_arg(lo, v[1], name, "width", 1);
  t->shape.dim[2] = size_arg(lo, v[2], name, "channels", 1);
  lo->m->input = lo->cur = t;
  NormAttr norm;
  if (!ir_lower_normalization(lo->m, name, v[3], v[4], t->shape.dim[2], &norm))
    return;
  const char *out = arena_printf(lo->a, "%s.normalized", name);
  emit(lo, OP_NORMALIZE, name, out, l->loc, &t, 1)->attr.norm = norm;
}

static void lower_conv2d(Lowerer *lo, const AstLayer *l, const char *name,
                         AstValue **v) {
  static const char *const paddings[] = {"valid", "same"};
  ConvAttr c = {0};
  c.filters = (int)size_arg(lo, v[0], name, "filters", 1);
  c.kh = c.kw = (int)size_arg(lo, v[1], name, "kernel", 1);
  c.sh = c.sw = (int)size_arg(lo, v[2], name, "stride", 1);
  if (v[3] && value_choice(lo->d, v[3], name, "padding", paddings, 2) == 1)
    c.padding = PAD_SAME;
  Activation act = activation_arg(lo, v[4], name);
  c.bias = bool_arg(lo, v[5], name, "use_bias", true);
  Tensor *in[3] = {lo->cur, param(lo, name, "weight", l->loc, CONV_WEIGHT),
                   NULL};
  if (c.bias)
    in[2] = param(lo, name, "bias", l->loc, BIAS);
  emit(lo, OP_CONV2D, name, name, l->loc, in, c.bias ? 3 : 2)->attr.conv = c;
  emit_activation(lo, act, name, l->loc);
}

static void lower_pool(Lowerer *lo, const AstLayer *l, const char *name,
                       AstValue **v) {
  PoolAttr p = {0};
  p.kind = strcmp(l->kind, "maxpool") == 0 ? POOL_MAX : POOL_AVG;
  p.size = (int)size_arg(lo, v[0], name, "size", 1);
  p.stride = (int)size_arg(lo, v[1], name, "stride", p.size);
  Op op = p.kind == POOL_MAX ? OP_MAXPOOL : OP_AVGPOOL;
  emit_unary(lo, op, name, l->loc)->attr.pool = p;
}

static void lower_dropout(Lowerer *lo, const AstLayer *l, const char *name,
                          AstValue **v) {
  double rate = 0;
  /* Checked as the float the kernels use: 0.99999999 rounds to 1. */
  if (value_float(lo->d, v[0], name, "rate", &rate) &&
      !(rate >= 0 && (float)rate < 1)) {
    diag_error(lo->d, v[0]->loc, "%s: dropout rate must be in [0, 1), got "
               "%s", name, v[0]->text);
    rate = 0;
  }
  Node *n = emit_unary(lo, OP_DROPOUT, name, l->loc);
  n->attr.dropout = (DropoutAttr){(float)rate, lo->layer_index};
}

static void lower_flatten(Lowerer *lo, const AstLayer *l, const char *name,
                          AstValue **v) {
  (void)v;
  emit_unary(lo, OP_FLATTEN, name, l->loc);
}

static void lower_dense(Lowerer *lo, const AstLayer *l, const char *name,
                        AstValue **v) {
  DenseAttr dn = {0};
  dn.units = (int)size_arg(lo, v[0], name, "units", 1);
  Activation act = activation_arg(lo, v[1], name);
  dn.bias = bool_arg(lo, v[2], name, "use_bias", true);
  Tensor *in[3] = {lo->cur, param(lo, name, "weight", l->loc, DENSE_WEIGHT),
                   NULL};
  if (dn.bias)
    in[2] = param(lo, name, "bias", l->loc, BIAS);
  emit(lo, OP_DENSE, name, name, l->loc, in, dn.bias ? 3 : 2)->attr.dense = dn;
  emit_activation(lo, act, name, l->loc);
}

static void lower_act_layer(Lowerer *lo, const AstLayer *l, const char *name,
                            AstValue **v) {
  Activation act = {ACT_NONE, 0};
  for (int i = 1; i < 6; i++)
    if (strcmp(l->kind, act_names[i]) == 0)
      act.kind = act_kinds[i];
  act.alpha = alpha_arg(lo, act.kind == ACT_LEAKY_RELU ? v[0] : NULL, name);
  Node *n = emit_unary(lo, ir_act_op(act.kind), name, l->loc);
  n->attr.act.alpha = act.alpha;
}

/* PyTorch's defaults: momentum 0.1, eps 1e-5. */
static void lower_batchnorm(Lowerer *lo, const AstLayer *l, const char *name,
                            AstValue **v) {
  BatchNormAttr bn = {0.1f, 1e-5f, {ACT_NONE, 0}};
  double momentum = bn.momentum, eps = bn.eps;
  if (v[0] && value_float(lo->d, v[0], name, "momentum", &momentum) &&
      !(momentum >= 0 && momentum <= 1))
    diag_error(lo->d, v[0]->loc, "%s: batchnorm's 'momentum' must be in "
               "[0, 1], got %s", name, v[0]->text);
  if (v[1] && value_float(lo->d, v[1], name, "eps", &eps) &&
      !(eps > 0 && (float)eps > 0 && eps < 1))
    diag_error(lo->d, v[1]->loc, "%s: batchnorm's 'eps' must be in (0, 1), "
               "got %s", name, v[1]->text);
  bn.momentum = (float)momentum;
  bn.eps = (float)eps;
  Activation act = activation_arg(lo, v[2], name);
  Tensor *in[7] = {lo->cur, param(lo, name, "weight", l->loc, SCALE),
                   param(lo, name, "bias", l->loc, BIAS),
                   param(lo, name, "running_mean", l->loc, BUFFER_ZEROS),
                   param(lo, name, "running_var", l->loc, BUFFER_ONES),
                   param(lo, name, "num_batches_tracked", l->loc,
                         BUFFER_ZEROS), NULL};
  in[5]->dtype = DT_I64;
  int nin = 6;
  if (lo->training) {
    Tensor *x[1] = {lo->cur};
    const char *stats = arena_printf(lo->a, "%s.stats", name);
    in[nin++] = ir_node_new(lo->m, OP_BATCH_STATS, name, stats, l->loc, x, 1)
                    ->out;
  }
  emit(lo, OP_BATCHNORM, name, name, l->loc, in, nin)->attr.bn = bn;
  emit_activation(lo, act, name, l->loc);
}

static void lower_global_pool(Lowerer *lo, const AstLayer *l,
                              const char *name, AstValue **v) {
  (void)v;
  bool max = strcmp(l->kind, "globalmaxpool") == 0;
  emit_unary(lo, max ? OP_GLOBAL_MAXPOOL : OP_GLOBAL_AVGPOOL, name, l->loc);
}

/* ---- the scope: layers by name ----------------------------------------------------- */

static int name_vs_entry(const void *key, const void *entry);

/* The output of the layer `v` names, for `what` (a layer) reading it as
 * `role` ("from=", "add"); NULL after an error, or when that layer had an
 * error of its own (already reported). */
static Tensor *named_output(Lowerer *lo, const AstValue *v, const char *what,
                            const char *role) {
  if (v->kind != VAL_IDENT) {
    diag_error(lo->d, v->loc, "%s: %s takes the name of a layer, not %s",
               what, role, value_kind_name(v->kind));
    return NULL;
  }
  const NamedLayer *e = bsearch(v->text, lo->by_name, (size_t)lo->nlayers,
                                sizeof *e, name_vs_entry);
  if (!e) {
    const char **before = arena_array(lo->a, (size_t)lo->layer_index + 1,
                                      sizeof *before);
    for (int i = 0; i < lo->layer_index; i++)
      before[i] = lo->names[i];
    const char *s = suggest(v->text, before, lo->layer_index);
    if (s)
      diag_error(lo->d, v->loc, "%s: %s names an unknown layer '%s'; did you "
                 "mean '%s'?", what, role, v->text, s);
    else
      diag_error(lo->d, v->loc, "%s: %s names an unknown layer '%s'", what,
                 role, v->text);
    return NULL;
  }
  if (e->index == lo->layer_index) {
    diag_error(lo->d, v->loc, "%s: a layer cannot read its own output", what);
    return NULL;
  }
  if (e->index > lo->layer_index) {
    diag_error(lo->d, v->loc, "%s: %s names '%s', which is defined after "
               "it; a layer reads only layers written before it", what, role,
               v->text);
    diag_note(lo->d, lo->layers[e->index]->name_loc, "'%s' is defined here",
              v->text);
    return NULL;
  }
  return lo->outputs[e->index];
}

/* add(A, B, ...) and concat(A, B, ...): the named layers, two or more */
static void lower_join(Lowerer *lo, const AstLayer *l, const char *name,
                       AstValue **v) {
  int n = 0;
  for (const AstArg *a = l->args; a; a = a->next)
    n += !a->key;
  Tensor **in = arena_array(lo->a, (size_t)n + 1, sizeof *in);
  int nin = 0;
  bool ok = true;
  for (const AstArg *a = l->args; a; a = a->next)
    if (!a->key) {
      in[nin] = named_output(lo, a->value, name, l->kind);
      ok &= in[nin++] != NULL;
    }
  if (n < 2) {
    diag_error(lo->d, l->loc, "%s: %s needs two or more layers to join, "
               "named as %s(a, b); got %d", name, l->kind, l->kind, n);
    return;
  }
  bool add = strcmp(l->kind, "add") == 0;
  Activation act = activation_arg(lo, add ? v[0] : NULL, name);
  if (!ok)
    return;
  emit(lo, add ? OP_ADD : OP_CONCAT, name, name, l->loc, in, nin);
  emit_activation(lo, act, name, l->loc);
}

/* ---- names ------------------------------------------------------------------------ */

static int by_name_then_index(const void *pa, const void *pb) {
  const NamedLayer *a = pa, *b = pb;
  int c = strcmp(a->name, b->name);
  return c ? c : (a->index > b->index) - (a->index < b->index);
}

static int name_vs_entry(const void *key, const void *entry) {
  return strcmp(key, ((const NamedLayer *)entry)->name);
}

static bool is_reserved(const char *name) {
  return strcmp(name, "labels") == 0 || strcmp(name, "loss") == 0;
}

/* The user-named layers, reserved names left out, sorted by name. */
static int sort_user_names(Lowerer *lo, const AstLayer **layers, int n,
                           NamedLayer **out) {
  NamedLayer *v = arena_array(lo->a, (size_t)n + 1, sizeof *v);
  int nv = 0;
  for (int i = 0; i < n; i++)
    if (layers[i]->name && !is_reserved(layers[i]->name))
      v[nv++] = (NamedLayer){layers[i]->name, i};
  qsort(v, (size_t)nv, sizeof *v, by_name_then_index);
  *out = v;
  return nv;
}

/* User names first, so that an automatic `conv2d_2` steps around a layer
 * the user called conv2d_2. Duplicates and reserved names are errors,
 * reported in source order. */
static void check_user_names(Lowerer *lo, const AstLayer **layers, int n,
                             const NamedLayer *sorted, int nsorted,
                             const char **names) {
  int *first = arena_array(lo->a, (size_t)n + 1, sizeof *first);
  for (int k = 0; k < nsorted; k++) {
    bool same = k > 0 && strcmp(sorted[k].name, sorted[k - 1].name) == 0;
    first[sorted[k].index] = same ? first[sorted[k - 1].index]
                                  : sorted[k].index;
  }
  for (int i = 0; i < n; i++) {
    const AstLayer *l = layers[i];
    if (!l->name)
      continue;
    if (is_reserved(l->name)) {
      diag_error(lo->d, l->name_loc, "'%s' is reserved; choose another "
                 "layer name", l->name);
      continue;
    }
    if (first[i] != i) {
      diag_error(lo->d, l->name_loc, "duplicate layer name '%s'", l->name);
      diag_note(lo->d, layers[first[i]]->name_loc, "'%s' first named here",
                l->name);
    }
    names[i] = l->name;
  }
}

/* Automatic names differ from each other by construction (one counter per
 * kind), so they need checking only against the names users gave. */
static const char *auto_name(Lowerer *lo, const char *kind,
                             const NamedLayer *user, int nuser,
                             int *counter) {
  const char *name = "input";
  if (strcmp(kind, "input") != 0)
    name = arena_printf(lo->a, "%s_%d", kind, ++*counter);
  while (bsearch(name, user, (size_t)nuser, sizeof *user, name_vs_entry))
    name = arena_printf(lo->a, "%s_%d", kind, ++*counter);
  return name;
}

/* Every layer, sorted by name, for the scope. */
static void sort_all_names(Lowerer *lo) {
  lo->by_name = arena_array(lo->a, (size_t)lo->nlayers + 1,
                            sizeof *lo->by_name);
  for (int i = 0; i < lo->nlayers; i++)
    lo->by_name[i] = (NamedLayer){lo->names[i], i};
  qsort(lo->by_name, (size_t)lo->nlayers, sizeof *lo->by_name,
        by_name_then_index);
}

static void assign_names(Lowerer *lo, const AstLayer **layers, int n,
                         const char **names) {
  NamedLayer *user;
  int nuser = sort_user_names(lo, layers, n, &user);
  check_user_names(lo, layers, n, user, nuser, names);
  int counters[NLAYER_DEFS] = {0};
  for (int i = 0; i < n; i++) {
    if (names[i])
      continue;
    int k = 0;
    while (k < NLAYER_DEFS && strcmp(layer_defs[k].kind, layers[i]->kind))
      k++;
    /* An unknown kind is an error of its own; its name is never used. */
    names[i] = k < NLAYER_DEFS
                   ? auto_name(lo, layers[i]->kind, user, nuser, &counters[k])
                   : layers[i]->kind;
  }
}

/* ---- the model ------------------------------------------------------------------------ */

/* The arguments args_bind sees: from= taken out (into *from), and for
 * add and concat their positional layer names as well. */
static const AstArg *own_args(Lowerer *lo, const AstLayer *l, bool joins,
                              const AstArg **from) {
  AstArg *head = NULL, **tail = &head;
  *from = NULL;
  for (const AstArg *a = l->args; a; a = a->next) {
    if (a->key && strcmp(a->key, "from") == 0) {
      if (*from) {
        diag_error(lo->d, a->key_loc, "%s: 'from' is given twice",
                   lo->names[lo->layer_index]);
        diag_note(lo->d, (*from)->key_loc, "first given here");
      }
      *from = a;
      continue;
    }
    if (joins && !a->key)
      continue;
    AstArg *copy = arena_alloc(lo->a, sizeof *copy);
    *copy = *a;
    copy->next = NULL;
    *tail = copy;
    tail = &copy->next;
  }
  return head;
}

/* What the layer reads: from=NAME, or the layer before. */
static bool set_input(Lowerer *lo, const LayerDef *def, const AstLayer *l,
                      const char *name, const AstArg *from, bool first) {
  bool joins = def->lower == lower_join;
  if (from && (first || joins)) {
    diag_error(lo->d, from->key_loc, "%s: %s takes no 'from'; %s", name,
               l->kind, first ? "the input reads nothing"
                              : "it reads the layers it names");
    return false;
  }
  lo->cur = first || !from ? lo->cur : named_output(lo, from->value, name,
                                                    "from=");
  return first || lo->cur != NULL;
}

static void lower_layer(Lowerer *lo, const AstLayer *l, const char *name,
                        bool first) {
  const LayerDef *def = find_layer_def(lo->d, l);
  if (!def)
    return;
  bool is_input = def->lower == lower_input;
  if (first && !is_input) {
    diag_error(lo->d, l->loc, "the first layer must be input(height, width, "
               "channels), not %s", l->kind);
    return;
  }
  if (!first && is_input) {
    diag_error(lo->d, l->loc, "input(...) must be the first layer and come "
               "only once");
    return;
  }
  const AstArg *from;
  /* add and concat read the layers their positional arguments name */
  const AstArg *args = own_args(lo, l, def->lower == lower_join, &from);
  AstValue *v[MAX_PARAMS] = {0};
  bool bound = args_bind(lo->d, name, l->loc, args, def->params, def->nparams,
                         v);
  Tensor *previous = lo->cur;
  int nodes = lo->m->nnodes;
  bool reads = set_input(lo, def, l, name, from, first);
  if (reads && bound)
    def->lower(lo, l, name, v);
  bool lowered = reads && bound && (first || lo->m->nnodes > nodes);
  lo->outputs[lo->layer_index] = lowered ? lo->cur : NULL;
  if (!lowered)
    lo->cur = previous; /* the next layer reads on from the last good one */
}

/* A layer whose output nobody reads computes nothing the model uses:
 * usually a from= that names the wrong layer. */
static void warn_unread(Lowerer *lo) {
  for (int i = 0; i + 1 < lo->nlayers; i++) {
    Tensor *t = lo->outputs[i];
    if (t && t != lo->m->output && ir_use_count(lo->m, t) == 0)
      diag_warning(lo->d, lo->layers[i]->loc, "%s: nothing reads this "
                   "layer's output, and it is not the model's output",
                   lo->names[i]);
  }
}

/* With a cross-entropy loss the softmax is fused into the loss, so it must
 * be the model's last operation, and there must be one. */
static void check_softmax(Lowerer *lo, Loc loss_loc) {
  Module *m = lo->m;
  for (int i = 0; i + 1 < m->nnodes; i++) {
    Node *n = m->nodes[i];
    if (n->op == OP_SOFTMAX)
      diag_error(lo->d, n->loc, "%s: softmax must be the last layer when "
                 "the loss is cross_entropy", n->layer);
  }
  if (m->nnodes > 0 && m->nodes[m->nnodes - 1]->op != OP_SOFTMAX)
    diag_error(lo->d, loss_loc, "loss 'cross_entropy' needs the model to end "
               "in softmax; add activation=softmax to the last layer");
}

static void add_loss(Lowerer *lo) {
  Module *m = lo->m;
  m->labels = ir_tensor_new(m, "labels", TK_LABELS, DT_I32, m->loc);
  m->labels->shape.rank = 0;
  Tensor *in[2] = {m->output, m->labels};
  Node *n = ir_node_new(m, OP_CROSS_ENTROPY, "loss", "loss", m->loc, in, 2);
  m->loss = n->out;
}

static int collect_layers(const Ast *ast, const AstLayer ***out, Arena *a) {
  int n = 0;
  for (const AstLayer *l = ast->layers; l; l = l->next)
    n++;
  *out = arena_array(a, (size_t)n + 1, sizeof(AstLayer *));
  n = 0;
  for (const AstLayer *l = ast->layers; l; l = l->next)
    (*out)[n++] = l;
  return n;
}

Module *ir_lower(const Ast *ast, Diag *d, Arena *a) {
  if (!ast->model_name) {
    diag_error(d, ast->eof_loc, "no model in this file: expected "
               "'model NAME { ... }'");
    return NULL;
  }
  Lowerer lo = {0};
  lo.m = ir_module_new(a, d, ast->model_name, ast->model_loc);
  lo.d = d;
  lo.a = a;
  lo.training = ast->has_train;
  const AstLayer **layers;
  int n = collect_layers(ast, &layers, a);
  if (n == 0)
    diag_error(d, ast->model_loc, "model '%s' has no layers; it needs at "
               "least input(...) and one layer", ast->model_name);
  if (n > MAX_LAYERS) {
    diag_error(d, layers[MAX_LAYERS]->loc, "model '%s' has %d layers; at "
               "most %d are allowed", ast->model_name, n, MAX_LAYERS);
    return NULL;
  }
  const char **names = arena_array(a, (size_t)n + 1, sizeof(char *));
  assign_names(&lo, layers, n, names);
  lo.layers = layers;
  lo.names = names;
  lo.nlayers = n;
  lo.outputs = arena_array(a, (size_t)n + 1, sizeof(Tensor *));
  sort_all_names(&lo);
  for (int i = 0; i < n; i++) {
    lo.layer_index = i;
    lower_layer(&lo, layers[i], names[i], i == 0);
  }
  if (n == 1 && lo.m->input)
    diag_error(d, layers[0]->loc, "model '%s' has only an input; add the "
               "layers that compute something", ast->model_name);
  lo.m->output = lo.m->nnodes ? lo.cur : NULL;
  if (d->errors == 0)
    warn_unread(&lo);
  Loc loss_loc = ast->train_loc;
  if (ast->has_train && ir_lower_train(lo.m, ast, &loss_loc) && d->errors == 0)
    check_softmax(&lo, loss_loc);
  if (d->errors)
    return NULL;
  if (ast->has_train)
    add_loss(&lo);
  return lo.m;
}
