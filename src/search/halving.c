/* halving.c - successive halving's schedule (scikit-learn's, in exact integer arithmetic)
 * and the promotion of one iteration's best candidates. Pure functions: no I/O, no
 * allocation. See halving.h for the one place where scikit-learn's floating-point
 * logarithm and this exact one differ. */
#include "halving.h"

#include <math.h>

#include "rank_rule.h"

/* floor(log_f(x)) for x >= 1, f >= 2: the largest k with f^k <= x. */
static int floor_log(int64_t x, int f)
{
    int k = 0;
    while (x >= f) {
        x /= f;
        k++;
    }
    return k;
}

/* f^k, or cap + 1 as soon as it exceeds cap (no overflow); cap >= 0. */
static int64_t pow_capped(int f, int k, int64_t cap)
{
    int64_t p = 1;
    for (int i = 0; i < k; i++) {
        if (p > cap / f)
            return cap + 1;
        p *= f;
    }
    return p;
}

/* ceil(n / f) for n >= 0, f >= 1. */
static int ceil_div(int n, int f)
{
    return n / f + (n % f != 0);
}

int64_t halv_smallest(halv_resource r, int n_splits, int n_classes)
{
    if (r == HALV_EPOCHS)
        return 1;
    return (int64_t)n_splits * 2 * (n_classes > 0 ? n_classes : 1);
}

int64_t halv_exhaust_candidates(int64_t min_resources, int64_t max_resources)
{
    return min_resources > 0 ? max_resources / min_resources : 0;
}

static int check_settings(const halv_settings *s, fg_err *err)
{
    if (s->factor < 2)
        return fg_err_set(err, "halving: factor must be an integer >= 2 (got %d)", s->factor);
    if (s->min_resources <= 0)
        return fg_err_set(err, "halving: min_resources must be a positive integer (got %lld)",
                          (long long)s->min_resources);
    if (s->max_resources < s->min_resources)
        return fg_err_set(err, "halving: min_resources_=%lld is greater than max_resources_=%lld",
                          (long long)s->min_resources, (long long)s->max_resources);
    if (s->n_candidates <= 0)
        return fg_err_set(err, "halving: no candidates (n_candidates %d)", s->n_candidates);
    return 0;
}

/* Resource of iteration itr: factor^power x min_resources_, capped at max_resources_. */
static int64_t resource_at(const halv_schedule *h, int factor, int itr, int aggressive)
{
    int power = itr;
    if (aggressive) { /* the first resource again while candidates are being eliminated */
        power = itr - h->n_required_iterations + h->n_possible_iterations;
        if (power < 0)
            power = 0;
    }
    int64_t room = h->max_resources / h->min_resources; /* factor^power beyond it caps */
    int64_t p = pow_capped(factor, power, room);
    return p > room ? h->max_resources : p * h->min_resources;
}

int halv_schedule_make(const halv_settings *s, halv_schedule *out, fg_err *err)
{
    if (check_settings(s, err))
        return -1;
    halv_schedule h = {0};
    const int f = s->factor;
    h.n_required_iterations = 1 + floor_log(s->n_candidates, f);
    h.max_resources = s->max_resources;
    h.min_resources = s->min_resources;
    if (s->exhaust) { /* start as high as the last required iteration allows */
        int64_t p = pow_capped(f, h.n_required_iterations - 1, s->max_resources);
        int64_t m = p > s->max_resources ? 0 : s->max_resources / p;
        if (m > h.min_resources)
            h.min_resources = m;
    }
    h.n_possible_iterations = 1 + floor_log(h.max_resources / h.min_resources, f);
    h.n_iterations = h.n_required_iterations;
    if (!s->aggressive && h.n_possible_iterations < h.n_iterations)
        h.n_iterations = h.n_possible_iterations;
    FG_ASSERT(h.n_iterations <= HALV_MAX_ITER);
    int n = s->n_candidates;
    for (int i = 0; i < h.n_iterations; i++) {
        h.n_candidates[i] = n;
        h.n_resources[i] = resource_at(&h, f, i, s->aggressive);
        n = ceil_div(n, f);
    }
    h.n_remaining_candidates = n;
    *out = h;
    return 0;
}

int halv_ranks_before(const halv_cand *a, const halv_cand *b)
{
    return rank_rule_before(a->mean, a->cost, a->config, b->mean, b->cost, b->config);
}

/* Heap sort's sift-down over order[0..n): a max-heap of "ranks later", so that the heap
 * sort leaves the best first. The rule is a total order (the index breaks every tie), so
 * the result does not depend on the sort being unstable. */
static void sift_down(const halv_cand *c, int *order, int root, int n)
{
    for (;;) {
        int child = 2 * root + 1;
        if (child >= n)
            return;
        if (child + 1 < n && halv_ranks_before(&c[order[child]], &c[order[child + 1]]))
            child++; /* the later-ranking child */
        if (!halv_ranks_before(&c[order[root]], &c[order[child]]))
            return;
        int t = order[root];
        order[root] = order[child];
        order[child] = t;
        root = child;
    }
}

int halv_promote(const halv_cand *c, int n, int factor, int *order)
{
    if (n <= 0 || factor < 1)
        return 0;
    for (int i = 0; i < n; i++)
        order[i] = i;
    /* a heap whose root ranks last; moving each root to the end leaves the best first */
    for (int i = n / 2 - 1; i >= 0; i--)
        sift_down(c, order, i, n);
    for (int end = n - 1; end > 0; end--) {
        int t = order[0];
        order[0] = order[end];
        order[end] = t;
        sift_down(c, order, 0, end);
    }
    return ceil_div(n, factor);
}
