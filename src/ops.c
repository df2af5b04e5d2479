/* ops.c — float32 NCHW operator kernels, forward and backward.  Contract: include/frtui/ops.h.
 *
 * Design note
 *   Ownership: nothing here allocates or keeps state; every buffer belongs to the caller.  The
 *   only working memory is the caller's conv scratch, sized by fr_conv_scratch().
 *   Threading: kernels are re-entrant; parallelism comes from OpenBLAS inside cblas_sgemm.
 *   Conv strategy, chosen per shape:
 *   - pointwise (1x1, stride 1, no padding): the input plane block [C_g, H*W] already *is* the
 *     column matrix, so one GEMM per sample-group and no scratch traffic;
 *   - depthwise (groups == c == o): direct loops.  im2col would build a [kh*kw, P] matrix per
 *     channel to feed a 1-row GEMM, which is all overhead.  The padded plane is split into
 *     stride phases in scratch so every tap is one flat vectorised sweep (see dw_flat);
 *     negative (cropping) padding, which no real model uses, falls back to im2col;
 *   - everything else: im2col per sample-group into scratch, then
 *     forward  Y_g[O_g, P] = W_g[O_g, K] * col[K, P]
 *     backward dW_g[O_g, K] += dy_g[O_g, P] * col^T  (beta 0 on the first sample, then 1)
 *              col = W_g^T * dy_g, then col2im into dx.
 *   Invariant for all window ops (conv, pools): window tap (ki, kj) of output (oy, ox) reads
 *   input (oy*sh - pt + ki*dh, ox*sw - pl + kj*dw); taps outside [0,H)x[0,W) are padding.
 *   tap_range() turns that into a half-open range of outputs, so inner loops carry no bounds
 *   tests.
 *   Reductions (bias grads, BN statistics, GAP) use 16-lane float partial sums per plane
 *   (sumf/dotf: vectorised, fixed order, so deterministic) and add the planes up in double.
 */
#include "frtui/ops.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "frtui/common.h"

/* -O2 in GCC 12 only vectorises loops whose trip count is a known multiple of the vector
 * width; the direct kernels below need the dynamic cost model to vectorise at all. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("tree-vectorize", "vect-cost-model=dynamic")
#endif

/* ---- shapes ------------------------------------------------------------------------------- */

int fr_conv_out_shape(fr_conv_shape *s)
{
    s->oh = s->ow = 0;
    if (s->kh < 1 || s->kw < 1 || s->sh < 1 || s->sw < 1 || s->dh < 1 || s->dw < 1) return 0;
    if (s->h < 1 || s->w < 1) return 0;
    long eh = (long)s->h + s->pt + s->pb - (long)s->dh * (s->kh - 1) - 1;
    long ew = (long)s->w + s->pl + s->pr - (long)s->dw * (s->kw - 1) - 1;
    if (eh < 0 || ew < 0) return 0;
    s->oh = (int)(eh / s->sh + 1);
    s->ow = (int)(ew / s->sw + 1);
    return 1;
}

static int is_pointwise(const fr_conv_shape *s)
{
    return s->kh == 1 && s->kw == 1 && s->sh == 1 && s->sw == 1 &&
           s->pt == 0 && s->pl == 0 && s->pb == 0 && s->pr == 0;
}

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
static int dw_flat(const fr_conv_shape *s)
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

size_t fr_conv_scratch(const fr_conv_shape *s)
{
    FR_ASSERT(s->groups >= 1);
    size_t n;
    if (dw_flat(s)) {
        dw_geom g = dw_scratch_geom(s);
        n = 2 * g.nph * g.pstride + g.pstride;   /* x phases, dx phases, wide y/dy */
    } else if (is_pointwise(s)) {
        n = 0;
    } else {
        n = (size_t)(s->c / s->groups) * s->kh * s->kw * s->oh * s->ow;
    }
    return n ? n : 1;   /* never 0, so it can go straight to an allocator */
}

double fr_conv_flops(const fr_conv_shape *s)
{
    return 2.0 * s->n * s->o * (double)s->oh * s->ow * (s->c / s->groups) * s->kh * s->kw;
}

/* Outputs o in [*lo, *hi) whose tap o*stride + off lands inside [0, n). */
static inline void tap_range(int off, int stride, int n, int on, int *lo, int *hi)
{
    int l = off >= 0 ? 0 : (-off + stride - 1) / stride;
    int h = (n - 1 - off) < 0 ? 0 : (n - 1 - off) / stride + 1;
    if (l > on) l = on;
    if (h > on) h = on;
    if (h < l) h = l;
    *lo = l;
    *hi = h;
}

/* ---- conv: im2col path -------------------------------------------------------------------- */

static void im2col(const fr_conv_shape *s, int cg, const float *x, float *col)
{
    const int H = s->h, W = s->w, OH = s->oh, OW = s->ow;
    const size_t P = (size_t)OH * OW;
    for (int ci = 0; ci < cg; ci++) {
        const float *xc = x + (size_t)ci * H * W;
        for (int ki = 0; ki < s->kh; ki++) {
            int offy = ki * s->dh - s->pt, ylo, yhi;
            tap_range(offy, s->sh, H, OH, &ylo, &yhi);
            for (int kj = 0; kj < s->kw; kj++) {
                int offx = kj * s->dw - s->pl, xlo, xhi;
                tap_range(offx, s->sw, W, OW, &xlo, &xhi);
                float *row = col + ((size_t)(ci * s->kh + ki) * s->kw + kj) * P;
                if (ylo > 0) memset(row, 0, sizeof(float) * (size_t)ylo * OW);
                for (int oy = ylo; oy < yhi; oy++) {
                    float *r = row + (size_t)oy * OW;
                    const float *xr = xc + (size_t)(oy * s->sh + offy) * W;   /* row start */
                    if (xlo > 0) memset(r, 0, sizeof(float) * xlo);
                    if (s->sw == 1) {
                        memcpy(r + xlo, xr + (xlo + offx), sizeof(float) * (xhi - xlo));
                    } else {
                        for (int ox = xlo; ox < xhi; ox++) r[ox] = xr[ox * s->sw + offx];
                    }
                    if (xhi < OW) memset(r + xhi, 0, sizeof(float) * (OW - xhi));
                }
                if (yhi < OH) memset(row + (size_t)yhi * OW, 0, sizeof(float) * (size_t)(OH - yhi) * OW);
            }
        }
    }
}

