/* test_grid.c - grid files: expansion order, substitution into network and training
 * descriptions, defaults, model selection, layer wiring, and validation errors with their
 * exact file:line:column. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "grid.h"

static nn_net_desc net; /* large: not on the stack */

static grid *load(const char *text, int line)
{
    grid *g = NULL;
    fg_err e;
    e.msg[0] = '\0';
    if (grid_load_string(text, strlen(text), "t.yaml", &g, &e)) {
        fprintf(stderr, "test_grid.c:%d: unexpected error: %s\n", line, e.msg);
        CHECK(g == NULL);
        return NULL;
    }
    return g;
}
#define LOAD(text) load(text, __LINE__)

/* The text must fail with a message starting with prefix and containing phrase. */
static void bad(const char *text, const char *prefix, const char *phrase, int line)
{
    grid *g = NULL;
    fg_err e;
    e.msg[0] = '\0';
    int rc = grid_load_string(text, strlen(text), "t.yaml", &g, &e);
    CHECK_MSG(rc == -1 && g == NULL, "line %d: loaded although it should fail with '%s'", line,
              phrase);
    grid_free(g);
    CHECK_MSG(!strncmp(e.msg, prefix, strlen(prefix)), "line %d: '%s' does not start with '%s'",
              line, e.msg, prefix);
    CHECK_MSG(strstr(e.msg, phrase) != NULL, "line %d: '%s' does not contain '%s'", line, e.msg,
              phrase);
    CHECK_MSG(!strchr(e.msg, '\n'), "line %d: message has a newline: '%s'", line, e.msg);
}
#define BAD(text, prefix, phrase) bad(text, prefix, phrase, __LINE__)

static int param_index(const grid *g, const char *name)
{
    for (int p = 0; p < grid_n_params(g); p++)
        if (!strcmp(grid_param_name(g, p), name))
            return p;
    return -1;
}

static const char *value(const grid *g, int64_t c, const char *name)
{
    int p = param_index(g, name);
    return p < 0 ? NULL : grid_config_value(g, c, p);
}

#define CHECK_STR(a, b)                                                                    \
    do {                                                                                   \
        const char *sa_ = (a), *sb_ = (b);                                                 \
        CHECK_MSG(sa_ && !strcmp(sa_, sb_), "'%s' != '%s'", sa_ ? sa_ : "(null)", sb_);    \
    } while (0)

/* ---------------------------------------------------------------------------------- */

/* The study's MLP search: two sub-grids, 16 + 3 configurations. */
static const char *MLP =
    "name: mlp\n"
    "train: {optimizer: sgd, learning_rate: 0.1}\n"
    "model:\n"
    "  - {type: flatten}\n"
    "  - {type: dense, units: $units, activation: $activation, kernel_initializer: lecun_uniform}\n"
    "  - {type: dropout, rate: $dropout}\n"
    "  - {type: dense, units: $units, activation: $activation, kernel_initializer: lecun_uniform}\n"
    "  - {type: dropout, rate: $dropout}\n"
    "  - {type: dense, units: $units, activation: $activation, kernel_initializer: lecun_uniform}\n"
    "  - {type: dropout, rate: $dropout}\n"
    "  - {type: dense, units: 10, activation: softmax, kernel_initializer: lecun_uniform}\n"
    "grid:\n"
    "  - batch_size: [500]\n"
    "    epochs: [10]\n"
    "    dropout: [0, 0.1, 0.2, 0.3]\n"
    "    units: [1000, 3000]\n"
    "    activation: [relu, sigmoid]\n"
    "  - batch_size: [10, 50, 100]\n"
    "    epochs: [15]\n"
    "    dropout: [0]\n"
    "    units: [500]\n"
    "    activation: [relu]\n";

static void test_expansion(void)
{
    grid *g = LOAD(MLP);
    CHECK(g != NULL);
    if (!g)
        return;
    CHECK_INT(grid_n_configs(g), 19);
    CHECK_INT(grid_n_subgrids(g), 2);
    CHECK_INT(grid_n_params(g), 5);
    static const char *const names[] = {"activation", "batch_size", "dropout", "epochs", "units"};
    for (int p = 0; p < 5; p++)
        CHECK_STR(grid_param_name(g, p), names[p]);
    CHECK(grid_param_name(g, 5) == NULL);

    /* sorted names, the last (units) fastest, then epochs, dropout, batch_size, activation */
    CHECK_STR(grid_config_params(g, 0), "activation=relu, batch_size=500, dropout=0, epochs=10, units=1000");
    CHECK_STR(grid_config_params(g, 1), "activation=relu, batch_size=500, dropout=0, epochs=10, units=3000");
    CHECK_STR(grid_config_params(g, 2), "activation=relu, batch_size=500, dropout=0.1, epochs=10, units=1000");
    CHECK_STR(grid_config_params(g, 3), "activation=relu, batch_size=500, dropout=0.1, epochs=10, units=3000");
    CHECK_STR(grid_config_params(g, 7), "activation=relu, batch_size=500, dropout=0.3, epochs=10, units=3000");
    CHECK_STR(grid_config_params(g, 8), "activation=sigmoid, batch_size=500, dropout=0, epochs=10, units=1000");
    CHECK_STR(grid_config_params(g, 15), "activation=sigmoid, batch_size=500, dropout=0.3, epochs=10, units=3000");
    CHECK_STR(grid_config_params(g, 16), "activation=relu, batch_size=10, dropout=0, epochs=15, units=500");
    CHECK_STR(grid_config_params(g, 18), "activation=relu, batch_size=100, dropout=0, epochs=15, units=500");
    CHECK(grid_config_params(g, 19) == NULL);
    CHECK(grid_config_params(g, -1) == NULL);

    CHECK_STR(value(g, 5, "dropout"), "0.2");
    CHECK_STR(value(g, 5, "units"), "3000");
    CHECK_STR(value(g, 17, "batch_size"), "50");
    CHECK(grid_config_value(g, 19, 0) == NULL);

    /* hashes: of the canonical string, all distinct here */
    CHECK(grid_config_hash(g, 0) == fg_hash_str(grid_config_params(g, 0), 0));
    for (int64_t a = 0; a < 19; a++)
        for (int64_t b = a + 1; b < 19; b++)
            CHECK(grid_config_hash(g, a) != grid_config_hash(g, b));

    /* values substituted into the descriptions */
    nn_train_desc t;
    fg_err e;
    CHECK_INT(grid_config_build(g, 3, 28, 28, 1, 10, &net, &t, &e), 0);
    CHECK_INT(net.n_layers, 8);
    CHECK_INT(net.in_h, 28);
    CHECK_INT(net.in_c, 1);
    CHECK_INT(net.n_classes, 10);
    CHECK_INT(net.layers[0].kind, NN_LAYER_FLATTEN);
    CHECK_INT(net.layers[0].inputs[0], NN_INPUT);
    CHECK_INT(net.layers[1].kind, NN_LAYER_DENSE);
    CHECK_INT(net.layers[1].units, 3000);
    CHECK_INT(net.layers[1].activation, NN_ACT_RELU);
    CHECK_INT(net.layers[1].kernel_init.kind, NN_INIT_LECUN_UNIFORM);
    CHECK_INT(net.layers[1].inputs[0], 0);
    CHECK_INT(net.layers[1].n_inputs, 1);
    CHECK_INT(net.layers[2].kind, NN_LAYER_DROPOUT);
    CHECK_NEAR(net.layers[2].rate, 0.1, 1e-7);
    CHECK_INT(net.layers[5].units, 3000);
    CHECK_INT(net.layers[7].units, 10);
    CHECK_INT(net.layers[7].activation, NN_ACT_SOFTMAX);
    CHECK_STR(net.layers[1].name, "dense_2");
    CHECK_STR(net.layers[2].name, "dropout_3");
    CHECK_INT(t.optimizer, NN_OPT_SGD);
    CHECK_NEAR(t.learning_rate, 0.1, 1e-7);
    CHECK_INT(t.batch_size, 500);
    CHECK_INT(t.epochs, 10);

    CHECK_INT(grid_config_build(g, 12, 28, 28, 1, 10, &net, &t, &e), 0);
    CHECK_INT(net.layers[3].activation, NN_ACT_SIGMOID);
    CHECK_INT(net.layers[3].units, 1000);
    CHECK_NEAR(net.layers[6].rate, 0.2, 1e-7);

    CHECK_INT(grid_config_build(g, 17, 28, 28, 1, 10, &net, &t, &e), 0);
    CHECK_INT(t.batch_size, 50);
    CHECK_INT(t.epochs, 15);
    CHECK_INT(net.layers[1].units, 500);
    CHECK_NEAR(net.layers[2].rate, 0.0, 0);

    /* out of range */
    CHECK_INT(grid_config_build(g, 19, 28, 28, 1, 10, &net, &t, &e), -1);

    /* defaults of the options, the text */
    const grid_options *o = grid_opts_c(g);
    CHECK_STR(o->name, "mlp");
    CHECK_STR(o->path, "t.yaml");
    CHECK_INT(o->folds, 5);
    CHECK_INT(o->shuffle, 1);
    CHECK_INT(o->refit, 1);
    CHECK_INT(o->seed, 0);
    CHECK_INT(o->cv_seed, 0);
    CHECK_INT(o->cv_seed_set, 0);
    CHECK_INT(o->max_tasks, 1000000);
    CHECK_INT(o->subset, 0);
    CHECK_STR(o->data_dir, "");
    size_t len = 0;
    const char *text = grid_text(g, &len);
    CHECK_INT(len, strlen(MLP));
    CHECK(text && !memcmp(text, MLP, len));
    grid_opts(g)->folds = 3; /* overridable */
    CHECK_INT(grid_opts_c(g)->folds, 3);
    grid_free(g);
    grid_free(NULL);
}

