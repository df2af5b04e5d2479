/* conv.c — 2-D convolution, forward and backward, on NCHW float32.  Contract:
 * include/frtui/conv.h.
 *
 * Design note
 *   Ownership: nothing here allocates or keeps state; the only working memory is the caller's
 *   scratch, sized by fr_conv_scratch() at the largest batch the caller will use.
 *   Threading: re-entrant; see "Parallelism" below.
 *   Strategy, chosen per shape:
 *   - depthwise (groups == c == o): direct loops.  im2col would build a [kh*kw, P] matrix per
 *     channel to feed a 1-row GEMM, which is all overhead.  The padded plane is split into
 *     stride phases in scratch so every tap is one flat vectorised sweep (conv_dw.c);
 *     negative (cropping) padding, which no real model uses, falls back to im2col;
 *   - everything else: im2col per sample-group into scratch, then
 *       forward  Y_g[O_g, P] = W_g[O_g, K] * col[K, P]
 *       backward dW_g[O_g, K] += dy_g[O_g, P] * col^T, col = W_g^T * dy_g, col2im into dx;
 *     pointwise convs (1x1, stride 1, no padding) use the input planes as col directly.
 *   Parallelism is frtui's own (src/base/par.c), OpenBLAS is single-threaded.
 *   - Default GEMM path ("chunked", issue 15): the batch is cut into chunks of consecutive
 *     samples whose size depends on the shape and batch only (ck_geometry: about CK_COLS output
 *     columns per chunk, chunk count a multiple of 4); a chunk's samples are stacked side by side
 *     into one [K, nb*P] GEMM, so 7x7 and 14x14 planes get GEMMs wide enough to run near the
 *     sgemm rate, and parts take whole chunks.  Each chunk's dW goes to its own partial; a second
 *     region adds the partials in chunk order (and sums db per channel).  Results therefore do
 *     not depend on the part count: FRTUI_THREADS=1, 2 or 4 give the same bits (test_conv_chunk).
 *     They do depend on the batch; a forward may compute a slice of a larger batch with that
 *     batch's chunks (fr_conv_shape.slice_of: the memory plan's pass slices, issue 19), which
 *     gives the larger batch's bits with a quarter or half of its buffers.
 *   - Legacy path (fr_conv_set_legacy(1)): one contiguous sample range per part, one GEMM per
 *     sample, dW partials per part added in part order, so results depend on (shape, batch, part
 *     count); with one part they are those of the plain per-sample loop, which is how the
 *     bundled samples were trained (train-samples selects it; `make samples-check`).  Kept for
 *     that and for `frtui-dev bench --compare-legacy`.
 *   The two paths differ in the last bits: OpenBLAS's Haswell sgemm rounds an output element
 *   differently depending on where it falls in the register tile (measured: stacking columns or
 *   splitting rows changes ~10 % of outputs by an ulp), so no chunking can reproduce the
 *   per-sample bits.
 *   Depthwise (both modes): parts take channel ranges; each channel's dW/db sums run over the
 *   samples in order, so these never depended on the part count.  3x3 kernels accumulate the
 *   nine taps of an output in registers (forward) and gather each dx phase from its taps
 *   (backward), performing exactly the additions of the per-tap sweeps in the same order: same
 *   bits, a third of the memory traffic.
 *   Invariant for all window taps: tap (ki, kj) of output (oy, ox) reads input
 *   (oy*sh - pt + ki*dh, ox*sw - pl + kj*dw); taps outside [0,H)x[0,W) are padding.
 *   tap_range() turns that into a half-open range of outputs, so inner loops carry no bounds
 *   tests.
 */
#include "frtui/conv.h"

#include <cblas.h>
#include <string.h>

#include "frtui/common.h"
#include "frtui/par.h"
#include "conv_impl.h"
#include "ops_impl.h"

/* ---- shapes ------------------------------------------------------------------------------- */

