/* print.c - the stable text form of the IR that the lit tests read.
 *
 *   %conv2d_1 = conv2d %input, %conv2d_1.weight, %conv2d_1.bias
 *               {filters=64, kernel=3x3, stride=1x1, padding=same} : f32[28x28x64]
 *
 * One line per tensor or node, in module order; attributes in a fixed order;
 * floats with %g so that 0.25 prints as 0.25. */
#include "ir.h"

#include <inttypes.h>
#include <stdlib.h>

static const char *dtype_name(DType t) {
  return t == DT_F32 ? "f32" : t == DT_I32 ? "i32" : "i64";
}

#define F32(v) ir_num_str((v), true, (char[32]){0})

/* " {mean=[0.5, 0.25]" and the like: `key` carries its separator */
static void print_floats(FILE *out, const char *key, const float *v, int n) {
  fprintf(out, "%s%s=[", key[0] == ',' ? "" : " {", key);
  for (int i = 0; i < n; i++)
    fprintf(out, "%s%s", i ? ", " : "", F32(v[i]));
  fputc(']', out);
}
#define F64(v) ir_num_str((v), false, (char[32]){0})

/* A string as a .cnn literal: quotes and backslashes escaped. */
static void print_string(FILE *out, const char *s) {
  fputc('"', out);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      fprintf(out, "\\%c", c);
    else if (c == '\n')
      fputs("\\n", out);
    else if (c == '\t')
      fputs("\\t", out);
    else
      fputc(c, out);
  }
  fputc('"', out);
}

static const char *buffer_name(Buffer b) {
  switch (b) {
  case BUF_NONE: return "none";
  case BUF_INPUT: return "input";
  case BUF_LABELS: return "labels";
  case BUF_PARAMS: return "params";
  case BUF_STATE: return "state";
  case BUF_ARENA: return "arena";
  }
  unreachable();
}

/* " : f32[28x28x64]", and after plan-memory " @arena+1024". */
static void print_type(FILE *out, const Tensor *t) {
  char buf[96];
  fprintf(out, " : %s[%s]", dtype_name(t->dtype),
          ir_shape_str(&t->shape, buf, sizeof buf));
  if (t->buffer != BUF_NONE)
    fprintf(out, " @%s+%" PRId64, buffer_name(t->buffer), t->offset);
}

static void print_act(FILE *out, Activation a) {
  if (a.kind == ACT_NONE)
    return;
  fprintf(out, ", act=%s", ir_act_name(a.kind));
  if (a.kind == ACT_LEAKY_RELU)
    fprintf(out, "(%s)", F32(a.alpha));
}

static void print_attrs(FILE *out, const Node *n) {
  switch (ir_op_info(n->op)->attrs) {
  case ATTR_NONE:
    return;
  case ATTR_CONV: {
    const ConvAttr *c = &n->attr.conv;
    fprintf(out, " {filters=%d, kernel=%dx%d, stride=%dx%d, padding=%s",
            c->filters, c->kh, c->kw, c->sh, c->sw,
            c->padding == PAD_SAME ? "same" : "valid");
    if (n->op == OP_CONV2D_BN)
      fprintf(out, ", eps=%s", F32(c->eps));
    print_act(out, c->act);
    fputc('}', out);
    return;
  }
  case ATTR_POOL: {
    const PoolAttr *p = &n->attr.pool;
    if (n->op == OP_POOL_DROPOUT || n->op == OP_POOL_DROPOUT_BWD)
      fprintf(out, " {pool=%s, size=%d, stride=%d, rate=%s}",
              p->kind == POOL_MAX ? "max" : "avg", p->size, p->stride,
              F32(p->dropout.rate));
    else
      fprintf(out, " {size=%d, stride=%d}", p->size, p->stride);
    return;
  }
  case ATTR_DROPOUT:
    fprintf(out, " {rate=%s}", F32(n->attr.dropout.rate));
    return;
  case ATTR_DENSE:
    fprintf(out, " {units=%d", n->attr.dense.units);
    print_act(out, n->attr.dense.act);
    fputc('}', out);
    return;
  case ATTR_ACT:
    fprintf(out, " {alpha=%s}", F32(n->attr.act.alpha));
    return;
  case ATTR_ACT_BWD:
    fprintf(out, " {act=%s", ir_act_name(n->attr.act_bwd.kind));
    if (n->attr.act_bwd.kind == ACT_LEAKY_RELU)
      fprintf(out, "(%s)", F32(n->attr.act_bwd.alpha));
    fputc('}', out);
    return;
  case ATTR_JOIN:
    if (n->attr.join.act.kind != ACT_NONE) {
      fprintf(out, " {act=%s", ir_act_name(n->attr.join.act.kind));
      if (n->attr.join.act.kind == ACT_LEAKY_RELU)
        fprintf(out, "(%s)", F32(n->attr.join.act.alpha));
      fputc('}', out);
    }
    return;
  case ATTR_BN:
    fprintf(out, " {momentum=%s, eps=%s", F32(n->attr.bn.momentum),
            F32(n->attr.bn.eps));
    print_act(out, n->attr.bn.act);
    fputc('}', out);
    return;
  case ATTR_SLICE:
    fprintf(out, " {channels=%d..%d}", n->attr.slice.first,
            n->attr.slice.first + n->attr.slice.count);
    return;
  case ATTR_NORM:
    print_floats(out, "mean", n->attr.norm.mean, n->attr.norm.channels);
    print_floats(out, ", std", n->attr.norm.std, n->attr.norm.channels);
    fputc('}', out);
    return;
  case ATTR_OPT: {
    const OptAttr *o = &n->attr.opt;
    if (n->op == OP_SGD_UPDATE)
      fprintf(out, " {momentum=%s%s", F32(o->momentum),
              o->nesterov ? ", nesterov" : "");
    else
      fprintf(out, " {beta1=%s, beta2=%s, eps=%s", F32(o->beta1),
              F32(o->beta2), F32(o->eps));
    if (o->weight_decay != 0)
      fprintf(out, ", weight_decay=%s", F32(o->weight_decay));
    fputc('}', out);
    return;
  }
  }
}

