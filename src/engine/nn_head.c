/* nn_head.c - the frozen base of a network and its head (see nn_head.h). */
#include "nn_head.h"

#include <stdlib.h>
#include <string.h>

#include "nn_internal.h"

/* Layer i of d can belong to a frozen base: one input, the previous layer's; frozen or
 * without parameters; not dropout (random when training). */
static int base_candidate(const nn_net_desc *d, const nn_layer_info *info, int i)
{
    const nn_layer_desc *l = &d->layers[i];
    if (l->n_inputs != 1 || l->inputs[0] != (i == 0 ? NN_INPUT : i - 1))
        return 0;
    if (l->kind == NN_LAYER_DROPOUT)
        return 0;
    return info[i].n_params == 0 || l->frozen;
}

static int64_t out_size(const nn_layer_info *x) { return (int64_t)x->out_h * x->out_w * x->out_c; }

int nn_desc_base_len(const nn_net_desc *d)
{
    nn_layer_info *info = malloc(NN_MAX_LAYERS * sizeof *info);
    if (!info || nn_desc_check(d, info, NULL, NULL, NULL)) {
        free(info);
        return 0;
    }
    int last = -1, i = 0;
    for (; i < d->n_layers - 1 && base_candidate(d, info, i); i++)
        if (info[i].n_params > 0)
            last = i;
    int n = last + 1;
    while (n > 0 && n < i && info[n].n_params == 0 && out_size(&info[n]) <= out_size(&info[n - 1]))
        n++;
    for (int j = n; n > 0 && j < d->n_layers; j++)
        for (int k = 0; k < d->layers[j].n_inputs; k++)
            if (d->layers[j].inputs[k] < n - 1)
                n = 0; /* a later layer reads the input or a layer inside the base */
    free(info);
    return n;
}

int64_t nn_base_out_size(const nn_net_desc *d, int n_base)
{
    nn_layer_info *info = malloc(NN_MAX_LAYERS * sizeof *info);
    int64_t n = -1;
    if (info && n_base >= 1 && n_base <= d->n_layers && !nn_desc_check(d, info, NULL, NULL, NULL))
        n = out_size(&info[n_base - 1]);
    free(info);
    return n;
}

int nn_desc_head(const nn_net_desc *d, int n_base, nn_net_desc *head, fg_err *err)
{
    nn_layer_info *info = malloc(NN_MAX_LAYERS * sizeof *info);
    if (!info)
        return fg_err_set(err, "out of memory");
    if (nn_desc_check(d, info, NULL, NULL, err)) {
        free(info);
        return -1;
    }
    if (n_base < 1 || n_base >= d->n_layers) {
        free(info);
        return fg_err_set(err, "a base of %d layers leaves no head of %d", n_base, d->n_layers);
    }
    memset(head, 0, sizeof *head);
    head->in_h = info[n_base - 1].out_h;
    head->in_w = info[n_base - 1].out_w;
    head->in_c = info[n_base - 1].out_c;
    head->n_classes = d->n_classes;
    head->n_layers = d->n_layers - n_base;
    for (int j = 0; j < head->n_layers; j++) {
        nn_layer_desc *l = &head->layers[j];
        *l = d->layers[n_base + j];
        for (int k = 0; k < l->n_inputs; k++)
            l->inputs[k] = l->inputs[k] == n_base - 1 ? NN_INPUT : l->inputs[k] - n_base;
    }
    free(info);
    return 0;
}

int nn_head_copy_to(nn_net *head, nn_net *full, fg_err *err)
{
    const nn_net_desc *hd = nn_net_desc_of(head);
    for (int i = 0; i < hd->n_layers; i++) {
        nn_weight_view a[NN_WEIGHTS_MAX], b[NN_WEIGHTS_MAX];
        int j = nn_net_layer_index(full, hd->layers[i].name);
        int n = nn_net_layer_weights(head, i, a);
        if (j < 0 || nn_net_layer_weights(full, j, b) != n)
            return fg_err_set(err, "layer %s: not in the whole network", hd->layers[i].name);
        for (int k = 0; k < n; k++) {
            if (a[k].n != b[k].n)
                return fg_err_set(err, "layer %s: %s has %lld values, not %lld", hd->layers[i].name,
                                  a[k].name, (long long)a[k].n, (long long)b[k].n);
            memcpy(b[k].data, a[k].data, (size_t)a[k].n * sizeof *a[k].data);
        }
    }
    return 0;
}

nn_net *nn_head_from(nn_net *full, int n_base, int max_batch, fg_err *err)
{
    nn_net_desc *hd = malloc(sizeof *hd);
    if (!hd) {
        fg_err_set(err, "out of memory");
        return NULL;
    }
    nn_net *head = NULL;
    if (nn_desc_head(nn_net_desc_of(full), n_base, hd, err) == 0 &&
        (head = nn_net_new(hd, max_batch, 0, err))) {
        for (int i = 0; i < hd->n_layers; i++) {
            nn_weight_view a[NN_WEIGHTS_MAX], b[NN_WEIGHTS_MAX];
            int n = nn_net_layer_weights(full, n_base + i, b);
            nn_net_layer_weights(head, i, a);
            for (int k = 0; k < n; k++)
                memcpy(a[k].data, b[k].data, (size_t)a[k].n * sizeof *a[k].data);
        }
    }
    free(hd);
    return head;
}

int nn_base_forward(nn_net *full, int n_base, const nn_data *data, const int32_t *idx, int n,
                    float *out, fg_err *err)
{
    if (n_base < 1 || n_base >= full->n_layers)
        return fg_err_set(err, "a base of %d layers in a network of %d", n_base, full->n_layers);
    const nn_layer *last = &full->layers[n_base - 1];
    const int64_t size = last->out_size;
    nn_step s = {0, 0, NULL, 0, 0.0f, 0};
    for (int start = 0; start < n; start += full->max_batch) {
        int b = n - start < full->max_batch ? n - start : full->max_batch;
        nn_net_gather(full, data, idx + start, b);
        s.batch = b;
        for (int i = 0; i < n_base; i++)
            full->layers[i].ops->forward(&full->layers[i], &s);
        memcpy(out + (int64_t)start * size, last->y, (size_t)b * (size_t)size * sizeof *out);
    }
    return 0;
}
