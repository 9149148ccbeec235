/* cifar.c - CIFAR-10/100's binary version: its files, and its folders.
 *
 * A file is a sequence of records: the label byte(s) (CIFAR-10: the class;
 * CIFAR-100: coarse, then fine), then 3072 pixel bytes, planar: 1024 red,
 * 1024 green, 1024 blue, each 32 rows of 32. The model reads HWC, so each
 * record is interleaved once, as it is read, rather than on every batch.
 *
 * Files are read with fread in blocks of whole records (about 1.5 MB) into
 * a set that grows by what the file's size says (when it has one) or by
 * doubling (a pipe), so that 50,000 records take one pass over the bytes.
 * Nothing in a file says how many records it holds: any whole number is
 * accepted, and each complaint names the file and the byte. */
#include "runtime.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The fuzz target sets a small block, for inputs of a few KB to cross it. */
#ifndef CIFAR_BLOCK_RECORDS
#define CIFAR_BLOCK_RECORDS 512
#endif

enum {
  CIFAR_SIDE = 32, CIFAR_PLANE = CIFAR_SIDE * CIFAR_SIDE,
  CIFAR_PIXELS = 3 * CIFAR_PLANE, BLOCK_RECORDS = CIFAR_BLOCK_RECORDS,
  FIRST_ROOM = 256,
};

/* the limit of each label byte: CIFAR-10's class; CIFAR-100's coarse and
 * fine labels */
static const int64_t CIFAR10_LIMIT[1] = {10};
static const int64_t CIFAR100_LIMIT[2] = {20, 100};
static const char *const CIFAR100_LABEL[2] = {"coarse", "fine"};

typedef struct Format {
  const char *name;       /* "CIFAR-10", for messages */
  int label_bytes;
  const int64_t *limits;  /* [label_bytes] */
  int label;              /* the byte that is the class */
  int64_t record;         /* bytes */
} Format;

static bool format_of(int label_bytes, int label, int64_t classes,
                      Format *f) {
  if (label_bytes == 1)
    *f = (Format){"CIFAR-10", 1, CIFAR10_LIMIT, 0, 1 + CIFAR_PIXELS};
  else
    *f = (Format){"CIFAR-100", 2, CIFAR100_LIMIT, label, 2 + CIFAR_PIXELS};
  if ((label_bytes == 1 || label_bytes == 2) && label >= 0 &&
      label < label_bytes && f->limits[label] == classes)
    return true;
  cnn_error("internal error: no CIFAR format with %d label bytes, label %d "
            "and %" PRId64 " classes", label_bytes, label, classes);
  return false;
}

/* "coarse " before "label" and "classes", or "" */
static const char *label_kind(const Format *f, int byte) {
  return f->label_bytes == 2 ? CIFAR100_LABEL[byte] : "";
}

/* --- the set, growing ------------------------------------------------------ */

static bool reserve(CnnSet *set, int64_t *room, int64_t want,
                    const char *path) {
  if (want <= *room)
    return true;
  if (want > (int64_t)(PTRDIFF_MAX / CIFAR_PIXELS) - 1) {
    cnn_error("%s: too many records for memory", path);
    return false;
  }
  uint8_t *images = realloc(set->images, (size_t)want * CIFAR_PIXELS);
  if (images)
    set->images = images;
  int32_t *labels = images ? realloc(set->labels, (size_t)want * sizeof *labels)
                           : NULL;
  if (!labels) {
    cnn_error("%s: out of memory for %" PRId64 " images", path, want);
    return false;
  }
  set->labels = labels;
  *room = want;
  return true;
}

/* Room for `more` records; a file's size, when it has one, says how many
 * it will bring, so the set is allocated once per file. */
static bool room_for(CnnSet *set, int64_t *room, int64_t more,
                     const char *path) {
  int64_t want = set->count + more;
  if (want <= *room)
    return true;
  int64_t doubled = *room < FIRST_ROOM ? FIRST_ROOM : *room * 2;
  return reserve(set, room, want > doubled ? want : doubled, path);
}

static int64_t records_in_size(FILE *f, const Format *fmt) {
  struct stat st;
  int fd = fileno(f);
  if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
    return 0;
  return (int64_t)st.st_size / fmt->record;
}

