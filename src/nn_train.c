/* nn_train.c - the training loop (nn_fit) and evaluation (nn_evaluate), with Keras's
 * semantics:
 *   - each epoch visits a copy of train_idx shuffled by an RNG seeded from (seed, epoch), in
 *     mini-batches of batch_size (the last one smaller);
 *   - the epoch's loss and accuracy are running averages over its samples, computed with the
 *     weights of the moment (what Keras prints and stores in History); the loss includes the
 *     L2 penalty, as Keras adds regularization losses;
 *   - validation after every epoch with the same loss (cross-entropy + L2 penalty);
 *   - EarlyStopping: an improvement is a change of the monitored value by more than
 *     es_min_delta in the right direction (min for losses, max for accuracies); the wait
 *     counter grows every epoch and resets on improvement; training stops when it reaches
 *     es_patience (never after the first epoch alone);
 *   - ReduceLROnPlateau: after rlr_patience epochs without improvement (by rlr_min_delta)
 *     outside cooldown, lr = max(lr * factor, min_lr) if lr > min_lr, then rlr_cooldown
 *     epochs of cooldown;
 *   - restore_best: at the end, the weights of the best epoch by es_monitor (whether or not
 *     early stopping is on, and whether or not it stopped training).
 * Dropout masks come from an RNG seeded from (seed, "dropout"), so a fit depends only on
 * its arguments. Nothing is allocated inside a step: the shuffled indices, the optimizer
 * state and the best-weights copy are one block allocated before the first epoch. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn_internal.h"

#define DROPOUT_STREAM 0x64726f706f7574ULL /* "dropout" */

static int check_data(const nn_net *net, const nn_data *data, fg_err *err)
{
    const nn_net_desc *d = &net->desc;
    if (!data || !data->images || !data->labels)
        return fg_err_set(err, "no data");
    if (data->h != d->in_h || data->w != d->in_w || data->c != d->in_c)
        return fg_err_set(err, "data images are %dx%dx%d but the network takes %dx%dx%d",
                          data->h, data->w, data->c, d->in_h, d->in_w, d->in_c);
    if (data->n_classes != d->n_classes)
        return fg_err_set(err, "data has %d classes but the network outputs %d",
                          data->n_classes, d->n_classes);
    return 0;
}

static int check_idx(const nn_net *net, const nn_data *data, const int32_t *idx, int n,
                     const char *what, fg_err *err)
{
    if (n < 0 || (n > 0 && !idx))
        return fg_err_set(err, "%s: no indices", what);
    for (int i = 0; i < n; i++) {
        if (idx[i] < 0)
            return fg_err_set(err, "%s: index %d is negative (%d)", what, i, (int)idx[i]);
        if (data->labels[idx[i]] >= net->desc.n_classes)
            return fg_err_set(err, "%s: image %d has label %d, not below %d", what,
                              (int)idx[i], data->labels[idx[i]], net->desc.n_classes);
    }
    return 0;
}

/* Evaluation without argument checks: loss (cross-entropy + L2) and accuracy. */
static void evaluate(nn_net *net, const nn_data *data, const int32_t *idx, int n, float *loss,
                     float *acc, uint8_t *pred)
{
    if (n == 0) {
        *loss = *acc = NAN;
        return;
    }
    double sum = 0.0;
    int64_t correct = 0;
    for (int start = 0; start < n; start += net->max_batch) {
        int b = n - start < net->max_batch ? n - start : net->max_batch;
        int c = 0;
        nn_net_gather(net, data, idx + start, b);
        nn_net_forward(net, b, 0, NULL);
        sum += nn_net_loss(net, b, 0, &c, pred ? pred + start : NULL);
        correct += c;
    }
    *loss = (float)(sum / n + nn_net_l2(net, 0));
    *acc = (float)((double)correct / n);
}

int nn_evaluate(nn_net *net, const nn_data *data, const int32_t *idx, int n, float *loss,
                float *acc, uint8_t *pred, fg_err *err)
{
    if (!net || !loss || !acc)
        return fg_err_set(err, "nn_evaluate: missing argument");
    if (check_data(net, data, err) || check_idx(net, data, idx, n, "evaluation", err))
        return -1;
    evaluate(net, data, idx, n, loss, acc, pred);
    return 0;
}

