/* test_quant.c — weight/activation quantizers: gradients vs finite differences of the STE
 * surrogate, known answers, statistics, fused vs separate steps, a small optimisation. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fr_test.h"
#include "frtui/common.h"
#include "frtui/qstats.h"
#include "frtui/aquant.h"
#include "frtui/par.h"
#include "frtui/quant.h"
#include "frtui/qgrid.h"

static float *randn(fr_rng *r, size_t n, float scale)
{
    float *p = fr_xmalloc(n * sizeof(float));
    for (size_t k = 0; k < n; k++) p[k] = scale * fr_rng_normal(r);
    return p;
}

static fr_qconfig cfgb(int bits, int pc, int sym, int init)
{
    fr_qconfig c;
    fr_qconfig_default(&c);
    /* pc: 0 per tensor, 1 per channel, > 1 per group of pc weights (per channel set too) */
    c.bits = bits; c.per_channel = pc != 0; c.group = pc > 1 ? pc : 0; c.symmetric = sym; c.init = init;
    return c;
}

static void test_names(void)
{
    for (int k = 0; k < FR_METHOD__COUNT; k++) FR_CHECK(fr_method_from_name(fr_method_name((fr_method)k)) == k);
    FR_CHECK(fr_method_from_name("FlexRound") == FR_METHOD_FLEXROUND);
    FR_CHECK(fr_method_from_name("brecq") == -1);
    FR_CHECK(strcmp(fr_method_name((fr_method)9), "?") == 0);
}

static void test_validation(void)
{
    fr_qlayer q;
    fr_err e;
    float w[4] = {1, 2, 3, 4};
    fr_qconfig c = cfgb(1, 0, 1, FR_QINIT_MSE);
    FR_CHECK(fr_qlayer_init(&q, FR_METHOD_RTN, &c, 1, 4, 1, 1, 0, w, &e) == FR_EINPUT);
    c.bits = 9;
    FR_CHECK(fr_qlayer_init(&q, FR_METHOD_RTN, &c, 1, 4, 1, 1, 0, w, &e) == FR_EINPUT);
    c.bits = 4;
    FR_CHECK(fr_qlayer_init(&q, FR_METHOD_RTN, &c, 0, 4, 1, 1, 0, w, &e) == FR_EINPUT);
    w[2] = NAN;
    FR_CHECK(fr_qlayer_init(&q, FR_METHOD_FLEXROUND, &c, 1, 4, 1, 1, 0, w, &e) == FR_EINPUT);
    FR_CHECK(strstr(e.msg, "not finite") != NULL);
    fr_aquant a;
    FR_CHECK(fr_aquant_init(&a, 4, FR_QINIT_MSE, w, 0, &e) == FR_EINPUT);
}

/* Brute-force score in double for the symmetric search. */
static double score_sym(const float *w, size_t n, float d, int bits)
{
    double lo = -(1 << (bits - 1)), hi = (1 << (bits - 1)) - 1, acc = 0;
    for (size_t k = 0; k < n; k++) {
        double c = fmin(hi, fmax(lo, rint((double)w[k] / d)));
        acc += pow(fabs(w[k] - c * d), 2.4);
    }
    return acc / n;
}

static void test_rtn_search(void)
{
    fr_qlayer q;
    fr_err e;
    /* min-max symmetric: s = 2*max|W|/(2^b-1) */
    float w1[6] = {-1.0f, -0.5f, 0.0f, 0.25f, 0.5f, 0.75f};
    fr_qconfig c = cfgb(4, 0, 1, FR_QINIT_MINMAX);
    FR_CHECK(fr_qlayer_init(&q, FR_METHOD_RTN, &c, 1, 6, 1, 1, 0, w1, &e) == FR_OK);
    FR_CHECK(q.s1_init[0] == 2.0f * 1.0f / 15.0f);   /* the step as the search computes it */
    FR_CHECK(q.d1_init[0] == logf(q.s1_init[0]));
    FR_CHECK(q.qlo[0] == -8 && q.qhi[0] == 7 && q.zp[0] == 0);
    fr_qlayer_finalize(&q);
    /* -1/s is -7.4999996 in float (s = fl(2/15) is a little above 2/15): RTN as written gives
     * -7, not the -8 that exact arithmetic (-7.5, half to even) would; 0.25/s = 1.875 -> 2. */
    int32_t want[6] = {-7, -4, 0, 2, 4, 6};
    FR_CHECK(memcmp(q.code, want, sizeof want) == 0);
    fr_qlayer_free(&q);

    /* MSE search: an outlier makes shrinking pay off; result is the brute-force argmin. */
    fr_rng r;
    fr_rng_seed(&r, 7);
    float w2[200];
    for (int k = 0; k < 200; k++) w2[k] = 2.0f * fr_rng_uniform(&r) - 1.0f;
    w2[17] = 4.0f;
    c = cfgb(3, 0, 1, FR_QINIT_MSE);
    FR_CHECK(fr_qlayer_init(&q, FR_METHOD_RTN, &c, 1, 200, 1, 1, 0, w2, &e) == FR_OK);
    double s0 = 2.0 * 4.0 / 7.0, best = INFINITY;
    int bi = -1;
    for (int i = 0; i < 80; i++) {
        double sc = score_sym(w2, 200, (float)(s0 * (1.0 - 0.01 * i)), 3);
        if (sc < best) { best = sc; bi = i; }
    }
    FR_CHECKF(fabs(q.s1_init[0] / (s0 * (1.0 - 0.01 * bi)) - 1.0) < 1e-5, "s1=%g best i=%d", q.s1_init[0], bi);
    FR_CHECK(q.s1_init[0] < 0.9 * s0);
    FR_CHECK(score_sym(w2, 200, q.s1_init[0], 3) <= best * (1 + 1e-4));
    fr_qlayer_free(&q);

    /* Asymmetric per-channel MSE: each row is the brute-force argmin of spec 3.1. */
    float w4[3 * 64];
    for (int k = 0; k < 192; k++) w4[k] = fr_rng_normal(&r) * (k < 64 ? 0.2f : 1.0f) + (k >= 128 ? 0.8f : 0.0f);
    c = cfgb(3, 1, 0, FR_QINIT_MSE);
    FR_CHECK(fr_qlayer_init(&q, FR_METHOD_RTN, &c, 3, 64, 1, 1, 0, w4, NULL) == FR_OK);
    for (int g = 0; g < 3; g++) {
        const float *row = w4 + 64 * g;
        float mn = 0, mx = 0;
        for (int k = 0; k < 64; k++) { mn = fminf(mn, row[k]); mx = fmaxf(mx, row[k]); }
        double bs = INFINITY, bd = 0, bz = 0;
        for (int i = 0; i < 80; i++) {
            float f = (float)(1.0 - 0.01 * i), lo = mn * f, hi = mx * f, d = (hi - lo) / 7.0f;
            float z = rintf(-lo / d);
            double sc = 0;
            for (int k = 0; k < 64; k++) {
                double cq = fmin(7, fmax(0, rint((double)(row[k] / d)) + z)) - z;
                sc += pow(fabs(row[k] - cq * d), 2.4);
            }
            if (sc < bs) { bs = sc; bd = d; bz = z; }
        }
        FR_CHECKF(fabs(q.s1_init[g] / bd - 1) < 1e-6 && q.zp[g] == bz, "row %d s1 %g vs %g zp %g vs %g",
                  g, q.s1_init[g], bd, q.zp[g], bz);
    }
    fr_qlayer_free(&q);

    /* Per-channel: each row searched on its own. */
    float w3[2 * 50];
    for (int k = 0; k < 100; k++) w3[k] = (k < 50 ? 1.0f : 0.01f) * (2.0f * fr_rng_uniform(&r) - 1.0f);
    c = cfgb(4, 1, 1, FR_QINIT_MSE);
    FR_CHECK(fr_qlayer_init(&q, FR_METHOD_RTN, &c, 2, 50, 1, 1, 0, w3, &e) == FR_OK);
    FR_CHECK(q.ns1 == 2 && q.s1_init[0] > 50 * q.s1_init[1]);
    fr_qlayer_free(&q);
}

static void test_asym_zero_point(void)
{
    fr_qlayer q;
    fr_err e;
    /* 2-bit min-max: [-1,2] -> δ=1, z=1; stored codes c+z in [0,3] */
    float w[4] = {-1.0f, 0.0f, 1.0f, 2.0f};
    fr_qconfig c = cfgb(2, 0, 0, FR_QINIT_MINMAX);
    FR_CHECK(fr_qlayer_init(&q, FR_METHOD_FLEXROUND, &c, 1, 4, 1, 1, 0, w, &e) == FR_OK);
    FR_CHECK(q.s1_init[0] == 1.0f && q.zp[0] == 1.0f && q.qlo[0] == -1 && q.qhi[0] == 2);
    FR_CHECK(memcmp(q.w_hat, w, sizeof w) == 0);
    fr_qlayer_finalize(&q);
    FR_CHECK(q.code[0] == 0 && q.code[1] == 1 && q.code[2] == 2 && q.code[3] == 3);
    fr_qlayer_free(&q);

    /* per-channel: a positive row gets z=0, a negative row z=2^b-1; codes stay in [0, 2^b-1] */
    fr_rng r;
    fr_rng_seed(&r, 3);
    float w2[3 * 20];
    for (int k = 0; k < 60; k++) {
        float u = fr_rng_uniform(&r) + 0.05f;
        w2[k] = k < 20 ? u : (k < 40 ? -u : u - 0.5f);
    }
    c = cfgb(4, 1, 0, FR_QINIT_MSE);
    FR_CHECK(fr_qlayer_init(&q, FR_METHOD_ADAROUND, &c, 3, 20, 1, 1, 0, w2, &e) == FR_OK);
    FR_CHECK(q.zp[0] == 0.0f && q.zp[1] == 15.0f && q.zp[2] > 0 && q.zp[2] < 15);
    fr_qlayer_finalize(&q);
    int ok = 1;
    for (int k = 0; k < 60; k++) {
        int g = k / 20;
        ok &= q.code[k] >= 0 && q.code[k] <= 15;
        ok &= q.w_hat[k] == q.s1[g] * (float)(q.code[k] - (int)q.zp[g]);
    }
    FR_CHECK(ok);
    fr_qlayer_free(&q);
}

