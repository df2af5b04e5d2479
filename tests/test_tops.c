/* test_tops.c — the transformer kernels (src/engine/tops.c): every backward against central
 * differences (fd_check.h), forwards against known answers and against a naive double-precision
 * reference (attention with its full causal softmax), and the structural identities: RoPE's
 * backward is its transpose, grouped KV heads equal multi-head attention with repeated KV. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fd_check.h"
#include "fr_test.h"
#include "frtui/par.h"
#include "frtui/tops.h"

typedef enum { K_LN, K_RMS, K_SOFTMAX, K_GELU_ERF, K_GELU_TANH, K_SILU, K_SWIGLU, K_ATTN, K_EMB, K_BMM } kind;

/* Everything one forward needs; fwd() recomputes y from the input buffers the checker perturbs. */
typedef struct tctx {
    kind k;
    int rows, d;                   /* row kernels; element-wise: rows * d values */
    float *x, *u, *gamma, *beta;   /* x (also g for SwiGLU), u, norm parameters */
    float *stat1, *stat2;          /* mean / rstd */
    int T, nh, nkv, hd;            /* attention */
    float *q, *kk, *v, *lse, *work;
    int vocab;                     /* embedding: x is the table */
    int32_t *ids;
    int batch, m, kd, n, shared;   /* bmm: x = A, u = B */
} tctx;

static void tfwd(void *cv, float *y)
{
    tctx *c = cv;
    size_t cnt = (size_t)c->rows * c->d;
    switch (c->k) {
    case K_LN: fr_layernorm_forward(c->rows, c->d, c->x, c->gamma, c->beta, 1e-5f, y, c->stat1, c->stat2); break;
    case K_RMS: fr_rmsnorm_forward(c->rows, c->d, c->x, c->gamma, 1e-6f, y, c->stat2); break;
    case K_SOFTMAX: fr_softmax_rows_forward(c->rows, c->d, c->x, y); break;
    case K_GELU_ERF: fr_gelu_forward(cnt, FR_GELU_ERF, c->x, y); break;
    case K_GELU_TANH: fr_gelu_forward(cnt, FR_GELU_TANH, c->x, y); break;
    case K_SILU: fr_silu_forward(cnt, c->x, y); break;
    case K_SWIGLU: fr_swiglu_forward(cnt, c->x, c->u, y); break;
    case K_ATTN:
        fr_attention_forward(c->T, c->nh, c->nkv, c->hd, 1.0f / sqrtf((float)c->hd), c->q, c->kk, c->v, y, c->lse,
                             c->work);
        break;
    case K_EMB: fr_embedding_forward(c->T, c->d, c->ids, c->x, y); break;
    case K_BMM: fr_bmm_forward(c->batch, c->m, c->kd, c->n, c->x, c->u, c->shared, y); break;
    }
}

