/* h5w.h - layer weights from Keras HDF5 files (libhdf5): the only module that includes
 * hdf5.h. Reads both layouts Keras writes with save_weights (and Model.save's
 * model_weights group):
 *   root (or /model_weights) attribute layer_names = [layer, ...]
 *   /LAYER attribute weight_names = ["LAYER/kernel:0", "LAYER/bias:0", ...] (Keras 2), or
 *          ["LAYER_W_1:0", "LAYER_b_1:0"] (Keras 1/2.0, e.g. the applications' file
 *          vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5)
 *   /LAYER/<weight name> the arrays, in Keras's get_weights() order (kernels HWIO).
 * Attributes longer than HDF5's 64 KiB limit are split by Keras into NAME0, NAME1, ...;
 * both fixed-length and variable-length strings are read. The arrays come back as plain
 * float32, matched to a network's layers by name with every shape checked.
 * Built without libhdf5 (FG_HAVE_HDF5 undefined), h5w_read refuses every file with a
 * message saying so, and everything else still works. Debian's libhdf5 is not built
 * thread-safe: call h5w_read from one thread at a time (rank 0 checks the files before its
 * worker thread starts; the worker thread then reads them alone). */
#ifndef H5W_H
#define H5W_H

#include <stdint.h>

#include "fg_util.h"
#include "nn.h"

#define H5W_NAME_MAX 128

typedef struct {
    char name[H5W_NAME_MAX]; /* the weight name as stored ("block1_conv1/kernel:0") */
    int ndim;
    int64_t shape[4];
    int64_t n;
    float *data;             /* n floats, owned by the h5w_file */
} h5w_array;

typedef struct {
    char name[H5W_NAME_MAX];
    int n;                   /* arrays (0 for layers without weights, e.g. pooling) */
    h5w_array *w;
} h5w_layer;

typedef struct {
    int n_layers;
    h5w_layer *layers;
} h5w_file;

/* The CRC-32 (zlib's) of the file's bytes, HDF5 or not. Returns 0, or -1 with err. */
int h5w_file_crc32(const char *path, uint32_t *crc, fg_err *err);

/* 1 when built with libhdf5. */
int h5w_available(void);

/* Reads every layer's arrays of the Keras weights file at path. Returns 0 and *out (free
 * with h5w_free), or -1 with err: one line starting with path (missing file, not HDF5,
 * truncated or damaged, no Keras layer_names, an array that is not float or has more than
 * 4 dimensions, no libhdf5 in this build). */
int h5w_read(const char *path, h5w_file **out, fg_err *err);
void h5w_free(h5w_file *f); /* NULL is a no-op */

/* The layer called name, or NULL. */
const h5w_layer *h5w_find(const h5w_file *f, const char *name);

/* Matches f (read from path) to the network: layer < 0 takes every layer of the file that
 * has weights and needs a layer of the same name in the network; layer >= 0 takes the
 * file's layer named as the network's layer `layer`. Every array count and shape is
 * checked. With net NULL only checks against the description d; otherwise also copies the
 * arrays into net (whose description d must be). Returns 0, or -1 with err
 * "PATH: layer 'NAME': ..." naming both shapes. */
int h5w_apply(const h5w_file *f, const char *path, const nn_net_desc *d, nn_net *net,
              int layer, fg_err *err);

#endif
