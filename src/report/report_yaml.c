/* report_yaml.c - report.yaml through libyaml's emitter: the program and sessions the
 * results came from, the grid text and its hash, seeds, folds, data checksums, the best
 * configuration, the statistics, the refit and every configuration's scores; what
 * `reproduce` and `compare` read back (report_yaml_read.c). */
#include "report_parts.h"

#include <math.h>
#include <string.h>
#include <yaml.h>

#include "fg_afile.h"

typedef struct {
    yaml_emitter_t em;
    int bad;
} ye;

static void y_event(ye *y, yaml_event_t *ev)
{
    if (!y->bad && !yaml_emitter_emit(&y->em, ev))
        y->bad = 1;
}

static void y_scalar_style(ye *y, const char *s, yaml_scalar_style_t style)
{
    yaml_event_t ev;
    if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)strlen(s), 1, 1, style)) {
        y->bad = 1;
        return;
    }
    y_event(y, &ev);
}

static void y_str(ye *y, const char *s) { y_scalar_style(y, s ? s : "", YAML_ANY_SCALAR_STYLE); }
/* A string that must stay a string when read back ("1e-3" as text, "true" as text). */
static void y_qstr(ye *y, const char *s)
{
    y_scalar_style(y, s ? s : "", YAML_DOUBLE_QUOTED_SCALAR_STYLE);
}

static void y_num(ye *y, double v, const char *fmt)
{
    char b[64];
    if (isnan(v))
        snprintf(b, sizeof b, ".nan");
    else
        snprintf(b, sizeof b, fmt, v);
    y_scalar_style(y, b, YAML_PLAIN_SCALAR_STYLE);
}

static void y_int(ye *y, long long v)
{
    char b[32];
    snprintf(b, sizeof b, "%lld", v);
    y_scalar_style(y, b, YAML_PLAIN_SCALAR_STYLE);
}

static void y_hex(ye *y, unsigned long long v, int digits)
{
    char b[32];
    snprintf(b, sizeof b, "%0*llx", digits, v);
    y_qstr(y, b);
}

static void y_map(ye *y, int start)
{
    yaml_event_t ev;
    if (start)
        yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
    else
        yaml_mapping_end_event_initialize(&ev);
    y_event(y, &ev);
}

static void y_seq(ye *y, int start, int flow)
{
    yaml_event_t ev;
    if (start)
        yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
                                             flow ? YAML_FLOW_SEQUENCE_STYLE : YAML_BLOCK_SEQUENCE_STYLE);
    else
        yaml_sequence_end_event_initialize(&ev);
    y_event(y, &ev);
}

/* The program that produced the results (see rpt_effective_env); empty when not recorded (legacy). */
static void y_program(ye *y, const rpt_ctx *x, const rpt_eff_env *ee, int legacy)
{
    const jnl_header *h = x->h;
    y_str(y, "program");
    y_map(y, 1);
    y_str(y, "version"), y_qstr(y, legacy ? "" : ee->version);
    y_str(y, "git_revision"), y_qstr(y, legacy ? "" : ee->git_rev);
    y_str(y, "compiler"), y_qstr(y, legacy ? "" : ee->compiler);
    y_str(y, "mpi"), y_qstr(y, legacy ? "" : ee->mpi);
    y_str(y, "blas"), y_qstr(y, legacy ? "" : ee->blas);
    y_str(y, "blas_threads");
    if (legacy || ee->threads < 1)
        y_scalar_style(y, "null", YAML_PLAIN_SCALAR_STYLE);
    else
        y_int(y, ee->threads);
    y_str(y, "ranks");
    if (legacy || ee->ranks < 1)
        y_scalar_style(y, "null", YAML_PLAIN_SCALAR_STYLE);
    else
        y_int(y, ee->ranks);
    y_str(y, "command_line"), y_qstr(y, legacy ? "" : ee->command_line);
    y_str(y, "host"), y_qstr(y, legacy ? "" : ee->host);
    y_str(y, "started_utc"), y_qstr(y, legacy ? "" : ee->started_utc);
    y_str(y, "wall_time_s"), y_num(y, legacy ? NAN : ee->wall_time, "%.3f");
    if (h->base_configs > 0) /* the frozen base, computed once per node (base.c) */
        y_str(y, "frozen_base_s"), y_num(y, h->base_seconds, "%.3f");
    y_map(y, 0);
}

