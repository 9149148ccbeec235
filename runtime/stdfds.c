/* stdfds.c - the standard file descriptors, before anything is opened.
 *
 * A program started with stdout closed (`./train >&-`) would hand fd 1 to
 * the first file it opens, and every printf would then write into that
 * file: a checkpoint with a progress bar inside. Each of fds 0-2 that is
 * closed gets /dev/null opened read-only in its place, so that a write to
 * it fails (EBADF) and is reported, and no file of the run can take it. */
#define _POSIX_C_SOURCE 200809L
#include "outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int outfile_guard_std_fds(void) {
  int closed = 0;
  for (int fd = 0; fd <= 2; fd++) {
    if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
      continue;
    closed |= 1 << fd;
    /* open takes the lowest free fd: this one, as the lower ones are open */
    open("/dev/null", O_RDONLY);
  }
  return closed;
}
