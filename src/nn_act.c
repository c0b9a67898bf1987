/* nn_act.c - activation functions, forward (with a fused bias add) and backward, shared by
 * dense, convolution and activation layers. Derivatives are written through the output
 * y = f(x), so no pre-activation buffer is kept. That needs alpha >= 0 for leaky_relu and
 * elu (checked when the network is planned). */
#include <math.h>

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

/* y is (rows, cols); bias is (cols) or NULL. */
void nn_act_forward(nn_act a, float alpha, float *y, const float *bias, int64_t rows, int cols)
{
    for (int64_t r = 0; r < rows; r++) {
        float *v = y + r * cols;
        if (bias)
            for (int j = 0; j < cols; j++)
                v[j] += bias[j];
        switch (a) {
        case NN_ACT_RELU:
            for (int j = 0; j < cols; j++)
                v[j] = v[j] > 0.0f ? v[j] : 0.0f;
            break;
        case NN_ACT_SIGMOID:
            for (int j = 0; j < cols; j++)
                v[j] = sigmoidf(v[j]);
            break;
        case NN_ACT_TANH:
            for (int j = 0; j < cols; j++)
                v[j] = tanhf(v[j]);
            break;
        case NN_ACT_SOFTMAX:
            softmax_row(v, cols);
            break;
        case NN_ACT_LEAKY_RELU:
            for (int j = 0; j < cols; j++)
                v[j] = v[j] > 0.0f ? v[j] : alpha * v[j];
            break;
        case NN_ACT_ELU:
            for (int j = 0; j < cols; j++)
                v[j] = v[j] > 0.0f ? v[j] : alpha * expm1f(v[j]);
            break;
        case NN_ACT_LINEAR:
        default:
            break;
        }
    }
}

/* G is the local derivative times dy, an expression of y[i] and dy[i]. */
#define ACT_GRAD_LOOP(G)                                                                    \
    do {                                                                                   \
        if (acc)                                                                           \
            for (int64_t i = 0; i < n; i++)                                                \
                out[i] += (G);                                                             \
        else                                                                               \
            for (int64_t i = 0; i < n; i++)                                                \
                out[i] = (G);                                                              \
    } while (0)

/* y, dy, out are (rows, cols). */
void nn_act_backward(nn_act a, float alpha, const float *y, const float *dy, float *out,
                     int64_t rows, int cols, int acc)
{
    int64_t n = rows * cols;
    switch (a) {
    case NN_ACT_RELU:
        ACT_GRAD_LOOP(y[i] > 0.0f ? dy[i] : 0.0f);
        break;
    case NN_ACT_SIGMOID:
        ACT_GRAD_LOOP(dy[i] * y[i] * (1.0f - y[i]));
        break;
    case NN_ACT_TANH:
        ACT_GRAD_LOOP(dy[i] * (1.0f - y[i] * y[i]));
        break;
    case NN_ACT_LEAKY_RELU:
        ACT_GRAD_LOOP(y[i] > 0.0f ? dy[i] : alpha * dy[i]);
        break;
    case NN_ACT_ELU: /* x <= 0: d/dx alpha*(e^x - 1) = alpha*e^x = y + alpha */
        ACT_GRAD_LOOP(y[i] > 0.0f ? dy[i] : dy[i] * (y[i] + alpha));
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
        if (out != dy || acc)
            ACT_GRAD_LOOP(dy[i]);
        break;
    }
}
