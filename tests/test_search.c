/* test_search.c - the coordinator's rule for the best configuration so far (search.c)
 * is the reports' (rpt_best through results_best): the highest mean, ties to the cheaper
 * network, then to the lower index; a configuration counts once every fold is in and none
 * failed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "grid.h"
#include "journal.h"
#include "results.h"
#include "search.h"

/* Configuration c's folds as fold results: every score in s's sums and as journal entries. */
static void add_folds(search *s, jnl_entry *e, int *n, int64_t c, const double *score, int folds)
{
    for (int f = 0; f < folds; f++) {
        jnl_entry *x = &e[(*n)++];
        memset(x, 0, sizeof *x);
        x->config = (int32_t)c;
        x->fold = f;
        x->session = -1;
        x->status = isnan(score[f]) ? NN_STATUS_DIVERGED : NN_STATUS_OK;
        x->val_acc = (float)score[f];
        if (x->status == NN_STATUS_OK) {
            s->sum[c] += x->val_acc;
            s->cnt[c]++;
        } else {
            s->bad[c]++;
        }
    }
}

static void test_best_so_far(void)
{
    /* units 32, 16, 64, 8: parameters 795 u + 10, so config 1 is cheaper than config 0 */
    static const char grid_text[] =
        "name: best\nseed: 1\ncv:\n  folds: 3\ntrain:\n  optimizer: sgd\n  learning_rate: 0.1\n"
        "  epochs: 4\nmodel:\n  - {type: dense, units: $units, activation: relu}\n"
        "  - {type: dense, units: 10, activation: softmax}\ngrid:\n  units: [32, 16, 64, 8]\n";
    grid *g = NULL;
    fg_err err;
    CHECK(grid_load_string(grid_text, strlen(grid_text), "best.yaml", &g, &err) == 0);
    if (!g)
        return;
    search s;
    memset(&s, 0, sizeof s);
    s.g = g;
    s.n_configs = grid_n_configs(g);
    s.folds = 3;
    s.n_tasks = (int)(s.n_configs * 3);
    CHECK(search_alloc(&s) == 0);
    CHECK_INT(s.best_config, -1);
    jnl_entry e[12];
    int n = 0;
    const double s0[3] = {0.75, 0.8125, 0.875}, s1[3] = {0.875, 0.8125, 0.75};
    const double s2[3] = {0.875, NAN, 0.875}, s3[3] = {0.6875, 0.75, 0.8125};
    add_folds(&s, e, &n, 0, s0, 3);
    search_tally(&s, 0);
    CHECK_INT(s.best_config, 0);
    CHECK(s.best_mean == 0.8125);
    /* config 1 ties config 0 in the mean: the cheaper network leads, not the lower index */
    add_folds(&s, e, &n, 1, s1, 3);
    search_tally(&s, 1);
    CHECK_INT(s.best_config, 1);
    CHECK_INT(results_best(g, e, n), 1);
    /* a failed fold: never counted (the caller tallies complete configurations only) */
    add_folds(&s, e, &n, 2, s2, 3);
    add_folds(&s, e, &n, 3, s3, 3);
    search_tally(&s, 3);
    CHECK_INT(s.best_config, 1);
    CHECK_INT(results_best(g, e, n), 1);
    /* after a resume every complete configuration is tallied at once: the same best */
    for (int64_t i = 0; i < s.n_configs; i++)
        s.rank_cfg[i].mean = NAN;
    s.best_config = -1;
    search_tally(&s, -1);
    CHECK_INT(s.best_config, 1);
    CHECK(s.best_mean == 0.8125);
    search_free(&s);
    grid_free(g);
}

int main(void)
{
    test_best_so_far();
    return check_report("test_search");
}
