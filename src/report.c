/* report.c - ranking and report files, recomputed from journal entries. The only user of
 * libyaml's emitter. */
#define _POSIX_C_SOURCE 200809L
#include "report.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "nn.h"
#include "plot.h"
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

static int cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

int rpt_aggregate(const jnl_entry *e, int n, int64_t n_configs, int folds, rpt_config **out,
                  double **splits, fg_err *err)
{
    *out = NULL;
    *splits = NULL;
    size_t cells = (size_t)n_configs * (size_t)folds;
    rpt_config *c = calloc((size_t)n_configs, sizeof *c);
    double *sp = malloc(cells * sizeof *sp);
    double *fit = malloc(cells * sizeof *fit);
    double *sco = malloc(cells * sizeof *sco);
    int *st = malloc(cells * sizeof *st);
    if (!c || !sp || !fit || !sco || !st) {
        free(c), free(sp), free(fit), free(sco), free(st);
        return fg_err_set(err, "out of memory aggregating %lld configurations", (long long)n_configs);
    }
    for (size_t i = 0; i < cells; i++) {
        sp[i] = NAN;
        fit[i] = sco[i] = NAN;
        st[i] = -1; /* missing */
    }
    for (int i = 0; i < n; i++) {
        if (e[i].fold < 0 || e[i].fold >= folds || e[i].config < 0 || e[i].config >= n_configs)
            continue;
        size_t k = (size_t)e[i].config * (size_t)folds + (size_t)e[i].fold;
        if (st[k] >= 0)
            continue; /* first record wins */
        st[k] = e[i].status;
        fit[k] = e[i].fit_time;
        sco[k] = e[i].score_time;
        sp[k] = e[i].status == NN_STATUS_OK ? (double)e[i].val_acc : NAN;
    }
    double *tmp = malloc((size_t)folds * sizeof *tmp);
    if (!tmp) {
        free(c), free(sp), free(fit), free(sco), free(st);
        return fg_err_set(err, "out of memory");
    }
    for (int64_t ci = 0; ci < n_configs; ci++) {
        rpt_config *r = &c[ci];
        r->config = ci;
        r->status = NN_STATUS_OK;
        r->failed_fold = -1;
        int nf = 0, missing = 0;
        for (int f = 0; f < folds; f++) {
            size_t k = (size_t)ci * (size_t)folds + (size_t)f;
            if (st[k] < 0) {
                missing++;
                continue;
            }
            r->n_done++;
            if (st[k] != NN_STATUS_OK && r->failed_fold < 0) {
                r->status = st[k];
                r->failed_fold = f;
            }
        }
        if (missing && r->failed_fold < 0)
            r->status = RPT_STATUS_PARTIAL;
        for (int f = 0; f < folds; f++)
            tmp[nf++] = sp[(size_t)ci * (size_t)folds + (size_t)f];
        if (r->status == NN_STATUS_OK) {
            mean_std(tmp, nf, &r->mean, &r->std);
            r->sem = st_sem(tmp, nf);
        } else {
            r->mean = r->std = r->sem = NAN;
        }
        r->n_params = -1;
        r->cost = r->t_vs_best = r->p_vs_best = NAN;
        nf = 0;
        for (int f = 0; f < folds; f++) {
            double v = fit[(size_t)ci * (size_t)folds + (size_t)f];
            if (!isnan(v))
                tmp[nf++] = v;
        }
        mean_std(tmp, nf, &r->mean_fit, &r->std_fit);
        nf = 0;
        for (int f = 0; f < folds; f++) {
            double v = sco[(size_t)ci * (size_t)folds + (size_t)f];
            if (!isnan(v))
                tmp[nf++] = v;
        }
        mean_std(tmp, nf, &r->mean_score, &r->std_score);
    }
    /* Ranks: 1 + number of configurations with a strictly higher mean (scikit-learn's
     * rankdata(method='min') on -mean); NaN means rank after every finite one. */
    int64_t n_finite = 0;
    for (int64_t i = 0; i < n_configs; i++)
        n_finite += !isnan(c[i].mean);
    double *sorted = malloc((size_t)(n_finite ? n_finite : 1) * sizeof *sorted);
    if (!sorted) {
        free(tmp), free(c), free(sp), free(fit), free(sco), free(st);
        return fg_err_set(err, "out of memory");
    }
    int64_t m = 0;
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
    free(tmp), free(fit), free(sco), free(st);
    *out = c;
    *splits = sp;
    return 0;
}

void rpt_costs(const grid *g, rpt_config *c, int64_t n_configs)
{
    nn_net_desc *d = malloc(sizeof *d);
    nn_layer_info *info = malloc(NN_MAX_LAYERS * sizeof *info);
    for (int64_t i = 0; d && info && i < n_configs && i < grid_n_configs(g); i++) {
        nn_train_desc t;
        int64_t np = 0;
        c[i].n_params = -1;
        c[i].epochs = 0;
        c[i].cost = NAN;
        if (grid_config_build(g, i, 28, 28, 1, 10, d, &t, NULL) || nn_desc_check(d, info, &np, NULL, NULL))
            continue;
        c[i].n_params = np;
        c[i].epochs = t.epochs;
        c[i].cost = (double)np * t.epochs;
    }
    free(d);
    free(info);
}

/* 1 when configuration a ranks before b: higher mean, then lower cost (an unknown cost
 * last), then lower index; a NaN mean after every number. */
static int ranks_before(const rpt_config *a, const rpt_config *b)
{
    if (isnan(a->mean) != isnan(b->mean))
        return isnan(b->mean);
    if (!isnan(a->mean) && a->mean != b->mean)
        return a->mean > b->mean;
    if (isnan(a->cost) != isnan(b->cost))
        return isnan(b->cost);
    if (!isnan(a->cost) && a->cost != b->cost)
        return a->cost < b->cost;
    return a->config < b->config;
}

int64_t rpt_best(const rpt_config *c, int64_t n_configs)
{
    int64_t best = -1;
    for (int64_t i = 0; i < n_configs; i++)
        if (!isnan(c[i].mean) && (best < 0 || ranks_before(&c[i], &c[best])))
            best = i;
    return best;
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
    for (int64_t i = 0; i < n_configs; i++) {
        if (!c[i].indistinguishable)
            continue;
        if (pick < 0) {
            pick = i;
            continue;
        }
        const rpt_config *a = &c[i], *b = &c[pick];
        int cheaper;
        if (isnan(a->cost) != isnan(b->cost))
            cheaper = isnan(b->cost);
        else if (!isnan(a->cost) && a->cost != b->cost)
            cheaper = a->cost < b->cost;
        else if (a->mean != b->mean)
            cheaper = a->mean > b->mean;
        else
            cheaper = a->config < b->config;
        if (cheaper)
            pick = i;
    }
    return pick;
}

/* ---- files ----------------------------------------------------------------------------- */

typedef struct {
    FILE *f;
    char tmp[4200], final[4200];
} afile;

/* Opens DIR/.NAME.tmp for writing; afile_commit renames it to DIR/NAME after an fsync. */
static int afile_open(afile *a, const char *dir, const char *name, fg_err *err)
{
    snprintf(a->final, sizeof a->final, "%s/%s", dir, name);
    snprintf(a->tmp, sizeof a->tmp, "%s/.%s.tmp", dir, name);
    a->f = fopen(a->tmp, "w");
    if (!a->f)
        return fg_err_set(err, "%s: cannot write: %s", a->tmp, strerror(errno));
    return 0;
}

static int afile_commit(afile *a, fg_err *err)
{
    int bad = ferror(a->f) != 0;
    if (fflush(a->f) != 0 || fsync(fileno(a->f)) != 0)
        bad = 1;
    if (fclose(a->f) != 0)
        bad = 1;
    a->f = NULL;
    if (bad) {
        unlink(a->tmp);
        return fg_err_set(err, "%s: write failed: %s", a->tmp, strerror(errno));
    }
    if (rename(a->tmp, a->final) != 0)
        return fg_err_set(err, "%s: cannot rename into place: %s", a->final, strerror(errno));
    return 0;
}

static void afile_abort(afile *a)
{
    if (a->f)
        fclose(a->f);
    a->f = NULL;
    unlink(a->tmp);
}

static void csv_num(FILE *f, double v, const char *fmt)
{
    if (isnan(v))
        return; /* empty cell, as pandas writes NaN */
    fprintf(f, fmt, v);
}

static const char *status_text(int s)
{
    if (s == RPT_STATUS_PARTIAL)
        return "partial";
    return nn_status_name((nn_status)s);
}

