/* base.c - the frozen base computed once per search per node (see base.h). */
#define _POSIX_C_SOURCE 200809L
#include "base.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "fg_sched.h"
#include "h5w.h"
#include "nn_head.h"
#include "task.h"

/* 1 when every base layer of c with parameters takes them from a weights file (else its
 * values would come from c's seed, and differ between configurations). */
static int base_from_files(task_wcache *wc, const grid *g, int64_t c, const nn_net_desc *d,
                           int n_base)
{
    grid_weights w[NN_MAX_LAYERS + 1];
    int nw = grid_config_weights(g, c, w, NN_MAX_LAYERS + 1);
    for (int i = 0; i < n_base; i++) {
        nn_weight_view v[NN_WEIGHTS_MAX];
        if (nn_desc_layer_weights(d, i, v) <= 0)
            continue;
        int got = 0;
        for (int k = 0; k < nw && !got; k++) {
            fg_err e;
            const h5w_file *f = w[k].layer < 0 ? task_wcache_file(wc, w[k].path, &e) : NULL;
            got = w[k].layer == i || (f && h5w_find(f, d->layers[i].name));
        }
        if (!got)
            return 0;
    }
    return 1;
}

/* The identity of c's base: its layers, input and weights files. */
static uint64_t base_key(const grid *g, int64_t c, const nn_net_desc *d, int n_base)
{
    uint64_t h = fg_hash_mix(0x62617365ULL, (uint64_t)n_base);
    int shape[3] = {d->in_h, d->in_w, d->in_c};
    h = fg_hash_bytes(shape, sizeof shape, h);
    h = fg_hash_bytes(d->layers, (size_t)n_base * sizeof d->layers[0], h);
    grid_weights w[NN_MAX_LAYERS + 1];
    int nw = grid_config_weights(g, c, w, NN_MAX_LAYERS + 1);
    for (int k = 0; k < nw; k++) {
        h = fg_hash_bytes(w[k].path, strlen(w[k].path) + 1, h);
        h = fg_hash_mix(h, (uint64_t)(int64_t)w[k].layer);
    }
    return h;
}

/* Configuration c's base (n_base 0 for none). */
static int plan_one(const grid *g, int64_t c, task_wcache *wc, nn_net_desc *d, int *n_base,
                    fg_err *err)
{
    nn_train_desc t;
    *n_base = 0;
    if (grid_config_build_data(g, c, d, &t, err))
        return -1;
    if (t.tta_flip || t.augment_translate || t.augment_flip || t.augment_erase > 0.0f)
        return 0; /* they transform the images the base would see */
    int nb = nn_desc_base_len(d);
    if (nb > 0 && base_from_files(wc, g, c, d, nb))
        *n_base = nb;
    return 0;
}

static int add_block(base_set *b, uint64_t *keys, uint64_t key, int64_t c, const nn_net_desc *d,
                     int n_base, fg_err *err)
{
    for (int k = 0; k < b->n_blocks; k++)
        if (keys[k] == key) {
            b->blk[k].n_configs++;
            return k;
        }
    if (b->n_blocks == BASE_MAX)
        return fg_err_set(err, "configuration %lld: more than %d different frozen bases in one search",
                          (long long)c, BASE_MAX);
    nn_layer_info *info = malloc(NN_MAX_LAYERS * sizeof *info);
    if (!info || nn_desc_check(d, info, NULL, NULL, err)) {
        free(info);
        return info ? -1 : fg_err_set(err, "out of memory");
    }
    base_block *k = &b->blk[b->n_blocks];
    memset(k, 0, sizeof *k);
    k->n_base = n_base;
    k->in_h = info[n_base - 1].out_h;
    k->in_w = info[n_base - 1].out_w;
    k->in_c = info[n_base - 1].out_c;
    k->size = (int64_t)k->in_h * k->in_w * k->in_c;
    k->config = c;
    k->n_configs = 1;
    for (int i = 0; i < n_base; i++)
        k->flops += info[i].flops;
    free(info);
    keys[b->n_blocks] = key;
    return b->n_blocks++;
}

int base_plan(const grid *g, task_wcache *wc, base_set **out, fg_err *err)
{
    *out = NULL;
    int64_t nc = grid_n_configs(g);
    base_set *b = calloc(1, sizeof *b);
    nn_net_desc *d = malloc(sizeof *d);
    uint64_t keys[BASE_MAX];
    if (b)
        b->block_of = malloc((size_t)(nc > 0 ? nc : 1) * sizeof *b->block_of);
    if (!b || !d || !b->block_of) {
        free(d);
        base_free(b);
        return fg_err_set(err, "out of memory planning the frozen bases");
    }
    b->n_configs = nc;
    for (int64_t c = 0; c < nc; c++) {
        int nb = 0;
        if (plan_one(g, c, wc, d, &nb, err)) {
            free(d);
            base_free(b);
            return -1;
        }
        b->block_of[c] = nb > 0 ? add_block(b, keys, base_key(g, c, d, nb), c, d, nb, err) : -1;
        b->classes = d->n_classes;
        if (nb > 0 && b->block_of[c] < 0) {
            free(d);
            base_free(b);
            return -1;
        }
    }
    free(d);
    if (b->n_blocks == 0)
        base_free(b);
    else
        *out = b;
    return 0;
}

