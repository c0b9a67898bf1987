/* rank.c - ranking and the use of statistics (rank.h): aggregation of fold records per
 * configuration, the tie rule and order, the comparison with the best, the
 * one-standard-error choice and per-parameter-value summaries. */
#include "rank.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fg_sort.h"
#include "nn.h"
#include "rank_rule.h"
#include "stats.h"

/* ---- aggregation ----------------------------------------------------------------------- */

static void mean_std(const double *v, int n, double *mean, double *std)
{
    double s = 0, ss = 0;
    for (int i = 0; i < n; i++)
        s += v[i];
    *mean = n ? s / n : NAN;
    for (int i = 0; i < n; i++)
        ss += (v[i] - *mean) * (v[i] - *mean);
    *std = n ? sqrt(ss / n) : NAN; /* population std, as scikit-learn */
}

/* Mean and std of the values of v[0..folds) that are not NaN (tmp: room for folds). */
static void mean_std_present(const double *v, int folds, double *tmp, double *mean, double *std)
{
    int nf = 0;
    for (int f = 0; f < folds; f++)
        if (!isnan(v[f]))
            tmp[nf++] = v[f];
    mean_std(tmp, nf, mean, std);
}

static int cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

/* One (configuration, fold) cell per task: the first record's status (-1: missing), score
 * (NaN unless OK), fit and score times. n_configs x folds each. */
typedef struct {
    double *sp, *fit, *sco;
    int *st;
} cells;

static void cells_free(cells *k) { free(k->sp), free(k->fit), free(k->sco), free(k->st); }

static int cells_fill(cells *k, const jnl_entry *e, int n, const unsigned char *keep, int64_t n_configs,
                      int folds)
{
    size_t m = (size_t)n_configs * (size_t)folds;
    k->sp = malloc(m * sizeof *k->sp);
    k->fit = malloc(m * sizeof *k->fit);
    k->sco = malloc(m * sizeof *k->sco);
    k->st = malloc(m * sizeof *k->st);
    if (!k->sp || !k->fit || !k->sco || !k->st)
        return -1;
    for (size_t i = 0; i < m; i++) {
        k->sp[i] = k->fit[i] = k->sco[i] = NAN;
        k->st[i] = -1; /* missing */
    }
    for (int i = 0; i < n; i++) {
        if (e[i].fold < 0 || e[i].fold >= folds || e[i].config < 0 || e[i].config >= n_configs ||
            (keep && !keep[i]))
            continue;
        size_t c = (size_t)e[i].config * (size_t)folds + (size_t)e[i].fold;
        if (k->st[c] >= 0)
            continue; /* first record wins */
        k->st[c] = e[i].status;
        k->fit[c] = e[i].fit_time;
        k->sco[c] = e[i].score_time;
        k->sp[c] = e[i].status == NN_STATUS_OK ? (double)e[i].val_acc : NAN;
    }
    return 0;
}

/* Configuration ci's row of cells summarised into r (tmp: room for folds). */
static void summarize(rpt_config *r, int64_t ci, const cells *k, int folds, double *tmp)
{
    size_t row = (size_t)ci * (size_t)folds;
    r->config = ci;
    r->status = NN_STATUS_OK;
    r->failed_fold = -1;
    int missing = 0;
    for (int f = 0; f < folds; f++) {
        int st = k->st[row + (size_t)f];
        if (st < 0) {
            missing++;
            continue;
        }
        r->n_done++;
        if (st != NN_STATUS_OK && r->failed_fold < 0) {
            r->status = st;
            r->failed_fold = f;
        }
    }
    if (missing && r->failed_fold < 0)
        r->status = RPT_STATUS_PARTIAL;
    if (r->status == NN_STATUS_OK) {
        mean_std(k->sp + row, folds, &r->mean, &r->std);
        r->sem = st_sem(k->sp + row, folds);
    } else {
        r->mean = r->std = r->sem = NAN;
    }
    r->n_params = -1;
    r->epochs = 0;
    r->cost = r->t_vs_best = r->p_vs_best = NAN;
    mean_std_present(k->fit + row, folds, tmp, &r->mean_fit, &r->std_fit);
    mean_std_present(k->sco + row, folds, tmp, &r->mean_score, &r->std_score);
}

/* Ranks: 1 + number of configurations with a strictly higher mean (scikit-learn's
 * rankdata(method='min') on -mean); NaN means rank after every finite one. */