/* --- records ---------------------------------------------------------------- */

/* planar R, G, B -> interleaved RGB */
static void interleave(const uint8_t *planes, uint8_t *hwc) {
  const uint8_t *r = planes, *g = planes + CIFAR_PLANE,
                *b = planes + 2 * CIFAR_PLANE;
  for (int p = 0; p < CIFAR_PLANE; p++) {
    hwc[3 * p] = r[p];
    hwc[3 * p + 1] = g[p];
    hwc[3 * p + 2] = b[p];
  }
}

/* Record `index` of the file (from byte index * record) onto the set. */
static bool take_record(const Format *fmt, const uint8_t *rec, int64_t index,
                        const char *path, CnnSet *set) {
  for (int k = 0; k < fmt->label_bytes; k++) {
    if (rec[k] < fmt->limits[k])
      continue;
    const char *kind = label_kind(fmt, k), *space = *kind ? " " : "";
    cnn_error("%s: byte %" PRId64 ": %s%slabel %d of record %" PRId64 " is "
              "not one of %s's %" PRId64 " %s%sclasses", path,
              index * fmt->record + k, kind, space, rec[k], index, fmt->name,
              fmt->limits[k], kind, space);
    return false;
  }
  set->labels[set->count] = rec[fmt->label];
  interleave(rec + fmt->label_bytes,
             (uint8_t *)set->images + set->count * CIFAR_PIXELS);
  set->count++;
  return true;
}

static bool check_end(const Format *fmt, int64_t bytes, int64_t records,
                      const char *path) {
  if (bytes == 0) {
    cnn_error("%s: empty file: %s files hold records of %" PRId64 " bytes "
              "(%d label byte%s, then 3072 pixels)", path, fmt->name,
              fmt->record, fmt->label_bytes, fmt->label_bytes > 1 ? "s" : "");
    return false;
  }
  int64_t partial = bytes - records * fmt->record;
  if (partial == 0)
    return true;
  cnn_error("%s: %" PRId64 " bytes are not a whole number of %" PRId64
            "-byte %s records: %" PRId64 " records, then a partial one of %"
            PRId64 " bytes from byte %" PRId64, path, bytes, fmt->record,
            fmt->name, records, partial, records * fmt->record);
  return false;
}

/* Reads blocks of records until the end of f: the bytes of a partial record
 * are carried to the next block. */
static bool read_records(FILE *f, const char *path, const Format *fmt,
                         uint8_t *block, CnnSet *set, int64_t *room) {
  size_t cap = (size_t)(BLOCK_RECORDS * fmt->record), have = 0;
  int64_t bytes = 0, records = 0;
  for (;;) {
    errno = 0;
    size_t k = fread(block + have, 1, cap - have, f);
    if (ferror(f)) {
      cnn_error("%s: cannot read after byte %" PRId64 ": %s", path, bytes,
                errno ? strerror(errno) : "read error");
      return false;
    }
    bytes += (int64_t)k;
    have += k;
    int64_t whole = (int64_t)have / fmt->record;
    if (whole > 0 && !room_for(set, room, whole, path))
      return false;
    for (int64_t i = 0; i < whole; i++, records++)
      if (!take_record(fmt, block + i * fmt->record, records, path, set))
        return false;
    size_t used = (size_t)(whole * fmt->record);
    memmove(block, block + used, have - used);
    have -= used;
    if (k == 0)
      return check_end(fmt, bytes, records, path);
  }
}

bool cnn_cifar_append(FILE *f, const char *path, int label_bytes, int label,
                      int64_t classes, CnnSet *set, int64_t *room) {
  Format fmt;
  if (!format_of(label_bytes, label, classes, &fmt))
    return false;
  *set = (CnnSet){.count = set->count, .h = CIFAR_SIDE, .w = CIFAR_SIDE,
                  .c = 3, .pixels = CIFAR_PIXELS, .type = CNN_PIXELS_U8,
                  .images = set->images, .labels = set->labels};
  int64_t expected = records_in_size(f, &fmt);
  if (expected > 0 && !reserve(set, room, set->count + expected, path))
    return false;
  uint8_t *block = malloc((size_t)(BLOCK_RECORDS * fmt.record));
  if (!block) {
    cnn_error("%s: out of memory", path);
    return false;
  }
  bool ok = read_records(f, path, &fmt, block, set, room);
  free(block);
  return ok;
}

