/* nn_layer_conv.c - the convolution family: conv2d, depthwise_conv2d, separable_conv2d and
 * conv2d_transpose, channels_last (NHWC) with Keras's semantics. Parameter layouts (Keras's):
 *   conv2d            kernel (kh, kw, cin, f), bias (f)
 *   depthwise_conv2d  kernel (kh, kw, cin, dm), bias (cin*dm); output channel c*dm + m
 *   separable_conv2d  depthwise (kh, kw, cin, dm), pointwise (1, 1, cin*dm, f), bias (f)
 *   conv2d_transpose  kernel (kh, kw, f, cin), bias (f)
 * Padding: valid, or TensorFlow's same: pad_total = max((out - 1) * s + k - in, 0), of which
 * pad_total / 2 goes before (top, left) and the rest after. The fused activation follows
 * the bias (for separable: after the pointwise step, which alone has a bias).
 *
 * How each kind runs (B images, P output pixels, K = kh*kw*cin, all GEMMs through nn_gemm):
 *   conv2d     forward   cols (B*P, K) = im2col(X); Y (B*P, f) = f(cols . W (K, f) + b)
 *              backward  dW (K, f) = cols^T . dZ;  dcols = dZ . W^T;  dX (+)= col2im(dcols)
 *              A 1x1 stride-1 kernel needs no im2col: cols is X itself. With few values
 *              per window (K <= SMALL_K) direct loops replace the forward and dW GEMMs.
 *   transpose  the adjoint of a conv2d from the output (O, f) to the input grid (in, cin)
 *              with W seen as (kh*kw*f, cin):
 *              forward   cols (B*in, kh*kw*f) = X . W^T;  Y = f(col2im(cols) + b)
 *              backward  cols = im2col(dZ);  dW = cols^T . X;  dX (+)= cols . W
 *   depthwise  a direct loop (no reduction over channels, so not GEMM-shaped): for every
 *              output pixel and kernel cell, a vector multiply-add over the cin*dm channels.
 *   separable  depthwise into a workspace M (B*P, cin*dm), then Y = f(M . Wp + b) (a GEMM);
 *              backward dWp = M^T . dZ, dM = dZ . Wp^T (over M), then depthwise backward.
 * im2col works on chunks of images so its buffer stays below COL_CAP floats (sized at build
 * time through nn_plan.ws_max_images); a frozen layer's forward GEMMs take one image each
 * (forward_chunk); with one chunk, backward reuses forward's columns
 * (chunks run in reverse in backward, so the last chunk's columns are still there).
 * With fused SGD, the parameter gradients go to dw (scratch) and the update is applied after
 * the input gradients, which need the old weights. */
#include <limits.h>
#include <string.h>

#include "nn_gemm.h"
#include "nn_internal.h"

/* Floats of im2col buffer per layer (256 KiB): images are processed in chunks that fit it.
 * tests/bench/cnn_bench.c found 16 Ki to 2 Mi floats within a few percent of each other for
 * convNN_1 and convNN_4 at batch size 500 (smaller slightly ahead: the chunk's columns and
 * outputs stay in L2 between the GEMM and the activation), and a small buffer keeps the
 * residual network's workspace small (whole batches would need 225 MB in one layer). */
#ifndef NN_CONV_COL_CAP
#define NN_CONV_COL_CAP ((int64_t)1 << 16)
#endif

/* ---- geometry ---------------------------------------------------------------------------- */

/* A sliding window over an image (ih, iw, ic) giving an (oh, ow) grid of positions. */
typedef struct {
    int ih, iw, ic;
    int oh, ow;
    int kh, kw, sh, sw;
    int ph, pw; /* padding before (top, left) */
} conv_geom;

/* TensorFlow's padding before: half of max((out - 1) * s + k - in, 0) (0 for valid). */
static int pad_before(int in, int out, int k, int s)
{
    int total = (out - 1) * s + k - in;
    return total > 0 ? total / 2 : 0;
}

static conv_geom geom_make(int ih, int iw, int ic, int oh, int ow, const int k[2],
                           const int strides[2])
{
    conv_geom g;
    g.ih = ih, g.iw = iw, g.ic = ic, g.oh = oh, g.ow = ow;
    g.kh = k[0], g.kw = k[1];
    g.sh = strides[0] ? strides[0] : 1;
    g.sw = strides[1] ? strides[1] : 1;
    g.ph = pad_before(ih, oh, g.kh, g.sh);
    g.pw = pad_before(iw, ow, g.kw, g.sw);
    return g;
}

/* The window of conv2d, depthwise and separable: the layer's input to its output. */
static conv_geom geom_of(const nn_layer *L, int channels)
{
    return geom_make(L->in[0].h, L->in[0].w, channels, L->p.out.h, L->p.out.w, L->d->kernel,
                     L->d->strides);
}

static int geom_is_pointwise(const conv_geom *g)
{
    return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1;
}

/* Valid kernel rows [*a0, *a1) for output row o (same for columns). */
static inline void kernel_range(int o, int s, int p, int k, int n, int *a0, int *a1)
{
    int start = o * s - p;
    *a0 = start < 0 ? -start : 0;
    *a1 = n - start < k ? n - start : k;
}

