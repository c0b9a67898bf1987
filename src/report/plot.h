/* plot.h - the report's figures, drawn by gnuplot (Debian's gnuplot-nox) as SVG and PNG.
 *
 * Each plot_* call writes its data as STEM.csv into the plot directory at once (so any
 * tool can redraw it, whether gnuplot is there or not) and adds the figure to one gnuplot
 * script, plots.gp; plot_render then runs gnuplot once on it, with fork() and execvp()
 * (never a shell), inside the plot directory, with a time limit, producing STEM.svg and
 * STEM.png. The gnuplot binary is $FG_GNUPLOT, else `gnuplot` on the PATH. Text from user
 * files (parameter names and values) only ever appears inside quoted gnuplot strings.
 * No printing: failures come back as messages. */
#ifndef PLOT_H
#define PLOT_H

#include <stdint.h>

#include "fg_util.h"

typedef struct plot_set plot_set;

/* Starts a set of figures in dir (created if missing; its parent must exist). Returns
 * NULL with a message on failure. Free with plot_free. */
plot_set *plot_new(const char *dir, fg_err *err);
void plot_free(plot_set *p); /* NULL is a no-op */

/* One panel of plot_params: a grid parameter, its values in axis order, and one point per
 * configuration that has the parameter (value_of[i] indexes values). best_of_value[i] is
 * 1 for the configuration with the highest mean among those with the same value. All
 * arrays are borrowed. */
typedef struct {
    const char *name;
    int n_values;
    const char *const *values;
    int n_points;
    const int *config, *value_of, *best_of_value;
    const double *mean, *sem;
} plot_panel;

/* Mean CV score (error bars: standard error over folds) against each parameter, one panel
 * per parameter; writes STEM.csv (every configuration) and STEM_best.csv (the best per
 * value). Returns 0 or -1. */
int plot_params(plot_set *p, const char *stem, const char *title, const plot_panel *panels, int n,
                fg_err *err);

/* A learning curve: per-epoch training and validation loss and accuracy (NaN where there
 * is none, e.g. the refit's validation). Arrays of n_epochs, borrowed. */
typedef struct {
    const char *label;
    int n_epochs;
    const double *loss, *acc, *val_loss, *val_acc;
} plot_curve;

/* Loss and accuracy per epoch, one line per curve (solid: training, dashed: validation). */
int plot_curves(plot_set *p, const char *stem, const char *title, const plot_curve *c, int n,
                fg_err *err);

/* An n x n confusion matrix counts[true * n + predicted] with class names, shaded by the
 * fraction of each true class, every cell labelled with its count. */
int plot_confusion(plot_set *p, const char *stem, const char *title, const int32_t *counts, int n,
                   const char *const *names, fg_err *err);

/* A point of plot_cost: a configuration's mean fit time (x), mean score and its standard
 * error (y), and mark: bit 0 the best configuration, bit 1 the one-standard-error choice. */
typedef struct {
    int config;
    double x, y, yerr;
    int mark;
} plot_point;

/* Score against fit time (a log axis when the times span more than a factor of 10). */
int plot_cost(plot_set *p, const char *stem, const char *title, const char *xlabel, const plot_point *pt,
              int n, fg_err *err);

/* A point of plot_resource: a candidate's mean CV score at one iteration (its resource);
 * best is 1 on every point of the best candidate. */
typedef struct {
    int config, iter;
    double resource, mean;
    int best;
} plot_rpoint;

/* A successive-halving search: mean CV score against resource (a log axis), one line per
 * candidate through the iterations it reached, the best candidate's line highlighted. The
 * points must come grouped by candidate, each candidate's by iteration; STEM.csv holds them
 * with a blank line between candidates (which gnuplot and pandas both read). */
int plot_resource(plot_set *p, const char *stem, const char *title, const char *xlabel, const plot_rpoint *pt,
                  int n, fg_err *err);

/* Runs gnuplot on the figures added so far (timeout_s > 0: killed after that many
 * seconds). Returns 0 when every STEM.svg and STEM.png was written, -1 with a one-line
 * message otherwise ("gnuplot not found (install gnuplot-nox)" when there is no gnuplot;
 * else gnuplot's first error line). The CSV files stay either way. */
int plot_render(plot_set *p, double timeout_s, fg_err *err);

/* The figures added, in order: their file stem and title. Owned by p. */
int plot_count(const plot_set *p);
const char *plot_stem(const plot_set *p, int i);
const char *plot_title(const plot_set *p, int i);

#endif
