/* quant.h — per-layer weight quantizers (RTN, AdaRound, FlexRound) and the activation quantizer.
 *
 * Design note
 *   One fr_qlayer wraps one conv/linear weight W of shape [o, i, kh, kw] (linear: kh = kw = 1,
 *   "i" is in/groups).  It owns a private copy of W, the grid (s1, zero point, clamp bounds),
 *   the learnable tensors with their Adam moments and gradient buffers, and the current
 *   dequantised weight w_hat.  The graph executor reads w_hat, computes G = dL/dŴ and hands it
 *   back; nothing here knows about graphs.  Not thread-safe per layer; distinct layers are
 *   independent.  Everything is deterministic (no RNG except the QDrop mask you pass in).
 *
 *   Typical loop (caller owns the step counter t = 1, 2, ... and the lr schedule):
 *       fr_qlayer_init(&q, FR_METHOD_FLEXROUND, &cfg, o, i, kh, kw, is_conv, W, &err);
 *       for (t = 1..T) { fr_qlayer_forward(&q); ...use q.w_hat, compute G...;
 *                        if (fr_qlayer_step(&q, G, lr_t, t, beta, lambda, reg_on, &reg))
 *                            fr_qlayer_reset_to_rtn(&q); }
 *       fr_qlayer_finalize(&q);   -> q.code, q.s1, q.w_hat are final
 *
 *   Integer conventions (all methods).  Per s1 group r (whole tensor, output channel, or group of
 *   cfg.group consecutive weights of a row):
 *     c  = centred integer in [qlo[r], qhi[r]];  Ŵ = s1[r] * c
 *     symmetric:  zp = 0, qlo = -2^(b-1), qhi = 2^(b-1)-1       (CNN default, spec 1.3 A)
 *     asymmetric: zp in [0, 2^b-1] frozen at init, qlo = -zp, qhi = 2^b-1-zp   (spec 1.3 B)
 *     stored code = c + zp: signed c for symmetric, unsigned [0, 2^b-1] for asymmetric.
 *   Rounding is half-to-even (rintf under FE_TONEAREST), like torch.round.
 *
 *   FlexRound (spec 1.2): learnable d1 = log s1 [ns1], D2 [n], d3 [o], d4 [i] (convs only);
 *     u = W / (exp(d1) * exp(D2)*exp(d3)*exp(d4)),  c = clamp(rint(u)),  Ŵ = exp(d1) * c.
 *   AdaRound (spec 3.2): learnable V [n]; soft Ŵ = s1*clamp(floor(W/s1) + h(V)); hard: +1 iff V>=0.
 *   RTN: no learnable state.
 */
#ifndef FRTUI_QUANT_H
#define FRTUI_QUANT_H

#include <stddef.h>
#include <stdint.h>

#include "frtui/common.h"
#include "frtui/qdefs.h"

/* The methods (fr_method), per-weight classes and histogram layouts live in qdefs.h. */

enum fr_qinit {
    FR_QINIT_MSE = 0,    /* 80-candidate shrink search minimising mean|W-Ŵ|^2.4 (spec 1.4 / 3.1) */
    FR_QINIT_MINMAX = 1, /* plain min-max (range always includes 0) */
};

typedef struct fr_qconfig {
    int bits;          /* 2..8 */
    int per_channel;   /* 1: one s1 (and zero point) per output channel; search per channel */
    int group;         /* > 0 (with per_channel): one s1 and zero point per `group` consecutive
                        * weights of a row (GPTQ/AWQ/llama.cpp's per-group grids); a multiple of 16
                        * dividing the row length i*kh*kw.  0: per channel or per tensor */
    int symmetric;     /* 1: signed grid [-2^(b-1), 2^(b-1)-1]; 0: asymmetric, frozen zero point */
    int init;          /* enum fr_qinit */
    float lambda;      /* AdaRound regulariser weight (0.01) */
    float warmup;      /* AdaRound warm-up fraction (0.2) */
    float beta_hi, beta_lo; /* AdaRound β schedule 20 -> 2 */
    float scale_lr;    /* FlexRound: multiplier on the lr of the shared log-scales d1, d3, d4 (1 = the
                        * paper's one lr for all; 0 freezes them at RTN's grid); see quant.c */
    int s1_direct;     /* FlexRound: 1 = Adam steps s1 itself (the paper's direct form), 0 = its
                        * logarithm d1 (the official code, spec 1.2); see quant.c shared_adam */
} fr_qconfig;

