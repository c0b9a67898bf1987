/* sample.c - random search's sampling: the parameters' checks, draws with and without
 * replacement (a sparse Fisher-Yates over the grid's indices), and the sampled
 * configurations kept as text (values and "name=value, ..." strings) in one buffer.
 * The semantics and the determinism are stated in sample.h. */
#include "sample.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fg_buf.h"

#define SMP_MAX_GRID (INT64_C(1) << 62) /* list-only grids sampled without replacement */
#define SMP_MAX_INT 9007199254740992.0 /* 2^53: randint's bounds are exact doubles */

struct smp_set {
    int64_t n;          /* configurations */
    int capped;         /* n_iter was above the list-only grid's size */
    int64_t grid_size;  /* list-only grid's size, -1 */
    int max_params;     /* row length of voff */
    int *sub;           /* [n] sub-grid */
    int64_t *index;     /* [n] grid index, -1 */
    int *n_params;      /* [n] parameters of the configuration's sub-grid */
    int64_t *voff;      /* [n x max_params] offsets of the values in text */
    int64_t *poff;      /* [n] offsets of the "name=value, ..." strings in text */
    fg_buf text;        /* NUL-separated strings */
};

/* ---------------------------------------------------------------------------------- */
/* checks                                                                              */
static const char *kind_name(smp_kind k)
{
    return k == SMP_UNIFORM ? "uniform" : k == SMP_LOGUNIFORM ? "loguniform"
         : k == SMP_RANDINT ? "randint" : "list";
}

/* "WHERE: NAME: KIND WHAT (got [a, b])"; returns -1. */
static int param_error(const smp_param *p, const char *what, fg_err *err)
{
    char a[SMP_NUM_MAX], b[SMP_NUM_MAX];
    return fg_err_set(err, "%s%s%s: %s %s (got [%s, %s])", p->where ? p->where : "",
                      p->where ? ": " : "", p->name ? p->name : "?", kind_name(p->kind), what,
                      smp_format_double(p->a, a, sizeof a), smp_format_double(p->b, b, sizeof b));
}

static int whole(double v)
{
    return isfinite(v) && v == floor(v) && fabs(v) <= SMP_MAX_INT;
}

static int check_param(const smp_param *p, fg_err *err)
{
    switch (p->kind) {
    case SMP_LIST:
        if (p->n_values < 1 || !p->values)
            return fg_err_set(err, "%s%s%s: an empty list of values", p->where ? p->where : "",
                              p->where ? ": " : "", p->name ? p->name : "?");
        return 0;
    case SMP_UNIFORM:
        if (!isfinite(p->a) || !isfinite(p->b) || !isfinite(p->b - p->a) || !(p->a < p->b))
            return param_error(p, "needs finite bounds a < b", err);
        return 0;
    case SMP_LOGUNIFORM:
        if (!isfinite(p->a) || !isfinite(p->b) || !(p->a > 0) || !(p->a < p->b))
            return param_error(p, "needs finite bounds 0 < a < b", err);
        return 0;
    case SMP_RANDINT:
        if (!whole(p->a) || !whole(p->b) || !(p->a < p->b))
            return param_error(p, "needs whole bounds a < b (b excluded), within 2^53", err);
        return 0;
    }
    return fg_err_set(err, "%s: unknown distribution", p->name ? p->name : "?");
}

int smp_check(const smp_space *spaces, int n_spaces, fg_err *err)
{
    if (n_spaces < 1)
        return fg_err_set(err, "random search: no parameters to sample");
    for (int s = 0; s < n_spaces; s++)
        for (int p = 0; p < spaces[s].n_params; p++)
            if (check_param(&spaces[s].params[p], err))
                return -1;
    return 0;
}

int smp_all_lists(const smp_space *spaces, int n_spaces)
{
    for (int s = 0; s < n_spaces; s++)
        for (int p = 0; p < spaces[s].n_params; p++)
            if (spaces[s].params[p].kind != SMP_LIST)
                return 0;
    return 1;
}

