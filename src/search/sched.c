/* sched.c - coordinator/worker protocol over MPI. The only file that includes mpi.h.
 *
 * Messages (all to or from rank 0, on a duplicated communicator):
 *   TAG_HELLO   worker -> 0   hello_msg: can this rank work, and if not why
 *   TAG_TASK    0 -> worker   int32 task id
 *   TAG_BLOB    worker -> 0   a task's extra bytes (optional, just before its TAG_RESULT)
 *   TAG_RESULT  worker -> 0   result_bytes bytes
 *   TAG_STOP    0 -> worker   int32 (unused): no more tasks
 * Every wait polls MPI_Test/MPI_Iprobe with a short sleep that backs off to 1 ms, so a
 * waiting rank does not burn a core the way OpenMPI's blocking calls do. */
#define _POSIX_C_SOURCE 200809L
#include "fg_sched.h"

#include <mpi.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { TAG_HELLO = 101, TAG_TASK, TAG_RESULT, TAG_STOP, TAG_BLOB };

typedef struct {
    int32_t ok;
    char why[512];
} hello_msg;

static MPI_Comm g_comm = MPI_COMM_NULL; /* set once by sched_init, read-only after */
static MPI_Comm g_node = MPI_COMM_NULL; /* the ranks of this node */
static int g_rank, g_size = 1, g_node_rank;
static int g_node_leader; /* the world rank of this node's first rank */
enum { MAX_SHARED = 8 };
static MPI_Win g_win[MAX_SHARED];
static void *g_plain[MAX_SHARED]; /* without MPI: malloc'ed */
static int g_n_win, g_n_plain;
static int g_mpi; /* 0: started without a launcher, one process, MPI never initialised */

/* Did mpirun, srun or another MPI launcher start us? Without one there are no peers, and
 * skipping MPI_Init saves its start-up (a third of a second with OpenMPI's singleton
 * mode) and any dependence on a working MPI runtime. */
static int launched_by_mpi(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK",
                                       "PMI_SIZE", "MPI_LOCALNRANKS", "HYDRA_CONTROL_FD"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (getenv(vars[i]))
            return 1;
    const char *force = getenv("FG_FORCE_MPI");
    return force && *force == '1';
}

/* Sleep for the current backoff and lengthen it (50 us doubling to 1 ms). */
static void idle_wait(long *ns)
{
    struct timespec ts = {0, *ns};
    nanosleep(&ts, NULL);
    if (*ns < 1000000L)
        *ns *= 2;
}

/* Completes req by polling with sleeps instead of spinning. */
static void wait_req(MPI_Request *req)
{
    long ns = 50000;
    int flag = 0;
    for (;;) {
        MPI_Test(req, &flag, MPI_STATUS_IGNORE);
        if (flag)
            return;
        idle_wait(&ns);
    }
}

