/* nn_gemm.h - the one GEMM wrapper every dense and convolution path goes through.
 * Row-major single precision: C = alpha * op(A) * op(B) + beta * C, with op(X) = X or X^T.
 * A is M x K after op, B is K x N after op, C is M x N; lda/ldb/ldc are row strides. */
#ifndef NN_GEMM_H
#define NN_GEMM_H

void nn_gemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, int lda,
             const float *b, int ldb, float beta, float *c, int ldc);

/* The naive reference twin, for tests. Same contract. */
void nn_gemm_ref(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a,
                 int lda, const float *b, int ldb, float beta, float *c, int ldc);

/* Sets the number of BLAS threads (the program uses 1 per rank unless told otherwise). */
void nn_gemm_set_threads(int n);
/* Static description of the backend, e.g. "OpenBLAS 0.3.21 (Zen, pthreads)". */
const char *nn_gemm_backend(void);

#endif
