/* main.c - command line, the flow of one search, progress and exit codes.
 *
 *   fmnist-grid [options] GRID.yaml     run a search (under mpirun or as one process)
 *   fmnist-grid report DIR              rewrite DIR's reports from its journal
 *   fmnist-grid compare DIR...          the best configurations of several searches
 *
 * Exit status: 0 success, 1 runtime failure, 2 bad usage or bad input, 3 interrupted by a
 * signal (resumable). Only rank 0 prints and writes files. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cv.h"
#include "data.h"
#include "dispatch.h"
#include "fg_util.h"
#include "grid.h"
#include "journal.h"
#include "model.h"
#include "nn.h"
#include "nn_gemm.h"
#include "outdir.h"
#include "report.h"
#include "fg_sched.h"
#include "base.h"
#include "task.h"

#ifndef FG_VERSION
#define FG_VERSION "0.0.0"
#endif
#ifndef FG_GIT_REV
#define FG_GIT_REV "unknown"
#endif
#ifndef FG_COMPILER
#define FG_COMPILER "unknown"
#endif

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_INPUT = 2, EXIT_INTERRUPTED = 3 };

static const char usage_text[] =
    "Usage: fmnist-grid [options] GRID.yaml\n"
    "       fmnist-grid report DIR\n"
    "       fmnist-grid compare DIR [DIR...]\n"
    "\n"
    "Grid search with k-fold cross-validation over small image classifiers on\n"
    "Fashion-MNIST. Run it as one process or under mpirun/srun: rank 0 hands out\n"
    "(configuration, fold) tasks, every rank trains, rank 0 journals each result,\n"
    "ranks the configurations, refits the best one and writes the reports.\n"
    "\n"
    "Options:\n"
    "  -o, --out DIR      results directory (default: results/<grid name>-<UTC time>);\n"
    "                     if DIR holds an unfinished search of the same grid, resume it;\n"
    "                     a directory holding anything else is refused\n"
    "  -r, --resume DIR   continue the search in DIR: tasks in its journal are skipped\n"
    "                     (the grid defaults to DIR/grid.yaml; seed, subset, threads and\n"
    "                     data directory default to the recorded ones)\n"
    "      --shard I/N    run only shard I (0..N-1) of the tasks, balanced by estimated\n"
    "                     cost, into DIR/journal.shard-I-of-N.jsonl (several shards may\n"
    "                     share --out DIR); then `fmnist-grid report DIR` merges them\n"
    "  -d, --data DIR     Fashion-MNIST IDX files (default: $FMNIST_DATA, then the grid's\n"
    "                     data.dir, then " DATA_DEFAULT_DIR ")\n"
    "      --subset N     search on a stratified subset of N training images (0 = all)\n"
    "      --seed N       override the grid's seed\n"
    "  -t, --threads N    BLAS threads per rank (default 1)\n"
    "  -n, --dry-run      list configurations, tasks and model summaries; train nothing\n"
    "      --no-refit     do not refit the best configuration\n"
    "      --grace S      after SIGINT/SIGTERM/SIGUSR1, let running tasks finish for up\n"
    "                     to S seconds (default 60), then write the partial report and\n"
    "                     exit with status 3; a second signal ends the wait at once\n"
    "  -q, --quiet        no progress output\n"
    "  -h, --help         this help\n"
    "  -V, --version      version, git revision, MPI and BLAS libraries\n"
    "\n"
    "An option that does not apply to the command is refused: --out, --resume,\n"
    "--shard and --grace are for a search; --subset and --seed for a search, a dry run\n"
    "and fit; --no-refit for a search, a dry run and report; --data for the commands\n"
    "that read images (not a dry run, compare or simulate); --threads and --quiet for\n"
    "those that train (and --threads for predict); --config for fit and reproduce;\n"
    "--verify for reproduce; --output for predict; --ranks and --csv for simulate.\n"
    "\n"
    "Commands:\n"
    "  fit GRID           train one configuration (--config K, default 0) on all the\n"
    "                     training images (or the grid's subset) without cross-\n"
    "                     validation and score it on the test set; prints each epoch\n"
    "  reproduce REPORT   re-run the best configuration (or --config K) of a search from\n"
    "                     its report.yaml alone: every fold and the refit, compared with\n"
    "                     the report; --verify exits 1 unless identical\n"
    "  predict MODEL [IMAGES [LABELS]]\n"
    "                     classify IDX images (default: the test set) with a model file\n"
    "                     (DIR/model.fgm): accuracy, per-class accuracy, confusion\n"
    "                     matrix; --output FILE writes one predicted label per line\n"
    "  compare DIR...     the best configurations of several searches side by side\n"
    "                     (from each DIR/report.yaml): parameters, mean ± standard\n"
    "                     error, configurations not separated from the best, the\n"
    "                     one-standard-error choice, refit test accuracy, tasks, time\n"
    "  simulate DIR       replay a finished search's recorded task times through the\n"
    "                     scheduler's dispatch for other rank counts (--ranks LIST,\n"
    "                     default 1,2,4,...,1024; --csv): the wall time each would take\n"
    "                     against the lower bound max(total work / ranks, longest task)\n"
    "  report DIR         merge DIR's journals (journal*.jsonl), refit the best\n"
    "                     configuration if every task is done and it has not been\n"
    "                     refitted (unless --no-refit), and write cv_results.csv,\n"
    "                     report.md, report.html, report.yaml and the plots (DIR/plots:\n"
    "                     CSV, and SVG/PNG drawn by gnuplot, $FG_GNUPLOT); on an\n"
    "                     unfinished search, a partial report that lists what is missing\n"
    "\n"
    "Exit status: 0 done, 1 runtime failure, 2 bad usage or input, 3 interrupted\n"
    "(resumable with --resume DIR).\n";

typedef struct {
    const char *grid_path;
    const char *out_dir;
    const char *data_dir;
    long long subset;       /* -1 = from the grid */
    long long seed;         /* -1 = from the grid */
    int seed_set;
    int threads;
    int threads_set;        /* --threads given (a resume takes the recorded count otherwise) */
    double grace;           /* seconds running tasks may finish after a signal */
    int dry_run, quiet, no_refit;
    const char *report_dir; /* "report DIR" command */
    char **compare;         /* "compare DIR..." command: n_compare directories */
    int n_compare;
    int fit;                /* "fit GRID" command */
    const char *reproduce;  /* "reproduce REPORT.yaml" command */
    const char *predict;    /* "predict MODEL" command */
    const char *pred_images, *pred_labels, *pred_output;
    int verify;             /* --verify */
    int config_set;
    long long config;       /* --config K for fit */
    const char *resume_dir; /* --resume DIR */
    int shard, n_shards;    /* --shard I/N; n_shards = 0 without */
    char resume_grid[4200]; /* DIR/grid.yaml when --resume is given without a grid */
    const char *simulate;   /* "simulate DIR" command */
    const char *sim_ranks;  /* --ranks LIST */
    int csv;                /* --csv */
} cli;

/* Prints one error line on stderr. Messages can quote text from the user's files, so
 * control characters (a newline, an escape sequence) are shown as \xNN: an error is always
 * exactly one line and never drives the terminal. */
static void print_error(const char *msg)
{
    fputs("fmnist-grid: ", stderr);
    for (const unsigned char *p = (const unsigned char *)msg; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            fprintf(stderr, "\\x%02x", *p);
        else
            fputc(*p, stderr);
    }
    fputc('\n', stderr);
}

/* ---- small helpers -------------------------------------------------------------------- */

/* Signals (SIGINT, SIGTERM, SIGUSR1). Until a search enters its search loop (the command
 * line, the grid, loading the data, MPI start-up, the node's shared image window, the
 * results directory), and throughout the other commands, no task has run and there is
 * nothing to lose: a signal ends the process at once with status 3, rank 0 saying so in
 * one line. From the search loop on, a signal is only noted here: the coordinator stops
 * handing out tasks and lets running ones finish (--grace), then writes the partial report.
 * Under OpenMPI's mpirun, a SIGTERM from the rank's parent (mpirun or its orted) is mpirun
 * ending the job on SIGINT/SIGTERM: it sends SIGKILL odls_base_sigkill_timeout seconds
 * later (1 by default), whatever the ranks do. Rank 0 then gives up running tasks at once,
 * as at a second signal, writes the partial report in that time and exits 3 without
 * MPI_Abort (mpirun is already ending the job). The other ranks carry on until then: one
 * that exits on its own would make OpenMPI abort rank 0 before the report is written. */
static volatile sig_atomic_t g_signal;  /* the first signal received, read by the coordinator */
static volatile sig_atomic_t g_signals; /* how many were received */
static volatile sig_atomic_t g_searching;     /* 1 from the search loop on: signals are noted */
static volatile sig_atomic_t g_defer;         /* 1 while the results directory is being set up */
static volatile sig_atomic_t g_silent;        /* 1 on ranks other than 0: they do not print */
static volatile sig_atomic_t g_launcher_term; /* SIGTERM from mpirun/orted: the job is ending */
static int g_under_orte;                      /* started by OpenMPI's mpirun */
/* The end of the line printed when a signal stops the start-up; changed only while g_defer
 * holds signals back, so the handler never reads it half-written. */
static char g_stop_note[8400];

/* Async-signal-safe: prints "fmnist-grid: stopped by signal N<note>" (rank 0) and ends the
 * process with status 3. */
static void stop_at_once(int sig)
{
    if (!g_silent) {
        char buf[64] = "fmnist-grid: stopped by signal ";
        size_t n = strlen(buf);
        char digits[12];
        int nd = 0;
        unsigned v = (unsigned)sig;
        do
            digits[nd++] = (char)('0' + v % 10);
        while ((v /= 10) && nd < 11);
        while (nd > 0)
            buf[n++] = digits[--nd];
        ssize_t w = write(2, buf, n);
        w = write(2, g_stop_note, strlen(g_stop_note));
        w = write(2, "\n", 1);
        (void)w;
    }
    _exit(3); /* EXIT_INTERRUPTED */
}

static void on_signal(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    if (!g_signal)
        g_signal = sig;
    g_signals = g_signals + 1;
    if (!g_searching) {
        if (!g_defer)
            stop_at_once(sig);
        return; /* the results directory is being set up: stopped right after */
    }
    if (sig == SIGTERM && g_under_orte && si && si->si_pid > 1 && si->si_pid == getppid())
        g_launcher_term = 1;
}

static void install_signals(void)
{
    /* Before MPI starts, which rank this is comes from the launcher's environment. */
    static const char *const rank_vars[] = {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK",
                                            "SLURM_PROCID"};
    for (size_t i = 0; i < sizeof rank_vars / sizeof rank_vars[0]; i++) {
        const char *v = getenv(rank_vars[i]);
        if (v && *v) {
            g_silent = strcmp(v, "0") != 0;
            break;
        }
    }
    g_under_orte = getenv("OMPI_MCA_orte_hnp_uri") != NULL;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
}

/* Holds start-up signals back while the results directory is set up (so that it is either
 * untouched or complete), or lets them stop the process again, at once if one came. Other
 * threads (MPI's) may take the signal, so this is a flag, not a signal mask. */
static void defer_signals(int on)
{
    g_defer = on;
    if (!on && g_signal && !g_searching)
        stop_at_once(g_signal);
}

/* The search loop starts: from now on a signal is noted, not fatal. */
static void signals_graceful(void)
{
    g_searching = 1;
}

static int parse_ll(const char *s, long long lo, long long hi, long long *out)
{
    char *e;
    errno = 0;
    long long v = strtoll(s, &e, 10);
    if (errno || *e || e == s || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* Parses an integer option value in [lo, hi]; on a bad value prints (rank 0 only) that
 * OPTION's 'VALUE' is not WHAT and returns -1. */
static int int_option(const char *option, const char *arg, long long lo, long long hi,
                      const char *what, int rank, long long *out)
{
    if (parse_ll(arg, lo, hi, out) == 0)
        return 0;
    if (!rank)
        fprintf(stderr, "fmnist-grid: %s: '%s' is not %s\n", option, arg, what);
    return -1;
}

/* mkdir -p, removing what it created when it fails */
static int make_dirs(const char *path, fg_err *err)
{
    return od_make_dirs(path, err);
}

static int dir_is_unused(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return 1; /* does not exist: fine */
    if (!S_ISDIR(st.st_mode))
        return 0;
    /* A directory is reusable only if it holds none of a search's files. */
    int empty = 1;
    char probe[4200];
    const char *names[] = {"journal.jsonl", "grid.yaml", "report.md", "cv_results.csv"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(probe, sizeof probe, "%s/%s", path, names[i]);
        if (access(probe, F_OK) == 0)
            empty = 0;
    }
    return empty;
}

static int copy_file(const char *text, size_t len, const char *dst, fg_err *err)
{
    FILE *f = fopen(dst, "wx");
    if (!f) {
        int e = errno;
        fg_err_set(err, "%s: cannot create: %s", dst, strerror(e));
        errno = e; /* callers tell "exists" from other failures */
        return -1;
    }
    int bad = fwrite(text, 1, len, f) != len;
    bad |= fflush(f) != 0 || fsync(fileno(f)) != 0;
    bad |= fclose(f) != 0;
    if (bad) {
        int e = errno;
        unlink(dst); /* a partial copy would later look like another search's grid */
        return fg_err_set(err, "%s: write failed: %s", dst, strerror(e));
    }
    return 0;
}

static void utc_stamp(char *buf, size_t n, int compact)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, compact ? "%Y%m%dT%H%M%SZ" : "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void join_argv(int argc, char **argv, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < argc && len + 4 < n; i++) {
        const char *a = argv[i];
        int quote = strpbrk(a, " \t'\"$") != NULL || !*a;
        len += (size_t)snprintf(buf + len, n - len, "%s%s%s%s", i ? " " : "", quote ? "'" : "", a,
                                quote ? "'" : "");
        if (len >= n)
            len = n - 1;
    }
}

static void fmt_hms(char *buf, size_t n, double s)
{
    if (isnan(s) || s < 0 || s > 1e8) {
        snprintf(buf, n, "--:--:--");
        return;
    }
    long t = (long)(s + 0.5);
    snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
}

/* ---- command line ------------------------------------------------------------------ */

/* --out / --resume checked before anything is created: -1 to go on, else EXIT_INPUT. */
static int check_out_option(const cli *c, int rank)
{
    fg_err err;
    /* --data too: the data directory is written into the journal and report.yaml. */
    if ((!c->out_dir || od_check_path(c->resume_dir ? "--resume" : "--out", c->out_dir, &err) == 0) &&
        (!c->data_dir || od_check_path("--data", c->data_dir, &err) == 0))
        return -1;
    if (!rank)
        print_error(err.msg);
    return EXIT_INPUT;
}

/* What the command line asks for: a search, a dry run or one of the commands. */
enum {
    CMD_SEARCH = 1 << 0,
    CMD_DRY_RUN = 1 << 1,
    CMD_REPORT = 1 << 2,
    CMD_COMPARE = 1 << 3,
    CMD_SIMULATE = 1 << 4,
    CMD_PREDICT = 1 << 5,       /* predict MODEL: the test set of the data directory */
    CMD_PREDICT_FILES = 1 << 6, /* predict MODEL IMAGES [LABELS] */
    CMD_REPRODUCE = 1 << 7,
    CMD_FIT = 1 << 8,
};

static const char *cmd_name(unsigned cmd)
{
    switch (cmd) {
    case CMD_SEARCH: return "a search";
    case CMD_DRY_RUN: return "a dry run";
    case CMD_REPORT: return "the report command";
    case CMD_COMPARE: return "the compare command";
    case CMD_SIMULATE: return "the simulate command";
    case CMD_PREDICT: return "the predict command";
    case CMD_PREDICT_FILES: return "predict with IMAGES given";
    case CMD_REPRODUCE: return "the reproduce command";
    default: return "the fit command";
    }
}

/* Which options apply to which command: the one place that decides it. An option given to
 * a command it does not apply to is refused (exit 2) rather than silently ignored. --help
 * and --version apply everywhere (they print and exit). */
#define CMD_TRAINS (CMD_SEARCH | CMD_REPORT | CMD_REPRODUCE | CMD_FIT) /* may train a network */
static const struct {
    int ch;           /* getopt value */
    const char *name; /* as printed */
    unsigned applies; /* CMD_ bits */
} option_table[] = {
    {'o', "--out", CMD_SEARCH},
    {'r', "--resume", CMD_SEARCH},
    {'H', "--shard", CMD_SEARCH},
    {'G', "--grace", CMD_SEARCH},
    {'n', "--dry-run", CMD_SEARCH | CMD_DRY_RUN}, /* it makes a search a dry run */
    {'S', "--subset", CMD_SEARCH | CMD_DRY_RUN | CMD_FIT},
    {'s', "--seed", CMD_SEARCH | CMD_DRY_RUN | CMD_FIT},
    {'R', "--no-refit", CMD_SEARCH | CMD_DRY_RUN | CMD_REPORT},
    {'d', "--data", CMD_TRAINS | CMD_PREDICT},
    {'t', "--threads", CMD_TRAINS | CMD_PREDICT | CMD_PREDICT_FILES},
    {'q', "--quiet", CMD_TRAINS}, /* the commands that print progress */
    {'C', "--config", CMD_REPRODUCE | CMD_FIT},
    {'Y', "--verify", CMD_REPRODUCE},
    {'P', "--output", CMD_PREDICT | CMD_PREDICT_FILES},
    {'K', "--ranks", CMD_SIMULATE},
    {'Z', "--csv", CMD_SIMULATE},
};
#define N_OPTIONS (sizeof option_table / sizeof option_table[0])

/* The first option given (seen[i] for option_table[i]) that does not apply to cmd: prints
 * "OPTION does not apply to COMMAND" (rank 0) and returns EXIT_INPUT; -1 if all apply. */
static int check_options(const char *seen, unsigned cmd, int rank)
{
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (seen[i] && !(option_table[i].applies & cmd)) {
            if (!rank)
                fprintf(stderr, "fmnist-grid: %s does not apply to %s (see --help)\n", option_table[i].name,
                        cmd_name(cmd));
            return EXIT_INPUT;
        }
    return -1;
}

