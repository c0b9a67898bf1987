/* main.c - the command line: options, which command runs, and the exit status.
 *
 *   fmnist-grid [options] GRID.yaml     run a search (under mpirun or as one process)
 *   fmnist-grid report DIR              rewrite DIR's reports from its journal
 *   fmnist-grid compare DIR...          the best configurations of several searches
 *
 * Each command lives in its own file (cmd_*.c, cli.h). Exit status: 0 success, 1 runtime
 * failure, 2 bad usage or bad input, 3 interrupted by a signal (resumable). Only rank 0
 * prints and writes files. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "data.h"
#include "fg_sched.h"
#include "fg_util.h"
#include "finish.h"
#include "nn_gemm.h"
#include "outdir.h"
#include "signals.h"

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

/* --out / --resume checked before anything is created: -1 to go on, else EXIT_INPUT. */
static int check_out_option(const cli *c, int rank)
{
    fg_err err;
    /* --data too: the data directory is written into the journal and report.yaml. */
    if ((!c->out_dir || od_check_path(c->resume_dir ? "--resume" : "--out", c->out_dir, &err) == 0) &&
        (!c->data_dir || od_check_path("--data", c->data_dir, &err) == 0))
        return -1;
    if (!rank)
        fg_print_error(err.msg);
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

/* The options (getopt_long): into c, and seen[i] for option_table[i] given. Returns -1 to
 * continue, or an exit status (--help, --version, a bad value). Prints only on rank 0. */
static int parse_options(int argc, char **argv, cli *c, char *seen, int rank)
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
                fputs(cli_usage, stdout);
            return EXIT_OK;
        case 'V':
            if (!rank) {
                const char *version, *git_rev, *compiler;
                fin_build_info(&version, &git_rev, &compiler);
                printf("fmnist-grid %s (git %s, %s)\nMPI: %s\nBLAS: %s\n", version, git_rev,
                       compiler, sched_mpi_version(), nn_gemm_backend());
            }
            return EXIT_OK;
        default:
            if (!rank)
                fprintf(stderr, "fmnist-grid: unknown or incomplete option '%s' (see --help)\n",
                        argv[optind - 1]);
            return EXIT_INPUT;
        }
    }
    return -1;
}

/* The commands: name, argument count, usage, what it does (one line) and its function,
 * which runs on rank 0 only; without a command word, the arguments are a search's. */
static const struct {
    const char *name;
    int lo, hi;
    const char *usage, *help;
    unsigned bits; /* CMD_ bit: the options that apply */
    int (*run)(int argc, char **argv, const cli *c);
} commands[] = {
    {"report", 1, 1, "DIR", "merge DIR's journals, refit the best when due, write the reports", CMD_REPORT,
     cmd_report},
    {"compare", 1, INT32_MAX, "DIR [DIR...]", "the best configurations of several searches side by side",
     CMD_COMPARE, cmd_compare},
    {"simulate", 1, 1, "DIR [--ranks 16,64,256] [--csv]", "replay a search's task times for other rank counts",
     CMD_SIMULATE, cmd_simulate},
    {"predict", 1, 3, "MODEL [IMAGES [LABELS]] [--output FILE]", "classify IDX images with a model file",
     CMD_PREDICT, cmd_predict},
    {"reproduce", 1, 1, "DIR/report.yaml [--config K] [--verify]", "re-run a configuration of a report",
     CMD_REPRODUCE, cmd_reproduce},
    {"fit", 1, 1, "GRID.yaml [--config K]", "train one configuration on all the images, score it on the test set",
     CMD_FIT, cmd_fit},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

/* The command word at argv[optind] (rest arguments from there), if any: its arguments into
 * c (c->command its index). Returns -2 when there is none (a search), -1 to continue, or an
 * exit status. */
static int parse_command(int argc, char **argv, cli *c, const char *seen, int rank)
{
    int rest = argc - optind;
    for (size_t k = 0; rest >= 1 && k < N_COMMANDS; k++) {
        if (strcmp(argv[optind], commands[k].name))
            continue;
        if (rest - 1 < commands[k].lo || rest - 1 > commands[k].hi) {
            if (!rank)
                fprintf(stderr, "fmnist-grid: usage: fmnist-grid %s %s\n", commands[k].name, commands[k].usage);
            return EXIT_INPUT;
        }
        char **arg = argv + optind + 1;
        unsigned cmd = commands[k].bits;
        c->command = (int)k;
        switch (cmd) {
        case CMD_REPORT: c->report_dir = arg[0]; break;
        case CMD_COMPARE: c->compare = arg, c->n_compare = rest - 1; break;
        case CMD_SIMULATE: c->simulate = arg[0]; break;
        case CMD_PREDICT:
            c->predict = arg[0];
            c->pred_images = rest >= 3 ? arg[1] : NULL;
            c->pred_labels = rest >= 4 ? arg[2] : NULL;
            cmd = c->pred_images ? CMD_PREDICT_FILES : CMD_PREDICT;
            break;
        case CMD_REPRODUCE: c->reproduce = arg[0]; break;
        default: c->fit = 1, c->grid_path = arg[0]; break;
        }
        return check_options(seen, cmd, rank);
    }
    return -2;
}

/* Returns -1 to continue, or an exit status. Prints only on rank 0. */
static int parse_cli(int argc, char **argv, cli *c, int rank)
{
    char seen[N_OPTIONS] = {0};
    int rc = parse_options(argc, argv, c, seen, rank);
    if (rc >= 0)
        return rc;
    c->command = -1;
    rc = parse_command(argc, argv, c, seen, rank);
    if (rc != -2)
        return rc;
    int rest = argc - optind;
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

void cli_apply_seed_subset(const cli *c, grid_options *o)
{
    if (c->seed_set) {
        o->seed = (uint64_t)c->seed;
        if (!o->cv_seed_set)
            o->cv_seed = o->seed;
    }
    if (c->subset >= 0)
        o->subset = (int)c->subset;
}

const char *cli_data_dir(const cli *c, const grid_options *o)
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


int main(int argc, char **argv)
{
    fg_err err;
    /* Before MPI starts: a signal during start-up (MPI's included) ends the process
     * with status 3 (nothing ran yet), never the default action's 130/143. */
    signals_install();
    if (sched_init(&argc, &argv, &err)) {
        fg_print_error(err.msg);
        return EXIT_RUNTIME;
    }
    int rank = sched_rank();
    signals_silence(rank != 0);
    cli c;
    int rc = parse_cli(argc, argv, &c, rank);
    if (rc < 0 && c.command >= 0)
        rc = rank == 0 ? commands[c.command].run(argc, argv, &c) : EXIT_OK;
    else if (rc < 0)
        rc = cmd_search(argc, argv, &c);
    fflush(stdout);
    sched_finalize();
    return rc;
}