/* Every session of every journal, with the tasks and refits it recorded. */
static void y_sessions(ye *y, const rpt_ctx *x)
{
    const jnl_entry *e = x->e;
    int n = x->n;
    const rpt_env *env = x->env;
    y_str(y, "sessions");
    y_seq(y, 1, 0);
    for (int i = 0; env && i < env->n_sessions; i++) {
        const jnl_session *ss = &env->sessions[i];
        int tasks = 0, refits = 0;
        for (int k = 0; k < n; k++)
            if (e[k].session == i) {
                if (e[k].fold == JNL_REFIT)
                    refits++;
                else
                    tasks++;
            }
        y_map(y, 1);
        y_str(y, "journal"), y_qstr(y, ss->file);
        y_str(y, "session"), y_int(y, ss->number);
        y_str(y, "role"), y_qstr(y, ss->role);
        y_str(y, "started_utc"), y_qstr(y, ss->started_utc);
        y_str(y, "command_line"), y_qstr(y, ss->command);
        y_str(y, "host"), y_qstr(y, ss->host);
        y_str(y, "hosts"), y_qstr(y, ss->hosts);
        y_str(y, "ranks"), y_int(y, ss->ranks);
        y_str(y, "workers"), y_int(y, ss->workers);
        y_str(y, "blas_threads"), y_int(y, ss->threads);
        y_str(y, "version"), y_qstr(y, ss->version);
        y_str(y, "git_revision"), y_qstr(y, ss->git_rev);
        y_str(y, "tasks"), y_int(y, tasks);
        y_str(y, "refits"), y_int(y, refits);
        y_str(y, "ended"), y_str(y, ss->ended ? "true" : "false");
        y_str(y, "interrupted"), y_str(y, ss->interrupted ? "true" : "false");
        y_str(y, "wall_time_s"), y_num(y, ss->ended ? ss->wall_time : NAN, "%.3f");
        y_map(y, 0);
    }
    y_seq(y, 0, 0);
}

/* Who regenerated the report (`report DIR`), or null. */
static void y_regenerated(ye *y, const rpt_ctx *x)
{
    const rpt_env *env = x->env;
    y_str(y, "regenerated");
    if (!env || !env->regenerated_by) {
        y_scalar_style(y, "null", YAML_PLAIN_SCALAR_STYLE);
    } else {
        y_map(y, 1);
        y_str(y, "utc"), y_qstr(y, env->regenerated_utc);
        y_str(y, "command_line"), y_qstr(y, env->regenerated_by);
        y_str(y, "host"), y_qstr(y, env->regenerated_host);
        y_str(y, "version"), y_qstr(y, env->version);
        y_str(y, "git_revision"), y_qstr(y, env->git_rev);
        y_map(y, 0);
    }
}

