/* cmd_search.c - the search command: the flow of one search on every rank, in steps:
 * rank 0 loads and checks the grid and the data (load_grid, check_configs), every rank
 * gets the settings and the data (share_setup, worker_setup), rank 0 opens the results
 * directory (open_results, cmd_search_dir.c) and plans the tasks (plan_tasks), every rank
 * runs the search loop (run_loop: search.c's policy over sched.c), rank 0 finishes
 * (finish_shard, or finish_search with finish.c). See cmd_search.h. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd_search.h"
#include "cv.h"
#include "finish.h"
#include "nn.h"
#include "nn_gemm.h"
#include "order.h"
#include "outdir.h"
#include "report.h"
#include "results.h"
#include "signals.h"

/* The check's weights cache, made on first use (NULL when out of memory: the check then
 * reports it). */
static task_wcache *tctx_check_wc(task_wcache **wc)
{
    if (!*wc)
        *wc = task_wcache_new();
    return *wc;
}

/* Configurations by architecture hash, then index: the first of each hash is summarised. */

/* "nodeA:2,nodeB:2": each host (in rank order of first appearance) and its rank count,
 * from n names of JNL_HOST_MAX bytes each. */
static void summarize_hosts(const char *all, int n, char *out, size_t cap)
{
    out[0] = '\0';
    size_t len = 0;
    char *done = calloc((size_t)n, 1);
    for (int i = 0; i < n; i++) {
        if (done && done[i])
            continue;
        const char *h = all + (size_t)i * JNL_HOST_MAX;
        int cnt = 0;
        for (int k = i; k < n; k++)
            if (!strncmp(h, all + (size_t)k * JNL_HOST_MAX, JNL_HOST_MAX)) {
                cnt++;
                if (done)
                    done[k] = 1;
            }
        char item[JNL_HOST_MAX + 16];
        snprintf(item, sizeof item, "%s%.*s:%d", len ? "," : "", JNL_HOST_MAX - 1, *h ? h : "?", cnt);
        if (len + strlen(item) + 5 >= cap) {
            snprintf(out + len, cap - len, ",...");
            break;
        }
        len += (size_t)snprintf(out + len, cap - len, "%s", item);
        if (!done)
            break;
    }
    free(done);
}


/* Rank 0: the grid (a --resume DIR's copy read as the files read back are: a regular file
 * of bounded size, never a FIFO that would block), the options over it, a dry run, the
 * settings a journal records, and the data checked against the grid. Sets r->sm.status to
 * stop. */
static void load_grid(search_run *r)
{
    const cli *c = r->c;
    fg_err err;
    int bad_grid;
    if (c->resume_grid[0] && c->grid_path == c->resume_grid) {
        char *copy = NULL;
        size_t copy_len = 0;
        bad_grid = fg_read_file(c->grid_path, RPT_GRID_TEXT_MAX, "grid file", &copy, &copy_len, &err) ||
                   grid_load_string(copy, copy_len, c->grid_path, &r->g, &err);
        free(copy);
    } else {
        bad_grid = grid_load_file(c->grid_path, &r->g, &err);
    }
    if (bad_grid) {
        fg_print_error(err.msg);
        r->sm.status = EXIT_INPUT;
    } else {
        grid_options *o = grid_opts(r->g);
        const grid_search *gs = grid_search_of(r->g);
        if (gs->capped && !c->dry_run)
            fprintf(stderr, "fmnist-grid: %s: search.n_iter %lld is more than the grid's %lld "
                            "configurations: each is searched once\n",
                    c->grid_path, (long long)gs->n_iter, (long long)gs->grid_size);
        cli_apply_seed_subset(c, o);
        if (c->no_refit)
            o->refit = 0;
        if (c->n_shards && grid_search_of(r->g)->strategy == GRID_SEARCH_HALVING) {
            char where[GRID_PATH_MAX + 32];
            grid_option_where(r->g, "search.strategy", where, sizeof where);
            fprintf(stderr, "fmnist-grid: %s: search.strategy halving cannot run as shards (--shard): each "
                            "iteration needs the previous one's results; run it as one job (mpirun ... "
                            "fmnist-grid %s)\n", where, c->grid_path);
            r->sm.status = EXIT_INPUT;
        } else if (c->dry_run) {
            r->sm.status = cmd_dry_run(r->g);
        }
    }
    if (r->sm.status < 0) /* continuing a journal: what it records, unless given */
        r->sm.status = sdir_adopt_recorded(c, grid_opts(r->g), &r->sm.threads, r->sm.data_dir, sizeof r->sm.data_dir);
    if (r->sm.status < 0) {
        const grid_options *o = grid_opts_c(r->g);
        if (prep_load(r->g, c->subset >= 0 ? PREP_FROM_CLI : PREP_FROM_GRID, r->sm.data_dir, o->refit, &r->pd, &err)) {
            fg_print_error(err.msg);
            r->sm.status = EXIT_INPUT;
        }
    }
}