int fr_conv_out_shape(fr_conv_shape *s)
{
    s->oh = s->ow = 0;
    if (s->kh < 1 || s->kw < 1 || s->sh < 1 || s->sw < 1 || s->dh < 1 || s->dw < 1) return 0;
    if (s->h < 1 || s->w < 1) return 0;
    long eh = (long)s->h + s->pt + s->pb - (long)s->dh * (s->kh - 1) - 1;
    long ew = (long)s->w + s->pl + s->pr - (long)s->dw * (s->kw - 1) - 1;
    if (eh < 0 || ew < 0) return 0;
    s->oh = (int)(eh / s->sh + 1);
    s->ow = (int)(ew / s->sw + 1);
    return 1;
}

static int is_pointwise(const fr_conv_shape *s)
{
    return s->kh == 1 && s->kw == 1 && s->sh == 1 && s->sw == 1 &&
           s->pt == 0 && s->pl == 0 && s->pb == 0 && s->pr == 0;
}

/* ---- conv: GEMM path ---------------------------------------------------------------------- */

/* Floats of scratch one part uses (the rest of a part's slice holds its dW partial). */
static size_t part_scratch(const fr_conv_shape *s)
{
    if (fr_dw_flat(s)) return fr_dw_part_floats(s);
    /* the im2col columns of one sample-group */
    return is_pointwise(s) ? 0 : (size_t)(s->c / s->groups) * s->kh * s->kw * s->oh * s->ow;
}

/* A part's slice: its working floats, then (GEMM path, several parts) its dW partial. */
static size_t part_stride(const fr_conv_shape *s, int nparts)
{
    size_t n = part_scratch(s);
    if (nparts > 1 && !fr_dw_flat(s)) n += (size_t)s->o * (s->c / s->groups) * s->kh * s->kw;
    return (n + 15) & ~(size_t)15;   /* keep every slice 64-byte aligned */
}

/* ---- chunked GEMM path: geometry ----------------------------------------------------------- */

/* The chunked path cuts the batch into nck chunks of consecutive samples, a function of the
 * shape and the batch only (never of the thread count), and stacks a chunk's samples side by
 * side as the columns of one GEMM: [K, nb*P] instead of nb GEMMs of [K, P].  Small planes
 * (7x7, 14x14) thus get GEMMs wide enough to run near the sgemm peak.  Each chunk writes its
 * own dW partial; the partials are added in chunk order.  So results depend on (shape, batch)
 * only: any FRTUI_THREADS gives the same bits.  (They differ in the last bits from the per-sample
 * path: OpenBLAS's Haswell kernel rounds an output differently depending on where it falls in
 * the tile, measured, so no chunking can reproduce the per-sample bits.)
 *   nb <= CK_COLS / P (at least 1); the chunk count is rounded up to a multiple of 4 (when
 * the batch allows) so 2 or 4 parts get equal work, and samples are spread evenly. */
#define CK_COLS 1024
/* Largest K for which ck_forward lets the GEMM add the bias (bias_in_c).  OpenBLAS splits K
 * into blocks of GEMM_Q (320 on the Haswell kernels frtui runs by default: K = 320 measured
 * exact, 352 not) and adds each block's product to C; 256 keeps a margin below that.  Every
 * expand conv of MobileNetV2 (K = 16..160), where the large planes are, is within it. */
#define CK_BIAS_IN_C_MAX_K 256

static int g_legacy;   /* fr_conv_set_legacy */

void fr_conv_set_legacy(int on) { g_legacy = on != 0; }

static size_t g_stream_bytes = (size_t)32 << 20;   /* fr_conv_set_stream_bytes */

void fr_conv_set_stream_bytes(size_t bytes) { g_stream_bytes = bytes; }
size_t fr_conv_stream_bytes(void) { return g_stream_bytes; }
int fr_conv_legacy(void) { return g_legacy; }

typedef struct ck_geom { int nck, nbmax; } ck_geom;

static ck_geom ck_geometry(const fr_conv_shape *s, int n)
{
    ck_geom g;
    size_t P = (size_t)s->oh * s->ow;
    g.nbmax = P >= CK_COLS ? 1 : (int)(CK_COLS / P);
    int nck = (n + g.nbmax - 1) / g.nbmax;
    nck = (nck + 3) & ~3;
    g.nck = nck > n ? n : nck;
    if (g.nck < 1) g.nck = 1;
    return g;
}

