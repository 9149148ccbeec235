/* ir.h - the tensor IR of cnnc: the whole of it, in one header.
 *
 * A network becomes a Module: a DAG of Nodes (ops) over Tensors. Each Node
 * reads input tensors and defines one output tensor; parameters, the input
 * image and the labels are tensors that no node defines. Nodes are kept in
 * a topological order (every input is defined before its use), which is the
 * order the code generator walks.
 *
 * Shapes are static and per image: activations are H x W x C (NHWC without
 * the batch, which is a property of the training recipe), vectors after
 * flatten are [N], the loss is a scalar []. Weights are HWIO for conv2d and
 * [in, out] for dense; the checkpoint converts to PyTorch's layouts.
 *
 * This file:
 *
 *   model tiny {
 *     input(8, 8, 1)
 *     conv2d(4, kernel=3, padding=same, activation=relu)
 *   }
 *
 * lowers to (cnnc --print-ir --passes= tiny.cnn):
 *
 *   module tiny {
 *     %input = input : f32[8x8x1]
 *     %conv2d_1.weight = param : f32[?]
 *     %conv2d_1.bias = param : f32[?]
 *     %conv2d_1 = conv2d %input, %conv2d_1.weight, %conv2d_1.bias
 *                 {filters=4, kernel=3x3, stride=1x1, padding=same} : f32[?]
 *     %conv2d_1.relu = relu %conv2d_1 : f32[?]
 *     output %conv2d_1.relu
 *   }
 *
 * and after infer-shapes and fuse-conv-relu the relu is gone, the conv
 * carries `act=relu`, and every `?` is a shape (f32[8x8x4], f32[3x3x1x4]).
 */
#ifndef CNNC_IR_H
#define CNNC_IR_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "arena.h"
#include "diag.h"

typedef struct Node Node;

/* ---- ops ---------------------------------------------------------------- */

typedef enum Op {
#define OP(e, name, min_in, max_in, attrs, flags) OP_##e,
#include "ops.def"
#undef OP
  OP_COUNT
} Op;

typedef enum AttrKind {
  ATTR_NONE,
  ATTR_CONV,    /* ConvAttr */
  ATTR_POOL,    /* PoolAttr */
  ATTR_DROPOUT, /* DropoutAttr */
  ATTR_DENSE,   /* DenseAttr */
  ATTR_ACT,     /* ActAttr */
  ATTR_ACT_BWD, /* Activation: which derivative */
  ATTR_OPT,     /* OptAttr */
  ATTR_JOIN,    /* JoinAttr */
  ATTR_BN,      /* BatchNormAttr */
  ATTR_SLICE,   /* SliceAttr */
  ATTR_NORM,    /* NormAttr */
} AttrKind;

/* max_inputs of an op that reads as many tensors as the layer names */
enum { ANY_INPUTS = 1 << 20 };

enum {
  OPF_ELEMENTWISE = 1 << 0,
  OPF_ACTIVATION = 1 << 1,
  OPF_PARAMS = 1 << 2,
  OPF_LOSS = 1 << 3,
  OPF_FUSED = 1 << 4,
  OPF_GRAD = 1 << 5,
  OPF_UPDATE = 1 << 6,
  OPF_ACT_SLOT = 1 << 7,
  OPF_PARAM_GRAD = 1 << 8,
  OPF_BATCH_PARTIAL = 1 << 9,
  OPF_READS_BATCH = 1 << 10,
  OPF_MASKS_DY = 1 << 11,
  OPF_VIEW = 1 << 12,
  OPF_TRAIN_ONLY = 1 << 13,
  OPF_DROPOUT = 1 << 14,
};

/* Whether op has every flag of `flags`. */
bool ir_op_is(Op op, unsigned flags);

typedef struct OpInfo {
  const char *name;
  int min_inputs, max_inputs;
  AttrKind attrs;
  unsigned flags;
} OpInfo;

const OpInfo *ir_op_info(Op op);

/* ---- attributes ----------------------------------------------------------- */

/* An activation as fused into conv2d or dense (ACT_NONE: linear). */
typedef enum ActKind {
  ACT_NONE,
  ACT_RELU,
  ACT_LEAKY_RELU,
  ACT_SIGMOID,
  ACT_TANH,
  ACT_SOFTMAX,
} ActKind;

