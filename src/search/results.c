/* results.c - a results directory read back: its journals merged and checked, the grid
 * copy checked against them, and the best configuration (see results.h). */
#define _POSIX_C_SOURCE 200809L
#include "results.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fg_msg.h"
#include "nn.h"
#include "prepare.h"
#include "report.h"

/* Appends "; "-separated text to why (size n, current length *len). */
static void add_diff(char *why, size_t n, size_t *len, const char *fmt, ...)
{
    if (*len + 3 >= n)
        return;
    if (*len)
        *len += (size_t)snprintf(why + *len, n - *len, "; ");
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(why + *len, n - *len, fmt, ap);
    va_end(ap);
    if (w > 0)
        *len = *len + (size_t)w < n ? *len + (size_t)w : n - 1;
}

/* Compares the journal's header with this run's; writes what differs to why. */
int results_same_search(const jnl_header *was, const jnl_header *now, char *why, size_t n)
{
    size_t len = 0;
    why[0] = '\0';
    if (was->grid_hash != now->grid_hash)
        add_diff(why, n, &len, "the grid file differs from the recorded grid.yaml");
    if (was->n_configs != now->n_configs)
        add_diff(why, n, &len, "%lld configurations, recorded %lld", (long long)now->n_configs,
                 (long long)was->n_configs);
    if (was->folds != now->folds)
        add_diff(why, n, &len, "%d folds, recorded %d", now->folds, was->folds);
    if (was->seed != now->seed)
        add_diff(why, n, &len, "seed %llu, recorded %llu", (unsigned long long)now->seed,
                 (unsigned long long)was->seed);
    if (was->cv_seed != now->cv_seed)
        add_diff(why, n, &len, "cv seed %llu, recorded %llu", (unsigned long long)now->cv_seed,
                 (unsigned long long)was->cv_seed);
    if (was->subset != now->subset)
        add_diff(why, n, &len, "subset %d, recorded %d", now->subset, was->subset);
    if (was->threads > 0 && now->threads > 0 && was->threads != now->threads)
        add_diff(why, n, &len, "%d BLAS threads, recorded %d", now->threads, was->threads);
    if (was->train_images_crc32 != now->train_images_crc32 ||
        was->train_labels_crc32 != now->train_labels_crc32)
        add_diff(why, n, &len, "the training data differ (CRC-32 %08lx/%08lx, recorded %08lx/%08lx)",
                 (unsigned long)now->train_images_crc32, (unsigned long)now->train_labels_crc32,
                 (unsigned long)was->train_images_crc32, (unsigned long)was->train_labels_crc32);
    if (was->folds_checksum != now->folds_checksum && len == 0)
        add_diff(why, n, &len, "the fold assignment differs");
    return len == 0;
}

/* Prints what a journal reader skipped: one warning line per skipped line (the first
 * JNL_MAX_ISSUES), naming the file and the line, then how many more. */
void results_warn_skipped(const char *path, const jnl_contents *jc)
{
    char msg[FG_ERR_MAX];
    for (int i = 0; i < jc->n_issues; i++) {
        snprintf(msg, sizeof msg, "warning: %s:%ld: skipped: %s", path, jc->issues[i].line, jc->issues[i].why);
        fg_print_error(msg);
    }
    int total = jc->n_torn + jc->n_rejected;
    if (total > jc->n_issues) {
        snprintf(msg, sizeof msg, "warning: %s: %d more line(s) skipped", path, total - jc->n_issues);
        fg_print_error(msg);
    }
}

/* Reads a journal, every record checked against its header and against the grid. */
int results_load_journal(const char *path, const grid *g, jnl_contents *jc, fg_err *err)
{
    jnl_expect x;
    if (rpt_journal_expect(g, &x, err))
        return -1;
    int rc = jnl_load(path, &x, jc, err);
    rpt_journal_expect_free(&x);
    return rc;
}

/* The grid text a directory holds must be the one its journal's header records. */
int results_grid_matches(const char *gp, const grid *g, const jnl_header *h, const char *jpath, fg_err *err)
{
    size_t len;
    const char *text = grid_text(g, &len);
    uint64_t got = fg_hash_bytes(text, len, 0);
    if (got == h->grid_hash)
        return 0;
    return fg_err_set(err, "%s: edited since the search started (its hash is %016llx, %s records %016llx); "
                           "restore the grid file the search ran with",
                      gp, (unsigned long long)got, jpath, (unsigned long long)h->grid_hash);
}

void results_free(results *r)
{
    free(r->e);
    free(r->s);
    r->e = NULL;
    r->s = NULL;
    r->n = r->ns = 0;
}

/* Reads every DIR/journal*.jsonl (journal.jsonl first, then the others by name). Their
 * headers must describe the same search, the search of g (DIR/grid.yaml as read), checked
 * before any record is. Records are checked against the header and the grid; skipped ones
 * are warned about. Entries are concatenated (the first record of a task wins when
 * aggregating). */