/* A single mapping as the grid, the options, and numbers written in several ways. */
static void test_single_grid_and_options(void)
{
    const char *text = "name: small-1.x\n"
                       "seed: 42\n"
                       "refit: no\n"
                       "max_tasks: 100\n"
                       "task_timeout: 2.5\n"
                       "data: {dir: /data/fmnist, subset: 6000}\n"
                       "cv: {folds: 3, shuffle: False, seed: 7}\n"
                       "train:\n"
                       "  optimizer: Adam\n"
                       "  learning_rate: 1e-3\n"
                       "  epsilon: 1.0e-7\n"
                       "  epochs: 2.0\n"
                       "  nesterov: yes\n"
                       "  early_stopping_patience: 3\n"
                       "  early_stopping_monitor: val_acc\n"
                       "  restore_best_weights: TRUE\n"
                       "  reduce_lr_factor: 0.5\n"
                       "  reduce_lr_monitor: acc\n"
                       "model:\n"
                       "  - {type: Flatten}\n"
                       "  - {type: Dense, units: $u, activation: $act, alpha: 0.2}\n"
                       "  - {type: Dense, units: 10, activation: softmax, use_bias: false,\n"
                       "     bias_initializer: Ones, kernel_regularizer_l2: 0.001}\n"
                       "grid:\n"
                       "  u: [8, 16, 32]\n"
                       "  act: [leaky_relu, elu]\n"
                       "  batch_size: [16, 64]\n";
    grid *g = LOAD(text);
    CHECK(g != NULL);
    if (!g)
        return;
    CHECK_INT(grid_n_configs(g), 12);
    CHECK_INT(grid_n_subgrids(g), 1);
    /* act, batch_size, u: u fastest */
    CHECK_STR(grid_config_params(g, 0), "act=leaky_relu, batch_size=16, u=8");
    CHECK_STR(grid_config_params(g, 1), "act=leaky_relu, batch_size=16, u=16");
    CHECK_STR(grid_config_params(g, 3), "act=leaky_relu, batch_size=64, u=8");
    CHECK_STR(grid_config_params(g, 6), "act=elu, batch_size=16, u=8");
    CHECK_STR(grid_config_params(g, 11), "act=elu, batch_size=64, u=32");
    const grid_options *o = grid_opts_c(g);
    CHECK_STR(o->name, "small-1.x");
    CHECK_INT(o->seed, 42);
    CHECK_INT(o->refit, 0);
    CHECK_INT(o->max_tasks, 100);
    CHECK_NEAR(o->task_timeout, 2.5, 0);
    CHECK_STR(o->data_dir, "/data/fmnist");
    CHECK_INT(o->subset, 6000);
    CHECK_INT(o->folds, 3);
    CHECK_INT(o->shuffle, 0);
    CHECK_INT(o->cv_seed, 7);
    CHECK_INT(o->cv_seed_set, 1);

    nn_train_desc t, ref;
    fg_err e;
    CHECK_INT(grid_config_build(g, 7, 28, 28, 1, 10, &net, &t, &e), 0);
    nn_train_desc_init(&ref, NN_OPT_ADAM);
    CHECK_INT(t.optimizer, NN_OPT_ADAM);
    CHECK_NEAR(t.learning_rate, 1e-3, 1e-7);
    CHECK_NEAR(t.epsilon, 1e-7, 1e-7);
    CHECK_NEAR(t.beta_1, ref.beta_1, 0);
    CHECK_NEAR(t.beta_2, ref.beta_2, 0);
    CHECK_INT(t.epochs, 2);
    CHECK_INT(t.batch_size, 16);
    CHECK_INT(t.nesterov, 1);
    CHECK_INT(t.es_patience, 3);
    CHECK_INT(t.es_monitor, NN_MON_VAL_ACC);
    CHECK_INT(t.restore_best, 1);
    CHECK_NEAR(t.rlr_factor, 0.5, 0);
    CHECK_INT(t.rlr_monitor, NN_MON_ACC);
    CHECK_INT(net.layers[1].units, 16);
    CHECK_INT(net.layers[1].activation, NN_ACT_ELU);
    CHECK_NEAR(net.layers[1].alpha, 0.2, 1e-7); /* written: wins over elu's default */
    CHECK_INT(net.layers[2].use_bias, 0);
    CHECK_INT(net.layers[2].bias_init.kind, NN_INIT_ONES);
    CHECK_NEAR(net.layers[2].l2, 0.001, 1e-7);
    grid_free(g);
}

/* No train section: everything from nn_train_desc_init(sgd); the grid may pick the
 * optimizer, whose defaults then apply; no grid at all is one configuration. */
static void test_train_defaults(void)
{
    grid *g = LOAD("name: d\n"
                   "model:\n"
                   "  - {type: flatten}\n"
                   "  - {type: dense, units: 16, activation: leaky_relu}\n"
                   "  - {type: dense, units: 10, activation: softmax}\n");
    CHECK(g != NULL);
    if (!g)
        return;
    nn_train_desc t, ref;
    fg_err e;
    CHECK_INT(grid_n_configs(g), 1);
    CHECK_INT(grid_n_params(g), 0);
    CHECK_STR(grid_config_params(g, 0), "");
    CHECK_INT(grid_config_build(g, 0, 28, 28, 1, 10, &net, &t, &e), 0);
    nn_train_desc_init(&ref, NN_OPT_SGD);
    CHECK(!memcmp(&t, &ref, sizeof t));
    CHECK_NEAR(net.layers[1].alpha, 0.3, 1e-7); /* Keras's leaky_relu default */
    nn_layer_desc dref;
    nn_layer_desc_init(&dref, NN_LAYER_DENSE);
    CHECK_INT(net.layers[2].kernel_init.kind, dref.kernel_init.kind);
    CHECK_INT(net.layers[2].use_bias, dref.use_bias);
    CHECK_STR(net.layers[2].name, "dense_3");
    grid_free(g);

    g = LOAD("name: d\n"
             "train: {learning_rate: $lr, momentum: 0.9}\n"
             "model:\n"
             "  - {type: flatten}\n"
             "  - {type: dense, units: 10, activation: softmax}\n"
             "grid:\n"
             "  - {optimizer: [adam, rmsprop], lr: [0.01]}\n"
             "  - {optimizer: [sgd], lr: [0.5], learning_rate: [0.25]}\n");
    CHECK(g != NULL);
    if (!g)
        return;
    CHECK_INT(grid_n_configs(g), 3);
    CHECK_INT(grid_config_build(g, 1, 28, 28, 1, 10, &net, &t, &e), 0);
    nn_train_desc_init(&ref, NN_OPT_RMSPROP);
    CHECK_INT(t.optimizer, NN_OPT_RMSPROP);
    CHECK_NEAR(t.learning_rate, 0.01, 1e-7);
    CHECK_NEAR(t.momentum, 0.9, 1e-7);
    CHECK_NEAR(t.rho, ref.rho, 0);
    CHECK_INT(t.batch_size, ref.batch_size);
    CHECK_INT(t.epochs, ref.epochs);
    /* the grid's learning_rate wins over the train section's $lr */
    CHECK_INT(grid_config_build(g, 2, 28, 28, 1, 10, &net, &t, &e), 0);
    CHECK_INT(t.optimizer, NN_OPT_SGD);
    CHECK_NEAR(t.learning_rate, 0.25, 1e-7);
    /* NULL descriptions are allowed */
    CHECK_INT(grid_config_build(g, 0, 28, 28, 1, 10, NULL, NULL, &e), 0);
    grid_free(g);
}

