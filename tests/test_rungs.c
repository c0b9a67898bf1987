/* test_rungs.c - a halving search's iterations as results arrive (rungs.h): promotions
 * equal to halv_promote's for hand-made scores, ties by cost then index, results kept
 * aside until a promotion, duplicates ignored, failed folds, the leaders, the best of the
 * last iteration, a shuffled replay equal to the in-order one, and rungs_schedule for a
 * grid (resource epochs with the largest configured epochs as default max, samples). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "grid.h"
#include "rungs.h"

#define NC 9
#define FOLDS 2

/* 9 candidates, factor 3, 1..9 epochs: 9 x 1, 3 x 3, 1 x 9. */
static halv_schedule sched_9(void)
{
    halv_settings s = {3, 1, 0, 9, NC, 0};
    halv_schedule h;
    fg_err e;
    CHECK(halv_schedule_make(&s, &h, &e) == 0);
    CHECK_INT(h.n_iterations, 3);
    return h;
}

/* A made-up score of (iter, config, fold): config 4 best, then 7, 1, ... */
static double score_of(int iter, int64_t c, int fold)
{
    static const double base[NC] = {0.50, 0.70, 0.40, 0.55, 0.90, 0.30, 0.60, 0.80, 0.45};
    return base[c] + 0.01 * iter + 0.001 * fold;
}

static rungs *make(const double *cost)
{
    halv_schedule h = sched_9();
    fg_err e;
    rungs *r = rungs_new(&h, 3, NC, FOLDS, cost, &e);
    CHECK_MSG(r != NULL, "%s", e.msg);
    return r;
}

/* Feeds every fold of every candidate of iteration iter. */
static void feed_iter(rungs *r, int iter)
{
    for (int i = 0; i < rungs_n_candidates(r, iter); i++)
        for (int f = 0; f < FOLDS; f++) {
            int64_t c = rungs_candidate(r, iter, i);
            rungs_add(r, iter, c, f, score_of(iter, c, f));
        }
}

static void test_promotions(void)
{
    rungs *r = make(NULL);
    CHECK_INT(rungs_n_iterations(r), 3);
    CHECK_INT(rungs_current(r), 0);
    CHECK_INT(rungs_n_candidates(r, 0), NC);
    CHECK_INT(rungs_n_candidates(r, 1), -1);
    CHECK_INT(rungs_resource(r, 1), 3);
    feed_iter(r, 0);
    CHECK_INT(rungs_current(r), 1);
    /* halv_promote of the means, by hand: the best 3 are 4, 7, 1 (ascending: 1, 4, 7) */
    halv_cand c[NC];
    int order[NC];
    for (int i = 0; i < NC; i++)
        c[i] = (halv_cand){i, rungs_mean(r, 0, i), NAN};
    CHECK_INT(halv_promote(c, NC, 3, order), 3);
    CHECK_INT(rungs_n_candidates(r, 1), 3);
    int64_t want[3] = {1, 4, 7};
    for (int i = 0; i < 3; i++) {
        CHECK_INT(rungs_candidate(r, 1, i), want[i]);
        CHECK(rungs_has(r, 1, c[order[i]].config));
    }
    CHECK(!rungs_has(r, 1, 0));
    CHECK_NEAR(rungs_mean(r, 0, 4), (0.90 + 0.901) / 2, 1e-12);
    CHECK_INT(rungs_best(r), -1);
    feed_iter(r, 1);
    CHECK_INT(rungs_n_candidates(r, 2), 1);
    CHECK_INT(rungs_candidate(r, 2, 0), 4);
    CHECK_INT(rungs_best(r), -1);
    feed_iter(r, 2);
    CHECK_INT(rungs_current(r), 3);
    CHECK_INT(rungs_best(r), 4);
    rungs_free(r);
    rungs_free(NULL);
}

static void test_ties(void)
{
    /* every mean equal: the lower cost wins, then the lower index */
    double cost[NC] = {5, 5, 5, 1, 5, 2, 5, 5, 5};
    rungs *r = make(cost);
    for (int c = 0; c < NC; c++)
        for (int f = 0; f < FOLDS; f++)
            rungs_add(r, 0, c, f, 0.5);
    CHECK_INT(rungs_candidate(r, 1, 0), 0); /* 3 (cost 1), 5 (cost 2), 0 (cost 5, index 0) */
    CHECK_INT(rungs_candidate(r, 1, 1), 3);
    CHECK_INT(rungs_candidate(r, 1, 2), 5);
    rungs_free(r);
    /* no costs: the lowest indices */
    r = make(NULL);
    for (int c = 0; c < NC; c++)
        for (int f = 0; f < FOLDS; f++)
            rungs_add(r, 0, c, f, 0.5);
    for (int i = 0; i < 3; i++)
        CHECK_INT(rungs_candidate(r, 1, i), i);
    rungs_free(r);
}

