/* nn_layer_pool.c - max_pooling2d, average_pooling2d and global_average_pooling2d. Shape
 * inference only for now (forward is NULL: "not implemented yet"). Pooling strides default
 * to the pool size, as Keras's strides=None. */
#include "nn_internal.h"

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

static int global_avg_pool_plan(const nn_layer_desc *d, const nn_shape *in, int n_in,
                                nn_plan *p, fg_err *err)
{
    if (nn_plan_need_image(in, err))
        return -1;
    p->out = (nn_shape){1, 1, in->c, 1};
    p->flops = nn_shape_size(*in);
    return 0;
}

const nn_layer_ops nn_max_pool_ops = {pool_plan, NULL, NULL, NULL, 0};
const nn_layer_ops nn_avg_pool_ops = {pool_plan, NULL, NULL, NULL, 0};
const nn_layer_ops nn_global_avg_pool_ops = {global_avg_pool_plan, NULL, NULL, NULL, 0};
