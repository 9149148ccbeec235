/* tempfile.h - temporary files that do not outlive their writer.
 *
 * Every temporary cnnc or a trainer makes is registered here while it
 * exists. tempfile_install_cleanup sets handlers for the signals that end
 * a process (SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGABRT, which is also how
 * an LLVM fatal error ends), which remove every registered file and then
 * end the process as the signal would have. SIGKILL cannot be caught: for
 * it, every temporary's name carries its writer's pid
 * (STEM<pid>-XXXXXX...), and tempfile_remove_stale removes those of
 * processes that no longer exist. (A folder shared with another pid
 * namespace, a container's, could hold a live writer's file under a pid
 * that is free here; cnnc's temporaries live for seconds, a checkpoint's
 * for the time of one write.) */
#ifndef CNNC_TEMPFILE_H
#define CNNC_TEMPFILE_H

#include <stdbool.h>
#include <stddef.h>

void tempfile_install_cleanup(void);
/* path must stay valid until tempfile_forget; false when the registry is
 * full (the caller still works, but a signal would leave the file). */
bool tempfile_register(const char *path);
void tempfile_forget(const char *path);
/* Removes dir/STEM<pid>-* for every pid that is no longer running. */
void tempfile_remove_stale(const char *dir, const char *stem);
/* A new empty file $TMPDIR/STEM<pid>-XXXXXXSUFFIX (TMPDIR defaults to /tmp),
 * registered; false with errno set. */
bool tempfile_create(char *path, size_t cap, const char *stem,
                     const char *suffix);
/* $TMPDIR, or /tmp */
const char *tempfile_dir(void);
/* Removes every registered file; async-signal-safe, for a handler. */
void tempfile_remove_all(void);
/* unlink and forget */
void tempfile_remove(const char *path);

#endif
