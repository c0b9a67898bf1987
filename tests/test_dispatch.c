/* test_dispatch.c - the dispatch queue: longest expected first by cost, corrected by
 * measured times (per configuration, then per architecture family, then overall), every
 * pending task exactly once, bad input refused; and the simulation's makespans on cases
 * worked out by hand. */
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "dispatch.h"

/* Three configurations x 2 folds: X (cost 10, family 0), Y (cost 8, family 1), Z (cost 9,
 * family 0). Task t belongs to configuration t / 2. */
static const double cost6[6] = {10, 10, 8, 8, 9, 9};
static const int32_t group6[6] = {0, 0, 1, 1, 2, 2};
static const int32_t family3[3] = {0, 1, 0};

static void test_cost_order(void)
{
    int32_t pending[6] = {5, 4, 3, 2, 1, 0};
    fg_err err;
    dsp_queue *q = dsp_new(6, cost6, group6, 3, family3, pending, 6, &err);
    CHECK(q != NULL);
    if (!q)
        return;
    /* Nothing measured: by cost, ties to the lower id: 0 1 (X) 4 5 (Z) 2 3 (Y). The work
     * left is the pending cost: 54, then 44 and 34 after X's folds. */
    CHECK_NEAR(dsp_work_left(q), 54.0, 1e-12);
    const int32_t want[6] = {0, 1, 4, 5, 2, 3};
    for (int i = 0; i < 6; i++) {
        CHECK_INT(dsp_next(q), want[i]);
        if (i == 1)
            CHECK_NEAR(dsp_work_left(q), 34.0, 1e-12);
    }
    CHECK_NEAR(dsp_work_left(q), 0.0, 1e-12);
    CHECK_INT(dsp_next(q), -1);
    CHECK_INT(dsp_left(q), 0);
    dsp_free(q);
}

static void test_correction(void)
{
    int32_t pending[6] = {0, 1, 2, 3, 4, 5};
    fg_err err;
    dsp_queue *q = dsp_new(6, cost6, group6, 3, family3, pending, 6, &err);
    CHECK(q != NULL);
    if (!q)
        return;
    CHECK_INT(dsp_next(q), 0); /* X fold 0 */
    CHECK_INT(dsp_next(q), 1); /* X fold 1 */
    CHECK_INT(dsp_next(q), 4); /* Z fold 0 (cost 9 > 8) */
    /* X took 1 s: family 0 costs 0.1 s per unit; Y (family 1, unmeasured) uses the overall
     * rate, also 0.1: Z 0.9 s > Y 0.8 s. */
    dsp_observe(q, 0, 1.0);
    CHECK_NEAR(dsp_expected(q, 5), 0.9, 1e-12);
    CHECK_NEAR(dsp_work_left(q), (9 + 8 + 8) * 0.1, 1e-12); /* tasks 5, 2, 3 at 0.1 s/unit */
    CHECK_NEAR(dsp_expected(q, 2), 0.8, 1e-12);
    CHECK_NEAR(dsp_expected(q, 1), 1.0, 1e-12); /* X's own mean */
    /* Y's first fold took 5 s (it was handed out from another queue in this test's story;
     * observing is what counts): Y's other fold is now expected at 5 s, more than Z's. */
    dsp_observe(q, 2, 5.0);
    CHECK_NEAR(dsp_expected(q, 3), 5.0, 1e-12);
    CHECK_INT(dsp_next(q), 2); /* the measurement reordered Y before Z */
    CHECK_INT(dsp_next(q), 3);
    CHECK_INT(dsp_next(q), 5);
    CHECK_INT(dsp_next(q), -1);
    /* Bad measurements are ignored. */
    dsp_observe(q, 5, -1.0);
    dsp_observe(q, 99, 1.0);
    CHECK_NEAR(dsp_expected(q, 5), 0.9 * 10.0 / 10.0, 1e-12);
    dsp_free(q);
}

