/* heatagg.c — aggregates of one layer's weight matrix: per heatmap tile and per channel
 * (heatagg.h).
 *
 * Design note
 *   Two summaries of the same rows x columns matrix, both for matrices too large to read weight
 *   by weight (a transformer projection has 10^6 weights; a panel has ~10^3 pixels):
 *   - per tile: what one heatmap pixel shows (max or mean |value|), used by plot.c and
 *     pngplot.c alike, with the one label both print;
 *   - per channel: max |W|, aggressive fraction and mean |shift| per output row and per input
 *     channel, with the outlier rule below; the channel view (view_chan.c) draws them.
 *   Non-finite entries are skipped (a NaN weight is the heatmap's business: it draws it black
 *   in its own colour path), so one bad value cannot turn a whole tile or channel into NaN.
 *   Pure functions; no globals; the only allocations are fr_chanstats' arrays.
 */
#include "frtui/heatagg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frtui/common.h"
#include "frtui/plotmodel.h"   /* fr_plot_point_class: the scatter's band rule */

float fr_heatagg_tile(const float *v, size_t ld, int r0, int r1, int c0, int c1, int agg)
{
    double sum = 0, mx = 0;
    int64_t n = 0;
    for (int i = r0; i < r1; i++) {
        const float *row = v + (size_t)i * ld;
        for (int j = c0; j < c1; j++) {
            float a = fabsf(row[j]);
            if (!isfinite(a)) continue;
            sum += a;
            if (a > mx) mx = a;
            n++;
        }
    }
    if (!n) return NAN;
    if (agg == FR_HAGG_MAX_ABS) return (float)mx;
    if (agg == FR_HAGG_MEAN_ABS) return (float)(sum / (double)n);
    return NAN;
}

void fr_heatagg_grid(const float *v, int rows, int cols, int tr, int tc, int agg, float *out)
{
    tr = FR_MAX(tr, 1);
    tc = FR_MAX(tc, 1);
    int gr = (rows + tr - 1) / tr, gc = (cols + tc - 1) / tc;
    for (int a = 0; a < gr; a++)
        for (int b = 0; b < gc; b++)
            out[(size_t)a * gc + b] =
                fr_heatagg_tile(v, (size_t)cols, a * tr, FR_MIN(rows, (a + 1) * tr), b * tc, FR_MIN(cols, (b + 1) * tc), agg);
}

static void side(char *b, size_t n, int lo, int hi)
{
    if (hi > lo) snprintf(b, n, "%d-%d", lo, hi);
    else snprintf(b, n, "%d", lo);
}

static void label(char *buf, size_t n, int agg, const char *what, int tr_lo, int tr_hi, int tc_lo, int tc_hi, int brief)
{
    const char *op = agg == FR_HAGG_MEAN_ABS ? "mean" : "max";
    tr_hi = FR_MAX(tr_hi, tr_lo);
    tc_hi = FR_MAX(tc_hi, tc_lo);
    char r[24], c[24];
    side(r, sizeof r, tr_lo, tr_hi);
    side(c, sizeof c, tc_lo, tc_hi);
    if (tr_hi <= 1 && tc_hi <= 1) {   /* one weight per pixel: nothing is aggregated */
        if (brief) snprintf(buf, n, "|%s| 1x1", what);
        else snprintf(buf, n, "|%s| per weight", what);
    } else if (brief) {
        snprintf(buf, n, "%s|%s| %sx%s", op, what, r, c);
    } else {
        snprintf(buf, n, "%s |%s| per %sx%s tile", op, what, r, c);
    }
}

void fr_heatagg_label(char *buf, size_t n, int agg, const char *what, int tr_lo, int tr_hi, int tc_lo, int tc_hi)
{
    label(buf, n, agg, what, tr_lo, tr_hi, tc_lo, tc_hi, 0);
}

void fr_heatagg_label_short(char *buf, size_t n, int agg, const char *what, int tr_lo, int tr_hi, int tc_lo, int tc_hi)
{
    label(buf, n, agg, what, tr_lo, tr_hi, tc_lo, tc_hi, 1);
}

/* ---------------------------------------------------------------- per channel */

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Median of the finite entries (mean of the two middle ones for an even count); 0 when none. */
static float median_of(const float *v, int n)
{
    float *t = fr_xmalloc((size_t)FR_MAX(n, 1) * sizeof *t);
    int k = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(v[i])) t[k++] = v[i];
    float m = 0;
    if (k) {
        qsort(t, (size_t)k, sizeof *t, cmp_float);
        m = k % 2 ? t[k / 2] : 0.5f * (t[k / 2 - 1] + t[k / 2]);
    }
    free(t);
    return m;
}

typedef struct { float v; int i; } keyed;
static int cmp_keyed_desc(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    if (x->v != y->v) return x->v < y->v ? 1 : -1;
    return (x->i > y->i) - (x->i < y->i);
}

