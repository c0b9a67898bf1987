/* test_model.c - model files: save and load round trips of three trained networks (a dense
 * MLP with dropout, a small CNN, a batch-norm residual CNN) with every description and
 * training field, bit-identical parameters, identical evaluation and metadata; byte-identical
 * files from two saves; damaged files (a flipped byte, truncation, wrong magic, a newer
 * version, an empty and a missing file) refused with the path and the reason; and hostile
 * files with valid checksums, built by this test's own writer from the layout documented in
 * model.h (stored deflate blocks, so no zlib here), which also checks that layout against
 * model.c. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "model.h"
#include "nn.h"

/* ---- synthetic 8x8 images of 10 classes ------------------------------------------------- */

enum { S = 8, N_CLASSES = 10, N_IMG = 400, N_TRAIN = 300 };

static uint8_t g_img[N_IMG * S * S], g_lab[N_IMG];
static int32_t g_idx[N_IMG];
static nn_data g_data;
static char g_dir[64];

/* Dim noise; class k < 8 a bright row k, class 8 a bright column 1, class 9 column 6. */
static void make_data(void)
{
    fg_rng r;
    fg_rng_seed(&r, 2024);
    for (int i = 0; i < N_IMG; i++) {
        uint8_t *im = g_img + i * S * S;
        int k = (int)fg_rng_below(&r, N_CLASSES);
        g_lab[i] = (uint8_t)k;
        for (int p = 0; p < S * S; p++)
            im[p] = (uint8_t)fg_rng_below(&r, 80);
        for (int t = 0; t < S; t++) {
            int p = k < 8 ? k * S + t : t * S + (k == 8 ? 1 : 6);
            im[p] = (uint8_t)(180 + fg_rng_below(&r, 76));
        }
        g_idx[i] = i;
    }
    g_data = (nn_data){g_img, g_lab, S, S, 1, N_CLASSES, NULL};
}

/* ---- building descriptions (as in test_nn_conv.c) ----------------------------------------- */

static void desc_begin(nn_net_desc *d)
{
    memset(d, 0, sizeof *d);
    d->in_h = S, d->in_w = S, d->in_c = 1;
    d->n_classes = N_CLASSES;
}

static nn_layer_desc *push(nn_net_desc *d, nn_layer_kind k)
{
    nn_layer_desc *l = &d->layers[d->n_layers];
    nn_layer_desc_init(l, k);
    snprintf(l->name, NN_NAME_MAX, "%s_%d", nn_layer_kind_name(k), d->n_layers);
    l->inputs[0] = d->n_layers - 1;
    d->n_layers++;
    return l;
}

static nn_layer_desc *push_conv(nn_net_desc *d, nn_layer_kind k, int filters, nn_act act)
{
    nn_layer_desc *l = push(d, k);
    l->filters = filters;
    l->padding = NN_PAD_SAME;
    l->strides[0] = l->strides[1] = 1;
    l->activation = act;
    return l;
}

static void push_softmax(nn_net_desc *d)
{
    nn_layer_desc *l = push(d, NN_LAYER_DENSE);
    l->units = N_CLASSES;
    l->activation = NN_ACT_SOFTMAX;
}

static void mlp_desc(nn_net_desc *d, nn_train_desc *t)
{
    desc_begin(d);
    push(d, NN_LAYER_FLATTEN);
    nn_layer_desc *l = push(d, NN_LAYER_DENSE);
    l->units = 24;
    l->activation = NN_ACT_ELU;
    l->alpha = 0.75f;
    l->l2 = 1e-4f;
    l->kernel_init = (nn_init){NN_INIT_RANDOM_NORMAL, 0.0f, 0.1f};
    l->bias_init = (nn_init){NN_INIT_RANDOM_UNIFORM, -0.01f, 0.02f};
    push(d, NN_LAYER_DROPOUT)->rate = 0.25f;
    push_softmax(d);
    /* every training field away from zero and from its default */
    nn_train_desc_init(t, NN_OPT_ADAM);
    t->learning_rate = 0.01f;
    t->momentum = 0.125f;
    t->nesterov = 1;
    t->beta_1 = 0.85f;
    t->beta_2 = 0.995f;
    t->epsilon = 1e-6f;
    t->rho = 0.875f;
    t->initial_accumulator = 0.2f;
    t->batch_size = 25;
    t->epochs = 4;
    t->es_monitor = NN_MON_VAL_ACC;
    t->es_patience = 7;
    t->es_min_delta = 0.0025f;
    t->restore_best = 1;
    t->rlr_monitor = NN_MON_LOSS;
    t->rlr_factor = 0.5f;
    t->rlr_patience = 3;
    t->rlr_cooldown = 2;
    t->rlr_min_lr = 1e-5f;
    t->rlr_min_delta = 3e-4f;
}

