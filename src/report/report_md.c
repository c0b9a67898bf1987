/* report_md.c - report.md: the best configuration, whether it really beats the others, what
 * to try next, the figures, the refit, the top configurations, the mean score per parameter
 * value and the failed tasks (the environment section: report_env.c). */
#include "report_parts.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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
static void md_try_next(FILE *f, const rpt_ctx *x)
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
        int nv = rpt_param_values(g, x->nc, p, vals, &numeric);
        if (!bv || !numeric || nv < 2)
            continue;
        int at = rpt_value_index(vals, nv, bv);
        if (at != 0 && at != nv - 1)
            continue;
        double lo, lo2, hi, hi2;
        rpt_is_number(vals[0], &lo);
        rpt_is_number(vals[1], &lo2);
        rpt_is_number(vals[nv - 1], &hi);
        rpt_is_number(vals[nv - 2], &hi2);
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

/* Title, partial-report note and task counts. */
static void md_head(FILE *f, const rpt_ctx *x, int64_t failed)
{
    const rpt_env *env = x->env;
    const grid_options *o = grid_opts_c(x->g);
    int64_t nc = x->nc, done = 0;
    int folds = x->folds;
    for (int64_t i = 0; i < nc; i++)
        done += x->c[i].n_done;
    fprintf(f, "# fmnist-grid report: %s\n\n", o->name);
    if (env && env->interrupted)
        fprintf(f, "**Partial report**: the search was interrupted; resume it with "
                   "`fmnist-grid --resume %s`.\n\n", x->dir);
    if (x->hv)
        fprintf(f, "%lld configurations, successive halving over %d iterations × %d folds = %lld tasks; %lld done",
                (long long)nc, x->hv->n_iter, folds, (long long)x->hv->tasks_total, (long long)x->hv->tasks_done);
    else
        fprintf(f, "%lld configurations × %d folds = %lld tasks; %lld done", (long long)nc, folds,
                (long long)nc * folds, (long long)done);
    if (failed)
        fprintf(f, "; %lld configurations failed (ranked last with NaN scores)", (long long)failed);
    fputs(". Scores are validation accuracies; ± is the standard error of the mean over folds.\n\n", f);
}

/* A section about the best configuration: its heading, then 0 after saying so when no
 * configuration has a score yet, else 1. */
static int md_best_section(FILE *f, const rpt_ctx *x, const char *heading)
{
    fputs(heading, f);
    if (x->best < 0) {
        fputs("No configuration has a score yet.\n\n", f);
        return 0;
    }
    return 1;
}

/* 1 when configuration i has the best's mean score (a halving search: at the same iteration). */
static int same_mean(const rpt_ctx *x, int64_t i, int64_t best)
{
    return x->c[i].mean == x->c[best].mean && (!x->last || x->last[i] == x->last[best]);
}

