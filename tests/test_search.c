/* test_search.c - the coordinator's rule for the best configuration so far (search.c)
 * is the reports' (rpt_best through results_best): the highest mean, ties to the cheaper
 * network, then to the lower index; a configuration counts once every fold is in and none
 * failed. And the halving policy (search_halving.c) driven by hand, deterministically:
 * iteration 0's queue, speculation on the leaders by partial mean while its last task runs,
 * a speculated candidate that is then not promoted (journaled, not counted), the queue of
 * the promoted candidates' tasks not yet handed out, the best and its refit. */
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

/* A result of task id (iteration x tasks + config x folds + fold) with score. */
static int h_result(search *s, jnl_record *r, int32_t id, double score)
{
    int32_t t = id % s->n_tasks;
    r->e.config = t / s->folds;
    r->e.fold = t % s->folds;
    r->e.status = NN_STATUS_OK;
    r->e.val_acc = (float)score;
    s->in_flight--;
    return search_halving_result(s, id, r);
}

/* Configuration c's score in iteration it: c = 1..8 have 0.5 + 0.03 c (+ 0.1 per
 * iteration); configuration 0 has 0.99 on fold 0 but 0.01 on fold 1 (mean 0.5). */
static double h_score(int it, int64_t c, int fold)
{
    if (c == 0)
        return fold == 0 ? 0.99 : 0.01;
    return 0.5 + 0.03 * (double)c + 0.1 * it;
}

static search *h_search(grid *g)
{
    static search s;
    memset(&s, 0, sizeof s);
    fg_err err;
    s.g = g;
    s.n_configs = grid_n_configs(g);
    s.folds = 2;
    s.n_tasks = (int)(s.n_configs * 2);
    s.halving = 1;
    s.n_workers = 4;
    CHECK_MSG(rungs_schedule(g, 600, 10, &s.hsch, &err) == 0, "%s", err.msg);
    CHECK(search_alloc(&s) == 0);
    s.family = calloc((size_t)s.n_configs, sizeof *s.family);
    for (int t = 0; t < s.n_tasks; t++)
        s.cost[t] = 1 + t % 3;
    CHECK(search_halving_queue(&s, &err) == 0);
    return &s;
}

static void test_halving_policy(void)
{
    static const char text[] =
        "name: h\nseed: 1\ncv: {folds: 2}\nsearch: {strategy: halving, factor: 3, resource: epochs}\n"
        "train: {optimizer: sgd, learning_rate: 0.1, epochs: 9}\n"
        "model:\n  - {type: flatten}\n  - {type: dense, units: $units, activation: relu}\n"
        "  - {type: dense, units: 10, activation: softmax}\ngrid:\n  units: [8, 9, 10, 11, 12, 13, 14, 15, 16]\n";
    grid *g = NULL;
    fg_err err;
    CHECK_MSG(grid_load_string(text, strlen(text), "h.yaml", &g, &err) == 0, "%s", err.msg);
    jnl_record *r = calloc(1, sizeof *r);
    if (!g || !r)
        return;
    search *s = h_search(g);
    int64_t refit;
    CHECK_INT(s->hsch.n_iterations, 3); /* 9 x 1 epoch, 3 x 3, 1 x 9 */
    CHECK_INT(search_halving_total(s), 26);
    int32_t ids[18];
    for (int i = 0; i < 18; i++) { /* iteration 0: its 18 tasks, each once */
        ids[i] = search_halving_next(s, &refit);
        CHECK(ids[i] >= 0 && ids[i] < 18);
    }
    for (int i = 0; i < 18; i++)
        if (ids[i] != 1) /* all in but configuration 0's fold 1 */
            CHECK_INT(h_result(s, r, ids[i], h_score(0, ids[i] / 2, ids[i] % 2)), 0);
    CHECK_INT(rungs_current(s->rg), 0);
    /* its last task runs: the leaders by partial mean are 0 (0.99), 8, 7; their iteration-1
     * tasks go out, best first, and nothing more */
    const int32_t spec[6] = {18 + 0, 18 + 1, 18 + 16, 18 + 17, 18 + 14, 18 + 15};
    for (int i = 0; i < 6; i++)
        CHECK_INT(search_halving_next(s, &refit), spec[i]);
    CHECK_INT(search_halving_next(s, &refit), -1);
    CHECK_INT(refit, -1);
    /* configuration 0's last fold sinks it: 6, 7, 8 are promoted, and only 6's tasks remain */
    CHECK_INT(h_result(s, r, 1, h_score(0, 0, 1)), 0);
    CHECK_INT(rungs_current(s->rg), 1);
    CHECK(!rungs_has(s->rg, 1, 0) && rungs_has(s->rg, 1, 6) && rungs_has(s->rg, 1, 8));
    CHECK_INT(dsp_left(s->queue), 2);
    CHECK_INT(s->done, 18);
    for (int i = 0; i < 6; i++) /* the speculative results: 0's journaled but not counted */
        CHECK_INT(h_result(s, r, spec[i], h_score(1, (spec[i] - 18) / 2, spec[i] % 2)), 0);
    CHECK_INT(s->done, 22);
    CHECK(!rungs_done(s->rg, 1, 0, 0) && rungs_done(s->rg, 1, 8, 1));
    for (int i = 0; i < 2; i++) {
        int32_t id = search_halving_next(s, &refit);
        CHECK(id == 18 + 12 || id == 18 + 13);
        CHECK_INT(h_result(s, r, id, h_score(1, 6, id % 2)), 0);
    }
    CHECK_INT(rungs_current(s->rg), 2); /* 8 goes on alone */
    for (int i = 0; i < 2; i++) {
        int32_t id = search_halving_next(s, &refit);
        CHECK(id == 36 + 16 || id == 36 + 17);
        CHECK_INT(h_result(s, r, id, h_score(2, 8, id % 2)), 0);
    }
    CHECK_INT(s->final_best, 8);
    CHECK_INT(rungs_best(s->rg), 8);
    CHECK_INT(s->done, 26);
    s->refit_in_sched = 1; /* every iteration complete: the best's refit, once */
    CHECK_INT(search_halving_next(s, &refit), -1);
    CHECK_INT(refit, 8);
    search_free(s);
    free(r);
    grid_free(g);
}

int main(void)
{
    test_best_so_far();
    test_halving_policy();
    return check_report("test_search");
}
