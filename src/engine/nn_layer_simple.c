/* nn_layer_simple.c - layers without parameters: dropout, flatten, activation and add.
 * All tensors are (B, size) rows; dx is overwritten or added to as dx_acc says. */
#include <string.h>

#include "nn_internal.h"

/* dx (n) = (acc ? dx : 0) + dy */
static void grad_pass(float *dx, const float *dy, int64_t n, int acc)
{
    if (acc)
        for (int64_t i = 0; i < n; i++)
            dx[i] += dy[i];
    else
        memcpy(dx, dy, (size_t)n * sizeof *dx);
}

/* ---- dropout: inverted; keeps a value with probability 1 - rate and scales it by
 * 1 / (1 - rate) while training; identity at evaluation. The mask (0 or the scale per value)
 * is kept in the workspace for backward. ---------------------------------------------------- */

static int dropout_plan(const nn_layer_desc *d, const nn_shape *in, int n_in, nn_plan *p,
                        fg_err *err)
{
    if (!(d->rate >= 0.0f && d->rate < 1.0f))
        return fg_err_set(err, "rate must be in [0, 1) (got %g)", (double)d->rate);
    p->out = in[0];
    p->ws_per_image = nn_shape_size(in[0]);
    return 0;
}

/* m[i] = (bits of m[i] as a uint32) >= thr ? scale : 0; y[i] = x[i] * m[i]. The mask
 * buffer first holds the random integers, then (in place, element by element) the mask. */
NN_KERNEL dropout_apply(float *restrict m, float *restrict y, const float *restrict x,
                        uint32_t thr, float scale, int64_t n)
{
    NN_SPLIT_LOOP(i, n, uint32_t u; memcpy(&u, &m[i], sizeof u); float k = u >= thr ? scale
                                                                                    : 0.0f;
                  m[i] = k; y[i] = x[i] * k);
}

NN_KERNEL mask_mul(float *restrict dx, const float *restrict dy, const float *restrict m,
                   int64_t n)
{
    NN_SPLIT_LOOP(i, n, dx[i] = dy[i] * m[i]);
}

NN_KERNEL mask_mul_add(float *restrict dx, const float *restrict dy, const float *restrict m,
                       int64_t n)
{
    NN_SPLIT_LOOP(i, n, dx[i] += dy[i] * m[i]);
}

static void dropout_forward(nn_layer *L, const nn_step *s)
{
    int64_t n = (int64_t)s->batch * L->out_size;
    float rate = L->d->rate;
    if (!s->training || rate == 0.0f) {
        memcpy(L->y, L->x[0], (size_t)n * sizeof *L->y);
        return;
    }
    /* Keep iff a 32-bit uniform integer u >= rate * 2^32: probability 1 - rate. The integers
     * are the low and high halves of successive 64-bit draws. */
    double t = (double)rate * 4294967296.0;
    uint32_t thr = t >= 4294967295.0 ? 4294967295u : (uint32_t)t;
    _Static_assert(sizeof(float) == sizeof(uint32_t), "the mask holds the integers first");
    fg_rng_fill_u32(s->rng, (uint32_t *)(void *)L->ws, (size_t)n);
    dropout_apply(L->ws, L->y, L->x[0], thr, 1.0f / (1.0f - rate), n);
}

static void dropout_backward(nn_layer *L, const nn_step *s)
{
    int64_t n = (int64_t)s->batch * L->out_size;
    float *dx = L->dx[0];
    if (!dx)
        return;
    if (L->d->rate == 0.0f) {
        grad_pass(dx, L->dy, n, L->dx_acc[0]);
        return;
    }
    if (L->dx_acc[0])
        mask_mul_add(dx, L->dy, L->ws, n);
    else
        mask_mul(dx, L->dy, L->ws, n);
}

const nn_layer_ops nn_dropout_ops = {dropout_plan, NULL, dropout_forward, dropout_backward,
                                     0};

/* ---- flatten: (h, w, c) -> (h*w*c); NHWC rows are already flat, so the output is the
 * input's buffer and forward does nothing. ----------------------------------------------- */

