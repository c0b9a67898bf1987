/* stats.c - descriptive statistics, the t distribution and the corrected resampled t-test.
 * The incomplete beta function follows the continued fraction of Numerical Recipes
 * (section 6.4) evaluated with the modified Lentz method; lgamma comes from libm. */
#include "stats.h"

#include <float.h>
#include <math.h>

double st_mean(const double *v, int n)
{
    if (n <= 0)
        return NAN;
    double s = 0;
    for (int i = 0; i < n; i++)
        s += v[i];
    return s / n; /* a NaN anywhere propagates */
}

double st_std(const double *v, int n, int ddof)
{
    if (n - ddof < 1)
        return NAN;
    double m = st_mean(v, n), ss = 0;
    for (int i = 0; i < n; i++)
        ss += (v[i] - m) * (v[i] - m);
    return sqrt(ss / (n - ddof));
}

double st_sem(const double *v, int n)
{
    if (n < 2)
        return NAN;
    return st_std(v, n, 1) / sqrt((double)n);
}

/* One step of the modified Lentz method with coefficient aa: updates c and d (each kept
 * away from 0 by tiny) and returns their product, the step's factor. */
static double lentz_step(double aa, double *c, double *d, double tiny)
{
    *d = 1 + aa * *d;
    if (fabs(*d) < tiny)
        *d = tiny;
    *c = 1 + aa / *c;
    if (fabs(*c) < tiny)
        *c = tiny;
    *d = 1 / *d;
    return *d * *c;
}

/* Continued fraction for I_x(a, b), converging fast for x < (a + 1) / (a + b + 2). */
static double betacf(double a, double b, double x)
{
    const double tiny = 1e-300, eps = 1e-15;
    double qab = a + b, qap = a + 1, qam = a - 1;
    double c = 1, d = 1 - qab * x / qap;
    if (fabs(d) < tiny)
        d = tiny;
    d = 1 / d;
    double h = d;
    for (int m = 1; m <= 10000; m++) {
        int m2 = 2 * m;
        /* even step */
        double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        h *= lentz_step(aa, &c, &d, tiny);
        /* odd step */
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        double del = lentz_step(aa, &c, &d, tiny);
        h *= del;
        if (fabs(del - 1) < eps)
            break;
    }
    return h;
}

double st_betai(double a, double b, double x)
{
    if (!(a > 0) || !(b > 0) || !(x >= 0) || !(x <= 1))
        return NAN;
    if (x == 0 || x == 1)
        return x;
    /* front factor x^a (1-x)^b / (a B(a, b)), in logs */
    double lbt = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x);
    double bt = exp(lbt);
    if (x < (a + 1) / (a + b + 2))
        return bt * betacf(a, b, x) / a;
    return 1 - bt * betacf(b, a, 1 - x) / b; /* the symmetry I_x(a,b) = 1 - I_{1-x}(b,a) */
}

double st_t_pvalue(double t, double df)
{
    if (isnan(t) || !(df > 0))
        return NAN;
    if (isinf(t))
        return 0;
    double p = st_betai(df / 2, 0.5, df / (df + t * t));
    return p > 1 ? 1 : p;
}

double st_corrected_ttest(const double *a, const double *b, int k, double test_train, double *t_out)
{
    if (t_out)
        *t_out = NAN;
    if (k < 2 || !(test_train > 0))
        return NAN;
    double m = 0;
    for (int j = 0; j < k; j++) {
        if (isnan(a[j]) || isnan(b[j]))
            return NAN;
        m += a[j] - b[j];
    }
    m /= k;
    double ss = 0;
    int same = 1;
    for (int j = 0; j < k; j++) {
        double dj = a[j] - b[j];
        ss += (dj - m) * (dj - m);
        same &= dj == a[0] - b[0];
    }
    double sd = sqrt(ss / (k - 1));
    /* Every difference the same: the variance is zero (or rounding away from it). */
    if (same || sd == 0) {
        if (m == 0) {
            if (t_out)
                *t_out = 0;
            return 1;
        }
        if (t_out)
            *t_out = m > 0 ? INFINITY : -INFINITY;
        return 0;
    }
    double t = m / sqrt((1.0 / k + test_train) * sd * sd);
    if (t_out)
        *t_out = t;
    return st_t_pvalue(t, k - 1);
}