/* s1 = 1 exactly (3-bit, max|W| = 3.5): half-to-even and the clamp bounds. */
static void test_half_even_and_clamp(void)
{
    float w[8] = {3.5f, -3.5f, 2.5f, 1.5f, 0.5f, -0.5f, -2.5f, -1.5f};
    int32_t want[8] = {3, -4, 2, 2, 0, 0, -2, -2};
    fr_qconfig c = cfgb(3, 0, 1, FR_QINIT_MINMAX);
    for (int m = 0; m < 3; m++) {
        fr_qlayer q;
        FR_CHECK(fr_qlayer_init(&q, (fr_method)m, &c, 1, 8, 1, 1, 0, w, NULL) == FR_OK);
        FR_CHECK(q.s1_init[0] == 1.0f);
        if (m == FR_METHOD_ADAROUND)  /* hard AdaRound = floor + [V >= 0]: pick V to reproduce RTN */
            for (int k = 0; k < 8; k++) q.V.data[k] = (float)want[k] > floorf(w[k]) ? 0.0f : -1e-3f;
        fr_qlayer_finalize(&q);
        FR_CHECKF(memcmp(q.code, want, sizeof want) == 0, "method %d", m);
        fr_qlayer_free(&q);
    }
    /* FlexRound: D2 pushes u far out of range -> clamped to the bounds */
    fr_qlayer q;
    FR_CHECK(fr_qlayer_init(&q, FR_METHOD_FLEXROUND, &c, 1, 8, 1, 1, 0, w, NULL) == FR_OK);
    q.D2.data[3] = logf(1.5f / 10.0f);  /* u = 10 -> 3 */
    q.D2.data[7] = logf(1.5f / 10.0f);  /* u = -10 -> -4 */
    q.D2.data[4] = logf(0.5f / 3.0f);   /* u = 3.0 -> 3 (exactly on the bound: in range) */
    fr_qlayer_sync(&q);
    FR_CHECK(q.w_hat[3] == 3.0f && q.w_hat[7] == -4.0f && q.w_hat[4] == 3.0f);
    float G[8];
    for (int k = 0; k < 8; k++) G[k] = 1.0f;
    FR_CHECK(fr_qlayer_grad(&q, G, 0, 0, 0, NULL) == FR_OK);
    FR_CHECK(q.D2.grad[3] == 0.0f && q.D2.grad[7] == 0.0f);  /* clamped: no gradient */
    FR_CHECK(q.D2.grad[4] != 0.0f);                          /* bound included in the mask */
    fr_qlayer_free(&q);
}

static void test_flex_init_is_rtn(void)
{
    fr_rng r;
    fr_rng_seed(&r, 11);
    float *w = randn(&r, 6 * 5 * 3 * 3, 0.3f);
    for (int v = 0; v < 4; v++) {
        fr_qconfig c = cfgb(v & 1 ? 3 : 4, v >> 1, !(v & 1), FR_QINIT_MSE);
        fr_qlayer a, b;
        FR_CHECK(fr_qlayer_init(&a, FR_METHOD_RTN, &c, 6, 5, 3, 3, 1, w, NULL) == FR_OK);
        FR_CHECK(fr_qlayer_init(&b, FR_METHOD_FLEXROUND, &c, 6, 5, 3, 3, 1, w, NULL) == FR_OK);
        /* FlexRound's grid is exp(d1) with d1 = log s (as in the reference code), RTN's the
         * searched s itself: equal up to the ulp or two exp(log(.)) moves, same codes here. */
        for (int g = 0; g < a.ns1; g++) {
            FR_CHECK(a.s1[g] == a.s1_init[g] && b.s1_init[g] == a.s1_init[g]);
            FR_CHECK(b.s1[g] == expf(logf(a.s1[g])) && fabsf(b.s1[g] - a.s1[g]) <= 2 * (nextafterf(a.s1[g], INFINITY) - a.s1[g]));
        }
        fr_qlayer_finalize(&a);
        fr_qlayer_finalize(&b);
        FR_CHECK(memcmp(a.code, b.code, a.n * sizeof(int32_t)) == 0);
        fr_qstats st;
        FR_CHECK(fr_qlayer_stats(&b, &st) == FR_OK);
        FR_CHECK(st.frac_aggressive == 0 && st.frac_aggressive_init == 0 && st.frac_changed_vs_rtn == 0);
        FR_CHECK(st.sqnr_db > 5 && st.sqnr_db < 40);
        fr_qlayer_free(&a);
        fr_qlayer_free(&b);
    }
    free(w);
}

/* ---- finite differences of the STE surrogate (round -> identity, forward mask fixed) -------- */

typedef struct fxp { double *d1, *D2, *d3, *d4; } fxp;
typedef struct fxbase { double *u0, *c0; char *m; } fxbase;

static double fx_u(const fr_qlayer *q, const fxp *p, size_t k, double *s1o)
{
    size_t len = (size_t)q->i * q->khw;
    int r = (int)(k / len), j = (int)((k / q->khw) % (size_t)q->i);
    int g = (int)(k / (q->n / (size_t)q->ns1));   /* groups are equal consecutive runs */
    double E = p->d1[g] + p->D2[k] + p->d3[r] + (q->d4.n ? p->d4[j] : 0.0);
    *s1o = exp(p->d1[g]);
    return q->W[k] / exp(E);
}

static double fx_surrogate(const fr_qlayer *q, const fxp *p, const fxbase *b, const float *G)
{
    double L = 0;
    for (size_t k = 0; k < q->n; k++) {
        double s1, u = fx_u(q, p, k, &s1);
        double c = b->m[k] ? b->c0[k] + (u - b->u0[k]) : b->c0[k];
        L += (double)G[k] * s1 * c;
    }
    return L;
}

/* Max |analytic - fd| / max(1, |fd|) over every element of data (n entries of a double copy). */
static double fd_check(const fr_qlayer *q, const fxp *p, const fxbase *b, const float *G,
                       double *data, const float *grad, size_t n)
{
    double worst = 0, h = 1e-5;
    for (size_t k = 0; k < n; k++) {
        double x = data[k];
        data[k] = x + h;
        double lp = fx_surrogate(q, p, b, G);
        data[k] = x - h;
        double lm = fx_surrogate(q, p, b, G);
        data[k] = x;
        double fd = (lp - lm) / (2 * h);
        double err = fabs(fd - grad[k]) / fmax(1.0, fabs(fd));
        if (err > worst) worst = err;
    }
    return worst;
}

static double *dup_d(const float *f, size_t n)
{
    double *d = fr_xcalloc(n ? n : 1, sizeof(double));
    for (size_t k = 0; k < n; k++) d[k] = f[k];
    return d;
}

static void fd_flex_case(int o, int i, int kh, int kw, int is_conv, int pc, int sym, uint64_t seed)
{
    fr_rng r;
    fr_rng_seed(&r, seed);
    size_t n = (size_t)o * i * kh * kw;
    float *w = randn(&r, n, 0.5f), *G = randn(&r, n, 1.0f);
    fr_qconfig c = cfgb(3, pc, sym, FR_QINIT_MSE);
    fr_qlayer q;
    FR_CHECK(fr_qlayer_init(&q, FR_METHOD_FLEXROUND, &c, o, i, kh, kw, is_conv, w, NULL) == FR_OK);
    FR_CHECK((q.d4.n != 0) == (is_conv != 0));
    /* move off the init point; shrink s1 so that some weights clip */
    for (size_t k = 0; k < q.d1.n; k++) q.d1.data[k] += -0.25f + 0.1f * fr_rng_normal(&r);
    for (size_t k = 0; k < n; k++) q.D2.data[k] = 0.2f * fr_rng_normal(&r);
    for (size_t k = 0; k < q.d3.n; k++) q.d3.data[k] = 0.1f * fr_rng_normal(&r);
    for (size_t k = 0; k < q.d4.n; k++) q.d4.data[k] = 0.1f * fr_rng_normal(&r);
    fr_qlayer_sync(&q);
    FR_CHECK(fr_qlayer_grad(&q, G, 0, 0, 0, NULL) == FR_OK);
    fxp p = {dup_d(q.d1.data, q.d1.n), dup_d(q.D2.data, n), dup_d(q.d3.data, q.d3.n), dup_d(q.d4.data, q.d4.n)};
    fxbase b = {fr_xcalloc(n, sizeof(double)), fr_xcalloc(n, sizeof(double)), fr_xcalloc(n, 1)};
    int nclip = 0;
    for (size_t k = 0; k < n; k++) {
        double s1, u = fx_u(&q, &p, k, &s1);
        int g = (int)(k / (n / (size_t)q.ns1));
        double rq = rint(u);
        b.u0[k] = u;
        b.m[k] = rq >= q.qlo[g] && rq <= q.qhi[g];
        b.c0[k] = fmin(q.qhi[g], fmax(q.qlo[g], rq));
        nclip += !b.m[k];
    }
    FR_CHECKF(nclip > 0 && nclip < (int)n / 2, "nclip=%d", nclip);
    double e1 = fd_check(&q, &p, &b, G, p.d1, q.d1.grad, q.d1.n);
    double e2 = fd_check(&q, &p, &b, G, p.D2, q.D2.grad, n);
    double e3 = fd_check(&q, &p, &b, G, p.d3, q.d3.grad, q.d3.n);
    double e4 = q.d4.n ? fd_check(&q, &p, &b, G, p.d4, q.d4.grad, q.d4.n) : 0;
    FR_CHECKF(e1 < 1e-4, "d1 err %g (o=%d pc=%d)", e1, o, pc);
    FR_CHECKF(e2 < 1e-4, "D2 err %g", e2);
    FR_CHECKF(e3 < 1e-4, "d3 err %g", e3);
    FR_CHECKF(e4 < 1e-4, "d4 err %g", e4);
    /* reciprocal rule accessor: dL/dS2 = grad_D2 / S2 */
    float *a = fr_xmalloc(n * sizeof(float));
    FR_CHECK(fr_qlayer_array(&q, FR_QA_GRAD_S2, a) == FR_OK);
    FR_CHECK_NEAR(a[5], q.D2.grad[5] / expf(q.D2.data[5]), 1e-6);
    free(a);
    free(p.d1); free(p.D2); free(p.d3); free(p.d4); free(b.u0); free(b.c0); free(b.m);
    free(w); free(G);
    fr_qlayer_free(&q);
}

static void test_fd_flexround(void)
{
    fd_flex_case(4, 3, 3, 3, 1, 0, 1, 21);  /* conv, per-tensor, symmetric */
    fd_flex_case(4, 3, 3, 3, 1, 1, 1, 22);  /* conv, per-channel */
    fd_flex_case(5, 2, 3, 3, 1, 1, 0, 23);  /* conv, per-channel asymmetric */
    fd_flex_case(6, 4, 1, 1, 1, 0, 1, 24);  /* 1x1 conv keeps d4 */
    fd_flex_case(6, 9, 1, 1, 0, 0, 1, 25);  /* linear, per-tensor */
    fd_flex_case(6, 9, 1, 1, 0, 1, 0, 26);  /* linear, per-channel asymmetric */
    fd_flex_case(5, 1, 3, 3, 1, 1, 1, 27);  /* depthwise: i = 1 */
    fd_flex_case(3, 64, 1, 1, 0, 16, 0, 28); /* linear, groups of 16, asymmetric (the LLM grid) */
    fd_flex_case(3, 64, 1, 1, 0, 32, 1, 29); /* linear, groups of 32, symmetric */
    fd_flex_case(2, 16, 2, 2, 1, 32, 1, 30); /* conv: a group spans kernel windows, d4 present */
}

/* A per-group grid is the per-channel grid of the weight viewed as [o * len / G, G]: the same
 * search per group, so the same steps, zero points and RTN codes; AdaRound (no row factors) trains
 * to the same bits; invalid group sizes are refused. */
