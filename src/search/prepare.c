/* prepare.c - the data of a search: load, check against the grid, subset and folds, and
 * the images shared once per node (see prepare.h). */
#define _POSIX_C_SOURCE 200809L
#include "prepare.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cv.h"
#include "fault.h"
#include "fg_sched.h"


void prep_free(prep_data *p)
{
    if (p->shared) { /* freed with the shared memory window by sched_finalize */
        p->train.images = p->train.labels = NULL;
        p->test.images = p->test.labels = NULL;
    }
    data_free(&p->train);
    data_free(&p->test);
    free(p->idx);
    free(p->fold_of);
    memset(p, 0, sizeof *p);
}

/* The data's class count: data.classes (or the one the search recorded), else the training
 * labels' largest + 1; the training and test labels must lie below it. */
static int use_classes(const grid_options *o, prep_data *p, fg_err *err)
{
    int k = o->classes > 0 ? o->classes : p->train.classes;
    if (data_set_classes(&p->train, k, err) || (p->test.images && data_set_classes(&p->test, k, err))) {
        size_t len = strlen(err->msg);
        if (o->classes <= 0)
            snprintf(err->msg + len, sizeof err->msg - len,
                     " (the training labels' classes; data.classes says the data have more)");
        return -1;
    }
    return 0;
}

/* The images have data.shape (or the recorded shape) when the grid fixes one, and the test
 * images that of the training images. */
static int check_shape(const grid_options *o, const prep_data *p, fg_err *err)
{
    const data_set *tr = &p->train;
    char s1[40], s2[40];
    if (o->shape_given && (tr->h != o->in_h || tr->w != o->in_w || tr->c != o->in_c))
        return fg_err_set(err,
                          "%s: images are %s, but the grid %s is built and checked for %s images (the input of "
                          "every configuration, data.shape); give --data with %s images",
                          tr->images_path, data_shape_text(tr->h, tr->w, tr->c, s1, sizeof s1), o->path,
                          data_shape_text(o->in_h, o->in_w, o->in_c, s2, sizeof s2), s2);
    if (p->test.images && (p->test.h != tr->h || p->test.w != tr->w || p->test.c != tr->c))
        return fg_err_set(err, "%s: test images are %s, but the training images (%s) are %s", p->test.images_path,
                          data_shape_text(p->test.h, p->test.w, p->test.c, s1, sizeof s1), tr->images_path,
                          data_shape_text(tr->h, tr->w, tr->c, s2, sizeof s2));
    return 0;
}

int prep_use_data(grid *g, prep_data *p, fg_err *err)
{
    const grid_options *o = grid_opts_c(g);
    if (use_classes(o, p, err) || check_shape(o, p, err))
        return -1;
    const data_set *t = &p->train;
    if (o->shape_given)
        return grid_set_input(g, o->in_h, o->in_w, o->in_c, t->classes, err);
    return grid_set_input(g, t->h, t->w, t->c, t->classes, err);
}

int prep_use_recorded(grid *g, int h, int w, int c, int classes, fg_err *err)
{
    grid_options *o = grid_opts(g);
    if (h <= 0)
        h = o->in_h, w = o->in_w, c = o->in_c;
    if (classes <= 0)
        classes = o->classes > 0 ? o->classes : GRID_INPUT_CLASSES;
    o->shape_given = 1;
    return grid_set_input(g, h, w, c, classes, err);
}

/* The subset searched over and its folds, from the loaded training labels. */
int prep_derive_folds(const grid *g, prep_data *p, fg_err *err)
{
    const grid_options *o = grid_opts_c(g);
    int n = p->train.n;
    if (o->subset > 0 && o->subset < n)
        n = o->subset;
    p->idx = malloc((size_t)n * sizeof *p->idx);
    p->fold_of = malloc((size_t)n * sizeof *p->fold_of);
    if (!p->idx || !p->fold_of)
        return fg_err_set(err, "out of memory for %d sample indices", n);
    if (n < p->train.n) {
        if (data_stratified_subset(p->train.labels, p->train.n, p->train.classes, n, fg_hash_mix(o->cv_seed, 0x5u),
                                   p->idx, err))
            return -1;
    } else {
        for (int i = 0; i < n; i++)
            p->idx[i] = i;
    }
    p->n = n;
    if (o->validation_split > 0 ? cv_stratified_holdout(p->train.labels, p->idx, n, p->train.classes,
                                                        o->validation_split, fg_hash_mix(o->cv_seed, 0xf0u),
                                                        p->fold_of, err)
                                : cv_stratified_folds(p->train.labels, p->idx, n, p->train.classes, o->folds,
                                                      o->shuffle, fg_hash_mix(o->cv_seed, 0xf0u), p->fold_of, err))
        return -1;
    p->folds_checksum = cv_folds_checksum(p->idx, p->fold_of, n);
    return 0;
}


