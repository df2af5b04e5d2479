/* test_conv_chunk.c — the chunked GEMM path of src/engine/conv.c (issue 15, item 5).
 *
 * Design note
 *   The chunked path stacks a chunk of samples into one GEMM and adds per-chunk dW partials in
 *   chunk order, with chunks fixed by shape and batch.  Checked here:
 *   - against a straightforward double-precision convolution (forward, dx, dW, db) on shapes
 *     that give chunks of several samples (7x7 and 14x14 planes at batch 32 / 9), of one sample
 *     (planes >= 1024 outputs), groups, strides, dilation and uneven padding;
 *   - finite differences of a scalar loss on a small chunked shape (backward changed);
 *   - bit identity across thread counts 1..4 and between repeated runs;
 *   - the legacy per-sample path (fr_conv_set_legacy) still agrees with the reference;
 *   - the 3x3 depthwise kernels (register-accumulated forward, gather-form backward at any
 *     stride) give the very bits of the per-tap sweeps they replace;
 *   - slices (issue 19): the forward of a batch's halves or quarters, each computed with the
 *     whole batch's chunks (fr_conv_shape.slice_of, fr_linear_forward_slice), gives the whole
 *     batch's bits at any thread count, so a memory plan may run its passes in slices.  The same
 *     slices run as batches of their own differ (printed, not asserted: it is OpenBLAS's
 *     rounding, and the reason slices exist).
 *   Shapes with batch >= 8 on small planes are the ones tests/test_ops.c does not reach
 *   (its batches of 2-3 samples make every chunk one sample).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fr_test.h"
#include "frtui/common.h"
#include "frtui/conv.h"
#include "frtui/ops.h"
#include "frtui/par.h"

static fr_rng g_rng;

typedef struct cfg { int n, c, h, w, o, k, st, pad, pb, dil, g; const char *name; } cfg;

static const cfg cfgs[] = {
    {32, 24, 7, 7, 40, 1, 1, 0, 0, 1, 1, "pointwise 7x7 b32 (chunks of 8)"},
    {32, 8, 7, 7, 16, 3, 1, 1, 1, 1, 1, "3x3 7x7 b32"},
    {9, 6, 14, 14, 8, 3, 2, 1, 0, 1, 2, "3x3 s2 groups 2 14x14 b9, uneven pad"},
    {5, 4, 36, 36, 6, 1, 1, 0, 0, 1, 1, "pointwise 36x36 b5 (one-sample chunks)"},
    {6, 5, 20, 20, 7, 3, 1, 2, 2, 2, 1, "3x3 dil 2 20x20 b6"},
    {3, 3, 64, 64, 8, 3, 2, 1, 1, 1, 1, "stem 3x3 s2 64x64 b3"},
    {17, 12, 14, 14, 20, 1, 1, 0, 0, 1, 1, "pointwise 14x14 b17 (odd batch)"},
};
#define N_CFGS (sizeof cfgs / sizeof cfgs[0])

static fr_conv_shape shape_of(const cfg *k)
{
    fr_conv_shape s = {k->n, k->c, k->h, k->w, k->o, k->k, k->k, k->st, k->st, k->pad, k->pad, k->pb, k->pb,
                       k->dil, k->dil, k->g, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, NULL, NULL};
    FR_ASSERT(fr_conv_out_shape(&s));
    return s;
}

static float *fbuf(size_t n)
{
    float *p = fr_xmalloc((n ? n : 1) * sizeof(float));
    for (size_t i = 0; i < (n ? n : 1); i++) p[i] = NAN;
    return p;
}

static void fill(float *p, size_t n, float sc)
{
    for (size_t i = 0; i < n; i++) p[i] = sc * fr_rng_normal(&g_rng);
}

/* Straightforward conv in double: y (may be NULL), and with dy: dx, dW, db. */
static void conv_ref(const fr_conv_shape *s, const float *x, const float *W, const float *b, const float *dy,
                     double *y, double *dx, double *dW, double *db)
{
    const int cg = s->c / s->groups, og = s->o / s->groups;
    size_t nx = (size_t)s->n * s->c * s->h * s->w, nw = (size_t)s->o * cg * s->kh * s->kw;
    if (dx) memset(dx, 0, nx * sizeof *dx);
    if (dW) memset(dW, 0, nw * sizeof *dW);
    if (db) memset(db, 0, (size_t)s->o * sizeof *db);
    for (int n = 0; n < s->n; n++)
        for (int o = 0; o < s->o; o++) {
            int g = o / og;
            for (int oy = 0; oy < s->oh; oy++)
                for (int ox = 0; ox < s->ow; ox++) {
                    size_t yi = (((size_t)n * s->o + o) * s->oh + oy) * s->ow + ox;
                    double acc = b ? b[o] : 0.0, d = dy ? dy[yi] : 0.0;
                    if (db) db[o] += d;
                    for (int ci = 0; ci < cg; ci++)
                        for (int ki = 0; ki < s->kh; ki++)
                            for (int kj = 0; kj < s->kw; kj++) {
                                int iy = oy * s->sh - s->pt + ki * s->dh, ix = ox * s->sw - s->pl + kj * s->dw;
                                if (iy < 0 || iy >= s->h || ix < 0 || ix >= s->w) continue;
                                size_t xi = (((size_t)n * s->c + g * cg + ci) * s->h + iy) * s->w + ix;
                                size_t wi = (((size_t)o * cg + ci) * s->kh + ki) * s->kw + kj;
                                acc += (double)W[wi] * x[xi];
                                if (dx) dx[xi] += (double)W[wi] * d;
                                if (dW) dW[wi] += (double)x[xi] * d;
                            }
                    if (y) y[yi] = acc;
                }
        }
}

