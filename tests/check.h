/* check.h - the assertion macros every test executable uses. A failed check prints
 * file:line and the expression and counts a failure; main returns check_report(). */
#ifndef CHECK_H
#define CHECK_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int check_failures_;
static int check_count_;

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        check_count_++;                                                                    \
        if (!(cond)) {                                                                     \
            check_failures_++;                                                             \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);       \
        }                                                                                  \
    } while (0)

#define CHECK_MSG(cond, ...)                                                               \
    do {                                                                                   \
        check_count_++;                                                                    \
        if (!(cond)) {                                                                     \
            check_failures_++;                                                             \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);       \
            fprintf(stderr, __VA_ARGS__);                                                  \
            fputc('\n', stderr);                                                           \
        }                                                                                  \
    } while (0)

#define CHECK_INT(a, b)                                                                    \
    do {                                                                                   \
        long long a_ = (long long)(a), b_ = (long long)(b);                                \
        check_count_++;                                                                    \
        if (a_ != b_) {                                                                    \
            check_failures_++;                                                             \
            fprintf(stderr, "%s:%d: CHECK failed: %s == %s (%lld != %lld)\n", __FILE__,    \
                    __LINE__, #a, #b, a_, b_);                                             \
        }                                                                                  \
    } while (0)

/* |a - b| <= tol * max(1, |a|, |b|) */
#define CHECK_NEAR(a, b, tol)                                                              \
    do {                                                                                   \
        double a_ = (double)(a), b_ = (double)(b);                                         \
        double s_ = fabs(a_) > fabs(b_) ? fabs(a_) : fabs(b_);                             \
        check_count_++;                                                                    \
        if (!(fabs(a_ - b_) <= (tol) * (s_ > 1.0 ? s_ : 1.0))) {                           \
            check_failures_++;                                                             \
            fprintf(stderr, "%s:%d: CHECK failed: %s ~= %s (%.9g vs %.9g)\n", __FILE__,    \
                    __LINE__, #a, #b, a_, b_);                                             \
        }                                                                                  \
    } while (0)

#define CHECK_STR_CONTAINS(hay, needle)                                                    \
    do {                                                                                   \
        const char *h_ = (hay), *n_ = (needle);                                            \
        check_count_++;                                                                    \
        if (!h_ || !strstr(h_, n_)) {                                                      \
            check_failures_++;                                                             \
            fprintf(stderr, "%s:%d: CHECK failed: \"%s\" does not contain \"%s\"\n",      \
                    __FILE__, __LINE__, h_ ? h_ : "(null)", n_);                           \
        }                                                                                  \
    } while (0)

static inline int check_report(const char *name)
{
    fprintf(stderr, "%s: %d checks, %d failed\n", name, check_count_, check_failures_);
    return check_failures_ ? 1 : 0;
}

#endif
