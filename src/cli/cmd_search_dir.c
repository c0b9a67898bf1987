/* cmd_search_dir.c - the results directory of a search: the settings a journal records
 * adopted, a directory refused unless empty or a search of this grid, the lock, the grid
 * copy, the journal continued or created (see cmd_search.h). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd_search.h"
#include "finish.h"
#include "fg_msg.h"
#include "outdir.h"
#include "report.h"
#include "results.h"
#include "signals.h"

/* mkdir -p, removing what it created when it fails */
static int make_dirs(const char *path, fg_err *err)
{
    return od_make_dirs(path, err);
}

static int dir_is_unused(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return 1; /* does not exist: fine */
    if (!S_ISDIR(st.st_mode))
        return 0;
    /* A directory is reusable only if it holds none of a search's files. */
    int empty = 1;
    char probe[4200];
    const char *names[] = {"journal.jsonl", "grid.yaml", "report.md", "cv_results.csv"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(probe, sizeof probe, "%s/%s", path, names[i]);
        if (access(probe, F_OK) == 0)
            empty = 0;
    }
    return empty;
}

static int copy_file(const char *text, size_t len, const char *dst, fg_err *err)
{
    FILE *f = fopen(dst, "wx");
    if (!f) {
        int e = errno;
        fg_err_set(err, "%s: cannot create: %s", dst, strerror(e));
        errno = e; /* callers tell "exists" from other failures */
        return -1;
    }
    int bad = fwrite(text, 1, len, f) != len;
    bad |= fflush(f) != 0 || fsync(fileno(f)) != 0;
    bad |= fclose(f) != 0;
    if (bad) {
        int e = errno;
        unlink(dst); /* a partial copy would later look like another search's grid */
        return fg_err_set(err, "%s: write failed: %s", dst, strerror(e));
    }
    return 0;
}

/* 1 when the regular file path holds exactly text, 0 when it holds something else, -1
 * (err) when it is not a regular file or cannot be read: a FIFO there never blocks. */
static int file_holds(const char *path, const char *text, size_t len, fg_err *err)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && (uintmax_t)st.st_size != (uintmax_t)len)
        return 0;
    char *buf = NULL;
    size_t got = 0;
    if (fg_read_file(path, len, "grid file", &buf, &got, err))
        return -1;
    int same = got == len && memcmp(buf, text, len) == 0;
    free(buf);
    return same;
}

/* 1 when path exists and does not hold exactly text. */
static int place_grid_copy_would_clash(const char *text, size_t len, const char *path)
{
    fg_err err;
    return access(path, F_OK) == 0 && file_holds(path, text, len, &err) != 1;
}

/* Writes the grid copy. Shards share a directory: the first creates grid.yaml (O_EXCL),
 * the others check that it holds the same bytes. */
static int place_grid_copy(const char *text, size_t len, const char *path, int shared, fg_err *err)
{
    if (copy_file(text, len, path, err) == 0)
        return 0;
    if (!shared || errno != EEXIST)
        return -1;
    int same = file_holds(path, text, len, err);
    if (same < 0)
        return -1;
    return same ? 0 : fg_err_set(err, "%s: another grid file is already there; give another --out DIR", path);
}

/* The journal a search with c's options writes in dir. */
static void journal_path_of(const cli *c, const char *dir, char *buf, size_t n)
{
    if (c->n_shards)
        snprintf(buf, n, "%s/journal.shard-%d-of-%d.jsonl", dir, c->shard, c->n_shards);
    else
        snprintf(buf, n, "%s/journal.jsonl", dir);
}

/* Continuing a journal (--resume DIR, or --out DIR holding this run's journal): every
 * setting that changes results and was not given on the command line comes from the
 * journal's header (seed, cv seed, subset, BLAS threads, refit, data directory); one given
 * with another value is refused with one line naming the option and both values. A
 * different --data is not a conflict: the data's checksums decide. *threads and data_dir
 * receive what to run with. Returns -1 to go on, or an exit status. */