/* bits 4, per-tensor, symmetric, MSE init, λ 0.01, warm-up 0.2, β 20 -> 2. */
void fr_qconfig_default(fr_qconfig *c);
/* AdaRound schedule (spec 3.2), BRECQ's LossFunction: t is its 1-based counter (first
 * iteration t = 1) of T.  reg_on = t >= warmup·T; β = beta_hi until then, then linear decay
 * to beta_lo at t = T. */
void fr_qsched_adaround(const fr_qconfig *c, long t, long T, float *beta, int *reg_on);

/* A named tensor.  For learnable tensors m, v, grad are the Adam moments and last gradient;
 * for frozen state (fr_qlayer_frozen) they are NULL. */
typedef struct fr_qparam {
    const char *name;
    float *data, *m, *v, *grad;
    size_t n;
} fr_qparam;

/* Fields are readable by callers; modify only through the API (or fr_qparam + fr_qlayer_sync). */
typedef struct fr_qlayer {
    fr_method method;
    fr_qconfig cfg;
    int o, i, kh, kw, is_conv;
    size_t n, khw;       /* n = o*i*kh*kw */
    int ns1;             /* 1 (per-tensor), o (per-channel) or o * i*kh*kw / group (per-group) */
    size_t gsz;          /* weights per s1 group, consecutive in memory: n, i*kh*kw or group */
    float *W;            /* [n] private copy of the FP weight */
    float *w_hat;        /* [n] current dequantised weight (soft for AdaRound before finalize) */
    int32_t *code;       /* [n] stored codes c + zp; valid once finalized */
    float *s1;           /* [ns1] current step (= expf(d1) for FlexRound) */
    float *s1_init;      /* [ns1] the step the search chose, exactly as found: RTN and AdaRound use it */
    float *d1_init;      /* [ns1] logf(s1_init), FlexRound's starting d1 (its grid is expf(d1)) */
    float *zp;           /* [ns1] zero point (exact small integer), 0 when symmetric */
    float *qlo, *qhi;    /* [ns1] clamp bounds of the centred integer c */
    /* learnable tensors (data/m/v/grad); n == 0 when absent for this method */
    fr_qparam d1, D2, d3, d4, V;
    float *eD2;          /* [n] FlexRound cache, invariant eD2[k] == fr_qexpf(D2[k]) */
    float *e3, *e4;      /* scratch [o], [i] */
    double *acc;         /* scratch, ns1 + i doubles */
    double *rowacc;      /* [o] per-row shares of the cross-row sums (d1, f_reg) */
    double *grpacc;      /* [ns1] per-group: each group's d1 gradient (its row writes it), else NULL */
    double *colacc;      /* [o*i] FlexRound convs: per-row shares of the d4 gradient */
    double freg;         /* AdaRound: unweighted f_reg at the last grad/step call */
    int has_grad;        /* grad buffers hold a gradient (for the dL/dS2 accessor) */
    int finalized;
    int nonfinite;       /* set when a gradient/parameter became NaN/Inf; cleared by reset */
    int fell_back;       /* fr_qlayer_reset_to_rtn was called: behaves as RTN from then on */
} fr_qlayer;
/* The s1 group of weight k (0 .. ns1-1). */
static inline int fr_qlayer_group(const fr_qlayer *q, size_t k) { return q->ns1 > 1 ? (int)(k / q->gsz) : 0; }

/* Validates shape and config, copies W, runs the grid search and initialises the learnable
 * tensors so that FlexRound starts at RTN (S2 = s3 = s4 = 1, s1 = expf(logf(step)), within 2 ulp of
 * RTN's step) and AdaRound at h(V) = frac(W/s1).
 * Errors: FR_EINPUT (bad bits/shape/method, non-finite W), FR_ENOMEM.  On error *q is zeroed. */
int fr_qlayer_init(fr_qlayer *q, fr_method method, const fr_qconfig *cfg, int o, int i,
                   int kh, int kw, int is_conv, const float *W, fr_err *e);
void fr_qlayer_free(fr_qlayer *q);

