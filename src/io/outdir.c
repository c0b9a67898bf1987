/* outdir.c - the results directory's path, state, creation and lock (see outdir.h). */
#define _XOPEN_SOURCE 700 /* realpath */
#include "outdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef NAME_MAX
#define NAME_MAX 255
#endif

/* The first len bytes of s (at most 40), "..." when cut: long paths stay readable. */
static const char *shorten(const char *s, size_t len, char *buf, size_t n)
{
    if (len <= 40)
        snprintf(buf, n, "%.*s", (int)len, s);
    else
        snprintf(buf, n, "%.37s...", s);
    return buf;
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when it is not one. */
static int utf8_len(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    int n = s[0] >= 0xc2 && s[0] <= 0xdf ? 2 : s[0] >= 0xe0 && s[0] <= 0xef ? 3
          : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : 0;
    for (int i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if ((n == 3 && s[0] == 0xe0 && s[1] < 0xa0) || (n == 3 && s[0] == 0xed && s[1] > 0x9f) ||
        (n == 4 && s[0] == 0xf0 && s[1] < 0x90) || (n == 4 && s[0] == 0xf4 && s[1] > 0x8f))
        return 0; /* overlong, surrogate or beyond U+10FFFF */
    return n;
}

int od_check_path(const char *option, const char *path, fg_err *err)
{
    char sb[64];
    size_t len = strlen(path);
    if (len == 0)
        return fg_err_set(err, "%s: the directory name is empty", option);
    if (len > OD_PATH_MAX)
        return fg_err_set(err, "%s: the path is %zu bytes long, more than the %d allowed (PATH_MAX %d less room "
                               "for the files inside): %s", option, len, OD_PATH_MAX, 4096,
                          shorten(path, len, sb, sizeof sb));
    const unsigned char *u = (const unsigned char *)path;
    for (size_t i = 0; i < len;) {
        if (u[i] < 0x20 || u[i] == 0x7f)
            return fg_err_set(err, "%s: the path holds a control character (byte 0x%02x at offset %zu): %s",
                              option, u[i], i, shorten(path, i, sb, sizeof sb));
        int n = utf8_len(u + i);
        if (!n)
            return fg_err_set(err, "%s: the path is not valid UTF-8 (byte 0x%02x at offset %zu; it is written "
                                   "into report.yaml): %s...", option, u[i], i, shorten(path, i, sb, sizeof sb));
        i += (size_t)n;
    }
    for (const char *p = path; *p;) {
        size_t c = strcspn(p, "/");
        if (c > NAME_MAX)
            return fg_err_set(err, "%s: a component of the path is %zu bytes long, more than NAME_MAX (%d): %s",
                              option, c, NAME_MAX, shorten(p, c, sb, sizeof sb));
        p += c;
        p += strspn(p, "/");
    }
    return 0;
}

int od_dir_state(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return OD_ABSENT;
    if (!S_ISDIR(st.st_mode))
        return OD_NOT_DIR;
    DIR *d = opendir(path);
    if (!d)
        return OD_FILES; /* unreadable: treat as holding something */
    int state = OD_EMPTY;
    struct dirent *de;
    while (state == OD_EMPTY && (de = readdir(d))) {
        const char *n = de->d_name;
        size_t l = strlen(n);
        if (!strcmp(n, ".") || !strcmp(n, "..") || (l > 5 && !strcmp(n + l - 5, ".lock")))
            continue;
        state = OD_FILES;
    }
    closedir(d);
    return state;
}

/* Removes the directories buf[0..made) created, deepest first (ends[] hold their ends). */
static void undo_dirs(char *buf, const size_t *ends, int made)
{
    for (int i = made - 1; i >= 0; i--) {
        char keep = buf[ends[i]];
        buf[ends[i]] = '\0';
        rmdir(buf);
        buf[ends[i]] = keep;
    }
}

int od_make_dirs(const char *path, fg_err *err)
{
    char buf[4096];
    size_t ends[2048];
    int made = 0;
    size_t len = strlen(path);
    if (len >= sizeof buf)
        return fg_err_set(err, "path too long (%zu bytes)", len);
    memcpy(buf, path, len + 1);
    for (size_t i = 1; i <= len && made < 2048; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        if (buf[i - 1] == '/')
            continue;
        char keep = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0755) == 0) {
            ends[made++] = i;
        } else if (errno != EEXIST) {
            int e = errno;
            char sb[64];
            buf[i] = keep;
            undo_dirs(buf, ends, made);
            return fg_err_set(err, "%s: cannot create directory: %s", shorten(buf, i, sb, sizeof sb), strerror(e));
        }
        buf[i] = keep;
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        undo_dirs(buf, ends, made);
        return fg_err_set(err, "%s: not a directory", path);
    }
    return 0;
}

/* The holder named in a lock file, or by the kernel (F_GETLK), into err. */
static void describe_holder(int fd, fg_err *err)
{
    char text[256] = "";
    ssize_t got = pread(fd, text, sizeof text - 1, 0);
    text[got > 0 ? got : 0] = '\0';
    char host[128] = "", since[64] = "";
    long pid = 0;
    const char *h = strstr(text, "host="), *p = strstr(text, "pid="), *s = strstr(text, "since=");
    if (h)
        sscanf(h, "host=%127s", host);
    if (p)
        sscanf(p, "pid=%ld", &pid);
    if (s)
        sscanf(s, "since=%63s", since);
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (!pid && fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK && fl.l_pid > 0)
        pid = (long)fl.l_pid;
    if (host[0] || pid)
        fg_err_set(err, "host %s, pid %ld%s%s", host[0] ? host : "?", pid, since[0] ? ", since " : "", since);
    else
        fg_err_set(err, "holder unknown");
}

int od_lock_take(const char *lock_path, fg_err *err)
{
    int fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644);
    if (fd < 0)
        return fg_err_set(err, "%s: cannot open the lock file: %s", lock_path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return fg_err_set(err, "%s: the lock file is not a regular file", lock_path);
    }
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (fcntl(fd, F_SETLK, &fl) != 0) {
        int e = errno;
        if (e == EACCES || e == EAGAIN) {
            describe_holder(fd, err);
            close(fd);
            return -2;
        }
        close(fd);
        return fg_err_set(err, "%s: cannot lock: %s", lock_path, strerror(e));
    }
    char host[128] = "", since[32], text[256];
    gethostname(host, sizeof host - 1);
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(since, sizeof since, "%Y-%m-%dT%H:%M:%SZ", &tm);
    int n = snprintf(text, sizeof text, "host=%s pid=%ld since=%s\n", host[0] ? host : "?", (long)getpid(), since);
    /* Who holds it is information for the next process, not a result: a failure to write
     * it (a full disk) leaves the lock itself intact. */
    if (ftruncate(fd, 0) == 0) {
        ssize_t w = pwrite(fd, text, (size_t)n, 0);
        (void)w;
    }
    return fd;
}

void od_lock_release(int fd)
{
    if (fd >= 0)
        close(fd);
}

void od_abs_path(const char *path, char *out, size_t n)
{
    char *abs = realpath(path, NULL);
    snprintf(out, n, "%s", abs ? abs : path);
    free(abs);
}
