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

struct jnl {
    int fd;
    char path[4096];
    char *buf; /* line buffer, allocated once */
    size_t cap;
};

/* ---- writing ------------------------------------------------------------------------- */

typedef struct {
    char *p;
    size_t len, cap;
    int overflow;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->overflow = 1;
        return;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_printf(sbuf *b, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        b->overflow = 1;
        return;
    }
    sb_put(b, tmp, (size_t)n);
}

static void sb_str(sbuf *b, const char *s)
{
    sb_put(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            sb_put(b, e, 2);
        } else if (c < 0x20) {
            sb_printf(b, "\\u%04x", c);
        } else {
            sb_put(b, (const char *)&c, 1);
        }
    }
    sb_put(b, "\"", 1);
}

static void sb_float(sbuf *b, double v, int is_double)
{
    if (isnan(v) || isinf(v))
        sb_put(b, "null", 4);
    else
        sb_printf(b, is_double ? "%.17g" : "%.9g", v);
}

static void sb_key(sbuf *b, const char *k)
{
    if (b->len > 1)
        sb_put(b, ",", 1);
    sb_str(b, k);
    sb_put(b, ":", 1);
}

static void sb_hex64(sbuf *b, const char *k, uint64_t v)
{
    char t[24];
    snprintf(t, sizeof t, "%016llx", (unsigned long long)v);
    sb_key(b, k);
    sb_str(b, t);
}

static void sb_hex32(sbuf *b, const char *k, uint32_t v)
{
    char t[12];
    snprintf(t, sizeof t, "%08lx", (unsigned long)v);
    sb_key(b, k);
    sb_str(b, t);
}

