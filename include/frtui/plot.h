/* plot.h — pure plotting functions: data + rectangle -> cells in an fr_canvas, and the plot
 * maths (plotmath.c) that the cell and the pixel renderer share.
 *
 * Every function draws only inside the rectangle it is given, reads its inputs without
 * keeping pointers, and allocates only scratch memory freed before returning.  Glyph choice
 * follows the canvas mode (braille/half-blocks in UTF-8, ASCII ladders otherwise).
 */
#ifndef FRTUI_PLOT_H
#define FRTUI_PLOT_H

#include <stdint.h>
#include "frtui/canvas.h"
#include "frtui/qdefs.h"

#define FR_SMOOTH_MAX 0.999   /* smoothing 1.0 would flatten the curve (TensorBoard PR #4372) */

/* Debiased EMA (TensorBoard #6439 fix): out[t] = ema_t / (1 - a^(t+1)), a = clamp(smooth,
 * 0, FR_SMOOTH_MAX).  Non-finite inputs are skipped (out[t] repeats the previous value, NaN
 * before the first finite one).  out may alias x. */
void fr_plot_ema(const float *x, int n, double smooth, float *out);

/* "Nice" tick values (1, 2, 5 x 10^k) covering [lo, hi]; returns the count (<= maxn). */
int fr_plot_ticks(double lo, double hi, int maxn, double *out);
/* The one tick algorithm: up to cap ticks (multiples of 1, 2 or 5 x 10^k) inside [lo, hi],
 * about max_ticks of them; the step goes to *step (may be NULL). */
int fr_plot_nice_ticks(double lo, double hi, int max_ticks, double *out, int cap, double *step);
/* Compact number label: 3 significant digits, exponent only when needed ("1.2e-3"). */
void fr_plot_fmt(char *buf, size_t n, double v);
/* Tick label whose precision follows the tick step (step <= 0: 3 significant digits);
 * exponent form without padding for tiny/huge values: 1e-3 -> "1e-3", 120000 -> "1.2e5". */
void fr_plot_fmt_step(double v, double step, char *buf, size_t n);

/* ---- loss curve ---- */
typedef struct fr_loss_opts {
    int logy;          /* log10 y axis */
    int follow;        /* window ends at the newest iteration */
    int zoom;          /* 0: whole planned run; k: window of planned >> k iterations (>= 16) */
    int start;         /* first iteration of the window when !follow */
    double smooth;     /* EMA smoothing in [0, FR_SMOOTH_MAX] */
    double ref;        /* horizontal reference (RTN loss); <= 0 or NaN: none */
    double ylo, yhi;   /* y range (values, also under log) when ylo < yhi; else fr_plot_loss_range */
    const float *ema;  /* [n] smoothed series to draw; NULL: fr_plot_ema(loss, smooth) */
} fr_loss_opts;
/* Raw series (dim) as a min/max envelope per dot column, the debiased EMA on top, x axis in
 * iterations (`planned` sets the full-width scale so progress is visible). */
void fr_plot_loss(fr_canvas *c, fr_rect r, const float *loss, int n, int planned, const fr_loss_opts *o);
/* The iteration window the loss plot shows: [*a, *b). */
void fr_plot_loss_window(int n, int planned, const fr_loss_opts *o, int *a, int *b);
/* y range of loss[a..b) (finite, > 0 under log), with the reference when near the data, padded
 * 6 % in axis space; NaN when there is nothing to show. */
void fr_plot_loss_range(const float *loss, int n, int a, int b, int logy, double ref, double *ylo, double *yhi);

/* ---- scatter ---- */
typedef struct fr_scatter_opts {
    int abs_x;         /* x = |x| on [0, xmax]; else x on [-xmax, xmax] */
    float xmax, ymax;  /* 0: automatic (see fr_plot_scatter_range) */
    int band;          /* mark the +-1 band; points outside it are drawn hot */
    int y_is_units;    /* y labels as integers (grid units) */
    const char *xlabel;
    /* Per-point enum fr_wclass (the snapshot's cls array) or NULL.  With classes, points are
     * coloured inside / aggressive / clipped (fr_plot_class_colour) instead of by the band, and
     * the automatic axes reach the largest |x| and |y| (fr_plot_scatter_range_all): large
     * weights are drawn where they are, not pinned to the border. */
    const uint8_t *cls;
} fr_scatter_opts;
/* Robust axis ranges: the 99.9th percentile of |x| and |y| (sampled), so one clipped weight
 * does not squash the cloud; points beyond are drawn on the border (hot when banded). */