int sched_init(int *argc, char ***argv, fg_err *err)
{
    int provided = 0;
    if (!launched_by_mpi()) {
        g_rank = 0;
        g_size = 1;
        return 0;
    }
    g_mpi = 1;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return fg_err_set(err, "MPI_Init_thread failed");
    if (provided < MPI_THREAD_FUNNELED)
        return fg_err_set(err, "the MPI library does not support MPI_THREAD_FUNNELED");
    MPI_Comm_dup(MPI_COMM_WORLD, &g_comm);
    MPI_Comm_set_errhandler(g_comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(g_comm, &g_rank);
    MPI_Comm_size(g_comm, &g_size);
    if (MPI_Comm_split_type(g_comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &g_node) != MPI_SUCCESS)
        return fg_err_set(err, "MPI_Comm_split_type failed");
    MPI_Comm_rank(g_node, &g_node_rank);
    /* The node's first rank (node rank 0: the split keeps the world order) names the node. */
    MPI_Request req;
    g_node_leader = g_rank;
    if (MPI_Ibcast(&g_node_leader, 1, MPI_INT, 0, g_node, &req) != MPI_SUCCESS)
        return fg_err_set(err, "MPI_Ibcast on the node failed");
    wait_req(&req);
    return 0;
}

void sched_finalize(void)
{
    for (int i = 0; i < g_n_plain; i++)
        free(g_plain[i]);
    g_n_plain = 0;
    if (!g_mpi)
        return;
    if (g_comm != MPI_COMM_NULL) {
        MPI_Request req;
        MPI_Ibarrier(g_comm, &req);
        wait_req(&req);
        for (int i = 0; i < g_n_win; i++)
            MPI_Win_free(&g_win[i]); /* collective over the node: everyone is past the barrier */
        g_n_win = 0;
        if (g_node != MPI_COMM_NULL)
            MPI_Comm_free(&g_node);
        MPI_Comm_free(&g_comm);
    }
    MPI_Finalize();
}

void sched_abort(int code)
{
    if (!g_mpi)
        abort();
    MPI_Abort(g_comm != MPI_COMM_NULL ? g_comm : MPI_COMM_WORLD, code);
}

int sched_rank(void) { return g_rank; }
int sched_size(void) { return g_size; }

const char *sched_mpi_version(void)
{
    static char buf[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    MPI_Get_library_version(buf, &len);
    char *nl = strchr(buf, '\n');
    if (nl)
        *nl = '\0';
    char *comma = strstr(buf, ", package");
    if (comma)
        *comma = '\0';
    return buf;
}

int sched_node_size(void)
{
    int n = 1;
    if (g_mpi)
        MPI_Comm_size(g_node, &n);
    return n;
}

int sched_node_leader(void) { return !g_mpi || g_node_rank == 0; }
int sched_node_rank(void) { return g_mpi ? g_node_rank : 0; }

int sched_node_all_ok(int ok)
{
    int in = ok ? 1 : 0, out = 0;
    if (!g_mpi)
        return in;
    MPI_Request req;
    MPI_Iallreduce(&in, &out, 1, MPI_INT, MPI_LAND, g_node, &req);
    wait_req(&req);
    return out;
}

int sched_node_bcast(void *buf, size_t len, fg_err *err)
{
    if (!g_mpi)
        return 0;
    if (len > (size_t)INT32_MAX)
        return fg_err_set(err, "node broadcast of %zu bytes is too large", len);
    MPI_Request req;
    if (MPI_Ibcast(buf, (int)len, MPI_BYTE, 0, g_node, &req) != MPI_SUCCESS)
        return fg_err_set(err, "MPI_Ibcast on the node failed");
    wait_req(&req);
    return 0;
}

void *sched_node_alloc(size_t n, fg_err *err)
{
    if (!g_mpi) {
        if (g_n_plain == MAX_SHARED) {
            fg_err_set(err, "too many shared allocations");
            return NULL;
        }
        void *p = malloc(n ? n : 1);
        if (!p)
            fg_err_set(err, "out of memory for %zu bytes", n);
        else
            g_plain[g_n_plain++] = p;
        return p;
    }
    if (g_n_win == MAX_SHARED) {
        fg_err_set(err, "too many shared memory windows");
        return NULL;
    }
    void *base = NULL;
    MPI_Win win;
    MPI_Aint mine = g_node_rank == 0 ? (MPI_Aint)n : 0;
    if (MPI_Win_allocate_shared(mine, 1, MPI_INFO_NULL, g_node, &base, &win) != MPI_SUCCESS) {
        fg_err_set(err, "MPI_Win_allocate_shared of %zu bytes failed", n);
        return NULL;
    }
    MPI_Aint size = 0;
    int disp = 0;
    if (MPI_Win_shared_query(win, 0, &size, &disp, &base) != MPI_SUCCESS || (size_t)size < n) {
        MPI_Win_free(&win);
        fg_err_set(err, "MPI_Win_shared_query failed for %zu bytes", n);
        return NULL;
    }
    g_win[g_n_win++] = win;
    return base;
}

int sched_gather_ranks(sched_rank_info **all, fg_err *err)
{
    sched_rank_info me;
    memset(&me, 0, sizeof me);
    gethostname(me.host, sizeof me.host - 1);
    me.rank = g_rank;
    me.node_leader = g_node_leader;
    me.pid = (int64_t)getpid();
    me.windows = g_n_win;
    for (int i = 0; i < g_n_win; i++) {
        MPI_Aint size = 0;
        int disp = 0;
        void *base = NULL;
        if (MPI_Win_shared_query(g_win[i], 0, &size, &disp, &base) == MPI_SUCCESS)
            me.window_bytes += (int64_t)size;
    }
    *all = NULL;
    if (g_rank == 0) {
        *all = calloc((size_t)g_size, sizeof **all);
        if (!*all)
            return fg_err_set(err, "out of memory for %d ranks' node information", g_size);
    }
    if (!g_mpi) {
        **all = me;
        return 0;
    }
    MPI_Request req;
    if (MPI_Igather(&me, (int)sizeof me, MPI_BYTE, *all, (int)sizeof me, MPI_BYTE, 0, g_comm, &req) !=
        MPI_SUCCESS) {
        free(*all);
        *all = NULL;
        return fg_err_set(err, "MPI_Igather of the ranks' node information failed");
    }
    wait_req(&req);
    return 0;
}

int sched_bcast(void *buf, size_t n, fg_err *err)
{
    if (!g_mpi)
        return 0;
    if (n > (size_t)INT32_MAX)
        return fg_err_set(err, "broadcast of %zu bytes is too large", n);
    MPI_Request req;
    if (MPI_Ibcast(buf, (int)n, MPI_BYTE, 0, g_comm, &req) != MPI_SUCCESS)
        return fg_err_set(err, "MPI_Ibcast failed");
    wait_req(&req);
    return 0;
}

int sched_bcast_blob(char **buf, size_t *n, fg_err *err)
{
    uint64_t len = g_rank == 0 ? (uint64_t)*n : 0;
    if (sched_bcast(&len, sizeof len, err))
        return -1;
    if (g_rank != 0) {
        *buf = malloc(len + 1);
        if (!*buf)
            return fg_err_set(err, "out of memory receiving %llu bytes", (unsigned long long)len);
        (*buf)[len] = '\0';
        *n = (size_t)len;
    }
    return sched_bcast(*buf, (size_t)len, err);
}

int sched_gather(const void *mine, size_t n, void *all, fg_err *err)
{
    if (!g_mpi) {
        memcpy(all, mine, n);
        return 0;
    }
    if (n > (size_t)INT32_MAX / (size_t)g_size)
        return fg_err_set(err, "gather of %zu bytes per rank is too large", n);
    MPI_Request req;
    if (MPI_Igather(mine, (int)n, MPI_BYTE, all, (int)n, MPI_BYTE, 0, g_comm, &req) != MPI_SUCCESS)
        return fg_err_set(err, "MPI_Igather failed");
    wait_req(&req);
    return 0;
}

int sched_all_ok(int ok)
{
    int in = ok ? 1 : 0, out = 0;
    if (!g_mpi)
        return in;
    MPI_Request req;
    MPI_Iallreduce(&in, &out, 1, MPI_INT, MPI_LAND, g_comm, &req);
    wait_req(&req);
    return out;
}

/* ---- the worker of rank 0, in a thread that never calls MPI ------------------------ */

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int has_task, quit, result_ready, busy;
    int32_t task;
    void *result;
    sched_blob blob;
    sched_work_fn work; /* copies: an abandoned thread may outlive the caller's plan */
    void *ctx;
} local_worker;

static void *local_main(void *arg)
{
    local_worker *lw = arg;
    for (;;) {
        pthread_mutex_lock(&lw->mu);
        while (!lw->has_task && !lw->quit)
            pthread_cond_wait(&lw->cv, &lw->mu);
        if (!lw->has_task) {
            pthread_mutex_unlock(&lw->mu);
            return NULL;
        }
        int32_t t = lw->task;
        lw->has_task = 0;
        pthread_mutex_unlock(&lw->mu);
        sched_blob b = {NULL, 0};
        lw->work(lw->ctx, t, lw->result, &b);
        pthread_mutex_lock(&lw->mu);
        lw->blob = b;
        lw->result_ready = 1;
        pthread_mutex_unlock(&lw->mu);
    }
}

/* ---- rank 0: the coordinator loop ---------------------------------------------------- */

enum { W_NEW = 0, W_IDLE, W_BUSY, W_DONE };

/* The coordinator's state, shared by the steps of one loop iteration. */
typedef struct {
    const sched_plan *p;
    sched_stats *st;
    int nw;             /* ranks, rank 0 included */
    int *state;         /* W_* per rank */
    sched_blob *blobs;  /* a rank's blob before its result */
    void *rbuf;         /* one result message */
    local_worker *lw;   /* on the heap: an abandoned worker thread may outlive the loop */
    pthread_t th;
    int have_local;     /* rank 0's worker thread runs */
    int fatal, stopping;
    int progressed, exhausted; /* this iteration: something happened; next() had nothing */
} coord;

/* Free the per-rank buffers (blobs, state, result buffer); not the local worker. */
static void coord_free_bufs(coord *c)
{
    if (c->blobs)
        for (int r = 0; r < c->nw; r++)
            free((void *)c->blobs[r].data);
    free(c->state), free(c->blobs), free(c->rbuf);
}

/* Allocate the coordinator's state and start rank 0's worker thread if it works. */
static int coord_open(coord *c, const sched_plan *p, sched_stats *st, fg_err *err)
{
    memset(c, 0, sizeof *c);
    c->p = p;
    c->st = st;
    c->nw = g_size;
    c->state = calloc((size_t)c->nw, sizeof *c->state);
    c->blobs = calloc((size_t)c->nw, sizeof *c->blobs);
    c->rbuf = malloc(p->result_bytes);
    c->lw = calloc(1, sizeof *c->lw);
    if (!c->lw || !c->state || !c->blobs || !c->rbuf) {
        free(c->lw), free(c->state), free(c->blobs), free(c->rbuf);
        return fg_err_set(err, "out of memory in the coordinator");
    }
    local_worker *lw = c->lw;
    c->have_local = p->local_worker && p->worker_ok;
    if (c->have_local) {
        lw->result = malloc(p->result_bytes);
        lw->work = p->work;
        lw->ctx = p->ctx;
        if (!lw->result) {
            free(c->lw), free(c->state), free(c->blobs), free(c->rbuf);
            return fg_err_set(err, "out of memory in the coordinator");
        }
        pthread_mutex_init(&lw->mu, NULL);
        pthread_cond_init(&lw->cv, NULL);
        if (pthread_create(&c->th, NULL, local_main, lw) != 0) {
            free(lw->result);
            c->have_local = 0;
        } else {
            st->workers++;
        }
    }
    c->state[0] = W_DONE;
    return 0;
}

/* Rank 0's worker: deliver its finished result, then give it the next task if idle. */
static void coord_local(coord *c)
{
    const sched_plan *p = c->p;
    local_worker *lw = c->lw;
    pthread_mutex_lock(&lw->mu);
    int ready = lw->result_ready;
    int32_t t = lw->task;
    pthread_mutex_unlock(&lw->mu);
    if (ready) {
        if (!c->fatal && p->done(p->ctx0, t, lw->result, &lw->blob, 0) != 0)
            c->fatal = c->stopping = 1;
        c->st->completed++;
        pthread_mutex_lock(&lw->mu);
        lw->result_ready = 0;
        lw->busy = 0;
        pthread_mutex_unlock(&lw->mu);
        c->progressed = 1;
    }
    if (!lw->busy && !c->stopping) {
        int32_t nt = p->next(p->ctx0);
        if (nt < 0) {
            c->exhausted = 1;
        } else {
            pthread_mutex_lock(&lw->mu);
            lw->task = nt;
            lw->has_task = 1;
            lw->busy = 1;
            pthread_cond_signal(&lw->cv);
            pthread_mutex_unlock(&lw->mu);
            c->st->dispatched++;
            c->progressed = 1;
        }
    }
}

/* TAG_HELLO from src: the rank becomes idle, or is told to stop and reported lost. */
static void coord_hello(coord *c, int src)
{
    hello_msg h;
    MPI_Recv(&h, sizeof h, MPI_BYTE, src, TAG_HELLO, g_comm, MPI_STATUS_IGNORE);
    h.why[sizeof h.why - 1] = '\0';
    if (h.ok) {
        c->state[src] = W_IDLE;
        c->st->workers++;
    } else {
        if (c->p->lost)
            c->p->lost(c->p->ctx0, src, h.why);
        int32_t z = 0;
        MPI_Send(&z, 1, MPI_INT32_T, src, TAG_STOP, g_comm);
        c->st->msgs_sent++;
        c->state[src] = W_DONE;
    }
}

/* TAG_BLOB from src: keep its bytes until its result arrives. */
static void coord_blob(coord *c, int src, MPI_Status *ms)
{
    int count = 0;
    MPI_Get_count(ms, MPI_BYTE, &count);
    void *b = malloc(count > 0 ? (size_t)count : 1);
    MPI_Recv(b ? b : c->rbuf, b ? count : 0, MPI_BYTE, src, TAG_BLOB, g_comm, MPI_STATUS_IGNORE);
    free((void *)c->blobs[src].data);
    c->blobs[src].data = b;
    c->blobs[src].len = b ? (size_t)count : 0; /* no memory: as if none was sent */
}

/* TAG_RESULT from src: deliver it with its blob; the rank becomes idle. */
static void coord_result(coord *c, int src)
{
    const sched_plan *p = c->p;
    MPI_Recv(c->rbuf, (int)p->result_bytes, MPI_BYTE, src, TAG_RESULT, g_comm, MPI_STATUS_IGNORE);
    int32_t t;
    memcpy(&t, c->rbuf, sizeof t); /* results start with their task id */
    if (!c->fatal && p->done(p->ctx0, t, c->rbuf, &c->blobs[src], src) != 0)
        c->fatal = c->stopping = 1;
    free((void *)c->blobs[src].data);
    c->blobs[src].data = NULL;
    c->blobs[src].len = 0;
    c->st->completed++;
    c->state[src] = W_IDLE;
    c->exhausted = 0; /* a result may make tasks (a halving promotion, the refit): ask again */
}

/* Receive every message waiting from the worker ranks. */
static void coord_receive(coord *c)
{
    for (; g_mpi;) {
        int flag = 0;
        MPI_Status ms;
        MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, g_comm, &flag, &ms);
        if (!flag)
            break;
        c->progressed = 1;
        int src = ms.MPI_SOURCE;
        c->st->msgs_recv++;
        if (ms.MPI_TAG == TAG_HELLO) {
            coord_hello(c, src);
        } else if (ms.MPI_TAG == TAG_BLOB) {
            coord_blob(c, src, &ms);
        } else if (ms.MPI_TAG == TAG_RESULT) {
            coord_result(c, src);
        } else {
            /* Unknown tag: drain it so the loop cannot stall. */
            int count = 0;
            MPI_Get_count(&ms, MPI_BYTE, &count);
            char *junk = malloc(count > 0 ? (size_t)count : 1);
            MPI_Recv(junk, count, MPI_BYTE, src, ms.MPI_TAG, g_comm, MPI_STATUS_IGNORE);
            free(junk);
        }
    }
}