/* Closes the object with the CRC of everything so far and a newline. */
static void sb_finish(sbuf *b)
{
    uLong crc = crc32(0L, (const Bytef *)b->p, (uInt)b->len);
    sb_hex32(b, "crc32", (uint32_t)crc);
    sb_put(b, "}\n", 2);
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
    j->cap = 64 + (size_t)NN_MAX_EPOCHS * 6 * 26 + 4096 + JNL_CLASSES * JNL_CLASSES * 12;
    j->buf = malloc(j->cap);
    if (!j->buf) {
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
    sbuf b = {j->buf, 0, j->cap, 0};
    sb_put(&b, "{", 1);
    sb_key(&b, "fmnist_grid_journal");
    sb_put(&b, "1", 1);
    sb_key(&b, "grid");
    sb_str(&b, h->grid_name);
    sb_hex64(&b, "grid_hash", h->grid_hash);
    sb_key(&b, "configs");
    sb_printf(&b, "%lld", (long long)h->n_configs);
    sb_key(&b, "folds");
    sb_printf(&b, "%d", h->folds);
    sb_key(&b, "seed");
    sb_printf(&b, "%llu", (unsigned long long)h->seed);
    sb_key(&b, "cv_seed");
    sb_printf(&b, "%llu", (unsigned long long)h->cv_seed);
    sb_key(&b, "subset");
    sb_printf(&b, "%d", h->subset);
    sb_hex64(&b, "folds_checksum", h->folds_checksum);
    sb_hex32(&b, "train_images_crc32", h->train_images_crc32);
    sb_hex32(&b, "train_labels_crc32", h->train_labels_crc32);
    if (h->threads > 0) {
        sb_key(&b, "threads");
        sb_printf(&b, "%d", h->threads);
    }
    if (h->refit >= 0) {
        sb_key(&b, "refit");
        sb_printf(&b, "%d", h->refit ? 1 : 0);
    }
    if (h->data_dir[0]) {
        sb_key(&b, "data_dir");
        sb_str(&b, h->data_dir);
    }
    if (h->base_configs > 0) {
        sb_key(&b, "base_configs");
        sb_printf(&b, "%d", h->base_configs);
        sb_key(&b, "base_blocks");
        sb_printf(&b, "%d", h->base_blocks);
        sb_key(&b, "base_seconds");
        sb_printf(&b, "%.3f", h->base_seconds);
    }
    sb_finish(&b);
    if (b.overflow || write_all_sync(j, j->buf, b.len, err)) {
        if (b.overflow)
            fg_err_set(err, "%s: journal header too long", path);
        jnl_close(j);
        unlink(path); /* no half-written journal left for a resume to stumble on */
        return -1;
    }
    sync_parent(path);
    *out = j;
    return 0;
}

int jnl_append(jnl *j, const jnl_record *r, const char *params, fg_err *err)
{
    const jnl_entry *e = &r->e;
    sbuf b = {j->buf, 0, j->cap, 0};
    sb_put(&b, "{", 1);
    sb_key(&b, "task");
    sb_printf(&b, "%d", e->task);
    sb_key(&b, "config");
    sb_printf(&b, "%d", e->config);
    sb_key(&b, "fold");
    sb_printf(&b, "%d", e->fold);
    sb_hex64(&b, "hash", e->config_hash);
    sb_key(&b, "status");
    sb_str(&b, nn_status_name((nn_status)e->status));
    sb_key(&b, "val_acc");
    sb_float(&b, e->val_acc, 0);
    sb_key(&b, "val_loss");
    sb_float(&b, e->val_loss, 0);
    sb_key(&b, "test_acc");
    sb_float(&b, e->test_acc, 0);
    sb_key(&b, "test_loss");
    sb_float(&b, e->test_loss, 0);
    sb_key(&b, "fit_time");
    sb_float(&b, e->fit_time, 1);
    sb_key(&b, "score_time");
    sb_float(&b, e->score_time, 1);
    sb_key(&b, "epochs");
    sb_printf(&b, "%d", e->epochs_run);
    sb_key(&b, "best_epoch");
    sb_printf(&b, "%d", e->best_epoch);
    sb_key(&b, "n_train");
    sb_printf(&b, "%d", e->n_train);
    sb_key(&b, "n_val");
    sb_printf(&b, "%d", e->n_val);
    sb_key(&b, "rank");
    sb_printf(&b, "%d", e->rank);
    sb_key(&b, "host");
    sb_str(&b, e->host);
    sb_key(&b, "params");
    sb_str(&b, params ? params : "");
    sb_key(&b, "msg");
    sb_str(&b, e->msg);
    sb_key(&b, "history");
    sb_put(&b, "[", 1);
    int ne = e->epochs_run < 0 ? 0 : e->epochs_run > NN_MAX_EPOCHS ? NN_MAX_EPOCHS : e->epochs_run;
    for (int i = 0; i < ne; i++) {
        const nn_epoch *h = &r->hist[i];
        sb_put(&b, i ? ",[" : "[", i ? 2 : 1);
        sb_float(&b, h->loss, 0);
        sb_put(&b, ",", 1);
        sb_float(&b, h->acc, 0);
        sb_put(&b, ",", 1);
        sb_float(&b, h->val_loss, 0);
        sb_put(&b, ",", 1);
        sb_float(&b, h->val_acc, 0);
        sb_put(&b, ",", 1);
        sb_float(&b, h->lr, 0);
        sb_put(&b, ",", 1);
        sb_printf(&b, "%.6f", h->seconds);
        sb_put(&b, "]", 1);
    }
    sb_put(&b, "]", 1);
    int any = 0;
    for (int i = 0; i < JNL_CLASSES * JNL_CLASSES; i++)
        any |= e->confusion[i] != 0;
    if (any) {
        sb_key(&b, "confusion");
        for (int i = 0; i < JNL_CLASSES * JNL_CLASSES; i++)
            sb_printf(&b, "%s%d", i ? "," : "[", (int)e->confusion[i]);
        sb_put(&b, "]", 1);
    }
    sb_finish(&b);
    if (b.overflow)
        return fg_err_set(err, "%s: record too long", j->path);
    return write_all_sync(j, j->buf, b.len, err);
}

void jnl_close(jnl *j)
{
    if (!j)
        return;
    if (j->fd >= 0)
        close(j->fd);
    free(j->buf);
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
    double v;
    if (c->end - c->p >= 4 && (memcmp(c->p, "true", 4) == 0)) {
        c->p += 4;
        return 0;
    }
    if (c->end - c->p >= 5 && (memcmp(c->p, "false", 5) == 0)) {
        c->p += 5;
        return 0;
    }
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
    if (!k || (size_t)(line + len - k) < sizeof tag - 1 + 8 + 2)
        return 0;
    char hex[9];
    memcpy(hex, k + sizeof tag - 1, 8);
    hex[8] = '\0';
    char *e;
    unsigned long want = strtoul(hex, &e, 16);
    if (*e)
        return 0;
    uLong crc = crc32(0L, (const Bytef *)line, (uInt)(k - line));
    return (unsigned long)crc == want && line[len - 1] == '}';
}

typedef int (*field_fn)(void *obj, const char *key, cur *c);

/* Walks the top-level keys of one object, calling fn for each (fn consumes the value). */
static int walk_object(const char *line, size_t len, field_fn fn, void *obj)
{
    cur c = {line, line + len};
    if (*c.p != '{')
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
    }
}

