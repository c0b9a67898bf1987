/* report.c - ranking and report files, recomputed from journal entries. The only user of
 * libyaml's emitter. */
#define _POSIX_C_SOURCE 200809L
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "nn.h"

/* ---- aggregation ----------------------------------------------------------------------- */

static void mean_std(const double *v, int n, double *mean, double *std)
{
    double s = 0, ss = 0;
    for (int i = 0; i < n; i++)
        s += v[i];
    *mean = n ? s / n : NAN;
    for (int i = 0; i < n; i++)
        ss += (v[i] - *mean) * (v[i] - *mean);
    *std = n ? sqrt(ss / n) : NAN; /* population std, as scikit-learn */
}

static int cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

int rpt_aggregate(const jnl_entry *e, int n, int64_t n_configs, int folds, rpt_config **out,
                  double **splits, fg_err *err)
{
    *out = NULL;
    *splits = NULL;
    size_t cells = (size_t)n_configs * (size_t)folds;
    rpt_config *c = calloc((size_t)n_configs, sizeof *c);
    double *sp = malloc(cells * sizeof *sp);
    double *fit = malloc(cells * sizeof *fit);
    double *sco = malloc(cells * sizeof *sco);
    int *st = malloc(cells * sizeof *st);
    if (!c || !sp || !fit || !sco || !st) {
        free(c), free(sp), free(fit), free(sco), free(st);
        return fg_err_set(err, "out of memory aggregating %lld configurations", (long long)n_configs);
    }
    for (size_t i = 0; i < cells; i++) {
        sp[i] = NAN;
        fit[i] = sco[i] = NAN;
        st[i] = -1; /* missing */
    }
    for (int i = 0; i < n; i++) {
        if (e[i].fold < 0 || e[i].fold >= folds || e[i].config < 0 || e[i].config >= n_configs)
            continue;
        size_t k = (size_t)e[i].config * (size_t)folds + (size_t)e[i].fold;
        if (st[k] >= 0)
            continue; /* first record wins */
        st[k] = e[i].status;
        fit[k] = e[i].fit_time;
        sco[k] = e[i].score_time;
        sp[k] = e[i].status == NN_STATUS_OK ? (double)e[i].val_acc : NAN;
    }
    double *tmp = malloc((size_t)folds * sizeof *tmp);
    if (!tmp) {
        free(c), free(sp), free(fit), free(sco), free(st);
        return fg_err_set(err, "out of memory");
    }
    for (int64_t ci = 0; ci < n_configs; ci++) {
        rpt_config *r = &c[ci];
        r->config = ci;
        r->status = NN_STATUS_OK;
        r->failed_fold = -1;
        int nf = 0, missing = 0;
        for (int f = 0; f < folds; f++) {
            size_t k = (size_t)ci * (size_t)folds + (size_t)f;
            if (st[k] < 0) {
                missing++;
                continue;
            }
            r->n_done++;
            if (st[k] != NN_STATUS_OK && r->failed_fold < 0) {
                r->status = st[k];
                r->failed_fold = f;
            }
        }
        if (missing && r->failed_fold < 0)
            r->status = RPT_STATUS_PARTIAL;
        for (int f = 0; f < folds; f++)
            tmp[nf++] = sp[(size_t)ci * (size_t)folds + (size_t)f];
        if (r->status == NN_STATUS_OK)
            mean_std(tmp, nf, &r->mean, &r->std);
        else
            r->mean = r->std = NAN;
        nf = 0;
        for (int f = 0; f < folds; f++) {
            double v = fit[(size_t)ci * (size_t)folds + (size_t)f];
            if (!isnan(v))
                tmp[nf++] = v;
        }
        mean_std(tmp, nf, &r->mean_fit, &r->std_fit);
        nf = 0;
        for (int f = 0; f < folds; f++) {
            double v = sco[(size_t)ci * (size_t)folds + (size_t)f];
            if (!isnan(v))
                tmp[nf++] = v;
        }
        mean_std(tmp, nf, &r->mean_score, &r->std_score);
    }
    /* Ranks: 1 + number of configurations with a strictly higher mean (scikit-learn's
     * rankdata(method='min') on -mean); NaN means rank after every finite one. */
    int64_t n_finite = 0;
    for (int64_t i = 0; i < n_configs; i++)
        n_finite += !isnan(c[i].mean);
    double *sorted = malloc((size_t)(n_finite ? n_finite : 1) * sizeof *sorted);
    if (!sorted) {
        free(tmp), free(c), free(sp), free(fit), free(sco), free(st);
        return fg_err_set(err, "out of memory");
    }
    int64_t m = 0;
    for (int64_t i = 0; i < n_configs; i++)
        if (!isnan(c[i].mean))
            sorted[m++] = c[i].mean;
    qsort(sorted, (size_t)m, sizeof *sorted, cmp_desc);
    for (int64_t i = 0; i < n_configs; i++) {
        if (isnan(c[i].mean)) {
            c[i].rank = (int)(n_finite + 1);
            continue;
        }
        /* first position whose value is <= mean: binary search on the descending array */
        int64_t lo = 0, hi = m;
        while (lo < hi) {
            int64_t mid = (lo + hi) / 2;
            if (sorted[mid] > c[i].mean)
                lo = mid + 1;
            else
                hi = mid;
        }
        c[i].rank = (int)(lo + 1);
    }
    free(sorted);
    free(tmp), free(fit), free(sco), free(st);
    *out = c;
    *splits = sp;
    return 0;
}

