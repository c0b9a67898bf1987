/* nn_layer_pre.c - input preprocessing layers without parameters, with Keras's semantics:
 *   resizing           Keras Resizing(height, width, interpolation) = tf.image.resize
 *                      (TF 2.x: half-pixel centres, no corner alignment, no antialias):
 *                      bilinear: source coordinate in = (o + 0.5) * (n_in / n_out) - 0.5,
 *                        lower = max(floor(in), 0), upper = min(ceil(in), n_in - 1),
 *                        lerp = in - floor(in); top = tl + (tr - tl) * lx,
 *                        bottom = bl + (br - bl) * lx, y = top + (bottom - top) * ly
 *                        (TensorFlow's resize_bilinear_op.cc, in this order);
 *                      nearest: in = min(floor((o + 0.5) * (n_in / n_out)), n_in - 1).
 *   grayscale_to_rgb   (h, w, 1) -> (h, w, 3), the channel repeated (tf.image.grayscale_to_rgb)
 *   rescaling          Keras Rescaling(scale, offset): y = x * scale + offset
 *   vgg16_preprocess   keras.applications.vgg16.preprocess_input (mode "caffe") on RGB input
 *                      in 0..255: channels reversed to BGR, then the ImageNet means
 *                      [103.939, 116.779, 123.68] (B, G, R) subtracted.
 * The engine's input is the image scaled to 0..1 (nn_net_gather), so a Keras pipeline that
 * feeds 0..255 pixels to preprocess_input is rescaling(scale: 255) then vgg16_preprocess.
 * Backward: the adjoint of each map (resizing scatters dy with the same weights). */
#include <math.h>
#include <string.h>

#include "nn_internal.h"

/* ---- resizing --------------------------------------------------------------------------- */

static int resizing_plan(const nn_layer_desc *d, const nn_shape *in, int n_in, nn_plan *p,
                         fg_err *err)
{
    if (nn_plan_need_image(in, err))
        return -1;
    if (d->size[0] < 1 || d->size[1] < 1)
        return fg_err_set(err, "height and width must be >= 1 (got %dx%d)", d->size[0],
                          d->size[1]);
    if ((int)d->interpolation < 0 || d->interpolation >= NN_INTERP__COUNT)
        return fg_err_set(err, "unknown interpolation %d", (int)d->interpolation);
    p->out = (nn_shape){d->size[0], d->size[1], in->c, 0};
    p->flops = 8 * nn_shape_size(p->out);
    return 0;
}

/* Source rows of output row o: lower and upper index and the weight of upper. */
typedef struct {
    int lo, hi;
    float lerp;
} interp_pt;

static interp_pt interp_at(nn_interp mode, int o, int n_in, int n_out)
{
    const float scale = (float)n_in / (float)n_out;
    interp_pt r;
    if (mode == NN_INTERP_NEAREST) {
        int i = (int)floorf(((float)o + 0.5f) * scale);
        r.lo = r.hi = i < n_in - 1 ? (i > 0 ? i : 0) : n_in - 1;
        r.lerp = 0.0f;
        return r;
    }
    float in = ((float)o + 0.5f) * scale - 0.5f, f = floorf(in);
    r.lo = (int)f > 0 ? (int)f : 0;
    r.hi = (int)ceilf(in) < n_in - 1 ? (int)ceilf(in) : n_in - 1;
    r.lerp = in - f;
    return r;
}

static void resizing_forward(nn_layer *L, const nn_step *s)
{
    const int ih = L->in[0].h, iw = L->in[0].w, c = L->in[0].c;
    const int oh = L->p.out.h, ow = L->p.out.w;
    const nn_interp mode = L->d->interpolation;
    for (int b = 0; b < s->batch; b++) {
        const float *x = L->x[0] + (int64_t)b * L->in_size[0];
        float *y = L->y + (int64_t)b * L->out_size;
        for (int oy = 0; oy < oh; oy++) {
            interp_pt py = interp_at(mode, oy, ih, oh);
            const float *r0 = x + (int64_t)py.lo * iw * c, *r1 = x + (int64_t)py.hi * iw * c;
            for (int ox = 0; ox < ow; ox++) {
                interp_pt px = interp_at(mode, ox, iw, ow);
                float *o = y + ((int64_t)oy * ow + ox) * c;
                for (int k = 0; k < c; k++) {
                    float tl = r0[px.lo * c + k], tr = r0[px.hi * c + k];
                    float bl = r1[px.lo * c + k], br = r1[px.hi * c + k];
                    float top = tl + (tr - tl) * px.lerp, bottom = bl + (br - bl) * px.lerp;
                    o[k] = top + (bottom - top) * py.lerp;
                }
            }
        }
    }
}