typedef struct Activation {
  ActKind kind;
  float alpha; /* leaky_relu's slope for x < 0 */
} Activation;

typedef enum Padding { PAD_VALID, PAD_SAME } Padding;
typedef enum PoolKind { POOL_MAX, POOL_AVG } PoolKind;

typedef struct ConvAttr {
  int filters;
  int kh, kw, sh, sw;
  Padding padding;
  bool bias;
  Activation act; /* set by fuse-conv-relu */
  float eps;      /* conv2d_bn: the batchnorm's */
} ConvAttr;

/* A dropout's random stream is its layer's position in the file, so that
 * the masks are the same whether or not the dropout is fused. */
typedef struct DropoutAttr {
  float rate;
  int stream;
} DropoutAttr;

typedef struct PoolAttr {
  PoolKind kind; /* meaningful for OP_POOL_DROPOUT */
  int size, stride;
  DropoutAttr dropout; /* OP_POOL_DROPOUT only */
} PoolAttr;

typedef struct DenseAttr {
  int units;
  bool bias;
  Activation act; /* set by fuse-dense-act */
} DenseAttr;

typedef struct ActAttr {
  float alpha;
} ActAttr;

/* add: the activation applied to the sum (fuse-add-act, or add's own
 * activation=). */
typedef struct JoinAttr {
  Activation act;
} JoinAttr;

/* batchnorm and its gradients and update: PyTorch's momentum and eps, and
 * the activation applied to the normalised output. */
typedef struct BatchNormAttr {
  float momentum, eps;
  Activation act;
} BatchNormAttr;

/* concat_bwd: the channels of dy that are this input's. */
typedef struct SliceAttr {
  int first, count;
} SliceAttr;

/* normalize: per-channel constants, as float32 (the module's arena) */
typedef struct NormAttr {
  int channels;
  const float *mean, *std;
} NormAttr;

/* The optimizer's constants; the learning rate is a run-time argument so
 * that the trainer's --lr needs no recompilation. */
typedef struct OptAttr {
  float momentum;      /* the compiled value; the step's is an argument */
  float beta1, beta2, eps;
  float weight_decay;  /* this parameter's: 0 when decay_biases=false exempts it */
  bool nesterov;
} OptAttr;

/* The op that computes an elementwise activation, and back; ACT_NONE and
 * non-activation ops map to OP_COUNT and ACT_NONE. */
Op ir_act_op(ActKind k);
Activation ir_op_act(const Node *n);
const char *ir_act_name(ActKind k);

/* ---- tensors ---------------------------------------------------------------- */

enum { MAX_RANK = 4 };

/* Limit on elements in one tensor and on parameters in the model: keeps
 * every index and byte offset in 32-bit-safe, overflow-free arithmetic. */
#define IR_MAX_ELEMS INT64_C(0x7fffffff)

typedef enum DType { DT_F32, DT_I32, DT_I64 } DType;

typedef struct Shape {
  int rank; /* -1: not inferred yet; 0: scalar */
  int64_t dim[MAX_RANK];
} Shape;

typedef enum TensorKind {
  TK_INPUT,  /* the image */
  TK_LABELS, /* the class index of the image, for the loss */
  TK_PARAM,  /* trained weights and biases */
  TK_STATE,  /* optimizer state: momentum, Adam's moments */
  TK_VALUE,  /* defined by a node */
} TensorKind;

/* Where a tensor lives at run time (plan-memory). */
typedef enum Buffer {
  BUF_NONE,   /* not planned yet */
  BUF_INPUT,  /* the caller's images */
  BUF_LABELS, /* the caller's labels */
  BUF_PARAMS, /* the parameter buffer */
  BUF_STATE,  /* the optimizer-state buffer */
  BUF_ARENA,  /* the scratch arena: activations and gradients */
} Buffer;

/* ---- parameters describe themselves ---------------------------------------- */

/* How a parameter is laid out: cnnc's layout against PyTorch's. */
typedef enum ParamKind {
  PARAM_CONV_WEIGHT,  /* [kh, kw, cin, cout] here; PyTorch [cout, cin, kh, kw] */
  PARAM_DENSE_WEIGHT, /* [in, out] here; PyTorch [out, in] */
  PARAM_VECTOR,       /* [n] or a scalar in both */
} ParamKind;