static double rel_err(const float *a, const double *r, size_t n)
{
    double m = 0, d = 0;
    for (size_t i = 0; i < n; i++) {
        m = fmax(m, fabs(r[i]));
        d = fmax(d, fabs(a[i] - r[i]));
    }
    return d / (m + 1e-30);
}

typedef struct outs { float *y, *dx, *dW, *db; } outs;

static outs run(const fr_conv_shape *s, const float *x, const float *W, const float *b, const float *dy)
{
    size_t nx = (size_t)s->n * s->c * s->h * s->w, nw = (size_t)s->o * (s->c / s->groups) * s->kh * s->kw;
    size_t ny = (size_t)s->n * s->o * s->oh * s->ow;
    outs o = {fbuf(ny), fbuf(nx), fbuf(nw), fbuf(s->o)};
    float *scr = fbuf(fr_conv_scratch(s));
    fr_conv_forward(s, x, W, b, o.y, scr);
    fr_conv_backward(s, x, W, dy, o.dx, o.dW, o.db, scr);
    free(scr);
    return o;
}

static void outs_free(outs *o) { free(o->y); free(o->dx); free(o->dW); free(o->db); }

static void test_against_reference(void)
{
    for (int legacy = 0; legacy <= 1; legacy++) {
        fr_conv_set_legacy(legacy);
        for (size_t t = 0; t < N_CFGS; t++) {
            fr_conv_shape s = shape_of(&cfgs[t]);
            size_t nx = (size_t)s.n * s.c * s.h * s.w, nw = (size_t)s.o * (s.c / s.groups) * s.kh * s.kw;
            size_t ny = (size_t)s.n * s.o * s.oh * s.ow;
            float *x = fbuf(nx), *W = fbuf(nw), *b = fbuf(s.o), *dy = fbuf(ny);
            fill(x, nx, 1); fill(W, nw, 0.5f); fill(b, s.o, 1); fill(dy, ny, 1);
            double *ry = malloc(ny * 8), *rdx = malloc(nx * 8), *rdW = malloc(nw * 8), *rdb = malloc((size_t)s.o * 8);
            conv_ref(&s, x, W, b, dy, ry, rdx, rdW, rdb);
            for (int np = 1; np <= 2; np++) {
                fr_par_set_threads(np);
                outs o = run(&s, x, W, b, dy);
                FR_CHECKF(rel_err(o.y, ry, ny) < 1e-5, "%s legacy=%d parts=%d: y rel err %.3g", cfgs[t].name, legacy, np,
                          rel_err(o.y, ry, ny));
                FR_CHECKF(rel_err(o.dx, rdx, nx) < 1e-5, "%s legacy=%d: dx rel err %.3g", cfgs[t].name, legacy,
                          rel_err(o.dx, rdx, nx));
                FR_CHECKF(rel_err(o.dW, rdW, nw) < 1e-5, "%s legacy=%d: dW rel err %.3g", cfgs[t].name, legacy,
                          rel_err(o.dW, rdW, nw));
                FR_CHECKF(rel_err(o.db, rdb, (size_t)s.o) < 1e-5, "%s legacy=%d: db", cfgs[t].name, legacy);
                outs_free(&o);
            }
            fr_par_set_threads(1);
            free(ry); free(rdx); free(rdW); free(rdb);
            free(x); free(W); free(b); free(dy);
        }
    }
    fr_conv_set_legacy(0);
}

