/* outputs.c - what a run writes, checked before its first step.
 *
 * A run that starts must also be able to finish: the --save path is tried
 * for real (its temporary is created and removed, so that a name too long
 * or a folder without write permission fails now), --log, --report and
 * --plot are checked the same way, and none may be another or a file of
 * the data folder (a typo that would overwrite the training images). The
 * standard streams are guarded too: stdout's failure is reported, never
 * silent, but it does not stop the run (`./train | head` must still train
 * and save), and a closed pipe (SIGPIPE) does not end the run before its
 * checkpoint. */
#include "runtime.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "outfile.h"
#include "tempfile.h"

static bool writable(const char *path, const char *flag) {
  char why[OUTFILE_WHY];
  if (outfile_check(path, why, sizeof why))
    return true;
  cnn_error("%s %s", flag, why);
  return false;
}

/* path is none of the files in the data folder */
static bool not_data(const char *path, const char *flag, const char *dir) {
  DIR *d = dir ? opendir(dir) : NULL;
  if (!d)
    return true;
  bool ok = true;
  for (struct dirent *e; ok && (e = readdir(d));) {
    char *file = cnn_format("%s/%s", dir, e->d_name);
    if (file && strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
        outfile_same_file(path, file)) {
      cnn_error("%s %s: is the data file %s; it would be overwritten", flag,
                path, file);
      ok = false;
    }
    free(file);
  }
  closedir(d);
  return ok;
}

typedef struct Named {
  const char *flag, *path;
} Named;

/* Two of the run's files that are one: /dev/null may take several, and
 * --checkpoint may be the --resume file it continues (it is replaced by a
 * rename, only with a later state of the same run). */
static bool clash(Named a, Named b) {
  struct stat st;
  if (!a.path || !b.path || (stat(a.path, &st) == 0 && S_ISCHR(st.st_mode)))
    return false;
  if (!strcmp(a.flag, "--checkpoint") && !strcmp(b.flag, "--resume"))
    return false;
  if (strcmp(a.path, b.path) && !outfile_same_file(a.path, b.path))
    return false;
  bool input = !strcmp(b.flag, "--resume") || !strcmp(b.flag, "--init");
  cnn_error("%s %s and %s %s are the same file; %s", a.flag, a.path, b.flag,
            b.path, input ? "the run would overwrite its own input"
                          : "each needs a file of its own");
  return true;
}

static bool distinct(const CnnOptions *o) {
  const Named all[] = {{"--save", o->save}, {"--save-best", o->save_best},
                       {"--log", o->log}, {"--checkpoint", o->checkpoint},
                       {"--report", o->report}, {"--plot", o->plot},
                       {"--resume", o->resume}, {"--init", o->init}};
  enum { OUTPUTS = 6, ALL = 8 };
  for (int i = 0; i < OUTPUTS; i++)
    for (int j = i + 1; j < ALL; j++)
      if (clash(all[i], all[j]))
        return false;
  return true;
}

/* stdout carries the run's report: a file written there would be torn */
static bool not_stdout(const char *path, const char *flag) {
  if (strcmp(path, "-") != 0)
    return true;
  cnn_error("%s -: standard output carries the run's report; give a file "
            "(/dev/stdout, or a pipe, to mix them anyway)", flag);
  return false;
}

static bool output_ok(const char *path, const char *flag, const char *data) {
  return !path || (not_stdout(path, flag) && writable(path, flag) &&
                   not_data(path, flag, data));
}

bool cnn_check_outputs(const CnnOptions *o) {
  return output_ok(o->save, "--save", o->data) &&
         output_ok(o->save_best, "--save-best", o->data) &&
         output_ok(o->log, "--log", o->data) &&
         output_ok(o->checkpoint, "--checkpoint", o->data) &&
         output_ok(o->report, "--report", o->data) &&
         output_ok(o->plot, "--plot", o->data) && distinct(o);
}

static bool stdout_reported;

void cnn_guard_std_streams(void) {
  int closed = outfile_guard_std_fds();
  /* a closed pipe or a file size limit is a write error, reported */
  signal(SIGPIPE, SIG_IGN);
  signal(SIGXFSZ, SIG_IGN);
  tempfile_install_cleanup();
  if (closed & 2) {
    cnn_error("standard output is closed: the run's report is lost (to "
              "discard it, use >/dev/null); training goes on");
    stdout_reported = true;
  }
}

bool cnn_stdout_ok(void) {
  errno = 0;
  if (fflush(stdout) == 0 && !ferror(stdout))
    return true;
  if (stdout_reported)
    return false;
  stdout_reported = true;
  fprintf(stderr, "cnnrt: error: cannot write to standard output: %s; "
          "training goes on\n", errno ? strerror(errno) : "a write failed");
  return false;
}
