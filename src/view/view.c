/* view.c — UI state and key handling for the inspector (view.h).
 *
 * Design note
 *   Keys go through the keymap table (keymap.h) for the current modal context (help overlay,
 *   y/n prompt, normal), then one switch interprets the action for the focused panel.
 *   Actions that change the optimiser become fr_cmd entries in fr_view_out; in read-only
 *   replay they only print why they are disabled.  Everything here is deterministic and
 *   terminal-free, so tests drive it with key scripts.
 */
#include "view_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "frtui/heatagg.h"
#include "frtui/plot.h"

static const int iters_ladder[] = {100, 200, 500, 1000, 2000, 5000, 10000, 20000};

void fr_ui_init(fr_ui *ui, int utf8, int readonly)
{
    memset(ui, 0, sizeof *ui);
    ui->utf8 = utf8;
    ui->readonly = readonly;
    ui->follow_run = 1;
    ui->focus = FR_L_LIST;
    ui->expanded = -1;
    fr_plot_state st;
    fr_plot_state_default(&st);   /* one start-up state for the panels and `frtui export-png` */
    ui->loss_follow = st.loss_follow;
    ui->smooth = st.smooth;
    ui->scatter_abs = st.scatter_abs;
    ui->heat_qty = st.heat_qty;
    ui->next_method = ui->next_bits = ui->next_iters = -1;
    ui->t_pos = ui->t_unit = -1;
    ui->loss_cursor = -1;
    ui->heat_wpp_r = ui->heat_wpp_c = 1;
    ui->list_rows = 10;
    ui->cols = 100;
    ui->rows = 30;
    fr_settings_default(&ui->cfg);
}

void fr_ui_free(fr_ui *ui)
{
    fr_snapshot_release(ui->t_shot);
    fr_snapshot_release(ui->t_base);
    ui->t_shot = ui->t_base = NULL;
    fr_snapshot_release(ui->frozen);
    ui->frozen = NULL;
}

const fr_snapshot *fr_ui_snapshot(const fr_ui *ui, const fr_snapshot *live)
{
    return ui->t_shot ? ui->t_shot : ui->frozen ? ui->frozen : live;
}

const fr_unit_view *fr_view_unit(const fr_snapshot *s, int i)
{
    if (!s || i < 0 || i >= s->n_units) return NULL;
    return s->units[i];
}

const fr_layer_view *fr_view_layer(const fr_unit_view *u, int l)
{
    if (!u || u->n_layers <= 0) return NULL;
    if (l < 0) l = 0;
    if (l >= u->n_layers) l = u->n_layers - 1;
    return &u->layers[l];
}

static const float *qty_ptr(const fr_layer_view *L, int q)
{
    switch (q) {
    case FR_HQ_S2: return L->s2;
    case FR_HQ_SCOMB: return L->s_comb;
    case FR_HQ_SHIFT:
    case FR_HQ_SHIFT_MEAN: return L->shift;   /* the same per-weight array, aggregated differently */
    case FR_HQ_H: return L->h;
    default: return NULL;
    }
}

int fr_view_heat_qty(const fr_layer_view *L, int want)
{
    if (!L) return -1;
    if (want >= 0 && want < FR_HQ__COUNT && qty_ptr(L, want)) return want;
    for (int q = 0; q < FR_HQ__COUNT; q++)
        if (qty_ptr(L, q)) return q;
    return -1;
}

const float *fr_view_heat_data(const fr_layer_view *L, int qty, int *mode, float *range)
{
    *mode = FR_HEAT_LOG2;
    /* the log2 range adapts to the layer (99th percentile of |log2 S|, rounded to a nice value),
     * so the small departures of a well-behaved FlexRound run are not all one grey */
    const float *d = L ? (qty == FR_HQ_SCOMB ? L->s_comb : L->s2) : NULL;
    *range = d ? fr_plot_nice_range(fr_plot_quantile_abs(d, L->n, 0.99, 1)) : 1.0f;
    if (qty == FR_HQ_SHIFT) { *mode = FR_HEAT_LINEAR; *range = 1.5f; }
    if (qty == FR_HQ_H) { *mode = FR_HEAT_LINEAR; *range = 1.0f; }
    /* mean |shift| >= 0 uses the upper half of the scale: white at 0, full colour at 1 step
     * (rounding to nearest alone averages about 0.25) */
    if (qty == FR_HQ_SHIFT_MEAN) { *mode = FR_HEAT_LINEAR; *range = 1.0f; }
    return L ? qty_ptr(L, qty) : NULL;
}