static void test_norms_and_softmax(void)
{
    const int rows = 5, d = 7;
    const size_t n = (size_t)rows * d;
    for (int k = K_LN; k <= K_SOFTMAX; k++) {
        tctx c = {.k = (kind)k, .rows = rows, .d = d, .x = fbuf(n), .gamma = fbuf(d), .beta = fbuf(d),
                  .stat1 = fbuf(rows), .stat2 = fbuf(rows)};
        float *y = fbuf(n), *r = fbuf(n), *dx = fbuf(n), *dg = fbuf(d), *db = fbuf(d);
        fill_normal(c.x, n, 2); fill_uniform(c.gamma, d, 0.5f, 1.5f); fill_normal(c.beta, d, 1); fill_normal(r, n, 1);
        tfwd(&c, y);
        fd_prob p = {tfwd, &c, y, n, r};
        if (k == K_LN) {
            fr_layernorm_backward(rows, d, c.x, c.gamma, c.stat1, c.stat2, r, dx, dg, db);
            GRADCHECK(&p, c.x, n, dx, 1e-3, "layernorm dx");
            GRADCHECK(&p, c.gamma, (size_t)d, dg, 1e-3, "layernorm dgamma");
            GRADCHECK(&p, c.beta, (size_t)d, db, 1e-3, "layernorm dbeta");
        } else if (k == K_RMS) {
            fr_rmsnorm_backward(rows, d, c.x, c.gamma, c.stat2, r, dx, dg);
            GRADCHECK(&p, c.x, n, dx, 1e-3, "rmsnorm dx");
            GRADCHECK(&p, c.gamma, (size_t)d, dg, 1e-3, "rmsnorm dgamma");
        } else {
            fr_softmax_rows_backward(rows, d, y, r, dx);
            GRADCHECK(&p, c.x, n, dx, 1e-3, "softmax dx");
        }
        /* Known answers: unit gamma, zero beta normalise each row; softmax rows sum to 1 and
         * do not move when a constant is added to the row. */
        for (int j = 0; j < d; j++) { c.gamma[j] = 1; c.beta[j] = 0; }
        tfwd(&c, y);
        int bad = 0;
        for (int rr = 0; rr < rows; rr++) {
            double s = 0, s2 = 0;
            for (int j = 0; j < d; j++) { s += y[rr * d + j]; s2 += (double)y[rr * d + j] * y[rr * d + j]; }
            if (k == K_LN) bad += fabs(s / d) > 1e-5 || fabs(s2 / d - 1) > 1e-3;
            if (k == K_RMS) bad += fabs(s2 / d - 1) > 1e-3;
            if (k == K_SOFTMAX) bad += fabs(s - 1) > 1e-6;
        }
        FR_CHECKF(bad == 0, "kind %d: %d rows off their known moments", k, bad);
        if (k == K_SOFTMAX) {
            float *y2 = fbuf(n);
            for (size_t i = 0; i < n; i++) c.x[i] += 100.0f;
            tfwd(&c, y2);
            FR_CHECK(max_abs_diff(y, y2, n) < 1e-5);
            free(y2);
        }
        free(c.x); free(c.gamma); free(c.beta); free(c.stat1); free(c.stat2);
        free(y); free(r); free(dx); free(dg); free(db);
    }
}

static void test_activations(void)
{
    const size_t n = 203;
    for (int k = K_GELU_ERF; k <= K_SWIGLU; k++) {
        tctx c = {.k = (kind)k, .rows = 1, .d = (int)n, .x = fbuf(n), .u = fbuf(n)};
        float *y = fbuf(n), *r = fbuf(n), *dx = fbuf(n), *du = fbuf(n);
        fill_uniform(c.x, n, -6, 6); fill_normal(c.u, n, 1); fill_normal(r, n, 1);
        tfwd(&c, y);
        fd_prob p = {tfwd, &c, y, n, r};
        if (k == K_GELU_ERF || k == K_GELU_TANH) {
            fr_gelu_backward(n, k == K_GELU_ERF ? FR_GELU_ERF : FR_GELU_TANH, c.x, r, dx);
            GRADCHECK(&p, c.x, n, dx, 1e-3, k == K_GELU_ERF ? "gelu(erf) dx" : "gelu(tanh) dx");
        } else if (k == K_SILU) {
            fr_silu_backward(n, c.x, r, dx);
            GRADCHECK(&p, c.x, n, dx, 1e-3, "silu dx");
        } else {
            fr_swiglu_backward(n, c.x, c.u, r, dx, du);
            GRADCHECK(&p, c.x, n, dx, 1e-3, "swiglu dg");
            GRADCHECK(&p, c.u, n, du, 1e-3, "swiglu du");
        }
        free(c.x); free(c.u); free(y); free(r); free(dx); free(du);
    }
    /* Known values: GELU(1) = Phi(1) = 0.841344746; the tanh form stays within 1e-3 of erf's;
     * SiLU(0) = 0 and SiLU(x) -> x for large x. */
    float xs[4] = {1.0f, 0.0f, -3.0f, 20.0f}, ye[4], yt[4], ys[4];
    fr_gelu_forward(4, FR_GELU_ERF, xs, ye);
    fr_gelu_forward(4, FR_GELU_TANH, xs, yt);
    fr_silu_forward(4, xs, ys);
    FR_CHECKF(fabsf(ye[0] - 0.841344746f) < 1e-6f && ye[1] == 0.0f, "gelu(1) = %.9g", ye[0]);
    int far = 0;
    for (int i = 0; i < 4; i++) far += fabsf(ye[i] - yt[i]) > 1e-3f;
    FR_CHECK(far == 0);
    FR_CHECK(ys[1] == 0.0f && fabsf(ys[3] - 20.0f) < 1e-5f);
}