/* The chunked path gives the same bits for 1..4 parts, and on a repeat. */
static void test_thread_bit_identity(void)
{
    fr_conv_set_legacy(0);
    for (size_t t = 0; t < N_CFGS; t++) {
        fr_conv_shape s = shape_of(&cfgs[t]);
        size_t nx = (size_t)s.n * s.c * s.h * s.w, nw = (size_t)s.o * (s.c / s.groups) * s.kh * s.kw;
        size_t ny = (size_t)s.n * s.o * s.oh * s.ow;
        float *x = fbuf(nx), *W = fbuf(nw), *b = fbuf(s.o), *dy = fbuf(ny);
        fill(x, nx, 1); fill(W, nw, 0.5f); fill(b, s.o, 1); fill(dy, ny, 1);
        fr_par_set_threads(1);
        outs ref = run(&s, x, W, b, dy);
        for (int np = 1; np <= 4; np++) {
            fr_par_set_threads(np);
            outs o = run(&s, x, W, b, dy);
            FR_CHECKF(memcmp(o.y, ref.y, ny * 4) == 0, "%s: %d parts: y bits differ", cfgs[t].name, np);
            FR_CHECKF(memcmp(o.dx, ref.dx, nx * 4) == 0, "%s: %d parts: dx bits differ", cfgs[t].name, np);
            FR_CHECKF(memcmp(o.dW, ref.dW, nw * 4) == 0, "%s: %d parts: dW bits differ", cfgs[t].name, np);
            FR_CHECKF(memcmp(o.db, ref.db, (size_t)s.o * 4) == 0, "%s: %d parts: db bits differ", cfgs[t].name, np);
            outs_free(&o);
        }
        fr_par_set_threads(1);
        outs_free(&ref);
        free(x); free(W); free(b); free(dy);
    }
}

/* Central differences of L = sum(r * conv(x, W)) for a few weights and inputs, on a shape
 * whose chunks hold 2 samples. */
static void test_fd(void)
{
    fr_conv_set_legacy(0);
    fr_conv_shape s = {8, 3, 4, 4, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, NULL, NULL};
    FR_ASSERT(fr_conv_out_shape(&s));
    size_t nx = (size_t)s.n * s.c * s.h * s.w, nw = (size_t)s.o * s.c * 9, ny = (size_t)s.n * s.o * s.oh * s.ow;
    float *x = fbuf(nx), *W = fbuf(nw), *r = fbuf(ny), *y = fbuf(ny), *scr = fbuf(fr_conv_scratch(&s));
    fill(x, nx, 1); fill(W, nw, 0.5f); fill(r, ny, 1);
    outs g = run(&s, x, W, NULL, r);
    const float eps = 1e-2f;
    for (int k = 0; k < 2; k++) {
        float *p = k ? x : W, *gp = k ? g.dx : g.dW;
        size_t n = k ? nx : nw;
        for (int q = 0; q < 12; q++) {
            size_t i = fr_rng_below(&g_rng, (uint32_t)n);
            float keep = p[i];
            double l[2];
            for (int sg = 0; sg < 2; sg++) {
                p[i] = keep + (sg ? -eps : eps);
                fr_conv_forward(&s, x, W, NULL, y, scr);
                double a = 0;
                for (size_t j = 0; j < ny; j++) a += (double)r[j] * y[j];
                l[sg] = a;
            }
            p[i] = keep;
            double fd = (l[0] - l[1]) / (2 * eps);
            FR_CHECKF(fabs(fd - gp[i]) <= 2e-2 * (fabs(fd) + 1e-2), "%s[%zu]: FD %.6g vs %.6g", k ? "dx" : "dW", i, fd,
                      (double)gp[i]);
        }
    }
    outs_free(&g);
    free(x); free(W); free(r); free(y); free(scr);
}

