/* test_data.c - IDX loading (plain and gzip, every corruption the loader must catch),
 * CRCs, data_load_dir and stratified subsets. Writes its own tiny files into a temp dir. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "data.h"

#define N 7
#define H 3
#define W 2

static char tmpdir[] = "/tmp/fg_test_data_XXXXXX";
static char made[64][512]; /* files to remove at the end */
static int n_made;

typedef struct {
    unsigned char b[4096];
    size_t n;
} buf;

static void put32(buf *x, uint32_t v)
{
    for (int s = 24; s >= 0; s -= 8)
        x->b[x->n++] = (unsigned char)(v >> s);
}

static unsigned char pixel(int i, int r, int c) { return (unsigned char)(i * 37 + r * 11 + c * 3 + 5); }

/* An image file of n images of h x w with the given magic; the header alone if the pixels
 * would not fit in a buf (for dimension errors, caught before any pixel is read). */
static buf images(uint32_t magic, uint32_t n, uint32_t h, uint32_t w)
{
    buf x = {.n = 0};
    put32(&x, magic);
    put32(&x, n);
    put32(&x, h);
    put32(&x, w);
    if ((uint64_t)n * h * w > sizeof x.b - x.n)
        return x;
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t r = 0; r < h; r++)
            for (uint32_t c = 0; c < w; c++)
                x.b[x.n++] = pixel((int)i, (int)r, (int)c);
    return x;
}

static unsigned char label(int i) { return (unsigned char)((i * 3 + 1) % 10); }

static buf labels(uint32_t magic, uint32_t n)
{
    buf x = {.n = 0};
    put32(&x, magic);
    put32(&x, n);
    for (uint32_t i = 0; i < n; i++)
        x.b[x.n++] = label((int)i);
    return x;
}

/* Writes x to tmpdir/name, gzip-compressed if gz; returns the full path (static slot). */
static const char *write_file(const char *name, const buf *x, int gz)
{
    if (n_made == 64) {
        fprintf(stderr, "test_data: too many files\n");
        exit(1);
    }
    char *p = made[n_made++];
    snprintf(p, sizeof made[0], "%s/%s", tmpdir, name);
    if (gz) {
        gzFile f = gzopen(p, "wb");
        CHECK(f != NULL);
        CHECK_INT(gzwrite(f, x->b, (unsigned)x->n), x->n);
        CHECK_INT(gzclose(f), Z_OK);
    } else {
        FILE *f = fopen(p, "wb");
        CHECK(f != NULL);
        if (f) {
            CHECK_INT(fwrite(x->b, 1, x->n, f), x->n);
            fclose(f);
        }
    }
    return p;
}

static uint32_t crc(const buf *x) { return (uint32_t)crc32(crc32(0L, Z_NULL, 0), x->b, (unsigned)x->n); }

static void check_valid(const data_set *d, const buf *ib, const buf *lb)
{
    CHECK_INT(d->n, N);
    CHECK_INT(d->h, H);
    CHECK_INT(d->w, W);
    int bad = 0;
    for (int i = 0; i < N; i++) {
        bad += d->labels[i] != label(i);
        for (int r = 0; r < H; r++)
            for (int c = 0; c < W; c++)
                bad += d->images[(i * H + r) * W + c] != pixel(i, r, c);
    }
    CHECK_INT(bad, 0);
    CHECK_INT(d->images_crc32, crc(ib));
    CHECK_INT(d->labels_crc32, crc(lb));
}

/* Loading must fail, name the file `culprit` and contain `phrase`, and leave out empty.
 * Returns the message (static storage, valid until the next call). */
static const char *expect_fail(const char *ip, const char *lp, const char *culprit,
                               const char *phrase)
{
    static fg_err err;
    data_set d;
    memset(&d, 0xab, sizeof d);
    err.msg[0] = 0;
    CHECK_INT(data_load_idx(ip, lp, DATA_FMNIST_CLASSES, &d, &err), -1);
    CHECK_STR_CONTAINS(err.msg, culprit);
    CHECK_STR_CONTAINS(err.msg, phrase);
    CHECK(d.images == NULL && d.labels == NULL && d.n == 0);
    return err.msg;
}

