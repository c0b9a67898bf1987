/* fg_util.h - small shared helpers: error messages, explicit RNG state, stable hashes.
 * No external library. Nothing here allocates or prints. */
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

/* Writes s as one CSV field (RFC 4180): quoted, with quotes doubled, when it holds a comma,
 * a quote or a line break; one_line turns line breaks into spaces (for readers such as
 * gnuplot that take a record per line). */
void fg_csv_field(FILE *f, const char *s, int one_line);

/* Opens path for reading if, and only if, it is a regular file: the open is non-blocking
 * (opening a FIFO would otherwise wait for a writer for ever), fstat decides, and the
 * descriptor is switched back to blocking reads. Returns the descriptor (the caller closes
 * it) with the file's size in *size (may be NULL), or -1 with err naming the file: "cannot
 * open: <reason>", "cannot read: Is a directory", or "not a regular file (a FIFO); <what>
 * must be a regular file" (what: e.g. "a grid file"). Nothing is read. */
int fg_open_regular(const char *path, const char *what, long long *size, fg_err *err);

#endif
