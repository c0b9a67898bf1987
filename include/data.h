/* data.h - Fashion-MNIST IDX files (gzip-compressed or not, read through zlib), stratified
 * subsets and checksums. Pixels stay uint8; the engine scales them by 1/255 per batch. */
#ifndef DATA_H
#define DATA_H

#include <stdint.h>

#include "fg_util.h"

#define DATA_DEFAULT_DIR "/usr/share/datasets/fashion-mnist"
#define DATA_N_CLASSES 10

typedef struct {
    uint8_t *images;          /* n x h x w, owned; freed by data_free */
    uint8_t *labels;          /* n, values 0..9, owned */
    int n, h, w;
    uint32_t images_crc32;    /* CRC-32 of the decompressed image file bytes (header too) */
    uint32_t labels_crc32;    /* CRC-32 of the decompressed label file bytes */
    char images_path[4096];   /* the files actually read */
    char labels_path[4096];
} data_set;

typedef enum { DATA_TRAIN = 0, DATA_TEST = 1 } data_split;

/* Reads an image file (magic 2051) and a label file (magic 2049). Checks magic numbers,
 * dimensions, that the counts match, labels in 0..9, truncation and gzip errors. On error
 * returns -1 and err names the file and what is wrong; out is left empty. */
int data_load_idx(const char *images_path, const char *labels_path, data_set *out, fg_err *err);

/* Finds {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz] in dir and loads them. */
int data_load_dir(const char *dir, data_split split, data_set *out, fg_err *err);

void data_free(data_set *d); /* NULL or empty is a no-op; leaves d zeroed */

/* Stratified subset: chooses k of the n labels so that each class keeps its proportion
 * (largest remainder), the choice within a class shuffled from seed. Writes k indices in
 * ascending order to out (caller-owned, k entries). Returns 0, or -1 if k < 1, k > n, a
 * label is above 9 or memory runs out. */
int data_stratified_subset(const uint8_t *labels, int n, int k, uint64_t seed, int32_t *out,
                           fg_err *err);

#endif
