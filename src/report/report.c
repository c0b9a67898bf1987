/* report.c - the report of a search, recomputed from journal entries: rpt_write ranks the
 * configurations (rank.c), builds the context every writer shares (report_parts.h) and
 * calls the writers in order (cv_results.csv, figures, report.md, report.html,
 * report.yaml); also the grid's check of journal records and the writers' small shared
 * helpers. */
#define _POSIX_C_SOURCE 200809L
#include "report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "fg_afile.h"
#include "nn.h"
#include "report_parts.h"

void rpt_class_names_of(const grid *g, int k, const char **names, char (*num)[12])
{
    const char *const *gn = grid_opts_c(g)->n_class_names == k ? grid_class_names(g) : NULL;
    for (int c = 0; c < k; c++)
        names[c] = data_class_name(gn, k, c, num[c], sizeof num[c]);
}

const char *rpt_status_text(int s)
{
    if (s == RPT_STATUS_PARTIAL)
        return "partial";
    return nn_status_name((nn_status)s);
}

void rpt_fmt_secs(char *buf, size_t n, double s)
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

const jnl_entry *rpt_find_refit(const jnl_entry *e, int n, int64_t best)
{
    const jnl_entry *r = NULL;
    for (int i = 0; i < n; i++)
        if (e[i].fold == JNL_REFIT && e[i].config == best)
            r = &e[i]; /* the last one recorded */
    return r;
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

/* ---- rpt_write ------------------------------------------------------------------------- */

/* The fields of the writers' context for c (nc configurations, sp their fold scores, in
 * order); the statistics, best and top configurations come after (ctx_finish). */
static void ctx_fields(rpt_ctx *x, const char *dir, const grid *g, const jnl_header *h, const jnl_entry *e, int n,
                       const rpt_env *env, rpt_config *c, const double *sp, const int64_t *order)
{
    x->dir = dir;
    x->g = g;
    x->h = h;
    x->c = c;
    x->c0 = c;
    x->sp = sp;
    x->order = order;
    x->nc = grid_n_configs(g);
    x->folds = grid_opts_c(g)->folds;
    x->e = e;
    x->n = n;
    x->env = env;
    x->stat_iter = -1;
}

/* The refit of x->best and the top configurations: the first scored ones in order. */
static void ctx_finish(rpt_ctx *x)
{
    x->refit = rpt_find_refit(x->e, x->n, x->best);
    if (x->refit && x->refit->confusion && x->refit->classes > 0 && x->refit->classes <= JNL_MAX_CLASSES) {
        x->conf = x->refit->confusion;
        x->conf_k = x->refit->classes;
        rpt_class_names_of(x->g, x->conf_k, x->names, x->num);
    }
    for (int64_t k = 0; k < x->nc && x->n_top < RPT_TOP_CURVES; k++)
        if (!isnan(x->c[x->order[k]].mean)) {
            x->top_iter[x->n_top] = x->last ? x->last[x->order[k]] : 0;
            x->top[x->n_top++] = x->order[k];
        }
}

/* Writes dir/NAME from the n bytes at p, atomically. */
static int write_text(const char *dir, const char *name, const char *p, size_t n, fg_err *err)
{
    fg_afile a;
    if (fg_afile_open(&a, dir, name, err))
        return -1;
    fwrite(p, 1, n, a.f);
    return fg_afile_commit(&a, err);
}

/* report.md, and report.html converted from it. */
static int write_md_html(const rpt_ctx *x, fg_err *err)
{
    char *md = NULL;
    size_t md_len = 0;
    FILE *mf = open_memstream(&md, &md_len);
    if (!mf)
        return fg_err_set(err, "out of memory writing report.md");
    rpt_write_md(mf, x);
    if (fclose(mf) != 0 || !md) {
        free(md);
        return fg_err_set(err, "out of memory writing report.md");
    }
    int rc = write_text(x->dir, "report.md", md, md_len, err);
    fg_afile a;
    if (!rc && !(rc = fg_afile_open(&a, x->dir, "report.html", err))) {
        char title[160];
        snprintf(title, sizeof title, "fmnist-grid report: %s", grid_opts_c(x->g)->name);
        rpt_html_from_md(a.f, md, x->dir, title);
        rc = fg_afile_commit(&a, err);
    }
    free(md);
    return rc;
}

/* The files in order, the context computed. */
static int write_files(rpt_ctx *x, const char *journal_path, fg_err *err)
{
    const rpt_env *env = x->env;
    int rc = x->hv ? rpt_write_csv_halving(x->dir, x->g, x->hv, x->c, err)
                   : rpt_write_csv(x->dir, x->g, x->c, x->sp, x->nc, x->folds, err);
    if (!rc) {
        /* Plots never stop the reports: a failure is said in report.md and returned as a warning. */
        rpt_read_histories(x, journal_path);
        rpt_make_plots(x);
        if (!x->plots_drawn && env && env->plot_warning)
            fg_err_set(env->plot_warning, "plots not drawn: %s", x->plot_msg);
        rc = write_md_html(x, err);
    }
    if (!rc)
        rc = rpt_write_yaml(x, err);
    return rc;
}

/* ---- a halving search ------------------------------------------------------------------ */

/* n_test / n_train of the counted records of iteration it (rpt_test_train_ratio's rule). */
static double iter_ratio(const rpt_ctx *x, int it)
{
    double s = 0;
    int cnt = 0;
    for (int i = 0; i < x->n; i++)
        if (x->hv->counts[i] && x->e[i].iter == it && x->e[i].n_train > 0 && x->e[i].n_val > 0) {
            s += (double)x->e[i].n_val / x->e[i].n_train;
            cnt++;
        }
    return cnt ? s / cnt : x->folds > 1 ? 1.0 / (x->folds - 1) : NAN;
}

/* The statistics of a halving search: the candidates of the highest iteration reached
 * compared with its best (the same resource); the others get no p-value. */
static void halving_compare(rpt_ctx *x, rpt_config *c, const double *sp)
{
    int64_t nc = x->nc, m = 0;
    int folds = x->folds, top = -1;
    for (int64_t i = 0; i < nc; i++) {
        top = x->last[i] > top ? x->last[i] : top;
        c[i].t_vs_best = c[i].p_vs_best = NAN;
        c[i].indistinguishable = 0;
    }
    x->stat_iter = top;
    x->ratio = iter_ratio(x, top);
    x->pick = -1;
    int64_t *idx = malloc((size_t)(nc ? nc : 1) * sizeof *idx);
    rpt_config *sub = malloc((size_t)(nc ? nc : 1) * sizeof *sub);
    double *ssp = malloc((size_t)(nc ? nc : 1) * (size_t)folds * sizeof *ssp);
    for (int64_t i = 0; idx && sub && ssp && i < nc; i++)
        if (x->last[i] == top) {
            idx[m] = i;
            sub[m] = c[i];
            memcpy(ssp + (size_t)m * (size_t)folds, sp + (size_t)i * (size_t)folds, (size_t)folds * sizeof *ssp);
            m++;
        }
    int64_t p = m ? rpt_compare(sub, ssp, m, folds, x->ratio) : -1;
    for (int64_t j = 0; j < m; j++)
        c[idx[j]] = sub[j];
    x->pick = p >= 0 ? idx[p] : -1;
    free(idx), free(sub), free(ssp);
}

/* rpt_write of a halving search: the journal replayed through rungs (report_halving.h). */
static int write_halving(const char *dir, const grid *g, const jnl_header *h, const jnl_entry *e, int n,
                         const rpt_env *env, const char *journal_path, fg_err *err)
{
    rpt_halving hv;
    int64_t nc = grid_n_configs(g);
    int folds = grid_opts_c(g)->folds;
    int ns = rpt_n_searched(h, env ? env->sessions : NULL, env ? env->n_sessions : 0, env ? env->n_train_total : 0);
    if (rpt_halving_of(g, h, ns, e, n, &hv, err))
        return -1;
    size_t m = (size_t)(nc ? nc : 1);
    rpt_config *c = calloc(m, sizeof *c);
    double *sp = malloc(m * (size_t)folds * sizeof *sp);
    int64_t *order = malloc(m * sizeof *order);
    rpt_ctx *x = calloc(1, sizeof *x);
    int rc = !c || !sp || !order || !x ? fg_err_set(err, "out of memory") : 0;
    for (int64_t i = 0; !rc && i < nc; i++) { /* every configuration is a candidate of iteration 0 */
        int64_t k = hv.last_row[i] >= 0 ? hv.last_row[i] : 0;
        c[i] = hv.row[k];
        memcpy(sp + (size_t)i * (size_t)folds, hv.row_sp + (size_t)k * (size_t)folds, (size_t)folds * sizeof *sp);
    }
    if (!rc) {
        rpt_halving_order(c, hv.last, nc, order);
        ctx_fields(x, dir, g, h, e, n, env, c, sp, order);
        x->hv = &hv;
        x->last = hv.last;
        x->c0 = hv.row; /* iteration 0: rows 0..nc-1 are configurations 0..nc-1 */
        x->best = hv.best >= 0 ? hv.best : nc > 0 && !isnan(c[order[0]].mean) ? order[0] : -1;
        halving_compare(x, c, sp);
        ctx_finish(x);
        rc = write_files(x, journal_path, err);
    }
    if (x)
        free(x->seen), free(x->conf_own);
    free(x), free(order), free(c), free(sp);
    rpt_halving_free(&hv);
    return rc;
}

int rpt_write(const char *dir, const grid *g, const jnl_header *h, const jnl_entry *e, int n,
              const rpt_env *env, const char *journal_path, fg_err *err)
{
    int64_t nc = grid_n_configs(g);
    rpt_config *c = NULL;
    double *sp = NULL;
    if (env && env->plot_warning)
        env->plot_warning->msg[0] = '\0';
    if (rpt_is_halving(g))
        return write_halving(dir, g, h, e, n, env, journal_path, err);
    if (rpt_aggregate(e, n, nc, grid_opts_c(g)->folds, &c, &sp, err))
        return -1;
    rpt_costs(g, c, nc); /* legacy: only configurations whose records lack the cost */
    int64_t *order = malloc((size_t)(nc ? nc : 1) * sizeof *order);
    rpt_ctx *x = calloc(1, sizeof *x);
    if (!order || !x) {
        free(c), free(sp), free(order), free(x);
        return fg_err_set(err, "out of memory");
    }
    rpt_order(c, nc, order);
    ctx_fields(x, dir, g, h, e, n, env, c, sp, order);
    x->ratio = rpt_test_train_ratio(e, n, x->folds);
    x->pick = rpt_compare(c, sp, nc, x->folds, x->ratio);
    x->best = rpt_best(c, nc);
    ctx_finish(x);
    int rc = write_files(x, journal_path, err);
    free(x->seen);
    free(x->conf_own);
    free(x);
    free(order);
    free(c);
    free(sp);
    return rc;
}
