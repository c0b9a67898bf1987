/* outdir.h - the results directory before anything is written into it: its path checked,
 * its state (absent, empty, holding files), created without leaving half a path behind on
 * failure, and the exclusive lock that one process holds on the journal it writes. */
#ifndef OUTDIR_H
#define OUTDIR_H

#include <stddef.h>

#include "fg_util.h"

/* The longest results directory path accepted: PATH_MAX (4096, counting its NUL) less room
 * for the longest name written inside (plots/.NAME.tmp, journal.shard-I-of-N.jsonl.lock). */
#define OD_PATH_MAX 3968

/* Checks a results directory path given with option (e.g. "--out") before anything is
 * created: not empty, at most OD_PATH_MAX bytes, every component at most NAME_MAX (255)
 * bytes, valid UTF-8 (it is written into report.yaml) and without control characters.
 * Returns 0, or -1 with err: one line that names the option and the reason, with a long
 * path shortened. */
int od_check_path(const char *option, const char *path, fg_err *err);

/* What path is: OD_ABSENT (nothing there), OD_EMPTY (a directory holding nothing, or only
 * lock files *.lock), OD_FILES (a directory holding anything else), OD_NOT_DIR. */
enum { OD_ABSENT, OD_EMPTY, OD_FILES, OD_NOT_DIR };
int od_dir_state(const char *path);

/* mkdir -p path. On failure the directories this call created are removed again, so that
 * nothing is left behind. Returns 0, or -1 with err. */
int od_make_dirs(const char *path, fg_err *err);

/* Takes an exclusive lock (fcntl F_SETLK, which also works on NFS through lockd) on
 * lock_path, creating it if missing, and writes "host=H pid=P since=UTC" into it. The lock
 * lasts until od_lock_release or the process ends; the file is never removed (removing it
 * would let two processes lock two different files). Returns the descriptor (>= 0); -2
 * when another process holds the lock, with err = "host H, pid P, since T" (as much as is
 * known); -1 on any other failure, with err. */
int od_lock_take(const char *lock_path, fg_err *err);
void od_lock_release(int fd); /* fd < 0 is a no-op */

/* path made absolute (symbolic links resolved) into out (size n); path itself when it
 * cannot be resolved. For what is recorded and read back from another directory. */
void od_abs_path(const char *path, char *out, size_t n);

#endif
