/* nn_layer_bn.c - batch_normalization over the last axis (c), as Keras's
 * BatchNormalization(axis=-1). Parameters: gamma (c, init ones) and beta (c, zeros),
 * trainable; then moving_mean (c, zeros) and moving_variance (c, ones), non-trainable and
 * stored after all trainable parameters (Keras's total counts all 4*c).
 *
 * Training (nn_step.training), over the n = B*h*w rows of each channel:
 *   mean, var = the batch mean and the biased variance (divided by n), in double;
 *   y = gamma * (x - mean) / sqrt(var + eps) + beta;
 *   moving_mean = moving_mean * momentum + mean * (1 - momentum);
 *   moving_var  = moving_var * momentum + var * corr * (1 - momentum),
 * where corr = n / (n - 1) (Bessel's correction, 1 when n = 1) for image inputs and 1 for
 * flat inputs. This is tf.keras 2.x's default: 4-D inputs with axis -1 take the fused
 * kernel (tf.compat.v1.nn.fused_batch_norm), whose batch variance output, used for the
 * moving average, is corrected; 2-D inputs take the non-fused path (tf.nn.moments), which
 * is not (tensorflow/tensorflow#55545). The normalisation itself always uses the biased
 * variance.
 * A refresh (nn_step.bn_refresh = k, nn_fit's after averaging weights) uses momentum
 * (k - 1) / k instead: over batches 1..k the moving statistics become the mean of theirs.
 * Evaluation: y = gamma * (x - moving_mean) / sqrt(moving_var + eps) + beta.
 * Frozen (nn_layer_desc.frozen, Keras's trainable = False): always the evaluation form,
 * the moving statistics never change, and backward is dx (+)= dy * gamma / sqrt(mv + eps).
 * Backward (training statistics, xhat = (x - mean) / sqrt(var + eps)):
 *   dgamma = sum dy * xhat,  dbeta = sum dy,
 *   dx (+)= gamma / sqrt(var + eps) * (dy - dbeta / n - xhat * dgamma / n).
 * Workspace (fixed): 2c doubles of sums, then the batch mean and 1/sqrt(var + eps) (c floats
 * each) of the last training forward.
 * Followed by relu (nn_layer.relu, set when the network is built): forward writes
 * max(y, 0) to the relu layer's output in the same pass (y itself is not written) and
 * backward starts from the relu layer's dy, masked where its output is not > 0 (written
 * to this layer's dy while the sums run): the floats of the two layers run apart. When a
 * max pool reads the relu (relu_masked), its backward already applied the mask. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "nn_internal.h"

static int bn_plan(const nn_layer_desc *d, const nn_shape *in, int n_in, nn_plan *p,
                   fg_err *err)
{
    if (!(d->bn_momentum >= 0.0f && d->bn_momentum <= 1.0f))
        return fg_err_set(err, "momentum must be in [0, 1] (got %g)", (double)d->bn_momentum);
    if (!(d->bn_epsilon > 0.0f))
        return fg_err_set(err, "epsilon must be > 0 (got %g)", (double)d->bn_epsilon);
    p->out = *in;
    p->n_train = 2 * (int64_t)in->c;
    p->n_fixed = 2 * (int64_t)in->c;
    p->flops = 2 * nn_shape_size(*in);
    p->ws_fixed = 6 * (int64_t)in->c; /* 2c doubles, then 2c floats */
    return 0;
}

static void bn_init(nn_layer *L, fg_rng *rng)
{
    const int c = L->in[0].c;
    for (int k = 0; k < c; k++) {
        L->w[k] = 1.0f;          /* gamma */
        L->w[c + k] = 0.0f;      /* beta */
        L->fixed[k] = 0.0f;      /* moving mean */
        L->fixed[c + k] = 1.0f;  /* moving variance */
    }
}

/* The workspace: sums (2c doubles), batch mean (c), inverse standard deviation (c). */
static double *ws_sums(const nn_layer *L) { return (double *)(void *)L->ws; }
static float *ws_mean(const nn_layer *L) { return L->ws + 4 * L->in[0].c; }
static float *ws_istd(const nn_layer *L) { return L->ws + 5 * L->in[0].c; }

/* d where y > 0, else +0 (y > 0 is false for NaN): relu's derivative as the bits of d
 * under a mask, which GCC vectorizes (a ?: here stays a branch) */
static inline float relu_pick(float d, float y)
{
    uint32_t b;
    memcpy(&b, &d, sizeof b);
    b &= -(uint32_t)(y > 0.0f);
    memcpy(&d, &b, sizeof d);
    return d;
}

/* The per-row loops over the c channels, vectorized over the channels (nn_layer_bn.c is
 * compiled with the dynamic cost model, see CMakeLists.txt): every channel keeps its own
 * sequential sum over the rows, so the results are those of the scalar loops. */
NN_CLONES NN_KERNEL bn_sum(double *restrict sum, const float *restrict x, int64_t rows, int c)
{
    for (int64_t r = 0; r < rows; r++, x += c)
        for (int k = 0; k < c; k++)
            sum[k] += x[k];
}

