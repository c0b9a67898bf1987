/* data.c - IDX data sets read through zlib (gzip or plain): shape from the header, class
 * count from the labels, class names, stratified subsets. The only user of zlib's gzip
 * reader (journal, model and h5w use its crc32). */
#define _POSIX_C_SOURCE 200809L
#include "data.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define IDX_MAGIC_IMAGES 2051u /* 0x00000803: unsigned byte, 3 dimensions */
#define IDX_MAGIC_IMAGES4 2052u /* 0x00000804: unsigned byte, 4 dimensions (n, h, w, c) */
#define IDX_MAX_CHANNELS 4u
#define IDX_MAGIC_LABELS 2049u /* 0x00000801: unsigned byte, 1 dimension */
#define IDX_MAX_N 100000000u
#define IDX_MAX_SIDE 4096u
#define CHUNK (1u << 30) /* largest single gzread / crc32 call */
/* Deflate's largest expansion: a 258-byte match coded in 2 bits. A gzip file of S bytes
 * cannot decompress to more than GZ_MAX_RATIO * S bytes, so a header that announces more
 * is refused before anything is allocated (the trailer's ISIZE is only the size mod 2^32). */
#define GZ_MAX_RATIO 1032u
/* How much decompressed data after the announced images or labels is read to say how much
 * there is; beyond this, reading stops (a gzip bomb is never decompressed further). */
#define TAIL_MAX 65536u

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

uint32_t data_crc32(uint32_t crc, const unsigned char *p, size_t n)
{
    while (n > 0) {
        unsigned c = n > CHUNK ? CHUNK : (unsigned)n;
        crc = (uint32_t)crc32(crc, p, c);
        p += c;
        n -= c;
    }
    return crc;
}

/* One IDX file, opened and its header read and checked against the file's size. */
typedef struct {
    const char *path;
    const char *what; /* "images" or "labels" */
    gzFile gz;
    int ndims;
    uint32_t dims[4];
    unsigned char hdr[20];
    size_t hlen;
    uint64_t total; /* payload bytes the header announces */
    int plain;      /* not gzip-compressed */
    long long size; /* bytes on disk */
} idx_file;

static void idx_close(idx_file *f)
{
    if (f->gz)
        gzclose(f->gz);
    f->gz = NULL;
}

/* "30 images of 28x28", "30 images of 32x32x3" or "30 labels" */
static void idx_count_text(const idx_file *f, unsigned long long n, char *buf, size_t size)
{
    if (f->ndims == 1)
        snprintf(buf, size, "%llu labels", n);
    else if (f->ndims == 3)
        snprintf(buf, size, "%llu images of %ux%u", n, f->dims[1], f->dims[2]);
    else
        snprintf(buf, size, "%llu images of %ux%ux%u", n, f->dims[1], f->dims[2], f->dims[3]);
}

/* An image file may be 4-dimensional (n x h x w x c): reads the fourth dimension's bytes
 * of the header once the magic number says so. */
static int idx_header4(idx_file *f, fg_err *err)
{
    char zmsg[256] = "read error";
    f->ndims = 4;
    long long got = gz_read_full(f->gz, f->hdr + f->hlen, 4);
    f->hlen += 4;
    if (got == 4)
        return 0;
    if (gz_problem(f->gz, zmsg, sizeof zmsg) != Z_OK || got < 0)
        return fg_err_set(err, "%s: %s", f->path, zmsg);
    return fg_err_set(err, "%s: truncated: expected a %zu-byte IDX header", f->path, f->hlen);
}

/* Opens path (a regular file), reads the IDX header of magic `magic` with ndims (1 or 3)
 * dimensions (images: or 4 under magic IDX_MAGIC_IMAGES4) and checks every size it
 * announces against the limits and against what a file of this size can hold, before
 * anything is allocated. */
