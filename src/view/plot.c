/* plot.c — loss curves, scatterplots, heatmaps and histograms into the cell grid (plot.h).
 *
 * Design note
 *   Pure functions: (data, rectangle, options) -> cells.  The loss curve follows the lessons
 *   of TensorBoard's issue tracker: smooth the full series first (smoothing must not depend on
 *   the screen width, TB#1518), debias the EMA (TF#6439), cap smoothing below 1 (TB#4372),
 *   and show the raw min/max envelope per column (TB#6830).  Braille gives 2x4 dots per cell;
 *   a cell carries one colour, so the EMA layer replaces envelope dots in the cells it
 *   crosses.  Heatmaps use half-blocks (two square pixels per cell); when zoomed out each
 *   pixel shows the most extreme value of its block, so isolated outliers stay visible, or in
 *   an aggregate mode (heatagg.h) the max / mean |value| of a whole tile.
 */
#include "frtui/plot.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "frtui/common.h"
#include "frtui/heatagg.h"
#include "frtui/plotmodel.h"

#define ROLE(r) FR_COL_ROLE(r)

/* ---------------------------------------------------------------- loss */

static double ymap(double v, int logy) { return logy ? log10(v) : v; }

void fr_plot_loss(fr_canvas *c, fr_rect r, const float *loss, int n, int planned, const fr_loss_opts *o)
{
    const int ylw = 7;   /* y label width */
    if (r.w < ylw + 6 || r.h < 3) return;
    fr_rect p = {r.x + ylw + 1, r.y, r.w - ylw - 1, r.h - 1};
    int a, b;
    fr_plot_loss_window(n, planned, o, &a, &b);
    if (n <= 0 || !loss) {
        const char *msg = "no iterations yet";
        int w = (int)strlen(msg);
        fr_canvas_text(c, p.x + FR_MAX(0, (p.w - w) / 2), p.y + p.h / 2, p.w, msg, ROLE(FR_R_DIM), 0, 0);
        return;
    }
    float *ema_own = NULL;
    const float *ema = o->ema;
    if (!ema) {
        ema_own = fr_xmalloc((size_t)n * sizeof *ema_own);
        fr_plot_ema(loss, n, o->smooth, ema_own);
        ema = ema_own;
    }
    int logy = o->logy;
    double lo = o->ylo, hi = o->yhi;
    if (!(lo < hi)) fr_plot_loss_range(loss, n, a, b, logy, o->ref, &lo, &hi);
    if (!(lo < hi) || (logy && !(lo > 0))) {
        fr_canvas_text(c, p.x, p.y + p.h / 2, p.w, "no finite values", ROLE(FR_R_BAD), 0, 0);
        free(ema_own);
        return;
    }
    if (logy) { lo = log10(lo); hi = log10(hi); }

    fr_dots d;
    fr_dots_init(&d, p.w, p.h);
    int W = d.w, H = d.h;
    double span = (double)(b - a);
#define YDOT(v) ((int)lround((hi - ymap((v), logy)) / (hi - lo) * (H - 1)))
    /* reference line first (lowest layer) */
    if (o->ref > 0 && isfinite(o->ref) && (!logy || o->ref > 0)) {
        int y = YDOT(o->ref);
        if (y >= 0 && y < H)
            for (int x = 0; x < W; x += 3) fr_dots_set(&d, x, y, ROLE(FR_R_BAD), 1, 0);
    }
    int prev = -1;
    for (int j = 0; j < W; j++) {
        int t0 = a + (int)floor(j * span / W), t1 = a + (int)floor((j + 1) * span / W);
        if (t1 <= t0) t1 = t0 + 1;
        if (t0 >= n) break;
        if (t1 > n) t1 = n;
        double mn = INFINITY, mx = -INFINITY;
        for (int t = t0; t < t1; t++) {
            double v = loss[t];
            if (!isfinite(v) || (logy && v <= 0)) continue;
            mn = fmin(mn, v);
            mx = fmax(mx, v);
        }
        if (mn <= mx) fr_dots_vline(&d, j, YDOT(mx), YDOT(mn), ROLE(FR_R_LOSS_RAW), 2, 0);
        double e = ema[t1 - 1];
        if (isfinite(e) && (!logy || e > 0)) {
            int y = YDOT(e);
            if (prev >= 0) fr_dots_vline(&d, j, prev + (y > prev ? 1 : y < prev ? -1 : 0), y, ROLE(FR_R_LOSS_EMA), 3, 1);
            else fr_dots_set(&d, j, y, ROLE(FR_R_LOSS_EMA), 3, 1);
            prev = y;
        }
    }
    fr_dots_blit(&d, c, p.x, p.y, 3, '*');
    fr_dots_free(&d);

    /* y axis: ticks on decades under log, nice values otherwise */
    double ticks[12];
    int nt;
    int maxt = FR_MAX(3, FR_MIN(8, p.h / 2 + 2));
    if (logy) {
        /* decades first; within less than ~2 decades also 2x and 5x, then every integer multiple */
        static const int mult[3][9] = {{1}, {1, 2, 5}, {1, 2, 3, 4, 5, 6, 7, 8, 9}};
        static const int nm[3] = {1, 3, 9};
        nt = 0;
        for (int lvl = 0; lvl < 3 && nt < 3; lvl++) {
            nt = 0;
            for (double dd = floor(lo); dd <= ceil(hi) && nt < 12; dd += 1)
                for (int m = 0; m < nm[lvl] && nt < 12; m++) {
                    double v = dd + log10((double)mult[lvl][m]);
                    if (v >= lo && v <= hi) ticks[nt++] = v;
                }
        }
    } else {
        nt = fr_plot_ticks(lo, hi, maxt, ticks);
    }
    for (int y = 0; y < p.h; y++) fr_canvas_put(c, p.x - 1, p.y + y, 0x2502, ROLE(FR_R_AXIS), 0, 0);
    int last_row = -9;
    for (int i = nt - 1; i >= 0; i--) {
        int row = (int)lround((hi - ticks[i]) / (hi - lo) * (p.h * 4 - 1)) / 4;
        if (row < 0 || row >= p.h || (last_row >= -1 && row - last_row < 2)) continue;
        last_row = row;
        char buf[24];
        fr_plot_fmt(buf, sizeof buf, logy ? pow(10, ticks[i]) : ticks[i]);
        int w = (int)strlen(buf);
        fr_canvas_text(c, r.x + FR_MAX(0, ylw - w), p.y + row, ylw, buf, ROLE(FR_R_LABEL), 0, 0);
        fr_canvas_put(c, p.x - 1, p.y + row, 0x2524, ROLE(FR_R_AXIS), 0, 0);
    }
    /* x axis labels: iterations at the start, middle and end of the window */
    int yb = r.y + r.h - 1;
    fr_canvas_put(c, p.x - 1, yb, 0x2570, ROLE(FR_R_AXIS), 0, 0);
    double xt[8];
    int nx = fr_plot_ticks(a, b, FR_MAX(2, FR_MIN(6, p.w / 12)), xt);
    int lastx = -100;
    for (int i = 0; i < nx; i++) {
        char buf[24];
        snprintf(buf, sizeof buf, "%d", (int)xt[i]);
        int col = (int)lround((xt[i] - a) / span * p.w);
        int w = (int)strlen(buf);
        int x0 = FR_MIN(col - w / 2, p.w - w);
        if (x0 < 0) x0 = 0;
        if (x0 <= lastx + 1) continue;
        fr_canvas_text(c, p.x + x0, yb, w, buf, ROLE(FR_R_LABEL), 0, 0);
        lastx = x0 + w;
    }
    free(ema_own);
#undef YDOT
}

