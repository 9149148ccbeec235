/* cnnrt.h - the contract between the code cnnc generates and libcnnrt.
 *
 * The generated object defines one constant, `cnn_model`, that describes the
 * network (its parameters, their layouts, the sizes of every buffer, the
 * defaults of the .cnn's train block) and points at the two generated
 * functions. libcnnrt owns everything that is not specialised: data, the
 * epoch loop, initialisation, metrics, progress and checkpoints; it defines
 * `main` and calls cnn_main(&cnn_model, argc, argv).
 *
 * Every field is 8 bytes wide (int64_t, double or a pointer) so that the
 * struct the code generator emits has the same layout as this one on every
 * 64-bit target without padding rules to get wrong. */
#ifndef CNNRT_H
#define CNNRT_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CNN_ABI_VERSION 5

typedef enum CnnParamKind {
  CNN_PARAM_CONV_WEIGHT = 0,  /* [kh, kw, cin, cout] (HWIO) */
  CNN_PARAM_DENSE_WEIGHT = 1, /* [in, out] */
  CNN_PARAM_VECTOR = 2,       /* [n], or a scalar (rank 0): PyTorch's too */
} CnnParamKind;

/* A parameter's first value, as Keras initialises it. */
typedef enum CnnInit {
  CNN_INIT_GLOROT_UNIFORM = 0, /* uniform in +-sqrt(6 / (fan_in + fan_out)) */
  CNN_INIT_ZEROS = 1,
  CNN_INIT_ONES = 2,
} CnnInit;

/* How its elements are stored: a float each, or an int64_t in two floats'
 * room (num_batches_tracked). */
typedef enum CnnDType { CNN_F32 = 0, CNN_I64 = 1 } CnnDType;

/* Where the train block's data = KIND("DIR") comes from. */
typedef enum CnnDataKind {
  CNN_DATA_IDX = 0,      /* MNIST's four IDX files */
  CNN_DATA_CIFAR10 = 1,  /* cifar-10-batches-bin */
  CNN_DATA_CIFAR100 = 2, /* cifar-100-binary */
  CNN_DATA_NPY = 3,      /* {train,test}_{images,labels}.npy */
} CnnDataKind;

/* cifar100(label=...): which of a record's two label bytes is the class */
typedef enum CnnCifarLabel { CNN_LABEL_FINE = 0, CNN_LABEL_COARSE = 1 } CnnCifarLabel;

typedef enum CnnOptimizerKind {
  CNN_OPT_SGD = 0,
  CNN_OPT_ADAM = 1,  /* Keras' form; weight_decay is L2, as torch.optim.Adam */
  CNN_OPT_ADAMW = 2, /* torch.optim.AdamW's form, decoupled decay */
} CnnOptimizerKind;

/* The train block's schedule = ..., which the runtime computes per step. */
typedef enum CnnSchedule {
  CNN_SCHEDULE_CONSTANT = 0,
  CNN_SCHEDULE_STEP = 1,     /* step(every=E, factor=F) */
  CNN_SCHEDULE_COSINE = 2,   /* cosine(warmup=W) */
  CNN_SCHEDULE_ONECYCLE = 3, /* onecycle(max_lr=M): torch's OneCycleLR */
} CnnSchedule;

/* One tensor of the model's state inside the flat parameter buffer: a
 * trained parameter, or a buffer (running statistics) that the train step
 * updates itself and the optimizer leaves alone. Each says how it is laid
 * out, initialised and stored, so that the runtime needs no edit for a new
 * kind of layer. */
typedef struct CnnParam {
  const char *name;   /* PyTorch state_dict name: "conv2d_1.weight" */
  int64_t kind;       /* CnnParamKind */
  int64_t rank;
  int64_t shape[4];   /* cnnc's layout, see CnnParamKind */
  int64_t offset;     /* first float in the parameter buffer */
  int64_t size;       /* elements */
  int64_t fan_in;     /* inputs per output unit: kh*kw*cin, or in */
  int64_t fan_out;    /* kh*kw*cout, or out */
  /* A dense weight right after flatten(HxWxC) reads its inputs in cnnc's
   * H,W,C order; PyTorch flattens C,H,W. These give H, W, C so that the
   * checkpoint can reorder rows; all zero for any other tensor. */
  int64_t flat_h, flat_w, flat_c;
  int64_t init;       /* CnnInit */
  int64_t trainable;  /* 1: the optimizer updates it; 0: a buffer */
  int64_t dtype;      /* CnnDType */
} CnnParam;

/* ---- a training step: chunks, gradients, update -------------------------
 *
 * A step's n images (a batch, or --accumulate's K batches) are cut into
 * cnn_chunks(n) chunks, dealt out evenly in order: chunk k holds
 * cnn_chunk_first(n, k + 1) - cnn_chunk_first(n, k) images, at most
 * CNN_CHUNK_IMAGES. The cut depends on n alone: not on the threads, the
 * processes, nor the batch the model was compiled for, so chunk k's
 * partial gradients are the same bits wherever and whenever it runs.
 * CNN_CHUNK_GROUP chunks until the chunks would hold more than
 * CNN_CHUNK_IMAGES images, then another CNN_CHUNK_GROUP, and so on. */