/* Returns -1 to continue, or an exit status. Prints only on rank 0. */
static int parse_cli(int argc, char **argv, cli *c, int rank)
{
    static const struct option opts[] = {
        {"out", required_argument, NULL, 'o'},   {"data", required_argument, NULL, 'd'},
        {"subset", required_argument, NULL, 'S'}, {"seed", required_argument, NULL, 's'},
        {"threads", required_argument, NULL, 't'}, {"dry-run", no_argument, NULL, 'n'},
        {"no-refit", no_argument, NULL, 'R'},    {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},        {"version", no_argument, NULL, 'V'},
        {"resume", required_argument, NULL, 'r'}, {"grace", required_argument, NULL, 'G'},
        {"shard", required_argument, NULL, 'H'},  {"config", required_argument, NULL, 'C'},
        {"verify", no_argument, NULL, 'Y'},      {"output", required_argument, NULL, 'P'},
        {"ranks", required_argument, NULL, 'K'},  {"csv", no_argument, NULL, 'Z'},
        {NULL, 0, NULL, 0}};
    memset(c, 0, sizeof *c);
    c->subset = -1;
    c->seed = -1;
    c->threads = 1;
    c->grace = 60;
    opterr = 0;
    int ch;
    long long v;
    char seen[N_OPTIONS] = {0};
    while ((ch = getopt_long(argc, argv, "o:d:t:nqhVr:", opts, NULL)) != -1) {
        for (size_t i = 0; i < N_OPTIONS; i++)
            if (option_table[i].ch == ch)
                seen[i] = 1;
        switch (ch) {
        case 'o': c->out_dir = optarg; break;
        case 'r': c->resume_dir = optarg; break;
        case 'd': c->data_dir = optarg; break;
        case 'S':
            if (int_option("--subset", optarg, 0, 100000000, "a count >= 0", rank, &v))
                return EXIT_INPUT;
            c->subset = v;
            break;
        case 's':
            if (int_option("--seed", optarg, 0, INT64_MAX, "an integer >= 0", rank, &v))
                return EXIT_INPUT;
            c->seed = v;
            c->seed_set = 1;
            break;
        case 't':
            if (int_option("--threads", optarg, 1, 256, "in 1..256", rank, &v))
                return EXIT_INPUT;
            c->threads = (int)v;
            c->threads_set = 1;
            break;
        case 'G':
            if (int_option("--grace", optarg, 0, 100000000, "a number of seconds >= 0", rank, &v))
                return EXIT_INPUT;
            c->grace = (double)v;
            break;
        case 'H': {
            int i = -1, nn = 0, used = 0;
            if (sscanf(optarg, "%d/%d%n", &i, &nn, &used) != 2 || optarg[used] || nn < 1 || nn > 100000 ||
                i < 0 || i >= nn) {
                if (!rank)
                    fprintf(stderr, "fmnist-grid: --shard: '%s' is not I/N with 0 <= I < N\n", optarg);
                return EXIT_INPUT;
            }
            c->shard = i;
            c->n_shards = nn;
            break;
        }
        case 'C':
            if (int_option("--config", optarg, 0, INT32_MAX, "a configuration number >= 0", rank, &v))
                return EXIT_INPUT;
            c->config = v;
            c->config_set = 1;
            break;
        case 'Y': c->verify = 1; break;
        case 'K': c->sim_ranks = optarg; break;
        case 'Z': c->csv = 1; break;
        case 'P': c->pred_output = optarg; break;
        case 'n': c->dry_run = 1; break;
        case 'R': c->no_refit = 1; break;
        case 'q': c->quiet = 1; break;
        case 'h':
            if (!rank)
                fputs(usage_text, stdout);
            return EXIT_OK;
        case 'V':
            if (!rank)
                printf("fmnist-grid %s (git %s, %s)\nMPI: %s\nBLAS: %s\n", FG_VERSION, FG_GIT_REV,
                       FG_COMPILER, sched_mpi_version(), nn_gemm_backend());
            return EXIT_OK;
        default:
            if (!rank)
                fprintf(stderr, "fmnist-grid: unknown or incomplete option '%s' (see --help)\n",
                        argv[optind - 1]);
            return EXIT_INPUT;
        }
    }
    int rest = argc - optind;
    /* Commands: a name, its argument count and usage; the first argument is argv[optind+1]. */
    static const struct {
        const char *name;
        int lo, hi;
        const char *usage;
    } cmds[] = {{"report", 1, 1, "DIR"},
                {"compare", 1, INT32_MAX, "DIR [DIR...]"},
                {"simulate", 1, 1, "DIR [--ranks 16,64,256] [--csv]"},
                {"predict", 1, 3, "MODEL [IMAGES [LABELS]] [--output FILE]"},
                {"reproduce", 1, 1, "DIR/report.yaml [--config K] [--verify]"},
                {"fit", 1, 1, "GRID.yaml [--config K]"}};
    for (size_t k = 0; rest >= 1 && k < sizeof cmds / sizeof cmds[0]; k++) {
        if (strcmp(argv[optind], cmds[k].name))
            continue;
        if (rest - 1 < cmds[k].lo || rest - 1 > cmds[k].hi) {
            if (!rank)
                fprintf(stderr, "fmnist-grid: usage: fmnist-grid %s %s\n", cmds[k].name, cmds[k].usage);
            return EXIT_INPUT;
        }
        char **arg = argv + optind + 1;
        unsigned cmd;
        switch (k) {
        case 0: c->report_dir = arg[0], cmd = CMD_REPORT; break;
        case 1: c->compare = arg, c->n_compare = rest - 1, cmd = CMD_COMPARE; break;
        case 2: c->simulate = arg[0], cmd = CMD_SIMULATE; break;
        case 3:
            c->predict = arg[0];
            c->pred_images = rest >= 3 ? arg[1] : NULL;
            c->pred_labels = rest >= 4 ? arg[2] : NULL;
            cmd = c->pred_images ? CMD_PREDICT_FILES : CMD_PREDICT;
            break;
        case 4: c->reproduce = arg[0], cmd = CMD_REPRODUCE; break;
        default: c->fit = 1, c->grid_path = arg[0], cmd = CMD_FIT; break;
        }
        return check_options(seen, cmd, rank);
    }
    int opt_rc = check_options(seen, c->dry_run ? CMD_DRY_RUN : CMD_SEARCH, rank);
    if (opt_rc >= 0)
        return opt_rc;
    if (c->resume_dir) {
        if (c->out_dir && strcmp(c->out_dir, c->resume_dir)) {
            if (!rank)
                fprintf(stderr, "fmnist-grid: --resume %s and --out %s name different directories\n",
                        c->resume_dir, c->out_dir);
            return EXIT_INPUT;
        }
        c->out_dir = c->resume_dir;
        if (rest == 0) {
            snprintf(c->resume_grid, sizeof c->resume_grid, "%s/grid.yaml", c->resume_dir);
            c->grid_path = c->resume_grid;
            return check_out_option(c, rank);
        }
    }
    if (rest != 1) {
        if (!rank)
            fprintf(stderr, "fmnist-grid: %s (see --help)\n",
                    rest == 0 ? "no grid file given" : "give exactly one grid file");
        return EXIT_INPUT;
    }
    c->grid_path = argv[optind];
    return check_out_option(c, rank);
}

/* Fault injection for the crash and signal tests: FG_FAULT=kill:N sends this process
 * SIGKILL right after the N-th journal record of this session is durable; FG_FAULT=signal:N
 * sends it SIGUSR1 at the same point; FG_FAULT=kill:report kills it after the refit is
 * journaled, just before the reports are written; FG_FAULT=kill:refit kills it right after
 * the refit's record is durable, before model.fgm is written; FG_FAULT=hold:N:FIFO holds it
 * at the same point as kill:N (the results directory locked) until a test lets it go: it
 * writes "held PID" into the FIFO (blocking until the test reads), then reads the FIFO until
 * end of file. FG_FAULT=nodekill:N kills (SIGKILL) every rank of rank 0's node at that
 * point, rank 0 last: a node lost. FG_FAULT=hold:N (without FIFO) makes rank 0 wait there for a signal (for tests that signal mpirun at a known point).
 * FG_FAULT=startup:SIG[:WHERE] (SIG int, term or usr1) raises SIG during the start-up: WHERE
 * data (default) on rank 0 once the grid is parsed and the training images are loaded,
 * window on the last rank once its node's image window is built, dir on rank 0 once the
 * results directory is set up, just before the search loop. Read once at start-up; inert
 * when unset. */
typedef struct {
    int kill_after, signal_after;
    int kill_before_report;
    int kill_after_refit; /* FG_FAULT=kill:refit: right after a refit's record, whatever its number */
    int nodekill_after, hold_after;
    const char *hold_fifo; /* hold:N:FIFO; NULL: hold:N waits for a signal */
} fault_plan;

/* FG_FAULT=hold:N:FIFO, at its point: no timing, the test decides when to go on. */
static void fault_hold(const fault_plan *f)
{
    int fd = open(f->hold_fifo, O_WRONLY);
    if (fd >= 0) {
        char msg[32];
        int n = snprintf(msg, sizeof msg, "held %ld\n", (long)getpid());
        ssize_t w = write(fd, msg, (size_t)n); /* a short write shows as a failed test */
        (void)w;
        close(fd);
    }
    fd = open(f->hold_fifo, O_RDONLY);
    char b[64];
    while (fd >= 0 && read(fd, b, sizeof b) > 0)
        continue;
    if (fd >= 0)
        close(fd);
}

static int g_workerkill, g_worker_tasks; /* FG_FAULT=workerkill:N, set once at start-up */
static int g_startup_sig;                /* FG_FAULT=startup:SIG:WHERE, set once at start-up */
static char g_startup_where[8];
static int64_t *g_node0_pids;            /* rank 0: the pids of its node's ranks (nodekill) */
static int g_node0_n;

static fault_plan fault_from_env(void)
{
    fault_plan f = {0, 0, 0, 0, 0, 0, NULL};
    const char *v = getenv("FG_FAULT");
    if (v && !strncmp(v, "hold:", 5) && strchr(v + 5, ':')) {
        f.hold_after = atoi(v + 5);
        f.hold_fifo = strchr(v + 5, ':') + 1;
    }
    if (v && !strncmp(v, "workerkill:", 11))
        g_workerkill = atoi(v + 11);
    if (v && !strcmp(v, "kill:report"))
        f.kill_before_report = 1;
    else if (v && !strcmp(v, "kill:refit"))
        f.kill_after_refit = 1;
    else if (v && !strncmp(v, "kill:", 5))
        f.kill_after = atoi(v + 5);
    else if (v && !strncmp(v, "signal:", 7))
        f.signal_after = atoi(v + 7);
    else if (v && !strncmp(v, "nodekill:", 9))
        f.nodekill_after = atoi(v + 9);
    else if (v && !strncmp(v, "hold:", 5))
        f.hold_after = atoi(v + 5);
    else if (v && !strncmp(v, "startup:", 8)) {
        const char *sig = v + 8, *where = strchr(sig, ':');
        size_t n = where ? (size_t)(where - sig) : strlen(sig);
        g_startup_sig = n == 3 && !strncmp(sig, "int", 3)    ? SIGINT
                        : n == 4 && !strncmp(sig, "term", 4) ? SIGTERM
                        : n == 4 && !strncmp(sig, "usr1", 4) ? SIGUSR1
                                                             : 0;
        snprintf(g_startup_where, sizeof g_startup_where, "%s", where ? where + 1 : "data");
    }
    return f;
}

/* FG_FAULT=startup:SIG:WHERE at the start-up point WHERE on the rank it names. */
static void startup_fault(const char *where, int on_this_rank)
{
    if (g_startup_sig && on_this_rank && !strcmp(g_startup_where, where))
        raise(g_startup_sig);
}

/* The faults injected right after a journal record is durable (n records this session). */
static void record_faults(const fault_plan *f, int n)
{
    if (f->kill_after && n == f->kill_after)
        raise(SIGKILL);
    if (f->nodekill_after && n == f->nodekill_after) {
        pid_t me = getpid();
        for (int i = 0; i < g_node0_n; i++)
            if ((pid_t)g_node0_pids[i] != me && g_node0_pids[i] > 1)
                kill((pid_t)g_node0_pids[i], SIGKILL);
        raise(SIGKILL);
    }
    if (f->hold_after && n == f->hold_after && f->hold_fifo)
        fault_hold(f);
    else if (f->hold_after && n == f->hold_after) {
        /* Any thread (MPI's, the local worker's) may take the signal: poll the flag. */
        while (!g_signal) {
            struct timespec ts = {0, 10000000L};
            nanosleep(&ts, NULL);
        }
    }
}

/* ---- the state of one search on rank 0 ------------------------------------------------- */

typedef struct {
    grid *g;
    const cli *c;
    int64_t n_configs;
    int folds, n_tasks;
    int n_pending;         /* tasks not yet in the journal */
    int n_shown;           /* tasks of this run (this shard's with --shard) */
    int appended;          /* records written by this session */
    double t_signal;       /* when the coordinator first saw a signal */
    fault_plan fault;
    double *cost;          /* per task */
    double cost_total, cost_done;
    jnl *journal;
    char dir[4096], journal_path[4200];
    double t_start;
    int done, failed;
    /* per configuration running sums for "best so far" */
    double *sum;
    int *cnt, *bad;
    double best_mean;
    int64_t best_config;
    int tty;
    int fatal;
    fg_err err;
    /* dispatch */
    dsp_queue *queue;      /* fold tasks still to hand out, longest expected first */
    int in_flight;         /* fold tasks handed out whose results have not arrived */
    /* the refit, run by the scheduler as task n_tasks + config: early (speculatively) for
     * the configuration leading when ranks would otherwise wait, then for the best */
    int refit_in_sched;    /* 0: after the search, on rank 0 (shards, no refit, resumed done) */
    char *refit_state;     /* per configuration: 0 none, 1 running, 2 journaled */
    int refits_running;
    int64_t final_best;    /* -2 until every fold result is in */
    int64_t model_config;  /* the configuration whose parameters are in model_params, or -1 */
    float *model_params;
    int64_t model_n;
    const data_set *test;
    int n_searched;        /* images searched over (all, or the subset) */
    int n_workers;         /* ranks that train (rank 0's thread included) */
    int lock_fd;           /* the lock on the journal this run writes, or -1 */
    jnl_session session;   /* this run's session record */
    int session_written;   /* its start record is in the journal */
} search;

/* Writes this run's session record before its first result: a run that adds nothing to the
 * journal (a finished search re-run) leaves no trace in it. */
static int ensure_session(search *s, fg_err *err)
{
    if (s->session_written)
        return 0;
    if (jnl_append_session(s->journal, &s->session, err))
        return -1;
    s->session_written = 1;
    return 0;
}

/* What a worker needs: its task context, the test set (for a refit) and the network of its
 * last refit, kept until the next task so that the scheduler can send its parameters. */
typedef struct {
    task_ctx *t;
    const data_set *test;
    int n_tasks;
    nn_net *net;
} worker;

/* The worker function, with FG_FAULT=workerkill:N: a worker rank (not rank 0) dies by
 * SIGKILL when it starts its N-th task, as a node failure or the OOM killer would do. */
static int work_fn(void *ctx, int32_t task, void *result, sched_blob *blob)
{
    worker *w = ctx;
    nn_net_free(w->net);
    w->net = NULL;
    if (g_workerkill && w->t->rank != 0 && ++g_worker_tasks == g_workerkill)
        raise(SIGKILL);
    if (task < w->n_tasks)
        return task_run(w->t, task, result);
    jnl_record *r = result;
    task_refit(w->t, task - w->n_tasks, w->test, r, &w->net);
    r->e.task = task;
    if (w->net) {
        blob->data = nn_net_params(w->net);
        blob->len = (size_t)nn_net_n_params(w->net) * sizeof(float);
    }
    return 0;
}

static int load_journal(const char *path, const grid *g, jnl_contents *jc, fg_err *err);

/* The best configuration as the reports will name it, from the journal. */
static int64_t journal_best(search *s)
{
    jnl_contents jc;
    fg_err err;
    int64_t best = -1;
    if (load_journal(s->journal_path, s->g, &jc, &err) == 0) {
        rpt_config *agg = NULL;
        double *sp = NULL;
        if (rpt_aggregate(jc.e, jc.n, s->n_configs, s->folds, &agg, &sp, &err) == 0) {
            rpt_costs(s->g, agg, s->n_configs); /* ties in the mean go to the cheaper network */
            best = rpt_best(agg, s->n_configs);
        }
        free(agg);
        free(sp);
        jnl_contents_free(&jc);
    }
    return best;
}

static int32_t on_next(void *p)
{
    search *s = p;
    int64_t c = -1;
    if (dsp_left(s->queue) > 0) {
        /* The refit of the configuration leading so far is the longest task left once the
         * work still queued would keep every worker busy for less than it: start it then,
         * so that short folds fill the end instead of ranks waiting for a refit. Only with
         * several workers (alone, an early refit can only add work). */
        int64_t b = s->best_config;
        if (s->refit_in_sched && s->n_workers > 1 && !s->refits_running && b >= 0 && !s->refit_state[b]) {
            int n_fold_train = cv_n_train(s->n_searched, s->folds, grid_opts_c(s->g)->validation_split);
            double refit_s = dsp_expected(s->queue, (int32_t)(b * s->folds)) * s->n_searched /
                             (n_fold_train > 0 ? n_fold_train : 1);
            if (dsp_work_left(s->queue) / s->n_workers <= refit_s)
                c = b;
        }
        if (c < 0) {
            s->in_flight++;
            return dsp_next(s->queue);
        }
    } else if (!s->refit_in_sched) {
        return -1;
    } else if (s->in_flight == 0) {
        /* Every fold result is in: the best is known. */
        if (s->final_best == -2)
            s->final_best = journal_best(s);
        if (s->final_best >= 0 && !s->refit_state[s->final_best])
            c = s->final_best;
    } else if (!s->refits_running && s->best_config >= 0 && !s->refit_state[s->best_config]) {
        /* Ranks would wait for the last folds: refit the configuration leading so far.
         * Results do not depend on which rank trains, so it is the same refit. */
        c = s->best_config;
    }
    if (c < 0)
        return -1;
    s->refit_state[c] = 1;
    s->refits_running++;
    if (!s->c->quiet) {
        if (s->tty)
            fputc('\n', stderr);
        fprintf(stderr, "fmnist-grid: refitting configuration %lld (%s) on all %d searched images%s\n",
                (long long)c, grid_config_params(s->g, c), s->n_searched,
                s->in_flight || dsp_left(s->queue) ? ", early: it leads while the last folds run" : "");
    }
    return (int32_t)(s->n_tasks + c);
}

static int on_left(void *p)
{
    search *s = p;
    return dsp_left(s->queue);
}

/* A refit's result: journal it; keep the parameters of the model to save. */
static int refit_done(search *s, const jnl_record *r, const sched_blob *blob, int rank)
{
    int64_t c = r->e.config;
    if (c < 0 || c >= s->n_configs || r->e.fold != JNL_REFIT) {
        fg_err_set(&s->err, "a refit result names configuration %lld, fold %d", (long long)c, r->e.fold);
        s->fatal = 1;
        return -1;
    }
    jnl_record *copy = malloc(sizeof *copy);
    if (!copy) {
        fg_err_set(&s->err, "out of memory recording a refit");
        s->fatal = 1;
        return -1;
    }
    memcpy(copy, r, sizeof *copy);
    copy->e.rank = rank;
    copy->e.task = -1;
    int rc = ensure_session(s, &s->err) || jnl_append(s->journal, copy, grid_config_params(s->g, c), &s->err);
    free(copy);
    if (rc) {
        s->fatal = 1;
        return -1;
    }
    s->appended++;
    s->refit_state[c] = 2;
    s->refits_running--;
    if (s->fault.kill_after_refit)
        raise(SIGKILL); /* journaled, model.fgm not written yet */
    record_faults(&s->fault, s->appended);
    if (blob->len > 0 && blob->len % sizeof(float) == 0) {
        float *keep = malloc(blob->len);
        if (keep) {
            memcpy(keep, blob->data, blob->len);
            free(s->model_params);
            s->model_params = keep;
            s->model_n = (int64_t)(blob->len / sizeof(float));
            s->model_config = c;
        }
    }
    if (!s->c->quiet) {
        if (r->e.status == NN_STATUS_OK)
            fprintf(stderr, "%sfmnist-grid: refit of configuration %lld: test accuracy %.4f (%d images), %.1f s on rank %d\n",
                    s->tty ? "\r\033[K" : "", (long long)c, r->e.test_acc, s->test ? s->test->n : 0,
                    r->e.fit_time, rank);
        else
            fprintf(stderr, "%sfmnist-grid: refit of configuration %lld %s: %s\n", s->tty ? "\r\033[K" : "",
                    (long long)c, nn_status_name((nn_status)r->e.status), r->e.msg);
    }
    return 0;
}

static int on_done(void *p, int32_t task, const void *result, const sched_blob *blob, int rank)
{
    search *s = p;
    const jnl_record *r = result;
    if (task >= s->n_tasks)
        return refit_done(s, r, blob, rank);
    s->in_flight--;
    dsp_observe(s->queue, task, r->e.fit_time + r->e.score_time);
    jnl_record copy;
    const jnl_record *rec = r;
    if (r->e.rank != rank) { /* the rank is the coordinator's knowledge, not the worker's */
        memcpy(&copy, r, sizeof copy);
        copy.e.rank = rank;
        rec = &copy;
    }
    if (ensure_session(s, &s->err) || jnl_append(s->journal, rec, grid_config_params(s->g, rec->e.config), &s->err)) {
        s->fatal = 1;
        return -1;
    }
    s->done++;
    s->appended++;
    record_faults(&s->fault, s->appended);
    if (s->fault.signal_after && s->appended == s->fault.signal_after)
        raise(SIGUSR1);
    int64_t c = rec->e.config;
    if (task >= 0 && task < s->n_tasks)
        s->cost_done += s->cost[task];
    if (rec->e.status == NN_STATUS_OK) {
        s->sum[c] += rec->e.val_acc;
        s->cnt[c]++;
    } else {
        s->bad[c]++;
        s->failed++;
    }
    if (s->cnt[c] == s->folds && !s->bad[c]) {
        double m = s->sum[c] / s->folds;
        if (s->best_config < 0 || m > s->best_mean || (m == s->best_mean && c < s->best_config)) {
            s->best_mean = m;
            s->best_config = c;
        }
    }
    if (s->c->quiet)
        return 0;
    double el = fg_now() - s->t_start;
    double frac = s->cost_total > 0 ? s->cost_done / s->cost_total : (double)s->done / s->n_shown;
    double eta = frac > 0 ? el * (1 - frac) / frac : NAN;
    char e1[32], e2[32], best[64] = "-";
    fmt_hms(e1, sizeof e1, el);
    fmt_hms(e2, sizeof e2, s->done == s->n_shown ? 0 : eta);
    if (s->best_config >= 0)
        snprintf(best, sizeof best, "%.4f (config %lld)", s->best_mean, (long long)s->best_config);
    char what[96];
    if (rec->e.status == NN_STATUS_OK)
        snprintf(what, sizeof what, "config %d fold %d: %.4f in %.1f s on rank %d", rec->e.config,
                 rec->e.fold, rec->e.val_acc, rec->e.fit_time, rank);
    else
        snprintf(what, sizeof what, "config %d fold %d: %s on rank %d", rec->e.config, rec->e.fold,
                 nn_status_name((nn_status)rec->e.status), rank);
    if (s->tty)
        fprintf(stderr, "\r\033[K[%d/%d] %3.0f%% elapsed %s eta %s best %s | %s", s->done,
                s->n_shown, 100.0 * s->done / s->n_shown, e1, e2, best, what);
    else
        fprintf(stderr, "[%d/%d] %3.0f%% elapsed %s eta %s best %s | %s\n", s->done, s->n_shown,
                100.0 * s->done / s->n_shown, e1, e2, best, what);
    return 0;
}

