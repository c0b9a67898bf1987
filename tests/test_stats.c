/* test_stats.c - the statistics of the report against values worked out by hand: the t
 * distribution against closed forms and t-table values, the corrected resampled t-test,
 * and ranking, standard errors, p-values and the one-standard-error choice for a small
 * journal written here (ties, a diverged configuration). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "grid.h"
#include "journal.h"
#include "report.h"
#include "stats.h"

static void test_descriptive(void)
{
    const double v[4] = {1, 2, 3, 4};
    CHECK_NEAR(st_mean(v, 4), 2.5, 1e-15);
    /* squares of deviations 2.25 + 0.25 + 0.25 + 2.25 = 5 */
    CHECK_NEAR(st_std(v, 4, 0), sqrt(5.0 / 4), 1e-15);
    CHECK_NEAR(st_std(v, 4, 1), sqrt(5.0 / 3), 1e-15);
    CHECK_NEAR(st_sem(v, 4), sqrt(5.0 / 3) / 2, 1e-15);
    CHECK(isnan(st_sem(v, 1)));
    CHECK(isnan(st_mean(v, 0)));
    const double w[2] = {1, NAN};
    CHECK(isnan(st_mean(w, 2)));
    CHECK(isnan(st_std(w, 2, 1)));
}

static void test_distribution(void)
{
    /* I_x(1, 1) = x; I_x(2, 3) = sum_{j=2..4} C(4,j) x^j (1-x)^(4-j):
     * at x = 0.4: 6*0.16*0.36 + 4*0.064*0.6 + 0.0256 = 0.3456 + 0.1536 + 0.0256 = 0.5248 */
    CHECK_NEAR(st_betai(1, 1, 0.3), 0.3, 1e-12);
    CHECK_NEAR(st_betai(2, 3, 0.4), 0.5248, 1e-12);
    CHECK_NEAR(st_betai(3, 2, 0.6), 1 - 0.5248, 1e-12); /* symmetry */
    CHECK(isnan(st_betai(0, 1, 0.5)));
    CHECK(isnan(st_betai(1, 1, 1.5)));
    /* df = 1 is the Cauchy distribution: P(|T| > 1) = 1/2 */
    CHECK_NEAR(st_t_pvalue(1, 1), 0.5, 1e-12);
    /* df = 2: P(|T| > t) = 1 - t / sqrt(2 + t^2); t = 1: 1 - 1/sqrt(3) = 0.42264973 */
    CHECK_NEAR(st_t_pvalue(1, 2), 1 - 1 / sqrt(3.0), 1e-12);
    CHECK_NEAR(st_t_pvalue(-1, 2), 1 - 1 / sqrt(3.0), 1e-12);
    /* t-table, two-sided 5 %: t(0.975; 2) = 4.302653, t(0.975; 4) = 2.776445,
     * t(0.975; 10) = 2.228139; two-sided 1 %: t(0.995; 9) = 3.249836 */
    CHECK_NEAR(st_t_pvalue(4.302653, 2), 0.05, 1e-4);
    CHECK_NEAR(st_t_pvalue(2.776445, 4), 0.05, 1e-4);
    CHECK_NEAR(st_t_pvalue(2.228139, 10), 0.05, 1e-4);
    CHECK_NEAR(st_t_pvalue(3.249836, 9), 0.01, 1e-4);
    CHECK_NEAR(st_t_pvalue(0, 5), 1.0, 1e-12);
    CHECK(st_t_pvalue(INFINITY, 3) == 0);
    CHECK(isnan(st_t_pvalue(NAN, 3)));
    CHECK(isnan(st_t_pvalue(1, 0)));
}