/* The training recipe beyond the study: every key in train and as a grid parameter, the
 * configuration hash without the keys at their off values, and the combinations refused. */
static void test_recipe_keys(void)
{
    const char *m = "model:\n  - {type: flatten}\n  - {type: dense, units: 10, activation: softmax}\n";
    char text[2048];
    snprintf(text, sizeof text,
             "name: r\n"
             "train: {optimizer: AdamW, learning_rate: 0, warmup_target: 0.01, warmup_steps: 100,\n"
             "        lr_schedule: cosine, decay_steps: 1000, cosine_alpha: 0.05,\n"
             "        label_smoothing: 0.1, use_ema: true, ema_momentum: 0.999,\n"
             "        augment_translate: 2, augment_flip: yes, augment_erase: 0.25,\n"
             "        tta_flip: true}\n%s", m);
    grid *g = LOAD(text);
    CHECK(g != NULL);
    if (!g)
        return;
    nn_train_desc t;
    fg_err e;
    CHECK_INT(grid_config_build(g, 0, 28, 28, 1, 10, &net, &t, &e), 0);
    CHECK_INT(t.optimizer, NN_OPT_ADAMW);
    CHECK(t.weight_decay == 0.004f); /* Keras AdamW's default */
    CHECK(t.learning_rate == 0.0f && t.warmup_target == 0.01f && t.warmup_steps == 100);
    CHECK(t.lr_schedule == NN_SCHED_COSINE && t.decay_steps == 1000 && t.cosine_alpha == 0.05f);
    CHECK(t.label_smoothing == 0.1f && t.use_ema == 1 && t.ema_momentum == 0.999f);
    CHECK(t.augment_translate == 2 && t.augment_flip == 1 && t.augment_erase == 0.25f);
    CHECK(t.tta_flip == 1);
    grid_free(g);

    /* as grid parameters: the configurations that leave the recipe off hash (and so seed)
     * as the grid without those keys; all others differ */
    snprintf(text, sizeof text, "name: r\n%sgrid: {batch_size: [16, 32]}\n", m);
    grid *plain = LOAD(text);
    snprintf(text, sizeof text,
             "name: r\n%sgrid: {augment_flip: [false, true], batch_size: [16, 32],\n"
             "  label_smoothing: [0.0, 0.1], lr_schedule: [Constant, cosine], use_ema: [no, yes],\n"
             "  ema_momentum: [0.99, 0.9], weight_decay: [0, 1e-4], augment_translate: [0, 1],\n"
             "  tta_flip: [no, yes]}\n",
             m);
    g = LOAD(text);
    CHECK(g && plain);
    if (!g || !plain) {
        grid_free(g), grid_free(plain);
        return;
    }
    CHECK_INT(grid_n_configs(g), 512);
    int n_off = 0, distinct = 1;
    for (int64_t c = 0; c < grid_n_configs(g); c++) {
        const char *ps = grid_config_params(g, c);
        int off = strstr(ps, "augment_flip=false") && strstr(ps, "label_smoothing=0.0") &&
                  strstr(ps, "lr_schedule=Constant") && strstr(ps, "use_ema=no") &&
                  strstr(ps, "ema_momentum=0.99") && strstr(ps, "weight_decay=0") &&
                  strstr(ps, "augment_translate=0,") && strstr(ps, "tta_flip=no");
        if (off) {
            n_off++;
            int bs16 = strstr(ps, "batch_size=16") != NULL;
            CHECK_MSG(grid_config_hash(g, c) == grid_config_hash(plain, bs16 ? 0 : 1), "%s", ps);
            CHECK_INT(grid_config_build(g, c, 28, 28, 1, 10, &net, &t, &e), 0);
            nn_train_desc ref;
            nn_train_desc_init(&ref, NN_OPT_SGD);
            ref.batch_size = bs16 ? 16 : 32;
            CHECK(!memcmp(&t, &ref, sizeof t));
        } else {
            CHECK(grid_config_hash(g, c) != grid_config_hash(plain, 0) &&
                  grid_config_hash(g, c) != grid_config_hash(plain, 1));
        }
        for (int64_t k = 0; k < c; k++)
            distinct &= grid_config_hash(g, k) != grid_config_hash(g, c);
    }
    CHECK_INT(n_off, 2);
    CHECK(distinct);
    grid_free(g);
    /* through a $reference the pair is an ordinary parameter, in the hash as written */
    snprintf(text, sizeof text, "name: r\ntrain: {label_smoothing: $ls}\n%sgrid: {ls: [0]}\n", m);
    g = LOAD(text);
    CHECK(g && grid_config_hash(g, 0) != grid_config_hash(plain, 0));
    grid_free(g);
    grid_free(plain);
}

/* Several named models, chosen by the grid parameter `model`. */
static void test_models(void)
{
    const char *text = "name: cnn\n"
                       "models:\n"
                       "  small:\n"
                       "    - {type: flatten}\n"
                       "    - {type: dense, units: $units, activation: relu}\n"
                       "    - {type: dense, units: 10, activation: softmax}\n"
                       "  convNN_1:\n"
                       "    - {type: Conv2D, filters: $filters, kernel_size: [3, 5], activation: relu,\n"
                       "       kernel_initializer: he_normal, padding: Same}\n"
                       "    - {type: MaxPooling2D, pool_size: 2}\n"
                       "    - {type: average_pooling2d, pool_size: [2, 1], strides: 1}\n"
                       "    - {type: BatchNormalization, momentum: 0.9}\n"
                       "    - {type: flatten}\n"
                       "    - {type: dense, units: 10, activation: softmax}\n"
                       "grid:\n"
                       "  - {model: [small], units: [32, 64]}\n"
                       "  - {model: [convNN_1], filters: [8, 16]}\n";
    grid *g = LOAD(text);
    CHECK(g != NULL);
    if (!g)
        return;
    CHECK_INT(grid_n_configs(g), 4);
    CHECK_INT(grid_n_params(g), 3);
    CHECK_STR(grid_param_name(g, 0), "filters");
    CHECK_STR(grid_param_name(g, 1), "model");
    CHECK_STR(grid_param_name(g, 2), "units");
    CHECK_STR(grid_config_params(g, 1), "model=small, units=64");
    CHECK_STR(grid_config_params(g, 2), "filters=8, model=convNN_1");
    CHECK(value(g, 2, "units") == NULL);
    CHECK(value(g, 0, "filters") == NULL);
    CHECK_STR(value(g, 3, "model"), "convNN_1");

    nn_train_desc t;
    fg_err e;
    CHECK_INT(grid_config_build(g, 1, 28, 28, 1, 10, &net, &t, &e), 0);
    CHECK_INT(net.n_layers, 3);
    CHECK_INT(net.layers[1].units, 64);
    CHECK_INT(grid_config_build(g, 3, 28, 28, 1, 10, &net, &t, &e), 0);
    CHECK_INT(net.n_layers, 6);
    CHECK_INT(net.layers[0].kind, NN_LAYER_CONV2D);
    CHECK_INT(net.layers[0].filters, 16);
    CHECK_INT(net.layers[0].kernel[0], 3);
    CHECK_INT(net.layers[0].kernel[1], 5);
    CHECK_INT(net.layers[0].padding, NN_PAD_SAME);
    CHECK_INT(net.layers[0].kernel_init.kind, NN_INIT_HE_NORMAL);
    CHECK_INT(net.layers[1].kind, NN_LAYER_MAX_POOL2D);
    CHECK_INT(net.layers[1].pool[0], 2);
    CHECK_INT(net.layers[1].strides[0], 2); /* pooling: strides default to the pool size */
    CHECK_INT(net.layers[1].strides[1], 2);
    CHECK_INT(net.layers[2].kind, NN_LAYER_AVG_POOL2D);
    CHECK_INT(net.layers[2].pool[0], 2);
    CHECK_INT(net.layers[2].pool[1], 1);
    CHECK_INT(net.layers[2].strides[0], 1);
    CHECK_INT(net.layers[3].kind, NN_LAYER_BATCH_NORM);
    CHECK_NEAR(net.layers[3].bn_momentum, 0.9, 1e-7);
    CHECK_STR(net.layers[1].name, "max_pooling2d_2");
    grid_free(g);

    /* one sub-grid may choose several models; each needs its $references there */
    g = LOAD("name: two\n"
             "models:\n"
             "  a: [{type: flatten}, {type: dense, units: $n, activation: softmax}]\n"
             "  b: [{type: flatten}, {type: dense, units: 10, activation: softmax}]\n"
             "grid: {model: [a, b], n: [10]}\n");
    CHECK(g != NULL);
    if (g)
        CHECK_INT(grid_n_configs(g), 2);
    grid_free(g);
}

