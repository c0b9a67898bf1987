/* cmd_simulate.c - simulate DIR: a finished search's recorded task times replayed
 * through the scheduler's dispatch for other rank counts. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cv.h"
#include "dispatch.h"
#include "order.h"
#include "results.h"
#include "rungs.h"
#include "search.h"
#include "task.h"

/* Parses "16,64,256" into ranks (up to max); returns the count, or -1. */
static int parse_rank_list(const char *s, int *ranks, int max)
{
    int n = 0;
    while (*s) {
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (end == s || errno || v < 1 || v > 1000000 || n == max || (*end && *end != ','))
            return -1;
        ranks[n++] = (int)v;
        s = *end ? end + 1 : end;
        if (*end && !*s)
            return -1;
    }
    return n;
}

/* The --ranks list (default 1, 2, 4, ..., 1024) into ranks; returns the count, or -1
 * after saying why. */
static int rank_counts(const cli *c, int *ranks)
{
    int nr;
    if (c->sim_ranks) {
        nr = parse_rank_list(c->sim_ranks, ranks, 64);
        if (nr <= 0) {
            fprintf(stderr, "fmnist-grid: --ranks: '%s' is not a list like 16,64,256 (1..1000000, at most 64)\n",
                    c->sim_ranks);
            return -1;
        }
    } else {
        for (nr = 0; nr < 11; nr++)
            ranks[nr] = 1 << nr;
    }
    return nr;
}

/* The recorded tasks of the journals: their seconds (sec) and configurations (cfg_of),
 * renumbered densely; the training images of a fold (*n_train) and the refit's seconds
 * (*refit, NaN without). Returns how many tasks are recorded. */
static int recorded_times(const results *rs, int64_t nc, int folds, double *sec, int64_t *cfg_of, int *n_train,
                          double *refit)
{
    const jnl_entry *e = rs->e;
    int64_t total = nc * folds;
    for (int64_t t = 0; t < total; t++)
        sec[t] = -1;
    for (int i = 0; i < rs->n; i++) {
        if (e[i].config < 0 || e[i].config >= nc)
            continue;
        if (e[i].fold == JNL_REFIT) {
            *refit = e[i].fit_time + e[i].score_time;
            continue;
        }
        if (e[i].fold < 0 || e[i].fold >= folds)
            continue;
        sec[(int64_t)e[i].config * folds + e[i].fold] = e[i].fit_time + e[i].score_time;
        if (!*n_train)
            *n_train = e[i].n_train;
    }
    int m = 0;
    for (int64_t t = 0; t < total; t++)
        if (sec[t] >= 0) {
            sec[m] = sec[t];
            cfg_of[m++] = t / folds;
        }
    return m;
}

/* Replays the m recorded tasks (seconds sec, configurations cfg_of) through the dispatch
 * for each rank count; prints the wall times against the lower bound. Returns the exit
 * status. */
