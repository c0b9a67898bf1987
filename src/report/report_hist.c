/* report_hist.c - the learning curves of the report: per-epoch means over folds of the top
 * configurations' histories and the refit's, read again from the journals of the results
 * directory (the histories are not kept in memory with the entries). */
#include "report_parts.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void hist_add(rpt_hist *a, const jnl_record *r)
{
    for (int i = 0; i < r->e.epochs_run && i < NN_MAX_EPOCHS; i++) {
        const nn_epoch *h = &r->hist[i];
        if (!isnan(h->loss) && !isnan(h->acc)) {
            a->loss[i] += h->loss;
            a->acc[i] += h->acc;
            a->cnt[i]++;
        }
        if (!isnan(h->val_loss) && !isnan(h->val_acc)) {
            a->val_loss[i] += h->val_loss;
            a->val_acc[i] += h->val_acc;
            a->vcnt[i]++;
        }
        if (i + 1 > a->n)
            a->n = i + 1;
    }
}

static void hist_finish(rpt_hist *a)
{
    for (int i = 0; i < a->n; i++) {
        a->loss[i] = a->cnt[i] ? a->loss[i] / a->cnt[i] : NAN;
        a->acc[i] = a->cnt[i] ? a->acc[i] / a->cnt[i] : NAN;
        a->val_loss[i] = a->vcnt[i] ? a->val_loss[i] / a->vcnt[i] : NAN;
        a->val_acc[i] = a->vcnt[i] ? a->val_acc[i] / a->vcnt[i] : NAN;
    }
}

static int on_record(void *p, const jnl_record *r)
{
    rpt_ctx *x = p;
    if (r->e.fold == JNL_REFIT) {
        if (x->refit && r->e.config == x->refit->config) {
            memset(&x->refit_h, 0, sizeof x->refit_h); /* the last refit recorded */
            hist_add(&x->refit_h, r);
            size_t k = (size_t)r->e.classes;
            int32_t *m = k && !x->refit->confusion ? realloc(x->conf_own, k * k * sizeof *m) : NULL;
            if (m) {
                memcpy(m, r->confusion, k * k * sizeof *m);
                x->conf = x->conf_own = m;
                x->conf_k = (int)k;
                rpt_class_names_of(x->g, x->conf_k, x->names, x->num);
            }
        }
        return 0;
    }
    if (r->e.fold < 0 || r->e.fold >= x->folds)
        return 0;
    for (int t = 0; t < x->n_top; t++)
        if (x->top[t] == r->e.config && r->e.iter == x->top_iter[t]) { /* halving: its last iteration's */
            char *s = &x->seen[t * x->folds + r->e.fold];
            if (!*s && r->e.status == NN_STATUS_OK)
                hist_add(&x->top_h[t], r);
            *s = 1;
        }
    return 0;
}

void rpt_read_histories(rpt_ctx *x, const char *journal_path)
{
    x->seen = calloc((size_t)(x->n_top ? x->n_top : 1) * (size_t)x->folds, 1);
    if (!x->seen)
        return;
    char **paths = NULL;
    int np = 0;
    if (jnl_dir_journals(x->dir, &paths, &np, NULL))
        np = 0; /* none readable: journal_path alone */
    /* The same records as the aggregation: only those that pass every check. */
    jnl_expect ex;
    const jnl_expect *xp = rpt_journal_expect(x->g, &ex, NULL) == 0 ? &ex : NULL;
    for (int i = 0; i < np; i++)
        jnl_each_record_ex(paths[i], xp, on_record, x, NULL);
    if (np == 0 && journal_path)
        jnl_each_record_ex(journal_path, xp, on_record, x, NULL);
    if (xp)
        rpt_journal_expect_free(&ex);
    jnl_paths_free(paths, np);
    for (int t = 0; t < x->n_top; t++)
        hist_finish(&x->top_h[t]);
    hist_finish(&x->refit_h);
}