/* Points of the list-only grid, or -1 beyond SMP_MAX_GRID. */
static int64_t list_grid_size(const smp_space *spaces, int n_spaces)
{
    int64_t total = 0;
    for (int s = 0; s < n_spaces; s++) {
        int64_t size = 1;
        for (int p = 0; p < spaces[s].n_params; p++) {
            if (size > SMP_MAX_GRID / spaces[s].params[p].n_values)
                return -1;
            size *= spaces[s].params[p].n_values;
        }
        if (size > SMP_MAX_GRID - total)
            return -1;
        total += size;
    }
    return total;
}

/* ---------------------------------------------------------------------------------- */
/* draws                                                                               */
/* Uniform in [0, n), n >= 1, unbiased: draws below 2^64 mod n are rejected. */
static uint64_t below64(fg_rng *r, uint64_t n)
{
    const uint64_t reject = (0 - n) % n;
    for (;;) {
        uint64_t x = fg_rng_u64(r);
        if (x >= reject)
            return x % n;
    }
}

/* The fewest significant digits (1..17) whose "%.{p-1}e" text reads back as v; buf holds
 * that text. */
static int shortest_digits(double v, char *buf, size_t size)
{
    for (int p = 1; p < 17; p++) {
        snprintf(buf, size, "%.*e", p - 1, v);
        if (strtod(buf, NULL) == v)
            return p;
    }
    snprintf(buf, size, "%.16e", v);
    return 17;
}

char *smp_format_double(double v, char *buf, size_t size)
{
    int p = shortest_digits(v, buf, size);
    const char *e = strchr(buf, 'e');
    long x = e ? strtol(e + 1, NULL, 10) : 0; /* the decimal exponent */
    /* %g would write 100 with 1 digit as 1e+02: whole numbers below 1e17 in full */
    snprintf(buf, size, "%.*g", x >= p && x < 17 ? (int)x + 1 : p, v);
    return buf;
}

/* Draws distribution p's value and writes it to buf (SMP_NUM_MAX bytes). */
static void draw_number(fg_rng *r, const smp_param *p, char *buf)
{
    if (p->kind == SMP_RANDINT) {
        int64_t lo = (int64_t)p->a, span = (int64_t)p->b - lo;
        snprintf(buf, SMP_NUM_MAX, "%lld", (long long)(lo + (int64_t)below64(r, (uint64_t)span)));
        return;
    }
    double u = fg_rng_uniform(r), v;
    if (p->kind == SMP_UNIFORM) {
        v = p->a + (p->b - p->a) * u;
    } else {
        const double la = log(p->a), lb = log(p->b);
        v = exp(la + (lb - la) * u);
    }
    v = v < p->a ? p->a : v > p->b ? p->b : v; /* rounding never leaves [a, b] */
    smp_format_double(v, buf, SMP_NUM_MAX);
}

/* ---------------------------------------------------------------------------------- */
/* the set                                                                             */
static smp_set *set_new(int64_t n, const smp_space *spaces, int n_spaces)
{
    smp_set *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    for (int k = 0; k < n_spaces; k++)
        if (spaces[k].n_params > s->max_params)
            s->max_params = spaces[k].n_params;
    const size_t rows = (size_t)n, row = (size_t)(s->max_params > 0 ? s->max_params : 1);
    s->n = n;
    s->sub = malloc(rows * sizeof *s->sub);
    s->index = malloc(rows * sizeof *s->index);
    s->n_params = malloc(rows * sizeof *s->n_params);
    s->voff = malloc(rows * row * sizeof *s->voff);
    s->poff = malloc(rows * sizeof *s->poff);
    if (!s->sub || !s->index || !s->n_params || !s->voff || !s->poff ||
        fg_buf_init(&s->text, 4096, SMP_MAX_TEXT)) {
        smp_free(s);
        return NULL;
    }
    return s;
}

