/* qstats.c — statistics and per-weight arrays of an fr_qlayer for the UI (spec 4.3).
 *
 * Design note
 *   Strictly read-only on the layer (fr_qlayer_hard_codes uses its own buffers), so several
 *   readers may run concurrently; not concurrently with a writer (forward/step/adam/sync) on
 *   the same layer.  Everything is computed from the hard codes at the current parameters, which after
 *   fr_qlayer_finalize are exactly the stored codes.
 *
 *   Decisions on the [I] points of spec 4.3 (flexround.md 4.3, "recommended exact definition"):
 *   the per-weight class — fr_qclass, the ONLY place that decides it; the percentages here, the
 *   snapshot's per-weight cls array (TUI and PNG scatter colours), JSON/CSV and `report` all
 *   count its answers.  Given u = W/s (float division, as RTN computes it) and the quantized
 *   position p in the same units:
 *   1. CLIPPED when round-to-nearest of u would leave the grid (rint(u) > hi or < lo) and p sits
 *      at that end: the clamp chose the code, not the rounding.  A weight a little beyond the
 *      end (|u - hi| <= 1/2) is not clipped: rounding alone already gives the end code.
 *   2. INSIDE when p lies in the grid cell holding u, [floor(u), floor(u) + 1]: the two grid
 *      points nearest to W.  This is the spec's c ∈ {⌊u1⌋, ⌈u1⌉}; for an integer u (W = 0 is
 *      common) the cell's upper point counts as the second neighbour, which is AdaRound's reach
 *      floor(u) + {0, 1}.
 *   3. AGGRESSIVE otherwise: rounded past the two nearest points (also a code left at an end
 *      when W is beyond the other end, and a weight beyond an end given a code that is not the
 *      end).  Non-finite u or p (a corrupt parameter) counts as aggressive: nothing shows it
 *      inside.
 *   Consequences: RTN (c = clamp(rint(u)) with the step it was computed with) is never
 *   aggressive, only inside or clipped; AdaRound (floor(u) + {0,1}, clamped) likewise; only
 *   FlexRound (and a learned s1) can be aggressive.  The old "|shift| > 1" counted clipped
 *   weights as aggressive (their shift is large only because of the clamp).
 *   - Final grid: u1 = W/s1 with the current s1, p = c (integers, tol 0).
 *   - Initial grid ("init grid"): Ŵ is generally off that grid when s1 moved, so p = Ŵ/s1_init
 *     against u0 = W/s1_init with 1e-4 grid units of slack for float noise.
 *   Histograms go through fr_qhist_bin, which never casts an out-of-range float (NaN/Inf/huge
 *   parameters from a corrupt checkpoint are counted, not indexed).
 */
#include "frtui/qstats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int group_of(const fr_qlayer *q, size_t k)
{
    return fr_qlayer_group(q, k);
}

static float clampf(float x, float lo, float hi) { return x < lo ? lo : (x > hi ? hi : x); }

static int32_t *hard(const fr_qlayer *q)
{
    int32_t *c = fr_amalloc(q->n * sizeof(int32_t));
    if (c) fr_qlayer_hard_codes(q, c);
    return c;
}

enum fr_wclass fr_qclass(double u, double p, double lo, double hi, double tol)
{
    if (!isfinite(u) || !isfinite(p)) return FR_WC_AGGRESSIVE;
    double r = rint(u);
    if ((r > hi && fabs(p - hi) <= tol) || (r < lo && fabs(p - lo) <= tol)) return FR_WC_CLIPPED;
    double f = floor(u);
    if (p >= f - tol && p <= f + 1.0 + tol) return FR_WC_INSIDE;
    return FR_WC_AGGRESSIVE;
}

int fr_qhist_bin(double v, double lo, double hi, int nbins)
{
    if (isnan(v)) return FR_QBIN_NAN;
    if (v < lo) return -1;
    if (!(v < hi)) return nbins;
    double t = floor((v - lo) / ((hi - lo) / nbins));   /* in [0, nbins] since lo <= v < hi */
    return t >= nbins ? nbins - 1 : (int)t;
}

int fr_qlayer_classes(const fr_qlayer *q, uint8_t *cls)
{
    int32_t *c = hard(q);
    if (!c) return FR_ENOMEM;
    for (size_t k = 0; k < q->n; k++) {
        int g = group_of(q, k);
        cls[k] = (uint8_t)fr_qclass(q->W[k] / q->s1[g], c[k], q->qlo[g], q->qhi[g], 0.0);
    }
    fr_afree(c);
    return FR_OK;
}