NN_CLONES NN_KERNEL bn_sq(double *restrict sq, const float *restrict x,
                          const float *restrict mean, int64_t rows, int c)
{
    for (int64_t r = 0; r < rows; r++, x += c)
        for (int k = 0; k < c; k++) {
            double v = (double)x[k] - mean[k];
            sq[k] += v * v;
        }
}

NN_CLONES NN_KERNEL bn_norm(float *restrict y, const float *restrict x, const float *restrict mean,
                            const float *restrict istd, const float *restrict gamma,
                            const float *restrict beta, int64_t rows, int c)
{
    for (int64_t r = 0; r < rows; r++, x += c, y += c)
        for (int k = 0; k < c; k++)
            y[k] = (x[k] - mean[k]) * istd[k] * gamma[k] + beta[k];
}

NN_CLONES NN_KERNEL bn_norm_relu(float *restrict y, const float *restrict x,
                                 const float *restrict mean, const float *restrict istd,
                                 const float *restrict gamma, const float *restrict beta,
                                 int64_t rows, int c)
{
    for (int64_t r = 0; r < rows; r++, x += c, y += c)
        for (int k = 0; k < c; k++) {
            float v = (x[k] - mean[k]) * istd[k] * gamma[k] + beta[k];
            y[k] = relu_pick(v, v);
        }
}

NN_CLONES NN_KERNEL bn_affine_relu(float *restrict y, const float *restrict x,
                                   const float *restrict a, const float *restrict b,
                                   int64_t rows, int c)
{
    for (int64_t r = 0; r < rows; r++, x += c, y += c)
        for (int k = 0; k < c; k++) {
            float v = x[k] * a[k] + b[k];
            y[k] = relu_pick(v, v);
        }
}

NN_CLONES NN_KERNEL bn_affine(float *restrict y, const float *restrict x, const float *restrict a,
                              const float *restrict b, int64_t rows, int c)
{
    for (int64_t r = 0; r < rows; r++, x += c, y += c)
        for (int k = 0; k < c; k++)
            y[k] = x[k] * a[k] + b[k];
}

static void bn_forward(nn_layer *L, const nn_step *s)
{
    const int c = L->in[0].c;
    const int64_t rows = (int64_t)s->batch * L->in[0].h * L->in[0].w;
    const float *x = L->x[0], *gamma = L->w, *beta = L->w + c;
    const float eps = L->d->bn_epsilon;
    float *mean = ws_mean(L), *istd = ws_istd(L), *y = L->y;
    if (s->training && !L->d->frozen) {
        double *sum = ws_sums(L), *sq = sum + c;
        memset(sum, 0, 2 * (size_t)c * sizeof *sum);
        bn_sum(sum, x, rows, c);
        for (int k = 0; k < c; k++)
            mean[k] = (float)(sum[k] / (double)rows);
        bn_sq(sq, x, mean, rows, c);
        const float mom = s->bn_refresh > 0 ? (float)(s->bn_refresh - 1) / (float)s->bn_refresh
                                            : L->d->bn_momentum;
        const double corr = !L->in[0].flat && rows > 1 ? (double)rows / (double)(rows - 1) : 1.0;
        float *mm = L->fixed, *mv = L->fixed + c;
        for (int k = 0; k < c; k++) {
            double var = sq[k] / (double)rows;
            istd[k] = (float)(1.0 / sqrt(var + (double)eps));
            mm[k] = mm[k] * mom + mean[k] * (1.0f - mom);
            mv[k] = mv[k] * mom + (float)(var * corr) * (1.0f - mom);
        }
        if (L->relu)
            bn_norm_relu(L->relu->y, x, mean, istd, gamma, beta, rows, c);
        else
            bn_norm(y, x, mean, istd, gamma, beta, rows, c);
    } else {
        const float *mm = L->fixed, *mv = L->fixed + c;
        /* y = x * a + b with a = gamma / sqrt(mv + eps), b = beta - mm * a; the batch
         * statistics of the last training step stay untouched for backward. */
        float *a = L->ws, *b = a + c; /* over the sums, unused outside training */
        for (int k = 0; k < c; k++) {
            a[k] = (float)(gamma[k] / sqrt((double)mv[k] + eps));
            b[k] = beta[k] - mm[k] * a[k];
        }
        if (L->relu)
            bn_affine_relu(L->relu->y, x, a, b, rows, c);
        else
            bn_affine(y, x, a, b, rows, c);
    }
}

/* dy (rows, c) = ry > 0 ? rdy : 0, relu's derivative from its output ry and gradient rdy */
NN_CLONES NN_KERNEL relu_grad(float *restrict dy, const float *restrict ry,
                              const float *restrict rdy, int64_t n)
{
    NN_SPLIT_LOOP(i, n, dy[i] = relu_pick(rdy[i], ry[i]));
}

