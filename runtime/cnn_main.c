/* cnn_main.c - the trainer program: options, data, training, test, save.
 *
 * Everything that can fail for a reason outside the program (a bad flag, a
 * missing or broken data file, an unwritable --save or --log path, the
 * memory a save needs) is checked before
 * the first step, so that a run that starts also finishes. What fails
 * once it runs (a full disk under the log, stdout into a closed pipe) is
 * reported, makes the exit status 1, and does not cost the checkpoint.
 * stdout carries the report (the test's per-class accuracy and confusion
 * matrix at the end, report.c); its last line is always "test_acc: 0.XXXX",
 * the one line a script needs (and all that --quiet prints). */
#include "runtime.h"

#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>

#include "comm.h"
#include "tempfile.h"

/* The elements of the trainable parameters, or of the buffers (running
 * statistics and counters, which the optimizer leaves alone). */
static int64_t elements(const CnnModel *m, bool trainable) {
  int64_t n = 0;
  for (int64_t t = 0; t < m->num_param_tensors; t++)
    if ((m->params[t].trainable != 0) == trainable)
      n += m->params[t].size;
  return n;
}

/* "1234 parameters" and, with buffers, " and 56 buffer values" */
static const char *counts(const CnnModel *m, char *buf, size_t cap) {
  int64_t buffers = elements(m, false);
  int len = snprintf(buf, cap, "%" PRId64 " parameters", elements(m, true));
  if (buffers > 0 && len > 0 && (size_t)len < cap)
    snprintf(buf + len, cap - (size_t)len, " and %" PRId64 " buffer values",
             buffers);
  return buf;
}

static const char *optimizer_name(const CnnModel *m) {
  return m->optimizer == CNN_OPT_ADAM ? "adam"
         : m->optimizer == CNN_OPT_ADAMW ? "adamw" : "sgd";
}

static void print_plan(const CnnModel *m, const CnnOptions *o, CnnSplit split,
                       const CnnSet *test) {
  if (o->quiet)
    return;
  char count[96], schedule[96], patience[48] = "", batch[80];
  cnn_schedule_text(m, o->lr, schedule, sizeof schedule);
  if (m->patience > 0)
    snprintf(patience, sizeof patience, ", patience %" PRId64, m->patience);
  if (o->accumulate > 1)
    snprintf(batch, sizeof batch, "%" PRId64 " x %" PRId64 " accumulated (%"
             PRId64 " images an update)", o->batch, o->accumulate,
             o->batch * o->accumulate);
  else
    snprintf(batch, sizeof batch, "%" PRId64, o->batch);
  printf("model %s: %s; %s lr %g%s%s, batch %s, epochs %" PRId64
         "%s, seed %" PRIu64 "\n", m->name, counts(m, count, sizeof count),
         optimizer_name(m), o->lr, schedule[0] ? " " : "", schedule, batch,
         o->epochs, patience, o->seed);
  printf("train on %" PRId64 " images, validate on %" PRId64 ", test on %"
         PRId64 " (%s%s%s)\n", split.train, split.validation, test->count,
         m->data_kind == CNN_DATA_IDX ? "" : cnn_data_kind_name(m->data_kind),
         m->data_kind == CNN_DATA_IDX ? "" : " ", o->data);
  cnn_stdout_ok(); /* a failure is reported now, and training goes on */
}

static bool save(const CnnModel *m, const CnnOptions *o, const CnnTrainer *t,
                 CnnSaver *saver, double test_accuracy) {
  int64_t epochs = cnn_trainer_state(t)->epoch - 1; /* fewer after a stop */
  if (!cnn_write_weights(saver, m, o, epochs, cnn_trainer_steps(t),
                         test_accuracy))
    return false;
  char count[96];
  if (!o->quiet)
    printf("saved %s (%s in %" PRId64 " tensors)\n", o->save,
           counts(m, count, sizeof count), m->num_param_tensors);
  return true;
}

/* --epochs 0 (with --init): what a saved model scores on the validation
 * images too, as a finished epoch would report */
static void validate(const CnnOptions *o, CnnTrainer *t, CnnSplit split) {
  if (o->epochs > 0 || split.validation == 0 || o->quiet)
    return;
  CnnScore score = cnn_trainer_validate(t);
  printf("validation: loss %.4f acc %.4f (%" PRId64 " images)\n", score.loss,
         score.accuracy, split.validation);
}

