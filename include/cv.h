/* cv.h - stratified k-fold cross-validation (as scikit-learn's StratifiedKFold: every fold
 * holds each class in the same proportion, the assignment shuffled from a seed). */
#ifndef CV_H
#define CV_H

#include <stdint.h>

#include "fg_util.h"

/* Assigns each of the n samples idx[i] (labels[idx[i]] in 0..n_classes-1) to a fold in
 * 0..k-1, written to fold_of[i] (caller-owned, n entries). Fold sizes differ by at most
 * one, and per class by at most one. Samples of a class are dealt round-robin to the folds
 * (in index order without shuffle), continuing from where the previous class stopped. A
 * class with fewer than k samples is allowed (some folds then lack it). Returns -1 with
 * err if k < 2, k > n or a label is out of range. */
int cv_stratified_folds(const uint8_t *labels, const int32_t *idx, int n, int n_classes, int k,
                        int shuffle, uint64_t seed, int *fold_of, fg_err *err);

/* Splits idx by fold: train gets the samples not in `fold`, val those in it, both in the
 * order of idx. train and val are caller-owned with room for n entries. */
void cv_split(const int32_t *idx, const int *fold_of, int n, int fold, int32_t *train,
              int *n_train, int32_t *val, int *n_val);

/* Stable checksum of a fold assignment (the sample indices and their folds). */
uint64_t cv_folds_checksum(const int32_t *idx, const int *fold_of, int n);

#endif