static void test_rope(void)
{
    const int T = 6, nh = 3, hd = 8;
    const size_t n = (size_t)T * nh * hd;
    float *x = fbuf(n), *y = fbuf(n), *z = fbuf(n), *r = fbuf(n), *rt = fbuf(n);
    fill_normal(x, n, 1); fill_normal(r, n, 1);
    fr_rope(T, nh, hd, 0, 10000.0f, 0, x, y);
    /* position 0 is the identity, bit for bit (cos 1, sin 0) */
    FR_CHECK(memcmp(x, y, sizeof(float) * (size_t)nh * hd) == 0);
    /* rotations keep each pair's length; the inverse undoes the forward */
    int bad = 0;
    for (int t = 0; t < T; t++)
        for (int h = 0; h < nh; h++)
            for (int i = 0; i < hd / 2; i++) {
                size_t o = ((size_t)t * nh + h) * hd + i;
                double a = hypot(x[o], x[o + hd / 2]), b = hypot(y[o], y[o + hd / 2]);
                bad += fabs(a - b) > 1e-5 * (1 + a);
            }
    FR_CHECKF(bad == 0, "%d pairs changed length", bad);
    fr_rope(T, nh, hd, 0, 10000.0f, 1, y, z);
    FR_CHECK(max_abs_diff(x, z, n) < 1e-5);
    /* the backward (inverse rotation of dy) is the transpose: <rope(x), r> = <x, rope^-1(r)> */
    fr_rope(T, nh, hd, 3, 500.0f, 0, x, y);
    fr_rope(T, nh, hd, 3, 500.0f, 1, r, rt);
    double l = 0, rr = 0;
    for (size_t i = 0; i < n; i++) { l += (double)y[i] * r[i]; rr += (double)x[i] * rt[i]; }
    FR_CHECKF(fabs(l - rr) < 1e-4 * (1 + fabs(l)), "adjoint %g vs %g", l, rr);
    /* in place equals out of place; position offset pos0 = 2 equals tokens 2.. of pos0 = 0 */
    memcpy(z, x, sizeof(float) * n);
    fr_rope(T, nh, hd, 3, 500.0f, 0, z, z);
    FR_CHECK(memcmp(z, y, sizeof(float) * n) == 0);
    fr_rope(T, nh, hd, 0, 500.0f, 0, x, y);
    fr_rope(T - 2, nh, hd, 2, 500.0f, 0, x + (size_t)2 * nh * hd, z);
    FR_CHECK(memcmp(z, y + (size_t)2 * nh * hd, sizeof(float) * (n - (size_t)2 * nh * hd)) == 0);
    free(x); free(y); free(z); free(r); free(rt);
}

/* Naive attention in double: full causal softmax per query row. */
static void attn_ref(int T, int nh, int nkv, int hd, const float *q, const float *k, const float *v, double *y)
{
    const int rep = nh / nkv;
    const size_t ldq = (size_t)nh * hd, ldk = (size_t)nkv * hd;
    double *p = malloc(sizeof(double) * (size_t)T);
    for (int h = 0; h < nh; h++)
        for (int t = 0; t < T; t++) {
            const int g = h / rep;
            double m = -INFINITY, s = 0;
            for (int u = 0; u <= t; u++) {
                double dot = 0;
                for (int j = 0; j < hd; j++) dot += (double)q[t * ldq + h * hd + j] * k[u * ldk + g * hd + j];
                p[u] = dot / sqrt((double)hd);
                m = fmax(m, p[u]);
            }
            for (int u = 0; u <= t; u++) { p[u] = exp(p[u] - m); s += p[u]; }
            for (int j = 0; j < hd; j++) {
                double a = 0;
                for (int u = 0; u <= t; u++) a += p[u] / s * v[u * ldk + g * hd + j];
                y[t * ldq + h * hd + j] = a;
            }
        }
    free(p);
}