int fr_view_heat_cycle(const fr_layer_view *L, int cur)
{
    static const int order[FR_HQ__COUNT] = {FR_HQ_S2, FR_HQ_SCOMB, FR_HQ_SHIFT, FR_HQ_SHIFT_MEAN, FR_HQ_H};
    int at = 0;
    for (int i = 0; i < FR_HQ__COUNT; i++) if (order[i] == cur) at = i;
    for (int i = 1; i <= FR_HQ__COUNT; i++) {
        int q = order[(at + i) % FR_HQ__COUNT];
        if (fr_view_heat_qty(L, q) == q) return q;
    }
    return cur;
}

int fr_view_heat_agg(int qty) { return qty == FR_HQ_SHIFT_MEAN ? FR_HAGG_MEAN_ABS : FR_HAGG_EXTREME; }

const char *fr_view_heat_what(int qty)
{
    switch (qty) {
    case FR_HQ_S2: return "log2 S2";
    case FR_HQ_SCOMB: return "log2 S";
    case FR_HQ_H: return "h";
    default: return "shift";
    }
}

void fr_view_fit_middle(const char *s, int width, int utf8, char *buf, size_t n)
{
    int len = (int)strlen(s);
    if (width < 1) width = 1;
    if (len <= width || (size_t)width + 4 > n) {
        snprintf(buf, n, "%s", s);
        return;
    }
    /* keep more of the tail: unit names end in the part that tells siblings apart */
    int head = (width - 1) / 2, tail = width - 1 - head;
    snprintf(buf, n, "%.*s%s%s", head, s, utf8 ? "\u2026" : "~", s + len - tail);
}

/* Block name: the dotted prefix shared by the block's layers. */
static void block_name(const fr_unit_view *u, char *buf, size_t n)
{
    const char *nm = u->name;
    if (strncmp(nm, "block:", 6) != 0) {
        snprintf(buf, n, "%s", nm);
        return;
    }
    nm += 6;
    if (u->n_layers <= 0) {
        snprintf(buf, n, "%s", nm);
        return;
    }
    const char *a = u->layers[0].name;
    size_t k = strlen(a);
    int boundary = 1;   /* every name has '.' or its end at k */
    for (int l = 1; l < u->n_layers; l++) {
        const char *b = u->layers[l].name;
        size_t j = 0;
        while (j < k && a[j] && a[j] == b[j]) j++;
        k = j;
    }
    for (int l = 0; l < u->n_layers; l++) {
        char c = u->layers[l].name[k];
        if (c != '.' && c != 0) boundary = 0;
    }
    if (u->n_layers == 1 || !boundary) {
        /* back to the last segment boundary before k (one layer: drop its own last segment) */
        while (k > 0 && a[k] != '.') k--;
    }
    if (k == 0) snprintf(buf, n, "%s", nm);
    else snprintf(buf, n, "%.*s", (int)k, a);
}

void fr_view_unit_label(const fr_snapshot *s, int i, int width, int utf8, char *buf, size_t n)
{
    const fr_unit_view *u = fr_view_unit(s, i);
    if (!u) { snprintf(buf, n, "-"); return; }
    char name[128], other[128];
    block_name(u, name, sizeof name);
    if (strcmp(name, u->name) != 0)
        for (int j = 0; j < s->n_units; j++) {
            if (j == i || !s->units[j]) continue;
            block_name(s->units[j], other, sizeof other);
            if (strcmp(other, name) == 0) { snprintf(name, sizeof name, "%s", u->name + 6); break; }
        }
    fr_view_fit_middle(name, width, utf8, buf, n);
}

const char *fr_view_heat_name(int qty)
{
    static const char *const n[] = {"S2", "S2*s3*s4", "shift", "h(V)", "mean |shift|"};
    return qty >= 0 && qty < FR_HQ__COUNT ? n[qty] : "-";
}

const fr_unit_view *fr_view_unit_method(const fr_unit_view *u, int m)
{
    if (!u) return NULL;
    if ((int)u->method == m && u->status != FR_UNIT_PENDING) return u;
    return u->alt[m];
}

int fr_view_run_active(const fr_snapshot *s)
{
    return s && (s->status == FR_RUN_RUNNING || s->status == FR_RUN_PAUSED || s->status == FR_RUN_IDLE);
}

void fr_view_layout(const fr_ui *ui, int cols, int rows, fr_layout *L)
{
    /* The tour speaks through the explain box (5 rows).  When the boxes do not fit, the explain
     * box gives way first, then the strip; the tour then floats over the body's bottom rows. */
    fr_layout_req q = {ui->mode, ui->expanded, ui->tour ? 2 : ui->explain, ui->eqn};
    if (fr_layout_compute(cols, rows, &q, L)) return;
    q.explain = 0;
    if (fr_layout_compute(cols, rows, &q, L)) return;
    q.equation = 0;
    fr_layout_compute(cols, rows, &q, L);
}

