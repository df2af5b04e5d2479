/* ops.c — float32 NCHW operator kernels other than convolution (src/engine/conv.c), forward and
 * backward.  Contract: include/frtui/ops.h.
 *
 * Design note
 *   Ownership: nothing here allocates or keeps state; every buffer belongs to the caller.
 *   Threading: kernels are re-entrant.  The linear layer splits its GEMMs into fr_par parts
 *   (src/base/par.c; OpenBLAS itself is single-threaded); everything element-wise runs on the
 *   calling thread — at reconstruction sizes it is a few percent of an iteration.
 *   Reductions (bias grads, BN statistics, GAP) use the 16-lane float partial sums of
 *   ops_impl.h per plane (vectorised, fixed order, so deterministic) and add the planes up in
 *   double.
 */
#include "frtui/ops.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "frtui/common.h"
#include "frtui/conv.h"
#include "frtui/par.h"
#include "ops_impl.h"

/* ---- linear ------------------------------------------------------------------------------- */

/* The batch rows of y and dx and the output rows of dW are cut into LIN_CHUNKS fixed ranges, one
 * GEMM each, and parts take whole ranges: OpenBLAS rounds a row differently depending on where
 * it falls in its tile, so the row split must not follow the part count for results to be the
 * same at any FRTUI_THREADS.  dW keeps the full batch sum per row in one GEMM, so no partial
 * sums are needed.  fr_conv_legacy() (conv.h) selects the earlier split by parts (the samples
 * were trained with it at one part, i.e. one GEMM per pass). */
#define LIN_CHUNKS 4
typedef struct lin_job {
    int n, in, out;
    const float *x, *W, *b, *dy;
    float *y, *dx, *dW;
    int gn, base;   /* forward: rows [base, base + n) of a batch of gn, cut as that batch's rows */
    int unit;       /* forward: GEMM rows per row above (a sample's tokens; 1 = plain rows) */
} lin_job;

/* Rows [*lo, *hi) of count for part (legacy: the part's own range; else its chunks' union). */
static void lin_rows(int count, int part, int nparts, int *lo, int *hi)
{
    if (fr_conv_legacy()) { fr_par_range(count, part, nparts, lo, hi); return; }
    int c0, c1;
    fr_par_range(LIN_CHUNKS, part, nparts, &c0, &c1);
    int a, b;
    fr_par_range(count, c0, LIN_CHUNKS, lo, &b);
    fr_par_range(count, c1 > c0 ? c1 - 1 : c0, LIN_CHUNKS, &a, hi);
    if (c1 <= c0) *hi = *lo;
}

/* Calls fn for each fixed chunk of rows in [lo, hi) (legacy: once for the whole range). */
#define LIN_EACH(count, lo, hi, a, b, body)                                                  \
    do {                                                                                      \
        if (fr_conv_legacy()) { int a = (lo), b = (hi); if (b > a) { body; } break; }        \
        for (int c_ = 0; c_ < LIN_CHUNKS; c_++) {                                             \
            int a, b;                                                                         \
            fr_par_range((count), c_, LIN_CHUNKS, &a, &b);                                    \
            if (a < (lo)) a = (lo);                                                           \
            if (b > (hi)) b = (hi);                                                           \
            if (b > a) { body; }                                                              \
        }                                                                                     \
    } while (0)

static void lin_fwd_part(void *ctx, int part, int nparts)
{
    const lin_job *j = ctx;
    int lo, hi;
    lin_rows(j->gn, part, nparts, &lo, &hi);
    if (lo < j->base) lo = j->base;
    if (hi > j->base + j->n) hi = j->base + j->n;
    if (hi <= lo) return;
    const size_t u = (size_t)j->unit;
    LIN_EACH(j->gn, lo, hi, a, b,
             cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)((size_t)(b - a) * u), j->out, j->in, 1.0f,
                         j->x + (size_t)(a - j->base) * u * j->in, j->in, j->W, j->in, 0.0f,
                         j->y + (size_t)(a - j->base) * u * j->out, j->out));
    lo -= j->base;
    hi -= j->base;
    if (j->b) {
        for (size_t i = (size_t)lo * u; i < (size_t)hi * u; i++) {
            float *restrict yr = j->y + (size_t)i * j->out;
            for (int k = 0; k < j->out; k++) yr[k] += j->b[k];
        }
    }
}

