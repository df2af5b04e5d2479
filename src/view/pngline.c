/* pngline.c — curves in pixels: the loss curve and the sweep report's lines with seed-spread
 * bands (pngline.h).
 *
 * Design note
 *   Split from pngplot.c, whose look it shares through pngplot_impl.h (plot rectangle,
 *   margins, ticks, header, legend), so these figures sit beside a histogram without a seam;
 *   what is theirs alone (the polyline, the bands) lives here.
 *   Same contract as the other PNG plots: a pure function of its input arrays, one canvas per
 *   call handed to the caller, no globals, so it may run on any thread; integer pixels and the
 *   bitmap font keep the output byte-identical across machines.
 *   Bands are drawn before every line so no series' band hides another series' line.
 */
#include "frtui/pngline.h"
#include "pngplot_impl.h"

#include "frtui/plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* Polyline through finite points inside the x range; gaps at skipped values; y is held
 * inside the frame (an EMA entering a zoomed window may start above it). */
static void polyline(fr_raster *r, const fr_pp_axes *a, const double *xs, const float *ys, size_t n, int th, fr_rgb c)
{
    int have = 0, px = 0, py = 0;
    for (size_t i = 0; i < n; i++) {
        double y = ys[i];
        if (!isfinite(y) || (a->logy && y <= 0) || xs[i] < a->xmin || xs[i] > a->xmax) { have = 0; continue; }
        int qx = fr_pp_ax_px(a, xs[i]), qy = FR_MIN(FR_MAX(fr_pp_ax_py(a, y), a->y0), a->y0 + a->h - 1);
        if (have) fr_raster_line(r, px, py, qx, qy, th, c);
        else fr_raster_fill_rect(r, qx - (th - 1) / 2, qy - (th - 1) / 2, th, th, c);
        px = qx; py = qy; have = 1;
    }
}

/* ---- loss curve ------------------------------------------------------------------------------ */

