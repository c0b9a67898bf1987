/* nn_bench.c - training throughput (images per second) of the 784-500-500-500-10 relu MLP
 * with SGD at batch sizes 10, 100 and 500, on random Fashion-MNIST-sized data, through
 * nn_fit (shuffle, gather, forward, loss, backward, update), plus a per-phase breakdown of
 * one step. Not part of ctest. Build and run from the repository root:
 *
 *   gcc -std=c11 -O2 -Iinclude -I/usr/include/x86_64-linux-gnu/openblas-pthread \
 *       tests/bench/nn_bench.c src/nn*.c src/util/fg_util.c -lopenblas -lm -o /tmp/nn_bench
 *   OPENBLAS_NUM_THREADS=1 /tmp/nn_bench [hidden_layers (3)] [n_images (20000)] [batch (all)]
 *
 * or `cmake --build build --target fg_bench_nn` (binary build/tests/bench/nn_bench). Besides
 * the human-readable lines it prints key=value lines: backend=..., and per batch size B
 *   mlp_bB_images_per_second=<float>  mlp_bB_gflops=<float>  (training, best of 3 epochs) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_internal.h"
#include "fg_util.h"
#include "nn.h"
#include "nn_gemm.h"

static void mlp(nn_net_desc *d, int n_hidden)
{
    memset(d, 0, sizeof *d);
    d->in_h = 28, d->in_w = 28, d->in_c = 1, d->n_classes = 10;
    for (int i = 0; i <= n_hidden; i++) {
        nn_layer_desc *l = &d->layers[d->n_layers];
        nn_layer_desc_init(l, NN_LAYER_DENSE);
        l->inputs[0] = d->n_layers - 1;
        l->units = i < n_hidden ? 500 : 10;
        l->activation = i < n_hidden ? NN_ACT_RELU : NN_ACT_SOFTMAX;
        d->n_layers++;
    }
}

int main(int argc, char **argv)
{
    int n_hidden = argc > 1 ? atoi(argv[1]) : 3;
    int n = argc > 2 ? atoi(argv[2]) : 20000;
    int only = argc > 3 ? atoi(argv[3]) : 0;
    nn_gemm_set_threads(1);
    uint8_t *img = malloc((size_t)n * 784), *lab = malloc((size_t)n);
    int32_t *idx = malloc(sizeof(int32_t) * (size_t)n);
    fg_rng r;
    fg_rng_seed(&r, 1);
    for (size_t i = 0; i < (size_t)n * 784; i++)
        img[i] = (uint8_t)fg_rng_below(&r, 256);
    for (int i = 0; i < n; i++)
        lab[i] = (uint8_t)fg_rng_below(&r, 10), idx[i] = i;
    nn_data data = {img, lab, 28, 28, 1, 10};
    nn_net_desc d;
    mlp(&d, n_hidden);
    int64_t params = 0, flops = 0;
    fg_err err;
    if (nn_desc_check(&d, NULL, &params, &flops, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    printf("backend: %s\n", nn_gemm_backend());
    printf("backend=%s\n", nn_gemm_backend());
    printf("model: 784-%d x 500-10 relu, %lld parameters, %.2f MFLOP forward per image\n",
           n_hidden, (long long)params, flops / 1e6);
    static nn_fit_result res;
    const int batches[] = {10, 100, 500};
    for (int b = 0; b < 3; b++) {
        int bs = batches[b];
        if (only > 0 && bs != only)
            continue;
        nn_net *net = nn_net_new(&d, bs, 1, &err);
        if (!net) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        nn_train_desc t;
        nn_train_desc_init(&t, NN_OPT_SGD);
        t.batch_size = bs;
        t.epochs = 1;
        double best = 1e30;
        for (int rep = 0; rep < 3; rep++) {
            double t0 = fg_now();
            if (nn_fit(net, &t, &data, idx, n, NULL, 0, (uint64_t)rep, NULL, NULL, &res, &err)) {
                fprintf(stderr, "%s\n", err.msg);
                return 1;
            }
            double s = fg_now() - t0;
            best = s < best ? s : best;
        }
        /* one step, phase by phase as nn_fit runs it (plain SGD is fused into backward),
         * averaged over a few hundred steps */
        int steps = 20000 / bs + 20;
        double tg = 0, tf = 0, tb = 0;
        for (int s = 0; s < steps; s++) {
            int start = (s * bs) % (n - bs);
            double a = fg_now();
            nn_net_gather(net, &data, idx + start, bs);
            double b1 = fg_now();
            nn_net_forward(net, bs, 1, &r);
            nn_net_loss(net, bs, 1, NULL, NULL);
            double c = fg_now();
            nn_net_backward_sgd(net, bs, 1e-9f); /* lr 0 would skip the GEMM */
            double e = fg_now();
            tg += b1 - a, tf += c - b1, tb += e - c;
        }
        double per = 1e6 / ((double)steps * bs);
        float loss, acc;
        double t0 = fg_now();
        nn_evaluate(net, &data, idx, n, &loss, &acc, NULL, &err);
        double te = fg_now() - t0;
        /* training FLOPs: forward, dW and dX of every layer but the first (no dX) */
        double train_flops = 3.0 * (double)flops - 2.0 * 784 * 500;
        printf("batch %3d: train %7.0f images/s (%4.1f GFLOP/s), evaluate %7.0f images/s; "
               "per image: gather %.2f us, forward+loss %.2f us, backward+update %.2f us\n",
               bs, n / best, train_flops * n / best / 1e9, n / te, tg * per, tf * per, tb * per);
        printf("mlp_b%d_images_per_second=%.1f\nmlp_b%d_gflops=%.2f\n", bs, n / best, bs,
               train_flops * n / best / 1e9);
        fflush(stdout);
        nn_net_free(net);
    }
    free(img), free(lab), free(idx);
    return 0;
}