/* Floats of one part's working slice: im2col/gathered columns [Kg, nb*P] and the gathered
 * output (or output gradient) [Og, nb*P]; a chunk of one sample needs neither gather. */
static size_t ck_part_floats(const fr_conv_shape *s, const ck_geom *g)
{
    const size_t P = (size_t)s->oh * s->ow, K = (size_t)(s->c / s->groups) * s->kh * s->kw;
    const size_t og = (size_t)(s->o / s->groups);
    size_t n = g->nbmax > 1 ? (K + og) * (size_t)g->nbmax * P : is_pointwise(s) ? 0 : K * P;
    return (n + 15) & ~(size_t)15;
}

static size_t ck_wsize(const fr_conv_shape *s) { return (size_t)s->o * (s->c / s->groups) * s->kh * s->kw; }

/* Scratch of the chunked path: nck dW partials, then one working slice per part. */
static size_t ck_scratch(const fr_conv_shape *s, int nparts)
{
    ck_geom g = ck_geometry(s, s->n);
    size_t wk = (ck_wsize(s) + 15) & ~(size_t)15;
    return wk * (size_t)g.nck + ck_part_floats(s, &g) * (size_t)nparts;
}

size_t fr_conv_scratch(const fr_conv_shape *s)
{
    FR_ASSERT(s->groups >= 1);
    const int np = fr_par_threads();
    size_t n = part_stride(s, np) * (size_t)np;
    if (!fr_dw_flat(s)) {   /* either path may run on this scratch (fr_conv_set_legacy) */
        size_t c = ck_scratch(s, np);
        if (c > n) n = c;
    }
    return n ? n : 1;   /* never 0, so it can go straight to an allocator */
}

double fr_conv_flops(const fr_conv_shape *s)
{
    return 2.0 * s->n * s->o * (double)s->oh * s->ow * (s->c / s->groups) * s->kh * s->kw;
}


/* col [cg*kh*kw, P] (tap (ci, ki, kj) at row (ci*kh + ki)*kw + kj, rows ld floats apart) <- one
 * sample's cg input planes.  Every element of the P-wide row segments is written. */
static void im2col(const fr_conv_shape *s, int cg, const float *x, float *col, size_t ld)
{
    const int H = s->h, W = s->w, OH = s->oh, OW = s->ow;
    /* Stride-1 rows as wide as the input: the valid part of a tap is one contiguous run of x
     * (rows follow each other in both), so copy it whole and re-zero the padded columns;
     * per-row copies of 7-28 floats would cost more in calls than in bytes. */
    const int flat = s->sw == 1 && OW == W;
    for (int ci = 0; ci < cg; ci++) {
        const float *xc = x + (size_t)ci * H * W;
        for (int ki = 0; ki < s->kh; ki++) {
            int offy = ki * s->dh - s->pt, ylo, yhi;
            tap_range(offy, s->sh, H, OH, &ylo, &yhi);
            for (int kj = 0; kj < s->kw; kj++) {
                int offx = kj * s->dw - s->pl, xlo, xhi;
                tap_range(offx, s->sw, W, OW, &xlo, &xhi);
                float *row = col + ((size_t)(ci * s->kh + ki) * s->kw + kj) * ld;
                if (ylo > 0) memset(row, 0, sizeof(float) * (size_t)ylo * OW);
                if (flat && yhi > ylo) {
                    /* Source run [a, a+len) of the plane, clipped to the plane; what falls
                     * outside is padding columns of the first/last row. */
                    long a = (long)(ylo * s->sh + offy) * W + offx, len = (long)(yhi - ylo) * OW;
                    long lo = a < 0 ? -a : 0, hi = a + len > (long)H * W ? (long)H * W - a : len;
                    /* A run wholly before or after the plane (large pads): all padding.  Without
                     * the clamps lo > len or hi < 0 wrote outside the row (F8, fuzz_exec:
                     * memset 4 bytes before the im2col scratch). */
                    if (lo > len) lo = len;
                    if (hi < lo) hi = lo;
                    float *r0 = row + (size_t)ylo * OW;
                    if (lo > 0) memset(r0, 0, sizeof(float) * (size_t)lo);
                    if (hi > lo) memcpy(r0 + lo, xc + a + lo, sizeof(float) * (size_t)(hi - lo));
                    if (hi < len) memset(r0 + hi, 0, sizeof(float) * (size_t)(len - hi));
                    if (xlo > 0 || xhi < OW)
                        for (int oy = ylo; oy < yhi; oy++) {
                            float *r = row + (size_t)oy * OW;
                            for (int ox = 0; ox < xlo; ox++) r[ox] = 0.0f;
                            for (int ox = xhi; ox < OW; ox++) r[ox] = 0.0f;
                        }
                } else {
                    for (int oy = ylo; oy < yhi; oy++) {
                        float *r = row + (size_t)oy * OW;
                        const float *xr = xc + (size_t)(oy * s->sh + offy) * W;   /* row start */
                        for (int ox = 0; ox < xlo; ox++) r[ox] = 0.0f;
                        if (s->sw == 1) {
                            for (int ox = xlo; ox < xhi; ox++) r[ox] = xr[ox + offx];
                        } else {
                            for (int ox = xlo; ox < xhi; ox++) r[ox] = xr[ox * s->sw + offx];
                        }
                        for (int ox = xhi; ox < OW; ox++) r[ox] = 0.0f;
                    }
                }
                if (yhi < OH) memset(row + (size_t)yhi * OW, 0, sizeof(float) * (size_t)(OH - yhi) * OW);
            }
        }
    }
}

