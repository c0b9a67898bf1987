/* test_gemm.c - the GEMM wrapper against its naive twin: all four transpose combinations,
 * odd sizes, alpha/beta, leading dimensions larger than the rows, beta = 0 over NaN. */
#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "fg_util.h"
#include "nn_gemm.h"

static void fill(float *v, size_t n, fg_rng *r)
{
    for (size_t i = 0; i < n; i++)
        v[i] = (float)(2.0 * fg_rng_uniform(r) - 1.0);
}

/* Compares nn_gemm with nn_gemm_ref on one case; returns the max relative error. */
static double one_case(int ta, int tb, int m, int n, int k, float alpha, float beta, int pad,
                       fg_rng *r)
{
    /* Stored shapes: A is m x k (or k x m when transposed), B is k x n (or n x k). */
    int a_rows = ta ? k : m, a_cols = ta ? m : k, b_rows = tb ? n : k, b_cols = tb ? k : n;
    int lda = a_cols + pad, ldb = b_cols + 2 * pad, ldc = n + 3 * pad;
    float *a = malloc(sizeof(float) * (size_t)(a_rows * lda + 1));
    float *b = malloc(sizeof(float) * (size_t)(b_rows * ldb + 1));
    float *c1 = malloc(sizeof(float) * (size_t)(m * ldc + 1));
    float *c2 = malloc(sizeof(float) * (size_t)(m * ldc + 1));
    fill(a, (size_t)(a_rows * lda), r);
    fill(b, (size_t)(b_rows * ldb), r);
    fill(c1, (size_t)(m * ldc), r);
    for (int i = 0; i < m * ldc; i++)
        c2[i] = c1[i];
    /* The scale of each element: |alpha| * sum |a||b| + |beta c|, from the reference on
     * absolute values. Float rounding stays far below 1e-5 of it; a wrong element (a
     * transposition, a missed stride) is off by a sizeable fraction of it. */
    float *aa = malloc(sizeof(float) * (size_t)(a_rows * lda + 1));
    float *bb = malloc(sizeof(float) * (size_t)(b_rows * ldb + 1));
    float *cc = malloc(sizeof(float) * (size_t)(m * ldc + 1));
    for (int i = 0; i < a_rows * lda; i++)
        aa[i] = fabsf(a[i]);
    for (int i = 0; i < b_rows * ldb; i++)
        bb[i] = fabsf(b[i]);
    for (int i = 0; i < m * ldc; i++)
        cc[i] = fabsf(c1[i]);
    nn_gemm_ref(ta, tb, m, n, k, fabsf(alpha), aa, lda, bb, ldb, fabsf(beta), cc, ldc);
    nn_gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c1, ldc);
    nn_gemm_ref(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c2, ldc);
    double worst = 0.0;
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < ldc; j++) {
            double x = c1[i * ldc + j], y = c2[i * ldc + j];
            double e = fabs(x - y) / (1e-6 + cc[i * ldc + j]);
            if (j >= n)
                e = x == y ? 0.0 : 1.0; /* padding columns must be left untouched */
            worst = e > worst ? e : worst;
        }
    }
    free(a), free(b), free(c1), free(c2), free(aa), free(bb), free(cc);
    return worst;
}

/* A direct check of the reference itself on a 2x3 * 3x2 product computed by hand. */
static void test_ref_by_hand(void)
{
    const float a[6] = {1, 2, 3, 4, 5, 6};    /* 2x3 */
    const float b[6] = {7, 8, 9, 10, 11, 12}; /* 3x2 */
    float c[4] = {1, 1, 1, 1};
    nn_gemm_ref(0, 0, 2, 2, 3, 1.0f, a, 3, b, 2, 0.5f, c, 2);
    CHECK_NEAR(c[0], 58.5, 1e-6);
    CHECK_NEAR(c[1], 64.5, 1e-6);
    CHECK_NEAR(c[2], 139.5, 1e-6);
    CHECK_NEAR(c[3], 154.5, 1e-6);
    /* A^T (3x2 stored) * B^T (2x3 stored): (A^T)^T = 2x3 a, so the same product. */
    const float at[6] = {1, 4, 2, 5, 3, 6}, bt[6] = {7, 9, 11, 8, 10, 12};
    float d[4] = {0};
    nn_gemm(1, 1, 2, 2, 3, 2.0f, at, 2, bt, 3, 0.0f, d, 2);
    CHECK_NEAR(d[0], 116, 1e-6);
    CHECK_NEAR(d[3], 308, 1e-6);
}

int main(void)
{
    nn_gemm_set_threads(1);
    fg_rng r;
    fg_rng_seed(&r, 42);
    test_ref_by_hand();
    const int sizes[][3] = {{1, 1, 1},   {3, 5, 7},    {17, 9, 33},   {64, 64, 64},
                            {31, 1, 13}, {1, 29, 19},  {100, 37, 71}, {10, 500, 784},
                            {7, 11, 1},  {129, 65, 3}};
    const float ab[][2] = {{1.0f, 0.0f}, {0.5f, 1.0f}, {-1.5f, 0.25f}, {2.0f, -1.0f}};
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
                for (size_t q = 0; q < sizeof ab / sizeof ab[0]; q++) {
                    int pad = (int)(s + q) % 3;
                    double e = one_case(ta, tb, sizes[s][0], sizes[s][1], sizes[s][2], ab[q][0],
                                        ab[q][1], pad, &r);
                    CHECK_MSG(e < 1e-5, "ta=%d tb=%d m=%d n=%d k=%d alpha=%g beta=%g pad=%d: "
                                        "error %g", ta, tb, sizes[s][0], sizes[s][1],
                              sizes[s][2], (double)ab[q][0], (double)ab[q][1], pad, e);
                }

    /* beta = 0 overwrites C even when it holds NaN. */
    float a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {1, 0, 0, 1, 1, 1}, c[4], c2[4];
    for (int i = 0; i < 4; i++)
        c[i] = c2[i] = NAN;
    nn_gemm(0, 0, 2, 2, 3, 1.0f, a, 3, b, 2, 0.0f, c, 2);
    nn_gemm_ref(0, 0, 2, 2, 3, 1.0f, a, 3, b, 2, 0.0f, c2, 2);
    for (int i = 0; i < 4; i++) {
        CHECK(!isnan(c[i]));
        CHECK_NEAR(c[i], c2[i], 1e-6);
    }
    /* k = 0: C = beta * C. */
    float e[2] = {2, 4};
    nn_gemm(0, 0, 1, 2, 0, 1.0f, a, 1, b, 2, 0.5f, e, 2);
    CHECK_NEAR(e[0], 1.0, 1e-7);
    CHECK_NEAR(e[1], 2.0, 1e-7);

    const char *be = nn_gemm_backend();
#if defined(FG_GEMM_DNNL)
    CHECK_STR_CONTAINS(be, "oneDNN");
#else
    CHECK_STR_CONTAINS(be, "OpenBLAS");
#endif
    return check_report("test_gemm");
}
