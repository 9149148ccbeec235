/* cg_descriptor.c - the `cnn_model` constant of runtime/cnnrt.h.
 *
 * Built field by field in the order of struct CnnModel; every field is 8
 * bytes, so the LLVM struct and the C struct agree without padding rules.
 * The parameter table says, for each trained tensor, its PyTorch name, its
 * cnnc layout and where it sits in the flat parameter buffer. */
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg.h"

static LLVMValueRef i64c(Cg *g, int64_t v) { return cg_i64(g, v); }
static LLVMValueRef f64c(Cg *g, double v) { return LLVMConstReal(g->f64, v); }

static LLVMValueRef string(Cg *g, const char *s, const char *name) {
  if (!s)
    return LLVMConstNull(g->ptr);
  LLVMValueRef init = LLVMConstStringInContext(g->ctx, s, (unsigned)strlen(s),
                                               false);
  LLVMValueRef gv = cg_private_constant(g, init, name);
  LLVMSetUnnamedAddress(gv, LLVMGlobalUnnamedAddr);
  return gv;
}

static LLVMValueRef param_entry(Cg *g, LLVMTypeRef type, const Tensor *t) {
  static const int64_t kinds[] = {[PARAM_CONV_WEIGHT] = CNN_PARAM_CONV_WEIGHT,
                                  [PARAM_DENSE_WEIGHT] = CNN_PARAM_DENSE_WEIGHT,
                                  [PARAM_VECTOR] = CNN_PARAM_VECTOR};
  static const int64_t inits[] = {[INIT_GLOROT_UNIFORM] =
                                      CNN_INIT_GLOROT_UNIFORM,
                                  [INIT_ZEROS] = CNN_INIT_ZEROS,
                                  [INIT_ONES] = CNN_INIT_ONES};
  ParamLayout p = ir_param_layout(g->m, t);
  const Shape *s = &t->shape;
  LLVMValueRef dims[4];
  for (int i = 0; i < 4; i++)
    dims[i] = i64c(g, i < s->rank ? s->dim[i] : 0);
  LLVMValueRef f[] = {
      string(g, t->name, "param.name"), i64c(g, kinds[p.kind]),
      i64c(g, s->rank), LLVMConstArray2(g->i64, dims, 4),
      i64c(g, t->offset / 4), i64c(g, ir_shape_elems(s)), i64c(g, p.fan_in),
      i64c(g, p.fan_out), i64c(g, p.flat[0]), i64c(g, p.flat[1]),
      i64c(g, p.flat[2]), i64c(g, inits[t->param.init]),
      i64c(g, t->param.trainable),
      i64c(g, t->dtype == DT_I64 ? CNN_I64 : CNN_F32)};
  return LLVMConstNamedStruct(type, f, sizeof f / sizeof f[0]);
}

static LLVMValueRef param_table(Cg *g, int64_t *count) {
  LLVMTypeRef i64 = g->i64;
  LLVMTypeRef fields[] = {g->ptr, i64, i64, LLVMArrayType2(i64, 4), i64, i64,
                          i64, i64, i64, i64, i64, i64, i64, i64};
  LLVMTypeRef type = LLVMStructCreateNamed(g->ctx, "CnnParam");
  LLVMStructSetBody(type, fields, sizeof fields / sizeof fields[0], false);
  const Module *m = g->m;
  LLVMValueRef *entries = arena_array(m->arena, (size_t)m->ntensors + 1,
                                      sizeof(LLVMValueRef));
  *count = 0;
  for (int i = 0; i < m->ntensors; i++)
    if (m->tensors[i]->kind == TK_PARAM)
      entries[(*count)++] = param_entry(g, type, m->tensors[i]);
  LLVMValueRef init = LLVMConstArray2(type, entries, (uint64_t)*count);
  return cg_private_constant(g, init, "cnn_params");
}

static CnnOptimizerKind optimizer_kind(OptimizerKind k) {
  switch (k) {
  case OPT_SGD: return CNN_OPT_SGD;
  case OPT_ADAM: return CNN_OPT_ADAM;
  case OPT_ADAMW: return CNN_OPT_ADAMW;
  }
  unreachable();
}

static CnnSchedule schedule_kind(ScheduleKind k) {
  switch (k) {
  case SCHEDULE_CONSTANT: return CNN_SCHEDULE_CONSTANT;
  case SCHEDULE_STEP: return CNN_SCHEDULE_STEP;
  case SCHEDULE_COSINE: return CNN_SCHEDULE_COSINE;
  case SCHEDULE_ONECYCLE: return CNN_SCHEDULE_ONECYCLE;
  }
  unreachable();
}

static CnnDataKind data_kind(DataKind k) {
  switch (k) {
  case DATA_IDX: return CNN_DATA_IDX;
  case DATA_CIFAR10: return CNN_DATA_CIFAR10;
  case DATA_CIFAR100: return CNN_DATA_CIFAR100;
  case DATA_NPY: return CNN_DATA_NPY;
  case DATA_KIND_COUNT: break;
  }
  unreachable();
}

/* FNV-1a over the module as --print-ir shows it: whatever changes the
 * code changes the text. */
