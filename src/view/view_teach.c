/* view_teach.c — the teaching layer (issue 18 §1, §4): the equation strip, the guided tour and
 * the footer hints that follow the focused panel.
 *
 * Design note
 *   The strip prints only numbers the snapshot holds for the weight under the heatmap cursor
 *   (W, s1, S2, s3, s4, the code, RTN's code, the shift, the class the quantizer gave it) plus
 *   two quotients formed from them in the quantizer's own order of operations
 *   (W / (s1 * (S2 * (s3 * s4)))), so the strip can be checked against an independent
 *   computation and never disagrees with the heatmap or the scatter.  AdaRound's side comes
 *   from the same unit's AdaRound alternative (the compare view computes it, `c`).
 *
 *   The tour is a step counter in fr_ui.  Each step names one key; after every key the view
 *   asks whether the state now shows what the step asked for (the heatmap focused, the
 *   reciprocal view open, ...) and moves on, so the tour never drives the UI by itself and
 *   every step can be replayed by a key script.  `T` skips a step; the last one ends it.
 */
#include "view_impl.h"

#include <math.h>
#include <string.h>

#define ROLE(r) FR_COL_ROLE(r)

/* ------------------------------------------------------------------ shared text helper */

void fr_view_wrap(fr_canvas *c, fr_rect in, const char *t, uint32_t fg)
{
    for (int row = 0; row < in.h && *t; row++) {
        int n = (int)strlen(t);
        int take = n;
        if (n > in.w) {
            take = in.w;
            while (take > 0 && t[take] != ' ') take--;
            if (take == 0) take = in.w;
        }
        char line[512];
        if (take >= (int)sizeof line) take = (int)sizeof line - 1;
        memcpy(line, t, (size_t)take);
        line[take] = 0;
        fr_canvas_text(c, in.x, in.y + row, in.w, line, fg, 0, 0);
        t += take;
        while (*t == ' ') t++;
    }
}

/* ------------------------------------------------------------------ equation strip */

const char *fr_view_eqn_explain(void)
{
    return "s1 = the grid step: one per tensor (one per output row when per-channel); after PTQ only s1 and the "
           "integer codes remain. S2 = one divisor per weight. s3 = one per output channel (a heatmap row). s4 = one "
           "per input channel (kh*kw heatmap columns; convolutions only). All three start at 1, which is plain "
           "rounding to nearest (RTN). AdaRound only adds h(V) in [0,1] to floor(W/s1), so it never leaves the two "
           "nearest grid points; FlexRound's divisors can move a weight further.";
}

static const char *class_text(int cls)
{
    switch (cls) {
    case FR_WC_AGGRESSIVE: return "aggressive: past the two nearest grid points";
    case FR_WC_CLIPPED: return "clipped: W/s1 lies beyond the grid's end";
    default: return "inside: one of the two nearest grid points";
    }
}

static void fmt4(char *b, size_t n, double v)
{
    if (!isfinite(v)) snprintf(b, n, "--");
    else snprintf(b, n, "%.4g", v);
}

/* The same layer of unit u under AdaRound (the unit itself or its compare alternative). */
static const fr_layer_view *ada_layer(const fr_unit_view *u, int sel_layer, const fr_layer_view *L)
{
    const fr_unit_view *a = fr_view_unit_method(u, FR_METHOD_ADAROUND);
    const fr_layer_view *AL = a ? fr_view_layer(a, sel_layer) : NULL;
    if (!AL || AL->n != L->n || AL->o != L->o || !AL->h || !AL->code || !AL->u) return NULL;
    return AL;
}

/* The strip's text as segments (line, role, bold), so the terminal strip and the PNG
 * (teachpng.c) print the same numbers.  Returns 0 when the layer has no weights to show. */
static void seg(fr_eqn_text *t, int line, fr_role role, int bold, const char *s)
{
    if (t->n >= FR_EQN_MAX_SEGS) return;
    fr_eqn_seg *g = &t->seg[t->n++];
    g->line = line;
    g->role = role;
    g->bold = bold;
    snprintf(g->text, sizeof g->text, "%s", s);
}

