/* nn_layer_pool.c - max_pooling2d, average_pooling2d and global_average_pooling2d,
 * channels_last (NHWC), with TensorFlow's semantics:
 *   - pooling strides default to the pool size (Keras's strides=None);
 *   - same padding splits pad_total = max((out - 1) * s + k - in, 0) as pad_total / 2 before
 *     and the rest after; padded cells never take part: max pooling ignores them (as -inf),
 *     average pooling divides by the number of real cells in each window (TF's avg_pool, not
 *     count_include_pad). Every window holds at least one real cell.
 * Max pooling keeps, for every output value, the index of its input value within the image
 * (int32, in the workspace) for backward; ties go to the first cell in row-major window
 * order. Backward: with windows that do not overlap (the usual strides = pool), each input
 * cell takes dy where its window's index names it and 0 elsewhere, cell by cell (no zeroing
 * pass, no scatter); overlapping windows scatter dy through the indices, adding. With
 * nn_layer.relu_mask, dy is first masked where the output is not > 0 (see nn_internal.h).
 *   forward   y (B, oh, ow, c);  backward  dx (B, ih, iw, c) (+)= ... */
#include <stdint.h>
#include <string.h>

#include "nn_internal.h"

typedef struct {
    int ih, iw, c, oh, ow;
    int kh, kw, sh, sw, ph, pw;
} pool_geom;

static int pad_before(int in, int out, int k, int s)
{
    int total = (out - 1) * s + k - in;
    return total > 0 ? total / 2 : 0;
}

static pool_geom pool_geom_of(const nn_layer *L)
{
    const nn_layer_desc *d = L->d;
    pool_geom g;
    g.ih = L->in[0].h, g.iw = L->in[0].w, g.c = L->in[0].c;
    g.oh = L->p.out.h, g.ow = L->p.out.w;
    g.kh = d->pool[0], g.kw = d->pool[1];
    g.sh = d->strides[0] ? d->strides[0] : g.kh;
    g.sw = d->strides[1] ? d->strides[1] : g.kw;
    g.ph = pad_before(g.ih, g.oh, g.kh, g.sh);
    g.pw = pad_before(g.iw, g.ow, g.kw, g.sw);
    return g;
}

/* The real input rows [*lo, *hi) of output row o. */
static inline void window(int o, int s, int p, int k, int n, int *lo, int *hi)
{
    int start = o * s - p, end = start + k;
    *lo = start < 0 ? 0 : start;
    *hi = end > n ? n : end;
}

static int pool_plan(const nn_layer_desc *d, const nn_shape *in, int n_in, nn_plan *p,
                     fg_err *err)
{
    int o[2], st[2];
    if (nn_plan_need_image(in, err) ||
        nn_plan_window(in, d->pool, d->strides, 1, d->padding, "pool", o, st, err))
        return -1;
    p->out = (nn_shape){o[0], o[1], in->c, 0};
    p->flops = (int64_t)o[0] * o[1] * in->c * d->pool[0] * d->pool[1];
    return 0;
}

static int max_pool_plan(const nn_layer_desc *d, const nn_shape *in, int n_in, nn_plan *p,
                         fg_err *err)
{
    if (pool_plan(d, in, n_in, p, err))
        return -1;
    p->ws_per_image = nn_shape_size(p->out); /* argmax indices (int32) */
    return 0;
}

/* ---- max pooling ------------------------------------------------------------------------- */

/* Vector kernels over the c channels of one cell. Selects between int32 values are written
 * as bit masks (gt = 0 or -1), which GCC -O2 vectorizes; a ?: on them stays a branch. */
NN_KERNEL cell_first(float *restrict y, int32_t *restrict arg, const float *restrict x,
                     int32_t off, int c)
{
    NN_SPLIT_LOOP32(k, c, y[k] = x[k]; arg[k] = off + k);
}

/* The running maximum and its first cell in one pass: a later cell wins only when strictly
 * greater (a NaN never wins; a NaN first cell keeps the window). */