static void test_groups(void)
{
    fr_rng r;
    fr_rng_seed(&r, 31);
    const int o = 6, i = 128, G = 32;
    float *w = randn(&r, (size_t)o * i, 0.4f);
    for (int k = 0; k < o * i; k += 37) w[k] *= 6.0f;   /* outliers make the groups differ */
    for (int m = 0; m < FR_METHOD__COUNT; m++)
        for (int sym = 0; sym < 2; sym++) {
            fr_qconfig cg = cfgb(4, G, sym, FR_QINIT_MSE), cc = cfgb(4, 1, sym, FR_QINIT_MSE);
            fr_qlayer a, b;
            FR_CHECK(fr_qlayer_init(&a, (fr_method)m, &cg, o, i, 1, 1, 0, w, NULL) == FR_OK);
            FR_CHECK(fr_qlayer_init(&b, (fr_method)m, &cc, o * i / G, G, 1, 1, 0, w, NULL) == FR_OK);
            FR_CHECK(a.ns1 == o * i / G && b.ns1 == a.ns1);
            FR_CHECK(!memcmp(a.s1_init, b.s1_init, sizeof(float) * (size_t)a.ns1) &&
                     !memcmp(a.zp, b.zp, sizeof(float) * (size_t)a.ns1));
            FR_CHECK(!memcmp(a.w_hat, b.w_hat, sizeof(float) * a.n));
            if (m == FR_METHOD_ADAROUND) {
                fr_rng gr;
                fr_rng_seed(&gr, 3);
                for (int t = 1; t <= 5; t++) {
                    float *Gr = randn(&gr, a.n, 0.1f);
                    FR_CHECK(fr_qlayer_step(&a, Gr, 1e-2f, t, 10.0f, 0.01f, t > 2, NULL) == FR_OK);
                    FR_CHECK(fr_qlayer_step(&b, Gr, 1e-2f, t, 10.0f, 0.01f, t > 2, NULL) == FR_OK);
                    free(Gr);
                }
                fr_qlayer_forward(&a);
                fr_qlayer_forward(&b);
                FR_CHECK(!memcmp(a.w_hat, b.w_hat, sizeof(float) * a.n) && !memcmp(a.V.data, b.V.data, sizeof(float) * a.n));
            }
            fr_qlayer_finalize(&a);
            fr_qlayer_finalize(&b);
            FR_CHECKF(m == FR_METHOD_FLEXROUND || !memcmp(a.code, b.code, sizeof(int32_t) * a.n), "method %d codes", m);
            /* every group's codes fill its own grid: some weight of each group sits at a grid end */
            int ends = 0;
            for (int g = 0; g < a.ns1; g++) {
                int hit = 0;
                for (int k = g * G; k < (g + 1) * G; k++) hit |= a.code[k] - (int)a.zp[g] == (int)a.qlo[g] ||
                                                                a.code[k] - (int)a.zp[g] == (int)a.qhi[g];
                ends += hit;
            }
            FR_CHECKF(m == FR_METHOD_FLEXROUND || ends >= a.ns1 * 3 / 4, "%d of %d groups reach a grid end", ends, a.ns1);
            fr_qlayer_free(&a);
            fr_qlayer_free(&b);
        }
    fr_qlayer q;
    fr_err e;
    fr_qconfig c = cfgb(4, 24, 1, FR_QINIT_MSE);   /* not a multiple of 16 */
    FR_CHECK(fr_qlayer_init(&q, FR_METHOD_RTN, &c, o, i, 1, 1, 0, w, &e) == FR_EINPUT && strstr(e.msg, "group size 24"));
    c = cfgb(4, 48, 1, FR_QINIT_MSE);              /* does not divide 128 */
    FR_CHECK(fr_qlayer_init(&q, FR_METHOD_RTN, &c, o, i, 1, 1, 0, w, &e) == FR_EINPUT);
    free(w);
}

/* AdaRound: Ŵ = s·clamp(floor(W/s) + h(V)), h = clamp(σ(V)·1.2 − 0.1, 0, 1), with the masks of
 * both clamps held at the base point; loss Σ G·Ŵ + λ Σ (1 − |2h−1|^β). */
typedef struct adab { const fr_qlayer *q; const float *G; char *mh, *mx; double *h0, *x0; double lam, beta; int reg; } adab;

static double ada_L(const adab *a, const double *V)
{
    const fr_qlayer *q = a->q;
    double L = 0;
    for (size_t k = 0; k < q->n; k++) {
        double s = q->s1[k / (q->n / (size_t)q->ns1)];
        double fl = floor((double)(q->W[k] / (float)s));
        double h = a->mh[k] ? 1.0 / (1.0 + exp(-V[k])) * 1.2 - 0.1 : a->h0[k];
        double x = a->mx[k] ? fl + h : a->x0[k];
        L += a->G[k] * s * x;
        if (a->reg) L += a->lam * (1.0 - pow(fabs(2 * h - 1), a->beta));
    }
    return L;
}

static void test_fd_adaround(void)
{
    for (int reg = 0; reg < 2; reg++) {
        fr_rng r;
        fr_rng_seed(&r, 31 + reg);
        int o = 4, i = 3, kh = 3, kw = 3;
        size_t n = (size_t)o * i * kh * kw;
        float *w = randn(&r, n, 0.5f), *G = randn(&r, n, 1.0f);
        fr_qconfig c = cfgb(3, reg, reg, FR_QINIT_MSE);
        fr_qlayer q;
        FR_CHECK(fr_qlayer_init(&q, FR_METHOD_ADAROUND, &c, o, i, kh, kw, 1, w, NULL) == FR_OK);
        /* init: h(V) = frac(W/s) */
        double worst = 0;
        for (size_t k = 0; k < n; k++) {
            float s = q.s1[q.ns1 > 1 ? k / 27 : 0];
            double u = q.W[k] / s, fr = u - floor(u);
            double h = 1.0 / (1.0 + exp(-(double)q.V.data[k])) * 1.2 - 0.1;
            worst = fmax(worst, fabs(h - fr));
        }
        FR_CHECKF(worst < 1e-5, "h(V)-frac %g", worst);
        for (size_t k = 0; k < n; k++) q.V.data[k] = 5.0f * fr_rng_uniform(&r) - 2.5f;
        double lam = 0.3, beta = 3.0, regv = -1;
        FR_CHECK(fr_qlayer_grad(&q, G, (float)beta, (float)lam, reg, &regv) == FR_OK);
        adab a = {&q, G, fr_xcalloc(n, 1), fr_xcalloc(n, 1), fr_xcalloc(n, sizeof(double)),
                  fr_xcalloc(n, sizeof(double)), lam, beta, reg};
        double *V = dup_d(q.V.data, n), fsum = 0;
        int g = 0;
        for (size_t k = 0; k < n; k++) {
            double hr = 1.0 / (1.0 + exp(-V[k])) * 1.2 - 0.1;
            a.mh[k] = hr >= 0 && hr <= 1;
            a.h0[k] = fmin(1, fmax(0, hr));
            g = q.ns1 > 1 ? (int)(k / 27) : 0;
            double fl = floor((double)(q.W[k] / q.s1[g]));
            double x = fl + a.h0[k];
            a.mx[k] = x >= q.qlo[g] && x <= q.qhi[g];
            a.x0[k] = fmin(q.qhi[g], fmax(q.qlo[g], x));
            fsum += 1.0 - pow(fabs(2 * a.h0[k] - 1), beta);
        }
        double we = 0, hstep = 1e-5;
        for (size_t k = 0; k < n; k++) {
            double x = V[k];
            V[k] = x + hstep; double lp = ada_L(&a, V);
            V[k] = x - hstep; double lm = ada_L(&a, V);
            V[k] = x;
            double fd = (lp - lm) / (2 * hstep);
            we = fmax(we, fabs(fd - q.V.grad[k]) / fmax(1.0, fabs(fd)));
        }
        FR_CHECKF(we < 1e-4, "V grad err %g reg=%d", we, reg);
        if (reg) FR_CHECK_NEAR(regv, lam * fsum, 1e-4);
        else FR_CHECK(regv == 0.0);
        /* finalize: up iff V >= 0 */
        q.V.data[0] = 0.0f; q.V.data[1] = -1e-3f;
        fr_qlayer_finalize(&q);
        int ok = 1;
        for (size_t k = 0; k < n; k++) {
            g = q.ns1 > 1 ? (int)(k / 27) : 0;
            float fl = floorf(q.W[k] / q.s1[g]) + (q.V.data[k] >= 0 ? 1 : 0);
            fl = fminf(q.qhi[g], fmaxf(q.qlo[g], fl));
            ok &= q.code[k] == (int32_t)fl + (int32_t)q.zp[g];
        }
        FR_CHECK(ok);
        free(a.mh); free(a.mx); free(a.h0); free(a.x0); free(V); free(w); free(G);
        fr_qlayer_free(&q);
    }
}

static void test_aquant_known(void)
{
    fr_aquant a;
    float x[5] = {-1.0f, -0.4f, 0.5f, 1.5f, 2.0f}, y[5], dx[5];
    FR_CHECK(fr_aquant_init(&a, 2, FR_QINIT_MINMAX, x, 5, NULL) == FR_OK);
    FR_CHECK(a.s == 1.0f && a.zp == 1.0f && a.qmax == 3.0f);
    float xs[6] = {-3.0f, -0.4f, 0.5f, 1.5f, 2.4f, 9.0f}, want[6] = {-1, 0, 0, 2, 2, 2};
    float ys[6];
    fr_aquant_forward(&a, xs, ys, 6, 1.0f, NULL, NULL);
    FR_CHECK(memcmp(ys, want, sizeof want) == 0);   /* half-to-even, clamp to [-z, 3-z] */
    /* ReLU-like sample: zero point 0, range [0, max] */
    float r[4] = {0.0f, 0.0f, 1.0f, 3.0f};
    FR_CHECK(fr_aquant_init(&a, 2, FR_QINIT_MINMAX, r, 4, NULL) == FR_OK);
    FR_CHECK(a.s == 1.0f && a.zp == 0.0f);
    fr_aquant_forward(&a, x, y, 5, 1.0f, NULL, NULL);
    FR_CHECK(y[0] == 0.0f && y[2] == 0.0f && y[3] == 2.0f && y[4] == 2.0f);
    float dy[5] = {1, 1, 1, 1, 1};
    fr_aquant_zero_grad(&a);
    FR_CHECK(fr_aquant_backward(&a, x, dy, dx, 5, NULL) == FR_OK);
    FR_CHECK(dx[0] == 0.0f && dx[1] == 1.0f && dx[4] == 1.0f);  /* -1 clipped; -0.4 -> 0 in range */
    /* (0-0) + (0+0.4) + (0-0.5) + (2-1.5) + (2-2) = 0.4, times 1/sqrt(5*3) */
    FR_CHECK_NEAR(a.s_g, 0.4 / sqrt(15.0), 1e-6);
}

/* Per-token (LLM W8A8): each row of 4 gets step max|row| / 127 at 8 bits (and /1 at 2 bits), the
 * gradient passes straight through, nothing is learned. */
