/* tops.c — transformer kernels; contract and layouts in include/frtui/tops.h.
 *
 * Design note
 *   Ownership: no state.  The only allocations are small per-call column accumulators (d
 *   doubles) for the normalisations' parameter gradients; attention works in the caller's
 *   scratch (fr_attention_work).
 *   Threading: re-entrant, single-threaded for now; OpenBLAS stays on one thread (ops_impl.h).
 *   Parallel parts (rows for the normalisations, heads for attention) are the next step; every
 *   reduction here already runs in an order fixed by the shapes, so splitting rows or heads
 *   into parts will not change a bit.
 *   Numerics: means, variances and softmax denominators are summed in double; parameter
 *   gradients sum rows in row order in double.  Attention follows the memory-light recipe
 *   (FlashAttention's backward without the tiling): the forward keeps only each score row's
 *   log-sum-exp, the backward recomputes one head's probabilities from it, so nothing T x T
 *   outlives one head.  Decision [spec: "attention must not materialise anything quadratic
 *   beyond one head's scores at a time"]: the whole T x T score matrix of one head is formed
 *   with one sgemm (its upper triangle is wasted work, about half the score FLOPs) because one
 *   GEMM per head runs near the sgemm rate where row-by-row dot products would not; causal
 *   masking is applied to the probabilities, which are exactly 0 above the diagonal.
 *   RoPE: the "rotate half" pairing of Hugging Face's LLaMA (i with i + hd/2), because the
 *   checkpoints frtui imports use it; GGUF's llama.cpp pairs neighbours (2i, 2i+1), so a GGUF
 *   exporter must permute q and k rows the way llama.cpp's converter does.  Angles are computed
 *   in double (position * theta^(-2i/hd)), so long positions keep their phase.
 */
#include "frtui/tops.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "frtui/common.h"
#include "ops_impl.h"

/* ---- normalisations ---------------------------------------------------------------------- */

void fr_layernorm_forward(int rows, int d, const float *x, const float *gamma, const float *beta, float eps,
                          float *y, float *mean, float *rstd)
{
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * d;
        float *yr = y + (size_t)r * d;
        double m = 0, v = 0;
        for (int j = 0; j < d; j++) m += xr[j];
        m /= d;
        for (int j = 0; j < d; j++) { double t = xr[j] - m; v += t * t; }
        v /= d;
        const float mf = (float)m, rs = (float)(1.0 / sqrt(v + (double)eps));
        mean[r] = mf;
        rstd[r] = rs;
        for (int j = 0; j < d; j++) {
            float xh = (xr[j] - mf) * rs;
            yr[j] = beta ? xh * gamma[j] + beta[j] : xh * gamma[j];
        }
    }
}

void fr_layernorm_backward(int rows, int d, const float *x, const float *gamma, const float *mean,
                           const float *rstd, const float *dy, float *dx, float *dgamma, float *dbeta)
{
    double *gs = fr_xcalloc((size_t)2 * (d ? d : 1), sizeof(double)), *bs = gs + d;
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * d, *gr = dy + (size_t)r * d;
        const float mf = mean[r], rs = rstd[r];
        double s1 = 0, s2 = 0;   /* mean of dxhat and of dxhat * xhat */
        for (int j = 0; j < d; j++) {
            float xh = (xr[j] - mf) * rs, dxh = gr[j] * gamma[j];
            s1 += dxh;
            s2 += (double)dxh * xh;
            gs[j] += (double)gr[j] * xh;
            bs[j] += gr[j];
        }
        if (!dx) continue;
        const float a = (float)(s1 / d), b = (float)(s2 / d);
        float *dr = dx + (size_t)r * d;
        for (int j = 0; j < d; j++) {
            float xh = (xr[j] - mf) * rs;
            dr[j] = rs * (gr[j] * gamma[j] - a - xh * b);
        }
    }
    for (int j = 0; j < d; j++) {
        dgamma[j] = (float)gs[j];
        if (dbeta) dbeta[j] = (float)bs[j];
    }
    free(gs);
}

