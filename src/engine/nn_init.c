/* nn_init.c - weight initialisers with Keras's definitions (VarianceScaling):
 *   glorot_uniform  U(-l, l), l = sqrt(6 / (fan_in + fan_out))
 *   glorot_normal   truncated N(0, s), s = sqrt(2 / (fan_in + fan_out)) / 0.8796...
 *   he_uniform      l = sqrt(6 / fan_in);  he_normal     s = sqrt(2 / fan_in) / 0.8796...
 *   lecun_uniform   l = sqrt(3 / fan_in);  lecun_normal  s = sqrt(1 / fan_in) / 0.8796...
 *   random_uniform  U(a, b), default [-0.05, 0.05);  random_normal N(a, b), default (0, 0.05)
 * The truncated normals redraw outside two standard deviations; 0.87962566103423978 is the
 * standard deviation of a standard normal truncated to [-2, 2], which Keras divides by so the
 * result keeps the intended variance. */
#include <math.h>

#include "nn_internal.h"

#define TRUNC_STDDEV 0.87962566103423978

void nn_init_fill(float *w, int64_t n, nn_init init, int64_t fan_in, int64_t fan_out,
                  fg_rng *rng)
{
    double fi = fan_in > 0 ? (double)fan_in : 1.0, fo = fan_out > 0 ? (double)fan_out : 1.0;
    double limit = 0.0, stddev = 0.0, lo, hi, mean;
    switch (init.kind) {
    case NN_INIT_ZEROS:
    case NN_INIT_ONES:
        for (int64_t i = 0; i < n; i++)
            w[i] = init.kind == NN_INIT_ONES ? 1.0f : 0.0f;
        return;
    case NN_INIT_GLOROT_UNIFORM: limit = sqrt(6.0 / (fi + fo)); break;
    case NN_INIT_HE_UNIFORM: limit = sqrt(6.0 / fi); break;
    case NN_INIT_LECUN_UNIFORM: limit = sqrt(3.0 / fi); break;
    case NN_INIT_GLOROT_NORMAL: stddev = sqrt(2.0 / (fi + fo)) / TRUNC_STDDEV; break;
    case NN_INIT_HE_NORMAL: stddev = sqrt(2.0 / fi) / TRUNC_STDDEV; break;
    case NN_INIT_LECUN_NORMAL: stddev = sqrt(1.0 / fi) / TRUNC_STDDEV; break;
    case NN_INIT_RANDOM_UNIFORM:
        lo = isnan(init.a) ? -0.05 : init.a;
        hi = isnan(init.b) ? 0.05 : init.b;
        for (int64_t i = 0; i < n; i++)
            w[i] = (float)(lo + (hi - lo) * fg_rng_uniform(rng));
        return;
    case NN_INIT_RANDOM_NORMAL:
        mean = isnan(init.a) ? 0.0 : init.a;
        stddev = isnan(init.b) ? 0.05 : init.b;
        for (int64_t i = 0; i < n; i++)
            w[i] = (float)(mean + stddev * fg_rng_normal(rng));
        return;
    default:
        return;
    }
    if (limit > 0.0) {
        for (int64_t i = 0; i < n; i++)
            w[i] = (float)(limit * (2.0 * fg_rng_uniform(rng) - 1.0));
    } else {
        for (int64_t i = 0; i < n; i++)
            w[i] = (float)(stddev * fg_rng_truncnormal(rng));
    }
}

int nn_init_check(nn_init init, const char *what, fg_err *err)
{
    if ((int)init.kind < 0 || init.kind >= NN_INIT__COUNT)
        return fg_err_set(err, "%s: unknown initializer %d", what, (int)init.kind);
    if (init.kind == NN_INIT_RANDOM_UNIFORM) {
        double lo = isnan(init.a) ? -0.05 : init.a, hi = isnan(init.b) ? 0.05 : init.b;
        if (!(lo < hi) || !isfinite(lo) || !isfinite(hi))
            return fg_err_set(err, "%s: random_uniform needs minval < maxval (got %g, %g)",
                              what, lo, hi);
    }
    if (init.kind == NN_INIT_RANDOM_NORMAL) {
        double mean = isnan(init.a) ? 0.0 : init.a, sd = isnan(init.b) ? 0.05 : init.b;
        if (!(sd > 0.0) || !isfinite(mean) || !isfinite(sd))
            return fg_err_set(err, "%s: random_normal needs a finite mean and stddev > 0 "
                                   "(got %g, %g)", what, mean, sd);
    }
    return 0;
}
