/* runtime.h - libcnnrt's internal interfaces, one section per file.
 *
 * cnn_main (cnn_main.c) reads the options, loads the IDX files, splits off
 * the validation images, initialises the parameters and runs the epoch loop
 * (train.c), which gathers shuffled batches (dataset.c), calls the generated
 * train step, evaluates with the generated inference (evaluate.c) and
 * reports (progress.c, csvlog.c); the end is a safetensors checkpoint
 * (safetensors.c over layout.c and outfile.c) and the test accuracy.
 *
 * Functions that can fail print one "cnnrt: error: ..." line and return
 * false; the caller frees what it holds and cnn_main returns 1. */
#ifndef CNNRT_RUNTIME_H
#define CNNRT_RUNTIME_H

#include "cnnrt.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* --- error.c ----------------------------------------------------------- */
#if defined(__GNUC__) || defined(__clang__)
#define CNN_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CNN_PRINTF(f, a)
#endif
void cnn_error(const char *fmt, ...) CNN_PRINTF(1, 2);
/* from now on, keep cnn_error's messages; release: print them or not */
void cnn_error_hold(void);
void cnn_error_release(bool print);
/* prints the held messages: this process's own, it is about to end */
void cnn_error_own(void);
/* malloc'd printf; NULL (after an error message) when out of memory */
char *cnn_format(const char *fmt, ...) CNN_PRINTF(1, 2);

/* --- infile.c: fopen(path, "rb"), or NULL after "PATH: cannot open: WHY" -- */
FILE *cnn_open_read(const char *path);
/* The same, but a file that is not there is no error: *absent says so. */
FILE *cnn_open_optional(const char *path, bool *absent);

/* --- random.c: the runtime's streams of cnn_random ---------------------- */
#define CNN_STREAM_SHUFFLE (UINT64_C(1) << 62)              /* + epoch */
#define CNN_STREAM_INIT ((UINT64_C(1) << 62) + (UINT64_C(1) << 32)) /* + tensor */
#define CNN_STREAM_AUGMENT ((UINT64_C(1) << 62) + (UINT64_C(1) << 33)) /* + epoch */
double cnn_uniform(uint64_t r); /* [0, 1) from the top 53 bits */

/* --- clock.c ------------------------------------------------------------ */
double cnn_seconds(void); /* monotonic */

/* --- arena.c ------------------------------------------------------------- */
void *cnn_arena_create(int64_t bytes); /* 64-byte aligned, zeroed */
void cnn_arena_free(void *arena);

/* --- model_check.c: the generated constant is trusted, but checked ------- */
bool cnn_model_check(const CnnModel *m);

/* --- options.c ------------------------------------------------------------ */
typedef struct CnnOptions {
  const char *data;   /* folder of the IDX files */
  const char *save;   /* the trained weights' path, or NULL */
  const char *save_best; /* the best val_accuracy epoch's weights, or NULL */
  const char *log;    /* CSV path, or NULL */
  const char *checkpoint; /* the whole training state's path, or NULL */
  int64_t checkpoint_every; /* steps between checkpoints; 0: epochs only */
  const char *resume; /* a checkpoint to continue, or NULL */
  const char *init;   /* weights to start from, or NULL */
  int64_t epochs;
  int64_t batch;      /* <= the model's batch */
  int64_t accumulate; /* batches per update (--accumulate) */
  int64_t threads;    /* 0: as many as there are cores */
  int64_t limit;      /* first training images used; -1: all */
  int64_t validation; /* images held out, when validation_frac == 0 */
  double validation_frac;
  double lr;
  uint64_t seed;
  bool quiet;
  bool help; /* --help was given and printed */
  char **predict;     /* --predict FILE...: the files, or NULL */
  int64_t npredict;
  bool resize;        /* --resize: bilinear to the model's size */
  const char *report; /* --report: per-class accuracy, confusion; or NULL */
  const char *plot;   /* --plot: the curves as SVG, each epoch; or NULL */
} CnnOptions;

bool cnn_options_parse(const CnnModel *m, int argc, char **argv, CnnOptions *o);
void cnn_options_usage(const CnnModel *m, const char *prog, FILE *out);

/* --- schedule.c: the learning rate and momentum of every step ---------- */
typedef struct CnnRate {
  double lr;
  double momentum; /* sgd's momentum, or adam's and adamw's beta1 */
} CnnRate;