static int assign_ranks(rpt_config *c, int64_t n_configs)
{
    int64_t n_finite = 0, m = 0;
    for (int64_t i = 0; i < n_configs; i++)
        n_finite += !isnan(c[i].mean);
    double *sorted = malloc((size_t)(n_finite ? n_finite : 1) * sizeof *sorted);
    if (!sorted)
        return -1;
    for (int64_t i = 0; i < n_configs; i++)
        if (!isnan(c[i].mean))
            sorted[m++] = c[i].mean;
    qsort(sorted, (size_t)m, sizeof *sorted, cmp_desc);
    for (int64_t i = 0; i < n_configs; i++) {
        if (isnan(c[i].mean)) {
            c[i].rank = (int)(n_finite + 1);
            continue;
        }
        /* first position whose value is <= mean: binary search on the descending array */
        int64_t lo = 0, hi = m;
        while (lo < hi) {
            int64_t mid = (lo + hi) / 2;
            if (sorted[mid] > c[i].mean)
                lo = mid + 1;
            else
                hi = mid;
        }
        c[i].rank = (int)(lo + 1);
    }
    free(sorted);
    return 0;
}

/* n_params, epochs and cost from the records that carry them (the task that produced the
 * record counted the network it built). */
static void costs_from_records(const jnl_entry *e, int n, rpt_config *c, int64_t n_configs)
{
    for (int i = 0; i < n; i++) {
        if (e[i].config < 0 || e[i].config >= n_configs || e[i].n_params < 0 || e[i].max_epochs <= 0)
            continue;
        rpt_config *r = &c[e[i].config];
        if (r->n_params >= 0)
            continue;
        r->n_params = e[i].n_params;
        r->epochs = e[i].max_epochs;
        r->cost = (double)e[i].n_params * e[i].max_epochs;
    }
}

int rpt_aggregate(const jnl_entry *e, int n, int64_t n_configs, int folds, rpt_config **out,
                  double **splits, fg_err *err)
{
    return rpt_aggregate_where(e, n, NULL, n_configs, folds, out, splits, err);
}

int rpt_aggregate_where(const jnl_entry *e, int n, const unsigned char *keep, int64_t n_configs, int folds,
                        rpt_config **out, double **splits, fg_err *err)
{
    *out = NULL;
    *splits = NULL;
    cells k = {0};
    rpt_config *c = calloc((size_t)n_configs, sizeof *c);
    double *tmp = malloc((size_t)folds * sizeof *tmp);
    if (!c || !tmp || cells_fill(&k, e, n, keep, n_configs, folds)) {
        free(c), free(tmp), cells_free(&k);
        return fg_err_set(err, "out of memory aggregating %lld configurations", (long long)n_configs);
    }
    for (int64_t ci = 0; ci < n_configs; ci++)
        summarize(&c[ci], ci, &k, folds, tmp);
    free(tmp);
    costs_from_records(e, n, c, n_configs);
    if (assign_ranks(c, n_configs)) {
        free(c), cells_free(&k);
        return fg_err_set(err, "out of memory");
    }
    *out = c;
    *splits = k.sp;
    k.sp = NULL;
    cells_free(&k);
    return 0;
}

/* ---- costs of journals whose records lack them ---------------------------------------- */

/* The legacy way: build configuration i's network through the grid and the engine and
 * count its parameters. Only for configurations no record speaks for. */
static void costs_from_grid_legacy(const grid *g, int64_t i, rpt_config *r, nn_net_desc *d,
                                   nn_layer_info *info)
{
    nn_train_desc t;
    int64_t np = 0;
    r->n_params = -1;
    r->epochs = 0;
    r->cost = NAN;
    if (grid_config_build_data(g, i, d, &t, NULL) || nn_desc_check(d, info, &np, NULL, NULL))
        return;
    r->n_params = np;
    r->epochs = t.epochs;
    r->cost = (double)np * t.epochs;
}

void rpt_costs(const grid *g, rpt_config *c, int64_t n_configs)
{
    nn_net_desc *d = NULL;
    nn_layer_info *info = NULL;
    for (int64_t i = 0; i < n_configs && i < grid_n_configs(g); i++) {
        if (c[i].n_params >= 0)
            continue; /* carried by its records */
        if (!d && !(d = malloc(sizeof *d)))
            break;
        if (!info && !(info = malloc(NN_MAX_LAYERS * sizeof *info)))
            break;
        costs_from_grid_legacy(g, i, &c[i], d, info);
    }
    free(d);
    free(info);
}

/* ---- the tie rule, the order, the comparison with the best ----------------------------- */

int rpt_ranks_before(const rpt_config *a, const rpt_config *b)
{
    return rank_rule_before(a->mean, a->cost, a->config, b->mean, b->cost, b->config);
}

int64_t rpt_best(const rpt_config *c, int64_t n_configs)
{
    int64_t best = -1;
    for (int64_t i = 0; i < n_configs; i++)
        if (!isnan(c[i].mean) && (best < 0 || rpt_ranks_before(&c[i], &c[best])))
            best = i;
    return best;
}