static void test_aside_and_duplicates(void)
{
    rungs *r = make(NULL);
    CHECK_INT(rungs_add(r, 0, 9, 0, 0.5), -1);   /* out of range */
    CHECK_INT(rungs_add(r, 0, 0, 2, 0.5), -1);
    CHECK_INT(rungs_add(r, 3, 0, 0, 0.5), -1);
    CHECK_INT(rungs_add(r, -1, 0, 0, 0.5), -1);
    CHECK_INT(rungs_add(r, 1, 4, 0, 0.77), 1);  /* speculation on 4: kept aside */
    CHECK_INT(rungs_add(r, 1, 4, 0, 0.11), 1);  /* a second one: the first counts */
    CHECK_INT(rungs_add(r, 1, 0, 1, 0.99), 1);  /* on 0, which will not be promoted */
    CHECK(!rungs_done(r, 1, 4, 0));
    CHECK(isnan(rungs_mean(r, 1, 4)));
    CHECK_INT(rungs_add(r, 0, 4, 0, score_of(0, 4, 0)), 0);
    CHECK_INT(rungs_add(r, 0, 4, 0, 0.0), 1);   /* duplicate: ignored */
    CHECK(rungs_done(r, 0, 4, 0));
    feed_iter(r, 0);
    CHECK_NEAR(rungs_mean(r, 0, 4), (0.90 + 0.901) / 2, 1e-12); /* not the 0.0 */
    CHECK(rungs_done(r, 1, 4, 0));  /* counted at the promotion */
    CHECK(!rungs_done(r, 1, 4, 1));
    CHECK(!rungs_done(r, 1, 0, 1)); /* not promoted: never counts */
    CHECK_INT(rungs_add(r, 1, 0, 0, 0.99), 1);
    CHECK_INT(rungs_add(r, 1, 4, 1, 0.79), 0);
    CHECK_NEAR(rungs_mean(r, 1, 4), (0.77 + 0.79) / 2, 1e-12);
    rungs_free(r);
}

static void test_failed_folds(void)
{
    rungs *r = make(NULL);
    for (int c = 0; c < NC; c++)
        for (int f = 0; f < FOLDS; f++) /* 4 and 7 fail a fold: 1, 6, 3 go on */
            rungs_add(r, 0, c, f, (c == 4 || c == 7) && f == 1 ? NAN : score_of(0, c, f));
    CHECK(isnan(rungs_mean(r, 0, 4)));
    CHECK_INT(rungs_candidate(r, 1, 0), 1);
    CHECK_INT(rungs_candidate(r, 1, 1), 3);
    CHECK_INT(rungs_candidate(r, 1, 2), 6);
    rungs_free(r);
    /* more promoted than numbers: the NaN ones come in by index, as scikit-learn */
    r = make(NULL);
    for (int c = 0; c < NC; c++)
        for (int f = 0; f < FOLDS; f++)
            rungs_add(r, 0, c, f, c == 5 ? 0.3 : NAN);
    CHECK_INT(rungs_candidate(r, 1, 0), 0); /* 5, then 0 and 1 */
    CHECK_INT(rungs_candidate(r, 1, 1), 1);
    CHECK_INT(rungs_candidate(r, 1, 2), 5);
    rungs_free(r);
}

static void test_leaders(void)
{
    rungs *r = make(NULL);
    int64_t out[NC];
    CHECK_INT(rungs_leaders(r, 1, out, NC), 0); /* not promoted yet */
    CHECK_INT(rungs_leaders(r, 0, out, 3), 3);  /* nothing in: by index */
    CHECK_INT(out[0], 0);
    CHECK_INT(out[2], 2);
    rungs_add(r, 0, 5, 0, 0.3);
    rungs_add(r, 0, 8, 0, 0.9);
    rungs_add(r, 0, 8, 1, 0.1); /* mean so far 0.5 */
    rungs_add(r, 0, 2, 1, 0.6);
    CHECK_INT(rungs_leaders(r, 0, out, NC), NC);
    CHECK_INT(out[0], 2);
    CHECK_INT(out[1], 8);
    CHECK_INT(out[2], 5);
    CHECK_INT(out[3], 0);
    CHECK_INT(out[8], 7);
    rungs_free(r);
}

/* Every result a run could produce, speculation included: (iter, config, fold, score). */
typedef struct {
    int iter;
    int64_t config;
    int fold;
    double score;
} res;