static int monitor_is_max(nn_monitor m) { return m == NN_MON_VAL_ACC || m == NN_MON_ACC; }

static float monitor_value(nn_monitor m, const nn_epoch *e)
{
    switch (m) {
    case NN_MON_VAL_LOSS: return e->val_loss;
    case NN_MON_VAL_ACC: return e->val_acc;
    case NN_MON_LOSS: return e->loss;
    case NN_MON_ACC: return e->acc;
    default: return NAN;
    }
}

static int improved(nn_monitor m, float current, double best, double min_delta)
{
    min_delta = fabs(min_delta);
    return monitor_is_max(m) ? current > best + min_delta : current < best - min_delta;
}

static int check_train(const nn_net *net, const nn_train_desc *t, fg_err *err)
{
    if (nn_opt_check(t, err))
        return -1;
    if (t->batch_size < 1 || t->batch_size > net->max_batch)
        return fg_err_set(err, "batch_size must be in 1..%d (the network's max_batch), got %d",
                          net->max_batch, t->batch_size);
    if (t->epochs < 1 || t->epochs > NN_MAX_EPOCHS)
        return fg_err_set(err, "epochs must be in 1..%d (got %d)", NN_MAX_EPOCHS, t->epochs);
    if ((unsigned)t->es_monitor > NN_MON_ACC || (unsigned)t->rlr_monitor > NN_MON_ACC)
        return fg_err_set(err, "unknown monitor");
    if (!isfinite(t->es_min_delta) || !isfinite(t->rlr_min_delta))
        return fg_err_set(err, "min_delta must be finite");
    if (t->rlr_factor > 0.0f) {
        if (!(t->rlr_factor < 1.0f))
            return fg_err_set(err, "reduce_lr factor must be < 1 (got %g)",
                              (double)t->rlr_factor);
        if (t->rlr_patience < 0 || t->rlr_cooldown < 0 || !(t->rlr_min_lr >= 0.0f))
            return fg_err_set(err, "reduce_lr patience, cooldown and min_lr must be >= 0");
    }
    return 0;
}

