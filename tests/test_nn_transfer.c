/* test_nn_transfer.c - the layers transfer learning needs: the preprocessing layers
 * (resizing, grayscale_to_rgb, rescaling, vgg16_preprocess) against hand-computed values
 * and finite differences; frozen layers (Keras's trainable = False): parameter counts,
 * weights bit-identical after training while the rest trains, gradients through frozen
 * layers; and the Keras-ordered weight views (nn_net_layer_weights). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nn_internal.h"
#include "nn_gradcheck.h"
#include "nn.h"

#include "nn_testnet.h"

static nn_net *build(const nn_net_desc *d, int batch, unsigned flags)
{
    fg_err err;
    err.msg[0] = '\0';
    nn_net *net = nn_net_build(d, batch, 7, flags, &err);
    CHECK_MSG(net != NULL, "build: %s", err.msg);
    return net;
}

/* Runs layer 0 of d (a one-layer preprocessing net + head) on x and compares its output. */
static void golden(const char *what, nn_net_desc *d, const float *x, int n_x, const float *want,
                   int n_want)
{
    push(d, NN_LAYER_FLATTEN);
    push_dense(d, d->n_classes, NN_ACT_SOFTMAX);
    nn_net *net = build(d, 1, 0);
    if (!net)
        return;
    memcpy(net->x, x, (size_t)n_x * sizeof *x);
    nn_net_forward(net, 1, 0, NULL);
    CHECK_INT(net->layers[0].out_size, n_want);
    for (int i = 0; i < n_want && i < net->layers[0].out_size; i++)
        CHECK_MSG(fabs((double)net->layers[0].y[i] - want[i]) <= 1e-5 * (1.0 + fabs(want[i])),
                  "%s: output %d is %.7g, want %.7g", what, i, (double)net->layers[0].y[i],
                  (double)want[i]);
    nn_net_free(net);
}

static nn_layer_desc *push_resize(nn_net_desc *d, int h, int w, nn_interp mode)
{
    nn_layer_desc *l = push(d, NN_LAYER_RESIZING);
    l->size[0] = h, l->size[1] = w;
    l->interpolation = mode;
    return l;
}

/* tf.image.resize (TF 2.x) by hand: half-pixel centres, see nn_layer_pre.c. */
static void test_golden(void)
{
    nn_net_desc d;
    const float x22[4] = {0, 1, 2, 3};
    /* 2x2 -> 4x4 bilinear: source rows -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped) */
    const float up_bl[16] = {0, 0.25f, 0.75f, 1, 0.5f, 0.75f, 1.25f, 1.5f,
                             1.5f, 1.75f, 2.25f, 2.5f, 2, 2.25f, 2.75f, 3};
    desc_begin(&d, 2, 2, 1, 2);
    push_resize(&d, 4, 4, NN_INTERP_BILINEAR);
    golden("resizing 2x2 -> 4x4 bilinear", &d, x22, 4, up_bl, 16);
    /* nearest: floor((o + 0.5) / 2) = 0, 0, 1, 1 */
    const float up_nn[16] = {0, 0, 1, 1, 0, 0, 1, 1, 2, 2, 3, 3, 2, 2, 3, 3};
    desc_begin(&d, 2, 2, 1, 2);
    push_resize(&d, 4, 4, NN_INTERP_NEAREST);
    golden("resizing 2x2 -> 4x4 nearest", &d, x22, 4, up_nn, 16);
    /* 4x4 (0..15) -> 2x2: bilinear averages each 2x2 block (source 0.5 and 2.5); nearest
     * takes rows and columns floor((o + 0.5) * 2) = 1, 3 */
    float x44[16];
    for (int i = 0; i < 16; i++)
        x44[i] = (float)i;
    const float dn_bl[4] = {2.5f, 4.5f, 10.5f, 12.5f}, dn_nn[4] = {5, 7, 13, 15};
    desc_begin(&d, 4, 4, 1, 2);
    push_resize(&d, 2, 2, NN_INTERP_BILINEAR);
    golden("resizing 4x4 -> 2x2 bilinear", &d, x44, 16, dn_bl, 4);
    desc_begin(&d, 4, 4, 1, 2);
    push_resize(&d, 2, 2, NN_INTERP_NEAREST);
    golden("resizing 4x4 -> 2x2 nearest", &d, x44, 16, dn_nn, 4);
    /* two channels stay apart: 1x2x2 -> 1x3x2, columns at -1/6 (0), 1/2, 7/6 (1) */
    const float x2c[4] = {0, 10, 3, 40}, w2c[6] = {0, 10, 1.5f, 25, 3, 40};
    desc_begin(&d, 1, 2, 2, 2);
    push_resize(&d, 1, 3, NN_INTERP_BILINEAR);
    golden("resizing 1x2x2 -> 1x3x2", &d, x2c, 4, w2c, 6);

    const float g[2] = {0.25f, 0.5f}, g3[6] = {0.25f, 0.25f, 0.25f, 0.5f, 0.5f, 0.5f};
    desc_begin(&d, 1, 2, 1, 2);
    push(&d, NN_LAYER_GRAYSCALE_TO_RGB);
    golden("grayscale_to_rgb", &d, g, 2, g3, 6);

    const float r[3] = {0, 0.5f, 1}, r255[3] = {-1, 126.5f, 254};
    desc_begin(&d, 1, 3, 1, 2);
    nn_layer_desc *l = push(&d, NN_LAYER_RESCALING);
    l->scale = 255, l->offset = -1;
    golden("rescaling 255, -1", &d, r, 3, r255, 3);

    /* RGB (10, 20, 30) and (255, 0, 128) -> BGR minus (103.939, 116.779, 123.68) */
    const float rgb[6] = {10, 20, 30, 255, 0, 128};
    const float bgr[6] = {30 - 103.939f, 20 - 116.779f, 10 - 123.68f,
                          128 - 103.939f, 0 - 116.779f, 255 - 123.68f};
    desc_begin(&d, 1, 2, 3, 2);
    push(&d, NN_LAYER_VGG16_PREPROCESS);
    golden("vgg16_preprocess", &d, rgb, 6, bgr, 6);
}