int sdir_adopt_recorded(const cli *c, grid_options *o, int32_t *threads, char *data_dir, size_t dd_len)
{
    *threads = c->threads;
    snprintf(data_dir, dd_len, "%s", cli_data_dir(c, o));
    char jp[4200];
    struct stat st;
    if (!c->out_dir)
        return -1;
    journal_path_of(c, c->out_dir, jp, sizeof jp);
    jnl_header *h = malloc(sizeof *h);
    fg_err err;
    if (!h) {
        fg_print_error("out of memory");
        return EXIT_RUNTIME;
    }
    if (stat(jp, &st) != 0 || !S_ISREG(st.st_mode) || jnl_read_header(jp, h, &err)) {
        free(h); /* no journal to continue (a damaged one is refused later, with the reason) */
        return -1;
    }
    char what[256] = "";
    if (c->seed_set && (uint64_t)c->seed != h->seed)
        snprintf(what, sizeof what, "seed %lld, recorded %llu (--seed %lld given", c->seed,
                 (unsigned long long)h->seed, c->seed);
    else if (c->subset >= 0 && c->subset != h->subset)
        snprintf(what, sizeof what, "subset %lld, recorded %d%s (--subset %lld given", c->subset, h->subset,
                 h->subset ? "" : " = all images", c->subset);
    else if (c->threads_set && h->threads > 0 && c->threads != h->threads)
        snprintf(what, sizeof what, "%d BLAS threads, recorded %d (--threads %d given; threads change "
                 "results in the last bits", c->threads, h->threads, c->threads);
    if (what[0]) {
        fprintf(stderr, "fmnist-grid: %s: holds a different search, not resumed: %s; leave the option out to "
                        "continue the recorded search, or give another --out DIR)\n", c->out_dir, what);
        free(h);
        return EXIT_INPUT;
    }
    o->seed = h->seed;
    o->cv_seed = h->cv_seed;
    o->subset = h->subset;
    if (h->in_h > 0) /* the recorded input (prep_use_data checks the data and the grid against it) */
        o->in_h = h->in_h, o->in_w = h->in_w, o->in_c = h->in_c, o->shape_given = 1;
    if (h->classes > 0)
        o->classes = h->classes;
    if (h->threads > 0)
        *threads = h->threads;
    if (h->refit >= 0 && !c->no_refit)
        o->refit = h->refit;
    if (!c->data_dir && h->data_dir[0] && stat(h->data_dir, &st) == 0 && S_ISDIR(st.st_mode))
        snprintf(data_dir, dd_len, "%s", h->data_dir);
    free(h);
    return -1;
}

/* Before anything is written into s->dir: refuse a directory that is neither empty nor a
 * search of this grid (this run's journal, or a grid.yaml with the same bytes), create it,
 * and lock the journal this run writes (shards of one directory lock different journals
 * and may run at once). Returns -1 to go on, or an exit status after one line. */
static int claim_out_dir(search *s, const char *gt, size_t tl, const char *gp)
{
    fg_err err;
    int st = od_dir_state(s->dir);
    if (st == OD_NOT_DIR) {
        fprintf(stderr, "fmnist-grid: %s: exists and is not a directory; give another --out DIR\n", s->dir);
        return EXIT_INPUT;
    }
    if (st == OD_FILES && access(s->journal_path, F_OK) != 0 &&
        (access(gp, F_OK) != 0 || place_grid_copy_would_clash(gt, tl, gp))) {
        if (access(gp, F_OK) == 0)
            fprintf(stderr, "fmnist-grid: %s: holds another grid file; this run belongs to a different search "
                            "(give another --out DIR)\n", gp);
        else
            fprintf(stderr, "fmnist-grid: %s: not empty and not a search of this grid (no journal, no same "
                            "grid.yaml); nothing written: give an empty or new --out DIR\n", s->dir);
        return EXIT_INPUT;
    }
    if (make_dirs(s->dir, &err)) {
        fg_print_error(err.msg);
        return EXIT_RUNTIME;
    }
    char lp[4300];
    snprintf(lp, sizeof lp, "%s.lock", s->journal_path);
    s->lock_fd = od_lock_take(lp, &err);
    if (s->lock_fd == -2) {
        fprintf(stderr, "fmnist-grid: %s: another fmnist-grid is writing this search (%s); wait for it to "
                        "end, or stop it (kill -USR1 saves its work), then resume\n", s->dir, err.msg);
        return EXIT_INPUT;
    }
    if (s->lock_fd < 0) {
        fg_print_error(err.msg);
        return EXIT_RUNTIME;
    }
    return -1;
}


/* The records of a journal being continued: tasks done (r->done_task, each counted once),
 * the running sums, and the refits done before (not again). */
static void count_recorded(search_run *r, const jnl_contents *jc)
{
    search *s = &r->s;
    const grid_options *o = grid_opts_c(r->g);
    for (int i = 0; i < jc->n; i++) {
        const jnl_entry *x = &jc->e[i];
        if (x->fold == JNL_REFIT && x->config >= 0 && x->config < s->n_configs)
            s->refit_state[x->config] = 2; /* refitted before: not again */
        if (x->fold < 0 || x->config < 0 || x->config >= s->n_configs || x->fold >= o->folds)
            continue;
        if (s->rg) { /* halving: into its iterations; a resource not the schedule's is refused */
            char why[200];
            if (search_halving_recorded(s, x, why, sizeof why))
                fprintf(stderr, "fmnist-grid: warning: %s: skipped: %s\n", s->journal_path, why);
            continue;
        }
        int t = x->config * o->folds + x->fold;
        if (r->done_task[t])
            continue; /* never counted twice */
        r->done_task[t] = 1;
        s->done++;
        if (x->status == NN_STATUS_OK) {
            s->sum[x->config] += x->val_acc;
            s->cnt[x->config]++;
        } else {
            s->bad[x->config]++;
            s->failed++;
        }
    }
}

/* A journal is there: continue that search if it is this one. Its header is compared
 * first, then every record is checked against it and the grid (a record that fails is
 * skipped with a warning, and its task runs again). Returns the exit status. */
