/* nn.h - the training engine: network descriptions, layers, loss, optimizers, training loop.
 *
 * The engine knows tensors and layers only: no MPI, no YAML, no files, no folds. A caller
 * describes a network (nn_net_desc, plain data without pointers), builds it (shapes are
 * checked here, errors name the layer), and trains it on index lists into a uint8 image
 * array. All matrix products go through the GEMM wrapper (nn_gemm.h). Tensors are
 * channels_last (N, H, W, C) as in Keras. */
#ifndef NN_H
#define NN_H

#include <stddef.h>
#include <stdint.h>

#include "fg_util.h"

#define NN_MAX_LAYERS 128
#define NN_MAX_EPOCHS 1000
#define NN_NAME_MAX 32
#define NN_INPUT (-1) /* inputs[] value meaning "the network input" */

typedef enum {
    NN_ACT_LINEAR = 0,
    NN_ACT_RELU,
    NN_ACT_SIGMOID,
    NN_ACT_TANH,
    NN_ACT_SOFTMAX,
    NN_ACT_LEAKY_RELU, /* alpha = nn_layer_desc.alpha (Keras default 0.3) */
    NN_ACT_ELU,        /* alpha = nn_layer_desc.alpha (Keras default 1.0) */
    NN_ACT__COUNT
} nn_act;

typedef enum {
    NN_INIT_ZEROS = 0,
    NN_INIT_ONES,
    NN_INIT_GLOROT_UNIFORM,
    NN_INIT_GLOROT_NORMAL,
    NN_INIT_HE_UNIFORM,
    NN_INIT_HE_NORMAL,
    NN_INIT_LECUN_UNIFORM,
    NN_INIT_LECUN_NORMAL,
    NN_INIT_RANDOM_UNIFORM, /* a = minval (-0.05), b = maxval (0.05) */
    NN_INIT_RANDOM_NORMAL,  /* a = mean (0), b = stddev (0.05) */
    NN_INIT__COUNT
} nn_init_kind;

typedef struct {
    nn_init_kind kind;
    float a, b;
} nn_init;

typedef enum {
    NN_LAYER_DENSE = 0,
    NN_LAYER_DROPOUT,
    NN_LAYER_FLATTEN,
    NN_LAYER_ACTIVATION,
    NN_LAYER_CONV2D,
    NN_LAYER_SEPARABLE_CONV2D,
    NN_LAYER_DEPTHWISE_CONV2D,
    NN_LAYER_CONV2D_TRANSPOSE,
    NN_LAYER_MAX_POOL2D,
    NN_LAYER_AVG_POOL2D,
    NN_LAYER_GLOBAL_AVG_POOL2D,
    NN_LAYER_BATCH_NORM,
    NN_LAYER_ADD,
    /* input preprocessing, without parameters (nn_layer_pre.c) */
    NN_LAYER_RESIZING,         /* Keras Resizing: size (h, w), interpolation */
    NN_LAYER_GRAYSCALE_TO_RGB, /* one channel repeated into three (tf.image.grayscale_to_rgb) */
    NN_LAYER_RESCALING,        /* Keras Rescaling: y = x * scale + offset */
    NN_LAYER_VGG16_PREPROCESS, /* keras.applications.vgg16.preprocess_input ("caffe") */
    NN_LAYER__COUNT
} nn_layer_kind;

typedef enum { NN_PAD_VALID = 0, NN_PAD_SAME } nn_padding;

typedef enum { NN_INTERP_BILINEAR = 0, NN_INTERP_NEAREST, NN_INTERP__COUNT } nn_interp;

typedef enum {
    NN_OPT_SGD = 0,
    NN_OPT_ADAM,
    NN_OPT_RMSPROP,
    NN_OPT_ADAGRAD,
    NN_OPT_ADADELTA,
    NN_OPT_ADAMAX,
    NN_OPT_NADAM,
    NN_OPT_ADAMW, /* adam with decoupled weight decay (default 0.004), as Keras's AdamW */
    NN_OPT__COUNT
} nn_opt_kind;

typedef enum { NN_MON_VAL_LOSS = 0, NN_MON_VAL_ACC, NN_MON_LOSS, NN_MON_ACC } nn_monitor;

