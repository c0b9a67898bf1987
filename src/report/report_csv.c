/* report_csv.c - cv_results.csv: one row per configuration with scikit-learn's
 * GridSearchCV column names (cv_results_), then this program's statistics and cost columns;
 * a halving search's has one row per (configuration, iteration) with HalvingGridSearchCV's
 * `iter` and `n_resources` first, where its cv_results_ has them. */
#include "report_parts.h"

#include <math.h>
#include <stdio.h>

#include "fg_afile.h"

static void csv_num(FILE *f, double v, const char *fmt)
{
    if (isnan(v))
        return; /* empty cell, as pandas writes NaN */
    fprintf(f, fmt, v);
}

/* The header after the halving columns (if any). */
static void csv_header(FILE *f, const grid *g, int folds)
{
    int np = grid_n_params(g);
    fputs("mean_fit_time,std_fit_time,mean_score_time,std_score_time", f);
    for (int p = 0; p < np; p++)
        fprintf(f, ",param_%s", grid_param_name(g, p));
    fputs(",params", f);
    for (int k = 0; k < folds; k++)
        fprintf(f, ",split%d_test_score", k);
    fputs(",mean_test_score,std_test_score,rank_test_score,status,config", f);
    fputs(",std_error_test_score,p_value_vs_best,indistinguishable_from_best,n_params,epochs,cost\n", f);
}

/* Configuration i's row r with its fold scores sp[0..folds). */
static void csv_row(FILE *f, const grid *g, int64_t i, const rpt_config *r, const double *sp, int folds)
{
    int np = grid_n_params(g);
    csv_num(f, r->mean_fit, "%.6f");
    fputc(',', f);
    csv_num(f, r->std_fit, "%.6f");
    fputc(',', f);
    csv_num(f, r->mean_score, "%.6f");
    fputc(',', f);
    csv_num(f, r->std_score, "%.6f");
    for (int p = 0; p < np; p++) {
        fputc(',', f);
        const char *v = grid_config_value(g, i, p);
        if (v)
            fg_csv_field(f, v, 0);
    }
    fputc(',', f);
    fg_csv_field(f, grid_config_params(g, i), 0);
    for (int k = 0; k < folds; k++) {
        fputc(',', f);
        csv_num(f, sp[k], "%.9g");
    }
    fputc(',', f);
    csv_num(f, r->mean, "%.17g");
    fputc(',', f);
    csv_num(f, r->std, "%.17g");
    fprintf(f, ",%d,%s,%lld,", r->rank, rpt_status_text(r->status), (long long)i);
    csv_num(f, r->sem, "%.17g");
    fputc(',', f);
    csv_num(f, r->p_vs_best, "%.6g");
    fprintf(f, ",%s,", r->indistinguishable ? "true" : "false");
    if (r->n_params >= 0)
        fprintf(f, "%lld,%d,%.0f", (long long)r->n_params, r->epochs, r->cost);
    else
        fputs(",,", f);
    fputc('\n', f);
}

int rpt_write_csv(const char *dir, const grid *g, const rpt_config *c, const double *sp,
                  int64_t nc, int folds, fg_err *err)
{
    fg_afile a;
    if (fg_afile_open(&a, dir, "cv_results.csv", err))
        return -1;
    csv_header(a.f, g, folds);
    for (int64_t i = 0; i < nc; i++)
        csv_row(a.f, g, i, &c[i], sp + (size_t)i * (size_t)folds, folds);
    return fg_afile_commit(&a, err);
}

int rpt_write_csv_halving(const char *dir, const grid *g, const rpt_halving *hv, const rpt_config *c,
                          fg_err *err)
{
    fg_afile a;
    if (fg_afile_open(&a, dir, "cv_results.csv", err))
        return -1;
    fputs("iter,n_resources,", a.f);
    csv_header(a.f, g, hv->folds);
    for (int64_t k = 0; k < hv->n_rows; k++) {
        rpt_config r = hv->row[k];
        int64_t i = r.config;
        int it = hv->row_iter[k];
        if (hv->last[i] == it) { /* the configuration's last iteration: its comparison with the best */
            r.p_vs_best = c[i].p_vs_best;
            r.indistinguishable = c[i].indistinguishable;
        }
        fprintf(a.f, "%d,%lld,", it, (long long)hv->it[it].n_resources);
        csv_row(a.f, g, i, &r, hv->row_sp + (size_t)k * (size_t)hv->folds, hv->folds);
    }
    return fg_afile_commit(&a, err);
}
