/* view_plots.c — the plot panels of an inspector frame: heatmap of S (with its cursor
 * readout), |W|-vs-shift scatter, histograms, the three-way compare and the reciprocal-rule
 * view.  Split from view_render.c, which draws the frame's chrome (header, unit list, loss,
 * stats, explain, status, function bar, help) and calls these.
 *
 * Design note: each panel gets its rectangle from the pure layout and reads only the immutable
 * snapshot; ranges, smoothing, axes and point classes come from the plot model
 * (fr_view_panel_model), the same one `e` exports, so the screen and the PNG cannot disagree.
 */
#include "view_impl.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "frtui/heatagg.h"
#include "frtui/plot.h"
#include "frtui/plotmodel.h"

#define ROLE(r) FR_COL_ROLE(r)

/* ------------------------------------------------------------------ heatmap */

static void heat_readout(fr_canvas *c, int x, int y, int w, int two_rows, const fr_layer_view *L, int r0, int c0, int qty,
                         const char *extra)
{
    int cols = (int)(L->n / FR_MAX(1, L->o));
    size_t i = (size_t)r0 * cols + c0;
    if ((int64_t)i >= L->n) return;
    float s1 = L->s1 && L->n_s1 > 0 ? L->s1[fr_layer_view_group(L, (int64_t)i)] : NAN;
    float wv = L->w ? L->w[i] : NAN;
    float sv = qty == FR_HQ_SCOMB && L->s_comb ? L->s_comb[i] : L->s2 ? L->s2[i] : L->s_comb ? L->s_comb[i] : NAN;
    float u = L->u ? L->u[i] : wv / s1;
    char b1[160], b2[160], t[5][24];
    fr_view_fmtv(t[0], sizeof t[0], wv);
    fr_view_fmtv(t[1], sizeof t[1], sv);
    snprintf(t[2], sizeof t[2], "%+.2f", u);
    char hd[32] = "";   /* attention projections: which head the cursor is in */
    if (L->head_rows > 0) snprintf(hd, sizeof hd, " head %d", r0 / L->head_rows);
    else if (L->head_cols > 0) snprintf(hd, sizeof hd, " head %d", c0 / L->head_cols);
    snprintf(b1, sizeof b1, "[%d,%d]%s W=%s S=%s W/s1=%s", r0, c0, hd, t[0], t[1], t[2]);
    snprintf(t[3], sizeof t[3], "%s", L->code ? "" : "-");
    if (L->code) snprintf(t[3], sizeof t[3], "%.0f", (double)L->code[i] + 0.0);
    snprintf(t[4], sizeof t[4], "%s", "-");
    if (L->rtn_code) snprintf(t[4], sizeof t[4], "%.0f", (double)L->rtn_code[i] + 0.0);
    float sh = L->shift ? L->shift[i] : NAN;
    int k = L->cls ? L->cls[i] : FR_WC_INSIDE;
    snprintf(b2, sizeof b2, "code=%s RTN=%s shift=%+.2f%s%s", t[3], t[4], sh,
             k == FR_WC_AGGRESSIVE ? " aggressive" : k == FR_WC_CLIPPED ? " clipped" : "", extra ? extra : "");
    fr_canvas_text(c, x, y, w, b1, ROLE(FR_R_TEXT), 0, 0);
    if (two_rows) {
        fr_canvas_text(c, x, y + 1, w, b2, ROLE(k == FR_WC_AGGRESSIVE ? FR_R_WARN : FR_R_TEXT), 0, 0);
    } else {
        int n = fr_utf8_width(b1);
        fr_canvas_text(c, x + n + 2, y, w - n - 2, b2, ROLE(FR_R_TEXT), 0, 0);
    }
}

