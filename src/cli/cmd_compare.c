/* cmd_compare.c - compare DIR...: the best configurations of several searches side by
 * side, from each DIR/report.yaml. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "report.h"

/* Characters (not bytes) of a UTF-8 string, for aligning columns that hold "±". */
static int utf8_chars(const char *s)
{
    int n = 0;
    for (const unsigned char *u = (const unsigned char *)s; *u; u++)
        n += (*u & 0xc0) != 0x80;
    return n;
}

enum { LABEL = 80, CELL = 96 };

/* The comparison: one row per field, one column (n) per search. */
typedef struct {
    char *label; /* rows x LABEL */
    char *cell;  /* rows x n x CELL */
    int n, rows;
} table;

static char *cell_at(const table *t, int row, int i)
{
    return t->cell + ((size_t)row * (size_t)t->n + (size_t)i) * CELL;
}

/* Starts the next row with its label; returns its index. */
static int new_row(table *t, const char *label)
{
    snprintf(t->label + LABEL * t->rows, LABEL, "%s", label);
    return t->rows++;
}

/* Reads every DIR/report.yaml into rs. Returns EXIT_OK, or EXIT_INPUT after saying why. */
static int read_summaries(const cli *c, rpt_summary *rs)
{
    for (int i = 0; i < c->n_compare; i++) {
        const char *dir = c->compare[i];
        struct stat st;
        char path[4200];
        fg_err err;
        snprintf(path, sizeof path, "%s/report.yaml", dir);
        if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
            fprintf(stderr, "fmnist-grid: compare: %s: no such directory\n", dir);
            return EXIT_INPUT;
        } else if (access(path, F_OK) != 0) {
            fprintf(stderr, "fmnist-grid: compare: %s: no report.yaml (write one with: fmnist-grid report %s)\n",
                    dir, dir);
            return EXIT_INPUT;
        } else if (rpt_read_summary(path, &rs[i], &err)) {
            char msg[FG_ERR_MAX + 64];
            snprintf(msg, sizeof msg, "compare: %s", err.msg);
            fg_print_error(msg);
            return EXIT_INPUT;
        }
    }
    return EXIT_OK;
}

/* The parameters of the best configurations: the union of the names, in order of first
 * appearance. Returns their count. */
static int best_param_names(const rpt_summary *rs, int n, const char **names)
{
    int nn = 0;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < rs[i].n_best_params; k++) {
            int seen = 0;
            for (int m = 0; m < nn && !seen; m++)
                seen = !strcmp(names[m], rs[i].best_param_name[k]);
            if (!seen && nn < RPT_MAX_PARAMS)
                names[nn++] = rs[i].best_param_name[k];
        }
    return nn;
}

/* Cell (r, i): a configuration number, or none when there is none (-1). */
static void cell_config(table *t, int r, int i, int64_t config, const char *none)
{
    if (config >= 0)
        snprintf(cell_at(t, r, i), CELL, "%lld", (long long)config);
    else
        snprintf(cell_at(t, r, i), CELL, "%s", none);
}

/* The rows that say which search and which configuration: directory, search, best
 * configuration and its parameters. */
static void rows_best(table *t, const cli *c, const rpt_summary *rs, const char **names, int nn)
{
    int n = t->n, r = new_row(t, "directory");
    for (int i = 0; i < n; i++)
        snprintf(cell_at(t, r, i), CELL, "%s", c->compare[i]);
    r = new_row(t, "search");
    for (int i = 0; i < n; i++)
        snprintf(cell_at(t, r, i), CELL, "%s", rs[i].grid_name[0] ? rs[i].grid_name : "?");
    r = new_row(t, "best configuration");
    for (int i = 0; i < n; i++)
        cell_config(t, r, i, rs[i].best_config, "none");
    for (int m = 0; m < nn; m++) {
        char label[LABEL];
        snprintf(label, sizeof label, "  %s", names[m]);
        r = new_row(t, label);
        for (int i = 0; i < n; i++) {
            snprintf(cell_at(t, r, i), CELL, "-");
            for (int k = 0; k < rs[i].n_best_params; k++)
                if (!strcmp(rs[i].best_param_name[k], names[m]))
                    snprintf(cell_at(t, r, i), CELL, "%s", rs[i].best_param_value[k]);
        }
    }
}

