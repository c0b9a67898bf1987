/* nn_internal.h - private to the nn module (src/nn*.c) and its tests: the layer table, the
 * network struct, and the helpers the layer files share. Not a public header.
 *
 * A network is an ordered array of layers. Layer i reads the outputs of layers inputs[j] < i
 * (or the network input) and writes its own output. Every layer kind has a const table of
 * functions (nn_layer_ops) in its own file:
 *   plan      shape inference only: output shape, parameter counts, FLOPs, workspace size;
 *             no allocation, so nn_desc_check runs it for every grid point;
 *   init      draws the layer's parameters from the build RNG (kernel first, then bias);
 *   forward   y = f(x) for `batch` images;
 *   backward  from dy (owned by the layer, may be overwritten as scratch): writes the
 *             parameter gradients dw (overwriting) and ADDS into the input gradients dx[j],
 *             or overwrites them when dx_acc[j] is 0 (the first writer in backward order),
 *             which saves zeroing every gradient buffer before each step.
 * A kind whose forward is NULL is shape-checked but not built yet ("not implemented yet").
 *
 * Memory (one allocation each, made at build time, none inside a step):
 *   params  all parameters, layer by layer (kernel then bias), trainable ones first, then
 *           the non-trainable ones (batch norm moving statistics) after all trainable ones;
 *   grads   one float per trainable parameter, in the same order;
 *   acts    the input batch, then per layer: output y, output gradient dy, workspace; then
 *           the batch labels. Each region is max_batch rows and 64-byte aligned.
 * Optimizer state is allocated by nn_fit (its size depends on the optimizer), once per fit.
 * Tensors are NHWC rows: a batch of layer outputs is (batch, out_size) row-major. */
#ifndef NN_INTERNAL_H
#define NN_INTERNAL_H

#include <stdint.h>

#include "fg_util.h"
#include "nn.h"

/* Shape of one image's tensor. flat = 1 for vectors (dense, flatten, global pooling
 * outputs), which always have h = w = 1. */
typedef struct {
    int h, w, c;
    int flat;
} nn_shape;

static inline int64_t nn_shape_size(nn_shape s) { return (int64_t)s.h * s.w * s.c; }

/* What shape inference finds out about a layer, without allocating anything. */
typedef struct {
    nn_shape out;
    int64_t n_train;       /* trainable parameters (params, grads, optimizer state) */
    int64_t n_fixed;       /* non-trainable parameters (stored after all trainable ones) */
    int64_t n_reg;         /* L2 applies to the first n_reg trainable values (the kernel) */
    int64_t flops;         /* forward, per image: 2 x multiply-adds, or elementwise ops */
    int64_t ws_per_image;  /* workspace floats per image of the batch */
    int64_t ws_max_images; /* > 0: the per-image workspace is needed for at most this many
                            * images at a time (a layer working in chunks of images, e.g.
                            * im2col); the layer uses chunks of min(batch, ws_max_images) */
    int64_t ws_fixed;      /* workspace floats independent of the batch size */
    int out_alias;         /* output is input 0's buffer (no copy, e.g. flatten) */
    int64_t n_frozen;      /* a frozen layer (nn_layer_desc.frozen): its n_train parameters,
                            * moved to the front of its n_fixed ones (n_train is then 0) */
} nn_plan;

/* One step's context, passed to forward and backward. */
typedef struct {
    int batch;    /* images in this step, 1..max_batch */
    int training; /* dropout active */
    fg_rng *rng;  /* dropout masks; only used when training */
    /* Fused plain SGD (backward only): instead of writing dw, apply
     * w = w - sgd_lr * (dw + 2 * l2 * kernel) in place, after the input gradients (which
     * need the old w) are computed. Saves a pass over all parameters and gradients. */
    int sgd_fused;
    float sgd_lr;
    /* Batch-norm refresh (forward, training only): k >= 1 makes batch norm set its moving
     * statistics to the mean of this batch's and the k - 1 previous batches' statistics
     * (momentum (k - 1) / k) instead of its own momentum; 0 = normal training. */
    int bn_refresh;
} nn_step;

typedef struct nn_layer nn_layer;