void fr_view_render_heat(fr_canvas *c, fr_rect r, fr_ui *ui, const fr_unit_view *u, const fr_layer_view *L, int focus)
{
    int qty = fr_view_heat_qty(L, ui->heat_qty);
    char title[160];
    if (L) {
        int cols = (int)(L->n / FR_MAX(1, L->o));
        snprintf(title, sizeof title, "%s heatmap %dx%d", qty >= 0 ? fr_view_heat_name(qty) : "", L->o, cols);
    } else {
        snprintf(title, sizeof title, "Heatmap");
    }
    fr_canvas_box(c, r, title, focus);
    fr_rect in = fr_rect_inner(r);
    if (in.h < 4 || in.w < 10) return;
    if (!L || qty < 0) {
        const char *m = u && u->status == FR_UNIT_PENDING ? "pending: no per-weight arrays yet" : "no per-weight arrays";
        fr_canvas_text(c, in.x + 1, in.y + in.h / 2, in.w - 2, m, ROLE(FR_R_DIM), 0, 0);
        return;
    }
    int mode;
    float range;
    const float *v = fr_view_heat_data(L, qty, &mode, &range);
    int rows = FR_MAX(1, L->o), cols = (int)FR_MAX(1, L->n / FR_MAX(1, L->o));
    int two = in.h >= 9;
    int ro = two ? 2 : 1;
    fr_rect m = {in.x, in.y + 1, in.w, in.h - 1 - ro};
    int agg = fr_view_heat_agg(qty);
    fr_heat_geom g = fr_plot_heat_geom_tiled(m, c->utf8, rows, cols, ui->heat_zoom, agg != FR_HAGG_EXTREME);
    ui->heat_map = m;
    ui->heat_sr = g.sr;
    ui->heat_sc = g.sc;
    ui->heat_wpp_r = g.step_r;
    ui->heat_wpp_c = g.step_c;
    ui->heat_vis_r = g.vis_rows;
    ui->heat_vis_c = g.vis_cols;
    ui->cur_r = FR_MAX(0, FR_MIN(ui->cur_r, rows - 1));
    ui->cur_c = FR_MAX(0, FR_MIN(ui->cur_c, cols - 1));
    /* keep the cursor visible; align the origin to whole blocks so pixels do not shimmer */
    if (ui->cur_r < ui->heat_top) ui->heat_top = ui->cur_r;
    if (ui->cur_r >= ui->heat_top + g.vis_rows) ui->heat_top = ui->cur_r - g.vis_rows + 1;
    if (ui->cur_c < ui->heat_left) ui->heat_left = ui->cur_c;
    if (ui->cur_c >= ui->heat_left + g.vis_cols) ui->heat_left = ui->cur_c - g.vis_cols + 1;
    ui->heat_top = FR_MAX(0, FR_MIN(ui->heat_top, rows - g.vis_rows));
    ui->heat_left = FR_MAX(0, FR_MIN(ui->heat_left, cols - g.vis_cols));
    fr_heat_opts o = {rows, cols, ui->heat_zoom, ui->heat_top, ui->heat_left, ui->cur_r, ui->cur_c, 1, mode, range,
                      L->head_rows, L->head_cols, agg};
    fr_plot_heatmap(c, m, v, &o);
    /* top row: colour bar, then what a pixel is ("mean |shift| per 4x8 tile") and the zoom.  In
     * the aggregate view the label wins over the colour bar (which keeps its minimum); for the
     * others the colour bar keeps 20 cells and the label shortens, down to the zoom alone. */
    char zb[48], lab[2][64], zl[128];
    if (ui->heat_zoom == 0) snprintf(zb, sizeof zb, "fit");
    else snprintf(zb, sizeof zb, "zoom x%d", 1 << ui->heat_zoom);
    const char *what = fr_view_heat_what(qty);
    fr_heatagg_label(lab[0], sizeof lab[0], agg, what, g.tile_r_lo, g.tile_r_hi, g.tile_c_lo, g.tile_c_hi);
    fr_heatagg_label_short(lab[1], sizeof lab[1], agg, what, g.tile_r_lo, g.tile_r_hi, g.tile_c_lo, g.tile_c_hi);
    int zw = 0, form;
    for (form = 0; form < 5; form++) {   /* long + zoom, long, short + zoom, short, zoom */
        if (form == 4) snprintf(zl, sizeof zl, "%s", zb);
        else if (form % 2 == 0) snprintf(zl, sizeof zl, "%s, %s", lab[form / 2], zb);
        else snprintf(zl, sizeof zl, "%s", lab[form / 2]);
        zw = (int)strlen(zl);
        if (zw <= in.w - (agg ? 12 : 24)) break;
    }
    int cbw = form == 4 ? FR_MIN(in.w - 14, 34) : FR_MIN(in.w - zw - 2, 34);
    fr_plot_colourbar(c, in.x, in.y, cbw, mode, range);
    fr_canvas_text(c, in.x + in.w - zw, in.y, zw, zl, ROLE(agg ? FR_R_TEXT : FR_R_DIM), 0, 0);
    char tb[48] = "";
    if (agg) {   /* the value of the cursor's tile: the number behind its pixel */
        int tr0 = ui->heat_top + (ui->cur_r - ui->heat_top) / g.step_r * g.step_r;
        int tc0 = ui->heat_left + (ui->cur_c - ui->heat_left) / g.step_c * g.step_c;
        float tv = fr_heatagg_tile(v, (size_t)cols, tr0, FR_MIN(rows, tr0 + g.step_r), tc0, FR_MIN(cols, tc0 + g.step_c), agg);
        snprintf(tb, sizeof tb, " tile %.2f", tv);
    }
    heat_readout(c, in.x, in.y + in.h - ro, in.w, two, L, ui->cur_r, ui->cur_c, qty, tb);
}