/* Depthwise 3x3: the register-accumulating forward and the gather-form backward (any stride)
 * must give exactly the bits of the per-tap sweeps (fr_conv_set_legacy), and match the
 * reference; 5x5 takes the sweeps in both modes. */
static void test_depthwise_same_bits(void)
{
    static const cfg dw[] = {
        {20, 16, 28, 28, 16, 3, 1, 1, 1, 1, 16, "dw 3x3 28x28 b20"},
        {32, 8, 7, 7, 8, 3, 1, 1, 1, 1, 8, "dw 3x3 7x7 b32"},
        {5, 6, 13, 11, 6, 3, 1, 2, 2, 2, 6, "dw 3x3 dil 2 13x11"},
        {4, 6, 12, 12, 6, 3, 1, 0, 2, 1, 6, "dw 3x3 uneven pad"},
        {6, 8, 16, 16, 8, 3, 2, 0, 1, 1, 8, "dw 3x3 s2, pad 0/1 (MobileNetV2's)"},
        {7, 5, 15, 13, 5, 3, 2, 1, 1, 1, 5, "dw 3x3 s2 pad 1, odd sizes"},
        {20, 6, 29, 29, 6, 3, 2, 1, 1, 1, 6, "dw 3x3 s2 29x29 b20 (stacks of 16)"},
        {4, 4, 17, 17, 4, 3, 2, 2, 2, 2, 4, "dw 3x3 s2 dil 2 (one phase has all taps)"},
        {3, 4, 14, 14, 4, 3, 3, 1, 1, 1, 4, "dw 3x3 s3 (9 phases)"},
        {3, 4, 9, 9, 4, 5, 1, 2, 2, 1, 4, "dw 5x5 (sweeps)"},
    };
    for (size_t t = 0; t < sizeof dw / sizeof dw[0]; t++) {
        fr_conv_shape s = shape_of(&dw[t]);
        s.w = dw[t].w;
        FR_ASSERT(fr_conv_out_shape(&s));
        size_t nx = (size_t)s.n * s.c * s.h * s.w, nw = (size_t)s.o * s.kh * s.kw, ny = (size_t)s.n * s.o * s.oh * s.ow;
        float *x = fbuf(nx), *W = fbuf(nw), *b = fbuf(s.o), *dy = fbuf(ny);
        fill(x, nx, 1); fill(W, nw, 0.5f); fill(b, s.o, 1); fill(dy, ny, 1);
        double *ry = malloc(ny * 8), *rdx = malloc(nx * 8), *rdW = malloc(nw * 8), *rdb = malloc((size_t)s.o * 8);
        conv_ref(&s, x, W, b, dy, ry, rdx, rdW, rdb);
        for (int np = 1; np <= 2; np++) {
            fr_par_set_threads(np);
            fr_conv_set_legacy(1);
            outs o = run(&s, x, W, b, dy);
            fr_conv_set_legacy(0);
            outs n = run(&s, x, W, b, dy);
            FR_CHECKF(memcmp(o.y, n.y, ny * 4) == 0, "%s: y bits differ from the sweeps", dw[t].name);
            FR_CHECKF(memcmp(o.dx, n.dx, nx * 4) == 0, "%s: dx bits differ from the sweeps", dw[t].name);
            FR_CHECKF(memcmp(o.dW, n.dW, nw * 4) == 0 && memcmp(o.db, n.db, (size_t)s.o * 4) == 0, "%s: dW/db differ",
                      dw[t].name);
            FR_CHECKF(rel_err(n.y, ry, ny) < 1e-5 && rel_err(n.dx, rdx, nx) < 1e-5 && rel_err(n.dW, rdW, nw) < 1e-5,
                      "%s: off the reference (y %.3g dx %.3g dW %.3g)", dw[t].name, rel_err(n.y, ry, ny),
                      rel_err(n.dx, rdx, nx), rel_err(n.dW, rdW, nw));
            outs_free(&o);
            outs_free(&n);
        }
        fr_par_set_threads(1);
        free(ry); free(rdx); free(rdW); free(rdb);
        free(x); free(W); free(b); free(dy);
    }
}

