/* halving.h - successive halving (issue 15): scikit-learn's schedule, as
 * HalvingGridSearchCV and HalvingRandomSearchCV compute it (n_candidates_, n_resources_,
 * n_iterations_, n_required_iterations_, n_possible_iterations_, min_resources='exhaust',
 * aggressive_elimination), and the promotion of the best candidates of one iteration.
 * Pure functions: no I/O, no allocation; the caller owns every array.
 *
 * One difference from scikit-learn, on purpose: it takes floor(log(x, factor)) in floating
 * point, which rounds some exact powers down (log(243, 3) = 4.999..., log(1000, 10) =
 * 2.999...), so that 243 candidates with factor 3 get 5 iterations there; here the
 * logarithm is exact integer arithmetic (6 iterations: 243, 81, 27, 9, 3, 1, as 27 gets
 * 27, 9, 3, 1 in both), and the schedule depends on no libm. Everywhere else the numbers
 * are scikit-learn's. The factor is an integer >= 2 (scikit-learn also takes reals). */
#ifndef HALVING_H
#define HALVING_H

#include <stdint.h>

#include "fg_util.h"

#define HALV_FACTOR_DEFAULT 3
/* More iterations than any schedule can have: n_required_iterations <= 1 + log2(n) <= 32
 * for an int count, and the aggressive schedule has n_required_iterations. */
#define HALV_MAX_ITER 64

/* What the resource is: training epochs of every fold, or training images (scikit-learn's
 * n_samples: a fraction of every fold's train and test images). */
typedef enum { HALV_EPOCHS, HALV_SAMPLES } halv_resource;

/* The settings of a halving search (scikit-learn's names). */
typedef struct {
    int factor;           /* >= 2; HALV_FACTOR_DEFAULT */
    int64_t min_resources; /* > 0: the value given, or halv_smallest's ('smallest') */
    int exhaust;          /* min_resources='exhaust': raise min_resources (from the value
                           * above) so that the last required iteration uses the most */
    int64_t max_resources; /* >= min_resources: epochs, or training images */
    int n_candidates;     /* > 0: configurations of the first iteration */
    int aggressive;       /* aggressive_elimination: repeat the first resource until few
                           * enough candidates remain */
} halv_settings;

/* The schedule: iteration i runs n_candidates[i] candidates with n_resources[i] each. */
typedef struct {
    int n_iterations;          /* n_iterations_ */
    int n_required_iterations; /* n_required_iterations_: 1 + floor(log_factor(n_candidates)) */
    int n_possible_iterations; /* n_possible_iterations_: 1 + floor(log_factor(max / min)) */
    int n_remaining_candidates; /* n_remaining_candidates_: ceil(last count / factor) */
    int64_t min_resources;     /* min_resources_ (after 'exhaust') */
    int64_t max_resources;     /* max_resources_ */
    int n_candidates[HALV_MAX_ITER];     /* n_candidates_ */
    int64_t n_resources[HALV_MAX_ITER];  /* n_resources_ */
} halv_schedule;

/* One candidate of an iteration, for the promotion. */
typedef struct {
    int64_t config; /* configuration index: the last tie-break (lower first) */
    double mean;    /* mean cross-validation score at this iteration; NaN (failed, missing)
                     * ranks after every number */
    double cost;    /* the tie-break after the mean (lower first); NaN = unknown, last */
} halv_cand;

/* scikit-learn's 'smallest' min_resources: 1 epoch; for samples, n_splits x 2 x n_classes
 * (its "magic factor" 2; n_classes 1 for a regressor). */
int64_t halv_smallest(halv_resource r, int n_splits, int n_classes);

/* HalvingRandomSearchCV's n_candidates='exhaust': max_resources / min_resources (integer
 * division; its min_resources cannot be 'exhaust' then). 0 when min_resources <= 0. */
int64_t halv_exhaust_candidates(int64_t min_resources, int64_t max_resources);

/* Fills *out from *s. Returns 0, or -1 with err naming the setting: factor < 2,
 * min_resources <= 0, max_resources < min_resources (scikit-learn's "min_resources_=M is
 * greater than max_resources_=N"), n_candidates <= 0. */
int halv_schedule_make(const halv_settings *s, halv_schedule *out, fg_err *err);

/* 1 when candidate a ranks before b: the higher mean (NaN after every number), then the
 * lower cost (NaN last), then the lower configuration index. rpt_ranks_before's rule. */
int halv_ranks_before(const halv_cand *a, const halv_cand *b);

/* The promotion at the end of one iteration (scikit-learn's _top_k with
 * n_candidates_to_keep = ceil(n / factor)): order[0..n) = positions in c[0..n), best first
 * by halv_ranks_before (an in-place heap sort: no allocation). Returns how many of them go
 * on to the next iteration, ceil(n / factor), NaN means included when numbers run out (as
 * scikit-learn); 0 when n <= 0 or factor < 1. */
int halv_promote(const halv_cand *c, int n, int factor, int *order);

#endif
