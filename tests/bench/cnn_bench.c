/* cnn_bench.c - training throughput (images per second) of the study's convNN_1 and convNN_4
 * (and optionally the residual network of grids/resnet.yaml) with plain SGD at batch size
 * 500, on random Fashion-MNIST-sized data, through nn_fit (shuffle, gather, forward, loss,
 * backward, update), plus the time of every layer's forward and backward in one step. Not
 * part of ctest. Build and run from the repository root:
 *
 *   gcc -std=c11 -O2 -Iinclude -I/usr/include/x86_64-linux-gnu/openblas-pthread \
 *       tests/bench/cnn_bench.c src/nn*.c src/util/fg_util.c -lopenblas -lm -o /tmp/cnn_bench
 *   OPENBLAS_NUM_THREADS=1 /tmp/cnn_bench [n_images (10000)] [batch (500)] [resnet (0)]
 *       [bn_cnn batch (128; 0: skip bn_cnn; -B: bn_cnn alone at batch B)]
 *       [grid (0; 1: bn_cnn_grid, grids/best-cnn.yaml's own recipe, instead of bn_cnn)]
 *
 * or `cmake --build build --target fg_bench_cnn` (binary build/tests/bench/cnn_bench). Besides
 * the human-readable lines it prints key=value lines: backend=..., and per model
 *   convNN_1_images_per_second=<float>  (training at the batch size, best of 3 epochs)
 *   convNN_1_gflops=<float>             (the same counting 3x the forward FLOPs)
 * bn_cnn (below) trains with Adam and augmentation (flip, translation 2), as a recipe grid.
 * Add -DNN_CONV_COL_CAP=<floats> to try another im2col chunk size (see nn_layer_conv.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static void conv(nn_net_desc *d, int filters, int k, int s, nn_act act, int input)
{
    nn_layer_desc *l = add(d, NN_LAYER_CONV2D);
    l->filters = filters, l->kernel[0] = l->kernel[1] = k, l->strides[0] = l->strides[1] = s;
    l->activation = act;
    if (input != -2)
        l->inputs[0] = input;
    if (k != 3 || filters != 32) { /* the residual network's convolutions */
        l->padding = NN_PAD_SAME;
        l->kernel_init = (nn_init){NN_INIT_HE_NORMAL, 0, 0};
        l->l2 = 1e-4f;
    }
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

