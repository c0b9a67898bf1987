/* report_plots.c - the report's figures (drawn through plot.h): mean score per parameter
 * value, learning curves of the top configurations and the refit, the refit's confusion
 * matrix, score against training time, and a halving search's score against resource. */
#include "report_parts.h"

#include <math.h>
#include <stdlib.h>

#include "fg_sort.h"
#include "plot.h"

/* Parameter p's panel into pp, in the arrays at ints (4 x nc) and dbl (2 x nc) and the
 * values at pv (nc); 1 when it has a point, else 0. */
static int param_panel(const rpt_ctx *x, int p, const char **pv, int *ints, double *dbl, plot_panel *pp)
{
    const grid *g = x->g;
    int64_t nc = x->nc;
    int numeric;
    int nv = rpt_param_values(g, nc, p, pv, &numeric);
    int *cfg = ints, *vo = cfg + nc, *bov = vo + nc;
    double *mean = dbl, *sem = mean + nc;
    int npt = 0;
    for (int64_t i = 0; i < nc; i++) {
        const char *v = grid_config_value(g, i, p);
        if (!v || isnan(x->c0[i].mean))
            continue;
        cfg[npt] = (int)i;
        vo[npt] = rpt_value_index(pv, nv, v);
        mean[npt] = x->c0[i].mean;
        sem[npt] = x->c0[i].sem;
        npt++;
    }
    for (int k = 0; k < npt; k++) { /* the best configuration of each value */
        bov[k] = 1;
        for (int m = 0; m < npt && bov[k]; m++)
            if (m != k && vo[m] == vo[k] && rpt_ranks_before(&x->c0[cfg[m]], &x->c0[cfg[k]]))
                bov[k] = 0;
    }
    if (nv < 1 || npt < 1)
        return 0;
    *pp = (plot_panel){.name = grid_param_name(g, p), .n_values = nv, .values = pv, .n_points = npt,
                       .config = cfg, .value_of = vo, .best_of_value = bov, .mean = mean, .sem = sem};
    return 1;
}

/* 1: mean score against each parameter. */
static int plot_param_panels(const rpt_ctx *x, plot_set *ps, fg_err *err)
{
    int64_t nc = x->nc;
    int np = grid_n_params(x->g), npan = 0, rc = 0;
    size_t cells = (size_t)(np ? np : 1) * (size_t)(nc ? nc : 1);
    plot_panel *pan = calloc((size_t)(np ? np : 1), sizeof *pan);
    const char **vals = malloc(cells * sizeof *vals);
    int *ints = malloc(cells * 4 * sizeof *ints);
    double *dbl = malloc(cells * 2 * sizeof *dbl);
    if (!pan || !vals || !ints || !dbl) {
        rc = fg_err_set(err, "out of memory drawing plots");
    } else {
        for (int p = 0; p < np; p++) {
            size_t off = (size_t)p * (size_t)nc;
            npan += param_panel(x, p, vals + off, ints + off * 4, dbl + off * 2, &pan[npan]);
        }
        if (npan)
            rc = plot_params(ps, "params", "Mean CV accuracy per parameter value (blue: every configuration, mean ± "
                             "standard error over folds; red: the best configuration with each value)",
                             pan, npan, err);
    }
    free(pan);
    free(vals);
    free(ints);
    free(dbl);
    return rc;
}

/* 2: learning curves of the top configurations and the refit. */
static int plot_learning_curves(const rpt_ctx *x, plot_set *ps, fg_err *err)
{
    plot_curve cur[RPT_TOP_CURVES + 1];
    char labels[RPT_TOP_CURVES + 1][96];
    int ncur = 0;
    for (int t = 0; t < x->n_top; t++) {
        if (!x->top_h[t].n)
            continue;
        snprintf(labels[ncur], sizeof labels[0], "#%d: config %lld (mean of folds)", t + 1, (long long)x->top[t]);
        const rpt_hist *a = &x->top_h[t];
        cur[ncur] = (plot_curve){labels[ncur], a->n, a->loss, a->acc, a->val_loss, a->val_acc};
        ncur++;
    }
    if (x->refit_h.n) {
        snprintf(labels[ncur], sizeof labels[0], "refit: config %d, all images", x->refit->config);
        const rpt_hist *a = &x->refit_h;
        cur[ncur] = (plot_curve){labels[ncur], a->n, a->loss, a->acc, a->val_loss, a->val_acc};
        ncur++;
    }
    if (!ncur)
        return 0;
    return plot_curves(ps, "curves", "Learning curves of the top configurations and the refit", cur, ncur, err);
}