/* Rank 0 of a halving search: its schedule for the data loaded (rungs_schedule) and the
 * task ids it needs; a bad search: section or ids that do not fit are refused (exit 2). */
static void check_halving(search_run *r)
{
    fg_err err;
    search *s = &r->s;
    const grid_options *o = grid_opts_c(r->g);
    task_halving h;
    if (rungs_schedule(r->g, r->pd.n, o->classes, &s->hsch, &err) ||
        search_halving_ids(&s->hsch, grid_search_of(r->g)->resource, grid_n_configs(r->g), o->folds, &h, &err)) {
        fg_print_error(err.msg);
        r->sm.status = EXIT_INPUT;
        return;
    }
    s->halving = 1;
    r->halv = h; /* run_loop gives it to every rank's worker */
}

/* Rank 0: every configuration re-checked against the real image shape (and its weights
 * files), one whose memory need is absurd for this machine refused before any work
 * starts; the architecture keys; the settings every rank needs. */
static void check_configs(search_run *r)
{
    grid *g = r->g;
    const grid_options *o = grid_opts_c(g);
    fg_err err;
    nn_net_desc *d = malloc(sizeof *d);
    nn_layer_info *info = malloc(NN_MAX_LAYERS * sizeof *info);
    r->arch_key = malloc((size_t)grid_n_configs(g) * sizeof *r->arch_key);
    double phys = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
    task_wcache *wcheck = NULL; /* the weights files, read once for the check */
    if (!d || !info || !r->arch_key) {
        fprintf(stderr, "fmnist-grid: out of memory checking the configurations\n");
        r->sm.status = EXIT_RUNTIME;
    }
    for (int64_t i = 0; d && info && r->arch_key && i < grid_n_configs(g) && r->sm.status < 0; i++) {
        nn_train_desc t;
        int64_t np = 0;
        if (grid_config_build_data(g, i, d, &t, &err) ||
            nn_desc_check(d, info, &np, NULL, &err) || task_check_weights(tctx_check_wc(&wcheck), g, i, d, &err)) {
            fg_print_error(err.msg);
            r->sm.status = EXIT_INPUT;
            break;
        }
        r->arch_key[i] = fg_hash_mix((uint64_t)np, (uint64_t)d->n_layers);
        double need = task_memory(d, info, np, &t);
        if (phys > 0 && need > phys) {
            fprintf(stderr, "fmnist-grid: %s: configuration %lld (%s) needs about %.1f GiB per rank "
                            "(%lld parameters, batch size %d), more than this machine's %.1f GiB\n",
                    r->c->grid_path, (long long)i, grid_config_params(g, i), need / 1073741824.0, (long long)np,
                    t.batch_size, phys / 1073741824.0);
            r->sm.status = EXIT_INPUT;
        }
    }
    free(d);
    free(info);
    task_wcache_free(wcheck);
    if (r->sm.status < 0 && grid_search_of(g)->strategy == GRID_SEARCH_HALVING)
        check_halving(r);
    r->sm.subset = o->subset;
    r->sm.seed = o->seed;
    r->sm.cv_seed = o->cv_seed;
    r->sm.has_seed = 1;
    r->sm.folds_checksum = r->pd.folds_checksum;
    r->sm.crc_images = r->pd.train.images_crc32;
    r->sm.crc_labels = r->pd.train.labels_crc32;
    r->text = (char *)grid_text(g, &r->text_len);
}

/* Notes why this rank cannot work (it still takes part in every collective). */
static void not_ok(search_run *r, const char *why)
{
    r->worker_ok = 0;
    snprintf(r->why, sizeof r->why, "%s", why);
}

/* Every rank: rank 0's settings and grid text; the workers rebuild the same grid, data,
 * subset and folds and check they agree. The images are held once per node (every rank
 * takes part, even one that failed). Returns -1 to go on, or the exit status. */
