/* test_ops.c — known-answer and finite-difference gradient tests for src/engine/ops.c (the
 * checker and its error metric: fd_check.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fd_check.h"
#include "fr_test.h"
#include "frtui/common.h"
#include "frtui/ops.h"
#include "frtui/par.h"

#include <pthread.h>
#include <stdatomic.h>

/* Distinct values spaced `gap` apart in random order: no max-pool ties within FD steps. */
static void fill_distinct(float *p, size_t n, float gap)
{
    for (size_t i = 0; i < n; i++) p[i] = gap * ((float)i - 0.5f * (float)n);
    for (size_t i = n; i > 1; i--) {
        size_t j = fr_rng_below(&g_rng, (uint32_t)i);
        float t = p[i - 1]; p[i - 1] = p[j]; p[j] = t;
    }
}

/* ---- conv --------------------------------------------------------------------------------- */

typedef struct conv_cfg { int n, c, h, w, o, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, g; const char *name; } conv_cfg;

static const conv_cfg conv_cfgs[] = {
    {2, 3, 6, 7, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, "3x3 pad1"},
    {2, 3, 7, 7, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, "3x3 stride2"},
    {2, 2, 5, 6, 3, 3, 2, 1, 1, 2, 0, 1, 3, 1, 1, 1, "asym pad t2 l0 b1 r3"},
    {2, 2, 7, 7, 3, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1, "dilation 2"},
    {2, 2, 9, 8, 3, 3, 2, 2, 1, 1, 0, 2, 1, 2, 3, 1, "dilation 2x3 stride 2x1"},
    {2, 4, 6, 6, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2, "groups 2"},
    {2, 6, 5, 5, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 3, "groups 3 stride 2"},
    {2, 4, 7, 7, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 4, "depthwise 3x3"},
    {2, 3, 8, 9, 3, 5, 3, 2, 2, 1, 2, 2, 0, 2, 1, 3, "depthwise 5x3 s2 dil2x1 asym"},
    {3, 5, 6, 5, 5, 3, 3, 2, 1, 0, 1, 1, 0, 1, 1, 5, "depthwise s2x1"},
    {2, 3, 6, 6, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 3, "channel multiplier 2 (o=2c)"},
    {2, 4, 5, 5, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, "1x1 pointwise"},
    {2, 4, 5, 3, 6, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 2, "1x1 pointwise groups 2"},
    {2, 3, 6, 6, 4, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1, "1x1 stride 2"},
    {1, 2, 8, 8, 2, 2, 2, 3, 3, 0, 0, 0, 0, 1, 1, 1, "stride 3 > kernel"},
    {2, 2, 4, 5, 2, 2, 3, 1, 2, 3, 0, 0, 4, 1, 1, 1, "padding wider than kernel"},
    {2, 1, 5, 5, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, "single channel (depthwise path)"},
    {2, 4, 11, 10, 4, 3, 3, 3, 2, 2, 1, 0, 2, 2, 2, 4, "depthwise s3x2 dil2 (6 phases)"},
    {1, 2, 6, 6, 2, 7, 7, 1, 1, 3, 3, 3, 3, 1, 1, 2, "depthwise 7x7 pad3"},
    {8, 1, 22, 22, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, "depthwise N8 in sample chunks of 7"},
    {17, 2, 13, 12, 2, 3, 3, 2, 2, 1, 0, 1, 2, 1, 1, 2, "depthwise s2 N17 in chunks of 16"},
    {2, 3, 7, 8, 3, 3, 3, 1, 2, -1, 1, 0, -1, 1, 1, 3, "depthwise negative pad s1x2 (im2col path)"},
    {1, 3, 9, 9, 3, 3, 3, 1, 1, -1, 0, 1, -2, 1, 1, 3, "depthwise negative pad s1 (im2col path)"},
    {2, 2, 6, 6, 3, 3, 3, 1, 1, -1, 1, 0, 1, 1, 1, 1, "negative pad (crop), im2col"},
};
#define N_CONV_CFGS (sizeof conv_cfgs / sizeof conv_cfgs[0])

static fr_conv_shape shape_of(const conv_cfg *k)
{
    fr_conv_shape s = {k->n, k->c, k->h, k->w, k->o, k->kh, k->kw, k->sh, k->sw,
                       k->pt, k->pl, k->pb, k->pr, k->dh, k->dw, k->g, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, NULL, NULL};
    FR_ASSERT(fr_conv_out_shape(&s));
    return s;
}

static void conv_ref(const fr_conv_shape *s, const float *x, const float *W, const float *b, float *y)
{
    int cg = s->c / s->groups, og = s->o / s->groups;
    for (int n = 0; n < s->n; n++)
        for (int oc = 0; oc < s->o; oc++) {
            int g = oc / og;
            for (int oy = 0; oy < s->oh; oy++)
                for (int ox = 0; ox < s->ow; ox++) {
                    double acc = b ? b[oc] : 0.0;
                    for (int ci = 0; ci < cg; ci++)
                        for (int ki = 0; ki < s->kh; ki++)
                            for (int kj = 0; kj < s->kw; kj++) {
                                int iy = oy * s->sh - s->pt + ki * s->dh, ix = ox * s->sw - s->pl + kj * s->dw;
                                if (iy < 0 || iy >= s->h || ix < 0 || ix >= s->w) continue;
                                acc += (double)x[(((size_t)n * s->c + g * cg + ci) * s->h + iy) * s->w + ix] *
                                       W[(((size_t)oc * cg + ci) * s->kh + ki) * s->kw + kj];
                            }
                    y[(((size_t)n * s->o + oc) * s->oh + oy) * s->ow + ox] = (float)acc;
                }
        }
}

typedef struct conv_ctx {
    fr_conv_shape s;
    float *x, *W, *b, *scratch;
} conv_ctx;

static void conv_fwd(void *ctx, float *y)
{
    conv_ctx *c = ctx;
    fr_conv_forward(&c->s, c->x, c->W, c->b, y, c->scratch);
}

static void test_conv_shape(void)
{
    fr_conv_shape s = {1, 1, 7, 7, 1, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, NULL, NULL};
    FR_CHECK(fr_conv_out_shape(&s) && s.oh == 4 && s.ow == 4);
    s.dh = s.dw = 3;   /* effective kernel 7, padded 9: (9-7)/2+1 = 2 */
    FR_CHECK(fr_conv_out_shape(&s) && s.oh == 2 && s.ow == 2);
    s.pt = 0; s.pb = 0; s.kh = 5;   /* effective 13 > 7 */
    FR_CHECK(fr_conv_out_shape(&s) == 0);
    fr_conv_shape z = {1, 1, 4, 4, 1, 3, 3, 0, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, NULL, NULL};
    FR_CHECK(fr_conv_out_shape(&z) == 0);   /* stride 0 is refused, not divided by */
    fr_conv_shape a = {2, 4, 5, 5, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, NULL, NULL};
    FR_CHECK(fr_conv_out_shape(&a) && a.oh == 5 && a.ow == 5);
    FR_CHECK_NEAR(fr_conv_flops(&a), 2.0 * 2 * 8 * 25 * 2 * 9, 1e-12);
    FR_CHECK(fr_conv_scratch(&a) >= (size_t)2 * 9 * 25);
    fr_conv_shape p = {2, 4, 5, 5, 8, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, NULL, NULL};
    FR_CHECK(fr_conv_out_shape(&p) && fr_conv_scratch(&p) >= 1);
}

static void test_conv_forward_known(void)
{
    for (size_t t = 0; t < N_CONV_CFGS; t++) {
        fr_conv_shape s = shape_of(&conv_cfgs[t]);
        size_t nx = (size_t)s.n * s.c * s.h * s.w, nw = (size_t)s.o * (s.c / s.groups) * s.kh * s.kw;
        size_t ny = (size_t)s.n * s.o * s.oh * s.ow;
        float *x = fbuf(nx), *W = fbuf(nw), *b = fbuf(s.o), *y = fbuf(ny), *yr = fbuf(ny);
        float *scr = fbuf(fr_conv_scratch(&s));
        fill_normal(x, nx, 1); fill_normal(W, nw, 0.5f); fill_normal(b, s.o, 1);
        for (int withb = 0; withb < 2; withb++) {
            for (size_t i = 0; i < ny; i++) y[i] = NAN;
            fr_conv_forward(&s, x, W, withb ? b : NULL, y, scr);
            conv_ref(&s, x, W, withb ? b : NULL, yr);
            double d = max_abs_diff(y, yr, ny);
            FR_CHECKF(d < 1e-4, "%s bias=%d: max |diff| %.3g", conv_cfgs[t].name, withb, d);
        }
        free(x); free(W); free(b); free(y); free(yr); free(scr);
    }
}

