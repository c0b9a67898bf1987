/* nn_testnet.h - building network descriptions in the engine's tests (test_nn, test_nn_conv):
 * layers named KIND_INDEX, each reading the previous one unless told otherwise. */
#ifndef NN_TESTNET_H
#define NN_TESTNET_H

#include <stdio.h>
#include <string.h>

#include "nn.h"

static inline void desc_begin(nn_net_desc *d, int h, int w, int c, int n_classes)
{
    memset(d, 0, sizeof *d);
    d->in_h = h, d->in_w = w, d->in_c = c;
    d->n_classes = n_classes;
}

/* Appends a layer reading `input` (a layer index or NN_INPUT), named KIND_INDEX. */
static inline nn_layer_desc *push_from(nn_net_desc *d, nn_layer_kind k, int input)
{
    nn_layer_desc *l = &d->layers[d->n_layers];
    nn_layer_desc_init(l, k);
    snprintf(l->name, NN_NAME_MAX, "%s_%d", nn_layer_kind_name(k), d->n_layers);
    l->inputs[0] = input;
    d->n_layers++;
    return l;
}

/* Appends a layer reading the previous one (or the input for the first). */
static inline nn_layer_desc *push(nn_net_desc *d, nn_layer_kind k)
{
    return push_from(d, k, d->n_layers - 1);
}

static inline nn_layer_desc *push_dense(nn_net_desc *d, int units, nn_act act)
{
    nn_layer_desc *l = push(d, NN_LAYER_DENSE);
    l->units = units;
    l->activation = act;
    return l;
}

#endif
