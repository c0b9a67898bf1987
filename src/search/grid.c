/* grid.c - the grid file: YAML (libyaml) -> a small node tree with line:column marks ->
 * validated options, models and sub-grids -> configurations on demand.
 *
 * Loading runs in passes, each reporting the first problem as "FILE:LINE:COL: message":
 *   1-2. libyaml events -> node tree (syntax errors, aliases copied, one document only),
 *      keys checked as they arrive (scalars, no duplicates in a mapping);
 *   3. top-level keys and options (name, seed, data, cv, ...), structure of train/model(s);
 *   4. the grid: sub-grids, parameters, values; $references and unused parameters;
 *   5. the size check (configurations and tasks within the program's limits and
 *      max_tasks, every product checked before it is formed);
 *   6. every configuration is built and shape-checked (nn_desc_check); its canonical
 *      "name=value, ..." string and hash are kept for grid_config_params/grid_config_hash
 *      (the hash leaves out the training-recipe keys at their off values: recipe_key_off).
 * No pass compares items (keys, values, anchors, models, references, sub-grids) each with
 * every other: hash sets (nset), sorted indexes and binary search keep loading linear (up to
 * a logarithm) in the size of the file, and in the number of configurations.
 * Building a configuration (grid_config_build) interprets the tree again with the values of
 * that configuration, so a value that came from the grid is reported at the grid value. */
#define _POSIX_C_SOURCE 200809L
#include "grid.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "fg_buf.h"
#include "fg_sort.h"
#include "sample.h"

/* ---------------------------------------------------------------------------------- */
/* a hash set of nodes (duplicate keys, duplicate values, distinct names): every check
 * that compares items with each other goes through one, so that loading is linear in the
 * size of the file however many keys, values, anchors or references it holds          */

struct node;
typedef struct {
    const struct node **slot; /* NULL = empty */
    uint64_t *hash;
    size_t cap, n;
} nset;

static void nset_free(nset *t)
{
    free(t->slot);
    free(t->hash);
    memset(t, 0, sizeof *t);
}

/* Looks x (hash h, equality eq) up; adds it if absent. Returns the equal node already in
 * the set, NULL after adding x, or x itself when memory runs out (*oom set). */
static const struct node *nset_add(nset *t, const struct node *x, uint64_t h,
                                   int (*eq)(const struct node *, const struct node *), int *oom)
{
    if (2 * (t->n + 1) > t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 16;
        const struct node **slot = calloc(cap, sizeof *slot);
        uint64_t *hash = malloc(cap * sizeof *hash);
        if (!slot || !hash) {
            free(slot);
            free(hash);
            *oom = 1;
            return x;
        }
        for (size_t i = 0; i < t->cap; i++)
            if (t->slot[i]) {
                size_t j = (size_t)t->hash[i] & (cap - 1);
                while (slot[j])
                    j = (j + 1) & (cap - 1);
                slot[j] = t->slot[i];
                hash[j] = t->hash[i];
            }
        free(t->slot);
        free(t->hash);
        t->slot = slot;
        t->hash = hash;
        t->cap = cap;
    }
    size_t j = (size_t)h & (t->cap - 1);
    for (; t->slot[j]; j = (j + 1) & (t->cap - 1))
        if (t->hash[j] == h && eq(t->slot[j], x))
            return t->slot[j];
    t->slot[j] = x;
    t->hash[j] = h;
    t->n++;
    return NULL;
}

/* ---------------------------------------------------------------------------------- */
/* node tree                                                                           */

typedef enum { N_SCALAR, N_SEQ, N_MAP } node_type;

typedef struct node {
    node_type type;
    int line, col; /* 1-based */
    int plain;     /* plain (unquoted) scalar */
    int height;    /* levels of collections below this node (0: scalar or empty), for MAX_DEPTH */
    char *s;       /* scalar text, NUL-terminated; NULL for collections */
    int n;         /* items (sequence) or pairs (mapping) */
    int cap;
    struct node **k; /* sequence: items; mapping: key, value, key, value ... */
} node;

#define MAP_KEY(m, i) ((m)->k[2 * (i)])
#define MAP_VAL(m, i) ((m)->k[2 * (i) + 1])

/* A cap on nodes, so aliases cannot expand a small file into a huge tree. */
#define MAX_NODES 1000000
/* A cap on nesting (counting what aliases copy in), so the recursive passes over the tree
 * (check_tree, node_free, node_copy, ...) cannot overflow the stack; real grid files nest
 * about 5 levels deep. */
#define MAX_DEPTH 100

static void node_free(node *n)
{
    if (!n)
        return;
    int m = n->type == N_MAP ? 2 * n->n : n->n;
    for (int i = 0; i < m; i++)
        node_free(n->k[i]);
    free(n->k);
    free(n->s);
    free(n);
}

/* Children are stored in a flat array; mappings count pairs in n once the value is in. */
typedef struct {
    node *n;
    int len; /* number of children pushed (keys and values for mappings) */
    char *anchor;
    nset keys; /* a mapping's keys so far */
} frame;

static int kids_append(node *p, int *len, node *c)
{
    if (*len == p->cap) {
        int cap = p->cap ? 2 * p->cap : 8;
        node **k = realloc(p->k, (size_t)cap * sizeof *k);
        if (!k)
            return -1;
        p->k = k;
        p->cap = cap;
    }
    p->k[(*len)++] = c;
    p->n = p->type == N_MAP ? *len / 2 : *len;
    if (c->height + 1 > p->height) /* a collection's own height is final at its end event */
        p->height = c->height + 1;
    return 0;
}

/* A deep copy (for aliases); count caps the total number of nodes. */
static node *node_copy(const node *n, long *count)
{
    if (++*count > MAX_NODES)
        return NULL;
    node *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->type = n->type;
    c->line = n->line;
    c->col = n->col;
    c->plain = n->plain;
    c->height = n->height;
    if (n->s && !(c->s = strdup(n->s))) {
        free(c);
        return NULL;
    }
    int m = n->type == N_MAP ? 2 * n->n : n->n;
    if (m && !(c->k = calloc((size_t)m, sizeof *c->k))) {
        node_free(c);
        return NULL;
    }
    c->n = n->n;
    c->cap = m;
    for (int i = 0; i < m; i++)
        if (!(c->k[i] = node_copy(n->k[i], count))) {
            node_free(c); /* children not copied yet are NULL: node_free skips them */
            return NULL;
        }
    return c;
}

/* ---------------------------------------------------------------------------------- */
/* the grid                                                                            */

typedef struct {
    const char *name; /* points into the tree */
    const node *key;
    const node *vals; /* a non-empty sequence of scalars; a distribution's: its draws, one
                       * per configuration of the sub-grid (made by sample_configs) */
    const node *dist; /* a distribution {kind: [a, b]} (random draws only), or NULL */
    smp_kind kind;
    double a, b;      /* the distribution's bounds */
} param;

typedef struct {
    const node *map; /* NULL when the file has no grid */
    int np;
    param *p;     /* sorted by name */
    int64_t n;    /* configurations */
    int64_t off;  /* index of the first configuration */
    int model_j;  /* index in p of the parameter `model` (with `models`), or -1 */
    int *model_of; /* with `models`: the model each value of `model` selects */
    char *used;   /* per parameter: referenced by train or a model this sub-grid selects */
    int64_t *stride; /* per parameter: configurations between two of its values (the product
                      * of the value counts of the parameters after it) */
    int32_t *rs_idx; /* random draws: per configuration of the sub-grid (row) and parameter,
                      * the index of its value in vals (row x np + j); NULL: the expansion */
} subgrid;

typedef struct {
    const char *name; /* "" for the single `model` */
    const node *key;  /* key node of the model in `models`, or of `model` */
    const node *layers;
    int n_refs;
    const node **refs; /* $references in the layers, in file order */
    int n_names;
    const node **names; /* the first reference to each distinct name, in file order */
    const node *weights;      /* the model's `weights: FILE.h5`, or NULL */
    const node *freeze_until; /* `freeze_until: LAYER`: that layer and all before it frozen */
} model;

struct grid {
    grid_options opts;
    char *text;
    size_t len;
    node *root;
    const node *grid_key; /* the key `grid`, or NULL */
    int grid_is_list;
    const node *train; /* mapping or NULL */
    int n_train_refs;
    const node **train_refs;
    int n_train_names;
    const node **train_names; /* the first reference to each distinct name, in file order */
    int *model_order;         /* model indices sorted by name (with `models`) */
    int multi; /* `models` rather than `model` */
    int n_models;
    model *models;
    int n_sub;
    subgrid *sub;
    int n_params;
    const char **params; /* sorted union */
    int64_t n_configs;
    char *pbuf;     /* canonical "name=value, ..." strings, NUL-separated */
    int64_t *poff;  /* offset of each configuration's string in pbuf */
    uint64_t *hash; /* per configuration */
    const char **class_names; /* data.class_names: opts.n_class_names strings of the tree */
    int classes_given;        /* data.classes is in the file */
    /* Without data.classes, the outputs the configurations' last layers have: the smallest
     * and the largest, and a configuration of each (grid_set_input checks them against the
     * data's class count without building every configuration again). */
    int out_lo, out_hi;
    int64_t out_lo_config, out_hi_config;
    grid_search search; /* the search: section (defaults without one) */
    /* random draws: each configuration's sub-grid and row in it (NULL: the expansion), and
     * one sequence holding the distributions' draws (freed with the grid) */
    int32_t *rs_sub;
    int64_t *rs_row;
    node *draws;
};

/* ---------------------------------------------------------------------------------- */
/* errors                                                                              */

static int err_at(const grid *g, const node *n, fg_err *err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static int err_at(const grid *g, const node *n, fg_err *err, const char *fmt, ...)
{
    char msg[FG_ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return fg_err_set(err, "%s:%d:%d: %s", g->opts.path, n ? n->line : 1, n ? n->col : 1, msg);
}

static const char *type_name(const node *n)
{
    return n->type == N_MAP ? "a mapping" : n->type == N_SEQ ? "a list" : "a scalar";
}

static int expect(const grid *g, const node *n, node_type t, const char *what, fg_err *err)
{
    static const char *const want[] = {"a scalar", "a list", "a mapping"};
    if (n->type == t)
        return 0;
    if (n->type == N_SCALAR)
        return err_at(g, n, err, "%s: expected %s, got the scalar '%s'", what, want[t], n->s);
    return err_at(g, n, err, "%s: expected %s, got %s", what, want[t], type_name(n));
}

/* ---------------------------------------------------------------------------------- */
/* pass 1: libyaml events -> tree                                                      */

static void mark_of_offset(const char *text, size_t len, size_t off, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off && i < len; i++) {
        if (text[i] == '\n') {
            ++*line;
            *col = 1;
        } else if (((unsigned char)text[i] & 0xC0) != 0x80) {
            ++*col;
        }
    }
}

static int yaml_error(const grid *g, const yaml_parser_t *p, fg_err *err)
{
    const char *path = g->opts.path;
    if (p->error == YAML_MEMORY_ERROR)
        return fg_err_set(err, "%s: out of memory while parsing", path);
    const char *problem = p->problem ? p->problem : "unknown YAML error";
    if (p->error == YAML_READER_ERROR) {
        int line, col;
        mark_of_offset(g->text, g->len, p->problem_offset, &line, &col);
        return fg_err_set(err, "%s:%d:%d: %s", path, line, col, problem);
    }
    if (p->context)
        return fg_err_set(err, "%s:%d:%d: %s (%s at line %d, column %d)", path,
                          (int)p->problem_mark.line + 1, (int)p->problem_mark.column + 1, problem,
                          p->context, (int)p->context_mark.line + 1,
                          (int)p->context_mark.column + 1);
    return fg_err_set(err, "%s:%d:%d: %s", path, (int)p->problem_mark.line + 1,
                      (int)p->problem_mark.column + 1, problem);
}

/* Anchors by name, the latest finished definition winning (YAML allows redefining one). */
typedef struct {
    char *name;
    const node *n;
} anchor;

typedef struct {
    anchor *slot; /* name NULL = empty */
    size_t cap, n;
} anchors;

static void anchors_free(anchors *a)
{
    for (size_t i = 0; i < a->cap; i++)
        free(a->slot[i].name);
    free(a->slot);
    memset(a, 0, sizeof *a);
}

static anchor *anchors_find(const anchors *a, const char *name)
{
    if (!a->cap)
        return NULL;
    for (size_t j = (size_t)fg_hash_str(name, 0) & (a->cap - 1); a->slot[j].name;
         j = (j + 1) & (a->cap - 1))
        if (!strcmp(a->slot[j].name, name))
            return &a->slot[j];
    return NULL;
}

/* Registers a finished anchored node; takes ownership of name (freed on failure). */
static int add_anchor(anchors *a, char *name, const node *nd)
{
    if (!name)
        return -1;
    anchor *old = anchors_find(a, name);
    if (old) {
        free(name);
        old->n = nd;
        return 0;
    }
    if (2 * (a->n + 1) > a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 16;
        anchor *slot = calloc(cap, sizeof *slot);
        if (!slot) {
            free(name);
            return -1;
        }
        for (size_t i = 0; i < a->cap; i++)
            if (a->slot[i].name) {
                size_t j = (size_t)fg_hash_str(a->slot[i].name, 0) & (cap - 1);
                while (slot[j].name)
                    j = (j + 1) & (cap - 1);
                slot[j] = a->slot[i];
            }
        free(a->slot);
        a->slot = slot;
        a->cap = cap;
    }
    size_t j = (size_t)fg_hash_str(name, 0) & (a->cap - 1);
    while (a->slot[j].name)
        j = (j + 1) & (a->cap - 1);
    a->slot[j].name = name;
    a->slot[j].n = nd;
    a->n++;
    return 0;
}

#define TOP_KEYS_TEXT                                                                      \
    "name, seed, refit, max_tasks, task_timeout, data, cv, search, train, model, models, grid"

static int key_eq(const node *a, const node *b) { return !strcmp(a->s, b->s); }

/* A node about to become a key of the mapping of frame f: keys must be scalars and unique
 * in their mapping. Checked as they arrive, through the mapping's hash set of keys, so the
 * first bad key is reported at once (line:column of both for a duplicate), in time linear
 * in the number of keys. */
static int check_key(const grid *g, frame *f, const node *k, fg_err *err)
{
    if (k->type != N_SCALAR)
        return err_at(g, k, err, "mapping keys must be scalars, got %s", type_name(k));
    int oom = 0;
    const node *first = nset_add(&f->keys, k, fg_hash_str(k->s, 0), key_eq, &oom);
    if (oom)
        return fg_err_set(err, "%s: out of memory", g->opts.path);
    if (first)
        return err_at(g, k, err, "duplicate key '%s' (first at line %d, column %d)", k->s,
                      first->line, first->col);
    return 0;
}

/* The state of parse_tree: the open collections, the anchors, the root and the counts. */
typedef struct {
    grid *g;
    frame *stack; /* the open collections, innermost last */
    int depth, cap;
    anchors anc;
    node *root;
    int docs;   /* documents started */
    long count; /* nodes made, aliases' copies included, against MAX_NODES */
} tree_parse;

/* Set err to the grid's out-of-memory message; returns -1. */
static int tree_oom(const tree_parse *t, fg_err *err)
{
    return fg_err_set(err, "%s: out of memory", t->g->opts.path);
}

/* A scalar, sequence or mapping start event: a new node in *n, its anchor name (owned by
 * the event) in *anc. */
static int tree_new_node(tree_parse *t, const yaml_event_t *ev, int line, int col, node **n,
                         const char **anc, fg_err *err)
{
    if (++t->count > MAX_NODES)
        return fg_err_set(err, "%s:%d:%d: too many YAML nodes", t->g->opts.path, line, col);
    node *x = calloc(1, sizeof *x);
    if (!x)
        return tree_oom(t, err);
    x->line = line;
    x->col = col;
    if (ev->type == YAML_SCALAR_EVENT) {
        x->type = N_SCALAR;
        x->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        x->s = malloc(ev->data.scalar.length + 1);
        if (!x->s) {
            free(x);
            return tree_oom(t, err);
        }
        memcpy(x->s, ev->data.scalar.value, ev->data.scalar.length);
        x->s[ev->data.scalar.length] = '\0';
        *anc = (const char *)ev->data.scalar.anchor;
    } else if (ev->type == YAML_SEQUENCE_START_EVENT) {
        x->type = N_SEQ;
        *anc = (const char *)ev->data.sequence_start.anchor;
    } else {
        x->type = N_MAP;
        *anc = (const char *)ev->data.mapping_start.anchor;
    }
    *n = x;
    return 0;
}

/* An alias event: a copy of its anchor's finished node in *n. */
static int tree_alias(tree_parse *t, const yaml_event_t *ev, int line, int col, node **n,
                      fg_err *err)
{
    const char *name = (const char *)ev->data.alias.anchor;
    const anchor *found = anchors_find(&t->anc, name);
    const node *src = found ? found->n : NULL;
    if (!src)
        return fg_err_set(err, "%s:%d:%d: unknown or unfinished anchor '*%s'", t->g->opts.path,
                          line, col, name);
    *n = node_copy(src, &t->count);
    if (!*n)
        return fg_err_set(err, "%s:%d:%d: too many YAML nodes (aliases)", t->g->opts.path, line,
                          col);
    return 0;
}

/* A sequence or mapping end event: pop its frame, pass its height up, record its anchor. */
static int tree_close(tree_parse *t, fg_err *err)
{
    frame *f = &t->stack[--t->depth];
    int bad = 0;
    if (t->depth > 0 && f->n->height + 1 > t->stack[t->depth - 1].n->height)
        t->stack[t->depth - 1].n->height = f->n->height + 1;
    if (f->anchor && add_anchor(&t->anc, f->anchor, f->n))
        bad = tree_oom(t, err);
    f->anchor = NULL;
    nset_free(&f->keys);
    return bad;
}

/* Check the depth and, as a mapping's key, the key; attach the new node n to its parent
 * (or make it the root). On failure n is freed. */
static int tree_attach(tree_parse *t, node *n, int line, int col, fg_err *err)
{
    frame *up = t->depth > 0 ? &t->stack[t->depth - 1] : NULL;
    if (t->depth + n->height >= MAX_DEPTH) {
        fg_err_set(err, "%s:%d:%d: nested more than %d levels deep", t->g->opts.path, line, col,
                   MAX_DEPTH);
        node_free(n); /* its own height is below MAX_DEPTH: bounded recursion */
        return -1;
    }
    if (up && up->n->type == N_MAP && up->len % 2 == 0 && check_key(t->g, up, n, err)) {
        node_free(n); /* not attached */
        return -1;
    }
    if (!up) {
        t->root = n;
    } else if (kids_append(up->n, &up->len, n)) {
        node_free(n);
        return tree_oom(t, err);
    }
    return 0;
}

/* Open a frame for the new (attached) collection n with anchor name anc (may be NULL). */
static int tree_push(tree_parse *t, node *n, const char *anc, fg_err *err)
{
    if (t->depth == t->cap) {
        int nc = t->cap ? 2 * t->cap : 16;
        frame *s = realloc(t->stack, (size_t)nc * sizeof *s);
        if (!s)
            return tree_oom(t, err);
        t->stack = s;
        t->cap = nc;
    }
    frame *f = &t->stack[t->depth];
    f->n = n;
    f->len = 0;
    f->anchor = anc ? strdup(anc) : NULL;
    memset(&f->keys, 0, sizeof f->keys);
    t->depth++;
    return 0;
}

/* One event other than the stream's end: 0, or -1 with err set. */
static int tree_event(tree_parse *t, const yaml_event_t *ev, fg_err *err)
{
    int line = (int)ev->start_mark.line + 1, col = (int)ev->start_mark.column + 1;
    node *n = NULL;
    const char *anc = NULL;
    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (t->docs++ > 0)
            return fg_err_set(err, "%s:%d:%d: a grid file holds one YAML document, found a second",
                              t->g->opts.path, line, col);
        return 0;
    case YAML_SCALAR_EVENT:
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        if (tree_new_node(t, ev, line, col, &n, &anc, err))
            return -1;
        break;
    case YAML_ALIAS_EVENT:
        if (tree_alias(t, ev, line, col, &n, err))
            return -1;
        break;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        return tree_close(t, err);
    default:
        return 0;
    }
    if (tree_attach(t, n, line, col, err))
        return -1;
    /* a scalar is finished at once; a collection when its end event comes */
    if (anc && ev->type == YAML_SCALAR_EVENT && add_anchor(&t->anc, strdup(anc), n))
        return tree_oom(t, err);
    if (ev->type == YAML_SEQUENCE_START_EVENT || ev->type == YAML_MAPPING_START_EVENT)
        return tree_push(t, n, anc, err);
    return 0;
}

