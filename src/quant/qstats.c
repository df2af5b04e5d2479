/* qstats.c — statistics and per-weight arrays of an fr_qlayer for the UI (spec 4.3).
 *
 * Design note
 *   Strictly read-only on the layer (fr_qlayer_hard_codes uses its own buffers), so several
 *   readers may run concurrently; not concurrently with a writer (forward/step/adam/sync) on
 *   the same layer.  Everything is computed from the hard codes at the current parameters, which after
 *   fr_qlayer_finalize are exactly the stored codes.
 *
 *   Decisions on the [I] points of spec 4.3:
 *   - "aggressive" against the final grid: c ∉ {floor(u1), ceil(u1)} with both neighbours clamped
 *     into [qlo, qhi], so a clipped weight sitting on the bound is not aggressive and RTN scores 0.
 *     The comparison is between integers in the centred space (zero point removed from codes).
 *   - against the initial grid Ŵ is generally off that grid when s1 moved, so we test whether
 *     Ŵ/s1_init leaves the interval [clamp(floor(u0)), clamp(ceil(u0))] (1e-4 grid-unit slack for
 *     float noise): "moved past the two nearest initial grid points".
 */
#include "frtui/qstats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int group_of(const fr_qlayer *q, size_t k)
{
    return q->ns1 > 1 ? (int)(k / ((size_t)q->i * q->khw)) : 0;
}

static float clampf(float x, float lo, float hi) { return x < lo ? lo : (x > hi ? hi : x); }

static int32_t *hard(const fr_qlayer *q)
{
    int32_t *c = fr_amalloc(q->n * sizeof(int32_t));
    if (c) fr_qlayer_hard_codes(q, c);
    return c;
}

int fr_qlayer_stats(const fr_qlayer *q, fr_qstats *st)
{
    memset(st, 0, sizeof *st);
    int32_t *c = hard(q);
    if (!c) return FR_ENOMEM;
    st->n = q->n;
    double sw = 0, se = 0, sabs = 0, smax = 0;
    size_t aggr = 0, aggr0 = 0, changed = 0, undecided = 0;
    const double bw = (FR_QSTATS_SHIFT_HI - FR_QSTATS_SHIFT_LO) / FR_QSTATS_SHIFT_BINS;
    for (size_t k = 0; k < q->n; k++) {
        int g = group_of(q, k);
        float s1 = q->s1[g], s0 = q->s1_init[g], lo = q->qlo[g], hi = q->qhi[g];
        float w = q->W[k], ck = (float)c[k];
        double wh = (double)(s1 * ck);
        sw += (double)w * w;
        se += (wh - w) * (wh - w);
        float u1 = w / s1;
        double sh = (double)ck - (double)u1;
        sabs += fabs(sh);
        if (fabs(sh) > smax) smax = fabs(sh);
        if (sh < FR_QSTATS_SHIFT_LO) st->shift_under++;
        else if (sh >= FR_QSTATS_SHIFT_HI) st->shift_over++;
        else {
            int b = (int)floor((sh - FR_QSTATS_SHIFT_LO) / bw);
            if (b >= FR_QSTATS_SHIFT_BINS) b = FR_QSTATS_SHIFT_BINS - 1;
            st->shift_hist[b]++;
        }
        float f1 = clampf(floorf(u1), lo, hi), c1 = clampf(ceilf(u1), lo, hi);
        if (ck != f1 && ck != c1) aggr++;
        float u0 = w / s0;
        float f0 = clampf(floorf(u0), lo, hi), c0 = clampf(ceilf(u0), lo, hi);
        double pos = wh / (double)s0;
        if (pos < (double)f0 - 1e-4 || pos > (double)c0 + 1e-4) aggr0++;
        float rtn = clampf(rintf(u0), lo, hi);
        if (rtn != ck) changed++;
        if (q->method == FR_QM_ADAROUND && q->V.n) {
            float sg = 1.0f / (1.0f + expf(-q->V.data[k]));
            float h = clampf(sg * 1.2f - 0.1f, 0.0f, 1.0f);
            if (h > 0.01f && h < 0.99f) undecided++;
        }
    }
    double n = (double)q->n;
    st->mse = se / n;
    st->sqnr_db = se > 0 ? 10.0 * log10(sw / se) : FR_QSTATS_SQNR_CAP;
    if (st->sqnr_db > FR_QSTATS_SQNR_CAP) st->sqnr_db = FR_QSTATS_SQNR_CAP;
    st->shift_mean_abs = sabs / n;
    st->shift_max_abs = smax;
    st->frac_aggressive = (double)aggr / n;
    st->frac_aggressive_init = (double)aggr0 / n;
    st->frac_changed_vs_rtn = (double)changed / n;
    st->frac_undecided = (double)undecided / n;
    st->s2_min = st->s2_max = 1.0;
    if (q->method == FR_QM_FLEXROUND && q->D2.n) {
        const double b2 = (FR_QSTATS_S2_HI - FR_QSTATS_S2_LO) / FR_QSTATS_S2_BINS;
        double mn = INFINITY, mx = -INFINITY;
        for (size_t k = 0; k < q->n; k++) {
            double d = q->D2.data[k];
            mn = fmin(mn, d);
            mx = fmax(mx, d);
            if (d < FR_QSTATS_S2_LO) st->s2_under++;
            else if (d >= FR_QSTATS_S2_HI) st->s2_over++;
            else {
                int b = (int)floor((d - FR_QSTATS_S2_LO) / b2);
                if (b >= FR_QSTATS_S2_BINS) b = FR_QSTATS_S2_BINS - 1;
                st->s2_hist[b]++;
            }
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
    int flex = q->method == FR_QM_FLEXROUND && q->D2.n;
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