static int idx_open(const char *path, uint32_t magic, int ndims, const char *what, idx_file *f,
                    fg_err *err)
{
    char zmsg[256] = "read error", want[96];

    memset(f, 0, sizeof *f);
    f->path = path;
    f->what = what;
    f->ndims = ndims;
    f->hlen = 4 + 4 * (size_t)ndims;
    int fd;
    int64_t size;
    if (fg_open_regular(path, O_RDONLY, "data file", &fd, &size, err))
        return -1;
    f->size = (long long)size;
    errno = 0;
    f->gz = gzdopen(fd, "rb");
    if (!f->gz) {
        close(fd);
        return fg_err_set(err, "%s: cannot open: %s", path, errno ? strerror(errno) : "out of memory");
    }
    gzbuffer(f->gz, 1u << 17);
    f->plain = gzdirect(f->gz);

    long long got = gz_read_full(f->gz, f->hdr, f->hlen);
    if (got < (long long)f->hlen) {
        if (gz_problem(f->gz, zmsg, sizeof zmsg) != Z_OK || got < 0)
            return fg_err_set(err, "%s: %s", path, zmsg);
        return fg_err_set(err, "%s: truncated: expected a %zu-byte IDX header, file has %lld bytes",
                          path, f->hlen, got);
    }
    uint32_t m = be32(f->hdr);
    if (magic == IDX_MAGIC_IMAGES && m == IDX_MAGIC_IMAGES4 && idx_header4(f, err))
        return -1;
    if (m != magic && !(magic == IDX_MAGIC_IMAGES && m == IDX_MAGIC_IMAGES4)) {
        const char *hint = m == IDX_MAGIC_IMAGES   ? " (an image file)"
                           : m == IDX_MAGIC_LABELS ? " (a label file)"
                                                   : "";
        return fg_err_set(err, "%s: wrong magic number 0x%08x (%u)%s, expected 0x%08x (%u) for IDX %s",
                          path, m, m, hint, magic, magic, what);
    }
    f->total = 1;
    for (int d = 0; d < f->ndims; d++) {
        f->dims[d] = be32(f->hdr + 4 + 4 * d);
        uint32_t max = d == 0 ? IDX_MAX_N : d == 3 ? IDX_MAX_CHANNELS : IDX_MAX_SIDE;
        if (f->dims[d] == 0 || f->dims[d] > max)
            return fg_err_set(err, "%s: bad dimension %d of %u (must be 1..%u)", path, d, f->dims[d], max);
        f->total *= f->dims[d]; /* at most 1e8 * 4096 * 4096 * 4 < 2^64 */
    }
    uint64_t per = f->total / f->dims[0]; /* bytes per image (1 per label) */
    idx_count_text(f, f->dims[0], want, sizeof want);
    if (f->plain) {
        uint64_t have = f->size > (long long)f->hlen ? (uint64_t)f->size - f->hlen : 0;
        if (have < f->total)
            return fg_err_set(err, "%s: truncated: expected %s, file has %llu (%llu of %llu %s bytes)",
                              path, want, (unsigned long long)(have / per), (unsigned long long)have,
                              (unsigned long long)f->total, ndims == 1 ? "label" : "pixel");
        if (have > f->total)
            return fg_err_set(err, "%s: trailing garbage: %llu bytes after the %u %s", path,
                              (unsigned long long)(have - f->total), f->dims[0], what);
    } else {
        uint64_t most = (uint64_t)(f->size > 0 ? f->size : 0) * GZ_MAX_RATIO;
        if (f->hlen + f->total > most)
            return fg_err_set(err,
                              "%s: truncated or damaged: header says %s (%llu bytes), but a gzip file "
                              "of %lld bytes decompresses to at most %llu (deflate expands at most %u:1)",
                              path, want, (unsigned long long)f->total, f->size,
                              (unsigned long long)most, GZ_MAX_RATIO);
    }
    if (f->total > DATA_MAX_BYTES)
        return fg_err_set(err, "%s: header says %s = %llu bytes, more than the limit of %llu bytes "
                               "(%u GiB) for one IDX file",
                          path, want, (unsigned long long)f->total,
                          (unsigned long long)DATA_MAX_BYTES, (unsigned)(DATA_MAX_BYTES >> 30));
    if (f->total > SIZE_MAX)
        return fg_err_set(err, "%s: header says %s = %llu bytes, more than this machine can address",
                          path, want, (unsigned long long)f->total);
    return 0;
}

/* Reads the payload the header announced, and not a byte more than TAIL_MAX after it. On
 * success *data (malloc'd, caller frees) holds f->total bytes and *crc the CRC-32 of the
 * header and the payload. */
