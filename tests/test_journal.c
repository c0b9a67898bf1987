/* test_journal.c - journal round trip, torn and damaged lines, and ranking with ties. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
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

/* The header records how the search was run (threads, refit, data directory), so that a
 * resume needs no options; a header without them reads back as unknown (0, -1, ""). */
static void test_header_run_settings(const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/h.jsonl", dir);
    jnl_header h, back;
    memset(&h, 0, sizeof h);
    snprintf(h.grid_name, sizeof h.grid_name, "t");
    h.folds = 3;
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
    memset(&h, 0, sizeof h);
    snprintf(h.grid_name, sizeof h.grid_name, "t");
    h.folds = 1;
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

int main(void)
{
    char tmpl[] = "/tmp/fg-journal-XXXXXX";
    char *dir = mkdtemp(tmpl);
    CHECK(dir != NULL);
    if (dir) {
        test_round_trip(dir);
        test_header_base(dir);
        test_header_run_settings(dir);
        rmdir(dir);
    }
    test_ranks();
    return check_report("test_journal");
}