void fr_rmsnorm_forward(int rows, int d, const float *x, const float *gamma, float eps, float *y, float *rstd)
{
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * d;
        float *yr = y + (size_t)r * d;
        double s = 0;
        for (int j = 0; j < d; j++) s += (double)xr[j] * xr[j];
        const float rs = (float)(1.0 / sqrt(s / d + (double)eps));
        rstd[r] = rs;
        for (int j = 0; j < d; j++) yr[j] = xr[j] * rs * gamma[j];
    }
}

void fr_rmsnorm_backward(int rows, int d, const float *x, const float *gamma, const float *rstd, const float *dy,
                         float *dx, float *dgamma)
{
    double *gs = fr_xcalloc((size_t)(d ? d : 1), sizeof(double));
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * d, *gr = dy + (size_t)r * d;
        const float rs = rstd[r];
        double s = 0;   /* mean of dxhat * xhat */
        for (int j = 0; j < d; j++) {
            float xh = xr[j] * rs;
            s += (double)gr[j] * gamma[j] * xh;
            gs[j] += (double)gr[j] * xh;
        }
        if (!dx) continue;
        const float b = (float)(s / d);
        float *dr = dx + (size_t)r * d;
        for (int j = 0; j < d; j++) dr[j] = rs * (gr[j] * gamma[j] - xr[j] * rs * b);
    }
    for (int j = 0; j < d; j++) dgamma[j] = (float)gs[j];
    free(gs);
}

/* ---- softmax ------------------------------------------------------------------------------ */

/* One row, max-subtracted; returns log(sum exp(x - max)) + max (the row's log-sum-exp). */
static double softmax_row(int d, const float *x, float *y)
{
    float m = -INFINITY;
    for (int j = 0; j < d; j++) m = x[j] > m ? x[j] : m;
    double s = 0;
    for (int j = 0; j < d; j++) { y[j] = expf(x[j] - m); s += y[j]; }
    const float inv = (float)(1.0 / s);
    for (int j = 0; j < d; j++) y[j] *= inv;
    return (double)m + log(s);
}

void fr_softmax_rows_forward(int rows, int d, const float *x, float *y)
{
    for (int r = 0; r < rows; r++) softmax_row(d, x + (size_t)r * d, y + (size_t)r * d);
}

void fr_softmax_rows_backward(int rows, int d, const float *y, const float *dy, float *dx)
{
    for (int r = 0; r < rows; r++) {
        const float *yr = y + (size_t)r * d, *gr = dy + (size_t)r * d;
        float *dr = dx + (size_t)r * d;
        double dot = 0;
        for (int j = 0; j < d; j++) dot += (double)yr[j] * gr[j];
        const float df = (float)dot;
        for (int j = 0; j < d; j++) dr[j] = yr[j] * (gr[j] - df);
    }
}

/* ---- activations -------------------------------------------------------------------------- */

#define SQRT_HALF 0.70710678118654752440
#define INV_SQRT_2PI 0.39894228040143267794
#define SQRT_2_OVER_PI 0.79788456080286535588
#define GELU_C 0.044715

void fr_gelu_forward(size_t count, fr_gelu_form form, const float *x, float *y)
{
    for (size_t i = 0; i < count; i++) {
        double v = x[i];
        if (form == FR_GELU_ERF) y[i] = (float)(0.5 * v * (1.0 + erf(v * SQRT_HALF)));
        else y[i] = (float)(0.5 * v * (1.0 + tanh(SQRT_2_OVER_PI * (v + GELU_C * v * v * v))));
    }
}

void fr_gelu_backward(size_t count, fr_gelu_form form, const float *x, const float *dy, float *dx)
{
    for (size_t i = 0; i < count; i++) {
        double v = x[i], g;
        if (form == FR_GELU_ERF) {
            g = 0.5 * (1.0 + erf(v * SQRT_HALF)) + v * INV_SQRT_2PI * exp(-0.5 * v * v);
        } else {
            double t = tanh(SQRT_2_OVER_PI * (v + GELU_C * v * v * v));
            g = 0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_C * v * v);
        }
        dx[i] = (float)(g * dy[i]);
    }
}

