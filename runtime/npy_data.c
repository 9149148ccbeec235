/* npy_data.c - a folder of .npy files as the training and test sets.
 *
 * npy.c reads any array; here the four files must be what a trainer can
 * use: images of the model's input size (N x H x W x C, or N x H x W for
 * one channel), uint8 (kept as bytes, read as byte / 255) or float32 (kept
 * and read as they are, so they must be finite), and as many integer
 * labels, of shape (N,), each a class of the model. The checks name the
 * file and both shapes or the image, as the IDX checks do. */
#include "runtime.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *const cnn_npy_files[4] = {"train_images.npy", "train_labels.npy",
                                      "test_images.npy", "test_labels.npy"};

typedef struct Named {
  char *path;
  CnnNpy a;
} Named;

/* A missing file is named with what the folder should hold. */
static bool present(const char *dir, const char *name, const char *path) {
  struct stat st;
  if (stat(path, &st) == 0 || errno != ENOENT)
    return true; /* cnn_npy_read says what else is wrong */
  cnn_error("cannot find %s in '%s': an npy folder holds %s, %s, %s and %s",
            name, dir, cnn_npy_files[0], cnn_npy_files[1], cnn_npy_files[2],
            cnn_npy_files[3]);
  return false;
}

static bool read_named(const char *dir, const char *name, Named *out) {
  *out = (Named){0};
  out->path = cnn_format("%s/%s", dir, name);
  return out->path && present(dir, name, out->path) &&
         cnn_npy_read(out->path, &out->a);
}

static void free_named(Named *n) {
  cnn_npy_free(&n->a);
  free(n->path);
  *n = (Named){0};
}

/* --- images ------------------------------------------------------------------- */

static bool check_image_type(const Named *img) {
  if (img->a.type == CNN_NPY_U8 || img->a.type == CNN_NPY_F32)
    return true;
  cnn_error("%s: images are %s ('%s'); they must be uint8 ('|u1', read as "
            "byte / 255) or float32 ('<f4', read as they are)", img->path,
            cnn_npy_type_name(img->a.type), img->a.descr);
  return false;
}

static bool check_image_shape(const CnnModel *m, const Named *img) {
  const CnnNpy *a = &img->a;
  char shape[160];
  cnn_npy_shape_text(a, shape, sizeof shape);
  if (a->rank != 3 && a->rank != 4) {
    cnn_error("%s: images of shape %s; they must be N x H x W x C, or "
              "N x H x W for one channel", img->path, shape);
    return false;
  }
  int64_t c = a->rank == 4 ? a->shape[3] : 1;
  if (a->shape[1] == m->input_h && a->shape[2] == m->input_w &&
      c == m->input_c) {
    if (a->shape[0] > 0)
      return true;
    cnn_error("%s: holds no images (shape %s)", img->path, shape);
    return false;
  }
  cnn_error("%s: images are %" PRId64 "x%" PRId64 "x%" PRId64 " (shape %s), "
            "but the model '%s' takes %" PRId64 "x%" PRId64 "x%" PRId64
            " images", img->path, a->shape[1], a->shape[2], c, shape, m->name,
            m->input_h, m->input_w, m->input_c);
  return false;
}

/* A NaN or an infinity would train to NaN weights several epochs later;
 * the file is what to fix, so the image is named now. */
static bool check_finite(const Named *img, int64_t pixels) {
  if (img->a.type != CNN_NPY_F32)
    return true;
  const float *v = img->a.data;
  int64_t n = img->a.shape[0] * pixels;
  for (int64_t i = 0; i < n; i++) {
    if (isfinite(v[i]))
      continue;
    cnn_error("%s: image %" PRId64 " holds %g at value %" PRId64 " of its %"
              PRId64 "; float32 pixels must be finite", img->path,
              i / pixels, (double)v[i], i % pixels, pixels);
    return false;
  }
  return true;
}

/* --- labels ------------------------------------------------------------------ */

