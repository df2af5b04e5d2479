/* view_render.c — draws a whole inspector frame from (snapshot, fr_ui) into a canvas.
 *
 * Design note (the plot panels themselves are in view_plots.c)
 *   One function per panel, each given its rectangle from the pure layout.  Panels read the
 *   immutable snapshot only; the render pass mutates fr_ui just to clamp selection/cursor and
 *   to remember geometry that key handling needs (heatmap page size, list height, function
 *   bar hit boxes).  Nothing here allocates per weight except plot scratch buffers.
 */
#include "view_impl.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "frtui/overlay.h"
#include "frtui/plot.h"

#define ROLE(r) FR_COL_ROLE(r)

static const char *status_word(fr_run_status st, fr_role *role)
{
    switch (st) {
    case FR_RUN_RUNNING: *role = FR_R_RUNNING; return "RUNNING";
    case FR_RUN_PAUSED: *role = FR_R_WARN; return "PAUSED";
    case FR_RUN_DONE: *role = FR_R_GOOD; return "DONE";
    case FR_RUN_FAILED: *role = FR_R_BAD; return "FAILED";
    case FR_RUN_REPLAY: *role = FR_R_TITLE; return "REPLAY";
    default: *role = FR_R_DIM; return "IDLE";
    }
}

void fr_view_fmt_dur(char *b, size_t n, double s)
{
    if (!(s >= 0) || !isfinite(s)) snprintf(b, n, "--");
    else if (s < 60) snprintf(b, n, "%ds", (int)s);
    else if (s < 3600) snprintf(b, n, "%dm%02ds", (int)s / 60, (int)s % 60);
    else snprintf(b, n, "%dh%02dm", (int)s / 3600, ((int)s % 3600) / 60);
}

void fr_view_fmtv(char *b, size_t n, double v)
{
    if (!isfinite(v)) snprintf(b, n, "--");
    else fr_plot_fmt(b, n, v);
}

/* Writes text and returns the x after it (helper for left-to-right segments). */
static int seg(fr_canvas *c, int x, int y, int xmax, const char *s, fr_role role, uint32_t bg, uint16_t attr)
{
    if (x >= xmax) return x;
    return x + fr_canvas_text(c, x, y, xmax - x, s, ROLE(role), bg, attr);
}

/* ------------------------------------------------------------------ header */

/* The header describes the run that happened: the method and widths of the units that ran
 * (the next run's settings belong in the status line); before any unit ran, the settings. */
static void run_that_happened(const fr_snapshot *s, char *buf, size_t n)
{
    int count[FR_METHOD__COUNT] = {0}, ran = 0;
    int nbits[9] = {0}, ends = -1, mixed_ends = 0;
    for (int i = 0; i < s->n_units; i++) {
        const fr_unit_view *u = s->units[i];
        if (!u || u->status == FR_UNIT_PENDING) continue;
        ran++;
        if ((unsigned)u->method < FR_METHOD__COUNT) count[u->method]++;
        for (int l = 0; l < u->n_layers; l++) {
            int b = u->layers[l].bits;
            if (b < 0 || b > 8) continue;
            /* the model's first and last layer run at first_last_bits: named apart */
            if ((i == 0 && l == 0) || (i == s->n_units - 1 && l == u->n_layers - 1)) {
                mixed_ends |= ends >= 0 && ends != b;
                ends = b;
            } else {
                nbits[b]++;
            }
        }
    }
    const char *act = "";
    char ab[16] = "";
    if (s->info.act_bits > 0) snprintf(ab, sizeof ab, "/A%d", s->info.act_bits), act = ab;
    if (!ran) {
        snprintf(buf, n, "%s W%d%s", fr_method_name(s->info.method), s->info.bits, act);
        return;
    }
    char meth[40] = "";
    for (int m = FR_METHOD__COUNT - 1; m >= 0; m--)
        if (count[m]) {
            size_t l = strlen(meth);
            snprintf(meth + l, sizeof meth - l, "%s%s", l ? "+" : "", fr_method_name((fr_method)m));
        }
    /* the width the other layers ran at (several when the width changed between units) */
    int main_b = -1;
    for (int b = 0; b <= 8; b++)
        if (nbits[b] && (main_b < 0 || nbits[b] > nbits[main_b])) main_b = b;
    if (main_b < 0) main_b = ends >= 0 && !mixed_ends ? ends : s->info.bits;
    char bits[48];
    int k = snprintf(bits, sizeof bits, "W%d", main_b);
    for (int b = 0; b <= 8; b++)
        if (nbits[b] && b != main_b && k < (int)sizeof bits) k += snprintf(bits + k, sizeof bits - k, "/W%d", b);
    if (ends >= 0 && ends != main_b && !mixed_ends) snprintf(buf, n, "%s %s%s, ends W%d", meth, bits, act, ends);
    else snprintf(buf, n, "%s %s%s", meth, bits, act);
}

typedef struct hseg { char text[128]; fr_role role; uint16_t attr; int prio; } hseg;

/* "3.4G", "512M", "0" */
static void mem_fmt(char *buf, size_t n, double b)
{
    if (b >= 1024.0 * 1024 * 1024) snprintf(buf, n, "%.1fG", b / (1024.0 * 1024 * 1024));
    else if (b >= 1024.0 * 1024) snprintf(buf, n, "%.0fM", b / (1024.0 * 1024));
    else snprintf(buf, n, "%.0fK", b / 1024.0);
}