void fr_view_clamp(fr_ui *ui, const fr_snapshot *s)
{
    if (!s || s->n_units <= 0) {
        ui->sel_unit = 0;
        return;
    }
    if (ui->follow_run && s->cur_unit >= 0) ui->sel_unit = s->cur_unit;
    if (ui->sel_unit >= s->n_units) ui->sel_unit = s->n_units - 1;
    if (ui->sel_unit < 0) ui->sel_unit = 0;
    const fr_unit_view *u = s->units[ui->sel_unit];
    if (!u || u->n_layers <= 0) {
        ui->sel_layer = 0;
        return;
    }
    if (ui->sel_layer >= u->n_layers) ui->sel_layer = u->n_layers - 1;
    if (ui->sel_layer < 0) ui->sel_layer = 0;
    const fr_layer_view *L = &u->layers[ui->sel_layer];
    int rows = FR_MAX(1, L->o), cols = (int)FR_MAX(1, L->n / FR_MAX(1, L->o));
    ui->cur_r = FR_MAX(0, FR_MIN(ui->cur_r, rows - 1));
    ui->cur_c = FR_MAX(0, FR_MIN(ui->cur_c, cols - 1));
}

void fr_view_plot_state(const fr_ui *ui, fr_plot_state *st)
{
    memset(st, 0, sizeof *st);
    st->loss_logy = ui->loss_logy;
    st->loss_follow = ui->loss_follow;
    st->loss_zoom = ui->loss_zoom;
    st->loss_start = ui->loss_start;
    st->smooth = ui->smooth;
    st->scatter_abs = ui->scatter_abs;
    st->heat_qty = ui->heat_qty;
    st->heat_tile_r = ui->heat_wpp_r;   /* the tiles the panel's aggregate view showed */
    st->heat_tile_c = ui->heat_wpp_c;
    st->loss_x_time = ui->loss_x_time;
    st->eqn_row = ui->cur_r;
    st->eqn_col = ui->cur_c;
    /* the heatmap window the last frame showed; the whole matrix when it fit */
    if (ui->heat_zoom > 0) {
        st->heat_top = ui->heat_top;
        st->heat_left = ui->heat_left;
        st->heat_rows = ui->heat_vis_r;
        st->heat_cols = ui->heat_vis_c;
    }
}

int fr_view_panel_model(const fr_ui *ui, const fr_snapshot *s, const char *view, fr_plot_model *m, fr_err *e)
{
    fr_plot_state st;
    fr_view_plot_state(ui, &st);
    return fr_plot_model_build(s, ui->sel_unit, ui->sel_layer, view, &st, m, e);
}

const char *fr_view_focus_name(const fr_ui *ui)
{
    if (ui->mode == FR_MODE_COMPARE && ui->focus >= FR_L_CMP0 && ui->focus <= FR_L_CMP2) return "compare";
    if (ui->mode == FR_MODE_RECIP && ui->focus == FR_L_SCATTER) return "reciprocal";
    if (ui->mode == FR_MODE_CHAN && ui->focus == FR_L_SCATTER) return "channels";
    switch (ui->focus) {
    case FR_L_LIST: return "units";
    case FR_L_LOSS: return "loss";
    case FR_L_STATS: return "stats";
    case FR_L_HEAT: return "heatmap";
    case FR_L_SCATTER: return "scatter";
    case FR_L_HIST: return "hist";
    default: return "heatmap";
    }
}

int fr_view_bar_key_at(const fr_ui *ui, int x)
{
    for (int i = 0; i < ui->n_bar; i++)
        if (x >= ui->bar[i].x0 && x < ui->bar[i].x1) return ui->bar[i].key;
    return 0;
}

static void move_unit(fr_ui *ui, const fr_snapshot *s, int d);

void fr_view_click(fr_ui *ui, fr_snapshot *live, int x, int y, fr_view_out *out)
{
    memset(out, 0, sizeof *out);
    if (ui->settings_open) {
        fr_view_settings_click(ui, x, y, out);
        return;
    }
    if (ui->help || ui->confirm || ui->filter_edit) return;
    if (y == ui->rows - 1) {
        int k = fr_view_bar_key_at(ui, x);
        if (k) fr_view_key(ui, live, k, out);
        return;
    }
    fr_layout L;
    fr_view_layout(ui, ui->cols, ui->rows, &L);
    if (!L.ok) return;
    const fr_rect pt = {x, y, 1, 1};
    for (int p = FR_L_LIST; p <= FR_L_CMP2; p++) {
        if (!L.r[p].w || !fr_rect_contains(L.r[p], pt)) continue;
        ui->focus = p;
        if (p == FR_L_LIST) {
            const fr_snapshot *s = fr_ui_snapshot(ui, live);
            int row = y - L.r[p].y - 2;   /* border + column header */
            if (s && s->n_units > 0 && row >= 0) {
                int *idx = fr_xmalloc((size_t)s->n_units * sizeof *idx);   /* rows are display positions */
                int n = fr_view_list_order(ui, s, idx);
                if (ui->list_top + row < n) {
                    move_unit(ui, s, 0);
                    ui->sel_unit = idx[ui->list_top + row];
                }
                free(idx);
            }
        } else if (p == FR_L_LOSS) {   /* the value cursor follows the click */
            ui->loss_cursor = x - L.r[p].x - 1;
        } else if (p == FR_L_HEAT && ui->mode == FR_MODE_MAIN && fr_rect_contains(ui->heat_map, pt) && ui->heat_sr > 0) {
            int py = (y - ui->heat_map.y) * (ui->utf8 ? 2 : 1), px = x - ui->heat_map.x;
            ui->cur_r = ui->heat_top + (int)(py / ui->heat_sr);
            ui->cur_c = ui->heat_left + (int)(px / ui->heat_sc);
        }
        return;
    }
}

