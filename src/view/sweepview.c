/* sweepview.c — the sweep view: the points of a sweep folder and their plots (sweepview.h).
 *
 * Design note
 *   Layout, top to bottom: a title row with the state counts; the table of points (about
 *   half the height, scrolled to keep the selection visible); two plots side by side for the
 *   selected point's plot group (the same grouping and aggregation as `frtui sweep-report`,
 *   sweeprows.h: the headline metric and the aggressive-rounding fraction against weight bits,
 *   a line per method, the seed spread as a band), drawn by plot.c's fr_plot_lines; a footer
 *   with the keys.  Nothing here is timed or random: the same rows give the same frame, which
 *   is what the golden test needs (the table's time column comes from the reports).
 */
#include "frtui/sweepview.h"

#include <math.h>
#include <string.h>

#include "frtui/keymap.h"
#include "frtui/plot.h"

#define ROLE(r) FR_COL_ROLE(r)

void fr_sweepview_init(fr_sweepview *v, const char *dir)
{
    memset(v, 0, sizeof *v);
    snprintf(v->dir, sizeof v->dir, "%s", dir);
    v->page = 10;
}

void fr_sweepview_sync(fr_sweepview *v, const fr_sweep_row *rs, int n)
{
    if (v->sel_name[0])
        for (int i = 0; i < n; i++)
            if (!strcmp(rs[i].name, v->sel_name)) { v->sel = i; return; }
    v->sel = n ? FR_MAX(0, FR_MIN(v->sel, n - 1)) : 0;
    if (n) snprintf(v->sel_name, sizeof v->sel_name, "%s", rs[v->sel].name);
}

static void select_row(fr_sweepview *v, const fr_sweep_row *rs, int n, int i)
{
    if (!n) return;
    v->sel = FR_MAX(0, FR_MIN(i, n - 1));
    snprintf(v->sel_name, sizeof v->sel_name, "%s", rs[v->sel].name);
}

int fr_sweepview_key(fr_sweepview *v, const fr_sweep_row *rs, int n, int key)
{
    if (v->help) { v->help = 0; return FR_SWV_NONE; }   /* any key closes the help */
    const fr_keybind *b = fr_keymap_lookup(key, FR_CTX_SWEEP);
    v->msg[0] = 0;
    if (!b) return FR_SWV_NONE;
    int half = FR_MAX(1, v->page / 2);
    switch (b->act) {
    case FR_ACT_DOWN: select_row(v, rs, n, v->sel + 1); break;
    case FR_ACT_UP: select_row(v, rs, n, v->sel - 1); break;
    case FR_ACT_TOP: select_row(v, rs, n, 0); break;
    case FR_ACT_BOTTOM: select_row(v, rs, n, n - 1); break;
    case FR_ACT_PAGE_DOWN: select_row(v, rs, n, v->sel + half); break;
    case FR_ACT_PAGE_UP: select_row(v, rs, n, v->sel - half); break;
    case FR_ACT_HELP: v->help = 1; break;
    case FR_ACT_REPAINT: return FR_SWV_RELOAD;
    case FR_ACT_QUIT: return FR_SWV_QUIT;
    case FR_ACT_OPEN:
        if (!n) return FR_SWV_NONE;
        if (rs[v->sel].st == FR_SWP_PENDING) {
            snprintf(v->msg, sizeof v->msg, "%.120s has not started: no run to open yet", rs[v->sel].name);
            return FR_SWV_NONE;
        }
        return FR_SWV_OPEN;
    default: break;
    }
    return FR_SWV_NONE;
}

static uint32_t status_colour(int st)
{
    switch (st) {
    case FR_SWP_DONE: return ROLE(FR_R_DONE);
    case FR_SWP_RUNNING: return ROLE(FR_R_RUNNING);
    case FR_SWP_FAILED: return ROLE(FR_R_BAD);
    case FR_SWP_PARTIAL: return ROLE(FR_R_WARN);
    default: return ROLE(FR_R_PENDING);
    }
}

static uint32_t method_colour(const char *m)
{
    if (!strcmp(m, "rtn")) return ROLE(FR_R_RTN);
    if (!strcmp(m, "adaround")) return ROLE(FR_R_ADAROUND);
    if (!strcmp(m, "flexround")) return ROLE(FR_R_FLEXROUND);
    return ROLE(FR_R_TEXT);
}

/* The row's headline result, in the unit its group plots. */
static void result_text(const fr_sweep_row *r, char *buf, size_t n)
{
    if (isfinite(r->acc_q)) snprintf(buf, n, "%.2f%%", 100 * r->acc_q);
    else if (isfinite(r->ppl_q)) snprintf(buf, n, "ppl %.4g", r->ppl_q);
    else if (isfinite(r->cosine)) snprintf(buf, n, "cos %.4f", r->cosine);
    else snprintf(buf, n, "-");
}

/* widths add up to 95 columns: the table fits a 100-column terminal with its box */
#define TABLE_FMT "%-12.12s %-9.9s %2s %3s %-8.8s %-7.7s %6.6s %5.5s %-8.8s %9.9s %7.7s %7.7s"
#define COL_METHOD 13
#define COL_STATUS 60

