/* pngplot.c — heatmap, scatter, histogram and compare plots rendered into an fr_raster.
 *
 * Design note
 *   The exported views come through fr_plot_model_render_png: the plot model (plotmodel.h)
 *   fixes the ranges, the EMA, the axes and the point classes, exactly as the panel drew
 *   them; this file only lays them out in pixels (tick density, margins, legends).
 *   Pure functions of their input arrays: each render call allocates one canvas, draws, and
 *   hands it to the caller; no globals, so plots can be rendered from any thread.
 *   Layout is computed before drawing: the plot rectangle size is fixed (or, for the heatmap,
 *   derived from the cell size), tick labels are generated next, and the margins are then sized
 *   from the widest label, so labels never collide with the frame.  Tick labels that would
 *   still overlap a previously drawn one are dropped at draw time (invariant: no two labels
 *   overlap).  Everything is integer-pixel and bitmap-font based, so output is deterministic
 *   and byte-identical across machines.
 *   The curves (loss, sweep lines) are drawn in pngline.c; the pieces of layout they share with
 *   the histogram (ticks, axes, frame, header, legend, the line-plot canvas) are exported to it
 *   through pngplot_impl.h, not copied, so all the figures keep one look.
 */
#include "frtui/pngplot.h"
#include "pngplot_impl.h"

#include "frtui/heatagg.h"
#include "frtui/pngline.h"
#include "frtui/plot.h"
#include "frtui/plotmodel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "frtui/qdefs.h"

static const fr_rgb C_BG = { 255, 255, 255 }, C_TEXT = { 33, 33, 33 }, C_MUTED = { 100, 100, 100 },
                    C_AXIS = { 70, 70, 70 }, C_GRID = { 232, 232, 232 };
const fr_rgb fr_pp_palette[FR_HIST_MAX_SERIES] = {
    { 31, 119, 180 }, { 255, 127, 14 }, { 44, 160, 44 }, { 214, 39, 40 },
    { 148, 103, 189 }, { 140, 86, 75 }, { 227, 119, 194 }, { 127, 127, 127 },
};

/* ---- numbers and ticks ----------------------------------------------------------------------- */

fr_rgb fr_pngplot_diverging(float t)
{
    static const uint8_t k[11][3] = {
        { 5, 48, 97 }, { 33, 102, 172 }, { 67, 147, 195 }, { 146, 197, 222 }, { 209, 229, 240 },
        { 247, 247, 247 }, { 253, 219, 199 }, { 244, 165, 130 }, { 214, 96, 77 }, { 178, 24, 43 },
        { 103, 0, 31 },
    };
    if (!(t >= -1)) t = -1;   /* also NaN */
    if (t > 1) t = 1;
    float u = (t + 1) * 5;
    int i = (int)u;
    if (i >= 10) i = 9;
    float f = u - i;
    return FR_RGB(k[i][0] + (k[i + 1][0] - k[i][0]) * f + 0.5f, k[i][1] + (k[i + 1][1] - k[i][1]) * f + 0.5f,
                  k[i][2] + (k[i + 1][2] - k[i][2]) * f + 0.5f);
}

static fr_rgb lerp_rgb(fr_rgb a, fr_rgb b, double t)
{
    if (t < 0) t = 0;
    if (t > 1) t = 1;
    return FR_RGB(a.r + (b.r - a.r) * t + 0.5, a.g + (b.g - a.g) * t + 0.5, a.b + (b.b - a.b) * t + 0.5);
}

/* ---- axes, tick sets, frame -------------------------------------------------------------------- */

static void ticks_lin(fr_pp_ticks *t, double lo, double hi, int max, int integer)
{
    double st;
    t->n = fr_plot_nice_ticks(lo, hi, max, t->v, MAXT, &st);
    if (integer && st < 1) {
        t->n = 0;
        for (double v = ceil(lo); v <= hi && t->n < MAXT; v += 1) t->v[t->n++] = v;
        st = 1;
    }
    for (int i = 0; i < t->n; i++) fr_plot_fmt_step(t->v[i], st, t->s[i], sizeof t->s[i]);
}

/* Log axis: 1-2-5 x 10^k when they fit in max, else decades (thinned); ranges under a decade
 * that would get few 1-2-5 values use linear ticks in value space instead. */
static void ticks_log(fr_pp_ticks *t, double lo, double hi, int max)
{
    static const double m125[3] = { 1, 2, 5 };
    int d0 = (int)floor(log10(lo)) - 1, d1 = (int)ceil(log10(hi)) + 1;
    t->n = 0;
    for (int d = d0; d <= d1 && t->n < MAXT; d++)
        for (int i = 0; i < 3 && t->n < MAXT; i++) {
            double v = m125[i] * pow(10.0, d);
            if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) t->v[t->n++] = v;
        }
    if (t->n > max) {
        int first = (int)ceil(log10(lo) - 1e-9), last = (int)floor(log10(hi) + 1e-9);
        int every = (last - first) / FR_MAX(max - 1, 1) + 1;
        t->n = 0;
        for (int d = first; d <= last && t->n < MAXT; d += every) t->v[t->n++] = pow(10.0, d);
    } else if (t->n < 3 || (2 * t->n < max && log10(hi / lo) < 1)) {
        ticks_lin(t, lo, hi, max, 0);
        return;
    }
    for (int i = 0; i < t->n; i++) fr_plot_fmt_step(t->v[i], 0, t->s[i], sizeof t->s[0]);
}

static int ticks_width(const fr_pp_ticks *t)
{
    int w = 0;
    for (int i = 0; i < t->n; i++) w = FR_MAX(w, fr_raster_text_width(t->s[i], 1));
    return w;
}

/* x ticks: re-generate with fewer ticks until the labels fit the width comfortably. */
static void ticks_fit_x(fr_pp_ticks *t, double lo, double hi, int w, int integer)
{
    for (int max = FR_MAX(w / 50, 2); max >= 2; max--) {
        ticks_lin(t, lo, hi, max, integer);
        if (t->n <= 1 || (ticks_width(t) + 14) * t->n <= w) return;
    }
}