static void add_cmd(fr_view_out *o, fr_cmd_type t, int64_t arg)
{
    if (o->n_cmds < 4) o->cmd[o->n_cmds++] = (fr_cmd){t, arg};
}

static void set_msg(fr_ui *ui, const char *m) { snprintf(ui->msg, sizeof ui->msg, "%s", m); }

static void move_unit(fr_ui *ui, const fr_snapshot *s, int d)
{
    if (!s || s->n_units <= 0) return;
    ui->follow_run = 0;
    ui->sel_unit = fr_view_list_step(ui, s, ui->sel_unit, d);   /* through the list as shown (filter, sort) */
    ui->sel_layer = 0;
    ui->cur_r = ui->cur_c = ui->heat_top = ui->heat_left = 0;
}

static void cycle_focus(fr_ui *ui, int d)
{
    static const int order[] = {FR_L_LIST, FR_L_LOSS, FR_L_HEAT, FR_L_SCATTER, FR_L_HIST,
                                FR_L_CMP0, FR_L_CMP1, FR_L_CMP2, FR_L_STATS};
    const int n = (int)(sizeof order / sizeof order[0]);
    fr_layout L;
    fr_layout_req q = {ui->mode, -1, ui->tour ? 2 : ui->explain, ui->eqn};
    fr_layout_compute(FR_MAX(ui->cols, FR_LAYOUT_MIN_W), FR_MAX(ui->rows, FR_LAYOUT_MIN_H + 3), &q, &L);
    int at = 0;
    for (int i = 0; i < n; i++) if (order[i] == ui->focus) at = i;
    for (int k = 1; k <= n; k++) {
        int j = ((at + d * k) % n + n) % n;
        if (L.r[order[j]].w > 0) {
            ui->focus = order[j];
            if (ui->expanded >= 0) ui->expanded = ui->focus;
            return;
        }
    }
}

static int heat_focus(const fr_ui *ui) { return ui->focus == FR_L_HEAT && ui->mode == FR_MODE_MAIN; }

static void heat_move(fr_ui *ui, int dr, int dc)
{
    ui->cur_r += dr * FR_MAX(1, ui->heat_wpp_r);
    ui->cur_c += dc * FR_MAX(1, ui->heat_wpp_c);
    if (ui->cur_r < 0) ui->cur_r = 0;
    if (ui->cur_c < 0) ui->cur_c = 0;
}

static int worker_allowed(fr_ui *ui, const fr_keybind *b)
{
    if (!(b->flags & FR_KF_WORKER)) return 1;
    if (ui->readonly) {
        set_msg(ui, "read-only replay: optimiser actions are disabled");
        return 0;
    }
    return 1;
}

/* ---- key handling: one handler per context ---------------------------------------------------
 * fr_view_key picks the modal context (help overlay, y/n prompt, normal) and hands the key's
 * binding to that context's handler; in the normal context the action goes to navigation,
 * view options or run control in turn, the first that knows the action takes it (the way
 * htop gives each panel its own handler).  The keymap table stays the one place that says
 * which key means what. */

typedef struct key_env {
    fr_ui *ui;
    fr_snapshot *live;          /* may be NULL */
    const fr_snapshot *s;       /* what the frame shows (frozen or live) */
    const fr_unit_view *u;      /* selected unit */
    fr_view_out *out;
} key_env;

static void key_help(fr_ui *ui, const fr_keybind *b)
{
    if (!b) return;   /* unknown keys do nothing, the overlay stays */
    if (b->act == FR_ACT_DOWN) ui->help_scroll++;
    else if (b->act == FR_ACT_UP) ui->help_scroll = FR_MAX(0, ui->help_scroll - 1);
    else if (b->act == FR_ACT_TOUR) fr_view_tour_start(ui);   /* `?` -> T: the tour from the help */
    else ui->help = 0;
}

