/* adaround.c — AdaRound's soft rounding (Nagel et al. 2020, with BRECQ's schedule): the element
 * kernels of its forward, gradient and fused Adam step, its initial V and its hard codes.  The
 * layer, its buffers and the row passes that call these are quant.c's.
 *
 * Design note
 *   Ownership: nothing here allocates; every function works on the fr_qlayer it is given.
 *   Threading: fr_qada_row touches only row r's elements and writes the row's f_reg sum to the
 *   caller's slot, so quant.c's pool may run rows on different threads (see run_rows there).
 *   Invariants: ŵ = s1·clamp(floor(W/s1) + h(V), lo, hi) with h the rectified sigmoid clamped to
 *   [0, 1]; the clamp masks of the gradient are those of the forward (the same comparisons, the
 *   inclusive bounds of torch.clamp); the block kernels and the scalar row-tail code execute the
 *   same float operations, so where a row's tail begins does not change a result.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "quant_impl.h"

void fr_qada_init_v(fr_qlayer *q)
{
    /* V such that σ(V)(ζ−γ)+γ = frac(W/s1): soft AdaRound starts at the FP weight. */
    for (size_t k = 0; k < q->n; k++) {
        double s = q->s1_init[fr_qlayer_group(q, k)];
        double x = (double)(q->W[k] / (float)s);
        double rest = x - floor(x);
        q->V.data[k] = (float)(-log((ADA_ZETA - ADA_GAMMA) / (rest - ADA_GAMMA) - 1.0));
    }
}

static inline float ada_sig(float v) { return 1.0f / (1.0f + vexpf(-v)); }
/* The rectified sigmoid before and after its clamp, from σ(V) (the passes need both). */
static inline float ada_hraw(float sg) { return sg * (ADA_ZETA - ADA_GAMMA) + ADA_GAMMA; }
static inline float ada_h(float sg) { return clampf(ada_hraw(sg), 0.0f, 1.0f); }

float fr_qada_h(float v) { return ada_h(ada_sig(v)); }

/* The step's scalars (the grid is per lane: lanegrid, quant_impl.h). */
typedef struct adac { float beta, bm1, lambda; int reg_on; } adac;

/* AdaRound grad over FX_BLK weights in short fixed-trip-count passes (restrict, no calls): in
 * this form GCC -O2 vectorises each of them, sigmoid, pow and Adam included (given
 * no-trapping-math, quant_impl.h), whereas one fused element body with two exps and a log
 * defeats its if-conversion.  gV gets dL/dV (regulariser included when reg_on), fr the f_reg
 * terms, which the caller reduces in double in element order (deterministic).  Returns nonzero
 * on Inf/NaN. */
static __attribute__((noinline)) uint32_t ada_blk(const float *restrict W, const float *restrict V, const float *restrict G,
                        float *restrict gV, float *restrict fr, const adac *c, const lanegrid *restrict gr)
{
    const float zg = ADA_ZETA - ADA_GAMMA, bm1 = c->bm1;
    const float kreg = c->reg_on ? c->lambda * -c->beta * 2.0f : 0.0f;
    float sg[FX_BLK], h[FX_BLK], pa[FX_BLK];
    for (int l = 0; l < FX_BLK; l++) sg[l] = ada_sig(V[l]);
    for (int l = 0; l < FX_BLK; l++) h[l] = ada_h(sg[l]);
    for (int l = 0; l < FX_BLK; l++) pa[l] = vpow01(fabsf(2.0f * h[l] - 1.0f), bm1);
    uint32_t bad = 0;
    for (int l = 0; l < FX_BLK; l++) {
        const float s = gr->s[l];
        float hr = ada_hraw(sg[l]);
        float x = vfloorf(W[l] / s) + h[l];
        int in = (x >= gr->lo[l]) & (x <= gr->hi[l]);
        float dh = ((hr >= 0.0f) & (hr <= 1.0f)) ? sg[l] * (1.0f - sg[l]) * zg : 0.0f;
        float gv = in ? G[l] * s * dh : 0.0f;
        float a = 2.0f * h[l] - 1.0f, aa = fabsf(a);
        float sgn = a > 0.0f ? 1.0f : (a < 0.0f ? -1.0f : 0.0f);
        gv = c->reg_on ? gv + kreg * pa[l] * sgn * dh : gv;
        fr[l] = 1.0f - pa[l] * aa;
        gV[l] = gv;
        bad |= nonfinite_bits(gv);
    }
    return bad;
}

