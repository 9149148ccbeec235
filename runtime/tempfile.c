/* tempfile.c - the registry of live temporary files; see tempfile.h.
 *
 * The registry is a fixed table of pointers with a flag each: a signal
 * handler may only read what it finds there and call unlink, which is
 * async-signal-safe, so nothing here allocates or locks. */
#define _DEFAULT_SOURCE /* mkstemps */
#include "tempfile.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { SLOTS = 16 };

static const char *volatile slot_path[SLOTS];

bool tempfile_register(const char *path) {
  for (int i = 0; i < SLOTS; i++)
    if (!slot_path[i]) {
      slot_path[i] = path;
      return true;
    }
  return false;
}

void tempfile_forget(const char *path) {
  for (int i = 0; i < SLOTS; i++)
    if (slot_path[i] == path)
      slot_path[i] = NULL;
}

void tempfile_remove(const char *path) {
  unlink(path);
  tempfile_forget(path);
}

void tempfile_remove_all(void) {
  for (int i = 0; i < SLOTS; i++)
    if (slot_path[i])
      unlink(slot_path[i]);
}

static void remove_all_and_die(int sig) {
  tempfile_remove_all();
  signal(sig, SIG_DFL);
  raise(sig);
}

void tempfile_install_cleanup(void) {
  static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGABRT,
                             SIGUSR1};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
    struct sigaction old;
    /* a signal the parent ignores (nohup, a background job's SIGINT)
     * stays ignored */
    if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
      continue;
    struct sigaction sa = {0};
    sa.sa_handler = remove_all_and_die;
    sigemptyset(&sa.sa_mask);
    sigaction(sigs[i], &sa, NULL);
  }
}

/* "STEM1234-..." -> 1234; 0 when name is not one of ours */
static long writer_pid(const char *name, const char *stem) {
  size_t n = strlen(stem);
  if (strncmp(name, stem, n) != 0 || !isdigit((unsigned char)name[n]))
    return 0;
  char *end;
  long pid = strtol(name + n, &end, 10);
  return *end == '-' ? pid : 0;
}

static bool running(long pid) {
  return kill((pid_t)pid, 0) == 0 || errno != ESRCH;
}

void tempfile_remove_stale(const char *dir, const char *stem) {
  DIR *d = opendir(dir);
  if (!d)
    return;
  char path[4096];
  for (struct dirent *e; (e = readdir(d));) {
    long pid = writer_pid(e->d_name, stem);
    if (pid <= 0 || pid == (long)getpid() || running(pid))
      continue;
    if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) < (int)sizeof path)
      unlink(path);
  }
  closedir(d);
}

const char *tempfile_dir(void) {
  const char *dir = getenv("TMPDIR");
  return dir && *dir ? dir : "/tmp";
}

bool tempfile_create(char *path, size_t cap, const char *stem,
                     const char *suffix) {
  const char *dir = tempfile_dir();
  tempfile_remove_stale(dir, stem);
  int n = snprintf(path, cap, "%s/%s%ld-XXXXXX%s", dir, stem, (long)getpid(),
                   suffix);
  if (n < 0 || (size_t)n >= cap) {
    errno = ENAMETOOLONG;
    return false;
  }
  int fd = mkstemps(path, (int)strlen(suffix));
  if (fd < 0)
    return false;
  close(fd);
  if (!tempfile_register(path)) {
    unlink(path);
    errno = EMFILE;
    return false;
  }
  return true;
}
