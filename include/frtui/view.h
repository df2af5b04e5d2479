/* view.h — inspector UI state, whole-frame rendering and key handling (no curses here).
 *
 * Design note
 *   fr_ui is the only mutable UI state; it belongs to the UI thread.  A frame is a pure
 *   function of (snapshot, fr_ui, cols, rows) written into an fr_canvas (render also clamps
 *   the selection/cursor and remembers geometry for the next key, e.g. heatmap page size and
 *   function-bar hit boxes for mouse clicks).  Key handling never touches the worker: it
 *   returns an fr_view_out listing the commands to send, quit/export requests and whether a
 *   full repaint is wanted; the caller (tui.c, or the headless dump) acts on it.  So every
 *   interaction can be tested without a terminal or a worker.
 *
 *   Freeze (`f`) retains the live snapshot in fr_ui->frozen; while frozen, the frame is drawn
 *   from that snapshot whatever the caller passes.  fr_ui_free releases it.
 */
#ifndef FRTUI_VIEW_H
#define FRTUI_VIEW_H

#include <stdio.h>
#include "frtui/canvas.h"
#include "frtui/keymap.h"
#include "frtui/layout.h"
#include "frtui/plotmodel.h"
#include "frtui/settings.h"
#include "frtui/snapshot.h"
#include "frtui/cmd.h"

/* Heatmap quantities.  FR_HQ_SHIFT shows the most extreme shift per pixel (max |shift| per tile,
 * sign kept); FR_HQ_SHIFT_MEAN the mean |shift| per tile (heatagg.h).  Appended last so the
 * numbers stored in settings files keep their meaning; `v` cycles in fr_view_heat_cycle order. */
typedef enum { FR_HQ_S2 = 0, FR_HQ_SCOMB, FR_HQ_SHIFT, FR_HQ_H, FR_HQ_SHIFT_MEAN, FR_HQ__COUNT } fr_heat_qty;

#define FR_UI_MAX_BAR 16

typedef struct fr_ui {
    int utf8, readonly;
    int sel_unit, sel_layer, list_top;
    int follow_run;          /* selection tracks the running unit until the user moves */
    int focus;               /* fr_lpanel */
    int expanded;            /* -1 or fr_lpanel */
    fr_view_mode mode;
    int explain, help, help_scroll;
    int heat_qty;            /* fr_heat_qty requested (falls back to what the layer has) */
    int heat_zoom, cur_r, cur_c, heat_top, heat_left;
    int loss_logy, loss_follow, loss_zoom, loss_start;
    double smooth;           /* EMA smoothing, <= FR_SMOOTH_MAX */
    int scatter_abs;
    fr_snapshot *frozen;     /* retained while the view is frozen */
    /* Replay time travel (view_time.c, timeline.h): t_shot shows unit t_unit at recorded moment
     * t_pos of t_base (retained); NULL / -1 when showing the present. */
    fr_snapshot *t_shot, *t_base;
    int t_pos, t_unit;
    int loss_x_time;         /* loss x axis: 0 iterations, 1 seconds since the unit began */
    int loss_cursor;         /* value cursor: column inside the loss chart (a click, h/l), -1 the newest */
    fr_action confirm;       /* pending y/n prompt: FR_ACT_QUIT or FR_ACT_RESTART */
    int pending_g;           /* first 'g' of "gg" seen */
    int next_method, next_bits, next_iters;   /* chosen for the next run; -1 = unchanged */
    char msg[192];           /* transient status message (overrides the snapshot's) */
    /* the teaching layer (issue 18) */
    int eqn;                 /* equation strip shown (E) */
    int tour;                /* 0: no tour; else the tour step shown, 1..fr_view_tour_steps() */
    int sort;                /* fr_sort of the unit list (O) */
    char filter[48];         /* unit-list filter (/): case-insensitive substring of name or ops */
    int filter_edit;         /* typing into the filter: keys are text until Enter / Esc */
    int settings_open, settings_sel;   /* the settings screen (F2 or ,) and its selected row */
    fr_settings cfg;         /* what the settings screen edits; the caller saves it (save_settings) */
    char cfg_path[256];      /* shown on the settings screen; "" when there is no config file */
    /* remembered from the last render */
    int cols, rows;
    int heat_wpp_r, heat_wpp_c, heat_vis_r, heat_vis_c, list_rows;
    fr_rect heat_map;        /* cells of the heatmap image (for clicks) */
    int loss_chart_x0, loss_chart_w;   /* the loss chart's first data column and width (h/l move the cursor in it) */
    double heat_sr, heat_sc; /* its pixels per weight, rows / cols */
    int n_bar;
    struct { int x0, x1, key; } bar[FR_UI_MAX_BAR];
    fr_rect settings_box;    /* the settings screen's rows (for clicks) */
} fr_ui;

