/* report_halving.c - a halving search's journal replayed through rungs (report_halving.h):
 * which records count, one aggregated row per (configuration, iteration), the rows' and the
 * configurations' ranks (later iterations first), each iteration's work and promotions. */
#include "report_halving.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fg_sort.h"
#include "nn.h"
#include "rungs.h"

int rpt_is_halving(const grid *g) { return grid_search_of(g)->strategy == GRID_SEARCH_HALVING; }

int rpt_n_searched(const jnl_header *h, const jnl_session *s, int ns, int n_train_total)
{
    if (h->subset > 0)
        return h->subset;
    for (int i = 0; i < ns; i++)
        if (s[i].n_train_total > 0)
            return s[i].n_train_total;
    return n_train_total > 0 ? n_train_total : 0;
}

int rpt_halving_schedule(const grid *g, const jnl_header *h, int n_searched, halv_schedule *sch, fg_err *err)
{
    int classes = h->classes > 0 ? h->classes : JNL_DEFAULT_CLASSES;
    if (grid_search_of(g)->resource == HALV_SAMPLES && grid_search_of(g)->max_resources <= 0 && n_searched <= 0)
        return fg_err_set(err, "the number of images searched is not recorded (no session record): cannot "
                               "compute the halving schedule");
    return rungs_schedule(g, n_searched, classes, sch, err);
}

void rpt_halving_free(rpt_halving *hv)
{
    if (!hv)
        return;
    free(hv->row), free(hv->row_iter), free(hv->row_sp), free(hv->last), free(hv->last_row), free(hv->counts);
    memset(hv, 0, sizeof *hv);
}

/* 1 when e is a CV record of a halving search (its refit and foreign records are not). */
static int is_cv(const jnl_entry *e, int64_t nc, int folds)
{
    return e->fold >= 0 && e->fold < folds && e->config >= 0 && e->config < nc && e->n_resources > 0;
}

/* 1 when the CV record e is of one of sch's iterations, with its resource (as the
 * coordinator reads records); any other does not count. */
static int in_schedule(const jnl_entry *e, const halv_schedule *sch)
{
    return e->iter >= 0 && e->iter < sch->n_iterations && e->n_resources == sch->n_resources[e->iter];
}

/* Feeds every CV record to r in file order, then marks in hv->counts the first record of
 * each (iteration, configuration, fold) that rungs counts (seen: room for nc x folds). */
static void replay(rpt_halving *hv, rungs *r, const jnl_entry *e, int n, unsigned char *seen)
{
    int64_t nc = hv->nc;
    int folds = hv->folds;
    for (int i = 0; i < n; i++)
        if (is_cv(&e[i], nc, folds) && in_schedule(&e[i], &hv->sch))
            rungs_add(r, e[i].iter, e[i].config, e[i].fold,
                      e[i].status == NN_STATUS_OK ? (double)e[i].val_acc : NAN);
    for (int it = 0; it < hv->n_iter; it++) {
        memset(seen, 0, (size_t)nc * (size_t)folds);
        for (int i = 0; i < n; i++) {
            if (!is_cv(&e[i], nc, folds) || e[i].iter != it)
                continue;
            size_t t = (size_t)e[i].config * (size_t)folds + (size_t)e[i].fold;
            if (!seen[t] && rungs_done(r, it, e[i].config, e[i].fold)) {
                hv->counts[i] = 1;
                seen[t] = 1;
            }
        }
    }
    for (int i = 0; i < n; i++) {
        if (!is_cv(&e[i], nc, folds))
            continue;
        double s = (isnan(e[i].fit_time) ? 0 : e[i].fit_time) + (isnan(e[i].score_time) ? 0 : e[i].score_time);
        if (hv->counts[i]) {
            hv->it[e[i].iter].tasks_done++;
            hv->it[e[i].iter].cpu_s += s;
            hv->tasks_done++;
        } else {
            hv->n_uncounted++;
            hv->uncounted_cpu_s += s;
        }
    }
}

