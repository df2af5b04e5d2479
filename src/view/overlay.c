/* overlay.c — several loss curves on one cell chart with a legend and a value cursor
 * (contract in include/frtui/overlay.h).  Each column shows, per series, the smoothed value of
 * the last sample at or before the column's x, as a coloured dot; RTN is a horizontal rule.
 * Later series draw over earlier ones (FlexRound last: the run the tool is about).
 */
#include "frtui/overlay.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frtui/colour.h"
#include "frtui/plot.h"

#define ROLE(r) FR_COL_ROLE(r)

int fr_overlay_build(const fr_unit_view *u, int compare, int want_time, double smooth, fr_overlay *o)
{
    static const char *const names[FR_METHOD__COUNT] = {"RTN", "AdaRound", "FlexRound"};
    memset(o, 0, sizeof *o);
    if (!u) return 0;
    o->ylo = INFINITY;
    o->yhi = -INFINITY;
    int clock = 1;
    for (int m = 0; m < FR_METHOD__COUNT; m++) {
        const fr_unit_view *v = (int)u->method == m ? u : compare ? u->alt[m] : NULL;
        if (!v && !(compare && m == FR_METHOD_RTN && u->loss_rtn > 0)) continue;
        if (!v) {   /* RTN not run as a method: its loss is the unit's baseline all the same */
            o->s[o->n_series++] = (fr_overlay_series){names[m], m, 0, NULL, NULL, NULL, u->loss_rtn};
            continue;
        }
        fr_overlay_series *s = &o->s[o->n_series++];
        s->name = names[m];
        s->method = m;
        if (m == FR_METHOD_RTN || v->n_loss == 0 || !v->loss) {
            s->flat = m == FR_METHOD_RTN ? v->loss_after : v->loss_rtn;
        } else {
            s->n = v->n_loss;
            s->loss = v->loss;
            s->t = v->loss_t;
            s->ema = fr_xmalloc((size_t)s->n * sizeof(float));
            fr_plot_ema(s->loss, s->n, smooth, s->ema);
            clock &= s->t != NULL;
        }
    }
    o->x_time = want_time && clock;
    for (int i = 0; i < o->n_series; i++) {
        const fr_overlay_series *s = &o->s[i];
        if (!s->n) {
            if (isfinite(s->flat)) { o->ylo = fmin(o->ylo, s->flat); o->yhi = fmax(o->yhi, s->flat); }
            continue;
        }
        double x = o->x_time ? s->t[s->n - 1] : s->n;
        if (x > o->xmax) o->xmax = x;
        for (int k = 0; k < s->n; k++)
            if (isfinite(s->loss[k])) { o->ylo = fmin(o->ylo, s->loss[k]); o->yhi = fmax(o->yhi, s->loss[k]); }
    }
    if (!(o->xmax > 0)) o->xmax = 1;
    if (!(o->ylo <= o->yhi)) o->ylo = 0, o->yhi = 1;
    if (o->yhi - o->ylo < 1e-12) o->yhi = o->ylo + fmax(1e-12, fabs(o->ylo) * 0.1);
    return o->n_series;
}

void fr_overlay_free(fr_overlay *o)
{
    for (int i = 0; i < o->n_series; i++) free(o->s[i].ema);
    memset(o, 0, sizeof *o);
}

/* index of the last sample at or before x, -1 when none */
static int sample_at(const fr_overlay *o, const fr_overlay_series *s, double x)
{
    if (!s->n) return -1;
    if (!o->x_time) {
        int k = (int)floor(x + 1e-9) - 1;   /* iteration k+1 is sample k */
        return k < 0 ? -1 : k >= s->n ? s->n - 1 : k;
    }
    int lo = 0, hi = s->n - 1, r = -1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (s->t[mid] <= x) r = mid, lo = mid + 1; else hi = mid - 1;
    }
    return r;
}

int fr_overlay_at(const fr_overlay *o, int i, double x, int *it, double *raw, double *smoothed)
{
    if (i < 0 || i >= o->n_series) return 0;
    const fr_overlay_series *s = &o->s[i];
    if (!s->n) { *it = 0; *raw = *smoothed = s->flat; return 1; }
    int k = sample_at(o, s, x);
    if (k < 0) return 0;
    *it = k + 1;
    *raw = s->loss[k];
    *smoothed = s->ema[k];
    return 1;
}

