/* test_report_halving.c - the reports of a successive-halving search from hand-made journal
 * entries: 4 configurations x 2 folds, factor 2, 1, 2 and 4 epochs (4, 2 and 1 candidates).
 * The entries include a speculative result of a candidate that is then not promoted (left
 * out of every score), a speculative result of one that is (it counts once its promotion
 * is known), and a task recorded twice (the first record counts). Checked: which records
 * count, the rows per (configuration, iteration) with their iter and n_resources, the
 * ranks (later iterations first), the best (rungs_best), each iteration's work, and the
 * reading of an unfinished search, and the files rpt_write makes of them (cv_results.csv's columns and rows, report.md's Iterations
 * section, report.yaml's halving block), without gnuplot. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "grid.h"
#include "nn.h"
#include "report.h"
#include "report_halving.h"

#define NC 4
#define FOLDS 2

static const char yaml_text[] =
    "name: halving-test\n"
    "seed: 1\n"
    "cv:\n  folds: 2\n"
    "train:\n  optimizer: sgd\n  learning_rate: 0.1\n  epochs: 4\n"
    "model:\n"
    "  - {type: dense, units: $units, activation: relu}\n"
    "  - {type: dense, units: 10, activation: softmax}\n"
    "grid:\n  units: [16, 32]\n  batch_size: [32, 64]\n";

/* One CV record of a halving search: iteration it (resource 1 << it epochs). */
static jnl_entry rec(int it, int config, int fold, double score)
{
    jnl_entry e;
    memset(&e, 0, sizeof e);
    e.config = config;
    e.fold = fold;
    e.task = config * FOLDS + fold;
    e.status = NN_STATUS_OK;
    e.val_acc = (float)score;
    e.val_loss = 0.5f;
    e.test_acc = e.test_loss = NAN;
    e.fit_time = 1.0 + it;
    e.score_time = 0.25;
    e.epochs_run = 1 << it;
    e.n_train = 100;
    e.n_val = 50;
    e.n_params = 1000 * (config + 1);
    e.max_epochs = 4;
    e.iter = it;
    e.n_resources = 1 << it;
    e.session = -1;
    return e;
}

/* The journal in file order. Iteration 0: means 0.51, 0.81, 0.71, 0.60 (configurations
 * 1 and 2 go on); iteration 1: 0.86, 0.89 (2 goes on); iteration 2: 0.92. */
static int entries(jnl_entry *e)
{
    int n = 0;
    e[n++] = rec(0, 0, 0, 0.50), e[n++] = rec(0, 1, 0, 0.80), e[n++] = rec(0, 2, 0, 0.70);
    e[n++] = rec(0, 3, 0, 0.60);
    /* speculative, before iteration 0 ends: 3 (never promoted) and 1 (promoted) */
    e[n++] = rec(1, 3, 0, 0.99);
    e[n++] = rec(1, 1, 0, 0.85);
    e[n++] = rec(0, 0, 1, 0.52), e[n++] = rec(0, 1, 1, 0.82), e[n++] = rec(0, 2, 1, 0.72);
    e[n++] = rec(0, 3, 1, 0.60);
    e[n++] = rec(1, 1, 1, 0.87), e[n++] = rec(1, 2, 0, 0.88), e[n++] = rec(1, 2, 1, 0.90);
    e[n++] = rec(2, 2, 0, 0.91), e[n++] = rec(2, 2, 1, 0.93);
    e[n++] = rec(2, 2, 0, 0.10); /* recorded twice: the first counts */
    return n;
}

static grid *halving_grid(void)
{
    grid *g = NULL;
    fg_err e;
    if (grid_load_string(yaml_text, strlen(yaml_text), "h.yaml", &g, &e)) {
        fprintf(stderr, "grid: %s\n", e.msg);
        return NULL;
    }
    /* Until the search: section is parsed, the test sets it through a cast (as test_rungs). */
    grid_search *s = (grid_search *)grid_search_of(g);
    s->strategy = GRID_SEARCH_HALVING;
    s->given = 1;
    s->factor = 2;
    s->resource = HALV_EPOCHS;
    s->min_resources = 1;
    s->min_exhaust = 0;
    s->max_resources = 4;
    return g;
}

/* The row of (iteration it, configuration c), or -1. */
static int64_t row_of(const rpt_halving *hv, int it, int64_t c)
{
    for (int64_t k = 0; k < hv->n_rows; k++)
        if (hv->row_iter[k] == it && hv->row[k].config == c)
            return k;
    return -1;
}