static bool check_label_shape(const Named *lab, const Named *img) {
  char shape[160];
  cnn_npy_shape_text(&lab->a, shape, sizeof shape);
  if (!cnn_npy_is_integer(lab->a.type)) {
    cnn_error("%s: labels are %s ('%s'); they must be integers", lab->path,
              cnn_npy_type_name(lab->a.type), lab->a.descr);
    return false;
  }
  if (lab->a.rank != 1) {
    cnn_error("%s: labels of shape %s; they must be of shape (N,) "
              "(y.reshape(-1) makes them so)", lab->path, shape);
    return false;
  }
  if (lab->a.shape[0] == img->a.shape[0])
    return true;
  cnn_error("%s has %" PRId64 " labels, but %s has %" PRId64 " images",
            lab->path, lab->a.shape[0], img->path, img->a.shape[0]);
  return false;
}

/* Label i as a signed value, or (for a uint64 above INT64_MAX) flagged. */
static int64_t label_at(const CnnNpy *a, int64_t i, bool *huge) {
  const void *d = a->data;
  *huge = false;
  switch (a->type) {
  case CNN_NPY_U8: return ((const uint8_t *)d)[i];
  case CNN_NPY_I8: return ((const int8_t *)d)[i];
  case CNN_NPY_U16: return ((const uint16_t *)d)[i];
  case CNN_NPY_I16: return ((const int16_t *)d)[i];
  case CNN_NPY_U32: return ((const uint32_t *)d)[i];
  case CNN_NPY_I32: return ((const int32_t *)d)[i];
  case CNN_NPY_U64:
    *huge = ((const uint64_t *)d)[i] > INT64_MAX;
    return (int64_t)(((const uint64_t *)d)[i] & INT64_MAX);
  case CNN_NPY_I64: return ((const int64_t *)d)[i];
  case CNN_NPY_F32:
  case CNN_NPY_F64: break; /* refused by check_label_shape */
  }
  return -1;
}

static bool convert_labels(const CnnModel *m, const Named *lab,
                           int32_t *labels) {
  for (int64_t i = 0; i < lab->a.shape[0]; i++) {
    bool huge;
    int64_t v = label_at(&lab->a, i, &huge);
    if (!huge && v >= 0 && v < m->num_classes) {
      labels[i] = (int32_t)v;
      continue;
    }
    if (huge)
      cnn_error("%s: label %" PRIu64 " of image %" PRId64 " is not below the "
                "model's %" PRId64 " classes", lab->path,
                ((const uint64_t *)lab->a.data)[i], i, m->num_classes);
    else
      cnn_error("%s: label %" PRId64 " of image %" PRId64 " is not %s the "
                "model's %" PRId64 " classes", lab->path, v, i,
                v < 0 ? "one of" : "below", m->num_classes);
    return false;
  }
  return true;
}

/* --- a pair --------------------------------------------------------------------- */

static bool to_set(const CnnModel *m, Named *img, const Named *lab,
                   CnnSet *out) {
  int64_t n = img->a.shape[0];
  int32_t *labels = malloc((size_t)n * sizeof *labels);
  if (!labels) {
    cnn_error("out of memory for %" PRId64 " labels", n);
    return false;
  }
  if (!convert_labels(m, lab, labels)) {
    free(labels);
    return false;
  }
  *out = (CnnSet){.count = n, .h = m->input_h, .w = m->input_w,
                  .c = m->input_c,
                  .pixels = m->input_h * m->input_w * m->input_c,
                  .type = img->a.type == CNN_NPY_U8 ? CNN_PIXELS_U8
                                                    : CNN_PIXELS_F32,
                  .images = img->a.data, .labels = labels};
  img->a.data = NULL; /* the set owns the pixels now */
  return true;
}

static bool load_pair(const char *dir, const CnnModel *m,
                      const char *const names[2], CnnSet *out) {
  Named img, lab = {0};
  bool ok = read_named(dir, names[0], &img) && check_image_type(&img) &&
            check_image_shape(m, &img) &&
            check_finite(&img, m->input_h * m->input_w * m->input_c) &&
            read_named(dir, names[1], &lab) && check_label_shape(&lab, &img) &&
            to_set(m, &img, &lab, out);
  free_named(&img);
  free_named(&lab);
  return ok;
}

bool cnn_npy_load(const char *dir, const CnnModel *m, CnnSet *train,
                  CnnSet *test) {
  if (!load_pair(dir, m, cnn_npy_files, train))
    return false;
  if (load_pair(dir, m, cnn_npy_files + 2, test))
    return true;
  cnn_set_free(train);
  return false;
}