static int share_setup(search_run *r)
{
    const cli *c = r->c;
    fg_err err;
    if (sched_bcast(&r->sm, sizeof r->sm, &err))
        return EXIT_RUNTIME;
    if (r->sm.status >= 0)
        return r->sm.status;
    if (sched_bcast_blob(&r->text, &r->text_len, &err))
        return EXIT_RUNTIME;
    nn_gemm_set_threads(r->sm.threads);
    int grid_ok = 1;
    r->worker_ok = 1;
    if (r->rank != 0) {
        if (grid_load_string(r->text, r->text_len, c->grid_path, &r->g, &err)) {
            not_ok(r, err.msg);
            grid_ok = 0;
        } else {
            grid_options *o = grid_opts(r->g);
            o->seed = r->sm.seed;
            o->cv_seed = r->sm.cv_seed;
            o->subset = r->sm.subset;
            if (c->no_refit)
                o->refit = 0;
        }
        free(r->text);
        r->text = NULL;
    }
    int want_test = grid_ok && grid_opts_c(r->g)->refit;
    if (sched_bcast(&want_test, sizeof want_test, &err)) /* rank 0's word */
        return EXIT_RUNTIME;
    int shared_rc = prep_share(&r->pd, r->sm.data_dir, want_test, &err);
    prep_share_report(c->quiet);
    if (shared_rc) {
        not_ok(r, err.msg);
    } else if (r->rank != 0 && grid_ok) {
        char differ[4200 + 64];
        snprintf(differ, sizeof differ, "its data in %s differ from rank 0's (checksums)", r->sm.data_dir);
        if (prep_use_data(r->g, &r->pd, &err) || prep_derive_folds(r->g, &r->pd, &err))
            not_ok(r, err.msg);
        else if (r->pd.folds_checksum != r->sm.folds_checksum || r->pd.train.images_crc32 != r->sm.crc_images ||
                 r->pd.train.labels_crc32 != r->sm.crc_labels)
            not_ok(r, differ);
    }
    if (!grid_ok) /* cannot go on without a grid: say so to rank 0 and stop */
        r->worker_ok = 0;
    if (r->worker_ok && task_ctx_init(&r->tctx, r->g, &r->pd.train, r->pd.idx, r->pd.fold_of, r->pd.n, &err))
        not_ok(r, err.msg);
    if (base_setup(r->g, &r->pd.train, r->pd.idx, r->pd.n, want_test ? &r->pd.test : NULL, r->worker_ok, c->quiet,
                   &r->bases, &err))
        not_ok(r, err.msg);
    return -1;
}

/* Every rank: its task context's bases, rank and host; rank 0 learns every rank's host,
 * for the session record (which hosts ran how many ranks). */
static void worker_setup(search_run *r)
{
    fg_err err;
    r->tctx.bases = r->bases;
    r->tctx.rank = r->rank;
    gethostname(r->tctx.host, sizeof r->tctx.host - 1);
    char mine[JNL_HOST_MAX];
    memset(mine, 0, sizeof mine);
    snprintf(mine, sizeof mine, "%s", r->tctx.host);
    char *all = r->rank == 0 ? calloc((size_t)r->size, JNL_HOST_MAX) : NULL;
    if (r->rank == 0 && !all) {
        fg_print_error("out of memory gathering the ranks' host names");
        sched_abort(EXIT_RUNTIME);
    }
    if (sched_gather(mine, JNL_HOST_MAX, all, &err) == 0 && r->rank == 0)
        summarize_hosts(all, r->size, r->hosts, sizeof r->hosts);
    free(all);
}

/* Rank 0: the coordinator's settings, the results directory and journal paths and this
 * run's journal header. */
