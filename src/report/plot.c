/* plot.c - CSV data and one gnuplot script for the report's figures; gnuplot runs as a
 * child process (fork + execvp, no shell) in the plot directory, its stderr kept in
 * gnuplot.log for the one-line error, killed when it overruns its time limit. */
#define _POSIX_C_SOURCE 200809L
#include "plot.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fg_afile.h"
#include "fg_buf.h"

#define PLOT_MAX 16

struct plot_set {
    char dir[4096];
    int n;
    char stem[PLOT_MAX][64];
    char title[PLOT_MAX][256];
    char *body[PLOT_MAX]; /* gnuplot commands drawing figure i (after `set output`) */
    int w[PLOT_MAX], h[PLOT_MAX];
};

plot_set *plot_new(const char *dir, fg_err *err)
{
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fg_err_set(err, "%s: cannot create: %s", dir, strerror(errno));
        return NULL;
    }
    plot_set *p = calloc(1, sizeof *p);
    if (!p) {
        fg_err_set(err, "out of memory");
        return NULL;
    }
    snprintf(p->dir, sizeof p->dir, "%s", dir);
    return p;
}

void plot_free(plot_set *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->n; i++)
        free(p->body[i]);
    free(p);
}

int plot_count(const plot_set *p) { return p ? p->n : 0; }
const char *plot_stem(const plot_set *p, int i) { return p->stem[i]; }
const char *plot_title(const plot_set *p, int i) { return p->title[i]; }

/* ---- writing ------------------------------------------------------------------------- */

/* A gnuplot single-quoted string: '' stands for a quote, control characters become
 * spaces; nothing inside is interpreted (the terminals are set noenhanced). */
static void gp_qstr(fg_buf *b, const char *s)
{
    fg_buf_printf(b, "'");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\'')
            fg_buf_printf(b, "''");
        else
            fg_buf_printf(b, "%c", c < 0x20 || c == 0x7f ? ' ' : c);
    }
    fg_buf_printf(b, "'");
}

/* For gnuplot's strcol(): the parameter name as written to the CSV must compare equal to
 * the quoted name in the script, so names are written without commas or quotes. */
static void plain_name(char *out, size_t n, const char *s)
{
    size_t k = 0;
    for (; *s && k + 1 < n; s++)
        out[k++] = (*s == ',' || *s == '"' || *s == '\'' || (unsigned char)*s < 0x20) ? '_' : *s;
    out[k] = '\0';
}

static void csv_num(FILE *f, double v)
{
    if (isnan(v))
        fputs("NaN", f); /* gnuplot and pandas both read NaN */
    else
        fprintf(f, "%.9g", v);
}

static FILE *open_csv(plot_set *p, const char *name, fg_err *err)
{
    char path[4300];
    snprintf(path, sizeof path, "%s/%s", p->dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        fg_err_set(err, "%s: cannot write: %s", path, strerror(errno));
    return f;
}

static int close_csv(plot_set *p, FILE *f, const char *name, fg_err *err)
{
    int bad = ferror(f) != 0;
    if (fclose(f) != 0)
        bad = 1;
    if (bad)
        return fg_err_set(err, "%s/%s: write failed", p->dir, name);
    return 0;
}

/* Registers figure stem with its commands (takes b's buffer). */
static int add_figure(plot_set *p, const char *stem, const char *title, fg_buf *b, int w, int h,
                      fg_err *err)
{
    if (b->bad || p->n >= PLOT_MAX) {
        free(b->s);
        return fg_err_set(err, b->bad ? "out of memory writing a plot script" : "too many plots");
    }
    snprintf(p->stem[p->n], sizeof p->stem[0], "%s", stem);
    snprintf(p->title[p->n], sizeof p->title[0], "%s", title);
    p->body[p->n] = b->s;
    p->w[p->n] = w;
    p->h[p->n] = h;
    p->n++;
    return 0;
}

static const char *const colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                     "#8c564b", "#e377c2", "#7f7f7f"};