/* ------------------------------------------------------------------ scatter / hist */

/* The scatter's legend in its colours, right-aligned in [x, x+w): "■ inside ■ aggr 0.52% ■ clipped
 * 0.83%" (the same classes and numbers as the Stats panel, the PNG and the reports); shorter
 * forms when the title row is narrow. */
static void scatter_legend(fr_canvas *c, int x, int y, int w, const fr_layer_stats *st)
{
    char a[32], k[32];
    snprintf(a, sizeof a, "aggr %.2f%%", 100 * st->aggressive);
    snprintf(k, sizeof k, "clipped %.2f%%", 100 * st->clipped);
    const char *lab[3] = {"inside", a, k};
    for (int form = 0; form < 3; form++) {
        int gap = form == 2 ? 1 : 2;   /* space between the colour square and its label */
        if (form) lab[0] = NULL;   /* drop "inside" first, then shorten */
        if (form == 2) {
            snprintf(a, sizeof a, "aggr %.1f%%", 100 * st->aggressive);
            snprintf(k, sizeof k, "clip %.1f%%", 100 * st->clipped);
        }
        int tw = 1;
        for (int j = 0; j < 3; j++) if (lab[j]) tw += gap + (int)strlen(lab[j]) + 1;
        if (tw > w) continue;
        int cx = x + w - tw;
        for (int j = 0; j < 3; j++) {
            if (!lab[j]) continue;
            int cls = j == 0 ? FR_WC_INSIDE : j == 1 ? FR_WC_AGGRESSIVE : FR_WC_CLIPPED;
            fr_canvas_put(c, cx, y, ' ', ROLE(FR_R_DIM), 0, 0);
            fr_canvas_put(c, cx + 1, y, c->utf8 ? 0x25a0 : (uint32_t)"ox+"[j], fr_plot_class_colour(cls, 1.0f), 0, 0);
            if (gap == 2) fr_canvas_put(c, cx + 2, y, ' ', ROLE(FR_R_DIM), 0, 0);
            fr_canvas_text(c, cx + 1 + gap, y, (int)strlen(lab[j]), lab[j], ROLE(FR_R_DIM), 0, 0);
            cx += gap + (int)strlen(lab[j]) + 1;
        }
        fr_canvas_put(c, cx, y, ' ', ROLE(FR_R_DIM), 0, 0);
        return;
    }
}

void fr_view_render_scatter(fr_canvas *c, fr_rect r, fr_ui *ui, const fr_snapshot *s, const fr_layer_view *L, int focus)
{
    char title[128];
    snprintf(title, sizeof title, "Scatter %s vs shift", ui->scatter_abs ? "|W|" : "W");
    /* the class legend needs ~22 columns of the title row: a narrow panel keeps it, not the words */
    if (L && L->w && r.w - (int)strlen(title) - 5 < 23) snprintf(title, sizeof title, "Scatter");
    fr_canvas_box(c, r, title, focus);
    fr_rect in = fr_rect_inner(r);
    if (!L || !L->w || !L->shift) {
        fr_canvas_text(c, in.x + 1, in.y + in.h / 2, in.w - 2, "no per-weight arrays", ROLE(FR_R_DIM), 0, 0);
        return;
    }
    scatter_legend(c, r.x + (int)strlen(title) + 4, r.y, r.w - (int)strlen(title) - 5, &L->st);
    fr_plot_model m;
    fr_err e;
    if (fr_view_panel_model(ui, s, "scatter", &m, &e) == FR_OK) {
        const fr_plot_series *se = &m.series[0];
        fr_scatter_opts o = {m.abs_x, (float)m.xmax, (float)m.ymax, m.band, m.y_is_units, m.xlabel, se->cls};
        fr_plot_scatter(c, in, se->x, se->y, se->n, &o);
    }
    fr_plot_model_free(&m);
}

