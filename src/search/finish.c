/* finish.c - the end of a search, one path for the search, `report DIR` and a resumed
 * search: the model saved or rebuilt, report DIR's refit journaled, the environment and
 * session records filled, the reports written (see finish.h). */
#define _POSIX_C_SOURCE 200809L
#include "finish.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fault.h"
#include "fg_msg.h"
#include "fg_sched.h"
#include "model.h"
#include "nn_gemm.h"

/* CMake defines these for this file only (fin_build_info is their one reader). */
#ifndef FG_VERSION
#define FG_VERSION "0.0.0"
#endif
#ifndef FG_GIT_REV
#define FG_GIT_REV "unknown"
#endif
#ifndef FG_COMPILER
#define FG_COMPILER "unknown"
#endif

void fin_build_info(const char **version, const char **git_rev, const char **compiler)
{
    *version = FG_VERSION;
    *git_rev = FG_GIT_REV;
    *compiler = FG_COMPILER;
}

/* Saves the refitted network as DIR/model.fgm with what it is in its metadata. */
int fin_save_model(const char *dir, const grid *g, int64_t config, nn_net *net, const jnl_record *rr)
{
    int rc = 0;
    char path[4400], meta[2048];
    fg_err err;
    nn_net_desc *d = malloc(sizeof *d);
    nn_train_desc t;
    snprintf(path, sizeof path, "%s/model.fgm", dir);
    snprintf(meta, sizeof meta, "grid=%s; config=%lld; params=%s; seed=%llu; n_train=%d; test_accuracy=%.9g",
             grid_opts_c(g)->name, (long long)config, grid_config_params(g, config),
             (unsigned long long)grid_opts_c(g)->seed, rr->e.n_train, rr->e.test_acc);
    if (!d || grid_config_build_data(g, config, d, &t, &err) ||
        model_save(path, net, &t, meta, &err)) {
        fg_print_error(d ? err.msg : "out of memory saving the model");
        rc = -1;
    }
    free(d);
    return rc;
}

/* Saves a model from parameters a worker rank sent (its refit of config). Returns 0, or -1
 * after printing why. */
int fin_save_params(const char *dir, const grid *g, int64_t config, const float *params, int64_t n_params,
                    const jnl_entry *refit)
{
    fg_err err;
    int rc = -1;
    nn_net_desc *d = malloc(sizeof *d);
    nn_train_desc t;
    nn_net *net = NULL;
    if (!d || grid_config_build_data(g, config, d, &t, &err) ||
        !(net = nn_net_new(d, 1, 0, &err))) {
        fg_print_error(d ? err.msg : "out of memory saving the model");
    } else if (nn_net_n_params(net) != n_params) {
        rc = 1; /* not saved, nothing written: the caller refits again */
    } else {
        memcpy(nn_net_params(net), params, (size_t)n_params * sizeof *params);
        jnl_record *rr = malloc(sizeof *rr);
        if (rr) {
            rr->e = *refit;
            rc = fin_save_model(dir, g, config, net, rr);
        } else {
            fg_print_error("out of memory saving the model");
        }
        free(rr);
    }
    nn_net_free(net);
    free(d);
    return rc;
}

void fin_fill_env(rpt_env *env, const char *cmd, const char *host, const char *started, const char *data_dir,
                  int ranks, int threads, int workers, double wall, const prep_data *pd, const jnl_header *h)
{
    memset(env, 0, sizeof *env);
    fin_build_info(&env->version, &env->git_rev, &env->compiler);
    env->mpi = sched_mpi_version();
    env->blas = nn_gemm_backend();
    env->command_line = cmd;
    env->host = host;
    env->started_utc = started;
    env->data_dir = data_dir;
    env->ranks = ranks;
    env->threads = threads;
    env->workers = workers;
    env->wall_time = wall;
    env->train_images_crc32 = h->train_images_crc32;
    env->train_labels_crc32 = h->train_labels_crc32;
    if (pd) {
        env->test_images_crc32 = pd->test.images_crc32;
        env->test_labels_crc32 = pd->test.labels_crc32;
        env->n_train_total = pd->train.n;
        env->n_test = pd->test.n;
    }
}

/* The report's record of the weights files g names: their CRC-32, for `reproduce`. A file
 * that cannot be read is left out, with a note. */
