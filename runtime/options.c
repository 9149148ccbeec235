/* options.c - the trainer's command line.
 *
 * The .cnn's train block gives the defaults (they are in the CnnModel); the
 * flags override them. One table drives both the parser and --help, so the
 * two cannot drift apart. Numbers go through strtoll/strtod with errno and
 * end-pointer checks: "--epochs 1e3", "--epochs 99999999999999999999" and
 * "--lr nan" are errors, not silent garbage. */
#include "runtime.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "suggest.h"

typedef enum FlagId {
  F_DATA, F_EPOCHS, F_BATCH, F_ACCUMULATE, F_LR, F_SEED, F_THREADS, F_LIMIT, F_VALIDATION,
  F_SAVE, F_SAVE_BEST, F_LOG, F_CHECKPOINT, F_CHECKPOINT_EVERY, F_RESUME,
  F_INIT, F_QUIET, F_REPORT, F_PLOT,
  F_PREDICT, F_RESIZE, F_HELP
} FlagId;

/* the flags that train: none of them goes with --predict */
#define TRAINING_FLAGS                                                        \
  (1u << F_EPOCHS | 1u << F_BATCH | 1u << F_ACCUMULATE | 1u << F_LR | 1u << F_SEED |               \
   1u << F_LIMIT | 1u << F_VALIDATION | 1u << F_SAVE | 1u << F_SAVE_BEST |    \
   1u << F_LOG | 1u << F_CHECKPOINT | 1u << F_CHECKPOINT_EVERY |              \
   1u << F_RESUME | 1u << F_QUIET | 1u << F_REPORT | 1u << F_PLOT)

typedef struct Flag {
  FlagId id;
  const char *name; /* after the two dashes */
  const char *meta; /* the value's placeholder; NULL for a switch */
  const char *help;
} Flag;

static const Flag FLAGS[] = {
  {F_DATA, "data", "DIR",
   "the data folder (with --predict: of the class names, if any)"},
  {F_EPOCHS, "epochs", "N", "passes over the training images"},
  {F_BATCH, "batch", "N", "images per step"},
  {F_ACCUMULATE, "accumulate", "K",
   "K batches per update: bit for bit one batch K times as large"},
  {F_LR, "lr", "X", "learning rate (scales the whole schedule)"},
  {F_SEED, "seed", "N", "seed of initialisation, shuffling and dropout"},
  {F_THREADS, "threads", "N", "threads that run the batch's chunks; 0: one per core"},
  {F_LIMIT, "limit", "N",
   "train on the first N images, before the validation ones"},
  {F_VALIDATION, "validation", "N|F",
   "hold out the last N training images, or a fraction F"},
  {F_SAVE, "save", "FILE", "write the trained weights as safetensors"},
  {F_SAVE_BEST, "save-best", "FILE",
   "write the weights of each epoch with a new best val_accuracy"},
  {F_LOG, "log", "FILE.csv", "write one CSV row per epoch"},
  {F_CHECKPOINT, "checkpoint", "FILE",
   "write the whole training state after each epoch and on Ctrl-C"},
  {F_CHECKPOINT_EVERY, "checkpoint-every", "N",
   "also every N steps (with --checkpoint)"},
  {F_RESUME, "resume", "FILE",
   "continue the run a --checkpoint FILE holds, bit for bit"},
  {F_INIT, "init", "FILE",
   "start from these weights (--save, --checkpoint or a PyTorch state_dict)"},
  {F_QUIET, "quiet", NULL, "print only the final test_acc line"},
  {F_REPORT, "report", "FILE.csv",
   "write the test set's per-class accuracy and confusion matrix"},
  {F_PLOT, "plot", "FILE.svg",
   "draw the loss, accuracy and lr curves as SVG, after each epoch"},
  {F_PREDICT, "predict", "FILE...",
   "classify PNG, PGM or PPM images with --init's weights (top 5 classes); "
   "no training"},
  {F_RESIZE, "resize", NULL,
   "with --predict: resize images of another size (bilinear), not refuse them"},
  {F_HELP, "help", NULL, "print this help and exit"},
};
enum { NUM_FLAGS = sizeof FLAGS / sizeof FLAGS[0], MAX_EPOCHS = 1 << 20, /* as the .cnn allows */
       MAX_THREADS = 4096, MAX_ACCUMULATE = 1 << 16 };

/* --- numbers ------------------------------------------------------------- */

static bool not_a(const Flag *f, const char *s, const char *what) {
  cnn_error("--%s: '%s' is not %s", f->name, s, what);
  return false;
}