/* ---- figures ------------------------------------------------------------------------- */

int plot_params(plot_set *p, const char *stem, const char *title, const plot_panel *panels, int n,
                fg_err *err)
{
    char name[96], bname[96];
    snprintf(name, sizeof name, "%s.csv", stem);
    snprintf(bname, sizeof bname, "%s_best.csv", stem);
    FILE *f = open_csv(p, name, err);
    if (!f)
        return -1;
    FILE *fb = open_csv(p, bname, err);
    if (!fb) {
        fclose(f);
        return -1;
    }
    fputs("parameter,position,value,config,mean_test_score,std_error_test_score\n", f);
    fputs("parameter,position,value,config,mean_test_score,std_error_test_score\n", fb);
    for (int k = 0; k < n; k++) {
        const plot_panel *pp = &panels[k];
        char pn[128];
        plain_name(pn, sizeof pn, pp->name);
        for (int v = 0; v < pp->n_values; v++)
            for (int i = 0; i < pp->n_points; i++) {
                if (pp->value_of[i] != v)
                    continue;
                for (int which = 0; which < 2; which++) {
                    if (which && !pp->best_of_value[i])
                        continue;
                    FILE *o = which ? fb : f;
                    fprintf(o, "%s,%d,", pn, v);
                    fg_csv_field(o, pp->values[v], 1);
                    fprintf(o, ",%d,", pp->config[i]);
                    csv_num(o, pp->mean[i]);
                    fputc(',', o);
                    csv_num(o, pp->sem[i]);
                    fputc('\n', o);
                }
            }
    }
    int rc = close_csv(p, f, name, err);
    if (close_csv(p, fb, bname, rc ? NULL : err))
        rc = -1;
    if (rc)
        return -1;
    int cols = n < 3 ? (n < 1 ? 1 : n) : 3, rows = (n + cols - 1) / cols;
    if (rows < 1)
        rows = 1;
    fg_buf b = {0};
    fg_buf_printf(&b, "set multiplot layout %d,%d title ", rows, cols);
    gp_qstr(&b, title);
    fg_buf_printf(&b, "\nset ylabel 'mean CV accuracy'\nset grid ytics\nunset key\n");
    for (int k = 0; k < n; k++) {
        const plot_panel *pp = &panels[k];
        char pn[128];
        plain_name(pn, sizeof pn, pp->name);
        fg_buf_printf(&b, "set title ");
        gp_qstr(&b, pp->name);
        fg_buf_printf(&b, "\nset xrange [-0.5:%g]\nset xtics (", pp->n_values - 0.5);
        for (int v = 0; v < pp->n_values; v++) {
            fg_buf_printf(&b, "%s", v ? ", " : "");
            gp_qstr(&b, pp->values[v]);
            fg_buf_printf(&b, " %d", v);
        }
        fg_buf_printf(&b, ")\nplot '%s.csv' skip 1 using 2:(strcol(1) eq ", stem);
        gp_qstr(&b, pn);
        fg_buf_printf(&b, " ? $5 : NaN):6 with yerrorbars pt 7 ps 0.5 lc rgb '%s' notitle, \\\n"
                      "     '%s_best.csv' skip 1 using 2:(strcol(1) eq ",
                  colors[0], stem);
        gp_qstr(&b, pn);
        fg_buf_printf(&b, " ? $5 : NaN) with linespoints lw 2 pt 7 ps 0.8 lc rgb '%s' notitle\n", colors[1]);
    }
    fg_buf_printf(&b, "unset multiplot\nunset xtics\nset xtics\nunset title\nset xrange [*:*]\n");
    return add_figure(p, stem, title, &b, 380 * cols, 320 * rows + 30, err);
}