/* Checks, once the data are loaded and before any task, that the grid's settings fit them:
 *  - data.class_names names every class (the shape and the class count: prep_use_data);
 *  - stratified k-fold cross-validation can work: every class present in the training
 *    images has at least k images among those searched (the subset, or all), so that every
 *    fold validates on, and trains on, at least one image of each class;
 *  - the subset is at most the training images (never silently all of them).
 * Messages point at what to change: --subset, or the grid file's line:column of
 * data.subset or cv.folds. */
static int check_data(const grid *g, prep_origin from, const char *data_dir, const prep_data *p,
                      fg_err *err)
{
    const grid_options *o = grid_opts_c(g);
    const data_set *tr = &p->train;
    char subset[GRID_PATH_MAX + 64], at[GRID_PATH_MAX + 32], num[12];
    if (o->n_class_names && o->n_class_names != tr->classes && grid_option_where(g, "data.class_names", at, sizeof at))
        return fg_err_set(err, "%s: data.class_names lists %d names, but the data have %d classes (data.classes, "
                               "else the training labels' largest + 1)",
                          at, o->n_class_names, tr->classes);
    const char *const *names = o->n_class_names ? grid_class_names(g) : NULL;
    if (from == PREP_FROM_CLI)
        snprintf(subset, sizeof subset, "--subset %d", o->subset);
    else if (from == PREP_FROM_RECORDED)
        snprintf(subset, sizeof subset, "the recorded subset of %d images", o->subset);
    else if (grid_option_where(g, "data.subset", at, sizeof at))
        snprintf(subset, sizeof subset, "%s: data.subset %d", at, o->subset);
    else
        snprintf(subset, sizeof subset, "subset %d", o->subset);
    int64_t cnt[DATA_MAX_CLASSES] = {0};
    int have[DATA_MAX_CLASSES], K = tr->classes;
    for (int i = 0; i < tr->n; i++)
        cnt[tr->labels[i] < K ? tr->labels[i] : 0]++;
    int k = o->subset > 0 && o->subset < tr->n ? o->subset : tr->n;
    data_subset_quota(cnt, K, tr->n, k, have);
    for (int c = 0; c < K; c++) {
        if (cnt[c] == 0 || have[c] >= o->folds)
            continue;
        /* the smallest subset that would do, if any */
        int need = -1;
        for (int m = k + 1; m <= tr->n && need < 0; m++) {
            int q[DATA_MAX_CLASSES], ok = 1;
            data_subset_quota(cnt, K, tr->n, m, q);
            for (int d = 0; d < K && ok; d++)
                ok = cnt[d] == 0 || q[d] >= o->folds;
            if (ok)
                need = m;
        }
        char among[GRID_PATH_MAX + 160], hint[96] = "";
        if (k < tr->n)
            snprintf(among, sizeof among, "among the %d images of %s", k, subset);
        else
            snprintf(among, sizeof among, "among the %d training images in %s", k, data_dir);
        if (need > 0)
            snprintf(hint, sizeof hint, "; a subset of at least %d images would do", need);
        const char *why = "stratified cross-validation needs at least one image of every class in "
                          "every fold";
        int written = grid_option_where(g, "cv.folds", at, sizeof at);
        if (written || k == tr->n)
            return fg_err_set(err, "%s: cv.folds %d%s is more than the %d image%s of class %d (%s) %s: %s%s",
                              at, o->folds, written ? "" : " (the default)", have[c],
                              have[c] == 1 ? "" : "s", c, data_class_name(names, K, c, num, sizeof num), among,
                              why, hint);
        return fg_err_set(err, "%s leaves %d image%s of class %d (%s) to search, fewer than the %d folds "
                               "(cv.folds, the default): %s%s",
                          subset, have[c], have[c] == 1 ? "" : "s", c, data_class_name(names, K, c, num, sizeof num),
                          o->folds, why, hint);
    }
    if (o->subset > tr->n)
        return fg_err_set(err, "%s is more than the %d training images in %s (0 = all of them)", subset,
                          tr->n, data_dir);
    return 0;
}