/* What the schedule of a run depends on besides the model. */
typedef struct CnnScheduleRun {
  double lr;      /* --lr: the rates scale by lr / the file's lr */
  int64_t epochs; /* --epochs: T = epochs * steps */
  int64_t steps;  /* of an epoch, >= 1 */
} CnnScheduleRun;

/* The rate of step t, counted from 0 over the whole run (t < T). */
CnnRate cnn_schedule_rate(const CnnModel *m, const CnnScheduleRun *run,
                          int64_t t);
/* "cosine(warmup=1)" as the .cnn spells it (onecycle's max_lr scaled to
 * --lr), "" for constant */
void cnn_schedule_text(const CnnModel *m, double lr, char *buf, size_t cap);

/* --- idx.c: one IDX file ---------------------------------------------- */
typedef enum CnnIdxKind { CNN_IDX_LABELS = 1, CNN_IDX_IMAGES = 3 } CnnIdxKind;

typedef struct CnnIdx {
  int64_t count, rows, cols; /* rows = cols = 1 for labels */
  uint8_t *data;             /* count * rows * cols bytes */
} CnnIdx;

bool cnn_idx_read(const char *path, CnnIdxKind kind, CnnIdx *out);
void cnn_idx_free(CnnIdx *idx);

/* --- data.c: the training and test sets of a data folder, by the kind the
 * model names (idx, cifar10, cifar100, npy), checked against the model ---- */
typedef enum CnnPixelType {
  CNN_PIXELS_U8 = 0,  /* a byte each; the model reads byte / 255 */
  CNN_PIXELS_F32 = 1, /* a float each, read as it is */
} CnnPixelType;

typedef struct CnnSet {
  int64_t count;
  int64_t h, w, c;     /* the model's input: every image is h x w x c */
  int64_t pixels;      /* values per image: h * w * c, in HWC order */
  CnnPixelType type;
  void *images;        /* count * pixels values of `type` */
  int32_t *labels;     /* count, each below the model's classes */
} CnnSet;

/* A dataset's class names (CIFAR's batches.meta.txt...); count 0 when it
 * names none, and then classes are shown by index. */
typedef struct CnnClassNames {
  int64_t count;
  char **names;
} CnnClassNames;

typedef struct CnnData {
  CnnSet train, test;
  CnnClassNames names;
} CnnData;

/* dir: the folder (--data, else the model's); the kind is the model's. */
bool cnn_data_load(const char *dir, const CnnModel *m, CnnData *out);
void cnn_data_free(CnnData *d);
void cnn_set_free(CnnSet *s);
/* Only the names, for --predict: absent files are no error (count 0); a
 * names file that is there but malformed is. dir may be NULL. */
bool cnn_class_names_load(const char *dir, const CnnModel *m,
                          CnnClassNames *out);
void cnn_class_names_free(CnnClassNames *n);
/* "cifar10" for CNN_DATA_CIFAR10..., as the .cnn spells it; and
 * "CIFAR-10", as messages name its files (runtime/data_kinds.def) */
const char *cnn_data_kind_name(int64_t kind);
const char *cnn_data_kind_files(int64_t kind);

/* --- cifar.c: CIFAR-10/100's binary version ---------------------------- */
/* Records of label_bytes label bytes (1: CIFAR-10's class; 2: CIFAR-100's
 * coarse, then fine label), then 3072 pixel bytes (1024 red, 1024 green,
 * 1024 blue, each 32 rows of 32); `label` picks which label byte is the
 * class, which has `classes` values (10; 20 coarse or 100 fine). Every
 * label byte is checked against its own range. The images come out HWC
 * (interleaved), as the model reads them. Errors name the file and the
 * byte. */
bool cnn_cifar_read(const char *path, int label_bytes, int label,
                    int64_t classes, CnnSet *out);
/* The records of f (named `path` in messages) appended to *set, whose
 * buffers have room for *room images (grown as needed); a set starts as
 * (CnnSet){0} with *room 0. On failure *set still owns what it holds. */
bool cnn_cifar_append(FILE *f, const char *path, int label_bytes, int label,
                      int64_t classes, CnnSet *set, int64_t *room);