static int on_stop(void *p)
{
    (void)p;
    return g_signal != 0;
}

/* After a signal: give up on running tasks once the grace period is over or at a second
 * signal. */
static int on_abandon(void *p)
{
    search *s = p;
    if (!g_signal)
        return 0;
    if (s->t_signal == 0)
        s->t_signal = fg_now();
    /* mpirun ending the job (see on_signal) leaves a second: no grace. */
    return g_launcher_term || g_signals > 1 || fg_now() - s->t_signal >= s->c->grace;
}

static void on_lost(void *p, int rank, const char *why)
{
    (void)p;
    fprintf(stderr, "fmnist-grid: rank %d cannot work and is left out: %s\n", rank, why);
}

/* Longest expected tasks first (then by id): the shards' balance. */
static const double *g_cost_for_sort;
static int by_cost_desc(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    double cx = g_cost_for_sort[x], cy = g_cost_for_sort[y];
    if (cx != cy)
        return cx > cy ? -1 : 1;
    return (x > y) - (x < y);
}

/* Each configuration's architecture key for dispatch families: parameter count and layer
 * count on the grid's input (grid_config_build_data). Returns 0, or -1 with err. */
static int arch_keys(const grid *g, uint64_t *key, fg_err *err)
{
    nn_net_desc *d = malloc(sizeof *d);
    nn_layer_info *info = malloc(NN_MAX_LAYERS * sizeof *info);
    int rc = d && info ? 0 : fg_err_set(err, "out of memory checking the configurations");
    for (int64_t i = 0; rc == 0 && i < grid_n_configs(g); i++) {
        nn_train_desc t;
        int64_t np = 0;
        if (grid_config_build_data(g, i, d, &t, err) || nn_desc_check(d, info, &np, NULL, err))
            rc = -1;
        else
            key[i] = fg_hash_mix((uint64_t)np, (uint64_t)d->n_layers);
    }
    free(d);
    free(info);
    return rc;
}

/* Dispatch families: configurations with the same architecture key (parameter count and
 * layer count) share one, numbered by the first configuration that has it. */
static const uint64_t *g_key_for_sort;
static int by_key(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    uint64_t kx = g_key_for_sort[x], ky = g_key_for_sort[y];
    if (kx != ky)
        return kx < ky ? -1 : 1;
    return (x > y) - (x < y);
}

static int32_t *families_of(const uint64_t *key, int32_t n)
{
    int32_t *fam = malloc((size_t)(n > 0 ? n : 1) * sizeof *fam);
    int32_t *ix = malloc((size_t)(n > 0 ? n : 1) * sizeof *ix);
    if (!fam || !ix) {
        free(fam), free(ix);
        return NULL;
    }
    for (int32_t i = 0; i < n; i++)
        ix[i] = i;
    g_key_for_sort = key;
    qsort(ix, (size_t)n, sizeof *ix, by_key);
    for (int32_t i = 0; i < n; i++)
        fam[ix[i]] = i > 0 && key[ix[i]] == key[ix[i - 1]] ? fam[ix[i - 1]] : ix[i];
    free(ix);
    return fam;
}

/* The dispatch queue of a search: task t belongs to group (configuration) t / folds. */
static dsp_queue *make_queue(const double *cost, int n_tasks, int folds, const int32_t *family,
                             int32_t n_configs, const int32_t *pending, int n_pending, fg_err *err)
{
    int32_t *group = malloc((size_t)(n_tasks > 0 ? n_tasks : 1) * sizeof *group);
    if (!group) {
        fg_err_set(err, "out of memory for %d tasks", n_tasks);
        return NULL;
    }
    for (int i = 0; i < n_tasks; i++)
        group[i] = i / folds;
    dsp_queue *q = dsp_new(n_tasks, cost, group, n_configs, family, pending, n_pending, err);
    free(group);
    return q;
}

/* ---- shared setup: data, subset and folds, identical on every rank ------------------ */

typedef struct {
    data_set train, test;
    int32_t *idx;
    int *fold_of;
    int n;
    uint64_t folds_checksum;
    int shared; /* the images and labels live in the node's shared memory, not ours */
} prepared;

static void prepared_free(prepared *p)
{
    if (p->shared) { /* freed with the shared memory window by sched_finalize */
        p->train.images = p->train.labels = NULL;
        p->test.images = p->test.labels = NULL;
    }
    data_free(&p->train);
    data_free(&p->test);
    free(p->idx);
    free(p->fold_of);
    memset(p, 0, sizeof *p);
}

/* The data's class count: data.classes (or the one the search recorded), else the training
 * labels' largest + 1; the training and test labels must lie below it. */
static int use_classes(const grid_options *o, prepared *p, fg_err *err)
{
    int k = o->classes > 0 ? o->classes : p->train.classes;
    if (data_set_classes(&p->train, k, err) || (p->test.images && data_set_classes(&p->test, k, err))) {
        size_t len = strlen(err->msg);
        if (o->classes <= 0)
            snprintf(err->msg + len, sizeof err->msg - len,
                     " (the training labels' classes; data.classes says the data have more)");
        return -1;
    }
    return 0;
}

/* "28x28" (one channel) or "32x32x3" into buf (40 bytes); returns buf. */
static const char *shape_text(int h, int w, int c, char *buf)
{
    if (c == 1)
        snprintf(buf, 40, "%dx%d", h, w);
    else
        snprintf(buf, 40, "%dx%dx%d", h, w, c);
    return buf;
}

/* The images have data.shape (or the recorded shape) when the grid fixes one, and the test
 * images that of the training images. */
static int check_shape(const grid_options *o, const prepared *p, fg_err *err)
{
    const data_set *tr = &p->train;
    char s1[40], s2[40];
    if (o->shape_given && (tr->h != o->in_h || tr->w != o->in_w || tr->c != o->in_c))
        return fg_err_set(err,
                          "%s: images are %s, but the grid %s is built and checked for %s images (the input of "
                          "every configuration, data.shape); give --data with %s images",
                          tr->images_path, shape_text(tr->h, tr->w, tr->c, s1), o->path,
                          shape_text(o->in_h, o->in_w, o->in_c, s2), s2);
    if (p->test.images && (p->test.h != tr->h || p->test.w != tr->w || p->test.c != tr->c))
        return fg_err_set(err, "%s: test images are %s, but the training images (%s) are %s", p->test.images_path,
                          shape_text(p->test.h, p->test.w, p->test.c, s1), tr->images_path,
                          shape_text(tr->h, tr->w, tr->c, s2));
    return 0;
}

/* The data become the grid's input (grid_set_input): their class count (use_classes) and
 * shape (data.shape, else the IDX header's; check_shape); every configuration is checked
 * for them, before any task. */
static int use_data(grid *g, prepared *p, fg_err *err)
{
    const grid_options *o = grid_opts_c(g);
    if (use_classes(o, p, err) || check_shape(o, p, err))
        return -1;
    const data_set *t = &p->train;
    if (o->shape_given)
        return grid_set_input(g, o->in_h, o->in_w, o->in_c, t->classes, err);
    return grid_set_input(g, t->h, t->w, t->c, t->classes, err);
}

/* The input a search recorded (its journal's header or report.yaml: shape h x w x c and
 * class count, 0 when not recorded) becomes the grid's, fixed: not recorded means
 * data.shape or 28x28x1 and data.classes or 10 (a search records any other). Returns
 * 0, or -1 with err (a configuration that does not fit it). */
static int use_recorded(grid *g, int h, int w, int c, int classes, fg_err *err)
{
    grid_options *o = grid_opts(g);
    if (h <= 0)
        h = o->in_h, w = o->in_w, c = o->in_c;
    if (classes <= 0)
        classes = o->classes > 0 ? o->classes : GRID_INPUT_CLASSES;
    o->shape_given = 1;
    return grid_set_input(g, h, w, c, classes, err);
}

/* The subset searched over and its folds, from the loaded training labels. */
static int derive_folds(const grid *g, prepared *p, fg_err *err)
{
    const grid_options *o = grid_opts_c(g);
    int n = p->train.n;
    if (o->subset > 0 && o->subset < n)
        n = o->subset;
    p->idx = malloc((size_t)n * sizeof *p->idx);
    p->fold_of = malloc((size_t)n * sizeof *p->fold_of);
    if (!p->idx || !p->fold_of)
        return fg_err_set(err, "out of memory for %d sample indices", n);
    if (n < p->train.n) {
        if (data_stratified_subset(p->train.labels, p->train.n, p->train.classes, n, fg_hash_mix(o->cv_seed, 0x5u),
                                   p->idx, err))
            return -1;
    } else {
        for (int i = 0; i < n; i++)
            p->idx[i] = i;
    }
    p->n = n;
    if (o->validation_split > 0 ? cv_stratified_holdout(p->train.labels, p->idx, n, p->train.classes,
                                                        o->validation_split, fg_hash_mix(o->cv_seed, 0xf0u),
                                                        p->fold_of, err)
                                : cv_stratified_folds(p->train.labels, p->idx, n, p->train.classes, o->folds,
                                                      o->shuffle, fg_hash_mix(o->cv_seed, 0xf0u), p->fold_of, err))
        return -1;
    p->folds_checksum = cv_folds_checksum(p->idx, p->fold_of, n);
    return 0;
}

/* Where the subset searched over was set, for the messages of check_data. */
typedef enum {
    FROM_GRID,     /* data.subset in the grid file (or no subset) */
    FROM_CLI,      /* --subset N */
    FROM_RECORDED, /* what a search recorded (report, reproduce) */
} subset_origin;

/* Checks, once the data are loaded and before any task, that the grid's settings fit them:
 *  - data.class_names names every class (the shape and the class count: use_data);
 *  - stratified k-fold cross-validation can work: every class present in the training
 *    images has at least k images among those searched (the subset, or all), so that every
 *    fold validates on, and trains on, at least one image of each class;
 *  - the subset is at most the training images (never silently all of them).
 * Messages point at what to change: --subset, or the grid file's line:column of
 * data.subset or cv.folds. */
static int check_data(const grid *g, subset_origin from, const char *data_dir, const prepared *p,
                      fg_err *err)
{
    const grid_options *o = grid_opts_c(g);
    const data_set *tr = &p->train;
    char subset[GRID_PATH_MAX + 64], at[GRID_PATH_MAX + 32], num[12];
    if (o->n_class_names && o->n_class_names != tr->classes && grid_option_where(g, "data.class_names", at, sizeof at))
        return fg_err_set(err, "%s: data.class_names lists %d names, but the data have %d classes (data.classes, "
                               "else the training labels' largest + 1)",
                          at, o->n_class_names, tr->classes);
    const char *const *names = o->n_class_names ? grid_class_names(g) : NULL;
    if (from == FROM_CLI)
        snprintf(subset, sizeof subset, "--subset %d", o->subset);
    else if (from == FROM_RECORDED)
        snprintf(subset, sizeof subset, "the recorded subset of %d images", o->subset);
    else if (grid_option_where(g, "data.subset", at, sizeof at))
        snprintf(subset, sizeof subset, "%s: data.subset %d", at, o->subset);
    else
        snprintf(subset, sizeof subset, "subset %d", o->subset);
    int64_t cnt[DATA_MAX_CLASSES] = {0};
    int have[DATA_MAX_CLASSES], K = tr->classes;
    for (int i = 0; i < tr->n; i++)
        cnt[tr->labels[i] < K ? tr->labels[i] : 0]++;
    int k = o->subset > 0 && o->subset < tr->n ? o->subset : tr->n;
    data_subset_quota(cnt, K, tr->n, k, have);
    for (int c = 0; c < K; c++) {
        if (cnt[c] == 0 || have[c] >= o->folds)
            continue;
        /* the smallest subset that would do, if any */
        int need = -1;
        for (int m = k + 1; m <= tr->n && need < 0; m++) {
            int q[DATA_MAX_CLASSES], ok = 1;
            data_subset_quota(cnt, K, tr->n, m, q);
            for (int d = 0; d < K && ok; d++)
                ok = cnt[d] == 0 || q[d] >= o->folds;
            if (ok)
                need = m;
        }
        char among[GRID_PATH_MAX + 160], hint[96] = "";
        if (k < tr->n)
            snprintf(among, sizeof among, "among the %d images of %s", k, subset);
        else
            snprintf(among, sizeof among, "among the %d training images in %s", k, data_dir);
        if (need > 0)
            snprintf(hint, sizeof hint, "; a subset of at least %d images would do", need);
        const char *why = "stratified cross-validation needs at least one image of every class in "
                          "every fold";
        int written = grid_option_where(g, "cv.folds", at, sizeof at);
        if (written || k == tr->n)
            return fg_err_set(err, "%s: cv.folds %d%s is more than the %d image%s of class %d (%s) %s: %s%s",
                              at, o->folds, written ? "" : " (the default)", have[c],
                              have[c] == 1 ? "" : "s", c, data_class_name(names, K, c, num, sizeof num), among,
                              why, hint);
        return fg_err_set(err, "%s leaves %d image%s of class %d (%s) to search, fewer than the %d folds "
                               "(cv.folds, the default): %s%s",
                          subset, have[c], have[c] == 1 ? "" : "s", c, data_class_name(names, K, c, num, sizeof num),
                          o->folds, why, hint);
    }
    if (o->subset > tr->n)
        return fg_err_set(err, "%s is more than the %d training images in %s (0 = all of them)", subset,
                          tr->n, data_dir);
    return 0;
}

/* Loads the data the grid g searches (the test images too if want_test), checks that the
 * grid's settings fit them (check_data) and derives the subset and folds. */
static int prepare(grid *g, subset_origin from, const char *data_dir, int want_test, prepared *p,
                   fg_err *err)
{
    memset(p, 0, sizeof *p);
    if (data_load_dir(data_dir, DATA_TRAIN, &p->train, err))
        return -1;
    startup_fault("data", 1); /* only a search sets it, and only rank 0 gets here */
    if (want_test && data_load_dir(data_dir, DATA_TEST, &p->test, err))
        return -1;
    if (use_data(g, p, err) || check_data(g, from, data_dir, p, err))
        return -1;
    return derive_folds(g, p, err);
}

/* What a node's first rank tells the others about the data it put in shared memory. */
typedef struct {
    int32_t status;
    char why[FG_ERR_MAX];
    data_set set[2]; /* pointers not meaningful: offsets follow */
} node_meta;

/* Collective over every rank: the images and labels are held once per node. The node's
 * first rank loads them (rank 0 has already: it checked the grid against them), copies
 * them into memory the node's ranks share and frees its own copy; the others read the
 * shared copy. Each rank of a node gets the same error if its leader cannot load. */
static int share_data(prepared *p, const char *dir, int want_test, fg_err *err)
{
    if (sched_node_size() == 1) { /* alone on the node: nothing to share */
        if (!p->train.images && data_load_dir(dir, DATA_TRAIN, &p->train, err))
            return -1;
        if (want_test && !p->test.images && data_load_dir(dir, DATA_TEST, &p->test, err))
            return -1;
        return 0;
    }
    node_meta *m = calloc(1, sizeof *m);
    if (!m)
        return fg_err_set(err, "out of memory sharing the data");
    if (sched_node_leader()) {
        fg_err le;
        if ((!p->train.images && data_load_dir(dir, DATA_TRAIN, &p->train, &le)) ||
            (want_test && !p->test.images && data_load_dir(dir, DATA_TEST, &p->test, &le))) {
            m->status = -1;
            snprintf(m->why, sizeof m->why, "%s", le.msg);
        }
        m->set[0] = p->train;
        m->set[1] = p->test;
    }
    if (sched_node_bcast(m, sizeof *m, err)) {
        free(m);
        return -1;
    }
    if (m->status) {
        fg_err_set(err, "%s", m->why);
        free(m);
        return -1;
    }
    size_t bytes[2][2], total = 0;
    for (int k = 0; k < 2; k++) {
        bytes[k][0] = (size_t)m->set[k].n * (size_t)m->set[k].h * (size_t)m->set[k].w;
        bytes[k][1] = (size_t)m->set[k].n;
        total += bytes[k][0] + bytes[k][1];
    }
    uint8_t *base = sched_node_alloc(total, err);
    if (!base) {
        free(m);
        return -1;
    }
    if (sched_node_leader()) {
        size_t off = 0;
        data_set *own[2] = {&p->train, &p->test};
        for (int k = 0; k < 2; k++) {
            if (bytes[k][0])
                memcpy(base + off, own[k]->images, bytes[k][0]);
            if (bytes[k][1])
                memcpy(base + off + bytes[k][0], own[k]->labels, bytes[k][1]);
            off += bytes[k][0] + bytes[k][1];
            data_free(own[k]);
        }
    }
    int32_t filled = 1; /* the leader's copy is complete before anyone reads it */
    int rc = sched_node_bcast(&filled, sizeof filled, err);
    size_t off = 0;
    data_set *own[2] = {&p->train, &p->test};
    for (int k = 0; k < 2; k++) {
        *own[k] = m->set[k];
        own[k]->images = bytes[k][0] ? base + off : NULL;
        own[k]->labels = bytes[k][1] ? base + off + bytes[k][0] : NULL;
        off += bytes[k][0] + bytes[k][1];
    }
    p->shared = 1;
    free(m);
    return rc;
}

/* "0-3,8,10,11": world ranks with runs of three or more as ranges. */
static void rank_list(const int32_t *r, int n, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && len + 32 < size;) {
        int j = i;
        while (j + 1 < n && r[j + 1] == r[j] + 1)
            j++;
        if (j - i >= 2) {
            len += (size_t)snprintf(buf + len, size - len, "%s%d-%d", i ? "," : "", r[i], r[j]);
            i = j + 1;
        } else {
            len += (size_t)snprintf(buf + len, size - len, "%s%d", i ? "," : "", r[i]);
            i++;
        }
        if (i < n && len + 32 >= size)
            snprintf(buf + len, size - len, ",...");
    }
}

/* The node of a gathered rank: the world rank of its node's first rank. */
static int node_of(const sched_rank_info *r, int n)
{
    return r->node_leader >= 0 && r->node_leader < n ? r->node_leader : 0;
}

/* Rank 0, under MPI: one line per node saying which ranks share its image window (one per
 * node is the design: the images are held once per node), from every rank's own account;
 * and the pids of rank 0's node, for FG_FAULT=nodekill. all[] is in rank order. */
static void log_nodes(const sched_rank_info *all, int n, int quiet)
{
    int32_t *first = calloc((size_t)n + 1, sizeof *first); /* node l: members[first[l] ..] */
    int32_t *next = malloc((size_t)n * sizeof *next), *members = malloc((size_t)n * sizeof *members);
    char *list = malloc(4096);
    if (!first || !next || !members || !list)
        n = 0; /* no memory: no log line, and nodekill kills rank 0 only */
    for (int j = 0; j < n; j++) /* a counting sort by node, in rank order within a node */
        first[node_of(&all[j], n) + 1]++;
    for (int l = 0; l < n; l++) {
        first[l + 1] += first[l];
        next[l] = first[l];
    }
    for (int j = 0; j < n; j++)
        members[next[node_of(&all[j], n)]++] = j;
    for (int l = 0; l < n; l++) {
        const int32_t *mem = members + first[l];
        int m = first[l + 1] - first[l], w_min = INT32_MAX, w_max = 0;
        if (m <= 0)
            continue;
        for (int k = 0; k < m; k++) {
            w_min = all[mem[k]].windows < w_min ? all[mem[k]].windows : w_min;
            w_max = all[mem[k]].windows > w_max ? all[mem[k]].windows : w_max;
        }
        if (l == 0) {
            free(g_node0_pids);
            g_node0_pids = malloc((size_t)m * sizeof *g_node0_pids);
            for (int k = 0; g_node0_pids && k < m; k++)
                g_node0_pids[k] = all[mem[k]].pid;
            g_node0_n = g_node0_pids ? m : 0;
        }
        if (quiet || n == 1)
            continue;
        char host[sizeof all->host + 1];
        memcpy(host, all[l].host, sizeof all->host);
        host[sizeof all->host] = '\0';
        rank_list(mem, m, list, 4096);
        if (m == 1)
            fprintf(stderr, "fmnist-grid: node %s: rank %s alone, its images in its own memory\n", host, list);
        else if (w_min == 1 && w_max == 1)
            fprintf(stderr, "fmnist-grid: node %s: ranks %s share one image window (%.1f MB)\n", host, list,
                    (double)all[l].window_bytes / 1e6);
        else if (w_min == w_max)
            fprintf(stderr, "fmnist-grid: node %s: ranks %s share %d image windows\n", host, list, w_min);
        else
            fprintf(stderr, "fmnist-grid: node %s: ranks %s map different numbers of image windows (%d to %d)\n",
                    host, list, w_min, w_max);
    }
    free(first), free(next), free(members), free(list);
}

