/* nn.c - networks: shape checking (nn_desc_check), building (one allocation each for
 * parameters, gradients and activations), and forward / loss / backward / L2 over the
 * layer array. The layer kinds live in nn_layer_*.c behind nn_layer_ops tables. */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_internal.h"

static const nn_layer_ops *const LAYER_OPS[NN_LAYER__COUNT] = {
    [NN_LAYER_DENSE] = &nn_dense_ops,
    [NN_LAYER_DROPOUT] = &nn_dropout_ops,
    [NN_LAYER_FLATTEN] = &nn_flatten_ops,
    [NN_LAYER_ACTIVATION] = &nn_activation_ops,
    [NN_LAYER_CONV2D] = &nn_conv2d_ops,
    [NN_LAYER_SEPARABLE_CONV2D] = &nn_separable_ops,
    [NN_LAYER_DEPTHWISE_CONV2D] = &nn_depthwise_ops,
    [NN_LAYER_CONV2D_TRANSPOSE] = &nn_conv2d_transpose_ops,
    [NN_LAYER_MAX_POOL2D] = &nn_max_pool_ops,
    [NN_LAYER_AVG_POOL2D] = &nn_avg_pool_ops,
    [NN_LAYER_GLOBAL_AVG_POOL2D] = &nn_global_avg_pool_ops,
    [NN_LAYER_BATCH_NORM] = &nn_batch_norm_ops,
    [NN_LAYER_ADD] = &nn_add_ops,
    [NN_LAYER_RESIZING] = &nn_resizing_ops,
    [NN_LAYER_GRAYSCALE_TO_RGB] = &nn_grayscale_to_rgb_ops,
    [NN_LAYER_RESCALING] = &nn_rescaling_ops,
    [NN_LAYER_VGG16_PREPROCESS] = &nn_vgg16_preprocess_ops,
};

/* Largest number of floats one image may have in one layer (GEMM dimensions are int). */
#define MAX_TENSOR ((int64_t)INT_MAX / 2)
#define ALIGN_FLOATS 16 /* 64 bytes */

static int uses_activation(nn_layer_kind k)
{
    return k == NN_LAYER_DENSE || k == NN_LAYER_CONV2D || k == NN_LAYER_SEPARABLE_CONV2D ||
           k == NN_LAYER_DEPTHWISE_CONV2D || k == NN_LAYER_CONV2D_TRANSPOSE ||
           k == NN_LAYER_ACTIVATION;
}