static double tx_(const fr_pp_axes *a, double v, double lo, double hi, int log_)
{
    if (log_) { v = log10(v); lo = log10(lo); hi = log10(hi); }
    return hi > lo ? (v - lo) / (hi - lo) : 0.5;
}
int fr_pp_ax_px(const fr_pp_axes *a, double x)
{
    if (a->cell) return a->x0 + (int)((x + 0.5) * a->cell / a->down);
    return a->x0 + (int)lround(tx_(a, x, a->xmin, a->xmax, 0) * (a->w - 1));
}
int fr_pp_ax_py(const fr_pp_axes *a, double y)
{
    if (a->cell) return a->y0 + (int)((y + 0.5) * a->cellh / (a->downh ? a->downh : a->down));
    return a->y0 + (int)lround((1 - tx_(a, y, a->ymin, a->ymax, a->logy)) * (a->h - 1));
}

int fr_plot_geom_px(const fr_plot_geom *g, double x)
{
    fr_pp_axes a = { g->x0, g->y0, g->w, g->h, g->xmin, g->xmax, g->ymin, g->ymax, g->logy, 0, 1, 0, 0 };
    return fr_pp_ax_px(&a, x);
}
int fr_plot_geom_py(const fr_plot_geom *g, double y)
{
    fr_pp_axes a = { g->x0, g->y0, g->w, g->h, g->xmin, g->xmax, g->ymin, g->ymax, g->logy, 0, 1, 0, 0 };
    return fr_pp_ax_py(&a, y);
}

void fr_pp_geom_from(fr_plot_geom *g, const fr_pp_axes *a)
{
    if (!g) return;
    g->x0 = a->x0; g->y0 = a->y0; g->w = a->w; g->h = a->h;
    g->xmin = a->xmin; g->xmax = a->xmax; g->ymin = a->ymin; g->ymax = a->ymax;
    g->logy = a->logy; g->cell = a->cell; g->cell_h = a->cellh; g->down = a->down;
    g->down_h = a->downh ? a->downh : a->down;
}

/* Space left of the plot for y tick labels and the rotated y label. */
static int left_margin(const fr_pp_ticks *yt) { return PAD + FR_FONT_H + 8 + ticks_width(yt) + TICK + 4; }

void fr_pp_draw_frame(fr_raster *r, const fr_pp_axes *a, const fr_pp_ticks *xt, const fr_pp_ticks *yt,
                      const char *xlabel, const char *ylabel, int grid)
{
    int xr = a->x0 + a->w - 1, yb = a->y0 + a->h - 1;
    if (grid) {
        for (int i = 0; i < xt->n; i++) fr_raster_vline(r, fr_pp_ax_px(a, xt->v[i]), a->y0 + 1, yb - 1, C_GRID);
        for (int i = 0; i < yt->n; i++) fr_raster_hline(r, a->x0 + 1, xr - 1, fr_pp_ax_py(a, yt->v[i]), C_GRID);
    }
    int last_right = -1000000;
    for (int i = 0; i < xt->n; i++) {
        int px = fr_pp_ax_px(a, xt->v[i]), tw = fr_raster_text_width(xt->s[i], 1);
        fr_raster_vline(r, px, yb + 1, yb + TICK, C_AXIS);
        int lx = px - tw / 2;
        if (lx < last_right + 8 || lx + tw > r->w) continue;
        fr_raster_text(r, lx, yb + TICK + 4, xt->s[i], 1, C_TEXT);
        last_right = lx + tw;
    }
    int last_y = 1000000, lw = ticks_width(yt);
    for (int i = 0; i < yt->n; i++) {
        int py = fr_pp_ax_py(a, yt->v[i]);
        fr_raster_hline(r, a->x0 - TICK, a->x0 - 1, py, C_AXIS);
        if (abs(py - last_y) < FR_FONT_H + 3) continue;
        int tw = fr_raster_text_width(yt->s[i], 1);
        fr_raster_text(r, a->x0 - TICK - 4 - tw, py - FR_FONT_H / 2 + 1, yt->s[i], 1, C_TEXT);
        last_y = py;
    }
    if (xlabel) fr_raster_text_centered(r, a->x0 + a->w / 2, yb + TICK + 4 + FR_FONT_H + 8, xlabel, 1, C_TEXT);
    if (ylabel) {
        int len = fr_raster_text_width(ylabel, 1);
        fr_raster_text_up(r, a->x0 - TICK - 4 - lw - 8 - FR_FONT_H, a->y0 + a->h / 2 - len / 2, ylabel, 1, C_TEXT);
    }
    fr_raster_rect(r, a->x0 - 1, a->y0 - 1, a->w + 2, a->h + 2, C_AXIS);
}

/* Title (scale 2 when it fits, else scale 1, else truncated) centred in [x, x+w). */
static void draw_title(fr_raster *r, int x, int w, int y, const char *s, int big, fr_plot_geom *g)
{
    if (!s || !*s) return;
    int scale = big && fr_raster_text_width(s, 2) <= w - 2 * PAD ? 2 : 1;
    char buf[512];
    size_t sl = strlen(s);
    if (sl >= sizeof buf) sl = sizeof buf - 1;
    memcpy(buf, s, sl);
    buf[sl] = 0;
    int maxc = FR_MAX((w - 2 * PAD) / (FR_FONT_W * scale), 4);
    if ((int)strlen(buf) > maxc) snprintf(buf + maxc - 3, sizeof buf - (size_t)(maxc - 3), "...");
    fr_raster_text_centered(r, x + w / 2, y, buf, scale, C_TEXT);
    if (g) { g->title_y0 = y; g->title_y1 = y + FR_FONT_H * scale; }
}

/* Width of entry i: swatch, gap and label (entries in a row are 18 px apart). */
static int legend_item_w(const fr_pp_legend *l, int i) { return 14 + fr_raster_text_width(l->s[i], 1); }

