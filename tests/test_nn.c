/* test_nn.c - the training engine: names and defaults, shape checks and Keras parameter
 * counts, a golden forward pass, finite-difference gradients of every layer, one and two
 * steps of every optimizer against the formulas, initialiser statistics, an end-to-end fit
 * on a synthetic separable data set, determinism, divergence, timeouts, early stopping,
 * reduce-on-plateau and restore_best. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_internal.h"
#include "check.h"
#include "nn_gradcheck.h"
#include "nn.h"
#include "nn_gemm.h"

#include "nn_testnet.h"

static void mlp_desc(nn_net_desc *d, int hidden, int n_hidden)
{
    desc_begin(d, 28, 28, 1, 10);
    push(d, NN_LAYER_FLATTEN);
    for (int i = 0; i < n_hidden; i++)
        push_dense(d, hidden, NN_ACT_RELU);
    push_dense(d, 10, NN_ACT_SOFTMAX);
}

/* ---- names and defaults ------------------------------------------------------------------ */

static void test_names(void)
{
    for (int i = 0; i < NN_ACT__COUNT; i++)
        CHECK_INT(nn_act_from_name(nn_act_name((nn_act)i)), i);
    for (int i = 0; i < NN_INIT__COUNT; i++)
        CHECK_INT(nn_init_from_name(nn_init_name((nn_init_kind)i)), i);
    for (int i = 0; i < NN_LAYER__COUNT; i++)
        CHECK_INT(nn_layer_kind_from_name(nn_layer_kind_name((nn_layer_kind)i)), i);
    for (int i = 0; i < NN_OPT__COUNT; i++)
        CHECK_INT(nn_opt_from_name(nn_opt_name((nn_opt_kind)i)), i);
    for (int i = 0; i <= NN_MON_ACC; i++)
        CHECK_INT(nn_monitor_from_name(nn_monitor_name((nn_monitor)i)), i);
    CHECK(!strcmp(nn_layer_kind_name(NN_LAYER_MAX_POOL2D), "max_pooling2d"));
    CHECK(!strcmp(nn_act_name(NN_ACT_LEAKY_RELU), "leaky_relu"));
    CHECK(!strcmp(nn_status_name(NN_STATUS_DIVERGED), "diverged"));
    CHECK(!strcmp(nn_monitor_name(NN_MON_VAL_ACC), "val_accuracy"));
    /* Keras class names and other spellings */
    CHECK_INT(nn_layer_kind_from_name("MaxPooling2D"), NN_LAYER_MAX_POOL2D);
    CHECK_INT(nn_layer_kind_from_name("Conv2DTranspose"), NN_LAYER_CONV2D_TRANSPOSE);
    CHECK_INT(nn_layer_kind_from_name("BatchNormalization"), NN_LAYER_BATCH_NORM);
    CHECK_INT(nn_act_from_name("LeakyReLU"), NN_ACT_LEAKY_RELU);
    CHECK_INT(nn_init_from_name("GlorotUniform"), NN_INIT_GLOROT_UNIFORM);
    CHECK_INT(nn_opt_from_name("RMSprop"), NN_OPT_RMSPROP);
    CHECK_INT(nn_monitor_from_name("val_acc"), NN_MON_VAL_ACC);
    CHECK_INT(nn_monitor_from_name("accuracy"), NN_MON_ACC);
    CHECK_INT(nn_act_from_name("relux"), -1);
    CHECK_INT(nn_act_from_name(""), -1);
    CHECK_INT(nn_layer_kind_from_name("dense2"), -1);
    CHECK_INT(nn_opt_from_name(NULL), -1);
    CHECK(!strcmp(nn_act_name((nn_act)99), "?"));
}

static void test_defaults(void)
{
    nn_train_desc t;
    const struct {
        nn_opt_kind k;
        float lr;
    } lrs[] = {{NN_OPT_SGD, 0.01f},     {NN_OPT_ADAM, 0.001f},     {NN_OPT_RMSPROP, 0.001f},
               {NN_OPT_ADAGRAD, 0.001f}, {NN_OPT_ADADELTA, 0.001f}, {NN_OPT_ADAMAX, 0.001f},
               {NN_OPT_NADAM, 0.001f}};
    for (size_t i = 0; i < sizeof lrs / sizeof lrs[0]; i++) {
        nn_train_desc_init(&t, lrs[i].k);
        CHECK_INT(t.optimizer, lrs[i].k);
        CHECK_NEAR(t.learning_rate, lrs[i].lr, 1e-9);
        CHECK_NEAR(t.epsilon, 1e-7, 1e-12);
        CHECK_INT(t.batch_size, 32);
        CHECK_INT(t.epochs, 1);
        CHECK_INT(t.es_patience, -1);
        CHECK(t.rlr_factor == 0.0f);
        CHECK_INT(t.rlr_patience, 10);
        CHECK_NEAR(t.rlr_min_delta, 1e-4, 1e-9);
    }
    nn_train_desc_init(&t, NN_OPT_ADAM);
    CHECK_NEAR(t.beta_1, 0.9, 1e-7);
    CHECK_NEAR(t.beta_2, 0.999, 1e-7);
    nn_train_desc_init(&t, NN_OPT_RMSPROP);
    CHECK_NEAR(t.rho, 0.9, 1e-7);
    CHECK(t.momentum == 0.0f);
    nn_train_desc_init(&t, NN_OPT_ADADELTA);
    CHECK_NEAR(t.rho, 0.95, 1e-7);
    nn_train_desc_init(&t, NN_OPT_ADAGRAD);
    CHECK_NEAR(t.initial_accumulator, 0.1, 1e-7);

    nn_layer_desc l;
    nn_layer_desc_init(&l, NN_LAYER_DENSE);
    CHECK_INT(l.n_inputs, 1);
    CHECK_INT(l.inputs[0], NN_INPUT);
    CHECK_INT(l.use_bias, 1);
    CHECK_INT(l.kernel_init.kind, NN_INIT_GLOROT_UNIFORM);
    CHECK_INT(l.bias_init.kind, NN_INIT_ZEROS);
    CHECK_INT(l.activation, NN_ACT_LINEAR);
    CHECK_NEAR(nn_act_alpha(NN_ACT_LEAKY_RELU, l.alpha), 0.3, 1e-7);
    CHECK_NEAR(nn_act_alpha(NN_ACT_ELU, l.alpha), 1.0, 1e-7);
    CHECK_NEAR(nn_act_alpha(NN_ACT_ELU, 0.5f), 0.5, 1e-7);
    nn_layer_desc_init(&l, NN_LAYER_BATCH_NORM);
    CHECK_NEAR(l.bn_momentum, 0.99, 1e-7);
    CHECK_NEAR(l.bn_epsilon, 1e-3, 1e-9);
    nn_layer_desc_init(&l, NN_LAYER_ADD);
    CHECK_INT(l.n_inputs, 2);
}

/* ---- shape checks and parameter counts --------------------------------------------------- */