/* One window inside the image with short kernel rows (rl < 16 floats, e.g. 3x3 on one
 * channel): kh runs of rl values, row_len floats apart in x, copied without the zero
 * padding's bookkeeping (the general loops below cost more than the copy there). */
static inline void window_full(float *restrict dst, const float *restrict src, int kh, int rl,
                               int64_t row_len)
{
    if (rl == 3) {
        for (int a = 0; a < kh; a++, dst += 3, src += row_len)
            dst[0] = src[0], dst[1] = src[1], dst[2] = src[2];
        return;
    }
    for (int a = 0; a < kh; a++, dst += rl, src += row_len)
        for (int j = 0; j < rl; j++)
            dst[j] = src[j];
}

/* cols (n * oh * ow, kh * kw * ic) = the windows of n images x (ih, iw, ic); zeros where a
 * window reaches into the padding. Each kernel row of a window is one contiguous run of
 * kw * ic input values in NHWC. */
static void im2col(const conv_geom *g, const float *x, int n, float *cols)
{
    const int rl = g->kw * g->ic; /* floats per kernel row */
    const int64_t K = (int64_t)g->kh * rl, isz = (int64_t)g->ih * g->iw * g->ic;
    float *row = cols;
    for (int img = 0; img < n; img++) {
        const float *xi = x + img * isz;
        for (int oy = 0; oy < g->oh; oy++) {
            int y0 = oy * g->sh - g->ph, a0, a1;
            kernel_range(oy, g->sh, g->ph, g->kh, g->ih, &a0, &a1);
            const int rows_in = a0 == 0 && a1 == g->kh;
            for (int ox = 0; ox < g->ow; ox++, row += K) {
                int x0 = ox * g->sw - g->pw, b0, b1;
                kernel_range(ox, g->sw, g->pw, g->kw, g->iw, &b0, &b1);
                if (rl < 16 && rows_in && b0 == 0 && b1 == g->kw) {
                    window_full(row, xi + ((int64_t)y0 * g->iw + x0) * g->ic, g->kh, rl,
                                (int64_t)g->iw * g->ic);
                    continue;
                }
                for (int a = 0; a < g->kh; a++) {
                    float *dst = row + a * rl;
                    int y = y0 + a;
                    if (y < 0 || y >= g->ih) {
                        memset(dst, 0, (size_t)rl * sizeof *dst);
                        continue;
                    }
                    int lo = b0 * g->ic, hi = b1 * g->ic;
                    const float *src = xi + ((int64_t)y * g->iw + x0 + b0) * g->ic;
                    if (rl >= 16) { /* a library copy beats the scalar loop GCC -O2 emits */
                        if (lo > 0) /* no calls for the padding of inner windows */
                            memset(dst, 0, (size_t)lo * sizeof *dst);
                        memcpy(dst + lo, src, (size_t)(hi - lo) * sizeof *dst);
                        if (hi < rl)
                            memset(dst + hi, 0, (size_t)(rl - hi) * sizeof *dst);
                        continue;
                    }
                    for (int j = 0; j < lo; j++)
                        dst[j] = 0.0f;
                    for (int j = lo; j < hi; j++)
                        dst[j] = src[j - lo];
                    for (int j = hi; j < rl; j++)
                        dst[j] = 0.0f;
                }
            }
        }
    }
}

/* dst (n) += src (n): a kernel of its own, so that the loop vectorizes (each value still
 * gets its additions in col2im's order). */
NN_CLONES NN_KERNEL add_run(float *restrict dst, const float *restrict src, int n)
{
    NN_SPLIT_LOOP32(j, n, dst[j] += src[j]);
}

/* x (n images of (ih, iw, ic)) += the windows in cols, the adjoint of im2col. */
static void col2im(const conv_geom *g, const float *cols, int n, float *x)
{
    const int rl = g->kw * g->ic;
    const int64_t K = (int64_t)g->kh * rl, isz = (int64_t)g->ih * g->iw * g->ic;
    const float *row = cols;
    for (int img = 0; img < n; img++) {
        float *xi = x + img * isz;
        for (int oy = 0; oy < g->oh; oy++) {
            int y0 = oy * g->sh - g->ph, a0, a1;
            kernel_range(oy, g->sh, g->ph, g->kh, g->ih, &a0, &a1);
            for (int ox = 0; ox < g->ow; ox++, row += K) {
                int x0 = ox * g->sw - g->pw, b0, b1;
                kernel_range(ox, g->sw, g->pw, g->kw, g->iw, &b0, &b1);
                int lo = b0 * g->ic, n_j = (b1 - b0) * g->ic;
                for (int a = a0; a < a1; a++) {
                    const float *src = row + a * rl + lo;
                    float *dst = xi + ((int64_t)(y0 + a) * g->iw + x0 + b0) * g->ic;
                    add_run(dst, src, n_j);
                }
            }
        }
    }
}