/* The grid, seeds, folds, data and weights files searched. */
static void y_search(ye *y, const rpt_ctx *x, const rpt_eff_env *ee)
{
    const grid *g = x->g;
    const jnl_header *h = x->h;
    int64_t nc = x->nc;
    int folds = x->folds;
    const rpt_env *env = x->env;
    const grid_options *o = grid_opts_c(x->g);
    y_str(y, "grid");
    y_map(y, 1);
    y_str(y, "name"), y_qstr(y, o->name);
    y_str(y, "path"), y_qstr(y, o->path);
    y_str(y, "sha"), y_hex(y, h->grid_hash, 16);
    size_t tl = 0;
    const char *text = grid_text(g, &tl);
    y_str(y, "text"), y_scalar_style(y, text ? text : "", YAML_LITERAL_SCALAR_STYLE);
    y_str(y, "configurations"), y_int(y, nc);
    y_map(y, 0);
    y_str(y, "seed"), y_int(y, (long long)h->seed);
    y_str(y, "cv");
    y_map(y, 1);
    y_str(y, "folds"), y_int(y, folds);
    y_str(y, "shuffle"), y_str(y, o->shuffle ? "true" : "false");
    y_str(y, "seed"), y_int(y, (long long)h->cv_seed);
    y_str(y, "fold_assignment_checksum"), y_hex(y, h->folds_checksum, 16);
    y_map(y, 0);
    y_str(y, "data");
    y_map(y, 1);
    y_str(y, "dir"), y_qstr(y, ee->data_dir ? ee->data_dir : "");
    y_str(y, "subset"), y_int(y, h->subset);
    if (h->in_h > 0 && (h->in_h != JNL_DEFAULT_H || h->in_w != JNL_DEFAULT_W || h->in_c != JNL_DEFAULT_C)) {
        char shape[48]; /* only another data set's: Fashion-MNIST's reports keep their bytes */
        snprintf(shape, sizeof shape, "%dx%dx%d", h->in_h, h->in_w, h->in_c);
        y_str(y, "shape"), y_str(y, shape);
    }
    if (h->classes > 0 && h->classes != JNL_DEFAULT_CLASSES)
        y_str(y, "classes"), y_int(y, h->classes);
    y_str(y, "train_images_crc32"), y_hex(y, h->train_images_crc32, 8);
    y_str(y, "train_labels_crc32"), y_hex(y, h->train_labels_crc32, 8);
    y_str(y, "test_images_crc32"), y_hex(y, ee->test_images_crc32, 8);
    y_str(y, "test_labels_crc32"), y_hex(y, ee->test_labels_crc32, 8);
    y_map(y, 0);
    if (env && env->n_weights > 0) { /* the Keras weights files, path -> CRC-32 */
        y_str(y, "weights_crc32");
        y_map(y, 1);
        for (int k = 0; k < env->n_weights && k < RPT_MAX_WEIGHTS; k++)
            y_qstr(y, env->weights_path[k]), y_hex(y, env->weights_crc32[k], 8);
        y_map(y, 0);
    }
}

/* Task counts and training time. */
static void y_tasks(ye *y, const rpt_ctx *x)
{
    const rpt_config *c = x->c;
    int64_t nc = x->nc;
    int folds = x->folds;
    const jnl_entry *e = x->e;
    int n = x->n;
    /* timings before `best`: from `best` to `configurations` everything is deterministic */
    double train_time = 0;
    int64_t n_done = 0;
    for (int i = 0; i < n; i++)
        if (!isnan(e[i].fit_time))
            train_time += e[i].fit_time;
    for (int64_t i = 0; i < nc; i++)
        n_done += c[i].n_done;
    y_str(y, "tasks"), y_int(y, x->hv ? (long long)x->hv->tasks_total : (long long)nc * folds);
    y_str(y, "tasks_done"), y_int(y, x->hv ? (long long)x->hv->tasks_done : (long long)n_done);
    y_str(y, "training_time_s"), y_num(y, train_time, "%.3f");
}

/* A halving search's schedule and what each iteration ran (nothing for another search). */
static void y_halving(ye *y, const rpt_ctx *x)
{
    const rpt_halving *hv = x->hv;
    if (!hv)
        return;
    const grid_search *s = grid_search_of(x->g);
    y_str(y, "halving");
    y_map(y, 1);
    y_str(y, "factor"), y_int(y, s->factor);
    y_str(y, "resource"), y_str(y, s->resource == HALV_EPOCHS ? "epochs" : "samples");
    y_str(y, "min_resources"), y_int(y, (long long)hv->sch.min_resources);
    y_str(y, "max_resources"), y_int(y, (long long)hv->sch.max_resources);
    y_str(y, "n_iterations"), y_int(y, hv->n_iter);
    y_str(y, "complete"), y_str(y, hv->complete ? "true" : "false");
    y_str(y, "iterations");
    y_seq(y, 1, 0);
    for (int it = 0; it < hv->n_iter; it++) {
        const rpt_halving_iter *t = &hv->it[it];
        y_map(y, 1);
        y_str(y, "iter"), y_int(y, it);
        y_str(y, "n_candidates"), y_int(y, t->n_candidates >= 0 ? t->n_candidates : hv->sch.n_candidates[it]);
        y_str(y, "n_resources"), y_int(y, (long long)t->n_resources);
        y_str(y, "reached"), y_str(y, t->n_candidates >= 0 ? "true" : "false");
        y_str(y, "n_promoted");
        if (t->n_promoted >= 0)
            y_int(y, t->n_promoted);
        else
            y_scalar_style(y, "null", YAML_PLAIN_SCALAR_STYLE);
        y_str(y, "tasks_done"), y_int(y, t->tasks_done);
        y_str(y, "cpu_time_s"), y_num(y, t->cpu_s, "%.3f");
        y_map(y, 0);
    }
    y_seq(y, 0, 0);
    y_str(y, "uncounted_tasks"), y_int(y, hv->n_uncounted);
    y_str(y, "uncounted_cpu_time_s"), y_num(y, hv->uncounted_cpu_s, "%.3f");
    y_map(y, 0);
}

