/* search.c - the coordinator's policy on rank 0 (see search.h): what runs next, what a
 * result changes, the refit inside the scheduler, and the callbacks sched.c calls. */
#define _POSIX_C_SOURCE 200809L
#include "search.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cv.h"
#include "fg_msg.h"
#include "nn.h"
#include "results.h"
#include "signals.h"

/* Writes this run's session record before its first result: a run that adds nothing to the
 * journal (a finished search re-run) leaves no trace in it. */
int search_ensure_session(search *s, fg_err *err)
{
    if (s->session_written)
        return 0;
    if (jnl_append_session(s->journal, &s->session, err))
        return -1;
    s->session_written = 1;
    return 0;
}

/* The worker function, with FG_FAULT=workerkill:N: a worker rank (not rank 0) dies by
 * SIGKILL when it starts its N-th task, as a node failure or the OOM killer would do. */
static int work_fn(void *ctx, int32_t task, void *result, sched_blob *blob)
{
    search_worker *w = ctx;
    nn_net_free(w->net);
    w->net = NULL;
    fault_worker_task(w->t->rank);
    if (task < w->n_tasks)
        return task_run(w->t, task, result);
    jnl_record *r = result;
    task_refit(w->t, task - w->n_tasks, w->test, r, &w->net);
    r->e.task = task;
    if (w->net) {
        blob->data = nn_net_params(w->net);
        blob->len = (size_t)nn_net_n_params(w->net) * sizeof(float);
    }
    return 0;
}


/* The best configuration as the reports will name it, from the journal. */
static int64_t journal_best(search *s)
{
    jnl_contents jc;
    fg_err err;
    int64_t best = -1;
    if (results_load_journal(s->journal_path, s->g, &jc, &err) == 0) {
        best = results_best(s->g, jc.e, jc.n);
        jnl_contents_free(&jc);
    }
    return best;
}

/* Hands out the refit of configuration c (task refit_base + c). */
static int32_t start_refit(search *s, int64_t c)
{
    s->refit_state[c] = 1;
    s->refits_running++;
    if (!s->quiet) {
        char res[64] = "";
        if (s->rg && grid_search_of(s->g)->resource == HALV_EPOCHS) /* halving: the last resource */
            snprintf(res, sizeof res, " with at most %lld epochs",
                     (long long)s->hsch.n_resources[s->hsch.n_iterations - 1]);
        if (s->tty)
            fputc('\n', stderr);
        fprintf(stderr, "fmnist-grid: refitting configuration %lld (%s) on all %d searched images%s%s\n",
                (long long)c, grid_config_params(s->g, c), s->n_searched, res,
                s->in_flight || dsp_left(s->queue) ? ", early: it leads while the last folds run" : "");
    }
    return (int32_t)(s->refit_base + c);
}

static int32_t on_next(void *p)
{
    search *s = p;
    int64_t c = -1;
    if (s->rg) { /* successive halving: search_halving.c */
        int32_t t = search_halving_next(s, &c);
        return t >= 0 || c < 0 ? t : start_refit(s, c);
    }
    if (dsp_left(s->queue) > 0) {
        /* The refit of the configuration leading so far is the longest task left once the
         * work still queued would keep every worker busy for less than it: start it then,
         * so that short folds fill the end instead of ranks waiting for a refit. Only with
         * several workers (alone, an early refit can only add work). */
        int64_t b = s->best_config;
        if (s->refit_in_sched && s->n_workers > 1 && !s->refits_running && b >= 0 && !s->refit_state[b]) {
            int n_fold_train = cv_n_train(s->n_searched, s->folds, grid_opts_c(s->g)->validation_split);
            double refit_s = dsp_expected(s->queue, (int32_t)(b * s->folds)) * s->n_searched /
                             (n_fold_train > 0 ? n_fold_train : 1);
            if (dsp_work_left(s->queue) / s->n_workers <= refit_s)
                c = b;
        }
        if (c < 0) {
            s->in_flight++;
            return dsp_next(s->queue);
        }
    } else if (!s->refit_in_sched) {
        return -1;
    } else if (s->in_flight == 0) {
        /* Every fold result is in: the best is known. */
        if (s->final_best == -2)
            s->final_best = journal_best(s);
        if (s->final_best >= 0 && !s->refit_state[s->final_best])
            c = s->final_best;
    } else if (!s->refits_running && s->best_config >= 0 && !s->refit_state[s->best_config]) {
        /* Ranks would wait for the last folds: refit the configuration leading so far.
         * Results do not depend on which rank trains, so it is the same refit. */
        c = s->best_config;
    }
    if (c < 0)
        return -1;
    return start_refit(s, c);
}

static int on_left(void *p)
{
    search *s = p;
    return dsp_left(s->queue);
}