static __attribute__((noinline)) uint32_t ada_blk_adam(float *restrict V, float *restrict m, float *restrict v, const float *restrict g,
                             adamc ad)
{
    uint32_t bad = 0;
    for (int l = 0; l < FX_BLK; l++) {
        float pn = adam1(V[l], &m[l], &v[l], g[l], &ad);
        V[l] = pn;
        bad |= nonfinite_bits(pn);
    }
    return bad;
}

/* Soft forward over FX_BLK weights: w_hat = s·clamp(floor(W/s) + h(V)), vectorised like ada_blk. */
static __attribute__((noinline)) void ada_blk_fwd(const float *restrict W, const float *restrict V, float *restrict wh,
                                                  const lanegrid *restrict gr)
{
    float h[FX_BLK];
    for (int l = 0; l < FX_BLK; l++) h[l] = ada_h(ada_sig(V[l]));
    for (int l = 0; l < FX_BLK; l++) {
        const float s = gr->s[l], lo = gr->lo[l], hi = gr->hi[l];
        float x = vfloorf(W[l] / s) + h[l];
        wh[l] = s * (((x >= lo) & (x <= hi)) ? x : (x < lo ? lo : hi));
    }
}

/* The same for one weight (block tails), grid (s, lo, hi): gV[e], and Adam on V[e] in mode 2;
 * *fr gets its f_reg term.  Returns nonzero on Inf/NaN. */
static uint32_t ada_one(fr_qlayer *q, size_t e, int mode, const float *G, const adac *c, float s, float lo, float hi,
                        const adamc *ad, float *fr)
{
    const float zg = ADA_ZETA - ADA_GAMMA, W = q->W[e], V = q->V.data[e];
    float sg = ada_sig(V), hr = ada_hraw(sg), h = clampf(hr, 0.0f, 1.0f);
    float x = vfloorf(W / s) + h;
    int in = (x >= lo) & (x <= hi);
    float dh = ((hr >= 0.0f) & (hr <= 1.0f)) ? sg * (1.0f - sg) * zg : 0.0f;
    float gv = in ? G[e] * s * dh : 0.0f;
    float a = 2.0f * h - 1.0f, aa = fabsf(a), pa = vpow01(aa, c->bm1);
    float sgn = a > 0.0f ? 1.0f : (a < 0.0f ? -1.0f : 0.0f);
    const float kreg = c->reg_on ? c->lambda * -c->beta * 2.0f : 0.0f;
    *fr = 1.0f - pa * aa;
    gv = c->reg_on ? gv + kreg * pa * sgn * dh : gv;
    q->V.grad[e] = gv;
    uint32_t bad = nonfinite_bits(gv);
    if (mode == 2) {
        q->V.data[e] = adam1(V, &q->V.m[e], &q->V.v[e], gv, ad);
        bad |= nonfinite_bits(q->V.data[e]);
    }
    return bad;
}

/* Weights [k, k+nk), nk <= FX_BLK, lane l on grid gr[l]: mode 0 the soft forward into w_hat,
 * 1/2 the gradient (and Adam) with the f_reg terms in fr.  A whole block runs the vector
 * kernels, a shorter one the same arithmetic weight by weight. */
static uint32_t ada_block(fr_qlayer *q, size_t k, int nk, int mode, const float *G, const adac *c,
                          const lanegrid *gr, const adamc *ad, float *fr)
{
    float *W = q->W, *V = q->V.data;
    if (nk == FX_BLK) {
        if (mode == 0) { ada_blk_fwd(W + k, V + k, q->w_hat + k, gr); return 0; }
        uint32_t bad = ada_blk(W + k, V + k, G + k, q->V.grad + k, fr, c, gr);
        if (mode == 2) bad |= ada_blk_adam(V + k, q->V.m + k, q->V.v + k, q->V.grad + k, *ad);
        return bad;
    }
    uint32_t bad = 0;
    for (int l = 0; l < nk; l++) {
        const size_t e = k + (size_t)l;
        if (mode == 0) {
            const float sl = gr->s[l], lo = gr->lo[l], hi = gr->hi[l];
            float x = vfloorf(W[e] / sl) + ada_h(ada_sig(V[e]));
            q->w_hat[e] = sl * (x >= lo && x <= hi ? x : (x < lo ? lo : hi));
        } else {
            bad |= ada_one(q, e, mode, G, c, gr->s[l], gr->lo[l], gr->hi[l], ad, &fr[l]);
        }
    }
    return bad;
}

