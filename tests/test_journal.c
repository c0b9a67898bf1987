/* test_journal.c - journal round trip, torn and damaged lines, and ranking with ties. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "grid.h"
#include "journal.h"
#include "report.h"

static jnl_record *rec(int config, int fold, int status, float acc)
{
    static jnl_record r;
    memset(&r, 0, sizeof r);
    r.e.task = config * 3 + fold;
    r.e.config = config;
    r.e.fold = fold;
    r.e.status = status;
    r.e.val_acc = status == NN_STATUS_OK ? acc : NAN;
    r.e.val_loss = 0.5f;
    r.e.test_acc = r.e.test_loss = NAN;
    r.e.fit_time = 1.25 + config;
    r.e.epochs_run = 2;
    r.e.config_hash = 0x0123456789abcdefULL + (uint64_t)config;
    snprintf(r.e.host, sizeof r.e.host, "node\"%d", config); /* a quote must survive */
    snprintf(r.e.msg, sizeof r.e.msg, "line\nbreak");
    r.hist[0].loss = 1.5f;
    r.hist[0].acc = 0.25f;
    r.hist[1].loss = 0.75f;
    r.hist[1].acc = 1.0f / 3.0f;
    r.hist[1].val_acc = NAN;
    return &r;
}

static void test_round_trip(const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/j.jsonl", dir);
    jnl_header h;
    memset(&h, 0, sizeof h);
    snprintf(h.grid_name, sizeof h.grid_name, "t");
    h.grid_hash = 0xfeedfacecafebeefULL;
    h.n_configs = 4;
    h.folds = 3;
    h.seed = 18446744073709551615ULL; /* needs exact integer parsing */
    h.cv_seed = 7;
    h.subset = 600;
    h.folds_checksum = 42;
    h.train_images_crc32 = 0xdeadbeef;
    jnl *j = NULL;
    fg_err err;
    CHECK(jnl_create(path, &h, &j, &err) == 0);
    jnl *j2 = NULL;
    CHECK(jnl_create(path, &h, &j2, &err) != 0); /* never overwrites */
    CHECK(j2 == NULL);
    const float accs[4][3] = {{0.5f, 0.6f, 0.7f}, {0.6f, 0.6f, 0.6f}, {0.9f, 0.1f, 0.2f}, {0.7f, 0.5f, 0.6f}};
    for (int c = 0; c < 4; c++)
        for (int f = 0; f < 3; f++)
            CHECK(jnl_append(j, rec(c, f, (c == 2 && f == 1) ? NN_STATUS_DIVERGED : NN_STATUS_OK, accs[c][f]),
                             "a=1, b=x", &err) == 0);
    jnl_close(j);

    jnl_header h2;
    jnl_entry *e = NULL;
    int n = 0, bad = 0;
    CHECK(jnl_read(path, &h2, &e, &n, &bad, &err) == 0);
    CHECK_INT(n, 12);
    CHECK_INT(bad, 0);
    CHECK(h2.seed == h.seed);
    CHECK(h2.grid_hash == h.grid_hash);
    CHECK(h2.train_images_crc32 == 0xdeadbeef);
    CHECK_INT(h2.subset, 600);
    CHECK_INT(h2.n_configs, 4);
    CHECK(!strcmp(h2.grid_name, "t"));
    CHECK(e[4].val_acc == accs[1][1]); /* bit-exact float round trip */
    CHECK(e[4].config_hash == 0x0123456789abcdefULL + 1);
    CHECK(!strcmp(e[4].host, "node\"1"));
    CHECK(!strcmp(e[4].msg, "line\nbreak"));
    CHECK(e[7].status == NN_STATUS_DIVERGED);
    CHECK(isnan(e[7].val_acc));
    CHECK(e[0].fit_time == 1.25);
    nn_epoch hist[4];
    CHECK_INT(jnl_read_history(path, 1, 1, hist, 4, &err), 2);
    CHECK(hist[1].acc == 1.0f / 3.0f);
    CHECK(isnan(hist[1].val_acc));
    CHECK(jnl_read_history(path, 9, 0, hist, 4, &err) < 0);

    /* Ranking: config means 0.6, 0.6, NaN (diverged fold), 0.6 -> all finite tie at rank 1. */
    rpt_config *agg = NULL;
    double *sp = NULL;
    CHECK(rpt_aggregate(e, n, 4, 3, &agg, &sp, &err) == 0);
    CHECK_NEAR(agg[1].mean, 0.6, 1e-6);
    CHECK(isnan(agg[2].mean));
    CHECK_INT(agg[2].status, NN_STATUS_DIVERGED);
    CHECK_INT(agg[2].rank, 4); /* NaN ranks after the three finite ones */
    CHECK_INT(agg[1].std == 0.0, 1);
    /* float sums: 0.5+0.6+0.7 and 0.7+0.5+0.6 may differ in the last bit; ranks follow them */
    CHECK(agg[0].rank >= 1 && agg[0].rank <= 3);
    CHECK(isnan(sp[2 * 3 + 1]));
    CHECK_NEAR(sp[2 * 3 + 0], 0.9, 1e-6);
    free(agg);
    free(sp);

    /* A torn last line (crash mid-write) is ignored; a damaged line is counted as bad. */
    FILE *f = fopen(path, "a");
    fputs("{\"task\":99,\"config\":3,\"fold\":0,\"hash\":\"00", f);
    fclose(f);
    free(e);
    CHECK(jnl_read(path, &h2, &e, &n, &bad, &err) == 0);
    CHECK_INT(n, 12);
    CHECK_INT(bad, 1);
    free(e);
    /* Reopening for append cuts the torn tail; a new record then reads back. */
    CHECK(jnl_open_append(path, &j, &err) == 0);
    CHECK(jnl_append(j, rec(3, 2, NN_STATUS_OK, 0.25f), NULL, &err) == 0);
    jnl_close(j);
    CHECK(jnl_read(path, &h2, &e, &n, &bad, &err) == 0);
    CHECK_INT(n, 13);
    CHECK_INT(bad, 0);
    CHECK(e[12].val_acc == 0.25f);
    free(e);
    /* Flip one digit inside a record: its CRC no longer matches. */
    f = fopen(path, "r+");
    char buf[1 << 16];
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    buf[len] = 0;
    char *p = strstr(buf, "\"val_acc\":0.6");
    CHECK(p != NULL);
    if (p) {
        fseek(f, (long)(p - buf) + 13, SEEK_SET);
        fputc('9', f);
    }
    fclose(f);
    CHECK(jnl_read(path, &h2, &e, &n, &bad, &err) == 0);
    CHECK_INT(n, 12);
    CHECK_INT(bad, 1);
    free(e);
    /* Not a journal at all. */
    f = fopen(path, "w");
    fputs("hello\n", f);
    fclose(f);
    CHECK(jnl_read(path, &h2, &e, &n, &bad, &err) != 0);
    CHECK_STR_CONTAINS(err.msg, "not a fmnist-grid journal");
    unlink(path);
}