/* A refit's result: journal it; keep the parameters of the model to save. */
static int refit_done(search *s, const jnl_record *r, const sched_blob *blob, int rank)
{
    int64_t c = r->e.config;
    if (c < 0 || c >= s->n_configs || r->e.fold != JNL_REFIT) {
        fg_err_set(&s->err, "a refit result names configuration %lld, fold %d", (long long)c, r->e.fold);
        s->fatal = 1;
        return -1;
    }
    jnl_record *copy = malloc(sizeof *copy);
    if (!copy) {
        fg_err_set(&s->err, "out of memory recording a refit");
        s->fatal = 1;
        return -1;
    }
    memcpy(copy, r, sizeof *copy);
    copy->e.rank = rank;
    copy->e.task = -1;
    int rc = search_ensure_session(s, &s->err) || jnl_append(s->journal, copy, grid_config_params(s->g, c), &s->err);
    free(copy);
    if (rc) {
        s->fatal = 1;
        return -1;
    }
    s->appended++;
    s->refit_state[c] = 2;
    s->refits_running--;
    fault_after_refit(&s->fault, s->appended); /* journaled, model.fgm not written yet */
    if (blob->len > 0 && blob->len % sizeof(float) == 0) {
        float *keep = malloc(blob->len);
        if (keep) {
            memcpy(keep, blob->data, blob->len);
            free(s->model_params);
            s->model_params = keep;
            s->model_n = (int64_t)(blob->len / sizeof(float));
            s->model_config = c;
        }
    }
    if (!s->quiet) {
        if (r->e.status == NN_STATUS_OK)
            fprintf(stderr, "%sfmnist-grid: refit of configuration %lld: test accuracy %.4f (%d images), %.1f s on rank %d\n",
                    s->tty ? "\r\033[K" : "", (long long)c, r->e.test_acc, s->test ? s->test->n : 0,
                    r->e.fit_time, rank);
        else
            fprintf(stderr, "%sfmnist-grid: refit of configuration %lld %s: %s\n", s->tty ? "\r\033[K" : "",
                    (long long)c, nn_status_name((nn_status)r->e.status), r->e.msg);
    }
    return 0;
}

static void show_progress(const search *s, const jnl_record *rec, int rank);

static int on_done(void *p, int32_t task, const void *result, const sched_blob *blob, int rank)
{
    search *s = p;
    const jnl_record *r = result;
    if (task >= s->refit_base)
        return refit_done(s, r, blob, rank);
    s->in_flight--;
    if (!s->rg)
        dsp_observe(s->queue, task, r->e.fit_time + r->e.score_time);
    jnl_record copy;
    const jnl_record *rec = r;
    if (r->e.rank != rank || s->rg) { /* the rank is the coordinator's knowledge, not the worker's */
        memcpy(&copy, r, sizeof copy);
        copy.e.rank = rank;
        if (s->rg) /* halving: the journal's task is config x folds + fold, iter apart */
            copy.e.task = task % s->n_tasks;
        rec = &copy;
    }
    if (search_ensure_session(s, &s->err) || jnl_append(s->journal, rec, grid_config_params(s->g, rec->e.config), &s->err)) {
        s->fatal = 1;
        return -1;
    }
    s->done++;
    s->appended++;
    fault_after_result(&s->fault, s->appended);
    if (s->rg) {
        if (search_halving_result(s, task, rec))
            return -1;
        if (!s->quiet)
            show_progress(s, rec, rank);
        return 0;
    }
    int64_t c = rec->e.config;
    if (task >= 0 && task < s->n_tasks)
        s->cost_done += s->cost[task];
    if (rec->e.status == NN_STATUS_OK) {
        s->sum[c] += rec->e.val_acc;
        s->cnt[c]++;
    } else {
        s->bad[c]++;
        s->failed++;
    }
    if (s->cnt[c] == s->folds && !s->bad[c])
        search_tally(s, c);
    if (!s->quiet)
        show_progress(s, rec, rank);
    return 0;
}

/* The progress line of a fold result: tasks done, elapsed, expected time left, the best
 * so far (search_tally's), the result. */
static void show_progress(const search *s, const jnl_record *rec, int rank)
{
    double el = fg_now() - s->t_start;
    double frac = s->cost_total > 0 ? s->cost_done / s->cost_total : (double)s->done / s->n_shown;
    double eta = frac > 0 ? el * (1 - frac) / frac : NAN;
    char e1[32], e2[32], best[64] = "-";
    fg_fmt_hms(e1, sizeof e1, el);
    fg_fmt_hms(e2, sizeof e2, s->done == s->n_shown ? 0 : eta);
    if (s->best_config >= 0)
        snprintf(best, sizeof best, "%.4f (config %lld)", s->best_mean, (long long)s->best_config);
    char what[96], iter[32] = "";
    if (s->rg) /* successive halving: the iteration in progress */
        snprintf(iter, sizeof iter, " iter %d/%d", rungs_current(s->rg) + (rungs_current(s->rg) < s->hsch.n_iterations),
                 s->hsch.n_iterations);
    if (rec->e.status == NN_STATUS_OK)
        snprintf(what, sizeof what, "config %d fold %d: %.4f in %.1f s on rank %d", rec->e.config,
                 rec->e.fold, rec->e.val_acc, rec->e.fit_time, rank);
    else
        snprintf(what, sizeof what, "config %d fold %d: %s on rank %d", rec->e.config, rec->e.fold,
                 nn_status_name((nn_status)rec->e.status), rank);
    if (s->tty)
        fprintf(stderr, "\r\033[K[%d/%d]%s %3.0f%% elapsed %s eta %s best %s | %s", s->done,
                s->n_shown, iter, 100.0 * s->done / s->n_shown, e1, e2, best, what);
    else
        fprintf(stderr, "[%d/%d]%s %3.0f%% elapsed %s eta %s best %s | %s\n", s->done, s->n_shown,
                iter, 100.0 * s->done / s->n_shown, e1, e2, best, what);
}