/* dx += col2im(col); dx holds one sample's cg planes; col rows are ld floats apart. */
static void col2im(const fr_conv_shape *s, int cg, const float *col, float *dx, size_t ld)
{
    const int H = s->h, W = s->w, OH = s->oh, OW = s->ow;
    for (int ci = 0; ci < cg; ci++) {
        float *dc = dx + (size_t)ci * H * W;
        for (int ki = 0; ki < s->kh; ki++) {
            int offy = ki * s->dh - s->pt, ylo, yhi;
            tap_range(offy, s->sh, H, OH, &ylo, &yhi);
            for (int kj = 0; kj < s->kw; kj++) {
                int offx = kj * s->dw - s->pl, xlo, xhi;
                tap_range(offx, s->sw, W, OW, &xlo, &xhi);
                const float *row = col + ((size_t)(ci * s->kh + ki) * s->kw + kj) * ld;
                for (int oy = ylo; oy < yhi; oy++) {
                    const float *restrict r = row + (size_t)oy * OW;
                    float *restrict dr = dc + (size_t)(oy * s->sh + offy) * W;
                    if (s->sw == 1) {
                        for (int ox = xlo; ox < xhi; ox++) dr[ox + offx] += r[ox];
                    } else {
                        for (int ox = xlo; ox < xhi; ox++) dr[ox * s->sw + offx] += r[ox];
                    }
                }
            }
        }
    }
}

/* Forward for samples [lo, hi). */
static void gemm_forward(const fr_conv_shape *s, const float *x, const float *W, const float *b, float *y,
                         float *col, int lo, int hi)
{
    const int G = s->groups, cg = s->c / G, og = s->o / G, K = cg * s->kh * s->kw;
    const size_t P = (size_t)s->oh * s->ow, HW = (size_t)s->h * s->w;
    for (int n = lo; n < hi; n++)
        for (int g = 0; g < G; g++) {
            const float *xg = x + ((size_t)n * s->c + (size_t)g * cg) * HW, *cm = xg;
            float *yg = y + ((size_t)n * s->o + (size_t)g * og) * P;
            if (!is_pointwise(s)) { im2col(s, cg, xg, col, P); cm = col; }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, og, (int)P, K, 1.0f, W + (size_t)g * og * K, K, cm,
                        (int)P, 0.0f, yg, (int)P);
            if (b)
                for (int oc = 0; oc < og; oc++) {
                    const float bv = b[g * og + oc];
                    float *restrict yr = yg + (size_t)oc * P;
                    for (size_t i = 0; i < P; i++) yr[i] += bv;
                }
        }
}

