/* test_sample.c - random search's sampling: the same seed gives the same configurations
 * (and a golden first draw, so the stream cannot change unnoticed), another seed others;
 * every distribution within its bounds over many draws (randint's upper bound excluded,
 * loguniform's median near sqrt(ab)); list-only grids sampled without replacement (distinct
 * grid points decoded as the grid expands them, n_iter capped at the grid's size with the
 * flag, sub-grids, grids too large to enumerate); bad settings refused with a message that
 * names the parameter; numbers written as the shortest text that reads back. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sample.h"

static const char *const acts[] = {"relu", "tanh"};

/* The first two configurations of seed 2026 over act, dropout and units (see below). */
#define GOLDEN0 "act=tanh, dropout=0.22159521670908267, units=108"
#define GOLDEN1 "act=tanh, dropout=0.32234513016839617, units=16"

/* lr loguniform [1e-4, 1e-1], dropout uniform [0, 0.5], units randint [16, 129), act list. */
static void mixed_params(smp_param *p)
{
    p[0] = (smp_param){"act", NULL, SMP_LIST, acts, 2, 0, 0};
    p[1] = (smp_param){"dropout", NULL, SMP_UNIFORM, NULL, 0, 0, 0.5};
    p[2] = (smp_param){"lr", NULL, SMP_LOGUNIFORM, NULL, 0, 1e-4, 1e-1};
    p[3] = (smp_param){"units", NULL, SMP_RANDINT, NULL, 0, 16, 129};
}