static void test_read(const grid *g)
{
    jnl_entry e[32];
    int n = entries(e);
    jnl_header h;
    memset(&h, 0, sizeof h);
    rpt_halving hv;
    fg_err err;
    CHECK_MSG(rpt_halving_of(g, &h, 0, e, n, &hv, &err) == 0, "%s", err.msg);
    CHECK_INT(hv.n_iter, 3);
    CHECK(hv.complete);
    CHECK_INT(hv.best, 2);
    CHECK_INT(hv.n_rows, 7);
    CHECK_INT(hv.tasks_total, 14);
    CHECK_INT(hv.tasks_done, 14);
    CHECK_INT(hv.n_uncounted, 2); /* configuration 3's speculative result, the repeated task */
    CHECK(fabs(hv.uncounted_cpu_s - (2.25 + 3.25)) < 1e-9);
    CHECK(!hv.counts[4] && hv.counts[5] && !hv.counts[15]);
    int cand[3] = {4, 2, 1}, promoted[3] = {2, 1, -1};
    for (int it = 0; it < 3; it++) {
        CHECK_INT(hv.it[it].n_candidates, cand[it]);
        CHECK_INT(hv.it[it].n_resources, 1 << it);
        CHECK_INT(hv.it[it].n_promoted, promoted[it]);
        CHECK_INT(hv.it[it].tasks_done, cand[it] * FOLDS);
        CHECK(fabs(hv.it[it].cpu_s - cand[it] * FOLDS * (1.25 + it)) < 1e-9);
    }
    /* rank_test_score per row: iteration 2, then 1, then 0, each by mean */
    int want_rank[3][NC] = {{7, 4, 5, 6}, {-1, 3, 2, -1}, {-1, -1, 1, -1}};
    for (int it = 0; it < 3; it++)
        for (int c = 0; c < NC; c++) {
            int64_t k = row_of(&hv, it, c);
            CHECK_MSG((k >= 0) == (want_rank[it][c] > 0), "row (%d, %d)", it, c);
            if (k >= 0)
                CHECK_MSG(hv.row[k].rank == want_rank[it][c], "row (%d, %d) rank %d", it, c, hv.row[k].rank);
        }
    /* configuration 1's iteration 1: the speculative 0.85 counted with 0.87 */
    int64_t k = row_of(&hv, 1, 1);
    CHECK(k >= 0 && fabs(hv.row[k].mean - 0.86) < 1e-6 && fabs(hv.row_sp[k * FOLDS] - 0.85) < 1e-6);
    /* configuration 3's only row: iteration 0, its speculative 0.99 nowhere */
    k = row_of(&hv, 0, 3);
    CHECK(k >= 0 && fabs(hv.row[k].mean - 0.60) < 1e-6);
    k = row_of(&hv, 2, 2);
    CHECK(k >= 0 && fabs(hv.row[k].mean - 0.92) < 1e-6);
    int last[NC] = {0, 1, 2, 0};
    for (int c = 0; c < NC; c++)
        CHECK_INT(hv.last[c], last[c]);
    /* configuration-level order: 2 (iteration 2), 1 (iteration 1), then 3 and 0 */
    rpt_config c[NC];
    for (int i = 0; i < NC; i++)
        c[i] = hv.row[hv.last_row[i]];
    int64_t order[NC];
    rpt_halving_order(c, hv.last, NC, order);
    CHECK(order[0] == 2 && order[1] == 1 && order[2] == 3 && order[3] == 0);
    CHECK(c[2].rank == 1 && c[1].rank == 2 && c[3].rank == 3 && c[0].rank == 4);
    rpt_halving_free(&hv);
    rpt_halving_free(&hv); /* a zeroed one is a no-op */
}

/* Before iteration 2 has a result: not complete, no best yet; configuration 2 has a
 * partial row at iteration 2 but ranks by its last complete iteration, 1. */
static void test_partial(const grid *g)
{
    jnl_entry e[32];
    int n = entries(e) - 3; /* without iteration 2's records */
    jnl_header h;
    memset(&h, 0, sizeof h);
    rpt_halving hv;
    fg_err err;
    CHECK_MSG(rpt_halving_of(g, &h, 0, e, n, &hv, &err) == 0, "%s", err.msg);
    CHECK(!hv.complete);
    CHECK_INT(hv.best, -1);
    CHECK_INT(hv.n_rows, 7);
    CHECK_INT(hv.tasks_done, 12);
    CHECK_INT(hv.it[2].n_candidates, 1);
    CHECK_INT(hv.it[2].tasks_done, 0);
    int64_t k = row_of(&hv, 2, 2);
    CHECK(k >= 0 && hv.row[k].status == RPT_STATUS_PARTIAL && isnan(hv.row[k].mean));
    CHECK_INT(hv.last[2], 1);
    CHECK_INT(hv.last_row[2], row_of(&hv, 1, 2));
    rpt_halving_free(&hv);
}

/* The whole file at path (malloc'ed), or NULL. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *s = calloc(1, 1 << 20);
    if (s)
        fread(s, 1, (1 << 20) - 1, f);
    fclose(f);
    return s;
}

/* Column col (0-based) of the CSV line into out (a quoted field's commas are inside it). */
static void column(const char *line, int col, char *out, size_t n)
{
    size_t k = 0;
    int q = 0;
    for (int i = 0; *line && *line != '\n'; line++) {
        if (*line == '"')
            q = !q;
        else if (*line == ',' && !q)
            i++;
        else if (i == col && k + 1 < n)
            out[k++] = *line;
        if (i > col)
            break;
    }
    out[k] = '\0';
}