/* Free what an unfinished parse left open. */
static void tree_free_frames(tree_parse *t)
{
    for (int i = t->depth - 1; i >= 0; i--) { /* innermost first: a key may be an open frame */
        free(t->stack[i].anchor);
        nset_free(&t->stack[i].keys);
        /* after an error, a mapping's last key may still wait for its value: its n counts
         * complete pairs only, so node_free(root) would not reach that key */
        if (t->stack[i].n->type == N_MAP && t->stack[i].len % 2)
            node_free(t->stack[i].n->k[t->stack[i].len - 1]);
    }
    free(t->stack);
    anchors_free(&t->anc);
}

/* Parse g->text into the node tree g->root, with anchors and aliases resolved. */
static int parse_tree(grid *g, fg_err *err)
{
    yaml_parser_t p;
    yaml_event_t ev;
    tree_parse t = {0};
    int rc = -1;
    t.g = g;
    if (!yaml_parser_initialize(&p))
        return fg_err_set(err, "%s: out of memory", g->opts.path);
    yaml_parser_set_input_string(&p, (const unsigned char *)g->text, g->len);
    for (;;) {
        if (!yaml_parser_parse(&p, &ev)) {
            yaml_error(g, &p, err);
            break;
        }
        if (ev.type == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            rc = 0;
            break;
        }
        int bad = tree_event(&t, &ev, err);
        yaml_event_delete(&ev);
        if (bad)
            break;
    }
    tree_free_frames(&t);
    yaml_parser_delete(&p);
    if (rc == 0)
        g->root = t.root;
    else
        node_free(t.root);
    return rc;
}

/* ---------------------------------------------------------------------------------- */
/* scalar conversions                                                                  */

static int is_number_text(const char *s)
{
    if (!*s)
        return 0;
    for (const char *p = s; *p; p++)
        if (!strchr("0123456789+-.eE", *p))
            return 0;
    return 1;
}

static int parse_dbl(const char *s, double *out)
{
    if (!is_number_text(s))
        return -1;
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    if (*end || end == s || errno == ERANGE || !isfinite(d))
        return -1;
    *out = d;
    return 0;
}

/* Integers: "10", or an integral number such as "1e3" or "10.0". */
static int parse_ll(const char *s, long long *out)
{
    if (!is_number_text(s))
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*end && end != s && errno == 0) {
        *out = v;
        return 0;
    }
    double d;
    if (parse_dbl(s, &d) || d != floor(d) || fabs(d) > 9.0e18)
        return -1;
    *out = (long long)d;
    return 0;
}

static int ci_eq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return 0;
    return *a == *b;
}

static int parse_bool(const char *s, int *out)
{
    if (ci_eq(s, "true") || ci_eq(s, "yes"))
        *out = 1;
    else if (ci_eq(s, "false") || ci_eq(s, "no"))
        *out = 0;
    else
        return -1;
    return 0;
}

static int is_null(const node *n)
{
    return n->type == N_SCALAR && n->plain &&
           (!n->s[0] || !strcmp(n->s, "~") || !strcmp(n->s, "null") || !strcmp(n->s, "Null") ||
            !strcmp(n->s, "NULL"));
}

/* Grid parameter names: [A-Za-z_][A-Za-z0-9_]*, at most 63 characters. */
static int valid_ident(const char *s)
{
    if (!(isalpha((unsigned char)s[0]) || s[0] == '_') || strlen(s) > 63)
        return 0;
    for (const char *p = s; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '_'))
            return 0;
    return 1;
}

/* Names used in paths and layer names: [A-Za-z0-9_.-]{1,max}. */
static int valid_name(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n < 1 || n > max || !strcmp(s, ".") || !strcmp(s, ".."))
        return 0;
    for (const char *p = s; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '_' || *p == '.' || *p == '-'))
            return 0;
    return 1;
}

static const node *map_get(const node *m, const char *key, const node **keynode)
{
    if (m && m->type == N_MAP)
        for (int i = 0; i < m->n; i++)
            if (!strcmp(MAP_KEY(m, i)->s, key)) {
                if (keynode)
                    *keynode = MAP_KEY(m, i);
                return MAP_VAL(m, i);
            }
    return NULL;
}

/* ---------------------------------------------------------------------------------- */
/* values of one configuration                                                         */

/* Context of an interpretation: the configuration whose grid values replace $references
 * (s < 0: references are not allowed here), and a suffix naming where a value is used. */
typedef struct {
    const grid *g;
    fg_err *err;
    int s;              /* sub-grid, or -1 */
    int64_t r;          /* configuration index within the sub-grid */
    const char *direct; /* the grid parameter whose value is being applied directly */
    char where[192];    /* " in layer 'x'", appended to messages */
} bctx;

/* A scalar after substitution: its node, and the grid parameter it came from (or NULL). */
typedef struct {
    const node *n;
    const char *from;
} val;

