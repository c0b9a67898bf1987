/* task.c - turns a (configuration, fold) task into one engine call. */
#define _POSIX_C_SOURCE 200809L
#include "task.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "cv.h"
#include "h5w.h"
#include "nn_head.h"

#define WCACHE_MAX 16 /* distinct weights files one search may name */

struct task_wcache {
    int n;
    char *path[WCACHE_MAX];
    h5w_file *file[WCACHE_MAX];
};

task_wcache *task_wcache_new(void) { return calloc(1, sizeof(task_wcache)); }

void task_wcache_free(task_wcache *wc)
{
    if (!wc)
        return;
    for (int i = 0; i < wc->n; i++) {
        free(wc->path[i]);
        h5w_free(wc->file[i]);
    }
    free(wc);
}

/* The weights file at path, read on first use. NULL with err. */
static const h5w_file *wcache_get(task_wcache *wc, const char *path, fg_err *err)
{
    for (int i = 0; i < wc->n; i++)
        if (!strcmp(wc->path[i], path))
            return wc->file[i];
    if (wc->n == WCACHE_MAX) {
        fg_err_set(err, "%s: more than %d distinct weights files", path, WCACHE_MAX);
        return NULL;
    }
    h5w_file *f = NULL;
    char *p = strdup(path);
    if (!p) {
        fg_err_set(err, "%s: out of memory", path);
        return NULL;
    }
    if (h5w_read(path, &f, err)) {
        free(p);
        return NULL;
    }
    wc->path[wc->n] = p;
    wc->file[wc->n++] = f;
    return f;
}

/* Checks (net NULL) or loads the weights files of configuration c into its description d /
 * network net. */
static int apply_weights(task_wcache *wc, const grid *g, int64_t c, const nn_net_desc *d,
                         nn_net *net, fg_err *err)
{
    grid_weights w[NN_MAX_LAYERS + 1];
    int n = grid_config_weights(g, c, w, NN_MAX_LAYERS + 1);
    for (int k = 0; k < n; k++) {
        fg_err e;
        const h5w_file *f = wc ? wcache_get(wc, w[k].path, &e) : NULL;
        if (!wc)
            fg_err_set(&e, "%s: out of memory", w[k].path);
        if (!f || h5w_apply(f, w[k].path, d, net, w[k].layer, &e))
            return fg_err_set(err, "%s:%d:%d: %s", grid_opts_c(g)->path, w[k].line, w[k].col,
                              e.msg);
    }
    return 0;
}

const h5w_file *task_wcache_file(task_wcache *wc, const char *path, fg_err *err)
{
    return wcache_get(wc, path, err);
}

int task_load_weights(task_wcache *wc, const grid *g, int64_t c, const nn_net_desc *d, nn_net *net,
                      fg_err *err)
{
    return apply_weights(wc, g, c, d, net, err);
}

int task_weights_crc(const grid *g, const char **path, uint32_t *crc, int max, fg_err *err)
{
    int n = 0;
    grid_weights w[NN_MAX_LAYERS + 1];
    for (int64_t c = 0; c < grid_n_configs(g); c++) {
        int nw = grid_config_weights(g, c, w, NN_MAX_LAYERS + 1);
        for (int k = 0; k < nw; k++) {
            int seen = 0;
            for (int j = 0; j < n && !seen; j++)
                seen = !strcmp(path[j], w[k].path);
            if (seen)
                continue;
            if (n == max)
                return fg_err_set(err, "%s: more than %d distinct weights files", w[k].path, max);
            if (h5w_file_crc32(w[k].path, &crc[n], err))
                return -1;
            path[n++] = w[k].path;
        }
    }
    return n;
}

int task_check_weights(task_wcache *wc, const grid *g, int64_t c, const nn_net_desc *d,
                       fg_err *err)
{
    return apply_weights(wc, g, c, d, NULL, err);
}

int task_ctx_init(task_ctx *ctx, const grid *g, const data_set *train, const int32_t *idx,
                  const int *fold_of, int n, fg_err *err)
{
    memset(ctx, 0, sizeof *ctx);
    const grid_options *o = grid_opts_c(g);
    ctx->g = g;
    ctx->train.images = train->images;
    ctx->train.labels = train->labels;
    ctx->train.h = train->h;
    ctx->train.w = train->w;
    ctx->train.c = train->c;
    ctx->train.n_classes = train->classes;
    ctx->idx = idx;
    ctx->fold_of = fold_of;
    ctx->n = n;
    ctx->folds = o->folds;
    ctx->seed = o->seed;
    ctx->timeout = o->task_timeout;
    ctx->train_idx = malloc((size_t)n * sizeof *ctx->train_idx);
    ctx->val_idx = malloc((size_t)n * sizeof *ctx->val_idx);
    ctx->net = malloc(sizeof *ctx->net);
    ctx->fit = malloc(sizeof *ctx->fit);
    ctx->wcache = task_wcache_new();
    if (!ctx->train_idx || !ctx->val_idx || !ctx->net || !ctx->fit || !ctx->wcache) {
        task_ctx_free(ctx);
        return fg_err_set(err, "out of memory setting up a worker");
    }
    return 0;
}