static uint64_t hex64(const char *s) { return (uint64_t)strtoull(s, NULL, 16); }

static int header_field(void *obj, const char *k, cur *c)
{
    jnl_header *h = obj;
    char s[128];
    double v;
    if (!strcmp(k, "grid"))
        return parse_str(c, h->grid_name, sizeof h->grid_name);
    if (!strcmp(k, "data_dir"))
        return parse_str(c, h->data_dir, sizeof h->data_dir);
    if (!strcmp(k, "base_configs") || !strcmp(k, "base_blocks") || !strcmp(k, "base_seconds")) {
        if (parse_num(c, &v))
            return -1;
        if (!strcmp(k, "base_seconds"))
            h->base_seconds = v;
        else if (!strcmp(k, "base_configs"))
            h->base_configs = (int)v;
        else
            h->base_blocks = (int)v;
        return 0;
    }
    if (!strcmp(k, "grid_hash") || !strcmp(k, "folds_checksum") ||
        !strcmp(k, "train_images_crc32") || !strcmp(k, "train_labels_crc32")) {
        if (parse_str(c, s, sizeof s))
            return -1;
        if (!strcmp(k, "grid_hash"))
            h->grid_hash = hex64(s);
        else if (!strcmp(k, "folds_checksum"))
            h->folds_checksum = hex64(s);
        else if (!strcmp(k, "train_images_crc32"))
            h->train_images_crc32 = (uint32_t)hex64(s);
        else
            h->train_labels_crc32 = (uint32_t)hex64(s);
        return 0;
    }
    if (!strcmp(k, "configs") || !strcmp(k, "folds") || !strcmp(k, "seed") ||
        !strcmp(k, "cv_seed") || !strcmp(k, "subset") || !strcmp(k, "threads") || !strcmp(k, "refit")) {
        /* Integers: parse digits exactly (seeds can exceed a double's precision). */
        skip_ws(c);
        char num[32];
        size_t n = 0;
        while (c->p < c->end && n + 1 < sizeof num && (*c->p == '-' || (*c->p >= '0' && *c->p <= '9')))
            num[n++] = *c->p++;
        num[n] = '\0';
        if (!n)
            return -1;
        if (!strcmp(k, "configs"))
            h->n_configs = strtoll(num, NULL, 10);
        else if (!strcmp(k, "folds"))
            h->folds = (int)strtol(num, NULL, 10);
        else if (!strcmp(k, "seed"))
            h->seed = strtoull(num, NULL, 10);
        else if (!strcmp(k, "cv_seed"))
            h->cv_seed = strtoull(num, NULL, 10);
        else if (!strcmp(k, "threads"))
            h->threads = (int)strtol(num, NULL, 10);
        else if (!strcmp(k, "refit"))
            h->refit = (int)strtol(num, NULL, 10);
        else
            h->subset = (int)strtol(num, NULL, 10);
        return 0;
    }
    (void)v;
    return skip_value(c);
}

typedef struct {
    jnl_entry *e;
    nn_epoch *hist;
    int max_hist, n_hist;
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
            if (c->p < c->end && (*c->p == ',' || *c->p == ']'))
                c->p++;
        }
        if (x->n_hist < x->max_hist) {
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
    }
}

/* "confusion":[n0,n1,...]: JNL_CLASSES^2 counts; a shorter or longer array is refused. */
static int parse_confusion(cur *c, jnl_entry *e)
{
    skip_ws(c);
    if (c->p >= c->end || *c->p != '[')
        return -1;
    c->p++;
    for (int i = 0; i < JNL_CLASSES * JNL_CLASSES; i++) {
        double v;
        if (parse_num(c, &v) || isnan(v) || v < 0 || v > INT32_MAX)
            return -1;
        e->confusion[i] = (int32_t)v;
        skip_ws(c);
        if (c->p >= c->end || *c->p != (i + 1 < JNL_CLASSES * JNL_CLASSES ? ',' : ']'))
            return -1;
        c->p++;
    }
    return 0;
}

