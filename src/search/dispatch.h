/* dispatch.h - which task to hand out next: the longest expected task first.
 *
 * Expected durations start from a cost model (FLOPs per task, task_cost) and are corrected
 * by measured times as results arrive: a task whose configuration (its "group") already
 * has a measured fold is expected to take that configuration's mean measured time; any
 * other task is expected to take its cost times the measured seconds-per-cost of its
 * family (same architecture), or of every measured task while its family has none.
 * Long tasks go first so that short ones fill the gaps at the end (LPT), and the correction
 * keeps that order right when the cost model misjudges a kind of model.
 *
 * Pure bookkeeping (no MPI, no clock): the scheduler on rank 0 and `fmnist-grid simulate`
 * use the same code. Ties go to the lower task id, so the order is reproducible. */
#ifndef DISPATCH_H
#define DISPATCH_H

#include <stdint.h>

#include "fg_util.h"

typedef struct dsp_queue dsp_queue;

/* n tasks with ids 0..n-1: cost[i] > 0 (any unit), group[i] in 0..n_groups-1 (tasks of a
 * group are expected to take the same time), family[g] in 0..n_groups-1 for every group.
 * pending lists the n_pending task ids to hand out (each at most once). Everything is
 * copied. Returns NULL with err on bad input or no memory. */
dsp_queue *dsp_new(int n, const double *cost, const int32_t *group, int n_groups,
                   const int32_t *family, const int32_t *pending, int n_pending, fg_err *err);
void dsp_free(dsp_queue *q); /* NULL is a no-op */

/* The pending task with the longest expected duration, removed from the queue; -1 when
 * none is left. */
int32_t dsp_next(dsp_queue *q);
/* A task finished after seconds (ignored unless finite and >= 0). */
void dsp_observe(dsp_queue *q, int32_t task, double seconds);
/* The expected seconds of task now, or its cost when nothing has been measured. */
double dsp_expected(const dsp_queue *q, int32_t task);
int dsp_left(const dsp_queue *q);
/* The pending tasks' total cost times the overall measured seconds per cost (their cost
 * while nothing is measured): a cheap estimate of the work left to hand out. */
double dsp_work_left(const dsp_queue *q);

/* Of workers[0..workers) running task[w] (-1: idle) until end[w]: the one whose task ends
 * first (ties to the lower worker), or -1 when every worker is idle. The simulations' clock. */
int dsp_earliest(const int32_t *task, const double *end, int workers);

/* Replays tasks whose real durations are seconds[] (>= 0) on `workers` workers that each
 * take the next task from a queue built as dsp_new(n, cost, group, n_groups, family, all
 * tasks) whenever they are free, observing each duration when its task ends (earliest
 * end first; ties to the lower worker). Writes the time the last task ends to *makespan.
 * Returns 0, or -1 with err. */
int dsp_simulate(int n, const double *cost, const int32_t *group, int n_groups,
                 const int32_t *family, const double *seconds, int workers, double *makespan,
                 fg_err *err);

#endif
