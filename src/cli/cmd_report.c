/* cmd_report.c - report DIR: the journals of a results directory merged, the best
 * configuration refitted when due (finish.c), the reports written. A halving search's
 * tasks and best are those of its journal replayed through rungs (report_halving.h). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "data.h"
#include "finish.h"
#include "outdir.h"
#include "prepare.h"
#include "report.h"
#include "report_halving.h"
#include "results.h"

/* report DIR: lock DIR/journal.jsonl.lock, which a running (unsharded) search of DIR holds
 * until it has written its reports: two writers of one report are refused, with the holder
 * named. Shards lock their own journals, so a partial report while they run is fine. The
 * BLAS threads of a refit are the recorded ones unless --threads is given; a different
 * --threads is refused. Returns -1 to go on (*lock_fd held), or an exit status. */
static int report_claim(const char *dir, const jnl_header *h, const cli *c, int *threads, int *lock_fd)
{
    fg_err err;
    if (c->threads_set && h->threads > 0 && c->threads != h->threads) {
        fprintf(stderr, "fmnist-grid: %s: %d BLAS threads, recorded %d (--threads %d given; threads change "
                        "results in the last bits): leave the option out\n", dir, c->threads, h->threads, c->threads);
        return EXIT_INPUT;
    }
    if (!c->threads_set && h->threads > 0)
        *threads = h->threads;
    char lp[4400];
    snprintf(lp, sizeof lp, "%s/journal.jsonl.lock", dir);
    *lock_fd = od_lock_take(lp, &err);
    if (*lock_fd == -2) {
        fprintf(stderr, "fmnist-grid: %s: a search is running in it (%s) and writes the reports when it ends; "
                        "run report then (kill -USR1 ends it with a partial report)\n", dir, err.msg);
        return EXIT_INPUT;
    }
    if (*lock_fd < 0) {
        fg_print_error(err.msg);
        return EXIT_RUNTIME;
    }
    return -1;
}

/* One run of report DIR. */
typedef struct {
    const cli *c;
    const char *dir, *data_dir;
    grid *g;
    results r;
    int threads;
    char *seen;           /* per task: recorded */
    int64_t total, done, dups;
    int halving;          /* a halving search: hv is its journal read through rungs */
    rpt_halving hv;
    prep_data pd;
    int have_data;        /* pd holds the data (the refit loaded it) */
    char cmd[4096], host[64], started[32];
    double t0;
} report_run;

/* A halving search's tasks: those of its schedule, done when they count (rungs); the
 * records that do not count (speculative work on candidates not promoted, repeats) are
 * the "dups". Returns 0, or -1 after printing why the journal cannot be read so. */
static int count_halving(report_run *p)
{
    fg_err err;
    rpt_halving_free(&p->hv);
    if (rpt_halving_of(p->g, &p->r.h, rpt_n_searched(&p->r.h, p->r.s, p->r.ns, 0), p->r.e, p->r.n, &p->hv, &err)) {
        fprintf(stderr, "fmnist-grid: %s: %s\n", p->dir, err.msg);
        return -1;
    }
    p->total = p->hv.tasks_total;
    p->done = p->hv.tasks_done;
    p->dups = p->hv.n_uncounted;
    return 0;
}

/* The tasks the journals record (seen), how many, and how many more than once. */
static void count_tasks(report_run *p)
{
    const grid_options *o = grid_opts_c(p->g);
    int64_t nc = grid_n_configs(p->g);
    p->total = nc * o->folds;
    p->seen = calloc((size_t)p->total, 1);
    for (int i = 0; p->seen && i < p->r.n; i++) {
        const jnl_entry *x = &p->r.e[i];
        if (x->fold < 0 || x->fold >= o->folds || x->config < 0 || x->config >= nc)
            continue;
        int64_t t = (int64_t)x->config * o->folds + x->fold;
        if (p->seen[t])
            p->dups++;
        else
            p->done++;
        p->seen[t] = 1;
    }
}

/* The best configuration's model: refitted once everything is done, as the single-job
 * search would have (then the journals are read again), or rebuilt when it was refitted
 * before but model.fgm was lost with the process that wrote it. Returns the exit status;
 * *stop is set after a failed write (said in one line: write nothing more). */
static int report_model(report_run *p, int *stop)
{
    const cli *c = p->c;
    fg_err err;
    int64_t best = p->halving ? p->hv.best : results_best(p->g, p->r.e, p->r.n); /* halving: rungs_best */
    const jnl_entry *rec = results_refit_of(p->r.e, p->r.n, best);
    int exit_code = EXIT_OK;
    if (p->done == p->total && best >= 0 && grid_opts_c(p->g)->refit && !c->no_refit && !rec) {
        exit_code = fin_report_refit(p->dir, p->g, &p->r, best, p->data_dir, c->quiet, p->threads, p->cmd, p->host,
                                     p->started, p->t0, &p->pd, &p->have_data);
        *stop = exit_code == EXIT_RUNTIME;
        results_free(&p->r);
        if (!*stop && results_read(p->dir, p->g, &p->r, &err)) {
            fg_print_error(err.msg);
            exit_code = EXIT_RUNTIME;
        }
    } else if (rec && !c->no_refit) {
        if (fin_rebuild_from_data(p->dir, p->g, &p->r.h, best, rec, p->data_dir, p->threads, c->quiet) < 0) {
            exit_code = EXIT_RUNTIME;
            *stop = 1;
        }
    }
    return exit_code;
}

