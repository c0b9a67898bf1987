/* cmd_dry_run.c - --dry-run: the configurations, tasks and model summaries of a grid (one
 * per architecture, like Keras's model.summary()) and its weights files checked; trains
 * nothing. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fg_sort.h"
#include "base.h"
#include "cli.h"
#include "data.h"
#include "nn.h"
#include "rungs.h"
#include "task.h"



/* Keras's summary lines: the parameters split into trainable and non-trainable (frozen
 * layers, batch norm's moving statistics). */
static void print_trainable(const nn_net_desc *d, const nn_layer_info *info)
{
    int64_t tr = 0, all = 0;
    for (int l = 0; l < d->n_layers; l++) {
        tr += info[l].n_trainable;
        all += info[l].n_params;
    }
    printf("  Trainable params: %lld\n  Non-trainable params: %lld\n", (long long)tr,
           (long long)(all - tr));
}

/* The weights files of every configuration, checked (a missing file is reported, not
 * fatal: a dry run needs no weights). */
static void dry_run_weights(const grid *g, nn_net_desc *d)
{
    task_wcache *wc = task_wcache_new();
    char last[FG_ERR_MAX] = "";
    for (int64_t i = 0; wc && i < grid_n_configs(g); i++) {
        grid_weights w[1];
        nn_train_desc t;
        fg_err err;
        if (grid_config_weights(g, i, w, 1) == 0 ||
            grid_config_build_data(g, i, d, &t, NULL))
            continue;
        if (task_check_weights(wc, g, i, d, &err) == 0)
            snprintf(err.msg, sizeof err.msg, "weights of configuration %lld: match", (long long)i);
        if (strcmp(err.msg, last))
            printf("\n%s\n", err.msg);
        snprintf(last, sizeof last, "%s", err.msg);
    }
    task_wcache_free(wc);
}

static int by_arch(const void *a, const void *b, void *ctx)
{
    const uint64_t *arch = ctx;
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    uint64_t hx = arch[x], hy = arch[y];
    if (hx != hy)
        return hx < hy ? -1 : 1;
    return (x > y) - (x < y);
}

/* A dry run reads no data: the input it builds the models for, and where a search takes it
 * from, when the grid leaves it to the data (printed only then). */
static void dry_run_input(const grid_options *o)
{
    char s[40];
    if (!o->shape_given)
        printf("input: %s images assumed (a search takes the IDX header's shape; data.shape fixes it)\n",
               data_shape_text(o->in_h, o->in_w, o->in_c, s, sizeof s));
    if (o->classes <= 0)
        printf("classes: each model's output count assumed (a search takes the training labels' largest + 1; "
               "data.classes fixes it)\n");
    if (!o->shape_given || o->classes <= 0)
        putchar('\n');
}

void cmd_halving_schedule(const halv_schedule *sch, const grid_search *gs, char *buf, size_t n)
{
    int epochs = gs->resource == HALV_EPOCHS;
    size_t len = (size_t)snprintf(buf, n, "factor %d, resource %s: ", gs->factor ? gs->factor : HALV_FACTOR_DEFAULT,
                                  epochs ? "epochs" : "samples");
    for (int i = 0; i < sch->n_iterations && len < n; i++) {
        if (i == 0)
            len += (size_t)snprintf(buf + len, n - len, "iteration 0: %d candidates x %lld %s", sch->n_candidates[0],
                                    (long long)sch->n_resources[0],
                                    epochs ? (sch->n_resources[0] == 1 ? "epoch" : "epochs") : "images");
        else
            len += (size_t)snprintf(buf + len, n - len, ", %d: %d x %lld", i, sch->n_candidates[i],
                                    (long long)sch->n_resources[i]);
    }
}

/* A halving grid's schedule (iterations: candidates, resource), for the images a dry run
 * can know (data.subset; all of Fashion-MNIST's 60000 otherwise, said so). Returns 0, or
 * -1 after printing the error. */
static int dry_run_halving(const grid *g)
{
    const grid_options *o = grid_opts_c(g);
    const grid_search *gs = grid_search_of(g);
    halv_schedule sch;
    fg_err err;
    int n = o->subset > 0 ? o->subset : 60000;
    if (rungs_schedule(g, n, o->classes > 0 ? o->classes : GRID_INPUT_CLASSES, &sch, &err)) {
        fg_print_error(err.msg);
        return -1;
    }
    char line[2048];
    cmd_halving_schedule(&sch, gs, line, sizeof line);
    int tasks = 0;
    for (int i = 0; i < sch.n_iterations; i++)
        tasks += sch.n_candidates[i] * o->folds;
    printf("successive halving, %s; %d tasks%s\n", line, tasks, o->refit ? ", then a refit of the best" : "");
    if (gs->resource == HALV_SAMPLES && !o->subset && gs->max_resources <= 0)
        printf("(images per iteration for 60000 training images: a search takes the data's count)\n");
    return 0;
}

/* Random draws: how many, from what, with which seed. */
static void dry_run_draws(const grid *g)
{
    const grid_search *s = grid_search_of(g);
    if (!s->sampled)
        return;
    printf("random draws: %lld configuration%s drawn with seed %llu ", (long long)grid_n_configs(g),
           grid_n_configs(g) == 1 ? "" : "s", (unsigned long long)grid_opts_c(g)->seed);
    if (s->grid_size >= 0)
        printf("without replacement from the grid's %lld%s\n\n", (long long)s->grid_size,
               s->capped ? " (n_iter is more: each is drawn once)" : "");
    else
        printf("from the grid's lists and distributions\n\n");
}