static void describe_run(search_run *r)
{
    const cli *c = r->c;
    const grid_options *o = grid_opts_c(r->g);
    search *s = &r->s;
    s->g = r->g;
    s->quiet = c->quiet;
    s->grace = c->grace;
    s->n_configs = grid_n_configs(r->g);
    s->folds = o->folds;
    s->n_tasks = (int)(s->n_configs * o->folds);
    s->fault = r->faults;
    s->tty = isatty(2);
    s->t_start = r->t_start;
    s->test = &r->pd.test;
    s->n_searched = r->pd.n;
    s->n_workers = fault_coordinator_only() && r->size > 1 ? r->size - 1 : r->size;
    if (c->out_dir) {
        snprintf(s->dir, sizeof s->dir, "%s", c->out_dir);
    } else {
        char stamp[32];
        fg_utc_stamp(stamp, sizeof stamp, 1);
        snprintf(s->dir, sizeof s->dir, "results/%s-%s", o->name, stamp);
    }
    if (c->n_shards)
        snprintf(s->journal_path, sizeof s->journal_path, "%s/journal.shard-%d-of-%d.jsonl", s->dir, c->shard,
                 c->n_shards);
    else
        snprintf(s->journal_path, sizeof s->journal_path, "%s/journal.jsonl", s->dir);
    snprintf(r->gp, sizeof r->gp, "%s/grid.yaml", s->dir);
    r->gt = grid_text(r->g, &r->tl);
    jnl_header *h = &r->h;
    snprintf(h->grid_name, sizeof h->grid_name, "%s", o->name);
    h->grid_hash = fg_hash_bytes(r->gt, r->tl, 0);
    h->n_configs = s->n_configs;
    h->folds = o->folds;
    h->seed = o->seed;
    h->cv_seed = o->cv_seed;
    h->subset = o->subset;
    h->folds_checksum = r->pd.folds_checksum;
    h->train_images_crc32 = r->pd.train.images_crc32;
    h->train_labels_crc32 = r->pd.train.labels_crc32;
    h->threads = r->sm.threads;
    h->refit = o->refit;
    h->in_h = o->in_h, h->in_w = o->in_w, h->in_c = o->in_c, h->classes = o->classes; /* written if not 28x28x1, 10 */
    base_header(r->bases, h);
    od_abs_path(r->sm.data_dir, h->data_dir, sizeof h->data_dir); /* a resume may start elsewhere */
    r->order = malloc((size_t)s->n_tasks * sizeof *r->order);
    r->done_task = calloc((size_t)s->n_tasks, 1);
    r->session_no = 1;
}

/* Rank 0 of a halving search: the queue of the current iteration instead (the tasks its
 * candidates still need), the progress over the schedule's tasks; fam: kept by s. */
static void plan_halving(search_run *r, int32_t *fam)
{
    search *s = &r->s;
    fg_err err;
    s->family = fam;
    s->n_shown = search_halving_total(s);
    s->cost_total = s->cost_done = 0; /* the progress counts tasks: iterations differ in cost */
    if (!fam || search_halving_queue(s, &err)) {
        fg_print_error(fam ? err.msg : "out of memory for the dispatch queue");
        r->exit_code = EXIT_RUNTIME;
    }
}

/* Rank 0: the expected cost of every task, the tasks of this run (this shard's) still to
 * run, the dispatch queue, whether the refit runs inside the scheduler; says what runs. */
static void plan_tasks(search_run *r)
{
    const cli *c = r->c;
    const grid_options *o = grid_opts_c(r->g);
    search *s = &r->s;
    fg_err err;
    int n_train = cv_n_train(r->pd.n, o->folds, o->validation_split);
    for (int64_t ci = 0; ci < s->n_configs; ci++) {
        double cc = task_cost(r->g, ci, n_train);
        for (int f = 0; f < o->folds; f++) {
            s->cost[ci * o->folds + f] = cc;
            s->cost_total += cc;
            if (r->done_task[ci * o->folds + f])
                s->cost_done += cc;
        }
    }
    search_tally(s, -1); /* the best so far of a resumed search */
    int *shard_of = c->n_shards ? ord_assign_shards(s->cost, s->n_tasks, c->n_shards) : NULL;
    if (c->n_shards && !shard_of) {
        fprintf(stderr, "fmnist-grid: out of memory\n");
        r->exit_code = EXIT_RUNTIME;
    }
    int mine = 0;
    for (int i = 0; i < s->n_tasks; i++) {
        if (shard_of && shard_of[i] != c->shard)
            continue;
        mine++;
        if (!r->done_task[i])
            r->order[s->n_pending++] = i;
    }
    s->n_shown = mine; /* progress counts this shard's tasks only */
    if (shard_of) {
        s->cost_total = s->cost_done = 0;
        for (int i = 0; i < s->n_tasks; i++)
            if (shard_of[i] == c->shard) {
                s->cost_total += s->cost[i];
                if (r->done_task[i])
                    s->cost_done += s->cost[i];
            }
    }
    free(shard_of);
    int32_t *fam = ord_families(r->arch_key, (int32_t)s->n_configs);
    s->queue = fam ? ord_make_queue(s->cost, s->n_tasks, o->folds, fam, (int32_t)s->n_configs, r->order,
                                    s->n_pending, &err)
                   : NULL;
    if (!s->queue) {
        fg_print_error(fam ? err.msg : "out of memory for the dispatch queue");
        r->exit_code = EXIT_RUNTIME;
    }
    /* The refit runs inside the scheduler (early on a waiting rank when it can) unless
     * this is a shard (the report command refits) or ids would overflow. */
    s->refit_in_sched = o->refit && !c->n_shards && s->n_tasks + s->n_configs <= INT32_MAX;
    if (s->halving && r->exit_code == EXIT_OK)
        plan_halving(r, fam);
    else
        free(fam);
}