static void test_attention(void)
{
    const int T = 9, nh = 4, hd = 8;
    for (int nkv = 1; nkv <= 4; nkv *= 2) {   /* MQA, GQA, MHA */
        const size_t nq = (size_t)T * nh * hd, nk = (size_t)T * nkv * hd;
        tctx c = {.k = K_ATTN, .T = T, .nh = nh, .nkv = nkv, .hd = hd, .q = fbuf(nq), .kk = fbuf(nk), .v = fbuf(nk),
                  .lse = fbuf((size_t)nh * T), .work = fbuf(fr_attention_work(T))};
        float *y = fbuf(nq), *r = fbuf(nq), *dq = fbuf(nq), *dk = fbuf(nk), *dv = fbuf(nk);
        double *yr = malloc(sizeof(double) * nq);
        fill_normal(c.q, nq, 1); fill_normal(c.kk, nk, 1); fill_normal(c.v, nk, 1); fill_normal(r, nq, 1);
        tfwd(&c, y);
        attn_ref(T, nh, nkv, hd, c.q, c.kk, c.v, yr);
        double e = 0;
        for (size_t i = 0; i < nq; i++) e = fmax(e, fabs(y[i] - yr[i]));
        FR_CHECKF(e < 1e-5, "n_kv %d: forward off the reference by %g", nkv, e);
        /* causality: token 0 attends to itself only, so its output is v_0 of its group */
        FR_CHECK(fabsf(y[0] - c.v[0]) < 1e-6f);
        fr_attention_backward(T, nh, nkv, hd, 1.0f / sqrtf((float)hd), c.q, c.kk, c.v, y, c.lse, r, dq, dk, dv, c.work);
        fd_prob p = {tfwd, &c, y, nq, r};
        char w[64];
        snprintf(w, sizeof w, "attention n_kv %d dq", nkv);
        GRADCHECK(&p, c.q, nq, dq, 1e-3, w);
        snprintf(w, sizeof w, "attention n_kv %d dk", nkv);
        GRADCHECK(&p, c.kk, nk, dk, 1e-3, w);
        snprintf(w, sizeof w, "attention n_kv %d dv", nkv);
        GRADCHECK(&p, c.v, nk, dv, 1e-3, w);
        /* grouped KV heads = multi-head attention on repeated KV heads (forward) */
        if (nkv < nh) {
            const int rep = nh / nkv;
            float *k2 = fbuf(nq), *v2 = fbuf(nq), *y2 = fbuf(nq), *l2 = fbuf((size_t)nh * T);
            for (int t = 0; t < T; t++)
                for (int h = 0; h < nh; h++)
                    for (int j = 0; j < hd; j++) {
                        k2[((size_t)t * nh + h) * hd + j] = c.kk[((size_t)t * nkv + h / rep) * hd + j];
                        v2[((size_t)t * nh + h) * hd + j] = c.v[((size_t)t * nkv + h / rep) * hd + j];
                    }
            tfwd(&c, y);
            fr_attention_forward(T, nh, nh, hd, 1.0f / sqrtf((float)hd), c.q, k2, v2, y2, l2, c.work);
            FR_CHECK(memcmp(y, y2, sizeof(float) * nq) == 0);
            free(k2); free(v2); free(y2); free(l2);
        }
        free(c.q); free(c.kk); free(c.v); free(c.lse); free(c.work); free(y); free(r); free(dq); free(dk); free(dv);
        free(yr);
    }
}