int cmd_dry_run(grid *g)
{
    const grid_options *o = grid_opts_c(g);
    int64_t nc = grid_n_configs(g);
    nn_net_desc *d = malloc(sizeof *d);
    nn_layer_info *info = malloc(NN_MAX_LAYERS * sizeof *info);
    uint64_t *arch = calloc((size_t)nc, sizeof *arch); /* per configuration; 0: invalid */
    int64_t *ord = malloc((size_t)nc * sizeof *ord);
    char *first = calloc((size_t)nc, 1); /* the first configuration of its architecture */
    if (!d || !info || !arch || !ord || !first) {
        free(d), free(info), free(arch), free(ord), free(first);
        fprintf(stderr, "fmnist-grid: out of memory\n");
        return EXIT_RUNTIME;
    }
    int halving = grid_search_of(g)->strategy == GRID_SEARCH_HALVING;
    if (halving) /* the tasks: the schedule's, below */
        printf("grid %s (%s): %lld configuration%s x %d fold%s by successive halving\n", o->name, o->path,
               (long long)nc, nc == 1 ? "" : "s", o->folds, o->folds == 1 ? " (a holdout split)" : "s");
    else
        printf("grid %s (%s): %lld configuration%s x %d fold%s = %lld tasks%s\n", o->name, o->path,
               (long long)nc, nc == 1 ? "" : "s", o->folds, o->folds == 1 ? " (a holdout split)" : "s",
               (long long)nc * o->folds, o->refit ? ", then a refit of the best" : "");
    printf("seed %llu, cv seed %llu, shuffle %s, %s\n\n", (unsigned long long)o->seed,
           (unsigned long long)o->cv_seed, o->shuffle ? "yes" : "no",
           o->subset ? "stratified subset" : "all training images");
    if (halving && dry_run_halving(g)) {
        free(d), free(info), free(arch), free(ord), free(first);
        return EXIT_INPUT;
    }
    dry_run_input(o);
    dry_run_draws(g);
    printf("%6s  %12s  %14s  %s\n", "config", "parameters", "MFLOP/image", "grid parameters");
    for (int64_t i = 0; i < nc; i++) {
        nn_train_desc t;
        int64_t np = 0, fl = 0;
        fg_err err;
        if (grid_config_build_data(g, i, d, &t, &err) ||
            nn_desc_check(d, info, &np, &fl, &err)) {
            printf("%6lld  invalid: %s\n", (long long)i, err.msg);
            continue;
        }
        printf("%6lld  %12lld  %14.3f  %s\n", (long long)i, (long long)np, fl / 1e6,
               grid_config_params(g, i));
        uint64_t h = 0;
        for (int l = 0; l < d->n_layers; l++)
            h = fg_hash_mix(h, fg_hash_bytes(&info[l], sizeof info[l], 0));
        arch[i] = h ? h : 1;
    }
    /* One summary per distinct architecture, like Keras's model.summary(): the first
     * configuration of each, found by sorting (linear-logarithmic in the configurations). */
    for (int64_t i = 0; i < nc; i++)
        ord[i] = i;
    fg_sort(ord, (size_t)nc, sizeof *ord, by_arch, arch);
    for (int64_t k = 0; k < nc; k++)
        first[ord[k]] = arch[ord[k]] && (k == 0 || arch[ord[k]] != arch[ord[k - 1]]);
    for (int64_t i = 0; i < nc; i++) {
        nn_train_desc t;
        int64_t np = 0, fl = 0;
        if (!first[i] || grid_config_build_data(g, i, d, &t, NULL) ||
            nn_desc_check(d, info, &np, &fl, NULL))
            continue;
        printf("\nModel of configuration %lld (%s):\n", (long long)i, grid_config_params(g, i));
        printf("  %-24s %-26s %-18s %12s\n", "Layer", "Type", "Output shape", "Param #");
        for (int l = 0; l < d->n_layers; l++) {
            char shape[48];
            if (info[l].out_h == 1 && info[l].out_w == 1 &&
                (d->layers[l].kind == NN_LAYER_DENSE || d->layers[l].kind == NN_LAYER_FLATTEN ||
                 d->layers[l].kind == NN_LAYER_GLOBAL_AVG_POOL2D ||
                 ((d->layers[l].kind == NN_LAYER_DROPOUT || d->layers[l].kind == NN_LAYER_ACTIVATION) &&
                  l > 0 && info[l - 1].out_h == 1 && info[l - 1].out_w == 1 &&
                  d->layers[l - 1].kind != NN_LAYER_CONV2D)))
                snprintf(shape, sizeof shape, "(None, %d)", info[l].out_c);
            else
                snprintf(shape, sizeof shape, "(None, %d, %d, %d)", info[l].out_h, info[l].out_w,
                         info[l].out_c);
            printf("  %-24s %-26s %-18s %12lld\n", info[l].name, nn_layer_kind_name(info[l].kind),
                   shape, (long long)info[l].n_params);
        }
        printf("  Total params: %lld\n", (long long)np);
        print_trainable(d, info);
    }
    dry_run_weights(g, d);
    base_dry_run(g);
    free(d), free(info), free(arch), free(ord), free(first);
    return EXIT_OK;
}