/* Entries [a, end) that fit one row of maxw, at least one. */
static int legend_row_end(const fr_pp_legend *l, int a, int maxw, int *width)
{
    int w = legend_item_w(l, a), b = a + 1;
    while (b < l->n && w + 18 + legend_item_w(l, b) <= maxw) w += 18 + legend_item_w(l, b++);
    *width = w;
    return b;
}

int fr_pp_legend_rows(const fr_pp_legend *l, int maxw)
{
    int rows = 0, w;
    for (int a = 0; a < l->n; a = legend_row_end(l, a, maxw, &w)) rows++;
    return rows;
}

void fr_pp_draw_legend(fr_raster *r, int cx, int y, const fr_pp_legend *l)
{
    const int maxw = r->w - 2 * PAD;
    for (int a = 0, b, total; a < l->n; a = b, y += FR_PP_LEGEND_PITCH) {
        b = legend_row_end(l, a, maxw, &total);
        int x = cx - total / 2;
        for (int i = a; i < b; i++) {
            if (i > a) x += 18;
            fr_raster_fill_rect(r, x, y, 10, 10, l->c[i]);
            x += 14;
            x += fr_raster_text(r, x, y + 1, l->s[i], 1, C_MUTED);
        }
    }
}

void fr_pp_draw_header(fr_raster *r, const char *title, const char *note, fr_plot_geom *g)
{
    draw_title(r, 0, r->w, PAD, title, 1, g);
    if (note && *note) fr_raster_text_centered(r, r->w / 2, PAD + 2 * FR_FONT_H + 6, note, 1, C_MUTED);
}

/* ---- heatmap -------------------------------------------------------------------------------- */

#define HEAT_MAX_SIDE 4096   /* displayed cells per side before block downsampling */

