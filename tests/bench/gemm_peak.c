/* gemm_peak.c - single-thread sgemm throughput through the project's GEMM wrapper (nn_gemm),
 * whatever backend the build chose. Not part of ctest. Build it with CMake
 * (`cmake --build build --target fg_bench_gemm`, binary build/tests/bench/gemm_peak) or by
 * hand from the repository root:
 *
 *   gcc -std=c11 -O2 -Iinclude -I/usr/include/x86_64-linux-gnu/openblas-pthread \
 *       tests/bench/gemm_peak.c src/engine/nn_gemm.c src/util/fg_util.c -lopenblas -lm -o /tmp/gemm_peak
 *   /tmp/gemm_peak [--shapes]
 *
 * Prints key=value lines: backend=..., then one line per shape
 *   gflops=<float> m=<M> n=<N> k=<K> ta=<0|1> tb=<0|1>
 * for 2048^3 and 10x500x784 (the MLP's first layer at batch 10); with --shapes, also the
 * GEMMs of one training step of the MLP at batch 10/100/500 and of convNN_4's layers at
 * batch 500 (im2col chunks as nn_layer_conv.c makes them). Best of several repetitions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fg_util.h"
#include "nn_gemm.h"

static double run(int ta, int tb, int m, int n, int k, float *a, float *b, float *c)
{
    const double flop = 2.0 * m * n * k;
    int reps = (int)(2e9 / flop); /* about 2 GFLOP per timing */
    if (reps < 1)
        reps = 1;
    int lda = ta ? m : k, ldb = tb ? k : n;
    double best = 0.0;
    for (int t = 0; t < 5; t++) {
        double t0 = fg_now();
        for (int r = 0; r < reps; r++)
            nn_gemm(ta, tb, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, n);
        double g = flop * reps / (fg_now() - t0) / 1e9;
        best = g > best ? g : best;
    }
    printf("gflops=%.2f m=%d n=%d k=%d ta=%d tb=%d\n", best, m, n, k, ta, tb);
    fflush(stdout);
    return best;
}

int main(int argc, char **argv)
{
    int shapes = argc > 1 && !strcmp(argv[1], "--shapes");
    nn_gemm_set_threads(1);
    const size_t big = (size_t)2048 * 2048 * 2; /* also covers 4096 x 1000 etc. */
    float *a = malloc(big * sizeof *a), *b = malloc(big * sizeof *b), *c = malloc(big * sizeof *c);
    if (!a || !b || !c)
        return 1;
    fg_rng r;
    fg_rng_seed(&r, 1);
    for (size_t i = 0; i < big; i++) {
        a[i] = (float)fg_rng_uniform(&r) - 0.5f;
        b[i] = (float)fg_rng_uniform(&r) - 0.5f;
        c[i] = 0.0f;
    }
    printf("backend=%s\n", nn_gemm_backend());
    run(0, 0, 2048, 2048, 2048, a, b, c);
    run(0, 0, 10, 500, 784, a, b, c);
    if (shapes) {
        /* MLP 784-500-500-500-10: forward X.W, input gradient dZ.W^T, weight gradient X^T.dZ */
        const int bs[3] = {10, 100, 500}, dims[5] = {784, 500, 500, 500, 10};
        for (int i = 0; i < 3; i++)
            for (int l = 0; l < 4; l++) {
                run(0, 0, bs[i], dims[l + 1], dims[l], a, b, c);
                if (l > 0)
                    run(0, 1, bs[i], dims[l], dims[l + 1], a, b, c);
                run(1, 0, dims[l], dims[l + 1], bs[i], a, b, c);
            }
        /* convNN_4 at batch 500: conv 2 and 3 (K = 288, f = 32) per im2col chunk of one
         * image, and the dense 2592 -> 1000 layer */
        const int pix[2] = {121, 81};
        for (int i = 0; i < 2; i++) {
            run(0, 0, pix[i], 32, 288, a, b, c);
            run(1, 0, 288, 32, pix[i], a, b, c);
            run(0, 1, pix[i], 288, 32, a, b, c);
        }
        run(0, 0, 500, 1000, 2592, a, b, c);
        run(0, 1, 500, 2592, 1000, a, b, c);
        run(1, 0, 2592, 1000, 500, a, b, c);
    }
    free(a), free(b), free(c);
    return 0;
}