/* Learning-rate schedules, evaluated per optimizer step (src/nn_sched.c). */
typedef enum {
    NN_SCHED_CONSTANT = 0, /* learning_rate (after the warm-up: warmup_target) */
    NN_SCHED_COSINE,       /* Keras CosineDecay, with its linear warm-up */
    NN_SCHED_ONE_CYCLE,    /* PyTorch OneCycleLR (cosine annealing, learning rate only) */
    NN_SCHED__COUNT
} nn_sched_kind;

/* One layer. Fields not used by a kind are ignored. nn_layer_desc_init() fills Keras's
 * defaults for a kind; parsers then override what the user wrote. */
typedef struct {
    nn_layer_kind kind;
    char name[NN_NAME_MAX];  /* unique within the network; used in error messages */
    int n_inputs;            /* 1, or 2 for add */
    int inputs[2];           /* layer indices < own index, or NN_INPUT */
    nn_act activation;       /* dense, conv*, activation layer */
    float alpha;             /* leaky_relu / elu */
    int units;               /* dense */
    int filters;             /* conv2d, separable_conv2d (pointwise), conv2d_transpose */
    int kernel[2];           /* conv kernels (h, w) */
    int strides[2];          /* conv and pooling strides (h, w); pooling default = pool */
    int pool[2];             /* pooling window (h, w) */
    nn_padding padding;
    int depth_multiplier;    /* depthwise / separable */
    int use_bias;            /* default 1 */
    nn_init kernel_init;     /* default glorot_uniform */
    nn_init bias_init;       /* default zeros */
    nn_init depthwise_init;  /* separable/depthwise: default glorot_uniform */
    float l2;                /* L2 kernel regularizer factor, 0 = none */
    float rate;              /* dropout rate in [0, 1) */
    float bn_momentum;       /* batch norm, Keras default 0.99 */
    float bn_epsilon;        /* batch norm, Keras default 1e-3 */
    int size[2];             /* resizing: output (height, width) */
    nn_interp interpolation; /* resizing, Keras default bilinear */
    float scale, offset;     /* rescaling, Keras defaults 1 and 0 */
    int frozen;              /* Keras's trainable = False: parameters never change (no
                              * gradient step, no weight decay); batch norm runs in inference
                              * mode. Its parameters count as non-trainable. Its forward
                              * GEMMs take one image at a time, so each image's outputs do
                              * not depend on the batch (a frozen base relies on it). */
} nn_layer_desc;

typedef struct {
    int in_h, in_w, in_c; /* input image shape: 28, 28, 1 for Fashion-MNIST */
    int n_classes;        /* the last layer must output this many values through softmax */
    int n_layers;
    nn_layer_desc layers[NN_MAX_LAYERS];
} nn_net_desc;

/* Training recipe. nn_train_desc_init() sets Keras's defaults for an optimizer. */
typedef struct {
    nn_opt_kind optimizer;
    float learning_rate;
    float momentum;  /* sgd, rmsprop */
    int nesterov;    /* sgd */
    float beta_1, beta_2, epsilon, rho;
    float initial_accumulator; /* adagrad, Keras default 0.1 */
    int batch_size;
    int epochs;
    /* Early stopping: patience < 0 disables. */
    nn_monitor es_monitor;
    int es_patience;
    float es_min_delta;
    int restore_best; /* end every fit with the weights of its best epoch (by es_monitor) */
    /* Reduce learning rate on plateau: factor <= 0 disables. */
    nn_monitor rlr_monitor;
    float rlr_factor;
    int rlr_patience, rlr_cooldown;
    float rlr_min_lr, rlr_min_delta;
    /* The training recipe beyond the study (nn_train_desc_init turns every one off, so a
     * recipe that does not set them trains exactly as before they existed). */
    float weight_decay;        /* decoupled: w -= lr * weight_decay * w before each step
                                * (Keras optimizers; adamw default 0.004, else 0) */
    float label_smoothing;     /* Keras categorical cross-entropy: y = y(1-ls) + ls/K */
    int use_ema;               /* average the weights (Keras use_ema): evaluated, kept */
    float ema_momentum;        /* Keras default 0.99 */
    nn_sched_kind lr_schedule; /* per step; reduce-on-plateau multiplies it */
    int warmup_steps;          /* linear from learning_rate to warmup_target */
    float warmup_target;       /* 0 = none (Keras's None): the schedule starts at
                                * learning_rate */
    int decay_steps;           /* cosine / one-cycle length; 0 = the rest of the run */
    float cosine_alpha;        /* cosine: final rate as a fraction of the peak (Keras alpha) */
    /* Augmentation of training batches (src/nn_augment.c), never of evaluation. */
    int augment_translate;     /* shift by up to N pixels each way (pad with 0 and crop) */
    int augment_flip;          /* horizontal flip with probability 1/2 */
    float augment_erase;       /* probability of random erasing (torchvision defaults) */
    int tta_flip;              /* test-time augmentation: validation and test scores use the
                                * mean probabilities of each image and its mirror image */
} nn_train_desc;