NN_KERNEL cell_maxarg(float *restrict y, int32_t *restrict arg, const float *restrict x,
                      int32_t off, int c)
{
    NN_SPLIT_LOOP32(k, c, float v = x[k]; float m = y[k]; int32_t gt = -(int32_t)(v > m);
                    arg[k] = ((off + k) & gt) | (arg[k] & ~gt); y[k] = v > m ? v : m);
}

/* A full 2x2 window (cells at off, off + c, off + row, off + row + c; x0 points at the
 * first, x1 at the third) in one pass: the comparisons of cell_first + cell_maxarg. */
NN_CLONES NN_KERNEL cell_max2x2(float *restrict y, int32_t *restrict arg, const float *restrict x0,
                      const float *restrict x1, int32_t off, int32_t row, int c)
{
    NN_SPLIT_LOOP32(k, c, float m = x0[k]; int32_t a = off + k; float v = x0[c + k];
                    int32_t gt = -(int32_t)(v > m); a = ((off + c + k) & gt) | (a & ~gt);
                    m = v > m ? v : m; v = x1[k]; gt = -(int32_t)(v > m);
                    a = ((off + row + k) & gt) | (a & ~gt); m = v > m ? v : m; v = x1[c + k];
                    gt = -(int32_t)(v > m); a = ((off + row + c + k) & gt) | (a & ~gt);
                    m = v > m ? v : m; y[k] = m; arg[k] = a);
}

/* Per output pixel, one vectorized pass per window cell in row-major order (strictly
 * greater wins, so ties go to the first cell); full 2x2 windows in a single pass. */
static void max_pool_forward(nn_layer *L, const nn_step *s)
{
    const pool_geom g = pool_geom_of(L);
    const int c = g.c;
    const int64_t isz = L->in_size[0], osz = L->out_size;
    const int32_t row = (int32_t)((int64_t)g.iw * c);
    for (int n = 0; n < s->batch; n++) {
        const float *xi = L->x[0] + n * isz;
        float *y = L->y + n * osz;
        int32_t *arg = (int32_t *)(void *)L->ws + n * osz;
        for (int oy = 0; oy < g.oh; oy++) {
            int y0, y1;
            window(oy, g.sh, g.ph, g.kh, g.ih, &y0, &y1);
            for (int ox = 0; ox < g.ow; ox++, y += c, arg += c) {
                int x0, x1;
                window(ox, g.sw, g.pw, g.kw, g.iw, &x0, &x1);
                const int32_t first = (int32_t)(((int64_t)y0 * g.iw + x0) * c);
                if (y1 - y0 == 2 && x1 - x0 == 2) {
                    cell_max2x2(y, arg, xi + first, xi + first + row, first, row, c);
                    continue;
                }
                cell_first(y, arg, xi + first, first, c);
                for (int iy = y0; iy < y1; iy++)
                    for (int ix = iy == y0 ? x0 + 1 : x0; ix < x1; ix++) {
                        const int32_t off = (int32_t)(((int64_t)iy * g.iw + ix) * c);
                        cell_maxarg(y, arg, xi + off, off, c);
                    }
            }
        }
    }
}

/* dx (c) (+)= dy where arg picks this cell (arg[k] == off + k), else (+) 0: dy's bits
 * under a mask, so that a 0 is +0 and the loop vectorizes. */
static inline float pick(float v, int32_t a, int32_t o)
{
    uint32_t b;
    memcpy(&b, &v, sizeof b);
    b &= -(uint32_t)(a == o);
    memcpy(&v, &b, sizeof v);
    return v;
}

NN_CLONES NN_KERNEL cell_grad_set(float *restrict dx, const float *restrict dy, const int32_t *restrict arg,
                        int32_t off, int c)
{
    NN_SPLIT_LOOP32(k, c, dx[k] = pick(dy[k], arg[k], off + k));
}

NN_CLONES NN_KERNEL cell_grad_add(float *restrict dx, const float *restrict dy, const int32_t *restrict arg,
                        int32_t off, int c)
{
    NN_SPLIT_LOOP32(k, c, dx[k] += pick(dy[k], arg[k], off + k));
}

