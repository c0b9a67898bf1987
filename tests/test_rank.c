/* test_rank.c - ranking on hand-made inputs: the one tie rule of rpt_best (the highest
 * mean, then the lowest cost with an unknown cost last, then the lowest index), the order
 * rpt_order gives, aggregation of fold records (the first record of a task wins, a failed
 * or missing fold leaves no mean, the cost comes from the records), the one-standard-error
 * choice, and fg_sort, which the order is built on. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fg_sort.h"
#include "rank.h"

/* A configuration with only what the tie rule reads. */
static rpt_config cfg(int64_t i, double mean, double cost)
{
    rpt_config c;
    memset(&c, 0, sizeof c);
    c.config = i;
    c.mean = mean;
    c.cost = cost;
    c.n_params = -1;
    return c;
}

static void test_best_tie_rule(void)
{
    /* The highest mean wins whatever its cost and index. */
    rpt_config a[3] = {cfg(0, 0.80, 10), cfg(1, 0.90, 1e9), cfg(2, 0.85, 1)};
    CHECK_INT(rpt_best(a, 3), 1);
    /* Equal means: the lower cost, even at a higher index. */
    rpt_config b[3] = {cfg(0, 0.90, 200), cfg(1, 0.90, 100), cfg(2, 0.80, 1)};
    CHECK_INT(rpt_best(b, 3), 1);
    /* Equal means and costs: the lower index. */
    rpt_config c[3] = {cfg(0, 0.70, 5), cfg(1, 0.90, 100), cfg(2, 0.90, 100)};
    CHECK_INT(rpt_best(c, 3), 1);
    /* An unknown cost loses to a known one, at any index. */
    rpt_config d[2] = {cfg(0, 0.90, NAN), cfg(1, 0.90, 1e12)};
    CHECK_INT(rpt_best(d, 2), 1);
    /* Both unknown: the lower index. */
    rpt_config e[2] = {cfg(0, 0.90, NAN), cfg(1, 0.90, NAN)};
    CHECK_INT(rpt_best(e, 2), 0);
    /* A NaN mean is never best; none scored gives -1. */
    rpt_config f[2] = {cfg(0, NAN, 1), cfg(1, 0.10, 1e9)};
    CHECK_INT(rpt_best(f, 2), 1);
    rpt_config g[2] = {cfg(0, NAN, 1), cfg(1, NAN, 2)};
    CHECK_INT(rpt_best(g, 2), -1);
    CHECK_INT(rpt_best(g, 0), -1);
    CHECK(rpt_ranks_before(&b[1], &b[0]) && !rpt_ranks_before(&b[0], &b[1]));
    CHECK(!rpt_ranks_before(&c[1], &c[1])); /* strict */
}

static void test_order(void)
{
    /* mean 0.9 x3 (costs 100, NaN, 50), 0.95, NaN x2, 0.9 cost 50 again (index 7) */
    rpt_config c[8] = {cfg(0, 0.90, 100), cfg(1, 0.90, NAN), cfg(2, 0.90, 50), cfg(3, 0.95, 1e6),
                       cfg(4, NAN, 1), cfg(5, 0.10, 1), cfg(6, NAN, NAN), cfg(7, 0.90, 50)};
    int64_t order[8];
    rpt_order(c, 8, order);
    const int64_t want[8] = {3, 2, 7, 0, 1, 5, 4, 6};
    for (int i = 0; i < 8; i++)
        CHECK_INT(order[i], want[i]);
    CHECK_INT(order[0], rpt_best(c, 8)); /* the order starts with the best */
}

/* A CV record of (config, fold) with score acc, or failed when acc is NaN. */
static jnl_entry rec(int config, int fold, double acc, int64_t n_params, int epochs)
{
    jnl_entry e;
    memset(&e, 0, sizeof e);
    e.config = config;
    e.fold = fold;
    e.status = isnan(acc) ? NN_STATUS_DIVERGED : NN_STATUS_OK;
    e.val_acc = (float)acc;
    e.fit_time = 1;
    e.n_params = n_params;
    e.max_epochs = epochs;
    return e;
}

static void test_aggregate(void)
{
    /* 4 configurations x 2 folds. Config 0: 0.5, 0.75 (then a later 0.0 for fold 0, which
     * must not count). Config 1: 0.75, 0.5, cheaper per its records. Config 2: fold 1
     * diverged. Config 3: fold 1 missing. Config 1's first record lacks the cost (an old
     * record); its second carries it. */
    jnl_entry e[9] = {rec(0, 0, 0.5, 1000, 10), rec(0, 1, 0.75, 1000, 10), rec(0, 0, 0.0, 1000, 10),
                      rec(1, 0, 0.75, -1, 0),   rec(1, 1, 0.5, 300, 10),   rec(2, 0, 0.9, 10, 1),
                      rec(2, 1, NAN, 10, 1),    rec(3, 0, 1.0, 10, 1),     rec(-5, 0, 1.0, 1, 1)};
    rpt_config *c = NULL;
    double *sp = NULL;
    fg_err err;
    CHECK(rpt_aggregate(e, 9, 4, 2, &c, &sp, &err) == 0);
    if (!c)
        return;
    CHECK_NEAR(c[0].mean, 0.625, 1e-12);
    CHECK_NEAR(c[0].std, 0.125, 1e-12);
    CHECK_NEAR(sp[0], 0.5, 1e-12); /* the first record of (0, 0) */
    CHECK_NEAR(c[1].mean, 0.625, 1e-12);
    CHECK_INT(c[0].n_params, 1000);
    CHECK_INT(c[0].epochs, 10);
    CHECK_NEAR(c[0].cost, 10000, 1e-12);
    CHECK_INT(c[1].n_params, 300);
    CHECK_NEAR(c[1].cost, 3000, 1e-12);
    CHECK(isnan(c[2].mean));
    CHECK_INT(c[2].status, NN_STATUS_DIVERGED);
    CHECK_INT(c[2].failed_fold, 1);
    CHECK(isnan(c[3].mean));
    CHECK_INT(c[3].status, RPT_STATUS_PARTIAL);
    CHECK_INT(c[3].n_done, 1);
    /* ranks: 0 and 1 tie (rank 1), NaN ranks after every number */
    CHECK_INT(c[0].rank, 1);
    CHECK_INT(c[1].rank, 1);
    CHECK_INT(c[2].rank, 3);
    CHECK_INT(c[3].rank, 3);
    /* the tie in the mean goes to config 1, the cheaper network by its records */
    CHECK_INT(rpt_best(c, 4), 1);
    /* one-standard-error choice: with two folds both are not separated from the best; the
     * cheapest of them is config 1 again */
    CHECK_INT(rpt_compare(c, sp, 4, 2, 1.0), 1);
    CHECK(c[0].indistinguishable && c[1].indistinguishable && !c[2].indistinguishable);
    free(c);
    free(sp);
}

static int by_key(const void *a, const void *b, void *ctx)
{
    const int *key = ctx;
    return key[*(const int *)a] - key[*(const int *)b];
}

static void test_sort(void)
{
    /* stable, with its context: equal keys keep their order */
    int key[40], ix[40];
    for (int i = 0; i < 40; i++)
        key[i] = (i * 7) % 5, ix[i] = i;
    fg_sort(ix, 40, sizeof ix[0], by_key, key);
    for (int i = 1; i < 40; i++)
        CHECK(key[ix[i - 1]] < key[ix[i]] || (key[ix[i - 1]] == key[ix[i]] && ix[i - 1] < ix[i]));
}

int main(void)
{
    test_best_tie_rule();
    test_order();
    test_aggregate();
    test_sort();
    return check_report("test_rank");
}
