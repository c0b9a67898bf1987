/* test_nn_conv.c - the convolutional layers of the engine: conv2d, depthwise_conv2d,
 * separable_conv2d, conv2d_transpose, max / average / global average pooling and batch
 * normalization. Golden forward values computed by hand; finite-difference gradients of
 * every parameter and input (strided and same-padded cases, chunked im2col, a residual block
 * with a 1x1 strided projection); fused SGD against the plain update; batch norm's moving
 * statistics; Keras parameter counts of the study's models; an end-to-end fit of a tiny CNN
 * on synthetic 8x8 images; determinism with a seed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_internal.h"
#include "check.h"
#include "nn_gradcheck.h"
#include "nn.h"

#include "nn_testnet.h"

static nn_layer_desc *push_conv(nn_net_desc *d, nn_layer_kind k, int filters, int kh, int kw,
                                int sh, int sw, nn_padding pad, nn_act act)
{
    nn_layer_desc *l = push(d, k);
    l->filters = filters;
    l->kernel[0] = kh, l->kernel[1] = kw;
    l->strides[0] = sh, l->strides[1] = sw;
    l->padding = pad;
    l->activation = act;
    return l;
}

static nn_layer_desc *push_pool(nn_net_desc *d, nn_layer_kind k, int ph, int pw, int sh,
                                int sw, nn_padding pad)
{
    nn_layer_desc *l = push(d, k);
    l->pool[0] = ph, l->pool[1] = pw;
    l->strides[0] = sh, l->strides[1] = sw;
    l->padding = pad;
    return l;
}

/* flatten -> dense(n_classes, softmax): the head every test network needs */
static void push_head(nn_net_desc *d)
{
    push(d, NN_LAYER_FLATTEN);
    push_dense(d, d->n_classes, NN_ACT_SOFTMAX);
}

static nn_net *build(const nn_net_desc *d, int batch, unsigned flags)
{
    fg_err err;
    err.msg[0] = '\0';
    nn_net *net = nn_net_build(d, batch, 7, flags, &err);
    CHECK_MSG(net != NULL, "build: %s", err.msg);
    return net;
}

/* ---- golden forward values --------------------------------------------------------------- */

/* Checks n values of layer li's output for image 0 against want. */
static void expect_out(const char *what, const nn_net *net, int li, const float *want, int n)
{
    const float *y = net->layers[li].y;
    for (int i = 0; i < n; i++)
        CHECK_MSG(fabs((double)y[i] - want[i]) <= 1e-5 * (1.0 + fabs(want[i])),
                  "%s: output %d is %.7g, want %.7g", what, i, (double)y[i], (double)want[i]);
}

static void set_input(nn_net *net, const float *x, int n)
{
    memcpy(net->x, x, (size_t)n * sizeof *x);
}