static int idx_read(idx_file *f, unsigned char **data, uint32_t *crc, fg_err *err)
{
    char zmsg[256] = "read error", want[96];
    unsigned char tail[4096];
    const char *path = f->path;

    *data = NULL;
    if (!(*data = malloc((size_t)f->total)))
        return fg_err_set(err, "%s: out of memory for %llu bytes of %s", path,
                          (unsigned long long)f->total, f->what);
    long long got = gz_read_full(f->gz, *data, (size_t)f->total);
    if (got < 0 || (uint64_t)got < f->total) {
        int zerr = gz_problem(f->gz, zmsg, sizeof zmsg);
        const char *early = zerr == Z_BUF_ERROR ? " (gzip stream ends early)" : "";
        idx_count_text(f, f->dims[0], want, sizeof want);
        if (got < 0 || (zerr != Z_OK && zerr != Z_BUF_ERROR))
            fg_err_set(err, "%s: %s", path, zmsg);
        else
            fg_err_set(err, "%s: truncated: expected %s, file has %llu (%lld of %llu %s bytes)%s",
                       path, want, (unsigned long long)got / (f->total / f->dims[0]), got,
                       (unsigned long long)f->total, f->ndims == 1 ? "label" : "pixel", early);
        goto fail;
    }
    /* Anything decompressing after the data is an error, as is a bad gzip trailer. At most
     * TAIL_MAX bytes more are decompressed to say how many there are. */
    unsigned long long extra = 0;
    int r = 0;
    while (extra <= TAIL_MAX && (r = gzread(f->gz, tail, sizeof tail)) > 0)
        extra += (unsigned)r;
    if (extra > TAIL_MAX) {
        fg_err_set(err, "%s: trailing garbage: more than %u bytes decompress after the %u %s the "
                        "header announces (reading stopped there)",
                   path, TAIL_MAX, f->dims[0], f->what);
        goto fail;
    }
    if (r < 0 || gz_problem(f->gz, zmsg, sizeof zmsg) != Z_OK) {
        fg_err_set(err, "%s: %s", path, zmsg);
        goto fail;
    }
    if (extra) {
        fg_err_set(err, "%s: trailing garbage: %llu bytes after the %u %s", path, extra,
                   f->dims[0], f->what);
        goto fail;
    }
    *crc = data_crc32(data_crc32((uint32_t)crc32(0L, Z_NULL, 0), f->hdr, f->hlen), *data, (size_t)f->total);
    return 0;
fail:
    free(*data);
    *data = NULL;
    return -1;
}

int data_load_idx(const char *images_path, const char *labels_path, int classes, data_set *out,
                  fg_err *err)
{
    idx_file fi, fl;
    unsigned char *img = NULL, *lab = NULL;

    memset(out, 0, sizeof *out);
    memset(&fi, 0, sizeof fi);
    memset(&fl, 0, sizeof fl);
    if (strlen(images_path) >= sizeof out->images_path)
        return fg_err_set(err, "%.200s...: path too long", images_path);
    if (strlen(labels_path) >= sizeof out->labels_path)
        return fg_err_set(err, "%.200s...: path too long", labels_path);
    /* Both headers first: their sizes are checked against each other and against the
     * files before anything is allocated or decompressed. */
    if (idx_open(images_path, IDX_MAGIC_IMAGES, 3, "images", &fi, err) ||
        idx_open(labels_path, IDX_MAGIC_LABELS, 1, "labels", &fl, err))
        goto fail;
    if (fl.dims[0] != fi.dims[0]) {
        char want[96];
        idx_count_text(&fi, fi.dims[0], want, sizeof want);
        fg_err_set(err, "%s: count mismatch: %u labels, but the header of %s says %s", labels_path,
                   fl.dims[0], images_path, want);
        goto fail;
    }
    if (idx_read(&fi, &img, &out->images_crc32, err) || idx_read(&fl, &lab, &out->labels_crc32, err))
        goto fail;
    idx_close(&fi);
    idx_close(&fl);
    out->classes = 1;
    for (uint32_t i = 0; i < fl.dims[0]; i++)
        if (lab[i] >= out->classes)
            out->classes = lab[i] + 1;
    out->images = img;
    out->labels = lab;
    img = lab = NULL;
    out->n = (int)fi.dims[0];
    out->h = (int)fi.dims[1];
    out->w = (int)fi.dims[2];
    out->c = fi.ndims == 4 ? (int)fi.dims[3] : 1;
    strcpy(out->images_path, images_path);
    strcpy(out->labels_path, labels_path);
    if (data_set_classes(out, classes, err)) {
        data_free(out);
        return -1;
    }
    return 0;
fail:
    idx_close(&fi);
    idx_close(&fl);
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
    return data_load_idx(ip, lp, 0, out, err);
}

