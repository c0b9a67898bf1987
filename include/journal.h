/* journal.h - the durable record of a search: one JSON line per finished task, appended
 * and fsync'ed before the task counts as done, each line carrying a CRC-32 so that a torn
 * last line from a crash is detected and skipped. Reports are always recomputed from it. */
#ifndef JOURNAL_H
#define JOURNAL_H

#include <stdint.h>

#include "fg_util.h"
#include "nn.h"

#define JNL_REFIT (-1) /* fold value of the refit record */
#define JNL_HOST_MAX 64
#define JNL_MSG_MAX 1024
#define JNL_CLASSES 10 /* rows and columns of a refit's confusion matrix */

/* What a journal is about; written as its first line, checked on resume. */
typedef struct {
    char grid_name[64];
    uint64_t grid_hash;      /* of the grid file's bytes */
    int64_t n_configs;
    int folds;
    uint64_t seed, cv_seed;
    int subset;
    uint64_t folds_checksum; /* cv_folds_checksum of the assignment */
    uint32_t train_images_crc32, train_labels_crc32;
    /* How the search was run, so that a resume needs no options (0, -1, "" when a journal
     * predates them): BLAS threads per rank (they change results in the last bits), whether
     * the best configuration is refitted, and the data directory it was started with. */
    int threads;
    int refit;
    char data_dir[4096];
    /* The frozen base (base.c): configurations that trained their head on features
     * computed once per node, the bases, and the seconds rank 0's node took (0: none). */
    int base_configs, base_blocks;
    double base_seconds;
} jnl_header;

/* One finished task, without its history. */
typedef struct {
    int32_t task;            /* first field: the scheduler reads it from the raw bytes */
    int32_t config, fold;    /* fold = JNL_REFIT for the refit on all training images */
    int32_t status;          /* nn_status */
    int32_t rank;
    int32_t epochs_run, best_epoch;
    int32_t n_train, n_val;
    uint64_t config_hash;
    double fit_time, score_time;
    float val_acc, val_loss;   /* NaN when the task failed */
    float test_acc, test_loss; /* refit only, NaN otherwise */
    char host[JNL_HOST_MAX];
    char msg[JNL_MSG_MAX];
    /* Refit only: the test set's confusion counts, [true class * JNL_CLASSES + predicted];
     * all zero when not recorded (failed refits, journals older than this field). */
    int32_t confusion[JNL_CLASSES * JNL_CLASSES];
} jnl_entry;

/* A task's full result as it travels from a worker and is appended: fixed size, no
 * pointers, so it can be sent as bytes. */
typedef struct {
    jnl_entry e;
    nn_epoch hist[NN_MAX_EPOCHS]; /* e.epochs_run entries */
} jnl_record;

typedef struct jnl jnl;

/* Creates path (must not exist) and writes the header line durably. */
int jnl_create(const char *path, const jnl_header *h, jnl **out, fg_err *err);
/* Opens an existing journal for appending (resume). A torn last line is cut off first. */
int jnl_open_append(const char *path, jnl **out, fg_err *err);
/* Appends one record (params: the configuration's "name=value, ..." text, may be NULL) and
 * fsyncs before returning 0. */
int jnl_append(jnl *j, const jnl_record *r, const char *params, fg_err *err);
void jnl_close(jnl *j); /* NULL is a no-op */

/* Reads a journal: the header and every intact record (without histories) into *entries
 * (malloc'ed, caller frees). Lines that fail their CRC or are cut short are skipped and
 * counted in *n_bad. Returns 0, or -1 when the file cannot be read or has no valid header. */
int jnl_read(const char *path, jnl_header *h, jnl_entry **entries, int *n, int *n_bad,
             fg_err *err);

/* Reads only the header line of a journal into h. Returns 0, or -1 with err. */
int jnl_read_header(const char *path, jnl_header *h, fg_err *err);

/* Reads the history of the last intact record for (config, fold) into hist (room for max
 * epochs). Returns the number of epochs, or -1 when there is no such record. */
int jnl_read_history(const char *path, int config, int fold, nn_epoch *hist, int max,
                     fg_err *err);

/* Calls fn once for every intact record of path, in file order, with the record (its
 * history in r->hist, r->e.epochs_run entries). fn returns 0 to go on, non-zero to stop.
 * Returns 0, or -1 when the file cannot be read. */
typedef int (*jnl_record_fn)(void *ctx, const jnl_record *r);
int jnl_each_record(const char *path, jnl_record_fn fn, void *ctx, fg_err *err);

#endif