void base_free(base_set *b)
{
    if (!b)
        return;
    free(b->block_of);
    free(b->pos);
    free(b->train_labels);
    free(b->test_labels);
    free(b->own);
    free(b);
}

int base_block_of(const base_set *b, int64_t c)
{
    return b && c >= 0 && c < b->n_configs ? b->block_of[c] : -1;
}

nn_data base_data(const base_set *b, int k, int test)
{
    const base_block *x = &b->blk[k];
    nn_data d = {NULL, test ? b->test_labels : b->train_labels, x->in_h, x->in_w, x->in_c,
                 b->classes, test ? x->test : x->train};
    return d;
}

nn_net *base_whole_net(task_wcache *wc, const grid *g, int64_t c, const nn_net_desc *d,
                       int max_batch, uint64_t seed, fg_err *err)
{
    nn_net *net = nn_net_new(d, max_batch, seed, err);
    if (net && task_load_weights(wc, g, c, d, net, err)) {
        nn_net_free(net);
        return NULL;
    }
    return net;
}

#define BASE_BATCH 32 /* images per forward while computing a base */

/* Rows [lo, hi) of block k: row r < n is train image idx[r], row n + j test image j. */
static int compute_rows(base_set *b, int k, const grid *g, task_wcache *wc, const data_set *train,
                        const int32_t *idx, const data_set *test, int64_t lo, int64_t hi, fg_err *err)
{
    base_block *x = &b->blk[k];
    nn_net_desc *d = malloc(sizeof *d);
    nn_train_desc t;
    int32_t *ti = malloc((size_t)(b->n_test > 0 ? b->n_test : 1) * sizeof *ti);
    nn_net *net = NULL;
    int rc = -1;
    if (!d || !ti) {
        fg_err_set(err, "out of memory computing a frozen base");
    } else if (!grid_config_build_data(g, x->config, d, &t, err) &&
               (net = base_whole_net(wc, g, x->config, d, BASE_BATCH, 0, err))) {
        for (int j = 0; j < b->n_test; j++)
            ti[j] = j;
        nn_data tr = {train->images, train->labels, train->h, train->w, train->c, b->classes, NULL};
        int64_t a = lo, z = hi < b->n ? hi : b->n;
        rc = a < z ? nn_base_forward(net, x->n_base, &tr, idx + a, (int)(z - a),
                                     (float *)x->train + a * x->size, err) : 0;
        a = lo > b->n ? lo - b->n : 0, z = hi - b->n;
        if (rc == 0 && a < z) {
            nn_data te = {test->images, test->labels, test->h, test->w, test->c, b->classes, NULL};
            rc = nn_base_forward(net, x->n_base, &te, ti + a, (int)(z - a),
                                 (float *)x->test + a * x->size, err);
        }
    }
    nn_net_free(net);
    free(ti);
    free(d);
    return rc;
}

/* The features' memory: shared by the node's ranks (collective) or this rank's own. */
static float *feature_memory(base_set *b, size_t floats, int shared, fg_err *err)
{
    if (shared)
        return sched_node_alloc(floats * sizeof(float), err);
    b->own = malloc(floats * sizeof(float));
    if (!b->own)
        fg_err_set(err, "out of memory for the frozen base's %.1f MB of features",
                   (double)floats * 4 / 1e6);
    return b->own;
}