static void env_weights(rpt_env *env, const grid *g)
{
    fg_err err;
    int n = task_weights_crc(g, env->weights_path, env->weights_crc32, RPT_MAX_WEIGHTS, &err);
    if (n < 0)
        fprintf(stderr, "fmnist-grid: note: the report records no weights file CRC-32: %s\n", err.msg);
    env->n_weights = n > 0 ? n : 0;
}

/* A session record of this process (see jnl_session): the end fields (workers, wall time)
 * stay unknown until the caller sets them. */
void fin_fill_session(jnl_session *ss, int number, const char *role, const char *cmd, const char *host,
                      const char *hosts, const char *started, const char *data_dir, int ranks, int threads,
                      const prep_data *pd)
{
    memset(ss, 0, sizeof *ss);
    ss->number = number;
    snprintf(ss->role, sizeof ss->role, "%s", role);
    snprintf(ss->started_utc, sizeof ss->started_utc, "%s", started);
    snprintf(ss->host, sizeof ss->host, "%s", host);
    snprintf(ss->hosts, sizeof ss->hosts, "%s", hosts);
    ss->ranks = ranks;
    ss->workers = -1;
    ss->threads = threads;
    ss->wall_time = NAN;
    snprintf(ss->version, sizeof ss->version, "%s", FG_VERSION);
    snprintf(ss->git_rev, sizeof ss->git_rev, "%s", FG_GIT_REV);
    snprintf(ss->compiler, sizeof ss->compiler, "%s", FG_COMPILER);
    snprintf(ss->mpi, sizeof ss->mpi, "%s", sched_mpi_version());
    snprintf(ss->blas, sizeof ss->blas, "%s", nn_gemm_backend());
    snprintf(ss->command, sizeof ss->command, "%s", cmd);
    snprintf(ss->data_dir, sizeof ss->data_dir, "%s", data_dir ? data_dir : "");
    ss->n_train_total = ss->n_test = -1;
    if (pd) {
        ss->test_images_crc32 = pd->test.images_crc32;
        ss->test_labels_crc32 = pd->test.labels_crc32;
        ss->n_train_total = pd->train.images ? pd->train.n : -1;
        ss->n_test = pd->test.images ? pd->test.n : -1;
    }
}

/* The number the next session of the journal file named name takes. */
int fin_next_session(const jnl_session *s, int ns, const char *name)
{
    int m = 0;
    for (int i = 0; i < ns; i++)
        if ((!name || !strcmp(s[i].file, name)) && s[i].number > m)
            m = s[i].number;
    return m + 1;
}

/* DIR/model.fgm is missing although the best configuration's refit rec is journaled (the
 * process died between the record and the file, or the parameters never reached rank 0).
 * The refit is deterministic: train it again on t and save it. Without t (no data), say
 * how to rebuild it. Returns 0 (saved, or nothing to do), 1 (not rebuilt, said so), or -1
 * (a write failed, said in one line). */
int fin_rebuild_model(const char *dir, const grid *g, int64_t best, const jnl_entry *rec, task_ctx *t,
                      const data_set *test, int quiet)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/model.fgm", dir);
    if (access(path, F_OK) == 0 || !rec || rec->status != NN_STATUS_OK)
        return 0;
    if (!t) {
        fprintf(stderr, "fmnist-grid: warning: no model.fgm and no data to rebuild it here (rebuild it with: "
                        "fmnist-grid report %s --data DIR)\n", dir);
        return 1;
    }
    if (!quiet)
        fprintf(stderr, "fmnist-grid: %s is missing: refitting configuration %lld (%s) again to rebuild it\n",
                path, (long long)best, grid_config_params(g, best));
    jnl_record *rr = malloc(sizeof *rr);
    nn_net *net = NULL;
    int rc = 1;
    if (!rr || task_refit(t, best, test, rr, &net) || !net || rr->e.status != NN_STATUS_OK) {
        fprintf(stderr, "fmnist-grid: warning: no model.fgm: the refit to rebuild it failed: %s\n",
                rr ? rr->e.msg : "out of memory");
    } else {
        if (!quiet && (float)rec->test_acc != rr->e.test_acc)
            fprintf(stderr, "fmnist-grid: warning: the rebuilt model's test accuracy %.9g differs from the "
                            "journal's %.9g (another build or BLAS thread count?)\n", rr->e.test_acc, rec->test_acc);
        rc = fin_save_model(dir, g, best, net, rr);
    }
    nn_net_free(net);
    free(rr);
    return rc;
}