static void test_desc_check(void)
{
    nn_net_desc d;
    nn_layer_info info[NN_MAX_LAYERS];
    int64_t total = -1, flops = -1;
    fg_err err = {{0}};

    /* 784-500-500-500-10: 392,500 + 2 x 250,500 + 5,010 */
    mlp_desc(&d, 500, 3);
    CHECK_INT(nn_desc_check(&d, info, &total, &flops, &err), 0);
    CHECK_INT(total, 898510);
    CHECK_INT(info[0].out_c, 784);
    CHECK_INT(info[1].n_params, 392500);
    CHECK_INT(info[4].out_c, 10);
    CHECK_INT(flops, 2LL * (784 * 500 + 500 * 500 * 2 + 500 * 10));
    /* four hidden layers of 500: the study's 1,149,010 */
    mlp_desc(&d, 500, 4);
    CHECK_INT(nn_desc_check(&d, NULL, &total, NULL, &err), 0);
    CHECK_INT(total, 1149010);

    /* convNN_1: conv2d(32, 3x3) -> max_pooling2d(2) -> flatten -> dense(100) -> dense(10) */
    desc_begin(&d, 28, 28, 1, 10);
    nn_layer_desc *l = push(&d, NN_LAYER_CONV2D);
    l->filters = 32, l->activation = NN_ACT_RELU;
    push(&d, NN_LAYER_MAX_POOL2D);
    push(&d, NN_LAYER_FLATTEN);
    push_dense(&d, 100, NN_ACT_RELU);
    push_dense(&d, 10, NN_ACT_SOFTMAX);
    CHECK_INT(nn_desc_check(&d, info, &total, &flops, &err), 0);
    CHECK_INT(total, 542230);
    CHECK_INT(info[0].out_h, 26);
    CHECK_INT(info[0].out_c, 32);
    CHECK_INT(info[0].n_params, 320);
    CHECK_INT(info[1].out_h, 13);
    CHECK_INT(info[2].out_c, 5408);
    CHECK_INT(info[3].n_params, 540900);
    CHECK_INT(info[0].flops, 2LL * 26 * 26 * 9 * 32);
    /* ... which the engine builds (its training is tested in test_nn_conv.c) */
    nn_net *net = nn_net_new(&d, 8, 1, &err);
    CHECK_MSG(net != NULL, "%s", err.msg);
    nn_net_free(net);

    /* the other kinds: same padding and strides, depthwise, separable, transpose, batch norm,
     * global pooling, add */
    desc_begin(&d, 28, 28, 1, 10);
    l = push(&d, NN_LAYER_SEPARABLE_CONV2D); /* 9*1*1 + 1*8 + 8 = 25 */
    l->filters = 8, l->padding = NN_PAD_SAME;
    l = push(&d, NN_LAYER_DEPTHWISE_CONV2D); /* 28x28x8 -> 13x13x16: 9*8*2 + 16 = 160 */
    l->depth_multiplier = 2, l->strides[0] = l->strides[1] = 2;
    push(&d, NN_LAYER_BATCH_NORM);           /* 4 * 16 = 64 */
    l = push(&d, NN_LAYER_CONV2D_TRANSPOSE); /* 13 -> 27: 9*4*16 + 4 = 580 */
    l->filters = 4, l->strides[0] = l->strides[1] = 2;
    l = push(&d, NN_LAYER_CONV2D);           /* same, stride 2: ceil(27/2) = 14; 9*4*4+4 */
    l->filters = 4, l->padding = NN_PAD_SAME, l->strides[0] = l->strides[1] = 2;
    l = push(&d, NN_LAYER_AVG_POOL2D);       /* pool 3, stride 3 (default): 14 -> 4 */
    l->pool[0] = l->pool[1] = 3;
    l = push_from(&d, NN_LAYER_MAX_POOL2D, 4); /* pool 2, stride 1, same: 14 -> 14 */
    l->strides[0] = l->strides[1] = 1, l->padding = NN_PAD_SAME;
    l = push(&d, NN_LAYER_CONV2D); /* 14 -> 4 with kernel 11: 121*4*4 + 4 */
    l->filters = 4, l->kernel[0] = l->kernel[1] = 11;
    l = push(&d, NN_LAYER_ADD);
    l->inputs[0] = 5, l->inputs[1] = 7;
    push(&d, NN_LAYER_GLOBAL_AVG_POOL2D);
    push_dense(&d, 10, NN_ACT_SOFTMAX); /* 4*10 + 10 */
    CHECK_MSG(nn_desc_check(&d, info, &total, NULL, &err) == 0, "%s", err.msg);
    CHECK_INT(info[0].n_params, 25);
    CHECK_INT(info[0].out_h, 28);
    CHECK_INT(info[1].out_h, 13);
    CHECK_INT(info[1].out_c, 16);
    CHECK_INT(info[1].n_params, 160);
    CHECK_INT(info[2].n_params, 64);
    CHECK_INT(info[3].out_h, 27);
    CHECK_INT(info[3].n_params, 580);
    CHECK_INT(info[4].out_h, 14);
    CHECK_INT(info[4].n_params, 148);
    CHECK_INT(info[5].out_h, 4);
    CHECK_INT(info[6].out_h, 14);
    CHECK_INT(info[7].out_h, 4);
    CHECK_INT(info[7].n_params, 1940);
    CHECK_INT(info[8].out_c, 4);
    CHECK_INT(info[9].out_h, 1);
    CHECK_INT(total, 25 + 160 + 64 + 580 + 148 + 1940 + 50);

    /* impossible shapes, each error naming the layer */
    desc_begin(&d, 9, 9, 1, 10);
    for (int i = 0; i < 4; i++) {
        l = push(&d, NN_LAYER_CONV2D);
        l->filters = 2;
        l->kernel[0] = l->kernel[1] = i == 3 ? 5 : 3;
    }
    push(&d, NN_LAYER_FLATTEN);
    push_dense(&d, 10, NN_ACT_SOFTMAX);
    CHECK_INT(nn_desc_check(&d, NULL, NULL, NULL, &err), -1);
    CHECK_STR_CONTAINS(err.msg,
                       "layer 'conv2d_3' (conv2d): kernel 5x5 is larger than its 3x3 input");
    d.layers[3].padding = NN_PAD_SAME;
    CHECK_INT(nn_desc_check(&d, NULL, &total, NULL, &err), 0);

    mlp_desc(&d, 20, 1);
    d.layers[2].units = 9; /* the output must have n_classes values */
    CHECK_INT(nn_desc_check(&d, NULL, NULL, NULL, &err), -1);
    CHECK_STR_CONTAINS(err.msg, "layer 'dense_2' (dense): the last layer must output the 10");
    mlp_desc(&d, 20, 1);
    d.layers[2].activation = NN_ACT_SIGMOID;
    CHECK_INT(nn_desc_check(&d, NULL, NULL, NULL, &err), -1);
    CHECK_STR_CONTAINS(err.msg, "softmax");
    mlp_desc(&d, 20, 1);
    d.layers[1].units = 0;
    CHECK_INT(nn_desc_check(&d, NULL, NULL, NULL, &err), -1);
    CHECK_STR_CONTAINS(err.msg, "layer 'dense_1' (dense): units must be >= 1");
    mlp_desc(&d, 20, 1);
    d.layers[2].inputs[0] = 0; /* dense_1 is left unused */
    CHECK_INT(nn_desc_check(&d, NULL, NULL, NULL, &err), -1);
    CHECK_STR_CONTAINS(err.msg, "layer 'dense_1' (dense): its output is not used");
    mlp_desc(&d, 20, 1);
    d.layers[1].inputs[0] = 1; /* not an earlier layer */
    CHECK_INT(nn_desc_check(&d, NULL, NULL, NULL, &err), -1);
    CHECK_STR_CONTAINS(err.msg, "layer 'dense_1' (dense): input 0 is 1");
    mlp_desc(&d, 20, 1);
    strcpy(d.layers[2].name, "dense_1");
    CHECK_INT(nn_desc_check(&d, NULL, NULL, NULL, &err), -1);
    CHECK_STR_CONTAINS(err.msg, "name already used");
    mlp_desc(&d, 20, 1);
    d.layers[1].activation = NN_ACT_LEAKY_RELU;
    d.layers[1].alpha = -0.1f;
    CHECK_INT(nn_desc_check(&d, NULL, NULL, NULL, &err), -1);
    CHECK_STR_CONTAINS(err.msg, "alpha must be >= 0");
    mlp_desc(&d, 20, 1);
    d.layers[1].kernel_init = (nn_init){NN_INIT_RANDOM_UNIFORM, 0.0f, 0.0f};
    CHECK_INT(nn_desc_check(&d, NULL, NULL, NULL, &err), -1);
    CHECK_STR_CONTAINS(err.msg, "minval < maxval");

    desc_begin(&d, 28, 28, 1, 10);
    push(&d, NN_LAYER_FLATTEN);
    l = push(&d, NN_LAYER_CONV2D);
    l->filters = 4;
    push(&d, NN_LAYER_FLATTEN);
    push_dense(&d, 10, NN_ACT_SOFTMAX);
    CHECK_INT(nn_desc_check(&d, NULL, NULL, NULL, &err), -1);
    CHECK_STR_CONTAINS(err.msg, "layer 'conv2d_1' (conv2d): needs an image input");

    desc_begin(&d, 6, 6, 1, 10);
    l = push(&d, NN_LAYER_MAX_POOL2D);
    l->pool[0] = l->pool[1] = 7;
    push(&d, NN_LAYER_FLATTEN);
    push_dense(&d, 10, NN_ACT_SOFTMAX);
    CHECK_INT(nn_desc_check(&d, NULL, NULL, NULL, &err), -1);
    CHECK_STR_CONTAINS(err.msg, "(max_pooling2d): pool 7x7 is larger than its 6x6 input");

    desc_begin(&d, 4, 4, 1, 10);
    push(&d, NN_LAYER_FLATTEN);
    push_dense(&d, 5, NN_ACT_RELU);
    l = push(&d, NN_LAYER_ADD);
    l->inputs[0] = 0, l->inputs[1] = 1;
    push_dense(&d, 10, NN_ACT_SOFTMAX);
    CHECK_INT(nn_desc_check(&d, NULL, NULL, NULL, &err), -1);
    CHECK_STR_CONTAINS(err.msg, "layer 'add_2' (add): inputs have different shapes");

    desc_begin(&d, 4, 4, 1, 10);
    l = push(&d, NN_LAYER_DROPOUT);
    l->rate = 1.0f;
    push_dense(&d, 10, NN_ACT_SOFTMAX);
    CHECK_INT(nn_desc_check(&d, NULL, NULL, NULL, &err), -1);
    CHECK_STR_CONTAINS(err.msg, "rate must be in [0, 1)");
    d.n_layers = 0;
    CHECK_INT(nn_desc_check(&d, NULL, NULL, NULL, &err), -1);
}