/* conv2d + max pool + flatten + dense softmax, SGD with Nesterov momentum */
static void cnn_desc(nn_net_desc *d, nn_train_desc *t)
{
    desc_begin(d);
    push_conv(d, NN_LAYER_CONV2D, 4, NN_ACT_RELU);
    push(d, NN_LAYER_MAX_POOL2D);
    push(d, NN_LAYER_FLATTEN);
    push_softmax(d);
    nn_train_desc_init(t, NN_OPT_SGD);
    t->learning_rate = 0.1f;
    t->momentum = 0.5f;
    t->nesterov = 1;
    t->batch_size = 20;
    t->epochs = 3;
}

/* conv -> batch norm -> leaky relu -> separable conv, added to the relu, then average pooling:
 * a two-input layer, non-trainable state (moving statistics) and depthwise initializers. */
static void bn_desc(nn_net_desc *d, nn_train_desc *t)
{
    desc_begin(d);
    push_conv(d, NN_LAYER_CONV2D, 4, NN_ACT_LINEAR)->use_bias = 0;       /* 0 */
    nn_layer_desc *l = push(d, NN_LAYER_BATCH_NORM);                      /* 1 */
    l->bn_momentum = 0.8f;
    l->bn_epsilon = 2e-3f;
    l = push(d, NN_LAYER_ACTIVATION);                                     /* 2 */
    l->activation = NN_ACT_LEAKY_RELU;
    l->alpha = 0.2f;
    l = push_conv(d, NN_LAYER_SEPARABLE_CONV2D, 4, NN_ACT_LINEAR);        /* 3 */
    l->depthwise_init = (nn_init){NN_INIT_HE_UNIFORM, NAN, NAN};
    l = push(d, NN_LAYER_ADD);                                            /* 4 */
    l->inputs[0] = 2, l->inputs[1] = 3;
    l = push(d, NN_LAYER_AVG_POOL2D);
    l->pool[0] = l->pool[1] = 2;
    push(d, NN_LAYER_FLATTEN);
    push_softmax(d);
    nn_train_desc_init(t, NN_OPT_RMSPROP);
    t->batch_size = 32;
    t->epochs = 3;
}

/* The CNN with every recipe field of format version 2 set (and trained with them). */
static void recipe_desc(nn_net_desc *d, nn_train_desc *t)
{
    cnn_desc(d, t);
    nn_train_desc_init(t, NN_OPT_ADAMW);
    t->learning_rate = 0.001f;
    t->batch_size = 20;
    t->epochs = 3;
    t->weight_decay = 0.01f;
    t->label_smoothing = 0.1f;
    t->use_ema = 1;
    t->ema_momentum = 0.8f;
    t->lr_schedule = NN_SCHED_COSINE;
    t->warmup_steps = 5;
    t->warmup_target = 0.02f;
    t->decay_steps = 40;
    t->cosine_alpha = 0.1f;
    t->augment_translate = 1;
    t->augment_flip = 0;
    t->augment_erase = 0.1f;
    t->tta_flip = 1;
}

/* ---- field-by-field comparison: the number of differing fields ------------------------------ */

static int same_f(float a, float b) { return !memcmp(&a, &b, sizeof a); } /* NaN == NaN */

#define DI(f) n += (a->f != b->f)
#define DF(f) n += !same_f(a->f, b->f)

static int init_diff(const nn_init *a, const nn_init *b)
{
    int n = 0;
    DI(kind);
    DF(a);
    DF(b);
    return n;
}

static int layer_diff(const nn_layer_desc *a, const nn_layer_desc *b)
{
    int n = 0;
    DI(kind);
    n += strcmp(a->name, b->name) != 0;
    DI(n_inputs);
    DI(inputs[0]);
    DI(inputs[1]);
    DI(activation);
    DF(alpha);
    DI(units);
    DI(filters);
    DI(kernel[0]);
    DI(kernel[1]);
    DI(strides[0]);
    DI(strides[1]);
    DI(pool[0]);
    DI(pool[1]);
    DI(padding);
    DI(depth_multiplier);
    DI(use_bias);
    n += init_diff(&a->kernel_init, &b->kernel_init);
    n += init_diff(&a->bias_init, &b->bias_init);
    n += init_diff(&a->depthwise_init, &b->depthwise_init);
    DF(l2);
    DF(rate);
    DF(bn_momentum);
    DF(bn_epsilon);
    return n;
}