static int sub_find(const subgrid *sg, const char *name)
{
    int lo = 0, hi = sg->np - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2, c = strcmp(sg->p[mid].name, name);
        if (!c)
            return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

/* Value of the sub-grid's parameter j in its configuration r (mixed radix, last fastest). */
static int64_t sub_index(const subgrid *sg, int64_t r, int j);
static const node *sub_value(const subgrid *sg, int64_t r, int j)
{
    return sg->p[j].vals->k[sub_index(sg, r, j)];
}

static int resolve(const bctx *b, const node *n, const char *what, val *out)
{
    if (n->type != N_SCALAR)
        return expect(b->g, n, N_SCALAR, what, b->err);
    out->n = n;
    out->from = b->direct;
    if (n->s[0] != '$' || b->direct)
        return 0;
    if (b->s < 0)
        return err_at(b->g, n, b->err,
                      "%s: grid parameter references ('%s') are only allowed in model layers "
                      "and train",
                      what, n->s);
    const subgrid *sg = &b->g->sub[b->s];
    int j = sub_find(sg, n->s + 1);
    if (j < 0) /* checked at load time; kept for safety */
        return err_at(b->g, n, b->err, "%s: '%s' is not a parameter of this configuration", what,
                      n->s);
    out->n = sub_value(sg, b->r, j);
    out->from = sg->p[j].name;
    return 0;
}

/* "WHAT VALUE[ (from grid parameter 'P')] COMPLAINT[WHERE]" at the value's node. */
static int val_fail(const bctx *b, val v, const char *what, int quote, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

static int val_fail(const bctx *b, val v, const char *what, int quote, const char *fmt, ...)
{
    char msg[512], from[128] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (v.from)
        snprintf(from, sizeof from, " (from grid parameter '%s')", v.from);
    if (quote)
        return err_at(b->g, v.n, b->err, "%s '%s'%s %s%s", what, v.n->s, from, msg, b->where);
    return err_at(b->g, v.n, b->err, "%s %s%s %s%s", what, v.n->s, from, msg, b->where);
}

static int get_int(const bctx *b, const node *n, const char *what, long long lo, long long hi,
                   long long *out)
{
    val v;
    long long x;
    if (resolve(b, n, what, &v))
        return -1;
    if (parse_ll(v.n->s, &x))
        return val_fail(b, v, what, 1, "is not an integer");
    if (x < lo || x > hi) {
        if (hi == LLONG_MAX)
            return val_fail(b, v, what, 0, "must be >= %lld", lo);
        return val_fail(b, v, what, 0, "must be in [%lld, %lld]", lo, hi);
    }
    *out = x;
    return 0;
}

static int get_i(const bctx *b, const node *n, const char *what, int lo, int hi, int *out)
{
    long long x;
    if (get_int(b, n, what, lo, hi, &x))
        return -1;
    *out = (int)x;
    return 0;
}

/* A number in the range lo..hi; *_open excludes the bound; hi = INFINITY for none. */
static int get_num(const bctx *b, const node *n, const char *what, double lo, int lo_open,
                   double hi, int hi_open, double *out)
{
    val v;
    double x;
    if (resolve(b, n, what, &v))
        return -1;
    if (parse_dbl(v.n->s, &x))
        return val_fail(b, v, what, 1, "is not a number");
    if (x < lo || (lo_open && x == lo) || x > hi || (hi_open && x == hi)) {
        if (isinf(hi))
            return val_fail(b, v, what, 0, "must be %s %g", lo_open ? ">" : ">=", lo);
        return val_fail(b, v, what, 0, "must be in %c%g, %g%c", lo_open ? '(' : '[', lo, hi,
                        hi_open ? ')' : ']');
    }
    *out = x;
    return 0;
}

static int get_f(const bctx *b, const node *n, const char *what, double lo, int lo_open,
                 double hi, int hi_open, float *out)
{
    double x;
    if (get_num(b, n, what, lo, lo_open, hi, hi_open, &x))
        return -1;
    *out = (float)x;
    return 0;
}

static int get_bool(const bctx *b, const node *n, const char *what, int *out)
{
    val v;
    if (resolve(b, n, what, &v))
        return -1;
    if (parse_bool(v.n->s, out))
        return val_fail(b, v, what, 1, "is not a bool (true/false/yes/no)");
    return 0;
}

/* A name looked up case-insensitively (the lookup gets the lower-cased text). */
static const char *choices(nn_vocab v, char *buf, size_t size);

static int get_enum(const bctx *b, const node *n, const char *what, int (*lookup)(const char *),
                    nn_vocab vocab, int *out)
{
    val v;
    char low[64];
    if (resolve(b, n, what, &v))
        return -1;
    size_t len = strlen(v.n->s);
    int k = -1;
    if (len < sizeof low) {
        for (size_t i = 0; i <= len; i++)
            low[i] = (char)tolower((unsigned char)v.n->s[i]);
        k = lookup(low);
    }
    if (k < 0) {
        char from[128] = "", valid[512];
        if (v.from)
            snprintf(from, sizeof from, " (from grid parameter '%s')", v.from);
        return err_at(b->g, v.n, b->err, "unknown %s '%s'%s (valid: %s)%s", what, v.n->s, from,
                      choices(vocab, valid, sizeof valid), b->where);
    }
    *out = k;
    return 0;
}

/* ---------------------------------------------------------------------------------- */
/* names                                                                               */

/* The names themselves are the engine's (nn_names.c): one vocabulary for the grid, the
 * model file and the messages. */

/* "valid: ..." lists: the engine's names; layer types also take Keras's LeakyReLU layer. */
static const char *choices(nn_vocab v, char *buf, size_t size)
{
    nn_vocab_text(v, buf, size);
    if (v == NN_VOCAB_LAYER) {
        size_t n = strlen(buf);
        snprintf(buf + n, size - n, ", leaky_relu");
    }
    return buf;
}

/* The type LeakyReLU / leaky_relu: an activation layer with activation leaky_relu. */
static int is_leaky_type(const char *s)
{
    char sq[16];
    size_t n = 0;
    for (const char *p = s; *p && n + 1 < sizeof sq; p++)
        if (*p != '_')
            sq[n++] = (char)tolower((unsigned char)*p);
    sq[n] = '\0';
    return !strcmp(sq, "leakyrelu");
}

/* Layer types: the engine's names and Keras's class names and aliases in any case with or
 * without underscores (Conv2D, MaxPool2D, BatchNormalization ...), and LeakyReLU. */
static int kind_lookup(const char *s)
{
    int k = nn_layer_kind_from_name(s);
    if (k >= 0 && k < NN_LAYER__COUNT)
        return k;
    return is_leaky_type(s) ? NN_LAYER_ACTIVATION : -1;
}

static int interp_lookup(const char *s)
{
    int k = nn_interp_from_name(s);
    return k >= 0 && k < NN_INTERP__COUNT ? k : -1;
}

static int act_lookup(const char *s)
{
    int k = nn_act_from_name(s);
    return k >= 0 && k < NN_ACT__COUNT ? k : -1;
}

static int init_lookup(const char *s)
{
    int k = nn_init_from_name(s);
    return k >= 0 && k < NN_INIT__COUNT ? k : -1;
}

static int opt_lookup(const char *s)
{
    int k = nn_opt_from_name(s);
    return k >= 0 && k < NN_OPT__COUNT ? k : -1;
}

static int sched_lookup(const char *s)
{
    int k = nn_sched_from_name(s);
    return k >= 0 && k < NN_SCHED__COUNT ? k : -1;
}

static int monitor_lookup(const char *s)
{
    int k = nn_monitor_from_name(s); /* val_acc and acc are the engine's aliases */
    return k >= 0 && k <= NN_MON_ACC ? k : -1;
}

static int padding_lookup(const char *s)
{
    return strchr(s, '_') ? -1 : nn_padding_from_name(s); /* exactly "valid" or "same" */
}

/* ---------------------------------------------------------------------------------- */
/* layer fields                                                                        */

enum {
    F_TYPE, F_NAME, F_INPUTS, F_UNITS, F_ACTIVATION, F_ALPHA, F_FILTERS, F_KERNEL_SIZE,
    F_STRIDES, F_POOL_SIZE, F_PADDING, F_DEPTH_MULTIPLIER, F_USE_BIAS, F_KERNEL_INIT,
    F_BIAS_INIT, F_DEPTHWISE_INIT, F_L2, F_RATE, F_MOMENTUM, F_EPSILON, F_HEIGHT, F_WIDTH,
    F_INTERPOLATION, F_SCALE, F_OFFSET, F_TRAINABLE, F_WEIGHTS, F__COUNT
};

#define KB(x) (1u << NN_LAYER_##x)
#define K_ALL ((1u << NN_LAYER__COUNT) - 1u)
#define K_CONV (KB(CONV2D) | KB(SEPARABLE_CONV2D) | KB(DEPTHWISE_CONV2D) | KB(CONV2D_TRANSPOSE))
#define K_POOL (KB(MAX_POOL2D) | KB(AVG_POOL2D))
#define K_WEIGHTS (KB(DENSE) | K_CONV)

static const struct {
    const char *name;
    unsigned kinds;
} FIELDS[F__COUNT] = {
    [F_TYPE] = {"type", K_ALL},
    [F_NAME] = {"name", K_ALL},
    [F_INPUTS] = {"inputs", K_ALL},
    [F_UNITS] = {"units", KB(DENSE)},
    [F_ACTIVATION] = {"activation", K_WEIGHTS | KB(ACTIVATION)},
    [F_ALPHA] = {"alpha", K_WEIGHTS | KB(ACTIVATION)},
    [F_FILTERS] = {"filters", KB(CONV2D) | KB(SEPARABLE_CONV2D) | KB(CONV2D_TRANSPOSE)},
    [F_KERNEL_SIZE] = {"kernel_size", K_CONV},
    [F_STRIDES] = {"strides", K_CONV | K_POOL},
    [F_POOL_SIZE] = {"pool_size", K_POOL},
    [F_PADDING] = {"padding", K_CONV | K_POOL},
    [F_DEPTH_MULTIPLIER] = {"depth_multiplier", KB(SEPARABLE_CONV2D) | KB(DEPTHWISE_CONV2D)},
    [F_USE_BIAS] = {"use_bias", K_WEIGHTS},
    [F_KERNEL_INIT] = {"kernel_initializer",
                       KB(DENSE) | KB(CONV2D) | KB(SEPARABLE_CONV2D) | KB(CONV2D_TRANSPOSE)},
    [F_BIAS_INIT] = {"bias_initializer", K_WEIGHTS},
    [F_DEPTHWISE_INIT] = {"depthwise_initializer", KB(SEPARABLE_CONV2D) | KB(DEPTHWISE_CONV2D)},
    [F_L2] = {"kernel_regularizer_l2", K_WEIGHTS},
    [F_RATE] = {"rate", KB(DROPOUT)},
    [F_MOMENTUM] = {"momentum", KB(BATCH_NORM)},
    [F_EPSILON] = {"epsilon", KB(BATCH_NORM)},
    [F_HEIGHT] = {"height", KB(RESIZING)},
    [F_WIDTH] = {"width", KB(RESIZING)},
    [F_INTERPOLATION] = {"interpolation", KB(RESIZING)},
    [F_SCALE] = {"scale", KB(RESCALING)},
    [F_OFFSET] = {"offset", KB(RESCALING)},
    [F_TRAINABLE] = {"trainable", K_ALL},
    [F_WEIGHTS] = {"weights", K_WEIGHTS | KB(BATCH_NORM)},
};

static const char *article(int kind)
{
    return strchr("aeiou", nn_layer_kind_name((nn_layer_kind)kind)[0]) ? "an" : "a";
}

static int field_id(const char *s)
{
    for (int i = 0; i < F__COUNT; i++)
        if (!strcmp(FIELDS[i].name, s))
            return i;
    return -1;
}

/* "a, b, c": the fields valid for kind (or all of them when kind < 0). */
static void fields_text(int kind, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < F__COUNT; i++)
        if (kind < 0 || (FIELDS[i].kinds >> kind & 1u)) {
            int w = snprintf(buf + n, size - n, "%s%s", n ? ", " : "", FIELDS[i].name);
            if (w < 0 || (size_t)w >= size - n)
                break;
            n += (size_t)w;
        }
}

/* ---------------------------------------------------------------------------------- */
/* train keys                                                                          */

enum {
    T_OPTIMIZER, T_LR, T_BATCH, T_EPOCHS, T_MOMENTUM, T_NESTEROV, T_BETA_1, T_BETA_2,
    T_EPSILON, T_RHO, T_INIT_ACC, T_ES_PATIENCE, T_ES_MONITOR, T_ES_MIN_DELTA, T_RESTORE,
    T_RLR_FACTOR, T_RLR_PATIENCE, T_RLR_COOLDOWN, T_RLR_MIN_LR, T_RLR_MIN_DELTA, T_RLR_MONITOR,
    /* the training recipe beyond the study (T_RECIPE and after: see recipe_key_off) */
    T_WEIGHT_DECAY, T_LABEL_SMOOTHING, T_USE_EMA, T_EMA_MOMENTUM, T_LR_SCHEDULE, T_WARMUP_STEPS,
    T_WARMUP_TARGET, T_DECAY_STEPS, T_COSINE_ALPHA, T_AUG_TRANSLATE, T_AUG_FLIP, T_AUG_ERASE,
    T_TTA_FLIP, T__COUNT
};
#define T_RECIPE T_WEIGHT_DECAY

static const char *const TRAIN_KEYS[T__COUNT] = {
    [T_OPTIMIZER] = "optimizer",
    [T_LR] = "learning_rate",
    [T_BATCH] = "batch_size",
    [T_EPOCHS] = "epochs",
    [T_MOMENTUM] = "momentum",
    [T_NESTEROV] = "nesterov",
    [T_BETA_1] = "beta_1",
    [T_BETA_2] = "beta_2",
    [T_EPSILON] = "epsilon",
    [T_RHO] = "rho",
    [T_INIT_ACC] = "initial_accumulator",
    [T_ES_PATIENCE] = "early_stopping_patience",
    [T_ES_MONITOR] = "early_stopping_monitor",
    [T_ES_MIN_DELTA] = "early_stopping_min_delta",
    [T_RESTORE] = "restore_best_weights",
    [T_RLR_FACTOR] = "reduce_lr_factor",
    [T_RLR_PATIENCE] = "reduce_lr_patience",
    [T_RLR_COOLDOWN] = "reduce_lr_cooldown",
    [T_RLR_MIN_LR] = "reduce_lr_min_lr",
    [T_RLR_MIN_DELTA] = "reduce_lr_min_delta",
    [T_RLR_MONITOR] = "reduce_lr_monitor",
    [T_WEIGHT_DECAY] = "weight_decay",
    [T_LABEL_SMOOTHING] = "label_smoothing",
    [T_USE_EMA] = "use_ema",
    [T_EMA_MOMENTUM] = "ema_momentum",
    [T_LR_SCHEDULE] = "lr_schedule",
    [T_WARMUP_STEPS] = "warmup_steps",
    [T_WARMUP_TARGET] = "warmup_target",
    [T_DECAY_STEPS] = "decay_steps",
    [T_COSINE_ALPHA] = "cosine_alpha",
    [T_AUG_TRANSLATE] = "augment_translate",
    [T_AUG_FLIP] = "augment_flip",
    [T_AUG_ERASE] = "augment_erase",
    [T_TTA_FLIP] = "tta_flip",
};

static int train_key_id(const char *s)
{
    for (int i = 0; i < T__COUNT; i++)
        if (!strcmp(TRAIN_KEYS[i], s))
            return i;
    return -1;
}

static void train_keys_text(char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < T__COUNT; i++) {
        int w = snprintf(buf + n, size - n, "%s%s", n ? ", " : "", TRAIN_KEYS[i]);
        if (w < 0 || (size_t)w >= size - n)
            break;
        n += (size_t)w;
    }
}

/* The recipe keys (T_RECIPE and after). */
static int apply_recipe(const bctx *b, int id, const node *n, nn_train_desc *t)
{
    const char *w = TRAIN_KEYS[id];
    int k;
    switch (id) {
    case T_WEIGHT_DECAY: return get_f(b, n, w, 0, 0, INFINITY, 0, &t->weight_decay);
    case T_LABEL_SMOOTHING: return get_f(b, n, w, 0, 0, 1, 1, &t->label_smoothing);
    case T_USE_EMA: return get_bool(b, n, w, &t->use_ema);
    case T_EMA_MOMENTUM: return get_f(b, n, w, 0, 0, 1, 1, &t->ema_momentum);
    case T_LR_SCHEDULE:
        if (get_enum(b, n, w, sched_lookup, NN_VOCAB_SCHED, &k))
            return -1;
        t->lr_schedule = (nn_sched_kind)k;
        return 0;
    case T_WARMUP_STEPS: return get_i(b, n, w, 0, INT_MAX, &t->warmup_steps);
    case T_WARMUP_TARGET: return get_f(b, n, w, 0, 0, INFINITY, 0, &t->warmup_target);
    case T_DECAY_STEPS: return get_i(b, n, w, 0, INT_MAX, &t->decay_steps);
    case T_COSINE_ALPHA: return get_f(b, n, w, 0, 0, 1, 0, &t->cosine_alpha);
    case T_AUG_TRANSLATE: return get_i(b, n, w, 0, 100000, &t->augment_translate);
    case T_AUG_FLIP: return get_bool(b, n, w, &t->augment_flip);
    case T_AUG_ERASE: return get_f(b, n, w, 0, 0, 1, 0, &t->augment_erase);
    case T_TTA_FLIP: return get_bool(b, n, w, &t->tta_flip);
    default: return 0;
    }
}

/* learning_rate: > 0, or exactly 0, which check_recipe allows with a warmup_target only. */
static int get_lr(const bctx *b, const node *n, float *out)
{
    val v;
    double x;
    if (!resolve(b, n, "learning_rate", &v) && !parse_dbl(v.n->s, &x) && x == 0.0) {
        *out = 0.0f;
        return 0;
    }
    return get_f(b, n, "learning_rate", 0, 1, INFINITY, 0, out);
}

static int apply_train(const bctx *b, int id, const node *n, nn_train_desc *t)
{
    const char *w = TRAIN_KEYS[id];
    int k;
    if (id >= T_RECIPE)
        return apply_recipe(b, id, n, t);
    switch (id) {
    case T_LR: return get_lr(b, n, &t->learning_rate);
    case T_BATCH: return get_i(b, n, w, 1, 10000000, &t->batch_size);
    case T_EPOCHS: return get_i(b, n, w, 1, NN_MAX_EPOCHS, &t->epochs);
    case T_MOMENTUM: return get_f(b, n, w, 0, 0, 1, 1, &t->momentum);
    case T_NESTEROV: return get_bool(b, n, w, &t->nesterov);
    case T_BETA_1: return get_f(b, n, w, 0, 0, 1, 1, &t->beta_1);
    case T_BETA_2: return get_f(b, n, w, 0, 0, 1, 1, &t->beta_2);
    case T_EPSILON: return get_f(b, n, w, 0, 1, INFINITY, 0, &t->epsilon);
    case T_RHO: return get_f(b, n, w, 0, 0, 1, 1, &t->rho);
    case T_INIT_ACC: return get_f(b, n, w, 0, 0, INFINITY, 0, &t->initial_accumulator);
    case T_ES_PATIENCE: return get_i(b, n, w, -1, NN_MAX_EPOCHS, &t->es_patience);
    case T_ES_MONITOR:
        if (get_enum(b, n, "early_stopping_monitor", monitor_lookup, NN_VOCAB_MONITOR, &k))
            return -1;
        t->es_monitor = (nn_monitor)k;
        return 0;
    case T_ES_MIN_DELTA: return get_f(b, n, w, 0, 0, INFINITY, 0, &t->es_min_delta);
    case T_RESTORE: return get_bool(b, n, w, &t->restore_best);
    case T_RLR_FACTOR: return get_f(b, n, w, 0, 0, 1, 1, &t->rlr_factor);
    case T_RLR_PATIENCE: return get_i(b, n, w, 0, NN_MAX_EPOCHS, &t->rlr_patience);
    case T_RLR_COOLDOWN: return get_i(b, n, w, 0, NN_MAX_EPOCHS, &t->rlr_cooldown);
    case T_RLR_MIN_LR: return get_f(b, n, w, 0, 0, INFINITY, 0, &t->rlr_min_lr);
    case T_RLR_MIN_DELTA: return get_f(b, n, w, 0, 0, INFINITY, 0, &t->rlr_min_delta);
    case T_RLR_MONITOR:
        if (get_enum(b, n, "reduce_lr_monitor", monitor_lookup, NN_VOCAB_MONITOR, &k))
            return -1;
        t->rlr_monitor = (nn_monitor)k;
        return 0;
    default: return 0;
    }
}

/* Where a train key's value came from: its node, and the grid parameter when the grid
 * sets it directly (NULL for the train section, where $references resolve). */
typedef struct {
    const node *n;
    const char *direct;
} key_src;

/* "KEY VALUE[ (from grid parameter 'P')] COMPLAINT" at the value of key id. */
static int key_fail(bctx *b, const key_src *src, int id, const char *complaint)
{
    val v;
    b->direct = src[id].direct;
    int rc = resolve(b, src[id].n, TRAIN_KEYS[id], &v);
    if (!rc)
        rc = val_fail(b, v, TRAIN_KEYS[id], 0, "%s", complaint);
    b->direct = NULL;
    return rc;
}

/* What single keys cannot check: the combinations, then whatever else the engine refuses
 * for h x w images (reported at the train section). */
static int check_recipe(bctx *b, const nn_train_desc *t, const key_src *src, int h, int w)
{
    if (t->learning_rate == 0.0f && !(t->warmup_target > 0.0f) && src[T_LR].n)
        return key_fail(b, src, T_LR, "must be > 0 (0 only with a warmup_target, where the "
                                      "warm-up then leads)");
    if (t->warmup_steps > 0 && !(t->warmup_target > 0.0f) && src[T_WARMUP_STEPS].n)
        return key_fail(b, src, T_WARMUP_STEPS, "needs a warmup_target (the learning rate the "
                                                "warm-up reaches from learning_rate)");
    if (t->warmup_steps > 0 && t->lr_schedule == NN_SCHED_ONE_CYCLE && src[T_WARMUP_STEPS].n)
        return key_fail(b, src, T_WARMUP_STEPS, "must be 0 with lr_schedule one_cycle, which "
                                                "has its own warm-up");
    if (t->augment_translate >= (h < w ? h : w) && src[T_AUG_TRANSLATE].n) {
        char msg[96];
        snprintf(msg, sizeof msg, "must be below the %dx%d images' side", h, w);
        return key_fail(b, src, T_AUG_TRANSLATE, msg);
    }
    fg_err e;
    if (nn_train_desc_check(t, h, w, &e)) {
        const grid *g = b->g;
        return err_at(g, g->train ? g->train : g->root, b->err, "train: %s", e.msg);
    }
    return 0;
}