static int write_csv(const char *dir, const grid *g, const rpt_config *c, const double *sp,
                     int64_t nc, int folds, fg_err *err)
{
    afile a;
    if (afile_open(&a, dir, "cv_results.csv", err))
        return -1;
    FILE *f = a.f;
    int np = grid_n_params(g);
    fputs("mean_fit_time,std_fit_time,mean_score_time,std_score_time", f);
    for (int p = 0; p < np; p++)
        fprintf(f, ",param_%s", grid_param_name(g, p));
    fputs(",params", f);
    for (int k = 0; k < folds; k++)
        fprintf(f, ",split%d_test_score", k);
    fputs(",mean_test_score,std_test_score,rank_test_score,status,config", f);
    fputs(",std_error_test_score,p_value_vs_best,indistinguishable_from_best,n_params,epochs,cost\n", f);
    for (int64_t i = 0; i < nc; i++) {
        const rpt_config *r = &c[i];
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
            csv_num(f, sp[(size_t)i * (size_t)folds + (size_t)k], "%.9g");
        }
        fputc(',', f);
        csv_num(f, r->mean, "%.17g");
        fputc(',', f);
        csv_num(f, r->std, "%.17g");
        fprintf(f, ",%d,%s,%lld,", r->rank, status_text(r->status), (long long)i);
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
    return afile_commit(&a, err);
}

/* Order of configurations as rpt_best ranks them (mean, cost, index). */
static const rpt_config *g_sort_base;
static int by_rank(const void *a, const void *b)
{
    const rpt_config *x = &g_sort_base[*(const int64_t *)a], *y = &g_sort_base[*(const int64_t *)b];
    return ranks_before(x, y) ? -1 : ranks_before(y, x) ? 1 : 0;
}

static void fmt_secs(char *buf, size_t n, double s)
{
    if (isnan(s) || s < 0)
        snprintf(buf, n, "-");
    else if (s < 120)
        snprintf(buf, n, "%.1f s", s);
    else if (s < 7200)
        snprintf(buf, n, "%.1f min", s / 60);
    else
        snprintf(buf, n, "%.2f h", s / 3600);
}

/* The best configuration's refit (a search may also have refitted a configuration that led
 * for a while: it refits the leader early, while ranks would otherwise wait). */
static const jnl_entry *find_refit(const jnl_entry *e, int n, int64_t best)
{
    const jnl_entry *r = NULL;
    for (int i = 0; i < n; i++)
        if (e[i].fold == JNL_REFIT && e[i].config == best)
            r = &e[i]; /* the last one recorded */
    return r;
}

static const char *const class_names[JNL_CLASSES] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};

#define TOP_CURVES 5

/* Per-epoch means over folds of one configuration's histories (or the refit's). */
typedef struct {
    int n;                       /* epochs with at least one value */
    double loss[NN_MAX_EPOCHS], acc[NN_MAX_EPOCHS], val_loss[NN_MAX_EPOCHS], val_acc[NN_MAX_EPOCHS];
    int cnt[NN_MAX_EPOCHS], vcnt[NN_MAX_EPOCHS];
} hist_avg;

/* Everything write_md and the plots need, computed once. */
typedef struct {
    const char *dir;
    const grid *g;
    const jnl_header *h;
    const rpt_config *c;
    const double *sp;
    const int64_t *order;
    int64_t nc;
    int folds;
    const jnl_entry *e;
    int n;
    const rpt_env *env;
    int64_t best, pick;
    double ratio;
    const jnl_entry *refit;
    int n_top;
    int64_t top[TOP_CURVES];
    hist_avg top_h[TOP_CURVES], refit_h;
    char *seen; /* n_top x folds: a fold's first record counts */
    int n_plots, plots_drawn;
    char plot_stem[8][64], plot_title[8][256];
    char plot_msg[FG_ERR_MAX];
} rctx;

static void hist_add(hist_avg *a, const jnl_record *r)
{
    for (int i = 0; i < r->e.epochs_run && i < NN_MAX_EPOCHS; i++) {
        const nn_epoch *h = &r->hist[i];
        if (!isnan(h->loss) && !isnan(h->acc)) {
            a->loss[i] += h->loss;
            a->acc[i] += h->acc;
            a->cnt[i]++;
        }
        if (!isnan(h->val_loss) && !isnan(h->val_acc)) {
            a->val_loss[i] += h->val_loss;
            a->val_acc[i] += h->val_acc;
            a->vcnt[i]++;
        }
        if (i + 1 > a->n)
            a->n = i + 1;
    }
}

static void hist_finish(hist_avg *a)
{
    for (int i = 0; i < a->n; i++) {
        a->loss[i] = a->cnt[i] ? a->loss[i] / a->cnt[i] : NAN;
        a->acc[i] = a->cnt[i] ? a->acc[i] / a->cnt[i] : NAN;
        a->val_loss[i] = a->vcnt[i] ? a->val_loss[i] / a->vcnt[i] : NAN;
        a->val_acc[i] = a->vcnt[i] ? a->val_acc[i] / a->vcnt[i] : NAN;
    }
}

static int on_record(void *p, const jnl_record *r)
{
    rctx *x = p;
    if (r->e.fold == JNL_REFIT) {
        if (x->refit && r->e.config == x->refit->config) {
            memset(&x->refit_h, 0, sizeof x->refit_h); /* the last refit recorded */
            hist_add(&x->refit_h, r);
        }
        return 0;
    }
    if (r->e.fold < 0 || r->e.fold >= x->folds)
        return 0;
    for (int t = 0; t < x->n_top; t++)
        if (x->top[t] == r->e.config) {
            char *s = &x->seen[t * x->folds + r->e.fold];
            if (!*s && r->e.status == NN_STATUS_OK)
                hist_add(&x->top_h[t], r);
            *s = 1;
        }
    return 0;
}

static int by_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Histories of the top configurations and of the refit from every DIR/journal*.jsonl
 * (journal.jsonl first, then by name, as `report DIR` merges them). */
static void read_histories(rctx *x, const char *journal_path)
{
    x->seen = calloc((size_t)(x->n_top ? x->n_top : 1) * (size_t)x->folds, 1);
    if (!x->seen)
        return;
    char *names[1024];
    int nn = 0;
    DIR *dp = opendir(x->dir);
    struct dirent *de;
    while (dp && (de = readdir(dp)) && nn < 1024) {
        size_t l = strlen(de->d_name);
        if (l > 13 && !strncmp(de->d_name, "journal", 7) && !strcmp(de->d_name + l - 6, ".jsonl"))
            names[nn++] = strdup(de->d_name);
        else if (!strcmp(de->d_name, "journal.jsonl"))
            names[nn++] = strdup(de->d_name);
    }
    if (dp)
        closedir(dp);
    int ok = 0;
    for (int i = 0; i < nn; i++)
        ok += names[i] != NULL;
    if (ok == nn) {
        qsort(names, (size_t)nn, sizeof names[0], by_str);
        for (int i = 0; i < nn; i++)
            if (!strcmp(names[i], "journal.jsonl") && i > 0) {
                char *t = names[i];
                memmove(names + 1, names, (size_t)i * sizeof names[0]);
                names[0] = t;
            }
        for (int i = 0; i < nn; i++) {
            char path[4400];
            snprintf(path, sizeof path, "%s/%s", x->dir, names[i]);
            jnl_each_record(path, on_record, x, NULL);
        }
    }
    if (nn == 0 && journal_path)
        jnl_each_record(journal_path, on_record, x, NULL);
    for (int i = 0; i < nn; i++)
        free(names[i]);
    for (int t = 0; t < x->n_top; t++)
        hist_finish(&x->top_h[t]);
    hist_finish(&x->refit_h);
}

/* ---- parameter values ------------------------------------------------------------------ */

static int is_number(const char *s, double *v)
{
    char *end;
    if (!s || !*s)
        return 0;
    *v = strtod(s, &end);
    return *end == '\0' && !isnan(*v) && !isinf(*v);
}

/* Distinct values of parameter p in axis order: numeric order when every value is a
 * number, else order of first appearance. Returns the count; vals (room for nc) borrowed
 * from the grid. *numeric is set when every value is a number. */
static int param_values(const grid *g, int64_t nc, int p, const char **vals, int *numeric)
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
        if (!is_number(v, &d))
            *numeric = 0;
        vals[nv++] = v;
    }
    if (*numeric) /* insertion sort by value: a handful of values */
        for (int i = 1; i < nv; i++)
            for (int k = i; k > 0; k--) {
                double a, b;
                is_number(vals[k - 1], &a);
                is_number(vals[k], &b);
                if (a <= b)
                    break;
                const char *t = vals[k];
                vals[k] = vals[k - 1];
                vals[k - 1] = t;
            }
    return nv;
}

static int value_index(const char **vals, int nv, const char *v)
{
    for (int k = 0; k < nv; k++)
        if (!strcmp(vals[k], v))
            return k;
    return -1;
}

/* ---- plots ----------------------------------------------------------------------------- */

