/* fault.h - fault injection, for the crash, signal and node-loss tests only (README, "fault
 * points"). FG_FAULT names one fault; it is read once at start-up and inert when unset.
 * The rest of the program only calls the named hooks below at its fault points.
 *
 * FG_FAULT=kill:N sends this process
 * SIGKILL right after the N-th journal record of this session is durable; FG_FAULT=signal:N
 * sends it SIGUSR1 at the same point; FG_FAULT=kill:report kills it after the refit is
 * journaled, just before the reports are written; FG_FAULT=kill:refit kills it right after
 * the refit's record is durable, before model.fgm is written; FG_FAULT=hold:N:FIFO holds it
 * at the same point as kill:N (the results directory locked) until a test lets it go: it
 * writes "held PID" into the FIFO (blocking until the test reads), then reads the FIFO until
 * end of file. FG_FAULT=nodekill:N kills (SIGKILL) every rank of rank 0's node at that
 * point, rank 0 last: a node lost. FG_FAULT=hold:N (without FIFO) makes rank 0 wait there
 * for a signal (for tests that signal mpirun at a known point).
 * FG_FAULT=startup:SIG[:WHERE] (SIG int, term or usr1) raises SIG during the start-up: WHERE
 * data (default) on rank 0 once the grid is parsed and the training images are loaded,
 * window on the last rank once its node's image window is built, dir on rank 0 once the
 * results directory is set up, just before the search loop. Read once at start-up; inert
 * when unset. */
#ifndef FAULT_H
#define FAULT_H

#include <stdint.h>

/* The faults that strike at a journal record, from FG_FAULT. */
typedef struct {
    int kill_after, signal_after;
    int kill_before_report;
    int kill_after_refit; /* FG_FAULT=kill:refit: right after a refit's record, whatever its number */
    int nodekill_after, hold_after;
    const char *hold_fifo; /* hold:N:FIFO; NULL: hold:N waits for a signal */
} fault_plan;

/* Reads FG_FAULT: the plan of record faults; the start-up and worker faults are kept here. */
fault_plan fault_from_env(void);

/* FG_FAULT=startup:SIG:WHERE: raises SIG at the start-up point where ("data", "window",
 * "dir") when on_this_rank is set. */
void fault_startup(const char *where, int on_this_rank);

/* Right after the n-th journal record of this session (a fold result) is durable:
 * kill:N, nodekill:N, hold:N[:FIFO], signal:N. */
void fault_after_result(const fault_plan *f, int n);

/* Right after a refit's record (the n-th of this session; 0 when not counted) is durable,
 * before model.fgm is written: kill:refit, then the faults of kill:N, nodekill:N, hold:N. */
void fault_after_refit(const fault_plan *f, int n);

/* kill:report: everything is journaled, no report written yet. */
void fault_before_report(const fault_plan *f);

/* workerkill:N: a worker rank (not rank 0) dies by SIGKILL as it starts its N-th task. */
void fault_worker_task(int rank);

/* 1 under workerkill: rank 0 only coordinates, so that worker ranks run the tasks. */
int fault_coordinator_only(void);

/* Rank 0: the pids of its node's ranks (n), copied for nodekill; fault_release frees them. */
void fault_node0(const int64_t *pids, int n);
void fault_release(void);

#endif
