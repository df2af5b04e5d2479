/* view_settings.c — the settings screen (F2 or `,`, htop's Setup pattern) and putting a
 * settings record into effect.
 *
 * Design note
 *   The screen edits ui->cfg, the record the config file holds.  A change that has a live
 *   counterpart (smoothing, panels, heatmap quantity, axes, sort) takes effect at once, so
 *   the user sees what they chose; the start-up ones (focus, expanded panel, tour) only
 *   matter at the next start.  Palette and mouse belong to the terminal front end, which
 *   compares ui->cfg with what it uses after every key.  Closing the screen asks the caller
 *   to save (fr_view_out.save_settings): the view never writes files.
 */
#include "view_impl.h"

#include <string.h>

#include "frtui/plot.h"

#define ROLE(r) FR_COL_ROLE(r)

enum { S_PALETTE, S_SMOOTH, S_EXPLAIN, S_EQN, S_FOCUS, S_EXPANDED, S_HEAT, S_SCATTER, S_LOGY, S_SORT, S_MOUSE, S_TOUR, S__COUNT };

static const char *const row_name[S__COUNT] = {
    "Palette", "Loss smoothing (EMA)", "Explain panel", "Equation strip", "Focused at start", "Expanded at start",
    "Heatmap shows", "Scatter x axis", "Loss y axis", "Unit list order", "Mouse", "Tour at next start",
};

void fr_ui_apply_settings(fr_ui *ui, const fr_settings *cfg)
{
    ui->cfg = *cfg;
    ui->smooth = cfg->smooth < 0 ? 0 : cfg->smooth > FR_SMOOTH_MAX ? FR_SMOOTH_MAX : cfg->smooth;
    ui->explain = cfg->explain;
    ui->eqn = cfg->equation;
    if (cfg->focus >= FR_L_LIST && cfg->focus <= FR_L_HIST) ui->focus = cfg->focus;
    ui->expanded = cfg->expanded >= FR_L_LIST && cfg->expanded <= FR_L_HIST ? cfg->expanded : -1;
    if (ui->expanded >= 0) ui->focus = ui->expanded;
    if (cfg->heat_qty >= 0 && cfg->heat_qty < FR_HQ__COUNT) ui->heat_qty = cfg->heat_qty;
    ui->scatter_abs = cfg->scatter_abs;
    ui->loss_logy = cfg->loss_logy;
    ui->sort = cfg->sort >= 0 && cfg->sort < FR_SORT__COUNT ? cfg->sort : FR_SORT_RUN;
}

static void value_text(const fr_settings *s, int row, char *b, size_t n)
{
    switch (row) {
    case S_PALETTE: snprintf(b, n, "%s", s->palette); break;
    case S_SMOOTH: snprintf(b, n, "%.3g", s->smooth); break;
    case S_EXPLAIN: snprintf(b, n, "%s", s->explain ? "on" : "off"); break;
    case S_EQN: snprintf(b, n, "%s", s->equation ? "on" : "off"); break;
    case S_FOCUS: snprintf(b, n, "%s", fr_settings_panel_name(s->focus)); break;
    case S_EXPANDED: snprintf(b, n, "%s", fr_settings_panel_name(s->expanded)); break;
    case S_HEAT: snprintf(b, n, "%s", fr_view_heat_name(s->heat_qty)); break;
    case S_SCATTER: snprintf(b, n, "%s", s->scatter_abs ? "|W|" : "signed W"); break;
    case S_LOGY: snprintf(b, n, "%s", s->loss_logy ? "log" : "linear"); break;
    case S_SORT: snprintf(b, n, "%s", fr_sort_name(s->sort)); break;
    case S_MOUSE: snprintf(b, n, "%s", s->mouse ? "on" : "off"); break;
    default: snprintf(b, n, "%s", s->tour_done ? "no (already shown)" : "yes"); break;
    }
}

static int cycle(int v, int lo, int hi, int d) { return v + d > hi ? lo : v + d < lo ? hi : v + d; }

