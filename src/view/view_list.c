/* view_list.c — the unit list: its order (filter `/`, sort `O`), movement through it, and
 * its panel with a loss sparkline per unit (issue 18 §5).
 *
 * Design note
 *   The list shows a permutation of the snapshot's units, recomputed from (snapshot, filter,
 *   sort) whenever it is needed instead of being cached: snapshots change every ~100 ms and a
 *   stale order would point at the wrong unit.  Selection stays a unit index (what every other
 *   panel reads); only list movement and the list's scroll position think in display
 *   positions.  Sorting is stable (ties keep run order) and puts units without the sorted
 *   quantity (pending, non-finite) last, so the order never depends on the sort routine.
 */
#include "view_impl.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "frtui/plot.h"

#define ROLE(r) FR_COL_ROLE(r)

/* ------------------------------------------------------------------ order */

static int ci_contains(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    if (!n) return 1;
    for (; *hay; hay++) {
        size_t k = 0;
        while (k < n && hay[k] && tolower((unsigned char)hay[k]) == tolower((unsigned char)needle[k])) k++;
        if (k == n) return 1;
    }
    return 0;
}

int fr_view_unit_matches(const fr_snapshot *s, int i, const char *filter)
{
    const fr_unit_view *u = fr_view_unit(s, i);
    if (!filter || !filter[0]) return 1;
    if (!u) return 0;
    char label[128];
    fr_view_unit_label(s, i, 120, 0, label, sizeof label);
    if (ci_contains(label, filter) || ci_contains(u->name, filter) || ci_contains(u->ops, filter)) return 1;
    for (int l = 0; l < u->n_layers; l++)
        if (ci_contains(u->layers[l].name, filter)) return 1;
    return 0;
}

/* The sorted quantity of unit i; NAN when it has none (sorted last). */
static double sort_key(const fr_snapshot *s, int i, int sort)
{
    const fr_unit_view *u = fr_view_unit(s, i);
    if (!u) return NAN;
    int ran = u->status != FR_UNIT_PENDING;
    switch (sort) {
    case FR_SORT_LOSS: return ran ? u->loss_after : u->loss_rtn;   /* what the loss column shows */
    case FR_SORT_VS_RTN: return ran && u->loss_rtn > 0 ? u->rel_vs_rtn : NAN;
    case FR_SORT_AGGR: return ran ? u->aggressive : NAN;
    case FR_SORT_CLIP: return u->clipped;
    default: return i;
    }
}

int fr_view_list_order(const fr_ui *ui, const fr_snapshot *s, int *idx)
{
    if (!s) return 0;
    int n = 0;
    for (int i = 0; i < s->n_units; i++)
        if (fr_view_unit_matches(s, i, ui->filter)) idx[n++] = i;
    if (ui->sort <= FR_SORT_RUN || ui->sort >= FR_SORT__COUNT) return n;
    /* insertion sort: stable, and unit counts are small (tens to a few hundred) */
    for (int a = 1; a < n; a++) {
        int v = idx[a];
        double kv = sort_key(s, v, ui->sort);
        int b = a - 1;
        for (; b >= 0; b--) {
            double kb = sort_key(s, idx[b], ui->sort);
            int before = isfinite(kv) && (!isfinite(kb) || kv > kb);   /* largest first, missing last */
            if (!before) break;
            idx[b + 1] = idx[b];
        }
        idx[b + 1] = v;
    }
    return n;
}

int fr_view_list_step(const fr_ui *ui, const fr_snapshot *s, int from, int d)
{
    if (!s || s->n_units <= 0) return from;
    int *idx = fr_xmalloc((size_t)s->n_units * sizeof *idx);
    int n = fr_view_list_order(ui, s, idx), pos = -1, to = from;
    for (int k = 0; k < n; k++)
        if (idx[k] == from) pos = k;
    if (n > 0) {
        /* from a unit the filter hides: down goes to the first shown unit, up to the last */
        long p = pos >= 0 ? (long)pos + d : d > 0 ? 0 : n - 1;
        if (pos < 0 && (d > 1 || d < -1)) p = d > 0 ? n - 1 : 0;   /* G / gg */
        to = idx[p < 0 ? 0 : p >= n ? n - 1 : p];
    }
    free(idx);
    return to;
}

