/* export_png.h — PNGs of the inspector's views, from a snapshot.
 *
 * A view of unit `unit`: "heatmap" (S2·s3·s4 per weight, FlexRound), "scatter" (|W| vs
 * rounding shift with the ±1 band), "loss" (history, EMA), "hist" (rounding-shift histogram of
 * every layer), "compare" (RTN / AdaRound / FlexRound scatter panels; needs the unit's alt
 * views: "run compare first").  layer selects the layer for heatmap/scatter/compare (0-based).
 * Titles: model / unit / method / bits / iteration.  Files go through fr_atomic_*.
 */
#ifndef FRTUI_EXPORT_PNG_H
#define FRTUI_EXPORT_PNG_H

#include "frtui/common.h"
#include "frtui/plotmodel.h"
#include "frtui/snapshot.h"

int fr_export_png_view(const fr_snapshot *s, int unit, const char *view, const char *path, fr_err *e);
/* Any view with the panel state st (NULL: start-up state): the plot-model views above, plus
 * "overlay" (every method's loss curve) and "equation" (the strip of weight st->eqn_row,
 * st->eqn_col; -1: the default weight) of teachpng.h. */
int fr_export_png_view_st(const fr_snapshot *s, int unit, int layer, const char *view, const fr_plot_state *st,
                          const char *path, fr_err *e);
int fr_export_png_view_ex(const fr_snapshot *s, int unit, int layer, const char *view, const char *path, fr_err *e);
/* Resolves a unit given by name, by the name of one of its layers (then *layer is that layer),
 * or by its number as a person reads it (1 = the first unit).  Returns 0, or -1 when nothing matches (*unit, *layer untouched). */
int fr_export_png_find_unit(const fr_snapshot *s, const char *name, int *unit, int *layer);

#endif
