/* cmd_simulate.c - simulate DIR: a finished search's recorded task times replayed
 * through the scheduler's dispatch for other rank counts. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dispatch.h"
#include "order.h"
#include "results.h"
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
