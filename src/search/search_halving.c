/* search_halving.c - the coordinator's policy for a successive-halving search (search.h):
 * the task ids of its iterations, the queue of the current iteration, the speculation on
 * the next iteration's leaders while the current one ends, the results that count (rungs.c)
 * and the journal of a resumed search read into them. Results do not depend on the number
 * of ranks: which configurations are promoted depends only on the scores (rungs), and
 * every task trains from its own seed whoever runs it and whenever. */
#define _POSIX_C_SOURCE 200809L
#include "search.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn.h"
#include "order.h"

int search_halving_ids(const halv_schedule *sch, halv_resource r, int64_t n_configs, int folds,
                       task_halving *h, fg_err *err)
{
    memset(h, 0, sizeof *h);
    int64_t n_tasks = n_configs * folds;
    if (n_tasks * sch->n_iterations + n_configs > INT32_MAX)
        return fg_err_set(err, "halving: %d iterations x %lld tasks + %lld refits do not fit in the "
                          "scheduler's 32-bit task ids (%d); search fewer configurations or folds",
                          sch->n_iterations, (long long)n_tasks, (long long)n_configs, INT32_MAX);
    h->n_iter = sch->n_iterations;
    h->n_tasks = (int32_t)n_tasks;
    h->resource = (int32_t)r;
    h->max_resources = sch->max_resources;
    for (int i = 0; i < sch->n_iterations; i++)
        h->res[i] = sch->n_resources[i];
    return 0;
}

int search_halving_task_ids(const grid *g, int n_searched, int n_classes, task_halving *h, fg_err *err)
{
    memset(h, 0, sizeof *h);
    if (grid_search_of(g)->strategy != GRID_SEARCH_HALVING)
        return 0;
    halv_schedule sch;
    if (rungs_schedule(g, n_searched, n_classes, &sch, err))
        return -1;
    return search_halving_ids(&sch, grid_search_of(g)->resource, grid_n_configs(g), grid_opts_c(g)->folds, h, err);
}

int search_halving_init(search *s, fg_err *err)
{
    s->hstate = calloc((size_t)s->hsch.n_iterations * (size_t)s->n_tasks, 1);
    double *cost = malloc((size_t)s->n_configs * sizeof *cost);
    if (!s->hstate || !cost) {
        free(cost);
        return fg_err_set(err, "out of memory");
    }
    for (int64_t c = 0; c < s->n_configs; c++) /* the reports' tie-break: parameters x epochs */
        cost[c] = s->rank_cfg[c].cost;
    s->rg = rungs_new(&s->hsch, grid_search_of(s->g)->factor ? grid_search_of(s->g)->factor
                                                             : HALV_FACTOR_DEFAULT,
                      s->n_configs, s->folds, cost, err);
    free(cost);
    s->refit_base = s->hsch.n_iterations * s->n_tasks;
    s->h_iter = -1;
    return s->rg ? 0 : -1;
}

int search_halving_total(const search *s)
{
    int64_t n = 0;
    for (int i = 0; i < s->hsch.n_iterations; i++)
        n += (int64_t)s->hsch.n_candidates[i] * s->folds;
    return (int)n;
}

/* What one task of iteration it costs, as a fraction of a full task of configuration c. */
static double cost_scale(const search *s, int it, int64_t c)
{
    double res = (double)s->hsch.n_resources[it];
    if (grid_search_of(s->g)->resource == HALV_SAMPLES)
        return res / (double)s->hsch.max_resources;
    int ep = s->rank_cfg[c].epochs;
    return ep > 0 && res < ep ? res / ep : 1.0;
}

int search_halving_queue(search *s, fg_err *err)
{
    int it = rungs_current(s->rg);
    dsp_free(s->queue);
    s->queue = NULL;
    s->h_iter = it;
    int nc = it < rungs_n_iterations(s->rg) ? rungs_n_candidates(s->rg, it) : 0;
    double *cost = malloc((size_t)s->n_tasks * sizeof *cost);
    int32_t *pending = malloc(((size_t)nc * (size_t)s->folds + 1) * sizeof *pending);
    if (!cost || !pending) {
        free(cost);
        free(pending);
        return fg_err_set(err, "out of memory for the dispatch queue");
    }
    for (int t = 0; t < s->n_tasks; t++)
        cost[t] = s->cost[t] * cost_scale(s, it < rungs_n_iterations(s->rg) ? it : 0, t / s->folds);
    int np = 0;
    const char *st = s->hstate + (size_t)(it < rungs_n_iterations(s->rg) ? it : 0) * (size_t)s->n_tasks;
    for (int i = 0; i < nc; i++)
        for (int f = 0; f < s->folds; f++) {
            int32_t t = (int32_t)(rungs_candidate(s->rg, it, i) * s->folds + f);
            if (!st[t])
                pending[np++] = t;
        }
    s->queue = ord_make_queue(cost, s->n_tasks, s->folds, s->family, (int32_t)s->n_configs, pending, np, err);
    free(cost);
    free(pending);
    s->n_pending = np;
    return s->queue ? 0 : -1;
}

/* Marks task t of iteration it handed out and returns its id. */
static int32_t hand_out(search *s, int it, int32_t t)
{
    int32_t id = it * s->n_tasks + t;
    s->hstate[id] = 1;
    s->in_flight++;
    return id;
}

