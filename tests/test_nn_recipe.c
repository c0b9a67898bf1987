/* test_nn_recipe.c - the training recipe beyond the study: learning-rate schedules against
 * hand-computed values (alone and inside nn_fit, with reduce-on-plateau), decoupled weight
 * decay and adamw against the formulas, label smoothing (loss by hand, gradient by finite
 * differences), the moving average of the weights against one computed beside a plain fit,
 * augmentation on hand-made images (shift, flip, erase with fixed draws), its random
 * streams and its absence from validation, and the test-time flip against scores by hand. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_internal.h"
#include "check.h"
#include "nn_gradcheck.h"
#include "nn.h"
#include "nn_gemm.h"
#include "nn_testnet.h"

/* ---- a small separable data set: 4x4 images, class k = a bright quadrant k ------------------ */

enum { SYN_N = 300, SYN_H = 4, SYN_W = 4, SYN_C = 4 };

typedef struct {
    uint8_t img[2 * SYN_N * 16], lab[2 * SYN_N];
    int32_t train[SYN_N], val[SYN_N];
    nn_data data;
} synthetic;

static void synthetic_init(synthetic *s)
{
    fg_rng r;
    fg_rng_seed(&r, 3);
    for (int i = 0; i < 2 * SYN_N; i++) {
        int k = (int)fg_rng_below(&r, SYN_C);
        s->lab[i] = (uint8_t)k;
        for (int p = 0; p < 16; p++) {
            int q = (p / 4 / 2) * 2 + p % 4 / 2;
            s->img[i * 16 + p] = (uint8_t)((int)fg_rng_below(&r, 90) + (q == k ? 140 : 0));
        }
    }
    for (int i = 0; i < SYN_N; i++)
        s->train[i] = i, s->val[i] = SYN_N + i;
    s->data = (nn_data){s->img, s->lab, SYN_H, SYN_W, 1, SYN_C, NULL};
}

static synthetic syn;
static nn_fit_result res_a, res_b;

/* flatten, dense 16 relu, [batch_normalization], dense softmax */
static void small_net(nn_net_desc *d, int bn)
{
    desc_begin(d, SYN_H, SYN_W, 1, SYN_C);
    push(d, NN_LAYER_FLATTEN);
    push_dense(d, 16, NN_ACT_RELU);
    if (bn)
        push(d, NN_LAYER_BATCH_NORM);
    push_dense(d, SYN_C, NN_ACT_SOFTMAX);
}

/* ---- schedules ----------------------------------------------------------------------------- */

static double sched_at(const nn_train_desc *t, int64_t total, int64_t step)
{
    nn_sched s;
    nn_sched_init(&s, t, total);
    return nn_sched_lr(&s, step);
}

