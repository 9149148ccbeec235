/* cg_infer.c - the entry points of an inference object.
 *
 * For a model NAME (see driver/header.c for the header that declares them):
 *   void NAME_infer(const float *input, float *output, void *scratch);
 *   void NAME_infer_batch(int n, const float *input, float *output,
 *                         void *scratch);
 *   int  NAME_predict(const float *input, void *scratch);
 *   void NAME_set_weights(const float *weights);   (without baked weights)
 * One image at a time, every activation in the caller's scratch (planned
 * for one image, so a batch needs no more), no dropout, no threads, no
 * runtime: the object calls nothing but what LLVM lowers its math to. */
#include <string.h>

#include "cg.h"

static LLVMValueRef global(Cg *g, const char *name, LLVMTypeRef t,
                           LLVMValueRef init, bool constant) {
  LLVMValueRef gv = LLVMAddGlobal(g->mod, t, name);
  LLVMSetInitializer(gv, init);
  LLVMSetGlobalConstant(gv, constant);
  LLVMSetLinkage(gv, LLVMInternalLinkage);
  LLVMSetAlignment(gv, CNN_ALIGN);
  return gv;
}

/* Baked weights: a read-only array. Otherwise a pointer the caller sets. */
static LLVMValueRef weights_global(Cg *g, const CgOptions *o) {
  const Module *m = g->m;
  const char *name = arena_printf(m->arena, "%s.weights", o->infer_name);
  if (!o->weights)
    return global(g, name, g->ptr, LLVMConstNull(g->ptr), false);
  LLVMValueRef *v = arena_array(m->arena, (size_t)m->param_floats + 1,
                                sizeof *v);
  for (int64_t i = 0; i < m->param_floats; i++)
    v[i] = cg_f32(g, o->weights[i]);
  LLVMValueRef init = LLVMConstArray2(g->f32, v, (uint64_t)m->param_floats);
  return global(g, name, LLVMTypeOf(init), init, true);
}

/* void NAME_set_weights(const float *weights) */
static void emit_set_weights(Cg *g, const CgOptions *o, LLVMValueRef slot) {
  LLVMTypeRef params[] = {g->ptr};
  const char *name = arena_printf(g->m->arena, "%s_set_weights", o->infer_name);
  LLVMValueRef fn = cg_new_function(g, name, g->void_t, params, 1, true);
  LLVMBuildStore(g->b, LLVMGetParam(fn, 0), slot);
  cg_finish_function(g, NULL);
}

/* NAME.forward(input, scratch): every forward kernel on one image. */
static LLVMValueRef emit_forward(Cg *g, const CgOptions *o, LLVMValueRef w) {
  LLVMValueRef *kernels = cg_emit_kernels(g, false, cg_is_forward);
  LLVMTypeRef params[] = {g->ptr, g->ptr};
  const char *name = arena_printf(g->m->arena, "%s.forward", o->infer_name);
  LLVMValueRef fn = cg_new_function(g, name, g->void_t, params, 2, false);
  g->buf[BUF_PARAMS] = o->weights ? w : LLVMBuildLoad2(g->b, g->ptr, w, "w");
  g->buf[BUF_INPUT] = LLVMGetParam(fn, 0);
  g->buf[BUF_ARENA] = LLVMGetParam(fn, 1);
  g->n = g->batch_n = cg_i64(g, 1);
  g->image_base = cg_i64(g, 0);
  cg_call_kernels(g, kernels);
  cg_finish_function(g, NULL);
  return fn;
}

static void call_forward(Cg *g, LLVMValueRef fwd, LLVMValueRef input,
                         LLVMValueRef scratch) {
  LLVMTypeRef params[] = {g->ptr, g->ptr};
  LLVMTypeRef ft = LLVMFunctionType(g->void_t, params, 2, false);
  LLVMValueRef args[] = {input, scratch};
  LLVMBuildCall2(g->b, ft, fwd, args, 2, "");
}

static int64_t classes(const Cg *g) {
  return ir_shape_elems(&g->m->output->shape);
}