/* ---------------------------------------------------------------- scatter */

#define SCATTER_MAX_POINTS 400000

/* Inside: blues; aggressive (the lesson): oranges; clipped (the clamp, not the rounding):
 * purples, so the rays of clipped large weights do not read as aggressive rounding. */
uint32_t fr_plot_class_colour(int cls, float t)
{
    static const fr_rgb lo[FR_WC__COUNT] = {FR_RGB(50, 95, 140), FR_RGB(170, 80, 50), FR_RGB(105, 65, 140)};
    static const fr_rgb hi[FR_WC__COUNT] = {FR_RGB(150, 220, 255), FR_RGB(255, 175, 110), FR_RGB(215, 160, 255)};
    if (cls < 0 || cls >= FR_WC__COUNT) cls = FR_WC_INSIDE;
    fr_rgb col = fr_colour_lerp(lo[cls], hi[cls], t < 0 ? 0 : t > 1 ? 1 : t);
    return FR_COL_RGB(col.r, col.g, col.b);
}

void fr_plot_scatter(fr_canvas *c, fr_rect r, const float *x, const float *y, int64_t n, const fr_scatter_opts *o)
{
    const int ylw = 6;
    if (r.w < ylw + 6 || r.h < 3) return;
    fr_rect p = {r.x + ylw + 1, r.y, r.w - ylw - 1, r.h - 1};
    float xmax = o->xmax, ymax = o->ymax;
    if (xmax <= 0 || ymax <= 0) {
        float ax, ay;
        if (o->cls) fr_plot_scatter_range_all(x, y, n, &ax, &ay);
        else fr_plot_scatter_range(x, y, n, o->abs_x, &ax, &ay);
        if (xmax <= 0) xmax = ax;
        if (ymax <= 0) ymax = ay;
    }
    if (o->band && ymax < 1.5f) ymax = 1.5f;
    float xmin = o->abs_x ? 0 : -xmax;
    fr_dots d;
    fr_dots_init(&d, p.w, p.h);
    int W = d.w, H = d.h;
    size_t ncell = (size_t)p.w * p.h;
    uint32_t *cnt = fr_xcalloc(ncell, sizeof *cnt);
    uint8_t *hot = fr_xcalloc(ncell, 1);
    /* Past SCATTER_MAX_POINTS (a transformer's 10^6-weight projections) inside points are
     * subsampled for the frame rate; aggressive and clipped ones never are: they are rare and
     * they are what the panel is for. */
    int64_t step = n > SCATTER_MAX_POINTS ? (n + SCATTER_MAX_POINTS - 1) / SCATTER_MAX_POINTS : 1;
    for (int64_t i = 0; i < n; i++) {
        if (step > 1 && i % step &&
            (o->cls ? o->cls[i] == FR_WC_INSIDE : !(o->band && isfinite(y[i]) && fabsf(y[i]) > 1.0f)))
            continue;
        float xv = o->abs_x ? fabsf(x[i]) : x[i], yv = y[i];
        if (!isfinite(xv) || !isfinite(yv)) continue;
        /* clamp in float first: a huge value must not reach the int conversion (undefined) */
        float fx = (xv - xmin) / (xmax - xmin) * (W - 1) + 0.5f, fy = (ymax - yv) / (2 * ymax) * (H - 1) + 0.5f;
        int dx = fx < 0 ? 0 : fx >= W ? W - 1 : (int)fx;   /* beyond the robust range: on the border */
        int dy = fy < 0 ? 0 : fy >= H ? H - 1 : (int)fy;
        fr_dots_set(&d, dx, dy, 0, 1, 0);
        size_t ci = (size_t)(dy >> 2) * p.w + (dx >> 1);
        cnt[ci]++;
        /* hot: 1 aggressive, 2 clipped; a cell shows aggressive over clipped over inside */
        if (o->cls) {
            int k = o->cls[i];
            if (k == FR_WC_AGGRESSIVE) hot[ci] = 1;
            else if (k == FR_WC_CLIPPED && !hot[ci]) hot[ci] = 2;
        } else if (o->band && fabsf(yv) > 1.0f) hot[ci] = 1;
    }
    uint32_t cmax = 1;
    for (size_t i = 0; i < ncell; i++) cmax = FR_MAX(cmax, cnt[i]);
    /* density: log-scaled so a single point is still visible next to a dense core */
    for (size_t i = 0; i < ncell; i++) {
        if (!cnt[i]) continue;
        float t = cmax > 1 ? logf((float)cnt[i]) / logf((float)cmax) : 1.0f;
        d.col[i] = fr_plot_class_colour(hot[i] == 1 ? FR_WC_AGGRESSIVE : hot[i] == 2 ? FR_WC_CLIPPED : FR_WC_INSIDE, t);
    }
    /* guides: zero line and the +-1 band, drawn only in empty cells */
    int rows_band[3] = {-1, -1, -1};
    int nb = 0;
    if (o->band) {
        rows_band[nb++] = (int)((ymax - 1) / (2 * ymax) * (H - 1) + 0.5f) / 4;
        rows_band[nb++] = (int)((ymax + 1) / (2 * ymax) * (H - 1) + 0.5f) / 4;
    }
    int zero_row = (int)(0.5f * (H - 1) + 0.5f) / 4;
    for (int cx = 0; cx < p.w; cx++) {
        if (!d.mask[(size_t)zero_row * p.w + cx] && (cx % 2 == 0))
            fr_canvas_put(c, p.x + cx, p.y + zero_row, 0x00b7, ROLE(FR_R_AXIS), 0, 0);
        for (int k = 0; k < nb; k++)
            if (!d.mask[(size_t)rows_band[k] * p.w + cx])
                fr_canvas_put(c, p.x + cx, p.y + rows_band[k], 0x2504, ROLE(FR_R_BAND), 0, 0);
    }
    fr_dots_blit(&d, c, p.x, p.y, 99, 0);
    if (!c->utf8) {
        /* ASCII: density as a glyph ladder instead of dot patterns */
        static const char ramp[] = ".:oO@";
        for (size_t i = 0; i < ncell; i++) {
            if (!cnt[i]) continue;
            float t = cmax > 1 ? logf((float)cnt[i]) / logf((float)cmax) : 1.0f;
            int k = (int)(t * 4.999f);
            fr_cell *cell = fr_canvas_at(c, p.x + (int)(i % p.w), p.y + (int)(i / p.w));
            if (cell) cell->cp = (uint32_t)(hot[i] == 1 ? "xxXX#"[k] : hot[i] == 2 ? "++**%"[k] : ramp[k]);
        }
    }
    free(cnt);
    free(hot);
    fr_dots_free(&d);
    /* axes */
    for (int yy = 0; yy < p.h; yy++) fr_canvas_put(c, p.x - 1, p.y + yy, 0x2502, ROLE(FR_R_AXIS), 0, 0);
    double ticks[12];
    int nt;
    if (o->y_is_units) {
        nt = 0;
        int lim = (int)floorf(ymax);
        int st = lim > 6 ? (lim + 3) / 4 : 1;
        for (int v = -lim; v <= lim && nt < 12; v++) if (v % st == 0) ticks[nt++] = v;
    } else {
        nt = fr_plot_ticks(-ymax, ymax, FR_MAX(2, FR_MIN(5, p.h / 2 + 1)), ticks);
    }
    int last_row = -2;
    for (int i = 0; i < nt; i++) {
        int row = (int)((ymax - ticks[i]) / (2 * ymax) * (H - 1) + 0.5f) / 4;
        if (row < 0 || row >= p.h || row == last_row) continue;
        last_row = row;
        char buf[24];
        if (o->y_is_units) snprintf(buf, sizeof buf, "%+d", (int)ticks[i]);
        else fr_plot_fmt(buf, sizeof buf, ticks[i]);
        if (ticks[i] == 0) snprintf(buf, sizeof buf, "0");
        int w = (int)strlen(buf);
        fr_canvas_text(c, r.x + FR_MAX(0, ylw - w), p.y + row, ylw, buf, ROLE(FR_R_LABEL), 0, 0);
        fr_canvas_put(c, p.x - 1, p.y + row, 0x2524, ROLE(FR_R_AXIS), 0, 0);
    }
    int yb = r.y + r.h - 1;
    fr_canvas_put(c, p.x - 1, yb, 0x2570, ROLE(FR_R_AXIS), 0, 0);
    char l0[24], l1[24];
    fr_plot_fmt(l0, sizeof l0, xmin);
    fr_plot_fmt(l1, sizeof l1, xmax);
    fr_canvas_text(c, p.x, yb, p.w, l0, ROLE(FR_R_LABEL), 0, 0);
    int w1 = (int)strlen(l1);
    if (o->xlabel) {
        int wl = fr_utf8_width(o->xlabel);
        if (wl < p.w - w1 - (int)strlen(l0) - 2)
            fr_canvas_text(c, p.x + (p.w - wl) / 2, yb, wl, o->xlabel, ROLE(FR_R_DIM), 0, 0);
    }
    fr_canvas_text(c, p.x + p.w - w1, yb, w1, l1, ROLE(FR_R_LABEL), 0, 0);
}