int nn_fit(nn_net *net, const nn_train_desc *t, const nn_data *data, const int32_t *train_idx,
           int n_train, const int32_t *val_idx, int n_val, uint64_t seed, nn_hook hook,
           void *hook_ctx, nn_fit_result *res, fg_err *err)
{
    if (!net || !t || !res)
        return fg_err_set(err, "nn_fit: missing argument");
    memset(res, 0, sizeof *res);
    res->status = NN_STATUS_FAILED;
    res->val_loss = res->val_acc = NAN;
    res->best_epoch = -1;
    if (check_data(net, data, err) || check_train(net, t, err))
        return -1;
    if (n_train < 1)
        return fg_err_set(err, "no training images");
    if (check_idx(net, data, train_idx, n_train, "training", err) ||
        check_idx(net, data, val_idx, n_val, "validation", err))
        return -1;

    /* One block for the fit: shuffled indices, optimizer state, best weights. */
    const int monitor = t->es_patience >= 0 || t->restore_best;
    const int64_t n_state = nn_opt_state_size(t, net->n_train);
    const int64_t n_best = t->restore_best ? net->n_params : 0;
    size_t idx_bytes = ((size_t)n_train * sizeof(int32_t) + 63) / 64 * 64;
    char *block = malloc(idx_bytes + (size_t)(n_state + n_best) * sizeof(float) + 1);
    if (!block)
        return fg_err_set(err, "out of memory (training state of %lld parameters)",
                          (long long)net->n_params);
    int32_t *order = (int32_t *)block;
    float *state = (float *)(block + idx_bytes), *best_w = state + n_state;

    nn_opt opt;
    nn_opt_init(&opt, t, net->n_train, state);
    fg_rng drop_rng;
    fg_rng_seed(&drop_rng, fg_hash_mix(seed, DROPOUT_STREAM));
    float lr = t->learning_rate;
    const int bs = t->batch_size;
    /* Plain SGD runs inside backward (one pass less over parameters and gradients). */
    const int fused = t->optimizer == NN_OPT_SGD && t->momentum == 0.0f && net->can_fuse_sgd;
    double es_best = monitor_is_max(t->es_monitor) ? -INFINITY : INFINITY;
    double rlr_best = monitor_is_max(t->rlr_monitor) ? -INFINITY : INFINITY;
    int es_wait = 0, rlr_wait = 0, rlr_cool = 0;
    nn_status status = NN_STATUS_OK;

    for (int epoch = 0; epoch < t->epochs; epoch++) {
        double t0 = fg_now();
        nn_epoch *h = &res->hist[epoch];
        memcpy(order, train_idx, (size_t)n_train * sizeof *order);
        fg_rng shuffle;
        fg_rng_seed(&shuffle, fg_hash_mix(seed, (uint64_t)epoch));
        fg_rng_shuffle_i32(&shuffle, order, (size_t)n_train);

        double loss_sum = 0.0;
        int64_t correct = 0, seen = 0;
        for (int start = 0; start < n_train; start += bs) {
            int b = n_train - start < bs ? n_train - start : bs, c = 0;
            nn_net_gather(net, data, order + start, b);
            nn_net_forward(net, b, 1, &drop_rng);
            double ce = nn_net_loss(net, b, 1, &c, NULL), loss;
            if (fused) {
                loss = ce / b + nn_net_l2(net, 0);
            } else {
                nn_net_backward(net, b);
                loss = ce / b + nn_net_l2(net, 1);
            }
            loss_sum += loss * b;
            correct += c;
            seen += b;
            if (!isfinite(loss)) {
                h->loss = (float)(loss_sum / (double)seen);
                h->acc = (float)((double)correct / (double)seen);
                h->val_loss = h->val_acc = NAN;
                h->lr = lr;
                h->seconds = fg_now() - t0;
                res->epochs_run = epoch + 1;
                status = NN_STATUS_DIVERGED;
                goto done;
            }
            if (fused)
                nn_net_backward_sgd(net, b, lr);
            else
                nn_opt_step(&opt, net->params, net->grads, lr);
            if (hook && hook(hook_ctx)) {
                status = NN_STATUS_TIMEOUT;
                goto done;
            }
        }
        h->loss = (float)(loss_sum / (double)seen);
        h->acc = (float)((double)correct / (double)seen);
        evaluate(net, data, val_idx, n_val, &h->val_loss, &h->val_acc, NULL);
        h->lr = lr;
        h->seconds = fg_now() - t0;
        res->epochs_run = epoch + 1;

        int stop = 0;
        float cur = monitor_value(t->es_monitor, h);
        if (monitor && !isnan(cur)) {
            es_wait++;
            if (improved(t->es_monitor, cur, es_best, t->es_min_delta)) {
                es_best = cur;
                es_wait = 0;
                res->best_epoch = epoch;
                if (n_best)
                    memcpy(best_w, net->params, (size_t)n_best * sizeof *best_w);
            } else if (t->es_patience >= 0 && es_wait >= t->es_patience && epoch > 0) {
                stop = 1;
            }
        }
        cur = monitor_value(t->rlr_monitor, h);
        if (t->rlr_factor > 0.0f && !isnan(cur)) {
            if (rlr_cool > 0) {
                rlr_cool--;
                rlr_wait = 0;
            }
            if (improved(t->rlr_monitor, cur, rlr_best, t->rlr_min_delta)) {
                rlr_best = cur;
                rlr_wait = 0;
            } else if (rlr_cool == 0 && ++rlr_wait >= t->rlr_patience && lr > t->rlr_min_lr) {
                double nl = (double)lr * t->rlr_factor;
                lr = (float)(nl > t->rlr_min_lr ? nl : t->rlr_min_lr);
                rlr_cool = t->rlr_cooldown;
                rlr_wait = 0;
            }
        }
        if (stop)
            break;
    }

done:
    res->status = status;
    if (status == NN_STATUS_OK) {
        int last = res->epochs_run - 1;
        int pick = last;
        if (t->restore_best && res->best_epoch >= 0) {
            pick = res->best_epoch;
            if (pick != last)
                memcpy(net->params, best_w, (size_t)n_best * sizeof *best_w);
        }
        res->val_loss = res->hist[pick].val_loss;
        res->val_acc = res->hist[pick].val_acc;
    }
    free(block);
    return 0;
}