int results_read(const char *dir, const grid *g, results *r, fg_err *err)
{
    memset(r, 0, sizeof *r);
    char **names; /* DIR/journal*.jsonl, journal.jsonl first */
    int nn;
    if (jnl_dir_journals(dir, &names, &nn, err))
        return -1;
    int rc = 0;
    char first[4400] = "", gp[4400];
    snprintf(gp, sizeof gp, "%s/grid.yaml", dir);
    for (int i = 0; i < nn && rc == 0; i++) {
        const char *path = names[i];
        jnl_header hh;
        char why[1024];
        if (jnl_read_header(path, &hh, err)) {
            rc = -1;
            break;
        }
        if (i == 0) {
            r->h = hh;
            snprintf(first, sizeof first, "%s", path);
            if (results_grid_matches(gp, g, &hh, path, err)) {
                rc = -1;
                break;
            }
        } else if (!results_same_search(&r->h, &hh, why, sizeof why)) {
            rc = fg_err_set(err, "%s: not part of the same search as %s: %s", path, first, why);
            break;
        }
        jnl_contents jc;
        if (results_load_journal(path, g, &jc, err)) {
            rc = -1;
            break;
        }
        results_warn_skipped(path, &jc);
        jnl_entry *ne = realloc(r->e, (size_t)(r->n + jc.n + 1) * sizeof *ne);
        jnl_session *ns = realloc(r->s, (size_t)(r->ns + jc.n_sessions + 1) * sizeof *ns);
        if (ne)
            r->e = ne;
        if (ns)
            r->s = ns;
        if (!ne || !ns) {
            jnl_contents_free(&jc);
            rc = fg_err_set(err, "out of memory merging journals");
            break;
        }
        for (int k = 0; k < jc.n; k++) {
            jnl_entry *x = &r->e[r->n + k];
            *x = jc.e[k];
            x->confusion = NULL; /* in jc's block, freed below (reports read it with the history) */
            if (x->session >= 0)
                x->session += r->ns;
            if (x->fold == JNL_REFIT)
                snprintf(r->refit_path, sizeof r->refit_path, "%s", path);
        }
        memcpy(r->s + r->ns, jc.s, (size_t)jc.n_sessions * sizeof *jc.s);
        r->n += jc.n;
        r->ns += jc.n_sessions;
        jnl_contents_free(&jc);
        r->n_files++;
    }
    jnl_paths_free(names, nn);
    if (rc == 0 && r->n_files == 0)
        rc = fg_err_set(err, "%s: no journal*.jsonl: not a fmnist-grid results directory", dir);
    if (rc) {
        results_free(r);
        return -1;
    }
    jnl_sort_sessions(r->s, r->ns, r->e, r->n);
    return 0;
}

/* A results directory: its grid.yaml (a regular file, checked against the journal's
 * header) and every journal in it; the grid built for the input the search recorded
 * (prep_use_recorded). Prints the error and returns -1 (nothing to free) on
 * failure. */
int results_open(const char *dir, grid **g, results *r)
{
    fg_err err;
    char gp[4200];
    snprintf(gp, sizeof gp, "%s/grid.yaml", dir);
    char *text = NULL;
    size_t len = 0;
    *g = NULL;
    if (fg_read_file(gp, RPT_GRID_TEXT_MAX, "grid file", &text, &len, &err) ||
        grid_load_string(text, len, gp, g, &err)) {
        free(text);
        fg_print_error(err.msg);
        return -1;
    }
    free(text);
    if (results_read(dir, *g, r, &err)) {
        fg_print_error(err.msg);
        grid_free(*g);
        *g = NULL;
        return -1;
    }
    if (prep_use_recorded(*g, r->h.in_h, r->h.in_w, r->h.in_c, r->h.classes, &err)) { /* the search's input */
        fg_print_error(err.msg);
        results_free(r);
        grid_free(*g);
        *g = NULL;
        return -1;
    }
    return 0;
}


int64_t results_best(const grid *g, const jnl_entry *e, int n)
{
    int64_t nc = grid_n_configs(g), best = -1;
    rpt_config *agg = NULL;
    double *sp = NULL;
    fg_err err;
    if (rpt_aggregate(e, n, nc, grid_opts_c(g)->folds, &agg, &sp, &err) == 0) {
        rpt_costs(g, agg, nc); /* ties in the mean go to the cheaper network */
        best = rpt_best(agg, nc);
    }
    free(agg);
    free(sp);
    return best;
}

const jnl_entry *results_refit_of(const jnl_entry *e, int n, int64_t best)
{
    const jnl_entry *rec = NULL;
    for (int i = 0; i < n; i++)
        if (e[i].fold == JNL_REFIT && e[i].config == best)
            rec = &e[i];
    return rec;
}