/* Loads the data the grid g searches (the test images too if want_test), checks that the
 * grid's settings fit them (check_data) and derives the subset and folds. */
int prep_load(grid *g, prep_origin from, const char *data_dir, int want_test, prep_data *p,
                   fg_err *err)
{
    memset(p, 0, sizeof *p);
    if (data_load_dir(data_dir, DATA_TRAIN, &p->train, err))
        return -1;
    fault_startup("data", 1); /* only a search sets it, and only rank 0 gets here */
    if (want_test && data_load_dir(data_dir, DATA_TEST, &p->test, err))
        return -1;
    if (prep_use_data(g, p, err) || check_data(g, from, data_dir, p, err))
        return -1;
    return prep_derive_folds(g, p, err);
}

/* What a node's first rank tells the others about the data it put in shared memory. */
typedef struct {
    int32_t status;
    char why[FG_ERR_MAX];
    data_set set[2]; /* pointers not meaningful: offsets follow */
} node_meta;

/* Collective over every rank: the images and labels are held once per node. The node's
 * first rank loads them (rank 0 has already: it checked the grid against them), copies
 * them into memory the node's ranks share and frees its own copy; the others read the
 * shared copy. Each rank of a node gets the same error if its leader cannot load. */
int prep_share(prep_data *p, const char *dir, int want_test, fg_err *err)
{
    if (sched_node_size() == 1) { /* alone on the node: nothing to share */
        if (!p->train.images && data_load_dir(dir, DATA_TRAIN, &p->train, err))
            return -1;
        if (want_test && !p->test.images && data_load_dir(dir, DATA_TEST, &p->test, err))
            return -1;
        return 0;
    }
    node_meta *m = calloc(1, sizeof *m);
    if (!m)
        return fg_err_set(err, "out of memory sharing the data");
    if (sched_node_leader()) {
        fg_err le;
        if ((!p->train.images && data_load_dir(dir, DATA_TRAIN, &p->train, &le)) ||
            (want_test && !p->test.images && data_load_dir(dir, DATA_TEST, &p->test, &le))) {
            m->status = -1;
            snprintf(m->why, sizeof m->why, "%s", le.msg);
        }
        m->set[0] = p->train;
        m->set[1] = p->test;
    }
    if (sched_node_bcast(m, sizeof *m, err)) {
        free(m);
        return -1;
    }
    if (m->status) {
        fg_err_set(err, "%s", m->why);
        free(m);
        return -1;
    }
    size_t bytes[2][2], total = 0;
    for (int k = 0; k < 2; k++) {
        bytes[k][0] = (size_t)m->set[k].n * (size_t)m->set[k].h * (size_t)m->set[k].w;
        bytes[k][1] = (size_t)m->set[k].n;
        total += bytes[k][0] + bytes[k][1];
    }
    uint8_t *base = sched_node_alloc(total, err);
    if (!base) {
        free(m);
        return -1;
    }
    if (sched_node_leader()) {
        size_t off = 0;
        data_set *own[2] = {&p->train, &p->test};
        for (int k = 0; k < 2; k++) {
            if (bytes[k][0])
                memcpy(base + off, own[k]->images, bytes[k][0]);
            if (bytes[k][1])
                memcpy(base + off + bytes[k][0], own[k]->labels, bytes[k][1]);
            off += bytes[k][0] + bytes[k][1];
            data_free(own[k]);
        }
    }
    int32_t filled = 1; /* the leader's copy is complete before anyone reads it */
    int rc = sched_node_bcast(&filled, sizeof filled, err);
    size_t off = 0;
    data_set *own[2] = {&p->train, &p->test};
    for (int k = 0; k < 2; k++) {
        *own[k] = m->set[k];
        own[k]->images = bytes[k][0] ? base + off : NULL;
        own[k]->labels = bytes[k][1] ? base + off + bytes[k][0] : NULL;
        off += bytes[k][0] + bytes[k][1];
    }
    p->shared = 1;
    free(m);
    return rc;
}