int fr_view_eqn_text(const fr_unit_view *u, int sel_layer, const fr_layer_view *L, int cur_r, int cur_c, int utf8,
                     fr_eqn_text *t)
{
    memset(t, 0, sizeof *t);
    t->cls = -1;
    if (!L || !L->w || !L->s1 || L->n <= 0) return 0;
    const char *dot = utf8 ? "\u00b7" : "*", *to = utf8 ? " \u2192 " : " -> ", *bar = utf8 ? "  \u2502  " : "  |  ";
    const char *rl = utf8 ? "\u230a" : "round(", *rr = utf8 ? "\u2309" : ")";   /* round-to-nearest brackets */
    const char *fl = utf8 ? "\u230a" : "floor(", *fr = utf8 ? "\u230b" : ")";
    const char *hat = utf8 ? "\u0174" : "W^";
    int cols = (int)(L->n / FR_MAX(1, L->o)), khw = FR_MAX(1, L->kh * L->kw);
    int row = FR_MAX(0, FR_MIN(cur_r, L->o - 1)), col = FR_MAX(0, FR_MIN(cur_c, cols - 1));
    t->row = row;
    t->col = col;
    int64_t k = (int64_t)row * cols + col;
    int ic = col / khw, g = fr_layer_view_group(L, k);
    int flex = L->s2 && L->s3;
    double W = L->w[k], s1 = L->s1[g];
    double lo = L->qlo ? L->qlo[g] : NAN, hi = L->qhi ? L->qhi[g] : NAN;
    char a[32], b[32], d[32], e[32], f[32], ln[512];
    fmt4(a, sizeof a, lo), fmt4(b, sizeof b, hi);
    char range[80] = "";
    if (isfinite(lo) && isfinite(hi)) snprintf(range, sizeof range, ", %s, %s", a, b);
    /* line 0: the formula of the unit's method, AdaRound's beside it with its numbers */
    const fr_layer_view *AL = ada_layer(u, sel_layer, L);
    char ada[160];
    if (AL) {
        fmt4(a, sizeof a, AL->h[k]);
        snprintf(ada, sizeof ada, ": h(V) = %s%scode %d", a, to, (int)AL->code[k]);
    } else {
        snprintf(ada, sizeof ada, " (c computes it for this unit)");
    }
    if (flex) {
        snprintf(ln, sizeof ln, "FlexRound  %s = s1%sclamp(%sW / (s1%sS2%ss3%s)%s%s)", hat, dot, rl, dot, dot,
                 L->s4 ? (utf8 ? "\u00b7s4" : "*s4") : "", rr, range);
    } else if (u && u->method == FR_METHOD_ADAROUND && L->h) {
        snprintf(ln, sizeof ln, "AdaRound  %s = s1%sclamp(%sW/s1%s + h(V)%s)", hat, dot, fl, fr, range);
    } else {
        snprintf(ln, sizeof ln, "RTN  %s = s1%sclamp(%sW/s1%s%s)   (FlexRound divides by s1%sS2%ss3%ss4 instead)", hat, dot, rl,
                 rr, range, dot, dot, dot);
    }
    seg(t, 0, FR_R_FLEXROUND, 1, ln);
    if (flex || !(u && u->method == FR_METHOD_ADAROUND)) {
        snprintf(ln, sizeof ln, "%sAdaRound  %s = s1%sclamp(%sW/s1%s + h(V))%s", bar, hat, dot, fl, fr, AL ? ada : "");
        seg(t, 0, FR_R_ADAROUND, 0, ln);
        if (!AL) seg(t, 0, FR_R_DIM, 0, ada);
    }
    /* line 1: the factors, each with what it belongs to */
    fmt4(a, sizeof a, W), fmt4(b, sizeof b, s1);
    char s1where[32];
    if (L->n_s1 > L->o) snprintf(s1where, sizeof s1where, "row %d, group %d", row, g - row * (L->n_s1 / L->o));
    else if (L->n_s1 > 1) snprintf(s1where, sizeof s1where, "row %d", row);
    else snprintf(s1where, sizeof s1where, "tensor");
    int n = snprintf(ln, sizeof ln, "W[%d,%d] = %s  s1 = %s (%s)", row, col, a, b, s1where);
    if (flex) {
        fmt4(d, sizeof d, L->s2[k]), fmt4(e, sizeof e, L->s3[row]);
        n += snprintf(ln + n, sizeof ln - (size_t)n, "  S2 = %s (weight)  s3 = %s (row %d)", d, e, row);
        if (L->s4) {
            fmt4(f, sizeof f, L->s4[ic]);
            snprintf(ln + n, sizeof ln - (size_t)n, "  s4 = %s (in-ch %d)", f, ic);
        } else {
            snprintf(ln + n, sizeof ln - (size_t)n, "  no s4 (linear layer)");
        }
    } else if (L->h) {
        fmt4(d, sizeof d, L->h[k]);
        snprintf(ln + n, sizeof ln - (size_t)n, "  h(V) = %s (weight)  S2 = s3 = s4 = 1", d);
    } else {
        snprintf(ln + n, sizeof ln - (size_t)n, "  S2 = s3 = s4 = 1 (not learned)");
    }
    seg(t, 1, FR_R_TEXT, 0, ln);
    /* line 2: the two quotients, the codes, the class, the shift.  RTN rounds on the grid the
     * search found (s1_init); FlexRound may have learned s1 away from it. */
    double s0 = L->s1_init ? L->s1_init[g] : s1;
    fmt4(a, sizeof a, W / s0);
    n = snprintf(ln, sizeof ln, "W/s1%s = %s", s0 != s1 ? "_init" : "", a);
    if (L->rtn_code) n += snprintf(ln + n, sizeof ln - (size_t)n, "%sRTN code %d", to, (int)L->rtn_code[k]);
    int code = L->code ? (int)L->code[k] : 0;
    if (flex) {
        /* the quantizer's order of operations: s1 * (S2 * (s3 * s4)) in float */
        float s34 = L->s3[row] * (L->s4 ? L->s4[ic] : 1.0f);
        float v = L->w[k] / (L->s1[g] * (L->s2[k] * s34));
        fmt4(b, sizeof b, v);
        n += snprintf(ln + n, sizeof ln - (size_t)n, "   W/(s1%sS2%ss3%s) = %s%scode %d", dot, dot,
                      L->s4 ? (utf8 ? "\u00b7s4" : "*s4") : "", b, to, code);
    } else if (L->code) {
        n += snprintf(ln + n, sizeof ln - (size_t)n, "   code %d", code);
    }
    if (L->code && L->rtn_code) {
        int moved = code - (int)L->rtn_code[k];
        if (moved) n += snprintf(ln + n, sizeof ln - (size_t)n, " (moved %+d grid step%s from RTN)", moved, moved == 1 || moved == -1 ? "" : "s");
    }
    seg(t, 2, FR_R_TEXT, 0, ln);
    if (L->cls) {
        int cls = L->cls[k];
        t->cls = cls;
        seg(t, 2, cls == FR_WC_AGGRESSIVE ? FR_R_WARN : cls == FR_WC_CLIPPED ? FR_R_BAD : FR_R_GOOD, 1, class_text(cls));
    }
    if (L->shift) {
        fmt4(d, sizeof d, L->shift[k]);
        snprintf(ln, sizeof ln, "shift = code - W/s1 = %s", d);
        seg(t, 2, FR_R_DIM, 0, ln);
    }
    return 1;
}

