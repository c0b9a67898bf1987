/* test_cv.c - stratified k-fold: proportions per fold, disjoint covering folds, balanced
 * sizes, seeded determinism, unshuffled order, cv_split and the checksum. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cv.h"

#define NL 512 /* labels array */
#define N 203  /* samples: idx[] picks a reversed subset, so labels[idx[i]] is exercised */
#define NC 10

static uint8_t labels[NL];
static int32_t idx[N];

/* Checks a fold assignment against the definition of stratified k-fold. */
static void check_folds(const int *fold_of, int k)
{
    int size[16] = {0}, cls[NC][16], nc[NC] = {0};
    memset(cls, 0, sizeof cls);
    for (int i = 0; i < N; i++) {
        CHECK_MSG(fold_of[i] >= 0 && fold_of[i] < k, "sample %d fold %d", i, fold_of[i]);
        if (fold_of[i] < 0 || fold_of[i] >= k)
            return;
        size[fold_of[i]]++;
        cls[labels[idx[i]]][fold_of[i]]++;
        nc[labels[idx[i]]]++;
    }
    int mn = N, mx = 0;
    for (int f = 0; f < k; f++) {
        mn = size[f] < mn ? size[f] : mn;
        mx = size[f] > mx ? size[f] : mx;
    }
    CHECK_MSG(mx - mn <= 1, "k=%d fold sizes %d..%d", k, mn, mx);
    for (int c = 0; c < NC; c++)
        for (int f = 0; f < k; f++) {
            double share = (double)nc[c] / k;
            CHECK_MSG(cls[c][f] > share - 1 && cls[c][f] < share + 1,
                      "k=%d class %d fold %d: %d vs %.2f", k, c, f, cls[c][f], share);
        }

    /* cv_split: val is the fold, train the rest, both in idx order; the vals cover idx
     * exactly once. */
    int32_t tr[N], va[N];
    int seen[NL] = {0};
    for (int f = 0; f < k; f++) {
        int nt = -1, nv = -1, it = 0, iv = 0, bad = 0;
        cv_split(idx, fold_of, N, f, tr, &nt, va, &nv);
        CHECK_INT(nt + nv, N);
        CHECK_INT(nv, size[f]);
        for (int i = 0; i < N; i++) {
            if (fold_of[i] == f)
                bad += iv >= nv || va[iv++] != idx[i];
            else
                bad += it >= nt || tr[it++] != idx[i];
        }
        CHECK_INT(bad, 0);
        for (int j = 0; j < nv; j++)
            seen[va[j]]++;
    }
    int bad = 0;
    for (int i = 0; i < N; i++)
        bad += seen[idx[i]] != 1;
    CHECK_INT(bad, 0);
}

/* validation_split: ceil(p n) validate; per class as scikit-learn's _approximate_mode
 * (classes of 7, 3 and 2 samples, p 0.25: 3 validate; 7 * 3 / 12 = 1.75, 0.75, 0.5 -> floors
 * 1, 0, 0 and the 2 left to the largest remainders, 0.75 twice: classes 0 and 1); seeded. */
static void check_holdout(void)
{
    uint8_t lab[12] = {0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 2};
    int32_t ix[12];
    int f[12], g[12], per[3][2] = {{0}};
    fg_err err;
    for (int i = 0; i < 12; i++)
        ix[i] = 11 - i;
    CHECK_INT(cv_stratified_holdout(lab, ix, 12, 3, 0.25, 9, f, &err), 0);
    for (int i = 0; i < 12; i++) {
        CHECK(f[i] == 0 || f[i] == 1);
        per[lab[ix[i]]][f[i]]++;
    }
    CHECK_INT(per[0][0], 2);
    CHECK_INT(per[1][0], 1);
    CHECK_INT(per[2][0], 0);
    CHECK_INT(cv_stratified_holdout(lab, ix, 12, 3, 0.25, 9, g, &err), 0);
    CHECK(memcmp(f, g, sizeof f) == 0);
    int differs = 0;
    for (uint64_t s = 10; s < 20 && !differs; s++) {
        CHECK_INT(cv_stratified_holdout(lab, ix, 12, 3, 0.25, s, g, &err), 0);
        differs = memcmp(f, g, sizeof f) != 0;
    }
    CHECK(differs);
    CHECK_INT(cv_n_train(12, 1, 0.25), 9);
    CHECK_INT(cv_n_train(12, 3, 0), 8);
    CHECK_INT(cv_stratified_holdout(lab, ix, 12, 3, 1.0, 9, f, &err), -1);
    CHECK_INT(cv_stratified_holdout(lab, ix, 12, 3, 0.0, 9, f, &err), -1);
    CHECK_INT(cv_stratified_holdout(lab, ix, 12, 3, 0.999, 9, f, &err), -1); /* none train */
}