/* The images and labels a network trains on: borrowed, never freed by the engine.
 * images is n_total x (h*w*c) uint8, scaled by 1/255 when a batch is built. When features
 * is not NULL it is used instead of images: n_total x (h*w*c) floats taken as they are
 * (the outputs of a frozen base, nn_head.h); augmentation and the test-time flip, which
 * transform images, are then refused. */
typedef struct {
    const uint8_t *images;
    const uint8_t *labels;
    int h, w, c;
    int n_classes;
    const float *features;
} nn_data;

typedef struct {
    float loss, acc;         /* training, averaged over the epoch as Keras prints them */
    float val_loss, val_acc; /* on the validation indices; NaN when there are none */
    float lr;                /* learning rate used in this epoch */
    double seconds;
} nn_epoch;

typedef enum {
    NN_STATUS_OK = 0,
    NN_STATUS_DIVERGED, /* loss became NaN or infinite */
    NN_STATUS_INVALID,  /* the model could not be built */
    NN_STATUS_TIMEOUT,  /* the hook asked to stop (per-task time limit) */
    NN_STATUS_FAILED,   /* anything else (out of memory...) */
    NN_STATUS__COUNT
} nn_status;

typedef struct {
    nn_status status;
    int epochs_run;
    nn_epoch hist[NN_MAX_EPOCHS];
    float val_loss, val_acc; /* of the final weights (restored best ones if restore_best) */
    int best_epoch;          /* 0-based; -1 if no monitoring */
} nn_fit_result;

/* Called after every training batch with the caller's context; a non-zero return stops
 * training with NN_STATUS_TIMEOUT. May be NULL. */
typedef int (*nn_hook)(void *ctx);

/* Per-layer shape report, for summaries (like Keras's summary()) and cost estimates. */
typedef struct {
    char name[NN_NAME_MAX];
    nn_layer_kind kind;
    int out_h, out_w, out_c; /* flat outputs have out_h = out_w = 1 */
    int64_t n_params;
    int64_t n_trainable;     /* of n_params: those the optimizer updates */
    int64_t flops;           /* forward multiply-adds x 2 per image */
} nn_layer_info;

typedef struct nn_net nn_net;

/* Names <-> enums ("relu", "glorot_uniform", "sgd", "dense", "val_loss" ...).
 * *_from_name return -1 for an unknown name. */
const char *nn_act_name(nn_act a);
int nn_act_from_name(const char *s);
const char *nn_init_name(nn_init_kind k);
int nn_init_from_name(const char *s);
const char *nn_layer_kind_name(nn_layer_kind k);
int nn_layer_kind_from_name(const char *s);
const char *nn_opt_name(nn_opt_kind k);
int nn_opt_from_name(const char *s);
const char *nn_monitor_name(nn_monitor m);
int nn_monitor_from_name(const char *s);
const char *nn_sched_name(nn_sched_kind k);
int nn_sched_from_name(const char *s);
const char *nn_status_name(nn_status s);
const char *nn_interp_name(nn_interp i);
int nn_interp_from_name(const char *s);
const char *nn_padding_name(nn_padding p);
int nn_padding_from_name(const char *s);

/* The vocabularies above, for messages that list the valid names. */
typedef enum {
    NN_VOCAB_ACT, NN_VOCAB_INIT, NN_VOCAB_LAYER, NN_VOCAB_OPT, NN_VOCAB_MONITOR, NN_VOCAB_SCHED,
    NN_VOCAB_INTERP, NN_VOCAB_PADDING, NN_VOCAB__COUNT
} nn_vocab;
/* Writes vocabulary v's canonical names joined by ", " ("linear, relu, ...") to buf (cut
 * short if size is too small) and returns buf. */
const char *nn_vocab_text(nn_vocab v, char *buf, size_t size);

void nn_layer_desc_init(nn_layer_desc *l, nn_layer_kind kind);
void nn_train_desc_init(nn_train_desc *t, nn_opt_kind opt);

