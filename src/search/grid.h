/* grid.h - the grid file: YAML parsing (libyaml), validation with file:line:column,
 * expansion into configurations, and the network description of each configuration.
 *
 * Expansion order (documented in the README, the same as scikit-learn's ParameterGrid):
 * sub-grids in file order; within a sub-grid the parameters sorted by name, the last name
 * varying fastest. Configuration indices are 0-based in that order. */
#ifndef GRID_H
#define GRID_H

#include <stddef.h>
#include <stdint.h>

#include "fg_util.h"
#include "halving.h"
#include "nn.h"

#define GRID_NAME_MAX 64
#define GRID_PATH_MAX 4096

/* The program's own limits, whatever the file says (docs/grid-schema.md, "Limits"): */
#define GRID_MAX_BYTES (16 << 20)        /* a larger grid file is refused unread */
#define GRID_MAX_CONFIGS 1000000         /* configurations of one grid */
#define GRID_MAX_TASKS 10000000          /* configurations x folds */
#define GRID_MAX_PARAM_TEXT (256 << 20)  /* all configurations' "name=value, ..." strings */
/* The image shape and class count a grid is checked for when it is read, unless the file
 * says otherwise (data.shape, data.classes): Fashion-MNIST's. Once the data are loaded,
 * their shape (the IDX header's) and class count (the labels') replace the ones not given
 * (grid_set_input), and every configuration is checked again for them. A dry run, which
 * reads no data, keeps these. */
#define GRID_INPUT_H 28
#define GRID_INPUT_W 28
#define GRID_INPUT_C 1
#define GRID_INPUT_CLASSES 10
#define GRID_MAX_SIDE 4096      /* data.shape: the IDX reader's limits */
#define GRID_MAX_CHANNELS 4
#define GRID_MAX_CLASSES 256    /* data.classes: labels are bytes */
#define GRID_CLASS_NAME_MAX 64  /* a data.class_names entry, NUL included */

typedef struct {
    char name[GRID_NAME_MAX];      /* required; [A-Za-z0-9_.-], used in directory names */
    char path[GRID_PATH_MAX];      /* where the grid was read from */
    char data_dir[GRID_PATH_MAX];  /* data.dir, "" when absent */
    int subset;                    /* data.subset: stratified subset size, 0 = all */
    int classes;                   /* data.classes, 0 = not given (then any output count is
                                    * accepted until grid_set_input sets the data's) */
    int n_class_names;             /* entries of data.class_names, 0 = none */
    int in_h, in_w, in_c;          /* data.shape, default GRID_INPUT_H x W x C until
                                    * grid_set_input sets the data's */
    int shape_given;               /* data.shape is in the file */
    int folds;                     /* cv.folds, default 5 (1 with validation_split) */
    double validation_split;       /* cv.validation_split in (0, 1): one stratified holdout
                                    * (fold 0 validates), 0 = k-fold */
    int shuffle;                   /* cv.shuffle, default 1 */
    uint64_t seed;                 /* seed, default 0: weights, batch order, dropout */
    uint64_t cv_seed;              /* cv.seed, default = seed: folds and subset */
    int cv_seed_set;               /* cv.seed given in the file */
    int refit;                     /* refit, default 1 */
    int64_t max_tasks;             /* max_tasks, default 1000000 */
    double task_timeout;           /* task_timeout in seconds, 0 = none */
} grid_options;

typedef struct grid grid;

/* The file's `search:` section (issue 15; docs/grid-schema.md). Without it: an exhaustive
 * grid (GRID_SEARCH_GRID), every configuration of the expansion, as before the section
 * existed.
 *   random:  n_iter configurations drawn with the grid's seed (sample.h) from the grid, whose
 *            parameters may then also be distributions ({uniform|loguniform|randint: [a, b]});
 *            they ARE the grid's configurations (grid_n_configs = the draws, indices 0.. in
 *            draw order, values as text), so everything downstream sees an ordinary grid.
 *   halving: successive halving (halving.h) over the grid's configurations, or over n_iter
 *            random draws when n_iter is given. */
typedef enum { GRID_SEARCH_GRID, GRID_SEARCH_RANDOM, GRID_SEARCH_HALVING } grid_strategy;
typedef struct {
    grid_strategy strategy;
    int given;             /* the file has a search: section */
    int64_t n_iter;        /* draws (random; halving over random candidates), 0 = none */
    int sampled;           /* the configurations are random draws */
    int capped;            /* list-only sampling: n_iter was more than the grid's size */
    int64_t grid_size;     /* list-only sampling: the grid's size; -1 otherwise */
    /* halving (scikit-learn's names and defaults) */
    int factor;            /* >= 2, default 3 */
    halv_resource resource; /* HALV_EPOCHS (default) or HALV_SAMPLES */
    int64_t min_resources; /* > 0 given; 0 with min_exhaust or min_smallest */
    int min_exhaust;       /* min_resources: exhaust (the default) */
    int min_smallest;      /* min_resources: smallest */
    int64_t max_resources; /* 0 = default: the largest configured epochs, or every image
                            * searched (known once the data are loaded) */
    int aggressive;        /* aggressive_elimination, default false */
} grid_search;