/* dx += col2im(col); dx holds cg planes. */
static void col2im(const fr_conv_shape *s, int cg, const float *col, float *dx)
{
    const int H = s->h, W = s->w, OH = s->oh, OW = s->ow;
    const size_t P = (size_t)OH * OW;
    for (int ci = 0; ci < cg; ci++) {
        float *dc = dx + (size_t)ci * H * W;
        for (int ki = 0; ki < s->kh; ki++) {
            int offy = ki * s->dh - s->pt, ylo, yhi;
            tap_range(offy, s->sh, H, OH, &ylo, &yhi);
            for (int kj = 0; kj < s->kw; kj++) {
                int offx = kj * s->dw - s->pl, xlo, xhi;
                tap_range(offx, s->sw, W, OW, &xlo, &xhi);
                const float *row = col + ((size_t)(ci * s->kh + ki) * s->kw + kj) * P;
                for (int oy = ylo; oy < yhi; oy++) {
                    const float *restrict r = row + (size_t)oy * OW;
                    float *restrict dr = dc + (size_t)(oy * s->sh + offy) * W;
                    if (s->sw == 1) {
                        for (int ox = xlo; ox < xhi; ox++) dr[ox + offx] += r[ox];
                    } else {
                        for (int ox = xlo; ox < xhi; ox++) dr[ox * s->sw + offx] += r[ox];
                    }
                }
            }
        }
    }
}

/* ---- conv: depthwise direct kernels ------------------------------------------------------- */

/* Sum of a[i]*b[i] with 16 independent partial sums: the fixed-width inner loop vectorises
 * (a plain float reduction would not without -ffast-math) and the order is deterministic. */
static float dotf(const float *restrict a, const float *restrict b, size_t n)
{
    float acc[16] = {0};
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; j++) acc[j] += a[i + j] * b[i + j];
    float t = 0.0f;
    for (; i < n; i++) t += a[i] * b[i];
    for (int j = 0; j < 16; j++) t += acc[j];
    return t;
}

static float sumf(const float *restrict a, size_t n)
{
    float acc[16] = {0};
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; j++) acc[j] += a[i + j];
    float t = 0.0f;
    for (; i < n; i++) t += a[i];
    for (int j = 0; j < 16; j++) t += acc[j];
    return t;
}

/* Sum of (a[i] - mu)^2, same scheme. */
static float sqdevf(const float *restrict a, float mu, size_t n)
{
    float acc[16] = {0};
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; j++) { float d = a[i + j] - mu; acc[j] += d * d; }
    float t = 0.0f;
    for (; i < n; i++) { float d = a[i] - mu; t += d * d; }
    for (int j = 0; j < 16; j++) t += acc[j];
    return t;
}

/* x plane -> one sample slot of the zero-padded phase planes (every element written). */
static void phase_split(const fr_conv_shape *s, const dw_geom *g, const float *x, float *ph)
{
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
                if (s->sw == 1) memcpy(dr + clo, xr + (clo + off), sizeof(float) * (chi - clo));
                else for (int c = clo; c < chi; c++) dr[c] = xr[c * s->sw + off];
                if (chi < g->wq) memset(dr + chi, 0, sizeof(float) * (g->wq - chi));
            }
        }
}

/* Phase planes -> dx plane: each input pixel lives in exactly one phase, so this assigns all. */
static void phase_merge(const fr_conv_shape *s, const dw_geom *g, const float *ph, float *dx)
{
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
}

static inline size_t dw_tap_offset(const fr_conv_shape *s, const dw_geom *g, int ki, int kj)
{
    int ty = ki * s->dh, tx = kj * s->dw;
    return (size_t)((ty % s->sh) * s->sw + tx % s->sw) * g->pstride + (size_t)(ty / s->sh) * g->wq + tx / s->sw;
}

static void dw_forward_flat(const fr_conv_shape *s, const float *x, const float *Wt, const float *b,
                            float *y, float *scratch)
{
    const dw_geom g = dw_scratch_geom(s);
    const int C = s->c, OW = s->ow, KK = s->kh * s->kw;
    const size_t HW = (size_t)s->h * s->w, P = (size_t)s->oh * OW;
    float *xph = scratch, *wide = scratch + 2 * g.nph * g.pstride;
    for (int n0 = 0; n0 < s->n; n0 += g.nb) {
        const int kb = FR_MIN(g.nb, s->n - n0);
        const size_t L = dw_sweep_len(s, &g, kb);
        for (int ch = 0; ch < C; ch++) {
            for (int k = 0; k < kb; k++)
                phase_split(s, &g, x + ((size_t)(n0 + k) * C + ch) * HW, xph + (size_t)k * g.phase);
            const float *wc = Wt + (size_t)ch * KK;
            const float bv = b ? b[ch] : 0.0f;
            for (size_t i = 0; i < L; i++) wide[i] = bv;
            for (int ki = 0; ki < s->kh; ki++)
                for (int kj = 0; kj < s->kw; kj++) {
                    const float wv = wc[ki * s->kw + kj];
                    const float *restrict src = xph + dw_tap_offset(s, &g, ki, kj);
                    float *restrict dst = wide;
                    for (size_t i = 0; i < L; i++) dst[i] += wv * src[i];
                }
            for (int k = 0; k < kb; k++) {
                float *yc = y + ((size_t)(n0 + k) * C + ch) * P;
                const float *wk = wide + (size_t)k * g.phase;
                for (int oy = 0; oy < s->oh; oy++)
                    memcpy(yc + (size_t)oy * OW, wk + (size_t)oy * g.wq, sizeof(float) * OW);
            }
        }
    }
}