typedef struct {
    /* Fills p from d and the input shapes in[0..n_in). Returns 0, or -1 with err holding
     * what is wrong (the caller prefixes "layer 'NAME' (KIND): "). */
    int (*plan)(const nn_layer_desc *d, const nn_shape *in, int n_in, nn_plan *p, fg_err *err);
    void (*init)(nn_layer *L, fg_rng *rng);
    void (*forward)(nn_layer *L, const nn_step *s);
    void (*backward)(nn_layer *L, const nn_step *s);
    int fused_sgd; /* backward honours nn_step.sgd_fused (required of kinds with parameters
                    * for the fused path; nn_fit falls back to the flat loop otherwise) */
} nn_layer_ops;

struct nn_layer {
    const nn_layer_desc *d; /* points into the net's copy of the description */
    const nn_layer_ops *ops;
    int index;
    nn_plan p;
    int n_in;
    int in_idx[2];        /* producing layer, or NN_INPUT */
    nn_shape in[2];
    int64_t in_size[2];   /* floats per image */
    int64_t out_size;
    nn_act act;           /* resolved activation (dense, conv*, activation layer) */
    float alpha;          /* resolved alpha (Keras default when the description has NaN) */
    /* Parameters: views into the net's blocks. */
    float *w, *dw;        /* p.n_train trainable values and their gradients (kernel first);
                           * a frozen layer's w is the start of its fixed values (its
                           * p.n_frozen parameters) and dw scratch that nothing reads */
    float *fixed;         /* p.n_fixed non-trainable values (after w when frozen) */
    /* Activations: views into the activation block, each max_batch rows. */
    const float *x[2];    /* inputs */
    float *dx[2];         /* input gradients; NULL where none is needed (network input) */
    int dx_acc[2];        /* 1: add into dx[j]; 0: overwrite it (first writer in backward) */
    float *y, *dy;        /* output and its gradient */
    float *ws;            /* workspace */
    int fused_ce;         /* last layer: dy already holds dL/dz of the softmax input */
    int needs_backward;   /* has trainable parameters or some input gradient to produce */
    /* Batch norm followed by a relu activation layer, its output's only reader: the batch
     * norm layer writes relu's output (relu->y) and reads relu's dy, applying relu and its
     * derivative itself (the same floats as the two layers apart); the activation layer
     * has fused_into_prev set and its forward and backward do nothing. */
    nn_layer *relu;
    int fused_into_prev;
    /* Max pooling over such a relu's output, its only reader: the pool masks its dy where
     * its output is not > 0 (relu_mask), which is relu's derivative at every cell a window
     * picks, so the batch norm takes relu's dy as it is (relu_masked). */
    int relu_mask;
    int relu_masked;
};

/* Build flags (tests only). */
#define NN_BUILD_INPUT_GRAD 1u /* also compute the gradient w.r.t. the network input */
#define NN_BUILD_NO_FUSION 2u  /* every layer runs on its own (nn_layer.relu stays NULL) */

struct nn_net {
    nn_net_desc desc;
    int max_batch;
    int n_layers;
    nn_layer layers[NN_MAX_LAYERS];
    int64_t in_size;      /* floats per input image */
    int64_t n_train;      /* trainable parameters */
    int64_t n_params;     /* all parameters (trainable + non-trainable), like Keras's total */
    float *params;        /* n_params */
    float *grads;         /* n_train */
    void *acts;           /* the activation block (owner of x, labels and all layer views) */
    float *x;             /* input batch, max_batch x in_size */
    float *dx;            /* input gradient (NN_BUILD_INPUT_GRAD only), else NULL */
    uint8_t *labels;      /* max_batch labels of the current batch */
    int has_l2;
    float label_smoothing; /* of the loss (nn_net_loss); nn_net_set_eval */
    int tta_flip;          /* evaluation averages each image's and its mirror's outputs */
    float *tta_p;          /* max_batch x n_classes probabilities, for the test-time flip */
    int can_fuse_sgd;     /* every layer with parameters supports fused SGD; tests may
                           * clear it to compare with the unfused path */
};