void fr_plot_scatter_range(const float *x, const float *y, int64_t n, int abs_x, float *xmax, float *ymax);
/* Axes that reach every finite point: max |x| (padded 5 %) and max |y| (padded 10 %). */
void fr_plot_scatter_range_all(const float *x, const float *y, int64_t n, float *xmax, float *ymax);
/* The scatter's colour of a point class (enum fr_wclass), at density t in [0, 1] (1 = densest);
 * the TUI legends use t = 1. */
uint32_t fr_plot_class_colour(int cls, float t);
/* q-quantile of |v| (log2_mode: of |log2 v|) over at most 4096 evenly strided samples,
 * ignoring non-finite values; 0 when there are none. */
float fr_plot_quantile_abs(const float *v, int64_t n, double q, int log2_mode);
/* Smallest of 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2 that is >= r (2 when above). */
float fr_plot_nice_range(float r);
void fr_plot_scatter(fr_canvas *c, fr_rect r, const float *x, const float *y, int64_t n, const fr_scatter_opts *o);

/* ---- heatmap ---- */
enum { FR_HEAT_LOG2 = 0, FR_HEAT_LINEAR = 1 };
typedef struct fr_heat_opts {
    int rows, cols;        /* matrix shape (out x in*kh*kw) */
    int zoom;              /* 0 = fit; each step doubles the scale */
    int top, left;         /* first matrix row / column shown */
    int cur_r, cur_c;      /* cursor (matrix coordinates) */
    int show_cursor;
    int mode;              /* FR_HEAT_LOG2: t = log2(v)/range (centre 1); LINEAR: t = v/range (centre 0) */
    float range;
    int head_rows, head_cols; /* > 0: attention heads of that many rows / columns; their boundaries
                               * are drawn where a head spans at least 3 pixels */
    int agg;               /* FR_HAGG_* (heatagg.h): 0 the most extreme value per pixel; else max or
                            * mean |v| per tile, on whole tiles (fr_plot_heat_geom_tiled) */
} fr_heat_opts;
/* Geometry at the given zoom, per axis: s = pixels per weight (fractional; < 1 means each
 * pixel summarises a block of weights), how many matrix rows / cols fit, and the cursor step
 * that moves one pixel.  Axes scale independently so the wide unfolded conv matrices
 * (out x in*kh*kw) fill the panel instead of a thin strip; zoom 0 fits the whole matrix. */
typedef struct fr_heat_geom {
    double sr, sc;
    int vis_rows, vis_cols, step_r, step_c, px_w, px_h;
    int tile_r_lo, tile_r_hi, tile_c_lo, tile_c_hi;   /* weights per pixel: rows, columns (lo < hi: alternating) */
} fr_heat_geom;
fr_heat_geom fr_plot_heat_geom(fr_rect r, int utf8, int rows, int cols, int zoom);
/* tiled != 0: zoomed out, each pixel covers a whole number of weights per axis (the scale is
 * rounded down to 1/k), so every tile of an aggregate view has the same size; the picture may
 * then leave part of the rectangle empty. */
fr_heat_geom fr_plot_heat_geom_tiled(fr_rect r, int utf8, int rows, int cols, int zoom, int tiled);
void fr_plot_heatmap(fr_canvas *c, fr_rect r, const float *v, const fr_heat_opts *o);
/* One-row legend: low label, gradient, centre label, gradient, high label. */
void fr_plot_colourbar(fr_canvas *c, int x, int y, int w, int mode, float range);
uint32_t fr_plot_heat_colour(float v, int mode, float range);

/* ---- histogram ---- */
/* Bars of `counts` over [lo, hi] rebinned to the rectangle width; `marks` are x positions
 * drawn as dim guides (e.g. the +-1 band); the last row holds the x labels. */
void fr_plot_hist(fr_canvas *c, fr_rect r, const double *counts, int nbins, double lo, double hi,
                  const double *marks, int n_marks, uint32_t col, const char *title);

/* ---- lines with bands (the sweep view) ---- */
typedef struct fr_plot_line {
    const double *x, *y;     /* n points, x increasing; non-finite y is a gap */
    const double *lo, *hi;   /* the band (seed spread) or NULL */
    int n;
    uint32_t col;            /* the line's colour (a role: FR_R_RTN ...) */
} fr_plot_line;
/* y against x, one line per entry, the bands beneath; the last row holds the x labels (every
 * integer when integer_x and they fit: weight bits). */
void fr_plot_lines(fr_canvas *c, fr_rect r, const fr_plot_line *ls, int nl, int integer_x);

#endif
