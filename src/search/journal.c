/* journal.c - append-only, fsync'ed JSON-lines journal with a CRC-32 on every line.
 *
 * Line format (one object per line, keys in this order, the CRC over every byte of the
 * line before ",\"crc32\""):
 *   {"fmnist_grid_journal":1,"grid":"quick",...,"crc32":"1a2b3c4d"}      header, first line
 *   {"task":7,"config":2,"fold":1,...,"history":[[loss,acc,val_loss,val_acc,lr,s],...],
 *    "crc32":"..."}                                                        one per task
 * NaN is written as null. Floats use %.9g (exact round trip of a float), doubles %.17g. */
#define _POSIX_C_SOURCE 200809L
#include "journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "fg_buf.h"

struct jnl {
    int fd;
    uint64_t search_id; /* written into every record */
    char path[4096];
    fg_buf line; /* the line being written, allocated once */
};

/* ---- writing ------------------------------------------------------------------------- */

/* Lines are built in the journal's fg_buf, whose limit turns an oversized record into an
 * error (b->bad) rather than a line readers would skip. */

static void sb_str(fg_buf *b, const char *s)
{
    fg_buf_add(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            fg_buf_add(b, e, 2);
        } else if (c < 0x20) {
            fg_buf_printf(b, "\\u%04x", c);
        } else {
            fg_buf_add(b, (const char *)&c, 1);
        }
    }
    fg_buf_add(b, "\"", 1);
}

static void sb_float(fg_buf *b, double v, int is_double)
{
    if (isnan(v) || isinf(v))
        fg_buf_add(b, "null", 4);
    else
        fg_buf_printf(b, is_double ? "%.17g" : "%.9g", v);
}

static void sb_key(fg_buf *b, const char *k)
{
    if (b->len > 1)
        fg_buf_add(b, ",", 1);
    sb_str(b, k);
    fg_buf_add(b, ":", 1);
}

/* A key and its value: a string, an integer, a number (sb_float), a boolean. */
static void sb_kstr(fg_buf *b, const char *k, const char *v)
{
    sb_key(b, k);
    sb_str(b, v);
}

static void sb_kint(fg_buf *b, const char *k, long long v)
{
    sb_key(b, k);
    fg_buf_printf(b, "%lld", v);
}

static void sb_kfloat(fg_buf *b, const char *k, double v, int is_double)
{
    sb_key(b, k);
    sb_float(b, v, is_double);
}

static void sb_kbool(fg_buf *b, const char *k, int v)
{
    sb_key(b, k);
    fg_buf_add(b, v ? "true" : "false", v ? 4 : 5);
}

static void sb_hex64(fg_buf *b, const char *k, uint64_t v)
{
    char t[24];
    snprintf(t, sizeof t, "%016llx", (unsigned long long)v);
    sb_key(b, k);
    sb_str(b, t);
}

static void sb_hex32(fg_buf *b, const char *k, uint32_t v)
{
    char t[12];
    snprintf(t, sizeof t, "%08lx", (unsigned long)v);
    sb_key(b, k);
    sb_str(b, t);
}

/* Closes the object with the CRC of everything so far and a newline. */
static void sb_finish(fg_buf *b)
{
    uLong crc = crc32(0L, (const Bytef *)(b->s ? b->s : ""), (uInt)b->len);
    sb_hex32(b, "crc32", (uint32_t)crc);
    fg_buf_add(b, "}\n", 2);
}

static int write_all_sync(jnl *j, const char *p, size_t n, fg_err *err)
{
    while (n > 0) {
        ssize_t w = write(j->fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return fg_err_set(err, "%s: write failed: %s", j->path, strerror(errno));
        }
        p += w;
        n -= (size_t)w;
    }
    if (fsync(j->fd) != 0)
        return fg_err_set(err, "%s: fsync failed: %s", j->path, strerror(errno));
    return 0;
}

static jnl *jnl_alloc(const char *path, int fd)
{
    jnl *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->fd = fd;
    snprintf(j->path, sizeof j->path, "%s", path);
    size_t cap = 64 + (size_t)NN_MAX_EPOCHS * 6 * 26 + 4096 + JNL_MAX_CLASSES * JNL_MAX_CLASSES * 12;
    _Static_assert(64 + (size_t)NN_MAX_EPOCHS * 6 * 26 + 4096 + JNL_MAX_CLASSES * JNL_MAX_CLASSES * 12 +
                           8 * JNL_SESSION_TEXT < JNL_LINE_MAX,
                   "a record the writer accepts must be a line the reader accepts");
    if (fg_buf_init(&j->line, cap, cap)) {
        free(j);
        return NULL;
    }
    return j;
}

