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

/* One stratified holdout, as scikit-learn's train_test_split(test_size=p, stratify=y):
 * ceil(p n) samples validate (fold_of 0), the rest train (fold_of 1). Each class gets
 * floor(n_c ceil(p n) / n) validation samples, the ones left over going to the classes with
 * the largest remainders (ties: the lower class), as scikit-learn's _approximate_mode; which
 * samples of a class validate is drawn from seed. -1 with err if p is not in (0, 1) or one
 * side would be empty. */
int cv_stratified_holdout(const uint8_t *labels, const int32_t *idx, int n, int n_classes,
                          double p, uint64_t seed, int *fold_of, fg_err *err);

/* The training samples of a fold: n - n/k for k folds, n - ceil(p n) for a holdout p. */
int cv_n_train(int n, int folds, double p);

/* Splits idx by fold: train gets the samples not in `fold`, val those in it, both in the
 * order of idx. train and val are caller-owned with room for n entries. */
void cv_split(const int32_t *idx, const int *fold_of, int n, int fold, int32_t *train,
              int *n_train, int32_t *val, int *n_val);

/* Stable checksum of a fold assignment (the sample indices and their folds). */
uint64_t cv_folds_checksum(const int32_t *idx, const int *fold_of, int n);

#endif