/* sigmoid without overflow: exp of a non-positive argument only */
static inline float sigm(float v)
{
    float e = expf(-fabsf(v));
    return v >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
}

void fr_silu_forward(size_t count, const float *x, float *y)
{
    for (size_t i = 0; i < count; i++) y[i] = x[i] * sigm(x[i]);
}

void fr_silu_backward(size_t count, const float *x, const float *dy, float *dx)
{
    for (size_t i = 0; i < count; i++) {
        float s = sigm(x[i]);
        dx[i] = dy[i] * (s * (1.0f + x[i] * (1.0f - s)));
    }
}

void fr_swiglu_forward(size_t count, const float *g, const float *u, float *y)
{
    for (size_t i = 0; i < count; i++) y[i] = g[i] * sigm(g[i]) * u[i];
}

void fr_swiglu_backward(size_t count, const float *g, const float *u, const float *dy, float *dg, float *du)
{
    for (size_t i = 0; i < count; i++) {
        float s = sigm(g[i]);
        if (dg) dg[i] = dy[i] * u[i] * (s * (1.0f + g[i] * (1.0f - s)));
        if (du) du[i] = dy[i] * g[i] * s;
    }
}

/* ---- rotary embedding --------------------------------------------------------------------- */

void fr_rope(int T, int n_head, int hd, int pos0, float theta, int inverse, const float *x, float *y)
{
    FR_ASSERT(hd % 2 == 0);
    const int half = hd / 2;
    const size_t ld = (size_t)n_head * hd;
    for (int t = 0; t < T; t++) {
        const double pos = (double)pos0 + t;
        for (int i = 0; i < half; i++) {
            double ang = pos * pow((double)theta, -2.0 * i / hd);
            const float c = (float)cos(ang), s = (float)(inverse ? -sin(ang) : sin(ang));
            for (int h = 0; h < n_head; h++) {
                const size_t o = (size_t)t * ld + (size_t)h * hd + i;
                const float a = x[o], b = x[o + half];
                y[o] = a * c - b * s;
                y[o + half] = b * c + a * s;
            }
        }
    }
}

/* ---- attention ---------------------------------------------------------------------------- */

size_t fr_attention_work(int T) { return (size_t)2 * T * T; }

/* S = scale * Q_h K_g^T, then the causal probabilities in place: row t from its log-sum-exp
 * (lse != NULL: given; else computed and stored in lse_out). */
static void head_probs(int T, int hd, float scale, const float *qh, size_t ldq, const float *kg, size_t ldk,
                       const float *lse, float *lse_out, float *P)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, hd, scale, qh, (int)ldq, kg, (int)ldk, 0.0f, P, T);
    for (int t = 0; t < T; t++) {
        float *pr = P + (size_t)t * T;
        if (lse) {
            const float l = lse[t];
            for (int s = 0; s <= t; s++) pr[s] = expf(pr[s] - l);
        } else {
            lse_out[t] = (float)softmax_row(t + 1, pr, pr);
        }
        for (int s = t + 1; s < T; s++) pr[s] = 0.0f;
    }
}

void fr_attention_forward(int T, int n_head, int n_kv, int hd, float scale, const float *q, const float *k,
                          const float *v, float *y, float *lse, float *work)
{
    FR_ASSERT(n_kv >= 1 && n_head % n_kv == 0);
    if (T <= 0) return;
    const int rep = n_head / n_kv;
    const size_t ldq = (size_t)n_head * hd, ldk = (size_t)n_kv * hd;
    for (int h = 0; h < n_head; h++) {
        const int g = h / rep;
        head_probs(T, hd, scale, q + (size_t)h * hd, ldq, k + (size_t)g * hd, ldk, NULL, lse + (size_t)h * T, work);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hd, T, 1.0f, work, T, v + (size_t)g * hd, (int)ldk,
                    0.0f, y + (size_t)h * hd, (int)ldq);
    }
}