/* Images per chunk: the workspace holds ws_max_images (or all), and GEMM sizes are int. */
static int chunk_images(const nn_layer *L, int batch, int64_t rows_per_image)
{
    int64_t c = batch;
    if (L->p.ws_max_images > 0 && L->p.ws_max_images < c)
        c = L->p.ws_max_images;
    int64_t lim = (int64_t)INT_MAX / (rows_per_image > 0 ? rows_per_image : 1);
    if (c > lim)
        c = lim;
    return c < 1 ? 1 : (int)c;
}

/* Images per forward GEMM: a frozen layer's one at a time, so that each image's outputs do
 * not depend on the batch it is in (BLAS kernels may sum a row differently by where it falls
 * in the matrix: OpenBLAS's Haswell/Zen sgemm does), as a frozen base computed once per
 * search (nn_base_forward) assumes; other layers chunk_images. conv2d's backward chunks
 * the same way (it reuses the last chunk's columns). */
static int forward_chunk(const nn_layer *L, int batch, int64_t rows_per_image)
{
    return L->d->frozen ? 1 : chunk_images(L, batch, rows_per_image);
}

/* Workspace of an im2col buffer of cols_per_image floats: whole batches up to COL_CAP. */
static void plan_cols(nn_plan *p, int64_t cols_per_image)
{
    p->ws_per_image = cols_per_image;
    if (cols_per_image > 0) {
        int64_t imgs = NN_CONV_COL_CAP / cols_per_image;
        p->ws_max_images = imgs < 1 ? 1 : imgs;
    }
}

/* ---- small kernels: direct loops instead of a GEMM ------------------------------------- */

/* A convolution with few values per window (K <= SMALL_K, e.g. 3x3 on one input channel)
 * makes a GEMM with a tiny inner dimension, where BLAS spends its time on packing and on
 * C: direct loops over the output row (f filters, a vector) do better. */
#define SMALL_K 16

/* The small-K kernels work on register blocks of RB rows by FB filters. With GCC or clang
 * a block row is two vector-extension values of VW = 8 floats (one AVX2 register each, two
 * SSE ones, half an AVX-512 one, whichever NN_CLONES picked: a wider vector type than the
 * clone's registers is lowered by GCC through the stack), so the accumulators stay in
 * registers with RB independent addition chains; other compilers get the plain loops
 * below. Either way each output value is the same sum in the same order, whatever the
 * block. */
#define RB 4
#define VW 8
#define FB (2 * VW)
#if defined(__GNUC__)
typedef float small_vec __attribute__((vector_size(VW * sizeof(float))));
typedef int32_t small_ivec __attribute__((vector_size(VW * sizeof(int32_t))));
/* v where y > 0, else +0 (y > 0 is false for NaN), like the scalar y > 0 ? v : 0. */
#define VMASK_POS(v, y) ((small_vec)((small_ivec)(v) & ((y) > 0.0f)))
/* Unaligned loads and stores as macros: a helper function taking or returning the vector
 * would not be compiled for the clone's vector width (and GCC warns about its ABI). */
#define VLOAD(v, p) memcpy(&(v), (p), sizeof(small_vec))
#define VSTORE(p, v) memcpy((p), &(v), sizeof(small_vec))
#endif

/* One output value: y = b (or 0) + sum over k of c[k] * W[k][j], in order. */
static inline float small_k_one(const float *c, const float *W, const float *b, int K, int f,
                                int j)
{
    float a = b ? b[j] : 0.0f;
    for (int k = 0; k < K; k++)
        a += c[k] * W[(int64_t)k * f + j];
    return a;
}

#if defined(__GNUC__)
/* Rows [r, r + RB) by filters [j0, j0 + FB) of small_k_forward: two vectors per row. */
__attribute__((always_inline)) static inline void
small_k_block(const float *restrict c, int K, const float *restrict W, const float *restrict b,
              int f, int j0, int relu, float *restrict y)
{
    small_vec i0 = {0}, i1 = {0}, w0, w1;
    if (b)
        VLOAD(i0, b + j0), VLOAD(i1, b + j0 + VW);
    small_vec a0 = i0, a1 = i0, a2 = i0, a3 = i0, e0 = i1, e1 = i1, e2 = i1, e3 = i1;
    for (int k = 0; k < K; k++) {
        VLOAD(w0, W + (int64_t)k * f + j0);
        VLOAD(w1, W + (int64_t)k * f + j0 + VW);
        a0 += c[k] * w0, e0 += c[k] * w1;
        a1 += c[K + k] * w0, e1 += c[K + k] * w1;
        a2 += c[2 * K + k] * w0, e2 += c[2 * K + k] * w1;
        a3 += c[3 * K + k] * w0, e3 += c[3 * K + k] * w1;
    }
    if (relu) {
        a0 = VMASK_POS(a0, a0), a1 = VMASK_POS(a1, a1), a2 = VMASK_POS(a2, a2);
        a3 = VMASK_POS(a3, a3), e0 = VMASK_POS(e0, e0), e1 = VMASK_POS(e1, e1);
        e2 = VMASK_POS(e2, e2), e3 = VMASK_POS(e3, e3);
    }
    float *o = y + j0;
    VSTORE(o, a0), VSTORE(o + VW, e0), o += f;
    VSTORE(o, a1), VSTORE(o + VW, e1), o += f;
    VSTORE(o, a2), VSTORE(o + VW, e2), o += f;
    VSTORE(o, a3), VSTORE(o + VW, e3);
}
#endif

