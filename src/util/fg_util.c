/* fg_util.c - error messages, the assertion's failure path, RNG, hashes, clock,
 * regular-file reading. */
#define _POSIX_C_SOURCE 200809L
#include "fg_util.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int fg_err_set(fg_err *e, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

_Noreturn void fg_assert_fail(const char *file, int line, const char *cond)
{
    fprintf(stderr, "%s:%d: assertion failed: %s\n", file, line, cond);
    abort();
}

_Noreturn void fg_assert_fail_msg(const char *file, int line, const char *cond,
                                  const char *fmt, ...)
{
    fprintf(stderr, "%s:%d: assertion failed: %s: ", file, line, cond);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void fg_rng_seed(fg_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t fg_rng_u64(fg_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

void fg_rng_fill_u32(fg_rng *r, uint32_t *out, size_t n)
{
    uint64_t s0 = r->s[0], s1 = r->s[1], s2 = r->s[2], s3 = r->s[3];
    for (size_t i = 0; i < n; i += 2) {
        uint64_t result = rotl(s1 * 5, 7) * 9;
        uint64_t t = s1 << 17;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = rotl(s3, 45);
        out[i] = (uint32_t)result;
        if (i + 1 < n)
            out[i + 1] = (uint32_t)(result >> 32);
    }
    r->s[0] = s0, r->s[1] = s1, r->s[2] = s2, r->s[3] = s3;
}

uint32_t fg_rng_below(fg_rng *r, uint32_t n)
{
    FG_ASSERT(n > 0); /* [0, 0) is empty, and (-n) % n would divide by zero */
    /* Lemire's multiply-shift with rejection: unbiased. */
    uint64_t m = (uint64_t)(uint32_t)(fg_rng_u64(r) >> 32) * n;
    uint32_t l = (uint32_t)m;
    if (l < n) {
        uint32_t t = (uint32_t)(-n) % n;
        while (l < t) {
            m = (uint64_t)(uint32_t)(fg_rng_u64(r) >> 32) * n;
            l = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

double fg_rng_uniform(fg_rng *r) { return (double)(fg_rng_u64(r) >> 11) * 0x1.0p-53; }

double fg_rng_normal(fg_rng *r)
{
    double u1 = fg_rng_uniform(r), u2 = fg_rng_uniform(r);
    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

double fg_rng_truncnormal(fg_rng *r)
{
    for (;;) {
        double z = fg_rng_normal(r);
        if (z >= -2.0 && z <= 2.0)
            return z;
    }
}

void fg_rng_shuffle_i32(fg_rng *r, int32_t *a, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = fg_rng_below(r, (uint32_t)i);
        int32_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

uint64_t fg_hash_mix(uint64_t a, uint64_t b)
{
    uint64_t x = a ^ (b + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2));
    return splitmix64(&x);
}

uint64_t fg_hash_bytes(const void *p, size_t n, uint64_t seed)
{
    const unsigned char *b = p;
    uint64_t h = 0xcbf29ce484222325ULL ^ seed;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ULL;
    }
    return splitmix64(&h);
}

uint64_t fg_hash_str(const char *s, uint64_t seed)
{
    size_t n = 0;
    while (s[n])
        n++;
    return fg_hash_bytes(s, n, seed);
}

double fg_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void fg_csv_field(FILE *f, const char *s, int one_line)
{
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(one_line && (*s == '\n' || *s == '\r') ? ' ' : *s, f);
    }
    fputc('"', f);
}

/* ---- regular files ---------------------------------------------------------------------- */

static const char *file_kind(mode_t m)
{
    if (S_ISDIR(m))
        return "a directory";
    if (S_ISFIFO(m))
        return "a FIFO";
    if (S_ISCHR(m))
        return "a character device";
    if (S_ISBLK(m))
        return "a block device";
    if (S_ISSOCK(m))
        return "a socket";
    return "not a plain file";
}

static const char *a_or_an(const char *w)
{
    return w && strchr("aeiouAEIOU", w[0]) ? "an" : "a";
}

int fg_open_regular(const char *path, int flags, const char *what, int *fd_out, int64_t *size,
                    fg_err *err)
{
    *fd_out = -1;
    if (size)
        *size = 0;
    /* O_NONBLOCK: opening a FIFO (for reading) or a device returns at once instead of
     * waiting for a writer; for writing, a FIFO without a reader fails with ENXIO. */
    int fd;
    do
        fd = open(path, flags | O_NONBLOCK | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        int e = errno;
        struct stat st;
        if ((e == ENXIO || e == EISDIR || e == ENODEV || e == EWOULDBLOCK) && stat(path, &st) == 0 &&
            !S_ISREG(st.st_mode))
            return fg_err_set(err, "%s: not a regular file (%s); %s %s must be a regular file", path,
                              file_kind(st.st_mode), a_or_an(what), what);
        fg_err_set(err, "%s: cannot open %s: %s", path, what, strerror(e));
        errno = e;
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return fg_err_set(err, "%s: cannot read %s: %s", path, what, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return fg_err_set(err, "%s: not a regular file (%s); %s %s must be a regular file", path,
                          file_kind(st.st_mode), a_or_an(what), what);
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
        int e = errno;
        close(fd);
        return fg_err_set(err, "%s: cannot read %s: %s", path, what, strerror(e));
    }
    if (size)
        *size = (int64_t)st.st_size;
    *fd_out = fd;
    return 0;
}

int fg_read_file(const char *path, size_t max, const char *what, char **out, size_t *len,
                 fg_err *err)
{
    *out = NULL;
    *len = 0;
    int fd;
    int64_t size;
    if (fg_open_regular(path, O_RDONLY, what, &fd, &size, err))
        return -1;
    if (size < 0 || (uint64_t)size > (uint64_t)max) {
        close(fd);
        return fg_err_set(err, "%s: %lld bytes, more than the %zu-byte limit for %s %s", path,
                          (long long)size, max, a_or_an(what), what);
    }
    /* The size fstat gave, plus one byte to notice a file that grew meanwhile. */
    size_t cap = (size_t)size + 1, n = 0;
    char *buf = malloc(cap + 1);
    if (!buf) {
        close(fd);
        return fg_err_set(err, "%s: out of memory reading %lld bytes", path, (long long)size);
    }
    for (;;) {
        if (n == cap) {
            if (cap > max) {
                free(buf);
                close(fd);
                return fg_err_set(err, "%s: grew past the %zu-byte limit for %s %s while being read",
                                  path, max, a_or_an(what), what);
            }
            size_t nc = cap > max / 2 ? max + 1 : 2 * cap;
            char *nb = realloc(buf, nc + 1);
            if (!nb) {
                free(buf);
                close(fd);
                return fg_err_set(err, "%s: out of memory reading it", path);
            }
            buf = nb;
            cap = nc;
        }
        size_t want = cap - n > (1u << 30) ? (1u << 30) : cap - n;
        ssize_t k = read(fd, buf + n, want);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            int e = errno;
            free(buf);
            close(fd);
            return fg_err_set(err, "%s: cannot read %s: %s", path, what, strerror(e));
        }
        if (k == 0)
            break;
        n += (size_t)k;
    }
    close(fd);
    if (n > max) {
        free(buf);
        return fg_err_set(err, "%s: grew past the %zu-byte limit for %s %s while being read", path,
                          max, a_or_an(what), what);
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}
