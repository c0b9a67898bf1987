/* fg_sched.h - the coordinator/worker protocol (the only module that includes mpi.h).
 *
 * Rank 0 owns the task queue and calls `done` for every result; it also runs a worker of
 * its own in a second thread, so that -np equal to the number of cores trains on every
 * core, and it waits by polling with short sleeps instead of OpenMPI's spinning blocking
 * receives. Without mpirun the same code runs with rank 0 as the only worker. Tasks are
 * plain int32 ids; results are fixed-size byte blocks without pointers. */
#ifndef FG_SCHED_H
#define FG_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "fg_util.h"

/* Initialises MPI (thread level FUNNELED: only the main thread calls MPI) and duplicates
 * the world communicator. Returns 0 or -1. */
int sched_init(int *argc, char ***argv, fg_err *err);
/* Waits for every rank without spinning, then finalises MPI. */
void sched_finalize(void);
/* Ends every rank (programmer errors only). */
void sched_abort(int code);
int sched_rank(void);
int sched_size(void);
/* "Open MPI v4.1.4, ..." (static storage) */
const char *sched_mpi_version(void);
/* Number of ranks sharing this rank's node. */
int sched_node_size(void);

/* Memory shared by the ranks of a node (MPI-3 shared memory windows), so that read-only
 * data such as the images is held once per node, not once per rank. */
/* 1 on the first rank of each node (and without MPI). */
int sched_node_leader(void);
/* This rank's index among its node's ranks, 0..sched_node_size()-1 (0 without MPI). */
int sched_node_rank(void);
/* Collective over the node: 1 when ok is non-zero on every rank of the node. Also orders
 * every rank's writes into node-shared memory before any rank's reads after it. */
int sched_node_all_ok(int ok);
/* Collective over the node: broadcasts len bytes of buf from the node's leader. */
int sched_node_bcast(void *buf, size_t len, fg_err *err);
/* Collective over the node: the leader allocates n bytes that every rank of its node can
 * read and write (other ranks' n is ignored: they must pass the leader's, e.g. learnt by
 * sched_node_bcast). The leader fills it, then a sched_node_bcast orders the filling
 * before anyone reads. Without MPI this is malloc. Freed by sched_finalize; at most 8.
 * Returns NULL with err. */
void *sched_node_alloc(size_t n, fg_err *err);

/* Where a rank runs and what it maps, for the log and the node-level fault injection. */
typedef struct {
    char host[64];        /* gethostname() */
    int32_t rank;         /* world rank */
    int32_t node_leader;  /* world rank of its node's first rank: equal values, same node */
    int32_t windows;      /* shared memory windows this rank has mapped (sched_node_alloc) */
    int32_t pad;
    int64_t pid;
    int64_t window_bytes; /* their total size */
} sched_rank_info;
/* Collective over every rank: gathers each rank's sched_rank_info on rank 0, in rank
 * order (*all is malloc'ed there, sched_size() entries; NULL elsewhere). Without MPI, the
 * one entry of this process. Returns 0, or -1 with err. */
int sched_gather_ranks(sched_rank_info **all, fg_err *err);

/* Broadcasts n bytes from rank 0 (collective). */
int sched_bcast(void *buf, size_t n, fg_err *err);
/* Broadcasts a variable-length buffer from rank 0: on other ranks *buf is malloc'ed (the
 * caller frees) and *n set. Collective. */
int sched_bcast_blob(char **buf, size_t *n, fg_err *err);
/* Gathers n bytes from every rank into all (rank 0 only: room for sched_size() x n bytes,
 * rank i's at i x n; ignored elsewhere). Collective. */
int sched_gather(const void *mine, size_t n, void *all, fg_err *err);
/* Logical AND of ok over all ranks (collective): 1 when every rank passed 1. */
int sched_all_ok(int ok);

/* Bytes a task hands back besides its fixed-size result (e.g. a refitted model's
 * parameters): data must stay valid until the next call of the work function on that
 * rank. len 0 means none. At most INT32_MAX bytes. */
typedef struct {
    const void *data;
    size_t len;
} sched_blob;

/* Runs one task on this rank, writing result_bytes bytes into result and optionally
 * setting *blob. Returns 0; a task that fails records its failure inside the result. */
typedef int (*sched_work_fn)(void *ctx, int32_t task, void *result, sched_blob *blob);
/* Rank 0 only: called in the main thread for every finished task, in arrival order, with
 * the task's blob (len 0 if none; valid during the call only). A non-zero return stops the
 * search (fatal error). */
typedef int (*sched_done_fn)(void *ctx, int32_t task, const void *result, const sched_blob *blob,
                             int rank);
/* Rank 0 only: the task for an idle worker, or -1 when there is none now (more may come
 * as results arrive: an idle worker waits). The run ends when no task is running and next
 * returns -1. */
typedef int32_t (*sched_next_fn)(void *ctx);
/* Rank 0 only: how many tasks are still to be handed out (for the error when every worker
 * is gone). */
typedef int (*sched_count_fn)(void *ctx);
/* Rank 0 only: polled between messages; non-zero stops handing out tasks (tasks already
 * running are still collected). May be NULL. */
typedef int (*sched_stop_fn)(void *ctx);
/* Rank 0 only: a worker rank reported that it cannot work (e.g. its data failed to load). */
typedef void (*sched_lost_fn)(void *ctx, int rank, const char *why);

typedef struct {
    sched_next_fn next;   /* rank 0: what to hand out (dispatch order is its business) */
    sched_count_fn left;  /* rank 0 */
    size_t result_bytes;  /* all ranks: size of one result */
    int worker_ok;        /* all ranks: 0 if this rank cannot work (why in worker_why) */
    const char *worker_why;
    int local_worker;     /* rank 0: also train in a thread (1 unless only coordinating) */
    sched_work_fn work;
    sched_done_fn done;
    sched_stop_fn stop;
    sched_stop_fn abandon; /* rank 0, may be NULL: non-zero = stop waiting for running tasks */
    sched_lost_fn lost;
    void *ctx;           /* worker functions' context (all ranks) */
    void *ctx0;          /* rank 0 callbacks' context */
} sched_plan;

typedef struct {
    int completed;   /* results delivered to done */
    int dispatched;
    int stopped;     /* stop() asked to stop early */
    int abandoned;   /* abandon() gave up on running tasks: their ranks are still busy, and
                      * rank 0's worker thread may still run; end the process soon, without
                      * freeing what the workers use (sched_abort under MPI) */
    int workers;     /* ranks (and the local thread) that trained */
    int64_t msgs_sent, msgs_recv;
} sched_stats;

/* Collective: rank 0 dispatches tasks from next() dynamically (a worker gets a task when
 * it reports its previous result) until next() has none and none is running, or stop()
 * says so; other ranks work until told to finish. Returns 0, or -1 with err. */
int sched_run(const sched_plan *plan, sched_stats *stats, fg_err *err);

#endif
