/* nn_names.c - the one vocabulary: enum <-> name tables (layers, activations, initialisers,
 * optimizers, monitors, schedules, interpolations, statuses; the grid parser and the
 * model file use these) and the Keras defaults of layer and training descriptions. Names are matched case-insensitively ignoring '_', so Keras's class names
 * ("MaxPooling2D", "LeakyReLU", "GlorotUniform", "RMSprop") and config names
 * ("max_pooling2d", "leaky_relu", "glorot_uniform", "rmsprop") are both accepted. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn.h"

typedef struct {
    const char *name;
    int value;
} alias;

/* Canonical names, indexed by enum value. */
static const char *const ACT_NAMES[NN_ACT__COUNT] = {
    "linear", "relu", "sigmoid", "tanh", "softmax", "leaky_relu", "elu"};
static const char *const INIT_NAMES[NN_INIT__COUNT] = {
    "zeros",        "ones",           "glorot_uniform", "glorot_normal",  "he_uniform",
    "he_normal",    "lecun_uniform",  "lecun_normal",   "random_uniform", "random_normal"};
static const char *const KIND_NAMES[NN_LAYER__COUNT] = {
    "dense",           "dropout",          "flatten",
    "activation",      "conv2d",           "separable_conv2d",
    "depthwise_conv2d", "conv2d_transpose", "max_pooling2d",
    "average_pooling2d", "global_average_pooling2d", "batch_normalization",
    "add",             "resizing",         "grayscale_to_rgb",
    "rescaling",       "vgg16_preprocess"};
static const char *const INTERP_NAMES[NN_INTERP__COUNT] = {"bilinear", "nearest"};
static const char *const PAD_NAMES[] = {[NN_PAD_VALID] = "valid", [NN_PAD_SAME] = "same"};
static const char *const OPT_NAMES[NN_OPT__COUNT] = {
    "sgd", "adam", "rmsprop", "adagrad", "adadelta", "adamax", "nadam", "adamw"};
static const char *const SCHED_NAMES[NN_SCHED__COUNT] = {"constant", "cosine", "one_cycle"};
static const char *const MON_NAMES[] = {"val_loss", "val_accuracy", "loss", "accuracy"};
static const char *const STATUS_NAMES[NN_STATUS__COUNT] = {"ok", "diverged", "invalid",
                                                           "timeout", "failed"};

/* Other spellings Keras accepts. */
static const alias ACT_ALIASES[] = {{"none", NN_ACT_LINEAR}, {"lrelu", NN_ACT_LEAKY_RELU}};
static const alias INIT_ALIASES[] = {{"zero", NN_INIT_ZEROS},
                                     {"one", NN_INIT_ONES},
                                     {"xavier_uniform", NN_INIT_GLOROT_UNIFORM},
                                     {"xavier_normal", NN_INIT_GLOROT_NORMAL},
                                     {"uniform", NN_INIT_RANDOM_UNIFORM},
                                     {"normal", NN_INIT_RANDOM_NORMAL}};
static const alias KIND_ALIASES[] = {
    {"convolution2d", NN_LAYER_CONV2D},
    {"separable_convolution2d", NN_LAYER_SEPARABLE_CONV2D},
    {"convolution2d_transpose", NN_LAYER_CONV2D_TRANSPOSE},
    {"deconvolution2d", NN_LAYER_CONV2D_TRANSPOSE},
    {"max_pool2d", NN_LAYER_MAX_POOL2D},
    {"avg_pool2d", NN_LAYER_AVG_POOL2D},
    {"average_pool2d", NN_LAYER_AVG_POOL2D},
    {"global_avg_pool2d", NN_LAYER_GLOBAL_AVG_POOL2D},
    {"global_average_pool2d", NN_LAYER_GLOBAL_AVG_POOL2D},
    {"batch_norm", NN_LAYER_BATCH_NORM},
    {"batchnorm", NN_LAYER_BATCH_NORM},
    {"repeat_channels", NN_LAYER_GRAYSCALE_TO_RGB},
    {"vgg16_preprocess_input", NN_LAYER_VGG16_PREPROCESS}};
static const alias MON_ALIASES[] = {{"val_acc", NN_MON_VAL_ACC}, {"acc", NN_MON_ACC}};
static const alias SCHED_ALIASES[] = {{"none", NN_SCHED_CONSTANT},
                                      {"cosine_decay", NN_SCHED_COSINE},
                                      {"onecycle", NN_SCHED_ONE_CYCLE}};