static int replay(const cli *c, const grid *g, const results *rs, const double *sec, const int64_t *cfg_of, int m,
                  const uint64_t *key, int n_train, double refit, const int *ranks, int nr)
{
    fg_err err;
    int64_t nc = grid_n_configs(g);
    int64_t total = nc * grid_opts_c(g)->folds;
    int exit_code = EXIT_OK;
    int32_t *fam = ord_families(key, (int32_t)nc);
    double *cost = malloc((size_t)m * sizeof *cost);
    int32_t *group = malloc((size_t)m * sizeof *group);
    double sum = 0, longest = 0;
    if (!fam || !cost || !group) {
        fprintf(stderr, "fmnist-grid: out of memory\n");
        exit_code = EXIT_RUNTIME;
    }
    for (int i = 0; exit_code == EXIT_OK && i < m; i++) {
        cost[i] = task_cost(g, cfg_of[i], n_train > 0 ? n_train : 1);
        group[i] = (int32_t)cfg_of[i];
        sum += sec[i];
        if (sec[i] > longest)
            longest = sec[i];
    }
    if (exit_code == EXIT_OK) {
        if (c->csv)
            printf("ranks,makespan_s,bound_s,ratio\n");
        else
            printf("%s: %d of %lld tasks recorded, %.1f s of work, longest %.1f s%s\n"
                   "%8s %12s %12s %8s\n", c->simulate, m, (long long)total, sum, longest,
                   m < total ? " (unrecorded tasks left out)" : "",
                   "ranks", "makespan s", "bound s", "ratio");
    }
    for (int r = 0; exit_code == EXIT_OK && r < nr; r++) {
        double ms = 0;
        if (dsp_simulate(m, cost, group, (int)nc, fam, sec, ranks[r], &ms, &err)) {
            fg_print_error(err.msg);
            exit_code = EXIT_RUNTIME;
            break;
        }
        double bound = fmax(sum / ranks[r], longest);
        if (c->csv)
            printf("%d,%.3f,%.3f,%.4f\n", ranks[r], ms, bound, bound > 0 ? ms / bound : 1.0);
        else
            printf("%8d %12.1f %12.1f %8.3f\n", ranks[r], ms, bound, bound > 0 ? ms / bound : 1.0);
    }
    if (exit_code == EXIT_OK && !c->csv && !isnan(refit))
        printf("refit: %.1f s more, less what runs early on ranks waiting for the last folds\n", refit);
    if (exit_code == EXIT_OK && !c->csv && rs->h.base_configs > 0) /* base.c: before any task */
        printf("frozen base: %.1f s more, once per node before the tasks (the tasks above train "
               "the heads of %d configuration%s)\n", rs->h.base_seconds, rs->h.base_configs,
               rs->h.base_configs == 1 ? "" : "s");
    free(fam), free(cost), free(group);
    return exit_code;
}

/* ---- a halving search: its policy (search_halving.c) replayed on simulated workers ---- */

/* A halving search's recorded tasks, by id iter x n_tasks + task: seconds (-1 when not
 * recorded: speculative work the run did not do) and score (NaN for a failure). */
typedef struct {
    double *sec, *score;
    int n_ids;
    double mean_sec[HALV_MAX_ITER]; /* per iteration, of its recorded tasks (a stand-in) */
    double sum_counted, longest;
    int m;
} halv_times;

static int halv_times_read(const results *rs, const search *s, halv_times *h)
{
    h->n_ids = s->hsch.n_iterations * s->n_tasks;
    h->sec = malloc((size_t)h->n_ids * sizeof *h->sec);
    h->score = malloc((size_t)h->n_ids * sizeof *h->score);
    if (!h->sec || !h->score)
        return -1;
    int cnt[HALV_MAX_ITER] = {0};
    for (int i = 0; i < h->n_ids; i++)
        h->sec[i] = -1;
    for (int i = 0; i < rs->n; i++) {
        const jnl_entry *e = &rs->e[i];
        if (e->fold < 0 || e->fold >= s->folds || e->config < 0 || e->config >= s->n_configs ||
            e->iter < 0 || e->iter >= s->hsch.n_iterations || e->n_resources != s->hsch.n_resources[e->iter])
            continue;
        int id = e->iter * s->n_tasks + e->config * s->folds + e->fold;
        if (h->sec[id] >= 0)
            continue; /* the first record counts */
        h->sec[id] = e->fit_time + e->score_time;
        h->score[id] = e->status == NN_STATUS_OK ? e->val_acc : NAN;
        h->mean_sec[e->iter] += h->sec[id];
        cnt[e->iter]++;
        h->m++;
    }
    for (int i = 0; i < s->hsch.n_iterations; i++)
        h->mean_sec[i] = cnt[i] ? h->mean_sec[i] / cnt[i] : 0;
    return 0;
}

/* The seconds task id takes: recorded, or its iteration's mean. */
static double halv_sec(const halv_times *h, const search *s, int32_t id)
{
    return h->sec[id] >= 0 ? h->sec[id] : h->mean_sec[id / s->n_tasks];
}

/* The work that counts (the candidates' tasks) and the longest of it, from a finished run. */
static void halv_counted(const search *s, halv_times *h)
{
    h->sum_counted = h->longest = 0;
    for (int32_t id = 0; id < h->n_ids; id++) {
        int it = id / s->n_tasks, t = id % s->n_tasks;
        if (!rungs_done(s->rg, it, t / s->folds, t % s->folds))
            continue;
        h->sum_counted += halv_sec(h, s, id);
        h->longest = fmax(h->longest, halv_sec(h, s, id));
    }
}

