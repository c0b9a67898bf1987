/* nn_layer_dense.c - fully connected layer with a fused activation. Any input is taken as
 * flat (in = h*w*c). The kernel is stored (in, out) row-major like Keras, then the bias.
 *   forward   Y (B, out) = f(X (B, in) . W (in, out) + b)        one GEMM + one pass
 *             (frozen: one GEMM per row, so a row's outputs do not depend on the batch)
 *   backward  dZ = dY * f'(Y) (in place; skipped when softmax+CE is fused)
 *             dX (B, in) (+)= dZ . W^T                           one GEMM (before dW: W is
 *             dW (in, out) = X^T . dZ                            unchanged either way)
 *             db (out) = column sums of dZ
 * With fused SGD the dW GEMM writes the update straight into W (see nn_step). */
#include <string.h>

#include "nn_gemm.h"
#include "nn_internal.h"

static int dense_plan(const nn_layer_desc *d, const nn_shape *in, int n_in, nn_plan *p,
                      fg_err *err)
{
    if (d->units < 1)
        return fg_err_set(err, "units must be >= 1 (got %d)", d->units);
    if (nn_init_check(d->kernel_init, "kernel_initializer", err) ||
        (d->use_bias && nn_init_check(d->bias_init, "bias_initializer", err)))
        return -1;
    int64_t n = nn_shape_size(in[0]);
    p->out = (nn_shape){1, 1, d->units, 1};
    p->n_reg = n * d->units;
    p->n_train = p->n_reg + (d->use_bias ? d->units : 0);
    p->flops = 2 * n * d->units;
    return 0;
}

static void dense_init(nn_layer *L, fg_rng *rng)
{
    int64_t in = L->in_size[0], out = L->d->units;
    nn_init_fill(L->w, in * out, L->d->kernel_init, in, out, rng);
    if (L->d->use_bias) /* Keras's fans of a 1-D shape (out,) are (out, out) */
        nn_init_fill(L->w + in * out, out, L->d->bias_init, out, out, rng);
}

static void dense_forward(nn_layer *L, const nn_step *s)
{
    int B = s->batch, in = (int)L->in_size[0], out = L->d->units;
    const float *W = L->w, *b = L->d->use_bias ? L->w + (int64_t)in * out : NULL;
    if (L->d->frozen) /* row by row: each row's outputs independent of the batch (see
                       * forward_chunk in nn_layer_conv.c) */
        for (int i = 0; i < B; i++)
            nn_gemm(0, 0, 1, out, in, 1.0f, L->x[0] + (int64_t)i * in, in, W, out, 0.0f,
                    L->y + (int64_t)i * out, out);
    else
        nn_gemm(0, 0, B, out, in, 1.0f, L->x[0], in, W, out, 0.0f, L->y, out);
    nn_act_forward(L->act, L->alpha, L->y, b, B, out);
}

static void dense_backward(nn_layer *L, const nn_step *s)
{
    int B = s->batch, in = (int)L->in_size[0], out = L->d->units;
    float *dz = L->dy;
    if (!L->fused_ce)
        nn_act_backward(L->act, L->alpha, L->y, L->dy, dz, B, out, 0);
    if (L->dx[0])
        nn_gemm(0, 1, B, in, out, 1.0f, dz, out, L->w, out, L->dx_acc[0] ? 1.0f : 0.0f,
                L->dx[0], in);
    if (s->sgd_fused) /* W = (1 - 2*lr*l2) W - lr X^T dZ: the SGD step inside the GEMM */
        nn_gemm(1, 0, in, out, B, -s->sgd_lr, L->x[0], in, dz, out,
                1.0f - 2.0f * s->sgd_lr * L->d->l2, L->w, out);
    else
        nn_gemm(1, 0, in, out, B, 1.0f, L->x[0], in, dz, out, 0.0f, L->dw, out);
    if (L->d->use_bias) {
        float *db = L->dw + (int64_t)in * out; /* scratch when fused */
        nn_col_sums(db, dz, B, out, 0);
        if (s->sgd_fused) {
            float *b = L->w + (int64_t)in * out;
            for (int j = 0; j < out; j++)
                b[j] -= s->sgd_lr * db[j];
        }
    }
}

const nn_layer_ops nn_dense_ops = {dense_plan, dense_init, dense_forward, dense_backward, 1};
