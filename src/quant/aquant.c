/* aquant.c — the activation quantizer (spec 2.5): per-tensor asymmetric fake quantization with
 * a learned step (LSQ gradient) and QDrop's random keep mask.  Contract: include/frtui/aquant.h.
 *
 * Design note
 *   An fr_aquant is a few floats owned by its caller (recon.c keeps one per quantized
 *   activation; ckpt saves them).  No allocation, no threads: the step gradient is one double
 *   sum in element order, so it is deterministic.  Decisions on the spec's [I] points: x·(1/s)
 *   like ATen's fake-quant kernel; numel in the LSQ scale is the n of the backward call; the
 *   step is floored at FR_QSTEP_FLOOR after each Adam update so the grid can never invert.
 */
#include "frtui/aquant.h"

#include <math.h>
#include <string.h>

#include "frtui/qgrid.h"
#include "vmath.h"

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
    int rc = fr_qadam(&a->s, &a->s_m, &a->s_v, &a->s_g, 1, lr, t);
    if (rc != FR_OK) { a->nonfinite = 1; return rc; }
    if (a->s < FR_QSTEP_FLOOR) a->s = FR_QSTEP_FLOOR; /* [I] a non-positive step would invert the grid */
    return FR_OK;
}

int fr_aquant_params(fr_aquant *a, fr_qparam *out, int max)
{
    if (max < 1) return 0;
    out[0] = (fr_qparam){"step", &a->s, &a->s_m, &a->s_v, &a->s_g, 1};
    return 1;
}
