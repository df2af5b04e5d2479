/* aquant.h — activation quantizer (src/quant/aquant.c). */
#ifndef FRTUI_AQUANT_H
#define FRTUI_AQUANT_H

#include <stddef.h>
#include <stdint.h>

#include "frtui/common.h"
#include "frtui/quant.h"

/* ---- activation quantizer (spec 2.5) ---------------------------------------------------------
 * Per-tensor asymmetric, codes [0, 2^b-1], zero point frozen at init; the step s is learned
 * (LSQ gradient, scale g = 1/sqrt(numel*qmax), numel = n of the backward call). */
typedef struct fr_aquant {
    int bits;
    float qmax;          /* 2^b - 1 */
    float zp;            /* frozen zero point */
    float s, s_m, s_v, s_g; /* step, its Adam moments and accumulated gradient */
    float s_init;
    int nonfinite;
    int tok;             /* > 0: per-token mode, rows of tok values each get their own symmetric
                          * max-abs step, computed (not learned, not saved: set from the run's
                          * settings); s, zp and the moments are unused */
} fr_aquant;

/* Per-token mode for rows of `row` values (bits 2..16): no sample needed. */
int fr_aquant_init_token(fr_aquant *a, int bits, int row, fr_err *e);
/* Initialises from a sample x[n] of activations (range always includes 0). */
int fr_aquant_init(fr_aquant *a, int bits, int init, const float *x, size_t n, fr_err *e);
/* y = fake-quant(x).  keep_p < 1 (QDrop): each element keeps the quantized value with
 * probability keep_p (draw U = fr_rng_uniform, quantized iff U < keep_p), else passes x; the
 * decision goes to keep[n] (1 = quantized) for the backward; rng and keep are then required
 * (FR_ASSERT).  keep_p >= 1: no draws, rng and keep may be NULL (keep, if given, is all 1).
 * x == y is allowed, but the backward needs the original x. */
void fr_aquant_forward(const fr_aquant *a, const float *x, float *y, size_t n, float keep_p,
                       fr_rng *rng, uint8_t *keep);
/* Backward for the same x and keep as the forward.  dx[n] (may be NULL; may alias dy) gets the
 * STE input gradient; the step gradient is ADDED to a->s_g.  FR_ENUM if non-finite. */
int fr_aquant_backward(fr_aquant *a, const float *x, const float *dy, float *dx, size_t n,
                       const uint8_t *keep);
void fr_aquant_zero_grad(fr_aquant *a);
/* Adam on s with a->s_g; s is floored at 1e-8 afterwards.  Does not zero s_g. */
int fr_aquant_adam(fr_aquant *a, float lr, int t);
/* "step" (learnable) — 1 entry; frozen state is zp and s_init (plain fields). */
int fr_aquant_params(fr_aquant *a, fr_qparam *out, int max);

#endif