static void key_prompt(fr_ui *ui, const fr_keybind *b, fr_view_out *out)
{
    if (!b) return;
    fr_action what = ui->confirm;
    ui->confirm = FR_ACT_NONE;
    ui->msg[0] = 0;
    if (b->act != FR_ACT_YES) return;
    if (what == FR_ACT_QUIT) {
        add_cmd(out, FR_CMD_QUIT, 0);
        out->quit = 1;
    } else if (what == FR_ACT_RESTART) {
        add_cmd(out, FR_CMD_RESTART_UNIT, ui->sel_unit);   /* the worker's reply is the feedback */
    }
}

static void loss_pan(fr_ui *ui, const fr_unit_view *u, int d)
{
    int a, bb;
    fr_loss_opts lo = {0, d < 0 ? ui->loss_follow : 0, ui->loss_zoom, ui->loss_start, 0, 0, 0, 0, NULL};
    fr_plot_loss_window(u ? u->n_loss : 0, u ? u->iters : 0, &lo, &a, &bb);
    if (d < 0) {
        ui->loss_follow = 0;
        ui->loss_start = FR_MAX(0, a - (bb - a) / 4);
    } else {
        ui->loss_start = a + (bb - a) / 4;
    }
}

/* h/l on the loss panel: the value cursor one column; at the chart's edge a zoomed window pans,
 * and past the right edge the cursor goes back to following the newest point (-1). */
static void loss_cursor_move(fr_ui *ui, const fr_unit_view *u, int d)
{
    int w = ui->loss_chart_w, x0 = FR_MIN(ui->loss_chart_x0, FR_MAX(0, w - 1));
    if (w <= 1) {   /* not drawn yet: the window alone */
        if (ui->loss_zoom > 0 && (d < 0 || !ui->loss_follow)) loss_pan(ui, u, d);
        return;
    }
    int cur = ui->loss_cursor < 0 ? w - 1 : FR_MAX(x0, FR_MIN(ui->loss_cursor, w - 1)), nx = cur + d;
    if (nx < x0) {
        nx = x0;
        if (ui->loss_zoom > 0) loss_pan(ui, u, -1);
    } else if (nx > w - 1) {
        if (ui->loss_zoom > 0 && !ui->loss_follow) { loss_pan(ui, u, 1); nx = w - 1; }
        else nx = -1;
    }
    ui->loss_cursor = nx;
}

/* Movement: units, layers, heatmap cursor, loss window. */
static int key_nav(key_env *k, fr_action act)
{
    fr_ui *ui = k->ui;
    const fr_snapshot *s = k->s;
    const fr_unit_view *u = k->u;
    int half = FR_MAX(1, (heat_focus(ui) ? ui->heat_vis_r : ui->list_rows) / 2);
    switch (act) {
    case FR_ACT_DOWN: if (heat_focus(ui)) heat_move(ui, 1, 0); else move_unit(ui, s, 1); return 1;
    case FR_ACT_UP: if (heat_focus(ui)) heat_move(ui, -1, 0); else move_unit(ui, s, -1); return 1;
    case FR_ACT_LEFT:
        if (heat_focus(ui)) heat_move(ui, 0, -1);
        else if (ui->focus == FR_L_LOSS) loss_cursor_move(ui, u, -1);
        return 1;
    case FR_ACT_RIGHT:
        if (heat_focus(ui)) heat_move(ui, 0, 1);
        else if (ui->focus == FR_L_LOSS) loss_cursor_move(ui, u, 1);
        return 1;
    case FR_ACT_UNIT_NEXT: move_unit(ui, s, 1); return 1;
    case FR_ACT_UNIT_PREV: move_unit(ui, s, -1); return 1;
    case FR_ACT_TOP:
        if (heat_focus(ui)) ui->cur_r = ui->cur_c = 0;
        else move_unit(ui, s, -(1 << 30));
        return 1;
    case FR_ACT_BOTTOM:
        if (heat_focus(ui)) ui->cur_r = ui->cur_c = 1 << 30;   /* clamped at render */
        else move_unit(ui, s, 1 << 30);
        return 1;
    case FR_ACT_PAGE_DOWN: if (heat_focus(ui)) ui->cur_r += half; else move_unit(ui, s, half); return 1;
    case FR_ACT_PAGE_UP:
        if (heat_focus(ui)) ui->cur_r = FR_MAX(0, ui->cur_r - half);
        else move_unit(ui, s, -half);
        return 1;
    case FR_ACT_LAYER_NEXT:
    case FR_ACT_LAYER_PREV:
        if (u && u->n_layers > 1) {
            int d = act == FR_ACT_LAYER_NEXT ? 1 : -1;
            ui->sel_layer = (ui->sel_layer + d + u->n_layers) % u->n_layers;
            ui->cur_r = ui->cur_c = ui->heat_top = ui->heat_left = 0;
        }
        return 1;
    case FR_ACT_FOLLOW_RUN:
        ui->follow_run = 1;
        set_msg(ui, "following the running unit");
        return 1;
    default: return 0;
    }
}

