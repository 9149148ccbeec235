/* outfile.c - writing a file so that it is never seen half-written, and
 * never written where it would destroy something; see outfile.h. */
#define _DEFAULT_SOURCE /* FS_IOC_GETFLAGS, realpath */
#include "outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tempfile.h"

static bool fail(char *why, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool fail(char *why, size_t cap, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, cap, fmt, ap);
  va_end(ap);
  return false;
}

/* "a/b/c.st" -> "a/b", "c.st" -> ".", "/c.st" -> "/" */
static void folder_of(const char *path, char *dir, size_t cap) {
  const char *slash = strrchr(path, '/');
  if (!slash)
    snprintf(dir, cap, ".");
  else if (slash == path)
    snprintf(dir, cap, "/");
  else
    snprintf(dir, cap, "%.*s", (int)(slash - path), path);
}

static const char *base_of(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

/* A symbolic link to a regular file is written through: the file it points
 * to is replaced, the link stays. A link to a device or a pipe
 * (/dev/stdout) is opened as it is; a dangling link is refused rather than
 * replaced. */
static bool resolve(const char *path, char *dest, char *why, size_t cap) {
  struct stat st;
  bool link = lstat(path, &st) == 0 && S_ISLNK(st.st_mode);
  if (link && stat(path, &st) != 0)
    return fail(why, cap, "%s: a symbolic link to nothing that exists (%s); "
                "give the file's own path", path, strerror(errno));
  char real[PATH_MAX];
  if (link && S_ISREG(st.st_mode) && !realpath(path, real))
    return fail(why, cap, "%s: %s", path, strerror(errno));
  const char *use = link && S_ISREG(st.st_mode) ? real : path;
  if (snprintf(dest, OUTFILE_PATH, "%s", use) >= OUTFILE_PATH)
    return fail(why, cap, "%s: the path is too long", path);
  return true;
}

static bool immutable(int fd) {
  int flags = 0;
  return ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0 &&
         (flags & (FS_IMMUTABLE_FL | FS_APPEND_FL));
}

typedef enum Kind { K_NEW, K_REGULAR, K_IN_PLACE } Kind;

/* What is at dest, and whether it may be written. */
static bool classify(const char *path, const char *dest, Kind *kind, char *why,
                     size_t cap) {
  struct stat st;
  if (stat(dest, &st) != 0) {
    if (errno != ENOENT)
      return fail(why, cap, "%s: %s", path, strerror(errno));
    size_t n = strlen(dest);
    if (n && dest[n - 1] == '/')
      return fail(why, cap, "%s: ends with '/'; give a file name", path);
    *kind = K_NEW;
    return true;
  }
  if (S_ISDIR(st.st_mode))
    return fail(why, cap, "%s: is a folder; give a file name", path);
  if (S_ISBLK(st.st_mode))
    return fail(why, cap, "%s: is a block device; cnnc does not write over "
                "a disk", path);
  if (S_ISSOCK(st.st_mode))
    return fail(why, cap, "%s: is a socket; cnnc writes files, character "
                "devices and FIFOs", path);
  *kind = S_ISREG(st.st_mode) ? K_REGULAR : K_IN_PLACE;
  if (*kind == K_IN_PLACE && access(dest, W_OK) != 0)
    return fail(why, cap, "%s: %s", path, strerror(errno));
  if (*kind == K_REGULAR) {
    int fd = open(dest, O_RDONLY | O_NONBLOCK);
    bool locked = fd >= 0 && immutable(fd);
    if (fd >= 0)
      close(fd);
    if (locked)
      return fail(why, cap, "%s: is immutable or append-only (chattr); it "
                  "cannot be replaced", path);
  }
  return true;
}

/* PATH.tmp-PID-XXXXXX beside the destination, with the mode a plain open
 * would give it (mkstemp makes it 0600). */
static bool make_temporary(OutFile *f, const char *path, unsigned mode) {
  char dir[OUTFILE_PATH], stem[OUTFILE_PATH];
  folder_of(f->path, dir, sizeof dir);
  if (snprintf(stem, sizeof stem, "%s.tmp-", base_of(f->path)) >=
          (int)sizeof stem ||
      snprintf(f->tmp, sizeof f->tmp, "%s.tmp-%ld-XXXXXX", f->path,
               (long)getpid()) >= (int)sizeof f->tmp) {
    f->tmp[0] = '\0';
    return fail(f->why, sizeof f->why, "%s: the path is too long", path);
  }
  tempfile_remove_stale(dir, stem);
  f->fd = mkstemp(f->tmp);
  if (f->fd < 0) {
    int err = errno;
    f->tmp[0] = '\0';
    return fail(f->why, sizeof f->why, "%s: cannot create a temporary file "
                "in '%s': %s", path, dir, strerror(err));
  }
  tempfile_register(f->tmp);
  mode_t mask = umask(0);
  umask(mask);
  fchmod(f->fd, (mode_t)mode & ~mask);
  return true;
}

static bool prepare(OutFile *f, const char *path, Kind *kind) {
  f->fd = -1;
  f->tmp[0] = f->why[0] = '\0';
  return resolve(path, f->path, f->why, sizeof f->why) &&
         classify(path, f->path, kind, f->why, sizeof f->why);
}

bool outfile_open(OutFile *f, const char *path, unsigned mode) {
  Kind kind;
  if (strcmp(path, "-") == 0) { /* -o -, as clang's */
    *f = (OutFile){.fd = dup(STDOUT_FILENO), .path = "standard output"};
    return f->fd >= 0 || fail(f->why, sizeof f->why, "standard output: %s",
                              strerror(errno));
  }
  if (!prepare(f, path, &kind))
    return false;
  if (kind != K_IN_PLACE)
    return make_temporary(f, path, mode);
  f->fd = open(f->path, O_WRONLY | O_TRUNC);
  if (f->fd < 0)
    return fail(f->why, sizeof f->why, "%s: cannot open: %s", path,
                strerror(errno));
  return true;
}

bool outfile_write(OutFile *f, const void *data, size_t size) {
  const char *p = data;
  while (size > 0) {
    ssize_t k = write(f->fd, p, size);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      return fail(f->why, sizeof f->why, "%s: cannot write: %s", f->path,
                  k < 0 ? strerror(errno) : "no progress");
    p += k;
    size -= (size_t)k;
  }
  return true;
}

bool outfile_sync(OutFile *f) {
  /* a character device or a FIFO has nothing to sync (fsync: EINVAL) */
  return !f->tmp[0] || fsync(f->fd) == 0 ||
         fail(f->why, sizeof f->why, "%s: cannot write: %s", f->path,
              strerror(errno));
}

/* after the rename, so that the new name itself survives a crash */
static void sync_folder(const char *path) {
  char dir[OUTFILE_PATH];
  folder_of(path, dir, sizeof dir);
  int fd = open(dir, O_RDONLY);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
}

static bool commit_temporary(OutFile *f) {
  bool ok = outfile_sync(f);
  int fd = f->fd;
  f->fd = -1;
  ok = (close(fd) == 0 || fail(f->why, sizeof f->why, "%s: cannot write: %s",
                                f->path, strerror(errno))) && ok;
  ok = ok && (rename(f->tmp, f->path) == 0 ||
              fail(f->why, sizeof f->why, "%s: cannot replace it: %s",
                   f->path, strerror(errno)));
  if (!ok) {
    outfile_discard(f);
    return false;
  }
  tempfile_forget(f->tmp);
  f->tmp[0] = '\0';
  sync_folder(f->path);
  return true;
}

bool outfile_commit(OutFile *f) {
  if (f->tmp[0])
    return commit_temporary(f);
  int fd = f->fd;
  f->fd = -1;
  return close(fd) == 0 || fail(f->why, sizeof f->why, "%s: cannot write: %s",
                                f->path, strerror(errno));
}

void outfile_discard(OutFile *f) {
  if (f->fd >= 0)
    close(f->fd);
  f->fd = -1;
  if (f->tmp[0])
    tempfile_remove(f->tmp);
  f->tmp[0] = '\0';
}

bool outfile_check(const char *path, char *why, size_t cap) {
  static OutFile f; /* 12 KB: not on a small stack */
  Kind kind;
  if (strcmp(path, "-") == 0)
    return true;
  bool ok = prepare(&f, path, &kind) &&
            (kind == K_IN_PLACE || make_temporary(&f, path, 0666));
  if (!ok)
    snprintf(why, cap, "%s", f.why);
  outfile_discard(&f);
  return ok;
}

bool outfile_write_file(const char *path, const void *data, size_t size,
                        unsigned mode, char *why, size_t cap) {
  static OutFile f;
  bool ok = outfile_open(&f, path, mode);
  ok = ok && outfile_write(&f, data, size) && outfile_commit(&f);
  if (!ok) {
    snprintf(why, cap, "%s", f.why);
    outfile_discard(&f);
  }
  return ok;
}

/* realpath(folder) + "/" + base: one spelling for a file that may not
 * exist yet */
static bool canonical(const char *path, char *out, size_t cap) {
  char dir[OUTFILE_PATH], real[PATH_MAX];
  folder_of(path, dir, sizeof dir);
  return realpath(dir, real) &&
         snprintf(out, cap, "%s/%s", real, base_of(path)) < (int)cap;
}

bool outfile_same_file(const char *path, const char *other) {
  struct stat a, b;
  if (stat(path, &a) == 0 && stat(other, &b) == 0)
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
  char x[OUTFILE_PATH], y[OUTFILE_PATH];
  return canonical(path, x, sizeof x) && canonical(other, y, sizeof y) &&
         strcmp(x, y) == 0;
}

/* --- the buffered writer ------------------------------------------------- */

bool outbuf_open(OutBuffer *b, const char *path) {
  b->len = 0;
  b->ok = outfile_open(&b->f, path, 0666);
  return b->ok;
}

static void outbuf_flush(OutBuffer *b) {
  b->ok = b->ok && outfile_write(&b->f, b->buf, b->len);
  b->len = 0;
}

void outbuf_put(OutBuffer *b, const void *data, size_t n) {
  if (b->len + n > sizeof b->buf)
    outbuf_flush(b);
  if (n > sizeof b->buf) {
    b->ok = b->ok && outfile_write(&b->f, data, n);
    return;
  }
  memcpy(b->buf + b->len, data, n);
  b->len += n;
}

/* Formatted into the buffer's room, or after a flush into the whole
 * buffer; what is longer than the buffer is an error, not cut short. */
void outbuf_printf(OutBuffer *b, const char *fmt, ...) {
  for (int attempt = 0; attempt < 2; attempt++) {
    size_t room = sizeof b->buf - b->len;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->buf + b->len, room, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < room) {
      b->len += (size_t)n;
      return;
    }
    outbuf_flush(b);
  }
  if (b->ok)
    snprintf(b->f.why, sizeof b->f.why, "%s: a line longer than %zu bytes",
             b->f.path, sizeof b->buf);
  b->ok = false;
}

bool outbuf_commit(OutBuffer *b) {
  outbuf_flush(b);
  if (b->ok && outfile_commit(&b->f))
    return true;
  outfile_discard(&b->f);
  return false;
}