static void test_schedules(void)
{
    nn_train_desc t;
    nn_sched s;
    fg_err err;

    /* the defaults are constant: nn_fit then uses learning_rate untouched */
    nn_train_desc_init(&t, NN_OPT_SGD);
    nn_sched_init(&s, &t, 100);
    CHECK(nn_sched_is_constant(&s));
    CHECK(nn_sched_lr(&s, 57) == (double)t.learning_rate);
    CHECK_INT(nn_sched_check(&t, &err), 0);

    /* Keras CosineDecay(0.1, decay_steps=10, alpha=0.1): 0.1 * ((1-a)/2 (1 + cos(pi s/10)) + a) */
    t.learning_rate = 0.1f;
    t.lr_schedule = NN_SCHED_COSINE;
    t.decay_steps = 10;
    t.cosine_alpha = 0.1f;
    const double lr = (double)0.1f, a = (double)0.1f;
    nn_sched_init(&s, &t, 1000);
    CHECK(!nn_sched_is_constant(&s));
    CHECK_NEAR(sched_at(&t, 1000, 0), lr, 1e-12);
    CHECK_NEAR(sched_at(&t, 1000, 3), 0.0814503363531613, 1e-7); /* by hand, a = lr = 0.1 */
    CHECK_NEAR(sched_at(&t, 1000, 5), lr * ((1 - a) * 0.5 + a), 1e-12);
    CHECK_NEAR(sched_at(&t, 1000, 10), lr * a, 1e-12);
    CHECK_NEAR(sched_at(&t, 1000, 25), lr * a, 1e-12); /* stays at the end value */

    /* Keras CosineDecay(0.0, 8, warmup_target=0.2, warmup_steps=4): linear 0 -> 0.2, then
     * cosine 0.2 -> 0 over 8 steps */
    t.learning_rate = 0.0f;
    t.warmup_target = 0.2f;
    t.warmup_steps = 4;
    t.decay_steps = 8;
    t.cosine_alpha = 0.0f;
    const double tg = (double)0.2f;
    CHECK_NEAR(sched_at(&t, 1000, 0), 0.0, 1e-15);
    CHECK_NEAR(sched_at(&t, 1000, 1), tg / 4, 1e-12);
    CHECK_NEAR(sched_at(&t, 1000, 3), 3 * tg / 4, 1e-12);
    CHECK_NEAR(sched_at(&t, 1000, 4), tg, 1e-12);
    CHECK_NEAR(sched_at(&t, 1000, 8), tg / 2, 1e-12);
    CHECK_NEAR(sched_at(&t, 1000, 12), 0.0, 1e-12);
    CHECK_NEAR(sched_at(&t, 1000, 99), 0.0, 1e-12);
    CHECK_INT(nn_sched_check(&t, &err), 0);

    /* decay_steps 0: the rest of the run, here 20 - 4 = 16 steps (half-way at step 12) */
    t.decay_steps = 0;
    CHECK_NEAR(sched_at(&t, 20, 12), tg / 2, 1e-12);
    CHECK_NEAR(sched_at(&t, 20, 20), 0.0, 1e-12);

    /* constant with a warm-up: 0.01 -> 0.1 over 10 steps, then 0.1 */
    t.lr_schedule = NN_SCHED_CONSTANT;
    t.learning_rate = 0.01f;
    t.warmup_target = 0.1f;
    t.warmup_steps = 10;
    nn_sched_init(&s, &t, 100);
    CHECK(!nn_sched_is_constant(&s));
    CHECK_NEAR(sched_at(&t, 100, 5), ((double)0.01f + (double)0.1f) / 2, 1e-12);
    CHECK_NEAR(sched_at(&t, 100, 10), (double)0.1f, 1e-12);
    CHECK_NEAR(sched_at(&t, 100, 1000), (double)0.1f, 1e-12);

    /* PyTorch OneCycleLR(max_lr=1, total_steps=10): 0.04 -> 1 at step 2 -> 4e-6 at step 9 */
    nn_train_desc_init(&t, NN_OPT_SGD);
    t.learning_rate = 1.0f;
    t.lr_schedule = NN_SCHED_ONE_CYCLE;
    CHECK_NEAR(sched_at(&t, 10, 0), 0.04, 1e-12);
    CHECK_NEAR(sched_at(&t, 10, 1), 0.52, 1e-12);
    CHECK_NEAR(sched_at(&t, 10, 2), 1.0, 1e-12);
    CHECK_NEAR(sched_at(&t, 10, 3), 0.9504846320134737, 1e-12);
    CHECK_NEAR(sched_at(&t, 10, 6), 0.38874197806371075, 1e-12);
    CHECK_NEAR(sched_at(&t, 10, 9), 4e-6, 1e-15);
    CHECK_NEAR(sched_at(&t, 10, 12), 4e-6, 1e-15);
    t.decay_steps = 10; /* the same over a longer run */
    CHECK_NEAR(sched_at(&t, 500, 6), 0.38874197806371075, 1e-12);
    /* tiny runs (no rising phase) stay finite */
    for (int64_t n = 1; n <= 4; n++)
        for (int64_t k = 0; k < n; k++)
            CHECK(isfinite(sched_at(&t, n, k)) && sched_at(&t, n, k) <= 1.0);

    /* refused combinations */
    nn_train_desc_init(&t, NN_OPT_SGD);
    t.warmup_steps = 5;
    CHECK_INT(nn_sched_check(&t, &err), -1);
    CHECK_STR_CONTAINS(err.msg, "warmup_target");
    t.warmup_target = 0.1f;
    t.lr_schedule = NN_SCHED_ONE_CYCLE;
    CHECK_INT(nn_sched_check(&t, &err), -1);
    CHECK_STR_CONTAINS(err.msg, "one_cycle");
    nn_train_desc_init(&t, NN_OPT_SGD);
    t.cosine_alpha = 1.5f;
    CHECK_INT(nn_sched_check(&t, &err), -1);
    t.cosine_alpha = 0.0f;
    t.lr_schedule = (nn_sched_kind)7;
    CHECK_INT(nn_sched_check(&t, &err), -1);
}

/* In a fit: the rate of every step, and reduce-on-plateau scaling the schedule. */
static void test_schedule_in_fit(void)
{
    nn_net_desc d;
    nn_train_desc t;
    fg_err err;
    small_net(&d, 0);
    nn_train_desc_init(&t, NN_OPT_SGD);
    t.learning_rate = 1e-9f; /* nothing improves: reduce-on-plateau fires */
    t.batch_size = 32;       /* 300 images: 10 steps per epoch */
    t.epochs = 4;
    t.lr_schedule = NN_SCHED_COSINE;
    t.cosine_alpha = 0.25f;
    t.rlr_factor = 0.5f;
    t.rlr_patience = 1;
    t.rlr_monitor = NN_MON_LOSS;
    nn_net *net = nn_net_new(&d, 32, 1, &err);
    CHECK(net != NULL);
    if (!net)
        return;
    CHECK_INT(nn_fit(net, &t, &syn.data, syn.train, SYN_N, syn.val, SYN_N, 4, NULL, NULL,
                     &res_a, &err), 0);
    CHECK_INT(res_a.epochs_run, 4);
    /* the epoch records its last step's rate; the plateau after epochs 1, 2 halves it */
    const double scale[4] = {1.0, 1.0, 0.5, 0.25};
    for (int e = 0; e < 4; e++) {
        float want = (float)(sched_at(&t, 40, 10 * e + 9) * scale[e]);
        CHECK_MSG(res_a.hist[e].lr == want, "epoch %d: lr %.9g, want %.9g", e,
                  (double)res_a.hist[e].lr, (double)want);
    }
    nn_net_free(net);
}

/* ---- weight decay -------------------------------------------------------------------------- */

static const float W0[3] = {0.5f, -1.0f, 2.0f};
static const float G1[3] = {0.1f, -0.2f, 0.3f};

