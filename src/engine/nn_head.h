/* nn_head.h - a network split at its frozen base: the leading frozen, deterministic layers
 * (their outputs depend on the image alone) and the head after them, which is all that
 * training changes. A caller runs the base once per image into a float buffer
 * (nn_base_forward) and trains the head on those features (nn_data.features); the scores
 * are those of the whole network, bit for bit, as each image's forward is independent of
 * the others in its batch. No MPI, no files: who computes which images is the caller's. */
#ifndef NN_HEAD_H
#define NN_HEAD_H

#include <stdint.h>

#include "nn.h"

/* The number of leading layers of d that form a frozen base, or 0 when there is none: a
 * chain of layers each frozen or without parameters (no dropout), ending with a frozen layer
 * with parameters or after the parameterless layers that follow it and do not enlarge its
 * output; no later layer reads a base layer but the last; at least one layer is left. d must
 * pass nn_desc_check. */
int nn_desc_base_len(const nn_net_desc *d);

/* The head of d after n_base layers: its input is the base's output shape, its layers
 * d's from n_base on (inputs renumbered). Returns 0, or -1 with err. */
int nn_desc_head(const nn_net_desc *d, int n_base, nn_net_desc *head, fg_err *err);

/* The head of the whole network full after n_base layers, as a network for batches of up
 * to max_batch, holding full's values of those layers (so initialised as nn_net_new
 * initialises the whole network, weights files applied). NULL with err. */
nn_net *nn_head_from(nn_net *full, int n_base, int max_batch, fg_err *err);

/* Copies the head's parameters (per layer, by name) into the whole network full. */
int nn_head_copy_to(nn_net *head, nn_net *full, fg_err *err);

/* Runs the first n_base layers of full (inference mode) on images idx[0..n) of data and
 * writes image k's base output to out + k * (its size), in batches of full's max_batch.
 * Returns 0 or -1 with err. */
int nn_base_forward(nn_net *full, int n_base, const nn_data *data, const int32_t *idx, int n,
                    float *out, fg_err *err);

/* Values one image's base output holds (h * w * c of layer n_base - 1). */
int64_t nn_base_out_size(const nn_net_desc *d, int n_base);

#endif
