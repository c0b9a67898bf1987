/* report_yaml_read.c - report.yaml read back for `reproduce` and `compare`, with libyaml's
 * event parser: every field reproduce needs is checked (presence, range, the grid text
 * against its hash), and one line names the file and the field when one is wrong. */
#define _POSIX_C_SOURCE 200809L
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "halving.h"

/* With libyaml's event parser, not its document loader: a document costs some 25 times the
 * file in memory, events only what is kept. Every field reproduce needs is checked. */

typedef struct {
    yaml_parser_t p;
    yaml_event_t ev;
    int have_ev;
    const char *path;
    fg_err *err;
    int failed;
    int64_t file_size;
    rpt_summary *out;
    unsigned seen;       /* RS_* bits */
    uint64_t sha;
    int64_t n_configs;   /* grid.configurations */
    int64_t n_cfg;       /* entries of `configurations` read */
    int best_config, refit_config, refit_acc; /* the keys given in best and refit */
    char where[96];      /* the field being read, for messages */
} yr;

enum {
    RS_VERSION = 1u << 0, RS_TEXT = 1u << 1, RS_SHA = 1u << 2, RS_NCONF = 1u << 3, RS_SEED = 1u << 4,
    RS_FOLDS = 1u << 5, RS_CV_SEED = 1u << 6, RS_CHECKSUM = 1u << 7, RS_SUBSET = 1u << 8,
    RS_TRAIN_I = 1u << 9, RS_TRAIN_L = 1u << 10, RS_TEST_I = 1u << 11, RS_TEST_L = 1u << 12,
    RS_BEST = 1u << 13, RS_REFIT = 1u << 14, RS_CONFIGS = 1u << 15, RS_GRID = 1u << 16, RS_CV = 1u << 17,
    RS_DATA = 1u << 18
};

