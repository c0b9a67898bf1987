/* export_folds.c - prints the stratified subset and fold assignment that fmnist-grid uses
 * for a search, so that another tool (tests/bench/sklearn_search.py) can cross-validate on
 * exactly the same images and folds. The derivation is the one of prepare() in src/cli/main.c:
 * subset seed fg_hash_mix(cv_seed, 0x5), fold seed fg_hash_mix(cv_seed, 0xf0).
 *
 *   export_folds DATA_DIR SUBSET FOLDS CV_SEED [SHUFFLE (1)]
 *
 * Output: a first line "folds_checksum=<16 hex digits>" (the value fmnist-grid records in
 * its journal header, so a caller can check both agree), then one line "index fold" per
 * sample, index into the training set. Built by tests/bench/run against the project's
 * fg_data, fg_cv and fg_util libraries. */
#include <stdio.h>
#include <stdlib.h>

#include "cv.h"
#include "data.h"
#include "fg_util.h"

int main(int argc, char **argv)
{
    if (argc < 5 || argc > 6) {
        fprintf(stderr, "usage: export_folds DATA_DIR SUBSET FOLDS CV_SEED [SHUFFLE]\n");
        return 2;
    }
    int subset = atoi(argv[2]), k = atoi(argv[3]);
    uint64_t cv_seed = strtoull(argv[4], NULL, 10);
    int shuffle = argc == 6 ? atoi(argv[5]) : 1;
    fg_err err;
    data_set train;
    if (data_load_dir(argv[1], DATA_TRAIN, &train, &err)) {
        fprintf(stderr, "export_folds: %s\n", err.msg);
        return 1;
    }
    int n = subset > 0 && subset < train.n ? subset : train.n;
    int32_t *idx = malloc((size_t)n * sizeof *idx);
    int *fold_of = malloc((size_t)n * sizeof *fold_of);
    int rc = 1;
    if (!idx || !fold_of) {
        fprintf(stderr, "export_folds: out of memory\n");
        goto done;
    }
    if (n < train.n) {
        if (data_stratified_subset(train.labels, train.n, DATA_FMNIST_CLASSES, n, fg_hash_mix(cv_seed, 0x5u), idx, &err))
            goto fail;
    } else {
        for (int i = 0; i < n; i++)
            idx[i] = i;
    }
    if (cv_stratified_folds(train.labels, idx, n, DATA_FMNIST_CLASSES, k, shuffle,
                            fg_hash_mix(cv_seed, 0xf0u), fold_of, &err))
        goto fail;
    printf("folds_checksum=%016llx\n", (unsigned long long)cv_folds_checksum(idx, fold_of, n));
    for (int i = 0; i < n; i++)
        printf("%d %d\n", idx[i], fold_of[i]);
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "export_folds: %s\n", err.msg);
done:
    free(idx), free(fold_of);
    data_free(&train);
    return rc;
}