/* Panels and view options: focus, expand, modes, zoom, smoothing, axes, freeze. */
static int key_view(key_env *k, fr_action act)
{
    fr_ui *ui = k->ui;
    const fr_unit_view *u = k->u;
    switch (act) {
    case FR_ACT_HELP: ui->help = 1; ui->help_scroll = 0; return 1;
    case FR_ACT_FOCUS_NEXT: cycle_focus(ui, 1); return 1;
    case FR_ACT_FOCUS_PREV: cycle_focus(ui, -1); return 1;
    case FR_ACT_EXPAND: ui->expanded = ui->expanded >= 0 ? -1 : ui->focus; return 1;
    case FR_ACT_BACK:
        if (ui->expanded >= 0) ui->expanded = -1;
        else if (ui->mode != FR_MODE_MAIN) { ui->mode = FR_MODE_MAIN; if (ui->focus >= FR_L_CMP0) ui->focus = FR_L_HEAT; }
        else if (ui->filter[0] && ui->focus == FR_L_LIST) { ui->filter[0] = 0; set_msg(ui, "filter cleared"); }
        else if (ui->explain) ui->explain = 0;
        return 1;
    case FR_ACT_ZOOM_IN:
    case FR_ACT_ZOOM_OUT:
    case FR_ACT_ZOOM_RESET: {
        int d = act == FR_ACT_ZOOM_IN ? 1 : act == FR_ACT_ZOOM_OUT ? -1 : 0;
        if (ui->focus == FR_L_LOSS) {
            ui->loss_zoom = d ? FR_MAX(0, FR_MIN(ui->loss_zoom + d, 12)) : 0;
            if (!d) ui->loss_follow = 1;
        } else {
            ui->heat_zoom = d ? FR_MAX(0, FR_MIN(ui->heat_zoom + d, 10)) : 0;
        }
        return 1;
    }
    case FR_ACT_FOLLOW:
        ui->loss_follow = !ui->loss_follow;
        set_msg(ui, ui->loss_follow ? "loss: following the newest iteration" : "loss: window fixed");
        return 1;
    case FR_ACT_LOGY: ui->loss_logy = !ui->loss_logy; return 1;
    case FR_ACT_SMOOTH_LESS:
    case FR_ACT_SMOOTH_MORE: {
        static const double ladder[] = {0, 0.6, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, FR_SMOOTH_MAX};
        const int n = (int)(sizeof ladder / sizeof ladder[0]);
        int i = 0;
        while (i < n - 1 && ladder[i] < ui->smooth - 1e-9) i++;
        i += act == FR_ACT_SMOOTH_MORE ? 1 : -1;
        ui->smooth = ladder[i < 0 ? 0 : i >= n ? n - 1 : i];
        snprintf(ui->msg, sizeof ui->msg, "loss smoothing %.3g (debiased EMA)", ui->smooth);
        return 1;
    }
    case FR_ACT_HEAT_CYCLE: {
        const fr_layer_view *L = fr_view_layer(u, ui->sel_layer);
        int cur = fr_view_heat_qty(L, ui->heat_qty);
        if (cur >= 0) ui->heat_qty = fr_view_heat_cycle(L, cur);
        if (cur >= 0)
            snprintf(ui->msg, sizeof ui->msg, "heatmap: %s%s (v: S2, S2*s3*s4, shift, mean |shift|, h)",
                     fr_view_heat_name(ui->heat_qty),
                     ui->heat_qty == FR_HQ_SHIFT_MEAN ? " per tile" : ui->heat_qty == FR_HQ_SHIFT ? ", max |shift| per tile" : "");
        return 1;
    }
    case FR_ACT_SCATTER_ABS: ui->scatter_abs = !ui->scatter_abs; return 1;
    case FR_ACT_EXPLAIN: ui->explain = !ui->explain; return 1;
    case FR_ACT_COMPARE:
        if (ui->mode == FR_MODE_COMPARE) {
            ui->mode = FR_MODE_MAIN;
            if (ui->focus >= FR_L_CMP0 && ui->focus <= FR_L_CMP2) ui->focus = FR_L_HEAT;
            return 1;
        }
        ui->mode = FR_MODE_COMPARE;
        ui->expanded = -1;
        if (u && !ui->readonly && k->live) {
            int missing = 0;
            for (int m = 0; m < FR_METHOD__COUNT; m++) missing += fr_view_unit_method(u, m) == NULL;
            if (missing) {
                add_cmd(k->out, FR_CMD_COMPARE_UNIT, ui->sel_unit);
                set_msg(ui, "computing the other methods for this unit...");
            }
        }
        return 1;
    case FR_ACT_RECIP:
        ui->mode = ui->mode == FR_MODE_RECIP ? FR_MODE_MAIN : FR_MODE_RECIP;
        ui->expanded = -1;
        if (ui->mode == FR_MODE_RECIP) ui->focus = FR_L_SCATTER;
        return 1;
    case FR_ACT_CHANNELS:
        ui->mode = ui->mode == FR_MODE_CHAN ? FR_MODE_MAIN : FR_MODE_CHAN;
        ui->expanded = -1;
        if (ui->mode == FR_MODE_CHAN) ui->focus = FR_L_SCATTER;
        return 1;
    case FR_ACT_FREEZE:
        if (ui->frozen) {
            fr_snapshot_release(ui->frozen);
            ui->frozen = NULL;
            set_msg(ui, "view live again");
        } else if (k->live) {
            fr_snapshot_retain(k->live);
            ui->frozen = k->live;
            set_msg(ui, "view frozen (the optimiser keeps running; f to unfreeze)");
        }
        return 1;
    case FR_ACT_REPAINT: k->out->repaint = 1; return 1;
    default: return 0;
    }
}