/* The search section (defaults when the file has none). */
const grid_search *grid_search_of(const grid *g);

/* Parses and validates a grid file. Every configuration is built and shape-checked for
 * data.shape images (28x28x1 when not given) with data.classes classes (10), so any bad
 * value is reported here, before training, as
 * "FILE:LINE:COL: what is wrong". The file must be a regular file (a FIFO or a device is
 * refused without blocking) of at most GRID_MAX_BYTES (a larger one is refused unread).
 * Loading is linear in the size of the file: keys are checked as they are parsed (the
 * first unknown or duplicate key is reported at once), and every comparison of items
 * with each other goes through a hash set or a sorted index. Returns 0 and *out (free
 * with grid_free), or -1. */
int grid_load_file(const char *path, grid **out, fg_err *err);
/* The same from text in memory (path is used in messages and recorded). */
int grid_load_string(const char *text, size_t len, const char *path, grid **out, fg_err *err);
void grid_free(grid *g); /* NULL is a no-op */

/* Where option `key` ("cv.folds", "data.subset", "seed", ...) is written in the file:
 * writes "FILE:LINE:COL" (of its value) to buf and returns 1, or writes "FILE" and returns
 * 0 when the file does not give it (the default applies). For messages about a value that
 * only turns out wrong later, against the data. */
int grid_option_where(const grid *g, const char *key, char *buf, size_t size);

/* Options of the file. The caller may override fields (command-line options). */
grid_options *grid_opts(grid *g);
const grid_options *grid_opts_c(const grid *g);
/* data.class_names (grid_opts_c(g)->n_class_names strings, owned by g), or NULL. */
const char *const *grid_class_names(const grid *g);
/* The file's bytes as read (owned by g). */
const char *grid_text(const grid *g, size_t *len);

/* Parameters: the union over all sub-grids, sorted by name. */
int grid_n_params(const grid *g);
const char *grid_param_name(const grid *g, int p);

int64_t grid_n_configs(const grid *g);
int grid_n_subgrids(const grid *g);
/* Value of parameter p in configuration c as written in the file (a YAML scalar), or NULL
 * when c's sub-grid does not have that parameter. Owned by g. */
const char *grid_config_value(const grid *g, int64_t c, int p);
/* "name=value" pairs of c joined by ", " in parameter order. Owned by g. */
const char *grid_config_params(const grid *g, int64_t c);
/* Stable hash of c's parameters (names and values as written). */
uint64_t grid_config_hash(const grid *g, int64_t c);

/* Network and training description of configuration c for an input of h x w x ch images
 * with n_classes classes (0: not known yet, the last layer's output count is taken, 10
 * when it has 10). Returns 0, or -1 with err (file:line:column). */
int grid_config_build(const grid *g, int64_t c, int h, int w, int ch, int n_classes,
                      nn_net_desc *net, nn_train_desc *train, fg_err *err);

/* grid_config_build for the input in the grid's options (in_h, in_w, in_c: data.shape;
 * classes: data.classes, or the data's once the caller has set it, else 10). */
int grid_config_build_data(const grid *g, int64_t c, nn_net_desc *net, nn_train_desc *train,
                           fg_err *err);

/* Sets the input every configuration is built for (in_h, in_w, in_c, classes: the data's
 * shape and class count, or the ones a search recorded) and checks every configuration
 * for it (only those whose output count differs when the shape is unchanged). Returns 0,
 * or -1 with err: FILE:LINE:COL at the last layer's units for an output count other than
 * `classes`, else as grid_load_file. */
int grid_set_input(grid *g, int h, int w, int ch, int classes, fg_err *err);

/* A Keras HDF5 weights file named by a configuration's model: the model's `weights`
 * (layer -1: every layer of the file goes to the model's layer of the same name) or a
 * layer's (its index: that layer's arrays). path is owned by g, as written in the file
 * (relative paths are relative to the current directory); line:col locate it in the grid. */
typedef struct {
    const char *path;
    int layer;
    int line, col;
} grid_weights;

/* The weights files of configuration c in out[0..max): the model's first, then the layers'
 * in order. Returns their count (0 for none or an invalid c). */
int grid_config_weights(const grid *g, int64_t c, grid_weights *out, int max);

#endif