/* 4: score against fit time. */
static int plot_score_time(const rpt_ctx *x, plot_set *ps, fg_err *err)
{
    int64_t nc = x->nc;
    plot_point *pt = malloc((size_t)(nc ? nc : 1) * sizeof *pt);
    if (!pt)
        return fg_err_set(err, "out of memory drawing plots");
    int npt = 0, rc = 0;
    for (int64_t i = 0; i < nc; i++) {
        if (isnan(x->c[i].mean))
            continue;
        pt[npt++] = (plot_point){(int)i, x->c[i].mean_fit, x->c[i].mean, x->c[i].sem,
                                 (i == x->best ? 1 : 0) | (i == x->pick ? 2 : 0)};
    }
    if (npt)
        rc = plot_cost(ps, "cost", "Mean CV accuracy against training time per fold", "mean fit time per fold (s)",
                       pt, npt, err);
    free(pt);
    return rc;
}

/* fg_cmp_fn: plot_rpoint by candidate, then iteration. */
static int by_config_iter(const void *a, const void *b, void *ctx)
{
    (void)ctx;
    const plot_rpoint *x = a, *y = b;
    if (x->config != y->config)
        return x->config < y->config ? -1 : 1;
    return (x->iter > y->iter) - (x->iter < y->iter);
}

/* 5 (halving): mean score against resource, one line per candidate. */
static int plot_halving(const rpt_ctx *x, plot_set *ps, fg_err *err)
{
    const rpt_halving *hv = x->hv;
    plot_rpoint *pt = malloc((size_t)(hv->n_rows ? hv->n_rows : 1) * sizeof *pt);
    if (!pt)
        return fg_err_set(err, "out of memory drawing plots");
    for (int64_t k = 0; k < hv->n_rows; k++) {
        int it = hv->row_iter[k];
        int64_t c = hv->row[k].config;
        pt[k] = (plot_rpoint){(int)c, it, (double)hv->it[it].n_resources, hv->row[k].mean, c == x->best};
    }
    fg_sort(pt, (size_t)hv->n_rows, sizeof *pt, by_config_iter, NULL);
    int rc = plot_resource(ps, "resource", "Mean CV accuracy against resource (successive halving: one line per "
                           "candidate, red: the best)",
                           grid_search_of(x->g)->resource == HALV_EPOCHS ? "epochs (log scale)"
                                                                         : "training images (log scale)",
                           pt, (int)hv->n_rows, err);
    free(pt);
    return rc;
}

/* Every figure's data and script; 0, or -1 with err. */
static int add_figures(const rpt_ctx *x, plot_set *ps, fg_err *err)
{
    if (plot_param_panels(x, ps, err))
        return -1;
    if ((x->n_top || x->refit_h.n) && plot_learning_curves(x, ps, err))
        return -1;
    /* 3: the refit's confusion matrix */
    int have_conf = 0;
    for (int k = 0; x->refit && k < x->conf_k * x->conf_k; k++)
        have_conf |= x->conf[k] != 0;
    if (have_conf) {
        char t[160];
        snprintf(t, sizeof t, "Refit (configuration %d): confusion matrix on the test set", x->refit->config);
        if (plot_confusion(ps, "confusion", t, x->conf, x->conf_k, x->names, err))
            return -1;
    }
    if (plot_score_time(x, ps, err))
        return -1;
    return x->hv && x->hv->n_rows ? plot_halving(x, ps, err) : 0;
}

void rpt_make_plots(rpt_ctx *x)
{
    char pdir[4300];
    fg_err err;
    snprintf(pdir, sizeof pdir, "%s/plots", x->dir);
    plot_set *ps = plot_new(pdir, &err);
    if (!ps) {
        snprintf(x->plot_msg, sizeof x->plot_msg, "%s", err.msg);
        return;
    }
    int rc = add_figures(x, ps, &err);
    x->n_plots = 0;
    for (int i = 0; i < plot_count(ps) && i < RPT_MAX_PLOTS; i++) {
        snprintf(x->plot_stem[i], sizeof x->plot_stem[0], "%s", plot_stem(ps, i));
        snprintf(x->plot_title[i], sizeof x->plot_title[0], "%s", plot_title(ps, i));
        x->n_plots++;
    }
    if (!rc)
        rc = plot_render(ps, 120, &err);
    if (rc)
        snprintf(x->plot_msg, sizeof x->plot_msg, "%s", err.msg);
    else
        x->plots_drawn = 1;
    plot_free(ps);
}