/* y (rows, f) = cols (rows, K) . W (K, f) + b (f, or 0 when b is NULL), then max(y, 0)
 * when relu: each output value is the bias plus its K products added in order
 * k = 0..K-1. */
NN_CLONES static void small_k_forward(const float *restrict cols, int64_t rows, int K,
                                      const float *restrict W, const float *restrict b, int f,
                                      int relu, float *restrict y)
{
    int64_t r = 0;
#if defined(__GNUC__)
    for (; r + RB <= rows; r += RB) {
        const float *c = cols + r * K;
        int j0 = 0;
        for (; j0 + FB <= f; j0 += FB) {
            if (K == 9) /* the 3x3 one-channel case, unrolled */
                small_k_block(c, 9, W, b, f, j0, relu, y + r * f);
            else
                small_k_block(c, K, W, b, f, j0, relu, y + r * f);
        }
        for (int q = 0; q < RB; q++)
            for (int j = j0; j < f; j++) {
                float v = small_k_one(c + q * K, W, b, K, f, j);
                y[(r + q) * f + j] = relu ? (v > 0.0f ? v : 0.0f) : v;
            }
    }
#endif
    for (; r < rows; r++)
        for (int j = 0; j < f; j++) {
            float v = small_k_one(cols + r * K, W, b, K, f, j);
            y[r * f + j] = relu ? (v > 0.0f ? v : 0.0f) : v;
        }
}

/* dW (K, f) += cols^T . dz and db (f) += column sums of dz (db may be NULL; K <= SMALL_K):
 * each value adds the sum over the rows, taken in order from 0, of its products. When y is
 * not NULL, dz is the gradient of a relu output y and the kernel applies relu's derivative
 * itself (dz where y > 0, else 0). */
#if defined(__GNUC__)
/* The vector part of small_k_weight_grad for filters [0, f - f % VW), VW filters at a time
 * over all rows (K + 1 accumulators: registers for K = 9). Always inlined, so that a call
 * with a constant K (the 3x3 one-channel case) keeps the accumulators in registers.
 * Returns where the scalar tail starts. */
__attribute__((always_inline)) static inline int
small_k_weight_grad_vec(const float *restrict cols, const float *restrict dz,
                        const float *restrict y, int64_t rows, int K, int f,
                        float *restrict dW, float *restrict db)
{
    int j0 = 0;
    for (; j0 + VW <= f; j0 += VW) {
        small_vec acc[SMALL_K] = {{0}}, accb = {0};
        for (int64_t r = 0; r < rows; r++) {
            small_vec d;
            VLOAD(d, dz + r * f + j0);
            if (y) {
                small_vec yv;
                VLOAD(yv, y + r * f + j0);
                d = VMASK_POS(d, yv);
            }
            const float *c = cols + r * K;
            accb += d;
#pragma GCC unroll 16
            for (int k = 0; k < K; k++)
                acc[k] += c[k] * d;
        }
#pragma GCC unroll 16
        for (int k = 0; k < K; k++) {
            small_vec v;
            VLOAD(v, dW + (int64_t)k * f + j0);
            v += acc[k];
            VSTORE(dW + (int64_t)k * f + j0, v);
        }
        if (db) {
            small_vec v;
            VLOAD(v, db + j0);
            v += accb;
            VSTORE(db + j0, v);
        }
    }
    return j0;
}
#endif

NN_CLONES static void small_k_weight_grad(const float *restrict cols, const float *restrict dz,
                                          const float *restrict y, int64_t rows, int K, int f,
                                          float *restrict dW, float *restrict db)
{
    int j0 = 0;
#if defined(__GNUC__)
    if (K == 9)
        j0 = small_k_weight_grad_vec(cols, dz, y, rows, 9, f, dW, db);
    else
        j0 = small_k_weight_grad_vec(cols, dz, y, rows, K, f, dW, db);
#endif
    for (int j = j0; j < f; j++) {
        for (int k = 0; k < K; k++) {
            float a = 0.0f;
            for (int64_t r = 0; r < rows; r++)
                a += cols[r * K + k] * (y && !(y[r * f + j] > 0.0f) ? 0.0f : dz[r * f + j]);
            dW[(int64_t)k * f + j] += a;
        }
        if (db) {
            float a = 0.0f;
            for (int64_t r = 0; r < rows; r++)
                a += y && !(y[r * f + j] > 0.0f) ? 0.0f : dz[r * f + j];
            db[j] += a;
        }
    }
}

/* ---- shared pieces of backward ---------------------------------------------------------- */

/* dz = dL/dz in place over dy, rows [off / f, off / f + rows) of (B, f), unless the loss
 * already did it. Returns dz. */
static float *act_grad(nn_layer *L, float *dz, int64_t off, int64_t rows, int f)
{
    if (!L->fused_ce)
        nn_act_backward(L->act, L->alpha, L->y + off, dz, dz, rows, f, 0);
    return dz;
}