/* Sets err to "layer 'NAME' (KIND): message" (or "layer #i (KIND): ..." when unnamed). */
static int layer_err(fg_err *err, const nn_layer_desc *d, int i, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
static int layer_err(fg_err *err, const nn_layer_desc *d, int i, const char *fmt, ...)
{
    char msg[FG_ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *kind = nn_layer_kind_name(d->kind);
    if (d->name[0])
        return fg_err_set(err, "layer '%.*s' (%s): %s", NN_NAME_MAX, d->name, kind, msg);
    return fg_err_set(err, "layer #%d (%s): %s", i, kind, msg);
}

int nn_plan_need_image(const nn_shape *in, fg_err *err)
{
    if (in->flat)
        return fg_err_set(err, "needs an image input (h, w, c) but gets a flat vector of %d "
                               "values", in->c);
    return 0;
}

int nn_plan_window(const nn_shape *in, const int win[2], const int strides[2],
                   int stride_is_window, nn_padding pad, const char *what, int out[2],
                   int stride[2], fg_err *err)
{
    if (win[0] < 1 || win[1] < 1)
        return fg_err_set(err, "%s must be at least 1x1 (got %dx%d)", what, win[0], win[1]);
    if (strides[0] < 0 || strides[1] < 0)
        return fg_err_set(err, "strides must be >= 1 (got %dx%d)", strides[0], strides[1]);
    if (pad != NN_PAD_VALID && pad != NN_PAD_SAME)
        return fg_err_set(err, "unknown padding %d", (int)pad);
    if (pad == NN_PAD_VALID && (win[0] > in->h || win[1] > in->w))
        return fg_err_set(err, "%s %dx%d is larger than its %dx%d input", what, win[0], win[1],
                          in->h, in->w);
    int n[2] = {in->h, in->w};
    for (int a = 0; a < 2; a++) {
        int s = strides[a] ? strides[a] : stride_is_window ? win[a] : 1;
        stride[a] = s;
        out[a] = pad == NN_PAD_VALID ? (n[a] - win[a]) / s + 1 : (n[a] + s - 1) / s;
    }
    return 0;
}

/* Plans layer i of nd from the output shapes of the layers before it: fills its input
 * shapes in[] and p. */
static int plan_layer(const nn_net_desc *nd, int i, const nn_shape *outs, nn_shape in[2],
                      nn_plan *p, fg_err *err)
{
    const nn_layer_desc *d = &nd->layers[i];
    if ((int)d->kind < 0 || d->kind >= NN_LAYER__COUNT)
        return layer_err(err, d, i, "unknown layer kind %d", (int)d->kind);
    int want = d->kind == NN_LAYER_ADD ? 2 : 1;
    if (d->n_inputs != want)
        return layer_err(err, d, i, "takes %d input%s (n_inputs is %d)", want,
                         want > 1 ? "s" : "", d->n_inputs);
    for (int j = 0; j < want; j++) {
        int s = d->inputs[j];
        if (s == NN_INPUT)
            in[j] = (nn_shape){nd->in_h, nd->in_w, nd->in_c, 0};
        else if (s < 0 || s >= i)
            return layer_err(err, d, i, "input %d is %d, which is neither an earlier layer "
                                        "nor the network input", j, s);
        else
            in[j] = outs[s];
    }
    if (uses_activation(d->kind)) {
        if ((int)d->activation < 0 || d->activation >= NN_ACT__COUNT)
            return layer_err(err, d, i, "unknown activation %d", (int)d->activation);
        float a = nn_act_alpha(d->activation, d->alpha);
        if ((d->activation == NN_ACT_LEAKY_RELU || d->activation == NN_ACT_ELU) &&
            !(a >= 0.0f && isfinite(a)))
            return layer_err(err, d, i, "%s alpha must be >= 0 (got %g)",
                             nn_act_name(d->activation), (double)a);
    }
    if (!(d->l2 >= 0.0f && isfinite(d->l2)))
        return layer_err(err, d, i, "l2 must be >= 0 (got %g)", (double)d->l2);
    memset(p, 0, sizeof *p);
    fg_err e;
    e.msg[0] = '\0';
    if (LAYER_OPS[d->kind]->plan(d, in, want, p, &e))
        return layer_err(err, d, i, "%s", e.msg);
    if (d->frozen) { /* Keras's trainable = False: the parameters become non-trainable */
        p->n_frozen = p->n_train;
        p->n_fixed += p->n_train;
        p->n_train = 0;
    }
    int64_t size = nn_shape_size(p->out);
    if (p->out.h < 1 || p->out.w < 1 || p->out.c < 1)
        return layer_err(err, d, i, "empty output %dx%dx%d", p->out.h, p->out.w, p->out.c);
    if (size > MAX_TENSOR || p->ws_per_image > MAX_TENSOR)
        return layer_err(err, d, i, "output of %lld values per image is too large",
                         (long long)size);
    return 0;
}

int nn_desc_check(const nn_net_desc *d, nn_layer_info *info, int64_t *total_params,
                  int64_t *flops_per_image, fg_err *err)
{
    if (!d)
        return fg_err_set(err, "no network description");
    if (d->in_h < 1 || d->in_w < 1 || d->in_c < 1 ||
        (int64_t)d->in_h * d->in_w * d->in_c > MAX_TENSOR)
        return fg_err_set(err, "input shape %dx%dx%d is not valid", d->in_h, d->in_w, d->in_c);
    if (d->n_classes < 1 || d->n_classes > 256)
        return fg_err_set(err, "n_classes must be in 1..256 (got %d)", d->n_classes);
    if (d->n_layers < 1 || d->n_layers > NN_MAX_LAYERS)
        return fg_err_set(err, "a network needs 1 to %d layers (got %d)", NN_MAX_LAYERS,
                          d->n_layers);
    nn_shape outs[NN_MAX_LAYERS], in[2];
    char used[NN_MAX_LAYERS] = {0};
    int64_t total = 0, flops = 0;
    for (int i = 0; i < d->n_layers; i++) {
        const nn_layer_desc *l = &d->layers[i];
        if (!memchr(l->name, '\0', NN_NAME_MAX))
            return layer_err(err, l, i, "name is longer than %d characters", NN_NAME_MAX - 1);
        for (int k = 0; l->name[0] && k < i; k++)
            if (!strcmp(l->name, d->layers[k].name))
                return layer_err(err, l, i, "name already used by layer #%d", k);
        nn_plan p;
        if (plan_layer(d, i, outs, in, &p, err))
            return -1;
        outs[i] = p.out;
        for (int j = 0; j < l->n_inputs; j++)
            if (l->inputs[j] >= 0)
                used[l->inputs[j]] = 1;
        total += p.n_train + p.n_fixed;
        flops += p.flops;
        if (info) {
            memset(&info[i], 0, sizeof info[i]);
            memcpy(info[i].name, l->name, NN_NAME_MAX);
            info[i].kind = l->kind;
            info[i].out_h = p.out.h;
            info[i].out_w = p.out.w;
            info[i].out_c = p.out.c;
            info[i].n_params = p.n_train + p.n_fixed;
            info[i].n_trainable = p.n_train;
            info[i].flops = p.flops;
        }
    }
    for (int i = 0; i + 1 < d->n_layers; i++)
        if (!used[i])
            return layer_err(err, &d->layers[i], i, "its output is not used by any later "
                                                    "layer (check the layers' inputs)");
    int last = d->n_layers - 1;
    const nn_layer_desc *l = &d->layers[last];
    if (!((l->kind == NN_LAYER_DENSE || l->kind == NN_LAYER_ACTIVATION) &&
          l->activation == NN_ACT_SOFTMAX))
        return layer_err(err, l, last, "the last layer must be a dense or activation layer "
                                       "with activation softmax");
    if (outs[last].h != 1 || outs[last].w != 1 || outs[last].c != d->n_classes)
        return layer_err(err, l, last, "the last layer must output the %d classes, not "
                                       "%dx%dx%d values", d->n_classes, outs[last].h,
                         outs[last].w, outs[last].c);
    if (total_params)
        *total_params = total;
    if (flops_per_image)
        *flops_per_image = flops;
    return 0;
}

static int64_t round_up(int64_t n) { return (n + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS; }

/* Offsets of each layer's views into the parameter and activation blocks (-1: none). */
typedef struct {
    int64_t w[NN_MAX_LAYERS], f[NN_MAX_LAYERS];                     /* trainable, fixed */
    int64_t y[NN_MAX_LAYERS], dy[NN_MAX_LAYERS], ws[NN_MAX_LAYERS]; /* activations */
    int64_t frozen_scratch; /* dw of frozen layers that run backward (shared scratch) */
} build_offs;

/* Pass 1: plans, parameter offsets, which layers run backward; sets the net's counts. */
static int build_plan(nn_net *net, int input_grad, build_offs *o, fg_err *err)
{
    nn_shape outs[NN_MAX_LAYERS];
    int64_t n_train = 0, n_fixed = 0;
    int can_fuse = 1;
    o->frozen_scratch = 0;
    for (int i = 0; i < net->n_layers; i++) {
        nn_layer *L = &net->layers[i];
        L->d = &net->desc.layers[i];
        L->index = i;
        if (plan_layer(&net->desc, i, outs, L->in, &L->p, err))
            return -1;
        L->ops = LAYER_OPS[L->d->kind]; /* plan_layer checked the kind */
        if (!L->ops->forward)
            return layer_err(err, L->d, i, "layer kind %s is not implemented yet",
                             nn_layer_kind_name(L->d->kind));
        outs[i] = L->p.out;
        L->n_in = L->d->n_inputs;
        L->out_size = nn_shape_size(L->p.out);
        L->act = uses_activation(L->d->kind) ? L->d->activation : NN_ACT_LINEAR;
        L->alpha = nn_act_alpha(L->act, L->d->alpha);
        L->needs_backward = L->p.n_train > 0;
        for (int j = 0; j < L->n_in; j++) {
            int s = L->in_idx[j] = L->d->inputs[j];
            L->in_size[j] = nn_shape_size(L->in[j]);
            if (s == NN_INPUT ? input_grad : net->layers[s].needs_backward)
                L->needs_backward = 1;
        }
        if (L->needs_backward && L->p.n_frozen > o->frozen_scratch)
            o->frozen_scratch = L->p.n_frozen;
        o->w[i] = n_train;
        o->f[i] = n_fixed;
        n_train += L->p.n_train;
        n_fixed += L->p.n_fixed;
        if (L->d->l2 > 0.0f && L->p.n_reg > 0)
            net->has_l2 = 1;
        if (L->p.n_train > 0 && !L->ops->fused_sgd)
            can_fuse = 0;
    }
    net->can_fuse_sgd = can_fuse;
    net->n_train = n_train;
    net->n_params = n_train + n_fixed;
    return 0;
}

/* Activations, one block: input batch, [input gradient], per layer y, dy, workspace; the
 * test-time flip's probabilities; labels. */
static int build_acts(nn_net *net, int input_grad, build_offs *o, fg_err *err)
{
    const int64_t B = net->max_batch;
    int64_t off = 0, x_off, dx_off = 0, tta_off;
    x_off = off, off += round_up(B * net->in_size);
    if (input_grad)
        dx_off = off, off += round_up(B * net->in_size);
    for (int i = 0; i < net->n_layers; i++) {
        nn_layer *L = &net->layers[i];
        o->y[i] = o->dy[i] = o->ws[i] = -1;
        if (!L->p.out_alias)
            o->y[i] = off, off += round_up(B * L->out_size);
        if (L->needs_backward)
            o->dy[i] = off, off += round_up(B * L->out_size);
        int64_t imgs = L->p.ws_max_images > 0 && L->p.ws_max_images < B ? L->p.ws_max_images
                                                                          : B;
        int64_t ws = L->p.ws_fixed + imgs * L->p.ws_per_image;
        if (ws > 0)
            o->ws[i] = off, off += round_up(ws);
    }
    tta_off = off, off += round_up(B * net->desc.n_classes);
    size_t bytes = (size_t)off * sizeof(float) + (size_t)(B + 63) / 64 * 64;
    net->acts = aligned_alloc(64, bytes);
    if (!net->acts)
        return fg_err_set(err, "out of memory (%.1f MiB of activations for batches of %d)",
                          (double)bytes / 1048576.0, net->max_batch);
    memset(net->acts, 0, bytes);
    float *base = net->acts;
    net->x = base + x_off;
    net->dx = input_grad ? base + dx_off : NULL;
    net->tta_p = base + tta_off;
    net->labels = (uint8_t *)(base + off);
    return 0;
}

/* Pass 2: each layer's views into the parameter, gradient and activation blocks. */
static void build_views(nn_net *net, const build_offs *o)
{
    float *base = net->acts;
    int64_t n_train = net->n_train;
    for (int i = 0; i < net->n_layers; i++) {
        nn_layer *L = &net->layers[i];
        L->w = net->params + o->w[i];
        L->dw = net->grads + o->w[i];
        L->fixed = net->params + n_train + o->f[i];
        if (L->p.n_frozen > 0) { /* frozen: kernel, bias ... lead its fixed values */
            L->w = L->fixed;
            L->fixed += L->p.n_frozen;
            L->dw = net->grads + n_train;
        }
        for (int j = 0; j < L->n_in; j++) {
            int s = L->in_idx[j];
            float *src = s == NN_INPUT ? net->x : net->layers[s].y;
            L->x[j] = src;
            if (j == 0 && L->p.out_alias)
                L->y = src;
            if (s == NN_INPUT)
                L->dx[j] = net->dx;
            else
                L->dx[j] = net->layers[s].needs_backward ? net->layers[s].dy : NULL;
        }
        if (o->y[i] >= 0)
            L->y = base + o->y[i];
        L->dy = o->dy[i] >= 0 ? base + o->dy[i] : NULL;
        L->ws = o->ws[i] >= 0 ? base + o->ws[i] : NULL;
    }
}

/* In backward order (last layer first, inputs in order) the first writer of a gradient
 * buffer overwrites it and later ones add; the last layer fuses the cross-entropy. */
static void build_grad_order(nn_net *net)
{
    char written[NN_MAX_LAYERS + 1] = {0}; /* [0] is the network input */
    for (int i = net->n_layers - 1; i >= 0; i--) {
        nn_layer *L = &net->layers[i];
        for (int j = 0; j < L->n_in; j++) {
            if (!L->dx[j])
                continue;
            int k = L->in_idx[j] + 1;
            L->dx_acc[j] = written[k];
            written[k] = 1;
        }
    }
    net->layers[net->n_layers - 1].fused_ce = 1;
}

/* 1 when layer i's output is read by layer j alone (and is not the network's output). */
static int sole_reader(const nn_net *net, int i, int j)
{
    if (i == net->n_layers - 1)
        return 0;
    for (int k = i + 1; k < net->n_layers; k++)
        for (int m = 0; m < net->layers[k].n_in; m++)
            if (net->layers[k].in_idx[m] == i && k != j)
                return 0;
    return 1;
}

/* Batch norm -> relu pairs (nn_layer.relu): the activation runs inside the batch norm. */
static void build_fusions(nn_net *net)
{
    for (int i = 0; i + 1 < net->n_layers; i++) {
        nn_layer *L = &net->layers[i], *A = &net->layers[i + 1];
        if (L->d->kind != NN_LAYER_BATCH_NORM || A->d->kind != NN_LAYER_ACTIVATION ||
            A->act != NN_ACT_RELU || A->n_in != 1 || A->in_idx[0] != i || A->fused_ce ||
            A->y == L->y || A->needs_backward != L->needs_backward ||
            !sole_reader(net, i, i + 1))
            continue;
        L->relu = A;
        A->fused_into_prev = 1;
        nn_layer *P = i + 2 < net->n_layers ? &net->layers[i + 2] : NULL;
        if (P && P->d->kind == NN_LAYER_MAX_POOL2D && P->n_in == 1 &&
            P->in_idx[0] == i + 1 && !P->dx_acc[0] && sole_reader(net, i + 1, i + 2))
            P->relu_mask = L->relu_masked = 1;
    }
}

/* Weights: layer by layer in order, kernel then bias, from one generator. */
static void build_init(nn_net *net, uint64_t seed)
{
    fg_rng rng;
    fg_rng_seed(&rng, seed);
    for (int i = 0; i < net->n_layers; i++) {
        nn_layer *L = &net->layers[i];
        if (L->ops->init && L->p.n_train + L->p.n_fixed > 0)
            L->ops->init(L, &rng);
    }
}

nn_net *nn_net_build(const nn_net_desc *d, int max_batch, uint64_t seed, unsigned flags,
                     fg_err *err)
{
    if (max_batch < 1 || max_batch > 1 << 20) {
        fg_err_set(err, "max_batch must be in 1..%d (got %d)", 1 << 20, max_batch);
        return NULL;
    }
    if (nn_desc_check(d, NULL, NULL, NULL, err))
        return NULL;
    nn_net *net = calloc(1, sizeof *net);
    if (!net) {
        fg_err_set(err, "out of memory (network)");
        return NULL;
    }
    build_offs offs, *o = &offs;
    net->desc = *d;
    net->max_batch = max_batch;
    net->n_layers = d->n_layers;
    net->in_size = (int64_t)d->in_h * d->in_w * d->in_c;
    const int input_grad = (flags & NN_BUILD_INPUT_GRAD) != 0;
    if (build_plan(net, input_grad, o, err))
        goto fail;
    /* Parameters and gradients: one block each. */
    int64_t n_grads = net->n_train + o->frozen_scratch;
    net->params = malloc((size_t)(net->n_params > 0 ? net->n_params : 1) * sizeof(float));
    net->grads = calloc((size_t)(n_grads > 0 ? n_grads : 1), sizeof(float));
    if (!net->params || !net->grads) {
        fg_err_set(err, "out of memory (%lld parameters)", (long long)net->n_params);
        goto fail;
    }
    if (build_acts(net, input_grad, o, err))
        goto fail;
    build_views(net, o);
    build_grad_order(net);
    if (!(flags & NN_BUILD_NO_FUSION))
        build_fusions(net);
    build_init(net, seed);
    return net;
fail:
    nn_net_free(net);
    return NULL;
}

nn_net *nn_net_new(const nn_net_desc *d, int max_batch, uint64_t seed, fg_err *err)
{
    return nn_net_build(d, max_batch, seed, 0, err);
}

void nn_net_free(nn_net *net)
{
    if (!net)
        return;
    free(net->params);
    free(net->grads);
    free(net->acts);
    free(net);
}

int64_t nn_net_n_params(const nn_net *net) { return net->n_params; }
float *nn_net_params(nn_net *net) { return net->params; }
const nn_net_desc *nn_net_desc_of(const nn_net *net) { return &net->desc; }
void nn_net_set_eval(nn_net *net, const nn_train_desc *t)
{
    net->label_smoothing = t->label_smoothing;
    net->tta_flip = t->tta_flip != 0;
}

void nn_net_gather(nn_net *net, const nn_data *data, const int32_t *idx, int batch)
{
    const float scale = 1.0f / 255.0f;
    const int64_t n = net->in_size;
    FG_ASSERT(batch >= 0 && batch <= net->max_batch); /* the input buffer holds max_batch */
    if (data->features) {
        for (int r = 0; r < batch; r++) {
            memcpy(net->x + (int64_t)r * n, data->features + (size_t)idx[r] * (size_t)n,
                   (size_t)n * sizeof *net->x);
            net->labels[r] = data->labels[idx[r]];
        }
        return;
    }
    for (int r = 0; r < batch; r++) {
        const uint8_t *src = data->images + (size_t)idx[r] * (size_t)n;
        float *dst = net->x + (int64_t)r * n;
        for (int64_t k = 0; k < n; k++)
            dst[k] = (float)src[k] * scale;
        net->labels[r] = data->labels[idx[r]];
    }
}

void nn_net_forward(nn_net *net, int batch, int training, fg_rng *rng)
{
    FG_ASSERT(batch >= 0 && batch <= net->max_batch);
    nn_step s = {batch, training, rng, 0, 0.0f, 0};
    for (int i = 0; i < net->n_layers; i++)
        net->layers[i].ops->forward(&net->layers[i], &s);
}

void nn_net_forward_refresh(nn_net *net, int batch, int k, fg_rng *rng)
{
    FG_ASSERT(batch >= 0 && batch <= net->max_batch);
    nn_step s = {batch, 1, rng, 0, 0.0f, k};
    for (int i = 0; i < net->n_layers; i++)
        net->layers[i].ops->forward(&net->layers[i], &s);
}

int nn_net_has_state(const nn_net *net) { return net->n_params > net->n_train; }

const float *nn_net_output(const nn_net *net) { return net->layers[net->n_layers - 1].y; }

/* One row's smoothed cross-entropy -sum_j y_j log(clip(p_j)), y = onehot (1 - ls) + ls / C;
 * when g is not NULL, g = (p - y) * inv. */
static double smoothed_row(const float *p, int lab, int C, float ls, float *g, float inv)
{
    const double lo = 1e-7, hi = 1.0 - 1e-7;
    const float off = ls / (float)C, on = (1.0f - ls) + off;
    double sum = 0.0;
    for (int j = 0; j < C; j++) {
        double pv = p[j];
        pv = pv < lo ? lo : pv > hi ? hi : pv;
        sum -= (double)(j == lab ? on : off) * log(pv);
    }
    if (g)
        for (int j = 0; j < C; j++)
            g[j] = (p[j] - (j == lab ? on : off)) * inv;
    return sum;
}

double nn_net_loss(nn_net *net, int batch, int grad, int *n_correct, uint8_t *pred)
{
    const nn_layer *last = &net->layers[net->n_layers - 1];
    const int C = net->desc.n_classes;
    const float *p = last->y;
    float *dy = grad ? last->dy : NULL;
    FG_ASSERT(batch >= 0 && batch <= net->max_batch);
    const float inv = 1.0f / (float)batch;
    const double lo = 1e-7, hi = 1.0 - 1e-7;
    double sum = 0.0;
    int correct = 0;
    for (int r = 0; r < batch; r++) {
        const float *row = p + (int64_t)r * C;
        int lab = net->labels[r], best = 0;
        FG_ASSERT_MSG(lab >= 0 && lab < C, "label %d of row %d, %d classes", lab, r, C);
        for (int j = 1; j < C; j++)
            if (row[j] > row[best])
                best = j;
        correct += best == lab;
        if (pred)
            pred[r] = (uint8_t)best;
        if (net->label_smoothing > 0.0f) {
            sum += smoothed_row(row, lab, C, net->label_smoothing,
                                dy ? dy + (int64_t)r * C : NULL, inv);
            continue;
        }
        double pv = row[lab];
        pv = pv < lo ? lo : pv > hi ? hi : pv;
        sum -= log(pv);
        if (dy) {
            float *g = dy + (int64_t)r * C;
            for (int j = 0; j < C; j++)
                g[j] = (row[j] - (j == lab ? 1.0f : 0.0f)) * inv;
        }
    }
    if (n_correct)
        *n_correct = correct;
    return sum;
}

static void backward(nn_net *net, const nn_step *s)
{
    FG_ASSERT(s->batch >= 0 && s->batch <= net->max_batch);
    nn_step plain = *s; /* frozen layers: input gradients only, never an SGD step */
    plain.sgd_fused = 0;
    for (int i = net->n_layers - 1; i >= 0; i--)
        if (net->layers[i].needs_backward)
            net->layers[i].ops->backward(&net->layers[i],
                                         net->layers[i].p.n_frozen > 0 ? &plain : s);
}

void nn_net_backward(nn_net *net, int batch)
{
    nn_step s = {batch, 1, NULL, 0, 0.0f, 0};
    backward(net, &s);
}

void nn_net_backward_sgd(nn_net *net, int batch, float lr)
{
    nn_step s = {batch, 1, NULL, 1, lr, 0};
    backward(net, &s);
}

double nn_net_l2(nn_net *net, int add_grad)
{
    if (!net->has_l2)
        return 0.0;
    double pen = 0.0;
    for (int i = 0; i < net->n_layers; i++) {
        nn_layer *L = &net->layers[i];
        float l2 = L->d->l2;
        if (!(l2 > 0.0f) || L->p.n_reg == 0)
            continue;
        const float *w = L->w;
        float *dw = L->dw;
        double s = 0.0;
        for (int64_t k = 0; k < L->p.n_reg; k++)
            s += (double)w[k] * w[k];
        pen += (double)l2 * s;
        if (add_grad && L->p.n_frozen == 0) { /* frozen: the penalty, no decay (Keras) */
            float c = 2.0f * l2;
            for (int64_t k = 0; k < L->p.n_reg; k++)
                dw[k] += c * w[k];
        }
    }
    return pen;
}
