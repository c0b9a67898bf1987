/* report_env.c - the environment the results came from (the session that started the
 * search, or the process writing the report for journals without session records) and
 * report.md's "Timings and environment" section: sessions, hosts, ranks, program, MPI,
 * BLAS, data and seeds. */
#include "report_parts.h"

#include <math.h>
#include <string.h>

void rpt_effective_env(const rpt_env *env, const jnl_entry *e, int n, int64_t best, rpt_eff_env *o)
{
    memset(o, 0, sizeof *o);
    o->wall_time = NAN;
    if (!env)
        return;
    if (env->n_sessions <= 0 || !env->sessions) {
        o->version = env->version, o->git_rev = env->git_rev, o->compiler = env->compiler;
        o->mpi = env->mpi, o->blas = env->blas, o->command_line = env->command_line;
        o->host = env->host, o->started_utc = env->started_utc, o->data_dir = env->data_dir;
        o->ranks = env->ranks, o->threads = env->threads, o->wall_time = env->wall_time;
        o->test_images_crc32 = env->test_images_crc32, o->test_labels_crc32 = env->test_labels_crc32;
        o->n_test = env->n_test;
        return;
    }
    const jnl_session *s = env->sessions, *first = &s[0];
    for (int i = 1; i < env->n_sessions; i++) /* the session that started the search */
        if (strcmp(s[i].started_utc, first->started_utc) < 0)
            first = &s[i];
    o->from_sessions = 1;
    o->version = first->version, o->git_rev = first->git_rev, o->compiler = first->compiler;
    o->mpi = first->mpi, o->blas = first->blas, o->command_line = first->command;
    o->host = first->host, o->started_utc = first->started_utc, o->data_dir = first->data_dir;
    o->ranks = first->ranks, o->threads = first->threads;
    o->wall_time = 0;
    for (int i = 0; i < env->n_sessions; i++) {
        if (s[i].ended && !isnan(s[i].wall_time))
            o->wall_time += s[i].wall_time;
        else
            o->n_unended++;
    }
    /* The test set the refit was scored on: its session's, else any session's that loaded one. */
    const jnl_entry *rf = rpt_find_refit(e, n, best);
    const jnl_session *t = rf && rf->session >= 0 && rf->session < env->n_sessions ? &s[rf->session] : NULL;
    if (!t || (!t->test_images_crc32 && !t->test_labels_crc32)) {
        t = NULL;
        for (int i = 0; i < env->n_sessions && !t; i++)
            if (s[i].test_images_crc32 || s[i].test_labels_crc32)
                t = &s[i];
    }
    if (t) {
        o->test_images_crc32 = t->test_images_crc32, o->test_labels_crc32 = t->test_labels_crc32;
        o->n_test = t->n_test;
    } else {
        o->test_images_crc32 = env->test_images_crc32, o->test_labels_crc32 = env->test_labels_crc32;
        o->n_test = env->n_test;
    }
}

typedef const char *(*session_str_fn)(const jnl_session *s);
static const char *s_program(const jnl_session *s) { return s->version; }
static const char *s_mpi(const jnl_session *s) { return s->mpi; }
static const char *s_blas(const jnl_session *s) { return s->blas; }

/* "| label | value |" with every distinct value of the sessions, each followed by the
 * sessions that had it when they differ. */
static void md_distinct(FILE *f, const char *label, const rpt_env *env, session_str_fn get, int with_git)
{
    const jnl_session *s = env->sessions;
    int ns = env->n_sessions, groups = 0;
    for (int i = 0; i < ns; i++) {
        int seen = 0;
        for (int k = 0; k < i && !seen; k++)
            seen = !strcmp(get(&s[k]), get(&s[i])) && (!with_git || !strcmp(s[k].git_rev, s[i].git_rev));
        groups += !seen;
    }
    fprintf(f, "| %s | ", label);
    int printed = 0;
    for (int i = 0; i < ns; i++) {
        int seen = 0;
        for (int k = 0; k < i && !seen; k++)
            seen = !strcmp(get(&s[k]), get(&s[i])) && (!with_git || !strcmp(s[k].git_rev, s[i].git_rev));
        if (seen)
            continue;
        fputs(printed++ ? "; " : "", f);
        if (with_git)
            fprintf(f, "fmnist-grid %s (git %s), %s", *s[i].version ? s[i].version : "?",
                    *s[i].git_rev ? s[i].git_rev : "?", *s[i].compiler ? s[i].compiler : "?");
        else
            fputs(*get(&s[i]) ? get(&s[i]) : "?", f);
        if (groups > 1) {
            fputs(" (session", f);
            int m = 0;
            for (int k = i; k < ns; k++)
                if (!strcmp(get(&s[k]), get(&s[i])) && (!with_git || !strcmp(s[k].git_rev, s[i].git_rev)))
                    fprintf(f, "%s %d", m++ ? "," : "", k + 1);
            fputs(")", f);
        }
    }
    fputs(" |\n", f);
}