/* Scratch sized at the largest batch serves every smaller batch. */
static void test_scratch_monotone(void)
{
    for (size_t t = 0; t < N_CFGS; t++) {
        fr_conv_shape s = shape_of(&cfgs[t]);
        size_t prev = 0;
        for (int n = 1; n <= 40; n++) {
            s.n = n;
            size_t z = fr_conv_scratch(&s);
            FR_CHECKF(z >= prev, "%s: scratch shrinks at batch %d", cfgs[t].name, n);
            prev = z;
        }
    }
}

/* Forward of [a, b) of s's batch: as a slice (slice_of = s->n) or, plain, as a batch of its own. */
static float *fwd_part(const fr_conv_shape *s, const float *x, const float *W, const float *bias, int a, int b, int slice)
{
    fr_conv_shape p = *s;
    p.n = b - a;
    if (slice) { p.slice_of = s->n; p.slice0 = a; }
    size_t per_x = (size_t)s->c * s->h * s->w, per_y = (size_t)s->o * s->oh * s->ow;
    float *y = fbuf((size_t)p.n * per_y), *scr = fbuf(fr_conv_scratch(&p));
    fr_conv_forward(&p, x + (size_t)a * per_x, W, bias, y, scr);
    free(scr);
    return y;
}

static void test_slices_same_bits(void)
{
    fr_conv_set_legacy(0);
    static const cfg big[] = {
        {64, 24, 7, 7, 40, 1, 1, 0, 0, 1, 1, "pointwise 7x7 b64"},
        {64, 16, 14, 14, 24, 3, 1, 1, 1, 1, 1, "3x3 14x14 b64"},
        {40, 12, 28, 28, 16, 1, 1, 0, 0, 1, 1, "pointwise 28x28 b40"},
        {61, 8, 14, 14, 12, 3, 2, 1, 0, 1, 2, "3x3 s2 groups 2 14x14 b61"},
        {7, 24, 7, 7, 40, 1, 1, 0, 0, 1, 1, "pointwise 7x7 b7"},
    };
    long plain_diff = 0;
    for (size_t t = 0; t < sizeof big / sizeof big[0]; t++) {
        fr_conv_shape s = shape_of(&big[t]);
        size_t nx = (size_t)s.n * s.c * s.h * s.w, nw = (size_t)s.o * (s.c / s.groups) * s.kh * s.kw;
        size_t per_y = (size_t)s.o * s.oh * s.ow, ny = (size_t)s.n * per_y;
        float *x = fbuf(nx), *W = fbuf(nw), *b = fbuf(s.o);
        fill(x, nx, 1); fill(W, nw, 0.5f); fill(b, s.o, 1);
        fr_par_set_threads(1);
        float *ref = fbuf(ny), *scr = fbuf(fr_conv_scratch(&s));
        fr_conv_forward(&s, x, W, b, ref, scr);
        free(scr);
        for (int np = 1; np <= 3; np++) {
            fr_par_set_threads(np);
            for (int d = 2; d <= 4; d += 2)
                for (int j = 0; j < d; j++) {
                    int a = s.n * j / d, e = s.n * (j + 1) / d;
                    if (e == a) continue;
                    float *y = fwd_part(&s, x, W, b, a, e, 1);
                    FR_CHECKF(memcmp(y, ref + (size_t)a * per_y, (size_t)(e - a) * per_y * 4) == 0,
                              "%s: slice [%d,%d) at %d parts: bits differ from the whole batch", big[t].name, a, e, np);
                    free(y);
                    if (np == 1 && d == 4) {
                        y = fwd_part(&s, x, W, b, a, e, 0);
                        for (size_t i = 0; i < (size_t)(e - a) * per_y; i++) plain_diff += y[i] != ref[(size_t)a * per_y + i];
                        free(y);
                    }
                }
        }
        fr_par_set_threads(1);
        free(ref); free(x); free(W); free(b);
    }
    /* Linear layers: the rows of a batch's quarters and halves. */
    static const int lin[][3] = {{64, 96, 10}, {40, 200, 37}, {61, 1280, 50}};
    for (size_t t = 0; t < sizeof lin / sizeof lin[0]; t++) {
        int n = lin[t][0], in = lin[t][1], out = lin[t][2];
        float *x = fbuf((size_t)n * in), *W = fbuf((size_t)out * in), *b = fbuf(out), *ref = fbuf((size_t)n * out);
        fill(x, (size_t)n * in, 1); fill(W, (size_t)out * in, 0.2f); fill(b, out, 1);
        fr_par_set_threads(1);
        fr_linear_forward(n, in, out, x, W, b, ref);
        for (int np = 1; np <= 3; np++) {
            fr_par_set_threads(np);
            for (int d = 2; d <= 4; d += 2)
                for (int j = 0; j < d; j++) {
                    int a = n * j / d, e = n * (j + 1) / d;
                    float *y = fbuf((size_t)(e - a) * out);
                    fr_linear_forward_slice(e - a, n, a, in, out, x + (size_t)a * in, W, b, y);
                    FR_CHECKF(memcmp(y, ref + (size_t)a * out, (size_t)(e - a) * out * 4) == 0,
                              "linear %dx%d b%d: slice [%d,%d) at %d parts: bits differ", in, out, n, a, e, np);
                    if (np == 1 && d == 4) {
                        fr_linear_forward(e - a, in, out, x + (size_t)a * in, W, b, y);
                        for (size_t i = 0; i < (size_t)(e - a) * out; i++) plain_diff += y[i] != ref[(size_t)a * out + i];
                    }
                    free(y);
                }
        }
        fr_par_set_threads(1);
        free(x); free(W); free(b); free(ref);
    }
    printf("# quarters run as batches of their own: %ld outputs differ in their last bits from the whole batch's\n",
           plain_diff);
}