void task_ctx_free(task_ctx *ctx)
{
    free(ctx->train_idx);
    free(ctx->val_idx);
    free(ctx->net);
    free(ctx->fit);
    task_wcache_free(ctx->wcache);
    ctx->wcache = NULL;
    ctx->train_idx = ctx->val_idx = NULL;
    ctx->net = NULL;
    ctx->fit = NULL;
}

uint64_t task_seed(uint64_t grid_seed, uint64_t config_hash, int fold)
{
    return fg_hash_mix(fg_hash_mix(grid_seed, config_hash), (uint64_t)(int64_t)fold);
}

/* The forward FLOPs per image and the parameters of d's frozen base, when its tasks train
 * the head alone (as base_plan decides, less the check that its weights come from files). */
static int64_t base_cost_of(const nn_net_desc *d, const nn_train_desc *t, int64_t *params)
{
    if (t->tta_flip || t->augment_translate || t->augment_flip || t->augment_erase > 0.0f)
        return 0;
    int nb = nn_desc_base_len(d);
    nn_layer_info *info = nb > 0 ? malloc(NN_MAX_LAYERS * sizeof *info) : NULL;
    int64_t flops = 0;
    if (info && nn_desc_check(d, info, NULL, NULL, NULL) == 0)
        for (int i = 0; i < nb; i++) {
            flops += info[i].flops;
            *params += info[i].n_params;
        }
    free(info);
    return flops;
}

double task_cost(const grid *g, int64_t config, int n_train)
{
    nn_net_desc *d = malloc(sizeof *d);
    nn_train_desc t;
    int64_t params = 0, flops = 0;
    double cost = 1.0;
    if (d && grid_config_build_data(g, config, d, &t, NULL) == 0 &&
        nn_desc_check(d, NULL, &params, &flops, NULL) == 0) {
        /* Forward + backward ~ 3x forward; each batch also pays an optimizer pass over the
         * parameters and a fixed overhead. */
        double batches = ceil((double)n_train / t.batch_size);
        int64_t base_params = 0, base_flops = base_cost_of(d, &t, &base_params);
        flops -= base_flops; /* a frozen base is computed once per search (base.c), not here */
        params -= base_params;
        cost = (3.0 * (double)flops * n_train + batches * (4.0 * (double)params + 2e5)) * t.epochs;
    }
    free(d);
    return cost;
}

double task_memory(const nn_net_desc *d, const nn_layer_info *info, int64_t n_params,
                   const nn_train_desc *t)
{
    double act = (double)d->in_h * d->in_w * d->in_c;
    for (int l = 0; l < d->n_layers; l++)
        act += (double)info[l].out_h * info[l].out_w * info[l].out_c;
    int batch = t->batch_size > 256 ? t->batch_size : 256;
    /* values + gradients (+ im2col and pooling workspaces, roughly another copy) */
    return 4.0 * (5.0 * (double)n_params + 3.0 * act * batch);
}

typedef struct {
    double deadline;
} timeout_ctx;

static int timeout_hook(void *p)
{
    const timeout_ctx *t = p;
    return fg_now() > t->deadline;
}

static void fail(jnl_record *r, nn_status s, const char *msg)
{
    r->e.status = s;
    snprintf(r->e.msg, sizeof r->e.msg, "%.*s", (int)sizeof r->e.msg - 1, msg);
}

/* The head of configuration config after its frozen base (block blk): the whole network
 * initialised from seed, its weights files applied, then split. NULL with err. */
static nn_net *task_head_net(task_ctx *ctx, int64_t config, int blk, int max_batch, uint64_t seed,
                             fg_err *err)
{
    nn_net *whole = base_whole_net(ctx->wcache, ctx->g, config, ctx->net, 1, seed, err);
    nn_net *head = whole ? nn_head_from(whole, ctx->bases->blk[blk].n_base, max_batch, err) : NULL;
    nn_net_free(whole);
    return head;
}

/* A halving task of iteration iter (>= 0): its record carries the iteration and resource,
 * and with resource epochs it trains min(resource, configured) epochs, from scratch (a
 * fresh run of that many epochs; the record's max_epochs stays the configured ones: the
 * cost). */