/* db (f) = (acc ? db : 0) + column sums of dz (rows, f). */
static void bias_grad(float *db, const float *dz, int64_t rows, int f, int acc)
{
    nn_col_sums(db, dz, rows, f, acc);
}

/* Fused SGD: w -= lr * (dw + 2 * l2 * w) over the first n_reg values, w -= lr * dw after. */
static void sgd_apply(nn_layer *L, const nn_step *s)
{
    float *w = L->w;
    const float *dw = L->dw;
    const float lr = s->sgd_lr, decay = 1.0f - 2.0f * lr * L->d->l2;
    int64_t k = 0;
    for (; k < L->p.n_reg; k++)
        w[k] = decay * w[k] - lr * dw[k];
    for (; k < L->p.n_train; k++)
        w[k] -= lr * dw[k];
}

/* ---- plans ------------------------------------------------------------------------------- */

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
    int pointwise = d->kernel[0] == 1 && d->kernel[1] == 1 && st[0] == 1 && st[1] == 1;
    plan_cols(p, pointwise ? 0 : (int64_t)o[0] * o[1] * k);
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
    p->ws_per_image = pix * cm; /* the depthwise output, kept for backward */
    return 0;
}

/* Keras's deconv_output_length without output_padding: same: n * s; valid:
 * n * s + max(k - s, 0) (= (n - 1) * s + k when k >= s). */
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
    int pointwise = d->kernel[0] == 1 && d->kernel[1] == 1 && sh == 1 && sw == 1;
    plan_cols(p, pointwise ? 0 : (int64_t)in->h * in->w * k);
    return 0;
}

/* ---- conv2d ------------------------------------------------------------------------------ */

static void conv2d_init(nn_layer *L, fg_rng *rng)
{
    const nn_layer_desc *d = L->d;
    int64_t kk = (int64_t)d->kernel[0] * d->kernel[1], cin = L->in[0].c, f = d->filters;
    nn_init_fill(L->w, kk * cin * f, d->kernel_init, kk * cin, kk * f, rng);
    if (d->use_bias) /* Keras's fans of a 1-D shape (f,) are (f, f) */
        nn_init_fill(L->w + kk * cin * f, f, d->bias_init, f, f, rng);
}

static void conv2d_forward(nn_layer *L, const nn_step *s)
{
    const conv_geom g = geom_of(L, L->in[0].c);
    const int B = s->batch, f = L->d->filters, K = g.kh * g.kw * g.ic;
    const int64_t P = (int64_t)g.oh * g.ow, isz = L->in_size[0];
    const float *W = L->w, *bias = L->d->use_bias ? L->w + (int64_t)K * f : NULL;
    const int pw = geom_is_pointwise(&g), small = K <= SMALL_K;
    const int chunk = forward_chunk(L, B, P);
    for (int n0 = 0; n0 < B; n0 += chunk) {
        int nc = B - n0 < chunk ? B - n0 : chunk;
        const float *cols = L->x[0] + n0 * isz;
        if (!pw) {
            im2col(&g, cols, nc, L->ws);
            cols = L->ws;
        }
        float *yc = L->y + n0 * P * f;
        if (small) {
            int relu = L->act == NN_ACT_RELU;
            small_k_forward(cols, nc * P, K, W, bias, f, relu, yc);
            if (!relu)
                nn_act_forward(L->act, L->alpha, yc, NULL, nc * P, f);
            continue;
        }
        nn_gemm(0, 0, (int)(nc * P), f, K, 1.0f, cols, K, W, f, 0.0f, yc, f);
        nn_act_forward(L->act, L->alpha, yc, bias, nc * P, f); /* while yc is in cache */
    }
}

static void conv2d_backward(nn_layer *L, const nn_step *s)
{
    const conv_geom g = geom_of(L, L->in[0].c);
    const int B = s->batch, f = L->d->filters, K = g.kh * g.kw * g.ic;
    const int64_t P = (int64_t)g.oh * g.ow, isz = L->in_size[0];
    const int pw = geom_is_pointwise(&g);
    const int chunk = forward_chunk(L, B, P); /* forward's: its last columns are reused */
    const int n_chunks = (B + chunk - 1) / chunk;
    float *dW = L->dw, *dx = L->dx[0];
    /* The small-K weight gradient applies relu's derivative itself when nothing else needs
     * dz (no input gradient). */
    const int fuse_relu = K <= SMALL_K && !dx && L->act == NN_ACT_RELU && !L->fused_ce;
    /* Last chunk first: its columns are still in the workspace from forward. */
    for (int ci = n_chunks - 1; ci >= 0; ci--) {
        int n0 = ci * chunk, nc = B - n0 < chunk ? B - n0 : chunk, rows = (int)(nc * P);
        const float *x = L->x[0] + n0 * isz, *cols = x;
        float *dzc = fuse_relu ? L->dy + n0 * P * f
                               : act_grad(L, L->dy + n0 * P * f, n0 * P * f, rows, f);
        if (!pw) {
            if (ci != n_chunks - 1)
                im2col(&g, x, nc, L->ws);
            cols = L->ws;
        }
        int first = ci == n_chunks - 1;
        if (K <= SMALL_K) {
            float *db = L->d->use_bias ? dW + (int64_t)K * f : NULL;
            if (first)
                memset(dW, 0, (size_t)(K + (db ? 1 : 0)) * f * sizeof *dW);
            small_k_weight_grad(cols, dzc, fuse_relu ? L->y + n0 * P * f : NULL, rows, K, f,
                                dW, db);
        } else {
            nn_gemm(1, 0, K, f, rows, 1.0f, cols, K, dzc, f, first ? 0.0f : 1.0f, dW, f);
            if (L->d->use_bias)
                bias_grad(dW + (int64_t)K * f, dzc, rows, f, !first);
        }
        if (!dx)
            continue;
        float *dxc = dx + n0 * isz;
        if (pw) {
            nn_gemm(0, 1, rows, K, f, 1.0f, dzc, f, L->w, f, L->dx_acc[0] ? 1.0f : 0.0f, dxc,
                    K);
        } else {
            nn_gemm(0, 1, rows, K, f, 1.0f, dzc, f, L->w, f, 0.0f, L->ws, K);
            if (!L->dx_acc[0])
                memset(dxc, 0, (size_t)(nc * isz) * sizeof *dxc);
            col2im(&g, L->ws, nc, dxc);
        }
    }
    if (s->sgd_fused)
        sgd_apply(L, s);
}