/* Windows that do not overlap (strides >= pool): every input cell gets the gradient of the
 * one window holding it, written cell by cell without a scatter (and without zeroing the
 * cells of windows first). Cells outside every window are zeroed (or left, when adding). */
static void max_pool_backward_tiled(nn_layer *L, const nn_step *s, const pool_geom *g)
{
    const int c = g->c, acc = L->dx_acc[0];
    const int64_t isz = L->in_size[0], osz = L->out_size;
    const int covers = g->oh * g->sh == g->ih && g->ow * g->sw == g->iw && g->kh == g->sh &&
                       g->kw == g->sw && g->ph == 0 && g->pw == 0;
    for (int n = 0; n < s->batch; n++) {
        float *dxi = L->dx[0] + n * isz;
        const float *dy = L->dy + n * osz;
        const int32_t *arg = (const int32_t *)(const void *)L->ws + n * osz;
        const int add = acc || !covers;
        if (!acc && !covers)
            memset(dxi, 0, (size_t)isz * sizeof *dxi);
        for (int oy = 0; oy < g->oh; oy++) {
            int y0, y1;
            window(oy, g->sh, g->ph, g->kh, g->ih, &y0, &y1);
            for (int ox = 0; ox < g->ow; ox++, dy += c, arg += c) {
                int x0, x1;
                window(ox, g->sw, g->pw, g->kw, g->iw, &x0, &x1);
                for (int iy = y0; iy < y1; iy++)
                    for (int ix = x0; ix < x1; ix++) {
                        const int32_t off = (int32_t)(((int64_t)iy * g->iw + ix) * c);
                        if (add)
                            cell_grad_add(dxi + off, dy, arg, off, c);
                        else
                            cell_grad_set(dxi + off, dy, arg, off, c);
                    }
            }
        }
    }
}

/* dy (n) = dy where y > 0, else +0 (dy's bits under a mask, as pick) */
NN_CLONES NN_KERNEL mask_pos(float *restrict dy, const float *restrict y, int64_t n)
{
    NN_SPLIT_LOOP(i, n, uint32_t b; memcpy(&b, &dy[i], sizeof b);
                  b &= -(uint32_t)(y[i] > 0.0f); memcpy(&dy[i], &b, sizeof b));
}

static void max_pool_backward(nn_layer *L, const nn_step *s)
{
    float *dx = L->dx[0];
    if (!dx)
        return;
    /* a relu input (nn_layer.relu_mask): the picked cell's relu output is this output */
    if (L->relu_mask)
        mask_pos(L->dy, L->y, (int64_t)s->batch * L->out_size);
    const pool_geom g = pool_geom_of(L);
    if (g.sh >= g.kh && g.sw >= g.kw) {
        max_pool_backward_tiled(L, s, &g);
        return;
    }
    const int64_t isz = L->in_size[0], osz = L->out_size;
    const int32_t *arg = (const int32_t *)(const void *)L->ws;
    if (!L->dx_acc[0])
        memset(dx, 0, (size_t)(s->batch * isz) * sizeof *dx);
    for (int n = 0; n < s->batch; n++) {
        float *dxi = dx + n * isz;
        const float *dy = L->dy + n * osz;
        const int32_t *a = arg + n * osz;
        for (int64_t k = 0; k < osz; k++)
            dxi[a[k]] += dy[k];
    }
}

/* ---- average pooling --------------------------------------------------------------------- */

static void avg_pool_forward(nn_layer *L, const nn_step *s)
{
    const pool_geom g = pool_geom_of(L);
    const int c = g.c;
    const int64_t isz = L->in_size[0];
    float *y = L->y;
    for (int n = 0; n < s->batch; n++) {
        const float *xi = L->x[0] + n * isz;
        for (int oy = 0; oy < g.oh; oy++) {
            int y0, y1;
            window(oy, g.sh, g.ph, g.kh, g.ih, &y0, &y1);
            for (int ox = 0; ox < g.ow; ox++, y += c) {
                int x0, x1;
                window(ox, g.sw, g.pw, g.kw, g.iw, &x0, &x1);
                for (int k = 0; k < c; k++)
                    y[k] = 0.0f;
                for (int iy = y0; iy < y1; iy++)
                    for (int ix = x0; ix < x1; ix++) {
                        const float *xr = xi + ((int64_t)iy * g.iw + ix) * c;
                        for (int k = 0; k < c; k++)
                            y[k] += xr[k];
                    }
                float inv = 1.0f / (float)((y1 - y0) * (x1 - x0));
                for (int k = 0; k < c; k++)
                    y[k] *= inv;
            }
        }
    }
}