/* inputs and add: two branches from the input, then a residual block. */
static void test_wiring(void)
{
    const char *text =
        "name: res\n"
        "model:\n"
        "  - {type: conv2d, name: c1, filters: 8, kernel_size: 3, padding: same, activation: relu}\n"
        "  - {type: conv2d, name: c2, filters: 8, kernel_size: 3, padding: same, inputs: input}\n"
        "  - {type: add, inputs: [c1, c2]}\n"
        "  - {type: activation, activation: relu}\n"
        "  - {type: depthwise_conv2d, kernel_size: 3, padding: same, depth_multiplier: 1}\n"
        "  - {type: add, name: sum, inputs: [activation_4, depthwise_conv2d_5]}\n"
        "  - {type: global_average_pooling2d, inputs: [sum]}\n"
        "  - {type: dense, units: 10, activation: softmax}\n";
    grid *g = LOAD(text);
    CHECK(g != NULL);
    if (!g)
        return;
    nn_train_desc t;
    fg_err e;
    CHECK_INT(grid_config_build(g, 0, 28, 28, 1, 10, &net, &t, &e), 0);
    CHECK_INT(net.n_layers, 8);
    CHECK_INT(net.layers[0].inputs[0], NN_INPUT);
    CHECK_INT(net.layers[1].inputs[0], NN_INPUT);
    CHECK_INT(net.layers[1].n_inputs, 1);
    CHECK_INT(net.layers[2].kind, NN_LAYER_ADD);
    CHECK_INT(net.layers[2].n_inputs, 2);
    CHECK_INT(net.layers[2].inputs[0], 0);
    CHECK_INT(net.layers[2].inputs[1], 1);
    CHECK_STR(net.layers[2].name, "add_3");
    CHECK_INT(net.layers[3].inputs[0], 2);
    CHECK_INT(net.layers[4].inputs[0], 3);
    CHECK_INT(net.layers[4].kind, NN_LAYER_DEPTHWISE_CONV2D);
    CHECK_INT(net.layers[4].depth_multiplier, 1);
    CHECK_STR(net.layers[5].name, "sum");
    CHECK_INT(net.layers[5].inputs[0], 3);
    CHECK_INT(net.layers[5].inputs[1], 4);
    CHECK_INT(net.layers[6].inputs[0], 5);
    CHECK_INT(net.layers[7].inputs[0], 6);
    grid_free(g);
}

/* Anchors and aliases are copied; comments and flow/block styles mix. */
static void test_yaml_features(void)
{
    BAD("name: x\nmodel:\n  - {type: flatten}\n  - &h {type: dense, units: 32, name: h1}\n  - *h\n",
        "t.yaml:4:39:", "duplicate layer name 'h1'");
    grid *g = LOAD("# a comment\n"
             "name: \"x\"   # trailing comment\n"
             "model:\n"
             "  - {type: flatten}\n"
             "  - &h {type: dense, units: 32, activation: relu}\n"
             "  - *h\n"
             "  - {type: dense, units: 10, activation: softmax}\n");
    CHECK(g != NULL);
    if (g) {
        nn_train_desc t;
        fg_err e;
        CHECK_INT(grid_config_build(g, 0, 28, 28, 1, 10, &net, &t, &e), 0);
        CHECK_INT(net.layers[2].units, 32);
        CHECK_STR(net.layers[2].name, "dense_3");
    }
    grid_free(g);
    g = LOAD("name: a\n"
             "models:\n"
             "  base: &base\n"
             "    - {type: flatten}\n"
             "    - {type: dense, units: 10, activation: softmax}\n"
             "  copy: *base\n"
             "grid: {model: [base, copy]}\n");
    CHECK(g != NULL);
    if (g)
        CHECK_INT(grid_n_configs(g), 2);
    grid_free(g);
}

#define M2 "model:\n  - {type: flatten}\n  - {type: dense, units: 10, activation: softmax}\n"

