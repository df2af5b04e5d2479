/* conv_dw.c — the direct depthwise convolution kernels, forward and backward, and the input
 * and output activations they can apply on the way (fr_conv_shape.act, .oact).  Split from
 * conv.c, which dispatches to them (conv_impl.h).
 *
 * Design note
 *   Ownership: no state; the working memory is the part's scratch slice (fr_dw_part_floats).
 *   Threading: conv.c's regions hand each part a channel range; every channel's dW/db sum runs
 *   over the samples in order, so results never depend on the part count.
 *   Activations: an input activation (fr_conv_shape.act) is applied while the phase planes are
 *   built, an output one (.oact) while the output is copied out of the wide layout, and their
 *   backwards while dx is merged and dy is copied in.
 *   Bits: the 3x3 register forms (dw_sweep9) perform the additions of the per-tap sweeps in the
 *   same order; a folded activation is applied to exactly the values the separate pass would
 *   see.  Both are checked bit for bit in test_ops.
 */
#include <stdint.h>
#include <string.h>

#include <immintrin.h>

#include "frtui/common.h"
#include "conv_impl.h"
#include "ops_impl.h"

/* Depthwise convs (with non-negative padding; cropping ones take the im2col path) run
 * "polyphase flat": the zero-padded plane
 * (Hp = H+pt+pb, Wp = W+pl+pr) is split into sh*sw phase planes of Hq x Wq (Hq = ceil(Hp/sh),
 * Wq = ceil(Wp/sw)), phase (py, px) holding padded rows py, py+sh, ... and columns px, px+sw, ...
 * Tap (ki, kj) of output (oy, ox) reads padded (oy*sh + ki*dh, ox*sw + kj*dw), i.e. phase
 * ((ki*dh) % sh, (kj*dw) % sw) at (oy + ki*dh/sh, ox + kj*dw/sw).  With outputs laid out
 * "wide" (row pitch Wq, index i = oy*Wq + ox) every tap becomes one contiguous, branch-free,
 * vectorised sweep dst[i] += w * src[i + const].  Small planes would make those sweeps short,
 * so up to nb samples of one channel are stacked (sample k's planes at k*Hq*Wq, wide outputs
 * likewise) and one sweep covers L = ((kb-1)*Hq + OH-1)*Wq + OW outputs of kb samples.
 * Columns ox >= OW and rows oy >= OH of the wide layout are garbage: dropped on copy-out in
 * forward, zeroed in dy for backward.  Every index stays inside the phase buffers (see
 * dw_scratch_geom). */
int fr_dw_flat(const fr_conv_shape *s)
{
    return s->groups == s->c && s->o == s->c && s->pt >= 0 && s->pl >= 0 && s->pb >= 0 && s->pr >= 0;
}

/* phase: floats of one sample's phase plane; pstride: distance between phases (nb samples). */
typedef struct dw_geom { int hq, wq, nb; size_t phase, nph, pstride; } dw_geom;

/* Bounds: the largest index read for a valid output of sample k,
 * k*Hq*Wq + (OH-1 + (kh-1)*dh/sh)*Wq + OW-1 + (kw-1)*dw/sw, is < (k+1)*Hq*Wq because
 * (OH-1)*sh + (kh-1)*dh <= Hp-1 (same for columns).  Garbage outputs lie below the last valid
 * one, so they read below it too: everything stays inside the kb planes written this chunk. */
static dw_geom dw_scratch_geom(const fr_conv_shape *s)
{
    dw_geom g;
    int hp = s->h + s->pt + s->pb, wp = s->w + s->pl + s->pr;
    g.hq = (hp + s->sh - 1) / s->sh;
    g.wq = (wp + s->sw - 1) / s->sw;
    g.phase = (size_t)g.hq * g.wq;
    g.nph = (size_t)s->sh * s->sw;
    size_t nb = 4096 / g.phase;   /* ~16 KB of input per phase stack: sweeps long, L1/L2 warm */
    g.nb = nb < 1 ? 1 : nb > 16 ? 16 : (int)nb;
    g.pstride = (size_t)g.nb * g.phase;
    return g;
}