/* ---------------------------------------------------------------- heatmap */

static void heat_axis(int px, int n, int zoom, int tiled, double *sc, int *vis, int *step, int *lo)
{
    double s = (double)px / n * pow(2.0, FR_MIN(FR_MAX(zoom, 0), 20));
    if (s > 64) s = 64;
    if (tiled && s < 1) s = 1.0 / ceil(1.0 / s - 1e-9);   /* whole tiles: k weights per pixel */
    *sc = s;
    *vis = FR_MAX(1, FR_MIN(n, (int)floor(px / s + 1e-9)));
    *step = s >= 1 ? 1 : (int)ceil(1.0 / s - 1e-9);
    *lo = s >= 1 ? 1 : FR_MAX(1, (int)floor(1.0 / s + 1e-9));
}

fr_heat_geom fr_plot_heat_geom_tiled(fr_rect r, int utf8, int rows, int cols, int zoom, int tiled)
{
    fr_heat_geom g;
    g.px_w = FR_MAX(1, r.w);
    g.px_h = FR_MAX(1, utf8 ? 2 * r.h : r.h);
    heat_axis(g.px_h, FR_MAX(rows, 1), zoom, tiled, &g.sr, &g.vis_rows, &g.step_r, &g.tile_r_lo);
    heat_axis(g.px_w, FR_MAX(cols, 1), zoom, tiled, &g.sc, &g.vis_cols, &g.step_c, &g.tile_c_lo);
    g.tile_r_hi = g.step_r;
    g.tile_c_hi = g.step_c;
    return g;
}

