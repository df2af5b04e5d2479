/* slides.c — every view of a unit as a labelled slide (issue 18, item 7; timeline.h).
 *
 * Design note: a slide is the view's own PNG (the plot model, so it shows what the panel and
 * `e` show) scaled by nearest neighbour to fill a w x h canvas below a title bar.  Scaling by
 * whole pixels keeps the 6x10 bitmap text crisp; a plot larger than the slide is shrunk by
 * sampling instead.  The title repeats model / unit / method / bits / iteration in large type,
 * so a slide says what it shows when it is projected alone.  After the plot-model views come
 * the loss overlay and the equation strip (teachpng.h).
 */
#include "frtui/timeline.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "frtui/pngplot.h"
#include "frtui/raster.h"
#include "frtui/teachpng.h"

#define TITLE_SCALE 3

static int slide_of(const fr_raster *img, const char *title, const char *sub, int w, int h, const char *path, fr_err *e)
{
    fr_raster s;
    int rc = fr_raster_init(&s, w, h, FR_RGB(255, 255, 255), e);
    if (rc) return rc;
    int th = FR_FONT_H * TITLE_SCALE + 16, sh = FR_FONT_H * 2 + 10, top = th + sh;
    fr_raster_fill_rect(&s, 0, 0, w, th, FR_RGB(32, 40, 56));
    int sc = TITLE_SCALE;
    while (sc > 1 && fr_raster_text_width(title, sc) > w - 40) sc--;
    fr_raster_text(&s, 20, (th - FR_FONT_H * sc) / 2, title, sc, FR_RGB(255, 255, 255));
    fr_raster_text(&s, 20, th + 5, sub, 2, FR_RGB(60, 60, 60));
    int aw = w - 40, ah = h - top - 20;
    double f = FR_MIN((double)aw / img->w, (double)ah / img->h);
    if (f >= 1) f = (int)f;   /* whole pixels: crisp text */
    int dw = (int)(img->w * f), dh = (int)(img->h * f), x0 = (w - dw) / 2, y0 = top + 10 + (ah - dh) / 2;
    for (int y = 0; y < dh; y++) {
        int sy = FR_MIN(img->h - 1, (int)(y / f));
        uint8_t *row = s.px + ((size_t)(y0 + y) * w + x0) * 3;
        const uint8_t *src = img->px + (size_t)sy * img->w * 3;
        for (int x = 0; x < dw; x++) memcpy(row + 3 * x, src + 3 * FR_MIN(img->w - 1, (int)(x / f)), 3);
    }
    return fr_raster_write_png_free(&s, FR_OK, path, e);
}

int fr_export_slides(const fr_snapshot *s, int k, int layer, const fr_plot_state *st, const char *dir, int w, int h,
                     int *n_written, fr_err *e)
{
    static const char *const views[] = {"loss", "heatmap", "scatter", "hist", "reciprocal", "compare"};
    static const char *const what[] = {
        "reconstruction loss per iteration: raw, smoothed, RTN as a dashed line",
        "learned division scale per weight: red = S > 1 (weight shrinks), blue = S < 1 (weight grows)",
        "weight against rounding shift in grid steps: outside the band = rounded beyond the nearest two points",
        "rounding shifts of every layer: how far each weight moved from W/s1",
        "reciprocal rule: dL/dS2 against W (large weights get small updates of S2)",
        "RTN / AdaRound / FlexRound on the same unit and axes",
    };
    *n_written = 0;
    if (w <= 0 || h <= 0) { w = 1920; h = 1080; }
    if (w < 320 || h < 240 || w > 7680 || h > 4320) return fr_err_set(e, FR_EINPUT, "slide size %dx%d is out of range", w, h);
    if (!s || k < 0 || k >= s->n_units || !s->units[k]) return fr_err_set(e, FR_EINPUT, "no unit %d", k + 1);
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return fr_err_set(e, FR_EIO, "%s: cannot create the slide directory: %s", dir, strerror(errno));
    int rc = FR_OK, n = 0;
    for (size_t v = 0; v < sizeof views / sizeof views[0] && !rc; v++) {
        fr_plot_model m;
        fr_err ve;
        if (fr_plot_model_build(s, k, layer, views[v], st, &m, &ve) != FR_OK) continue;   /* nothing to show */
        fr_raster img = {0};
        if (fr_plot_model_render_png(&img, &m, NULL, &ve) != FR_OK) {   /* e.g. compare not computed */
            fr_plot_model_free(&m);
            continue;
        }
        {
            char path[4200];
            snprintf(path, sizeof path, "%s/%02d-%s.png", dir, n + 1, views[v]);
            rc = slide_of(&img, m.title, what[v], w, h, path, e);
            if (!rc) n++;
        }
        fr_raster_free(&img);
        fr_plot_model_free(&m);
    }
    /* the teaching layer's two pictures: every method's loss, the equation of one weight (the
     * heatmap cursor's, else teachpng's default) */
    static const char *const tviews[] = {"overlay", "equation"};
    static const char *const twhat[] = {
        "loss of each method on this unit: RTN (dashed, it learns nothing), AdaRound, FlexRound",
        "the quantizer's formula with the numbers of one weight: s1 grid step, S2 per weight, s3 per row, s4 per column",
    };
    for (int v = 0; v < 2 && !rc; v++) {
        fr_raster img = {0};
        fr_err ve;
        char title[512];
        int r2 = v == 0 ? fr_teachpng_overlay(&img, s, k, st, title, sizeof title, &ve)
                        : fr_teachpng_eqn(&img, s, k, layer, st ? st->eqn_row : -1, st ? st->eqn_col : -1, title, sizeof title, &ve);
        if (r2 == FR_OK) {
            char path[4200];
            snprintf(path, sizeof path, "%s/%02d-%s.png", dir, n + 1, tviews[v]);
            rc = slide_of(&img, title, twhat[v], w, h, path, e);
            if (!rc) n++;
        }
        fr_raster_free(&img);
    }
    *n_written = n;
    if (!rc && n == 0) rc = fr_err_set(e, FR_EINPUT, "unit %d has no view to export", k + 1);
    return rc;
}
