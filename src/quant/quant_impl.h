/* quant_impl.h — what the weight quantizer's two modules (quant.c: layers, passes, FlexRound;
 * adaround.c: AdaRound's element kernels) share.  Internal to src/quant, like ops_impl.h.
 *
 * The helpers are static inline so each kernel gets its own inlined copy, as when they were
 * private to quant.c (-std=c11 keeps FP contraction off, so where they are compiled does not
 * change a bit).
 */
#ifndef FRTUI_QUANT_IMPL_H
#define FRTUI_QUANT_IMPL_H

#include <math.h>
#include <stdint.h>

#include "frtui/quant.h"

/* The element kernels below (FX_BLK blocks) vectorise only if GCC may if-convert their selects
 * (clamp masks, the STE's in/out choice), and by default it may not: under -ftrapping-math an
 * arithmetic expression on the untaken side of a ?: must not be evaluated, in case it traps.
 * Nothing here looks at FP exception flags, and the values are those of the scalar code (the
 * same IEEE operations, lane by lane; -std=c11 keeps contraction off, and reductions are never
 * reordered without -fassociative-math), so the kernels' results are unchanged, in 2.4x less
 * time per weight for FlexRound and 5.5x less for AdaRound (GCC 12 -O2; `frtui-dev bench --only
 * quant`).  Before vmath.h, so its inline
 * helpers carry the same options as the kernels they are inlined into. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
#include "vmath.h"

/* AdaRound's rectified sigmoid stretch (ζ, γ), as in the AdaRound paper and BRECQ. */
#define ADA_ZETA 1.1f
#define ADA_GAMMA (-0.1f)

/* Block length of the vectorised element passes (a compile-time trip count is what lets GCC
 * -O2 vectorise a loop). */
#define FX_BLK 16

/* The grid of each lane of a block (step or s1, bounds lo..hi): a block of a long row has one
 * grid, a block over several short rows (a depthwise conv's 9-weight rows) one per row. */
typedef struct lanegrid { float s[FX_BLK], lo[FX_BLK], hi[FX_BLK]; } lanegrid;

static inline void grid_fill(lanegrid *gr, int l0, int l1, float s, float lo, float hi)
{
    for (int l = l0; l < l1; l++) gr->s[l] = s, gr->lo[l] = lo, gr->hi[l] = hi;
}

typedef struct adamc { float b1w, b2, b2w, step, bc2s, eps; } adamc;

static inline adamc adam_consts(float lr, int t)
{
    adamc a;
    if (t < 1) t = 1;
    a.b1w = (float)(1.0 - 0.9);
    a.b2 = 0.999f;
    a.b2w = (float)(1.0 - 0.999);
    a.step = (float)((double)lr / (1.0 - pow(0.9, t)));
    a.bc2s = (float)sqrt(1.0 - pow(0.999, t));
    a.eps = 1e-8f;
    return a;
}

/* PyTorch Adam: m.lerp_(g, 1−β1); v = v·β2 + (1−β2)·g²; p −= lr/bc1 · m/(√v/√bc2 + eps). */
static inline float adam1(float p, float *m, float *v, float g, const adamc *a)
{
    float mm = *m + a->b1w * (g - *m);
    float vv = *v * a->b2 + a->b2w * (g * g);
    *m = mm;
    *v = vv;
    return p - a->step * (mm / (sqrtf(vv) / a->bc2s + a->eps));
}


/* A clamped code as an integer.  Only a NaN (from a corrupt parameter; never in a healthy run)
 * can be out of int range here: it maps to the low end instead of undefined behaviour. */
static inline int32_t code_i(float c, float lo) { return (int32_t)(c == c ? c : lo); }

/* fr_quant_set_flat_rows's setting (quant.h): 1 unless a test or bench turned it off. */
int fr_quant_flat_rows(void);

/* adaround.c.  fr_qada_rows: AdaRound's soft pass over output rows [r0, r1); mode 0 forward
 * (w_hat), 1 gradient into V.grad, 2 gradient + Adam on V.  rowacc[r] gets each row's f_reg sum
 * (added in element order; 0 when reg_on is 0).  Returns nonzero if a value went non-finite. */
void fr_qada_init_v(fr_qlayer *q);
uint32_t fr_qada_rows(fr_qlayer *q, int r0, int r1, int mode, const float *G, float beta, float lambda, int reg_on,
                      const adamc *ad);
void fr_qada_hard_codes(const fr_qlayer *q, int32_t *c);

#endif