void fr_view_render_eqn(fr_canvas *c, fr_rect r, const fr_ui *ui, const fr_unit_view *u, const fr_layer_view *L)
{
    const int utf8 = c->utf8;
    fr_canvas_box(c, r, utf8 ? "Equation \u2014 the weight under the heatmap cursor (E closes, i explains the factors)"
                             : "Equation - the weight under the heatmap cursor (E closes, i explains the factors)",
                  0);
    fr_rect in = fr_rect_inner(r);
    in.x += 1;
    in.w -= 1;
    if (in.h < 3 || in.w < 10) return;
    fr_eqn_text t;
    if (!fr_view_eqn_text(u, ui->sel_layer, L, ui->cur_r, ui->cur_c, utf8, &t)) {
        fr_canvas_text(c, in.x, in.y + 1, in.w, "no weights to show for this unit", ROLE(FR_R_DIM), 0, 0);
        return;
    }
    /* each line's segments side by side; on line 2 the class and the shift are optional
     * (drawn only with room to spare, the class first so it survives narrow terminals) */
    int x[3] = {in.x, in.x, in.x};
    for (int i = 0; i < t.n; i++) {
        const fr_eqn_seg *g = &t.seg[i];
        int y = in.y + g->line, first = x[g->line] == in.x, gap = g->line == 2 && !first ? 2 : 0;
        if (!first && g->line == 2 && x[2] + 4 >= in.x + in.w) continue;
        x[g->line] += gap + fr_canvas_text(c, x[g->line] + gap, y, in.x + in.w - x[g->line] - gap, g->text, ROLE(g->role), 0,
                                           g->bold ? FR_A_BOLD : 0);
    }
}

