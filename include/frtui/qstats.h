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

/* Rounding-shift histogram: shift = c - u1, 64 equal bins over [-4, 4) (width 1/8); values
 * below/at-or-above go to shift_under / shift_over. */
#define FR_QSTATS_SHIFT_BINS 64
#define FR_QSTATS_SHIFT_LO (-4.0)
#define FR_QSTATS_SHIFT_HI 4.0
/* S2 histogram in the log domain: bins over D2 = ln S2 in [-2, 2) (64 bins, width 1/16). */
#define FR_QSTATS_S2_BINS 64
#define FR_QSTATS_S2_LO (-2.0)
#define FR_QSTATS_S2_HI 2.0
/* SQNR is capped here when W == Ŵ exactly (keeps JSON/plots finite). */
#define FR_QSTATS_SQNR_CAP 200.0

typedef struct fr_qstats {
    size_t n;
    double sqnr_db;        /* 10 log10(Σ W² / Σ (W-Ŵ)²), Ŵ = s1*c hard */
    double mse;            /* mean (W-Ŵ)² */
    uint64_t shift_hist[FR_QSTATS_SHIFT_BINS];
    uint64_t shift_under, shift_over;
    double shift_mean_abs, shift_max_abs;
    /* c ∉ {clamp(floor(u1)), clamp(ceil(u1))}: moved past the two nearest grid points of the
     * final grid (neighbours clamped into [qlo, qhi] so clipped weights at the bound are not
     * counted — RTN scores exactly 0). */
    double frac_aggressive;
    /* Against the initial RTN grid: Ŵ/s1_init lies outside [clamp(floor(u0)), clamp(ceil(u0))]
     * by more than 1e-4 grid units. */
    double frac_aggressive_init;
    double frac_changed_vs_rtn;  /* stored code != RTN code (s1_init grid, same zero point) */
    double frac_undecided;       /* AdaRound: h(V) in (0.01, 0.99); 0 for other methods */
    uint64_t s2_hist[FR_QSTATS_S2_BINS];
    uint64_t s2_under, s2_over;  /* FlexRound only (all zero otherwise) */
    double s2_min, s2_max;       /* 1 for non-FlexRound */
    double s1_mean, s1_init_mean;
} fr_qstats;

/* Fills *st.  Allocates n int32 scratch internally (returns FR_ENOMEM if that fails). */
int fr_qlayer_stats(const fr_qlayer *q, fr_qstats *st);

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
