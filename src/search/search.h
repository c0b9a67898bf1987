/* search.h - the coordinator's policy on rank 0: the state of one search (the search
 * struct), what runs next (dispatch order, and the refit of the leading configuration,
 * early when ranks would otherwise wait), what a result changes (the journal, the running
 * sums, the best so far, the progress line), the refit's result (its record, the model's
 * parameters), signals (stop, grace) and the end of this run's session record. sched.c is
 * the transport, dispatch.c the order of the fold tasks; the flow of a search (set-up,
 * results directory, finish) is the search command's (src/cli/cmd_search.c).
 *
 * The best configuration, here as everywhere, is rpt_best's: the highest mean CV score,
 * ties in the mean to the lower cost (parameters x epochs), then to the lower index. */
#ifndef SEARCH_H
#define SEARCH_H

#include <stdint.h>

#include "dispatch.h"
#include "fault.h"
#include "fg_sched.h"
#include "fg_util.h"
#include "grid.h"
#include "journal.h"
#include "report.h"
#include "rungs.h"
#include "task.h"

/* The state of one search on rank 0; the search command fills the settings. */
typedef struct {
    grid *g;
    int quiet;             /* --quiet: no progress lines */
    double grace;          /* seconds running tasks may finish after a signal */
    int64_t n_configs;
    int folds, n_tasks;
    int n_pending;         /* tasks not yet in the journal */
    int n_shown;           /* tasks of this run (this shard's with --shard) */
    int appended;          /* records written by this session */
    double t_signal;       /* when the coordinator first saw a signal */
    fault_plan fault;
    double *cost;          /* per task */
    double cost_total, cost_done;
    jnl *journal;
    char dir[4096], journal_path[4200];
    double t_start;
    int done, failed;
    /* per configuration running sums for "best so far" (search_tally) */
    double *sum;
    int *cnt, *bad;
    rpt_config *rank_cfg;  /* per configuration: mean (NaN until every fold is in) and cost */
    double best_mean;
    int64_t best_config;   /* rpt_best of rank_cfg: the leader, as the reports rank it */
    int tty;
    int fatal;
    fg_err err;
    /* dispatch */
    dsp_queue *queue;      /* fold tasks still to hand out, longest expected first */
    int in_flight;         /* fold tasks handed out whose results have not arrived */
    /* the refit, run by the scheduler as task n_tasks + config: early (speculatively) for
     * the configuration leading when ranks would otherwise wait, then for the best */
    int refit_in_sched;    /* 0: after the search, on rank 0 (shards, no refit, resumed done) */
    char *refit_state;     /* per configuration: 0 none, 1 running, 2 journaled */
    int refits_running;
    int64_t final_best;    /* -2 until every fold result is in */
    int64_t model_config;  /* the configuration whose parameters are in model_params, or -1 */
    float *model_params;
    int64_t model_n;
    const data_set *test;
    int n_searched;        /* images searched over (all, or the subset) */
    int n_workers;         /* ranks that train (rank 0's thread included) */
    int lock_fd;           /* the lock on the journal this run writes, or -1 */
    jnl_session session;   /* this run's session record */
    int session_written;   /* its start record is in the journal */
    /* refit ids start here: n_tasks, or n_iterations x n_tasks in a halving search */
    int32_t refit_base;
    /* successive halving (issue 15, search_halving.c); rg NULL in an exhaustive search */
    int halving;           /* the grid's search is halving: hsch is its schedule */
    halv_schedule hsch;
    rungs *rg;             /* the iterations: candidates, results that count, promotions */
    char *hstate;          /* per (iteration, task): 0 not handed out, 1 running, 2 journaled */
    int h_iter;            /* the iteration whose tasks the queue holds */
    int h_no_spec;         /* nothing to speculate on until the next result (polls are cheap) */
    int32_t *family;       /* per configuration, its architecture family (the queue's) */
} search;

/* What a worker needs: its task context, the test set (for a refit) and the network of its
 * last refit, kept until the next task so that the scheduler can send its parameters. */
typedef struct {
    task_ctx *t;
    const data_set *test;
    int n_tasks;
    nn_net *net;
} search_worker;

/* Allocates s's per-task and per-configuration arrays (s->g, n_configs and n_tasks set),
 * each configuration's cost for the best rule (rpt_costs); sets no best yet. Returns 0,
 * or -1 when out of memory (search_free frees what was made). */
int search_alloc(search *s);

/* Configuration c has every fold in (sums in s): its mean counts; c = -1: every such
 * configuration (after a resume). Then the best so far is rpt_best's (see above). */
void search_tally(search *s, int64_t c);

/* The scheduler's callbacks and contexts for a search (s on rank 0, w on every rank); the
 * caller sets worker_ok and worker_why. */
void search_plan(search *s, search_worker *w, sched_plan *plan);

/* Writes this run's session record before its first result (once). Returns 0, or -1 with
 * err. */
int search_ensure_session(search *s, fg_err *err);

/* Appends the end of this run's session record (wall time since t_start, the ranks that
 * trained); a failure is left for what fails next to report. */
void search_end_session(search *s, const sched_stats *st, int interrupted, double t_start);

/* ---- successive halving (search_halving.c) ---------------------------------------------
 * The same coordinator with iterations: iteration i's tasks are handed out longest first;
 * when its queue is empty but some of them still run, idle ranks start iteration i+1's
 * tasks of the leaders so far (rungs_leaders) speculatively; when iteration i completes,
 * rungs promotes and the queue becomes the promoted candidates' tasks not yet started. A
 * speculative result of a candidate that is then not promoted is journaled (a real result)
 * but does not count. The best is rungs_best; the refit (early only in the last iteration,
 * for its leader) trains it with the last iteration's resource. Task ids: task_halving. */

/* The task ids' layout of schedule sch (resource r) for n_configs x folds tasks into *h;
 * -1 with err when iterations x tasks + configurations does not fit in an int32. */
int search_halving_ids(const halv_schedule *sch, halv_resource r, int64_t n_configs, int folds,
                       task_halving *h, fg_err *err);
/* The task ids of g's search for n_searched images of n_classes classes into *h (rungs_schedule,
 * search_halving_ids): n_iter 0 when g is not a halving search. Returns 0, or -1 with err. */
int search_halving_task_ids(const grid *g, int n_searched, int n_classes, task_halving *h, fg_err *err);
/* After search_alloc, for a halving search: the iterations (rungs), the task states.
 * Returns 0, or -1 when out of memory. */
int search_halving_init(search *s, fg_err *err);
/* A record of the journal being continued (fold >= 0): counted into the iterations (a
 * second record of a task is not). Returns 0, or -1 with why when its n_resources is not
 * the schedule's for its iteration (the record is then not used). */
int search_halving_recorded(search *s, const jnl_entry *x, char *why, size_t n);
/* The dispatch queue of the current iteration (its candidates' tasks not handed out);
 * family: per configuration (kept). Returns 0, or -1 with err. */
int search_halving_queue(search *s, fg_err *err);
/* The tasks of the schedule (what the progress counts). */
int search_halving_total(const search *s);
/* The scheduler's next task in a halving search (see above), or -1; *refit gets the
 * configuration to refit now instead (else -1). */
int32_t search_halving_next(search *s, int64_t *refit);
/* A fold result of task id task (journaled): counted, and a promotion's new queue. Returns
 * 0, or -1 with s->err (s->fatal set). */
int search_halving_result(search *s, int32_t task, const jnl_record *r);

/* Frees what search_alloc made, the queue and the refit's parameters. */
void search_free(search *s);

#endif