static bool parse_int(const Flag *f, const char *s, int64_t lo, int64_t hi,
                      int64_t *out) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (end == s || *end || isspace((unsigned char)*s))
    return not_a(f, s, "a whole number");
  if (errno == ERANGE || v < lo || v > hi) {
    cnn_error("--%s: %s is out of range (%" PRId64 " to %" PRId64 ")", f->name,
              s, lo, hi);
    return false;
  }
  *out = v;
  return true;
}

static bool parse_u64(const Flag *f, const char *s, uint64_t *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  /* strtoull takes "-1" as 2^64-1: only digits may start the number */
  if (!isdigit((unsigned char)*s) || end == s || *end)
    return not_a(f, s, "a whole number from 0 to 18446744073709551615");
  if (errno == ERANGE) {
    cnn_error("--%s: %s is out of range (0 to %" PRIu64 ")", f->name, s,
              UINT64_MAX);
    return false;
  }
  *out = v;
  return true;
}

static bool parse_real(const Flag *f, const char *s, double *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || *end || isspace((unsigned char)*s))
    return not_a(f, s, "a number");
  if (!isfinite(v))
    return not_a(f, s, "a finite number");
  if (errno == ERANGE) { /* beyond double's range, or below its smallest */
    cnn_error("--%s: %s is out of range", f->name, s);
    return false;
  }
  *out = v;
  return true;
}

/* --- the flags' values ------------------------------------------------------ */

static bool parse_positive(const Flag *f, const char *s, double *out) {
  if (!parse_real(f, s, out))
    return false;
  /* The train step takes a float: 1e-50 would be 0 there. */
  float as_float = (float)*out;
  if (*out > 0 && as_float > 0 && as_float <= FLT_MAX)
    return true;
  cnn_error("--%s: %s must be above 0 and fit a 32-bit float", f->name, s);
  return false;
}

/* The train step was compiled for at most m->batch images: the arena and
 * every buffer inside it have that many rows. */
static bool parse_batch(const CnnModel *m, const Flag *f, const char *s,
                        int64_t *out) {
  if (!parse_int(f, s, 1, INT64_MAX, out))
    return false;
  if (*out <= m->batch)
    return true;
  cnn_error("--batch: %s is larger than %" PRId64 ", the batch the model's "
            "train step was compiled for (its buffers have that many rows); "
            "raise `batch` in the .cnn's train block and recompile to use more",
            s, m->batch);
  return false;
}

/* "--validation 5000" holds out images; "--validation 0.1" a fraction */
static bool parse_validation(const Flag *f, const char *s, CnnOptions *o) {
  if (!strpbrk(s, ".eE")) {
    o->validation_frac = 0;
    return parse_int(f, s, 0, INT64_MAX, &o->validation);
  }
  if (!parse_real(f, s, &o->validation_frac))
    return false;
  if (o->validation_frac > 0 && o->validation_frac < 1)
    return true;
  return not_a(f, s, "a whole number of images or a fraction between 0 and 1");
}

static bool parse_text(const Flag *f, const char *s, const char **out) {
  if (!*s)
    return not_a(f, s, "a path (it is empty)");
  *out = s;
  return true;
}

static bool apply(const CnnModel *m, const Flag *f, const char *v,
                  CnnOptions *o) {
  switch (f->id) {
  case F_DATA: return parse_text(f, v, &o->data);
  case F_EPOCHS: return parse_int(f, v, 0, MAX_EPOCHS, &o->epochs);
  case F_BATCH: return parse_batch(m, f, v, &o->batch);
  case F_ACCUMULATE:
    return parse_int(f, v, 1, MAX_ACCUMULATE, &o->accumulate);
  case F_LR: return parse_positive(f, v, &o->lr);
  case F_SEED: return parse_u64(f, v, &o->seed);
  case F_THREADS: return parse_int(f, v, 0, MAX_THREADS, &o->threads);
  case F_LIMIT: return parse_int(f, v, 1, INT64_MAX, &o->limit);
  case F_VALIDATION: return parse_validation(f, v, o);
  case F_SAVE: return parse_text(f, v, &o->save);
  case F_SAVE_BEST: return parse_text(f, v, &o->save_best);
  case F_LOG: return parse_text(f, v, &o->log);
  case F_CHECKPOINT: return parse_text(f, v, &o->checkpoint);
  case F_CHECKPOINT_EVERY:
    return parse_int(f, v, 1, INT64_MAX, &o->checkpoint_every);
  case F_RESUME: return parse_text(f, v, &o->resume);
  case F_INIT: return parse_text(f, v, &o->init);
  case F_QUIET: return o->quiet = true;
  case F_REPORT: return parse_text(f, v, &o->report);
  case F_PLOT: return parse_text(f, v, &o->plot);
  case F_PREDICT: return true; /* parse_arg takes its files */
  case F_RESIZE: return o->resize = true;
  case F_HELP: return o->help = true;
  }
  return false;
}

