/* teachpng.c — the loss overlay and the equation strip as PNGs (contract in
 * include/frtui/teachpng.h).
 *
 * Design note
 *   Neither picture is a plot model: the overlay is built by overlay.c (the same series, EMA
 *   and ranges the compare view's loss panel draws) and the strip's text by
 *   fr_view_eqn_text (the segments the terminal strip prints), so the PNGs cannot disagree
 *   with the screen.  This file only lays them out in pixels with the raster primitives and
 *   the bitmap font; pure functions of the snapshot, no globals, deterministic output.
 */
#include "frtui/teachpng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frtui/colour.h"
#include "frtui/overlay.h"
#include "frtui/plot.h"
#include "view_impl.h"

#define PAD FR_TEACHPNG_PAD
#define TS FR_TEACHPNG_TITLE_SCALE
#define MAXT 24

static const fr_rgb C_BG = {255, 255, 255}, C_TEXT = {33, 33, 33}, C_MUTED = {100, 100, 100}, C_AXIS = {70, 70, 70},
                    C_GRID = {232, 232, 232};

static fr_rgb role_rgb(fr_role r) { return fr_colour_palette("light")->role[r]; }
static fr_rgb method_rgb(int m)
{
    return role_rgb(m == FR_METHOD_RTN ? FR_R_RTN : m == FR_METHOD_ADAROUND ? FR_R_ADAROUND : FR_R_FLEXROUND);
}

static const fr_unit_view *unit_of(const fr_snapshot *s, int k, fr_err *e)
{
    if (!s || k < 0 || k >= s->n_units || !s->units[k]) {
        fr_err_set(e, FR_EINPUT, "no unit %d", k + 1);
        return NULL;
    }
    return s->units[k];
}

/* model / unit [(layer)] / method / bits / iteration, as every exported view titles itself */
static void title_of(const fr_snapshot *s, const fr_unit_view *v, const fr_layer_view *L, const char *what, char *b,
                     size_t n)
{
    char bt[32];
    fr_unit_view_bits_text(v, bt, sizeof bt);
    if (L)
        snprintf(b, n, "%s / %s (%s) / %s / W%d / it %d / %s", s->info.model, v->name, L->name, fr_method_name(v->method),
                 L->bits, v->iter, what);
    else
        snprintf(b, n, "%s / %s / %s / %s / it %d / %s", s->info.model, v->name, fr_method_name(v->method), bt, v->iter, what);
}

/* The title at (PAD, PAD), shrunk until it fits the width. */
static void draw_title(fr_raster *r, const char *t)
{
    int sc = TS;
    while (sc > 1 && fr_raster_text_width(t, sc) > r->w - 2 * PAD) sc--;
    fr_raster_text(r, PAD, PAD, t, sc, C_TEXT);
}

/* ------------------------------------------------------------------ overlay */

static void legend_entry(fr_raster *r, int *x, int y, const fr_overlay_series *s)
{
    fr_rgb c = method_rgb(s->method);
    int cy = y + FR_FONT_H;   /* middle of scale-2 text */
    if (s->n) fr_raster_line(r, *x, cy, *x + 36, cy, 3, c);
    else fr_raster_hline_dashed(r, *x, *x + 36, cy, 8, 5, c), fr_raster_hline_dashed(r, *x, *x + 36, cy + 1, 8, 5, c);
    *x += 44;
    *x += fr_raster_text(r, *x, y, s->name, 2, c) + 28;
}