/* A folder's training files (CIFAR-10: data_batch_1..5.bin in that order;
 * CIFAR-100: train.bin) and test file (test_batch.bin; test.bin), by the
 * model's data_kind and data_label, which must fit its input and classes. */
bool cnn_cifar_load(const char *dir, const CnnModel *m, CnnSet *train,
                    CnnSet *test);
/* what a folder of that kind holds, for messages */
const char *cnn_cifar_files(int64_t kind);

/* --- npy.c: one NumPy .npy file (format 1.0, 2.0, 3.0) ------------------- */
typedef enum CnnNpyType {
  CNN_NPY_U8, CNN_NPY_I8, CNN_NPY_U16, CNN_NPY_I16, CNN_NPY_U32,
  CNN_NPY_I32, CNN_NPY_U64, CNN_NPY_I64, CNN_NPY_F32, CNN_NPY_F64,
} CnnNpyType;

typedef struct CnnNpy {
  CnnNpyType type;
  char descr[4];   /* as the header spells it: "<f4", for messages */
  bool big_endian; /* the file's byte order (the data is the host's) */
  int rank;
  int64_t shape[8];
  void *data; /* the elements, C order, converted to the host's byte order */
} CnnNpy;

/* Errors name the file and the byte (of the header) or the counts (of the
 * data, which must be exactly what the header says). */
bool cnn_npy_read(const char *path, CnnNpy *out);
/* the same from an open stream, named `path` in messages */
bool cnn_npy_read_stream(FILE *f, const char *path, CnnNpy *out);
void cnn_npy_free(CnnNpy *a);
int cnn_npy_itemsize(CnnNpyType t);
const char *cnn_npy_type_name(CnnNpyType t); /* "uint8" */
bool cnn_npy_is_integer(CnnNpyType t);
int64_t cnn_npy_elements(const CnnNpy *a);
/* "(100, 32, 32)", "(100,)": the shape as Python writes it, into buf */
const char *cnn_npy_shape_text(const CnnNpy *a, char *buf, size_t cap);

/* --- npy_data.c: a folder's four .npy files as the training and test sets */
/* DIR/train_images.npy, train_labels.npy, test_images.npy, test_labels.npy:
 * images uint8 or float32, N x H x W x C or N x H x W (C = 1), of the
 * model's input; labels integers of shape (N,) below its classes. */
bool cnn_npy_load(const char *dir, const CnnModel *m, CnnSet *train,
                  CnnSet *test);
extern const char *const cnn_npy_files[4];

/* --- dataset.c: split, shuffle, batches ------------------------------------ */
typedef struct CnnSplit {
  int64_t train;            /* the first `train` images train */
  int64_t validation;       /* `validation` images validate, */
  int64_t validation_first; /* from this one: the last of the file */
} CnnSplit;

bool cnn_split(int64_t available, const CnnOptions *o, CnnSplit *out);
void cnn_shuffle(int64_t *order, int64_t n, uint64_t seed, int64_t epoch);
/* The training images' augmentation (the model's augment = [...]), keyed
 * by (seed, epoch, image index in the file) as cnnrt.h's streams say. */
typedef struct CnnAugment {
  int64_t shift;  /* crop(padding=P) / translate(P): up to P pixels, 0: none */
  bool flip;      /* horizontal, with probability 1/2 */
  uint64_t seed;
  int64_t epoch;  /* from 1 */
} CnnAugment;

/* images [n][pixels] as the model reads them (byte / 255, or the float) of
 * the images order[first..first+n), or of first..first+n when order is
 * NULL, augmented when aug is not NULL */
void cnn_gather(const CnnSet *s, const int64_t *order, int64_t first,
                int64_t n, const CnnAugment *aug, float *images,
                int32_t *labels);

/* part i of `total` things dealt evenly into `parts` in order: its first
 * (i = parts: total), the rule of cnnrt.h's cnn_chunk_first; how a job's
 * processes share a pass's chunks and an evaluation's blocks */
static inline int64_t cnn_share(int64_t total, int64_t parts, int64_t i) {
  return i * (total / parts) + (i < total % parts ? i : total % parts);
}

/* calloc of count (at least one) elements; *ok becomes false on failure */
void *cnn_alloc_zeroed(int64_t count, size_t size, bool *ok);

/* --- gradsum.c: the fixed order of a step's gradient sum ------------------ */
typedef struct CnnNode {
  int64_t lo, hi; /* the chunks [lo, hi) */
} CnnNode;