static int resume_journal(search_run *r)
{
    search *s = &r->s;
    const cli *c = r->c;
    const char *gp = r->gp;
    fg_err err;
    jnl_header was;
    jnl_contents jc;
    memset(&jc, 0, sizeof jc);
    char why_not[1024];
    size_t cl;
    char *copy = NULL;
    grid *gcopy = NULL;
    int exit_code = EXIT_OK;
    if (jnl_read_header(s->journal_path, &was, &err)) {
        fprintf(stderr, "fmnist-grid: %s: cannot resume: %s\n", s->dir, err.msg);
        exit_code = EXIT_INPUT;
    } else if (was.grid_hash != r->h.grid_hash && c->resume_grid[0] && !strcmp(c->grid_path, gp)) {
        /* --resume DIR without a grid: DIR/grid.yaml itself was edited */
        results_grid_matches(gp, r->g, &was, s->journal_path, &err);
        fg_print_error(err.msg);
        exit_code = EXIT_INPUT;
    } else if (!results_same_search(&was, &r->h, why_not, sizeof why_not)) {
        fprintf(stderr, "fmnist-grid: %s: holds a different search, not resumed: %s\n", s->dir, why_not);
        exit_code = EXIT_INPUT;
    } else if (access(gp, F_OK) == 0 &&
               (fg_read_file(gp, RPT_GRID_TEXT_MAX, "grid file", &copy, &cl, &err) ||
                grid_load_string(copy, cl, gp, &gcopy, &err) ||
                results_grid_matches(gp, gcopy, &was, s->journal_path, &err))) {
        /* the grid given matches, but DIR/grid.yaml (what `report DIR` reads) does not */
        fg_print_error(err.msg);
        exit_code = EXIT_INPUT;
    } else if (access(gp, F_OK) != 0 && copy_file(r->gt, r->tl, gp, &err)) {
        fg_print_error(err.msg); /* a shard directory without its grid copy: restore it */
        exit_code = EXIT_RUNTIME;
    } else if (results_load_journal(s->journal_path, r->g, &jc, &err)) {
        fprintf(stderr, "fmnist-grid: %s: cannot resume: %s\n", s->dir, err.msg);
        exit_code = EXIT_INPUT;
    } else if (jnl_open_append(s->journal_path, &s->journal, &err)) {
        fg_print_error(err.msg);
        exit_code = EXIT_RUNTIME;
    } else {
        r->resuming = 1;
        results_warn_skipped(s->journal_path, &jc);
        r->session_no = fin_next_session(jc.s, jc.n_sessions, NULL);
        count_recorded(r, &jc);
    }
    free(copy);
    grid_free(gcopy);
    jnl_contents_free(&jc);
    return exit_code;
}

/* A new search (or a new shard of a directory): the directory, its grid copy and the
 * journal, made while signals wait (never half-made). Returns the exit status. */
static int create_journal(search_run *r)
{
    search *s = &r->s;
    const cli *c = r->c;
    fg_err err;
    if (c->resume_dir) {
        fprintf(stderr, "fmnist-grid: %s: nothing to resume (no journal.jsonl)\n", s->dir);
        return EXIT_INPUT;
    }
    if (!c->n_shards && !dir_is_unused(s->dir)) {
        fprintf(stderr, "fmnist-grid: %s: already holds files of a search; give another --out DIR\n", s->dir);
        return EXIT_INPUT;
    }
    if (c->n_shards && place_grid_copy_would_clash(r->gt, r->tl, r->gp)) {
        fprintf(stderr, "fmnist-grid: %s: holds another grid file; this shard belongs to a different "
                        "search (give another --out DIR)\n", r->gp);
        return EXIT_INPUT;
    }
    int exit_code = EXIT_OK;
    /* A signal now waits until the directory is complete: never half-made. */
    signals_defer(1);
    if (make_dirs(s->dir, &err) || place_grid_copy(r->gt, r->tl, r->gp, c->n_shards > 0, &err) ||
        jnl_create(s->journal_path, &r->h, &s->journal, &err)) {
        fg_print_error(err.msg);
        exit_code = EXIT_RUNTIME;
    }
    signals_defer(0);
    return exit_code;
}

void sdir_open(search_run *r)
{
    struct stat jst;
    int oom = search_alloc(&r->s) || !r->order || !r->done_task;
    int claim = claim_out_dir(&r->s, r->gt, r->tl, r->gp);
    if (claim >= 0) {
        r->exit_code = claim; /* refused or not created: said in one line, nothing written */
    } else if (oom) {
        fprintf(stderr, "fmnist-grid: out of memory\n");
        r->exit_code = EXIT_RUNTIME;
    } else if (stat(r->s.journal_path, &jst) == 0) {
        r->exit_code = resume_journal(r);
    } else {
        r->exit_code = create_journal(r);
    }
    if (r->exit_code == EXIT_OK) {
        /* From here a signal before the first task leaves DIR set up, without records. */
        char note[8400];
        snprintf(note, sizeof note,
                 " during start-up, before any task ran; %s is set up: continue with: fmnist-grid --resume %s",
                 r->s.dir, r->s.dir);
        signals_note(note);
    }
}