int fr_teachpng_overlay(fr_raster *out, const fr_snapshot *s, int k, const fr_plot_state *st, char *title, size_t title_n,
                        fr_err *e)
{
    memset(out, 0, sizeof *out);
    const fr_unit_view *u = unit_of(s, k, e);
    if (!u) return FR_EINPUT;
    fr_plot_state d;
    if (!st) fr_plot_state_default(&d), st = &d;
    fr_overlay o;
    fr_overlay_build(u, 1, st->loss_x_time, st->smooth, &o);
    int curves = 0;
    for (int i = 0; i < o.n_series; i++) curves += o.s[i].n > 0;
    if (o.n_series < 2 || !curves) {
        fr_overlay_free(&o);
        return fr_err_set(e, FR_EINPUT, "unit %s: no loss curves to overlay yet", u->name);
    }
    int rc = fr_raster_init(out, FR_TEACHPNG_W, FR_TEACHPNG_H, C_BG, e);
    if (rc) { fr_overlay_free(&o); return rc; }
    char t[512];
    title_of(s, u, NULL, "loss of each method", t, sizeof t);
    draw_title(out, t);
    if (title) snprintf(title, title_n, "%s", t);
    int lx = PAD, ly = PAD + FR_FONT_H * TS + 14;
    for (int i = 0; i < o.n_series; i++) legend_entry(out, &lx, ly, &o.s[i]);
    fr_raster_text(out, lx, ly + 4, o.x_time ? "(faint: raw, solid: smoothed; x in seconds)" : "(faint: raw, solid: smoothed)",
                   1, C_MUTED);
    /* ticks first, so the left margin fits the widest y label */
    double yv[MAXT], xv[MAXT], ystep, xstep;
    int ny = fr_plot_nice_ticks(o.ylo, o.yhi, 7, yv, MAXT, &ystep), nx = fr_plot_nice_ticks(0, o.xmax, 9, xv, MAXT, &xstep);
    char yl[MAXT][24], xl[MAXT][24];
    int yw = 0;
    for (int i = 0; i < ny; i++) {
        fr_plot_fmt_step(yv[i], ystep, yl[i], sizeof yl[i]);
        yw = FR_MAX(yw, fr_raster_text_width(yl[i], 2));
    }
    for (int i = 0; i < nx; i++) fr_plot_fmt_step(xv[i], xstep, xl[i], sizeof xl[i]);
    int x0 = PAD + 2 * FR_FONT_H + 12 + yw + 8, x1 = out->w - PAD - 16, y0 = ly + 2 * FR_FONT_H + 24,
        y1 = out->h - PAD - 2 * FR_FONT_H * 2 - 12;
    double span = o.yhi - o.ylo;
#define PX(v) (x0 + (int)lround((v) / o.xmax * (x1 - x0)))
#define PY(v) (y1 - (int)lround(((v) - o.ylo) / span * (y1 - y0)))
    for (int i = 0; i < ny; i++) {
        int y = PY(yv[i]);
        if (y < y0 || y > y1) continue;
        fr_raster_hline(out, x0, x1, y, C_GRID);
        fr_raster_hline(out, x0 - 5, x0, y, C_AXIS);
        fr_raster_text(out, x0 - 8 - fr_raster_text_width(yl[i], 2), y - FR_FONT_H, yl[i], 2, C_MUTED);
    }
    int last_right = -(1 << 20);
    for (int i = 0; i < nx; i++) {
        int x = PX(xv[i]), w = fr_raster_text_width(xl[i], 2);
        if (x < x0 || x > x1) continue;
        fr_raster_vline(out, x, y0, y1, C_GRID);
        fr_raster_vline(out, x, y1, y1 + 5, C_AXIS);
        if (x - w / 2 > last_right + 8) {   /* labels never overlap */
            fr_raster_text(out, x - w / 2, y1 + 10, xl[i], 2, C_MUTED);
            last_right = x + w / 2;
        }
    }
    fr_raster_rect(out, x0, y0, x1 - x0 + 1, y1 - y0 + 1, C_AXIS);
    fr_raster_text_centered(out, (x0 + x1) / 2, y1 + 16 + 2 * FR_FONT_H, o.x_time ? "seconds since the unit began" : "iteration",
                            2, C_TEXT);
    fr_raster_text_up(out, PAD, (y0 + y1) / 2 - fr_raster_text_width("loss", 2) / 2, "loss", 2, C_TEXT);
    /* RTN (flat) first, then the curves: raw faint, smoothed on top; FlexRound drawn last */
    for (int i = 0; i < o.n_series; i++) {
        const fr_overlay_series *se = &o.s[i];
        fr_rgb c = method_rgb(se->method);
        if (se->n) continue;
        if (!isfinite(se->flat)) continue;
        int y = PY(se->flat);
        fr_raster_hline_dashed(out, x0 + 1, x1 - 1, y, 10, 6, c);
        fr_raster_hline_dashed(out, x0 + 1, x1 - 1, y + 1, 10, 6, c);
    }
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < o.n_series; i++) {
            const fr_overlay_series *se = &o.s[i];
            if (!se->n) continue;
            fr_rgb c = method_rgb(se->method);
            const float *ys = pass ? se->ema : se->loss;
            int px = -1, py = 0;
            for (int j = 0; j < se->n; j++) {
                if (!isfinite(ys[j])) { px = -1; continue; }
                double xv_ = o.x_time ? se->t[j] : j + 1;
                int x = PX(xv_), y = PY(fmin(o.yhi, fmax(o.ylo, ys[j])));
                if (pass == 0) fr_raster_blend(out, x, y, c, 0.35f);
                else if (px >= 0) fr_raster_line(out, px, py, x, y, 3, c);
                px = x, py = y;
            }
        }