/* Its first value (Keras's initialisers). */
typedef enum ParamInit {
  INIT_GLOROT_UNIFORM, /* uniform in +-sqrt(6 / (fan_in + fan_out)) */
  INIT_ZEROS,
  INIT_ONES,
} ParamInit;

/* Set by the layer that makes the parameter (ir/lower.c), read by every
 * stage after: the optimizer updates trainable ones, plan-memory puts them
 * first, the runtime initialises and saves each as it says. */
typedef struct ParamDesc {
  ParamKind kind;
  ParamInit init;
  bool trainable; /* false: a buffer (running statistics, counters) */
} ParamDesc;

typedef struct Tensor {
  const char *name; /* unique in the module; printed as %name */
  TensorKind kind;
  DType dtype;
  Shape shape;
  Node *def; /* TK_VALUE only */
  Loc loc;   /* the layer that made it */
  ParamDesc param; /* TK_PARAM only */
  struct Tensor *grad; /* its gradient, while autodiff runs */
  int grad_parts;      /* how many parts that gradient sums so far */
  Buffer buffer;       /* plan-memory: where it lives */
  int64_t offset;      /* plan-memory: bytes into that buffer; in the
                          arena, the whole batch's slice */
} Tensor;

int64_t ir_shape_elems(const Shape *s); /* -1 if not inferred */
/* Bytes of one element of t: 4, or 8 for DT_I64. */
int64_t ir_dtype_bytes(DType dt);
bool ir_shape_equal(const Shape *a, const Shape *b);
/* Whether each image of a batch has its own copy at run time: the input,
 * activations and their gradients do; parameters, their gradients (summed
 * over the batch), batch statistics, optimizer state and the updated
 * parameters do not. */
bool ir_tensor_per_image(const Tensor *t);
/* "28x28x64", "10", "" for a scalar, "?" if not inferred. */
const char *ir_shape_str(const Shape *s, char *buf, size_t cap);
/* The shortest %g form of v that reads back as the same float (is_float:
 * float32, else double), in buf (32 bytes): 0.25, 1e-07, 0.99999. */
const char *ir_num_str(double v, bool is_float, char *buf);

/* ---- nodes ---------------------------------------------------------------- */

struct Node {
  Op op;
  const char *layer; /* the layer it came from, for messages and the summary */
  Loc loc;
  bool implicit; /* lowered from `activation=`, not a layer of its own */
  bool dead;     /* removed by a pass; swept by ir_sweep() */
  int index;     /* position in m->nodes (kept by ir_node_new and ir_sweep) */
  int nin;
  Tensor **in; /* nin of them, in the module's arena */
  Tensor *out;
  union {
    ConvAttr conv;
    PoolAttr pool;
    DropoutAttr dropout;
    DenseAttr dense;
    ActAttr act;
    Activation act_bwd;
    OptAttr opt;
    JoinAttr join;
    BatchNormAttr bn;
    SliceAttr slice;
    NormAttr norm;
  } attr;
};

/* ---- the training recipe ------------------------------------------------------ */

typedef enum LossKind { LOSS_CROSS_ENTROPY } LossKind;
typedef enum OptimizerKind { OPT_SGD, OPT_ADAM, OPT_ADAMW } OptimizerKind;

typedef struct Optimizer {
  OptimizerKind kind;
  double lr;
  double momentum;           /* sgd */
  double beta1, beta2, eps;  /* adam, adamw */
  double weight_decay;       /* L2 (sgd, adam) or decoupled (adamw) */
  bool nesterov;             /* sgd */
  bool decay_biases;         /* false: vectors (biases, batchnorm) keep 0 */
} Optimizer;

/* schedule = ..., numbered as cnnrt.h's CnnSchedule */
typedef enum ScheduleKind {
  SCHEDULE_CONSTANT, SCHEDULE_STEP, SCHEDULE_COSINE, SCHEDULE_ONECYCLE
} ScheduleKind;

typedef struct Schedule {
  ScheduleKind kind;
  int64_t every;  /* step */
  double factor;  /* step */
  int64_t warmup; /* cosine, epochs */
  double max_lr;  /* onecycle */
} Schedule;

