/* data.c - Fashion-MNIST IDX files read through zlib (gzip or plain), stratified subsets.
 * The only module that uses zlib. */
#define _POSIX_C_SOURCE 200809L
#include "data.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define IDX_MAGIC_IMAGES 2051u /* 0x00000803: unsigned byte, 3 dimensions */
#define IDX_MAGIC_LABELS 2049u /* 0x00000801: unsigned byte, 1 dimension */
#define IDX_MAX_N 100000000u
#define IDX_MAX_SIDE 4096u
#define CHUNK (1u << 30) /* largest single gzread / crc32 call */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Reads up to len bytes, looping over gzread's int-sized calls. Returns the number of
 * bytes read (less than len only at end of input) or -1 on a zlib or I/O error. */
static long long gz_read_full(gzFile gz, unsigned char *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        unsigned want = len - got > CHUNK ? CHUNK : (unsigned)(len - got);
        int r = gzread(gz, buf + got, want);
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (long long)got;
}

/* Returns the pending zlib error of gz (Z_OK if none) and describes it in buf: "read
 * error: ..." for I/O, "truncated gzip stream" for a stream cut short, else "corrupt gzip
 * data: ...". */
static int gz_problem(gzFile gz, char *buf, size_t size)
{
    int errnum = Z_OK;
    const char *m = gzerror(gz, &errnum);
    if (errnum == Z_STREAM_END)
        errnum = Z_OK;
    else if (errnum == Z_ERRNO)
        snprintf(buf, size, "read error: %s", strerror(errno));
    else if (errnum == Z_BUF_ERROR)
        snprintf(buf, size, "truncated gzip stream (%s)", m);
    else if (errnum != Z_OK)
        snprintf(buf, size, "corrupt gzip data: %s", m);
    return errnum;
}

static uint32_t crc_bytes(uint32_t crc, const unsigned char *p, size_t n)
{
    while (n > 0) {
        unsigned c = n > CHUNK ? CHUNK : (unsigned)n;
        crc = (uint32_t)crc32(crc, p, c);
        p += c;
        n -= c;
    }
    return crc;
}

/* Reads one IDX file: magic `magic` with ndims (1 or 3) big-endian dimensions written to
 * dims[]. On success *data (malloc'd, caller frees) holds the product of dims bytes and
 * *crc the CRC-32 of every decompressed byte. `what` ("images"/"labels") is for messages. */