/* Rank 0: what this run does, in a few lines (unless --quiet). */
static void say_plan(const search_run *r)
{
    const cli *c = r->c;
    const grid_options *o = grid_opts_c(r->g);
    const search *s = &r->s;
    if (c->quiet)
        return;
    char tasks[48];
    snprintf(tasks, sizeof tasks, s->halving ? "by successive halving" : "= %d tasks", s->n_tasks);
    fprintf(stderr, "fmnist-grid: %s: %lld configuration%s x %d folds %s on %d rank%s, "
                    "%d images per fold; results in %s\n",
            o->name, (long long)s->n_configs, s->n_configs == 1 ? "" : "s", o->folds, tasks, r->size,
            r->size > 1 ? "s" : "", r->pd.n - cv_n_train(r->pd.n, o->folds, o->validation_split), s->dir);
    if (c->n_shards)
        fprintf(stderr, "fmnist-grid: shard %d of %d: %d tasks\n", c->shard, c->n_shards, s->n_shown);
    if (s->halving) {
        char sched[1024];
        cmd_halving_schedule(&s->hsch, grid_search_of(r->g), sched, sizeof sched);
        fprintf(stderr, "fmnist-grid: successive halving: %s (%d tasks)\n", sched, s->n_shown);
    }
    if (r->resuming)
        fprintf(stderr, "fmnist-grid: resuming: %d of %d tasks are in the journal, %d to run\n", s->done,
                s->n_shown, s->halving ? s->n_shown - s->done : s->n_pending);
}

/* Rank 0: the results directory, the journal, the task plan and this run's session
 * record: its environment is recorded before its first record (search_ensure_session),
 * so that a report written later (`report DIR`) keeps it. */
static void open_search(search_run *r)
{
    const cli *c = r->c;
    describe_run(r);
    sdir_open(r);
    if (r->exit_code == EXIT_OK) {
        plan_tasks(r);
        say_plan(r);
    }
    free(r->done_task);
    r->done_task = NULL;
    if (r->exit_code == EXIT_OK) {
        char cmd[4096], role[32];
        fg_join_argv(r->argc, r->argv, cmd, sizeof cmd);
        if (c->n_shards)
            snprintf(role, sizeof role, "shard %d/%d", c->shard, c->n_shards);
        else
            snprintf(role, sizeof role, "%s", r->resuming ? "search (resumed)" : "search");
        fin_fill_session(&r->s.session, r->session_no, role, cmd, r->tctx.host, r->hosts, r->started,
                         r->sm.data_dir, r->size, r->sm.threads, &r->pd);
    }
}

/* Every rank: whether rank 0 could set up, how many tasks there are (refit tasks are
 * numbered after them), then the search loop. */