/* The data sources, numbered as cnnrt.h's CnnDataKind. */
typedef enum DataKind {
#define DATA_KIND(e, spelling, files) DATA_##e,
#include "../runtime/data_kinds.def"
#undef DATA_KIND
  DATA_KIND_COUNT
} DataKind;
typedef enum CifarLabel { CIFAR_LABEL_FINE, CIFAR_LABEL_COARSE } CifarLabel;

typedef struct TrainSpec {
  LossKind loss;
  Optimizer opt;
  int64_t batch, epochs;
  uint64_t seed;
  int64_t validation;        /* images held out, when not a fraction */
  double validation_frac;    /* in (0, 1) when given as a fraction, else 0 */
  const char *data;          /* KIND("DIR"): the data folder, or NULL */
  DataKind data_kind;
  CifarLabel data_label;     /* cifar100(label=): which label is the class */
  int64_t augment_shift;     /* crop(padding=P) or translate(P): P, else 0 */
  bool augment_flip;         /* flip: mirrored with probability 1/2 */
  Loc data_loc;              /* of the data = value, for shape errors */
  Loc augment_loc;
  Schedule schedule;
  Loc schedule_loc, patience_loc;
  int64_t patience;          /* 0: never stop early */
  double label_smoothing;    /* cross-entropy's, in [0, 1) */
} TrainSpec;

/* ---- folded batchnorms --------------------------------------------------------- */

/* fold-batchnorm: in an inference object with baked weights, a batchnorm
 * after a conv2d becomes part of the conv's weight and bias, applied to
 * the weights as they are loaded (ir_apply_folds):
 *   s = gamma / sqrt(var + eps);  weight *= s (per output channel);
 *   bias = beta + (conv_bias - mean) s   (conv_bias 0 without one) */
typedef struct BnFold {
  Tensor *weight, *bias; /* the conv's after the fold: bias is its own or,
                            without one, the batchnorm's beta */
  Tensor *conv_bias;     /* the conv's own bias, or NULL */
  Tensor *gamma, *beta, *mean, *var;
  float eps;
} BnFold;

/* fold-normalize: the input's normalisation folded into the weights and
 * bias of the layer that reads it (a conv2d's HWIO weights or a dense's
 * [in][out], whose input channel is (index / outputs) mod channels):
 *   w /= std[ch];  bias[o] -= sum of o's w * mean[ch] / std[ch] (before) */
typedef struct NormFold {
  Tensor *weight, *bias;
  NormAttr norm;
} NormFold;

/* ---- the module --------------------------------------------------------------- */

typedef struct Module {
  Arena *arena;
  Diag *diag;
  const char *name;
  Loc loc;
  Tensor **tensors; /* every tensor, in creation order */
  int ntensors, cap_tensors;
  Node **nodes; /* topological order */
  int nnodes, cap_nodes;
  Tensor *input, *labels;
  Tensor *output; /* the model's prediction (inference output) */
  Tensor *loss;   /* NULL without a train block */
  bool has_train;
  TrainSpec train;
  bool shaped; /* infer-shapes succeeded */
  bool bake_weights; /* inference with --weights: fold-batchnorm may run */
  BnFold *folds;
  int nfolds, cap_folds;
  NormFold *norm_folds; /* applied before `folds` */
  int nnorm_folds, cap_norm_folds;
  bool differentiated; /* autodiff ran */
  /* plan-memory: the batch runs as `chunks` chunks of at most
   * chunk_images images; the arena sizes are one chunk's. The forward
   * tensors come first, so infer needs only the first infer_arena_bytes;
   * the parameter gradients are the last grads_bytes, from grads_offset. */
  int64_t param_floats, state_floats;
  int64_t trainable_floats; /* the trainable parameters: a prefix of them */
  int64_t chunks, chunk_images;
  int64_t train_arena_bytes, infer_arena_bytes;
  int64_t grads_offset, grads_bytes;
} Module;

Module *ir_module_new(Arena *a, Diag *d, const char *name, Loc loc);
Tensor *ir_tensor_new(Module *m, const char *name, TensorKind kind,
                      DType dt, Loc loc);
/* Appends a node and its output tensor, named `out_name`. */
Node *ir_node_new(Module *m, Op op, const char *layer, const char *out_name,
                  Loc loc, Tensor **in, int nin);
