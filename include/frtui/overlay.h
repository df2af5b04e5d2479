/* overlay.h — loss curves of several runs on one chart (issue 18, item 2): RTN as a flat line,
 * AdaRound and FlexRound as curves, a legend, a value cursor and an x axis in iterations or
 * seconds (src/view/overlay.c).
 *
 * Design note: fr_overlay is a plain model built from unit views (pointers into them; the
 * caller keeps the snapshot) so the values a cursor reads can be tested against the loss
 * history without a terminal; fr_overlay_render draws it into a cell canvas.
 */
#ifndef FRTUI_OVERLAY_H
#define FRTUI_OVERLAY_H

#include "frtui/canvas.h"
#include "frtui/snapshot.h"

typedef struct fr_overlay_series {
    const char *name;        /* "RTN", "AdaRound", "FlexRound" */
    int method;              /* fr_method */
    int n;                   /* samples; 0 for a flat line (RTN learns nothing) */
    const float *loss;       /* [n] raw (what the run minimised) */
    float *ema;              /* [n] smoothed (owned) */
    const float *t;          /* [n] seconds, or NULL */
    double flat;             /* the line's value when n == 0 */
} fr_overlay_series;

typedef struct fr_overlay {
    int n_series;
    fr_overlay_series s[3];
    int x_time;              /* x axis in seconds (every curve has a clock), else iterations */
    double xmax;             /* last iteration (or second) over the curves */
    double ylo, yhi;         /* y range over every series (raw and flat lines) */
} fr_overlay;

/* Every method of unit u that is available (u itself and its compare views); want_time asks
 * for the seconds axis (granted only when every curve has a clock).  Returns the series count. */
int fr_overlay_build(const fr_unit_view *u, int compare, int want_time, double smooth, fr_overlay *o);
void fr_overlay_free(fr_overlay *o);
/* The cursor at x (iteration or seconds): the last sample at or before x of series i:
 * *it (1-based iteration), raw and smoothed.  0 when the series has no sample there. */
int fr_overlay_at(const fr_overlay *o, int i, double x, int *it, double *raw, double *smoothed);
/* Draws the chart in r: legend on the first row, the cursor read-out on the last; cursor_col
 * is a column of r (-1: the newest point). */
void fr_overlay_render(fr_canvas *c, fr_rect r, const fr_overlay *o, int cursor_col);

#endif