int64_t rpt_best(const rpt_config *c, int64_t n_configs)
{
    int64_t best = -1;
    for (int64_t i = 0; i < n_configs; i++)
        if (!isnan(c[i].mean) && (best < 0 || c[i].rank < c[best].rank))
            best = i;
    return best;
}

/* ---- files ----------------------------------------------------------------------------- */

typedef struct {
    FILE *f;
    char tmp[4200], final[4200];
} afile;

/* Opens DIR/.NAME.tmp for writing; afile_commit renames it to DIR/NAME after an fsync. */
static int afile_open(afile *a, const char *dir, const char *name, fg_err *err)
{
    snprintf(a->final, sizeof a->final, "%s/%s", dir, name);
    snprintf(a->tmp, sizeof a->tmp, "%s/.%s.tmp", dir, name);
    a->f = fopen(a->tmp, "w");
    if (!a->f)
        return fg_err_set(err, "%s: cannot write: %s", a->tmp, strerror(errno));
    return 0;
}

static int afile_commit(afile *a, fg_err *err)
{
    int bad = ferror(a->f) != 0;
    if (fflush(a->f) != 0 || fsync(fileno(a->f)) != 0)
        bad = 1;
    if (fclose(a->f) != 0)
        bad = 1;
    a->f = NULL;
    if (bad) {
        unlink(a->tmp);
        return fg_err_set(err, "%s: write failed: %s", a->tmp, strerror(errno));
    }
    if (rename(a->tmp, a->final) != 0)
        return fg_err_set(err, "%s: cannot rename into place: %s", a->final, strerror(errno));
    return 0;
}

static void afile_abort(afile *a)
{
    if (a->f)
        fclose(a->f);
    a->f = NULL;
    unlink(a->tmp);
}

static void csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void csv_num(FILE *f, double v, const char *fmt)
{
    if (isnan(v))
        return; /* empty cell, as pandas writes NaN */
    fprintf(f, fmt, v);
}

static const char *status_text(int s)
{
    if (s == RPT_STATUS_PARTIAL)
        return "partial";
    return nn_status_name((nn_status)s);
}

static int write_csv(const char *dir, const grid *g, const rpt_config *c, const double *sp,
                     int64_t nc, int folds, fg_err *err)
{
    afile a;
    if (afile_open(&a, dir, "cv_results.csv", err))
        return -1;
    FILE *f = a.f;
    int np = grid_n_params(g);
    fputs("mean_fit_time,std_fit_time,mean_score_time,std_score_time", f);
    for (int p = 0; p < np; p++)
        fprintf(f, ",param_%s", grid_param_name(g, p));
    fputs(",params", f);
    for (int k = 0; k < folds; k++)
        fprintf(f, ",split%d_test_score", k);
    fputs(",mean_test_score,std_test_score,rank_test_score,status,config\n", f);
    for (int64_t i = 0; i < nc; i++) {
        const rpt_config *r = &c[i];
        csv_num(f, r->mean_fit, "%.6f");
        fputc(',', f);
        csv_num(f, r->std_fit, "%.6f");
        fputc(',', f);
        csv_num(f, r->mean_score, "%.6f");
        fputc(',', f);
        csv_num(f, r->std_score, "%.6f");
        for (int p = 0; p < np; p++) {
            fputc(',', f);
            const char *v = grid_config_value(g, i, p);
            if (v)
                csv_field(f, v);
        }
        fputc(',', f);
        csv_field(f, grid_config_params(g, i));
        for (int k = 0; k < folds; k++) {
            fputc(',', f);
            csv_num(f, sp[(size_t)i * (size_t)folds + (size_t)k], "%.9g");
        }
        fputc(',', f);
        csv_num(f, r->mean, "%.17g");
        fputc(',', f);
        csv_num(f, r->std, "%.17g");
        fprintf(f, ",%d,%s,%lld\n", r->rank, status_text(r->status), (long long)i);
    }
    return afile_commit(&a, err);
}

