/* report.h - aggregation, ranking and the report files of a search, always recomputed
 * from journal entries: cv_results.csv (scikit-learn's column names), report.md and
 * report.yaml (written with libyaml's emitter). Files are written to a temporary name and
 * renamed into place. */
#ifndef REPORT_H
#define REPORT_H

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
    int64_t n_params;         /* trainable parameters; -1 when unknown (rpt_costs fills it) */
    int epochs;               /* configured (maximum) epochs; 0 when unknown */
    double cost;              /* n_params x epochs; NaN when unknown */
    double t_vs_best, p_vs_best; /* corrected resampled t-test against the best (rpt_compare) */
    int indistinguishable;    /* p_vs_best >= RPT_ALPHA (the best itself included); 0 for NaN */
} rpt_config;

/* Aggregates CV entries (fold >= 0; the first record of a (config, fold) wins) into one
 * rpt_config per configuration (*out, n_configs entries) and the fold scores into *splits
 * (n_configs x folds, NaN where missing or failed). Both malloc'ed; the caller frees. */
int rpt_aggregate(const jnl_entry *e, int n, int64_t n_configs, int folds, rpt_config **out,
                  double **splits, fg_err *err);

/* Fills n_params, epochs and cost of every configuration from the grid (the network built
 * for 28x28x1 images and 10 classes, as the search builds it). A configuration that cannot
 * be built keeps cost NaN. */
void rpt_costs(const grid *g, rpt_config *c, int64_t n_configs);

/* Index of the best configuration, -1 if none has a score: the highest mean score; ties
 * in the mean are broken by the lower cost (parameters x epochs; an unknown cost loses),
 * then by the lower index. Call rpt_costs first for the cost rule to apply. The search,
 * `report DIR` and `reproduce` all refit and report this configuration. */
int64_t rpt_best(const rpt_config *c, int64_t n_configs);

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

#define RPT_MAX_WEIGHTS 16 /* weights files a report records */

/* The grid's side of checking journal records (see jnl_expect): a record's configuration
 * hash must be that configuration's in the grid and its epochs at most the configured
 * number. Fills x; free with rpt_journal_expect_free. Returns 0 or -1 (out of memory). */
int rpt_journal_expect(const grid *g, jnl_expect *x, fg_err *err);
void rpt_journal_expect_free(jnl_expect *x);

/* Everything about the run that is not in the journal. Strings may be NULL. When the
 * journals hold session records (sessions, n_sessions > 0), the report's environment is
 * theirs, the environment the results came from, and the fields below describe only the
 * process writing the report (used when a journal predates session records). */
typedef struct {
    const jnl_session *sessions; /* every session of every journal (entries' .session index it) */
    int n_sessions;
    /* `report DIR`: when, where and by what command the report was regenerated (NULL in the
     * search's own report). */
    const char *regenerated_utc, *regenerated_by, *regenerated_host;
    const char *version, *git_rev, *compiler, *mpi, *blas, *command_line, *host;
    const char *started_utc, *data_dir, *journal_name;
    int ranks, threads, workers;
    double wall_time;
    uint32_t train_images_crc32, train_labels_crc32, test_images_crc32, test_labels_crc32;
    int n_train_total, n_test;
    int interrupted;   /* the search stopped before every task was done */
    int n_weights;     /* the Keras weights files the grid names, with their CRC-32 */
    const char *weights_path[RPT_MAX_WEIGHTS];
    uint32_t weights_crc32[RPT_MAX_WEIGHTS];
    fg_err *plot_warning; /* out, may be NULL: why the plots were not drawn, "" when they were */
} rpt_env;

/* Writes cv_results.csv, report.md, report.html (self-contained: the plots embedded),
 * report.yaml and the figures (dir/plots/: CSV data, a gnuplot script, SVG and PNG when
 * gnuplot runs) into dir. Histories (learning curves) are read again from every
 * dir/journal*.jsonl, or journal_path when dir has none. Plots that cannot be drawn are
 * not an error: report.md says why and env->plot_warning receives it. Returns 0 or -1. */
int rpt_write(const char *dir, const grid *g, const jnl_header *h, const jnl_entry *e, int n,
              const rpt_env *env, const char *journal_path, fg_err *err);

/* What `reproduce` needs from a report.yaml (read back with libyaml's event parser, so
 * memory follows what is kept, not the file's size). A report.yaml larger than
 * RPT_YAML_MAX bytes, or with more than RPT_MAX_CONFIGS configurations, is refused. */
#define RPT_YAML_MAX (1024u * 1024u * 1024u)
#define RPT_MAX_CONFIGS 10000000
#define RPT_GRID_TEXT_MAX (64u * 1024u * 1024u)
#define RPT_MAX_FOLDS 100
#define RPT_MAX_PARAMS 64
typedef struct {
    char *grid_text;          /* the grid file as searched (malloc'ed; rpt_summary_free) */
    size_t grid_len;
    char grid_path[4096];
    uint64_t seed, cv_seed, folds_checksum;
    int subset, folds;
    uint32_t train_images_crc32, train_labels_crc32, test_images_crc32, test_labels_crc32;
    int64_t best_config;      /* -1 when the report has none */
    int64_t n_configs;
    double *split;            /* n_configs x folds fold scores (NaN where none), malloc'ed */
    int refit_config;         /* -1 when there was no refit */
    double refit_test_accuracy;
    char blas[256], git_revision[64];
    int blas_threads;
    /* For `compare` (NaN / -1 / empty when the report predates them): */
    char grid_name[64];
    double best_mean, best_std, best_sem;
    int n_best_params;
    char best_param_name[RPT_MAX_PARAMS][64], best_param_value[RPT_MAX_PARAMS][128];
    int64_t tasks, tasks_done;
    double training_time, wall_time;
    int64_t one_se_choice;
    int n_indistinguishable;  /* -1 when unknown */
    int n_weights;            /* weights files and their CRC-32 (0 before they were recorded) */
    char weights_path[RPT_MAX_WEIGHTS][1024];
    uint32_t weights_crc32[RPT_MAX_WEIGHTS];
} rpt_summary;

/* Reads the fields above from a report.yaml written by rpt_write, checking each: the grid
 * text against its recorded hash (grid.sha), the presence and range of every field
 * `reproduce` needs (seed, cv.folds, cv.seed, the fold checksum, data.subset and the CRCs,
 * grid.configurations = the number of entries of `configurations`, each with folds split
 * scores in [0, 1] or null, best and refit configurations within range). Returns 0, or -1
 * with one line naming the file and the field. */
int rpt_read_summary(const char *path, rpt_summary *out, fg_err *err);
void rpt_summary_free(rpt_summary *s);

#endif