enum { CNN_CHUNK_GROUP = 8, CNN_CHUNK_IMAGES = 8 };

/* The alignment of every arena, of its slots and of every tensor in it:
 * a cache line, and an AVX-512 vector (the generated kernels' aligned
 * loads). */
enum { CNN_ALIGN = 64 };

static inline int64_t cnn_align_up(int64_t bytes) {
  return (bytes + CNN_ALIGN - 1) / CNN_ALIGN * CNN_ALIGN;
}

static inline int64_t cnn_chunks(int64_t n) {
  int64_t per_group = (int64_t)CNN_CHUNK_GROUP * CNN_CHUNK_IMAGES;
  int64_t chunks = CNN_CHUNK_GROUP * ((n + per_group - 1) / per_group);
  return n < chunks ? n : chunks;
}

/* the index among the n images of chunk k's first (k = chunks: n) */
static inline int64_t cnn_chunk_first(int64_t n, int64_t k) {
  int64_t chunks = cnn_chunks(n);
  if (chunks == 0)
    return 0;
  int64_t base = n / chunks, extra = n % chunks;
  return k * base + (k < extra ? k : extra);
}

/* Runs phase `phase` (0 .. train_phases - 1) of the forward, loss and
 * backward of chunks first .. first + count - 1 of a step of batch_n
 * images in batch_chunks = cnn_chunks(batch_n) chunks, on the pool.
 * bounds[i] is cnn_chunk_first(batch_n, first + i), for i = 0 .. count;
 * images and labels hold images bounds[0] .. bounds[count] - 1 of the
 * step (floats, pixel/255 or normalised by the model). Chunk first + i
 * works in arena slot i, `arena` being the slot of chunk `first`: it
 * writes its partial parameter gradients there (grads_offset, grads
 * floats), and adds its summed loss to loss[i] and its count of images
 * classified right to correct[i]. A phase of a chunk reads what earlier
 * phases of every chunk of the step wrote in their slots (batchnorm's
 * statistics: `exchanges` lists them), so all of a step's chunks are in
 * consecutive slots when the model has more than one phase. `step`
 * counts updates from 1 and keys the dropout masks with `seed`. */
typedef void (*CnnGradientsFn)(const float *params, const float *images,
                               const int32_t *labels, const int64_t *bounds,
                               int64_t first, int64_t count, int64_t batch_n,
                               int64_t batch_chunks, int64_t phase,
                               void *arena, int64_t step, uint64_t seed,
                               double *loss, int64_t *correct);

/* The optimizer's update of `params` (and the buffers': batchnorm's
 * running statistics) from the step's summed gradients in slot 0 of
 * `arena` (and batchnorm's per-chunk statistics in slots 0 ..
 * batch_chunks - 1). `lr` and `momentum` are this step's (the
 * schedule's): momentum is sgd's momentum, or adam's and adamw's beta1
 * (which OneCycleLR cycles as it cycles sgd's momentum). */
typedef void (*CnnUpdateFn)(float *params, float *opt_state, void *arena,
                            int64_t batch_n, int64_t batch_chunks,
                            int64_t step, float lr, float momentum);

/* A tensor that a later phase (or the update) reads in every chunk's
 * slot: after `phase`, each slot's bytes [offset, offset + bytes) must be
 * where every chunk can read them. */
typedef struct CnnExchange {
  int64_t phase;
  int64_t offset;
  int64_t bytes;
} CnnExchange;

/* Inference (no dropout) of n <= batch images: probs is [n][num_classes]. */
typedef void (*CnnInferFn)(const float *params, const float *images,
                           float *probs, int64_t n, void *arena);