static void test_aquant_token(void)
{
    fr_aquant a;
    fr_err e;
    FR_CHECK(fr_aquant_init_token(&a, 8, 0, &e) == FR_EINPUT);
    FR_CHECK(fr_aquant_init_token(&a, 8, 4, &e) == FR_OK && a.tok == 4 && a.qmax == 127.0f);
    float x[10] = {1.0f, -2.0f, 0.5f, 4.0f, /* row 2: all zero */ 0, 0, 0, 0, /* a partial row */ -0.3f, 0.01f}, y[10];
    fr_aquant_forward(&a, x, y, 10, 1.0f, NULL, NULL);
    const float s0 = 4.0f / 127.0f, s2 = 0.3f / 127.0f;
    float want[10] = {32 * s0, -64 * s0, 16 * s0, 127 * s0, 0, 0, 0, 0, -127 * s2, 4 * s2};
    /* 1/s0 = 31.75: 1 -> 31.75 -> 32; -2 -> -63.5 -> -64 (half to even); 0.5 -> 15.875 -> 16 */
    for (int k = 0; k < 10; k++) FR_CHECKF(fabsf(y[k] - want[k]) <= 1e-7f, "y[%d] = %.9g, want %.9g", k, (double)y[k], (double)want[k]);
    float dy[10], dx[10];
    for (int k = 0; k < 10; k++) dy[k] = (float)k - 3.0f;
    FR_CHECK(fr_aquant_backward(&a, x, dy, dx, 10, NULL) == FR_OK && memcmp(dx, dy, sizeof dy) == 0);
    fr_qparam qp[2];
    FR_CHECK(fr_aquant_params(&a, qp, 2) == 0);   /* nothing learned */
    FR_CHECK(fr_aquant_init_token(&a, 2, 4, &e) == FR_OK && a.qmax == 1.0f);
    fr_aquant_forward(&a, x, y, 4, 1.0f, NULL, NULL);
    FR_CHECK(y[0] == 0.0f && y[1] == 0.0f && y[2] == 0.0f && y[3] == 4.0f);   /* codes -1, 0, 1 of step 4 */
}

/* Activation step: LSQ gradient / g equals d/ds of the surrogate y(s) = s·(r0 + x/s − x/s0) in
 * range and s·(bound − z) out of range. */
static void test_fd_aquant(void)
{
    fr_rng r;
    fr_rng_seed(&r, 41);
    size_t n = 500;
    float *x = randn(&r, n, 1.0f), *dy = randn(&r, n, 1.0f), *y = fr_xmalloc(n * 4), *dx = fr_xmalloc(n * 4);
    uint8_t *keep = fr_xmalloc(n);
    fr_aquant a;
    FR_CHECK(fr_aquant_init(&a, 4, FR_QINIT_MSE, x, n, NULL) == FR_OK);
    FR_CHECK(a.zp > 0 && a.zp < 15 && a.s > 0);
    a.s *= 0.8f;  /* force some clipping */
    for (int pass = 0; pass < 2; pass++) {
        float p = pass ? 0.5f : 1.0f;
        fr_rng dr;
        fr_rng_seed(&dr, 99);
        fr_aquant_forward(&a, x, y, n, p, &dr, keep);
        fr_aquant_zero_grad(&a);
        FR_CHECK(fr_aquant_backward(&a, x, dy, dx, n, keep) == FR_OK);
        double s0 = a.s, z = a.zp, L = a.qmax, h = 1e-6 * s0, lp = 0, lm = 0;
        int nkept = 0, dxok = 1, nclip = 0;
        for (size_t k = 0; k < n; k++) {
            if (!keep[k]) { dxok &= dx[k] == dy[k] && y[k] == x[k]; continue; }
            nkept++;
            double xs = x[k] * (double)(1.0f / a.s), r0 = rint(xs), xq = r0 + z;
            int in = xq >= 0 && xq <= L;
            nclip += !in;
            for (int sgn = -1; sgn <= 1; sgn += 2) {
                double s = s0 + sgn * h;
                double yy = in ? s * (r0 + x[k] / s - x[k] / s0) : s * ((xq < 0 ? 0 : L) - z);
                if (sgn > 0) lp += dy[k] * yy; else lm += dy[k] * yy;
            }
            dxok &= dx[k] == (in ? dy[k] : 0.0f);
        }
        double fd = (lp - lm) / (2 * h), g = 1.0 / sqrt((double)n * L);
        FR_CHECKF(fabs(a.s_g / g - fd) < 1e-3 * fmax(1, fabs(fd)), "s_g/g=%g fd=%g", a.s_g / g, fd);
        FR_CHECK(dxok);
        FR_CHECK(nclip > 0);
        if (pass) FR_CHECKF(nkept > 200 && nkept < 300, "kept %d", nkept);
        else FR_CHECK(nkept == (int)n);
    }
    /* same seed, same mask */
    uint8_t *k2 = fr_xmalloc(n);
    fr_rng dr;
    fr_rng_seed(&dr, 99);
    fr_aquant_forward(&a, x, y, n, 0.5f, &dr, k2);
    FR_CHECK(memcmp(keep, k2, n) == 0);
    float s_before = a.s;
    FR_CHECK(fr_aquant_adam(&a, 1e-3f, 1) == FR_OK);
    FR_CHECK(a.s != s_before && fabsf(a.s - s_before) <= 1.001e-3f);
    fr_qparam pr[2];
    FR_CHECK(fr_aquant_params(&a, pr, 2) == 1 && pr[0].data == &a.s);
    free(k2); free(x); free(dy); free(y); free(dx); free(keep);
}

static void test_aggressive(void)
{
    fr_rng r;
    fr_rng_seed(&r, 51);
    int o = 4, i = 8;
    size_t n = 32;
    float *w = randn(&r, n, 0.5f);
    fr_qconfig c = cfgb(4, 0, 1, FR_QINIT_MSE);
    fr_qlayer q;
    FR_CHECK(fr_qlayer_init(&q, FR_METHOD_FLEXROUND, &c, o, i, 1, 1, 0, w, NULL) == FR_OK);
    float s1 = q.s1[0];
    int k2 = -1, k1 = -1;
    for (size_t k = 0; k < n; k++) {
        float u = w[k] / s1;
        if (k2 < 0 && u > 1.1f && u < 1.4f + 2 && u + 2 < 7 && u - floorf(u) < 0.4f && u - floorf(u) > 0.1f) k2 = (int)k;
        else if (k1 < 0 && u > 0.1f && u < 5 && u - floorf(u) > 0.1f && u - floorf(u) < 0.4f) k1 = (int)k;
    }
    FR_CHECK(k1 >= 0 && k2 >= 0);
    if (k1 < 0 || k2 < 0) { fr_qlayer_free(&q); free(w); return; }
    float u2 = w[k2] / s1, u1 = w[k1] / s1;
    q.D2.data[k2] = logf(u2 / (u2 + 2.0f));          /* moves two grid steps up */
    q.D2.data[k1] = logf(u1 / (floorf(u1) + 0.8f));  /* rounds up instead of down: still a neighbour */
    fr_qlayer_sync(&q);
    fr_qlayer_finalize(&q);
    fr_qstats st;
    FR_CHECK(fr_qlayer_stats(&q, &st) == FR_OK);
    FR_CHECK_NEAR(st.frac_aggressive, 1.0 / n, 1e-12);
    FR_CHECK_NEAR(st.frac_aggressive_init, 1.0 / n, 1e-12);
    FR_CHECK_NEAR(st.frac_changed_vs_rtn, 2.0 / n, 1e-12);
    uint64_t tot = st.shift_under + st.shift_over, s2tot = st.s2_under + st.s2_over;
    for (int b = 0; b < FR_SHIFT_BINS; b++) tot += st.shift_hist[b];
    for (int b = 0; b < FR_S2_BINS; b++) s2tot += st.s2_hist[b];
    FR_CHECK(tot == n && s2tot == n);
    FR_CHECK(st.s2_min < 1.0 && st.s2_max == 1.0);
    float *code = fr_xmalloc(n * 4), *rtn = fr_xmalloc(n * 4), *sh = fr_xmalloc(n * 4), *s2 = fr_xmalloc(n * 4);
    FR_CHECK(fr_qlayer_array(&q, FR_QA_CODE, code) == FR_OK);
    FR_CHECK(fr_qlayer_array(&q, FR_QA_RTN_CODE, rtn) == FR_OK);
    FR_CHECK(fr_qlayer_array(&q, FR_QA_SHIFT, sh) == FR_OK);
    FR_CHECK(fr_qlayer_array(&q, FR_QA_S2, s2) == FR_OK);
    FR_CHECK(code[k2] - rtn[k2] == 2.0f && code[k1] - rtn[k1] == 1.0f);
    FR_CHECK(code[k2] == (float)q.code[k2]);
    FR_CHECK_NEAR(sh[k2], code[k2] - u2, 1e-5);
    FR_CHECK(s2[k2] == expf(q.D2.data[k2]) && s2[0 == k2 ? 1 : 0] == 1.0f);
    FR_CHECK(fr_qlayer_array(&q, (enum fr_qarray)99, code) == FR_EINPUT);
    FR_CHECK(fr_qlayer_array(&q, FR_QA_SCOMB, sh) == FR_OK && sh[k2] == s2[k2]);
    FR_CHECK(fr_qlayer_array(&q, FR_QA_U1, sh) == FR_OK && sh[k1] == u1);
    FR_CHECK(fr_qlayer_array(&q, FR_QA_WHAT, sh) == FR_OK && memcmp(sh, q.w_hat, n * 4) == 0);
    /* RTN never counts as aggressive, even with clipped weights (heavy tail -> MSE clips) */
    fr_qlayer rq;
    c.init = FR_QINIT_MSE;
    w[3] = 2.5f; w[4] = -2.2f;
    FR_CHECK(fr_qlayer_init(&rq, FR_METHOD_RTN, &c, o, i, 1, 1, 0, w, NULL) == FR_OK);
    FR_CHECK(fr_qlayer_stats(&rq, &st) == FR_OK);
    FR_CHECK(st.frac_aggressive == 0 && st.frac_changed_vs_rtn == 0);
    FR_CHECKF(st.shift_max_abs > 0.5, "clipped: max shift %g s1 %g", st.shift_max_abs, rq.s1[0]);
    fr_qlayer_free(&rq);
    free(code); free(rtn); free(sh); free(s2); free(w);
    fr_qlayer_free(&q);
}

/* ---- a linear layer y = x·Ŵᵀ; loss mean_b Σ_o (xŴᵀ − xWᵀ)² ------------------------------- */

typedef struct lin { int B, o, i; float *x, *W; } lin;

static double lin_loss(const lin *P, const float *Wh, float *G)
{
    double L = 0;
    if (G) memset(G, 0, sizeof(float) * P->o * P->i);
    for (int b = 0; b < P->B; b++)
        for (int oo = 0; oo < P->o; oo++) {
            double d = 0;
            for (int ii = 0; ii < P->i; ii++) d += (double)P->x[b * P->i + ii] * (Wh[oo * P->i + ii] - P->W[oo * P->i + ii]);
            L += d * d / P->B;
            if (G) for (int ii = 0; ii < P->i; ii++) G[oo * P->i + ii] += (float)(2.0 * d / P->B * P->x[b * P->i + ii]);
        }
    return L;
}