/* Backward for samples [lo, hi): dx of those samples; dWp (if not NULL) gets their dW sum,
 * accumulated in sample order (beta 0 on the part's first sample, then 1). */
static void gemm_backward(const fr_conv_shape *s, const float *x, const float *W, const float *dy, float *dx,
                          float *dWp, float *col, int lo, int hi)
{
    const int G = s->groups, cg = s->c / G, og = s->o / G, K = cg * s->kh * s->kw;
    const size_t P = (size_t)s->oh * s->ow, HW = (size_t)s->h * s->w;
    const int pw = is_pointwise(s);
    for (int n = lo; n < hi; n++)
        for (int g = 0; g < G; g++) {
            const float *xg = x + ((size_t)n * s->c + (size_t)g * cg) * HW;
            const float *dyg = dy + ((size_t)n * s->o + (size_t)g * og) * P;
            const float *Wg = W + (size_t)g * og * K;
            if (dWp) {
                const float *cm = xg;
                if (!pw) { im2col(s, cg, xg, col, P); cm = col; }
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, og, K, (int)P, 1.0f, dyg, (int)P, cm, (int)P,
                            n == lo ? 0.0f : 1.0f, dWp + (size_t)g * og * K, K);
            }
            if (!dx) continue;
            float *dxg = dx + ((size_t)n * s->c + (size_t)g * cg) * HW;
            if (pw) {
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, (int)P, og, 1.0f, Wg, K, dyg, (int)P, 0.0f, dxg,
                            (int)P);
            } else {
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, (int)P, og, 1.0f, Wg, K, dyg, (int)P, 0.0f, col,
                            (int)P);
                memset(dxg, 0, sizeof(float) * (size_t)cg * HW);
                col2im(s, cg, col, dxg, P);
            }
        }
}

/* ---- chunked GEMM path: kernels --------------------------------------------------------- */

/* Chunk [n0, n0+nb): forward.  With nb == 1 the GEMM reads x (pointwise) or the im2col columns
 * and writes y directly; otherwise the chunk's columns are stacked (x planes gathered, or im2col
 * at offset k*P of every row) and the [Og, nb*P] product is scattered to y with the bias. */
static void ck_forward(const fr_conv_shape *s, const float *x, const float *W, const float *b, float *y,
                       float *work, int n0, int nb)
{
    const int G = s->groups, cg = s->c / G, og = s->o / G, K = cg * s->kh * s->kw;
    const size_t P = (size_t)s->oh * s->ow, HW = (size_t)s->h * s->w, ld = (size_t)nb * P;
    const int pw = is_pointwise(s);
    float *col = work, *buf = work + (size_t)K * ld;
    for (int g = 0; g < G; g++) {
        const float *Wg = W + (size_t)g * og * K;
        const float *cm = col;
        if (nb == 1 && pw) cm = x + ((size_t)n0 * s->c + (size_t)g * cg) * HW;
        else
            for (int k = 0; k < nb; k++) {
                const float *xg = x + ((size_t)(n0 + k) * s->c + (size_t)g * cg) * HW;
                if (!pw) im2col(s, cg, xg, col + (size_t)k * P, ld);
                else
                    for (int ci = 0; ci < cg; ci++) memcpy(col + ci * ld + k * P, xg + ci * HW, sizeof(float) * P);
            }
        float *out = nb == 1 ? y + ((size_t)n0 * s->o + (size_t)g * og) * P : buf;
        /* A one-sample chunk starts y at the bias and lets the GEMM add the product (beta 1):
         * that replaces OpenBLAS's zeroing pass (beta 0) and our bias pass over y, two of the
         * five passes over the largest activations (a 112x112 expand conv's 4.8 MB per sample).
         * OpenBLAS adds a product to C once per K block, so with K within one block C = bias +
         * acc rounds once, exactly as acc + bias did: the same bits (test_conv_chunk). */
        const int bias_in_c = nb == 1 && b && K <= CK_BIAS_IN_C_MAX_K;
        if (bias_in_c)
            for (int oc = 0; oc < og; oc++) {
                float *restrict yr = out + (size_t)oc * P;
                const float bv = b[g * og + oc];
                for (size_t i = 0; i < P; i++) yr[i] = bv;
            }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, og, (int)ld, K, 1.0f, Wg, K, cm, (int)ld,
                    bias_in_c ? 1.0f : 0.0f, out, (int)ld);
        for (int k = 0; k < nb; k++)
            for (int oc = 0; oc < og; oc++) {
                float *restrict yr = y + ((size_t)(n0 + k) * s->o + (size_t)g * og + oc) * P;
                const float bv = b ? b[g * og + oc] : 0.0f;
                if (nb == 1) {
                    if (b && !bias_in_c) for (size_t i = 0; i < P; i++) yr[i] += bv;
                } else {
                    const float *restrict br = buf + oc * ld + k * P;
                    for (size_t i = 0; i < P; i++) yr[i] = br[i] + bv;
                }
            }
    }
}