/* report DIR: model.fgm lost after its refit was journaled: load the data (checked against
 * the journal) and refit again (fin_rebuild_model). Returns fin_rebuild_model's 0, 1 or -1. */
int fin_rebuild_from_data(const char *dir, grid *g, const jnl_header *h, int64_t best,
                          const jnl_entry *rec, const char *data_dir, int threads, int quiet)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/model.fgm", dir);
    if (!rec || rec->status != NN_STATUS_OK || access(path, F_OK) == 0)
        return 0;
    prep_data pd = {0};
    task_ctx tctx;
    fg_err err;
    memset(&tctx, 0, sizeof tctx);
    int rc, have_ctx = 0;
    if (prep_load(g, PREP_FROM_RECORDED, data_dir, 1, &pd, &err) || pd.folds_checksum != h->folds_checksum ||
        pd.train.images_crc32 != h->train_images_crc32 || pd.train.labels_crc32 != h->train_labels_crc32) {
        rc = fin_rebuild_model(dir, g, best, rec, NULL, NULL, quiet); /* no data: say how */
    } else if (task_ctx_init(&tctx, g, &pd.train, pd.idx, pd.fold_of, pd.n, &err) ||
               search_halving_task_ids(g, pd.n, grid_opts_c(g)->classes, &tctx.halv, &err)) {
        fg_print_error(err.msg);
        rc = 1;
    } else {
        have_ctx = 1;
        nn_gemm_set_threads(threads);
        gethostname(tctx.host, sizeof tctx.host - 1);
        rc = fin_rebuild_model(dir, g, best, rec, &tctx, &pd.test, quiet);
    }
    if (have_ctx)
        task_ctx_free(&tctx);
    prep_free(&pd);
    return rc;
}

/* report DIR's refit of best (every task done, none refitted): into DIR/journal.refit.jsonl,
 * as a session of its own (this process trains, with threads BLAS threads), and model.fgm.
 * Returns the exit status (EXIT_RUNTIME: a write failed, said in one line: write nothing
 * more); *have_data is set when pd holds the data. */