static smp_set *sample(const smp_param *p, int n, int64_t n_iter, uint64_t seed)
{
    smp_space sp = {p, n};
    smp_set *s = NULL;
    fg_err err;
    int rc = smp_sample(&sp, 1, n_iter, seed, &s, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    return s;
}

static void test_reproducible(void)
{
    smp_param p[4];
    mixed_params(p);
    smp_set *a = sample(p, 4, 50, 42), *b = sample(p, 4, 50, 42), *c = sample(p, 4, 50, 43);
    if (!a || !b || !c)
        return;
    CHECK_INT(smp_count(a), 50);
    CHECK_INT(smp_capped(a), 0);
    CHECK_INT(smp_grid_size(a), -1);
    int same = 1, differ = 0;
    for (int64_t i = 0; i < 50; i++) {
        same &= strcmp(smp_params(a, i), smp_params(b, i)) == 0;
        differ |= strcmp(smp_params(a, i), smp_params(c, i)) != 0;
        CHECK_INT(smp_index(a, i), -1);
        CHECK_INT(smp_subgrid(a, i), 0);
    }
    CHECK(same);
    CHECK(differ);
    /* the string is the values in order, and smp_value gives each */
    char want[256];
    snprintf(want, sizeof want, "act=%s, dropout=%s, lr=%s, units=%s", smp_value(a, 7, 0),
             smp_value(a, 7, 1), smp_value(a, 7, 2), smp_value(a, 7, 3));
    CHECK(strcmp(smp_params(a, 7), want) == 0);
    CHECK(smp_value(a, 7, 4) == NULL && smp_value(a, 50, 0) == NULL && smp_params(a, -1) == NULL);
    smp_free(a);
    smp_free(b);
    smp_free(c);
    /* golden: no libm in these three (list, uniform, randint), so on any machine */
    smp_param q[3] = {p[0], p[1], p[3]};
    smp_set *g = sample(q, 3, 2, 2026);
    if (g) {
        CHECK_MSG(strcmp(smp_params(g, 0), GOLDEN0) == 0, "%s", smp_params(g, 0));
        CHECK_MSG(strcmp(smp_params(g, 1), GOLDEN1) == 0, "%s", smp_params(g, 1));
    }
    smp_free(g);
}

static void test_bounds(void)
{
    enum { N = 20000 };
    smp_param p[4];
    mixed_params(p);
    smp_set *s = sample(p, 4, N, 7);
    if (!s)
        return;
    static double lr[N];
    int ok = 1, relu = 0, lo = 0, hi = 0;
    double dsum = 0;
    for (int i = 0; i < N; i++) {
        relu += strcmp(smp_value(s, i, 0), "relu") == 0;
        double d = strtod(smp_value(s, i, 1), NULL);
        lr[i] = strtod(smp_value(s, i, 2), NULL);
        char *end;
        long u = strtol(smp_value(s, i, 3), &end, 10);
        ok &= d >= 0 && d <= 0.5 && lr[i] >= 1e-4 && lr[i] <= 1e-1 && *end == '\0';
        ok &= u >= 16 && u < 129;
        lo += u == 16;
        hi += u == 128;
        dsum += d;
    }
    CHECK(ok);
    CHECK(lo > 0 && hi > 0); /* both ends of [16, 129) are drawn, 129 never */
    CHECK_NEAR(relu / (double)N, 0.5, 0.03);
    CHECK_NEAR(dsum / N, 0.25, 0.02);
    /* log-uniform: the median near sqrt(1e-4 x 1e-1) = 10^-2.5, a quarter of the draws
     * below 10^-3.25 */
    int below_median = 0, below_q1 = 0;
    for (int i = 0; i < N; i++) {
        below_median += lr[i] < sqrt(1e-4 * 1e-1);
        below_q1 += lr[i] < pow(10, -3.25);
    }
    CHECK_NEAR(below_median / (double)N, 0.5, 0.02);
    CHECK_NEAR(below_q1 / (double)N, 0.25, 0.02);
    smp_free(s);
}

static void test_without_replacement(void)
{
    static const char *const a[] = {"1", "2", "3"}, *const b[] = {"x", "y"};
    smp_param p[2] = {{"a", NULL, SMP_LIST, a, 3, 0, 0}, {"b", NULL, SMP_LIST, b, 2, 0, 0}};
    smp_space sp = {p, 2};
    CHECK(smp_all_lists(&sp, 1));
    smp_set *s = sample(p, 2, 4, 1);
    if (s) {
        CHECK_INT(smp_count(s), 4);
        CHECK_INT(smp_capped(s), 0);
        CHECK_INT(smp_grid_size(s), 6);
        int seen[6] = {0}, ok = 1;
        const int64_t golden[4] = {3, 0, 1, 5}; /* seed 1's permutation: a stable stream */
        for (int i = 0; i < 4; i++) {
            CHECK_INT(smp_index(s, i), golden[i]);
            int64_t g = smp_index(s, i); /* a varies slowest: g = ia x 2 + ib */
            ok &= g >= 0 && g < 6 && !seen[g]++;
            ok &= g >= 0 && g < 6 && strcmp(smp_value(s, i, 0), a[g / 2]) == 0 &&
                  strcmp(smp_value(s, i, 1), b[g % 2]) == 0;
        }
        CHECK(ok);
    }
    smp_free(s);
    s = sample(p, 2, 10, 1); /* more than the grid: all 6 points once, and the flag */
    if (s) {
        CHECK_INT(smp_count(s), 6);
        CHECK_INT(smp_capped(s), 1);
        int seen[6] = {0};
        for (int i = 0; i < 6; i++)
            seen[smp_index(s, i)]++;
        CHECK(memcmp(seen, (int[]){1, 1, 1, 1, 1, 1}, sizeof seen) == 0);
        CHECK(strcmp(smp_params(s, 0), "a=1, b=x") != 0 || smp_index(s, 0) == 0);
    }
    smp_free(s);
}

static void test_subgrids_and_large(void)
{
    static const char *const a[] = {"1", "2"}, *const c[] = {"p", "q", "r"};
    smp_param p1 = {"a", NULL, SMP_LIST, a, 2, 0, 0}, p2 = {"c", NULL, SMP_LIST, c, 3, 0, 0};
    smp_space sp[2] = {{&p1, 1}, {&p2, 1}};
    smp_set *s = NULL;
    fg_err err;
    CHECK(smp_sample(sp, 2, 5, 3, &s, &err) == 0);
    if (s) {
        int ok = 1, seen[5] = {0};
        for (int i = 0; i < 5; i++) {
            int64_t g = smp_index(s, i);
            seen[g]++;
            ok &= smp_subgrid(s, i) == (g < 2 ? 0 : 1);
            ok &= strcmp(smp_params(s, i), g < 2 ? (g ? "a=2" : "a=1")
                                               : (const char *[]){"c=p", "c=q", "c=r"}[g - 2]) == 0;
        }
        CHECK(ok);
        CHECK(memcmp(seen, (int[]){1, 1, 1, 1, 1}, sizeof seen) == 0);
    }
    smp_free(s);
    /* 60 two-valued parameters: 2^60 points, 1000 distinct ones in O(1000) memory */
    static const char *const two[] = {"0", "1"};
    smp_param many[63];
    char names[63][16];
    for (int k = 0; k < 63; k++) {
        snprintf(names[k], sizeof names[k], "p%02d", k);
        many[k] = (smp_param){names[k], NULL, SMP_LIST, two, 2, 0, 0};
    }
    smp_set *big = sample(many, 60, 1000, 5);
    if (big) {
        CHECK_INT(smp_grid_size(big), INT64_C(1) << 60);
        int distinct = 1;
        for (int i = 1; i < 1000; i++)
            for (int j = 0; j < i; j++)
                distinct &= smp_index(big, i) != smp_index(big, j);
        CHECK(distinct);
        int64_t g = smp_index(big, 999); /* the last parameter is the lowest bit */
        CHECK(strcmp(smp_value(big, 999, 59), (g & 1) ? "1" : "0") == 0);
        CHECK(strcmp(smp_value(big, 999, 0), ((g >> 59) & 1) ? "1" : "0") == 0);
    }
    smp_free(big);
    smp_space huge = {many, 63};
    CHECK(smp_sample(&huge, 1, 10, 1, &s, &err) != 0);
    CHECK_STR_CONTAINS(err.msg, "2^62");
}

/* smp_check and smp_sample refuse the one parameter p with a message holding a and b. */
static void refused(smp_param p, const char *a, const char *b)
{
    smp_space sp = {&p, 1};
    smp_set *s = NULL;
    fg_err err;
    CHECK(smp_check(&sp, 1, &err) != 0);
    CHECK(smp_sample(&sp, 1, 5, 1, &s, &err) != 0 && s == NULL);
    CHECK_STR_CONTAINS(err.msg, a);
    CHECK_STR_CONTAINS(err.msg, b);
}

static void test_bad(void)
{
    refused((smp_param){"dropout", NULL, SMP_UNIFORM, NULL, 0, 0.5, 0.1}, "dropout: uniform",
            "(got [0.5, 0.1])");
    refused((smp_param){"lr", "g.yaml:3:9", SMP_LOGUNIFORM, NULL, 0, 0, 0.1},
            "g.yaml:3:9: lr: loguniform", "0 < a < b");
    refused((smp_param){"lr", NULL, SMP_LOGUNIFORM, NULL, 0, -1, 0.1}, "lr", "loguniform");
    refused((smp_param){"lr", NULL, SMP_LOGUNIFORM, NULL, 0, 0.1, 0.01}, "lr", "loguniform");
    refused((smp_param){"units", NULL, SMP_RANDINT, NULL, 0, 8, 8}, "units: randint", "[8, 8]");
    refused((smp_param){"units", NULL, SMP_RANDINT, NULL, 0, 9, 8}, "units", "randint");
    refused((smp_param){"units", NULL, SMP_RANDINT, NULL, 0, 1.5, 8}, "units", "whole");
    refused((smp_param){"x", NULL, SMP_UNIFORM, NULL, 0, 0, INFINITY}, "x", "finite");
    refused((smp_param){"act", NULL, SMP_LIST, acts, 0, 0, 0}, "act", "empty");
    smp_param ok = {"act", NULL, SMP_LIST, acts, 2, 0, 0};
    smp_space sp = {&ok, 1};
    smp_set *s = NULL;
    fg_err err;
    CHECK(smp_sample(&sp, 1, 0, 1, &s, &err) != 0);
    CHECK_STR_CONTAINS(err.msg, "n_iter");
}

static void test_format(void)
{
    char buf[SMP_NUM_MAX];
    CHECK(strcmp(smp_format_double(0.1, buf, sizeof buf), "0.1") == 0);
    CHECK(strcmp(smp_format_double(1e-4, buf, sizeof buf), "0.0001") == 0);
    CHECK(strcmp(smp_format_double(1e-5, buf, sizeof buf), "1e-05") == 0);
    CHECK(strcmp(smp_format_double(100, buf, sizeof buf), "100") == 0);
    CHECK(strcmp(smp_format_double(1.0 / 3, buf, sizeof buf), "0.3333333333333333") == 0);
    CHECK(strcmp(smp_format_double(123456789012, buf, sizeof buf), "123456789012") == 0);
    CHECK(strcmp(smp_format_double(1e17, buf, sizeof buf), "1e+17") == 0);
    CHECK(strcmp(smp_format_double(-2.5e-7, buf, sizeof buf), "-2.5e-07") == 0);
    CHECK(strcmp(smp_format_double(0.1 + 0.2, buf, sizeof buf), "0.30000000000000004") == 0);
    CHECK(strtod(smp_format_double(0.1 + 0.2, buf, sizeof buf), NULL) == 0.1 + 0.2);
}

int main(void)
{
    test_reproducible();
    test_bounds();
    test_without_replacement();
    test_subgrids_and_large();
    test_bad();
    test_format();
    return check_report("test_sample");
}
