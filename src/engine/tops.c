/* tops.c — transformer kernels; contract and layouts in include/frtui/tops.h.
 *
 * Design note
 *   Ownership: no state.  The only allocations are small per-call column accumulators (d
 *   doubles) for the normalisations' parameter gradients; attention works in the caller's
 *   scratch (fr_attention_work).
 *   Threading: frtui's parts (par.h); OpenBLAS stays on one thread (ops_impl.h).  Row kernels
 *   cut the rows into T_CHUNKS fixed chunks and parts take whole chunks; a normalisation's
 *   parameter gradient is summed per chunk, then over chunks in chunk order, so the bits depend
 *   on the shapes only, never on the part count (test_tops runs 1, 2 and 3 parts).  Element-wise
 *   kernels split contiguous ranges.  Attention forward splits heads; its backward splits KV
 *   groups (a group's query heads, which add into the same dk/dv, stay in one part, in order).
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
#include "frtui/par.h"
#include "ops_impl.h"

#define T_CHUNKS 16   /* row chunks: fixed, so the parameter-gradient sums are too */

/* One region's arguments for the row and element-wise kernels. */
typedef enum { J_LN_F, J_LN_B, J_RMS_F, J_RMS_B, J_SM_F, J_SM_B, J_GELU_F, J_GELU_B, J_SILU_F, J_SILU_B,
               J_SWI_F, J_SWI_B } jkind;
typedef struct tjob {
    jkind k;
    int rows, d, form;
    size_t count;
    const float *x, *u, *gamma, *beta, *mean, *rstd_in, *dy;
    float *y, *dx, *du, *mean_out, *rstd, eps;
    double *part;   /* T_CHUNKS x 2d partial parameter sums (normalisation backward) */
} tjob;

static void run_job(tjob *j);

/* ---- normalisations ---------------------------------------------------------------------- */