static inline size_t dw_sweep_len(const fr_conv_shape *s, const dw_geom *g, int kb)
{
    return ((size_t)(kb - 1) * g->hq + s->oh - 1) * g->wq + s->ow;
}

size_t fr_dw_part_floats(const fr_conv_shape *s)
{
    dw_geom g = dw_scratch_geom(s);
    /* x phases, dx phases, wide y/dy with a one-plane zero margin on each side (the 3x3 gather
     * form of the backward reads up to the largest tap offset, < one plane, beyond both ends),
     * then one output plane (oh*ow <= hq*wq) for the masked dy of a folded output activation */
    return 2 * g.nph * g.pstride + g.pstride + 3 * g.phase;
}


/* Padded columns [0, 2*wq) of one input row (input column j - pl at padded column j) through
 * the activation, even columns to d0 and odd ones to d1: both phases in one deinterleaving
 * sweep that reads the row once.  `act` is a constant at each call site below, so the
 * interior loop is vectorised branch-free for each activation. */
static inline __attribute__((always_inline)) void split_row2(const float *xr, int w, int pl, int wq, float *restrict d0,
                                                             float *restrict d1, int act, float lo, float hi)
{
    /* interior: c with 0 <= 2c - pl and 2c + 1 - pl <= w - 1 */
    int clo = (pl + 1) / 2, chi = (w + pl) / 2;
    if (clo > wq) clo = wq;
    if (chi > wq) chi = wq;
    if (chi < clo) chi = clo;
    for (int e = 0; e < 2; e++)   /* the edges, [0, clo) and [chi, wq), with their zero padding */
        for (int c = e ? chi : 0; c < (e ? wq : clo); c++) {
            int j0 = 2 * c - pl, j1 = j0 + 1;
            d0[c] = j0 >= 0 && j0 < w ? fr_conv_act_fwd(act, lo, hi, xr[j0]) : 0.0f;
            d1[c] = j1 >= 0 && j1 < w ? fr_conv_act_fwd(act, lo, hi, xr[j1]) : 0.0f;
        }
    for (int c = clo; c < chi; c++) {
        d0[c] = fr_conv_act_fwd(act, lo, hi, xr[2 * c - pl]);
        d1[c] = fr_conv_act_fwd(act, lo, hi, xr[2 * c + 1 - pl]);
    }
}

/* dst[0, n) = act(src[0, n)) in one pass (a plain copy without an activation); dst == src
 * applies it in place.  Each case's loop is vectorised for its constant activation. */
static void copy_act(const float *src, float *dst, size_t n, int act, float lo, float hi)
{
    switch (act) {
    case FR_CONV_ACT_RELU: for (size_t i = 0; i < n; i++) dst[i] = fr_conv_act_fwd(FR_CONV_ACT_RELU, 0, 0, src[i]); break;
    case FR_CONV_ACT_CLIP: for (size_t i = 0; i < n; i++) dst[i] = fr_conv_act_fwd(FR_CONV_ACT_CLIP, lo, hi, src[i]); break;
    default: if (n > 0 && dst != src) memcpy(dst, src, sizeof(float) * n); break;
    }
}

/* out[0, n) = act'(x) dy: the activation's backward, its predicate on the activation's input x
 * (out == dy works in place). */
static void back_act(const float *x, const float *dy, float *out, size_t n, int act, float lo, float hi)
{
    switch (act) {
    case FR_CONV_ACT_RELU: for (size_t i = 0; i < n; i++) out[i] = fr_conv_act_bwd(FR_CONV_ACT_RELU, 0, 0, x[i], dy[i]); break;
    case FR_CONV_ACT_CLIP: for (size_t i = 0; i < n; i++) out[i] = fr_conv_act_bwd(FR_CONV_ACT_CLIP, lo, hi, x[i], dy[i]); break;
    default: if (n > 0 && out != dy) memcpy(out, dy, sizeof(float) * n); break;
    }
}