/* Gradient check of d with the input gradient; random inputs, labels and a nudge of the
 * trainable parameters (as test_nn_conv). */
static void grad_check(const char *what, const nn_net_desc *d, int batch)
{
    nn_net *net = build(d, batch, NN_BUILD_INPUT_GRAD);
    if (!net)
        return;
    fg_rng r;
    fg_rng_seed(&r, 5);
    int64_t n_in = (int64_t)batch * net->in_size;
    for (int64_t i = 0; i < n_in; i++)
        net->x[i] = (float)(2.0 * fg_rng_uniform(&r) - 1.0);
    for (int b = 0; b < batch; b++)
        net->labels[b] = (uint8_t)fg_rng_below(&r, (uint32_t)d->n_classes);
    for (int64_t i = 0; i < net->n_train; i++)
        net->params[i] += (float)(0.4 * (fg_rng_uniform(&r) - 0.5));
    gc_finish(what, net, batch, n_in);
}

static nn_layer_desc *push_conv(nn_net_desc *d, int filters, nn_act act)
{
    nn_layer_desc *l = push(d, NN_LAYER_CONV2D);
    l->filters = filters;
    l->padding = NN_PAD_SAME;
    l->activation = act;
    return l;
}

static void push_head(nn_net_desc *d)
{
    push(d, NN_LAYER_FLATTEN);
    push_dense(d, d->n_classes, NN_ACT_SOFTMAX);
}

static void test_gradients(void)
{
    nn_net_desc d;
    desc_begin(&d, 3, 3, 2, 3); /* upsampling, non-integer ratios */
    push_resize(&d, 5, 4, NN_INTERP_BILINEAR);
    push_conv(&d, 2, NN_ACT_TANH);
    push_head(&d);
    grad_check("resizing 3x3 -> 5x4 bilinear", &d, 2);

    desc_begin(&d, 5, 6, 2, 3); /* downsampling */
    push_resize(&d, 3, 2, NN_INTERP_BILINEAR);
    push_head(&d);
    grad_check("resizing 5x6 -> 3x2 bilinear", &d, 2);

    desc_begin(&d, 3, 2, 1, 3);
    push_resize(&d, 5, 3, NN_INTERP_NEAREST);
    push_head(&d);
    grad_check("resizing 3x2 -> 5x3 nearest", &d, 2);

    /* the VGG input pipeline: rescaling, resizing, grayscale_to_rgb, vgg16_preprocess, then
     * a rescaling back to small values so that tanh does not saturate */
    desc_begin(&d, 3, 3, 1, 3);
    nn_layer_desc *l = push(&d, NN_LAYER_RESCALING);
    l->scale = 255, l->offset = 0;
    push_resize(&d, 4, 4, NN_INTERP_BILINEAR);
    push(&d, NN_LAYER_GRAYSCALE_TO_RGB);
    push(&d, NN_LAYER_VGG16_PREPROCESS);
    l = push(&d, NN_LAYER_RESCALING);
    l->scale = 0.004f, l->offset = 0.4f;
    push_conv(&d, 2, NN_ACT_TANH);
    push_head(&d);
    grad_check("rescaling -> resizing -> grayscale_to_rgb -> vgg16_preprocess", &d, 2);

    /* input gradients through frozen layers, batch norm frozen in inference mode */
    desc_begin(&d, 4, 4, 2, 3);
    push_conv(&d, 3, NN_ACT_TANH);
    push_conv(&d, 2, NN_ACT_TANH)->frozen = 1;
    push(&d, NN_LAYER_BATCH_NORM)->frozen = 1;
    push_head(&d);
    grad_check("conv2d -> frozen conv2d -> frozen batch norm", &d, 3);
}