static void run_loop(search_run *r)
{
    fg_err err;
    r->go = r->exit_code == EXIT_OK ? -1 : r->exit_code;
    if (sched_bcast(&r->go, sizeof r->go, &err))
        r->go = EXIT_RUNTIME;
    int32_t n_tasks_all = r->rank == 0 ? r->s.refit_base : 0; /* fold task ids, then refits */
    if (r->go < 0 && sched_bcast(&n_tasks_all, sizeof n_tasks_all, &err))
        r->go = EXIT_RUNTIME;
    if (r->rank == 0)
        r->tctx.halv = r->halv;
    if (r->go < 0 && sched_bcast(&r->tctx.halv, sizeof r->tctx.halv, &err)) /* halving's task ids */
        r->go = EXIT_RUNTIME;
    r->wk = (search_worker){&r->tctx, &r->pd.test, n_tasks_all, NULL};
    fault_startup("dir", r->rank == 0 && r->go < 0);
    signals_graceful(); /* the search loop starts: a signal is noted, running tasks may finish */
    if (r->go >= 0) {
        r->exit_code = r->go;
        return;
    }
    sched_plan plan;
    memset(&plan, 0, sizeof plan);
    search_plan(&r->s, &r->wk, &plan);
    plan.worker_ok = r->worker_ok;
    plan.worker_why = r->why;
    if (sched_run(&plan, &r->st, &err)) {
        if (r->rank == 0) {
            if (r->s.tty && !r->c->quiet)
                fputc('\n', stderr);
            fprintf(stderr, "fmnist-grid: %s%s%s\n", err.msg, r->s.fatal ? ": " : "", r->s.fatal ? r->s.err.msg : "");
        }
        r->exit_code = EXIT_RUNTIME;
    }
}

/* Rank 0 of a shard: it only records its tasks; `fmnist-grid report DIR` merges, refits
 * and reports. */
static void finish_shard(search_run *r)
{
    const cli *c = r->c;
    search *s = &r->s;
    if (s->tty && !c->quiet && s->done)
        fputc('\n', stderr);
    int interrupted = r->st.stopped || signals_received();
    search_end_session(s, &r->st, interrupted, r->t_start);
    if (interrupted) {
        fprintf(stderr, "fmnist-grid: shard %d/%d interrupted by signal %d; re-run the same command to "
                        "continue it\n", c->shard, c->n_shards, signals_received());
        if (r->exit_code == EXIT_OK)
            r->exit_code = EXIT_INTERRUPTED;
    } else if (r->exit_code == EXIT_OK) {
        fprintf(stderr, "fmnist-grid: shard %d/%d done (%d tasks, %d failed); when every shard is done: "
                        "fmnist-grid report %s\n", c->shard, c->n_shards, s->done, s->failed, s->dir);
        printf("%s\n", s->journal_path);
    }
}

/* Rank 0: the model of the best configuration (jc's, rpt_best's rule): saved from the
 * parameters a worker sent, rebuilt when its file was lost, or refitted here when the
 * scheduler did not. Returns 1 after a failed write (said in one line: write nothing
 * more), else 0. */
static int finish_model(search_run *r, const jnl_contents *jc, int interrupted)
{
    search *s = &r->s;
    const grid_options *o = grid_opts_c(r->g);
    int64_t best = s->rg ? rungs_best(s->rg) : results_best(r->g, jc->e, jc->n);
    const jnl_entry *refit_entry = results_refit_of(jc->e, jc->n, best); /* done by the scheduler, or before a resume */
    int have_refit = refit_entry != NULL;
    int saved = 1;
    if (s->fatal)
        return 1;
    if (have_refit && best == s->model_config && s->model_params && refit_entry->status == NN_STATUS_OK)
        saved = fin_save_params(s->dir, r->g, best, s->model_params, s->model_n, refit_entry);
    if (saved < 0)
        return 1;
    if (!interrupted && have_refit && o->refit &&
        fin_rebuild_model(s->dir, r->g, best, refit_entry, r->worker_ok ? &r->tctx : NULL, &r->pd.test, r->c->quiet) < 0)
        return 1; /* the journaled refit's model.fgm was lost: rebuilt, or said why not */
    if (!interrupted && r->exit_code == EXIT_OK && o->refit && best >= 0 && r->worker_ok && !have_refit)
        return fin_search_refit(s, &r->tctx, &r->pd.test, r->pd.n, best) < 0;
    return 0;
}

/* Rank 0: the session's end, then the journal once more (the report is the journal's),
 * and the reports. */