/* One simulated run of s (settings set, nothing allocated) on `workers` workers, tasks of
 * cost[] and families fam[]: the makespan, or -1 with err. */
static int halv_sim(search *s, const double *cost, const int32_t *fam, halv_times *h, jnl_record *rec, int workers,
                    double *makespan, fg_err *err)
{
    double *end = malloc((size_t)workers * sizeof *end);
    int32_t *task = malloc((size_t)workers * sizeof *task);
    int bad = !end || !task || search_alloc(s) || !(s->family = malloc((size_t)s->n_configs * sizeof *fam));
    if (!bad) {
        memcpy(s->cost, cost, (size_t)s->n_tasks * sizeof *cost);
        memcpy(s->family, fam, (size_t)s->n_configs * sizeof *fam);
        bad = search_halving_queue(s, err);
    }
    double now = 0;
    int64_t refit;
    for (int w = 0; !bad && w < workers; w++)
        task[w] = -1;
    while (!bad) {
        for (int w = 0; w < workers; w++) /* every idle worker asks for a task */
            if (task[w] < 0 && (task[w] = search_halving_next(s, &refit)) >= 0)
                end[w] = now + halv_sec(h, s, task[w]);
        int w = dsp_earliest(task, end, workers);
        if (w < 0)
            break;
        now = end[w];
        int32_t t = task[w] % s->n_tasks;
        rec->e.config = t / s->folds;
        rec->e.fold = t % s->folds;
        rec->e.fit_time = halv_sec(h, s, task[w]);
        rec->e.val_acc = (float)h->score[task[w]];
        rec->e.status = h->sec[task[w]] >= 0 && !isnan(h->score[task[w]]) ? NN_STATUS_OK : NN_STATUS_FAILED;
        s->in_flight--;
        bad = search_halving_result(s, task[w], rec);
        task[w] = -1;
    }
    *makespan = now;
    int complete = !bad && rungs_current(s->rg) == rungs_n_iterations(s->rg);
    if (complete)
        halv_counted(s, h);
    search_free(s);
    free(end), free(task);
    if (bad)
        return fg_err_set(err, "out of memory simulating %d workers", workers);
    return complete ? 0 : fg_err_set(err, "the journal does not complete every iteration: nothing to replay");
}

/* The settings of the halving search of g recorded in rs (schedule, tasks): 0, or -1 with
 * err. *n_train: a fold's training images. */
static int halv_setup(grid *g, const results *rs, search *s, int *n_train, fg_err *err)
{
    memset(s, 0, sizeof *s);
    s->g = g;
    s->quiet = 1;
    s->n_configs = grid_n_configs(g);
    s->folds = grid_opts_c(g)->folds;
    s->n_tasks = (int)(s->n_configs * s->folds);
    s->halving = 1;
    int n_searched = rs->h.subset > 0 ? rs->h.subset : 0;
    for (int i = 0; !n_searched && i < rs->n; i++) /* the refit trains on every image searched */
        if (rs->e[i].fold == JNL_REFIT)
            n_searched = rs->e[i].n_train;
    *n_train = cv_n_train(n_searched, s->folds, grid_opts_c(g)->validation_split);
    return rungs_schedule(g, n_searched, rs->h.classes > 0 ? rs->h.classes : GRID_INPUT_CLASSES, &s->hsch, err);
}

/* Replays a halving search for each rank count: the iterations' ends, the promotions and
 * the speculation on the leaders as the coordinator decides them (search_halving.c), with
 * the recorded times (a task the run did not record, speculative work it never did, takes
 * its iteration's mean). The bound: the work that counts over the ranks, or its longest
 * task. Returns the exit status. */
