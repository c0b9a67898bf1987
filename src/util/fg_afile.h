/* fg_afile.h - a file written whole or not at all: written to DIR/.NAME.tmp, flushed and
 * fsync'ed, then renamed to DIR/NAME, so a reader never sees half a file and a failed
 * write leaves the previous version in place. */
#ifndef FG_AFILE_H
#define FG_AFILE_H

#include <stdio.h>

#include "fg_util.h"

typedef struct {
    FILE *f;          /* write here between open and commit */
    char tmp[4200], final[4200];
} fg_afile;

/* Opens DIR/.NAME.tmp for writing into a->f. Returns 0, or -1 with err "TMP: cannot write:
 * REASON". */
int fg_afile_open(fg_afile *a, const char *dir, const char *name, fg_err *err);
/* Flushes, fsyncs and closes a->f, then renames the file into place. Returns 0, or -1 with
 * err (the temporary file removed when the write failed). */
int fg_afile_commit(fg_afile *a, fg_err *err);
/* Closes and removes the temporary file (after a failure while writing it). */
void fg_afile_abort(fg_afile *a);

#endif