fr_heat_geom fr_plot_heat_geom(fr_rect r, int utf8, int rows, int cols, int zoom)
{
    return fr_plot_heat_geom_tiled(r, utf8, rows, cols, zoom, 0);
}

static float heat_t(float v, int mode, float range)
{
    if (isnan(v)) return NAN;
    if (mode == FR_HEAT_LOG2) return fr_colour_log_t(v, range);
    float t = v / (range > 0 ? range : 1);
    return t < -1 ? -1 : t > 1 ? 1 : t;
}

uint32_t fr_plot_heat_colour(float v, int mode, float range)
{
    fr_rgb c = fr_colour_diverging(heat_t(v, mode, range));
    return FR_COL_RGB(c.r, c.g, c.b);
}

static uint32_t t_colour(float t)
{
    fr_rgb c = fr_colour_diverging(t);
    return FR_COL_RGB(c.r, c.g, c.b);
}

static uint32_t t_ascii(float t)
{
    static const char ramp[] = "=-:.+*#";   /* below 1 ... centre ... above 1 */
    if (isnan(t)) return '?';
    int k = (int)lroundf(t * 3.0f) + 3;
    return (uint32_t)ramp[k < 0 ? 0 : k > 6 ? 6 : k];
}

/* Matrix index range [*i0, *i1) shown by pixel p on an axis with scale sc, origin `first`. */
static void px_range(int p, double sc, int first, int n, int *i0, int *i1)
{
    *i0 = first + (int)floor(p / sc + 1e-9);
    *i1 = first + (int)floor((p + 1) / sc + 1e-9);
    if (*i1 <= *i0) *i1 = *i0 + 1;
    if (*i1 > n) *i1 = n;
}