static int yr_fail(yr *r, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static int yr_fail(yr *r, const char *fmt, ...)
{
    if (r->failed)
        return -1;
    r->failed = 1;
    char msg[FG_ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (r->where[0])
        fg_err_set(r->err, "%s: %s: %s", r->path, r->where, msg);
    else
        fg_err_set(r->err, "%s: %s", r->path, msg);
    return -1;
}

/* The next event into r->ev (the previous one freed). */
static int yr_next(yr *r)
{
    if (r->have_ev)
        yaml_event_delete(&r->ev);
    r->have_ev = 0;
    if (!yaml_parser_parse(&r->p, &r->ev)) {
        r->where[0] = '\0';
        return yr_fail(r, "line %zu column %zu: %s", r->p.problem_mark.line + 1, r->p.problem_mark.column + 1,
                       r->p.problem ? r->p.problem : "YAML error");
    }
    r->have_ev = 1;
    return 0;
}

/* Skips the node whose first event is r->ev (iteratively: nesting depth costs nothing). */
static int yr_skip(yr *r)
{
    long depth = 0;
    for (;;) {
        yaml_event_type_t t = r->ev.type;
        if (t == YAML_MAPPING_START_EVENT || t == YAML_SEQUENCE_START_EVENT)
            depth++;
        else if (t == YAML_MAPPING_END_EVENT || t == YAML_SEQUENCE_END_EVENT)
            depth--;
        else if (t != YAML_SCALAR_EVENT && t != YAML_ALIAS_EVENT)
            return yr_fail(r, "unexpected end of the document");
        if (depth <= 0)
            return 0;
        if (yr_next(r))
            return -1;
    }
}

static const char *yr_text(const yr *r) { return (const char *)r->ev.data.scalar.value; }
static int yr_is_scalar(const yr *r) { return r->ev.type == YAML_SCALAR_EVENT; }
static int yr_is_null(const yr *r)
{
    if (!yr_is_scalar(r) || r->ev.data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    const char *t = yr_text(r);
    return !strcmp(t, "null") || !strcmp(t, "~") || !strcmp(t, "Null") || !strcmp(t, "NULL") || !*t;
}

/* The value's event (already read into r->ev) as a scalar. */
static const char *yr_scalar(yr *r)
{
    if (!yr_is_scalar(r)) {
        yr_fail(r, "expected a single value, found a %s",
                r->ev.type == YAML_MAPPING_START_EVENT    ? "mapping"
                : r->ev.type == YAML_SEQUENCE_START_EVENT ? "list"
                                                          : "reference");
        return NULL;
    }
    return yr_text(r);
}

static int yr_int(yr *r, long long lo, long long hi, long long *v)
{
    const char *t = yr_scalar(r);
    if (!t)
        return -1;
    char *e;
    errno = 0;
    long long x = strtoll(t, &e, 10);
    if (!*t || *e || errno || x < lo || x > hi || (*t != '-' && (*t < '0' || *t > '9')))
        return yr_fail(r, "'%.40s' is not an integer in %lld..%lld", t, lo, hi);
    *v = x;
    return 0;
}

static int yr_u64(yr *r, uint64_t *v)
{
    const char *t = yr_scalar(r);
    if (!t)
        return -1;
    char *e;
    errno = 0;
    unsigned long long x = strtoull(t, &e, 10);
    if (!*t || *e || errno || *t < '0' || *t > '9')
        return yr_fail(r, "'%.40s' is not an unsigned 64-bit integer", t);
    *v = x;
    return 0;
}

static int yr_hex(yr *r, int digits, uint64_t *v)
{
    const char *t = yr_scalar(r);
    if (!t)
        return -1;
    uint64_t x = 0;
    int ok = (int)strlen(t) == digits;
    for (int i = 0; ok && i < digits; i++) {
        char ch = t[i];
        int d = ch >= '0' && ch <= '9'   ? ch - '0'
                : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                         : -1;
        ok = d >= 0;
        x = x << 4 | (uint64_t)(d < 0 ? 0 : d);
    }
    if (!ok)
        return yr_fail(r, "'%.40s' is not %d hexadecimal digits", t, digits);
    *v = x;
    return 0;
}

/* A number, or NaN for .nan / null. */
static int yr_double(yr *r, double *v)
{
    const char *t = yr_scalar(r);
    if (!t)
        return -1;
    if (yr_is_null(r) || !strcmp(t, ".nan") || !strcmp(t, ".NaN") || !strcmp(t, ".NAN")) {
        *v = NAN;
        return 0;
    }
    char *e;
    double x = strtod(t, &e);
    if (!*t || *e)
        return yr_fail(r, "'%.40s' is not a number", t);
    *v = x;
    return 0;
}

static int yr_str(yr *r, char *buf, size_t cap)
{
    const char *t = yr_scalar(r);
    if (!t)
        return -1;
    snprintf(buf, cap, "%s", t);
    return 0;
}

static void yr_where(yr *r, const char *section, const char *key)
{
    snprintf(r->where, sizeof r->where, "%s%s%.60s", section ? section : "", section ? "." : "", key);
}

typedef int (*yr_key_fn)(yr *r, const char *key);

/* Reads a mapping whose start is r->ev, calling fn for each key with the value's first
 * event in r->ev; fn consumes the value (its last event). Keys must be plain strings. */
static int yr_mapping(yr *r, const char *name, yr_key_fn fn)
{
    if (r->ev.type != YAML_MAPPING_START_EVENT) {
        snprintf(r->where, sizeof r->where, "%s", name);
        return yr_fail(r, "expected a mapping");
    }
    char key[128];
    for (;;) {
        if (yr_next(r))
            return -1;
        if (r->ev.type == YAML_MAPPING_END_EVENT)
            return 0;
        if (!yr_is_scalar(r)) {
            snprintf(r->where, sizeof r->where, "%s", name);
            return yr_fail(r, "a key that is not a plain string");
        }
        snprintf(key, sizeof key, "%s", yr_text(r));
        if (yr_next(r) || fn(r, key))
            return -1;
    }
}

static int once(yr *r, unsigned bit)
{
    if (r->seen & bit)
        return yr_fail(r, "given twice");
    r->seen |= bit;
    return 0;
}

static int program_key(yr *r, const char *k)
{
    rpt_summary *o = r->out;
    yr_where(r, "program", k);
    long long v;
    if (!strcmp(k, "blas"))
        return yr_str(r, o->blas, sizeof o->blas);
    if (!strcmp(k, "git_revision"))
        return yr_str(r, o->git_revision, sizeof o->git_revision);
    if (!strcmp(k, "blas_threads")) {
        if (yr_is_null(r))
            return 0;
        if (yr_int(r, 1, 1 << 20, &v))
            return -1;
        o->blas_threads = (int)v;
        return 0;
    }
    if (!strcmp(k, "wall_time_s"))
        return yr_double(r, &o->wall_time);
    return yr_skip(r);
}

static int grid_key(yr *r, const char *k)
{
    rpt_summary *o = r->out;
    yr_where(r, "grid", k);
    if (!strcmp(k, "text")) {
        const char *t = once(r, RS_TEXT) ? NULL : yr_scalar(r);
        if (!t)
            return -1;
        size_t len = r->ev.data.scalar.length;
        if (len > RPT_GRID_TEXT_MAX)
            return yr_fail(r, "%zu bytes, more than the %u-byte limit", len, RPT_GRID_TEXT_MAX);
        o->grid_text = malloc(len + 1);
        if (!o->grid_text)
            return yr_fail(r, "out of memory");
        memcpy(o->grid_text, t, len);
        o->grid_text[len] = '\0';
        o->grid_len = len;
        return 0;
    }
    if (!strcmp(k, "sha"))
        return once(r, RS_SHA) || yr_hex(r, 16, &r->sha);
    if (!strcmp(k, "configurations")) {
        long long v;
        if (once(r, RS_NCONF) || yr_int(r, 1, RPT_MAX_CONFIGS, &v))
            return -1;
        r->n_configs = v;
        return 0;
    }
    if (!strcmp(k, "path"))
        return yr_str(r, o->grid_path, sizeof o->grid_path);
    if (!strcmp(k, "name"))
        return yr_str(r, o->grid_name, sizeof o->grid_name);
    return yr_skip(r);
}

static int cv_key(yr *r, const char *k)
{
    rpt_summary *o = r->out;
    yr_where(r, "cv", k);
    long long v;
    if (!strcmp(k, "folds")) {
        if (once(r, RS_FOLDS) || yr_int(r, 1, RPT_MAX_FOLDS, &v)) /* 1: a holdout split */
            return -1;
        o->folds = (int)v;
        return 0;
    }
    if (!strcmp(k, "seed"))
        return once(r, RS_CV_SEED) || yr_u64(r, &o->cv_seed);
    if (!strcmp(k, "fold_assignment_checksum"))
        return once(r, RS_CHECKSUM) || yr_hex(r, 16, &o->folds_checksum);
    return yr_skip(r);
}

static int data_key(yr *r, const char *k)
{
    rpt_summary *o = r->out;
    yr_where(r, "data", k);
    static const char *const crc[] = {"train_images_crc32", "train_labels_crc32", "test_images_crc32",
                                      "test_labels_crc32"};
    static const unsigned bits[] = {RS_TRAIN_I, RS_TRAIN_L, RS_TEST_I, RS_TEST_L};
    uint32_t *const dst[] = {&o->train_images_crc32, &o->train_labels_crc32, &o->test_images_crc32,
                             &o->test_labels_crc32};
    for (int i = 0; i < 4; i++)
        if (!strcmp(k, crc[i])) {
            uint64_t v;
            if (once(r, bits[i]) || yr_hex(r, 8, &v))
                return -1;
            *dst[i] = (uint32_t)v;
            return 0;
        }
    if (!strcmp(k, "subset")) {
        long long v;
        if (once(r, RS_SUBSET) || yr_int(r, 0, JNL_MAX_IMAGES, &v))
            return -1;
        o->subset = (int)v;
        return 0;
    }
    if (!strcmp(k, "classes")) {
        long long v;
        if (yr_int(r, 1, 256, &v))
            return -1;
        o->classes = (int)v;
        return 0;
    }
    if (!strcmp(k, "shape")) {
        char s[48], tail;
        if (yr_str(r, s, sizeof s))
            return -1;
        if (sscanf(s, "%dx%dx%d%c", &o->in_h, &o->in_w, &o->in_c, &tail) != 3 || o->in_h < 1 || o->in_h > 4096 ||
            o->in_w < 1 || o->in_w > 4096 || o->in_c < 1 || o->in_c > 4)
            return yr_fail(r, "not HxWxC (sides 1..4096, channels 1..4)");
        return 0;
    }
    return yr_skip(r);
}

/* A flow list of fold scores into dst (room for cap), each in [0, 1] or NaN. */
static int split_scores(yr *r, double *dst, int cap, int *n)
{
    *n = 0;
    if (r->ev.type != YAML_SEQUENCE_START_EVENT)
        return yr_fail(r, "expected a list of fold scores");
    for (;;) {
        if (yr_next(r))
            return -1;
        if (r->ev.type == YAML_SEQUENCE_END_EVENT)
            return 0;
        double v;
        if (yr_double(r, &v))
            return -1;
        if (!isnan(v) && !(v >= 0 && v <= 1))
            return yr_fail(r, "fold score %g outside [0, 1]", v);
        if (*n >= cap)
            return yr_fail(r, "more than the %d scores of cv.folds", cap);
        if (dst)
            dst[*n] = v;
        (*n)++;
    }
}

static int best_key(yr *r, const char *k)
{
    rpt_summary *o = r->out;
    yr_where(r, "best", k);
    long long v;
    if (!strcmp(k, "config")) {
        if (yr_int(r, 0, RPT_MAX_CONFIGS - 1, &v))
            return -1;
        o->best_config = v;
        r->best_config = 1;
        return 0;
    }
    if (!strcmp(k, "split_test_scores")) {
        int ns;
        return split_scores(r, NULL, RPT_MAX_FOLDS, &ns);
    }
    if (!strcmp(k, "mean_test_score")) {
        if (yr_double(r, &o->best_mean))
            return -1;
        if (!isnan(o->best_mean) && !(o->best_mean >= 0 && o->best_mean <= 1))
            return yr_fail(r, "%g is outside [0, 1]", o->best_mean);
        return 0;
    }
    if (!strcmp(k, "std_test_score"))
        return yr_double(r, &o->best_std);
    if (!strcmp(k, "std_error_test_score"))
        return yr_double(r, &o->best_sem);
    if (!strcmp(k, "params")) {
        if (r->ev.type != YAML_MAPPING_START_EVENT)
            return yr_fail(r, "expected a mapping");
        for (;;) {
            if (yr_next(r))
                return -1;
            if (r->ev.type == YAML_MAPPING_END_EVENT)
                return 0;
            const char *name = yr_scalar(r);
            if (!name)
                return -1;
            char nb[64];
            snprintf(nb, sizeof nb, "%s", name);
            if (yr_next(r))
                return -1;
            const char *val = yr_scalar(r);
            if (!val)
                return -1;
            if (o->n_best_params < RPT_MAX_PARAMS) {
                snprintf(o->best_param_name[o->n_best_params], sizeof o->best_param_name[0], "%s", nb);
                snprintf(o->best_param_value[o->n_best_params], sizeof o->best_param_value[0], "%s", val);
                o->n_best_params++;
            }
        }
    }
    return yr_skip(r);
}

static int refit_key(yr *r, const char *k)
{
    rpt_summary *o = r->out;
    yr_where(r, "refit", k);
    if (!strcmp(k, "config")) {
        long long v;
        if (yr_int(r, 0, RPT_MAX_CONFIGS - 1, &v))
            return -1;
        o->refit_config = (int)v;
        r->refit_config = 1;
        return 0;
    }
    if (!strcmp(k, "test_accuracy")) {
        r->refit_acc = 1;
        if (yr_double(r, &o->refit_test_accuracy))
            return -1;
        if (!isnan(o->refit_test_accuracy) && !(o->refit_test_accuracy >= 0 && o->refit_test_accuracy <= 1))
            return yr_fail(r, "%g is outside [0, 1]", o->refit_test_accuracy);
        return 0;
    }
    return yr_skip(r);
}

static int statistics_key(yr *r, const char *k)
{
    rpt_summary *o = r->out;
    yr_where(r, "statistics", k);
    if (!strcmp(k, "one_se_choice")) {
        long long v;
        if (yr_is_null(r))
            return 0;
        if (yr_int(r, 0, RPT_MAX_CONFIGS - 1, &v))
            return -1;
        o->one_se_choice = v;
        return 0;
    }
    if (!strcmp(k, "indistinguishable_from_best")) {
        if (r->ev.type != YAML_SEQUENCE_START_EVENT)
            return yr_fail(r, "expected a list");
        o->n_indistinguishable = 0;
        for (;;) {
            if (yr_next(r))
                return -1;
            if (r->ev.type == YAML_SEQUENCE_END_EVENT)
                return 0;
            if (yr_skip(r))
                return -1;
            o->n_indistinguishable++;
        }
    }
    return yr_skip(r);
}

/* One entry of `configurations`: its split scores go to row r->n_cfg. */
static int config_key(yr *r, const char *k)
{
    rpt_summary *o = r->out;
    snprintf(r->where, sizeof r->where, "configurations[%lld].%.40s", (long long)r->n_cfg, k);
    if (!strcmp(k, "config")) {
        long long v;
        if (yr_int(r, 0, RPT_MAX_CONFIGS - 1, &v))
            return -1;
        if (v != r->n_cfg)
            return yr_fail(r, "%lld, expected %lld (entries in configuration order)", v, (long long)r->n_cfg);
        return 0;
    }
    if (!strcmp(k, "iter")) { /* a halving search: the iteration of the split scores */
        long long v;
        if (yr_int(r, 0, HALV_MAX_ITER - 1, &v))
            return -1;
        o->iter[r->n_cfg] = (int)v;
        return 0;
    }
    if (!strcmp(k, "split_test_scores")) {
        int n;
        if (split_scores(r, o->split + r->n_cfg * o->folds, o->folds, &n))
            return -1;
        if (n != o->folds)
            return yr_fail(r, "%d fold scores, but cv.folds is %d", n, o->folds);
        return 0;
    }
    return yr_skip(r);
}

static int configurations(yr *r)
{
    rpt_summary *o = r->out;
    snprintf(r->where, sizeof r->where, "configurations");
    if (once(r, RS_CONFIGS))
        return -1;
    if (r->ev.type != YAML_SEQUENCE_START_EVENT)
        return yr_fail(r, "expected a list");
    /* The split scores are kept: n_configs x folds, both known (and checked against the
     * file's size) before the list, as rpt_write orders them. */
    if (!(r->seen & RS_NCONF) || !(r->seen & RS_FOLDS))
        return yr_fail(r, "grid.configurations and cv.folds must come before the list");
    if ((double)r->n_configs * (64.0 + 2.0 * o->folds) > (double)r->file_size)
        return yr_fail(r, "grid.configurations says %lld configurations of %d folds, more than a %lld-byte file "
                          "can hold",
                       (long long)r->n_configs, o->folds, (long long)r->file_size);
    o->split = malloc((size_t)r->n_configs * (size_t)o->folds * sizeof *o->split);
    o->iter = malloc((size_t)(r->n_configs ? r->n_configs : 1) * sizeof *o->iter);
    if (!o->split || !o->iter)
        return yr_fail(r, "out of memory for %lld x %d fold scores", (long long)r->n_configs, o->folds);
    for (int64_t i = 0; i < r->n_configs; i++)
        o->iter[i] = -1;
    for (int64_t i = 0; i < r->n_configs * o->folds; i++)
        o->split[i] = NAN;
    for (;;) {
        if (yr_next(r))
            return -1;
        if (r->ev.type == YAML_SEQUENCE_END_EVENT)
            break;
        if (r->n_cfg >= r->n_configs) {
            snprintf(r->where, sizeof r->where, "configurations");
            return yr_fail(r, "more entries than grid.configurations (%lld)", (long long)r->n_configs);
        }
        char name[48];
        snprintf(name, sizeof name, "configurations[%lld]", (long long)r->n_cfg);
        int had_split = 0;
        if (r->ev.type == YAML_MAPPING_START_EVENT) {
            /* whether split_test_scores was there: a NaN-filled row otherwise */
            double *row = o->split + r->n_cfg * o->folds;
            row[0] = -1; /* sentinel: overwritten by split_scores */
            if (yr_mapping(r, name, config_key))
                return -1;
            had_split = row[0] != -1;
            if (!had_split)
                row[0] = NAN;
        } else if (yr_mapping(r, name, config_key)) {
            return -1;
        }
        if (!had_split) {
            snprintf(r->where, sizeof r->where, "%s.split_test_scores", name);
            return yr_fail(r, "missing");
        }
        r->n_cfg++;
    }
    o->n_configs = r->n_cfg;
    if (r->n_cfg != r->n_configs) {
        snprintf(r->where, sizeof r->where, "configurations");
        return yr_fail(r, "%lld entries, but grid.configurations is %lld", (long long)r->n_cfg,
                       (long long)r->n_configs);
    }
    return 0;
}

/* report.yaml's weights_crc32 mapping: a Keras weights file's path -> its CRC-32. */
static int weights_key(yr *r, const char *k)
{
    rpt_summary *o = r->out;
    yr_where(r, "weights_crc32", k);
    if (o->n_weights >= RPT_MAX_WEIGHTS)
        return yr_fail(r, "more than %d weights files", RPT_MAX_WEIGHTS);
    uint64_t v;
    if (yr_hex(r, 8, &v))
        return -1;
    snprintf(o->weights_path[o->n_weights], sizeof o->weights_path[0], "%s", k);
    o->weights_crc32[o->n_weights++] = (uint32_t)v;
    return 0;
}

static int root_key(yr *r, const char *k)
{
    rpt_summary *o = r->out;
    yr_where(r, NULL, k);
    long long v;
    if (!strcmp(k, "fmnist_grid_report")) {
        if (once(r, RS_VERSION) || yr_int(r, 1, 1000, &v))
            return -1;
        if (v != 1)
            return yr_fail(r, "format %lld, this program reads 1", v);
        return 0;
    }
    if (!strcmp(k, "program"))
        return yr_mapping(r, "program", program_key);
    if (!strcmp(k, "grid"))
        return once(r, RS_GRID) || yr_mapping(r, "grid", grid_key);
    if (!strcmp(k, "cv"))
        return once(r, RS_CV) || yr_mapping(r, "cv", cv_key);
    if (!strcmp(k, "data"))
        return once(r, RS_DATA) || yr_mapping(r, "data", data_key);
    if (!strcmp(k, "seed"))
        return once(r, RS_SEED) || yr_u64(r, &o->seed);
    if (!strcmp(k, "tasks") || !strcmp(k, "tasks_done")) {
        if (yr_int(r, 0, INT64_MAX, &v))
            return -1;
        *(!strcmp(k, "tasks") ? &o->tasks : &o->tasks_done) = v;
        return 0;
    }
    if (!strcmp(k, "training_time_s"))
        return yr_double(r, &o->training_time);
    if (!strcmp(k, "best")) {
        if (once(r, RS_BEST))
            return -1;
        if (yr_is_null(r))
            return 0;
        if (yr_mapping(r, "best", best_key))
            return -1;
        snprintf(r->where, sizeof r->where, "best.config");
        return r->best_config ? 0 : yr_fail(r, "missing (a required field)");
    }
    if (!strcmp(k, "refit")) {
        if (once(r, RS_REFIT))
            return -1;
        if (yr_is_null(r))
            return 0;
        if (yr_mapping(r, "refit", refit_key))
            return -1;
        snprintf(r->where, sizeof r->where, "refit.%s", r->refit_config ? "test_accuracy" : "config");
        return r->refit_config && r->refit_acc ? 0 : yr_fail(r, "missing (a required field)");
    }
    if (!strcmp(k, "statistics"))
        return yr_mapping(r, "statistics", statistics_key);
    if (!strcmp(k, "configurations"))
        return configurations(r);
    if (!strcmp(k, "weights_crc32"))
        return yr_mapping(r, "weights_crc32", weights_key);
    return yr_skip(r);
}

void rpt_summary_free(rpt_summary *s)
{
    if (!s)
        return;
    free(s->grid_text);
    free(s->split);
    free(s->iter);
    memset(s, 0, sizeof *s);
}

/* The fields every report has and reproduce needs, and their agreement: the grid text
 * with its hash, best and refit within the configurations. */
static int summary_complete(const yr *r, const char *path, rpt_summary *out, fg_err *err)
{
    int rc = 0;
    /* Required fields, in the order a reader would look for them. */
    static const struct {
        unsigned bit;
        const char *name;
    } req[] = {{RS_VERSION, "fmnist_grid_report"},
               {RS_TEXT, "grid.text"},
               {RS_SHA, "grid.sha"},
               {RS_NCONF, "grid.configurations"},
               {RS_SEED, "seed"},
               {RS_FOLDS, "cv.folds"},
               {RS_CV_SEED, "cv.seed"},
               {RS_CHECKSUM, "cv.fold_assignment_checksum"},
               {RS_SUBSET, "data.subset"},
               {RS_TRAIN_I, "data.train_images_crc32"},
               {RS_TRAIN_L, "data.train_labels_crc32"},
               {RS_TEST_I, "data.test_images_crc32"},
               {RS_TEST_L, "data.test_labels_crc32"},
               {RS_BEST, "best"},
               {RS_REFIT, "refit"},
               {RS_CONFIGS, "configurations"}};
    if (!(r->seen & RS_VERSION) && !(r->seen & RS_TEXT))
        rc = fg_err_set(err, "%s: not a fmnist-grid report.yaml (no fmnist_grid_report, no grid text)", path);
    for (size_t i = 0; !rc && i < sizeof req / sizeof req[0]; i++)
        if (!(r->seen & req[i].bit))
            rc = fg_err_set(err, "%s: %s: missing (a required field)", path, req[i].name);
    uint64_t got = rc ? 0 : fg_hash_bytes(out->grid_text, out->grid_len, 0);
    if (!rc && got != r->sha)
        rc = fg_err_set(err, "%s: grid.text does not match its recorded hash grid.sha (%016llx; the text "
                             "hashes to %016llx): the grid text was changed",
                        path, (unsigned long long)r->sha, (unsigned long long)got);
    if (!rc && out->best_config >= out->n_configs)
        rc = fg_err_set(err, "%s: best.config: %lld is outside 0..%lld", path, (long long)out->best_config,
                        (long long)out->n_configs - 1);
    if (!rc && out->refit_config >= out->n_configs)
        rc = fg_err_set(err, "%s: refit.config: %d is outside 0..%lld", path, out->refit_config,
                        (long long)out->n_configs - 1);
    if (!rc && !out->grid_path[0])
        snprintf(out->grid_path, sizeof out->grid_path, "%s", path);
    return rc;
}

int rpt_read_summary(const char *path, rpt_summary *out, fg_err *err)
{
    memset(out, 0, sizeof *out);
    out->best_config = -1;
    out->best_mean = out->best_std = out->best_sem = out->training_time = out->wall_time = NAN;
    out->one_se_choice = out->tasks = out->tasks_done = -1;
    out->n_indistinguishable = -1;
    out->refit_config = -1;
    out->refit_test_accuracy = NAN;
    int fd;
    int64_t size;
    if (fg_open_regular(path, O_RDONLY, "report.yaml", &fd, &size, err))
        return -1;
    if (size > (int64_t)RPT_YAML_MAX) {
        close(fd);
        return fg_err_set(err, "%s: %lld bytes, more than the %u-byte limit for a report.yaml", path,
                          (long long)size, RPT_YAML_MAX);
    }
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        close(fd);
        return fg_err_set(err, "%s: cannot read: %s", path, strerror(errno));
    }
    yr r;
    memset(&r, 0, sizeof r);
    r.path = path;
    r.err = err;
    r.out = out;
    r.file_size = size;
    if (!yaml_parser_initialize(&r.p)) {
        fclose(f);
        return fg_err_set(err, "%s: libyaml: cannot initialise", path);
    }
    yaml_parser_set_input_file(&r.p, f);
    int rc = 0;
    /* stream start, document start, the root mapping */
    if (yr_next(&r) || yr_next(&r))
        rc = -1;
    else if (r.ev.type != YAML_DOCUMENT_START_EVENT)
        rc = fg_err_set(err, "%s: not a fmnist-grid report.yaml (empty)", path), r.failed = 1;
    else if (yr_next(&r))
        rc = -1;
    else if (r.ev.type != YAML_MAPPING_START_EVENT)
        rc = fg_err_set(err, "%s: not a fmnist-grid report.yaml (not a mapping)", path), r.failed = 1;
    else if (yr_mapping(&r, "report", root_key))
        rc = -1;
    r.where[0] = '\0';
    if (!rc)
        rc = summary_complete(&r, path, out, err);
    if (r.have_ev)
        yaml_event_delete(&r.ev);
    yaml_parser_delete(&r.p);
    fclose(f);
    if (rc)
        rpt_summary_free(out);
    return rc;
}

