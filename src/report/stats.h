/* stats.h - the statistics of a report: mean, standard deviation, standard error, the
 * Student t distribution through a regularized incomplete beta function, and Nadeau and
 * Bengio's corrected resampled paired t-test for comparing two configurations' fold
 * scores. Pure functions: no I/O, no allocation, no global state. */
#ifndef STATS_H
#define STATS_H

/* Mean of v[0..n); NaN when n == 0 or any value is NaN. */
double st_mean(const double *v, int n);

/* Standard deviation with ddof degrees of freedom removed (0: population, as
 * scikit-learn's std_test_score; 1: sample). NaN when n - ddof < 1 or any value is NaN. */
double st_std(const double *v, int n, int ddof);

/* Standard error of the mean: sample std (ddof 1) / sqrt(n). NaN when n < 2. */
double st_sem(const double *v, int n);

/* Regularized incomplete beta function I_x(a, b) for a, b > 0 and 0 <= x <= 1 (continued
 * fraction, modified Lentz); NaN outside that domain. */
double st_betai(double a, double b, double x);

/* Two-sided p-value P(|T| >= |t|) of Student's t with df > 0 degrees of freedom:
 * I_{df/(df+t^2)}(df/2, 1/2). t = +-inf gives 0; NaN in, NaN out. */
double st_t_pvalue(double t, double df);

/* Nadeau and Bengio's corrected resampled paired t-test (Machine Learning 52, 2003) of
 * the fold scores a[0..k) against b[0..k) of the same folds. With d_j = a_j - b_j,
 *   t = mean(d) / sqrt((1/k + test_train) * var(d)),  var with ddof 1,  df = k - 1,
 * where test_train is n_test / n_train of one fold (1/(k-1) for k-fold CV).
 * *t_out and the returned two-sided p-value are NaN when k < 2, test_train is not
 * positive or any score is NaN. When var(d) == 0: p = 1 (t = 0) if every difference is
 * zero, p = 0 (t = +-inf) if every difference is the same non-zero value. t_out may be
 * NULL. */
double st_corrected_ttest(const double *a, const double *b, int k, double test_train, double *t_out);

#endif
