/* aquant.c — the activation quantizer (spec 2.5): per-tensor asymmetric fake quantization with
 * a learned step (LSQ gradient) and QDrop's random keep mask.  Contract: include/frtui/aquant.h.
 *
 * Design note
 *   An fr_aquant is a few floats owned by its caller (recon.c keeps one per quantized
 *   activation; ckpt saves them).  No allocation, no threads: the step gradient is one double
 *   sum in element order, so it is deterministic.  Decisions on the spec's [I] points: x·(1/s)
 *   like ATen's fake-quant kernel; numel in the LSQ scale is the n of the backward call; the
 *   step is floored at FR_QSTEP_FLOOR after each Adam update so the grid can never invert.
 *   Per-token mode (tok > 0) is the activation quantizer of LLM W8A8 (SmoothQuant, the FlexRound
 *   LLM code's per-token setting): each token's row gets step max|x| / (2^(b-1) - 1), symmetric,
 *   computed on every call.  Decision [I]: straight-through gradient (dx = dy) everywhere,
 *   since the step follows the row's maximum nothing is ever clipped; no learned parameter.
 */
#include "frtui/aquant.h"

#include <math.h>
#include <string.h>

#include "frtui/qgrid.h"
#include "vmath.h"

int fr_aquant_init_token(fr_aquant *a, int bits, int row, fr_err *e)
{
    memset(a, 0, sizeof *a);
    if (bits < 2 || bits > 16) return fr_err_set(e, FR_EINPUT, "aquant: bits must be 2..16 (got %d)", bits);
    if (row < 1) return fr_err_set(e, FR_EINPUT, "aquant: per-token rows of %d values", row);
    a->bits = bits;
    a->qmax = (float)((1 << (bits - 1)) - 1);
    a->tok = row;
    a->s = a->s_init = 1.0f;   /* unused; finite so checkpoints of it stay valid */
    return FR_OK;
}

static void token_forward(const fr_aquant *a, const float *x, float *y, size_t n)
{
    const size_t R = (size_t)a->tok;
    const float L = a->qmax;
    for (size_t r0 = 0; r0 < n; r0 += R) {
        size_t m = n - r0 < R ? n - r0 : R;
        float mx = 0.0f;
        for (size_t k = 0; k < m; k++) mx = fmaxf(mx, fabsf(x[r0 + k]));
        if (!(mx > 0.0f) || !isfinite(mx)) {   /* a zero row stays zero; a non-finite one passes through */
            if (y != x) memcpy(y + r0, x + r0, m * sizeof(float));
            continue;
        }
        const float s = mx / L, inv = L / mx;
        for (size_t k = 0; k < m; k++) y[r0 + k] = clampf(rintf(x[r0 + k] * inv), -L, L) * s;
    }
}

int fr_aquant_init(fr_aquant *a, int bits, int init, const float *x, size_t n, fr_err *e)
{
    memset(a, 0, sizeof *a);
    if (bits < 2 || bits > 16)
        return fr_err_set(e, FR_EINPUT, "aquant: bits must be 2..16 (got %d)", bits);
    if (!x || n == 0) return fr_err_set(e, FR_EINPUT, "aquant: empty activation sample");
    for (size_t k = 0; k < n; k++)
        if (!isfinite(x[k])) return fr_err_set(e, FR_EINPUT, "aquant: activation sample element %zu is not finite", k);
    a->bits = bits;
    a->qmax = (float)((1 << bits) - 1);
    a->s = fr_qgrid_asym(x, n, bits, init, &a->zp);
    a->s_init = a->s;
    return FR_OK;
}

/* x·(1/s) like ATen's fake-quant kernels [I] (weights divide, as the FlexRound code does). */
void fr_aquant_forward(const fr_aquant *a, const float *x, float *y, size_t n, float keep_p,
                       fr_rng *rng, uint8_t *keep)
{
    if (a->tok > 0) {   /* no QDrop mixing here (runcfg refuses the combination) */
        token_forward(a, x, y, n);
        if (keep) memset(keep, 1, n);
        return;
    }
    const float inv = 1.0f / a->s, s = a->s, z = a->zp, L = a->qmax;
    int drop = keep_p < 1.0f;
    FR_ASSERT(!drop || (rng && keep));
    for (size_t k = 0; k < n; k++) {
        int kq = drop ? fr_rng_uniform(rng) < keep_p : 1;
        if (keep) keep[k] = (uint8_t)kq;
        float xv = x[k];
        y[k] = kq ? (clampf(rintf(xv * inv) + z, 0.0f, L) - z) * s : xv;
    }
}

int fr_aquant_backward(fr_aquant *a, const float *x, const float *dy, float *dx, size_t n,
                       const uint8_t *keep)
{
    if (a->tok > 0) {
        if (dx && dx != dy) memcpy(dx, dy, n * sizeof(float));
        return FR_OK;
    }
    const float inv = 1.0f / a->s, z = a->zp, L = a->qmax;
    double gs = 0;
    for (size_t k = 0; k < n; k++) {
        float d = dy[k], gx = d;
        if (!keep || keep[k]) {
            float xs = x[k] * inv, r = rintf(xs), xq = r + z;
            if (xq >= 0.0f && xq <= L) gs += (double)(d * (r - xs));
            else { gs += (double)(d * ((xq < 0.0f ? 0.0f : L) - z)); gx = 0.0f; }
        }
        if (dx) dx[k] = gx;
    }
    double g = 1.0 / sqrt((double)n * (double)a->qmax);
    a->s_g += (float)(gs * g);
    if (!isfinite(a->s_g)) { a->nonfinite = 1; return FR_ENUM; }
    return FR_OK;
}

void fr_aquant_zero_grad(fr_aquant *a) { a->s_g = 0.0f; }

int fr_aquant_adam(fr_aquant *a, float lr, int t)
{
    if (a->tok > 0) return FR_OK;
    int rc = fr_qadam(&a->s, &a->s_m, &a->s_v, &a->s_g, 1, lr, t);
    if (rc != FR_OK) { a->nonfinite = 1; return rc; }
    if (a->s < FR_QSTEP_FLOOR) a->s = FR_QSTEP_FLOOR; /* [I] a non-positive step would invert the grid */
    return FR_OK;
}

int fr_aquant_params(fr_aquant *a, fr_qparam *out, int max)
{
    if (max < 1 || a->tok > 0) return 0;
    out[0] = (fr_qparam){"step", &a->s, &a->s_m, &a->s_v, &a->s_g, 1};
    return 1;
}
