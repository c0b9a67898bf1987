/* dispatch.c - longest-expected-first task order, corrected by measured times. */
#include "dispatch.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fg_sort.h"

struct dsp_queue {
    int n, n_groups;
    double *cost;              /* per task */
    int32_t *group;            /* per task */
    int32_t *family;           /* per group */
    int32_t *tasks;            /* pending tasks sorted by (group, cost desc, id) */
    int *head, *end;           /* per group: its next pending task in tasks[], and the end */
    int32_t *active;           /* groups with pending tasks (any order) */
    int n_active, left;
    double *g_sec;             /* per group: measured seconds, count */
    int *g_cnt;
    double *f_sec, *f_cost;    /* per family: measured seconds and their tasks' cost */
    double all_sec, all_cost;
    double pending_cost;       /* sum of the pending tasks' cost */
};

/* fg_cmp_fn over task ids: by group, longest first within a group, then by id. */
static int by_group_cost(const void *a, const void *b, void *ctx)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    const dsp_queue *q = ctx;
    if (q->group[x] != q->group[y])
        return q->group[x] < q->group[y] ? -1 : 1;
    if (q->cost[x] != q->cost[y])
        return q->cost[x] > q->cost[y] ? -1 : 1;
    return (x > y) - (x < y);
}

void dsp_free(dsp_queue *q)
{
    if (!q)
        return;
    free(q->cost), free(q->group), free(q->family), free(q->tasks), free(q->head);
    free(q->end), free(q->active), free(q->g_sec), free(q->g_cnt), free(q->f_sec), free(q->f_cost);
    free(q);
}

dsp_queue *dsp_new(int n, const double *cost, const int32_t *group, int n_groups,
                   const int32_t *family, const int32_t *pending, int n_pending, fg_err *err)
{
    if (n < 0 || n_groups < 1 || n_pending < 0 || n_pending > n) {
        fg_err_set(err, "dispatch: bad sizes (%d tasks, %d groups, %d pending)", n, n_groups, n_pending);
        return NULL;
    }
    dsp_queue *q = calloc(1, sizeof *q);
    size_t nn = n > 0 ? (size_t)n : 1, ng = (size_t)n_groups;
    if (q) {
        q->cost = malloc(nn * sizeof *q->cost);
        q->group = malloc(nn * sizeof *q->group);
        q->tasks = malloc(nn * sizeof *q->tasks);
        q->family = malloc(ng * sizeof *q->family);
        q->head = calloc(ng, sizeof *q->head);
        q->end = calloc(ng, sizeof *q->end);
        q->active = malloc(ng * sizeof *q->active);
        q->g_sec = calloc(ng, sizeof *q->g_sec);
        q->g_cnt = calloc(ng, sizeof *q->g_cnt);
        q->f_sec = calloc(ng, sizeof *q->f_sec);
        q->f_cost = calloc(ng, sizeof *q->f_cost);
    }
    if (!q || !q->cost || !q->group || !q->tasks || !q->family || !q->head || !q->end ||
        !q->active || !q->g_sec || !q->g_cnt || !q->f_sec || !q->f_cost) {
        dsp_free(q);
        fg_err_set(err, "dispatch: out of memory for %d tasks", n);
        return NULL;
    }
    q->n = n;
    q->n_groups = n_groups;
    for (int i = 0; i < n; i++) {
        if (!(cost[i] > 0) || !isfinite(cost[i]) || group[i] < 0 || group[i] >= n_groups) {
            dsp_free(q);
            fg_err_set(err, "dispatch: task %d has cost %g and group %d", i, cost[i], (int)group[i]);
            return NULL;
        }
        q->cost[i] = cost[i];
        q->group[i] = group[i];
    }
    for (int g = 0; g < n_groups; g++) {
        if (family[g] < 0 || family[g] >= n_groups) {
            dsp_free(q);
            fg_err_set(err, "dispatch: group %d has family %d", g, (int)family[g]);
            return NULL;
        }
        q->family[g] = family[g];
    }
    char *seen = calloc(nn, 1);
    if (!seen) {
        dsp_free(q);
        fg_err_set(err, "dispatch: out of memory for %d tasks", n);
        return NULL;
    }
    for (int i = 0; i < n_pending; i++) {
        int32_t t = pending[i];
        if (t < 0 || t >= n || seen[t]) {
            free(seen);
            dsp_free(q);
            fg_err_set(err, "dispatch: pending task %d is out of range or repeated", (int)t);
            return NULL;
        }
        seen[t] = 1;
        q->tasks[q->left++] = t;
        q->pending_cost += cost[t];
    }
    free(seen);
    fg_sort(q->tasks, (size_t)q->left, sizeof *q->tasks, by_group_cost, q);
    for (int i = 0; i < q->left; i++) {
        int g = q->group[q->tasks[i]];
        if (q->end[g] == 0) { /* first task of its group: groups are contiguous */
            q->head[g] = i;
            q->active[q->n_active++] = g;
        }
        q->end[g] = i + 1;
    }
    return q;
}

