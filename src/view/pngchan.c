/* pngchan.c — the channel view (W) as a PNG: the "channels" plot model in pixels.
 *
 * Design note
 *   Two bands, output channels over input channels, each a bar strip of max |W| per channel
 *   (a bar covering several channels shows their largest, as on screen) with the outlier
 *   threshold dashed across, outlier bars in orange, and the outliers listed on the right.
 *   Numbers, threshold and order come from the model (fr_chanstats, heatagg.c); nothing is
 *   recomputed here.  Fixed layout, bitmap font, integer pixels: byte-identical output.
 *   geom (optional) reports the output-channel strip: x in channel indices [0, n), y in max |W|.
 */
#include "frtui/heatagg.h"
#include "frtui/plot.h"
#include "frtui/plotmodel.h"
#include "frtui/pngplot.h"
#include "frtui/raster.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define CW 1100            /* canvas width */
#define BAR_W 720          /* strip width */
#define BAR_H 150          /* strip height */
#define BAND_H (BAR_H + 3 * FR_FONT_H + 30)
#define LEFT 70
#define TOP 70

static const fr_rgb BG = {255, 255, 255}, TEXT = {33, 33, 33}, MUTED = {100, 100, 100}, AXIS = {70, 70, 70},
                    BAR = {31, 119, 180}, HOT = {255, 127, 14};

static void band(fr_raster *r, int y0, const fr_chan_axis *a, const char *what, fr_plot_geom *g)
{
    char t[200], m[24], th[24];
    fr_plot_fmt(m, sizeof m, a->median);
    fr_plot_fmt(th, sizeof th, a->thresh);
    if (a->thresh > 0)
        snprintf(t, sizeof t, "%s: %d, max |W| median %s, outlier > %s (%gx median): %d", what, a->n, m, th,
                 FR_CHAN_OUTLIER_RATIO, a->n_out);
    else
        snprintf(t, sizeof t, "%s: %d, max |W| median %s, no rule (< %d channels)", what, a->n, m, FR_CHAN_MIN_CHANNELS);
    fr_raster_text(r, LEFT, y0, t, 1, TEXT);
    int bx = LEFT, by = y0 + FR_FONT_H + 8;
    float top = 0;
    for (int i = 0; i < a->n; i++) if (isfinite(a->max_w[i])) top = fmaxf(top, a->max_w[i]);
    if (top <= 0) top = 1;
    top *= 1.05f;
    int nb = a->n < BAR_W ? a->n : BAR_W;
    for (int k = 0; k < nb; k++) {
        int c0 = (int)((int64_t)k * a->n / nb), c1 = (int)((int64_t)(k + 1) * a->n / nb);
        int x0 = bx + (int)((int64_t)k * BAR_W / nb), x1 = bx + (int)((int64_t)(k + 1) * BAR_W / nb);
        float v = 0;
        int out = 0;
        for (int j = c0; j < c1; j++) {
            if (isfinite(a->max_w[j])) v = fmaxf(v, a->max_w[j]);
            out |= a->thresh > 0 && a->max_w[j] > a->thresh;
        }
        int h = (int)lroundf(v / top * BAR_H);
        if (v > 0 && h == 0) h = 1;
        int w = x1 - x0 > 2 ? x1 - x0 - 1 : FR_MAX(1, x1 - x0);   /* a gap between wide bars */
        fr_raster_fill_rect(r, x0, by + BAR_H - h, w, h, out ? HOT : BAR);
    }
    if (a->thresh > 0 && a->thresh < top) {
        int y = by + BAR_H - (int)lroundf(a->thresh / top * BAR_H);
        fr_raster_hline_dashed(r, bx, bx + BAR_W - 1, y, 6, 4, AXIS);
        fr_raster_text(r, bx + BAR_W + 4, y - FR_FONT_H / 2, th, 1, MUTED);
    }
    fr_raster_rect(r, bx - 1, by - 1, BAR_W + 2, BAR_H + 2, AXIS);
    char l[24];
    fr_plot_fmt(l, sizeof l, top);
    fr_raster_text(r, bx - 6 - fr_raster_text_width(l, 1), by - FR_FONT_H / 2, l, 1, MUTED);
    fr_raster_text(r, bx - 6 - fr_raster_text_width("0", 1), by + BAR_H - FR_FONT_H / 2, "0", 1, MUTED);
    fr_raster_text(r, bx, by + BAR_H + 6, "0", 1, MUTED);
    snprintf(l, sizeof l, "%d", FR_MAX(a->n - 1, 0));
    fr_raster_text(r, bx + BAR_W - fr_raster_text_width(l, 1), by + BAR_H + 6, l, 1, MUTED);
    /* the list, right of the strip */
    int lx = bx + BAR_W + 60, ly = by;
    if (!a->n_out) {
        fr_raster_text(r, lx, ly, a->thresh > 0 ? "no outlier channels" : "no rule, none listed", 1, MUTED);
    } else {
        fr_raster_text(r, lx, ly, "index   max|W|   aggr  mean|shift|", 1, MUTED);
        int rows = (BAR_H - FR_FONT_H) / (FR_FONT_H + 4);
        for (int k = 0; k < a->n_out && k < rows; k++) {
            int i = a->out[k];
            char mw[24], ms[24];
            fr_plot_fmt(mw, sizeof mw, a->max_w[i]);
            if (isfinite(a->mean_shift[i])) fr_plot_fmt(ms, sizeof ms, a->mean_shift[i]);
            else snprintf(ms, sizeof ms, "--");
            if (k == rows - 1 && a->n_out > rows) snprintf(t, sizeof t, "+%d more", a->n_out - k);
            else snprintf(t, sizeof t, "%5d %8s %5.1f%% %8s", i, mw, 100.0 * a->aggr[i], ms);
            fr_raster_text(r, lx, ly + (k + 1) * (FR_FONT_H + 4), t, 1, HOT);
        }
    }
    if (g) {
        memset(g, 0, sizeof *g);
        g->x0 = bx, g->y0 = by, g->w = BAR_W, g->h = BAR_H;
        g->xmin = 0, g->xmax = a->n, g->ymin = 0, g->ymax = top;
    }
}

int fr_pngplot_render_chan(fr_raster *out, const fr_plot_model *m, fr_plot_geom *geom, fr_err *e)
{
    out->px = NULL;
    if (!m->chan) return fr_err_set(e, FR_EINPUT, "channels: no statistics in the model");
    int rc = fr_raster_init(out, CW, TOP + 2 * BAND_H + 10, BG, e);
    if (rc) return rc;
    char t[600];
    snprintf(t, sizeof t, "%.500s / channels", m->title);
    int scale = fr_raster_text_width(t, 2) <= CW - 40 ? 2 : 1;
    fr_raster_text_centered(out, CW / 2, 16, t, scale, TEXT);
    fr_raster_text_centered(out, CW / 2, 16 + 2 * FR_FONT_H + 8,
                            "max |W| per channel; orange: above the outlier threshold (dashed)", 1, MUTED);
    fr_plot_geom g0;
    band(out, TOP, &m->chan->row, "output channels (rows)", &g0);
    band(out, TOP + BAND_H, &m->chan->col, m->chan_group > 1 ? "input channels (kh*kw columns each)" : "input channels (columns)",
         NULL);
    if (geom) *geom = g0;
    return FR_OK;
}
