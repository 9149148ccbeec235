/* link.c - cc OBJECT libcnnrt.a -lpng -lz -lm -o OUTPUT.
 *
 * libcnnrt.a is looked for beside the running cnnc (the build tree keeps
 * it in runtime/), then in ../lib/cnnc (an installed cnnc), then where the
 * build put it. The result depends on no file of the build tree. The
 * linker is the C compiler that built cnnc, or $CC. libcnnrt reads PNG
 * files (--predict) with libpng, which uses zlib: -lpng comes before -lz. */
#define _POSIX_C_SOURCE 200809L
#include "link.h"

#include <errno.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#ifndef CNNC_RUNTIME_LIB
#define CNNC_RUNTIME_LIB ""
#endif
/* The compiler that built libcnnrt links against it: a sanitizer build's
 * library needs that compiler's sanitizer runtimes. $CC overrides it. */
#ifndef CNNC_LINKER
#define CNNC_LINKER "cc"
#endif
/* A sanitizer build's libcnnrt needs the sanitizer runtimes at link time. */
#ifndef CNNC_LINK_FLAG
#define CNNC_LINK_FLAG "-lm"
#endif

static bool exists(const char *path) { return access(path, R_OK) == 0; }

/* The folder of the running executable, from /proc/self/exe. */
static bool self_dir(char *buf, size_t cap) {
  ssize_t n = readlink("/proc/self/exe", buf, cap - 1);
  if (n <= 0)
    return false;
  buf[n] = '\0';
  char *slash = strrchr(buf, '/');
  if (!slash)
    return false;
  *slash = '\0';
  return true;
}

static bool find_runtime(char *out, size_t cap) {
  char dir[PATH_MAX / 2]; /* leaves room for the suffixes in out */
  static const char *const rel[] = {"runtime/libcnnrt.a",
                                    "../lib/cnnc/libcnnrt.a"};
  if (self_dir(dir, sizeof dir))
    for (int i = 0; i < 2; i++) {
      snprintf(out, cap, "%s/%s", dir, rel[i]);
      if (exists(out))
        return true;
    }
  snprintf(out, cap, "%s", CNNC_RUNTIME_LIB);
  return exists(out);
}

static int run(char **argv) {
  pid_t pid;
  int err = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);
  if (err)
    return -err;
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR)
      return -errno;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

bool link_trainer(const char *object, const char *output, Diag *d) {
  char lib[PATH_MAX];
  if (!find_runtime(lib, sizeof lib)) {
    diag_tool_error(d, "cannot find libcnnrt.a beside cnnc or in "
                    "../lib/cnnc; is the build complete?");
    return false;
  }
  const char *cc = getenv("CC");
  char *argv[] = {(char *)(cc && *cc ? cc : CNNC_LINKER), "-o", (char *)output,
                  (char *)object, lib, "-lpng", "-lz", "-lm", "-pthread",
                  CNNC_LINK_FLAG, NULL};
  int rc = run(argv);
  if (rc < 0)
    diag_tool_error(d, "cannot run '%s': %s", argv[0], strerror(-rc));
  else if (rc != 0)
    diag_tool_error(d, "linking '%s' failed ('%s' exited with %d)", output,
                    argv[0], rc);
  return rc == 0;
}
