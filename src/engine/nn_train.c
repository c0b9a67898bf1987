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
 * The recipe beyond the study, all off by default (and then not touched, so that such fits
 * stay bit for bit what they were):
 *   - the learning rate of every step comes from the schedule (nn_sched.c) at the step count;
 *     reduce-on-plateau lowers the base rate (the schedule's peak) as above and the step's
 *     rate is the schedule's times base / peak; the epoch records the rate of its last step;
 *   - decoupled weight decay is the optimizer's (nn_opt.c), label smoothing the loss's
 *     (nn.c, also in validation, as Keras's compiled loss);
 *   - augmentation transforms the training batches as they are gathered (nn_augment.c);
 *   - use_ema keeps a moving average of the trainable parameters (nn_ema.c) after every
 *     step; every validation swaps it in, with batch norm's moving statistics recomputed
 *     for it (refresh_bn), restore_best keeps the averaged weights, and the fit ends with
 *     the average (Keras: ema_overwrite_frequency None, finalize_variable_values).
 * Dropout masks, augmentation draws and batch orders come from their own RNG streams seeded
 * from seed, so a fit depends only on its arguments. Nothing is allocated inside a step: the
 * shuffled indices, the optimizer state, the best-weights copy and the moving average are
 * one block allocated before the first epoch. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn_internal.h"

#define DROPOUT_STREAM 0x64726f706f7574ULL /* "dropout" */
#define REFRESH_STREAM 0x626e72656672ULL   /* "bnrefr" */
#define BN_REFRESH_BATCHES 16              /* batches a batch-norm refresh averages */

static int check_data(const nn_net *net, const nn_data *data, fg_err *err)
{
    const nn_net_desc *d = &net->desc;
    if (!data || (!data->images && !data->features) || !data->labels)
        return fg_err_set(err, "no data");
    if (data->features && net->tta_flip)
        return fg_err_set(err, "the test-time flip needs images, not features");
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

/* One chunk's eval-mode forward; with the test-time flip the output then holds the mean of
 * the probabilities of the images and of their mirror images. */
static void eval_forward(nn_net *net, const nn_data *data, const int32_t *idx, int b)
{
    nn_net_gather(net, data, idx, b);
    nn_net_forward(net, b, 0, NULL);
    if (!net->tta_flip)
        return;
    float *restrict y = net->layers[net->n_layers - 1].y, *restrict p = net->tta_p;
    const int64_t n = (int64_t)b * net->desc.n_classes;
    memcpy(p, y, (size_t)n * sizeof *p);
    nn_augment_gather_flip(net, data, idx, b);
    nn_net_forward(net, b, 0, NULL);
    for (int64_t i = 0; i < n; i++)
        y[i] = 0.5f * (y[i] + p[i]);
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
        eval_forward(net, data, idx + start, b);
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

int nn_train_desc_check(const nn_train_desc *t, int in_h, int in_w, fg_err *err)
{
    if (nn_opt_check(t, err))
        return -1;
    if (t->batch_size < 1)
        return fg_err_set(err, "batch_size must be >= 1 (got %d)", t->batch_size);
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
    if (!(t->label_smoothing >= 0.0f && t->label_smoothing < 1.0f))
        return fg_err_set(err, "label_smoothing must be in [0, 1) (got %g)",
                          (double)t->label_smoothing);
    if (t->use_ema && !(t->ema_momentum >= 0.0f && t->ema_momentum < 1.0f))
        return fg_err_set(err, "ema_momentum must be in [0, 1) (got %g)",
                          (double)t->ema_momentum);
    return nn_sched_check(t, err) || nn_augment_check(t, in_h, in_w, err) ? -1 : 0;
}

static int check_train(const nn_net *net, const nn_train_desc *t, fg_err *err)
{
    if (t->batch_size < 1 || t->batch_size > net->max_batch)
        return fg_err_set(err, "batch_size must be in 1..%d (the network's max_batch), got %d",
                          net->max_batch, t->batch_size);
    return nn_train_desc_check(t, net->desc.in_h, net->desc.in_w, err);
}

/* Everything one fit carries from step to step. */
typedef struct {
    nn_net *net;
    const nn_train_desc *t;
    const nn_data *data;
    nn_opt opt;
    nn_sched sched;
    int scheduled;    /* the rate varies from step to step */
    nn_augment aug;
    int augment;
    fg_rng drop_rng;
    int fused;        /* plain SGD inside backward */
    float *ema;       /* the moving average of the trainable parameters, or NULL */
    int fresh;        /* the batch-norm statistics in net belong to the average as it is */
    uint64_t refresh_seed; /* dropout stream of every batch-norm refresh */
    float *best_w;    /* the best epoch's (evaluated) parameters, or NULL */
    int64_t step;     /* optimizer updates so far */
    float lr;         /* base rate: the schedule's peak, as reduce-on-plateau lowers it */
    float peak;       /* the base rate before any reduction */
    double es_best, rlr_best;
    int es_wait, rlr_wait, rlr_cool;
} fit_state;

/* The rate of the next step: the schedule's, scaled by what reduce-on-plateau took off. */
static float step_lr(const fit_state *f)
{
    if (!f->scheduled)
        return f->lr;
    double r = nn_sched_lr(&f->sched, f->step);
    return (float)(f->lr == f->peak ? r : r * ((double)f->lr / (double)f->peak));
}

/* One batch: forward, loss, backward and the update at rate lr (skipped when the loss is
 * not finite). Returns the batch's mean loss (cross-entropy + L2), its correct count in *c. */
static double train_batch(fit_state *f, const int32_t *idx, int b, float lr, int *c)
{
    nn_net *net = f->net;
    if (f->augment)
        nn_augment_gather(&f->aug, net, f->data, idx, b);
    else
        nn_net_gather(net, f->data, idx, b);
    nn_net_forward(net, b, 1, &f->drop_rng);
    double ce = nn_net_loss(net, b, 1, c, NULL), loss;
    if (f->fused) {
        loss = ce / b + nn_net_l2(net, 0);
    } else {
        nn_net_backward(net, b);
        loss = ce / b + nn_net_l2(net, 1);
    }
    if (!isfinite(loss))
        return loss;
    const int ema_pass = f->ema && !f->fused && f->step > 0; /* the average in the update */
    if (f->fused)
        nn_net_backward_sgd(net, b, lr);
    else if (ema_pass)
        nn_opt_step_ema(&f->opt, net->params, net->grads, lr, f->ema, f->t->ema_momentum);
    else
        nn_opt_step(&f->opt, net->params, net->grads, lr);
    if (f->ema) {
        if (!ema_pass)
            nn_ema_update(f->ema, net->params, net->n_train, f->t->ema_momentum, f->step == 0);
        f->fresh = 0;
    }
    f->step++;
    return loss;
}

/* One epoch over order[0..n). Fills h's training values and rate; returns OK, DIVERGED or
 * TIMEOUT. */
static nn_status train_epoch(fit_state *f, const int32_t *order, int n, nn_hook hook,
                             void *hook_ctx, nn_epoch *h)
{
    const int bs = f->t->batch_size;
    double loss_sum = 0.0;
    int64_t correct = 0, seen = 0;
    nn_status status = NN_STATUS_OK;
    for (int start = 0; start < n; start += bs) {
        int b = n - start < bs ? n - start : bs, c = 0;
        h->lr = step_lr(f);
        double loss = train_batch(f, order + start, b, h->lr, &c);
        loss_sum += loss * b;
        correct += c;
        seen += b;
        if (!isfinite(loss)) {
            status = NN_STATUS_DIVERGED;
            break;
        }
        if (hook && hook(hook_ctx))
            return NN_STATUS_TIMEOUT;
    }
    h->loss = (float)(loss_sum / (double)seen);
    h->acc = (float)((double)correct / (double)seen);
    return status;
}

/* Batch norm's moving statistics for the weights now in net: the mean of the batch
 * statistics of the first BN_REFRESH_BATCHES batches of order[0..n) (plain images, dropout
 * on as in training, from a stream of its own reseeded every time, so the result depends
 * on the weights and the order only). PyTorch's torch.optim.swa_utils.update_bn. */
static void refresh_bn(fit_state *f, const int32_t *order, int n)
{
    if (nn_net_has_state(f->net)) {
        fg_rng r;
        fg_rng_seed(&r, f->refresh_seed);
        const int bs = f->t->batch_size;
        int k = 0;
        for (int start = 0; start < n && k < BN_REFRESH_BATCHES; start += bs) {
            int b = n - start < bs ? n - start : bs;
            nn_net_gather(f->net, f->data, order + start, b);
            nn_net_forward_refresh(f->net, b, ++k, &r);
        }
    }
    f->fresh = 1;
}

/* Validation of the epoch (none without validation images). With a moving average: its
 * weights swapped in, batch norm refreshed for them on the epoch's order, then the raw
 * weights back (their own moving statistics are never read while averaging). */
static void validate(fit_state *f, const int32_t *order, int n, const int32_t *val_idx,
                     int n_val, nn_epoch *h)
{
    if (!f->ema || n_val == 0) {
        evaluate(f->net, f->data, val_idx, n_val, &h->val_loss, &h->val_acc, NULL);
        return;
    }
    nn_ema_swap(f->net->params, f->ema, f->net->n_train);
    refresh_bn(f, order, n);
    evaluate(f->net, f->data, val_idx, n_val, &h->val_loss, &h->val_acc, NULL);
    nn_ema_swap(f->net->params, f->ema, f->net->n_train);
}

/* EarlyStopping, the best weights and ReduceLROnPlateau after epoch `epoch`; 1 = stop. */
static int callbacks(fit_state *f, int epoch, const nn_epoch *h, nn_fit_result *res)
{
    const nn_train_desc *t = f->t;
    int stop = 0;
    float cur = monitor_value(t->es_monitor, h);
    if ((t->es_patience >= 0 || t->restore_best) && !isnan(cur)) {
        f->es_wait++;
        if (improved(t->es_monitor, cur, f->es_best, t->es_min_delta)) {
            f->es_best = cur;
            f->es_wait = 0;
            res->best_epoch = epoch;
            if (f->best_w) { /* the evaluated weights: the average's, with its statistics */
                const nn_net *net = f->net;
                memcpy(f->best_w, net->params, (size_t)net->n_params * sizeof *f->best_w);
                if (f->ema)
                    memcpy(f->best_w, f->ema, (size_t)net->n_train * sizeof *f->best_w);
            }
        } else if (t->es_patience >= 0 && f->es_wait >= t->es_patience && epoch > 0) {
            stop = 1;
        }
    }
    cur = monitor_value(t->rlr_monitor, h);
    if (t->rlr_factor > 0.0f && !isnan(cur)) {
        if (f->rlr_cool > 0) {
            f->rlr_cool--;
            f->rlr_wait = 0;
        }
        if (improved(t->rlr_monitor, cur, f->rlr_best, t->rlr_min_delta)) {
            f->rlr_best = cur;
            f->rlr_wait = 0;
        } else if (f->rlr_cool == 0 && ++f->rlr_wait >= t->rlr_patience &&
                   f->lr > t->rlr_min_lr) {
            double nl = (double)f->lr * t->rlr_factor;
            f->lr = (float)(nl > t->rlr_min_lr ? nl : t->rlr_min_lr);
            f->rlr_cool = t->rlr_cooldown;
            f->rlr_wait = 0;
        }
    }
    return stop;
}

/* The fit's block: shuffled indices, optimizer state, best weights, moving average. */
static char *alloc_fit(fit_state *f, int n_train, int32_t **order, fg_err *err)
{
    const nn_train_desc *t = f->t;
    const int64_t n_state = nn_opt_state_size(t, f->net->n_train);
    const int64_t n_best = t->restore_best ? f->net->n_params : 0;
    const int64_t n_ema = t->use_ema ? f->net->n_train : 0;
    size_t idx_bytes = ((size_t)n_train * sizeof(int32_t) + 63) / 64 * 64;
    char *block = malloc(idx_bytes + (size_t)(n_state + n_best + n_ema) * sizeof(float) + 1);
    if (!block) {
        fg_err_set(err, "out of memory (training state of %lld parameters)",
                   (long long)f->net->n_params);
        return NULL;
    }
    *order = (int32_t *)block;
    /* cppcheck-suppress invalidPointerCast ; raw malloc'ed storage, never read as char:
     * the floats start idx_bytes (a multiple of 64) into it, so they are aligned */
    float *state = (float *)(block + idx_bytes);
    nn_opt_init(&f->opt, t, f->net->n_train, state);
    f->best_w = n_best ? state + n_state : NULL;
    f->ema = n_ema ? state + n_state + n_best : NULL;
    return block;
}

/* Sets up f for a fit of t on n_train images from seed (everything but the block). */
static void init_fit(fit_state *f, nn_net *net, const nn_train_desc *t, const nn_data *data,
                     int n_train, uint64_t seed)
{
    memset(f, 0, sizeof *f);
    f->net = net;
    f->t = t;
    f->data = data;
    int64_t steps = (int64_t)((n_train + t->batch_size - 1) / t->batch_size) * t->epochs;
    nn_sched_init(&f->sched, t, steps);
    f->scheduled = !nn_sched_is_constant(&f->sched);
    f->peak = f->lr = (float)f->sched.peak;
    nn_augment_init(&f->aug, t, seed);
    f->augment = nn_augment_active(&f->aug);
    fg_rng_seed(&f->drop_rng, fg_hash_mix(seed, DROPOUT_STREAM));
    f->refresh_seed = fg_hash_mix(seed, REFRESH_STREAM);
    /* Plain SGD runs inside backward (one pass less over parameters and gradients). */
    f->fused = t->optimizer == NN_OPT_SGD && t->momentum == 0.0f && t->weight_decay == 0.0f &&
               net->can_fuse_sgd;
    f->es_best = monitor_is_max(t->es_monitor) ? -INFINITY : INFINITY;
    f->rlr_best = monitor_is_max(t->rlr_monitor) ? -INFINITY : INFINITY;
    nn_net_set_eval(net, t);
}

/* The weights a fit ends with (the moving average with its batch-norm statistics, or the
 * best epoch's) and its scores; order[0..n) is the last epoch's. */
static void finish_fit(fit_state *f, const int32_t *order, int n, nn_fit_result *res)
{
    int last = res->epochs_run - 1, pick = last;
    if (f->ema) {
        memcpy(f->net->params, f->ema, (size_t)f->net->n_train * sizeof *f->ema);
        if (!f->fresh)
            refresh_bn(f, order, n);
    }
    if (f->t->restore_best && res->best_epoch >= 0) {
        pick = res->best_epoch;
        if (pick != last)
            memcpy(f->net->params, f->best_w, (size_t)f->net->n_params * sizeof *f->best_w);
    }
    res->val_loss = res->hist[pick].val_loss;
    res->val_acc = res->hist[pick].val_acc;
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
    if (data->features && (t->tta_flip || t->augment_translate || t->augment_flip ||
                           t->augment_erase > 0.0f))
        return fg_err_set(err, "augmentation and the test-time flip need images, not features");
    if (n_train < 1)
        return fg_err_set(err, "no training images");
    if (check_idx(net, data, train_idx, n_train, "training", err) ||
        check_idx(net, data, val_idx, n_val, "validation", err))
        return -1;

    fit_state f;
    int32_t *order;
    init_fit(&f, net, t, data, n_train, seed);
    char *block = alloc_fit(&f, n_train, &order, err);
    if (!block)
        return -1;
    nn_status status = NN_STATUS_OK;
    for (int epoch = 0; epoch < t->epochs; epoch++) {
        double t0 = fg_now();
        nn_epoch *h = &res->hist[epoch];
        memcpy(order, train_idx, (size_t)n_train * sizeof *order);
        fg_rng shuffle;
        fg_rng_seed(&shuffle, fg_hash_mix(seed, (uint64_t)epoch));
        fg_rng_shuffle_i32(&shuffle, order, (size_t)n_train);
        status = train_epoch(&f, order, n_train, hook, hook_ctx, h);
        if (status == NN_STATUS_TIMEOUT)
            break;
        if (status == NN_STATUS_OK)
            validate(&f, order, n_train, val_idx, n_val, h);
        else
            h->val_loss = h->val_acc = NAN;
        h->seconds = fg_now() - t0;
        res->epochs_run = epoch + 1;
        if (status != NN_STATUS_OK || callbacks(&f, epoch, h, res))
            break;
    }
    res->status = status;
    if (status == NN_STATUS_OK)
        finish_fit(&f, order, n_train, res);
    free(block);
    return 0;
}
