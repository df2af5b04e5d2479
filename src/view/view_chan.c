/* view_chan.c — the channel view (W): per-output-channel and per-input-channel statistics of
 * the selected layer, with its outlier channels listed.
 *
 * Design note
 *   LLM weights have a few channels whose magnitude dwarfs the rest; they decide the grid a
 *   per-tensor or per-group quantizer gets and they are where rounding goes wrong.  The view
 *   shows, side by side, output channels (heatmap rows) and input channels (heatmap columns;
 *   kh*kw columns each for a conv): a strip of max |W| per channel as bars with the outlier
 *   threshold drawn across, and below it the outliers, largest first, with their aggressive
 *   fraction and mean |shift|.  The numbers and the rule come from the "channels" plot model
 *   (fr_chanstats_compute, heatagg.c), the one `e` exports; this file only lays them out.  When there are more channels than columns a
 *   bar shows the largest max |W| of the channels it covers, so an outlier is never averaged
 *   away.  Computed per frame from the immutable snapshot (10^6 weights: a few ms).
 */
#include "view_impl.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "frtui/heatagg.h"
#include "frtui/plot.h"
#include "frtui/plotmodel.h"

#define ROLE(r) FR_COL_ROLE(r)

/* One side: title line, bars (height bh) with the threshold, index labels, outlier list. */
static void render_axis(fr_canvas *c, fr_rect r, const fr_chan_axis *a, const char *what)
{
    if (r.w < 16 || r.h < 6) return;
    char t[160], m[24], th[24];
    fr_view_fmtv(m, sizeof m, a->median);
    fr_view_fmtv(th, sizeof th, a->thresh);
    /* two header lines: which channels, then the rule's numbers (half a 100-column panel wide) */
    snprintf(t, sizeof t, "%s: %d, %s", what, a->n, a->n_out ? "" : "no outliers");
    if (a->n_out) snprintf(t, sizeof t, "%s: %d, %d outlier%s", what, a->n, a->n_out, a->n_out > 1 ? "s" : "");
    fr_canvas_text(c, r.x, r.y, r.w, t, ROLE(a->n_out ? FR_R_WARN : FR_R_LABEL), 0, 0);
    if (a->thresh > 0) snprintf(t, sizeof t, "median %s, outlier > %s (%gx)", m, th, FR_CHAN_OUTLIER_RATIO);
    else snprintf(t, sizeof t, "median %s, no rule (< %d ch)", m, FR_CHAN_MIN_CHANNELS);
    fr_canvas_text(c, r.x, r.y + 1, r.w, t, ROLE(FR_R_DIM), 0, 0);
    int list_h = FR_MIN(a->n_out ? a->n_out + 1 : 0, FR_MAX(2, (r.h - 3) / 2));
    int bh = r.h - 3 - list_h;   /* bar rows */
    if (bh < 2) bh = 2, list_h = r.h - 5;
    fr_rect b = {r.x, r.y + 2, r.w, bh};
    float top = 0;
    for (int i = 0; i < a->n; i++) if (isfinite(a->max_w[i])) top = fmaxf(top, a->max_w[i]);
    if (top <= 0) top = 1;
    int thr_row = -1;   /* the bar row the threshold crosses */
    if (a->thresh > 0 && a->thresh < top) thr_row = b.h - 1 - (int)(a->thresh / top * b.h * 8) / 8;
    /* a bar per channel when they fit, else per column the largest of the channels it covers */
    int nb = FR_MIN(a->n, b.w);
    for (int k = 0; k < nb; k++) {
        int c0 = (int)((int64_t)k * a->n / nb), c1 = (int)((int64_t)(k + 1) * a->n / nb);
        int x = (int)((int64_t)k * b.w / nb);
        float v = 0;
        int out = 0;
        for (int j = c0; j < c1; j++) {
            if (isfinite(a->max_w[j])) v = fmaxf(v, a->max_w[j]);
            out |= a->thresh > 0 && a->max_w[j] > a->thresh;
        }
        int e8 = (int)lroundf(v / top * b.h * 8);
        if (v > 0 && e8 == 0) e8 = 1;
        uint32_t col = ROLE(out ? FR_R_WARN : FR_R_HIST);
        for (int y = b.h - 1; y >= 0 && e8 > 0; y--) {
            int e = FR_MIN(e8, 8);
            fr_canvas_put(c, b.x + x, b.y + y, 0x2580 + (uint32_t)e, col, 0, 0);
            e8 -= e;
        }
    }
    /* the threshold across the empty cells of its row */
    if (thr_row >= 0)
        for (int x = 0; x < b.w; x++) {
            const fr_cell *p = fr_canvas_at(c, b.x + x, b.y + thr_row);
            if (p && (p->cp == ' ' || p->cp == 0)) fr_canvas_put(c, b.x + x, b.y + thr_row, 0x2504, ROLE(FR_R_BAND), 0, 0);
        }
    /* index axis: first and last channel */
    int yb = b.y + b.h;
    char l1[24];
    snprintf(l1, sizeof l1, "%d", FR_MAX(a->n - 1, 0));
    fr_canvas_hline(c, b.x, yb, b.w, 0x2500, ROLE(FR_R_AXIS));
    fr_canvas_text(c, b.x, yb, 1, "0", ROLE(FR_R_LABEL), 0, 0);
    fr_canvas_text(c, b.x + b.w - (int)strlen(l1), yb, (int)strlen(l1), l1, ROLE(FR_R_LABEL), 0, 0);
    /* the outliers */
    int y = yb + 1, last = r.y + r.h;
    if (y >= last) return;
    if (!a->n_out) return;
    fr_canvas_text(c, r.x, y++, r.w, "  index   max|W|   aggr  mean|shift|", ROLE(FR_R_DIM), 0, 0);
    for (int k = 0; k < a->n_out && y < last; k++, y++) {
        if (y == last - 1 && k < a->n_out - 1) {
            snprintf(t, sizeof t, "  +%d more", a->n_out - k);
            fr_canvas_text(c, r.x, y, r.w, t, ROLE(FR_R_DIM), 0, 0);
            break;
        }
        int i = a->out[k];
        char mw[24], ms[24];
        fr_view_fmtv(mw, sizeof mw, a->max_w[i]);
        fr_view_fmtv(ms, sizeof ms, a->mean_shift[i]);
        snprintf(t, sizeof t, "%7d %8s %5.1f%% %8s", i, mw, 100.0 * a->aggr[i], ms);
        fr_canvas_text(c, r.x, y, r.w, t, ROLE(FR_R_WARN), 0, 0);
    }
}