typedef struct CnnModel {
  int64_t abi_version; /* CNN_ABI_VERSION */
  const char *name;    /* the model's name in the .cnn */
  int64_t input_h, input_w, input_c;
  int64_t num_classes;
  int64_t batch; /* the largest n the functions accept */
  int64_t num_params; /* floats in the parameter buffer */
  int64_t num_param_tensors;
  const CnnParam *params;
  /* the trainable parameters are the buffer's first num_trainable floats;
   * the buffers follow */
  int64_t num_trainable;
  int64_t opt_state_floats; /* adam: 2 x num_trainable; sgd: num_trainable */
  int64_t train_arena_bytes; /* chunk_slots x chunk_stride */
  int64_t infer_arena_bytes;
  /* the training arena: chunk_slots slots of chunk_stride bytes, 64-byte
   * aligned, each with room for CNN_CHUNK_IMAGES images and one copy of
   * the parameter gradients at grads_offset (grads floats) */
  int64_t chunk_slots;
  int64_t chunk_stride;
  int64_t grads_offset;
  int64_t grads;
  int64_t train_phases;
  int64_t num_exchanges;
  const CnnExchange *exchanges;
  /* the train block's values, defaults for the trainer's flags */
  int64_t optimizer; /* CnnOptimizerKind */
  double lr, momentum, beta1, beta2, eps;
  int64_t epochs;
  int64_t seed;
  int64_t validation;      /* images held out, when validation_frac == 0 */
  double validation_frac;  /* in (0, 1), or 0 */
  const char *data;        /* the data folder, or NULL */
  int64_t data_kind;       /* CnnDataKind */
  int64_t data_label;      /* CnnCifarLabel, for CNN_DATA_CIFAR100 */
  /* the training images' augmentation, see cnn_random's streams */
  int64_t augment_shift;   /* up to this many pixels each way; 0: none */
  int64_t augment_flip;    /* 1: mirrored left-right with probability 1/2 */
  /* FNV-1a of the IR the code was generated from (every layer, attribute
   * and constant, the normalisation's too): a checkpoint resumes only in
   * a trainer with the same */
  int64_t code_hash;
  /* the optimizer's weight decay (compiled in: informative here) */
  double weight_decay;
  int64_t nesterov;      /* sgd */
  int64_t decay_biases;  /* 0: vectors (biases, batchnorm) are not decayed */
  /* the recipe: schedule = ..., patience = N, label_smoothing = X */
  int64_t schedule;      /* CnnSchedule */
  int64_t schedule_every;  /* step: epochs between decays */
  double schedule_factor;  /* step: the decay */
  int64_t schedule_warmup; /* cosine: epochs of linear warmup */
  double schedule_max_lr;  /* onecycle: the peak */
  int64_t patience;      /* epochs without a better val_loss; 0: never stop */
  double label_smoothing; /* compiled into the loss: informative here */
  CnnGradientsFn gradients;
  CnnUpdateFn update;
  CnnInferFn infer;
} CnnModel;

/* Defined by the generated object. */
extern const CnnModel cnn_model;

/* The train step's momentum argument when no schedule moves it: sgd's
 * momentum, or adam's and adamw's beta1. */
static inline double cnn_compiled_momentum(const CnnModel *m) {
  return m->optimizer == CNN_OPT_SGD ? m->momentum : m->beta1;
}

/* One training step over images [n][h][w][c] and labels [n] (n >= 1; a
 * step larger than the compiled batch runs in passes): the gradients,
 * their sum and the update, as the trainer takes it; in an MPI job,
 * collective. arena: train_arena_bytes, 64-byte
 * aligned. Adds the n images' summed loss to *loss_sum and the number
 * classified right to *correct. False (after a message on stderr) when
 * out of memory. */
bool cnn_train_step(const CnnModel *m, float *params, float *opt_state,
                    const float *images, const int32_t *labels, int64_t n,
                    void *arena, int64_t step, uint64_t seed, float lr,
                    float momentum, double *loss_sum, int64_t *correct);

/* Runs fn(ctx, 0) ... fn(ctx, count - 1) on the pool's threads and the
 * caller's, and returns when all are done. Generated code calls it with
 * the chunks of a batch; each chunk writes only its own memory. */
void cnn_parallel_for(void (*fn)(void *ctx, int64_t i), void *ctx,
                      int64_t count);

/* Makes the pool: threads - 1 workers beside the caller. Call once, before
 * the first step; false if the threads could not be started. */
bool cnn_set_threads(int threads);
int cnn_available_cores(void);

/* The trainer's main program; returns the process exit status. */
int cnn_main(const CnnModel *m, int argc, char **argv);

/* The counter-based generator shared by generated code and the runtime:
 * a pure function of (seed, stream, counter), so that a value never depends
 * on which thread draws it or in what order. With G = 0x9e3779b97f4a7c15
 * and mix = splitmix64's finaliser
 *   mix(z): z = (z ^ z >> 30) * 0xbf58476d1ce4e5b9;
 *           z = (z ^ z >> 27) * 0x94d049bb133111eb; return z ^ z >> 31
 * it is
 *   key = mix(seed ^ mix(stream + G));  cnn_random = mix(key + counter * G)
 * (all arithmetic mod 2^64). Streams in use:
 *   dropout of layer L at step S: stream = S * 2^16 + L, counter = image
 *     index in the batch * elements per image + element; an element is kept
 *     when (r >> 40) >= rate * 2^24 (and then scaled by 1 / (1 - rate));
 *   the runtime's streams (initialisation, shuffling) start at 2^62;
 *   augmentation of training image I (its index in the training file) in
 *   epoch E (from 1): stream = 2^62 + 2^33 + E, and with r(k) the value of
 *   counter 4 I + k and P = augment_shift, the image moves by
 *   dy = r(0) mod (2P + 1) - P rows and dx = r(1) mod (2P + 1) - P
 *   columns (out(y, x) = in(y + dy, x + dx), 0 outside: a crop after P
 *   pixels of zero padding), then is mirrored (out(y, x) = out(y, W-1-x))
 *   when augment_flip and r(2) >> 63 is 1. */
uint64_t cnn_random(uint64_t seed, uint64_t stream, uint64_t counter);

#ifdef __cplusplus
}
#endif

#endif