/* What a partial report misses (the first 20 tasks) and the tasks recorded twice. */
static void say_missing(const report_run *p)
{
    const grid_options *o = grid_opts_c(p->g);
    if (p->halving) {
        if (p->done < p->total && !p->c->quiet)
            fprintf(stderr, "fmnist-grid: %lld of %lld tasks of the halving schedule are missing; partial report\n",
                    (long long)(p->total - p->done), (long long)p->total);
        if (p->dups && !p->c->quiet)
            fprintf(stderr, "fmnist-grid: %lld task result(s) do not count (speculative work on candidates not "
                            "promoted, or recorded twice)\n", (long long)p->dups);
        return;
    }
    if (p->done < p->total && !p->c->quiet) {
        fprintf(stderr, "fmnist-grid: %lld of %lld tasks are missing; partial report. Missing:",
                (long long)(p->total - p->done), (long long)p->total);
        int shown = 0;
        for (int64_t t = 0; p->seen && t < p->total && shown < 20; t++)
            if (!p->seen[t]) {
                fprintf(stderr, "%s config %lld fold %lld", shown ? "," : "", (long long)(t / o->folds),
                        (long long)(t % o->folds));
                shown++;
            }
        fprintf(stderr, "%s\n", p->total - p->done > 20 ? ", ..." : "");
    }
    if (p->dups && !p->c->quiet)
        fprintf(stderr, "fmnist-grid: %lld task(s) recorded more than once; the first record counts\n",
                (long long)p->dups);
}

/* The reports, from the merged journals, with this process's environment. Returns the
 * exit status. */
static int report_write(report_run *p)
{
    const results *r = &p->r;
    fg_err err;
    rpt_env env;
    fin_fill_env(&env, p->cmd, p->host, p->started, p->data_dir, 1, p->threads, 0, fg_now() - p->t0,
                 p->have_data ? &p->pd : NULL, &r->h);
    env.sessions = r->s;
    env.n_sessions = r->ns;
    env.regenerated_utc = p->started;
    env.regenerated_by = p->cmd;
    env.regenerated_host = p->host;
    /* A journal older than session records does not say which test set the refit
     * was scored on: the data directory's test set it is (its CRC-32 only). */
    int recorded = 0;
    for (int i = 0; i < r->ns; i++)
        recorded |= r->s[i].test_images_crc32 || r->s[i].test_labels_crc32;
    data_set test;
    memset(&test, 0, sizeof test);
    if (!recorded && !p->have_data && data_load_dir(p->data_dir, DATA_TEST, &test, &err) == 0) {
        env.test_images_crc32 = test.images_crc32;
        env.test_labels_crc32 = test.labels_crc32;
        env.n_test = test.n;
    }
    data_free(&test);
    env.interrupted = p->done < p->total;
    if (fin_write(p->dir, p->g, &r->h, r->e, r->n, &env, r->refit_path[0] ? r->refit_path : NULL, p->c->quiet))
        return EXIT_RUNTIME;
    say_missing(p);
    printf("%s/report.md (%lld of %lld tasks from %d journal%s)\n", p->dir, (long long)p->done,
           (long long)p->total, r->n_files, r->n_files == 1 ? "" : "s");
    return EXIT_OK;
}

int cmd_report(int argc, char **argv, const cli *c)
{
    report_run *p = calloc(1, sizeof *p);
    if (!p) {
        fg_print_error("out of memory");
        return EXIT_RUNTIME;
    }
    p->c = c;
    p->dir = c->report_dir;
    p->t0 = fg_now();
    if (results_open(p->dir, &p->g, &p->r)) {
        free(p);
        return EXIT_INPUT;
    }
    p->threads = c->threads;
    int lock_fd = -1;
    int exit_code = report_claim(p->dir, &p->r.h, c, &p->threads, &lock_fd);
    if (exit_code < 0) {
        grid_options *o = grid_opts(p->g);
        o->seed = p->r.h.seed;
        o->cv_seed = p->r.h.cv_seed;
        o->subset = p->r.h.subset;
        p->halving = rpt_is_halving(p->g);
        if (!p->halving)
            count_tasks(p);
        else if (count_halving(p))
            exit_code = EXIT_INPUT;
        struct stat dst;
        p->data_dir = !c->data_dir && p->r.h.data_dir[0] && stat(p->r.h.data_dir, &dst) == 0 && S_ISDIR(dst.st_mode)
                          ? p->r.h.data_dir /* the search's own, as a resume takes it */
                          : cli_data_dir(c, o);
        fg_join_argv(argc, argv, p->cmd, sizeof p->cmd);
        gethostname(p->host, sizeof p->host - 1);
        fg_utc_stamp(p->started, sizeof p->started, 0);
        int stop = exit_code == EXIT_INPUT;
        if (!stop)
            exit_code = report_model(p, &stop);
        if ((p->r.e || p->r.n_files) && !stop && report_write(p) != EXIT_OK)
            exit_code = EXIT_RUNTIME;
    }
    rpt_halving_free(&p->hv);
    free(p->seen);
    results_free(&p->r);
    prep_free(&p->pd);
    grid_free(p->g);
    od_lock_release(lock_fd);
    free(p);
    return exit_code;
}