/* The end of a run's per-class accuracy and confusion matrix: printed
 * (not with --quiet) and written (--report); false when the file could
 * not be, which does not stop the save */
static bool report(const CnnOptions *o, const CnnReport *r) {
  if (!r->confusion)
    return true;
  if (!o->quiet)
    cnn_report_print(r, stdout);
  return !o->report || cnn_comm_rank() != 0 ||
         cnn_report_write(r, o->report);
}

static bool test_and_save(const CnnModel *m, const CnnOptions *o,
                          CnnTrainer *t, CnnSaver *saver, const CnnSet *test,
                          const CnnReport *r) {
  double start = cnn_seconds();
  CnnScore score = cnn_trainer_test(t, test, r->confusion);
  if (!o->quiet)
    printf("test: loss %.4f acc %.4f (%" PRId64 " images, %.1fs)\n",
           score.loss, score.accuracy, test->count, cnn_seconds() - start);
  bool reported = report(o, r);
  if (saver && !save(m, o, t, saver, score.accuracy)) /* rank 0's */
    return false;
  printf("test_acc: %.4f\n", score.accuracy);
  return reported;
}

/* "interrupted by SIGINT at epoch 3, step 120: ..." and 128 + the signal,
 * the status a shell expects of a program a signal ended */
static int stopped(const CnnOptions *o, const CnnTrainer *t, int sig) {
  const CnnRunState *r = cnn_trainer_state(t);
  const char *name = sig == SIGINT ? "SIGINT"
                     : sig == SIGUSR1 ? "SIGUSR1" : "SIGTERM";
  fflush(stdout);
  if (cnn_comm_rank() != 0) /* rank 0 says it for the job */
    return 128 + sig;
  if (!o->checkpoint) /* a job's SIGUSR1 */
    fprintf(stderr, "\ncnnrt: stopped by %s at epoch %" PRId64 ", step %"
            PRId64 " of the run; nothing was saved (no --checkpoint)\n",
            name, r->epoch, r->step);
  else if (cnn_trainer_checkpoint_current(t))
    fprintf(stderr, "\ncnnrt: stopped by %s at epoch %" PRId64 ", step %"
            PRId64 " of the run; the training state is in %s (continue with "
            "--resume %s)\n", name, r->epoch, r->step, o->checkpoint,
            o->checkpoint);
  else
    fprintf(stderr, "\ncnnrt: stopped by %s at epoch %" PRId64 ", step %"
            PRId64 " of the run; its state could not be written: %s holds "
            "the last checkpoint that could, if any\n", name, r->epoch,
            r->step, o->checkpoint);
  return 128 + sig;
}

/* patience = N and --save-best look at the validation images of each
 * epoch (--epochs 0, which only scores the weights, has none) */
static bool validation_there(const CnnModel *m, const CnnOptions *o,
                             CnnSplit split) {
  if (split.validation > 0 || o->epochs == 0)
    return true;
  if (m->patience > 0)
    cnn_error("the model's patience = %" PRId64 " stops on the validation "
              "loss, but there are no validation images (--validation 0); "
              "hold some out with --validation N", m->patience);
  else if (o->save_best)
    cnn_error("--save-best %s keeps the epoch of the best validation "
              "accuracy, but there are no validation images (--validation "
              "0); hold some out with --validation N", o->save_best);
  return m->patience == 0 && !o->save_best;
}

/* where the run starts, and the flags that decide which exchanges a
 * process of a job takes part in (a confusion matrix is gathered, a
 * checkpoint asks for a stop at the end) */
static uint64_t start_hash(const CnnTrainer *t, const CnnOptions *o,
                           bool confusion) {
  int64_t v[] = {o->epochs, o->batch, o->accumulate, o->checkpoint != NULL,
                 confusion};
  return cnn_hash(cnn_trainer_start_hash(t), v, sizeof v);
}