void fr_view_filter_key(fr_ui *ui, const fr_snapshot *s, int key)
{
    size_t n = strlen(ui->filter);
    if (key == FR_KEY_ENTER || key == FR_KEY_TAB) {
        ui->filter_edit = 0;
        snprintf(ui->msg, sizeof ui->msg, ui->filter[0] ? "filter /%s kept (/ edits it, Esc in the list clears it)" : "no filter",
                 ui->filter);
        return;
    }
    if (key == FR_KEY_ESC) {
        ui->filter_edit = 0;
        ui->filter[0] = 0;
        snprintf(ui->msg, sizeof ui->msg, "filter cleared");
        return;
    }
    if (key == FR_KEY_BS) {
        if (n) ui->filter[n - 1] = 0;
    } else if (key >= 32 && key < 127) {
        if (n + 1 < sizeof ui->filter) ui->filter[n] = (char)key, ui->filter[n + 1] = 0;
    } else {
        return;   /* arrows, F-keys...: not text */
    }
    /* the selection follows the first match as the filter narrows (htop's incremental search) */
    if (s && !fr_view_unit_matches(s, ui->sel_unit, ui->filter)) {
        for (int i = 0; i < s->n_units; i++)
            if (fr_view_unit_matches(s, i, ui->filter)) {
                ui->sel_unit = i;
                ui->sel_layer = 0;
                ui->cur_r = ui->cur_c = ui->heat_top = ui->heat_left = 0;
                break;
            }
    }
    ui->follow_run = 0;
    ui->list_top = 0;
}

/* ------------------------------------------------------------------ panel */

/* The width of the model's layers apart from its first and last one. */
static int list_main_bits(const fr_snapshot *s)
{
    int nbits[9] = {0}, best = -1;
    for (int i = 0; i < s->n_units; i++) {
        const fr_unit_view *u = s->units[i];
        for (int l = 0; u && l < u->n_layers; l++) {
            if ((i == 0 && l == 0) || (i == s->n_units - 1 && l == u->n_layers - 1)) continue;
            if (u->layers[l].bits >= 0 && u->layers[l].bits <= 8) nbits[u->layers[l].bits]++;
        }
    }
    for (int b = 0; b <= 8; b++)
        if (nbits[b] && (best < 0 || nbits[b] > nbits[best])) best = b;
    return best >= 0 ? best : s->info.bits;
}

/* nvtop-style history in w cells: the loss per iteration, bucketed (mean of log loss per
 * cell) and scaled between the unit's own lowest and highest bucket.  Returns 0 when the unit
 * has fewer than two iterations. */
int fr_view_sparkline(const fr_unit_view *u, int w, int *level)
{
    if (!u || u->n_loss < 2 || w < 1) return 0;
    double lo = INFINITY, hi = -INFINITY;
    double *m = fr_xmalloc((size_t)w * sizeof *m);
    for (int b = 0; b < w; b++) {
        long a = (long)b * u->n_loss / w, e = (long)(b + 1) * u->n_loss / w;
        if (e <= a) e = a + 1;
        double sum = 0;
        int k = 0;
        for (long t = a; t < e && t < u->n_loss; t++)
            if (u->loss[t] > 0 && isfinite(u->loss[t])) sum += log(u->loss[t]), k++;
        m[b] = k ? sum / k : NAN;
        if (k) lo = fmin(lo, m[b]), hi = fmax(hi, m[b]);
    }
    for (int b = 0; b < w; b++) {
        if (!isfinite(m[b])) level[b] = -1;
        else if (!(hi > lo)) level[b] = 3;
        else level[b] = (int)floor((m[b] - lo) / (hi - lo) * 7.999);
    }
    free(m);
    return 1;
}

static void draw_spark(fr_canvas *c, int x, int y, int w, const fr_unit_view *u, uint32_t bg)
{
    int level[16];
    if (w > 16) w = 16;
    if (!fr_view_sparkline(u, w, level)) return;
    static const char ascii[] = "_.,-~=+#";
    for (int b = 0; b < w; b++) {
        if (level[b] < 0) continue;
        uint32_t cp = c->utf8 ? 0x2581u + (uint32_t)level[b] : (uint32_t)ascii[level[b]];
        fr_canvas_put(c, x + b, y, cp, ROLE(FR_R_LOSS_EMA), bg, 0);
    }
}

