/* cmd_predict.c - predict MODEL [IMAGES [LABELS]]: a model file classifies IDX images;
 * accuracy, per-class accuracy, confusion matrix, optionally one label per line. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "data.h"
#include "model.h"
#include "nn.h"
#include "nn_gemm.h"
#include "prepare.h"

/* The images to classify into d: IMAGES [LABELS] (the labels file by default the images
 * file's name with labels-idx1 for images-idx3), or the test set of the data directory.
 * Returns EXIT_OK, or EXIT_INPUT after saying why. */
static int load_images(const cli *c, data_set *d)
{
    fg_err err;
    char labels[4200];
    if (c->pred_images) {
        const char *lp = c->pred_labels;
        if (!lp) {
            snprintf(labels, sizeof labels, "%s", c->pred_images);
            char *m = strstr(labels, "images-idx3");
            if (m)
                memcpy(m, "labels-idx1", 11);
            lp = m ? labels : NULL;
        }
        if (!lp) {
            fprintf(stderr, "fmnist-grid: %s: give the labels file too (fmnist-grid predict MODEL IMAGES LABELS)\n",
                    c->pred_images);
            return EXIT_INPUT;
        } else if (data_load_idx(c->pred_images, lp, 0, d, &err)) {
            fg_print_error(err.msg);
            return EXIT_INPUT;
        }
    } else {
        const char *dir = c->data_dir ? c->data_dir : getenv("FMNIST_DATA");
        if (data_load_dir(dir && *dir ? dir : DATA_DEFAULT_DIR, DATA_TEST, d, &err)) {
            fg_print_error(err.msg);
            return EXIT_INPUT;
        }
    }
    return EXIT_OK;
}

/* The images d fit the model's input and classes: EXIT_OK, or EXIT_INPUT after saying why. */
static int check_shape(const cli *c, const model_file *mf, const data_set *d)
{
    const nn_net_desc *nd = mf->desc;
    if (d->h != nd->in_h || d->w != nd->in_w || d->c != nd->in_c) {
        fprintf(stderr, "fmnist-grid: %s: images are %dx%dx%d, but the model %s takes %dx%dx%d\n", d->images_path,
                d->h, d->w, d->c, c->predict, nd->in_h, nd->in_w, nd->in_c);
        return EXIT_INPUT;
    }
    if (d->classes > nd->n_classes) { /* a test set may lack the last classes */
        fprintf(stderr, "fmnist-grid: %s: the model has %d classes, the data %d\n", c->predict, nd->n_classes,
                d->classes);
        return EXIT_INPUT;
    }
    return EXIT_OK;
}

/* Accuracy, per-class accuracy and the confusion matrix conf (K x K, zeroed) of the
 * predictions pred of d. */
static void print_scores(const cli *c, const char *meta, const data_set *d, const uint8_t *pred, float acc,
                         float loss, int K, int *conf)
{
    char num[12];
    for (int i = 0; i < d->n; i++)
        conf[d->labels[i] * K + pred[i]]++;
    printf("model %s (%s)\nimages %s: %d\naccuracy %.4f (%.9g), loss %.4f\n\n", c->predict, meta ? meta : "",
           d->images_path, d->n, acc, acc, loss);
    printf("%-12s %7s %9s\n", "class", "images", "accuracy");
    for (int k = 0; k < K; k++) {
        int tot = 0;
        for (int j = 0; j < K; j++)
            tot += conf[k * K + j];
        printf("%-12s %7d %9.4f\n", data_class_name(NULL, K, k, num, sizeof num), tot,
               tot ? (double)conf[k * K + k] / tot : NAN);
    }
    printf("\nconfusion matrix (rows: true class, columns: predicted)\n%-12s", "");
    for (int j = 0; j < K; j++)
        printf(" %5d", j);
    printf("\n");
    for (int k = 0; k < K; k++) {
        printf("%d %-10s", k, data_class_name(NULL, K, k, num, sizeof num));
        for (int j = 0; j < K; j++)
            printf(" %5d", conf[k * K + j]);
        printf("\n");
    }
}

/* --output FILE: one predicted label per line. Returns EXIT_OK, or EXIT_RUNTIME after
 * saying why. */
static int write_labels(const char *path, const uint8_t *pred, int n)
{
    FILE *f = fopen(path, "w");
    int bad = !f;
    for (int i = 0; f && i < n; i++)
        bad |= fprintf(f, "%d\n", pred[i]) < 0;
    if (f)
        bad |= fclose(f) != 0;
    if (bad) {
        fprintf(stderr, "fmnist-grid: %s: cannot write: %s\n", path, strerror(errno));
        return EXIT_RUNTIME;
    }
    return EXIT_OK;
}

int cmd_predict(int argc, char **argv, const cli *c)
{
    fg_err err;
    /* The file is read and checked first; the network (whose activations for a batch can
     * need far more memory than the file holds) is built only for images of its shape. */
    model_file mf;
    if (model_read(c->predict, &mf, &err)) {
        fg_print_error(err.msg);
        return EXIT_INPUT;
    }
    nn_net *net = NULL;
    nn_gemm_set_threads(c->threads);
    data_set d;
    memset(&d, 0, sizeof d);
    int rc = load_images(c, &d);
    if (rc == EXIT_OK)
        rc = check_shape(c, &mf, &d);
    const int K = mf.desc->n_classes;
    int *conf = rc == EXIT_OK ? calloc((size_t)K * (size_t)K, sizeof *conf) : NULL;
    if (rc == EXIT_OK && !(net = model_build(&mf, 256, NULL, &err))) {
        fg_print_error(err.msg);
        rc = EXIT_INPUT;
    }
    int32_t *idx = rc == EXIT_OK ? malloc((size_t)d.n * sizeof *idx) : NULL;
    uint8_t *pred = rc == EXIT_OK ? malloc((size_t)d.n) : NULL;
    if (rc == EXIT_OK && (!idx || !pred || !conf)) {
        fg_print_error("out of memory");
        rc = EXIT_RUNTIME;
    }
    if (rc == EXIT_OK) {
        for (int i = 0; i < d.n; i++)
            idx[i] = i;
        nn_data nd2 = {d.images, d.labels, d.h, d.w, d.c, K, NULL};
        float loss = NAN, acc = NAN;
        if (nn_evaluate(net, &nd2, idx, d.n, &loss, &acc, pred, &err)) {
            fg_print_error(err.msg);
            rc = EXIT_RUNTIME;
        } else {
            print_scores(c, mf.meta, &d, pred, acc, loss, K, conf);
            if (c->pred_output)
                rc = write_labels(c->pred_output, pred, d.n);
        }
    }
    free(idx);
    free(pred);
    free(conf);
    data_free(&d);
    nn_net_free(net);
    model_file_free(&mf);
    return rc;
}