static void test_weight_decay(void)
{
    nn_train_desc t;
    nn_train_desc_init(&t, NN_OPT_ADAMW);
    CHECK(t.weight_decay == 0.004f && t.learning_rate == 0.001f);
    CHECK(t.beta_1 == 0.9f && t.beta_2 == 0.999f && t.epsilon == 1e-7f);
    CHECK(!strcmp(nn_opt_name(NN_OPT_ADAMW), "adamw") && nn_opt_from_name("AdamW") == NN_OPT_ADAMW);
    nn_train_desc_init(&t, NN_OPT_ADAM);
    CHECK(t.weight_decay == 0.0f);

    /* SGD: w = w - w * wd * lr, then w -= lr * g */
    float w[3], state[6];
    nn_opt o;
    const double lr = 0.1, wd = 0.5;
    nn_train_desc_init(&t, NN_OPT_SGD);
    t.weight_decay = (float)wd;
    memcpy(w, W0, sizeof w);
    nn_opt_init(&o, &t, 3, state);
    nn_opt_step(&o, w, G1, (float)lr);
    for (int i = 0; i < 3; i++)
        CHECK_NEAR(w[i], W0[i] * (1 - wd * lr) - lr * G1[i], 1e-6);

    /* adamw: the decay, then Adam's first step, which moves by lr * sign(g) (eps aside) */
    nn_train_desc_init(&t, NN_OPT_ADAMW);
    t.learning_rate = (float)lr;
    memcpy(w, W0, sizeof w);
    nn_opt_init(&o, &t, 3, state);
    nn_opt_step(&o, w, G1, t.learning_rate);
    for (int i = 0; i < 3; i++) {
        double m = 0.1 * G1[i], v = 0.001 * G1[i] * G1[i];
        double want = W0[i] * (1 - 0.004 * lr) - lr * sqrt(0.001) / 0.1 * m / (sqrt(v) + 1e-7);
        CHECK_NEAR(w[i], want, 1e-6);
    }
    /* every optimizer: the decay comes first, apart from the gradient step (the same as
     * decaying by hand, then stepping without decay) */
    for (int k = 0; k < NN_OPT__COUNT; k++) {
        float a[3], b[3];
        nn_train_desc_init(&t, (nn_opt_kind)k);
        t.weight_decay = 0.25f;
        memcpy(a, W0, sizeof a);
        nn_opt_init(&o, &t, 3, state);
        nn_opt_step(&o, a, G1, 0.01f);
        t.weight_decay = 0.0f;
        memcpy(b, W0, sizeof b);
        nn_opt_decay(b, 3, 0.25f, 0.01f);
        nn_opt_init(&o, &t, 3, state);
        nn_opt_step(&o, b, G1, 0.01f);
        CHECK_MSG(!memcmp(a, b, sizeof a), "%s", nn_opt_name((nn_opt_kind)k));
        CHECK(a[0] != W0[0]);
    }
    float v[4] = {1.0f, -2.0f, 4.0f, 0.0f};
    nn_opt_decay(v, 4, 0.5f, 0.5f);
    CHECK(v[0] == 0.75f && v[1] == -1.5f && v[2] == 3.0f && v[3] == 0.0f);

    /* in a fit: plain SGD with weight decay leaves the fused path; the weights shrink */
    nn_net_desc d;
    fg_err err;
    small_net(&d, 0);
    nn_train_desc_init(&t, NN_OPT_SGD);
    t.learning_rate = 0.05f;
    t.epochs = 3;
    double norm[2];
    for (int k = 0; k < 2; k++) {
        t.weight_decay = k ? 2.0f : 0.0f;
        nn_net *net = nn_net_new(&d, 32, 2, &err);
        CHECK(net != NULL);
        if (!net)
            return;
        CHECK_INT(nn_fit(net, &t, &syn.data, syn.train, SYN_N, syn.val, SYN_N, 2, NULL, NULL,
                         &res_a, &err), 0);
        CHECK_INT(res_a.status, NN_STATUS_OK);
        norm[k] = 0;
        for (int64_t i = 0; i < net->n_train; i++)
            norm[k] += (double)net->params[i] * net->params[i];
        nn_net_free(net);
    }
    CHECK_MSG(norm[1] < 0.5 * norm[0], "weight decay: |w|^2 %g vs %g without", norm[1], norm[0]);
}

/* nn_opt_step_ema (adam and adamw in one pass) gives the bits of nn_opt_step followed by
 * nn_ema_update, for every optimizer, with and without weight decay, over 37 values (a
 * vector part and a tail) and a few steps */