static void avg_pool_backward(nn_layer *L, const nn_step *s)
{
    float *dx = L->dx[0];
    if (!dx)
        return;
    const pool_geom g = pool_geom_of(L);
    const int c = g.c;
    const int64_t isz = L->in_size[0];
    if (!L->dx_acc[0])
        memset(dx, 0, (size_t)(s->batch * isz) * sizeof *dx);
    const float *dy = L->dy;
    for (int n = 0; n < s->batch; n++) {
        float *dxi = dx + n * isz;
        for (int oy = 0; oy < g.oh; oy++) {
            int y0, y1;
            window(oy, g.sh, g.ph, g.kh, g.ih, &y0, &y1);
            for (int ox = 0; ox < g.ow; ox++, dy += c) {
                int x0, x1;
                window(ox, g.sw, g.pw, g.kw, g.iw, &x0, &x1);
                float inv = 1.0f / (float)((y1 - y0) * (x1 - x0));
                for (int iy = y0; iy < y1; iy++)
                    for (int ix = x0; ix < x1; ix++) {
                        float *dr = dxi + ((int64_t)iy * g.iw + ix) * c;
                        for (int k = 0; k < c; k++)
                            dr[k] += dy[k] * inv;
                    }
            }
        }
    }
}

/* ---- global average pooling: (B, h, w, c) -> (B, c) --------------------------------------- */

static int global_avg_pool_plan(const nn_layer_desc *d, const nn_shape *in, int n_in,
                                nn_plan *p, fg_err *err)
{
    if (nn_plan_need_image(in, err))
        return -1;
    p->out = (nn_shape){1, 1, in->c, 1};
    p->flops = nn_shape_size(*in);
    return 0;
}

static void global_avg_pool_forward(nn_layer *L, const nn_step *s)
{
    const int c = L->in[0].c;
    const int64_t P = (int64_t)L->in[0].h * L->in[0].w, isz = L->in_size[0];
    const float inv = 1.0f / (float)P;
    for (int n = 0; n < s->batch; n++) {
        const float *xi = L->x[0] + n * isz;
        float *y = L->y + (int64_t)n * c;
        for (int k = 0; k < c; k++)
            y[k] = 0.0f;
        for (int64_t q = 0; q < P; q++)
            for (int k = 0; k < c; k++)
                y[k] += xi[q * c + k];
        for (int k = 0; k < c; k++)
            y[k] *= inv;
    }
}

static void global_avg_pool_backward(nn_layer *L, const nn_step *s)
{
    float *dx = L->dx[0];
    if (!dx)
        return;
    const int c = L->in[0].c, acc = L->dx_acc[0];
    const int64_t P = (int64_t)L->in[0].h * L->in[0].w, isz = L->in_size[0];
    const float inv = 1.0f / (float)P;
    for (int n = 0; n < s->batch; n++) {
        float *dxi = dx + n * isz;
        const float *dy = L->dy + (int64_t)n * c;
        for (int64_t q = 0; q < P; q++)
            for (int k = 0; k < c; k++)
                dxi[q * c + k] = (acc ? dxi[q * c + k] : 0.0f) + dy[k] * inv;
    }
}

const nn_layer_ops nn_max_pool_ops = {max_pool_plan, NULL, max_pool_forward, max_pool_backward,
                                      0};
const nn_layer_ops nn_avg_pool_ops = {pool_plan, NULL, avg_pool_forward, avg_pool_backward, 0};
const nn_layer_ops nn_global_avg_pool_ops = {global_avg_pool_plan, NULL,
                                             global_avg_pool_forward,
                                             global_avg_pool_backward, 0};
