/* task.h - one unit of work: train configuration c on fold k (or refit it on all training
 * images and score it on the test set), turning a grid configuration into an engine call.
 * Task ids: task = config * folds + fold, in the documented expansion order. */
#ifndef TASK_H
#define TASK_H

#include <stdint.h>

#include "data.h"
#include "grid.h"
#include "h5w.h"
#include "halving.h"
#include "journal.h"
#include "nn.h"

/* A halving search's tasks (issue 15; rungs.h): iteration iter's task ids are
 * iter x n_tasks + config x folds + fold, its resource res[iter]. n_iter 0: an exhaustive
 * search (task = config x folds + fold, no resource). Plain data: broadcast to every rank. */
typedef struct {
    int32_t n_iter;
    int32_t n_tasks;         /* configurations x folds: the ids of one iteration */
    int32_t resource;        /* halv_resource */
    int32_t pad;
    int64_t max_resources;
    int64_t res[HALV_MAX_ITER];
} task_halving;

/* Keras weights files read so far, each once (task.c); NULL-safe. */
typedef struct task_wcache task_wcache;
task_wcache *task_wcache_new(void);
void task_wcache_free(task_wcache *wc); /* NULL is a no-op */

typedef struct {
    const grid *g;
    nn_data train;           /* borrowed images and labels of the training set */
    const int32_t *idx;      /* the samples searched over (all, or a stratified subset) */
    const int *fold_of;      /* fold of idx[i] */
    int n;
    int folds;
    uint64_t seed;           /* the grid's seed */
    double timeout;          /* seconds per task, 0 = none */
    int rank;
    char host[JNL_HOST_MAX];
    /* Work buffers, allocated once by task_ctx_init. */
    int32_t *train_idx, *val_idx;
    nn_net_desc *net;
    nn_fit_result *fit;
    task_wcache *wcache;     /* the weights files configurations name, read on first use */
    const struct base_set *bases; /* the frozen bases' features (base.h), or NULL: then
                                   * every configuration trains its whole network */
    task_halving halv;       /* halving (n_iter > 0): what a task id and a refit train with */
} task_ctx;

/* Sets up ctx for a grid and fold assignment; everything passed is borrowed. Returns 0/-1. */
int task_ctx_init(task_ctx *ctx, const grid *g, const data_set *train, const int32_t *idx,
                  const int *fold_of, int n, fg_err *err);
void task_ctx_free(task_ctx *ctx);

/* The RNG seed of (configuration, fold): a function of the grid seed and the
 * configuration's parameters only, never of the rank that runs it. */
uint64_t task_seed(uint64_t grid_seed, uint64_t config_hash, int fold);

/* Estimated cost of a task in FLOPs (forward+backward over all epochs, with a per-batch
 * overhead), for longest-first dispatch. */
double task_cost(const grid *g, int64_t config, int n_train);

/* Estimated bytes one training run of this network needs: parameters, gradients,
 * optimizer state and a best-weights copy, plus activations and their gradients for the
 * largest batch (info from nn_desc_check). */
double task_memory(const nn_net_desc *d, const nn_layer_info *info, int64_t n_params,
                   const nn_train_desc *t);

/* Checks the Keras weights files configuration c names (grid_config_weights) against its
 * description d (built by grid_config_build): each file is read once into wc; layer names,
 * array counts and shapes must match. Returns 0, or -1 with err, one line
 * "GRID:LINE:COL: FILE: what is wrong" (missing file, not HDF5, wrong layer or shape, no
 * libhdf5 in this build). */
int task_check_weights(task_wcache *wc, const grid *g, int64_t c, const nn_net_desc *d,
                       fg_err *err);

/* The weights file at path, read into wc on first use (h5w.h). NULL with err. */
const h5w_file *task_wcache_file(task_wcache *wc, const char *path, fg_err *err);
/* Loads the weights files configuration c names into net (description d), as a task does.
 * Returns 0, or -1 with err "GRID:LINE:COL: FILE: what is wrong". */
int task_load_weights(task_wcache *wc, const grid *g, int64_t c, const nn_net_desc *d, nn_net *net,
                      fg_err *err);

/* The distinct weights files of g's configurations (paths owned by g) and their CRC-32, at
 * most max: their count, or -1 with err (a file that cannot be read). */
int task_weights_crc(const grid *g, const char **path, uint32_t *crc, int max, fg_err *err);

/* sched_work_fn: trains task (config, fold) and fills *(jnl_record *)result. In a halving
 * search (ctx->halv.n_iter > 0) the id also names the iteration (task_halving), and the task
 * trains with its iteration's resource, from scratch with its usual seed: epochs = min(the
 * resource, the configuration's epochs); samples = the fold's training and validation
 * indices each cut to the fraction res / max_resources (task_subsample). Never continued
 * from an earlier iteration's weights: the learning-rate schedule, early stopping and
 * reduce-on-plateau depend on the total epochs, so a continued run would not equal a fresh
 * one with that resource. The record carries iter and n_resources; its task stays the id
 * (results start with it), which the coordinator journals as config x folds + fold. */
int task_run(void *ctx, int32_t task, void *result);

/* Cuts idx[0..*n) to max(1, floor(*n x res / max)) of its entries (when res < max), chosen
 * by a generator seeded from (cv_seed, fold, res, which: 0 training, 1 validation) and kept
 * sorted ascending: the same images for every configuration. */
void task_subsample(int32_t *idx, int *n, int64_t res, int64_t max, uint64_t cv_seed, int fold,
                    int which);

/* Refits configuration c on every searched sample and scores it on test[0..n_test) (in a
 * halving search with the last iteration's epochs when the resource is epochs; its record
 * carries that iteration and resource). The trained network is returned in *net_out when
 * net_out is not NULL (caller frees). */
int task_refit(task_ctx *ctx, int64_t config, const data_set *test, jnl_record *out,
               nn_net **net_out);

#endif
