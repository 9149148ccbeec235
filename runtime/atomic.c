/* atomic.c - writing a file so that it is never seen half-written.
 *
 * The bytes go to a temporary file in the destination's folder (rename is
 * atomic only within one file system), are flushed and fsync'ed, and the
 * temporary is renamed over the destination: a crash or a full disk leaves
 * the previous file, never a torn one. cnn_check_writable makes the same
 * kind of temporary file up front, so that a bad --save path fails in a
 * second rather than after hours of training. */
#include "runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* "a/b/c.st" -> "a/b", "c.st" -> ".", "/c.st" -> "/" */
static char *folder_of(const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash)
    return cnn_format(".");
  if (slash == path)
    return cnn_format("/");
  return cnn_format("%.*s", (int)(slash - path), path);
}

static bool is_folder(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool cnn_check_writable(const char *path, const char *what) {
  size_t len = strlen(path);
  if (is_folder(path) || path[len - 1] == '/') {
    cnn_error("%s %s: is a folder; give a file name", what, path);
    return false;
  }
  char *dir = folder_of(path);
  char *probe = dir ? cnn_format("%s/.cnnrt-probe-XXXXXX", dir) : NULL;
  int fd = probe ? mkstemp(probe) : -1;
  if (fd < 0 && probe)
    cnn_error("%s %s: cannot create a file in the folder '%s': %s", what, path,
              dir, strerror(errno));
  if (fd >= 0) {
    close(fd);
    unlink(probe);
  }
  free(probe);
  free(dir);
  return fd >= 0;
}

/* mkstemp makes the file private (0600); give it the mode a plain fopen
 * would have, 0666 less the umask. */
static void usual_mode(int fd) {
  mode_t mask = umask(0);
  umask(mask);
  fchmod(fd, 0666 & ~mask);
}

static bool write_all(int fd, const void *data, size_t size) {
  FILE *f = fdopen(fd, "wb");
  if (!f) {
    close(fd);
    return false;
  }
  bool ok = fwrite(data, 1, size, f) == size && fflush(f) == 0 &&
            fsync(fileno(f)) == 0;
  int saved = errno;
  ok = fclose(f) == 0 && ok;
  if (!ok && saved)
    errno = saved;
  return ok;
}

/* after the rename, so that the new name itself survives a crash */
static void sync_folder(const char *path) {
  char *dir = folder_of(path);
  int fd = dir ? open(dir, O_RDONLY) : -1;
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
  free(dir);
}

bool cnn_write_atomic(const char *path, const void *data, size_t size) {
  char *tmp = cnn_format("%s.tmp-XXXXXX", path);
  int fd = tmp ? mkstemp(tmp) : -1;
  if (fd >= 0)
    usual_mode(fd);
  bool ok = fd >= 0 && write_all(fd, data, size) && rename(tmp, path) == 0;
  if (!ok && tmp)
    cnn_error("cannot write %s: %s", path, strerror(errno));
  if (!ok && fd >= 0)
    unlink(tmp);
  if (ok)
    sync_folder(path);
  free(tmp);
  return ok;
}
