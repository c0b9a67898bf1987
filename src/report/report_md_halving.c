/* report_md_halving.c - report.md's "Iterations" section of a successive-halving search:
 * the schedule, per iteration its candidates, resource, tasks, CPU time and promotions,
 * and the work that did not count (speculative tasks of candidates not promoted). */
#include "report_parts.h"

#include <math.h>

/* "epochs" or "training images": what the resource counts. */
static const char *resource_name(const grid *g)
{
    return grid_search_of(g)->resource == HALV_EPOCHS ? "epochs" : "training images";
}

static void md_schedule(FILE *f, const rpt_ctx *x)
{
    const rpt_halving *hv = x->hv;
    const grid_search *s = grid_search_of(x->g);
    fprintf(f, "Successive halving (scikit-learn's HalvingGridSearchCV rule): factor %d, resource %s from "
               "%lld to %lld, %d iteration%s. Each iteration keeps the best ceil(n / %d) candidates by mean CV "
               "score (ties: the cheaper network, parameters × epochs, then the lower configuration number) "
               "and gives them %d times the resource; a promoted candidate retrains from scratch. ",
            s->factor, resource_name(x->g), (long long)hv->sch.min_resources, (long long)hv->sch.max_resources,
            hv->n_iter, hv->n_iter == 1 ? "" : "s", s->factor, s->factor);
    if (hv->complete)
        fprintf(f, "The best configuration is the best of the last iteration (scikit-learn's `best_index_`): "
                   "configuration %lld.\n\n", (long long)hv->best);
    else
        fputs("**The search has not finished**: the best configuration is not known yet; the leader of the "
              "highest iteration reached is shown as the best so far.\n\n", f);
}

static void md_iteration_rows(FILE *f, const rpt_ctx *x)
{
    const rpt_halving *hv = x->hv;
    fprintf(f, "| iteration | candidates | %s | tasks done | CPU time | promoted |\n|---|---|---|---|---|---|\n",
            resource_name(x->g));
    for (int it = 0; it < hv->n_iter; it++) {
        const rpt_halving_iter *t = &hv->it[it];
        char cpu[32];
        rpt_fmt_secs(cpu, sizeof cpu, t->cpu_s);
        if (t->n_candidates < 0) {
            fprintf(f, "| %d | (%d) | %lld | 0 | – | not reached |\n", it, hv->sch.n_candidates[it],
                    (long long)t->n_resources);
            continue;
        }
        fprintf(f, "| %d | %d | %lld | %d / %lld | %s | ", it, t->n_candidates, (long long)t->n_resources,
                t->tasks_done, (long long)t->n_candidates * x->folds, cpu);
        if (t->n_promoted >= 0)
            fprintf(f, "%d |\n", t->n_promoted);
        else
            fputs(it + 1 == hv->n_iter ? "– (last) |\n" : "not yet |\n", f);
    }
    fputc('\n', f);
}

void rpt_md_iterations(FILE *f, const rpt_ctx *x)
{
    const rpt_halving *hv = x->hv;
    if (!hv)
        return;
    fputs("## Iterations\n\n", f);
    md_schedule(f, x);
    md_iteration_rows(f, x);
    fputs("CPU time: the fit and score seconds of the iteration's tasks that count. The journal's records "
          "carry no finish time, so an iteration's wall span is not known: the search's wall time is under "
          "Timings and environment.\n\n", f);
    char cpu[32];
    rpt_fmt_secs(cpu, sizeof cpu, hv->uncounted_cpu_s);
    if (hv->n_uncounted)
        fprintf(f, "**Work that did not count**: %d task result%s (%s CPU): speculative tasks that idle ranks "
                   "ran for leading candidates before their iteration ended and that were then not promoted, "
                   "or tasks recorded twice. They stay in the journal and are left out of every score here.\n\n",
                hv->n_uncounted, hv->n_uncounted == 1 ? "" : "s", cpu);
    else
        fputs("Work that did not count: none (every recorded task result counts).\n\n", f);
    if (x->plots_drawn || x->n_plots)
        fputs("The figure *Mean CV accuracy against resource* (under Plots) draws every candidate's score "
              "at each iteration it reached.\n\n", f);
}