/* The iterations' candidates, resources and promotions from r and the schedule. */
static void iterations(rpt_halving *hv, const rungs *r)
{
    for (int it = 0; it < hv->n_iter; it++) {
        rpt_halving_iter *t = &hv->it[it];
        t->n_candidates = rungs_n_candidates(r, it);
        t->n_resources = hv->sch.n_resources[it];
        t->n_promoted = it + 1 < hv->n_iter ? rungs_n_candidates(r, it + 1) : -1;
        hv->tasks_total += (int64_t)hv->sch.n_candidates[it] * hv->folds;
        if (t->n_candidates > 0)
            hv->n_rows += t->n_candidates;
    }
    hv->complete = rungs_current(r) >= hv->n_iter;
    hv->best = rungs_best(r);
}

/* Iteration it's rows from its counted records (keep: room for n), from row k0 on. */
static int iteration_rows(rpt_halving *hv, const rungs *r, int it, const jnl_entry *e, int n, unsigned char *keep,
                          const rpt_config *costs, int64_t k0, fg_err *err)
{
    int folds = hv->folds;
    for (int i = 0; i < n; i++)
        keep[i] = hv->counts[i] && e[i].iter == it;
    rpt_config *c = NULL;
    double *sp = NULL;
    if (rpt_aggregate_where(e, n, keep, hv->nc, folds, &c, &sp, err))
        return -1;
    for (int j = 0; j < hv->it[it].n_candidates; j++) {
        int64_t cfg = rungs_candidate(r, it, j), k = k0 + j;
        hv->row[k] = c[cfg];
        if (costs) {
            hv->row[k].n_params = costs[cfg].n_params;
            hv->row[k].epochs = costs[cfg].epochs;
            hv->row[k].cost = costs[cfg].cost;
        }
        hv->row_iter[k] = it;
        memcpy(hv->row_sp + (size_t)k * (size_t)folds, sp + (size_t)cfg * (size_t)folds, (size_t)folds * sizeof *sp);
        if (hv->row[k].status != RPT_STATUS_PARTIAL || hv->last[cfg] < 0) { /* see last in the header */
            hv->last[cfg] = it;
            hv->last_row[cfg] = k;
        }
    }
    free(c);
    free(sp);
    return 0;
}

/* ---- ranks: later iterations first ---------------------------------------------------- */

typedef struct {
    const rpt_config *c;
    const int *iter;
} by_iter_ctx;

static int by_iter(const void *a, const void *b, void *p)
{
    const by_iter_ctx *x = p;
    int64_t i = *(const int64_t *)a, j = *(const int64_t *)b;
    if (x->iter[i] != x->iter[j])
        return x->iter[i] > x->iter[j] ? -1 : 1;
    return rpt_ranks_before(&x->c[i], &x->c[j]) ? -1 : rpt_ranks_before(&x->c[j], &x->c[i]) ? 1 : 0;
}

/* Same group for the rank: the same iteration and the same mean (or both NaN). */
static int same_rank(const rpt_config *a, int ia, const rpt_config *b, int ib)
{
    return ia == ib && (a->mean == b->mean || (isnan(a->mean) && isnan(b->mean)));
}

void rpt_halving_order(rpt_config *c, const int *last, int64_t nc, int64_t *order)
{
    by_iter_ctx x = {c, last};
    for (int64_t i = 0; i < nc; i++)
        order[i] = i;
    fg_sort(order, (size_t)nc, sizeof *order, by_iter, &x);
    for (int64_t k = 0; k < nc; k++) {
        int64_t i = order[k], p = k ? order[k - 1] : -1;
        c[i].rank = p >= 0 && same_rank(&c[i], last[i], &c[p], last[p]) ? c[p].rank : (int)(k + 1);
    }
}

/* The rows' rank_test_score (rpt_halving_order over the rows). */
static int row_ranks(rpt_halving *hv, fg_err *err)
{
    int64_t *order = malloc((size_t)(hv->n_rows ? hv->n_rows : 1) * sizeof *order);
    if (!order)
        return fg_err_set(err, "out of memory ranking %lld rows", (long long)hv->n_rows);
    rpt_halving_order(hv->row, hv->row_iter, hv->n_rows, order);
    free(order);
    return 0;
}

/* ---- the whole reading ------------------------------------------------------------------ */

