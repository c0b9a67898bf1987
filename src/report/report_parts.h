/* report_parts.h - what the report's writers share (internal to src/report): the context
 * rpt_write computes once (ranking, best, one-standard-error choice, refit, learning
 * curves, plots), the environment the results came from, and each writer's entry point:
 * cv_results.csv (report_csv.c), the figures (report_plots.c), report.md (report_md.c and
 * report_env.c), report.html (report_html.c), report.yaml (report_yaml.c). */
#ifndef REPORT_PARTS_H
#define REPORT_PARTS_H

#include <stdint.h>
#include <stdio.h>

#include "report.h"
#include "report_halving.h"

#define RPT_TOP_CURVES 5 /* learning curves drawn: the top configurations */
#define RPT_MAX_PLOTS 8


/* Per-epoch means over folds of one configuration's histories (or the refit's). */
typedef struct {
    int n;                       /* epochs with at least one value */
    double loss[NN_MAX_EPOCHS], acc[NN_MAX_EPOCHS], val_loss[NN_MAX_EPOCHS], val_acc[NN_MAX_EPOCHS];
    int cnt[NN_MAX_EPOCHS], vcnt[NN_MAX_EPOCHS];
} rpt_hist;

/* Everything the writers need, computed once by rpt_write (all borrowed but seen). */
typedef struct {
    const char *dir;
    const grid *g;
    const jnl_header *h;
    const rpt_config *c;
    const double *sp;       /* nc x folds fold scores */
    const int64_t *order;   /* rpt_order */
    int64_t nc;
    int folds;
    const jnl_entry *e;
    int n;
    const rpt_env *env;
    int64_t best, pick;     /* rpt_best, the one-standard-error choice (rpt_compare) */
    /* A halving search (NULL otherwise): c[i] is configuration i at its last iteration
     * last[i], order puts later iterations first, best is rungs_best (before the search
     * ends: the leader of the highest iteration reached), and the statistics compare only
     * the candidates of iteration stat_iter (the highest reached) with it. c0 is every
     * configuration at one resource, for the per-parameter summaries: iteration 0's rows
     * (c itself for an exhaustive search). */
    const rpt_halving *hv;
    const int *last;
    int stat_iter;
    const rpt_config *c0;
    double ratio;           /* rpt_test_train_ratio */
    const jnl_entry *refit; /* the best configuration's refit record, or NULL */
    const int32_t *conf;    /* the refit's confusion matrix, conf_k x conf_k: its entry's, or */
    int32_t *conf_own;      /* (entries merged from several journals have none) read with its history */
    int conf_k;
    const char *names[JNL_MAX_CLASSES]; /* its class names (rpt_class_names_of) */
    char num[JNL_MAX_CLASSES][12];
    int n_top;
    int64_t top[RPT_TOP_CURVES];
    int top_iter[RPT_TOP_CURVES]; /* the iteration whose records make its curve (0: exhaustive) */
    rpt_hist top_h[RPT_TOP_CURVES], refit_h;
    char *seen; /* n_top x folds: a fold's first record counts (malloc'ed) */
    int n_plots, plots_drawn;
    char plot_stem[RPT_MAX_PLOTS][64], plot_title[RPT_MAX_PLOTS][256];
    char plot_msg[FG_ERR_MAX];
} rpt_ctx;

/* The environment of a report, from the journals' session records when they have them,
 * else from the process writing the report (journals older than session records). */
typedef struct {
    const char *version, *git_rev, *compiler, *mpi, *blas, *command_line, *host, *started_utc, *data_dir;
    int ranks, threads, from_sessions;
    double wall_time;  /* sum of the sessions' recorded wall times */
    int n_unended;     /* sessions without an end record (still running, or killed) */
    uint32_t test_images_crc32, test_labels_crc32;
    int n_test;
} rpt_eff_env;

/* ---- report.c: small shared helpers ---- */
/* "partial" or the nn_status name. */
const char *rpt_status_text(int s);
/* Seconds as "12.3 s", "4.5 min", "1.20 h", or "-" when unknown. */
void rpt_fmt_secs(char *buf, size_t n, double s);
/* The best configuration's last refit record, or NULL (a search may also have refitted a
 * configuration that led for a while). */
const jnl_entry *rpt_find_refit(const jnl_entry *e, int n, int64_t best);
/* The names of the k classes of the refit's confusion matrix into names (the grid's
 * data.class_names when it lists k, else data_class_name's defaults; num holds numbers). */
void rpt_class_names_of(const grid *g, int k, const char **names, char (*num)[12]);

/* ---- report_hist.c ---- */
/* Reads the learning curves of x's top configurations and its refit from every journal of
 * x->dir (jnl_dir_journals), or journal_path when it has none, into x->top_h, x->refit_h. */
void rpt_read_histories(rpt_ctx *x, const char *journal_path);

/* ---- report_csv.c ---- */
/* Writes dir/cv_results.csv (scikit-learn's column names) atomically. Returns 0 or -1. */
int rpt_write_csv(const char *dir, const grid *g, const rpt_config *c, const double *sp, int64_t nc,
                  int folds, fg_err *err);
/* A halving search's: one row per (configuration, iteration) of hv with `iter` and
 * `n_resources` first; a configuration's last row carries its comparison with the best from
 * c (configuration-level, as in rpt_ctx). Returns 0 or -1. */
int rpt_write_csv_halving(const char *dir, const grid *g, const rpt_halving *hv, const rpt_config *c,
                          fg_err *err);

/* ---- report_plots.c ---- */
/* Writes the figures' data, script and images into x->dir/plots; fills x->n_plots, the
 * stems and titles, x->plots_drawn, or x->plot_msg with why they were not drawn. */
void rpt_make_plots(rpt_ctx *x);

/* ---- report_env.c ---- */
/* The environment of the report: the session that started the search when sessions are
 * recorded, else env's fields (o zeroed when env is NULL). */
void rpt_effective_env(const rpt_env *env, const jnl_entry *e, int n, int64_t best, rpt_eff_env *o);
/* report.md's "Timings and environment" section. */
void rpt_md_env(FILE *f, const rpt_ctx *x);

/* ---- report_md_halving.c ---- */
/* report.md's "Iterations" section of a halving search (nothing for another). */
void rpt_md_iterations(FILE *f, const rpt_ctx *x);

/* ---- report_md.c ---- */
/* Writes report.md's text to f. */
void rpt_write_md(FILE *f, const rpt_ctx *x);

/* ---- report_html.c ---- */
/* Converts the report's Markdown md to a self-contained HTML page on f, the figures
 * plots/X.svg embedded as data: URIs of dir/plots/X.png. */
void rpt_html_from_md(FILE *f, const char *md, const char *dir, const char *title);

/* ---- report_yaml.c ---- */
/* Writes dir/report.yaml through libyaml's emitter, atomically. Returns 0 or -1. */
int rpt_write_yaml(const rpt_ctx *x, fg_err *err);

#endif
