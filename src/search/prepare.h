/* prepare.h - the data of a search, identical on every rank: the training (and test)
 * images loaded and checked against the grid, the subset searched over and its folds; held
 * once per node in shared memory under MPI. Used by the search and by the commands that
 * train (fit, reproduce, report's refit). */
#ifndef PREPARE_H
#define PREPARE_H

#include <stdint.h>

#include "data.h"
#include "fg_util.h"
#include "grid.h"

/* The loaded data, the subset's indices (idx, n) and each one's fold (fold_of). */
typedef struct {
    data_set train, test;
    int32_t *idx;
    int *fold_of;
    int n;
    uint64_t folds_checksum;
    int shared; /* the images and labels live in the node's shared memory, not ours */
} prep_data;

/* Where the subset searched over was set, for the messages of check_data. */
typedef enum {
    PREP_FROM_GRID,     /* data.subset in the grid file (or no subset) */
    PREP_FROM_CLI,      /* --subset N */
    PREP_FROM_RECORDED, /* what a search recorded (report, reproduce) */
} prep_origin;

/* Frees what p holds (not the node's shared images: sched_finalize does) and zeroes it. */
void prep_free(prep_data *p);

/* The subset searched over and its folds, from the loaded training labels (o's subset,
 * validation split or folds and cv seed). Returns 0, or -1 with err. */
int prep_derive_folds(const grid *g, prep_data *p, fg_err *err);

/* The loaded data become the grid's input (grid_set_input): the class count (data.classes,
 * else the training labels' largest + 1; every label below it) and the shape (data.shape,
 * which the images must have, else the IDX header's; test images as the training ones);
 * every configuration is checked for them before any task. Returns 0, or -1 with err. */
int prep_use_data(grid *g, prep_data *p, fg_err *err);

/* The input a search recorded (journal header or report.yaml: h x w x c and the class
 * count, 0 when not recorded) becomes the grid's, fixed: not recorded means data.shape or
 * 28x28x1 and data.classes or 10 (a search records any other). Returns 0, or -1 with err
 * (a configuration that does not fit it). */
int prep_use_recorded(grid *g, int h, int w, int c, int classes, fg_err *err);

/* Loads the data the grid g searches from data_dir (the test images too if want_test),
 * checks that the grid's settings fit them (image shape, enough images of every class for
 * the folds, the subset; messages name --subset or the grid's line per from) and derives
 * the subset and folds; the data become the grid's input (prep_use_data). Returns 0, or -1 with err; prep_free p either way. */
int prep_load(grid *g, prep_origin from, const char *data_dir, int want_test, prep_data *p,
              fg_err *err);

/* Collective over every rank: the images and labels are held once per node (the node's
 * first rank loads them from dir unless loaded, copies them into shared memory and frees
 * its own copy). Returns 0, or -1 with err (the same on every rank of a node). */
int prep_share(prep_data *p, const char *dir, int want_test, fg_err *err);

/* Collective, right after prep_share: rank 0 says which ranks share each node's image
 * window (unless quiet), and records its node's pids for FG_FAULT=nodekill. */
void prep_share_report(int quiet);

#endif