static void make_plots(rctx *x)
{
    char pdir[4300];
    fg_err err;
    snprintf(pdir, sizeof pdir, "%s/plots", x->dir);
    plot_set *ps = plot_new(pdir, &err);
    if (!ps) {
        snprintf(x->plot_msg, sizeof x->plot_msg, "%s", err.msg);
        return;
    }
    const grid *g = x->g;
    int64_t nc = x->nc;
    int np = grid_n_params(g);
    int rc = 0;
    /* 1: mean score against each parameter */
    plot_panel *pan = calloc((size_t)(np ? np : 1), sizeof *pan);
    const char **vals = malloc((size_t)(np ? np : 1) * (size_t)(nc ? nc : 1) * sizeof *vals);
    int *ints = malloc((size_t)(np ? np : 1) * (size_t)(nc ? nc : 1) * 4 * sizeof *ints);
    double *dbl = malloc((size_t)(np ? np : 1) * (size_t)(nc ? nc : 1) * 2 * sizeof *dbl);
    int npan = 0;
    if (!pan || !vals || !ints || !dbl) {
        rc = fg_err_set(&err, "out of memory drawing plots");
    } else {
        for (int p = 0; p < np; p++) {
            size_t off = (size_t)p * (size_t)nc;
            const char **pv = vals + off;
            int numeric;
            int nv = param_values(g, nc, p, pv, &numeric);
            int *cfg = ints + off * 4, *vo = cfg + nc, *bov = vo + nc;
            double *mean = dbl + off * 2, *sem = mean + nc;
            int npt = 0;
            for (int64_t i = 0; i < nc; i++) {
                const char *v = grid_config_value(g, i, p);
                if (!v || isnan(x->c[i].mean))
                    continue;
                cfg[npt] = (int)i;
                vo[npt] = value_index(pv, nv, v);
                mean[npt] = x->c[i].mean;
                sem[npt] = x->c[i].sem;
                npt++;
            }
            for (int k = 0; k < npt; k++) {
                bov[k] = 1;
                for (int m = 0; m < npt && bov[k]; m++)
                    if (m != k && vo[m] == vo[k] && ranks_before(&x->c[cfg[m]], &x->c[cfg[k]]))
                        bov[k] = 0;
            }
            if (nv < 1 || npt < 1)
                continue;
            plot_panel *pp = &pan[npan++];
            pp->name = grid_param_name(g, p);
            pp->n_values = nv;
            pp->values = pv;
            pp->n_points = npt;
            pp->config = cfg;
            pp->value_of = vo;
            pp->best_of_value = bov;
            pp->mean = mean;
            pp->sem = sem;
        }
        if (npan)
            rc = plot_params(ps, "params", "Mean CV accuracy per parameter value (blue: every configuration, mean ± "
                             "standard error over folds; red: the best configuration with each value)",
                             pan, npan, &err);
    }
    free(pan);
    /* 2: learning curves of the top configurations and the refit */
    if (!rc && (x->n_top || x->refit_h.n)) {
        plot_curve cur[TOP_CURVES + 1];
        char labels[TOP_CURVES + 1][96];
        int ncur = 0;
        for (int t = 0; t < x->n_top; t++) {
            if (!x->top_h[t].n)
                continue;
            snprintf(labels[ncur], sizeof labels[0], "#%d: config %lld (mean of folds)", t + 1,
                     (long long)x->top[t]);
            hist_avg *a = &x->top_h[t];
            cur[ncur] = (plot_curve){labels[ncur], a->n, a->loss, a->acc, a->val_loss, a->val_acc};
            ncur++;
        }
        if (x->refit_h.n) {
            snprintf(labels[ncur], sizeof labels[0], "refit: config %d, all images", x->refit->config);
            hist_avg *a = &x->refit_h;
            cur[ncur] = (plot_curve){labels[ncur], a->n, a->loss, a->acc, a->val_loss, a->val_acc};
            ncur++;
        }
        if (ncur)
            rc = plot_curves(ps, "curves", "Learning curves of the top configurations and the refit", cur, ncur,
                             &err);
    }
    /* 3: the refit's confusion matrix */
    int have_conf = 0;
    for (int k = 0; x->refit && k < JNL_CLASSES * JNL_CLASSES; k++)
        have_conf |= x->refit->confusion[k] != 0;
    if (!rc && have_conf) {
        char t[160];
        snprintf(t, sizeof t, "Refit (configuration %d): confusion matrix on the test set", x->refit->config);
        rc = plot_confusion(ps, "confusion", t, x->refit->confusion, JNL_CLASSES, class_names, &err);
    }
    /* 4: score against fit time */
    if (!rc) {
        plot_point *pt = malloc((size_t)(nc ? nc : 1) * sizeof *pt);
        int npt = 0;
        for (int64_t i = 0; pt && i < nc; i++) {
            if (isnan(x->c[i].mean))
                continue;
            pt[npt++] = (plot_point){(int)i, x->c[i].mean_fit, x->c[i].mean, x->c[i].sem,
                                     (i == x->best ? 1 : 0) | (i == x->pick ? 2 : 0)};
        }
        if (!pt)
            rc = fg_err_set(&err, "out of memory drawing plots");
        else if (npt)
            rc = plot_cost(ps, "cost", "Mean CV accuracy against training time per fold",
                           "mean fit time per fold (s)", pt, npt, &err);
        free(pt);
    }
    free(vals);
    free(ints);
    free(dbl);
    x->n_plots = 0;
    for (int i = 0; i < plot_count(ps) && i < 8; i++) {
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

/* ---- report.md ------------------------------------------------------------------------- */

static void md_mean_se(FILE *f, const rpt_config *r)
{
    if (isnan(r->mean))
        fputs("NaN", f);
    else if (isnan(r->sem))
        fprintf(f, "%.4f", r->mean);
    else
        fprintf(f, "%.4f ± %.4f", r->mean, r->sem);
}

static void md_p(FILE *f, double p)
{
    if (isnan(p))
        fputs("–", f);
    else if (p < 0.0001)
        fputs("< 0.0001", f);
    else
        fprintf(f, "%.4f", p);
}

static void md_cost(FILE *f, const rpt_config *r)
{
    if (r->n_params < 0)
        fputs("?", f);
    else
        fprintf(f, "%lld × %d", (long long)r->n_params, r->epochs);
}

/* "Try next": the best configuration's numeric parameters at an edge of their grid. */
static void md_try_next(FILE *f, const rctx *x)
{
    fputs("## What to try next\n\n", f);
    if (x->best < 0) {
        fputs("Nothing yet: no configuration has a score.\n\n", f);
        return;
    }
    const grid *g = x->g;
    int np = grid_n_params(g), said = 0;
    const char **vals = malloc((size_t)(x->nc ? x->nc : 1) * sizeof *vals);
    for (int p = 0; vals && p < np; p++) {
        const char *bv = grid_config_value(g, x->best, p);
        int numeric;
        int nv = param_values(g, x->nc, p, vals, &numeric);
        if (!bv || !numeric || nv < 2)
            continue;
        int at = value_index(vals, nv, bv);
        if (at != 0 && at != nv - 1)
            continue;
        double lo, lo2, hi, hi2;
        is_number(vals[0], &lo);
        is_number(vals[1], &lo2);
        is_number(vals[nv - 1], &hi);
        is_number(vals[nv - 2], &hi2);
        int ints = 1;
        for (int k = 0; k < nv; k++)
            ints &= strspn(vals[k], "-0123456789") == strlen(vals[k]);
        double next;
        if (at == nv - 1) {
            next = hi2 > 0 ? hi * (hi / hi2) : hi + (hi - hi2); /* the grid's own step, geometric when positive */
            if (ints)
                next = floor(next + 0.5);
            fprintf(f, "- `%s`: the best configuration uses %s, the largest value in the grid; "
                       "extend the grid upwards (e.g. %.6g).\n",
                    grid_param_name(g, p), bv, next);
            said++;
        } else if (lo > 0) {
            next = lo * (lo / lo2);
            if (ints)
                next = floor(next + 0.5);
            if (ints && next < 1)
                next = 1;
            if (next < lo)
                fprintf(f, "- `%s`: the best configuration uses %s, the smallest value in the grid; "
                           "extend the grid downwards (e.g. %.6g).\n",
                        grid_param_name(g, p), bv, next);
            else
                fprintf(f, "- `%s`: the best configuration uses %s, the smallest value in the grid.\n",
                        grid_param_name(g, p), bv);
            said++;
        } else {
            fprintf(f, "- `%s`: the best configuration uses %s, the smallest value in the grid (and the "
                       "lower limit of this parameter).\n",
                    grid_param_name(g, p), bv);
            said++;
        }
    }
    free(vals);
    if (!said)
        fputs("The best configuration's numeric parameters all lie inside their grid ranges: "
              "no edge to extend.\n", f);
    fputc('\n', f);
}

static void write_md(FILE *f, const rctx *x)
{
    const grid *g = x->g;
    const rpt_config *c = x->c;
    const jnl_entry *e = x->e;
    const rpt_env *env = x->env;
    int64_t nc = x->nc, best = x->best;
    int folds = x->folds, n = x->n;
    const grid_options *o = grid_opts_c(g);
    int64_t done = 0, failed = 0;
    for (int64_t i = 0; i < nc; i++) {
        done += c[i].n_done;
        if (c[i].status != NN_STATUS_OK && c[i].status != RPT_STATUS_PARTIAL)
            failed++;
    }
    fprintf(f, "# fmnist-grid report: %s\n\n", o->name);
    if (env && env->interrupted)
        fprintf(f, "**Partial report**: the search was interrupted; resume it with "
                   "`fmnist-grid --resume %s`.\n\n", x->dir);
    fprintf(f, "%lld configurations × %d folds = %lld tasks; %lld done", (long long)nc, folds,
            (long long)nc * folds, (long long)done);
    if (failed)
        fprintf(f, "; %lld configurations failed (ranked last with NaN scores)", (long long)failed);
    fputs(". Scores are validation accuracies; ± is the standard error of the mean over folds.\n\n", f);

    fputs("## Best configuration\n\n", f);
    if (best < 0) {
        fputs("No configuration has a score yet.\n\n", f);
    } else {
        const rpt_config *b = &c[best];
        fprintf(f, "Configuration %lld: mean cross-validated accuracy **", (long long)best);
        md_mean_se(f, b);
        fprintf(f, "** over %d folds (std %.4f).", folds, b->std);
        int ties = 0;
        for (int64_t i = 0; i < nc; i++)
            ties += i != best && c[i].mean == b->mean;
        if (ties) {
            fputs(" Configuration", f);
            fputs(ties > 1 ? "s" : "", f);
            for (int64_t i = 0, k = 0; i < nc; i++)
                if (i != best && c[i].mean == b->mean)
                    fprintf(f, "%s %lld", k++ ? "," : "", (long long)i);
            fprintf(f, " %s the same mean score; the tie goes to the cheapest network (fewest parameters × "
                       "epochs), then the lowest configuration number.",
                    ties > 1 ? "have" : "has");
        }
        fputs("\n\n| parameter | value |\n|---|---|\n", f);
        for (int p = 0; p < grid_n_params(g); p++) {
            const char *v = grid_config_value(g, best, p);
            if (v)
                fprintf(f, "| %s | %s |\n", grid_param_name(g, p), v);
        }
        fputs("| parameters × epochs | ", f);
        md_cost(f, b);
        fputs(" |\n\n", f);
    }

    /* Statistics: who the best really beats */
    fputs("## Does the best really beat the others?\n\n", f);
    if (best < 0) {
        fputs("No configuration has a score yet.\n\n", f);
    } else {
        fprintf(f, "Each configuration's fold scores are compared with the best's by the corrected "
                   "resampled paired t-test (Nadeau and Bengio, 2003): the variance of the %d paired "
                   "differences is inflated by n_test/n_train = %.4f for the overlap of the training "
                   "sets, with %d degrees of freedom; two-sided, significance level %.2f.\n\n",
                folds, x->ratio, folds - 1, RPT_ALPHA);
        int nind = 0;
        for (int64_t i = 0; i < nc; i++)
            nind += c[i].indistinguishable;
        fprintf(f, "**Not separated from the best** (p ≥ %.2f): %d configuration%s.\n\n", RPT_ALPHA, nind,
                nind == 1 ? "" : "s");
        fputs("| config | mean ± SE | p vs best | parameters × epochs | parameters |\n|---|---|---|---|---|\n", f);
        for (int64_t k = 0; k < nc; k++) {
            const rpt_config *r = &c[x->order[k]];
            if (!r->indistinguishable)
                continue;
            fprintf(f, "| %lld%s | ", (long long)r->config, r->config == best ? " (best)" : "");
            md_mean_se(f, r);
            fputs(" | ", f);
            md_p(f, r->p_vs_best);
            fputs(" | ", f);
            md_cost(f, r);
            fprintf(f, " | %s |\n", grid_config_params(g, r->config));
        }
        fputc('\n', f);
        if (x->pick >= 0) {
            const rpt_config *r = &c[x->pick];
            fprintf(f, "**One-standard-error choice**: configuration %lld (%s), the cheapest of these: ",
                    (long long)x->pick, grid_config_params(g, x->pick));
            md_cost(f, r);
            fputs(", mean ", f);
            md_mean_se(f, r);
            fputs(x->pick == best ? "; the best configuration itself.\n\n" : ".\n\n", f);
        }
    }
    md_try_next(f, x);

    /* Plots */
    fputs("## Plots\n\n", f);
    if (x->plots_drawn) {
        for (int i = 0; i < x->n_plots; i++)
            fprintf(f, "![%s](plots/%s.svg)\n\n", x->plot_title[i], x->plot_stem[i]);
    } else {
        fprintf(f, "Note: plots not drawn: %s.\n\n", x->plot_msg[0] ? x->plot_msg : "no data");
    }
    if (x->n_plots) {
        fputs("Plot data (CSV, for any plotting tool):", f);
        for (int i = 0; i < x->n_plots; i++)
            fprintf(f, "%s `plots/%s.csv`", i ? "," : "", x->plot_stem[i]);
        fputs("; `plots/plots.gp` redraws them with gnuplot.\n\n", f);
    }

    /* Refit */
    const jnl_entry *rf = x->refit;
    if (rf) {
        long long n_test = 0;
        for (int k = 0; k < JNL_CLASSES * JNL_CLASSES; k++)
            n_test += rf->confusion[k];
        if (!n_test && env)
            n_test = env->n_test;
        fputs("## Refit on all training images\n\n", f);
        fprintf(f, "Configuration %d trained on %d images", rf->config, rf->n_train);
        if (rf->status == NN_STATUS_OK)
            fprintf(f, ", scored on %lld test images: **test accuracy %.4f** (loss %.4f), fit in %.1f s.\n\n",
                    n_test, rf->test_acc, rf->test_loss, rf->fit_time);
        else
            fprintf(f, ": %s (%s).\n\n", nn_status_name((nn_status)rf->status), rf->msg);
        const hist_avg *hh = &x->refit_h;
        if (hh->n > 0) {
            fputs("| epoch | loss | accuracy |\n|---|---|---|\n", f);
            for (int i = 0; i < hh->n; i++)
                fprintf(f, "| %d | %.4f | %.4f |\n", i + 1, hh->loss[i], hh->acc[i]);
            fputc('\n', f);
        }
        int have_conf = 0;
        for (int k = 0; k < JNL_CLASSES * JNL_CLASSES; k++)
            have_conf |= rf->confusion[k] != 0;
        if (have_conf) {
            fputs("Confusion matrix on the test set (rows: true class, columns: predicted class).\n\n"
                  "| true class |", f);
            for (int k = 0; k < JNL_CLASSES; k++)
                fprintf(f, " %s |", class_names[k]);
            fputs(" accuracy |\n|---|", f);
            for (int k = 0; k <= JNL_CLASSES; k++)
                fputs("---|", f);
            fputc('\n', f);
            for (int t = 0; t < JNL_CLASSES; t++) {
                long long row = 0;
                fprintf(f, "| %s |", class_names[t]);
                for (int q = 0; q < JNL_CLASSES; q++) {
                    row += rf->confusion[t * JNL_CLASSES + q];
                    fprintf(f, q == t ? " **%d** |" : " %d |", (int)rf->confusion[t * JNL_CLASSES + q]);
                }
                if (row)
                    fprintf(f, " %.4f |\n", (double)rf->confusion[t * JNL_CLASSES + t] / (double)row);
                else
                    fputs(" – |\n", f);
            }
            fputc('\n', f);
        }
    } else if (o->refit && best >= 0) {
        fputs("## Refit\n\nNot done (the search did not finish, or the refit failed).\n\n", f);
    }

    /* Top 10 */
    fputs("## Top configurations\n\nIn order of mean score, ties by cost; `rank` is scikit-learn's "
          "`rank_test_score` (ties share a rank).\n\n| rank | config | mean ± SE | p vs best | fit time | "
          "parameters × epochs |", f);
    for (int p = 0; p < grid_n_params(g); p++)
        fprintf(f, " %s |", grid_param_name(g, p));
    fputs("\n|---|---|---|---|---|---|", f);
    for (int p = 0; p < grid_n_params(g); p++)
        fputs("---|", f);
    fputc('\n', f);
    for (int64_t k = 0; k < nc && k < 10; k++) {
        const rpt_config *r = &c[x->order[k]];
        char t[32];
        fmt_secs(t, sizeof t, r->mean_fit);
        fprintf(f, "| %d | %lld | ", r->rank, (long long)r->config);
        md_mean_se(f, r);
        if (r->status != NN_STATUS_OK)
            fprintf(f, " (%s)", status_text(r->status));
        fputs(" | ", f);
        md_p(f, r->p_vs_best);
        fprintf(f, " | %s | ", t);
        md_cost(f, r);
        fputs(" |", f);
        for (int p = 0; p < grid_n_params(g); p++) {
            const char *v = grid_config_value(g, r->config, p);
            fprintf(f, " %s |", v ? v : "");
        }
        fputc('\n', f);
    }
    fputc('\n', f);
    /* Mean score per parameter value */
    fputs("## Mean score per parameter value\n\nMean of the configurations' mean scores "
          "(configurations without a score are left out).\n\n", f);
    const char **vals = malloc((size_t)(nc ? nc : 1) * sizeof *vals);
    for (int p = 0; vals && p < grid_n_params(g); p++) {
        fprintf(f, "### %s\n\n| value | configurations | mean score | best score |\n|---|---|---|---|\n",
                grid_param_name(g, p));
        int numeric;
        int nv = param_values(g, nc, p, vals, &numeric);
        for (int k = 0; k < nv; k++) {
            double s = 0, bestv = NAN;
            int cnt = 0, tot = 0;
            for (int64_t j = 0; j < nc; j++) {
                const char *w = grid_config_value(g, j, p);
                if (!w || strcmp(vals[k], w))
                    continue;
                tot++;
                if (isnan(c[j].mean))
                    continue;
                s += c[j].mean;
                cnt++;
                if (isnan(bestv) || c[j].mean > bestv)
                    bestv = c[j].mean;
            }
            fprintf(f, "| %s | %d | ", vals[k], tot);
            if (cnt)
                fprintf(f, "%.4f | %.4f |\n", s / cnt, bestv);
            else
                fputs("NaN | NaN |\n", f);
        }
        fputc('\n', f);
    }
    free(vals);
    /* Failures */
    if (failed) {
        fputs("## Failed tasks\n\n| config | fold | status | message |\n|---|---|---|---|\n", f);
        for (int i = 0; i < n; i++)
            if (e[i].fold >= 0 && e[i].status != NN_STATUS_OK)
                fprintf(f, "| %d | %d | %s | %s |\n", e[i].config, e[i].fold,
                        nn_status_name((nn_status)e[i].status), e[i].msg);
        fputc('\n', f);
    }
    /* Timings and environment: the only part that changes from one `report DIR` to the next */
    double total_fit = 0;
    for (int i = 0; i < n; i++)
        if (!isnan(e[i].fit_time))
            total_fit += e[i].fit_time;
    char w[32], tf[32];
    fmt_secs(w, sizeof w, env ? env->wall_time : NAN);
    fmt_secs(tf, sizeof tf, total_fit);
    fputs("## Timings and environment\n\n| | |\n|---|---|\n", f);
    fprintf(f, "| wall time of this session | %s |\n| training time, all tasks | %s |\n", w, tf);
    if (x->h && x->h->base_configs > 0) { /* base.c: features computed once per node */
        char bs[32];
        fmt_secs(bs, sizeof bs, x->h->base_seconds);
        fprintf(f, "| frozen base | computed once per node in %s (%d base%s for %d configuration%s), "
                   "the tasks trained their heads on its features |\n", bs, x->h->base_blocks,
                x->h->base_blocks == 1 ? "" : "s", x->h->base_configs, x->h->base_configs == 1 ? "" : "s");
    }
    if (env) {
        fprintf(f, "| ranks | %d (%d training) |\n| BLAS threads per rank | %d |\n", env->ranks,
                env->workers, env->threads);
        fprintf(f, "| program | fmnist-grid %s (git %s), %s |\n", env->version ? env->version : "?",
                env->git_rev ? env->git_rev : "?", env->compiler ? env->compiler : "?");
        fprintf(f, "| MPI | %s |\n| BLAS | %s |\n", env->mpi ? env->mpi : "?", env->blas ? env->blas : "?");
        fprintf(f, "| host | %s |\n| started (UTC) | %s |\n", env->host ? env->host : "?",
                env->started_utc ? env->started_utc : "?");
        fprintf(f, "| command | `%s` |\n", env->command_line ? env->command_line : "?");
        fprintf(f, "| data | %s (train images CRC-32 %08lx, labels %08lx; test images %08lx, labels %08lx) |\n",
                env->data_dir ? env->data_dir : "?", (unsigned long)env->train_images_crc32,
                (unsigned long)env->train_labels_crc32, (unsigned long)env->test_images_crc32,
                (unsigned long)env->test_labels_crc32);
    }
    const jnl_header *h = x->h;
    fprintf(f, "| seed | %llu (folds: %llu) |\n| fold assignment checksum | %016llx |\n",
            (unsigned long long)h->seed, (unsigned long long)h->cv_seed,
            (unsigned long long)h->folds_checksum);
    fprintf(f, "| samples searched | %s |\n", h->subset ? "stratified subset" : "all training images");
}

/* ---- report.html: the Markdown above, converted, with the PNGs embedded --------------- */

static void html_text(FILE *f, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (ch == '<')
            fputs("&lt;", f);
        else if (ch == '>')
            fputs("&gt;", f);
        else if (ch == '&')
            fputs("&amp;", f);
        else if (ch == '"')
            fputs("&quot;", f);
        else
            fputc(ch, f);
    }
}

/* Inline Markdown of this report: **bold** and `code`, everything else escaped. */
static void html_inline(FILE *f, const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (i + 1 < n && s[i] == '*' && s[i + 1] == '*') {
            const char *end = NULL;
            for (size_t k = i + 2; k + 1 < n; k++)
                if (s[k] == '*' && s[k + 1] == '*') {
                    end = s + k;
                    break;
                }
            if (end) {
                fputs("<strong>", f);
                html_inline(f, s + i + 2, (size_t)(end - s) - i - 2);
                fputs("</strong>", f);
                i = (size_t)(end - s) + 2;
                continue;
            }
        }
        if (s[i] == '`') {
            const char *end = memchr(s + i + 1, '`', n - i - 1);
            if (end) {
                fputs("<code>", f);
                html_text(f, s + i + 1, (size_t)(end - s) - i - 1);
                fputs("</code>", f);
                i = (size_t)(end - s) + 1;
                continue;
            }
        }
        html_text(f, s + i, 1);
        i++;
    }
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Writes path's bytes as base64; returns 0, or -1 when the file cannot be read. */
static int html_base64_file(FILE *f, const char *path)
{
    FILE *in = fopen(path, "rb");
    if (!in)
        return -1;
    unsigned char buf[3 * 1024];
    size_t r;
    while ((r = fread(buf, 1, sizeof buf, in)) > 0) {
        for (size_t i = 0; i < r; i += 3) {
            unsigned v = (unsigned)buf[i] << 16;
            if (i + 1 < r)
                v |= (unsigned)buf[i + 1] << 8;
            if (i + 2 < r)
                v |= buf[i + 2];
            fputc(b64[(v >> 18) & 63], f);
            fputc(b64[(v >> 12) & 63], f);
            fputc(i + 1 < r ? b64[(v >> 6) & 63] : '=', f);
            fputc(i + 2 < r ? b64[v & 63] : '=', f);
        }
        if (r < sizeof buf)
            break;
    }
    int bad = ferror(in);
    fclose(in);
    return bad ? -1 : 0;
}

static const char html_head[] =
    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<style>\n"
    "body { font-family: 'DejaVu Sans', Helvetica, Arial, sans-serif; max-width: 1100px; margin: 2em auto;"
    " padding: 0 1em; color: #222; line-height: 1.45; }\n"
    "h1 { border-bottom: 2px solid #1f77b4; padding-bottom: .2em; }\n"
    "h2 { margin-top: 1.8em; border-bottom: 1px solid #ccc; padding-bottom: .15em; }\n"
    "table { border-collapse: collapse; margin: .8em 0; font-size: .9em; display: block; overflow-x: auto; }\n"
    "th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: left; vertical-align: top; }\n"
    "th { background: #eef3f8; }\n"
    "tr:nth-child(even) td { background: #fafafa; }\n"
    "code { background: #f3f3f3; padding: 0 .25em; border-radius: 3px; font-size: .92em; }\n"
    "figure { margin: 1.2em 0; }\n"
    "figure img { max-width: 100%; height: auto; border: 1px solid #ddd; }\n"
    "figcaption { color: #555; font-size: .9em; }\n"
    "</style>\n"
    /* For tests and for the reader: after loading, the page records how many of its images
     * decoded (body data-images-loaded="N/M"). */
    "<script>\nwindow.addEventListener('load', function () {\n"
    "  var im = document.images, ok = 0;\n"
    "  for (var i = 0; i < im.length; i++) if (im[i].complete && im[i].naturalWidth > 0) ok++;\n"
    "  document.body.setAttribute('data-images-loaded', ok + '/' + im.length);\n"
    "});\n</script>\n";

/* Converts the report's Markdown (headings, paragraphs, lists, tables, images) to a
 * self-contained HTML page: images plots/X.svg are embedded as data: URIs of
 * dir/plots/X.png. */
static void html_from_md(FILE *f, const char *md, const char *dir, const char *title)
{
    fputs(html_head, f);
    fputs("<title>", f);
    html_text(f, title, strlen(title));
    fputs("</title>\n</head>\n<body>\n", f);
    const char *p = md;
    int in_table = 0, table_row = 0, in_list = 0, in_para = 0;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        int is_table = len > 0 && p[0] == '|';
        int is_item = len > 1 && p[0] == '-' && p[1] == ' ';
        if (in_table && !is_table) {
            fputs("</tbody></table>\n", f);
            in_table = 0;
        }
        if (in_list && !is_item) {
            fputs("</ul>\n", f);
            in_list = 0;
        }
        if (in_para && (len == 0 || is_table || is_item || p[0] == '#' || p[0] == '!')) {
            fputs("</p>\n", f);
            in_para = 0;
        }
        if (len == 0) {
            /* blank line: closes blocks (done above) */
        } else if (p[0] == '#') {
            int level = 0;
            while ((size_t)level < len && p[level] == '#')
                level++;
            const char *t = p + level + (p[level] == ' ');
            fprintf(f, "<h%d>", level);
            html_inline(f, t, len - (size_t)(t - p));
            fprintf(f, "</h%d>\n", level);
        } else if (is_table) {
            int sep = 1; /* |---|---| */
            for (size_t i = 0; i < len; i++)
                sep &= p[i] == '|' || p[i] == '-' || p[i] == ':' || p[i] == ' ';
            if (!in_table) {
                fputs("<table><thead>", f);
                in_table = 1;
                table_row = 0;
            }
            if (sep) {
                fputs("<tbody>\n", f);
            } else {
                const char *cell = "td";
                if (table_row == 0)
                    cell = "th";
                fputs("<tr>", f);
                const char *q = p + 1, *end = p + len;
                while (q < end) {
                    const char *bar = memchr(q, '|', (size_t)(end - q));
                    if (!bar)
                        break;
                    const char *a = q, *b = bar;
                    while (a < b && *a == ' ')
                        a++;
                    while (b > a && b[-1] == ' ')
                        b--;
                    fprintf(f, "<%s>", cell);
                    html_inline(f, a, (size_t)(b - a));
                    fprintf(f, "</%s>", cell);
                    q = bar + 1;
                }
                fputs(table_row == 0 ? "</tr></thead>\n" : "</tr>\n", f);
                table_row++;
            }
        } else if (is_item) {
            if (!in_list) {
                fputs("<ul>\n", f);
                in_list = 1;
            }
            fputs("<li>", f);
            html_inline(f, p + 2, len - 2);
            fputs("</li>\n", f);
        } else if (len > 4 && p[0] == '!' && p[1] == '[') {
            /* ![title](plots/STEM.svg) */
            const char *close = memchr(p, ']', len), *open = close ? memchr(close, '(', len - (size_t)(close - p)) : NULL;
            const char *rp = open ? memchr(open, ')', len - (size_t)(open - p)) : NULL;
            if (close && open && rp && rp - open > 5 && !memcmp(rp - 4, ".svg", 4)) {
                char src[4400];
                snprintf(src, sizeof src, "%s/%.*s.png", dir, (int)(rp - 4 - open - 1), open + 1);
                if (access(src, R_OK) != 0) {
                    fputs("<p>(figure missing: ", f);
                    html_text(f, src, strlen(src));
                    fputs(")</p>\n", f);
                    p += len + (nl ? 1 : 0);
                    continue;
                }
                fputs("<figure><img alt=\"", f);
                html_text(f, p + 2, (size_t)(close - p - 2));
                fputs("\" src=\"data:image/png;base64,", f);
                html_base64_file(f, src);
                fputs("\"><figcaption>", f);
                html_inline(f, p + 2, (size_t)(close - p - 2));
                fputs("</figcaption></figure>\n", f);
            }
        } else {
            if (!in_para) {
                fputs("<p>", f);
                in_para = 1;
            } else {
                fputc('\n', f);
            }
            html_inline(f, p, len);
        }
        p += len + (nl ? 1 : 0);
    }
    if (in_table)
        fputs("</tbody></table>\n", f);
    if (in_list)
        fputs("</ul>\n", f);
    if (in_para)
        fputs("</p>\n", f);
    fputs("</body>\n</html>\n", f);
}