static void dw_backward_flat(const fr_conv_shape *s, const float *x, const float *Wt, const float *dy,
                             float *dx, float *dW, float *db, float *scratch)
{
    const dw_geom g = dw_scratch_geom(s);
    const int C = s->c, OW = s->ow, KK = s->kh * s->kw;
    const size_t HW = (size_t)s->h * s->w, P = (size_t)s->oh * OW;
    float *xph = scratch, *dxph = scratch + g.nph * g.pstride, *wide = scratch + 2 * g.nph * g.pstride;
    for (int ch = 0; ch < C; ch++) {
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
                const float *dyc = dy + ((size_t)(n0 + k) * C + ch) * P;
                float *wk = wide + (size_t)k * g.phase;
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
            if (dx) {
                memset(dxph, 0, sizeof(float) * g.nph * g.pstride);
                for (int ki = 0; ki < s->kh; ki++)
                    for (int kj = 0; kj < s->kw; kj++) {
                        const float wv = wc[ki * s->kw + kj];
                        float *restrict dst = dxph + dw_tap_offset(s, &g, ki, kj);
                        const float *restrict src = wide;
                        for (size_t i = 0; i < L; i++) dst[i] += wv * src[i];
                    }
                for (int k = 0; k < kb; k++)
                    phase_merge(s, &g, dxph + (size_t)k * g.phase, dx + ((size_t)(n0 + k) * C + ch) * HW);
            }
        }
        if (db) db[ch] = (float)bsum;
    }
}

/* ---- conv: public entry points ------------------------------------------------------------ */

void fr_conv_forward(const fr_conv_shape *s, const float *x, const float *W, const float *b,
                     float *y, float *scratch)
{
    FR_ASSERT(s->groups >= 1 && s->c % s->groups == 0 && s->o % s->groups == 0);
    FR_ASSERT(s->oh > 0 && s->ow > 0);
    if (s->n <= 0) return;
    if (dw_flat(s)) { dw_forward_flat(s, x, W, b, y, scratch); return; }
    const int G = s->groups, cg = s->c / G, og = s->o / G;
    const int K = cg * s->kh * s->kw;
    const int P = s->oh * s->ow;
    const int pw = is_pointwise(s);
    const size_t HW = (size_t)s->h * s->w;
    for (int n = 0; n < s->n; n++) {
        for (int g = 0; g < G; g++) {
            const float *xg = x + ((size_t)n * s->c + (size_t)g * cg) * HW;
            float *yg = y + ((size_t)n * s->o + (size_t)g * og) * P;
            const float *col = xg;
            if (!pw) { im2col(s, cg, xg, scratch); col = scratch; }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, og, P, K, 1.0f,
                        W + (size_t)g * og * K, K, col, P, 0.0f, yg, P);
            if (b) {
                for (int oc = 0; oc < og; oc++) {
                    float bv = b[g * og + oc], *yr = yg + (size_t)oc * P;
                    for (int i = 0; i < P; i++) yr[i] += bv;
                }
            }
        }
    }
}

void fr_conv_backward(const fr_conv_shape *s, const float *x, const float *W, const float *dy,
                      float *dx, float *dW, float *db, float *scratch)
{
    FR_ASSERT(s->groups >= 1 && s->c % s->groups == 0 && s->o % s->groups == 0);
    FR_ASSERT(s->oh > 0 && s->ow > 0);
    const int G = s->groups, cg = s->c / G, og = s->o / G;
    const int K = cg * s->kh * s->kw;
    const int P = s->oh * s->ow;
    if (s->n <= 0) {
        if (dW) memset(dW, 0, sizeof(float) * (size_t)s->o * K);
        if (db) memset(db, 0, sizeof(float) * (size_t)s->o);
        return;
    }
    if (dw_flat(s)) { dw_backward_flat(s, x, W, dy, dx, dW, db, scratch); return; }
    const int pw = is_pointwise(s);
    const size_t HW = (size_t)s->h * s->w;
    if (db) {
        for (int oc = 0; oc < s->o; oc++) {
            double t = 0.0;
            for (int n = 0; n < s->n; n++) t += sumf(dy + ((size_t)n * s->o + oc) * P, (size_t)P);
            db[oc] = (float)t;
        }
    }
    for (int n = 0; n < s->n; n++) {
        for (int g = 0; g < G; g++) {
            const float *xg = x + ((size_t)n * s->c + (size_t)g * cg) * HW;
            const float *dyg = dy + ((size_t)n * s->o + (size_t)g * og) * P;
            const float *Wg = W + (size_t)g * og * K;
            if (dW) {
                const float *col = xg;
                if (!pw) { im2col(s, cg, xg, scratch); col = scratch; }
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, og, K, P, 1.0f,
                            dyg, P, col, P, n == 0 ? 0.0f : 1.0f, dW + (size_t)g * og * K, K);
            }
            if (dx) {
                float *dxg = dx + ((size_t)n * s->c + (size_t)g * cg) * HW;
                if (pw) {
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, P, og, 1.0f,
                                Wg, K, dyg, P, 0.0f, dxg, P);
                } else {
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, P, og, 1.0f,
                                Wg, K, dyg, P, 0.0f, scratch, P);
                    memset(dxg, 0, sizeof(float) * (size_t)cg * HW);
                    col2im(s, cg, scratch, dxg);
                }
            }
        }
    }
}

/* ---- linear ------------------------------------------------------------------------------- */

void fr_linear_forward(int n, int in, int out, const float *x, const float *W, const float *b, float *y)
{
    if (n <= 0) return;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, out, in, 1.0f, x, in, W, in, 0.0f, y, out);
    if (b) {
        for (int i = 0; i < n; i++) {
            float *restrict yr = y + (size_t)i * out;
            for (int j = 0; j < out; j++) yr[j] += b[j];
        }
    }
}