int fr_pngplot_render_heatmap(fr_raster *out, const fr_heatmap_in *in, fr_plot_geom *geom, fr_err *e)
{
    out->px = NULL;
    if (!in->s || in->rows < 1 || in->cols < 1)
        return fr_err_set(e, FR_EINPUT, "heatmap: empty %dx%d matrix", in->rows, in->cols);
    size_t nn;
    if (fr_size_mul(&nn, (size_t)in->rows, (size_t)in->cols) != FR_OK)
        return fr_err_set(e, FR_EINPUT, "heatmap: %dx%d matrix too large", in->rows, in->cols);
    int rows = in->rows, cols = in->cols, down = 1;
    while ((cols + down - 1) / down > HEAT_MAX_SIDE || (rows + down - 1) / down > HEAT_MAX_SIDE) down++;
    /* blocks of down_r x down_c weights: square `down` for the extreme view, the panel's tile
     * for an aggregate one (doubled while the grid would not fit) */
    int down_r = down, down_c = down;
    if (in->agg) {
        down_r = FR_MAX(1, in->tile_r), down_c = FR_MAX(1, in->tile_c);
        while ((cols + down_c - 1) / down_c > HEAT_MAX_SIDE || (rows + down_r - 1) / down_r > HEAT_MAX_SIDE)
            down_r *= 2, down_c *= 2;
    }
    int dc = (cols + down_c - 1) / down_c, dr = (rows + down_r - 1) / down_r;
    int k = FR_MAX(1, FR_MIN(480 / dc, 720 / dr)), kh = k;
    if (dr * kh < 120) kh = FR_MAX(kh, FR_MIN(120 / dr, 40));
    if (dc * k < 160) k = FR_MAX(k, FR_MIN(160 / dc, 40));
    int pw = dc * k, ph = dr * kh;

    double lmax = 0, smin = INFINITY, smax = -INFINITY;
    size_t bad = 0;
    for (size_t i = 0; i < nn; i++) {
        float s = in->s[i];
        if (in->linear ? !isfinite(s) : !(s > 0) || !isfinite(s)) { bad++; continue; }
        lmax = fmax(lmax, fabs(in->linear ? s : log(s)));
        smin = fmin(smin, s);
        smax = fmax(smax, s);
    }
    if (in->linear && !(in->log_range > 0)) return fr_err_set(e, FR_EINPUT, "heatmap: linear colours need a range");
    /* colours span l = v (linear) or ln v over [-range, range]; a log2 range is the screen's */
    double range = in->log_range > 0 ? in->log_range * (in->log2 && !in->linear ? log(2.0) : 1.0) : fmax(lmax, 1e-3);
    const char *cname = in->cbar_label ? in->cbar_label : "S";
    char aname[24];   /* aggregate: the bar is |value|; "mean" / "max" is in the note */
    if (in->agg) snprintf(aname, sizeof aname, "|%.16s|", in->agg_what ? in->agg_what : cname), cname = aname;

    /* Ticks: x/y in weight indices, colour bar in S on a log axis. */
    fr_pp_ticks xt, yt, ct;
    ticks_fit_x(&xt, 0, cols - 1, pw, 1);
    ticks_lin(&yt, 0, rows - 1, FR_MAX(2, FR_MIN(ph / 28, 12)), 1);
    int barh = FR_MAX(ph, 120);
    if (in->linear) ticks_lin(&ct, -range, range, FR_MAX(4, FR_MIN(barh / 40, 9)), 0);
    else ticks_log(&ct, exp(-range), exp(range), FR_MAX(4, FR_MIN(barh / 40, 9)));
    int left = left_margin(&yt);
    int barx = left + pw + 18, right = barx + 16 + TICK + 4 + ticks_width(&ct) + PAD;
    int header = HEADER_H;
    int W = FR_MAX(right, 360), H = header + FR_MAX(ph, barh) + BOTTOM_MARGIN;
    const char *title = in->title ? in->title : "";
    /* Widen a narrow plot's canvas so the title keeps its large size (up to 1000 px). */
    if (W < fr_raster_text_width(title, 2) + 2 * PAD) W = FR_MAX(W, FR_MIN(fr_raster_text_width(title, 2) + 4 * PAD, 1000));
    if (W < fr_raster_text_width(title, 1) + 2 * PAD) W = FR_MIN(fr_raster_text_width(title, 1) + 2 * PAD, 1600);
    int rc = fr_raster_init(out, W, H, C_BG, e);
    if (rc) return rc;
    int shift = (W - right) / 2;   /* centre the content when the title widened the canvas */
    fr_pp_axes a = { left + shift, header, pw, ph, 0, cols, 0, rows, 0, k, down_c, kh, down_r };

    for (int br = 0; br < dr; br++)
        for (int bc = 0; bc < dc; bc++) {
            if (in->agg) {   /* max / mean |value| of the tile (heatagg.c), as the panel draws it */
                float t = fr_heatagg_tile(in->s, (size_t)cols, br * down_r, FR_MIN(rows, (br + 1) * down_r), bc * down_c,
                                          FR_MIN(cols, (bc + 1) * down_c), in->agg);
                fr_rgb c = isnan(t) ? FR_RGB(0, 0, 0) : fr_pngplot_diverging((float)(t / range));
                fr_raster_fill_rect(out, a.x0 + bc * k, a.y0 + br * kh, k, kh, c);
                continue;
            }
            /* Downsampled blocks show their most extreme scale so outliers stay visible. */
            double best = 0;
            int valid = 0;
            for (int r0 = br * down; r0 < FR_MIN(rows, (br + 1) * down) && valid >= 0; r0++)
                for (int c0 = bc * down; c0 < FR_MIN(cols, (bc + 1) * down); c0++) {
                    float s = in->s[(size_t)r0 * cols + c0];
                    if (in->linear ? !isfinite(s) : !(s > 0) || !isfinite(s)) { valid = -1; break; }
                    double l = in->linear ? s : log(s);
                    if (!valid || fabs(l) > fabs(best)) best = l;
                    valid = 1;
                }
            /* An invalid S anywhere in a block is a bug worth seeing: it wins over the rest. */
            fr_rgb c = valid > 0 ? fr_pngplot_diverging((float)(best / range)) : FR_RGB(0, 0, 0);
            fr_raster_fill_rect(out, a.x0 + bc * k, a.y0 + br * kh, k, kh, c);
        }
    /* attention head boundaries (issue 16): a line where each head after the first starts */
    if (in->head_rows > 0 && (double)in->head_rows / down_r * kh >= 3)
        for (int b = (in->r0 / in->head_rows + 1) * in->head_rows; b < in->r0 + rows; b += in->head_rows)
            fr_raster_hline(out, a.x0, a.x0 + pw - 1, a.y0 + (b - in->r0) / down_r * kh, C_AXIS);
    if (in->head_cols > 0 && (double)in->head_cols / down_c * k >= 3)
        for (int b = (in->c0 / in->head_cols + 1) * in->head_cols; b < in->c0 + cols; b += in->head_cols)
            fr_raster_vline(out, a.x0 + (b - in->c0) / down_c * k, a.y0, a.y0 + ph - 1, C_AXIS);
    fr_pp_draw_frame(out, &a, &xt, &yt, in->xlabel ? in->xlabel : "input index (in x kh x kw)",
                     in->ylabel ? in->ylabel : "output channel", 0);

    /* Colour bar, vertically centred on the matrix. */
    fr_pp_axes cb = { barx + shift, header + (ph - barh) / 2, 16, barh, 0, 1, in->linear ? -range : exp(-range),
                      in->linear ? range : exp(range), !in->linear, 0, 1, 0, 0 };
    if (cb.y0 < header) cb.y0 = header;
    for (int y = 0; y < barh; y++) {
        double t = 1.0 - 2.0 * y / (barh - 1);
        fr_raster_hline(out, cb.x0, cb.x0 + 15, cb.y0 + y, fr_pngplot_diverging((float)t));
    }
    fr_raster_rect(out, cb.x0 - 1, cb.y0 - 1, 18, barh + 2, C_AXIS);
    int last_y = -1000;
    for (int i = 0; i < ct.n; i++) {
        int py = fr_pp_ax_py(&cb, ct.v[i]);
        fr_raster_hline(out, cb.x0 + 16, cb.x0 + 16 + TICK, py, C_AXIS);
        if (abs(py - last_y) < FR_FONT_H + 3) continue;
        fr_raster_text(out, cb.x0 + 16 + TICK + 4, py - FR_FONT_H / 2 + 1, ct.s[i], 1, C_TEXT);
        last_y = py;
    }
    fr_raster_text_centered(out, cb.x0 + 8, cb.y0 - FR_FONT_H - 6, cname, 1, C_TEXT);

    char note[320], lo[24], hi[24], rg[24];
    fr_plot_fmt_step(smin, 0, lo, sizeof lo);
    fr_plot_fmt_step(smax, 0, hi, sizeof hi);
    fr_plot_fmt_step(range, 0, rg, sizeof rg);
    int m = in->linear ? snprintf(note, sizeof note, "%d x %d weights, %s in [%s, %s], colour: |%s| <= %s", rows, cols, cname,
                                  bad == nn ? "-" : lo, bad == nn ? "-" : hi, cname, rg)
                       : snprintf(note, sizeof note, "%d x %d weights, %s in [%s, %s], colour: |ln %s| <= %s", rows, cols,
                                  cname, bad == nn ? "-" : lo, bad == nn ? "-" : hi, cname, rg);
    if (in->agg) {   /* what a block is, as the panel says it; the raw range would mislead here */
        char lab[80];
        fr_heatagg_label(lab, sizeof lab, in->agg, in->agg_what ? in->agg_what : cname, down_r, down_r, down_c, down_c);
        m = snprintf(note, sizeof note, "%d x %d weights, %s, colour: 0 to %s", rows, cols, lab, rg);
    } else if (down > 1 && m < (int)sizeof note) {
        m += snprintf(note + m, sizeof note - m, "; downsampled %dx (max |value| per block)", down);
    }
    if (bad && m < (int)sizeof note) snprintf(note + m, sizeof note - m, "; %zu invalid %s in black", bad, cname);
    char tbuf[512];
    snprintf(tbuf, sizeof tbuf, "%.480s%s", title, down_r > 1 || down_c > 1 ? in->agg ? " [tiles]" : " [downsampled]" : "");
    fr_pp_draw_header(out, tbuf, note, geom);
    fr_pp_geom_from(geom, &a);
    return FR_OK;
}