/* x plane -> one sample slot of the zero-padded phase planes (every element written). */
static void phase_split(const fr_conv_shape *s, const dw_geom *g, const float *x, float *ph)
{
    if (s->sw == 2) {   /* both column phases of a row at once; rows in input order, so the
                         * plane (read from DRAM for a 112x112 layer) streams front to back */
        for (int r = 0; r < g->hq; r++)
            for (int py = 0; py < s->sh; py++) {
                float *d0 = ph + (size_t)(py * 2) * g->pstride + (size_t)r * g->wq, *d1 = d0 + g->pstride;
                int iy = r * s->sh + py - s->pt;
                if (iy < 0 || iy >= s->h) {
                    memset(d0, 0, sizeof(float) * g->wq);
                    memset(d1, 0, sizeof(float) * g->wq);
                    continue;
                }
                const float *xr = x + (size_t)iy * s->w;
                switch (s->act) {
                case FR_CONV_ACT_RELU: split_row2(xr, s->w, s->pl, g->wq, d0, d1, FR_CONV_ACT_RELU, 0, 0); break;
                case FR_CONV_ACT_CLIP: split_row2(xr, s->w, s->pl, g->wq, d0, d1, FR_CONV_ACT_CLIP, s->act_lo, s->act_hi); break;
                default: split_row2(xr, s->w, s->pl, g->wq, d0, d1, 0, 0, 0); break;
                }
            }
        return;
    }
    for (int py = 0; py < s->sh; py++)
        for (int px = 0; px < s->sw; px++) {
            float *dst = ph + (size_t)(py * s->sw + px) * g->pstride;
            int clo, chi;
            tap_range(px - s->pl, s->sw, s->w, g->wq, &clo, &chi);
            for (int r = 0; r < g->hq; r++) {
                float *dr = dst + (size_t)r * g->wq;
                int iy = r * s->sh + py - s->pt;
                if (iy < 0 || iy >= s->h) { memset(dr, 0, sizeof(float) * g->wq); continue; }
                const float *xr = x + (size_t)iy * s->w;
                const int off = px - s->pl;
                if (clo > 0) memset(dr, 0, sizeof(float) * clo);
                if (s->sw == 1) copy_act(xr + (clo + off), dr + clo, (size_t)(chi - clo), s->act, s->act_lo, s->act_hi);
                else {
                    for (int c = clo; c < chi; c++) dr[c] = xr[c * s->sw + off];
                    if (chi > clo) copy_act(dr + clo, dr + clo, (size_t)(chi - clo), s->act, s->act_lo, s->act_hi);
                }
                if (chi < g->wq) memset(dr + chi, 0, sizeof(float) * (g->wq - chi));
            }
        }
}

/* Streaming stores.  The largest planes a depthwise conv writes (a batch's 112x112 and 56x56
 * outputs and input gradients, 38-154 MB) are read next after they have left the caches, so
 * their lines' reads for ownership are wasted DRAM traffic: those are written with
 * non-temporal stores (32-byte aligned rows, AVX2).  Smaller ones are read while still in L3,
 * so they keep ordinary stores.  The vector forms below compute what fr_conv_act_fwd/_bwd do
 * element by element (the same compares; a mask and-ed with a value keeps its bits or gives
 * +0), so the bits do not depend on the path. */
static int dw_stream(size_t floats) { return floats * sizeof(float) >= fr_conv_stream_bytes(); }

#ifdef __AVX2__
static inline __attribute__((always_inline)) __m256 v_act_fwd(int act, __m256 v, __m256 lo, __m256 hi)
{
    if (act == FR_CONV_ACT_RELU) return _mm256_andnot_ps(_mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_LT_OQ), v);
    if (act == FR_CONV_ACT_CLIP) {
        v = _mm256_blendv_ps(v, lo, _mm256_cmp_ps(v, lo, _CMP_LT_OQ));
        return _mm256_blendv_ps(v, hi, _mm256_cmp_ps(v, hi, _CMP_GT_OQ));
    }
    return v;
}