/* Order of configurations by rank, then index. */
static const rpt_config *g_sort_base;
static int by_rank(const void *a, const void *b)
{
    const rpt_config *x = &g_sort_base[*(const int64_t *)a], *y = &g_sort_base[*(const int64_t *)b];
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    return (x->config > y->config) - (x->config < y->config);
}

static void fmt_secs(char *buf, size_t n, double s)
{
    if (isnan(s) || s < 0)
        snprintf(buf, n, "-");
    else if (s < 120)
        snprintf(buf, n, "%.1f s", s);
    else if (s < 7200)
        snprintf(buf, n, "%.1f min", s / 60);
    else
        snprintf(buf, n, "%.2f h", s / 3600);
}

static void md_score(FILE *f, double m, double s)
{
    if (isnan(m))
        fputs("NaN", f);
    else
        fprintf(f, "%.4f ± %.4f", m, s);
}

/* The best configuration's refit (a search may also have refitted a configuration that led
 * for a while: it refits the leader early, while ranks would otherwise wait). */
static const jnl_entry *find_refit(const jnl_entry *e, int n, int64_t best)
{
    const jnl_entry *r = NULL;
    for (int i = 0; i < n; i++)
        if (e[i].fold == JNL_REFIT && e[i].config == best)
            r = &e[i]; /* the last one recorded */
    return r;
}

