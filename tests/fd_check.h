/* fd_check.h — the finite-difference gradient checker and buffer helpers shared by the kernel
 * tests (test_ops.c, test_tops.c); included once per test program.
 *
 * Gradient checks: every backward is compared with double-precision central differences of
 * the scalar loss L = sum(y * r) (r fixed random), with the forward computed in float.
 *   - The perturbation actually applied is (float)(v +- eps) - v, so float rounding of the
 *     step itself does not bias the quotient.
 *   - Linear ops (conv, pools, pad...) are exact under FD, so only rounding noise remains:
 *     ~sqrt(#outputs touched) * 6e-8 * |y| / (2 eps) ~ 1e-4 with eps = 1e-2.  Smooth
 *     nonlinear ops add O(eps^2) truncation ~ 1e-4.  Piecewise-linear ops (relu family,
 *     max-pool) get inputs jittered >= 5*eps away from kinks and ties, so FD stays exact.
 *   - Metric: max_i |a_i - n_i| / (max(|a_i|, |n_i|) + 0.05 * max_j |g_j| + 1e-4), tolerance
 *     FD_TOL = 2e-2.  Observed worst case over all ~180 checks is ~1e-3, so the
 *     margin is ~30x; yet a gradient that is wrong by 5% uniformly scores ~4.5% and a dropped or
 *     misplaced contribution scores ~O(1): test_gradcheck_sensitivity demonstrates both on a
 *     real conv gradient, plus a zeroed border row (the classic padding bug).
 * All buffers are malloc'd at their exact size so ASan catches any kernel overrun, and outputs
 * are pre-filled with NaN so an element a kernel forgets to write shows up as a failure. */
#ifndef FRTUI_FD_CHECK_H
#define FRTUI_FD_CHECK_H

#include <math.h>
#include <stdlib.h>

#include "fr_test.h"
#include "frtui/common.h"

#define FD_TOL 2e-2
#define FD_EPS 1e-2

static fr_rng g_rng;

static inline float *fbuf(size_t n)
{
    float *p = fr_xmalloc((n ? n : 1) * sizeof(float));
    for (size_t i = 0; i < (n ? n : 1); i++) p[i] = NAN;
    return p;
}

static inline void fill_normal(float *p, size_t n, float scale)
{
    for (size_t i = 0; i < n; i++) p[i] = scale * fr_rng_normal(&g_rng);
}

static inline void fill_uniform(float *p, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++) p[i] = lo + (hi - lo) * fr_rng_uniform(&g_rng);
}

static inline int all_finite(const float *p, size_t n)
{
    for (size_t i = 0; i < n; i++) if (!isfinite(p[i])) return 0;
    return 1;
}

static inline double max_abs_diff(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) { double d = fabs((double)a[i] - b[i]); if (!(d <= m)) m = d; }
    return m;
}

/* ---- finite-difference machinery ---------------------------------------------------------- */

typedef struct fd_prob {
    void (*fwd)(void *ctx, float *y);   /* recomputes y from the buffers ctx points at */
    void *ctx;
    float *y;
    size_t ny;
    const float *r;                     /* NULL: the loss is y[0] itself */
} fd_prob;

static inline double fd_loss(fd_prob *p)
{
    p->fwd(p->ctx, p->y);
    if (!p->r) return p->y[0];
    double L = 0;
    for (size_t i = 0; i < p->ny; i++) L += (double)p->y[i] * p->r[i];
    return L;
}

/* Returns the error metric described at the top; *gmax_out gets max |gradient|. */
static inline double fd_error(fd_prob *p, float *v, size_t nv, const float *an, double eps, double *gmax_out)
{
    double *num = fr_xmalloc(nv * sizeof(double));
    double gmax = 0;
    for (size_t i = 0; i < nv; i++) {
        float v0 = v[i];
        v[i] = (float)(v0 + eps);
        float vp = v[i];
        double Lp = fd_loss(p);
        v[i] = (float)(v0 - eps);
        float vm = v[i];
        double Lm = fd_loss(p);
        v[i] = v0;
        num[i] = (Lp - Lm) / ((double)vp - (double)vm);
        gmax = fmax(gmax, fmax(fabs(num[i]), fabs((double)an[i])));
    }
    double err = 0;
    for (size_t i = 0; i < nv; i++) {
        double d = fabs(num[i] - an[i]);
        double den = fmax(fabs(num[i]), fabs((double)an[i])) + 0.05 * gmax + 1e-4;
        if (!(d / den <= err)) err = d / den;   /* NaN-sticky */
    }
    free(num);
    if (gmax_out) *gmax_out = gmax;
    return err;
}

/* One FR check per gradient tensor; also refuses a vacuous (all-zero) gradient. */
#define GRADCHECK(prob, v, nv, an, eps, what)                                                   \
    do { double gm_, e_ = fd_error((prob), (v), (nv), (an), (eps), &gm_);                        \
         FR_CHECKF(e_ <= FD_TOL && gm_ > 1e-3, "%s: max rel err %.3g (|g|max %.3g)", (what), e_, gm_); \
    } while (0)

#endif