static void finish_reports(search_run *r, int interrupted)
{
    search *s = &r->s;
    fg_err err;
    jnl_contents jc;
    memset(&jc, 0, sizeof jc);
    search_end_session(s, &r->st, interrupted, r->t_start);
    if (results_load_journal(s->journal_path, r->g, &jc, &err)) {
        fg_print_error(err.msg);
        r->exit_code = EXIT_RUNTIME;
        return;
    }
    rpt_env env;
    char cmd[4096], host[64] = "";
    fg_join_argv(r->argc, r->argv, cmd, sizeof cmd);
    gethostname(host, sizeof host - 1);
    fin_fill_env(&env, cmd, host, r->started, r->sm.data_dir, r->size, r->sm.threads, r->st.workers,
                 fg_now() - r->t_start, &r->pd, &jc.h);
    env.interrupted = interrupted;
    jnl_sort_sessions(jc.s, jc.n_sessions, jc.e, jc.n);
    env.sessions = jc.s;
    env.n_sessions = jc.n_sessions;
    if (fin_write(s->dir, r->g, &jc.h, jc.e, jc.n, &env, s->journal_path, r->c->quiet))
        r->exit_code = EXIT_RUNTIME;
    jnl_contents_free(&jc);
}

/* Rank 0 of a whole search: refit the best configuration and write the reports, from the
 * journal; then the last line. */
static void finish_search(search_run *r)
{
    search *s = &r->s;
    fg_err err;
    if (s->tty && !r->c->quiet && s->done)
        fputc('\n', stderr);
    int interrupted = r->st.stopped || signals_received();
    jnl_contents jc;
    memset(&jc, 0, sizeof jc);
    if (results_load_journal(s->journal_path, r->g, &jc, &err)) {
        fg_print_error(err.msg);
        r->exit_code = EXIT_RUNTIME;
    } else {
        int stop = finish_model(r, &jc, interrupted);
        if (stop && !s->fatal)
            r->exit_code = EXIT_RUNTIME;
        jnl_contents_free(&jc);
        fault_before_report(&s->fault); /* FG_FAULT=kill:report: everything is journaled, no report yet */
        if (!stop)
            finish_reports(r, interrupted);
    }
    if (interrupted && r->exit_code == EXIT_OK) {
        fprintf(stderr, "fmnist-grid: interrupted by signal %d after %d of %d tasks%s; partial report in %s; "
                        "continue with: fmnist-grid --resume %s\n",
                signals_received(), s->done, s->n_shown, r->st.abandoned ? " (running tasks abandoned)" : "",
                s->dir, s->dir);
        r->exit_code = EXIT_INTERRUPTED;
    } else if (r->exit_code == EXIT_OK) {
        char el[32];
        fg_fmt_hms(el, sizeof el, fg_now() - r->t_start);
        fprintf(stderr, "fmnist-grid: done in %s (%d tasks, %d failed)\n", el, s->done, s->failed);
        printf("%s/report.md\n", s->dir);
    }
}

/* Every rank: the journal closed and the lock released; after abandoned tasks every rank
 * ends now (workers are still training tasks nobody will record; the journal and the
 * partial report are durable); else everything freed. */
static void end_run(search_run *r)
{
    jnl_close(r->s.journal);
    if (r->rank == 0)
        od_lock_release(r->s.lock_fd);
    if (r->st.abandoned) {
        fflush(stdout);
        if (r->size > 1 && !signals_launcher_term()) /* mpirun ending the job ends the others itself */
            sched_abort(r->exit_code);
        _exit(r->exit_code);
    }
    nn_net_free(r->wk.net);
    search_free(&r->s);
    free(r->order);
    fault_release();
    task_ctx_free(&r->tctx);
    base_free(r->bases);
}

int cmd_search(int argc, char **argv, const cli *c)
{
    search_run *r = calloc(1, sizeof *r);
    if (!r) {
        fg_print_error("out of memory");
        return EXIT_RUNTIME;
    }
    *r = (search_run){.c = c, .argc = argc, .argv = argv, .rank = sched_rank(), .size = sched_size()};
    r->t_start = fg_now();
    r->faults = fault_from_env();
    r->sm.status = -1;
    r->s.lock_fd = -1;
    signals_note(" during start-up, before any task ran (nothing to lose)");
    if (r->rank == 0) { /* rank 0 validates everything before anything is sent */
        load_grid(r);
        if (r->sm.status < 0)
            check_configs(r);
    }
    int rc = share_setup(r);
    if (rc < 0) {
        worker_setup(r);
        fg_utc_stamp(r->started, sizeof r->started, 0);
        if (r->rank == 0)
            open_search(r);
        run_loop(r);
        if (r->rank == 0 && r->go < 0)
            (c->n_shards ? finish_shard : finish_search)(r);
        end_run(r);
        rc = r->exit_code;
    }
    free(r->arch_key);
    prep_free(&r->pd);
    grid_free(r->g);
    free(r);
    return rc;
}
