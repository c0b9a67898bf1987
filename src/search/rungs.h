/* rungs.h - the iterations ("rungs") of a successive-halving search as its results arrive:
 * which candidates each iteration has, which of their fold tasks are in, their means, and the
 * promotions (halv_promote: the best ceil(n / factor) by mean, ties by cost, then index).
 * Built empty and fed results as they arrive (the coordinator), or fed a journal's records
 * (a resume, the reports, simulate), so that every reader of a halving search agrees on one
 * reading of it. Pure bookkeeping: no MPI, no I/O, no clock.
 *
 * A result for a configuration its iteration does not have (speculative work on a candidate
 * that was then not promoted, or a record of a later iteration read before its promotion is
 * known) is kept aside: it counts as soon as (and only if) that configuration is promoted to
 * that iteration. A second result for the same (iteration, configuration, fold) is ignored
 * (the first one counts, as the journal's first record does). */
#ifndef RUNGS_H
#define RUNGS_H

#include <stdint.h>

#include "fg_util.h"
#include "grid.h"
#include "halving.h"

typedef struct rungs rungs;

/* A search whose iteration 0 has the n_configs configurations 0..n_configs-1 (which must be
 * sch->n_candidates[0]), folds folds each, scheduled by sch (halv_schedule_make) with factor;
 * cost[c] the tie-break of configuration c (copied; NULL: unknown, NaN). NULL with err. */
rungs *rungs_new(const halv_schedule *sch, int factor, int64_t n_configs, int folds,
                 const double *cost, fg_err *err);
void rungs_free(rungs *r); /* NULL is a no-op */

/* A result: iteration iter, configuration config, fold, validation score (NaN: failed).
 * Returns 0 when it counts now, 1 when kept aside or ignored (see above), -1 when out of
 * range (iter, config or fold). A result that completes an iteration promotes the next
 * iteration's candidates (and counts the results kept aside for them). */
int rungs_add(rungs *r, int iter, int64_t config, int fold, double score);

int rungs_n_iterations(const rungs *r);  /* the schedule's n_iterations */
/* The first iteration not complete; rungs_n_iterations when every iteration is. */
int rungs_current(const rungs *r);
/* The candidates of iteration iter, known once it is promoted (iteration 0: always): their
 * count (-1 before), and the i-th, ascending configuration index. */
int rungs_n_candidates(const rungs *r, int iter);
int64_t rungs_candidate(const rungs *r, int iter, int i);
/* 1 when configuration config is a candidate of iteration iter (0 also before promotion). */
int rungs_has(const rungs *r, int iter, int64_t config);
/* 1 when the result of (iter, config, fold) counts (see rungs_add). */
int rungs_done(const rungs *r, int iter, int64_t config, int fold);
/* The mean score of config's folds in iteration iter: NaN until every fold is in (or when
 * one failed). */
double rungs_mean(const rungs *r, int iter, int64_t config);
/* The leading candidates of iteration iter so far, for speculation: up to max configuration
 * indices into out, best first by the mean of the folds in so far (configurations with no
 * result last, by index). Returns their count. */
int rungs_leaders(const rungs *r, int iter, int64_t *out, int max);
/* The best configuration of the last iteration once every iteration is complete (halving's
 * best_index_: the best mean there, ties by cost, then index); -1 before. */
int64_t rungs_best(const rungs *r);
/* The schedule r was made with (owned by r). */
const halv_schedule *rungs_sched(const rungs *r);
/* The results that count so far, over every iteration. */
int64_t rungs_n_counted(const rungs *r);
/* The resource of iteration iter (the schedule's n_resources[iter]). */
int64_t rungs_resource(const rungs *r, int iter);

/* The schedule of g's halving search (grid_search_of(g)): n_candidates = grid_n_configs(g);
 * max_resources = search.max_resources, or by default the largest configured epochs of any
 * configuration (resource epochs) or n_searched (resource samples, the images searched
 * over); min_resources as given, 'smallest' (halv_smallest with the folds and n_classes) or
 * 'exhaust' (the default). What one task of iteration i trains with:
 *   epochs:  min(n_resources[i], the configuration's own epochs) epochs, from scratch;
 *   samples: its fold's training and validation images each subsampled to the fraction
 *            n_resources[i] / max_resources (at least one image of each), the same images
 *            for every configuration (seeded by cv_seed, the fold and the resource).
 * Returns 0, or -1 with err naming the grid's search setting at fault (file:line:col). */
int rungs_schedule(const grid *g, int n_searched, int n_classes, halv_schedule *out,
                   fg_err *err);

#endif