static void test_step_ema_one_pass(void)
{
    enum { N = 37 };
    static float wa[N], wb[N], aa[N], ab[N], g[N], sa[3 * N], sb[3 * N];
    fg_rng r;
    fg_rng_seed(&r, 4);
    for (int k = 0; k < NN_OPT__COUNT; k++)
        for (int d = 0; d < 2; d++) {
            nn_train_desc t;
            nn_opt oa, ob;
            nn_train_desc_init(&t, (nn_opt_kind)k);
            t.weight_decay = d ? 0.25f : 0.0f;
            CHECK(nn_opt_state_size(&t, N) <= 3 * N);
            for (int i = 0; i < N; i++)
                wa[i] = wb[i] = aa[i] = ab[i] = (float)(fg_rng_uniform(&r) - 0.5);
            wa[3] = wb[3] = -0.0f; /* the sign of a zero survives alike */
            nn_opt_init(&oa, &t, N, sa);
            nn_opt_init(&ob, &t, N, sb);
            for (int step = 0; step < 3; step++) {
                for (int i = 0; i < N; i++)
                    g[i] = (float)(fg_rng_uniform(&r) - 0.5);
                g[3] = 0.0f;
                nn_opt_step_ema(&oa, wa, g, 0.01f, aa, 0.9f);
                nn_opt_step(&ob, wb, g, 0.01f);
                nn_ema_update(ab, wb, N, 0.9f, 0);
            }
            CHECK_MSG(!memcmp(wa, wb, sizeof wa) && !memcmp(aa, ab, sizeof aa) &&
                          !memcmp(sa, sb, (size_t)nn_opt_state_size(&t, N) * sizeof *sa),
                      "%s, weight decay %d", nn_opt_name((nn_opt_kind)k), d);
            CHECK(wa[0] != aa[0]);
        }
}

/* ---- label smoothing ----------------------------------------------------------------------- */

static void test_label_smoothing(void)
{
    /* softmax(log p) = p: a dense layer with a zero kernel and biases log p */
    nn_net_desc d;
    fg_err err;
    desc_begin(&d, 1, 1, 2, 3);
    push_dense(&d, 3, NN_ACT_SOFTMAX);
    nn_net *net = nn_net_build(&d, 1, 1, 0, &err);
    CHECK(net != NULL);
    if (!net)
        return;
    const float p[3] = {0.5f, 0.3f, 0.2f};
    memset(net->params, 0, (size_t)net->n_params * sizeof(float));
    for (int j = 0; j < 3; j++)
        net->params[6 + j] = logf(p[j]);
    net->x[0] = 1.0f, net->x[1] = -1.0f;
    net->labels[0] = 0;
    nn_net_forward(net, 1, 1, NULL);
    float *dz = net->layers[0].dy;
    CHECK_NEAR(nn_net_loss(net, 1, 1, NULL, NULL), -log(0.5), 1e-6);
    CHECK_NEAR(dz[0], -0.5, 1e-6);
    /* ls 0.3, K 3: y = (0.8, 0.1, 0.1); by hand 0.8 ln 2 + 0.1 ln(10/3) + 0.1 ln 5 */
    net->label_smoothing = 0.3f;
    CHECK_NEAR(nn_net_loss(net, 1, 1, NULL, NULL), 0.835858797, 1e-6);
    CHECK_NEAR(dz[0], -0.3, 1e-6);
    CHECK_NEAR(dz[1], 0.2, 1e-6);
    CHECK_NEAR(dz[2], 0.1, 1e-6);
    nn_net_free(net);

    /* finite differences through a hidden layer, a batch of 3 */
    desc_begin(&d, 1, 4, 1, 3);
    push_dense(&d, 5, NN_ACT_TANH)->kernel_init = (nn_init){NN_INIT_RANDOM_UNIFORM, -1, 1};
    push_dense(&d, 3, NN_ACT_SOFTMAX)->l2 = 0.01f;
    net = nn_net_build(&d, 3, 11, NN_BUILD_INPUT_GRAD, &err);
    CHECK(net != NULL);
    if (!net)
        return;
    fg_rng r;
    fg_rng_seed(&r, 5);
    for (int64_t i = 0; i < 3 * net->in_size; i++)
        net->x[i] = (float)(2.0 * fg_rng_uniform(&r) - 1.0);
    for (int b = 0; b < 3; b++)
        net->labels[b] = (uint8_t)b;
    net->label_smoothing = 0.2f;
    gc_finish("label smoothing 0.2", net, 3, 3 * 4);

    /* nn_evaluate after a fit reports the fit's (smoothed) loss, as Keras's compiled loss */
    small_net(&d, 0);
    nn_train_desc t;
    nn_train_desc_init(&t, NN_OPT_ADAM);
    t.learning_rate = 0.01f;
    t.epochs = 2;
    t.label_smoothing = 0.1f;
    net = nn_net_new(&d, 32, 3, &err);
    CHECK(net != NULL);
    if (!net)
        return;
    CHECK_INT(nn_fit(net, &t, &syn.data, syn.train, SYN_N, syn.val, SYN_N, 3, NULL, NULL,
                     &res_a, &err), 0);
    float loss, acc;
    CHECK_INT(nn_evaluate(net, &syn.data, syn.val, SYN_N, &loss, &acc, NULL, &err), 0);
    CHECK(loss == res_a.hist[1].val_loss && acc == res_a.hist[1].val_acc);
    net->label_smoothing = 0.0f;
    float plain;
    nn_evaluate(net, &syn.data, syn.val, SYN_N, &plain, &acc, NULL, &err);
    CHECK_MSG(plain < loss, "smoothed loss %g, plain %g", (double)loss, (double)plain);
    nn_net_free(net);
}

/* ---- moving average of the weights ---------------------------------------------------------- */

typedef struct {
    nn_net *net;
    float *avg;
    float momentum;
    int64_t steps;
} ema_probe;