#undef PX
#undef PY
    fr_overlay_free(&o);
    return FR_OK;
}

/* ------------------------------------------------------------------ equation strip */

int fr_teachpng_pick_weight(const fr_snapshot *s, int k, int layer, int *row, int *col)
{
    if (!s || k < 0 || k >= s->n_units || !s->units[k]) return -1;
    const fr_layer_view *L = fr_view_layer(s->units[k], layer);
    if (!L || !L->w || L->n <= 0 || L->o <= 0) return -1;
    int64_t best = -1, any = 0;
    for (int64_t i = 1; i < L->n; i++)
        if (fabsf(L->w[i]) > fabsf(L->w[any])) any = i;
    for (int64_t i = 0; L->cls && i < L->n; i++)
        if (L->cls[i] == FR_WC_AGGRESSIVE && (best < 0 || fabsf(L->w[i]) > fabsf(L->w[best]))) best = i;
    if (best < 0) best = any;
    int64_t cols = L->n / L->o;
    *row = (int)(best / cols);
    *col = (int)(best % cols);
    return 0;
}

/* Pieces of a segment, cut at double spaces (the strip's own separators) so a long line of
 * factors wraps between factors, never inside a number. */
static int wrap_lines(const char *text, int scale, int width, char lines[][512], int max)
{
    int n = 0;
    const char *p = text;
    while (*p && n < max) {
        const char *end = p + strlen(p), *cut = end;
        if (fr_raster_text_width(p, scale) > width) {
            cut = NULL;
            for (const char *q = strstr(p, "  "); q; q = strstr(q + 1, "  ")) {
                char tmp[512];
                size_t len = (size_t)(q - p) < sizeof tmp - 1 ? (size_t)(q - p) : sizeof tmp - 1;
                memcpy(tmp, p, len);
                tmp[len] = 0;
                if (fr_raster_text_width(tmp, scale) > width) break;
                cut = q;
            }
            if (!cut) cut = end;   /* one unbreakable piece: clipped at the edge */
        }
        size_t len = (size_t)(cut - p) < 511 ? (size_t)(cut - p) : 511;
        memcpy(lines[n], p, len);
        lines[n++][len] = 0;
        p = cut;
        while (*p == ' ') p++;
    }
    return n;
}