/* ---- golden forward ---------------------------------------------------------------------- */

static void test_golden_forward(void)
{
    /* x = (1, 2, 3) -> dense(2, relu) -> dense(2, softmax), weights set by hand:
     * W1 = [[1, -1], [2, 0], [0, -1]], b1 = (0.5, -0.5): z = (5.5, -4.5), relu (5.5, 0);
     * W2 = [[1, 0.5], [3, -2]], b2 = (0, 1): z2 = (5.5, 3.75);
     * softmax: p0 = 1 / (1 + e^-1.75) = 0.8519528020, p1 = 0.1480471980;
     * label 1: loss = -log(p1) = 1.9102241504; L2 0.01 on W1: 0.01 * (1+1+4+0+0+1) = 0.07. */
    nn_net_desc d;
    desc_begin(&d, 1, 3, 1, 2);
    push_dense(&d, 2, NN_ACT_RELU)->l2 = 0.01f;
    push_dense(&d, 2, NN_ACT_SOFTMAX);
    fg_err err;
    nn_net *net = nn_net_new(&d, 4, 7, &err);
    CHECK(net != NULL);
    if (!net)
        return;
    CHECK_INT(nn_net_n_params(net), 6 + 2 + 4 + 2);
    const float w[14] = {1, -1, 2, 0, 0, -1, 0.5f, -0.5f, 1, 0.5f, 3, -2, 0, 1};
    memcpy(nn_net_params(net), w, sizeof w);
    net->x[0] = 1, net->x[1] = 2, net->x[2] = 3;
    net->labels[0] = 1;
    nn_net_forward(net, 1, 0, NULL);
    const float *p = nn_net_output(net);
    CHECK_NEAR(p[0], 0.8519528020, 1e-6);
    CHECK_NEAR(p[1], 0.1480471980, 1e-6);
    CHECK_NEAR(net->layers[0].y[0], 5.5, 1e-6);
    CHECK_NEAR(net->layers[0].y[1], 0.0, 1e-7);
    int correct = -1;
    uint8_t pred = 9;
    CHECK_NEAR(nn_net_loss(net, 1, 0, &correct, &pred), 1.9102241504, 1e-6);
    CHECK_INT(correct, 0);
    CHECK_INT(pred, 0);
    CHECK_NEAR(nn_net_l2(net, 0), 0.07, 1e-7);
    /* the clip: a certain wrong answer costs -log(1e-7) = 16.118, not infinity */
    float *w2 = nn_net_params(net) + 8;
    w2[0] = 100.0f; /* z2 = (550, 3.75): p1 = e^-546 ~ 0 */
    nn_net_forward(net, 1, 0, NULL);
    CHECK_NEAR(nn_net_loss(net, 1, 0, NULL, NULL), 16.11809565, 1e-6);

    /* nn_evaluate on uint8 data: pixels (255, 0, 51) -> x = (1, 0, 0.2) */
    memcpy(nn_net_params(net), w, sizeof w);
    uint8_t img[3] = {255, 0, 51}, lab[1] = {0};
    nn_data data = {img, lab, 1, 3, 1, 2, NULL};
    int32_t idx[1] = {0};
    float loss, acc;
    CHECK_INT(nn_evaluate(net, &data, idx, 1, &loss, &acc, NULL, &err), 0);
    /* z = (1 + 0.5, -1 - 0.2 - 0.5) = (1.5, -1.7) -> (1.5, 0); z2 = (1.5, 1.75);
     * p0 = 1 / (1 + e^0.25) = 0.4378234991; loss = -log(p0) + 0.07 */
    CHECK_NEAR(loss, -log(0.4378234991) + 0.07, 1e-6);
    CHECK_NEAR(acc, 0.0, 1e-9);
    nn_net_free(net);
    nn_net_free(NULL);
}

/* ---- finite-difference gradients --------------------------------------------------------- */

/* Checks every parameter and input gradient of the network described by d on a random
 * batch. Returns the global relative error. */
static double grad_check(const char *what, const nn_net_desc *d, int batch)
{
    fg_err err;
    nn_net *net = nn_net_build(d, batch, 11, NN_BUILD_INPUT_GRAD, &err);
    CHECK_MSG(net != NULL, "%s: %s", what, err.msg);
    if (!net)
        return 1.0;
    fg_rng r;
    fg_rng_seed(&r, 5);
    int64_t n_in = (int64_t)batch * net->in_size;
    for (int64_t i = 0; i < n_in; i++)
        net->x[i] = (float)(2.0 * fg_rng_uniform(&r) - 1.0);
    for (int b = 0; b < batch; b++)
        net->labels[b] = (uint8_t)fg_rng_below(&r, (uint32_t)d->n_classes);
    /* non-zero biases, so that every bias path matters */
    for (int64_t i = 0; i < net->n_train; i++)
        net->params[i] += (float)(0.2 * (fg_rng_uniform(&r) - 0.5));

    return gc_finish(what, net, batch, n_in);
}