/* Hand a task to each idle rank and count the busy and idle workers. An idle rank with
 * nothing to do waits: a task may still come from a result that is yet to arrive. */
static void coord_hand_out(coord *c, int *busy, int *idle)
{
    const sched_plan *p = c->p;
    *busy = c->have_local && c->lw->busy;
    *idle = 0;
    for (int r = 1; r < c->nw; r++) {
        if (c->state[r] == W_IDLE && !c->stopping && !c->exhausted) {
            int32_t t = p->next(p->ctx0);
            if (t < 0) {
                c->exhausted = 1;
            } else {
                MPI_Send(&t, 1, MPI_INT32_T, r, TAG_TASK, g_comm);
                c->state[r] = W_BUSY;
                c->st->dispatched++;
                c->st->msgs_sent++;
                c->progressed = 1;
            }
        }
        *busy += c->state[r] == W_BUSY || c->state[r] == W_NEW;
        *idle += c->state[r] == W_IDLE;
    }
    *idle += c->have_local && !c->lw->busy;
}

/* Give up on running tasks: leave the local thread running (detached) and the busy
 * ranks busy; the caller ends the process. The local worker's memory is kept for it. */
static void coord_abandon(coord *c)
{
    c->st->abandoned = 1;
    if (c->have_local)
        pthread_detach(c->th);
    coord_free_bufs(c);
}