int fr_qlayer_stats(const fr_qlayer *q, fr_qstats *st)
{
    memset(st, 0, sizeof *st);
    int32_t *c = hard(q);
    if (!c) return FR_ENOMEM;
    st->n = q->n;
    double sw = 0, se = 0, sabs = 0, smax = 0;
    size_t cls1[FR_WC__COUNT] = {0}, cls0[FR_WC__COUNT] = {0}, changed = 0, undecided = 0;
    for (size_t k = 0; k < q->n; k++) {
        int g = group_of(q, k);
        float s1 = q->s1[g], s0 = q->s1_init[g], lo = q->qlo[g], hi = q->qhi[g];
        float w = q->W[k], ck = (float)c[k];
        double wh = (double)(s1 * ck);
        sw += (double)w * w;
        se += (wh - w) * (wh - w);
        float u1 = w / s1;
        double sh = (double)ck - (double)u1;
        if (!isnan(sh)) {
            sabs += fabs(sh);
            if (fabs(sh) > smax) smax = fabs(sh);
        }
        int b = fr_qhist_bin(sh, -FR_SHIFT_RANGE, FR_SHIFT_RANGE, FR_SHIFT_BINS);
        if (b == FR_QBIN_NAN) st->n_nonfinite++;
        else if (b < 0) st->shift_under++;
        else if (b >= FR_SHIFT_BINS) st->shift_over++;
        else st->shift_hist[b]++;
        cls1[fr_qclass(u1, ck, lo, hi, 0.0)]++;
        cls0[fr_qclass(w / s0, wh / (double)s0, lo, hi, 1e-4)]++;
        float rtn = clampf(rintf(w / s0), lo, hi);
        if (rtn != ck) changed++;
        if (q->method == FR_METHOD_ADAROUND && q->V.n) {
            float h = fr_qada_h(q->V.data[k]);
            if (h > 0.01f && h < 0.99f) undecided++;
        }
    }
    double n = (double)q->n;
    st->mse = se / n;
    st->sqnr_db = se > 0 ? 10.0 * log10(sw / se) : FR_QSTATS_SQNR_CAP;
    if (st->sqnr_db > FR_QSTATS_SQNR_CAP) st->sqnr_db = FR_QSTATS_SQNR_CAP;
    st->shift_mean_abs = sabs / n;
    st->shift_max_abs = smax;
    st->frac_aggressive = (double)cls1[FR_WC_AGGRESSIVE] / n;
    st->frac_clipped = (double)cls1[FR_WC_CLIPPED] / n;
    st->frac_aggressive_init = (double)cls0[FR_WC_AGGRESSIVE] / n;
    st->frac_clipped_init = (double)cls0[FR_WC_CLIPPED] / n;
    st->frac_changed_vs_rtn = (double)changed / n;
    st->frac_undecided = (double)undecided / n;
    st->s2_min = st->s2_max = 1.0;
    if (q->method == FR_METHOD_FLEXROUND && q->D2.n) {
        double mn = INFINITY, mx = -INFINITY;
        for (size_t k = 0; k < q->n; k++) {
            double d = q->D2.data[k];
            mn = fmin(mn, d);
            mx = fmax(mx, d);
            int b = fr_qhist_bin(d, -FR_S2_LN_RANGE, FR_S2_LN_RANGE, FR_S2_BINS);
            if (b == FR_QBIN_NAN) st->n_nonfinite++;
            else if (b < 0) st->s2_under++;
            else if (b >= FR_S2_BINS) st->s2_over++;
            else st->s2_hist[b]++;
        }
        st->s2_min = exp(mn);
        st->s2_max = exp(mx);
    }
    double a = 0, b = 0;
    for (int g = 0; g < q->ns1; g++) { a += q->s1[g]; b += q->s1_init[g]; }
    st->s1_mean = a / q->ns1;
    st->s1_init_mean = b / q->ns1;
    fr_afree(c);
    return FR_OK;
}

int fr_qlayer_array(const fr_qlayer *q, enum fr_qarray which, float *out)
{
    if ((unsigned)which >= FR_QA__COUNT) return FR_EINPUT;
    int flex = q->method == FR_METHOD_FLEXROUND && q->D2.n;
    size_t len = (size_t)q->i * q->khw;
    int32_t *c = NULL;
    if (which == FR_QA_WHAT || which == FR_QA_CODE || which == FR_QA_SHIFT) {
        c = hard(q);
        if (!c) return FR_ENOMEM;
    }
    for (size_t k = 0; k < q->n; k++) {
        int g = group_of(q, k);
        float w = q->W[k], v = 0.0f;
        switch (which) {
        case FR_QA_W: v = w; break;
        case FR_QA_WHAT: v = q->s1[g] * (float)c[k]; break;
        case FR_QA_S2: v = flex ? q->eD2[k] : 1.0f; break;
        case FR_QA_SCOMB:
            if (flex) {
                int r = (int)(k / len), j = (int)((k / q->khw) % (size_t)q->i);
                v = q->eD2[k] * (expf(q->d3.data[r]) * (q->d4.n ? expf(q->d4.data[j]) : 1.0f));
            } else v = 1.0f;
            break;
        case FR_QA_U1: v = w / q->s1[g]; break;
        case FR_QA_CODE: v = (float)c[k] + q->zp[g]; break;
        case FR_QA_RTN_CODE: v = clampf(rintf(w / q->s1_init[g]), q->qlo[g], q->qhi[g]) + q->zp[g]; break;
        case FR_QA_SHIFT: v = (float)c[k] - w / q->s1[g]; break;
        case FR_QA_GRAD_S2: v = (flex && q->has_grad) ? q->D2.grad[k] / q->eD2[k] : 0.0f; break;
        default: break;
        }
        out[k] = v;
    }
    fr_afree(c);
    return FR_OK;
}