static int alloc_all(rpt_halving *hv, int n, fg_err *err)
{
    size_t nc = (size_t)(hv->nc ? hv->nc : 1), nr = (size_t)(hv->n_rows ? hv->n_rows : 1);
    hv->row = calloc(nr, sizeof *hv->row);
    hv->row_iter = calloc(nr, sizeof *hv->row_iter);
    hv->row_sp = malloc(nr * (size_t)hv->folds * sizeof *hv->row_sp);
    hv->last = malloc(nc * sizeof *hv->last);
    hv->last_row = malloc(nc * sizeof *hv->last_row);
    if (!hv->counts)
        hv->counts = calloc((size_t)(n ? n : 1), 1);
    if (!hv->row || !hv->row_iter || !hv->row_sp || !hv->last || !hv->last_row || !hv->counts)
        return fg_err_set(err, "out of memory reading the halving search");
    for (size_t i = 0; i < nc; i++)
        hv->last[i] = -1, hv->last_row[i] = -1;
    return 0;
}

int rpt_halving_read(const halv_schedule *sch, int factor, int64_t nc, int folds, const rpt_config *costs,
                     const double *tie_cost, const jnl_entry *e, int n, rpt_halving *hv, fg_err *err)
{
    memset(hv, 0, sizeof *hv);
    hv->sch = *sch;
    hv->n_iter = sch->n_iterations;
    hv->nc = nc;
    hv->folds = folds;
    double *cost = malloc((size_t)(nc ? nc : 1) * sizeof *cost);
    unsigned char *tmp = malloc((size_t)(nc ? nc : 1) * (size_t)folds + (size_t)n + 1);
    hv->counts = calloc((size_t)n + 1, 1);
    if (!cost || !tmp || !hv->counts) {
        free(cost), free(tmp);
        rpt_halving_free(hv);
        return fg_err_set(err, "out of memory reading the halving search");
    }
    for (int64_t i = 0; i < nc; i++)
        cost[i] = tie_cost ? tie_cost[i] : costs ? costs[i].cost : NAN;
    rungs *r = rungs_new(sch, factor, nc, folds, cost, err);
    free(cost);
    int rc = r ? 0 : -1;
    if (!rc) {
        replay(hv, r, e, n, tmp);
        iterations(hv, r);
        rc = alloc_all(hv, n, err);
    }
    int64_t k0 = 0;
    for (int it = 0; !rc && it < hv->n_iter; it++) {
        if (hv->it[it].n_candidates <= 0)
            continue;
        rc = iteration_rows(hv, r, it, e, n, tmp, costs, k0, err);
        k0 += hv->it[it].n_candidates;
    }
    if (!rc)
        rc = row_ranks(hv, err);
    rungs_free(r);
    free(tmp);
    if (rc)
        rpt_halving_free(hv);
    return rc;
}

int rpt_halving_of(const grid *g, const jnl_header *h, int n_searched, const jnl_entry *e, int n,
                   rpt_halving *hv, fg_err *err)
{
    memset(hv, 0, sizeof *hv);
    halv_schedule sch;
    int64_t nc = grid_n_configs(g);
    int folds = grid_opts_c(g)->folds;
    if (rpt_halving_schedule(g, h, n_searched, &sch, err))
        return -1;
    rpt_config *c = NULL, *t = calloc((size_t)(nc ? nc : 1), sizeof *t);
    double *sp = NULL, *tie = malloc((size_t)(nc ? nc : 1) * sizeof *tie);
    if (!t || !tie || rpt_aggregate(e, n, nc, folds, &c, &sp, err)) {
        free(t), free(tie);
        return t && tie ? -1 : fg_err_set(err, "out of memory reading the halving search");
    }
    rpt_costs(g, c, nc); /* the rows' costs: the records', else the grid's */
    for (int64_t i = 0; i < nc; i++) /* the promotions' tie-break: the grid's, as the coordinator's */
        t[i] = (rpt_config){.config = i, .mean = NAN, .n_params = -1, .cost = NAN};
    rpt_costs(g, t, nc);
    for (int64_t i = 0; i < nc; i++)
        tie[i] = t[i].cost;
    int factor = grid_search_of(g)->factor ? grid_search_of(g)->factor : HALV_FACTOR_DEFAULT; /* as rungs_schedule */
    int rc = rpt_halving_read(&sch, factor, nc, folds, c, tie, e, n, hv, err);
    free(c), free(sp), free(t), free(tie);
    return rc;
}