static void ln_fwd_rows(int r0, int r1, int d, const float *x, const float *gamma, const float *beta, float eps,
                        float *y, float *mean, float *rstd)
{
    for (int r = r0; r < r1; r++) {
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

void fr_layernorm_forward(int rows, int d, const float *x, const float *gamma, const float *beta, float eps,
                          float *y, float *mean, float *rstd)
{
    tjob j = {.k = J_LN_F, .rows = rows, .d = d, .x = x, .gamma = gamma, .beta = beta, .eps = eps, .y = y,
              .mean_out = mean, .rstd = rstd};
    run_job(&j);
}

/* Rows [r0, r1): dx, and the rows' dgamma / dbeta sums added into gs / bs. */
static void ln_bwd_rows(int r0, int r1, int d, const float *x, const float *gamma, const float *mean,
                        const float *rstd, const float *dy, float *dx, double *gs, double *bs)
{
    for (int r = r0; r < r1; r++) {
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
}

/* The chunks' partial sums, added in chunk order. */
static void sum_parts(int d, const double *part, int which, float *out)
{
    if (!out) return;
    for (int j = 0; j < d; j++) {
        double t = 0;
        for (int c = 0; c < T_CHUNKS; c++) t += part[(size_t)c * 2 * d + (size_t)which * d + j];
        out[j] = (float)t;
    }
}

void fr_layernorm_backward(int rows, int d, const float *x, const float *gamma, const float *mean,
                           const float *rstd, const float *dy, float *dx, float *dgamma, float *dbeta)
{
    double *part = fr_xcalloc((size_t)T_CHUNKS * 2 * (d ? d : 1), sizeof(double));
    tjob j = {.k = J_LN_B, .rows = rows, .d = d, .x = x, .gamma = gamma, .mean = mean, .rstd_in = rstd, .dy = dy,
              .dx = dx, .part = part};
    run_job(&j);
    sum_parts(d, part, 0, dgamma);
    sum_parts(d, part, 1, dbeta);
    free(part);
}

static void rms_fwd_rows(int r0, int r1, int d, const float *x, const float *gamma, float eps, float *y, float *rstd)
{
    for (int r = r0; r < r1; r++) {
        const float *xr = x + (size_t)r * d;
        float *yr = y + (size_t)r * d;
        double s = 0;
        for (int j = 0; j < d; j++) s += (double)xr[j] * xr[j];
        const float rs = (float)(1.0 / sqrt(s / d + (double)eps));
        rstd[r] = rs;
        for (int j = 0; j < d; j++) yr[j] = xr[j] * rs * gamma[j];
    }
}

void fr_rmsnorm_forward(int rows, int d, const float *x, const float *gamma, float eps, float *y, float *rstd)
{
    tjob j = {.k = J_RMS_F, .rows = rows, .d = d, .x = x, .gamma = gamma, .eps = eps, .y = y, .rstd = rstd};
    run_job(&j);
}

static void rms_bwd_rows(int r0, int r1, int d, const float *x, const float *gamma, const float *rstd,
                         const float *dy, float *dx, double *gs)
{
    for (int r = r0; r < r1; r++) {
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
}

void fr_rmsnorm_backward(int rows, int d, const float *x, const float *gamma, const float *rstd, const float *dy,
                         float *dx, float *dgamma)
{
    double *part = fr_xcalloc((size_t)T_CHUNKS * 2 * (d ? d : 1), sizeof(double));
    tjob j = {.k = J_RMS_B, .rows = rows, .d = d, .x = x, .gamma = gamma, .rstd_in = rstd, .dy = dy, .dx = dx,
              .part = part};
    run_job(&j);
    sum_parts(d, part, 0, dgamma);
    free(part);
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

static void sm_bwd_rows(int r0, int r1, int d, const float *y, const float *dy, float *dx)
{
    for (int r = r0; r < r1; r++) {
        const float *yr = y + (size_t)r * d, *gr = dy + (size_t)r * d;
        float *dr = dx + (size_t)r * d;
        double dot = 0;
        for (int j = 0; j < d; j++) dot += (double)yr[j] * gr[j];
        const float df = (float)dot;
        for (int j = 0; j < d; j++) dr[j] = yr[j] * (gr[j] - df);
    }
}

void fr_softmax_rows_forward(int rows, int d, const float *x, float *y)
{
    tjob j = {.k = J_SM_F, .rows = rows, .d = d, .x = x, .y = y};
    run_job(&j);
}

void fr_softmax_rows_backward(int rows, int d, const float *y, const float *dy, float *dx)
{
    tjob j = {.k = J_SM_B, .rows = rows, .d = d, .x = y, .dy = dy, .dx = dx};
    run_job(&j);
}

/* ---- activations -------------------------------------------------------------------------- */

#define SQRT_HALF 0.70710678118654752440
#define INV_SQRT_2PI 0.39894228040143267794
#define SQRT_2_OVER_PI 0.79788456080286535588
#define GELU_C 0.044715

static void gelu_fwd_range(size_t a, size_t b, fr_gelu_form form, const float *x, float *y)
{
    for (size_t i = a; i < b; i++) {
        double v = x[i];
        if (form == FR_GELU_ERF) y[i] = (float)(0.5 * v * (1.0 + erf(v * SQRT_HALF)));
        else y[i] = (float)(0.5 * v * (1.0 + tanh(SQRT_2_OVER_PI * (v + GELU_C * v * v * v))));
    }
}

static void gelu_bwd_range(size_t a, size_t b, fr_gelu_form form, const float *x, const float *dy, float *dx)
{
    for (size_t i = a; i < b; i++) {
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

/* SiLU (u == NULL) and SwiGLU forward over [a, b). */
static void silu_fwd_range(size_t a, size_t b, const float *x, const float *u, float *y)
{
    for (size_t i = a; i < b; i++) y[i] = u ? x[i] * sigm(x[i]) * u[i] : x[i] * sigm(x[i]);
}

/* SiLU (u == NULL: dx only) and SwiGLU (dx = dg, du) backward over [a, b). */
static void silu_bwd_range(size_t a, size_t b, const float *x, const float *u, const float *dy, float *dx, float *du)
{
    for (size_t i = a; i < b; i++) {
        float s = sigm(x[i]);
        float ds = s * (1.0f + x[i] * (1.0f - s));
        if (dx) dx[i] = u ? dy[i] * u[i] * ds : dy[i] * ds;
        if (du) du[i] = dy[i] * x[i] * s;
    }
}

void fr_gelu_forward(size_t count, fr_gelu_form form, const float *x, float *y)
{
    tjob j = {.k = J_GELU_F, .count = count, .form = form, .x = x, .y = y};
    run_job(&j);
}

void fr_gelu_backward(size_t count, fr_gelu_form form, const float *x, const float *dy, float *dx)
{
    tjob j = {.k = J_GELU_B, .count = count, .form = form, .x = x, .dy = dy, .dx = dx};
    run_job(&j);
}

void fr_silu_forward(size_t count, const float *x, float *y)
{
    tjob j = {.k = J_SILU_F, .count = count, .x = x, .y = y};
    run_job(&j);
}

void fr_silu_backward(size_t count, const float *x, const float *dy, float *dx)
{
    tjob j = {.k = J_SILU_B, .count = count, .x = x, .dy = dy, .dx = dx};
    run_job(&j);
}

void fr_swiglu_forward(size_t count, const float *g, const float *u, float *y)
{
    tjob j = {.k = J_SWI_F, .count = count, .x = g, .u = u, .y = y};
    run_job(&j);
}

void fr_swiglu_backward(size_t count, const float *g, const float *u, const float *dy, float *dg, float *du)
{
    tjob j = {.k = J_SWI_B, .count = count, .x = g, .u = u, .dy = dy, .dx = dg, .du = du};
    run_job(&j);
}

/* ---- the parts ---------------------------------------------------------------------------- */

static void job_part(void *ctx, int part, int nparts)
{
    tjob *j = ctx;
    if (j->k >= J_GELU_F) {   /* element-wise: a contiguous range */
        size_t a = j->count * (size_t)part / (size_t)nparts, b = j->count * (size_t)(part + 1) / (size_t)nparts;
        switch (j->k) {
        case J_GELU_F: gelu_fwd_range(a, b, (fr_gelu_form)j->form, j->x, j->y); break;
        case J_GELU_B: gelu_bwd_range(a, b, (fr_gelu_form)j->form, j->x, j->dy, j->dx); break;
        case J_SILU_F: silu_fwd_range(a, b, j->x, NULL, j->y); break;
        case J_SILU_B: silu_bwd_range(a, b, j->x, NULL, j->dy, j->dx, NULL); break;
        case J_SWI_F: silu_fwd_range(a, b, j->x, j->u, j->y); break;
        default: silu_bwd_range(a, b, j->x, j->u, j->dy, j->dx, j->du); break;
        }
        return;
    }
    int c0, c1;
    fr_par_range(T_CHUNKS, part, nparts, &c0, &c1);
    for (int c = c0; c < c1; c++) {   /* chunk by chunk: each has its own partial sums */
        int r0, r1;
        fr_par_range(j->rows, c, T_CHUNKS, &r0, &r1);
        double *gs = j->part ? j->part + (size_t)c * 2 * j->d : NULL;
        switch (j->k) {
        case J_LN_F: ln_fwd_rows(r0, r1, j->d, j->x, j->gamma, j->beta, j->eps, j->y, j->mean_out, j->rstd); break;
        case J_LN_B: ln_bwd_rows(r0, r1, j->d, j->x, j->gamma, j->mean, j->rstd_in, j->dy, j->dx, gs, gs + j->d); break;
        case J_RMS_F: rms_fwd_rows(r0, r1, j->d, j->x, j->gamma, j->eps, j->y, j->rstd); break;
        case J_RMS_B: rms_bwd_rows(r0, r1, j->d, j->x, j->gamma, j->rstd_in, j->dy, j->dx, gs); break;
        case J_SM_F:
            for (int r = r0; r < r1; r++) softmax_row(j->d, j->x + (size_t)r * j->d, j->y + (size_t)r * j->d);
            break;
        default: sm_bwd_rows(r0, r1, j->d, j->x, j->dy, j->dx); break;
        }
    }
}

static void run_job(tjob *j)
{
    size_t work = j->k >= J_GELU_F ? j->count : (size_t)j->rows * j->d;
    if (work < ((size_t)1 << 14) || fr_par_threads() == 1) job_part(j, 0, 1);
    else fr_par_run(job_part, j);
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

size_t fr_attention_work(int T) { return (size_t)2 * T * T * (size_t)fr_par_threads(); }

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

typedef struct attn_job {
    int T, n_head, n_kv, hd;
    float scale;
    const float *q, *k, *v, *y, *lse, *dy;
    float *yo, *lse_out, *dq, *dk, *dv, *work;
} attn_job;

/* Heads [h0, h1): probabilities and outputs, in the part's work slice. */
static void attn_fwd_heads(const attn_job *a, int h0, int h1, float *work)
{
    const int T = a->T, hd = a->hd, rep = a->n_head / a->n_kv;
    const size_t ldq = (size_t)a->n_head * hd, ldk = (size_t)a->n_kv * hd;
    const float scale = a->scale, *q = a->q, *k = a->k, *v = a->v;
    float *y = a->yo, *lse = a->lse_out;
    for (int h = h0; h < h1; h++) {
        const int g = h / rep;
        head_probs(T, hd, scale, q + (size_t)h * hd, ldq, k + (size_t)g * hd, ldk, NULL, lse + (size_t)h * T, work);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hd, T, 1.0f, work, T, v + (size_t)g * hd, (int)ldk,
                    0.0f, y + (size_t)h * hd, (int)ldq);
    }
}

/* KV groups [g0, g1): every query head of a group, in order (they add into the same dk, dv). */
static void attn_bwd_groups(const attn_job *a, int g0, int g1, float *work)
{
    const int T = a->T, hd = a->hd, rep = a->n_head / a->n_kv;
    const size_t ldq = (size_t)a->n_head * hd, ldk = (size_t)a->n_kv * hd;
    const float scale = a->scale, *q = a->q, *k = a->k, *v = a->v, *y = a->y, *lse = a->lse, *dy = a->dy;
    float *dq = a->dq, *dk = a->dk, *dv = a->dv;
    float *P = work, *dS = work + (size_t)T * T;
    for (int h = g0 * rep; h < g1 * rep; h++) {
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

static void attn_part(void *ctx, int part, int nparts)
{
    const attn_job *a = ctx;
    float *work = a->work + (size_t)part * 2 * a->T * a->T;
    int lo, hi;
    if (!a->dy) {
        fr_par_range(a->n_head, part, nparts, &lo, &hi);
        attn_fwd_heads(a, lo, hi, work);
    } else {
        fr_par_range(a->n_kv, part, nparts, &lo, &hi);
        attn_bwd_groups(a, lo, hi, work);
    }
}

void fr_attention_forward(int T, int n_head, int n_kv, int hd, float scale, const float *q, const float *k,
                          const float *v, float *y, float *lse, float *work)
{
    FR_ASSERT(n_kv >= 1 && n_head % n_kv == 0);
    if (T <= 0) return;
    attn_job a = {T, n_head, n_kv, hd, scale, q, k, v, NULL, NULL, NULL, y, lse, NULL, NULL, NULL, work};
    fr_par_run(attn_part, &a);
}

void fr_attention_backward(int T, int n_head, int n_kv, int hd, float scale, const float *q, const float *k,
                           const float *v, const float *y, const float *lse, const float *dy, float *dq, float *dk,
                           float *dv, float *work)
{
    FR_ASSERT(n_kv >= 1 && n_head % n_kv == 0);
    if (T <= 0) return;
    attn_job a = {T, n_head, n_kv, hd, scale, q, k, v, y, lse, dy, NULL, NULL, dq, dk, dv, work};
    fr_par_run(attn_part, &a);
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

/* ---- language-model loss ------------------------------------------------------------------ */

double fr_lm_xent(int rows, int vocab, const float *logits, const int32_t *target, float *dlogits, int *counted)
{
    int n = 0;
    for (int r = 0; r < rows; r++) n += target[r] >= 0 && target[r] < vocab;
    if (counted) *counted = n;
    double loss = 0;
    const float inv = n ? 1.0f / (float)n : 0.0f;
    for (int r = 0; r < rows; r++) {
        const float *lr = logits + (size_t)r * vocab;
        float *dr = dlogits ? dlogits + (size_t)r * vocab : NULL;
        const int t = target[r];
        if (t < 0 || t >= vocab) {
            if (dr) memset(dr, 0, sizeof(float) * (size_t)vocab);
            continue;
        }
        float m = -INFINITY;
        for (int j = 0; j < vocab; j++) m = lr[j] > m ? lr[j] : m;
        double s = 0;
        for (int j = 0; j < vocab; j++) s += exp((double)lr[j] - m);
        const double lse = m + log(s);
        loss += lse - lr[t];
        if (dr) {
            for (int j = 0; j < vocab; j++) dr[j] = (float)exp((double)lr[j] - lse) * inv;
            dr[t] -= inv;
        }
    }
    return n ? loss / n : 0.0;
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
