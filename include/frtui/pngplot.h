/* pngplot.h — publication-style plots rendered into an fr_raster at native resolution.
 *
 * Every plot takes plain arrays (no knowledge of the engine) through a small input struct,
 * renders into a new canvas (fr_pngplot_render_*; caller frees with fr_raster_free) or straight
 * to a PNG file (fr_pngplot_*; atomic write).  Non-finite values are skipped (and counted in the
 * plot's note line) rather than rejected; structural problems (NULL arrays, empty series,
 * non-increasing bin edges, absurd sizes) return FR_EINPUT.
 * The optional fr_plot_geom output reports where the data landed so callers (the TUI's mouse
 * picking, the tests) can map data to pixels. */
#ifndef FRTUI_PNGPLOT_H
#define FRTUI_PNGPLOT_H

#include <stddef.h>
#include <stdint.h>
#include "frtui/common.h"
#include "frtui/raster.h"

/* Plot rectangle in pixels and its data range.  Heatmap: x/y are column/row indices, weight
 * (r, c) is drawn in pixels [x0 + (c/down)*cell, +cell) x [y0 + (r/down_h)*cell_h, +cell_h)
 * (down_h == down except for an aggregate view's non-square tiles).
 * Cells are square except for very flat or very tall matrices, which are stretched to stay
 * readable (a 10 x 784 layer would otherwise be a 10-pixel strip). */
typedef struct fr_plot_geom {
    int x0, y0, w, h;
    double xmin, xmax, ymin, ymax;
    int logy;
    int cell, cell_h, down;  /* heatmap only: cell width/height in pixels, weights per block side */
    int down_h;              /* heatmap only: weights per block vertically */
    int title_y0, title_y1;  /* rows covered by the title text */
} fr_plot_geom;
/* Pixel of a data point (non-heatmap plots). */
int fr_plot_geom_px(const fr_plot_geom *g, double x);
int fr_plot_geom_py(const fr_plot_geom *g, double y);

/* ---- helpers ---- */
/* Ticks, labels and the EMA are the shared plot maths of plot.h (fr_plot_nice_ticks,
 * fr_plot_fmt_step, fr_plot_ema). */
/* Diverging colour map (ColorBrewer RdBu): t = -1 blue, 0 neutral (247,247,247), +1 red. */
fr_rgb fr_pngplot_diverging(float t);

/* ---- heatmap of learned division scales S ---- */
typedef struct fr_heatmap_in {
    const float *s;          /* rows x cols, row-major, S > 0 (others drawn black) */
    int rows, cols;          /* rows = output channels, cols = in*kh*kw */
    float log_range;         /* > 0: colours span ln S in [-log_range, +log_range];
                                <= 0: symmetric max |ln S| of the data */
    const char *title;       /* "model / unit / method / bits / iteration" */
    const char *xlabel, *ylabel;   /* NULL: "input index (in x kh x kw)", "output channel" */
    int linear;              /* nonzero: colours span v in [-log_range, +log_range] (any sign),
                                as the shift / h(V) heatmaps on screen; log_range > 0 required */
    int log2;                /* nonzero: log_range is in log2 units (the screen's scale) */
    const char *cbar_label;  /* colour bar label; NULL: "S" */
    int head_rows, head_cols;/* > 0: attention heads of that many rows / columns of the whole matrix;
                                boundaries drawn where a head spans >= 3 pixels */
    int r0, c0;              /* the drawn matrix is the window starting at this row / column */
    int agg;                 /* FR_HAGG_* (heatagg.h); nonzero: each block is a tile_r x tile_c tile
                                showing max / mean |value| (linear colours), labelled as on screen */
    int tile_r, tile_c;      /* agg: the panel's tile (<= 0: 1); doubled while the grid is too large */
    const char *agg_what;    /* agg: the quantity's name in the label ("shift") */
} fr_heatmap_in;
int fr_pngplot_render_heatmap(fr_raster *out, const fr_heatmap_in *in, fr_plot_geom *geom, fr_err *e);
int fr_pngplot_heatmap(const char *path, const fr_heatmap_in *in, fr_err *e);

/* ---- scatter: weight vs rounding shift (grid units) with density shading ---- */
typedef struct fr_scatter_in {
    const float *x, *y;      /* n points: x = W (or |W|), y = c - W/s1 */
    size_t n;
    const char *title;       /* plot title (compare: the panel subtitle) */
    const char *xlabel, *ylabel;   /* NULL: "W", "rounding shift (grid units)" */
    int fixed_range;         /* nonzero: use the ranges below (points outside are counted) */
    double xmin, xmax, ymin, ymax;
    const uint8_t *cls;      /* per-point enum fr_wclass (inside / aggressive / clipped), coloured and
                                counted as such; NULL: |y| > 1 is drawn as "beyond" */
    int no_band;             /* nonzero: y is not a rounding shift (no +-1 band, one colour) */
} fr_scatter_in;
int fr_pngplot_render_scatter(fr_raster *out, const fr_scatter_in *in, fr_plot_geom *geom, fr_err *e);
int fr_pngplot_scatter(const char *path, const fr_scatter_in *in, fr_err *e);

/* Three scatter panels side by side with identical axes (the union of the three data ranges
 * unless the first panel has fixed_range).  geom may be NULL or point at 3 entries. */
int fr_pngplot_render_compare(fr_raster *out, const fr_scatter_in panels[3], const char *title,
                              fr_plot_geom *geom, fr_err *e);
int fr_pngplot_compare(const char *path, const fr_scatter_in panels[3], const char *title, fr_err *e);

/* ---- histogram(s) ---- */
#define FR_HIST_MAX_SERIES 8
typedef struct fr_hist_series {
    const float *edges;      /* nbins + 1 strictly increasing edges */
    const double *counts;    /* nbins counts >= 0 */
    int nbins;
    const char *label;       /* legend text; NULL: no legend entry */
} fr_hist_series;
typedef struct fr_hist_in {
    const fr_hist_series *series;
    int nseries;             /* 1..FR_HIST_MAX_SERIES, overlaid translucently */
    int log_y;
    const char *title, *xlabel, *ylabel;   /* NULL: "value", "count" */
} fr_hist_in;
int fr_pngplot_render_hist(fr_raster *out, const fr_hist_in *in, fr_plot_geom *geom, fr_err *e);
int fr_pngplot_hist(const char *path, const fr_hist_in *in, fr_err *e);

#endif