static int write_md(const char *dir, const grid *g, const jnl_header *h, const rpt_config *c,
                    const int64_t *order, int64_t nc, int folds, const jnl_entry *e, int n,
                    const rpt_env *env, const char *journal_path, fg_err *err)
{
    afile a;
    if (afile_open(&a, dir, "report.md", err))
        return -1;
    FILE *f = a.f;
    const grid_options *o = grid_opts_c(g);
    int64_t best = rpt_best(c, nc);
    int64_t done = 0, failed = 0;
    for (int64_t i = 0; i < nc; i++) {
        done += c[i].n_done;
        if (c[i].status != NN_STATUS_OK && c[i].status != RPT_STATUS_PARTIAL)
            failed++;
    }
    fprintf(f, "# fmnist-grid report: %s\n\n", o->name);
    if (env && env->interrupted)
        fprintf(f, "**Partial report**: the search was interrupted; resume it with "
                   "`fmnist-grid --resume %s`.\n\n", dir);
    fprintf(f, "%lld configurations × %d folds = %lld tasks; %lld done", (long long)nc, folds,
            (long long)nc * folds, (long long)done);
    if (failed)
        fprintf(f, "; %lld configurations failed (ranked last with NaN scores)", (long long)failed);
    fputs(".\n\n", f);
    fputs("## Best configuration\n\n", f);
    if (best < 0) {
        fputs("No configuration has a score yet.\n\n", f);
    } else {
        const rpt_config *b = &c[best];
        fprintf(f, "Configuration %lld: mean cross-validated accuracy **", (long long)best);
        md_score(f, b->mean, b->std);
        fprintf(f, "** over %d folds.\n\n| parameter | value |\n|---|---|\n", folds);
        for (int p = 0; p < grid_n_params(g); p++) {
            const char *v = grid_config_value(g, best, p);
            if (v)
                fprintf(f, "| %s | %s |\n", grid_param_name(g, p), v);
        }
        fputc('\n', f);
    }
    /* Refit */
    const jnl_entry *rf = find_refit(e, n, best);
    if (rf) {
        fputs("## Refit on all training images\n\n", f);
        fprintf(f, "Configuration %d trained on %d images", rf->config, rf->n_train);
        if (rf->status == NN_STATUS_OK)
            fprintf(f, ", scored on %d test images: **test accuracy %.4f** (loss %.4f), fit in %.1f s.\n\n",
                    env ? env->n_test : 0, rf->test_acc, rf->test_loss, rf->fit_time);
        else
            fprintf(f, ": %s (%s).\n\n", nn_status_name((nn_status)rf->status), rf->msg);
        nn_epoch *hist = malloc(NN_MAX_EPOCHS * sizeof *hist);
        int ne = hist && journal_path ? jnl_read_history(journal_path, rf->config, JNL_REFIT, hist, NN_MAX_EPOCHS, NULL) : -1;
        if (ne > 0) {
            fputs("| epoch | loss | accuracy | learning rate | seconds |\n|---|---|---|---|---|\n", f);
            for (int i = 0; i < ne; i++)
                fprintf(f, "| %d | %.4f | %.4f | %.3g | %.1f |\n", i + 1, hist[i].loss,
                        hist[i].acc, hist[i].lr, hist[i].seconds);
            fputc('\n', f);
        }
        free(hist);
    } else if (o->refit && best >= 0) {
        fputs("## Refit\n\nNot done (the search did not finish, or the refit failed).\n\n", f);
    }
    /* Top 10 */
    fputs("## Top configurations\n\n| rank | config | mean ± std | fit time |", f);
    for (int p = 0; p < grid_n_params(g); p++)
        fprintf(f, " %s |", grid_param_name(g, p));
    fputs("\n|---|---|---|---|", f);
    for (int p = 0; p < grid_n_params(g); p++)
        fputs("---|", f);
    fputc('\n', f);
    for (int64_t k = 0; k < nc && k < 10; k++) {
        const rpt_config *r = &c[order[k]];
        char t[32];
        fmt_secs(t, sizeof t, r->mean_fit);
        fprintf(f, "| %d | %lld | ", r->rank, (long long)r->config);
        md_score(f, r->mean, r->std);
        if (r->status != NN_STATUS_OK)
            fprintf(f, " (%s)", status_text(r->status));
        fprintf(f, " | %s |", t);
        for (int p = 0; p < grid_n_params(g); p++) {
            const char *v = grid_config_value(g, r->config, p);
            fprintf(f, " %s |", v ? v : "");
        }
        fputc('\n', f);
    }
    fputc('\n', f);
    /* Mean score per parameter value */
    fputs("## Mean score per parameter value\n\nMean of the configurations' mean scores "
          "(configurations without a score are left out).\n\n", f);
    for (int p = 0; p < grid_n_params(g); p++) {
        fprintf(f, "### %s\n\n| value | configurations | mean score | best score |\n|---|---|---|---|\n",
                grid_param_name(g, p));
        /* distinct values in order of first appearance */
        for (int64_t i = 0; i < nc; i++) {
            const char *v = grid_config_value(g, i, p);
            if (!v)
                continue;
            int seen = 0;
            for (int64_t j = 0; j < i && !seen; j++) {
                const char *w = grid_config_value(g, j, p);
                seen = w && !strcmp(v, w);
            }
            if (seen)
                continue;
            double s = 0, bestv = NAN;
            int cnt = 0, tot = 0;
            for (int64_t j = i; j < nc; j++) {
                const char *w = grid_config_value(g, j, p);
                if (!w || strcmp(v, w))
                    continue;
                tot++;
                if (isnan(c[j].mean))
                    continue;
                s += c[j].mean;
                cnt++;
                if (isnan(bestv) || c[j].mean > bestv)
                    bestv = c[j].mean;
            }
            fprintf(f, "| %s | %d | ", v, tot);
            if (cnt)
                fprintf(f, "%.4f | %.4f |\n", s / cnt, bestv);
            else
                fputs("NaN | NaN |\n", f);
        }
        fputc('\n', f);
    }
    /* Failures */
    if (failed) {
        fputs("## Failed tasks\n\n| config | fold | status | message |\n|---|---|---|---|\n", f);
        for (int i = 0; i < n; i++)
            if (e[i].fold >= 0 && e[i].status != NN_STATUS_OK)
                fprintf(f, "| %d | %d | %s | %s |\n", e[i].config, e[i].fold,
                        nn_status_name((nn_status)e[i].status), e[i].msg);
        fputc('\n', f);
    }
    /* Timings and environment */
    double total_fit = 0;
    for (int i = 0; i < n; i++)
        if (!isnan(e[i].fit_time))
            total_fit += e[i].fit_time;
    char w[32], tf[32];
    fmt_secs(w, sizeof w, env ? env->wall_time : NAN);
    fmt_secs(tf, sizeof tf, total_fit);
    fputs("## Timings and environment\n\n| | |\n|---|---|\n", f);
    fprintf(f, "| wall time of this session | %s |\n| training time, all tasks | %s |\n", w, tf);
    if (env) {
        fprintf(f, "| ranks | %d (%d training) |\n| BLAS threads per rank | %d |\n", env->ranks,
                env->workers, env->threads);
        fprintf(f, "| program | fmnist-grid %s (git %s), %s |\n", env->version ? env->version : "?",
                env->git_rev ? env->git_rev : "?", env->compiler ? env->compiler : "?");
        fprintf(f, "| MPI | %s |\n| BLAS | %s |\n", env->mpi ? env->mpi : "?", env->blas ? env->blas : "?");
        fprintf(f, "| host | %s |\n| started (UTC) | %s |\n", env->host ? env->host : "?",
                env->started_utc ? env->started_utc : "?");
        fprintf(f, "| command | `%s` |\n", env->command_line ? env->command_line : "?");
        fprintf(f, "| data | %s (train images CRC-32 %08lx, labels %08lx; test images %08lx, labels %08lx) |\n",
                env->data_dir ? env->data_dir : "?", (unsigned long)env->train_images_crc32,
                (unsigned long)env->train_labels_crc32, (unsigned long)env->test_images_crc32,
                (unsigned long)env->test_labels_crc32);
    }
    fprintf(f, "| seed | %llu (folds: %llu) |\n| fold assignment checksum | %016llx |\n",
            (unsigned long long)h->seed, (unsigned long long)h->cv_seed,
            (unsigned long long)h->folds_checksum);
    fprintf(f, "| samples searched | %s |\n", h->subset ? "stratified subset" : "all training images");
    return afile_commit(&a, err);
}