static void test_gradients(void)
{
    nn_net_desc d;
    char what[64];
    const nn_act acts[] = {NN_ACT_LINEAR,  NN_ACT_RELU,       NN_ACT_SIGMOID, NN_ACT_TANH,
                           NN_ACT_SOFTMAX, NN_ACT_LEAKY_RELU, NN_ACT_ELU};
    for (size_t a = 0; a < sizeof acts / sizeof acts[0]; a++) {
        /* dense with a fused activation, fed by an image (taken as flat) */
        desc_begin(&d, 2, 3, 1, 4);
        nn_layer_desc *l = push_dense(&d, 5, acts[a]);
        l->alpha = acts[a] == NN_ACT_ELU ? 0.7f : 0.2f;
        l->kernel_init = (nn_init){NN_INIT_RANDOM_UNIFORM, -1.0f, 1.0f};
        push_dense(&d, 4, NN_ACT_SOFTMAX);
        snprintf(what, sizeof what, "dense %s", nn_act_name(acts[a]));
        grad_check(what, &d, 3);

        /* the same activation as its own layer */
        desc_begin(&d, 2, 3, 1, 4);
        push_dense(&d, 5, NN_ACT_LINEAR)->kernel_init =
            (nn_init){NN_INIT_RANDOM_UNIFORM, -1.0f, 1.0f};
        l = push(&d, NN_LAYER_ACTIVATION);
        l->activation = acts[a];
        push_dense(&d, 4, NN_ACT_SOFTMAX);
        snprintf(what, sizeof what, "activation %s", nn_act_name(acts[a]));
        grad_check(what, &d, 3);
    }
    /* default alphas (NaN in the description) */
    desc_begin(&d, 1, 4, 1, 3);
    push_dense(&d, 6, NN_ACT_LEAKY_RELU)->kernel_init = (nn_init){NN_INIT_RANDOM_UNIFORM, -1, 1};
    push_dense(&d, 6, NN_ACT_ELU)->kernel_init = (nn_init){NN_INIT_RANDOM_UNIFORM, -1, 1};
    push_dense(&d, 3, NN_ACT_SOFTMAX);
    grad_check("leaky_relu + elu default alphas", &d, 4);

    /* L2 on two kernels */
    desc_begin(&d, 1, 4, 1, 3);
    push_dense(&d, 5, NN_ACT_TANH)->l2 = 0.05f;
    push_dense(&d, 3, NN_ACT_SOFTMAX)->l2 = 0.02f;
    grad_check("dense l2", &d, 2);

    /* no bias */
    desc_begin(&d, 1, 4, 1, 3);
    push_dense(&d, 5, NN_ACT_SIGMOID)->use_bias = 0;
    push_dense(&d, 3, NN_ACT_SOFTMAX);
    grad_check("dense without bias", &d, 2);

    /* dropout in training mode with a fixed mask (the same seed for every forward) */
    desc_begin(&d, 1, 5, 1, 3);
    push_dense(&d, 8, NN_ACT_TANH);
    push(&d, NN_LAYER_DROPOUT)->rate = 0.4f;
    push_dense(&d, 3, NN_ACT_SOFTMAX);
    grad_check("dropout", &d, 4);
    /* dropout right on the input, then flatten */
    desc_begin(&d, 2, 2, 2, 3);
    push(&d, NN_LAYER_DROPOUT)->rate = 0.3f;
    push(&d, NN_LAYER_FLATTEN);
    push_dense(&d, 3, NN_ACT_SOFTMAX);
    grad_check("dropout + flatten on the input", &d, 3);

    /* flatten of an image input */
    desc_begin(&d, 2, 2, 2, 4);
    push(&d, NN_LAYER_FLATTEN);
    push_dense(&d, 4, NN_ACT_SOFTMAX);
    grad_check("flatten", &d, 2);

    /* softmax + cross-entropy fused in an activation layer */
    desc_begin(&d, 1, 3, 1, 4);
    push_dense(&d, 4, NN_ACT_LINEAR);
    push(&d, NN_LAYER_ACTIVATION)->activation = NN_ACT_SOFTMAX;
    grad_check("activation softmax + CE", &d, 3);
    /* softmax of the input itself (no parameters at all: only the input gradient) */
    desc_begin(&d, 1, 1, 4, 4);
    push(&d, NN_LAYER_ACTIVATION)->activation = NN_ACT_SOFTMAX;
    grad_check("softmax only", &d, 3);

    /* two-input add, the input read by two layers, a layer added to itself */
    desc_begin(&d, 1, 4, 1, 3);
    push_from(&d, NN_LAYER_DENSE, NN_INPUT)->units = 5;
    d.layers[0].activation = NN_ACT_TANH;
    push_from(&d, NN_LAYER_DENSE, NN_INPUT)->units = 5;
    d.layers[1].activation = NN_ACT_SIGMOID;
    nn_layer_desc *l = push(&d, NN_LAYER_ADD);
    l->inputs[0] = 0, l->inputs[1] = 1;
    l = push(&d, NN_LAYER_ADD);
    l->inputs[0] = 2, l->inputs[1] = 2;
    l = push(&d, NN_LAYER_ADD); /* reads dense_0 a second time */
    l->inputs[0] = 3, l->inputs[1] = 0;
    push_dense(&d, 3, NN_ACT_SOFTMAX);
    grad_check("add", &d, 3);
}

/* A wrong derivative must be caught: break relu's backward by running the layer as if it
 * were linear, and check that the gradient check reports a large error. */
static void test_gradient_check_catches_errors(void)
{
    nn_net_desc d;
    desc_begin(&d, 1, 4, 1, 3);
    push_dense(&d, 6, NN_ACT_RELU)->kernel_init = (nn_init){NN_INIT_RANDOM_UNIFORM, -1, 1};
    push_dense(&d, 3, NN_ACT_SOFTMAX);
    fg_err err;
    nn_net *net = nn_net_build(&d, 2, 11, NN_BUILD_INPUT_GRAD, &err);
    CHECK(net != NULL);
    if (!net)
        return;
    for (int i = 0; i < 8; i++)
        net->x[i] = (float)(i % 3) - 0.7f;
    net->labels[0] = 0, net->labels[1] = 2;
    nn_net_forward(net, 2, 1, NULL);
    nn_net_loss(net, 2, 1, NULL, NULL);
    net->layers[0].act = NN_ACT_LINEAR; /* the bug: backward ignores relu */
    nn_net_backward(net, 2);
    net->layers[0].act = NN_ACT_RELU;
    double worst = 0.0;
    for (int64_t i = 0; i < 24; i++) {
        double num = (double)gc_diff(net, 2, &net->params[i], 1e-3f);
        worst = fmax(worst, fabs(num - net->grads[i]));
    }
    CHECK_MSG(worst > 1e-2, "a broken relu derivative went unnoticed (%g)", worst);
    nn_net_free(net);
}

/* ---- optimizers -------------------------------------------------------------------------- */

static const float W0[3] = {0.5f, -1.0f, 2.0f};
static const float G1[3] = {0.1f, -0.2f, 0.3f};
static const float G2[3] = {-0.05f, 0.4f, 0.1f};

/* Runs two steps (G1 then G2) of t's optimizer on W0; returns the weights after each. */
static void opt_run(const nn_train_desc *t, float w1[3], float w2[3])
{
    float state[6] = {0}, w[3];
    memcpy(w, W0, sizeof w);
    nn_opt o;
    CHECK(nn_opt_state_size(t, 3) <= 6);
    nn_opt_init(&o, t, 3, state);
    nn_opt_step(&o, w, G1, t->learning_rate);
    memcpy(w1, w, sizeof w);
    nn_opt_step(&o, w, G2, t->learning_rate);
    memcpy(w2, w, sizeof w);
}

static void opt_expect(const char *what, const float got1[3], const float got2[3],
                       const double want1[3], const double want2[3])
{
    for (int i = 0; i < 3; i++) {
        /* compare the updates themselves, relative to their size */
        double d1 = got1[i] - W0[i], e1 = want1[i] - W0[i];
        double d2 = got2[i] - got1[i], e2 = want2[i] - want1[i];
        CHECK_MSG(fabs(d1 - e1) <= 2e-5 * fabs(e1) + 2e-7, "%s step 1 [%d]: %.9g vs %.9g", what,
                  i, d1, e1);
        CHECK_MSG(fabs(d2 - e2) <= 2e-5 * fabs(e2) + 2e-7, "%s step 2 [%d]: %.9g vs %.9g", what,
                  i, d2, e2);
    }
}

