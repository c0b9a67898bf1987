/* order.h - how a search's tasks are ordered and split, on top of dispatch.c: each
 * configuration's architecture key and dispatch family, the dispatch queue of a search
 * (task t is fold t % folds of configuration t / folds), and shards balanced by estimated
 * cost. Also used by `simulate` to replay a search. */
#ifndef ORDER_H
#define ORDER_H

#include <stdint.h>

#include "dispatch.h"
#include "fg_util.h"
#include "grid.h"

/* Each configuration's architecture key (parameter count and layer count on 28x28 images)
 * into key (grid_n_configs entries). Returns 0, or -1 with err. */
int ord_arch_keys(const grid *g, uint64_t *key, fg_err *err);

/* The dispatch family of each of n configurations: configurations with the same key share
 * one, numbered by the first configuration that has it. malloc'ed (the caller frees), or
 * NULL when out of memory. */
int32_t *ord_families(const uint64_t *key, int32_t n);

/* The dispatch queue of a search: n_tasks tasks of cost[] (group t / folds, family[] per
 * configuration), pending[] still to run. NULL with err on failure; dsp_free frees it. */
dsp_queue *ord_make_queue(const double *cost, int n_tasks, int folds, const int32_t *family,
                          int32_t n_configs, const int32_t *pending, int n_pending, fg_err *err);

/* Shards balanced by estimated cost: tasks longest first (then by id), each to the shard
 * with the least work so far (then the lowest index). Deterministic. Returns a malloc'ed
 * array of n shard numbers, or NULL when out of memory. */
int *ord_assign_shards(const double *cost, int n, int n_shards);

#endif