/* Appends to out[count ..] the largest subtrees of tree node [lo, hi)
 * that lie within chunks [a, b), in chunk order; returns the new count. */
int64_t cnn_tree_pieces(int64_t lo, int64_t hi, int64_t a, int64_t b,
                        CnnNode *out, int64_t count);
/* Where node [lo, hi) splits: the first chunk of its right subtree. */
int64_t cnn_tree_split(int64_t lo, int64_t hi);
/* Whether [lo, hi) is a node of the tree over c chunks. */
bool cnn_tree_has_node(int64_t c, int64_t lo, int64_t hi);

/* Slots of gradients: chunk k's at slot0 + (k - first) * stride floats. */
typedef struct CnnTreeSum {
  float *slot0;
  int64_t stride;
  int64_t first;
  const CnnNode *pieces; /* nodes whose sums are in their slots already */
  int64_t npieces;
} CnnTreeSum;

/* Node [lo, hi)'s sum into chunk lo's slot, floats [from, to): from the
 * pieces and single chunks, as the tree adds them. */
void cnn_tree_sum(const CnnTreeSum *t, int64_t lo, int64_t hi, int64_t from,
                  int64_t to);

/* --- step.c: one training step over the processes ---------------------- */
/* images first .. first + count - 1 of the step, as the model reads them */
typedef void (*CnnGatherFn)(void *ctx, int64_t first, int64_t count,
                            float *images, int32_t *labels);

typedef struct CnnStepArgs {
  float *params, *opt_state;
  void *arena;         /* train_arena_bytes */
  int64_t n;           /* the step's images */
  CnnGatherFn gather;
  void *gather_ctx;
  int64_t step;        /* from 1 */
  uint64_t seed;
  float lr, momentum;
  double *loss_sum;    /* += the step's, in chunk order */
  int64_t *correct;
} CnnStepArgs;

typedef struct CnnStepper CnnStepper;
/* Ready for steps of up to `most` images; NULL after an error (the model
 * cannot take such steps, or out of memory). Collective buffers are
 * sized for cnn_comm_size() processes. */
CnnStepper *cnn_stepper_create(const CnnModel *m, int64_t most,
                               int64_t pixels);
void cnn_stepper_free(CnnStepper *s);
/* One step, on every process of the job alike (collective). */
void cnn_step(CnnStepper *s, const CnnStepArgs *a);

/* --- init.c ------------------------------------------------------------------ */
void cnn_init_params(const CnnModel *m, uint64_t seed, float *params);

/* --- evaluate.c ------------------------------------------------------------ */
typedef struct CnnScore {
  double loss;     /* mean cross-entropy */
  double accuracy;
} CnnScore;

typedef struct CnnEvalBuffers {
  void *arena;   /* m->infer_arena_bytes */
  float *images; /* [batch][pixels] */
  int32_t *labels;
  float *probs;  /* [batch][num_classes] */
} CnnEvalBuffers;

CnnScore cnn_evaluate(const CnnModel *m, const float *params,
                      const CnnEvalBuffers *b, const CnnSet *s, int64_t first,
                      int64_t count);
/* The same, and when confusion is not NULL, adds each image to
 * confusion[true class][predicted class] (num_classes x num_classes). */
CnnScore cnn_evaluate_confusion(const CnnModel *m, const float *params,
                                const CnnEvalBuffers *b, const CnnSet *s,
                                int64_t first, int64_t count,
                                int64_t *confusion);

/* --- progress.c ---------------------------------------------------------- */
typedef struct CnnEpochStats {
  int64_t epoch, epochs;
  int64_t steps, images; /* of training, so far */
  double loss, accuracy; /* running means over the epoch */
  double lr;             /* of the last step so far (the schedule's) */
  bool has_validation;
  CnnScore validation;
  double train_seconds; /* the steps only */
  double seconds;       /* the whole epoch, evaluation included */
} CnnEpochStats;

typedef struct CnnProgress {
  FILE *out;
  bool tty, quiet;
  int64_t total_steps; /* of this epoch */
  double last_draw;
  int width; /* of the last bar drawn, to blank what a shorter one leaves */
} CnnProgress;

