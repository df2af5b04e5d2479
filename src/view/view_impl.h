/* view_impl.h — helpers shared by view.c, view_render.c and view_dump.c (private). */
#ifndef FRTUI_VIEW_IMPL_H
#define FRTUI_VIEW_IMPL_H

#include "frtui/view.h"

const fr_unit_view *fr_view_unit(const fr_snapshot *s, int i);
const fr_layer_view *fr_view_layer(const fr_unit_view *u, int l);
/* The heat quantity actually shown: `want` if the layer has it, else the first available
 * (S2, S2*s3*s4, shift, h); -1 when the layer has none. */
int fr_view_heat_qty(const fr_layer_view *L, int want);
const float *fr_view_heat_data(const fr_layer_view *L, int qty, int *mode, float *range);
const char *fr_view_heat_name(int qty);
/* The next quantity `v` shows after cur on layer L: S2, S2*s3*s4, shift (max |shift| per tile),
 * mean |shift| per tile, h(V), skipping what L lacks. */
int fr_view_heat_cycle(const fr_layer_view *L, int cur);
/* FR_HAGG_* of a quantity (heatagg.h) and the name its tile label uses ("shift", "log2 S2"). */
int fr_view_heat_agg(int qty);
const char *fr_view_heat_what(int qty);
void fr_view_layout(const fr_ui *ui, int cols, int rows, fr_layout *L);
/* The run is live and not finished (quit needs confirmation). */
int fr_view_run_active(const fr_snapshot *s);
/* The unit view for method m of unit u (itself or u->alt[m]), or NULL. */
const fr_unit_view *fr_view_unit_method(const fr_unit_view *u, int m);
/* Clamps selection, layer and heat cursor against the snapshot (render and keys use it). */
void fr_view_clamp(fr_ui *ui, const fr_snapshot *s);

/* The name a person reads for unit i: blocks by their block (the common dotted prefix of
 * their layers, "layer1.0" instead of "block:layer1.0.conv1"), the full name when that
 * would be ambiguous; shortened in the middle to width columns ("layer2…conv1"). */
void fr_view_unit_label(const fr_snapshot *s, int i, int width, int utf8, char *buf, size_t n);
/* s shortened in the middle to width columns (ASCII names; "~" marks the cut without UTF-8). */
void fr_view_fit_middle(const char *s, int width, int utf8, char *buf, size_t n);

/* Shared by view_render.c (the frame's chrome) and view_plots.c (the plot panels). */
void fr_view_fmt_dur(char *b, size_t n, double s);   /* "--", 42s, 3m05s, 1h02m */
void fr_view_fmtv(char *b, size_t n, double v);      /* "--" for non-finite, else fr_plot_fmt */
void fr_view_render_heat(fr_canvas *c, fr_rect r, fr_ui *ui, const fr_unit_view *u, const fr_layer_view *L, int focus);
void fr_view_render_scatter(fr_canvas *c, fr_rect r, fr_ui *ui, const fr_snapshot *s, const fr_layer_view *L, int focus);
void fr_view_render_hist(fr_canvas *c, fr_rect r, fr_ui *ui, const fr_unit_view *u, const fr_layer_view *L, int focus);
void fr_view_render_compare(fr_canvas *c, const fr_layout *Lo, fr_ui *ui, const fr_snapshot *s, const fr_unit_view *u);
void fr_view_render_recip(fr_canvas *c, fr_rect r, fr_ui *ui, const fr_snapshot *s, const fr_layer_view *L);
/* The channel view (W, view_chan.c): per-channel max |W| strips and the outlier channels. */
void fr_view_render_chan(fr_canvas *c, fr_rect r, fr_ui *ui, const fr_snapshot *s, const fr_layer_view *L);

/* The unit list (view_list.c).  fr_view_list_order writes the units the list shows, in its
 * order (filter, then sort), into idx[s->n_units] and returns their count;
 * fr_view_list_step is the unit d display positions away from unit `from`. */
int fr_view_unit_matches(const fr_snapshot *s, int i, const char *filter);
int fr_view_list_order(const fr_ui *ui, const fr_snapshot *s, int *idx);
int fr_view_list_step(const fr_ui *ui, const fr_snapshot *s, int from, int d);
void fr_view_filter_key(fr_ui *ui, const fr_snapshot *s, int key);
int fr_view_sparkline(const fr_unit_view *u, int w, int *level);   /* levels 0..7, -1 for an empty cell */
void fr_view_render_list(fr_canvas *c, fr_rect r, fr_ui *ui, const fr_snapshot *s);

/* The teaching layer (view_teach.c): equation strip, tour, footer hints; settings screen
 * (view_settings.c). */
/* The equation strip's text for the weight (cur_r, cur_c) of layer L (clamped), as coloured
 * segments on three lines; 0 (t->n == 0) when the layer has no weights.  The strip and its PNG
 * (teachpng.c) both print these. */
#define FR_EQN_MAX_SEGS 8
typedef struct fr_eqn_seg { int line, bold; fr_role role; char text[512]; } fr_eqn_seg;
typedef struct fr_eqn_text { int n, row, col, cls; fr_eqn_seg seg[FR_EQN_MAX_SEGS]; } fr_eqn_text;
int fr_view_eqn_text(const fr_unit_view *u, int sel_layer, const fr_layer_view *L, int cur_r, int cur_c, int utf8,
                     fr_eqn_text *t);
void fr_view_render_eqn(fr_canvas *c, fr_rect r, const fr_ui *ui, const fr_unit_view *u, const fr_layer_view *L);
const char *fr_view_eqn_explain(void);
void fr_view_render_tour(fr_canvas *c, fr_rect r, const fr_ui *ui);
/* Actions of the teaching layer (E / O T ,); returns 0 for any other action. */
int fr_view_key_teach(fr_ui *ui, const fr_snapshot *s, fr_action act, fr_view_out *out);
/* Advances the tour when the key just handled did what its step asks. */
void fr_view_tour_after_key(fr_ui *ui, const fr_view_out *out);
/* Footer hints for the focused panel: up to max actions with short labels. */
int fr_view_hints(const fr_ui *ui, fr_action *acts, const char **labels, int max);
void fr_view_settings_key(fr_ui *ui, const fr_keybind *b, fr_view_out *out);
void fr_view_settings_click(fr_ui *ui, int x, int y, fr_view_out *out);
void fr_view_render_settings(fr_canvas *c, fr_ui *ui);
/* Word-wraps text into the rectangle (explain box, tour). */
void fr_view_wrap(fr_canvas *c, fr_rect in, const char *t, uint32_t fg);

#endif