/* Chunk [n0, n0+nb): backward.  dWc (if not NULL) gets this chunk's dW (beta 0); dx (if not
 * NULL) its samples' input gradients. */
static void ck_backward(const fr_conv_shape *s, const float *x, const float *W, const float *dy, float *dx,
                        float *dWc, float *work, int n0, int nb)
{
    const int G = s->groups, cg = s->c / G, og = s->o / G, K = cg * s->kh * s->kw;
    const size_t P = (size_t)s->oh * s->ow, HW = (size_t)s->h * s->w, ld = (size_t)nb * P;
    const int pw = is_pointwise(s);
    float *col = work, *buf = work + (size_t)K * ld;
    for (int g = 0; g < G; g++) {
        const float *Wg = W + (size_t)g * og * K;
        const float *dm = buf;   /* the chunk's dy, [og, ld] */
        if (nb == 1) dm = dy + ((size_t)n0 * s->o + (size_t)g * og) * P;
        else
            for (int k = 0; k < nb; k++)
                for (int oc = 0; oc < og; oc++)
                    memcpy(buf + oc * ld + k * P, dy + ((size_t)(n0 + k) * s->o + (size_t)g * og + oc) * P,
                           sizeof(float) * P);
        if (dWc) {
            const float *cm = col;
            if (nb == 1 && pw) cm = x + ((size_t)n0 * s->c + (size_t)g * cg) * HW;
            else
                for (int k = 0; k < nb; k++) {
                    const float *xg = x + ((size_t)(n0 + k) * s->c + (size_t)g * cg) * HW;
                    if (!pw) im2col(s, cg, xg, col + (size_t)k * P, ld);
                    else
                        for (int ci = 0; ci < cg; ci++) memcpy(col + ci * ld + k * P, xg + ci * HW, sizeof(float) * P);
                }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, og, K, (int)ld, 1.0f, dm, (int)ld, cm, (int)ld, 0.0f,
                        dWc + (size_t)g * og * K, K);
        }
        if (!dx) continue;
        if (nb == 1 && pw) {
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, (int)P, og, 1.0f, Wg, K, dm, (int)P, 0.0f,
                        dx + ((size_t)n0 * s->c + (size_t)g * cg) * HW, (int)P);
            continue;
        }
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, (int)ld, og, 1.0f, Wg, K, dm, (int)ld, 0.0f, col,
                    (int)ld);
        for (int k = 0; k < nb; k++) {
            float *dxg = dx + ((size_t)(n0 + k) * s->c + (size_t)g * cg) * HW;
            if (pw) {
                for (int ci = 0; ci < cg; ci++) memcpy(dxg + ci * HW, col + ci * ld + k * P, sizeof(float) * P);
            } else {
                memset(dxg, 0, sizeof(float) * (size_t)cg * HW);
                col2im(s, cg, col + (size_t)k * P, dxg, ld);
            }
        }
    }
}

typedef struct ck_job {
    const fr_conv_shape *s;
    const float *x, *W, *b, *dy;   /* dy == NULL: forward */
    float *y, *dx, *dW, *db, *scratch;
    ck_geom g;
    size_t wk, part_floats;        /* dW partial stride, working slice floats */
    int reduce;                    /* second region: add the partials */
    int gn, c0, c1, base;          /* chunks [c0, c1) of a batch of gn, whose sample base is x's first */
} ck_job;