/* Appends t to n's inputs. */
void ir_node_add_input(Module *m, Node *n, Tensor *t);
/* Drops input i of n. */
void ir_node_drop_input(Node *n, int i);
/* The activation slot of an OPF_ACT_SLOT node, else NULL. */
Activation *ir_act_slot(Node *n);

/* The zeros a conv2d adds before the first row (or column) of an input of
 * `in` pixels to make `out`: 'same' pads (out - 1) * stride + kernel - in
 * in total, the odd one at the end, as TensorFlow and Keras do; 'valid'
 * pads none. */
int64_t ir_conv_pad_before(int64_t in, int64_t out, int64_t k, int64_t s,
                           Padding p);
/* ... and after the last: the rest of the total. */
int64_t ir_conv_pad_after(int64_t in, int64_t out, int64_t k, int64_t s,
                          Padding p);

/* The input index of dy in a conv gradient (conv2d_bwd_weight reads x
 * first); with fuse-conv-act-bwd's y, that is the last input. */
int ir_conv_grad_dy(Op op);

/* How many live nodes read t, counting the module's output and loss. */
int ir_use_count(const Module *m, const Tensor *t);
/* The one live node that reads t, if t has exactly one use. */
Node *ir_sole_user(const Module *m, const Tensor *t);
/* Makes every reader of `from` (and output/loss) read `to` instead. */
void ir_replace_uses(Module *m, Tensor *from, Tensor *to);
/* Drops dead nodes and the tensors they defined. */
void ir_sweep(Module *m);
/* Makes an inference-only module: drops the loss, the labels and the
 * train block (before autodiff). */
void ir_drop_training(Module *m);
/* Sets every node's index to its position (after reordering nodes). */
void ir_number_nodes(Module *m);

/* ---- parameters at the checkpoint boundary (ir/params.c) ------------------- */

typedef struct ParamLayout {
  ParamKind kind;
  int64_t fan_in, fan_out; /* per output unit, for initialisation */
  int64_t flat[3]; /* H, W, C of the flatten a dense weight reads, or 0s */
} ParamLayout;

/* Requires: shapes. t is a TK_PARAM tensor. */
ParamLayout ir_param_layout(const Module *m, const Tensor *t);
Shape ir_param_torch_shape(const Module *m, const Tensor *t);
/* Applies fold-normalize's folds, then fold-batchnorm's, to params (cnnc
 * layout, as plan-memory placed them). */
void ir_apply_folds(const Module *m, float *params);
/* The element of t (cnnc layout) that PyTorch's element i corresponds to. */
int64_t ir_param_from_torch(ParamLayout p, const Shape *s, int64_t i);

/* ---- lowering, printing, checking -------------------------------------------- */

struct Ast;
struct AstValue;
/* Checks the layers and the train block and builds the forward graph (and
 * the loss, with a train block). Errors go to d; returns NULL after any. */
Module *ir_lower(const struct Ast *ast, Diag *d, Arena *a);
/* The train block; part of ir_lower, declared for ir/lower.c. */
bool ir_lower_train(Module *m, const struct Ast *ast, Loc *loss_loc);
/* The classes the train block's data has (CIFAR's), or 0 when the files
 * say (idx, npy); and the kind's name as the .cnn spells it. */
int64_t ir_data_classes(const TrainSpec *t);
const char *ir_data_kind_name(DataKind k);
/* The train block's optimizer = ..., and each kind's defaults. */
Optimizer ir_default_optimizer(OptimizerKind k);
void ir_lower_optimizer(Diag *d, const struct AstValue *v, Optimizer *o);
/* schedule = ..., patience = N, label_smoothing = X */
void ir_lower_schedule(Diag *d, const struct AstValue *v, Schedule *s);
/* The train block's augment = ...; part of ir_lower_train. */
void ir_lower_augment(Diag *d, const struct AstValue *v, TrainSpec *t);
/* The input's mean= and std= (either may be NULL) for `channels` channels;
 * false when there are none or they were wrong (and reported). */
bool ir_lower_normalization(Module *m, const char *layer,
                            const struct AstValue *mean,
                            const struct AstValue *std, int64_t channels,
                            NormAttr *out);

void ir_print(FILE *out, const Module *m);
/* Checks the module's invariants; prints what is broken to stderr with the
 * name of the stage that broke it and returns false. */
bool ir_verify(const Module *m, const char *after);

#endif
