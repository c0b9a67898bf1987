/* cmd_reproduce.c - reproduce REPORT.yaml: a configuration of a search re-run from its
 * report alone (every fold and the refit), compared with the report. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "h5w.h"
#include "nn_gemm.h"
#include "prepare.h"
#include "report.h"
#include "search.h"
#include "task.h"

/* A float as written in a report (%.9g, exact for a float) against a reproduced one. */
static int same_score(double reported, float got)
{
    if (isnan(reported) || isnan(got))
        return isnan(reported) && isnan(got);
    return (float)reported == got;
}

/* 1 after saying so when a weights file the report records has another CRC-32 now. */
static int reproduce_weights_differ(const rpt_summary *rs)
{
    for (int k = 0; k < rs->n_weights; k++) {
        uint32_t crc = 0;
        fg_err err;
        if (h5w_file_crc32(rs->weights_path[k], &crc, &err)) {
            fg_print_error(err.msg);
            return 1;
        }
        if (crc != rs->weights_crc32[k]) {
            fprintf(stderr, "fmnist-grid: %s: the weights file differs from the report's: CRC-32 %08lx, the "
                            "report has %08lx\n", rs->weights_path[k], (unsigned long)crc,
                    (unsigned long)rs->weights_crc32[k]);
            return 1;
        }
    }
    return 0;
}

/* The report must describe the search its grid text g gives (read_summary checked the
 * text against its hash, and every field's presence and range); then g takes the recorded
 * seeds, subset and input (prep_use_recorded). Returns -1 to go on, or EXIT_INPUT after saying why. */
static int check_grid(const cli *c, const rpt_summary *rs, grid *g)
{
    grid_options *o = grid_opts(g);
    if (o->folds != rs->folds) {
        fprintf(stderr, "fmnist-grid: %s: cv.folds is %d, but the recorded grid text has %d folds\n", c->reproduce,
                rs->folds, o->folds);
        return EXIT_INPUT;
    }
    if (grid_n_configs(g) != rs->n_configs) {
        fprintf(stderr, "fmnist-grid: %s: grid.configurations is %lld, but the recorded grid text expands to %lld\n",
                c->reproduce, (long long)rs->n_configs, (long long)grid_n_configs(g));
        return EXIT_INPUT;
    }
    if (rs->grid_name[0] && strcmp(rs->grid_name, o->name)) {
        fprintf(stderr, "fmnist-grid: %s: grid.name is '%s', but the recorded grid text names '%s'\n", c->reproduce,
                rs->grid_name, o->name);
        return EXIT_INPUT;
    }
    o->seed = rs->seed;
    o->cv_seed = rs->cv_seed;
    o->subset = rs->subset;
    fg_err err;
    if (prep_use_recorded(g, rs->in_h, rs->in_w, rs->in_c, rs->classes, &err)) {
        fg_print_error(err.msg);
        return EXIT_INPUT;
    }
    return -1;
}

/* The configuration to reproduce (--config K, or the report's best) into *k. Returns -1
 * to go on, or EXIT_INPUT after saying why. */
static int choose_config(const cli *c, const rpt_summary *rs, int64_t *k)
{
    if (!c->config_set && rs->best_config < 0) {
        fprintf(stderr, "fmnist-grid: %s: best is null (no configuration has a score): give --config K\n",
                c->reproduce);
        return EXIT_INPUT;
    }
    *k = c->config_set ? c->config : rs->best_config;
    if (*k < 0 || *k >= rs->n_configs) {
        fprintf(stderr, "fmnist-grid: %s: no configuration %lld to reproduce (the report has 0..%lld)\n",
                c->reproduce, (long long)*k, (long long)rs->n_configs - 1);
        return EXIT_INPUT;
    }
    if (*k == rs->refit_config && !(rs->test_images_crc32 || rs->test_labels_crc32)) {
        fprintf(stderr, "fmnist-grid: %s: data.test_images_crc32 and data.test_labels_crc32 are 00000000: the "
                        "report does not record the test set its refit was scored on\n",
                c->reproduce);
        return EXIT_INPUT;
    }
    return -1;
}

/* The data loaded from data_dir must be the report's (CRC-32s, weights files, folds).
 * Returns -1 to go on, or EXIT_INPUT after saying why. */
static int check_data(const cli *c, const rpt_summary *rs, const prep_data *pd, const char *data_dir)
{
    int with_test = rs->test_images_crc32 || rs->test_labels_crc32;
    if (pd->train.images_crc32 != rs->train_images_crc32 || pd->train.labels_crc32 != rs->train_labels_crc32 ||
        (with_test && (pd->test.images_crc32 != rs->test_images_crc32 || pd->test.labels_crc32 != rs->test_labels_crc32))) {
        fprintf(stderr, "fmnist-grid: %s: the data differ from the report's: CRC-32 train %08lx/%08lx test "
                        "%08lx/%08lx, the report has %08lx/%08lx and %08lx/%08lx (give --data DIR)\n",
                data_dir, (unsigned long)pd->train.images_crc32, (unsigned long)pd->train.labels_crc32,
                (unsigned long)pd->test.images_crc32, (unsigned long)pd->test.labels_crc32,
                (unsigned long)rs->train_images_crc32, (unsigned long)rs->train_labels_crc32,
                (unsigned long)rs->test_images_crc32, (unsigned long)rs->test_labels_crc32);
        return EXIT_INPUT;
    }
    if (reproduce_weights_differ(rs))
        return EXIT_INPUT;
    if (pd->folds_checksum != rs->folds_checksum) {
        fprintf(stderr, "fmnist-grid: %s: the fold assignment differs from the report's (checksum %016llx, "
                        "report %016llx)\n", c->reproduce, (unsigned long long)pd->folds_checksum,
                (unsigned long long)rs->folds_checksum);
        return EXIT_INPUT;
    }
    return -1;
}

