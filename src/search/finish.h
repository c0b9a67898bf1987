/* finish.h - the end of a search, one path for the search, `report DIR` and a resumed
 * search: the model of the best configuration saved (from a worker's parameters or a
 * refit here) or rebuilt when it was lost after its refit was journaled; `report DIR`'s
 * refit into journal.refit.jsonl as a session of its own; the report environment and the
 * session records, each filled by one function; and the reports written. Which
 * configuration is the best is results_best's (results.h): rpt_best's rule. Functions
 * that fail print one line (fg_print_error) and say so in their return value. */
#ifndef FINISH_H
#define FINISH_H

#include <stdint.h>

#include "grid.h"
#include "journal.h"
#include "nn.h"
#include "prepare.h"
#include "report.h"
#include "results.h"
#include "search.h"
#include "task.h"

/* Saves the refitted network net of config as DIR/model.fgm, with what it is (grid,
 * parameters, seed, images, test accuracy from rr) in its metadata. Returns 0, or -1 after
 * printing why. */
int fin_save_model(const char *dir, const grid *g, int64_t config, nn_net *net, const jnl_record *rr);

/* Saves a model from the n_params parameters a worker rank sent (its refit of config,
 * journaled as refit). Returns 0; 1 when the count does not match (nothing written: refit
 * again); -1 after printing why. */
int fin_save_params(const char *dir, const grid *g, int64_t config, const float *params, int64_t n_params,
                    const jnl_entry *refit);

/* DIR/model.fgm is missing although the refit record rec of best is journaled: train it
 * again on t (deterministic) and save it; without t, say how to rebuild it. Returns 0
 * (saved, or nothing to do), 1 (not rebuilt, said so), or -1 (a write failed, said). */
int fin_rebuild_model(const char *dir, const grid *g, int64_t best, const jnl_entry *rec, task_ctx *t,
                      const data_set *test, int quiet);

/* fin_rebuild_model for `report DIR`: loads the data from data_dir first (checked against
 * the journal header h; when they differ, says how to rebuild). Returns 0, 1 or -1. */
int fin_rebuild_from_data(const char *dir, grid *g, const jnl_header *h, int64_t best,
                          const jnl_entry *rec, const char *data_dir, int threads, int quiet);

/* `report DIR`'s refit of best (every task done, none refitted): the data loaded into pd
 * and checked, the refit journaled in DIR/journal.refit.jsonl as a session of its own
 * (cmd, host, started, threads; wall time from t0), then model.fgm. Returns the exit
 * status (EXIT_RUNTIME: a write failed, said: write nothing more); *have_data is set when
 * pd holds the data (the caller frees pd). */
int fin_report_refit(const char *dir, grid *g, const results *r, int64_t best, const char *data_dir,
                     int quiet, int threads, const char *cmd, const char *host, const char *started, double t0,
                     prep_data *pd, int *have_data);

/* This build's version, git revision and compiler (static strings, never NULL). */
void fin_build_info(const char **version, const char **git_rev, const char **compiler);

/* The report's environment: this build, the command line cmd run on host from started,
 * the data directory, ranks, BLAS threads, workers, wall time; the training data's CRC-32s
 * from the journal header h, the test set's and the image counts from pd (NULL: unknown). */
void fin_fill_env(rpt_env *env, const char *cmd, const char *host, const char *started, const char *data_dir,
                  int ranks, int threads, int workers, double wall, const prep_data *pd, const jnl_header *h);

/* A session record of this process (see jnl_session): the end fields (workers, wall time)
 * stay unknown until the caller sets them. */
void fin_fill_session(jnl_session *ss, int number, const char *role, const char *cmd, const char *host,
                      const char *hosts, const char *started, const char *data_dir, int ranks, int threads,
                      const prep_data *pd);

/* The number the next session of the journal file named name (NULL: any) takes. */
int fin_next_session(const jnl_session *s, int ns, const char *name);

/* The search's own refit of best on rank 0, after the search loop (when the scheduler did
 * not run it): t trains on its n_images, scored on test; model.fgm saved, then the record
 * journaled in s's session. Returns 0, or -1 after a failed write (said in one line). */
int fin_search_refit(search *s, task_ctx *t, const data_set *test, int n_images, int64_t best);

/* Writes the reports of dir (rpt_write) with env completed by the weights files' CRC-32s;
 * a plot that cannot be drawn is a warning (unless quiet), not a failure. Returns 0, or -1
 * after printing why. */
int fin_write(const char *dir, const grid *g, const jnl_header *h, const jnl_entry *e, int n, rpt_env *env,
              const char *refit_path, int quiet);

#endif
