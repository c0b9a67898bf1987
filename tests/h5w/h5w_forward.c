/* h5w_forward.c - a test tool (not installed): builds configuration 0 of a grid for 28x28x1
 * images, loads the Keras HDF5 weights files the grid names (h5w_read + h5w_apply, as a
 * search does), runs a forward pass over raw 28x28 uint8 images and writes the outputs of
 * one named layer and of the network (the class probabilities), one image per line, for
 * tests/h5w/keras_weights.py to compare with an independent PyTorch forward pass.
 *
 *   h5w_forward GRID IMAGES.raw N LAYER OUT_LAYER.txt OUT_PROBS.txt
 *
 * Exit status 0, or 2 with one line on stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_internal.h"
#include "grid.h"
#include "h5w.h"

static int die(const char *msg)
{
    fprintf(stderr, "h5w_forward: %s\n", msg);
    return 2;
}

static int write_rows(const char *path, const float *y, int n, int64_t size)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    for (int r = 0; r < n; r++)
        for (int64_t k = 0; k < size; k++)
            fprintf(f, "%.9g%c", (double)y[r * size + k], k + 1 == size ? '\n' : ' ');
    return fclose(f);
}

static int load_weights(const grid *g, nn_net *net, fg_err *err)
{
    grid_weights w[NN_MAX_LAYERS + 1];
    int n = grid_config_weights(g, 0, w, NN_MAX_LAYERS + 1);
    for (int k = 0; k < n; k++) {
        h5w_file *f = NULL;
        int rc = h5w_read(w[k].path, &f, err) ||
                 h5w_apply(f, w[k].path, nn_net_desc_of(net), net, w[k].layer, err);
        h5w_free(f);
        if (rc)
            return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 7)
        return die("usage: h5w_forward GRID IMAGES.raw N LAYER OUT_LAYER.txt OUT_PROBS.txt");
    int n = atoi(argv[3]);
    grid *g = NULL;
    fg_err err;
    nn_net_desc *d = calloc(1, sizeof *d);
    nn_train_desc t;
    if (n < 1 || n > 1000 || !d)
        return die("N must be in 1..1000");
    if (grid_load_file(argv[1], &g, &err) ||
        grid_config_build(g, 0, 28, 28, 1, 10, d, &t, &err))
        return die(err.msg);
    nn_net *net = nn_net_new(d, n, 1, &err);
    if (!net || load_weights(g, net, &err))
        return die(err.msg);
    uint8_t *img = malloc((size_t)n * 784), lab[1000] = {0};
    int32_t idx[1000];
    FILE *f = fopen(argv[2], "rb");
    if (!img || !f || fread(img, 784, (size_t)n, f) != (size_t)n)
        return die("cannot read the images");
    fclose(f);
    for (int i = 0; i < n; i++)
        idx[i] = i;
    nn_data data = {img, lab, 28, 28, 1, 10, NULL};
    nn_net_gather(net, &data, idx, n);
    nn_net_forward(net, n, 0, NULL);
    int li = nn_net_layer_index(net, argv[4]);
    if (li < 0)
        return die("no such layer");
    const nn_layer *L = &net->layers[li], *last = &net->layers[net->n_layers - 1];
    if (write_rows(argv[5], L->y, n, L->out_size) || write_rows(argv[6], last->y, n, last->out_size))
        return die("cannot write the outputs");
    nn_net_free(net);
    grid_free(g);
    free(img);
    free(d);
    return 0;
}
