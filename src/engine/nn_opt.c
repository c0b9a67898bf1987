/* nn_opt.c - the seven optimizers as flat loops over all n trainable values, with tf.keras
 * 2.x (optimizer_v2 / training_ops) update rules. t counts steps from 1; g is the gradient.
 *   sgd       momentum 0: w -= lr*g;  else v = mom*v - lr*g; w += v
 *             (nesterov: w += mom*v - lr*g, with the new v)
 *   adam      m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
 *             w -= lr*sqrt(1-b2^t)/(1-b1^t) * m / (sqrt(v) + eps)
 *   rmsprop   ms = rho*ms + (1-rho)*g^2;
 *             momentum 0: w -= lr*g / (sqrt(ms) + eps)
 *             else mom = momentum*mom + lr*g / sqrt(ms + eps); w -= mom
 *   adagrad   acc (starts at initial_accumulator) += g^2; w -= lr*g / (sqrt(acc) + eps)
 *   adadelta  acc = rho*acc + (1-rho)*g^2; u = sqrt(accu + eps) / sqrt(acc + eps) * g;
 *             accu = rho*accu + (1-rho)*u^2; w -= lr*u
 *   adamax    m = b1*m + (1-b1)*g; u = max(b2*u, |g|); w -= lr/(1-b1^t) * m / (u + eps)
 *   nadam     mu_t = b1*(1 - 0.5*0.96^(0.004*t)), mu_t1 = the same at t+1,
 *             S_t = prod_{i<=t} mu_i (the momentum cache), S_t1 = S_t*mu_t1;
 *             m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
 *             mbar = (1-mu_t)*g/(1-S_t) + mu_t1*m/(1-S_t1);
 *             w -= lr*mbar / (sqrt(v/(1-b2^t)) + eps)
 *   adamw     adam, with weight_decay 0.004 by default (Keras AdamW)
 * Decoupled weight decay (Keras optimizers' weight_decay, for every optimizer): before the
 * update, w -= w * wd * lr over every trainable value, lr being the step's scheduled rate. */
#include <math.h>
#include <string.h>

#include "nn_internal.h"

int64_t nn_opt_state_size(const nn_train_desc *t, int64_t n)
{
    switch (t->optimizer) {
    case NN_OPT_SGD: return t->momentum > 0.0f ? n : 0;
    case NN_OPT_RMSPROP: return t->momentum > 0.0f ? 2 * n : n;
    case NN_OPT_ADAGRAD: return n;
    case NN_OPT_ADAM:
    case NN_OPT_ADAMW:
    case NN_OPT_ADADELTA:
    case NN_OPT_ADAMAX:
    case NN_OPT_NADAM: return 2 * n;
    default: return 0;
    }
}

static int in_range(float v, float lo, float hi, int hi_open)
{
    return v >= lo && (hi_open ? v < hi : v <= hi);
}

int nn_opt_check(const nn_train_desc *t, fg_err *err)
{
    if ((int)t->optimizer < 0 || t->optimizer >= NN_OPT__COUNT)
        return fg_err_set(err, "unknown optimizer %d", (int)t->optimizer);
    const char *name = nn_opt_name(t->optimizer);
    if (!(t->learning_rate >= 0.0f && isfinite(t->learning_rate)))
        return fg_err_set(err, "%s: learning_rate must be >= 0 (got %g)", name,
                          (double)t->learning_rate);
    switch (t->optimizer) {
    case NN_OPT_SGD:
    case NN_OPT_RMSPROP:
        if (!in_range(t->momentum, 0.0f, 1.0f, 0))
            return fg_err_set(err, "%s: momentum must be in [0, 1] (got %g)", name,
                              (double)t->momentum);
        break;
    default: break;
    }
    if (t->optimizer == NN_OPT_ADAM || t->optimizer == NN_OPT_ADAMW ||
        t->optimizer == NN_OPT_ADAMAX || t->optimizer == NN_OPT_NADAM) {
        if (!in_range(t->beta_1, 0.0f, 1.0f, 1) || !in_range(t->beta_2, 0.0f, 1.0f, 1))
            return fg_err_set(err, "%s: beta_1 and beta_2 must be in [0, 1) (got %g, %g)", name,
                              (double)t->beta_1, (double)t->beta_2);
    }
    if ((t->optimizer == NN_OPT_RMSPROP || t->optimizer == NN_OPT_ADADELTA) &&
        !in_range(t->rho, 0.0f, 1.0f, 0))
        return fg_err_set(err, "%s: rho must be in [0, 1] (got %g)", name, (double)t->rho);
    if (t->optimizer == NN_OPT_ADAGRAD &&
        !(t->initial_accumulator >= 0.0f && isfinite(t->initial_accumulator)))
        return fg_err_set(err, "adagrad: initial_accumulator must be >= 0 (got %g)",
                          (double)t->initial_accumulator);
    if (t->optimizer != NN_OPT_SGD && !(t->epsilon > 0.0f && isfinite(t->epsilon)))
        return fg_err_set(err, "%s: epsilon must be > 0 (got %g)", name, (double)t->epsilon);
    if (!(t->weight_decay >= 0.0f && isfinite(t->weight_decay)))
        return fg_err_set(err, "%s: weight_decay must be >= 0 (got %g)", name,
                          (double)t->weight_decay);
    return 0;
}