/* nn_train_desc_init(optimizer), then the train section, then the configuration's grid
 * values for train keys (the grid wins); then check_recipe for h x w images. */
static int build_train(bctx *b, nn_train_desc *t, int h, int w)
{
    key_src src[T__COUNT];
    memset(src, 0, sizeof src);
    const grid *g = b->g;
    const subgrid *sg = &g->sub[b->s];
    int opt = NN_OPT_SGD;
    const node *on = map_get(g->train, "optimizer", NULL);
    b->where[0] = '\0';
    if (on && get_enum(b, on, "optimizer", opt_lookup, NN_VOCAB_OPT, &opt))
        return -1;
    int j = sub_find(sg, "optimizer");
    if (j >= 0) {
        b->direct = sg->p[j].name;
        int rc = get_enum(b, sub_value(sg, b->r, j), "optimizer", opt_lookup, NN_VOCAB_OPT, &opt);
        b->direct = NULL;
        if (rc)
            return -1;
    }
    nn_train_desc_init(t, (nn_opt_kind)opt);
    if (g->train)
        for (int i = 0; i < g->train->n; i++) {
            int id = train_key_id(MAP_KEY(g->train, i)->s);
            if (id > T_OPTIMIZER && apply_train(b, id, MAP_VAL(g->train, i), t))
                return -1;
            if (id >= 0)
                src[id] = (key_src){MAP_VAL(g->train, i), NULL};
        }
    for (int i = 0; i < sg->np; i++) {
        int id = train_key_id(sg->p[i].name);
        if (id <= T_OPTIMIZER)
            continue;
        b->direct = sg->p[i].name;
        int rc = apply_train(b, id, sub_value(sg, b->r, i), t);
        b->direct = NULL;
        if (rc)
            return -1;
        src[id] = (key_src){sub_value(sg, b->r, i), sg->p[i].name};
    }
    return check_recipe(b, t, src, h, w);
}

/* ---------------------------------------------------------------------------------- */
/* layers                                                                              */

/* Only the kind: a and b keep nn_layer_desc_init's values (the initialiser's defaults). */
static void set_init(nn_init *in, int kind) { in->kind = (nn_init_kind)kind; }

/* An integer or a list [h, w] of two. */
static int get_pair(const bctx *b, const node *n, const char *what, int out[2])
{
    if (n->type == N_SEQ) {
        if (n->n != 2)
            return err_at(b->g, n, b->err, "%s: expected an integer or a list [h, w] of two "
                                           "integers, got a list of %d%s",
                          what, n->n, b->where);
        for (int i = 0; i < 2; i++)
            if (get_i(b, n->k[i], what, 1, 100000, &out[i]))
                return -1;
        return 0;
    }
    if (n->type == N_MAP)
        return err_at(b->g, n, b->err, "%s: expected an integer or a list [h, w], got a mapping%s",
                      what, b->where);
    if (get_i(b, n, what, 1, 100000, &out[0]))
        return -1;
    out[1] = out[0];
    return 0;
}

static void set_where(bctx *b, const model *m, const char *layer)
{
    if (m->name[0])
        snprintf(b->where, sizeof b->where, " in layer '%s' of model '%s'", layer, m->name);
    else
        snprintf(b->where, sizeof b->where, " in layer '%s'", layer);
}

static int resolve_input(const bctx *b, const node *n, const nn_net_desc *net, int i,
                         const node *layers, int *out)
{
    val v;
    if (resolve(b, n, "inputs", &v))
        return -1;
    const char *s = v.n->s;
    if (!strcmp(s, "input")) {
        *out = NN_INPUT;
        return 0;
    }
    for (int j = 0; j < i; j++)
        if (!strcmp(net->layers[j].name, s)) {
            *out = j;
            return 0;
        }
    for (int j = i; j < layers->n; j++)
        if (!strcmp(net->layers[j].name, s))
            return val_fail(b, v, "inputs", 1, "names a layer that is not before this one%s",
                            " (inputs must be earlier layers or 'input')");
    return val_fail(b, v, "inputs", 1, "is not the name of an earlier layer or 'input'");
}

/* A weights file name: a plain string (no $reference), not empty. */
static int check_weights_path(const bctx *b, const node *v, const char *what)
{
    if (v->type != N_SCALAR)
        return expect(b->g, v, N_SCALAR, what, b->err);
    if (!v->s[0] || v->s[0] == '$' || strlen(v->s) >= GRID_PATH_MAX)
        return err_at(b->g, v, b->err, "%s: expected the path of a Keras HDF5 weights file "
                                       "(not empty, no grid parameter)%s",
                      what, b->where);
    return 0;
}

/* A field's key in a layer of kind `kind`: a known field valid for that kind (type and
 * name are every kind's); its FIELDS id in *id. */
static int layer_key(bctx *b, const node *key, int kind, int *id)
{
    char valid[512];
    *id = field_id(key->s);
    if (*id < 0) {
        fields_text(kind, valid, sizeof valid);
        return err_at(b->g, key, b->err, "unknown field '%s' for %s %s layer (valid: %s)%s",
                      key->s, article(kind), nn_layer_kind_name((nn_layer_kind)kind), valid, b->where);
    }
    if (*id == F_TYPE || *id == F_NAME)
        return 0;
    if (!(FIELDS[*id].kinds >> kind & 1u)) {
        fields_text(kind, valid, sizeof valid);
        return err_at(b->g, key, b->err,
                      "field '%s' is not valid for %s %s layer (valid: %s)%s",
                      key->s, article(kind), nn_layer_kind_name((nn_layer_kind)kind), valid, b->where);
    }
    return 0;
}

/* inputs: of layer i: one layer name, or two for an add layer. */
static int layer_inputs(bctx *b, const model *m, nn_net_desc *net, int i, const node *v)
{
    nn_layer_desc *d = &net->layers[i];
    int kind = (int)d->kind, rc = 0;
    if (v->type == N_SEQ) {
        if (v->n < 1 || v->n > 2)
            return err_at(b->g, v, b->err, "inputs: expected 1 or 2 layer names, got %d%s",
                          v->n, b->where);
        d->n_inputs = v->n;
        for (int j = 0; j < v->n && !rc; j++)
            rc = resolve_input(b, v->k[j], net, i, m->layers, &d->inputs[j]);
    } else {
        d->n_inputs = 1;
        rc = resolve_input(b, v, net, i, m->layers, &d->inputs[0]);
    }
    if (!rc && d->n_inputs != (kind == NN_LAYER_ADD ? 2 : 1))
        return err_at(b->g, v, b->err, "%s %s layer takes %s input%s%s", article(kind),
                      nn_layer_kind_name((nn_layer_kind)kind),
                      kind == NN_LAYER_ADD ? "exactly 2" : "1",
                      kind == NN_LAYER_ADD ? "s" : "", b->where);
    return rc;
}

/* Field id of layer i set from value v (what names it in messages): 0 or -1. */
static int layer_field(bctx *b, const model *m, nn_net_desc *net, int i, int id, const node *v,
                       const char *what)
{
    nn_layer_desc *d = &net->layers[i];
    int k, rc = 0;
    switch (id) {
    case F_INPUTS: rc = layer_inputs(b, m, net, i, v); break;
    case F_UNITS: rc = get_i(b, v, what, 1, 1000000, &d->units); break;
    case F_FILTERS: rc = get_i(b, v, what, 1, 1000000, &d->filters); break;
    case F_DEPTH_MULTIPLIER: rc = get_i(b, v, what, 1, 100000, &d->depth_multiplier); break;
    case F_ACTIVATION:
        if (!(rc = get_enum(b, v, "activation", act_lookup, NN_VOCAB_ACT, &k)))
            d->activation = (nn_act)k;
        break;
    case F_ALPHA: rc = get_f(b, v, what, 0, 0, INFINITY, 0, &d->alpha); break;
    case F_KERNEL_SIZE: rc = get_pair(b, v, what, d->kernel); break;
    case F_STRIDES: rc = get_pair(b, v, what, d->strides); break;
    case F_POOL_SIZE: rc = get_pair(b, v, what, d->pool); break;
    case F_PADDING:
        if (!(rc = get_enum(b, v, "padding", padding_lookup, NN_VOCAB_PADDING, &k)))
            d->padding = (nn_padding)k;
        break;
    case F_USE_BIAS: rc = get_bool(b, v, what, &d->use_bias); break;
    case F_KERNEL_INIT:
    case F_BIAS_INIT:
    case F_DEPTHWISE_INIT:
        rc = get_enum(b, v, "initializer", init_lookup, NN_VOCAB_INIT, &k);
        if (!rc)
            set_init(id == F_KERNEL_INIT ? &d->kernel_init
                     : id == F_BIAS_INIT ? &d->bias_init
                                         : &d->depthwise_init,
                     k);
        break;
    case F_L2: rc = get_f(b, v, what, 0, 0, INFINITY, 0, &d->l2); break;
    case F_RATE: rc = get_f(b, v, what, 0, 0, 1, 1, &d->rate); break;
    case F_MOMENTUM: rc = get_f(b, v, what, 0, 0, 1, 1, &d->bn_momentum); break;
    case F_EPSILON: rc = get_f(b, v, what, 0, 1, INFINITY, 0, &d->bn_epsilon); break;
    case F_HEIGHT: rc = get_i(b, v, what, 1, 100000, &d->size[0]); break;
    case F_WIDTH: rc = get_i(b, v, what, 1, 100000, &d->size[1]); break;
    case F_INTERPOLATION:
        if (!(rc = get_enum(b, v, "interpolation", interp_lookup, NN_VOCAB_INTERP, &k)))
            d->interpolation = (nn_interp)k;
        break;
    case F_SCALE: rc = get_f(b, v, what, -INFINITY, 0, INFINITY, 0, &d->scale); break;
    case F_OFFSET: rc = get_f(b, v, what, -INFINITY, 0, INFINITY, 0, &d->offset); break;
    case F_TRAINABLE:
        if (!(rc = get_bool(b, v, what, &k)))
            d->frozen = !k;
        break;
    case F_WEIGHTS: rc = check_weights_path(b, v, what); break;
    default: break;
    }
    return rc ? -1 : 0;
}

/* What layer i (node L) did not set: its default input, alpha, pooling strides; a field
 * its kind cannot do without is an error. set: which of F_INPUTS, F_ALPHA, F_STRIDES were
 * given (bits by id). */
static int layer_defaults(bctx *b, const node *L, nn_layer_desc *d, int i, uint64_t set)
{
    int kind = (int)d->kind;
    if (!(set >> F_INPUTS & 1u)) {
        if (kind == NN_LAYER_ADD)
            return err_at(b->g, L, b->err, "an add layer needs 'inputs' with two layer names%s",
                          b->where);
        d->n_inputs = 1;
        d->inputs[0] = i == 0 ? NN_INPUT : i - 1;
    }
    if (!(set >> F_ALPHA & 1u) && d->activation == NN_ACT_LEAKY_RELU)
        d->alpha = 0.3f;
    if (!(set >> F_ALPHA & 1u) && d->activation == NN_ACT_ELU)
        d->alpha = 1.0f;
    if ((kind == NN_LAYER_MAX_POOL2D || kind == NN_LAYER_AVG_POOL2D) && !(set >> F_STRIDES & 1u)) {
        d->strides[0] = d->pool[0];
        d->strides[1] = d->pool[1];
    }
    const char *missing = NULL;
    if (kind == NN_LAYER_DENSE && d->units < 1)
        missing = "units";
    else if ((kind == NN_LAYER_CONV2D || kind == NN_LAYER_SEPARABLE_CONV2D ||
              kind == NN_LAYER_CONV2D_TRANSPOSE) &&
             d->filters < 1)
        missing = "filters";
    else if ((FIELDS[F_KERNEL_SIZE].kinds >> kind & 1u) && (d->kernel[0] < 1 || d->kernel[1] < 1))
        missing = "kernel_size";
    else if (kind == NN_LAYER_RESIZING && d->size[0] < 1)
        missing = "height";
    else if (kind == NN_LAYER_RESIZING && d->size[1] < 1)
        missing = "width";
    if (missing)
        return err_at(b->g, L, b->err, "%s %s layer needs '%s'%s", article(kind), nn_layer_kind_name((nn_layer_kind)kind),
                      missing, b->where);
    return 0;
}

/* Layer i of model m: each field checked and set, then the defaults of what is unset. */
static int build_layer_fields(bctx *b, const model *m, nn_net_desc *net, int i)
{
    const node *L = m->layers->k[i];
    nn_layer_desc *d = &net->layers[i];
    int kind = (int)d->kind, id;
    uint64_t set = 0; /* bit id: field id given */
    _Static_assert(F__COUNT <= 64, "the fields given are a 64-bit set");
    char what[96];

    set_where(b, m, d->name);
    for (int f = 0; f < L->n; f++) {
        const node *key = MAP_KEY(L, f), *v = MAP_VAL(L, f);
        if (layer_key(b, key, kind, &id))
            return -1;
        if (id == F_TYPE || id == F_NAME)
            continue;
        snprintf(what, sizeof what, "%s %s", nn_layer_kind_name((nn_layer_kind)kind), key->s);
        set |= (uint64_t)1 << id;
        if (layer_field(b, m, net, i, id, v, what))
            return -1;
    }
    return layer_defaults(b, L, d, i, set);
}

/* freeze_until: the named layer and every layer before it get frozen = 1. */
static int apply_freeze(bctx *b, const model *m, nn_net_desc *net)
{
    if (!m->freeze_until)
        return 0;
    for (int i = 0; i < net->n_layers; i++) {
        net->layers[i].frozen = 1;
        if (!strcmp(net->layers[i].name, m->freeze_until->s))
            return 0;
    }
    for (int i = 0; i < net->n_layers; i++)
        net->layers[i].frozen = 0;
    return err_at(b->g, m->freeze_until, b->err, "freeze_until: '%s' is not the name of a layer "
                                                 "of this model",
                  m->freeze_until->s);
}

static int build_net(bctx *b, const model *m, nn_net_desc *net)
{
    const node *layers = m->layers;
    net->n_layers = layers->n;
    /* types and names first, so that inputs can name any earlier layer */
    for (int i = 0; i < layers->n; i++) {
        const node *L = layers->k[i];
        const node *tn = map_get(L, "type", NULL), *nn = map_get(L, "name", NULL);
        nn_layer_desc *d = &net->layers[i];
        int kind;
        if (m->name[0])
            snprintf(b->where, sizeof b->where, " in layer %d of model '%s'", i + 1, m->name);
        else
            snprintf(b->where, sizeof b->where, " in layer %d", i + 1);
        if (get_enum(b, tn, "layer type", kind_lookup, NN_VOCAB_LAYER, &kind))
            return -1;
        nn_layer_desc_init(d, (nn_layer_kind)kind);
        d->kind = (nn_layer_kind)kind;
        if (tn->type == N_SCALAR && tn->s[0] != '$' && is_leaky_type(tn->s))
            d->activation = NN_ACT_LEAKY_RELU; /* alpha: Keras's 0.3 unless given */
        if (nn) {
            val v;
            if (resolve(b, nn, "layer name", &v))
                return -1;
            if (!valid_name(v.n->s, NN_NAME_MAX - 1) || !strcmp(v.n->s, "input"))
                return val_fail(b, v, "layer name", 1,
                                "is not valid ([A-Za-z0-9_.-], 1 to %d characters, not 'input')",
                                NN_NAME_MAX - 1);
            snprintf(d->name, sizeof d->name, "%s", v.n->s);
        } else {
            snprintf(d->name, sizeof d->name, "%s_%d", nn_layer_kind_name((nn_layer_kind)kind), i + 1);
        }
        for (int j = 0; j < i; j++)
            if (!strcmp(net->layers[j].name, d->name))
                return err_at(b->g, nn ? nn : L, b->err,
                              "duplicate layer name '%s' (layer %d has it too)%s", d->name, j + 1,
                              nn ? "" : "; the default name is <type>_<position>");
    }
    for (int i = 0; i < layers->n; i++)
        if (build_layer_fields(b, m, net, i))
            return -1;
    b->where[0] = '\0';
    return apply_freeze(b, m, net);
}