static void test_errors(void)
{
    /* YAML syntax */
    BAD("name: x\nmodel: [a, b\n", "t.yaml:3:1:", "did not find expected ',' or ']'");
    BAD("name: x\n  bad: indent\n", "t.yaml:2:6:", "mapping values are not allowed");
    BAD("", "t.yaml:1:1:", "empty");
    BAD("# only a comment\n", "t.yaml:1:1:", "empty");
    BAD("- a\n- b\n", "t.yaml:1:1:", "top level must be a mapping");
    BAD("name: x\n" M2 "---\nname: y\n", "t.yaml:5:1:", "one YAML document");
    BAD("name: x\nmodel: [*nope]\n", "t.yaml:2:9:", "unknown or unfinished anchor");
    /* keys */
    BAD("name: x\nfoo: 1\n" M2, "t.yaml:2:1:", "unknown key 'foo' (valid: name, seed");
    BAD("name: x\nname: y\n" M2, "t.yaml:2:1:", "duplicate key 'name' (first at line 1, column 1)");
    BAD("name: x\n" M2 "grid: {units: [1], units: [2]}\n", "t.yaml:5:20:", "duplicate key 'units'");
    BAD("? [a]\n: 1\n", "t.yaml:1:3:", "mapping keys must be scalars");
    BAD(M2, "t.yaml:1:1:", "missing required key 'name'");
    BAD("name: x\n", "t.yaml:1:1:", "missing 'model'");
    BAD("name: x\n" M2 "models:\n  a: [{type: flatten}]\n", "t.yaml:5:1:",
        "both 'model' and 'models'");
    BAD("name: x\ndata: {dir: /d, size: 3}\n" M2, "t.yaml:2:17:", "unknown data key 'size'");
    BAD("name: x\ncv: {fold: 3}\n" M2, "t.yaml:2:6:", "unknown cv key 'fold'");
    BAD("name: x\ntrain: {optimiser: sgd}\n" M2, "t.yaml:2:9:", "unknown train key 'optimiser'");
    /* types and option values */
    BAD("name: x\nseed: abc\n" M2, "t.yaml:2:7:", "seed 'abc' is not an integer");
    BAD("name: x\nseed: -1\n" M2, "t.yaml:2:7:", "seed -1 must be >= 0");
    BAD("name: x\nseed: $s\n" M2, "t.yaml:2:7:", "only allowed in model layers and train");
    BAD("name: x\nrefit: maybe\n" M2, "t.yaml:2:8:", "refit 'maybe' is not a bool");
    BAD("name: x\ncv: [1, 2]\n" M2, "t.yaml:2:5:", "cv: expected a mapping, got a list");
    BAD("name: x\ncv: {folds: 1}\n" M2, "t.yaml:2:13:", "cv.folds 1 must be in [2, 1000000]");
    BAD("name: x\ncv: {shuffle: 2}\n" M2, "t.yaml:2:15:", "cv.shuffle '2' is not a bool");
    BAD("name: 'a b'\n" M2, "t.yaml:1:7:", "name 'a b' is not valid");
    BAD("name: [a]\n" M2, "t.yaml:1:7:", "name: expected a scalar, got a list");
    BAD("name: x\nmax_tasks: 0\n" M2, "t.yaml:2:12:", "max_tasks 0 must be >= 1");
    BAD("name: x\ntask_timeout: -5\n" M2, "t.yaml:2:15:", "task_timeout -5 must be >= 0");
    BAD("name: x\ndata: {subset: 1.5}\n" M2, "t.yaml:2:16:", "data.subset '1.5' is not an integer");
    BAD("name: x\ntrain: {epochs: [1, 2]}\n" M2, "t.yaml:2:17:", "train: epochs: expected a scalar");
    /* train values */
    BAD("name: x\ntrain: {optimizer: sgdd}\n" M2, "t.yaml:2:20:",
        "unknown optimizer 'sgdd' (valid: sgd, adam");
    BAD("name: x\ntrain: {learning_rate: 0}\n" M2, "t.yaml:2:24:", "learning_rate 0 must be > 0");
    BAD("name: x\ntrain: {learning_rate: 1e-x}\n" M2, "t.yaml:2:24:",
        "learning_rate '1e-x' is not a number");
    BAD("name: x\ntrain: {epochs: 1001}\n" M2, "t.yaml:2:17:", "epochs 1001 must be in [1, 1000]");
    BAD("name: x\ntrain: {momentum: 1}\n" M2, "t.yaml:2:19:", "momentum 1 must be in [0, 1)");
    BAD("name: x\ntrain: {epsilon: 0}\n" M2, "t.yaml:2:18:", "epsilon 0 must be > 0");
    BAD("name: x\ntrain: {early_stopping_monitor: val_los}\n" M2, "t.yaml:2:33:",
        "unknown early_stopping_monitor 'val_los'");
    BAD("name: x\ntrain: {reduce_lr_factor: 1.5}\n" M2, "t.yaml:2:27:",
        "reduce_lr_factor 1.5 must be in [0, 1)");
    BAD("name: x\ntrain: {early_stopping_patience: -2}\n" M2, "t.yaml:2:34:",
        "early_stopping_patience -2 must be in [-1, 1000]");
    /* the grid */
    BAD("name: x\n" M2 "grid:\n  units: []\n", "t.yaml:6:10:", "grid parameter 'units' has no values");
    BAD("name: x\n" M2 "grid: []\n", "t.yaml:5:7:", "the list of sub-grids is empty");
    BAD("name: x\n" M2 "grid: 3\n", "t.yaml:5:7:", "expected a mapping or a list of mappings");
    BAD("name: x\n" M2 "grid: [[1]]\n", "t.yaml:5:8:", "sub-grid 1: expected a mapping");
    BAD("name: x\ntrain: {batch_size: $b}\n" M2 "grid: {b: [10, 20, 10]}\n", "t.yaml:6:20:",
        "grid parameter 'b': duplicate value '10' (same as '10' at line 6, column 12)");
    BAD("name: x\ntrain: {learning_rate: $b}\n" M2 "grid: {b: [0.1, 1e-1]}\n", "t.yaml:6:17:",
        "duplicate value '1e-1'");
    BAD("name: x\ntrain: {batch_size: $b}\n" M2 "grid: {b: [[1, 2]]}\n", "t.yaml:6:12:",
        "grid parameter 'b': values must be scalars, got a list");
    BAD("name: x\ntrain: {batch_size: $b}\n" M2 "grid: {b: 10}\n", "t.yaml:6:11:",
        "expected a list of values");
    BAD("name: x\n" M2 "grid: {2b: [1]}\n", "t.yaml:5:8:", "invalid grid parameter name '2b'");
    BAD("name: x\n" M2 "grid: {foo: [1]}\n", "t.yaml:5:8:", "grid parameter 'foo' is not used");
    BAD("name: x\n" M2 "grid: {model: [a]}\n", "t.yaml:5:8:", "has a single 'model'");
    BAD("name: x\ntrain: {batch_size: $b}\n" M2 "grid: {b: [$c]}\n", "t.yaml:6:12:",
        "cannot be a reference");
    /* references */
    BAD("name: x\n"
        "model:\n"
        "  - {type: flatten}\n"
        "  - {type: dense, units: $units, activation: relu}\n"
        "  - {type: dense, units: 10, activation: softmax}\n"
        "grid:\n"
        "  - {units: [10]}\n"
        "  - {batch_size: [10]}\n",
        "t.yaml:4:26:",
        "'$units' refers to grid parameter 'units', which sub-grid 2 (line 8) does not define");
    BAD("name: x\ntrain: {learning_rate: $lr}\n" M2, "t.yaml:2:24:",
        "'$lr' refers to grid parameter 'lr', which the grid does not define");
    BAD("name: x\nmodel:\n  - {type: flatten}\n  - {type: dense, units: $1, activation: softmax}\n",
        "t.yaml:4:26:", "invalid grid parameter reference '$1'");
    /* models */
    BAD("name: x\n"
        "models:\n"
        "  a: [{type: flatten}, {type: dense, units: 10, activation: softmax}]\n"
        "grid:\n"
        "  - {model: [a]}\n"
        "  - {batch_size: [10]}\n",
        "t.yaml:6:5:", "sub-grid 2 (line 6) has no 'model' parameter");
    BAD("name: x\n"
        "models:\n"
        "  a: [{type: flatten}, {type: dense, units: 10, activation: softmax}]\n"
        "grid: {model: [a, b]}\n",
        "t.yaml:4:19:", "'b' is not among models (valid: a)");
    BAD("name: x\n"
        "models:\n"
        "  a: [{type: flatten}, {type: dense, units: $n, activation: softmax}]\n"
        "  b: [{type: flatten}, {type: dense, units: 10, activation: softmax}]\n"
        "grid:\n"
        "  - {model: [b], n: [10]}\n",
        "t.yaml:6:18:", "grid parameter 'n' is not used");
    BAD("name: x\nmodels:\n  'a b': [{type: flatten}]\ngrid: {model: ['a b']}\n", "t.yaml:3:3:",
        "model name 'a b' is not valid");
    /* layers */
    BAD("name: x\nmodel: []\n", "t.yaml:2:8:", "the list of layers is empty");
    BAD("name: x\nmodel: {type: dense}\n", "t.yaml:2:8:", "model: expected a list, got a mapping");
    BAD("name: x\nmodel:\n  - {units: 10}\n", "t.yaml:3:5:", "layer 1 has no 'type'");
    BAD("name: x\nmodel:\n  - dense\n", "t.yaml:3:5:", "layer 1: expected a mapping");
    BAD("name: x\nmodel:\n  - {type: dens}\n", "t.yaml:3:12:", "unknown layer type 'dens'");
    BAD("name: x\nmodel:\n  - {type: dense, unit: 10}\n", "t.yaml:3:19:",
        "unknown field 'unit' for a dense layer (valid: type, name, inputs, units");
    BAD("name: x\nmodel:\n  - {type: flatten}\n  - {type: dropout, units: 10}\n", "t.yaml:4:21:",
        "field 'units' is not valid for a dropout layer");
    BAD("name: x\nmodel:\n  - {type: flatten}\n  - {type: dense, units: 0, activation: softmax}\n",
        "t.yaml:4:26:", "dense units 0 must be in [1, 1000000] in layer 'dense_2'");
    BAD("name: x\nmodel:\n  - {type: flatten}\n  - {type: dense, units: 10.5, activation: softmax}\n",
        "t.yaml:4:26:", "dense units '10.5' is not an integer");
    BAD("name: x\nmodel:\n  - {type: flatten}\n  - {type: dense, activation: softmax}\n",
        "t.yaml:4:5:", "a dense layer needs 'units'");
    BAD("name: x\nmodel:\n  - {type: flatten}\n  - {type: dense, units: 10, activation: softmaxx}\n",
        "t.yaml:4:42:", "unknown activation 'softmaxx'");
    BAD("name: x\nmodel:\n  - {type: flatten}\n"
        "  - {type: dense, units: 10, activation: softmax, kernel_initializer: glorot}\n",
        "t.yaml:4:71:", "unknown initializer 'glorot'");
    BAD("name: x\nmodel:\n  - {type: conv2d, filters: 4, kernel_size: 0}\n", "t.yaml:3:45:",
        "conv2d kernel_size 0 must be in [1, 100000]");
    BAD("name: x\nmodel:\n  - {type: conv2d, filters: 4, kernel_size: [3, 3, 3]}\n", "t.yaml:3:45:",
        "expected an integer or a list [h, w]");
    BAD("name: x\nmodel:\n  - {type: conv2d, filters: 4, padding: full}\n", "t.yaml:3:41:",
        "unknown padding 'full' (valid: valid, same)");
    BAD("name: x\nmodel:\n  - {type: flatten}\n  - {type: dropout, rate: 1}\n", "t.yaml:4:27:",
        "dropout rate 1 must be in [0, 1)");
    BAD("name: x\nmodel:\n  - {type: flatten, name: a}\n  - {type: flatten, name: a}\n",
        "t.yaml:4:27:", "duplicate layer name 'a'");
    BAD("name: x\nmodel:\n  - {type: flatten, name: input}\n", "t.yaml:3:27:",
        "layer name 'input' is not valid");
    BAD("name: x\nmodel:\n  - {type: flatten}\n  - {type: add, inputs: [flatten_1]}\n",
        "t.yaml:4:25:", "an add layer takes exactly 2 inputs");
    BAD("name: x\nmodel:\n  - {type: flatten}\n  - {type: add}\n", "t.yaml:4:5:",
        "an add layer needs 'inputs'");
    BAD("name: x\nmodel:\n  - {type: flatten, inputs: d}\n  - {type: dense, name: d, units: 10}\n",
        "t.yaml:3:29:", "inputs 'd' names a layer that is not before this one");
    BAD("name: x\nmodel:\n  - {type: flatten, inputs: zz}\n", "t.yaml:3:29:",
        "inputs 'zz' is not the name of an earlier layer");
    BAD("name: x\nmodel:\n  - {type: flatten}\n  - {type: dense, units: 10, inputs: [a, b, c]}\n",
        "t.yaml:4:38:", "expected 1 or 2 layer names");
    /* values from the grid are reported at the grid value, naming the parameter */
    BAD("name: x\n"
        "model:\n"
        "  - {type: flatten}\n"
        "  - {type: dropout, rate: $dropout}\n"
        "  - {type: dense, units: 10, activation: softmax}\n"
        "grid:\n"
        "  dropout: [0.5, 1.5]\n",
        "t.yaml:7:18:",
        "dropout rate 1.5 (from grid parameter 'dropout') must be in [0, 1) in layer 'dropout_2'");
    BAD("name: x\n" M2 "grid:\n  batch_size: [32, 0]\n", "t.yaml:6:20:",
        "batch_size 0 (from grid parameter 'batch_size') must be in [1, 10000000]");
    BAD("name: x\n"
        "model:\n"
        "  - {type: flatten}\n"
        "  - {type: dense, units: 10, activation: $a}\n"
        "grid:\n"
        "  a: [softmax, relux]\n",
        "t.yaml:6:16:", "unknown activation 'relux' (from grid parameter 'a')");
    BAD("name: x\n" M2 "grid:\n  optimizer: [sgd, lamb]\n", "t.yaml:6:20:",
        "unknown optimizer 'lamb' (from grid parameter 'optimizer')");
    /* the training recipe */
    BAD("name: x\ntrain: {warmup_steps: 10}\n" M2, "t.yaml:2:23:",
        "warmup_steps 10 needs a warmup_target");
    BAD("name: x\ntrain: {lr_schedule: one_cycle, warmup_steps: 10, warmup_target: 1}\n" M2,
        "t.yaml:2:47:", "warmup_steps 10 must be 0 with lr_schedule one_cycle");
    BAD("name: x\ntrain: {learning_rate: 0, warmup_steps: 10}\n" M2, "t.yaml:2:24:",
        "learning_rate 0 must be > 0 (0 only with a warmup_target");
    BAD("name: x\ntrain: {augment_translate: 28}\n" M2, "t.yaml:2:28:",
        "augment_translate 28 must be below the 28x28 images' side");
    BAD("name: x\ntrain: {label_smoothing: 1}\n" M2, "t.yaml:2:26:",
        "label_smoothing 1 must be in [0, 1)");
    BAD("name: x\ntrain: {lr_schedule: step}\n" M2, "t.yaml:2:22:",
        "unknown lr_schedule 'step' (valid: constant, cosine, one_cycle)");
    BAD("name: x\n" M2 "grid: {augment_erase: [0.5, 2]}\n", "t.yaml:5:29:",
        "augment_erase 2 (from grid parameter 'augment_erase') must be in [0, 1]");
    BAD("name: x\n" M2 "grid: {use_ema: [maybe]}\n", "t.yaml:5:18:",
        "use_ema 'maybe' (from grid parameter 'use_ema') is not a bool");
    /* sizes */
    BAD("name: x\nmax_tasks: 10\ntrain: {batch_size: $b}\n" M2 "grid: {b: [1, 2, 3]}\n",
        "t.yaml:7:1:", "3 configurations x 5 folds = 15 tasks, more than max_tasks (10)");
    BAD("name: x\nmax_tasks: 100\ntrain: {batch_size: $b, epochs: $e}\n" M2
        "grid: {b: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], e: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}\n",
        "t.yaml:7:1:", "more than max_tasks (100) configurations");
    /* shapes: nn_desc_check's message at the failing layer, with the configuration */
    BAD("name: x\n"
        "model:\n"
        "  - {type: conv2d, filters: 4, kernel_size: $k}\n"
        "  - {type: flatten}\n"
        "  - {type: dense, units: 10, activation: softmax}\n"
        "grid: {k: [3, 30]}\n",
        "t.yaml:3:5:", "(configuration 1: k=30)");
    BAD("name: x\ndata: {classes: 10}\nmodel:\n  - {type: flatten}\n  - {type: dense, units: 7, activation: softmax}\n",
        "t.yaml:5:26:", "the last layer outputs 7 values, but data.classes is 10 (configuration 0)");
}