static void lin_bwd_part(void *ctx, int part, int nparts)
{
    const lin_job *j = ctx;
    int lo, hi;
    if (j->dW) {
        lin_rows(j->out, part, nparts, &lo, &hi);
        LIN_EACH(j->out, lo, hi, a, b,
                 cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, b - a, j->in, j->n, 1.0f, j->dy + a, j->out, j->x,
                             j->in, 0.0f, j->dW + (size_t)a * j->in, j->in));
    }
    if (j->dx) {
        lin_rows(j->n, part, nparts, &lo, &hi);
        LIN_EACH(j->n, lo, hi, a, b,
                 cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, b - a, j->in, j->out, 1.0f,
                             j->dy + (size_t)a * j->out, j->out, j->W, j->in, 0.0f, j->dx + (size_t)a * j->in, j->in));
    }
}

void fr_linear_forward(int n, int in, int out, const float *x, const float *W, const float *b, float *y)
{
    fr_linear_forward_slice(n, 0, 0, in, out, x, W, b, y);
}

void fr_linear_forward_slice(int n, int slice_of, int slice0, int in, int out, const float *x, const float *W,
                             const float *b, float *y)
{
    fr_linear_forward_tokens(n, 1, slice_of, slice0, in, out, x, W, b, y);
}

void fr_linear_forward_tokens(int n, int tokens, int slice_of, int slice0, int in, int out, const float *x,
                              const float *W, const float *b, float *y)
{
    if (n <= 0) return;
    lin_job j = {n, in, out, x, W, b, NULL, y, NULL, NULL, n, 0, tokens};
    if (slice_of > 0 && !fr_conv_legacy()) {   /* legacy rows follow the parts: no slices there */
        j.gn = slice_of;
        j.base = slice0;
        FR_ASSERT(slice0 >= 0 && slice0 + n <= slice_of);
        int whole0 = 0, whole1 = 0;   /* the slice's ends are chunk boundaries */
        for (int c = 0; c < LIN_CHUNKS; c++) {
            int a, e;
            fr_par_range(slice_of, c, LIN_CHUNKS, &a, &e);
            whole0 |= a == slice0 || e == slice0;
            whole1 |= a == slice0 + n || e == slice0 + n;
        }
        FR_ASSERT(whole0 && whole1);
    }
    fr_par_run(lin_fwd_part, &j);
}

void fr_linear_backward(int n, int in, int out, const float *x, const float *W, const float *dy,
                        float *dx, float *dW, float *db)
{
    if (n <= 0) {
        if (dW) memset(dW, 0, sizeof(float) * (size_t)out * in);
        if (db) memset(db, 0, sizeof(float) * (size_t)out);
        return;
    }
    lin_job j = {n, in, out, x, W, NULL, dy, NULL, dx, dW, n, 0, 1};
    if (dx || dW) fr_par_run(lin_bwd_part, &j);
    if (db) {
        memset(db, 0, sizeof(float) * (size_t)out);
        for (int i = 0; i < n; i++) {
            const float *restrict r = dy + (size_t)i * out;
            for (int k = 0; k < out; k++) db[k] += r[k];
        }
    }
}

/* ---- activations -------------------------------------------------------------------------- */

/* The element-wise passes of a unit run over whole activations (6 MB for 32 x 192 x 14 x 14)
 * and are memory-bound, so large ones are split into fr_par parts by contiguous ranges of
 * 16-float multiples; every element's result is the same whichever part computes it. */
typedef enum {
    EW_RELU, EW_RELU_B, EW_CLIP, EW_CLIP_B,
    /* same-shape binary ops (x op dy) and the forms their backward writes; the Z forms are
     * 0 + v, as the broadcasting loops' zeroed-then-accumulated db gives (+0 for a -0 v) */
    EW_ADD, EW_SUB, EW_MUL, EW_DIV, EW_COPY, EW_Z_COPY, EW_Z_NEG, EW_Z_MUL, EW_ACC, EW_ZERO
} ew_kind;
typedef struct ew_job { ew_kind k; size_t n; const float *x, *dy; float *out; float lo, hi; } ew_job;

#define EW_PAR_MIN ((size_t)1 << 16)   /* below this a hand-off costs more than it saves */