/* Per pixel along one axis: 1 where a new attention head starts (the first pixel whose tile
 * holds a head's first row/column, never the matrix edge), when a head spans >= 3 pixels. */
static uint8_t *head_lines(int npx, double sc, int first, int n, int per_head)
{
    uint8_t *b = fr_xcalloc((size_t)npx, 1);
    if (per_head <= 0 || per_head * sc < 3) return b;
    int prev0 = -1;
    for (int p = 0; p < npx; p++) {
        int i0, i1;
        px_range(p, sc, first, n, &i0, &i1);
        if (i0 >= n) break;
        /* the tile [i0, i1) holds a head start b with 0 < b, i0 <= b < i1; mark its first pixel */
        if (i0 > 0 && (i1 - 1) / per_head != (i0 - 1) / per_head && i0 != prev0) b[p] = 1;
        prev0 = i0;
    }
    return b;
}

void fr_plot_heatmap(fr_canvas *c, fr_rect r, const float *v, const fr_heat_opts *o)
{
    if (r.w < 1 || r.h < 1 || !v) return;
    fr_heat_geom g = fr_plot_heat_geom_tiled(r, c->utf8, o->rows, o->cols, o->zoom, o->agg != FR_HAGG_EXTREME);
    int pxw = g.px_w, pxh = g.px_h;
    float *pix = fr_xmalloc((size_t)pxw * pxh * sizeof *pix);
    uint8_t *cur = fr_xcalloc((size_t)pxw * pxh, 1);   /* 1 cursor, 2 head boundary */
    uint8_t *bnd_r = head_lines(pxh, g.sr, o->top, o->rows, o->head_rows), *bnd_c = head_lines(pxw, g.sc, o->left, o->cols, o->head_cols);
    for (int py = 0; py < pxh; py++) {
        int r0, r1;
        px_range(py, g.sr, o->top, o->rows, &r0, &r1);
        for (int px = 0; px < pxw; px++) {
            int c0, c1;
            px_range(px, g.sc, o->left, o->cols, &c0, &c1);
            float best = INFINITY;   /* INFINITY marks "outside the matrix" */
            float bestabs = -1;
            if (o->agg != FR_HAGG_EXTREME && r0 < r1 && c0 < c1)   /* max / mean |v| of the tile (heatagg.c) */
                best = heat_t(fr_heatagg_tile(v, (size_t)o->cols, r0, r1, c0, c1, o->agg), o->mode, o->range);
            else
                for (int i = r0; i < r1; i++)
                    for (int j = c0; j < c1; j++) {
                        float t = heat_t(v[(size_t)i * o->cols + j], o->mode, o->range);
                        float at = isnan(t) ? 2 : fabsf(t);
                        if (at > bestabs) { bestabs = at; best = t; }
                    }
            pix[(size_t)py * pxw + px] = best;
            cur[(size_t)py * pxw + px] = o->show_cursor && o->cur_r >= r0 && o->cur_r < r1 && o->cur_c >= c0 && o->cur_c < c1;
            if (!cur[(size_t)py * pxw + px] && !isinf(best) && (bnd_r[py] || bnd_c[px])) cur[(size_t)py * pxw + px] = 2;
        }
    }
    for (int cy = 0; cy < r.h; cy++)
        for (int cx = 0; cx < r.w; cx++) {
            if (c->utf8) {
                size_t i0 = (size_t)(2 * cy) * pxw + cx, i1 = i0 + pxw;
                float t0 = pix[i0], t1 = pix[i1];
                uint32_t top = isinf(t0) ? 0 : cur[i0] == 1 ? ROLE(FR_R_CURSOR) : cur[i0] ? ROLE(FR_R_AXIS) : t_colour(t0);
                uint32_t bot = isinf(t1) ? 0 : cur[i1] == 1 ? ROLE(FR_R_CURSOR) : cur[i1] ? ROLE(FR_R_AXIS) : t_colour(t1);
                if (!top && !bot) continue;
                if (!bot) fr_canvas_put(c, r.x + cx, r.y + cy, 0x2580, top, 0, 0);
                else fr_canvas_halfblock(c, r.x + cx, r.y + cy, top, bot);
            } else {
                size_t i = (size_t)cy * pxw + cx;
                float t = pix[i];
                if (isinf(t)) continue;
                if (cur[i] == 2) fr_canvas_put(c, r.x + cx, r.y + cy, bnd_r[cy] ? '-' : '|', ROLE(FR_R_AXIS), 0, 0);
                else fr_canvas_put(c, r.x + cx, r.y + cy, cur[i] ? 'X' : t_ascii(t), cur[i] ? ROLE(FR_R_CURSOR) : t_colour(t), 0,
                                   cur[i] ? FR_A_REVERSE : 0);
            }
        }
    free(pix);
    free(cur);
    free(bnd_r);
    free(bnd_c);
}