/* Runs T steps; fused selects fr_qlayer_step vs grad+adam.  Returns the final hard loss. */
static double lin_run(const lin *P, fr_method m, int fused, int T, float lr, fr_qlayer *q)
{
    fr_qconfig c = cfgb(3, 0, 1, FR_QINIT_MSE);
    FR_ASSERT(fr_qlayer_init(q, m, &c, P->o, P->i, 1, 1, 0, P->W, NULL) == FR_OK);
    float *G = fr_xmalloc(sizeof(float) * P->o * P->i);
    for (int t = 1; t <= T; t++) {
        float beta; int reg;
        fr_qsched_adaround(&c, t, T, &beta, &reg);
        float lrt = m == FR_METHOD_ADAROUND ? lr : (float)(lr * 0.5 * (1.0 + cos(3.14159265358979 * (t - 1) / T)));
        fr_qlayer_forward(q);
        lin_loss(P, q->w_hat, G);
        double rv;
        if (fused) FR_ASSERT(fr_qlayer_step(q, G, lrt, t, beta, c.lambda, reg, &rv) == FR_OK);
        else {
            FR_ASSERT(fr_qlayer_grad(q, G, beta, c.lambda, reg, &rv) == FR_OK);
            FR_ASSERT(fr_qlayer_adam(q, lrt, t) == FR_OK);
        }
    }
    fr_qlayer_finalize(q);
    free(G);
    return lin_loss(P, q->w_hat, NULL);
}

static void test_optimise(void)
{
    fr_rng r;
    fr_rng_seed(&r, 61);
    lin P = {128, 12, 24, NULL, NULL};
    /* Correlated inputs (two shared factors): with isotropic x the Hessian is diagonal, RTN is
     * already optimal and STE-learned rounding can only oscillate around it. */
    P.x = randn(&r, (size_t)P.B * P.i, 1.0f);
    for (int bb = 0; bb < P.B; bb++) {
        float z0 = fr_rng_normal(&r), z1 = fr_rng_normal(&r);
        for (int k = 0; k < P.i; k++) P.x[bb * P.i + k] += 1.5f * z0 + (k % 2 ? z1 : -z1);
    }
    P.W = randn(&r, (size_t)P.o * P.i, 0.4f);
    fr_qlayer q0, a, b, f, ad;
    double l_rtn = lin_run(&P, FR_METHOD_RTN, 1, 1, 0, &q0);
    double la = lin_run(&P, FR_METHOD_FLEXROUND, 1, 300, 3e-3f, &a);
    double lb = lin_run(&P, FR_METHOD_FLEXROUND, 1, 300, 3e-3f, &b);
    double lf = lin_run(&P, FR_METHOD_FLEXROUND, 0, 300, 3e-3f, &f);
    double lad = lin_run(&P, FR_METHOD_ADAROUND, 1, 300, 1e-2f, &ad);
    printf("# loss rtn %.5g flexround %.5g (separate %.5g) adaround %.5g\n", l_rtn, la, lf, lad);
    FR_CHECK(la < 0.6 * l_rtn);
    FR_CHECK(lad < l_rtn);
    FR_CHECK(la == lb && memcmp(a.w_hat, b.w_hat, a.n * 4) == 0 && memcmp(a.code, b.code, a.n * 4) == 0);
    /* fused vs separate */
    double md = 0;
    for (size_t k = 0; k < a.n; k++) md = fmax(md, fabs(a.D2.data[k] - f.D2.data[k]));
    for (size_t k = 0; k < a.d3.n; k++) md = fmax(md, fabs(a.d3.data[k] - f.d3.data[k]));
    md = fmax(md, fabs(a.d1.data[0] - f.d1.data[0]));
    FR_CHECKF(md < 1e-5, "fused vs separate max diff %g", md);
    FR_CHECK_NEAR(la, lf, 1e-3);
    fr_qstats st;
    FR_CHECK(fr_qlayer_stats(&a, &st) == FR_OK);
    printf("# flexround: aggressive %.4f (vs init %.4f) changed %.4f sqnr %.2f dB\n",
           st.frac_aggressive, st.frac_aggressive_init, st.frac_changed_vs_rtn, st.sqnr_db);
    FR_CHECK(st.frac_changed_vs_rtn > 0);
    FR_CHECK(fr_qlayer_stats(&ad, &st) == FR_OK);
    FR_CHECK(st.frac_aggressive == 0);  /* AdaRound cannot leave {floor, ceil} */

    /* checkpoint round trip through fr_qlayer_params/frozen */
    fr_qlayer c2;
    fr_qconfig c = cfgb(3, 0, 1, FR_QINIT_MSE);
    FR_CHECK(fr_qlayer_init(&c2, FR_METHOD_FLEXROUND, &c, P.o, P.i, 1, 1, 0, P.W, NULL) == FR_OK);
    fr_qparam ps[8], pd[8];
    int na = fr_qlayer_params(&a, ps, 8), nb = fr_qlayer_params(&c2, pd, 8);
    FR_CHECK(na == 3 && nb == 3 && strcmp(ps[1].name, "D2") == 0);
    for (int k = 0; k < na && k < nb; k++) {
        memcpy(pd[k].data, ps[k].data, ps[k].n * 4);
        memcpy(pd[k].m, ps[k].m, ps[k].n * 4);
        memcpy(pd[k].v, ps[k].v, ps[k].n * 4);
    }
    FR_CHECK(fr_qlayer_frozen(&a, ps, 8) == 3 && fr_qlayer_frozen(&c2, pd, 8) == 3);
    for (int k = 0; k < 3; k++) memcpy(pd[k].data, ps[k].data, ps[k].n * 4);
    fr_qlayer_sync(&c2);
    fr_qlayer_finalize(&c2);
    FR_CHECK(memcmp(c2.code, a.code, a.n * 4) == 0 && memcmp(c2.w_hat, a.w_hat, a.n * 4) == 0);
    FR_CHECK(fr_qlayer_params(&ad, ps, 8) == 1 && strcmp(ps[0].name, "V") == 0);
    FR_CHECK(fr_qlayer_params(&q0, ps, 8) == 0);
    fr_qlayer_free(&c2);
    fr_qlayer_free(&q0); fr_qlayer_free(&a); fr_qlayer_free(&b); fr_qlayer_free(&f); fr_qlayer_free(&ad);
    free(P.x); free(P.W);
}

static void test_fused_matches_separate_conv(void)
{
    fr_rng r;
    fr_rng_seed(&r, 71);
    size_t n = 6 * 4 * 3 * 3;
    float *w = randn(&r, n, 0.3f);
    for (int m = 1; m <= 2; m++) {
        fr_qconfig c = cfgb(4, 1, 0, FR_QINIT_MSE);
        fr_qlayer a, b;
        FR_CHECK(fr_qlayer_init(&a, (fr_method)m, &c, 6, 4, 3, 3, 1, w, NULL) == FR_OK);
        FR_CHECK(fr_qlayer_init(&b, (fr_method)m, &c, 6, 4, 3, 3, 1, w, NULL) == FR_OK);
        fr_rng gr;
        fr_rng_seed(&gr, 5);
        double md = 0;
        for (int t = 1; t <= 40; t++) {
            float *G = randn(&gr, n, 0.1f);
            int reg = t > 10;
            fr_qlayer_forward(&a);
            fr_qlayer_forward(&b);
            FR_CHECK(fr_qlayer_step(&a, G, 1e-2f, t, 10.0f, 0.01f, reg, NULL) == FR_OK);
            FR_CHECK(fr_qlayer_grad(&b, G, 10.0f, 0.01f, reg, NULL) == FR_OK);
            FR_CHECK(fr_qlayer_adam(&b, 1e-2f, t) == FR_OK);
            free(G);
        }
        fr_qparam pa[8], pb[8];
        int np = fr_qlayer_params(&a, pa, 8);
        FR_CHECK(np == (m == 2 ? 4 : 1) && fr_qlayer_params(&b, pb, 8) == np);
        for (int k = 0; k < np; k++)
            for (size_t j = 0; j < pa[k].n; j++) md = fmax(md, fabs(pa[k].data[j] - pb[k].data[j]));
        FR_CHECKF(md < 1e-6, "method %d max diff %g", m, md);
        fr_qlayer_free(&a);
        fr_qlayer_free(&b);
    }
    free(w);
}

static void test_nonfinite_and_reset(void)
{
    fr_rng r;
    fr_rng_seed(&r, 81);
    size_t n = 40;
    float *w = randn(&r, n, 0.3f), *G = randn(&r, n, 1.0f);
    fr_qconfig c = cfgb(4, 0, 1, FR_QINIT_MSE);
    for (int m = 1; m <= 2; m++) {
        fr_qlayer q, rt;
        FR_CHECK(fr_qlayer_init(&q, (fr_method)m, &c, 5, 8, 1, 1, 0, w, NULL) == FR_OK);
        FR_CHECK(fr_qlayer_init(&rt, FR_METHOD_RTN, &c, 5, 8, 1, 1, 0, w, NULL) == FR_OK);
        FR_CHECK(fr_qlayer_step(&q, G, 1e-2f, 1, 20, 0.01f, 0, NULL) == FR_OK);
        G[7] = NAN;
        FR_CHECK(fr_qlayer_grad(&q, G, 20, 0.01f, 1, NULL) == FR_ENUM);
        FR_CHECK(q.nonfinite == 1);
        G[7] = INFINITY;
        FR_CHECK(fr_qlayer_step(&q, G, 1e-2f, 2, 20, 0.01f, 1, NULL) == FR_ENUM);
        G[7] = 0.5f;
        fr_qlayer_reset_to_rtn(&q);
        FR_CHECK(q.nonfinite == 0 && q.fell_back == 1);
        FR_CHECK(memcmp(q.w_hat, rt.w_hat, n * 4) == 0);
        FR_CHECK(fr_qlayer_step(&q, G, 1e-2f, 3, 20, 0.01f, 1, NULL) == FR_OK);
        fr_qlayer_forward(&q);
        FR_CHECK(memcmp(q.w_hat, rt.w_hat, n * 4) == 0);
        fr_qlayer_finalize(&q);
        fr_qlayer_finalize(&rt);
        FR_CHECK(memcmp(q.code, rt.code, n * 4) == 0);
        fr_qlayer_free(&q);
        fr_qlayer_free(&rt);
    }
    /* parameter overflow: huge lr drives D2 to where exp overflows */
    fr_qlayer q;
    FR_CHECK(fr_qlayer_init(&q, FR_METHOD_FLEXROUND, &c, 5, 8, 1, 1, 0, w, NULL) == FR_OK);
    int rc = FR_OK;
    for (int t = 1; t <= 5 && rc == FR_OK; t++) rc = fr_qlayer_step(&q, G, 1e6f, t, 0, 0, 0, NULL);
    FR_CHECK(rc == FR_ENUM);
    fr_qlayer_free(&q);
    float v = NAN;
    FR_CHECK(fr_qadam(&v, &(float){0}, &(float){0}, &(float){1}, 1, 1e-3f, 1) == FR_ENUM);
    free(w); free(G);
}

static void test_qexpf(void)
{
    FR_CHECK(fr_qexpf(0.0f) == 1.0f);
    double worst = 0;
    for (int k = -870000; k <= 880000; k += 7) {
        float x = k * 1e-4f;
        double want = exp((double)x), got = fr_qexpf(x);
        worst = fmax(worst, fabs(got - want) / want);
    }
    FR_CHECKF(worst < 2.5e-7, "rel err %g", worst);
    FR_CHECK(isinf(fr_qexpf(89.0f)) && fr_qexpf(-90.0f) == 0.0f && isnan(fr_qexpf(NAN)));
}