static inline __attribute__((always_inline)) __m256 v_act_bwd(int act, __m256 x, __m256 d, __m256 lo, __m256 hi)
{
    if (act == FR_CONV_ACT_RELU) return _mm256_and_ps(d, _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GT_OQ));
    if (act == FR_CONV_ACT_CLIP)
        return _mm256_and_ps(d, _mm256_and_ps(_mm256_cmp_ps(x, lo, _CMP_GE_OQ), _mm256_cmp_ps(x, hi, _CMP_LE_OQ)));
    return d;
}
#endif

/* One output row out of the wide layout: y = src and, with an activation folded out of the
 * conv, ya = act(src). */
static inline __attribute__((always_inline)) void out_row(const float *restrict src, float *restrict y, float *restrict ya,
                                                          int n, int act, float lo, float hi, int stream)
{
    int i = 0;
#ifdef __AVX2__
    if (stream && !((uintptr_t)y & 31) && (!act || !((uintptr_t)ya & 31))) {
        const __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
        for (; i + 8 <= n; i += 8) {
            const __m256 v = _mm256_loadu_ps(src + i);
            _mm256_stream_ps(y + i, v);
            if (act) _mm256_stream_ps(ya + i, v_act_fwd(act, v, vlo, vhi));
        }
        for (; i < n; i++) {
            y[i] = src[i];
            if (act) ya[i] = fr_conv_act_fwd(act, lo, hi, src[i]);
        }
        return;
    }
#endif
    memcpy(y, src, sizeof(float) * (size_t)n);
    if (act) copy_act(src, ya, (size_t)n, act, lo, hi);
}

/* One stride-1 dx row: dr = act'(xr) src, the folded input activation's backward (a copy
 * without one). */
static inline __attribute__((always_inline)) void merge_row1(const float *restrict src, const float *restrict xr,
                                                             float *restrict dr, int n, int act, float lo, float hi,
                                                             int stream)
{
    int i = 0;
#ifdef __AVX2__
    if (stream && !((uintptr_t)dr & 31)) {
        const __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
        for (; i + 8 <= n; i += 8)
            _mm256_stream_ps(dr + i, v_act_bwd(act, _mm256_loadu_ps(xr + i), _mm256_loadu_ps(src + i), vlo, vhi));
    }
#endif
    for (; i < n; i++) dr[i] = fr_conv_act_bwd(act, lo, hi, xr[i], src[i]);
}

/* Interleaves the even (a) and odd (b) columns of one dx row, applying the folded activation's
 * backward on the way (fr_conv_act_bwd on the input row xr); `act` is a constant at each call
 * site. */
static inline __attribute__((always_inline)) void merge_row2(const float *restrict a, const float *restrict b,
                                                             const float *restrict xr, float *restrict dr, int w,
                                                             int act, float lo, float hi, int stream)
{
    const int half = w / 2;
    int k0 = 0;
#ifdef __AVX2__
    /* pairs (a[k], b[k]) interleaved eight outputs at a time, streamed (fr_conv_stream_bytes) */
    if (stream && ((uintptr_t)dr & 31) == 0) {
        const __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
        for (; k0 + 4 <= half; k0 += 4) {
            const __m128 va = _mm_loadu_ps(a + k0), vb = _mm_loadu_ps(b + k0);
            const __m256 d = _mm256_set_m128(_mm_unpackhi_ps(va, vb), _mm_unpacklo_ps(va, vb));
            _mm256_stream_ps(dr + 2 * k0, v_act_bwd(act, _mm256_loadu_ps(xr + 2 * k0), d, vlo, vhi));
        }
    }
#endif
    for (int k = k0; k < half; k++) {
        dr[2 * k] = fr_conv_act_bwd(act, lo, hi, xr[2 * k], a[k]);
        dr[2 * k + 1] = fr_conv_act_bwd(act, lo, hi, xr[2 * k + 1], b[k]);
    }
    if (w & 1) dr[w - 1] = fr_conv_act_bwd(act, lo, hi, xr[w - 1], a[half]);
}

