/* params.c - what a parameter tensor is, for the code that moves weights
 * across the checkpoint boundary (the descriptor, the weight loader).
 *
 * cnnc keeps conv2d weights HWIO [kh][kw][cin][cout] and dense weights
 * [in][out]; PyTorch keeps [cout][cin][kh][kw] and [out][in], and a dense
 * layer after flatten(HxWxC) reads its inputs in PyTorch's C,H,W order
 * where cnnc reads H,W,C. */
#include "ir.h"

#include <math.h>

/* The layer's node that reads parameter t (parameters follow the
 * activations among its inputs). */
static const Node *consumer(const Module *m, const Tensor *t) {
  for (int i = 0; i < m->nnodes; i++) {
    const Node *n = m->nodes[i];
    for (int j = 1; j < n->nin && ir_op_is(n->op, OPF_PARAMS); j++)
      if (n->in[j] == t)
        return n;
  }
  unreachable();
}

/* Nodes between a flatten and a dense that keep each element where it was:
 * elementwise ones, a flatten of a vector, and a softmax. There a softmax
 * is over the whole vector, and the softmax of a reordered vector is the
 * softmax reordered, so PyTorch's C,H,W columns still map to cnnc's
 * H,W,C ones. */
static bool keeps_order(const Node *n) {
  return (ir_op_info(n->op)->flags & OPF_ELEMENTWISE) ||
         (n->op == OP_FLATTEN && n->in[0]->shape.rank == 1) ||
         n->op == OP_SOFTMAX;
}

static const Shape *flattened_from(const Node *dense) {
  const Tensor *t = dense->in[0];
  while (t->def && keeps_order(t->def))
    t = t->def->in[0];
  if (t->def && t->def->op == OP_FLATTEN && t->def->in[0]->shape.rank == 3)
    return &t->def->in[0]->shape;
  return NULL;
}

ParamLayout ir_param_layout(const Module *m, const Tensor *t) {
  const Shape *s = &t->shape;
  ParamLayout p = {t->param.kind, 0, 0, {0, 0, 0}};
  if (p.kind == PARAM_VECTOR)
    return p;
  const Node *n = consumer(m, t);
  int64_t taps = s->rank == 4 ? s->dim[0] * s->dim[1] : 1;
  p.fan_in = taps * s->dim[s->rank - 2];
  p.fan_out = taps * s->dim[s->rank - 1];
  const Shape *flat = p.kind == PARAM_DENSE_WEIGHT ? flattened_from(n) : NULL;
  for (int i = 0; flat && i < 3; i++)
    p.flat[i] = flat->dim[i];
  return p;
}

/* PyTorch's shape of parameter t: [cout, cin, kh, kw], [out, in] or [n]. */
Shape ir_param_torch_shape(const Module *m, const Tensor *t) {
  const Shape *s = &t->shape;
  switch (ir_param_layout(m, t).kind) {
  case PARAM_CONV_WEIGHT:
    return (Shape){4, {s->dim[3], s->dim[2], s->dim[0], s->dim[1]}};
  case PARAM_DENSE_WEIGHT: return (Shape){2, {s->dim[1], s->dim[0], 0, 0}};
  case PARAM_VECTOR: return *s;
  }
  unreachable();
}

/* The cnnc index that holds PyTorch's element i of a parameter of shape s
 * and layout p (ir_param_layout's, found once per tensor: it searches the
 * graph). */
int64_t ir_param_from_torch(ParamLayout p, const Shape *s, int64_t i) {
  if (p.kind == PARAM_CONV_WEIGHT) {
    int64_t kh = s->dim[0], kw = s->dim[1], cin = s->dim[2], cout = s->dim[3];
    int64_t x = i % kw, y = i / kw % kh, c = i / (kw * kh) % cin,
            o = i / (kw * kh * cin);
    return ((y * kw + x) * cin + c) * cout + o;
  }
  if (p.kind == PARAM_DENSE_WEIGHT) {
    int64_t in = s->dim[0], out = s->dim[1];
    int64_t col = i % in, row = i / in; /* PyTorch: [out][in] */
    if (p.flat[0]) { /* PyTorch's column (c*H + h)*W + w is cnnc's (h*W + w)*C + c */
      int64_t H = p.flat[0], W = p.flat[1], C = p.flat[2];
      int64_t w = col % W, h = col / W % H, c = col / (W * H);
      col = (h * W + w) * C + c;
    }
    return col * out + row;
  }
  return i;
}

/* p's floats in the buffer */
static float *at(float *params, const Tensor *t) { return params + t->offset / 4; }

/* in double: one rounding per folded value */
static void apply_norm_fold(const NormFold *f, float *params) {
  const Shape *s = &f->weight->shape;
  int64_t outs = s->dim[s->rank - 1], n = ir_shape_elems(s);
  float *w = at(params, f->weight), *b = at(params, f->bias);
  for (int64_t o = 0; o < outs; o++) {
    double shift = 0;
    for (int64_t k = o; k < n; k += outs) {
      int64_t ch = (k / outs) % f->norm.channels;
      shift += (double)w[k] * f->norm.mean[ch] / f->norm.std[ch];
      w[k] = (float)((double)w[k] / f->norm.std[ch]);
    }
    b[o] = (float)(b[o] - shift);
  }
}

void ir_apply_folds(const Module *m, float *params) {
  for (int i = 0; i < m->nnorm_folds; i++)
    apply_norm_fold(&m->norm_folds[i], params);
  for (int i = 0; i < m->nfolds; i++) {
    const BnFold *f = &m->folds[i];
    int64_t cout = f->gamma->shape.dim[0];
    float *w = at(params, f->weight), *b = at(params, f->bias);
    const float *gamma = at(params, f->gamma), *beta = at(params, f->beta);
    const float *mean = at(params, f->mean), *var = at(params, f->var);
    const float *cb = f->conv_bias ? at(params, f->conv_bias) : NULL;
    for (int64_t c = 0; c < cout; c++) {
      /* in double: one rounding per folded value */
      double s = gamma[c] / sqrt((double)var[c] + f->eps);
      b[c] = (float)(beta[c] + ((cb ? cb[c] : 0.0) - mean[c]) * s);
      for (int64_t k = c; k < ir_shape_elems(&f->weight->shape); k += cout)
        w[k] = (float)(w[k] * s); /* HWIO: output channel innermost */
    }
  }
}