static int desc_diff(const nn_net_desc *a, const nn_net_desc *b)
{
    int n = 0;
    DI(in_h);
    DI(in_w);
    DI(in_c);
    DI(n_classes);
    DI(n_layers);
    for (int i = 0; i < a->n_layers && i < b->n_layers && i < NN_MAX_LAYERS; i++)
        n += layer_diff(&a->layers[i], &b->layers[i]);
    return n;
}

static int train_diff(const nn_train_desc *a, const nn_train_desc *b)
{
    int n = 0;
    DI(optimizer);
    DF(learning_rate);
    DF(momentum);
    DI(nesterov);
    DF(beta_1);
    DF(beta_2);
    DF(epsilon);
    DF(rho);
    DF(initial_accumulator);
    DI(batch_size);
    DI(epochs);
    DI(es_monitor);
    DI(es_patience);
    DF(es_min_delta);
    DI(restore_best);
    DI(rlr_monitor);
    DF(rlr_factor);
    DI(rlr_patience);
    DI(rlr_cooldown);
    DF(rlr_min_lr);
    DF(rlr_min_delta);
    DF(weight_decay);
    DF(label_smoothing);
    DI(use_ema);
    DF(ema_momentum);
    DI(lr_schedule);
    DI(warmup_steps);
    DF(warmup_target);
    DI(decay_steps);
    DF(cosine_alpha);
    DI(augment_translate);
    DI(augment_flip);
    DF(augment_erase);
    DI(tta_flip);
    return n;
}

/* The comparison can fail: one changed field is one difference. */
static void test_diff_catches_changes(void)
{
    static nn_net_desc a, b;
    nn_train_desc ta, tb;
    bn_desc(&a, &ta);
    b = a, tb = ta;
    CHECK_INT(desc_diff(&a, &b), 0);
    CHECK_INT(train_diff(&ta, &tb), 0);
    b.layers[3].depthwise_init.b = 1.0f;
    CHECK_INT(desc_diff(&a, &b), 1);
    b = a;
    b.layers[5].name[0] = 'X';
    CHECK_INT(desc_diff(&a, &b), 1);
    b = a;
    b.layers[7].strides[1] = 9;
    CHECK_INT(desc_diff(&a, &b), 1);
    tb.rlr_min_delta = 0.5f;
    CHECK_INT(train_diff(&ta, &tb), 1);
}

/* ---- files ------------------------------------------------------------------------------- */

static void path_of(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", g_dir, name);
}

static unsigned char *slurp(const char *path, size_t *n)
{
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *buf = NULL;
    size_t cap = 0;
    for (;;) {
        if (*n == cap) {
            unsigned char *p = realloc(buf, cap = cap ? 2 * cap : 4096);
            if (!p)
                break;
            buf = p;
        }
        size_t k = fread(buf + *n, 1, cap - *n, f);
        if (k == 0)
            break;
        *n += k;
    }
    fclose(f);
    return buf;
}

static void spit(const char *path, const unsigned char *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f)
        return;
    CHECK(fwrite(p, 1, n, f) == n);
    CHECK(fclose(f) == 0);
}

static const char *g_case = ""; /* names a hostile case in failure messages */

/* Loading path must fail with a message holding the path and phrase. */
static void expect_refused(const char *path, const char *phrase)
{
    fg_err err;
    err.msg[0] = '\0';
    char *meta = (char *)"untouched";
    nn_train_desc t;
    nn_net *net = model_load(path, 16, &t, &meta, &err);
    CHECK_MSG(net == NULL, "%s loaded (%s), expected \"%s\"", path, g_case, phrase);
    CHECK(meta == NULL);
    CHECK_MSG(!strncmp(err.msg, path, strlen(path)), "message does not start with the path: %s",
              err.msg);
    CHECK_MSG(strstr(err.msg, phrase) != NULL, "%s: \"%s\" does not contain \"%s\"", g_case,
              err.msg, phrase);
    CHECK(strchr(err.msg, '\n') == NULL);
    nn_net_free(net);
}

/* Byte 8 of a model file: its format version. */
static int file_version(const char *name)
{
    char path[256];
    size_t n;
    path_of(path, sizeof path, name);
    unsigned char *f = slurp(path, &n);
    int v = f && n > 12 ? f[8] | f[9] << 8 : -1;
    free(f);
    return v;
}

/* ---- round trips ------------------------------------------------------------------------- */

typedef void (*desc_fn)(nn_net_desc *, nn_train_desc *);