/* Phase planes -> dx plane: each input pixel lives in exactly one phase, so this assigns all.
 * x: the input plane, for a folded activation's backward (applied per row once it is whole). */
static void phase_merge(const fr_conv_shape *s, const dw_geom *g, const float *ph, const float *x, float *dx, int stream)
{
    if (s->sw == 2) {   /* both column phases of a row in one interleaving pass (vectorised),
                         * rows in input order (x read and dx written front to back) */
        const int w = s->w, pl = s->pl;
        for (int r = 0; r < g->hq; r++)
            for (int py = 0; py < s->sh; py++) {
                int iy = r * s->sh + py - s->pt;
                if (iy < 0 || iy >= s->h) continue;
                const float *s0 = ph + (size_t)(py * 2) * g->pstride + (size_t)r * g->wq, *s1 = s0 + g->pstride;
                /* input column ix is padded column ix + pl: phase (ix + pl) & 1, index (ix + pl) >> 1 */
                const float *a = pl & 1 ? s1 + (pl - 1) / 2 : s0 + pl / 2;   /* even ix */
                const float *b = pl & 1 ? s0 + (pl + 1) / 2 : s1 + pl / 2;   /* odd ix */
                const float *xr = x + (size_t)iy * w;
                float *dr = dx + (size_t)iy * w;
                switch (s->act) {
                case FR_CONV_ACT_RELU: merge_row2(a, b, xr, dr, w, FR_CONV_ACT_RELU, 0, 0, stream); break;
                case FR_CONV_ACT_CLIP: merge_row2(a, b, xr, dr, w, FR_CONV_ACT_CLIP, s->act_lo, s->act_hi, stream); break;
                default: merge_row2(a, b, xr, dr, w, 0, 0, 0, stream); break;
                }
            }
        return;
    }
    if (s->sh == 1 && s->sw == 1) {   /* one phase: each row copied with the activation's backward on the way */
        int clo, chi;
        tap_range(-s->pl, 1, s->w, g->wq, &clo, &chi);
        for (int r = 0; r < g->hq; r++) {
            int iy = r - s->pt;
            if (iy < 0 || iy >= s->h) continue;
            const float *sr = ph + (size_t)r * g->wq + clo;
            const size_t at = (size_t)iy * s->w + (size_t)(clo - s->pl);
            const int n = chi - clo;
            switch (s->act) {
            case FR_CONV_ACT_RELU: merge_row1(sr, x + at, dx + at, n, FR_CONV_ACT_RELU, 0, 0, stream); break;
            case FR_CONV_ACT_CLIP: merge_row1(sr, x + at, dx + at, n, FR_CONV_ACT_CLIP, s->act_lo, s->act_hi, stream); break;
            default: merge_row1(sr, x + at, dx + at, n, 0, 0, 0, stream); break;
            }
        }
        return;
    }
    for (int py = 0; py < s->sh; py++)
        for (int px = 0; px < s->sw; px++) {
            const float *src = ph + (size_t)(py * s->sw + px) * g->pstride;
            int clo, chi;
            tap_range(px - s->pl, s->sw, s->w, g->wq, &clo, &chi);
            for (int r = 0; r < g->hq; r++) {
                int iy = r * s->sh + py - s->pt;
                if (iy < 0 || iy >= s->h) continue;
                const float *sr = src + (size_t)r * g->wq;
                float *dr = dx + (size_t)iy * s->w;
                const int off = px - s->pl;
                if (s->sw == 1) memcpy(dr + (clo + off), sr + clo, sizeof(float) * (chi - clo));
                else for (int c = clo; c < chi; c++) dr[c * s->sw + off] = sr[c];
            }
        }
    back_act(x, dx, dx, (size_t)s->h * s->w, s->act, s->act_lo, s->act_hi);
}

