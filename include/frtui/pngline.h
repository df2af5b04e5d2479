/* pngline.h — curves as PNG plots: the loss curve, and the sweep report's lines (y against x,
 * one line per series, each with an optional translucent band: the spread over seeds).  Same
 * conventions as pngplot.h: render into a new canvas (fr_pngplot_render_*; free with
 * fr_raster_free) or straight to a PNG file (fr_pngplot_*; atomic write); structural problems
 * return FR_EINPUT. */
#ifndef FRTUI_PNGLINE_H
#define FRTUI_PNGLINE_H

#include "frtui/pngplot.h"

/* ---- loss curve ---- */
typedef struct fr_loss_in {
    const float *loss;       /* n values */
    const int64_t *iter;     /* n increasing iteration numbers, or NULL for 1..n */
    size_t n;
    float beta;              /* EMA smoothing in (0, 1), e.g. 0.9; 0: raw only */
    int log_y;               /* log10 y axis (non-positive values are skipped) */
    const char *title, *ylabel;    /* ylabel NULL: "loss" */
    const float *ema;        /* [n] smoothed series to draw instead of computing one from beta */
    int fixed_range;         /* nonzero: use the ranges below (values; log axis: > 0) */
    double xmin, xmax, ymin, ymax;
    double ref;              /* > 0: dashed horizontal reference (RTN loss) */
} fr_loss_in;
int fr_pngplot_render_loss(fr_raster *out, const fr_loss_in *in, fr_plot_geom *geom, fr_err *e);
int fr_pngplot_loss(const char *path, const fr_loss_in *in, fr_err *e);

/* ---- lines with bands (sweep reports) ---- */
typedef struct fr_lines_series {
    const double *x, *y;     /* n points, x increasing; non-finite y is a gap */
    const double *lo, *hi;   /* n: a translucent band from lo to hi (the seed spread), or NULL */
    int n;
    const char *label;       /* legend text */
} fr_lines_series;
typedef struct fr_lines_in {
    const fr_lines_series *series;
    int nseries;             /* 1..FR_HIST_MAX_SERIES */
    int integer_x;           /* integer x ticks (bits) */
    const char *title, *note, *xlabel, *ylabel;
} fr_lines_in;
int fr_pngplot_render_lines(fr_raster *out, const fr_lines_in *in, fr_plot_geom *geom, fr_err *e);
int fr_pngplot_lines(const char *path, const fr_lines_in *in, fr_err *e);

#endif