/* ------------------------------------------------------------------ tour */

/* One or two sentences and the key to press; the predicate in step_done says when the step
 * has been done.  Kept under ~230 characters: three lines of the explain box at 80 columns. */
static const char *const tour[] = {
    "Units: one row per unit (a layer or a block), reconstructed one after another. loss turns green when it beats "
    "plain rounding (RTN). Pick a unit with j/k, then press Tab twice to reach the heatmap.",
    "Heatmap: one pixel per weight, coloured by the divisor S2 that FlexRound learned for it (grey = 1 = plain "
    "rounding). Move the cursor with h/j/k/l, then press E to see its equation.",
    "The strip shows the formula with this weight's numbers: s1 (grid step), S2 (this weight), s3 (its row), s4 (its "
    "input channel) and the code they give. Press Tab to go to the scatter.",
    "Scatter: x = |W|, y = how far rounding moved the weight, in grid steps. Orange points went past the two nearest "
    "grid points (aggressive), mostly large weights. Press R to see why.",
    "Reciprocal rule: the gradient reaching S2 grows with W, so large weights get the largest updates and move "
    "furthest. Press c to compare the three methods on this unit.",
    "RTN, AdaRound and FlexRound side by side: AdaRound only picks one of the two nearest grid points, FlexRound can "
    "go further (orange). Press m to choose another method for the next run.",
    "Press r, then y: the selected unit runs again with that method and its loss curve grows back. T ends the tour "
    "(? then T replays it; in a read-only replay use T).",
};
#define TOUR_N ((int)(sizeof tour / sizeof tour[0]))

int fr_view_tour_steps(void) { return TOUR_N; }
const char *fr_view_tour_text(int k) { return k >= 1 && k <= TOUR_N ? tour[k - 1] : NULL; }

void fr_view_tour_start(fr_ui *ui)
{
    ui->tour = 1;
    ui->help = 0;
    ui->settings_open = 0;
    ui->filter_edit = 0;
    ui->mode = FR_MODE_MAIN;
    ui->expanded = -1;
    ui->focus = FR_L_LIST;
    ui->cfg.tour_done = 1;
    snprintf(ui->msg, sizeof ui->msg, "tour 1/%d: T skips a step", TOUR_N);
}

static void tour_next(fr_ui *ui)
{
    if (++ui->tour > TOUR_N) {
        ui->tour = 0;
        snprintf(ui->msg, sizeof ui->msg, "tour finished (? then T shows it again)");
    } else {
        snprintf(ui->msg, sizeof ui->msg, "tour %d/%d", ui->tour, TOUR_N);
    }
}

static int step_done(const fr_ui *ui, int step, const fr_view_out *out)
{
    switch (step) {
    case 1: return ui->focus == FR_L_HEAT && ui->mode == FR_MODE_MAIN;
    case 2: return ui->eqn;
    case 3: return ui->focus == FR_L_SCATTER;
    case 4: return ui->mode == FR_MODE_RECIP;
    case 5: return ui->mode == FR_MODE_COMPARE;
    case 6: return ui->next_method >= 0;
    case 7:
        for (int i = 0; out && i < out->n_cmds; i++)
            if (out->cmd[i].type == FR_CMD_RESTART_UNIT) return 1;
        return 0;
    default: return 0;
    }
}

void fr_view_tour_after_key(fr_ui *ui, const fr_view_out *out)
{
    if (ui->tour > 0 && step_done(ui, ui->tour, out)) tour_next(ui);
}