/* Elements [a, b) of q's rows [r0, r1) (a = r0·len, b = r1·len) in FX_BLK blocks that run
 * across row ends: the pass for rows shorter than a block (a depthwise conv's 9 weights),
 * which would otherwise run every weight through the scalar tail code.  Each lane takes its
 * own row's grid; each row's f_reg terms are still added in element order into a sum of its
 * own, so rowacc[r] is what the row-by-row pass gives. */
static uint32_t ada_flat(fr_qlayer *q, int r0, int r1, int mode, const float *G, const adac *c, const adamc *ad)
{
    const size_t len = (size_t)q->i * q->khw, a = (size_t)r0 * len, b = (size_t)r1 * len;
    float fr[FX_BLK];
    lanegrid gr;
    uint32_t bad = 0;
    double f = 0;
    int r = r0;
    size_t rend = a + len;   /* end of row r */
    for (size_t k = a; k < b; k += FX_BLK) {
        const int nk = (int)FR_MIN((size_t)FX_BLK, b - k);
        for (int l = 0; l < nk; l++) {
            const int g = fr_qlayer_group(q, k + (size_t)l);
            grid_fill(&gr, l, l + 1, q->s1[g], q->qlo[g], q->qhi[g]);
        }
        bad |= ada_block(q, k, nk, mode, G, c, &gr, ad, fr);
        if (mode == 0) continue;
        for (int l = 0; l < nk; l++) {
            if (c->reg_on) f += (double)fr[l];
            if (k + (size_t)l + 1 == rend) {
                q->rowacc[r++] = f;
                f = 0;
                rend += len;
            }
        }
    }
    return bad;
}

/* AdaRound soft pass over one row of at least FX_BLK weights; *freg gets its f_reg sum. */
static uint32_t ada_row(fr_qlayer *q, int r, int mode, const float *G, const adac *c, const adamc *ad, double *freg)
{
    const size_t len = (size_t)q->i * q->khw, base = (size_t)r * len;
    int g = fr_qlayer_group(q, base);
    const int per_group = q->grpacc != NULL;   /* then len is a multiple of the group, of FX_BLK */
    lanegrid gr;
    grid_fill(&gr, 0, FX_BLK, q->s1[g], q->qlo[g], q->qhi[g]);
    float fr[FX_BLK];
    double f = 0;
    uint32_t bad = 0;
    for (size_t k = base; k < base + len; k += FX_BLK) {
        const int nk = (int)FR_MIN((size_t)FX_BLK, base + len - k);
        if (per_group && fr_qlayer_group(q, k) != g) {
            g = fr_qlayer_group(q, k);
            grid_fill(&gr, 0, FX_BLK, q->s1[g], q->qlo[g], q->qhi[g]);
        }
        bad |= ada_block(q, k, nk, mode, G, c, &gr, ad, fr);
        if (mode && c->reg_on)
            for (int l = 0; l < nk; l++) f += (double)fr[l];
    }
    if (mode) *freg = f;
    return bad;
}

uint32_t fr_qada_rows(fr_qlayer *q, int r0, int r1, int mode, const float *G, float beta, float lambda, int reg_on,
                      const adamc *ad)
{
    const adac c = {beta, beta - 1.0f, lambda, reg_on};
    if ((size_t)q->i * q->khw < FX_BLK && fr_quant_flat_rows()) return ada_flat(q, r0, r1, mode, G, &c, ad);
    uint32_t bad = 0;
    for (int r = r0; r < r1; r++) bad |= ada_row(q, r, mode, G, &c, ad, &q->rowacc[r]);
    return bad;
}

void fr_qada_hard_codes(const fr_qlayer *q, int32_t *c)
{
    for (size_t k = 0; k < q->n; k++) {
        const int g = fr_qlayer_group(q, k);
        float x = floorf(q->W[k] / q->s1[g]) + (q->V.data[k] >= 0.0f ? 1.0f : 0.0f);
        c[k] = code_i(clampf(x, q->qlo[g], q->qhi[g]), q->qlo[g]);
    }
}
