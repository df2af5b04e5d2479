/* quant.c — RTN / AdaRound / FlexRound weight quantizers.  The initial grid search is in
 * qgrid.c, AdaRound's element kernels in adaround.c, the activation quantizer in aquant.c, the
 * branch-free maths in vmath.h, what quant.c and adaround.c share in quant_impl.h.
 *
 * Design note
 *   Ownership: an fr_qlayer owns every buffer it points to (64-byte aligned n-sized buffers via
 *   fr_amalloc, small ones via fr_xmalloc); fr_qlayer_free releases them.  No globals.
 *   Threading: forward, grad and step split a layer's rows over the kernel pool (src/base/par.c;
 *   see run_rows); the result is independent of the part count.  A layer must not be used by
 *   two threads at once; fr_qlayer_hard_codes is read-only and may run beside a reader.
 *
 *   Invariants
 *   - s1_init is the step the search chose, exactly as found: RTN and AdaRound quantize with it,
 *     so an RTN code is clamp(rint(W / s1_init)) bit for bit (issue 13 §6: the step used to be
 *     snapped through expf(logf(δ)), which moved it up to 2 ulp and turned the most negative
 *     8-bit code −128 into −127).  FlexRound learns d1 = log s1; d1_init = logf(s1_init) is kept
 *     beside it and FlexRound's grid is expf(d1), as in the reference code (exp(delta1) with
 *     delta1 = log(s) at init), so FlexRound's results do not depend on this choice and its
 *     first grid may differ from RTN's by the ulp or two that exp(log(·)) moves.
 *   - FlexRound: eD2[k] == fr_qexpf(D2[k]) always (recomputed after every update, never updated
 *     multiplicatively, which would drift).  s1 == expf(d1) (libm; scalar, off the hot path).
 *   - The divisor is formed as s1·(exp(D2)·exp(d3)·exp(d4)) rather than exp(d1+D2+d3+d4) [I]:
 *     mathematically identical, lets exp be hoisted to per-row/per-column factors plus the cached
 *     per-element exp(D2), and is exact at init because exp(0) == 1.  u = W / (s1·S').
 *   - One element kernel (fx_row) serves forward, grad and the fused step, so the clamp mask of
 *     the gradient is exactly the one of the forward.  The fused step runs, per output row,
 *     the gradient loop and then Adam + exp over that row while it is cache-hot; the separate
 *     grad/adam path executes the same float operations, so both give identical parameters.
 *   Reductions (d1, d3, d4 gradients, MSE scores) accumulate in double for determinism and
 *   accuracy; element arithmetic is float, matching the fp32 reference code.
 *
 *   Decisions on the spec's [I]/[R] points (flexround.md sections 1, 2.5, 3)
 *   - Default grid: signed symmetric, per-tensor, "mse" (L2.4, 80 candidates) — the CNN
 *     supplementary path (1.3 A, 1.4 [I]); the paper's s1 norm is [R], we follow the code (L2.4).
 *   - Asymmetric grids (3.1 / 1.3 B): the searched range always contains 0 (min⁻, max⁺) so the
 *     zero point is an integer in [0, 2^b−1]; it is frozen at init even though s1 is learned
 *     (spec 5.2).  Clamping uses centred integers c ∈ [−z, 2^b−1−z], algebraically the same
 *     as clamp(q+z, 0, 2^b−1)−z; also for AdaRound's soft value.
 *   - Rounding is rintf (half-to-even, torch.round) (1.5 [I]); never roundf.
 *   - Clamp gradient mask is inclusive of the bounds, like torch.clamp (1.5 [I]); same for the
 *     clamp inside AdaRound's rectified sigmoid.
 *   - STE on round; gradients are the log-parametrisation formulas of 1.6 [I] (d1 carries
 *     both the output-multiplier and the divisor term; clipped weights give G·s1·bound).
 *   - d4 exists iff the caller says is_conv (depthwise: i = 1, a single scalar) (1.1 [I]).
 *   - One learning rate for every learnable tensor of a layer (2.4 [I], as the LLM code).
 *   - FlexRound has no regulariser (1.7); AdaRound's f_reg/β schedule are BRECQ's (3.2).
 */
#include "frtui/quant.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "frtui/par.h"
#include "frtui/qgrid.h"
#include "quant_impl.h"

static const char *const method_names[FR_METHOD__COUNT] = {"rtn", "adaround", "flexround"};

const char *fr_method_name(fr_method m)
{
    return ((unsigned)m < FR_METHOD__COUNT) ? method_names[m] : "?";
}

int fr_method_from_name(const char *s)
{
    for (int k = 0; s && k < FR_METHOD__COUNT; k++)
        if (strcasecmp(s, method_names[k]) == 0) return k;
    return -1;
}

void fr_qconfig_default(fr_qconfig *c)
{
    memset(c, 0, sizeof *c);
    c->bits = 4;
    c->per_channel = 0;
    c->symmetric = 1;
    c->init = FR_QINIT_MSE;
    c->lambda = 0.01f;
    c->warmup = 0.2f;
    c->beta_hi = 20.0f;
    c->beta_lo = 2.0f;
    c->scale_lr = 1.0f;
}