void nn_opt_init(nn_opt *o, const nn_train_desc *t, int64_t n, float *state)
{
    memset(o, 0, sizeof *o);
    o->kind = t->optimizer;
    o->momentum = t->momentum;
    o->nesterov = t->nesterov;
    o->beta_1 = t->beta_1;
    o->beta_2 = t->beta_2;
    o->epsilon = t->epsilon;
    o->rho = t->rho;
    o->weight_decay = t->weight_decay;
    o->n = n;
    o->m_schedule = 1.0;
    int64_t size = nn_opt_state_size(t, n);
    if (size > 0) {
        memset(state, 0, (size_t)size * sizeof *state);
        o->s1 = state;
        o->s2 = size > n ? state + n : NULL;
    }
    if (o->kind == NN_OPT_ADAGRAD)
        for (int64_t i = 0; i < n; i++)
            o->s1[i] = t->initial_accumulator;
}

NN_CLONES void nn_opt_decay(float *restrict w, int64_t n, float wd, float lr)
{
    for (int64_t i = 0; i < n; i++)
        w[i] -= w[i] * wd * lr;
}

/* Adam's update (AdamW's too) in one pass over w, g and the state: the decoupled weight
 * decay (wd > 0), the moments and the step, then the moving average (avg not NULL:
 * avg = m avg + (1 - m) w). Each value takes the operations of nn_opt_decay, the plain
 * loop and nn_ema_update in their order, so the bits are those of the separate passes. */
#define ADAM_LOOP(DECAY, EMA)                                                               \
    for (int64_t i = 0; i < n; i++) {                                                      \
        float wi = w[i];                                                                   \
        DECAY;                                                                             \
        s1[i] = b1 * s1[i] + (1.0f - b1) * g[i];                                           \
        s2[i] = b2 * s2[i] + (1.0f - b2) * g[i] * g[i];                                    \
        wi -= lr_t * s1[i] / (sqrtf(s2[i]) + eps);                                         \
        w[i] = wi;                                                                         \
        EMA;                                                                               \
    }
NN_CLONES static void adam_pass(nn_opt *o, float *restrict w, const float *restrict g, float lr,
                                float lr_t, float *restrict avg, float m)
{
    const int64_t n = o->n;
    const float b1 = o->beta_1, b2 = o->beta_2, eps = o->epsilon, wd = o->weight_decay;
    const float k = 1.0f - m;
    float *restrict s1 = o->s1, *restrict s2 = o->s2;
    /* one loop per case, so that each vectorizes without a condition inside */
    if (wd > 0.0f && avg)
        ADAM_LOOP(wi -= wi * wd * lr, avg[i] = m * avg[i] + k * wi)
    else if (wd > 0.0f)
        ADAM_LOOP(wi -= wi * wd * lr, (void)0)
    else if (avg)
        ADAM_LOOP((void)0, avg[i] = m * avg[i] + k * wi)
    else
        ADAM_LOOP((void)0, (void)0)
}
#undef ADAM_LOOP

void nn_opt_step_ema(nn_opt *o, float *restrict w, const float *restrict g, float lr,
                     float *restrict avg, float momentum)
{
    if (o->kind != NN_OPT_ADAM && o->kind != NN_OPT_ADAMW) {
        nn_opt_step(o, w, g, lr);
        nn_ema_update(avg, w, o->n, momentum, 0);
        return;
    }
    const double t = (double)++o->t;
    const float lr_t = (float)(lr * sqrt(1.0 - pow(o->beta_2, t)) / (1.0 - pow(o->beta_1, t)));
    adam_pass(o, w, g, lr, lr_t, avg, momentum);
}