/* Compares ignoring case and '_'. */
static int name_eq(const char *a, const char *b)
{
    for (;;) {
        while (*a == '_')
            a++;
        while (*b == '_')
            b++;
        if (!*a || !*b)
            return !*a && !*b;
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return 0;
        a++, b++;
    }
}

static int lookup(const char *s, const char *const *names, int n, const alias *al, int n_al)
{
    if (!s)
        return -1;
    for (int i = 0; i < n; i++)
        if (name_eq(s, names[i]))
            return i;
    for (int i = 0; i < n_al; i++)
        if (name_eq(s, al[i].name))
            return al[i].value;
    return -1;
}

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define NAME_OF(table, v) ((int)(v) >= 0 && (int)(v) < COUNT(table) ? (table)[v] : "?")

const char *nn_act_name(nn_act a) { return NAME_OF(ACT_NAMES, a); }
int nn_act_from_name(const char *s)
{
    return lookup(s, ACT_NAMES, COUNT(ACT_NAMES), ACT_ALIASES, COUNT(ACT_ALIASES));
}
const char *nn_init_name(nn_init_kind k) { return NAME_OF(INIT_NAMES, k); }
int nn_init_from_name(const char *s)
{
    return lookup(s, INIT_NAMES, COUNT(INIT_NAMES), INIT_ALIASES, COUNT(INIT_ALIASES));
}
const char *nn_layer_kind_name(nn_layer_kind k) { return NAME_OF(KIND_NAMES, k); }
int nn_layer_kind_from_name(const char *s)
{
    return lookup(s, KIND_NAMES, COUNT(KIND_NAMES), KIND_ALIASES, COUNT(KIND_ALIASES));
}
const char *nn_opt_name(nn_opt_kind k) { return NAME_OF(OPT_NAMES, k); }
int nn_opt_from_name(const char *s) { return lookup(s, OPT_NAMES, COUNT(OPT_NAMES), NULL, 0); }
const char *nn_monitor_name(nn_monitor m) { return NAME_OF(MON_NAMES, m); }
int nn_monitor_from_name(const char *s)
{
    return lookup(s, MON_NAMES, COUNT(MON_NAMES), MON_ALIASES, COUNT(MON_ALIASES));
}
const char *nn_status_name(nn_status s) { return NAME_OF(STATUS_NAMES, s); }
const char *nn_interp_name(nn_interp i) { return NAME_OF(INTERP_NAMES, i); }
int nn_interp_from_name(const char *s)
{
    return lookup(s, INTERP_NAMES, COUNT(INTERP_NAMES), NULL, 0);
}

const char *nn_padding_name(nn_padding p) { return NAME_OF(PAD_NAMES, p); }
int nn_padding_from_name(const char *s) { return lookup(s, PAD_NAMES, COUNT(PAD_NAMES), NULL, 0); }

const char *nn_sched_name(nn_sched_kind k) { return NAME_OF(SCHED_NAMES, k); }
int nn_sched_from_name(const char *s)
{
    return lookup(s, SCHED_NAMES, COUNT(SCHED_NAMES), SCHED_ALIASES, COUNT(SCHED_ALIASES));
}

const char *nn_vocab_text(nn_vocab v, char *buf, size_t size)
{
    static const struct {
        const char *const *names;
        int n;
    } vocab[NN_VOCAB__COUNT] = {
        [NN_VOCAB_ACT] = {ACT_NAMES, COUNT(ACT_NAMES)},
        [NN_VOCAB_INIT] = {INIT_NAMES, COUNT(INIT_NAMES)},
        [NN_VOCAB_LAYER] = {KIND_NAMES, COUNT(KIND_NAMES)},
        [NN_VOCAB_OPT] = {OPT_NAMES, COUNT(OPT_NAMES)},
        [NN_VOCAB_MONITOR] = {MON_NAMES, COUNT(MON_NAMES)},
        [NN_VOCAB_SCHED] = {SCHED_NAMES, COUNT(SCHED_NAMES)},
        [NN_VOCAB_INTERP] = {INTERP_NAMES, COUNT(INTERP_NAMES)},
        [NN_VOCAB_PADDING] = {PAD_NAMES, COUNT(PAD_NAMES)},
    };
    size_t n = 0;
    if (size)
        buf[0] = '\0';
    for (int i = 0; (int)v >= 0 && v < NN_VOCAB__COUNT && i < vocab[v].n; i++) {
        int w = snprintf(buf + n, size - n, "%s%s", i ? ", " : "", vocab[v].names[i]);
        if (w < 0 || (size_t)w >= size - n)
            break;
        n += (size_t)w;
    }
    return buf;
}