static void print_node(FILE *out, const Node *n) {
  fprintf(out, "  %%%s = %s", n->out->name, ir_op_info(n->op)->name);
  for (int i = 0; i < n->nin; i++)
    fprintf(out, "%s%%%s", i ? ", " : " ", n->in[i]->name);
  print_attrs(out, n);
  print_type(out, n->out);
  fputc('\n', out);
}

static const char *kind_name(TensorKind k) {
  switch (k) {
  case TK_INPUT: return "input";
  case TK_LABELS: return "labels";
  case TK_PARAM: return "param";
  case TK_STATE: return "state";
  case TK_VALUE: break;
  }
  unreachable();
}

/* adam(lr=..., ...), with what is not the default only where new */
static void print_optimizer(FILE *out, const Optimizer *o) {
  if (o->kind == OPT_SGD)
    fprintf(out, "optimizer=sgd(lr=%s, momentum=%s%s", F64(o->lr),
            F64(o->momentum), o->nesterov ? ", nesterov=true" : "");
  else
    fprintf(out, "optimizer=%s(lr=%s, beta1=%s, beta2=%s, eps=%s",
            o->kind == OPT_ADAM ? "adam" : "adamw", F64(o->lr), F64(o->beta1),
            F64(o->beta2), F64(o->eps));
  if (o->weight_decay != 0 || o->kind == OPT_ADAMW)
    fprintf(out, ", weight_decay=%s", F64(o->weight_decay));
  if (!o->decay_biases)
    fputs(", decay_biases=false", out);
  fputc(')', out);
}

/* the recipe's settings that are not their defaults */
static void print_recipe(FILE *out, const TrainSpec *t) {
  const Schedule *s = &t->schedule;
  if (s->kind == SCHEDULE_STEP)
    fprintf(out, ", schedule=step(every=%" PRId64 ", factor=%s)", s->every,
            F64(s->factor));
  if (s->kind == SCHEDULE_COSINE)
    fprintf(out, ", schedule=cosine(warmup=%" PRId64 ")", s->warmup);
  if (s->kind == SCHEDULE_ONECYCLE)
    fprintf(out, ", schedule=onecycle(max_lr=%s)", F64(s->max_lr));
  if (t->patience)
    fprintf(out, ", patience=%" PRId64, t->patience);
  if (t->label_smoothing != 0)
    fprintf(out, ", label_smoothing=%s", F64(t->label_smoothing));
  if (t->augment_shift)
    fprintf(out, ", augment_shift=%" PRId64, t->augment_shift);
  if (t->augment_flip)
    fputs(", augment_flip", out);
}

static void print_train(FILE *out, const TrainSpec *t) {
  fprintf(out, "  train {loss=cross_entropy, ");
  print_optimizer(out, &t->opt);
  fprintf(out, ", batch=%" PRId64 ", epochs=%" PRId64 ", seed=%" PRIu64,
          t->batch, t->epochs, t->seed);
  if (t->validation_frac > 0)
    fprintf(out, ", validation=%s", F64(t->validation_frac));
  else
    fprintf(out, ", validation=%" PRId64, t->validation);
  if (t->data) {
    fprintf(out, ", data=%s(", ir_data_kind_name(t->data_kind));
    print_string(out, t->data);
    fputs(t->data_kind != DATA_CIFAR100 ? ")"
          : t->data_label == CIFAR_LABEL_COARSE ? ", label=coarse)"
                                                : ", label=fine)", out);
  }
  print_recipe(out, t);
  fprintf(out, "}\n");
}

void ir_print(FILE *out, const Module *m) {
  fprintf(out, "module %s {\n", m->name);
  for (int i = 0; i < m->ntensors; i++) {
    const Tensor *t = m->tensors[i];
    if (t->kind == TK_VALUE)
      continue;
    fprintf(out, "  %%%s = %s", t->name, kind_name(t->kind));
    print_type(out, t);
    fputc('\n', out);
  }
  for (int i = 0; i < m->nnodes; i++)
    print_node(out, m->nodes[i]);
  if (m->output)
    fprintf(out, "  output %%%s\n", m->output->name);
  if (m->loss)
    fprintf(out, "  loss %%%s\n", m->loss->name);
  if (m->has_train)
    print_train(out, &m->train);
  if (m->train_arena_bytes)
    fprintf(out, "  memory {params=%" PRId64 " floats, state=%" PRId64
            " floats, chunks=%" PRId64 " of %" PRId64 " images, arena=%"
            PRId64 " bytes, infer_arena=%" PRId64 " bytes, grads=%" PRId64
            "+%" PRId64 "}\n", m->param_floats, m->state_floats, m->chunks,
            m->chunk_images, m->train_arena_bytes, m->infer_arena_bytes,
            m->grads_offset, m->grads_bytes);
  fprintf(out, "}\n");
}