static void render_header(fr_canvas *c, fr_rect r, const fr_ui *ui, const fr_snapshot *s)
{
    uint32_t bg = ROLE(FR_R_HEADER_BG);
    fr_canvas_fill(c, r, ' ', ROLE(FR_R_TEXT), bg, 0);
    int x = r.x, y = r.y, xe = r.x + r.w;
    x = seg(c, x, y, xe, " frtui ", FR_R_TITLE, bg, FR_A_BOLD);
    if (!s) {
        seg(c, x, y, xe, " waiting for the first snapshot...", FR_R_DIM, bg, 0);
        return;
    }
    /* segments with priorities: the least important are dropped first on narrow terminals */
    hseg g[11];
    int n = 0;
    fr_role role;
    const char *w = status_word(s->status, &role);
    snprintf(g[n].text, sizeof g[n].text, " %s ", w), g[n].role = role, g[n].attr = FR_A_BOLD, g[n++].prio = 9;
    snprintf(g[n].text, sizeof g[n].text, " %.60s ", s->info.model[0] ? s->info.model : "(model)");
    g[n].role = FR_R_TEXT, g[n].attr = 0, g[n++].prio = 2;
    char ran[128];   /* the longest "METHOD Wn/An, ends Wn"; hseg.text takes 125 of it (-Wformat-truncation at -O1) */
    run_that_happened(s, ran, sizeof ran);
    snprintf(g[n].text, sizeof g[n].text, " %.125s ", ran);
    g[n].role = FR_R_FLEXROUND, g[n].attr = FR_A_BOLD, g[n++].prio = 4;
    const fr_unit_view *cu = fr_view_unit(s, s->cur_unit);
    if (cu) {
        char lb[48];
        fr_view_unit_label(s, s->cur_unit, 28, c->utf8, lb, sizeof lb);
        snprintf(g[n].text, sizeof g[n].text, " unit %d/%d %s  it %d/%d ", s->cur_unit + 1, s->n_units, lb, cu->iter,
                 cu->iters);
    } else {
        int done = 0;
        for (int i = 0; i < s->n_units; i++) done += s->units[i] && s->units[i]->status >= FR_UNIT_DONE;
        snprintf(g[n].text, sizeof g[n].text, " %d/%d units done ", done, s->n_units);
    }
    g[n].role = FR_R_TEXT, g[n].attr = 0, g[n++].prio = 8;
    if (s->status == FR_RUN_RUNNING) {   /* a paused or finished run has no rate and no ETA */
        char t1[32];
        fr_view_fmt_dur(t1, sizeof t1, s->eta_s);
        snprintf(g[n].text, sizeof g[n].text, " %.0f it/s ETA %s ", s->it_per_s, t1);
        g[n].role = FR_R_TEXT, g[n].attr = 0, g[n++].prio = 7;
    }
    if (s->info.blas_core[0]) {
        snprintf(g[n].text, sizeof g[n].text, " BLAS %.31s ", s->info.blas_core);
        g[n].role = FR_R_DIM, g[n].attr = 0, g[n++].prio = 6;
    }
    if (s->acc_q >= 0 && s->acc_fp >= 0) {
        snprintf(g[n].text, sizeof g[n].text, " top-1 %.1f%% (fp %.1f%%) ", 100 * s->acc_q, 100 * s->acc_fp);
        g[n].role = FR_R_TEXT, g[n].attr = 0, g[n++].prio = 3;
    }
    if (s->mem.budget > 0) {   /* issue 19: what the process holds now against its budget */
        char a[16], b[16], d[16];
        mem_fmt(a, sizeof a, s->mem.rss);
        mem_fmt(b, sizeof b, s->mem.budget);
        mem_fmt(d, sizeof d, s->mem.disk);
        if (s->mem.spill) snprintf(g[n].text, sizeof g[n].text, " mem %s/%s spill %s ", a, b, d);
        else snprintf(g[n].text, sizeof g[n].text, " mem %s/%s ", a, b);
        g[n].role = s->mem.rss > s->mem.budget ? FR_R_WARN : FR_R_DIM, g[n].attr = 0, g[n++].prio = 5;
    }
    if (s->fid.n > 0) {   /* label-free: fidelity to the full-precision network (fidelity.h) */
        if (s->fid.lm_vocab)   /* a language model: its perplexity says more than a cosine */
            snprintf(g[n].text, sizeof g[n].text, " ppl %.2f (FP %.2f) ", exp(s->fid.nll_q), exp(s->fid.nll_fp));
        else if (s->fid.zero_q > 0)   /* "cos 0.000" alone would hide that the features died */
            snprintf(g[n].text, sizeof g[n].text, " feature cos %.3f, %d/%d dead ", s->fid.cos, s->fid.zero_q, s->fid.n);
        else
            snprintf(g[n].text, sizeof g[n].text, " feature cos %.3f ", s->fid.cos);
        g[n].role = s->fid.zero_q > 0 ? FR_R_WARN : FR_R_TEXT, g[n].attr = 0, g[n++].prio = 3;
    }
    char badges[96] = "";
    if (s->step_mode) strcat(badges, " DEBUG ");
    if (ui->readonly) strcat(badges, " READ-ONLY ");
    if (ui->frozen) strcat(badges, " FROZEN ");
    int bw = (int)strlen(badges);
    int avail = xe - x - bw - 1;
    for (;;) {
        int tot = 0, low = -1;
        for (int i = 0; i < n; i++) {
            if (g[i].prio < 0) continue;
            tot += fr_utf8_width(g[i].text) + 1;
            if (low < 0 || g[i].prio < g[low].prio) low = i;
        }
        if (tot <= avail || low < 0) break;
        g[low].prio = -1;
    }
    for (int i = 0; i < n; i++) {
        if (g[i].prio < 0) continue;
        x = seg(c, x, y, xe, g[i].text, g[i].role, bg, g[i].attr);
        if (x < xe) fr_canvas_put(c, x++, y, 0x2502, ROLE(FR_R_BORDER), bg, 0);
    }
    if (bw && xe - bw > x) fr_canvas_text(c, xe - bw, y, bw, badges, ROLE(FR_R_KEY), ROLE(FR_R_WARN), FR_A_BOLD);
}

