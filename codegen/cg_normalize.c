/* cg_normalize.c - the input's per-channel normalisation,
 * y = (x - mean[c]) / std[c], in float32 with a true division, as
 * PyTorch's transforms.Normalize computes it (a multiply by 1/std would
 * round differently). The constants are a private global of C floats
 * each; LLVM folds their loads once the channel loop is unrolled. */
#include "cg.h"

static LLVMValueRef constants(Cg *g, const float *v, int n, const char *name) {
  LLVMValueRef *c = arena_array(g->m->arena, (size_t)n, sizeof *c);
  for (int i = 0; i < n; i++)
    c[i] = cg_f32(g, v[i]);
  LLVMValueRef init = LLVMConstArray2(g->f32, c, (uint64_t)n);
  return cg_private_constant(g, init, name);
}

void cg_normalize(Cg *g, const Node *n) {
  const NormAttr *a = &n->attr.norm;
  int64_t c = a->channels, pixels = ir_shape_elems(&n->out->shape) / c;
  LLVMValueRef mean = constants(g, a->mean, a->channels, "normalize.mean");
  LLVMValueRef std = constants(g, a->std, a->channels, "normalize.std");
  CgLoop lb, lp, lc;
  LLVMValueRef b = cg_loop_begin(g, &lb, g->n, "b");
  LLVMValueRef x = cg_tensor(g, n->in[0], b), y = cg_tensor(g, n->out, b);
  LLVMValueRef p = cg_for(g, &lp, pixels, "p");
  LLVMValueRef at = cg_mulc(g, p, c);
  LLVMValueRef xp = cg_gep(g, g->f32, x, at), yp = cg_gep(g, g->f32, y, at);
  LLVMValueRef ch = cg_for(g, &lc, c, "c");
  LLVMValueRef v = cg_fsub(g, cg_load(g, xp, ch), cg_load(g, mean, ch));
  cg_store(g, cg_fdiv(g, v, cg_load(g, std, ch)), yp, ch);
  cg_loop_end(g, &lc);
  cg_loop_end(g, &lp);
  cg_loop_end(g, &lb);
}
