/* fg_afile.c - atomic file writes (fg_afile.h): a temporary name, fsync, rename. */
#define _POSIX_C_SOURCE 200809L
#include "fg_afile.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

int fg_afile_open(fg_afile *a, const char *dir, const char *name, fg_err *err)
{
    snprintf(a->final, sizeof a->final, "%s/%s", dir, name);
    snprintf(a->tmp, sizeof a->tmp, "%s/.%s.tmp", dir, name);
    a->f = fopen(a->tmp, "w");
    if (!a->f)
        return fg_err_set(err, "%s: cannot write: %s", a->tmp, strerror(errno));
    return 0;
}

int fg_afile_commit(fg_afile *a, fg_err *err)
{
    int bad = ferror(a->f) != 0;
    if (fflush(a->f) != 0 || fsync(fileno(a->f)) != 0)
        bad = 1;
    if (fclose(a->f) != 0)
        bad = 1;
    a->f = NULL;
    if (bad) {
        unlink(a->tmp);
        return fg_err_set(err, "%s: write failed: %s", a->tmp, strerror(errno));
    }
    if (rename(a->tmp, a->final) != 0)
        return fg_err_set(err, "%s: cannot rename into place: %s", a->final, strerror(errno));
    return 0;
}

void fg_afile_abort(fg_afile *a)
{
    if (a->f)
        fclose(a->f);
    a->f = NULL;
    unlink(a->tmp);
}
