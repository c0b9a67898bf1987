/* nn_weights.c - a layer's parameters as Keras's named arrays (nn_weight_view), so that
 * weights from elsewhere (a Keras HDF5 file) can be checked against a description and
 * copied into a network. The engine's layouts are Keras's, so a view is a plain slice:
 * the trainable arrays follow one another from L->w, batch norm's moving statistics are
 * its fixed values. */
#include <stdlib.h>
#include <string.h>

#include "nn_internal.h"

static void put(nn_weight_view *v, const char *name, int ndim, int a, int b, int c, int d)
{
    int sh[4] = {a, b, c, d};
    v->name = name;
    v->ndim = ndim;
    v->n = 1;
    for (int k = 0; k < 4; k++) {
        v->shape[k] = k < ndim ? sh[k] : 0;
        if (k < ndim)
            v->n *= sh[k];
    }
    v->data = NULL;
}

/* The arrays of layer d with input shape in (data left NULL). Returns their count. */
static int weight_shapes(const nn_layer_desc *d, nn_shape in, nn_weight_view *v)
{
    const int kh = d->kernel[0], kw = d->kernel[1], f = d->filters, dm = d->depth_multiplier;
    int n = 0;
    switch (d->kind) {
    case NN_LAYER_DENSE:
        put(&v[n++], "kernel", 2, (int)nn_shape_size(in), d->units, 0, 0);
        if (d->use_bias)
            put(&v[n++], "bias", 1, d->units, 0, 0, 0);
        break;
    case NN_LAYER_CONV2D:
    case NN_LAYER_CONV2D_TRANSPOSE:
        if (d->kind == NN_LAYER_CONV2D)
            put(&v[n++], "kernel", 4, kh, kw, in.c, f);
        else
            put(&v[n++], "kernel", 4, kh, kw, f, in.c);
        if (d->use_bias)
            put(&v[n++], "bias", 1, f, 0, 0, 0);
        break;
    case NN_LAYER_DEPTHWISE_CONV2D:
        put(&v[n++], "depthwise_kernel", 4, kh, kw, in.c, dm);
        if (d->use_bias)
            put(&v[n++], "bias", 1, in.c * dm, 0, 0, 0);
        break;
    case NN_LAYER_SEPARABLE_CONV2D:
        put(&v[n++], "depthwise_kernel", 4, kh, kw, in.c, dm);
        put(&v[n++], "pointwise_kernel", 4, 1, 1, in.c * dm, f);
        if (d->use_bias)
            put(&v[n++], "bias", 1, f, 0, 0, 0);
        break;
    case NN_LAYER_BATCH_NORM:
        put(&v[n++], "gamma", 1, in.c, 0, 0, 0);
        put(&v[n++], "beta", 1, in.c, 0, 0, 0);
        put(&v[n++], "moving_mean", 1, in.c, 0, 0, 0);
        put(&v[n++], "moving_variance", 1, in.c, 0, 0, 0);
        break;
    default: break;
    }
    return n;
}

int nn_net_layer_index(const nn_net *net, const char *name)
{
    for (int i = 0; i < net->n_layers; i++)
        if (!strncmp(net->desc.layers[i].name, name, NN_NAME_MAX))
            return i;
    return -1;
}

int nn_net_layer_weights(nn_net *net, int i, nn_weight_view v[NN_WEIGHTS_MAX])
{
    if (i < 0 || i >= net->n_layers)
        return 0;
    nn_layer *L = &net->layers[i];
    int n = weight_shapes(L->d, L->in[0], v);
    float *p = L->w;
    for (int k = 0; k < n; k++) {
        if (L->d->kind == NN_LAYER_BATCH_NORM && k == 2)
            p = L->fixed; /* moving statistics */
        v[k].data = p;
        p += v[k].n;
    }
    return n;
}

int nn_desc_layer_weights(const nn_net_desc *d, int i, nn_weight_view v[NN_WEIGHTS_MAX])
{
    nn_layer_info *info = malloc(NN_MAX_LAYERS * sizeof *info);
    if (!info || i < 0 || i >= d->n_layers || nn_desc_check(d, info, NULL, NULL, NULL)) {
        free(info);
        return -1;
    }
    int src = d->layers[i].inputs[0];
    nn_shape in = {d->in_h, d->in_w, d->in_c, 0};
    if (src >= 0)
        in = (nn_shape){info[src].out_h, info[src].out_w, info[src].out_c, 0};
    free(info);
    return weight_shapes(&d->layers[i], in, v);
}