/* Iteration it's queue is empty but some of its tasks still run: the next iteration's task
 * of the leaders so far (best first, folds in order) not handed out yet, or -1. */
static int32_t speculate(search *s, int it)
{
    if (s->h_no_spec) /* idle ranks poll: the leaders change only with a result */
        return -1;
    int k = s->hsch.n_candidates[it + 1];
    int64_t *lead = malloc((size_t)k * sizeof *lead);
    if (!lead)
        return -1; /* no speculation: the iteration's end hands out the rest */
    int n = rungs_leaders(s->rg, it, lead, k);
    int32_t id = -1;
    const char *st = s->hstate + (size_t)(it + 1) * (size_t)s->n_tasks;
    for (int i = 0; i < n && id < 0; i++)
        for (int f = 0; f < s->folds && id < 0; f++) {
            int32_t t = (int32_t)(lead[i] * s->folds + f);
            if (!st[t])
                id = hand_out(s, it + 1, t);
        }
    free(lead);
    s->h_no_spec = id < 0;
    return id;
}

int32_t search_halving_next(search *s, int64_t *refit)
{
    int cur = rungs_current(s->rg), n_it = rungs_n_iterations(s->rg);
    *refit = -1;
    if (cur == n_it) { /* every iteration is complete: the best is known */
        if (s->refit_in_sched && s->final_best >= 0 && !s->refit_state[s->final_best])
            *refit = s->final_best;
        return -1;
    }
    if (dsp_left(s->queue) > 0)
        return hand_out(s, cur, dsp_next(s->queue));
    if (cur + 1 < n_it)
        return speculate(s, cur);
    /* the last iteration's tasks are all out: refit its leader while they end (as the
     * exhaustive search does), once every fold of the leader is in */
    int64_t b;
    if (s->refit_in_sched && s->n_workers > 1 && !s->refits_running && rungs_leaders(s->rg, cur, &b, 1) == 1 &&
        !isnan(rungs_mean(s->rg, cur, b)) && !s->refit_state[b])
        *refit = b;
    return -1;
}

/* The best so far for the progress line: the best complete mean of the current iteration
 * (of the last one once every iteration is complete); none while no candidate has every
 * fold in. */
static void halving_tally(search *s)
{
    int cur = rungs_current(s->rg), n = 0;
    int64_t b = -1;
    if (cur == rungs_n_iterations(s->rg)) {
        b = rungs_best(s->rg);
        cur--;
    } else {
        int k = rungs_n_candidates(s->rg, cur);
        int64_t *lead = malloc((size_t)k * sizeof *lead);
        n = lead ? rungs_leaders(s->rg, cur, lead, k) : 0;
        for (int i = 0; i < n && b < 0; i++) /* by partial mean: the first complete one */
            if (!isnan(rungs_mean(s->rg, cur, lead[i])))
                b = lead[i];
        free(lead);
    }
    s->best_config = b;
    s->best_mean = b >= 0 ? rungs_mean(s->rg, cur, b) : NAN;
}

int search_halving_result(search *s, int32_t task, const jnl_record *r)
{
    int it = task / s->n_tasks;
    int32_t t = task % s->n_tasks;
    s->hstate[task] = 2;
    s->h_no_spec = 0;
    if (it == s->h_iter)
        dsp_observe(s->queue, t, r->e.fit_time + r->e.score_time);
    if (r->e.status != NN_STATUS_OK)
        s->failed++;
    rungs_add(s->rg, it, r->e.config, r->e.fold, r->e.status == NN_STATUS_OK ? r->e.val_acc : NAN);
    s->done = (int)rungs_n_counted(s->rg);
    int cur = rungs_current(s->rg);
    if (cur != s->h_iter && search_halving_queue(s, &s->err)) {
        s->fatal = 1;
        return -1;
    }
    if (cur == rungs_n_iterations(s->rg) && s->final_best == -2)
        s->final_best = rungs_best(s->rg);
    halving_tally(s);
    return 0;
}

int search_halving_recorded(search *s, const jnl_entry *x, char *why, size_t n)
{
    int it = x->iter;
    if (x->n_resources <= 0 || it < 0 || it >= s->hsch.n_iterations || x->n_resources != s->hsch.n_resources[it]) {
        snprintf(why, n, "configuration %d fold %d: iteration %d with n_resources %lld, not the schedule's %lld",
                 x->config, x->fold, it, (long long)x->n_resources,
                 it >= 0 && it < s->hsch.n_iterations ? (long long)s->hsch.n_resources[it] : -1LL);
        return -1;
    }
    int32_t id = it * s->n_tasks + x->config * s->folds + x->fold;
    if (s->hstate[id] == 2)
        return 0; /* the first record of a task counts */
    s->hstate[id] = 2;
    if (x->status != NN_STATUS_OK)
        s->failed++;
    rungs_add(s->rg, it, x->config, x->fold, x->status == NN_STATUS_OK ? x->val_acc : NAN);
    s->done = (int)rungs_n_counted(s->rg);
    if (rungs_current(s->rg) == rungs_n_iterations(s->rg))
        s->final_best = rungs_best(s->rg);
    halving_tally(s);
    return 0;
}