void fr_view_render_hist(fr_canvas *c, fr_rect r, fr_ui *ui, const fr_unit_view *u, const fr_layer_view *L, int focus)
{
    fr_canvas_box(c, r, "Histograms", focus);
    fr_rect in = fr_rect_inner(r);
    if (!L || in.h < 3) return;
    const double m1[2] = {-1, 1}, m0[1] = {0};
    int second = u->method == FR_METHOD_FLEXROUND ? 1 : u->method == FR_METHOD_ADAROUND ? 2 : 0;
    if (L->s2 == NULL && second == 1) second = 0;
    if (!second) {
        fr_plot_hist(c, in, L->st.shift_hist, FR_SHIFT_BINS, -FR_SHIFT_RANGE, FR_SHIFT_RANGE, m1, 2, ROLE(FR_R_HIST),
                     "shift (grid steps)");
        return;
    }
    int w0 = (in.w - 1) / 2;
    fr_plot_hist(c, (fr_rect){in.x, in.y, w0, in.h}, L->st.shift_hist, FR_SHIFT_BINS, -FR_SHIFT_RANGE, FR_SHIFT_RANGE, m1, 2,
                 ROLE(FR_R_HIST), "shift (grid)");
    fr_rect r2 = {in.x + w0 + 1, in.y, in.w - w0 - 1, in.h};
    if (second == 1)
        fr_plot_hist(c, r2, L->st.s2_hist, FR_S2_BINS, -FR_S2_LN_RANGE, FR_S2_LN_RANGE, m0, 1, ROLE(FR_R_HIST_ALT), "ln S2");
    else
        fr_plot_hist(c, r2, L->st.h_hist, FR_H_BINS, 0, 1, NULL, 0, ROLE(FR_R_HIST_ALT), "h(V)");
}

/* ------------------------------------------------------------------ compare */

void fr_view_render_compare(fr_canvas *c, const fr_layout *Lo, fr_ui *ui, const fr_snapshot *s, const fr_unit_view *u)
{
    static const fr_role mrole[3] = {FR_R_RTN, FR_R_ADAROUND, FR_R_FLEXROUND};
    static const char *const mname[3] = {"RTN", "AdaRound", "FlexRound"};
    /* shared axes over every method that is available: the plot model's union range */
    fr_plot_model pm;
    fr_err e;
    int have_model = u && fr_view_panel_model(ui, s, "compare", &pm, &e) == FR_OK;
    for (int m = 0; m < FR_METHOD__COUNT; m++) {
        fr_rect r = Lo->r[FR_L_CMP0 + m];
        if (r.w < 12 || r.h < 6) continue;
        char title[64];
        snprintf(title, sizeof title, "%s%s", mname[m], u && (int)u->method == m ? " (run)" : "");
        fr_canvas_box(c, r, title, ui->focus == FR_L_CMP0 + m);
        fr_rect in = fr_rect_inner(r);
        const fr_unit_view *mu = fr_view_unit_method(u, m);
        const fr_layer_view *L = fr_view_layer(mu, ui->sel_layer);
        if (!L || !L->w || !L->shift || !have_model || !pm.series[m].n) {
            const fr_compare_progress *cp = s && s->cmp.unit == ui->sel_unit ? &s->cmp : NULL;
            if (cp && (int)cp->method <= m) {   /* being computed now, or next in line */
                char b1[64], b2[64], t[32];
                if ((int)cp->method == m) {
                    fr_view_fmt_dur(t, sizeof t, cp->eta_s);
                    snprintf(b1, sizeof b1, "computing %d/%d it", cp->iter, cp->iters);
                    snprintf(b2, sizeof b2, "%.0f it/s  ETA %s", cp->it_per_s, t);
                } else {
                    snprintf(b1, sizeof b1, "queued after %s", fr_method_name(cp->method));
                    b2[0] = 0;
                }
                int y0 = in.y + in.h / 2 - 1;
                fr_canvas_text(c, in.x + 1, y0, in.w - 2, b1, ROLE(FR_R_TEXT), 0, 0);
                fr_canvas_text(c, in.x + 1, y0 + 1, in.w - 2, b2, ROLE(FR_R_TEXT), 0, 0);
                fr_canvas_text(c, in.x + 1, y0 + 2, in.w - 2, cp->run_waits ? "the run waits for it" : "the run goes on",
                               ROLE(FR_R_DIM), 0, 0);
                continue;
            }
            fr_canvas_text(c, in.x + 1, in.y + in.h / 2, in.w - 2, ui->readonly ? "not in this checkpoint" : "not computed yet",
                           ROLE(FR_R_DIM), 0, 0);
            if (!ui->readonly)
                fr_canvas_text(c, in.x + 1, in.y + in.h / 2 + 1, in.w - 2, "(queued when c opened this view)", ROLE(FR_R_DIM),
                               0, 0);
            continue;
        }
        char b[160], lv[24];
        fr_view_fmtv(lv, sizeof lv, mu->loss_after);
        snprintf(b, sizeof b, "loss %s  SQNR %.1fdB", lv, L->st.sqnr_db);
        fr_canvas_text(c, in.x, in.y, in.w, b, ROLE(mrole[m]), 0, FR_A_BOLD);
        /* the classes under the same names and colours as the main scatter */
        scatter_legend(c, in.x, in.y + 1, in.w, &L->st);
        int rest = in.h - 2;
        int sh = rest * 55 / 100;
        const fr_plot_series *se = &pm.series[m];
        fr_scatter_opts so = {pm.abs_x, (float)pm.xmax, (float)pm.ymax, pm.band, pm.y_is_units, pm.xlabel, se->cls};
        fr_plot_scatter(c, (fr_rect){in.x, in.y + 2, in.w, sh}, se->x, se->y, se->n, &so);
        fr_rect hm = {in.x, in.y + 2 + sh + 1, in.w, rest - sh - 1};
        if (hm.h >= 2) {
            int rows = FR_MAX(1, L->o), cols = (int)FR_MAX(1, L->n / FR_MAX(1, L->o));
            fr_canvas_text(c, in.x, in.y + 2 + sh, in.w, "shift heatmap", ROLE(FR_R_DIM), 0, 0);
            fr_heat_opts ho = {rows, cols, 0, 0, 0, 0, 0, 0, FR_HEAT_LINEAR, 1.5f, L->head_rows, L->head_cols, 0};
            fr_plot_heatmap(c, hm, L->shift, &ho);
        }
    }
    if (have_model) fr_plot_model_free(&pm);
}