static void test_pending_subset_and_errors(void)
{
    fg_err err;
    int32_t some[2] = {3, 4};
    dsp_queue *q = dsp_new(6, cost6, group6, 3, family3, some, 2, &err);
    CHECK(q != NULL);
    if (q) {
        CHECK_INT(dsp_left(q), 2);
        CHECK_INT(dsp_next(q), 4);
        CHECK_INT(dsp_next(q), 3);
        CHECK_INT(dsp_next(q), -1);
        dsp_free(q);
    }
    int32_t dup[2] = {1, 1};
    CHECK(dsp_new(6, cost6, group6, 3, family3, dup, 2, &err) == NULL);
    int32_t out[1] = {6};
    CHECK(dsp_new(6, cost6, group6, 3, family3, out, 1, &err) == NULL);
    double badcost[6] = {10, 0, 8, 8, 9, 9};
    CHECK(dsp_new(6, badcost, group6, 3, family3, some, 2, &err) == NULL);
    int32_t badgroup[6] = {0, 0, 1, 1, 2, 3};
    CHECK(dsp_new(6, cost6, badgroup, 3, family3, some, 2, &err) == NULL);
    int32_t none[1];
    q = dsp_new(0, cost6, group6, 1, family3, none, 0, &err);
    CHECK(q != NULL);
    if (q) {
        CHECK_INT(dsp_next(q), -1);
        dsp_free(q);
    }
}

static void test_simulate(void)
{
    fg_err err;
    double ms = -1;
    /* Cost equals duration: LPT on 2 workers of {5,4,3,3,3} (one group each): worker A takes
     * 5, B 4; B frees at 4 takes 3 (ends 7); A frees at 5 takes 3 (ends 8); B takes the last
     * 3 at 7 (ends 10). Makespan 10; the bound is max(18/2, 5) = 9. */
    double c5[5] = {5, 4, 3, 3, 3};
    int32_t g5[5] = {0, 1, 2, 3, 4}, f5[5] = {0, 1, 2, 3, 4};
    CHECK(dsp_simulate(5, c5, g5, 5, f5, c5, 2, &ms, &err) == 0);
    CHECK_NEAR(ms, 10.0, 1e-12);
    /* Enough workers: the longest task alone. */
    CHECK(dsp_simulate(5, c5, g5, 5, f5, c5, 16, &ms, &err) == 0);
    CHECK_NEAR(ms, 5.0, 1e-12);
    /* One worker: the sum. */
    CHECK(dsp_simulate(5, c5, g5, 5, f5, c5, 1, &ms, &err) == 0);
    CHECK_NEAR(ms, 18.0, 1e-12);
    /* A cost model wrong by 10x for configuration 0 (tasks 0 and 1: cost 1, 10 s each);
     * four one-task configurations cost 3 and take 3 s. Two workers: t=0 A:2 B:3; t=3 A:4,
     * B:5 (cost order: 3 s expected beats 1 s); t=6 A:0 B:1, both end at 16. */
    double c6[6] = {1, 1, 3, 3, 3, 3}, s6[6] = {10, 10, 3, 3, 3, 3};
    int32_t g6[6] = {0, 0, 1, 2, 3, 4}, f6[5] = {0, 1, 1, 1, 1};
    CHECK(dsp_simulate(6, c6, g6, 5, f6, s6, 2, &ms, &err) == 0);
    CHECK_NEAR(ms, 16.0, 1e-12);
    /* Three workers: t=0 A:2 B:3 C:4, all end at 3; A (lowest index) takes 5 (3 s expected
     * against task 0's 1 x overall rate 1 s/unit = 1 s), ends 6; B takes 0, C takes 1, both
     * end at 13. */
    CHECK(dsp_simulate(6, c6, g6, 5, f6, s6, 3, &ms, &err) == 0);
    CHECK_NEAR(ms, 13.0, 1e-12);
    CHECK(dsp_simulate(6, c6, g6, 5, f6, s6, 0, &ms, &err) != 0);
}

int main(void)
{
    test_cost_order();
    test_correction();
    test_pending_subset_and_errors();
    test_simulate();
    return check_report("test_dispatch");
}
