/* rank.h - ranking and the use of statistics, as pure functions of journal entries and
 * aggregated scores: per-configuration aggregation of the fold records, the one tie rule
 * (rpt_best: mean, then cost, then index) and the order it gives, the comparison of every
 * configuration with the best and the one-standard-error choice, and per-parameter-value
 * summaries. rpt_costs alone reads the grid, for journals whose records lack the cost. */
#ifndef RANK_H
#define RANK_H

#include <stdint.h>

#include "fg_util.h"
#include "grid.h"
#include "journal.h"

#define RPT_STATUS_PARTIAL (-2) /* some folds not done yet, none failed */
#define RPT_ALPHA 0.05 /* significance level of the comparisons with the best configuration */

typedef struct {
    int64_t config;
    double mean, std;         /* of the fold scores; NaN if any fold failed or is missing */
    double mean_fit, std_fit; /* seconds */
    double mean_score, std_score;
    int rank;                 /* 1 = best; ties share the lowest rank; NaN ranks last */
    int n_done;               /* folds with a record */
    int status;               /* nn_status of the first failed fold, RPT_STATUS_PARTIAL, or OK */
    int failed_fold;          /* fold whose status is reported, -1 */
    double sem;               /* standard error of the mean score: sample std / sqrt(folds) */
    int64_t n_params;         /* trainable parameters; -1 when unknown */
    int epochs;               /* configured (maximum) epochs; 0 when unknown */
    double cost;              /* n_params x epochs; NaN when unknown */
    double t_vs_best, p_vs_best; /* corrected resampled t-test against the best (rpt_compare) */
    int indistinguishable;    /* p_vs_best >= RPT_ALPHA (the best itself included); 0 for NaN */
} rpt_config;

/* Aggregates CV entries (fold >= 0; the first record of a (config, fold) wins) into one
 * rpt_config per configuration (*out, n_configs entries) and the fold scores into *splits
 * (n_configs x folds, NaN where missing or failed). n_params, epochs and cost come from the
 * records that carry them (any record of the configuration, refit included); -1, 0, NaN
 * when none does (see rpt_costs). Both malloc'ed; the caller frees. Returns 0 or -1. */
int rpt_aggregate(const jnl_entry *e, int n, int64_t n_configs, int folds, rpt_config **out,
                  double **splits, fg_err *err);

/* rpt_aggregate of the scores and times of the entries e[i] with keep[i] != 0 only (keep
 * NULL: every entry); n_params, epochs and cost still come from any record. */
int rpt_aggregate_where(const jnl_entry *e, int n, const unsigned char *keep, int64_t n_configs, int folds,
                        rpt_config **out, double **splits, fg_err *err);

/* Legacy fallback for configurations none of whose records carries its parameter count
 * (journals written before records did, configurations not run yet): fills their
 * n_params, epochs and cost from the grid (the network built for 28x28x1 images and 10
 * classes, as the search builds it). One that cannot be built keeps cost NaN. */
void rpt_costs(const grid *g, rpt_config *c, int64_t n_configs);

/* 1 when configuration a ranks before b: the higher mean (a NaN mean after every number),
 * then the lower cost (an unknown cost last), then the lower index. The one tie rule. */
int rpt_ranks_before(const rpt_config *a, const rpt_config *b);

/* Index of the best configuration, -1 if none has a score: the highest mean score; ties
 * in the mean are broken by the lower cost (parameters x epochs; an unknown cost loses),
 * then by the lower index (rpt_ranks_before). The search, `report DIR` and `reproduce` all
 * refit and report this configuration. */
int64_t rpt_best(const rpt_config *c, int64_t n_configs);

/* order[0..n_configs) = the configurations' indices, best first, by rpt_ranks_before. */
void rpt_order(const rpt_config *c, int64_t n_configs, int64_t *order);

/* n_test / n_train of one fold, averaged over the CV records that have both sizes; the
 * k-fold value 1/(folds-1) when none has. */
double rpt_test_train_ratio(const jnl_entry *e, int n, int folds);

/* Compares every configuration with the best one (rpt_best) by Nadeau and Bengio's
 * corrected resampled paired t-test over the folds (splits: n_configs x folds, as from
 * rpt_aggregate), filling t_vs_best, p_vs_best and indistinguishable. Returns the
 * one-standard-error choice: among the configurations not separated from the best
 * (p >= RPT_ALPHA), the cheapest (lowest cost, then higher mean, then lower index); -1
 * when there is no best. */
int64_t rpt_compare(rpt_config *c, const double *splits, int64_t n_configs, int folds,
                    double test_train);

/* 1 when s is a whole finite number (strtod), its value in *v. */
int rpt_is_number(const char *s, double *v);

/* Distinct values of parameter p in axis order: numeric order when every value is a
 * number, else order of first appearance. Returns the count; vals (room for nc) borrowed
 * from the grid. *numeric is set when every value is a number. */
int rpt_param_values(const grid *g, int64_t nc, int p, const char **vals, int *numeric);

/* Position of v in vals[0..nv), -1 when absent. */
int rpt_value_index(const char **vals, int nv, const char *v);

/* The configurations whose parameter p is value: *n_configs of them, *n_scored with a
 * mean score, whose mean is *mean and highest *best (NaN when none is scored). */
void rpt_value_scores(const grid *g, const rpt_config *c, int64_t nc, int p, const char *value,
                      int *n_configs, int *n_scored, double *mean, double *best);

#endif