/* ------------------------------------------------------------------ reciprocal rule */

void fr_view_render_recip(fr_canvas *c, fr_rect r, fr_ui *ui, const fr_snapshot *s, const fr_layer_view *L)
{
    fr_canvas_box(c, r, "Reciprocal rule: dL/dS2 against W", 1);
    fr_rect in = fr_rect_inner(r);
    if (in.h < 6) return;
    fr_canvas_text(c, in.x, in.y, in.w,
                   "FlexRound rounds W/(s1*S2), so dL/dS2 = -W/(s1*S2^2) * dL/d(W/S) grows with |W|.",
                   ROLE(FR_R_LABEL), 0, 0);
    if (!L || !L->w || !L->grad_s2) {
        fr_canvas_text(c, in.x, in.y + 2, in.w,
                       "no dL/dS2 in this snapshot (it exists for the running or finished FlexRound unit)",
                       ROLE(FR_R_DIM), 0, 0);
        return;
    }
    /* correlation of |W| and |dL/dS2| says in one number how strongly the rule holds */
    double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
    int64_t n = 0;
    for (int64_t i = 0; i < L->n; i++) {
        double x = fabs(L->w[i]), y = fabs(L->grad_s2[i]);
        if (!isfinite(x) || !isfinite(y)) continue;
        sx += x; sy += y; sxx += x * x; syy += y * y; sxy += x * y;
        n++;
    }
    double corr = 0;
    if (n > 1) {
        double vx = sxx - sx * sx / n, vy = syy - sy * sy / n;
        if (vx > 0 && vy > 0) corr = (sxy - sx * sy / n) / sqrt(vx * vy);
    }
    char b[128];
    snprintf(b, sizeof b, "corr(|W|, |dL/dS2|) = %.2f over %lld weights", corr, (long long)n);
    fr_canvas_text(c, in.x, in.y + 1, in.w, b, ROLE(corr > 0.3 ? FR_R_GOOD : FR_R_TEXT), 0, 0);
    fr_plot_model m;
    fr_err e;
    if (fr_view_panel_model(ui, s, "reciprocal", &m, &e) == FR_OK) {
        const fr_plot_series *se = &m.series[0];
        fr_scatter_opts o = {m.abs_x, (float)m.xmax, (float)m.ymax, m.band, m.y_is_units, m.xlabel, se->cls};
        fr_plot_scatter(c, (fr_rect){in.x, in.y + 2, in.w, in.h - 2}, se->x, se->y, se->n, &o);
    }
    fr_plot_model_free(&m);
}