/* --- the command line ---------------------------------------------------------- */

static const Flag *find_flag(const char *name, size_t len) {
  for (int i = 0; i < NUM_FLAGS; i++)
    if (strlen(FLAGS[i].name) == len && !strncmp(FLAGS[i].name, name, len))
      return &FLAGS[i];
  return NULL;
}

/* Other tools' spellings, too far from cnnc's for an edit distance. */
static const char *other_tools_name(const char *word) {
  static const char *const names[][2] = {
      {"batch-size", "batch"},   {"batch_size", "batch"},
      {"learning-rate", "lr"},   {"learning_rate", "lr"},
      {"num-epochs", "epochs"},  {"num_epochs", "epochs"},
      {"workers", "threads"},    {"num-threads", "threads"},
      {"output", "save"},        {"checkpoint-path", "checkpoint"},
      {"data-dir", "data"},      {"data_dir", "data"},
      {"val-split", "validation"}, {"validation-split", "validation"},
      {"validation_split", "validation"},
  };
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (strcmp(word, names[i][0]) == 0)
      return names[i][1];
  return NULL;
}

/* "unknown option '--epoch'; did you mean '--epochs'?", as cnnc says it */
static bool unknown_flag(const char *arg, size_t len) {
  const char *names[NUM_FLAGS];
  for (int i = 0; i < NUM_FLAGS; i++)
    names[i] = FLAGS[i].name;
  char word[64];
  snprintf(word, sizeof word, "%.*s", (int)(len < 63 ? len : 63), arg + 2);
  const char *s = other_tools_name(word);
  s = s ? s : suggest(word, names, NUM_FLAGS);
  if (s)
    cnn_error("unknown option '%.*s'; did you mean '--%s'?", (int)len + 2,
              arg, s);
  else
    cnn_error("unknown option '%.*s' (see --help)", (int)len + 2, arg);
  return false;
}

static void set_defaults(const CnnModel *m, CnnOptions *o) {
  *o = (CnnOptions){
    .data = m->data, .epochs = m->epochs, .batch = m->batch,
    .accumulate = 1, .threads = 0,
    .limit = -1, .validation = m->validation,
    .validation_frac = m->validation_frac, .lr = m->lr,
    .seed = (uint64_t)m->seed,
  };
}

/* --predict FILE... or --predict=FILE...: the files are the arguments up to
 * the next that starts with '-' (a file named so can be ./-x.png). They
 * stay in argv, the first moved into argv[*i] when it came after '='. */
static bool predict_files(int argc, char **argv, int *i, const char *eq,
                          CnnOptions *o) {
  if (o->predict) {
    cnn_error("--predict is given twice: list all the files after one "
              "--predict");
    return false;
  }
  if (eq && !eq[1]) {
    cnn_error("--predict: '' is not a path (it is empty)");
    return false;
  }
  if (eq)
    argv[*i] = (char *)eq + 1;
  else
    ++*i;
  int first = *i;
  while (*i + 1 < argc && argv[*i + 1][0] != '-')
    ++*i;
  if (eq || (first < argc && argv[first][0] != '-')) {
    o->predict = argv + first;
    o->npredict = *i - first + 1;
    return true;
  }
  cnn_error("--predict needs at least one image file: --predict FILE...");
  return false;
}

/* argv[*i] is "--name", "--name=value" or "--name value" (which takes the
 * next argument); *i moves past what was used, and the flag's bit is set
 * in *seen. */
static bool parse_arg(const CnnModel *m, int argc, char **argv, int *i,
                      CnnOptions *o, uint32_t *seen) {
  const char *arg = argv[*i];
  if (!strcmp(arg, "-h"))
    arg = "--help";
  if (strncmp(arg, "--", 2) || !arg[2]) {
    cnn_error("unexpected argument '%s' (options start with --; see --help)",
              arg);
    return false;
  }
  const char *eq = strchr(arg + 2, '=');
  size_t len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
  const Flag *f = find_flag(arg + 2, len);
  if (!f)
    return unknown_flag(arg, len);
  if (!f->meta && eq) {
    cnn_error("--%s takes no value", f->name);
    return false;
  }
  if (f->meta && !eq && *i + 1 >= argc) {
    cnn_error("--%s needs a value: --%s %s", f->name, f->name, f->meta);
    return false;
  }
  *seen |= 1u << f->id;
  if (f->id == F_PREDICT)
    return predict_files(argc, argv, i, eq, o);
  const char *value = !f->meta ? "" : eq ? eq + 1 : argv[++*i];
  return apply(m, f, value, o);
}