static void halving_resource(const task_ctx *ctx, int iter, jnl_entry *e, nn_train_desc *t)
{
    if (iter < 0)
        return;
    e->iter = iter;
    e->n_resources = ctx->halv.res[iter];
    if (ctx->halv.resource == HALV_EPOCHS && ctx->halv.res[iter] < t->epochs)
        t->epochs = (int)ctx->halv.res[iter];
}

/* Builds, trains and scores one network; shared by CV tasks and the refit. iter >= 0: a
 * halving task of that iteration (its resource in ctx->halv). */
static void train_one(task_ctx *ctx, int64_t config, int fold, int iter, const int32_t *tr, int n_tr,
                      const int32_t *va, int n_va, jnl_record *r, nn_net **net_out)
{
    jnl_entry *e = &r->e;
    nn_train_desc t;
    fg_err err;
    e->config = (int32_t)config;
    e->fold = fold;
    e->config_hash = grid_config_hash(ctx->g, config);
    e->rank = ctx->rank;
    e->n_train = n_tr;
    e->n_val = n_va;
    e->best_epoch = -1;
    e->n_params = -1;
    e->val_acc = e->val_loss = e->test_acc = e->test_loss = NAN;
    snprintf(e->host, sizeof e->host, "%s", ctx->host);
    if (grid_config_build(ctx->g, config, ctx->train.h, ctx->train.w, ctx->train.c,
                          ctx->train.n_classes, ctx->net, &t, &err) != 0) {
        fail(r, NN_STATUS_INVALID, err.msg);
        return;
    }
    int64_t np;
    if (nn_desc_check(ctx->net, NULL, &np, NULL, NULL) == 0) { /* the report's cost: np x epochs */
        e->n_params = np;
        e->max_epochs = t.epochs;
    }
    halving_resource(ctx, iter, e, &t);
    uint64_t seed = task_seed(ctx->seed, e->config_hash, fold);
    int max_batch = t.batch_size > 256 ? t.batch_size : 256;
    int blk = base_block_of(ctx->bases, config);
    nn_data fd = blk >= 0 ? base_data(ctx->bases, blk, 0) : ctx->train;
    nn_net *net = blk >= 0 ? task_head_net(ctx, config, blk, max_batch, fg_hash_mix(seed, 1), &err)
                           : nn_net_new(ctx->net, max_batch, fg_hash_mix(seed, 1), &err);
    if (!net || (blk < 0 && apply_weights(ctx->wcache, ctx->g, config, ctx->net, net, &err))) {
        fail(r, NN_STATUS_INVALID, err.msg);
        nn_net_free(net);
        return;
    }
    timeout_ctx tc = {fg_now() + ctx->timeout};
    double t0 = fg_now();
    int rc = nn_fit(net, &t, &fd, tr, n_tr, va, n_va, fg_hash_mix(seed, 2),
                    ctx->timeout > 0 ? timeout_hook : NULL, &tc, ctx->fit, &err);
    e->fit_time = fg_now() - t0;
    if (rc != 0) {
        fail(r, NN_STATUS_FAILED, err.msg);
        nn_net_free(net);
        return;
    }
    const nn_fit_result *f = ctx->fit;
    e->status = f->status;
    e->epochs_run = f->epochs_run;
    e->best_epoch = f->best_epoch;
    memcpy(r->hist, f->hist, (size_t)f->epochs_run * sizeof r->hist[0]);
    if (f->status == NN_STATUS_OK) {
        e->val_acc = f->val_acc;
        e->val_loss = f->val_loss;
    } else if (f->status == NN_STATUS_DIVERGED) {
        snprintf(e->msg, sizeof e->msg, "loss became NaN or infinite in epoch %d", f->epochs_run);
    } else if (f->status == NN_STATUS_TIMEOUT) {
        snprintf(e->msg, sizeof e->msg, "stopped after %.0f s (task_timeout)", ctx->timeout);
    }
    if (net_out && f->status == NN_STATUS_OK)
        *net_out = net;
    else
        nn_net_free(net);
}