/* After every step of a plain fit: the average of the trainable values computed beside it. */
static int ema_hook(void *ctx)
{
    ema_probe *p = ctx;
    const float m = p->momentum, k = 1.0f - m;
    for (int64_t i = 0; i < p->net->n_train; i++)
        p->avg[i] = p->steps == 0 ? p->net->params[i] : m * p->avg[i] + k * p->net->params[i];
    p->steps++;
    return 0;
}

static void test_ema(void)
{
    float avg[3] = {0}, w[3] = {1, 2, 3};
    nn_ema_update(avg, w, 3, 0.9f, 1);
    CHECK(avg[0] == 1 && avg[1] == 2 && avg[2] == 3);
    float w2[3] = {11, 2, -7};
    nn_ema_update(avg, w2, 3, 0.9f, 0);
    CHECK_NEAR(avg[0], 2.0, 1e-6);
    CHECK_NEAR(avg[2], 2.0, 1e-6);
    nn_ema_swap(avg, w2, 3);
    CHECK(w2[1] == 2.0f && avg[0] == 11.0f);
    /* a batch-norm refresh: over batches 1..k the moving mean is the mean of the batch
     * means (here of the 16 input pixels, batch norm reading the flattened images) */
    nn_net_desc d;
    fg_err err;
    desc_begin(&d, SYN_H, SYN_W, 1, SYN_C);
    push(&d, NN_LAYER_FLATTEN);
    push(&d, NN_LAYER_BATCH_NORM);
    push_dense(&d, SYN_C, NN_ACT_SOFTMAX);
    nn_net *r = nn_net_new(&d, 50, 1, &err);
    CHECK(r != NULL);
    if (r) {
        double want[16] = {0};
        for (int k = 1; k <= 3; k++) {
            nn_net_gather(r, &syn.data, syn.train + 50 * k, 50);
            for (int i = 0; i < 50 * 16; i++)
                want[i % 16] += r->x[i] / 50.0 / 3.0;
            nn_net_forward_refresh(r, 50, k, NULL);
        }
        const float *mm = r->params + r->n_train; /* moving means, then variances */
        for (int j = 0; j < 16; j++)
            CHECK_NEAR(mm[j], want[j], 1e-6);
    }
    nn_net_free(r);

    /* a fit with use_ema trains the same raw weights as one without, and ends with their
     * average, its batch norm statistics refreshed on the last epoch's first batches;
     * validation scores the average */
    nn_train_desc t;
    small_net(&d, 1);
    nn_train_desc_init(&t, NN_OPT_ADAM);
    t.learning_rate = 0.01f;
    t.batch_size = 64;
    t.epochs = 3;
    nn_net *a = nn_net_new(&d, 64, 5, &err), *b = nn_net_new(&d, 64, 5, &err);
    CHECK(a && b);
    if (!a || !b)
        return;
    float *probe_avg = malloc((size_t)a->n_params * sizeof(float));
    ema_probe pr = {a, probe_avg, 0.9f, 0};
    CHECK_INT(nn_fit(a, &t, &syn.data, syn.train, SYN_N, syn.val, SYN_N, 6, ema_hook, &pr,
                     &res_a, &err), 0);
    t.use_ema = 1;
    t.ema_momentum = 0.9f;
    CHECK_INT(nn_fit(b, &t, &syn.data, syn.train, SYN_N, syn.val, SYN_N, 6, NULL, NULL, &res_b,
                     &err), 0);
    CHECK_INT(pr.steps, 15);
    CHECK(!memcmp(b->params, probe_avg, (size_t)a->n_train * sizeof(float)));
    CHECK(memcmp(a->params, b->params, (size_t)a->n_train * sizeof(float)) != 0);
    /* the refresh by hand: the average in a, then the mean statistics of the last epoch's
     * batches (epoch 2's order: train_idx shuffled from (seed 6, epoch 2); 300 images are 5
     * batches of up to 64, all under BN_REFRESH_BATCHES) */
    memcpy(a->params, probe_avg, (size_t)a->n_train * sizeof(float));
    int32_t order[SYN_N];
    memcpy(order, syn.train, sizeof order);
    fg_rng sh;
    fg_rng_seed(&sh, fg_hash_mix(6, 2));
    fg_rng_shuffle_i32(&sh, order, SYN_N);
    for (int s0 = 0, k = 1; s0 < SYN_N; s0 += 64, k++) {
        int nb = SYN_N - s0 < 64 ? SYN_N - s0 : 64;
        nn_net_gather(a, &syn.data, order + s0, nb);
        nn_net_forward_refresh(a, nb, k, NULL); /* no dropout: no random stream */
    }
    CHECK(!memcmp(a->params, b->params, (size_t)a->n_params * sizeof(float)));
    for (int e = 0; e < 3; e++)
        CHECK(res_a.hist[e].loss == res_b.hist[e].loss && res_a.hist[e].acc == res_b.hist[e].acc);
    float loss, acc;
    nn_evaluate(b, &syn.data, syn.val, SYN_N, &loss, &acc, NULL, &err);
    CHECK(loss == res_b.hist[2].val_loss && acc == res_b.hist[2].val_acc);
    CHECK(loss == res_b.val_loss);

    /* restore_best keeps the best epoch's average */
    t.restore_best = 1;
    t.es_monitor = NN_MON_VAL_ACC;
    nn_net *c = nn_net_new(&d, 64, 5, &err);
    CHECK(c != NULL);
    if (c) {
        CHECK_INT(nn_fit(c, &t, &syn.data, syn.train, SYN_N, syn.val, SYN_N, 6, NULL, NULL,
                         &res_b, &err), 0);
        nn_evaluate(c, &syn.data, syn.val, SYN_N, &loss, &acc, NULL, &err);
        CHECK(res_b.best_epoch >= 0);
        if (res_b.best_epoch >= 0) /* checked above; never index hist[-1] */
            CHECK(acc == res_b.hist[res_b.best_epoch].val_acc && acc == res_b.val_acc);
    }
    t.ema_momentum = 1.0f;
    CHECK_INT(nn_train_desc_check(&t, 4, 4, &err), -1);
    CHECK_STR_CONTAINS(err.msg, "ema_momentum");
    free(probe_avg);
    nn_net_free(a), nn_net_free(b), nn_net_free(c);
}