static int flatten_plan(const nn_layer_desc *d, const nn_shape *in, int n_in, nn_plan *p,
                        fg_err *err)
{
    p->out = (nn_shape){1, 1, (int)nn_shape_size(in[0]), 1};
    p->out_alias = 1;
    return 0;
}

static void flatten_forward(nn_layer *L, const nn_step *s) { (void)L, (void)s; }

static void flatten_backward(nn_layer *L, const nn_step *s)
{
    if (L->dx[0])
        grad_pass(L->dx[0], L->dy, (int64_t)s->batch * L->out_size, L->dx_acc[0]);
}

const nn_layer_ops nn_flatten_ops = {flatten_plan, NULL, flatten_forward, flatten_backward,
                                     0};

/* ---- activation: y = f(x); softmax runs over the last axis (c), as in Keras. ------------ */

static int activation_plan(const nn_layer_desc *d, const nn_shape *in, int n_in, nn_plan *p,
                           fg_err *err)
{
    p->out = in[0];
    p->flops = nn_shape_size(in[0]);
    return 0;
}

/* y = max(x, 0) in one pass (the same values as copying, then ReLU in place) */
NN_CLONES NN_KERNEL relu_copy(float *restrict y, const float *restrict x, int64_t n)
{
    NN_SPLIT_LOOP(i, n, y[i] = x[i] > 0.0f ? x[i] : 0.0f);
}

static void activation_forward(nn_layer *L, const nn_step *s)
{
    if (L->fused_into_prev) /* the batch norm before it wrote y */
        return;
    int c = L->p.out.c;
    int64_t rows = (int64_t)s->batch * L->p.out.h * L->p.out.w;
    if (L->act == NN_ACT_RELU && L->y != L->x[0]) {
        relu_copy(L->y, L->x[0], rows * c);
        return;
    }
    memcpy(L->y, L->x[0], (size_t)(rows * c) * sizeof *L->y);
    nn_act_forward(L->act, L->alpha, L->y, NULL, rows, c);
}

static void activation_backward(nn_layer *L, const nn_step *s)
{
    int c = L->p.out.c;
    int64_t rows = (int64_t)s->batch * L->p.out.h * L->p.out.w;
    if (!L->dx[0] || L->fused_into_prev) /* the batch norm before it reads dy */
        return;
    if (L->fused_ce)
        grad_pass(L->dx[0], L->dy, rows * c, L->dx_acc[0]);
    else
        nn_act_backward(L->act, L->alpha, L->y, L->dy, L->dx[0], rows, c, L->dx_acc[0]);
}

const nn_layer_ops nn_activation_ops = {activation_plan, NULL, activation_forward,
                                        activation_backward, 0};

/* ---- add: y = x0 + x1 (same shapes); both input gradients get dy. ---------------------- */

static int add_plan(const nn_layer_desc *d, const nn_shape *in, int n_in, nn_plan *p,
                    fg_err *err)
{
    if (in[0].h != in[1].h || in[0].w != in[1].w || in[0].c != in[1].c)
        return fg_err_set(err, "inputs have different shapes (%dx%dx%d and %dx%dx%d)", in[0].h,
                          in[0].w, in[0].c, in[1].h, in[1].w, in[1].c);
    p->out = in[0];
    p->out.flat = in[0].flat && in[1].flat;
    p->flops = nn_shape_size(in[0]);
    return 0;
}

static void add_forward(nn_layer *L, const nn_step *s)
{
    int64_t n = (int64_t)s->batch * L->out_size;
    const float *a = L->x[0], *b = L->x[1];
    float *y = L->y;
    for (int64_t i = 0; i < n; i++)
        y[i] = a[i] + b[i];
}

static void add_backward(nn_layer *L, const nn_step *s)
{
    int64_t n = (int64_t)s->batch * L->out_size;
    for (int j = 0; j < 2; j++)
        if (L->dx[j])
            grad_pass(L->dx[j], L->dy, n, L->dx_acc[j]);
}

const nn_layer_ops nn_add_ops = {add_plan, NULL, add_forward, add_backward, 0};
