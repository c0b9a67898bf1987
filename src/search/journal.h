/* journal.h - the durable record of a search: one JSON line per finished task, appended
 * and fsync'ed before the task counts as done, each line carrying a CRC-32 so that a torn
 * last line from a crash is detected and skipped, and the search's identity so that a line
 * copied from another search is refused; session records say which run (command, hosts,
 * ranks, program) wrote the records that follow them. Reports are always recomputed from
 * it, from the records that pass every check (see jnl_load). */
#ifndef JOURNAL_H
#define JOURNAL_H

#include <stdint.h>

#include "fg_util.h"
#include "nn.h"

#define JNL_REFIT (-1) /* fold value of the refit record */
#define JNL_HOST_MAX 64
#define JNL_MSG_MAX 1024
/* The largest class count whose refit confusion matrix is journaled (EMNIST byclass has 62);
 * a refit on more classes journals none. The matrix travels in jnl_record (fixed size, sent
 * as bytes), and a read entry holds it only when it has one (a refit), so records kept per
 * task stay small. */
#define JNL_MAX_CLASSES 64
#define JNL_VERSION 2  /* 2: records carry the search's identity; session records */
/* A line longer than this is never one the program wrote (the longest record, 1000 epochs
 * of history and a 1 kB message, is about 160 kB): it is skipped as damaged without being
 * held in memory. Journals are read line by line, so their size is not limited. */
#define JNL_LINE_MAX (1 << 18)
/* Sanity limits of a record's numbers (counts beyond them are damage, not data). */
#define JNL_MAX_IMAGES 100000000 /* images in a training set or a fold (the IDX reader's) */
#define JNL_MAX_RANK (1 << 24)
#define JNL_MAX_SECONDS 3.2e7    /* a year: a longer fit or score time is damage */
#define JNL_MAX_PARAMS 1e12      /* trainable parameters of one network */
#define JNL_MAX_ITER 64          /* halving iterations (HALV_MAX_ITER) */
#define JNL_MAX_RESOURCES 1e12   /* a halving record's n_resources (epochs or images) */

/* What a journal is about; written as its first line, checked on resume. */
typedef struct {
    int version;             /* "fmnist_grid_journal": 1 (records without identity) or 2 */
    uint64_t search_id;      /* computed from the fields below (jnl_search_id), not stored */
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
    /* The data's image shape and class count (data.shape and data.classes, else the IDX
     * header's and the labels'): written only when they differ from Fashion-MNIST's 28x28x1
     * and 10 (JNL_DEFAULT_*), so those journals keep their bytes; 0 when not recorded. */
    int in_h, in_w, in_c, classes;
} jnl_header;
#define JNL_DEFAULT_H 28
#define JNL_DEFAULT_W 28
#define JNL_DEFAULT_C 1
#define JNL_DEFAULT_CLASSES 10

/* One finished task, without its history. */
typedef struct {
    int32_t task;            /* first field: the scheduler reads it from the raw bytes */
    int32_t config, fold;    /* fold = JNL_REFIT for the refit on all training images */
    int32_t status;          /* nn_status */
    int32_t rank;
    int32_t epochs_run, best_epoch;
    int32_t n_train, n_val;
    uint64_t config_hash;
    /* The configuration's network as the task built it, for the report's cost (parameters
     * x epochs): trainable parameters (-1 unknown: not built, or a journal older than these
     * fields) and configured (maximum) epochs (0 unknown). */
    int64_t n_params;
    int32_t max_epochs;
    /* Successive halving (issue 15): the iteration (0-based) and the resource the task
     * trained with (epochs, or training images: the search's `search.resource`). Written,
     * and n_resources > 0, only in a halving search's records (its refit carries the last
     * iteration's); 0 and 0 otherwise, so other journals keep their bytes. The record's task
     * field stays config x folds + fold within its iteration. */
    int32_t iter;
    int64_t n_resources;
    double fit_time, score_time;
    float val_acc, val_loss;   /* NaN when the task failed */
    float test_acc, test_loss; /* refit only, NaN otherwise */
    char host[JNL_HOST_MAX];
    char msg[JNL_MSG_MAX];
    /* Refit only: the test set's confusion counts, classes x classes, [true class * classes +
     * predicted]; classes 0 and confusion NULL when not recorded (failed refits, journals
     * older than this field, records of CV tasks). Written from jnl_record.confusion; in
     * entries read back (jnl_load, jnl_read) it points into the entries' own block and is
     * freed with it. */
    int32_t classes;
    const int32_t *confusion;
    /* Reading only: index of the session record this record follows (in the sessions array
     * the reader returns), -1 when none (journals older than session records). */
    int32_t session;
} jnl_entry;

