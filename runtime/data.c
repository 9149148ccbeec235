/* data.c - the training and test sets of a data folder, by the model's kind.
 *
 * cifar.c and npy_data.c read their kinds' folders; the four MNIST-style
 * files of an idx folder are read here, checked together. Each may be
 * plain or gzip (FILE or FILE.gz; plain wins when both are there). Beyond
 * what idx.c checks in one file, the pairs must agree: as many labels as
 * images, images of the model's input size, labels below its class count.
 * The pixels stay bytes (a quarter of the memory of floats); cnn_gather
 * converts a batch at a time. The names of the classes come from names.c. */
#include "runtime.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct Pair {
  const char *images, *labels; /* file names */
  const char *what;            /* for messages */
} Pair;

static const Pair TRAIN = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                           "training"};
static const Pair TEST = {"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
                          "test"};

static bool exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

/* What a folder of each kind holds, and where to get one. */
typedef struct KindFolder {
  const char *holds, *fetch;
} KindFolder;

static KindFolder kind_folder(int64_t kind) {
  switch ((CnnDataKind)kind) {
  case CNN_DATA_IDX: break;
  case CNN_DATA_CIFAR10:
    return (KindFolder){cnn_cifar_files(kind),
                        ", or download CIFAR-10 with scripts/fetch-cifar10.sh"};
  case CNN_DATA_CIFAR100: return (KindFolder){cnn_cifar_files(kind), ""};
  case CNN_DATA_NPY:
    return (KindFolder){"train_images.npy, train_labels.npy, test_images.npy "
                        "and test_labels.npy", ""};
  }
  return (KindFolder){"train-images-idx3-ubyte, train-labels-idx1-ubyte, "
                      "t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (or "
                      "the same with .gz)",
                      ", or download MNIST with scripts/fetch-mnist.sh"};
}

static bool check_folder(const CnnModel *m, const char *dir) {
  struct stat st;
  if (!dir) {
    cnn_error("no data folder: the model '%s' names none; give one with "
              "--data DIR", m->name);
    return false;
  }
  int failed = stat(dir, &st);
  if (!failed && S_ISDIR(st.st_mode))
    return true;
  KindFolder k = kind_folder(m->data_kind);
  cnn_error("data folder '%s': %s; it should hold %s; give another with "
            "--data DIR%s", dir, failed ? strerror(errno) : "not a folder",
            k.holds, k.fetch);
  return false;
}

/* DIR/NAME, else DIR/NAME.gz; NULL after naming both paths tried */
static char *find(const char *dir, const char *name, const char *what) {
  char *plain = cnn_format("%s/%s", dir, name);
  char *gz = cnn_format("%s/%s.gz", dir, name);
  char *found = NULL;
  if (plain && gz) {
    found = exists(plain) ? plain : exists(gz) ? gz : NULL;
    if (!found)
      cnn_error("cannot find the %s in '%s': tried %s and %s", what, dir,
                plain, gz);
  }
  if (found != plain)
    free(plain);
  if (found != gz)
    free(gz);
  return found;
}

static bool read_named(const char *dir, const char *name, CnnIdxKind kind,
                       const char *what, CnnIdx *out, char **path) {
  *path = find(dir, name, what);
  return *path && cnn_idx_read(*path, kind, out);
}

static bool check_images(const CnnModel *m, const CnnIdx *img,
                         const char *path) {
  if (img->count == 0) {
    cnn_error("%s: holds no images", path);
    return false;
  }
  if (img->rows == m->input_h && img->cols == m->input_w)
    return true;
  cnn_error("%s: images are %" PRId64 "x%" PRId64 ", but the model '%s' takes "
            "%" PRId64 "x%" PRId64 "x%" PRId64 " images", path, img->rows,
            img->cols, m->name, m->input_h, m->input_w, m->input_c);
  return false;
}

static bool check_labels(const CnnModel *m, const CnnIdx *lab,
                         const char *path) {
  for (int64_t i = 0; i < lab->count; i++) {
    if (lab->data[i] < m->num_classes)
      continue;
    cnn_error("%s: label %d of image %" PRId64 " is not below the model's %"
              PRId64 " classes", path, lab->data[i], i, m->num_classes);
    return false;
  }
  return true;
}

