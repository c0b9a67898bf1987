/* cmd_fit.c - fit GRID --config K: one configuration trained on all the training images
 * (or the grid's subset) without cross-validation, scored on the test set. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "nn_gemm.h"
#include "prepare.h"
#include "task.h"

/* ---- fit GRID --config K ---------------------------------------------------------------- */

int cmd_fit(int argc, char **argv, const cli *c)
{
    fg_err err;
    grid *g = NULL;
    if (grid_load_file(c->grid_path, &g, &err)) {
        fg_print_error(err.msg);
        return EXIT_INPUT;
    }
    grid_options *o = grid_opts(g);
    cli_apply_seed_subset(c, o);
    if (c->config >= grid_n_configs(g)) {
        fprintf(stderr, "fmnist-grid: --config %lld: %s has configurations 0..%lld\n", c->config,
                c->grid_path, (long long)grid_n_configs(g) - 1);
        grid_free(g);
        return EXIT_INPUT;
    }
    prep_data pd = {0};
    task_ctx tctx;
    memset(&tctx, 0, sizeof tctx);
    const char *data_dir = cli_data_dir(c, o);
    int rc = EXIT_OK;
    jnl_record *rr = malloc(sizeof *rr);
    if (!rr) {
        fprintf(stderr, "fmnist-grid: out of memory\n");
        rc = EXIT_RUNTIME;
    } else if (prep_load(g, c->subset >= 0 ? PREP_FROM_CLI : PREP_FROM_GRID, data_dir, 1, &pd, &err)) {
        fg_print_error(err.msg);
        rc = EXIT_INPUT;
    } else if (task_ctx_init(&tctx, g, &pd.train, pd.idx, pd.fold_of, pd.n, &err)) {
        fg_print_error(err.msg);
        rc = EXIT_RUNTIME;
    } else {
        nn_gemm_set_threads(c->threads);
        gethostname(tctx.host, sizeof tctx.host - 1);
        if (!c->quiet)
            fprintf(stderr, "fmnist-grid: fitting configuration %lld (%s) of %s on %d images\n", c->config,
                    grid_config_params(g, c->config), c->grid_path, pd.n);
        task_refit(&tctx, c->config, &pd.test, rr, NULL);
        const jnl_entry *e = &rr->e;
        for (int i = 0; i < e->epochs_run; i++)
            printf("epoch %d: loss %.4f accuracy %.4f lr %.3g %.1f s\n", i + 1, rr->hist[i].loss,
                   rr->hist[i].acc, rr->hist[i].lr, rr->hist[i].seconds);
        if (e->status == NN_STATUS_OK)
            printf("config %d (%s): test accuracy %.4f, test loss %.4f on %d images; last-epoch training "
                   "accuracy %.4f; fit %.1f s (%.0f images/s)\n",
                   e->config, grid_config_params(g, c->config), e->test_acc, e->test_loss, pd.test.n,
                   e->epochs_run ? rr->hist[e->epochs_run - 1].acc : NAN, e->fit_time,
                   e->fit_time > 0 ? (double)pd.n * e->epochs_run / e->fit_time : 0.0);
        else {
            printf("config %d: %s: %s\n", e->config, nn_status_name((nn_status)e->status), e->msg);
            rc = EXIT_RUNTIME;
        }
    }
    free(rr);
    task_ctx_free(&tctx);
    prep_free(&pd);
    grid_free(g);
    return rc;
}

