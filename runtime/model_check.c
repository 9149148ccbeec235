/* model_check.c - sanity checks of the generated cnn_model.
 *
 * The code generator and libcnnrt are built separately; an object from an
 * older cnnc, or a bug on either side, would otherwise show up as a crash
 * deep inside a kernel. Each check names the field it found wrong. */
#include "runtime.h"

enum { MAX_DIM = 1 << 20 }; /* keeps products of three inside int64 */

static bool fail(const CnnModel *m, const char *what) {
  cnn_error("the model '%s' is inconsistent: %s (a bug in the code generator?)",
            m->name ? m->name : "?", what);
  return false;
}

static bool check_shape(const CnnParam *p) {
  if (p->rank < 0 || p->rank > 4)
    return false;
  int64_t n = 1;
  for (int64_t i = 0; i < p->rank; i++) {
    if (p->shape[i] < 1 || n > INT64_MAX / p->shape[i])
      return false;
    n *= p->shape[i];
  }
  return n == p->size;
}

static bool check_kind(const CnnParam *p) {
  bool described = p->init >= CNN_INIT_GLOROT_UNIFORM &&
                   p->init <= CNN_INIT_ONES && (p->trainable == 0 ||
                   p->trainable == 1) && (p->dtype == CNN_F32 ||
                   (p->dtype == CNN_I64 && !p->trainable &&
                    p->init == CNN_INIT_ZEROS));
  if (!described)
    return false;
  switch (p->kind) {
  case CNN_PARAM_CONV_WEIGHT: return p->rank == 4;
  case CNN_PARAM_DENSE_WEIGHT: return p->rank == 2;
  case CNN_PARAM_VECTOR: return p->rank <= 1;
  default: return false;
  }
}

/* flatten(H, W, C) feeds the dense layer: H*W*C must be its input count */
static bool check_flat(const CnnParam *p) {
  if (p->flat_h == 0 && p->flat_w == 0 && p->flat_c == 0)
    return true;
  if (p->kind != CNN_PARAM_DENSE_WEIGHT || p->flat_h < 1 || p->flat_w < 1 ||
      p->flat_c < 1 || p->flat_h > MAX_DIM || p->flat_w > MAX_DIM ||
      p->flat_c > MAX_DIM)
    return false;
  return p->flat_h * p->flat_w * p->flat_c == p->shape[0];
}

static bool check_param(const CnnModel *m, const CnnParam *p) {
  if (!p->name || !p->name[0] || !check_kind(p) || !check_shape(p))
    return false;
  /* trainable ones within the trainable prefix, buffers after it */
  int64_t lo = p->trainable ? 0 : m->num_trainable;
  int64_t hi = p->trainable ? m->num_trainable : m->num_params;
  if (p->offset < lo || p->offset > hi - cnn_param_floats(p))
    return false;
  return p->init != CNN_INIT_GLOROT_UNIFORM ||
         (p->fan_in > 0 && p->fan_out > 0);
}

static bool check_params(const CnnModel *m) {
  if (m->num_param_tensors < 0 || (m->num_param_tensors > 0 && !m->params))
    return fail(m, "no parameter table");
  for (int64_t i = 0; i < m->num_param_tensors; i++) {
    const CnnParam *p = &m->params[i];
    if (!check_param(m, p) || !check_flat(p))
      return fail(m, "a parameter's name, kind, shape, offset or fans");
  }
  return true;
}

/* the slots hold the compiled batch's chunks, the gradients lie inside a
 * slot, and every exchanged tensor too */
static bool chunks_hold_together(const CnnModel *m) {
  if (m->chunk_slots < 1 || m->chunk_slots < cnn_chunks(m->batch) ||
      m->chunk_stride < 1 || m->chunk_stride % CNN_ALIGN != 0 ||
      m->chunk_slots > INT64_MAX / m->chunk_stride ||
      m->train_arena_bytes < m->chunk_slots * m->chunk_stride ||
      m->grads < 0 || m->grads_offset < 0 ||
      m->grads_offset > m->chunk_stride ||
      m->grads > (m->chunk_stride - m->grads_offset) / 4 ||
      m->grads_offset % 4 != 0 || m->train_phases < 1 ||
      m->num_exchanges < 0 || (m->num_exchanges > 0 && !m->exchanges))
    return false;
  for (int64_t e = 0; e < m->num_exchanges; e++) {
    const CnnExchange *x = &m->exchanges[e];
    if (x->phase < 0 || x->phase >= m->train_phases || x->offset < 0 ||
        x->bytes < 1 || x->offset > m->chunk_stride ||
        x->bytes > m->chunk_stride - x->offset)
      return false;
  }
  return true;
}

bool cnn_model_check(const CnnModel *m) {
  if (m->abi_version != CNN_ABI_VERSION) {
    cnn_error("the model was generated for runtime ABI %lld, this libcnnrt "
              "implements ABI %d: rebuild with one cnnc",
              (long long)m->abi_version, CNN_ABI_VERSION);
    return false;
  }
  if (!m->name || !m->gradients || !m->update || !m->infer)
    return fail(m, "a missing name or function");
  if (!chunks_hold_together(m))
    return fail(m, "an arena layout that does not hold together");
  if (m->input_h < 1 || m->input_w < 1 || m->input_c < 1 ||
      m->num_classes < 1 || m->batch < 1)
    return fail(m, "an input size, class count or batch below 1");
  if (m->num_params < 0 || m->opt_state_floats < 0 || m->num_trainable < 0 ||
      m->num_trainable > m->num_params ||
      m->train_arena_bytes < 0 || m->infer_arena_bytes < 0)
    return fail(m, "a negative size");
  if (m->data_kind < CNN_DATA_IDX || m->data_kind > CNN_DATA_NPY ||
      (m->data_label != CNN_LABEL_FINE && m->data_label != CNN_LABEL_COARSE) ||
      m->augment_shift < 0 || m->augment_shift >= (INT64_C(1) << 20) ||
      (m->augment_flip != 0 && m->augment_flip != 1))
    return fail(m, "a data kind, label choice or augmentation out of range");
  if (m->optimizer < CNN_OPT_SGD || m->optimizer > CNN_OPT_ADAMW ||
      m->schedule < CNN_SCHEDULE_CONSTANT || m->schedule > CNN_SCHEDULE_ONECYCLE ||
      (m->schedule == CNN_SCHEDULE_STEP &&
       (m->schedule_every < 1 || !(m->schedule_factor > 0))) ||
      (m->schedule == CNN_SCHEDULE_ONECYCLE && !(m->schedule_max_lr > 0)) ||
      m->schedule_warmup < 0 ||
      m->patience < 0 || !(m->label_smoothing >= 0 && m->label_smoothing < 1))
    return fail(m, "an optimizer, schedule, patience or label smoothing out "
                   "of range");
  /* the checkpoint's layout of the state: whole slots per parameter */
  int64_t slots = m->optimizer != CNN_OPT_SGD ? 2 : m->momentum > 0 ? 1 : 0;
  if (m->opt_state_floats != slots * m->num_trainable)
    return fail(m, "an optimizer state that is not one slot per parameter "
                   "and moment");
  return check_params(m);
}
