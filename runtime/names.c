/* names.c - a dataset's class names, from its names file.
 *
 * CIFAR-10 names its classes in batches.meta.txt, CIFAR-100 in
 * fine_label_names.txt and coarse_label_names.txt: one name a line, in
 * class order, and (in the archives as distributed) blank lines at the
 * end. The names only label what --predict prints, so a folder without
 * the file has no names (classes are shown by index); but a file that is
 * there must name every class, one a line, or it would label them wrong. */
#include "runtime.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_NAMES_FILE = 1 << 20 };

/* the names file of the model's data kind, or NULL when it has none */
static const char *names_file(const CnnModel *m) {
  switch ((CnnDataKind)m->data_kind) {
  case CNN_DATA_CIFAR10: return "batches.meta.txt";
  case CNN_DATA_CIFAR100:
    return m->data_label == CNN_LABEL_COARSE ? "coarse_label_names.txt"
                                             : "fine_label_names.txt";
  case CNN_DATA_IDX:
  case CNN_DATA_NPY: break;
  }
  return NULL;
}

/* The whole file, NUL-terminated; *absent when there is none. */
static char *slurp(const char *path, size_t *len, bool *absent) {
  FILE *f = cnn_open_optional(path, absent);
  if (!f)
    return NULL;
  char *text = malloc(MAX_NAMES_FILE + 1);
  errno = 0;
  *len = text ? fread(text, 1, MAX_NAMES_FILE + 1, f) : 0;
  bool failed = ferror(f);
  const char *why = errno ? strerror(errno) : "read error";
  fclose(f);
  if (!text || failed || *len > MAX_NAMES_FILE) {
    cnn_error("%s: %s%s", path, !text ? "out of memory"
                                : failed ? "cannot read: "
                                         : "more than 1 MiB: not a names file",
              failed ? why : "");
    free(text);
    return NULL;
  }
  text[*len] = '\0';
  return text;
}

/* the line [start, end) without the spaces around it (and a '\r') */
static void trim(const char *text, size_t *start, size_t *end) {
  while (*start < *end && strchr(" \t\r", text[*start]))
    (*start)++;
  while (*end > *start && strchr(" \t\r", text[*end - 1]))
    (*end)--;
}

static bool printable(const char *path, const char *text, size_t start,
                      size_t end, int64_t line) {
  for (size_t i = start; i < end; i++) {
    unsigned char c = (unsigned char)text[i];
    if (c >= 0x20 && c != 0x7f)
      continue;
    cnn_error("%s: line %" PRId64 " holds the control byte 0x%02x; a names "
              "file is text, one name a line", path, line, c);
    return false;
  }
  return true;
}

/* One name a line; blank lines may follow the last one, but not come
 * between names. */
static bool split(const char *path, const char *text, size_t len,
                  int64_t classes, CnnClassNames *out) {
  int64_t line = 0, blank = 0; /* the first blank line after a name, or 0 */
  for (size_t at = 0; at < len;) {
    size_t end = at;
    while (end < len && text[end] != '\n')
      end++;
    size_t start = at, stop = end;
    line++;
    at = end + 1;
    trim(text, &start, &stop);
    if (start == stop) {
      blank = blank ? blank : line;
      continue;
    }
    if (blank) {
      cnn_error("%s: line %" PRId64 " is blank, but names follow it (line %"
                PRId64 "); a names file holds one name a line", path, blank,
                line);
      return false;
    }
    if (!printable(path, text, start, stop, line))
      return false;
    if (out->count == classes) {
      cnn_error("%s: line %" PRId64 " holds name %" PRId64 ", but the model "
                "has %" PRId64 " classes", path, line, out->count + 1, classes);
      return false;
    }
    out->names[out->count] = cnn_format("%.*s", (int)(stop - start),
                                        text + start);
    if (!out->names[out->count])
      return false;
    out->count++;
  }
  if (out->count == classes)
    return true;
  cnn_error("%s: holds %" PRId64 " names, but the model has %" PRId64
            " classes", path, out->count, classes);
  return false;
}

static bool read_names(const char *path, int64_t classes, CnnClassNames *out) {
  size_t len;
  bool absent;
  char *text = slurp(path, &len, &absent);
  if (!text)
    return absent;
  out->names = calloc((size_t)classes, sizeof *out->names);
  bool ok = out->names && split(path, text, len, classes, out);
  if (!out->names)
    cnn_error("out of memory for %" PRId64 " class names", classes);
  free(text);
  return ok;
}

bool cnn_class_names_load(const char *dir, const CnnModel *m,
                          CnnClassNames *out) {
  *out = (CnnClassNames){0};
  const char *name = names_file(m);
  if (!dir || !name)
    return true;
  char *path = cnn_format("%s/%s", dir, name);
  bool ok = path && read_names(path, m->num_classes, out);
  free(path);
  if (!ok)
    cnn_class_names_free(out);
  return ok;
}

void cnn_class_names_free(CnnClassNames *n) {
  for (int64_t i = 0; i < n->count; i++)
    free(n->names[i]);
  free(n->names);
  *n = (CnnClassNames){0};
}
