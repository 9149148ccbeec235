/* cg_math.c - activations, their derivatives, and dropout's random mask. */
#include "cg.h"

/* Activations work on a float or a vector of floats alike: constants take
 * the operand's type. */
static LLVMValueRef select_pos(Cg *g, LLVMValueRef test, LLVMValueRef a,
                               LLVMValueRef b) {
  LLVMValueRef zero = cg_const_like(g, test, 0);
  LLVMValueRef pos = LLVMBuildFCmp(g->b, LLVMRealOGT, test, zero, "");
  return LLVMBuildSelect(g->b, pos, a, b, "");
}

static LLVMValueRef exp_f(Cg *g, LLVMValueRef x) {
  return cg_call1(g, "llvm.exp", x);
}

LLVMValueRef cg_activate(Cg *g, Activation a, LLVMValueRef x) {
  LLVMValueRef one = cg_const_like(g, x, 1);
  switch (a.kind) {
  case ACT_NONE: return x;
  case ACT_RELU: return select_pos(g, x, x, cg_const_like(g, x, 0));
  case ACT_LEAKY_RELU:
    return select_pos(g, x, x, cg_fmul(g, x, cg_const_like(g, x, a.alpha)));
  case ACT_SIGMOID: /* 1 / (1 + e^-x) */
    return cg_fdiv(g, one,
                   cg_fadd(g, one, exp_f(g, LLVMBuildFNeg(g->b, x, ""))));
  case ACT_TANH: /* 1 - 2 / (e^2x + 1): saturates to +-1 without NaN */
    return cg_fsub(g, one,
                   cg_fdiv(g, cg_const_like(g, x, 2),
                           cg_fadd(g, exp_f(g, cg_fmul(g, x, cg_const_like(g, x, 2))),
                                   one)));
  case ACT_SOFTMAX: break; /* not elementwise: cg_softmax */
  }
  unreachable();
}

/* f'(x) written in terms of y = f(x), which the backward pass has. */
LLVMValueRef cg_activation_grad(Cg *g, Activation a, LLVMValueRef y) {
  LLVMValueRef one = cg_const_like(g, y, 1);
  switch (a.kind) {
  case ACT_NONE: return one;
  case ACT_RELU: return select_pos(g, y, one, cg_const_like(g, y, 0));
  case ACT_LEAKY_RELU:
    return select_pos(g, y, one, cg_const_like(g, y, a.alpha));
  case ACT_SIGMOID: return cg_fmul(g, y, cg_fsub(g, one, y));
  case ACT_TANH: return cg_fsub(g, one, cg_fmul(g, y, y));
  case ACT_SOFTMAX: break;
  }
  unreachable();
}

/* splitmix64's finaliser, as runtime/cnnrt.h specifies. */
static LLVMValueRef mix(Cg *g, LLVMValueRef z) {
  static const struct { unsigned shift; uint64_t mul; } rounds[] = {
      {30, 0xbf58476d1ce4e5b9ULL}, {27, 0x94d049bb133111ebULL}, {31, 0}};
  for (int i = 0; i < 3; i++) {
    LLVMValueRef sh = LLVMConstInt(g->i64, rounds[i].shift, false);
    z = LLVMBuildXor(g->b, z, LLVMBuildLShr(g->b, z, sh, ""), "");
    if (rounds[i].mul)
      z = LLVMBuildMul(g->b, z, LLVMConstInt(g->i64, rounds[i].mul, false),
                       "");
  }
  return z;
}

static LLVMValueRef golden(Cg *g) {
  return LLVMConstInt(g->i64, 0x9e3779b97f4a7c15ULL, false);
}

LLVMValueRef cg_dropout_counter(Cg *g, LLVMValueRef b, int64_t elems,
                                LLVMValueRef e) {
  return cg_add(g, cg_mulc(g, cg_add(g, g->image_base, b), elems), e);
}

/* key = mix(seed ^ mix(stream + G)), stream = step * 2^16 + layer */
LLVMValueRef cg_dropout_key(Cg *g, int stream_index) {
  LLVMValueRef stream = LLVMBuildShl(g->b, g->step, cg_i64(g, 16), "");
  stream = LLVMBuildAdd(g->b, stream, cg_i64(g, stream_index), "");
  LLVMValueRef inner = mix(g, LLVMBuildAdd(g->b, stream, golden(g), ""));
  return mix(g, LLVMBuildXor(g->b, g->seed, inner, ""));
}

/* r = mix(key + counter * G); kept when (r >> 40) >= rate * 2^24 */
LLVMValueRef cg_dropout_scale(Cg *g, LLVMValueRef key, float rate,
                              LLVMValueRef counter) {
  LLVMValueRef c = LLVMBuildMul(g->b, counter, golden(g), "");
  LLVMValueRef r = mix(g, LLVMBuildAdd(g->b, key, c, ""));
  LLVMValueRef top = LLVMBuildLShr(g->b, r, cg_i64(g, 40), "");
  uint64_t threshold = (uint64_t)((double)rate * 16777216.0);
  LLVMValueRef keep = LLVMBuildICmp(
      g->b, LLVMIntUGE, top, LLVMConstInt(g->i64, threshold, false), "");
  return LLVMBuildSelect(g->b, keep, cg_f32(g, 1.0 / (1.0 - rate)),
                         cg_f32(g, 0), "");
}