/* The layer whose name appears (as a whole word, longest first) in an engine message. */
static int layer_in_message(const nn_net_desc *d, const char *msg)
{
    int best = -1;
    size_t best_len = 0;
    for (int i = 0; i < d->n_layers; i++) {
        const char *name = d->layers[i].name;
        size_t len = strlen(name);
        if (len <= best_len)
            continue;
        for (const char *p = strstr(msg, name); p; p = strstr(p + 1, name)) {
            char before = p > msg ? p[-1] : ' ', after = p[len];
            if (!(isalnum((unsigned char)before) || before == '_') &&
                !(isalnum((unsigned char)after) || after == '_')) {
                best = i;
                best_len = len;
                break;
            }
        }
    }
    return best;
}

/* ---------------------------------------------------------------------------------- */
/* configurations                                                                      */

/* The sub-grid of configuration c (binary search: the offsets increase, every sub-grid
 * having at least one configuration) and c's index within it. */
static int locate(const grid *g, int64_t c, int *s, int64_t *r)
{
    if (c < 0 || c >= g->n_configs)
        return -1;
    if (g->rs_sub) {
        *s = g->rs_sub[c];
        *r = g->rs_row[c];
        return 0;
    }
    int lo = 0, hi = g->n_sub - 1;
    while (lo < hi) {
        int mid = lo + (hi - lo + 1) / 2;
        if (g->sub[mid].off <= c)
            lo = mid;
        else
            hi = mid - 1;
    }
    *s = lo;
    *r = c - g->sub[lo].off;
    return 0;
}

/* The index of the value of the sub-grid's parameter j in its configuration r. */
static int64_t sub_index(const subgrid *sg, int64_t r, int j)
{
    if (sg->rs_idx)
        return sg->rs_idx[r * sg->np + j];
    return r / sg->stride[j] % sg->p[j].vals->n;
}

static const model *config_model(const grid *g, int s, int64_t r)
{
    if (!g->multi)
        return &g->models[0];
    const subgrid *sg = &g->sub[s];
    if (sg->model_j < 0 || !sg->model_of)
        return NULL;
    return &g->models[sg->model_of[sub_index(sg, r, sg->model_j)]];
}

/* The canonical "name=value, ..." string of configuration c. */
/* 1 when the grid parameter `name` is a recipe key (T_RECIPE and after) and `value` its
 * off value, nn_train_desc_init's: such a pair is left out of the configuration hash, so a
 * configuration that leaves the recipe off has the seeds (and scores) it had before the
 * recipe keys existed, whatever else the grid searches. */
static int recipe_key_off(const char *name, const char *value)
{
    int id = train_key_id(name), b;
    double x;
    char low[32];
    if (id < T_RECIPE)
        return 0;
    switch (id) {
    case T_USE_EMA:
    case T_AUG_FLIP:
    case T_TTA_FLIP: return !parse_bool(value, &b) && !b;
    case T_EMA_MOMENTUM: return !parse_dbl(value, &x) && (float)x == 0.99f;
    case T_LR_SCHEDULE:
        if (strlen(value) >= sizeof low)
            return 0;
        for (size_t i = 0; i <= strlen(value); i++)
            low[i] = (char)tolower((unsigned char)value[i]);
        return sched_lookup(low) == NN_SCHED_CONSTANT;
    default: return !parse_dbl(value, &x) && x == 0.0;
    }
}

/* The configuration's "name=value, ..." string; with for_hash, without the recipe keys at
 * their off values. */
static void config_string(const grid *g, int s, int64_t r, int for_hash, fg_buf *out)
{
    const subgrid *sg = &g->sub[s];
    int n = 0;
    for (int j = 0; j < sg->np; j++) {
        const char *v = sub_value(sg, r, j)->s;
        if (for_hash && recipe_key_off(sg->p[j].name, v))
            continue;
        if (n++)
            fg_buf_str(out, ", ");
        fg_buf_str(out, sg->p[j].name);
        fg_buf_str(out, "=");
        fg_buf_str(out, v);
    }
}

/* fg_hash_str of the configuration's string for the hash (config_string); *oom = 1 when
 * it could not be built. */
static uint64_t config_hash(const grid *g, int s, int64_t r, int *oom)
{
    fg_buf h = {0};
    config_string(g, s, r, 1, &h);
    uint64_t v = fg_hash_str(h.s ? h.s : "", 0);
    if (h.bad)
        *oom = 1;
    fg_buf_free(&h);
    return v;
}

/* Checks net (nn_desc_check) for n_classes classes; n_classes <= 0: the class count is not
 * known yet, and the last layer's output is taken for it (GRID_INPUT_CLASSES when it fits
 * that). Returns 0 (net->n_classes set), or -1 with e; *outputs is then the last layer's
 * output count when that alone fails (the network is sound for it), else 0. */
static int check_net(nn_net_desc *net, int n_classes, int *outputs, fg_err *e)
{
    int last = net->n_layers - 1;
    net->n_classes = n_classes > 0 ? n_classes : GRID_INPUT_CLASSES;
    e->msg[0] = '\0';
    *outputs = 0;
    nn_layer_info *info = last >= 0 && last < NN_MAX_LAYERS ? calloc(NN_MAX_LAYERS, sizeof *info) : NULL;
    if (nn_desc_check(net, info, NULL, NULL, e) == 0) {
        free(info);
        return 0;
    }
    int out = info && info[last].out_h == 1 && info[last].out_w == 1 ? info[last].out_c : 0;
    free(info);
    if (out < 1 || out == net->n_classes)
        return -1;
    fg_err e2;
    int want = net->n_classes;
    net->n_classes = out;
    if (nn_desc_check(net, NULL, NULL, NULL, &e2) != 0) {
        net->n_classes = want;
        return -1;
    }
    if (n_classes <= 0)
        return 0; /* the class count is the network's until the data say otherwise */
    *outputs = net->n_classes;
    net->n_classes = want;
    return -1;
}

/* The error of a configuration whose last layer outputs `outputs` values for data of
 * `classes` classes: located at the last layer's units (or the layer, or the model). */
static int classes_err(const grid *g, const model *m, int outputs, int classes, int64_t c, const char *params,
                       fg_err *err)
{
    const node *L = m->layers->k[m->layers->n - 1];
    const node *at = map_get(L, "units", NULL);
    char what[160];
    if (g->classes_given)
        snprintf(what, sizeof what, "data.classes is %d", classes);
    else
        snprintf(what, sizeof what, "the data have %d classes (labels 0..%d; data.classes says the data have more)",
                 classes, classes - 1);
    return err_at(g, at ? at : L ? L : m->key, err, "the last layer outputs %d values, but %s (configuration %lld%s%s)",
                  outputs, what, (long long)c, params && params[0] ? ": " : "", params ? params : "");
}

static int build_config(const grid *g, int64_t c, int h, int w, int ch, int n_classes,
                        nn_net_desc *net, nn_train_desc *train, const char *params, fg_err *err)
{
    bctx b = {.g = g, .err = err};
    if (locate(g, c, &b.s, &b.r))
        return fg_err_set(err, "%s: configuration %lld is out of range (0..%lld)", g->opts.path,
                          (long long)c, (long long)g->n_configs - 1);
    const model *m = config_model(g, b.s, b.r);
    if (!m) /* checked at load time */
        return fg_err_set(err, "%s: configuration %lld selects no model", g->opts.path,
                          (long long)c);
    if (build_train(&b, train, h, w) || build_net(&b, m, net))
        return -1;
    net->in_h = h;
    net->in_w = w;
    net->in_c = ch;
    fg_err e;
    int outputs = 0;
    if (check_net(net, n_classes, &outputs, &e)) {
        if (outputs > 0) /* the network is sound but outputs another count than the data's classes */
            return classes_err(g, m, outputs, n_classes, c, params, err);
        int li = layer_in_message(net, e.msg);
        const node *at = li >= 0 ? m->layers->k[li] : m->layers->k[0];
        if (params && params[0])
            return err_at(g, at, err, "%s (configuration %lld: %s)", e.msg, (long long)c, params);
        return err_at(g, at, err, "%s (configuration %lld)", e.msg, (long long)c);
    }
    return 0;
}

int grid_config_build(const grid *g, int64_t c, int h, int w, int ch, int n_classes,
                      nn_net_desc *net, nn_train_desc *train, fg_err *err)
{
    nn_net_desc *nd = net ? net : malloc(sizeof *nd);
    /* cppcheck-suppress uninitvar ; false positive: td points to tl when train is NULL,
     * and build_config's memset(td, ...) initialises it before any read */
    nn_train_desc tl, *td = train ? train : &tl;
    if (!nd)
        return fg_err_set(err, "%s: out of memory", g->opts.path);
    /* the whole description is plain data that may be sent or hashed: no stray bytes */
    memset(nd, 0, sizeof *nd);
    memset(td, 0, sizeof *td);
    const char *params = c >= 0 && c < g->n_configs ? g->pbuf + g->poff[c] : NULL;
    int rc = build_config(g, c, h, w, ch, n_classes, nd, td, params, err);
    if (nd != net)
        free(nd);
    return rc;
}

int grid_config_build_data(const grid *g, int64_t c, nn_net_desc *net, nn_train_desc *train,
                           fg_err *err)
{
    const grid_options *o = &g->opts;
    return grid_config_build(g, c, o->in_h, o->in_w, o->in_c, o->classes, net, train, err);
}

int grid_set_input(grid *g, int h, int w, int ch, int classes, fg_err *err)
{
    grid_options *o = &g->opts;
    int same_shape = o->in_h == h && o->in_w == w && o->in_c == ch;
    o->in_h = h;
    o->in_w = w;
    o->in_c = ch;
    o->classes = classes;
    if (same_shape) { /* checked when read: only the output counts may not fit */
        if (g->out_lo != classes)
            return grid_config_build(g, g->out_lo_config, h, w, ch, classes, NULL, NULL, err);
        if (g->out_hi != classes)
            return grid_config_build(g, g->out_hi_config, h, w, ch, classes, NULL, NULL, err);
        return 0;
    }
    nn_net_desc *d = malloc(sizeof *d);
    if (!d)
        return fg_err_set(err, "%s: out of memory", o->path);
    int rc = 0;
    for (int64_t c = 0; rc == 0 && c < g->n_configs; c++)
        rc = grid_config_build(g, c, h, w, ch, classes, d, NULL, err);
    free(d);
    return rc;
}

/* ---------------------------------------------------------------------------------- */
/* pass 3: top level, options, train and model structure                              */

/* Collects the $references among the scalars of n (values only, never keys). */
static int collect_refs(const grid *g, const node *n, const node ***refs, int *n_refs,
                        fg_err *err)
{
    if (n->type == N_SCALAR) {
        if (n->s[0] != '$')
            return 0;
        if (!valid_ident(n->s + 1))
            return err_at(g, n, err,
                          "invalid grid parameter reference '%s' (expected '$name' with name "
                          "[A-Za-z_][A-Za-z0-9_]*)",
                          n->s);
        int k = *n_refs;
        if ((k & (k - 1)) == 0) { /* 0, 1, 2, 4, ...: grow to the next power of two */
            const node **r = realloc(*refs, (size_t)(k ? 2 * k : 1) * sizeof *r);
            if (!r)
                return fg_err_set(err, "%s: out of memory", g->opts.path);
            *refs = r;
        }
        (*refs)[(*n_refs)++] = n;
        return 0;
    }
    for (int i = 0; i < n->n; i++)
        if (collect_refs(g, n->type == N_MAP ? MAP_VAL(n, i) : n->k[i], refs, n_refs, err))
            return -1;
    return 0;
}

static int ref_eq(const node *a, const node *b) { return !strcmp(a->s, b->s); }

/* The first reference to each distinct name among refs, in file order. */
static int distinct_refs(const grid *g, const node *const *refs, int n, const node ***out,
                         int *n_out, fg_err *err)
{
    nset seen = {0};
    int oom = 0;
    *n_out = 0;
    *out = n ? malloc((size_t)n * sizeof **out) : NULL;
    if (n && !*out)
        return fg_err_set(err, "%s: out of memory", g->opts.path);
    for (int i = 0; i < n && !oom; i++)
        if (!nset_add(&seen, refs[i], fg_hash_str(refs[i]->s, 0), ref_eq, &oom) && !oom)
            (*out)[(*n_out)++] = refs[i];
    nset_free(&seen);
    return oom ? fg_err_set(err, "%s: out of memory", g->opts.path) : 0;
}

static int load_layers(grid *g, model *m, const node *layers, const char *what, fg_err *err)
{
    char valid[512];
    if (expect(g, layers, N_SEQ, what, err))
        return -1;
    if (layers->n < 1)
        return err_at(g, layers, err, "%s: the list of layers is empty", what);
    if (layers->n > NN_MAX_LAYERS)
        return err_at(g, layers->k[NN_MAX_LAYERS], err, "%s: more than %d layers", what,
                      NN_MAX_LAYERS);
    m->layers = layers;
    for (int i = 0; i < layers->n; i++) {
        const node *L = layers->k[i];
        char lw[96];
        snprintf(lw, sizeof lw, "%s: layer %d", what, i + 1);
        if (expect(g, L, N_MAP, lw, err))
            return -1;
        const node *tn = map_get(L, "type", NULL);
        if (!tn)
            return err_at(g, L, err, "%s has no 'type' (one of: %s)", lw,
                          choices(NN_VOCAB_LAYER, valid, sizeof valid));
        int kind = -1;
        if (tn->type == N_SCALAR && tn->s[0] != '$') {
            char low[64];
            size_t len = strlen(tn->s);
            if (len < sizeof low) {
                for (size_t j = 0; j <= len; j++)
                    low[j] = (char)tolower((unsigned char)tn->s[j]);
                kind = kind_lookup(low);
            }
        }
        for (int f = 0; f < L->n; f++) {
            const node *key = MAP_KEY(L, f), *v = MAP_VAL(L, f);
            if (field_id(key->s) < 0) {
                fields_text(kind, valid, sizeof valid);
                if (kind >= 0)
                    return err_at(g, key, err, "unknown field '%s' for %s %s layer (valid: %s)",
                                  key->s, article(kind), nn_layer_kind_name((nn_layer_kind)kind), valid);
                return err_at(g, key, err, "unknown layer field '%s' (valid: %s)", key->s, valid);
            }
            if (v->type == N_MAP)
                return err_at(g, v, err, "%s: field '%s': expected a scalar or a list, got a "
                                         "mapping",
                              lw, key->s);
            if (v->type == N_SEQ)
                for (int j = 0; j < v->n; j++)
                    if (v->k[j]->type != N_SCALAR)
                        return err_at(g, v->k[j], err, "%s: field '%s': expected a list of "
                                                       "scalars, got %s in it",
                                      lw, key->s, type_name(v->k[j]));
        }
    }
    if (collect_refs(g, layers, (const node ***)&m->refs, &m->n_refs, err))
        return -1;
    return distinct_refs(g, m->refs, m->n_refs, &m->names, &m->n_names, err);
}

/* A model: a list of layers, or a mapping {layers: [...], weights: FILE.h5,
 * freeze_until: LAYER}. */
static int load_model(grid *g, model *m, const node *v, const char *what, fg_err *err)
{
    if (v->type != N_MAP || !map_get(v, "layers", NULL)) /* a list, or "expected a list" */
        return load_layers(g, m, v, what, err);
    const node *layers = NULL;
    for (int i = 0; i < v->n; i++) {
        const node *k = MAP_KEY(v, i), *x = MAP_VAL(v, i);
        if (!strcmp(k->s, "layers"))
            layers = x;
        else if (!strcmp(k->s, "weights") || !strcmp(k->s, "freeze_until")) {
            if (x->type != N_SCALAR || !x->s[0] || x->s[0] == '$' ||
                strlen(x->s) >= GRID_PATH_MAX)
                return err_at(g, x, err, "%s: %s: expected %s (a plain string)", what, k->s,
                              k->s[0] == 'w' ? "the path of a Keras HDF5 weights file"
                                             : "the name of one of its layers");
            *(k->s[0] == 'w' ? &m->weights : &m->freeze_until) = x;
        } else
            return err_at(g, k, err, "%s: unknown key '%s' (valid: layers, weights, "
                                     "freeze_until)",
                          what, k->s);
    }
    return load_layers(g, m, layers, what, err);
}