static inline size_t dw_tap_offset(const fr_conv_shape *s, const dw_geom *g, int ki, int kj)
{
    int ty = ki * s->dh, tx = kj * s->dw;
    return (size_t)((ty % s->sh) * s->sw + tx % s->sw) * g->pstride + (size_t)(ty / s->sh) * g->wq + tx / s->sw;
}

/* dst[i] = (((b + w0*t0[i]) + w1*t1[i]) + ...) + w8*t8[i]: the nine taps of a 3x3 depthwise
 * output accumulated in a register, in tap order (fp-contract is off: mul then add, as the
 * per-tap sweeps do). */
static void dw_sweep9(float *restrict dst, const float *const t[9], const float *w, float b, size_t L)
{
    const float *restrict t0 = t[0], *restrict t1 = t[1], *restrict t2 = t[2], *restrict t3 = t[3];
    const float *restrict t4 = t[4], *restrict t5 = t[5], *restrict t6 = t[6], *restrict t7 = t[7];
    const float *restrict t8 = t[8];
    const float w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3], w4 = w[4], w5 = w[5], w6 = w[6], w7 = w[7], w8 = w[8];
    for (size_t i = 0; i < L; i++) {
        float a = b;
        a += w0 * t0[i]; a += w1 * t1[i]; a += w2 * t2[i];
        a += w3 * t3[i]; a += w4 * t4[i]; a += w5 * t5[i];
        a += w6 * t6[i]; a += w7 * t7[i]; a += w8 * t8[i];
        dst[i] = a;
    }
}

/* dst[i] = ((0 + w0*t0[i]) + w1*t1[i]) + ... over n taps (n = 0: zeros), for the gather-form
 * backward.  The phases of stride 1 (9 taps) and of stride 2 with 4 or 2 taps keep their taps
 * in registers (local copies, so the loops vectorise); any other count (stride 2's one-tap
 * phase, other strides and dilations) runs one sweep per tap over zeroed dst: the same
 * additions in the same order. */
static void dw_gather(float *restrict dst, const float *const *t, const float *w, int n, size_t L)
{
    if (n == 9) { dw_sweep9(dst, t, w, 0.0f, L); return; }
    if (n == 4) {
        const float *restrict t0 = t[0], *restrict t1 = t[1], *restrict t2 = t[2], *restrict t3 = t[3];
        const float w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3];
        for (size_t i = 0; i < L; i++) {
            float a = 0.0f;
            a += w0 * t0[i]; a += w1 * t1[i]; a += w2 * t2[i]; a += w3 * t3[i];
            dst[i] = a;
        }
        return;
    }
    if (n == 2) {
        const float *restrict t0 = t[0], *restrict t1 = t[1];
        const float w0 = w[0], w1 = w[1];
        for (size_t i = 0; i < L; i++) {
            float a = 0.0f;
            a += w0 * t0[i]; a += w1 * t1[i];
            dst[i] = a;
        }
        return;
    }
    memset(dst, 0, sizeof(float) * L);
    for (int q = 0; q < n; q++) {
        const float *restrict src = t[q];
        const float wq = w[q];
        for (size_t i = 0; i < L; i++) dst[i] += wq * src[i];
    }
}