static void test_load(void)
{
    buf ib = images(2051, N, H, W), lb = labels(2049, N);
    const char *ip = write_file("img", &ib, 0), *lp = write_file("lab", &lb, 0);
    const char *igz = write_file("img.gz", &ib, 1), *lgz = write_file("lab.gz", &lb, 1);
    fg_err err = {{0}};
    data_set d;

    CHECK_INT(data_load_idx(ip, lp, DATA_FMNIST_CLASSES, &d, &err), 0);
    check_valid(&d, &ib, &lb);
    CHECK(strcmp(d.images_path, ip) == 0 && strcmp(d.labels_path, lp) == 0);
    data_free(&d);
    CHECK(d.images == NULL && d.labels == NULL && d.n == 0 && d.images_path[0] == 0);
    data_free(&d); /* empty: no-op */
    data_free(NULL);

    CHECK_MSG(data_load_idx(igz, lgz, DATA_FMNIST_CLASSES, &d, &err) == 0, "%s", err.msg);
    check_valid(&d, &ib, &lb); /* CRC of the decompressed bytes, not of the .gz file */
    data_free(&d);
    CHECK_MSG(data_load_idx(igz, lp, DATA_FMNIST_CLASSES, &d, &err) == 0, "%s", err.msg);
    check_valid(&d, &ib, &lb);
    data_free(&d);

    /* Corruptions, each named by file. */
    buf b = images(2049, N, H, W);
    const char *msg = expect_fail(write_file("img_magic", &b, 0), lp, "img_magic", "magic");
    CHECK_STR_CONTAINS(msg, "0x00000801 (2049)"); /* found */
    CHECK_STR_CONTAINS(msg, "expected 0x00000803 (2051)");
    b = labels(2051, N);
    expect_fail(ip, write_file("lab_magic.gz", &b, 1), "lab_magic.gz", "magic");

    b = ib;
    b.n -= 5;
    expect_fail(write_file("img_trunc", &b, 0), lp, "img_trunc", "truncated");
    expect_fail(write_file("img_trunc.gz", &b, 1), lp, "img_trunc.gz", "truncated");
    b.n = 9; /* inside the header */
    expect_fail(write_file("img_trunc_hdr", &b, 0), lp, "img_trunc_hdr", "truncated");
    b = lb;
    b.n -= 2;
    expect_fail(ip, write_file("lab_trunc", &b, 0), "lab_trunc", "truncated: expected 7 labels, file has 5");

    b = labels(2049, N - 1);
    expect_fail(ip, write_file("lab_count", &b, 0), "lab_count", "mismatch");
    b = images(2051, N + 1, H, W);
    expect_fail(write_file("img_count", &b, 0), lp, "img_count", "mismatch");

    b = lb;
    b.b[8 + 3] = 10;
    expect_fail(ip, write_file("lab_10", &b, 0), "lab_10", "label 10 at index 3");

    b = ib;
    b.b[b.n++] = 0;
    b.b[b.n++] = 0;
    expect_fail(write_file("img_trail", &b, 0), lp, "img_trail", "trailing garbage: 2 bytes");
    b = lb;
    b.b[b.n++] = 1;
    expect_fail(ip, write_file("lab_trail.gz", &b, 1), "lab_trail.gz", "trailing garbage");

    b = images(2051, 0, H, W);
    expect_fail(write_file("img_zero", &b, 0), lp, "img_zero", "dimension");
    b = images(2051, 1, 5000, 1);
    expect_fail(write_file("img_huge", &b, 0), lp, "img_huge", "dimension");
    b = labels(2049, 0);
    expect_fail(ip, write_file("lab_zero", &b, 0), "lab_zero", "dimension");

    /* A valid gzip header followed by a body that is not deflate data. */
    b.n = 0;
    const unsigned char gzhdr[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    memcpy(b.b, gzhdr, sizeof gzhdr);
    for (b.n = sizeof gzhdr; b.n < 200; b.n++)
        b.b[b.n] = 0xff;
    expect_fail(write_file("img_badgz.gz", &b, 0), lp, "img_badgz.gz", "gzip");
    /* A real gzip file cut in half. */
    {
        char p[512];
        snprintf(p, sizeof p, "%s/img.gz", tmpdir);
        FILE *f = fopen(p, "rb");
        CHECK(f != NULL);
        if (f) {
            b.n = fread(b.b, 1, sizeof b.b, f);
            fclose(f);
        }
        b.n /= 2;
        data_set d2;
        fg_err e2 = {{0}};
        CHECK_INT(data_load_idx(write_file("img_cut.gz", &b, 0), lp, DATA_FMNIST_CLASSES, &d2, &e2), -1);
        CHECK_STR_CONTAINS(e2.msg, "img_cut.gz");
    }

    char missing[600];
    snprintf(missing, sizeof missing, "%s/nope-images", tmpdir);
    expect_fail(missing, lp, "nope-images", "No such file");
    expect_fail(tmpdir, lp, tmpdir, "not a regular file (a directory)"); /* a directory, not a file */

    /* A FIFO is refused at once: opening it must not wait for a writer. */
    char fifo[512];
    snprintf(fifo, sizeof fifo, "%.400s/fifo-images", tmpdir);
    CHECK(mkfifo(fifo, 0600) == 0);
    expect_fail(fifo, lp, "fifo-images", "not a regular file (a FIFO)");
    expect_fail(ip, fifo, "fifo-images", "not a regular file (a FIFO)");
    unlink(fifo);
    expect_fail("/dev/zero", lp, "/dev/zero", "not a regular file (a character device)");

    /* Headers that announce more than the file can hold, checked before any allocation:
     * 100000000 images of 28x28 (78 GB) in a plain file of 16 bytes, and in a gzip file. */
    b = images(2051, 100000000, 28, 28);
    msg = expect_fail(write_file("img_78gb", &b, 0), lp, "img_78gb",
                      "truncated: expected 100000000 images of 28x28, file has 0");
    msg = expect_fail(write_file("img_78gb.gz", &b, 1), lp, "img_78gb.gz", "truncated or damaged");
    CHECK_STR_CONTAINS(msg, "decompresses to at most");
    /* The labels' count is checked against the images' header before either is read. */
    b.n = 0; /* the header alone */
    put32(&b, 2049);
    put32(&b, 100000000);
    msg = expect_fail(ip, write_file("lab_many", &b, 0), "lab_many", "truncated: expected 100000000 labels, file has 0");
    /* 1000 images of 4096x4096 (16 GiB) in a sparse plain file of exactly that size: the
     * file is consistent, but over DATA_MAX_BYTES. */
    b = images(2051, 1000, 4096, 4096);
    {
        const char *p = write_file("img_16g", &b, 0);
        CHECK(truncate(p, (off_t)(16 + 1000ll * 4096 * 4096)) == 0);
        msg = expect_fail(p, lp, "img_16g", "more than the limit of 4294967296 bytes");
    }
    /* A gzip bomb: the header says 7 images, the stream goes on for 64 MB of zeros. Reading
     * stops 64 KiB after the announced images. */
    {
        char p[512];
        snprintf(p, sizeof p, "%.400s/img_bomb.gz", tmpdir);
        snprintf(made[n_made++], sizeof made[0], "%s", p);
        gzFile f = gzopen(p, "wb9");
        CHECK(f != NULL);
        CHECK_INT(gzwrite(f, ib.b, (unsigned)ib.n), (int)ib.n);
        static unsigned char zeros[1 << 16];
        for (int i = 0; i < 1024; i++)
            gzwrite(f, zeros, sizeof zeros);
        CHECK_INT(gzclose(f), Z_OK);
        msg = expect_fail(p, lp, "img_bomb.gz", "trailing garbage: more than 65536 bytes");
    }
    /* The count mismatch names both files and what the images' header says. */
    b = labels(2049, N - 1);
    msg = expect_fail(ip, write_file("lab_count2", &b, 0), "lab_count2", "count mismatch: 6 labels");
    CHECK_STR_CONTAINS(msg, "says 7 images of 3x2");
}

static void test_load_dir(void)
{
    buf ib = images(2051, N, H, W), lb = labels(2049, N);
    fg_err err = {{0}};
    data_set d;

    /* Empty directory: the message names it and the files looked for. */
    CHECK_INT(data_load_dir(tmpdir, DATA_TEST, &d, &err), -1);
    CHECK_STR_CONTAINS(err.msg, tmpdir);
    CHECK_STR_CONTAINS(err.msg, "t10k-images-idx3-ubyte.gz");
    CHECK_INT(data_load_dir("/nonexistent/fg", DATA_TRAIN, &d, &err), -1);
    CHECK_STR_CONTAINS(err.msg, "/nonexistent/fg");

    write_file("train-images-idx3-ubyte.gz", &ib, 1);
    CHECK_INT(data_load_dir(tmpdir, DATA_TRAIN, &d, &err), -1);
    CHECK_STR_CONTAINS(err.msg, "train-labels-idx1-ubyte");

    /* Plain and .gz labels differ: the .gz one must be chosen. */
    buf other = lb;
    other.b[8] = (unsigned char)((label(0) + 1) % 10);
    write_file("train-labels-idx1-ubyte", &other, 0);
    write_file("train-labels-idx1-ubyte.gz", &lb, 1);
    CHECK_MSG(data_load_dir(tmpdir, DATA_TRAIN, &d, &err) == 0, "%s", err.msg);
    check_valid(&d, &ib, &lb);
    CHECK_STR_CONTAINS(d.labels_path, "train-labels-idx1-ubyte.gz");
    data_free(&d);

    /* Plain files alone are found too (trailing slash on the directory is fine). */
    write_file("t10k-images-idx3-ubyte", &ib, 0);
    write_file("t10k-labels-idx1-ubyte", &lb, 0);
    char dir[600];
    snprintf(dir, sizeof dir, "%s/", tmpdir);
    CHECK_MSG(data_load_dir(dir, DATA_TEST, &d, &err) == 0, "%s", err.msg);
    check_valid(&d, &ib, &lb);
    data_free(&d);
}

/* Checks one subset against the definition: k sorted distinct indices, each class within
 * one of its proportional share k*n_c/n. */
static void check_subset(const uint8_t *lab, int n, int k, const int32_t *out)
{
    int cnt[10] = {0}, got[10] = {0}, bad = 0;
    for (int i = 0; i < n; i++)
        cnt[lab[i]]++;
    for (int i = 0; i < k; i++) {
        bad += out[i] < 0 || out[i] >= n || (i > 0 && out[i] <= out[i - 1]);
        if (out[i] >= 0 && out[i] < n)
            got[lab[out[i]]]++;
    }
    CHECK_MSG(bad == 0, "k=%d: out of range, unsorted or duplicate", k);
    for (int c = 0; c < 10; c++) {
        double share = (double)k * cnt[c] / n;
        CHECK_MSG(got[c] > share - 1 && got[c] < share + 1, "k=%d class %d: %d vs %.2f", k, c,
                  got[c], share);
    }
}

static void test_subset(void)
{
    enum { NS = 1000 };
    static uint8_t lab[NS];
    static int32_t a[NS], b[NS];
    fg_rng r;
    fg_err err = {{0}};

    /* Unbalanced classes, class 9 absent. */
    fg_rng_seed(&r, 42);
    for (int i = 0; i < NS; i++) { /* class c with weight 9 - c, c = 0..8 */
        int u = (int)fg_rng_below(&r, 45), c = 0;
        while (u >= 9 - c)
            u -= 9 - c++;
        lab[i] = (uint8_t)c;
    }
    const int ks[] = {1, 2, 37, 500, 999, NS};
    for (size_t t = 0; t < sizeof ks / sizeof ks[0]; t++) {
        int k = ks[t];
        CHECK_MSG(data_stratified_subset(lab, NS, 10, k, 7, a, &err) == 0, "%s", err.msg);
        check_subset(lab, NS, k, a);
        CHECK_INT(data_stratified_subset(lab, NS, 10, k, 7, b, &err), 0);
        CHECK(memcmp(a, b, (size_t)k * sizeof a[0]) == 0);
    }
    data_stratified_subset(lab, NS, 10, 500, 7, a, &err);
    data_stratified_subset(lab, NS, 10, 500, 8, b, &err);
    CHECK(memcmp(a, b, 500 * sizeof a[0]) != 0);
    CHECK_INT(data_stratified_subset(lab, NS, 10, 0, 7, a, &err), -1);
    CHECK_INT(data_stratified_subset(lab, NS, 10, NS + 1, 7, a, &err), -1);

    /* Largest remainder by hand: 5 of class 0, 3 of class 1, 2 of class 2, k = 3 gives
     * shares 1.5, 0.9, 0.6: floors 1, 0, 0, the two left go to classes 1 and 2. */
    const uint8_t l3[10] = {0, 1, 0, 2, 0, 1, 0, 2, 0, 1};
    CHECK_INT(data_stratified_subset(l3, 10, 10, 3, 1, a, &err), 0);
    int c3[3] = {0};
    for (int i = 0; i < 3; i++)
        c3[l3[a[i]]]++;
    CHECK(c3[0] == 1 && c3[1] == 1 && c3[2] == 1);
    /* Ties go to the lower class: one each of classes 3, 2, 1, 0, k = 2 keeps 0 and 1. */
    const uint8_t l4[4] = {3, 2, 1, 0};
    CHECK_INT(data_stratified_subset(l4, 4, 10, 2, 1, a, &err), 0);
    CHECK(a[0] == 2 && a[1] == 3);
    const uint8_t l5[3] = {0, 10, 1};
    CHECK_INT(data_stratified_subset(l5, 3, 10, 2, 1, a, &err), -1);
}

/* Any IDX set: a 4-dimensional image file (n x h x w x c), the class count from the labels
 * or given, and class names. */
static void test_any_idx(void)
{
    enum { C = 3 };
    buf ib = {.n = 0}, lb = labels(2049, N);
    put32(&ib, 2052);
    put32(&ib, N);
    put32(&ib, H);
    put32(&ib, W);
    put32(&ib, C);
    for (int i = 0; i < N * H * W * C; i++)
        ib.b[ib.n++] = (unsigned char)(i * 7 + 1);
    const char *ip = write_file("img4.gz", &ib, 1), *lp = write_file("lab4", &lb, 0);
    fg_err err = {{0}};
    data_set d;
    CHECK_MSG(data_load_idx(ip, lp, 0, &d, &err) == 0, "%s", err.msg);
    CHECK(d.n == N && d.h == H && d.w == W && d.c == C);
    CHECK_INT(d.classes, 10); /* labels (3i + 1) mod 10 of i < 7: up to 9 */
    int bad = 0;
    for (int i = 0; d.images && i < N * H * W * C; i++)
        bad += d.images[i] != (unsigned char)(i * 7 + 1);
    CHECK_INT(bad, 0);
    /* data_set_classes: more classes than the labels show, or fewer (refused by index) */
    CHECK_INT(data_set_classes(&d, 12, &err), 0);
    CHECK_INT(d.classes, 12);
    CHECK_INT(data_set_classes(&d, 8, &err), -1);
    CHECK_STR_CONTAINS(err.msg, "lab4: label 9 at index 6 is outside 0..7");
    CHECK_INT(d.classes, 12);
    data_free(&d);
    CHECK_INT(data_load_idx(ip, lp, 5, &d, &err), -1);
    CHECK_STR_CONTAINS(err.msg, "label 7 at index 2 is outside 0..4");
    CHECK(d.images == NULL && d.n == 0);

    /* channels beyond 4, and a header cut inside its fourth dimension */
    buf b = ib;
    b.b[19] = 5;
    expect_fail(write_file("img4_c5", &b, 0), lp, "img4_c5", "bad dimension 3 of 5 (must be 1..4)");
    b.n = 18;
    expect_fail(write_file("img4_hdr", &b, 0), lp, "img4_hdr", "truncated: expected a 20-byte IDX header");
    b = labels(2049, N - 1);
    expect_fail(ip, write_file("lab4_count", &b, 0), "lab4_count", "says 7 images of 3x2x3");

    /* class names: the grid's, Fashion-MNIST's for 10 classes, else numbers */
    char num[12];
    const char *const mine[3] = {"cat", "dog", "bird"};
    CHECK(strcmp(data_class_name(mine, 3, 2, num, sizeof num), "bird") == 0);
    CHECK(strcmp(data_class_name(NULL, 10, 9, num, sizeof num), "Ankle boot") == 0);
    CHECK(strcmp(data_class_name(NULL, 10, 0, num, sizeof num), "T-shirt/top") == 0);
    CHECK(strcmp(data_class_name(NULL, 5, 3, num, sizeof num), "3") == 0);
    CHECK(strcmp(data_class_name(NULL, 62, 61, num, sizeof num), "61") == 0);

    /* a subset of 3 classes by largest remainder: 4, 2, 1 images, k = 4 keeps 2, 1, 1 */
    const int64_t cnt[3] = {4, 2, 1};
    int q[3];
    data_subset_quota(cnt, 3, 7, 4, q);
    CHECK(q[0] == 2 && q[1] == 1 && q[2] == 1);
    const uint8_t l20[7] = {0, 0, 1, 0, 2, 1, 0};
    int32_t out[4];
    CHECK_INT(data_stratified_subset(l20, 7, 3, 4, 9, out, &err), 0);
    CHECK_INT(data_stratified_subset(l20, 7, 2, 4, 9, out, &err), -1);
    CHECK_STR_CONTAINS(err.msg, "label 2 at index 4 is outside 0..1");
}

/* data_crc32: the standard CRC-32 check value, and continuing a CRC over two pieces. */
static void test_crc32(void)
{
    const unsigned char s[] = "123456789";
    CHECK(data_crc32(0, s, 9) == 0xCBF43926u);
    CHECK(data_crc32(data_crc32(0, s, 4), s + 4, 5) == 0xCBF43926u);
    CHECK(data_crc32(0, s, 0) == 0);
}

static void test_real(void)
{
    char ip[512], lp[512];
    snprintf(ip, sizeof ip, "%s/t10k-images-idx3-ubyte", DATA_DEFAULT_DIR);
    snprintf(lp, sizeof lp, "%s/t10k-images-idx3-ubyte.gz", DATA_DEFAULT_DIR);
    if (access(ip, R_OK) != 0 && access(lp, R_OK) != 0) {
        fprintf(stderr, "test_data: note: %s absent, skipping the real-data check\n",
                DATA_DEFAULT_DIR);
        return;
    }
    data_set d;
    fg_err err = {{0}};
    CHECK_MSG(data_load_dir(DATA_DEFAULT_DIR, DATA_TEST, &d, &err) == 0, "%s", err.msg);
    CHECK_INT(d.n, 10000);
    CHECK_INT(d.h, 28);
    CHECK_INT(d.w, 28);
    int cnt[10] = {0};
    for (int i = 0; i < d.n; i++)
        cnt[d.labels[i]]++;
    for (int c = 0; c < 10; c++)
        CHECK_INT(cnt[c], 1000);
    data_free(&d);
}

int main(void)
{
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_load(); /* uses names data_load_dir does not look for */
    test_load_dir();
    test_subset();
    test_any_idx();
    test_crc32();
    test_real();
    for (int i = 0; i < n_made; i++)
        unlink(made[i]);
    rmdir(tmpdir);
    return check_report("test_data");
}
