/* nn_layer_bn.c - batch_normalization over the last axis (c). Shape inference only for now
 * (forward is NULL: "not implemented yet"). Parameters as Keras: gamma and beta (c each,
 * trainable), then moving mean and moving variance (c each, non-trainable, stored after all
 * trainable parameters); Keras's total counts all 4*c. */
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
    return 0;
}

const nn_layer_ops nn_batch_norm_ops = {bn_plan, NULL, NULL, NULL, 0};
