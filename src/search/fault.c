/* fault.c - FG_FAULT: the faults injected for the tests and their points (see fault.h). */
#define _POSIX_C_SOURCE 200809L
#include "fault.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "signals.h"


/* FG_FAULT=hold:N:FIFO, at its point: no timing, the test decides when to go on. */
static void fault_hold(const fault_plan *f)
{
    int fd = open(f->hold_fifo, O_WRONLY);
    if (fd >= 0) {
        char msg[32];
        int n = snprintf(msg, sizeof msg, "held %ld\n", (long)getpid());
        ssize_t w = write(fd, msg, (size_t)n); /* a short write shows as a failed test */
        (void)w;
        close(fd);
    }
    fd = open(f->hold_fifo, O_RDONLY);
    char b[64];
    while (fd >= 0 && read(fd, b, sizeof b) > 0)
        continue;
    if (fd >= 0)
        close(fd);
}

static int g_workerkill, g_worker_tasks; /* FG_FAULT=workerkill:N, set once at start-up */
static int g_startup_sig;                /* FG_FAULT=startup:SIG:WHERE, set once at start-up */
static char g_startup_where[8];
static int64_t *g_node0_pids;            /* rank 0: the pids of its node's ranks (nodekill) */
static int g_node0_n;

fault_plan fault_from_env(void)
{
    fault_plan f = {0, 0, 0, 0, 0, 0, NULL};
    const char *v = getenv("FG_FAULT");
    if (v && !strncmp(v, "hold:", 5) && strchr(v + 5, ':')) {
        f.hold_after = atoi(v + 5);
        f.hold_fifo = strchr(v + 5, ':') + 1;
    }
    if (v && !strncmp(v, "workerkill:", 11))
        g_workerkill = atoi(v + 11);
    if (v && !strcmp(v, "kill:report"))
        f.kill_before_report = 1;
    else if (v && !strcmp(v, "kill:refit"))
        f.kill_after_refit = 1;
    else if (v && !strncmp(v, "kill:", 5))
        f.kill_after = atoi(v + 5);
    else if (v && !strncmp(v, "signal:", 7))
        f.signal_after = atoi(v + 7);
    else if (v && !strncmp(v, "nodekill:", 9))
        f.nodekill_after = atoi(v + 9);
    else if (v && !strncmp(v, "hold:", 5))
        f.hold_after = atoi(v + 5);
    else if (v && !strncmp(v, "startup:", 8)) {
        const char *sig = v + 8, *where = strchr(sig, ':');
        size_t n = where ? (size_t)(where - sig) : strlen(sig);
        g_startup_sig = n == 3 && !strncmp(sig, "int", 3)    ? SIGINT
                        : n == 4 && !strncmp(sig, "term", 4) ? SIGTERM
                        : n == 4 && !strncmp(sig, "usr1", 4) ? SIGUSR1
                                                             : 0;
        snprintf(g_startup_where, sizeof g_startup_where, "%s", where ? where + 1 : "data");
    }
    return f;
}

/* FG_FAULT=startup:SIG:WHERE at the start-up point WHERE on the rank it names. */
void fault_startup(const char *where, int on_this_rank)
{
    if (g_startup_sig && on_this_rank && !strcmp(g_startup_where, where))
        raise(g_startup_sig);
}

/* The faults injected right after a journal record is durable (n records this session). */
static void record_faults(const fault_plan *f, int n)
{
    if (f->kill_after && n == f->kill_after)
        raise(SIGKILL);
    if (f->nodekill_after && n == f->nodekill_after) {
        pid_t me = getpid();
        for (int i = 0; i < g_node0_n; i++)
            if ((pid_t)g_node0_pids[i] != me && g_node0_pids[i] > 1)
                kill((pid_t)g_node0_pids[i], SIGKILL);
        raise(SIGKILL);
    }
    if (f->hold_after && n == f->hold_after && f->hold_fifo)
        fault_hold(f);
    else if (f->hold_after && n == f->hold_after) {
        /* Any thread (MPI's, the local worker's) may take the signal: poll the flag. */
        while (!signals_received()) {
            struct timespec ts = {0, 10000000L};
            nanosleep(&ts, NULL);
        }
    }
}

void fault_after_result(const fault_plan *f, int n)
{
    record_faults(f, n);
    if (f->signal_after && n == f->signal_after)
        raise(SIGUSR1);
}

void fault_after_refit(const fault_plan *f, int n)
{
    if (f->kill_after_refit)
        raise(SIGKILL); /* journaled, model.fgm not written yet */
    record_faults(f, n);
}

void fault_before_report(const fault_plan *f)
{
    if (f->kill_before_report)
        raise(SIGKILL);
}

void fault_worker_task(int rank)
{
    if (g_workerkill && rank != 0 && ++g_worker_tasks == g_workerkill)
        raise(SIGKILL);
}

int fault_coordinator_only(void)
{
    return g_workerkill != 0;
}

void fault_node0(const int64_t *pids, int n)
{
    fault_release();
    g_node0_pids = n > 0 ? malloc((size_t)n * sizeof *g_node0_pids) : NULL;
    for (int k = 0; g_node0_pids && k < n; k++)
        g_node0_pids[k] = pids[k];
    g_node0_n = g_node0_pids ? n : 0;
}

void fault_release(void)
{
    free(g_node0_pids);
    g_node0_pids = NULL;
    g_node0_n = 0;
}