/* Checks every shape of d without allocating weights. Fills info[0..n_layers) when info
 * is not NULL, and the totals. Returns 0, or -1 with err naming the layer. */
int nn_desc_check(const nn_net_desc *d, nn_layer_info *info, int64_t *total_params,
                  int64_t *flops_per_image, fg_err *err);

/* Builds a network for batches of up to max_batch images: one allocation each for
 * parameters, gradients, optimizer state and activations. Weights are initialised from
 * seed. Returns NULL with err filled. The caller frees with nn_net_free. */
nn_net *nn_net_new(const nn_net_desc *d, int max_batch, uint64_t seed, fg_err *err);
void nn_net_free(nn_net *net); /* NULL is a no-op */
int64_t nn_net_n_params(const nn_net *net);
/* The whole parameter block, one contiguous array of nn_net_n_params values: trainable
 * values first, then non-trainable state (batch norm moving statistics), as Keras's total. */
float *nn_net_params(nn_net *net);
const nn_net_desc *nn_net_desc_of(const nn_net *net);
/* How nn_evaluate scores net, from a training recipe: the loss with t's label smoothing,
 * and with t->tta_flip the mean probabilities of each image and its horizontal mirror
 * image. A new network scores plainly; nn_fit sets its recipe's, model_load the stored
 * recipe's. */
void nn_net_set_eval(nn_net *net, const nn_train_desc *t);

/* Checks t's values for a network taking in_h x in_w images (optimizer hyperparameters,
 * batch size, epochs, callbacks, schedule, augmentation, weight decay, label smoothing,
 * EMA); batch sizes above the network's max_batch are nn_fit's to refuse. 0 or -1 with err. */
int nn_train_desc_check(const nn_train_desc *t, int in_h, int in_w, fg_err *err);

/* Trains net with t on train_idx (n_train indices into data), evaluating on val_idx after
 * every epoch (n_val may be 0). All randomness (batch order, dropout, augmentation) comes
 * from seed, each from its own stream. With t->use_ema, validation scores and the final
 * weights are those of the moving average. Calls nn_net_set_eval(net, t) first.
 * Fills res (owned by the caller). Returns 0 when training ran (res->status says how it
 * ended, including DIVERGED), -1 with err on an error that prevented training. */
int nn_fit(nn_net *net, const nn_train_desc *t, const nn_data *data, const int32_t *train_idx,
           int n_train, const int32_t *val_idx, int n_val, uint64_t seed, nn_hook hook,
           void *hook_ctx, nn_fit_result *res, fg_err *err);

/* One parameter array of a layer, in Keras's get_weights() order: kernel, bias (dense,
 * conv2d, conv2d_transpose); depthwise_kernel, bias (depthwise_conv2d); depthwise_kernel,
 * pointwise_kernel, bias (separable_conv2d); gamma, beta, moving_mean, moving_variance
 * (batch_normalization). Shapes and layouts are Keras's (conv kernels HWIO). */
#define NN_WEIGHTS_MAX 4
typedef struct {
    const char *name; /* "kernel", "bias", "gamma" ... (static) */
    int ndim;
    int shape[4];
    int64_t n;        /* product of the shape */
    float *data;      /* a view into the network's parameters */
} nn_weight_view;

/* Index of the layer named name in net, or -1. */
int nn_net_layer_index(const nn_net *net, const char *name);
/* The parameter arrays of layer i (see nn_weight_view): fills v[0..n) and returns n (0 for
 * a layer without parameters). The views stay valid until nn_net_free. */
int nn_net_layer_weights(nn_net *net, int i, nn_weight_view v[NN_WEIGHTS_MAX]);
/* The same shapes from a description alone (data NULL), without building: the count, or -1
 * when d does not pass nn_desc_check or i is out of range. */
int nn_desc_layer_weights(const nn_net_desc *d, int i, nn_weight_view v[NN_WEIGHTS_MAX]);

/* Evaluates on idx[0..n): mean categorical cross-entropy (with the label smoothing, and
 * the test-time flip, of nn_net_set_eval; plus the L2 penalty, as Keras reports it) and
 * accuracy; writes the
 * predicted class of each image to pred when pred is not NULL. Returns 0 or -1. */
int nn_evaluate(nn_net *net, const nn_data *data, const int32_t *idx, int n, float *loss,
                float *acc, uint8_t *pred, fg_err *err);

#endif