void cnn_progress_init(CnnProgress *p, FILE *out, bool quiet);
void cnn_progress_epoch_begin(CnnProgress *p, int64_t epoch, int64_t epochs,
                              int64_t steps);
void cnn_progress_step(CnnProgress *p, const CnnEpochStats *s);
void cnn_progress_epoch_end(CnnProgress *p, const CnnEpochStats *s);

/* --- csvlog.c --------------------------------------------------------------- */
typedef struct CnnLog CnnLog;
/* the header, then the rows a resumed run had written; NULL after an error */
CnnLog *cnn_log_create(const char *path, const char *rows);
/* One epoch's row, "1,0.25,...\n", into buf: its length, 0 if it did not
 * fit. CNN_LOG_ROW bytes always do. */
enum { CNN_LOG_ROW = 160 };
size_t cnn_log_format(const CnnEpochStats *s, char *buf, size_t cap);
/* false after reporting, once, that the log cannot be written */
bool cnn_log_row(CnnLog *log, const char *row);
bool cnn_log_free(CnnLog *log); /* false when any write failed */

/* --- report.c: the test set's per-class accuracy and confusion matrix -- */
/* confusion is [classes][classes], rows the true class, columns the
 * predicted one; names may have count 0 (classes shown by index). */
typedef struct CnnReport {
  int64_t classes;
  int64_t *confusion;
  const CnnClassNames *names;
} CnnReport;
/* The end of a run's summary, for an 80-column terminal. */
void cnn_report_print(const CnnReport *r, FILE *out);
/* --report FILE.csv, written atomically; false after an error message */
bool cnn_report_write(const CnnReport *r, const char *path);

/* --- plot.c: --plot FILE.svg ------------------------------------------- */
/* The curves of the log rows so far (CnnRunState's rows) against epochs
 * 0..epochs, written atomically; a failure is reported once and returns
 * false (training goes on). */
bool cnn_plot_write(const char *path, const char *model, int64_t epochs,
                    const char *rows);
bool cnn_plot_failed(void); /* any drawing failed: the exit status is 1 */

/* --- layout.c: cnnc's layouts to PyTorch's, and back ---------------------- */
int cnn_torch_shape(const CnnParam *p, int64_t shape[4]); /* returns rank */
/* the floats of the parameter buffer p takes: its elements, or two an
 * element for I64 */
int64_t cnn_param_floats(const CnnParam *p);
void cnn_to_torch(const CnnParam *p, const float *src, float *dst);
void cnn_from_torch(const CnnParam *p, const float *src, float *dst);

/* --- outputs.c: the files a run writes, checked before the first step ---- */
/* --save and --log can be written, are not the same file, and are none of
 * the data folder's files. */
bool cnn_check_outputs(const CnnOptions *o);
/* The standard streams: fds 0-2 are kept from being reused by files the
 * run opens; SIGPIPE and SIGXFSZ become write errors; temporaries are
 * removed on a signal. */
void cnn_guard_std_streams(void);
/* false when a write to stdout failed, which is reported once, on stderr;
 * the run goes on (and exits 1) */
bool cnn_stdout_ok(void);

/* --- safetensors.c: writing tensors and string metadata ----------------- */
/* A tensor of a file: a parameter (suffix NULL) or one of its optimizer
 * states ("conv2d_1.weight" + ".exp_avg"), in the parameter's layout; src
 * is its first float, in buffers that outlive the saver. */
typedef struct CnnTensorOut {
  const CnnParam *p;
  const char *suffix;
  const float *src;
} CnnTensorOut;

typedef struct CnnMeta {
  const char *key, *value;
} CnnMeta;

/* Holds the memory a save needs, allocated before the first step, for
 * meta_cap bytes of metadata (as JSON) at most. */
typedef struct CnnSaver CnnSaver;
CnnSaver *cnn_saver_create(const CnnTensorOut *tensors, int n,
                           size_t meta_cap); /* NULL after an error */
/* flag names the option in messages ("--save") */
bool cnn_saver_write(CnnSaver *s, const CnnMeta *meta, int nmeta,
                     const char *flag, const char *path);
void cnn_saver_free(CnnSaver *s);