void fr_view_render_tour(fr_canvas *c, fr_rect r, const fr_ui *ui)
{
    char title[96];
    snprintf(title, sizeof title, "Tour %d/%d (T: next step)", ui->tour, TOUR_N);
    fr_canvas_box(c, r, title, 1);
    fr_rect in = fr_rect_inner(r);
    in.x += 1;
    in.w -= 2;
    const char *t = fr_view_tour_text(ui->tour);
    if (t) fr_view_wrap(c, in, t, ROLE(FR_R_TEXT));
}

/* ------------------------------------------------------------------ hints and keys */

static const struct { int focus; fr_action act; const char *label; } hint_tab[] = {
    {FR_L_LIST, FR_ACT_FILTER, "Filter"}, {FR_L_LIST, FR_ACT_SORT, "Sort"}, {FR_L_LIST, FR_ACT_TOUR, "Tour"},
    {FR_L_LOSS, FR_ACT_LOGY, "Log-y"}, {FR_L_LOSS, FR_ACT_FOLLOW, "Tail"}, {FR_L_LOSS, FR_ACT_SMOOTH_MORE, "Smooth"},
    {FR_L_STATS, FR_ACT_LAYER_NEXT, "Layer"}, {FR_L_STATS, FR_ACT_EQUATION, "Equation"},
    {FR_L_HEAT, FR_ACT_EQUATION, "Equation"}, {FR_L_HEAT, FR_ACT_HEAT_CYCLE, "S2/shift"}, {FR_L_HEAT, FR_ACT_ZOOM_IN, "Zoom"},
    {FR_L_SCATTER, FR_ACT_RECIP, "Why?"}, {FR_L_SCATTER, FR_ACT_SCATTER_ABS, "|W|"},
    {FR_L_HIST, FR_ACT_EQUATION, "Equation"},
    {FR_L_CMP0, FR_ACT_METHOD, "Method"}, {FR_L_CMP0, FR_ACT_RESTART, "Restart"},
    {-2, FR_ACT_LAYER_NEXT, "Layer"}, {-2, FR_ACT_CHANNELS, "Heatmap"},   /* -2: the channel view */
};

int fr_view_hints(const fr_ui *ui, fr_action *acts, const char **labels, int max)
{
    int n = 0, f = ui->focus >= FR_L_CMP0 && ui->focus <= FR_L_CMP2 ? FR_L_CMP0 : ui->focus;
    if (ui->mode == FR_MODE_CHAN && f == FR_L_SCATTER) f = -2;
    for (size_t i = 0; i < sizeof hint_tab / sizeof hint_tab[0] && n < max; i++)
        if (hint_tab[i].focus == f) acts[n] = hint_tab[i].act, labels[n++] = hint_tab[i].label;
    return n;
}

int fr_view_key_teach(fr_ui *ui, const fr_snapshot *s, fr_action act, fr_view_out *out)
{
    (void)s;
    switch (act) {
    case FR_ACT_EQUATION:
        ui->eqn = !ui->eqn;
        if (ui->eqn)
            snprintf(ui->msg, sizeof ui->msg, "equation strip: the weight under the heatmap cursor (Tab to the heatmap, then h/j/k/l)");
        return 1;
    case FR_ACT_FILTER:
        ui->filter_edit = 1;
        if (ui->expanded >= 0 && ui->expanded != FR_L_LIST) ui->expanded = -1;
        ui->focus = FR_L_LIST;
        snprintf(ui->msg, sizeof ui->msg, "filter units: type part of a name; Enter keeps it, Esc clears it");
        return 1;
    case FR_ACT_SORT:
        ui->sort = (ui->sort + 1) % FR_SORT__COUNT;
        ui->list_top = 0;
        snprintf(ui->msg, sizeof ui->msg, ui->sort == FR_SORT_RUN ? "unit list in run order" : "unit list sorted by %s, largest first",
                 fr_sort_name(ui->sort));
        return 1;
    case FR_ACT_TOUR:
        if (ui->tour) {
            tour_next(ui);
        } else {
            if (!ui->cfg.tour_done) out->save_settings = 1;
            fr_view_tour_start(ui);
        }
        return 1;
    case FR_ACT_SETTINGS:
        ui->settings_open = 1;
        ui->settings_sel = 0;
        return 1;
    default: return 0;
    }
}
