/* base.h - the frozen base computed once per search per node (issue 16).
 *
 * Owns: which configurations start with a frozen, deterministic base (nn_desc_base_len,
 * every parameter of it from a weights file, no augmentation or test-time flip), which of
 * them share one base (the same layers, weights files and input), and the base's outputs
 * ("features") for every image the search needs: the searched training images, in the
 * order of the search's idx (row i for idx[i]), and the test images for the refit. The
 * ranks of a node each compute a slice into memory the node shares (sched_node_alloc), so
 * a base is computed once per node; tasks then train the head only (task.c). Each image's
 * forward is independent of the batch it is in (the engine runs a frozen layer's GEMMs one
 * image at a time: BLAS kernels such as OpenBLAS's Haswell/Zen sgemm sum a row differently
 * by where it falls in the matrix), so scores are bit for bit those of training the whole
 * network. */
#ifndef BASE_H
#define BASE_H

#include <stdint.h>

#include "data.h"
#include "grid.h"
#include "journal.h"
#include "nn.h"

#define BASE_MAX 8 /* distinct bases one search may share */

typedef struct task_wcache task_wcache;

typedef struct {
    int n_base;           /* layers of the base */
    int64_t size;         /* values per image */
    int in_h, in_w, in_c; /* the head's input shape */
    int64_t config;       /* a configuration using it (its weights are loaded) */
    int n_configs;        /* configurations that share it */
    int64_t flops;        /* forward FLOPs of the base per image */
    const float *train;   /* n x size */
    const float *test;    /* n_test x size */
} base_block;

typedef struct base_set {
    int n_blocks;
    base_block blk[BASE_MAX];
    int64_t n_configs;
    int32_t *block_of; /* per configuration: its block, or -1 (trained whole) */
    int n, n_test;
    int32_t *pos;      /* 0..n-1: the training positions tasks index the features with */
    uint8_t *train_labels, *test_labels; /* labels of the rows */
    float *own;        /* the features when not in shared memory */
    double seconds;    /* wall time of the computation (on this node) */
    int shared;        /* computed by the ranks of a node into shared memory */
    int classes;       /* the class count the configurations are built for */
} base_set;

/* The configurations of g (built for the grid's input: grid_config_build_data) with a
 * frozen base and their blocks. *out is NULL when none has one. wc reads the weights
 * files. Returns 0, or -1 with err. */
int base_plan(const grid *g, task_wcache *wc, base_set **out, fg_err *err);

/* Computes every block's features for idx[0..n) of train and (test not NULL) every test
 * image. shared: collective over the node (every rank of the node calls it with the same
 * plan); the node's ranks each compute a slice into the node's memory. Returns 0, or -1
 * with err (on every rank of the node when one fails). */
int base_compute(base_set *b, const grid *g, task_wcache *wc, const data_set *train,
                 const int32_t *idx, int n, const data_set *test, int shared, fg_err *err);

/* Collective over every rank, after the data are shared: when ok on every rank, plans the
 * bases and computes them (the node's ranks sharing the work when there are several), and
 * the node's leader logs one line per node unless quiet. *out NULL when no configuration
 * has a base or some rank was not ok (the caller reports that). Returns 0, or -1 with err. */
int base_setup(const grid *g, const data_set *train, const int32_t *idx, int n,
               const data_set *test, int ok, int quiet, base_set **out, fg_err *err);

/* --dry-run: prints (stdout) which configurations would train on a frozen base's features,
 * or nothing when none would (or their weights files cannot be read). */
void base_dry_run(const grid *g);

/* Records b in a journal header (nothing when b is NULL). */
void base_header(const base_set *b, jnl_header *h);

void base_free(base_set *b); /* NULL is a no-op; shared memory is sched_finalize's */

/* The block of configuration c, or -1 (also for b NULL). */
int base_block_of(const base_set *b, int64_t c);

/* The features of block k as engine data: the training rows or the test rows. */
nn_data base_data(const base_set *b, int k, int test);

/* The whole network of configuration c (description d) initialised from seed with its
 * weights files applied, for batches of max_batch. NULL with err. */
nn_net *base_whole_net(task_wcache *wc, const grid *g, int64_t c, const nn_net_desc *d,
                       int max_batch, uint64_t seed, fg_err *err);

#endif