void fr_plot_colourbar(fr_canvas *c, int x, int y, int w, int mode, float range)
{
    char lo[24], mid[8], hi[24];
    if (mode == FR_HEAT_LOG2) {
        fr_plot_fmt(lo, sizeof lo, pow(2, -range));
        fr_plot_fmt(hi, sizeof hi, pow(2, range));
        snprintf(mid, sizeof mid, "1");
    } else {
        fr_plot_fmt(lo, sizeof lo, -range);
        fr_plot_fmt(hi, sizeof hi, range);
        snprintf(mid, sizeof mid, "0");
    }
    int wl = (int)strlen(lo), wh = (int)strlen(hi);
    int gw = w - wl - wh - 2;
    if (gw < 5) return;
    fr_canvas_text(c, x, y, wl, lo, ROLE(FR_R_LABEL), 0, 0);
    for (int i = 0; i < gw; i++) {
        float t = gw > 1 ? -1 + 2.0f * i / (gw - 1) : 0;
        uint32_t cp = c->utf8 ? 0x2588 : t_ascii(t);
        fr_canvas_put(c, x + wl + 1 + i, y, cp, t_colour(t), 0, 0);
    }
    fr_canvas_put(c, x + wl + 1 + gw / 2, y, (uint32_t)mid[0], ROLE(FR_R_TEXT), t_colour(0), FR_A_BOLD);
    fr_canvas_text(c, x + wl + 2 + gw, y, wh, hi, ROLE(FR_R_LABEL), 0, 0);
}

/* ---------------------------------------------------------------- histogram */