/* convNN_1, or convNN_4 when deep */
static void conv_nn(nn_net_desc *d, int deep)
{
    begin(d);
    conv(d, 32, 3, 1, NN_ACT_RELU, -2);
    add(d, NN_LAYER_MAX_POOL2D);
    if (deep) {
        add(d, NN_LAYER_DROPOUT)->rate = 0.1f;
        for (int i = 0; i < 2; i++) {
            conv(d, 32, 3, 1, NN_ACT_RELU, -2);
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

/* bn_cnn: the shape of grids/best-cnn.yaml's networks, two blocks of conv2d 3x3 'same'
 * (32 then 64 filters, no activation) -> batch norm (momentum 0.9) -> relu -> max pool 2,
 * then dropout .25, flatten, dense 256 relu, dropout .5, dense 10 softmax; trained with
 * Adam, flip + translation by 2 pixels. With grid (bn_cnn_grid), grids/best-cnn.yaml's
 * configuration 0 itself: dropout .1 and .2, he_normal kernels, AdamW (weight decay 1e-4),
 * flip + translation by 1, label smoothing 0.1, cosine decay. */
static void bn_cnn(nn_net_desc *d, int grid)
{
    begin(d);
    const int filters[2] = {32, 64};
    for (int b = 0; b < 2; b++) {
        nn_layer_desc *c = add(d, NN_LAYER_CONV2D);
        c->filters = filters[b], c->kernel[0] = c->kernel[1] = 3;
        c->strides[0] = c->strides[1] = 1, c->padding = NN_PAD_SAME;
        c->activation = NN_ACT_LINEAR;
        if (grid)
            c->kernel_init = (nn_init){NN_INIT_HE_NORMAL, 0, 0};
        add(d, NN_LAYER_BATCH_NORM)->bn_momentum = 0.9f;
        add(d, NN_LAYER_ACTIVATION)->activation = NN_ACT_RELU;
        add(d, NN_LAYER_MAX_POOL2D);
    }
    add(d, NN_LAYER_DROPOUT)->rate = grid ? 0.1f : 0.25f;
    add(d, NN_LAYER_FLATTEN);
    dense(d, 256, NN_ACT_RELU);
    if (grid)
        d->layers[d->n_layers - 1].kernel_init = (nn_init){NN_INIT_HE_NORMAL, 0, 0};
    add(d, NN_LAYER_DROPOUT)->rate = grid ? 0.2f : 0.5f;
    dense(d, 10, NN_ACT_SOFTMAX);
}

/* grids/resnet.yaml */
static void resnet(nn_net_desc *d)
{
    begin(d);
    conv(d, 64, 7, 2, NN_ACT_LINEAR, -2);
    add(d, NN_LAYER_BATCH_NORM);
    add(d, NN_LAYER_ACTIVATION)->activation = NN_ACT_RELU;
    int prev = d->n_layers - 1;
    const int filters[4] = {64, 128, 256, 512};
    for (int b = 0; b < 4; b++)
        for (int s = 0; s < 2; s++) {
            int stride = b > 0 && s == 0 ? 2 : 1;
            conv(d, filters[b], 3, stride, NN_ACT_LINEAR, prev);
            add(d, NN_LAYER_BATCH_NORM);
            add(d, NN_LAYER_ACTIVATION)->activation = NN_ACT_RELU;
            conv(d, filters[b], 3, 1, NN_ACT_LINEAR, -2);
            add(d, NN_LAYER_BATCH_NORM);
            int path = d->n_layers - 1, shortcut = prev;
            if (stride == 2) {
                conv(d, filters[b], 1, 2, NN_ACT_LINEAR, prev);
                add(d, NN_LAYER_BATCH_NORM);
                shortcut = d->n_layers - 1;
            }
            nn_layer_desc *l = add(d, NN_LAYER_ADD);
            l->inputs[0] = path, l->inputs[1] = shortcut;
            add(d, NN_LAYER_ACTIVATION)->activation = NN_ACT_RELU;
            prev = d->n_layers - 1;
        }
    add(d, NN_LAYER_AVG_POOL2D);
    add(d, NN_LAYER_FLATTEN);
    dense(d, 10, NN_ACT_SOFTMAX);
}

static int bench(const char *name, const nn_net_desc *d, const nn_data *data, const int32_t *idx,
                 int n, int bs, int recipe)
{
    fg_err err;
    int64_t params = 0, flops = 0;
    if (nn_desc_check(d, NULL, &params, &flops, &err)) {
        fprintf(stderr, "%s: %s\n", name, err.msg);
        return 1;
    }
    nn_net *net = nn_net_new(d, bs, 1, &err);
    if (!net) {
        fprintf(stderr, "%s: %s\n", name, err.msg);
        return 1;
    }
    static nn_fit_result res;
    nn_train_desc t;
    nn_train_desc_init(&t, recipe == 2 ? NN_OPT_ADAMW : recipe ? NN_OPT_ADAM : NN_OPT_SGD);
    t.learning_rate = recipe ? 1e-3f : 0.01f;
    if (recipe)
        t.augment_flip = 1, t.augment_translate = recipe == 2 ? 1 : 2;
    if (recipe == 2) /* grids/best-cnn.yaml */
        t.weight_decay = 1e-4f, t.label_smoothing = 0.1f, t.lr_schedule = NN_SCHED_COSINE;
    t.batch_size = bs;
    t.epochs = 1;
    double best = 1e30;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = fg_now();
        if (nn_fit(net, &t, data, idx, n, NULL, 0, (uint64_t)rep, NULL, NULL, &res, &err)) {
            fprintf(stderr, "%s: %s\n", name, err.msg);
            return 1;
        }
        double s = fg_now() - t0;
        best = s < best ? s : best;
    }
    float loss, acc;
    double t0 = fg_now();
    nn_evaluate(net, data, idx, n, &loss, &acc, NULL, &err);
    double te = fg_now() - t0;
    printf("%s: %lld parameters, %.2f MFLOP forward per image; batch %d: train %.0f images/s "
           "(%.1f GFLOP/s counting 3x forward), evaluate %.0f images/s\n",
           name, (long long)params, flops / 1e6, bs, n / best, 3.0 * flops * n / best / 1e9,
           n / te);
    printf("%s_images_per_second=%.1f\n", name, n / best);
    printf("%s_gflops=%.2f\n", name, 3.0 * flops * n / best / 1e9);
    fflush(stdout);

    /* per layer, one training step at a time (forward, then backward in reverse), summed over
     * a few steps; the fused SGD backward as nn_fit runs it */
    enum { STEPS = 8 };
    double tf[NN_MAX_LAYERS] = {0}, tb[NN_MAX_LAYERS] = {0};
    fg_rng r;
    fg_rng_seed(&r, 3);
    for (int s = 0; s < STEPS; s++) {
        nn_net_gather(net, data, idx + (s * bs) % (n - bs + 1), bs);
        nn_step st = {bs, 1, &r, 0, 0.0f, 0};
        for (int i = 0; i < net->n_layers; i++) {
            double a = fg_now();
            net->layers[i].ops->forward(&net->layers[i], &st);
            tf[i] += fg_now() - a;
        }
        nn_net_loss(net, bs, 1, NULL, NULL);
        nn_step sb = {bs, 1, NULL, 1, 1e-9f, 0};
        for (int i = net->n_layers - 1; i >= 0; i--) {
            if (!net->layers[i].needs_backward)
                continue;
            double a = fg_now();
            net->layers[i].ops->backward(&net->layers[i], &sb);
            tb[i] += fg_now() - a;
        }
    }
    double sf = 0, sb2 = 0;
    for (int i = 0; i < net->n_layers; i++)
        sf += tf[i], sb2 += tb[i];
    printf("  per image: forward %.1f us, backward %.1f us\n", sf / STEPS / bs * 1e6,
           sb2 / STEPS / bs * 1e6);
    for (int i = 0; i < net->n_layers; i++)
        if (tf[i] + tb[i] > 0.02 * (sf + sb2))
            printf("  %-22s forward %6.1f us  backward %6.1f us per image\n",
                   net->layers[i].d->name, tf[i] / STEPS / bs * 1e6, tb[i] / STEPS / bs * 1e6);
    nn_net_free(net);
    return 0;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 10000;
    int bs = argc > 2 ? atoi(argv[2]) : 500;
    int with_resnet = argc > 3 ? atoi(argv[3]) : 0;
    int bn_bs = argc > 4 ? atoi(argv[4]) : 128; /* 0: no bn_cnn; < 0: bn_cnn alone */
    int grid = argc > 5 ? atoi(argv[5]) : 0;    /* 1: bn_cnn_grid instead of bn_cnn */
    if (n < bs)
        n = bs;
    nn_gemm_set_threads(1);
    uint8_t *img = malloc((size_t)n * 784), *lab = malloc((size_t)n);
    int32_t *idx = malloc(sizeof(int32_t) * (size_t)n);
    fg_rng r;
    fg_rng_seed(&r, 1);
    for (size_t i = 0; i < (size_t)n * 784; i++)
        img[i] = (uint8_t)fg_rng_below(&r, 256);
    for (int i = 0; i < n; i++)
        lab[i] = (uint8_t)fg_rng_below(&r, 10), idx[i] = i;
    nn_data data = {img, lab, 28, 28, 1, 10, NULL};
    printf("backend: %s\n", nn_gemm_backend());
    printf("backend=%s\n", nn_gemm_backend());
    nn_net_desc d;
    int rc = 0;
    if (bn_bs >= 0) {
        conv_nn(&d, 0);
        rc |= bench("convNN_1", &d, &data, idx, n, bs, 0);
        conv_nn(&d, 1);
        rc |= bench("convNN_4", &d, &data, idx, n, bs, 0);
    }
    if (bn_bs != 0) {
        bn_cnn(&d, grid);
        rc |= bench(grid ? "bn_cnn_grid" : "bn_cnn", &d, &data, idx, n,
                    bn_bs < 0 ? -bn_bs : bn_bs, grid ? 2 : 1);
    }
    if (with_resnet) {
        resnet(&d);
        rc |= bench("resnet", &d, &data, idx, n < 2000 ? n : 2000, bs, 0);
    }
    free(img), free(lab), free(idx);
    return rc;
}
