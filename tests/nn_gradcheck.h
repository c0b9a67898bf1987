/* nn_gradcheck.h - the finite-difference gradient check shared by test_nn and
 * test_nn_conv: every parameter and input derivative of a network against a
 * Richardson-extrapolated central difference. Include after check.h and nn_internal.h. */
#ifndef NN_GRADCHECK_H
#define NN_GRADCHECK_H

#include <math.h>
#include <stdlib.h>

#define GC_SEED 1234

static double gc_loss(nn_net *net, int batch)
{
    fg_rng r;
    fg_rng_seed(&r, GC_SEED); /* the same dropout mask on every evaluation */
    nn_net_forward(net, batch, 1, &r);
    return nn_net_loss(net, batch, 0, NULL, NULL) / batch + nn_net_l2(net, 0);
}

static double gc_diff(nn_net *net, int batch, float *v, float h)
{
    float save = *v, up = save + h, down = save - h;
    *v = up;
    double lp = gc_loss(net, batch);
    *v = down;
    double lm = gc_loss(net, batch);
    *v = save;
    return (lp - lm) / ((double)up - (double)down);
}

typedef struct {
    int checked, skipped, bad;
    double num2, err2; /* sums of squares, for the global relative error */
    double worst;
} gc_stats;

/* Compares one analytic derivative with a Richardson-extrapolated central difference.
 * Derivatives whose two step sizes disagree a lot sit on a kink (relu at 0) and are
 * skipped. */
static void gc_one(nn_net *net, int batch, float *v, double analytic, gc_stats *st)
{
    const float h = 1e-2f;
    double d1 = gc_diff(net, batch, v, h), d2 = gc_diff(net, batch, v, h / 2);
    double scale = fabs(d1) > fabs(d2) ? fabs(d1) : fabs(d2);
    if (fabs(d1 - d2) > 0.05 * scale + 1e-3) {
        st->skipped++;
        return;
    }
    double num = (4.0 * d2 - d1) / 3.0;
    double err = fabs(num - analytic);
    double rel = err / (fabs(num) > 1e-2 ? fabs(num) : 1e-2);
    st->checked++;
    st->num2 += num * num;
    st->err2 += err * err;
    st->worst = rel > st->worst ? rel : st->worst;
    if (err > 2e-3 * fabs(num) + 5e-5) /* float forward passes: ~1e-5 of noise */
        st->bad++;
}

/* Runs forward, loss and backward once on the batch already in net->x / net->labels, then
 * checks every parameter and the first n_in input derivatives; frees net and returns the
 * global relative error. */
static double gc_finish(const char *what, nn_net *net, int batch, int64_t n_in)
{
    fg_rng dr;
    fg_rng_seed(&dr, GC_SEED);
    nn_net_forward(net, batch, 1, &dr);
    nn_net_loss(net, batch, 1, NULL, NULL);
    nn_net_backward(net, batch);
    nn_net_l2(net, 1);
    double *g = malloc(sizeof(double) * (size_t)(net->n_train + n_in));
    for (int64_t i = 0; i < net->n_train; i++)
        g[i] = net->grads[i];
    for (int64_t i = 0; i < n_in; i++)
        g[net->n_train + i] = net->dx[i];

    gc_stats st = {0};
    for (int64_t i = 0; i < net->n_train; i++)
        gc_one(net, batch, &net->params[i], g[i], &st);
    for (int64_t i = 0; i < n_in; i++)
        gc_one(net, batch, &net->x[i], g[net->n_train + i], &st);
    double global = sqrt(st.err2 / (st.num2 > 0 ? st.num2 : 1e-300));
    CHECK_MSG(global < 1e-3 && st.bad == 0, "%s: gradient relative error %.3g (worst %.3g, %d of "
                                            "%d bad)", what, global, st.worst, st.bad, st.checked);
    CHECK_MSG(st.skipped * 10 <= st.checked, "%s: %d of %d derivatives skipped as kinks", what,
              st.skipped, st.checked + st.skipped);
    CHECK_MSG(st.num2 > 1e-6, "%s: gradients vanish", what);
    free(g);
    nn_net_free(net);
    return global;
}

#endif