int fr_pngplot_heatmap(const char *path, const fr_heatmap_in *in, fr_err *e)
{
    fr_raster r;
    return fr_raster_write_png_free(&r, fr_pngplot_render_heatmap(&r, in, NULL, e), path, e);
}

/* ---- scatter and compare ------------------------------------------------------------------- */

static const fr_rgb IN_LO = { 158, 202, 225 }, IN_HI = { 8, 48, 107 };     /* ColorBrewer Blues */
static const fr_rgb OUT_LO = { 253, 174, 107 }, OUT_HI = { 166, 54, 3 };   /* Oranges */
static const fr_rgb CLIP_LO = { 150, 110, 200 }, CLIP_HI = { 74, 20, 134 };   /* purples, darker than the blues */
static const fr_rgb C_BAND = { 200, 30, 30 };

static int scatter_check(const fr_scatter_in *in, fr_err *e)
{
    if ((!in->x || !in->y) && in->n) return fr_err_set(e, FR_EINPUT, "scatter: NULL data for %zu points", in->n);
    if (in->fixed_range && !(in->xmax > in->xmin && in->ymax > in->ymin))
        return fr_err_set(e, FR_EINPUT, "scatter: empty fixed range");
    return FR_OK;
}

/* Data range: x padded 4 %, y symmetric and at least +-1.5 so the band is always visible. */
static void scatter_range(const fr_scatter_in *in, double *xmin, double *xmax, double *ymax)
{
    for (size_t i = 0; i < in->n; i++) {
        if (!isfinite(in->x[i]) || !isfinite(in->y[i])) continue;
        *xmin = fmin(*xmin, in->x[i]);
        *xmax = fmax(*xmax, in->x[i]);
        *ymax = fmax(*ymax, fabs(in->y[i]));
    }
}

static void finish_range(double *xmin, double *xmax, double *ymax)
{
    if (!(*xmax >= *xmin)) { *xmin = -1; *xmax = 1; }
    double pad = (*xmax - *xmin) * 0.04;
    if (pad == 0) pad = fmax(fabs(*xmax) * 0.1, 1e-3);
    *xmin -= pad;
    *xmax += pad;
    *ymax = fmax(1.5, *ymax * 1.08);
}

typedef struct scatter_stats { size_t shown, outside, clipped, skipped; int classes; } scatter_stats;

static void draw_scatter_points(fr_raster *r, const fr_pp_axes *a, const fr_scatter_in *in, scatter_stats *st)
{
    int m = in->n <= 2000 ? 3 : in->n <= 50000 ? 2 : 1;
    int gw = (a->w + m - 1) / m, gh = (a->h + m - 1) / m;
    /* Counts per grid cell and class: inside, aggressive, clipped (in->cls, the quantizer's
     * fr_qclass; without it |shift| > 1 is drawn as "beyond"). */
    uint32_t *cin = fr_xcalloc((size_t)gw * gh * 3, sizeof *cin), *cout = cin + (size_t)gw * gh,
             *cclip = cout + (size_t)gw * gh;
    memset(st, 0, sizeof *st);
    st->classes = in->cls != NULL;
    for (size_t i = 0; i < in->n; i++) {
        double x = in->x[i], y = in->y[i];
        if (!isfinite(x) || !isfinite(y) || x < a->xmin || x > a->xmax || y < a->ymin || y > a->ymax) {
            st->skipped++;
            continue;
        }
        int gx = (fr_pp_ax_px(a, x) - a->x0) / m, gy = (fr_pp_ax_py(a, y) - a->y0) / m;
        gx = FR_MIN(FR_MAX(gx, 0), gw - 1);
        gy = FR_MIN(FR_MAX(gy, 0), gh - 1);
        int k = in->no_band ? FR_WC_INSIDE : in->cls ? in->cls[i] : fr_plot_point_class((float)y);
        uint32_t *grid = k == FR_WC_AGGRESSIVE ? cout : k == FR_WC_CLIPPED ? cclip : cin;
        grid[(size_t)gy * gw + gx]++;
        st->shown++;
        st->outside += (size_t)(k == FR_WC_AGGRESSIVE);
        st->clipped += (size_t)(k == FR_WC_CLIPPED);
    }
    uint32_t mx[3] = {1, 1, 1};
    for (size_t i = 0; i < (size_t)gw * gh; i++) {
        mx[0] = FR_MAX(mx[0], cin[i]); mx[1] = FR_MAX(mx[1], cclip[i]); mx[2] = FR_MAX(mx[2], cout[i]);
    }
    /* Shade by log count so one point stays visible next to a dense cluster; aggressive last so
     * it stays on top. */
    for (int pass = 0; pass < 3; pass++) {
        const uint32_t *cnt = pass == 2 ? cout : pass == 1 ? cclip : cin;
        double lmax = log1p(mx[pass]);
        for (int gy = 0; gy < gh; gy++)
            for (int gx = 0; gx < gw; gx++) {
                uint32_t c = cnt[(size_t)gy * gw + gx];
                if (!c) continue;
                double t = lmax > log1p(1) ? (log1p(c) - log1p(1)) / (lmax - log1p(1)) : 1.0;
                fr_rgb col = pass == 2 ? lerp_rgb(OUT_LO, OUT_HI, 0.35 + 0.65 * t)
                             : pass == 1 ? lerp_rgb(CLIP_LO, CLIP_HI, 0.35 + 0.65 * t) : lerp_rgb(IN_LO, IN_HI, 0.3 + 0.7 * t);
                int px = a->x0 + gx * m, py = a->y0 + gy * m;
                fr_raster_fill_rect(r, px, py, FR_MIN(m, a->x0 + a->w - px), FR_MIN(m, a->y0 + a->h - py), col);
            }
    }
    free(cin);
    /* The +-1 band: the two grid points nearest to W/s1 (AdaRound's reach). */
    if (in->no_band) return;
    fr_raster_hline_dashed(r, a->x0, a->x0 + a->w - 1, fr_pp_ax_py(a, 1.0), 6, 3, C_BAND);
    fr_raster_hline_dashed(r, a->x0, a->x0 + a->w - 1, fr_pp_ax_py(a, -1.0), 6, 3, C_BAND);
}