/* grid_set_input: without data.classes any output count loads, and the data's class count
 * is checked at the last layer's units; without data.shape the data's shape is checked by
 * building every configuration again. */
static void test_set_input(void)
{
    fg_err e;
    grid *g = LOAD("name: x\nmodel:\n  - {type: flatten}\n  - {type: dense, units: $u, activation: softmax}\n"
                   "grid: {u: [5, 7]}\n");
    CHECK(g != NULL);
    if (g) {
        CHECK(grid_opts_c(g)->classes == 0 && !grid_opts_c(g)->shape_given);
        e.msg[0] = '\0';
        CHECK(grid_set_input(g, 16, 16, 1, 7, &e) == -1);
        CHECK_STR_CONTAINS(e.msg, "t.yaml:4:26: the last layer outputs 5 values, but the data have 7 classes "
                                  "(labels 0..6; data.classes says the data have more) (configuration 0: u=5)");
        CHECK(grid_opts_c(g)->in_h == 16 && grid_opts_c(g)->classes == 7);
        grid_free(g);
    }
    g = LOAD("name: x\nmodel:\n  - {type: flatten}\n  - {type: dense, units: 5, activation: softmax}\n");
    if (g) {
        CHECK(grid_set_input(g, 28, 28, 1, 5, &e) == 0);
        CHECK(grid_set_input(g, 12, 12, 3, 5, &e) == 0);
        CHECK(grid_opts_c(g)->in_w == 12 && grid_opts_c(g)->in_c == 3);
        grid_free(g);
    }
    g = LOAD("name: x\nmodel:\n  - {type: conv2d, filters: 2, kernel_size: 20}\n  - {type: flatten}\n"
             "  - {type: dense, units: 10, activation: softmax}\n");
    if (g) {
        CHECK(grid_set_input(g, 28, 28, 1, 10, &e) == 0);
        e.msg[0] = '\0';
        CHECK(grid_set_input(g, 16, 16, 1, 10, &e) == -1);
        CHECK_STR_CONTAINS(e.msg, "t.yaml:3:5:");
        grid_free(g);
    }
}

/* grids/best-cnn.yaml and grids/best-mlp.yaml: 4 configurations x 3 folds, configuration 0
 * (the one tests/bench/run --quality refits) with the whole recipe, the MLP dense only. */
static void test_shipped_best(const char *dir)
{
    static const char *const names[2] = {"best-cnn", "best-mlp"};
    for (int i = 0; i < 2; i++) {
        char path[4200];
        grid *g = NULL;
        fg_err e;
        snprintf(path, sizeof path, "%s/grids/%s.yaml", dir, names[i]);
        CHECK_MSG(grid_load_file(path, &g, &e) == 0, "%s", e.msg);
        if (!g)
            continue;
        CHECK_STR(grid_opts_c(g)->name, names[i]);
        CHECK_INT(grid_opts_c(g)->folds, 3);
        CHECK_INT(grid_n_configs(g), 4);
        nn_train_desc t;
        CHECK_INT(grid_config_build(g, 0, 28, 28, 1, 10, &net, &t, &e), 0);
        CHECK_INT(t.augment_flip, 1);
        CHECK_INT(t.lr_schedule, NN_SCHED_COSINE);
        CHECK_NEAR(t.label_smoothing, 0.1, 1e-7);
        int convs = 0;
        for (int l = 0; l < net.n_layers; l++)
            convs += net.layers[l].kind == NN_LAYER_CONV2D;
        CHECK_INT(convs, i == 0 ? 2 : 0);
        grid_free(g);
    }
}

