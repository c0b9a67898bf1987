/* nn_act.c - activation functions, forward (with a fused bias add) and backward, shared by
 * dense, convolution and activation layers. Derivatives are written through the output
 * y = f(x), so no pre-activation buffer is kept. That needs alpha >= 0 for leaky_relu and
 * elu (checked when the network is planned). */
#include <math.h>
#include <string.h>

#include "nn_internal.h"

float nn_act_alpha(nn_act a, float alpha)
{
    if (!isnan(alpha))
        return alpha;
    return a == NN_ACT_LEAKY_RELU ? 0.3f : a == NN_ACT_ELU ? 1.0f : 0.0f;
}

static inline float sigmoidf(float x)
{
    if (x >= 0.0f)
        return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

/* v (cols) = softmax(v), max-shifted. */
static void softmax_row(float *v, int cols)
{
    float m = v[0];
    for (int j = 1; j < cols; j++)
        m = v[j] > m ? v[j] : m;
    float s = 0.0f;
    for (int j = 0; j < cols; j++) {
        v[j] = expf(v[j] - m);
        s += v[j];
    }
    float inv = 1.0f / s;
    for (int j = 0; j < cols; j++)
        v[j] *= inv;
}

/* y is (rows, cols); bias is (cols) or NULL and does not overlap y. */
NN_CLONES void nn_act_forward(nn_act a, float alpha, float *y, const float *bias, int64_t rows,
                              int cols)
{
    const float *restrict b = bias;
    if (b || a == NN_ACT_SOFTMAX) {
        for (int64_t r = 0; r < rows; r++) {
            float *restrict v = y + r * cols;
            if (b)
                NN_SPLIT_LOOP(j, cols, v[j] += b[j]);
            if (a == NN_ACT_SOFTMAX)
                softmax_row(v, cols);
            else if (a != NN_ACT_LINEAR)
                nn_act_forward(a, alpha, v, NULL, 1, cols);
        }
        return;
    }
    float *restrict v = y;
    const int64_t n = rows * cols;
    switch (a) {
    case NN_ACT_RELU:
        NN_SPLIT_LOOP(i, n, v[i] = v[i] > 0.0f ? v[i] : 0.0f);
        break;
    case NN_ACT_SIGMOID:
        for (int64_t i = 0; i < n; i++)
            v[i] = sigmoidf(v[i]);
        break;
    case NN_ACT_TANH:
        for (int64_t i = 0; i < n; i++)
            v[i] = tanhf(v[i]);
        break;
    case NN_ACT_LEAKY_RELU:
        NN_SPLIT_LOOP(i, n, v[i] = v[i] > 0.0f ? v[i] : alpha * v[i]);
        break;
    case NN_ACT_ELU:
        for (int64_t i = 0; i < n; i++)
            v[i] = v[i] > 0.0f ? v[i] : alpha * expm1f(v[i]);
        break;
    case NN_ACT_LINEAR:
    default:
        break;
    }
}

/* out = (acc ? out : 0) + G, G the local derivative times dy, an expression of yv = y[i]
 * and dv = dy[i] (both loaded unconditionally, so a select needs no branch). out == dy (in
 * place, acc 0) and out != dy get separate loops; y never overlaps dy or out. */
#define ACT_GRAD_LOOP(G)                                                                    \
    do {                                                                                   \
        const float *restrict yp_ = y;                                                     \
        if (out == dy) {                                                                   \
            float *restrict io_ = out;                                                     \
            NN_SPLIT_LOOP(i, n, float yv = yp_[i]; float dv = io_[i]; io_[i] = (G));       \
        } else {                                                                           \
            const float *restrict dp_ = dy;                                                \
            float *restrict op_ = out;                                                     \
            if (acc)                                                                       \
                NN_SPLIT_LOOP(i, n, float yv = yp_[i]; float dv = dp_[i]; op_[i] += (G));  \
            else                                                                           \
                NN_SPLIT_LOOP(i, n, float yv = yp_[i]; float dv = dp_[i]; op_[i] = (G));   \
        }                                                                                  \
    } while (0)

/* y, dy, out are (rows, cols). Compiled for several vector widths (element-wise work and
 * the softmax rows' sequential sums: the same results on every version). */
NN_CLONES void nn_act_backward(nn_act a, float alpha, const float *y, const float *dy, float *out,
                     int64_t rows, int cols, int acc)
{
    int64_t n = rows * cols;
    switch (a) {
    case NN_ACT_RELU:
        ACT_GRAD_LOOP(yv > 0.0f ? dv : 0.0f);
        break;
    case NN_ACT_SIGMOID:
        ACT_GRAD_LOOP(dv * yv * (1.0f - yv));
        break;
    case NN_ACT_TANH:
        ACT_GRAD_LOOP(dv * (1.0f - yv * yv));
        break;
    case NN_ACT_LEAKY_RELU:
        ACT_GRAD_LOOP(yv > 0.0f ? dv : alpha * dv);
        break;
    case NN_ACT_ELU: /* x <= 0: d/dx alpha*(e^x - 1) = alpha*e^x = y + alpha */
        ACT_GRAD_LOOP(yv > 0.0f ? dv : dv * (yv + alpha));
        break;
    case NN_ACT_SOFTMAX: /* dx = y * (dy - sum(dy * y)) per row */
        for (int64_t r = 0; r < rows; r++) {
            const float *yr = y + r * cols, *dr = dy + r * cols;
            float *o = out + r * cols;
            float s = 0.0f;
            for (int j = 0; j < cols; j++)
                s += dr[j] * yr[j];
            for (int j = 0; j < cols; j++)
                o[j] = (acc ? o[j] : 0.0f) + yr[j] * (dr[j] - s);
        }
        break;
    case NN_ACT_LINEAR:
    default:
        if (out != dy || acc) {
            const float *restrict dp = dy;
            float *restrict op = out;
            if (acc)
                NN_SPLIT_LOOP(i, n, op[i] += dp[i]);
            else
                NN_SPLIT_LOOP(i, n, op[i] = dp[i]);
        }
        break;
    }
}

/* db (n) += row (n); a kernel of its own: the same loop nested in the row loop below is left
 * scalar by GCC -O2. */
NN_KERNEL add_row(float *restrict db, const float *restrict row, int n)
{
    NN_SPLIT_LOOP32(j, n, db[j] += row[j]);
}

/* db (cols) = (acc ? db : 0) + the column sums of dz (rows, cols), row by row in order. */
void nn_col_sums(float *restrict db, const float *restrict dz, int64_t rows, int cols, int acc)
{
    if (!acc)
        memset(db, 0, (size_t)cols * sizeof *db);
    for (int64_t r = 0; r < rows; r++)
        add_row(db, dz + r * cols, cols);
}