void fr_qsched_adaround(const fr_qconfig *c, long t, long T, float *beta, int *reg_on)
{
    /* warm-up boundary from the float fraction rounded to 7 digits, so 0.2f·1000 is 200, not
     * 200.000003 (BRECQ compares t < T·0.2 in Python doubles). */
    double w = rint((double)c->warmup * 1e7) / 1e7 * (double)T;
    if (T <= 0 || (double)t < w) { *beta = c->beta_hi; *reg_on = 0; return; }
    double rel = ((double)t - w) / ((double)T - w);
    double f = 1.0 - rel;
    if (f < 0) f = 0;
    *beta = (float)(c->beta_lo + (c->beta_hi - c->beta_lo) * f);
    *reg_on = 1;
}

/* ---- grid search ------------------------------------------------------------------------ */

float fr_qexpf(float x) { return vexpf(x); }

/* ---- allocation ----------------------------------------------------------------------------- */

static float *abuf(size_t n, int *fail)
{
    float *p = fr_amalloc(n * sizeof(float));
    if (!p) { *fail = 1; return NULL; }
    memset(p, 0, n * sizeof(float));
    return p;
}

static void param_alloc(fr_qparam *p, const char *name, size_t n, int *fail)
{
    p->name = name;
    p->n = n;
    p->data = abuf(n, fail);
    p->m = abuf(n, fail);
    p->v = abuf(n, fail);
    p->grad = abuf(n, fail);
}

static void param_free(fr_qparam *p)
{
    fr_afree(p->data); fr_afree(p->m); fr_afree(p->v); fr_afree(p->grad);
}

static void param_zero_state(fr_qparam *p)
{
    if (!p->n) return;
    memset(p->m, 0, p->n * sizeof(float));
    memset(p->v, 0, p->n * sizeof(float));
    memset(p->grad, 0, p->n * sizeof(float));
}

void fr_qlayer_free(fr_qlayer *q)
{
    if (!q) return;
    fr_afree(q->W); fr_afree(q->w_hat); fr_afree(q->code); fr_afree(q->eD2);
    param_free(&q->d1); param_free(&q->D2); param_free(&q->d3); param_free(&q->d4);
    param_free(&q->V);
    free(q->s1); free(q->s1_init); free(q->d1_init); free(q->zp); free(q->qlo); free(q->qhi);
    free(q->e3); free(q->e4); free(q->acc); free(q->rowacc); free(q->grpacc); fr_afree(q->colacc);
    memset(q, 0, sizeof *q);
}

static int is_flex(const fr_qlayer *q) { return q->method == FR_METHOD_FLEXROUND && !q->fell_back; }
static int is_ada(const fr_qlayer *q) { return q->method == FR_METHOD_ADAROUND && !q->fell_back; }

static void set_bounds(fr_qlayer *q)
{
    int b = q->cfg.bits;
    for (int g = 0; g < q->ns1; g++) {
        if (q->cfg.symmetric) {
            q->qlo[g] = -(float)(1 << (b - 1));
            q->qhi[g] = (float)((1 << (b - 1)) - 1);
        } else {
            q->qlo[g] = -q->zp[g];
            q->qhi[g] = (float)((1 << b) - 1) - q->zp[g];
        }
    }
}