/* A task's full result as it travels from a worker and is appended: fixed size, no
 * pointers (e.confusion is NULL here), so it can be sent as bytes. */
typedef struct {
    jnl_entry e;                  /* e.confusion is not used: the counts are below */
    nn_epoch hist[NN_MAX_EPOCHS]; /* e.epochs_run entries */
    int32_t confusion[JNL_MAX_CLASSES * JNL_MAX_CLASSES]; /* e.classes^2 counts, refit only */
} jnl_record;

/* One run of the program that wrote into a journal (a search, a resume, a shard, or
 * `report DIR` refitting): appended when the run starts and again, with its wall time,
 * when it ends, so that a report regenerated later keeps the environment the results came
 * from. Strings are empty and numbers -1/NaN when unknown. */
#define JNL_SESSION_TEXT 512
typedef struct {
    int number;                  /* 1, 2, ... in its journal file */
    int ended;                   /* 0: the start record only (running, or killed) */
    int interrupted;             /* ended by a signal before every task was done */
    char role[32];               /* "search", "shard 2/8", "report" */
    char started_utc[24];        /* 2026-11-30T02:46:00Z */
    char host[JNL_HOST_MAX];     /* rank 0's host */
    char hosts[JNL_SESSION_TEXT]; /* every host and how many ranks it ran: "nodeA:2,nodeB:2" */
    int ranks, workers, threads; /* workers: ranks that trained, -1 until the end */
    double wall_time;            /* seconds, NaN until the end */
    char version[64], git_rev[64], compiler[128], mpi[256], blas[256];
    char command[2048];
    char data_dir[1024];
    uint32_t test_images_crc32, test_labels_crc32; /* 0 when the test set was not loaded */
    int n_train_total, n_test;
    char file[256];              /* reading only: the journal's file name (no directory) */
} jnl_session;

typedef struct jnl jnl;

/* Creates path (must not exist) and writes the header line durably. */
int jnl_create(const char *path, const jnl_header *h, jnl **out, fg_err *err);
/* Opens an existing journal for appending (resume). A torn last line is cut off first. */
int jnl_open_append(const char *path, jnl **out, fg_err *err);
/* Appends one record (params: the configuration's "name=value, ..." text, may be NULL) and
 * fsyncs before returning 0. */
int jnl_append(jnl *j, const jnl_record *r, const char *params, fg_err *err);
void jnl_close(jnl *j); /* NULL is a no-op */

/* Appends a session record (see jnl_session) and fsyncs. */
int jnl_append_session(jnl *j, const jnl_session *s, fg_err *err);

/* The identity of a search: a hash of the header's fields. Version 2 records carry it, so a
 * line copied from another search's journal is refused even when its CRC is intact. */
uint64_t jnl_search_id(const jnl_header *h);

