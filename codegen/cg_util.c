/* cg_util.c - the small builders every kernel uses. */
#include <string.h>

#include "cg.h"

LLVMValueRef cg_i64(Cg *g, int64_t v) {
  return LLVMConstInt(g->i64, (unsigned long long)v, true);
}

LLVMValueRef cg_f32(Cg *g, double v) { return LLVMConstReal(g->f32, v); }

LLVMValueRef cg_const_like(Cg *g, LLVMValueRef like, double v) {
  LLVMTypeRef t = LLVMTypeOf(like);
  if (LLVMGetTypeKind(t) != LLVMVectorTypeKind)
    return cg_f32(g, v);
  LLVMValueRef lanes[64];
  unsigned n = LLVMGetVectorSize(t);
  for (unsigned i = 0; i < n; i++)
    lanes[i] = cg_f32(g, v);
  return LLVMConstVector(lanes, n);
}

/* Loads and stores of vectors promise only float alignment: NHWC rows
 * start wherever the channel count puts them. */
LLVMValueRef cg_vload(Cg *g, LLVMValueRef p, LLVMValueRef i) {
  LLVMValueRef v = LLVMBuildLoad2(g->b, g->vec, cg_gep(g, g->f32, p, i), "");
  LLVMSetAlignment(v, 4);
  return v;
}

void cg_vstore(Cg *g, LLVMValueRef v, LLVMValueRef p, LLVMValueRef i) {
  LLVMValueRef s = LLVMBuildStore(g->b, v, cg_gep(g, g->f32, p, i));
  LLVMSetAlignment(s, 4);
}

LLVMTypeRef cg_lanes_type(const Cg *g, int64_t lanes) {
  int64_t width = 4;
  while (width < lanes && width < g->target.vw)
    width *= 2;
  if (lanes <= 0 || width > g->target.vw)
    width = g->target.vw;
  return width == g->target.vw ? g->vec
                               : LLVMVectorType(g->f32, (unsigned)width);
}

static int64_t width_of(LLVMTypeRef t) { return LLVMGetVectorSize(t); }

/* The first `lanes` of a vector of type t true: a mask. */
static LLVMValueRef first_lanes(Cg *g, LLVMTypeRef t, int64_t lanes) {
  LLVMTypeRef i1 = LLVMInt1TypeInContext(g->ctx);
  LLVMValueRef bits[64];
  for (int64_t k = 0; k < width_of(t); k++)
    bits[k] = LLVMConstInt(i1, k < lanes, false);
  return LLVMConstVector(bits, (unsigned)width_of(t));
}

static LLVMValueRef masked_intrinsic(Cg *g, const char *name, LLVMTypeRef t,
                                     LLVMTypeRef *fn_type) {
  unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
  if (!id)
    unreachable();
  LLVMTypeRef over[2] = {t, g->ptr};
  *fn_type = LLVMIntrinsicGetType(g->ctx, id, over, 2);
  return LLVMGetIntrinsicDeclaration(g->mod, id, over, 2);
}

/* `lanes` floats at p[i] into a vector of type t, the rest 0 */
static LLVMValueRef load_part(Cg *g, LLVMTypeRef t, LLVMValueRef p,
                              LLVMValueRef i, int64_t lanes) {
  if (lanes <= 0 || lanes >= width_of(t)) {
    LLVMValueRef v = LLVMBuildLoad2(g->b, t, cg_gep(g, g->f32, p, i), "");
    LLVMSetAlignment(v, 4);
    return v;
  }
  LLVMTypeRef ft;
  LLVMValueRef fn = masked_intrinsic(g, "llvm.masked.load", t, &ft);
  LLVMValueRef args[] = {cg_gep(g, g->f32, p, i), LLVMConstInt(g->i32, 4, 0),
                         first_lanes(g, t, lanes), LLVMConstNull(t)};
  return LLVMBuildCall2(g->b, ft, fn, args, 4, "");
}

LLVMValueRef cg_vload_lanes(Cg *g, LLVMValueRef p, LLVMValueRef i,
                            int64_t lanes) {
  return load_part(g, cg_lanes_type(g, lanes), p, i, lanes);
}

LLVMValueRef cg_vload_masked(Cg *g, LLVMValueRef p, LLVMValueRef i,
                             int64_t lanes) {
  return load_part(g, g->vec, p, i, lanes);
}

