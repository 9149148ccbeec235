/* link.c - cc OBJECT libcnnrt.a -lpng -lz -lm -o OUTPUT.
 *
 * --mpi: OMPI_CC=cc mpicc OBJECT libcnnrt_mpi.a ...: Open MPI's wrapper
 * adds its include and library flags to the same compiler's link.
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

static bool find_runtime(const char *name, char *out, size_t cap) {
  char dir[PATH_MAX / 2]; /* leaves room for the suffixes in out */
  static const char *const rel[] = {"runtime", "../lib/cnnc"};
  if (self_dir(dir, sizeof dir))
    for (int i = 0; i < 2; i++) {
      snprintf(out, cap, "%s/%s/%s", dir, rel[i], name);
      if (exists(out))
        return true;
    }
  /* where the build put it: libcnnrt.a's folder */
  const char *built = CNNC_RUNTIME_LIB;
  const char *slash = strrchr(built, '/');
  snprintf(out, cap, "%.*s%s", slash ? (int)(slash - built + 1) : 0, built,
           name);
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

static bool missing_runtime(const char *name, bool mpi, Diag *d) {
  if (mpi)
    diag_tool_error(d, "cannot find %s beside cnnc or in ../lib/cnnc: this "
                    "cnnc was built without Open MPI (install "
                    "libopenmpi-dev and rebuild it) for --mpi", name);
  else
    diag_tool_error(d, "cannot find %s beside cnnc or in ../lib/cnnc; is "
                    "the build complete?", name);
  return false;
}

bool link_trainer(const char *object, const char *output, bool mpi, Diag *d) {
  const char *name = mpi ? "libcnnrt_mpi.a" : "libcnnrt.a";
  char lib[PATH_MAX];
  if (!find_runtime(name, lib, sizeof lib))
    return missing_runtime(name, mpi, d);
  const char *cc = getenv("CC");
  char *compiler = (char *)(cc && *cc ? cc : CNNC_LINKER);
  /* mpicc runs $OMPI_CC: the compiler that would have linked alone */
  if (mpi && setenv("OMPI_CC", compiler, 1) != 0) {
    diag_tool_error(d, "cannot set OMPI_CC for mpicc: %s", strerror(errno));
    return false;
  }
  char *argv[] = {mpi ? "mpicc" : compiler, "-o", (char *)output,
                  (char *)object, lib, "-lpng", "-lz", "-lm", "-pthread",
                  CNNC_LINK_FLAG, NULL};
  int rc = run(argv);
  if (rc < 0 && mpi)
    diag_tool_error(d, "cannot run 'mpicc': %s; --mpi links with Open MPI's "
                    "compiler wrapper (Debian: libopenmpi-dev)", strerror(-rc));
  else if (rc < 0)
    diag_tool_error(d, "cannot run '%s': %s", argv[0], strerror(-rc));
  else if (rc != 0)
    diag_tool_error(d, "linking '%s' failed ('%s' exited with %d)", output,
                    argv[0], rc);
  return rc == 0;
}