void fr_plot_hist(fr_canvas *c, fr_rect r, const double *counts, int nbins, double lo, double hi,
                  const double *marks, int n_marks, uint32_t col, const char *title)
{
    if (r.w < 4 || r.h < 3 || nbins < 1) return;
    int top = title ? 1 : 0;
    fr_rect p = {r.x, r.y + top, r.w, r.h - 1 - top};
    if (p.h < 1) return;
    double *colv = fr_xcalloc((size_t)p.w, sizeof *colv);
    double mx = 0, total = 0;
    for (int j = 0; j < p.w; j++) {
        int b0 = (int)((int64_t)j * nbins / p.w), b1 = (int)((int64_t)(j + 1) * nbins / p.w);
        if (b1 <= b0) b1 = b0 + 1;
        double s = 0;
        for (int b = b0; b < b1 && b < nbins; b++) s += counts[b];
        colv[j] = s / (b1 - b0);   /* mean per bin keeps columns comparable when rebinned */
        mx = fmax(mx, colv[j]);
    }
    for (int b = 0; b < nbins; b++) total += counts[b];
    for (int k = 0; k < n_marks; k++) {
        int x = (int)((marks[k] - lo) / (hi - lo) * p.w);
        if (x >= 0 && x < p.w)
            for (int y = 0; y < p.h; y++) fr_canvas_put(c, p.x + x, p.y + y, 0x2506, ROLE(FR_R_BAND), 0, 0);
    }
    if (mx > 0)
        for (int j = 0; j < p.w; j++) {
            double hgt = colv[j] / mx * p.h * 8;   /* in eighths */
            int eighths = (int)lround(hgt);
            if (colv[j] > 0 && eighths == 0) eighths = 1;
            for (int y = p.h - 1; y >= 0 && eighths > 0; y--) {
                int e8 = FR_MIN(eighths, 8);
                fr_canvas_put(c, p.x + j, p.y + y, 0x2580 + (uint32_t)e8, col, 0, 0);
                eighths -= e8;
            }
        }
    free(colv);
    if (title) {
        fr_canvas_text(c, r.x, r.y, r.w, title, ROLE(FR_R_LABEL), 0, 0);
        if (total <= 0) fr_canvas_text(c, r.x + r.w - 7, r.y, 7, "(empty)", ROLE(FR_R_DIM), 0, 0);
    }
    char l0[24], l1[24];
    fr_plot_fmt(l0, sizeof l0, lo);
    fr_plot_fmt(l1, sizeof l1, hi);
    int yb = r.y + r.h - 1;
    fr_canvas_hline(c, r.x, yb, r.w, 0x2500, ROLE(FR_R_AXIS));
    fr_canvas_text(c, r.x, yb, r.w, l0, ROLE(FR_R_LABEL), 0, 0);
    int w1 = (int)strlen(l1);
    fr_canvas_text(c, r.x + r.w - w1, yb, w1, l1, ROLE(FR_R_LABEL), 0, 0);
    if (lo < 0 && hi > 0) {
        int x = (int)((0 - lo) / (hi - lo) * r.w);
        if (x > (int)strlen(l0) && x < r.w - w1 - 1) fr_canvas_put(c, r.x + x, yb, '0', ROLE(FR_R_LABEL), 0, 0);
    }
}

/* ---------------------------------------------------------------- lines with bands */

/* The sweep view's plots (the pixel twin is fr_pngplot_lines).  Bands go on the lowest layer,
 * non-exclusive, so where a band and a line share a cell the line's colour wins and its dots
 * stay crisp; lines are straight segments between their points, one layer each in series
 * order, so a later method draws over an earlier one where they cross. */