/* Collective over every rank, right after share_data: rank 0 says which ranks share each
 * node's image window (log_nodes), then FG_FAULT=startup:SIG:window. */
static void share_data_report(int quiet)
{
    sched_rank_info *all = NULL;
    fg_err err;
    if (sched_gather_ranks(&all, &err) == 0 && all)
        log_nodes(all, sched_size(), quiet);
    free(all);
    startup_fault("window", sched_rank() == sched_size() - 1);
}

static const char *resolve_data_dir(const cli *c, const grid_options *o)
{
    if (c->data_dir)
        return c->data_dir;
    const char *env = getenv("FMNIST_DATA");
    if (env && *env)
        return env;
    if (o->data_dir[0])
        return o->data_dir;
    return DATA_DEFAULT_DIR;
}

/* ---- dry run -------------------------------------------------------------------------- */

/* Keras's summary lines: the parameters split into trainable and non-trainable (frozen
 * layers, batch norm's moving statistics). */
static void print_trainable(const nn_net_desc *d, const nn_layer_info *info)
{
    int64_t tr = 0, all = 0;
    for (int l = 0; l < d->n_layers; l++) {
        tr += info[l].n_trainable;
        all += info[l].n_params;
    }
    printf("  Trainable params: %lld\n  Non-trainable params: %lld\n", (long long)tr,
           (long long)(all - tr));
}

/* The weights files of every configuration, checked (a missing file is reported, not
 * fatal: a dry run needs no weights). */
static void dry_run_weights(const grid *g, nn_net_desc *d)
{
    task_wcache *wc = task_wcache_new();
    char last[FG_ERR_MAX] = "";
    for (int64_t i = 0; wc && i < grid_n_configs(g); i++) {
        grid_weights w[1];
        nn_train_desc t;
        fg_err err;
        if (grid_config_weights(g, i, w, 1) == 0 ||
            grid_config_build_data(g, i, d, &t, NULL))
            continue;
        if (task_check_weights(wc, g, i, d, &err) == 0)
            snprintf(err.msg, sizeof err.msg, "weights of configuration %lld: match", (long long)i);
        if (strcmp(err.msg, last))
            printf("\n%s\n", err.msg);
        snprintf(last, sizeof last, "%s", err.msg);
    }
    task_wcache_free(wc);
}

/* The check's weights cache, made on first use (NULL when out of memory: the check then
 * reports it). */
static task_wcache *tctx_check_wc(task_wcache **wc)
{
    if (!*wc)
        *wc = task_wcache_new();
    return *wc;
}

/* Configurations by architecture hash, then index: the first of each hash is summarised. */
static const uint64_t *g_arch_for_sort;
static int by_arch(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    uint64_t hx = g_arch_for_sort[x], hy = g_arch_for_sort[y];
    if (hx != hy)
        return hx < hy ? -1 : 1;
    return (x > y) - (x < y);
}

/* A dry run reads no data: the input it builds the models for, and where a search takes it
 * from, when the grid leaves it to the data (printed only then). */
static void dry_run_input(const grid_options *o)
{
    char s[40];
    if (!o->shape_given)
        printf("input: %s images assumed (a search takes the IDX header's shape; data.shape fixes it)\n",
               shape_text(o->in_h, o->in_w, o->in_c, s));
    if (o->classes <= 0)
        printf("classes: each model's output count assumed (a search takes the training labels' largest + 1; "
               "data.classes fixes it)\n");
    if (!o->shape_given || o->classes <= 0)
        putchar('\n');
}

static int dry_run(grid *g)
{
    const grid_options *o = grid_opts_c(g);
    int64_t nc = grid_n_configs(g);
    nn_net_desc *d = malloc(sizeof *d);
    nn_layer_info *info = malloc(NN_MAX_LAYERS * sizeof *info);
    uint64_t *arch = calloc((size_t)nc, sizeof *arch); /* per configuration; 0: invalid */
    int64_t *ord = malloc((size_t)nc * sizeof *ord);
    char *first = calloc((size_t)nc, 1); /* the first configuration of its architecture */
    if (!d || !info || !arch || !ord || !first) {
        free(d), free(info), free(arch), free(ord), free(first);
        fprintf(stderr, "fmnist-grid: out of memory\n");
        return EXIT_RUNTIME;
    }
    printf("grid %s (%s): %lld configuration%s x %d fold%s = %lld tasks%s\n", o->name, o->path,
           (long long)nc, nc == 1 ? "" : "s", o->folds, o->folds == 1 ? " (a holdout split)" : "s",
           (long long)nc * o->folds, o->refit ? ", then a refit of the best" : "");
    printf("seed %llu, cv seed %llu, shuffle %s, %s\n\n", (unsigned long long)o->seed,
           (unsigned long long)o->cv_seed, o->shuffle ? "yes" : "no",
           o->subset ? "stratified subset" : "all training images");
    dry_run_input(o);
    printf("%6s  %12s  %14s  %s\n", "config", "parameters", "MFLOP/image", "grid parameters");
    for (int64_t i = 0; i < nc; i++) {
        nn_train_desc t;
        int64_t np = 0, fl = 0;
        fg_err err;
        if (grid_config_build_data(g, i, d, &t, &err) || nn_desc_check(d, info, &np, &fl, &err)) {
            printf("%6lld  invalid: %s\n", (long long)i, err.msg);
            continue;
        }
        printf("%6lld  %12lld  %14.3f  %s\n", (long long)i, (long long)np, fl / 1e6,
               grid_config_params(g, i));
        uint64_t h = 0;
        for (int l = 0; l < d->n_layers; l++)
            h = fg_hash_mix(h, fg_hash_bytes(&info[l], sizeof info[l], 0));
        arch[i] = h ? h : 1;
    }
    /* One summary per distinct architecture, like Keras's model.summary(): the first
     * configuration of each, found by sorting (linear-logarithmic in the configurations). */
    for (int64_t i = 0; i < nc; i++)
        ord[i] = i;
    g_arch_for_sort = arch;
    qsort(ord, (size_t)nc, sizeof *ord, by_arch);
    for (int64_t k = 0; k < nc; k++)
        first[ord[k]] = arch[ord[k]] && (k == 0 || arch[ord[k]] != arch[ord[k - 1]]);
    for (int64_t i = 0; i < nc; i++) {
        nn_train_desc t;
        int64_t np = 0, fl = 0;
        if (!first[i] || grid_config_build_data(g, i, d, &t, NULL) ||
            nn_desc_check(d, info, &np, &fl, NULL))
            continue;
        printf("\nModel of configuration %lld (%s):\n", (long long)i, grid_config_params(g, i));
        printf("  %-24s %-26s %-18s %12s\n", "Layer", "Type", "Output shape", "Param #");
        for (int l = 0; l < d->n_layers; l++) {
            char shape[48];
            if (info[l].out_h == 1 && info[l].out_w == 1 &&
                (d->layers[l].kind == NN_LAYER_DENSE || d->layers[l].kind == NN_LAYER_FLATTEN ||
                 d->layers[l].kind == NN_LAYER_GLOBAL_AVG_POOL2D ||
                 ((d->layers[l].kind == NN_LAYER_DROPOUT || d->layers[l].kind == NN_LAYER_ACTIVATION) &&
                  l > 0 && info[l - 1].out_h == 1 && info[l - 1].out_w == 1 &&
                  d->layers[l - 1].kind != NN_LAYER_CONV2D)))
                snprintf(shape, sizeof shape, "(None, %d)", info[l].out_c);
            else
                snprintf(shape, sizeof shape, "(None, %d, %d, %d)", info[l].out_h, info[l].out_w,
                         info[l].out_c);
            printf("  %-24s %-26s %-18s %12lld\n", info[l].name, nn_layer_kind_name(info[l].kind),
                   shape, (long long)info[l].n_params);
        }
        printf("  Total params: %lld\n", (long long)np);
        print_trainable(d, info);
    }
    dry_run_weights(g, d);
    base_dry_run(g);
    free(d), free(info), free(arch), free(ord), free(first);
    return EXIT_OK;
}

/* ---- the search ------------------------------------------------------------------------ */

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
static int same_search(const jnl_header *was, const jnl_header *now, char *why, size_t n)
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

/* Shards balanced by estimated cost: tasks longest first (then by id), each to the shard
 * with the least work so far (then the lowest index). Deterministic; every task gets
 * exactly one shard. Returns a malloc'ed array of n shard numbers, or NULL. */
static int *assign_shards(const double *cost, int n, int n_shards)
{
    int *shard = malloc((size_t)n * sizeof *shard);
    int32_t *ord = malloc((size_t)n * sizeof *ord);
    double *load = calloc((size_t)n_shards, sizeof *load);
    if (!shard || !ord || !load) {
        free(shard), free(ord), free(load);
        return NULL;
    }
    for (int i = 0; i < n; i++)
        ord[i] = i;
    g_cost_for_sort = cost;
    qsort(ord, (size_t)n, sizeof *ord, by_cost_desc);
    for (int k = 0; k < n; k++) {
        int best = 0;
        for (int j = 1; j < n_shards; j++)
            if (load[j] < load[best])
                best = j;
        shard[ord[k]] = best;
        load[best] += cost[ord[k]];
    }
    free(ord);
    free(load);
    return shard;
}

/* 1 when the regular file path holds exactly text, 0 when it holds something else, -1
 * (err) when it is not a regular file or cannot be read: a FIFO there never blocks. */
static int file_holds(const char *path, const char *text, size_t len, fg_err *err)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && (uintmax_t)st.st_size != (uintmax_t)len)
        return 0;
    char *buf = NULL;
    size_t got = 0;
    if (fg_read_file(path, len, "grid file", &buf, &got, err))
        return -1;
    int same = got == len && memcmp(buf, text, len) == 0;
    free(buf);
    return same;
}

/* 1 when path exists and does not hold exactly text. */
static int place_grid_copy_would_clash(const char *text, size_t len, const char *path)
{
    fg_err err;
    return access(path, F_OK) == 0 && file_holds(path, text, len, &err) != 1;
}

/* Writes the grid copy. Shards share a directory: the first creates grid.yaml (O_EXCL),
 * the others check that it holds the same bytes. */
static int place_grid_copy(const char *text, size_t len, const char *path, int shared, fg_err *err)
{
    if (copy_file(text, len, path, err) == 0)
        return 0;
    if (!shared || errno != EEXIST)
        return -1;
    int same = file_holds(path, text, len, err);
    if (same < 0)
        return -1;
    return same ? 0 : fg_err_set(err, "%s: another grid file is already there; give another --out DIR", path);
}

/* Saves the refitted network as DIR/model.fgm with what it is in its metadata. */
static int save_model(const char *dir, const grid *g, int64_t config, nn_net *net,
                      const jnl_record *rr)
{
    int rc = 0;
    char path[4400], meta[2048];
    fg_err err;
    nn_net_desc *d = malloc(sizeof *d);
    nn_train_desc t;
    snprintf(path, sizeof path, "%s/model.fgm", dir);
    snprintf(meta, sizeof meta, "grid=%s; config=%lld; params=%s; seed=%llu; n_train=%d; test_accuracy=%.9g",
             grid_opts_c(g)->name, (long long)config, grid_config_params(g, config),
             (unsigned long long)grid_opts_c(g)->seed, rr->e.n_train, rr->e.test_acc);
    if (!d || grid_config_build_data(g, config, d, &t, &err) || model_save(path, net, &t, meta, &err)) {
        print_error(d ? err.msg : "out of memory saving the model");
        rc = -1;
    }
    free(d);
    return rc;
}

/* Saves a model from parameters a worker rank sent (its refit of config). Returns 0, or -1
 * after printing why. */
static int save_model_params(const char *dir, const grid *g, int64_t config, const float *params,
                             int64_t n_params, const jnl_entry *refit)
{
    fg_err err;
    int rc = -1;
    nn_net_desc *d = malloc(sizeof *d);
    nn_train_desc t;
    nn_net *net = NULL;
    if (!d || grid_config_build_data(g, config, d, &t, &err) || !(net = nn_net_new(d, 1, 0, &err))) {
        print_error(d ? err.msg : "out of memory saving the model");
    } else if (nn_net_n_params(net) != n_params) {
        rc = 1; /* not saved, nothing written: the caller refits again */
    } else {
        memcpy(nn_net_params(net), params, (size_t)n_params * sizeof *params);
        jnl_record *rr = malloc(sizeof *rr);
        if (rr) {
            rr->e = *refit;
            rc = save_model(dir, g, config, net, rr);
        } else {
            print_error("out of memory saving the model");
        }
        free(rr);
    }
    nn_net_free(net);
    free(d);
    return rc;
}

/* ---- fit GRID --config K ---------------------------------------------------------------- */

static int fit_command(const cli *c)
{
    fg_err err;
    grid *g = NULL;
    if (grid_load_file(c->grid_path, &g, &err)) {
        print_error(err.msg);
        return EXIT_INPUT;
    }
    grid_options *o = grid_opts(g);
    if (c->seed_set) {
        o->seed = (uint64_t)c->seed;
        if (!o->cv_seed_set)
            o->cv_seed = o->seed;
    }
    if (c->subset >= 0)
        o->subset = (int)c->subset;
    if (c->config >= grid_n_configs(g)) {
        fprintf(stderr, "fmnist-grid: --config %lld: %s has configurations 0..%lld\n", c->config,
                c->grid_path, (long long)grid_n_configs(g) - 1);
        grid_free(g);
        return EXIT_INPUT;
    }
    prepared pd;
    task_ctx tctx;
    memset(&tctx, 0, sizeof tctx);
    const char *data_dir = resolve_data_dir(c, o);
    int rc = EXIT_OK;
    jnl_record *rr = malloc(sizeof *rr);
    if (!rr) {
        fprintf(stderr, "fmnist-grid: out of memory\n");
        rc = EXIT_RUNTIME;
    } else if (prepare(g, c->subset >= 0 ? FROM_CLI : FROM_GRID, data_dir, 1, &pd, &err)) {
        print_error(err.msg);
        rc = EXIT_INPUT;
    } else if (task_ctx_init(&tctx, g, &pd.train, pd.idx, pd.fold_of, pd.n, &err)) {
        print_error(err.msg);
        rc = EXIT_RUNTIME;
    } else {
        nn_gemm_set_threads(c->threads);
        gethostname(tctx.host, sizeof tctx.host - 1);
        if (!c->quiet)
            fprintf(stderr, "fmnist-grid: fitting configuration %lld (%s) of %s on %d images\n", c->config,
                    grid_config_params(g, c->config), c->grid_path, pd.n);
        task_refit(&tctx, c->config, &pd.test, rr, NULL);
        const jnl_entry *e = &rr->e;
        for (int i = 0; i < e->epochs_run; i++)
            printf("epoch %d: loss %.4f accuracy %.4f lr %.3g %.1f s\n", i + 1, rr->hist[i].loss,
                   rr->hist[i].acc, rr->hist[i].lr, rr->hist[i].seconds);
        if (e->status == NN_STATUS_OK)
            printf("config %d (%s): test accuracy %.4f, test loss %.4f on %d images; last-epoch training "
                   "accuracy %.4f; fit %.1f s (%.0f images/s)\n",
                   e->config, grid_config_params(g, c->config), e->test_acc, e->test_loss, pd.test.n,
                   e->epochs_run ? rr->hist[e->epochs_run - 1].acc : NAN, e->fit_time,
                   e->fit_time > 0 ? (double)pd.n * e->epochs_run / e->fit_time : 0.0);
        else {
            printf("config %d: %s: %s\n", e->config, nn_status_name((nn_status)e->status), e->msg);
            rc = EXIT_RUNTIME;
        }
    }
    free(rr);
    task_ctx_free(&tctx);
    prepared_free(&pd);
    grid_free(g);
    return rc;
}

/* ---- predict MODEL [IMAGES [LABELS]] ----------------------------------------------------- */

static int predict_command(const cli *c)
{
    fg_err err;
    /* The file is read and checked first; the network (whose activations for a batch can
     * need far more memory than the file holds) is built only for images of its shape. */
    model_file mf;
    if (model_read(c->predict, &mf, &err)) {
        print_error(err.msg);
        return EXIT_INPUT;
    }
    const char *meta = mf.meta;
    nn_net *net = NULL;
    nn_gemm_set_threads(c->threads);
    data_set d;
    memset(&d, 0, sizeof d);
    int rc = EXIT_OK;
    char labels[4200];
    if (c->pred_images) {
        /* The labels file: given, or the images file's name with labels-idx1 for images-idx3. */
        const char *lp = c->pred_labels;
        if (!lp) {
            snprintf(labels, sizeof labels, "%s", c->pred_images);
            char *m = strstr(labels, "images-idx3");
            if (m)
                memcpy(m, "labels-idx1", 11);
            lp = m ? labels : NULL;
        }
        if (!lp) {
            fprintf(stderr, "fmnist-grid: %s: give the labels file too (fmnist-grid predict MODEL IMAGES LABELS)\n",
                    c->pred_images);
            rc = EXIT_INPUT;
        } else if (data_load_idx(c->pred_images, lp, 0, &d, &err)) {
            print_error(err.msg);
            rc = EXIT_INPUT;
        }
    } else {
        const char *dir = c->data_dir ? c->data_dir : getenv("FMNIST_DATA");
        if (data_load_dir(dir && *dir ? dir : DATA_DEFAULT_DIR, DATA_TEST, &d, &err)) {
            print_error(err.msg);
            rc = EXIT_INPUT;
        }
    }
    const nn_net_desc *nd = mf.desc;
    if (rc == EXIT_OK && (d.h != nd->in_h || d.w != nd->in_w || d.c != nd->in_c)) {
        fprintf(stderr, "fmnist-grid: %s: images are %dx%dx%d, but the model %s takes %dx%dx%d\n", d.images_path,
                d.h, d.w, d.c, c->predict, nd->in_h, nd->in_w, nd->in_c);
        rc = EXIT_INPUT;
    }
    if (rc == EXIT_OK && d.classes > nd->n_classes) { /* a test set may lack the last classes */
        fprintf(stderr, "fmnist-grid: %s: the model has %d classes, the data %d\n", c->predict, nd->n_classes,
                d.classes);
        rc = EXIT_INPUT;
    }
    const int K = nd->n_classes;
    int *conf = rc == EXIT_OK ? calloc((size_t)K * (size_t)K, sizeof *conf) : NULL;
    if (rc == EXIT_OK && !(net = model_build(&mf, 256, NULL, &err))) {
        print_error(err.msg);
        rc = EXIT_INPUT;
    }
    int32_t *idx = rc == EXIT_OK ? malloc((size_t)d.n * sizeof *idx) : NULL;
    uint8_t *pred = rc == EXIT_OK ? malloc((size_t)d.n) : NULL;
    if (rc == EXIT_OK && (!idx || !pred || !conf)) {
        print_error("out of memory");
        rc = EXIT_RUNTIME;
    }
    if (rc == EXIT_OK) {
        for (int i = 0; i < d.n; i++)
            idx[i] = i;
        nn_data nd2 = {d.images, d.labels, d.h, d.w, d.c, K, NULL};
        float loss = NAN, acc = NAN;
        if (nn_evaluate(net, &nd2, idx, d.n, &loss, &acc, pred, &err)) {
            print_error(err.msg);
            rc = EXIT_RUNTIME;
        } else {
            char num[12];
            for (int i = 0; i < d.n; i++)
                conf[d.labels[i] * K + pred[i]]++;
            printf("model %s (%s)\nimages %s: %d\naccuracy %.4f (%.9g), loss %.4f\n\n", c->predict, meta ? meta : "",
                   d.images_path, d.n, acc, acc, loss);
            printf("%-12s %7s %9s\n", "class", "images", "accuracy");
            for (int k = 0; k < K; k++) {
                int tot = 0;
                for (int j = 0; j < K; j++)
                    tot += conf[k * K + j];
                printf("%-12s %7d %9.4f\n", data_class_name(NULL, K, k, num, sizeof num), tot,
                       tot ? (double)conf[k * K + k] / tot : NAN);
            }
            printf("\nconfusion matrix (rows: true class, columns: predicted)\n%-12s", "");
            for (int j = 0; j < K; j++)
                printf(" %5d", j);
            printf("\n");
            for (int k = 0; k < K; k++) {
                printf("%d %-10s", k, data_class_name(NULL, K, k, num, sizeof num));
                for (int j = 0; j < K; j++)
                    printf(" %5d", conf[k * K + j]);
                printf("\n");
            }
            if (c->pred_output) {
                FILE *f = fopen(c->pred_output, "w");
                int bad = !f;
                for (int i = 0; f && i < d.n; i++)
                    bad |= fprintf(f, "%d\n", pred[i]) < 0;
                if (f)
                    bad |= fclose(f) != 0;
                if (bad) {
                    fprintf(stderr, "fmnist-grid: %s: cannot write: %s\n", c->pred_output, strerror(errno));
                    rc = EXIT_RUNTIME;
                }
            }
        }
    }
    free(idx);
    free(pred);
    free(conf);
    data_free(&d);
    nn_net_free(net);
    model_file_free(&mf);
    return rc;
}