/* ------------------------------------------------------------------ loss */

/* The settings a pending unit will run with: the next method / width / iterations chosen in
 * this session, else the run's; the unit's own widths when they differ (first/last layers). */
static void pending_settings(const fr_ui *ui, const fr_snapshot *s, const fr_unit_view *u, char *b, size_t n)
{
    int m = ui->next_method >= 0 ? ui->next_method : s ? (int)s->info.method : (int)u->method;
    int it = ui->next_iters >= 0 ? ui->next_iters : s ? s->info.iters : u->iters;
    int run_bits = ui->next_bits >= 0 ? ui->next_bits : s ? s->info.bits : u->bits;
    int lo, hi;
    fr_unit_view_bits(u, &lo, &hi);
    char bt[16];
    if (s && lo == hi && lo != s->info.bits) snprintf(bt, sizeof bt, "W%d", lo);   /* a first/last layer keeps its width */
    else if (lo != hi) fr_unit_view_bits_text(u, bt, sizeof bt);
    else snprintf(bt, sizeof bt, "W%d", run_bits);
    if (m == FR_METHOD_RTN) snprintf(b, n, "%s %s", fr_method_name((fr_method)m), bt);
    else snprintf(b, n, "%s %s, %d it", fr_method_name((fr_method)m), bt, it);
}

static void render_loss(fr_canvas *c, fr_rect r, fr_ui *ui, const fr_snapshot *s, const fr_unit_view *u)
{
    char title[160];
    char sm[16];
    snprintf(sm, sizeof sm, "%.3g", ui->smooth);
    char lb[64] = "";
    if (u) fr_view_unit_label(s, ui->sel_unit, FR_MAX(8, r.w / 3), c->utf8, lb, sizeof lb);
    snprintf(title, sizeof title, "Loss %s  EMA %s%s%s%s", lb, sm + (sm[0] == '0' && sm[1] == '.'),
             ui->loss_logy ? " log-y" : "", ui->loss_zoom ? " zoom" : "", ui->loss_zoom && ui->loss_follow ? " tail" : "");
    fr_canvas_box(c, r, title, ui->focus == FR_L_LOSS);
    fr_rect in = fr_rect_inner(r);
    if (!u || in.h < 3) return;
    if (u->status == FR_UNIT_PENDING || u->n_loss == 0) {
        char b[160], v[24], will[96];
        fr_view_fmtv(v, sizeof v, u->loss_rtn);
        pending_settings(ui, s, u, will, sizeof will);
        const char *ln[3] = {b, NULL, NULL};
        char rl[48];
        if (u->status == FR_UNIT_PENDING) {
            /* one line when it fits, else stacked: narrow panels at 80x24 */
            snprintf(b, sizeof b, "pending: will run %s", will);
            snprintf(rl, sizeof rl, "RTN loss %s", v);
            if (u->loss_rtn > 0) ln[1] = rl;
            if (fr_utf8_width(b) > in.w) ln[0] = "pending: will run", ln[1] = will, ln[2] = u->loss_rtn > 0 ? rl : NULL;
        } else {
            snprintf(b, sizeof b, u->loss_rtn > 0 ? "no iterations yet (RTN %s)" : "no iterations yet", v);
        }
        for (int k = 0; k < 3 && ln[k]; k++) {
            int bw = fr_utf8_width(ln[k]);
            fr_canvas_text(c, in.x + FR_MAX(0, (in.w - bw) / 2), in.y + in.h / 2 - 1 + k, in.w, ln[k], ROLE(FR_R_DIM), 0, 0);
        }
        return;
    }
    ui->loss_chart_w = in.w;
    ui->loss_chart_x0 = ui->mode == FR_MODE_COMPARE || ui->loss_x_time ? 8 : 0;   /* the overlay's y labels (overlay.c) */
    if (ui->mode == FR_MODE_COMPARE || ui->loss_x_time) {   /* overlay of runs / seconds axis (overlay.c) */
        fr_overlay o;
        fr_overlay_build(u, ui->mode == FR_MODE_COMPARE, ui->loss_x_time, ui->smooth, &o);
        fr_overlay_render(c, in, &o, ui->loss_cursor >= 0 ? ui->loss_cursor : -1);
        fr_overlay_free(&o);
        return;
    }
    fr_plot_model m;
    fr_err e;
    if (fr_view_panel_model(ui, s, "loss", &m, &e)) {
        fr_canvas_text(c, in.x + 1, in.y + in.h / 2, in.w - 2, e.msg, ROLE(FR_R_BAD), 0, 0);
        fr_plot_model_free(&m);
        return;
    }
    fr_loss_opts o = {m.logy, ui->loss_follow, ui->loss_zoom, ui->loss_start, m.smooth, m.ref, m.ymin, m.ymax, m.ema};
    fr_plot_loss(c, in, m.loss, m.n_loss, FR_MAX(u->iters, u->n_loss), &o);
    /* value cursor: the newest iteration shown (or the clicked column), raw and smoothed */
    if (m.win_b > m.win_a && r.w > 40) {
        int k = m.win_b - 1;
        if (ui->loss_cursor >= 0 && in.w > 1)
            k = m.win_a + (int)((long)(m.win_b - m.win_a) * FR_MIN(ui->loss_cursor, in.w - 1) / in.w);
        k = FR_MAX(m.win_a, FR_MIN(k, m.n_loss - 1));
        char cb[96], a[24], b2[24];
        fr_view_fmtv(a, sizeof a, m.loss[k]);
        fr_view_fmtv(b2, sizeof b2, m.ema ? m.ema[k] : m.loss[k]);
        snprintf(cb, sizeof cb, " it %d: %s (EMA %s) ", k + 1, a, b2);
        fr_canvas_text(c, r.x + 2, r.y + r.h - 1, r.w - 22, cb, ROLE(FR_R_TEXT), 0, 0);
    }
    fr_plot_model_free(&m);
    /* legend in the bottom border */
    int x = r.x + r.w - 17, y = r.y + r.h - 1;
    if (x > r.x + 2) {
        x = seg(c, x, y, r.x + r.w - 1, " raw", FR_R_LOSS_RAW, 0, 0);
        x = seg(c, x, y, r.x + r.w - 1, " EMA", FR_R_LOSS_EMA, 0, FR_A_BOLD);
        x = seg(c, x, y, r.x + r.w - 1, " RTN ", FR_R_BAD, 0, 0);
    }
}