void fr_plot_lines(fr_canvas *c, fr_rect r, const fr_plot_line *ls, int nl, int integer_x)
{
    const int ylw = 7;
    if (r.w < ylw + 6 || r.h < 3) return;
    fr_rect p = {r.x + ylw + 1, r.y, r.w - ylw - 1, r.h - 1};
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    for (int s = 0; s < nl; s++)
        for (int i = 0; i < ls[s].n; i++) {
            if (!isfinite(ls[s].x[i]) || !isfinite(ls[s].y[i])) continue;
            xlo = fmin(xlo, ls[s].x[i]); xhi = fmax(xhi, ls[s].x[i]);
            ylo = fmin(ylo, ls[s].y[i]); yhi = fmax(yhi, ls[s].y[i]);
            if (ls[s].lo && isfinite(ls[s].lo[i])) ylo = fmin(ylo, ls[s].lo[i]);
            if (ls[s].hi && isfinite(ls[s].hi[i])) yhi = fmax(yhi, ls[s].hi[i]);
        }
    if (!(xlo <= xhi)) {
        const char *msg = "no finished points yet";
        fr_canvas_text(c, p.x + FR_MAX(0, (p.w - (int)strlen(msg)) / 2), p.y + p.h / 2, p.w, msg, ROLE(FR_R_DIM), 0, 0);
        return;
    }
    if (xlo == xhi) { xlo -= 1; xhi += 1; }
    if (ylo == yhi) { double m = fmax(fabs(ylo) * 0.05, 1e-6); ylo -= m; yhi += m; }
    double pad = (yhi - ylo) * 0.06;
    ylo -= pad; yhi += pad;
    fr_dots d;
    fr_dots_init(&d, p.w, p.h);
    int W = d.w, H = d.h;
#define LX(v) ((int)lround(((v) - xlo) / (xhi - xlo) * (W - 1)))
#define LY(v) ((int)lround((yhi - (v)) / (yhi - ylo) * (H - 1)))
    for (int s = 0; s < nl; s++) {
        if (!ls[s].lo || !ls[s].hi) continue;
        for (int i = 0; i < ls[s].n; i++)   /* at each point too: a lone point still shows its spread */
            if (isfinite(ls[s].lo[i]) && isfinite(ls[s].hi[i]))
                fr_dots_vline(&d, LX(ls[s].x[i]), LY(ls[s].hi[i]), LY(ls[s].lo[i]), ROLE(FR_R_BAND), 1, 0);
        for (int i = 0; i + 1 < ls[s].n; i++) {   /* the band: lo..hi interpolated along x */
            int x0 = LX(ls[s].x[i]), x1 = LX(ls[s].x[i + 1]);
            for (int x = x0; x <= x1; x++) {
                double t = x1 > x0 ? (double)(x - x0) / (x1 - x0) : 0;
                double lo = ls[s].lo[i] + t * (ls[s].lo[i + 1] - ls[s].lo[i]);
                double hi = ls[s].hi[i] + t * (ls[s].hi[i + 1] - ls[s].hi[i]);
                if (isfinite(lo) && isfinite(hi) && LY(lo) - LY(hi) >= 1) fr_dots_vline(&d, x, LY(hi), LY(lo), ROLE(FR_R_BAND), 1, 0);
            }
        }
    }
    for (int s = 0; s < nl; s++) {
        int px = -1, py = -1;
        for (int i = 0; i < ls[s].n; i++) {
            if (!isfinite(ls[s].y[i])) { px = -1; continue; }
            int x = LX(ls[s].x[i]), y = LY(ls[s].y[i]);
            if (px < 0) fr_dots_set(&d, x, y, ls[s].col, 2 + s, 1);
            for (int xx = px + 1; px >= 0 && xx <= x; xx++) {   /* segment: a column at a time, gap-free */
                int yy = x > px ? (int)lround(py + (double)(xx - px) / (x - px) * (y - py)) : y;
                int yprev = x > px ? (int)lround(py + (double)(xx - 1 - px) / (x - px) * (y - py)) : py;
                fr_dots_vline(&d, xx, yprev + (yy > yprev ? 1 : yy < yprev ? -1 : 0), yy, ls[s].col, 2 + s, 1);
            }
            px = x;
            py = y;
        }
    }
#undef LX
#undef LY
    fr_dots_blit(&d, c, p.x, p.y, 2 + nl - 1, '*');
    fr_dots_free(&d);
    /* y axis */
    double ticks[12];
    int nt = fr_plot_ticks(ylo, yhi, FR_MAX(3, FR_MIN(8, p.h / 2 + 2)), ticks), last_row = -9;
    for (int y = 0; y < p.h; y++) fr_canvas_put(c, p.x - 1, p.y + y, 0x2502, ROLE(FR_R_AXIS), 0, 0);
    for (int i = nt - 1; i >= 0; i--) {
        int row = (int)lround((yhi - ticks[i]) / (yhi - ylo) * (p.h * 4 - 1)) / 4;
        if (row < 0 || row >= p.h || (last_row >= -1 && row - last_row < 2)) continue;
        last_row = row;
        char buf[24];
        fr_plot_fmt(buf, sizeof buf, ticks[i]);
        int w = (int)strlen(buf);
        fr_canvas_text(c, r.x + FR_MAX(0, ylw - w), p.y + row, ylw, buf, ROLE(FR_R_LABEL), 0, 0);
        fr_canvas_put(c, p.x - 1, p.y + row, 0x2524, ROLE(FR_R_AXIS), 0, 0);
    }
    /* x axis: every integer (bits) when they fit, else nice ticks */
    int yb = r.y + r.h - 1;
    fr_canvas_put(c, p.x - 1, yb, 0x2570, ROLE(FR_R_AXIS), 0, 0);
    fr_canvas_hline(c, p.x, yb, p.w, 0x2500, ROLE(FR_R_AXIS));
    double xt[16];
    int nx = 0;
    if (integer_x && xhi - xlo <= 15 && (xhi - xlo + 1) * 3 <= p.w)
        for (double v = ceil(xlo); v <= xhi && nx < 16; v += 1) xt[nx++] = v;
    else
        nx = fr_plot_ticks(xlo, xhi, FR_MAX(2, FR_MIN(8, p.w / 8)), xt);
    int last_end = -1;
    for (int i = 0; i < nx; i++) {
        char buf[24];
        fr_plot_fmt(buf, sizeof buf, xt[i]);
        int w = (int)strlen(buf), cx = p.x + (int)lround((xt[i] - xlo) / (xhi - xlo) * (p.w - 1)) - w / 2;
        cx = FR_MAX(p.x, FR_MIN(cx, p.x + p.w - w));
        if (cx <= last_end) continue;
        fr_canvas_text(c, cx, yb, w, buf, ROLE(FR_R_LABEL), 0, 0);
        last_end = cx + w;
    }
}
