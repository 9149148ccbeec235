/* outfile.h - the one way cnnc and its trainers write a file.
 *
 * Shared by the compiler (the object, assembly, IR, header and trainer it
 * writes) and by libcnnrt (--save, --checkpoint; --log, a stream read
 * with tail -f, is only checked by outfile_check and then written in
 * place), so that both follow one rule about what may be written and how:
 *
 *   - nothing there yet, or a regular file: the bytes go to a temporary
 *     file beside it (PATH.tmp-PID-XXXXXX), are fsync'ed, and the
 *     temporary is renamed over PATH: a crash, a kill or a full disk leaves
 *     the previous file, never a torn one;
 *   - a symbolic link: the same, for the file it points to (the link stays);
 *   - a character device or a FIFO (/dev/null, a pipe to another program):
 *     written in place, never replaced by a regular file;
 *   - a folder, a block device (a disk), a socket, an immutable or
 *     append-only file: refused;
 *   - "-": standard output.
 *
 * A temporary is registered in tempfile.c for as long as it exists, so a
 * signal (Ctrl-C, kill, an abort) removes it, and its name carries the
 * writer's pid, so that a later writer of the same file removes the ones a
 * SIGKILL left behind. Nothing here allocates: an OutFile holds its paths,
 * and a save after hours of training cannot fail for want of memory. */
#ifndef CNNC_OUTFILE_H
#define CNNC_OUTFILE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

enum { OUTFILE_PATH = 4096, OUTFILE_WHY = OUTFILE_PATH + 256 };

typedef struct OutFile {
  char path[OUTFILE_PATH]; /* the destination, symbolic links resolved */
  char tmp[OUTFILE_PATH];  /* the temporary beside it; "" when in place */
  int fd;                  /* -1 when closed */
  char why[OUTFILE_WHY];   /* after a failure: what failed, and the reason */
} OutFile;

/* mode: 0666 for data, 0777 for an executable (less the umask, as a plain
 * open would give). False with f->why set when the path cannot be written. */
bool outfile_open(OutFile *f, const char *path, unsigned mode);
bool outfile_write(OutFile *f, const void *data, size_t size);
/* fsync only: when several files must all be complete before any is
 * renamed into place. */
bool outfile_sync(OutFile *f);
/* fsync, and rename the temporary over the destination. */
bool outfile_commit(OutFile *f);
/* Closes and removes the temporary; the destination is left as it was. */
void outfile_discard(OutFile *f);

/* A file written through a fixed buffer, so that writing it needs no
 * memory (the end of a long run, or after each epoch): open with
 * outbuf_open, add with outbuf_put and outbuf_printf, then outbuf_commit.
 * A failure anywhere makes the commit fail, with b->f.why set. */
typedef struct OutBuffer {
  OutFile f;
  bool ok;
  size_t len;
  char buf[8192];
} OutBuffer;

bool outbuf_open(OutBuffer *b, const char *path);
void outbuf_put(OutBuffer *b, const void *data, size_t n);
void outbuf_printf(OutBuffer *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* flushes and renames into place; or discards, leaving the old file */
bool outbuf_commit(OutBuffer *b);

/* Everything outfile_open checks, without writing (a FIFO is not opened,
 * which would wait for a reader): a bad path fails before a long run rather
 * than after it. The temporary's name is tried for real (its length, the
 * folder's permissions) and removed. */
bool outfile_check(const char *path, char *why, size_t cap);
/* The whole file in one call: open, write, commit (or discard). */
bool outfile_write_file(const char *path, const void *data, size_t size,
                        unsigned mode, char *why, size_t cap);
/* path and other are the same file: the same device and inode when both
 * exist ("./a", "a" and a hard link all match), else the same folder and
 * name. */
bool outfile_same_file(const char *path, const char *other);

/* stdfds.c: fds 0-2 that are closed get /dev/null, read-only, so that no
 * file the program opens takes their number and writes to them fail.
 * Returns which were closed: bit 1 << fd. */
int outfile_guard_std_fds(void);

#endif
