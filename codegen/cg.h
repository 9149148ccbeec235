/* cg.h - what the code generator's files share: the LLVM context of one
 * emission, and small builders for loops, conditions and buffer access.
 *
 * Kernels are written as loop nests over compile-time constant bounds; the
 * loops put the contiguous NHWC channel dimension innermost so that LLVM's
 * vectoriser turns them into vector code for the target. The batch count n
 * is the only run-time bound. */
#ifndef CNNC_CG_H
#define CNNC_CG_H

#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>
#include <stdio.h>

#include "../runtime/cnnrt.h" /* the ABI: chunks, alignment */
#include "codegen.h"

/* What the kernels plan with about the machine: every such fact is here
 * (cg_target.c fills it), none in a kernel. */
typedef struct CgTarget {
  int vw;            /* floats in the widest vector: 16, 8 or 4 */
  int accumulators;  /* vectors a register block may hold (<= MAX_ACCUMULATORS) */
  int64_t l1_bytes;  /* a core's data caches */
  int64_t l2_bytes;
} CgTarget;

typedef struct Cg {
  LLVMContextRef ctx;
  LLVMModuleRef mod;
  LLVMBuilderRef b;
  LLVMTypeRef f32, f64, i1, i32, i64, ptr, void_t;
  LLVMTypeRef vec; /* <target.vw x float> */
  CgTarget target; /* the machine's facts (cg_target.c) */
  bool reference;  /* plain loop nests only: the kernels' yardstick */
  const Module *m;
  /* the function being emitted */
  LLVMValueRef fn;
  LLVMBasicBlockRef entry;
  LLVMValueRef buf[BUF_ARENA + 1]; /* base pointer of each buffer */
  LLVMValueRef n;                  /* images in this chunk (i64) */
  LLVMValueRef batch_n;            /* images in the whole call: the mean's n */
  LLVMValueRef image_base;         /* index in the batch of the chunk's first */
  LLVMValueRef chunk;              /* the chunk's index (0 after the chunks) */
  LLVMValueRef batch_chunks;       /* chunks of the train step (i64) */
  bool training;                   /* dropout on, loss and gradients */
  LLVMValueRef step, seed, lr;     /* train step arguments */
  LLVMValueRef momentum;           /* sgd's momentum, or adam's beta1 */
  LLVMValueRef loss_sum, correct;  /* train step outputs */
  int64_t scratch;        /* arena offset of the kernels' scratch */
  int64_t scratch_bytes;  /* the most any kernel needs */
} Cg;

/* constants; cg_const_like gives a float or a splat vector of like's type */
LLVMValueRef cg_i64(Cg *g, int64_t v);
LLVMValueRef cg_f32(Cg *g, double v);
LLVMValueRef cg_const_like(Cg *g, LLVMValueRef like, double v);

/* vectors of g->target.vw floats: the target's widest. A register block
 * holds at most MAX_ACCUMULATORS of them on any target (its arrays' size) */
enum { MAX_ACCUMULATORS = 24 };
/* g->target.accumulators: what this target's register block may hold */
int cg_max_accumulators(const Cg *g);
/* acc[k] += a * b[k] for k < count: one row of a register block's outer
 * product (acc are cg_var slots of b[k]'s types); a scalar a is splat to
 * each b[k]'s width */
void cg_fma_row(Cg *g, const LLVMValueRef *acc, LLVMValueRef a,
                const LLVMValueRef *b, int64_t count);
/* the sum of a vector's lanes, in any order */
LLVMValueRef cg_vsum(Cg *g, LLVMValueRef v);
LLVMValueRef cg_vload(Cg *g, LLVMValueRef p, LLVMValueRef i);
void cg_vstore(Cg *g, LLVMValueRef v, LLVMValueRef p, LLVMValueRef i);
/* The vector a block's last `lanes` channels go in: the narrowest of 4,
 * 8, ... vw floats that holds them (lanes 0 or >= vw: g->vec). A core
 * whose 512-bit FMAs are two 256-bit halves (Zen 4) does a 4- or 8-float
 * FMA in half the time; elsewhere it costs what a full one does. */
LLVMTypeRef cg_lanes_type(const Cg *g, int64_t lanes);
/* The first `lanes` floats only (a channel row's tail, when the count is
 * not a multiple of vw), in a vector of cg_lanes_type(lanes); lanes past
 * them load as 0 and are not stored, nor read, so the access never leaves
 * the tensor. cg_vstore_lanes stores the first `lanes` of v, whatever its
 * width. lanes 0 or >= the width: all. */
LLVMValueRef cg_vload_lanes(Cg *g, LLVMValueRef p, LLVMValueRef i,
                            int64_t lanes);
void cg_vstore_lanes(Cg *g, LLVMValueRef v, LLVMValueRef p, LLVMValueRef i,
                     int64_t lanes);
