/* model.h - model files: a trained network's architecture, training recipe, free-form
 * metadata and parameters in one zlib-compressed, checksummed, versioned file.
 *
 * Layout (all integers little-endian; floats are IEEE-754 binary32 bit patterns, LE):
 *   header  16 bytes   "FMNGMDL\0", uint32 format version (MODEL_FORMAT_VERSION, or 1),
 *                      uint32 flags (0)
 *   body    C bytes    compress2(payload, level 6)
 *   trailer 24 bytes   uint64 payload size U, uint64 compressed size C,
 *                      uint32 CRC-32 of the payload, uint32 CRC-32 of every byte before it
 * The payload (U bytes) holds, field by field in nn.h's declaration order (never raw
 * structs, so the format depends on neither padding nor compiler):
 *   net description  int32 in_h, in_w, in_c, n_classes, n_layers; then n_layers layers of
 *                    152 bytes: int32 kind, char name[32] (NUL-terminated, zero-filled),
 *                    int32 n_inputs, inputs[2], activation, float alpha, int32 units,
 *                    filters, kernel[2], strides[2], pool[2], padding, depth_multiplier,
 *                    use_bias, {int32 kind, float a, float b} x kernel_init, bias_init,
 *                    depthwise_init, float l2, rate, bn_momentum, bn_epsilon; from format
 *                    version 2 (176 bytes): int32 size[2], interpolation, float scale,
 *                    offset, int32 frozen
 *   train recipe     int32 optimizer, float learning_rate, momentum, int32 nesterov,
 *                    float beta_1, beta_2, epsilon, rho, initial_accumulator, int32
 *                    batch_size, epochs, es_monitor, es_patience, float es_min_delta, int32
 *                    restore_best, rlr_monitor, float rlr_factor, int32 rlr_patience,
 *                    rlr_cooldown, float rlr_min_lr, rlr_min_delta (84 bytes);
 *                    version 2 only, then: float weight_decay, label_smoothing, int32
 *                    use_ema, float ema_momentum, int32 lr_schedule, warmup_steps, float
 *                    warmup_target, int32 decay_steps, float cosine_alpha, int32
 *                    augment_translate, augment_flip, float augment_erase, int32
 *                    tta_flip (52 bytes)
 *   metadata         uint32 length L, then L bytes of UTF-8 text (no NUL)
 *   parameters       uint64 count N, then N float32: nn_net_params() in its order
 * Optimizer state is not stored: a model file is for prediction and comparison, not for
 * resuming training. A recipe whose version-2 fields are all off (nn_train_desc_init's) and
 * whose optimizer is one of version 1's is written as version 1, byte for byte what earlier
 * programs wrote; version 1 files load with those fields off. */
#ifndef MODEL_H
#define MODEL_H

#include "fg_util.h"
#include "nn.h"

#define MODEL_FORMAT_VERSION 2 /* 2: layers gained size[2], interpolation, scale, offset,
                                * frozen (176 bytes), the recipe its version-2 fields;
                                * version 1 files still load, and are still written for a
                                * network and recipe that use none of them */

/* Writes net (its description and all nn_net_n_params parameters), the training recipe
 * train and the metadata text meta (any UTF-8 the caller chooses, e.g. grid name,
 * configuration, seeds, test accuracy; NULL means empty) to path. The file is written to
 * "PATH.tmp", fsync'ed and renamed over path, so path holds either the old or the complete
 * new file. Nothing is borrowed beyond the call. Returns 0, or -1 with err naming path. */
int model_save(const char *path, const nn_net *net, const nn_train_desc *train,
               const char *meta, fg_err *err);

/* Sanity limits of what a model file may ask for (checked before anything is allocated):
 * the file itself, its decompressed payload, and the activations of the network built for
 * prediction. A network whose activations for max_batch images would exceed
 * MODEL_ACT_MAX_BYTES is built for fewer images per batch (the same predictions, evaluated
 * in smaller batches); one whose single image needs more is refused. */
#define MODEL_FILE_MAX_BYTES (2ull << 30)
#define MODEL_PAYLOAD_MAX_BYTES (4ull << 30)
#define MODEL_ACT_MAX_BYTES (256ull << 20)

/* A model file read and checked (magic, version, checksums, sizes against the file's own
 * size, the description through nn_desc_check, the parameter count), before any network
 * is built: building allocates activations for whole batches, which may need far more
 * memory than the file holds, so a caller checks the input shape first. */
typedef struct {
    nn_net_desc *desc;    /* malloc'ed */
    nn_train_desc train;
    char *meta;           /* malloc'ed, NUL-terminated, never NULL after model_read */
    float *params;        /* malloc'ed, n_params values */
    int64_t n_params;
    char path[4096];
} model_file;

/* Reads path into m (free with model_file_free). Returns 0, or -1 with err (one line,
 * starting with path): "truncated: ...", "damaged: ...", "not a regular file ...". */
int model_read(const char *path, model_file *m, fg_err *err);
/* Builds m's network with its parameters for batches of up to max_batch images (fewer when
 * the activations would exceed MODEL_ACT_MAX_BYTES; *batch_out, may be NULL, receives the
 * batch size used). Returns NULL with err. */
nn_net *model_build(const model_file *m, int max_batch, int *batch_out, fg_err *err);
void model_file_free(model_file *m); /* zeroed: a second call is a no-op */

/* model_read then model_build: reads and checks the model file at path (magic, format
 * version, checksums, sizes, the description through nn_desc_check, the parameter count)
 * and builds the network for batches of up to max_batch images with the stored parameters
 * (and nn_net_set_eval of the recipe, so that nn_evaluate scores as the search did: label
 * smoothing, test-time flip). The caller frees the
 * result with nn_net_free. When train_out is not NULL it receives the training recipe;
 * when meta_out is not NULL it receives the metadata as a malloc'ed NUL-terminated string
 * that the caller frees (never NULL on success). Returns NULL with err (one line, starting
 * with path) on any failure; *meta_out is then NULL. */
nn_net *model_load(const char *path, int max_batch, nn_train_desc *train_out, char **meta_out,
                   fg_err *err);

#endif