/* ---- report.yaml through libyaml's emitter ------------------------------------------- */

typedef struct {
    yaml_emitter_t em;
    int bad;
} ye;

static void y_event(ye *y, yaml_event_t *ev)
{
    if (!y->bad && !yaml_emitter_emit(&y->em, ev))
        y->bad = 1;
}

static void y_scalar_style(ye *y, const char *s, yaml_scalar_style_t style)
{
    yaml_event_t ev;
    if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)strlen(s), 1, 1, style)) {
        y->bad = 1;
        return;
    }
    y_event(y, &ev);
}

static void y_str(ye *y, const char *s) { y_scalar_style(y, s ? s : "", YAML_ANY_SCALAR_STYLE); }
/* A string that must stay a string when read back ("1e-3" as text, "true" as text). */
static void y_qstr(ye *y, const char *s)
{
    y_scalar_style(y, s ? s : "", YAML_DOUBLE_QUOTED_SCALAR_STYLE);
}

static void y_num(ye *y, double v, const char *fmt)
{
    char b[64];
    if (isnan(v))
        snprintf(b, sizeof b, ".nan");
    else
        snprintf(b, sizeof b, fmt, v);
    y_scalar_style(y, b, YAML_PLAIN_SCALAR_STYLE);
}

static void y_int(ye *y, long long v)
{
    char b[32];
    snprintf(b, sizeof b, "%lld", v);
    y_scalar_style(y, b, YAML_PLAIN_SCALAR_STYLE);
}

static void y_hex(ye *y, unsigned long long v, int digits)
{
    char b[32];
    snprintf(b, sizeof b, "%0*llx", digits, v);
    y_qstr(y, b);
}

static void y_map(ye *y, int start)
{
    yaml_event_t ev;
    if (start)
        yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
    else
        yaml_mapping_end_event_initialize(&ev);
    y_event(y, &ev);
}

static void y_seq(ye *y, int start, int flow)
{
    yaml_event_t ev;
    if (start)
        yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
                                             flow ? YAML_FLOW_SEQUENCE_STYLE : YAML_BLOCK_SEQUENCE_STYLE);
    else
        yaml_sequence_end_event_initialize(&ev);
    y_event(y, &ev);
}