static bool append_file(const char *path, const Format *fmt, CnnSet *set,
                        int64_t *room) {
  FILE *f = cnn_open_read(path);
  if (!f)
    return false;
  bool ok = cnn_cifar_append(f, path, fmt->label_bytes, fmt->label,
                             fmt->limits[fmt->label], set, room);
  fclose(f);
  return ok;
}

bool cnn_cifar_read(const char *path, int label_bytes, int label,
                    int64_t classes, CnnSet *out) {
  Format fmt;
  int64_t room = 0;
  *out = (CnnSet){0};
  bool ok = format_of(label_bytes, label, classes, &fmt) &&
            append_file(path, &fmt, out, &room);
  if (!ok)
    cnn_set_free(out);
  return ok;
}

/* --- the folders ------------------------------------------------------------- */

static const char *const CIFAR10_TRAIN[] = {
    "data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
    "data_batch_4.bin", "data_batch_5.bin", NULL};
static const char *const CIFAR10_TEST[] = {"test_batch.bin", NULL};
static const char *const CIFAR100_TRAIN[] = {"train.bin", NULL};
static const char *const CIFAR100_TEST[] = {"test.bin", NULL};

const char *cnn_cifar_files(int64_t kind) {
  return kind == CNN_DATA_CIFAR10
             ? "data_batch_1.bin ... data_batch_5.bin and test_batch.bin "
               "(cifar-10-batches-bin)"
             : "train.bin and test.bin (cifar-100-binary)";
}

/* A missing file is named with what the folder should hold: the likeliest
 * mistake is a folder one level too high, or another dataset's. */
static bool present(const char *path, const char *dir, const char *name,
                    const Format *fmt) {
  struct stat st;
  if (stat(path, &st) == 0 || errno != ENOENT)
    return true; /* fopen says what else is wrong */
  cnn_error("cannot find %s in '%s': a %s folder holds %s", name, dir,
            fmt->name,
            cnn_cifar_files(fmt->label_bytes == 1 ? CNN_DATA_CIFAR10
                                                  : CNN_DATA_CIFAR100));
  return false;
}

/* the files, in order, as one set */
static bool load_files(const char *dir, const char *const *names,
                       const Format *fmt, CnnSet *set) {
  int64_t room = 0;
  *set = (CnnSet){0};
  for (; *names; names++) {
    char *path = cnn_format("%s/%s", dir, *names);
    bool ok = path && present(path, dir, *names, fmt) &&
              append_file(path, fmt, set, &room);
    free(path);
    if (!ok) {
      cnn_set_free(set);
      return false;
    }
  }
  return true;
}

static bool check_model(const CnnModel *m, const Format *fmt) {
  if (m->input_h == CIFAR_SIDE && m->input_w == CIFAR_SIDE &&
      m->input_c == 3 && m->num_classes == fmt->limits[fmt->label])
    return true;
  cnn_error("the model '%s' takes %" PRId64 "x%" PRId64 "x%" PRId64 " images "
            "of %" PRId64 " classes, but %s holds 32x32x3 images of %" PRId64
            " classes", m->name, m->input_h, m->input_w, m->input_c,
            m->num_classes, fmt->name, fmt->limits[fmt->label]);
  return false;
}

bool cnn_cifar_load(const char *dir, const CnnModel *m, CnnSet *train,
                    CnnSet *test) {
  bool ten = m->data_kind == CNN_DATA_CIFAR10;
  int label = m->data_label == CNN_LABEL_COARSE ? 0 : 1;
  Format fmt;
  if (!format_of(ten ? 1 : 2, ten ? 0 : label, ten ? 10 : label ? 100 : 20,
                 &fmt) ||
      !check_model(m, &fmt) ||
      !load_files(dir, ten ? CIFAR10_TRAIN : CIFAR100_TRAIN, &fmt, train))
    return false;
  if (load_files(dir, ten ? CIFAR10_TEST : CIFAR100_TEST, &fmt, test))
    return true;
  cnn_set_free(train);
  return false;
}
