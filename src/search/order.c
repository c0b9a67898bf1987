/* order.c - the order of a search's tasks: architecture keys and dispatch families, the
 * dispatch queue, shards balanced by cost (see order.h). */
#include "order.h"

#include <stdlib.h>

#include "data.h"
#include "fg_sort.h"
#include "nn.h"

/* Longest expected tasks first (then by id): the shards' balance. */
static int by_cost_desc(const void *a, const void *b, void *ctx)
{
    const double *cost = ctx;
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    double cx = cost[x], cy = cost[y];
    if (cx != cy)
        return cx > cy ? -1 : 1;
    return (x > y) - (x < y);
}

/* Each configuration's architecture key for dispatch families: parameter count and layer
 * count on the grid's input (grid_config_build_data). Returns 0, or -1 with err. */
int ord_arch_keys(const grid *g, uint64_t *key, fg_err *err)
{
    nn_net_desc *d = malloc(sizeof *d);
    nn_layer_info *info = malloc(NN_MAX_LAYERS * sizeof *info);
    int rc = d && info ? 0 : fg_err_set(err, "out of memory checking the configurations");
    for (int64_t i = 0; rc == 0 && i < grid_n_configs(g); i++) {
        nn_train_desc t;
        int64_t np = 0;
        if (grid_config_build_data(g, i, d, &t, err) ||
            nn_desc_check(d, info, &np, NULL, err))
            rc = -1;
        else
            key[i] = fg_hash_mix((uint64_t)np, (uint64_t)d->n_layers);
    }
    free(d);
    free(info);
    return rc;
}

/* Dispatch families: configurations with the same architecture key (parameter count and
 * layer count) share one, numbered by the first configuration that has it. */
static int by_key(const void *a, const void *b, void *ctx)
{
    const uint64_t *key = ctx;
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    uint64_t kx = key[x], ky = key[y];
    if (kx != ky)
        return kx < ky ? -1 : 1;
    return (x > y) - (x < y);
}

int32_t *ord_families(const uint64_t *key, int32_t n)
{
    int32_t *fam = malloc((size_t)(n > 0 ? n : 1) * sizeof *fam);
    int32_t *ix = malloc((size_t)(n > 0 ? n : 1) * sizeof *ix);
    if (!fam || !ix) {
        free(fam), free(ix);
        return NULL;
    }
    for (int32_t i = 0; i < n; i++)
        ix[i] = i;
    fg_sort(ix, (size_t)n, sizeof *ix, by_key, (void *)key);
    for (int32_t i = 0; i < n; i++)
        fam[ix[i]] = i > 0 && key[ix[i]] == key[ix[i - 1]] ? fam[ix[i - 1]] : ix[i];
    free(ix);
    return fam;
}

/* The dispatch queue of a search: task t belongs to group (configuration) t / folds. */
dsp_queue *ord_make_queue(const double *cost, int n_tasks, int folds, const int32_t *family,
                             int32_t n_configs, const int32_t *pending, int n_pending, fg_err *err)
{
    int32_t *group = malloc((size_t)(n_tasks > 0 ? n_tasks : 1) * sizeof *group);
    if (!group) {
        fg_err_set(err, "out of memory for %d tasks", n_tasks);
        return NULL;
    }
    for (int i = 0; i < n_tasks; i++)
        group[i] = i / folds;
    dsp_queue *q = dsp_new(n_tasks, cost, group, n_configs, family, pending, n_pending, err);
    free(group);
    return q;
}
/* Shards balanced by estimated cost: tasks longest first (then by id), each to the shard
 * with the least work so far (then the lowest index). Deterministic; every task gets
 * exactly one shard. Returns a malloc'ed array of n shard numbers, or NULL. */
int *ord_assign_shards(const double *cost, int n, int n_shards)
{
    int *shard = malloc((size_t)n * sizeof *shard);
    int32_t *ord = malloc((size_t)n * sizeof *ord);
    double *load = calloc((size_t)n_shards, sizeof *load);
    if (!shard || !ord || !load) {
        free(shard), free(ord), free(load);
        return NULL;
    }
    for (int i = 0; i < n; i++)
        ord[i] = i;
    fg_sort(ord, (size_t)n, sizeof *ord, by_cost_desc, (void *)cost);
    for (int k = 0; k < n; k++) {
        int best = 0;
        for (int j = 1; j < n_shards; j++)
            if (load[j] < load[best])
                best = j;
        shard[ord[k]] = best;
        load[best] += cost[ord[k]];
    }
    free(ord);
    free(load);
    return shard;
}