/* The model's output in scratch, after a forward call. */
static LLVMValueRef output_in(Cg *g, LLVMValueRef scratch) {
  g->buf[BUF_ARENA] = scratch;
  LLVMValueRef p = cg_tensor(g, g->m->output, NULL);
  g->buf[BUF_ARENA] = NULL;
  return p;
}

/* void NAME_infer(const float *input, float *output, void *scratch) */
static LLVMValueRef emit_infer(Cg *g, const CgOptions *o, LLVMValueRef fwd) {
  LLVMTypeRef params[] = {g->ptr, g->ptr, g->ptr};
  const char *name = arena_printf(g->m->arena, "%s_infer", o->infer_name);
  LLVMValueRef fn = cg_new_function(g, name, g->void_t, params, 3, true);
  LLVMValueRef scratch = LLVMGetParam(fn, 2);
  call_forward(g, fwd, LLVMGetParam(fn, 0), scratch);
  LLVMValueRef out = output_in(g, scratch);
  CgLoop l;
  LLVMValueRef k = cg_for(g, &l, classes(g), "k");
  cg_store(g, cg_load(g, out, k), LLVMGetParam(fn, 1), k);
  cg_loop_end(g, &l);
  cg_finish_function(g, NULL);
  return fn;
}

/* void NAME_infer_batch(int n, const float *input, float *output,
 *                       void *scratch) */
static void emit_infer_batch(Cg *g, const CgOptions *o, LLVMValueRef infer) {
  LLVMTypeRef params[] = {g->i32, g->ptr, g->ptr, g->ptr};
  const char *name = arena_printf(g->m->arena, "%s_infer_batch", o->infer_name);
  LLVMValueRef fn = cg_new_function(g, name, g->void_t, params, 4, true);
  LLVMValueRef n = LLVMBuildSExt(g->b, LLVMGetParam(fn, 0), g->i64, "n");
  int64_t in = ir_shape_elems(&g->m->input->shape);
  CgLoop l;
  LLVMValueRef b = cg_loop_begin(g, &l, n, "b");
  LLVMValueRef args[] = {
      cg_gep(g, g->f32, LLVMGetParam(fn, 1), cg_mulc(g, b, in)),
      cg_gep(g, g->f32, LLVMGetParam(fn, 2), cg_mulc(g, b, classes(g))),
      LLVMGetParam(fn, 3)};
  LLVMTypeRef ip[] = {g->ptr, g->ptr, g->ptr};
  LLVMBuildCall2(g->b, LLVMFunctionType(g->void_t, ip, 3, false), infer, args,
                 3, "");
  cg_loop_end(g, &l);
  cg_finish_function(g, NULL);
}

/* int NAME_predict(const float *input, void *scratch): the arg-max class,
 * the first one on ties */
static void emit_predict(Cg *g, const CgOptions *o, LLVMValueRef fwd) {
  LLVMTypeRef params[] = {g->ptr, g->ptr};
  const char *name = arena_printf(g->m->arena, "%s_predict", o->infer_name);
  LLVMValueRef fn = cg_new_function(g, name, g->i32, params, 2, true);
  LLVMValueRef scratch = LLVMGetParam(fn, 1);
  call_forward(g, fwd, LLVMGetParam(fn, 0), scratch);
  LLVMValueRef r = cg_argmax(g, output_in(g, scratch), classes(g));
  cg_finish_function(g, LLVMBuildTrunc(g->b, r, g->i32, ""));
}

void cg_inference_entries(Cg *g, const CgOptions *o) {
  LLVMValueRef w = weights_global(g, o);
  if (!o->weights)
    emit_set_weights(g, o, w);
  LLVMValueRef fwd = emit_forward(g, o, w);
  LLVMValueRef infer = emit_infer(g, o, fwd);
  emit_infer_batch(g, o, infer);
  emit_predict(g, o, fwd);
  if (o->scratch_bytes)
    *o->scratch_bytes = cnn_align_up(g->m->infer_arena_bytes +
                                     g->scratch_bytes);
}