/* The best configuration (rpt_best), or null. */
static void y_best(ye *y, const rpt_ctx *x)
{
    const grid *g = x->g;
    const rpt_config *c = x->c;
    const double *sp = x->sp;
    int folds = x->folds;
    int64_t best = x->best;
    y_str(y, "best");
    if (best < 0) {
        y_scalar_style(y, "null", YAML_PLAIN_SCALAR_STYLE);
    } else {
        y_map(y, 1);
        y_str(y, "config"), y_int(y, best);
        y_str(y, "hash"), y_hex(y, grid_config_hash(g, best), 16);
        y_str(y, "params");
        y_map(y, 1);
        for (int p = 0; p < grid_n_params(g); p++) {
            const char *v = grid_config_value(g, best, p);
            if (v)
                y_str(y, grid_param_name(g, p)), y_qstr(y, v);
        }
        y_map(y, 0);
        y_str(y, "mean_test_score"), y_num(y, c[best].mean, "%.17g");
        y_str(y, "std_test_score"), y_num(y, c[best].std, "%.17g");
        y_str(y, "std_error_test_score"), y_num(y, c[best].sem, "%.17g");
        if (x->hv) { /* a halving search's best is the best of its last iteration */
            y_str(y, "iter"), y_int(y, x->last[best]);
            y_str(y, "n_resources"), y_int(y, (long long)x->hv->it[x->last[best]].n_resources);
        }
        y_str(y, "n_params"), y_int(y, c[best].n_params);
        y_str(y, "epochs"), y_int(y, c[best].epochs);
        y_str(y, "split_test_scores");
        y_seq(y, 1, 1);
        for (int k = 0; k < folds; k++)
            y_num(y, sp[(size_t)best * (size_t)folds + (size_t)k], "%.9g");
        y_seq(y, 0, 1);
        y_map(y, 0);
    }
}

/* The comparison with the best and the one-standard-error choice. */
static void y_statistics(ye *y, const rpt_ctx *x)
{
    const rpt_config *c = x->c;
    int64_t nc = x->nc;
    y_str(y, "statistics");
    y_map(y, 1);
    y_str(y, "test"), y_qstr(y, "corrected resampled paired t-test (Nadeau and Bengio 2003), two-sided");
    y_str(y, "alpha"), y_num(y, RPT_ALPHA, "%g");
    y_str(y, "test_train_ratio"), y_num(y, x->ratio, "%.9g");
    y_str(y, "indistinguishable_from_best");
    y_seq(y, 1, 1);
    for (int64_t i = 0; i < nc; i++)
        if (c[i].indistinguishable)
            y_int(y, i);
    y_seq(y, 0, 1);
    y_str(y, "one_se_choice");
    if (x->pick < 0)
        y_scalar_style(y, "null", YAML_PLAIN_SCALAR_STYLE);
    else
        y_int(y, x->pick);
    y_map(y, 0);
}

/* The best configuration's refit, or null. */
static void y_refit(ye *y, const rpt_ctx *x)
{
    const jnl_entry *rf = x->refit;
    y_str(y, "refit");
    if (!rf) {
        y_scalar_style(y, "null", YAML_PLAIN_SCALAR_STYLE);
    } else {
        y_map(y, 1);
        y_str(y, "config"), y_int(y, rf->config);
        y_str(y, "status"), y_str(y, nn_status_name((nn_status)rf->status));
        y_str(y, "n_train"), y_int(y, rf->n_train);
        y_str(y, "epochs"), y_int(y, rf->epochs_run);
        y_str(y, "test_accuracy"), y_num(y, rf->test_acc, "%.9g");
        y_str(y, "test_loss"), y_num(y, rf->test_loss, "%.9g");
        y_str(y, "fit_time_s"), y_num(y, rf->fit_time, "%.3f");
        y_map(y, 0);
    }
}