static uint64_t code_hash(const Module *m) {
  char *text = NULL;
  size_t size = 0;
  FILE *f = open_memstream(&text, &size);
  uint64_t h = 0xcbf29ce484222325u;
  if (!f)
    return h; /* out of memory: no fingerprint, as an empty module's */
  ir_print(f, m);
  fclose(f);
  for (size_t i = 0; i < size; i++)
    h = (h ^ (unsigned char)text[i]) * 0x100000001b3u;
  free(text);
  return h;
}

static bool is_update(const Node *n) { return ir_op_is(n->op, OPF_UPDATE); }

/* Whether node i's output is read, in another chunk's slot, by a later
 * phase or the update: a per-chunk tensor (not per image) that a node
 * combining every chunk's copies takes. */
static bool read_across_chunks(const Module *m, const Node *def) {
  for (int i = 0; i < m->nnodes; i++) {
    const Node *n = m->nodes[i];
    if (!ir_op_is(n->op, OPF_READS_BATCH))
      continue;
    for (int j = 0; j < n->nin; j++)
      if (n->in[j]->def == def)
        return true;
  }
  return false;
}

static LLVMValueRef exchange_entry(Cg *g, LLVMTypeRef type, int64_t phase,
                                   const Tensor *t) {
  int64_t bytes = ir_shape_elems(&t->shape) * ir_dtype_bytes(t->dtype);
  LLVMValueRef f[] = {i64c(g, phase), i64c(g, t->offset), i64c(g, bytes)};
  return LLVMConstNamedStruct(type, f, 3);
}

/* cnnrt.h's CnnExchange table: what each phase leaves for the others */
static LLVMValueRef exchange_table(Cg *g, const CgEntryPoints *e,
                                   int64_t *count) {
  const Module *m = g->m;
  LLVMTypeRef i64 = g->i64;
  LLVMTypeRef fields[] = {i64, i64, i64};
  LLVMTypeRef type = LLVMStructCreateNamed(g->ctx, "CnnExchange");
  LLVMStructSetBody(type, fields, 3, false);
  LLVMValueRef *entries = arena_array(m->arena, (size_t)m->nnodes + 1,
                                      sizeof(LLVMValueRef));
  *count = 0;
  for (int i = 0; i < m->nnodes; i++) {
    const Node *n = m->nodes[i];
    if (!is_update(n) && !ir_tensor_per_image(n->out) &&
        read_across_chunks(m, n))
      entries[(*count)++] = exchange_entry(g, type, e->phase[i], n->out);
  }
  if (*count == 0)
    return LLVMConstNull(g->ptr);
  LLVMValueRef init = LLVMConstArray2(type, entries, (uint64_t)*count);
  return cg_private_constant(g, init, "cnn_exchanges");
}

void cg_model_descriptor(Cg *g, const CgEntryPoints *e) {
  const Module *m = g->m;
  const TrainSpec *t = &m->train;
  const Shape *in = &m->input->shape;
  int64_t nparams, nexchanges;
  LLVMValueRef params = param_table(g, &nparams);
  LLVMValueRef exchanges = exchange_table(g, e, &nexchanges);
  LLVMValueRef f[] = {
      i64c(g, CNN_ABI_VERSION), string(g, m->name, "model.name"),
      i64c(g, in->dim[0]), i64c(g, in->dim[1]), i64c(g, in->dim[2]),
      i64c(g, ir_shape_elems(&m->output->shape)), i64c(g, t->batch),
      i64c(g, m->param_floats), i64c(g, nparams), params,
      i64c(g, m->trainable_floats), i64c(g, m->state_floats), i64c(g, cg_arena_bytes(g, true)),
      i64c(g, cg_arena_bytes(g, false)), i64c(g, m->chunks),
      i64c(g, cg_chunk_stride(g)), i64c(g, m->grads_offset),
      i64c(g, m->grads_bytes / 4), i64c(g, e->nphases), i64c(g, nexchanges),
      exchanges,
      i64c(g, optimizer_kind(t->opt.kind)),
      f64c(g, t->opt.lr), f64c(g, t->opt.momentum), f64c(g, t->opt.beta1),
      f64c(g, t->opt.beta2), f64c(g, t->opt.eps), i64c(g, t->epochs),
      i64c(g, (int64_t)t->seed), i64c(g, t->validation),
      f64c(g, t->validation_frac), string(g, t->data, "model.data"),
      i64c(g, data_kind(t->data_kind)),
      i64c(g, t->data_label == CIFAR_LABEL_COARSE ? CNN_LABEL_COARSE
                                                   : CNN_LABEL_FINE),
      i64c(g, t->augment_shift), i64c(g, t->augment_flip),
      i64c(g, (int64_t)code_hash(m)), f64c(g, t->opt.weight_decay),
      i64c(g, t->opt.nesterov), i64c(g, t->opt.decay_biases),
      i64c(g, schedule_kind(t->schedule.kind)), i64c(g, t->schedule.every),
      f64c(g, t->schedule.factor), i64c(g, t->schedule.warmup),
      f64c(g, t->schedule.max_lr), i64c(g, t->patience),
      f64c(g, t->label_smoothing), e->gradients, e->update, e->infer};
  LLVMValueRef init = LLVMConstStructInContext(g->ctx, f,
                                               sizeof f / sizeof f[0], false);
  LLVMValueRef gv = LLVMAddGlobal(g->mod, LLVMTypeOf(init), "cnn_model");
  LLVMSetInitializer(gv, init);
  LLVMSetGlobalConstant(gv, true);
}