int fr_qlayer_init(fr_qlayer *q, fr_method method, const fr_qconfig *cfg, int o, int i,
                   int kh, int kw, int is_conv, const float *W, fr_err *e)
{
    memset(q, 0, sizeof *q);
    if ((unsigned)method >= FR_METHOD__COUNT)
        return fr_err_set(e, FR_EINPUT, "quant: unknown method %d", (int)method);
    if (!cfg || cfg->bits < 2 || cfg->bits > 8)
        return fr_err_set(e, FR_EINPUT, "quant: bits must be 2..8 (got %d)", cfg ? cfg->bits : -1);
    if (cfg->init != FR_QINIT_MSE && cfg->init != FR_QINIT_MINMAX)
        return fr_err_set(e, FR_EINPUT, "quant: unknown init method %d", cfg->init);
    if (o < 1 || i < 1 || kh < 1 || kw < 1 || !W)
        return fr_err_set(e, FR_EINPUT, "quant: bad weight shape [%d,%d,%d,%d]", o, i, kh, kw);
    size_t khw, oi, n, bytes;
    if (fr_size_mul(&khw, (size_t)kh, (size_t)kw) || fr_size_mul(&oi, (size_t)o, (size_t)i) ||
        fr_size_mul(&n, oi, khw) || fr_size_mul(&bytes, n, sizeof(float)))
        return fr_err_set(e, FR_ENOMEM, "quant: weight [%d,%d,%d,%d] too large", o, i, kh, kw);
    for (size_t k = 0; k < n; k++)
        if (!isfinite(W[k]))
            return fr_err_set(e, FR_EINPUT, "quant: weight element %zu is not finite", k);

    q->method = method;
    q->cfg = *cfg;
    q->o = o; q->i = i; q->kh = kh; q->kw = kw; q->is_conv = is_conv ? 1 : 0;
    q->n = n; q->khw = khw;
    const size_t len = (size_t)i * khw;
    if (cfg->group && (!cfg->per_channel || cfg->group < 0 || cfg->group % 16 || len % (size_t)cfg->group))
        return fr_err_set(e, FR_EINPUT, "quant: group size %d must be a multiple of 16 dividing the row length %zu "
                          "(and per-channel)", cfg->group, len);
    /* Per-group: groups are consecutive runs of a row, so the group of weight k is k / gsz and
     * every FX_BLK block of a row lies in one group (the row kernels rely on both). */
    q->gsz = cfg->group ? (size_t)cfg->group : cfg->per_channel ? len : n;
    q->ns1 = (int)(n / q->gsz);
    int fail = 0;
    q->W = abuf(n, &fail);
    q->w_hat = abuf(n, &fail);
    q->code = fr_amalloc(n * sizeof(int32_t));
    if (!q->code) fail = 1;
    if (method == FR_METHOD_FLEXROUND) {
        param_alloc(&q->d1, "d1", (size_t)q->ns1, &fail);
        param_alloc(&q->D2, "D2", n, &fail);
        param_alloc(&q->d3, "d3", (size_t)o, &fail);
        if (q->is_conv) param_alloc(&q->d4, "d4", (size_t)i, &fail);
        q->eD2 = abuf(n, &fail);
    } else if (method == FR_METHOD_ADAROUND) {
        param_alloc(&q->V, "V", n, &fail);
    }
    if (fail) {
        fr_qlayer_free(q);
        return fr_err_set(e, FR_ENOMEM, "quant: out of memory for weight [%d,%d,%d,%d]", o, i, kh, kw);
    }
    memset(q->code, 0, n * sizeof(int32_t));
    memcpy(q->W, W, bytes);
    size_t ns = (size_t)q->ns1;
    q->s1 = fr_xcalloc(ns, sizeof(float));
    q->s1_init = fr_xcalloc(ns, sizeof(float));
    q->d1_init = fr_xcalloc(ns, sizeof(float));
    q->zp = fr_xcalloc(ns, sizeof(float));
    q->qlo = fr_xcalloc(ns, sizeof(float));
    q->qhi = fr_xcalloc(ns, sizeof(float));
    q->e3 = fr_xcalloc((size_t)o, sizeof(float));
    q->e4 = fr_xcalloc((size_t)i, sizeof(float));
    q->acc = fr_xcalloc(ns + (size_t)i, sizeof(double));
    q->rowacc = fr_xcalloc((size_t)o, sizeof(double));
    if (q->ns1 > o) q->grpacc = fr_xcalloc(ns, sizeof(double));
    if (method == FR_METHOD_FLEXROUND && q->is_conv) {
        q->colacc = fr_amalloc((size_t)o * (size_t)i * sizeof(double));   /* o*i <= n: no overflow */
        if (!q->colacc) {
            fr_qlayer_free(q);
            return fr_err_set(e, FR_ENOMEM, "quant: out of memory for weight [%d,%d,%d,%d]", o, i, kh, kw);
        }
    }

    size_t rowlen = n / ns;
    for (size_t g = 0; g < ns; g++) {
        const float *w = q->W + g * rowlen;
        float d = cfg->symmetric ? fr_qgrid_sym(w, rowlen, cfg->bits, cfg->init)
                                 : fr_qgrid_asym(w, rowlen, cfg->bits, cfg->init, &q->zp[g]);
        q->s1_init[g] = d;
        q->d1_init[g] = logf(d);
    }
    if (method == FR_METHOD_FLEXROUND) memcpy(q->d1.data, q->d1_init, ns * sizeof(float));
    if (method == FR_METHOD_ADAROUND) fr_qada_init_v(q);
    fr_qlayer_sync(q);
    return FR_OK;
}

/* ---- element kernels -------------------------------------------------------------------- */

static void fx_factors_into(const fr_qlayer *q, float *e3, float *e4)
{
    for (int r = 0; r < q->o; r++) e3[r] = expf(q->d3.data[r]);
    for (int j = 0; j < q->i; j++) e4[j] = q->d4.n ? expf(q->d4.data[j]) : 1.0f;
}

static void fx_factors(fr_qlayer *q) { fx_factors_into(q, q->e3, q->e4); }

int fr_qadam(float *p, float *m, float *v, const float *g, size_t n, float lr, int t)
{
    adamc a = adam_consts(lr, t);
    int bad = 0;
    for (size_t k = 0; k < n; k++) {
        p[k] = adam1(p[k], &m[k], &v[k], g[k], &a);
        bad |= !(fabsf(p[k]) < INFINITY);
    }
    return bad ? FR_ENUM : FR_OK;
}

/* One FlexRound element, lane l of a block: the gradient w.r.t. D2 goes to gD2, the
 * per-element d1 term to g1t (fx_el_fwd: the weight Ŵ instead).  e34[l] = exp(d3[r])·exp(d4[j])
 * of the element, gr its s1 and bounds.  The block and tail loops below share these, so a block
 * and the scalar tail compute the same floats. */
