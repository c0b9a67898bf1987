/* fg_buf.c - the growable text buffer (fg_buf.h): doubling growth, an optional limit, one
 * failure flag. */
#include "fg_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Makes room for need bytes in all (text and NUL); 0, or -1 with b->bad set. */
static int grow(fg_buf *b, size_t need)
{
    if (b->bad)
        return -1;
    if (need <= b->cap)
        return 0;
    if (b->max && need > b->max) {
        b->bad = 1;
        return -1;
    }
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    if (b->max && cap > b->max)
        cap = b->max;
    char *s = realloc(b->s, cap);
    if (!s) {
        b->bad = 1;
        return -1;
    }
    b->s = s;
    b->cap = cap;
    return 0;
}

int fg_buf_init(fg_buf *b, size_t cap, size_t max)
{
    memset(b, 0, sizeof *b);
    b->max = max;
    if (grow(b, cap ? cap : 1))
        return -1;
    b->s[0] = '\0';
    return 0;
}

void fg_buf_reset(fg_buf *b)
{
    b->len = 0;
    b->bad = 0;
    if (b->s)
        b->s[0] = '\0';
}

void fg_buf_add(fg_buf *b, const char *p, size_t n)
{
    if (grow(b, b->len + n + 1))
        return;
    memcpy(b->s + b->len, p, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void fg_buf_str(fg_buf *b, const char *s) { fg_buf_add(b, s, strlen(s)); }

void fg_buf_printf(fg_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->bad = 1;
        return;
    }
    if (grow(b, b->len + (size_t)n + 1))
        return;
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void fg_buf_free(fg_buf *b)
{
    if (!b)
        return;
    free(b->s);
    memset(b, 0, sizeof *b);
}