/* Trains the network of make, saves it as name with meta, loads it and compares. */
static void round_trip(const char *name, desc_fn make, const char *meta)
{
    static nn_net_desc d;
    static nn_fit_result res;
    nn_train_desc t;
    fg_err err;
    char path[256];
    path_of(path, sizeof path, name);
    make(&d, &t);
    enum { MAX_BATCH = 64 };
    nn_net *a = nn_net_new(&d, MAX_BATCH, 11, &err);
    CHECK_MSG(a != NULL, "%s: %s", name, err.msg);
    if (!a)
        return;
    int rc = nn_fit(a, &t, &g_data, g_idx, N_TRAIN, g_idx + N_TRAIN, N_IMG - N_TRAIN, 12, NULL,
                    NULL, &res, &err);
    CHECK_MSG(rc == 0 && res.status == NN_STATUS_OK, "%s: fit: %s", name, rc ? err.msg : "");

    float loss_a, acc_a, loss_b, acc_b;
    static uint8_t pred_a[N_IMG], pred_b[N_IMG];
    CHECK(nn_evaluate(a, &g_data, g_idx, N_IMG, &loss_a, &acc_a, pred_a, &err) == 0);
    CHECK_MSG(acc_a > 0.3f, "%s: accuracy %g after training (chance 0.1)", name, (double)acc_a);

    rc = model_save(path, a, &t, meta, &err);
    CHECK_MSG(rc == 0, "save %s: %s", name, err.msg);
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    CHECK(access(tmp, F_OK) != 0);

    nn_train_desc t2;
    memset(&t2, 0xab, sizeof t2);
    char *meta2 = NULL;
    nn_net *b = model_load(path, MAX_BATCH, &t2, &meta2, &err);
    CHECK_MSG(b != NULL, "load %s: %s", name, err.msg);
    if (b) {
        CHECK_INT(desc_diff(&d, nn_net_desc_of(b)), 0);
        CHECK_INT(desc_diff(nn_net_desc_of(a), nn_net_desc_of(b)), 0);
        CHECK_INT(train_diff(&t, &t2), 0);
        CHECK_INT(nn_net_n_params(a), nn_net_n_params(b));
        if (nn_net_n_params(a) == nn_net_n_params(b))
            CHECK_MSG(!memcmp(nn_net_params(a), nn_net_params(b),
                              (size_t)nn_net_n_params(a) * sizeof(float)),
                      "%s: parameters differ after loading", name);
        CHECK(meta2 != NULL && !strcmp(meta2, meta ? meta : ""));
        memset(pred_b, 0xff, sizeof pred_b);
        CHECK(nn_evaluate(b, &g_data, g_idx, N_IMG, &loss_b, &acc_b, pred_b, &err) == 0);
        CHECK_MSG(same_f(loss_a, loss_b) && same_f(acc_a, acc_b),
                  "%s: loss %.9g vs %.9g, acc %.9g vs %.9g", name, (double)loss_a,
                  (double)loss_b, (double)acc_a, (double)acc_b);
        CHECK(!memcmp(pred_a, pred_b, sizeof pred_a));
    }
    nn_net_free(b);
    free(meta2);

    /* a second save writes the same bytes; NULL train_out / meta_out are allowed */
    char path2[256];
    snprintf(path2, sizeof path2, "%s/again-%s", g_dir, name);
    CHECK(model_save(path2, a, &t, meta, &err) == 0);
    size_t n1, n2;
    unsigned char *f1 = slurp(path, &n1), *f2 = slurp(path2, &n2);
    CHECK(f1 && f2 && n1 == n2 && !memcmp(f1, f2, n1));
    free(f1);
    free(f2);
    b = model_load(path2, 7, NULL, NULL, &err);
    CHECK_MSG(b != NULL, "%s", err.msg);
    nn_net_free(b);
    remove(path2);
    nn_net_free(a);
}

/* ---- damaged files ----------------------------------------------------------------------- */

static void test_damaged(void)
{
    char good[256], bad[256];
    path_of(good, sizeof good, "cnn.fgm");
    path_of(bad, sizeof bad, "bad.fgm");
    size_t n;
    unsigned char *f = slurp(good, &n);
    CHECK(f != NULL && n > 40);
    if (!f || n <= 40)
        return;
    unsigned char *g = malloc(n);

    memcpy(g, f, n);
    g[n / 2] ^= 0x10;
    spit(bad, g, n);
    expect_refused(bad, "damaged: checksum mismatch");

    spit(bad, f, n - 10);
    expect_refused(bad, "truncated");
    spit(bad, f, 12);
    expect_refused(bad, "truncated");
    spit(bad, f, 5);
    expect_refused(bad, "truncated");

    memcpy(g, f, n);
    g[0] = 'X';
    spit(bad, g, n);
    expect_refused(bad, "not a fmnist-grid model file");
    spit(bad, (const unsigned char *)"hello, world\n", 13);
    expect_refused(bad, "not a fmnist-grid model file");

    /* the version is checked before the checksum, which a newer format may define otherwise:
     * the CRC is not recomputed here */
    memcpy(g, f, n);
    g[8] = 3;
    spit(bad, g, n);
    expect_refused(bad, "format version 3 is newer than this program's 2");
    g[8] = 0;
    spit(bad, g, n);
    expect_refused(bad, "format version 0 is not valid");

    spit(bad, g, 0);
    expect_refused(bad, "empty file, not a fmnist-grid model file");

    path_of(bad, sizeof bad, "missing.fgm");
    expect_refused(bad, "cannot open model file");
    expect_refused(g_dir, "not a regular file");
    path_of(bad, sizeof bad, "bad.fgm");
    remove(bad);

    /* the good file still loads: the checks above refused the damage, not the file */
    fg_err err;
    nn_net *net = model_load(good, 4, NULL, NULL, &err);
    CHECK_MSG(net != NULL, "%s", err.msg);
    nn_net_free(net);
    free(g);
    free(f);
}