static void test_embedding_and_bmm(void)
{
    /* embedding: repeated ids sum their gradients */
    const int T = 7, vocab = 5, d = 4;
    int32_t ids[7] = {3, 0, 3, 4, 1, 3, 0};
    tctx c = {.k = K_EMB, .T = T, .d = d, .vocab = vocab, .ids = ids, .x = fbuf((size_t)vocab * d)};
    float *y = fbuf((size_t)T * d), *r = fbuf((size_t)T * d), *dt = fbuf((size_t)vocab * d);
    fill_normal(c.x, (size_t)vocab * d, 1); fill_normal(r, (size_t)T * d, 1);
    tfwd(&c, y);
    FR_CHECK(memcmp(y + 2 * d, c.x + 3 * d, sizeof(float) * d) == 0);
    fr_embedding_backward(T, vocab, d, ids, r, dt);
    fd_prob p = {tfwd, &c, y, (size_t)T * d, r};
    GRADCHECK(&p, c.x, (size_t)vocab * d, dt, 1e-2, "embedding dtable");
    FR_CHECK(dt[2 * d] == 0.0f);   /* id 2 unused */
    free(c.x); free(y); free(r); free(dt);

    for (int shared = 0; shared <= 1; shared++) {
        const int B = 3, m = 4, k = 5, n = 6;
        const size_t na = (size_t)B * m * k, nb = (size_t)(shared ? 1 : B) * k * n, ny = (size_t)B * m * n;
        tctx b = {.k = K_BMM, .batch = B, .m = m, .kd = k, .n = n, .shared = shared, .x = fbuf(na), .u = fbuf(nb)};
        float *yy = fbuf(ny), *rr = fbuf(ny), *da = fbuf(na), *dbb = fbuf(nb);
        fill_normal(b.x, na, 1); fill_normal(b.u, nb, 1); fill_normal(rr, ny, 1);
        tfwd(&b, yy);
        fr_bmm_backward(B, m, k, n, b.x, b.u, shared, rr, da, dbb);
        fd_prob q = {tfwd, &b, yy, ny, rr};
        GRADCHECK(&q, b.x, na, da, 1e-2, shared ? "bmm (shared B) dA" : "bmm dA");
        GRADCHECK(&q, b.u, nb, dbb, 1e-2, shared ? "bmm (shared B) dB" : "bmm dB");
        free(b.x); free(b.u); free(yy); free(rr); free(da); free(dbb);
    }
}

/* Every kernel gives the same bits with 1, 2 and 3 parts (row chunks, element ranges, heads and
 * KV groups), on sizes large enough to be split. */
static void test_parts_consistent(void)
{
    const int rows = 130, d = 160, T = 33, nh = 6, nkv = 2, hd = 16;
    const size_t n = (size_t)rows * d, nq = (size_t)T * nh * hd, nk = (size_t)T * nkv * hd;
    float *x = fbuf(n), *u = fbuf(n), *gm = fbuf(d), *bt = fbuf(d), *dy = fbuf(n);
    float *q = fbuf(nq), *k = fbuf(nk), *v = fbuf(nk), *ga = fbuf(nq);
    fill_normal(x, n, 2); fill_normal(u, n, 1); fill_uniform(gm, d, 0.5f, 1.5f); fill_normal(bt, d, 1);
    fill_normal(dy, n, 1); fill_normal(q, nq, 1); fill_normal(k, nk, 1); fill_normal(v, nk, 1); fill_normal(ga, nq, 1);
    /* outputs per part count: y, dx, du, dgamma, dbeta, stats, attention y, lse, dq, dk, dv */
    const size_t per = 3 * n + 2 * (size_t)d + 2 * (size_t)rows + 2 * nq + (size_t)nh * T + nq + 2 * nk;
    float *out[3];
    for (int np = 1; np <= 3; np++) {
        fr_par_set_threads(np);
        float *o = out[np - 1] = fbuf(per * 8);
        float *w = fbuf(fr_attention_work(T));
        size_t off = 0;
        for (int kk = 0; kk < 8; kk++, off += per) {
            float *y = o + off, *dx = y + n, *du = dx + n, *dg = du + n, *db = dg + d, *st1 = db + d, *st2 = st1 + rows;
            float *ya = st2 + rows, *lse = ya + nq, *dq = lse + (size_t)nh * T, *dk = dq + nq, *dv = dk + nk;
            memset(y, 0, per * sizeof(float));
            switch (kk) {
            case 0:
                fr_layernorm_forward(rows, d, x, gm, bt, 1e-5f, y, st1, st2);
                fr_layernorm_backward(rows, d, x, gm, st1, st2, dy, dx, dg, db);
                break;
            case 1:
                fr_rmsnorm_forward(rows, d, x, gm, 1e-6f, y, st2);
                fr_rmsnorm_backward(rows, d, x, gm, st2, dy, dx, dg);
                break;
            case 2: fr_softmax_rows_forward(rows, d, x, y); fr_softmax_rows_backward(rows, d, y, dy, dx); break;
            case 3: fr_gelu_forward(n, FR_GELU_ERF, x, y); fr_gelu_backward(n, FR_GELU_TANH, x, dy, dx); break;
            case 4: fr_silu_forward(n, x, y); fr_silu_backward(n, x, dy, dx); break;
            case 5: fr_swiglu_forward(n, x, u, y); fr_swiglu_backward(n, x, u, dy, dx, du); break;
            default:
                fr_attention_forward(T, nh, kk == 6 ? nkv : nh, hd, 0.25f, q, kk == 6 ? k : q, kk == 6 ? v : ga,
                                     ya, lse, w);
                fr_attention_backward(T, nh, kk == 6 ? nkv : nh, hd, 0.25f, q, kk == 6 ? k : q,
                                      kk == 6 ? v : ga, ya, lse, ga, dq, dk, dv, w);
                break;
            }
        }
        free(w);
    }
    fr_par_set_threads(1);
    FR_CHECK(memcmp(out[0], out[1], per * 8 * sizeof(float)) == 0);
    FR_CHECK(memcmp(out[0], out[2], per * 8 * sizeof(float)) == 0);
    for (int i = 0; i < 3; i++) free(out[i]);
    free(x); free(u); free(gm); free(bt); free(dy); free(q); free(k); free(v); free(ga);
}

