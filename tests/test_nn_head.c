/* test_nn_head.c - the frozen base and its head (nn_head.c): which layers form a base
 * (nn_desc_base_len), the base's outputs independent of how images are batched (bit for
 * bit), and a head trained on those features (nn_data.features) giving bit for bit the
 * scores and weights of the whole network trained on the images. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nn.h"
#include "nn_head.h"

#include "nn_testnet.h"

#define S 12
#define CLASSES 4
#define N_IMG 90

static nn_layer_desc *push_conv(nn_net_desc *d, int filters)
{
    nn_layer_desc *l = push(d, NN_LAYER_CONV2D);
    l->filters = filters;
    l->padding = NN_PAD_SAME;
    l->activation = NN_ACT_RELU;
    return l;
}

static void frozen_convs(nn_net_desc *d, int f1, int f2);

/* rescaling, conv, bn, pool, conv, pool (frozen up to the second pool), flatten, dense,
 * dropout, dense softmax. */
static void vgg_like(nn_net_desc *d)
{
    frozen_convs(d, 6, 8);
    push(d, NN_LAYER_FLATTEN);
    push_dense(d, 16, NN_ACT_RELU);
    push(d, NN_LAYER_DROPOUT)->rate = 0.3f;
    push_dense(d, CLASSES, NN_ACT_SOFTMAX);
}

/* The first 7 layers of vgg_like, frozen, with f1 and f2 filters. */
static void frozen_convs(nn_net_desc *d, int f1, int f2)
{
    desc_begin(d, S, S, 1, CLASSES);
    push(d, NN_LAYER_RESCALING)->scale = 255;
    push(d, NN_LAYER_GRAYSCALE_TO_RGB);
    push_conv(d, f1);
    push(d, NN_LAYER_BATCH_NORM);
    push(d, NN_LAYER_MAX_POOL2D)->pool[0] = 2;
    push_conv(d, f2);
    push(d, NN_LAYER_MAX_POOL2D)->pool[0] = 2;
    for (int i = 0; i < d->n_layers; i++) {
        d->layers[i].frozen = 1;
        if (d->layers[i].kind == NN_LAYER_MAX_POOL2D)
            d->layers[i].pool[1] = 2, d->layers[i].strides[0] = d->layers[i].strides[1] = 2;
    }
}

static void test_base_len(void)
{
    nn_net_desc d;
    vgg_like(&d);
    CHECK_INT(nn_desc_base_len(&d), 8); /* the frozen layers and flatten */
    d.layers[5].frozen = 0;             /* second conv trainable: the base ends at the BN's pool */
    CHECK_INT(nn_desc_base_len(&d), 5);
    vgg_like(&d);
    for (int i = 0; i < d.n_layers; i++)
        d.layers[i].frozen = 0;
    CHECK_INT(nn_desc_base_len(&d), 0); /* nothing frozen: no base */
}

static void make_data(uint8_t *img, uint8_t *lab)
{
    fg_rng r;
    fg_rng_seed(&r, 5);
    for (int i = 0; i < 2 * N_IMG; i++) {
        int k = (int)fg_rng_below(&r, CLASSES);
        lab[i] = (uint8_t)k;
        for (int p = 0; p < S * S; p++)
            img[i * S * S + p] = (uint8_t)(fg_rng_below(&r, 60) + (p / S / 3 == k ? 150 : 0));
    }
}

/* The base's outputs of every image in batches of 1, 7 and all: bit for bit the same. */
static void test_batching(nn_net_desc *d, int n_base, const nn_data *data, int32_t *all, int64_t size)
{
    /* zeroed: a failed nn_base_forward must not leave memcmp reading uninitialised floats */
    float *ref = calloc((size_t)(2 * N_IMG * size), sizeof *ref);
    float *got = calloc((size_t)(2 * N_IMG * size), sizeof *got);
    int batches[3] = {2 * N_IMG, 1, 7};
    fg_err err;
    for (int b = 0; b < 3; b++) {
        nn_net *net = nn_net_new(d, batches[b], 3, &err);
        CHECK(net != NULL);
        if (!net)
            break;
        CHECK_INT(nn_base_forward(net, n_base, data, all, 2 * N_IMG, b ? got : ref, &err), 0);
        if (b)
            CHECK_MSG(!memcmp(ref, got, (size_t)(2 * N_IMG * size) * sizeof *ref),
                      "base outputs in batches of %d differ from one batch", batches[b]);
        nn_net_free(net);
    }
    free(ref);
    free(got);
}