/* Saving where no file can be created fails with the path; nothing is left behind. */
static void test_save_errors(void)
{
    static nn_net_desc d;
    nn_train_desc t;
    fg_err err;
    cnn_desc(&d, &t);
    nn_net *net = nn_net_new(&d, 4, 1, &err);
    CHECK(net != NULL);
    if (!net)
        return;
    const char *p = "/nonexistent-dir-of-test-model/m.fgm";
    err.msg[0] = '\0';
    CHECK(model_save(p, net, &t, NULL, &err) != 0);
    CHECK_STR_CONTAINS(err.msg, p);
    CHECK_STR_CONTAINS(err.msg, "cannot create");
    /* a recipe that could not be loaded back is not saved */
    char path[256];
    path_of(path, sizeof path, "never.fgm");
    t.es_monitor = (nn_monitor)17;
    CHECK(model_save(path, net, &t, NULL, &err) != 0);
    CHECK_STR_CONTAINS(err.msg, "early-stopping monitor 17 is out of range");
    CHECK(access(path, F_OK) != 0);
    nn_net_free(net);
}

/* ---- this test's own writer: the layout of model.h, stored (uncompressed) deflate ---------- */

static uint32_t crc32_ref(uint32_t crc, const unsigned char *p, size_t n)
{
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

typedef struct {
    unsigned char *p;
    size_t len, cap;
} buf;

static void put(buf *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n)
            cap *= 2;
        unsigned char *q = realloc(b->p, cap);
        if (!q)
            abort(); /* a test with no memory left has nothing to report */
        b->p = q, b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

static void le(buf *b, uint64_t v, int bytes)
{
    unsigned char c[8];
    for (int i = 0; i < bytes; i++)
        c[i] = (unsigned char)(v >> (8 * i));
    put(b, c, (size_t)bytes);
}

static void i32(buf *b, int v) { le(b, (uint32_t)(int32_t)v, 4); }

static void f32(buf *b, float f)
{
    uint32_t v;
    memcpy(&v, &f, 4);
    le(b, v, 4);
}

static void init3(buf *b, nn_init in)
{
    i32(b, (int)in.kind), f32(b, in.a), f32(b, in.b);
}

/* The payload of model.h's layout for d, t, meta and params[0..n). */
static void payload_of(buf *b, const nn_net_desc *d, const nn_train_desc *t, const char *meta,
                       const float *params, uint64_t n)
{
    i32(b, d->in_h), i32(b, d->in_w), i32(b, d->in_c), i32(b, d->n_classes), i32(b, d->n_layers);
    for (int i = 0; i < d->n_layers; i++) {
        const nn_layer_desc *l = &d->layers[i];
        char name[NN_NAME_MAX] = {0};
        memcpy(name, l->name, strnlen(l->name, NN_NAME_MAX));
        i32(b, (int)l->kind);
        put(b, name, NN_NAME_MAX);
        i32(b, l->n_inputs), i32(b, l->inputs[0]), i32(b, l->inputs[1]);
        i32(b, (int)l->activation), f32(b, l->alpha), i32(b, l->units), i32(b, l->filters);
        i32(b, l->kernel[0]), i32(b, l->kernel[1]), i32(b, l->strides[0]), i32(b, l->strides[1]);
        i32(b, l->pool[0]), i32(b, l->pool[1]), i32(b, (int)l->padding);
        i32(b, l->depth_multiplier), i32(b, l->use_bias);
        init3(b, l->kernel_init), init3(b, l->bias_init), init3(b, l->depthwise_init);
        f32(b, l->l2), f32(b, l->rate), f32(b, l->bn_momentum), f32(b, l->bn_epsilon);
    }
    i32(b, (int)t->optimizer), f32(b, t->learning_rate), f32(b, t->momentum);
    i32(b, t->nesterov), f32(b, t->beta_1), f32(b, t->beta_2), f32(b, t->epsilon);
    f32(b, t->rho), f32(b, t->initial_accumulator), i32(b, t->batch_size), i32(b, t->epochs);
    i32(b, (int)t->es_monitor), i32(b, t->es_patience), f32(b, t->es_min_delta);
    i32(b, t->restore_best), i32(b, (int)t->rlr_monitor), f32(b, t->rlr_factor);
    i32(b, t->rlr_patience), i32(b, t->rlr_cooldown), f32(b, t->rlr_min_lr);
    f32(b, t->rlr_min_delta);
    le(b, strlen(meta), 4);
    put(b, meta, strlen(meta));
    le(b, n, 8);
    for (uint64_t i = 0; i < n; i++)
        f32(b, params[i]);
}

/* A model file around payload p[0..n) as a zlib stream of stored blocks. usize_adj is
 * added to the recorded payload size, pcrc_xor flips bits of the payload CRC; the file CRC
 * is always right. */
static void file_of(buf *f, const unsigned char *p, size_t n, uint32_t version, uint32_t flags,
                    int64_t usize_adj, uint32_t pcrc_xor)
{
    f->len = 0;
    put(f, "FMNGMDL", 8);
    le(f, version, 4);
    le(f, flags, 4);
    size_t c0 = f->len;
    put(f, "\x78\x01", 2);
    size_t off = 0;
    do {
        size_t k = n - off > 65535 ? 65535 : n - off;
        unsigned char h = off + k == n;
        put(f, &h, 1);
        le(f, k, 2);
        le(f, ~k & 0xffff, 2);
        put(f, p + off, k);
        off += k;
    } while (off < n);
    uint32_t s1 = 1, s2 = 0; /* Adler-32, big-endian at the end of the zlib stream */
    for (size_t i = 0; i < n; i++)
        s1 = (s1 + p[i]) % 65521, s2 = (s2 + s1) % 65521;
    unsigned char ad[4] = {(unsigned char)(s2 >> 8), (unsigned char)s2, (unsigned char)(s1 >> 8),
                           (unsigned char)s1};
    put(f, ad, 4);
    size_t csize = f->len - c0;
    le(f, (uint64_t)((int64_t)n + usize_adj), 8);
    le(f, csize, 8);
    le(f, crc32_ref(0, p, n) ^ pcrc_xor, 4);
    le(f, crc32_ref(0, f->p, f->len), 4);
}

static void write_payload(const char *path, const buf *pl)
{
    buf f = {0};
    file_of(&f, pl->p, pl->len, 1, 0, 0, 0);
    spit(path, f.p, f.len);
    free(f.p);
}

/* Offsets into the payload of the CNN (4 layers). */
enum {
    OFF_N_LAYERS = 16,
    OFF_LAYER0 = 20,
    LAYER_BYTES = 152,
    OFF_ACT = 4 + NN_NAME_MAX + 12, /* within a layer */
    OFF_UNITS = OFF_ACT + 8,
    OFF_TRAIN = OFF_LAYER0 + 4 * LAYER_BYTES,
    OFF_META = OFF_TRAIN + 84
};

static void set_u32(buf *b, size_t off, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        b->p[off + (size_t)i] = (unsigned char)(v >> (8 * i));
}

static void test_hostile(void)
{
    char good[256], path[256];
    path_of(good, sizeof good, "cnn.fgm");
    path_of(path, sizeof path, "hostile.fgm");
    fg_err err;
    nn_train_desc t;
    char *meta = NULL;
    nn_net *ref = model_load(good, 16, &t, &meta, &err);
    CHECK_MSG(ref != NULL, "%s", err.msg);
    if (!ref)
        return;
    const nn_net_desc *d = nn_net_desc_of(ref);
    CHECK_INT(d->n_layers, 4);
    const float *params = nn_net_params(ref);
    uint64_t np = (uint64_t)nn_net_n_params(ref);

    /* our writer + stored blocks load through model.c: the documented layout is the real one */
    buf pl = {0};
    payload_of(&pl, d, &t, meta, params, np);
    CHECK_INT(pl.len, OFF_META + 4 + strlen(meta) + 8 + 4 * np);
    write_payload(path, &pl);
    nn_train_desc t2;
    char *meta2 = NULL;
    nn_net *net = model_load(path, 16, &t2, &meta2, &err);
    CHECK_MSG(net != NULL, "own writer: %s", err.msg);
    if (net) {
        CHECK_INT(desc_diff(d, nn_net_desc_of(net)), 0);
        CHECK_INT(train_diff(&t, &t2), 0);
        CHECK(meta2 && !strcmp(meta, meta2));
        CHECK(!memcmp(params, nn_net_params(net), (size_t)np * sizeof(float)));
    }
    nn_net_free(net);
    free(meta2);

    buf h = {0};
    struct {
        const char *what, *phrase;
    } cases[] = {
        {"n_layers 1000", "1000 layers (must be 1..128)"},
        {"n_layers -1", "-1 layers"},
        {"n_layers 0", "0 layers"},
        {"name without NUL", "not NUL-terminated within 32 bytes"},
        {"activation 99", "activation 99 is out of range"},
        {"layer kind -3", "kind -3 is out of range"},
        {"optimizer 7", "optimizer 7 is out of range"},
        {"metadata length 2^32-1", "payload ends inside the metadata"},
        {"payload cut inside the layers", "payload ends inside the network description"},
        {"one parameter too many", "parameters"},
        {"parameter count off by one", "stores"},
        {"dense units 5 of 10 classes", "invalid network description"},
        {"NUL in the metadata", "metadata contains a NUL"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        h.len = 0;
        put(&h, pl.p, pl.len);
        size_t l3 = OFF_LAYER0 + 3 * LAYER_BYTES;
        size_t np_off = OFF_META + 4 + strlen(meta);
        switch (c) {
        case 0: set_u32(&h, OFF_N_LAYERS, 1000); break;
        case 1: set_u32(&h, OFF_N_LAYERS, (uint32_t)-1); break;
        case 2: set_u32(&h, OFF_N_LAYERS, 0); break;
        case 3: memset(h.p + OFF_LAYER0 + LAYER_BYTES + 4, 'A', NN_NAME_MAX); break;
        case 4: set_u32(&h, l3 + OFF_ACT, 99); break;
        case 5: set_u32(&h, OFF_LAYER0 + 2 * LAYER_BYTES, (uint32_t)-3); break;
        case 6: set_u32(&h, OFF_TRAIN, 7); break;
        case 7: set_u32(&h, OFF_META, 0xffffffffu); break;
        case 8: h.len = OFF_LAYER0 + LAYER_BYTES + 30; break;
        case 9: f32(&h, 1.0f); break;
        case 10:
            set_u32(&h, (size_t)np_off, (uint32_t)(np - 1));
            h.len -= 4;
            break;
        case 11: set_u32(&h, l3 + OFF_UNITS, 5); break;
        case 12:
            if (strlen(meta) > 2)
                h.p[OFF_META + 4 + 1] = '\0';
            break;
        }
        write_payload(path, &h);
        g_case = cases[c].what;
        expect_refused(path, cases[c].phrase);
        g_case = "";
    }

    /* container fields with a correct file CRC */
    buf f = {0};
    file_of(&f, pl.p, pl.len, 1, 0, 0, 0x100);
    spit(path, f.p, f.len);
    expect_refused(path, "damaged: payload checksum mismatch");
    file_of(&f, pl.p, pl.len, 1, 0, 1, 0);
    spit(path, f.p, f.len);
    expect_refused(path, "damaged");
    file_of(&f, pl.p, pl.len, 1, 0, -1, 0);
    spit(path, f.p, f.len);
    expect_refused(path, "damaged");
    file_of(&f, pl.p, pl.len, 1, 0, 1000000000, 0);
    spit(path, f.p, f.len);
    expect_refused(path, "implausible payload size");
    file_of(&f, pl.p, pl.len, 1, 4, 0, 0);
    spit(path, f.p, f.len);
    expect_refused(path, "flags 0x4");
    /* a byte flipped in the compressed data (stored-block length) with the CRC made right */
    file_of(&f, pl.p, pl.len, 1, 0, 0, 0);
    f.p[16 + 3] ^= 0x01;
    uint32_t crc = crc32_ref(0, f.p, f.len - 4);
    set_u32(&f, f.len - 4, crc);
    spit(path, f.p, f.len);
    expect_refused(path, "damaged");

    remove(path);
    free(f.p);
    free(h.p);
    free(pl.p);
    free(meta);
    nn_net_free(ref);
}

/* A small file may describe a network whose activations are huge: a convolution and a
 * global average pooling have as many parameters for a 1024x1024 input as for 8x8. Reading
 * such a file allocates nothing beyond its payload; building its network for prediction
 * never allocates more than MODEL_ACT_MAX_BYTES of activations (fewer images per batch),
 * and a network that needs more than that for one image is refused with the reason. */
static nn_net_desc *large_input_desc(int side, int filters)
{
    static nn_net_desc d;
    desc_begin(&d);
    push_conv(&d, NN_LAYER_CONV2D, filters, NN_ACT_RELU);
    push(&d, NN_LAYER_GLOBAL_AVG_POOL2D);
    push_softmax(&d);
    (void)side;
    return &d;
}

static void test_large_input(void)
{
    char path[256];
    path_of(path, sizeof path, "large.fgm");
    nn_train_desc t;
    nn_train_desc_init(&t, NN_OPT_SGD);
    fg_err err;
    for (int c = 0; c < 2; c++) {
        int side = c == 0 ? 1024 : 4096, filters = c == 0 ? 4 : 16;
        nn_net_desc *d = large_input_desc(side, filters);
        nn_net *small = nn_net_new(d, 1, 7, &err); /* the parameters do not depend on the side */
        CHECK_MSG(small != NULL, "%s", err.msg);
        if (!small)
            return;
        d->in_h = d->in_w = side;
        buf pl = {0};
        payload_of(&pl, d, &t, "large input", nn_net_params(small), (uint64_t)nn_net_n_params(small));
        write_payload(path, &pl);
        CHECK_MSG(pl.len < 2000, "payload of %zu bytes", pl.len);
        model_file m;
        int rc = model_read(path, &m, &err);
        CHECK_MSG(rc == 0, "%s", err.msg);
        if (rc == 0) {
            CHECK_INT(m.desc->in_h, side);
            CHECK_INT(m.n_params, nn_net_n_params(small));
            int batch = 0;
            nn_net *net = model_build(&m, 256, &batch, &err);
            if (c == 0) {
                CHECK_MSG(net != NULL, "%s", err.msg);
                /* 12 bytes per activation (value, gradient, workspace) of 1 + 4 channels */
                double per_image = 12.0 * side * side * (1 + filters);
                CHECK_MSG(batch >= 1 && batch < 256 && batch * per_image <= (double)MODEL_ACT_MAX_BYTES,
                          "batch %d of %.0f bytes per image", batch, per_image);
            } else {
                CHECK(net == NULL);
                CHECK_STR_CONTAINS(err.msg, path);
                CHECK_STR_CONTAINS(err.msg, "MiB of activations per 4096x4096x1 image, more than the 256 MiB limit");
            }
            nn_net_free(net);
            model_file_free(&m);
        }
        /* model_load too builds within the limit */
        nn_net *net = model_load(path, 256, NULL, NULL, &err);
        CHECK((net != NULL) == (c == 0));
        nn_net_free(net);
        nn_net_free(small);
        free(pl.p);
    }
    remove(path);
}

/* Not a regular file: a FIFO (whose open() would wait for a writer for ever) and /dev/zero
 * (endless) are refused at once, whatever their name. alarm() turns a hang into a failure. */
static void test_special_files(void)
{
    char fifo[256], zero[256];
    path_of(fifo, sizeof fifo, "fifo.fgm");
    path_of(zero, sizeof zero, "zero.fgm");
    CHECK(mkfifo(fifo, 0600) == 0);
    CHECK(symlink("/dev/zero", zero) == 0);
    alarm(20);
    expect_refused(fifo, "not a regular file (a FIFO)");
    expect_refused(zero, "not a regular file (a character device)");
    model_file m;
    fg_err err;
    CHECK(model_read(fifo, &m, &err) != 0);
    alarm(0);
    remove(fifo);
    remove(zero);
}

int main(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/test_model.XXXXXX");
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 1;
    }
    make_data();
    test_diff_catches_changes();
    round_trip("mlp.fgm", mlp_desc,
               "grid: quick\nconfig: 3\nseed: 42\ntest_acc: 0.8125\nclasses: T-shirt/top \xe2\x80\xa6 "
               "Ankle boot, caf\xc3\xa9");
    round_trip("cnn.fgm", cnn_desc, "grid: conv\nconfig: 0\nfold: -1");
    round_trip("bn.fgm", bn_desc, NULL);
    round_trip("recipe.fgm", recipe_desc, "grid: recipe");
    /* a recipe without version 2's fields is written as version 1, as before them */
    CHECK_INT(file_version("cnn.fgm"), 1);
    CHECK_INT(file_version("bn.fgm"), 1);
    CHECK_INT(file_version("recipe.fgm"), 2);
    test_damaged();
    test_save_errors();
    test_hostile();
    test_large_input();
    test_special_files();
    char p[256];
    const char *names[] = {"mlp.fgm", "cnn.fgm", "bn.fgm", "recipe.fgm"};
    for (int i = 0; i < 4; i++) {
        path_of(p, sizeof p, names[i]);
        remove(p);
    }
    rmdir(g_dir);
    return check_report("test_model");
}