/* The rows of scores: mean ± SE, configurations not separated, the one-SE choice, refit. */
static void rows_scores(table *t, const rpt_summary *rs)
{
    int n = t->n, r = new_row(t, "mean ± SE (CV)");
    for (int i = 0; i < n; i++) {
        const rpt_summary *q = &rs[i];
        if (isnan(q->best_mean))
            snprintf(cell_at(t, r, i), CELL, "-");
        else if (isnan(q->best_sem))
            snprintf(cell_at(t, r, i), CELL, "%.4f (%d folds)", q->best_mean, q->folds);
        else
            snprintf(cell_at(t, r, i), CELL, "%.4f ± %.4f (%d folds)", q->best_mean, q->best_sem, q->folds);
    }
    char label[LABEL];
    snprintf(label, sizeof label, "not separated (p >= %.2f)", RPT_ALPHA);
    r = new_row(t, label);
    for (int i = 0; i < n; i++)
        if (rs[i].n_indistinguishable >= 0)
            snprintf(cell_at(t, r, i), CELL, "%d of %lld", rs[i].n_indistinguishable, (long long)rs[i].n_configs);
        else
            snprintf(cell_at(t, r, i), CELL, "-");
    r = new_row(t, "one-SE choice");
    for (int i = 0; i < n; i++)
        cell_config(t, r, i, rs[i].one_se_choice, "-");
    r = new_row(t, "refit test accuracy");
    for (int i = 0; i < n; i++)
        if (rs[i].refit_config >= 0 && !isnan(rs[i].refit_test_accuracy))
            snprintf(cell_at(t, r, i), CELL, "%.4f (config %d)", rs[i].refit_test_accuracy, rs[i].refit_config);
        else
            snprintf(cell_at(t, r, i), CELL, "-");
}

/* The rows of work: tasks done, training time, subset. */
static void rows_work(table *t, const rpt_summary *rs)
{
    int n = t->n, r = new_row(t, "tasks done");
    for (int i = 0; i < n; i++)
        if (rs[i].tasks >= 0)
            snprintf(cell_at(t, r, i), CELL, "%lld of %lld", (long long)rs[i].tasks_done, (long long)rs[i].tasks);
        else
            snprintf(cell_at(t, r, i), CELL, "%lld configurations", (long long)rs[i].n_configs);
    r = new_row(t, "training time (tasks)");
    for (int i = 0; i < n; i++)
        if (rs[i].training_time < 120)
            snprintf(cell_at(t, r, i), CELL, "%.1f s", rs[i].training_time);
        else
            fg_fmt_hms(cell_at(t, r, i), CELL, rs[i].training_time);
    r = new_row(t, "subset");
    for (int i = 0; i < n; i++)
        snprintf(cell_at(t, r, i), CELL, rs[i].subset ? "%d images" : "all images", rs[i].subset);
}

/* Prints the table, columns aligned in characters ("±" is two bytes, one character). */
static void print_table(const table *t)
{
    int lw = 0;
    for (int k = 0; k < t->rows; k++)
        if (utf8_chars(t->label + LABEL * k) > lw)
            lw = utf8_chars(t->label + LABEL * k);
    for (int k = 0; k < t->rows; k++) {
        printf("%s%*s", t->label + LABEL * k, lw - utf8_chars(t->label + LABEL * k), "");
        for (int i = 0; i < t->n; i++) {
            int w = 0;
            for (int k2 = 0; k2 < t->rows; k2++)
                if (utf8_chars(cell_at(t, k2, i)) > w)
                    w = utf8_chars(cell_at(t, k2, i));
            const char *s = cell_at(t, k, i);
            printf("  %s%*s", s, i + 1 < t->n ? w - utf8_chars(s) : 0, "");
        }
        printf("\n");
    }
}

/* Prints the best configuration of each search (from DIR/report.yaml) side by side: one
 * column per search, one row per field and per parameter of the best configurations. */
int cmd_compare(int argc, char **argv, const cli *c)
{
    int n = c->n_compare;
    rpt_summary *rs = calloc((size_t)n, sizeof *rs);
    if (!rs) {
        fg_print_error("out of memory");
        return EXIT_RUNTIME;
    }
    int rc = read_summaries(c, rs);
    const char *names[RPT_MAX_PARAMS];
    int nn = rc == EXIT_OK ? best_param_names(rs, n, names) : 0;
    int rows = 11 + nn;
    table t = {calloc((size_t)rows, LABEL), calloc((size_t)rows * (size_t)n, CELL), n, 0};
    if (rc == EXIT_OK && (!t.label || !t.cell)) {
        fg_print_error("out of memory");
        rc = EXIT_RUNTIME;
    }
    if (rc == EXIT_OK) {
        rows_best(&t, c, rs, names, nn);
        rows_scores(&t, rs);
        rows_work(&t, rs);
        print_table(&t);
    }
    free(t.label);
    free(t.cell);
    for (int i = 0; i < n; i++)
        rpt_summary_free(&rs[i]);
    free(rs);
    return rc;
}