static void test_golden(void)
{
    nn_net_desc d;
    nn_net *net;
    nn_layer_desc *l;

    /* conv2d valid: 3x3x1 input 1..9, kernel 2x2 [[1, 2], [3, 4]], bias 0.5:
     * y(0,0) = 1*1 + 2*2 + 3*4 + 4*5 + 0.5 = 37.5, y(0,1) = 2 + 6 + 15 + 24 + .5 = 47.5,
     * y(1,0) = 4 + 10 + 21 + 32 + .5 = 67.5, y(1,1) = 5 + 12 + 24 + 36 + .5 = 77.5 */
    desc_begin(&d, 3, 3, 1, 2);
    push_conv(&d, NN_LAYER_CONV2D, 1, 2, 2, 1, 1, NN_PAD_VALID, NN_ACT_LINEAR);
    push_head(&d);
    if ((net = build(&d, 1, 0))) {
        const float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, w[5] = {1, 2, 3, 4, 0.5f};
        memcpy(net->layers[0].w, w, sizeof w);
        set_input(net, x, 9);
        nn_net_forward(net, 1, 0, NULL);
        const float want[4] = {37.5f, 47.5f, 67.5f, 77.5f};
        expect_out("conv2d valid", net, 0, want, 4);
        nn_net_free(net);
    }

    /* conv2d same, stride 2, kernel 3x3 of ones on 4x4 input 0..15: out 2x2;
     * pad_total = (2-1)*2 + 3 - 4 = 1: 0 before, 1 after (TF), so the windows start at
     * rows/columns 0 and 2: sums 0+1+2+4+5+6+8+9+10 = 45, 2+3+6+7+10+11 = 39,
     * 8+9+10+12+13+14 = 66, 10+11+14+15 = 50; relu(v - 40) with bias -40 */
    desc_begin(&d, 4, 4, 1, 2);
    push_conv(&d, NN_LAYER_CONV2D, 1, 3, 3, 2, 2, NN_PAD_SAME, NN_ACT_RELU);
    push_head(&d);
    if ((net = build(&d, 1, 0))) {
        float x[16];
        for (int i = 0; i < 16; i++)
            x[i] = (float)i;
        for (int i = 0; i < 9; i++)
            net->layers[0].w[i] = 1.0f;
        net->layers[0].w[9] = -40.0f;
        set_input(net, x, 16);
        nn_net_forward(net, 1, 0, NULL);
        const float want[4] = {5, 0, 26, 10};
        expect_out("conv2d same stride 2", net, 0, want, 4);
        nn_net_free(net);
    }

    /* conv2d 1x1 with 2 input channels and 3 filters (kernel (1,1,2,3) row-major):
     * x = (1, 2): y_f = w[0][f] + 2 w[1][f] + b_f */
    desc_begin(&d, 1, 1, 2, 3);
    push_conv(&d, NN_LAYER_CONV2D, 3, 1, 1, 1, 1, NN_PAD_VALID, NN_ACT_LINEAR);
    push_head(&d);
    if ((net = build(&d, 1, 0))) {
        const float x[2] = {1, 2}, w[9] = {1, 2, 3, 10, 20, 30, 0.1f, 0.2f, 0.3f};
        memcpy(net->layers[0].w, w, sizeof w);
        set_input(net, x, 2);
        nn_net_forward(net, 1, 0, NULL);
        const float want[3] = {21.1f, 42.2f, 63.3f};
        expect_out("conv2d 1x1", net, 0, want, 3);
        nn_net_free(net);
    }

    /* depthwise, depth multiplier 2, kernel 2x2, on 2x2x2 input x(i,j,c): one output pixel
     * of 4 channels c*2+m = sum_ij x(i,j,c) w(i,j,c,m) + b. x = channel 0: 1 2 3 4,
     * channel 1: 10 20 30 40 (NHWC: 1,10, 2,20, 3,30, 4,40); w(i,j,c,m) = 1 for m = 0 and
     * (i*2+j+1) for m = 1; bias (0, 0, 0, 100):
     *   c0 m0: 1+2+3+4 = 10; c0 m1: 1+4+9+16 = 30; c1 m0: 100; c1 m1: 10+40+90+160 + 100 */
    desc_begin(&d, 2, 2, 2, 2);
    l = push(&d, NN_LAYER_DEPTHWISE_CONV2D);
    l->kernel[0] = l->kernel[1] = 2, l->depth_multiplier = 2;
    push_head(&d);
    if ((net = build(&d, 1, 0))) {
        const float x[8] = {1, 10, 2, 20, 3, 30, 4, 40};
        float *w = net->layers[0].w;
        for (int q = 0; q < 4; q++)
            for (int c = 0; c < 2; c++) {
                w[q * 4 + c * 2 + 0] = 1.0f;
                w[q * 4 + c * 2 + 1] = (float)(q + 1);
            }
        w[16] = w[17] = w[18] = 0.0f, w[19] = 100.0f;
        set_input(net, x, 8);
        nn_net_forward(net, 1, 0, NULL);
        const float want[4] = {10, 30, 100, 400};
        expect_out("depthwise dm 2", net, 0, want, 4);
        nn_net_free(net);
    }

    /* depthwise same 3x3 on 3x3x1 of ones with a kernel of ones: the number of real cells
     * in each window: 4 6 4 / 6 9 6 / 4 6 4 */
    desc_begin(&d, 3, 3, 1, 2);
    l = push(&d, NN_LAYER_DEPTHWISE_CONV2D);
    l->padding = NN_PAD_SAME;
    push_head(&d);
    if ((net = build(&d, 1, 0))) {
        float x[9];
        for (int i = 0; i < 9; i++)
            x[i] = 1.0f, net->layers[0].w[i] = 1.0f;
        net->layers[0].w[9] = 0.0f;
        set_input(net, x, 9);
        nn_net_forward(net, 1, 0, NULL);
        const float want[9] = {4, 6, 4, 6, 9, 6, 4, 6, 4};
        expect_out("depthwise same", net, 0, want, 9);
        nn_net_free(net);
    }

    /* separable: 2x2x1 input (1 2 3 4), depthwise 2x2 (1 0 0 1) -> 1 + 4 = 5; pointwise
     * (1,1,1,2) = (2, -1), bias (1, 1), relu: (11, 0) */
    desc_begin(&d, 2, 2, 1, 2);
    push_conv(&d, NN_LAYER_SEPARABLE_CONV2D, 2, 2, 2, 1, 1, NN_PAD_VALID, NN_ACT_RELU);
    push_head(&d);
    if ((net = build(&d, 1, 0))) {
        const float x[4] = {1, 2, 3, 4}, w[8] = {1, 0, 0, 1, 2, -1, 1, 1};
        memcpy(net->layers[0].w, w, sizeof w);
        CHECK_INT(net->layers[0].p.n_train, 8);
        set_input(net, x, 4);
        nn_net_forward(net, 1, 0, NULL);
        const float want[2] = {11, 0};
        expect_out("separable", net, 0, want, 2);
        nn_net_free(net);
    }

    /* conv2d_transpose valid, stride 1, kernel 2x2 (1 0 / 0 1) on 2x2 input (1 2 / 3 4):
     * out 3x3 = sum of shifted copies: 1 2 0 / 3 5 2 / 0 3 4 */
    desc_begin(&d, 2, 2, 1, 2);
    push_conv(&d, NN_LAYER_CONV2D_TRANSPOSE, 1, 2, 2, 1, 1, NN_PAD_VALID, NN_ACT_LINEAR);
    push_head(&d);
    if ((net = build(&d, 1, 0))) {
        const float x[4] = {1, 2, 3, 4}, w[5] = {1, 0, 0, 1, 0};
        memcpy(net->layers[0].w, w, sizeof w);
        set_input(net, x, 4);
        nn_net_forward(net, 1, 0, NULL);
        const float want[9] = {1, 2, 0, 3, 5, 2, 0, 3, 4};
        expect_out("conv2d_transpose valid", net, 0, want, 9);
        nn_net_free(net);
    }

    /* conv2d_transpose same, strides (1, 2), kernel 1x3 (1 10 100), bias 0.5, on a 1x2
     * input (1 2): out 1x4; as the adjoint of a same conv of 4 -> 2 (pad 0 before, 1 after)
     * input i lands at 2i + a: (1, 10, 100 + 2, 20) + 0.5 */
    desc_begin(&d, 1, 2, 1, 2);
    push_conv(&d, NN_LAYER_CONV2D_TRANSPOSE, 1, 1, 3, 1, 2, NN_PAD_SAME, NN_ACT_LINEAR);
    push_head(&d);
    if ((net = build(&d, 1, 0))) {
        const float x[2] = {1, 2}, w[4] = {1, 10, 100, 0.5f};
        CHECK_INT(net->layers[0].p.out.w, 4);
        memcpy(net->layers[0].w, w, sizeof w);
        set_input(net, x, 2);
        nn_net_forward(net, 1, 0, NULL);
        const float want[4] = {1.5f, 10.5f, 102.5f, 20.5f};
        expect_out("conv2d_transpose same stride 2", net, 0, want, 4);
        nn_net_free(net);
    }

    /* conv2d_transpose valid, stride 2 > kernel 1: out = in * 2 (Keras), zeros between;
     * 2 filters from 1 channel (kernel (1,1,2,1) = (1, -1)) */
    desc_begin(&d, 1, 2, 1, 2);
    push_conv(&d, NN_LAYER_CONV2D_TRANSPOSE, 2, 1, 1, 2, 2, NN_PAD_VALID, NN_ACT_LINEAR);
    push_head(&d);
    if ((net = build(&d, 1, 0))) {
        const float x[2] = {3, 4}, w[4] = {1, -1, 0, 0};
        CHECK_INT(net->layers[0].p.out.h, 2);
        CHECK_INT(net->layers[0].p.out.w, 4);
        memcpy(net->layers[0].w, w, sizeof w);
        set_input(net, x, 2);
        nn_net_forward(net, 1, 0, NULL);
        const float want[16] = {3, -3, 0, 0, 4, -4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
        expect_out("conv2d_transpose stride > kernel", net, 0, want, 16);
        nn_net_free(net);
    }

    /* pooling on 3x3 input 1..9, pool 2, stride 2, same (pad 0 before, 1 after):
     * max (5 6 / 8 9); average over real cells only, as TF: (1+2+4+5)/4 = 3, (3+6)/2 = 4.5,
     * (7+8)/2 = 7.5, 9 */
    const float x9[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    desc_begin(&d, 3, 3, 1, 2);
    push_pool(&d, NN_LAYER_MAX_POOL2D, 2, 2, 0, 0, NN_PAD_SAME);
    push_head(&d);
    if ((net = build(&d, 1, 0))) {
        set_input(net, x9, 9);
        nn_net_forward(net, 1, 0, NULL);
        const float want[4] = {5, 6, 8, 9};
        expect_out("max pool same", net, 0, want, 4);
        nn_net_free(net);
    }
    d.layers[0].kind = NN_LAYER_AVG_POOL2D;
    if ((net = build(&d, 1, 0))) {
        set_input(net, x9, 9);
        nn_net_forward(net, 1, 0, NULL);
        const float want[4] = {3, 4.5f, 7.5f, 9};
        expect_out("average pool same", net, 0, want, 4);
        nn_net_free(net);
    }

    /* 4x4x2 input, pool 2 valid: channel 0 = 0..15, channel 1 = 15..0 (negated) */
    desc_begin(&d, 4, 4, 2, 2);
    push_pool(&d, NN_LAYER_MAX_POOL2D, 2, 2, 0, 0, NN_PAD_VALID);
    push_head(&d);
    float x32[32];
    for (int i = 0; i < 16; i++)
        x32[2 * i] = (float)i, x32[2 * i + 1] = -(float)i;
    if ((net = build(&d, 1, 0))) {
        set_input(net, x32, 32);
        nn_net_forward(net, 1, 0, NULL);
        const float want[8] = {5, 0, 7, -2, 13, -8, 15, -10};
        expect_out("max pool 2 channels", net, 0, want, 8);
        nn_net_free(net);
    }
    d.layers[0].kind = NN_LAYER_AVG_POOL2D;
    if ((net = build(&d, 1, 0))) {
        set_input(net, x32, 32);
        nn_net_forward(net, 1, 0, NULL);
        const float want[8] = {2.5f, -2.5f, 4.5f, -4.5f, 10.5f, -10.5f, 12.5f, -12.5f};
        expect_out("average pool 2 channels", net, 0, want, 8);
        nn_net_free(net);
    }
    d.layers[0].kind = NN_LAYER_GLOBAL_AVG_POOL2D;
    if ((net = build(&d, 1, 0))) {
        set_input(net, x32, 32);
        nn_net_forward(net, 1, 0, NULL);
        const float want[2] = {7.5f, -7.5f};
        expect_out("global average pool", net, 0, want, 2);
        nn_net_free(net);
    }
}

/* ---- batch normalization ----------------------------------------------------------------- */

static void test_batch_norm(void)
{
    nn_net_desc d;
    nn_net *net;
    /* 2 images of 2x1x2 (h=2, w=1, c=2): channel 0 = 1, 3 | 5, 7; channel 1 = 2, 2 | 2, 6 */
    desc_begin(&d, 2, 1, 2, 2);
    nn_layer_desc *l = push(&d, NN_LAYER_BATCH_NORM);
    l->bn_momentum = 0.9f, l->bn_epsilon = 0.01f;
    push_head(&d);
    const float x[8] = {1, 2, 3, 2, 5, 2, 7, 6};
    if (!(net = build(&d, 2, 0)))
        return;
    nn_layer *L = &net->layers[0];
    /* Keras's initial values */
    CHECK(L->w[0] == 1.0f && L->w[1] == 1.0f && L->w[2] == 0.0f && L->w[3] == 0.0f);
    CHECK(L->fixed[0] == 0.0f && L->fixed[1] == 0.0f);
    CHECK(L->fixed[2] == 1.0f && L->fixed[3] == 1.0f);
    CHECK_INT(net->n_params - net->n_train, 4 + 0);
    CHECK(L->fixed == net->params + net->n_train); /* after every trainable parameter */

    /* evaluation with the initial statistics: y = x / sqrt(1 + eps) */
    set_input(net, x, 8);
    nn_net_forward(net, 2, 0, NULL);
    for (int i = 0; i < 8; i++)
        CHECK_NEAR(L->y[i], x[i] / sqrt(1.01), 1e-6);

    /* training: channel 0 mean 4, biased variance (9+1+1+9)/4 = 5; channel 1 mean 3,
     * variance (1+1+1+9)/4 = 3; gamma (2, 1), beta (0, 1) */
    L->w[0] = 2.0f, L->w[1] = 1.0f, L->w[2] = 0.0f, L->w[3] = 1.0f;
    fg_rng r;
    fg_rng_seed(&r, 1);
    nn_net_forward(net, 2, 1, &r);
    for (int i = 0; i < 4; i++) {
        CHECK_NEAR(L->y[2 * i], 2.0 * (x[2 * i] - 4.0) / sqrt(5.01), 1e-5);
        CHECK_NEAR(L->y[2 * i + 1], (x[2 * i + 1] - 3.0) / sqrt(3.01) + 1.0, 1e-5);
    }
    /* moving = moving * 0.9 + batch * 0.1, the variance with Bessel's correction (4/3) for
     * an image input (Keras's fused kernel) */
    CHECK_NEAR(L->fixed[0], 0.4, 1e-6);
    CHECK_NEAR(L->fixed[1], 0.3, 1e-6);
    CHECK_NEAR(L->fixed[2], 0.9 + 0.1 * 5.0 * 4.0 / 3.0, 1e-6);
    CHECK_NEAR(L->fixed[3], 0.9 + 0.1 * 3.0 * 4.0 / 3.0, 1e-6);
    /* a second step moves them again */
    nn_net_forward(net, 2, 1, &r);
    CHECK_NEAR(L->fixed[0], 0.4 * 0.9 + 0.4, 1e-6);
    CHECK_NEAR(L->fixed[2], (0.9 + 0.1 * 20.0 / 3.0) * 0.9 + 0.1 * 20.0 / 3.0, 1e-6);
    /* evaluation uses the moving statistics, not the batch's */
    float mm0 = L->fixed[0], mv0 = L->fixed[2], mm1 = L->fixed[1], mv1 = L->fixed[3];
    nn_net_forward(net, 2, 0, NULL);
    for (int i = 0; i < 4; i++) {
        CHECK_NEAR(L->y[2 * i], 2.0 * (x[2 * i] - mm0) / sqrt(mv0 + 0.01), 1e-5);
        CHECK_NEAR(L->y[2 * i + 1], (x[2 * i + 1] - mm1) / sqrt(mv1 + 0.01) + 1.0, 1e-5);
    }
    CHECK(L->fixed[0] == mm0 && L->fixed[2] == mv0); /* evaluation leaves them alone */
    nn_net_free(net);

    /* a flat input (after flatten) takes Keras's non-fused path: no correction */
    desc_begin(&d, 2, 1, 1, 2);
    push(&d, NN_LAYER_FLATTEN);
    push(&d, NN_LAYER_BATCH_NORM)->bn_momentum = 0.5f;
    push_dense(&d, 2, NN_ACT_SOFTMAX);
    if ((net = build(&d, 2, 0))) {
        const float xf[4] = {0, 2, 4, 4}; /* features (0, 4) and (2, 4): var 4 and 1 */
        set_input(net, xf, 4);
        nn_net_forward(net, 2, 1, &r);
        L = &net->layers[1];
        CHECK_NEAR(L->fixed[0], 1.0, 1e-6);
        CHECK_NEAR(L->fixed[1], 1.5, 1e-6);
        CHECK_NEAR(L->fixed[2], 0.5 + 0.5 * 4.0, 1e-6);
        CHECK_NEAR(L->fixed[3], 0.5 + 0.5 * 1.0, 1e-6);
        nn_net_free(net);
    }
}

/* ---- finite-difference gradients --------------------------------------------------------- */

enum {
    GC_CHUNK = 1,    /* im2col one image at a time */
    GC_DISTINCT = 2, /* inputs a permutation of values 0.05 apart (stable max pooling) */
};

/* Checks every parameter and input gradient of the network d on a random batch; returns
 * the global relative error. */
static double grad_check(const char *what, const nn_net_desc *d, int batch, unsigned flags)
{
    nn_net *net = build(d, batch, NN_BUILD_INPUT_GRAD);
    if (!net)
        return 1.0;
    if (flags & GC_CHUNK)
        for (int i = 0; i < net->n_layers; i++)
            if (net->layers[i].p.ws_max_images > 0)
                net->layers[i].p.ws_max_images = 1;
    fg_rng r;
    fg_rng_seed(&r, 5);
    int64_t n_in = (int64_t)batch * net->in_size;
    for (int64_t i = 0; i < n_in; i++)
        net->x[i] = (float)(2.0 * fg_rng_uniform(&r) - 1.0);
    if (flags & GC_DISTINCT) {
        for (int64_t i = 0; i < n_in; i++)
            net->x[i] = 0.05f * (float)(i - n_in / 2);
        for (int64_t i = n_in - 1; i > 0; i--) {
            int64_t j = (int64_t)fg_rng_below(&r, (uint32_t)(i + 1));
            float t = net->x[i];
            net->x[i] = net->x[j], net->x[j] = t;
        }
    }
    for (int b = 0; b < batch; b++)
        net->labels[b] = (uint8_t)fg_rng_below(&r, (uint32_t)d->n_classes);
    for (int64_t i = 0; i < net->n_train; i++) /* non-zero biases, gamma away from 1 */
        net->params[i] += (float)(0.4 * (fg_rng_uniform(&r) - 0.5));

    return gc_finish(what, net, batch, n_in);
}

static void test_gradients(void)
{
    nn_net_desc d;
    nn_layer_desc *l;

    /* conv2d: valid 3x3 on 2 channels; same with an even, non-square kernel and unequal
     * strides; strided valid; 1x1 (no im2col) without bias and with L2; two convs in a row
     * (the inner input gradient goes through col2im); the chunked im2col path */
    desc_begin(&d, 5, 5, 2, 3);
    push_conv(&d, NN_LAYER_CONV2D, 3, 3, 3, 1, 1, NN_PAD_VALID, NN_ACT_TANH);
    push_head(&d);
    grad_check("conv2d valid", &d, 2, 0);

    desc_begin(&d, 5, 6, 2, 3);
    push_conv(&d, NN_LAYER_CONV2D, 3, 2, 3, 2, 1, NN_PAD_SAME, NN_ACT_LINEAR)->l2 = 0.01f;
    push_head(&d);
    grad_check("conv2d same 2x3 strides 2x1", &d, 2, 0);

    desc_begin(&d, 7, 6, 1, 3);
    push_conv(&d, NN_LAYER_CONV2D, 2, 3, 3, 2, 2, NN_PAD_VALID, NN_ACT_SIGMOID);
    push_head(&d);
    grad_check("conv2d valid stride 2", &d, 3, 0);

    desc_begin(&d, 3, 3, 3, 3);
    l = push_conv(&d, NN_LAYER_CONV2D, 4, 1, 1, 1, 1, NN_PAD_SAME, NN_ACT_TANH);
    l->use_bias = 0, l->l2 = 0.05f;
    push_head(&d);
    grad_check("conv2d 1x1", &d, 2, 0);

    desc_begin(&d, 6, 6, 2, 3);
    push_conv(&d, NN_LAYER_CONV2D, 3, 3, 3, 1, 1, NN_PAD_SAME, NN_ACT_TANH);
    push_conv(&d, NN_LAYER_CONV2D, 2, 3, 3, 2, 2, NN_PAD_SAME, NN_ACT_ELU);
    push_head(&d);
    grad_check("conv2d -> conv2d same", &d, 2, 0);
    grad_check("conv2d -> conv2d same, chunked", &d, 3, GC_CHUNK);

    /* depthwise: multiplier 1 valid; multiplier 2, same, stride 2; a kernel as large as the
     * input with stride 3 (convNN_7's layer in small) */
    desc_begin(&d, 5, 5, 2, 3);
    l = push_conv(&d, NN_LAYER_DEPTHWISE_CONV2D, 0, 3, 3, 1, 1, NN_PAD_VALID, NN_ACT_TANH);
    push_head(&d);
    grad_check("depthwise valid", &d, 2, 0);

    desc_begin(&d, 5, 6, 2, 3);
    l = push_conv(&d, NN_LAYER_DEPTHWISE_CONV2D, 0, 3, 2, 2, 2, NN_PAD_SAME, NN_ACT_LINEAR);
    l->depth_multiplier = 2, l->l2 = 0.02f;
    push_head(&d);
    grad_check("depthwise dm 2 same stride 2", &d, 2, 0);

    desc_begin(&d, 5, 5, 1, 3);
    l = push_conv(&d, NN_LAYER_DEPTHWISE_CONV2D, 0, 5, 5, 3, 3, NN_PAD_VALID, NN_ACT_TANH);
    push_head(&d);
    grad_check("depthwise full kernel", &d, 3, 0);

    /* separable: multiplier 1 valid; multiplier 2 same stride 2 with L2 */
    desc_begin(&d, 5, 5, 2, 3);
    push_conv(&d, NN_LAYER_SEPARABLE_CONV2D, 3, 3, 3, 1, 1, NN_PAD_VALID, NN_ACT_TANH);
    push_head(&d);
    grad_check("separable valid", &d, 2, 0);

    desc_begin(&d, 5, 6, 2, 3);
    l = push_conv(&d, NN_LAYER_SEPARABLE_CONV2D, 3, 3, 3, 2, 2, NN_PAD_SAME, NN_ACT_SIGMOID);
    l->depth_multiplier = 2, l->l2 = 0.02f;
    push_head(&d);
    grad_check("separable dm 2 same stride 2", &d, 2, 0);

    /* conv2d_transpose: valid stride 1; same stride 2; valid stride 2 with kernel 2; stride
     * larger than the kernel; 1x1 stride 1 (no col2im); chunked */
    desc_begin(&d, 3, 3, 2, 3);
    push_conv(&d, NN_LAYER_CONV2D_TRANSPOSE, 2, 3, 3, 1, 1, NN_PAD_VALID, NN_ACT_TANH);
    push_head(&d);
    grad_check("conv2d_transpose valid", &d, 2, 0);

    desc_begin(&d, 3, 2, 2, 3);
    push_conv(&d, NN_LAYER_CONV2D_TRANSPOSE, 2, 3, 3, 2, 2, NN_PAD_SAME, NN_ACT_LINEAR)->l2 =
        0.01f;
    push_head(&d);
    grad_check("conv2d_transpose same stride 2", &d, 2, 0);
    grad_check("conv2d_transpose same stride 2, chunked", &d, 3, GC_CHUNK);

    desc_begin(&d, 3, 3, 1, 3);
    push_conv(&d, NN_LAYER_CONV2D_TRANSPOSE, 2, 2, 2, 2, 2, NN_PAD_VALID, NN_ACT_TANH);
    push_head(&d);
    grad_check("conv2d_transpose valid stride 2", &d, 2, 0);

    desc_begin(&d, 2, 2, 2, 3);
    push_conv(&d, NN_LAYER_CONV2D_TRANSPOSE, 2, 1, 2, 3, 3, NN_PAD_VALID, NN_ACT_TANH);
    push_head(&d);
    grad_check("conv2d_transpose stride > kernel", &d, 2, 0);

    desc_begin(&d, 2, 3, 2, 3);
    push_conv(&d, NN_LAYER_CONV2D_TRANSPOSE, 3, 1, 1, 1, 1, NN_PAD_VALID, NN_ACT_TANH);
    push_head(&d);
    grad_check("conv2d_transpose 1x1", &d, 2, 0);

    /* pooling right on the input (distinct values: the max never changes hands) */
    desc_begin(&d, 4, 4, 2, 3);
    push_pool(&d, NN_LAYER_MAX_POOL2D, 2, 2, 0, 0, NN_PAD_VALID);
    push_head(&d);
    grad_check("max pool 2", &d, 2, GC_DISTINCT);

    desc_begin(&d, 5, 5, 2, 3);
    push_pool(&d, NN_LAYER_MAX_POOL2D, 3, 3, 2, 2, NN_PAD_SAME);
    push_head(&d);
    grad_check("max pool 3 stride 2 same", &d, 2, GC_DISTINCT);

    desc_begin(&d, 4, 3, 2, 3);
    push_pool(&d, NN_LAYER_MAX_POOL2D, 2, 2, 1, 1, NN_PAD_SAME); /* overlapping windows */
    push_head(&d);
    grad_check("max pool stride 1 same", &d, 2, GC_DISTINCT);

    /* windows that do not overlap but leave a row uncovered (valid) or are cut (same) */
    desc_begin(&d, 5, 4, 2, 3);
    push_pool(&d, NN_LAYER_MAX_POOL2D, 2, 2, 0, 0, NN_PAD_VALID);
    push_head(&d);
    grad_check("max pool 2 valid, odd rows", &d, 2, GC_DISTINCT);

    desc_begin(&d, 5, 5, 2, 3);
    push_pool(&d, NN_LAYER_MAX_POOL2D, 2, 2, 0, 0, NN_PAD_SAME);
    push_head(&d);
    grad_check("max pool 2 same, cut windows", &d, 2, GC_DISTINCT);

    desc_begin(&d, 5, 5, 2, 3);
    push_pool(&d, NN_LAYER_AVG_POOL2D, 3, 3, 2, 2, NN_PAD_SAME);
    push_head(&d);
    grad_check("average pool 3 stride 2 same", &d, 2, 0);

    desc_begin(&d, 5, 4, 2, 3);
    push_pool(&d, NN_LAYER_AVG_POOL2D, 2, 2, 0, 0, NN_PAD_VALID);
    push_head(&d);
    grad_check("average pool 2 valid", &d, 2, 0);

    desc_begin(&d, 3, 4, 3, 3);
    push(&d, NN_LAYER_GLOBAL_AVG_POOL2D);
    push_dense(&d, 3, NN_ACT_SOFTMAX);
    grad_check("global average pool", &d, 2, 0);

    /* a conv feeding a max pool: its output values are not spaced, some kinks are allowed */
    desc_begin(&d, 6, 6, 1, 3);
    push_conv(&d, NN_LAYER_CONV2D, 2, 3, 3, 1, 1, NN_PAD_SAME, NN_ACT_TANH);
    push_pool(&d, NN_LAYER_MAX_POOL2D, 2, 2, 0, 0, NN_PAD_VALID);
    push_head(&d);
    grad_check("conv2d -> max pool", &d, 2, 0);

    /* batch norm in training mode: after a conv (image, statistics over B*h*w), and after a
     * dense layer (flat) */
    desc_begin(&d, 4, 4, 2, 3);
    push_conv(&d, NN_LAYER_CONV2D, 3, 3, 3, 1, 1, NN_PAD_SAME, NN_ACT_LINEAR);
    push(&d, NN_LAYER_BATCH_NORM);
    push_head(&d);
    grad_check("conv2d -> batch norm", &d, 2, 0);

    desc_begin(&d, 2, 2, 1, 3);
    push_dense(&d, 4, NN_ACT_TANH);
    push(&d, NN_LAYER_BATCH_NORM);
    push_dense(&d, 3, NN_ACT_SOFTMAX);
    grad_check("dense -> batch norm", &d, 4, 0);

    /* a residual block: conv(s2) -> BN -> act -> conv -> BN, plus a 1x1 stride-2 projection
     * of the block's input -> BN, added, act. The activation is elu (alpha 1, smooth at 0)
     * rather than relu: batch norm centres its outputs on relu's kink, and a step of 1e-2
     * moves every value of a channel, so central differences across relu are unreliable
     * here (test_nn.c checks relu itself). */
    desc_begin(&d, 6, 6, 2, 3);
    push_conv(&d, NN_LAYER_CONV2D, 3, 3, 3, 1, 1, NN_PAD_SAME, NN_ACT_TANH); /* 0: input */
    push_conv(&d, NN_LAYER_CONV2D, 3, 3, 3, 2, 2, NN_PAD_SAME, NN_ACT_LINEAR); /* 1 */
    push(&d, NN_LAYER_BATCH_NORM);                                              /* 2 */
    push(&d, NN_LAYER_ACTIVATION)->activation = NN_ACT_ELU;                     /* 3 */
    push_conv(&d, NN_LAYER_CONV2D, 3, 3, 3, 1, 1, NN_PAD_SAME, NN_ACT_LINEAR); /* 4 */
    push(&d, NN_LAYER_BATCH_NORM);                                              /* 5 */
    l = push_from(&d, NN_LAYER_CONV2D, 0);                                      /* 6 */
    l->filters = 3, l->kernel[0] = l->kernel[1] = 1, l->strides[0] = l->strides[1] = 2;
    push(&d, NN_LAYER_BATCH_NORM); /* 7 */
    l = push(&d, NN_LAYER_ADD);    /* 8 */
    l->inputs[0] = 5, l->inputs[1] = 7;
    push(&d, NN_LAYER_ACTIVATION)->activation = NN_ACT_ELU;
    push(&d, NN_LAYER_GLOBAL_AVG_POOL2D);
    push_dense(&d, 3, NN_ACT_SOFTMAX);
    grad_check("residual block with a strided 1x1 projection", &d, 3, 0);
}

/* A broken backward must be caught: conv2d's relu ignored in backward. */
static void test_gradient_check_catches_errors(void)
{
    nn_net_desc d;
    desc_begin(&d, 4, 4, 1, 3);
    push_conv(&d, NN_LAYER_CONV2D, 2, 3, 3, 1, 1, NN_PAD_VALID, NN_ACT_RELU);
    push_head(&d);
    nn_net *net = build(&d, 2, NN_BUILD_INPUT_GRAD);
    if (!net)
        return;
    for (int i = 0; i < 32; i++)
        net->x[i] = (float)(i % 5) * 0.4f - 0.9f;
    net->labels[0] = 0, net->labels[1] = 2;
    nn_net_forward(net, 2, 1, NULL);
    nn_net_loss(net, 2, 1, NULL, NULL);
    net->layers[0].act = NN_ACT_LINEAR; /* the bug */
    nn_net_backward(net, 2);
    net->layers[0].act = NN_ACT_RELU;
    double worst = 0.0;
    for (int64_t i = 0; i < 20; i++) {
        double num = gc_diff(net, 2, &net->params[i], 1e-3f);
        worst = fmax(worst, fabs(num - net->grads[i]));
    }
    CHECK_MSG(worst > 1e-3, "a broken relu derivative went unnoticed (%g)", worst);
    nn_net_free(net);
}

/* ---- fused SGD and chunking against the plain paths --------------------------------------- */

/* A net with every parametrised kind (and L2), for the comparisons below. */
static void mixed_desc(nn_net_desc *d)
{
    desc_begin(d, 8, 8, 2, 4);
    push_conv(d, NN_LAYER_CONV2D, 4, 3, 3, 1, 1, NN_PAD_SAME, NN_ACT_RELU)->l2 = 0.01f;
    push(d, NN_LAYER_BATCH_NORM);
    push_conv(d, NN_LAYER_SEPARABLE_CONV2D, 4, 3, 3, 2, 2, NN_PAD_SAME, NN_ACT_TANH)->l2 =
        0.02f;
    push_conv(d, NN_LAYER_DEPTHWISE_CONV2D, 0, 2, 2, 1, 1, NN_PAD_VALID, NN_ACT_ELU)
        ->depth_multiplier = 2;
    push_conv(d, NN_LAYER_CONV2D_TRANSPOSE, 3, 3, 3, 2, 2, NN_PAD_SAME, NN_ACT_RELU)->l2 =
        0.03f;
    push_pool(d, NN_LAYER_MAX_POOL2D, 2, 2, 0, 0, NN_PAD_VALID);
    push_pool(d, NN_LAYER_AVG_POOL2D, 2, 2, 1, 1, NN_PAD_SAME);
    push_head(d);
}

static void fill_batch(nn_net *net, int batch, uint64_t seed)
{
    fg_rng r;
    fg_rng_seed(&r, seed);
    for (int64_t i = 0; i < batch * net->in_size; i++)
        net->x[i] = (float)fg_rng_uniform(&r);
    for (int b = 0; b < batch; b++)
        net->labels[b] = (uint8_t)fg_rng_below(&r, (uint32_t)net->desc.n_classes);
}

static void test_fused_and_chunked(void)
{
    nn_net_desc d;
    mixed_desc(&d);
    const int B = 5;
    nn_net *a = build(&d, B, 0), *b = build(&d, B, 0);
    if (!a || !b) {
        nn_net_free(a), nn_net_free(b);
        return;
    }
    CHECK(a->can_fuse_sgd);
    /* plain: backward, L2, w -= lr * g; fused: all in backward */
    const float lr = 0.1f;
    fill_batch(a, B, 3), fill_batch(b, B, 3);
    nn_net_forward(a, B, 1, NULL), nn_net_forward(b, B, 1, NULL);
    nn_net_loss(a, B, 1, NULL, NULL), nn_net_loss(b, B, 1, NULL, NULL);
    nn_net_backward(a, B);
    nn_net_l2(a, 1);
    for (int64_t i = 0; i < a->n_train; i++)
        a->params[i] -= lr * a->grads[i];
    nn_net_backward_sgd(b, B, lr);
    double worst = 0.0;
    for (int64_t i = 0; i < a->n_params; i++)
        worst = fmax(worst, fabs((double)a->params[i] - b->params[i]));
    CHECK_MSG(worst < 1e-6, "fused SGD differs from the plain update by %g", worst);

    /* im2col in chunks of 2 and 1 images against whole batches */
    fill_batch(a, B, 4), fill_batch(b, B, 4);
    memcpy(b->params, a->params, (size_t)a->n_params * sizeof(float));
    for (int i = 0; i < b->n_layers; i++)
        if (b->layers[i].p.ws_max_images > 0)
            b->layers[i].p.ws_max_images = i % 2 ? 1 : 2;
    nn_net_forward(a, B, 1, NULL), nn_net_forward(b, B, 1, NULL);
    double wy = 0.0;
    const float *ya = nn_net_output(a), *yb = nn_net_output(b);
    for (int i = 0; i < B * 4; i++)
        wy = fmax(wy, fabs((double)ya[i] - yb[i]));
    nn_net_loss(a, B, 1, NULL, NULL), nn_net_loss(b, B, 1, NULL, NULL);
    nn_net_backward(a, B), nn_net_backward(b, B);
    double wg = 0.0, gs = 0.0;
    for (int64_t i = 0; i < a->n_train; i++) {
        wg = fmax(wg, fabs((double)a->grads[i] - b->grads[i]));
        gs = fmax(gs, fabs((double)a->grads[i]));
    }
    CHECK_MSG(wy < 1e-6 && wg < 1e-5 * (gs > 1 ? gs : 1),
              "chunked im2col differs: outputs %g, gradients %g", wy, wg);
    CHECK(gs > 1e-4);
    nn_net_free(a), nn_net_free(b);
}

/* ---- batch norm -> relu fused (nn_layer.relu) ----------------------------------------- */

/* conv -> BN -> relu -> max pool (relu masked by the pool); conv -> frozen BN -> relu;
 * conv -> BN -> relu -> conv; conv -> BN -> relu with the BN's output also read by an add
 * (not fused); 12 channels (a vector and a tail) */
static void bn_relu_desc(nn_net_desc *d)
{
    desc_begin(d, 6, 6, 2, 3);
    push_conv(d, NN_LAYER_CONV2D, 12, 3, 3, 1, 1, NN_PAD_SAME, NN_ACT_LINEAR); /* 0 */
    push(d, NN_LAYER_BATCH_NORM)->bn_momentum = 0.8f;                          /* 1 */
    push(d, NN_LAYER_ACTIVATION)->activation = NN_ACT_RELU;                    /* 2 */
    push_pool(d, NN_LAYER_MAX_POOL2D, 2, 2, 0, 0, NN_PAD_VALID);               /* 3 */
    push_conv(d, NN_LAYER_CONV2D, 12, 3, 3, 1, 1, NN_PAD_SAME, NN_ACT_LINEAR); /* 4 */
    push(d, NN_LAYER_BATCH_NORM)->frozen = 1;                                  /* 5 */
    push(d, NN_LAYER_ACTIVATION)->activation = NN_ACT_RELU;                    /* 6 */
    push_conv(d, NN_LAYER_CONV2D, 12, 3, 3, 1, 1, NN_PAD_SAME, NN_ACT_LINEAR); /* 7 */
    push(d, NN_LAYER_BATCH_NORM);                                              /* 8 */
    push(d, NN_LAYER_ACTIVATION)->activation = NN_ACT_RELU;                    /* 9 */
    push_conv(d, NN_LAYER_CONV2D, 12, 3, 3, 1, 1, NN_PAD_SAME, NN_ACT_LINEAR); /* 10 */
    push(d, NN_LAYER_BATCH_NORM);                                              /* 11 */
    push(d, NN_LAYER_ACTIVATION)->activation = NN_ACT_RELU;                    /* 12 */
    nn_layer_desc *l = push(d, NN_LAYER_ADD);                                  /* 13 */
    l->inputs[0] = 11, l->inputs[1] = 12;
    push_head(d);
}

/* 1 when the n floats at a and b have the same bits */
static int same_bits(const float *a, const float *b, int64_t n)
{
    return !memcmp(a, b, (size_t)n * sizeof *a);
}

/* Fused and unfused networks (NN_BUILD_NO_FUSION) compute the same bits: training forward,
 * moving statistics, gradients (parameters and input), the fused SGD step, evaluation. */
static void test_bn_relu_fusion(void)
{
    nn_net_desc d;
    bn_relu_desc(&d);
    const int B = 5;
    nn_net *a = build(&d, B, NN_BUILD_INPUT_GRAD);
    nn_net *b = build(&d, B, NN_BUILD_INPUT_GRAD | NN_BUILD_NO_FUSION);
    if (!a || !b) {
        nn_net_free(a), nn_net_free(b);
        return;
    }
    CHECK(a->layers[1].relu == &a->layers[2] && a->layers[2].fused_into_prev);
    CHECK(a->layers[1].relu_masked && a->layers[3].relu_mask);
    CHECK(a->layers[5].relu == &a->layers[6] && !a->layers[5].relu_masked);
    CHECK(a->layers[8].relu == &a->layers[9] && !a->layers[8].relu_masked);
    CHECK(!a->layers[11].relu && !a->layers[12].fused_into_prev); /* read twice */
    CHECK(!b->layers[1].relu && !b->layers[3].relu_mask && !b->layers[8].relu);
    for (int step = 0; step < 3; step++) {
        fill_batch(a, B, 10 + step), fill_batch(b, B, 10 + step);
        nn_net_forward(a, B, 1, NULL), nn_net_forward(b, B, 1, NULL);
        CHECK(same_bits(a->layers[2].y, b->layers[2].y, B * a->layers[2].out_size));
        CHECK(same_bits(nn_net_output(a), nn_net_output(b), B * 3));
        nn_net_loss(a, B, 1, NULL, NULL), nn_net_loss(b, B, 1, NULL, NULL);
        if (step < 2) {
            nn_net_backward(a, B), nn_net_backward(b, B);
            CHECK(same_bits(a->grads, b->grads, a->n_train));
            CHECK(same_bits(a->dx, b->dx, B * a->in_size));
            for (int64_t i = 0; i < a->n_train; i++) /* move the weights alike */
                a->params[i] -= 0.1f * a->grads[i], b->params[i] -= 0.1f * b->grads[i];
        } else {
            nn_net_backward_sgd(a, B, 0.1f), nn_net_backward_sgd(b, B, 0.1f);
        }
        CHECK(same_bits(a->params, b->params, a->n_params)); /* moving statistics too */
    }
    nn_net_forward(a, B, 0, NULL), nn_net_forward(b, B, 0, NULL);
    CHECK(same_bits(a->layers[2].y, b->layers[2].y, B * a->layers[2].out_size));
    CHECK(same_bits(nn_net_output(a), nn_net_output(b), B * 3));
    /* a gradient the fusion got wrong would show: relu's mask matters here */
    int zeros = 0;
    for (int64_t i = 0; i < B * a->layers[2].out_size; i++)
        zeros += a->layers[2].y[i] == 0.0f;
    CHECK(zeros > 0 && zeros < B * a->layers[2].out_size);
    nn_net_free(a), nn_net_free(b);
}

/* ---- the study's models: Keras parameter counts ------------------------------------------- */

static void study_model(nn_net_desc *d, const char *name)
{
    desc_begin(d, 28, 28, 1, 10);
    if (!strcmp(name, "convNN_6")) {
        push_conv(d, NN_LAYER_SEPARABLE_CONV2D, 32, 3, 3, 1, 1, NN_PAD_VALID, NN_ACT_RELU);
        push(d, NN_LAYER_MAX_POOL2D);
    } else if (!strcmp(name, "convNN_7")) {
        push_conv(d, NN_LAYER_DEPTHWISE_CONV2D, 0, 28, 28, 3, 3, NN_PAD_VALID, NN_ACT_RELU);
    } else if (!strcmp(name, "convNN_8")) {
        push_conv(d, NN_LAYER_CONV2D_TRANSPOSE, 32, 3, 3, 1, 1, NN_PAD_VALID, NN_ACT_RELU);
        push(d, NN_LAYER_ACTIVATION)->activation = NN_ACT_RELU;
        push(d, NN_LAYER_MAX_POOL2D);
    } else {
        int deep = name[7] == '3' || name[7] == '4', drop = strcmp(name, "convNN_1") != 0 &&
                                                              strcmp(name, "convNN_3") != 0;
        float rate = !strcmp(name, "convNN_2") ? 0.15f : 0.1f;
        push_conv(d, NN_LAYER_CONV2D, 32, 3, 3, 1, 1, NN_PAD_VALID, NN_ACT_RELU);
        push(d, NN_LAYER_MAX_POOL2D);
        if (drop)
            push(d, NN_LAYER_DROPOUT)->rate = rate;
        for (int i = 0; deep && i < 2; i++) {
            push_conv(d, NN_LAYER_CONV2D, 32, 3, 3, 1, 1, NN_PAD_VALID, NN_ACT_RELU);
            if (drop)
                push(d, NN_LAYER_DROPOUT)->rate = rate;
        }
        if (!strcmp(name, "convNN_4")) {
            push(d, NN_LAYER_FLATTEN);
            push_dense(d, 1000, NN_ACT_RELU);
            push_dense(d, 500, NN_ACT_RELU);
            push_dense(d, 100, NN_ACT_RELU);
            push_dense(d, 10, NN_ACT_SOFTMAX);
            return;
        }
    }
    push(d, NN_LAYER_FLATTEN);
    push_dense(d, 100, NN_ACT_RELU);
    push_dense(d, 10, NN_ACT_SOFTMAX);
}

static void test_param_counts(void)
{
    static const struct {
        const char *name;
        int64_t params;
    } models[] = {{"convNN_1", 542230}, {"convNN_2", 542230},  {"convNN_3", 279126},
                  {"convNN_3a", 279126}, {"convNN_4", 3163426}, {"convNN_6", 541983},
                  {"convNN_7", 1995},    {"convNN_8", 721430}};
    nn_net_desc d;
    fg_err err;
    for (size_t m = 0; m < sizeof models / sizeof models[0]; m++) {
        study_model(&d, models[m].name);
        int64_t total = -1;
        CHECK_MSG(nn_desc_check(&d, NULL, &total, NULL, &err) == 0, "%s: %s", models[m].name,
                  err.msg);
        CHECK_MSG(total == models[m].params, "%s: %lld parameters, Keras has %lld",
                  models[m].name, (long long)total, (long long)models[m].params);
        nn_net *net = build(&d, 4, 0); /* and every one of them builds */
        if (net) {
            CHECK_INT(nn_net_n_params(net), models[m].params);
            fg_rng r;
            fg_rng_seed(&r, 2);
            fill_batch(net, 4, 1);
            nn_net_forward(net, 4, 1, &r);
            nn_net_loss(net, 4, 1, NULL, NULL);
            nn_net_backward(net, 4);
            int finite = 1;
            for (int64_t i = 0; i < net->n_train; i++)
                finite &= isfinite(net->grads[i]) != 0;
            CHECK_MSG(finite, "%s: non-finite gradients", models[m].name);
        }
        nn_net_free(net);
    }
    /* convNN_7's layer: 28x28 kernel, stride 3 -> 1x1x1, 784 + 1 parameters */
    study_model(&d, "convNN_7");
    nn_layer_info info[NN_MAX_LAYERS];
    CHECK_INT(nn_desc_check(&d, info, NULL, NULL, &err), 0);
    CHECK_INT(info[0].out_h, 1);
    CHECK_INT(info[0].n_params, 785);
    /* convNN_8's transpose: 28 -> 30, 3*3*32*1 + 32 */
    study_model(&d, "convNN_8");
    CHECK_INT(nn_desc_check(&d, info, NULL, NULL, &err), 0);
    CHECK_INT(info[0].out_h, 30);
    CHECK_INT(info[0].n_params, 320);
}

/* ---- end to end: a tiny CNN learns the orientation of a bar --------------------------------- */

enum { BAR_N = 600, BAR_S = 8, BAR_CLASSES = 4 };

/* 8x8 images on dim noise: class 0 a horizontal bar, 1 vertical, 2 diagonal, 3 the other
 * diagonal, each 4 pixels long at a random place. */
static void make_bars(uint8_t *img, uint8_t *lab, int n, uint64_t seed)
{
    fg_rng r;
    fg_rng_seed(&r, seed);
    static const int dy[4] = {0, 1, 1, 1}, dx[4] = {1, 0, 1, -1};
    for (int i = 0; i < n; i++) {
        uint8_t *im = img + i * BAR_S * BAR_S;
        for (int p = 0; p < BAR_S * BAR_S; p++)
            im[p] = (uint8_t)fg_rng_below(&r, 80);
        int k = (int)fg_rng_below(&r, BAR_CLASSES);
        lab[i] = (uint8_t)k;
        int y0 = (int)fg_rng_below(&r, BAR_S - 3);
        int x0 = k == 3 ? 3 + (int)fg_rng_below(&r, BAR_S - 3) : (int)fg_rng_below(&r, BAR_S - 3);
        for (int t = 0; t < 4; t++)
            im[(y0 + dy[k] * t) * BAR_S + x0 + dx[k] * t] = (uint8_t)(200 + fg_rng_below(&r, 56));
    }
}

static nn_fit_result res_a, res_b;

static int fit_bars(const nn_net_desc *d, const nn_train_desc *t, uint64_t seed,
                    nn_fit_result *res, float **params, int64_t *n_params)
{
    static uint8_t img[2 * BAR_N * BAR_S * BAR_S], lab[2 * BAR_N];
    static int32_t train[BAR_N], val[BAR_N];
    make_bars(img, lab, 2 * BAR_N, 99);
    for (int i = 0; i < BAR_N; i++)
        train[i] = i, val[i] = BAR_N + i;
    nn_data data = {img, lab, BAR_S, BAR_S, 1, BAR_CLASSES, NULL};
    fg_err err;
    nn_net *net = nn_net_new(d, t->batch_size, seed, &err);
    CHECK_MSG(net != NULL, "%s", err.msg);
    if (!net)
        return -1;
    int rc = nn_fit(net, t, &data, train, BAR_N, val, BAR_N, seed, NULL, NULL, res, &err);
    CHECK_MSG(rc == 0, "nn_fit: %s", err.msg);
    *n_params = nn_net_n_params(net);
    *params = malloc((size_t)*n_params * sizeof(float));
    memcpy(*params, nn_net_params(net), (size_t)*n_params * sizeof(float));
    nn_net_free(net);
    return rc;
}

static void test_fit(void)
{
    nn_net_desc d;
    nn_train_desc t;
    float *pa = NULL, *pb = NULL;
    int64_t na = 0, nb = 0;

    /* conv 8 3x3 relu -> max pool 2 -> flatten -> dense softmax, plain (fused) SGD */
    desc_begin(&d, BAR_S, BAR_S, 1, BAR_CLASSES);
    push_conv(&d, NN_LAYER_CONV2D, 8, 3, 3, 1, 1, NN_PAD_SAME, NN_ACT_RELU);
    push(&d, NN_LAYER_MAX_POOL2D);
    push_head(&d);
    nn_train_desc_init(&t, NN_OPT_SGD);
    t.learning_rate = 0.1f;
    t.batch_size = 20;
    t.epochs = 12;
    fit_bars(&d, &t, 5, &res_a, &pa, &na);
    CHECK_INT(res_a.status, NN_STATUS_OK);
    CHECK_MSG(res_a.val_acc > 0.9f, "tiny CNN: validation accuracy %g (chance 0.25)",
              (double)res_a.val_acc);
    CHECK_MSG(res_a.hist[t.epochs - 1].loss < 0.5f * res_a.hist[0].loss, "loss %g -> %g",
              (double)res_a.hist[0].loss, (double)res_a.hist[t.epochs - 1].loss);
    /* determinism: the same seed gives the same history and weights, bit for bit */
    fit_bars(&d, &t, 5, &res_b, &pb, &nb);
    CHECK(na == nb && pa && pb && !memcmp(pa, pb, (size_t)na * sizeof(float)));
    CHECK_INT(res_a.epochs_run, res_b.epochs_run);
    for (int e = 0; e < res_a.epochs_run && e < res_b.epochs_run; e++)
        CHECK(res_a.hist[e].loss == res_b.hist[e].loss && res_a.hist[e].acc == res_b.hist[e].acc &&
              res_a.hist[e].val_loss == res_b.hist[e].val_loss &&
              res_a.hist[e].val_acc == res_b.hist[e].val_acc);
    free(pb), pb = NULL;
    /* ... and another seed different weights */
    fit_bars(&d, &t, 6, &res_b, &pb, &nb);
    CHECK(na == nb && pb && memcmp(pa, pb, (size_t)na * sizeof(float)) != 0);
    free(pa), free(pb), pa = pb = NULL;

    /* batch norm, separable conv, average pooling and Adam: a small residual-style net.
     * Batch norm's momentum is 0.8: with Keras's 0.99 the moving statistics (which
     * validation uses) lag far behind the weights over this fit's 240 steps, exactly as they
     * would in Keras, and the validation accuracy with them. */
    desc_begin(&d, BAR_S, BAR_S, 1, BAR_CLASSES);
    push_conv(&d, NN_LAYER_CONV2D, 8, 3, 3, 1, 1, NN_PAD_SAME, NN_ACT_LINEAR);   /* 0 */
    push(&d, NN_LAYER_BATCH_NORM)->bn_momentum = 0.8f;                           /* 1 */
    push(&d, NN_LAYER_ACTIVATION)->activation = NN_ACT_RELU;                     /* 2 */
    push_conv(&d, NN_LAYER_SEPARABLE_CONV2D, 8, 3, 3, 1, 1, NN_PAD_SAME, NN_ACT_LINEAR);
    nn_layer_desc *l = push(&d, NN_LAYER_ADD);                                   /* 4 */
    l->inputs[0] = 2, l->inputs[1] = 3;
    push_pool(&d, NN_LAYER_AVG_POOL2D, 2, 2, 0, 0, NN_PAD_VALID);
    push_head(&d);
    nn_train_desc_init(&t, NN_OPT_ADAM);
    t.learning_rate = 0.01f;
    t.batch_size = 25;
    t.epochs = 10;
    fit_bars(&d, &t, 8, &res_a, &pa, &na);
    CHECK_INT(res_a.status, NN_STATUS_OK);
    CHECK_MSG(res_a.val_acc > 0.9f, "batch-norm CNN: validation accuracy %g (chance 0.25)",
              (double)res_a.val_acc);
    free(pa);
}

/* The direct small-K conv2d kernels (K = 3*3*1 <= 16) against a naive convolution, with 20
 * filters (a 16-wide block and a tail) and 3 images of 5x5 outputs (blocks of 4 rows and a
 * tail); then the gradients of the same shape. */
static void test_small_k_conv(void)
{
    nn_net_desc d;
    desc_begin(&d, 7, 7, 1, 3);
    push_conv(&d, NN_LAYER_CONV2D, 20, 3, 3, 1, 1, NN_PAD_VALID, NN_ACT_LINEAR);
    push_head(&d);
    nn_net *net = build(&d, 3, 0);
    if (!net)
        return;
    fg_rng r;
    fg_rng_seed(&r, 9);
    float *w = net->layers[0].w; /* kernel (3, 3, 1, 20), bias (20) */
    for (int i = 0; i < 9 * 20 + 20; i++)
        w[i] = (float)fg_rng_uniform(&r) - 0.5f;
    for (int i = 0; i < 3 * 49; i++)
        net->x[i] = (float)fg_rng_uniform(&r);
    nn_net_forward(net, 3, 0, NULL);
    double worst = 0.0;
    for (int n = 0; n < 3; n++)
        for (int oy = 0; oy < 5; oy++)
            for (int ox = 0; ox < 5; ox++)
                for (int f = 0; f < 20; f++) {
                    double want = w[9 * 20 + f];
                    for (int a = 0; a < 3; a++)
                        for (int b = 0; b < 3; b++)
                            want += (double)net->x[n * 49 + (oy + a) * 7 + ox + b] *
                                    w[(a * 3 + b) * 20 + f];
                    double got = net->layers[0].y[((n * 5 + oy) * 5 + ox) * 20 + f];
                    double e = fabs(got - want);
                    worst = e > worst ? e : worst;
                }
    CHECK_MSG(worst < 1e-5, "small-K conv2d forward differs from the naive sum by %g", worst);
    nn_net_free(net);

    desc_begin(&d, 6, 5, 1, 3);
    push_conv(&d, NN_LAYER_CONV2D, 20, 3, 3, 1, 1, NN_PAD_SAME, NN_ACT_TANH);
    push_head(&d);
    grad_check("conv2d small K, 20 filters", &d, 3, 0);

    /* relu as the first layer (no input gradient): the forward applies relu itself and the
     * weight gradient relu's derivative; both against naive sums over the layer's own x, y
     * and dy (which the fused path leaves as the output gradient) */
    desc_begin(&d, 7, 7, 1, 3);
    push_conv(&d, NN_LAYER_CONV2D, 20, 3, 3, 1, 1, NN_PAD_VALID, NN_ACT_RELU);
    push_head(&d);
    if (!(net = build(&d, 3, 0)))
        return;
    const nn_layer *L = &net->layers[0];
    for (int i = 0; i < 3 * 49; i++)
        net->x[i] = (float)fg_rng_uniform(&r) - 0.5f;
    for (int b = 0; b < 3; b++)
        net->labels[b] = (uint8_t)b;
    nn_net_forward(net, 3, 1, &r);
    nn_net_loss(net, 3, 1, NULL, NULL);
    nn_net_backward(net, 3);
    double worst_y = 0.0, worst_dw = 0.0, scale = 0.0;
    int positive = 0;
    for (int f = 0; f < 20; f++) {
        double db = 0.0, dw[9] = {0};
        for (int n = 0; n < 3; n++)
            for (int oy = 0; oy < 5; oy++)
                for (int ox = 0; ox < 5; ox++) {
                    int64_t o = ((n * 5 + oy) * 5 + ox) * 20 + f;
                    double z = L->w[9 * 20 + f];
                    for (int k = 0; k < 9; k++)
                        z += (double)net->x[n * 49 + (oy + k / 3) * 7 + ox + k % 3] *
                             L->w[k * 20 + f];
                    double want = z > 0.0 ? z : 0.0;
                    worst_y = fmax(worst_y, fabs(L->y[o] - want));
                    positive += L->y[o] > 0.0f;
                    double g = L->y[o] > 0.0f ? L->dy[o] : 0.0;
                    db += g;
                    for (int k = 0; k < 9; k++)
                        dw[k] += g * net->x[n * 49 + (oy + k / 3) * 7 + ox + k % 3];
                }
        worst_dw = fmax(worst_dw, fabs(L->dw[9 * 20 + f] - db));
        scale = fmax(scale, fabs(db));
        for (int k = 0; k < 9; k++) {
            worst_dw = fmax(worst_dw, fabs(L->dw[k * 20 + f] - dw[k]));
            scale = fmax(scale, fabs(dw[k]));
        }
    }
    CHECK_MSG(positive > 100 && positive < 1400, "relu test: %d of 1500 outputs positive",
              positive);
    CHECK_MSG(worst_y < 1e-5, "small-K conv2d relu forward differs by %g", worst_y);
    CHECK_MSG(worst_dw < 1e-5 * (1.0 + scale), "small-K conv2d relu weight gradient differs "
              "by %g (scale %g)", worst_dw, scale);
    nn_net_free(net);
}

int main(void)
{
    test_golden();
    test_small_k_conv();
    test_batch_norm();
    test_gradients();
    test_gradient_check_catches_errors();
    test_fused_and_chunked();
    test_bn_relu_fusion();
    test_param_counts();
    test_fit();
    return check_report("test_nn_conv");
}