/* The run can still pause or step: a finished, failed or replayed run cannot. */
static int run_can_move(const fr_snapshot *live)
{
    return live && (live->status == FR_RUN_RUNNING || live->status == FR_RUN_PAUSED || live->status == FR_RUN_IDLE);
}

/* Run control and files: commands for the worker, quit, export. */
static int key_run(key_env *k, fr_action act)
{
    fr_ui *ui = k->ui;
    fr_snapshot *live = k->live;
    const fr_snapshot *s = k->s;
    const fr_unit_view *u = k->u;
    fr_view_out *out = k->out;
    switch (act) {
    case FR_ACT_QUIT:
        if (fr_view_run_active(live) && !ui->readonly && live && live->status != FR_RUN_IDLE) {
            ui->confirm = FR_ACT_QUIT;
            set_msg(ui, "The optimiser is running. Quit anyway? (y/n)");
        } else {
            out->quit = 1;
        }
        return 1;
    case FR_ACT_PAUSE:
        if (live && !run_can_move(live)) set_msg(ui, "the run has finished: nothing to pause (r restarts a unit)");
        else if (live && live->status == FR_RUN_PAUSED) add_cmd(out, FR_CMD_RESUME, 0), set_msg(ui, "resuming");
        else add_cmd(out, FR_CMD_PAUSE, 0), set_msg(ui, "pausing after this iteration");
        return 1;
    case FR_ACT_STEP:
        if (live && !run_can_move(live)) {
            set_msg(ui, "the run has finished: nothing to step (r restarts a unit)");
            return 1;
        }
        add_cmd(out, FR_CMD_STEP_UNIT, 0);
        set_msg(ui, "step: running to the end of this unit");
        return 1;
    case FR_ACT_STEP_MODE: {
        int on = live ? !live->step_mode : 1;
        add_cmd(out, FR_CMD_SET_STEP_MODE, on);
        set_msg(ui, on ? "debugger mode on: pause after every unit" : "debugger mode off");
        return 1;
    }
    case FR_ACT_RESTART:
        ui->confirm = FR_ACT_RESTART;
        snprintf(ui->msg, sizeof ui->msg, "Restart unit %d%s%s (and redo the units after it)? (y/n)", ui->sel_unit + 1,
                 u ? " " : "", u ? u->name : "");
        return 1;
    case FR_ACT_METHOD: {
        int m = ui->next_method >= 0 ? ui->next_method : s ? (int)s->info.method : FR_METHOD_FLEXROUND;
        m = (m + 1) % FR_METHOD__COUNT;
        ui->next_method = m;
        add_cmd(out, FR_CMD_SET_METHOD, m);
        snprintf(ui->msg, sizeof ui->msg, "next unit / restart uses %s", fr_method_name((fr_method)m));
        return 1;
    }
    case FR_ACT_BITS: {
        int bt = ui->next_bits >= 0 ? ui->next_bits : s && s->info.bits ? s->info.bits : 4;
        bt = bt >= 8 ? 2 : bt + 1;
        ui->next_bits = bt;
        add_cmd(out, FR_CMD_SET_BITS, bt);
        snprintf(ui->msg, sizeof ui->msg, "next unit / restart uses W%d", bt);
        return 1;
    }
    case FR_ACT_ITERS: {
        int it = ui->next_iters >= 0 ? ui->next_iters : s ? s->info.iters : 1000;
        const int n = (int)(sizeof iters_ladder / sizeof iters_ladder[0]);
        int i = 0;
        while (i < n && iters_ladder[i] <= it) i++;
        it = iters_ladder[i % n];
        ui->next_iters = it;
        add_cmd(out, FR_CMD_SET_ITERS, it);
        snprintf(ui->msg, sizeof ui->msg, "next unit / restart runs %d iterations", it);
        return 1;
    }
    case FR_ACT_EXPORT:
        out->export_unit = ui->sel_unit;
        out->export_layer = ui->sel_layer;
        out->export_view = fr_view_focus_name(ui);
        /* the loss panel of the compare view (or with a seconds axis) is the overlay of runs */
        if (!strcmp(out->export_view, "loss") && (ui->mode == FR_MODE_COMPARE || ui->loss_x_time)) out->export_view = "overlay";
        out->export_eqn = ui->eqn;   /* the strip is on screen: its PNG too */
        fr_view_plot_state(ui, &out->export_state);
        return 1;
    case FR_ACT_CHECKPOINT:
        add_cmd(out, FR_CMD_CHECKPOINT, 0);
        set_msg(ui, "checkpoint requested");
        return 1;
    default: return 0;
    }
}