static void table(fr_sweepview *v, const fr_sweep_row *rs, int n, fr_canvas *c, fr_rect r)
{
    fr_canvas_box(c, r, "points", 1);
    int x = r.x + 2, w = r.w - 4, y = r.y + 1, rows = r.h - 3;
    if (rows < 1 || w < 10) return;
    char line[512];
    snprintf(line, sizeof line, TABLE_FMT, "model", "method", "W", "A", "grid", "lr", "iters", "seed", "status", "result",
             "aggr%", "time");
    fr_canvas_text(c, x, y, w, line, ROLE(FR_R_TITLE), 0, FR_A_BOLD);
    v->page = rows;
    if (v->sel < v->top) v->top = v->sel;
    if (v->sel >= v->top + rows) v->top = v->sel - rows + 1;
    v->top = FR_MAX(0, FR_MIN(v->top, FR_MAX(0, n - rows)));
    if (!n) {
        fr_canvas_text(c, x, y + 1, w, "no points yet (the sweep writes points/NAME/point.json when a point starts)",
                       ROLE(FR_R_DIM), 0, 0);
        return;
    }
    for (int i = v->top; i < n && i < v->top + rows; i++) {
        const fr_sweep_row *p = &rs[i];
        char W[8], A[8], res[24], ag[16], tm[16];
        snprintf(W, sizeof W, "%d", p->bits);
        snprintf(A, sizeof A, "%s", p->act_bits ? "" : "-");
        if (p->act_bits) snprintf(A, sizeof A, "%d", p->act_bits);
        result_text(p, res, sizeof res);
        if (isfinite(p->aggr)) snprintf(ag, sizeof ag, "%.2f", p->aggr);
        else snprintf(ag, sizeof ag, "-");
        if (isfinite(p->elapsed)) snprintf(tm, sizeof tm, "%.1fs", p->elapsed);
        else snprintf(tm, sizeof tm, "-");
        snprintf(line, sizeof line, TABLE_FMT, p->model, p->method, W, A, p->grain, p->lr, p->iters, p->seed, p->status, res,
                 ag, tm);
        int row = y + 1 + i - v->top, selected = i == v->sel;
        uint32_t bg = selected ? ROLE(FR_R_SELECTION_BG) : 0;
        if (selected) fr_canvas_fill(c, (fr_rect){x - 1, row, w + 2, 1}, ' ', 0, bg, 0);
        if (selected) fr_canvas_put(c, x - 1, row, '>', ROLE(FR_R_CURSOR), bg, FR_A_BOLD);   /* visible without colour too */
        fr_canvas_text(c, x, row, w, line, ROLE(FR_R_TEXT), bg, selected ? FR_A_BOLD : 0);
        /* colour the method and the status where the format put them */
        fr_canvas_text(c, x + COL_METHOD, row, FR_MIN(9, w - COL_METHOD), p->method, method_colour(p->method), bg, selected ? FR_A_BOLD : 0);
        fr_canvas_text(c, x + COL_STATUS, row, FR_MIN(8, w - COL_STATUS), p->status, status_colour(p->st), bg, FR_A_BOLD);
    }
    if (n > rows) {
        char more[48];
        snprintf(more, sizeof more, " %d-%d of %d ", v->top + 1, FR_MIN(n, v->top + rows), n);
        fr_canvas_text(c, r.x + r.w - 2 - (int)strlen(more), r.y + r.h - 1, (int)strlen(more), more, ROLE(FR_R_DIM), 0, 0);
    }
}

/* One plot box: column `col` (times scale) of the group [a, b) against bits, with a legend. */
static void plot_box(const fr_sweep_row *rs, int a, int b, int col, double scale, const char *title, fr_canvas *c, fr_rect r)
{
    fr_canvas_box(c, r, title, 0);
    if (r.w < 20 || r.h < 6) return;
    fr_sweep_series sv[FR_SWEEP_MAX_SERIES];
    fr_plot_line ls[FR_SWEEP_MAX_SERIES];
    int ns = a < b ? fr_sweeprows_series(rs, a, b, col, scale, sv) : 0, lx = r.x + 2, seeds = 0;
    for (int k = 0; k < ns; k++) {
        ls[k] = (fr_plot_line){sv[k].x, sv[k].y, sv[k].lo, sv[k].hi, sv[k].n, method_colour(sv[k].method)};
        char item[40];
        snprintf(item, sizeof item, "%s %.15s", c->utf8 ? "\u2501\u2501" : "--", sv[k].method);
        lx += fr_canvas_text(c, lx, r.y + 1, r.x + r.w - 1 - lx, item, ls[k].col, 0, 0) + 2;
        seeds = FR_MAX(seeds, sv[k].max_seeds);
    }
    if (ns && seeds > 1) fr_canvas_text(c, lx, r.y + 1, r.x + r.w - 1 - lx, "band: seed min..max", ROLE(FR_R_DIM), 0, 0);
    fr_plot_lines(c, (fr_rect){r.x + 1, r.y + 2, r.w - 2, r.h - 3}, ls, ns, 1);
}