/* ---- reproduce REPORT.yaml ------------------------------------------------------------- */

/* A float as written in a report (%.9g, exact for a float) against a reproduced one. */
static int same_score(double reported, float got)
{
    if (isnan(reported) || isnan(got))
        return isnan(reported) && isnan(got);
    return (float)reported == got;
}

/* 1 after saying so when a weights file the report records has another CRC-32 now. */
static int reproduce_weights_differ(const rpt_summary *rs)
{
    for (int k = 0; k < rs->n_weights; k++) {
        uint32_t crc = 0;
        fg_err err;
        if (h5w_file_crc32(rs->weights_path[k], &crc, &err)) {
            print_error(err.msg);
            return 1;
        }
        if (crc != rs->weights_crc32[k]) {
            fprintf(stderr, "fmnist-grid: %s: the weights file differs from the report's: CRC-32 %08lx, the "
                            "report has %08lx\n", rs->weights_path[k], (unsigned long)crc,
                    (unsigned long)rs->weights_crc32[k]);
            return 1;
        }
    }
    return 0;
}

static int reproduce_command(const cli *c)
{
    fg_err err;
    rpt_summary rs;
    if (rpt_read_summary(c->reproduce, &rs, &err)) {
        print_error(err.msg);
        return EXIT_INPUT;
    }
    int rc = EXIT_OK;
    grid *g = NULL;
    prepared pd;
    memset(&pd, 0, sizeof pd);
    task_ctx tctx;
    memset(&tctx, 0, sizeof tctx);
    jnl_record *rr = malloc(sizeof *rr);
    if (!rr) {
        print_error("out of memory");
        rc = EXIT_RUNTIME;
        goto out;
    }
    if (grid_load_string(rs.grid_text, rs.grid_len, rs.grid_path, &g, &err)) {
        char msg[FG_ERR_MAX + 4200];
        snprintf(msg, sizeof msg, "%s: grid.text: %s", c->reproduce, err.msg);
        print_error(msg);
        rc = EXIT_INPUT;
        goto out;
    }
    grid_options *o = grid_opts(g);
    /* The report must describe the search its grid text gives (read_summary checked the
     * text against its hash, and every field's presence and range). */
    if (o->folds != rs.folds) {
        fprintf(stderr, "fmnist-grid: %s: cv.folds is %d, but the recorded grid text has %d folds\n", c->reproduce,
                rs.folds, o->folds);
        rc = EXIT_INPUT;
        goto out;
    }
    if (grid_n_configs(g) != rs.n_configs) {
        fprintf(stderr, "fmnist-grid: %s: grid.configurations is %lld, but the recorded grid text expands to %lld\n",
                c->reproduce, (long long)rs.n_configs, (long long)grid_n_configs(g));
        rc = EXIT_INPUT;
        goto out;
    }
    if (rs.grid_name[0] && strcmp(rs.grid_name, o->name)) {
        fprintf(stderr, "fmnist-grid: %s: grid.name is '%s', but the recorded grid text names '%s'\n", c->reproduce,
                rs.grid_name, o->name);
        rc = EXIT_INPUT;
        goto out;
    }
    o->seed = rs.seed;
    o->cv_seed = rs.cv_seed;
    o->subset = rs.subset;
    if (use_recorded(g, rs.in_h, rs.in_w, rs.in_c, rs.classes, &err)) {
        print_error(err.msg);
        rc = EXIT_INPUT;
        goto out;
    }
    if (!c->config_set && rs.best_config < 0) {
        fprintf(stderr, "fmnist-grid: %s: best is null (no configuration has a score): give --config K\n",
                c->reproduce);
        rc = EXIT_INPUT;
        goto out;
    }
    int64_t k = c->config_set ? c->config : rs.best_config;
    if (k < 0 || k >= rs.n_configs) {
        fprintf(stderr, "fmnist-grid: %s: no configuration %lld to reproduce (the report has 0..%lld)\n",
                c->reproduce, (long long)k, (long long)rs.n_configs - 1);
        rc = EXIT_INPUT;
        goto out;
    }
    int with_test = rs.test_images_crc32 || rs.test_labels_crc32;
    if (k == rs.refit_config && !with_test) {
        fprintf(stderr, "fmnist-grid: %s: data.test_images_crc32 and data.test_labels_crc32 are 00000000: the "
                        "report does not record the test set its refit was scored on\n",
                c->reproduce);
        rc = EXIT_INPUT;
        goto out;
    }
    const char *data_dir = resolve_data_dir(c, o);
    if (prepare(g, FROM_RECORDED, data_dir, 1, &pd, &err)) {
        print_error(err.msg);
        rc = EXIT_INPUT;
        goto out;
    }
    if (pd.train.images_crc32 != rs.train_images_crc32 || pd.train.labels_crc32 != rs.train_labels_crc32 ||
        (with_test && (pd.test.images_crc32 != rs.test_images_crc32 || pd.test.labels_crc32 != rs.test_labels_crc32))) {
        fprintf(stderr, "fmnist-grid: %s: the data differ from the report's: CRC-32 train %08lx/%08lx test "
                        "%08lx/%08lx, the report has %08lx/%08lx and %08lx/%08lx (give --data DIR)\n",
                data_dir, (unsigned long)pd.train.images_crc32, (unsigned long)pd.train.labels_crc32,
                (unsigned long)pd.test.images_crc32, (unsigned long)pd.test.labels_crc32,
                (unsigned long)rs.train_images_crc32, (unsigned long)rs.train_labels_crc32,
                (unsigned long)rs.test_images_crc32, (unsigned long)rs.test_labels_crc32);
        rc = EXIT_INPUT;
        goto out;
    }
    if (reproduce_weights_differ(&rs)) {
        rc = EXIT_INPUT;
        goto out;
    }
    if (pd.folds_checksum != rs.folds_checksum) {
        fprintf(stderr, "fmnist-grid: %s: the fold assignment differs from the report's (checksum %016llx, "
                        "report %016llx)\n", c->reproduce, (unsigned long long)pd.folds_checksum,
                (unsigned long long)rs.folds_checksum);
        rc = EXIT_INPUT;
        goto out;
    }
    if (task_ctx_init(&tctx, g, &pd.train, pd.idx, pd.fold_of, pd.n, &err)) {
        print_error(err.msg);
        rc = EXIT_RUNTIME;
        goto out;
    }
    nn_gemm_set_threads(c->threads);
    gethostname(tctx.host, sizeof tctx.host - 1);
    if (rs.blas_threads && rs.blas_threads != c->threads)
        fprintf(stderr, "fmnist-grid: note: the search used %d BLAS thread(s), this run %d: results may "
                        "differ in the last bits\n", rs.blas_threads, c->threads);
    if (!c->quiet)
        fprintf(stderr, "fmnist-grid: reproducing configuration %lld (%s): %d folds%s\n", (long long)k,
                grid_config_params(g, k), rs.folds, k == rs.refit_config ? " and the refit" : "");
    printf("configuration %lld: %s\n%-8s %-12s %-12s %s\n", (long long)k, grid_config_params(g, k), "",
           "report", "reproduced", "difference");
    double worst = 0;
    const char *worst_at = NULL, *first_at = NULL;
    char where[64], first_where[64] = "", worst_where[64] = "";
    int identical = 1;
    for (int f = 0; f < rs.folds; f++) {
        task_run(&tctx, (int32_t)(k * rs.folds + f), rr);
        double want = rs.split[k * rs.folds + f];
        float got = rr->e.val_acc;
        int same = same_score(want, got);
        double d = isnan(want) || isnan(got) ? (same ? 0 : INFINITY) : fabs((double)got - (double)(float)want);
        printf("fold %-3d %-12.9g %-12.9g %s\n", f, want, got, same ? "identical" : "");
        snprintf(where, sizeof where, "fold %d", f);
        if (!same && identical) {
            snprintf(first_where, sizeof first_where, "%s", where);
            first_at = first_where;
        }
        if (!same && d >= worst) {
            worst = d;
            snprintf(worst_where, sizeof worst_where, "%s", where);
            worst_at = worst_where;
        }
        identical &= same;
    }
    if (k == rs.refit_config) {
        task_refit(&tctx, k, &pd.test, rr, NULL);
        int same = same_score(rs.refit_test_accuracy, rr->e.test_acc);
        printf("%-8s %-12.9g %-12.9g %s\n", "refit", rs.refit_test_accuracy, rr->e.test_acc,
               same ? "identical (test accuracy)" : "(test accuracy)");
        if (!same) {
            double d = fabs(rr->e.test_acc - rs.refit_test_accuracy);
            if (identical)
                first_at = "the refit";
            if (d >= worst) {
                worst = d;
                worst_at = "the refit";
            }
            identical = 0;
        }
    }
    if (identical)
        printf("verdict: identical\n");
    else
        printf("verdict: different: largest difference %.3g at %s; first difference at %s\n", worst,
               worst_at ? worst_at : "?", first_at ? first_at : "?");
    if (!identical && c->verify)
        rc = EXIT_RUNTIME;
out:
    free(rr);
    task_ctx_free(&tctx);
    prepared_free(&pd);
    grid_free(g);
    rpt_summary_free(&rs);
    return rc;
}

/* ---- report DIR: merge journals, refit, write ------------------------------------------ */

/* Prints what a journal reader skipped: one warning line per skipped line (the first
 * JNL_MAX_ISSUES), naming the file and the line, then how many more. */
static void warn_skipped(const char *path, const jnl_contents *jc)
{
    char msg[FG_ERR_MAX];
    for (int i = 0; i < jc->n_issues; i++) {
        snprintf(msg, sizeof msg, "warning: %s:%ld: skipped: %s", path, jc->issues[i].line, jc->issues[i].why);
        print_error(msg);
    }
    int total = jc->n_torn + jc->n_rejected;
    if (total > jc->n_issues) {
        snprintf(msg, sizeof msg, "warning: %s: %d more line(s) skipped", path, total - jc->n_issues);
        print_error(msg);
    }
}

/* Reads a journal, every record checked against its header and against the grid. */
static int load_journal(const char *path, const grid *g, jnl_contents *jc, fg_err *err)
{
    jnl_expect x;
    if (rpt_journal_expect(g, &x, err))
        return -1;
    int rc = jnl_load(path, &x, jc, err);
    rpt_journal_expect_free(&x);
    return rc;
}

/* The grid text a directory holds must be the one its journal's header records. */
static int grid_copy_matches(const char *gp, const grid *g, const jnl_header *h, const char *jpath, fg_err *err)
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

static void results_free(results *r)
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
static int read_journals(const char *dir, const grid *g, results *r, fg_err *err)
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
            if (grid_copy_matches(gp, g, &hh, path, err)) {
                rc = -1;
                break;
            }
        } else if (!same_search(&r->h, &hh, why, sizeof why)) {
            rc = fg_err_set(err, "%s: not part of the same search as %s: %s", path, first, why);
            break;
        }
        jnl_contents jc;
        if (load_journal(path, g, &jc, err)) {
            rc = -1;
            break;
        }
        warn_skipped(path, &jc);
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

static void fill_env(rpt_env *env, const char *cmd, const char *host, const char *started,
                     const char *data_dir, int ranks, int threads, int workers, double wall,
                     const prepared *pd, const jnl_header *h)
{
    memset(env, 0, sizeof *env);
    env->version = FG_VERSION;
    env->git_rev = FG_GIT_REV;
    env->compiler = FG_COMPILER;
    env->mpi = sched_mpi_version();
    env->blas = nn_gemm_backend();
    env->command_line = cmd;
    env->host = host;
    env->started_utc = started;
    env->data_dir = data_dir;
    env->ranks = ranks;
    env->threads = threads;
    env->workers = workers;
    env->wall_time = wall;
    env->train_images_crc32 = h->train_images_crc32;
    env->train_labels_crc32 = h->train_labels_crc32;
    if (pd) {
        env->test_images_crc32 = pd->test.images_crc32;
        env->test_labels_crc32 = pd->test.labels_crc32;
        env->n_train_total = pd->train.n;
        env->n_test = pd->test.n;
    }
}

/* The report's record of the weights files g names: their CRC-32, for `reproduce`. A file
 * that cannot be read is left out, with a note. */
static void env_weights(rpt_env *env, const grid *g)
{
    fg_err err;
    int n = task_weights_crc(g, env->weights_path, env->weights_crc32, RPT_MAX_WEIGHTS, &err);
    if (n < 0)
        fprintf(stderr, "fmnist-grid: note: the report records no weights file CRC-32: %s\n", err.msg);
    env->n_weights = n > 0 ? n : 0;
}

/* A session record of this process (see jnl_session): the end fields (workers, wall time)
 * stay unknown until the caller sets them. */
static void fill_session(jnl_session *ss, int number, const char *role, const char *cmd, const char *host,
                         const char *hosts, const char *started, const char *data_dir, int ranks, int threads,
                         const prepared *pd)
{
    memset(ss, 0, sizeof *ss);
    ss->number = number;
    snprintf(ss->role, sizeof ss->role, "%s", role);
    snprintf(ss->started_utc, sizeof ss->started_utc, "%s", started);
    snprintf(ss->host, sizeof ss->host, "%s", host);
    snprintf(ss->hosts, sizeof ss->hosts, "%s", hosts);
    ss->ranks = ranks;
    ss->workers = -1;
    ss->threads = threads;
    ss->wall_time = NAN;
    snprintf(ss->version, sizeof ss->version, "%s", FG_VERSION);
    snprintf(ss->git_rev, sizeof ss->git_rev, "%s", FG_GIT_REV);
    snprintf(ss->compiler, sizeof ss->compiler, "%s", FG_COMPILER);
    snprintf(ss->mpi, sizeof ss->mpi, "%s", sched_mpi_version());
    snprintf(ss->blas, sizeof ss->blas, "%s", nn_gemm_backend());
    snprintf(ss->command, sizeof ss->command, "%s", cmd);
    snprintf(ss->data_dir, sizeof ss->data_dir, "%s", data_dir ? data_dir : "");
    ss->n_train_total = ss->n_test = -1;
    if (pd) {
        ss->test_images_crc32 = pd->test.images_crc32;
        ss->test_labels_crc32 = pd->test.labels_crc32;
        ss->n_train_total = pd->train.images ? pd->train.n : -1;
        ss->n_test = pd->test.images ? pd->test.n : -1;
    }
}

/* The number the next session of the journal file named name takes. */
static int next_session_number(const jnl_session *s, int ns, const char *name)
{
    int m = 0;
    for (int i = 0; i < ns; i++)
        if ((!name || !strcmp(s[i].file, name)) && s[i].number > m)
            m = s[i].number;
    return m + 1;
}

/* A results directory: its grid.yaml (a regular file, checked against the journal's
 * header) and every journal in it; the grid built for the input the search recorded
 * (use_recorded). Prints the error and returns -1 (nothing to free) on
 * failure. */
static int open_results(const char *dir, grid **g, results *r)
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
        print_error(err.msg);
        return -1;
    }
    free(text);
    if (read_journals(dir, *g, r, &err)) {
        print_error(err.msg);
        grid_free(*g);
        *g = NULL;
        return -1;
    }
    if (use_recorded(*g, r->h.in_h, r->h.in_w, r->h.in_c, r->h.classes, &err)) { /* the search's input */
        print_error(err.msg);
        results_free(r);
        grid_free(*g);
        *g = NULL;
        return -1;
    }
    return 0;
}

/* DIR/model.fgm is missing although the best configuration's refit rec is journaled (the
 * process died between the record and the file, or the parameters never reached rank 0).
 * The refit is deterministic: train it again on t and save it. Without t (no data), say
 * how to rebuild it. Returns 0 (saved, or nothing to do), 1 (not rebuilt, said so), or -1
 * (a write failed, said in one line). */
static int rebuild_model(const char *dir, const grid *g, int64_t best, const jnl_entry *rec, task_ctx *t,
                         const data_set *test, int quiet)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/model.fgm", dir);
    if (access(path, F_OK) == 0 || !rec || rec->status != NN_STATUS_OK)
        return 0;
    if (!t) {
        fprintf(stderr, "fmnist-grid: warning: no model.fgm and no data to rebuild it here (rebuild it with: "
                        "fmnist-grid report %s --data DIR)\n", dir);
        return 1;
    }
    if (!quiet)
        fprintf(stderr, "fmnist-grid: %s is missing: refitting configuration %lld (%s) again to rebuild it\n",
                path, (long long)best, grid_config_params(g, best));
    jnl_record *rr = malloc(sizeof *rr);
    nn_net *net = NULL;
    int rc = 1;
    if (!rr || task_refit(t, best, test, rr, &net) || !net || rr->e.status != NN_STATUS_OK) {
        fprintf(stderr, "fmnist-grid: warning: no model.fgm: the refit to rebuild it failed: %s\n",
                rr ? rr->e.msg : "out of memory");
    } else {
        if (!quiet && (float)rec->test_acc != rr->e.test_acc)
            fprintf(stderr, "fmnist-grid: warning: the rebuilt model's test accuracy %.9g differs from the "
                            "journal's %.9g (another build or BLAS thread count?)\n", rr->e.test_acc, rec->test_acc);
        rc = save_model(dir, g, best, net, rr);
    }
    nn_net_free(net);
    free(rr);
    return rc;
}

/* report DIR: lock DIR/journal.jsonl.lock, which a running (unsharded) search of DIR holds
 * until it has written its reports: two writers of one report are refused, with the holder
 * named. Shards lock their own journals, so a partial report while they run is fine. The
 * BLAS threads of a refit are the recorded ones unless --threads is given; a different
 * --threads is refused. Returns -1 to go on (*lock_fd held), or an exit status. */
static int report_claim(const char *dir, const jnl_header *h, const cli *c, int *threads, int *lock_fd)
{
    fg_err err;
    if (c->threads_set && h->threads > 0 && c->threads != h->threads) {
        fprintf(stderr, "fmnist-grid: %s: %d BLAS threads, recorded %d (--threads %d given; threads change "
                        "results in the last bits): leave the option out\n", dir, c->threads, h->threads, c->threads);
        return EXIT_INPUT;
    }
    if (!c->threads_set && h->threads > 0)
        *threads = h->threads;
    char lp[4400];
    snprintf(lp, sizeof lp, "%s/journal.jsonl.lock", dir);
    *lock_fd = od_lock_take(lp, &err);
    if (*lock_fd == -2) {
        fprintf(stderr, "fmnist-grid: %s: a search is running in it (%s) and writes the reports when it ends; "
                        "run report then (kill -USR1 ends it with a partial report)\n", dir, err.msg);
        return EXIT_INPUT;
    }
    if (*lock_fd < 0) {
        print_error(err.msg);
        return EXIT_RUNTIME;
    }
    return -1;
}

/* report DIR: model.fgm lost after its refit was journaled: load the data (checked against
 * the journal) and refit again (rebuild_model). Returns rebuild_model's 0, 1 or -1. */