int fr_pngplot_render_loss(fr_raster *out, const fr_loss_in *in, fr_plot_geom *geom, fr_err *e)
{
    out->px = NULL;
    if (!in->loss || in->n < 1) return fr_err_set(e, FR_EINPUT, "loss plot: empty series");
    if (!(in->beta >= 0 && in->beta < 1)) return fr_err_set(e, FR_EINPUT, "loss plot: beta %g not in [0, 1)", in->beta);
    double *xs = fr_xmalloc(sizeof(double) * in->n);
    float *ema_own = in->beta > 0 && !in->ema ? fr_xmalloc(sizeof(float) * in->n) : NULL;
    const float *ema = in->ema ? in->ema : ema_own;
    for (size_t i = 0; i < in->n; i++) {
        xs[i] = in->iter ? (double)in->iter[i] : (double)(i + 1);
        if (i && xs[i] < xs[i - 1]) {
            free(xs); free(ema_own);
            return fr_err_set(e, FR_EINPUT, "loss plot: iterations not increasing at index %zu", i);
        }
    }
    if (ema_own) fr_plot_ema(in->loss, (int)in->n, in->beta, ema_own);
    double lo = INFINITY, hi = -INFINITY;
    size_t skipped = 0;
    for (size_t i = 0; i < in->n; i++) {
        double v = in->loss[i];
        if (!isfinite(v) || (in->log_y && v <= 0)) { skipped++; continue; }
        lo = fmin(lo, v); hi = fmax(hi, v);
    }
    if (!(hi >= lo)) { lo = in->log_y ? 0.1 : 0; hi = 1; }
    if (in->log_y) {
        double l0 = log10(lo), l1 = log10(hi), pad = fmax((l1 - l0) * 0.05, 0.02);
        lo = pow(10, l0 - pad); hi = pow(10, l1 + pad);
    } else {
        double pad = hi > lo ? (hi - lo) * 0.05 : fmax(fabs(hi) * 0.1, 1e-3);
        lo -= pad; hi += pad;
    }
    double x0 = xs[0], x1 = xs[in->n - 1];
    if (x1 <= x0) { x0 -= 1; x1 += 1; }
    if (in->fixed_range) {   /* the plot model's ranges: the panel's window and y axis */
        if (!(in->xmax > in->xmin && in->ymax > in->ymin) || (in->log_y && !(in->ymin > 0))) {
            free(xs); free(ema_own);
            return fr_err_set(e, FR_EINPUT, "loss plot: empty fixed range");
        }
        x0 = in->xmin; x1 = in->xmax; lo = in->ymin; hi = in->ymax;
    }
    fr_pp_axes a = { 0, 0, LP_W, LP_H, x0, x1, lo, hi, in->log_y, 0, 1, 0, 0 };
    fr_pp_ticks xt, yt;
    char el[48];
    snprintf(el, sizeof el, "EMA %.3g (debiased)", in->beta);
    fr_pp_legend l = { ema ? 2 : 1, { ema ? FR_RGB(166, 196, 228) : fr_pp_palette[0], fr_pp_palette[0], fr_pp_palette[3] }, { "raw", el, "RTN" } };
    if (in->ref > 0 && isfinite(in->ref)) l.c[l.n] = fr_pp_palette[3], l.s[l.n++] = "RTN";
    int rc = fr_pp_line_canvas(out, &a, &xt, &yt, 1, FR_MAX(0, fr_pp_legend_rows(&l, LP_W) - 1) * FR_PP_LEGEND_PITCH, e);
    if (rc) { free(xs); free(ema_own); return rc; }
    if (in->ref > 0 && isfinite(in->ref) && in->ref >= lo && in->ref <= hi)
        fr_raster_hline_dashed(out, a.x0, a.x0 + a.w - 1, fr_pp_ax_py(&a, in->ref), 6, 4, fr_pp_palette[3]);
    polyline(out, &a, xs, in->loss, in->n, 1, ema ? FR_RGB(166, 196, 228) : fr_pp_palette[0]);
    if (ema) polyline(out, &a, xs, ema, in->n, 2, fr_pp_palette[0]);
    fr_pp_draw_frame(out, &a, &xt, &yt, "iteration", in->ylabel ? in->ylabel : "loss", 0);

    char note[200], last[24], lastema[24];
    size_t li = in->n - 1;
    fr_plot_fmt_step(in->loss[li], 0, last, sizeof last);
    int k = snprintf(note, sizeof note, "%zu points, last %s", in->n, last);
    if (ema) {
        fr_plot_fmt_step(ema[li], 0, lastema, sizeof lastema);
        k += snprintf(note + k, sizeof note - k, " (EMA %s)", lastema);
    }
    if (in->log_y && k < (int)sizeof note) k += snprintf(note + k, sizeof note - k, ", log scale");
    if (skipped && k < (int)sizeof note) snprintf(note + k, sizeof note - k, ", %zu skipped", skipped);
    fr_pp_draw_header(out, in->title, note, geom);
    fr_pp_draw_legend(out, out->w / 2, HEADER_H, &l);
    fr_pp_geom_from(geom, &a);
    free(xs);
    free(ema_own);
    return FR_OK;
}

int fr_pngplot_loss(const char *path, const fr_loss_in *in, fr_err *e)
{
    fr_raster r;
    return fr_raster_write_png_free(&r, fr_pngplot_render_loss(&r, in, NULL, e), path, e);
}

/* ---- lines with bands (sweep reports) -------------------------------------------------------- */

/* The band between two neighbouring points, column by column (linear in between), so bands of
 * several series overlay as translucent areas without a polygon filler. */
static void band(fr_raster *r, const fr_pp_axes *a, double xa, double la, double ha, double xb, double lb, double hb, fr_rgb c)
{
    int pa = fr_pp_ax_px(a, xa), pb = fr_pp_ax_px(a, xb);
    for (int px = pa; px <= pb; px++) {
        double t = pb > pa ? (double)(px - pa) / (pb - pa) : 0;
        int y0 = fr_pp_ax_py(a, ha + (hb - ha) * t), y1 = fr_pp_ax_py(a, la + (lb - la) * t);
        y0 = FR_MAX(y0, a->y0);
        y1 = FR_MIN(y1, a->y0 + a->h - 1);
        if (px != pb || pb == pa) fr_raster_blend_rect(r, px, y0, 1, y1 - y0 + 1, c, 0.22f);
    }
}