/* One-sample chunks (P >= 1024) start y at the bias and let the GEMM add the product
 * (ck_forward's bias_in_c): y must be, bit for bit, the bias-free forward plus the bias, in
 * float, as the separate pass computed it -- for K up to CK_BIAS_IN_C_MAX_K (256) and beyond it
 * (the separate pass), pointwise and im2col, grouped, and with large biases so that the sum
 * rounds. */
static void test_bias_in_gemm(void)
{
    static const cfg bc[] = {
        {3, 16, 40, 40, 24, 1, 1, 0, 0, 1, 1, "pointwise K16 40x40 (an expand conv)"},
        {2, 256, 32, 33, 8, 1, 1, 0, 0, 1, 1, "pointwise K256 32x33 (the largest K in the GEMM)"},
        {2, 400, 32, 32, 5, 1, 1, 0, 0, 1, 1, "pointwise K400 (two K blocks: the bias pass)"},
        {2, 3, 66, 66, 8, 3, 2, 1, 1, 1, 1, "stem 3x3 s2 K27 66x66"},
        {2, 8, 36, 36, 6, 3, 1, 1, 1, 1, 2, "3x3 groups 2 36x36"},
    };
    for (size_t t = 0; t < sizeof bc / sizeof bc[0]; t++) {
        fr_conv_shape s = shape_of(&bc[t]);
        FR_CHECK((size_t)s.oh * s.ow >= 1024);
        size_t nx = (size_t)s.n * s.c * s.h * s.w, nw = (size_t)s.o * (s.c / s.groups) * s.kh * s.kw;
        size_t ny = (size_t)s.n * s.o * s.oh * s.ow, P = (size_t)s.oh * s.ow;
        float *x = fbuf(nx), *W = fbuf(nw), *b = fbuf(s.o), *y = fbuf(ny), *y0 = fbuf(ny), *scr = fbuf(fr_conv_scratch(&s));
        fill(x, nx, 1); fill(W, nw, 0.5f); fill(b, s.o, 30);
        fr_conv_forward(&s, x, W, b, y, scr);
        fr_conv_forward(&s, x, W, NULL, y0, scr);
        size_t bad = 0;
        for (size_t i = 0; i < ny; i++) {
            const float want = y0[i] + b[(i / P) % (size_t)s.o];
            bad += memcmp(&want, &y[i], sizeof want) != 0;
        }
        FR_CHECKF(bad == 0, "%s: %zu of %zu outputs differ from the separate bias pass", bc[t].name, bad, ny);
        free(x); free(W); free(b); free(y); free(y0); free(scr);
    }
}

int main(void)
{
    fr_rng_seed(&g_rng, 2026);
    FR_RUN(test_against_reference);
    FR_RUN(test_thread_bit_identity);
    FR_RUN(test_fd);
    FR_RUN(test_depthwise_same_bits);
    FR_RUN(test_scratch_monotone);
    FR_RUN(test_slices_same_bits);
    FR_RUN(test_bias_in_gemm);
    return FR_REPORT();
}