/* The grid files shipped in grids/: found through FG_SOURCE_DIR or relative paths. */
static void test_shipped_files(void)
{
    static const char *const bases[] = {NULL, ".", "..", "../..", "../../.."};
    char path[4200], dir[4000] = "";
    const char *env = getenv("FG_SOURCE_DIR");
    for (size_t i = 0; i < sizeof bases / sizeof bases[0] && !dir[0]; i++) {
        const char *b = i == 0 ? env : bases[i];
        if (!b)
            continue;
        snprintf(path, sizeof path, "%s/grids/mlp.yaml", b);
        FILE *f = fopen(path, "r");
        if (f) {
            fclose(f);
            snprintf(dir, sizeof dir, "%s", b);
        }
    }
    if (!dir[0]) {
        fprintf(stderr, "test_grid: note: grids/mlp.yaml not found (set FG_SOURCE_DIR); "
                        "skipping the shipped-files test\n");
        return;
    }
    grid *g = NULL;
    fg_err e;
    snprintf(path, sizeof path, "%s/grids/mlp.yaml", dir);
    int rc = grid_load_file(path, &g, &e);
    CHECK_MSG(rc == 0, "%s", e.msg);
    if (g) {
        CHECK_INT(grid_n_configs(g), 19);
        CHECK_INT(grid_opts_c(g)->folds, 5);
        CHECK_INT(grid_opts_c(g)->shuffle, 1);
        CHECK_STR(grid_opts_c(g)->name, "mlp");
        CHECK_STR(grid_config_params(g, 0),
                  "activation=relu, batch_size=500, dropout=0, epochs=10, units=1000");
        nn_train_desc t;
        CHECK_INT(grid_config_build(g, 0, 28, 28, 1, 10, &net, &t, &e), 0);
        CHECK_INT(t.optimizer, NN_OPT_SGD);
        CHECK_NEAR(t.learning_rate, 0.1, 1e-7);
        CHECK_INT(net.layers[net.n_layers - 1].units, 10);
        CHECK_INT(net.layers[net.n_layers - 1].activation, NN_ACT_SOFTMAX);
        grid_free(g);
    }
    g = NULL;
    snprintf(path, sizeof path, "%s/grids/quick.yaml", dir);
    rc = grid_load_file(path, &g, &e);
    CHECK_MSG(rc == 0, "%s", e.msg);
    if (g) {
        CHECK_STR(grid_opts_c(g)->name, "quick");
        CHECK_INT(grid_opts_c(g)->folds, 3);
        CHECK(grid_opts_c(g)->subset > 0); /* a quick search uses a subset */
        CHECK_INT(grid_n_configs(g), 10);
        grid_free(g);
    }
    test_shipped_best(dir);
    /* a missing file */
    rc = grid_load_file("/nonexistent/grid.yaml", &g, &e);
    CHECK_INT(rc, -1);
    CHECK(g == NULL);
    CHECK_STR_CONTAINS(e.msg, "/nonexistent/grid.yaml: cannot open");
}


/* Text built with printf-style appends, for the large generated grids below. */
typedef struct {
    char *p;
    size_t n, cap;
} text;

static void add(text *t, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int w = vsnprintf(t->p ? t->p + t->n : NULL, t->p ? t->cap - t->n : 0, fmt, ap);
        va_end(ap);
        if (t->p && (size_t)w < t->cap - t->n) {
            t->n += (size_t)w;
            return;
        }
        t->cap = t->cap ? 2 * t->cap + (size_t)w : 4096 + (size_t)w;
        t->p = realloc(t->p, t->cap);
        if (!t->p)
            abort();
    }
}

static void bad_text(text *t, const char *prefix, const char *phrase, int line)
{
    bad(t->p, prefix, phrase, line);
    free(t->p);
    memset(t, 0, sizeof *t);
}

/* The program's limits, special files, option locations, and loaders that stay linear on
 * large grids (each of these took minutes to hours when items were compared each with
 * every other; here each must give the right answer, the timeout of ctest catches the
 * rest). */
static void test_limits_and_scale(void)
{
    grid *g = NULL;
    fg_err e;
    text t = {0};

    /* configuration counts above GRID_MAX_CONFIGS, whatever max_tasks says, at the
     * parameter (in file order) that takes the count over */
    add(&t, "name: x\nmax_tasks: 1e18\n" M2 "grid:\n  batch_size: [");
    for (int i = 1; i <= 1000; i++)
        add(&t, "%s%d", i > 1 ? ", " : "", i);
    add(&t, "]\n  epochs: [");
    for (int i = 1; i <= 1000; i++)
        add(&t, "%s%d", i > 1 ? ", " : "", i);
    add(&t, "]\n  momentum: [0, 0.5, 0.9]\n");
    bad_text(&t, "t.yaml:9:3:", "grid parameter 'momentum' (3 values) brings the grid to more than 1000000 configurations (1000000 x 3)", __LINE__);
    /* tasks above GRID_MAX_TASKS */
    add(&t, "name: x\nmax_tasks: 1e18\ncv: {folds: 11}\n" M2 "grid:\n  batch_size: [");
    for (int i = 1; i <= 1000; i++)
        add(&t, "%s%d", i > 1 ? ", " : "", i);
    add(&t, "]\n  epochs: [");
    for (int i = 1; i <= 1000; i++)
        add(&t, "%s%d", i > 1 ? ", " : "", i);
    add(&t, "]\n");
    bad_text(&t, "t.yaml:7:1:", "= 11000000 tasks, more than the limit of 10000000 tasks", __LINE__);
    /* a text longer than GRID_MAX_BYTES is refused before it is parsed */
    {
        size_t n = (size_t)GRID_MAX_BYTES + 1;
        char *big = malloc(n);
        CHECK(big != NULL);
        if (big) {
            memset(big, '#', n);
            CHECK_INT(grid_load_string(big, n, "big.yaml", &g, &e), -1);
            CHECK_STR_CONTAINS(e.msg, "big.yaml: 16777217 bytes, more than the 16777216-byte limit for a grid file");
            free(big);
        }
    }

    /* many keys: the first unknown one, the first duplicate */
    add(&t, "name: x\n" M2);
    for (int i = 0; i < 200000; i++)
        add(&t, "k%d: %d\n", i, i);
    bad_text(&t, "t.yaml:5:1:", "unknown key 'k0'", __LINE__);
    add(&t, "name: x\n" M2 "train:\n");
    for (int i = 0; i < 200000; i++)
        add(&t, "  k%d: %d\n", i, i);
    add(&t, "  k123: 0\n");
    bad_text(&t, "t.yaml:200006:3:", "duplicate key 'k123' (first at line 129, column 3)", __LINE__);
    /* many values, a numeric duplicate at the end */
    add(&t, "name: x\nmax_tasks: 1e18\ntrain: {learning_rate: $lr}\n" M2 "grid:\n  lr: [");
    for (int i = 1; i <= 200000; i++)
        add(&t, "%de-7, ", i);
    add(&t, "0.00001]\n");
    bad_text(&t, "t.yaml:8:2088903:", "duplicate value '0.00001' (same as '100e-7' at line 8, column 692)", __LINE__);
    /* many sub-grids: every configuration finds its own (binary search) */
    add(&t, "name: x\ntrain: {learning_rate: $lr}\n" M2 "grid:\n");
    for (int i = 1; i <= 50000; i++)
        add(&t, "  - {lr: [%d.5], batch_size: [1, 2]}\n", i);
    g = LOAD(t.p);
    free(t.p);
    memset(&t, 0, sizeof t);
    if (g) {
        CHECK_INT(grid_n_configs(g), 100000);
        CHECK_STR(value(g, 0, "lr"), "1.5");
        CHECK_STR(value(g, 77777, "lr"), "38889.5");
        CHECK_STR(value(g, 77777, "batch_size"), "2");
        CHECK_STR(grid_config_params(g, 99998), "batch_size=1, lr=50000.5");
        grid_free(g);
    }
    /* many models, selected by name (sorted index) */
    add(&t, "name: x\nmodels:\n");
    for (int i = 0; i < 20000; i++)
        add(&t, "  m%d: [{type: dense, units: 10, activation: softmax, name: d%d}]\n", i, i);
    add(&t, "grid:\n  model: [");
    for (int i = 19999; i >= 0; i--)
        add(&t, "m%d%s", i, i ? ", " : "]\n");
    g = LOAD(t.p);
    free(t.p);
    memset(&t, 0, sizeof t);
    if (g) {
        CHECK_INT(grid_n_configs(g), 20000);
        CHECK_MSG(grid_config_build(g, 5, 28, 28, 1, 10, &net, NULL, &e) == 0, "%s", e.msg);
        CHECK_STR(net.layers[0].name, "d19994");
        grid_free(g);
    }
    /* anchors: many, and a redefinition (the latest finished one wins) */
    add(&t, "name: x\ntrain: {epochs: 2}\nx: [");
    for (int i = 0; i < 100000; i++)
        add(&t, "&a%d %d, ", i, i);
    for (int i = 0; i < 100000; i++)
        add(&t, "*a0, ");
    add(&t, "0]\n" M2);
    bad_text(&t, "t.yaml:3:1:", "unknown key 'x'", __LINE__);
    g = LOAD("name: x\ntrain: {epochs: &e 3, batch_size: &e 7, nesterov: false}\n"
             "grid: {epochs: [*e]}\n" M2);
    if (g) {
        CHECK_STR(value(g, 0, "epochs"), "7");
        grid_free(g);
    }
    /* many references, many parameters */
    add(&t, "name: x\nmodel:\n  - {type: dense, units: 10, activation: softmax, kernel_size: [");
    for (int i = 0; i < 100000; i++)
        add(&t, "$r%d, ", i);
    add(&t, "$r0]}\ngrid:\n");
    for (int i = 0; i < 100000; i++)
        add(&t, "  r%d: [1]\n", i);
    add(&t, "  unused: [1]\n");
    bad_text(&t, "t.yaml:100005:3:", "grid parameter 'unused' is not used", __LINE__);

    /* where options are written, for messages about them against the data */
    g = LOAD("name: x\ncv:\n  shuffle: false\n  folds: 7\ndata: {subset: 100}\n" M2);
    if (g) {
        char at[64];
        CHECK_INT(grid_option_where(g, "cv.folds", at, sizeof at), 1);
        CHECK_STR(at, "t.yaml:4:10");
        CHECK_INT(grid_option_where(g, "data.subset", at, sizeof at), 1);
        CHECK_STR(at, "t.yaml:5:16");
        CHECK_INT(grid_option_where(g, "cv.seed", at, sizeof at), 0);
        CHECK_STR(at, "t.yaml");
        CHECK_INT(grid_option_where(g, "seed", at, sizeof at), 0);
        CHECK_INT(grid_option_where(g, "name.x", at, sizeof at), 0);
        grid_free(g);
    }

    /* special files are refused without blocking; a large file unread */
    char dir[] = "/tmp/fg_test_grid_XXXXXX", path[64];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/fifo.yaml", dir);
    CHECK(mkfifo(path, 0600) == 0);
    CHECK_INT(grid_load_file(path, &g, &e), -1);
    CHECK_STR_CONTAINS(e.msg, "fifo.yaml: not a regular file (a FIFO); a grid file must be a regular file");
    unlink(path);
    CHECK_INT(grid_load_file("/dev/null", &g, &e), -1);
    CHECK_STR_CONTAINS(e.msg, "/dev/null: not a regular file (a character device)");
    CHECK_INT(grid_load_file(dir, &g, &e), -1);
    CHECK_STR_CONTAINS(e.msg, ": not a regular file (a directory); a grid file must be a regular file");
    snprintf(path, sizeof path, "%s/sparse.yaml", dir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f)
        fclose(f);
    CHECK(truncate(path, 1ll << 40) == 0); /* a sparse terabyte: must not be read */
    CHECK_INT(grid_load_file(path, &g, &e), -1);
    CHECK_STR_CONTAINS(e.msg, "sparse.yaml: 1099511627776 bytes, more than the 16777216-byte limit for a grid file");
    unlink(path);
    rmdir(dir);
}