/* ---- conv2d_transpose ---------------------------------------------------------------------- */

/* The window of the adjoint conv2d: from the output image (O, f) to the input grid. */
static conv_geom transpose_geom(const nn_layer *L)
{
    return geom_make(L->p.out.h, L->p.out.w, L->d->filters, L->in[0].h, L->in[0].w,
                     L->d->kernel, L->d->strides);
}

static void transpose_init(nn_layer *L, fg_rng *rng)
{
    const nn_layer_desc *d = L->d;
    int64_t kk = (int64_t)d->kernel[0] * d->kernel[1], cin = L->in[0].c, f = d->filters;
    /* kernel (kh, kw, f, cin): Keras's fans are kk * f in, kk * cin out */
    nn_init_fill(L->w, kk * f * cin, d->kernel_init, kk * f, kk * cin, rng);
    if (d->use_bias)
        nn_init_fill(L->w + kk * f * cin, f, d->bias_init, f, f, rng);
}

static void transpose_forward(nn_layer *L, const nn_step *s)
{
    const conv_geom g = transpose_geom(L);
    const int B = s->batch, f = L->d->filters, cin = L->in[0].c, K = g.kh * g.kw * f;
    const int64_t Pin = (int64_t)g.oh * g.ow, osz = L->out_size, isz = L->in_size[0];
    const float *W = L->w, *bias = L->d->use_bias ? L->w + (int64_t)K * cin : NULL;
    const int pw = geom_is_pointwise(&g);
    const int chunk = forward_chunk(L, B, Pin);
    for (int n0 = 0; n0 < B; n0 += chunk) {
        int nc = B - n0 < chunk ? B - n0 : chunk;
        float *yc = L->y + n0 * osz, *cols = pw ? yc : L->ws;
        nn_gemm(0, 1, (int)(nc * Pin), K, cin, 1.0f, L->x[0] + n0 * isz, cin, W, cin, 0.0f,
                cols, K);
        if (!pw) {
            memset(yc, 0, (size_t)(nc * osz) * sizeof *yc);
            col2im(&g, cols, nc, yc);
        }
    }
    nn_act_forward(L->act, L->alpha, L->y, bias, B * L->p.out.h * L->p.out.w, f);
}

static void transpose_backward(nn_layer *L, const nn_step *s)
{
    const conv_geom g = transpose_geom(L);
    const int B = s->batch, f = L->d->filters, cin = L->in[0].c, K = g.kh * g.kw * f;
    const int64_t Pin = (int64_t)g.oh * g.ow, osz = L->out_size, isz = L->in_size[0];
    const int pw = geom_is_pointwise(&g);
    const int chunk = chunk_images(L, B, Pin);
    float *dz = act_grad(L, L->dy, 0, B * L->p.out.h * L->p.out.w, f), *dW = L->dw;
    float *dx = L->dx[0];
    for (int n0 = 0; n0 < B; n0 += chunk) {
        int nc = B - n0 < chunk ? B - n0 : chunk, rows = (int)(nc * Pin);
        const float *x = L->x[0] + n0 * isz, *cols = dz + n0 * osz;
        if (!pw) {
            im2col(&g, cols, nc, L->ws);
            cols = L->ws;
        }
        nn_gemm(1, 0, K, cin, rows, 1.0f, cols, K, x, cin, n0 == 0 ? 0.0f : 1.0f, dW, cin);
        if (dx)
            nn_gemm(0, 0, rows, cin, K, 1.0f, cols, K, L->w, cin, L->dx_acc[0] ? 1.0f : 0.0f,
                    dx + n0 * isz, cin);
    }
    if (L->d->use_bias)
        bias_grad(dW + (int64_t)K * cin, dz, B * L->p.out.h * L->p.out.w, f, 0);
    if (s->sgd_fused)
        sgd_apply(L, s);
}

/* ---- depthwise (also the first half of separable) --------------------------------------- */