/* ---- report.yaml through libyaml's emitter ------------------------------------------- */

typedef struct {
    yaml_emitter_t em;
    int bad;
} ye;

static void y_event(ye *y, yaml_event_t *ev)
{
    if (!y->bad && !yaml_emitter_emit(&y->em, ev))
        y->bad = 1;
}

static void y_scalar_style(ye *y, const char *s, yaml_scalar_style_t style)
{
    yaml_event_t ev;
    if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)strlen(s), 1, 1, style)) {
        y->bad = 1;
        return;
    }
    y_event(y, &ev);
}

static void y_str(ye *y, const char *s) { y_scalar_style(y, s ? s : "", YAML_ANY_SCALAR_STYLE); }
/* A string that must stay a string when read back ("1e-3" as text, "true" as text). */
static void y_qstr(ye *y, const char *s)
{
    y_scalar_style(y, s ? s : "", YAML_DOUBLE_QUOTED_SCALAR_STYLE);
}

static void y_num(ye *y, double v, const char *fmt)
{
    char b[64];
    if (isnan(v))
        snprintf(b, sizeof b, ".nan");
    else
        snprintf(b, sizeof b, fmt, v);
    y_scalar_style(y, b, YAML_PLAIN_SCALAR_STYLE);
}

static void y_int(ye *y, long long v)
{
    char b[32];
    snprintf(b, sizeof b, "%lld", v);
    y_scalar_style(y, b, YAML_PLAIN_SCALAR_STYLE);
}