static int entry_field(void *obj, const char *k, cur *c)
{
    entry_ctx *x = obj;
    jnl_entry *e = x->e;
    double v;
    char s[64];
    if (!strcmp(k, "history")) {
        if (!x->hist)
            return skip_value(c);
        return parse_history(c, x);
    }
    if (!strcmp(k, "confusion"))
        return parse_confusion(c, e);
    if (!strcmp(k, "host"))
        return parse_str(c, e->host, sizeof e->host);
    if (!strcmp(k, "msg"))
        return parse_str(c, e->msg, sizeof e->msg);
    if (!strcmp(k, "hash")) {
        if (parse_str(c, s, sizeof s))
            return -1;
        e->config_hash = hex64(s);
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
        if (!strcmp(k, ints[i])) {
            if (parse_num(c, &v) || isnan(v))
                return -1;
            *iptr[i] = (int32_t)v;
            return 0;
        }
    static const char *const fl[] = {"val_acc", "val_loss", "test_acc", "test_loss"};
    float *const fptr[] = {&e->val_acc, &e->val_loss, &e->test_acc, &e->test_loss};
    for (size_t i = 0; i < 4; i++)
        if (!strcmp(k, fl[i])) {
            if (parse_num(c, &v))
                return -1;
            *fptr[i] = (float)v;
            return 0;
        }
    if (!strcmp(k, "fit_time"))
        return parse_num(c, &e->fit_time);
    if (!strcmp(k, "score_time"))
        return parse_num(c, &e->score_time);
    return skip_value(c);
}

/* Reads the whole file into memory (NUL-terminated). */
static char *slurp(const char *path, size_t *len, fg_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fg_err_set(err, "%s: cannot open journal: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n + 4096 > cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf) {
        fg_err_set(err, "%s: out of memory reading the journal", path);
        return NULL;
    }
    if (bad) {
        free(buf);
        fg_err_set(err, "%s: read error", path);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

int jnl_read(const char *path, jnl_header *h, jnl_entry **entries, int *n, int *n_bad, fg_err *err)
{
    *entries = NULL;
    *n = 0;
    *n_bad = 0;
    memset(h, 0, sizeof *h);
    h->refit = -1; /* unknown unless the header says */
    size_t len;
    char *buf = slurp(path, &len, err);
    if (!buf)
        return -1;
    int cap = 64, cnt = 0, have_header = 0;
    jnl_entry *arr = malloc((size_t)cap * sizeof *arr);
    if (!arr) {
        free(buf);
        return fg_err_set(err, "%s: out of memory", path);
    }
    char *p = buf, *end = buf + len;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
        /* A line without its newline is a torn write: never data. */
        int ok = nl && line_intact(p, ll);
        if (ok && !have_header) {
            ok = walk_object(p, ll, header_field, h) == 0 && strstr(p, "\"fmnist_grid_journal\"") == p + 1;
            if (ok)
                have_header = 1;
        } else if (ok) {
            if (cnt == cap) {
                jnl_entry *na = realloc(arr, (size_t)cap * 2 * sizeof *arr);
                if (!na) {
                    free(arr);
                    free(buf);
                    return fg_err_set(err, "%s: out of memory", path);
                }
                arr = na;
                cap *= 2;
            }
            jnl_entry *e = &arr[cnt];
            memset(e, 0, sizeof *e);
            e->val_acc = e->val_loss = e->test_acc = e->test_loss = NAN;
            entry_ctx x = {e, NULL, 0, 0};
            ok = walk_object(p, ll, entry_field, &x) == 0;
            if (ok)
                cnt++;
        }
        if (!ok && ll > 0)
            (*n_bad)++;
        p += ll + (nl ? 1 : 0);
    }
    free(buf);
    if (!have_header) {
        free(arr);
        return fg_err_set(err, "%s: not a fmnist-grid journal (no valid header line)", path);
    }
    *entries = arr;
    *n = cnt;
    return 0;
}

int jnl_read_history(const char *path, int config, int fold, nn_epoch *hist, int max, fg_err *err)
{
    size_t len;
    char *buf = slurp(path, &len, err);
    if (!buf)
        return -1;
    int found = -1;
    char *p = buf, *end = buf + len;
    int first = 1;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (nl && line_intact(p, ll) && !first) {
            jnl_entry e;
            memset(&e, 0, sizeof e);
            entry_ctx probe = {&e, NULL, 0, 0};
            if (walk_object(p, ll, entry_field, &probe) == 0 && e.config == config && e.fold == fold) {
                entry_ctx x = {&e, hist, max, 0};
                if (walk_object(p, ll, entry_field, &x) == 0)
                    found = x.n_hist < max ? x.n_hist : max;
            }
        }
        if (nl && line_intact(p, ll))
            first = 0;
        p += ll + (nl ? 1 : 0);
    }
    free(buf);
    if (found < 0)
        fg_err_set(err, "%s: no record for configuration %d fold %d", path, config, fold);
    return found;
}

int jnl_each_record(const char *path, jnl_record_fn fn, void *ctx, fg_err *err)
{
    size_t len;
    char *buf = slurp(path, &len, err);
    if (!buf)
        return -1;
    jnl_record *r = malloc(sizeof *r);
    if (!r) {
        free(buf);
        return fg_err_set(err, "%s: out of memory", path);
    }
    char *p = buf, *end = buf + len;
    int first = 1;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (nl && line_intact(p, ll)) {
            if (!first) {
                memset(&r->e, 0, sizeof r->e);
                r->e.val_acc = r->e.val_loss = r->e.test_acc = r->e.test_loss = NAN;
                entry_ctx x = {&r->e, r->hist, NN_MAX_EPOCHS, 0};
                if (walk_object(p, ll, entry_field, &x) == 0) {
                    r->e.epochs_run = x.n_hist < NN_MAX_EPOCHS ? x.n_hist : NN_MAX_EPOCHS;
                    if (fn(ctx, r))
                        break;
                }
            }
            first = 0;
        }
        p += ll + (nl ? 1 : 0);
    }
    free(r);
    free(buf);
    return 0;
}

