/* fg_msg.c - the program's error line and the small text formats of its messages (see
 * fg_msg.h). */
#define _POSIX_C_SOURCE 200809L
#include "fg_msg.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Prints one error line on stderr. Messages can quote text from the user's files, so
 * control characters (a newline, an escape sequence) are shown as \xNN: an error is always
 * exactly one line and never drives the terminal. */
void fg_print_error(const char *msg)
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


void fg_utc_stamp(char *buf, size_t n, int compact)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, compact ? "%Y%m%dT%H%M%SZ" : "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void fg_join_argv(int argc, char **argv, char *buf, size_t n)
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

void fg_fmt_hms(char *buf, size_t n, double s)
{
    if (isnan(s) || s < 0 || s > 1e8) {
        snprintf(buf, n, "--:--:--");
        return;
    }
    long t = (long)(s + 0.5);
    snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
}
