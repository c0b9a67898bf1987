/* rank_rule.h - the one rule that orders configurations (or halving candidates): the
 * higher mean score first (no score last), then the lower cost (unknown cost last), then
 * the lower index. rpt_ranks_before (rank.c), and so rpt_best, the reports, the search's
 * best so far and halving's promotions (halving.c) all decide through it. Header-only, so
 * that pure modules use it without linking the report. */
#ifndef RANK_RULE_H
#define RANK_RULE_H

#include <math.h>
#include <stdint.h>

/* 1 when (mean_a, cost_a, index a) ranks before (mean_b, cost_b, index b), else 0. */
static inline int rank_rule_before(double mean_a, double cost_a, int64_t a, double mean_b, double cost_b,
                                   int64_t b)
{
    if (isnan(mean_a) != isnan(mean_b))
        return isnan(mean_b);
    if (!isnan(mean_a) && mean_a != mean_b)
        return mean_a > mean_b;
    if (isnan(cost_a) != isnan(cost_b))
        return isnan(cost_b);
    if (!isnan(cost_a) && cost_a != cost_b)
        return cost_a < cost_b;
    return a < b;
}

#endif