/* the exit status: 0, 1 after an error, or 128 + a signal */
static int train_and_test(const CnnModel *m, const CnnOptions *o,
                          const CnnData *data) {
  const CnnSet *train = &data->train, *test = &data->test;
  CnnSplit split;
  if (!cnn_split(train->count, o, &split) || !validation_there(m, o, split))
    return 1;
  /* the matrix is wanted unless --quiet and no --report; allocated now,
   * so that the end of a long run cannot fail for want of it */
  int64_t *confusion = NULL;
  if ((!o->quiet || o->report) &&
      !(confusion = calloc((size_t)(m->num_classes * m->num_classes),
                           sizeof *confusion))) {
    cnn_error("out of memory for the confusion matrix");
    return 1;
  }
  CnnReport r = {m->num_classes, confusion, &data->names};
  CnnTrainer *t = cnn_trainer_create(m, o, train, test, split);
  /* in a job of several processes rank 0 alone writes the files */
  bool writer = cnn_comm_rank() == 0;
  CnnSaver *saver = t && o->save && writer
                        ? cnn_weights_saver(m, cnn_trainer_params(t)) : NULL;
  CnnLog *log = t && o->log && writer
                    ? cnn_log_create(o->log, cnn_trainer_state(t)->rows) : NULL;
  bool ok = t && (saver || !o->save || !writer) && (log || !o->log || !writer);
  ok = cnn_job_ready(ok) && /* every process, before the first step */
       cnn_job_same_run(cnn_trainer_fingerprint(t),
                        start_hash(t, o, confusion != NULL));
  if (ok && o->plot && writer) /* at once: the axes (a resumed run's too) */
    cnn_plot_write(o->plot, m->name, o->epochs, cnn_trainer_state(t)->rows);
  if (ok)
    print_plan(m, o, split, test);
  int run = ok ? cnn_trainer_run(t, log) : -1;
  if (run == 0 && o->checkpoint) {
    /* training is over and its state saved: from here a signal ends the
     * run at once (removing temporaries), as without --checkpoint */
    tempfile_install_cleanup();
    run = cnn_stop_requested(); /* one that came in between */
  }
  if (run == 0)
    validate(o, t, split);
  ok = run == 0 && test_and_save(m, o, t, saver, test, &r);
  bool all_written = !t || (cnn_trainer_checkpoint_failures(t) == 0 &&
                            cnn_trainer_best_failures(t) == 0 &&
                            !cnn_plot_failed());
  int status = run > 0 ? stopped(o, t, run) : ok && all_written ? 0 : 1;
  cnn_saver_free(saver);
  cnn_trainer_free(t);
  free(confusion);
  return cnn_log_free(log) || status != 0 ? status : 1;
}

static int run(const CnnModel *m, const CnnOptions *o) {
  /* in a job, rank 0 alone writes: its machine needs the folders */
  if (cnn_comm_rank() == 0 && !cnn_check_outputs(o))
    return 1;
  CnnData data;
  if (!cnn_data_load(o->data, m, &data))
    return 1;
  if (cnn_comm_size() > 1)
    cnn_interrupt_install_job(o->checkpoint != NULL);
  else if (o->checkpoint)
    cnn_interrupt_install();
  int status = train_and_test(m, o, &data);
  cnn_data_free(&data);
  return status;
}

/* the default --threads: the cores, shared by the job's processes here */
static int default_threads(void) {
  int threads = cnn_available_cores() / cnn_comm_local_size();
  return threads > 1 ? threads : 1;
}

static int trainer_main(const CnnModel *m, int argc, char **argv) {
  CnnOptions o;
  if (!cnn_model_check(m) || !cnn_options_parse(m, argc, argv, &o))
    return 1;
  if (o.help)
    return cnn_stdout_ok() ? 0 : 1;
  int threads = o.threads ? (int)o.threads : default_threads();
  if (!cnn_set_threads(threads)) {
    cnn_error("cannot start %d threads", threads);
    return 1;
  }
  /* --predict: classify image files, with no data loaded and no training */
  int status = o.predict ? cnn_predict(m, &o) : run(m, &o);
  return !cnn_stdout_ok() && status == 0 ? 1 : status;
}

int cnn_main(const CnnModel *m, int argc, char **argv) {
  cnn_guard_std_streams();
  if (!cnn_comm_start(&argc, &argv))
    return 1;
  cnn_job_begin();
  int status = trainer_main(m, argc, argv);
  cnn_job_end(status);
  return status;
}