static void test_optimizers(void)
{
    nn_train_desc t;
    float w1[3], w2[3];
    double e1[3], e2[3];
    const double lr = 0.1, eps = 1e-2; /* large, so that each term shows */

    /* SGD: w -= lr * g */
    nn_train_desc_init(&t, NN_OPT_SGD);
    t.learning_rate = (float)lr;
    opt_run(&t, w1, w2);
    for (int i = 0; i < 3; i++)
        e1[i] = W0[i] - lr * G1[i], e2[i] = e1[i] - lr * G2[i];
    opt_expect("sgd", w1, w2, e1, e2);
    CHECK_NEAR(w1[0], 0.49, 1e-7);

    /* SGD momentum: v = m*v - lr*g; w += v */
    t.momentum = 0.9f;
    opt_run(&t, w1, w2);
    for (int i = 0; i < 3; i++) {
        double v1 = -lr * G1[i], v2 = 0.9 * v1 - lr * G2[i];
        e1[i] = W0[i] + v1, e2[i] = e1[i] + v2;
    }
    opt_expect("sgd momentum", w1, w2, e1, e2);

    /* Nesterov: w += m*v - lr*g with the new v */
    t.nesterov = 1;
    opt_run(&t, w1, w2);
    for (int i = 0; i < 3; i++) {
        double v1 = -lr * G1[i], v2 = 0.9 * v1 - lr * G2[i];
        e1[i] = W0[i] + 0.9 * v1 - lr * G1[i], e2[i] = e1[i] + 0.9 * v2 - lr * G2[i];
    }
    opt_expect("sgd nesterov", w1, w2, e1, e2);

    /* Adam: lr_t = lr*sqrt(1-b2^t)/(1-b1^t); w -= lr_t*m/(sqrt(v)+eps) */
    nn_train_desc_init(&t, NN_OPT_ADAM);
    opt_run(&t, w1, w2);
    CHECK_NEAR(w1[0], 0.499000032, 2e-7); /* the first step moves by ~lr */
    t.learning_rate = (float)lr, t.epsilon = (float)eps, t.beta_1 = 0.8f, t.beta_2 = 0.9f;
    opt_run(&t, w1, w2);
    for (int i = 0; i < 3; i++) {
        double b1 = 0.8, b2 = 0.9;
        double m = (1 - b1) * G1[i], v = (1 - b2) * G1[i] * G1[i];
        e1[i] = W0[i] - lr * sqrt(1 - b2) / (1 - b1) * m / (sqrt(v) + eps);
        m = b1 * m + (1 - b1) * G2[i], v = b2 * v + (1 - b2) * G2[i] * G2[i];
        e2[i] = e1[i] - lr * sqrt(1 - b2 * b2) / (1 - b1 * b1) * m / (sqrt(v) + eps);
    }
    opt_expect("adam", w1, w2, e1, e2);

    /* RMSprop: ms = rho*ms + (1-rho)*g^2; w -= lr*g/(sqrt(ms)+eps) */
    nn_train_desc_init(&t, NN_OPT_RMSPROP);
    t.learning_rate = (float)lr, t.epsilon = (float)eps;
    opt_run(&t, w1, w2);
    for (int i = 0; i < 3; i++) {
        double ms = 0.1 * G1[i] * G1[i];
        e1[i] = W0[i] - lr * G1[i] / (sqrt(ms) + eps);
        ms = 0.9 * ms + 0.1 * G2[i] * G2[i];
        e2[i] = e1[i] - lr * G2[i] / (sqrt(ms) + eps);
    }
    opt_expect("rmsprop", w1, w2, e1, e2);
    /* with momentum: mom = m*mom + lr*g/sqrt(ms+eps); w -= mom */
    t.momentum = 0.5f;
    opt_run(&t, w1, w2);
    for (int i = 0; i < 3; i++) {
        double ms = 0.1 * G1[i] * G1[i], mom = lr * G1[i] / sqrt(ms + eps);
        e1[i] = W0[i] - mom;
        ms = 0.9 * ms + 0.1 * G2[i] * G2[i];
        mom = 0.5 * mom + lr * G2[i] / sqrt(ms + eps);
        e2[i] = e1[i] - mom;
    }
    opt_expect("rmsprop momentum", w1, w2, e1, e2);

    /* Adagrad: acc = 0.1 + sum g^2; w -= lr*g/(sqrt(acc)+eps) */
    nn_train_desc_init(&t, NN_OPT_ADAGRAD);
    t.learning_rate = (float)lr, t.epsilon = (float)eps;
    opt_run(&t, w1, w2);
    for (int i = 0; i < 3; i++) {
        double acc = 0.1 + G1[i] * G1[i];
        e1[i] = W0[i] - lr * G1[i] / (sqrt(acc) + eps);
        acc += G2[i] * G2[i];
        e2[i] = e1[i] - lr * G2[i] / (sqrt(acc) + eps);
    }
    opt_expect("adagrad", w1, w2, e1, e2);

    /* Adadelta: acc = rho*acc + (1-rho)g^2; u = sqrt(accu+eps)/sqrt(acc+eps)*g;
     * accu = rho*accu + (1-rho)u^2; w -= lr*u */
    nn_train_desc_init(&t, NN_OPT_ADADELTA);
    t.learning_rate = 1.0f, t.epsilon = (float)eps;
    opt_run(&t, w1, w2);
    for (int i = 0; i < 3; i++) {
        double rho = 0.95, acc = 0, accu = 0, w = W0[i];
        const float *gs[2] = {G1, G2};
        for (int s = 0; s < 2; s++) {
            double g = gs[s][i];
            acc = rho * acc + (1 - rho) * g * g;
            double u = sqrt(accu + eps) / sqrt(acc + eps) * g;
            accu = rho * accu + (1 - rho) * u * u;
            w -= 1.0 * u;
            (s == 0 ? e1 : e2)[i] = w;
        }
    }
    opt_expect("adadelta", w1, w2, e1, e2);

    /* Adamax: m = b1 m + (1-b1) g; u = max(b2 u, |g|); w -= lr/(1-b1^t) * m/(u+eps) */
    nn_train_desc_init(&t, NN_OPT_ADAMAX);
    t.learning_rate = (float)lr, t.epsilon = (float)eps;
    opt_run(&t, w1, w2);
    for (int i = 0; i < 3; i++) {
        double b1 = 0.9, b2 = 0.999, m = 0, u = 0, w = W0[i];
        const float *gs[2] = {G1, G2};
        for (int s = 0; s < 2; s++) {
            double g = gs[s][i];
            m = b1 * m + (1 - b1) * g;
            u = fmax(b2 * u, fabs(g));
            w -= lr / (1 - pow(b1, s + 1)) * m / (u + eps);
            (s == 0 ? e1 : e2)[i] = w;
        }
    }
    opt_expect("adamax", w1, w2, e1, e2);

    /* Nadam (tf.keras 2.x): mu_t = b1 (1 - 0.5 * 0.96^(0.004 t)); S_t = prod mu;
     * mbar = (1-mu_t) g/(1-S_t) + mu_{t+1} m/(1-S_t mu_{t+1});
     * w -= lr mbar/(sqrt(v/(1-b2^t)) + eps) */
    nn_train_desc_init(&t, NN_OPT_NADAM);
    t.learning_rate = (float)lr, t.epsilon = (float)eps;
    opt_run(&t, w1, w2);
    for (int i = 0; i < 3; i++) {
        double b1 = 0.9, b2 = 0.999, m = 0, v = 0, S = 1, w = W0[i];
        const float *gs[2] = {G1, G2};
        for (int s = 0; s < 2; s++) {
            double g = gs[s][i], t1 = s + 1;
            double mu = b1 * (1 - 0.5 * pow(0.96, 0.004 * t1));
            double mu1 = b1 * (1 - 0.5 * pow(0.96, 0.004 * (t1 + 1)));
            S *= mu;
            m = b1 * m + (1 - b1) * g;
            v = b2 * v + (1 - b2) * g * g;
            double mbar = (1 - mu) * g / (1 - S) + mu1 * m / (1 - S * mu1);
            w -= lr * mbar / (sqrt(v / (1 - pow(b2, t1))) + eps);
            (s == 0 ? e1 : e2)[i] = w;
        }
    }
    opt_expect("nadam", w1, w2, e1, e2);

    fg_err err;
    nn_train_desc_init(&t, NN_OPT_ADAM);
    t.beta_1 = 1.0f;
    CHECK_INT(nn_opt_check(&t, &err), -1);
    CHECK_STR_CONTAINS(err.msg, "adam: beta_1");
}

/* ---- initialisers ------------------------------------------------------------------------ */

typedef struct {
    double mean, var, max_abs, min, max;
} stats;

static stats stats_of(const float *w, int n)
{
    stats s = {0, 0, 0, INFINITY, -INFINITY};
    for (int i = 0; i < n; i++)
        s.mean += w[i];
    s.mean /= n;
    for (int i = 0; i < n; i++) {
        s.var += (w[i] - s.mean) * (w[i] - s.mean);
        s.max_abs = fmax(s.max_abs, fabs(w[i]));
        s.min = fmin(s.min, w[i]);
        s.max = fmax(s.max, w[i]);
    }
    s.var /= n - 1;
    return s;
}