static fr_role role_of(int m) { return m == FR_METHOD_RTN ? FR_R_RTN : m == FR_METHOD_ADAROUND ? FR_R_ADAROUND : FR_R_FLEXROUND; }

void fr_overlay_render(fr_canvas *c, fr_rect r, const fr_overlay *o, int cursor_col)
{
    if (r.w < 16 || r.h < 4 || !o->n_series) return;
    /* legend */
    int x = r.x;
    for (int i = 0; i < o->n_series; i++) {
        const fr_overlay_series *s = &o->s[i];
        char b[48];
        snprintf(b, sizeof b, "%s %s  ", s->n ? (c->utf8 ? "\xe2\x97\x8f" : "*") : (c->utf8 ? "\xe2\x94\x80\xe2\x94\x80" : "--"), s->name);
        x += fr_canvas_text(c, x, r.y, r.x + r.w - x, b, ROLE(role_of(s->method)), 0, FR_A_BOLD);
    }
    char ax[32];
    snprintf(ax, sizeof ax, "x: %s", o->x_time ? "seconds" : "iterations");
    if (x + (int)strlen(ax) < r.x + r.w) fr_canvas_text(c, r.x + r.w - (int)strlen(ax), r.y, (int)strlen(ax), ax, ROLE(FR_R_DIM), 0, 0);
    /* plot area: y labels on the left (8 columns) */
    int lw = 8, px = r.x + lw, pw = r.w - lw, py = r.y + 1, ph = r.h - 2;
    if (pw < 4 || ph < 1) return;
    char lab[16];
    fr_plot_fmt(lab, sizeof lab, o->yhi);
    fr_canvas_text(c, r.x, py, lw - 1, lab, ROLE(FR_R_DIM), 0, 0);
    fr_plot_fmt(lab, sizeof lab, o->ylo);
    fr_canvas_text(c, r.x, py + ph - 1, lw - 1, lab, ROLE(FR_R_DIM), 0, 0);
    double span = o->yhi - o->ylo;
#define YROW(v) (py + ph - 1 - (int)lround(((v) - o->ylo) / span * (ph - 1)))
    for (int i = 0; i < o->n_series; i++) {
        const fr_overlay_series *s = &o->s[i];
        uint32_t fg = ROLE(role_of(s->method));
        if (!s->n) {
            if (!isfinite(s->flat)) continue;
            int y = YROW(s->flat);
            for (int cx = 0; cx < pw; cx++) fr_canvas_put(c, px + cx, y, c->utf8 ? 0x2500 : '-', fg, 0, 0);
            continue;
        }
        for (int cx = 0; cx < pw; cx++) {
            double xv = o->xmax * (cx + 1) / pw;
            int k = sample_at(o, s, xv);
            if (k < 0 || !isfinite(s->ema[k])) continue;
            double v = fmin(o->yhi, fmax(o->ylo, s->ema[k]));
            fr_canvas_put(c, px + cx, YROW(v), c->utf8 ? 0x2022 : '*', fg, 0, FR_A_BOLD);
        }
    }
#undef YROW
    /* cursor: a column and the values under it */
    int col = cursor_col >= lw && cursor_col < r.w ? cursor_col - lw : pw - 1;
    double xv = o->xmax * (col + 1) / pw;
    for (int y = py; y < py + ph; y++) {
        const fr_cell *cell = &c->cells[(size_t)y * c->cols + px + col];
        if (cell->cp == ' ' || cell->cp == 0) fr_canvas_put(c, px + col, y, c->utf8 ? 0x2502 : '|', ROLE(FR_R_DIM), 0, 0);
    }
    char line[256];
    int n = snprintf(line, sizeof line, o->x_time ? "%.1fs" : "it %.0f", xv);
    for (int i = 0; i < o->n_series && n < (int)sizeof line; i++) {
        int it;
        double raw, sm;
        char a[24], b2[24];
        if (!fr_overlay_at(o, i, xv, &it, &raw, &sm)) continue;
        fr_plot_fmt(a, sizeof a, raw);
        fr_plot_fmt(b2, sizeof b2, sm);
        if (o->s[i].n) n += snprintf(line + n, sizeof line - (size_t)n, "  %s %s (%s)", o->s[i].name, a, b2);
        else n += snprintf(line + n, sizeof line - (size_t)n, "  %s %s", o->s[i].name, a);
    }
    fr_canvas_text(c, r.x, r.y + r.h - 1, r.w, line, ROLE(FR_R_TEXT), 0, 0);
}
