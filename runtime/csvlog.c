/* csvlog.c - one CSV row per epoch (--log FILE.csv), as Keras's CSVLogger.
 *
 * Each row is flushed as soon as the epoch ends, so that a run that is
 * interrupted (or watched with tail -f) keeps what it measured. A run
 * without validation writes NA in the validation columns, as CSVLogger
 * does for a missing value; pandas reads it as NaN. A row that cannot be
 * written (a full disk) is reported once and the run goes on: losing the
 * log must not lose the training, and the checkpoint is still written.
 * The lr column is the rate of the epoch's last step (the schedule's, as
 * Keras logs a LearningRateScheduler's `lr`). */
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

CnnLog *cnn_log_create(const char *path, const char *rows) {
  CnnLog *log = malloc(sizeof *log);
  FILE *f = log ? fopen(path, "w") : NULL;
  if (!f) {
    cnn_error("--log %s: cannot create: %s", path,
              log ? strerror(errno) : "out of memory");
    free(log);
    return NULL;
  }
  *log = (CnnLog){f, path, false};
  fputs("epoch,loss,accuracy,val_loss,val_accuracy,lr,seconds,"
        "images_per_second\n", f);
  fputs(rows, f); /* a resumed run's, from its checkpoint */
  if (check(log, false))
    return log;
  cnn_log_free(log);
  return NULL;
}

size_t cnn_log_format(const CnnEpochStats *s, char *buf, size_t cap) {
  double rate = s->train_seconds > 0 ? (double)s->images / s->train_seconds : 0;
  int n;
  if (s->has_validation)
    n = snprintf(buf, cap, "%" PRId64 ",%.8g,%.8g,%.8g,%.8g,%.8g,%.3f,%.1f\n",
                 s->epoch, s->loss, s->accuracy, s->validation.loss,
                 s->validation.accuracy, s->lr, s->seconds, rate);
  else
    n = snprintf(buf, cap, "%" PRId64 ",%.8g,%.8g,NA,NA,%.8g,%.3f,%.1f\n",
                 s->epoch, s->loss, s->accuracy, s->lr, s->seconds, rate);
  return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

bool cnn_log_row(CnnLog *log, const char *row) {
  if (log->failed)
    return false;
  fputs(row, log->file);
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