void fr_view_render_list(fr_canvas *c, fr_rect r, fr_ui *ui, const fr_snapshot *s)
{
    int *idx = s && s->n_units > 0 ? fr_xmalloc((size_t)s->n_units * sizeof *idx) : NULL;
    int n = idx ? fr_view_list_order(ui, s, idx) : 0;
    char title[128] = "Units";
    if (s) {
        size_t k = (size_t)(ui->filter[0] || ui->filter_edit ? snprintf(title, sizeof title, "Units %d/%d /%s%s", n, s->n_units,
                                                                         ui->filter, ui->filter_edit ? "_" : "")
                                                           : snprintf(title, sizeof title, "Units (%d)", s->n_units));
        if (ui->sort > FR_SORT_RUN && k < sizeof title) snprintf(title + k, sizeof title - k, " by %s", fr_sort_name(ui->sort));
    }
    fr_canvas_box(c, r, title, ui->focus == FR_L_LIST);
    fr_rect in = fr_rect_inner(r);
    if (in.h < 2 || !s) { free(idx); return; }
    int w = in.w;
    int name_w = w - 2 - 9 - 7;
    int op_w = 0, shape_w = 0, bits_w = 0, spark_w = 0;
    if (name_w >= 20) { bits_w = 5; name_w -= bits_w + 1; }
    if (name_w >= 16) { spark_w = FR_MIN(12, name_w - 10); name_w -= spark_w + 1; }
    if (name_w >= 28) { op_w = FR_MIN(14, name_w - 16); name_w -= op_w + 1; }
    if (name_w >= 24) { shape_w = 10; name_w -= shape_w + 1; }
    /* narrow lists mark only the units whose width differs from the rest (first/last at 8) */
    int main_b = list_main_bits(s);
    /* the two number columns show what the list is sorted by */
    int col1_ratio = ui->sort == FR_SORT_VS_RTN, col2_clip = ui->sort == FR_SORT_CLIP;
    const char *arrow = c->utf8 ? "\u25bc" : "v";
    char h1[16], h2[16];
    snprintf(h1, sizeof h1, "%s%s", col1_ratio ? " vs RTN" : "    loss",
             ui->sort == FR_SORT_LOSS || col1_ratio ? arrow : "");
    if (ui->sort == FR_SORT_AGGR || col2_clip) snprintf(h2, sizeof h2, "  %s%s", col2_clip ? "clip" : "aggr", arrow);
    else snprintf(h2, sizeof h2, "   aggr");
    int x = in.x + 2;
    fr_canvas_text(c, x, in.y, name_w, "unit", ROLE(FR_R_DIM), 0, 0);
    x += name_w + 1;
    if (spark_w) { fr_canvas_text(c, x, in.y, spark_w, "curve", ROLE(FR_R_DIM), 0, 0); x += spark_w + 1; }
    if (op_w) { fr_canvas_text(c, x, in.y, op_w, "op", ROLE(FR_R_DIM), 0, 0); x += op_w + 1; }
    if (shape_w) { fr_canvas_text(c, x, in.y, shape_w, "out", ROLE(FR_R_DIM), 0, 0); x += shape_w + 1; }
    if (bits_w) fr_canvas_text(c, x, in.y, bits_w, "bits", ROLE(FR_R_DIM), 0, 0);
    /* the arrow hangs one cell right of its column, into the gap */
    fr_canvas_text(c, in.x + w - 16, in.y, 9, h1, ROLE(FR_R_DIM), 0, 0);
    fr_canvas_text(c, in.x + w - 7, in.y, 7, h2, ROLE(FR_R_DIM), 0, 0);
    int rows = in.h - 1;
    ui->list_rows = rows;
    int pos = -1;
    for (int k = 0; k < n; k++)
        if (idx[k] == ui->sel_unit) pos = k;
    if (pos >= 0) {
        if (pos < ui->list_top) ui->list_top = pos;
        if (pos >= ui->list_top + rows) ui->list_top = pos - rows + 1;
    }
    if (ui->list_top > FR_MAX(0, n - rows)) ui->list_top = FR_MAX(0, n - rows);
    if (ui->list_top < 0) ui->list_top = 0;
    if (n == 0) {
        char b[96];
        snprintf(b, sizeof b, "no unit matches /%s (Esc clears)", ui->filter);
        fr_canvas_text(c, in.x + 1, in.y + 1, in.w - 1, b, ROLE(FR_R_DIM), 0, 0);
    }
    for (int k = 0; k < rows; k++) {
        if (ui->list_top + k >= n) break;
        int i = idx[ui->list_top + k];
        const fr_unit_view *u = s->units[i];
        int y = in.y + 1 + k;
        int sel = i == ui->sel_unit;
        uint32_t bg = sel ? ROLE(FR_R_SELECTION_BG) : 0;
        if (sel) fr_canvas_fill(c, (fr_rect){in.x, y, in.w, 1}, ' ', ROLE(FR_R_TEXT), bg, 0);
        if (!u) continue;
        uint32_t mark = 0x00b7;
        fr_role mr = FR_R_PENDING;
        if (u->status == FR_UNIT_RUNNING || i == s->cur_unit) { mark = 0x25b6; mr = FR_R_RUNNING; }
        else if (u->status == FR_UNIT_DONE) { mark = 0x2713; mr = FR_R_DONE; }
        else if (u->status == FR_UNIT_FALLBACK) { mark = '!'; mr = FR_R_BAD; }
        fr_canvas_put(c, in.x, y, mark, ROLE(mr), bg, FR_A_BOLD);
        fr_role tr = u->status == FR_UNIT_PENDING ? FR_R_DIM : FR_R_TEXT;
        x = in.x + 2;
        char bt[16], nm[128];
        int lo, hi;
        fr_unit_view_bits(u, &lo, &hi);
        fr_unit_view_bits_text(u, bt, sizeof bt);
        int mark_bits = !bits_w && (lo != main_b || hi != main_b);
        int sw = mark_bits ? (int)strlen(bt) + 1 : 0;
        fr_view_unit_label(s, i, name_w - sw, c->utf8, nm, sizeof nm);
        int nw = fr_canvas_text(c, x, y, name_w - sw, nm, ROLE(tr), bg, sel ? FR_A_BOLD : 0);
        if (mark_bits) fr_canvas_text(c, x + nw + 1, y, sw - 1, bt, ROLE(FR_R_WARN), bg, 0);
        x += name_w + 1;
        if (spark_w) { draw_spark(c, x, y, spark_w, u, bg); x += spark_w + 1; }
        if (op_w) { fr_canvas_text(c, x, y, op_w, u->ops, ROLE(FR_R_DIM), bg, 0); x += op_w + 1; }
        if (shape_w) { fr_canvas_text(c, x, y, shape_w, u->shape, ROLE(FR_R_DIM), bg, 0); x += shape_w + 1; }
        if (bits_w) fr_canvas_text(c, x, y, bits_w, bt, ROLE(lo != main_b || hi != main_b ? FR_R_WARN : FR_R_DIM), bg, 0);
        char lb[24] = "", ab[16] = "";
        int ran = u->status != FR_UNIT_PENDING;
        double lv = ran ? u->loss_after : u->loss_rtn;
        if (col1_ratio) {
            if (ran && u->loss_rtn > 0 && isfinite(u->rel_vs_rtn)) snprintf(lb, sizeof lb, "%.2fx", u->rel_vs_rtn);
            else snprintf(lb, sizeof lb, "-");
        } else if (lv > 0 && isfinite(lv)) {
            fr_plot_fmt(lb, sizeof lb, lv);
        } else {
            snprintf(lb, sizeof lb, "-");
        }
        if (col2_clip) snprintf(ab, sizeof ab, "%5.1f%%", 100 * u->clipped);
        else if (ran) snprintf(ab, sizeof ab, "%5.1f%%", 100 * u->aggressive);
        else snprintf(ab, sizeof ab, "-");
        char tmp[24];
        snprintf(tmp, sizeof tmp, "%8s", lb);
        fr_role lr = tr;
        if (ran && u->loss_rtn > 0 && lv > 0) lr = lv < u->loss_rtn ? FR_R_GOOD : FR_R_BAD;
        fr_canvas_text(c, in.x + w - 16, y, 8, tmp, ROLE(lr), bg, 0);
        snprintf(tmp, sizeof tmp, "%7s", ab);
        fr_canvas_text(c, in.x + w - 7, y, 7, tmp, ROLE(tr), bg, 0);
    }
    /* scroll hint in the bottom border */
    if (n > rows) {
        char sb[48];
        snprintf(sb, sizeof sb, " %d-%d/%d ", ui->list_top + 1, FR_MIN(n, ui->list_top + rows), n);
        int sw = (int)strlen(sb);
        fr_canvas_text(c, r.x + r.w - sw - 2, r.y + r.h - 1, sw, sb, ROLE(FR_R_DIM), 0, 0);
    }
    free(idx);
}