static int on_stop(void *p)
{
    (void)p;
    return signals_received() != 0;
}

/* After a signal: give up on running tasks once the grace period is over or at a second
 * signal. */
static int on_abandon(void *p)
{
    search *s = p;
    if (!signals_received())
        return 0;
    if (s->t_signal == 0)
        s->t_signal = fg_now();
    /* mpirun ending the job (see on_signal) leaves a second: no grace. */
    return signals_launcher_term() || signals_count() > 1 || fg_now() - s->t_signal >= s->grace;
}

static void on_lost(void *p, int rank, const char *why)
{
    (void)p;
    fprintf(stderr, "fmnist-grid: rank %d cannot work and is left out: %s\n", rank, why);
}
/* Appends the end of this run's session record (its wall time, the ranks that trained). A
 * failure is not reported: every result is already in the journal, the report then says
 * that the session recorded no end, and a full disk is reported once, by what fails next. */
void search_end_session(search *s, const sched_stats *st, int interrupted, double t_start)
{
    if (!s->journal || !s->session_written)
        return;
    fg_err err;
    s->session.ended = 1;
    s->session.interrupted = interrupted;
    s->session.workers = st->workers;
    s->session.wall_time = fg_now() - t_start;
    jnl_append_session(s->journal, &s->session, &err);
}

int search_alloc(search *s)
{
    s->cost = malloc((size_t)s->n_tasks * sizeof *s->cost);
    s->sum = calloc((size_t)s->n_configs, sizeof *s->sum);
    s->cnt = calloc((size_t)s->n_configs, sizeof *s->cnt);
    s->bad = calloc((size_t)s->n_configs, sizeof *s->bad);
    s->refit_state = calloc((size_t)s->n_configs, 1);
    s->rank_cfg = calloc((size_t)s->n_configs, sizeof *s->rank_cfg);
    s->best_config = -1;
    s->final_best = -2;
    s->model_config = -1;
    if (!s->cost || !s->sum || !s->cnt || !s->bad || !s->refit_state || !s->rank_cfg)
        return -1;
    for (int64_t i = 0; i < s->n_configs; i++) {
        s->rank_cfg[i].config = i;
        s->rank_cfg[i].mean = NAN;
        s->rank_cfg[i].n_params = -1; /* unknown: rpt_costs counts it from the grid */
        s->rank_cfg[i].cost = NAN;
    }
    rpt_costs(s->g, s->rank_cfg, s->n_configs); /* ties in the mean go to the cheaper network */
    s->refit_base = s->n_tasks;
    fg_err err;
    return s->halving ? search_halving_init(s, &err) : 0;
}

void search_tally(search *s, int64_t c)
{
    if (c >= 0) {
        s->rank_cfg[c].mean = s->sum[c] / s->folds;
    } else {
        for (int64_t i = 0; i < s->n_configs; i++)
            if (s->cnt[i] == s->folds && !s->bad[i])
                s->rank_cfg[i].mean = s->sum[i] / s->folds;
    }
    s->best_config = rpt_best(s->rank_cfg, s->n_configs);
    if (s->best_config >= 0)
        s->best_mean = s->rank_cfg[s->best_config].mean;
}

void search_plan(search *s, search_worker *w, sched_plan *plan)
{
    plan->next = on_next;
    plan->left = on_left;
    plan->result_bytes = sizeof(jnl_record);
    /* With FG_FAULT=workerkill:N rank 0 only coordinates, so that the worker ranks are
     * sure to run tasks and one of them reaches its N-th. */
    plan->local_worker = !fault_coordinator_only() || sched_size() == 1;
    plan->work = work_fn;
    plan->done = on_done;
    plan->stop = on_stop;
    plan->abandon = on_abandon;
    plan->lost = on_lost;
    plan->ctx = w;
    plan->ctx0 = s;
}

void search_free(search *s)
{
    dsp_free(s->queue);
    free(s->cost), free(s->sum), free(s->cnt), free(s->bad), free(s->refit_state), free(s->rank_cfg);
    free(s->model_params);
    s->queue = NULL;
    s->cost = s->sum = NULL;
    s->cnt = s->bad = NULL;
    s->refit_state = NULL;
    s->rank_cfg = NULL;
    s->model_params = NULL;
    rungs_free(s->rg);
    free(s->hstate);
    free(s->family);
    s->rg = NULL;
    s->hstate = NULL;
    s->family = NULL;
}
