/* data.h - Fashion-MNIST IDX files (gzip-compressed or not, read through zlib), stratified
 * subsets and checksums. Pixels stay uint8; the engine scales them by 1/255 per batch. */
#ifndef DATA_H
#define DATA_H

#include <stdint.h>

#include "fg_util.h"

#define DATA_DEFAULT_DIR "/usr/share/datasets/fashion-mnist"
#define DATA_N_CLASSES 10
/* The largest image (or label) payload one IDX file may announce: 4 GiB, 90 times the
 * 47 MB of Fashion-MNIST's training images. A header announcing more is refused before
 * anything is allocated or decompressed. */
#define DATA_MAX_BYTES (1ull << 32)

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

/* Reads an image file (magic 2051) and a label file (magic 2049). Each must be a regular
 * file (a FIFO or a device is refused without blocking). Both headers are read first and
 * every size they announce is checked before anything is allocated: against the limits
 * (1..100000000 items, sides 1..4096, DATA_MAX_BYTES), against each other (the counts must
 * match) and against the file's own size (a plain file must hold exactly the announced
 * bytes; a gzip file of S bytes cannot decompress to more than 1032 S). Decompression
 * stops at the announced size plus at most 64 KiB (to count trailing garbage), so a gzip
 * bomb is never expanded. Then labels in 0..9, truncation and gzip errors. On error
 * returns -1 and err names the file and what is wrong ("truncated: expected 30 images of
 * 28x28, file has 20 ..."); out is left empty. */
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

/* How many images of each class a stratified subset of k of n images holds (the quotas
 * data_stratified_subset takes), from the class counts cnt of the n images; 1 <= k <= n. */
void data_subset_quota(const int64_t cnt[DATA_N_CLASSES], int n, int k, int quota[DATA_N_CLASSES]);

#endif