void fr_linear_backward(int n, int in, int out, const float *x, const float *W, const float *dy,
                        float *dx, float *dW, float *db)
{
    if (n <= 0) {
        if (dW) memset(dW, 0, sizeof(float) * (size_t)out * in);
        if (db) memset(db, 0, sizeof(float) * (size_t)out);
        return;
    }
    if (dW)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, n, 1.0f, dy, out, x, in, 0.0f, dW, in);
    if (dx)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, in, out, 1.0f, dy, out, W, in, 0.0f, dx, in);
    if (db) {
        memset(db, 0, sizeof(float) * (size_t)out);
        for (int i = 0; i < n; i++) {
            const float *restrict r = dy + (size_t)i * out;
            for (int j = 0; j < out; j++) db[j] += r[j];
        }
    }
}

/* ---- activations -------------------------------------------------------------------------- */
/* Comparisons are written so NaN propagates through the forward like PyTorch. */

void fr_relu_forward(size_t count, const float *x, float *y)
{
    for (size_t i = 0; i < count; i++) y[i] = x[i] < 0.0f ? 0.0f : x[i];
}

void fr_relu_backward(size_t count, const float *x, const float *dy, float *dx)
{
    for (size_t i = 0; i < count; i++) dx[i] = x[i] > 0.0f ? dy[i] : 0.0f;
}

void fr_clip_forward(size_t count, const float *x, float lo, float hi, float *y)
{
    for (size_t i = 0; i < count; i++) {
        float v = x[i];
        v = v < lo ? lo : v;
        y[i] = v > hi ? hi : v;
    }
}

void fr_clip_backward(size_t count, const float *x, float lo, float hi,
                      const float *dy, float *dx)
{
    for (size_t i = 0; i < count; i++) dx[i] = (x[i] >= lo && x[i] <= hi) ? dy[i] : 0.0f;
}

void fr_relu6_forward(size_t count, const float *x, float *y) { fr_clip_forward(count, x, 0.0f, 6.0f, y); }

void fr_relu6_backward(size_t count, const float *x, const float *dy, float *dx)
{
    fr_clip_backward(count, x, 0.0f, 6.0f, dy, dx);
}

void fr_sigmoid_forward(size_t count, const float *x, float *y)
{
    /* exp of a non-positive argument only, so neither branch overflows. */
    for (size_t i = 0; i < count; i++) {
        float v = x[i];
        float e = expf(-fabsf(v));
        y[i] = v >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
    }
}

void fr_sigmoid_backward(size_t count, const float *y, const float *dy, float *dx)
{
    for (size_t i = 0; i < count; i++) dx[i] = dy[i] * y[i] * (1.0f - y[i]);
}

void fr_hardsigmoid_forward(size_t count, const float *x, float alpha, float beta, float *y)
{
    for (size_t i = 0; i < count; i++) {
        float t = alpha * x[i] + beta;
        t = t < 0.0f ? 0.0f : t;
        y[i] = t > 1.0f ? 1.0f : t;
    }
}

/* Zero at the kinks, like PyTorch's hardsigmoid_backward (open interval). */
void fr_hardsigmoid_backward(size_t count, const float *x, float alpha, float beta,
                             const float *dy, float *dx)
{
    for (size_t i = 0; i < count; i++) {
        float t = alpha * x[i] + beta;
        dx[i] = (t > 0.0f && t < 1.0f) ? alpha * dy[i] : 0.0f;
    }
}

void fr_hardswish_forward(size_t count, const float *x, float *y)
{
    for (size_t i = 0; i < count; i++) {
        float v = x[i], t = v + 3.0f;
        t = t < 0.0f ? 0.0f : t;
        t = t > 6.0f ? 6.0f : t;
        y[i] = v * t * (1.0f / 6.0f);
    }
}

/* PyTorch's hardswish_backward: 0 below -3, x/3 + 1/2 on [-3, 3], 1 above. */
void fr_hardswish_backward(size_t count, const float *x, const float *dy, float *dx)
{
    for (size_t i = 0; i < count; i++) {
        float v = x[i];
        float g = v < -3.0f ? 0.0f : (v <= 3.0f ? v * (1.0f / 3.0f) + 0.5f : 1.0f);
        dx[i] = dy[i] * g;
    }
}

/* ---- pooling ------------------------------------------------------------------------------ */

/* Index (within the plane) of the first maximum of the window of output (oy, ox), or -1 when
 * the window holds only padding.  NaN wins, as in PyTorch. */
static inline long max_tap(const fr_conv_shape *s, const float *xp, int oy, int ox)
{
    const int y0 = oy * s->sh - s->pt, x0 = ox * s->sw - s->pl;
    long best_i = -1;
    float best = 0.0f;
    for (int ki = 0; ki < s->kh; ki++) {
        int iy = y0 + ki * s->dh;
        if (iy < 0 || iy >= s->h) continue;
        for (int kj = 0; kj < s->kw; kj++) {
            int ix = x0 + kj * s->dw;
            if (ix < 0 || ix >= s->w) continue;
            long idx = (long)iy * s->w + ix;
            float v = xp[idx];
            if (best_i < 0 || v > best || (v != v && best == best)) { best = v; best_i = idx; }
        }
    }
    return best_i;
}

void fr_maxpool_forward(const fr_conv_shape *s, const float *x, float *y)
{
    const size_t HW = (size_t)s->h * s->w, P = (size_t)s->oh * s->ow;
    const size_t planes = (size_t)s->n * s->c;
    for (size_t pl = 0; pl < planes; pl++) {
        const float *xp = x + pl * HW;
        float *yp = y + pl * P;
        for (int oy = 0; oy < s->oh; oy++)
            for (int ox = 0; ox < s->ow; ox++) {
                long i = max_tap(s, xp, oy, ox);
                yp[(size_t)oy * s->ow + ox] = i < 0 ? -INFINITY : xp[i];
            }
    }
}