/* --- checkpoint.c: what --save and --checkpoint files hold --------------- */
/* Where a run stands: enough to continue it bit for bit. */
typedef struct CnnRunState {
  int64_t epoch;       /* the epoch in progress, from 1; epochs + 1: done */
  int64_t epoch_steps; /* its steps done */
  int64_t step;        /* updates done in the whole run */
  int64_t images, correct; /* of the epoch so far */
  double loss_sum;
  double train_seconds;
  /* the validation so far, for patience (Keras' EarlyStopping: a val_loss
   * below the best is an improvement) and --save-best (a val_accuracy
   * above the best is) */
  double best_val_loss;     /* HUGE_VAL before the first validation */
  int64_t best_loss_epoch;  /* 0: none yet */
  int64_t epochs_no_better; /* since best_loss_epoch: patience's count */
  double best_val_accuracy; /* -1 before the first validation */
  int64_t best_accuracy_epoch; /* 0: none yet */
  char *rows;          /* the CSV rows so far ("" when none) */
  size_t rows_len, rows_cap;
} CnnRunState;

/* What changes the results, as strings, each compared on --resume. */
typedef enum CnnFingerprintKey {
  FP_MODEL, FP_BATCH, FP_SEED, FP_LR, FP_LIMIT, FP_VALIDATION, FP_DATA,
  FP_EPOCHS, /* when the schedule depends on them (cosine, onecycle) */
  FP_COUNT
} CnnFingerprintKey;
typedef struct CnnFingerprint {
  char value[FP_COUNT][160];
} CnnFingerprint;
extern const char *const cnn_fingerprint_key[FP_COUNT];
/* collective (job.c): whether every process of the job has this run's
 * fingerprint (its data, flags and model) and the same `start` (a hash
 * of its starting weights and state, and of the flags that decide which
 * exchanges it takes part in); rank 0 says so if not */
bool cnn_job_same_run(const CnnFingerprint *f, uint64_t start);
/* FNV-1a: h folded with n bytes */
uint64_t cnn_hash(uint64_t h, const void *data, size_t n);

void cnn_fingerprint(const CnnModel *m, const CnnOptions *o,
                     const CnnSet *train, const CnnSet *test,
                     CnnFingerprint *f);
/* the optimizer's state slots per parameter (2 for Adam, 1 for SGD with
 * momentum, 0), their torch.optim names, where one starts */
int cnn_state_slots(const CnnModel *m);
const char *cnn_state_name(const CnnModel *m, int slot);
int64_t cnn_state_offset(const CnnModel *m, const CnnParam *p, int slot);

CnnSaver *cnn_weights_saver(const CnnModel *m, const float *params);
/* --save: epochs is those trained (fewer than --epochs after an early
 * stop) */
bool cnn_write_weights(CnnSaver *s, const CnnModel *m, const CnnOptions *o,
                       int64_t epochs, int64_t steps, double test_accuracy);
/* --save-best: the weights after `epoch`, the best val_accuracy so far */
bool cnn_write_best(CnnSaver *s, const CnnModel *m, const CnnOptions *o,
                    int64_t epoch, int64_t steps, double val_accuracy);
CnnSaver *cnn_checkpoint_saver(const CnnModel *m, const float *params,
                               const float *state, size_t rows_cap);
bool cnn_write_checkpoint(CnnSaver *s, const CnnModel *m,
                          const CnnFingerprint *f, const CnnRunState *r,
                          const char *path);

/* --- resume.c: reading them back ------------------------------------------- */
/* What a run's counters must agree with. */
typedef struct CnnRunShape {
  int64_t steps;  /* of an epoch */
  int64_t batch;  /* images of a step */
  int64_t images; /* of an epoch */
  int64_t epochs; /* --epochs */
  const char *data; /* --data, for messages */
} CnnRunShape;
/* --resume: the parameters, the optimizer's state and *r (whose rows
 * buffer, of r->rows_cap bytes, is filled), after checking that the file
 * is a checkpoint of this model and this run (the fingerprint), and that
 * its counters hold together. */
bool cnn_read_checkpoint(const CnnModel *m, const CnnFingerprint *f,
                         const CnnRunShape *shape, const char *path,
                         float *params, float *state, CnnRunState *r);
/* --init: the parameters of a --save or --checkpoint file, or of a
 * PyTorch state_dict under cnnc's names */
bool cnn_read_weights(const CnnModel *m, const char *path, float *params);

