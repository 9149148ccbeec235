/* csvlog.c - one CSV row per epoch (--log FILE.csv), as Keras's CSVLogger.
 *
 * Each row is flushed as soon as the epoch ends, so that a run that is
 * interrupted (or watched with tail -f) keeps what it measured. A run
 * without validation writes NA in the validation columns, as CSVLogger
 * does for a missing value; pandas reads it as NaN. A row that cannot be
 * written (a full disk) is reported once and the run goes on: losing the
 * log must not lose the training, and the checkpoint is still written. */
#include "runtime.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct CnnLog {
  FILE *file;
  const char *path;
  bool failed; /* reported; later rows are not tried */
};

/* before training (the header), a failure stops the run; after, not */
static bool check(CnnLog *log, bool training) {
  errno = 0;
  if (fflush(log->file) == 0 && !ferror(log->file))
    return true;
  cnn_error("--log %s: cannot write: %s%s", log->path,
            errno ? strerror(errno) : "a write failed",
            training ? "; training goes on without the log" : "");
  log->failed = true;
  return false;
}

CnnLog *cnn_log_create(const char *path) {
  CnnLog *log = malloc(sizeof *log);
  FILE *f = log ? fopen(path, "w") : NULL;
  if (!f) {
    cnn_error("--log %s: cannot create: %s", path,
              log ? strerror(errno) : "out of memory");
    free(log);
    return NULL;
  }
  *log = (CnnLog){f, path, false};
  fputs("epoch,loss,accuracy,val_loss,val_accuracy,seconds,images_per_second\n",
        f);
  if (check(log, false))
    return log;
  cnn_log_free(log);
  return NULL;
}

bool cnn_log_row(CnnLog *log, const CnnEpochStats *s) {
  if (log->failed)
    return false;
  double rate = s->train_seconds > 0 ? (double)s->images / s->train_seconds : 0;
  fprintf(log->file, "%" PRId64 ",%.8g,%.8g,", s->epoch, s->loss, s->accuracy);
  if (s->has_validation)
    fprintf(log->file, "%.8g,%.8g,", s->validation.loss, s->validation.accuracy);
  else
    fputs("NA,NA,", log->file);
  fprintf(log->file, "%.3f,%.1f\n", s->seconds, rate);
  return check(log, true);
}

bool cnn_log_free(CnnLog *log) {
  if (!log)
    return true;
  bool ok = fclose(log->file) == 0 && !log->failed;
  if (!ok && !log->failed)
    cnn_error("--log %s: cannot write: %s", log->path, strerror(errno));
  free(log);
  return ok;
}