/* "0-3,8,10,11": world ranks with runs of three or more as ranges. */
static void rank_list(const int32_t *r, int n, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && len + 32 < size;) {
        int j = i;
        while (j + 1 < n && r[j + 1] == r[j] + 1)
            j++;
        if (j - i >= 2) {
            len += (size_t)snprintf(buf + len, size - len, "%s%d-%d", i ? "," : "", r[i], r[j]);
            i = j + 1;
        } else {
            len += (size_t)snprintf(buf + len, size - len, "%s%d", i ? "," : "", r[i]);
            i++;
        }
        if (i < n && len + 32 >= size)
            snprintf(buf + len, size - len, ",...");
    }
}

/* The node of a gathered rank: the world rank of its node's first rank. */
static int node_of(const sched_rank_info *r, int n)
{
    return r->node_leader >= 0 && r->node_leader < n ? r->node_leader : 0;
}

/* Rank 0, under MPI: one line per node saying which ranks share its image window (one per
 * node is the design: the images are held once per node), from every rank's own account;
 * and the pids of rank 0's node, for FG_FAULT=nodekill. all[] is in rank order. */
static void log_nodes(const sched_rank_info *all, int n, int quiet)
{
    int32_t *first = calloc((size_t)n + 1, sizeof *first); /* node l: members[first[l] ..] */
    int32_t *next = malloc((size_t)n * sizeof *next), *members = malloc((size_t)n * sizeof *members);
    char *list = malloc(4096);
    if (!first || !next || !members || !list)
        n = 0; /* no memory: no log line, and nodekill kills rank 0 only */
    for (int j = 0; j < n; j++) /* a counting sort by node, in rank order within a node */
        first[node_of(&all[j], n) + 1]++;
    for (int l = 0; l < n; l++) {
        first[l + 1] += first[l];
        next[l] = first[l];
    }
    for (int j = 0; j < n; j++)
        members[next[node_of(&all[j], n)]++] = j;
    for (int l = 0; l < n; l++) {
        const int32_t *mem = members + first[l];
        int m = first[l + 1] - first[l], w_min = INT32_MAX, w_max = 0;
        if (m <= 0)
            continue;
        for (int k = 0; k < m; k++) {
            w_min = all[mem[k]].windows < w_min ? all[mem[k]].windows : w_min;
            w_max = all[mem[k]].windows > w_max ? all[mem[k]].windows : w_max;
        }
        if (l == 0) { /* FG_FAULT=nodekill: rank 0's node */
            int64_t *pids = malloc((size_t)m * sizeof *pids);
            for (int k = 0; pids && k < m; k++)
                pids[k] = all[mem[k]].pid;
            fault_node0(pids, pids ? m : 0);
            free(pids);
        }
        if (quiet || n == 1)
            continue;
        char host[sizeof all->host + 1];
        memcpy(host, all[l].host, sizeof all->host);
        host[sizeof all->host] = '\0';
        rank_list(mem, m, list, 4096);
        if (m == 1)
            fprintf(stderr, "fmnist-grid: node %s: rank %s alone, its images in its own memory\n", host, list);
        else if (w_min == 1 && w_max == 1)
            fprintf(stderr, "fmnist-grid: node %s: ranks %s share one image window (%.1f MB)\n", host, list,
                    (double)all[l].window_bytes / 1e6);
        else if (w_min == w_max)
            fprintf(stderr, "fmnist-grid: node %s: ranks %s share %d image windows\n", host, list, w_min);
        else
            fprintf(stderr, "fmnist-grid: node %s: ranks %s map different numbers of image windows (%d to %d)\n",
                    host, list, w_min, w_max);
    }
    free(first), free(next), free(members), free(list);
}

/* Collective over every rank, right after prep_share: rank 0 says which ranks share each
 * node's image window (log_nodes), then FG_FAULT=startup:SIG:window. */
void prep_share_report(int quiet)
{
    sched_rank_info *all = NULL;
    fg_err err;
    if (sched_gather_ranks(&all, &err) == 0 && all)
        log_nodes(all, sched_size(), quiet);
    free(all);
    fault_startup("window", sched_rank() == sched_size() - 1);
}