/* ---- frozen layers --------------------------------------------------------------------- */

enum { N_IMG = 200, S = 6, CLASSES = 3 };

/* Images whose class is the brightest third of the picture (rows). */
static void make_data(uint8_t *img, uint8_t *lab)
{
    fg_rng r;
    fg_rng_seed(&r, 3);
    for (int i = 0; i < 2 * N_IMG; i++) {
        int k = (int)fg_rng_below(&r, CLASSES);
        lab[i] = (uint8_t)k;
        for (int p = 0; p < S * S; p++)
            img[i * S * S + p] = (uint8_t)(fg_rng_below(&r, 60) + (p / S / 2 == k ? 150 : 0));
    }
}

/* Trains d and checks that every frozen layer's arrays (and batch norm's moving
 * statistics) are bit-identical afterwards and that every other layer with weights moved. */
static void fit_frozen(const char *what, const nn_net_desc *d, nn_opt_kind opt)
{
    static uint8_t img[2 * N_IMG * S * S], lab[2 * N_IMG];
    static int32_t tr[N_IMG], va[N_IMG];
    make_data(img, lab);
    for (int i = 0; i < N_IMG; i++)
        tr[i] = i, va[i] = N_IMG + i;
    nn_train_desc t;
    nn_train_desc_init(&t, opt);
    t.learning_rate = opt == NN_OPT_SGD ? 0.05f : 0.01f;
    t.batch_size = 20;
    t.epochs = 3;
    fg_err err;
    nn_net *net = nn_net_new(d, t.batch_size, 11, &err);
    CHECK_MSG(net != NULL, "%s: %s", what, err.msg);
    if (!net)
        return;
    int64_t n = nn_net_n_params(net);
    float *before = malloc((size_t)n * sizeof *before);
    memcpy(before, nn_net_params(net), (size_t)n * sizeof *before);
    nn_fit_result *res = malloc(sizeof *res);
    nn_data data = {img, lab, S, S, 1, CLASSES, NULL};
    CHECK_MSG(nn_fit(net, &t, &data, tr, N_IMG, va, N_IMG, 5, NULL, NULL, res, &err) == 0,
              "%s: %s", what, err.msg);
    CHECK_INT(res->status, NN_STATUS_OK);
    for (int i = 0; i < d->n_layers; i++) {
        nn_weight_view v[NN_WEIGHTS_MAX];
        int nv = nn_net_layer_weights(net, i, v);
        for (int k = 0; k < nv; k++) {
            const float *was = before + (v[k].data - nn_net_params(net));
            int same = !memcmp(was, v[k].data, (size_t)v[k].n * sizeof(float));
            int moving = d->layers[i].kind == NN_LAYER_BATCH_NORM && k >= 2;
            if (d->layers[i].frozen)
                CHECK_MSG(same, "%s: frozen layer %s: %s changed", what, d->layers[i].name,
                          v[k].name);
            else if (!moving)
                CHECK_MSG(!same, "%s: trainable layer %s: %s did not change", what,
                          d->layers[i].name, v[k].name);
        }
    }
    free(res);
    free(before);
    nn_net_free(net);
}