/* ---- layer tables (one file per family) ---------------------------------------------- */
extern const nn_layer_ops nn_dense_ops;      /* nn_layer_dense.c */
extern const nn_layer_ops nn_dropout_ops;    /* nn_layer_simple.c */
extern const nn_layer_ops nn_flatten_ops;
extern const nn_layer_ops nn_activation_ops;
extern const nn_layer_ops nn_add_ops;
extern const nn_layer_ops nn_conv2d_ops;     /* nn_layer_conv.c */
extern const nn_layer_ops nn_separable_ops;
extern const nn_layer_ops nn_depthwise_ops;
extern const nn_layer_ops nn_conv2d_transpose_ops;
extern const nn_layer_ops nn_max_pool_ops;   /* nn_layer_pool.c */
extern const nn_layer_ops nn_avg_pool_ops;
extern const nn_layer_ops nn_global_avg_pool_ops;
extern const nn_layer_ops nn_batch_norm_ops; /* nn_layer_bn.c */
extern const nn_layer_ops nn_resizing_ops;   /* nn_layer_pre.c */
extern const nn_layer_ops nn_grayscale_to_rgb_ops;
extern const nn_layer_ops nn_rescaling_ops;
extern const nn_layer_ops nn_vgg16_preprocess_ops;

/* ---- loops the compiler vectorizes ---------------------------------------------------- */
/* Runs STMT for i in [0, n) as two loops split at a multiple of 8: GCC's -O2 vectorizer (the
 * "very cheap" cost model) only takes loops whose trip count it knows to be a multiple of
 * the vector width, so the bulk is vectorized and the tail runs the same statement. Make
 * the pointers STMT uses restrict-qualified, so that no run-time alias check is needed. */
#define NN_SPLIT_LOOP(i, n, STMT) NN_SPLIT_LOOP_T(int64_t, i, n, STMT)
#define NN_SPLIT_LOOP_T(T, i, n, STMT)                                                      \
    do {                                                                                   \
        const T n_ = (n), n8_ = n_ & ~(T)7;                                                \
        T i = 0;                                                                           \
        for (; i < n8_; i++) {                                                             \
            STMT;                                                                          \
        }                                                                                  \
        for (; i < n_; i++) {                                                              \
            STMT;                                                                          \
        }                                                                                  \
    } while (0)

/* The same with an int index, for loops that mix the index into 32-bit lanes (an int64_t
 * index keeps GCC from vectorizing them). */
#define NN_SPLIT_LOOP32(i, n, STMT) NN_SPLIT_LOOP_T(int, i, n, STMT)

/* A small vector kernel with restrict parameters, kept out of line: once inlined into a
 * caller GCC may lose the restrict guarantee and, needing a run-time alias check, leave the
 * loop scalar at -O2. */
#if defined(__GNUC__)
#define NN_KERNEL __attribute__((noinline)) static void
#else
#define NN_KERNEL static void
#endif

/* A kernel compiled for several x86-64 vector widths, picked at run time by the CPU it runs
 * on (GCC function multi-versioning through an ifunc), so that a portable build still uses
 * AVX2 / AVX-512 where the node has them. Results do not depend on the version picked: the
 * project compiles as ISO C11, where GCC does not contract a * b + c into an FMA
 * (-ffp-contract=off), and such kernels only vectorize element-wise work and sums whose
 * order does not change with the vector width. */
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 8 && defined(__x86_64__) &&       \
    defined(__linux__) && !defined(NN_NO_CLONES)
#define NN_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define NN_CLONES
#endif

/* ---- activations (nn_act.c) ------------------------------------------------------------ */
/* alpha as given, or Keras's default for the activation when alpha is NaN. */
float nn_act_alpha(nn_act a, float alpha);
/* y is (rows, cols): adds bias (cols) when not NULL, then applies f in place. */
void nn_act_forward(nn_act a, float alpha, float *y, const float *bias, int64_t rows, int cols);
/* out = (acc ? out : 0) + dy * f'(x), f' written through y = f(x); softmax uses its
 * Jacobian row by row. out may be dy itself (then acc must be 0). */
void nn_act_backward(nn_act a, float alpha, const float *y, const float *dy, float *out,
                     int64_t rows, int cols, int acc);

/* db (cols) = (acc ? db : 0) + column sums of dz (rows, cols): a bias gradient. db and dz
 * do not overlap. */
void nn_col_sums(float *restrict db, const float *restrict dz, int64_t rows, int cols, int acc);

/* ---- initialisers (nn_init.c) ---------------------------------------------------------- */
/* Fills w[0..n) as Keras's initialiser `init` for a kernel with the given fans. NaN a/b mean
 * Keras's defaults (random_uniform [-0.05, 0.05), random_normal mean 0 stddev 0.05). */