static int report_rebuild_model(const char *dir, grid *g, const jnl_header *h, int64_t best,
                                const jnl_entry *rec, const char *data_dir, int threads, int quiet)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/model.fgm", dir);
    if (!rec || rec->status != NN_STATUS_OK || access(path, F_OK) == 0)
        return 0;
    prepared pd;
    task_ctx tctx;
    fg_err err;
    memset(&tctx, 0, sizeof tctx);
    int rc, have_ctx = 0;
    if (prepare(g, FROM_RECORDED, data_dir, 1, &pd, &err) || pd.folds_checksum != h->folds_checksum ||
        pd.train.images_crc32 != h->train_images_crc32 || pd.train.labels_crc32 != h->train_labels_crc32) {
        rc = rebuild_model(dir, g, best, rec, NULL, NULL, quiet); /* no data: say how */
    } else if (task_ctx_init(&tctx, g, &pd.train, pd.idx, pd.fold_of, pd.n, &err)) {
        print_error(err.msg);
        rc = 1;
    } else {
        have_ctx = 1;
        nn_gemm_set_threads(threads);
        gethostname(tctx.host, sizeof tctx.host - 1);
        rc = rebuild_model(dir, g, best, rec, &tctx, &pd.test, quiet);
    }
    if (have_ctx)
        task_ctx_free(&tctx);
    prepared_free(&pd);
    return rc;
}

/* report DIR's refit of best (every task done, none refitted): into DIR/journal.refit.jsonl,
 * as a session of its own (this process trains, with threads BLAS threads), and model.fgm.
 * Returns the exit status (EXIT_RUNTIME: a write failed, said in one line: write nothing
 * more); *have_data is set when pd holds the data. */
static int report_refit(const char *dir, grid *g, const results *r, int64_t best, const char *data_dir,
                        const cli *c, int threads, const char *cmd, const char *host, const char *started, double t0,
                        prepared *pd, int *have_data)
{
    fg_err err;
    int exit_code = EXIT_OK;
    task_ctx tctx;
    jnl *j = NULL;
    char jp[4400];
    snprintf(jp, sizeof jp, "%s/journal.refit.jsonl", dir);
    if (prepare(g, FROM_RECORDED, data_dir, 1, pd, &err)) {
        print_error(err.msg);
        exit_code = EXIT_INPUT;
    } else if (pd->folds_checksum != r->h.folds_checksum || pd->train.images_crc32 != r->h.train_images_crc32) {
        fprintf(stderr, "fmnist-grid: %s: the data in %s differ from the search's (checksums); give --data\n",
                dir, data_dir);
        exit_code = EXIT_INPUT;
    } else if (task_ctx_init(&tctx, g, &pd->train, pd->idx, pd->fold_of, pd->n, &err) ||
               (access(jp, F_OK) == 0 ? jnl_open_append(jp, &j, &err) : jnl_create(jp, &r->h, &j, &err))) {
        print_error(err.msg);
        exit_code = EXIT_RUNTIME;
    } else {
        *have_data = 1;
        nn_gemm_set_threads(threads);
        gethostname(tctx.host, sizeof tctx.host - 1);
        /* This process trains: it is a session of journal.refit.jsonl. */
        jnl_session ss;
        char hosts[JNL_HOST_MAX + 8];
        snprintf(hosts, sizeof hosts, "%s:1", host);
        fill_session(&ss, next_session_number(r->s, r->ns, "journal.refit.jsonl"), "report", cmd, host, hosts,
                     started, data_dir, 1, threads, pd);
        if (jnl_append_session(j, &ss, &err)) {
            print_error(err.msg);
            exit_code = EXIT_RUNTIME;
        }
        if (exit_code == EXIT_OK && !c->quiet)
            fprintf(stderr, "fmnist-grid: refitting configuration %lld (%s) on %d images\n",
                    (long long)best, grid_config_params(g, best), pd->n);
        jnl_record *rr = exit_code == EXIT_OK ? malloc(sizeof *rr) : NULL;
        nn_net *net = NULL;
        if (exit_code != EXIT_OK) {
            /* said above */
        } else if (!rr || task_refit(&tctx, best, &pd->test, rr, &net) ||
                   jnl_append(j, rr, grid_config_params(g, best), &err)) {
            fprintf(stderr, "fmnist-grid: refit failed: %s\n", rr ? err.msg : "out of memory");
            exit_code = EXIT_RUNTIME;
        } else if (!c->quiet && rr->e.status == NN_STATUS_OK) {
            fprintf(stderr, "fmnist-grid: refit: test accuracy %.4f (%d images), %.1f s\n",
                    rr->e.test_acc, pd->test.n, rr->e.fit_time);
        }
        if (exit_code == EXIT_OK && fault_from_env().kill_after_refit)
            raise(SIGKILL); /* FG_FAULT=kill:refit: journaled, model.fgm not written yet */
        if (exit_code == EXIT_OK && net && rr && save_model(dir, g, best, net, rr))
            exit_code = EXIT_RUNTIME;
        nn_net_free(net);
        free(rr);
        task_ctx_free(&tctx);
        if (exit_code == EXIT_OK) {
            ss.ended = 1;
            ss.workers = 1;
            ss.wall_time = fg_now() - t0;
            if (jnl_append_session(j, &ss, &err)) {
                print_error(err.msg);
                exit_code = EXIT_RUNTIME;
            }
        }
    }
    jnl_close(j);
    return exit_code;
}

static int report_command(int argc, char **argv, const cli *c)
{
    const char *dir = c->report_dir;
    double t0 = fg_now();
    fg_err err;
    grid *g = NULL;
    results r;
    if (open_results(dir, &g, &r))
        return EXIT_INPUT;
    int threads = c->threads, lock_fd = -1;
    int claimed = report_claim(dir, &r.h, c, &threads, &lock_fd);
    if (claimed >= 0) {
        results_free(&r);
        grid_free(g);
        return claimed;
    }
    grid_options *o = grid_opts(g);
    o->seed = r.h.seed;
    o->cv_seed = r.h.cv_seed;
    o->subset = r.h.subset;
    int64_t nc = grid_n_configs(g);
    int64_t total = nc * o->folds;
    char *seen = calloc((size_t)total, 1);
    int64_t done = 0, dups = 0;
    for (int i = 0; seen && i < r.n; i++) {
        const jnl_entry *x = &r.e[i];
        if (x->fold < 0 || x->fold >= o->folds || x->config < 0 || x->config >= nc)
            continue;
        int64_t t = (int64_t)x->config * o->folds + x->fold;
        if (seen[t])
            dups++;
        else
            done++;
        seen[t] = 1;
    }
    int exit_code = EXIT_OK;
    prepared pd;
    memset(&pd, 0, sizeof pd);
    struct stat dst;
    const char *data_dir = !c->data_dir && r.h.data_dir[0] && stat(r.h.data_dir, &dst) == 0 && S_ISDIR(dst.st_mode)
                               ? r.h.data_dir /* the search's own, as a resume takes it */
                               : resolve_data_dir(c, o);
    int have_data = 0, stop = 0; /* stop: a write failed (said in one line), write nothing more */
    char cmd[4096], host[64] = "", started[32];
    join_argv(argc, argv, cmd, sizeof cmd);
    gethostname(host, sizeof host - 1);
    utc_stamp(started, sizeof started, 0);
    /* Refit once everything is done, as the single-job search would have. */
    rpt_config *agg = NULL;
    double *sp = NULL;
    int64_t best = -1;
    if (rpt_aggregate(r.e, r.n, nc, o->folds, &agg, &sp, &err) == 0) {
        rpt_costs(g, agg, nc); /* ties in the mean go to the cheaper network */
        best = rpt_best(agg, nc);
    }
    free(agg);
    free(sp);
    int have_refit = 0;
    for (int i = 0; i < r.n; i++)
        have_refit |= r.e[i].fold == JNL_REFIT && r.e[i].config == best;
    if (done == total && best >= 0 && o->refit && !c->no_refit && !have_refit) {
        exit_code = report_refit(dir, g, &r, best, data_dir, c, threads, cmd, host, started, t0, &pd, &have_data);
        stop = exit_code == EXIT_RUNTIME;
        results_free(&r);
        if (!stop && read_journals(dir, g, &r, &err)) {
            print_error(err.msg);
            exit_code = EXIT_RUNTIME;
        }
    } else if (have_refit && !c->no_refit) {
        /* Refitted before, but model.fgm may have been lost with the process that wrote it. */
        const jnl_entry *rec = NULL;
        for (int i = 0; i < r.n; i++)
            if (r.e[i].fold == JNL_REFIT && r.e[i].config == best)
                rec = &r.e[i];
        if (report_rebuild_model(dir, g, &r.h, best, rec, data_dir, threads, c->quiet) < 0) {
            exit_code = EXIT_RUNTIME;
            stop = 1;
        }
    }
    if ((r.e || r.n_files) && !stop) {
        rpt_env env;
        fill_env(&env, cmd, host, started, data_dir, 1, threads, 0, fg_now() - t0, have_data ? &pd : NULL, &r.h);
        env.sessions = r.s;
        env.n_sessions = r.ns;
        env.regenerated_utc = started;
        env.regenerated_by = cmd;
        env.regenerated_host = host;
        /* A journal older than session records does not say which test set the refit
         * was scored on: the data directory's test set it is (its CRC-32 only). */
        int recorded = 0;
        for (int i = 0; i < r.ns; i++)
            recorded |= r.s[i].test_images_crc32 || r.s[i].test_labels_crc32;
        data_set test;
        memset(&test, 0, sizeof test);
        if (!recorded && !have_data && data_load_dir(data_dir, DATA_TEST, &test, &err) == 0) {
            env.test_images_crc32 = test.images_crc32;
            env.test_labels_crc32 = test.labels_crc32;
            env.n_test = test.n;
        }
        data_free(&test);
        env.interrupted = done < total;
        env_weights(&env, g);
        fg_err plot_warning;
        env.plot_warning = &plot_warning;
        if (rpt_write(dir, g, &r.h, r.e, r.n, &env, r.refit_path[0] ? r.refit_path : NULL, &err)) {
            print_error(err.msg);
            exit_code = EXIT_RUNTIME;
        } else {
            if (plot_warning.msg[0] && !c->quiet)
                fprintf(stderr, "fmnist-grid: warning: %s\n", plot_warning.msg);
            if (done < total && !c->quiet) {
                fprintf(stderr, "fmnist-grid: %lld of %lld tasks are missing; partial report. Missing:",
                        (long long)(total - done), (long long)total);
                int shown = 0;
                for (int64_t t = 0; seen && t < total && shown < 20; t++)
                    if (!seen[t]) {
                        fprintf(stderr, "%s config %lld fold %lld", shown ? "," : "", (long long)(t / o->folds),
                                (long long)(t % o->folds));
                        shown++;
                    }
                fprintf(stderr, "%s\n", total - done > 20 ? ", ..." : "");
            }
            if (dups && !c->quiet)
                fprintf(stderr, "fmnist-grid: %lld task(s) recorded more than once; the first record counts\n",
                        (long long)dups);
            printf("%s/report.md (%lld of %lld tasks from %d journal%s)\n", dir, (long long)done,
                   (long long)total, r.n_files, r.n_files == 1 ? "" : "s");
        }
    }
    free(seen);
    results_free(&r);
    prepared_free(&pd);
    grid_free(g);
    od_lock_release(lock_fd);
    return exit_code;
}

/* ---- compare DIR... ----------------------------------------------------------------- */

/* Characters (not bytes) of a UTF-8 string, for aligning columns that hold "±". */
static int utf8_chars(const char *s)
{
    int n = 0;
    for (const unsigned char *u = (const unsigned char *)s; *u; u++)
        n += (*u & 0xc0) != 0x80;
    return n;
}

/* Prints the best configuration of each search (from DIR/report.yaml) side by side: one
 * column per search, one row per field and per parameter of the best configurations. */
static int compare_command(const cli *c)
{
    int n = c->n_compare;
    rpt_summary *rs = calloc((size_t)n, sizeof *rs);
    if (!rs) {
        print_error("out of memory");
        return EXIT_RUNTIME;
    }
    int rc = EXIT_OK;
    for (int i = 0; i < n && rc == EXIT_OK; i++) {
        const char *dir = c->compare[i];
        struct stat st;
        char path[4200];
        fg_err err;
        snprintf(path, sizeof path, "%s/report.yaml", dir);
        if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
            fprintf(stderr, "fmnist-grid: compare: %s: no such directory\n", dir);
            rc = EXIT_INPUT;
        } else if (access(path, F_OK) != 0) {
            fprintf(stderr, "fmnist-grid: compare: %s: no report.yaml (write one with: fmnist-grid report %s)\n",
                    dir, dir);
            rc = EXIT_INPUT;
        } else if (rpt_read_summary(path, &rs[i], &err)) {
            char msg[FG_ERR_MAX + 64];
            snprintf(msg, sizeof msg, "compare: %s", err.msg);
            print_error(msg);
            rc = EXIT_INPUT;
        }
    }
    /* The parameters of the best configurations: the union of the names, in order of first
     * appearance. */
    const char *names[RPT_MAX_PARAMS];
    int nn = 0;
    for (int i = 0; rc == EXIT_OK && i < n; i++)
        for (int k = 0; k < rs[i].n_best_params; k++) {
            int seen = 0;
            for (int m = 0; m < nn && !seen; m++)
                seen = !strcmp(names[m], rs[i].best_param_name[k]);
            if (!seen && nn < RPT_MAX_PARAMS)
                names[nn++] = rs[i].best_param_name[k];
        }
    enum { CELL = 96 };
    int rows = 11 + nn;
    char *label = calloc((size_t)rows, 80);
    char *cell = calloc((size_t)rows * (size_t)n, CELL);
    if (rc == EXIT_OK && (!label || !cell)) {
        print_error("out of memory");
        rc = EXIT_RUNTIME;
    }
    if (rc == EXIT_OK) {
        int r = 0;
#define CMP_CELL(row, i) (cell + ((size_t)(row) * (size_t)n + (size_t)(i)) * CELL)
        snprintf(label + 80 * r, 80, "directory");
        for (int i = 0; i < n; i++)
            snprintf(CMP_CELL(r, i), CELL, "%s", c->compare[i]);
        snprintf(label + 80 * ++r, 80, "search");
        for (int i = 0; i < n; i++)
            snprintf(CMP_CELL(r, i), CELL, "%s", rs[i].grid_name[0] ? rs[i].grid_name : "?");
        snprintf(label + 80 * ++r, 80, "best configuration");
        for (int i = 0; i < n; i++)
            if (rs[i].best_config >= 0)
                snprintf(CMP_CELL(r, i), CELL, "%lld", (long long)rs[i].best_config);
            else
                snprintf(CMP_CELL(r, i), CELL, "none");
        for (int m = 0; m < nn; m++) {
            snprintf(label + 80 * ++r, 80, "  %s", names[m]);
            for (int i = 0; i < n; i++) {
                snprintf(CMP_CELL(r, i), CELL, "-");
                for (int k = 0; k < rs[i].n_best_params; k++)
                    if (!strcmp(rs[i].best_param_name[k], names[m]))
                        snprintf(CMP_CELL(r, i), CELL, "%s", rs[i].best_param_value[k]);
            }
        }
        snprintf(label + 80 * ++r, 80, "mean ± SE (CV)");
        for (int i = 0; i < n; i++) {
            const rpt_summary *q = &rs[i];
            if (isnan(q->best_mean))
                snprintf(CMP_CELL(r, i), CELL, "-");
            else if (isnan(q->best_sem))
                snprintf(CMP_CELL(r, i), CELL, "%.4f (%d folds)", q->best_mean, q->folds);
            else
                snprintf(CMP_CELL(r, i), CELL, "%.4f ± %.4f (%d folds)", q->best_mean, q->best_sem, q->folds);
        }
        snprintf(label + 80 * ++r, 80, "not separated (p >= %.2f)", RPT_ALPHA);
        for (int i = 0; i < n; i++)
            if (rs[i].n_indistinguishable >= 0)
                snprintf(CMP_CELL(r, i), CELL, "%d of %lld", rs[i].n_indistinguishable, (long long)rs[i].n_configs);
            else
                snprintf(CMP_CELL(r, i), CELL, "-");
        snprintf(label + 80 * ++r, 80, "one-SE choice");
        for (int i = 0; i < n; i++)
            if (rs[i].one_se_choice >= 0)
                snprintf(CMP_CELL(r, i), CELL, "%lld", (long long)rs[i].one_se_choice);
            else
                snprintf(CMP_CELL(r, i), CELL, "-");
        snprintf(label + 80 * ++r, 80, "refit test accuracy");
        for (int i = 0; i < n; i++)
            if (rs[i].refit_config >= 0 && !isnan(rs[i].refit_test_accuracy))
                snprintf(CMP_CELL(r, i), CELL, "%.4f (config %d)", rs[i].refit_test_accuracy, rs[i].refit_config);
            else
                snprintf(CMP_CELL(r, i), CELL, "-");
        snprintf(label + 80 * ++r, 80, "tasks done");
        for (int i = 0; i < n; i++)
            if (rs[i].tasks >= 0)
                snprintf(CMP_CELL(r, i), CELL, "%lld of %lld", (long long)rs[i].tasks_done, (long long)rs[i].tasks);
            else
                snprintf(CMP_CELL(r, i), CELL, "%lld configurations", (long long)rs[i].n_configs);
        snprintf(label + 80 * ++r, 80, "training time (tasks)");
        for (int i = 0; i < n; i++)
            if (rs[i].training_time < 120)
                snprintf(CMP_CELL(r, i), CELL, "%.1f s", rs[i].training_time);
            else
                fmt_hms(CMP_CELL(r, i), CELL, rs[i].training_time);
        snprintf(label + 80 * ++r, 80, "subset");
        for (int i = 0; i < n; i++)
            snprintf(CMP_CELL(r, i), CELL, rs[i].subset ? "%d images" : "all images", rs[i].subset);
        rows = r + 1;
        int lw = 0;
        for (int k = 0; k < rows; k++)
            if (utf8_chars(label + 80 * k) > lw)
                lw = utf8_chars(label + 80 * k);
        for (int k = 0; k < rows; k++) {
            printf("%s%*s", label + 80 * k, lw - utf8_chars(label + 80 * k), "");
            for (int i = 0; i < n; i++) {
                /* column width in characters: "±" is two bytes, one character */
                int w = 0;
                for (int k2 = 0; k2 < rows; k2++)
                    if (utf8_chars(CMP_CELL(k2, i)) > w)
                        w = utf8_chars(CMP_CELL(k2, i));
                const char *t = CMP_CELL(k, i);
                printf("  %s%*s", t, i + 1 < n ? w - utf8_chars(t) : 0, "");
            }
            printf("\n");
        }
#undef CMP_CELL
    }
    free(label);
    free(cell);
    for (int i = 0; i < n; i++)
        rpt_summary_free(&rs[i]);
    free(rs);
    return rc;
}

/* Settings rank 0 decides and every rank needs, broadcast as plain bytes. */
typedef struct {
    int32_t status; /* -1 go on, else every rank exits with it */
    int32_t subset, threads, has_seed;
    uint64_t seed, cv_seed;
    uint64_t folds_checksum;
    uint32_t crc_images, crc_labels;
    char data_dir[4096];
} setup_msg;

/* ---- simulate DIR: the dispatch replayed on recorded task times ------------------------ */

/* Parses "16,64,256" into ranks (up to max); returns the count, or -1. */
static int parse_rank_list(const char *s, int *ranks, int max)
{
    int n = 0;
    while (*s) {
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (end == s || errno || v < 1 || v > 1000000 || n == max || (*end && *end != ','))
            return -1;
        ranks[n++] = (int)v;
        s = *end ? end + 1 : end;
        if (*end && !*s)
            return -1;
    }
    return n;
}