static int load_models(grid *g, const node *key, const node *v, int multi, fg_err *err)
{
    g->multi = multi;
    if (!multi) {
        g->models = calloc(1, sizeof *g->models);
        if (!g->models)
            return fg_err_set(err, "%s: out of memory", g->opts.path);
        g->n_models = 1;
        g->models[0].name = "";
        g->models[0].key = key;
        return load_model(g, &g->models[0], v, "model", err);
    }
    if (expect(g, v, N_MAP, "models", err))
        return -1;
    if (v->n < 1)
        return err_at(g, v, err, "models: expected at least one named model");
    g->models = calloc((size_t)v->n, sizeof *g->models);
    if (!g->models)
        return fg_err_set(err, "%s: out of memory", g->opts.path);
    g->n_models = v->n;
    for (int i = 0; i < v->n; i++) {
        model *m = &g->models[i];
        char what[128];
        m->name = MAP_KEY(v, i)->s;
        m->key = MAP_KEY(v, i);
        if (!valid_name(m->name, GRID_NAME_MAX - 1))
            return err_at(g, m->key, err, "model name '%s' is not valid ([A-Za-z0-9_.-], 1 to "
                                          "%d characters)",
                          m->name, GRID_NAME_MAX - 1);
        snprintf(what, sizeof what, "model '%s'", m->name);
        if (load_model(g, m, MAP_VAL(v, i), what, err))
            return -1;
    }
    return 0;
}

static int load_train(grid *g, const node *v, fg_err *err)
{
    char valid[600];
    if (expect(g, v, N_MAP, "train", err))
        return -1;
    for (int i = 0; i < v->n; i++) {
        const node *key = MAP_KEY(v, i), *val_ = MAP_VAL(v, i);
        if (train_key_id(key->s) < 0) {
            train_keys_text(valid, sizeof valid);
            return err_at(g, key, err, "unknown train key '%s' (valid: %s)", key->s, valid);
        }
        char what[96];
        snprintf(what, sizeof what, "train: %s", key->s);
        if (expect(g, val_, N_SCALAR, what, err))
            return -1;
    }
    g->train = v;
    if (collect_refs(g, v, &g->train_refs, &g->n_train_refs, err))
        return -1;
    return distinct_refs(g, g->train_refs, g->n_train_refs, &g->train_names, &g->n_train_names, err);
}

/* data.class_names: a list of distinct, non-empty names without control characters or '|'
 * (they become Markdown table cells), as many as data.classes when that is given. */
static int load_class_names(grid *g, const node *v, fg_err *err)
{
    if (expect(g, v, N_SEQ, "data.class_names", err))
        return -1;
    if (v->n < 1 || v->n > GRID_MAX_CLASSES)
        return err_at(g, v, err, "data.class_names must list 1 to %d names (has %d)", GRID_MAX_CLASSES, v->n);
    g->class_names = calloc((size_t)v->n, sizeof *g->class_names);
    if (!g->class_names)
        return fg_err_set(err, "%s: out of memory", g->opts.path);
    for (int i = 0; i < v->n; i++) {
        const node *x = v->k[i];
        if (expect(g, x, N_SCALAR, "data.class_names item", err))
            return -1;
        size_t len = strlen(x->s);
        if (len == 0 || len >= GRID_CLASS_NAME_MAX)
            return err_at(g, x, err, "data.class_names: a name must have 1 to %d characters",
                          GRID_CLASS_NAME_MAX - 1);
        for (const char *p = x->s; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '|')
                return err_at(g, x, err, "data.class_names: '%s' holds a control character or '|'", x->s);
        for (int k = 0; k < i; k++)
            if (!strcmp(g->class_names[k], x->s))
                return err_at(g, x, err, "data.class_names: '%s' is listed twice", x->s);
        g->class_names[i] = x->s;
    }
    g->opts.n_class_names = v->n;
    return 0;
}

/* data.shape: [height, width] or [height, width, channels], the images' shape every
 * configuration is built and checked for (default 28x28x1). */
static int load_shape(grid *g, const node *v, const bctx *b, fg_err *err)
{
    if (expect(g, v, N_SEQ, "data.shape", err))
        return -1;
    if (v->n != 2 && v->n != 3)
        return err_at(g, v, err, "data.shape must be [height, width] or [height, width, channels] (has %d values)",
                      v->n);
    int *dim[3] = {&g->opts.in_h, &g->opts.in_w, &g->opts.in_c};
    for (int i = 0; i < v->n; i++)
        if (get_i(b, v->k[i], "data.shape", 1, i < 2 ? GRID_MAX_SIDE : GRID_MAX_CHANNELS, dim[i]))
            return -1;
    return 0;
}

static int load_data(grid *g, const node *v, const bctx *b, fg_err *err)
{
    const node *names = NULL;
    if (expect(g, v, N_MAP, "data", err))
        return -1;
    for (int i = 0; i < v->n; i++) {
        const char *k = MAP_KEY(v, i)->s;
        const node *x = MAP_VAL(v, i);
        if (!strcmp(k, "dir")) {
            val s;
            if (resolve(b, x, "data.dir", &s))
                return -1;
            if (strlen(s.n->s) >= GRID_PATH_MAX)
                return err_at(g, x, err, "data.dir is longer than %d characters",
                              GRID_PATH_MAX - 1);
            snprintf(g->opts.data_dir, sizeof g->opts.data_dir, "%s", s.n->s);
        } else if (!strcmp(k, "subset")) {
            if (get_i(b, x, "data.subset", 0, INT_MAX, &g->opts.subset))
                return -1;
        } else if (!strcmp(k, "classes")) {
            if (get_i(b, x, "data.classes", 1, GRID_MAX_CLASSES, &g->opts.classes))
                return -1;
            g->classes_given = 1;
        } else if (!strcmp(k, "class_names")) {
            if (load_class_names(g, x, err))
                return -1;
            names = x;
        } else if (!strcmp(k, "shape")) {
            if (load_shape(g, x, b, err))
                return -1;
            g->opts.shape_given = 1;
        } else {
            return err_at(g, MAP_KEY(v, i), err,
                          "unknown data key '%s' (valid: dir, subset, shape, classes, class_names)", k);
        }
    }
    if (names && g->opts.classes > 0 && g->opts.n_class_names != g->opts.classes)
        return err_at(g, names, err, "data.class_names lists %d names, but data.classes is %d",
                      g->opts.n_class_names, g->opts.classes);
    return 0;
}

static int load_cv(grid *g, const node *v, const bctx *b, fg_err *err)
{
    const node *folds = NULL, *split = NULL;
    if (expect(g, v, N_MAP, "cv", err))
        return -1;
    for (int i = 0; i < v->n; i++) {
        const char *k = MAP_KEY(v, i)->s;
        const node *x = MAP_VAL(v, i);
        long long s;
        if (!strcmp(k, "folds")) {
            if (get_i(b, x, "cv.folds", 2, 1000000, &g->opts.folds))
                return -1;
            folds = MAP_KEY(v, i);
        } else if (!strcmp(k, "validation_split")) {
            if (get_num(b, x, "cv.validation_split", 0, 1, 1, 1, &g->opts.validation_split))
                return -1;
            split = MAP_KEY(v, i);
        } else if (!strcmp(k, "shuffle")) {
            if (get_bool(b, x, "cv.shuffle", &g->opts.shuffle))
                return -1;
        } else if (!strcmp(k, "seed")) {
            if (get_int(b, x, "cv.seed", 0, LLONG_MAX, &s))
                return -1;
            g->opts.cv_seed = (uint64_t)s;
            g->opts.cv_seed_set = 1;
        } else {
            return err_at(g, MAP_KEY(v, i), err,
                          "unknown cv key '%s' (valid: folds, validation_split, shuffle, seed)",
                          k);
        }
    }
    if (folds && split)
        return err_at(g, folds->line > split->line || (folds->line == split->line && folds->col > split->col) ? folds : split, err,
                      "cv: folds and validation_split exclude each other (k-fold or one holdout)");
    if (split)
        g->opts.folds = 1;
    return 0;
}

/* The search: section (grid.h's grid_search). */
#define SEARCH_KEYS_TEXT                                                                   \
    "strategy, n_iter, factor, resource, min_resources, max_resources, "                  \
    "aggressive_elimination"

/* A word of the section (case-insensitive) among the NULL-terminated choices: its index,
 * or -1 with err. */
static int search_word(const bctx *b, const node *n, const char *what, const char *const *words,
                       const char *valid)
{
    val v;
    if (resolve(b, n, what, &v))
        return -1;
    for (int i = 0; words[i]; i++)
        if (ci_eq(v.n->s, words[i]))
            return i;
    return val_fail(b, v, what, 1, "is not one of: %s", valid), -1;
}

static int search_min_resources(const bctx *b, const node *x, grid_search *s)
{
    val v;
    if (resolve(b, x, "search.min_resources", &v))
        return -1;
    s->min_exhaust = ci_eq(v.n->s, "exhaust");
    s->min_smallest = ci_eq(v.n->s, "smallest");
    if (s->min_exhaust || s->min_smallest)
        return 0;
    long long m;
    if (parse_ll(v.n->s, &m) || m < 1)
        return val_fail(b, v, "search.min_resources", 1,
                        "is not a whole number >= 1, 'exhaust' or 'smallest'");
    s->min_resources = m;
    return 0;
}

/* One key of the section; *halving_only gets the key's node when it is a halving setting. */
static int search_key(const bctx *b, const node *key, const node *x, grid_search *s,
                      const node **halving_only, const node **n_iter)
{
    static const char *const strategies[] = {"grid", "random", "halving", NULL};
    static const char *const resources[] = {"epochs", "samples", NULL};
    const char *k = key->s;
    long long i;
    int w;
    if (!strcmp(k, "strategy")) {
        if ((w = search_word(b, x, "search.strategy", strategies, "grid, random, halving")) < 0)
            return -1;
        s->strategy = (grid_strategy)w;
        return 0;
    }
    if (!strcmp(k, "n_iter")) {
        *n_iter = key;
        if (get_int(b, x, "search.n_iter", 1, SMP_MAX_ITER, &i))
            return -1;
        s->n_iter = i;
        return 0;
    }
    *halving_only = key;
    if (!strcmp(k, "factor")) {
        if (get_int(b, x, "search.factor", 2, 1000000, &i))
            return -1;
        s->factor = (int)i;
    } else if (!strcmp(k, "resource")) {
        if ((w = search_word(b, x, "search.resource", resources, "epochs, samples")) < 0)
            return -1;
        s->resource = w ? HALV_SAMPLES : HALV_EPOCHS;
    } else if (!strcmp(k, "min_resources")) {
        return search_min_resources(b, x, s);
    } else if (!strcmp(k, "max_resources")) {
        if (get_int(b, x, "search.max_resources", 1, (long long)1e12, &i))
            return -1;
        s->max_resources = i;
    } else if (!strcmp(k, "aggressive_elimination")) {
        return get_bool(b, x, "search.aggressive_elimination", &s->aggressive);
    } else {
        return err_at(b->g, key, b->err, "unknown search key '%s' (valid: %s)", k,
                      SEARCH_KEYS_TEXT);
    }
    return 0;
}

static int load_search(grid *g, const node *v, const bctx *b, fg_err *err)
{
    grid_search *s = &g->search;
    const node *halving_key = NULL, *n_iter = NULL;
    if (expect(g, v, N_MAP, "search", err))
        return -1;
    s->given = 1;
    for (int i = 0; i < v->n; i++)
        if (search_key(b, MAP_KEY(v, i), MAP_VAL(v, i), s, &halving_key, &n_iter))
            return -1;
    if (halving_key && s->strategy != GRID_SEARCH_HALVING)
        return err_at(g, halving_key, err,
                      "search.%s applies to strategy halving only (strategy is %s)",
                      halving_key->s, s->strategy == GRID_SEARCH_RANDOM ? "random" : "grid");
    if (s->strategy == GRID_SEARCH_RANDOM && !n_iter)
        return err_at(g, v, err, "search: strategy random needs n_iter (how many "
                                 "configurations to draw)");
    if (n_iter && s->strategy == GRID_SEARCH_GRID)
        return err_at(g, n_iter, err, "search.n_iter needs strategy random or halving "
                                      "(strategy grid searches every configuration)");
    s->sampled = n_iter != NULL;
    return 0;
}

static int load_top(grid *g, const node **grid_val, fg_err *err)
{
    const node *root = g->root;
    bctx b = {.g = g, .err = err, .s = -1};
    if (!root || is_null(root))
        return fg_err_set(err, "%s:1:1: the grid file is empty", g->opts.path);
    if (root->type != N_MAP)
        return err_at(g, root, err, "the top level must be a mapping (keys: %s), got %s",
                      TOP_KEYS_TEXT, type_name(root));
    const node *name = NULL, *model_k = NULL, *model_v = NULL, *models_k = NULL,
               *models_v = NULL;
    for (int i = 0; i < root->n; i++) {
        const node *key = MAP_KEY(root, i), *v = MAP_VAL(root, i);
        const char *k = key->s;
        long long x;
        if (!strcmp(k, "name")) {
            val s;
            if (resolve(&b, v, "name", &s))
                return -1;
            if (!valid_name(s.n->s, GRID_NAME_MAX - 1))
                return val_fail(&b, s, "name", 1,
                                "is not valid (1 to %d characters of [A-Za-z0-9_.-])",
                                GRID_NAME_MAX - 1);
            snprintf(g->opts.name, sizeof g->opts.name, "%s", s.n->s);
            name = v;
        } else if (!strcmp(k, "seed")) {
            if (get_int(&b, v, "seed", 0, LLONG_MAX, &x))
                return -1;
            g->opts.seed = (uint64_t)x;
        } else if (!strcmp(k, "refit")) {
            if (get_bool(&b, v, "refit", &g->opts.refit))
                return -1;
        } else if (!strcmp(k, "max_tasks")) {
            if (get_int(&b, v, "max_tasks", 1, LLONG_MAX, &x))
                return -1;
            g->opts.max_tasks = x;
        } else if (!strcmp(k, "task_timeout")) {
            if (get_num(&b, v, "task_timeout", 0, 0, INFINITY, 0, &g->opts.task_timeout))
                return -1;
        } else if (!strcmp(k, "data")) {
            if (load_data(g, v, &b, err))
                return -1;
        } else if (!strcmp(k, "cv")) {
            if (load_cv(g, v, &b, err))
                return -1;
        } else if (!strcmp(k, "search")) {
            if (load_search(g, v, &b, err))
                return -1;
        } else if (!strcmp(k, "train")) {
            if (load_train(g, v, err))
                return -1;
        } else if (!strcmp(k, "model")) {
            model_k = key;
            model_v = v;
        } else if (!strcmp(k, "models")) {
            models_k = key;
            models_v = v;
        } else if (!strcmp(k, "grid")) {
            g->grid_key = key;
            *grid_val = v;
        } else {
            return err_at(g, key, err, "unknown key '%s' (valid: %s)", k, TOP_KEYS_TEXT);
        }
    }
    if (!name)
        return err_at(g, root, err, "missing required key 'name'");
    if (!g->opts.cv_seed_set)
        g->opts.cv_seed = g->opts.seed;
    if (!model_k && !models_k)
        return err_at(g, root, err,
                      "missing 'model' (a list of layers) or 'models' (named lists of layers)");
    if (model_k && models_k) {
        const node *second = model_k->line > models_k->line ? model_k : models_k;
        return err_at(g, second, err, "both 'model' and 'models' are given; use exactly one");
    }
    return model_k ? load_models(g, model_k, model_v, 0, err)
                   : load_models(g, models_k, models_v, 1, err);
}

/* ---------------------------------------------------------------------------------- */
/* pass 4: the grid                                                                    */

static int param_cmp(const void *a, const void *b)
{
    return strcmp(((const param *)a)->name, ((const param *)b)->name);
}