void nn_init_fill(float *w, int64_t n, nn_init init, int64_t fan_in, int64_t fan_out,
                  fg_rng *rng);
/* Checks a/b of random_uniform/random_normal; 0 or -1 with err (what is wrong). */
int nn_init_check(nn_init init, const char *what, fg_err *err);

/* ---- plan helpers shared by layer files (nn.c) ----------------------------------------- */
/* 0, or -1 with err when the input is a flat vector but the layer needs an image. */
int nn_plan_need_image(const nn_shape *in, fg_err *err);
/* Output size of a sliding window (convolution kernel or pool) over in with Keras's rules:
 * valid: (n - k) / s + 1, an error when k > n; same: ceil(n / s). Strides of 0 mean 1, or
 * the window when stride_is_window (pooling). `what` names the window in messages
 * ("kernel", "pool"). Writes the output size and the strides used. 0 or -1 with err. */
int nn_plan_window(const nn_shape *in, const int win[2], const int strides[2],
                   int stride_is_window, nn_padding pad, const char *what, int out[2],
                   int stride[2], fg_err *err);

/* ---- network internals (nn.c) ---------------------------------------------------------- */
nn_net *nn_net_build(const nn_net_desc *d, int max_batch, uint64_t seed, unsigned flags,
                     fg_err *err);
/* Fills net->x and net->labels with images idx[0..batch) scaled by 1/255. */
void nn_net_gather(nn_net *net, const nn_data *data, const int32_t *idx, int batch);
/* Forward over the batch in net->x. rng is only read when training (dropout). */
void nn_net_forward(nn_net *net, int batch, int training, fg_rng *rng);
/* A training-mode forward over the batch in net->x with nn_step.bn_refresh = k (1 for the
 * first batch of a refresh): batch norm layers average their moving statistics over the
 * refresh's batches. */
void nn_net_forward_refresh(nn_net *net, int batch, int k, fg_rng *rng);
/* 1 when some layer keeps non-trainable state (batch norm moving statistics). */
int nn_net_has_state(const nn_net *net);
/* Output probabilities of the last forward: (batch, n_classes). */
const float *nn_net_output(const nn_net *net);
/* Sum over the batch of -log(clip(p_label, 1e-7, 1 - 1e-7)) for the last forward, and the
 * number of correct argmax predictions in *n_correct (may be NULL). When grad, writes
 * (p - onehot) / batch into the last layer's dy. pred (may be NULL) gets the argmax.
 * With net->label_smoothing = ls > 0 the target is y = onehot (1 - ls) + ls / K (Keras):
 * the sum of -sum_j y_j log(clip(p_j)), and the gradient (p - y) / batch. */
double nn_net_loss(nn_net *net, int batch, int grad, int *n_correct, uint8_t *pred);
/* Backward after nn_net_loss(..., grad = 1): fills net->grads (and net->dx when built
 * with NN_BUILD_INPUT_GRAD). */
void nn_net_backward(nn_net *net, int batch);
/* Backward fused with a plain SGD step of learning rate lr, L2 included (needs
 * net->can_fuse_sgd): the parameters are updated in place, net->grads is scratch. */
void nn_net_backward_sgd(nn_net *net, int batch, float lr);
/* L2 penalty sum over layers of l2 * sum(kernel^2); when add_grad, also adds 2*l2*kernel to
 * the gradients. 0 when no layer has l2. */
double nn_net_l2(nn_net *net, int add_grad);

/* ---- optimizers (nn_opt.c) ------------------------------------------------------------- */
typedef struct {
    nn_opt_kind kind;
    float momentum, beta_1, beta_2, epsilon, rho;
    int nesterov;
    float weight_decay; /* decoupled: w -= w * wd * lr before the update (Keras) */
    int64_t n;        /* parameters */
    float *s1, *s2;   /* state slots (n floats each, or NULL) */
    int64_t t;        /* steps taken */
    double m_schedule; /* nadam's momentum cache product */
} nn_opt;