/* The same words and numbers as the TUI's Stats/scatter and the reports: "aggressive x%, clipped y%". */
static void scatter_note(char *buf, size_t n, const scatter_stats *st)
{
    char pct[24], pc[24];
    fr_plot_fmt_step(st->shown ? 100.0 * st->outside / st->shown : 0, 0.01, pct, sizeof pct);
    fr_plot_fmt_step(st->shown ? 100.0 * st->clipped / st->shown : 0, 0.01, pc, sizeof pc);
    int k = st->classes ? snprintf(buf, n, "n=%zu, aggressive %s%% (%zu), clipped %s%% (%zu)", st->shown, pct, st->outside,
                                   pc, st->clipped)
                        : snprintf(buf, n, "n=%zu, |shift|>1: %s%% (%zu)", st->shown, pct, st->outside);
    if (st->skipped && k < (int)n) snprintf(buf + k, n - k, ", %zu skipped", st->skipped);
}

static void scatter_legend(fr_raster *r, int cx, int y, int classes)
{
    fr_pp_legend l = { 4, { IN_HI, OUT_HI, CLIP_HI, C_BAND },
                 { "inside (nearest two grid points)", "aggressive (beyond them)", "clipped (at a grid end)", "shift = +-1" } };
    fr_pp_legend old = { 3, { IN_HI, OUT_HI, C_BAND }, { "within nearest two grid points", "beyond (|shift| > 1)", "shift = +-1" } };
    fr_pp_draw_legend(r, cx, y, classes ? &l : &old);
}

#define SC_W 600
#define SC_H 380

static void scatter_axes(const fr_scatter_in *in, fr_pp_axes *a, fr_pp_ticks *xt, fr_pp_ticks *yt, int pw, int ph, double xmin,
                         double xmax, double ymin, double ymax)
{
    memset(a, 0, sizeof *a);
    a->w = pw; a->h = ph;
    a->xmin = xmin; a->xmax = xmax; a->ymin = ymin; a->ymax = ymax;
    a->down = 1;
    ticks_fit_x(xt, xmin, xmax, pw, 0);
    ticks_lin(yt, ymin, ymax, FR_MAX(2, ph / 40), 0);
}

int fr_pngplot_render_scatter(fr_raster *out, const fr_scatter_in *in, fr_plot_geom *geom, fr_err *e)
{
    out->px = NULL;
    int rc = scatter_check(in, e);
    if (rc) return rc;
    double xmin = INFINITY, xmax = -INFINITY, ymax = 0, ymin;
    if (in->fixed_range) { xmin = in->xmin; xmax = in->xmax; ymin = in->ymin; ymax = in->ymax; }
    else { scatter_range(in, &xmin, &xmax, &ymax); finish_range(&xmin, &xmax, &ymax); ymin = -ymax; }
    fr_pp_axes a;
    fr_pp_ticks xt, yt;
    scatter_axes(in, &a, &xt, &yt, SC_W, SC_H, xmin, xmax, ymin, ymax);
    int left = left_margin(&yt);
    rc = fr_raster_init(out, left + SC_W + PAD + 10, HEADER_H + FR_FONT_H + 10 + SC_H + BOTTOM_MARGIN, C_BG, e);
    if (rc) return rc;
    a.x0 = left;
    a.y0 = HEADER_H + FR_FONT_H + 10;
    fr_pp_draw_frame(out, &a, &xt, &yt, NULL, NULL, 1);
    fr_raster_hline(out, a.x0, a.x0 + a.w - 1, fr_pp_ax_py(&a, 0.0), FR_RGB(200, 200, 200));
    scatter_stats st;
    draw_scatter_points(out, &a, in, &st);
    fr_pp_draw_frame(out, &a, &xt, &yt, in->xlabel ? in->xlabel : "W", in->ylabel ? in->ylabel : "rounding shift (grid units)", 0);
    char note[160];
    scatter_note(note, sizeof note, &st);
    fr_pp_draw_header(out, in->title, note, geom);
    scatter_legend(out, out->w / 2, HEADER_H, in->cls != NULL);
    fr_pp_geom_from(geom, &a);
    return FR_OK;
}

int fr_pngplot_scatter(const char *path, const fr_scatter_in *in, fr_err *e)
{
    fr_raster r;
    return fr_raster_write_png_free(&r, fr_pngplot_render_scatter(&r, in, NULL, e), path, e);
}

#define CMP_W 360
#define CMP_H 320