int plot_curves(plot_set *p, const char *stem, const char *title, const plot_curve *c, int n,
                fg_err *err)
{
    char name[96];
    snprintf(name, sizeof name, "%s.csv", stem);
    FILE *f = open_csv(p, name, err);
    if (!f)
        return -1;
    fputs("series,label,epoch,loss,accuracy,val_loss,val_accuracy\n", f);
    for (int s = 0; s < n; s++)
        for (int e = 0; e < c[s].n_epochs; e++) {
            fprintf(f, "%d,", s);
            fg_csv_field(f, c[s].label, 1);
            fprintf(f, ",%d,", e + 1);
            csv_num(f, c[s].loss[e]);
            fputc(',', f);
            csv_num(f, c[s].acc[e]);
            fputc(',', f);
            csv_num(f, c[s].val_loss[e]);
            fputc(',', f);
            csv_num(f, c[s].val_acc[e]);
            fputc('\n', f);
        }
    if (close_csv(p, f, name, err))
        return -1;
    fg_buf b = {0};
    fg_buf_printf(&b, "set multiplot layout 1,2 title ");
    gp_qstr(&b, title);
    fg_buf_printf(&b, "\nset xlabel 'epoch'\nset grid\nset key outside bottom center horizontal maxcols 2 "
                  "samplen 3\n");
    const char *what[2] = {"loss", "accuracy"};
    for (int panel = 0; panel < 2; panel++) {
        fg_buf_printf(&b, "set title '%s (solid: training, dashed: validation)'\nset ylabel '%s'\nplot ",
                  what[panel], what[panel]);
        for (int s = 0; s < n; s++) {
            const char *col = colors[s % (int)(sizeof colors / sizeof colors[0])];
            int tcol = panel == 0 ? 4 : 5, vcol = panel == 0 ? 6 : 7;
            fg_buf_printf(&b, "%s'%s.csv' skip 1 using 3:($1 == %d ? $%d : NaN) with linespoints lw 2 pt 7 ps 0.4 "
                          "dt 1 lc rgb '%s' title ",
                      s ? ", \\\n     " : "", stem, s, tcol, col);
            gp_qstr(&b, c[s].label);
            fg_buf_printf(&b, ", \\\n     '%s.csv' skip 1 using 3:($1 == %d ? $%d : NaN) with lines lw 2 dt 2 "
                          "lc rgb '%s' notitle",
                      stem, s, vcol, col);
        }
        fg_buf_printf(&b, "\n");
    }
    fg_buf_printf(&b, "unset multiplot\nunset xlabel\nunset ylabel\nunset title\nunset grid\n");
    int rows = (n + 1) / 2;
    return add_figure(p, stem, title, &b, 1000, 420 + 18 * rows, err);
}

int plot_confusion(plot_set *p, const char *stem, const char *title, const int32_t *counts, int n,
                   const char *const *names, fg_err *err)
{
    char name[96];
    snprintf(name, sizeof name, "%s.csv", stem);
    FILE *f = open_csv(p, name, err);
    if (!f)
        return -1;
    fputs("true,predicted,true_class,predicted_class,count,fraction_of_true\n", f);
    for (int t = 0; t < n; t++) {
        long long row = 0;
        for (int q = 0; q < n; q++)
            row += counts[t * n + q];
        for (int q = 0; q < n; q++) {
            fprintf(f, "%d,%d,", t, q);
            fg_csv_field(f, names[t], 1);
            fputc(',', f);
            fg_csv_field(f, names[q], 1);
            fprintf(f, ",%d,", (int)counts[t * n + q]);
            csv_num(f, row ? (double)counts[t * n + q] / (double)row : NAN);
            fputc('\n', f);
        }
    }
    if (close_csv(p, f, name, err))
        return -1;
    fg_buf b = {0};
    fg_buf_printf(&b, "set title ");
    gp_qstr(&b, title);
    fg_buf_printf(&b, "\nset xlabel 'predicted class'\nset ylabel 'true class'\nset xrange [-0.5:%g]\n"
                  "set yrange [%g:-0.5]\nset cbrange [0:1]\nset cblabel 'fraction of the true class'\n"
                  "set palette defined (0 '#ffffff', 1 '#08306b')\nset xtics rotate by -40 left\n"
                  "set xtics (", n - 0.5, n - 0.5);
    for (int k = 0; k < n; k++) {
        fg_buf_printf(&b, "%s", k ? ", " : "");
        gp_qstr(&b, names[k]);
        fg_buf_printf(&b, " %d", k);
    }
    fg_buf_printf(&b, ")\nset ytics (");
    for (int k = 0; k < n; k++) {
        fg_buf_printf(&b, "%s", k ? ", " : "");
        gp_qstr(&b, names[k]);
        fg_buf_printf(&b, " %d", k);
    }
    fg_buf_printf(&b, ")\nset size ratio -1\nplot '%s.csv' skip 1 using 2:1:6 with image notitle, \\\n"
                  "     '' skip 1 using 2:1:(sprintf('%%d', $5)):($6 > 0.5 ? 0xffffff : 0x000000) with labels tc rgb variable "
                  "font ',9' notitle\n",
              stem);
    fg_buf_printf(&b, "unset size\nset autoscale\nunset xtics\nunset ytics\nset xtics\nset ytics\nunset xlabel\n"
                  "unset ylabel\nunset cblabel\nunset title\n");
    return add_figure(p, stem, title, &b, 760, 700, err);
}