int task_run(void *p, int32_t task, void *result)
{
    task_ctx *ctx = p;
    jnl_record *r = result;
    memset(&r->e, 0, sizeof r->e);
    r->e.task = task;
    int64_t config = task / ctx->folds;
    int fold = task % ctx->folds;
    int n_tr = 0, n_va = 0, iter = -1;
    const task_halving *h = &ctx->halv;
    if (h->n_iter > 0) { /* iter x n_tasks + config x folds + fold */
        iter = task / h->n_tasks; /* e.task keeps the id: the scheduler reads it back */
        task %= h->n_tasks;
        config = task / ctx->folds;
        fold = task % ctx->folds;
    }
    const int32_t *idx = base_block_of(ctx->bases, config) >= 0 ? ctx->bases->pos : ctx->idx;
    cv_split(idx, ctx->fold_of, ctx->n, fold, ctx->train_idx, &n_tr, ctx->val_idx, &n_va);
    if (iter >= 0 && h->resource == HALV_SAMPLES) {
        uint64_t cs = grid_opts_c(ctx->g)->cv_seed;
        task_subsample(ctx->train_idx, &n_tr, h->res[iter], h->max_resources, cs, fold, 0);
        task_subsample(ctx->val_idx, &n_va, h->res[iter], h->max_resources, cs, fold, 1);
    }
    train_one(ctx, config, fold, iter, ctx->train_idx, n_tr, ctx->val_idx, n_va, r, NULL);
    return 0;
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

void task_subsample(int32_t *idx, int *n, int64_t res, int64_t max, uint64_t cv_seed, int fold,
                    int which)
{
    if (res >= max || max <= 0 || *n <= 1)
        return;
    int64_t k = (int64_t)*n * res / max;
    if (k < 1)
        k = 1;
    fg_rng rng;
    fg_rng_seed(&rng, fg_hash_mix(fg_hash_mix(fg_hash_mix(cv_seed, (uint64_t)(int64_t)fold), (uint64_t)res),
                                  (uint64_t)which));
    for (int64_t i = 0; i < k; i++) { /* a partial Fisher-Yates: idx[0..k) a uniform draw */
        int64_t j = i + fg_rng_below(&rng, (uint32_t)(*n - i));
        int32_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
    qsort(idx, (size_t)k, sizeof *idx, cmp_i32); /* ascending: independent of the draw order */
    *n = (int)k;
}

/* The whole network of config holding the trained head's values (frees head); NULL after
 * recording why in out. */
static nn_net *task_whole_of(task_ctx *ctx, int64_t config, nn_net *head, jnl_record *out)
{
    fg_err err;
    nn_net *whole = base_whole_net(ctx->wcache, ctx->g, config, ctx->net, 1, 0, &err);
    if (!whole || nn_head_copy_to(head, whole, &err)) {
        fail(out, NN_STATUS_FAILED, err.msg);
        nn_net_free(whole);
        whole = NULL;
    }
    nn_net_free(head);
    return whole;
}

/* The k x k confusion counts of the predictions pred of test's images into out. */
static void count_confusion(const data_set *test, const uint8_t *pred, int k, jnl_record *out)
{
    out->e.classes = k;
    memset(out->confusion, 0, (size_t)k * (size_t)k * sizeof out->confusion[0]);
    for (int i = 0; i < test->n; i++)
        if (test->labels[i] < k && pred[i] < k)
            out->confusion[test->labels[i] * k + pred[i]]++;
}

int task_refit(task_ctx *ctx, int64_t config, const data_set *test, jnl_record *out,
               nn_net **net_out)
{
    memset(&out->e, 0, sizeof out->e);
    out->e.task = -1;
    nn_net *net = NULL;
    int blk = base_block_of(ctx->bases, config);
    if (blk >= 0 && ctx->bases->n_test != test->n) {
        fail(out, NN_STATUS_FAILED, "the frozen base's features lack the test images");
        return -1;
    }
    train_one(ctx, config, JNL_REFIT, ctx->halv.n_iter > 0 ? ctx->halv.n_iter - 1 : -1,
              blk >= 0 ? ctx->bases->pos : ctx->idx, ctx->n, NULL, 0, out, &net);
    if (!net)
        return 0;
    nn_data td = ctx->train;
    td.images = test->images;
    td.labels = test->labels;
    if (blk >= 0)
        td = base_data(ctx->bases, blk, 1);
    int32_t *ti = malloc((size_t)test->n * sizeof *ti);
    if (!ti) {
        fail(out, NN_STATUS_FAILED, "out of memory scoring the test set");
        nn_net_free(net);
        return -1;
    }
    for (int i = 0; i < test->n; i++)
        ti[i] = i;
    fg_err err;
    uint8_t *pred = malloc(test->n > 0 ? (size_t)test->n : 1);
    double t0 = fg_now();
    if (nn_evaluate(net, &td, ti, test->n, &out->e.test_loss, &out->e.test_acc, pred, &err) != 0)
        fail(out, NN_STATUS_FAILED, err.msg);
    else if (pred && td.n_classes <= JNL_MAX_CLASSES) /* the test set's confusion counts, journaled */
        count_confusion(test, pred, td.n_classes, out);
    out->e.score_time = fg_now() - t0;
    free(pred);
    free(ti);
    if (net_out && blk >= 0) /* the whole network: the head's values in the base's */
        net = task_whole_of(ctx, config, net, out);
    if (net_out)
        *net_out = net;
    else
        nn_net_free(net);
    return 0;
}