static void md_best(FILE *f, const rpt_ctx *x)
{
    const grid *g = x->g;
    const rpt_config *c = x->c;
    int64_t nc = x->nc, best = x->best;
    int folds = x->folds;
    if (!md_best_section(f, x, "## Best configuration\n\n"))
        return;
    const rpt_config *b = &c[best];
    fprintf(f, "Configuration %lld: mean cross-validated accuracy **", (long long)best);
    md_mean_se(f, b);
    fprintf(f, "** over %d folds (std %.4f).", folds, b->std);
    int ties = 0;
    for (int64_t i = 0; i < nc; i++)
        ties += i != best && same_mean(x, i, best);
    if (ties) {
        fputs(" Configuration", f);
        fputs(ties > 1 ? "s" : "", f);
        for (int64_t i = 0, k = 0; i < nc; i++)
            if (i != best && same_mean(x, i, best))
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

/* Statistics: who the best really beats. */
static void md_statistics(FILE *f, const rpt_ctx *x)
{
    const grid *g = x->g;
    const rpt_config *c = x->c;
    int64_t nc = x->nc, best = x->best;
    int folds = x->folds;
    if (!md_best_section(f, x, "## Does the best really beat the others?\n\n"))
        return;
    fprintf(f, "Each configuration's fold scores are compared with the best's by the corrected "
               "resampled paired t-test (Nadeau and Bengio, 2003): the variance of the %d paired "
               "differences is inflated by n_test/n_train = %.4f for the overlap of the training "
               "sets, with %d degrees of freedom; two-sided, significance level %.2f.\n\n",
            folds, x->ratio, folds - 1, RPT_ALPHA);
    if (x->hv)
        fprintf(f, "Successive halving: only the candidates of iteration %d (%lld %s each, as the best) are "
                   "compared; a configuration eliminated earlier ran with less and gets no p-value.\n\n",
                x->stat_iter, (long long)x->hv->it[x->stat_iter].n_resources,
                grid_search_of(g)->resource == HALV_EPOCHS ? "epochs" : "training images");
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

static void md_plots(FILE *f, const rpt_ctx *x)
{
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
}

/* The refit's confusion matrix on the test set, when recorded (x->conf, x->conf_k classes). */
static void md_confusion(FILE *f, const rpt_ctx *x)
{
    const int K = x->conf_k;
    int have_conf = 0;
    for (int k = 0; k < K * K; k++)
        have_conf |= x->conf[k] != 0;
    if (!have_conf)
        return;
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

static void md_refit(FILE *f, const rpt_ctx *x)
{
    const rpt_env *env = x->env;
    const jnl_entry *rf = x->refit;
    if (!rf) {
        if (grid_opts_c(x->g)->refit && x->best >= 0)
            fputs("## Refit\n\nNot done (the search did not finish, or the refit failed).\n\n", f);
        return;
    }
    long long n_test = 0;
    for (int k = 0; k < x->conf_k * x->conf_k; k++)
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
    const rpt_hist *hh = &x->refit_h;
    if (hh->n > 0) {
        fputs("| epoch | loss | accuracy |\n|---|---|---|\n", f);
        for (int i = 0; i < hh->n; i++)
            fprintf(f, "| %d | %.4f | %.4f |\n", i + 1, hh->loss[i], hh->acc[i]);
        fputc('\n', f);
    }
    md_confusion(f, x);
}

/* The top 10 in rpt_order. */
static void md_top(FILE *f, const rpt_ctx *x)
{
    const grid *g = x->g;
    const rpt_config *c = x->c;
    int64_t nc = x->nc;
    if (x->hv)
        fputs("## Top configurations\n\nEach configuration at the last iteration it completed: later iterations "
              "first, then in order of mean score, ties by cost (`rank`: ties share a rank).\n\n| rank | "
              "iteration | config | mean ± SE | p vs best | fit time | parameters × epochs |", f);
    else
        fputs("## Top configurations\n\nIn order of mean score, ties by cost; `rank` is scikit-learn's "
              "`rank_test_score` (ties share a rank).\n\n| rank | config | mean ± SE | p vs best | fit time | "
              "parameters × epochs |", f);
    for (int p = 0; p < grid_n_params(g); p++)
        fprintf(f, " %s |", grid_param_name(g, p));
    fputs(x->hv ? "\n|---|---|---|---|---|---|---|" : "\n|---|---|---|---|---|---|", f);
    for (int p = 0; p < grid_n_params(g); p++)
        fputs("---|", f);
    fputc('\n', f);
    for (int64_t k = 0; k < nc && k < 10; k++) {
        const rpt_config *r = &c[x->order[k]];
        char t[32];
        rpt_fmt_secs(t, sizeof t, r->mean_fit);
        if (x->hv)
            fprintf(f, "| %d | %d | %lld | ", r->rank, x->last[r->config], (long long)r->config);
        else
            fprintf(f, "| %d | %lld | ", r->rank, (long long)r->config);
        md_mean_se(f, r);
        if (r->status != NN_STATUS_OK)
            fprintf(f, " (%s)", rpt_status_text(r->status));
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
}

/* Mean score per parameter value (rpt_value_scores). */
static void md_param_means(FILE *f, const rpt_ctx *x)
{
    const grid *g = x->g;
    int64_t nc = x->nc;
    fputs("## Mean score per parameter value\n\nMean of the configurations' mean scores "
          "(configurations without a score are left out).\n\n", f);
    if (x->hv)
        fprintf(f, "Successive halving: the scores of iteration 0 (%lld %s), where every configuration ran.\n\n",
                (long long)x->hv->it[0].n_resources,
                grid_search_of(g)->resource == HALV_EPOCHS ? "epochs" : "training images");
    const char **vals = malloc((size_t)(nc ? nc : 1) * sizeof *vals);
    for (int p = 0; vals && p < grid_n_params(g); p++) {
        fprintf(f, "### %s\n\n| value | configurations | mean score | best score |\n|---|---|---|---|\n",
                grid_param_name(g, p));
        int numeric;
        int nv = rpt_param_values(g, nc, p, vals, &numeric);
        for (int k = 0; k < nv; k++) {
            int tot, cnt;
            double mean, bestv;
            rpt_value_scores(g, x->c0, nc, p, vals[k], &tot, &cnt, &mean, &bestv);
            fprintf(f, "| %s | %d | ", vals[k], tot);
            if (cnt)
                fprintf(f, "%.4f | %.4f |\n", mean, bestv);
            else
                fputs("NaN | NaN |\n", f);
        }
        fputc('\n', f);
    }
    free(vals);
}

static void md_failures(FILE *f, const rpt_ctx *x)
{
    const jnl_entry *e = x->e;
    int n = x->n;
    fputs("## Failed tasks\n\n| config | fold | status | message |\n|---|---|---|---|\n", f);
    for (int i = 0; i < n; i++)
        if (e[i].fold >= 0 && e[i].status != NN_STATUS_OK)
            fprintf(f, "| %d | %d | %s | %s |\n", e[i].config, e[i].fold,
                    nn_status_name((nn_status)e[i].status), e[i].msg);
    fputc('\n', f);
}

void rpt_write_md(FILE *f, const rpt_ctx *x)
{
    int64_t failed = 0;
    for (int64_t i = 0; i < x->nc; i++)
        if (x->c[i].status != NN_STATUS_OK && x->c[i].status != RPT_STATUS_PARTIAL)
            failed++;
    md_head(f, x, failed);
    md_best(f, x);
    rpt_md_iterations(f, x);
    md_statistics(f, x);
    md_try_next(f, x);
    md_plots(f, x);
    md_refit(f, x);
    md_top(f, x);
    md_param_means(f, x);
    if (failed)
        md_failures(f, x);
    /* Timings and environment: the only part that changes from one `report DIR` to the next */
    rpt_md_env(f, x);
}
