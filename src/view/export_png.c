/* export_png.c — PNG of one view of a snapshot (heatmap, scatter, loss, hist, compare), drawn
 * by pngplot.  Contract in include/frtui/export_png.h.  Reads only the immutable snapshot, so
 * it serves the live inspector's `e` key and `frtui export-png` on a replayed checkpoint alike.
 */
#include "frtui/export_png.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "frtui/pngplot.h"

static void title_of(const fr_snapshot *s, const fr_unit_view *v, const fr_layer_view *lv, char *buf, size_t n)
{
    if (lv)
        snprintf(buf, n, "%s / %s (%s) / %s / W%d / it %d", s->info.model, v->name, lv->name, fr_method_name(v->method),
                 lv->bits, v->iter);
    else
        snprintf(buf, n, "%s / %s / %s / W%d / it %d", s->info.model, v->name, fr_method_name(v->method), v->bits, v->iter);
}

static int scatter_in(const fr_layer_view *lv, fr_scatter_in *in, float **xbuf, const char *title, fr_err *e)
{
    if (!lv->w || !lv->shift) return fr_err_set(e, FR_EINPUT, "layer %s has no weight/shift arrays", lv->name);
    float *x = fr_xmalloc((size_t)lv->n * sizeof(float));
    for (int64_t k = 0; k < lv->n; k++) x[k] = fabsf(lv->w[k]);
    memset(in, 0, sizeof *in);
    in->x = x;
    in->y = lv->shift;
    in->cls = lv->cls;
    in->n = (size_t)lv->n;
    in->title = title;
    in->xlabel = "|W|";
    *xbuf = x;
    return FR_OK;
}

int fr_export_png_view_ex(const fr_snapshot *s, int unit, int layer, const char *view, const char *path, fr_err *e)
{
    if (unit < 0 || unit >= s->n_units || !s->units[unit])
        return fr_err_set(e, FR_EINPUT, "unit %d is out of range (0..%d)", unit, s->n_units - 1);
    const fr_unit_view *v = s->units[unit];
    if (layer < 0 || layer >= FR_MAX(v->n_layers, 1))
        return fr_err_set(e, FR_EINPUT, "unit %s: layer %d is out of range (0..%d)", v->name, layer, v->n_layers - 1);
    const fr_layer_view *lv = v->n_layers ? &v->layers[layer] : NULL;
    char title[512];
    int rc;
    if (strcmp(view, "heatmap") == 0) {
        if (!lv) return fr_err_set(e, FR_EINPUT, "unit %s has no layers", v->name);
        title_of(s, v, lv, title, sizeof title);
        const float *S = lv->s_comb ? lv->s_comb : lv->s2;
        if (!S)
            return fr_err_set(e, FR_EINPUT, "unit %s: heatmap shows FlexRound's learned scales; this unit is %s", v->name,
                              fr_method_name(v->method));
        fr_heatmap_in in = {S, lv->o, (int)(lv->n / lv->o), 0, title, NULL, NULL};
        rc = fr_pngplot_heatmap(path, &in, e);
    } else if (strcmp(view, "scatter") == 0) {
        if (!lv) return fr_err_set(e, FR_EINPUT, "unit %s has no layers", v->name);
        title_of(s, v, lv, title, sizeof title);
        fr_scatter_in in;
        float *x = NULL;
        if ((rc = scatter_in(lv, &in, &x, title, e))) return rc;
        rc = fr_pngplot_scatter(path, &in, e);
        free(x);
    } else if (strcmp(view, "loss") == 0) {
        title_of(s, v, NULL, title, sizeof title);
        if (v->n_loss == 0) return fr_err_set(e, FR_EINPUT, "unit %s has no loss history yet", v->name);
        fr_loss_in in = {v->loss, NULL, (size_t)v->n_loss, 0.9f, 1, title, "reconstruction loss"};
        rc = fr_pngplot_loss(path, &in, e);
    } else if (strcmp(view, "hist") == 0) {
        title_of(s, v, NULL, title, sizeof title);
        if (!v->n_layers) return fr_err_set(e, FR_EINPUT, "unit %s has no layers", v->name);
        float edges[FR_SHIFT_BINS + 1];
        for (int b = 0; b <= FR_SHIFT_BINS; b++) edges[b] = -FR_SHIFT_RANGE + 2 * FR_SHIFT_RANGE * (float)b / FR_SHIFT_BINS;
        fr_hist_series ser[FR_HIST_MAX_SERIES];
        int ns = FR_MIN(v->n_layers, FR_HIST_MAX_SERIES);
        for (int l = 0; l < ns; l++)
            ser[l] = (fr_hist_series){edges, v->layers[l].st.shift_hist, FR_SHIFT_BINS, v->layers[l].name};
        fr_hist_in in = {ser, ns, 1, title, "rounding shift (grid units)", "weights"};
        rc = fr_pngplot_hist(path, &in, e);
    } else if (strcmp(view, "compare") == 0) {
        if (!lv) return fr_err_set(e, FR_EINPUT, "unit %s has no layers", v->name);
        for (int m = 0; m < FR_METHOD__COUNT; m++)
            if (!v->alt[m] || v->alt[m]->n_layers <= layer)
                return fr_err_set(e, FR_EINPUT, "unit %s: no %s result to compare; run compare first", v->name,
                                  fr_method_name((fr_method)m));
        fr_scatter_in panels[3];
        float *xs[3] = {0};
        char sub[3][160];
        rc = FR_OK;
        for (int m = 0; m < 3 && !rc; m++) {
            snprintf(sub[m], sizeof sub[m], "%s", fr_method_name((fr_method)m));
            rc = scatter_in(&v->alt[m]->layers[layer], &panels[m], &xs[m], sub[m], e);
        }
        title_of(s, v, lv, title, sizeof title);
        if (!rc) rc = fr_pngplot_compare(path, panels, title, e);
        for (int m = 0; m < 3; m++) free(xs[m]);
    } else {
        return fr_err_set(e, FR_EINPUT, "unknown view '%s' (heatmap, scatter, loss, hist, compare)", view);
    }
    return rc;
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
        long idx = strtol(name, &end, 10);
        if (!*end && end != name && idx >= 0 && idx < s->n_units) k = (int)idx;
    }
    if (k < 0) return -1;
    *unit = k;
    return 0;
}
