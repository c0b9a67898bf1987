/* cv.c - stratified k-fold assignment (scikit-learn StratifiedKFold's fold sizes). */
#include "cv.h"

#include <math.h>
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

int cv_n_train(int n, int folds, double p)
{
    if (p > 0.0 && p < 1.0)
        return n - (int)ceil(p * n);
    return folds > 0 ? n - n / folds : n;
}

/* Validation samples per class (scikit-learn's _approximate_mode): floors, then one more
 * for each of the classes with the largest remainders, lower class first on ties. */
static void holdout_counts(const int *count, int n_classes, int n, int n_val, int *take)
{
    int left = n_val;
    char given[256] = {0};
    for (int c = 0; c < n_classes; c++) {
        take[c] = (int)((int64_t)count[c] * n_val / n);
        left -= take[c];
    }
    for (; left > 0; left--) {
        int best = -1;
        int64_t best_rem = 0;
        for (int c = 0; c < n_classes; c++) {
            int64_t rem = (int64_t)count[c] * n_val % n;
            if (!given[c] && rem > best_rem)
                best = c, best_rem = rem;
        }
        if (best < 0)
            break;
        given[best] = 1;
        take[best]++;
    }
}

int cv_stratified_holdout(const uint8_t *labels, const int32_t *idx, int n, int n_classes,
                          double p, uint64_t seed, int *fold_of, fg_err *err)
{
    if (!(p > 0.0 && p < 1.0))
        return fg_err_set(err, "holdout: validation_split %g is not in (0, 1)", p);
    if (n_classes < 1 || n_classes > 256)
        return fg_err_set(err, "holdout: %d classes", n_classes);
    int n_val = (int)ceil(p * n);
    if (n_val < 1 || n_val >= n)
        return fg_err_set(err, "holdout: %d of %d samples would validate, leaving no training or no "
                          "validation samples", n_val, n);
    int count[256] = {0}, take[256];
    for (int i = 0; i < n; i++) {
        if (idx[i] < 0 || labels[idx[i]] >= n_classes)
            return fg_err_set(err, "holdout: sample %d has no valid label", i);
        count[labels[idx[i]]]++;
    }
    holdout_counts(count, n_classes, n, n_val, take);
    int32_t *pos = malloc((size_t)n * sizeof *pos);
    if (!pos)
        return fg_err_set(err, "holdout: out of memory for %d samples", n);
    fg_rng rng;
    fg_rng_seed(&rng, seed);
    for (int c = 0; c < n_classes; c++) {
        int m = 0;
        for (int i = 0; i < n; i++)
            if (labels[idx[i]] == c)
                pos[m++] = i;
        fg_rng_shuffle_i32(&rng, pos, (size_t)m);
        for (int j = 0; j < m; j++)
            fold_of[pos[j]] = j < take[c] ? 0 : 1;
    }
    free(pos);
    return 0;
}