/* Frozen: y = x * a + b is linear in x, a = gamma / sqrt(moving_var + eps). */
static void bn_backward_frozen(nn_layer *L, const nn_step *s)
{
    const int c = L->in[0].c;
    const int64_t rows = (int64_t)s->batch * L->in[0].h * L->in[0].w;
    const float *dy = L->dy, *gamma = L->w, *mv = L->fixed + c;
    float *dx = L->dx[0], *a = L->ws;
    if (!dx)
        return;
    if (L->relu)
        relu_grad(L->dy, L->relu->y, L->relu->dy, rows * c);
    for (int k = 0; k < c; k++)
        a[k] = (float)(gamma[k] / sqrt((double)mv[k] + L->d->bn_epsilon));
    for (int64_t r = 0; r < rows; r++)
        for (int k = 0; k < c; k++)
            dx[r * c + k] = (L->dx_acc[0] ? dx[r * c + k] : 0.0f) + dy[r * c + k] * a[k];
}

NN_CLONES NN_KERNEL bn_grad_sums(double *restrict dg, double *restrict db, const float *restrict dy,
                               const float *restrict x, const float *restrict mean,
                               const float *restrict istd, int64_t rows, int c)
{
    for (int64_t r = 0; r < rows; r++, x += c, dy += c)
        for (int k = 0; k < c; k++) {
            float g = dy[k];
            db[k] += g;
            dg[k] += g * (x[k] - mean[k]) * istd[k];
        }
}

/* bn_grad_sums after relu's derivative: g = ry > 0 ? rdy : 0 (ry, rdy the relu layer's
 * output and gradient), also written to dy for bn_grad_x */
NN_CLONES NN_KERNEL bn_grad_sums_relu(double *restrict dg, double *restrict db,
                                      float *restrict dy, const float *restrict ry,
                                      const float *restrict rdy, const float *restrict x,
                                      const float *restrict mean, const float *restrict istd,
                                      int64_t rows, int c)
{
    for (int64_t r = 0; r < rows; r++, x += c, dy += c, ry += c, rdy += c)
        for (int k = 0; k < c; k++) {
            float g = relu_pick(rdy[k], ry[k]);
            dy[k] = g;
            db[k] += g;
            dg[k] += g * (x[k] - mean[k]) * istd[k];
        }
}

/* dx (+)= gamma istd (dy - mdb - xhat dgf / n), mdb = (float)db / n and dgf = (float)dg
 * per channel, in the scalar expression's order of operations; the two forms (add, set)
 * are separate loops so that both vectorize */
#define BN_GRAD_X_V                                                                         \
    (gamma[k] * istd[k] *                                                                  \
     (dy[k] - mdb[k] - ((x[k] - mean[k]) * istd[k]) * dgf[k] * inv_n))
NN_CLONES NN_KERNEL bn_grad_x(float *restrict dx, const float *restrict dy, const float *restrict x,
                            const float *restrict mean, const float *restrict istd,
                            const float *restrict gamma, const float *restrict mdb,
                            const float *restrict dgf, float inv_n, int64_t rows, int c, int acc)
{
    if (acc)
        for (int64_t r = 0; r < rows; r++, x += c, dy += c, dx += c)
            for (int k = 0; k < c; k++)
                dx[k] += BN_GRAD_X_V;
    else
        for (int64_t r = 0; r < rows; r++, x += c, dy += c, dx += c)
            for (int k = 0; k < c; k++)
                dx[k] = BN_GRAD_X_V;
}
#undef BN_GRAD_X_V

static void bn_backward(nn_layer *L, const nn_step *s)
{
    if (L->d->frozen) {
        bn_backward_frozen(L, s);
        return;
    }
    const int c = L->in[0].c;
    const int64_t rows = (int64_t)s->batch * L->in[0].h * L->in[0].w;
    const float *x = L->x[0], *dy = L->dy, *gamma = L->w;
    const float *mean = ws_mean(L), *istd = ws_istd(L);
    double *dg = ws_sums(L), *db = dg + c;
    memset(dg, 0, 2 * (size_t)c * sizeof *dg);
    if (L->relu_masked) /* relu's dy is already dL/dy of this layer */
        dy = L->relu->dy;
    if (L->relu && !L->relu_masked)
        bn_grad_sums_relu(dg, db, L->dy, L->relu->y, L->relu->dy, x, mean, istd, rows, c);
    else
        bn_grad_sums(dg, db, dy, x, mean, istd, rows, c);
    float *dx = L->dx[0];
    float *dw = L->dw;
    if (dx) {
        const float inv_n = 1.0f / (float)rows;
        float *mdb = dw, *dgf = dw + c; /* dw is written below, after dx */
        for (int k = 0; k < c; k++)
            mdb[k] = (float)db[k] * inv_n, dgf[k] = (float)dg[k];
        bn_grad_x(dx, dy, x, mean, istd, gamma, mdb, dgf, inv_n, rows, c, L->dx_acc[0]);
    }
    for (int k = 0; k < c; k++) {
        dw[k] = (float)dg[k];
        dw[c + k] = (float)db[k];
    }
    if (s->sgd_fused) /* after dx, which needs the old gamma; no L2 on gamma/beta */
        for (int k = 0; k < 2 * c; k++)
            L->w[k] -= s->sgd_lr * dw[k];
}

const nn_layer_ops nn_batch_norm_ops = {bn_plan, bn_init, bn_forward, bn_backward, 1};
