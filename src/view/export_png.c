/* export_png.c — PNG of one view of a snapshot (heatmap, scatter, loss, hist, compare,
 * reciprocal, channels): the view's plot model (plotmodel.h) drawn by pngplot.  Contract in
 * include/frtui/export_png.h.  Reads only the immutable snapshot, so it serves the live
 * inspector's `e` key and `frtui export-png` on a replayed checkpoint alike.
 */
#include "frtui/export_png.h"

#include <stdlib.h>
#include <string.h>

#include "frtui/plotmodel.h"
#include "frtui/teachpng.h"

/* The plot model (plotmodel.c) decides ranges, smoothing, axes and classes; without a panel
 * (export-png) the panels' start-up state is used, the same as a fresh inspector shows. */
int fr_export_png_view_ex(const fr_snapshot *s, int unit, int layer, const char *view, const char *path, fr_err *e)
{
    return fr_export_png_view_st(s, unit, layer, view, NULL, path, e);
}

int fr_export_png_view_st(const fr_snapshot *s, int unit, int layer, const char *view, const fr_plot_state *st,
                          const char *path, fr_err *e)
{
    if (fr_teachpng_is_view(view)) return fr_teachpng_export(s, unit, layer, view, st, path, e);
    return fr_plot_export_png(s, unit, layer, view, st, path, e);
}

int fr_export_png_view(const fr_snapshot *s, int unit, const char *view, const char *path, fr_err *e)
{
    return fr_export_png_view_ex(s, unit, 0, view, path, e);
}

int fr_export_png_find_unit(const fr_snapshot *s, const char *name, int *unit, int *layer)
{
    int k = -1;
    for (int i = 0; s && i < s->n_units && k < 0; i++)
        if (strcmp(s->units[i]->name, name) == 0) k = i;
    for (int i = 0; s && i < s->n_units && k < 0; i++)
        for (int l = 0; l < s->units[i]->n_layers && k < 0; l++)
            if (strcmp(s->units[i]->layers[l].name, name) == 0) { k = i; *layer = l; }
    if (s && k < 0) {
        char *end;
        long idx = strtol(name, &end, 10);   /* a number as a person reads it: 1 is the first unit */
        if (!*end && end != name && idx >= 1 && idx <= s->n_units) k = (int)idx - 1;
    }
    if (k < 0) return -1;
    *unit = k;
    return 0;
}