static int write_yaml_file(const char *dir, const grid *g, const jnl_header *h, const rpt_config *c,
                           const double *sp, int64_t nc, int folds, const jnl_entry *e, int n,
                           const rpt_env *env, fg_err *err)
{
    afile a;
    if (afile_open(&a, dir, "report.yaml", err))
        return -1;
    ye y;
    memset(&y, 0, sizeof y);
    if (!yaml_emitter_initialize(&y.em)) {
        afile_abort(&a);
        return fg_err_set(err, "libyaml: cannot initialise the emitter");
    }
    yaml_emitter_set_output_file(&y.em, a.f);
    yaml_emitter_set_unicode(&y.em, 1);
    yaml_emitter_set_width(&y.em, 100);
    const grid_options *o = grid_opts_c(g);
    yaml_event_t ev;
    yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
    y_event(&y, &ev);
    yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
    y_event(&y, &ev);
    y_map(&y, 1);
    y_str(&y, "fmnist_grid_report");
    y_int(&y, 1);
    y_str(&y, "program");
    y_map(&y, 1);
    y_str(&y, "version"), y_qstr(&y, env ? env->version : "");
    y_str(&y, "git_revision"), y_qstr(&y, env ? env->git_rev : "");
    y_str(&y, "compiler"), y_qstr(&y, env ? env->compiler : "");
    y_str(&y, "mpi"), y_qstr(&y, env ? env->mpi : "");
    y_str(&y, "blas"), y_qstr(&y, env ? env->blas : "");
    y_str(&y, "blas_threads"), y_int(&y, env ? env->threads : 1);
    y_str(&y, "ranks"), y_int(&y, env ? env->ranks : 1);
    y_str(&y, "command_line"), y_qstr(&y, env ? env->command_line : "");
    y_str(&y, "host"), y_qstr(&y, env ? env->host : "");
    y_str(&y, "started_utc"), y_qstr(&y, env ? env->started_utc : "");
    y_str(&y, "wall_time_s"), y_num(&y, env ? env->wall_time : NAN, "%.3f");
    y_map(&y, 0);
    y_str(&y, "grid");
    y_map(&y, 1);
    y_str(&y, "name"), y_qstr(&y, o->name);
    y_str(&y, "path"), y_qstr(&y, o->path);
    y_str(&y, "sha"), y_hex(&y, h->grid_hash, 16);
    size_t tl = 0;
    const char *text = grid_text(g, &tl);
    y_str(&y, "text"), y_scalar_style(&y, text ? text : "", YAML_LITERAL_SCALAR_STYLE);
    y_str(&y, "configurations"), y_int(&y, nc);
    y_map(&y, 0);
    y_str(&y, "seed"), y_int(&y, (long long)h->seed);
    y_str(&y, "cv");
    y_map(&y, 1);
    y_str(&y, "folds"), y_int(&y, folds);
    y_str(&y, "shuffle"), y_str(&y, o->shuffle ? "true" : "false");
    y_str(&y, "seed"), y_int(&y, (long long)h->cv_seed);
    y_str(&y, "fold_assignment_checksum"), y_hex(&y, h->folds_checksum, 16);
    y_map(&y, 0);
    y_str(&y, "data");
    y_map(&y, 1);
    y_str(&y, "dir"), y_qstr(&y, env ? env->data_dir : "");
    y_str(&y, "subset"), y_int(&y, h->subset);
    y_str(&y, "train_images_crc32"), y_hex(&y, h->train_images_crc32, 8);
    y_str(&y, "train_labels_crc32"), y_hex(&y, h->train_labels_crc32, 8);
    y_str(&y, "test_images_crc32"), y_hex(&y, env ? env->test_images_crc32 : 0, 8);
    y_str(&y, "test_labels_crc32"), y_hex(&y, env ? env->test_labels_crc32 : 0, 8);
    y_map(&y, 0);
    int64_t best = rpt_best(c, nc);
    y_str(&y, "best");
    if (best < 0) {
        y_scalar_style(&y, "null", YAML_PLAIN_SCALAR_STYLE);
    } else {
        y_map(&y, 1);
        y_str(&y, "config"), y_int(&y, best);
        y_str(&y, "hash"), y_hex(&y, grid_config_hash(g, best), 16);
        y_str(&y, "params");
        y_map(&y, 1);
        for (int p = 0; p < grid_n_params(g); p++) {
            const char *v = grid_config_value(g, best, p);
            if (v)
                y_str(&y, grid_param_name(g, p)), y_qstr(&y, v);
        }
        y_map(&y, 0);
        y_str(&y, "mean_test_score"), y_num(&y, c[best].mean, "%.17g");
        y_str(&y, "std_test_score"), y_num(&y, c[best].std, "%.17g");
        y_str(&y, "split_test_scores");
        y_seq(&y, 1, 1);
        for (int k = 0; k < folds; k++)
            y_num(&y, sp[(size_t)best * (size_t)folds + (size_t)k], "%.9g");
        y_seq(&y, 0, 1);
        y_map(&y, 0);
    }
    const jnl_entry *rf = find_refit(e, n, best);
    y_str(&y, "refit");
    if (!rf) {
        y_scalar_style(&y, "null", YAML_PLAIN_SCALAR_STYLE);
    } else {
        y_map(&y, 1);
        y_str(&y, "config"), y_int(&y, rf->config);
        y_str(&y, "status"), y_str(&y, nn_status_name((nn_status)rf->status));
        y_str(&y, "n_train"), y_int(&y, rf->n_train);
        y_str(&y, "epochs"), y_int(&y, rf->epochs_run);
        y_str(&y, "test_accuracy"), y_num(&y, rf->test_acc, "%.9g");
        y_str(&y, "test_loss"), y_num(&y, rf->test_loss, "%.9g");
        y_str(&y, "fit_time_s"), y_num(&y, rf->fit_time, "%.3f");
        y_map(&y, 0);
    }
    y_str(&y, "configurations");
    y_seq(&y, 1, 0);
    for (int64_t i = 0; i < nc; i++) {
        y_map(&y, 1);
        y_str(&y, "config"), y_int(&y, i);
        y_str(&y, "params"), y_qstr(&y, grid_config_params(g, i));
        y_str(&y, "mean_test_score"), y_num(&y, c[i].mean, "%.17g");
        y_str(&y, "std_test_score"), y_num(&y, c[i].std, "%.17g");
        y_str(&y, "rank"), y_int(&y, c[i].rank);
        y_str(&y, "split_test_scores");
        y_seq(&y, 1, 1);
        for (int k = 0; k < folds; k++)
            y_num(&y, sp[(size_t)i * (size_t)folds + (size_t)k], "%.9g");
        y_seq(&y, 0, 1);
        y_str(&y, "status"), y_str(&y, status_text(c[i].status));
        y_map(&y, 0);
    }
    y_seq(&y, 0, 0);
    y_map(&y, 0);
    yaml_document_end_event_initialize(&ev, 1);
    y_event(&y, &ev);
    yaml_stream_end_event_initialize(&ev);
    y_event(&y, &ev);
    int bad = y.bad;
    const char *problem = y.em.problem;
    yaml_emitter_delete(&y.em);
    if (bad) {
        afile_abort(&a);
        return fg_err_set(err, "%s/report.yaml: libyaml emitter: %s", dir, problem ? problem : "error");
    }
    return afile_commit(&a, err);
}