static void y_hex(ye *y, unsigned long long v, int digits)
{
    char b[32];
    snprintf(b, sizeof b, "%0*llx", digits, v);
    y_qstr(y, b);
}

static void y_map(ye *y, int start)
{
    yaml_event_t ev;
    if (start)
        yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
    else
        yaml_mapping_end_event_initialize(&ev);
    y_event(y, &ev);
}

static void y_seq(ye *y, int start, int flow)
{
    yaml_event_t ev;
    if (start)
        yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
                                             flow ? YAML_FLOW_SEQUENCE_STYLE : YAML_BLOCK_SEQUENCE_STYLE);
    else
        yaml_sequence_end_event_initialize(&ev);
    y_event(y, &ev);
}

static int write_yaml_file(const char *dir, const grid *g, const jnl_header *h, const rpt_config *c,
                           const double *sp, int64_t nc, int folds, const jnl_entry *e, int n,
                           const rpt_env *env, int64_t pick, double ratio, fg_err *err)
{
    afile a;
    if (afile_open(&a, dir, "report.yaml", err))
        return -1;
    ye y;
    memset(&y, 0, sizeof y);
    if (!yaml_emitter_initialize(&y.em)) {
        afile_abort(&a);
        return fg_err_set(err, "libyaml: cannot initialise the emitter");
    }
    yaml_emitter_set_output_file(&y.em, a.f);
    yaml_emitter_set_unicode(&y.em, 1);
    yaml_emitter_set_width(&y.em, 100);
    const grid_options *o = grid_opts_c(g);
    yaml_event_t ev;
    yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
    y_event(&y, &ev);
    yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
    y_event(&y, &ev);
    y_map(&y, 1);
    y_str(&y, "fmnist_grid_report");
    y_int(&y, 1);
    y_str(&y, "program");
    y_map(&y, 1);
    y_str(&y, "version"), y_qstr(&y, env ? env->version : "");
    y_str(&y, "git_revision"), y_qstr(&y, env ? env->git_rev : "");
    y_str(&y, "compiler"), y_qstr(&y, env ? env->compiler : "");
    y_str(&y, "mpi"), y_qstr(&y, env ? env->mpi : "");
    y_str(&y, "blas"), y_qstr(&y, env ? env->blas : "");
    y_str(&y, "blas_threads"), y_int(&y, env ? env->threads : 1);
    y_str(&y, "ranks"), y_int(&y, env ? env->ranks : 1);
    y_str(&y, "command_line"), y_qstr(&y, env ? env->command_line : "");
    y_str(&y, "host"), y_qstr(&y, env ? env->host : "");
    y_str(&y, "started_utc"), y_qstr(&y, env ? env->started_utc : "");
    y_str(&y, "wall_time_s"), y_num(&y, env ? env->wall_time : NAN, "%.3f");
    if (h->base_configs > 0) /* the frozen base, computed once per node (base.c) */
        y_str(&y, "frozen_base_s"), y_num(&y, h->base_seconds, "%.3f");
    y_map(&y, 0);
    y_str(&y, "grid");
    y_map(&y, 1);
    y_str(&y, "name"), y_qstr(&y, o->name);
    y_str(&y, "path"), y_qstr(&y, o->path);
    y_str(&y, "sha"), y_hex(&y, h->grid_hash, 16);
    size_t tl = 0;
    const char *text = grid_text(g, &tl);
    y_str(&y, "text"), y_scalar_style(&y, text ? text : "", YAML_LITERAL_SCALAR_STYLE);
    y_str(&y, "configurations"), y_int(&y, nc);
    y_map(&y, 0);
    y_str(&y, "seed"), y_int(&y, (long long)h->seed);
    y_str(&y, "cv");
    y_map(&y, 1);
    y_str(&y, "folds"), y_int(&y, folds);
    y_str(&y, "shuffle"), y_str(&y, o->shuffle ? "true" : "false");
    y_str(&y, "seed"), y_int(&y, (long long)h->cv_seed);
    y_str(&y, "fold_assignment_checksum"), y_hex(&y, h->folds_checksum, 16);
    y_map(&y, 0);
    y_str(&y, "data");
    y_map(&y, 1);
    y_str(&y, "dir"), y_qstr(&y, env ? env->data_dir : "");
    y_str(&y, "subset"), y_int(&y, h->subset);
    y_str(&y, "train_images_crc32"), y_hex(&y, h->train_images_crc32, 8);
    y_str(&y, "train_labels_crc32"), y_hex(&y, h->train_labels_crc32, 8);
    y_str(&y, "test_images_crc32"), y_hex(&y, env ? env->test_images_crc32 : 0, 8);
    y_str(&y, "test_labels_crc32"), y_hex(&y, env ? env->test_labels_crc32 : 0, 8);
    y_map(&y, 0);
    if (env && env->n_weights > 0) { /* the Keras weights files, path -> CRC-32 */
        y_str(&y, "weights_crc32");
        y_map(&y, 1);
        for (int k = 0; k < env->n_weights && k < RPT_MAX_WEIGHTS; k++)
            y_qstr(&y, env->weights_path[k]), y_hex(&y, env->weights_crc32[k], 8);
        y_map(&y, 0);
    }
    /* timings before `best`: from `best` to `configurations` everything is deterministic */
    double train_time = 0;
    int64_t n_done = 0;
    for (int i = 0; i < n; i++)
        if (!isnan(e[i].fit_time))
            train_time += e[i].fit_time;
    for (int64_t i = 0; i < nc; i++)
        n_done += c[i].n_done;
    y_str(&y, "tasks"), y_int(&y, (long long)nc * folds);
    y_str(&y, "tasks_done"), y_int(&y, n_done);
    y_str(&y, "training_time_s"), y_num(&y, train_time, "%.3f");
    int64_t best = rpt_best(c, nc);
    y_str(&y, "best");
    if (best < 0) {
        y_scalar_style(&y, "null", YAML_PLAIN_SCALAR_STYLE);
    } else {
        y_map(&y, 1);
        y_str(&y, "config"), y_int(&y, best);
        y_str(&y, "hash"), y_hex(&y, grid_config_hash(g, best), 16);
        y_str(&y, "params");
        y_map(&y, 1);
        for (int p = 0; p < grid_n_params(g); p++) {
            const char *v = grid_config_value(g, best, p);
            if (v)
                y_str(&y, grid_param_name(g, p)), y_qstr(&y, v);
        }
        y_map(&y, 0);
        y_str(&y, "mean_test_score"), y_num(&y, c[best].mean, "%.17g");
        y_str(&y, "std_test_score"), y_num(&y, c[best].std, "%.17g");
        y_str(&y, "std_error_test_score"), y_num(&y, c[best].sem, "%.17g");
        y_str(&y, "n_params"), y_int(&y, c[best].n_params);
        y_str(&y, "epochs"), y_int(&y, c[best].epochs);
        y_str(&y, "split_test_scores");
        y_seq(&y, 1, 1);
        for (int k = 0; k < folds; k++)
            y_num(&y, sp[(size_t)best * (size_t)folds + (size_t)k], "%.9g");
        y_seq(&y, 0, 1);
        y_map(&y, 0);
    }
    y_str(&y, "statistics");
    y_map(&y, 1);
    y_str(&y, "test"), y_qstr(&y, "corrected resampled paired t-test (Nadeau and Bengio 2003), two-sided");
    y_str(&y, "alpha"), y_num(&y, RPT_ALPHA, "%g");
    y_str(&y, "test_train_ratio"), y_num(&y, ratio, "%.9g");
    y_str(&y, "indistinguishable_from_best");
    y_seq(&y, 1, 1);
    for (int64_t i = 0; i < nc; i++)
        if (c[i].indistinguishable)
            y_int(&y, i);
    y_seq(&y, 0, 1);
    y_str(&y, "one_se_choice");
    if (pick < 0)
        y_scalar_style(&y, "null", YAML_PLAIN_SCALAR_STYLE);
    else
        y_int(&y, pick);
    y_map(&y, 0);
    const jnl_entry *rf = find_refit(e, n, best);
    y_str(&y, "refit");
    if (!rf) {
        y_scalar_style(&y, "null", YAML_PLAIN_SCALAR_STYLE);
    } else {
        y_map(&y, 1);
        y_str(&y, "config"), y_int(&y, rf->config);
        y_str(&y, "status"), y_str(&y, nn_status_name((nn_status)rf->status));
        y_str(&y, "n_train"), y_int(&y, rf->n_train);
        y_str(&y, "epochs"), y_int(&y, rf->epochs_run);
        y_str(&y, "test_accuracy"), y_num(&y, rf->test_acc, "%.9g");
        y_str(&y, "test_loss"), y_num(&y, rf->test_loss, "%.9g");
        y_str(&y, "fit_time_s"), y_num(&y, rf->fit_time, "%.3f");
        y_map(&y, 0);
    }
    y_str(&y, "configurations");
    y_seq(&y, 1, 0);
    for (int64_t i = 0; i < nc; i++) {
        y_map(&y, 1);
        y_str(&y, "config"), y_int(&y, i);
        y_str(&y, "params"), y_qstr(&y, grid_config_params(g, i));
        y_str(&y, "mean_test_score"), y_num(&y, c[i].mean, "%.17g");
        y_str(&y, "std_test_score"), y_num(&y, c[i].std, "%.17g");
        y_str(&y, "rank"), y_int(&y, c[i].rank);
        y_str(&y, "std_error_test_score"), y_num(&y, c[i].sem, "%.17g");
        y_str(&y, "p_value_vs_best"), y_num(&y, c[i].p_vs_best, "%.9g");
        y_str(&y, "indistinguishable_from_best"), y_str(&y, c[i].indistinguishable ? "true" : "false");
        y_str(&y, "cost"), y_num(&y, c[i].cost, "%.0f");
        y_str(&y, "split_test_scores");
        y_seq(&y, 1, 1);
        for (int k = 0; k < folds; k++)
            y_num(&y, sp[(size_t)i * (size_t)folds + (size_t)k], "%.9g");
        y_seq(&y, 0, 1);
        y_str(&y, "status"), y_str(&y, status_text(c[i].status));
        y_map(&y, 0);
    }
    y_seq(&y, 0, 0);
    y_map(&y, 0);
    yaml_document_end_event_initialize(&ev, 1);
    y_event(&y, &ev);
    yaml_stream_end_event_initialize(&ev);
    y_event(&y, &ev);
    int bad = y.bad;
    const char *problem = y.em.problem;
    yaml_emitter_delete(&y.em);
    if (bad) {
        afile_abort(&a);
        return fg_err_set(err, "%s/report.yaml: libyaml emitter: %s", dir, problem ? problem : "error");
    }
    return afile_commit(&a, err);
}