/* Writes q->w_hat from the current parameters (a no-op once finalized). */
void fr_qlayer_forward(fr_qlayer *q);

/* G = dL/dŴ [n].  Overwrites the grad buffers of every learnable tensor (STE on round; clamp
 * mask inclusive of the bounds; spec 1.6 log-parametrisation for FlexRound; AdaRound chains
 * through h(V) and adds λ·df_reg/dV when reg_on).  *reg_out (may be NULL) receives the
 * regulariser term added to the loss: reg_on ? λ·f_reg : 0 (always 0 for FlexRound/RTN).
 * Returns FR_OK, or FR_ENUM if a gradient is NaN/Inf (q->nonfinite is then set). */
int fr_qlayer_grad(fr_qlayer *q, const float *G, float beta, float lambda, int reg_on,
                   double *reg_out);
/* One Adam step (β1 .9, β2 .999, eps 1e-8, bias-corrected, PyTorch semantics) with the current
 * grad buffers, t >= 1.  Refreshes s1 and the exp(D2) cache.  FR_ENUM if a parameter became
 * non-finite.  Does not refresh w_hat: call fr_qlayer_forward. */
int fr_qlayer_adam(fr_qlayer *q, float lr, int t);
/* Fused grad + Adam in one pass over n.  Same result as grad followed by adam (identical
 * arithmetic; only the order of the double reductions may differ).  Grad buffers are filled
 * too, so the statistics accessors work after it. */
int fr_qlayer_step(fr_qlayer *q, const float *G, float lr, int t, float beta, float lambda,
                   int reg_on, double *reg_out);
/* Restores the RTN state: FlexRound params to init, AdaRound switched to RTN rounding, Adam
 * moments and grads zeroed, nonfinite cleared, fell_back set, w_hat recomputed. */
void fr_qlayer_reset_to_rtn(fr_qlayer *q);
/* Hard rounding: fills q->code (c + zp), fixes q->s1 and sets w_hat = s1*c.  Idempotent. */
void fr_qlayer_finalize(fr_qlayer *q);
/* The centred integers c [n] that finalize would produce with the current parameters. */
void fr_qlayer_hard_codes(const fr_qlayer *q, int32_t *c);

/* Learnable tensors: FlexRound "d1","D2","d3"[,"d4"]; AdaRound "V"; RTN none.  Returns the
 * count (<= max entries written).  A checkpoint saves data, m, v (grad is transient).
 * Frozen state, fr_qlayer_frozen: "s1_init", "d1_init", "zp" (float arrays, m/v/grad NULL).
 * It is a deterministic function of (W, cfg) so re-init reproduces it, but saving it guards
 * against search changes.  Also save the flags finalized/fell_back and the caller's step t.
 * After writing any of these through the pointers call fr_qlayer_sync. */
int fr_qlayer_params(fr_qlayer *q, fr_qparam *out, int max);
int fr_qlayer_frozen(fr_qlayer *q, fr_qparam *out, int max);
/* Recomputes derived state (s1, exp(D2) cache, clamp bounds, w_hat; codes if finalized). */
void fr_qlayer_sync(fr_qlayer *q);

/* The exp used for S2 = exp(D2) (vectorisable, ~1 ulp from expf, exact 1 at 0; x > 88 -> inf,
 * x < -87 -> 0). */
float fr_qexpf(float x);

/* AdaRound's rectified sigmoid h(V) = clamp(σ(V)·(ζ−γ)+γ, 0, 1), ζ = 1.1, γ = −0.1 (spec 3.2):
 * the one definition the quantizer's own passes, the statistics and the views use. */
float fr_qada_h(float v);

/* Rows shorter than the quantizer's vector block (16 weights; a depthwise 3x3 row has 9) run in
 * blocks that cross row ends (both methods).  on = 0 sends them row by row through the scalar
 * tail code instead: the reference the flat path must match bit for bit (test_quant) and the
 * "before" column of `frtui-dev bench --only quant`.  Process-wide; set it while no pass runs. */
void fr_quant_set_flat_rows(int on);

/* Plain Adam on a tensor (the helper every quantizer uses).  t >= 1.  Returns FR_ENUM if a
 * resulting parameter is non-finite. */
int fr_qadam(float *p, float *m, float *v, const float *g, size_t n, float lr, int t);

#endif
