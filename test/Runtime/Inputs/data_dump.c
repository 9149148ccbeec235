/* data_dump.c - loads a data folder with libcnnrt's cnn_data_load, as a
 * trainer would, and prints what the sets hold, in the format of
 * test/Inputs/synth_data.py's dump:
 *
 *   data_dump KIND DIR [--label fine|coarse] [--input H W C] [--classes K]
 *             [--show SET:INDEX]... [--pixel SET:INDEX:Y:X]... [--time]
 *
 * prints "train N test M names K", the names, then per --show the label
 * and every value of the image, HWC (bytes as integers, floats %.9g),
 * and per --pixel "SET[INDEX] (Y, X) = " and the pixel's channels.
 * --time prints the load's wall time on stderr. Exit status 1 after the
 * loader's error. */
#include "runtime.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static int64_t kind_of(const char *s) {
  for (int64_t k = 0; k < 4; k++)
    if (!strcmp(s, cnn_data_kind_name(k)))
      return k;
  fprintf(stderr, "data_dump: unknown kind '%s'\n", s);
  exit(2);
}

/* "train:7" (or "train:7:Y:X" with yx) -> the set and the index */
static const CnnSet *pick(const CnnData *d, const char *what, int64_t *i,
                          int64_t *yx) {
  char which[8];
  int want = yx ? 4 : 2;
  if (sscanf(what, "%5[a-z]:%" SCNd64 ":%" SCNd64 ":%" SCNd64, which, i,
             yx ? &yx[0] : i, yx ? &yx[1] : i) < want ||
      (strcmp(which, "train") && strcmp(which, "test"))) {
    fprintf(stderr, "data_dump: bad SET:INDEX '%s'\n", what);
    exit(2);
  }
  const CnnSet *s = strcmp(which, "train") ? &d->test : &d->train;
  if (*i < 0 || *i >= s->count ||
      (yx && (yx[0] < 0 || yx[0] >= s->h || yx[1] < 0 || yx[1] >= s->w))) {
    fprintf(stderr, "data_dump: '%s' is not in the %s set\n", what, which);
    exit(2);
  }
  printf("%s[%" PRId64 "]", which, *i);
  return s;
}

static void print_values(const CnnSet *s, int64_t at, int64_t n) {
  for (int64_t v = 0; v < n; v++)
    if (s->type == CNN_PIXELS_F32)
      printf("%s%.9g", v ? " " : "", (double)((const float *)s->images)[at + v]);
    else
      printf("%s%d", v ? " " : "", ((const uint8_t *)s->images)[at + v]);
  printf("\n");
}

static void show(const CnnData *d, const char *what) {
  int64_t i;
  const CnnSet *s = pick(d, what, &i, NULL);
  printf(" label %" PRId32 "\n", s->labels[i]);
  print_values(s, i * s->pixels, s->pixels);
}

static void pixel(const CnnData *d, const char *what) {
  int64_t i, yx[2];
  const CnnSet *s = pick(d, what, &i, yx);
  printf(" (%" PRId64 ", %" PRId64 ") = ", yx[0], yx[1]);
  print_values(s, i * s->pixels + (yx[0] * s->w + yx[1]) * s->c, s->c);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: data_dump KIND DIR [options]\n");
    return 2;
  }
  CnnModel m = {.abi_version = CNN_ABI_VERSION, .name = "dump",
                .input_h = 32, .input_w = 32, .input_c = 3,
                .num_classes = 10, .data_kind = kind_of(argv[1])};
  if (m.data_kind == CNN_DATA_CIFAR100)
    m.num_classes = 100;
  bool timed = false;
  int first_show = argc;
  for (int a = 3; a < argc; a++) {
    if (!strcmp(argv[a], "--label") && a + 1 < argc) {
      m.data_label = strcmp(argv[++a], "coarse") ? CNN_LABEL_FINE
                                                 : CNN_LABEL_COARSE;
      m.num_classes = m.data_label == CNN_LABEL_COARSE ? 20 : 100;
    } else if (!strcmp(argv[a], "--input") && a + 3 < argc) {
      m.input_h = atoll(argv[++a]);
      m.input_w = atoll(argv[++a]);
      m.input_c = atoll(argv[++a]);
    } else if (!strcmp(argv[a], "--classes") && a + 1 < argc) {
      m.num_classes = atoll(argv[++a]);
    } else if (!strcmp(argv[a], "--time")) {
      timed = true;
    } else if ((!strcmp(argv[a], "--show") || !strcmp(argv[a], "--pixel")) &&
               a + 1 < argc) {
      first_show = first_show < a ? first_show : a;
      a++;
    } else {
      fprintf(stderr, "data_dump: unknown argument '%s'\n", argv[a]);
      return 2;
    }
  }
  CnnData d;
  double start = cnn_seconds();
  if (!cnn_data_load(argv[2], &m, &d))
    return 1;
  if (timed)
    fprintf(stderr, "loaded in %.3f s\n", cnn_seconds() - start);
  printf("train %" PRId64 " test %" PRId64 " names %" PRId64 "\n",
         d.train.count, d.test.count, d.names.count);
  for (int64_t k = 0; k < d.names.count; k++)
    printf("name %" PRId64 " %s\n", k, d.names.names[k]);
  for (int a = first_show; a + 1 < argc; a++)
    if (!strcmp(argv[a], "--show"))
      show(&d, argv[++a]);
    else if (!strcmp(argv[a], "--pixel"))
      pixel(&d, argv[++a]);
  cnn_data_free(&d);
  return 0;
}
