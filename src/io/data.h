/* data.h - IDX data sets (Fashion-MNIST, MNIST, KMNIST, EMNIST ...: gzip-compressed or not,
 * read through zlib): the image shape from the header, the class count from the labels,
 * class names, stratified subsets and checksums. Pixels stay uint8; the engine scales them
 * by 1/255 per batch. */
#ifndef DATA_H
#define DATA_H

#include <stdint.h>

#include "fg_util.h"

#define DATA_DEFAULT_DIR "/usr/share/datasets/fashion-mnist"
/* Labels are bytes: at most 256 classes (the engine's limit too). */
#define DATA_MAX_CLASSES 256
#define DATA_FMNIST_CLASSES 10 /* Fashion-MNIST's class count, whose names are the default */
/* The largest image (or label) payload one IDX file may announce: 4 GiB, 90 times the
 * 47 MB of Fashion-MNIST's training images. A header announcing more is refused before
 * anything is allocated or decompressed. */
#define DATA_MAX_BYTES (1ull << 32)

typedef struct {
    uint8_t *images;          /* n x h x w x c (NHWC), owned; freed by data_free */
    uint8_t *labels;          /* n, values 0..classes-1, owned */
    int n, h, w, c;           /* images and their shape, from the IDX header */
    int classes;              /* the largest label + 1, or what data_set_classes set */
    uint32_t images_crc32;    /* CRC-32 of the decompressed image file bytes (header too) */
    uint32_t labels_crc32;    /* CRC-32 of the decompressed label file bytes */
    char images_path[4096];   /* the files actually read */
    char labels_path[4096];
} data_set;

typedef enum { DATA_TRAIN = 0, DATA_TEST = 1 } data_split;

/* Reads an image file (magic 2051: n x h x w, one channel; or 2052: n x h x w x c) and a
 * label file (magic 2049); out->classes is the largest label + 1, or classes when > 0
 * (data_set_classes: a label >= classes is an error). Each must be a regular file (a FIFO
 * or a device is refused without blocking). Both headers are read first and every size
 * they announce is checked before anything is allocated: against the limits
 * (1..100000000 items, sides 1..4096, channels 1..4, DATA_MAX_BYTES), against each other
 * (the counts must match) and against the file's own size (a plain file must hold exactly
 * the announced bytes; a gzip file of S bytes cannot decompress to more than 1032 S).
 * Decompression stops at the announced size plus at most 64 KiB (to count trailing
 * garbage), so a gzip bomb is never expanded. Then truncation and gzip errors. On error
 * returns -1 and err names the file and what is wrong ("truncated: expected 30 images of
 * 28x28, file has 20 ..."); out is left empty. */
int data_load_idx(const char *images_path, const char *labels_path, int classes, data_set *out,
                  fg_err *err);

/* Finds {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz] in dir and loads them (the
 * labels' class count). */
int data_load_dir(const char *dir, data_split split, data_set *out, fg_err *err);

void data_free(data_set *d); /* NULL or empty is a no-op; leaves d zeroed */

/* Sets d's class count to classes (a grid's data.classes, or the training set's count for
 * its test set); 0 keeps the labels' count. A label >= classes is refused: -1 and err
 * names the file and the label's index. */
int data_set_classes(data_set *d, int classes, fg_err *err);

/* zlib's CRC-32 of the n bytes at p, continuing crc (0 to start), in calls of at most
 * 1 GiB so any size works. */
uint32_t data_crc32(uint32_t crc, const unsigned char *p, size_t n);

/* "28x28" (one channel) or "32x32x3": an image shape as messages and the dry run print it,
 * into buf; returns buf. */
const char *data_shape_text(int h, int w, int c, char *buf, size_t size);

/* The name of class c of a data set of `classes` classes: names[c] when names is not NULL
 * (a grid's data.class_names, `classes` entries), else Fashion-MNIST's name when classes is
 * DATA_FMNIST_CLASSES, else the class number written into buf (at least 12 bytes). */
const char *data_class_name(const char *const *names, int classes, int c, char *buf, size_t size);

/* Stratified subset: chooses k of the n labels (each below classes) so that each class
 * keeps its proportion (largest remainder), the choice within a class shuffled from seed. Writes k indices in
 * ascending order to out (caller-owned, k entries). Returns 0, or -1 if k < 1, k > n, a
 * label is not below classes or memory runs out. */
int data_stratified_subset(const uint8_t *labels, int n, int classes, int k, uint64_t seed,
                           int32_t *out, fg_err *err);

/* How many images of each class a stratified subset of k of n images holds (the quotas
 * data_stratified_subset takes), from the class counts cnt[0..classes) of the n images;
 * 1 <= k <= n, classes <= DATA_MAX_CLASSES. */
void data_subset_quota(const int64_t *cnt, int classes, int n, int k, int *quota);

#endif
