/* heatagg.h — what one heatmap pixel stands for when it covers a tile of weights, and the
 * per-channel statistics of a layer (outlier channels of LLM weights).
 *
 * Design note
 *   A zoomed-out heatmap pixel summarises a tile of weights.  The default (FR_HAGG_EXTREME)
 *   keeps the most extreme signed value of the tile, so one outlier stays visible: for the
 *   rounding shift that is the max |shift| per tile.  FR_HAGG_MEAN_ABS is the mean |value| of
 *   the tile: where a layer rounds far on average, not where one weight does.  Both renderers
 *   (plot.c in cells, pngplot.c in pixels) reduce tiles through fr_heatagg_tile and print
 *   the same label from fr_heatagg_label, so the screen and an exported PNG say the same thing.
 *   The shift itself is the snapshot's per-weight array (fr_layer_view.shift, code - W/s1, the
 *   scatter's y and the histogram's x); nothing here recomputes it.
 *
 *   Pure functions over caller-owned arrays; fr_chanstats owns its arrays (fr_chanstats_free).
 */
#ifndef FRTUI_HEATAGG_H
#define FRTUI_HEATAGG_H

#include <stddef.h>
#include <stdint.h>

enum { FR_HAGG_EXTREME = 0, FR_HAGG_MAX_ABS = 1, FR_HAGG_MEAN_ABS = 2 };

/* Reduces rows [r0, r1) x columns [c0, c1) of a row-major matrix with row stride ld:
 * FR_HAGG_MAX_ABS max |v|, FR_HAGG_MEAN_ABS mean |v|, over the finite entries; NaN when the
 * tile has none (or for FR_HAGG_EXTREME, which the renderers handle in their colour space). */
float fr_heatagg_tile(const float *v, size_t ld, int r0, int r1, int c0, int c1, int agg);
/* The whole matrix in tiles of tr x tc (the last row/column of tiles may be smaller):
 * out[ceil(rows/tr) * ceil(cols/tc)], row-major. */
void fr_heatagg_grid(const float *v, int rows, int cols, int tr, int tc, int agg, float *out);
/* "mean |shift| per 4x8 tile" (rows x columns), "max |log2 S2| per 4x8 tile", "|shift| per
 * weight" for 1x1 tiles; tr_lo < tr_hi (tc likewise) when tiles alternate between two sizes
 * ("per 3-4x8 tile").  what: the quantity ("shift", "log2 S2").  The short form for narrow
 * panels: "mean|shift| 4x8", "|shift| 1x1". */
void fr_heatagg_label(char *buf, size_t n, int agg, const char *what, int tr_lo, int tr_hi, int tc_lo, int tc_hi);
void fr_heatagg_label_short(char *buf, size_t n, int agg, const char *what, int tr_lo, int tr_hi, int tc_lo, int tc_hi);

/* ---- per-channel statistics (the channel view) ---- */

/* A channel is an outlier when its max |W| exceeds FR_CHAN_OUTLIER_RATIO times the median
 * over the layer's channels of max |W| (rule and reasons in heatagg.c). */
#define FR_CHAN_OUTLIER_RATIO 6.0
#define FR_CHAN_MIN_CHANNELS 4   /* fewer channels: no median worth comparing with, no outliers */

typedef struct fr_chan_axis {
    int n;                   /* channels */
    float *max_w;            /* [n] max |W| over the channel's weights (finite ones) */
    float *aggr;             /* [n] fraction of the channel's weights rounded aggressively */
    float *mean_shift;       /* [n] mean |shift| (grid steps); NaN without a shift array */
    float median, thresh;    /* median of max_w; outlier threshold (0: no rule applies) */
    int n_out;
    int *out;                /* [n_out] outlier channel indices, largest max |W| first */
} fr_chan_axis;

typedef struct fr_chanstats {
    fr_chan_axis row;        /* output channels (heatmap rows) */
    fr_chan_axis col;        /* input channels: groups of `group` columns (kh*kw for a conv) */
} fr_chanstats;

/* Statistics of a rows x (in_ch * group) matrix W with per-weight shift and classes (either
 * may be NULL; without classes a weight is aggressive when |shift| > 1, the scatter's band
 * rule).  ratio <= 0: FR_CHAN_OUTLIER_RATIO. */
void fr_chanstats_compute(const float *w, const float *shift, const uint8_t *cls, int rows, int in_ch, int group,
                          double ratio, fr_chanstats *cs);
void fr_chanstats_free(fr_chanstats *cs);

#endif