static int simulate_command(const cli *c)
{
    const char *dir = c->simulate;
    int ranks[64], nr;
    if (c->sim_ranks) {
        nr = parse_rank_list(c->sim_ranks, ranks, 64);
        if (nr <= 0) {
            fprintf(stderr, "fmnist-grid: --ranks: '%s' is not a list like 16,64,256 (1..1000000, at most 64)\n",
                    c->sim_ranks);
            return EXIT_INPUT;
        }
    } else {
        for (nr = 0; nr < 11; nr++)
            ranks[nr] = 1 << nr;
    }
    fg_err err;
    grid *g = NULL;
    results rs;
    if (open_results(dir, &g, &rs))
        return EXIT_INPUT;
    const jnl_entry *e = rs.e;
    int n = rs.n;
    int64_t nc = grid_n_configs(g);
    int folds = grid_opts_c(g)->folds;
    int64_t total = nc * folds;
    int exit_code = EXIT_OK;
    double *sec = malloc((size_t)total * sizeof *sec);
    int64_t *cfg_of = malloc((size_t)total * sizeof *cfg_of);
    uint64_t *key = malloc((size_t)nc * sizeof *key);
    int n_train = 0;
    double refit = NAN;
    if (!sec || !cfg_of || !key) {
        fprintf(stderr, "fmnist-grid: out of memory\n");
        exit_code = EXIT_RUNTIME;
        goto out;
    }
    for (int64_t t = 0; t < total; t++)
        sec[t] = -1;
    for (int i = 0; i < n; i++) {
        if (e[i].config < 0 || e[i].config >= nc)
            continue;
        if (e[i].fold == JNL_REFIT) {
            refit = e[i].fit_time + e[i].score_time;
            continue;
        }
        if (e[i].fold < 0 || e[i].fold >= folds)
            continue;
        sec[(int64_t)e[i].config * folds + e[i].fold] = e[i].fit_time + e[i].score_time;
        if (!n_train)
            n_train = e[i].n_train;
    }
    /* Only recorded tasks take part; their ids are renumbered densely. */
    int m = 0;
    for (int64_t t = 0; t < total; t++)
        if (sec[t] >= 0) {
            sec[m] = sec[t];
            cfg_of[m++] = t / folds;
        }
    if (m == 0) {
        fprintf(stderr, "fmnist-grid: %s: the journal records no finished task to replay\n", dir);
        exit_code = EXIT_INPUT;
        goto out;
    }
    if (arch_keys(g, key, &err)) {
        print_error(err.msg);
        exit_code = EXIT_INPUT;
        goto out;
    }
    {
        int32_t *fam = families_of(key, (int32_t)nc);
        double *cost = malloc((size_t)m * sizeof *cost);
        int32_t *group = malloc((size_t)m * sizeof *group);
        double sum = 0, longest = 0;
        if (!fam || !cost || !group) {
            fprintf(stderr, "fmnist-grid: out of memory\n");
            exit_code = EXIT_RUNTIME;
        }
        for (int i = 0; exit_code == EXIT_OK && i < m; i++) {
            cost[i] = task_cost(g, cfg_of[i], n_train > 0 ? n_train : 1);
            group[i] = (int32_t)cfg_of[i];
            sum += sec[i];
            if (sec[i] > longest)
                longest = sec[i];
        }
        if (exit_code == EXIT_OK) {
            if (c->csv)
                printf("ranks,makespan_s,bound_s,ratio\n");
            else
                printf("%s: %d of %lld tasks recorded, %.1f s of work, longest %.1f s%s\n"
                       "%8s %12s %12s %8s\n", dir, m, (long long)total, sum, longest,
                       m < total ? " (unrecorded tasks left out)" : "",
                       "ranks", "makespan s", "bound s", "ratio");
        }
        for (int r = 0; exit_code == EXIT_OK && r < nr; r++) {
            double ms = 0;
            if (dsp_simulate(m, cost, group, (int)nc, fam, sec, ranks[r], &ms, &err)) {
                print_error(err.msg);
                exit_code = EXIT_RUNTIME;
                break;
            }
            double bound = fmax(sum / ranks[r], longest);
            if (c->csv)
                printf("%d,%.3f,%.3f,%.4f\n", ranks[r], ms, bound, bound > 0 ? ms / bound : 1.0);
            else
                printf("%8d %12.1f %12.1f %8.3f\n", ranks[r], ms, bound, bound > 0 ? ms / bound : 1.0);
        }
        if (exit_code == EXIT_OK && !c->csv && !isnan(refit))
            printf("refit: %.1f s more, less what runs early on ranks waiting for the last folds\n", refit);
        if (exit_code == EXIT_OK && !c->csv && rs.h.base_configs > 0) /* base.c: before any task */
            printf("frozen base: %.1f s more, once per node before the tasks (the tasks above train "
                   "the heads of %d configuration%s)\n", rs.h.base_seconds, rs.h.base_configs,
                   rs.h.base_configs == 1 ? "" : "s");
        free(fam), free(cost), free(group);
    }
out:
    free(sec), free(cfg_of), free(key);
    results_free(&rs);
    grid_free(g);
    return exit_code;
}

/* ---- the results directory: options recorded, refusal, lock, a lost model ------------- */

/* The journal a search with c's options writes in dir. */
static void journal_path_of(const cli *c, const char *dir, char *buf, size_t n)
{
    if (c->n_shards)
        snprintf(buf, n, "%s/journal.shard-%d-of-%d.jsonl", dir, c->shard, c->n_shards);
    else
        snprintf(buf, n, "%s/journal.jsonl", dir);
}

/* Continuing a journal (--resume DIR, or --out DIR holding this run's journal): every
 * setting that changes results and was not given on the command line comes from the
 * journal's header (seed, cv seed, subset, BLAS threads, refit, data directory); one given
 * with another value is refused with one line naming the option and both values. A
 * different --data is not a conflict: the data's checksums decide. *threads and data_dir
 * receive what to run with. Returns -1 to go on, or an exit status. */
static int adopt_recorded(const cli *c, grid_options *o, int32_t *threads, char *data_dir, size_t dd_len)
{
    *threads = c->threads;
    snprintf(data_dir, dd_len, "%s", resolve_data_dir(c, o));
    char jp[4200];
    struct stat st;
    if (!c->out_dir)
        return -1;
    journal_path_of(c, c->out_dir, jp, sizeof jp);
    jnl_header *h = malloc(sizeof *h);
    fg_err err;
    if (!h) {
        print_error("out of memory");
        return EXIT_RUNTIME;
    }
    if (stat(jp, &st) != 0 || !S_ISREG(st.st_mode) || jnl_read_header(jp, h, &err)) {
        free(h); /* no journal to continue (a damaged one is refused later, with the reason) */
        return -1;
    }
    char what[256] = "";
    if (c->seed_set && (uint64_t)c->seed != h->seed)
        snprintf(what, sizeof what, "seed %lld, recorded %llu (--seed %lld given", c->seed,
                 (unsigned long long)h->seed, c->seed);
    else if (c->subset >= 0 && c->subset != h->subset)
        snprintf(what, sizeof what, "subset %lld, recorded %d%s (--subset %lld given", c->subset, h->subset,
                 h->subset ? "" : " = all images", c->subset);
    else if (c->threads_set && h->threads > 0 && c->threads != h->threads)
        snprintf(what, sizeof what, "%d BLAS threads, recorded %d (--threads %d given; threads change "
                 "results in the last bits", c->threads, h->threads, c->threads);
    if (what[0]) {
        fprintf(stderr, "fmnist-grid: %s: holds a different search, not resumed: %s; leave the option out to "
                        "continue the recorded search, or give another --out DIR)\n", c->out_dir, what);
        free(h);
        return EXIT_INPUT;
    }
    o->seed = h->seed;
    o->cv_seed = h->cv_seed;
    o->subset = h->subset;
    if (h->in_h > 0) /* the recorded input (use_data checks the data and the grid against it) */
        o->in_h = h->in_h, o->in_w = h->in_w, o->in_c = h->in_c, o->shape_given = 1;
    if (h->classes > 0)
        o->classes = h->classes;
    if (h->threads > 0)
        *threads = h->threads;
    if (h->refit >= 0 && !c->no_refit)
        o->refit = h->refit;
    if (!c->data_dir && h->data_dir[0] && stat(h->data_dir, &st) == 0 && S_ISDIR(st.st_mode))
        snprintf(data_dir, dd_len, "%s", h->data_dir);
    free(h);
    return -1;
}

/* Before anything is written into s->dir: refuse a directory that is neither empty nor a
 * search of this grid (this run's journal, or a grid.yaml with the same bytes), create it,
 * and lock the journal this run writes (shards of one directory lock different journals
 * and may run at once). Returns -1 to go on, or an exit status after one line. */
static int claim_out_dir(search *s, const char *gt, size_t tl, const char *gp)
{
    fg_err err;
    int st = od_dir_state(s->dir);
    if (st == OD_NOT_DIR) {
        fprintf(stderr, "fmnist-grid: %s: exists and is not a directory; give another --out DIR\n", s->dir);
        return EXIT_INPUT;
    }
    if (st == OD_FILES && access(s->journal_path, F_OK) != 0 &&
        (access(gp, F_OK) != 0 || place_grid_copy_would_clash(gt, tl, gp))) {
        if (access(gp, F_OK) == 0)
            fprintf(stderr, "fmnist-grid: %s: holds another grid file; this run belongs to a different search "
                            "(give another --out DIR)\n", gp);
        else
            fprintf(stderr, "fmnist-grid: %s: not empty and not a search of this grid (no journal, no same "
                            "grid.yaml); nothing written: give an empty or new --out DIR\n", s->dir);
        return EXIT_INPUT;
    }
    if (make_dirs(s->dir, &err)) {
        print_error(err.msg);
        return EXIT_RUNTIME;
    }
    char lp[4300];
    snprintf(lp, sizeof lp, "%s.lock", s->journal_path);
    s->lock_fd = od_lock_take(lp, &err);
    if (s->lock_fd == -2) {
        fprintf(stderr, "fmnist-grid: %s: another fmnist-grid is writing this search (%s); wait for it to "
                        "end, or stop it (kill -USR1 saves its work), then resume\n", s->dir, err.msg);
        return EXIT_INPUT;
    }
    if (s->lock_fd < 0) {
        print_error(err.msg);
        return EXIT_RUNTIME;
    }
    return -1;
}

/* Appends the end of this run's session record (its wall time, the ranks that trained). A
 * failure is not reported: every result is already in the journal, the report then says
 * that the session recorded no end, and a full disk is reported once, by what fails next. */
static void end_session(search *s, const sched_stats *st, int interrupted, double t_start)
{
    if (!s->journal || !s->session_written)
        return;
    fg_err err;
    s->session.ended = 1;
    s->session.interrupted = interrupted;
    s->session.workers = st->workers;
    s->session.wall_time = fg_now() - t_start;
    jnl_append_session(s->journal, &s->session, &err);
}

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