void data_free(data_set *d)
{
    if (!d)
        return;
    free(d->images);
    free(d->labels);
    memset(d, 0, sizeof *d);
}

int data_set_classes(data_set *d, int classes, fg_err *err)
{
    if (classes <= 0)
        return 0;
    if (classes > DATA_MAX_CLASSES)
        return fg_err_set(err, "%s: %d classes, more than the %d a label byte can name", d->labels_path,
                          classes, DATA_MAX_CLASSES);
    for (int i = 0; i < d->n; i++)
        if (d->labels[i] >= classes)
            return fg_err_set(err, "%s: label %u at index %d is outside 0..%d", d->labels_path,
                              d->labels[i], i, classes - 1);
    d->classes = classes;
    return 0;
}

/* The one table of Fashion-MNIST's class names (reports, predict, messages). */
static const char *const FMNIST_NAMES[DATA_FMNIST_CLASSES] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};

const char *data_shape_text(int h, int w, int c, char *buf, size_t size)
{
    if (c == 1)
        snprintf(buf, size, "%dx%d", h, w);
    else
        snprintf(buf, size, "%dx%dx%d", h, w, c);
    return buf;
}

const char *data_class_name(const char *const *names, int classes, int c, char *buf, size_t size)
{
    if (names && c >= 0 && c < classes)
        return names[c];
    if (classes == DATA_FMNIST_CLASSES && c >= 0 && c < classes)
        return FMNIST_NAMES[c];
    snprintf(buf, size, "%d", c);
    return buf;
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

void data_subset_quota(const int64_t *cnt, int classes, int n, int k, int *quota)
{
    int64_t rem[DATA_MAX_CLASSES];
    int left = k;
    for (int c = 0; c < classes; c++) {
        quota[c] = (int)((int64_t)k * cnt[c] / n);
        rem[c] = (int64_t)k * cnt[c] % n;
        left -= quota[c];
    }
    for (; left > 0; left--) { /* the remainders sum to left*n, so a positive one remains */
        int best = 0;
        for (int c = 1; c < classes; c++)
            if (rem[c] > rem[best])
                best = c;
        quota[best]++;
        rem[best] = -1;
    }
}

/* Class c gets floor(k*n_c/n) samples, and the k - sum(floor) left over go one each to the
 * classes with the largest remainders k*n_c mod n (ties: lower class). Within a class the
 * members, in index order, are shuffled by one rng seeded from seed (classes 0..classes-1
 * in turn) and the first ones taken. */
int data_stratified_subset(const uint8_t *labels, int n, int classes, int k, uint64_t seed,
                           int32_t *out, fg_err *err)
{
    int64_t cnt[DATA_MAX_CLASSES] = {0};
    int quota[DATA_MAX_CLASSES];

    if (k < 1 || k > n)
        return fg_err_set(err, "stratified subset: size %d is outside 1..%d", k, n);
    if (classes < 1 || classes > DATA_MAX_CLASSES)
        return fg_err_set(err, "stratified subset: %d classes", classes);
    for (int i = 0; i < n; i++) {
        if (labels[i] >= classes)
            return fg_err_set(err, "stratified subset: label %u at index %d is outside 0..%d",
                              labels[i], i, classes - 1);
        cnt[labels[i]]++;
    }
    data_subset_quota(cnt, classes, n, k, quota);
    int32_t *members = malloc((size_t)n * sizeof *members);
    if (!members)
        return fg_err_set(err, "stratified subset: out of memory for %d indices", n);
    fg_rng rng;
    fg_rng_seed(&rng, seed);
    int o = 0;
    for (int c = 0; c < classes; c++) {
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