int fr_pngplot_render_compare(fr_raster *out, const fr_scatter_in panels[3], const char *title,
                              fr_plot_geom *geom, fr_err *e)
{
    out->px = NULL;
    for (int p = 0; p < 3; p++) {
        int rc = scatter_check(&panels[p], e);
        if (rc) return rc;
    }
    double xmin = INFINITY, xmax = -INFINITY, ymax = 0, ymin;
    if (panels[0].fixed_range) {
        xmin = panels[0].xmin; xmax = panels[0].xmax; ymin = panels[0].ymin; ymax = panels[0].ymax;
    } else {
        for (int p = 0; p < 3; p++) scatter_range(&panels[p], &xmin, &xmax, &ymax);
        finish_range(&xmin, &xmax, &ymax);
        ymin = -ymax;
    }
    fr_pp_axes a;
    fr_pp_ticks xt, yt;
    scatter_axes(&panels[0], &a, &xt, &yt, CMP_W, CMP_H, xmin, xmax, ymin, ymax);
    int left = left_margin(&yt), pwid = left + CMP_W + 12;
    int top = HEADER_H + FR_FONT_H + 10;   /* legend row, then panel subtitles */
    int rc = fr_raster_init(out, 3 * pwid + PAD, top + 2 * FR_FONT_H + 8 + CMP_H + BOTTOM_MARGIN, C_BG, e);
    if (rc) return rc;
    for (int p = 0; p < 3; p++) {
        const fr_scatter_in *in = &panels[p];
        a.x0 = p * pwid + left;
        a.y0 = top + 2 * FR_FONT_H + 8;
        fr_pp_draw_frame(out, &a, &xt, &yt, NULL, NULL, 1);
        fr_raster_hline(out, a.x0, a.x0 + a.w - 1, fr_pp_ax_py(&a, 0.0), FR_RGB(200, 200, 200));
        scatter_stats st;
        draw_scatter_points(out, &a, in, &st);
        fr_pp_draw_frame(out, &a, &xt, &yt, in->xlabel ? in->xlabel : "W",
                         in->ylabel ? in->ylabel : "rounding shift (grid units)", 0);
        char note[160];
        scatter_note(note, sizeof note, &st);
        draw_title(out, a.x0, a.w, top, in->title ? in->title : "", 0, NULL);
        fr_raster_text_centered(out, a.x0 + a.w / 2, top + FR_FONT_H + 4, note, 1, C_MUTED);
        if (geom) fr_pp_geom_from(&geom[p], &a);
    }
    fr_plot_geom tg;
    fr_pp_draw_header(out, title, NULL, &tg);
    int any_cls = panels[0].cls || panels[1].cls || panels[2].cls;
    scatter_legend(out, out->w / 2, PAD + 2 * FR_FONT_H + 6, any_cls);
    if (geom) for (int p = 0; p < 3; p++) { geom[p].title_y0 = tg.title_y0; geom[p].title_y1 = tg.title_y1; }
    return FR_OK;
}

int fr_pngplot_compare(const char *path, const fr_scatter_in panels[3], const char *title, fr_err *e)
{
    fr_raster r;
    return fr_raster_write_png_free(&r, fr_pngplot_render_compare(&r, panels, title, NULL, e), path, e);
}

/* ---- the loss, histogram and line plots' canvas ----------------------------------------------- */

int fr_pp_line_canvas(fr_raster *out, fr_pp_axes *a, fr_pp_ticks *xt, fr_pp_ticks *yt, int integer_x, int extra_top,
                      fr_err *e)
{
    ticks_fit_x(xt, a->xmin, a->xmax, LP_W, integer_x);
    if (a->logy) ticks_log(yt, a->ymin, a->ymax, FR_MAX(2, LP_H / 40));
    else ticks_lin(yt, a->ymin, a->ymax, FR_MAX(2, LP_H / 40), 0);
    int left = left_margin(yt);
    int rc = fr_raster_init(out, left + LP_W + PAD + 10, HEADER_H + FR_FONT_H + 6 + extra_top + LP_H + BOTTOM_MARGIN,
                            C_BG, e);
    if (rc) return rc;
    a->x0 = left;
    a->y0 = HEADER_H + FR_FONT_H + 6 + extra_top;
    fr_pp_draw_frame(out, a, xt, yt, NULL, NULL, 1);
    return FR_OK;
}

/* ---- histograms ----------------------------------------------------------------------------- */

int fr_pngplot_render_hist(fr_raster *out, const fr_hist_in *in, fr_plot_geom *geom, fr_err *e)
{
    out->px = NULL;
    if (!in->series || in->nseries < 1 || in->nseries > FR_HIST_MAX_SERIES)
        return fr_err_set(e, FR_EINPUT, "histogram: %d series (1..%d allowed)", in->nseries, FR_HIST_MAX_SERIES);
    double xmin = INFINITY, xmax = -INFINITY, cmax = 0, cpos = INFINITY;
    for (int s = 0; s < in->nseries; s++) {
        const fr_hist_series *hs = &in->series[s];
        if (!hs->edges || !hs->counts || hs->nbins < 1)
            return fr_err_set(e, FR_EINPUT, "histogram: series %d is empty", s);
        for (int b = 0; b < hs->nbins; b++) {
            if (!(hs->edges[b + 1] > hs->edges[b]) || !isfinite(hs->edges[b]) || !isfinite(hs->edges[b + 1]))
                return fr_err_set(e, FR_EINPUT, "histogram: series %d: bin edges not increasing at %d", s, b);
            double c = hs->counts[b];
            if (!(c >= 0) || !isfinite(c))
                return fr_err_set(e, FR_EINPUT, "histogram: series %d: bad count at bin %d", s, b);
            cmax = fmax(cmax, c);
            if (c > 0) cpos = fmin(cpos, c);
        }
        xmin = fmin(xmin, hs->edges[0]);
        xmax = fmax(xmax, hs->edges[hs->nbins]);
    }
    double ylo = 0, yhi = cmax > 0 ? cmax * 1.06 : 1;
    if (in->log_y) {
        if (!isfinite(cpos)) cpos = 1;
        ylo = pow(10, floor(log10(cpos) - 0.1));
        yhi = pow(10, log10(fmax(cmax, cpos)) + 0.1);
    }
    fr_pp_axes a = { 0, 0, LP_W, LP_H, xmin, xmax, ylo, yhi, in->log_y, 0, 1, 0, 0 };
    fr_pp_ticks xt, yt;
    fr_pp_legend l = { 0, { { 0, 0, 0 } }, { NULL } };
    for (int s = 0; s < in->nseries; s++)
        if (in->series[s].label) { l.c[l.n] = fr_pp_palette[s]; l.s[l.n++] = in->series[s].label; }
    /* The legend sits on the note line, which leaves room for two rows above the plot. */
    int rc = fr_pp_line_canvas(out, &a, &xt, &yt, 0, FR_MAX(0, fr_pp_legend_rows(&l, LP_W) - 2) * FR_PP_LEGEND_PITCH, e);
    if (rc) return rc;
    int base = a.y0 + a.h - 1;
    for (int pass = 0; pass < 2; pass++)   /* translucent fills first, then all outlines on top */
        for (int s = 0; s < in->nseries; s++) {
            const fr_hist_series *hs = &in->series[s];
            fr_rgb c = fr_pp_palette[s];
            int prev_top = base;
            for (int b = 0; b < hs->nbins; b++) {
                double v = hs->counts[b];
                int xa = fr_pp_ax_px(&a, hs->edges[b]), xb = fr_pp_ax_px(&a, hs->edges[b + 1]);
                int top = (in->log_y && v < ylo) || v <= 0 ? base : fr_pp_ax_py(&a, v);
                if (pass == 0) {
                    fr_raster_blend_rect(out, xa, top, xb - xa + 1, base - top + 1, c, in->nseries > 1 ? 0.35f : 0.55f);
                } else {
                    fr_raster_vline(out, xa, prev_top, top, c);
                    fr_raster_hline(out, xa, xb, top, c);
                    prev_top = top;
                }
            }
            if (pass) fr_raster_vline(out, fr_pp_ax_px(&a, hs->edges[hs->nbins]), prev_top, base, c);
        }
    fr_pp_draw_frame(out, &a, &xt, &yt, in->xlabel ? in->xlabel : "value", in->ylabel ? in->ylabel : "count", 0);
    fr_pp_draw_header(out, in->title, NULL, geom);
    fr_pp_draw_legend(out, out->w / 2, PAD + 2 * FR_FONT_H + 6, &l);
    fr_pp_geom_from(geom, &a);
    return FR_OK;
}