static int run_search(int argc, char **argv, const cli *c)
{
    int rank = sched_rank(), size = sched_size();
    fg_err err;
    setup_msg sm;
    memset(&sm, 0, sizeof sm);
    sm.status = -1;
    grid *g = NULL;
    prepared pd;
    memset(&pd, 0, sizeof pd);
    char *text = NULL;
    size_t text_len = 0;
    double t_start = fg_now();
    fault_plan faults = fault_from_env();
    uint64_t *arch_key = NULL; /* rank 0: per configuration, its architecture's key */
    defer_signals(1);
    snprintf(g_stop_note, sizeof g_stop_note, " during start-up, before any task ran (nothing to lose)");
    defer_signals(0);

    /* Rank 0 validates everything before anything is sent. The grid copy of a results
     * directory (--resume DIR) is read as the other files read back are: a regular file
     * of bounded size, never a FIFO that would block. */
    if (rank == 0) {
        int bad_grid;
        if (c->resume_grid[0] && c->grid_path == c->resume_grid) {
            char *copy = NULL;
            size_t copy_len = 0;
            bad_grid = fg_read_file(c->grid_path, RPT_GRID_TEXT_MAX, "grid file", &copy, &copy_len, &err) ||
                       grid_load_string(copy, copy_len, c->grid_path, &g, &err);
            free(copy);
        } else {
            bad_grid = grid_load_file(c->grid_path, &g, &err);
        }
        if (bad_grid) {
            print_error(err.msg);
            sm.status = EXIT_INPUT;
        } else {
            grid_options *o = grid_opts(g);
            if (c->seed_set) {
                o->seed = (uint64_t)c->seed;
                if (!o->cv_seed_set)
                    o->cv_seed = o->seed;
            }
            if (c->subset >= 0)
                o->subset = (int)c->subset;
            if (c->no_refit)
                o->refit = 0;
            if (c->dry_run)
                sm.status = dry_run(g);
        }
        if (sm.status < 0) /* continuing a journal: what it records, unless given */
            sm.status = adopt_recorded(c, grid_opts(g), &sm.threads, sm.data_dir, sizeof sm.data_dir);
        if (sm.status < 0) {
            const grid_options *o = grid_opts_c(g);
            if (prepare(g, c->subset >= 0 ? FROM_CLI : FROM_GRID, sm.data_dir, o->refit, &pd, &err)) {
                print_error(err.msg);
                sm.status = EXIT_INPUT;
            }
        }
        if (sm.status < 0) {
            const grid_options *o = grid_opts_c(g);
            /* Re-check every configuration against the real image shape, and refuse one
             * whose memory need is absurd for this machine before any work starts. */
            nn_net_desc *d = malloc(sizeof *d);
            nn_layer_info *info = malloc(NN_MAX_LAYERS * sizeof *info);
            arch_key = malloc((size_t)grid_n_configs(g) * sizeof *arch_key);
            double phys = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
            task_wcache *wcheck = NULL; /* the weights files, read once for the check */
            if (!d || !info || !arch_key) {
                fprintf(stderr, "fmnist-grid: out of memory checking the configurations\n");
                sm.status = EXIT_RUNTIME;
            }
            for (int64_t i = 0; d && info && arch_key && i < grid_n_configs(g) && sm.status < 0; i++) {
                nn_train_desc t;
                int64_t np = 0;
                if (grid_config_build_data(g, i, d, &t, &err) ||
                    nn_desc_check(d, info, &np, NULL, &err) ||
                    task_check_weights(tctx_check_wc(&wcheck), g, i, d, &err)) {
                    print_error(err.msg);
                    sm.status = EXIT_INPUT;
                    break;
                }
                arch_key[i] = fg_hash_mix((uint64_t)np, (uint64_t)d->n_layers);
                double need = task_memory(d, info, np, &t);
                if (phys > 0 && need > phys) {
                    fprintf(stderr, "fmnist-grid: %s: configuration %lld (%s) needs about %.1f GiB per rank "
                                    "(%lld parameters, batch size %d), more than this machine's %.1f GiB\n",
                            c->grid_path, (long long)i, grid_config_params(g, i), need / 1073741824.0,
                            (long long)np, t.batch_size, phys / 1073741824.0);
                    sm.status = EXIT_INPUT;
                }
            }
            free(d);
            free(info);
            task_wcache_free(wcheck);
            sm.subset = o->subset;
            sm.seed = o->seed;
            sm.cv_seed = o->cv_seed;
            sm.has_seed = 1;
            sm.folds_checksum = pd.folds_checksum;
            sm.crc_images = pd.train.images_crc32;
            sm.crc_labels = pd.train.labels_crc32;
            text = (char *)grid_text(g, &text_len);
        }
    }
    if (sched_bcast(&sm, sizeof sm, &err))
        return EXIT_RUNTIME;
    if (sm.status >= 0) {
        grid_free(g);
        prepared_free(&pd);
        free(arch_key);
        return sm.status;
    }
    if (sched_bcast_blob(&text, &text_len, &err))
        return EXIT_RUNTIME;
    nn_gemm_set_threads(sm.threads);

    /* Workers rebuild the same grid, data, subset and folds, and check they agree. The
     * images are held once per node (every rank takes part, even one that failed). */
    int worker_ok = 1;
    char why[FG_ERR_MAX + 4200] = "";
    int grid_ok = 1;
    if (rank != 0) {
        if (grid_load_string(text, text_len, c->grid_path, &g, &err)) {
            worker_ok = grid_ok = 0;
            snprintf(why, sizeof why, "%s", err.msg);
        } else {
            grid_options *o = grid_opts(g);
            o->seed = sm.seed;
            o->cv_seed = sm.cv_seed;
            o->subset = sm.subset;
            if (c->no_refit)
                o->refit = 0;
        }
        free(text);
        text = NULL;
    }
    int want_test = grid_ok && grid_opts_c(g)->refit;
    if (sched_bcast(&want_test, sizeof want_test, &err)) /* rank 0's word */
        return EXIT_RUNTIME;
    int shared_rc = share_data(&pd, sm.data_dir, want_test, &err);
    share_data_report(c->quiet);
    if (shared_rc) {
        worker_ok = 0;
        snprintf(why, sizeof why, "%s", err.msg);
    } else if (rank != 0 && grid_ok) {
        if (use_data(g, &pd, &err) || derive_folds(g, &pd, &err)) {
            worker_ok = 0;
            snprintf(why, sizeof why, "%s", err.msg);
        } else if (pd.folds_checksum != sm.folds_checksum || pd.train.images_crc32 != sm.crc_images ||
                   pd.train.labels_crc32 != sm.crc_labels) {
            worker_ok = 0;
            snprintf(why, sizeof why, "its data in %s differ from rank 0's (checksums)", sm.data_dir);
        }
    }
    if (!grid_ok) { /* cannot go on without a grid: say so to rank 0 and stop */
        worker_ok = 0;
    }
    const grid_options *o = grid_opts_c(g);

    task_ctx tctx;
    memset(&tctx, 0, sizeof tctx);
    if (worker_ok && task_ctx_init(&tctx, g, &pd.train, pd.idx, pd.fold_of, pd.n, &err)) {
        worker_ok = 0;
        snprintf(why, sizeof why, "%s", err.msg);
    }
    base_set *bases = NULL; /* the frozen bases, computed once per node (base.c) */
    if (base_setup(g, &pd.train, pd.idx, pd.n, want_test ? &pd.test : NULL, worker_ok, c->quiet, &bases, &err)) {
        worker_ok = 0;
        snprintf(why, sizeof why, "%s", err.msg);
    }
    tctx.bases = bases;
    tctx.rank = rank;
    gethostname(tctx.host, sizeof tctx.host - 1);
    /* Every rank's host, for the session record: which hosts ran how many ranks. */
    char hosts[JNL_SESSION_TEXT] = "";
    {
        char mine[JNL_HOST_MAX];
        memset(mine, 0, sizeof mine);
        snprintf(mine, sizeof mine, "%s", tctx.host);
        char *all = rank == 0 ? calloc((size_t)size, JNL_HOST_MAX) : NULL;
        if (rank == 0 && !all) {
            print_error("out of memory gathering the ranks' host names");
            sched_abort(EXIT_RUNTIME);
        }
        if (sched_gather(mine, JNL_HOST_MAX, all, &err) == 0 && rank == 0)
            summarize_hosts(all, size, hosts, sizeof hosts);
        free(all);
    }

    /* Rank 0: results directory, grid copy, journal, task order. */
    search s;
    memset(&s, 0, sizeof s);
    s.lock_fd = -1;
    int exit_code = EXIT_OK;
    int32_t *order = NULL;
    char started[32];
    utc_stamp(started, sizeof started, 0);
    if (rank == 0) {
        s.g = g;
        s.c = c;
        s.n_configs = grid_n_configs(g);
        s.folds = o->folds;
        s.n_tasks = (int)(s.n_configs * o->folds);
        s.best_config = -1;
        s.fault = faults;
        s.tty = isatty(2);
        s.t_start = t_start;
        if (c->out_dir) {
            snprintf(s.dir, sizeof s.dir, "%s", c->out_dir);
        } else {
            char stamp[32];
            utc_stamp(stamp, sizeof stamp, 1);
            snprintf(s.dir, sizeof s.dir, "results/%s-%s", o->name, stamp);
        }
        if (c->n_shards)
            snprintf(s.journal_path, sizeof s.journal_path, "%s/journal.shard-%d-of-%d.jsonl", s.dir,
                     c->shard, c->n_shards);
        else
            snprintf(s.journal_path, sizeof s.journal_path, "%s/journal.jsonl", s.dir);
        char gp[4200];
        snprintf(gp, sizeof gp, "%s/grid.yaml", s.dir);
        size_t tl;
        const char *gt = grid_text(g, &tl);
        jnl_header h;
        memset(&h, 0, sizeof h);
        snprintf(h.grid_name, sizeof h.grid_name, "%s", o->name);
        h.grid_hash = fg_hash_bytes(gt, tl, 0);
        h.n_configs = s.n_configs;
        h.folds = o->folds;
        h.seed = o->seed;
        h.cv_seed = o->cv_seed;
        h.subset = o->subset;
        h.folds_checksum = pd.folds_checksum;
        h.train_images_crc32 = pd.train.images_crc32;
        h.train_labels_crc32 = pd.train.labels_crc32;
        h.threads = sm.threads;
        h.refit = o->refit;
        h.in_h = o->in_h, h.in_w = o->in_w, h.in_c = o->in_c, h.classes = o->classes; /* written if not 28x28x1, 10 */
        base_header(bases, &h);
        od_abs_path(sm.data_dir, h.data_dir, sizeof h.data_dir); /* a resume may start elsewhere */
        s.cost = malloc((size_t)s.n_tasks * sizeof *s.cost);
        order = malloc((size_t)s.n_tasks * sizeof *order);
        s.sum = calloc((size_t)s.n_configs, sizeof *s.sum);
        s.cnt = calloc((size_t)s.n_configs, sizeof *s.cnt);
        s.bad = calloc((size_t)s.n_configs, sizeof *s.bad);
        char *done_task = calloc((size_t)s.n_tasks, 1);
        s.refit_state = calloc((size_t)s.n_configs, 1);
        s.final_best = -2;
        s.model_config = -1;
        s.test = &pd.test;
        s.n_searched = pd.n;
        s.n_workers = g_workerkill && size > 1 ? size - 1 : size;
        int resuming = 0, session_no = 1;
        struct stat jst;
        int claim = claim_out_dir(&s, gt, tl, gp);
        if (claim >= 0) {
            exit_code = claim; /* refused or not created: said in one line, nothing written */
        } else if (!s.cost || !order || !s.sum || !s.cnt || !s.bad || !done_task || !s.refit_state) {
            fprintf(stderr, "fmnist-grid: out of memory\n");
            exit_code = EXIT_RUNTIME;
        } else if (stat(s.journal_path, &jst) == 0) {
            /* A journal is there: continue that search if it is this one. Its header is
             * compared first, then every record is checked against it and the grid (a
             * record that fails is skipped with a warning, and its task runs again). */
            jnl_header was;
            jnl_contents jc;
            memset(&jc, 0, sizeof jc);
            char why_not[1024];
            size_t cl;
            char *copy = NULL;
            grid *gcopy = NULL;
            if (jnl_read_header(s.journal_path, &was, &err)) {
                fprintf(stderr, "fmnist-grid: %s: cannot resume: %s\n", s.dir, err.msg);
                exit_code = EXIT_INPUT;
            } else if (was.grid_hash != h.grid_hash && c->resume_grid[0] && !strcmp(c->grid_path, gp)) {
                /* --resume DIR without a grid: DIR/grid.yaml itself was edited */
                grid_copy_matches(gp, g, &was, s.journal_path, &err);
                print_error(err.msg);
                exit_code = EXIT_INPUT;
            } else if (!same_search(&was, &h, why_not, sizeof why_not)) {
                fprintf(stderr, "fmnist-grid: %s: holds a different search, not resumed: %s\n", s.dir, why_not);
                exit_code = EXIT_INPUT;
            } else if (access(gp, F_OK) == 0 &&
                       (fg_read_file(gp, RPT_GRID_TEXT_MAX, "grid file", &copy, &cl, &err) ||
                        grid_load_string(copy, cl, gp, &gcopy, &err) ||
                        grid_copy_matches(gp, gcopy, &was, s.journal_path, &err))) {
                /* the grid given matches, but DIR/grid.yaml (what `report DIR` reads) does not */
                print_error(err.msg);
                exit_code = EXIT_INPUT;
            } else if (access(gp, F_OK) != 0 && copy_file(gt, tl, gp, &err)) {
                print_error(err.msg); /* a shard directory without its grid copy: restore it */
                exit_code = EXIT_RUNTIME;
            } else if (load_journal(s.journal_path, g, &jc, &err)) {
                fprintf(stderr, "fmnist-grid: %s: cannot resume: %s\n", s.dir, err.msg);
                exit_code = EXIT_INPUT;
            } else if (jnl_open_append(s.journal_path, &s.journal, &err)) {
                print_error(err.msg);
                exit_code = EXIT_RUNTIME;
            } else {
                resuming = 1;
                warn_skipped(s.journal_path, &jc);
                session_no = next_session_number(jc.s, jc.n_sessions, NULL);
                const jnl_entry *e = jc.e;
                int n = jc.n;
                for (int i = 0; i < n; i++) {
                    const jnl_entry *x = &e[i];
                    if (x->fold == JNL_REFIT && x->config >= 0 && x->config < s.n_configs)
                        s.refit_state[x->config] = 2; /* refitted before: not again */
                    if (x->fold < 0 || x->config < 0 || x->config >= s.n_configs || x->fold >= o->folds)
                        continue;
                    int t = x->config * o->folds + x->fold;
                    if (done_task[t])
                        continue; /* never counted twice */
                    done_task[t] = 1;
                    s.done++;
                    if (x->status == NN_STATUS_OK) {
                        s.sum[x->config] += x->val_acc;
                        s.cnt[x->config]++;
                    } else {
                        s.bad[x->config]++;
                        s.failed++;
                    }
                }
            }
            free(copy);
            grid_free(gcopy);
            jnl_contents_free(&jc);
        } else if (c->resume_dir) {
            fprintf(stderr, "fmnist-grid: %s: nothing to resume (no journal.jsonl)\n", s.dir);
            exit_code = EXIT_INPUT;
        } else if (!c->n_shards && !dir_is_unused(s.dir)) {
            fprintf(stderr, "fmnist-grid: %s: already holds files of a search; give another --out DIR\n", s.dir);
            exit_code = EXIT_INPUT;
        } else if (c->n_shards && place_grid_copy_would_clash(gt, tl, gp)) {
            fprintf(stderr, "fmnist-grid: %s: holds another grid file; this shard belongs to a different "
                            "search (give another --out DIR)\n", gp);
            exit_code = EXIT_INPUT;
        } else {
            /* A signal now waits until the directory is complete: never half-made. */
            defer_signals(1);
            if (make_dirs(s.dir, &err) || place_grid_copy(gt, tl, gp, c->n_shards > 0, &err) ||
                jnl_create(s.journal_path, &h, &s.journal, &err)) {
                print_error(err.msg);
                exit_code = EXIT_RUNTIME;
            }
            defer_signals(0);
        }
        if (exit_code == EXIT_OK) {
            /* From here a signal before the first task leaves DIR set up, without records. */
            defer_signals(1);
            snprintf(g_stop_note, sizeof g_stop_note,
                     " during start-up, before any task ran; %s is set up: continue with: fmnist-grid --resume %s",
                     s.dir, s.dir);
            defer_signals(0);
        }
        if (exit_code == EXIT_OK) {
            int n_train = cv_n_train(pd.n, o->folds, o->validation_split);
            for (int64_t ci = 0; ci < s.n_configs; ci++) {
                double cc = task_cost(g, ci, n_train);
                for (int f = 0; f < o->folds; f++) {
                    s.cost[ci * o->folds + f] = cc;
                    s.cost_total += cc;
                    if (done_task[ci * o->folds + f])
                        s.cost_done += cc;
                }
            }
            for (int i = 0; i < s.n_configs; i++)
                if (s.cnt[i] == s.folds && !s.bad[i] &&
                    (s.best_config < 0 || s.sum[i] / s.folds > s.best_mean)) {
                    s.best_mean = s.sum[i] / s.folds;
                    s.best_config = i;
                }
            int *shard_of = c->n_shards ? assign_shards(s.cost, s.n_tasks, c->n_shards) : NULL;
            if (c->n_shards && !shard_of) {
                fprintf(stderr, "fmnist-grid: out of memory\n");
                exit_code = EXIT_RUNTIME;
            }
            int mine = 0;
            for (int i = 0; i < s.n_tasks; i++) {
                if (shard_of && shard_of[i] != c->shard)
                    continue;
                mine++;
                if (!done_task[i])
                    order[s.n_pending++] = i;
            }
            free(shard_of);
            s.n_shown = mine; /* progress counts this shard's tasks only */
            if (c->n_shards) {
                s.cost_total = s.cost_done = 0;
                int *so = assign_shards(s.cost, s.n_tasks, c->n_shards);
                for (int i = 0; so && i < s.n_tasks; i++)
                    if (so[i] == c->shard) {
                        s.cost_total += s.cost[i];
                        if (done_task[i])
                            s.cost_done += s.cost[i];
                    }
                free(so);
            }
            int32_t *fam = families_of(arch_key, (int32_t)s.n_configs);
            s.queue = fam ? make_queue(s.cost, s.n_tasks, o->folds, fam, (int32_t)s.n_configs, order,
                                       s.n_pending, &err)
                          : NULL;
            if (!s.queue) {
                print_error(fam ? err.msg : "out of memory for the dispatch queue");
                exit_code = EXIT_RUNTIME;
            }
            free(fam);
            /* The refit runs inside the scheduler (early on a waiting rank when it can)
             * unless this is a shard (the report command refits) or ids would overflow. */
            s.refit_in_sched = o->refit && !c->n_shards && s.n_tasks + s.n_configs <= INT32_MAX;
            if (!c->quiet) {
                fprintf(stderr, "fmnist-grid: %s: %lld configuration%s x %d folds = %d tasks on %d rank%s, "
                                "%d images per fold; results in %s\n",
                        o->name, (long long)s.n_configs, s.n_configs == 1 ? "" : "s", o->folds, s.n_tasks, size,
                        size > 1 ? "s" : "",
                        pd.n - cv_n_train(pd.n, o->folds, o->validation_split), s.dir);
                if (c->n_shards)
                    fprintf(stderr, "fmnist-grid: shard %d of %d: %d tasks\n", c->shard, c->n_shards, mine);
                if (resuming)
                    fprintf(stderr, "fmnist-grid: resuming: %d of %d tasks are in the journal, %d to run\n",
                            s.done, s.n_shown, s.n_pending);
            }
        }
        free(done_task);
        /* This run is a session of the journal: its environment is recorded before its first
         * record (ensure_session), so that a report written later (`report DIR`) keeps it. */
        if (exit_code == EXIT_OK) {
            char cmd[4096], role[32];
            join_argv(argc, argv, cmd, sizeof cmd);
            if (c->n_shards)
                snprintf(role, sizeof role, "shard %d/%d", c->shard, c->n_shards);
            else
                snprintf(role, sizeof role, "%s", resuming ? "search (resumed)" : "search");
            fill_session(&s.session, session_no, role, cmd, tctx.host, hosts, started, sm.data_dir, size,
                         sm.threads, &pd);
        }
    }
    /* Everyone learns whether rank 0 could set up. */
    int32_t go = exit_code == EXIT_OK ? -1 : exit_code;
    if (sched_bcast(&go, sizeof go, &err))
        go = EXIT_RUNTIME;
    sched_stats st;
    memset(&st, 0, sizeof st);
    /* Every rank learns how many tasks there are: refit tasks are numbered after them. */
    int32_t n_tasks_all = rank == 0 ? s.n_tasks : 0;
    if (go < 0 && sched_bcast(&n_tasks_all, sizeof n_tasks_all, &err))
        go = EXIT_RUNTIME;
    worker wk = {&tctx, &pd.test, n_tasks_all, NULL};
    startup_fault("dir", rank == 0 && go < 0);
    signals_graceful(); /* the search loop starts: a signal is noted, running tasks may finish */
    if (go < 0) {
        sched_plan plan;
        memset(&plan, 0, sizeof plan);
        plan.next = on_next;
        plan.left = on_left;
        plan.result_bytes = sizeof(jnl_record);
        plan.worker_ok = worker_ok;
        plan.worker_why = why;
        /* With FG_FAULT=workerkill:N rank 0 only coordinates, so that the worker ranks are
         * sure to run tasks and one of them reaches its N-th. */
        plan.local_worker = g_workerkill == 0 || size == 1;
        plan.work = work_fn;
        plan.done = on_done;
        plan.stop = on_stop;
        plan.abandon = on_abandon;
        plan.lost = on_lost;
        plan.ctx = &wk;
        plan.ctx0 = &s;
        if (sched_run(&plan, &st, &err)) {
            if (rank == 0) {
                if (s.tty && !c->quiet)
                    fputc('\n', stderr);
                fprintf(stderr, "fmnist-grid: %s%s%s\n", err.msg, s.fatal ? ": " : "", s.fatal ? s.err.msg : "");
            }
            exit_code = EXIT_RUNTIME;
        }
    } else {
        exit_code = go;
    }

    /* A shard only records its tasks: `fmnist-grid report DIR` merges, refits and reports. */
    if (rank == 0 && go < 0 && c->n_shards) {
        if (s.tty && !c->quiet && s.done)
            fputc('\n', stderr);
        end_session(&s, &st, st.stopped || g_signal, t_start);
        if (st.stopped || g_signal) {
            fprintf(stderr, "fmnist-grid: shard %d/%d interrupted by signal %d; re-run the same command to "
                            "continue it\n", c->shard, c->n_shards, (int)g_signal);
            if (exit_code == EXIT_OK)
                exit_code = EXIT_INTERRUPTED;
        } else if (exit_code == EXIT_OK) {
            fprintf(stderr, "fmnist-grid: shard %d/%d done (%d tasks, %d failed); when every shard is done: "
                            "fmnist-grid report %s\n", c->shard, c->n_shards, s.done, s.failed, s.dir);
            printf("%s\n", s.journal_path);
        }
    }
    /* Rank 0: refit the best configuration and write the reports, from the journal. */
    if (rank == 0 && go < 0 && !c->n_shards) {
        if (s.tty && !c->quiet && s.done)
            fputc('\n', stderr);
        int interrupted = st.stopped || g_signal;
        jnl_contents jc;
        memset(&jc, 0, sizeof jc);
        if (load_journal(s.journal_path, g, &jc, &err)) {
            print_error(err.msg);
            exit_code = EXIT_RUNTIME;
        } else {
            const jnl_entry *e = jc.e;
            int n = jc.n;
            rpt_config *agg = NULL;
            double *sp = NULL;
            int64_t best = -1;
            if (rpt_aggregate(e, n, s.n_configs, o->folds, &agg, &sp, &err) == 0) {
                rpt_costs(g, agg, s.n_configs); /* ties in the mean go to the cheaper network */
                best = rpt_best(agg, s.n_configs);
            }
            free(agg);
            free(sp);
            int have_refit = 0; /* done by the scheduler, or before a resume */
            const jnl_entry *refit_entry = NULL;
            for (int i = 0; i < n; i++)
                if (e[i].fold == JNL_REFIT && e[i].config == best) {
                    have_refit = 1;
                    refit_entry = &e[i];
                }
            /* After a failed write (one line said so) nothing more is written. */
            int stop = s.fatal;
            int saved = 1;
            if (!stop && have_refit && best == s.model_config && s.model_params && refit_entry &&
                refit_entry->status == NN_STATUS_OK)
                saved = save_model_params(s.dir, g, best, s.model_params, s.model_n, refit_entry);
            if (saved < 0) {
                stop = 1;
                exit_code = EXIT_RUNTIME;
            } else if (!stop && !interrupted && have_refit && o->refit &&
                       rebuild_model(s.dir, g, best, refit_entry, worker_ok ? &tctx : NULL, &pd.test, c->quiet) < 0) {
                stop = 1; /* the journaled refit's model.fgm was lost: rebuilt, or said why not */
                exit_code = EXIT_RUNTIME;
            }
            if (!stop && !interrupted && exit_code == EXIT_OK && o->refit && best >= 0 && worker_ok && !have_refit) {
                if (!c->quiet)
                    fprintf(stderr, "fmnist-grid: refitting configuration %lld (%s) on %d images\n",
                            (long long)best, grid_config_params(g, best), pd.n);
                jnl_record *rr = malloc(sizeof *rr);
                nn_net *net = NULL;
                if (rr && task_refit(&tctx, best, &pd.test, rr, &net) == 0) {
                    if (net && save_model(s.dir, g, best, net, rr))
                        stop = 1;
                    nn_net_free(net);
                    rr->e.rank = 0;
                    if (stop) {
                        exit_code = EXIT_RUNTIME;
                    } else if (ensure_session(&s, &err) || jnl_append(s.journal, rr, grid_config_params(g, best), &err)) {
                        print_error(err.msg);
                        stop = 1;
                        exit_code = EXIT_RUNTIME;
                    } else if (!c->quiet) {
                        if (rr->e.status == NN_STATUS_OK)
                            fprintf(stderr, "fmnist-grid: refit: test accuracy %.4f (%d images), %.1f s\n",
                                    rr->e.test_acc, pd.test.n, rr->e.fit_time);
                        else
                            fprintf(stderr, "fmnist-grid: refit %s: %s\n",
                                    nn_status_name((nn_status)rr->e.status), rr->e.msg);
                    }
                }
                free(rr);
            }
            if (s.fault.kill_before_report)
                raise(SIGKILL); /* FG_FAULT=kill:report: everything is journaled, no report yet */
            /* The session's end, then the journal once more: the report is the journal's.
             * After a failed write (said in one line) nothing more is written. */
            if (!stop)
                end_session(&s, &st, interrupted, t_start);
            jnl_contents_free(&jc);
            if (!stop && load_journal(s.journal_path, g, &jc, &err)) {
                print_error(err.msg);
                exit_code = EXIT_RUNTIME;
            } else if (!stop) {
                rpt_env env;
                memset(&env, 0, sizeof env);
                char cmd[4096], host[64] = "";
                join_argv(argc, argv, cmd, sizeof cmd);
                gethostname(host, sizeof host - 1);
                env.version = FG_VERSION;
                env.git_rev = FG_GIT_REV;
                env.compiler = FG_COMPILER;
                env.mpi = sched_mpi_version();
                env.blas = nn_gemm_backend();
                env.command_line = cmd;
                env.host = host;
                env.started_utc = started;
                env.data_dir = sm.data_dir;
                env.ranks = size;
                env.threads = sm.threads;
                env.workers = st.workers;
                env.wall_time = fg_now() - t_start;
                env.train_images_crc32 = pd.train.images_crc32;
                env.train_labels_crc32 = pd.train.labels_crc32;
                env.test_images_crc32 = pd.test.images_crc32;
                env.test_labels_crc32 = pd.test.labels_crc32;
                env.n_train_total = pd.train.n;
                env.n_test = pd.test.n;
                env.interrupted = interrupted;
                jnl_sort_sessions(jc.s, jc.n_sessions, jc.e, jc.n);
                env.sessions = jc.s;
                env.n_sessions = jc.n_sessions;
                env_weights(&env, g);
                fg_err plot_warning; /* plots that cannot be drawn never fail a search */
                env.plot_warning = &plot_warning;
                if (rpt_write(s.dir, g, &jc.h, jc.e, jc.n, &env, s.journal_path, &err)) {
                    print_error(err.msg);
                    exit_code = EXIT_RUNTIME;
                } else if (plot_warning.msg[0] && !c->quiet) {
                    fprintf(stderr, "fmnist-grid: warning: %s\n", plot_warning.msg);
                }
            }
        }
        jnl_contents_free(&jc);
        if (interrupted && exit_code == EXIT_OK) {
            fprintf(stderr, "fmnist-grid: interrupted by signal %d after %d of %d tasks%s; partial report in %s; "
                            "continue with: fmnist-grid --resume %s\n",
                    (int)g_signal, s.done, s.n_tasks,
                    st.abandoned ? " (running tasks abandoned)" : "", s.dir, s.dir);
            exit_code = EXIT_INTERRUPTED;
        } else if (exit_code == EXIT_OK) {
            char el[32];
            fmt_hms(el, sizeof el, fg_now() - t_start);
            fprintf(stderr, "fmnist-grid: done in %s (%d tasks, %d failed)\n", el, s.done, s.failed);
            printf("%s/report.md\n", s.dir);
        }
    }
    jnl_close(s.journal);
    if (rank == 0)
        od_lock_release(s.lock_fd);
    if (st.abandoned) {
        /* Workers are still training tasks nobody will record: end every rank now. The
         * journal and the partial report are already durable. */
        fflush(stdout);
        if (size > 1 && !g_launcher_term) /* mpirun ending the job ends the others itself */
            sched_abort(exit_code);
        _exit(exit_code);
    }
    nn_net_free(wk.net);
    dsp_free(s.queue);
    free(s.cost), free(order), free(s.sum), free(s.cnt), free(s.bad), free(s.refit_state);
    free(s.model_params);
    free(arch_key);
    free(g_node0_pids);
    g_node0_pids = NULL;
    task_ctx_free(&tctx);
    base_free(bases);
    prepared_free(&pd);
    grid_free(g);
    return exit_code;
}

int main(int argc, char **argv)
{
    fg_err err;
    /* Library output goes through our own buffers; stderr stays unbuffered. */
    /* Before MPI starts: a signal during start-up (MPI's included) ends the process
     * with status 3 (nothing ran yet), never the default action's 130/143. */
    install_signals();
    if (sched_init(&argc, &argv, &err)) {
        print_error(err.msg);
        return EXIT_RUNTIME;
    }
    int rank = sched_rank();
    g_silent = rank != 0;
    cli c;
    int rc = parse_cli(argc, argv, &c, rank);
    if (rc < 0) {
        if (c.report_dir)
            rc = rank == 0 ? report_command(argc, argv, &c) : EXIT_OK;
        else if (c.compare)
            rc = rank == 0 ? compare_command(&c) : EXIT_OK;
        else if (c.fit)
            rc = rank == 0 ? fit_command(&c) : EXIT_OK;
        else if (c.reproduce)
            rc = rank == 0 ? reproduce_command(&c) : EXIT_OK;
        else if (c.predict)
            rc = rank == 0 ? predict_command(&c) : EXIT_OK;
        else if (c.simulate)
            rc = rank == 0 ? simulate_command(&c) : EXIT_OK;
        else
            rc = run_search(argc, argv, &c);
    }
    fflush(stdout);
    sched_finalize();
    return rc;
}