/* fg_cmp_fn over configuration indices into the rpt_config array ctx. */
static int by_rank(const void *a, const void *b, void *ctx)
{
    const rpt_config *c = ctx;
    const rpt_config *x = &c[*(const int64_t *)a], *y = &c[*(const int64_t *)b];
    return rpt_ranks_before(x, y) ? -1 : rpt_ranks_before(y, x) ? 1 : 0;
}

void rpt_order(const rpt_config *c, int64_t n_configs, int64_t *order)
{
    for (int64_t i = 0; i < n_configs; i++)
        order[i] = i;
    fg_sort(order, (size_t)n_configs, sizeof *order, by_rank, (void *)c);
}

double rpt_test_train_ratio(const jnl_entry *e, int n, int folds)
{
    double s = 0;
    int cnt = 0;
    for (int i = 0; i < n; i++)
        if (e[i].fold >= 0 && e[i].n_train > 0 && e[i].n_val > 0) {
            s += (double)e[i].n_val / e[i].n_train;
            cnt++;
        }
    if (cnt)
        return s / cnt;
    return folds > 1 ? 1.0 / (folds - 1) : NAN;
}

/* 1 when a is the cheaper pick for the one-standard-error choice: the lower cost (an
 * unknown cost last), then the higher mean, then the lower index. */
static int cheaper(const rpt_config *a, const rpt_config *b)
{
    if (isnan(a->cost) != isnan(b->cost))
        return isnan(b->cost);
    if (!isnan(a->cost) && a->cost != b->cost)
        return a->cost < b->cost;
    if (a->mean != b->mean)
        return a->mean > b->mean;
    return a->config < b->config;
}

int64_t rpt_compare(rpt_config *c, const double *splits, int64_t n_configs, int folds,
                    double test_train)
{
    int64_t best = rpt_best(c, n_configs);
    for (int64_t i = 0; i < n_configs; i++) {
        c[i].t_vs_best = c[i].p_vs_best = NAN;
        c[i].indistinguishable = 0;
        if (best < 0 || isnan(c[i].mean))
            continue;
        /* d_j = best_j - config_j: t > 0 when the best is ahead */
        c[i].p_vs_best = st_corrected_ttest(splits + (size_t)best * (size_t)folds,
                                            splits + (size_t)i * (size_t)folds, folds, test_train,
                                            &c[i].t_vs_best);
        c[i].indistinguishable = i == best || (!isnan(c[i].p_vs_best) && c[i].p_vs_best >= RPT_ALPHA);
        if (i == best)
            c[i].p_vs_best = 1, c[i].t_vs_best = 0;
    }
    int64_t pick = -1;
    for (int64_t i = 0; i < n_configs; i++)
        if (c[i].indistinguishable && (pick < 0 || cheaper(&c[i], &c[pick])))
            pick = i;
    return pick;
}

/* ---- parameter values ------------------------------------------------------------------ */

int rpt_is_number(const char *s, double *v)
{
    char *end;
    if (!s || !*s)
        return 0;
    *v = strtod(s, &end);
    return *end == '\0' && !isnan(*v) && !isinf(*v);
}

int rpt_param_values(const grid *g, int64_t nc, int p, const char **vals, int *numeric)
{
    int nv = 0;
    *numeric = 1;
    for (int64_t i = 0; i < nc; i++) {
        const char *v = grid_config_value(g, i, p);
        if (!v)
            continue;
        int seen = 0;
        for (int k = 0; k < nv && !seen; k++)
            seen = !strcmp(vals[k], v);
        if (seen)
            continue;
        double d;
        if (!rpt_is_number(v, &d))
            *numeric = 0;
        vals[nv++] = v;
    }
    if (*numeric) /* insertion sort by value: a handful of values */
        for (int i = 1; i < nv; i++)
            for (int k = i; k > 0; k--) {
                double a, b;
                rpt_is_number(vals[k - 1], &a);
                rpt_is_number(vals[k], &b);
                if (a <= b)
                    break;
                const char *t = vals[k];
                vals[k] = vals[k - 1];
                vals[k - 1] = t;
            }
    return nv;
}

int rpt_value_index(const char **vals, int nv, const char *v)
{
    for (int k = 0; k < nv; k++)
        if (!strcmp(vals[k], v))
            return k;
    return -1;
}

void rpt_value_scores(const grid *g, const rpt_config *c, int64_t nc, int p, const char *value,
                      int *n_configs, int *n_scored, double *mean, double *best)
{
    double s = 0;
    *n_configs = *n_scored = 0;
    *best = NAN;
    for (int64_t j = 0; j < nc; j++) {
        const char *w = grid_config_value(g, j, p);
        if (!w || strcmp(value, w))
            continue;
        (*n_configs)++;
        if (isnan(c[j].mean))
            continue;
        s += c[j].mean;
        (*n_scored)++;
        if (isnan(*best) || c[j].mean > *best)
            *best = c[j].mean;
    }
    *mean = *n_scored ? s / *n_scored : NAN;
}
