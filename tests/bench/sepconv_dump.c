/* sepconv_dump.c - one separable_conv2d network's forward loss and one SGD step, written out
 * so that an independent implementation (tests/bench/sepconv_torch.py, PyTorch's depthwise +
 * pointwise convolutions) can check them on the same weights and images.
 *
 *   sepconv_dump OUT.bin H W C FILTERS DM PADDING(valid|same) STRIDE N [SEED]
 *
 * The network: separable_conv2d (3x3, FILTERS, depth multiplier DM, relu) -> flatten ->
 * dense 10 softmax, on N random uint8 images of HxWxC with random labels. OUT.bin holds, as
 * little-endian int32 then float32 arrays: H W C FILTERS DM SAME STRIDE N NPARAMS, the
 * images (N*H*W*C bytes, as float 0..255), the labels (N, as float), the parameters before
 * (NPARAMS: depthwise (3,3,C,DM), pointwise (C*DM,FILTERS), bias (FILTERS), dense kernel
 * (flat,10), dense bias (10)), the mean loss before the step, the parameters after one SGD
 * step (learning rate 0.1, one batch of all N images). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn.h"

static int put(FILE *f, const void *p, size_t size, size_t n)
{
    return fwrite(p, size, n, f) == n ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc < 10) {
        fprintf(stderr, "usage: sepconv_dump OUT.bin H W C FILTERS DM valid|same STRIDE N [SEED]\n");
        return 2;
    }
    int h = atoi(argv[2]), w = atoi(argv[3]), c = atoi(argv[4]), f = atoi(argv[5]);
    int dm = atoi(argv[6]), same = strcmp(argv[7], "same") == 0, st = atoi(argv[8]);
    int n = atoi(argv[9]);
    uint64_t seed = argc > 10 ? strtoull(argv[10], NULL, 10) : 1;
    nn_net_desc d;
    memset(&d, 0, sizeof d);
    d.in_h = h, d.in_w = w, d.in_c = c, d.n_classes = 10, d.n_layers = 3;
    nn_layer_desc *l = &d.layers[0];
    nn_layer_desc_init(l, NN_LAYER_SEPARABLE_CONV2D);
    strcpy(l->name, "sep");
    l->inputs[0] = NN_INPUT, l->filters = f, l->depth_multiplier = dm;
    l->kernel[0] = l->kernel[1] = 3, l->strides[0] = l->strides[1] = st;
    l->padding = same ? NN_PAD_SAME : NN_PAD_VALID, l->activation = NN_ACT_RELU;
    /* Non-zero biases, so that the bias path is compared too. */
    l->bias_init = (nn_init){NN_INIT_RANDOM_UNIFORM, -0.1f, 0.1f};
    nn_layer_desc_init(&d.layers[1], NN_LAYER_FLATTEN);
    strcpy(d.layers[1].name, "flat");
    d.layers[1].inputs[0] = 0;
    nn_layer_desc_init(&d.layers[2], NN_LAYER_DENSE);
    strcpy(d.layers[2].name, "out");
    d.layers[2].inputs[0] = 1, d.layers[2].units = 10, d.layers[2].activation = NN_ACT_SOFTMAX;
    fg_err err = {0};
    nn_net *net = nn_net_new(&d, n, seed, &err);
    if (!net) {
        fprintf(stderr, "sepconv_dump: %s\n", err.msg);
        return 1;
    }
    int64_t np = nn_net_n_params(net), px = (int64_t)h * w * c;
    uint8_t *img = malloc((size_t)(n * px)), lab[4096];
    int32_t *idx = malloc(sizeof *idx * (size_t)n);
    float *fimg = malloc(sizeof *fimg * (size_t)(n * px)), flab[4096];
    if (!img || !idx || !fimg || n > 4096)
        return 1;
    fg_rng rng;
    fg_rng_seed(&rng, seed + 7);
    for (int64_t i = 0; i < n * px; i++)
        fimg[i] = img[i] = (uint8_t)(fg_rng_u64(&rng) & 255);
    for (int i = 0; i < n; i++)
        flab[i] = lab[i] = (uint8_t)(fg_rng_u64(&rng) % 10), idx[i] = i;
    nn_data data = {img, lab, h, w, c, 10};
    float loss, acc;
    if (nn_evaluate(net, &data, idx, n, &loss, &acc, NULL, &err))
        return fprintf(stderr, "sepconv_dump: %s\n", err.msg), 1;
    FILE *o = fopen(argv[1], "wb");
    int32_t hdr[9] = {h, w, c, f, dm, same, st, n, (int32_t)np};
    int bad = !o || put(o, hdr, 4, 9) || put(o, fimg, 4, (size_t)(n * px)) ||
              put(o, flab, 4, (size_t)n) || put(o, nn_net_params(net), 4, (size_t)np) ||
              put(o, &loss, 4, 1);
    nn_train_desc t;
    nn_train_desc_init(&t, NN_OPT_SGD);
    t.learning_rate = 0.1f, t.batch_size = n, t.epochs = 1;
    nn_fit_result *res = calloc(1, sizeof *res);
    if (!res || nn_fit(net, &t, &data, idx, n, NULL, 0, seed, NULL, NULL, res, &err))
        return fprintf(stderr, "sepconv_dump: %s\n", err.msg), 1;
    bad = bad || put(o, nn_net_params(net), 4, (size_t)np);
    if (!o || fclose(o) || bad)
        return fprintf(stderr, "sepconv_dump: cannot write %s\n", argv[1]), 1;
    printf("params=%lld loss=%.7f\n", (long long)np, loss);
    nn_net_free(net);
    free(img), free(idx), free(fimg), free(res);
    return 0;
}
