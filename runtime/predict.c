/* predict.c - --predict FILE...: the model's top 5 classes for image files.
 *
 *   $ ./train --init digits.safetensors --predict seven.png two.pgm
 *   seven.png: PNG 28x28 grey
 *     0.9731  7  seven
 *     0.0112  2  two
 *     ...
 *
 * One block per file, in the order given, blocks apart by a blank line;
 * class names when the data folder has a names file (cnn_class_names_load),
 * else indices only. Each file is read, classified and printed before the
 * next is read, as `file` and cc go through theirs: a file that cannot be
 * read or does not fit the model gets an error line that names it (on
 * stderr), the others are still classified, and the exit status is 1.
 *
 * The pixels reach the model exactly as the trainer's: the image's bytes
 * go through cnn_gather (byte / 255) and the generated inference, with
 * the weights --init reads through cnn_read_weights. So a file that holds a
 * test image's pixels gets the probabilities the trainer's evaluation
 * computes for it. The model normalises them itself, if it does.
 * image_fit.c converts the channels and, with --resize, the size. */
#include "runtime.h"

#include <inttypes.h>
#include <stdlib.h>

enum { TOP = 5 };

typedef struct Predictor {
  const CnnModel *m;
  const CnnOptions *o;
  CnnClassNames names;
  float *params;
  void *arena;   /* m->infer_arena_bytes */
  float *input;  /* one image as the model reads it */
  float *probs;  /* its num_classes probabilities */
  int64_t shown; /* files printed so far */
} Predictor;

static void predictor_free(Predictor *p) {
  cnn_class_names_free(&p->names);
  free(p->params);
  cnn_arena_free(p->arena);
  free(p->input);
  free(p->probs);
}

static bool predictor_create(const CnnModel *m, const CnnOptions *o,
                             Predictor *p) {
  *p = (Predictor){.m = m, .o = o};
  if (m->input_c != 1 && m->input_c != 3) {
    cnn_error("--predict: the model '%s' reads %" PRId64 " channels; image "
              "files give 1 (grey) or 3 (RGB)", m->name, m->input_c);
    return false;
  }
  if (!cnn_class_names_load(o->data, m, &p->names))
    return false;
  int64_t pixels = m->input_h * m->input_w * m->input_c;
  p->params = calloc((size_t)m->num_params, sizeof *p->params);
  p->input = calloc((size_t)pixels, sizeof *p->input);
  p->probs = calloc((size_t)m->num_classes, sizeof *p->probs);
  if (!p->params || !p->input || !p->probs) {
    cnn_error("out of memory");
    return false;
  }
  return (p->arena = cnn_arena_create(m->infer_arena_bytes)) &&
         cnn_read_weights(m, o->init, p->params);
}

/* The model's size, or --resize; else an error that says both sizes. */
static bool size_fits(const Predictor *p, const char *path,
                      const CnnImage *img) {
  const CnnModel *m = p->m;
  if ((img->h == m->input_h && img->w == m->input_w) || p->o->resize)
    return true;
  cnn_error("%s: the image is %" PRId64 "x%" PRId64 " (width x height); the "
            "model '%s' takes %" PRId64 "x%" PRId64 ": add --resize to "
            "resize it (bilinear), or resize the file", path, img->w, img->h,
            m->name, m->input_w, m->input_h);
  return false;
}

/* img (in the model's channels) into p->input, through cnn_gather as the
 * trainer's images go, then resized when its size is another */
static bool to_input(Predictor *p, const CnnImage *img) {
  const CnnModel *m = p->m;
  int32_t label = 0;
  CnnSet one = {.count = 1, .h = img->h, .w = img->w, .c = img->c,
                .pixels = img->h * img->w * img->c, .type = CNN_PIXELS_U8,
                .images = img->pixels, .labels = &label};
  if (img->h == m->input_h && img->w == m->input_w) {
    cnn_gather(&one, NULL, 0, 1, NULL, p->input, &label);
    return true;
  }
  float *full = malloc((size_t)one.pixels * sizeof *full);
  if (!full) {
    cnn_error("out of memory for an image of %" PRId64 " pixels",
              img->h * img->w);
    return false;
  }
  cnn_gather(&one, NULL, 0, 1, NULL, full, &label);
  cnn_resize_bilinear(full, img->h, img->w, img->c, p->input, m->input_h,
                      m->input_w);
  free(full);
  return true;
}

/* the TOP largest probabilities' classes, largest first, the smaller index
 * first among equals (as argmax) */
static int top_classes(const float *probs, int64_t n, int64_t *top) {
  int count = 0;
  for (; count < TOP && count < n; count++) {
    int64_t best = -1;
    for (int64_t k = 0; k < n; k++) {
      bool taken = false;
      for (int j = 0; j < count; j++)
        taken = taken || top[j] == k;
      if (!taken && (best < 0 || probs[k] > probs[best]))
        best = k;
    }
    top[count] = best;
  }
  return count;
}

static int digits(int64_t v) {
  int d = 1;
  for (; v >= 10; v /= 10)
    d++;
  return d;
}

static const char *kind(int64_t c) { return c == 1 ? "grey" : "RGB"; }

/* "seven.png: PNG 40x30 RGB, resized to 28x28, as grey" and the classes */
static void print_block(Predictor *p, const char *path, const CnnImage *file,
                        int64_t file_c) {
  const CnnModel *m = p->m;
  printf("%s%s: %s %" PRId64 "x%" PRId64 " %s", p->shown++ ? "\n" : "", path,
         file->format, file->w, file->h, kind(file_c));
  if (file->h != m->input_h || file->w != m->input_w)
    printf(", resized to %" PRId64 "x%" PRId64, m->input_w, m->input_h);
  if (file_c != m->input_c)
    printf(", as %s", kind(m->input_c));
  putchar('\n');
  int64_t top[TOP];
  int n = top_classes(p->probs, m->num_classes, top);
  int width = digits(m->num_classes - 1);
  for (int i = 0; i < n; i++) {
    const char *name = top[i] < p->names.count ? p->names.names[top[i]] : NULL;
    printf("  %.4f  %*" PRId64 "%s%s\n", p->probs[top[i]], width, top[i],
           name ? "  " : "", name ? name : "");
  }
}

static bool predict_file(Predictor *p, const char *path) {
  const CnnModel *m = p->m;
  CnnImage img;
  if (!cnn_image_read(path, &img))
    return false;
  int64_t file_c = img.c;
  bool ok = size_fits(p, path, &img) && cnn_image_channels(&img, m->input_c) &&
            to_input(p, &img);
  if (ok) {
    m->infer(p->params, p->input, p->probs, 1, p->arena);
    print_block(p, path, &img, file_c);
  }
  cnn_image_free(&img);
  return ok;
}

int cnn_predict(const CnnModel *m, const CnnOptions *o) {
  Predictor p;
  bool ready = predictor_create(m, o, &p);
  int64_t failed = 0;
  for (int64_t i = 0; ready && i < o->npredict; i++)
    failed += !predict_file(&p, o->predict[i]);
  predictor_free(&p);
  return ready && failed == 0 ? 0 : 1;
}