void smp_free(smp_set *s)
{
    if (!s)
        return;
    free(s->sub);
    free(s->index);
    free(s->n_params);
    free(s->voff);
    free(s->poff);
    fg_buf_free(&s->text);
    free(s);
}

/* Records configuration i: sub-grid sp, grid index, values val[0..n_params), and its
 * "name=value, ..." string. */
static void set_config(smp_set *s, int64_t i, const smp_space *sp, int sub, int64_t index,
                       const char *const *val)
{
    s->sub[i] = sub;
    s->index[i] = index;
    s->n_params[i] = sp->n_params;
    for (int p = 0; p < sp->n_params; p++) {
        s->voff[i * s->max_params + p] = (int64_t)s->text.len;
        fg_buf_add(&s->text, val[p], strlen(val[p]) + 1);
    }
    s->poff[i] = (int64_t)s->text.len;
    for (int p = 0; p < sp->n_params; p++)
        fg_buf_printf(&s->text, "%s%s=%s", p ? ", " : "", sp->params[p].name, val[p]);
    fg_buf_add(&s->text, "", 1);
}

/* ---------------------------------------------------------------------------------- */
/* sampling with replacement                                                           */
/* Scratch of one configuration: its values' pointers and the numbers' text. */
typedef struct {
    const char **val;
    char (*num)[SMP_NUM_MAX];
} draw_buf;

static void sample_free_draws(smp_set *s, const smp_space *spaces, int n_spaces, fg_rng *r,
                              draw_buf *d)
{
    for (int64_t i = 0; i < s->n; i++) {
        int sub = n_spaces > 1 ? (int)below64(r, (uint64_t)n_spaces) : 0;
        const smp_space *sp = &spaces[sub];
        for (int p = 0; p < sp->n_params; p++) {
            const smp_param *q = &sp->params[p];
            if (q->kind == SMP_LIST) {
                d->val[p] = q->values[below64(r, (uint64_t)q->n_values)];
            } else {
                draw_number(r, q, d->num[p]);
                d->val[p] = d->num[p];
            }
        }
        set_config(s, i, sp, sub, -1, d->val);
    }
}

/* ---------------------------------------------------------------------------------- */
/* sampling without replacement                                                        */
/* The displaced entries of a virtual array a[x] = x (open addressing; key -1 = empty). */
typedef struct {
    int64_t *key, *val;
    size_t mask;
} pos_map;

static int map_init(pos_map *m, int64_t n)
{
    size_t cap = 16;
    while (cap < 2 * (size_t)n)
        cap <<= 1;
    m->mask = cap - 1;
    m->key = malloc(cap * sizeof *m->key);
    m->val = malloc(cap * sizeof *m->val);
    if (!m->key || !m->val)
        return -1;
    for (size_t i = 0; i < cap; i++)
        m->key[i] = -1;
    return 0;
}

static size_t map_slot(const pos_map *m, int64_t k)
{
    size_t h = (size_t)fg_hash_mix((uint64_t)k, 0) & m->mask;
    while (m->key[h] != -1 && m->key[h] != k)
        h = (h + 1) & m->mask;
    return h;
}

static int64_t map_get(const pos_map *m, int64_t k)
{
    size_t h = map_slot(m, k);
    return m->key[h] == k ? m->val[h] : k;
}

static void map_put(pos_map *m, int64_t k, int64_t v)
{
    size_t h = map_slot(m, k);
    m->key[h] = k;
    m->val[h] = v;
}

/* Grid index g to its sub-grid and values (the last parameter varying fastest). */
static int decode(int64_t g, const smp_space *spaces, int n_spaces, const char **val)
{
    int sub = 0;
    for (;; sub++) {
        int64_t size = 1;
        for (int p = 0; p < spaces[sub].n_params; p++)
            size *= spaces[sub].params[p].n_values;
        if (g < size || sub == n_spaces - 1)
            break;
        g -= size;
    }
    for (int p = spaces[sub].n_params - 1; p >= 0; p--) {
        const smp_param *q = &spaces[sub].params[p];
        val[p] = q->values[g % q->n_values];
        g /= q->n_values;
    }
    return sub;
}