/* "vm:2,nodeB:2" as "vm (2), nodeB (2)". */
static void md_hosts(FILE *f, const char *hosts)
{
    if (!*hosts) {
        fputs("?", f);
        return;
    }
    int first = 1;
    for (const char *p = hosts; *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        const char *colon = memchr(p, ':', len);
        if (colon)
            fprintf(f, "%s%.*s (%.*s)", first ? "" : ", ", (int)(colon - p), p, (int)(len - (size_t)(colon - p) - 1),
                    colon + 1);
        else
            fprintf(f, "%s%.*s", first ? "" : ", ", (int)len, p);
        first = 0;
        p += len + (comma ? 1 : 0);
    }
}

/* "| ranks | 3 (3 training) |", or each distinct (ranks, training) pair with its sessions. */
static void md_ranks(FILE *f, const rpt_env *env)
{
    const jnl_session *s = env->sessions;
    int ns = env->n_sessions;
    fputs("| ranks | ", f);
    for (int i = 0, k = 0; i < ns; i++) {
        int seen = 0, all_same = 1;
        for (int j = 0; j < ns; j++) {
            int same = s[j].ranks == s[i].ranks && s[j].workers == s[i].workers;
            seen |= j < i && same;
            all_same &= same;
        }
        if (seen)
            continue;
        fprintf(f, "%s%d (", k++ ? "; " : "", s[i].ranks);
        if (s[i].workers >= 0)
            fprintf(f, "%d training)", s[i].workers);
        else
            fputs("training not recorded)", f);
        if (!all_same) {
            fputs(" in session", f);
            for (int j = i, m = 0; j < ns; j++)
                if (s[j].ranks == s[i].ranks && s[j].workers == s[i].workers)
                    fprintf(f, "%s %d", m++ ? "," : "", j + 1);
        }
    }
    fputs(" |\n", f);
}

/* Program, MPI, BLAS and BLAS threads of the sessions. */
static void md_session_programs(FILE *f, const rpt_env *env)
{
    md_ranks(f, env);
    md_distinct(f, "program", env, s_program, 1);
    md_distinct(f, "MPI", env, s_mpi, 0);
    md_distinct(f, "BLAS", env, s_blas, 0);
    fputs("| BLAS threads per rank | ", f);
    for (int i = 0, k = 0; i < env->n_sessions; i++) {
        int seen = 0;
        for (int j = 0; j < i; j++)
            seen |= env->sessions[j].threads == env->sessions[i].threads;
        if (!seen)
            fprintf(f, "%s%d", k++ ? "; " : "", env->sessions[i].threads);
    }
    fputs(" |\n", f);
}

/* The environment of a report written by the search itself from a journal without
 * sessions (this process's). */
static void md_process_env(FILE *f, const rpt_env *env, const rpt_eff_env *ee)
{
    fprintf(f, "| ranks | %d (%d training) |\n| BLAS threads per rank | %d |\n", env->ranks, env->workers,
            env->threads);
    fprintf(f, "| program | fmnist-grid %s (git %s), %s |\n", ee->version ? ee->version : "?",
            ee->git_rev ? ee->git_rev : "?", ee->compiler ? ee->compiler : "?");
    fprintf(f, "| MPI | %s |\n| BLAS | %s |\n", ee->mpi ? ee->mpi : "?", ee->blas ? ee->blas : "?");
    fprintf(f, "| host | %s |\n| started (UTC) | %s |\n", ee->host ? ee->host : "?",
            ee->started_utc ? ee->started_utc : "?");
    fprintf(f, "| command | `%s` |\n", ee->command_line ? ee->command_line : "?");
}

/* Every host that trained, from the records themselves (whatever the sessions say). */
static void md_hosts_trained(FILE *f, const jnl_entry *e, int n)
{
    const char *hn[64];
    int cnt[64], refits[64], nh = 0, more = 0;
    for (int i = 0; i < n; i++) {
        int k = 0;
        while (k < nh && strcmp(hn[k], e[i].host))
            k++;
        if (k == nh && nh == 64) {
            more++;
            continue;
        }
        if (k == nh)
            hn[nh] = e[i].host, cnt[nh] = refits[nh] = 0, nh++;
        if (e[i].fold == JNL_REFIT)
            refits[k]++;
        else
            cnt[k]++;
    }
    if (!nh)
        return;
    fputs("| hosts that trained | ", f);
    for (int k = 0; k < nh; k++) {
        fprintf(f, "%s%s (%d task%s", k ? ", " : "", *hn[k] ? hn[k] : "?", cnt[k], cnt[k] == 1 ? "" : "s");
        if (refits[k])
            fprintf(f, ", %d refit%s", refits[k], refits[k] == 1 ? "" : "s");
        fputs(")", f);
    }
    if (more)
        fprintf(f, ", and %d more record%s on other hosts", more, more == 1 ? "" : "s");
    fputs(" |\n", f);
}

