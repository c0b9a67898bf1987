/* fg_buf.h - the one growable text buffer of the program: appends of bytes, strings and
 * printf-formatted text, growing by doubling up to an optional limit. A failed allocation
 * or a text beyond the limit sets a flag instead of failing each call, so writers check
 * once at the end. */
#ifndef FG_BUF_H
#define FG_BUF_H

#include <stddef.h>

typedef struct {
    char *s;    /* NUL-terminated text (malloc'ed; fg_buf_free), NULL until the first append */
    size_t len; /* bytes without the NUL */
    size_t cap; /* bytes allocated */
    size_t max; /* the most bytes s may hold with its NUL; 0 = no limit */
    int bad;    /* set once an append failed (out of memory, or past max): later ones do nothing */
} fg_buf;

/* An empty buffer with room for at least cap bytes and the limit max (0: none). Returns 0,
 * or -1 when out of memory. Zero-initialising an fg_buf also makes an empty one. */
int fg_buf_init(fg_buf *b, size_t cap, size_t max);
/* Empties b and clears its flag, keeping its memory. */
void fg_buf_reset(fg_buf *b);
/* Appends n bytes of p. */
void fg_buf_add(fg_buf *b, const char *p, size_t n);
/* Appends the string s. */
void fg_buf_str(fg_buf *b, const char *s);
/* Appends printf-formatted text. */
void fg_buf_printf(fg_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Frees b's memory and empties it; NULL is a no-op. */
void fg_buf_free(fg_buf *b);

#endif