/* Keras's defaults. Conventions beyond Keras (so that a parser only overrides what the user
 * wrote):
 *   alpha = NaN        the activation's Keras default (leaky_relu 0.3, elu 1.0);
 *   init a, b = NaN    the initialiser's Keras default (random_uniform -0.05..0.05,
 *                      random_normal mean 0 stddev 0.05);
 *   strides = 0        1 for convolutions, the pool size for pooling (Keras's None);
 *   inputs             the network input: a parser sets inputs[0] = i - 1 for a sequence.
 * kernel defaults to 3x3 (Keras has no default). */
void nn_layer_desc_init(nn_layer_desc *l, nn_layer_kind kind)
{
    memset(l, 0, sizeof *l);
    l->kind = kind;
    l->n_inputs = kind == NN_LAYER_ADD ? 2 : 1;
    l->inputs[0] = l->inputs[1] = NN_INPUT;
    l->activation = NN_ACT_LINEAR;
    l->alpha = NAN;
    l->kernel[0] = l->kernel[1] = 3;
    l->strides[0] = l->strides[1] = 0;
    l->pool[0] = l->pool[1] = 2;
    l->padding = NN_PAD_VALID;
    l->depth_multiplier = 1;
    l->use_bias = 1;
    l->kernel_init = (nn_init){NN_INIT_GLOROT_UNIFORM, NAN, NAN};
    l->bias_init = (nn_init){NN_INIT_ZEROS, NAN, NAN};
    l->depthwise_init = (nn_init){NN_INIT_GLOROT_UNIFORM, NAN, NAN};
    l->l2 = 0.0f;
    l->rate = 0.0f;
    l->bn_momentum = 0.99f;
    l->bn_epsilon = 1e-3f;
    l->interpolation = NN_INTERP_BILINEAR;
    l->scale = 1.0f;
    l->offset = 0.0f;
}

/* tf.keras 2.x defaults (optimizer_v2): learning rates, betas, rho, epsilon 1e-7; the
 * callbacks' defaults where a callback is enabled (EarlyStopping min_delta 0,
 * ReduceLROnPlateau patience 10, min_delta 1e-4, cooldown 0, min_lr 0). The recipe beyond
 * the study is off: no weight decay (Keras 3's AdamW: 0.004), label smoothing, EMA (Keras
 * ema_momentum 0.99 once use_ema is set), schedule or augmentation. */
void nn_train_desc_init(nn_train_desc *t, nn_opt_kind opt)
{
    memset(t, 0, sizeof *t);
    t->optimizer = opt;
    t->learning_rate = opt == NN_OPT_SGD ? 0.01f : 0.001f;
    t->momentum = 0.0f;
    t->nesterov = 0;
    t->beta_1 = 0.9f;
    t->beta_2 = 0.999f;
    t->epsilon = 1e-7f;
    t->rho = opt == NN_OPT_ADADELTA ? 0.95f : 0.9f;
    t->initial_accumulator = 0.1f;
    t->batch_size = 32;
    t->epochs = 1;
    t->es_monitor = NN_MON_VAL_LOSS;
    t->es_patience = -1;
    t->es_min_delta = 0.0f;
    t->restore_best = 0;
    t->rlr_monitor = NN_MON_VAL_LOSS;
    t->rlr_factor = 0.0f;
    t->rlr_patience = 10;
    t->rlr_cooldown = 0;
    t->rlr_min_lr = 0.0f;
    t->rlr_min_delta = 1e-4f;
    t->weight_decay = opt == NN_OPT_ADAMW ? 0.004f : 0.0f;
    t->label_smoothing = 0.0f;
    t->use_ema = 0;
    t->ema_momentum = 0.99f;
    t->lr_schedule = NN_SCHED_CONSTANT;
    t->warmup_steps = 0;
    t->warmup_target = 0.0f;
    t->decay_steps = 0;
    t->cosine_alpha = 0.0f;
    t->augment_translate = 0;
    t->augment_flip = 0;
    t->augment_erase = 0.0f;
    t->tta_flip = 0;
}