static inline void fx_el(const float *W, const float *eD2, const float *e34, const float *Gb, float *gD2,
                         float *g1t, const lanegrid *gr, int l)
{
    const float s1r = gr->s[l], lo = gr->lo[l], hi = gr->hi[l];
    float u = W[l] / (s1r * (eD2[l] * e34[l]));
    float rq = rintf(u);
    int in = (rq >= lo) & (rq <= hi);
    float c = in ? rq : (rq < lo ? lo : hi);
    gD2[l] = in ? -Gb[l] * s1r * u : 0.0f;
    g1t[l] = Gb[l] * s1r * (c - (in ? u : 0.0f));
}

static inline void fx_el_fwd(const float *W, const float *eD2, const float *e34, float *wh, const lanegrid *gr, int l)
{
    wh[l] = gr->s[l] * clampf(rintf(W[l] / (gr->s[l] * (eD2[l] * e34[l]))), gr->lo[l], gr->hi[l]);
}

/* FX_BLK elements (vectorised: fixed trip count, restrict, no reductions); mode 0 writes w_hat. */
static __attribute__((noinline)) void fx_blk(const float *restrict W, const float *restrict eD2,
                                             const float *restrict e34, const float *restrict Gb, float *restrict gD2,
                                             float *restrict g1t, const lanegrid *restrict gr)
{
    for (int l = 0; l < FX_BLK; l++) fx_el(W, eD2, e34, Gb, gD2, g1t, gr, l);
}

static __attribute__((noinline)) void fx_blk_fwd(const float *restrict W, const float *restrict eD2,
                                                 const float *restrict e34, float *restrict wh,
                                                 const lanegrid *restrict gr)
{
    for (int l = 0; l < FX_BLK; l++) fx_el_fwd(W, eD2, e34, wh, gr, l);
}

/* nk < FX_BLK elements (a row's tail, the end of a flat range); Gb NULL: the forward. */
static void fx_tail(const float *W, const float *eD2, const float *e34, const float *Gb, float *gD2, float *g1t,
                    float *wh, const lanegrid *gr, int nk)
{
    for (int l = 0; l < nk; l++)
        if (Gb) fx_el(W, eD2, e34, Gb, gD2, g1t, gr, l);
        else fx_el_fwd(W, eD2, e34, wh, gr, l);
}

/* FlexRound gradient (mode 1/2) or forward (mode 0) of one output row.  The gradient goes to
 * D2.grad; returns the row's d3 gradient and adds to *g1 (d1) and g4[j] (d4).  Element math runs
 * in vectorised blocks (fx_blk); the double reductions then walk the block's results in element
 * order, so every sum is added up exactly as an element-by-element loop would (bit-identical,
 * deterministic).  The Adam/exp part runs afterwards in fx_adam_range while the row is hot. */
static double fx_row(fr_qlayer *q, int r, int mode, const float *G, double *g1, double *g4)
{
    const size_t khw = q->khw, len = (size_t)q->i * khw, base = (size_t)r * len;
    int g = fr_qlayer_group(q, base);
    const int per_group = q->grpacc != NULL;
    lanegrid gr;
    grid_fill(&gr, 0, FX_BLK, q->s1[g], q->qlo[g], q->qhi[g]);
    const float e3r = q->e3[r];
    const float *W = q->W + base, *eD2 = q->eD2 + base;
    const float *Gb = mode ? G + base : NULL;
    float *gD2 = q->D2.grad + base, *wh = q->w_hat + base;
    float e34[FX_BLK], g1t[FX_BLK];
    double g3 = 0, g1r = 0, g4j = 0;
    int j = 0;          /* column of the next element to reduce, and its tap index */
    size_t t = 0;
    int fj = 0;         /* the same for filling e34 */
    size_t ft = 0;
    for (size_t k = 0; k < len; k += FX_BLK) {
        const int nk = (int)FR_MIN((size_t)FX_BLK, len - k);
        if (per_group && k > 0 && k % q->gsz == 0) {   /* the next group of this row */
            if (mode) q->grpacc[g] = g1r;
            g1r = 0;
            g++;
            grid_fill(&gr, 0, FX_BLK, q->s1[g], q->qlo[g], q->qhi[g]);
        }
        for (int l = 0; l < nk; l++) {
            e34[l] = e3r * q->e4[fj];
            if (++ft == khw) { ft = 0; fj++; }
        }
        if (nk < FX_BLK) fx_tail(W + k, eD2 + k, e34, mode ? Gb + k : NULL, gD2 + k, g1t, wh + k, &gr, nk);
        else if (mode) fx_blk(W + k, eD2 + k, e34, Gb + k, gD2 + k, g1t, &gr);
        else fx_blk_fwd(W + k, eD2 + k, e34, wh + k, &gr);
        if (mode == 0) continue;
        for (int l = 0; l < nk; l++) {
            g1r += (double)g1t[l];
            g4j += (double)gD2[k + l];
            if (++t == khw) {
                g3 += g4j;
                if (g4) g4[j] = g4j;
                g4j = 0;
                t = 0;
                j++;
            }
        }
    }
    if (per_group && mode) { q->grpacc[g] = g1r; g1r = 0; }
    if (g1) *g1 = g1r;
    return g3;
}