int rpt_write(const char *dir, const grid *g, const jnl_header *h, const jnl_entry *e, int n,
              const rpt_env *env, const char *journal_path, fg_err *err)
{
    int64_t nc = grid_n_configs(g);
    int folds = grid_opts_c(g)->folds;
    rpt_config *c = NULL;
    double *sp = NULL;
    if (env && env->plot_warning)
        env->plot_warning->msg[0] = '\0';
    if (rpt_aggregate(e, n, nc, folds, &c, &sp, err))
        return -1;
    rpt_costs(g, c, nc);
    int64_t *order = malloc((size_t)nc * sizeof *order);
    rctx *x = calloc(1, sizeof *x);
    if (!order || !x) {
        free(c), free(sp), free(order), free(x);
        return fg_err_set(err, "out of memory");
    }
    for (int64_t i = 0; i < nc; i++)
        order[i] = i;
    g_sort_base = c;
    qsort(order, (size_t)nc, sizeof *order, by_rank);
    x->dir = dir;
    x->g = g;
    x->h = h;
    x->c = c;
    x->sp = sp;
    x->order = order;
    x->nc = nc;
    x->folds = folds;
    x->e = e;
    x->n = n;
    x->env = env;
    x->ratio = rpt_test_train_ratio(e, n, folds);
    x->pick = rpt_compare(c, sp, nc, folds, x->ratio);
    x->best = rpt_best(c, nc);
    x->refit = find_refit(e, n, x->best);
    for (int64_t k = 0; k < nc && x->n_top < TOP_CURVES; k++)
        if (!isnan(c[order[k]].mean))
            x->top[x->n_top++] = order[k];
    int rc = write_csv(dir, g, c, sp, nc, folds, err);
    if (!rc) {
        /* Plots never stop the reports: a failure is said in report.md and returned as a warning. */
        read_histories(x, journal_path);
        make_plots(x);
        if (!x->plots_drawn && env && env->plot_warning)
            fg_err_set(env->plot_warning, "plots not drawn: %s", x->plot_msg);
        char *md = NULL;
        size_t md_len = 0;
        FILE *mf = open_memstream(&md, &md_len);
        if (!mf) {
            rc = fg_err_set(err, "out of memory writing report.md");
        } else {
            write_md(mf, x);
            if (fclose(mf) != 0 || !md)
                rc = fg_err_set(err, "out of memory writing report.md");
        }
        afile a;
        if (!rc && !afile_open(&a, dir, "report.md", err)) {
            fwrite(md, 1, md_len, a.f);
            rc = afile_commit(&a, err);
        } else if (!rc) {
            rc = -1;
        }
        if (!rc && !afile_open(&a, dir, "report.html", err)) {
            char title[160];
            snprintf(title, sizeof title, "fmnist-grid report: %s", grid_opts_c(g)->name);
            html_from_md(a.f, md, dir, title);
            rc = afile_commit(&a, err);
        } else if (!rc) {
            rc = -1;
        }
        free(md);
    }
    if (!rc)
        rc = write_yaml_file(dir, g, h, c, sp, nc, folds, e, n, env, x->pick, x->ratio, err);
    free(x->seen);
    free(x);
    free(order);
    free(c);
    free(sp);
    return rc;
}