void fr_attention_backward(int T, int n_head, int n_kv, int hd, float scale, const float *q, const float *k,
                           const float *v, const float *y, const float *lse, const float *dy, float *dq, float *dk,
                           float *dv, float *work)
{
    FR_ASSERT(n_kv >= 1 && n_head % n_kv == 0);
    if (T <= 0) return;
    const int rep = n_head / n_kv;
    const size_t ldq = (size_t)n_head * hd, ldk = (size_t)n_kv * hd;
    float *P = work, *dS = work + (size_t)T * T;
    for (int h = 0; h < n_head; h++) {
        const int g = h / rep;
        const float beta = h % rep == 0 ? 0.0f : 1.0f;   /* first query head of its KV group overwrites */
        const float *qh = q + (size_t)h * hd, *kg = k + (size_t)g * hd, *vg = v + (size_t)g * hd;
        const float *yh = y + (size_t)h * hd, *gh = dy + (size_t)h * hd;
        head_probs(T, hd, scale, qh, ldq, kg, ldk, lse + (size_t)h * T, NULL, P);
        if (dv)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, hd, T, 1.0f, P, T, gh, (int)ldq, beta,
                        dv + (size_t)g * hd, (int)ldk);
        if (!dq && !dk) continue;
        /* dP = dY_h V_g^T; dS = P * (dP - D), D_t = dY_h[t] . Y_h[t] (= sum_s P dP) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, hd, 1.0f, gh, (int)ldq, vg, (int)ldk, 0.0f, dS, T);
        for (int t = 0; t < T; t++) {
            double D = 0;
            for (int j = 0; j < hd; j++) D += (double)gh[(size_t)t * ldq + j] * yh[(size_t)t * ldq + j];
            const float Df = (float)D;
            float *sr = dS + (size_t)t * T;
            const float *pr = P + (size_t)t * T;
            for (int s = 0; s < T; s++) sr[s] = pr[s] * (sr[s] - Df);
        }
        if (dq)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hd, T, scale, dS, T, kg, (int)ldk, 0.0f,
                        dq + (size_t)h * hd, (int)ldq);
        if (dk)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, hd, T, scale, dS, T, qh, (int)ldq, beta,
                        dk + (size_t)g * hd, (int)ldk);
    }
}

/* ---- embedding ---------------------------------------------------------------------------- */

void fr_embedding_forward(int T, int d, const int32_t *ids, const float *table, float *y)
{
    for (int t = 0; t < T; t++) memcpy(y + (size_t)t * d, table + (size_t)ids[t] * d, sizeof(float) * (size_t)d);
}

void fr_embedding_backward(int T, int vocab, int d, const int32_t *ids, const float *dy, float *dtable)
{
    memset(dtable, 0, sizeof(float) * (size_t)vocab * d);
    for (int t = 0; t < T; t++) {
        float *dr = dtable + (size_t)ids[t] * d;
        const float *gr = dy + (size_t)t * d;
        for (int j = 0; j < d; j++) dr[j] += gr[j];
    }
}

/* ---- batched matmul ----------------------------------------------------------------------- */

void fr_bmm_forward(int batch, int m, int k, int n, const float *A, const float *B, int b_shared, float *Y)
{
    for (int b = 0; b < batch; b++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, A + (size_t)b * m * k, k,
                    B + (b_shared ? 0 : (size_t)b * k * n), n, 0.0f, Y + (size_t)b * m * n, n);
}

void fr_bmm_backward(int batch, int m, int k, int n, const float *A, const float *B, int b_shared, const float *dY,
                     float *dA, float *dB)
{
    for (int b = 0; b < batch; b++) {
        const float *Bb = B + (b_shared ? 0 : (size_t)b * k * n), *gb = dY + (size_t)b * m * n;
        if (dA)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, k, n, 1.0f, gb, n, Bb, n, 0.0f,
                        dA + (size_t)b * m * k, k);
        if (dB)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, n, m, 1.0f, A + (size_t)b * m * k, k, gb, n,
                        b_shared && b > 0 ? 1.0f : 0.0f, dB + (b_shared ? 0 : (size_t)b * k * n), n);
    }
    if (dB && b_shared && batch == 0) memset(dB, 0, sizeof(float) * (size_t)k * n);
}