void fr_dw_forward(const fr_conv_shape *s, const float *x, const float *Wt, const float *b,
                            float *y, float *scratch, int c0, int c1)
{
    const dw_geom g = dw_scratch_geom(s);
    const int C = s->c, OW = s->ow, KK = s->kh * s->kw;
    const size_t HW = (size_t)s->h * s->w, P = (size_t)s->oh * OW;
    const int stream = dw_stream((size_t)s->n * C * P);
    float *xph = scratch, *wide = scratch + 2 * g.nph * g.pstride + g.phase;
    for (int n0 = 0; n0 < s->n; n0 += g.nb) {
        const int kb = FR_MIN(g.nb, s->n - n0);
        const size_t L = dw_sweep_len(s, &g, kb);
        for (int ch = c0; ch < c1; ch++) {
            for (int k = 0; k < kb; k++)
                phase_split(s, &g, x + ((size_t)(n0 + k) * C + ch) * HW, xph + (size_t)k * g.phase);
            const float *wc = Wt + (size_t)ch * KK;
            const float bv = b ? b[ch] : 0.0f;
            if (KK == 9 && !fr_conv_legacy()) {
                /* 3x3: all nine taps of an output in registers, one store; the same additions in
                 * the same order as the sweeps below, so the same bits. */
                const float *t[9];
                for (int q = 0; q < 9; q++) t[q] = xph + dw_tap_offset(s, &g, q / 3, q % 3);
                dw_sweep9(wide, t, wc, bv, L);
            } else {
                for (size_t i = 0; i < L; i++) wide[i] = bv;
                for (int ki = 0; ki < s->kh; ki++)
                    for (int kj = 0; kj < s->kw; kj++) {
                        const float wv = wc[ki * s->kw + kj];
                        const float *restrict src = xph + dw_tap_offset(s, &g, ki, kj);
                        float *restrict dst = wide;
                        for (size_t i = 0; i < L; i++) dst[i] += wv * src[i];
                    }
            }
            for (int k = 0; k < kb; k++) {
                const size_t at = ((size_t)(n0 + k) * C + ch) * P;
                const float *wk = wide + (size_t)k * g.phase;
                for (int oy = 0; oy < s->oh; oy++) {
                    const float *sr = wk + (size_t)oy * g.wq;
                    float *yr = y + at + (size_t)oy * OW;
                    switch (s->oact) {
                    case FR_CONV_ACT_RELU: out_row(sr, yr, s->yact + at + (size_t)oy * OW, OW, FR_CONV_ACT_RELU, 0, 0, stream); break;
                    case FR_CONV_ACT_CLIP:
                        out_row(sr, yr, s->yact + at + (size_t)oy * OW, OW, FR_CONV_ACT_CLIP, s->oact_lo, s->oact_hi, stream);
                        break;
                    default: out_row(sr, yr, NULL, OW, 0, 0, 0, stream); break;
                    }
                }
            }
        }
    }
#ifdef __AVX2__
    if (stream) _mm_sfence();   /* the streamed rows visible before this part reports done */
#endif
}