/* the same into a full vector (g->vec), for sums across lanes */
LLVMValueRef cg_vload_masked(Cg *g, LLVMValueRef p, LLVMValueRef i,
                             int64_t lanes);
/* the kernel's scratch (g->scratch in the arena), `offset` bytes in */
LLVMValueRef cg_scratch(Cg *g, int64_t offset);
/* the value in a cg_var slot, of the slot's type */
LLVMValueRef cg_var_load(Cg *g, LLVMValueRef slot);
LLVMValueRef cg_splat(Cg *g, LLVMValueRef scalar);

/* How the vectors of a channel count go in register blocks (cg_blocks.c):
 * a loop of `blocks` blocks of `vectors` whole vectors (at most
 * max_vectors, dividing the count when it is whole vectors), then, when
 * the count is not a multiple of vw, one block more of `last` vectors
 * whose final vector holds the `tail` channels left, loaded and stored
 * masked: any channel count runs on the fast kernels, with vw - tail
 * lanes idle in one vector. */
typedef struct ChannelBlocks {
  int64_t vectors, blocks;
  int64_t last, tail; /* last 0: no such block */
} ChannelBlocks;
ChannelBlocks cg_channel_blocks(const Cg *g, int64_t channels,
                                int64_t max_vectors);
/* the lanes vector v of a block of CB holds: vw, or the tail's */
int64_t cg_lanes_of(const Cg *g, int64_t v, int64_t CB, int64_t tail);
/* fn for every block: channel co0, CB vectors, the last `tail` lanes (0:
 * whole) */
typedef void BlockFn(Cg *g, const void *ctx, LLVMValueRef co0, int64_t CB,
                     int64_t tail);
void cg_for_channel_blocks(Cg *g, int64_t channels, int64_t max_vectors,
                           BlockFn *fn, const void *ctx, const char *name);

/* loops: for (iv = 0; iv < count; iv++) */
typedef struct CgLoop {
  LLVMBasicBlockRef pre, header, body, exit;
  LLVMValueRef iv;
} CgLoop;
LLVMValueRef cg_loop_begin(Cg *g, CgLoop *l, LLVMValueRef count,
                           const char *name);
void cg_loop_end(Cg *g, CgLoop *l);
/* The same over a constant count. */
LLVMValueRef cg_for(Cg *g, CgLoop *l, int64_t count, const char *name);

/* if (cond) { ... } */
typedef struct CgIf {
  LLVMBasicBlockRef then, done;
} CgIf;
void cg_if_begin(Cg *g, CgIf *c, LLVMValueRef cond);
void cg_if_end(Cg *g, CgIf *c);

/* A mutable scalar: a stack slot that mem2reg turns into a register. */
LLVMValueRef cg_var(Cg *g, LLVMTypeRef t, LLVMValueRef init,
                    const char *name);