/* Wider frozen layers (whose GEMMs, batched, OpenBLAS's Haswell/Zen kernels sum per row
 * by the row's place in the matrix) and a frozen dense: still independent of the batching. */
static void test_wide_batching(const nn_data *data, int32_t *all)
{
    nn_net_desc d;
    frozen_convs(&d, 8, 16);
    push(&d, NN_LAYER_FLATTEN);
    push_dense(&d, 12, NN_ACT_RELU)->frozen = 1;
    push_dense(&d, CLASSES, NN_ACT_SOFTMAX);
    CHECK_INT(nn_desc_base_len(&d), 9);
    test_batching(&d, 9, data, all, 12);
}

static void test_head(void)
{
    static uint8_t img[2 * N_IMG * S * S], lab[2 * N_IMG];
    static int32_t all[2 * N_IMG];
    make_data(img, lab);
    for (int i = 0; i < 2 * N_IMG; i++)
        all[i] = i;
    nn_net_desc d;
    vgg_like(&d);
    nn_data data = {img, lab, S, S, 1, CLASSES, NULL};
    int64_t size = nn_base_out_size(&d, 8);
    CHECK_INT(size, 3 * 3 * 8);
    test_batching(&d, 8, &data, all, size);
    test_wide_batching(&data, all);

    nn_train_desc t;
    nn_train_desc_init(&t, NN_OPT_ADAM);
    t.batch_size = 16;
    t.epochs = 3;
    fg_err err;
    nn_fit_result *r1 = malloc(sizeof *r1), *r2 = malloc(sizeof *r2);
    nn_net *whole = nn_net_new(&d, 64, 9, &err);
    CHECK_INT(nn_fit(whole, &t, &data, all, N_IMG, all + N_IMG, N_IMG, 4, NULL, NULL, r1, &err), 0);

    /* The features from a network of other batch size and seed (the base is the same: the
     * frozen layers hold what a weights file would give; here both draw them from seed 9). */
    nn_net *init = nn_net_new(&d, 1, 9, &err);
    nn_net *fnet = nn_net_new(&d, 32, 9, &err);
    float *feat = malloc((size_t)(2 * N_IMG * size) * sizeof *feat);
    CHECK_INT(nn_base_forward(fnet, 8, &data, all, 2 * N_IMG, feat, &err), 0);
    nn_net *head = nn_head_from(init, 8, 64, &err);
    CHECK_MSG(head != NULL, "%s", err.msg);
    nn_data fd = {NULL, lab, 1, 1, 72, CLASSES, feat}; /* flattened */
    CHECK_INT(nn_fit(head, &t, &fd, all, N_IMG, all + N_IMG, N_IMG, 4, NULL, NULL, r2, &err), 0);
    CHECK_INT(r2->epochs_run, r1->epochs_run);
    for (int e = 0; e < r1->epochs_run; e++) {
        CHECK_MSG(r1->hist[e].val_loss == r2->hist[e].val_loss && r1->hist[e].loss == r2->hist[e].loss,
                  "epoch %d: head on features %.9g/%.9g, whole network %.9g/%.9g", e,
                  (double)r2->hist[e].loss, (double)r2->hist[e].val_loss, (double)r1->hist[e].loss,
                  (double)r1->hist[e].val_loss);
    }
    CHECK_INT(nn_head_copy_to(head, init, &err), 0); /* the whole network from the head */
    CHECK(!memcmp(nn_net_params(init), nn_net_params(whole), (size_t)nn_net_n_params(whole) * sizeof(float)));
    /* features refuse augmentation and the test-time flip */
    t.augment_flip = 1;
    CHECK_INT(nn_fit(head, &t, &fd, all, N_IMG, NULL, 0, 4, NULL, NULL, r2, &err), -1);
    CHECK_STR_CONTAINS(err.msg, "need images");
    free(feat), free(r1), free(r2);
    nn_net_free(whole), nn_net_free(init), nn_net_free(fnet), nn_net_free(head);
}

int main(void)
{
    test_base_len();
    test_head();
    return check_report("test_nn_head");
}