/* ---- reading: every record is checked before it counts ----------------------------------
 * A record is used only when its line is intact (CRC-32, newline) and it belongs to the
 * journal's search: its configuration and fold lie within the header's counts, its task
 * id is config x folds + fold (-1 for the refit), it carries the search's identity
 * (version 2 journals), every number is in range (accuracies in [0, 1], losses finite and
 * >= 0 or null, times in [0, JNL_MAX_SECONDS], epochs and best epoch within NN_MAX_EPOCHS
 * and the history's length, image counts within the header's subset, ranks and confusion
 * counts sane), and the caller's check passes (e.g. the configuration's hash in the grid,
 * its configured epochs). Anything else is skipped and reported, never used: a skipped
 * record does not count as done, so a resume trains its task again. */
typedef struct {
    /* Checks what the header alone cannot (NULL: none): returns 0, or non-zero with why. */
    int (*check)(void *ctx, const jnl_entry *e, char *why, size_t n);
    void *ctx;
} jnl_expect;

#define JNL_MAX_ISSUES 8
typedef struct {
    long line;              /* 1-based line number */
    char why[200];
} jnl_issue;

typedef struct {
    jnl_header h;
    jnl_entry *e;           /* the records that passed, in file order (malloc'ed) */
    int n;
    jnl_session *s;         /* the session records, in file order (one per session: the
                             * last record of each number wins) (malloc'ed) */
    int n_sessions;
    int n_torn;             /* lines cut short, too long or failing their CRC */
    int n_rejected;         /* intact lines that are not records of this search */
    int n_issues;           /* the first JNL_MAX_ISSUES of both, with their line numbers */
    jnl_issue issues[JNL_MAX_ISSUES];
} jnl_contents;

/* Reads the journal at path (a regular file; see fg_open_regular) line by line, each line
 * at most JNL_LINE_MAX bytes. x may be NULL. Returns 0, or -1 when the file cannot be read
 * or has no valid header. Free with jnl_contents_free. */
int jnl_load(const char *path, const jnl_expect *x, jnl_contents *out, fg_err *err);
void jnl_contents_free(jnl_contents *c);

/* jnl_load without a caller's check: the header and the records into *entries (malloc'ed,
 * caller frees); *n_bad counts the lines skipped (torn, damaged or rejected). */
int jnl_read(const char *path, jnl_header *h, jnl_entry **entries, int *n, int *n_bad,
             fg_err *err);

/* The journals of results directory dir: every DIR/journal*.jsonl (journal.jsonl, the
 * shards' journal.shard-I-of-N.jsonl), journal.jsonl first, then the others by name; at
 * most JNL_MAX_FILES (the rest ignored). *paths gets n malloc'ed "DIR/NAME" strings (free
 * with jnl_paths_free). Returns 0, or -1 with err ("DIR: cannot open: REASON", out of
 * memory). */
#define JNL_MAX_FILES 4096
int jnl_dir_journals(const char *dir, char ***paths, int *n, fg_err *err);
void jnl_paths_free(char **paths, int n); /* NULL is a no-op */

/* Reads only the header of the journal at path (a regular file). Returns 0 or -1. */
int jnl_read_header(const char *path, jnl_header *h, fg_err *err);

/* Sorts sessions by start time (oldest first, then in the given order) and renumbers the
 * entries' session indices to match. */
void jnl_sort_sessions(jnl_session *s, int n_sessions, jnl_entry *e, int n);

/* Reads the history of the last accepted record for (config, fold) into hist (room for max
 * epochs). Returns the number of epochs, or -1 when there is no such record. */
int jnl_read_history(const char *path, int config, int fold, nn_epoch *hist, int max,
                     fg_err *err);

/* Calls fn once for every accepted record of path (checked as jnl_load does, with x, which
 * may be NULL), in file order, with the record (its history in r->hist, r->e.epochs_run
 * entries). fn returns 0 to go on, non-zero to stop. Returns 0, or -1 when the file cannot
 * be read. */
typedef int (*jnl_record_fn)(void *ctx, const jnl_record *r);
int jnl_each_record(const char *path, jnl_record_fn fn, void *ctx, fg_err *err);
int jnl_each_record_ex(const char *path, const jnl_expect *x, jnl_record_fn fn, void *ctx,
                       fg_err *err);

#endif