static void test_initializers(void)
{
    enum { FI = 200, FO = 300, N = FI * FO };
    float *w = malloc(sizeof(float) * N);
    fg_rng r;
    fg_rng_seed(&r, 3);
    stats s;
    const float nan = NAN;

    double lim = sqrt(6.0 / (FI + FO));
    nn_init_fill(w, N, (nn_init){NN_INIT_GLOROT_UNIFORM, nan, nan}, FI, FO, &r);
    s = stats_of(w, N);
    CHECK(s.max_abs <= lim);
    CHECK(s.max_abs > 0.99 * lim);
    CHECK_MSG(fabs(s.var / (lim * lim / 3) - 1) < 0.03, "glorot_uniform var %g", s.var);
    CHECK(fabs(s.mean) < 1e-3);

    lim = sqrt(3.0 / FI);
    nn_init_fill(w, N, (nn_init){NN_INIT_LECUN_UNIFORM, nan, nan}, FI, FO, &r);
    s = stats_of(w, N);
    CHECK(s.max_abs <= lim && s.max_abs > 0.99 * lim);
    CHECK_MSG(fabs(s.var / (1.0 / FI) - 1) < 0.03, "lecun_uniform var %g", s.var);

    lim = sqrt(6.0 / FI);
    nn_init_fill(w, N, (nn_init){NN_INIT_HE_UNIFORM, nan, nan}, FI, FO, &r);
    s = stats_of(w, N);
    CHECK(s.max_abs <= lim && s.max_abs > 0.99 * lim);

    /* truncated normals: nothing beyond two (pre-correction) standard deviations, and the
     * variance Keras intends (scale / n) thanks to the 0.8796 correction */
    const struct {
        nn_init_kind k;
        double var;
    } tn[] = {{NN_INIT_GLOROT_NORMAL, 2.0 / (FI + FO)},
              {NN_INIT_HE_NORMAL, 2.0 / FI},
              {NN_INIT_LECUN_NORMAL, 1.0 / FI}};
    for (int i = 0; i < 3; i++) {
        nn_init_fill(w, N, (nn_init){tn[i].k, nan, nan}, FI, FO, &r);
        s = stats_of(w, N);
        double sd = sqrt(tn[i].var) / 0.87962566103423978;
        CHECK_MSG(s.max_abs <= 2 * sd + 1e-7, "%s: %g beyond 2 sd %g", nn_init_name(tn[i].k),
                  s.max_abs, 2 * sd);
        CHECK_MSG(s.max_abs > 1.95 * sd, "%s: max %g", nn_init_name(tn[i].k), s.max_abs);
        CHECK_MSG(fabs(s.var / tn[i].var - 1) < 0.03, "%s var %g vs %g",
                  nn_init_name(tn[i].k), s.var, tn[i].var);
    }

    nn_init_fill(w, N, (nn_init){NN_INIT_RANDOM_UNIFORM, nan, nan}, FI, FO, &r);
    s = stats_of(w, N);
    CHECK(s.min >= -0.05f && s.max < 0.05f && s.max > 0.049f);
    nn_init_fill(w, N, (nn_init){NN_INIT_RANDOM_UNIFORM, 1.0f, 2.0f}, FI, FO, &r);
    s = stats_of(w, N);
    CHECK(s.min >= 1.0f && s.max < 2.0f && fabs(s.mean - 1.5) < 0.01);
    nn_init_fill(w, N, (nn_init){NN_INIT_RANDOM_NORMAL, nan, nan}, FI, FO, &r);
    s = stats_of(w, N);
    CHECK(fabs(sqrt(s.var) / 0.05 - 1) < 0.02 && fabs(s.mean) < 1e-3);
    CHECK(s.max_abs > 0.15); /* not truncated */
    nn_init_fill(w, N, (nn_init){NN_INIT_RANDOM_NORMAL, 3.0f, 0.5f}, FI, FO, &r);
    s = stats_of(w, N);
    CHECK(fabs(sqrt(s.var) / 0.5 - 1) < 0.02 && fabs(s.mean - 3.0) < 0.01);
    nn_init_fill(w, 10, (nn_init){NN_INIT_ONES, nan, nan}, FI, FO, &r);
    CHECK(w[0] == 1.0f && w[9] == 1.0f);
    nn_init_fill(w, 10, (nn_init){NN_INIT_ZEROS, nan, nan}, FI, FO, &r);
    CHECK(w[0] == 0.0f && w[9] == 0.0f);
    free(w);

    /* in a network: kernels from the seed, layer by layer, biases zero */
    nn_net_desc d;
    mlp_desc(&d, 64, 1);
    fg_err err;
    nn_net *a = nn_net_new(&d, 4, 99, &err), *b = nn_net_new(&d, 16, 99, &err),
           *c = nn_net_new(&d, 4, 100, &err);
    CHECK(a && b && c);
    if (a && b && c) {
        int64_t n = nn_net_n_params(a);
        CHECK_INT(n, 785 * 64 + 65 * 10);
        CHECK(!memcmp(nn_net_params(a), nn_net_params(b), (size_t)n * sizeof(float)));
        CHECK(memcmp(nn_net_params(a), nn_net_params(c), (size_t)n * sizeof(float)) != 0);
        s = stats_of(nn_net_params(a), 784 * 64);
        lim = sqrt(6.0 / (784 + 64));
        CHECK(s.max_abs <= lim && s.max_abs > 0.99 * lim);
        const float *bias = nn_net_params(a) + 784 * 64;
        CHECK(stats_of(bias, 64).max_abs == 0.0);
        s = stats_of(nn_net_params(a) + 785 * 64, 64 * 10);
        CHECK(s.max_abs <= sqrt(6.0 / 74));
    }
    nn_net_free(a), nn_net_free(b), nn_net_free(c);
}

/* ---- training ---------------------------------------------------------------------------- */

enum { SYN_N = 300, SYN_H = 4, SYN_W = 4, SYN_CLASSES = 4 };

/* 4x4 images: class k is a bright 2x2 quadrant k on noise. With flip, the labels are
 * shifted by one class (a validation set that disagrees with the training rule). */
static void make_synthetic(uint8_t *img, uint8_t *lab, int n, uint64_t seed, int flip)
{
    fg_rng r;
    fg_rng_seed(&r, seed);
    for (int i = 0; i < n; i++) {
        int k = (int)fg_rng_below(&r, SYN_CLASSES);
        lab[i] = (uint8_t)(flip ? (k + 1) % SYN_CLASSES : k);
        for (int y = 0; y < SYN_H; y++)
            for (int x = 0; x < SYN_W; x++) {
                int q = (y / 2) * 2 + x / 2;
                int v = (int)fg_rng_below(&r, 90) + (q == k ? 140 : 0);
                img[i * 16 + y * 4 + x] = (uint8_t)v;
            }
    }
}

typedef struct {
    uint8_t img[2 * SYN_N * 16], lab[2 * SYN_N];
    int32_t train[SYN_N], val[SYN_N];
    nn_data data;
} synthetic;

/* Images 0..SYN_N-1 follow the rule, SYN_N..2*SYN_N-1 follow it (flip 0) or not (flip 1). */
static void synthetic_init(synthetic *s, int flip)
{
    make_synthetic(s->img, s->lab, SYN_N, 1, 0);
    make_synthetic(s->img + SYN_N * 16, s->lab + SYN_N, SYN_N, 2, flip);
    for (int i = 0; i < SYN_N; i++)
        s->train[i] = i, s->val[i] = SYN_N + i;
    s->data = (nn_data){s->img, s->lab, SYN_H, SYN_W, 1, SYN_CLASSES, NULL};
}

static void small_net_desc(nn_net_desc *d, float dropout)
{
    desc_begin(d, SYN_H, SYN_W, 1, SYN_CLASSES);
    push(d, NN_LAYER_FLATTEN);
    push_dense(d, 16, NN_ACT_RELU);
    if (dropout > 0)
        push(d, NN_LAYER_DROPOUT)->rate = dropout;
    push_dense(d, SYN_CLASSES, NN_ACT_SOFTMAX);
}

