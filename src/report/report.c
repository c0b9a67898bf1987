/* report.c - ranking and report files, recomputed from journal entries. The only user of
 * libyaml's emitter. */
#define _POSIX_C_SOURCE 200809L
#include "report.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "data.h"
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
        if (grid_config_build_data(g, i, d, &t, NULL) || nn_desc_check(d, info, &np, NULL, NULL))
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

/* The names of the k classes of the refit's confusion matrix into names (the grid's
 * data.class_names when it lists k, else data_class_name's defaults; num holds numbers). */
static void class_names_of(const grid *g, int k, const char **names, char (*num)[12])
{
    const char *const *gn = grid_opts_c(g)->n_class_names == k ? grid_class_names(g) : NULL;
    for (int c = 0; c < k; c++)
        names[c] = data_class_name(gn, k, c, num[c], sizeof num[c]);
}

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
    const int32_t *conf; /* the refit's confusion matrix, conf_k x conf_k: its entry's, or */
    int32_t *conf_own;   /* (entries merged from several journals have none) read with its history */
    int conf_k;
    const char *names[JNL_MAX_CLASSES]; /* its class names */
    char num[JNL_MAX_CLASSES][12];
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
            size_t k = (size_t)r->e.classes;
            int32_t *m = k && !x->refit->confusion ? realloc(x->conf_own, k * k * sizeof *m) : NULL;
            if (m) {
                memcpy(m, r->confusion, k * k * sizeof *m);
                x->conf = x->conf_own = m;
                x->conf_k = (int)k;
                class_names_of(x->g, x->conf_k, x->names, x->num);
            }
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

/* ---- the grid's check of journal records ---------------------------------------------- */

typedef struct {
    const grid *g;
    int64_t nc;
    int *epochs;     /* per configuration: 0 not looked up yet, -1 cannot be built, else epochs */
    nn_net_desc *d;
} expect_ctx;

static int expect_check(void *p, const jnl_entry *e, char *why, size_t n)
{
    expect_ctx *x = p;
    if (e->config < 0 || e->config >= x->nc) {
        snprintf(why, n, "configuration %d outside the grid's 0..%lld", e->config, (long long)x->nc - 1);
        return -1;
    }
    uint64_t want = grid_config_hash(x->g, e->config);
    if (e->config_hash != want) {
        snprintf(why, n, "configuration %d's hash is %016llx, not the grid's %016llx (a record of another grid)",
                 e->config, (unsigned long long)e->config_hash, (unsigned long long)want);
        return -1;
    }
    int *ep = &x->epochs[e->config];
    if (*ep == 0) {
        nn_train_desc t;
        *ep = grid_config_build_data(x->g, e->config, x->d, &t, NULL) == 0 && t.epochs > 0
                  ? t.epochs
                  : -1;
    }
    if (*ep > 0 && e->epochs_run > *ep) {
        snprintf(why, n, "%d epochs, more than configuration %d's %d", e->epochs_run, e->config, *ep);
        return -1;
    }
    return 0;
}

int rpt_journal_expect(const grid *g, jnl_expect *x, fg_err *err)
{
    memset(x, 0, sizeof *x);
    expect_ctx *c = calloc(1, sizeof *c);
    int64_t nc = grid_n_configs(g);
    if (c) {
        c->g = g;
        c->nc = nc;
        c->epochs = calloc((size_t)(nc > 0 ? nc : 1), sizeof *c->epochs);
        c->d = malloc(sizeof *c->d);
    }
    if (!c || !c->epochs || !c->d) {
        if (c)
            free(c->epochs), free(c->d);
        free(c);
        return fg_err_set(err, "out of memory checking the journal");
    }
    x->check = expect_check;
    x->ctx = c;
    return 0;
}

