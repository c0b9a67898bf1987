/* augment_bench.c - what augmentation of the training batches costs (src/engine/nn_augment.c):
 *   1. gathering alone, microseconds per image: plain (nn_net_gather) and with each transform
 *      (translate 2, flip, erase 0.5, all three);
 *   2. training, A/B in one run: one epoch of nn_fit on the same random images without and
 *      with all three transforms, alternated, best of R runs each (process CPU time), for
 *      the study's networks
 *      (the MLP 3 x 500 at batch 10 and 3 x 1000 at batch 500, convNN_1 and convNN_4 at
 *      batch 500) and a 2-conv + batch-norm CNN with Adam at batch 128.
 * Not part of ctest. `cmake --build build --target fg_bench_augment`, then
 *
 *   OPENBLAS_NUM_THREADS=1 build/tests/bench/augment_bench [n_images (2000)] [runs (3)]
 *
 * Besides the human-readable lines it prints key=value lines:
 *   gather_us_per_image_<plain|translate|flip|erase|all>=<float>
 *   augment_overhead_<net>_percent=<float>  (the step time with all three, relative) */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn_internal.h"
#include "fg_util.h"
#include "nn.h"
#include "nn_gemm.h"

static nn_layer_desc *add(nn_net_desc *d, nn_layer_kind k)
{
    nn_layer_desc *l = &d->layers[d->n_layers];
    nn_layer_desc_init(l, k);
    snprintf(l->name, NN_NAME_MAX, "%s_%d", nn_layer_kind_name(k), d->n_layers + 1);
    l->inputs[0] = d->n_layers - 1;
    d->n_layers++;
    return l;
}

static void conv(nn_net_desc *d, int filters, nn_padding pad, nn_act act)
{
    nn_layer_desc *l = add(d, NN_LAYER_CONV2D);
    l->filters = filters, l->padding = pad, l->activation = act;
}

static void dense(nn_net_desc *d, int units, nn_act act)
{
    nn_layer_desc *l = add(d, NN_LAYER_DENSE);
    l->units = units, l->activation = act;
}

static void begin(nn_net_desc *d)
{
    memset(d, 0, sizeof *d);
    d->in_h = 28, d->in_w = 28, d->in_c = 1, d->n_classes = 10;
}

static void mlp(nn_net_desc *d, int units)
{
    begin(d);
    add(d, NN_LAYER_FLATTEN);
    for (int i = 0; i < 3; i++)
        dense(d, units, NN_ACT_RELU);
    dense(d, 10, NN_ACT_SOFTMAX);
}

/* convNN_1, or convNN_4 when deep (grids/cnn.yaml) */
static void conv_nn(nn_net_desc *d, int deep)
{
    begin(d);
    conv(d, 32, NN_PAD_VALID, NN_ACT_RELU);
    add(d, NN_LAYER_MAX_POOL2D);
    if (deep) {
        add(d, NN_LAYER_DROPOUT)->rate = 0.1f;
        for (int i = 0; i < 2; i++) {
            conv(d, 32, NN_PAD_VALID, NN_ACT_RELU);
            add(d, NN_LAYER_DROPOUT)->rate = 0.1f;
        }
    }
    add(d, NN_LAYER_FLATTEN);
    if (deep) {
        dense(d, 1000, NN_ACT_RELU);
        dense(d, 500, NN_ACT_RELU);
    }
    dense(d, 100, NN_ACT_RELU);
    dense(d, 10, NN_ACT_SOFTMAX);
}

/* 2 x (conv 3x3 same, batch norm, relu, max pool), dense 128, softmax */
static void conv_bn(nn_net_desc *d)
{
    begin(d);
    for (int i = 0; i < 2; i++) {
        conv(d, 32 << i, NN_PAD_SAME, NN_ACT_LINEAR);
        d->layers[d->n_layers - 1].use_bias = 0;
        add(d, NN_LAYER_BATCH_NORM);
        add(d, NN_LAYER_ACTIVATION)->activation = NN_ACT_RELU;
        add(d, NN_LAYER_MAX_POOL2D);
    }
    add(d, NN_LAYER_FLATTEN);
    dense(d, 128, NN_ACT_RELU);
    dense(d, 10, NN_ACT_SOFTMAX);
}

/* CPU seconds of this process: steadier than the wall clock on a shared machine, where the
 * other processes' load only slows the wall clock (one BLAS thread: CPU time = work). */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void set_aug(nn_train_desc *t, int translate, int flip, float erase)
{
    t->augment_translate = translate;
    t->augment_flip = flip;
    t->augment_erase = erase;
}