int plot_cost(plot_set *p, const char *stem, const char *title, const char *xlabel, const plot_point *pt,
              int n, fg_err *err)
{
    char name[96];
    snprintf(name, sizeof name, "%s.csv", stem);
    FILE *f = open_csv(p, name, err);
    if (!f)
        return -1;
    fputs("config,mean_fit_time,mean_test_score,std_error_test_score,best,one_se_choice\n", f);
    double lo = INFINITY, hi = 0;
    for (int i = 0; i < n; i++) {
        fprintf(f, "%d,", pt[i].config);
        csv_num(f, pt[i].x);
        fputc(',', f);
        csv_num(f, pt[i].y);
        fputc(',', f);
        csv_num(f, pt[i].yerr);
        fprintf(f, ",%d,%d\n", pt[i].mark & 1, (pt[i].mark >> 1) & 1);
        if (pt[i].x > 0 && !isnan(pt[i].y)) {
            lo = pt[i].x < lo ? pt[i].x : lo;
            hi = pt[i].x > hi ? pt[i].x : hi;
        }
    }
    if (close_csv(p, f, name, err))
        return -1;
    fg_buf b = {0};
    fg_buf_printf(&b, "set title ");
    gp_qstr(&b, title);
    fg_buf_printf(&b, "\nset xlabel ");
    gp_qstr(&b, xlabel);
    fg_buf_printf(&b, "\nset ylabel 'mean CV accuracy'\nset grid\nset key bottom right\n%s"
                  "plot '%s.csv' skip 1 using 2:3:4 with yerrorbars pt 7 ps 0.6 lc rgb '%s' title 'configuration "
                  "(mean ± SE)', \\\n"
                  "     '' skip 1 using 2:3:(sprintf(' %%d', $1)) with labels left offset 0.3,0.4 font ',8' notitle, \\\n"
                  "     '' skip 1 using 2:($5 == 1 ? $3 : NaN) with points pt 6 ps 2.2 lw 2 lc rgb '%s' title 'best', \\\n"
                  "     '' skip 1 using 2:($6 == 1 ? $3 : NaN) with points pt 4 ps 2.4 lw 2 lc rgb '%s' "
                  "title 'one-standard-error choice'\n",
              hi > 10 * lo ? "set logscale x\n" : "", stem, colors[0], colors[1], colors[2]);
    fg_buf_printf(&b, "unset logscale x\nunset xlabel\nunset ylabel\nunset title\nunset grid\n");
    return add_figure(p, stem, title, &b, 760, 520, err);
}

