/* cv.c - stratified k-fold assignment (scikit-learn StratifiedKFold's fold sizes). */
#include "cv.h"

#include <stdlib.h>

/* For each class c = 0..n_classes-1, the positions i with labels[idx[i]] == c, in order
 * (shuffled if asked, by one rng shared across classes), are dealt round-robin to the folds,
 * starting where the previous class stopped. Dealing the class-sorted sequence this way
 * gives every fold n/k samples give or take one, and every class n_c/k give or take one:
 * the same per-fold class counts as scikit-learn. A present class with fewer than k members
 * is allowed (scikit-learn only warns): some folds then lack it. */
int cv_stratified_folds(const uint8_t *labels, const int32_t *idx, int n, int n_classes, int k,
                        int shuffle, uint64_t seed, int *fold_of, fg_err *err)
{
    if (k < 2)
        return fg_err_set(err, "cross-validation: %d folds, need at least 2", k);
    if (k > n)
        return fg_err_set(err, "cross-validation: %d folds but only %d samples", k, n);
    if (n_classes < 1)
        return fg_err_set(err, "cross-validation: %d classes", n_classes);
    for (int i = 0; i < n; i++) {
        if (idx[i] < 0)
            return fg_err_set(err, "cross-validation: sample %d has negative index %d", i,
                              (int)idx[i]);
        if (labels[idx[i]] >= n_classes)
            return fg_err_set(err, "cross-validation: label %u of sample %d (index %d) is "
                              "outside 0..%d", labels[idx[i]], i, (int)idx[i], n_classes - 1);
    }
    int32_t *pos = malloc((size_t)n * sizeof *pos);
    if (!pos)
        return fg_err_set(err, "cross-validation: out of memory for %d samples", n);
    fg_rng rng;
    fg_rng_seed(&rng, seed);
    int offset = 0;
    for (int c = 0; c < n_classes; c++) {
        int m = 0;
        for (int i = 0; i < n; i++)
            if (labels[idx[i]] == c)
                pos[m++] = i;
        if (shuffle)
            fg_rng_shuffle_i32(&rng, pos, (size_t)m);
        for (int j = 0; j < m; j++)
            fold_of[pos[j]] = (offset + j) % k;
        offset = (offset + m) % k;
    }
    free(pos);
    return 0;
}

void cv_split(const int32_t *idx, const int *fold_of, int n, int fold, int32_t *train,
              int *n_train, int32_t *val, int *n_val)
{
    int nt = 0, nv = 0;
    for (int i = 0; i < n; i++) {
        if (fold_of[i] == fold)
            val[nv++] = idx[i];
        else
            train[nt++] = idx[i];
    }
    *n_train = nt;
    *n_val = nv;
}

/* Chains fg_hash_bytes over each (idx, fold) pair encoded as two little-endian 32-bit
 * integers, so the value is the same on every platform. */
uint64_t cv_folds_checksum(const int32_t *idx, const int *fold_of, int n)
{
    uint64_t h = fg_hash_mix(0x6376666f6c647300ULL, (uint64_t)n); /* "cvfolds" */
    for (int i = 0; i < n; i++) {
        uint32_t v[2] = {(uint32_t)idx[i], (uint32_t)fold_of[i]};
        unsigned char b[8];
        for (int j = 0; j < 8; j++)
            b[j] = (unsigned char)(v[j / 4] >> (8 * (j % 4)));
        h = fg_hash_bytes(b, sizeof b, h);
    }
    return h;
}
