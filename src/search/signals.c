/* signals.c - SIGINT, SIGTERM and SIGUSR1 for the whole process: fatal at once during the
 * start-up, noted once the search loop runs (see signals.h). */
#define _POSIX_C_SOURCE 200809L
#include "signals.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Signals (SIGINT, SIGTERM, SIGUSR1). Until a search enters its search loop (the command
 * line, the grid, loading the data, MPI start-up, the node's shared image window, the
 * results directory), and throughout the other commands, no task has run and there is
 * nothing to lose: a signal ends the process at once with status 3, rank 0 saying so in
 * one line. From the search loop on, a signal is only noted here: the coordinator stops
 * handing out tasks and lets running ones finish (--grace), then writes the partial report.
 * Under OpenMPI's mpirun, a SIGTERM from the rank's parent (mpirun or its orted) is mpirun
 * ending the job on SIGINT/SIGTERM: it sends SIGKILL odls_base_sigkill_timeout seconds
 * later (1 by default), whatever the ranks do. Rank 0 then gives up running tasks at once,
 * as at a second signal, writes the partial report in that time and exits 3 without
 * MPI_Abort (mpirun is already ending the job). The other ranks carry on until then: one
 * that exits on its own would make OpenMPI abort rank 0 before the report is written. */
static volatile sig_atomic_t g_signal;  /* the first signal received, read by the coordinator */
static volatile sig_atomic_t g_signals; /* how many were received */
static volatile sig_atomic_t g_searching;     /* 1 from the search loop on: signals are noted */
static volatile sig_atomic_t g_defer;         /* 1 while the results directory is being set up */
static volatile sig_atomic_t g_silent;        /* 1 on ranks other than 0: they do not print */
static volatile sig_atomic_t g_launcher_term; /* SIGTERM from mpirun/orted: the job is ending */
static int g_under_orte;                      /* started by OpenMPI's mpirun */
/* The end of the line printed when a signal stops the start-up; changed only while g_defer
 * holds signals back, so the handler never reads it half-written. */
static char g_stop_note[8400];

/* Async-signal-safe: prints "fmnist-grid: stopped by signal N<note>" (rank 0) and ends the
 * process with status 3. */
static void stop_at_once(int sig)
{
    if (!g_silent) {
        char buf[64] = "fmnist-grid: stopped by signal ";
        size_t n = strlen(buf);
        char digits[12];
        int nd = 0;
        unsigned v = (unsigned)sig;
        do
            digits[nd++] = (char)('0' + v % 10);
        while ((v /= 10) && nd < 11);
        while (nd > 0)
            buf[n++] = digits[--nd];
        ssize_t w = write(2, buf, n);
        w = write(2, g_stop_note, strlen(g_stop_note));
        w = write(2, "\n", 1);
        (void)w;
    }
    _exit(3); /* EXIT_INTERRUPTED */
}

static void on_signal(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    if (!g_signal)
        g_signal = sig;
    g_signals = g_signals + 1;
    if (!g_searching) {
        if (!g_defer)
            stop_at_once(sig);
        return; /* the results directory is being set up: stopped right after */
    }
    if (sig == SIGTERM && g_under_orte && si && si->si_pid > 1 && si->si_pid == getppid())
        g_launcher_term = 1;
}

void signals_install(void)
{
    /* Before MPI starts, which rank this is comes from the launcher's environment. */
    static const char *const rank_vars[] = {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK",
                                            "SLURM_PROCID"};
    for (size_t i = 0; i < sizeof rank_vars / sizeof rank_vars[0]; i++) {
        const char *v = getenv(rank_vars[i]);
        if (v && *v) {
            g_silent = strcmp(v, "0") != 0;
            break;
        }
    }
    g_under_orte = getenv("OMPI_MCA_orte_hnp_uri") != NULL;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
}

/* Holds start-up signals back while the results directory is set up (so that it is either
 * untouched or complete), or lets them stop the process again, at once if one came. Other
 * threads (MPI's) may take the signal, so this is a flag, not a signal mask. */
void signals_defer(int on)
{
    g_defer = on;
    if (!on && g_signal && !g_searching)
        stop_at_once(g_signal);
}

/* The search loop starts: from now on a signal is noted, not fatal. */
void signals_graceful(void)
{
    g_searching = 1;
}

void signals_silence(int silent)
{
    g_silent = silent;
}

void signals_note(const char *note)
{
    signals_defer(1);
    snprintf(g_stop_note, sizeof g_stop_note, "%s", note);
    signals_defer(0);
}

int signals_received(void)
{
    return g_signal;
}

int signals_count(void)
{
    return g_signals;
}

int signals_launcher_term(void)
{
    return g_launcher_term;
}
