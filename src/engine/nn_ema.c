/* nn_ema.c - the exponential moving average of a network's parameters (Keras's use_ema):
 * after every optimizer step avg = momentum * avg + (1 - momentum) * w, except after the
 * first, which copies w (Keras: the momentum is 0 while optimizer.iterations is 0). nn_fit
 * averages the trainable values, swaps the average in to evaluate (after recomputing batch
 * norm's moving statistics for it) and keeps it at the end. */
#include <string.h>

#include "nn_internal.h"

NN_KERNEL ema_mix(float *restrict avg, const float *restrict w, int64_t n, float m)
{
    const float k = 1.0f - m;
    NN_SPLIT_LOOP(i, n, avg[i] = m * avg[i] + k * w[i]);
}

void nn_ema_update(float *restrict avg, const float *restrict w, int64_t n, float momentum,
                   int first)
{
    if (first)
        memcpy(avg, w, (size_t)n * sizeof *avg);
    else
        ema_mix(avg, w, n, momentum);
}

NN_KERNEL swap_kernel(float *restrict a, float *restrict b, int64_t n)
{
    NN_SPLIT_LOOP(i, n, {
        float t = a[i];
        a[i] = b[i];
        b[i] = t;
    });
}

void nn_ema_swap(float *restrict a, float *restrict b, int64_t n) { swap_kernel(a, b, n); }