static bool check_pair(const CnnModel *m, const CnnIdx *img, const CnnIdx *lab,
                       char *const paths[2]) {
  if (!check_images(m, img, paths[0]))
    return false;
  if (img->count != lab->count) {
    cnn_error("%s has %" PRId64 " labels, but %s has %" PRId64 " images",
              paths[1], lab->count, paths[0], img->count);
    return false;
  }
  return check_labels(m, lab, paths[1]);
}

/* The bytes stay; the labels become int32_t, as every kind's are. */
static bool to_set(const CnnModel *m, CnnIdx *img, const CnnIdx *lab,
                   CnnSet *out) {
  int32_t *labels = malloc((size_t)lab->count * sizeof *labels + 1);
  if (!labels) {
    cnn_error("out of memory for %" PRId64 " labels", lab->count);
    return false;
  }
  for (int64_t i = 0; i < lab->count; i++)
    labels[i] = lab->data[i];
  *out = (CnnSet){.count = img->count, .h = m->input_h, .w = m->input_w,
                  .c = 1, .pixels = img->rows * img->cols,
                  .type = CNN_PIXELS_U8, .images = img->data, .labels = labels};
  img->data = NULL; /* the set owns the pixels now */
  return true;
}

static bool load_pair(const CnnModel *m, const char *dir, const Pair *p,
                      CnnSet *out) {
  CnnIdx img = {0}, lab = {0};
  char *paths[2] = {NULL, NULL};
  char what[64];
  snprintf(what, sizeof what, "%s images", p->what);
  bool ok = read_named(dir, p->images, CNN_IDX_IMAGES, what, &img, &paths[0]);
  snprintf(what, sizeof what, "%s labels", p->what);
  ok = ok && read_named(dir, p->labels, CNN_IDX_LABELS, what, &lab, &paths[1]);
  ok = ok && check_pair(m, &img, &lab, paths);
  if (ok)
    ok = to_set(m, &img, &lab, out);
  cnn_idx_free(&img);
  cnn_idx_free(&lab);
  free(paths[0]);
  free(paths[1]);
  return ok;
}

static bool load_idx(const char *dir, const CnnModel *m, CnnSet *train,
                     CnnSet *test) {
  if (m->input_c != 1) {
    cnn_error("the model '%s' takes %" PRId64 "x%" PRId64 "x%" PRId64 " images,"
              " but IDX files hold one channel", m->name, m->input_h,
              m->input_w, m->input_c);
    return false;
  }
  if (!check_folder(m, dir) || !load_pair(m, dir, &TRAIN, train))
    return false;
  if (load_pair(m, dir, &TEST, test))
    return true;
  cnn_set_free(train);
  return false;
}

static bool load_sets(const char *dir, const CnnModel *m, CnnData *out) {
  switch ((CnnDataKind)m->data_kind) {
  case CNN_DATA_IDX: return load_idx(dir, m, &out->train, &out->test);
  case CNN_DATA_CIFAR10:
  case CNN_DATA_CIFAR100:
    return check_folder(m, dir) &&
           cnn_cifar_load(dir, m, &out->train, &out->test);
  case CNN_DATA_NPY:
    return check_folder(m, dir) && cnn_npy_load(dir, m, &out->train, &out->test);
  }
  cnn_error("the model '%s' names an unknown kind of data (%" PRId64 ")",
            m->name, m->data_kind);
  return false;
}

bool cnn_data_load(const char *dir, const CnnModel *m, CnnData *out) {
  *out = (CnnData){0};
  if (load_sets(dir, m, out) && cnn_class_names_load(dir, m, &out->names))
    return true;
  cnn_data_free(out);
  return false;
}

static const char *const KIND_NAMES[][2] = {
#define DATA_KIND(e, spelling, files) {spelling, files},
#include "data_kinds.def"
#undef DATA_KIND
};
enum { NKINDS = sizeof KIND_NAMES / sizeof KIND_NAMES[0] };

const char *cnn_data_kind_name(int64_t kind) {
  return kind >= 0 && kind < NKINDS ? KIND_NAMES[kind][0] : "unknown";
}

const char *cnn_data_kind_files(int64_t kind) {
  return kind >= 0 && kind < NKINDS ? KIND_NAMES[kind][1] : "its data";
}

void cnn_set_free(CnnSet *s) {
  free(s->images);
  free(s->labels);
  *s = (CnnSet){0};
}

void cnn_data_free(CnnData *d) {
  cnn_set_free(&d->train);
  cnn_set_free(&d->test);
  cnn_class_names_free(&d->names);
}