void fr_maxpool_backward(const fr_conv_shape *s, const float *x, const float *dy, float *dx)
{
    const size_t HW = (size_t)s->h * s->w, P = (size_t)s->oh * s->ow;
    const size_t planes = (size_t)s->n * s->c;
    memset(dx, 0, sizeof(float) * planes * HW);
    for (size_t pl = 0; pl < planes; pl++) {
        const float *xp = x + pl * HW, *dyp = dy + pl * P;
        float *dxp = dx + pl * HW;
        for (int oy = 0; oy < s->oh; oy++)
            for (int ox = 0; ox < s->ow; ox++) {
                long i = max_tap(s, xp, oy, ox);
                if (i >= 0) dxp[i] += dyp[(size_t)oy * s->ow + ox];
            }
    }
}

/* Tap counts of one window axis: taps inside the input [lo, hi) and taps inside the padded
 * extent [-p0, n + p1).  The divisor with count_include_pad is the window clipped to the padded
 * extent (PyTorch's rule, which only differs from kh*kw under ceil-mode overhang). */
static inline void avg_axis(int o, int stride, int p0, int p1, int k, int d, int n,
                            int *lo, int *hi, int *npad)
{
    int start = o * stride - p0, l = k, h = 0, np = 0;
    for (int t = 0; t < k; t++) {
        int i = start + t * d;
        if (i >= -p0 && i < n + p1) np++;
        if (i >= 0 && i < n) { if (t < l) l = t; h = t + 1; }
    }
    if (h == 0) l = 0;
    *lo = l;
    *hi = h;
    *npad = np;
}

void fr_avgpool_forward(const fr_conv_shape *s, int count_include_pad, const float *x, float *y)
{
    const size_t HW = (size_t)s->h * s->w, P = (size_t)s->oh * s->ow;
    const size_t planes = (size_t)s->n * s->c;
    for (size_t pl = 0; pl < planes; pl++) {
        const float *xp = x + pl * HW;
        float *yp = y + pl * P;
        for (int oy = 0; oy < s->oh; oy++) {
            int klo, khi, npy;
            avg_axis(oy, s->sh, s->pt, s->pb, s->kh, s->dh, s->h, &klo, &khi, &npy);
            const int y0 = oy * s->sh - s->pt;
            for (int ox = 0; ox < s->ow; ox++) {
                int llo, lhi, npx;
                avg_axis(ox, s->sw, s->pl, s->pr, s->kw, s->dw, s->w, &llo, &lhi, &npx);
                int cnt = count_include_pad ? npy * npx : (khi - klo) * (lhi - llo);
                const int x0 = ox * s->sw - s->pl;
                float acc = 0.0f;
                for (int ki = klo; ki < khi; ki++) {
                    const float *xr = xp + (size_t)(y0 + ki * s->dh) * s->w;
                    for (int kj = llo; kj < lhi; kj++) acc += xr[x0 + kj * s->dw];
                }
                yp[(size_t)oy * s->ow + ox] = cnt > 0 ? acc / (float)cnt : 0.0f;
            }
        }
    }
}

void fr_avgpool_backward(const fr_conv_shape *s, int count_include_pad, const float *dy, float *dx)
{
    const size_t HW = (size_t)s->h * s->w, P = (size_t)s->oh * s->ow;
    const size_t planes = (size_t)s->n * s->c;
    memset(dx, 0, sizeof(float) * planes * HW);
    for (size_t pl = 0; pl < planes; pl++) {
        const float *dyp = dy + pl * P;
        float *dp = dx + pl * HW;
        for (int oy = 0; oy < s->oh; oy++) {
            int klo, khi, npy;
            avg_axis(oy, s->sh, s->pt, s->pb, s->kh, s->dh, s->h, &klo, &khi, &npy);
            const int y0 = oy * s->sh - s->pt;
            for (int ox = 0; ox < s->ow; ox++) {
                int llo, lhi, npx;
                avg_axis(ox, s->sw, s->pl, s->pr, s->kw, s->dw, s->w, &llo, &lhi, &npx);
                int cnt = count_include_pad ? npy * npx : (khi - klo) * (lhi - llo);
                if (cnt <= 0) continue;
                const float g = dyp[(size_t)oy * s->ow + ox] / (float)cnt;
                const int x0 = ox * s->sw - s->pl;
                for (int ki = klo; ki < khi; ki++) {
                    float *dr = dp + (size_t)(y0 + ki * s->dh) * s->w;
                    for (int kj = llo; kj < lhi; kj++) dr[x0 + kj * s->dw] += g;
                }
            }
        }
    }
}

void fr_gap_forward(int n, int c, int hw, const float *x, float *y)
{
    const size_t planes = (size_t)n * c;
    for (size_t p = 0; p < planes; p++) {
        y[p] = sumf(x + p * hw, (size_t)hw) / (float)hw;
    }
}

void fr_gap_backward(int n, int c, int hw, const float *dy, float *dx)
{
    const size_t planes = (size_t)n * c;
    const float inv = 1.0f / (float)hw;
    for (size_t p = 0; p < planes; p++) {
        float g = dy[p] * inv;
        float *dp = dx + p * hw;
        for (int i = 0; i < hw; i++) dp[i] = g;
    }
}

/* ---- batch norm --------------------------------------------------------------------------- */
/* gamma == NULL means 1 and beta == NULL means 0 (affine=False). */