static int replay_halving(const cli *c, grid *g, const results *rs, const int *ranks, int nr)
{
    fg_err err;
    search s;
    halv_times h;
    int n_train = 0;
    memset(&s, 0, sizeof s);
    memset(&h, 0, sizeof h);
    uint64_t *key = malloc((size_t)grid_n_configs(g) * sizeof *key);
    jnl_record *rec = calloc(1, sizeof *rec);
    double *cost = NULL;
    int32_t *fam = NULL;
    int exit_code = EXIT_OK;
    if (!key || !rec) {
        fprintf(stderr, "fmnist-grid: out of memory\n");
        exit_code = EXIT_RUNTIME;
    } else if (halv_setup(g, rs, &s, &n_train, &err) || ord_arch_keys(g, key, &err)) {
        fg_print_error(err.msg);
        exit_code = EXIT_INPUT;
    } else if (halv_times_read(rs, &s, &h) || !(fam = ord_families(key, (int32_t)s.n_configs)) ||
               !(cost = malloc((size_t)s.n_tasks * sizeof *cost))) {
        fprintf(stderr, "fmnist-grid: out of memory\n");
        exit_code = EXIT_RUNTIME;
    }
    for (int t = 0; exit_code == EXIT_OK && t < s.n_tasks; t++)
        cost[t] = task_cost(g, t / s.folds, n_train > 0 ? n_train : 1);
    for (int r = 0; exit_code == EXIT_OK && r < nr; r++) {
        double ms = 0;
        search run = s;
        run.n_workers = ranks[r];
        if (halv_sim(&run, cost, fam, &h, rec, ranks[r], &ms, &err)) {
            fg_print_error(err.msg);
            exit_code = EXIT_INPUT;
            break;
        }
        if (r == 0 && c->csv)
            printf("ranks,makespan_s,bound_s,ratio\n");
        else if (r == 0)
            printf("%s: successive halving, %d iterations; %d tasks recorded, %.1f s of work that counts, "
                   "longest %.1f s\n%8s %12s %12s %8s\n", c->simulate, s.hsch.n_iterations, h.m, h.sum_counted,
                   h.longest, "ranks", "makespan s", "bound s", "ratio");
        double bound = fmax(h.sum_counted / ranks[r], h.longest);
        if (c->csv)
            printf("%d,%.3f,%.3f,%.4f\n", ranks[r], ms, bound, bound > 0 ? ms / bound : 1.0);
        else
            printf("%8d %12.1f %12.1f %8.3f\n", ranks[r], ms, bound, bound > 0 ? ms / bound : 1.0);
    }
    free(fam), free(key), free(rec), free(cost), free(h.sec), free(h.score);
    return exit_code;
}

int cmd_simulate(int argc, char **argv, const cli *c)
{
    const char *dir = c->simulate;
    int ranks[64];
    int nr = rank_counts(c, ranks);
    if (nr < 0)
        return EXIT_INPUT;
    fg_err err;
    grid *g = NULL;
    results rs;
    if (results_open(dir, &g, &rs))
        return EXIT_INPUT;
    if (grid_search_of(g)->strategy == GRID_SEARCH_HALVING) {
        int rc = replay_halving(c, g, &rs, ranks, nr);
        results_free(&rs);
        grid_free(g);
        return rc;
    }
    int64_t nc = grid_n_configs(g);
    int folds = grid_opts_c(g)->folds;
    int64_t total = nc * folds;
    int exit_code = EXIT_OK;
    double *sec = malloc((size_t)total * sizeof *sec);
    int64_t *cfg_of = malloc((size_t)total * sizeof *cfg_of);
    uint64_t *key = malloc((size_t)nc * sizeof *key);
    int n_train = 0, m = 0;
    double refit = NAN;
    if (!sec || !cfg_of || !key) {
        fprintf(stderr, "fmnist-grid: out of memory\n");
        exit_code = EXIT_RUNTIME;
    } else if ((m = recorded_times(&rs, nc, folds, sec, cfg_of, &n_train, &refit)) == 0) {
        fprintf(stderr, "fmnist-grid: %s: the journal records no finished task to replay\n", dir);
        exit_code = EXIT_INPUT;
    } else if (ord_arch_keys(g, key, &err)) {
        fg_print_error(err.msg);
        exit_code = EXIT_INPUT;
    } else {
        exit_code = replay(c, g, &rs, sec, cfg_of, m, key, n_train, refit, ranks, nr);
    }
    free(sec), free(cfg_of), free(key);
    results_free(&rs);
    grid_free(g);
    return exit_code;
}