/* --predict classifies with --init's weights and trains nothing */
static bool predict_combination(const CnnOptions *o, uint32_t seen) {
  if (seen & 1u << F_RESUME) {
    cnn_error("--predict takes its weights from --init FILE, not --resume "
              "(--init reads a checkpoint's weights too)");
    return false;
  }
  for (int i = 0; i < NUM_FLAGS; i++)
    if (seen & TRAINING_FLAGS & 1u << FLAGS[i].id) {
      cnn_error("--predict classifies images and trains nothing: --%s is "
                "for training (drop it)", FLAGS[i].name);
      return false;
    }
  if (!o->init) {
    cnn_error("--predict needs the weights to classify with: add --init FILE "
              "(a --save or --checkpoint file, or a PyTorch state_dict)");
    return false;
  }
  return true;
}

/* flags that only make sense together, or not at all */
static bool combination(const CnnOptions *o, uint32_t seen) {
  if (o->resize && !o->predict) {
    cnn_error("--resize goes with --predict FILE...: it resizes the images "
              "to classify");
    return false;
  }
  if (o->predict)
    return predict_combination(o, seen);
  if (o->checkpoint_every && !o->checkpoint) {
    cnn_error("--checkpoint-every needs --checkpoint FILE: where to write");
    return false;
  }
  if (o->resume && o->init) {
    cnn_error("--resume and --init: a resumed run has its weights already "
              "(--init starts a new run from weights)");
    return false;
  }
  return true;
}

bool cnn_options_parse(const CnnModel *m, int argc, char **argv,
                       CnnOptions *o) {
  set_defaults(m, o);
  uint32_t seen = 0;
  for (int i = 1; i < argc && !o->help; i++)
    if (!parse_arg(m, argc, argv, &i, o, &seen))
      return false;
  if (!o->help && !combination(o, seen))
    return false;
  if (o->help)
    cnn_options_usage(m, argc > 0 ? argv[0] : "train", stdout);
  return true;
}

/* --- --help ------------------------------------------------------------------ */

static void show_default(const CnnModel *m, FlagId id, char *buf, size_t n) {
  switch (id) {
  case F_DATA: snprintf(buf, n, "%s", m->data ? m->data : "none"); break;
  case F_EPOCHS: snprintf(buf, n, "%" PRId64, m->epochs); break;
  case F_ACCUMULATE: snprintf(buf, n, "1"); break;
  case F_BATCH:
    snprintf(buf, n, "%" PRId64 ", also the most it was compiled for", m->batch);
    break;
  case F_LR: snprintf(buf, n, "%g", m->lr); break;
  case F_SEED: snprintf(buf, n, "%" PRIu64, (uint64_t)m->seed); break;
  case F_THREADS: snprintf(buf, n, "0: %d here", cnn_available_cores()); break;
  case F_LIMIT: snprintf(buf, n, "all"); break;
  case F_VALIDATION:
    if (m->validation_frac > 0)
      snprintf(buf, n, "%g", m->validation_frac);
    else
      snprintf(buf, n, "%" PRId64, m->validation);
    break;
  case F_SAVE: case F_SAVE_BEST: case F_LOG: case F_CHECKPOINT:
  case F_RESUME: case F_INIT: case F_REPORT: case F_PLOT:
    snprintf(buf, n, "none");
    break;
  case F_CHECKPOINT_EVERY: snprintf(buf, n, "epochs only"); break;
  case F_QUIET: case F_PREDICT: case F_RESIZE: case F_HELP:
    buf[0] = '\0';
    break;
  }
}

void cnn_options_usage(const CnnModel *m, const char *prog, FILE *out) {
  fprintf(out, "usage: %s [options]\n", prog);
  fprintf(out, "       %s --init WEIGHTS --predict FILE...\n", prog);
  const char *kind = cnn_data_kind_files(m->data_kind);
  fprintf(out, "Trains the model '%s' (%" PRId64 "x%" PRId64 "x%" PRId64
          " images, %" PRId64 " classes) on %s files,\nor classifies image "
          "files with trained weights (--predict).\n\n",
          m->name, m->input_h, m->input_w, m->input_c, m->num_classes, kind);
  for (int i = 0; i < NUM_FLAGS; i++) {
    const Flag *f = &FLAGS[i];
    char left[64], def[256];
    snprintf(left, sizeof left, "--%s%s%s", f->name, f->meta ? " " : "",
             f->meta ? f->meta : "");
    show_default(m, f->id, def, sizeof def);
    fprintf(out, "  %-18s %s%s%s%s\n", left, f->help, def[0] ? " (default: " : "",
            def, def[0] ? ")" : "");
  }
  fprintf(out, "\nEvery option also takes the form --option=value.\n");
}