/* One row per session (sorted by start: see jnl_sort_sessions). */
static void md_sessions(FILE *f, const rpt_env *env, const jnl_entry *e, int n)
{
    fputs("\nSessions (every run that wrote into the journals, oldest first):\n\n"
          "| session | journal | started (UTC) | role | hosts (ranks) | ranks (training) | tasks | wall time | "
          "command |\n|---|---|---|---|---|---|---|---|---|\n",
          f);
    for (int k = 0; k < env->n_sessions; k++) {
        const jnl_session *s = &env->sessions[k];
        int tasks = 0, refits = 0;
        for (int i = 0; i < n; i++)
            if (e[i].session == k && e[i].fold == JNL_REFIT)
                refits++;
            else if (e[i].session == k)
                tasks++;
        char sw[32];
        rpt_fmt_secs(sw, sizeof sw, s->ended ? s->wall_time : NAN);
        fprintf(f, "| %d | %s | %s | %s | ", k + 1, s->file, *s->started_utc ? s->started_utc : "?",
                *s->role ? s->role : "?");
        md_hosts(f, s->hosts);
        fprintf(f, " | %d (", s->ranks);
        if (s->workers >= 0)
            fprintf(f, "%d", s->workers);
        else
            fputs("?", f);
        fprintf(f, ") | %d", tasks);
        if (refits)
            fprintf(f, " + %d refit%s", refits, refits == 1 ? "" : "s");
        fprintf(f, " | %s%s | `%s` |\n", s->ended ? sw : "not recorded", s->ended && s->interrupted ? ", interrupted" : "",
                s->command);
    }
}

void rpt_md_env(FILE *f, const rpt_ctx *x)
{
    const jnl_entry *e = x->e;
    const rpt_env *env = x->env;
    rpt_eff_env ee;
    rpt_effective_env(env, e, x->n, x->best, &ee);
    double total_fit = 0;
    for (int i = 0; i < x->n; i++)
        if (!isnan(e[i].fit_time))
            total_fit += e[i].fit_time;
    char w[32], tf[32];
    rpt_fmt_secs(w, sizeof w, ee.wall_time);
    rpt_fmt_secs(tf, sizeof tf, total_fit);
    fputs("## Timings and environment\n\n| | |\n|---|---|\n", f);
    if (ee.from_sessions && ee.n_unended)
        fprintf(f, "| wall time, all sessions | %s (and %d session%s that recorded no end: still running or killed) |\n",
                w, ee.n_unended, ee.n_unended > 1 ? "s" : "");
    else if (ee.from_sessions)
        fprintf(f, "| wall time, all sessions | %s |\n", w);
    else if (env && env->regenerated_by)
        fputs("| wall time | not recorded |\n", f);
    else
        fprintf(f, "| wall time of this session | %s |\n", w);
    fprintf(f, "| training time, all tasks | %s |\n", tf);
    if (x->h && x->h->base_configs > 0) { /* base.c: features computed once per node */
        char bs[32];
        rpt_fmt_secs(bs, sizeof bs, x->h->base_seconds);
        fprintf(f, "| frozen base | computed once per node in %s (%d base%s for %d configuration%s), "
                   "the tasks trained their heads on its features |\n", bs, x->h->base_blocks,
                x->h->base_blocks == 1 ? "" : "s", x->h->base_configs, x->h->base_configs == 1 ? "" : "s");
    }
    if (ee.from_sessions)
        md_session_programs(f, env);
    else if (env && env->regenerated_by)
        fputs("| environment of the search | not recorded: the journals predate session records |\n", f);
    else if (env)
        md_process_env(f, env, &ee);
    md_hosts_trained(f, e, x->n);
    const jnl_header *h = x->h;
    if (env)
        fprintf(f, "| data | %s (train images CRC-32 %08lx, labels %08lx; test images %08lx, labels %08lx) |\n",
                ee.data_dir && *ee.data_dir ? ee.data_dir : "?", (unsigned long)h->train_images_crc32,
                (unsigned long)h->train_labels_crc32, (unsigned long)ee.test_images_crc32,
                (unsigned long)ee.test_labels_crc32);
    fprintf(f, "| seed | %llu (folds: %llu) |\n| fold assignment checksum | %016llx |\n",
            (unsigned long long)h->seed, (unsigned long long)h->cv_seed,
            (unsigned long long)h->folds_checksum);
    fprintf(f, "| samples searched | %s |\n", h->subset ? "stratified subset" : "all training images");
    if (ee.from_sessions)
        md_sessions(f, env, e, x->n);
    if (env && env->regenerated_by)
        fprintf(f, "\nThis report was regenerated from the journals at %s (UTC) on %s by `%s` (fmnist-grid %s, "
                   "git %s).\n",
                env->regenerated_utc ? env->regenerated_utc : "?",
                env->regenerated_host && *env->regenerated_host ? env->regenerated_host : "?", env->regenerated_by,
                env->version ? env->version : "?", env->git_rev ? env->git_rev : "?");
}