static void resizing_backward(nn_layer *L, const nn_step *s)
{
    float *dx = L->dx[0];
    if (!dx)
        return;
    const int ih = L->in[0].h, iw = L->in[0].w, c = L->in[0].c;
    const int oh = L->p.out.h, ow = L->p.out.w;
    const nn_interp mode = L->d->interpolation;
    if (!L->dx_acc[0])
        memset(dx, 0, (size_t)((int64_t)s->batch * L->in_size[0]) * sizeof *dx);
    for (int b = 0; b < s->batch; b++) {
        float *g = dx + (int64_t)b * L->in_size[0];
        const float *dy = L->dy + (int64_t)b * L->out_size;
        for (int oy = 0; oy < oh; oy++) {
            interp_pt py = interp_at(mode, oy, ih, oh);
            float *r0 = g + (int64_t)py.lo * iw * c, *r1 = g + (int64_t)py.hi * iw * c;
            for (int ox = 0; ox < ow; ox++) {
                interp_pt px = interp_at(mode, ox, iw, ow);
                const float *d = dy + ((int64_t)oy * ow + ox) * c;
                for (int k = 0; k < c; k++) {
                    float top = d[k] * (1.0f - py.lerp), bottom = d[k] * py.lerp;
                    r0[px.lo * c + k] += top * (1.0f - px.lerp);
                    r0[px.hi * c + k] += top * px.lerp;
                    r1[px.lo * c + k] += bottom * (1.0f - px.lerp);
                    r1[px.hi * c + k] += bottom * px.lerp;
                }
            }
        }
    }
}

const nn_layer_ops nn_resizing_ops = {resizing_plan, NULL, resizing_forward, resizing_backward,
                                      0};

/* ---- grayscale_to_rgb ------------------------------------------------------------------- */

static int gray_plan(const nn_layer_desc *d, const nn_shape *in, int n_in, nn_plan *p,
                     fg_err *err)
{
    if (nn_plan_need_image(in, err))
        return -1;
    if (in->c != 1)
        return fg_err_set(err, "needs one input channel (got %d)", in->c);
    p->out = (nn_shape){in->h, in->w, 3, 0};
    p->flops = nn_shape_size(p->out);
    return 0;
}

static void gray_forward(nn_layer *L, const nn_step *s)
{
    const int64_t n = (int64_t)s->batch * L->in_size[0];
    const float *x = L->x[0];
    float *y = L->y;
    for (int64_t i = 0; i < n; i++)
        y[3 * i] = y[3 * i + 1] = y[3 * i + 2] = x[i];
}

static void gray_backward(nn_layer *L, const nn_step *s)
{
    float *dx = L->dx[0];
    if (!dx)
        return;
    const int64_t n = (int64_t)s->batch * L->in_size[0];
    const float *dy = L->dy;
    for (int64_t i = 0; i < n; i++) {
        float v = dy[3 * i] + dy[3 * i + 1] + dy[3 * i + 2];
        dx[i] = L->dx_acc[0] ? dx[i] + v : v;
    }
}

const nn_layer_ops nn_grayscale_to_rgb_ops = {gray_plan, NULL, gray_forward, gray_backward, 0};

/* ---- rescaling -------------------------------------------------------------------------- */

static int rescaling_plan(const nn_layer_desc *d, const nn_shape *in, int n_in, nn_plan *p,
                          fg_err *err)
{
    if (!isfinite(d->scale) || !isfinite(d->offset))
        return fg_err_set(err, "scale and offset must be finite (got %g, %g)", (double)d->scale,
                          (double)d->offset);
    p->out = in[0];
    p->flops = 2 * nn_shape_size(in[0]);
    return 0;
}

static void rescaling_forward(nn_layer *L, const nn_step *s)
{
    const int64_t n = (int64_t)s->batch * L->out_size;
    const float a = L->d->scale, b = L->d->offset;
    const float *x = L->x[0];
    float *y = L->y;
    for (int64_t i = 0; i < n; i++)
        y[i] = x[i] * a + b;
}

static void rescaling_backward(nn_layer *L, const nn_step *s)
{
    float *dx = L->dx[0];
    if (!dx)
        return;
    const int64_t n = (int64_t)s->batch * L->out_size;
    const float a = L->d->scale, *dy = L->dy;
    for (int64_t i = 0; i < n; i++)
        dx[i] = L->dx_acc[0] ? dx[i] + dy[i] * a : dy[i] * a;
}

const nn_layer_ops nn_rescaling_ops = {rescaling_plan, NULL, rescaling_forward,
                                       rescaling_backward, 0};

/* ---- vgg16_preprocess ------------------------------------------------------------------- */

static const float VGG_MEAN_BGR[3] = {103.939f, 116.779f, 123.68f};

static int vgg_plan(const nn_layer_desc *d, const nn_shape *in, int n_in, nn_plan *p,
                    fg_err *err)
{
    if (nn_plan_need_image(in, err))
        return -1;
    if (in->c != 3)
        return fg_err_set(err, "needs three (RGB) input channels (got %d; grayscale_to_rgb "
                               "repeats one into three)", in->c);
    p->out = in[0];
    p->flops = nn_shape_size(in[0]);
    return 0;
}

static void vgg_forward(nn_layer *L, const nn_step *s)
{
    const int64_t px = (int64_t)s->batch * L->out_size / 3;
    const float *x = L->x[0];
    float *y = L->y;
    for (int64_t i = 0; i < px; i++)
        for (int k = 0; k < 3; k++)
            y[3 * i + k] = x[3 * i + 2 - k] - VGG_MEAN_BGR[k];
}

static void vgg_backward(nn_layer *L, const nn_step *s)
{
    float *dx = L->dx[0];
    if (!dx)
        return;
    const int64_t px = (int64_t)s->batch * L->out_size / 3;
    const float *dy = L->dy;
    for (int64_t i = 0; i < px; i++)
        for (int k = 0; k < 3; k++) {
            float v = dy[3 * i + 2 - k];
            dx[3 * i + k] = L->dx_acc[0] ? dx[3 * i + k] + v : v;
        }
}

const nn_layer_ops nn_vgg16_preprocess_ops = {vgg_plan, NULL, vgg_forward, vgg_backward, 0};