int fin_report_refit(const char *dir, grid *g, const results *r, int64_t best, const char *data_dir,
                     int quiet, int threads, const char *cmd, const char *host, const char *started, double t0,
                     prep_data *pd, int *have_data)
{
    fg_err err;
    int exit_code = EXIT_OK;
    task_ctx tctx;
    jnl *j = NULL;
    char jp[4400];
    snprintf(jp, sizeof jp, "%s/journal.refit.jsonl", dir);
    if (prep_load(g, PREP_FROM_RECORDED, data_dir, 1, pd, &err)) {
        fg_print_error(err.msg);
        exit_code = EXIT_INPUT;
    } else if (pd->folds_checksum != r->h.folds_checksum || pd->train.images_crc32 != r->h.train_images_crc32) {
        fprintf(stderr, "fmnist-grid: %s: the data in %s differ from the search's (checksums); give --data\n",
                dir, data_dir);
        exit_code = EXIT_INPUT;
    } else if (task_ctx_init(&tctx, g, &pd->train, pd->idx, pd->fold_of, pd->n, &err) ||
               search_halving_task_ids(g, pd->n, grid_opts_c(g)->classes, &tctx.halv, &err) ||
               (access(jp, F_OK) == 0 ? jnl_open_append(jp, &j, &err) : jnl_create(jp, &r->h, &j, &err))) {
        fg_print_error(err.msg);
        exit_code = EXIT_RUNTIME;
    } else {
        *have_data = 1;
        nn_gemm_set_threads(threads);
        gethostname(tctx.host, sizeof tctx.host - 1);
        /* This process trains: it is a session of journal.refit.jsonl. */
        jnl_session ss;
        char hosts[JNL_HOST_MAX + 8];
        snprintf(hosts, sizeof hosts, "%s:1", host);
        fin_fill_session(&ss, fin_next_session(r->s, r->ns, "journal.refit.jsonl"), "report", cmd, host, hosts,
                     started, data_dir, 1, threads, pd);
        if (jnl_append_session(j, &ss, &err)) {
            fg_print_error(err.msg);
            exit_code = EXIT_RUNTIME;
        }
        if (exit_code == EXIT_OK && !quiet)
            fprintf(stderr, "fmnist-grid: refitting configuration %lld (%s) on %d images\n",
                    (long long)best, grid_config_params(g, best), pd->n);
        jnl_record *rr = exit_code == EXIT_OK ? malloc(sizeof *rr) : NULL;
        nn_net *net = NULL;
        if (exit_code != EXIT_OK) {
            /* said above */
        } else if (!rr || task_refit(&tctx, best, &pd->test, rr, &net) ||
                   jnl_append(j, rr, grid_config_params(g, best), &err)) {
            fprintf(stderr, "fmnist-grid: refit failed: %s\n", rr ? err.msg : "out of memory");
            exit_code = EXIT_RUNTIME;
        } else if (!quiet && rr->e.status == NN_STATUS_OK) {
            fprintf(stderr, "fmnist-grid: refit: test accuracy %.4f (%d images), %.1f s\n",
                    rr->e.test_acc, pd->test.n, rr->e.fit_time);
        }
        fault_plan faults = fault_from_env();
        if (exit_code == EXIT_OK)
            fault_after_refit(&faults, 0); /* FG_FAULT=kill:refit: journaled, model.fgm not written yet */
        if (exit_code == EXIT_OK && net && rr && fin_save_model(dir, g, best, net, rr))
            exit_code = EXIT_RUNTIME;
        nn_net_free(net);
        free(rr);
        task_ctx_free(&tctx);
        if (exit_code == EXIT_OK) {
            ss.ended = 1;
            ss.workers = 1;
            ss.wall_time = fg_now() - t0;
            if (jnl_append_session(j, &ss, &err)) {
                fg_print_error(err.msg);
                exit_code = EXIT_RUNTIME;
            }
        }
    }
    jnl_close(j);
    return exit_code;
}


int fin_write(const char *dir, const grid *g, const jnl_header *h, const jnl_entry *e, int n, rpt_env *env,
              const char *refit_path, int quiet)
{
    fg_err err;
    env_weights(env, g);
    fg_err plot_warning = {0}; /* plots that cannot be drawn never fail a search */
    env->plot_warning = &plot_warning;
    int rc = rpt_write(dir, g, h, e, n, env, refit_path, &err);
    env->plot_warning = NULL; /* it points into this frame */
    if (rc) {
        fg_print_error(err.msg);
        return -1;
    }
    if (plot_warning.msg[0] && !quiet)
        fprintf(stderr, "fmnist-grid: warning: %s\n", plot_warning.msg);
    return 0;
}

int fin_search_refit(search *s, task_ctx *t, const data_set *test, int n_images, int64_t best)
{
    const grid *g = s->g;
    fg_err err;
    int stop = 0;
    if (!s->quiet)
        fprintf(stderr, "fmnist-grid: refitting configuration %lld (%s) on %d images\n", (long long)best,
                grid_config_params(g, best), n_images);
    jnl_record *rr = malloc(sizeof *rr);
    nn_net *net = NULL;
    if (rr && task_refit(t, best, test, rr, &net) == 0) {
        if (net && fin_save_model(s->dir, g, best, net, rr))
            stop = 1;
        nn_net_free(net);
        rr->e.rank = 0;
        if (stop) {
            /* said by fin_save_model */
        } else if (search_ensure_session(s, &err) || jnl_append(s->journal, rr, grid_config_params(g, best), &err)) {
            fg_print_error(err.msg);
            stop = 1;
        } else if (!s->quiet) {
            if (rr->e.status == NN_STATUS_OK)
                fprintf(stderr, "fmnist-grid: refit: test accuracy %.4f (%d images), %.1f s\n", rr->e.test_acc,
                        test->n, rr->e.fit_time);
            else
                fprintf(stderr, "fmnist-grid: refit %s: %s\n", nn_status_name((nn_status)rr->e.status),
                        rr->e.msg);
        }
    }
    free(rr);
    return stop ? -1 : 0;
}