typedef struct fr_view_out {
    int n_cmds;
    fr_cmd cmd[4];
    int quit;
    int repaint;             /* Ctrl-L: caller should clear and redraw everything */
    int export_unit, export_layer;
    const char *export_view; /* non-NULL: export requested ("heatmap", "scatter", "loss", ...; "csv",
                                "timeline", "slides" for C, P, X: timeline.h;
                                "overlay": the compare view's loss panel) */
    int export_eqn;          /* `e` with the equation strip shown: also export "equation" (teachpng.h) */
    fr_plot_state export_state;   /* the panel's state: the export draws the plot model the panel shows */
    int save_settings;       /* ui->cfg changed and should be written to the config file (palette, mouse may differ) */
} fr_view_out;

void fr_ui_init(fr_ui *ui, int utf8, int readonly);
void fr_ui_free(fr_ui *ui);
/* Time travel keys (< >, view_time.c): 1 when act was one of them. */
int fr_view_key_time(fr_ui *ui, fr_snapshot *live, fr_action act, fr_view_out *out);
/* Drops the time shot when it no longer matches the selection or its base (render and keys call it). */
void fr_view_time_sync(fr_ui *ui, const fr_snapshot *live);
/* The snapshot a frame is drawn from: the frozen one, else live. */
const fr_snapshot *fr_ui_snapshot(const fr_ui *ui, const fr_snapshot *live);

/* Applies one key.  live may be NULL (nothing to freeze / no status).  out is cleared first. */
void fr_view_key(fr_ui *ui, fr_snapshot *live, int key, fr_view_out *out);
/* Renders a whole frame into c (its size is the terminal size). */
void fr_view_render(fr_ui *ui, const fr_snapshot *live, fr_canvas *c);
/* Key synthesized by a click at column x of the function bar, or 0. */
int fr_view_bar_key_at(const fr_ui *ui, int x);
/* Mouse click at cell (x, y) of the last rendered frame: function-bar labels act as their key,
 * a click in a panel focuses it, on a unit row selects the unit, on the heatmap moves the
 * cursor to that weight. */
void fr_view_click(fr_ui *ui, fr_snapshot *live, int x, int y, fr_view_out *out);
/* Mouse wheel at cell (x, y): dir -1 up, +1 down.  Over the unit list it moves the selection,
 * over the heatmap or the loss curve it zooms (up = in), over the help overlay or the settings
 * screen it scrolls. */
void fr_view_wheel(fr_ui *ui, fr_snapshot *live, int x, int y, int dir, fr_view_out *out);

/* Puts the settings into effect (smoothing, panels, heatmap quantity, axes, sort, focus,
 * expanded panel) and keeps a copy in ui->cfg for the settings screen.  Call after fr_ui_init. */
void fr_ui_apply_settings(fr_ui *ui, const fr_settings *cfg);
/* Starts the guided tour at its first step (what `T` does); marks cfg.tour_done. */
void fr_view_tour_start(fr_ui *ui);
int fr_view_tour_steps(void);
/* The text of tour step k (1-based) and the key it asks for; NULL when out of range. */
const char *fr_view_tour_text(int k);

/* The panel settings (zoom, smoothing, axes, heatmap window) as the plot model takes them. */
void fr_view_plot_state(const fr_ui *ui, fr_plot_state *st);
/* The plot model the panel for `view` draws from (unit/layer selected in ui); the caller
 * frees it with fr_plot_model_free. */
int fr_view_panel_model(const fr_ui *ui, const fr_snapshot *s, const char *view, fr_plot_model *m, fr_err *e);

/* The name of the focused view ("heatmap", "scatter", "loss", "hist", "compare",
 * "reciprocal", "units", "stats") — what `e` exports. */
const char *fr_view_focus_name(const fr_ui *ui);

/* ---- headless (view_dump.c) ---- */
/* Key-script notation: plain characters are keys; <Name> is a special key: <Up> <Down> <Left>
 * <Right> <PgUp> <PgDn> <Home> <End> <Tab> <S-Tab> <Enter> <Esc> <Space> <BS> <F1>..<F12> <C-x>
 * (Ctrl+letter) and <lt> for a literal '<'.  A '<' not starting a known name is literal.
 * Returns the number of keys (<= max) or -1 with e set on a bad name. */
int fr_view_parse_keys(const char *script, int *keys, int max, fr_err *e);
/* The rest of a --keys string after its first nkeys keys (the sweep view hands it to the run it
 * opens, so one --keys drives both screens). */
const char *fr_view_keys_after(const char *script, int nkeys);

typedef struct fr_dump_opts {
    int utf8;
    int depth;                /* 0 mono, 16, 256, 24 */
    int readonly;
    const fr_palette *pal;
} fr_dump_opts;
/* Applies the key script to a fresh UI over snapshot s (commands are discarded), renders one
 * frame and prints it.  Returns FR_OK or FR_EINPUT (bad size or key script). */
int fr_view_dump(fr_snapshot *s, const fr_dump_opts *o, int cols, int rows, const char *keys, FILE *out, fr_err *e);
/* Milliseconds per frame to build a cols x rows frame from s (mean over reps); for make bench. */
double fr_view_bench_frame(const fr_snapshot *s, int cols, int rows, int utf8, int reps);

#endif