static void change(fr_ui *ui, int row, int d)
{
    fr_settings *s = &ui->cfg;
    switch (row) {
    case S_PALETTE: snprintf(s->palette, sizeof s->palette, "%s", strcmp(s->palette, "dark") ? "dark" : "light"); break;
    case S_SMOOTH: {
        static const double ladder[] = {0, 0.6, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, FR_SMOOTH_MAX};
        const int n = (int)(sizeof ladder / sizeof ladder[0]);
        int i = 0;
        while (i < n - 1 && ladder[i] < s->smooth - 1e-9) i++;
        s->smooth = ladder[cycle(i, 0, n - 1, d)];
        ui->smooth = s->smooth;
        break;
    }
    case S_EXPLAIN: ui->explain = s->explain = !s->explain; break;
    case S_EQN: ui->eqn = s->equation = !s->equation; break;
    case S_FOCUS: s->focus = cycle(s->focus, FR_L_LIST, FR_L_HIST, d); break;
    case S_EXPANDED: s->expanded = cycle(s->expanded < 0 ? FR_L_LIST - 1 : s->expanded, FR_L_LIST - 1, FR_L_HIST, d);
        if (s->expanded < FR_L_LIST) s->expanded = -1;
        break;
    case S_HEAT: ui->heat_qty = s->heat_qty = cycle(s->heat_qty, 0, FR_HQ__COUNT - 1, d); break;
    case S_SCATTER: ui->scatter_abs = s->scatter_abs = !s->scatter_abs; break;
    case S_LOGY: ui->loss_logy = s->loss_logy = !s->loss_logy; break;
    case S_SORT: ui->sort = s->sort = cycle(s->sort, 0, FR_SORT__COUNT - 1, d); break;
    case S_MOUSE: s->mouse = !s->mouse; break;
    default: s->tour_done = !s->tour_done; break;
    }
}

void fr_view_settings_key(fr_ui *ui, const fr_keybind *b, fr_view_out *out)
{
    if (!b) return;
    switch (b->act) {
    case FR_ACT_DOWN: ui->settings_sel = (ui->settings_sel + 1) % S__COUNT; break;
    case FR_ACT_UP: ui->settings_sel = (ui->settings_sel + S__COUNT - 1) % S__COUNT; break;
    case FR_ACT_RIGHT: change(ui, ui->settings_sel, 1); break;
    case FR_ACT_LEFT: change(ui, ui->settings_sel, -1); break;
    case FR_ACT_SETTINGS:
        ui->settings_open = 0;
        out->save_settings = 1;
        break;
    default: break;
    }
}

void fr_view_settings_click(fr_ui *ui, int x, int y, fr_view_out *out)
{
    (void)out;
    fr_rect r = ui->settings_box;
    if (x < r.x || x >= r.x + r.w || y < r.y || y >= r.y + r.h) return;
    ui->settings_sel = y - r.y;
    change(ui, ui->settings_sel, 1);
}

void fr_view_render_settings(fr_canvas *c, fr_ui *ui)
{
    int w = FR_MIN(c->cols - 4, 72), h = FR_MIN(c->rows - 2, S__COUNT + 6);
    fr_rect r = {(c->cols - w) / 2, FR_MAX(1, (c->rows - h) / 2), w, h};
    fr_canvas_fill(c, r, ' ', ROLE(FR_R_TEXT), ROLE(FR_R_OVERLAY_BG), 0);
    fr_canvas_box(c, r, "Settings (j/k choose, h/l or Enter change, Esc saves and closes)", 1);
    fr_rect in = fr_rect_inner(r);
    in.x += 1;
    in.w -= 2;
    int rows = FR_MIN(S__COUNT, in.h - 3);
    ui->settings_box = (fr_rect){in.x, in.y, in.w, rows};
    for (int i = 0; i < rows; i++) {
        int sel = i == ui->settings_sel;
        uint32_t bg = sel ? ROLE(FR_R_SELECTION_BG) : 0;
        if (sel) fr_canvas_fill(c, (fr_rect){in.x, in.y + i, in.w, 1}, ' ', ROLE(FR_R_TEXT), bg, 0);
        fr_canvas_text(c, in.x + 1, in.y + i, 24, row_name[i], ROLE(FR_R_LABEL), bg, 0);
        char v[48], t[64];
        value_text(&ui->cfg, i, v, sizeof v);
        snprintf(t, sizeof t, sel ? "< %s >" : "  %s", v);
        fr_canvas_text(c, in.x + 26, in.y + i, in.w - 26, t, ROLE(sel ? FR_R_KEY : FR_R_TEXT), bg, sel ? FR_A_BOLD : 0);
    }
    char p[320];
    if (ui->cfg_path[0]) snprintf(p, sizeof p, "saved to %s", ui->cfg_path);
    else snprintf(p, sizeof p, "no config file (set FRTUI_CONFIG, XDG_CONFIG_HOME or HOME): changes last this session");
    fr_canvas_text(c, in.x + 1, in.y + rows + 1, in.w - 1, p, ROLE(FR_R_DIM), 0, 0);
    fr_canvas_text(c, in.x + 1, in.y + rows + 2, in.w - 1, "palette and mouse apply to the terminal now; 'at start' ones at the next start",
                   ROLE(FR_R_DIM), 0, 0);
}