/* The search: section (issue 15) and random draws: the section's settings, draws within
 * their bounds and reproducible with the seed, list-only draws without replacement from the
 * expansion, the draws as the grid's configurations (values reach the network). */
#define SEARCH_BASE                                                                        \
    "name: s\ntrain: {optimizer: adam, epochs: 4}\nmodel:\n  - {type: flatten}\n"          \
    "  - {type: dense, units: $units, activation: relu}\n"                                 \
    "  - {type: dense, units: 10, activation: softmax}\n"

static void test_search_section(void)
{
    grid *g = LOAD(SEARCH_BASE "grid:\n  units: [8, 16]\n");
    const grid_search *s = g ? grid_search_of(g) : NULL;
    CHECK(s && !s->given && s->strategy == GRID_SEARCH_GRID && !s->sampled);
    CHECK(s && s->factor == 3 && s->resource == HALV_EPOCHS && s->min_exhaust);
    grid_free(g);
    g = LOAD(SEARCH_BASE "search: {strategy: halving, factor: 4, resource: samples, "
                         "min_resources: 300, max_resources: 9000, aggressive_elimination: "
                         "true}\ngrid:\n  units: [8, 16]\n");
    s = g ? grid_search_of(g) : NULL;
    CHECK(s && s->given && s->strategy == GRID_SEARCH_HALVING && s->factor == 4);
    CHECK(s && s->resource == HALV_SAMPLES && s->min_resources == 300 && !s->min_exhaust);
    CHECK(s && s->max_resources == 9000 && s->aggressive && !s->sampled);
    CHECK(g && grid_n_configs(g) == 2);
    grid_free(g);
    g = LOAD(SEARCH_BASE "search: {strategy: halving, min_resources: smallest}\n"
                         "grid:\n  units: [8, 16]\n");
    s = g ? grid_search_of(g) : NULL;
    CHECK(s && s->min_smallest && !s->min_exhaust && s->min_resources == 0);
    grid_free(g);
}

/* units of configuration c (as built) */
static int built_units(const grid *g, int64_t c)
{
    nn_train_desc t;
    fg_err e;
    if (grid_config_build(g, c, 28, 28, 1, 10, &net, &t, &e))
        return -1;
    return net.layers[1].units;
}

static void test_random_draws(void)
{
    const char *rtext = SEARCH_BASE "seed: 7\nsearch: {strategy: random, n_iter: 50}\ngrid:\n"
                                   "  learning_rate: {loguniform: [1.0e-4, 1.0e-1]}\n"
                                   "  units: {randint: [16, 128]}\n  batch_size: [32, 64]\n";
    grid *a = LOAD(rtext), *b = LOAD(rtext);
    CHECK(a && b && grid_n_configs(a) == 50 && grid_n_configs(b) == 50);
    CHECK(a && grid_search_of(a)->sampled && grid_search_of(a)->grid_size == -1);
    int distinct_lr = 0;
    for (int64_t c = 0; a && b && c < 50; c++) {
        CHECK(!strcmp(grid_config_params(a, c), grid_config_params(b, c)));
        CHECK(grid_config_hash(a, c) == grid_config_hash(b, c));
        double lr = atof(grid_config_value(a, c, 1));
        int u = atoi(grid_config_value(a, c, 2));
        CHECK(lr >= 1e-4 && lr <= 1e-1);
        CHECK(u >= 16 && u < 128);
        CHECK_INT(built_units(a, c), u);
        distinct_lr += c > 0 && strcmp(grid_config_value(a, c, 1), grid_config_value(a, c - 1, 1));
    }
    CHECK(distinct_lr >= 45);
    grid_free(b);
    /* another seed, other draws */
    char other[1024];
    snprintf(other, sizeof other, "%s", rtext);
    char *seed = strstr(other, "seed: 7");
    if (seed)
        seed[6] = '8';
    b = LOAD(other);
    CHECK(a && b && strcmp(grid_config_params(a, 0), grid_config_params(b, 0)));
    grid_free(a);
    grid_free(b);
}

/* Every parameter a list: draws without replacement, each a configuration of the
 * expansion; more draws than the grid has: each configuration once, flagged. */
static void test_random_lists(void)
{
    const char *full_text = SEARCH_BASE "grid:\n  units: [8, 16, 24, 32]\n"
                                        "  batch_size: [16, 32, 64]\n";
    grid *full = LOAD(full_text);
    grid *g = LOAD(SEARCH_BASE "search: {strategy: random, n_iter: 7}\ngrid:\n"
                               "  units: [8, 16, 24, 32]\n  batch_size: [16, 32, 64]\n");
    CHECK(full && g && grid_n_configs(full) == 12 && grid_n_configs(g) == 7);
    CHECK(g && grid_search_of(g)->grid_size == 12 && !grid_search_of(g)->capped);
    for (int64_t c = 0; full && g && c < 7; c++) {
        int found = 0, dup = 0;
        for (int64_t f = 0; f < 12; f++)
            found += !strcmp(grid_config_params(g, c), grid_config_params(full, f));
        for (int64_t d = 0; d < c; d++)
            dup += !strcmp(grid_config_params(g, c), grid_config_params(g, d));
        CHECK_INT(found, 1);
        CHECK_INT(dup, 0);
    }
    grid_free(g);
    g = LOAD(SEARCH_BASE "search: {strategy: random, n_iter: 40}\ngrid:\n"
                         "  units: [8, 16, 24, 32]\n  batch_size: [16, 32, 64]\n");
    CHECK(g && grid_n_configs(g) == 12 && grid_search_of(g)->capped);
    grid_free(g);
    grid_free(full);
}

int main(void)
{
    test_expansion();
    test_single_grid_and_options();
    test_train_defaults();
    test_recipe_keys();
    test_models();
    test_wiring();
    test_yaml_features();
    test_errors();
    test_shipped_files();
    test_limits_and_scale();
    test_set_input();
    test_search_section();
    test_random_draws();
    test_random_lists();
    return check_report("test_grid");
}