/* ---- reading report.yaml back (for reproduce) --------------------------------------- */

static yaml_node_t *y_get(yaml_document_t *d, yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(d, p->key);
        if (k && k->type == YAML_SCALAR_NODE && !strcmp((const char *)k->data.scalar.value, key))
            return yaml_document_get_node(d, p->value);
    }
    return NULL;
}

static const char *y_text(yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static double y_double(yaml_node_t *n)
{
    const char *t = y_text(n);
    if (!t || !strcmp(t, ".nan") || !strcmp(t, "null"))
        return NAN;
    return strtod(t, NULL);
}

static uint64_t y_u64(yaml_node_t *n, int hex)
{
    const char *t = y_text(n);
    return t ? (uint64_t)strtoull(t, NULL, hex ? 16 : 10) : 0;
}

/* report.yaml's weights_crc32 mapping (path -> CRC-32) into out. */
static void read_weights_crc(yaml_document_t *d, yaml_node_t *map, rpt_summary *out)
{
    out->n_weights = 0;
    if (!map || map->type != YAML_MAPPING_NODE)
        return;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
         p < map->data.mapping.pairs.top && out->n_weights < RPT_MAX_WEIGHTS; p++) {
        const char *k = y_text(yaml_document_get_node(d, p->key));
        if (!k)
            continue;
        snprintf(out->weights_path[out->n_weights], sizeof out->weights_path[0], "%s", k);
        out->weights_crc32[out->n_weights++] = (uint32_t)y_u64(yaml_document_get_node(d, p->value), 1);
    }
}