static void test_schedule_and_adam(void)
{
    fr_qconfig c;
    fr_qconfig_default(&c);
    float beta; int reg;
    fr_qsched_adaround(&c, 0, 1000, &beta, &reg);
    FR_CHECK(beta == 20.0f && reg == 0);
    fr_qsched_adaround(&c, 199, 1000, &beta, &reg);
    FR_CHECK(reg == 0);
    fr_qsched_adaround(&c, 200, 1000, &beta, &reg);
    FR_CHECK(beta == 20.0f && reg == 1);
    fr_qsched_adaround(&c, 600, 1000, &beta, &reg);
    FR_CHECK_NEAR(beta, 11.0, 1e-5);
    fr_qsched_adaround(&c, 1000, 1000, &beta, &reg);
    FR_CHECK_NEAR(beta, 2.0, 1e-6);
    /* Adam first step moves by lr·sign(g) (bias correction), PyTorch reference values */
    float p[2] = {1.0f, -2.0f}, m[2] = {0}, v[2] = {0}, g[2] = {0.5f, -3.0f};
    FR_CHECK(fr_qadam(p, m, v, g, 2, 0.1f, 1) == FR_OK);
    FR_CHECK_NEAR(p[0], 0.9, 1e-6);
    FR_CHECK_NEAR(p[1], -1.9, 1e-6);
    /* second step, g = 0.5 again for p[0]: m=0.095 v=0.0004997... torch gives 0.8 */
    FR_CHECK(fr_qadam(p, m, v, g, 2, 0.1f, 2) == FR_OK);
    FR_CHECK_NEAR(p[0], 0.8, 1e-6);
}

/* The row passes run on the kernel pool: with 1 and 3 parts every parameter, moment, gradient,
 * w_hat and f_reg must agree bit for bit (rows are independent; the cross-row sums are added in
 * row order by one thread).  Shapes are above the pool threshold, rows do not divide by 3, and
 * rows end in a partial vector block. */
static void run_parts(int parts, fr_method m, int pc, int o, int i, int k, fr_qlayer *q, const float *w)
{
    fr_par_set_threads(parts);
    fr_qconfig c = cfgb(4, pc, 1, FR_QINIT_MSE);
    FR_ASSERT(fr_qlayer_init(q, m, &c, o, i, k, k, k > 1, w, NULL) == FR_OK);
    fr_rng gr;
    fr_rng_seed(&gr, 9);
    for (int t = 1; t <= 12; t++) {
        float *G = randn(&gr, q->n, 0.1f);
        fr_qlayer_forward(q);
        FR_ASSERT(fr_qlayer_step(q, G, 1e-2f, t, 10.0f, 0.01f, t > 6, NULL) == FR_OK);
        free(G);
    }
    fr_qlayer_forward(q);
    fr_par_set_threads(1);
}

static void test_parts_bit_identical(void)
{
    static const struct { fr_method m; int pc, o, i, k; } cs[] = {
        {FR_METHOD_FLEXROUND, 0, 40, 24, 3}, {FR_METHOD_FLEXROUND, 1, 40, 24, 3}, {FR_METHOD_FLEXROUND, 0, 97, 100, 1},
        {FR_METHOD_ADAROUND, 0, 40, 24, 3}, {FR_METHOD_ADAROUND, 1, 97, 100, 1}, {FR_METHOD_RTN, 1, 40, 24, 3},
        {FR_METHOD_FLEXROUND, 32, 97, 128, 1}, {FR_METHOD_ADAROUND, 16, 97, 128, 1}, {FR_METHOD_RTN, 64, 97, 128, 1},
        /* depthwise rows (9 weights): AdaRound's blocks run across rows, from each part's first row */
        {FR_METHOD_ADAROUND, 0, 1001, 1, 3}, {FR_METHOD_ADAROUND, 1, 1001, 1, 3}, {FR_METHOD_FLEXROUND, 1, 1001, 1, 3},
    };
    for (size_t ci = 0; ci < sizeof cs / sizeof cs[0]; ci++) {
        fr_rng r;
        fr_rng_seed(&r, 77 + (uint64_t)ci);
        size_t n = (size_t)cs[ci].o * (size_t)cs[ci].i * (size_t)(cs[ci].k * cs[ci].k);
        float *w = randn(&r, n, 0.3f);
        fr_qlayer a, b;
        run_parts(1, cs[ci].m, cs[ci].pc, cs[ci].o, cs[ci].i, cs[ci].k, &a, w);
        run_parts(3, cs[ci].m, cs[ci].pc, cs[ci].o, cs[ci].i, cs[ci].k, &b, w);
        int same = memcmp(a.w_hat, b.w_hat, n * sizeof(float)) == 0 && a.freg == b.freg;
        fr_qparam pa[8], pb[8];
        int np = fr_qlayer_params(&a, pa, 8);
        FR_CHECK(fr_qlayer_params(&b, pb, 8) == np);
        for (int k = 0; k < np; k++) {
            size_t bytes = pa[k].n * sizeof(float);
            same &= memcmp(pa[k].data, pb[k].data, bytes) == 0 && memcmp(pa[k].m, pb[k].m, bytes) == 0 &&
                    memcmp(pa[k].v, pb[k].v, bytes) == 0 && memcmp(pa[k].grad, pb[k].grad, bytes) == 0;
        }
        FR_CHECKF(same, "case %zu (method %s, per-channel %d, [%d,%d,%d,%d]): 1 and 3 parts differ", ci,
                  fr_method_name(cs[ci].m), cs[ci].pc, cs[ci].o, cs[ci].i, cs[ci].k, cs[ci].k);
        FR_CHECK(n >= 8192);   /* above the pool threshold, or this proves nothing */
        fr_qlayer_free(&a);
        fr_qlayer_free(&b);
        free(w);
    }
}

/* steps forward + AdaRound steps of layers ls[0..nl), layer k on G + k*gstride of one random
 * G of n values per step (seeded), the regulariser on after reg_after steps; then a forward. */
static void ada_lockstep(fr_qlayer *ls, int nl, size_t gstride, size_t n, int steps, int reg_after, uint64_t seed)
{
    fr_rng gr;
    fr_rng_seed(&gr, seed);
    for (int t = 1; t <= steps; t++) {
        float *G = randn(&gr, n, 0.1f);
        for (int k = 0; k < nl; k++) {
            fr_qlayer_forward(&ls[k]);
            FR_ASSERT(fr_qlayer_step(&ls[k], G + (size_t)k * gstride, 1e-2f, t, 10.0f, 0.01f, t > reg_after, NULL) == FR_OK);
        }
        free(G);
    }
    for (int k = 0; k < nl; k++) fr_qlayer_forward(&ls[k]);
}

/* AdaRound on rows shorter than a vector block (a depthwise conv's 9 weights) runs its blocks
 * across row ends, each lane with its row's grid.  Per tensor the grid is one, so every element
 * must come out exactly as in a layer holding the same weights as one long row (the block path
 * of long rows); only f_reg, summed row by row there, may differ in its last bits. */
static void test_ada_short_rows(void)
{
    const int o = 1001;   /* 9009 weights: above the pool threshold, and not a whole number of blocks */
    const size_t n = (size_t)o * 9;
    fr_rng r;
    fr_rng_seed(&r, 4242);
    float *w = randn(&r, n, 0.3f);
    fr_qconfig c = cfgb(4, 0, 1, FR_QINIT_MSE);
    for (int parts = 1; parts <= 2; parts++) {
        fr_par_set_threads(parts);
        fr_qlayer a, b;
        FR_ASSERT(fr_qlayer_init(&a, FR_METHOD_ADAROUND, &c, o, 1, 3, 3, 1, w, NULL) == FR_OK);
        FR_ASSERT(fr_qlayer_init(&b, FR_METHOD_ADAROUND, &c, 1, (int)n, 1, 1, 1, w, NULL) == FR_OK);
        FR_CHECK(a.s1[0] == b.s1[0]);
        ada_lockstep(&a, 1, 0, n, 8, 3, 5);
        ada_lockstep(&b, 1, 0, n, 8, 3, 5);
        const double ra = a.freg, rb = b.freg;
        const size_t bytes = n * sizeof(float);
        FR_CHECKF(memcmp(a.w_hat, b.w_hat, bytes) == 0 && memcmp(a.V.data, b.V.data, bytes) == 0 &&
                      memcmp(a.V.m, b.V.m, bytes) == 0 && memcmp(a.V.v, b.V.v, bytes) == 0 &&
                      memcmp(a.V.grad, b.V.grad, bytes) == 0,
                  "%d part(s): 9-weight rows differ from one long row", parts);
        FR_CHECKF(rb > 0 && fabs(ra - rb) <= 1e-12 * rb, "f_reg %.17g vs %.17g", ra, rb);
        fr_qlayer_free(&a);
        fr_qlayer_free(&b);
    }
    fr_par_set_threads(1);
    /* Per channel each row has its own grid: the depthwise layer must match 1001 one-row
     * layers (whose blocks all carry one grid), f_reg included (each row sums its own terms). */
    c = cfgb(4, 1, 1, FR_QINIT_MSE);
    fr_qlayer a, *rows = fr_xcalloc((size_t)o, sizeof *rows);
    FR_ASSERT(fr_qlayer_init(&a, FR_METHOD_ADAROUND, &c, o, 1, 3, 3, 1, w, NULL) == FR_OK);
    for (int k = 0; k < o; k++) FR_ASSERT(fr_qlayer_init(&rows[k], FR_METHOD_ADAROUND, &c, 1, 1, 3, 3, 1, w + 9 * k, NULL) == FR_OK);
    ada_lockstep(&a, 1, 0, n, 6, 2, 6);
    ada_lockstep(rows, o, 9, n, 6, 2, 6);
    double rsum = 0;
    int same = 1;
    for (int k = 0; k < o; k++) {
        rsum += rows[k].freg;
        same &= a.s1[k] == rows[k].s1[0] && memcmp(a.w_hat + 9 * k, rows[k].w_hat, 36) == 0 &&
                memcmp(a.V.data + 9 * k, rows[k].V.data, 36) == 0 && memcmp(a.V.grad + 9 * k, rows[k].V.grad, 36) == 0;
        fr_qlayer_free(&rows[k]);
    }
    FR_CHECKF(same, "per-channel 9-weight rows differ from one-row layers");
    FR_CHECKF(a.freg > 0 && a.freg == rsum, "per-channel f_reg %.17g vs %.17g", a.freg, rsum);
    fr_qlayer_free(&a);
    free(rows);
    free(w);
}

/* Rows shorter than a vector block run in blocks across row ends, both methods (quant.c fx_flat,
 * adaround.c ada_flat).  The row-by-row path through the scalar tail code is the reference: after
 * a few fused steps every parameter, Adam moment, gradient, s1 and w_hat must carry the same bits,
 * on 1 and 2 parts, per tensor and per channel, for shapes with one column per row (a depthwise
 * conv), several 1x1 columns (d4 per column) and several 2x3 windows. */
