/* test_assert.c - FG_ASSERT and FG_ASSERT_MSG: silent when the condition holds (evaluated
 * once), and when it fails, one "FILE:LINE: assertion failed: COND" line on stderr and
 * abort(), whatever NDEBUG says. Each failure runs in a forked child (a death test). */
#define _POSIX_C_SOURCE 200809L
#ifndef NDEBUG
#define NDEBUG /* the assertion must not depend on it */
#endif
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "fg_util.h"

/* Runs fn in a child with stderr into a pipe; returns the child's wait status and puts
 * what it printed (NUL-terminated, truncated to n - 1 bytes) in out. */
static int run_child(void (*fn)(int), int arg, char *out, size_t n)
{
    int fd[2];
    out[0] = '\0';
    if (pipe(fd))
        return -1;
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        close(fd[0]);
        dup2(fd[1], 2);
        fn(arg);
        _exit(0);
    }
    close(fd[1]);
    size_t len = 0;
    ssize_t got;
    while (len < n - 1 && (got = read(fd[0], out + len, n - 1 - len)) > 0)
        len += (size_t)got;
    out[len] = '\0';
    close(fd[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
}

/* PLAIN_LINE: the line of plain_fails's assertion (the same line). */
enum { PLAIN_LINE = __LINE__ }; static void plain_fails(int x) { FG_ASSERT(x == 3); }
static void msg_fails(int x) { FG_ASSERT_MSG(x < 0, "x is %d", x); }
static void holds(int x)
{
    FG_ASSERT(x == 1);
    FG_ASSERT_MSG(x > 0, "x is %d", x);
}

int main(void)
{
    char out[1024], want[256];

    /* A condition that holds: nothing printed, no abort, evaluated once. */
    int calls = 0;
    FG_ASSERT(++calls == 1);
    FG_ASSERT_MSG(++calls == 2, "calls is %d", calls);
    CHECK_INT(calls, 2);
    int st = run_child(holds, 1, out, sizeof out);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK_MSG(out[0] == '\0', "printed \"%s\"", out);

    /* A failing FG_ASSERT: SIGABRT, and file:line and the condition on stderr. */
    st = run_child(plain_fails, 2, out, sizeof out);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
    snprintf(want, sizeof want, "test_assert.c:%d: assertion failed: x == 3\n", (int)PLAIN_LINE);
    CHECK_STR_CONTAINS(out, want);

    /* A failing FG_ASSERT_MSG: the same, then the formatted explanation. */
    st = run_child(msg_fails, 7, out, sizeof out);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
    CHECK_STR_CONTAINS(out, ": assertion failed: x < 0: x is 7\n");
    return check_report("test_assert");
}
