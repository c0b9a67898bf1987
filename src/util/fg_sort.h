/* fg_sort.h - sorting with a context pointer (C11's qsort has none, which pushed callers to
 * file-scope globals): a stable merge sort that falls back to insertion sort in place when
 * its scratch memory cannot be allocated, so it never fails. */
#ifndef FG_SORT_H
#define FG_SORT_H

#include <stddef.h>

/* Negative when a sorts before b, positive after, 0 when equal; ctx is the caller's. */
typedef int (*fg_cmp_fn)(const void *a, const void *b, void *ctx);

/* Sorts n elements of size bytes at base by cmp (stable: equal elements keep their order). */
void fg_sort(void *base, size_t n, size_t size, fg_cmp_fn cmp, void *ctx);

#endif