static atomic_int flat_rows = 1;

void fr_quant_set_flat_rows(int on) { atomic_store_explicit(&flat_rows, on != 0, memory_order_relaxed); }
int fr_quant_flat_rows(void) { return atomic_load_explicit(&flat_rows, memory_order_relaxed); }

/* fx_row for rows [r0, r1) shorter than a block (a depthwise 3x3 row is 9 weights, which
 * fx_row could only run through its scalar tail): blocks run across row ends, each lane with
 * its own row's s1, bounds and e34, and the sums walk the results in element order, closing
 * each row where fx_row ends it.  Every float and double is the one fx_row computes
 * (test_quant compares the two).  Writes d3.grad, rowacc / grpacc and colacc of each row, as
 * pass_part does with fx_row's results; returns the rows' g3·0 (the NaN check). */
static double fx_flat(fr_qlayer *q, int r0, int r1, int mode, const float *G)
{
    const size_t khw = q->khw, len = (size_t)q->i * khw, a = (size_t)r0 * len, b = (size_t)r1 * len;
    float e34[FX_BLK], g1t[FX_BLK];
    lanegrid gr;
    double chk = 0, g3 = 0, g1r = 0, g4j = 0;
    int r = r0, fr = r0, j = 0;
    size_t t = 0, p = 0, fp = 0;   /* tap in column, position in row (reduce / fill) */
    for (size_t k = a; k < b; k += FX_BLK) {
        const int nk = (int)FR_MIN((size_t)FX_BLK, b - k);
        for (int l = 0; l < nk; l++) {
            const int g = fr_qlayer_group(q, k + (size_t)l);
            grid_fill(&gr, l, l + 1, q->s1[g], q->qlo[g], q->qhi[g]);
            e34[l] = q->e3[fr] * q->e4[fp / khw];
            if (++fp == len) { fp = 0; fr++; }
        }
        const float *W = q->W + k, *eD2 = q->eD2 + k, *Gb = mode ? G + k : NULL;
        float *gD2 = q->D2.grad + k;
        if (nk < FX_BLK) fx_tail(W, eD2, e34, Gb, gD2, g1t, q->w_hat + k, &gr, nk);
        else if (mode) fx_blk(W, eD2, e34, Gb, gD2, g1t, &gr);
        else fx_blk_fwd(W, eD2, e34, q->w_hat + k, &gr);
        if (mode == 0) continue;
        for (int l = 0; l < nk; l++) {
            g1r += (double)g1t[l];
            g4j += (double)gD2[l];
            if (++t == khw) {
                g3 += g4j;
                if (q->colacc) q->colacc[(size_t)r * (size_t)q->i + (size_t)j] = g4j;
                g4j = 0;
                t = 0;
                j++;
            }
            if (++p == len) {   /* row r ends: what fx_row returns and pass_part stores */
                if (q->grpacc) { q->grpacc[fr_qlayer_group(q, (size_t)r * len)] = g1r; g1r = 0; }
                q->rowacc[r] = g1r;
                q->d3.grad[r] = (float)g3;
                chk += g3 * 0.0;
                g1r = g3 = 0;
                j = 0;
                p = 0;
                r++;
            }
        }
    }
    return chk;
}

/* Adam on p[0, n) plus e = exp(p); returns nonzero if anything became non-finite.  Blocks of
 * 16 with a compile-time trip count and restrict parameters: GCC's -O2 "very-cheap" vectoriser
 * only takes loops it can replace entirely without alias checks, so this (and no-trapping-math,
 * quant_impl.h) is what lets it emit vector code (exp included, via vexpf). */
static int adam_exp(float *restrict p, float *restrict m, float *restrict v, float *restrict e,
                    const float *restrict g, size_t n, adamc ad)
{
    uint32_t bad = 0;
    size_t k = 0;
    for (; k + FX_BLK <= n; k += FX_BLK) {
        uint32_t bb = 0;
        for (int l = 0; l < FX_BLK; l++) {
            float pn = adam1(p[k + l], &m[k + l], &v[k + l], g[k + l], &ad);
            float ep = vexpf(pn);
            p[k + l] = pn;
            e[k + l] = ep;
            bb |= nonfinite_bits(pn) | nonfinite_bits(ep);
        }
        bad |= bb;
    }
    for (; k < n; k++) {
        float pn = adam1(p[k], &m[k], &v[k], g[k], &ad);
        p[k] = pn;
        e[k] = vexpf(pn);
        bad |= nonfinite_bits(pn) | nonfinite_bits(e[k]);
    }
    return bad != 0;
}

static int fx_adam_range(fr_qlayer *q, size_t a, size_t b, const adamc *ad)
{
    return adam_exp(q->D2.data + a, q->D2.m + a, q->D2.v + a, q->eD2 + a, q->D2.grad + a, b - a, *ad);
}

