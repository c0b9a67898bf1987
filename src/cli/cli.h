/* cli.h - the command line shared by the commands of src/cli: the parsed options (cli)
 * and the commands, one file each (cmd_*.c), called by main.c's table of commands. A
 * command returns the process's exit status (fg_msg.h: EXIT_OK, EXIT_RUNTIME, EXIT_INPUT,
 * EXIT_INTERRUPTED) after printing on stderr why, in one line. */
#ifndef CLI_H
#define CLI_H

#include "fg_msg.h"
#include "grid.h"

/* The options and arguments of the command line (parse_cli in main.c). */
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
    int command;            /* main.c's table of commands: its index; -1: a search */
} cli;

/* What --help prints (usage.c). */
extern const char cli_usage[];

/* The data directory: --data, then $FMNIST_DATA, then the grid's data.dir, then the
 * default. */
const char *cli_data_dir(const cli *c, const grid_options *o);

/* --seed (and the folds' seed with it unless the grid sets cv_seed) and --subset, when
 * given, over the grid's options o. */
void cli_apply_seed_subset(const cli *c, grid_options *o);

/* fmnist-grid [options] GRID.yaml: a search (every rank calls it; cmd_search.c). */
int cmd_search(int argc, char **argv, const cli *c);

/* --dry-run: configurations, tasks and model summaries of g; trains nothing (rank 0). */
int cmd_dry_run(grid *g);

/* A halving schedule in one line (the dry run, the search's plan): "factor 3, resource
 * epochs: iteration 0: 9 candidates x 3 epochs, 1: 3 x 9, 2: 1 x 27" (cmd_dry_run.c). */
void cmd_halving_schedule(const halv_schedule *sch, const grid_search *gs, char *buf, size_t n);

/* The commands run on rank 0 only (argc, argv: the command line, as recorded). */
int cmd_report(int argc, char **argv, const cli *c);    /* report DIR (cmd_report.c) */
int cmd_compare(int argc, char **argv, const cli *c);   /* compare DIR... (cmd_compare.c) */
int cmd_fit(int argc, char **argv, const cli *c);       /* fit GRID [--config K] (cmd_fit.c) */
int cmd_reproduce(int argc, char **argv, const cli *c); /* reproduce REPORT.yaml (cmd_reproduce.c) */
int cmd_predict(int argc, char **argv, const cli *c);   /* predict MODEL [IMAGES [LABELS]] */
int cmd_simulate(int argc, char **argv, const cli *c);  /* simulate DIR (cmd_simulate.c) */

#endif
