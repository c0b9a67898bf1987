/* fg_util.h - small shared helpers: error messages, the invariant assertion, explicit RNG
 * state, stable hashes. No external library. Nothing here prints but a failed assertion
 * (stderr, then abort); only fg_read_file allocates. */
#ifndef FG_UTIL_H
#define FG_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define FG_ERR_MAX 1024

/* A recoverable error: library functions return non-zero and fill msg with one line
 * (no trailing newline) that names the file:line:column, the field or the layer. */
typedef struct {
    char msg[FG_ERR_MAX];
} fg_err;

/* printf-style; e may be NULL. Always returns -1 so callers can `return fg_err_set(...)`. */
int fg_err_set(fg_err *e, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* ---- invariants: programmer errors, never bad input (that is an fg_err) ----
 * FG_ASSERT(cond) checks cond always, NDEBUG or not (like ggml's GGML_ASSERT); when it is
 * false it prints "FILE:LINE: assertion failed: COND" to stderr and calls abort(). Under
 * mpirun the rank dies of SIGABRT and mpirun ends the job. FG_ASSERT_MSG(cond, fmt, ...)
 * adds a printf-style explanation after the condition. */
#define FG_ASSERT(cond)                                                                    \
    do {                                                                                   \
        if (!(cond))                                                                       \
            fg_assert_fail(__FILE__, __LINE__, #cond);                                     \
    } while (0)
#define FG_ASSERT_MSG(cond, ...)                                                           \
    do {                                                                                   \
        if (!(cond))                                                                       \
            fg_assert_fail_msg(__FILE__, __LINE__, #cond, __VA_ARGS__);                    \
    } while (0)

/* The failure paths of FG_ASSERT and FG_ASSERT_MSG: print one line to stderr, abort(). */
_Noreturn void fg_assert_fail(const char *file, int line, const char *cond);
_Noreturn void fg_assert_fail_msg(const char *file, int line, const char *cond,
                                  const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Explicit random state (xoshiro256**, seeded through splitmix64). No hidden globals:
 * every consumer owns one and seeds it from (run seed, configuration, fold, stream). */
typedef struct {
    uint64_t s[4];
} fg_rng;

void fg_rng_seed(fg_rng *r, uint64_t seed);
uint64_t fg_rng_u64(fg_rng *r);
/* out[0..n) = the low then the high half of each of ceil(n / 2) draws of fg_rng_u64 (the
 * same stream, without a call per draw). */
void fg_rng_fill_u32(fg_rng *r, uint32_t *out, size_t n);
uint32_t fg_rng_below(fg_rng *r, uint32_t n); /* uniform in [0, n), unbiased; n > 0 */
double fg_rng_uniform(fg_rng *r);             /* uniform in [0, 1), 53 bits */
double fg_rng_normal(fg_rng *r);              /* standard normal (Box-Muller, no cached state) */
double fg_rng_truncnormal(fg_rng *r);         /* standard normal redrawn outside [-2, 2] (Keras) */
void fg_rng_shuffle_i32(fg_rng *r, int32_t *a, size_t n); /* Fisher-Yates */

/* Stable 64-bit hashes (FNV-1a finished with a splitmix64 mix); identical on every
 * platform, used for task identity and seeds. */
uint64_t fg_hash_bytes(const void *p, size_t n, uint64_t seed);
uint64_t fg_hash_str(const char *s, uint64_t seed);
uint64_t fg_hash_mix(uint64_t a, uint64_t b); /* combine two hashes, order-sensitive */

/* Wall clock in seconds (CLOCK_MONOTONIC). */
double fg_now(void);

/* Writes s as one CSV field (RFC 4180): quoted, with quotes doubled, when it holds a comma,
 * a quote or a line break; one_line turns line breaks into spaces (for readers such as
 * gnuplot that take a record per line). */
void fg_csv_field(FILE *f, const char *s, int one_line);

/* ---- files the program reads back (journals, model files, report.yaml, grid copies) ----
 * A FIFO, a device or a directory behind such a name would block open() or be read
 * forever: these open without blocking, refuse anything but a regular file, and bound what
 * they read by the file's own size and the caller's limit. */

/* Opens path with flags (O_RDONLY, or O_WRONLY | O_APPEND ...; O_NONBLOCK and O_CLOEXEC are
 * added) without blocking, checks with fstat that it is a regular file, and returns the
 * descriptor in blocking mode in *fd and the file's size in *size (may be NULL). what names
 * the file's role in messages ("journal", "model file"). Returns 0, or -1 with err: "PATH:
 * cannot open WHAT: REASON" or "PATH: not a regular file (a FIFO); a WHAT must be a regular
 * file". */
int fg_open_regular(const char *path, int flags, const char *what, int *fd, int64_t *size,
                    fg_err *err);

/* Reads the regular file path whole into *out (malloc'ed, NUL-terminated; *len bytes
 * without the NUL). A file larger than max bytes is refused before anything is allocated
 * ("PATH: N bytes, more than the M-byte limit for a WHAT"), and one that grows past max
 * while being read too. Returns 0, or -1 with err (*out NULL). */
int fg_read_file(const char *path, size_t max, const char *what, char **out, size_t *len,
                 fg_err *err);

#endif