static void test_corrected_ttest(void)
{
    /* a = 0.80 0.82 0.84, b = 0.78 0.80 0.79: d = 0.02 0.02 0.05, mean 0.03, deviations
     * -0.01 -0.01 0.02, var (ddof 1) = 0.0006 / 2 = 0.0003; with n_test/n_train = 1/2 (3
     * folds): t = 0.03 / sqrt((1/3 + 1/2) * 0.0003) = 0.03 / sqrt(0.00025), t^2 = 3.6;
     * df = 2: p = 1 - sqrt(3.6 / 5.6) = 0.19821627. (The uncorrected paired t-test would
     * give t = 0.03 / sqrt(0.0003 / 3) = 3, p = 1 - 3 / sqrt(11) = 0.0954.) */
    const double a[3] = {0.80, 0.82, 0.84}, b[3] = {0.78, 0.80, 0.79};
    double t;
    double p = st_corrected_ttest(a, b, 3, 0.5, &t);
    CHECK_NEAR(t, sqrt(3.6), 1e-9);
    CHECK_NEAR(p, 1 - sqrt(3.6 / 5.6), 1e-9);
    CHECK_NEAR(p, 0.19821627, 1e-8);
    p = st_corrected_ttest(b, a, 3, 0.5, &t); /* two-sided: the same p, t negated */
    CHECK_NEAR(t, -sqrt(3.6), 1e-9);
    CHECK_NEAR(p, 0.19821627, 1e-8);
    /* identical scores: p = 1; the same non-zero difference on every fold: p = 0 */
    CHECK(st_corrected_ttest(a, a, 3, 0.5, &t) == 1 && t == 0);
    const double c[3] = {0.75, 0.625, 0.5}, d[3] = {0.5, 0.375, 0.25};
    CHECK(st_corrected_ttest(c, d, 3, 0.5, &t) == 0 && isinf(t) && t > 0);
    /* NaN scores, a single fold, no ratio: NaN */
    const double e[3] = {0.8, NAN, 0.8};
    CHECK(isnan(st_corrected_ttest(a, e, 3, 0.5, &t)) && isnan(t));
    CHECK(isnan(st_corrected_ttest(a, b, 1, 0.5, NULL)));
    CHECK(isnan(st_corrected_ttest(a, b, 3, 0, NULL)));
}

static char *slurp_dir(const char *dir, const char *name)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = calloc(1, 1 << 20);
    if (buf)
        fread(buf, 1, (1 << 20) - 1, f);
    fclose(f);
    return buf;
}

/* A search of 6 configurations x 3 folds written to a real journal and read back. Scores
 * are multiples of 1/16 so that every sum is exact. */