int rpt_write(const char *dir, const grid *g, const jnl_header *h, const jnl_entry *e, int n,
              const rpt_env *env, const char *journal_path, fg_err *err)
{
    int64_t nc = grid_n_configs(g);
    int folds = grid_opts_c(g)->folds;
    rpt_config *c = NULL;
    double *sp = NULL;
    if (rpt_aggregate(e, n, nc, folds, &c, &sp, err))
        return -1;
    int64_t *order = malloc((size_t)nc * sizeof *order);
    if (!order) {
        free(c), free(sp);
        return fg_err_set(err, "out of memory");
    }
    for (int64_t i = 0; i < nc; i++)
        order[i] = i;
    g_sort_base = c;
    qsort(order, (size_t)nc, sizeof *order, by_rank);
    int rc = write_csv(dir, g, c, sp, nc, folds, err);
    if (!rc)
        rc = write_md(dir, g, h, c, order, nc, folds, e, n, env, journal_path, err);
    if (!rc)
        rc = write_yaml_file(dir, g, h, c, sp, nc, folds, e, n, env, err);
    free(order);
    free(c);
    free(sp);
    return rc;
}

/* ---- reading report.yaml back (for reproduce) --------------------------------------- */

static yaml_node_t *y_get(yaml_document_t *d, yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(d, p->key);
        if (k && k->type == YAML_SCALAR_NODE && !strcmp((const char *)k->data.scalar.value, key))
            return yaml_document_get_node(d, p->value);
    }
    return NULL;
}