static void test_shuffled_replay(void)
{
    res all[3 * NC * FOLDS];
    int n = 0;
    for (int it = 0; it < 3; it++)
        for (int64_t c = 0; c < NC; c++)
            for (int f = 0; f < FOLDS; f++)
                all[n++] = (res){it, c, f, score_of(it, c, f)};
    rungs *in_order = make(NULL);
    for (int i = 0; i < n; i++)
        rungs_add(in_order, all[i].iter, all[i].config, all[i].fold, all[i].score);
    for (int trial = 0; trial < 20; trial++) {
        uint64_t s = 12345 + (uint64_t)trial;
        for (int i = n - 1; i > 0; i--) { /* Fisher-Yates with a fixed LCG */
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            int j = (int)((s >> 33) % (uint64_t)(i + 1));
            res t = all[i];
            all[i] = all[j];
            all[j] = t;
        }
        rungs *r = make(NULL);
        for (int i = 0; i < n; i++)
            rungs_add(r, all[i].iter, all[i].config, all[i].fold, all[i].score);
        CHECK_INT(rungs_current(r), 3);
        CHECK_INT(rungs_best(r), rungs_best(in_order));
        for (int it = 0; it < 3; it++) {
            CHECK_INT(rungs_n_candidates(r, it), rungs_n_candidates(in_order, it));
            for (int i = 0; i < rungs_n_candidates(r, it); i++) {
                int64_t c = rungs_candidate(r, it, i);
                CHECK_INT(c, rungs_candidate(in_order, it, i));
                CHECK(rungs_mean(r, it, c) == rungs_mean(in_order, it, c));
            }
        }
        rungs_free(r);
    }
    CHECK_INT(rungs_best(in_order), 4);
    rungs_free(in_order);
}

static const char *grid_text_epochs =
    "name: h\n"
    "cv: {folds: 3}\n"
    "train: {optimizer: sgd, learning_rate: 0.1}\n"
    "model:\n"
    "  - {type: flatten}\n"
    "  - {type: dense, units: $units, activation: relu}\n"
    "  - {type: dense, units: 10, activation: softmax}\n"
    "grid:\n"
    "  - {units: [8, 16, 32], epochs: [5]}\n"
    "  - {units: [8, 16, 32, 64, 128, 256], epochs: [27]}\n";

static grid *load(const char *text)
{
    grid *g = NULL;
    fg_err e;
    int rc = grid_load_string(text, strlen(text), "h.yaml", &g, &e);
    CHECK_MSG(rc == 0, "%s", e.msg);
    return g;
}

/* Until the search: section is parsed, the test sets it through a cast. */
static grid_search *search_of(grid *g) { return (grid_search *)grid_search_of(g); }

static void test_schedule(void)
{
    grid *g = load(grid_text_epochs);
    if (!g)
        return;
    grid_search *s = search_of(g);
    s->strategy = GRID_SEARCH_HALVING;
    s->factor = 3;
    s->resource = HALV_EPOCHS;
    s->min_exhaust = 1;
    s->min_resources = 0;
    s->max_resources = 0;
    halv_schedule h;
    fg_err e;
    /* 9 candidates, max 27 epochs (the largest configured), exhaust: min = 27 // 3^2 = 3:
     * 9 x 3, 3 x 9, 1 x 27 */
    CHECK_MSG(rungs_schedule(g, 1200, 10, &h, &e) == 0, "%s", e.msg);
    CHECK_INT(h.max_resources, 27);
    CHECK_INT(h.n_iterations, 3);
    CHECK_INT(h.n_candidates[0], 9);
    CHECK_INT(h.n_resources[0], 3);
    CHECK_INT(h.n_resources[2], 27);
    /* smallest: 1 epoch; 1 + floor(log3 27) = 4 possible, 3 required: 1, 3, 9 */
    s->min_exhaust = 0;
    s->min_smallest = 1;
    CHECK(rungs_schedule(g, 1200, 10, &h, &e) == 0);
    CHECK_INT(h.n_iterations, 3);
    CHECK_INT(h.n_resources[0], 1);
    CHECK_INT(h.n_resources[2], 9);
    /* samples: max = the images searched; smallest = folds x 2 x classes = 60 */
    s->resource = HALV_SAMPLES;
    CHECK(rungs_schedule(g, 1200, 10, &h, &e) == 0);
    CHECK_INT(h.max_resources, 1200);
    CHECK_INT(h.min_resources, 60);
    CHECK_INT(h.n_resources[1], 180);
    /* given, exhaust: 900 // 9 = 100 > 50 */
    s->min_smallest = 0;
    s->min_exhaust = 1;
    s->min_resources = 50;
    s->max_resources = 900;
    CHECK(rungs_schedule(g, 1200, 10, &h, &e) == 0);
    CHECK_INT(h.n_resources[0], 100);
    CHECK_INT(h.n_resources[2], 900);
    /* bad: min > max, reported with the file */
    s->min_exhaust = 0;
    s->min_resources = 1000;
    CHECK(rungs_schedule(g, 1200, 10, &h, &e) == -1);
    CHECK_STR_CONTAINS(e.msg, "h.yaml");
    CHECK_STR_CONTAINS(e.msg, "greater than max_resources_=900");
    grid_free(g);
}

int main(void)
{
    test_promotions();
    test_ties();
    test_aside_and_duplicates();
    test_failed_folds();
    test_leaders();
    test_shuffled_replay();
    test_schedule();
    return check_report("test_rungs");
}