void cg_vstore_lanes(Cg *g, LLVMValueRef v, LLVMValueRef p, LLVMValueRef i,
                     int64_t lanes) {
  LLVMTypeRef t = LLVMTypeOf(v);
  if (lanes <= 0 || lanes >= width_of(t)) {
    LLVMValueRef s = LLVMBuildStore(g->b, v, cg_gep(g, g->f32, p, i));
    LLVMSetAlignment(s, 4);
    return;
  }
  LLVMTypeRef ft;
  LLVMValueRef fn = masked_intrinsic(g, "llvm.masked.store", t, &ft);
  LLVMValueRef args[] = {v, cg_gep(g, g->f32, p, i),
                         LLVMConstInt(g->i32, 4, 0), first_lanes(g, t, lanes)};
  LLVMBuildCall2(g->b, ft, fn, args, 4, "");
}

LLVMValueRef cg_var_load(Cg *g, LLVMValueRef slot) {
  return LLVMBuildLoad2(g->b, LLVMGetAllocatedType(slot), slot, "");
}

int cg_max_accumulators(const Cg *g) { return g->target.accumulators; }

static LLVMValueRef splat_to(Cg *g, LLVMValueRef x, LLVMTypeRef t) {
  LLVMValueRef undef = LLVMGetUndef(t);
  LLVMValueRef one = LLVMBuildInsertElement(g->b, undef, x, cg_i64(g, 0), "");
  LLVMValueRef mask = LLVMConstNull(LLVMVectorType(g->i32, (unsigned)width_of(t)));
  return LLVMBuildShuffleVector(g->b, one, undef, mask, "");
}

void cg_fma_row(Cg *g, const LLVMValueRef *acc, LLVMValueRef a,
                const LLVMValueRef *b, int64_t count) {
  bool scalar = LLVMGetTypeKind(LLVMTypeOf(a)) != LLVMVectorTypeKind;
  LLVMValueRef splat = NULL;
  for (int64_t k = 0; k < count; k++) {
    LLVMTypeRef t = LLVMTypeOf(b[k]);
    if (scalar && (!splat || LLVMTypeOf(splat) != t))
      splat = splat_to(g, a, t);
    LLVMValueRef sum = cg_var_load(g, acc[k]);
    LLVMBuildStore(g->b, cg_fma(g, scalar ? splat : a, b[k], sum), acc[k]);
  }
}

LLVMValueRef cg_splat(Cg *g, LLVMValueRef x) { return splat_to(g, x, g->vec); }

/* pre -> header: iv = phi(0, iv + 1); iv < count ? body : exit */
LLVMValueRef cg_loop_begin(Cg *g, CgLoop *l, LLVMValueRef count,
                           const char *name) {
  l->pre = LLVMGetInsertBlock(g->b);
  l->header = LLVMAppendBasicBlockInContext(g->ctx, g->fn, name);
  l->body = LLVMAppendBasicBlockInContext(g->ctx, g->fn, "body");
  l->exit = LLVMAppendBasicBlockInContext(g->ctx, g->fn, "done");
  LLVMBuildBr(g->b, l->header);
  LLVMPositionBuilderAtEnd(g->b, l->header);
  l->iv = LLVMBuildPhi(g->b, g->i64, name);
  LLVMValueRef zero = cg_i64(g, 0);
  LLVMAddIncoming(l->iv, &zero, &l->pre, 1);
  LLVMValueRef more = LLVMBuildICmp(g->b, LLVMIntSLT, l->iv, count, "");
  LLVMBuildCondBr(g->b, more, l->body, l->exit);
  LLVMPositionBuilderAtEnd(g->b, l->body);
  return l->iv;
}

void cg_loop_end(Cg *g, CgLoop *l) {
  LLVMValueRef next = LLVMBuildNSWAdd(g->b, l->iv, cg_i64(g, 1), "");
  LLVMBasicBlockRef latch = LLVMGetInsertBlock(g->b);
  LLVMAddIncoming(l->iv, &next, &latch, 1);
  LLVMBuildBr(g->b, l->header);
  LLVMPositionBuilderAtEnd(g->b, l->exit);
}

LLVMValueRef cg_for(Cg *g, CgLoop *l, int64_t count, const char *name) {
  return cg_loop_begin(g, l, cg_i64(g, count), name);
}