/* --- job.c: the processes of an MPI job start together ----------------- */
void cnn_job_begin(void);      /* after cnn_comm_start */
bool cnn_job_ready(bool ok);   /* collective: whether every process is ok */
void cnn_job_end(int status);  /* on the way out, whatever happened */

/* --- interrupt.c: SIGINT and SIGTERM as a request to stop ------------------ */
void cnn_interrupt_install(void);
int cnn_interrupt_requested(void); /* the signal, or 0 */
/* a process of an MPI job of several (see interrupt.c) */
void cnn_interrupt_install_job(bool checkpoint);
/* the same over every process of the job (collective) */
int cnn_stop_requested(void);

/* --- train.c ----------------------------------------------------------------- */
typedef struct CnnTrainer CnnTrainer;
/* Starts from --resume's state, --init's weights or the initialisation;
 * NULL after an error (a bad checkpoint among them). */
CnnTrainer *cnn_trainer_create(const CnnModel *m, const CnnOptions *o,
                               const CnnSet *train, const CnnSet *test,
                               CnnSplit split);
void cnn_trainer_free(CnnTrainer *t);
/* The epochs left, with progress, the log and checkpoints: 0 when all are
 * done, -1 (after a message) when training diverged, or the signal that
 * stopped it (after trying to write the checkpoint:
 * cnn_trainer_checkpoint_current says whether that worked). */
int cnn_trainer_run(CnnTrainer *t, CnnLog *log);
/* confusion: NULL, or num_classes^2 zeroed counts to fill */
CnnScore cnn_trainer_test(CnnTrainer *t, const CnnSet *test,
                          int64_t *confusion);
CnnScore cnn_trainer_validate(CnnTrainer *t);
const float *cnn_trainer_params(const CnnTrainer *t);
const CnnFingerprint *cnn_trainer_fingerprint(const CnnTrainer *t);
/* a hash of where the run starts: the weights, the optimizer's state and
 * the run's counters */
uint64_t cnn_trainer_start_hash(const CnnTrainer *t);
int64_t cnn_trainer_steps(const CnnTrainer *t);
const CnnRunState *cnn_trainer_state(const CnnTrainer *t);
/* --checkpoint writes that failed; whether the last one did */
int64_t cnn_trainer_checkpoint_failures(const CnnTrainer *t);
/* --save-best writes that failed */
int64_t cnn_trainer_best_failures(const CnnTrainer *t);
bool cnn_trainer_checkpoint_current(const CnnTrainer *t);

/* --- image.c: one image file (PNG through libpng; PGM/PPM P2 P3 P5 P6) -- */
typedef struct CnnImage {
  int64_t h, w, c; /* c: 1 grey, 3 RGB (alpha dropped, palettes expanded) */
  uint8_t *pixels; /* h * w * c bytes, HWC; 16-bit samples scaled to 8 */
  const char *format; /* "PNG", "PGM" or "PPM" (static) */
} CnnImage;

/* The format is the file's first bytes' (not its name's); errors name the
 * file and what is wrong (the byte, the line). */
bool cnn_image_read(const char *path, CnnImage *out);
/* the same from bytes in memory; name is for the messages */
bool cnn_image_decode(const char *name, const uint8_t *data, size_t size,
                      CnnImage *out);
void cnn_image_free(CnnImage *img);

/* --- image_fit.c: an image to a model's input ---------------------------- */
/* c (1 or 3) channels, in place: grey to RGB repeats, RGB to grey is PIL's
 * convert('L') (ITU-R 601-2 luma, rounded); false when out of memory. */
bool cnn_image_channels(CnnImage *img, int64_t c);
/* [h][w][c] floats to [oh][ow][c], bilinear as PyTorch's
 * F.interpolate(mode='bilinear', align_corners=False, antialias=False) */
void cnn_resize_bilinear(const float *src, int64_t h, int64_t w, int64_t c,
                         float *dst, int64_t oh, int64_t ow);

/* --- predict.c: --predict FILE... --------------------------------------- */
/* Classifies each file with --init's weights (read by cnn_read_weights)
 * and prints its top 5 classes, file by file, in order: a file that cannot
 * be read or does not fit the model is an error that names it, and the
 * others are still classified. The exit status: 0, or 1 when any file (or
 * the weights, or the class names) failed. */
int cnn_predict(const CnnModel *m, const CnnOptions *o);

#endif