/* Microseconds per image of gathering n images in batches of 128 with t's augmentation. */
static double gather_us(nn_net *net, const nn_train_desc *t, const nn_data *data,
                        const int32_t *idx, int n)
{
    nn_augment a;
    nn_augment_init(&a, t, 1);
    double best = 1e30;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = fg_now();
        for (int s = 0; s + 128 <= n; s += 128) {
            if (nn_augment_active(&a))
                nn_augment_gather(&a, net, data, idx + s, 128);
            else
                nn_net_gather(net, data, idx + s, 128);
        }
        double dt = fg_now() - t0;
        best = dt < best ? dt : best;
    }
    return best / (double)(n / 128 * 128) * 1e6;
}

/* Best-of-runs seconds of one epoch, plain and augmented, alternated. */
static int ab(const char *name, const nn_net_desc *d, nn_opt_kind opt, int bs,
              const nn_data *data, const int32_t *idx, int n, int runs)
{
    fg_err err;
    nn_net *net = nn_net_new(d, bs, 1, &err);
    if (!net) {
        fprintf(stderr, "%s: %s\n", name, err.msg);
        return 1;
    }
    static nn_fit_result res;
    nn_train_desc t;
    nn_train_desc_init(&t, opt);
    t.batch_size = bs;
    t.epochs = 1;
    double best[2] = {1e30, 1e30};
    for (int r = 0; r < runs; r++)
        for (int k = 0; k < 2; k++) {
            set_aug(&t, k ? 2 : 0, k, k ? 0.5f : 0.0f);
            double t0 = cpu_now();
            if (nn_fit(net, &t, data, idx, n, NULL, 0, (uint64_t)r, NULL, NULL, &res, &err)) {
                fprintf(stderr, "%s: %s\n", name, err.msg);
                nn_net_free(net);
                return 1;
            }
            double dt = cpu_now() - t0;
            best[k] = dt < best[k] ? dt : best[k];
        }
    double pct = 100.0 * (best[1] / best[0] - 1.0);
    printf("%-26s batch %3d: %8.1f us/image plain, %8.1f augmented (CPU): %+.2f%%\n", name, bs,
           best[0] / n * 1e6, best[1] / n * 1e6, pct);
    printf("augment_overhead_%s_percent=%.2f\n", name, pct);
    fflush(stdout);
    nn_net_free(net);
    return 0;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 2000;
    int runs = argc > 2 ? atoi(argv[2]) : 3;
    if (n < 512)
        n = 512;
    nn_gemm_set_threads(1);
    uint8_t *img = malloc((size_t)n * 784), *lab = malloc((size_t)n);
    int32_t *idx = malloc(sizeof(int32_t) * (size_t)n);
    fg_rng r;
    fg_rng_seed(&r, 1);
    for (size_t i = 0; i < (size_t)n * 784; i++)
        img[i] = (uint8_t)fg_rng_below(&r, 256);
    for (int i = 0; i < n; i++)
        lab[i] = (uint8_t)fg_rng_below(&r, 10), idx[i] = i;
    fg_rng_shuffle_i32(&r, idx, (size_t)n); /* gathers read scattered images, as in training */
    nn_data data = {img, lab, 28, 28, 1, 10};
    printf("backend=%s\n", nn_gemm_backend());

    nn_net_desc d;
    fg_err err;
    mlp(&d, 10);
    nn_net *net = nn_net_new(&d, 128, 1, &err);
    nn_train_desc t;
    nn_train_desc_init(&t, NN_OPT_SGD);
    const char *what[5] = {"plain", "translate", "flip", "erase", "all"};
    for (int k = 0; k < 5 && net; k++) {
        set_aug(&t, k == 1 || k == 4 ? 2 : 0, k == 2 || k == 4, k == 3 || k == 4 ? 0.5f : 0.0f);
        double us = gather_us(net, &t, &data, idx, n);
        printf("gather %-9s %.3f us/image\n", what[k], us);
        printf("gather_us_per_image_%s=%.3f\n", what[k], us);
    }
    nn_net_free(net);

    int rc = 0;
    mlp(&d, 500);
    rc |= ab("mlp_3x500_b10", &d, NN_OPT_SGD, 10, &data, idx, n, runs);
    mlp(&d, 1000);
    rc |= ab("mlp_3x1000_b500", &d, NN_OPT_SGD, 500, &data, idx, n, runs);
    conv_nn(&d, 0);
    rc |= ab("convNN_1_b500", &d, NN_OPT_SGD, 500, &data, idx, n, runs);
    conv_nn(&d, 1);
    rc |= ab("convNN_4_b500", &d, NN_OPT_SGD, 500, &data, idx, n, runs);
    conv_bn(&d);
    rc |= ab("conv2_bn_adam_b128", &d, NN_OPT_ADAM, 128, &data, idx, n, runs);
    free(img), free(lab), free(idx);
    return rc;
}