/* fsync the directory holding path, so a newly created file survives a crash. */
static void sync_parent(const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    int dfd = open(dir, O_RDONLY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
}

int jnl_create(const char *path, const jnl_header *h, jnl **out, fg_err *err)
{
    *out = NULL;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return fg_err_set(err, "%s: cannot create journal: %s", path, strerror(errno));
    jnl *j = jnl_alloc(path, fd);
    if (!j) {
        close(fd);
        return fg_err_set(err, "%s: out of memory", path);
    }
    fg_buf *b = &j->line;
    fg_buf_reset(b);
    fg_buf_add(b, "{", 1);
    sb_kint(b, "fmnist_grid_journal", JNL_VERSION);
    sb_kstr(b, "grid", h->grid_name);
    sb_hex64(b, "grid_hash", h->grid_hash);
    sb_kint(b, "configs", h->n_configs);
    sb_kint(b, "folds", h->folds);
    sb_key(b, "seed");
    fg_buf_printf(b, "%llu", (unsigned long long)h->seed);
    sb_key(b, "cv_seed");
    fg_buf_printf(b, "%llu", (unsigned long long)h->cv_seed);
    sb_kint(b, "subset", h->subset);
    sb_hex64(b, "folds_checksum", h->folds_checksum);
    sb_hex32(b, "train_images_crc32", h->train_images_crc32);
    sb_hex32(b, "train_labels_crc32", h->train_labels_crc32);
    if (h->threads > 0) {
        sb_kint(b, "threads", h->threads);
    }
    if (h->refit >= 0) {
        sb_kint(b, "refit", h->refit ? 1 : 0);
    }
    if (h->data_dir[0]) {
        sb_kstr(b, "data_dir", h->data_dir);
    }
    if (h->in_h > 0 && (h->in_h != JNL_DEFAULT_H || h->in_w != JNL_DEFAULT_W || h->in_c != JNL_DEFAULT_C)) {
        sb_key(b, "shape");
        fg_buf_printf(b, "\"%dx%dx%d\"", h->in_h, h->in_w, h->in_c);
    }
    if (h->classes > 0 && h->classes != JNL_DEFAULT_CLASSES) {
        sb_kint(b, "classes", h->classes);
    }
    if (h->base_configs > 0) {
        sb_kint(b, "base_configs", h->base_configs);
        sb_kint(b, "base_blocks", h->base_blocks);
        sb_key(b, "base_seconds");
        fg_buf_printf(b, "%.3f", h->base_seconds);
    }
    sb_finish(b);
    if (b->bad || write_all_sync(j, b->s, b->len, err)) {
        if (b->bad)
            fg_err_set(err, "%s: journal header too long", path);
        jnl_close(j);
        unlink(path); /* no half-written journal left for a resume to stumble on */
        return -1;
    }
    sync_parent(path);
    j->search_id = jnl_search_id(h);
    *out = j;
    return 0;
}

uint64_t jnl_search_id(const jnl_header *h)
{
    uint64_t x = fg_hash_str(h->grid_name, 0x6a6e6c5f73656172ULL);
    const uint64_t v[] = {h->grid_hash, (uint64_t)h->n_configs, (uint64_t)(int64_t)h->folds, h->seed,
                          h->cv_seed, (uint64_t)(int64_t)h->subset, h->folds_checksum,
                          h->train_images_crc32, h->train_labels_crc32};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        x = fg_hash_mix(x, v[i]);
    return x;
}

int jnl_append_session(jnl *j, const jnl_session *s, fg_err *err)
{
    fg_buf *b = &j->line;
    fg_buf_reset(b);
    fg_buf_add(b, "{", 1);
    sb_kint(b, "session", s->number);
    /* Readers older than session records take a line for a task's record unless it fails
     * to parse as one: a status that is no task's makes them skip it as damaged. */
    sb_kstr(b, "status", "session");
    sb_hex64(b, "search", j->search_id);
    sb_kbool(b, "ended", s->ended);
    sb_kbool(b, "interrupted", s->interrupted);
    sb_kstr(b, "role", s->role);
    sb_kstr(b, "started", s->started_utc);
    sb_kstr(b, "host", s->host);
    sb_kstr(b, "hosts", s->hosts);
    sb_kint(b, "ranks", s->ranks);
    sb_kint(b, "workers", s->workers);
    sb_kint(b, "threads", s->threads);
    sb_kfloat(b, "wall_time", s->wall_time, 1);
    sb_kstr(b, "version", s->version);
    sb_kstr(b, "git", s->git_rev);
    sb_kstr(b, "compiler", s->compiler);
    sb_kstr(b, "mpi", s->mpi);
    sb_kstr(b, "blas", s->blas);
    sb_kstr(b, "command", s->command);
    sb_kstr(b, "data_dir", s->data_dir);
    sb_hex32(b, "test_images_crc32", s->test_images_crc32);
    sb_hex32(b, "test_labels_crc32", s->test_labels_crc32);
    sb_kint(b, "n_train_total", s->n_train_total);
    sb_kint(b, "n_test", s->n_test);
    sb_finish(b);
    if (b->bad)
        return fg_err_set(err, "%s: session record too long", j->path);
    return write_all_sync(j, b->s, b->len, err);
}

int jnl_append(jnl *j, const jnl_record *r, const char *params, fg_err *err)
{
    const jnl_entry *e = &r->e;
    fg_buf *b = &j->line;
    fg_buf_reset(b);
    fg_buf_add(b, "{", 1);
    sb_kint(b, "task", e->task);
    sb_kint(b, "config", e->config);
    sb_kint(b, "fold", e->fold);
    sb_hex64(b, "hash", e->config_hash);
    sb_hex64(b, "search", j->search_id);
    sb_kstr(b, "status", nn_status_name((nn_status)e->status));
    sb_kfloat(b, "val_acc", e->val_acc, 0);
    sb_kfloat(b, "val_loss", e->val_loss, 0);
    sb_kfloat(b, "test_acc", e->test_acc, 0);
    sb_kfloat(b, "test_loss", e->test_loss, 0);
    sb_kfloat(b, "fit_time", e->fit_time, 1);
    sb_kfloat(b, "score_time", e->score_time, 1);
    sb_kint(b, "epochs", e->epochs_run);
    sb_kint(b, "best_epoch", e->best_epoch);
    sb_kint(b, "n_train", e->n_train);
    sb_kint(b, "n_val", e->n_val);
    sb_kint(b, "n_params", e->n_params);
    sb_kint(b, "max_epochs", e->max_epochs);
    if (e->n_resources > 0) {
        sb_kint(b, "iter", e->iter);
        sb_kint(b, "n_resources", e->n_resources);
    }
    sb_kint(b, "rank", e->rank);
    sb_kstr(b, "host", e->host);
    sb_kstr(b, "params", params ? params : "");
    sb_kstr(b, "msg", e->msg);
    sb_key(b, "history");
    fg_buf_add(b, "[", 1);
    int ne = e->epochs_run < 0 ? 0 : e->epochs_run > NN_MAX_EPOCHS ? NN_MAX_EPOCHS : e->epochs_run;
    for (int i = 0; i < ne; i++) {
        const nn_epoch *h = &r->hist[i];
        fg_buf_add(b, i ? ",[" : "[", i ? 2 : 1);
        sb_float(b, h->loss, 0);
        fg_buf_add(b, ",", 1);
        sb_float(b, h->acc, 0);
        fg_buf_add(b, ",", 1);
        sb_float(b, h->val_loss, 0);
        fg_buf_add(b, ",", 1);
        sb_float(b, h->val_acc, 0);
        fg_buf_add(b, ",", 1);
        sb_float(b, h->lr, 0);
        fg_buf_add(b, ",", 1);
        fg_buf_printf(b, "%.6f", h->seconds);
        fg_buf_add(b, "]", 1);
    }
    fg_buf_add(b, "]", 1);
    int any = 0, nc = e->classes > 0 && e->classes <= JNL_MAX_CLASSES ? e->classes : 0;
    for (int i = 0; i < nc * nc; i++)
        any |= r->confusion[i] != 0;
    if (any) { /* classes x classes counts: the reader takes the class count from their number */
        sb_key(b, "confusion");
        for (int i = 0; i < nc * nc; i++)
            fg_buf_printf(b, "%s%d", i ? "," : "[", (int)r->confusion[i]);
        fg_buf_add(b, "]", 1);
    }
    sb_finish(b);
    if (b->bad)
        return fg_err_set(err, "%s: record too long", j->path);
    return write_all_sync(j, b->s, b->len, err);
}

void jnl_close(jnl *j)
{
    if (!j)
        return;
    if (j->fd >= 0)
        close(j->fd);
    fg_buf_free(&j->line);
    free(j);
}

/* ---- reading: a small JSON reader for the lines written above ----------------------- */

typedef struct {
    const char *p, *end;
} cur;

static void skip_ws(cur *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\r'))
        c->p++;
}

/* Parses a string into out (truncating to cap); returns 0 or -1. */
static int parse_str(cur *c, char *out, size_t cap)
{
    size_t n = 0;
    if (c->p >= c->end || *c->p != '"')
        return -1;
    c->p++;
    while (c->p < c->end && *c->p != '"') {
        char ch = *c->p++;
        if (ch == '\\') {
            if (c->p >= c->end)
                return -1;
            char e = *c->p++;
            if (e == 'u') {
                if (c->end - c->p < 4)
                    return -1;
                char hex[5] = {c->p[0], c->p[1], c->p[2], c->p[3], 0};
                ch = (char)strtol(hex, NULL, 16);
                c->p += 4;
            } else if (e == 'n') {
                ch = '\n';
            } else if (e == 't') {
                ch = '\t';
            } else {
                ch = e;
            }
        }
        if (out && n + 1 < cap)
            out[n++] = ch;
    }
    if (c->p >= c->end)
        return -1;
    c->p++;
    if (out && cap)
        out[n] = '\0';
    return 0;
}

static int parse_num(cur *c, double *v)
{
    skip_ws(c);
    if (c->end - c->p >= 4 && memcmp(c->p, "null", 4) == 0) {
        c->p += 4;
        *v = NAN;
        return 0;
    }
    char tmp[64];
    size_t n = 0;
    while (c->p < c->end && n + 1 < sizeof tmp && strchr("+-0123456789.eE", *c->p))
        tmp[n++] = *c->p++;
    tmp[n] = '\0';
    if (!n)
        return -1;
    char *e;
    *v = strtod(tmp, &e);
    return *e ? -1 : 0;
}

/* An integer in [lo, hi] written as a JSON number; returns 0 or -1. */
static int parse_int(cur *c, double lo, double hi, int32_t *out)
{
    double v;
    if (parse_num(c, &v) || !isfinite(v) || v != floor(v) || v < lo || v > hi)
        return -1;
    *out = (int32_t)v;
    return 0;
}

static int parse_bool(cur *c, int *out)
{
    skip_ws(c);
    if (c->end - c->p >= 4 && !memcmp(c->p, "true", 4)) {
        c->p += 4;
        *out = 1;
        return 0;
    }
    if (c->end - c->p >= 5 && !memcmp(c->p, "false", 5)) {
        c->p += 5;
        *out = 0;
        return 0;
    }
    return -1;
}

/* Skips any JSON value (used for keys we do not need). */
static int skip_value(cur *c)
{
    skip_ws(c);
    if (c->p >= c->end)
        return -1;
    if (*c->p == '"')
        return parse_str(c, NULL, 0);
    if (*c->p == '[' || *c->p == '{') {
        int depth = 0;
        while (c->p < c->end) {
            char ch = *c->p;
            if (ch == '"') {
                if (parse_str(c, NULL, 0))
                    return -1;
                continue;
            }
            c->p++;
            if (ch == '[' || ch == '{')
                depth++;
            else if (ch == ']' || ch == '}') {
                if (--depth == 0)
                    return 0;
            }
        }
        return -1;
    }
    int b;
    if (parse_bool(c, &b) == 0)
        return 0;
    double v;
    return parse_num(c, &v);
}

/* Checks a line's CRC: returns 1 when the line is intact. */
static int line_intact(const char *line, size_t len)
{
    static const char tag[] = ",\"crc32\":\"";
    if (len < 2 || line[0] != '{')
        return 0;
    const char *k = NULL;
    for (const char *s = line; s + sizeof tag - 1 <= line + len; s++)
        if (memcmp(s, tag, sizeof tag - 1) == 0)
            k = s; /* the last one */
    if (!k || (size_t)(line + len - k) != sizeof tag - 1 + 8 + 2)
        return 0;
    char hex[9];
    memcpy(hex, k + sizeof tag - 1, 8);
    hex[8] = '\0';
    char *e;
    unsigned long want = strtoul(hex, &e, 16);
    if (*e)
        return 0;
    uLong crc = crc32(0L, (const Bytef *)line, (uInt)(k - line));
    return (unsigned long)crc == want && line[len - 2] == '"' && line[len - 1] == '}';
}

typedef int (*field_fn)(void *obj, const char *key, cur *c);

/* Walks the top-level keys of one object, calling fn for each (fn consumes the value). */
static int walk_object(const char *line, size_t len, field_fn fn, void *obj)
{
    cur c = {line, line + len};
    if (c.p >= c.end || *c.p != '{')
        return -1;
    c.p++;
    for (;;) {
        skip_ws(&c);
        if (c.p < c.end && *c.p == '}')
            return 0;
        char key[64];
        if (parse_str(&c, key, sizeof key))
            return -1;
        skip_ws(&c);
        if (c.p >= c.end || *c.p != ':')
            return -1;
        c.p++;
        skip_ws(&c);
        if (fn(obj, key, &c))
            return -1;
        skip_ws(&c);
        if (c.p < c.end && *c.p == ',')
            c.p++;
        else if (c.p < c.end && *c.p != '}')
            return -1;
    }
}

/* Exactly `digits` hexadecimal digits, as the writer puts them. */
static int parse_hex(cur *c, int digits, uint64_t *v)
{
    char s[32];
    if (parse_str(c, s, sizeof s) || (int)strlen(s) != digits)
        return -1;
    uint64_t x = 0;
    for (int i = 0; i < digits; i++) {
        int d = s[i] >= '0' && s[i] <= '9'   ? s[i] - '0'
                : s[i] >= 'a' && s[i] <= 'f' ? s[i] - 'a' + 10
                : s[i] >= 'A' && s[i] <= 'F' ? s[i] - 'A' + 10
                                             : -1;
        if (d < 0)
            return -1;
        x = x << 4 | (uint64_t)d;
    }
    *v = x;
    return 0;
}

/* Digits parsed exactly (seeds exceed a double's precision). */
static int parse_digits(cur *c, int negative_ok, char *num, size_t cap)
{
    skip_ws(c);
    size_t n = 0;
    if (negative_ok && c->p < c->end && *c->p == '-')
        num[n++] = *c->p++;
    while (c->p < c->end && n + 1 < cap && *c->p >= '0' && *c->p <= '9')
        num[n++] = *c->p++;
    num[n] = '\0';
    return n == 0 || (n == 1 && num[0] == '-') || (c->p < c->end && *c->p >= '0' && *c->p <= '9') ? -1 : 0;
}

enum { HK_VERSION, HK_GRID, HK_GRID_HASH, HK_CONFIGS, HK_FOLDS, HK_SEED, HK_CV_SEED, HK_SUBSET,
       HK_FOLDS_CHECKSUM, HK_IMAGES, HK_LABELS, HK__COUNT };

typedef struct {
    jnl_header *h;
    unsigned seen;
} header_ctx;

/* "shape":"HxWxC" (sides 1..4096, channels 1..4) or "classes":N (1..256). */
static int header_input(cur *c, const char *k, jnl_header *h)
{
    char s[48], tail;
    if (!strcmp(k, "classes")) {
        if (parse_digits(c, 0, s, sizeof s) || strlen(s) > 3)
            return -1;
        h->classes = atoi(s);
        return h->classes >= 1 && h->classes <= 256 ? 0 : -1;
    }
    int hh, ww, cc;
    if (parse_str(c, s, sizeof s) || sscanf(s, "%dx%dx%d%c", &hh, &ww, &cc, &tail) != 3 || hh < 1 || hh > 4096 ||
        ww < 1 || ww > 4096 || cc < 1 || cc > 4)
        return -1;
    h->in_h = hh, h->in_w = ww, h->in_c = cc;
    return 0;
}

/* "base_configs", "base_blocks" or "base_seconds": optional, the frozen base computed
 * once (base.c). */
static int header_base(cur *c, const char *k, jnl_header *h)
{
    double d;
    if (parse_num(c, &d) || !(d >= 0 && d < 1e12))
        return -1;
    if (!strcmp(k, "base_seconds"))
        h->base_seconds = d;
    else if (!strcmp(k, "base_configs"))
        h->base_configs = (int)d;
    else
        h->base_blocks = (int)d;
    return 0;
}

/* The header's hexadecimal keys, in header_hex's order. */
static const char *const hex_keys[] = {"grid_hash", "folds_checksum", "train_images_crc32",
                                       "train_labels_crc32"};

/* The hexadecimal field hex_keys[i]: the grid hash, the folds' checksum or a data CRC. */
static int header_hex(header_ctx *x, int i, cur *c)
{
    static const int hex_bits[] = {HK_GRID_HASH, HK_FOLDS_CHECKSUM, HK_IMAGES, HK_LABELS};
    jnl_header *h = x->h;
    uint64_t v;
    x->seen |= 1u << hex_bits[i];
    if (parse_hex(c, i < 2 ? 16 : 8, &v))
        return -1;
    if (i == 0)
        h->grid_hash = v;
    else if (i == 1)
        h->folds_checksum = v;
    else if (i == 2)
        h->train_images_crc32 = (uint32_t)v;
    else
        h->train_labels_crc32 = (uint32_t)v;
    return 0;
}

/* "seed" or "cv_seed": an unsigned 64-bit number (errno cleared by the caller). */
static int header_seed(header_ctx *x, const char *k, cur *c)
{
    char num[32];
    x->seen |= 1u << (!strcmp(k, "seed") ? HK_SEED : HK_CV_SEED);
    if (parse_digits(c, 0, num, sizeof num))
        return -1;
    uint64_t v = strtoull(num, NULL, 10);
    if (errno)
        return -1;
    if (!strcmp(k, "seed"))
        x->h->seed = v;
    else
        x->h->cv_seed = v;
    return 0;
}

/* "threads" or "refit": optional, as data_dir; -1..1000000 (errno cleared by the caller). */
static int header_option(cur *c, const char *k, jnl_header *h)
{
    char num[32];
    if (parse_digits(c, 1, num, sizeof num))
        return -1;
    long long n = strtoll(num, NULL, 10);
    if (errno || n < -1 || n > 1000000)
        return -1;
    if (!strcmp(k, "threads"))
        h->threads = (int)n;
    else
        h->refit = (int)n;
    return 0;
}

/* "configs", "folds" or "subset": counts within their ranges (errno cleared by the caller). */
static int header_count(header_ctx *x, const char *k, cur *c)
{
    jnl_header *h = x->h;
    char num[32];
    if (parse_digits(c, 1, num, sizeof num))
        return -1;
    long long n = strtoll(num, NULL, 10);
    if (errno)
        return -1;
    if (!strcmp(k, "configs")) {
        x->seen |= 1u << HK_CONFIGS;
        if (n < 1 || n > INT32_MAX) /* task ids are int32 */
            return -1;
        h->n_configs = n;
    } else if (!strcmp(k, "folds")) {
        x->seen |= 1u << HK_FOLDS;
        if (n < 1 || n > 1000000) /* 1: a holdout split */
            return -1;
        h->folds = (int)n;
    } else {
        x->seen |= 1u << HK_SUBSET;
        if (n < 0 || n > JNL_MAX_IMAGES)
            return -1;
        h->subset = (int)n;
    }
    return 0;
}

/* One field of the header line: parse it into x->h and mark it seen; unknown keys are
 * skipped. */
static int header_field(void *obj, const char *k, cur *c)
{
    header_ctx *x = obj;
    jnl_header *h = x->h;
    char num[32];
    errno = 0;
    if (!strcmp(k, "fmnist_grid_journal")) {
        x->seen |= 1u << HK_VERSION;
        if (parse_digits(c, 0, num, sizeof num) || strlen(num) > 6)
            return -1;
        h->version = atoi(num);
        return h->version >= 1 ? 0 : -1;
    }
    if (!strcmp(k, "grid")) {
        x->seen |= 1u << HK_GRID;
        return parse_str(c, h->grid_name, sizeof h->grid_name);
    }
    if (!strcmp(k, "data_dir")) /* optional: journals before it lack it */
        return parse_str(c, h->data_dir, sizeof h->data_dir);
    if (!strcmp(k, "shape") || !strcmp(k, "classes")) /* optional: only other data sets' */
        return header_input(c, k, h);
    if (!strcmp(k, "base_configs") || !strcmp(k, "base_blocks") || !strcmp(k, "base_seconds"))
        return header_base(c, k, h);
    for (int i = 0; i < 4; i++)
        if (!strcmp(k, hex_keys[i]))
            return header_hex(x, i, c);
    if (!strcmp(k, "seed") || !strcmp(k, "cv_seed"))
        return header_seed(x, k, c);
    if (!strcmp(k, "threads") || !strcmp(k, "refit"))
        return header_option(c, k, h);
    if (!strcmp(k, "configs") || !strcmp(k, "folds") || !strcmp(k, "subset"))
        return header_count(x, k, c);
    return skip_value(c);
}

/* Record keys every version writes; a record without one of them is not the program's. */
static const char *const rec_keys[] = {"task",      "config",  "fold",     "hash",       "status",
                                       "val_acc",   "val_loss", "test_acc", "test_loss", "fit_time",
                                       "score_time", "epochs", "best_epoch", "n_train",   "n_val",
                                       "rank",      "history"};
enum { N_REC_KEYS = sizeof rec_keys / sizeof rec_keys[0] };

typedef struct {
    jnl_entry *e;
    nn_epoch *hist; /* room for NN_MAX_EPOCHS */
    int32_t *confusion; /* room for JNL_MAX_CLASSES^2 */
    int n_hist;     /* entries in the line (may exceed NN_MAX_EPOCHS: then refused) */
    uint64_t search;
    int has_search;
    unsigned seen; /* bit i: rec_keys[i] */
    char bad_key[64];
} entry_ctx;

static int parse_history(cur *c, entry_ctx *x)
{
    skip_ws(c);
    if (c->p >= c->end || *c->p != '[')
        return -1;
    c->p++;
    x->n_hist = 0;
    for (;;) {
        skip_ws(c);
        if (c->p < c->end && *c->p == ']') {
            c->p++;
            return 0;
        }
        if (c->p >= c->end || *c->p != '[')
            return -1;
        c->p++;
        double v[6];
        for (int i = 0; i < 6; i++) {
            if (parse_num(c, &v[i]))
                return -1;
            skip_ws(c);
            if (c->p >= c->end || *c->p != (i < 5 ? ',' : ']'))
                return -1;
            c->p++;
        }
        if (x->n_hist < NN_MAX_EPOCHS) {
            nn_epoch *h = &x->hist[x->n_hist];
            h->loss = (float)v[0];
            h->acc = (float)v[1];
            h->val_loss = (float)v[2];
            h->val_acc = (float)v[3];
            h->lr = (float)v[4];
            h->seconds = v[5];
        }
        x->n_hist++;
        skip_ws(c);
        if (c->p < c->end && *c->p == ',')
            c->p++;
        else if (c->p >= c->end || *c->p != ']')
            return -1;
    }
}

/* "confusion":[n0,n1,...]: k^2 counts for k classes, 1 <= k <= JNL_MAX_CLASSES; any other
 * length is refused. */
static int parse_confusion(cur *c, entry_ctx *x)
{
    skip_ws(c);
    if (c->p >= c->end || *c->p != '[')
        return -1;
    c->p++;
    int i = 0;
    for (;; i++) {
        if (i == JNL_MAX_CLASSES * JNL_MAX_CLASSES || parse_int(c, 0, JNL_MAX_IMAGES, &x->confusion[i]))
            return -1;
        skip_ws(c);
        if (c->p >= c->end || (*c->p != ',' && *c->p != ']'))
            return -1;
        if (*c->p++ == ']')
            break;
    }
    int k = 1;
    while (k * k < i + 1)
        k++;
    if (k * k != i + 1)
        return -1;
    x->e->classes = k;
    return 0;
}

static int entry_field_(entry_ctx *x, const char *k, cur *c)
{
    jnl_entry *e = x->e;
    double v;
    uint64_t u;
    char s[64];
    for (int i = 0; i < N_REC_KEYS; i++)
        if (!strcmp(k, rec_keys[i]))
            x->seen |= 1u << i;
    if (!strcmp(k, "history"))
        return parse_history(c, x);
    if (!strcmp(k, "confusion"))
        return parse_confusion(c, x);
    if (!strcmp(k, "host"))
        return parse_str(c, e->host, sizeof e->host);
    if (!strcmp(k, "msg"))
        return parse_str(c, e->msg, sizeof e->msg);
    if (!strcmp(k, "hash")) {
        if (parse_hex(c, 16, &u))
            return -1;
        e->config_hash = u;
        return 0;
    }
    if (!strcmp(k, "search")) {
        if (parse_hex(c, 16, &x->search))
            return -1;
        x->has_search = 1;
        return 0;
    }
    if (!strcmp(k, "status")) {
        if (parse_str(c, s, sizeof s))
            return -1;
        e->status = -1;
        for (int i = 0; i < NN_STATUS__COUNT; i++)
            if (!strcmp(s, nn_status_name((nn_status)i)))
                e->status = i;
        return e->status < 0 ? -1 : 0;
    }
    if (!strcmp(k, "params"))
        return skip_value(c);
    static const char *const ints[] = {"task", "config", "fold", "epochs", "best_epoch",
                                       "n_train", "n_val", "rank"};
    int32_t *const iptr[] = {&e->task, &e->config, &e->fold, &e->epochs_run, &e->best_epoch,
                             &e->n_train, &e->n_val, &e->rank};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        if (!strcmp(k, ints[i]))
            return parse_int(c, INT32_MIN, INT32_MAX, iptr[i]);
    static const char *const fl[] = {"val_acc", "val_loss", "test_acc", "test_loss"};
    float *const fptr[] = {&e->val_acc, &e->val_loss, &e->test_acc, &e->test_loss};
    for (size_t i = 0; i < 4; i++)
        if (!strcmp(k, fl[i])) {
            if (parse_num(c, &v))
                return -1;
            /* A double beyond a float's range would become infinite: keep it visible. */
            *fptr[i] = isfinite(v) && fabs(v) > 3.4e38 ? (float)INFINITY : (float)v;
            return 0;
        }
    if (!strcmp(k, "n_params")) {
        if (parse_num(c, &v) || v != floor(v) || !(v >= -1 && v <= JNL_MAX_PARAMS))
            return -1;
        e->n_params = (int64_t)v;
        return 0;
    }
    if (!strcmp(k, "max_epochs"))
        return parse_int(c, 0, NN_MAX_EPOCHS, &e->max_epochs);
    if (!strcmp(k, "iter"))
        return parse_int(c, 0, JNL_MAX_ITER - 1, &e->iter);
    if (!strcmp(k, "n_resources")) {
        if (parse_num(c, &v) || v != floor(v) || !(v >= 1 && v <= JNL_MAX_RESOURCES))
            return -1;
        e->n_resources = (int64_t)v;
        return 0;
    }
    if (!strcmp(k, "fit_time"))
        return parse_num(c, &e->fit_time);
    if (!strcmp(k, "score_time"))
        return parse_num(c, &e->score_time);
    return skip_value(c);
}

static int entry_field(void *obj, const char *k, cur *c)
{
    entry_ctx *x = obj;
    int rc = entry_field_(x, k, c);
    if (rc && !x->bad_key[0])
        snprintf(x->bad_key, sizeof x->bad_key, "%s", k);
    return rc;
}

static int bad(char *why, size_t n, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static int bad(char *why, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, n, fmt, ap);
    va_end(ap);
    return -1;
}

/* NaN (null), or within [lo, hi]. */
static int in_range_or_nan(double v, double lo, double hi) { return isnan(v) || (v >= lo && v <= hi); }

/* Everything the header says about a record: its fields, identity, task and counts. */
static int check_identity(const jnl_header *h, const entry_ctx *x, char *why, size_t n)
{
    const jnl_entry *e = x->e;
    for (int i = 0; i < N_REC_KEYS; i++)
        if (!(x->seen & (1u << i)))
            return bad(why, n, "no \"%s\" field", rec_keys[i]);
    if (h->version >= 2 && !x->has_search)
        return bad(why, n, "a record without the search's identity in a version %d journal", h->version);
    if (h->version >= 2 && x->search != h->search_id)
        return bad(why, n, "a record of another search (identity %016llx, this journal's is %016llx)",
                   (unsigned long long)x->search, (unsigned long long)h->search_id);
    if (e->config < 0 || e->config >= h->n_configs)
        return bad(why, n, "configuration %d outside 0..%lld", e->config, (long long)h->n_configs - 1);
    int refit = e->fold == JNL_REFIT;
    if (!refit && (e->fold < 0 || e->fold >= h->folds))
        return bad(why, n, "fold %d outside 0..%d (or %d for the refit)", e->fold, h->folds - 1, JNL_REFIT);
    int64_t task = refit ? -1 : (int64_t)e->config * h->folds + e->fold;
    if (e->task != task)
        return bad(why, n, "task %d is not configuration %d fold %d's (%lld)", e->task, e->config, e->fold,
                   (long long)task);
    if (e->rank < 0 || e->rank >= JNL_MAX_RANK)
        return bad(why, n, "rank %d outside 0..%d", e->rank, JNL_MAX_RANK - 1);
    int64_t cap = h->subset > 0 ? h->subset : JNL_MAX_IMAGES;
    if (e->n_train < 0 || e->n_val < 0 || (int64_t)e->n_train + e->n_val > cap)
        return bad(why, n, "%d training and %d validation images, more than the %lld %s", e->n_train, e->n_val,
                   (long long)cap, h->subset > 0 ? "of the search's subset" : "a data set may hold");
    if (refit && e->n_val != 0)
        return bad(why, n, "a refit with %d validation images", e->n_val);
    if (e->epochs_run < 0 || e->epochs_run > NN_MAX_EPOCHS)
        return bad(why, n, "%d epochs, outside 0..%d", e->epochs_run, NN_MAX_EPOCHS);
    if (x->n_hist != e->epochs_run)
        return bad(why, n, "%d epochs but a history of %d", e->epochs_run, x->n_hist);
    if (e->best_epoch != -1 && (e->best_epoch < 0 || e->best_epoch >= e->epochs_run))
        return bad(why, n, "best epoch %d outside -1..%d", e->best_epoch, e->epochs_run - 1);
    return 0;
}

/* The record's numbers: times, scores, losses, confusion counts and its history. */
static int check_values(const entry_ctx *x, char *why, size_t n)
{
    const jnl_entry *e = x->e;
    int refit = e->fold == JNL_REFIT;
    if (!(e->fit_time >= 0 && e->fit_time <= JNL_MAX_SECONDS))
        return bad(why, n, "fit time %g s outside 0..%g", e->fit_time, JNL_MAX_SECONDS);
    if (!(e->score_time >= 0 && e->score_time <= JNL_MAX_SECONDS))
        return bad(why, n, "score time %g s outside 0..%g", e->score_time, JNL_MAX_SECONDS);
    int ok = e->status == NN_STATUS_OK;
    if (!in_range_or_nan(e->val_acc, 0, 1) || (ok && !refit && isnan(e->val_acc)))
        return bad(why, n, "validation accuracy %g outside [0, 1]", (double)e->val_acc);
    if (!in_range_or_nan(e->val_loss, 0, INFINITY) || isinf(e->val_loss) || (ok && !refit && isnan(e->val_loss)))
        return bad(why, n, "validation loss %g is not finite and >= 0", (double)e->val_loss);
    if (!in_range_or_nan(e->test_acc, 0, 1) || (ok && refit && isnan(e->test_acc)))
        return bad(why, n, "test accuracy %g outside [0, 1]", (double)e->test_acc);
    if (!in_range_or_nan(e->test_loss, 0, INFINITY) || isinf(e->test_loss) || (ok && refit && isnan(e->test_loss)))
        return bad(why, n, "test loss %g is not finite and >= 0", (double)e->test_loss);
    int64_t conf = 0;
    for (int i = 0; i < e->classes * e->classes; i++)
        conf += x->confusion[i];
    if (conf > JNL_MAX_IMAGES)
        return bad(why, n, "confusion counts sum to %lld, more than %d", (long long)conf, JNL_MAX_IMAGES);
    for (int i = 0; i < x->n_hist && i < NN_MAX_EPOCHS; i++) {
        const nn_epoch *p = &x->hist[i];
        if (!in_range_or_nan(p->loss, 0, INFINITY) || isinf(p->loss) || !in_range_or_nan(p->val_loss, 0, INFINITY) ||
            isinf(p->val_loss) || !in_range_or_nan(p->acc, 0, 1) || !in_range_or_nan(p->val_acc, 0, 1) ||
            !in_range_or_nan(p->lr, 0, INFINITY) || isinf(p->lr) || !(p->seconds >= 0 && p->seconds <= JNL_MAX_SECONDS))
            return bad(why, n, "history epoch %d out of range (loss %g, accuracy %g, validation %g/%g, lr %g, %g s)",
                       i + 1, (double)p->loss, (double)p->acc, (double)p->val_loss, (double)p->val_acc,
                       (double)p->lr, p->seconds);
    }
    return 0;
}

/* Everything the header says about a record, and the numbers' ranges. */
static int check_record(const jnl_header *h, const entry_ctx *x, char *why, size_t n)
{
    return check_identity(h, x, why, n) || check_values(x, why, n) ? -1 : 0;
}

/* ---- session records -------------------------------------------------------------------- */

typedef struct {
    jnl_session *s;
    uint64_t search;
    int has_search, has_number;
} session_ctx;

static int session_field(void *obj, const char *k, cur *c)
{
    session_ctx *x = obj;
    jnl_session *s = x->s;
    struct {
        const char *key;
        char *dst;
        size_t cap;
    } strs[] = {{"role", s->role, sizeof s->role},
                {"started", s->started_utc, sizeof s->started_utc},
                {"host", s->host, sizeof s->host},
                {"hosts", s->hosts, sizeof s->hosts},
                {"version", s->version, sizeof s->version},
                {"git", s->git_rev, sizeof s->git_rev},
                {"compiler", s->compiler, sizeof s->compiler},
                {"mpi", s->mpi, sizeof s->mpi},
                {"blas", s->blas, sizeof s->blas},
                {"command", s->command, sizeof s->command},
                {"data_dir", s->data_dir, sizeof s->data_dir}};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        if (!strcmp(k, strs[i].key))
            return parse_str(c, strs[i].dst, strs[i].cap);
    if (!strcmp(k, "session")) {
        x->has_number = 1;
        return parse_int(c, 1, INT32_MAX, &s->number);
    }
    if (!strcmp(k, "search")) {
        x->has_search = 1;
        return parse_hex(c, 16, &x->search);
    }
    if (!strcmp(k, "ended"))
        return parse_bool(c, &s->ended);
    if (!strcmp(k, "interrupted"))
        return parse_bool(c, &s->interrupted);
    int32_t *const ip[] = {&s->ranks, &s->workers, &s->threads, &s->n_train_total, &s->n_test};
    static const char *const ik[] = {"ranks", "workers", "threads", "n_train_total", "n_test"};
    for (size_t i = 0; i < 5; i++)
        if (!strcmp(k, ik[i]))
            return parse_int(c, -1, INT32_MAX, ip[i]);
    if (!strcmp(k, "wall_time")) {
        if (parse_num(c, &s->wall_time))
            return -1;
        return in_range_or_nan(s->wall_time, 0, JNL_MAX_SECONDS) ? 0 : -1;
    }
    uint64_t v;
    if (!strcmp(k, "test_images_crc32") || !strcmp(k, "test_labels_crc32")) {
        if (parse_hex(c, 8, &v))
            return -1;
        *(!strcmp(k, "test_images_crc32") ? &s->test_images_crc32 : &s->test_labels_crc32) = (uint32_t)v;
        return 0;
    }
    return skip_value(c); /* "status" and keys of later versions */
}

/* ---- the line reader ---------------------------------------------------------------------- */

/* Reads a file descriptor line by line, never holding more than JNL_LINE_MAX bytes of one
 * line: a longer line is skipped to its end and reported as too long. */
typedef struct {
    int fd;
    char *buf;
    size_t cap, start, end;
    int eof;
    long line; /* 1-based number of the line last returned */
} lreader;

enum { LR_LINE = 1, LR_EOF = 0, LR_ERROR = -1 };

/* Returns LR_LINE with *p, *len (without the newline), *complete (a newline ended it) and
 * *too_long; LR_EOF; or LR_ERROR (errno). */
static int lr_next(lreader *r, const char **p, size_t *len, int *complete, int *too_long)
{
    int skipping = 0;
    for (;;) {
        char *nl = r->end > r->start ? memchr(r->buf + r->start, '\n', r->end - r->start) : NULL;
        if (nl) {
            size_t ll = (size_t)(nl - (r->buf + r->start));
            *p = r->buf + r->start;
            *len = skipping ? 0 : ll;
            *complete = 1;
            *too_long = skipping;
            r->start += ll + 1;
            r->line++;
            return LR_LINE;
        }
        if (r->end - r->start >= JNL_LINE_MAX) { /* no newline within the limit: drop it */
            skipping = 1;
            r->start = r->end = 0;
        }
        if (r->eof) {
            if (r->end == r->start && !skipping)
                return LR_EOF;
            *p = r->buf + r->start;
            *len = skipping ? 0 : r->end - r->start;
            *complete = 0;
            *too_long = skipping;
            r->start = r->end;
            r->line++;
            return LR_LINE;
        }
        if (r->start > 0) {
            memmove(r->buf, r->buf + r->start, r->end - r->start);
            r->end -= r->start;
            r->start = 0;
        }
        ssize_t k = read(r->fd, r->buf + r->end, r->cap - r->end);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return LR_ERROR;
        if (k == 0)
            r->eof = 1;
        r->end += (size_t)k;
    }
}

/* ---- reading a journal ------------------------------------------------------------------- */

typedef int (*scan_record_fn)(void *ctx, jnl_record *r);

typedef struct {
    const char *path;
    const jnl_expect *x;
    jnl_header h;
    int have_header;
    jnl_session *s; /* sessions (may be NULL: not kept) */
    int n_s, cap_s, keep_sessions;
    int n_torn, n_rejected, n_issues;
    jnl_issue issues[JNL_MAX_ISSUES];
    int cur_session; /* index of the last session record, -1 */
} scan_state;

static void note(scan_state *st, long line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static void note(scan_state *st, long line, const char *fmt, ...)
{
    if (st->n_issues >= JNL_MAX_ISSUES)
        return;
    jnl_issue *i = &st->issues[st->n_issues++];
    i->line = line;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(i->why, sizeof i->why, fmt, ap);
    va_end(ap);
}

static int starts_with_key(const char *p, size_t len, const char *key)
{
    size_t k = strlen(key);
    return len > k + 3 && p[0] == '{' && p[1] == '"' && !memcmp(p + 2, key, k) && p[2 + k] == '"';
}

/* A header line: the journal's header if none was read yet, else rejected. Returns 1 when
 * the header is of a newer format (the reader stops), else 0. */
static int scan_header(scan_state *st, const char *p, size_t ll, long line)
{
    if (st->have_header) {
        st->n_rejected++;
        note(st, line, "a second header line (journals joined?)");
        return 0;
    }
    header_ctx hx = {&st->h, 0};
    memset(&st->h, 0, sizeof st->h);
    st->h.refit = -1; /* unknown unless the header says */
    if (walk_object(p, ll, header_field, &hx) != 0 || hx.seen != (1u << HK__COUNT) - 1) {
        memset(&st->h, 0, sizeof st->h);
        st->n_rejected++;
        note(st, line, "a header line with missing or out-of-range fields");
        return 0;
    }
    if (st->h.version > JNL_VERSION)
        return 1;
    st->have_header = 1;
    st->h.search_id = jnl_search_id(&st->h);
    return 0;
}

/* A session record: kept (the end record of a session replaces its start record) and made
 * the session of the records that follow. Returns -1 when out of memory. */
static int scan_session(scan_state *st, const char *p, size_t ll, long line)
{
    jnl_session ss;
    memset(&ss, 0, sizeof ss);
    ss.wall_time = NAN;
    ss.workers = ss.ranks = ss.threads = ss.n_train_total = ss.n_test = -1;
    session_ctx sx = {&ss, 0, 0, 0};
    if (walk_object(p, ll, session_field, &sx) != 0 || !sx.has_number) {
        st->n_rejected++;
        note(st, line, "a session record that does not parse");
        return 0;
    }
    if (!sx.has_search || sx.search != st->h.search_id) {
        st->n_rejected++;
        note(st, line, "a session record of another search");
        return 0;
    }
    const char *slash = strrchr(st->path, '/');
    snprintf(ss.file, sizeof ss.file, "%s", slash ? slash + 1 : st->path);
    int at = -1;
    for (int i = 0; i < st->n_s && st->keep_sessions; i++)
        if (st->s[i].number == ss.number)
            at = i;
    if (st->keep_sessions && at < 0) {
        if (st->n_s == st->cap_s) {
            int nc = st->cap_s ? 2 * st->cap_s : 8;
            jnl_session *ns = realloc(st->s, (size_t)nc * sizeof *ns);
            if (!ns)
                return -1;
            st->s = ns;
            st->cap_s = nc;
        }
        at = st->n_s++;
    }
    if (st->keep_sessions)
        st->s[at] = ss;
    st->cur_session = at;
    return 0;
}

/* A task's record into rec, checked (header, ranges, the caller's check). Returns 1 when
 * accepted, 0 when rejected (noted). */
static int scan_record(scan_state *st, const char *p, size_t ll, long line, jnl_record *rec)
{
    char why[200] = "";
    memset(&rec->e, 0, sizeof rec->e);
    rec->e.n_params = -1; /* records older than the field */
    rec->e.val_acc = rec->e.val_loss = rec->e.test_acc = rec->e.test_loss = NAN;
    entry_ctx x;
    memset(&x, 0, sizeof x);
    x.e = &rec->e;
    x.hist = rec->hist;
    x.confusion = rec->confusion;
    if (walk_object(p, ll, entry_field, &x) != 0) {
        if (x.bad_key[0])
            snprintf(why, sizeof why, "field \"%s\" does not parse or is out of range", x.bad_key);
        else
            snprintf(why, sizeof why, "not a record (does not parse)");
    } else if (check_record(&st->h, &x, why, sizeof why) == 0 && st->x && st->x->check) {
        st->x->check(st->x->ctx, &rec->e, why, sizeof why);
    }
    if (why[0]) {
        st->n_rejected++;
        note(st, line, "%s", why);
        return 0;
    }
    rec->e.session = st->cur_session;
    return 1;
}

/* Reads path, calling fn for every accepted record (stops early when fn returns non-zero).
 * Returns 0, or -1 with err when the file cannot be read or has no valid header. */
static int scan(const char *path, scan_state *st, scan_record_fn fn, void *ctx, fg_err *err)
{
    int fd;
    if (fg_open_regular(path, O_RDONLY, "journal", &fd, NULL, err))
        return -1;
    lreader r = {fd, malloc(JNL_LINE_MAX + 65536), JNL_LINE_MAX + 65536, 0, 0, 0, 0};
    jnl_record *rec = malloc(sizeof *rec);
    if (!r.buf || !rec) {
        free(r.buf);
        free(rec);
        close(fd);
        return fg_err_set(err, "%s: out of memory reading the journal", path);
    }
    st->path = path;
    st->cur_session = -1;
    int rc = 0, newer = 0;
    for (;;) {
        const char *p;
        size_t ll;
        int complete, too_long;
        int k = lr_next(&r, &p, &ll, &complete, &too_long);
        if (k == LR_EOF)
            break;
        if (k == LR_ERROR) {
            rc = fg_err_set(err, "%s: cannot read journal: %s", path, strerror(errno));
            break;
        }
        if (!too_long && complete && ll == 0)
            continue; /* an empty line */
        if (too_long || !complete || !line_intact(p, ll)) {
            /* A line without its newline is a torn write: never data. */
            st->n_torn++;
            if (too_long)
                note(st, r.line, "longer than %d bytes: damaged", JNL_LINE_MAX);
            else if (!complete)
                note(st, r.line, "cut short (a write torn by a crash)");
            else
                note(st, r.line, "damaged (CRC-32 mismatch)");
        } else if (starts_with_key(p, ll, "fmnist_grid_journal")) {
            if ((newer = scan_header(st, p, ll, r.line)) != 0)
                break;
        } else if (!st->have_header) {
            st->n_rejected++;
            note(st, r.line, "before the journal's header line");
        } else if (starts_with_key(p, ll, "session")) {
            if (scan_session(st, p, ll, r.line)) {
                rc = fg_err_set(err, "%s: out of memory reading the journal", path);
                break;
            }
        } else if (scan_record(st, p, ll, r.line, rec) && fn && fn(ctx, rec)) {
            break;
        }
    }
    free(rec);
    free(r.buf);
    close(fd);
    if (rc)
        return -1;
    if (newer)
        return fg_err_set(err, "%s: journal format version %d is newer than this program's %d", path,
                          st->h.version, JNL_VERSION);
    if (!st->have_header)
        return fg_err_set(err, "%s: not a fmnist-grid journal (no valid header line)", path);
    return 0;
}

/* The accepted records' entries, and the confusion matrices of the refits among them in a
 * separate growing array (conf, n_conf counts), each entry's offset into it in off. */
typedef struct {
    jnl_entry *e;
    int n, cap;
    int64_t *off; /* per entry: offset into conf, -1 none */
    int32_t *conf;
    size_t n_conf, cap_conf;
    int oom;
} collect_ctx;

static int collect_conf(collect_ctx *c, const jnl_record *r)
{
    size_t k = (size_t)r->e.classes * (size_t)r->e.classes;
    c->off[c->n] = -1;
    if (k == 0)
        return 0;
    if (c->n_conf + k > c->cap_conf) {
        size_t nc = 2 * (c->n_conf + k);
        int32_t *p = realloc(c->conf, nc * sizeof *p);
        if (!p)
            return -1;
        c->conf = p;
        c->cap_conf = nc;
    }
    memcpy(c->conf + c->n_conf, r->confusion, k * sizeof *c->conf);
    c->off[c->n] = (int64_t)c->n_conf;
    c->n_conf += k;
    return 0;
}

static int collect(void *p, jnl_record *r)
{
    collect_ctx *c = p;
    if (c->n == c->cap) {
        int nc = c->cap ? 2 * c->cap : 64;
        jnl_entry *ne = c->cap > INT32_MAX / 2 ? NULL : realloc(c->e, (size_t)nc * sizeof *ne);
        int64_t *no = ne ? realloc(c->off, (size_t)nc * sizeof *no) : NULL;
        if (ne)
            c->e = ne;
        if (!no) {
            c->oom = 1;
            return 1;
        }
        c->off = no;
        c->cap = nc;
    }
    if (collect_conf(c, r)) {
        c->oom = 1;
        return 1;
    }
    c->e[c->n] = r->e;
    c->e[c->n++].confusion = NULL;
    return 0;
}

/* Moves the confusion matrices behind the entries, into one block that free(c->e) frees,
 * and points each refit's entry at its own. Returns 0, or -1 when memory runs out. */
static int collect_finish(collect_ctx *c)
{
    if (c->n_conf > 0) {
        size_t head = (size_t)c->n * sizeof *c->e;
        jnl_entry *ne = realloc(c->e, head + c->n_conf * sizeof *c->conf);
        if (!ne)
            return -1;
        c->e = ne;
        int32_t *block = (int32_t *)(void *)((char *)ne + head); /* entries hold doubles: aligned */
        memcpy(block, c->conf, c->n_conf * sizeof *c->conf);
        for (int i = 0; i < c->n; i++)
            c->e[i].confusion = c->off[i] >= 0 ? block + c->off[i] : NULL;
    }
    free(c->off);
    free(c->conf);
    c->off = NULL;
    c->conf = NULL;
    return 0;
}

int jnl_load(const char *path, const jnl_expect *x, jnl_contents *out, fg_err *err)
{
    memset(out, 0, sizeof *out);
    scan_state st;
    memset(&st, 0, sizeof st);
    st.x = x;
    st.keep_sessions = 1;
    collect_ctx cc;
    memset(&cc, 0, sizeof cc);
    int rc = scan(path, &st, collect, &cc, err);
    if (rc == 0 && (cc.oom || collect_finish(&cc)))
        rc = fg_err_set(err, "%s: out of memory reading the journal", path);
    if (rc) {
        free(cc.e);
        free(cc.off);
        free(cc.conf);
        free(st.s);
        return -1;
    }
    out->h = st.h;
    out->e = cc.e;
    out->n = cc.n;
    out->s = st.s;
    out->n_sessions = st.n_s;
    out->n_torn = st.n_torn;
    out->n_rejected = st.n_rejected;
    out->n_issues = st.n_issues;
    memcpy(out->issues, st.issues, sizeof st.issues);
    return 0;
}

void jnl_contents_free(jnl_contents *c)
{
    if (!c)
        return;
    free(c->e);
    free(c->s);
    c->e = NULL;
    c->s = NULL;
    c->n = c->n_sessions = 0;
}

int jnl_read(const char *path, jnl_header *h, jnl_entry **entries, int *n, int *n_bad, fg_err *err)
{
    jnl_contents c;
    *entries = NULL;
    *n = 0;
    *n_bad = 0;
    memset(h, 0, sizeof *h);
    h->refit = -1; /* unknown unless the header says */
    if (jnl_load(path, NULL, &c, err))
        return -1;
    *h = c.h;
    *entries = c.e;
    *n = c.n;
    *n_bad = c.n_torn + c.n_rejected;
    free(c.s);
    return 0;
}

typedef struct {
    int config, fold, max, found;
    nn_epoch *hist;
} hist_ctx;

static int find_history(void *p, jnl_record *r)
{
    hist_ctx *h = p;
    if (r->e.config == h->config && r->e.fold == h->fold) {
        h->found = r->e.epochs_run < h->max ? r->e.epochs_run : h->max;
        memcpy(h->hist, r->hist, (size_t)h->found * sizeof *h->hist);
    }
    return 0;
}

int jnl_read_history(const char *path, int config, int fold, nn_epoch *hist, int max, fg_err *err)
{
    scan_state st;
    memset(&st, 0, sizeof st);
    hist_ctx hc = {config, fold, max, -1, hist};
    if (scan(path, &st, find_history, &hc, err))
        return -1;
    if (hc.found < 0)
        fg_err_set(err, "%s: no record for configuration %d fold %d", path, config, fold);
    return hc.found;
}

typedef struct {
    jnl_record_fn fn;
    void *ctx;
} each_ctx;

static int each(void *p, jnl_record *r)
{
    each_ctx *c = p;
    return c->fn(c->ctx, r);
}

int jnl_each_record_ex(const char *path, const jnl_expect *x, jnl_record_fn fn, void *ctx, fg_err *err)
{
    scan_state st;
    memset(&st, 0, sizeof st);
    st.x = x;
    each_ctx c = {fn, ctx};
    return scan(path, &st, each, &c, err);
}

int jnl_each_record(const char *path, jnl_record_fn fn, void *ctx, fg_err *err)
{
    return jnl_each_record_ex(path, NULL, fn, ctx, err);
}

/* The header of the journal open as fd (read from its start), for its identity. */
static int read_header_fd(int fd, const char *path, jnl_header *h, fg_err *err)
{
    lreader r = {fd, malloc(JNL_LINE_MAX + 65536), JNL_LINE_MAX + 65536, 0, 0, 0, 0};
    if (!r.buf)
        return fg_err_set(err, "%s: out of memory reading the journal", path);
    int found = 0;
    for (;;) {
        const char *p;
        size_t ll;
        int complete, too_long;
        int k = lr_next(&r, &p, &ll, &complete, &too_long);
        if (k != LR_LINE)
            break;
        if (too_long || !complete || !line_intact(p, ll) || !starts_with_key(p, ll, "fmnist_grid_journal"))
            continue;
        header_ctx hx = {h, 0};
        memset(h, 0, sizeof *h);
        h->refit = -1; /* unknown unless the header says */
        if (walk_object(p, ll, header_field, &hx) == 0 && hx.seen == (1u << HK__COUNT) - 1) {
            found = 1;
            break;
        }
    }
    free(r.buf);
    if (!found)
        return fg_err_set(err, "%s: not a fmnist-grid journal (no valid header line)", path);
    if (h->version > JNL_VERSION)
        return fg_err_set(err, "%s: journal format version %d is newer than this program's %d", path,
                          h->version, JNL_VERSION);
    h->search_id = jnl_search_id(h);
    return 0;
}

int jnl_open_append(const char *path, jnl **out, fg_err *err)
{
    *out = NULL;
    int fd;
    int64_t size;
    if (fg_open_regular(path, O_RDWR | O_APPEND, "journal", &fd, &size, err))
        return -1;
    jnl_header h;
    if (read_header_fd(fd, path, &h, err)) {
        close(fd);
        return -1;
    }
    /* Cut a torn tail (bytes after the last newline) so the next record starts clean:
     * search backwards from the end for the last newline. */
    int64_t keep = 0;
    char chunk[65536];
    for (int64_t end = size; end > 0 && keep == 0;) {
        int64_t from = end > (int64_t)sizeof chunk ? end - (int64_t)sizeof chunk : 0;
        ssize_t k = pread(fd, chunk, (size_t)(end - from), (off_t)from);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            int e = errno;
            close(fd);
            return fg_err_set(err, "%s: cannot read journal: %s", path, k < 0 ? strerror(e) : "file shrank");
        }
        for (ssize_t i = k - 1; i >= 0; i--)
            if (chunk[i] == '\n') {
                keep = from + i + 1;
                break;
            }
        end = from;
    }
    if (keep == 0) {
        close(fd);
        return fg_err_set(err, "%s: journal has no complete line", path);
    }
    if (keep < size && ftruncate(fd, (off_t)keep) != 0) {
        int e = errno;
        close(fd);
        return fg_err_set(err, "%s: cannot cut the torn last line: %s", path, strerror(e));
    }
    jnl *j = jnl_alloc(path, fd);
    if (!j) {
        close(fd);
        return fg_err_set(err, "%s: out of memory", path);
    }
    j->search_id = h.search_id;
    *out = j;
    return 0;
}

int jnl_read_header(const char *path, jnl_header *h, fg_err *err)
{
    int fd;
    memset(h, 0, sizeof *h);
    h->refit = -1;
    if (fg_open_regular(path, O_RDONLY, "journal", &fd, NULL, err))
        return -1;
    int rc = read_header_fd(fd, path, h, err);
    close(fd);
    return rc;
}

void jnl_sort_sessions(jnl_session *s, int n_sessions, jnl_entry *e, int n)
{
    if (n_sessions < 2)
        return;
    int *ord = malloc((size_t)n_sessions * sizeof *ord), *where = malloc((size_t)n_sessions * sizeof *where);
    jnl_session *tmp = malloc((size_t)n_sessions * sizeof *tmp);
    if (!ord || !where || !tmp) {
        free(ord), free(where), free(tmp);
        return; /* left in file order */
    }
    /* insertion sort: stable, and sessions are few */
    for (int i = 0; i < n_sessions; i++) {
        int k = i;
        while (k > 0 && strcmp(s[ord[k - 1]].started_utc, s[i].started_utc) > 0) {
            ord[k] = ord[k - 1];
            k--;
        }
        ord[k] = i;
    }
    for (int k = 0; k < n_sessions; k++) {
        tmp[k] = s[ord[k]];
        where[ord[k]] = k;
    }
    memcpy(s, tmp, (size_t)n_sessions * sizeof *s);
    for (int i = 0; i < n; i++)
        if (e[i].session >= 0 && e[i].session < n_sessions)
            e[i].session = where[e[i].session];
    free(ord), free(where), free(tmp);
}

/* ---- the journals of a results directory ----------------------------------------------- */

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* DIR/journal*.jsonl names into names (room for JNL_MAX_FILES); their count, or -1. */
static int list_journals(const char *dir, char **names, fg_err *err)
{
    DIR *dp = opendir(dir);
    if (!dp)
        return fg_err_set(err, "%s: cannot open: %s", dir, strerror(errno));
    int n = 0, oom = 0;
    struct dirent *de;
    while (!oom && n < JNL_MAX_FILES && (de = readdir(dp))) {
        size_t l = strlen(de->d_name);
        if (l >= 13 && !strncmp(de->d_name, "journal", 7) && !strcmp(de->d_name + l - 6, ".jsonl"))
            oom = !(names[n++] = strdup(de->d_name));
    }
    closedir(dp);
    if (oom) {
        for (int i = 0; i < n; i++)
            free(names[i]);
        return fg_err_set(err, "%s: out of memory listing the journals", dir);
    }
    return n;
}

int jnl_dir_journals(const char *dir, char ***paths, int *n, fg_err *err)
{
    *paths = NULL;
    *n = 0;
    char **names = calloc(JNL_MAX_FILES, sizeof *names);
    if (!names)
        return fg_err_set(err, "%s: out of memory listing the journals", dir);
    int nn = list_journals(dir, names, err);
    if (nn < 0) {
        free(names);
        return -1;
    }
    qsort(names, (size_t)nn, sizeof names[0], by_name);
    for (int i = 1; i < nn; i++) /* journal.jsonl sorts after journal.refit...: to the front */
        if (!strcmp(names[i], "journal.jsonl")) {
            char *t = names[i];
            memmove(names + 1, names, (size_t)i * sizeof names[0]);
            names[0] = t;
        }
    for (int i = 0; i < nn; i++) { /* each name becomes DIR/NAME */
        size_t len = strlen(dir) + strlen(names[i]) + 2;
        char *p = malloc(len);
        if (!p) {
            jnl_paths_free(names, nn);
            return fg_err_set(err, "%s: out of memory listing the journals", dir);
        }
        snprintf(p, len, "%s/%s", dir, names[i]);
        free(names[i]);
        names[i] = p;
    }
    *paths = names;
    *n = nn;
    return 0;
}

void jnl_paths_free(char **paths, int n)
{
    if (!paths)
        return;
    for (int i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
}