static int fit_once(const nn_net_desc *d, const nn_train_desc *t, const synthetic *s, int n_val,
                    uint64_t seed, nn_hook hook, void *ctx, nn_fit_result *res,
                    float *params_out, int64_t *n_params)
{
    fg_err err;
    nn_net *net = nn_net_new(d, 64, seed, &err);
    CHECK_MSG(net != NULL, "%s", err.msg);
    if (!net)
        return -1;
    int rc = nn_fit(net, t, &s->data, s->train, SYN_N, s->val, n_val, seed, hook, ctx, res, &err);
    CHECK_MSG(rc == 0, "nn_fit: %s", err.msg);
    if (params_out)
        memcpy(params_out, nn_net_params(net), (size_t)nn_net_n_params(net) * sizeof(float));
    if (n_params)
        *n_params = nn_net_n_params(net);
    if (rc == 0 && res->status == NN_STATUS_OK && n_val > 0) {
        /* the reported score is that of the weights the net holds at the end */
        float loss, acc;
        CHECK_INT(nn_evaluate(net, &s->data, s->val, n_val, &loss, &acc, NULL, &err), 0);
        CHECK_NEAR(loss, res->val_loss, 1e-6);
        CHECK_NEAR(acc, res->val_acc, 1e-9);
    }
    nn_net_free(net);
    return rc;
}

static int hist_equal(const nn_fit_result *a, const nn_fit_result *b)
{
    if (a->epochs_run != b->epochs_run || a->status != b->status)
        return 0;
    for (int e = 0; e < a->epochs_run; e++) {
        const nn_epoch *x = &a->hist[e], *y = &b->hist[e];
        if (memcmp(&x->loss, &y->loss, sizeof x->loss) || memcmp(&x->acc, &y->acc, sizeof x->acc) ||
            memcmp(&x->val_loss, &y->val_loss, sizeof x->val_loss) ||
            memcmp(&x->val_acc, &y->val_acc, sizeof x->val_acc) || x->lr != y->lr)
            return 0;
    }
    return 1;
}

static nn_fit_result res_a, res_b; /* large: keep them off the stack */

static void test_fit(void)
{
    static synthetic s;
    synthetic_init(&s, 0);
    nn_net_desc d;
    nn_train_desc t;

    /* accuracy rises well above chance (0.25) for every optimizer */
    small_net_desc(&d, 0.0f);
    for (int k = 0; k < NN_OPT__COUNT; k++) {
        nn_train_desc_init(&t, (nn_opt_kind)k);
        t.learning_rate = k == NN_OPT_SGD ? 0.1f : k == NN_OPT_ADADELTA ? 1.0f : 0.01f;
        t.batch_size = 16;
        t.epochs = 15;
        fit_once(&d, &t, &s, SYN_N, 42, NULL, NULL, &res_a, NULL, NULL);
        CHECK_INT(res_a.status, NN_STATUS_OK);
        CHECK_INT(res_a.epochs_run, 15);
        CHECK_MSG(res_a.val_acc > 0.9f, "%s: val_acc %g", nn_opt_name((nn_opt_kind)k),
                  (double)res_a.val_acc);
        CHECK_MSG(res_a.hist[14].loss < 0.5f * res_a.hist[0].loss, "%s: loss %g -> %g",
                  nn_opt_name((nn_opt_kind)k), (double)res_a.hist[0].loss,
                  (double)res_a.hist[14].loss);
        CHECK(res_a.hist[14].acc > 0.9f);
        CHECK(res_a.best_epoch == -1);
        CHECK(res_a.hist[3].lr == t.learning_rate);
    }

    /* determinism: same seed -> identical history and weights, with dropout and a last
     * batch smaller than the others (300 = 4 x 64 + 44) */
    small_net_desc(&d, 0.3f);
    nn_train_desc_init(&t, NN_OPT_ADAM);
    t.batch_size = 64;
    t.epochs = 4;
    static float pa[1000], pb[1000];
    int64_t np = 0;
    fit_once(&d, &t, &s, SYN_N, 7, NULL, NULL, &res_a, pa, &np);
    fit_once(&d, &t, &s, SYN_N, 7, NULL, NULL, &res_b, pb, NULL);
    CHECK(np > 0 && np <= 1000);
    CHECK(hist_equal(&res_a, &res_b));
    CHECK(!memcmp(pa, pb, (size_t)np * sizeof(float)));
    fit_once(&d, &t, &s, SYN_N, 8, NULL, NULL, &res_b, pb, NULL);
    CHECK(!hist_equal(&res_a, &res_b));
    /* same initial weights, another fit seed: batch order and masks change */
    {
        fg_err err;
        nn_net *n1 = nn_net_new(&d, 64, 7, &err), *n2 = nn_net_new(&d, 64, 7, &err);
        CHECK(n1 && n2);
        if (n1 && n2) {
            nn_fit(n1, &t, &s.data, s.train, SYN_N, s.val, SYN_N, 7, NULL, NULL, &res_a, &err);
            nn_fit(n2, &t, &s.data, s.train, SYN_N, s.val, SYN_N, 9, NULL, NULL, &res_b, &err);
            CHECK(!hist_equal(&res_a, &res_b));
        }
        nn_net_free(n1), nn_net_free(n2);
    }

    /* without dropout, the fit seed still orders the batches */
    small_net_desc(&d, 0.0f);
    {
        fg_err err;
        nn_net *n1 = nn_net_new(&d, 64, 7, &err), *n2 = nn_net_new(&d, 64, 7, &err);
        CHECK(n1 && n2);
        if (n1 && n2) {
            nn_fit(n1, &t, &s.data, s.train, SYN_N, s.val, SYN_N, 7, NULL, NULL, &res_a, &err);
            nn_fit(n2, &t, &s.data, s.train, SYN_N, s.val, SYN_N, 9, NULL, NULL, &res_b, &err);
            CHECK(!hist_equal(&res_a, &res_b));
        }
        nn_net_free(n1), nn_net_free(n2);
    }

    /* plain SGD fused into backward equals the flat loop (up to rounding), L2 included */
    small_net_desc(&d, 0.2f);
    d.layers[1].l2 = 0.01f;
    d.layers[3].l2 = 0.003f;
    nn_train_desc_init(&t, NN_OPT_SGD);
    t.learning_rate = 0.05f;
    t.batch_size = 16;
    t.epochs = 3;
    {
        fg_err err;
        nn_net *n1 = nn_net_new(&d, 16, 5, &err), *n2 = nn_net_new(&d, 16, 5, &err);
        CHECK(n1 && n2 && n1->can_fuse_sgd);
        if (n1 && n2) {
            n2->can_fuse_sgd = 0;
            nn_fit(n1, &t, &s.data, s.train, SYN_N, s.val, SYN_N, 5, NULL, NULL, &res_a, &err);
            nn_fit(n2, &t, &s.data, s.train, SYN_N, s.val, SYN_N, 5, NULL, NULL, &res_b, &err);
            double worst = 0.0;
            for (int64_t i = 0; i < n1->n_params; i++)
                worst = fmax(worst, fabs(n1->params[i] - n2->params[i]));
            CHECK_MSG(worst < 1e-4, "fused and unfused SGD differ by %g", worst);
            CHECK_NEAR(res_a.hist[2].loss, res_b.hist[2].loss, 1e-4);
            CHECK_NEAR(res_a.hist[2].val_loss, res_b.hist[2].val_loss, 1e-4);
            CHECK(res_a.hist[2].loss < res_a.hist[0].loss);
        }
        nn_net_free(n1), nn_net_free(n2);
    }

    /* no validation set: NaN validation values */
    small_net_desc(&d, 0.0f);
    nn_train_desc_init(&t, NN_OPT_SGD);
    t.epochs = 2;
    fit_once(&d, &t, &s, 0, 1, NULL, NULL, &res_a, NULL, NULL);
    CHECK_INT(res_a.status, NN_STATUS_OK);
    CHECK(isnan(res_a.hist[1].val_loss) && isnan(res_a.hist[1].val_acc));
    CHECK(isnan(res_a.val_loss));
    CHECK(isfinite(res_a.hist[1].loss));

    /* divergence: a huge learning rate */
    nn_train_desc_init(&t, NN_OPT_SGD);
    t.learning_rate = 1e30f;
    t.epochs = 5;
    fit_once(&d, &t, &s, SYN_N, 1, NULL, NULL, &res_a, NULL, NULL);
    CHECK_INT(res_a.status, NN_STATUS_DIVERGED);
    CHECK(res_a.epochs_run >= 1 && res_a.epochs_run <= 5);
    if (res_a.epochs_run >= 1) /* checked above; never index hist[-1] */
        CHECK(!isfinite(res_a.hist[res_a.epochs_run - 1].loss));
    CHECK(isnan(res_a.val_loss));
}