/* ---- every record checked against its header (and the grid) ----------------------------- */

static int count_records(void *ctx, const jnl_record *r)
{
    (void)r;
    (*(int *)ctx)++;
    return 0;
}

/* Appends line (without "crc32" and the closing brace) with a correct CRC-32: a record a
 * crash cannot produce, only a copy or an edit. */
static void append_forged(const char *path, const char *body)
{
    FILE *f = fopen(path, "a");
    CHECK(f != NULL);
    if (!f)
        return;
    fprintf(f, "%s,\"crc32\":\"%08lx\"}\n", body, (unsigned long)crc32(0L, (const Bytef *)body, (uInt)strlen(body)));
    fclose(f);
}

/* The record line of (config, fold) in path, without its CRC, into out. */
static int record_body(const char *path, int config, int fold, char *out, size_t cap)
{
    FILE *f = fopen(path, "r");
    char key[64];
    snprintf(key, sizeof key, "\"config\":%d,\"fold\":%d,", config, fold);
    static char line[1 << 16];
    int found = 0;
    while (f && fgets(line, sizeof line, f))
        if (strstr(line, key) && strstr(line, "\"task\"")) {
            char *c = strstr(line, ",\"crc32\":");
            if (c)
                *c = '\0';
            snprintf(out, cap, "%s", line);
            found = 1;
        }
    if (f)
        fclose(f);
    return found;
}

/* Replaces the first "key":value in body by "key":repl. */
static void set_field(char *body, size_t cap, const char *key, const char *repl)
{
    char k[64], *tmp = malloc(cap);
    snprintf(k, sizeof k, "\"%s\":", key);
    char *p = strstr(body, k);
    CHECK_MSG(p != NULL, "no %s in %s", key, body);
    if (!p || !tmp) {
        free(tmp);
        return;
    }
    char *v = p + strlen(k), *e = v;
    if (*e == '"') {
        e = strchr(e + 1, '"') + 1;
    } else if (*e == '[') {
        int depth = 0;
        do {
            depth += *e == '[' ? 1 : *e == ']' ? -1 : 0;
            e++;
        } while (depth > 0 && *e);
    } else {
        while (*e && *e != ',' && *e != '}')
            e++;
    }
    snprintf(tmp, cap, "%.*s%s%s", (int)(v - body), body, repl, e);
    snprintf(body, cap, "%s", tmp);
    free(tmp);
}

