/* test_halving.c - successive halving's schedule against scikit-learn's n_candidates_,
 * n_resources_ and iteration counts (worked by hand in the comments, with scikit-learn's
 * formulas: n_required = 1 + floor(log_f(n)); 'exhaust': min = max(min, max // f^(n_required
 * - 1)); n_possible = 1 + floor(log_f(max // min)); n_iterations = n_required when
 * aggressive, else the smaller; power = itr, or max(0, itr - n_required + n_possible) when
 * aggressive; n_resources = f^power x min; n_candidates_{i+1} = ceil(n_candidates_i / f)),
 * including the cases of scikit-learn's own tests (test_successive_halving.py); bad
 * settings; and the promotion with its tie rule (mean, then cost, then index). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "halving.h"

static halv_schedule make(int n, int factor, int64_t min, int64_t max, int exhaust,
                          int aggressive)
{
    halv_settings s = {factor, min, exhaust, max, n, aggressive};
    halv_schedule h;
    fg_err err;
    int rc = halv_schedule_make(&s, &h, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    return h;
}

/* The schedule's iterations are exactly cand[0..k) and res[0..k). */
static void check_iters(const halv_schedule *h, int k, const int *cand, const int64_t *res)
{
    CHECK_INT(h->n_iterations, k);
    for (int i = 0; i < k && i < h->n_iterations; i++) {
        CHECK_INT(h->n_candidates[i], cand[i]);
        CHECK_INT(h->n_resources[i], res[i]);
    }
}

static void test_epochs_19(void)
{
    /* 19 candidates, factor 3, min 2 epochs, max 15 (smaller than 2 x 3^2 = 18):
     * n_required = 1 + floor(log3 19) = 3; n_possible = 1 + floor(log3(15 // 2 = 7)) = 2;
     * 2 iterations: 19 candidates x 2 epochs, ceil(19/3) = 7 x 6; 3 remain. */
    halv_schedule h = make(19, 3, 2, 15, 0, 0);
    check_iters(&h, 2, (int[]){19, 7}, (int64_t[]){2, 6});
    CHECK_INT(h.n_required_iterations, 3);
    CHECK_INT(h.n_possible_iterations, 2);
    CHECK_INT(h.n_remaining_candidates, 3);
    CHECK_INT(h.min_resources, 2);
    CHECK_INT(h.max_resources, 15);
    /* aggressive: 3 iterations, power max(0, itr - 3 + 2) = 0, 0, 1: 2, 2, 6 epochs for
     * 19, 7, 3 candidates; 1 remains. */
    h = make(19, 3, 2, 15, 0, 1);
    check_iters(&h, 3, (int[]){19, 7, 3}, (int64_t[]){2, 2, 6});
    CHECK_INT(h.n_remaining_candidates, 1);
    /* factor 2, min 2, max 40: n_required = 1 + 4 = 5, n_possible = 1 + floor(log2 20) = 5:
     * 19, 10, 5, 3, 2 candidates with 2, 4, 8, 16, 32 epochs; 1 remains. */
    h = make(19, 2, 2, 40, 0, 0);
    check_iters(&h, 5, (int[]){19, 10, 5, 3, 2}, (int64_t[]){2, 4, 8, 16, 32});
    CHECK_INT(h.n_remaining_candidates, 1);
}

static void test_exhaust(void)
{
    /* 'exhaust' from 'smallest' (1 epoch), max 40: min = max(1, 40 // 3^2 = 4) = 4;
     * n_possible = 1 + floor(log3 10) = 3: 4, 12, 36 epochs. */
    halv_schedule h = make(19, 3, halv_smallest(HALV_EPOCHS, 5, 10), 40, 1, 0);
    check_iters(&h, 3, (int[]){19, 7, 3}, (int64_t[]){4, 12, 36});
    CHECK_INT(h.min_resources, 4);
    /* max 15: 15 // 9 = 1, min stays 1; n_possible = 1 + floor(log3 15) = 3: 1, 3, 9. */
    h = make(19, 3, 1, 15, 1, 0);
    check_iters(&h, 3, (int[]){19, 7, 3}, (int64_t[]){1, 3, 9});
    /* one candidate: n_required = 1, min = max // 3^0 = max: one iteration with all. */
    h = make(1, 3, 1, 30, 1, 0);
    check_iters(&h, 1, (int[]){1}, (int64_t[]){30});
    CHECK_INT(h.n_remaining_candidates, 1);
}