/* LM loss: the gradient against central differences of the loss itself; uniform logits give
 * log(vocab); ignored targets (< 0) count for nothing. */
static double g_xent_loss;
typedef struct xctx { int rows, vocab; float *logits; int32_t *tgt; } xctx;
static void xent_fwd(void *cv, float *y)
{
    xctx *c = cv;
    g_xent_loss = fr_lm_xent(c->rows, c->vocab, c->logits, c->tgt, NULL, NULL);
    y[0] = (float)g_xent_loss;
}

static void test_lm_xent(void)
{
    const int rows = 6, vocab = 11;
    int32_t tgt[6] = {3, 0, 10, -1, 7, 3};
    xctx c = {rows, vocab, fbuf((size_t)rows * vocab), tgt};
    float *d = fbuf((size_t)rows * vocab), y[1];
    fill_normal(c.logits, (size_t)rows * vocab, 2);
    int counted = 0;
    fr_lm_xent(rows, vocab, c.logits, tgt, d, &counted);
    FR_CHECK(counted == 5);
    for (int j = 0; j < vocab; j++) FR_CHECK(d[3 * vocab + j] == 0.0f);
    fd_prob p = {xent_fwd, &c, y, 1, NULL};
    GRADCHECK(&p, c.logits, (size_t)rows * vocab, d, 1e-3, "lm cross-entropy dlogits");
    for (int k = 0; k < rows * vocab; k++) c.logits[k] = 0.5f;
    FR_CHECK(fabs(fr_lm_xent(rows, vocab, c.logits, tgt, NULL, NULL) - log((double)vocab)) < 1e-6);
    int32_t none[6] = {-1, -1, -1, -1, -1, -1};
    FR_CHECK(fr_lm_xent(rows, vocab, c.logits, none, d, &counted) == 0.0 && counted == 0 && d[0] == 0.0f);
    free(c.logits); free(d);
}

int main(void)
{
    fr_rng_seed(&g_rng, 20261203);
    FR_RUN(test_norms_and_softmax);
    FR_RUN(test_activations);
    FR_RUN(test_rope);
    FR_RUN(test_attention);
    FR_RUN(test_embedding_and_bmm);
    FR_RUN(test_parts_consistent);
    FR_RUN(test_lm_xent);
    /* the gradient and reference checks again with the work split in 2 parts */
    fr_par_set_threads(2);
    FR_RUN(test_norms_and_softmax);
    FR_RUN(test_attention);
    fr_par_set_threads(1);
    return FR_REPORT();
}