static int same_value(const char *a, const char *b)
{
    double x, y;
    if (!strcmp(a, b))
        return 1;
    return !parse_dbl(a, &x) && !parse_dbl(b, &y) && x == y;
}

static int value_eq(const node *a, const node *b) { return same_value(a->s, b->s); }

/* A hash consistent with same_value: numbers by value (0 and -0 alike), other text as is. */
static uint64_t value_hash(const char *s)
{
    double d;
    if (parse_dbl(s, &d))
        return fg_hash_str(s, 1);
    if (d == 0)
        d = 0; /* -0 */
    return fg_hash_bytes(&d, sizeof d, 2);
}

/* A distribution {uniform|loguniform|randint: [a, b]} (random draws only); its bounds are
 * checked with the others by smp_check. */
static int load_distribution(grid *g, param *p, const node *v, const char *what, fg_err *err)
{
    static const char *const kinds[] = {"uniform", "loguniform", "randint"};
    static const smp_kind kv[] = {SMP_UNIFORM, SMP_LOGUNIFORM, SMP_RANDINT};
    if (!g->search.sampled)
        return err_at(g, v, err, "%s: a distribution ({loguniform: [a, b]}, ...) needs random "
                                 "draws (search: strategy random, or halving with n_iter); "
                                 "otherwise give a list of values", what);
    if (!strcmp(p->name, "model"))
        return err_at(g, v, err, "%s selects models by name: give a list of them", what);
    if (v->n != 1)
        return err_at(g, v, err, "%s: a distribution has exactly one key (uniform, loguniform "
                                 "or randint), got %d", what, v->n);
    const node *k = MAP_KEY(v, 0), *b = MAP_VAL(v, 0);
    int kind = -1;
    for (int i = 0; i < 3; i++)
        if (!strcmp(k->s, kinds[i]))
            kind = i;
    if (kind < 0)
        return err_at(g, k, err, "%s: unknown distribution '%s' (valid: uniform, loguniform, "
                                 "randint)", what, k->s);
    if (b->type != N_SEQ || b->n != 2 || b->k[0]->type != N_SCALAR ||
        b->k[1]->type != N_SCALAR)
        return err_at(g, b, err, "%s: %s needs its bounds as a list of two numbers [a, b]", what,
                      k->s);
    for (int i = 0; i < 2; i++)
        if (parse_dbl(b->k[i]->s, i ? &p->b : &p->a))
            return err_at(g, b->k[i], err, "%s: %s bound '%s' is not a number", what, k->s,
                          b->k[i]->s);
    p->dist = v;
    p->kind = kv[kind];
    return 0;
}