/* Expected seconds (or cost units while nothing is measured) of a task of group g. */
static double expect(const dsp_queue *q, int32_t task)
{
    int g = q->group[task], f = q->family[g];
    if (q->g_cnt[g] > 0)
        return q->g_sec[g] / q->g_cnt[g];
    if (q->f_cost[f] > 0)
        return q->cost[task] * (q->f_sec[f] / q->f_cost[f]);
    if (q->all_cost > 0)
        return q->cost[task] * (q->all_sec / q->all_cost);
    return q->cost[task];
}

double dsp_expected(const dsp_queue *q, int32_t task)
{
    return task >= 0 && task < q->n ? expect(q, task) : 0;
}

int dsp_left(const dsp_queue *q) { return q->left; }

double dsp_work_left(const dsp_queue *q)
{
    double rate = q->all_cost > 0 ? q->all_sec / q->all_cost : 1.0;
    return q->left > 0 ? q->pending_cost * rate : 0.0;
}

int32_t dsp_next(dsp_queue *q)
{
    int best = -1;
    int32_t bt = -1;
    double be = 0;
    for (int a = 0; a < q->n_active; a++) {
        int g = q->active[a];
        int32_t t = q->tasks[q->head[g]];
        double e = expect(q, t);
        if (best < 0 || e > be || (e == be && t < bt)) {
            best = a;
            bt = t;
            be = e;
        }
    }
    if (best < 0)
        return -1;
    int g = q->active[best];
    if (++q->head[g] == q->end[g])
        q->active[best] = q->active[--q->n_active];
    q->left--;
    q->pending_cost -= q->cost[bt];
    return bt;
}

void dsp_observe(dsp_queue *q, int32_t task, double seconds)
{
    if (task < 0 || task >= q->n || !isfinite(seconds) || seconds < 0)
        return;
    int g = q->group[task], f = q->family[g];
    q->g_sec[g] += seconds;
    q->g_cnt[g]++;
    q->f_sec[f] += seconds;
    q->f_cost[f] += q->cost[task];
    q->all_sec += seconds;
    q->all_cost += q->cost[task];
}

int dsp_earliest(const int32_t *task, const double *end, int workers)
{
    int w = -1;
    for (int k = 0; k < workers; k++)
        if (task[k] >= 0 && (w < 0 || end[k] < end[w]))
            w = k;
    return w;
}

int dsp_simulate(int n, const double *cost, const int32_t *group, int n_groups,
                 const int32_t *family, const double *seconds, int workers, double *makespan,
                 fg_err *err)
{
    *makespan = 0;
    if (workers < 1)
        return fg_err_set(err, "simulation needs at least one worker, not %d", workers);
    int32_t *all = malloc((size_t)(n > 0 ? n : 1) * sizeof *all);
    double *end = malloc((size_t)workers * sizeof *end);
    int32_t *task = malloc((size_t)workers * sizeof *task);
    if (!all || !end || !task) {
        free(all), free(end), free(task);
        return fg_err_set(err, "out of memory simulating %d workers", workers);
    }
    for (int i = 0; i < n; i++)
        all[i] = i;
    dsp_queue *q = dsp_new(n, cost, group, n_groups, family, all, n, err);
    free(all);
    if (!q) {
        free(end), free(task);
        return -1;
    }
    for (int w = 0; w < workers; w++) {
        task[w] = dsp_next(q);
        end[w] = task[w] >= 0 ? seconds[task[w]] : 0;
    }
    for (;;) {
        int w = dsp_earliest(task, end, workers);
        if (w < 0)
            break;
        double now = end[w];
        if (now > *makespan)
            *makespan = now;
        dsp_observe(q, task[w], seconds[task[w]]);
        task[w] = dsp_next(q);
        if (task[w] >= 0)
            end[w] = now + seconds[task[w]];
    }
    dsp_free(q);
    free(end), free(task);
    return 0;
}