/* ---- augmentation -------------------------------------------------------------------------- */

enum { IH = 3, IW = 4 };

/* A byte as the engine scales it. */
static float sc(int v) { return (float)v * (1.0f / 255.0f); }

/* The 3x4 image v(y, x) = 10 (4y + x + 1), and what the transform should give. */
static float px(int y, int x)
{
    return y < 0 || y >= IH || x < 0 || x >= IW ? 0.0f : sc(10 * (4 * y + x + 1));
}

static void expect_image(const char *what, const float *got, const float want[IH][IW])
{
    for (int y = 0; y < IH; y++)
        for (int x = 0; x < IW; x++)
            CHECK_MSG(fabsf(got[y * IW + x] - want[y][x]) < 1e-7f,
                      "%s: (%d, %d) is %g, want %g", what, y, x, got[y * IW + x] * 25.5,
                      want[y][x] * 25.5);
}

static void test_augment_images(void)
{
    uint8_t src[IH * IW];
    float out[IH * IW], want[IH][IW];
    for (int i = 0; i < IH * IW; i++)
        src[i] = (uint8_t)(10 * (i + 1));
    nn_aug_draw d;

    /* identity: exactly nn_net_gather's scaling */
    memset(&d, 0, sizeof d);
    nn_augment_apply(src, out, IH, IW, 1, &d);
    for (int i = 0; i < IH * IW; i++)
        CHECK(out[i] == (float)src[i] * (sc(1)));

    /* down by 1: row 0 is background, row 1 the old row 0 */
    memset(&d, 0, sizeof d);
    d.dy = 1;
    for (int y = 0; y < IH; y++)
        for (int x = 0; x < IW; x++)
            want[y][x] = px(y - 1, x);
    nn_augment_apply(src, out, IH, IW, 1, &d);
    expect_image("dy +1", out, want);
    CHECK(out[0] == 0.0f && out[IW] == sc(10));

    /* left by 1 and up by 2 */
    d.dy = -2, d.dx = -1;
    for (int y = 0; y < IH; y++)
        for (int x = 0; x < IW; x++)
            want[y][x] = px(y + 2, x + 1);
    nn_augment_apply(src, out, IH, IW, 1, &d);
    expect_image("dy -2 dx -1", out, want);
    CHECK(out[0] == sc(100) && out[3] == 0.0f && out[IW] == 0.0f);

    /* horizontal flip: row 0 becomes 40 30 20 10 */
    memset(&d, 0, sizeof d);
    d.flip = 1;
    for (int y = 0; y < IH; y++)
        for (int x = 0; x < IW; x++)
            want[y][x] = px(y, IW - 1 - x);
    nn_augment_apply(src, out, IH, IW, 1, &d);
    expect_image("flip", out, want);
    CHECK(out[0] == sc(40) && out[3] == sc(10));

    /* flip, then right by 1: row 0 becomes 0 40 30 20 */
    d.dx = 1;
    for (int y = 0; y < IH; y++)
        for (int x = 0; x < IW; x++)
            want[y][x] = x - 1 < 0 ? 0.0f : px(y, IW - 1 - (x - 1));
    nn_augment_apply(src, out, IH, IW, 1, &d);
    expect_image("flip dx +1", out, want);
    CHECK(out[0] == 0.0f && out[1] == sc(40) && out[3] == sc(20));

    /* erase the 2x2 block at (1, 1) */
    memset(&d, 0, sizeof d);
    d.ey = 1, d.ex = 1, d.eh = 2, d.ew = 2;
    for (int y = 0; y < IH; y++)
        for (int x = 0; x < IW; x++)
            want[y][x] = y >= 1 && x >= 1 && x <= 2 ? 0.0f : px(y, x);
    nn_augment_apply(src, out, IH, IW, 1, &d);
    expect_image("erase", out, want);

    /* two channels: a flip moves pixels and keeps the channel order */
    uint8_t s2[2 * 2 * 2] = {1, 2, 3, 4, 5, 6, 7, 8}; /* 2x2 pixels of (c0, c1) */
    float o2[8];
    memset(&d, 0, sizeof d);
    d.flip = 1;
    nn_augment_apply(s2, o2, 2, 2, 2, &d);
    const uint8_t w2[8] = {3, 4, 1, 2, 7, 8, 5, 6};
    for (int i = 0; i < 8; i++)
        CHECK(o2[i] == sc(w2[i]));
    d.dx = 1; /* flipped, then right by one pixel: (0 0) (3 4) over (0 0) (7 8) */
    nn_augment_apply(s2, o2, 2, 2, 2, &d);
    const uint8_t w3[8] = {0, 0, 3, 4, 0, 0, 7, 8};
    for (int i = 0; i < 8; i++)
        CHECK(o2[i] == sc(w3[i]));
}