static void test_sklearn_aggressive(void)
{
    /* scikit-learn's test_aggressive_elimination: 60 candidates, factor 3, samples with
     * 5 folds and 2 classes ('smallest' = 5 x 2 x 2 = 20), min 'exhaust'.
     * max 180: min = max(20, 180 // 27 = 6) = 20; n_required = 1 + floor(log3 60) = 4;
     * n_possible = 1 + floor(log3 9) = 3. */
    int64_t smallest = halv_smallest(HALV_SAMPLES, 5, 2);
    CHECK_INT(smallest, 20);
    halv_schedule h = make(60, 3, smallest, 180, 1, 1);
    check_iters(&h, 4, (int[]){60, 20, 7, 3}, (int64_t[]){20, 20, 60, 180});
    CHECK_INT(h.n_required_iterations, 4);
    CHECK_INT(h.n_possible_iterations, 3);
    CHECK_INT(h.n_remaining_candidates, 1);
    h = make(60, 3, smallest, 180, 1, 0);
    check_iters(&h, 3, (int[]){60, 20, 7}, (int64_t[]){20, 60, 180});
    CHECK_INT(h.n_remaining_candidates, 3);
    /* max 1000: min = max(20, 1000 // 27 = 37) = 37; n_possible = 1 + floor(log3 27) = 4:
     * aggressive or not, 37, 111, 333, 999. */
    for (int aggressive = 0; aggressive <= 1; aggressive++) {
        h = make(60, 3, smallest, 1000, 1, aggressive);
        check_iters(&h, 4, (int[]){60, 20, 7, 3}, (int64_t[]){37, 111, 333, 999});
        CHECK_INT(h.n_possible_iterations, 4);
    }
}

static void test_sklearn_min_max(void)
{
    /* scikit-learn's test_min_max_resources: 6 candidates (n_required 2), factor 3, 'smallest'
     * 20, 1000 samples. 'smallest': n_possible 1 + floor(log3 50) = 4, 20 and 60. */
    halv_schedule h = make(6, 3, 20, 1000, 0, 0);
    check_iters(&h, 2, (int[]){6, 2}, (int64_t[]){20, 60});
    CHECK_INT(h.n_possible_iterations, 4);
    CHECK_INT(h.n_required_iterations, 2);
    h = make(6, 3, 50, 1000, 0, 0); /* min 50: n_possible 1 + floor(log3 20) = 3 */
    check_iters(&h, 2, (int[]){6, 2}, (int64_t[]){50, 150});
    CHECK_INT(h.n_possible_iterations, 3);
    h = make(6, 3, 20, 30, 0, 0); /* too little: 30 // 20 = 1, one iteration */
    check_iters(&h, 1, (int[]){6}, (int64_t[]){20});
    /* 'exhaust' with max M: min = max(20, M // 3), two iterations when M // min >= 3. */
    const int64_t max[] = {1000, 999, 600, 599, 300, 60, 50, 20};
    const int64_t r0[] = {333, 333, 200, 199, 100, 20, 20, 20};
    const int64_t r1[] = {999, 999, 600, 597, 300, 60, -1, -1};
    for (int k = 0; k < 8; k++) {
        h = make(6, 3, 20, max[k], 1, 0);
        int iters = r1[k] < 0 ? 1 : 2;
        check_iters(&h, iters, (int[]){6, 2}, (int64_t[]){r0[k], r1[k]});
        CHECK_INT(h.n_possible_iterations, iters);
    }
}

static void test_sklearn_n_iterations(void)
{
    /* scikit-learn's test_n_iterations: 20 candidates, factor 2, min 4: n_required = 5;
     * n_possible = 1 + floor(log2(max // 4)). */
    const int64_t max[] = {1024, 700, 512, 511, 32, 31, 16, 4};
    const int iters[] = {5, 5, 5, 5, 4, 3, 3, 1};
    const int possible[] = {9, 8, 8, 7, 4, 3, 3, 1};
    for (int k = 0; k < 8; k++) {
        halv_schedule h = make(20, 2, 4, max[k], 0, 0);
        CHECK_INT(h.n_required_iterations, 5);
        CHECK_INT(h.n_iterations, iters[k]);
        CHECK_INT(h.n_possible_iterations, possible[k]);
    }
    /* its test_random_search: n_candidates 'exhaust' = max // min: 512 // 4, 32 // 4. */
    CHECK_INT(halv_exhaust_candidates(4, 512), 128);
    CHECK_INT(halv_exhaust_candidates(4, 32), 8);
    CHECK_INT(halv_exhaust_candidates(0, 32), 0);
}