/* The first s->n entries of a Fisher-Yates shuffle of [0, grid_size). */
static int sample_grid(smp_set *s, const smp_space *spaces, int n_spaces, fg_rng *r,
                       draw_buf *d)
{
    pos_map m = {0};
    int rc = map_init(&m, s->n);
    for (int64_t i = 0; rc == 0 && i < s->n; i++) {
        int64_t j = i + (int64_t)below64(r, (uint64_t)(s->grid_size - i));
        int64_t g = map_get(&m, j);
        map_put(&m, j, map_get(&m, i));
        int sub = decode(g, spaces, n_spaces, d->val);
        set_config(s, i, &spaces[sub], sub, g, d->val);
    }
    free(m.key);
    free(m.val);
    return rc;
}

/* ---------------------------------------------------------------------------------- */
/* public                                                                              */
static int draw_all(smp_set *s, const smp_space *spaces, int n_spaces, uint64_t seed)
{
    const size_t row = (size_t)(s->max_params > 0 ? s->max_params : 1);
    draw_buf d = {malloc(row * sizeof *d.val), malloc(row * sizeof *d.num)};
    fg_rng r;
    fg_rng_seed(&r, fg_hash_mix(seed, SMP_STREAM));
    int rc = -1;
    if (d.val && d.num) {
        rc = 0;
        if (s->grid_size >= 0)
            rc = sample_grid(s, spaces, n_spaces, &r, &d);
        else
            sample_free_draws(s, spaces, n_spaces, &r, &d);
    }
    free(d.val);
    free(d.num);
    return rc || s->text.bad ? -1 : 0;
}

int smp_sample(const smp_space *spaces, int n_spaces, int64_t n_iter, uint64_t seed,
               smp_set **out, fg_err *err)
{
    *out = NULL;
    if (smp_check(spaces, n_spaces, err))
        return -1;
    if (n_iter < 1 || n_iter > SMP_MAX_ITER)
        return fg_err_set(err, "random search: n_iter must be 1 to %d (got %lld)", SMP_MAX_ITER,
                          (long long)n_iter);
    int64_t size = -1, n = n_iter;
    if (smp_all_lists(spaces, n_spaces)) {
        size = list_grid_size(spaces, n_spaces);
        if (size < 0)
            return fg_err_set(err, "random search: a grid of more than 2^62 points");
        if (size < n)
            n = size;
    }
    smp_set *s = set_new(n, spaces, n_spaces);
    if (!s)
        return fg_err_set(err, "random search: out of memory for %lld configurations",
                          (long long)n);
    s->grid_size = size;
    s->capped = n < n_iter;
    if (draw_all(s, spaces, n_spaces, seed)) {
        smp_free(s);
        return fg_err_set(err, "random search: out of memory (or more than %d bytes of text) "
                          "for %lld configurations", SMP_MAX_TEXT, (long long)n);
    }
    *out = s;
    return 0;
}

int64_t smp_count(const smp_set *s)
{
    return s->n;
}

int smp_capped(const smp_set *s)
{
    return s->capped;
}

int64_t smp_grid_size(const smp_set *s)
{
    return s->grid_size;
}

int smp_subgrid(const smp_set *s, int64_t i)
{
    return i >= 0 && i < s->n ? s->sub[i] : -1;
}

int64_t smp_index(const smp_set *s, int64_t i)
{
    return i >= 0 && i < s->n ? s->index[i] : -1;
}

const char *smp_value(const smp_set *s, int64_t i, int p)
{
    if (i < 0 || i >= s->n || p < 0 || p >= s->n_params[i])
        return NULL;
    return s->text.s + s->voff[i * s->max_params + p];
}

const char *smp_params(const smp_set *s, int64_t i)
{
    return i >= 0 && i < s->n ? s->text.s + s->poff[i] : NULL;
}