int main(void)
{
    fg_rng r;
    fg_err err = {{0}};
    int a[N], b[N];

    /* Unbalanced classes: class c drawn with weight 10 - c; class 9 then gets few members,
     * fewer than k for the larger k (allowed). */
    fg_rng_seed(&r, 3);
    for (int i = 0; i < NL; i++) {
        int u = (int)fg_rng_below(&r, 55), c = 0;
        while (u >= 10 - c)
            u -= 10 - c++;
        labels[i] = (uint8_t)c;
    }
    for (int i = 0; i < N; i++)
        idx[i] = 2 * (N - 1 - i); /* descending, even indices < NL */

    const int ks[] = {2, 3, 5, 10, 16};
    for (size_t t = 0; t < sizeof ks / sizeof ks[0]; t++) {
        int k = ks[t];
        for (int sh = 0; sh <= 1; sh++) {
            CHECK_MSG(cv_stratified_folds(labels, idx, N, NC, k, sh, 11, a, &err) == 0, "%s",
                      err.msg);
            check_folds(a, k);
            CHECK_INT(cv_stratified_folds(labels, idx, N, NC, k, sh, 11, b, &err), 0);
            CHECK(memcmp(a, b, sizeof a) == 0);
            /* Another seed: a different shuffle, or the same unshuffled order. */
            CHECK_INT(cv_stratified_folds(labels, idx, N, NC, k, sh, 12, b, &err), 0);
            CHECK(sh ? memcmp(a, b, sizeof a) != 0 : memcmp(a, b, sizeof a) == 0);
        }
        /* Unshuffled: members of a class, in idx order, take consecutive folds mod k. */
        cv_stratified_folds(labels, idx, N, NC, k, 0, 11, a, &err);
        int bad = 0;
        for (int c = 0; c < NC; c++) {
            int prev = -1;
            for (int i = 0; i < N; i++)
                if (labels[idx[i]] == c) {
                    bad += prev >= 0 && a[i] != (prev + 1) % k;
                    prev = a[i];
                }
        }
        CHECK_MSG(bad == 0, "k=%d unshuffled order", k);
    }

    /* By hand: labels 0,0,0,1,1,1 with k=2, unshuffled: class 0 gets folds 0,1,0 and
     * class 1 continues at fold 1: 1,0,1. */
    const uint8_t l6[6] = {0, 0, 0, 1, 1, 1};
    const int32_t i6[6] = {0, 1, 2, 3, 4, 5};
    int f6[6];
    CHECK_INT(cv_stratified_folds(l6, i6, 6, 2, 2, 0, 0, f6, &err), 0);
    const int want6[6] = {0, 1, 0, 1, 0, 1};
    CHECK(memcmp(f6, want6, sizeof f6) == 0);

    /* k = n: one sample per fold. */
    CHECK_INT(cv_stratified_folds(l6, i6, 6, 2, 6, 1, 5, f6, &err), 0);
    int hit[6] = {0};
    for (int i = 0; i < 6; i++)
        hit[f6[i]]++;
    for (int f = 0; f < 6; f++)
        CHECK_INT(hit[f], 1);

    /* Errors. */
    CHECK_INT(cv_stratified_folds(l6, i6, 6, 2, 1, 0, 0, f6, &err), -1);
    CHECK_INT(cv_stratified_folds(l6, i6, 6, 2, 7, 0, 0, f6, &err), -1);
    CHECK_INT(cv_stratified_folds(l6, i6, 6, 1, 2, 0, 0, f6, &err), -1); /* label 1 >= 1 */
    CHECK_STR_CONTAINS(err.msg, "label 1");

    /* Checksum: stable, and sensitive to one fold, one index and the order. */
    cv_stratified_folds(labels, idx, N, NC, 5, 1, 11, a, &err);
    uint64_t h = cv_folds_checksum(idx, a, N);
    CHECK(h == cv_folds_checksum(idx, a, N));
    memcpy(b, a, sizeof a);
    b[17] = (b[17] + 1) % 5;
    CHECK(h != cv_folds_checksum(idx, b, N));
    int32_t idx2[N];
    memcpy(idx2, idx, sizeof idx);
    idx2[5]++;
    CHECK(h != cv_folds_checksum(idx2, a, N));
    CHECK(h != cv_folds_checksum(idx, a, N - 1));
    check_holdout();
    return check_report("test_cv");
}