static void ck_part(void *ctx, int part, int nparts)
{
    const ck_job *j = ctx;
    const fr_conv_shape *s = j->s;
    if (j->reduce) {   /* dW = sum of the chunk partials in chunk order, element ranges per part */
        if (j->db) {   /* and db, channel ranges per part: each channel's sum in sample order */
            const size_t P = (size_t)s->oh * s->ow;
            int o0, o1;
            fr_par_range(s->o, part, nparts, &o0, &o1);
            for (int oc = o0; oc < o1; oc++) {
                double t = 0.0;
                for (int n = 0; n < s->n; n++) t += sumf(j->dy + ((size_t)n * s->o + oc) * P, P);
                j->db[oc] = (float)t;
            }
        }
        if (!j->dW) return;
        size_t KW = ck_wsize(s), blocks = (KW + 15) / 16;
        size_t a = blocks * (size_t)part / (size_t)nparts * 16, e = blocks * (size_t)(part + 1) / (size_t)nparts * 16;
        if (e > KW) e = KW;
        if (a >= e) return;
        memcpy(j->dW + a, j->scratch + a, sizeof(float) * (e - a));
        for (int c = 1; c < j->g.nck; c++) {
            const float *restrict pc = j->scratch + j->wk * (size_t)c;
            float *restrict d = j->dW;
            for (size_t i = a; i < e; i++) d[i] += pc[i];
        }
        return;
    }
    float *work = j->scratch + j->wk * (size_t)j->g.nck + j->part_floats * (size_t)part;
    int c0, c1;
    fr_par_range(j->c1 - j->c0, part, nparts, &c0, &c1);
    for (int c = j->c0 + c0; c < j->c0 + c1; c++) {
        int n0, n1;
        fr_par_range(j->gn, c, j->g.nck, &n0, &n1);
        n0 -= j->base;
        n1 -= j->base;
        if (n1 == n0) continue;
        if (!j->dy) ck_forward(s, j->x, j->W, j->b, j->y, work, n0, n1 - n0);
        else ck_backward(s, j->x, j->W, j->dy, j->dx, j->dW ? j->scratch + j->wk * (size_t)c : NULL, work, n0, n1 - n0);
    }
}

static void ck_run(const fr_conv_shape *s, const float *x, const float *W, const float *b, const float *dy, float *y,
                   float *dx, float *dW, float *db, float *scratch)
{
    const int gn = s->slice_of > 0 ? s->slice_of : s->n;
    ck_job j = {s, x, W, b, dy, y, dx, dW, db, scratch, ck_geometry(s, gn), 0, 0, 0, gn, 0, 0, 0};
    j.c1 = j.g.nck;
    if (s->slice_of > 0) {   /* the chunks of the whole batch that make up the slice */
        FR_ASSERT(!dy && s->slice0 >= 0 && s->slice0 + s->n <= gn);
        int a, e;
        j.c0 = j.c1 = -1;
        for (int c = 0; c < j.g.nck; c++) {
            fr_par_range(gn, c, j.g.nck, &a, &e);
            if (a == s->slice0 && j.c0 < 0) j.c0 = c;
            if (e == s->slice0 + s->n) j.c1 = c + 1;
        }
        FR_ASSERT(j.c0 >= 0 && j.c1 > j.c0);   /* a slice of whole chunks */
        j.base = s->slice0;
    }
    j.wk = (ck_wsize(s) + 15) & ~(size_t)15;
    j.part_floats = ck_part_floats(s, &j.g);
    if (!dy || !dW) j.wk = 0;   /* no partials: the slices start at the scratch's beginning */
    fr_par_run(ck_part, &j);
    if (dy && (dW || db)) {
        j.reduce = 1;
        fr_par_run(ck_part, &j);
    }
}

int fr_conv_can_fold_act(const fr_conv_shape *s) { return fr_dw_flat(s); }

/* ---- conv: public entry points ------------------------------------------------------------ */

/* One region's arguments.  Parts split the samples (GEMM path) or the channels (depthwise, so
 * dW needs no reduction); part p works in scratch slice p. */
