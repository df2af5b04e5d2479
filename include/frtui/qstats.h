/* qstats.h — statistics of a quantized layer for the UI (spec 4.3).
 *
 * Design note
 *   Pure readers of an fr_qlayer: they never change it.  They describe the HARD-rounded state
 *   at the current parameters (the codes fr_qlayer_finalize would produce and the current s1),
 *   so they are meaningful both during optimisation and after finalize.
 *   Grid units: u1 = W / s1 with the current (final) s1, u0 = W / s1_init.  c is the centred
 *   integer (stored code minus zero point), so u1 and c live in the same integer space.
 */
#ifndef FRTUI_QSTATS_H
#define FRTUI_QSTATS_H

#include <stddef.h>
#include <stdint.h>

#include "frtui/quant.h"

/* Histogram layouts: FR_SHIFT_* and FR_S2_* in qdefs.h (shared with the snapshot and views). */
/* SQNR is capped here when W == Ŵ exactly (keeps JSON/plots finite). */
#define FR_QSTATS_SQNR_CAP 200.0

typedef struct fr_qstats {
    size_t n;
    double sqnr_db;        /* 10 log10(Σ W² / Σ (W-Ŵ)²), Ŵ = s1*c hard */
    double mse;            /* mean (W-Ŵ)² */
    uint64_t shift_hist[FR_SHIFT_BINS];
    uint64_t shift_under, shift_over;
    double shift_mean_abs, shift_max_abs;
    /* Per-weight classes of fr_qclass (qdefs.h, spec 4.3), fractions of n; disjoint. */
    double frac_aggressive;      /* rounded beyond the two grid points nearest to W/s1 (final s1) */
    double frac_clipped;         /* pinned at a grid end because W/s1 lies beyond it */
    /* The same question against the initial RTN grid ("init grid"): class of Ŵ/s1_init against
     * u0 = W/s1_init with 1e-4 grid units of slack (Ŵ is off that grid once s1 moved). */
    double frac_aggressive_init;
    double frac_clipped_init;
    double frac_changed_vs_rtn;  /* stored code != RTN code (s1_init grid, same zero point) */
    double frac_undecided;       /* AdaRound: h(V) in (0.01, 0.99); 0 for other methods */
    uint64_t s2_hist[FR_S2_BINS];
    uint64_t s2_under, s2_over;  /* FlexRound only (all zero otherwise) */
    uint64_t n_nonfinite;        /* weights whose shift or ln S2 was NaN: in no histogram bin */
    double s2_min, s2_max;       /* 1 for non-FlexRound */
    double s1_mean, s1_init_mean;
} fr_qstats;

/* Fills *st.  Allocates n int32 scratch internally (returns FR_ENOMEM if that fails).  Robust to
 * any float in the layer's parameters (NaN/Inf land in no bin or the end bins, never UB). */
int fr_qlayer_stats(const fr_qlayer *q, fr_qstats *st);

/* THE definition of a weight's class (enum fr_wclass), used by every statistic, view and report.
 *   u    = W / s, the weight in units of the grid asked about (float division, as RTN does it);
 *   p    = where the quantized weight sits in those units (the integer code c for the final grid,
 *          Ŵ / s1_init for the initial grid);
 *   [lo, hi] the code range; tol slack in grid units for p (0 for integer codes).
 * See qstats.c for the rules and why. */
enum fr_wclass fr_qclass(double u, double p, double lo, double hi, double tol);
/* Class of every weight against the final grid (fr_qclass(W/s1, c, qlo, qhi, 0)) into cls[n].
 * FR_ENOMEM on scratch allocation failure. */
int fr_qlayer_classes(const fr_qlayer *q, uint8_t *cls);
/* Bin of v among nbins equal bins over [lo, hi): 0..nbins-1; -1 below lo (-Inf included);
 * nbins at or above hi (+Inf included); FR_QBIN_NAN for NaN.  Never converts an out-of-range
 * float to int, so it is safe on any input. */
#define FR_QBIN_NAN (-2)
int fr_qhist_bin(double v, double lo, double hi, int nbins);

enum fr_qarray {
    FR_QA_W,          /* FP weight */
    FR_QA_WHAT,       /* hard Ŵ = s1*c at the current params */
    FR_QA_S2,         /* exp(D2) (1 for non-FlexRound) */
    FR_QA_SCOMB,      /* S2*s3*s4 (1 for non-FlexRound) */
    FR_QA_U1,         /* W / s1 */
    FR_QA_CODE,       /* stored code c + zp */
    FR_QA_RTN_CODE,   /* clamp(rint(W/s1_init)) + zp */
    FR_QA_SHIFT,      /* c - W/s1 */
    FR_QA_GRAD_S2,    /* reciprocal-rule dL/dS2 = grad_D2 / S2 from the last grad/step call,
                         divided by the CURRENT S2 (after a fused step that is the updated S2);
                         0 when no gradient is available */
    FR_QA__COUNT
};
/* Writes q->n floats into out.  FR_EINPUT for an unknown array id, FR_ENOMEM on scratch
 * allocation failure. */
int fr_qlayer_array(const fr_qlayer *q, enum fr_qarray which, float *out);

#endif