static int load_subgrid(grid *g, subgrid *sg, const node *m, fg_err *err)
{
    sg->map = m;
    sg->np = m->n;
    if (m->n && !(sg->p = calloc((size_t)m->n, sizeof *sg->p)))
        return fg_err_set(err, "%s: out of memory", g->opts.path);
    for (int i = 0; i < m->n; i++) {
        const node *key = MAP_KEY(m, i), *v = MAP_VAL(m, i);
        char what[128];
        if (!valid_ident(key->s))
            return err_at(g, key, err, "invalid grid parameter name '%s' (expected "
                                       "[A-Za-z_][A-Za-z0-9_]*)",
                          key->s);
        snprintf(what, sizeof what, "grid parameter '%s'", key->s);
        sg->p[i].name = key->s;
        sg->p[i].key = key;
        if (v->type == N_MAP) {
            if (load_distribution(g, &sg->p[i], v, what, err))
                return -1;
            continue;
        }
        if (v->type != N_SEQ)
            return err_at(g, v, err, "%s: expected a list of values, got %s%s", what,
                          type_name(v), v->type == N_SCALAR ? " (write [value])" : "");
        if (v->n < 1)
            return err_at(g, v, err, "%s has no values (empty list)", what);
        nset seen = {0};
        int rc = 0, oom = 0;
        for (int j = 0; j < v->n && !rc; j++) {
            const node *x = v->k[j], *first;
            if (x->type != N_SCALAR)
                rc = err_at(g, x, err, "%s: values must be scalars, got %s", what, type_name(x));
            else if (x->s[0] == '$')
                rc = err_at(g, x, err, "%s: value '%s' cannot be a reference", what, x->s);
            else if ((first = nset_add(&seen, x, value_hash(x->s), value_eq, &oom)) && oom)
                rc = fg_err_set(err, "%s: out of memory", g->opts.path);
            else if (first)
                rc = err_at(g, x, err, "%s: duplicate value '%s' (same as '%s' at line %d, column %d)",
                            what, x->s, first->s, first->line, first->col);
        }
        nset_free(&seen);
        if (rc)
            return -1;
        sg->p[i].vals = v;
    }
    if (sg->np > 1)
        qsort(sg->p, (size_t)sg->np, sizeof *sg->p, param_cmp);
    return 0;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int load_grid(grid *g, const node *v, fg_err *err)
{
    int n = 1;
    if (v) {
        if (v->type == N_SEQ) {
            if (v->n < 1)
                return err_at(g, v, err, "grid: the list of sub-grids is empty");
            n = v->n;
            g->grid_is_list = 1;
        } else if (v->type != N_MAP) {
            if (v->type == N_SCALAR)
                return err_at(g, v, err, "grid: expected a mapping or a list of mappings, got "
                                         "the scalar '%s'",
                              v->s);
        }
    }
    g->sub = calloc((size_t)n, sizeof *g->sub);
    if (!g->sub)
        return fg_err_set(err, "%s: out of memory", g->opts.path);
    g->n_sub = n;
    for (int s = 0; s < n; s++) {
        const node *m = !v ? NULL : g->grid_is_list ? v->k[s] : v;
        if (m) {
            char what[64];
            snprintf(what, sizeof what, "grid: sub-grid %d", s + 1);
            if (expect(g, m, N_MAP, g->grid_is_list ? what : "grid", err) ||
                load_subgrid(g, &g->sub[s], m, err))
                return -1;
        }
    }
    /* the sorted union of parameter names */
    int total = 0;
    for (int s = 0; s < n; s++)
        total += g->sub[s].np;
    g->params = total ? calloc((size_t)total, sizeof *g->params) : NULL;
    if (total && !g->params)
        return fg_err_set(err, "%s: out of memory", g->opts.path);
    for (int s = 0; s < n; s++)
        for (int j = 0; j < g->sub[s].np; j++)
            g->params[g->n_params++] = g->sub[s].p[j].name;
    if (g->n_params > 1)
        qsort(g->params, (size_t)g->n_params, sizeof *g->params, str_cmp);
    int u = 0;
    for (int i = 0; i < g->n_params; i++)
        if (!u || strcmp(g->params[u - 1], g->params[i]))
            g->params[u++] = g->params[i];
    g->n_params = u;
    return 0;
}

/* pass 4b: random draws (search.n_iter). The draws (sample.h) become the configurations:
 * each one's sub-grid and row, per parameter the index of its value (a list's, or the
 * distribution's draw, kept as a scalar node at the distribution's place in the file so
 * that a bad value is reported there). */

/* What the sampler is given: per sub-grid its parameters (in the sub-grid's order, sorted
 * by name, as the expansion), every list's values, and "FILE:LINE:COL" of each. */
typedef struct {
    smp_space *sp;
    smp_param *par;
    const char **val;
    fg_buf where;
    int64_t n_par;
    int32_t **order; /* per parameter (as par): a list's value indices sorted by text */
} draw_plan;

static void draw_plan_free(draw_plan *d)
{
    for (int64_t q = 0; d->order && q < d->n_par; q++)
        free(d->order[q]);
    free(d->order);
    free(d->sp);
    free(d->par);
    free(d->val);
    fg_buf_free(&d->where);
}

static int draw_plan_make(const grid *g, draw_plan *d)
{
    int64_t np = 0, nv = 0;
    for (int s = 0; s < g->n_sub; s++)
        for (int j = 0; j < g->sub[s].np; j++) {
            np++;
            nv += g->sub[s].p[j].dist ? 0 : g->sub[s].p[j].vals->n;
        }
    d->n_par = np;
    d->sp = calloc((size_t)(g->n_sub > 0 ? g->n_sub : 1), sizeof *d->sp);
    d->order = calloc((size_t)(np + 1), sizeof *d->order);
    d->par = calloc((size_t)(np + 1), sizeof *d->par);
    d->val = calloc((size_t)(nv + 1), sizeof *d->val);
    size_t *off = calloc((size_t)(np + 1), sizeof *off);
    if (!d->sp || !d->order || !d->par || !d->val || !off) {
        free(off);
        return -1;
    }
    for (int s = 0, q = 0, v = 0; s < g->n_sub; s++) {
        const subgrid *sg = &g->sub[s];
        d->sp[s].params = d->par + q;
        d->sp[s].n_params = sg->np;
        for (int j = 0; j < sg->np; j++, q++) {
            const param *pa = &sg->p[j];
            smp_param *x = &d->par[q];
            const node *at = pa->dist ? pa->dist : pa->vals;
            *x = (smp_param){.name = pa->name, .kind = pa->dist ? pa->kind : SMP_LIST,
                             .a = pa->a, .b = pa->b};
            if (!pa->dist) {
                x->values = d->val + v;
                x->n_values = pa->vals->n;
                for (int i = 0; i < pa->vals->n; i++)
                    d->val[v++] = pa->vals->k[i]->s;
            }
            off[q] = d->where.len;
            fg_buf_printf(&d->where, "%s:%d:%d", g->opts.path, at->line, at->col);
            fg_buf_add(&d->where, "", 1);
        }
    }
    for (int64_t q = 0; q < np && !d->where.bad; q++)
        d->par[q].where = d->where.s + off[q];
    free(off);
    return d->where.bad ? -1 : 0;
}

/* The index of value text among a list parameter's values (distinct), by binary search
 * over order (the indices sorted by text). */
static int32_t list_index(const param *p, const int32_t *order, const char *text)
{
    int lo = 0, hi = p->vals->n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2, c = strcmp(p->vals->k[order[mid]]->s, text);
        if (!c)
            return order[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

static int text_order_cmp(const void *a, const void *b, void *ctx)
{
    const node *v = ctx;
    return strcmp(v->k[*(const int32_t *)a]->s, v->k[*(const int32_t *)b]->s);
}

/* A scalar node holding text at the place of node at, appended to seq. */
static int draw_node(node *seq, const node *at, const char *text)
{
    node *x = calloc(1, sizeof *x);
    int len = seq->n;
    if (!x || !(x->s = strdup(text))) {
        free(x);
        return -1;
    }
    x->type = N_SCALAR;
    x->line = at->line;
    x->col = at->col;
    x->plain = 1;
    if (kids_append(seq, &len, x)) {
        node_free(x);
        return -1;
    }
    return 0;
}

/* Per sub-grid: its rows (draws), the index table, a sequence for each distribution's draws
 * (children of g->draws) and each list's value order. */
static int draw_tables(grid *g, const smp_set *set, draw_plan *d)
{
    int64_t n = smp_count(set);
    g->rs_sub = malloc((size_t)n * sizeof *g->rs_sub);
    g->rs_row = malloc((size_t)n * sizeof *g->rs_row);
    g->draws = calloc(1, sizeof *g->draws);
    if (!g->rs_sub || !g->rs_row || !g->draws)
        return -1;
    g->draws->type = N_SEQ;
    for (int64_t i = 0; i < n; i++) {
        g->rs_sub[i] = smp_subgrid(set, i);
        g->rs_row[i] = g->sub[g->rs_sub[i]].n++;
    }
    for (int s = 0, q = 0; s < g->n_sub; s++) {
        subgrid *sg = &g->sub[s];
        sg->rs_idx = malloc((size_t)((sg->n ? sg->n : 1) * (sg->np ? sg->np : 1)) * sizeof *sg->rs_idx);
        if (!sg->rs_idx)
            return -1;
        for (int j = 0; j < sg->np; j++, q++) {
            param *p = &sg->p[j];
            int len = g->draws->n;
            if (p->dist) {
                node *seq = calloc(1, sizeof *seq);
                if (!seq || kids_append(g->draws, &len, seq)) {
                    free(seq);
                    return -1;
                }
                seq->type = N_SEQ;
                p->vals = seq;
                continue;
            }
            int32_t *o = malloc((size_t)p->vals->n * sizeof *o);
            if (!(d->order[q] = o))
                return -1;
            for (int v = 0; v < p->vals->n; v++)
                o[v] = v;
            fg_sort(o, (size_t)p->vals->n, sizeof *o, text_order_cmp, (void *)p->vals);
        }
    }
    return 0;
}

/* Every draw's value indices (distributions' draws appended to their sequences). */
static int draw_assign(grid *g, const smp_set *set, const draw_plan *d)
{
    for (int64_t i = 0; i < smp_count(set); i++) {
        subgrid *sg = &g->sub[g->rs_sub[i]];
        int64_t q0 = d->sp[g->rs_sub[i]].params - d->par;
        int64_t r = g->rs_row[i];
        for (int j = 0; j < sg->np; j++) {
            param *p = &sg->p[j];
            const char *text = smp_value(set, i, j);
            int32_t k = -1;
            if (p->dist) {
                if (draw_node((node *)p->vals, p->dist, text))
                    return -1;
                k = (int32_t)r;
            } else {
                k = list_index(p, d->order[q0 + j], text);
            }
            FG_ASSERT(k >= 0);
            sg->rs_idx[r * sg->np + j] = k;
        }
    }
    return 0;
}

static int sample_configs(grid *g, fg_err *err)
{
    draw_plan d = {0};
    smp_set *set = NULL;
    int rc = -1, oom = 0;
    if (draw_plan_make(g, &d))
        oom = 1;
    else if (!smp_check(d.sp, g->n_sub, err) &&
             !smp_sample(d.sp, g->n_sub, g->search.n_iter, g->opts.seed, &set, err)) {
        if (draw_tables(g, set, &d) || draw_assign(g, set, &d))
            oom = 1;
        else
            rc = 0;
        g->n_configs = smp_count(set);
        g->search.capped = smp_capped(set);
        g->search.grid_size = smp_grid_size(set);
    }
    if (oom)
        fg_err_set(err, "%s: out of memory", g->opts.path);
    smp_free(set);
    draw_plan_free(&d);
    return rc;
}

/* "sub-grid 2 (line 14)" or "the grid" */
static void sub_label(const grid *g, int s, char *buf, size_t size)
{
    if (g->grid_is_list)
        snprintf(buf, size, "sub-grid %d (line %d)", s + 1, g->sub[s].map->line);
    else
        snprintf(buf, size, "the grid");
}

/* The model named name (with `models`), by binary search over model_order; -1 if none. */
static int model_find(const grid *g, const char *name)
{
    int lo = 0, hi = g->n_models - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2, c = strcmp(g->models[g->model_order[mid]].name, name);
        if (!c)
            return g->model_order[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}


static int model_order_cmp(const void *a, const void *b, void *ctx)
{
    const model *m = ctx;
    return strcmp(m[*(const int *)a].name, m[*(const int *)b].name);
}

static int int_cmp(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Looks up every distinct reference of refs (first occurrences, file order) in sg: the
 * first one sg does not define is an error; the parameters found are marked used. */
static int check_refs(const grid *g, const subgrid *sg, const node *const *names, int n,
                      const char *in, const char *label, const char *section, fg_err *err)
{
    for (int i = 0; i < n; i++) {
        int j = sub_find(sg, names[i]->s + 1);
        if (j < 0) {
            if (section)
                return err_at(g, names[i], err,
                              "%s: '%s' refers to grid parameter '%s', which %s does not define",
                              section, names[i]->s, names[i]->s + 1, label);
            return err_at(g, names[i], err, "'%s'%s refers to grid parameter '%s', which %s does not define",
                          names[i]->s, in, names[i]->s + 1, label);
        }
        sg->used[j] = 1;
    }
    return 0;
}

/* Model selection, references and unused parameters; linear in the size of the grid
 * (names are found by binary search, models by name through model_order). */
static int check_grid(grid *g, fg_err *err)
{
    char label[64];
    const node *top = g->grid_key ? g->grid_key : g->root;
    if (g->multi) {
        g->model_order = malloc((size_t)g->n_models * sizeof *g->model_order);
        if (!g->model_order)
            return fg_err_set(err, "%s: out of memory", g->opts.path);
        for (int i = 0; i < g->n_models; i++)
            g->model_order[i] = i;
        fg_sort(g->model_order, (size_t)g->n_models, sizeof *g->model_order, model_order_cmp, g->models);
    }
    /* model selection */
    for (int s = 0; s < g->n_sub; s++) {
        subgrid *sg = &g->sub[s];
        int j = sub_find(sg, "model");
        sg->model_j = g->multi ? j : -1;
        sub_label(g, s, label, sizeof label);
        if (!g->multi) {
            if (j >= 0)
                return err_at(g, sg->p[j].key, err,
                              "grid parameter 'model' selects one of 'models', but this file has "
                              "a single 'model'");
            continue;
        }
        char names[512];
        size_t len = 0;
        names[0] = '\0';
        for (int i = 0; i < g->n_models && len + 1 < sizeof names; i++) {
            int w = snprintf(names + len, sizeof names - len, "%s%s", i ? ", " : "",
                             g->models[i].name);
            if (w > 0)
                len += (size_t)w;
        }
        if (j < 0)
            return err_at(g, sg->map ? sg->map : top, err,
                          "%s has no 'model' parameter; with 'models' every sub-grid must list "
                          "the models it uses (valid: %s)",
                          label, names);
        const node *vals = sg->p[j].vals;
        sg->model_of = malloc((size_t)vals->n * sizeof *sg->model_of);
        if (!sg->model_of)
            return fg_err_set(err, "%s: out of memory", g->opts.path);
        for (int i = 0; i < vals->n; i++)
            if ((sg->model_of[i] = model_find(g, vals->k[i]->s)) < 0)
                return err_at(g, vals->k[i], err,
                              "grid parameter 'model': '%s' is not among models (valid: %s)",
                              vals->k[i]->s, names);
    }
    /* every $reference is defined in every sub-grid that can reach it */
    for (int s = 0; s < g->n_sub; s++) {
        subgrid *sg = &g->sub[s];
        sub_label(g, s, label, sizeof label);
        sg->used = calloc((size_t)(sg->np ? sg->np : 1), 1);
        if (!sg->used)
            return fg_err_set(err, "%s: out of memory", g->opts.path);
        if (check_refs(g, sg, g->train_names, g->n_train_names, "", label, "train", err))
            return -1;
        int n_sel = g->multi ? sg->p[sg->model_j].vals->n : 1;
        int *sel = malloc((size_t)n_sel * sizeof *sel);
        if (!sel)
            return fg_err_set(err, "%s: out of memory", g->opts.path);
        if (g->multi)
            memcpy(sel, sg->model_of, (size_t)n_sel * sizeof *sel);
        else
            sel[0] = 0;
        qsort(sel, (size_t)n_sel, sizeof *sel, int_cmp); /* models in file order */
        for (int i = 0; i < n_sel; i++) {
            const model *m = &g->models[sel[i]];
            char in[96] = "";
            if (g->multi)
                snprintf(in, sizeof in, " (in model '%s')", m->name);
            if (check_refs(g, sg, m->names, m->n_names, in, label, NULL, err)) {
                free(sel);
                return -1;
            }
        }
        free(sel);
    }
    /* every parameter is used */
    for (int s = 0; s < g->n_sub; s++) {
        const subgrid *sg = &g->sub[s];
        for (int j = 0; j < sg->np; j++) {
            const char *p = sg->p[j].name;
            if (sg->used[j] || (g->multi && !strcmp(p, "model")) || train_key_id(p) >= 0)
                continue;
            return err_at(g, sg->p[j].key, err,
                          "grid parameter '%s' is not used: it is not a train key and no "
                          "'$%s' appears in train or in the model%s it can select",
                          p, p, g->multi ? "s" : "");
        }
    }
    return 0;
}

/* pass 5: sizes. Every product is checked before it is formed (no overflow), against the
 * program's own limits first (GRID_MAX_CONFIGS, GRID_MAX_TASKS, GRID_MAX_PARAM_TEXT),
 * whatever max_tasks says, then against max_tasks. */
static int count_tasks(grid *g, int64_t total, fg_err *err);
static int count_configs(grid *g, fg_err *err)
{
    if (g->rs_sub) /* random draws: sample_configs counted them */
        return count_tasks(g, g->n_configs, err);
    const node *at = g->grid_key ? g->grid_key : g->root;
    int64_t limit = g->opts.max_tasks, total = 0;
    uint64_t text = 0; /* bytes of every configuration's "name=value, ..." string */
    char label[64];
    for (int s = 0; s < g->n_sub; s++) {
        subgrid *sg = &g->sub[s];
        sub_label(g, s, label, sizeof label);
        /* in file order, so that the parameter named is the one that crosses the limit */
        int64_t n = 1;
        for (int i = 0; sg->map && i < sg->map->n; i++) {
            const node *key = MAP_KEY(sg->map, i);
            int64_t nv = MAP_VAL(sg->map, i)->n;
            if (limit <= GRID_MAX_CONFIGS && n > limit / nv)
                return err_at(g, at, err,
                              "the grid has more than max_tasks (%lld) configurations; raise "
                              "max_tasks or shrink the grid",
                              (long long)limit);
            if (n > GRID_MAX_CONFIGS / nv)
                return err_at(g, key, err,
                              "grid parameter '%s' (%lld values) brings %s to more than %d "
                              "configurations (%lld x %lld), the limit of one grid; shrink the grid",
                              key->s, (long long)nv, label, GRID_MAX_CONFIGS, (long long)n,
                              (long long)nv);
            n *= nv;
        }
        if (n > GRID_MAX_CONFIGS - total)
            return err_at(g, sg->map ? sg->map : at, err,
                          "%s (%lld configurations) brings the grid to %lld configurations, more "
                          "than the limit of %d; shrink the grid",
                          label, (long long)n, (long long)(total + n), GRID_MAX_CONFIGS);
        sg->n = n;
        sg->off = total;
        total += n;
        sg->stride = malloc((size_t)(sg->np ? sg->np : 1) * sizeof *sg->stride);
        if (!sg->stride)
            return fg_err_set(err, "%s: out of memory", g->opts.path);
        int64_t st = 1;
        for (int j = sg->np - 1; j >= 0; j--) {
            sg->stride[j] = st;
            st *= sg->p[j].vals->n; /* a divisor of n: no overflow */
        }
        /* each configuration's string: "name=value" per parameter, ", " between, a NUL;
         * a value appears in n / (its parameter's value count) of the configurations */
        uint64_t exact = (uint64_t)n;
        for (int j = 0; j < sg->np; j++) {
            uint64_t vl = 0;
            for (int v = 0; v < sg->p[j].vals->n; v++)
                vl += strlen(sg->p[j].vals->k[v]->s);
            exact += (uint64_t)n * (strlen(sg->p[j].name) + 3) + vl * (uint64_t)(n / sg->p[j].vals->n);
        }
        text += exact; /* at most 1e6 x 16 MiB: no overflow */
        if (text > GRID_MAX_PARAM_TEXT)
            return err_at(g, sg->map ? sg->map : at, err,
                          "%s: the parameter strings of the configurations (name=value, ...) "
                          "would take %.0f MiB, more than the limit of %d MiB; shrink the grid",
                          label, (double)text / 1048576.0, GRID_MAX_PARAM_TEXT >> 20);
    }
    return count_tasks(g, total, err);
}

/* The task limits (GRID_MAX_TASKS, max_tasks) for total configurations; sets n_configs. */
static int count_tasks(grid *g, int64_t total, fg_err *err)
{
    const node *at = g->grid_key ? g->grid_key : g->root;
    int64_t limit = g->opts.max_tasks;
    int folds = g->opts.folds;
    if (total > limit)
        return err_at(g, at, err,
                      "the grid has more than max_tasks (%lld) configurations; raise max_tasks "
                      "or shrink the grid",
                      (long long)limit);
    if (total > GRID_MAX_TASKS / folds)
        return err_at(g, at, err,
                      "the grid has %lld configurations x %d folds = %.0f tasks, more than the "
                      "limit of %d tasks; shrink the grid or use fewer folds",
                      (long long)total, folds, (double)total * folds, GRID_MAX_TASKS);
    if (total > limit / folds)
        return err_at(g, at, err,
                      "the grid has %lld configurations x %d folds = %.0f tasks, more than "
                      "max_tasks (%lld); raise max_tasks or shrink the grid",
                      (long long)total, folds, (double)total * folds, (long long)limit);
    g->n_configs = total;
    return 0;
}

/* pass 6: build and shape-check every configuration; keep its canonical string and hash */
/* Keeps the smallest and largest output count of the configurations and one of each. */
static void note_outputs(grid *g, int64_t c, int outputs)
{
    if (c == 0 || outputs < g->out_lo) {
        g->out_lo = outputs;
        g->out_lo_config = c;
    }
    if (c == 0 || outputs > g->out_hi) {
        g->out_hi = outputs;
        g->out_hi_config = c;
    }
}

static int check_configs(grid *g, fg_err *err)
{
    fg_buf pb = {0};
    nn_net_desc *net = malloc(sizeof *net);
    nn_train_desc t;
    int rc = -1;
    g->poff = malloc((size_t)(g->n_configs + 1) * sizeof *g->poff);
    g->hash = malloc((size_t)(g->n_configs + 1) * sizeof *g->hash);
    if (!net || !g->poff || !g->hash) {
        fg_err_set(err, "%s: out of memory", g->opts.path);
        goto done;
    }
    for (int64_t c = 0; c < g->n_configs; c++) {
        int s;
        int64_t r;
        locate(g, c, &s, &r);
        size_t start = pb.len;
        config_string(g, s, r, 0, &pb);
        fg_buf_add(&pb, "", 1); /* the terminating NUL is part of the buffer */
        int oom = pb.bad;
        if (!oom)
            g->hash[c] = config_hash(g, s, r, &oom);
        if (oom) {
            fg_err_set(err, "%s: out of memory", g->opts.path);
            goto done;
        }
        g->poff[c] = (int64_t)start;
        if (build_config(g, c, g->opts.in_h, g->opts.in_w, g->opts.in_c, g->opts.classes, net, &t,
                         pb.s + start, err))
            goto done;
        note_outputs(g, c, net->n_classes);
    }
    rc = 0;
done:
    free(net);
    g->pbuf = pb.s;
    return rc;
}

/* ---------------------------------------------------------------------------------- */
/* public                                                                              */

int grid_load_string(const char *text, size_t len, const char *path, grid **out, fg_err *err)
{
    *out = NULL;
    if (!path)
        path = "(grid)";
    if (strlen(path) >= GRID_PATH_MAX)
        return fg_err_set(err, "grid path is longer than %d characters", GRID_PATH_MAX - 1);
    if (len > GRID_MAX_BYTES)
        return fg_err_set(err, "%s: %zu bytes, more than the %d-byte limit for a grid file", path, len,
                          GRID_MAX_BYTES);
    grid *g = calloc(1, sizeof *g);
    if (!g)
        return fg_err_set(err, "%s: out of memory", path);
    snprintf(g->opts.path, sizeof g->opts.path, "%s", path);
    g->opts.folds = 5;
    g->opts.in_h = GRID_INPUT_H;
    g->opts.in_w = GRID_INPUT_W;
    g->opts.in_c = GRID_INPUT_C;
    g->opts.shuffle = 1;
    g->opts.refit = 1;
    g->opts.max_tasks = 1000000;
    g->search.strategy = GRID_SEARCH_GRID;
    g->search.factor = HALV_FACTOR_DEFAULT;
    g->search.resource = HALV_EPOCHS;
    g->search.min_exhaust = 1;
    g->search.grid_size = -1;
    g->text = malloc(len + 1);
    if (!g->text) {
        free(g);
        return fg_err_set(err, "%s: out of memory", path);
    }
    if (len)
        memcpy(g->text, text, len);
    g->text[len] = '\0';
    g->len = len;

    const node *grid_val = NULL;
    if (parse_tree(g, err) ||
        load_top(g, &grid_val, err) || load_grid(g, grid_val, err) || check_grid(g, err) ||
        (g->search.sampled && sample_configs(g, err)) || count_configs(g, err) ||
        check_configs(g, err)) {
        grid_free(g);
        return -1;
    }
    *out = g;
    return 0;
}

int grid_load_file(const char *path, grid **out, fg_err *err)
{
    *out = NULL;
    char *buf = NULL;
    size_t len = 0;
    /* A regular file only (a FIFO would block), refused unread when over the limit. */
    if (fg_read_file(path, GRID_MAX_BYTES, "grid file", &buf, &len, err))
        return -1;
    int rc = grid_load_string(buf, len, path, out, err);
    free(buf);
    return rc;
}

const char *const *grid_class_names(const grid *g) { return g->class_names; }

const grid_search *grid_search_of(const grid *g) { return &g->search; }

int grid_option_where(const grid *g, const char *key, char *buf, size_t size)
{
    const node *n = g->root;
    char part[64];
    for (const char *k = key; n && *k;) {
        size_t l = strcspn(k, ".");
        if (l >= sizeof part)
            return 0;
        memcpy(part, k, l);
        part[l] = '\0';
        n = n->type == N_MAP ? map_get(n, part, NULL) : NULL;
        k += l + (k[l] == '.');
    }
    if (!n) {
        snprintf(buf, size, "%s", g->opts.path);
        return 0;
    }
    snprintf(buf, size, "%s:%d:%d", g->opts.path, n->line, n->col);
    return 1;
}

void grid_free(grid *g)
{
    if (!g)
        return;
    for (int i = 0; i < g->n_models; i++) {
        free(g->models[i].refs);
        free(g->models[i].names);
    }
    free(g->models);
    free(g->model_order);
    for (int s = 0; s < g->n_sub; s++) {
        free(g->sub[s].p);
        free(g->sub[s].model_of);
        free(g->sub[s].used);
        free(g->sub[s].stride);
        free(g->sub[s].rs_idx);
    }
    free(g->rs_sub);
    free(g->rs_row);
    node_free(g->draws);
    free(g->train_names);
    free(g->sub);
    free(g->params);
    free(g->train_refs);
    free(g->pbuf);
    free(g->poff);
    free(g->hash);
    free(g->class_names);
    node_free(g->root);
    free(g->text);
    free(g);
}

grid_options *grid_opts(grid *g) { return &g->opts; }
const grid_options *grid_opts_c(const grid *g) { return &g->opts; }

const char *grid_text(const grid *g, size_t *len)
{
    if (len)
        *len = g->len;
    return g->text;
}

int grid_n_params(const grid *g) { return g->n_params; }

const char *grid_param_name(const grid *g, int p)
{
    return p >= 0 && p < g->n_params ? g->params[p] : NULL;
}

int64_t grid_n_configs(const grid *g) { return g->n_configs; }
int grid_n_subgrids(const grid *g) { return g->n_sub; }

const char *grid_config_value(const grid *g, int64_t c, int p)
{
    int s;
    int64_t r;
    if (p < 0 || p >= g->n_params || locate(g, c, &s, &r))
        return NULL;
    int j = sub_find(&g->sub[s], g->params[p]);
    return j < 0 ? NULL : sub_value(&g->sub[s], r, j)->s;
}

const char *grid_config_params(const grid *g, int64_t c)
{
    return c >= 0 && c < g->n_configs ? g->pbuf + g->poff[c] : NULL;
}

uint64_t grid_config_hash(const grid *g, int64_t c)
{
    return c >= 0 && c < g->n_configs ? g->hash[c] : 0;
}

int grid_config_weights(const grid *g, int64_t c, grid_weights *out, int max)
{
    int s, n = 0;
    int64_t r;
    if (locate(g, c, &s, &r))
        return 0;
    const model *m = config_model(g, s, r);
    if (!m)
        return 0;
    if (m->weights && n < max)
        out[n++] = (grid_weights){m->weights->s, -1, m->weights->line, m->weights->col};
    for (int i = 0; i < m->layers->n && n < max; i++) {
        const node *w = map_get(m->layers->k[i], "weights", NULL);
        if (w && w->type == N_SCALAR)
            out[n++] = (grid_weights){w->s, i, w->line, w->col};
    }
    return n;
}