/* y (n, oh, ow, ic*dm) = depthwise convolution of x (n, ih, iw, ic) with w (kh, kw, ic, dm),
 * no bias. */
static void depthwise_fwd(const conv_geom *g, int dm, const float *restrict x, int n,
                          const float *restrict w, float *restrict y)
{
    const int ic = g->ic, cm = ic * dm;
    const int64_t isz = (int64_t)g->ih * g->iw * ic;
    float *yr = y;
    for (int img = 0; img < n; img++) {
        const float *xi = x + img * isz;
        for (int oy = 0; oy < g->oh; oy++) {
            int a0, a1, y0 = oy * g->sh - g->ph;
            kernel_range(oy, g->sh, g->ph, g->kh, g->ih, &a0, &a1);
            for (int ox = 0; ox < g->ow; ox++, yr += cm) {
                int b0, b1, x0 = ox * g->sw - g->pw;
                kernel_range(ox, g->sw, g->pw, g->kw, g->iw, &b0, &b1);
                for (int j = 0; j < cm; j++)
                    yr[j] = 0.0f;
                for (int a = a0; a < a1; a++) {
                    int64_t xo = ((int64_t)(y0 + a) * g->iw + x0) * ic;
                    int64_t wo = (int64_t)a * g->kw * cm;
                    for (int b = b0; b < b1; b++) {
                        const float *xp = xi + (xo + (int64_t)b * ic);
                        const float *wp = w + wo + (int64_t)b * cm;
                        if (dm == 1) {
                            for (int j = 0; j < cm; j++)
                                yr[j] += xp[j] * wp[j];
                        } else {
                            for (int c = 0; c < ic; c++)
                                for (int m = 0; m < dm; m++)
                                    yr[c * dm + m] += xp[c] * wp[c * dm + m];
                        }
                    }
                }
            }
        }
    }
}

/* From dz (n, oh, ow, ic*dm): dw (kh, kw, ic, dm) = the kernel gradient (overwritten), and
 * when dx is not NULL, dx (n, ih, iw, ic) (+)= the input gradient (acc: add). */
static void depthwise_bwd(const conv_geom *g, int dm, const float *restrict x, int n,
                          const float *restrict w, const float *restrict dz, float *restrict dw,
                          float *restrict dx, int acc)
{
    const int ic = g->ic, cm = ic * dm;
    const int64_t isz = (int64_t)g->ih * g->iw * ic;
    memset(dw, 0, (size_t)g->kh * g->kw * cm * sizeof *dw);
    if (dx && !acc)
        memset(dx, 0, (size_t)(n * isz) * sizeof *dx);
    const float *dr = dz;
    for (int img = 0; img < n; img++) {
        const float *xi = x + img * isz;
        float *dxi = dx ? dx + img * isz : NULL;
        for (int oy = 0; oy < g->oh; oy++) {
            int a0, a1, y0 = oy * g->sh - g->ph;
            kernel_range(oy, g->sh, g->ph, g->kh, g->ih, &a0, &a1);
            for (int ox = 0; ox < g->ow; ox++, dr += cm) {
                int b0, b1, x0 = ox * g->sw - g->pw;
                kernel_range(ox, g->sw, g->pw, g->kw, g->iw, &b0, &b1);
                for (int a = a0; a < a1; a++) {
                    int64_t xo = ((int64_t)(y0 + a) * g->iw + x0) * ic;
                    int64_t wo = (int64_t)a * g->kw * cm;
                    for (int b = b0; b < b1; b++) {
                        const float *xp = xi + (xo + (int64_t)b * ic);
                        const float *wp = w + wo + (int64_t)b * cm;
                        float *dwp = dw + wo + (int64_t)b * cm;
                        if (dm == 1) {
                            for (int j = 0; j < cm; j++)
                                dwp[j] += xp[j] * dr[j];
                            if (dxi) {
                                float *dxp = dxi + (xo + (int64_t)b * ic);
                                for (int j = 0; j < cm; j++)
                                    dxp[j] += wp[j] * dr[j];
                            }
                        } else {
                            for (int c = 0; c < ic; c++) {
                                float sx = 0.0f;
                                for (int m = 0; m < dm; m++) {
                                    int j = c * dm + m;
                                    dwp[j] += xp[c] * dr[j];
                                    sx += wp[j] * dr[j];
                                }
                                if (dxi)
                                    dxi[xo + (int64_t)b * ic + c] += sx;
                            }
                        }
                    }
                }
            }
        }
    }
}

static void depthwise_init(nn_layer *L, fg_rng *rng)
{
    const nn_layer_desc *d = L->d;
    int64_t kk = (int64_t)d->kernel[0] * d->kernel[1], cin = L->in[0].c;
    int64_t dm = d->depth_multiplier, cm = cin * dm;
    /* kernel (kh, kw, cin, dm): Keras's fans are kk * cin in, kk * dm out */
    nn_init_fill(L->w, kk * cm, d->depthwise_init, kk * cin, kk * dm, rng);
    if (d->use_bias)
        nn_init_fill(L->w + kk * cm, cm, d->bias_init, cm, cm, rng);
}

