/* sample.h - random search's sampling (issue 15), as scikit-learn's ParameterSampler: the
 * configurations of a random search drawn with the search's seed from parameters that are
 * lists (uniform choice) or distributions (uniform, loguniform, randint). When every
 * parameter of every sub-grid is a list, the configurations are drawn WITHOUT replacement
 * from the grid they span (n_iter capped at its size, with a flag for the caller's
 * warning); otherwise with replacement. No YAML, no I/O: the caller describes the
 * parameters; the sampled values come back as text, as a grid's values are.
 *
 * Semantics (scipy.stats', bounds as the grid file writes them, `{kind: [a, b]}`):
 *   uniform [a, b]:    a + (b - a) u, u uniform in [0, 1) with 53 bits: the interval [a, b]
 *                      (not scipy's uniform(loc, scale); a < b).
 *   loguniform [a, b]: exp(log a + (log b - log a) u), clamped to [a, b]: scipy's
 *                      loguniform(a, b) (0 < a < b); its median is sqrt(a b).
 *   randint [a, b]:    an integer in [a, b), upper bound exclusive as scipy's randint(a, b)
 *                      (integral a < b, |a|, |b| <= 2^53).
 *   a list:            each value with probability 1 / (its length).
 * Determinism: the draws come from fg_rng (xoshiro256**) seeded by fg_hash_mix(seed,
 * SMP_STREAM), with integer draws by rejection (no modulo bias) and IEEE arithmetic; the
 * only libm calls are log and exp (loguniform), so the same seed gives the same
 * configurations on any machine whose log and exp agree (glibc's are correctly rounded in
 * practice). Numbers are written with the fewest significant digits (1..17) that read back
 * (strtod) as the same double, in %g's form but whole numbers below 1e17 in full (100, not
 * 1e+02): Python's repr less its ".0" (0.1, 1e-05, 0.30000000000000004); randint's as "%lld".
 *
 * Order of the draws, with replacement: for each configuration, a sub-grid (uniformly,
 * only when there are several), then its parameters in the order given. Without
 * replacement: a random permutation's first n_iter grid indices (Fisher-Yates, kept sparse
 * so memory is O(n_iter) whatever the grid's size); grid index = the configuration's
 * position in the grid's expansion (sub-grids in order; within one, the parameters in the
 * order given, the last varying fastest: give them sorted by name, as grid.h expands). */
#ifndef SAMPLE_H
#define SAMPLE_H

#include <stddef.h>
#include <stdint.h>

#include "fg_util.h"

#define SMP_STREAM 0x72616e646f6d2121ULL /* "random!!": the sampler's stream of the seed */
#define SMP_MAX_ITER 1000000             /* configurations of one random search */
#define SMP_MAX_TEXT (256 << 20)         /* all values and "name=value, ..." strings */
#define SMP_NUM_MAX 32                   /* a formatted number, NUL included */

typedef enum { SMP_LIST, SMP_UNIFORM, SMP_LOGUNIFORM, SMP_RANDINT } smp_kind;

/* One parameter: a list of values, or a distribution over [a, b]. Pointers borrowed. */
typedef struct {
    const char *name;          /* in messages and "name=value" strings */
    const char *where;         /* "FILE:LINE:COL" that messages start with, or NULL */
    smp_kind kind;
    const char *const *values; /* SMP_LIST: n_values values, as written */
    int n_values;
    double a, b;               /* the distributions' bounds */
} smp_param;

/* One sub-grid: its parameters (see the order above). */
typedef struct {
    const smp_param *params;
    int n_params;
} smp_space;

/* The sampled configurations (smp_sample; free with smp_free). */
typedef struct smp_set smp_set;

/* Checks every parameter: a list must have values; uniform needs finite a < b; loguniform
 * 0 < a < b; randint whole a < b within 2^53. Returns 0, or -1 with err
 * "WHERE: NAME: what is wrong (got [a, b])". */
int smp_check(const smp_space *spaces, int n_spaces, fg_err *err);

/* 1 when every parameter of every sub-grid is a list (sampling without replacement). */
int smp_all_lists(const smp_space *spaces, int n_spaces);

/* Draws n_iter configurations (1..SMP_MAX_ITER) with seed, after smp_check. Returns 0 and
 * *out (the caller frees it with smp_free), or -1 with err (bad parameters, a list-only
 * grid of more than 2^62 points, out of memory). */
int smp_sample(const smp_space *spaces, int n_spaces, int64_t n_iter, uint64_t seed,
               smp_set **out, fg_err *err);
void smp_free(smp_set *s); /* NULL is a no-op */

/* Configurations drawn: n_iter, or the grid's size when list-only sampling capped it. */
int64_t smp_count(const smp_set *s);
/* 1 when n_iter was more than the list-only grid's size (scikit-learn warns then). */
int smp_capped(const smp_set *s);
/* The list-only grid's size, or -1 when some parameter is a distribution. */
int64_t smp_grid_size(const smp_set *s);

/* Of configuration i in [0, smp_count): its sub-grid; its grid index (list-only sampling,
 * else -1); the value of its sub-grid's parameter p as text; its "name=value, ..." string
 * (the sub-grid's parameters in order, joined by ", "). Strings owned by s; NULL (or -1)
 * for an index out of range. */
int smp_subgrid(const smp_set *s, int64_t i);
int64_t smp_index(const smp_set *s, int64_t i);
const char *smp_value(const smp_set *s, int64_t i, int p);
const char *smp_params(const smp_set *s, int64_t i);

/* Writes v with the fewest significant digits that strtod reads back as v, as above (buf
 * of size >= SMP_NUM_MAX). Returns buf. */
char *smp_format_double(double v, char *buf, size_t size);

#endif