static int read_idx(const char *path, uint32_t magic, int ndims, const char *what,
                    uint32_t dims[3], unsigned char **data, uint32_t *crc, fg_err *err)
{
    unsigned char hdr[16], tail[4096];
    char zmsg[256] = "read error";
    int zerr;
    size_t hlen = 4 + 4 * (size_t)ndims;
    int rc = -1;

    *data = NULL;
    errno = 0;
    gzFile gz = gzopen(path, "rb");
    if (!gz)
        return fg_err_set(err, "%s: cannot open: %s", path,
                          errno ? strerror(errno) : "out of memory");
    gzbuffer(gz, 1u << 17);

    long long got = gz_read_full(gz, hdr, hlen);
    if (got < (long long)hlen) {
        if (gz_problem(gz, zmsg, sizeof zmsg) != Z_OK || got < 0)
            fg_err_set(err, "%s: %s", path, zmsg);
        else
            fg_err_set(err, "%s: truncated: expected a %zu-byte IDX header, file has %lld bytes",
                       path, hlen, got);
        goto done;
    }
    uint32_t m = be32(hdr);
    if (m != magic) {
        const char *hint = m == IDX_MAGIC_IMAGES   ? " (an image file)"
                           : m == IDX_MAGIC_LABELS ? " (a label file)"
                                                   : "";
        fg_err_set(err, "%s: wrong magic number 0x%08x (%u)%s, expected 0x%08x (%u) for IDX %s",
                   path, m, m, hint, magic, magic, what);
        goto done;
    }
    uint64_t total = 1;
    for (int d = 0; d < ndims; d++) {
        dims[d] = be32(hdr + 4 + 4 * d);
        uint32_t max = d == 0 ? IDX_MAX_N : IDX_MAX_SIDE;
        if (dims[d] == 0 || dims[d] > max) {
            fg_err_set(err, "%s: bad dimension %d of %u (must be 1..%u)", path, d, dims[d], max);
            goto done;
        }
        total *= dims[d];
    }
    if (total > SIZE_MAX || !(*data = malloc((size_t)total))) {
        fg_err_set(err, "%s: out of memory for %llu bytes of %s", path,
                   (unsigned long long)total, what);
        goto done;
    }
    got = gz_read_full(gz, *data, (size_t)total);
    if (got < 0 || (uint64_t)got < total) {
        zerr = gz_problem(gz, zmsg, sizeof zmsg);
        const char *early = zerr == Z_BUF_ERROR ? " (gzip stream ends early)" : "";
        if (got < 0 || (zerr != Z_OK && zerr != Z_BUF_ERROR))
            fg_err_set(err, "%s: %s", path, zmsg);
        else if (ndims == 1)
            fg_err_set(err, "%s: truncated: expected %u labels, file has %lld%s", path, dims[0],
                       got, early);
        else
            fg_err_set(err,
                       "%s: truncated: expected %u images of %ux%u, file has %llu "
                       "(%lld of %llu pixel bytes)%s",
                       path, dims[0], dims[1], dims[2],
                       (unsigned long long)got / ((uint64_t)dims[1] * dims[2]), got,
                       (unsigned long long)total, early);
        goto done;
    }
    /* Anything decompressing after the data is an error, as is a bad gzip trailer. */
    unsigned long long extra = 0;
    int r;
    while ((r = gzread(gz, tail, sizeof tail)) > 0)
        extra += (unsigned)r;
    if (r < 0 || gz_problem(gz, zmsg, sizeof zmsg) != Z_OK) {
        fg_err_set(err, "%s: %s", path, zmsg);
        goto done;
    }
    if (extra) {
        fg_err_set(err, "%s: trailing garbage: %llu bytes after the %u %s", path, extra,
                   dims[0], what);
        goto done;
    }
    *crc = crc_bytes(crc_bytes((uint32_t)crc32(0L, Z_NULL, 0), hdr, hlen), *data, (size_t)total);
    rc = 0;
done:
    gzclose(gz);
    if (rc) {
        free(*data);
        *data = NULL;
    }
    return rc;
}

int data_load_idx(const char *images_path, const char *labels_path, data_set *out, fg_err *err)
{
    uint32_t di[3], dl[3];
    unsigned char *img = NULL, *lab = NULL;

    memset(out, 0, sizeof *out);
    if (strlen(images_path) >= sizeof out->images_path)
        return fg_err_set(err, "%.200s...: path too long", images_path);
    if (strlen(labels_path) >= sizeof out->labels_path)
        return fg_err_set(err, "%.200s...: path too long", labels_path);
    if (read_idx(images_path, IDX_MAGIC_IMAGES, 3, "images", di, &img, &out->images_crc32, err))
        goto fail;
    if (read_idx(labels_path, IDX_MAGIC_LABELS, 1, "labels", dl, &lab, &out->labels_crc32, err))
        goto fail;
    if (dl[0] != di[0]) {
        fg_err_set(err, "%s: count mismatch: %u labels, but %s has %u images", labels_path,
                   dl[0], images_path, di[0]);
        goto fail;
    }
    for (uint32_t i = 0; i < dl[0]; i++)
        if (lab[i] >= DATA_N_CLASSES) {
            fg_err_set(err, "%s: label %u at index %u is outside 0..%d", labels_path, lab[i], i,
                       DATA_N_CLASSES - 1);
            goto fail;
        }
    out->images = img;
    out->labels = lab;
    out->n = (int)di[0];
    out->h = (int)di[1];
    out->w = (int)di[2];
    strcpy(out->images_path, images_path);
    strcpy(out->labels_path, labels_path);
    return 0;
fail:
    free(img);
    free(lab);
    memset(out, 0, sizeof *out);
    return -1;
}