/* Floats of state the optimizer of t needs for n parameters. */
int64_t nn_opt_state_size(const nn_train_desc *t, int64_t n);
/* Checks the optimizer's hyperparameters; 0 or -1 with err. */
int nn_opt_check(const nn_train_desc *t, fg_err *err);
/* Sets up o over state (nn_opt_state_size floats, caller-owned) and initialises it. */
void nn_opt_init(nn_opt *o, const nn_train_desc *t, int64_t n, float *state);
/* One update of w[0..n) from g[0..n) with learning rate lr (weight decay first). */
void nn_opt_step(nn_opt *o, float *restrict w, const float *restrict g, float lr);
/* nn_opt_step, then nn_ema_update(avg, w, n, momentum, 0) (not the first step): one pass
 * over the parameters for adam and adamw, the same bits as the two calls. */
void nn_opt_step_ema(nn_opt *o, float *restrict w, const float *restrict g, float lr,
                     float *restrict avg, float momentum);
/* w[0..n) -= w * wd * lr: the decoupled weight decay alone (nn_opt_step does it too). */
void nn_opt_decay(float *restrict w, int64_t n, float wd, float lr);

/* ---- learning-rate schedules (nn_sched.c) ---------------------------------------------- */
typedef struct {
    nn_sched_kind kind;
    double lr0;     /* learning_rate: where the warm-up (or the schedule) starts */
    double peak;    /* warmup_target when given, else lr0: where the schedule starts */
    int64_t warmup; /* steps */
    int64_t decay;  /* steps of the cosine or one-cycle, >= 1 */
    double alpha;   /* cosine's final fraction of the peak */
} nn_sched;

/* Checks the schedule fields of t. 0 or -1 with err. */
int nn_sched_check(const nn_train_desc *t, fg_err *err);
/* Sets s up for a run of total_steps optimizer steps. */
void nn_sched_init(nn_sched *s, const nn_train_desc *t, int64_t total_steps);
/* 1 when the rate is learning_rate at every step (nn_fit then uses it unchanged). */
int nn_sched_is_constant(const nn_sched *s);
/* The learning rate of optimizer step `step` (0 = the first update). */
double nn_sched_lr(const nn_sched *s, int64_t step);

/* ---- exponential moving average of the parameters (nn_ema.c) ----------------------------- */
/* avg = first ? w : momentum * avg + (1 - momentum) * w, over n values (Keras use_ema). */
void nn_ema_update(float *restrict avg, const float *restrict w, int64_t n, float momentum,
                   int first);
/* Exchanges a[0..n) and b[0..n). */
void nn_ema_swap(float *restrict a, float *restrict b, int64_t n);

/* ---- augmentation of training batches (nn_augment.c) ------------------------------------ */
/* One image's transform: out(y, x) = in(y - dy, flip ? W-1-(x-dx) : x-dx), 0 where that
 * falls outside the image; then the rectangle of eh x ew pixels at (ey, ex) set to 0 (eh =
 * 0: none). */
typedef struct {
    int dy, dx, flip;
    int ey, ex, eh, ew;
} nn_aug_draw;

typedef struct {
    int translate, flip;
    float erase;
    fg_rng shift_rng, flip_rng, erase_rng; /* one stream each: enabling one transform
                                            * leaves the others' draws unchanged */
} nn_augment;

/* Checks the augmentation fields of t for in_h x in_w images. 0 or -1 with err. */
int nn_augment_check(const nn_train_desc *t, int in_h, int in_w, fg_err *err);
/* Sets a up from t, its streams seeded from seed. */
void nn_augment_init(nn_augment *a, const nn_train_desc *t, uint64_t seed);
/* 1 when t asks for any augmentation. */
int nn_augment_active(const nn_augment *a);
/* Draws one image's transform (in this order: flip, dy and dx, erasing). */
void nn_augment_draw(nn_augment *a, int h, int w, nn_aug_draw *d);
/* dst (h x w x c floats) = the transform d of src (h x w x c bytes) scaled by 1/255. */
void nn_augment_apply(const uint8_t *src, float *dst, int h, int w, int c, const nn_aug_draw *d);
/* nn_net_gather with every image mirrored horizontally (the test-time flip). */
void nn_augment_gather_flip(nn_net *net, const nn_data *data, const int32_t *idx, int batch);
/* nn_net_gather with every image transformed by a fresh draw. */
void nn_augment_gather(nn_augment *a, nn_net *net, const nn_data *data, const int32_t *idx,
                       int batch);

#endif