void rpt_summary_free(rpt_summary *s)
{
    if (!s)
        return;
    free(s->grid_text);
    free(s->split);
    memset(s, 0, sizeof *s);
}

int rpt_read_summary(const char *path, rpt_summary *out, fg_err *err)
{
    memset(out, 0, sizeof *out);
    out->best_config = -1;
    out->best_mean = out->best_std = out->best_sem = out->training_time = out->wall_time = NAN;
    out->one_se_choice = out->tasks = out->tasks_done = -1;
    out->n_indistinguishable = -1;
    out->refit_config = -1;
    out->refit_test_accuracy = NAN;
    FILE *f = fopen(path, "rb");
    if (!f)
        return fg_err_set(err, "%s: cannot open: %s", path, strerror(errno));
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser)) {
        fclose(f);
        return fg_err_set(err, "%s: libyaml: cannot initialise", path);
    }
    yaml_parser_set_input_file(&parser, f);
    int ok = yaml_parser_load(&parser, &doc);
    if (!ok) {
        fg_err_set(err, "%s:%zu:%zu: %s", path, parser.problem_mark.line + 1,
                   parser.problem_mark.column + 1, parser.problem ? parser.problem : "YAML error");
        yaml_parser_delete(&parser);
        fclose(f);
        return -1;
    }
    int rc = 0;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    yaml_node_t *gsec = y_get(&doc, root, "grid"), *cv = y_get(&doc, root, "cv");
    yaml_node_t *data = y_get(&doc, root, "data"), *prog = y_get(&doc, root, "program");
    const char *text = y_text(y_get(&doc, gsec, "text"));
    if (!y_get(&doc, root, "fmnist_grid_report") || !text || !cv || !data) {
        rc = fg_err_set(err, "%s: not a fmnist-grid report.yaml (no grid text, cv or data section)", path);
        goto done;
    }
    out->grid_len = strlen(text);
    out->grid_text = strdup(text);
    snprintf(out->grid_path, sizeof out->grid_path, "%s", y_text(y_get(&doc, gsec, "path")) ? y_text(y_get(&doc, gsec, "path")) : "report.yaml");
    out->seed = y_u64(y_get(&doc, root, "seed"), 0);
    out->folds = (int)y_u64(y_get(&doc, cv, "folds"), 0);
    out->cv_seed = y_u64(y_get(&doc, cv, "seed"), 0);
    out->folds_checksum = y_u64(y_get(&doc, cv, "fold_assignment_checksum"), 1);
    out->subset = (int)y_u64(y_get(&doc, data, "subset"), 0);
    out->train_images_crc32 = (uint32_t)y_u64(y_get(&doc, data, "train_images_crc32"), 1);
    out->train_labels_crc32 = (uint32_t)y_u64(y_get(&doc, data, "train_labels_crc32"), 1);
    out->test_images_crc32 = (uint32_t)y_u64(y_get(&doc, data, "test_images_crc32"), 1);
    out->test_labels_crc32 = (uint32_t)y_u64(y_get(&doc, data, "test_labels_crc32"), 1);
    snprintf(out->blas, sizeof out->blas, "%s", y_text(y_get(&doc, prog, "blas")) ? y_text(y_get(&doc, prog, "blas")) : "");
    snprintf(out->git_revision, sizeof out->git_revision, "%s",
             y_text(y_get(&doc, prog, "git_revision")) ? y_text(y_get(&doc, prog, "git_revision")) : "");
    out->blas_threads = (int)y_u64(y_get(&doc, prog, "blas_threads"), 0);
    read_weights_crc(&doc, y_get(&doc, root, "weights_crc32"), out);
    yaml_node_t *best = y_get(&doc, root, "best");
    if (best && best->type == YAML_MAPPING_NODE) {
        out->best_config = (int64_t)y_u64(y_get(&doc, best, "config"), 0);
        out->best_mean = y_double(y_get(&doc, best, "mean_test_score"));
        out->best_std = y_double(y_get(&doc, best, "std_test_score"));
        out->best_sem = y_double(y_get(&doc, best, "std_error_test_score"));
        yaml_node_t *bp = y_get(&doc, best, "params");
        if (bp && bp->type == YAML_MAPPING_NODE)
            for (yaml_node_pair_t *q = bp->data.mapping.pairs.start;
                 q < bp->data.mapping.pairs.top && out->n_best_params < RPT_MAX_PARAMS; q++) {
                const char *k = y_text(yaml_document_get_node(&doc, q->key));
                const char *v = y_text(yaml_document_get_node(&doc, q->value));
                if (!k || !v)
                    continue;
                snprintf(out->best_param_name[out->n_best_params], sizeof out->best_param_name[0], "%s", k);
                snprintf(out->best_param_value[out->n_best_params], sizeof out->best_param_value[0], "%s", v);
                out->n_best_params++;
            }
    }
    snprintf(out->grid_name, sizeof out->grid_name, "%s",
             y_text(y_get(&doc, gsec, "name")) ? y_text(y_get(&doc, gsec, "name")) : "");
    out->wall_time = y_double(y_get(&doc, prog, "wall_time_s"));
    out->training_time = y_double(y_get(&doc, root, "training_time_s"));
    out->tasks = y_text(y_get(&doc, root, "tasks")) ? (int64_t)y_u64(y_get(&doc, root, "tasks"), 0) : -1;
    out->tasks_done = y_text(y_get(&doc, root, "tasks_done")) ? (int64_t)y_u64(y_get(&doc, root, "tasks_done"), 0) : -1;
    yaml_node_t *stat = y_get(&doc, root, "statistics");
    const char *ose = y_text(y_get(&doc, stat, "one_se_choice"));
    out->one_se_choice = ose && strcmp(ose, "null") ? (int64_t)strtoll(ose, NULL, 10) : -1;
    yaml_node_t *ind = y_get(&doc, stat, "indistinguishable_from_best");
    out->n_indistinguishable = ind && ind->type == YAML_SEQUENCE_NODE
                                   ? (int)(ind->data.sequence.items.top - ind->data.sequence.items.start)
                                   : -1;
    yaml_node_t *refit = y_get(&doc, root, "refit");
    if (refit && refit->type == YAML_MAPPING_NODE) {
        out->refit_config = (int)y_u64(y_get(&doc, refit, "config"), 0);
        out->refit_test_accuracy = y_double(y_get(&doc, refit, "test_accuracy"));
    }
    yaml_node_t *cfgs = y_get(&doc, root, "configurations");
    if (out->folds < 1 || out->folds > RPT_MAX_FOLDS || !cfgs || cfgs->type != YAML_SEQUENCE_NODE) {
        rc = fg_err_set(err, "%s: no configurations or a bad fold count", path);
        goto done;
    }
    out->n_configs = cfgs->data.sequence.items.top - cfgs->data.sequence.items.start;
    out->split = malloc((size_t)(out->n_configs ? out->n_configs : 1) * (size_t)out->folds * sizeof *out->split);
    if (!out->grid_text || !out->split) {
        rc = fg_err_set(err, "%s: out of memory", path);
        goto done;
    }
    for (int64_t i = 0; i < out->n_configs; i++) {
        yaml_node_t *c = yaml_document_get_node(&doc, cfgs->data.sequence.items.start[i]);
        yaml_node_t *sp = y_get(&doc, c, "split_test_scores");
        for (int k = 0; k < out->folds; k++) {
            double v = NAN;
            if (sp && sp->type == YAML_SEQUENCE_NODE && sp->data.sequence.items.start + k < sp->data.sequence.items.top)
                v = y_double(yaml_document_get_node(&doc, sp->data.sequence.items.start[k]));
            out->split[i * out->folds + k] = v;
        }
    }
done:
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    fclose(f);
    if (rc)
        rpt_summary_free(out);
    return rc;
}