/* The outlier rule.
 *   Reference: the median over the layer's channels of max |W|.  The median, not the mean or a
 *   standard deviation, because the channels we look for would inflate those themselves; a
 *   median moves little even when a quarter of the channels are outliers.
 *   Ratio 6: a channel whose range is 6x the typical one costs every other channel sharing its
 *   grid log2(6) = 2.6 bits (at W4 they keep fewer than 3 of 16 levels), which is what makes
 *   per-tensor and per-group grids fail on LLM weights; LLM.int8() uses the same magnitude 6 for
 *   its outlier features.  On a well-behaved (roughly Gaussian) layer the channel maxima differ
 *   by well under 2x, so the rule stays silent there.
 *   Fewer than FR_CHAN_MIN_CHANNELS channels, or a median of 0 (mostly pruned channels): no
 *   rule, no outliers; a ratio to nothing would flag every nonzero channel. */
static void outliers_of(fr_chan_axis *a, double ratio)
{
    a->median = median_of(a->max_w, a->n);
    a->thresh = a->n >= FR_CHAN_MIN_CHANNELS && a->median > 0 ? (float)(ratio * a->median) : 0;
    a->out = fr_xmalloc((size_t)FR_MAX(a->n, 1) * sizeof *a->out);
    a->n_out = 0;
    if (!(a->thresh > 0)) return;
    keyed *k = fr_xmalloc((size_t)FR_MAX(a->n, 1) * sizeof *k);
    for (int i = 0; i < a->n; i++)
        if (a->max_w[i] > a->thresh) k[a->n_out++] = (keyed){a->max_w[i], i};
    qsort(k, (size_t)a->n_out, sizeof *k, cmp_keyed_desc);
    for (int i = 0; i < a->n_out; i++) a->out[i] = k[i].i;
    free(k);
}

static void axis_alloc(fr_chan_axis *a, int n)
{
    memset(a, 0, sizeof *a);
    a->n = n;
    a->max_w = fr_xcalloc((size_t)FR_MAX(n, 1), sizeof *a->max_w);
    a->aggr = fr_xcalloc((size_t)FR_MAX(n, 1), sizeof *a->aggr);
    a->mean_shift = fr_xcalloc((size_t)FR_MAX(n, 1), sizeof *a->mean_shift);
}

void fr_chanstats_compute(const float *w, const float *shift, const uint8_t *cls, int rows, int in_ch, int group,
                          double ratio, fr_chanstats *cs)
{
    rows = FR_MAX(rows, 0);
    in_ch = FR_MAX(in_ch, 0);
    group = FR_MAX(group, 1);
    if (!(ratio > 0)) ratio = FR_CHAN_OUTLIER_RATIO;
    axis_alloc(&cs->row, rows);
    axis_alloc(&cs->col, in_ch);
    int cols = in_ch * group;
    /* counts per channel: weights, aggressive ones, finite shifts (sums go into the arrays) */
    int64_t *rn = fr_xcalloc((size_t)FR_MAX(rows, 1) * 3, sizeof *rn), *cn = fr_xcalloc((size_t)FR_MAX(in_ch, 1) * 3, sizeof *cn);
    double *rs = fr_xcalloc((size_t)FR_MAX(rows, 1), sizeof *rs), *csum = fr_xcalloc((size_t)FR_MAX(in_ch, 1), sizeof *csum);
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) {
            size_t k = (size_t)i * cols + j;
            int ch = j / group;
            float a = w ? fabsf(w[k]) : NAN;
            if (isfinite(a)) {
                if (a > cs->row.max_w[i]) cs->row.max_w[i] = a;
                if (a > cs->col.max_w[ch]) cs->col.max_w[ch] = a;
            }
            int agg = cls ? cls[k] == FR_WC_AGGRESSIVE : shift ? fr_plot_point_class(shift[k]) == FR_WC_AGGRESSIVE : 0;
            rn[3 * i]++, cn[3 * ch]++;
            rn[3 * i + 1] += agg, cn[3 * ch + 1] += agg;
            float s = shift ? fabsf(shift[k]) : NAN;
            if (isfinite(s)) {
                rs[i] += s, csum[ch] += s;
                rn[3 * i + 2]++, cn[3 * ch + 2]++;
            }
        }
    for (int i = 0; i < rows; i++) {
        cs->row.aggr[i] = rn[3 * i] ? (float)((double)rn[3 * i + 1] / (double)rn[3 * i]) : 0;
        cs->row.mean_shift[i] = rn[3 * i + 2] ? (float)(rs[i] / (double)rn[3 * i + 2]) : NAN;
    }
    for (int c = 0; c < in_ch; c++) {
        cs->col.aggr[c] = cn[3 * c] ? (float)((double)cn[3 * c + 1] / (double)cn[3 * c]) : 0;
        cs->col.mean_shift[c] = cn[3 * c + 2] ? (float)(csum[c] / (double)cn[3 * c + 2]) : NAN;
    }
    free(rn), free(cn), free(rs), free(csum);
    outliers_of(&cs->row, ratio);
    outliers_of(&cs->col, ratio);
}

static void axis_free(fr_chan_axis *a)
{
    free(a->max_w), free(a->aggr), free(a->mean_shift), free(a->out);
    memset(a, 0, sizeof *a);
}

void fr_chanstats_free(fr_chanstats *cs)
{
    axis_free(&cs->row);
    axis_free(&cs->col);
}