int fr_pngplot_hist(const char *path, const fr_hist_in *in, fr_err *e)
{
    fr_raster r;
    return fr_raster_write_png_free(&r, fr_pngplot_render_hist(&r, in, NULL, e), path, e);
}

/* ---- the plot model (plotmodel.h) ------------------------------------------------------------ */

/* Renders exactly the model: its ranges, smoothing, axes and point classes; only the tick
 * density and the pixel layout are this renderer's. */
int fr_plot_model_render_png(fr_raster *out, const fr_plot_model *m, fr_plot_geom *geom, fr_err *e)
{
    out->px = NULL;
    switch (m->kind) {
    case FR_PLOT_LOSS: {
        int64_t *it = fr_xmalloc((size_t)m->n_loss * sizeof *it);
        for (int i = 0; i < m->n_loss; i++) it[i] = i;   /* the screen's x: iteration index */
        fr_loss_in in = {m->loss, it, (size_t)m->n_loss, (float)m->smooth, m->logy, m->title, m->ylabel,
                         m->ema, 1, m->xmin, m->xmax, m->ymin, m->ymax, m->ref};
        int rc = fr_pngplot_render_loss(out, &in, geom, e);
        free(it);
        return rc;
    }
    case FR_PLOT_SCATTER:
    case FR_PLOT_RECIP: {
        const fr_plot_series *se = &m->series[0];
        fr_scatter_in in = {se->x, se->y, (size_t)se->n, m->title, m->xlabel, m->ylabel, 1,
                            m->xmin, m->xmax, m->ymin, m->ymax, se->cls, !m->band};
        return fr_pngplot_render_scatter(out, &in, geom, e);
    }
    case FR_PLOT_COMPARE: {
        fr_scatter_in p[3];
        char sub[3][96];
        for (int k = 0; k < 3; k++) {
            const fr_plot_series *se = &m->series[k];
            if (!se->n) return fr_err_set(e, FR_EINPUT, "no %s result to compare; run compare first", se->title);
            char lv[24];
            fr_plot_fmt(lv, sizeof lv, se->loss);
            snprintf(sub[k], sizeof sub[k], "%s (loss %s)", se->title, isfinite(se->loss) ? lv : "-");
            p[k] = (fr_scatter_in){se->x, se->y, (size_t)se->n, sub[k], m->xlabel, m->ylabel, 1,
                                   m->xmin, m->xmax, m->ymin, m->ymax, se->cls, !m->band};
        }
        return fr_pngplot_render_compare(out, p, m->title, geom, e);
    }
    case FR_PLOT_CHAN: return fr_pngplot_render_chan(out, m, geom, e);
    case FR_PLOT_HEAT: {
        fr_heatmap_in in = {m->heat, m->rows, m->cols, m->heat_range, m->title, NULL, NULL,
                            m->heat_mode == FR_HEAT_LINEAR, 1, m->heat_name, m->head_rows, m->head_cols, m->r0, m->c0,
                            m->heat_agg, m->tile_r, m->tile_c, m->heat_what};
        return fr_pngplot_render_heatmap(out, &in, geom, e);
    }
    case FR_PLOT_HIST: {
        float edges[FR_SHIFT_BINS + 1];
        if (m->nbins != FR_SHIFT_BINS) return fr_err_set(e, FR_EINPUT, "histogram: %d bins", m->nbins);
        for (int b = 0; b <= m->nbins; b++) edges[b] = (float)(m->xmin + (m->xmax - m->xmin) * b / m->nbins);
        fr_hist_series ser = {edges, m->counts, m->nbins, NULL};
        fr_hist_in in = {&ser, 1, 0, m->title, m->xlabel, m->ylabel};   /* linear counts, as the panel */
        return fr_pngplot_render_hist(out, &in, geom, e);
    }
    }
    return fr_err_set(e, FR_EINPUT, "plot model: unknown kind %d", (int)m->kind);
}

int fr_plot_model_png(const fr_plot_model *m, const char *path, fr_err *e)
{
    fr_raster r;
    return fr_raster_write_png_free(&r, fr_plot_model_render_png(&r, m, NULL, e), path, e);
}