/* One iteration: 1 to go on, 0 when every task is done or stopping with none running. */
static int coord_step(coord *c)
{
    const sched_plan *p = c->p;
    c->progressed = c->exhausted = 0;
    if (c->have_local)
        coord_local(c);
    coord_receive(c);
    int busy, idle;
    coord_hand_out(c, &busy, &idle);
    if (!busy && (c->stopping || c->exhausted || !idle)) {
        if (!c->stopping && !idle && p->left(p->ctx0) > 0)
            c->fatal = 1; /* every worker is gone but tasks remain: nothing can run them */
        return 0;
    }
    return 1;
}

/* Tell the waiting ranks to finish, stop rank 0's worker thread and free everything;
 * the number of tasks left goes to *left (counted before the thread is joined). */
static void coord_close(coord *c, int *left)
{
    for (int r = 1; r < c->nw; r++)
        if (c->state[r] == W_IDLE) {
            int32_t z = 0;
            MPI_Send(&z, 1, MPI_INT32_T, r, TAG_STOP, g_comm);
            c->st->msgs_sent++;
        }
    *left = c->p->left(c->p->ctx0);
    local_worker *lw = c->lw;
    if (c->have_local) {
        pthread_mutex_lock(&lw->mu);
        lw->quit = 1;
        pthread_cond_signal(&lw->cv);
        pthread_mutex_unlock(&lw->mu);
        pthread_join(c->th, NULL);
        pthread_mutex_destroy(&lw->mu);
        pthread_cond_destroy(&lw->cv);
        free(lw->result);
    }
    free(lw);
    coord_free_bufs(c);
}