void rpt_journal_expect_free(jnl_expect *x)
{
    expect_ctx *c = x ? x->ctx : NULL;
    if (c) {
        free(c->epochs);
        free(c->d);
        free(c);
    }
    if (x)
        memset(x, 0, sizeof *x);
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
    /* The same records as the aggregation: only those that pass every check. */
    jnl_expect ex;
    const jnl_expect *xp = rpt_journal_expect(x->g, &ex, NULL) == 0 ? &ex : NULL;
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
            jnl_each_record_ex(path, xp, on_record, x, NULL);
        }
    }
    if (nn == 0 && journal_path)
        jnl_each_record_ex(journal_path, xp, on_record, x, NULL);
    if (xp)
        rpt_journal_expect_free(&ex);
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
    for (int k = 0; x->refit && k < x->conf_k * x->conf_k; k++)
        have_conf |= x->conf[k] != 0;
    if (!rc && have_conf) {
        char t[160];
        snprintf(t, sizeof t, "Refit (configuration %d): confusion matrix on the test set", x->refit->config);
        rc = plot_confusion(ps, "confusion", t, x->conf, x->conf_k, x->names, &err);
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

/* ---- the environment the results came from -------------------------------------------- */

/* The environment of a report, from the journals' session records when they have them,
 * else from the process writing the report (journals older than session records). */
typedef struct {
    const char *version, *git_rev, *compiler, *mpi, *blas, *command_line, *host, *started_utc, *data_dir;
    int ranks, threads, from_sessions;
    double wall_time;  /* sum of the sessions' recorded wall times */
    int n_unended;     /* sessions without an end record (still running, or killed) */
    uint32_t test_images_crc32, test_labels_crc32;
    int n_test;
} eff_env;

static void effective_env(const rpt_env *env, const jnl_entry *e, int n, int64_t best, eff_env *o)
{
    memset(o, 0, sizeof *o);
    o->wall_time = NAN;
    if (!env)
        return;
    if (env->n_sessions <= 0 || !env->sessions) {
        o->version = env->version, o->git_rev = env->git_rev, o->compiler = env->compiler;
        o->mpi = env->mpi, o->blas = env->blas, o->command_line = env->command_line;
        o->host = env->host, o->started_utc = env->started_utc, o->data_dir = env->data_dir;
        o->ranks = env->ranks, o->threads = env->threads, o->wall_time = env->wall_time;
        o->test_images_crc32 = env->test_images_crc32, o->test_labels_crc32 = env->test_labels_crc32;
        o->n_test = env->n_test;
        return;
    }
    const jnl_session *s = env->sessions, *first = &s[0];
    for (int i = 1; i < env->n_sessions; i++) /* the session that started the search */
        if (strcmp(s[i].started_utc, first->started_utc) < 0)
            first = &s[i];
    o->from_sessions = 1;
    o->version = first->version, o->git_rev = first->git_rev, o->compiler = first->compiler;
    o->mpi = first->mpi, o->blas = first->blas, o->command_line = first->command;
    o->host = first->host, o->started_utc = first->started_utc, o->data_dir = first->data_dir;
    o->ranks = first->ranks, o->threads = first->threads;
    o->wall_time = 0;
    for (int i = 0; i < env->n_sessions; i++) {
        if (s[i].ended && !isnan(s[i].wall_time))
            o->wall_time += s[i].wall_time;
        else
            o->n_unended++;
    }
    /* The test set the refit was scored on: its session's, else any session's that loaded one. */
    const jnl_entry *rf = find_refit(e, n, best);
    const jnl_session *t = rf && rf->session >= 0 && rf->session < env->n_sessions ? &s[rf->session] : NULL;
    if (!t || (!t->test_images_crc32 && !t->test_labels_crc32)) {
        t = NULL;
        for (int i = 0; i < env->n_sessions && !t; i++)
            if (s[i].test_images_crc32 || s[i].test_labels_crc32)
                t = &s[i];
    }
    if (t) {
        o->test_images_crc32 = t->test_images_crc32, o->test_labels_crc32 = t->test_labels_crc32;
        o->n_test = t->n_test;
    } else {
        o->test_images_crc32 = env->test_images_crc32, o->test_labels_crc32 = env->test_labels_crc32;
        o->n_test = env->n_test;
    }
}

typedef const char *(*session_str_fn)(const jnl_session *s);
static const char *s_program(const jnl_session *s) { return s->version; }
static const char *s_mpi(const jnl_session *s) { return s->mpi; }
static const char *s_blas(const jnl_session *s) { return s->blas; }

/* "| label | value |" with every distinct value of the sessions, each followed by the
 * sessions that had it when they differ. */
static void md_distinct(FILE *f, const char *label, const rpt_env *env, session_str_fn get, int with_git)
{
    const jnl_session *s = env->sessions;
    int ns = env->n_sessions, groups = 0;
    for (int i = 0; i < ns; i++) {
        int seen = 0;
        for (int k = 0; k < i && !seen; k++)
            seen = !strcmp(get(&s[k]), get(&s[i])) && (!with_git || !strcmp(s[k].git_rev, s[i].git_rev));
        groups += !seen;
    }
    fprintf(f, "| %s | ", label);
    int printed = 0;
    for (int i = 0; i < ns; i++) {
        int seen = 0;
        for (int k = 0; k < i && !seen; k++)
            seen = !strcmp(get(&s[k]), get(&s[i])) && (!with_git || !strcmp(s[k].git_rev, s[i].git_rev));
        if (seen)
            continue;
        fputs(printed++ ? "; " : "", f);
        if (with_git)
            fprintf(f, "fmnist-grid %s (git %s), %s", *s[i].version ? s[i].version : "?",
                    *s[i].git_rev ? s[i].git_rev : "?", *s[i].compiler ? s[i].compiler : "?");
        else
            fputs(*get(&s[i]) ? get(&s[i]) : "?", f);
        if (groups > 1) {
            fputs(" (session", f);
            int m = 0;
            for (int k = i; k < ns; k++)
                if (!strcmp(get(&s[k]), get(&s[i])) && (!with_git || !strcmp(s[k].git_rev, s[i].git_rev)))
                    fprintf(f, "%s %d", m++ ? "," : "", k + 1);
            fputs(")", f);
        }
    }
    fputs(" |\n", f);
}

/* "vm:2,nodeB:2" as "vm (2), nodeB (2)". */
static void md_hosts(FILE *f, const char *hosts)
{
    if (!*hosts) {
        fputs("?", f);
        return;
    }
    int first = 1;
    for (const char *p = hosts; *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        const char *colon = memchr(p, ':', len);
        if (colon)
            fprintf(f, "%s%.*s (%.*s)", first ? "" : ", ", (int)(colon - p), p, (int)(len - (size_t)(colon - p) - 1),
                    colon + 1);
        else
            fprintf(f, "%s%.*s", first ? "" : ", ", (int)len, p);
        first = 0;
        p += len + (comma ? 1 : 0);
    }
}

/* "| ranks | 3 (3 training) |", or each distinct (ranks, training) pair with its sessions. */
static void md_ranks(FILE *f, const rpt_env *env)
{
    const jnl_session *s = env->sessions;
    int ns = env->n_sessions;
    fputs("| ranks | ", f);
    for (int i = 0, k = 0; i < ns; i++) {
        int seen = 0, all_same = 1;
        for (int j = 0; j < ns; j++) {
            int same = s[j].ranks == s[i].ranks && s[j].workers == s[i].workers;
            seen |= j < i && same;
            all_same &= same;
        }
        if (seen)
            continue;
        fprintf(f, "%s%d (", k++ ? "; " : "", s[i].ranks);
        if (s[i].workers >= 0)
            fprintf(f, "%d training)", s[i].workers);
        else
            fputs("training not recorded)", f);
        if (!all_same) {
            fputs(" in session", f);
            for (int j = i, m = 0; j < ns; j++)
                if (s[j].ranks == s[i].ranks && s[j].workers == s[i].workers)
                    fprintf(f, "%s %d", m++ ? "," : "", j + 1);
        }
    }
    fputs(" |\n", f);
}

/* Program, MPI, BLAS and BLAS threads of the sessions. */
static void md_session_programs(FILE *f, const rpt_env *env)
{
    md_ranks(f, env);
    md_distinct(f, "program", env, s_program, 1);
    md_distinct(f, "MPI", env, s_mpi, 0);
    md_distinct(f, "BLAS", env, s_blas, 0);
    fputs("| BLAS threads per rank | ", f);
    for (int i = 0, k = 0; i < env->n_sessions; i++) {
        int seen = 0;
        for (int j = 0; j < i; j++)
            seen |= env->sessions[j].threads == env->sessions[i].threads;
        if (!seen)
            fprintf(f, "%s%d", k++ ? "; " : "", env->sessions[i].threads);
    }
    fputs(" |\n", f);
}

/* The environment of a report written by the search itself from a journal without
 * sessions (this process's). */
static void md_process_env(FILE *f, const rpt_env *env, const eff_env *ee)
{
    fprintf(f, "| ranks | %d (%d training) |\n| BLAS threads per rank | %d |\n", env->ranks, env->workers,
            env->threads);
    fprintf(f, "| program | fmnist-grid %s (git %s), %s |\n", ee->version ? ee->version : "?",
            ee->git_rev ? ee->git_rev : "?", ee->compiler ? ee->compiler : "?");
    fprintf(f, "| MPI | %s |\n| BLAS | %s |\n", ee->mpi ? ee->mpi : "?", ee->blas ? ee->blas : "?");
    fprintf(f, "| host | %s |\n| started (UTC) | %s |\n", ee->host ? ee->host : "?",
            ee->started_utc ? ee->started_utc : "?");
    fprintf(f, "| command | `%s` |\n", ee->command_line ? ee->command_line : "?");
}

/* Every host that trained, from the records themselves (whatever the sessions say). */
static void md_hosts_trained(FILE *f, const jnl_entry *e, int n)
{
    const char *hn[64];
    int cnt[64], refits[64], nh = 0, more = 0;
    for (int i = 0; i < n; i++) {
        int k = 0;
        while (k < nh && strcmp(hn[k], e[i].host))
            k++;
        if (k == nh && nh == 64) {
            more++;
            continue;
        }
        if (k == nh)
            hn[nh] = e[i].host, cnt[nh] = refits[nh] = 0, nh++;
        if (e[i].fold == JNL_REFIT)
            refits[k]++;
        else
            cnt[k]++;
    }
    if (!nh)
        return;
    fputs("| hosts that trained | ", f);
    for (int k = 0; k < nh; k++) {
        fprintf(f, "%s%s (%d task%s", k ? ", " : "", *hn[k] ? hn[k] : "?", cnt[k], cnt[k] == 1 ? "" : "s");
        if (refits[k])
            fprintf(f, ", %d refit%s", refits[k], refits[k] == 1 ? "" : "s");
        fputs(")", f);
    }
    if (more)
        fprintf(f, ", and %d more record%s on other hosts", more, more == 1 ? "" : "s");
    fputs(" |\n", f);
}

/* One row per session (sorted by start: see jnl_sort_sessions). */
static void md_sessions(FILE *f, const rpt_env *env, const jnl_entry *e, int n)
{
    fputs("\nSessions (every run that wrote into the journals, oldest first):\n\n"
          "| session | journal | started (UTC) | role | hosts (ranks) | ranks (training) | tasks | wall time | "
          "command |\n|---|---|---|---|---|---|---|---|---|\n",
          f);
    for (int k = 0; k < env->n_sessions; k++) {
        const jnl_session *s = &env->sessions[k];
        int tasks = 0, refits = 0;
        for (int i = 0; i < n; i++)
            if (e[i].session == k && e[i].fold == JNL_REFIT)
                refits++;
            else if (e[i].session == k)
                tasks++;
        char sw[32];
        fmt_secs(sw, sizeof sw, s->ended ? s->wall_time : NAN);
        fprintf(f, "| %d | %s | %s | %s | ", k + 1, s->file, *s->started_utc ? s->started_utc : "?",
                *s->role ? s->role : "?");
        md_hosts(f, s->hosts);
        fprintf(f, " | %d (", s->ranks);
        if (s->workers >= 0)
            fprintf(f, "%d", s->workers);
        else
            fputs("?", f);
        fprintf(f, ") | %d", tasks);
        if (refits)
            fprintf(f, " + %d refit%s", refits, refits == 1 ? "" : "s");
        fprintf(f, " | %s%s | `%s` |\n", s->ended ? sw : "not recorded", s->ended && s->interrupted ? ", interrupted" : "",
                s->command);
    }
}

static void write_md_env(FILE *f, const rctx *x)
{
    const jnl_entry *e = x->e;
    const rpt_env *env = x->env;
    eff_env ee;
    effective_env(env, e, x->n, x->best, &ee);
    double total_fit = 0;
    for (int i = 0; i < x->n; i++)
        if (!isnan(e[i].fit_time))
            total_fit += e[i].fit_time;
    char w[32], tf[32];
    fmt_secs(w, sizeof w, ee.wall_time);
    fmt_secs(tf, sizeof tf, total_fit);
    fputs("## Timings and environment\n\n| | |\n|---|---|\n", f);
    if (ee.from_sessions && ee.n_unended)
        fprintf(f, "| wall time, all sessions | %s (and %d session%s that recorded no end: still running or killed) |\n",
                w, ee.n_unended, ee.n_unended > 1 ? "s" : "");
    else if (ee.from_sessions)
        fprintf(f, "| wall time, all sessions | %s |\n", w);
    else if (env && env->regenerated_by)
        fputs("| wall time | not recorded |\n", f);
    else
        fprintf(f, "| wall time of this session | %s |\n", w);
    fprintf(f, "| training time, all tasks | %s |\n", tf);
    if (x->h && x->h->base_configs > 0) { /* base.c: features computed once per node */
        char bs[32];
        fmt_secs(bs, sizeof bs, x->h->base_seconds);
        fprintf(f, "| frozen base | computed once per node in %s (%d base%s for %d configuration%s), "
                   "the tasks trained their heads on its features |\n", bs, x->h->base_blocks,
                x->h->base_blocks == 1 ? "" : "s", x->h->base_configs, x->h->base_configs == 1 ? "" : "s");
    }
    if (ee.from_sessions)
        md_session_programs(f, env);
    else if (env && env->regenerated_by)
        fputs("| environment of the search | not recorded: the journals predate session records |\n", f);
    else if (env)
        md_process_env(f, env, &ee);
    md_hosts_trained(f, e, x->n);
    const jnl_header *h = x->h;
    if (env)
        fprintf(f, "| data | %s (train images CRC-32 %08lx, labels %08lx; test images %08lx, labels %08lx) |\n",
                ee.data_dir && *ee.data_dir ? ee.data_dir : "?", (unsigned long)h->train_images_crc32,
                (unsigned long)h->train_labels_crc32, (unsigned long)ee.test_images_crc32,
                (unsigned long)ee.test_labels_crc32);
    fprintf(f, "| seed | %llu (folds: %llu) |\n| fold assignment checksum | %016llx |\n",
            (unsigned long long)h->seed, (unsigned long long)h->cv_seed,
            (unsigned long long)h->folds_checksum);
    fprintf(f, "| samples searched | %s |\n", h->subset ? "stratified subset" : "all training images");
    if (ee.from_sessions)
        md_sessions(f, env, e, x->n);
    if (env && env->regenerated_by)
        fprintf(f, "\nThis report was regenerated from the journals at %s (UTC) on %s by `%s` (fmnist-grid %s, "
                   "git %s).\n",
                env->regenerated_utc ? env->regenerated_utc : "?",
                env->regenerated_host && *env->regenerated_host ? env->regenerated_host : "?", env->regenerated_by,
                env->version ? env->version : "?", env->git_rev ? env->git_rev : "?");
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
        const int K = x->conf_k;
        for (int k = 0; k < K * K; k++)
            n_test += x->conf[k];
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
        for (int k = 0; k < K * K; k++)
            have_conf |= x->conf[k] != 0;
        if (have_conf) {
            fputs("Confusion matrix on the test set (rows: true class, columns: predicted class).\n\n"
                  "| true class |", f);
            for (int k = 0; k < K; k++)
                fprintf(f, " %s |", x->names[k]);
            fputs(" accuracy |\n|---|", f);
            for (int k = 0; k <= K; k++)
                fputs("---|", f);
            fputc('\n', f);
            for (int t = 0; t < K; t++) {
                long long row = 0;
                fprintf(f, "| %s |", x->names[t]);
                for (int q = 0; q < K; q++) {
                    row += x->conf[t * K + q];
                    fprintf(f, q == t ? " **%d** |" : " %d |", (int)x->conf[t * K + q]);
                }
                if (row)
                    fprintf(f, " %.4f |\n", (double)x->conf[t * K + t] / (double)row);
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
    write_md_env(f, x);
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
    /* a regular file only (a FIFO put there would block, /dev/zero never end), and no more
     * than the size it had when opened */
    int fd;
    int64_t size;
    if (fg_open_regular(path, O_RDONLY, "figure", &fd, &size, NULL))
        return -1;
    FILE *in = fdopen(fd, "rb");
    if (!in) {
        close(fd);
        return -1;
    }
    unsigned char buf[3 * 1024];
    size_t r;
    int64_t left = size;
    while (left > 0 && (r = fread(buf, 1, left < (int64_t)sizeof buf ? (size_t)left : sizeof buf, in)) > 0) {
        left -= (int64_t)r;
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
    /* The environment the results came from (the session that started the search), every
     * session, and who regenerated the report: see effective_env. */
    eff_env ee;
    effective_env(env, e, n, rpt_best(c, nc), &ee);
    int legacy = env && !ee.from_sessions && env->regenerated_by; /* not recorded */
    y_str(&y, "program");
    y_map(&y, 1);
    y_str(&y, "version"), y_qstr(&y, legacy ? "" : ee.version);
    y_str(&y, "git_revision"), y_qstr(&y, legacy ? "" : ee.git_rev);
    y_str(&y, "compiler"), y_qstr(&y, legacy ? "" : ee.compiler);
    y_str(&y, "mpi"), y_qstr(&y, legacy ? "" : ee.mpi);
    y_str(&y, "blas"), y_qstr(&y, legacy ? "" : ee.blas);
    y_str(&y, "blas_threads");
    if (legacy || ee.threads < 1)
        y_scalar_style(&y, "null", YAML_PLAIN_SCALAR_STYLE);
    else
        y_int(&y, ee.threads);
    y_str(&y, "ranks");
    if (legacy || ee.ranks < 1)
        y_scalar_style(&y, "null", YAML_PLAIN_SCALAR_STYLE);
    else
        y_int(&y, ee.ranks);
    y_str(&y, "command_line"), y_qstr(&y, legacy ? "" : ee.command_line);
    y_str(&y, "host"), y_qstr(&y, legacy ? "" : ee.host);
    y_str(&y, "started_utc"), y_qstr(&y, legacy ? "" : ee.started_utc);
    y_str(&y, "wall_time_s"), y_num(&y, legacy ? NAN : ee.wall_time, "%.3f");
    if (h->base_configs > 0) /* the frozen base, computed once per node (base.c) */
        y_str(&y, "frozen_base_s"), y_num(&y, h->base_seconds, "%.3f");
    y_map(&y, 0);
    y_str(&y, "sessions");
    y_seq(&y, 1, 0);
    for (int i = 0; env && i < env->n_sessions; i++) {
        const jnl_session *ss = &env->sessions[i];
        int tasks = 0, refits = 0;
        for (int k = 0; k < n; k++)
            if (e[k].session == i) {
                if (e[k].fold == JNL_REFIT)
                    refits++;
                else
                    tasks++;
            }
        y_map(&y, 1);
        y_str(&y, "journal"), y_qstr(&y, ss->file);
        y_str(&y, "session"), y_int(&y, ss->number);
        y_str(&y, "role"), y_qstr(&y, ss->role);
        y_str(&y, "started_utc"), y_qstr(&y, ss->started_utc);
        y_str(&y, "command_line"), y_qstr(&y, ss->command);
        y_str(&y, "host"), y_qstr(&y, ss->host);
        y_str(&y, "hosts"), y_qstr(&y, ss->hosts);
        y_str(&y, "ranks"), y_int(&y, ss->ranks);
        y_str(&y, "workers"), y_int(&y, ss->workers);
        y_str(&y, "blas_threads"), y_int(&y, ss->threads);
        y_str(&y, "version"), y_qstr(&y, ss->version);
        y_str(&y, "git_revision"), y_qstr(&y, ss->git_rev);
        y_str(&y, "tasks"), y_int(&y, tasks);
        y_str(&y, "refits"), y_int(&y, refits);
        y_str(&y, "ended"), y_str(&y, ss->ended ? "true" : "false");
        y_str(&y, "interrupted"), y_str(&y, ss->interrupted ? "true" : "false");
        y_str(&y, "wall_time_s"), y_num(&y, ss->ended ? ss->wall_time : NAN, "%.3f");
        y_map(&y, 0);
    }
    y_seq(&y, 0, 0);
    y_str(&y, "regenerated");
    if (!env || !env->regenerated_by) {
        y_scalar_style(&y, "null", YAML_PLAIN_SCALAR_STYLE);
    } else {
        y_map(&y, 1);
        y_str(&y, "utc"), y_qstr(&y, env->regenerated_utc);
        y_str(&y, "command_line"), y_qstr(&y, env->regenerated_by);
        y_str(&y, "host"), y_qstr(&y, env->regenerated_host);
        y_str(&y, "version"), y_qstr(&y, env->version);
        y_str(&y, "git_revision"), y_qstr(&y, env->git_rev);
        y_map(&y, 0);
    }
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
    y_str(&y, "dir"), y_qstr(&y, ee.data_dir ? ee.data_dir : "");
    y_str(&y, "subset"), y_int(&y, h->subset);
    y_str(&y, "train_images_crc32"), y_hex(&y, h->train_images_crc32, 8);
    y_str(&y, "train_labels_crc32"), y_hex(&y, h->train_labels_crc32, 8);
    y_str(&y, "test_images_crc32"), y_hex(&y, ee.test_images_crc32, 8);
    y_str(&y, "test_labels_crc32"), y_hex(&y, ee.test_labels_crc32, 8);
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
    if (x->refit && x->refit->confusion && x->refit->classes > 0 && x->refit->classes <= JNL_MAX_CLASSES) {
        x->conf = x->refit->confusion;
        x->conf_k = x->refit->classes;
        class_names_of(g, x->conf_k, x->names, x->num);
    }
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
    free(x->conf_own);
    free(x);
    free(order);
    free(c);
    free(sp);
    return rc;
}

/* ---- reading report.yaml back (for reproduce and compare) -----------------------------
 * With libyaml's event parser, not its document loader: a document costs some 25 times the
 * file in memory, events only what is kept. Every field reproduce needs is checked. */

typedef struct {
    yaml_parser_t p;
    yaml_event_t ev;
    int have_ev;
    const char *path;
    fg_err *err;
    int failed;
    int64_t file_size;
    rpt_summary *out;
    unsigned seen;       /* RS_* bits */
    uint64_t sha;
    int64_t n_configs;   /* grid.configurations */
    int64_t n_cfg;       /* entries of `configurations` read */
    int best_config, refit_config, refit_acc; /* the keys given in best and refit */
    char where[96];      /* the field being read, for messages */
} yr;

enum {
    RS_VERSION = 1u << 0, RS_TEXT = 1u << 1, RS_SHA = 1u << 2, RS_NCONF = 1u << 3, RS_SEED = 1u << 4,
    RS_FOLDS = 1u << 5, RS_CV_SEED = 1u << 6, RS_CHECKSUM = 1u << 7, RS_SUBSET = 1u << 8,
    RS_TRAIN_I = 1u << 9, RS_TRAIN_L = 1u << 10, RS_TEST_I = 1u << 11, RS_TEST_L = 1u << 12,
    RS_BEST = 1u << 13, RS_REFIT = 1u << 14, RS_CONFIGS = 1u << 15, RS_GRID = 1u << 16, RS_CV = 1u << 17,
    RS_DATA = 1u << 18
};

static int yr_fail(yr *r, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static int yr_fail(yr *r, const char *fmt, ...)
{
    if (r->failed)
        return -1;
    r->failed = 1;
    char msg[FG_ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (r->where[0])
        fg_err_set(r->err, "%s: %s: %s", r->path, r->where, msg);
    else
        fg_err_set(r->err, "%s: %s", r->path, msg);
    return -1;
}

/* The next event into r->ev (the previous one freed). */
static int yr_next(yr *r)
{
    if (r->have_ev)
        yaml_event_delete(&r->ev);
    r->have_ev = 0;
    if (!yaml_parser_parse(&r->p, &r->ev)) {
        r->where[0] = '\0';
        return yr_fail(r, "line %zu column %zu: %s", r->p.problem_mark.line + 1, r->p.problem_mark.column + 1,
                       r->p.problem ? r->p.problem : "YAML error");
    }
    r->have_ev = 1;
    return 0;
}

/* Skips the node whose first event is r->ev (iteratively: nesting depth costs nothing). */
static int yr_skip(yr *r)
{
    long depth = 0;
    for (;;) {
        yaml_event_type_t t = r->ev.type;
        if (t == YAML_MAPPING_START_EVENT || t == YAML_SEQUENCE_START_EVENT)
            depth++;
        else if (t == YAML_MAPPING_END_EVENT || t == YAML_SEQUENCE_END_EVENT)
            depth--;
        else if (t != YAML_SCALAR_EVENT && t != YAML_ALIAS_EVENT)
            return yr_fail(r, "unexpected end of the document");
        if (depth <= 0)
            return 0;
        if (yr_next(r))
            return -1;
    }
}

static const char *yr_text(const yr *r) { return (const char *)r->ev.data.scalar.value; }
static int yr_is_scalar(const yr *r) { return r->ev.type == YAML_SCALAR_EVENT; }
static int yr_is_null(const yr *r)
{
    if (!yr_is_scalar(r) || r->ev.data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    const char *t = yr_text(r);
    return !strcmp(t, "null") || !strcmp(t, "~") || !strcmp(t, "Null") || !strcmp(t, "NULL") || !*t;
}

/* The value's event (already read into r->ev) as a scalar. */
static const char *yr_scalar(yr *r)
{
    if (!yr_is_scalar(r)) {
        yr_fail(r, "expected a single value, found a %s",
                r->ev.type == YAML_MAPPING_START_EVENT    ? "mapping"
                : r->ev.type == YAML_SEQUENCE_START_EVENT ? "list"
                                                          : "reference");
        return NULL;
    }
    return yr_text(r);
}

static int yr_int(yr *r, long long lo, long long hi, long long *v)
{
    const char *t = yr_scalar(r);
    if (!t)
        return -1;
    char *e;
    errno = 0;
    long long x = strtoll(t, &e, 10);
    if (!*t || *e || errno || x < lo || x > hi || (*t != '-' && (*t < '0' || *t > '9')))
        return yr_fail(r, "'%.40s' is not an integer in %lld..%lld", t, lo, hi);
    *v = x;
    return 0;
}

static int yr_u64(yr *r, uint64_t *v)
{
    const char *t = yr_scalar(r);
    if (!t)
        return -1;
    char *e;
    errno = 0;
    unsigned long long x = strtoull(t, &e, 10);
    if (!*t || *e || errno || *t < '0' || *t > '9')
        return yr_fail(r, "'%.40s' is not an unsigned 64-bit integer", t);
    *v = x;
    return 0;
}

static int yr_hex(yr *r, int digits, uint64_t *v)
{
    const char *t = yr_scalar(r);
    if (!t)
        return -1;
    uint64_t x = 0;
    int ok = (int)strlen(t) == digits;
    for (int i = 0; ok && i < digits; i++) {
        char ch = t[i];
        int d = ch >= '0' && ch <= '9'   ? ch - '0'
                : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                         : -1;
        ok = d >= 0;
        x = x << 4 | (uint64_t)(d < 0 ? 0 : d);
    }
    if (!ok)
        return yr_fail(r, "'%.40s' is not %d hexadecimal digits", t, digits);
    *v = x;
    return 0;
}

/* A number, or NaN for .nan / null. */
static int yr_double(yr *r, double *v)
{
    const char *t = yr_scalar(r);
    if (!t)
        return -1;
    if (yr_is_null(r) || !strcmp(t, ".nan") || !strcmp(t, ".NaN") || !strcmp(t, ".NAN")) {
        *v = NAN;
        return 0;
    }
    char *e;
    double x = strtod(t, &e);
    if (!*t || *e)
        return yr_fail(r, "'%.40s' is not a number", t);
    *v = x;
    return 0;
}

static int yr_str(yr *r, char *buf, size_t cap)
{
    const char *t = yr_scalar(r);
    if (!t)
        return -1;
    snprintf(buf, cap, "%s", t);
    return 0;
}

static void yr_where(yr *r, const char *section, const char *key)
{
    snprintf(r->where, sizeof r->where, "%s%s%.60s", section ? section : "", section ? "." : "", key);
}

typedef int (*yr_key_fn)(yr *r, const char *key);

/* Reads a mapping whose start is r->ev, calling fn for each key with the value's first
 * event in r->ev; fn consumes the value (its last event). Keys must be plain strings. */
static int yr_mapping(yr *r, const char *name, yr_key_fn fn)
{
    if (r->ev.type != YAML_MAPPING_START_EVENT) {
        snprintf(r->where, sizeof r->where, "%s", name);
        return yr_fail(r, "expected a mapping");
    }
    char key[128];
    for (;;) {
        if (yr_next(r))
            return -1;
        if (r->ev.type == YAML_MAPPING_END_EVENT)
            return 0;
        if (!yr_is_scalar(r)) {
            snprintf(r->where, sizeof r->where, "%s", name);
            return yr_fail(r, "a key that is not a plain string");
        }
        snprintf(key, sizeof key, "%s", yr_text(r));
        if (yr_next(r) || fn(r, key))
            return -1;
    }
}

static int once(yr *r, unsigned bit)
{
    if (r->seen & bit)
        return yr_fail(r, "given twice");
    r->seen |= bit;
    return 0;
}

static int program_key(yr *r, const char *k)
{
    rpt_summary *o = r->out;
    yr_where(r, "program", k);
    long long v;
    if (!strcmp(k, "blas"))
        return yr_str(r, o->blas, sizeof o->blas);
    if (!strcmp(k, "git_revision"))
        return yr_str(r, o->git_revision, sizeof o->git_revision);
    if (!strcmp(k, "blas_threads")) {
        if (yr_is_null(r))
            return 0;
        if (yr_int(r, 1, 1 << 20, &v))
            return -1;
        o->blas_threads = (int)v;
        return 0;
    }
    if (!strcmp(k, "wall_time_s"))
        return yr_double(r, &o->wall_time);
    return yr_skip(r);
}

static int grid_key(yr *r, const char *k)
{
    rpt_summary *o = r->out;
    yr_where(r, "grid", k);
    if (!strcmp(k, "text")) {
        const char *t = once(r, RS_TEXT) ? NULL : yr_scalar(r);
        if (!t)
            return -1;
        size_t len = r->ev.data.scalar.length;
        if (len > RPT_GRID_TEXT_MAX)
            return yr_fail(r, "%zu bytes, more than the %u-byte limit", len, RPT_GRID_TEXT_MAX);
        o->grid_text = malloc(len + 1);
        if (!o->grid_text)
            return yr_fail(r, "out of memory");
        memcpy(o->grid_text, t, len);
        o->grid_text[len] = '\0';
        o->grid_len = len;
        return 0;
    }
    if (!strcmp(k, "sha"))
        return once(r, RS_SHA) || yr_hex(r, 16, &r->sha);
    if (!strcmp(k, "configurations")) {
        long long v;
        if (once(r, RS_NCONF) || yr_int(r, 1, RPT_MAX_CONFIGS, &v))
            return -1;
        r->n_configs = v;
        return 0;
    }
    if (!strcmp(k, "path"))
        return yr_str(r, o->grid_path, sizeof o->grid_path);
    if (!strcmp(k, "name"))
        return yr_str(r, o->grid_name, sizeof o->grid_name);
    return yr_skip(r);
}

static int cv_key(yr *r, const char *k)
{
    rpt_summary *o = r->out;
    yr_where(r, "cv", k);
    long long v;
    if (!strcmp(k, "folds")) {
        if (once(r, RS_FOLDS) || yr_int(r, 1, RPT_MAX_FOLDS, &v)) /* 1: a holdout split */
            return -1;
        o->folds = (int)v;
        return 0;
    }
    if (!strcmp(k, "seed"))
        return once(r, RS_CV_SEED) || yr_u64(r, &o->cv_seed);
    if (!strcmp(k, "fold_assignment_checksum"))
        return once(r, RS_CHECKSUM) || yr_hex(r, 16, &o->folds_checksum);
    return yr_skip(r);
}

static int data_key(yr *r, const char *k)
{
    rpt_summary *o = r->out;
    yr_where(r, "data", k);
    static const char *const crc[] = {"train_images_crc32", "train_labels_crc32", "test_images_crc32",
                                      "test_labels_crc32"};
    static const unsigned bits[] = {RS_TRAIN_I, RS_TRAIN_L, RS_TEST_I, RS_TEST_L};
    uint32_t *const dst[] = {&o->train_images_crc32, &o->train_labels_crc32, &o->test_images_crc32,
                             &o->test_labels_crc32};
    for (int i = 0; i < 4; i++)
        if (!strcmp(k, crc[i])) {
            uint64_t v;
            if (once(r, bits[i]) || yr_hex(r, 8, &v))
                return -1;
            *dst[i] = (uint32_t)v;
            return 0;
        }
    if (!strcmp(k, "subset")) {
        long long v;
        if (once(r, RS_SUBSET) || yr_int(r, 0, JNL_MAX_IMAGES, &v))
            return -1;
        o->subset = (int)v;
        return 0;
    }
    return yr_skip(r);
}

/* A flow list of fold scores into dst (room for cap), each in [0, 1] or NaN. */
static int split_scores(yr *r, double *dst, int cap, int *n)
{
    *n = 0;
    if (r->ev.type != YAML_SEQUENCE_START_EVENT)
        return yr_fail(r, "expected a list of fold scores");
    for (;;) {
        if (yr_next(r))
            return -1;
        if (r->ev.type == YAML_SEQUENCE_END_EVENT)
            return 0;
        double v;
        if (yr_double(r, &v))
            return -1;
        if (!isnan(v) && !(v >= 0 && v <= 1))
            return yr_fail(r, "fold score %g outside [0, 1]", v);
        if (*n >= cap)
            return yr_fail(r, "more than the %d scores of cv.folds", cap);
        if (dst)
            dst[*n] = v;
        (*n)++;
    }
}

static int best_key(yr *r, const char *k)
{
    rpt_summary *o = r->out;
    yr_where(r, "best", k);
    long long v;
    if (!strcmp(k, "config")) {
        if (yr_int(r, 0, RPT_MAX_CONFIGS - 1, &v))
            return -1;
        o->best_config = v;
        r->best_config = 1;
        return 0;
    }
    if (!strcmp(k, "split_test_scores")) {
        int ns;
        return split_scores(r, NULL, RPT_MAX_FOLDS, &ns);
    }
    if (!strcmp(k, "mean_test_score")) {
        if (yr_double(r, &o->best_mean))
            return -1;
        if (!isnan(o->best_mean) && !(o->best_mean >= 0 && o->best_mean <= 1))
            return yr_fail(r, "%g is outside [0, 1]", o->best_mean);
        return 0;
    }
    if (!strcmp(k, "std_test_score"))
        return yr_double(r, &o->best_std);
    if (!strcmp(k, "std_error_test_score"))
        return yr_double(r, &o->best_sem);
    if (!strcmp(k, "params")) {
        if (r->ev.type != YAML_MAPPING_START_EVENT)
            return yr_fail(r, "expected a mapping");
        for (;;) {
            if (yr_next(r))
                return -1;
            if (r->ev.type == YAML_MAPPING_END_EVENT)
                return 0;
            const char *name = yr_scalar(r);
            if (!name)
                return -1;
            char nb[64];
            snprintf(nb, sizeof nb, "%s", name);
            if (yr_next(r))
                return -1;
            const char *val = yr_scalar(r);
            if (!val)
                return -1;
            if (o->n_best_params < RPT_MAX_PARAMS) {
                snprintf(o->best_param_name[o->n_best_params], sizeof o->best_param_name[0], "%s", nb);
                snprintf(o->best_param_value[o->n_best_params], sizeof o->best_param_value[0], "%s", val);
                o->n_best_params++;
            }
        }
    }
    return yr_skip(r);
}

static int refit_key(yr *r, const char *k)
{
    rpt_summary *o = r->out;
    yr_where(r, "refit", k);
    if (!strcmp(k, "config")) {
        long long v;
        if (yr_int(r, 0, RPT_MAX_CONFIGS - 1, &v))
            return -1;
        o->refit_config = (int)v;
        r->refit_config = 1;
        return 0;
    }
    if (!strcmp(k, "test_accuracy")) {
        r->refit_acc = 1;
        if (yr_double(r, &o->refit_test_accuracy))
            return -1;
        if (!isnan(o->refit_test_accuracy) && !(o->refit_test_accuracy >= 0 && o->refit_test_accuracy <= 1))
            return yr_fail(r, "%g is outside [0, 1]", o->refit_test_accuracy);
        return 0;
    }
    return yr_skip(r);
}

static int statistics_key(yr *r, const char *k)
{
    rpt_summary *o = r->out;
    yr_where(r, "statistics", k);
    if (!strcmp(k, "one_se_choice")) {
        long long v;
        if (yr_is_null(r))
            return 0;
        if (yr_int(r, 0, RPT_MAX_CONFIGS - 1, &v))
            return -1;
        o->one_se_choice = v;
        return 0;
    }
    if (!strcmp(k, "indistinguishable_from_best")) {
        if (r->ev.type != YAML_SEQUENCE_START_EVENT)
            return yr_fail(r, "expected a list");
        o->n_indistinguishable = 0;
        for (;;) {
            if (yr_next(r))
                return -1;
            if (r->ev.type == YAML_SEQUENCE_END_EVENT)
                return 0;
            if (yr_skip(r))
                return -1;
            o->n_indistinguishable++;
        }
    }
    return yr_skip(r);
}

/* One entry of `configurations`: its split scores go to row r->n_cfg. */
static int config_key(yr *r, const char *k)
{
    rpt_summary *o = r->out;
    snprintf(r->where, sizeof r->where, "configurations[%lld].%.40s", (long long)r->n_cfg, k);
    if (!strcmp(k, "config")) {
        long long v;
        if (yr_int(r, 0, RPT_MAX_CONFIGS - 1, &v))
            return -1;
        if (v != r->n_cfg)
            return yr_fail(r, "%lld, expected %lld (entries in configuration order)", v, (long long)r->n_cfg);
        return 0;
    }
    if (!strcmp(k, "split_test_scores")) {
        int n;
        if (split_scores(r, o->split + r->n_cfg * o->folds, o->folds, &n))
            return -1;
        if (n != o->folds)
            return yr_fail(r, "%d fold scores, but cv.folds is %d", n, o->folds);
        return 0;
    }
    return yr_skip(r);
}

static int configurations(yr *r)
{
    rpt_summary *o = r->out;
    snprintf(r->where, sizeof r->where, "configurations");
    if (once(r, RS_CONFIGS))
        return -1;
    if (r->ev.type != YAML_SEQUENCE_START_EVENT)
        return yr_fail(r, "expected a list");
    /* The split scores are kept: n_configs x folds, both known (and checked against the
     * file's size) before the list, as rpt_write orders them. */
    if (!(r->seen & RS_NCONF) || !(r->seen & RS_FOLDS))
        return yr_fail(r, "grid.configurations and cv.folds must come before the list");
    if ((double)r->n_configs * (64.0 + 2.0 * o->folds) > (double)r->file_size)
        return yr_fail(r, "grid.configurations says %lld configurations of %d folds, more than a %lld-byte file "
                          "can hold",
                       (long long)r->n_configs, o->folds, (long long)r->file_size);
    o->split = malloc((size_t)r->n_configs * (size_t)o->folds * sizeof *o->split);
    if (!o->split)
        return yr_fail(r, "out of memory for %lld x %d fold scores", (long long)r->n_configs, o->folds);
    for (int64_t i = 0; i < r->n_configs * o->folds; i++)
        o->split[i] = NAN;
    for (;;) {
        if (yr_next(r))
            return -1;
        if (r->ev.type == YAML_SEQUENCE_END_EVENT)
            break;
        if (r->n_cfg >= r->n_configs) {
            snprintf(r->where, sizeof r->where, "configurations");
            return yr_fail(r, "more entries than grid.configurations (%lld)", (long long)r->n_configs);
        }
        char name[48];
        snprintf(name, sizeof name, "configurations[%lld]", (long long)r->n_cfg);
        int had_split = 0;
        if (r->ev.type == YAML_MAPPING_START_EVENT) {
            /* whether split_test_scores was there: a NaN-filled row otherwise */
            double *row = o->split + r->n_cfg * o->folds;
            row[0] = -1; /* sentinel: overwritten by split_scores */
            if (yr_mapping(r, name, config_key))
                return -1;
            had_split = row[0] != -1;
            if (!had_split)
                row[0] = NAN;
        } else if (yr_mapping(r, name, config_key)) {
            return -1;
        }
        if (!had_split) {
            snprintf(r->where, sizeof r->where, "%s.split_test_scores", name);
            return yr_fail(r, "missing");
        }
        r->n_cfg++;
    }
    o->n_configs = r->n_cfg;
    if (r->n_cfg != r->n_configs) {
        snprintf(r->where, sizeof r->where, "configurations");
        return yr_fail(r, "%lld entries, but grid.configurations is %lld", (long long)r->n_cfg,
                       (long long)r->n_configs);
    }
    return 0;
}

/* report.yaml's weights_crc32 mapping: a Keras weights file's path -> its CRC-32. */
static int weights_key(yr *r, const char *k)
{
    rpt_summary *o = r->out;
    yr_where(r, "weights_crc32", k);
    if (o->n_weights >= RPT_MAX_WEIGHTS)
        return yr_fail(r, "more than %d weights files", RPT_MAX_WEIGHTS);
    uint64_t v;
    if (yr_hex(r, 8, &v))
        return -1;
    snprintf(o->weights_path[o->n_weights], sizeof o->weights_path[0], "%s", k);
    o->weights_crc32[o->n_weights++] = (uint32_t)v;
    return 0;
}

static int root_key(yr *r, const char *k)
{
    rpt_summary *o = r->out;
    yr_where(r, NULL, k);
    long long v;
    if (!strcmp(k, "fmnist_grid_report")) {
        if (once(r, RS_VERSION) || yr_int(r, 1, 1000, &v))
            return -1;
        if (v != 1)
            return yr_fail(r, "format %lld, this program reads 1", v);
        return 0;
    }
    if (!strcmp(k, "program"))
        return yr_mapping(r, "program", program_key);
    if (!strcmp(k, "grid"))
        return once(r, RS_GRID) || yr_mapping(r, "grid", grid_key);
    if (!strcmp(k, "cv"))
        return once(r, RS_CV) || yr_mapping(r, "cv", cv_key);
    if (!strcmp(k, "data"))
        return once(r, RS_DATA) || yr_mapping(r, "data", data_key);
    if (!strcmp(k, "seed"))
        return once(r, RS_SEED) || yr_u64(r, &o->seed);
    if (!strcmp(k, "tasks") || !strcmp(k, "tasks_done")) {
        if (yr_int(r, 0, INT64_MAX, &v))
            return -1;
        *(!strcmp(k, "tasks") ? &o->tasks : &o->tasks_done) = v;
        return 0;
    }
    if (!strcmp(k, "training_time_s"))
        return yr_double(r, &o->training_time);
    if (!strcmp(k, "best")) {
        if (once(r, RS_BEST))
            return -1;
        if (yr_is_null(r))
            return 0;
        if (yr_mapping(r, "best", best_key))
            return -1;
        snprintf(r->where, sizeof r->where, "best.config");
        return r->best_config ? 0 : yr_fail(r, "missing (a required field)");
    }
    if (!strcmp(k, "refit")) {
        if (once(r, RS_REFIT))
            return -1;
        if (yr_is_null(r))
            return 0;
        if (yr_mapping(r, "refit", refit_key))
            return -1;
        snprintf(r->where, sizeof r->where, "refit.%s", r->refit_config ? "test_accuracy" : "config");
        return r->refit_config && r->refit_acc ? 0 : yr_fail(r, "missing (a required field)");
    }
    if (!strcmp(k, "statistics"))
        return yr_mapping(r, "statistics", statistics_key);
    if (!strcmp(k, "configurations"))
        return configurations(r);
    if (!strcmp(k, "weights_crc32"))
        return yr_mapping(r, "weights_crc32", weights_key);
    return yr_skip(r);
}

void rpt_summary_free(rpt_summary *s)
{
    if (!s)
        return;
    free(s->grid_text);
    free(s->split);
    memset(s, 0, sizeof *s);
}

/* The fields every report has and reproduce needs, and their agreement: the grid text
 * with its hash, best and refit within the configurations. */
static int summary_complete(const yr *r, const char *path, rpt_summary *out, fg_err *err)
{
    int rc = 0;
    /* Required fields, in the order a reader would look for them. */
    static const struct {
        unsigned bit;
        const char *name;
    } req[] = {{RS_VERSION, "fmnist_grid_report"},
               {RS_TEXT, "grid.text"},
               {RS_SHA, "grid.sha"},
               {RS_NCONF, "grid.configurations"},
               {RS_SEED, "seed"},
               {RS_FOLDS, "cv.folds"},
               {RS_CV_SEED, "cv.seed"},
               {RS_CHECKSUM, "cv.fold_assignment_checksum"},
               {RS_SUBSET, "data.subset"},
               {RS_TRAIN_I, "data.train_images_crc32"},
               {RS_TRAIN_L, "data.train_labels_crc32"},
               {RS_TEST_I, "data.test_images_crc32"},
               {RS_TEST_L, "data.test_labels_crc32"},
               {RS_BEST, "best"},
               {RS_REFIT, "refit"},
               {RS_CONFIGS, "configurations"}};
    if (!(r->seen & RS_VERSION) && !(r->seen & RS_TEXT))
        rc = fg_err_set(err, "%s: not a fmnist-grid report.yaml (no fmnist_grid_report, no grid text)", path);
    for (size_t i = 0; !rc && i < sizeof req / sizeof req[0]; i++)
        if (!(r->seen & req[i].bit))
            rc = fg_err_set(err, "%s: %s: missing (a required field)", path, req[i].name);
    uint64_t got = rc ? 0 : fg_hash_bytes(out->grid_text, out->grid_len, 0);
    if (!rc && got != r->sha)
        rc = fg_err_set(err, "%s: grid.text does not match its recorded hash grid.sha (%016llx; the text "
                             "hashes to %016llx): the grid text was changed",
                        path, (unsigned long long)r->sha, (unsigned long long)got);
    if (!rc && out->best_config >= out->n_configs)
        rc = fg_err_set(err, "%s: best.config: %lld is outside 0..%lld", path, (long long)out->best_config,
                        (long long)out->n_configs - 1);
    if (!rc && out->refit_config >= out->n_configs)
        rc = fg_err_set(err, "%s: refit.config: %d is outside 0..%lld", path, out->refit_config,
                        (long long)out->n_configs - 1);
    if (!rc && !out->grid_path[0])
        snprintf(out->grid_path, sizeof out->grid_path, "%s", path);
    return rc;
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
    int fd;
    int64_t size;
    if (fg_open_regular(path, O_RDONLY, "report.yaml", &fd, &size, err))
        return -1;
    if (size > (int64_t)RPT_YAML_MAX) {
        close(fd);
        return fg_err_set(err, "%s: %lld bytes, more than the %u-byte limit for a report.yaml", path,
                          (long long)size, RPT_YAML_MAX);
    }
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        close(fd);
        return fg_err_set(err, "%s: cannot read: %s", path, strerror(errno));
    }
    yr r;
    memset(&r, 0, sizeof r);
    r.path = path;
    r.err = err;
    r.out = out;
    r.file_size = size;
    if (!yaml_parser_initialize(&r.p)) {
        fclose(f);
        return fg_err_set(err, "%s: libyaml: cannot initialise", path);
    }
    yaml_parser_set_input_file(&r.p, f);
    int rc = 0;
    /* stream start, document start, the root mapping */
    if (yr_next(&r) || yr_next(&r))
        rc = -1;
    else if (r.ev.type != YAML_DOCUMENT_START_EVENT)
        rc = fg_err_set(err, "%s: not a fmnist-grid report.yaml (empty)", path), r.failed = 1;
    else if (yr_next(&r))
        rc = -1;
    else if (r.ev.type != YAML_MAPPING_START_EVENT)
        rc = fg_err_set(err, "%s: not a fmnist-grid report.yaml (not a mapping)", path), r.failed = 1;
    else if (yr_mapping(&r, "report", root_key))
        rc = -1;
    r.where[0] = '\0';
    if (!rc)
        rc = summary_complete(&r, path, out, err);
    if (r.have_ev)
        yaml_event_delete(&r.ev);
    yaml_parser_delete(&r.p);
    fclose(f);
    if (rc)
        rpt_summary_free(out);
    return rc;
}