/* ------------------------------------------------------------------ stats */

static void kv(fr_canvas *c, fr_rect in, int *row, const char *k, fr_role vr, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static void kv(fr_canvas *c, fr_rect in, int *row, const char *k, fr_role vr, const char *fmt, ...)
{
    if (*row >= in.h) return;
    char b[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b, sizeof b, fmt, ap);
    va_end(ap);
    fr_canvas_text(c, in.x, in.y + *row, 7, k, ROLE(FR_R_DIM), 0, 0);
    fr_canvas_text(c, in.x + 7, in.y + *row, in.w - 7, b, ROLE(vr), 0, 0);
    (*row)++;
}

static void render_stats(fr_canvas *c, fr_rect r, fr_ui *ui, const fr_snapshot *s, const fr_unit_view *u,
                         const fr_layer_view *L)
{
    fr_canvas_box(c, r, "Stats", ui->focus == FR_L_STATS);
    fr_rect in = fr_rect_inner(r);
    if (!u || in.h < 1) return;
    int row = 0;
    char a[24], b[24], d[24];
    static const char *const st[] = {"pending", "running", "done", "fallback (RTN)"};
    const char *stw = st[u->status <= FR_UNIT_FALLBACK ? u->status : 0];
    char lb[128];
    fr_view_unit_label(s, ui->sel_unit, FR_MAX(8, in.w - 7 - 2 - (int)strlen(stw)), c->utf8, lb, sizeof lb);
    kv(c, in, &row, "unit", FR_R_TEXT, "%s  %s", lb, stw);
    if (u->status == FR_UNIT_PENDING) {
        char will[96];
        pending_settings(ui, s, u, will, sizeof will);
        kv(c, in, &row, "runs", FR_R_DIM, "%s", will);   /* nothing ran yet: no method, width or count to show */
    } else {
        char bt[16];
        fr_unit_view_bits_text(u, bt, sizeof bt);
        kv(c, in, &row, "method", FR_R_TEXT, "%s %s %d/%d", fr_method_name(u->method), bt, u->iter, u->iters);
    }
    fr_view_fmtv(a, sizeof a, u->loss_after);
    fr_view_fmtv(b, sizeof b, u->loss_rtn);
    fr_view_fmtv(d, sizeof d, u->loss_before);
    if (u->status != FR_UNIT_PENDING) {
        fr_role rr = u->rel_vs_rtn > 0 && u->rel_vs_rtn < 1 ? FR_R_GOOD : FR_R_BAD;
        kv(c, in, &row, "loss", rr, "%s (%.2fx RTN)", a, u->rel_vs_rtn);
        kv(c, in, &row, "RTN", FR_R_TEXT, "%s   start %s", b, d);
    } else if (u->loss_rtn > 0) {
        kv(c, in, &row, "RTN", FR_R_TEXT, "%s", b);   /* unknown until the unit's inputs exist: then not shown */
    }
    if (L) {
        const char *pv = u->status == FR_UNIT_PENDING ? " preview" : "";   /* arrays of the RTN preview */
        char pre[24] = "", ln[128];
        if (u->n_layers > 1) snprintf(pre, sizeof pre, "%d/%d ", ui->sel_layer + 1, u->n_layers);
        int room = in.w - 7 - (int)strlen(pre) - 4 - (int)strlen(pv);   /* the width stays visible */
        if (room < (int)strlen(L->name)) room += (int)strlen(pv), pv = "";   /* the name before "preview" */
        fr_view_fit_middle(L->name, FR_MAX(6, room), c->utf8, ln, sizeof ln);
        kv(c, in, &row, "layer", FR_R_TEXT, "%s%s W%d%s", pre, ln, L->bits, pv);
        kv(c, in, &row, "shape", FR_R_TEXT, "%dx%dx%dx%d (%lld)", L->o, L->i, L->kh, L->kw, (long long)L->n);
        if (L->s1 && L->n_s1 > 0) {
            fr_view_fmtv(a, sizeof a, L->s1[0]);
            char gw[48];
            snprintf(gw, sizeof gw, " (row 0 group 0, groups of %lld)", (long long)(L->n / L->n_s1));
            kv(c, in, &row, "s1", FR_R_TEXT, "%s%s", a,
               L->n_s1 > L->o ? gw : L->n_s1 > 1 ? " (ch 0, per-channel)" : " (per-tensor)");
        }
        kv(c, in, &row, "SQNR", FR_R_TEXT, "%.1f dB", L->st.sqnr_db);
        kv(c, in, &row, "aggr", L->st.aggressive > 0 ? FR_R_WARN : FR_R_TEXT, "%.2f%% (init grid %.2f%%)",
           100 * L->st.aggressive, 100 * L->st.aggressive_init);
        kv(c, in, &row, "clip", FR_R_TEXT, "%.2f%% clipped at a grid end", 100 * L->st.clipped);
        kv(c, in, &row, "flip", FR_R_TEXT, "%.2f%% of codes != RTN", 100 * L->st.changed_vs_rtn);
        if (u->method == FR_METHOD_ADAROUND) kv(c, in, &row, "undec.", FR_R_TEXT, "%.2f%% of h(V)", 100 * L->st.undecided);
    }
    if (u->note[0]) kv(c, in, &row, "note", FR_R_BAD, "%s", u->note);
}

/* ------------------------------------------------------------------ explain, status, bar */

/* What reads differently on a language model (issue 16): the units are decoder blocks, the
 * matrices are projections split into heads, the score is perplexity.  NULL: the general text. */
static const char *explain_llm(const fr_ui *ui)
{
    switch (ui->focus) {
    case FR_L_LIST:
        return "Language model: one row per decoder block (attention and MLP with their norms and residuals, reconstructed "
               "together as in FlexRound's LLM scripts), then the LM head; the embedding stays full precision. loss = "
               "block output MSE over all tokens. Judge the run by perplexity (status bar), not top-1.";
    case FR_L_HEAT:
        return "One projection ([ ] step through q k v o gate up down): rows = output, columns = input features. Grey "
               "lines mark attention heads (rows of q/k/v, columns of o); the readout names the cursor's head. Fit mode "
               "shows each tile's most extreme S; v: max or mean |shift| per tile; W: outlier channels. +/- zooms.";
    case FR_L_SCATTER:
        return "One dot per weight (10^5-10^6 in a projection; brighter = denser). Per-channel asymmetric min-max grids "
               "give each row its own step, so large rows are not clipped; orange = aggressive, always drawn even when "
               "inside points are subsampled. FlexRound still moves large |W| furthest.";
    default:
        return NULL;
    }
}

static const char *explain_text(const fr_ui *ui, const fr_snapshot *s)
{
    if (ui->mode == FR_MODE_CHAN && ui->focus == FR_L_SCATTER)
        return "Max |W| per output channel (left, heatmap rows) and per input channel (right, columns); orange bars "
               "and the list: channels above 6x the median channel's max |W| (dashed). Such a channel costs a grid it "
               "shares log2 6 = 2.6 bits; per-row grids absorb row outliers, column outliers remain. aggr and "
               "mean|shift|: how its weights were rounded. [ ] other layers, W back.";
    const char *llm = s && s->info.lm_vocab > 0 && ui->mode != FR_MODE_COMPARE && ui->mode != FR_MODE_RECIP ? explain_llm(ui) : NULL;
    if (llm) return llm;
    if (ui->mode == FR_MODE_COMPARE)
        return "The same unit under RTN, AdaRound and FlexRound on identical axes. Top: |W| against rounding shift; "
               "bottom: the shift as a heatmap. Blue: inside (one of the two grid points nearest to W); orange: "
               "aggressive (rounded beyond them; only FlexRound does this); purple: clipped (W/s1 lies beyond the "
               "grid's end, so the code sits at the end: clipping, not rounding; RTN and AdaRound have these too). "
               "aggr and clip are the shares of the last two.";
    if (ui->mode == FR_MODE_RECIP)
        return "FlexRound divides W by s1*S2 before rounding, so the gradient reaching S2 is proportional to W: large "
               "weights get large gradients and their S2 moves most (the reciprocal rule). Look for the fan that opens "
               "with |W|; corr near 1 means the rule dominates.";
    switch (ui->focus) {
    case FR_L_LIST:
        return "One row per reconstruction unit (a layer or a block), optimised in order. > runs now, + is done (final "
               "state), . is pending (views show the RTN preview). loss = output MSE of the unit (green: below RTN); "
               "aggr = weights rounded beyond their two nearest grid points (clipped weights at a grid end are not "
               "counted: see the scatter).";
    case FR_L_LOSS:
        return "Reconstruction loss per iteration. Dim: raw values (min/max band when iterations share a column). "
               "Bright: debiased moving average. Red dashes: RTN's loss on the same data; below it FlexRound beats "
               "rounding-to-nearest. y: log axis, +/-: zoom, t: follow the tail.";
    case FR_L_HEAT:
        return "One pixel per weight: rows = output channels, columns = in*kh*kw. Colour = learned division factor S on "
               "a log scale: grey = 1 (plain rounding), blue < 1 (weight enlarged before rounding), orange > 1 (shrunk). "
               "hjkl moves the cursor, +/- zooms, v switches S2 / S2*s3*s4 / shift / mean |shift| per tile.";
    case FR_L_SCATTER:
        return "One dot per weight: x = |W| (the axis reaches the largest), y = rounding shift (final code - W/s1) "
               "in grid steps; brighter = more weights. Blue = inside: the code is one of the two grid points nearest "
               "to W (RTN within +-0.5, AdaRound within +-1, dashed). Orange = aggressive: rounded beyond them, "
               "FlexRound only, mostly large |W|. Purple = clipped: W/s1 lies beyond the end of the grid and the code "
               "sits at the end, so the shift grows along a straight ray; that is clipping, not rounding.";
    case FR_L_HIST:
        return "Left: distribution of rounding shifts in grid steps (dashed = +-1). Right: ln S2 for FlexRound (0 = "
               "unchanged) or h(V) for AdaRound (0 or 1 = decided, in between = undecided).";
    default:
        return "Numbers for the selected unit and layer: loss now and relative to RTN, SQNR of the quantized weights. "
               "aggr: weights rounded beyond the two grid points nearest to W/s1 (final s1); init grid: the same "
               "question asked of the initial RTN grid s1_init (FlexRound also learns s1). clipped: weights beyond a "
               "grid end, pinned to it (clipping, not rounding; not in aggr). flip: codes that differ from RTN's.";
    }
}

static void render_explain(fr_canvas *c, fr_rect r, const fr_ui *ui, const fr_snapshot *s)
{
    char title[64];
    /* beside the equation strip the box says what the strip's factors are */
    snprintf(title, sizeof title, "Explain: %s (i closes)", ui->eqn ? "the factors of the equation" : fr_view_focus_name(ui));
    fr_canvas_box(c, r, title, 0);
    fr_view_wrap(c, fr_rect_inner(r), ui->eqn ? fr_view_eqn_explain() : explain_text(ui, s), ROLE(FR_R_TEXT));
}

static void render_status(fr_canvas *c, fr_rect r, const fr_ui *ui, const fr_snapshot *s, const fr_unit_view *u)
{
    if (ui->confirm) {
        fr_canvas_fill(c, r, ' ', ROLE(FR_R_KEY), ROLE(FR_R_WARN), 0);
        fr_canvas_text(c, r.x + 1, r.y, r.w - 2, ui->msg, ROLE(FR_R_KEY), ROLE(FR_R_WARN), FR_A_BOLD);
        return;
    }
    const char *m = ui->msg[0] ? ui->msg : s && s->message[0] ? s->message : u && u->note[0] ? u->note : "";
    int x = r.x + 1 + fr_canvas_text(c, r.x + 1, r.y, r.w - 2, m, ROLE(ui->msg[0] ? FR_R_TEXT : FR_R_LABEL), 0, 0);
    char right[160] = "", t[48];
    if (ui->next_method >= 0 || ui->next_bits >= 0 || ui->next_iters >= 0) {
        snprintf(right, sizeof right, "next run:");
        if (ui->next_method >= 0) { snprintf(t, sizeof t, " %s", fr_method_name((fr_method)ui->next_method)); strcat(right, t); }
        if (ui->next_bits >= 0) { snprintf(t, sizeof t, " W%d", ui->next_bits); strcat(right, t); }
        if (ui->next_iters >= 0) { snprintf(t, sizeof t, " %d it", ui->next_iters); strcat(right, t); }
        strcat(right, "  ");
    }
    if (u && u->n_layers > 1) { snprintf(t, sizeof t, "layer %d/%d ([ ])  ", ui->sel_layer + 1, u->n_layers); strcat(right, t); }
    if (s && s->mem_units && ui->sel_unit >= 0 && ui->sel_unit < s->n_units) {   /* the memory plan of this unit */
        static const char *const where[] = {"in memory", "spilled", "from disk"};
        const fr_mem_unit *mu = &s->mem_units[ui->sel_unit];
        char a[16], b2[16], t2[96];
        mem_fmt(a, sizeof a, mu->total);
        mem_fmt(b2, sizeof b2, mu->cache);
        /* the pass batch: a tight plan runs the passes in slices of the usual 64 (calib.c) */
        snprintf(t2, sizeof t2, "plan: %s, %s (caches %s, pass batch %d)  ", where[mu->mode < 0 || mu->mode > 2 ? 0 : mu->mode],
                 a, b2, mu->batch);
        if (strlen(right) + strlen(t2) < sizeof right) strcat(right, t2);
    }
    if (s && s->elapsed_s > 0 && s->status != FR_RUN_IDLE) {   /* an idle run has not started: no elapsed time */ char d[24]; fr_view_fmt_dur(d, sizeof d, s->elapsed_s); snprintf(t, sizeof t, "elapsed %s ", d); strcat(right, t); }
    int rw = (int)strlen(right);
    if (rw && r.x + r.w - rw > x + 1) fr_canvas_text(c, r.x + r.w - rw, r.y, rw, right, ROLE(FR_R_DIM), 0, 0);
}

/* The footer (lazygit-style): first the keys of the focused panel, then the global ones as
 * far as they fit; Help and Quit always stay.  Every entry is a click target acting as its key. */
typedef struct bar_item { int key; const char *label; int disabled, hint, keep; } bar_item;

static int bar_width(const bar_item *it)
{
    char k[16];
    fr_keymap_key_name(it->key, k, sizeof k);
    int lw = (int)strlen(it->label);
    return (int)strlen(k) + (lw < 6 ? 6 : lw) + 1;
}

static void render_bar(fr_canvas *c, fr_rect r, fr_ui *ui, const fr_snapshot *s)
{
    ui->n_bar = 0;
    int x = r.x, y = r.y, xe = r.x + r.w;
    if (ui->filter_edit) {
        x = seg(c, x, y, xe, " filter: ", FR_R_DIM, 0, 0);
        x = seg(c, x, y, xe, "type", FR_R_TEXT, 0, FR_A_BOLD);
        x = seg(c, x, y, xe, " to narrow the unit list   ", FR_R_DIM, 0, 0);
        x = seg(c, x, y, xe, "Enter", FR_R_TEXT, 0, FR_A_BOLD);
        x = seg(c, x, y, xe, " keeps it   ", FR_R_DIM, 0, 0);
        x = seg(c, x, y, xe, "Esc", FR_R_TEXT, 0, FR_A_BOLD);
        seg(c, x, y, xe, " clears it", FR_R_DIM, 0, 0);
        return;
    }
    bar_item it[FR_UI_MAX_BAR];
    int n = 0;
    fr_action acts[6];
    const char *labels[6];
    int nh = fr_view_hints(ui, acts, labels, 6);
    for (int h = 0; h < nh && n < FR_UI_MAX_BAR; h++) {
        const fr_keybind *b = fr_keymap_for_action(acts[h], FR_CTX_NORMAL);
        if (b) it[n++] = (bar_item){b->keys[0], labels[h], ui->readonly && (b->flags & FR_KF_WORKER), 1, 0};
    }
    for (int i = 0; i < fr_keymap_len && n < FR_UI_MAX_BAR; i++) {
        const fr_keybind *b = &fr_keymap[i];
        if (!b->label) continue;
        const char *label = b->label;
        if (b->act == FR_ACT_PAUSE && s && s->status == FR_RUN_PAUSED) label = "Resume";
        if (b->act == FR_ACT_FREEZE && ui->frozen) label = "Unfrz";
        it[n++] = (bar_item){b->keys[0], label, ui->readonly && (b->flags & FR_KF_WORKER), 0,
                             b->act == FR_ACT_HELP || b->act == FR_ACT_QUIT};
    }
    /* drop the global entries from the end of the table, then hints, until the rest fits */
    int on[FR_UI_MAX_BAR], tot = 2;
    for (int i = 0; i < n; i++) on[i] = 1, tot += bar_width(&it[i]);
    for (int pass = 0; pass < 2 && tot > r.w; pass++)
        for (int i = n - 1; i >= 0 && tot > r.w; i--)
            if (on[i] && !it[i].keep && it[i].hint == pass) on[i] = 0, tot -= bar_width(&it[i]);
    for (int i = 0; i < n && x < xe; i++) {
        if (!on[i]) continue;
        if (i > 0 && it[i - 1].hint && !it[i].hint) x = seg(c, x, y, xe, c->utf8 ? "\u2502 " : "| ", FR_R_BORDER, 0, 0);
        char key[16];
        fr_keymap_key_name(it[i].key, key, sizeof key);
        if (x + bar_width(&it[i]) > xe) break;
        int x0 = x;
        x = seg(c, x, y, xe, key, it[i].disabled ? FR_R_DISABLED : FR_R_TEXT, 0, FR_A_BOLD);
        char lb[24];
        snprintf(lb, sizeof lb, "%-6s", it[i].label);
        x = seg(c, x, y, xe, lb, it[i].disabled ? FR_R_DISABLED : FR_R_KEY,
                ROLE(it[i].disabled ? FR_R_HEADER_BG : it[i].hint ? FR_R_SELECTION_BG : FR_R_BAR_BG), 0);
        if (ui->n_bar < FR_UI_MAX_BAR) {
            ui->bar[ui->n_bar].x0 = x0;
            ui->bar[ui->n_bar].x1 = x;
            ui->bar[ui->n_bar].key = it[i].key;
            ui->n_bar++;
        }
        x = seg(c, x, y, xe, " ", FR_R_TEXT, 0, 0);
    }
}

static void render_help(fr_canvas *c, fr_ui *ui)
{
    int w = FR_MIN(c->cols - 4, 92), h = c->rows - 4;
    fr_rect r = {(c->cols - w) / 2, 2, w, h};
    fr_canvas_fill(c, r, ' ', ROLE(FR_R_TEXT), ROLE(FR_R_OVERLAY_BG), 0);
    fr_canvas_box(c, r, "Keys (Esc, q or ? closes; j/k scroll; T starts the guided tour)", 1);
    fr_rect in = fr_rect_inner(r);
    in.x += 1;
    in.w -= 2;
    /* lines: group headers + entries in a fixed group order; scrolled by help_scroll */
    static const char *const groups[] = {"General", "Move", "Unit list", "Panels", "View", "Run control", "Files"};
    int line = 0, row = 0;
    for (size_t gi = 0; gi < sizeof groups / sizeof groups[0]; gi++) {
        if (line >= ui->help_scroll && row < in.h) {
            fr_canvas_text(c, in.x, in.y + row, in.w, groups[gi], ROLE(FR_R_TITLE), 0, FR_A_BOLD);
            row++;
        }
        line++;
        for (int i = 0; i < fr_keymap_len; i++) {
            const fr_keybind *b = &fr_keymap[i];
            if (!(b->ctx & FR_CTX_NORMAL) || strcmp(b->group, groups[gi]) != 0) continue;
            if (line >= ui->help_scroll && row < in.h) {
                char keys[64];
                fr_keymap_keys_text(b, keys, sizeof keys);
                int dis = ui->readonly && (b->flags & FR_KF_WORKER);
                fr_canvas_text(c, in.x + 2, in.y + row, 16, keys, ROLE(dis ? FR_R_DISABLED : FR_R_LOSS_EMA), 0, FR_A_BOLD);
                char hl[200];
                snprintf(hl, sizeof hl, "%s%s", b->help, dis ? " (read-only)" : "");
                fr_canvas_text(c, in.x + 19, in.y + row, in.w - 19, hl, ROLE(dis ? FR_R_DISABLED : FR_R_TEXT), 0, 0);
                row++;
            }
            line++;
        }
    }
    int max_scroll = FR_MAX(0, line - in.h);
    if (ui->help_scroll > max_scroll) ui->help_scroll = max_scroll;
}

static void render_too_small(fr_canvas *c, const fr_layout *L)
{
    char b[96];
    snprintf(b, sizeof b, "terminal too small: %dx%d, need %dx%d", c->cols, c->rows, L->need_w, L->need_h);
    int y = c->rows / 2 - 1;
    int w = (int)strlen(b);
    fr_canvas_text(c, FR_MAX(0, (c->cols - w) / 2), FR_MAX(0, y), c->cols, b, ROLE(FR_R_WARN), 0, FR_A_BOLD);
    const char *h = L->need_h > FR_LAYOUT_MIN_H ? "enlarge the window or close the explain panel (i); q quits"
                                                : "enlarge the window; q quits";
    w = (int)strlen(h);
    fr_canvas_text(c, FR_MAX(0, (c->cols - w) / 2), FR_MAX(0, y + 1), c->cols, h, ROLE(FR_R_DIM), 0, 0);
}

void fr_view_render(fr_ui *ui, const fr_snapshot *live, fr_canvas *c)
{
    fr_canvas_clear(c);
    ui->cols = c->cols;
    ui->rows = c->rows;
    fr_view_time_sync(ui, live);
    const fr_snapshot *s = fr_ui_snapshot(ui, live);
    fr_view_clamp(ui, s);
    fr_layout L;
    fr_view_layout(ui, c->cols, c->rows, &L);
    if (!L.ok) {
        render_too_small(c, &L);
        return;
    }
    const fr_unit_view *u = fr_view_unit(s, ui->sel_unit);
    const fr_layer_view *ly = fr_view_layer(u, ui->sel_layer);
    render_header(c, L.r[FR_L_HEADER], ui, s);
    if (L.r[FR_L_LIST].w) fr_view_render_list(c, L.r[FR_L_LIST], ui, s);
    if (L.r[FR_L_LOSS].w) render_loss(c, L.r[FR_L_LOSS], ui, s, u);
    if (L.r[FR_L_STATS].w) render_stats(c, L.r[FR_L_STATS], ui, s, u, ly);
    if (ui->mode == FR_MODE_COMPARE) {
        fr_view_render_compare(c, &L, ui, s, u);
    } else if (ui->mode == FR_MODE_RECIP && L.r[FR_L_SCATTER].w) {
        fr_view_render_recip(c, L.r[FR_L_SCATTER], ui, s, ly);
    } else if (ui->mode == FR_MODE_CHAN && L.r[FR_L_SCATTER].w) {
        fr_view_render_chan(c, L.r[FR_L_SCATTER], ui, s, ly);
    } else {
        if (L.r[FR_L_HEAT].w) fr_view_render_heat(c, L.r[FR_L_HEAT], ui, u, ly, ui->focus == FR_L_HEAT);
        if (L.r[FR_L_SCATTER].w) fr_view_render_scatter(c, L.r[FR_L_SCATTER], ui, s, ly, ui->focus == FR_L_SCATTER);
        if (L.r[FR_L_HIST].w && u) fr_view_render_hist(c, L.r[FR_L_HIST], ui, u, ly, ui->focus == FR_L_HIST);
    }
    if (L.r[FR_L_EQN].w) fr_view_render_eqn(c, L.r[FR_L_EQN], ui, u, ly);
    if (L.r[FR_L_EXPLAIN].w) {
        if (ui->tour) fr_view_render_tour(c, L.r[FR_L_EXPLAIN], ui);
        else render_explain(c, L.r[FR_L_EXPLAIN], ui, s);
    } else if (ui->tour) {   /* no room for the box: over the body's last rows */
        fr_rect tr = {0, L.r[FR_L_STATUS].y - 5, c->cols, 5};
        fr_canvas_fill(c, tr, ' ', ROLE(FR_R_TEXT), ROLE(FR_R_OVERLAY_BG), 0);
        fr_view_render_tour(c, tr, ui);
    }
    render_status(c, L.r[FR_L_STATUS], ui, s, u);
    render_bar(c, L.r[FR_L_BAR], ui, s);
    if (ui->help) render_help(c, ui);
    if (ui->settings_open) fr_view_render_settings(c, ui);
}