static void rtn_row(const fr_qlayer *q, int r, float *out_w, int32_t *out_c)
{
    size_t len = (size_t)q->i * q->khw, base = (size_t)r * len;
    for (size_t k = base; k < base + len; k++) {
        const int g = fr_qlayer_group(q, k);
        const float s = q->s1_init[g], lo = q->qlo[g], hi = q->qhi[g];
        float c = clampf(rintf(q->W[k] / s), lo, hi);
        if (out_w) out_w[k] = s * c;
        if (out_c) out_c[k] = code_i(c, lo);
    }
}

/* ---- public passes -------------------------------------------------------------------------- */

/* The row passes run on the kernel pool (src/base/par.c), rows split into contiguous ranges.  Rows
 * are independent except for the sums across rows (per-tensor d1, d4, AdaRound's f_reg): each
 * row stores its share (rowacc[r], colacc[r][j]) and one thread then adds them up in row order,
 * the very additions the serial loop made.  So the result does not depend on the part count,
 * not even in the last bit (test_quant checks 1 against 3 parts).  Small layers run as one part:
 * a fork-join costs more than the work. */
#define QPAR_MIN_WEIGHTS 8192

typedef struct qpass {
    fr_qlayer *q;
    int mode;            /* 0 forward, 1 grad, 2 grad + Adam */
    const float *G;
    adamc ad;
    float beta, lambda;
    int reg_on;
    int bad[FR_PAR_MAX];
    double chk[FR_PAR_MAX];
} qpass;

static void pass_part(void *ctx, int part, int nparts)
{
    qpass *c = ctx;
    fr_qlayer *q = c->q;
    int lo, hi;
    fr_par_range(q->o, part, nparts, &lo, &hi);
    const size_t len = (size_t)q->i * q->khw;
    int bad = 0;
    double chk = 0;
    if (is_ada(q)) {
        c->bad[part] = fr_qada_rows(q, lo, hi, c->mode, c->G, c->beta, c->lambda, c->reg_on, &c->ad) != 0;
        c->chk[part] = 0;
        return;
    }
    if (is_flex(q) && len < FX_BLK && fr_quant_flat_rows()) {   /* short rows: blocks across row ends, then Adam on them all */
        c->chk[part] = fx_flat(q, lo, hi, c->mode, c->G);
        c->bad[part] = c->mode == 2 && lo < hi && fx_adam_range(q, (size_t)lo * len, (size_t)hi * len, &c->ad);
        return;
    }
    for (int r = lo; r < hi; r++) {
        if (is_flex(q)) {
            if (c->mode == 0) { fx_row(q, r, 0, NULL, NULL, NULL); continue; }
            double g3 = fx_row(q, r, c->mode, c->G, &q->rowacc[r], q->colacc ? q->colacc + (size_t)r * (size_t)q->i : NULL);
            q->d3.grad[r] = (float)g3;
            chk += g3 * 0.0;
            if (c->mode == 2) bad |= fx_adam_range(q, (size_t)r * len, (size_t)(r + 1) * len, &c->ad);
        } else {
            rtn_row(q, r, q->w_hat, NULL);
        }
    }
    c->bad[part] = bad;
    c->chk[part] = chk;
}

/* Runs pass_part over all rows; returns nonzero if a part saw a non-finite value. */
static int run_rows(qpass *c)
{
    int parts = c->q->n >= QPAR_MIN_WEIGHTS ? fr_par_threads() : 1;
    if (parts > 1) fr_par_run(pass_part, c);
    else pass_part(c, 0, 1);
    int bad = 0;
    double chk = 0;
    for (int p = 0; p < parts; p++) { bad |= c->bad[p]; chk += c->chk[p]; }
    return bad || !isfinite(chk);
}

void fr_qlayer_forward(fr_qlayer *q)
{
    if (q->finalized) return;
    if (is_flex(q)) fx_factors(q);
    qpass c = {.q = q, .mode = 0};
    run_rows(&c);
}

static int mark(fr_qlayer *q, int bad)
{
    if (bad) q->nonfinite = 1;
    return bad ? FR_ENUM : FR_OK;
}

/* Adam on FlexRound's shared log-scales d1, d3, d4 at lr · cfg.scale_lr.
 *
 * [I] decision (issue 15, docs/issue15-flexround-diagnosis.md): the paper and the official code use
 * one lr for every FlexRound parameter, and 1 stays the default.  But each of these tensors sums the
 * STE gradient over a whole row, column or layer, and for a log-scale that only divides, that sum is
 * ≈ Σ G·(Ŵ − W) ≈ 2eᵀHe > 0 (the layer's own rounding-error energy), not the slope of the true
 * loss: its sign never changes, so Adam (which normalises magnitude away) drifts the scale by ≈ lr
 * every step until clipping bites.  Per-element D2 does not aggregate and has no such bias.
 * scale_lr < 1 slows (0 freezes) the drift; what it buys is measured on whole networks in README.
 * Skipped entirely at 0 so that the moments stay zero and the parameters bit-exactly at RTN's grid. */