int fr_teachpng_eqn(fr_raster *out, const fr_snapshot *s, int k, int layer, int row, int col, char *title, size_t title_n,
                    fr_err *e)
{
    memset(out, 0, sizeof *out);
    const fr_unit_view *u = unit_of(s, k, e);
    if (!u) return FR_EINPUT;
    const fr_layer_view *L = fr_view_layer(u, layer);
    if (!L || !L->w || L->n <= 0 || L->o <= 0) return fr_err_set(e, FR_EINPUT, "unit %s has no weights to show", u->name);
    int cols = (int)(L->n / L->o);
    if (row < 0 && fr_teachpng_pick_weight(s, k, layer, &row, &col) != 0)
        return fr_err_set(e, FR_EINPUT, "unit %s has no weights to show", u->name);
    if (row >= L->o || col < 0 || col >= cols)
        return fr_err_set(e, FR_EINPUT, "weight %d,%d is outside layer %s (%d rows x %d columns)", row, col, L->name, L->o, cols);
    fr_eqn_text t;
    if (!fr_view_eqn_text(u, layer, L, row, col, 0, &t))
        return fr_err_set(e, FR_EINPUT, "unit %s has no weights to show", u->name);
    /* one row per segment (wrapped), the formula of the unit's method larger */
    enum { MAXL = 24 };
    static const int line_gap[3] = {0, 14, 14};
    char lines[MAXL][512];
    int scale[MAXL], nl = 0, gap[MAXL], bold[MAXL];
    fr_role role[MAXL];
    for (int i = 0; i < t.n && nl < MAXL; i++) {
        const fr_eqn_seg *g = &t.seg[i];
        const char *txt = g->text;
        while (*txt == ' ' || *txt == '|') txt++;   /* the strip's column separator */
        int sc = i == 0 ? 3 : 2, first = nl;
        int m = wrap_lines(txt, sc, FR_TEACHPNG_W - 2 * PAD - 20, lines + nl, MAXL - nl);
        for (int j = 0; j < m; j++, nl++) {
            scale[nl] = sc;
            role[nl] = g->role;
            bold[nl] = g->bold;
            gap[nl] = j == 0 && first > 0 && (t.seg[i - 1].line != g->line) ? line_gap[g->line] : 0;
        }
    }
    int title_h = PAD + FR_FONT_H * TS + 16, h = title_h + 24 + PAD;
    for (int i = 0; i < nl; i++) h += gap[i] + FR_FONT_H * scale[i] + 10;
    h = FR_MAX(h, 240);
    int rc = fr_raster_init(out, FR_TEACHPNG_W, h, C_BG, e);
    if (rc) return rc;
    char tt[512], what[64];
    snprintf(what, sizeof what, "weight [%d,%d]", t.row, t.col);
    title_of(s, u, L, what, tt, sizeof tt);
    draw_title(out, tt);
    if (title) snprintf(title, title_n, "%s", tt);
    fr_raster_hline(out, PAD, out->w - PAD, title_h, C_GRID);
    int y = title_h + 20;
    for (int i = 0; i < nl; i++) {
        y += gap[i];
        fr_rgb c = role[i] == FR_R_TEXT ? C_TEXT : role_rgb(role[i]);
        int x = PAD + (scale[i] == 2 && i > 0 && gap[i] == 0 && role[i] == role[i - 1] ? 20 : 0);
        fr_raster_text(out, x, y, lines[i], scale[i], c);
        if (bold[i]) fr_raster_text(out, x + 1, y, lines[i], scale[i], c);   /* bold: struck twice, one pixel apart */
        y += FR_FONT_H * scale[i] + 10;
    }
    return FR_OK;
}

/* ------------------------------------------------------------------ files */

int fr_teachpng_is_view(const char *view) { return view && (!strcmp(view, "overlay") || !strcmp(view, "equation")); }

int fr_teachpng_export(const fr_snapshot *s, int k, int layer, const char *view, const fr_plot_state *st, const char *path,
                       fr_err *e)
{
    fr_plot_state d;
    if (!st) fr_plot_state_default(&d), st = &d;
    fr_raster r;
    int rc;
    if (view && !strcmp(view, "overlay")) rc = fr_teachpng_overlay(&r, s, k, st, NULL, 0, e);
    else if (view && !strcmp(view, "equation")) rc = fr_teachpng_eqn(&r, s, k, layer, st->eqn_row, st->eqn_col, NULL, 0, e);
    else return fr_err_set(e, FR_EINPUT, "unknown view '%s'", view ? view : "");
    return fr_raster_write_png_free(&r, rc, path, e);
}