void fr_bn_infer_forward(int n, int c, int hw, const float *x, const float *gamma, const float *beta,
                         const float *mean, const float *var, float eps, float *y)
{
    for (int ch = 0; ch < c; ch++) {
        const float sc = (gamma ? gamma[ch] : 1.0f) / sqrtf(var[ch] + eps);
        const float sh = (beta ? beta[ch] : 0.0f) - mean[ch] * sc;
        for (int i = 0; i < n; i++) {
            const float *xp = x + ((size_t)i * c + ch) * hw;
            float *yp = y + ((size_t)i * c + ch) * hw;
            for (int k = 0; k < hw; k++) yp[k] = xp[k] * sc + sh;
        }
    }
}

void fr_bn_infer_backward(int n, int c, int hw, const float *gamma, const float *var, float eps,
                          const float *dy, float *dx)
{
    for (int ch = 0; ch < c; ch++) {
        const float sc = (gamma ? gamma[ch] : 1.0f) / sqrtf(var[ch] + eps);
        for (int i = 0; i < n; i++) {
            const float *dyp = dy + ((size_t)i * c + ch) * hw;
            float *dxp = dx + ((size_t)i * c + ch) * hw;
            for (int k = 0; k < hw; k++) dxp[k] = dyp[k] * sc;
        }
    }
}

/* Two passes (mean, then squared deviations): one-pass E[x^2]-E[x]^2 loses the variance
 * entirely when |mean| >> std.  xhat, bmean, binvstd, run_mean, run_var may be NULL. */
void fr_bn_train_forward(int n, int c, int hw, const float *x, const float *gamma, const float *beta,
                         float *run_mean, float *run_var, float momentum, float eps,
                         float *y, float *xhat, float *bmean, float *binvstd)
{
    const double M = (double)n * hw;
    for (int ch = 0; ch < c; ch++) {
        double t = 0.0;
        for (int i = 0; i < n; i++) t += sumf(x + ((size_t)i * c + ch) * hw, (size_t)hw);
        const double mu = M > 0 ? t / M : 0.0;
        double v = 0.0;
        for (int i = 0; i < n; i++) v += sqdevf(x + ((size_t)i * c + ch) * hw, (float)mu, (size_t)hw);
        const double var = M > 0 ? v / M : 0.0;
        const float inv = (float)(1.0 / sqrt(var + eps));
        const float muf = (float)mu;
        const float g = gamma ? gamma[ch] : 1.0f, b = beta ? beta[ch] : 0.0f;
        for (int i = 0; i < n; i++) {
            const size_t off = ((size_t)i * c + ch) * hw;
            const float *xp = x + off;
            float *yp = y + off;
            if (xhat) {
                float *hp = xhat + off;
                for (int k = 0; k < hw; k++) { float h = (xp[k] - muf) * inv; hp[k] = h; yp[k] = g * h + b; }
            } else {
                for (int k = 0; k < hw; k++) yp[k] = g * ((xp[k] - muf) * inv) + b;
            }
        }
        if (bmean) bmean[ch] = muf;
        if (binvstd) binvstd[ch] = inv;
        if (run_mean) run_mean[ch] = (1.0f - momentum) * run_mean[ch] + momentum * muf;
        if (run_var) {
            double unbiased = M > 1 ? v / (M - 1) : var;
            run_var[ch] = (1.0f - momentum) * run_var[ch] + momentum * (float)unbiased;
        }
    }
}

/* dx = gamma*invstd * (dy - mean(dy) - xhat * mean(dy*xhat)). */
void fr_bn_train_backward(int n, int c, int hw, const float *gamma, const float *xhat,
                          const float *binvstd, const float *dy, float *dx, float *dgamma, float *dbeta)
{
    const double M = (double)n * hw;
    for (int ch = 0; ch < c; ch++) {
        double sdy = 0.0, sdyh = 0.0;
        for (int i = 0; i < n; i++) {
            const size_t off = ((size_t)i * c + ch) * hw;
            sdy += sumf(dy + off, (size_t)hw);
            sdyh += dotf(dy + off, xhat + off, (size_t)hw);
        }
        if (dbeta) dbeta[ch] = (float)sdy;
        if (dgamma) dgamma[ch] = (float)sdyh;
        if (!dx || M <= 0) continue;
        const float sc = (gamma ? gamma[ch] : 1.0f) * binvstd[ch];
        const float mdy = (float)(sdy / M), mdyh = (float)(sdyh / M);
        for (int i = 0; i < n; i++) {
            const size_t off = ((size_t)i * c + ch) * hw;
            const float *dyp = dy + off, *hp = xhat + off;
            float *dxp = dx + off;
            for (int k = 0; k < hw; k++) dxp[k] = sc * (dyp[k] - mdy - hp[k] * mdyh);
        }
    }
}

/* ---- softmax / cross-entropy -------------------------------------------------------------- */

void fr_softmax(int n, int c, const float *logits, float *prob)
{
    for (int i = 0; i < n; i++) {
        const float *l = logits + (size_t)i * c;
        float *p = prob + (size_t)i * c;
        float m = l[0];
        for (int j = 1; j < c; j++) m = l[j] > m ? l[j] : m;
        double t = 0.0;
        for (int j = 0; j < c; j++) { p[j] = expf(l[j] - m); t += p[j]; }
        const float inv = (float)(1.0 / t);
        for (int j = 0; j < c; j++) p[j] *= inv;
    }
}

/* loss_i = logsumexp(l_i) - l_i[label]; labels must be in [0, c) (checked by the caller's
 * dataset loader; a bad one here is a programmer error). */
float fr_softmax_xent(int n, int c, const float *logits, const int32_t *labels, float *dlogits)
{
    if (n <= 0) return 0.0f;
    double loss = 0.0;
    const double invn = 1.0 / n;
    for (int i = 0; i < n; i++) {
        const float *l = logits + (size_t)i * c;
        const int32_t lab = labels[i];
        FR_ASSERT(lab >= 0 && lab < c);
        float m = l[0];
        for (int j = 1; j < c; j++) m = l[j] > m ? l[j] : m;
        double t = 0.0;
        for (int j = 0; j < c; j++) t += exp((double)l[j] - m);
        loss += log(t) + m - l[lab];
        if (dlogits) {
            float *d = dlogits + (size_t)i * c;
            const double it = 1.0 / t;
            for (int j = 0; j < c; j++) d[j] = (float)((exp((double)l[j] - m) * it - (j == lab)) * invn);
        }
    }
    return (float)(loss * invn);
}