static void test_conv_backward_fd(void)
{
    for (size_t t = 0; t < N_CONV_CFGS; t++) {
        conv_ctx c = {.s = shape_of(&conv_cfgs[t])};
        fr_conv_shape *s = &c.s;
        size_t nx = (size_t)s->n * s->c * s->h * s->w, nw = (size_t)s->o * (s->c / s->groups) * s->kh * s->kw;
        size_t ny = (size_t)s->n * s->o * s->oh * s->ow;
        c.x = fbuf(nx); c.W = fbuf(nw); c.b = fbuf(s->o); c.scratch = fbuf(fr_conv_scratch(s));
        float *y = fbuf(ny), *r = fbuf(ny), *dx = fbuf(nx), *dW = fbuf(nw), *db = fbuf(s->o);
        fill_normal(c.x, nx, 1); fill_normal(c.W, nw, 0.5f); fill_normal(c.b, s->o, 1); fill_normal(r, ny, 1);
        fr_conv_backward(s, c.x, c.W, r, dx, dW, db, c.scratch);
        FR_CHECKF(all_finite(dx, nx) && all_finite(dW, nw) && all_finite(db, s->o), "%s: unwritten grads",
                  conv_cfgs[t].name);
        fd_prob p = {conv_fwd, &c, y, ny, r};
        char what[160];
        snprintf(what, sizeof what, "%s dx", conv_cfgs[t].name);
        GRADCHECK(&p, c.x, nx, dx, FD_EPS, what);
        snprintf(what, sizeof what, "%s dW", conv_cfgs[t].name);
        GRADCHECK(&p, c.W, nw, dW, FD_EPS, what);
        snprintf(what, sizeof what, "%s db", conv_cfgs[t].name);
        GRADCHECK(&p, c.b, (size_t)s->o, db, FD_EPS, what);

        /* Optional outputs: NULL dx / db must leave dW identical; NULL dW must leave dx. */
        float *dW2 = fbuf(nw), *dx2 = fbuf(nx);
        fr_conv_backward(s, c.x, c.W, r, NULL, dW2, NULL, c.scratch);
        fr_conv_backward(s, c.x, c.W, r, dx2, NULL, NULL, c.scratch);
        FR_CHECKF(max_abs_diff(dW, dW2, nw) == 0 && max_abs_diff(dx, dx2, nx) == 0,
                  "%s: NULL outputs change results", conv_cfgs[t].name);
        free(dW2); free(dx2);
        free(c.x); free(c.W); free(c.b); free(c.scratch); free(y); free(r); free(dx); free(dW); free(db);
    }
}

/* An activation folded into a depthwise conv (s.act, used by exec.c) gives the bits of the
 * separate passes: y = conv(act(x)); dW, db of that; dx = act'(x) * (conv's dx).  Every shape of
 * the table that the fold accepts, with inputs on the kinks (0, the Clip bounds) included. */
static void test_conv_fold_act(void)
{
    int tried = 0;
    for (size_t t = 0; t < N_CONV_CFGS; t++) {
        fr_conv_shape s = shape_of(&conv_cfgs[t]);
        if (!fr_conv_can_fold_act(&s)) continue;
        for (int a = 0; a < 3; a++) {
            const float lo = a == 2 ? 0.5f : 0.0f, hi = a == 2 ? 2.0f : 6.0f;
            size_t nx = (size_t)s.n * s.c * s.h * s.w, nw = (size_t)s.o * (s.c / s.groups) * s.kh * s.kw;
            size_t ny = (size_t)s.n * s.o * s.oh * s.ow;
            float *x = fbuf(nx), *ax = fbuf(nx), *W = fbuf(nw), *b = fbuf(s.o), *sc = fbuf(fr_conv_scratch(&s));
            float *y1 = fbuf(ny), *y2 = fbuf(ny), *dy = fbuf(ny), *dx1 = fbuf(nx), *dx2 = fbuf(nx), *dxr = fbuf(nx);
            float *dW1 = fbuf(nw), *dW2 = fbuf(nw), *db1 = fbuf(s.o), *db2 = fbuf(s.o);
            fill_normal(x, nx, 4); fill_normal(W, nw, 0.5f); fill_normal(b, s.o, 1); fill_normal(dy, ny, 1);
            for (size_t i = 0; i < nx; i += 5) x[i] = (i / 5) % 3 == 0 ? 0.0f : (i / 5) % 3 == 1 ? lo : hi;
            if (a == 0) fr_relu_forward(nx, x, ax);
            else fr_clip_forward(nx, x, lo, hi, ax);
            fr_conv_forward(&s, ax, W, b, y1, sc);
            fr_conv_backward(&s, ax, W, dy, dxr, dW1, db1, sc);
            if (a == 0) fr_relu_backward(nx, x, dxr, dx1);
            else fr_clip_backward(nx, x, lo, hi, dxr, dx1);
            fr_conv_shape f = s;
            f.act = a == 0 ? FR_CONV_ACT_RELU : FR_CONV_ACT_CLIP;
            f.act_lo = lo; f.act_hi = hi;
            fr_conv_forward(&f, x, W, b, y2, sc);
            fr_conv_backward(&f, x, W, dy, dx2, dW2, db2, sc);
            FR_CHECKF(!memcmp(y1, y2, ny * sizeof(float)) && !memcmp(dx1, dx2, nx * sizeof(float)) &&
                      !memcmp(dW1, dW2, nw * sizeof(float)) && !memcmp(db1, db2, (size_t)s.o * sizeof(float)),
                      "%s, activation %d: folded result differs", conv_cfgs[t].name, a);
            tried++;
            free(x); free(ax); free(W); free(b); free(sc); free(y1); free(y2); free(dy); free(dx1); free(dx2);
            free(dxr); free(dW1); free(dW2); free(db1); free(db2);
        }
    }
    FR_CHECKF(tried >= 24, "only %d folded cases", tried);
}

/* The checker must reject (a) a gradient off by 5% everywhere and (b) one dropped entry. */
static void test_gradcheck_sensitivity(void)
{
    conv_ctx c = {.s = shape_of(&conv_cfgs[2])};
    fr_conv_shape *s = &c.s;
    size_t nx = (size_t)s->n * s->c * s->h * s->w, nw = (size_t)s->o * (s->c / s->groups) * s->kh * s->kw;
    size_t ny = (size_t)s->n * s->o * s->oh * s->ow;
    c.x = fbuf(nx); c.W = fbuf(nw); c.b = NULL; c.scratch = fbuf(fr_conv_scratch(s));
    float *y = fbuf(ny), *r = fbuf(ny), *dx = fbuf(nx), *dW = fbuf(nw);
    fill_normal(c.x, nx, 1); fill_normal(c.W, nw, 0.5f); fill_normal(r, ny, 1);
    fr_conv_backward(s, c.x, c.W, r, dx, dW, NULL, c.scratch);
    fd_prob p = {conv_fwd, &c, y, ny, r};
    double e0 = fd_error(&p, c.W, nw, dW, FD_EPS, NULL);
    for (size_t i = 0; i < nw; i++) dW[i] *= 1.05f;
    double e1 = fd_error(&p, c.W, nw, dW, FD_EPS, NULL);
    for (size_t i = 0; i < nw; i++) dW[i] /= 1.05f;
    size_t imax = 0;
    for (size_t i = 0; i < nw; i++) if (fabsf(dW[i]) > fabsf(dW[imax])) imax = i;
    dW[imax / 2] = 0;   /* a typical, not the largest, entry */
    double e2 = fd_error(&p, c.W, nw, dW, FD_EPS, NULL);
    /* Padding-blind dx: the classic bug of forgetting border taps. */
    float *bad = fbuf(nx);
    memcpy(bad, dx, nx * sizeof(float));
    for (int i = 0; i < s->w; i++) bad[i] = 0;   /* first row of sample 0, channel 0 */
    double e3 = fd_error(&p, c.x, nx, bad, FD_EPS, NULL);
    FR_CHECKF(e0 < FD_TOL / 10, "true gradient should sit far below tolerance: %.3g", e0);
    FR_CHECKF(e1 > FD_TOL, "5%% scaled gradient not caught: %.3g", e1);
    FR_CHECKF(e2 > FD_TOL, "dropped entry not caught: %.3g", e2);
    FR_CHECKF(e3 > FD_TOL, "zeroed border row not caught: %.3g", e3);
    free(bad); free(c.x); free(c.W); free(c.scratch); free(y); free(r); free(dx); free(dW);
}

