/* cnn_main.c - the trainer program: options, data, training, test, save.
 *
 * Everything that can fail for a reason outside the program (a bad flag, a
 * missing or broken data file, an unwritable --save or --log path, the
 * memory a save needs) is checked before
 * the first step, so that a run that starts also finishes. What fails
 * once it runs (a full disk under the log, stdout into a closed pipe) is
 * reported, makes the exit status 1, and does not cost the checkpoint.
 * stdout carries the report; its last line is always "test_acc: 0.XXXX",
 * the one line a script needs (and all that --quiet prints). */
#include "runtime.h"

#include <inttypes.h>

static void print_plan(const CnnModel *m, const CnnOptions *o, CnnSplit split,
                       const CnnSet *test) {
  if (o->quiet)
    return;
  printf("model %s: %" PRId64 " parameters; %s lr %g, batch %" PRId64
         ", epochs %" PRId64 ", seed %" PRIu64 "\n", m->name, m->num_params,
         m->optimizer == CNN_OPT_ADAM ? "adam" : "sgd", o->lr, o->batch,
         o->epochs, o->seed);
  printf("train on %" PRId64 " images, validate on %" PRId64 ", test on %"
         PRId64 " (%s)\n", split.train, split.validation, test->count, o->data);
  cnn_stdout_ok(); /* a failure is reported now, and training goes on */
}

static bool save(const CnnModel *m, const CnnOptions *o, const CnnTrainer *t,
                 CnnSaver *saver, double test_accuracy) {
  CnnCheckpointInfo info = {o->epochs, cnn_trainer_steps(t), o->seed,
                            test_accuracy};
  if (!cnn_saver_write(saver, cnn_trainer_params(t), &info, o->save))
    return false;
  if (!o->quiet)
    printf("saved %s (%" PRId64 " parameters in %" PRId64 " tensors)\n",
           o->save, m->num_params, m->num_param_tensors);
  return true;
}

static bool test_and_save(const CnnModel *m, const CnnOptions *o,
                          CnnTrainer *t, CnnSaver *saver, const CnnSet *test) {
  double start = cnn_seconds();
  CnnScore score = cnn_trainer_test(t, test);
  if (!o->quiet)
    printf("test: loss %.4f acc %.4f (%" PRId64 " images, %.1fs)\n",
           score.loss, score.accuracy, test->count, cnn_seconds() - start);
  if (o->save && !save(m, o, t, saver, score.accuracy))
    return false;
  printf("test_acc: %.4f\n", score.accuracy);
  return true;
}

static bool train_and_test(const CnnModel *m, const CnnOptions *o,
                           const CnnSet *train, const CnnSet *test) {
  CnnSplit split;
  if (!cnn_split(train->count, o, &split))
    return false;
  CnnLog *log = o->log ? cnn_log_create(o->log) : NULL;
  if (o->log && !log)
    return false;
  CnnTrainer *t = cnn_trainer_create(m, o, train, split);
  CnnSaver *saver = t && o->save ? cnn_saver_create(m) : NULL;
  bool ok = t && (saver || !o->save);
  if (ok)
    print_plan(m, o, split, test);
  ok = ok && cnn_trainer_run(t, log) && test_and_save(m, o, t, saver, test);
  cnn_saver_free(saver);
  cnn_trainer_free(t);
  return cnn_log_free(log) && ok;
}

static bool run(const CnnModel *m, const CnnOptions *o) {
  if (!cnn_check_outputs(o))
    return false;
  CnnSet train, test;
  if (!cnn_data_load(o->data, m, &train, &test))
    return false;
  bool ok = train_and_test(m, o, &train, &test);
  cnn_set_free(&train);
  cnn_set_free(&test);
  return ok;
}

int cnn_main(const CnnModel *m, int argc, char **argv) {
  cnn_guard_std_streams();
  CnnOptions o;
  if (!cnn_model_check(m) || !cnn_options_parse(m, argc, argv, &o))
    return 1;
  if (o.help)
    return cnn_stdout_ok() ? 0 : 1;
  int threads = o.threads ? (int)o.threads : cnn_available_cores();
  if (!cnn_set_threads(threads)) {
    fprintf(stderr, "cnnrt: error: cannot start %d threads\n", threads);
    return 1;
  }
  bool ok = run(m, &o);
  return cnn_stdout_ok() && ok ? 0 : 1;
}