/* Rank 0: run the tasks on every worker until none is left, a stop, or an abandon. */
static int coordinate(const sched_plan *p, sched_stats *st, fg_err *err)
{
    coord c;
    if (coord_open(&c, p, st, err))
        return -1;
    long ns = 50000;
    for (;;) {
        if (!c.stopping && p->stop && p->stop(p->ctx0)) {
            c.stopping = 1;
            st->stopped = 1;
        }
        if (c.stopping && p->abandon && p->abandon(p->ctx0)) {
            coord_abandon(&c);
            return 0;
        }
        if (!coord_step(&c))
            break;
        if (c.progressed)
            ns = 50000;
        else
            idle_wait(&ns);
    }
    int left;
    coord_close(&c, &left);
    if (c.fatal)
        return fg_err_set(err, left > 0 && !c.stopping
                                   ? "no rank could work: every worker failed to start"
                                   : "the search stopped after a failure recording a result");
    return 0;
}

/* ---- ranks > 0 ----------------------------------------------------------------------- */

static int serve(const sched_plan *p, sched_stats *st, fg_err *err)
{
    hello_msg h;
    memset(&h, 0, sizeof h);
    h.ok = p->worker_ok ? 1 : 0;
    if (!p->worker_ok && p->worker_why)
        snprintf(h.why, sizeof h.why, "%s", p->worker_why);
    MPI_Request req;
    MPI_Isend(&h, sizeof h, MPI_BYTE, 0, TAG_HELLO, g_comm, &req);
    wait_req(&req);
    void *res = malloc(p->result_bytes);
    if (!res)
        return fg_err_set(err, "out of memory for a result buffer");
    for (;;) {
        int32_t t = 0;
        MPI_Status ms;
        MPI_Irecv(&t, 1, MPI_INT32_T, 0, MPI_ANY_TAG, g_comm, &req);
        long ns = 50000;
        int flag = 0;
        for (;;) {
            MPI_Test(&req, &flag, &ms);
            if (flag)
                break;
            idle_wait(&ns);
        }
        if (ms.MPI_TAG != TAG_TASK)
            break;
        memset(res, 0, p->result_bytes);
        sched_blob b = {NULL, 0};
        p->work(p->ctx, t, res, &b);
        if (b.len > 0 && b.len <= (size_t)INT32_MAX) { /* a larger one is dropped: the caller copes */
            MPI_Isend(b.data, (int)b.len, MPI_BYTE, 0, TAG_BLOB, g_comm, &req);
            wait_req(&req);
        }
        MPI_Isend(res, (int)p->result_bytes, MPI_BYTE, 0, TAG_RESULT, g_comm, &req);
        wait_req(&req);
        st->completed++;
    }
    free(res);
    return 0;
}

int sched_run(const sched_plan *plan, sched_stats *stats, fg_err *err)
{
    sched_stats local;
    if (!stats)
        stats = &local;
    memset(stats, 0, sizeof *stats);
    if (plan->result_bytes < sizeof(int32_t) || plan->result_bytes > (size_t)INT32_MAX)
        return fg_err_set(err, "bad result size %zu", plan->result_bytes);
    if (g_rank == 0 && (!plan->next || !plan->left || !plan->done))
        return fg_err_set(err, "the plan has no next, left or done function");
    return g_rank == 0 ? coordinate(plan, stats, err) : serve(plan, stats, err);
}