static int stop_after(void *ctx)
{
    int *left = ctx;
    return --*left <= 0;
}

static void test_callbacks(void)
{
    static synthetic s;
    nn_net_desc d;
    nn_train_desc t;
    small_net_desc(&d, 0.0f);

    /* the hook stops training: TIMEOUT after 7 batches (300 / 32 -> 10 per epoch) */
    synthetic_init(&s, 0);
    nn_train_desc_init(&t, NN_OPT_SGD);
    t.epochs = 3;
    int left = 7;
    fit_once(&d, &t, &s, SYN_N, 1, stop_after, &left, &res_a, NULL, NULL);
    CHECK_INT(res_a.status, NN_STATUS_TIMEOUT);
    CHECK_INT(res_a.epochs_run, 0);
    left = 13;
    fit_once(&d, &t, &s, SYN_N, 1, stop_after, &left, &res_a, NULL, NULL);
    CHECK_INT(res_a.status, NN_STATUS_TIMEOUT);
    CHECK_INT(res_a.epochs_run, 1);

    /* early stopping on a plateau: lr = 0 keeps the loss constant, so after the first epoch
     * nothing improves and training stops once patience epochs have passed */
    nn_train_desc_init(&t, NN_OPT_SGD);
    t.learning_rate = 0.0f;
    t.epochs = 20;
    t.es_monitor = NN_MON_LOSS;
    t.es_patience = 3;
    t.es_min_delta = 1e-4f;
    fit_once(&d, &t, &s, SYN_N, 1, NULL, NULL, &res_a, NULL, NULL);
    CHECK_INT(res_a.status, NN_STATUS_OK);
    CHECK_INT(res_a.epochs_run, 4);
    CHECK_INT(res_a.best_epoch, 0);
    t.es_patience = 0; /* Keras never stops after the first epoch alone */
    fit_once(&d, &t, &s, SYN_N, 1, NULL, NULL, &res_a, NULL, NULL);
    CHECK_INT(res_a.epochs_run, 2);

    /* reduce on plateau: patience 1, factor 0.5, cooldown 2, min_lr 3e-10 */
    nn_train_desc_init(&t, NN_OPT_SGD);
    t.learning_rate = 1e-9f;
    t.epochs = 8;
    t.rlr_monitor = NN_MON_LOSS;
    t.rlr_factor = 0.5f;
    t.rlr_patience = 1;
    t.rlr_cooldown = 2;
    t.rlr_min_lr = 3e-10f;
    fit_once(&d, &t, &s, SYN_N, 1, NULL, NULL, &res_a, NULL, NULL);
    CHECK_INT(res_a.epochs_run, 8);
    /* e0 best; e1 wait 1 -> 5e-10, cooldown 2; e2 cooling; e3 cooldown over, wait 1 ->
     * max(2.5e-10, 3e-10); then lr is not above min_lr: no more changes */
    const float want[8] = {1e-9f, 1e-9f, 5e-10f, 5e-10f, 3e-10f, 3e-10f, 3e-10f, 3e-10f};
    for (int e = 0; e < 8; e++)
        CHECK_MSG(fabsf(res_a.hist[e].lr - want[e]) <= 1e-6f * want[e], "epoch %d lr %g vs %g",
                  e, (double)res_a.hist[e].lr, (double)want[e]);
    CHECK_INT(res_a.best_epoch, -1);

    /* restore_best with a validation set that disagrees with training: val_loss gets worse
     * as training goes on, so the best epoch is an early one and the final weights are
     * restored to it; early stopping on val_loss stops soon after */
    synthetic_init(&s, 1);
    nn_train_desc_init(&t, NN_OPT_ADAM);
    t.learning_rate = 0.01f;
    t.batch_size = 16;
    t.epochs = 10;
    t.restore_best = 1;
    fit_once(&d, &t, &s, SYN_N, 3, NULL, NULL, &res_a, NULL, NULL);
    CHECK_INT(res_a.status, NN_STATUS_OK);
    CHECK_INT(res_a.epochs_run, 10);
    int best = 0;
    for (int e = 1; e < res_a.epochs_run; e++)
        if (res_a.hist[e].val_loss < res_a.hist[best].val_loss)
            best = e;
    CHECK_INT(res_a.best_epoch, best);
    CHECK(best < 9);
    CHECK(res_a.val_loss == res_a.hist[best].val_loss);
    CHECK(res_a.val_loss < res_a.hist[9].val_loss);
    t.es_patience = 2;
    fit_once(&d, &t, &s, SYN_N, 3, NULL, NULL, &res_b, NULL, NULL);
    CHECK_INT(res_b.epochs_run, best + 3 < 10 ? best + 3 : 10);
    CHECK_INT(res_b.best_epoch, best);
    CHECK(res_b.val_loss == res_a.val_loss);
}

static void test_fit_errors(void)
{
    static synthetic s;
    synthetic_init(&s, 0);
    nn_net_desc d;
    small_net_desc(&d, 0.0f);
    nn_train_desc t;
    nn_train_desc_init(&t, NN_OPT_SGD);
    fg_err err;
    nn_net *net = nn_net_new(&d, 16, 1, &err);
    CHECK(net != NULL);
    if (!net)
        return;
    t.batch_size = 17;
    CHECK_INT(nn_fit(net, &t, &s.data, s.train, SYN_N, NULL, 0, 1, NULL, NULL, &res_a, &err),
              -1);
    CHECK_STR_CONTAINS(err.msg, "batch_size");
    t.batch_size = 16;
    nn_data bad = s.data;
    bad.h = 5;
    CHECK_INT(nn_fit(net, &t, &bad, s.train, SYN_N, NULL, 0, 1, NULL, NULL, &res_a, &err), -1);
    CHECK_STR_CONTAINS(err.msg, "5x4x1");
    bad = s.data;
    bad.n_classes = 3;
    CHECK_INT(nn_evaluate(net, &bad, s.val, 10, &res_a.val_loss, &res_a.val_acc, NULL, &err), -1);
    t.epochs = NN_MAX_EPOCHS + 1;
    CHECK_INT(nn_fit(net, &t, &s.data, s.train, SYN_N, NULL, 0, 1, NULL, NULL, &res_a, &err),
              -1);

    /* evaluation in chunks of max_batch equals one big batch; predictions are argmaxes */
    nn_net *big = nn_net_new(&d, SYN_N, 1, &err);
    CHECK(big != NULL);
    if (big) {
        float l1, a1, l2, a2;
        static uint8_t p1[SYN_N], p2[SYN_N];
        CHECK_INT(nn_evaluate(net, &s.data, s.val, SYN_N, &l1, &a1, p1, &err), 0);
        CHECK_INT(nn_evaluate(big, &s.data, s.val, SYN_N, &l2, &a2, p2, &err), 0);
        CHECK_NEAR(l1, l2, 1e-6);
        CHECK(a1 == a2);
        CHECK(!memcmp(p1, p2, SYN_N));
        int correct = 0;
        for (int i = 0; i < SYN_N; i++)
            correct += p1[i] == s.lab[s.val[i]];
        CHECK_NEAR(a1, (double)correct / SYN_N, 1e-7);
        CHECK_INT(nn_evaluate(net, &s.data, s.val, 0, &l1, &a1, NULL, &err), 0);
        CHECK(isnan(l1) && isnan(a1));
    }
    nn_net_free(big);
    nn_net_free(net);
}

int main(void)
{
    nn_gemm_set_threads(1);
    test_names();
    test_defaults();
    test_desc_check();
    test_golden_forward();
    test_gradients();
    test_gradient_check_catches_errors();
    test_optimizers();
    test_initializers();
    test_fit();
    test_callbacks();
    test_fit_errors();
    return check_report("test_nn");
}