typedef struct conv_job {
    const fr_conv_shape *s;
    const float *x, *W, *b, *dy;   /* dy == NULL: forward */
    float *y, *dx, *dW, *db, *scratch;
    size_t stride;
} conv_job;

static void conv_part(void *ctx, int part, int nparts)
{
    const conv_job *j = ctx;
    const fr_conv_shape *s = j->s;
    float *scr = j->scratch + j->stride * (size_t)part;
    const int dw = fr_dw_flat(s);
    int lo, hi;
    fr_par_range(dw ? s->c : s->n, part, nparts, &lo, &hi);
    if (!j->dy) {
        if (dw) fr_dw_forward(s, j->x, j->W, j->b, j->y, scr, lo, hi);
        else gemm_forward(s, j->x, j->W, j->b, j->y, scr, lo, hi);
    } else if (dw) {
        fr_dw_backward(s, j->x, j->W, j->dy, j->dx, j->dW, j->db, scr, lo, hi);
    } else if (hi > lo) {
        float *dWp = !j->dW ? NULL : nparts == 1 ? j->dW : scr + part_scratch(s);
        gemm_backward(s, j->x, j->W, j->dy, j->dx, dWp, scr, lo, hi);
    }
}

void fr_conv_forward(const fr_conv_shape *s, const float *x, const float *W, const float *b,
                     float *y, float *scratch)
{
    FR_ASSERT(s->groups >= 1 && s->c % s->groups == 0 && s->o % s->groups == 0);
    FR_ASSERT(s->oh > 0 && s->ow > 0);
    FR_ASSERT((!s->act && !s->oact) || fr_dw_flat(s));
    FR_ASSERT(!s->oact || s->yact);
    if (s->n <= 0) return;
    if (!fr_conv_legacy() && !fr_dw_flat(s)) { ck_run(s, x, W, b, NULL, y, NULL, NULL, NULL, scratch); return; }
    conv_job j = {s, x, W, b, NULL, y, NULL, NULL, NULL, scratch, part_stride(s, fr_par_threads())};
    fr_par_run(conv_part, &j);
}

void fr_conv_backward(const fr_conv_shape *s, const float *x, const float *W, const float *dy,
                      float *dx, float *dW, float *db, float *scratch)
{
    FR_ASSERT(s->groups >= 1 && s->c % s->groups == 0 && s->o % s->groups == 0);
    FR_ASSERT(s->oh > 0 && s->ow > 0);
    FR_ASSERT((!s->act && !s->oact) || fr_dw_flat(s));
    FR_ASSERT(!s->oact || s->ypre);
    const size_t KW = (size_t)s->o * (s->c / s->groups) * s->kh * s->kw;
    const size_t P = (size_t)s->oh * s->ow;
    if (s->n <= 0) {
        if (dW) memset(dW, 0, sizeof(float) * KW);
        if (db) memset(db, 0, sizeof(float) * (size_t)s->o);
        return;
    }
    const int np = fr_par_threads();
    const int chunked = !fr_conv_legacy() && !fr_dw_flat(s);
    conv_job j = {s, x, W, NULL, dy, NULL, dx, dW, db, scratch, part_stride(s, np)};
    if (chunked) ck_run(s, x, W, NULL, dy, NULL, dx, dW, db, scratch);
    else fr_par_run(conv_part, &j);
    if (fr_dw_flat(s)) return;
    if (db && !chunked) {
        for (int oc = 0; oc < s->o; oc++) {
            double t = 0.0;
            for (int n = 0; n < s->n; n++) t += sumf(dy + ((size_t)n * s->o + oc) * P, P);
            db[oc] = (float)t;
        }
    }
    if (dW && np > 1 && !chunked) {   /* parts' partial sums, added in part order (deterministic) */
        int first = 1;
        for (int p = 0; p < np; p++) {
            int lo, hi;
            fr_par_range(s->n, p, np, &lo, &hi);
            if (hi == lo) continue;
            const float *part = scratch + j.stride * (size_t)p + part_scratch(s);
            if (first) memcpy(dW, part, sizeof(float) * KW);
            else for (size_t i = 0; i < KW; i++) dW[i] += part[i];
            first = 0;
        }
    }
}