/* ---- broadcasting binary ops -------------------------------------------------------------- */

/* Per (sample, channel) plane of a, b is one of: a scalar (bh == bw == 1), a full plane, or
 * per-row (b rows of length bw, each either full or a scalar).  Strides of broadcast dims are 0. */
#define BIN_DIMS_OK(n, c, h, w, bn, bc, bh, bw)                                               \
    FR_ASSERT(((bn) == 1 || (bn) == (n)) && ((bc) == 1 || (bc) == (c)) &&                     \
              ((bh) == 1 || (bh) == (h)) && ((bw) == 1 || (bw) == (w)))

#define BIN_FWD_LOOP(EXPR)                                                                     \
    for (int i = 0; i < n; i++)                                                                \
        for (int j = 0; j < c; j++) {                                                          \
            const float *ap = a + ((size_t)i * c + j) * hw;                           \
            float *yp = y + ((size_t)i * c + j) * hw;                                 \
            const float *bp = b + (size_t)i * sbn + (size_t)j * sbc;                  \
            if (bh == 1 && bw == 1) {                                                          \
                const float B = bp[0];                                                         \
                for (size_t k = 0; k < hw; k++) { const float A = ap[k]; yp[k] = (EXPR); }     \
            } else if (bh == h && bw == w) {                                                   \
                for (size_t k = 0; k < hw; k++) { const float A = ap[k], B = bp[k]; yp[k] = (EXPR); } \
            } else {                                                                           \
                for (int r = 0; r < h; r++) {                                                  \
                    const float *ar = ap + (size_t)r * w, *br = bp + (size_t)r * sbh; \
                    float *yr = yp + (size_t)r * w;                                   \
                    if (bw == w) {                                                             \
                        for (int k = 0; k < w; k++) { const float A = ar[k], B = br[k]; yr[k] = (EXPR); } \
                    } else {                                                                   \
                        const float B = br[0];                                                 \
                        for (int k = 0; k < w; k++) { const float A = ar[k]; yr[k] = (EXPR); } \
                    }                                                                          \
                }                                                                              \
            }                                                                                  \
        }

void fr_binary_forward(fr_binop op, int n, int c, int h, int w, const float *a,
                       int bn, int bc, int bh, int bw, const float *b, float *y)
{
    BIN_DIMS_OK(n, c, h, w, bn, bc, bh, bw);
    const size_t hw = (size_t)h * w;
    const size_t sbn = bn == 1 ? 0 : (size_t)bc * bh * bw, sbc = bc == 1 ? 0 : (size_t)bh * bw;
    const size_t sbh = bh == 1 ? 0 : (size_t)bw;
    switch (op) {
    case FR_BIN_ADD: BIN_FWD_LOOP(A + B); break;
    case FR_BIN_SUB: BIN_FWD_LOOP(A - B); break;
    case FR_BIN_MUL: BIN_FWD_LOOP(A * B); break;
    case FR_BIN_DIV: BIN_FWD_LOOP(A / B); break;
    }
}

/* da = dy * dA(EXPR)/dA, db accumulates dy * dEXPR/dB. */
#define BIN_BWD_LOOP(DA, DB)                                                                   \
    for (int i = 0; i < n; i++)                                                                \
        for (int j = 0; j < c; j++) {                                                          \
            const size_t off = ((size_t)i * c + j) * hw;                                       \
            const float *ap = a + off, *gp = dy + off;                       \
            const float *bp = b + (size_t)i * sbn + (size_t)j * sbc;                  \
            float *dap = da ? da + off : NULL;                                        \
            float *dbp = db ? db + (size_t)i * sbn + (size_t)j * sbc : NULL;          \
            if (bh == 1 && bw == 1) {                                                          \
                const float B = bp[0];                                                         \
                (void)B;                                                                       \
                if (dap) for (size_t k = 0; k < hw; k++) { const float A = ap[k], G = gp[k]; (void)A; dap[k] = (DA); } \
                if (dbp) {                                                                     \
                    double t = 0.0;                                                            \
                    for (size_t k = 0; k < hw; k++) { const float A = ap[k], G = gp[k]; (void)A; t += (DB); } \
                    dbp[0] += (float)t;                                                        \
                }                                                                              \
            } else {                                                                           \
                for (int r = 0; r < h; r++) {                                                  \
                    const float *ar = ap + (size_t)r * w, *gr = gp + (size_t)r * w; \
                    const float *br = bp + (size_t)r * sbh;                           \
                    float *dar = dap ? dap + (size_t)r * w : NULL;                    \
                    float *dbr = dbp ? dbp + (size_t)r * sbh : NULL;                  \
                    if (bw == w) {                                                             \
                        if (dar) for (int k = 0; k < w; k++) { const float A = ar[k], B = br[k], G = gr[k]; (void)A; (void)B; dar[k] = (DA); } \
                        if (dbr) for (int k = 0; k < w; k++) { const float A = ar[k], B = br[k], G = gr[k]; (void)A; (void)B; dbr[k] += (DB); } \
                    } else {                                                                   \
                        const float B = br[0];                                                 \
                        (void)B;                                                               \
                        if (dar) for (int k = 0; k < w; k++) { const float A = ar[k], G = gr[k]; (void)A; dar[k] = (DA); } \
                        if (dbr) {                                                             \
                            double t = 0.0;                                                    \
                            for (int k = 0; k < w; k++) { const float A = ar[k], G = gr[k]; (void)A; t += (DB); } \
                            dbr[0] += (float)t;                                                \
                        }                                                                      \
                    }                                                                          \
                }                                                                              \
            }                                                                                  \
        }

