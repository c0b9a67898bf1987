/* nn_gemm.c - the one GEMM wrapper and its naive reference twin. The only file of the
 * project that includes a BLAS header. The backend is chosen at build time (CMake FG_GEMM):
 *   openblas (default)  cblas_sgemm
 *   dnnl                oneDNN's dnnl_sgemm (row-major like ours). Debian's libdnnl runs on
 *                       OpenMP; its thread count is the calling thread's OpenMP setting,
 *                       which nn_gemm_set_threads sets (1 per rank unless --threads). */
#include "nn_gemm.h"
#include "fg_util.h"

#include <stdio.h>

#if defined(FG_GEMM_DNNL)
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#else
#include <cblas.h>
#endif

/* C (m, n) = alpha * op(A) (m, k) * op(B) (k, n) + beta * C, row-major, strides lda/ldb/ldc. */
void nn_gemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, int lda,
             const float *b, int ldb, float beta, float *c, int ldc)
{
    if (m <= 0 || n <= 0)
        return;
    FG_ASSERT(c != NULL && ldc >= n);
    if (k <= 0 || alpha == 0.0f) {
        /* BLAS implementations differ on these corner cases; keep them defined here. */
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                c[(size_t)i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[(size_t)i * ldc + j];
        return;
    }
    /* Row-major: a stored row of A holds k values (m if transposed), one of B n (k). */
    FG_ASSERT(a != NULL && b != NULL);
    FG_ASSERT_MSG(lda >= (trans_a ? m : k) && ldb >= (trans_b ? k : n),
                  "m %d n %d k %d lda %d ldb %d trans %d %d", m, n, k, lda, ldb, trans_a, trans_b);
#if defined(FG_GEMM_DNNL)
    /* Only invalid arguments fail, and the engine's shapes are checked when planned. */
    (void)dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb,
                     beta, c, ldc);
#else
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c,
                ldc);
#endif
}

void nn_gemm_ref(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a,
                 int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
            double s = 0.0;
            for (int p = 0; p < k; p++) {
                float av = trans_a ? a[(size_t)p * lda + i] : a[(size_t)i * lda + p];
                float bv = trans_b ? b[(size_t)j * ldb + p] : b[(size_t)p * ldb + j];
                s += (double)av * bv;
            }
            float *cij = &c[(size_t)i * ldc + j];
            /* beta == 0 overwrites (C may hold NaN), as in BLAS. */
            *cij = (float)(alpha * s + (beta == 0.0f ? 0.0 : (double)beta * *cij));
        }
    }
}

#if defined(FG_GEMM_DNNL)

void nn_gemm_set_threads(int n) { omp_set_num_threads(n < 1 ? 1 : n); }

/* The text is rebuilt on each call into a static buffer (always the same bytes for the same
 * thread setting). Not meant for concurrent callers: the engine runs one thread per process. */
const char *nn_gemm_backend(void)
{
    static char buf[256];
    const dnnl_version_t *v = dnnl_version();
    snprintf(buf, sizeof buf, "oneDNN %d.%d.%d dnnl_sgemm (OpenMP, %d thread%s)", v->major,
             v->minor, v->patch, omp_get_max_threads(), omp_get_max_threads() == 1 ? "" : "s");
    return buf;
}

#else

void nn_gemm_set_threads(int n) { openblas_set_num_threads(n < 1 ? 1 : n); }

/* The text is rebuilt on each call into a static buffer (always the same bytes). Not meant
 * for concurrent callers: the engine runs one thread per process. */
const char *nn_gemm_backend(void)
{
    static char buf[256];
    int par = openblas_get_parallel();
    snprintf(buf, sizeof buf, "%s (core %s, %s)", openblas_get_config(),
             openblas_get_corename(),
             par == 0 ? "sequential" : par == 1 ? "pthreads" : par == 2 ? "openmp" : "?");
    return buf;
}

#endif