/* What differs between the report and the run: the largest difference and where, the
 * first difference. */
typedef struct {
    double worst;
    const char *worst_at, *first_at;
    char first_where[64], worst_where[64];
    int identical;
} verdict;

/* Notes one comparison (where, difference d) in v. */
static void note_diff(verdict *v, int same, double d, const char *where)
{
    if (!same && v->identical) {
        snprintf(v->first_where, sizeof v->first_where, "%s", where);
        v->first_at = v->first_where;
    }
    if (!same && d >= v->worst) {
        v->worst = d;
        snprintf(v->worst_where, sizeof v->worst_where, "%s", where);
        v->worst_at = v->worst_where;
    }
    v->identical &= same;
}

/* Every fold of configuration k, and its refit when the report has it, run again and
 * compared with the report (one line each, then the verdict). Returns 1 when identical. */
static int rerun(task_ctx *t, const rpt_summary *rs, int64_t k, const data_set *test, jnl_record *rr)
{
    verdict v = {0, NULL, NULL, "", "", 1};
    char where[64];
    /* a halving search: the folds of the iteration the report's scores are from */
    int64_t base = t->halv.n_iter > 0 && rs->iter && rs->iter[k] >= 0 ? (int64_t)rs->iter[k] * t->halv.n_tasks : 0;
    for (int f = 0; f < rs->folds; f++) {
        task_run(t, (int32_t)(base + k * rs->folds + f), rr);
        double want = rs->split[k * rs->folds + f];
        float got = rr->e.val_acc;
        int same = same_score(want, got);
        double d = isnan(want) || isnan(got) ? (same ? 0 : INFINITY) : fabs((double)got - (double)(float)want);
        printf("fold %-3d %-12.9g %-12.9g %s\n", f, want, got, same ? "identical" : "");
        snprintf(where, sizeof where, "fold %d", f);
        note_diff(&v, same, d, where);
    }
    if (k == rs->refit_config) {
        task_refit(t, k, test, rr, NULL);
        int same = same_score(rs->refit_test_accuracy, rr->e.test_acc);
        printf("%-8s %-12.9g %-12.9g %s\n", "refit", rs->refit_test_accuracy, rr->e.test_acc,
               same ? "identical (test accuracy)" : "(test accuracy)");
        note_diff(&v, same, same ? 0 : fabs(rr->e.test_acc - rs->refit_test_accuracy), "the refit");
    }
    if (v.identical)
        printf("verdict: identical\n");
    else
        printf("verdict: different: largest difference %.3g at %s; first difference at %s\n", v.worst,
               v.worst_at ? v.worst_at : "?", v.first_at ? v.first_at : "?");
    return v.identical;
}

int cmd_reproduce(int argc, char **argv, const cli *c)
{
    fg_err err;
    rpt_summary rs;
    if (rpt_read_summary(c->reproduce, &rs, &err)) {
        fg_print_error(err.msg);
        return EXIT_INPUT;
    }
    int rc = -1;
    int64_t k = -1;
    grid *g = NULL;
    prep_data pd = {0};
    memset(&pd, 0, sizeof pd);
    task_ctx tctx;
    memset(&tctx, 0, sizeof tctx);
    jnl_record *rr = malloc(sizeof *rr);
    const char *data_dir = NULL;
    if (!rr) {
        fg_print_error("out of memory");
        rc = EXIT_RUNTIME;
    } else if (grid_load_string(rs.grid_text, rs.grid_len, rs.grid_path, &g, &err)) {
        char msg[FG_ERR_MAX + 4200];
        snprintf(msg, sizeof msg, "%s: grid.text: %s", c->reproduce, err.msg);
        fg_print_error(msg);
        rc = EXIT_INPUT;
    } else if ((rc = check_grid(c, &rs, g)) < 0 && (rc = choose_config(c, &rs, &k)) < 0) {
        data_dir = cli_data_dir(c, grid_opts_c(g));
        if (prep_load(g, PREP_FROM_RECORDED, data_dir, 1, &pd, &err)) {
            fg_print_error(err.msg);
            rc = EXIT_INPUT;
        } else if ((rc = check_data(c, &rs, &pd, data_dir)) < 0 &&
                   (task_ctx_init(&tctx, g, &pd.train, pd.idx, pd.fold_of, pd.n, &err) ||
                    search_halving_task_ids(g, pd.n, grid_opts_c(g)->classes, &tctx.halv, &err))) {
            fg_print_error(err.msg);
            rc = EXIT_RUNTIME;
        }
    }
    if (rc < 0) {
        nn_gemm_set_threads(c->threads);
        gethostname(tctx.host, sizeof tctx.host - 1);
        if (rs.blas_threads && rs.blas_threads != c->threads)
            fprintf(stderr, "fmnist-grid: note: the search used %d BLAS thread(s), this run %d: results may "
                            "differ in the last bits\n", rs.blas_threads, c->threads);
        if (!c->quiet)
            fprintf(stderr, "fmnist-grid: reproducing configuration %lld (%s): %d folds%s\n", (long long)k,
                    grid_config_params(g, k), rs.folds, k == rs.refit_config ? " and the refit" : "");
        printf("configuration %lld: %s\n%-8s %-12s %-12s %s\n", (long long)k, grid_config_params(g, k), "",
               "report", "reproduced", "difference");
        rc = !rerun(&tctx, &rs, k, &pd.test, rr) && c->verify ? EXIT_RUNTIME : EXIT_OK;
    }
    free(rr);
    task_ctx_free(&tctx);
    prep_free(&pd);
    grid_free(g);
    rpt_summary_free(&rs);
    return rc;
}