void fr_binary_backward(fr_binop op, int n, int c, int h, int w, const float *a,
                        int bn, int bc, int bh, int bw, const float *b, const float *dy,
                        float *da, float *db)
{
    BIN_DIMS_OK(n, c, h, w, bn, bc, bh, bw);
    const size_t hw = (size_t)h * w;
    const size_t sbn = bn == 1 ? 0 : (size_t)bc * bh * bw, sbc = bc == 1 ? 0 : (size_t)bh * bw;
    const size_t sbh = bh == 1 ? 0 : (size_t)bw;
    if (db) memset(db, 0, sizeof(float) * (size_t)bn * bc * bh * bw);
    switch (op) {
    case FR_BIN_ADD: BIN_BWD_LOOP(G, G); break;
    case FR_BIN_SUB: BIN_BWD_LOOP(G, -G); break;
    case FR_BIN_MUL: BIN_BWD_LOOP(G * B, G * A); break;
    case FR_BIN_DIV: BIN_BWD_LOOP(G / B, -G * A / (B * B)); break;
    }
}

/* ---- pad / transpose ---------------------------------------------------------------------- */
/* Negative pads crop (ONNX Pad allows them). */

void fr_pad_forward(int n, int c, int h, int w, int pt, int pl, int pb, int pr, const float *x, float *y)
{
    const int oh = h + pt + pb, ow = w + pl + pr;
    FR_ASSERT(oh > 0 && ow > 0);
    const int xlo = FR_MAX(0, pl), xhi = FR_MIN(ow, w + pl);   /* output columns fed by x */
    const size_t planes = (size_t)n * c;
    for (size_t p = 0; p < planes; p++) {
        const float *xp = x + p * h * w;
        float *yp = y + p * oh * ow;
        for (int oy = 0; oy < oh; oy++) {
            float *yr = yp + (size_t)oy * ow;
            int iy = oy - pt;
            if (iy < 0 || iy >= h || xhi <= xlo) { memset(yr, 0, sizeof(float) * ow); continue; }
            if (xlo > 0) memset(yr, 0, sizeof(float) * xlo);
            memcpy(yr + xlo, xp + (size_t)iy * w + (xlo - pl), sizeof(float) * (xhi - xlo));
            if (xhi < ow) memset(yr + xhi, 0, sizeof(float) * (ow - xhi));
        }
    }
}

void fr_pad_backward(int n, int c, int h, int w, int pt, int pl, int pb, int pr, const float *dy, float *dx)
{
    const int oh = h + pt + pb, ow = w + pl + pr;
    FR_ASSERT(oh > 0 && ow > 0);
    const int ilo = FR_MAX(0, -pl), ihi = FR_MIN(w, ow - pl);  /* input columns that survive */
    const size_t planes = (size_t)n * c;
    for (size_t p = 0; p < planes; p++) {
        const float *dyp = dy + p * oh * ow;
        float *dxp = dx + p * h * w;
        for (int iy = 0; iy < h; iy++) {
            float *dr = dxp + (size_t)iy * w;
            int oy = iy + pt;
            if (oy < 0 || oy >= oh || ihi <= ilo) { memset(dr, 0, sizeof(float) * w); continue; }
            if (ilo > 0) memset(dr, 0, sizeof(float) * ilo);
            memcpy(dr + ilo, dyp + (size_t)oy * ow + (ilo + pl), sizeof(float) * (ihi - ilo));
            if (ihi < w) memset(dr + ihi, 0, sizeof(float) * (w - ihi));
        }
    }
}

/* y's axis k is x's axis perm[k]: y[i0][i1][i2] = x[...] with x index i_k on axis perm[k]. */
static void transpose_strides(int c, int h, int w, const int perm[3], int od[3], size_t st[3])
{
    const int d[3] = {c, h, w};
    const size_t xs[3] = {(size_t)h * w, (size_t)w, 1};
    FR_ASSERT(perm[0] >= 0 && perm[0] < 3 && perm[1] >= 0 && perm[1] < 3 && perm[2] >= 0 && perm[2] < 3 &&
              perm[0] != perm[1] && perm[0] != perm[2] && perm[1] != perm[2]);
    for (int k = 0; k < 3; k++) { od[k] = d[perm[k]]; st[k] = xs[perm[k]]; }
}

void fr_transpose_forward(int n, int c, int h, int w, const int perm[3], const float *x, float *y)
{
    int od[3];
    size_t st[3];
    transpose_strides(c, h, w, perm, od, st);
    const size_t chw = (size_t)c * h * w;
    for (int i = 0; i < n; i++) {
        const float *xp = x + i * chw;
        float *yp = y + i * chw;
        for (int a0 = 0; a0 < od[0]; a0++)
            for (int a1 = 0; a1 < od[1]; a1++) {
                const float *xs = xp + a0 * st[0] + a1 * st[1];
                float *yr = yp + ((size_t)a0 * od[1] + a1) * od[2];
                for (int a2 = 0; a2 < od[2]; a2++) yr[a2] = xs[a2 * st[2]];
            }
    }
}

void fr_transpose_backward(int n, int c, int h, int w, const int perm[3], const float *dy, float *dx)
{
    int od[3];
    size_t st[3];
    transpose_strides(c, h, w, perm, od, st);
    const size_t chw = (size_t)c * h * w;
    for (int i = 0; i < n; i++) {
        const float *gp = dy + i * chw;
        float *dp = dx + i * chw;
        for (int a0 = 0; a0 < od[0]; a0++)
            for (int a1 = 0; a1 < od[1]; a1++) {
                float *ds = dp + a0 * st[0] + a1 * st[1];
                const float *gr = gp + ((size_t)a0 * od[1] + a1) * od[2];
                for (int a2 = 0; a2 < od[2]; a2++) ds[a2 * st[2]] = gr[a2];
            }
    }
}