/* cv_results.csv of test_files: iter and n_resources first, rows by iteration then
 * configuration, later iterations ranked first. */
static void check_csv(const char *dir)
{
    char path[256];
    snprintf(path, sizeof path, "%s/cv_results.csv", dir);
    char *csv = slurp(path);
    CHECK(csv && !strncmp(csv, "iter,n_resources,mean_fit_time,std_fit_time,", 44));
    /* rows: iteration then configuration; iter, n_resources, rank_test_score, config */
    const char *want[7] = {"0,1,7,0", "0,1,4,1", "0,1,5,2", "0,1,6,3", "1,2,3,1", "1,2,2,2", "2,4,1,2"};
    int rank_col = -1, config_col = -1, nrow = 0;
    char cell[64];
    for (int i = 0; csv && i < 40; i++) {
        column(csv, i, cell, sizeof cell);
        rank_col = !strcmp(cell, "rank_test_score") ? i : rank_col;
        config_col = !strcmp(cell, "config") ? i : config_col;
    }
    CHECK(rank_col > 0 && config_col > 0);
    for (const char *l = csv ? strchr(csv, '\n') : NULL; l && l[1] && nrow < 8; l = strchr(l + 1, '\n'), nrow++) {
        char a[16], b[16], r[16], c[16], got[80];
        column(l + 1, 0, a, sizeof a), column(l + 1, 1, b, sizeof b);
        column(l + 1, rank_col, r, sizeof r), column(l + 1, config_col, c, sizeof c);
        snprintf(got, sizeof got, "%s,%s,%s,%s", a, b, r, c);
        CHECK_MSG(nrow < 7 && !strcmp(got, want[nrow]), "row %d: %s", nrow, got);
    }
    CHECK_INT(nrow, 7);
    free(csv);
}

/* report.md's Iterations section, report.yaml's halving block, the resource figure's data. */
static void check_md_yaml(const char *dir)
{
    char path[256];
    snprintf(path, sizeof path, "%s/report.md", dir);
    char *md = slurp(path);
    CHECK(md && strstr(md, "## Iterations\n"));
    CHECK(md && strstr(md, "| 0 | 4 | 1 | 8 / 8 | 10.0 s | 2 |"));
    CHECK(md && strstr(md, "| 2 | 1 | 4 | 2 / 2 | 6.5 s | – (last) |"));
    CHECK(md && strstr(md, "**Work that did not count**: 2 task results (5.5 s CPU)"));
    CHECK(md && strstr(md, "Configuration 2: mean cross-validated accuracy **0.9200"));
    CHECK(md && strstr(md, "only the candidates of iteration 2"));
    free(md);
    snprintf(path, sizeof path, "%s/report.yaml", dir);
    char *y = slurp(path);
    CHECK(y && strstr(y, "\nhalving:\n  factor: 2\n  resource: epochs\n"));
    CHECK(y && strstr(y, "- iter: 1\n    n_candidates: 2\n    n_resources: 2\n"));
    CHECK(y && strstr(y, "\nbest:\n  config: 2\n"));
    CHECK(y && strstr(y, "  rank: 1\n  iter: 2\n  n_resources: 4\n"));
    free(y);
    snprintf(path, sizeof path, "%s/plots/resource.csv", dir);
    char *pc = slurp(path);
    CHECK(pc && strstr(pc, "config,iter,n_resources,mean_test_score,best\n"));
    /* one line per candidate (a blank line between them), the best's points marked */
    CHECK(pc && strstr(pc, "\n\n2,0,1,0.71") && strstr(pc, "\n2,1,2,0.8") && strstr(pc, "\n2,2,4,0.92"));
    int best_pts = 0, lines = 0;
    for (const char *l = pc ? strchr(pc, '\n') : NULL; l && l[1]; l = strchr(l + 1, '\n')) {
        if (l[1] == '\n')
            continue;
        char cfg[8], flag[8];
        column(l + 1, 0, cfg, sizeof cfg), column(l + 1, 4, flag, sizeof flag);
        CHECK_MSG(!strcmp(flag, !strcmp(cfg, "2") ? "1" : "0"), "resource.csv: config %s best %s", cfg, flag);
        best_pts += !strcmp(flag, "1");
        lines++;
    }
    CHECK_INT(lines, 7);
    CHECK_INT(best_pts, 3);
    free(pc);
}

static void test_files(const grid *g)
{
    char dir[] = "/tmp/test_report_halving.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    setenv("FG_GNUPLOT", "/nonexistent/gnuplot", 1); /* the report is complete without it */
    jnl_entry e[32];
    int n = entries(e);
    jnl_header h;
    memset(&h, 0, sizeof h);
    fg_err err;
    CHECK_MSG(rpt_write(dir, g, &h, e, n, NULL, NULL, &err) == 0, "%s", err.msg);
    check_csv(dir);
    check_md_yaml(dir);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

int main(void)
{
    grid *g = halving_grid();
    CHECK(g != NULL);
    if (g) {
        test_read(g);
        test_partial(g);
        test_files(g);
    }
    grid_free(g);
    return check_report("test_report_halving");
}