static void test_frozen(void)
{
    nn_net_desc d;
    int64_t total = 0;
    nn_layer_info info[8];
    fg_err err;

    /* counts: a frozen conv and batch norm count as non-trainable, the head trains */
    desc_begin(&d, S, S, 1, CLASSES);
    push_conv(&d, 4, NN_ACT_RELU)->frozen = 1;          /* 3*3*1*4 + 4 = 40 */
    push(&d, NN_LAYER_BATCH_NORM)->frozen = 1;          /* 4 * 4 = 16 */
    push(&d, NN_LAYER_MAX_POOL2D);
    push_head(&d);                                      /* 3*3*4*3 + 3 = 111 */
    CHECK(nn_desc_check(&d, info, &total, NULL, &err) == 0);
    CHECK_INT(total, 40 + 16 + 111);
    CHECK_INT(info[0].n_params, 40);
    CHECK_INT(info[0].n_trainable, 0);
    CHECK_INT(info[1].n_trainable, 0);
    CHECK_INT(info[4].n_trainable, 111);
    nn_net *net = build(&d, 4, 0);
    if (net) {
        CHECK_INT(net->n_train, 111);
        CHECK_INT(net->n_params, 167);
        nn_net_free(net);
    }
    /* frozen base, trained head: Adam (flat update) and plain SGD (fused update) */
    fit_frozen("frozen conv + batch norm, adam", &d, NN_OPT_ADAM);
    fit_frozen("frozen conv + batch norm, sgd", &d, NN_OPT_SGD);

    /* a frozen layer between trainable ones: its input gradient still flows (scratch dw) */
    desc_begin(&d, S, S, 1, CLASSES);
    push_conv(&d, 4, NN_ACT_RELU);
    push_conv(&d, 4, NN_ACT_RELU)->frozen = 1;
    push(&d, NN_LAYER_MAX_POOL2D);
    push_head(&d);
    fit_frozen("trainable conv -> frozen conv, sgd", &d, NN_OPT_SGD);
    fit_frozen("trainable conv -> frozen conv, adam", &d, NN_OPT_ADAM);

    /* freezing leaves the initial draws of the other layers unchanged */
    nn_net *a = build(&d, 2, 0);
    d.layers[1].frozen = 0;
    nn_net *b = build(&d, 2, 0);
    if (a && b) {
        nn_weight_view va[NN_WEIGHTS_MAX], vb[NN_WEIGHTS_MAX];
        for (int i = 0; i < d.n_layers; i++) {
            int n = nn_net_layer_weights(a, i, va);
            CHECK_INT(n, nn_net_layer_weights(b, i, vb));
            for (int k = 0; k < n; k++)
                CHECK(!memcmp(va[k].data, vb[k].data, (size_t)va[k].n * sizeof(float)));
        }
    }
    nn_net_free(a);
    nn_net_free(b);
}

/* nn_net_layer_weights / nn_desc_layer_weights: Keras's names, shapes and order. */
static void test_views(void)
{
    nn_net_desc d;
    desc_begin(&d, 4, 4, 3, 5);
    push_conv(&d, 6, NN_ACT_RELU);
    push(&d, NN_LAYER_BATCH_NORM);
    push(&d, NN_LAYER_FLATTEN);
    push_dense(&d, 5, NN_ACT_SOFTMAX);
    nn_net *net = build(&d, 1, 0);
    if (!net)
        return;
    nn_weight_view v[NN_WEIGHTS_MAX], w[NN_WEIGHTS_MAX];
    CHECK_INT(nn_net_layer_weights(net, 0, v), 2);
    CHECK(!strcmp(v[0].name, "kernel") && v[0].ndim == 4 && v[0].shape[0] == 3 &&
          v[0].shape[1] == 3 && v[0].shape[2] == 3 && v[0].shape[3] == 6);
    CHECK(!strcmp(v[1].name, "bias") && v[1].n == 6 && v[1].data == v[0].data + 162);
    CHECK_INT(nn_net_layer_weights(net, 1, v), 4);
    CHECK(!strcmp(v[3].name, "moving_variance") && v[3].data[0] == 1.0f && v[2].data[0] == 0.0f);
    CHECK(v[0].data[0] == 1.0f); /* gamma */
    CHECK_INT(nn_net_layer_weights(net, 2, v), 0);
    CHECK_INT(nn_net_layer_weights(net, 3, v), 2);
    CHECK(v[0].shape[0] == 96 && v[0].shape[1] == 5);
    CHECK_INT(nn_desc_layer_weights(&d, 3, w), 2);
    CHECK(w[0].shape[0] == 96 && w[0].shape[1] == 5 && w[0].data == NULL);
    CHECK_INT(nn_net_layer_index(net, "dense_3"), 3);
    CHECK_INT(nn_net_layer_index(net, "nope"), -1);
    nn_net_free(net);
}

int main(void)
{
    test_golden();
    test_gradients();
    test_frozen();
    test_views();
    return check_report("test_nn_transfer");
}