void cg_if_begin(Cg *g, CgIf *c, LLVMValueRef cond) {
  c->then = LLVMAppendBasicBlockInContext(g->ctx, g->fn, "then");
  c->done = LLVMAppendBasicBlockInContext(g->ctx, g->fn, "endif");
  LLVMBuildCondBr(g->b, cond, c->then, c->done);
  LLVMPositionBuilderAtEnd(g->b, c->then);
}

void cg_if_end(Cg *g, CgIf *c) {
  LLVMBuildBr(g->b, c->done);
  LLVMPositionBuilderAtEnd(g->b, c->done);
}

/* Slots go in the entry block, where mem2reg looks for them. */
LLVMValueRef cg_var(Cg *g, LLVMTypeRef t, LLVMValueRef init,
                    const char *name) {
  LLVMBasicBlockRef here = LLVMGetInsertBlock(g->b);
  LLVMValueRef first = LLVMGetFirstInstruction(g->entry);
  if (first)
    LLVMPositionBuilderBefore(g->b, first);
  else
    LLVMPositionBuilderAtEnd(g->b, g->entry);
  LLVMValueRef slot = LLVMBuildAlloca(g->b, t, name);
  LLVMPositionBuilderAtEnd(g->b, here);
  LLVMBuildStore(g->b, init, slot);
  return slot;
}

LLVMValueRef cg_add(Cg *g, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildNSWAdd(g->b, a, b, "");
}

LLVMValueRef cg_mul(Cg *g, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildNSWMul(g->b, a, b, "");
}

LLVMValueRef cg_addc(Cg *g, LLVMValueRef a, int64_t c) {
  return c ? cg_add(g, a, cg_i64(g, c)) : a;
}

LLVMValueRef cg_mulc(Cg *g, LLVMValueRef a, int64_t c) {
  return c == 1 ? a : cg_mul(g, a, cg_i64(g, c));
}

LLVMValueRef cg_fadd(Cg *g, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildFAdd(g->b, a, b, "");
}

LLVMValueRef cg_fsub(Cg *g, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildFSub(g->b, a, b, "");
}

LLVMValueRef cg_fmul(Cg *g, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildFMul(g->b, a, b, "");
}

LLVMValueRef cg_fdiv(Cg *g, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildFDiv(g->b, a, b, "");
}

LLVMValueRef cg_fadd_reassoc(Cg *g, LLVMValueRef a, LLVMValueRef b) {
  LLVMValueRef s = LLVMBuildFAdd(g->b, a, b, "");
  LLVMSetFastMathFlags(s, LLVMFastMathAllowReassoc);
  return s;
}

static LLVMValueRef intrinsic(Cg *g, const char *name, LLVMTypeRef t,
                              LLVMTypeRef *fn_type) {
  unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
  if (!id)
    unreachable();
  *fn_type = LLVMIntrinsicGetType(g->ctx, id, &t, 1);
  return LLVMGetIntrinsicDeclaration(g->mod, id, &t, 1);
}

LLVMValueRef cg_call1(Cg *g, const char *name, LLVMValueRef x) {
  LLVMTypeRef ft;
  LLVMValueRef fn = intrinsic(g, name, LLVMTypeOf(x), &ft);
  return LLVMBuildCall2(g->b, ft, fn, &x, 1, "");
}

LLVMValueRef cg_vsum(Cg *g, LLVMValueRef v) {
  LLVMTypeRef ft;
  LLVMValueRef fn = intrinsic(g, "llvm.vector.reduce.fadd", LLVMTypeOf(v), &ft);
  LLVMValueRef args[] = {cg_f32(g, -0.0), v}; /* -0 + x is x, even for -0 */
  LLVMValueRef sum = LLVMBuildCall2(g->b, ft, fn, args, 2, "");
  LLVMSetFastMathFlags(sum, LLVMFastMathAllowReassoc);
  return sum;
}

LLVMValueRef cg_call2(Cg *g, const char *name, LLVMValueRef x,
                      LLVMValueRef y) {
  LLVMTypeRef ft;
  LLVMValueRef fn = intrinsic(g, name, LLVMTypeOf(x), &ft);
  LLVMValueRef args[2] = {x, y};
  return LLVMBuildCall2(g->b, ft, fn, args, 2, "");
}

/* llvm.fmuladd: an FMA where the target has one; the same result at every
 * run of the same binary, which is what determinism needs. */
