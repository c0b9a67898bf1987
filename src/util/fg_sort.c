/* fg_sort.c - the stable merge sort with a context pointer (fg_sort.h). */
#include "fg_sort.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Swaps the size bytes at x and y. */
static void swap(char *x, char *y, size_t size)
{
    for (size_t i = 0; i < size; i++) {
        char t = x[i];
        x[i] = y[i];
        y[i] = t;
    }
}

/* Insertion sort of n elements by adjacent swaps, in place: needs no memory. */
static void insertion(char *a, size_t n, size_t size, fg_cmp_fn cmp, void *ctx)
{
    for (size_t i = 1; i < n; i++)
        for (size_t k = i; k > 0 && cmp(a + (k - 1) * size, a + k * size, ctx) > 0; k--)
            swap(a + (k - 1) * size, a + k * size, size);
}

/* Sorts a[0..n) through scratch (room for n elements). */
static void merge_sort(char *a, size_t n, size_t size, fg_cmp_fn cmp, void *ctx, char *scratch)
{
    if (n <= 16) {
        insertion(a, n, size, cmp, ctx);
        return;
    }
    size_t h = n / 2;
    merge_sort(a, h, size, cmp, ctx, scratch);
    merge_sort(a + h * size, n - h, size, cmp, ctx, scratch);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n) {
        /* the left run wins ties: stable */
        if (cmp(a + j * size, a + i * size, ctx) < 0)
            memcpy(scratch + k++ * size, a + j++ * size, size);
        else
            memcpy(scratch + k++ * size, a + i++ * size, size);
    }
    memcpy(scratch + k * size, a + i * size, (h - i) * size);
    k += h - i;
    memcpy(scratch + k * size, a + j * size, (n - j) * size);
    memcpy(a, scratch, n * size);
}

void fg_sort(void *base, size_t n, size_t size, fg_cmp_fn cmp, void *ctx)
{
    if (n < 2 || size == 0)
        return;
    char *scratch = n <= SIZE_MAX / size ? malloc(n * size) : NULL;
    if (scratch) {
        merge_sort(base, n, size, cmp, ctx, scratch);
        free(scratch);
        return;
    }
    insertion(base, n, size, cmp, ctx); /* no scratch memory: slower, never fails */
}