static void depthwise_forward(nn_layer *L, const nn_step *s)
{
    const conv_geom g = geom_of(L, L->in[0].c);
    const int dm = L->d->depth_multiplier, cm = g.ic * dm;
    const int64_t kk = (int64_t)g.kh * g.kw;
    depthwise_fwd(&g, dm, L->x[0], s->batch, L->w, L->y);
    nn_act_forward(L->act, L->alpha, L->y, L->d->use_bias ? L->w + kk * cm : NULL,
                   (int64_t)s->batch * g.oh * g.ow, cm);
}

static void depthwise_backward(nn_layer *L, const nn_step *s)
{
    const conv_geom g = geom_of(L, L->in[0].c);
    const int dm = L->d->depth_multiplier, cm = g.ic * dm;
    const int64_t kk = (int64_t)g.kh * g.kw, rows = (int64_t)s->batch * g.oh * g.ow;
    float *dz = act_grad(L, L->dy, 0, rows, cm);
    depthwise_bwd(&g, dm, L->x[0], s->batch, L->w, dz, L->dw, L->dx[0], L->dx_acc[0]);
    if (L->d->use_bias)
        bias_grad(L->dw + kk * cm, dz, rows, cm, 0);
    if (s->sgd_fused)
        sgd_apply(L, s);
}

/* ---- separable_conv2d -------------------------------------------------------------------- */

static void separable_init(nn_layer *L, fg_rng *rng)
{
    const nn_layer_desc *d = L->d;
    int64_t kk = (int64_t)d->kernel[0] * d->kernel[1], cin = L->in[0].c;
    int64_t dm = d->depth_multiplier, cm = cin * dm, f = d->filters;
    nn_init_fill(L->w, kk * cm, d->depthwise_init, kk * cin, kk * dm, rng);
    nn_init_fill(L->w + kk * cm, cm * f, d->kernel_init, cm, f, rng); /* pointwise (1,1,cm,f) */
    if (d->use_bias)
        nn_init_fill(L->w + kk * cm + cm * f, f, d->bias_init, f, f, rng);
}

static void separable_forward(nn_layer *L, const nn_step *s)
{
    const conv_geom g = geom_of(L, L->in[0].c);
    const int B = s->batch, dm = L->d->depth_multiplier, cm = g.ic * dm, f = L->d->filters;
    const int64_t kk = (int64_t)g.kh * g.kw, P = (int64_t)g.oh * g.ow;
    const float *Wp = L->w + kk * cm, *bias = L->d->use_bias ? Wp + (int64_t)cm * f : NULL;
    depthwise_fwd(&g, dm, L->x[0], B, L->w, L->ws);
    const int chunk = forward_chunk(L, B, P);
    for (int n0 = 0; n0 < B; n0 += chunk) {
        int nc = B - n0 < chunk ? B - n0 : chunk;
        nn_gemm(0, 0, (int)(nc * P), f, cm, 1.0f, L->ws + n0 * P * cm, cm, Wp, f, 0.0f,
                L->y + n0 * P * f, f);
    }
    nn_act_forward(L->act, L->alpha, L->y, bias, B * P, f);
}

static void separable_backward(nn_layer *L, const nn_step *s)
{
    const conv_geom g = geom_of(L, L->in[0].c);
    const int B = s->batch, dm = L->d->depth_multiplier, cm = g.ic * dm, f = L->d->filters;
    const int64_t kk = (int64_t)g.kh * g.kw, P = (int64_t)g.oh * g.ow;
    const float *Wp = L->w + kk * cm;
    float *dz = act_grad(L, L->dy, 0, B * P, f), *dWp = L->dw + kk * cm, *mid = L->ws;
    const int chunk = chunk_images(L, B, P);
    for (int n0 = 0; n0 < B; n0 += chunk) {
        int nc = B - n0 < chunk ? B - n0 : chunk, rows = (int)(nc * P);
        float *mc = mid + n0 * P * cm;
        const float *dzc = dz + n0 * P * f;
        nn_gemm(1, 0, cm, f, rows, 1.0f, mc, cm, dzc, f, n0 == 0 ? 0.0f : 1.0f, dWp, f);
        nn_gemm(0, 1, rows, cm, f, 1.0f, dzc, f, Wp, f, 0.0f, mc, cm); /* dM over M */
    }
    depthwise_bwd(&g, dm, L->x[0], B, L->w, mid, L->dw, L->dx[0], L->dx_acc[0]);
    if (L->d->use_bias)
        bias_grad(dWp + (int64_t)cm * f, dz, B * P, f, 0);
    if (s->sgd_fused)
        sgd_apply(L, s);
}

const nn_layer_ops nn_conv2d_ops = {conv2d_plan, conv2d_init, conv2d_forward, conv2d_backward,
                                    1};
const nn_layer_ops nn_depthwise_ops = {depthwise_plan, depthwise_init, depthwise_forward,
                                       depthwise_backward, 1};
const nn_layer_ops nn_separable_ops = {separable_plan, separable_init, separable_forward,
                                       separable_backward, 1};
const nn_layer_ops nn_conv2d_transpose_ops = {conv2d_transpose_plan, transpose_init,
                                              transpose_forward, transpose_backward, 1};