static void test_report_statistics(const char *dir)
{
    static const char grid_text[] =
        "name: stats\nseed: 1\ncv:\n  folds: 3\ntrain:\n  optimizer: sgd\n  learning_rate: 0.1\n"
        "  epochs: 4\nmodel:\n  - {type: dense, units: $units, activation: relu}\n"
        "  - {type: dense, units: 10, activation: softmax}\ngrid:\n  units: [32, 16, 64, 8, 128, 4]\n";
    grid *g = NULL;
    fg_err err;
    CHECK(grid_load_string(grid_text, strlen(grid_text), "stats.yaml", &g, &err) == 0);
    if (!g) {
        fprintf(stderr, "%s\n", err.msg);
        return;
    }
    CHECK_INT(grid_n_configs(g), 6);
    const double score[6][3] = {
        {0.75, 0.8125, 0.875},   /* 0: units 32, mean 0.8125 */
        {0.875, 0.8125, 0.75},   /* 1: units 16, mean 0.8125: ties with 0, cheaper: the best */
        {0.875, NAN, 0.875},     /* 2: units 64, fold 1 diverged: NaN */
        {0.6875, 0.75, 0.8125},  /* 3: units 8, mean 0.75 */
        {0.5, 0.5625, 0.5},      /* 4: units 128, mean 0.5208333 */
        {0.75, 0.6875, 0.625},   /* 5: units 4, mean 0.6875, 0.125 behind the best on every fold */
    };
    char path[512];
    snprintf(path, sizeof path, "%s/journal.jsonl", dir);
    jnl_header h;
    memset(&h, 0, sizeof h);
    snprintf(h.grid_name, sizeof h.grid_name, "stats");
    h.n_configs = 6;
    h.folds = 3;
    jnl *j = NULL;
    CHECK(jnl_create(path, &h, &j, &err) == 0);
    jnl_record *r = calloc(1, sizeof *r);
    for (int c = 0; c < 6 && j && r; c++)
        for (int f = 0; f < 3; f++) {
            memset(r, 0, sizeof *r);
            r->e.task = c * 3 + f;
            r->e.config = c;
            r->e.fold = f;
            r->e.status = isnan(score[c][f]) ? NN_STATUS_DIVERGED : NN_STATUS_OK;
            r->e.val_acc = (float)score[c][f];
            r->e.val_loss = 0.5f;
            r->e.test_acc = r->e.test_loss = NAN;
            r->e.n_train = 800; /* n_test / n_train = 400 / 800 = 1/2 */
            r->e.n_val = 400;
            r->e.fit_time = 1 + c;
            r->e.best_epoch = -1; /* no epochs run: no best one (the reader checks) */
            CHECK(jnl_append(j, r, NULL, &err) == 0);
        }
    /* A refit record with a confusion matrix survives the round trip. */
    memset(r, 0, sizeof *r);
    r->e.task = -1;
    r->e.config = 1;
    r->e.fold = JNL_REFIT;
    r->e.best_epoch = -1;
    r->e.test_acc = 0.75f;
    enum { NC = 10 }; /* Fashion-MNIST's classes: the refit's confusion is NC x NC */
    r->e.classes = NC;
    for (int k = 0; k < NC; k++)
        r->confusion[k * NC + k] = 75, r->confusion[k * NC + (k + 1) % NC] = 25;
    CHECK(jnl_append(j, r, NULL, &err) == 0);
    jnl_close(j);
    free(r);

    jnl_entry *e = NULL;
    int n = 0, bad = 0;
    CHECK(jnl_read(path, &h, &e, &n, &bad, &err) == 0);
    CHECK_INT(n, 19);
    CHECK_INT(e[18].classes, NC);
    CHECK_INT(e[18].confusion[3 * NC + 3], 75);
    CHECK_INT(e[18].confusion[9 * NC + 0], 25);
    CHECK(e[17].confusion == NULL); /* CV records have none */
    rpt_config *c = NULL;
    double *sp = NULL;
    CHECK(rpt_aggregate(e, n, 6, 3, &c, &sp, &err) == 0);
    if (!c) {
        free(e);
        grid_free(g);
        return;
    }
    /* scikit-learn's ranks: ties share the lowest rank, NaN last */
    const int want_rank[6] = {1, 1, 6, 3, 5, 4};
    for (int i = 0; i < 6; i++)
        CHECK_INT(c[i].rank, want_rank[i]);
    /* Without costs the tie goes to the lower index; with them to the cheaper network:
     * parameters = 784 u + u + 10 u + 10 = 795 u + 10, times 4 epochs. */
    CHECK_INT(rpt_best(c, 6), 0);
    rpt_costs(g, c, 6);
    CHECK_INT(c[1].n_params, 795 * 16 + 10);
    CHECK_INT(c[1].epochs, 4);
    CHECK_NEAR(c[1].cost, (795.0 * 16 + 10) * 4, 1e-9);
    CHECK_NEAR(c[3].cost, (795.0 * 8 + 10) * 4, 1e-9);
    CHECK_INT(rpt_best(c, 6), 1);
    /* standard errors: config 3's scores deviate by -0.0625, 0, 0.0625 from 0.75: sample
     * std 0.0625, SE 0.0625 / sqrt(3) = 0.036084392 */
    CHECK_NEAR(c[3].sem, 0.0625 / sqrt(3.0), 1e-12);
    CHECK_NEAR(c[3].std, 0.0625 * sqrt(2.0 / 3), 1e-12); /* population std, as scikit-learn */
    CHECK(isnan(c[2].sem));
    double ratio = rpt_test_train_ratio(e, n, 3);
    CHECK_NEAR(ratio, 0.5, 1e-15);
    int64_t pick = rpt_compare(c, sp, 6, 3, ratio);
    /* config 0 vs the best (1): d = 0.125, 0, -0.125: mean 0, t = 0, p = 1 */
    CHECK_NEAR(c[0].p_vs_best, 1.0, 1e-12);
    CHECK_NEAR(c[0].t_vs_best, 0.0, 1e-12);
    /* config 3: d = 0.1875, 0.0625, -0.0625: mean 0.0625, var = (0.125^2 + 0 + 0.125^2)/2
     * = 0.015625; t^2 = 0.0625^2 / ((1/3 + 1/2) * 0.015625) = 0.3; p = 1 - sqrt(0.3/2.3)
     * = 0.63884236 */
    CHECK_NEAR(c[3].t_vs_best, sqrt(0.3), 1e-9);
    CHECK_NEAR(c[3].p_vs_best, 1 - sqrt(0.3 / 2.3), 1e-9);
    /* config 4: d = 0.375, 0.25, 0.25: mean 0.2916667, var = (0.0833^2 + 2 * 0.041667^2)/2
     * = 0.0052083; t^2 = 0.2916667^2 / (5/6 * 0.0052083) = 19.6; p = 1 - sqrt(19.6/21.6)
     * = 0.04742065: just below 0.05, separated from the best */
    CHECK_NEAR(c[4].t_vs_best * c[4].t_vs_best, 19.6, 1e-9);
    CHECK_NEAR(c[4].p_vs_best, 1 - sqrt(19.6 / 21.6), 1e-9);
    /* config 5: the same difference 0.125 on every fold: variance 0, p = 0 */
    CHECK(c[5].p_vs_best == 0);
    CHECK(isnan(c[2].p_vs_best)); /* NaN: never indistinguishable */
    const int want_ind[6] = {1, 1, 0, 1, 0, 0};
    for (int i = 0; i < 6; i++)
        CHECK_INT(c[i].indistinguishable, want_ind[i]);
    /* the one-standard-error choice: the cheapest of {0, 1, 3} is 3 (8 units) */
    CHECK_INT(pick, 3);

    /* The report files say the same (plots off: no gnuplot, so no figures to wait for). */
    setenv("FG_GNUPLOT", "/nonexistent/gnuplot", 1);
    CHECK(rpt_write(dir, g, &h, e, n, NULL, path, &err) == 0);
    char *md = slurp_dir(dir, "report.md"), *csv = slurp_dir(dir, "cv_results.csv");
    char *yml = slurp_dir(dir, "report.yaml");
    CHECK(md && csv && yml);
    if (md && csv && yml) {
        CHECK_STR_CONTAINS(md, "Configuration 1: mean cross-validated accuracy **0.8125 ± 0.0361**");
        CHECK_STR_CONTAINS(md, "Configuration 0 has the same mean score; the tie goes to the cheapest network");
        CHECK_STR_CONTAINS(md, "**Not separated from the best** (p ≥ 0.05): 3 configurations.");
        CHECK_STR_CONTAINS(md, "| 3 | 0.7500 ± 0.0361 | 0.6388 | 6370 × 4 | units=8 |");
        CHECK_STR_CONTAINS(md, "**One-standard-error choice**: configuration 3 (units=8)");
        /* the best's 16 units lie inside the grid's 4..128: nothing to extend */
        CHECK_STR_CONTAINS(md, "no edge to extend");
        CHECK_STR_CONTAINS(md, "plots not drawn: gnuplot not found (install gnuplot-nox)");
        CHECK_STR_CONTAINS(md, "| Ankle boot | 25 |"); /* the refit's confusion row 9: 25 predicted as 0 */
        /* cv_results.csv rows end: ...,config,SE,p,indistinguishable,n_params,epochs,cost */
        CHECK_STR_CONTAINS(csv, ",3,0.036084391824351615,0.638842,true,6370,4,25480\n");
        CHECK_STR_CONTAINS(csv, ",4,0.020833333333333332,0.0474207,false,101770,4,407080\n");
        CHECK_STR_CONTAINS(csv, ",2,,,false,50890,4,203560\n"); /* the diverged one: NaN is empty */
        CHECK_STR_CONTAINS(yml, "one_se_choice: 3");
        CHECK_STR_CONTAINS(yml, "indistinguishable_from_best: [0, 1, 3]");
    }
    free(md);
    free(csv);
    free(yml);
    const char *const made[] = {"report.md", "report.html", "report.yaml", "cv_results.csv", "plots/params.csv",
                                "plots/params_best.csv", "plots/curves.csv", "plots/confusion.csv",
                                "plots/cost.csv", "plots/plots.gp", "plots"};
    for (size_t i = 0; i < sizeof made / sizeof made[0]; i++) {
        char q[600];
        snprintf(q, sizeof q, "%s/%s", dir, made[i]);
        remove(q);
    }
    free(c);
    free(sp);
    free(e);
    unlink(path);
    grid_free(g);
}

int main(void)
{
    test_descriptive();
    test_distribution();
    test_corrected_ttest();
    char tmpl[] = "/tmp/fg-stats-XXXXXX";
    char *dir = mkdtemp(tmpl);
    CHECK(dir != NULL);
    if (dir) {
        test_report_statistics(dir);
        rmdir(dir);
    }
    return check_report("test_stats");
}
