/* rungs.c - the iterations of a successive-halving search as results arrive (rungs.h):
 * per iteration its candidates (once promoted), one score slot per (candidate, fold), and
 * the results kept aside for configurations not (yet) known to be its candidates.
 *
 * Memory: a promoted iteration holds n_candidates x folds slots (9 bytes each); a result
 * kept aside costs 16 bytes until its iteration is promoted (then it counts or is dropped).
 * The mean of a candidate sums its folds' scores in fold order, in double, and divides by
 * the fold count: the reports' mean (rank.c), so that a promotion made here is the one a
 * reader of the journal recomputes. */
#include "rungs.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int64_t config;
    int fold;
    double score;
} rung_aside;

typedef struct {
    int n_cand;       /* -1 until promoted */
    int64_t *cand;    /* ascending configuration indices */
    double *score;    /* n_cand x folds */
    uint8_t *in;      /* n_cand x folds: 1 when the result counts */
    int64_t n_in;     /* results that count */
    rung_aside *aside; /* results kept aside until the promotion */
    int n_aside, cap_aside;
} rung;

struct rungs {
    halv_schedule sch;
    int factor;
    int64_t n_configs;
    int folds;
    double *cost; /* n_configs, NaN = unknown */
    int n_iter;
    rung it[HALV_MAX_ITER];
};

static int rung_alloc(rung *g, int n_cand, int folds)
{
    size_t slots = (size_t)n_cand * (size_t)folds;
    g->cand = malloc((size_t)n_cand * sizeof *g->cand);
    g->score = malloc(slots * sizeof *g->score);
    g->in = calloc(slots, 1);
    if (!g->cand || !g->score || !g->in)
        return -1;
    g->n_cand = n_cand;
    return 0;
}

rungs *rungs_new(const halv_schedule *sch, int factor, int64_t n_configs, int folds,
                 const double *cost, fg_err *err)
{
    if (sch->n_iterations < 1 || sch->n_iterations > HALV_MAX_ITER || factor < 2 || folds < 1 ||
        n_configs < 1 || n_configs > INT_MAX || n_configs != sch->n_candidates[0]) {
        fg_err_set(err, "halving: %lld configurations, %d folds, factor %d do not fit the schedule "
                   "(%d candidates, %d iterations)", (long long)n_configs, folds, factor,
                   sch->n_candidates[0], sch->n_iterations);
        return NULL;
    }
    rungs *r = calloc(1, sizeof *r);
    if (!r || !(r->cost = malloc((size_t)n_configs * sizeof *r->cost))) {
        free(r);
        fg_err_set(err, "halving: out of memory");
        return NULL;
    }
    r->sch = *sch;
    r->factor = factor;
    r->n_configs = n_configs;
    r->folds = folds;
    r->n_iter = sch->n_iterations;
    for (int64_t c = 0; c < n_configs; c++)
        r->cost[c] = cost ? cost[c] : NAN;
    for (int i = 0; i < r->n_iter; i++)
        r->it[i].n_cand = -1;
    if (rung_alloc(&r->it[0], (int)n_configs, folds)) {
        rungs_free(r);
        fg_err_set(err, "halving: out of memory");
        return NULL;
    }
    for (int64_t c = 0; c < n_configs; c++)
        r->it[0].cand[c] = c;
    return r;
}

void rungs_free(rungs *r)
{
    if (!r)
        return;
    for (int i = 0; i < HALV_MAX_ITER; i++) {
        free(r->it[i].cand);
        free(r->it[i].score);
        free(r->it[i].in);
        free(r->it[i].aside);
    }
    free(r->cost);
    free(r);
}

/* Position of config among g's candidates (binary search), or -1. */
static int cand_pos(const rung *g, int64_t config)
{
    int lo = 0, hi = g->n_cand;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (g->cand[mid] < config)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < g->n_cand && g->cand[lo] == config ? lo : -1;
}

static int complete(const rungs *r, int iter)
{
    const rung *g = &r->it[iter];
    return g->n_cand >= 0 && g->n_in == (int64_t)g->n_cand * r->folds;
}

/* Counts a result in promoted iteration iter: 0 when it counts, 1 when not a candidate's or
 * a duplicate. */
static int put(rungs *r, int iter, int64_t config, int fold, double score)
{
    rung *g = &r->it[iter];
    int p = cand_pos(g, config);
    if (p < 0)
        return 1;
    size_t slot = (size_t)p * (size_t)r->folds + (size_t)fold;
    if (g->in[slot])
        return 1;
    g->in[slot] = 1;
    g->score[slot] = score;
    g->n_in++;
    return 0;
}