/* dW must be overwritten, not accumulated, and repeated calls must agree bit-for-bit. */
static void test_conv_overwrite_and_repeat(void)
{
    fr_conv_shape s = shape_of(&conv_cfgs[5]);
    size_t nx = (size_t)s.n * s.c * s.h * s.w, nw = (size_t)s.o * (s.c / s.groups) * s.kh * s.kw;
    size_t ny = (size_t)s.n * s.o * s.oh * s.ow;
    float *x = fbuf(nx), *W = fbuf(nw), *dy = fbuf(ny), *scr = fbuf(fr_conv_scratch(&s));
    float *dW1 = fbuf(nw), *dW2 = fbuf(nw), *db1 = fbuf(s.o), *db2 = fbuf(s.o);
    fill_normal(x, nx, 1); fill_normal(W, nw, 1); fill_normal(dy, ny, 1);
    fr_conv_backward(&s, x, W, dy, NULL, dW1, db1, scr);
    for (size_t i = 0; i < nw; i++) dW2[i] = 1e6f;
    for (int i = 0; i < s.o; i++) db2[i] = 1e6f;
    fr_conv_backward(&s, x, W, dy, NULL, dW2, db2, scr);
    FR_CHECK(max_abs_diff(dW1, dW2, nw) == 0 && max_abs_diff(db1, db2, s.o) == 0);
    free(x); free(W); free(dy); free(scr); free(dW1); free(dW2); free(db1); free(db2);
}

/* ---- linear ------------------------------------------------------------------------------- */

typedef struct lin_ctx { int n, in, out; float *x, *W, *b; } lin_ctx;

static void lin_fwd(void *ctx, float *y)
{
    lin_ctx *c = ctx;
    fr_linear_forward(c->n, c->in, c->out, c->x, c->W, c->b, y);
}

static void test_linear(void)
{
    lin_ctx c = {3, 7, 5, NULL, NULL, NULL};
    size_t nx = (size_t)c.n * c.in, nw = (size_t)c.out * c.in, ny = (size_t)c.n * c.out;
    c.x = fbuf(nx); c.W = fbuf(nw); c.b = fbuf(c.out);
    float *y = fbuf(ny), *r = fbuf(ny), *dx = fbuf(nx), *dW = fbuf(nw), *db = fbuf(c.out);
    fill_normal(c.x, nx, 1); fill_normal(c.W, nw, 1); fill_normal(c.b, c.out, 1); fill_normal(r, ny, 1);
    lin_fwd(&c, y);
    double d = 0;
    for (int i = 0; i < c.n; i++)
        for (int j = 0; j < c.out; j++) {
            double acc = c.b[j];
            for (int k = 0; k < c.in; k++) acc += (double)c.x[i * c.in + k] * c.W[j * c.in + k];
            d = fmax(d, fabs(acc - y[i * c.out + j]));
        }
    FR_CHECKF(d < 1e-5, "linear forward max |diff| %.3g", d);
    fr_linear_backward(c.n, c.in, c.out, c.x, c.W, r, dx, dW, db);
    fd_prob p = {lin_fwd, &c, y, ny, r};
    GRADCHECK(&p, c.x, nx, dx, FD_EPS, "linear dx");
    GRADCHECK(&p, c.W, nw, dW, FD_EPS, "linear dW");
    GRADCHECK(&p, c.b, (size_t)c.out, db, FD_EPS, "linear db");
    /* Tiny hand case: x = [1 2], W = [[1 0], [1 -1]], b = [0.5 0]  ->  y = [1.5, -1]. */
    float hx[2] = {1, 2}, hW[4] = {1, 0, 1, -1}, hb[2] = {0.5f, 0}, hy[2];
    fr_linear_forward(1, 2, 2, hx, hW, hb, hy);
    FR_CHECK(hy[0] == 1.5f && hy[1] == -1.0f);
    /* Each output is optional and leaves the others bit-identical. */
    float *dx2 = fbuf(nx), *dW2 = fbuf(nw), *db2 = fbuf(c.out);
    fr_linear_backward(c.n, c.in, c.out, c.x, c.W, r, dx2, NULL, NULL);
    fr_linear_backward(c.n, c.in, c.out, c.x, c.W, r, NULL, dW2, db2);
    FR_CHECK(max_abs_diff(dx, dx2, nx) == 0 && max_abs_diff(dW, dW2, nw) == 0 && max_abs_diff(db, db2, c.out) == 0);
    free(dx2); free(dW2); free(db2);
    free(c.x); free(c.W); free(c.b); free(y); free(r); free(dx); free(dW); free(db);
}

/* ---- activations -------------------------------------------------------------------------- */

enum { ACT_RELU, ACT_RELU6, ACT_CLIP, ACT_SIGMOID, ACT_HSIG, ACT_HSIG6, ACT_HSWISH, ACT_N };
static const char *act_names[ACT_N] = {"relu", "relu6", "clip[-1.5,2]", "sigmoid",
                                       "hardsigmoid(0.2,0.5)", "hardsigmoid(1/6,0.5)", "hardswish"};

typedef struct act_ctx { int kind; size_t n; float *x; } act_ctx;

static void act_fwd(void *ctx, float *y)
{
    act_ctx *c = ctx;
    switch (c->kind) {
    case ACT_RELU: fr_relu_forward(c->n, c->x, y); break;
    case ACT_RELU6: fr_relu6_forward(c->n, c->x, y); break;
    case ACT_CLIP: fr_clip_forward(c->n, c->x, -1.5f, 2.0f, y); break;
    case ACT_SIGMOID: fr_sigmoid_forward(c->n, c->x, y); break;
    case ACT_HSIG: fr_hardsigmoid_forward(c->n, c->x, 0.2f, 0.5f, y); break;
    case ACT_HSIG6: fr_hardsigmoid_forward(c->n, c->x, 1.0f / 6, 0.5f, y); break;
    case ACT_HSWISH: fr_hardswish_forward(c->n, c->x, y); break;
    }
}

static void act_bwd(act_ctx *c, const float *y, const float *dy, float *dx)
{
    switch (c->kind) {
    case ACT_RELU: fr_relu_backward(c->n, c->x, dy, dx); break;
    case ACT_RELU6: fr_relu6_backward(c->n, c->x, dy, dx); break;
    case ACT_CLIP: fr_clip_backward(c->n, c->x, -1.5f, 2.0f, dy, dx); break;
    case ACT_SIGMOID: fr_sigmoid_backward(c->n, y, dy, dx); break;
    case ACT_HSIG: fr_hardsigmoid_backward(c->n, c->x, 0.2f, 0.5f, dy, dx); break;
    case ACT_HSIG6: fr_hardsigmoid_backward(c->n, c->x, 1.0f / 6, 0.5f, dy, dx); break;
    case ACT_HSWISH: fr_hardswish_backward(c->n, c->x, dy, dx); break;
    }
}

