/* plotmodel.h — one plot model for the screen and the PNG exporter.
 *
 * Design note
 *   A plot is decided once, from (snapshot, unit, layer, view, panel state), by
 *   fr_plot_model_build: which arrays, which window of iterations, the smoothed series, the
 *   axis ranges, log or linear, |W| or W, the per-point classes and the labels.  The cell
 *   renderer (plot.c, through view_render.c) and the pixel renderer (pngplot.c) both draw
 *   from that model and compute no range, smoothing or class of their own, so `e` exports
 *   what the panel shows (issue 12 §3).  Tick density and glyphs stay each renderer's
 *   business (a 7-row panel and a 360-pixel plot need different tick counts).
 *
 *   The model points into the snapshot's arrays (the caller keeps the snapshot) and owns
 *   only what it computes (EMA, |W|, the heatmap window); fr_plot_model_free releases that.
 */
#ifndef FRTUI_PLOTMODEL_H
#define FRTUI_PLOTMODEL_H

#include <stdint.h>
#include "frtui/common.h"
#include "frtui/snapshot.h"

/* The panel settings that change what a plot shows; fr_ui holds them, `e` passes them on,
 * `frtui export-png` uses fr_plot_state_default (the panel's start-up state). */
typedef struct fr_plot_state {
    int loss_logy, loss_follow, loss_zoom, loss_start;
    double smooth;           /* EMA smoothing, <= FR_SMOOTH_MAX */
    int scatter_abs;         /* x = |W| (1) or W (0) */
    int heat_qty;            /* fr_heat_qty wanted (falls back to what the layer has) */
    int heat_top, heat_left, heat_rows, heat_cols;   /* visible window; rows/cols <= 0: whole matrix */
    int heat_tile_r, heat_tile_c;   /* aggregate quantities: the panel's tile (weights per pixel); <= 0:
                                       the smallest square tile giving at most 512 tiles per side */
    int loss_x_time;         /* loss overlay: x in seconds when every curve has a clock */
    int eqn_row, eqn_col;    /* the equation PNG's weight (the heatmap cursor); -1: teachpng's default */
} fr_plot_state;
void fr_plot_state_default(fr_plot_state *st);

typedef enum { FR_PLOT_LOSS = 0, FR_PLOT_SCATTER, FR_PLOT_COMPARE, FR_PLOT_RECIP, FR_PLOT_HEAT, FR_PLOT_HIST, FR_PLOT_CHAN } fr_plot_kind;

/* Per-point class of a scatter point: enum fr_wclass (qdefs.h), published by the quantizer
 * per weight (fr_layer_view.cls); without one, the band rule |shift| > 1 (aggressive). */
int fr_plot_point_class(float shift);

typedef struct fr_plot_series {
    const float *x, *y;      /* n points (x already |W| when abs_x) */
    const uint8_t *cls;      /* n enum fr_wclass or NULL: fr_plot_point_class(y) */
    int64_t n;
    int64_t class_count[FR_WC__COUNT];
    char title[64];          /* compare: method name */
    double loss;             /* compare: the method's unit loss (NaN: unknown) */
} fr_plot_series;

typedef struct fr_plot_model {
    fr_plot_kind kind;
    char title[512];         /* "model / unit (layer) / method / W4 / it 600" */
    char xlabel[32], ylabel[48];
    double xmin, xmax, ymin, ymax;   /* data ranges both renderers draw (log axis: values, not logs) */
    int logy;
    /* loss */
    const float *loss;       /* [n_loss] raw series */
    const float *ema;        /* [n_loss] debiased EMA of the whole series (owned) */
    int n_loss, win_a, win_b;   /* iterations [win_a, win_b) are shown */
    double smooth, ref;      /* EMA smoothing; RTN reference (<= 0: none) */
    /* scatter / compare / reciprocal */
    int abs_x, band, y_is_units;
    int n_series;
    fr_plot_series series[3];
    /* heatmap: window [r0, r0+rows) x [c0, c0+cols) of a rows_all x cols_all matrix */
    const float *heat;       /* window, row-major rows x cols (owned copy) */
    int rows, cols, r0, c0, rows_all, cols_all;
    int heat_mode;           /* FR_HEAT_LOG2 / FR_HEAT_LINEAR (plot.h) */
    float heat_range;
    char heat_name[16];
    int heat_agg;            /* FR_HAGG_* (heatagg.h) of the quantity: how a tile becomes a pixel */
    int tile_r, tile_c;      /* heat_agg: weights per tile, rows x columns */
    char heat_what[16];      /* the quantity in the tile label ("shift", "log2 S2") */
    int head_rows, head_cols;   /* attention heads (fr_layer_view): boundaries in both renderers */
    /* histogram of the selected layer */
    const double *counts;
    int nbins;
    /* channels: per-channel statistics of the selected layer and the outlier rule (heatagg.h) */
    struct fr_chanstats *chan;   /* owned; fr_plot_model_free releases it */
    int chan_group;          /* columns per input channel (kh*kw; 1 for a linear layer) */
    /* private */
    void *owned[4];
} fr_plot_model;

/* Builds the model of `view` ("loss", "scatter", "compare", "reciprocal", "heatmap", "hist",
 * "channels")
 * for unit/layer of s.  st NULL: fr_plot_state_default.  FR_EINPUT with a one-line reason
 * when the view has nothing to show (e.g. compare not computed). */
int fr_plot_model_build(const fr_snapshot *s, int unit, int layer, const char *view, const fr_plot_state *st,
                        fr_plot_model *m, fr_err *e);
void fr_plot_model_free(fr_plot_model *m);
/* Build + render + write: what `e` and `frtui export-png` do. */
int fr_plot_export_png(const fr_snapshot *s, int unit, int layer, const char *view, const fr_plot_state *st,
                       const char *path, fr_err *e);

/* The pixel renderer (pngplot.c): renders the model into a new raster (geom may be NULL, or
 * 3 entries for compare, and reports where the data landed), or to a PNG file (atomic). */
struct fr_plot_geom;
struct fr_raster;
int fr_plot_model_render_png(struct fr_raster *out, const fr_plot_model *m, struct fr_plot_geom *geom, fr_err *e);
int fr_plot_model_png(const fr_plot_model *m, const char *path, fr_err *e);
/* The channel view in pixels (pngchan.c); fr_plot_model_render_png dispatches FR_PLOT_CHAN here. */
int fr_pngplot_render_chan(struct fr_raster *out, const fr_plot_model *m, struct fr_plot_geom *geom, fr_err *e);

#endif