static jnl_header header_of(uint64_t seed)
{
    jnl_header h;
    memset(&h, 0, sizeof h);
    snprintf(h.grid_name, sizeof h.grid_name, "t");
    h.grid_hash = 0xfeedfacecafebeefULL;
    h.n_configs = 4;
    h.folds = 3;
    h.seed = seed;
    h.cv_seed = 7;
    h.subset = 600;
    return h;
}

static void write_search(const char *path, uint64_t seed, int n_records)
{
    jnl_header h = header_of(seed);
    jnl *j = NULL;
    fg_err err;
    unlink(path);
    CHECK(jnl_create(path, &h, &j, &err) == 0);
    for (int t = 0; j && t < n_records; t++) {
        jnl_record *r = rec(t / 3, t % 3, NN_STATUS_OK, 0.5f + 0.01f * (float)t);
        r->e.n_train = 400;
        r->e.n_val = 200;
        CHECK(jnl_append(j, r, "a=1", &err) == 0);
    }
    jnl_close(j);
}

/* Loads path; returns the number of accepted records and puts the first issue in why (n
 * bytes: FG_ERR_MAX holds any message whole). */
static int load_count(const char *path, const jnl_expect *x, char *why, size_t n, long *line)
{
    jnl_contents c;
    fg_err err;
    why[0] = '\0';
    *line = 0;
    if (jnl_load(path, x, &c, &err)) {
        snprintf(why, n, "%s", err.msg);
        return -1;
    }
    int k = c.n;
    if (c.n_issues) {
        snprintf(why, n, "%s", c.issues[0].why);
        *line = c.issues[0].line;
    }
    jnl_contents_free(&c);
    return k;
}