static int shared_adam(fr_qlayer *q, float lr, int t)
{
    float slr = lr * q->cfg.scale_lr;
    if (!(q->cfg.scale_lr > 0)) return 0;
    int bad = 0;
    if (q->cfg.s1_direct) {
        /* [I] `--s1-param direct` (issue 15): the paper writes FlexRound in the direct form,
         * Ŵ = s1·round(W / (s1·S2·s3·s4)), and an implementation that learns s1 itself moves it by
         * about lr per step in absolute units -- 4 % over 800 steps for the first MobileNetV2
         * depthwise conv (s1 9.3), but tens of percent for a 1x1 conv with s1 0.02 -- where the
         * official code's log form moves every layer's s1 by the same relative amount.  Adam runs
         * on s1 with the chain-rule gradient dL/ds1 = (dL/dd1) / s1 and its own moments (kept in
         * d1's m and v); d1 = log s1 stays the stored parameter.  A step that would make s1 fall
         * below 1e-3 of its initial value stops there (s1 must stay positive; not reached in the
         * runs in README).  S2, s3, s4 keep the log form: they start at 1, where a step of lr in
         * the parameter or in its logarithm is the same move. */
        size_t n = q->d1.n;
        float *sp = (float *)(void *)q->acc, *gp = sp + n;   /* acc: ns1 doubles, free after pass() read it */
        for (size_t k = 0; k < n; k++) { sp[k] = expf(q->d1.data[k]); gp[k] = q->d1.grad[k] / sp[k]; }
        bad |= fr_qadam(sp, q->d1.m, q->d1.v, gp, n, slr, t) != FR_OK;
        for (size_t k = 0; k < n; k++) {
            float lo = 1e-3f * q->s1_init[k];
            q->d1.data[k] = logf(sp[k] > lo ? sp[k] : lo);
        }
    } else {
        bad |= fr_qadam(q->d1.data, q->d1.m, q->d1.v, q->d1.grad, q->d1.n, slr, t) != FR_OK;
    }
    bad |= fr_qadam(q->d3.data, q->d3.m, q->d3.v, q->d3.grad, q->d3.n, slr, t) != FR_OK;
    if (q->d4.n) bad |= fr_qadam(q->d4.data, q->d4.m, q->d4.v, q->d4.grad, q->d4.n, slr, t) != FR_OK;
    return bad;
}

/* mode 1 (grad) or 2 (grad + Adam). */
static int pass(fr_qlayer *q, int mode, const float *G, float lr, int t, float beta,
                float lambda, int reg_on, double *reg_out)
{
    FR_ASSERT(G != NULL);
    if (reg_out) *reg_out = 0;
    if (q->finalized || !(is_flex(q) || is_ada(q))) return FR_OK;
    qpass c = {.q = q, .mode = mode, .G = G, .ad = adam_consts(lr, t), .beta = beta, .lambda = lambda,
               .reg_on = reg_on};
    if (is_flex(q)) {
        fx_factors(q);
        int bad = run_rows(&c);
        /* The cross-row sums, in row order (see run_rows). */
        size_t ns = (size_t)q->ns1;
        double *g1 = q->acc, *g4 = q->acc + ns, chk = 0;
        memset(q->acc, 0, (ns + (size_t)q->i) * sizeof(double));
        if (q->grpacc) memcpy(g1, q->grpacc, ns * sizeof(double));   /* each group summed by its row */
        else
            for (int r = 0; r < q->o; r++) g1[q->ns1 > 1 ? r : 0] += q->rowacc[r];
        if (q->colacc)
            for (int r = 0; r < q->o; r++) {
                const double *cr = q->colacc + (size_t)r * (size_t)q->i;
                for (int j = 0; j < q->i; j++) g4[j] += cr[j];
            }
        for (size_t g = 0; g < ns; g++) { q->d1.grad[g] = (float)g1[g]; chk += g1[g] * 0.0; }
        for (int j = 0; j < q->i && q->d4.n; j++) { q->d4.grad[j] = (float)g4[j]; chk += g4[j] * 0.0; }
        q->has_grad = 1;
        if (bad || !isfinite(chk)) return mark(q, 1);
        if (mode == 2) {
            bad = shared_adam(q, lr, t);
            for (size_t g = 0; g < ns; g++) { q->s1[g] = expf(q->d1.data[g]); chk += (double)q->s1[g] * 0.0; }
            return mark(q, bad || !isfinite(chk));
        }
        return FR_OK;
    }
    int bad = run_rows(&c);
    double f = 0;
    for (int r = 0; r < q->o; r++) f += q->rowacc[r];
    q->freg = reg_on ? f : 0.0;
    q->has_grad = 1;
    if (reg_out) *reg_out = reg_on ? (double)lambda * f : 0.0;
    return mark(q, bad || !isfinite(f));
}

int fr_qlayer_grad(fr_qlayer *q, const float *G, float beta, float lambda, int reg_on,
                   double *reg_out)
{
    return pass(q, 1, G, 0.0f, 1, beta, lambda, reg_on, reg_out);
}