static void test_activations_fd(void)
{
    /* Every kink of every activation above; inputs are pushed >= 0.05 (5 eps) away. */
    static const float kinks[] = {0, 6, -3, 3, -1.5f, 2, -2.5f, 2.5f};
    const size_t n = 203;   /* odd: exercises vector-loop tails */
    for (int k = 0; k < ACT_N; k++) {
        act_ctx c = {k, n, fbuf(n)};
        float *y = fbuf(n), *r = fbuf(n), *dx = fbuf(n);
        fill_uniform(c.x, n, -8, 8);
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < sizeof kinks / sizeof kinks[0]; j++)
                if (fabsf(c.x[i] - kinks[j]) < 0.05f) c.x[i] = kinks[j] + (c.x[i] < kinks[j] ? -0.1f : 0.1f);
        fill_normal(r, n, 1);
        act_fwd(&c, y);
        act_bwd(&c, y, r, dx);
        fd_prob p = {act_fwd, &c, y, n, r};
        GRADCHECK(&p, c.x, n, dx, FD_EPS, act_names[k]);
        free(c.x); free(y); free(r); free(dx);
    }
}

static void test_activations_known(void)
{
    float x[9] = {-4, -3, -1, 0, 0.5f, 3, 6, 7, NAN}, y[9], dx[9];
    float one[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    fr_relu_forward(9, x, y);
    FR_CHECK(y[0] == 0 && y[3] == 0 && y[4] == 0.5f && y[7] == 7 && isnan(y[8]));
    fr_relu_backward(8, x, one, dx);
    FR_CHECK(dx[2] == 0 && dx[3] == 0 && dx[4] == 1);   /* zero at x == 0, like PyTorch */
    fr_relu6_forward(9, x, y);
    FR_CHECK(y[0] == 0 && y[5] == 3 && y[6] == 6 && y[7] == 6 && isnan(y[8]));
    fr_relu6_backward(8, x, one, dx);
    FR_CHECK(dx[2] == 0 && dx[3] == 1 && dx[6] == 1 && dx[7] == 0);   /* closed [0,6]: clamp */
    fr_clip_backward(8, x, -1, 3, one, dx);
    FR_CHECK(dx[1] == 0 && dx[2] == 1 && dx[5] == 1 && dx[6] == 0);
    fr_hardswish_forward(8, x, y);
    FR_CHECK(y[0] == 0 && y[1] == 0 && y[5] == 3 && y[7] == 7);
    FR_CHECK_NEAR(y[4], 0.5 * 3.5 / 6, 1e-7);
    fr_hardswish_backward(8, x, one, dx);
    FR_CHECK(dx[0] == 0 && dx[1] == -0.5f && dx[5] == 1.5f && dx[7] == 1);
    fr_hardsigmoid_forward(8, x, 0.2f, 0.5f, y);
    FR_CHECK(y[0] == 0 && y[3] == 0.5f && y[7] == 1);
    float big[4] = {-200, -80, 80, 200}, s[4];
    fr_sigmoid_forward(4, big, s);
    FR_CHECK(all_finite(s, 4) && s[0] >= 0 && s[0] < 1e-30f && s[3] == 1.0f);
}

/* ---- pooling ------------------------------------------------------------------------------ */

static fr_conv_shape pool_shape(int n, int c, int h, int w, int k, int st, int pt, int pl, int pb, int pr)
{
    fr_conv_shape s = {n, c, h, w, c, k, k, st, st, pt, pl, pb, pr, 1, 1, c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, NULL, NULL};
    FR_ASSERT(fr_conv_out_shape(&s));
    return s;
}

static void test_pool_known(void)
{
    float x[16], y[4], dy[4] = {1, 2, 3, 4}, dx[16];
    for (int i = 0; i < 16; i++) x[i] = (float)(i + 1);
    fr_conv_shape s = pool_shape(1, 1, 4, 4, 2, 2, 0, 0, 0, 0);
    fr_maxpool_forward(&s, x, y);
    FR_CHECK(y[0] == 6 && y[1] == 8 && y[2] == 14 && y[3] == 16);
    fr_avgpool_forward(&s, 1, x, y);
    FR_CHECK(y[0] == 3.5f && y[1] == 5.5f && y[2] == 11.5f && y[3] == 13.5f);
    fr_maxpool_backward(&s, x, dy, dx);
    FR_CHECK(dx[5] == 1 && dx[7] == 2 && dx[13] == 3 && dx[15] == 4 && dx[0] == 0 && dx[14] == 0);

    /* k3 s2 p1 on 4x4: window sums 14, 30, 57, 99 over 4, 6, 6, 9 real cells. */
    s = pool_shape(1, 1, 4, 4, 3, 2, 1, 1, 1, 1);
    FR_CHECK(s.oh == 2 && s.ow == 2);
    fr_avgpool_forward(&s, 1, x, y);
    FR_CHECK_NEAR(y[0], 14.0 / 9, 1e-6); FR_CHECK_NEAR(y[1], 30.0 / 9, 1e-6);
    FR_CHECK_NEAR(y[2], 57.0 / 9, 1e-6); FR_CHECK_NEAR(y[3], 11.0, 1e-6);
    fr_avgpool_forward(&s, 0, x, y);
    FR_CHECK_NEAR(y[0], 3.5, 1e-6); FR_CHECK_NEAR(y[1], 5.0, 1e-6);
    FR_CHECK_NEAR(y[2], 9.5, 1e-6); FR_CHECK_NEAR(y[3], 11.0, 1e-6);
    fr_maxpool_forward(&s, x, y);
    FR_CHECK(y[0] == 6 && y[1] == 8 && y[2] == 14 && y[3] == 16);
    fr_avgpool_backward(&s, 0, dy, dx);   /* dx[0] only in window 0 (4 cells) */
    FR_CHECK_NEAR(dx[0], 0.25, 1e-7);
    FR_CHECK_NEAR(dx[5], 1.0 / 4 + 2.0 / 6 + 3.0 / 6 + 4.0 / 9, 1e-6);

    /* Padding is -inf, not 0: an all-negative input must not produce 0. */
    float neg[16];
    for (int i = 0; i < 16; i++) neg[i] = -(float)(i + 1);
    fr_maxpool_forward(&s, neg, y);
    FR_CHECK(y[0] == -1 && y[1] == -2 && y[2] == -5 && y[3] == -6);

    /* Ties route to the first maximum in row-major window order. */
    float flat[16];
    for (int i = 0; i < 16; i++) flat[i] = 2;
    fr_maxpool_backward(&s, flat, dy, dx);
    /* window (0,0) starts at (-1,-1): first real cell (0,0); (0,1): (0,1); (1,0): (1,0); (1,1): (1,1). */
    FR_CHECK(dx[0] == 1 && dx[1] == 2 && dx[4] == 3 && dx[5] == 4);
    float tot = 0;
    for (int i = 0; i < 16; i++) tot += dx[i];
    FR_CHECK(tot == 10);

    /* A window made only of padding: max gives -inf and no gradient, avg gives 0. */
    fr_conv_shape e = pool_shape(1, 1, 2, 2, 1, 1, 1, 0, 0, 0);
    FR_CHECK(e.oh == 3 && e.ow == 2);
    float ex[4] = {1, 2, 3, 4}, ey[6], edy[6] = {1, 1, 1, 1, 1, 1}, edx[4];
    fr_maxpool_forward(&e, ex, ey);
    FR_CHECK(isinf(ey[0]) && ey[0] < 0 && isinf(ey[1]) && ey[2] == 1 && ey[5] == 4);
    fr_maxpool_backward(&e, ex, edy, edx);
    FR_CHECK(edx[0] == 1 && edx[1] == 1 && edx[2] == 1 && edx[3] == 1);
    fr_avgpool_forward(&e, 0, ex, ey);
    FR_CHECK(ey[0] == 0 && ey[1] == 0 && ey[2] == 1 && ey[5] == 4);
    fr_avgpool_forward(&e, 1, ex, ey);
    FR_CHECK(ey[0] == 0 && ey[2] == 1);
}

typedef struct pool_ctx { fr_conv_shape s; int kind; float *x; } pool_ctx;   /* kind: 0 max, 1/2 avg incl/excl */

static void pool_fwd(void *ctx, float *y)
{
    pool_ctx *c = ctx;
    if (c->kind == 0) fr_maxpool_forward(&c->s, c->x, y);
    else fr_avgpool_forward(&c->s, c->kind == 1, c->x, y);
}

static void test_pool_fd(void)
{
    struct { int h, w, k, st, pt, pl, pb, pr; } cf[] = {
        {7, 7, 3, 2, 1, 1, 1, 1}, {6, 6, 2, 2, 0, 0, 0, 0}, {5, 6, 3, 1, 0, 1, 2, 1}, {8, 7, 3, 3, 1, 0, 1, 2},
    };
    for (size_t t = 0; t < sizeof cf / sizeof cf[0]; t++)
        for (int kind = 0; kind < 3; kind++) {
            pool_ctx c = {pool_shape(2, 3, cf[t].h, cf[t].w, cf[t].k, cf[t].st, cf[t].pt, cf[t].pl, cf[t].pb, cf[t].pr),
                          kind, NULL};
            size_t nx = (size_t)2 * 3 * cf[t].h * cf[t].w, ny = (size_t)2 * 3 * c.s.oh * c.s.ow;
            c.x = fbuf(nx);
            float *y = fbuf(ny), *r = fbuf(ny), *dx = fbuf(nx);
            if (kind == 0) fill_distinct(c.x, nx, 0.1f);   /* gaps 10x the FD step: no tie can flip */
            else fill_normal(c.x, nx, 1);
            fill_normal(r, ny, 1);
            if (kind == 0) fr_maxpool_backward(&c.s, c.x, r, dx);
            else fr_avgpool_backward(&c.s, kind == 1, r, dx);
            fd_prob p = {pool_fwd, &c, y, ny, r};
            char what[96];
            snprintf(what, sizeof what, "%s pool cfg %zu", kind == 0 ? "max" : kind == 1 ? "avg incl-pad" : "avg excl-pad", t);
            GRADCHECK(&p, c.x, nx, dx, FD_EPS, what);
            free(c.x); free(y); free(r); free(dx);
        }
}

typedef struct gap_ctx { int n, c, hw; float *x; } gap_ctx;

static void gap_fwd(void *ctx, float *y)
{
    gap_ctx *c = ctx;
    fr_gap_forward(c->n, c->c, c->hw, c->x, y);
}

static void test_gap(void)
{
    gap_ctx c = {2, 3, 10, NULL};
    size_t nx = 60, ny = 6;
    c.x = fbuf(nx);
    float *y = fbuf(ny), *r = fbuf(ny), *dx = fbuf(nx);
    for (size_t i = 0; i < nx; i++) c.x[i] = (float)i;
    gap_fwd(&c, y);
    FR_CHECK(y[0] == 4.5f && y[5] == 54.5f);
    fill_normal(c.x, nx, 1); fill_normal(r, ny, 1);
    fr_gap_backward(c.n, c.c, c.hw, r, dx);
    fd_prob p = {gap_fwd, &c, y, ny, r};
    GRADCHECK(&p, c.x, nx, dx, FD_EPS, "gap dx");
    free(c.x); free(y); free(r); free(dx);
}

/* ---- batch norm --------------------------------------------------------------------------- */

typedef struct bn_ctx { int n, c, hw, train; float *x, *gamma, *beta, *mean, *var; } bn_ctx;

static void bn_fwd(void *ctx, float *y)
{
    bn_ctx *b = ctx;
    if (b->train) fr_bn_train_forward(b->n, b->c, b->hw, b->x, b->gamma, b->beta, NULL, NULL, 0.1f, 1e-5f, y, NULL, NULL, NULL);
    else fr_bn_infer_forward(b->n, b->c, b->hw, b->x, b->gamma, b->beta, b->mean, b->var, 1e-5f, y);
}

static void test_bn_infer(void)
{
    bn_ctx b = {3, 4, 5, 0, NULL, NULL, NULL, NULL, NULL};
    size_t nx = 60;
    b.x = fbuf(nx); b.gamma = fbuf(4); b.beta = fbuf(4); b.mean = fbuf(4); b.var = fbuf(4);
    float *y = fbuf(nx), *r = fbuf(nx), *dx = fbuf(nx);
    fill_normal(b.x, nx, 2); fill_normal(b.gamma, 4, 1); fill_normal(b.beta, 4, 1); fill_normal(b.mean, 4, 1);
    fill_uniform(b.var, 4, 0.2f, 3); fill_normal(r, nx, 1);
    bn_fwd(&b, y);
    double d = 0;
    for (int i = 0; i < 3; i++)
        for (int ch = 0; ch < 4; ch++)
            for (int k = 0; k < 5; k++) {
                size_t o = ((size_t)i * 4 + ch) * 5 + k;
                double ref = b.gamma[ch] * (b.x[o] - b.mean[ch]) / sqrt(b.var[ch] + 1e-5) + b.beta[ch];
                d = fmax(d, fabs(ref - y[o]));
            }
    FR_CHECKF(d < 1e-5, "bn infer forward max |diff| %.3g", d);
    fr_bn_infer_backward(3, 4, 5, b.gamma, b.var, 1e-5f, r, dx);
    fd_prob p = {bn_fwd, &b, y, nx, r};
    GRADCHECK(&p, b.x, nx, dx, FD_EPS, "bn infer dx");
    free(b.x); free(b.gamma); free(b.beta); free(b.mean); free(b.var); free(y); free(r); free(dx);
}

static void test_bn_train(void)
{
    bn_ctx b = {4, 3, 6, 1, NULL, NULL, NULL, NULL, NULL};
    const size_t nx = 72, M = 24;
    b.x = fbuf(nx); b.gamma = fbuf(3); b.beta = fbuf(3);
    float *y = fbuf(nx), *r = fbuf(nx), *dx = fbuf(nx), *xh = fbuf(nx), *bm = fbuf(3), *bi = fbuf(3);
    float *dg = fbuf(3), *dbt = fbuf(3), rm[3] = {0.5f, -1, 2}, rv[3] = {1, 2, 0.5f};
    fill_normal(b.x, nx, 2);
    for (size_t i = 0; i < nx; i++) b.x[i] += 3;   /* a mean far from 0 stresses the variance */
    fill_normal(b.gamma, 3, 1); fill_normal(b.beta, 3, 1); fill_normal(r, nx, 1);
    fr_bn_train_forward(4, 3, 6, b.x, b.gamma, b.beta, rm, rv, 0.1f, 1e-5f, y, xh, bm, bi);
    for (int ch = 0; ch < 3; ch++) {
        double mu = 0, v = 0;
        for (int i = 0; i < 4; i++) for (int k = 0; k < 6; k++) mu += b.x[(i * 3 + ch) * 6 + k];
        mu /= M;
        for (int i = 0; i < 4; i++) for (int k = 0; k < 6; k++) { double t = b.x[(i * 3 + ch) * 6 + k] - mu; v += t * t; }
        double var_b = v / M, var_u = v / (M - 1);
        static const float rm0[3] = {0.5f, -1, 2}, rv0[3] = {1, 2, 0.5f};
        FR_CHECK_NEAR(bm[ch], mu, 1e-6);
        FR_CHECK_NEAR(bi[ch], 1 / sqrt(var_b + 1e-5), 1e-5);
        FR_CHECK_NEAR(rm[ch], 0.9 * rm0[ch] + 0.1 * mu, 1e-6);
        FR_CHECK_NEAR(rv[ch], 0.9 * rv0[ch] + 0.1 * var_u, 1e-6);   /* unbiased, like PyTorch */
        double hm = 0, hv = 0;
        for (int i = 0; i < 4; i++) for (int k = 0; k < 6; k++) { double h = xh[(i * 3 + ch) * 6 + k]; hm += h; hv += h * h; }
        FR_CHECK_NEAR(hm / M, 0, 1e-5);
        FR_CHECK_NEAR(hv / M, 1, 1e-3);   /* eps shifts it by ~eps/var */
    }
    fr_bn_train_backward(4, 3, 6, b.gamma, xh, bi, r, dx, dg, dbt);
    fd_prob p = {bn_fwd, &b, y, nx, r};
    GRADCHECK(&p, b.x, nx, dx, FD_EPS, "bn train dx");
    GRADCHECK(&p, b.gamma, 3, dg, FD_EPS, "bn train dgamma");
    GRADCHECK(&p, b.beta, 3, dbt, FD_EPS, "bn train dbeta");
    /* dx of batch-stat BN sums to zero per channel (shift invariance). */
    double s0 = 0;
    for (int i = 0; i < 4; i++) for (int k = 0; k < 6; k++) s0 += dx[(i * 3 + 1) * 6 + k];
    FR_CHECK_NEAR(s0, 0, 1e-4);
    /* Optional outputs: NULL xhat/stats/running buffers give the same y; NULL dgamma/dbeta the same dx. */
    float *y2 = fbuf(nx), *dx2 = fbuf(nx);
    fr_bn_train_forward(4, 3, 6, b.x, b.gamma, b.beta, NULL, NULL, 0.1f, 1e-5f, y2, NULL, NULL, NULL);
    fr_bn_train_forward(4, 3, 6, b.x, b.gamma, b.beta, NULL, NULL, 0.1f, 1e-5f, y, xh, bm, bi);
    fr_bn_train_backward(4, 3, 6, b.gamma, xh, bi, r, dx2, NULL, NULL);
    FR_CHECK(max_abs_diff(y, y2, nx) < 1e-5 && max_abs_diff(dx, dx2, nx) == 0);   /* FMA contraction may differ */
    free(y2); free(dx2);
    free(b.x); free(b.gamma); free(b.beta); free(y); free(r); free(dx); free(xh); free(bm); free(bi); free(dg); free(dbt);
}

/* ---- softmax / cross-entropy -------------------------------------------------------------- */

typedef struct xent_ctx { int n, c; float *l; const int32_t *lab; } xent_ctx;

static void xent_fwd(void *ctx, float *y)
{
    xent_ctx *x = ctx;
    y[0] = fr_softmax_xent(x->n, x->c, x->l, x->lab, NULL);
}

static void test_softmax_xent(void)
{
    float l[6] = {1, 2, 3, 1000, 1001, 1002}, p[6];
    fr_softmax(2, 3, l, p);
    double e = exp(1.0), z = 1 + e + e * e;
    FR_CHECK(all_finite(p, 6));
    FR_CHECK_NEAR(p[0], 1 / z, 1e-6); FR_CHECK_NEAR(p[2], e * e / z, 1e-6);
    FR_CHECK_NEAR(p[3], 1 / z, 1e-6); FR_CHECK_NEAR(p[5], e * e / z, 1e-6);
    int32_t lab2[2] = {2, 0};
    float d6[6];
    float L = fr_softmax_xent(2, 3, l, lab2, d6);
    FR_CHECK_NEAR(L, 0.5 * ((log(z) - 2) + log(z)), 1e-5);
    FR_CHECK(all_finite(d6, 6));

    xent_ctx x = {5, 7, NULL, NULL};
    int32_t lab[5];
    for (int i = 0; i < 5; i++) lab[i] = (int32_t)fr_rng_below(&g_rng, 7);
    x.lab = lab;
    x.l = fbuf(35);
    fill_normal(x.l, 35, 2);
    float *dl = fbuf(35), y;
    float L2 = fr_softmax_xent(5, 7, x.l, lab, dl);
    FR_CHECK(isfinite(L2) && L2 > 0);
    fd_prob pr = {xent_fwd, &x, &y, 1, NULL};
    /* The loss comes back as a float (ulp ~2e-7 at L ~ 2), so a wider step keeps that rounding
     * small; softmax's third derivative is tiny, so truncation stays ~1e-5 relative. */
    GRADCHECK(&pr, x.l, 35, dl, 3e-2, "softmax xent dlogits");
    free(x.l); free(dl);
}

/* ---- binary ops --------------------------------------------------------------------------- */

typedef struct bin_ctx { fr_binop op; int n, c, h, w, bn, bc, bh, bw; float *a, *b; } bin_ctx;

static void bin_fwd(void *ctx, float *y)
{
    bin_ctx *k = ctx;
    fr_binary_forward(k->op, k->n, k->c, k->h, k->w, k->a, k->bn, k->bc, k->bh, k->bw, k->b, y);
}

static void test_binary(void)
{
    static const int bs[][4] = {{2, 3, 4, 5}, {2, 3, 1, 1}, {1, 3, 1, 1}, {1, 1, 4, 5}, {1, 3, 4, 5},
                                {1, 1, 1, 1}, {1, 1, 1, 5}, {1, 1, 4, 1}, {2, 1, 4, 5}, {2, 3, 4, 1}};
    static const char *opn[4] = {"add", "sub", "mul", "div"};
    const int n = 2, c = 3, h = 4, w = 5;
    const size_t na = (size_t)n * c * h * w;
    for (int op = 0; op < 4; op++)
        for (size_t t = 0; t < sizeof bs / sizeof bs[0]; t++) {
            bin_ctx k = {(fr_binop)op, n, c, h, w, bs[t][0], bs[t][1], bs[t][2], bs[t][3], NULL, NULL};
            size_t nb = (size_t)k.bn * k.bc * k.bh * k.bw;
            k.a = fbuf(na); k.b = fbuf(nb);
            float *y = fbuf(na), *r = fbuf(na), *da = fbuf(na), *db = fbuf(nb);
            fill_normal(k.a, na, 1); fill_normal(r, na, 1);
            fill_uniform(k.b, nb, 0.5f, 1.5f);   /* |b| >= 0.5 keeps div smooth */
            for (size_t i = 0; i < nb; i++) if (fr_rng_below(&g_rng, 2)) k.b[i] = -k.b[i];
            bin_fwd(&k, y);
            double d = 0;
            for (int i = 0; i < n; i++) for (int j = 0; j < c; j++) for (int yy = 0; yy < h; yy++) for (int xx = 0; xx < w; xx++) {
                size_t ia = (((size_t)i * c + j) * h + yy) * w + xx;
                size_t ib = (((size_t)(k.bn == 1 ? 0 : i) * k.bc + (k.bc == 1 ? 0 : j)) * k.bh + (k.bh == 1 ? 0 : yy)) * k.bw + (k.bw == 1 ? 0 : xx);
                float A = k.a[ia], B = k.b[ib];
                float ref = op == 0 ? A + B : op == 1 ? A - B : op == 2 ? A * B : A / B;
                d = fmax(d, fabs((double)ref - y[ia]));
            }
            char what[96];
            snprintf(what, sizeof what, "%s b=[%d,%d,%d,%d]", opn[op], k.bn, k.bc, k.bh, k.bw);
            FR_CHECKF(d == 0, "%s forward max |diff| %.3g", what, d);
            fr_binary_backward(k.op, n, c, h, w, k.a, k.bn, k.bc, k.bh, k.bw, k.b, r, da, db);
            fd_prob p = {bin_fwd, &k, y, na, r};
            char w2[120];
            snprintf(w2, sizeof w2, "%s da", what);
            GRADCHECK(&p, k.a, na, da, FD_EPS, w2);
            snprintf(w2, sizeof w2, "%s db", what);
            GRADCHECK(&p, k.b, nb, db, FD_EPS, w2);
            free(k.a); free(k.b); free(y); free(r); free(da); free(db);
        }
}

/* ---- pad / transpose ---------------------------------------------------------------------- */

typedef struct pad_ctx { int n, c, h, w, pt, pl, pb, pr; float *x; } pad_ctx;

static void pad_fwd(void *ctx, float *y)
{
    pad_ctx *p = ctx;
    fr_pad_forward(p->n, p->c, p->h, p->w, p->pt, p->pl, p->pb, p->pr, p->x, y);
}

static void test_pad(void)
{
    static const int pads[][4] = {{1, 2, 0, 3}, {0, 0, 0, 0}, {2, 0, 1, 1}, {-1, 1, 0, -2}};
    for (size_t t = 0; t < sizeof pads / sizeof pads[0]; t++) {
        pad_ctx p = {2, 2, 4, 5, pads[t][0], pads[t][1], pads[t][2], pads[t][3], NULL};
        int oh = p.h + p.pt + p.pb, ow = p.w + p.pl + p.pr;
        size_t nx = (size_t)p.n * p.c * p.h * p.w, ny = (size_t)p.n * p.c * oh * ow;
        p.x = fbuf(nx);
        float *y = fbuf(ny), *r = fbuf(ny), *dx = fbuf(nx);
        fill_normal(p.x, nx, 1); fill_normal(r, ny, 1);
        pad_fwd(&p, y);
        int ok = 1;
        for (size_t pl = 0; pl < (size_t)p.n * p.c; pl++)
            for (int yy = 0; yy < oh; yy++) for (int xx = 0; xx < ow; xx++) {
                int iy = yy - p.pt, ix = xx - p.pl;
                float ref = (iy >= 0 && iy < p.h && ix >= 0 && ix < p.w) ? p.x[(pl * p.h + iy) * p.w + ix] : 0.0f;
                ok &= y[(pl * oh + yy) * ow + xx] == ref;
            }
        FR_CHECKF(ok, "pad %zu forward", t);
        fr_pad_backward(p.n, p.c, p.h, p.w, p.pt, p.pl, p.pb, p.pr, r, dx);
        fd_prob pr = {pad_fwd, &p, y, ny, r};
        char what[64];
        snprintf(what, sizeof what, "pad %d,%d,%d,%d dx", p.pt, p.pl, p.pb, p.pr);
        GRADCHECK(&pr, p.x, nx, dx, FD_EPS, what);
        free(p.x); free(y); free(r); free(dx);
    }
}

typedef struct tr_ctx { int n, c, h, w; const int *perm; float *x; } tr_ctx;

static void tr_fwd(void *ctx, float *y)
{
    tr_ctx *t = ctx;
    fr_transpose_forward(t->n, t->c, t->h, t->w, t->perm, t->x, y);
}

static void test_transpose(void)
{
    static const int perms[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    for (int t = 0; t < 6; t++) {
        tr_ctx k = {2, 3, 4, 5, perms[t], NULL};
        size_t nx = 120;
        k.x = fbuf(nx);
        float *y = fbuf(nx), *r = fbuf(nx), *dx = fbuf(nx);
        fill_normal(k.x, nx, 1); fill_normal(r, nx, 1);
        tr_fwd(&k, y);
        int d[3] = {3, 4, 5}, od[3] = {d[perms[t][0]], d[perms[t][1]], d[perms[t][2]]}, ok = 1;
        for (int i = 0; i < 2; i++)
            for (int a = 0; a < od[0]; a++) for (int b = 0; b < od[1]; b++) for (int cc = 0; cc < od[2]; cc++) {
                int xi[3];
                xi[perms[t][0]] = a; xi[perms[t][1]] = b; xi[perms[t][2]] = cc;
                float ref = k.x[(size_t)i * 60 + (xi[0] * 4 + xi[1]) * 5 + xi[2]];
                ok &= y[(size_t)i * 60 + ((size_t)a * od[1] + b) * od[2] + cc] == ref;
            }
        FR_CHECKF(ok, "transpose perm %d forward", t);
        fr_transpose_backward(2, 3, 4, 5, perms[t], r, dx);
        fd_prob p = {tr_fwd, &k, y, nx, r};
        char what[48];
        snprintf(what, sizeof what, "transpose perm %d%d%d dx", perms[t][0], perms[t][1], perms[t][2]);
        GRADCHECK(&p, k.x, nx, dx, FD_EPS, what);
        free(k.x); free(y); free(r); free(dx);
    }
}

/* Elementwise kernels must work in place (y == x, dx == dy). */
static void test_inplace(void)
{
    const size_t n = 2 * 3 * 4 * 5;
    float *x = fbuf(n), *y = fbuf(n), *t = fbuf(n), *b = fbuf(3), *g = fbuf(3), *m = fbuf(3), *v = fbuf(3);
    fill_normal(x, n, 2); fill_normal(b, 3, 1); fill_normal(g, 3, 1); fill_normal(m, 3, 1); fill_uniform(v, 3, 0.5f, 2);
    fr_relu_forward(n, x, y);
    memcpy(t, x, n * sizeof(float)); fr_relu_forward(n, t, t);
    FR_CHECK(max_abs_diff(y, t, n) == 0);
    fr_hardswish_backward(n, x, x, y);
    memcpy(t, x, n * sizeof(float)); fr_hardswish_backward(n, x, t, t);
    FR_CHECK(max_abs_diff(y, t, n) == 0);
    fr_binary_forward(FR_BIN_MUL, 2, 3, 4, 5, x, 1, 3, 1, 1, b, y);
    memcpy(t, x, n * sizeof(float)); fr_binary_forward(FR_BIN_MUL, 2, 3, 4, 5, t, 1, 3, 1, 1, b, t);
    FR_CHECK(max_abs_diff(y, t, n) == 0);
    fr_bn_infer_forward(2, 3, 20, x, g, b, m, v, 1e-5f, y);
    memcpy(t, x, n * sizeof(float)); fr_bn_infer_forward(2, 3, 20, t, g, b, m, v, 1e-5f, t);
    FR_CHECK(max_abs_diff(y, t, n) == 0);
    free(x); free(y); free(t); free(b); free(g); free(m); free(v);
}

/* ---- parallel parts (src/base/par.c) -------------------------------------------------------------- */

/* Results across part counts: forward and dx are per-sample computations, so they must be
 * bit-identical for any part count; dW is a sum of per-part partials, so it may differ in the
 * last bits but must be deterministic for a fixed count (run twice, compare bits). */
static void test_conv_parts_consistent(void)
{
    for (size_t t = 0; t < N_CONV_CFGS; t++) {
        fr_conv_shape s = shape_of(&conv_cfgs[t]);
        size_t nx = (size_t)s.n * s.c * s.h * s.w, nw = (size_t)s.o * (s.c / s.groups) * s.kh * s.kw;
        size_t ny = (size_t)s.n * s.o * s.oh * s.ow;
        float *x = fbuf(nx), *W = fbuf(nw), *b = fbuf(s.o), *dy = fbuf(ny);
        fill_normal(x, nx, 1); fill_normal(W, nw, 0.5f); fill_normal(b, s.o, 1); fill_normal(dy, ny, 1);
        float *y[2], *dx[2], *dW[2], *db[2];
        for (int r = 0; r < 2; r++) { y[r] = fbuf(ny); dx[r] = fbuf(nx); dW[r] = fbuf(nw); db[r] = fbuf(s.o); }
        for (int np = 1; np <= 3; np++) {
            fr_par_set_threads(np);
            float *scr = fbuf(fr_conv_scratch(&s));
            for (int r = 0; r < 2; r++) {
                const int k = np == 1 ? 0 : 1;   /* slot 0: one part (reference); slot 1: this count */
                if (np > 1 && r == 1) {          /* repeat: must match the first run bit for bit */
                    float *y2 = fbuf(ny), *dx2 = fbuf(nx), *dW2 = fbuf(nw), *db2 = fbuf(s.o);
                    fr_conv_forward(&s, x, W, b, y2, scr);
                    fr_conv_backward(&s, x, W, dy, dx2, dW2, db2, scr);
                    FR_CHECKF(memcmp(y2, y[1], ny * 4) == 0 && memcmp(dx2, dx[1], nx * 4) == 0 &&
                              memcmp(dW2, dW[1], nw * 4) == 0 && memcmp(db2, db[1], (size_t)s.o * 4) == 0,
                              "%s: %d parts, second run differs", conv_cfgs[t].name, np);
                    free(y2); free(dx2); free(dW2); free(db2);
                    continue;
                }
                if (np == 1 && r == 1) continue;
                fr_conv_forward(&s, x, W, b, y[k], scr);
                fr_conv_backward(&s, x, W, dy, dx[k], dW[k], db[k], scr);
            }
            if (np > 1) {
                FR_CHECKF(memcmp(y[0], y[1], ny * 4) == 0, "%s: %d parts, forward differs", conv_cfgs[t].name, np);
                FR_CHECKF(memcmp(dx[0], dx[1], nx * 4) == 0, "%s: %d parts, dx differs", conv_cfgs[t].name, np);
                double m = 0;
                for (size_t i = 0; i < nw; i++) m = fmax(m, fabs(dW[1][i]));
                double d = max_abs_diff(dW[0], dW[1], nw);
                FR_CHECKF(d <= 1e-5 * (m + 1), "%s: %d parts, dW max |diff| %.3g", conv_cfgs[t].name, np, d);
                FR_CHECKF(max_abs_diff(db[0], db[1], (size_t)s.o) <= 1e-5, "%s: %d parts, db differs",
                          conv_cfgs[t].name, np);
            }
            free(scr);
        }
        fr_par_set_threads(1);
        for (int r = 0; r < 2; r++) { free(y[r]); free(dx[r]); free(dW[r]); free(db[r]); }
        free(x); free(W); free(b); free(dy);
    }
}

/* Large element-wise passes are split into parts: results must not depend on the split (sizes
 * straddle the parallel threshold and are not multiples of the 16-float blocks). */
/* What the element-wise kinds of test_elementwise_parts must give, written out scalar: the
 * broadcasting loops' results (db zeroed then accumulated: 0 + v, so -0 becomes +0). */
static float ew_expect(int k, float x, float dy)
{
    switch (k) {
    case 4: return x + dy;
    case 5: return x - dy;
    case 6: return x * dy;
    case 7: return x / dy;
    case 8: return 0.0f + dy;          /* Add: db */
    case 9: return 0.0f + -dy;         /* Sub: db */
    case 10: return 0.0f + dy * x;     /* Mul: db = dy * a */
    default: return x + dy;            /* fr_add_into on a copy of x */
    }
}

/* Element-wise passes split into parts give the bits of one part; the same-shape binary ops
 * (residual adds, which take a parallel path) give the scalar values above, -0 included. */
static void test_elementwise_parts(void)
{
    const size_t sizes[] = {65535, 65536, 200003};
    for (size_t si = 0; si < 3; si++) {
        size_t n = sizes[si];
        float *x = fbuf(n), *dy = fbuf(n), *ref = fbuf(n), *out = fbuf(n), *tmp = fbuf(n);
        fill_normal(x, n, 4); fill_normal(dy, n, 1);
        for (size_t i = 0; i < n; i += 97) dy[i] = -0.0f;
        for (size_t i = 1; i < n; i += 89) dy[i] = 0.0f;
        for (int k = 0; k < 12; k++) {
            for (int np = 1; np <= 3; np++) {
                fr_par_set_threads(np);
                float *o = np == 1 ? ref : out;
                for (size_t i = 0; i < n; i++) o[i] = NAN;
                const int w = (int)n;   /* as a 1 x 1 x 1 x n activation */
                if (k == 0) fr_relu_forward(n, x, o);
                else if (k == 1) fr_relu_backward(n, x, dy, o);
                else if (k == 2) fr_relu6_forward(n, x, o);
                else if (k == 3) fr_relu6_backward(n, x, dy, o);
                else if (k <= 7) fr_binary_forward((fr_binop)(k - 4), 1, 1, 1, w, x, 1, 1, 1, w, dy, o);
                else if (k == 8) fr_binary_backward(FR_BIN_ADD, 1, 1, 1, w, x, 1, 1, 1, w, x, dy, tmp, o);
                else if (k == 9) fr_binary_backward(FR_BIN_SUB, 1, 1, 1, w, x, 1, 1, 1, w, x, dy, tmp, o);
                else if (k == 10) fr_binary_backward(FR_BIN_MUL, 1, 1, 1, w, x, 1, 1, 1, w, x, dy, tmp, o);
                else { memcpy(o, x, n * sizeof(float)); fr_add_into(n, o, dy); }
                if (np > 1) FR_CHECKF(memcmp(ref, out, n * 4) == 0, "kind %d n %zu parts %d differ", k, n, np);
            }
            if (k >= 4) {
                size_t bad = 0;
                for (size_t i = 0; i < n; i++) {
                    float e = ew_expect(k, x[i], dy[i]);
                    bad += memcmp(&e, &ref[i], sizeof e) != 0;
                }
                FR_CHECKF(bad == 0, "kind %d n %zu: %zu values differ from the scalar form", k, n, bad);
            }
        }
        fr_par_set_threads(1);
        free(x); free(dy); free(ref); free(out); free(tmp);
    }
}

typedef struct par_probe { atomic_int hits[8]; atomic_int calls; } par_probe;

static void probe_part(void *ctx, int part, int nparts)
{
    par_probe *p = ctx;
    if (part >= 0 && part < 8 && nparts >= 1) atomic_fetch_add(&p->hits[part], 1);
    atomic_fetch_add(&p->calls, 1);
}

static void *par_hammer(void *arg)
{
    par_probe *p = arg;
    for (int i = 0; i < 2000; i++) fr_par_run(probe_part, p);
    return NULL;
}

/* Every part runs exactly once per region, also when two threads start regions at the same
 * time (one of them then runs its parts itself) and when the part count changes between
 * regions.  Under TSan this is the pool's race test. */
static void test_par_pool(void)
{
    for (int np = 1; np <= 4; np++) {
        fr_par_set_threads(np);
        par_probe p;
        memset(&p, 0, sizeof p);
        for (int i = 0; i < 500; i++) fr_par_run(probe_part, &p);
        int ok = atomic_load(&p.calls) == 500 * np;
        for (int k = 0; k < np; k++) ok &= atomic_load(&p.hits[k]) == 500;
        FR_CHECKF(ok, "%d parts: %d calls", np, atomic_load(&p.calls));
    }
    fr_par_set_threads(2);
    par_probe p;
    memset(&p, 0, sizeof p);
    pthread_t th[2];
    for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, par_hammer, &p);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    FR_CHECKF(atomic_load(&p.calls) == 2 * 2000 * 2 && atomic_load(&p.hits[0]) == 4000 && atomic_load(&p.hits[1]) == 4000,
              "concurrent regions: %d calls", atomic_load(&p.calls));
    int lo, hi, total = 0, prev = 0;
    for (int k = 0; k < 3; k++) {
        fr_par_range(7, k, 3, &lo, &hi);
        total += hi - lo;
        FR_CHECK(lo == prev && hi >= lo);
        prev = hi;
    }
    FR_CHECK(total == 7 && prev == 7);
    fr_par_set_threads(1);
}

int main(int argc, char **argv)
{
    fr_rng_seed(&g_rng, 20240521);
    if (argc > 1 && strcmp(argv[1], "--par-only") == 0) {   /* the TSan run in .ci/run */
        FR_RUN(test_conv_parts_consistent);
        FR_RUN(test_elementwise_parts);
        FR_RUN(test_par_pool);
        return FR_REPORT();
    }
    FR_RUN(test_conv_shape);
    FR_RUN(test_conv_forward_known);
    FR_RUN(test_conv_backward_fd);
    FR_RUN(test_conv_fold_act);
    FR_RUN(test_gradcheck_sensitivity);
    FR_RUN(test_conv_overwrite_and_repeat);
    FR_RUN(test_linear);
    /* The conv and linear suites again with 2 and 3 parts (3 > the batch of most configs, so
     * empty parts are covered too). */
    for (int np = 2; np <= 3; np++) {
        fr_par_set_threads(np);
        FR_RUN(test_conv_forward_known);
        FR_RUN(test_conv_backward_fd);
        FR_RUN(test_conv_fold_act);
        FR_RUN(test_conv_overwrite_and_repeat);
        FR_RUN(test_linear);
        fr_par_set_threads(1);
    }
    FR_RUN(test_conv_parts_consistent);
    FR_RUN(test_elementwise_parts);
    FR_RUN(test_par_pool);
    FR_RUN(test_activations_fd);
    FR_RUN(test_activations_known);
    FR_RUN(test_pool_known);
    FR_RUN(test_pool_fd);
    FR_RUN(test_gap);
    FR_RUN(test_bn_infer);
    FR_RUN(test_bn_train);
    FR_RUN(test_softmax_xent);
    FR_RUN(test_binary);
    FR_RUN(test_pad);
    FR_RUN(test_transpose);
    FR_RUN(test_inplace);
    return FR_REPORT();
}
