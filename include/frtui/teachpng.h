/* teachpng.h — PNGs of the teaching layer's two pictures that are not plot models (issue 18,
 * item 7): the overlay of every method's loss curve (the compare view's loss panel) and the
 * equation strip for one weight (src/view/teachpng.c).
 *
 * Both are titled like every exported view (model / unit / method / bits / iteration), drawn
 * with the raster's bitmap font on a white background in the light palette's method colours
 * (RTN grey, AdaRound blue, FlexRound orange), and are a pure function of the snapshot, so
 * they are byte-identical across machines.
 */
#ifndef FRTUI_TEACHPNG_H
#define FRTUI_TEACHPNG_H

#include "frtui/common.h"
#include "frtui/plotmodel.h"
#include "frtui/raster.h"
#include "frtui/snapshot.h"

#define FR_TEACHPNG_W 1280          /* both pictures: this wide; the overlay FR_TEACHPNG_H tall */
#define FR_TEACHPNG_H 720
#define FR_TEACHPNG_TITLE_SCALE 2   /* title: this font scale, at (FR_TEACHPNG_PAD, FR_TEACHPNG_PAD) */
#define FR_TEACHPNG_PAD 20

/* The overlay of unit k: RTN as a dashed flat line, AdaRound / FlexRound as raw (faint) and
 * smoothed (st->smooth) curves, legend, x by iterations (or seconds when st->loss_x_time and
 * every curve has a clock).  Series: the unit's method, its compare views, RTN's loss.
 * FR_EINPUT when fewer than two series exist or the unit has no loss yet.  title (may be NULL)
 * gets the title drawn. */
int fr_teachpng_overlay(fr_raster *out, const fr_snapshot *s, int k, const fr_plot_state *st, char *title, size_t title_n,
                        fr_err *e);
/* The equation strip of weight (row, col) of layer `layer` of unit k (row < 0: the default
 * weight, fr_teachpng_pick_weight).  FR_EINPUT when the layer has no weights or (row, col) is
 * outside it. */
int fr_teachpng_eqn(fr_raster *out, const fr_snapshot *s, int k, int layer, int row, int col, char *title, size_t title_n,
                    fr_err *e);
/* The default weight of the equation PNG: the aggressive weight (past the two nearest grid
 * points) of largest |W|, else the weight of largest |W|; the first in row-major order on
 * ties.  Returns 0, or -1 when the layer has no weights. */
int fr_teachpng_pick_weight(const fr_snapshot *s, int k, int layer, int *row, int *col);
/* view "overlay" (st->loss_x_time, st->smooth) or "equation" (st->eqn_row / st->eqn_col) to
 * path (atomic); st NULL: the panels' start-up state. */
int fr_teachpng_export(const fr_snapshot *s, int k, int layer, const char *view, const fr_plot_state *st, const char *path,
                       fr_err *e);
/* 1 when view is one of the two names above. */
int fr_teachpng_is_view(const char *view);

#endif
