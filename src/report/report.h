/* report.h - the public entry of the report module: the report files of a search, always
 * recomputed from journal entries (cv_results.csv with scikit-learn's column names,
 * report.md, report.html, report.yaml, the figures), the grid's check of journal records,
 * and report.yaml read back. Ranking and statistics use are in rank.h (included). Files
 * are written to a temporary name and renamed into place (fg_afile.h). */
#ifndef REPORT_H
#define REPORT_H

#include <stdint.h>

#include "fg_util.h"
#include "grid.h"
#include "journal.h"
#include "rank.h" /* rpt_config, rpt_aggregate, rpt_best, ... */

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
    int in_h, in_w, in_c, classes; /* data.shape and data.classes, 0 when not recorded
                                    * (28x28x1 and 10: see jnl_header) */
    uint32_t train_images_crc32, train_labels_crc32, test_images_crc32, test_labels_crc32;
    int64_t best_config;      /* -1 when the report has none */
    int64_t n_configs;
    double *split;            /* n_configs x folds fold scores (NaN where none), malloc'ed */
    int *iter;                /* per configuration: the halving iteration its fold scores are
                               * from (configurations[].iter), -1 when none (other searches) */
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