static void test_augment_draws(void)
{
    nn_train_desc t;
    nn_augment a, b;
    nn_aug_draw d, e;
    fg_err err;
    nn_train_desc_init(&t, NN_OPT_SGD);
    nn_augment_init(&a, &t, 1);
    CHECK(!nn_augment_active(&a));
    CHECK_INT(nn_augment_check(&t, 28, 28, &err), 0);

    /* translation by up to 2: every shift in -2..2 about equally often; flips half the
     * time; erasing a quarter of the time, inside the image, 2-33% of its area */
    t.augment_translate = 2;
    t.augment_flip = 1;
    t.augment_erase = 0.25f;
    nn_augment_init(&a, &t, 7);
    CHECK(nn_augment_active(&a));
    enum { N = 20000 };
    int shifts[5] = {0}, flips = 0, erases = 0, bad = 0;
    for (int i = 0; i < N; i++) {
        nn_augment_draw(&a, 28, 28, &d);
        if (d.dy < -2 || d.dy > 2 || d.dx < -2 || d.dx > 2) {
            bad++;
            continue;
        }
        shifts[d.dy + 2]++;
        flips += d.flip;
        if (d.eh > 0 && d.ew > 0) {
            erases++;
            double frac = (double)d.eh * d.ew / (28.0 * 28.0);
            bad += d.ey < 0 || d.ex < 0 || d.ey + d.eh > 28 || d.ex + d.ew > 28 ||
                   frac < 0.01 || frac > 0.40;
        }
    }
    CHECK_INT(bad, 0);
    for (int k = 0; k < 5; k++)
        CHECK_MSG(fabs(shifts[k] / (double)N - 0.2) < 0.015, "shift %d: %d of %d", k - 2,
                  shifts[k], N);
    CHECK_MSG(fabs(flips / (double)N - 0.5) < 0.015, "flips %d of %d", flips, N);
    CHECK_MSG(fabs(erases / (double)N - 0.25) < 0.015, "erases %d of %d", erases, N);

    /* the same seed draws the same; each transform has its own stream, so turning one on
     * does not change the draws of another */
    nn_augment_init(&a, &t, 9);
    nn_augment_init(&b, &t, 9);
    int same = 1;
    for (int i = 0; i < 100; i++) {
        nn_augment_draw(&a, 28, 28, &d);
        nn_augment_draw(&b, 28, 28, &e);
        same &= !memcmp(&d, &e, sizeof d);
    }
    CHECK(same);
    nn_train_desc u = t;
    u.augment_flip = 0;
    u.augment_erase = 0.0f;
    nn_augment_init(&a, &t, 9);
    nn_augment_init(&b, &u, 9);
    same = 1;
    for (int i = 0; i < 100; i++) {
        nn_augment_draw(&a, 28, 28, &d);
        nn_augment_draw(&b, 28, 28, &e);
        same &= d.dy == e.dy && d.dx == e.dx && !e.flip && !e.eh;
    }
    CHECK(same);

    /* refused values */
    t.augment_translate = 28;
    CHECK_INT(nn_augment_check(&t, 28, 28, &err), -1);
    CHECK_STR_CONTAINS(err.msg, "augment_translate");
    t.augment_translate = 27;
    CHECK_INT(nn_augment_check(&t, 28, 28, &err), 0);
    t.augment_erase = 1.5f;
    CHECK_INT(nn_augment_check(&t, 28, 28, &err), -1);
}

/* In a fit: deterministic, different from no augmentation, never applied to validation. */
static void test_augment_fit(void)
{
    nn_net_desc d;
    nn_train_desc t;
    fg_err err;
    small_net(&d, 0);
    nn_train_desc_init(&t, NN_OPT_ADAM);
    t.learning_rate = 0.01f;
    t.epochs = 3;
    t.augment_translate = 1;
    t.augment_flip = 1;
    t.augment_erase = 0.5f;
    nn_net *a = nn_net_new(&d, 32, 8, &err), *b = nn_net_new(&d, 32, 8, &err),
           *c = nn_net_new(&d, 32, 8, &err);
    CHECK(a && b && c);
    if (a && b && c) {
        nn_fit(a, &t, &syn.data, syn.train, SYN_N, syn.val, SYN_N, 8, NULL, NULL, &res_a, &err);
        nn_fit(b, &t, &syn.data, syn.train, SYN_N, syn.val, SYN_N, 8, NULL, NULL, &res_b, &err);
        CHECK(!memcmp(a->params, b->params, (size_t)a->n_params * sizeof(float)));
        CHECK(res_a.hist[2].loss == res_b.hist[2].loss);
        float loss, acc;
        nn_evaluate(a, &syn.data, syn.val, SYN_N, &loss, &acc, NULL, &err);
        CHECK(loss == res_a.hist[2].val_loss && acc == res_a.hist[2].val_acc);
        t.augment_translate = 0, t.augment_flip = 0, t.augment_erase = 0.0f;
        nn_fit(c, &t, &syn.data, syn.train, SYN_N, syn.val, SYN_N, 8, NULL, NULL, &res_b, &err);
        CHECK(memcmp(a->params, c->params, (size_t)a->n_params * sizeof(float)) != 0);
        CHECK(res_a.hist[0].loss != res_b.hist[0].loss);
    }
    t.augment_translate = 4; /* the synthetic images are 4x4 */
    CHECK_INT(nn_fit(a, &t, &syn.data, syn.train, SYN_N, syn.val, SYN_N, 8, NULL, NULL, &res_a,
                     &err), -1);
    CHECK_STR_CONTAINS(err.msg, "augment_translate");
    nn_net_free(a), nn_net_free(b), nn_net_free(c);
}