static const char *y_text(yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static double y_double(yaml_node_t *n)
{
    const char *t = y_text(n);
    if (!t || !strcmp(t, ".nan") || !strcmp(t, "null"))
        return NAN;
    return strtod(t, NULL);
}

static uint64_t y_u64(yaml_node_t *n, int hex)
{
    const char *t = y_text(n);
    return t ? (uint64_t)strtoull(t, NULL, hex ? 16 : 10) : 0;
}

void rpt_summary_free(rpt_summary *s)
{
    if (!s)
        return;
    free(s->grid_text);
    free(s->split);
    memset(s, 0, sizeof *s);
}

int rpt_read_summary(const char *path, rpt_summary *out, fg_err *err)
{
    memset(out, 0, sizeof *out);
    out->best_config = -1;
    out->refit_config = -1;
    out->refit_test_accuracy = NAN;
    FILE *f = fopen(path, "rb");
    if (!f)
        return fg_err_set(err, "%s: cannot open: %s", path, strerror(errno));
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser)) {
        fclose(f);
        return fg_err_set(err, "%s: libyaml: cannot initialise", path);
    }
    yaml_parser_set_input_file(&parser, f);
    int ok = yaml_parser_load(&parser, &doc);
    if (!ok) {
        fg_err_set(err, "%s:%zu:%zu: %s", path, parser.problem_mark.line + 1,
                   parser.problem_mark.column + 1, parser.problem ? parser.problem : "YAML error");
        yaml_parser_delete(&parser);
        fclose(f);
        return -1;
    }
    int rc = 0;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    yaml_node_t *gsec = y_get(&doc, root, "grid"), *cv = y_get(&doc, root, "cv");
    yaml_node_t *data = y_get(&doc, root, "data"), *prog = y_get(&doc, root, "program");
    const char *text = y_text(y_get(&doc, gsec, "text"));
    if (!y_get(&doc, root, "fmnist_grid_report") || !text || !cv || !data) {
        rc = fg_err_set(err, "%s: not a fmnist-grid report.yaml (no grid text, cv or data section)", path);
        goto done;
    }
    out->grid_len = strlen(text);
    out->grid_text = strdup(text);
    snprintf(out->grid_path, sizeof out->grid_path, "%s", y_text(y_get(&doc, gsec, "path")) ? y_text(y_get(&doc, gsec, "path")) : "report.yaml");
    out->seed = y_u64(y_get(&doc, root, "seed"), 0);
    out->folds = (int)y_u64(y_get(&doc, cv, "folds"), 0);
    out->cv_seed = y_u64(y_get(&doc, cv, "seed"), 0);
    out->folds_checksum = y_u64(y_get(&doc, cv, "fold_assignment_checksum"), 1);
    out->subset = (int)y_u64(y_get(&doc, data, "subset"), 0);
    out->train_images_crc32 = (uint32_t)y_u64(y_get(&doc, data, "train_images_crc32"), 1);
    out->train_labels_crc32 = (uint32_t)y_u64(y_get(&doc, data, "train_labels_crc32"), 1);
    out->test_images_crc32 = (uint32_t)y_u64(y_get(&doc, data, "test_images_crc32"), 1);
    out->test_labels_crc32 = (uint32_t)y_u64(y_get(&doc, data, "test_labels_crc32"), 1);
    snprintf(out->blas, sizeof out->blas, "%s", y_text(y_get(&doc, prog, "blas")) ? y_text(y_get(&doc, prog, "blas")) : "");
    snprintf(out->git_revision, sizeof out->git_revision, "%s",
             y_text(y_get(&doc, prog, "git_revision")) ? y_text(y_get(&doc, prog, "git_revision")) : "");
    out->blas_threads = (int)y_u64(y_get(&doc, prog, "blas_threads"), 0);
    yaml_node_t *best = y_get(&doc, root, "best");
    if (best && best->type == YAML_MAPPING_NODE)
        out->best_config = (int64_t)y_u64(y_get(&doc, best, "config"), 0);
    yaml_node_t *refit = y_get(&doc, root, "refit");
    if (refit && refit->type == YAML_MAPPING_NODE) {
        out->refit_config = (int)y_u64(y_get(&doc, refit, "config"), 0);
        out->refit_test_accuracy = y_double(y_get(&doc, refit, "test_accuracy"));
    }
    yaml_node_t *cfgs = y_get(&doc, root, "configurations");
    if (out->folds < 2 || out->folds > RPT_MAX_FOLDS || !cfgs || cfgs->type != YAML_SEQUENCE_NODE) {
        rc = fg_err_set(err, "%s: no configurations or a bad fold count", path);
        goto done;
    }
    out->n_configs = cfgs->data.sequence.items.top - cfgs->data.sequence.items.start;
    out->split = malloc((size_t)(out->n_configs ? out->n_configs : 1) * (size_t)out->folds * sizeof *out->split);
    if (!out->grid_text || !out->split) {
        rc = fg_err_set(err, "%s: out of memory", path);
        goto done;
    }
    for (int64_t i = 0; i < out->n_configs; i++) {
        yaml_node_t *c = yaml_document_get_node(&doc, cfgs->data.sequence.items.start[i]);
        yaml_node_t *sp = y_get(&doc, c, "split_test_scores");
        for (int k = 0; k < out->folds; k++) {
            double v = NAN;
            if (sp && sp->type == YAML_SEQUENCE_NODE && sp->data.sequence.items.start + k < sp->data.sequence.items.top)
                v = y_double(yaml_document_get_node(&doc, sp->data.sequence.items.start[k]));
            out->split[i * out->folds + k] = v;
        }
    }
done:
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    fclose(f);
    if (rc)
        rpt_summary_free(out);
    return rc;
}
