/* nn_layer_conv.c - the convolution family: conv2d, depthwise_conv2d, separable_conv2d and
 * conv2d_transpose. Shape inference and Keras's parameter counts only for now: forward is
 * NULL, so nn_net_new reports "not implemented yet". Parameter layouts (Keras's):
 *   conv2d            kernel (kh, kw, cin, f), bias (f)
 *   depthwise_conv2d  kernel (kh, kw, cin, dm), bias (cin*dm)
 *   separable_conv2d  depthwise (kh, kw, cin, dm), pointwise (1, 1, cin*dm, f), bias (f)
 *   conv2d_transpose  kernel (kh, kw, f, cin), bias (f)
 * The workspace sizes are those of an im2col buffer per image. */
#include "nn_internal.h"

static int check_filters(const nn_layer_desc *d, fg_err *err)
{
    if (d->filters < 1)
        return fg_err_set(err, "filters must be >= 1 (got %d)", d->filters);
    return 0;
}

static int check_dm(const nn_layer_desc *d, fg_err *err)
{
    if (d->depth_multiplier < 1)
        return fg_err_set(err, "depth_multiplier must be >= 1 (got %d)", d->depth_multiplier);
    return 0;
}

static int check_inits(const nn_layer_desc *d, int kernel, int depthwise, fg_err *err)
{
    if (kernel && nn_init_check(d->kernel_init, "kernel_initializer", err))
        return -1;
    if (depthwise && nn_init_check(d->depthwise_init, "depthwise_initializer", err))
        return -1;
    if (d->use_bias && nn_init_check(d->bias_init, "bias_initializer", err))
        return -1;
    return 0;
}

static int conv2d_plan(const nn_layer_desc *d, const nn_shape *in, int n_in, nn_plan *p,
                       fg_err *err)
{
    int o[2], st[2];
    if (nn_plan_need_image(in, err) || check_filters(d, err) ||
        nn_plan_window(in, d->kernel, d->strides, 0, d->padding, "kernel", o, st, err) ||
        check_inits(d, 1, 0, err))
        return -1;
    int64_t k = (int64_t)d->kernel[0] * d->kernel[1] * in->c;
    p->out = (nn_shape){o[0], o[1], d->filters, 0};
    p->n_reg = k * d->filters;
    p->n_train = p->n_reg + (d->use_bias ? d->filters : 0);
    p->flops = 2 * (int64_t)o[0] * o[1] * k * d->filters;
    p->ws_per_image = (int64_t)o[0] * o[1] * k;
    return 0;
}

static int depthwise_plan(const nn_layer_desc *d, const nn_shape *in, int n_in, nn_plan *p,
                          fg_err *err)
{
    int o[2], st[2];
    if (nn_plan_need_image(in, err) || check_dm(d, err) ||
        nn_plan_window(in, d->kernel, d->strides, 0, d->padding, "kernel", o, st, err) ||
        check_inits(d, 0, 1, err))
        return -1;
    int64_t kk = (int64_t)d->kernel[0] * d->kernel[1], cm = (int64_t)in->c * d->depth_multiplier;
    p->out = (nn_shape){o[0], o[1], (int)cm, 0};
    p->n_reg = kk * cm;
    p->n_train = p->n_reg + (d->use_bias ? cm : 0);
    p->flops = 2 * (int64_t)o[0] * o[1] * kk * cm;
    p->ws_per_image = (int64_t)o[0] * o[1] * kk * in->c;
    return 0;
}

static int separable_plan(const nn_layer_desc *d, const nn_shape *in, int n_in, nn_plan *p,
                          fg_err *err)
{
    int o[2], st[2];
    if (nn_plan_need_image(in, err) || check_filters(d, err) || check_dm(d, err) ||
        nn_plan_window(in, d->kernel, d->strides, 0, d->padding, "kernel", o, st, err) ||
        check_inits(d, 1, 1, err))
        return -1;
    int64_t kk = (int64_t)d->kernel[0] * d->kernel[1], cm = (int64_t)in->c * d->depth_multiplier;
    int64_t pix = (int64_t)o[0] * o[1];
    p->out = (nn_shape){o[0], o[1], d->filters, 0};
    /* L2 (kernel_regularizer) covers the depthwise and the pointwise kernels. */
    p->n_reg = kk * cm + cm * d->filters;
    p->n_train = p->n_reg + (d->use_bias ? d->filters : 0);
    p->flops = 2 * pix * kk * cm + 2 * pix * cm * d->filters;
    p->ws_per_image = pix * kk * in->c + pix * cm;
    return 0;
}

static int transpose_out(int n, int k, int s, nn_padding pad)
{
    return pad == NN_PAD_SAME ? n * s : n * s + (k > s ? k - s : 0);
}

static int conv2d_transpose_plan(const nn_layer_desc *d, const nn_shape *in, int n_in,
                                 nn_plan *p, fg_err *err)
{
    if (nn_plan_need_image(in, err) || check_filters(d, err) || check_inits(d, 1, 0, err))
        return -1;
    if (d->kernel[0] < 1 || d->kernel[1] < 1)
        return fg_err_set(err, "kernel must be at least 1x1 (got %dx%d)", d->kernel[0],
                          d->kernel[1]);
    if (d->strides[0] < 0 || d->strides[1] < 0)
        return fg_err_set(err, "strides must be >= 1 (got %dx%d)", d->strides[0],
                          d->strides[1]);
    if (d->padding != NN_PAD_VALID && d->padding != NN_PAD_SAME)
        return fg_err_set(err, "unknown padding %d", (int)d->padding);
    int sh = d->strides[0] ? d->strides[0] : 1, sw = d->strides[1] ? d->strides[1] : 1;
    int64_t oh = transpose_out(in->h, d->kernel[0], sh, d->padding);
    int64_t ow = transpose_out(in->w, d->kernel[1], sw, d->padding);
    if (oh > 1 << 20 || ow > 1 << 20)
        return fg_err_set(err, "output %lldx%lld is too large", (long long)oh, (long long)ow);
    int64_t k = (int64_t)d->kernel[0] * d->kernel[1] * d->filters;
    p->out = (nn_shape){(int)oh, (int)ow, d->filters, 0};
    p->n_reg = k * in->c;
    p->n_train = p->n_reg + (d->use_bias ? d->filters : 0);
    p->flops = 2 * (int64_t)in->h * in->w * k * in->c;
    p->ws_per_image = (int64_t)in->h * in->w * k;
    return 0;
}

const nn_layer_ops nn_conv2d_ops = {conv2d_plan, NULL, NULL, NULL, 0};
const nn_layer_ops nn_depthwise_ops = {depthwise_plan, NULL, NULL, NULL, 0};
const nn_layer_ops nn_separable_ops = {separable_plan, NULL, NULL, NULL, 0};
const nn_layer_ops nn_conv2d_transpose_ops = {conv2d_transpose_plan, NULL, NULL, NULL, 0};