static int keep_aside(rung *g, int64_t config, int fold, double score)
{
    if (g->n_aside == g->cap_aside) {
        int cap = g->cap_aside ? 2 * g->cap_aside : 16;
        rung_aside *a = realloc(g->aside, (size_t)cap * sizeof *a);
        FG_ASSERT_MSG(a, "halving: out of memory keeping a result aside");
        g->aside = a;
        g->cap_aside = cap;
    }
    g->aside[g->n_aside++] = (rung_aside){config, fold, score};
    return 1;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The candidates of iteration iter (complete) as halv_cand, in cand order, into c. */
static void fill_cands(const rungs *r, int iter, halv_cand *c)
{
    const rung *g = &r->it[iter];
    for (int i = 0; i < g->n_cand; i++) {
        c[i].config = g->cand[i];
        c[i].mean = rungs_mean(r, iter, g->cand[i]);
        c[i].cost = r->cost[g->cand[i]];
    }
}

/* Iteration iter is complete: promote its best into iter + 1, count what was kept aside
 * for them (in arrival order: the first result of a slot counts), and go on while that
 * completes the next one too. */
static void promote(rungs *r, int iter)
{
    while (iter + 1 < r->n_iter && complete(r, iter) && r->it[iter + 1].n_cand < 0) {
        const rung *g = &r->it[iter];
        halv_cand *c = malloc((size_t)g->n_cand * sizeof *c);
        int *order = malloc((size_t)g->n_cand * sizeof *order);
        FG_ASSERT_MSG(c && order, "halving: out of memory promoting iteration %d", iter);
        fill_cands(r, iter, c);
        int k = halv_promote(c, g->n_cand, r->factor, order);
        rung *next = &r->it[iter + 1];
        FG_ASSERT_MSG(rung_alloc(next, k, r->folds) == 0, "halving: out of memory");
        for (int i = 0; i < k; i++)
            next->cand[i] = c[order[i]].config;
        qsort(next->cand, (size_t)k, sizeof *next->cand, cmp_i64);
        free(c);
        free(order);
        for (int i = 0; i < next->n_aside; i++)
            put(r, iter + 1, next->aside[i].config, next->aside[i].fold, next->aside[i].score);
        free(next->aside);
        next->aside = NULL;
        next->n_aside = next->cap_aside = 0;
        iter++;
    }
}

int rungs_add(rungs *r, int iter, int64_t config, int fold, double score)
{
    if (iter < 0 || iter >= r->n_iter || config < 0 || config >= r->n_configs || fold < 0 ||
        fold >= r->folds)
        return -1;
    rung *g = &r->it[iter];
    if (g->n_cand < 0)
        return keep_aside(g, config, fold, score);
    if (put(r, iter, config, fold, score))
        return 1;
    if (complete(r, iter))
        promote(r, iter);
    return 0;
}

int rungs_n_iterations(const rungs *r) { return r->n_iter; }

int rungs_current(const rungs *r)
{
    int i = 0;
    while (i < r->n_iter && complete(r, i))
        i++;
    return i;
}

int rungs_n_candidates(const rungs *r, int iter)
{
    return iter >= 0 && iter < r->n_iter ? r->it[iter].n_cand : -1;
}

int64_t rungs_candidate(const rungs *r, int iter, int i)
{
    if (iter < 0 || iter >= r->n_iter || i < 0 || i >= r->it[iter].n_cand)
        return -1;
    return r->it[iter].cand[i];
}

int rungs_has(const rungs *r, int iter, int64_t config)
{
    if (iter < 0 || iter >= r->n_iter || r->it[iter].n_cand < 0)
        return 0;
    return cand_pos(&r->it[iter], config) >= 0;
}

int rungs_done(const rungs *r, int iter, int64_t config, int fold)
{
    if (!rungs_has(r, iter, config) || fold < 0 || fold >= r->folds)
        return 0;
    const rung *g = &r->it[iter];
    return g->in[(size_t)cand_pos(g, config) * (size_t)r->folds + (size_t)fold];
}

/* Sum and count of the folds of config in iteration iter that count so far. */
static int partial(const rungs *r, int iter, int64_t config, double *sum)
{
    *sum = 0;
    if (!rungs_has(r, iter, config))
        return 0;
    const rung *g = &r->it[iter];
    size_t base = (size_t)cand_pos(g, config) * (size_t)r->folds;
    int n = 0;
    for (int f = 0; f < r->folds; f++)
        if (g->in[base + (size_t)f]) {
            *sum += g->score[base + (size_t)f];
            n++;
        }
    return n;
}

double rungs_mean(const rungs *r, int iter, int64_t config)
{
    double s;
    int n = partial(r, iter, config, &s);
    return n == r->folds ? s / n : NAN; /* a NaN fold makes the sum NaN */
}

int rungs_leaders(const rungs *r, int iter, int64_t *out, int max)
{
    int n = rungs_n_candidates(r, iter);
    if (n <= 0 || max <= 0)
        return 0;
    halv_cand *c = malloc((size_t)n * sizeof *c);
    int *order = malloc((size_t)n * sizeof *order);
    FG_ASSERT_MSG(c && order, "halving: out of memory ranking the leaders");
    int m = 0;
    for (int i = 0; i < n; i++) { /* those with results, ranked by their partial mean */
        int64_t cfg = r->it[iter].cand[i];
        double s;
        int k = partial(r, iter, cfg, &s);
        if (k > 0)
            c[m++] = (halv_cand){cfg, s / k, r->cost[cfg]};
    }
    halv_promote(c, m, 1, order);
    int out_n = 0;
    for (int i = 0; i < m && out_n < max; i++)
        out[out_n++] = c[order[i]].config;
    for (int i = 0; i < n && out_n < max; i++) { /* then those without, by index */
        double s;
        if (partial(r, iter, r->it[iter].cand[i], &s) == 0)
            out[out_n++] = r->it[iter].cand[i];
    }
    free(c);
    free(order);
    return out_n;
}

int64_t rungs_best(const rungs *r)
{
    int last = r->n_iter - 1;
    if (rungs_current(r) < r->n_iter)
        return -1;
    const rung *g = &r->it[last];
    halv_cand best = {-1, NAN, NAN}; /* the first of halv_promote's order, by a linear scan */
    for (int i = 0; i < g->n_cand; i++) {
        halv_cand c = {g->cand[i], rungs_mean(r, last, g->cand[i]), r->cost[g->cand[i]]};
        if (best.config < 0 || halv_ranks_before(&c, &best))
            best = c;
    }
    return best.config;
}

const halv_schedule *rungs_sched(const rungs *r) { return &r->sch; }

int64_t rungs_n_counted(const rungs *r)
{
    int64_t n = 0;
    for (int i = 0; i < r->n_iter; i++)
        n += r->it[i].n_in;
    return n;
}

int64_t rungs_resource(const rungs *r, int iter)
{
    return iter >= 0 && iter < r->n_iter ? r->sch.n_resources[iter] : 0;
}

/* The largest configured epochs of any of g's configurations, or -1 with err. */
static int64_t max_epochs(const grid *g, fg_err *err)
{
    nn_net_desc *d = malloc(sizeof *d);
    if (!d)
        return fg_err_set(err, "%s: out of memory", grid_opts_c(g)->path);
    nn_train_desc t;
    int64_t m = 0;
    for (int64_t c = 0; c < grid_n_configs(g); c++) {
        if (grid_config_build_data(g, c, d, &t, err)) {
            free(d);
            return -1;
        }
        if (t.epochs > m)
            m = t.epochs;
    }
    free(d);
    return m;
}

int rungs_schedule(const grid *g, int n_searched, int n_classes, halv_schedule *out,
                   fg_err *err)
{
    const grid_search *s = grid_search_of(g);
    const grid_options *o = grid_opts_c(g);
    char where[GRID_PATH_MAX + 32];
    if (grid_n_configs(g) > INT_MAX)
        return fg_err_set(err, "%s: too many configurations for halving", o->path);
    halv_settings h = {0};
    h.factor = s->factor ? s->factor : HALV_FACTOR_DEFAULT;
    h.n_candidates = (int)grid_n_configs(g);
    h.aggressive = s->aggressive;
    h.exhaust = s->min_exhaust || (!s->min_smallest && s->min_resources <= 0);
    h.min_resources = s->min_resources > 0 ? s->min_resources
                                           : halv_smallest(s->resource, o->folds, n_classes);
    h.max_resources = s->max_resources;
    if (h.max_resources <= 0) {
        h.max_resources = s->resource == HALV_SAMPLES ? n_searched : max_epochs(g, err);
        if (h.max_resources < 0)
            return -1;
    }
    fg_err e;
    if (halv_schedule_make(&h, out, &e) == 0)
        return 0;
    const char *key = s->factor < 2 && s->factor != 0 ? "search.factor"
                      : s->min_resources > 0          ? "search.min_resources"
                                                      : "search.max_resources";
    grid_option_where(g, key, where, sizeof where);
    return fg_err_set(err, "%s: %s", where, e.msg);
}