LLVMValueRef cg_fma(Cg *g, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c) {
  LLVMTypeRef ft;
  LLVMValueRef fn = intrinsic(g, "llvm.fmuladd", LLVMTypeOf(a), &ft);
  LLVMValueRef args[3] = {a, b, c};
  return LLVMBuildCall2(g->b, ft, fn, args, 3, "");
}

LLVMValueRef cg_in_range(Cg *g, LLVMValueRef i, int64_t n) {
  return LLVMBuildICmp(g->b, LLVMIntULT, i, cg_i64(g, n), "");
}

LLVMValueRef cg_tensor(Cg *g, const Tensor *t, LLVMValueRef b) {
  if (t->buffer == BUF_NONE || !g->buf[t->buffer])
    unreachable();
  LLVMValueRef base = g->buf[t->buffer];
  LLVMValueRef off = cg_i64(g, t->offset);
  if (b && ir_tensor_per_image(t)) {
    int64_t bytes = ir_shape_elems(&t->shape) * 4;
    off = cg_add(g, off, cg_mulc(g, b, bytes));
  }
  LLVMTypeRef i8 = LLVMInt8TypeInContext(g->ctx);
  return LLVMBuildInBoundsGEP2(g->b, i8, base, &off, 1, "");
}

LLVMValueRef cg_scratch(Cg *g, int64_t offset) {
  LLVMValueRef off = cg_i64(g, g->scratch + offset);
  LLVMTypeRef i8 = LLVMInt8TypeInContext(g->ctx);
  return LLVMBuildInBoundsGEP2(g->b, i8, g->buf[BUF_ARENA], &off, 1, "");
}

LLVMValueRef cg_gep(Cg *g, LLVMTypeRef t, LLVMValueRef p, LLVMValueRef i) {
  return LLVMBuildInBoundsGEP2(g->b, t, p, &i, 1, "");
}

LLVMValueRef cg_load(Cg *g, LLVMValueRef p, LLVMValueRef i) {
  return LLVMBuildLoad2(g->b, g->f32, cg_gep(g, g->f32, p, i), "");
}

void cg_store(Cg *g, LLVMValueRef v, LLVMValueRef p, LLVMValueRef i) {
  LLVMBuildStore(g->b, v, cg_gep(g, g->f32, p, i));
}

void cg_accum(Cg *g, LLVMValueRef p, LLVMValueRef i, LLVMValueRef v) {
  LLVMValueRef q = cg_gep(g, g->f32, p, i);
  LLVMValueRef old = LLVMBuildLoad2(g->b, g->f32, q, "");
  LLVMBuildStore(g->b, cg_fadd(g, old, v), q);
}

void cg_fill(Cg *g, LLVMValueRef p, int64_t count, LLVMValueRef v) {
  CgLoop l;
  LLVMValueRef i = cg_for(g, &l, count, "fill");
  cg_store(g, v, p, i);
  cg_loop_end(g, &l);
}

/* The index of the first largest of p[0..k). */
LLVMValueRef cg_argmax(Cg *g, LLVMValueRef p, int64_t k) {
  LLVMValueRef best = cg_var(g, g->f32, cg_load(g, p, cg_i64(g, 0)), "best");
  LLVMValueRef at = cg_var(g, g->i64, cg_i64(g, 0), "at");
  CgLoop l;
  LLVMValueRef i = cg_for(g, &l, k, "i");
  LLVMValueRef v = cg_load(g, p, i);
  LLVMValueRef cur = LLVMBuildLoad2(g->b, g->f32, best, "");
  LLVMValueRef gt = LLVMBuildFCmp(g->b, LLVMRealOGT, v, cur, "");
  LLVMBuildStore(g->b, LLVMBuildSelect(g->b, gt, v, cur, ""), best);
  LLVMValueRef a = LLVMBuildLoad2(g->b, g->i64, at, "");
  LLVMBuildStore(g->b, LLVMBuildSelect(g->b, gt, i, a, ""), at);
  cg_loop_end(g, &l);
  return LLVMBuildLoad2(g->b, g->i64, at, "");
}

LLVMValueRef cg_private_constant(Cg *g, LLVMValueRef init, const char *name) {
  LLVMValueRef gv = LLVMAddGlobal(g->mod, LLVMTypeOf(init), name);
  LLVMSetInitializer(gv, init);
  LLVMSetGlobalConstant(gv, true);
  LLVMSetLinkage(gv, LLVMPrivateLinkage);
  return gv;
}
