/* pngplot_impl.h — the layout pieces pngplot.c shares with pngline.c (private).
 *
 * The loss curve and the sweep lines live in their own file but must look exactly like the
 * histogram (same 640 x 360 plot rectangle, margins, tick fitting, header and legend), so the
 * pieces are shared rather than copied.  Same contract as pngplot.c: pure functions of their
 * arguments, integer pixels, no globals beyond the constant colours.
 */
#ifndef FRTUI_PNGPLOT_IMPL_H
#define FRTUI_PNGPLOT_IMPL_H

#include "frtui/pngplot.h"
#include "frtui/raster.h"

#define PAD 14
#define TICK 4
#define MAXT 48
#define LP_W 640   /* the plot rectangle of the loss, histogram and line plots */
#define LP_H 360
/* Space below the plot for x tick labels and the x label. */
#define BOTTOM_MARGIN (TICK + 4 + FR_FONT_H + 8 + FR_FONT_H + PAD)
/* Header: title row (scale 2) then a muted note row. */
#define HEADER_H (PAD + 2 * FR_FONT_H + 6 + FR_FONT_H + 10)

extern const fr_rgb fr_pp_palette[FR_HIST_MAX_SERIES];   /* series colours, in order */

typedef struct fr_pp_ticks {
    int n;
    double v[MAXT];
    char s[MAXT][24];
} fr_pp_ticks;

typedef struct fr_pp_axes {
    int x0, y0, w, h;
    double xmin, xmax, ymin, ymax;
    int logy;
    int cell, down;   /* heatmap index axes: nonzero cell */
    int cellh;
    int downh;        /* heatmap rows per block when it differs from down (aggregate tiles); 0: down */
} fr_pp_axes;

/* Legend row: swatch + label items. */
typedef struct fr_pp_legend { int n; fr_rgb c[FR_HIST_MAX_SERIES + 2]; const char *s[FR_HIST_MAX_SERIES + 2]; } fr_pp_legend;

int fr_pp_ax_px(const fr_pp_axes *a, double x);
int fr_pp_ax_py(const fr_pp_axes *a, double y);
void fr_pp_geom_from(fr_plot_geom *g, const fr_pp_axes *a);   /* g may be NULL */
/* Tick marks and labels, the axis labels (when not NULL) and the frame; grid: the light grid
 * lines too.  Plots call it twice, with the grid before the data and without it after, so the
 * frame and labels are never covered. */
void fr_pp_draw_frame(fr_raster *r, const fr_pp_axes *a, const fr_pp_ticks *xt, const fr_pp_ticks *yt,
                      const char *xlabel, const char *ylabel, int grid);
/* Entries wrap into rows that fit the raster's width less its margins, each row centred at cx,
 * FR_PP_LEGEND_PITCH apart; fr_pp_legend_rows says how many rows a width of maxw takes, so a
 * plot can make room before drawing (LP_W: at most the rows of any line canvas). */
#define FR_PP_LEGEND_PITCH (FR_FONT_H + 6)
int fr_pp_legend_rows(const fr_pp_legend *l, int maxw);
void fr_pp_draw_legend(fr_raster *r, int cx, int y, const fr_pp_legend *l);
void fr_pp_draw_header(fr_raster *r, const char *title, const char *note, fr_plot_geom *g);
/* The LP_W x LP_H plot of the loss, histogram and line plots: a holds its data ranges and logy
 * (w, h = LP_W, LP_H); fills the ticks (integer_x: whole-number x ticks), allocates the canvas
 * sized around the plot from the y tick labels (extra_top more pixels above it, for a legend of
 * several rows), draws the grid and sets a's position.  On failure out holds nothing. */
int fr_pp_line_canvas(fr_raster *out, fr_pp_axes *a, fr_pp_ticks *xt, fr_pp_ticks *yt, int integer_x, int extra_top,
                      fr_err *e);

#endif