int plot_resource(plot_set *p, const char *stem, const char *title, const char *xlabel, const plot_rpoint *pt,
                  int n, fg_err *err)
{
    char name[96];
    snprintf(name, sizeof name, "%s.csv", stem);
    FILE *f = open_csv(p, name, err);
    if (!f)
        return -1;
    fputs("config,iter,n_resources,mean_test_score,best\n", f);
    for (int i = 0; i < n; i++) {
        if (i && pt[i].config != pt[i - 1].config)
            fputc('\n', f); /* a new line in the figure */
        fprintf(f, "%d,%d,", pt[i].config, pt[i].iter);
        csv_num(f, pt[i].resource);
        fputc(',', f);
        csv_num(f, pt[i].mean);
        fprintf(f, ",%d\n", pt[i].best ? 1 : 0);
    }
    if (close_csv(p, f, name, err))
        return -1;
    fg_buf b = {0};
    fg_buf_printf(&b, "set title ");
    gp_qstr(&b, title);
    fg_buf_printf(&b, "\nset xlabel ");
    gp_qstr(&b, xlabel);
    fg_buf_printf(&b, "\nset ylabel 'mean CV accuracy'\nset grid\nset logscale x\nset key bottom right\n"
                  "set offsets graph 0.04, graph 0.04, 0, 0\nset xtics (");
    /* a tic at each iteration's resource (the points' distinct x values, at most 64) */
    double tic[64];
    int nt = 0;
    for (int i = 0; i < n && nt < 64; i++) {
        int seen = isnan(pt[i].resource);
        for (int k = 0; k < nt && !seen; k++)
            seen = tic[k] == pt[i].resource;
        if (!seen) {
            fg_buf_printf(&b, "%s%.9g", nt ? ", " : "", pt[i].resource);
            tic[nt++] = pt[i].resource;
        }
    }
    fg_buf_printf(&b, ")\n"
                  "plot '%s.csv' skip 1 using 3:4 with linespoints lw 1 pt 7 ps 0.5 lc rgb '%s' title 'candidate', \\\n"
                  "     '' skip 1 using 3:($5 == 1 ? $4 : NaN) with linespoints lw 3 pt 7 ps 1 lc rgb '%s' "
                  "title 'best'\n",
                  stem, colors[0], colors[1]);
    fg_buf_printf(&b, "unset logscale x\nunset offsets\nunset xtics\nset xtics\nunset xlabel\nunset ylabel\n"
                  "unset title\nunset grid\n");
    return add_figure(p, stem, title, &b, 760, 520, err);
}

/* ---- running gnuplot ----------------------------------------------------------------- */

/* The gnuplot to run: $FG_GNUPLOT or `gnuplot`, looked up on the PATH as execvp would.
 * Returns 0 with the program in out when it exists and is executable. */
static int find_gnuplot(char *out, size_t n)
{
    const char *g = getenv("FG_GNUPLOT");
    if (!g || !*g)
        g = "gnuplot";
    if (strchr(g, '/')) {
        snprintf(out, n, "%s", g);
        return access(g, X_OK) == 0 ? 0 : -1;
    }
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        const char *colon = strchr(path, ':');
        size_t len = colon ? (size_t)(colon - path) : strlen(path);
        snprintf(out, n, "%.*s/%s", (int)len, len ? path : ".", g);
        if (access(out, X_OK) == 0)
            return 0;
        path += len + (colon ? 1 : 0);
    }
    snprintf(out, n, "%s", g);
    return -1;
}