void fr_dw_backward(const fr_conv_shape *s, const float *x, const float *Wt, const float *dy,
                             float *dx, float *dW, float *db, float *scratch, int c0, int c1)
{
    const dw_geom g = dw_scratch_geom(s);
    const int C = s->c, OW = s->ow, KK = s->kh * s->kw;
    const size_t HW = (size_t)s->h * s->w, P = (size_t)s->oh * OW;
    const int stream = dw_stream((size_t)s->n * C * HW);
    float *xph = scratch, *dxph = scratch + g.nph * g.pstride, *wide = scratch + 2 * g.nph * g.pstride + g.phase;
    for (int ch = c0; ch < c1; ch++) {
        const float *wc = Wt + (size_t)ch * KK;
        float *dwc = dW ? dW + (size_t)ch * KK : NULL;
        if (dwc) for (int t = 0; t < KK; t++) dwc[t] = 0.0f;
        double bsum = 0.0;
        for (int n0 = 0; n0 < s->n; n0 += g.nb) {
            const int kb = FR_MIN(g.nb, s->n - n0);
            const size_t L = dw_sweep_len(s, &g, kb);
            /* dy in the wide layout; garbage rows/columns zero so they contribute nothing. */
            memset(wide, 0, sizeof(float) * (size_t)kb * g.phase);
            for (int k = 0; k < kb; k++) {
                const size_t at = ((size_t)(n0 + k) * C + ch) * P;
                const float *dyc = dy + at;
                float *wk = wide + (size_t)k * g.phase;
                if (s->oact && !db) {   /* the folded output activation's backward, row by row into the wide layout */
                    for (int oy = 0; oy < s->oh; oy++)
                        back_act(s->ypre + at + (size_t)oy * OW, dyc + (size_t)oy * OW, wk + (size_t)oy * g.wq, (size_t)OW,
                                 s->oact, s->oact_lo, s->oact_hi);
                    continue;
                }
                if (s->oact) {   /* into a plane of its own first: db sums it whole, as the separate pass's gradient */
                    float *m = scratch + 2 * g.nph * g.pstride + g.pstride + 2 * g.phase;
                    back_act(s->ypre + at, dyc, m, P, s->oact, s->oact_lo, s->oact_hi);
                    dyc = m;
                }
                for (int oy = 0; oy < s->oh; oy++)
                    memcpy(wk + (size_t)oy * g.wq, dyc + (size_t)oy * OW, sizeof(float) * OW);
                if (db) bsum += sumf(dyc, P);
            }
            if (dwc) {
                for (int k = 0; k < kb; k++)
                    phase_split(s, &g, x + ((size_t)(n0 + k) * C + ch) * HW, xph + (size_t)k * g.phase);
                for (int ki = 0; ki < s->kh; ki++)
                    for (int kj = 0; kj < s->kw; kj++)
                        dwc[ki * s->kw + kj] += dotf(wide, xph + dw_tap_offset(s, &g, ki, kj), L);
            }
            if (dx && KK == 9 && !fr_conv_legacy()) {
                /* 3x3: gather form.  Input position j of phase p receives w_t * dy[j - off_t] from
                 * every tap t of that phase, in tap order, as the scatter sweeps below add them
                 * into a zeroed plane; positions a tap does not reach read the zero margin (adding
                 * +-0 changes no sum), so each phase stack is written once, with no memset and no
                 * read-modify-write sweeps.  A phase no tap falls in (dilation = stride) is zero. */
                size_t off[9], span = (size_t)kb * g.phase, m = 0;
                int ph[9];
                for (int q = 0; q < 9; q++) {
                    const size_t o = dw_tap_offset(s, &g, q / 3, q % 3);
                    ph[q] = (int)(o / g.pstride);
                    off[q] = o % g.pstride;   /* within the phase: below one plane */
                    if (off[q] > m) m = off[q];
                }
                float *wz = wide - m;      /* dy with m zeros before and after (dw_part_floats) */
                memset(wz, 0, sizeof(float) * m);
                memset(wide + L, 0, sizeof(float) * (span - L + m));
                for (int p = 0; p < (int)g.nph; p++) {
                    const float *t[9];
                    float wt[9];
                    int nt = 0;
                    for (int q = 0; q < 9; q++)
                        if (ph[q] == p) { t[nt] = wz + m - off[q]; wt[nt++] = wc[q]; }
                    dw_gather(dxph + (size_t)p * g.pstride, t, wt, nt, span);
                }
                for (int k = 0; k < kb; k++) {
                    const size_t pl = ((size_t)(n0 + k) * C + ch) * HW;
                    phase_merge(s, &g, dxph + (size_t)k * g.phase, x + pl, dx + pl, stream);
                }
            } else if (dx) {
                memset(dxph, 0, sizeof(float) * g.nph * g.pstride);
                for (int ki = 0; ki < s->kh; ki++)
                    for (int kj = 0; kj < s->kw; kj++) {
                        const float wv = wc[ki * s->kw + kj];
                        float *restrict dst = dxph + dw_tap_offset(s, &g, ki, kj);
                        const float *restrict src = wide;
                        for (size_t i = 0; i < L; i++) dst[i] += wv * src[i];
                    }
                for (int k = 0; k < kb; k++) {
                    const size_t pl = ((size_t)(n0 + k) * C + ch) * HW;
                    phase_merge(s, &g, dxph + (size_t)k * g.phase, x + pl, dx + pl, stream);
                }
            }
        }
        if (db) db[ch] = (float)bsum;
    }
#ifdef __AVX2__
    if (stream) _mm_sfence();   /* the streamed dx rows visible before this part reports done */
#endif
}
