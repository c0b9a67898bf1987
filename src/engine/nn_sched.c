/* nn_sched.c - learning-rate schedules, evaluated for every optimizer step (the step count
 * s starts at 0 for the first update, as Keras's optimizer.iterations):
 *   warm-up   (Keras CosineDecay's warmup_steps W / warmup_target T): for s < W,
 *             lr = lr0 + (T - lr0) * s / W, where lr0 = learning_rate; the schedule then
 *             runs from the peak P = T (or P = lr0 when there is no warmup_target);
 *   constant  lr = P;
 *   cosine    Keras CosineDecay: with u = min(s - W, D) / D over D decay steps,
 *             lr = P * ((1 - alpha) * 0.5 * (1 + cos(pi * u)) + alpha);
 *   one_cycle PyTorch OneCycleLR (anneal_strategy "cos", three_phase False, defaults
 *             pct_start 0.3, div_factor 25, final_div_factor 1e4, momentum not cycled) over
 *             D steps with max_lr = P: from P/25 up to P at step 0.3 D - 1, then down to
 *             P/25/1e4 at step D - 1; cos(a, b, p) = b + (a - b) / 2 * (1 + cos(pi * p)).
 * D = decay_steps, or when 0 the rest of the run (total steps - W), at least 1. After D the
 * rate stays at its final value. Reduce-on-plateau is nn_fit's: it scales what this returns.
 * Arithmetic in double; nn_fit rounds the rate to float once per step. */
#include <math.h>

#include "nn_internal.h"

#define PI 3.14159265358979323846
#define ONE_CYCLE_PCT_START 0.3
#define ONE_CYCLE_DIV 25.0
#define ONE_CYCLE_FINAL_DIV 1e4

int nn_sched_check(const nn_train_desc *t, fg_err *err)
{
    if ((unsigned)t->lr_schedule >= NN_SCHED__COUNT)
        return fg_err_set(err, "unknown learning-rate schedule %d", (int)t->lr_schedule);
    if (t->warmup_steps < 0 || t->decay_steps < 0)
        return fg_err_set(err, "warmup_steps and decay_steps must be >= 0 (got %d, %d)",
                          t->warmup_steps, t->decay_steps);
    if (!(t->warmup_target >= 0.0f && isfinite(t->warmup_target)))
        return fg_err_set(err, "warmup_target must be >= 0 (got %g)", (double)t->warmup_target);
    if (!(t->cosine_alpha >= 0.0f && t->cosine_alpha <= 1.0f))
        return fg_err_set(err, "cosine_alpha must be in [0, 1] (got %g)",
                          (double)t->cosine_alpha);
    if (t->warmup_steps > 0 && !(t->warmup_target > 0.0f))
        return fg_err_set(err, "warmup_steps needs warmup_target (the rate the warm-up "
                               "reaches from learning_rate)");
    if (t->warmup_steps > 0 && t->lr_schedule == NN_SCHED_ONE_CYCLE)
        return fg_err_set(err, "one_cycle has its own warm-up: warmup_steps must be 0");
    return 0;
}

void nn_sched_init(nn_sched *s, const nn_train_desc *t, int64_t total_steps)
{
    s->kind = t->lr_schedule;
    s->lr0 = t->learning_rate;
    s->peak = t->warmup_target > 0.0f ? t->warmup_target : t->learning_rate;
    s->warmup = t->warmup_steps;
    s->decay = t->decay_steps > 0 ? t->decay_steps : total_steps - s->warmup;
    if (s->decay < 1)
        s->decay = 1;
    s->alpha = t->cosine_alpha;
}

int nn_sched_is_constant(const nn_sched *s)
{
    return s->kind == NN_SCHED_CONSTANT && s->warmup == 0 && s->peak == s->lr0;
}

/* PyTorch's _annealing_cos: from a (pct 0) to b (pct 1). */
static double anneal(double a, double b, double pct)
{
    return b + (a - b) / 2.0 * (cos(PI * pct) + 1.0);
}

static double one_cycle(const nn_sched *s, int64_t step)
{
    const double total = (double)s->decay, max_lr = s->peak;
    const double init = max_lr / ONE_CYCLE_DIV, min_lr = init / ONE_CYCLE_FINAL_DIV;
    const double up_end = ONE_CYCLE_PCT_START * total - 1.0, end = total - 1.0;
    double x = (double)(step < s->decay ? step : s->decay - 1);
    if (up_end > 0.0 && x <= up_end)
        return anneal(init, max_lr, x / up_end);
    double from = up_end > 0.0 ? up_end : 0.0;
    return anneal(max_lr, min_lr, end > from ? (x - from) / (end - from) : 1.0);
}

double nn_sched_lr(const nn_sched *s, int64_t step)
{
    if (step < s->warmup)
        return s->lr0 + (s->peak - s->lr0) * ((double)step / (double)s->warmup);
    step -= s->warmup;
    switch (s->kind) {
    case NN_SCHED_COSINE: {
        double u = (double)(step < s->decay ? step : s->decay) / (double)s->decay;
        return s->peak * ((1.0 - s->alpha) * 0.5 * (1.0 + cos(PI * u)) + s->alpha);
    }
    case NN_SCHED_ONE_CYCLE: return one_cycle(s, step);
    default: return s->peak;
    }
}
