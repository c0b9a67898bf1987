/* results.h - a results directory read back: every journal of it merged (journal.jsonl,
 * shards, the report's refit), each checked against its header and the grid; the grid copy
 * checked against the journal; and the one rule for the best configuration (results_best,
 * that is rpt_best: the highest mean CV score, ties to the lower cost, then the lower
 * index), used by the search's progress line, its refit, `report DIR` and `reproduce`. */
#ifndef RESULTS_H
#define RESULTS_H

#include <stddef.h>
#include <stdint.h>

#include "fg_util.h"
#include "grid.h"
#include "journal.h"

/* The journals of a results directory, merged. */
typedef struct {
    jnl_header h;
    jnl_entry *e;      /* every accepted record of every journal; .session indexes s */
    int n;
    jnl_session *s;    /* every session record, oldest first */
    int ns;
    int n_files;
    char refit_path[4400]; /* the file holding the last refit record, or "" */
} results;

/* Frees what r holds and empties it. */
void results_free(results *r);

/* 1 when the journal header now describes the same search as was; else 0 with what
 * differs in why (n bytes, "; "-separated). */
int results_same_search(const jnl_header *was, const jnl_header *now, char *why, size_t n);

/* Reads the journal at path, every record checked against its header and the grid g.
 * Returns 0 (jnl_contents_free jc), or -1 with err. */
int results_load_journal(const char *path, const grid *g, jnl_contents *jc, fg_err *err);

/* Warns (one line each, the first JNL_MAX_ISSUES) about the lines a journal read skipped. */
void results_warn_skipped(const char *path, const jnl_contents *jc);

/* 0 when the grid text g (read from gp) is the one the journal header h (of jpath)
 * records; else -1 with err saying the grid file was edited. */
int results_grid_matches(const char *gp, const grid *g, const jnl_header *h, const char *jpath, fg_err *err);

/* Reads every DIR/journal*.jsonl (journal.jsonl first, then the others by name) into r;
 * their headers must describe the same search, that of g. Returns 0, or -1 with err. */
int results_read(const char *dir, const grid *g, results *r, fg_err *err);

/* DIR/grid.yaml (a regular file) into *g and every journal into r. Prints the error and
 * returns -1 (nothing to free) on failure. */
int results_open(const char *dir, grid **g, results *r);

/* The best configuration of the n entries e (rpt_aggregate, rpt_costs, rpt_best: the
 * highest mean, then the lower cost, then the lower index), or -1 when none has a score. */
int64_t results_best(const grid *g, const jnl_entry *e, int n);

/* The last refit record of configuration best among e, or NULL. */
const jnl_entry *results_refit_of(const jnl_entry *e, int n, int64_t best);

#endif