static void test_records_checked(const char *dir)
{
    char a[512], b[512], why[FG_ERR_MAX];
    long line;
    snprintf(a, sizeof a, "%s/a.jsonl", dir);
    snprintf(b, sizeof b, "%s/b.jsonl", dir);
    write_search(a, 1, 6);  /* configs 0 and 1 done */
    write_search(b, 2, 12); /* the same grid, another seed: every record CRC-valid */
    CHECK_INT(load_count(a, NULL, why, sizeof why, &line), 6);
    static char body[1 << 16], base[1 << 16];
    CHECK(record_body(a, 1, 2, base, sizeof base));

    /* A line copied from another search (identical but for its identity) is not this one's. */
    CHECK(record_body(b, 2, 0, body, sizeof body));
    append_forged(a, body);
    CHECK_INT(load_count(a, NULL, why, sizeof why, &line), 6);
    CHECK_STR_CONTAINS(why, "a record of another search");
    CHECK_INT(line, 8); /* header, 6 records, then the copy */

    /* Each out-of-range number, each inconsistency: one forged record each, all skipped. */
    struct {
        const char *key, *value, *why;
    } cases[] = {
        {"val_acc", "7.5", "validation accuracy 7.5 outside [0, 1]"},
        {"val_acc", "-0.25", "validation accuracy"},
        {"val_acc", "null", "validation accuracy"}, /* an "ok" task has a score */
        {"val_loss", "-1", "validation loss"},
        {"val_loss", "1e999", "validation loss"},
        {"test_acc", "2", "test accuracy"},
        {"fit_time", "-3", "fit time"},
        {"fit_time", "null", "fit time"},
        {"score_time", "1e300", "score time"},
        {"config", "4", "configuration 4 outside 0..3"}, /* with its task id 14: beyond the header's 4 */
        {"fold", "3", "fold 3 outside 0..2"},
        {"task", "4", "task 4 is not configuration 1 fold 2's (5)"},
        {"epochs", "3", "3 epochs but a history of 2"},
        {"epochs", "2000", "epochs, outside 0..1000"},
        {"best_epoch", "2", "best epoch 2 outside -1..1"},
        {"n_train", "500", "more than the 600 of the search's subset"},
        {"n_val", "-1", "validation images"},
        {"rank", "-2", "rank -2"},
        {"config", "1.5", "field \"config\" does not parse"},
        {"config", "99999999999", "field \"config\" does not parse"},
        {"hash", "\"12\"", "field \"hash\" does not parse"},
        {"search", "\"0000000000000000\"", "a record of another search"},
        {"history", "[[1,2,3,4,5,6],[1,0.5,0.5,0.5,0.1,1]]", "history epoch 1 out of range"},
        {"history", "[[0.5,0.5,0.5,0.5,-0.1,1],[1,0.5,0.5,0.5,0.1,1]]", "history epoch 1 out of range"},
        {"status", "\"great\"", "field \"status\" does not parse"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_search(a, 1, 6);
        snprintf(body, sizeof body, "%s", base);
        if (!strcmp(cases[i].key, "config") && !strcmp(cases[i].value, "4"))
            snprintf(body, sizeof body, "{\"task\":14,\"config\":4,\"fold\":2%s", strstr(base, ",\"hash\""));
        else
            set_field(body, sizeof body, cases[i].key, cases[i].value);
        append_forged(a, body);
        int k = load_count(a, NULL, why, sizeof why, &line);
        CHECK_MSG(k == 6 && line == 8, "%s=%s: %d records, first issue at line %ld: %s", cases[i].key, cases[i].value,
                  k, line, why);
        CHECK_MSG(strstr(why, cases[i].why) != NULL, "%s=%s: \"%s\" lacks \"%s\"", cases[i].key, cases[i].value,
                  why, cases[i].why);
    }
    /* The base record itself, re-appended with a correct CRC, is fine (a duplicate). */
    write_search(a, 1, 6);
    append_forged(a, base);
    CHECK_INT(load_count(a, NULL, why, sizeof why, &line), 7);

    /* A record without one of the fields every version writes. */
    write_search(a, 1, 6);
    snprintf(body, sizeof body, "%s", base);
    char *fit = strstr(body, ",\"fit_time\":");
    char *next = fit ? strchr(fit + 1, ',') : NULL;
    if (next)
        memmove(fit, next, strlen(next) + 1);
    append_forged(a, body);
    CHECK_INT(load_count(a, NULL, why, sizeof why, &line), 6);
    CHECK_STR_CONTAINS(why, "no \"fit_time\" field");

    /* A second header line (two journals joined) and its records are not this search's. */
    write_search(a, 1, 6);
    FILE *f = fopen(a, "a"), *g = fopen(b, "r");
    char buf[1 << 16];
    while (f && g && fgets(buf, sizeof buf, g))
        fputs(buf, f);
    if (f)
        fclose(f);
    if (g)
        fclose(g);
    CHECK_INT(load_count(a, NULL, why, sizeof why, &line), 6);
    CHECK_STR_CONTAINS(why, "a second header line");

    unlink(a);
    unlink(b);
}

/* The refit's confusion matrix: k x k counts for any class count up to JNL_MAX_CLASSES, the
 * class count read back from their number; a count that is no square, or a larger one, is
 * refused. */
static void test_confusion(const char *dir)
{
    char a[512], why[256];
    long line;
    snprintf(a, sizeof a, "%s/conf.jsonl", dir);
    const int ks[3] = {5, 62, JNL_MAX_CLASSES};
    for (int t = 0; t < 3; t++) {
        int k = ks[t];
        jnl_header h = header_of(1);
        jnl *j = NULL;
        fg_err err;
        unlink(a);
        CHECK(jnl_create(a, &h, &j, &err) == 0);
        jnl_record *r = rec(1, JNL_REFIT, NN_STATUS_OK, NAN);
        r->e.task = -1;
        r->e.val_acc = r->e.val_loss = NAN;
        r->e.test_acc = 0.5f;
        r->e.test_loss = 1.0f;
        r->e.n_train = 600;
        r->e.classes = k;
        for (int i = 0; i < k * k; i++)
            r->confusion[i] = i % 7;
        CHECK(j && jnl_append(j, r, NULL, &err) == 0);
        jnl_close(j);
        jnl_header h2;
        jnl_entry *e = NULL;
        int n = 0, bad = 0;
        CHECK(jnl_read(a, &h2, &e, &n, &bad, &err) == 0);
        CHECK_INT(n, 1);
        if (n == 1) {
            CHECK_INT(e[0].classes, k);
            int wrong = !e[0].confusion;
            for (int i = 0; e[0].confusion && i < k * k; i++)
                wrong += e[0].confusion[i] != i % 7;
            CHECK_MSG(wrong == 0, "%d classes: the confusion counts differ", k);
        }
        free(e);
    }
    static char body[1 << 16], base[1 << 16];
    CHECK(record_body(a, 1, JNL_REFIT, base, sizeof base));
    const char *cases[2] = {"[1,2,3]", NULL};
    static char big[(JNL_MAX_CLASSES + 1) * (JNL_MAX_CLASSES + 1) * 2 + 8];
    size_t n = 0;
    for (int i = 0; i < (JNL_MAX_CLASSES + 1) * (JNL_MAX_CLASSES + 1); i++)
        n += (size_t)snprintf(big + n, sizeof big - n, "%s0", i ? "," : "[");
    snprintf(big + n, sizeof big - n, "]");
    cases[1] = big;
    for (int i = 0; i < 2; i++) {
        snprintf(body, sizeof body, "%s", base);
        set_field(body, sizeof body, "confusion", cases[i]);
        jnl_header h = header_of(1); /* the header line alone, then the forged record */
        jnl *j = NULL;
        fg_err err;
        unlink(a);
        CHECK(jnl_create(a, &h, &j, &err) == 0);
        jnl_close(j);
        append_forged(a, body);
        CHECK_INT(load_count(a, NULL, why, sizeof why, &line), 0);
        CHECK_STR_CONTAINS(why, "field \"confusion\" does not parse");
    }
    unlink(a);
}

/* The grid's side (rpt_journal_expect): a record's hash must be its configuration's in the
 * grid, and its epochs at most the configured number. */
static void test_grid_expect(const char *dir)
{
    static const char text[] = "name: t\ncv:\n  folds: 3\ntrain:\n  optimizer: sgd\n  learning_rate: 0.1\n"
                               "  epochs: 2\nmodel:\n  - {type: dense, units: $units, activation: relu}\n"
                               "  - {type: dense, units: 10, activation: softmax}\ngrid:\n  units: [4, 8, 16, 32]\n";
    grid *g = NULL;
    fg_err err;
    CHECK(grid_load_string(text, strlen(text), "t.yaml", &g, &err) == 0);
    if (!g)
        return;
    char a[512], why[FG_ERR_MAX];
    long line;
    snprintf(a, sizeof a, "%s/g.jsonl", dir);
    jnl_header h = header_of(1);
    jnl *j = NULL;
    unlink(a);
    CHECK(jnl_create(a, &h, &j, &err) == 0);
    for (int t = 0; j && t < 12; t++) {
        jnl_record *r = rec(t / 3, t % 3, NN_STATUS_OK, 0.5f);
        r->e.config_hash = grid_config_hash(g, t / 3);
        if (t == 4)
            r->e.config_hash = grid_config_hash(g, 2); /* configuration 2's record as 1's */
        if (t == 7) {                                  /* more epochs than configured */
            r->e.epochs_run = 3;
            r->hist[2] = r->hist[1];
        }
        CHECK(jnl_append(j, r, NULL, &err) == 0);
    }
    jnl_close(j);
    CHECK_INT(load_count(a, NULL, why, sizeof why, &line), 12); /* the header cannot tell */
    jnl_expect x;
    CHECK(rpt_journal_expect(g, &x, &err) == 0);
    jnl_contents c;
    CHECK(jnl_load(a, &x, &c, &err) == 0);
    CHECK_INT(c.n, 10);
    CHECK_INT(c.n_rejected, 2);
    CHECK_INT(c.n_issues, 2);
    CHECK_INT(c.issues[0].line, 6);
    CHECK_STR_CONTAINS(c.issues[0].why, "configuration 1's hash is");
    CHECK_STR_CONTAINS(c.issues[0].why, "a record of another grid");
    CHECK_INT(c.issues[1].line, 9);
    CHECK_STR_CONTAINS(c.issues[1].why, "3 epochs, more than configuration 2's 2");
    jnl_contents_free(&c);
    /* histories come through the same checks */
    int seen = 0;
    CHECK(jnl_each_record_ex(a, &x, count_records, &seen, &err) == 0);
    CHECK_INT(seen, 10);
    rpt_journal_expect_free(&x);
    grid_free(g);
    unlink(a);
}

/* Session records: the start and the end of a run, read back as one session that the
 * records following it belong to; older readers see a line they skip. */
static void test_sessions(const char *dir)
{
    char a[512];
    snprintf(a, sizeof a, "%s/s.jsonl", dir);
    jnl_header h = header_of(1);
    jnl *j = NULL;
    fg_err err;
    unlink(a);
    CHECK(jnl_create(a, &h, &j, &err) == 0);
    jnl_session s;
    memset(&s, 0, sizeof s);
    s.number = 1;
    snprintf(s.role, sizeof s.role, "search");
    snprintf(s.started_utc, sizeof s.started_utc, "2026-01-02T03:04:05Z");
    snprintf(s.hosts, sizeof s.hosts, "nodeA:2,nodeB:2");
    snprintf(s.command, sizeof s.command, "mpirun -np 4 fmnist-grid 'a b.yaml'");
    s.ranks = 4, s.workers = -1, s.threads = 1, s.wall_time = NAN;
    s.test_images_crc32 = 0x12345678;
    CHECK(jnl_append_session(j, &s, &err) == 0);
    for (int t = 0; t < 3; t++) {
        jnl_record *r = rec(0, t, NN_STATUS_OK, 0.5f);
        CHECK(jnl_append(j, r, NULL, &err) == 0);
    }
    s.ended = 1, s.workers = 4, s.wall_time = 12.5;
    CHECK(jnl_append_session(j, &s, &err) == 0);
    s.number = 2, s.ended = 0, s.workers = -1, s.wall_time = NAN;
    snprintf(s.started_utc, sizeof s.started_utc, "2026-01-03T00:00:00Z");
    snprintf(s.hosts, sizeof s.hosts, "nodeC:1");
    CHECK(jnl_append_session(j, &s, &err) == 0); /* killed: no end record */
    CHECK(jnl_append(j, rec(1, 0, NN_STATUS_OK, 0.5f), NULL, &err) == 0);
    jnl_close(j);
    jnl_contents c;
    CHECK(jnl_load(a, NULL, &c, &err) == 0);
    CHECK_INT(c.n, 4);
    CHECK_INT(c.n_torn + c.n_rejected, 0);
    CHECK_INT(c.n_sessions, 2);
    if (c.n_sessions == 2 && c.n == 4) {
        CHECK(c.s[0].ended && c.s[0].workers == 4 && c.s[0].wall_time == 12.5);
        CHECK(!strcmp(c.s[0].hosts, "nodeA:2,nodeB:2"));
        CHECK(!strcmp(c.s[0].command, "mpirun -np 4 fmnist-grid 'a b.yaml'"));
        CHECK(!strcmp(c.s[0].file, "s.jsonl"));
        CHECK(c.s[0].test_images_crc32 == 0x12345678);
        CHECK(!c.s[1].ended && isnan(c.s[1].wall_time));
        CHECK(c.e[0].session == 0 && c.e[2].session == 0 && c.e[3].session == 1);
    }
    jnl_contents_free(&c);
    /* A journal written before session records and record identities (version 1) still
     * reads: its records need no identity. */
    FILE *f = fopen(a, "w");
    const char *hdr = "{\"fmnist_grid_journal\":1,\"grid\":\"t\",\"grid_hash\":\"feedfacecafebeef\",\"configs\":4,"
                      "\"folds\":3,\"seed\":1,\"cv_seed\":7,\"subset\":600,\"folds_checksum\":\"0000000000000000\","
                      "\"train_images_crc32\":\"00000000\",\"train_labels_crc32\":\"00000000\"";
    if (f)
        fclose(f);
    append_forged(a, hdr);
    static char body[1 << 16];
    snprintf(body, sizeof body,
             "{\"task\":4,\"config\":1,\"fold\":1,\"hash\":\"0123456789abcdf0\",\"status\":\"ok\",\"val_acc\":0.5,"
             "\"val_loss\":0.5,\"test_acc\":null,\"test_loss\":null,\"fit_time\":1.25,\"score_time\":0,\"epochs\":1,"
             "\"best_epoch\":-1,\"n_train\":400,\"n_val\":200,\"rank\":0,\"host\":\"h\",\"params\":\"\",\"msg\":\"\","
             "\"history\":[[1,0.5,null,null,0.1,0.25]]");
    append_forged(a, body);
    CHECK(jnl_load(a, NULL, &c, &err) == 0);
    CHECK_INT(c.h.version, 1);
    CHECK_INT(c.n, 1);
    CHECK_INT(c.n_sessions, 0);
    CHECK_INT(c.e[0].session, -1);
    jnl_contents_free(&c);
    /* ... and a resume appends records with an identity that the version 1 header accepts. */
    CHECK(jnl_open_append(a, &j, &err) == 0);
    CHECK(jnl_append(j, rec(1, 2, NN_STATUS_OK, 0.5f), NULL, &err) == 0);
    jnl_close(j);
    CHECK(jnl_load(a, NULL, &c, &err) == 0);
    CHECK_INT(c.n, 2);
    jnl_contents_free(&c);
    unlink(a);
}

/* Files that are not journals: a FIFO (open() would wait for a writer) and /dev/zero
 * (endless, no newline) are refused at once; a line longer than JNL_LINE_MAX is skipped
 * without being held, and the records after it still read. */
static void test_special_files(const char *dir)
{
    char fifo[512], zero[512], a[512], why[FG_ERR_MAX];
    long line;
    snprintf(fifo, sizeof fifo, "%s/fifo.jsonl", dir);
    snprintf(zero, sizeof zero, "%s/zero.jsonl", dir);
    snprintf(a, sizeof a, "%s/long.jsonl", dir);
    CHECK(mkfifo(fifo, 0600) == 0);
    CHECK(symlink("/dev/zero", zero) == 0);
    alarm(20); /* a hang is a failure, not a stuck suite */
    fg_err err;
    jnl_header h;
    jnl_entry *e = NULL;
    int n, bad;
    jnl *j = NULL;
    const char *paths[2] = {fifo, zero};
    for (int i = 0; i < 2; i++) {
        CHECK(jnl_read(paths[i], &h, &e, &n, &bad, &err) != 0);
        CHECK_STR_CONTAINS(err.msg, i ? "not a regular file (a character device)" : "not a regular file (a FIFO)");
        CHECK(jnl_open_append(paths[i], &j, &err) != 0);
        CHECK_STR_CONTAINS(err.msg, "not a regular file");
        CHECK(jnl_read_header(paths[i], &h, &err) != 0);
    }
    alarm(0);
    write_search(a, 1, 3);
    FILE *f = fopen(a, "a");
    for (int i = 0; f && i < 3 * JNL_LINE_MAX / 1000; i++)
        fputs("{\"task\":1,\"x\":\"0123456789012345678901234567890123456789012345678901234567890123456789"
              "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567"
              "8901234567890123456789012345678901234567890123456789012345678901234567890123456789012345"
              "6789012345678901234567890123456789012345678901234567890123456789012345678901234567890123"
              "4567890123456789012345678901234567890123456789012345678901234567890123456789012345678901"
              "2345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
              "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567"
              "8901234567890123456789012345678901234567890123456789012345678901234567890123456789012345"
              "6789012345678901234567890123456789012345678901234567890123456789012345678901234567890123"
              "4567890123456789012345678901234567890123456789012345678901234567890123456789012345678901"
              "23456789012345678901234567890123456789012345678901234567890123456789",
              f);
    if (f) {
        fputs("\n", f);
        fclose(f);
    }
    static char body[1 << 16];
    record_body(a, 0, 2, body, sizeof body);
    append_forged(a, body); /* after the long line: still read */
    CHECK_INT(load_count(a, NULL, why, sizeof why, &line), 4);
    CHECK_INT(line, 5);
    CHECK_STR_CONTAINS(why, "longer than");
    unlink(fifo);
    unlink(zero);
    unlink(a);
}

static void test_ranks(void)
{
    /* Two folds; means 0.8, 0.9, 0.8, missing, 0.7 -> ranks 2, 1, 2, 5 (partial), 4. */
    jnl_entry e[8];
    memset(e, 0, sizeof e);
    const int cfg[8] = {0, 0, 1, 1, 2, 2, 4, 4};
    const float acc[8] = {0.75f, 0.85f, 0.9f, 0.9f, 0.85f, 0.75f, 0.5f, 0.9f};
    for (int i = 0; i < 8; i++) {
        e[i].config = cfg[i];
        e[i].fold = i % 2;
        e[i].status = NN_STATUS_OK;
        e[i].val_acc = acc[i];
        e[i].fit_time = 1;
    }
    e[6].fold = 1; /* a duplicate record for config 4 fold 1: the first one wins */
    e[7].fold = 1;
    rpt_config *c = NULL;
    double *sp = NULL;
    fg_err err;
    CHECK(rpt_aggregate(e, 8, 5, 2, &c, &sp, &err) == 0);
    CHECK_INT(c[1].rank, 1);
    CHECK_INT(c[0].rank, 2);
    CHECK_INT(c[2].rank, 2);
    CHECK_INT(c[3].status, RPT_STATUS_PARTIAL);
    CHECK_INT(c[3].rank, 4);
    CHECK_INT(c[4].status, RPT_STATUS_PARTIAL); /* fold 0 missing */
    CHECK(rpt_best(c, 5) == 1);
    CHECK_NEAR(c[0].mean, 0.8, 1e-6);
    CHECK_NEAR(c[0].std, 0.05, 1e-6); /* population std */
    CHECK(sp[4 * 2 + 1] == 0.5f);
    free(c);
    free(sp);
}

/* A minimal header the reader accepts (a grid name, at least one configuration). */
static void small_header(jnl_header *h, int64_t n_configs, int folds)
{
    memset(h, 0, sizeof *h);
    snprintf(h->grid_name, sizeof h->grid_name, "t");
    h->n_configs = n_configs;
    h->folds = folds;
}

/* The header records how the search was run (threads, refit, data directory), so that a
 * resume needs no options; a header without them reads back as unknown (0, -1, ""). */
static void test_header_run_settings(const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/h.jsonl", dir);
    jnl_header h, back;
    small_header(&h, 4, 3);
    h.threads = 2;
    h.refit = 0;
    snprintf(h.data_dir, sizeof h.data_dir, "/data/f\xc3\xa9 \"x\"\\y");
    jnl *j = NULL;
    fg_err err;
    CHECK(jnl_create(path, &h, &j, &err) == 0);
    jnl_close(j);
    CHECK(jnl_read_header(path, &back, &err) == 0);
    CHECK_INT(back.threads, 2);
    CHECK_INT(back.refit, 0);
    CHECK(!strcmp(back.data_dir, h.data_dir));
    CHECK_INT(back.folds, 3);
    unlink(path);
    h.threads = 0; /* unknown: not written */
    h.refit = -1;
    h.data_dir[0] = '\0';
    CHECK(jnl_create(path, &h, &j, &err) == 0);
    jnl_close(j);
    jnl_entry *e = NULL;
    int n = 0, bad = 0;
    CHECK(jnl_read(path, &back, &e, &n, &bad, &err) == 0);
    free(e);
    CHECK_INT(back.threads, 0);
    CHECK_INT(back.refit, -1);
    CHECK(back.data_dir[0] == '\0');
    unlink(path);
    CHECK(jnl_read_header(path, &back, &err) != 0); /* gone */
}

/* The frozen base (base.c) in the header: written when there is one, read back. */
static void test_header_base(const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/hb.jsonl", dir);
    jnl_header h, back;
    small_header(&h, 8, 1);
    h.base_configs = 8;
    h.base_blocks = 2;
    h.base_seconds = 419.875;
    jnl *j = NULL;
    fg_err err;
    CHECK(jnl_create(path, &h, &j, &err) == 0);
    jnl_close(j);
    CHECK(jnl_read_header(path, &back, &err) == 0);
    CHECK_INT(back.base_configs, 8);
    CHECK_INT(back.base_blocks, 2);
    CHECK(back.base_seconds == 419.875);
    CHECK_INT(back.folds, 1);
    unlink(path);
}

/* The data's shape and class count in the header: written only when they are not
 * Fashion-MNIST's 28x28x1 and 10 (those headers keep their bytes), read back; 0 when absent. */
static void test_header_input(const char *dir)
{
    char path[512], line[4096];
    snprintf(path, sizeof path, "%s/hi.jsonl", dir);
    const int in[2][4] = {{28, 28, 1, 10}, {16, 12, 3, 47}};
    for (int k = 0; k < 2; k++) {
        jnl_header h, back;
        small_header(&h, 8, 1);
        h.in_h = in[k][0], h.in_w = in[k][1], h.in_c = in[k][2], h.classes = in[k][3];
        jnl *j = NULL;
        fg_err err;
        CHECK(jnl_create(path, &h, &j, &err) == 0);
        jnl_close(j);
        FILE *f = fopen(path, "r");
        CHECK(f && fgets(line, sizeof line, f));
        if (f)
            fclose(f);
        CHECK(jnl_read_header(path, &back, &err) == 0);
        if (k == 0) {
            CHECK(!strstr(line, "\"shape\"") && !strstr(line, "\"classes\""));
            CHECK(back.in_h == 0 && back.classes == 0);
        } else {
            CHECK_STR_CONTAINS(line, "\"shape\":\"16x12x3\",\"classes\":47");
            CHECK(back.in_h == 16 && back.in_w == 12 && back.in_c == 3 && back.classes == 47);
        }
        unlink(path);
    }
}

int main(void)
{
    char tmpl[] = "/tmp/fg-journal-XXXXXX";
    char *dir = mkdtemp(tmpl);
    CHECK(dir != NULL);
    if (dir) {
        test_round_trip(dir);
        test_header_base(dir);
        test_header_input(dir);
        test_header_run_settings(dir);
        rmdir(dir);
    }
    test_ranks();
    char tmpl2[] = "/tmp/fg-journal-XXXXXX";
    dir = mkdtemp(tmpl2);
    CHECK(dir != NULL);
    if (dir) {
        test_records_checked(dir);
        test_confusion(dir);
        test_grid_expect(dir);
        test_sessions(dir);
        test_special_files(dir);
        rmdir(dir);
    }
    return check_report("test_journal");
}