/* Every configuration: scores, rank, statistics, cost and status. */
static void y_configurations(ye *y, const rpt_ctx *x)
{
    const grid *g = x->g;
    const rpt_config *c = x->c;
    const double *sp = x->sp;
    int64_t nc = x->nc;
    int folds = x->folds;
    y_str(y, "configurations");
    y_seq(y, 1, 0);
    for (int64_t i = 0; i < nc; i++) {
        y_map(y, 1);
        y_str(y, "config"), y_int(y, i);
        y_str(y, "params"), y_qstr(y, grid_config_params(g, i));
        y_str(y, "mean_test_score"), y_num(y, c[i].mean, "%.17g");
        y_str(y, "std_test_score"), y_num(y, c[i].std, "%.17g");
        y_str(y, "rank"), y_int(y, c[i].rank);
        if (x->hv) { /* the iteration its scores are from: the last it reached */
            y_str(y, "iter"), y_int(y, x->last[i]);
            y_str(y, "n_resources"), y_int(y, (long long)x->hv->it[x->last[i]].n_resources);
        }
        y_str(y, "std_error_test_score"), y_num(y, c[i].sem, "%.17g");
        y_str(y, "p_value_vs_best"), y_num(y, c[i].p_vs_best, "%.9g");
        y_str(y, "indistinguishable_from_best"), y_str(y, c[i].indistinguishable ? "true" : "false");
        y_str(y, "cost"), y_num(y, c[i].cost, "%.0f");
        y_str(y, "split_test_scores");
        y_seq(y, 1, 1);
        for (int k = 0; k < folds; k++)
            y_num(y, sp[(size_t)i * (size_t)folds + (size_t)k], "%.9g");
        y_seq(y, 0, 1);
        y_str(y, "status"), y_str(y, rpt_status_text(c[i].status));
        y_map(y, 0);
    }
    y_seq(y, 0, 0);
}

int rpt_write_yaml(const rpt_ctx *x, fg_err *err)
{
    fg_afile a;
    if (fg_afile_open(&a, x->dir, "report.yaml", err))
        return -1;
    ye y;
    memset(&y, 0, sizeof y);
    if (!yaml_emitter_initialize(&y.em)) {
        fg_afile_abort(&a);
        return fg_err_set(err, "libyaml: cannot initialise the emitter");
    }
    yaml_emitter_set_output_file(&y.em, a.f);
    yaml_emitter_set_unicode(&y.em, 1);
    yaml_emitter_set_width(&y.em, 100);
    yaml_event_t ev;
    yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
    y_event(&y, &ev);
    yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
    y_event(&y, &ev);
    y_map(&y, 1);
    y_str(&y, "fmnist_grid_report");
    y_int(&y, 1);
    /* The environment the results came from (the session that started the search), every
     * session, and who regenerated the report: see rpt_effective_env. */
    rpt_eff_env ee;
    rpt_effective_env(x->env, x->e, x->n, x->best, &ee);
    int legacy = x->env && !ee.from_sessions && x->env->regenerated_by; /* not recorded */
    y_program(&y, x, &ee, legacy);
    y_sessions(&y, x);
    y_regenerated(&y, x);
    y_search(&y, x, &ee);
    y_tasks(&y, x);
    y_halving(&y, x);
    y_best(&y, x);
    y_statistics(&y, x);
    y_refit(&y, x);
    y_configurations(&y, x);
    y_map(&y, 0);
    yaml_document_end_event_initialize(&ev, 1);
    y_event(&y, &ev);
    yaml_stream_end_event_initialize(&ev);
    y_event(&y, &ev);
    int bad = y.bad;
    const char *problem = y.em.problem;
    yaml_emitter_delete(&y.em);
    if (bad) {
        fg_afile_abort(&a);
        return fg_err_set(err, "%s/report.yaml: libyaml emitter: %s", x->dir, problem ? problem : "error");
    }
    return fg_afile_commit(&a, err);
}