static void test_powers_and_aggressive_skip(void)
{
    /* exact powers: 27 candidates, factor 3: 27, 9, 3, 1 (1 + log3 27 = 4 iterations);
     * 243: 6 iterations down to 1 (scikit-learn's floating-point log(243, 3) =
     * 4.999... gives it 5: the documented difference). */
    halv_schedule h = make(27, 3, 1, 1000, 0, 0);
    check_iters(&h, 4, (int[]){27, 9, 3, 1}, (int64_t[]){1, 3, 9, 27});
    h = make(243, 3, 1, 1000, 0, 0);
    check_iters(&h, 6, (int[]){243, 81, 27, 9, 3, 1}, (int64_t[]){1, 3, 9, 27, 81, 243});
    /* aggressive with more resource than needed: 3 candidates, factor 3, min 1, max 100:
     * n_required 2, n_possible 1 + floor(log3 100) = 5; power = itr - 2 + 5 = 3, 4: it
     * starts high (27, 81), as scikit-learn does. */
    h = make(3, 3, 1, 100, 0, 1);
    check_iters(&h, 2, (int[]){3, 1}, (int64_t[]){27, 81});
    /* a huge maximum does not overflow */
    h = make(1000000, 2, 1, INT64_MAX, 0, 0);
    CHECK_INT(h.n_iterations, 20);
    CHECK_INT(h.n_resources[19], 1 << 19);
    h = make(2, 2, INT64_MAX / 2, INT64_MAX, 1, 0);
    CHECK_INT(h.n_iterations, 2);
    CHECK_INT(h.n_resources[1], INT64_MAX - 1);
}

static void test_bad_settings(void)
{
    halv_schedule h;
    fg_err err;
    halv_settings s = {1, 2, 0, 15, 19, 0};
    CHECK(halv_schedule_make(&s, &h, &err) != 0);
    CHECK_STR_CONTAINS(err.msg, "factor");
    s = (halv_settings){3, 0, 0, 15, 19, 0};
    CHECK(halv_schedule_make(&s, &h, &err) != 0);
    CHECK_STR_CONTAINS(err.msg, "min_resources");
    s = (halv_settings){3, 15, 0, 14, 19, 0};
    CHECK(halv_schedule_make(&s, &h, &err) != 0);
    CHECK_STR_CONTAINS(err.msg, "min_resources_=15 is greater than max_resources_=14");
    s = (halv_settings){3, 2, 0, 15, 0, 0};
    CHECK(halv_schedule_make(&s, &h, &err) != 0);
    CHECK_STR_CONTAINS(err.msg, "candidates");
}

static void test_promote(void)
{
    int order[8];
    /* scikit-learn's test_top_k, iteration 0: scores 4, 3, 5, 1 (a, b, c, d); factor 2
     * keeps ceil(4/2) = 2: c then a. */
    halv_cand c[4] = {{0, 4, 1}, {1, 3, 1}, {2, 5, 1}, {3, 1, 1}};
    CHECK_INT(halv_promote(c, 4, 2, order), 2);
    CHECK_INT(order[0], 2);
    CHECK_INT(order[1], 0);
    CHECK_INT(order[2], 1);
    CHECK_INT(order[3], 3);
    CHECK_INT(halv_promote(c, 4, 3, order), 2); /* ceil(4/3) */
    CHECK_INT(halv_promote(c, 3, 3, order), 1);
    /* ties: equal means go by the lower cost, then the lower configuration index (not
     * the position); an unknown cost loses; NaN means rank last but fill the count. */
    halv_cand t[7] = {{10, 0.9, 5},   {11, 0.9, 3}, {3, 0.9, 5}, {4, 0.9, NAN},
                      {5, NAN, 1},    {1, NAN, 2},  {0, 0.5, 1}};
    CHECK_INT(halv_promote(t, 7, 2, order), 4);
    const int want[7] = {1, 2, 0, 3, 6, 4, 5};
    for (int i = 0; i < 7; i++)
        CHECK_INT(order[i], want[i]);
    CHECK_INT(halv_promote(t, 7, 1, order), 7);
    CHECK_INT(halv_promote(t, 0, 3, order), 0);
}

static void test_promote_many(void)
{
    /* 1000 candidates with few distinct means and costs: a permutation, in the rule's order. */
    enum { N = 1000 };
    halv_cand *c = malloc(N * sizeof *c);
    int *order = malloc(N * sizeof *order), *seen = calloc(N, sizeof *seen);
    if (!c || !order || !seen)
        abort();
    fg_rng r;
    fg_rng_seed(&r, 7);
    for (int i = 0; i < N; i++)
        c[i] = (halv_cand){N - 1 - i, fg_rng_below(&r, 5) == 0 ? NAN : fg_rng_below(&r, 4) / 4.0,
                           (double)fg_rng_below(&r, 3)};
    CHECK_INT(halv_promote(c, N, 3, order), 334);
    int sorted = 1;
    for (int i = 0; i < N; i++)
        seen[order[i]]++;
    for (int i = 0; i < N; i++)
        sorted &= seen[i] == 1 && (i == 0 || halv_ranks_before(&c[order[i - 1]], &c[order[i]]));
    CHECK(sorted);
    free(c);
    free(order);
    free(seen);
}

int main(void)
{
    test_epochs_19();
    test_exhaust();
    test_sklearn_aggressive();
    test_sklearn_min_max();
    test_sklearn_n_iterations();
    test_powers_and_aggressive_skip();
    test_bad_settings();
    test_promote();
    test_promote_many();
    return check_report("test_halving");
}