int fr_qlayer_step(fr_qlayer *q, const float *G, float lr, int t, float beta, float lambda,
                   int reg_on, double *reg_out)
{
    return pass(q, 2, G, lr, t, beta, lambda, reg_on, reg_out);
}

int fr_qlayer_adam(fr_qlayer *q, float lr, int t)
{
    if (q->finalized) return FR_OK;
    int bad = 0;
    if (is_flex(q)) {
        adamc ad = adam_consts(lr, t);
        bad |= fx_adam_range(q, 0, q->n, &ad);
        bad |= shared_adam(q, lr, t);
        double chk = 0;
        for (int g = 0; g < q->ns1; g++) { q->s1[g] = expf(q->d1.data[g]); chk += (double)q->s1[g] * 0.0; }
        bad |= !isfinite(chk);
    } else if (is_ada(q)) {
        bad |= fr_qadam(q->V.data, q->V.m, q->V.v, q->V.grad, q->V.n, lr, t) != FR_OK;
    }
    return mark(q, bad);
}

void fr_qlayer_hard_codes(const fr_qlayer *q, int32_t *c)
{
    /* Truly read-only (own factor buffers, not the layer's scratch) so the UI may call it from
     * another thread while no writer runs on this layer. */
    if (is_flex(q)) {
        float *e3 = fr_xmalloc((size_t)q->o * sizeof(float)), *e4 = fr_xmalloc((size_t)q->i * sizeof(float));
        fx_factors_into(q, e3, e4);
        for (int r = 0; r < q->o; r++)
            for (int j = 0; j < q->i; j++) {
                const float e34 = e3[r] * e4[j];
                size_t base = ((size_t)r * (size_t)q->i + (size_t)j) * q->khw;
                for (size_t t = 0; t < q->khw; t++) {
                    const int g = fr_qlayer_group(q, base + t);
                    const float s1r = q->s1[g], lo = q->qlo[g], hi = q->qhi[g];
                    c[base + t] = code_i(clampf(rintf(q->W[base + t] / (s1r * (q->eD2[base + t] * e34))), lo, hi), lo);
                }
            }
        free(e3);
        free(e4);
    } else if (is_ada(q)) {
        fr_qada_hard_codes(q, c);
    } else {
        for (int r = 0; r < q->o; r++) rtn_row(q, r, NULL, c);
    }
}

void fr_qlayer_finalize(fr_qlayer *q)
{
    fr_qlayer_hard_codes(q, q->code);
    for (size_t k = 0; k < q->n; k++) {
        int g = fr_qlayer_group(q, k);
        q->w_hat[k] = q->s1[g] * (float)q->code[k];
        q->code[k] += (int32_t)q->zp[g];
    }
    q->finalized = 1;
}

void fr_qlayer_sync(fr_qlayer *q)
{
    set_bounds(q);
    for (int g = 0; g < q->ns1; g++)
        q->s1[g] = is_flex(q) ? expf(q->d1.data[g]) : q->s1_init[g];
    if (q->eD2)
        for (size_t k = 0; k < q->n; k++) q->eD2[k] = vexpf(q->D2.data[k]);
    if (q->finalized) fr_qlayer_finalize(q);
    else fr_qlayer_forward(q);
}

void fr_qlayer_reset_to_rtn(fr_qlayer *q)
{
    if (q->method == FR_METHOD_FLEXROUND) {
        memcpy(q->d1.data, q->d1_init, (size_t)q->ns1 * sizeof(float));
        memset(q->D2.data, 0, q->n * sizeof(float));
        memset(q->d3.data, 0, (size_t)q->o * sizeof(float));
        if (q->d4.n) memset(q->d4.data, 0, q->d4.n * sizeof(float));
    }
    param_zero_state(&q->d1); param_zero_state(&q->D2); param_zero_state(&q->d3);
    param_zero_state(&q->d4); param_zero_state(&q->V);
    q->nonfinite = 0;
    q->has_grad = 0;
    q->finalized = 0;
    q->fell_back = 1;
    q->freg = 0;
    fr_qlayer_sync(q);
}

int fr_qlayer_params(fr_qlayer *q, fr_qparam *out, int max)
{
    fr_qparam *all[] = {&q->d1, &q->D2, &q->d3, &q->d4, &q->V};
    int cnt = 0;
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
        if (all[k]->n && cnt < max) out[cnt++] = *all[k];
    return cnt;
}

int fr_qlayer_frozen(fr_qlayer *q, fr_qparam *out, int max)
{
    fr_qparam fz[3] = {
        {"s1_init", q->s1_init, NULL, NULL, NULL, (size_t)q->ns1},
        {"d1_init", q->d1_init, NULL, NULL, NULL, (size_t)q->ns1},
        {"zp", q->zp, NULL, NULL, NULL, (size_t)q->ns1},
    };
    int cnt = 0;
    for (int k = 0; k < 3 && cnt < max; k++) out[cnt++] = fz[k];
    return cnt;
}