/* arithmetic on i64 and f32 */
LLVMValueRef cg_add(Cg *g, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef cg_mul(Cg *g, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef cg_addc(Cg *g, LLVMValueRef a, int64_t c);
LLVMValueRef cg_mulc(Cg *g, LLVMValueRef a, int64_t c);
LLVMValueRef cg_fadd(Cg *g, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef cg_fsub(Cg *g, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef cg_fmul(Cg *g, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef cg_fdiv(Cg *g, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef cg_fma(Cg *g, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c);
/* a + b with reassociation allowed, so that a dot product vectorises */
LLVMValueRef cg_fadd_reassoc(Cg *g, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef cg_call1(Cg *g, const char *intrinsic, LLVMValueRef x);
LLVMValueRef cg_call2(Cg *g, const char *intrinsic, LLVMValueRef x,
                      LLVMValueRef y);
/* 0 <= i < n, for i64 i: one unsigned compare */
LLVMValueRef cg_in_range(Cg *g, LLVMValueRef i, int64_t n);

/* memory: a tensor's first float for image b (NULL: a per-batch tensor
 * such as a parameter or its gradient), and element access */
LLVMValueRef cg_tensor(Cg *g, const Tensor *t, LLVMValueRef b);
LLVMValueRef cg_gep(Cg *g, LLVMTypeRef t, LLVMValueRef p, LLVMValueRef i);
/* a private constant global of the module, holding init */
LLVMValueRef cg_private_constant(Cg *g, LLVMValueRef init, const char *name);
LLVMValueRef cg_load(Cg *g, LLVMValueRef p, LLVMValueRef i);
void cg_store(Cg *g, LLVMValueRef v, LLVMValueRef p, LLVMValueRef i);
/* p[i] += v */
void cg_accum(Cg *g, LLVMValueRef p, LLVMValueRef i, LLVMValueRef v);
/* p[0..count) = v */
void cg_fill(Cg *g, LLVMValueRef p, int64_t count, LLVMValueRef v);
/* the index (i64) of the first largest of p[0..k) */
LLVMValueRef cg_argmax(Cg *g, LLVMValueRef p, int64_t k);

/* the dropout mask of element e of image b (see runtime/cnnrt.h):
 * 1 / (1 - rate) if kept, else 0; the counter of element e of the chunk's
 * image b counts from the batch's first image, so that masks do not depend
 * on how the batch was cut into chunks */
LLVMValueRef cg_dropout_counter(Cg *g, LLVMValueRef b, int64_t elems,
                                LLVMValueRef e);
LLVMValueRef cg_dropout_key(Cg *g, int stream_index);
LLVMValueRef cg_dropout_scale(Cg *g, LLVMValueRef key, float rate,
                              LLVMValueRef counter);

/* activations on one value; the derivative from the output y */
LLVMValueRef cg_activate(Cg *g, Activation a, LLVMValueRef x);
LLVMValueRef cg_activation_grad(Cg *g, Activation a, LLVMValueRef y);

/* A convolution's sizes, as every conv kernel needs them: input h x w x ci,
 * output oh x ow x co, kernel, stride, the padding before the first row
 * and column, and the size of the padded input the taps read. */
typedef struct ConvGeom {
  int64_t h, w, ci, oh, ow, co, kh, kw, sh, sw, ph, pw, hp, wp;
} ConvGeom;

/* The geometry of a conv2d node or of one of its gradients. */
ConvGeom cg_conv_geom(const Node *n);

/* What a conv gradient reads as dz, for one image: its dy input, masked
 * with act'(y) as it is read when fuse-conv-act-bwd gave the node y. */
typedef struct GradIn {
  LLVMValueRef dy, y; /* y NULL: no mask */
  Activation act;
} GradIn;
GradIn cg_conv_grad_in(Cg *g, const Node *n, LLVMValueRef b);
/* dz[i]: dy[i], or dy[i] * act'(y[i]) */
LLVMValueRef cg_grad_load(Cg *g, const GradIn *d, LLVMValueRef i);
/* the same for the vector at i */
LLVMValueRef cg_grad_vload(Cg *g, const GradIn *d, LLVMValueRef i,
                           int64_t lanes);
/* Image b's dz for the loops that read each element many times: dy, or
 * dz written to the start of the kernel's scratch (cg_conv_fast.c). */
LLVMValueRef cg_conv_dz_image(Cg *g, const Node *n, LLVMValueRef b);

/* conv2d_bn's scale and shift: the first cg_conv_bn_bytes of the kernel's
 * scratch, computed from the batchnorm's parameters (cg_conv.c) */
int64_t cg_conv_bn_bytes(const Node *n);
LLVMValueRef cg_conv_bn_coefficients(Cg *g, const Node *n);

/* dst (hp x wp x c, rows of wp pixels) gets src (h x w x c, masked if
 * src->y) at (top, left); the rest of dst is left as it is (cg_conv_fast.c) */
void cg_conv_pad_copy(Cg *g, const GradIn *src, int64_t h, int64_t w,
                      int64_t c, LLVMValueRef dst, int64_t top, int64_t left,
                      int64_t wp);
/* wt[kh][kw][co][ci] = w[KH-1-kh][KW-1-kw][ci][co]: a backward-data's
 * weights, from c's (the forward's) */
void cg_conv_flip_transpose(Cg *g, const ConvGeom *c, LLVMValueRef w,
                            LLVMValueRef wt);

/* the register-blocked convolutions (cg_conv_fast.c): false when the shape
 * does not suit them and the loop nest must do */
int64_t cg_conv_scratch_bytes(const Cg *g, const Node *n);
bool cg_conv2d_fast(Cg *g, const Node *n);
bool cg_conv2d_bwd_data_fast(Cg *g, const Node *n);
bool cg_conv2d_bwd_weight_fast(Cg *g, const Node *n);
bool cg_conv2d_bwd_bias_fast(Cg *g, const Node *n);
/* Whether this conv2d_bwd_bias is summed by its layer's weight gradient
 * kernel, which reads the same dy and y (its own kernel is then empty). */
bool cg_conv_bias_absorbed(const Cg *g, const Node *bias);

/* 3x3 stride-1 convolutions by Winograd's F(2x2, 3x3) (cg_winograd.c):
 * false, and 0 bytes of scratch, for the shapes it does not take */
bool cg_conv2d_winograd(Cg *g, const Node *n);
int64_t cg_winograd_scratch_bytes(const Cg *g, const Node *n);

/* the register-blocked dense kernels (cg_dense_fast.c), likewise */
bool cg_dense_fast(Cg *g, const Node *n);
bool cg_dense_bwd_data_fast(Cg *g, const Node *n);
bool cg_dense_bwd_weight_fast(Cg *g, const Node *n);

/* the kernels: one per op, each looping over the n images itself */
void cg_conv2d(Cg *g, const Node *n);
void cg_conv2d_bwd_data(Cg *g, const Node *n);
void cg_conv2d_bwd_weight(Cg *g, const Node *n);
void cg_conv2d_bwd_bias(Cg *g, const Node *n);
void cg_dense(Cg *g, const Node *n);
void cg_dense_bwd_data(Cg *g, const Node *n);
void cg_dense_bwd_weight(Cg *g, const Node *n);
void cg_dense_bwd_bias(Cg *g, const Node *n);
void cg_pool(Cg *g, const Node *n);
void cg_pool_bwd(Cg *g, const Node *n);
void cg_dropout(Cg *g, const Node *n);
void cg_elementwise(Cg *g, const Node *n);
void cg_sum(Cg *g, const Node *n);
void cg_concat(Cg *g, const Node *n);
/* cg_normalize.c */
void cg_normalize(Cg *g, const Node *n);
void cg_concat_bwd(Cg *g, const Node *n);
void cg_global_pool(Cg *g, const Node *n);
void cg_global_pool_bwd(Cg *g, const Node *n);
void cg_batch_stats(Cg *g, const Node *n);
void cg_batchnorm(Cg *g, const Node *n);
void cg_batchnorm_bwd_weight(Cg *g, const Node *n);
void cg_batchnorm_bwd_bias(Cg *g, const Node *n);
void cg_batchnorm_bwd_data(Cg *g, const Node *n);
void cg_running_stats_update(Cg *g, const Node *n);
int64_t cg_batchnorm_scratch_bytes(const Node *n);
void cg_softmax(Cg *g, const Node *n);
void cg_softmax_bwd(Cg *g, const Node *n);
void cg_loss(Cg *g, const Node *n);
void cg_loss_bwd(Cg *g, const Node *n);
void cg_update(Cg *g, const Node *n);

/* one function per op kernel (cg_kernels.c), and calls to them all with the
 * state the current function holds in g */
LLVMValueRef *cg_emit_kernels(Cg *g, bool training, bool (*want)(const Node *));
void cg_call_kernels(Cg *g, LLVMValueRef *kernels);
bool cg_is_forward(const Node *n);
LLVMValueRef cg_new_function(Cg *g, const char *name, LLVMTypeRef ret,
                             LLVMTypeRef *params, unsigned nparams,
                             bool exported);
void cg_finish_function(Cg *g, LLVMValueRef ret);

/* A trainer's inference function (cg_eval_fold.c): conv's kernel there is
 * *out, a conv2d_bn that also computes the batchnorm after it and writes
 * its output (in: room for 7 inputs); false when none follows it. And
 * whether batchnorm n is computed so, by its conv's kernel. */
bool cg_eval_fold(const Module *m, const Node *conv, Node *out, Tensor **in);
bool cg_eval_folded(const Module *m, const Node *n);

/* the entry points of an inference object (cg_infer.c) */
void cg_inference_entries(Cg *g, const CgOptions *o);

/* the arena a train step (or an inference call) needs: every chunk's */
int64_t cg_arena_bytes(const Cg *g, bool training);
/* chunk k's copy of a per-chunk tensor t (batch statistics, parameter
 * gradients), from inside any chunk's kernel */
LLVMValueRef cg_chunk_copy(Cg *g, const Tensor *t, LLVMValueRef k);

/* the target machine of o (cg_target.c), and its facts in *t */
LLVMTargetMachineRef cg_target_machine(const CgOptions *o, CgTarget *t,
                                       Diag *d);
/* the kernel of node n (cg_kernels.c), for a train step or inference */
LLVMValueRef cg_emit_kernel(Cg *g, const Node *n, bool training);
bool cg_is_update(const Node *n);
/* the descriptor runtime/cnnrt.h declares */
/* a trainer's functions, and the phase of each node (nphases: the
 * update's) */
typedef struct CgEntryPoints {
  LLVMValueRef gradients, update, infer;
  const int *phase;
  int nphases;
} CgEntryPoints;
void cg_model_descriptor(Cg *g, const CgEntryPoints *e);
/* a trainer's functions (cg_schedule.c) */
CgEntryPoints cg_emit_trainer(Cg *g);
/* the bytes of a training arena slot */
int64_t cg_chunk_stride(const Cg *g);

/* --cpu=NAME is one of the target's CPUs and can run its code; *vw: the
 * floats in its vector registers (cg_cpu.c) */
bool cg_check_cpu(LLVMTargetRef t, const char *triple, const char *cpu,
                  int *vw, Diag *d);
bool cg_print_cpus(LLVMTargetRef t, const char *triple, FILE *out);

#endif