void fr_view_render_chan(fr_canvas *c, fr_rect r, fr_ui *ui, const fr_snapshot *s, const fr_layer_view *L)
{
    char title[160];
    snprintf(title, sizeof title, "Channels %s", L ? L->name : "");
    fr_canvas_box(c, r, title, 1);
    fr_rect in = fr_rect_inner(r);
    if (in.h < 5 || in.w < 36) return;
    fr_plot_model m;   /* the model `e` exports too */
    memset(&m, 0, sizeof m);
    fr_err e = {0};
    if (!L || fr_view_panel_model(ui, s, "channels", &m, &e) != FR_OK) {
        fr_plot_model_free(&m);
        fr_canvas_text(c, in.x + 1, in.y + in.h / 2, in.w - 2, "no weights for this layer", ROLE(FR_R_DIM), 0, 0);
        return;
    }
    const fr_chanstats *cs = m.chan;
    int group = m.chan_group;
    int hw = (in.w - 1) / 2;
    char tl[160];   /* the title says what the bars are; each side says which channels */
    snprintf(tl, sizeof tl, "Channels of %s: max |W| per channel", L->name);
    fr_canvas_box(c, r, tl, 1);
    render_axis(c, (fr_rect){in.x, in.y, hw, in.h}, &cs->row, "out ch (rows)");
    for (int y = 0; y < in.h; y++) fr_canvas_put(c, in.x + hw, in.y + y, 0x2502, ROLE(FR_R_AXIS), 0, 0);
    render_axis(c, (fr_rect){in.x + hw + 1, in.y, in.w - hw - 1, in.h}, &cs->col,
                group > 1 ? "in ch (kh*kw cols each)" : "in ch (cols)");
    fr_plot_model_free(&m);
}