static int write_script(plot_set *p, fg_err *err)
{
    fg_afile a;
    if (fg_afile_open(&a, p->dir, "plots.gp", err))
        return -1;
    FILE *f = a.f;
    fputs("# Written by fmnist-grid: draws every figure of the report as SVG and PNG from the CSV\n"
          "# files beside it. Run in this directory: gnuplot plots.gp\n"
          "set datafile separator ','\nset encoding utf8\n",
          f);
    /* Every figure starts from gnuplot's defaults (reset keeps the terminal and output). */
    static const char reset[] = "reset\nset datafile separator ','\n";
    for (int i = 0; i < p->n; i++) {
        /* The same commands twice: once per terminal. */
        fprintf(f, "\n# ---- %s\n", p->stem[i]);
        fprintf(f, "set terminal svg size %d,%d noenhanced font 'DejaVu Sans,12' background rgb 'white'\n"
                   "set output '%s.svg'\n%s%s",
                p->w[i], p->h[i], p->stem[i], reset, p->body[i]);
        fprintf(f, "set terminal pngcairo size %d,%d noenhanced font 'DejaVu Sans,10' background rgb 'white'\n"
                   "set output '%s.png'\n%s%s",
                p->w[i], p->h[i], p->stem[i], reset, p->body[i]);
        fputs("unset output\n", f);
    }
    return fg_afile_commit(&a, err);
}

/* The first line of gnuplot.log that says what went wrong (gnuplot echoes the command,
 * then a caret line, then the message). */
static void first_error(const char *log, char *out, size_t n)
{
    out[0] = '\0';
    int fd;
    if (fg_open_regular(log, O_RDONLY, "log", &fd, NULL, NULL)) /* never a FIFO that blocks */
        return;
    FILE *f = fdopen(fd, "r");
    if (!f) {
        close(fd);
        return;
    }
    char line[512];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        const char *s = line;
        while (*s == ' ' || *s == '\t' || *s == '^')
            s++;
        if (!*s)
            continue;
        if (strstr(s, "rror") || strstr(s, "arning") || !out[0])
            snprintf(out, n, "%s", s);
        if (strstr(s, "rror"))
            break;
    }
    fclose(f);
}

int plot_render(plot_set *p, double timeout_s, fg_err *err)
{
    if (write_script(p, err))
        return -1;
    char prog[4200];
    if (find_gnuplot(prog, sizeof prog))
        return fg_err_set(err, "gnuplot not found (install gnuplot-nox)");
    if (p->n == 0)
        return 0;
    char log[4300];
    snprintf(log, sizeof log, "%s/gnuplot.log", p->dir);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return fg_err_set(err, "cannot start gnuplot: %s", strerror(errno));
    if (pid == 0) {
        /* child: in the plot directory, stdin from /dev/null, stdout and stderr to the log */
        if (chdir(p->dir) != 0)
            _exit(126);
        int lf = open("gnuplot.log", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int nul = open("/dev/null", O_RDONLY);
        if (lf < 0 || nul < 0)
            _exit(126);
        dup2(nul, 0);
        dup2(lf, 1);
        dup2(lf, 2);
        char *argv[] = {prog, "plots.gp", NULL};
        execvp(prog, argv);
        _exit(127);
    }
    int status = 0;
    double t0 = fg_now();
    const struct timespec step = {0, 20 * 1000 * 1000};
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            break;
        if (r < 0 && errno != EINTR)
            return fg_err_set(err, "gnuplot: waitpid: %s", strerror(errno));
        if (timeout_s > 0 && fg_now() - t0 > timeout_s) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return fg_err_set(err, "gnuplot took longer than %.0f s and was stopped", timeout_s);
        }
        nanosleep(&step, NULL);
    }
    char msg[512];
    first_error(log, msg, sizeof msg);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        return fg_err_set(err, "gnuplot not found (install gnuplot-nox)");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return fg_err_set(err, "gnuplot failed (%s %d): %s (see %s)",
                          WIFEXITED(status) ? "exit status" : "signal",
                          WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), msg[0] ? msg : "no message",
                          log);
    /* Every figure must be there, in both formats. */
    for (int i = 0; i < p->n; i++)
        for (int k = 0; k < 2; k++) {
            char path[4400];
            struct stat st;
            snprintf(path, sizeof path, "%s/%s.%s", p->dir, p->stem[i], k ? "png" : "svg");
            if (stat(path, &st) != 0 || st.st_size == 0)
                return fg_err_set(err, "gnuplot did not write %s%s%s", path, msg[0] ? ": " : "", msg);
        }
    unlink(log);
    return 0;
}
