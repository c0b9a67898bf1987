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

/* The context of the writers for c (nc configurations, sp their fold scores); the top
 * configurations are the first scored ones in order. */
static void ctx_init(rpt_ctx *x, const char *dir, const grid *g, const jnl_header *h, const jnl_entry *e, int n,
                     const rpt_env *env, rpt_config *c, const double *sp, const int64_t *order)
{
    int64_t nc = grid_n_configs(g);
    int folds = grid_opts_c(g)->folds;
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
    x->refit = rpt_find_refit(e, n, x->best);
    if (x->refit && x->refit->confusion && x->refit->classes > 0 && x->refit->classes <= JNL_MAX_CLASSES) {
        x->conf = x->refit->confusion;
        x->conf_k = x->refit->classes;
        rpt_class_names_of(g, x->conf_k, x->names, x->num);
    }
    for (int64_t k = 0; k < nc && x->n_top < RPT_TOP_CURVES; k++)
        if (!isnan(c[order[k]].mean))
            x->top[x->n_top++] = order[k];
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
    int rc = rpt_write_csv(x->dir, x->g, x->c, x->sp, x->nc, x->folds, err);
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

int rpt_write(const char *dir, const grid *g, const jnl_header *h, const jnl_entry *e, int n,
              const rpt_env *env, const char *journal_path, fg_err *err)
{
    int64_t nc = grid_n_configs(g);
    rpt_config *c = NULL;
    double *sp = NULL;
    if (env && env->plot_warning)
        env->plot_warning->msg[0] = '\0';
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
    ctx_init(x, dir, g, h, e, n, env, c, sp, order);
    int rc = write_files(x, journal_path, err);
    free(x->seen);
    free(x->conf_own);
    free(x);
    free(order);
    free(c);
    free(sp);
    return rc;
}