int base_compute(base_set *b, const grid *g, task_wcache *wc, const data_set *train,
                 const int32_t *idx, int n, const data_set *test, int shared, fg_err *err)
{
    double t0 = fg_now();
    b->n = n;
    b->n_test = test ? test->n : 0;
    b->shared = shared;
    b->pos = malloc((size_t)(n > 0 ? n : 1) * sizeof *b->pos);
    b->train_labels = malloc((size_t)(n > 0 ? n : 1));
    b->test_labels = malloc((size_t)(b->n_test > 0 ? b->n_test : 1));
    int rc = 0;
    if (!b->pos || !b->train_labels || !b->test_labels)
        rc = fg_err_set(err, "out of memory for the frozen base");
    for (int i = 0; rc == 0 && i < n; i++) {
        b->pos[i] = i;
        b->train_labels[i] = train->labels[idx[i]];
    }
    if (rc == 0 && b->n_test)
        memcpy(b->test_labels, test->labels, (size_t)b->n_test);
    int64_t rows = (int64_t)n + b->n_test;
    size_t floats = 0;
    for (int k = 0; k < b->n_blocks; k++)
        floats += (size_t)(rows * b->blk[k].size);
    float *mem = feature_memory(b, floats, shared, err); /* collective when shared */
    if (!mem)
        rc = -1;
    int m = shared ? sched_node_size() : 1, r = shared ? sched_node_rank() : 0;
    int64_t lo = rows * r / m, hi = rows * (r + 1) / m; /* this rank's slice */
    for (int k = 0; mem && k < b->n_blocks; k++) {
        b->blk[k].train = mem;
        b->blk[k].test = mem + (size_t)n * (size_t)b->blk[k].size;
        mem += (size_t)(rows * b->blk[k].size);
        if (rc == 0)
            rc = compute_rows(b, k, g, wc, train, idx, test, lo, hi, err);
    }
    if (shared && !sched_node_all_ok(rc == 0))
        return rc ? -1 : fg_err_set(err, "another rank of this node failed computing the frozen base");
    b->seconds = fg_now() - t0;
    return rc;
}

static int base_configs(const base_set *b)
{
    int n = 0;
    for (int k = 0; k < b->n_blocks; k++)
        n += b->blk[k].n_configs;
    return n;
}

/* The node leader's line: the base computed once on this node, and what it took. */
static void base_log(const base_set *b)
{
    char host[64] = "?";
    gethostname(host, sizeof host - 1);
    int nc = 0;
    double mb = 0, gflop = 0;
    for (int k = 0; k < b->n_blocks; k++) {
        nc += b->blk[k].n_configs;
        mb += (double)(b->n + b->n_test) * (double)b->blk[k].size * 4 / 1e6;
        gflop += (double)(b->n + b->n_test) * (double)b->blk[k].flops / 1e9;
    }
    fprintf(stderr, "fmnist-grid: node %s: frozen base computed once for %d configuration%s by %d rank%s "
                    "(%d base%s, %d training + %d test images, %.1f MB of features%s, %.1f GFLOP) in %.2f s\n",
            host, nc, nc == 1 ? "" : "s", sched_node_size(), sched_node_size() == 1 ? "" : "s", b->n_blocks,
            b->n_blocks == 1 ? "" : "s", b->n, b->n_test, mb, b->shared ? " shared" : "", gflop, b->seconds);
}

int base_setup(const grid *g, const data_set *train, const int32_t *idx, int n,
               const data_set *test, int ok, int quiet, base_set **out, fg_err *err)
{
    *out = NULL;
    if (!sched_all_ok(ok))
        return 0; /* the caller reports what failed */
    task_wcache *wc = task_wcache_new();
    base_set *b = NULL;
    int rc = wc ? base_plan(g, wc, &b, err) : fg_err_set(err, "out of memory");
    if (!sched_all_ok(rc == 0)) {
        if (rc == 0)
            fg_err_set(err, "another rank failed planning the frozen bases");
        base_free(b);
        task_wcache_free(wc);
        return -1;
    }
    if (b) {
        int shared = sched_node_size() > 1;
        rc = base_compute(b, g, wc, train, idx, n, test, shared, err);
        if (rc == 0 && !quiet && sched_node_leader())
            base_log(b);
    }
    task_wcache_free(wc);
    if (rc) {
        base_free(b);
        return -1;
    }
    *out = b;
    return 0;
}

void base_header(const base_set *b, jnl_header *h)
{
    if (!b)
        return;
    h->base_configs = 0;
    for (int k = 0; k < b->n_blocks; k++)
        h->base_configs += b->blk[k].n_configs;
    h->base_blocks = b->n_blocks;
    h->base_seconds = b->seconds;
}

void base_dry_run(const grid *g)
{
    task_wcache *wc = task_wcache_new();
    base_set *b = NULL;
    fg_err err;
    if (!wc || base_plan(g, wc, &b, &err) || !b) {
        task_wcache_free(wc);
        return; /* nothing to say: the weights check reports a missing or bad file */
    }
    printf("\nfrozen base: %d base%s, computed once per node for %d of %lld configurations "
           "(their tasks train the head alone):\n", b->n_blocks, b->n_blocks == 1 ? "" : "s",
           base_configs(b), (long long)b->n_configs);
    for (int k = 0; k < b->n_blocks; k++)
        printf("  base %d: the first %d layers, %.1f MFLOP per image, output %dx%dx%d, %d configuration%s\n",
               k, b->blk[k].n_base, (double)b->blk[k].flops / 1e6, b->blk[k].in_h, b->blk[k].in_w,
               b->blk[k].in_c, b->blk[k].n_configs, b->blk[k].n_configs == 1 ? "" : "s");
    base_free(b);
    task_wcache_free(wc);
}