/* Writes to path the first of dir/base.gz and dir/base that exists; -1 if neither. */
static int find_file(const char *dir, const char *base, char *path, size_t size)
{
    size_t dl = strlen(dir);
    const char *sep = dl > 0 && dir[dl - 1] == '/' ? "" : "/";
    for (int gz = 1; gz >= 0; gz--) {
        int len = snprintf(path, size, "%s%s%s%s", dir, sep, base, gz ? ".gz" : "");
        if (len >= 0 && (size_t)len < size && access(path, F_OK) == 0)
            return 0;
    }
    return -1;
}

int data_load_dir(const char *dir, data_split split, data_set *out, fg_err *err)
{
    char ip[sizeof out->images_path], lp[sizeof out->labels_path], bi[64], bl[64];
    struct stat st;

    memset(out, 0, sizeof *out);
    if (split != DATA_TRAIN && split != DATA_TEST)
        return fg_err_set(err, "%s: unknown data split %d", dir, (int)split);
    if (stat(dir, &st) != 0)
        return fg_err_set(err, "%s: cannot open data directory: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return fg_err_set(err, "%s: not a directory", dir);
    const char *pre = split == DATA_TRAIN ? "train" : "t10k";
    snprintf(bi, sizeof bi, "%s-images-idx3-ubyte", pre);
    snprintf(bl, sizeof bl, "%s-labels-idx1-ubyte", pre);
    if (find_file(dir, bi, ip, sizeof ip))
        return fg_err_set(err, "%s: no %s image file: looked for %s.gz and %s", dir, pre, bi, bi);
    if (find_file(dir, bl, lp, sizeof lp))
        return fg_err_set(err, "%s: no %s label file: looked for %s.gz and %s", dir, pre, bl, bl);
    return data_load_idx(ip, lp, out, err);
}

void data_free(data_set *d)
{
    if (!d)
        return;
    free(d->images);
    free(d->labels);
    memset(d, 0, sizeof *d);
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Class c gets floor(k*n_c/n) samples, and the k - sum(floor) left over go one each to the
 * classes with the largest remainders k*n_c mod n (ties: lower class). Within a class the
 * members, in index order, are shuffled by one rng seeded from seed (classes 0..9 in turn)
 * and the first ones taken. */
int data_stratified_subset(const uint8_t *labels, int n, int k, uint64_t seed, int32_t *out,
                           fg_err *err)
{
    int64_t cnt[DATA_N_CLASSES] = {0}, rem[DATA_N_CLASSES];
    int quota[DATA_N_CLASSES];

    if (k < 1 || k > n)
        return fg_err_set(err, "stratified subset: size %d is outside 1..%d", k, n);
    for (int i = 0; i < n; i++) {
        if (labels[i] >= DATA_N_CLASSES)
            return fg_err_set(err, "stratified subset: label %u at index %d is outside 0..%d",
                              labels[i], i, DATA_N_CLASSES - 1);
        cnt[labels[i]]++;
    }
    int left = k;
    for (int c = 0; c < DATA_N_CLASSES; c++) {
        quota[c] = (int)((int64_t)k * cnt[c] / n);
        rem[c] = (int64_t)k * cnt[c] % n;
        left -= quota[c];
    }
    for (; left > 0; left--) { /* the remainders sum to left*n, so a positive one remains */
        int best = 0;
        for (int c = 1; c < DATA_N_CLASSES; c++)
            if (rem[c] > rem[best])
                best = c;
        quota[best]++;
        rem[best] = -1;
    }
    int32_t *members = malloc((size_t)n * sizeof *members);
    if (!members)
        return fg_err_set(err, "stratified subset: out of memory for %d indices", n);
    fg_rng rng;
    fg_rng_seed(&rng, seed);
    int o = 0;
    for (int c = 0; c < DATA_N_CLASSES; c++) {
        int m = 0;
        for (int i = 0; i < n; i++)
            if (labels[i] == c)
                members[m++] = i;
        fg_rng_shuffle_i32(&rng, members, (size_t)m);
        memcpy(out + o, members, (size_t)quota[c] * sizeof *out);
        o += quota[c];
    }
    free(members);
    qsort(out, (size_t)k, sizeof *out, cmp_i32);
    return 0;
}
