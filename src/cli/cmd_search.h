/* cmd_search.h - private to the search command (cmd_search.c, the flow of a search, and
 * cmd_search_dir.c, its results directory): the state of one run on this rank. The
 * coordinator's policy is search.c's; the end of a search is finish.c's. */
#ifndef CMD_SEARCH_H
#define CMD_SEARCH_H

#include <stddef.h>
#include <stdint.h>

#include "base.h"
#include "cli.h"
#include "fault.h"
#include "fg_sched.h"
#include "grid.h"
#include "journal.h"
#include "prepare.h"
#include "search.h"
#include "task.h"

/* Settings rank 0 decides and every rank needs, broadcast as plain bytes. */
typedef struct {
    int32_t status; /* -1 go on, else every rank exits with it */
    int32_t subset, threads, has_seed;
    uint64_t seed, cv_seed;
    uint64_t folds_checksum;
    uint32_t crc_images, crc_labels;
    char data_dir[4096];
} setup_msg;

/* One run of a search on this rank (rank 0's fields marked). */
typedef struct {
    const cli *c;
    int argc;
    char **argv;
    int rank, size;
    double t_start;
    fault_plan faults;
    setup_msg sm;
    grid *g;
    prep_data pd;
    char *text;           /* the grid text, broadcast to the workers */
    size_t text_len;
    uint64_t *arch_key;   /* rank 0: per configuration, its architecture's key */
    int worker_ok;        /* this rank can train */
    char why[FG_ERR_MAX + 4200]; /* why not */
    task_ctx tctx;
    base_set *bases;      /* the frozen bases, computed once per node (base.c) */
    char hosts[JNL_SESSION_TEXT]; /* rank 0: which hosts ran how many ranks */
    char started[32];     /* UTC */
    search s;             /* rank 0: the coordinator's state */
    jnl_header h;         /* rank 0: this run's journal header */
    char gp[4200];        /* rank 0: DIR/grid.yaml */
    const char *gt;       /* rank 0: the grid text (tl bytes) */
    size_t tl;
    int32_t *order;       /* rank 0: the tasks still to run */
    char *done_task;      /* rank 0: per task, in the journal already */
    int resuming, session_no;
    task_halving halv;    /* rank 0: a halving search's task ids (n_iter 0: exhaustive) */
    search_worker wk;
    sched_stats st;
    int32_t go;           /* -1: every rank runs the search loop; else the exit status */
    int exit_code;
} search_run;

/* Continuing a journal (--resume DIR, or --out DIR holding this run's journal): every
 * setting that changes results and was not given comes from the journal's header; one
 * given with another value is refused in one line. *threads and data_dir receive what to
 * run with. Returns -1 to go on, or an exit status. */
int sdir_adopt_recorded(const cli *c, grid_options *o, int32_t *threads, char *data_dir, size_t dd_len);

/* Rank 0, before anything is written: refuses a directory that is neither empty nor a
 * search of this grid, creates it and locks this run's journal; then continues the journal
 * there (counting its records into r->s and r->done_task) or creates it with the grid
 * copy. Sets r->exit_code on failure, after one line. */
void sdir_open(search_run *r);

#endif