int fr_pngplot_render_lines(fr_raster *out, const fr_lines_in *in, fr_plot_geom *geom, fr_err *e)
{
    out->px = NULL;
    if (!in->series || in->nseries < 1 || in->nseries > FR_HIST_MAX_SERIES)
        return fr_err_set(e, FR_EINPUT, "line plot: %d series (1..%d allowed)", in->nseries, FR_HIST_MAX_SERIES);
    double x0 = INFINITY, x1 = -INFINITY, lo = INFINITY, hi = -INFINITY;
    for (int s = 0; s < in->nseries; s++) {
        const fr_lines_series *ls = &in->series[s];
        if (!ls->x || !ls->y || ls->n < 1) return fr_err_set(e, FR_EINPUT, "line plot: series %d is empty", s);
        for (int i = 0; i < ls->n; i++) {
            if (!isfinite(ls->x[i]) || (i && !(ls->x[i] > ls->x[i - 1])))
                return fr_err_set(e, FR_EINPUT, "line plot: series %d: x not increasing at %d", s, i);
            x0 = fmin(x0, ls->x[i]); x1 = fmax(x1, ls->x[i]);
            const double v[3] = {ls->y[i], ls->lo ? ls->lo[i] : NAN, ls->hi ? ls->hi[i] : NAN};
            for (int k = 0; k < 3; k++) if (isfinite(v[k])) { lo = fmin(lo, v[k]); hi = fmax(hi, v[k]); }
        }
    }
    if (!(hi >= lo)) { lo = 0; hi = 1; }
    double pad = hi > lo ? (hi - lo) * 0.06 : fmax(fabs(hi) * 0.1, 1e-3);
    lo -= pad; hi += pad;
    if (x1 <= x0) { x0 -= 1; x1 += 1; }
    else { double xp = (x1 - x0) * 0.03; x0 -= xp; x1 += xp; }
    fr_pp_axes a = { 0, 0, LP_W, LP_H, x0, x1, lo, hi, 0, 0, 1, 0, 0 };
    fr_pp_ticks xt, yt;
    fr_pp_legend l = { 0, { { 0, 0, 0 } }, { NULL } };
    for (int s = 0; s < in->nseries; s++) { l.c[l.n] = fr_pp_palette[s]; l.s[l.n++] = in->series[s].label ? in->series[s].label : "?"; }
    int rc = fr_pp_line_canvas(out, &a, &xt, &yt, in->integer_x, FR_MAX(0, fr_pp_legend_rows(&l, LP_W) - 1) * FR_PP_LEGEND_PITCH, e);
    if (rc) return rc;
    for (int s = 0; s < in->nseries; s++) {   /* every band first, then every line on top */
        const fr_lines_series *ls = &in->series[s];
        for (int i = 0; ls->lo && ls->hi && i + 1 < ls->n; i++)
            if (isfinite(ls->lo[i]) && isfinite(ls->hi[i]) && isfinite(ls->lo[i + 1]) && isfinite(ls->hi[i + 1]))
                band(out, &a, ls->x[i], ls->lo[i], ls->hi[i], ls->x[i + 1], ls->lo[i + 1], ls->hi[i + 1], fr_pp_palette[s]);
        for (int i = 0; ls->lo && ls->hi && ls->n == 1 && i < ls->n; i++)   /* a lone point's spread: a bar */
            if (isfinite(ls->lo[i]) && isfinite(ls->hi[i]))
                fr_raster_blend_rect(out, fr_pp_ax_px(&a, ls->x[i]) - 3, fr_pp_ax_py(&a, ls->hi[i]), 7,
                                     fr_pp_ax_py(&a, ls->lo[i]) - fr_pp_ax_py(&a, ls->hi[i]) + 1, fr_pp_palette[s], 0.22f);
    }
    for (int s = 0; s < in->nseries; s++) {
        const fr_lines_series *ls = &in->series[s];
        float *yf = fr_xmalloc(sizeof(float) * (size_t)ls->n);
        for (int i = 0; i < ls->n; i++) yf[i] = (float)ls->y[i];
        polyline(out, &a, ls->x, yf, (size_t)ls->n, 2, fr_pp_palette[s]);
        for (int i = 0; i < ls->n; i++)
            if (isfinite(ls->y[i])) fr_raster_fill_rect(out, fr_pp_ax_px(&a, ls->x[i]) - 2, fr_pp_ax_py(&a, ls->y[i]) - 2, 5, 5, fr_pp_palette[s]);
        free(yf);
    }
    fr_pp_draw_frame(out, &a, &xt, &yt, in->xlabel, in->ylabel, 0);
    fr_pp_draw_header(out, in->title, in->note, geom);
    fr_pp_draw_legend(out, out->w / 2, HEADER_H, &l);
    fr_pp_geom_from(geom, &a);
    return FR_OK;
}

int fr_pngplot_lines(const char *path, const fr_lines_in *in, fr_err *e)
{
    fr_raster r;
    return fr_raster_write_png_free(&r, fr_pngplot_render_lines(&r, in, NULL, e), path, e);
}
