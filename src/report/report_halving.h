/* report_halving.h - a successive-halving search's journal read the way its coordinator
 * read it (issue 15): every CV record replayed through rungs (rungs.h) in file order, so
 * that only the results that count are reported (speculative work on a candidate that was
 * then not promoted, and second records of a task, do not); one row per (configuration,
 * iteration) as scikit-learn's HalvingGridSearchCV cv_results_, with its `iter` and
 * `n_resources`; what each iteration ran, spent and promoted; and the best (rungs_best).
 * Pure computation over the entries: no I/O. */
#ifndef REPORT_HALVING_H
#define REPORT_HALVING_H

#include <stdint.h>

#include "fg_util.h"
#include "grid.h"
#include "halving.h"
#include "journal.h"
#include "rank.h"

/* One iteration as recorded. */
typedef struct {
    int n_candidates;    /* -1: not reached (its candidates are not promoted yet) */
    int64_t n_resources; /* the schedule's */
    int n_promoted;      /* candidates of the next iteration; -1 unknown or the last */
    int tasks_done;      /* counted CV records (of n_candidates x folds) */
    double cpu_s;        /* fit + score seconds of the counted records */
} rpt_halving_iter;

typedef struct {
    halv_schedule sch;
    int n_iter;          /* sch.n_iterations */
    int complete;        /* every iteration complete: best is rungs_best */
    int64_t nc;
    int folds;
    rpt_halving_iter it[HALV_MAX_ITER];
    /* One row per (configuration, iteration reached), by iteration then configuration:
     * row[k] aggregates the counted records of (row_iter[k], row[k].config) (rpt_aggregate's
     * fields); row[k].rank is the row's rank_test_score: later iterations first, then the
     * higher mean (NaN last in its iteration), ties sharing the lowest rank. */
    int64_t n_rows;
    rpt_config *row;     /* malloc'ed, like the arrays below */
    int *row_iter;
    double *row_sp;      /* n_rows x folds fold scores, NaN where none */
    int *last;           /* nc: the last iteration each configuration reached with all its
                          * folds in (or failed): while an iteration runs, its candidates
                          * stay at the iteration before (their last score) */
    int64_t *last_row;   /* nc: that iteration's row */
    int64_t best;        /* rungs_best: -1 until the last iteration is complete */
    int64_t tasks_total, tasks_done; /* the schedule's CV tasks; those counted */
    int n_uncounted;     /* CV records that do not count (speculative, repeated) */
    double uncounted_cpu_s;
    unsigned char *counts; /* per entry: 1 when it counts (malloc'ed) */
} rpt_halving;

/* Replays the n entries e (file order; the refit, and records without n_resources or with
 * another resource than their iteration's, are left out) through rungs_new(sch, factor,
 * nc, folds, tie_cost) and aggregates what counts into *hv (free with rpt_halving_free).
 * tie_cost[c]: the promotions' tie-break of configuration c (NULL: costs[c].cost, or
 * unknown without costs); the rows' n_params, epochs and cost are copied from costs[c]
 * when costs is not NULL. Returns 0, or -1 with err. */
int rpt_halving_read(const halv_schedule *sch, int factor, int64_t nc, int folds, const rpt_config *costs,
                     const double *tie_cost, const jnl_entry *e, int n, rpt_halving *hv, fg_err *err);
void rpt_halving_free(rpt_halving *hv); /* zeroes it; NULL and a zeroed one are no-ops */

/* The images the search ran over, for a samples resource: the header's subset, else the
 * training images its sessions recorded, else n_train_total (0: unknown). */
int rpt_n_searched(const jnl_header *h, const jnl_session *s, int ns, int n_train_total);

/* The schedule of g's halving search as it ran (rungs_schedule with n_searched and the
 * header's class count). Returns 0, or -1 with err. */
int rpt_halving_schedule(const grid *g, const jnl_header *h, int n_searched, halv_schedule *sch, fg_err *err);

/* g's halving search read from e: rpt_halving_read on rpt_halving_schedule's schedule, the
 * rows' costs from the records (else the grid), the promotions' tie-break from the grid
 * (rpt_costs, as the coordinator's). Returns 0, or -1 with err. */
int rpt_halving_of(const grid *g, const jnl_header *h, int n_searched, const jnl_entry *e, int n,
                   rpt_halving *hv, fg_err *err);

/* 1 when g is a halving search (grid_search_of(g)->strategy == GRID_SEARCH_HALVING). */
int rpt_is_halving(const grid *g);

/* Configuration-level order of a halving search: c[0..nc) (each configuration at its last
 * iteration last[c]) ordered into order, later iterations first, then rpt_ranks_before;
 * c[i].rank set the same way (ties in iteration and mean share the lowest rank). */
void rpt_halving_order(rpt_config *c, const int *last, int64_t nc, int64_t *order);

#endif