/* Test-time flip: the scores of the mean probabilities of each image and its mirror. */
static void test_tta(void)
{
    nn_net_desc d;
    nn_train_desc t;
    fg_err err;
    small_net(&d, 0);
    nn_net *net = nn_net_new(&d, 32, 4, &err);
    CHECK(net != NULL);
    if (!net)
        return;
    /* by hand, 20 images at a time (the evaluation goes by 32) */
    double loss = 0.0;
    int correct = 0;
    for (int s0 = 0; s0 < SYN_N; s0 += 20) {
        float p[20 * SYN_C];
        nn_net_gather(net, &syn.data, syn.val + s0, 20);
        nn_net_forward(net, 20, 0, NULL);
        memcpy(p, nn_net_output(net), sizeof p);
        nn_augment_gather_flip(net, &syn.data, syn.val + s0, 20);
        nn_net_forward(net, 20, 0, NULL);
        const float *q = nn_net_output(net);
        for (int r = 0; r < 20; r++) {
            int lab = syn.lab[syn.val[s0 + r]], best = 0;
            double m[SYN_C];
            for (int j = 0; j < SYN_C; j++) {
                m[j] = 0.5 * ((double)p[r * SYN_C + j] + q[r * SYN_C + j]);
                best = m[j] > m[best] ? j : best;
            }
            loss -= log(m[lab]) / SYN_N;
            correct += best == lab;
        }
    }
    nn_train_desc_init(&t, NN_OPT_SGD);
    t.tta_flip = 1;
    nn_net_set_eval(net, &t);
    float l, a, l0, a0;
    CHECK_INT(nn_evaluate(net, &syn.data, syn.val, SYN_N, &l, &a, NULL, &err), 0);
    CHECK_NEAR(l, loss, 1e-5);
    CHECK_NEAR(a, (double)correct / SYN_N, 1e-7);
    t.tta_flip = 0;
    nn_net_set_eval(net, &t);
    nn_evaluate(net, &syn.data, syn.val, SYN_N, &l0, &a0, NULL, &err);
    CHECK(l0 != l);

    /* nn_fit validates with its recipe's flip, and leaves it set for nn_evaluate */
    t.tta_flip = 1;
    t.epochs = 2;
    t.learning_rate = 0.1f;
    CHECK_INT(nn_fit(net, &t, &syn.data, syn.train, SYN_N, syn.val, SYN_N, 4, NULL, NULL,
                     &res_a, &err), 0);
    nn_evaluate(net, &syn.data, syn.val, SYN_N, &l, &a, NULL, &err);
    CHECK(l == res_a.hist[1].val_loss && a == res_a.hist[1].val_acc);
    nn_net_free(net);
}

static void test_checks_and_names(void)
{
    nn_train_desc t;
    fg_err err;
    nn_train_desc_init(&t, NN_OPT_SGD);
    CHECK(!t.use_ema && t.ema_momentum == 0.99f && t.lr_schedule == NN_SCHED_CONSTANT);
    CHECK(t.label_smoothing == 0.0f && t.weight_decay == 0.0f && !t.augment_flip);
    CHECK_INT(nn_train_desc_check(&t, 28, 28, &err), 0);
    t.label_smoothing = 1.0f;
    CHECK_INT(nn_train_desc_check(&t, 28, 28, &err), -1);
    CHECK_STR_CONTAINS(err.msg, "label_smoothing");
    t.label_smoothing = 0.0f;
    t.weight_decay = -1.0f;
    CHECK_INT(nn_train_desc_check(&t, 28, 28, &err), -1);
    CHECK_STR_CONTAINS(err.msg, "weight_decay");
    CHECK(!strcmp(nn_sched_name(NN_SCHED_ONE_CYCLE), "one_cycle"));
    CHECK(nn_sched_from_name("OneCycle") == NN_SCHED_ONE_CYCLE);
    CHECK(nn_sched_from_name("cosine") == NN_SCHED_COSINE);
    CHECK(nn_sched_from_name("none") == NN_SCHED_CONSTANT);
    CHECK(nn_sched_from_name("step") == -1);
}

int main(void)
{
    nn_gemm_set_threads(1);
    synthetic_init(&syn);
    test_schedules();
    test_schedule_in_fit();
    test_weight_decay();
    test_label_smoothing();
    test_ema();
    test_step_ema_one_pass();
    test_augment_images();
    test_augment_draws();
    test_augment_fit();
    test_tta();
    test_checks_and_names();
    return check_report("test_nn_recipe");
}