static void ew_range(const ew_job *j, size_t a, size_t b)
{
    const float *x = j->x, *dy = j->dy;
    float *o = j->out;
    const float lo = j->lo, hi = j->hi;
    switch (j->k) {
    case EW_RELU: for (size_t i = a; i < b; i++) o[i] = x[i] < 0.0f ? 0.0f : x[i]; break;
    case EW_RELU_B: for (size_t i = a; i < b; i++) o[i] = x[i] > 0.0f ? dy[i] : 0.0f; break;
    case EW_CLIP:
        for (size_t i = a; i < b; i++) {
            float v = x[i];
            v = v < lo ? lo : v;
            o[i] = v > hi ? hi : v;
        }
        break;
    case EW_CLIP_B: for (size_t i = a; i < b; i++) o[i] = (x[i] >= lo && x[i] <= hi) ? dy[i] : 0.0f; break;
    case EW_ADD: for (size_t i = a; i < b; i++) o[i] = x[i] + dy[i]; break;
    case EW_SUB: for (size_t i = a; i < b; i++) o[i] = x[i] - dy[i]; break;
    case EW_MUL: for (size_t i = a; i < b; i++) o[i] = x[i] * dy[i]; break;
    case EW_DIV: for (size_t i = a; i < b; i++) o[i] = x[i] / dy[i]; break;
    case EW_COPY: memcpy(o + a, x + a, sizeof(float) * (b - a)); break;
    case EW_Z_COPY: for (size_t i = a; i < b; i++) o[i] = 0.0f + x[i]; break;
    case EW_Z_NEG: for (size_t i = a; i < b; i++) o[i] = 0.0f + -x[i]; break;
    case EW_Z_MUL: for (size_t i = a; i < b; i++) o[i] = 0.0f + x[i] * dy[i]; break;
    case EW_ACC: for (size_t i = a; i < b; i++) o[i] += x[i]; break;
    case EW_ZERO: memset(o + a, 0, sizeof(float) * (b - a)); break;
    }
}

static void ew_part(void *ctx, int part, int nparts)
{
    const ew_job *j = ctx;
    size_t blocks = (j->n + 15) / 16;
    size_t a = blocks * (size_t)part / (size_t)nparts * 16, b = blocks * (size_t)(part + 1) / (size_t)nparts * 16;
    ew_range(j, a < j->n ? a : j->n, b < j->n ? b : j->n);
}

static void ew_run(ew_job j)
{
    if (j.n < EW_PAR_MIN || fr_par_threads() == 1) ew_range(&j, 0, j.n);
    else fr_par_run(ew_part, &j);
}

void fr_add_into(size_t count, float *dst, const float *src) { ew_run((ew_job){EW_ACC, count, src, NULL, dst, 0, 0}); }

void fr_copy(size_t count, float *dst, const float *src) { ew_run((ew_job){EW_COPY, count, src, NULL, dst, 0, 0}); }

void fr_zero(size_t count, float *dst) { ew_run((ew_job){EW_ZERO, count, NULL, NULL, dst, 0, 0}); }

/* Comparisons are written so NaN propagates through the forward like PyTorch. */
void fr_relu_forward(size_t count, const float *x, float *y) { ew_run((ew_job){EW_RELU, count, x, NULL, y, 0, 0}); }

void fr_relu_backward(size_t count, const float *x, const float *dy, float *dx)
{
    ew_run((ew_job){EW_RELU_B, count, x, dy, dx, 0, 0});
}

void fr_clip_forward(size_t count, const float *x, float lo, float hi, float *y)
{
    ew_run((ew_job){EW_CLIP, count, x, NULL, y, lo, hi});
}

void fr_clip_backward(size_t count, const float *x, float lo, float hi,
                      const float *dy, float *dx)
{
    ew_run((ew_job){EW_CLIP_B, count, x, dy, dx, lo, hi});
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
    if (bn == n && bc == c && bh == h && bw == w) {   /* residual adds: one parallel sweep */
        static const ew_kind k[] = {[FR_BIN_ADD] = EW_ADD, [FR_BIN_SUB] = EW_SUB, [FR_BIN_MUL] = EW_MUL,
                                    [FR_BIN_DIV] = EW_DIV};
        ew_run((ew_job){k[op], (size_t)n * c * hw, a, b, y, 0, 0});
        return;
    }
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
    if (bn == n && bc == c && bh == h && bw == w && op != FR_BIN_DIV) {   /* same bits, in parallel */
        const size_t cnt = (size_t)n * c * hw;
        if (da) ew_run((ew_job){op == FR_BIN_MUL ? EW_MUL : EW_COPY, cnt, dy, b, da, 0, 0});
        if (db) ew_run((ew_job){op == FR_BIN_ADD ? EW_Z_COPY : op == FR_BIN_SUB ? EW_Z_NEG : EW_Z_MUL, cnt, dy, a, db, 0, 0});
        return;
    }
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
