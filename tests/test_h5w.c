/* test_h5w.c - the Keras weights module without any HDF5 file: the matching of a file's
 * layers to a network (h5w_apply) on hand-built h5w_file structs (names, array counts,
 * both shapes in the message, the copy into the network), and, in the test_h5w_nohdf5
 * build of src/io/h5w.c without libhdf5, the refusal that says so. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "h5w.h"
#include "nn.h"

#include "nn_testnet.h"

static float g_k[3 * 3 * 2 * 4], g_b[4];

static h5w_array arr(const char *name, int ndim, int a, int b, int c, int d, float *data)
{
    h5w_array x;
    memset(&x, 0, sizeof x);
    snprintf(x.name, sizeof x.name, "%s", name);
    int64_t s[4] = {a, b, c, d};
    x.ndim = ndim;
    x.n = 1;
    for (int k = 0; k < ndim; k++)
        x.shape[k] = s[k], x.n *= s[k];
    x.data = data;
    return x;
}

static void test_apply(void)
{
    nn_net_desc d;
    desc_begin(&d, 4, 4, 2, 3);
    nn_layer_desc *c = push(&d, NN_LAYER_CONV2D);
    c->filters = 4;
    snprintf(c->name, NN_NAME_MAX, "block1_conv1");
    push(&d, NN_LAYER_FLATTEN);
    push_dense(&d, 3, NN_ACT_SOFTMAX);
    for (int i = 0; i < 72; i++)
        g_k[i] = (float)i;
    for (int i = 0; i < 4; i++)
        g_b[i] = -1.0f - (float)i;
    h5w_array w[2] = {arr("block1_conv1/kernel:0", 4, 3, 3, 2, 4, g_k),
                      arr("block1_conv1/bias:0", 1, 4, 0, 0, 0, g_b)};
    h5w_layer L[2] = {{"input_1", 0, NULL}, {"block1_conv1", 2, w}};
    h5w_file f = {2, L};
    fg_err err;
    err.msg[0] = '\0';
    CHECK_MSG(h5w_apply(&f, "w.h5", &d, NULL, -1, &err) == 0, "%s", err.msg);
    nn_net *net = nn_net_new(&d, 1, 1, &err);
    CHECK(net != NULL);
    if (net) {
        CHECK(h5w_apply(&f, "w.h5", &d, net, -1, &err) == 0);
        nn_weight_view v[NN_WEIGHTS_MAX];
        CHECK_INT(nn_net_layer_weights(net, 0, v), 2);
        CHECK(!memcmp(v[0].data, g_k, sizeof g_k) && !memcmp(v[1].data, g_b, sizeof g_b));
        nn_net_free(net);
    }
    /* a layer by its own weights: found by the network layer's name */
    CHECK(h5w_apply(&f, "w.h5", &d, NULL, 0, &err) == 0);
    CHECK(h5w_apply(&f, "w.h5", &d, NULL, 2, &err) == -1);
    CHECK_MSG(strstr(err.msg, "w.h5: has no layer 'dense_2'") != NULL, "%s", err.msg);
    /* the wrong shape: both named */
    w[0] = arr("block1_conv1/kernel:0", 4, 3, 3, 3, 4, g_k);
    CHECK(h5w_apply(&f, "w.h5", &d, NULL, -1, &err) == -1);
    CHECK_MSG(!strcmp(err.msg, "w.h5: layer 'block1_conv1': kernel has shape (3, 3, 3, 4) in "
                               "the file but (3, 3, 2, 4) in the model"),
              "%s", err.msg);
    w[0] = arr("block1_conv1/kernel:0", 4, 3, 3, 2, 4, g_k);
    w[1] = arr("block1_conv1/bias:0", 2, 4, 1, 0, 0, g_b);
    CHECK(h5w_apply(&f, "w.h5", &d, NULL, -1, &err) == -1);
    CHECK_MSG(strstr(err.msg, "bias has shape (4, 1) in the file but (4,) in the model"), "%s",
              err.msg);
    /* a file layer the model lacks; an array count that differs */
    snprintf(L[1].name, sizeof L[1].name, "block1_conv9");
    CHECK(h5w_apply(&f, "w.h5", &d, NULL, -1, &err) == -1);
    CHECK_MSG(strstr(err.msg, "layer 'block1_conv9' of the file is not a layer of the model"),
              "%s", err.msg);
    snprintf(L[1].name, sizeof L[1].name, "block1_conv1");
    L[1].n = 1;
    CHECK(h5w_apply(&f, "w.h5", &d, NULL, -1, &err) == -1);
    CHECK_MSG(strstr(err.msg, "the file has 1 weight arrays, the model's conv2d layer has 2"),
              "%s", err.msg);
    /* nothing with weights */
    L[1].n = 0;
    CHECK(h5w_apply(&f, "w.h5", &d, NULL, -1, &err) == -1);
}

int main(void)
{
#ifdef H5W_TEST_NOHDF5
    h5w_file *f = (h5w_file *)1;
    fg_err err;
    CHECK_INT(h5w_available(), 0);
    CHECK(h5w_read("x.h5", &f, &err) == -1 && f == NULL);
    CHECK_MSG(strstr(err.msg, "x.h5: cannot read Keras weights: this fmnist-grid was built "
                              "without libhdf5") != NULL,
              "%s", err.msg);
#endif
    test_apply();
    return check_report("test_h5w");
}
