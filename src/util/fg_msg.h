/* fg_msg.h - what the program says and how: the exit statuses of every command, one error
 * line on stderr, and the small text formats of messages and records (durations, UTC
 * stamps, the command line). Only the command line and the coordinator (rank 0) call the
 * printing function. */
#ifndef FG_MSG_H
#define FG_MSG_H

#include <stddef.h>

/* Exit status: 0 success, 1 runtime failure, 2 bad usage or bad input, 3 interrupted by a
 * signal (resumable). */
enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_INPUT = 2, EXIT_INTERRUPTED = 3 };

/* Prints "fmnist-grid: MSG" as one line on stderr; control characters in msg (text quoted
 * from the user's files) are shown as \xNN, so an error never spans lines or drives the
 * terminal. */
void fg_print_error(const char *msg);

/* The current UTC time as "2026-11-30T07:00:00Z", or "20261130T070000Z" when compact. */
void fg_utc_stamp(char *buf, size_t n, int compact);

/* The command line argv[0..argc-1] as one string, arguments with spaces or quotes quoted. */
void fg_join_argv(int argc, char **argv, char *buf, size_t n);

/* s seconds as "H:MM:SS"; "--:--:--" for NaN, negative or absurd values. */
void fg_fmt_hms(char *buf, size_t n, double s);

#endif