static void help_box(fr_canvas *c)
{
    int n = 0;
    for (int i = 0; i < fr_keymap_len; i++) n += (fr_keymap[i].ctx & FR_CTX_SWEEP) != 0;
    int w = FR_MIN(c->cols - 2, 78), h = FR_MIN(c->rows - 2, n + 3);
    fr_rect r = {(c->cols - w) / 2, (c->rows - h) / 2, w, h};
    fr_canvas_fill(c, r, ' ', 0, ROLE(FR_R_OVERLAY_BG), 0);
    fr_canvas_box(c, r, "sweep view keys", 1);
    int y = r.y + 1;
    for (int i = 0; i < fr_keymap_len && y < r.y + r.h - 1; i++) {
        const fr_keybind *b = &fr_keymap[i];
        if (!(b->ctx & FR_CTX_SWEEP)) continue;
        char keys[64], line[256];
        fr_keymap_keys_text(b, keys, sizeof keys);
        snprintf(line, sizeof line, "%-14s %s", keys, b->help);
        fr_canvas_text(c, r.x + 2, y++, r.w - 4, line, ROLE(FR_R_TEXT), ROLE(FR_R_OVERLAY_BG), 0);
    }
}

void fr_sweepview_render(fr_sweepview *v, const fr_sweep_row *rs, int n, fr_canvas *c)
{
    fr_canvas_clear(c);
    int cnt[5] = {0};
    for (int i = 0; i < n; i++) cnt[rs[i].st]++;
    char title[1400];
    snprintf(title, sizeof title, " frtui sweep  %s   %d point(s): %d done, %d running, %d pending, %d interrupted, %d failed",
             v->dir, n, cnt[FR_SWP_DONE], cnt[FR_SWP_RUNNING], cnt[FR_SWP_PENDING], cnt[FR_SWP_PARTIAL], cnt[FR_SWP_FAILED]);
    fr_canvas_fill(c, (fr_rect){0, 0, c->cols, 1}, ' ', 0, ROLE(FR_R_HEADER_BG), 0);
    fr_canvas_text(c, 0, 0, c->cols, title, ROLE(FR_R_TITLE), ROLE(FR_R_HEADER_BG), FR_A_BOLD);
    int body = c->rows - 2;
    int th = body >= 20 ? FR_MAX(6, body * 45 / 100) : body;
    table(v, rs, n, c, (fr_rect){0, 1, c->cols, th});
    if (body - th >= 8 && n) {
        /* the selected point's plot group: the rows around it that share model, grid, A, lr, iterations */
        int a = v->sel, b = v->sel + 1;
        while (a > 0 && fr_sweeprows_same_group(&rs[a - 1], &rs[v->sel])) a--;
        while (b < n && fr_sweeprows_same_group(&rs[b], &rs[v->sel])) b++;
        int metric = fr_sweeprows_metric(rs, a, b);
        const fr_sweep_row *g = &rs[v->sel];
        char t1[256], t2[256];
        snprintf(t1, sizeof t1, "%s vs bits: %s, %s, lr %s, %s it",
                 metric == FR_SWC_ACC_Q ? "top-1 %" : metric == FR_SWC_PPL_Q ? "perplexity" : "cosine", g->model, g->grain,
                 g->lr, g->iters);
        snprintf(t2, sizeof t2, "aggressively rounded %% vs bits");
        int pw = c->cols / 2;
        fr_rect r1 = {0, 1 + th, pw, body - th}, r2 = {pw, 1 + th, c->cols - pw, body - th};
        plot_box(rs, a, b, metric, metric == FR_SWC_ACC_Q ? 100 : 1, t1, c, r1);
        plot_box(rs, a, b, FR_SWC_AGGR, 1, t2, c, r2);
    }
    /* footer: keys from the table (never a key it does not bind), then the message */
    char foot[512];
    size_t k = 0;
    static const fr_action acts[] = {FR_ACT_DOWN, FR_ACT_UP, FR_ACT_OPEN, FR_ACT_HELP, FR_ACT_QUIT};
    static const char *const what[] = {"next", "previous", "open run", "keys", "quit"};
    for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++) {
        const fr_keybind *b = fr_keymap_for_action(acts[i], FR_CTX_SWEEP);
        char nm[16];
        if (!b) continue;
        fr_keymap_key_name(b->keys[0], nm, sizeof nm);
        k += (size_t)snprintf(foot + k, k < sizeof foot ? sizeof foot - k : 0, " %s %s ", nm, what[i]);
    }
    if (v->msg[0] && k < sizeof foot) snprintf(foot + k, sizeof foot - k, "  %s", v->msg);
    fr_canvas_fill(c, (fr_rect){0, c->rows - 1, c->cols, 1}, ' ', 0, ROLE(FR_R_BAR_BG), 0);
    fr_canvas_text(c, 0, c->rows - 1, c->cols, foot, ROLE(FR_R_BAR_TEXT), ROLE(FR_R_BAR_BG), 0);
    if (v->help) help_box(c);
}