static void test_flat_rows_match(void)
{
    static const int shp[3][4] = {{1001, 1, 3, 3}, {700, 3, 1, 1}, {257, 2, 2, 3}};
    const fr_method ms[2] = {FR_METHOD_FLEXROUND, FR_METHOD_ADAROUND};
    int cases = 0, same = 0;
    for (int mi = 0; mi < 2; mi++)
        for (int si = 0; si < 3; si++)
            for (int pc = 0; pc <= 1; pc++)
                for (int parts = 1; parts <= 2; parts++) {
                    const int o = shp[si][0], i = shp[si][1], kh = shp[si][2], kw = shp[si][3];
                    const size_t n = (size_t)o * (size_t)(i * kh * kw);
                    fr_rng r;
                    fr_rng_seed(&r, 5150u + (uint64_t)(si * 10 + pc));
                    float *w = randn(&r, n, 0.3f);
                    fr_qconfig c = cfgb(4, pc, 1, FR_QINIT_MSE);
                    fr_qlayer q[2];
                    for (int k = 0; k < 2; k++)
                        FR_ASSERT(fr_qlayer_init(&q[k], ms[mi], &c, o, i, kh, kw, 1, w, NULL) == FR_OK);
                    fr_par_set_threads(parts);
                    fr_rng gr;
                    fr_rng_seed(&gr, 77);
                    for (int t = 1; t <= 5; t++) {
                        float *G = randn(&gr, n, 0.1f);
                        for (int k = 0; k < 2; k++) {   /* q[0] flat, q[1] row by row */
                            fr_quant_set_flat_rows(k == 0);
                            fr_qlayer_forward(&q[k]);
                            FR_ASSERT(fr_qlayer_step(&q[k], G, 1e-2f, t, 10.0f, 0.01f, t > 2, NULL) == FR_OK);
                            fr_qlayer_forward(&q[k]);
                        }
                        free(G);
                    }
                    fr_quant_set_flat_rows(1);
                    fr_qparam pa[8], pb[8];
                    int na = fr_qlayer_params(&q[0], pa, 8), nb = fr_qlayer_params(&q[1], pb, 8);
                    int eq = na == nb && memcmp(q[0].w_hat, q[1].w_hat, n * sizeof(float)) == 0 &&
                             memcmp(q[0].s1, q[1].s1, (size_t)q[0].ns1 * sizeof(float)) == 0;
                    for (int p = 0; eq && p < na; p++) {
                        const size_t b = pa[p].n * sizeof(float);
                        eq = pa[p].n == pb[p].n && memcmp(pa[p].data, pb[p].data, b) == 0 &&
                             memcmp(pa[p].m, pb[p].m, b) == 0 && memcmp(pa[p].v, pb[p].v, b) == 0 &&
                             memcmp(pa[p].grad, pb[p].grad, b) == 0;
                    }
                    FR_CHECKF(eq, "%s [%d,%d,%d,%d] %s, %d part(s): flat rows differ from row by row",
                              fr_method_name(ms[mi]), o, i, kh, kw, pc ? "per channel" : "per tensor", parts);
                    /* and the steps did something: the parameters left their start */
                    FR_CHECK(na > 0 && pa[0].m[0] != 0.0f);
                    cases++;
                    same += eq;
                    for (int k = 0; k < 2; k++) fr_qlayer_free(&q[k]);
                    free(w);
                }
    FR_CHECK(cases == 24 && same == cases);
    fr_par_set_threads(1);
}

/* The step searches on a tensor large enough to be scored in parallel parts (qgrid.c): with 1
 * and 2 parts they return the step (and zero point) that a serial argmin over the spec's 80
 * candidates, written here independently, picks: the first strictly smallest mean L2.4 error. */
static void test_grid_search_parts(void)
{
    enum { M = 5000 };
    float *w = fr_xmalloc(M * sizeof(float));
    fr_rng r;
    fr_rng_seed(&r, 1407);
    for (int k = 0; k < M; k++) w[k] = 0.1f * fr_rng_normal(&r) + (k % 97 == 0 ? 0.9f : 0.0f);
    float mn = 0, mx = 0, smn = w[0], smx = w[0];
    for (int k = 0; k < M; k++) {
        mn = fminf(mn, w[k]), mx = fmaxf(mx, w[k]);
        smn = fminf(smn, w[k]), smx = fmaxf(smx, w[k]);
    }
    for (int bits = 3; bits <= 4; bits++) {
        const float L = (float)((1 << bits) - 1), lo = -(float)(1 << (bits - 1)), hi = -lo - 1;
        float want_s = 0, want_a = 0, want_z = 0;
        double bs = INFINITY, ba = INFINITY;
        for (int i = 0; i < 80; i++) {
            float f = (float)(1.0 - 0.01 * i);
            float ds = 2.0f * fmaxf(fabsf(smn * f), smx * f) / L;
            float da = (mx * f - mn * f) / L, z = rintf(-(mn * f) / da);
            z = z < 0 ? 0 : z > L ? L : z;
            double es = 0, ea = 0;
            for (int k = 0; k < M; k++) {
                float c = rintf(w[k] / ds);
                c = c < lo ? lo : c > hi ? hi : c;
                es += (double)powf(fabsf(w[k] - c * ds), 2.4f);
                float ca = rintf(w[k] / da) + z;
                ca = (ca < 0 ? 0 : ca > L ? L : ca) - z;
                ea += (double)powf(fabsf(w[k] - ca * da), 2.4f);
            }
            if (es / M < bs) bs = es / M, want_s = ds;
            if (ea / M < ba) ba = ea / M, want_a = da, want_z = z;
        }
        for (int parts = 1; parts <= 2; parts++) {
            fr_par_set_threads(parts);
            float zp = -1;
            float got_s = fr_qgrid_sym(w, M, bits, FR_QINIT_MSE), got_a = fr_qgrid_asym(w, M, bits, FR_QINIT_MSE, &zp);
            FR_CHECKF(got_s == want_s && got_a == want_a && zp == want_z,
                      "W%d, %d parts: sym %g (want %g), asym %g z %g (want %g z %g)", bits, parts, got_s, want_s, got_a,
                      zp, want_a, want_z);
        }
        fr_par_set_threads(1);
    }
    free(w);
}

/* Issue 13 §6 known answer: RTN codes are clamp(round_half_even(W / s)) for the step the search
 * chose, bit for bit, computed here independently of the quantizer, on 8-bit min-max grids whose
 * most negative weight sits at -max|W| (W/s = -127.5 in exact arithmetic, so any change of s by
 * an ulp flips its code between -128 and -127).  The old expf(logf(s)) snap failed this. */
static void test_rtn_known_answer(void)
{
    fr_rng r;
    fr_rng_seed(&r, 1306);
    int flips = 0;
    for (int t = 0; t < 300; t++) {
        float w[48];
        for (int k = 0; k < 48; k++) w[k] = 0.05f * fr_rng_normal(&r);
        float m = 0;
        for (int k = 0; k < 48; k++) m = fmaxf(m, fabsf(w[k]));
        w[t % 48] = -m * 1.01f;  /* the most negative weight is the largest in magnitude */
        for (int init = 0; init < 2; init++) {
            fr_qconfig c = cfgb(8, 0, 1, init ? FR_QINIT_MSE : FR_QINIT_MINMAX);
            fr_qlayer q;
            FR_CHECK(fr_qlayer_init(&q, FR_METHOD_RTN, &c, 1, 48, 1, 1, 0, w, NULL) == FR_OK);
            /* the step the search chose, found independently of the layer */
            float mm = fmaxf(fabsf(-m * 1.01f), m);
            float s = init ? fr_qgrid_sym(w, 48, 8, c.init) : 2.0f * mm / 255.0f;   /* spec 1.4 */
            FR_CHECK(q.s1_init[0] == s && q.s1[0] == s);
            fr_qlayer_finalize(&q);
            int ok = 1;
            for (int k = 0; k < 48; k++) {
                float u = w[k] / s, rr = nearbyintf(u);   /* FE_TONEAREST: half to even */
                int32_t want = (int32_t)(rr < -128 ? -128 : rr > 127 ? 127 : rr);
                ok &= q.code[k] == want && q.w_hat[k] == s * (float)want;
                float s2 = expf(logf(s)), r2 = nearbyintf(w[k] / s2);
                flips += (int32_t)(r2 < -128 ? -128 : r2 > 127 ? 127 : r2) != want;
            }
            FR_CHECKF(ok, "trial %d init %d", t, init);
            fr_qlayer_free(&q);
        }
    }
    FR_CHECKF(flips > 0, "no code that the exp(log s) snap changes: the test would not catch it");
}

/* fr_qclass: the one definition of inside / aggressive / clipped (qstats.c design note). */
static void test_qclass(void)
{
    /* inside: the two grid points of u's cell, u integer included (cell [u, u+1]) */
    FR_CHECK(fr_qclass(1.3, 1, -8, 7, 0) == FR_WC_INSIDE && fr_qclass(1.3, 2, -8, 7, 0) == FR_WC_INSIDE);
    FR_CHECK(fr_qclass(0.0, 0, -8, 7, 0) == FR_WC_INSIDE && fr_qclass(0.0, 1, -8, 7, 0) == FR_WC_INSIDE);
    FR_CHECK(fr_qclass(1.3, 3, -8, 7, 0) == FR_WC_AGGRESSIVE && fr_qclass(1.3, 0, -8, 7, 0) == FR_WC_AGGRESSIVE);
    FR_CHECK(fr_qclass(-2.5, -4, -8, 7, 0) == FR_WC_AGGRESSIVE);
    /* beyond the end: clipped only when rounding alone would leave the grid */
    FR_CHECK(fr_qclass(7.3, 7, -8, 7, 0) == FR_WC_INSIDE);
    FR_CHECK(fr_qclass(7.7, 7, -8, 7, 0) == FR_WC_CLIPPED && fr_qclass(11.0, 7, -8, 7, 0) == FR_WC_CLIPPED);
    FR_CHECK(fr_qclass(-12.0, -8, -8, 7, 0) == FR_WC_CLIPPED && fr_qclass(-8.4, -8, -8, 7, 0) == FR_WC_INSIDE);
    FR_CHECK(fr_qclass(11.0, 6, -8, 7, 0) == FR_WC_AGGRESSIVE && fr_qclass(-12.0, 7, -8, 7, 0) == FR_WC_AGGRESSIVE);
    FR_CHECK(fr_qclass(NAN, 1, -8, 7, 0) == FR_WC_AGGRESSIVE && fr_qclass(1.0, INFINITY, -8, 7, 0) == FR_WC_AGGRESSIVE);
    /* slack for the initial grid */
    FR_CHECK(fr_qclass(1.3, 2.00005, -8, 7, 1e-4) == FR_WC_INSIDE && fr_qclass(1.3, 2.001, -8, 7, 1e-4) == FR_WC_AGGRESSIVE);
    FR_CHECK(fr_qclass(9.0, 7.00005, -8, 7, 1e-4) == FR_WC_CLIPPED);

    /* RTN and AdaRound are never aggressive; weights beyond the grid are clipped, and the
     * per-weight classes are exactly what the statistics count. */
    fr_rng r;
    fr_rng_seed(&r, 77);
    size_t n = 4 * 60;
    float *w = randn(&r, n, 0.4f);
    for (size_t k = 0; k < n; k += 17) w[k] *= 6.0f;   /* large weights the MSE search clips */
    for (int m = 0; m < 2; m++) {
        fr_qconfig c = cfgb(4, m, 1, FR_QINIT_MSE);
        fr_qlayer q;
        fr_method meth = m ? FR_METHOD_ADAROUND : FR_METHOD_RTN;
        FR_CHECK(fr_qlayer_init(&q, meth, &c, 4, 60, 1, 1, 0, w, NULL) == FR_OK);
        if (meth == FR_METHOD_ADAROUND)
            for (size_t k = 0; k < n; k++) q.V.data[k] = (k % 3) ? 2.0f : -2.0f;   /* any rounding */
        fr_qlayer_sync(&q);
        fr_qlayer_finalize(&q);
        uint8_t *cls = fr_xmalloc(n);
        FR_CHECK(fr_qlayer_classes(&q, cls) == FR_OK);
        size_t cnt[FR_WC__COUNT] = {0};
        for (size_t k = 0; k < n; k++) cnt[cls[k]]++;
        fr_qstats st;
        FR_CHECK(fr_qlayer_stats(&q, &st) == FR_OK);
        FR_CHECKF(cnt[FR_WC_AGGRESSIVE] == 0 && st.frac_aggressive == 0, "%s aggressive %zu", fr_method_name(meth),
                  cnt[FR_WC_AGGRESSIVE]);
        FR_CHECKF(cnt[FR_WC_CLIPPED] > 0, "%s: no clipped weight in the fixture", fr_method_name(meth));
        FR_CHECK(st.frac_clipped == (double)cnt[FR_WC_CLIPPED] / n);
        /* the clipped ones are exactly those whose |shift| > 1 here (the old mislabel) */
        float *sh = fr_xmalloc(n * sizeof(float));
        FR_CHECK(fr_qlayer_array(&q, FR_QA_SHIFT, sh) == FR_OK);
        for (size_t k = 0; k < n; k++)
            if (fabsf(sh[k]) > 1.0f) FR_CHECK(cls[k] == FR_WC_CLIPPED);
        free(sh);
        free(cls);
        fr_qlayer_free(&q);
    }
    free(w);
}