void fr_view_key(fr_ui *ui, fr_snapshot *live, int key, fr_view_out *out)
{
    memset(out, 0, sizeof *out);
    if (key == FR_KEY_CTRL('l')) {   /* repaint works in every context */
        out->repaint = 1;
        return;
    }
    if (key == FR_KEY_RESIZE) return;
    if (ui->filter_edit) {   /* text mode: letters are text, not commands */
        fr_view_filter_key(ui, fr_ui_snapshot(ui, live), key);
        return;
    }
    int was_g = ui->pending_g;
    ui->pending_g = 0;
    unsigned ctx = ui->help ? FR_CTX_HELP : ui->settings_open ? FR_CTX_SETTINGS : ui->confirm ? FR_CTX_CONFIRM : FR_CTX_NORMAL;
    const fr_keybind *b = fr_keymap_lookup(key, ctx);
    if (ctx == FR_CTX_HELP) {
        int touring = ui->tour, shown = ui->cfg.tour_done;
        key_help(ui, b);
        if (ui->tour && !touring && !shown) out->save_settings = 1;
        return;
    }
    if (ctx == FR_CTX_SETTINGS) { fr_view_settings_key(ui, b, out); return; }
    if (ctx == FR_CTX_CONFIRM) { key_prompt(ui, b, out); fr_view_tour_after_key(ui, out); return; }
    if (!b) return;
    if (b->act == FR_ACT_TOP && key == 'g' && !was_g) {   /* first half of "gg" */
        ui->pending_g = 1;
        return;
    }
    if (!worker_allowed(ui, b)) return;
    fr_view_time_sync(ui, live);
    if (fr_view_key_time(ui, live, b->act, out)) return;
    const fr_snapshot *s = fr_ui_snapshot(ui, live);
    fr_view_clamp(ui, s);
    key_env k = {ui, live, s, fr_view_unit(s, ui->sel_unit), out};
    int tour_step = ui->tour;
    if (!key_nav(&k, b->act) && !key_view(&k, b->act) && !fr_view_key_teach(ui, s, b->act, out)) key_run(&k, b->act);
    if (ui->tour == tour_step) fr_view_tour_after_key(ui, out);   /* a step skipped with T is not also done */
    fr_view_time_sync(ui, live);   /* another unit: back to the present */
}

void fr_view_wheel(fr_ui *ui, fr_snapshot *live, int x, int y, int dir, fr_view_out *out)
{
    memset(out, 0, sizeof *out);
    if (ui->help) {
        ui->help_scroll = FR_MAX(0, ui->help_scroll + dir);
        return;
    }
    if (ui->settings_open) {
        fr_view_key(ui, live, dir < 0 ? FR_KEY_UP : FR_KEY_DOWN, out);
        return;
    }
    if (ui->confirm || ui->filter_edit) return;
    fr_layout L;
    fr_view_layout(ui, ui->cols, ui->rows, &L);
    if (!L.ok) return;
    const fr_rect pt = {x, y, 1, 1};
    const fr_snapshot *s = fr_ui_snapshot(ui, live);
    if (L.r[FR_L_LIST].w && fr_rect_contains(L.r[FR_L_LIST], pt)) {
        move_unit(ui, s, dir);
    } else if (L.r[FR_L_HEAT].w && ui->mode == FR_MODE_MAIN && fr_rect_contains(L.r[FR_L_HEAT], pt)) {
        ui->heat_zoom = FR_MAX(0, FR_MIN(ui->heat_zoom - dir, 10));   /* wheel up zooms in */
    } else if (L.r[FR_L_LOSS].w && fr_rect_contains(L.r[FR_L_LOSS], pt)) {
        ui->loss_zoom = FR_MAX(0, FR_MIN(ui->loss_zoom - dir, 12));
        if (!ui->loss_zoom) ui->loss_follow = 1;
    }
}