int jnl_open_append(const char *path, jnl **out, fg_err *err)
{
    *out = NULL;
    size_t len;
    char *buf = slurp(path, &len, err);
    if (!buf)
        return -1;
    /* Cut a torn tail (bytes after the last newline) so the next record starts clean. */
    size_t keep = len;
    while (keep > 0 && buf[keep - 1] != '\n')
        keep--;
    free(buf);
    if (keep == 0)
        return fg_err_set(err, "%s: journal has no complete line", path);
    if (keep < len && truncate(path, (off_t)keep) != 0)
        return fg_err_set(err, "%s: cannot cut the torn last line: %s", path, strerror(errno));
    int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0)
        return fg_err_set(err, "%s: cannot open for appending: %s", path, strerror(errno));
    jnl *j = jnl_alloc(path, fd);
    if (!j) {
        close(fd);
        return fg_err_set(err, "%s: out of memory", path);
    }
    *out = j;
    return 0;
}

int jnl_read_header(const char *path, jnl_header *h, fg_err *err)
{
    memset(h, 0, sizeof *h);
    h->refit = -1;
    FILE *f = fopen(path, "rb");
    if (!f)
        return fg_err_set(err, "%s: cannot open journal: %s", path, strerror(errno));
    /* The header line is short (its longest field is the data directory): read at most 64 KiB. */
    size_t cap = 1 << 16;
    char *buf = malloc(cap);
    size_t n = buf ? fread(buf, 1, cap - 1, f) : 0;
    fclose(f);
    if (!buf)
        return fg_err_set(err, "%s: out of memory", path);
    buf[n] = '\0';
    char *nl = memchr(buf, '\n', n);
    int ok = nl && line_intact(buf, (size_t)(nl - buf)) &&
             walk_object(buf, (size_t)(nl - buf), header_field, h) == 0 &&
             strstr(buf, "\"fmnist_grid_journal\"") == buf + 1;
    free(buf);
    return ok ? 0 : fg_err_set(err, "%s: not a fmnist-grid journal (no valid header line)", path);
}