/* w, g and the state slots never overlap: restrict lets the compiler vectorise at -O2. */
NN_CLONES void nn_opt_step(nn_opt *o, float *restrict w, const float *restrict g, float lr)
{
    const int64_t n = o->n;
    if (o->kind == NN_OPT_ADAM || o->kind == NN_OPT_ADAMW) { /* the decay inside */
        nn_opt_step_ema(o, w, g, lr, NULL, 0.0f);
        return;
    }
    if (o->weight_decay > 0.0f)
        nn_opt_decay(w, n, o->weight_decay, lr);
    const double t = (double)++o->t;
    const float b1 = o->beta_1, b2 = o->beta_2, eps = o->epsilon, rho = o->rho;
    float *restrict s1 = o->s1, *restrict s2 = o->s2;
    switch (o->kind) {
    case NN_OPT_SGD: {
        const float mom = o->momentum;
        if (!s1) {
            for (int64_t i = 0; i < n; i++)
                w[i] -= lr * g[i];
        } else if (o->nesterov) {
            for (int64_t i = 0; i < n; i++) {
                s1[i] = mom * s1[i] - lr * g[i];
                w[i] += mom * s1[i] - lr * g[i];
            }
        } else {
            for (int64_t i = 0; i < n; i++) {
                s1[i] = mom * s1[i] - lr * g[i];
                w[i] += s1[i];
            }
        }
        break;
    }
    case NN_OPT_RMSPROP: {
        const float mom = o->momentum;
        if (s2) {
            for (int64_t i = 0; i < n; i++) {
                s1[i] = rho * s1[i] + (1.0f - rho) * g[i] * g[i];
                s2[i] = mom * s2[i] + lr * g[i] / sqrtf(s1[i] + eps);
                w[i] -= s2[i];
            }
        } else {
            for (int64_t i = 0; i < n; i++) {
                s1[i] = rho * s1[i] + (1.0f - rho) * g[i] * g[i];
                w[i] -= lr * g[i] / (sqrtf(s1[i]) + eps);
            }
        }
        break;
    }
    case NN_OPT_ADAGRAD:
        for (int64_t i = 0; i < n; i++) {
            s1[i] += g[i] * g[i];
            w[i] -= lr * g[i] / (sqrtf(s1[i]) + eps);
        }
        break;
    case NN_OPT_ADADELTA:
        for (int64_t i = 0; i < n; i++) {
            s1[i] = rho * s1[i] + (1.0f - rho) * g[i] * g[i];
            float u = sqrtf(s2[i] + eps) / sqrtf(s1[i] + eps) * g[i];
            s2[i] = rho * s2[i] + (1.0f - rho) * u * u;
            w[i] -= lr * u;
        }
        break;
    case NN_OPT_ADAMAX: {
        const float lr_t = (float)(lr / (1.0 - pow(b1, t)));
        for (int64_t i = 0; i < n; i++) {
            s1[i] = b1 * s1[i] + (1.0f - b1) * g[i];
            float a = fabsf(g[i]), u = b2 * s2[i];
            s2[i] = u > a ? u : a;
            w[i] -= lr_t * s1[i] / (s2[i] + eps);
        }
        break;
    }
    case NN_OPT_NADAM: {
        const double mu_t = b1 * (1.0 - 0.5 * pow(0.96, 0.004 * t));
        const double mu_t1 = b1 * (1.0 - 0.5 * pow(0.96, 0.004 * (t + 1.0)));
        const double s_t = o->m_schedule * mu_t, s_t1 = s_t * mu_t1;
        o->m_schedule = s_t;
        const float cg = (float)((1.0 - mu_t) / (1.0 - s_t));
        const float cm = (float)(mu_t1 / (1.0 - s_t1));
        const float cv = (float)(1.0 / (1.0 - pow(b2, t)));
        for (int64_t i = 0; i < n; i++) {
            s1[i] = b1 * s1[i] + (1.0f - b1) * g[i];
            s2[i] = b2 * s2[i] + (1.0f - b2) * g[i] * g[i];
            float mbar = cg * g[i] + cm * s1[i];
            w[i] -= lr * mbar / (sqrtf(s2[i] * cv) + eps);
        }
        break;
    }
    default: break;
    }
}