/* Issue 14 §2: statistics and histograms on NaN / Inf / huge parameters (a crafted checkpoint)
 * count or skip them instead of indexing with (int)floor(NaN).  Run under
 * make SANITIZE=address,undefined to see the difference. */
static void test_stats_nonfinite(void)
{
    FR_CHECK(fr_qhist_bin(NAN, -4, 4, 64) == FR_QBIN_NAN);
    FR_CHECK(fr_qhist_bin(-INFINITY, -4, 4, 64) == -1 && fr_qhist_bin(INFINITY, -4, 4, 64) == 64);
    FR_CHECK(fr_qhist_bin(1e300, -4, 4, 64) == 64 && fr_qhist_bin(-1e300, -4, 4, 64) == -1);
    FR_CHECK(fr_qhist_bin(-4, -4, 4, 64) == 0 && fr_qhist_bin(3.9999999, -4, 4, 64) == 63 && fr_qhist_bin(0, -4, 4, 64) == 32);
    fr_rng r;
    fr_rng_seed(&r, 3);
    size_t n = 8 * 9;
    float *w = randn(&r, n, 0.3f);
    fr_qconfig c = cfgb(4, 0, 1, FR_QINIT_MSE);
    static const float bad[] = {NAN, INFINITY, -INFINITY, 1e30f, -1e30f};
    for (int m = 1; m <= 2; m++) {
        fr_qlayer q;
        FR_CHECK(fr_qlayer_init(&q, (fr_method)m, &c, 8, 1, 3, 3, 1, w, NULL) == FR_OK);
        fr_qparam *P = m == FR_METHOD_FLEXROUND ? &q.D2 : &q.V;
        for (size_t k = 0; k < n; k++) P->data[k] = bad[k % 5];
        if (m == FR_METHOD_FLEXROUND) q.d3.data[1] = NAN;
        fr_qlayer_sync(&q);
        fr_qstats st;
        FR_CHECK(fr_qlayer_stats(&q, &st) == FR_OK);
        uint64_t tot = st.shift_under + st.shift_over + st.n_nonfinite, s2 = st.s2_under + st.s2_over;
        for (int b = 0; b < FR_SHIFT_BINS; b++) tot += st.shift_hist[b];
        for (int b = 0; b < FR_S2_BINS; b++) s2 += st.s2_hist[b];
        FR_CHECK(tot >= n);
        if (m == FR_METHOD_FLEXROUND) FR_CHECK(s2 + n / 5 + (n % 5 > 0) >= n);
        uint8_t *cls = fr_xmalloc(n);
        FR_CHECK(fr_qlayer_classes(&q, cls) == FR_OK);
        for (size_t k = 0; k < n; k++) FR_CHECK(cls[k] < FR_WC__COUNT);
        for (size_t k = 0; k < n; k++) {
            float h = fr_qada_h(q.V.n ? q.V.data[k] : 0.0f);
            FR_CHECK(!(h < 0.0f) && !(h > 1.0f));
        }
        free(cls);
        fr_qlayer_free(&q);
    }
    free(w);
}

/* --scale-lr (issue 15): 0 keeps d1, d3, d4 (and s1) bit-exactly at RTN's grid while D2 learns; a
 * multiplier k makes the first Adam step of the shared scales exactly k times the full one (Adam's
 * first step is lr·g/(|g|+eps)·..., linear in lr), and leaves D2's step unchanged. */
static void test_scale_lr(void)
{
    fr_rng r;
    fr_rng_seed(&r, 77);
    float *w = randn(&r, 6 * 5 * 9, 1.0f), *G = randn(&r, 6 * 5 * 9, 0.1f);
    fr_qlayer q[3];
    const float mult[3] = {1.0f, 0.25f, 0.0f};
    for (int v = 0; v < 3; v++) {
        fr_qconfig c = cfgb(4, 0, 1, FR_QINIT_MSE);
        c.scale_lr = mult[v];
        FR_CHECK(fr_qlayer_init(&q[v], FR_METHOD_FLEXROUND, &c, 6, 5, 3, 3, 1, w, NULL) == FR_OK);
        FR_CHECK(fr_qlayer_step(&q[v], G, 1e-2f, 1, 0, 0, 0, NULL) == FR_OK);
    }
    FR_CHECK(q[2].d1.data[0] == q[2].d1_init[0] && q[2].s1[0] == expf(q[2].d1_init[0]));
    int frozen = 1;
    for (int j = 0; j < 6; j++) frozen &= q[2].d3.data[j] == 0.0f;
    for (int j = 0; j < 5; j++) frozen &= q[2].d4.data[j] == 0.0f;
    FR_CHECK(frozen);
    double d1_full = q[0].d1.data[0] - q[0].d1_init[0], d1_q = q[1].d1.data[0] - q[1].d1_init[0];
    FR_CHECK(fabs(d1_full) > 1e-3);
    FR_CHECK(fabs(d1_q - 0.25 * d1_full) <= 1e-6 * fabs(d1_full) + 1e-7);
    double worst = 0;
    for (int j = 0; j < 6; j++) worst = fmax(worst, fabs(q[1].d3.data[j] - 0.25 * q[0].d3.data[j]));
    for (int j = 0; j < 5; j++) worst = fmax(worst, fabs(q[1].d4.data[j] - 0.25 * q[0].d4.data[j]));
    FR_CHECK(worst < 1e-7);
    /* D2 sees the same gradient on the first step (same Ŵ, same G), so the same update. */
    FR_CHECK(memcmp(q[0].D2.data, q[2].D2.data, q[0].n * sizeof(float)) == 0);
    int moved = 0;
    for (size_t k = 0; k < q[2].n; k++) moved += q[2].D2.data[k] != 0.0f;
    FR_CHECK(moved > (int)q[2].n / 2);
    for (int v = 0; v < 3; v++) fr_qlayer_free(&q[v]);
    free(w); free(G);
}

/* --s1-param direct: Adam's first step moves its parameter by lr·g/(|g| + eps) ≈ ±lr, so the
 * log form moves log s1 by lr (s1 by a factor e^±lr whatever its size) and the direct form moves
 * s1 itself by lr (a relative step of lr/s1).  Known answers on two layers whose s1 differ 100x;
 * the gradients (log-space, both uses of d1) are the same in both forms, and so are the steps of
 * S2, s3, s4. */
static void test_s1_direct(void)
{
    fr_rng r;
    fr_rng_seed(&r, 78);
    const float lr = 1e-2f;
    for (int big = 0; big < 2; big++) {
        float *w = randn(&r, 6 * 5 * 9, big ? 10.0f : 0.1f), *G = randn(&r, 6 * 5 * 9, 0.1f);
        fr_qlayer q[2];
        for (int d = 0; d < 2; d++) {
            fr_qconfig c = cfgb(4, 0, 1, FR_QINIT_MSE);
            c.s1_direct = d;
            FR_CHECK(fr_qlayer_init(&q[d], FR_METHOD_FLEXROUND, &c, 6, 5, 3, 3, 1, w, NULL) == FR_OK);
            FR_CHECK(fr_qlayer_step(&q[d], G, lr, 1, 0, 0, 0, NULL) == FR_OK);
        }
        FR_CHECK(q[0].d1.grad[0] == q[1].d1.grad[0] && fabsf(q[0].d1.grad[0]) > 0);
        float s0 = q[0].s1_init[0], sign = q[0].d1.grad[0] > 0 ? -1.0f : 1.0f;
        FR_CHECKF(fabs((q[0].d1.data[0] - q[0].d1_init[0]) - sign * lr) < 1e-6, "log: d1 moved %g", q[0].d1.data[0] - q[0].d1_init[0]);
        FR_CHECKF(fabs((q[1].s1[0] - s0) - sign * lr) < 1e-5 * fmax(1.0, s0), "direct: s1 %g -> %g", s0, q[1].s1[0]);
        FR_CHECK(fabsf(q[1].d1.data[0] - logf(q[1].s1[0])) < 1e-6f);
        FR_CHECK(memcmp(q[0].D2.data, q[1].D2.data, q[0].n * sizeof(float)) == 0 &&
                 memcmp(q[0].d3.data, q[1].d3.data, 6 * sizeof(float)) == 0);
        for (int d = 0; d < 2; d++) fr_qlayer_free(&q[d]);
        free(w); free(G);
    }
}

int main(void)
{
    FR_RUN(test_names);
    FR_RUN(test_validation);
    FR_RUN(test_rtn_search);
    FR_RUN(test_asym_zero_point);
    FR_RUN(test_half_even_and_clamp);
    FR_RUN(test_flex_init_is_rtn);
    FR_RUN(test_fd_flexround);
    FR_RUN(test_groups);
    FR_RUN(test_fd_adaround);
    FR_RUN(test_aquant_known);
    FR_RUN(test_aquant_token);
    FR_RUN(test_fd_aquant);
    FR_RUN(test_aggressive);
    FR_RUN(test_rtn_known_answer);
    FR_RUN(test_grid_search_parts);
    FR_RUN(test_qclass);
    FR_RUN(test_stats_nonfinite);
    FR_RUN(test_optimise);
    FR_RUN(test_fused_matches_separate_conv);
    FR_RUN(test_nonfinite_and_reset);
    FR_RUN(test_schedule_and_adam);
    FR_RUN(test_qexpf);
    FR_RUN(test_parts_bit_identical);
    FR_RUN(test_ada_short_rows);
    FR_RUN(test_flat_rows_match);
    FR_RUN(test_scale_lr);
    FR_RUN(test_s1_direct);
    return FR_REPORT();
}
