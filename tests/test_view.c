/* test_view.c — inspector state machine, key scripts and golden frames (hand-built snapshots).
 *
 * Golden frames live in tests/golden/NAME.txt (run from the repository root, as `make test`
 * does).  FRTUI_UPDATE_GOLDEN=1 rewrites them; inspect the diff before committing. */
#include <stdlib.h>
#include <string.h>

#include "fr_test.h"
#include "frtui/plot.h"
#include "frtui/plotmodel.h"
#include "frtui/pngplot.h"
#include "frtui/view.h"
#include "view_fixture.h"
#include "../src/view/view_impl.h"

static fr_snapshot *S;

static void key(fr_ui *ui, fr_snapshot *s, const char *script, fr_view_out *last)
{
    int k[256];
    fr_err e = {0};
    int n = fr_view_parse_keys(script, k, 256, &e);
    FR_CHECKF(n >= 0, "%s", e.msg);
    fr_canvas c;
    fr_canvas_init(&c, 120, 40, 1);
    fr_view_out o = {0};
    for (int i = 0; i < n; i++) {
        fr_view_key(ui, s, k[i], &o);
        fr_view_render(ui, s, &c);
    }
    if (last) *last = o;
    fr_canvas_free(&c);
}

static void test_parse_keys(void)
{
    int k[16];
    fr_err e = {0};
    int n = fr_view_parse_keys("jj<Down><F1><C-l><Tab><S-Tab><lt>x<Esc>\\t<oops", k, 16, &e);
    FR_CHECK(n == 16 && k[12] == 'o');
    FR_CHECK(k[0] == 'j' && k[2] == FR_KEY_DOWN && k[3] == FR_KEY_F(1) && k[4] == 12 && k[5] == '\t');
    FR_CHECK(k[6] == FR_KEY_BTAB && k[7] == '<' && k[8] == 'x' && k[9] == 27 && k[10] == '\t' && k[11] == '<');
    FR_CHECK(fr_view_parse_keys("<Bogus>", k, 16, &e) < 0 && e.code == FR_EINPUT && strstr(e.msg, "Bogus"));
}

static void test_selection(void)
{
    fr_ui ui;
    fr_ui_init(&ui, 1, 0);
    fr_view_out o;
    key(&ui, S, "", &o);
    fr_canvas c;
    fr_canvas_init(&c, 100, 30, 1);
    fr_view_render(&ui, S, &c);
    FR_CHECK(ui.sel_unit == 5);                 /* follows the running unit */
    key(&ui, S, "k", &o);
    FR_CHECK(ui.sel_unit == 4 && !ui.follow_run);
    key(&ui, S, "jjn", &o);
    FR_CHECK(ui.sel_unit == 7);
    key(&ui, S, "NN<Up>", &o);
    FR_CHECK(ui.sel_unit == 4);
    key(&ui, S, "G", &o);
    FR_CHECK(ui.sel_unit == 11);
    key(&ui, S, "gg", &o);
    FR_CHECK(ui.sel_unit == 0);
    key(&ui, S, "g", &o);                       /* half of gg does nothing yet */
    FR_CHECK(ui.sel_unit == 0 && ui.pending_g);
    key(&ui, S, "x", &o);                       /* unknown keys do nothing */
    FR_CHECK(ui.sel_unit == 0 && !ui.pending_g && o.n_cmds == 0 && !o.quit);
    key(&ui, S, "jjj]", &o);
    FR_CHECK(ui.sel_unit == 3 && ui.sel_layer == 1);
    key(&ui, S, "]", &o);
    FR_CHECK(ui.sel_layer == 0);
    key(&ui, S, "u", &o);
    fr_view_render(&ui, S, &c);
    FR_CHECK(ui.sel_unit == 5 && ui.follow_run);
    /* heatmap cursor: focus it, move, zoom */
    key(&ui, S, "<Tab><Tab>", &o);
    FR_CHECK(ui.focus == FR_L_HEAT);
    key(&ui, S, "+++lljj", &o);
    FR_CHECK(ui.heat_zoom == 3 && ui.cur_c > 0 && ui.cur_r > 0 && ui.sel_unit == 5);
    key(&ui, S, "G", &o);
    fr_view_render(&ui, S, &c);
    FR_CHECK(ui.cur_r == 63 && ui.cur_c == 287);   /* clamped to the 64 x 288 unfolded kernel */
    key(&ui, S, "0gg", &o);
    FR_CHECK(ui.heat_zoom == 0 && ui.cur_r == 0 && ui.cur_c == 0);
    key(&ui, S, "v", &o);
    FR_CHECK(ui.heat_qty == FR_HQ_SCOMB);
    key(&ui, S, "vv", &o);
    FR_CHECK(ui.heat_qty == FR_HQ_S2);            /* h(V) absent for FlexRound: skipped */
    fr_canvas_free(&c);
    fr_ui_free(&ui);
}

static void test_commands(void)
{
    fr_ui ui;
    fr_ui_init(&ui, 1, 0);
    fr_view_out o;
    key(&ui, S, "p", &o);
    FR_CHECK(o.n_cmds == 1 && o.cmd[0].type == FR_CMD_PAUSE);
    S->status = FR_RUN_PAUSED;
    key(&ui, S, "<F9>", &o);
    FR_CHECK(o.n_cmds == 1 && o.cmd[0].type == FR_CMD_RESUME);
    S->status = FR_RUN_RUNNING;
    key(&ui, S, "o", &o);
    FR_CHECK(o.n_cmds == 1 && o.cmd[0].type == FR_CMD_STEP_UNIT);
    key(&ui, S, "d", &o);
    FR_CHECK(o.n_cmds == 1 && o.cmd[0].type == FR_CMD_SET_STEP_MODE && o.cmd[0].arg == 1);
    key(&ui, S, "m", &o);
    FR_CHECK(o.cmd[0].type == FR_CMD_SET_METHOD && o.cmd[0].arg == FR_METHOD_RTN);
    key(&ui, S, "m", &o);
    FR_CHECK(o.cmd[0].arg == FR_METHOD_ADAROUND && ui.next_method == FR_METHOD_ADAROUND);
    key(&ui, S, "b", &o);
    FR_CHECK(o.cmd[0].type == FR_CMD_SET_BITS && o.cmd[0].arg == 5);
    key(&ui, S, "I", &o);
    FR_CHECK(o.cmd[0].type == FR_CMD_SET_ITERS && o.cmd[0].arg == 2000);
    key(&ui, S, "s", &o);
    FR_CHECK(o.cmd[0].type == FR_CMD_CHECKPOINT);
    /* restart asks first */
    key(&ui, S, "kr", &o);
    FR_CHECK(o.n_cmds == 0 && ui.confirm == FR_ACT_RESTART);
    key(&ui, S, "n", &o);
    FR_CHECK(o.n_cmds == 0 && ui.confirm == FR_ACT_NONE && ui.sel_unit == 4);   /* 'n' answered, did not move */
    key(&ui, S, "ry", &o);
    FR_CHECK(o.n_cmds == 1 && o.cmd[0].type == FR_CMD_RESTART_UNIT && o.cmd[0].arg == 4);
    /* compare: requests the other methods only when missing */
    key(&ui, S, "c", &o);
    FR_CHECK(ui.mode == FR_MODE_COMPARE && o.n_cmds == 1 && o.cmd[0].type == FR_CMD_COMPARE_UNIT && o.cmd[0].arg == 4);
    key(&ui, S, "<Esc>", &o);
    FR_CHECK(ui.mode == FR_MODE_MAIN);
    key(&ui, S, "kc", &o);
    FR_CHECK(ui.mode == FR_MODE_COMPARE && o.n_cmds == 0);   /* unit 3 has all three */
    key(&ui, S, "c", &o);
    FR_CHECK(ui.mode == FR_MODE_MAIN);
    /* export names the focused view */
    key(&ui, S, "<Tab><Tab>e", &o);
    FR_CHECK(o.export_view && strcmp(o.export_view, "heatmap") == 0 && o.export_unit == 3);
    /* quit asks while running, not when done */
    key(&ui, S, "q", &o);
    FR_CHECK(!o.quit && ui.confirm == FR_ACT_QUIT);
    key(&ui, S, "y", &o);
    FR_CHECK(o.quit && o.n_cmds == 1 && o.cmd[0].type == FR_CMD_QUIT);
    S->status = FR_RUN_DONE;
    key(&ui, S, "<F10>", &o);
    FR_CHECK(o.quit && ui.confirm == FR_ACT_NONE);
    S->status = FR_RUN_RUNNING;
    key(&ui, S, "<C-l>", &o);
    FR_CHECK(o.repaint);
    fr_ui_free(&ui);
}

static void test_readonly_and_freeze(void)
{
    fr_ui ui;
    fr_ui_init(&ui, 1, 1);
    fr_view_out o;
    const char *wk[] = {"p", "o", "d", "r", "m", "b", "I", "s"};
    for (size_t i = 0; i < sizeof wk / sizeof wk[0]; i++) {
        key(&ui, S, wk[i], &o);
        FR_CHECKF(o.n_cmds == 0 && ui.confirm == FR_ACT_NONE, "key %s", wk[i]);
    }
    FR_CHECK(strstr(ui.msg, "read-only") != NULL);
    key(&ui, S, "q", &o);
    FR_CHECK(o.quit);                           /* replay quits without asking */
    fr_ui_free(&ui);

    fr_ui_init(&ui, 1, 0);
    int refs0 = atomic_load(&S->refs);
    key(&ui, S, "f", &o);
    FR_CHECK(ui.frozen == S && atomic_load(&S->refs) == refs0 + 1);
    fr_snapshot *s2 = fixture_snapshot();
    s2->units[5]->iter = 700;
    FR_CHECK(fr_ui_snapshot(&ui, s2) == S);    /* frozen: the newer snapshot is not shown */
    key(&ui, s2, "f", &o);
    FR_CHECK(ui.frozen == NULL && atomic_load(&S->refs) == refs0 && fr_ui_snapshot(&ui, s2) == s2);
    key(&ui, s2, "f", &o);
    fr_ui_free(&ui);                            /* releases the frozen snapshot */
    FR_CHECK(atomic_load(&s2->refs) == 1);
    fr_snapshot_release(s2);
    /* help overlay swallows keys until closed */
    fr_ui_init(&ui, 1, 0);
    key(&ui, S, "?", &o);
    FR_CHECK(ui.help);
    key(&ui, S, "jp", &o);
    FR_CHECK(ui.help && o.n_cmds == 0 && ui.help_scroll == 1);
    key(&ui, S, "<Esc>", &o);
    FR_CHECK(!ui.help);
    key(&ui, S, "<F1>?", &o);
    FR_CHECK(!ui.help);
    fr_ui_free(&ui);
}

/* ---------------------------------------------------------------- golden frames */

static char *render_text(fr_snapshot *s, int cols, int rows, int utf8, int depth, const char *keys, int readonly)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    fr_dump_opts o = {utf8, depth, readonly, NULL};
    fr_err e = {0};
    int rc = fr_view_dump(s, &o, cols, rows, keys, f, &e);
    fclose(f);
    FR_CHECKF(rc == FR_OK, "%s", e.msg);
    return buf;
}

static void golden(const char *name, fr_snapshot *s, int cols, int rows, int utf8, int depth, const char *keys, int ro)
{
    char *got = render_text(s, cols, rows, utf8, depth, keys, ro);
    char path[256];
    snprintf(path, sizeof path, "tests/golden/%s.txt", name);
    const char *upd = getenv("FRTUI_UPDATE_GOLDEN");
    if (upd && *upd == '1') {
        FILE *f = fopen(path, "wb");
        FR_CHECKF(f != NULL, "cannot write %s", path);
        if (f) { fputs(got, f); fclose(f); }
        free(got);
        return;
    }
    uint8_t *want = NULL;
    size_t wn = 0;
    fr_err e = {0};
    int rc = fr_read_file(path, 1 << 24, &want, &wn, &e);
    FR_CHECKF(rc == FR_OK, "%s (run with FRTUI_UPDATE_GOLDEN=1 to create)", e.msg);
    if (rc == FR_OK) {
        int same = wn == strlen(got) && memcmp(want, got, wn) == 0;
        FR_CHECKF(same, "%s differs from the rendered frame", path);
        if (!same) {
            /* first differing line, for the log */
            const char *a = (const char *)want, *b = got;
            int line = 1;
            while (*a && *a == *b) { if (*a == '\n') line++; a++; b++; }
            printf("  first difference at line %d\n", line);
        }
    }
    free(want);
    free(got);
    /* invariants of every frame: exact size; ASCII frames are pure ASCII */
}

static void check_frame_shape(int cols, int rows, int utf8)
{
    char *t = render_text(S, cols, rows, utf8, 0, "", 0);
    int lines = 0, maxw = 0, w = 0, ascii = 1;
    for (const char *p = t; *p;) {
        if (*p == '\n') { lines++; maxw = w > maxw ? w : maxw; w = 0; p++; continue; }
        if ((unsigned char)*p >= 128) ascii = 0;
        fr_utf8_decode(&p);
        w++;
    }
    FR_CHECKF(lines == rows && maxw <= cols, "%dx%d: %d lines, widest %d", cols, rows, lines, maxw);
    if (!utf8) FR_CHECK(ascii);
    free(t);
}

/* Issue 13 §2: the RTN panel of the compare view said "aggr 0.0%" while its scatter drew the
 * clipped weights (shift out to +-4) in the aggressive colour.  Now the colours are the
 * quantizer's classes: RTN shows no aggressive colour, its clipped weights have their own. */
static int is_orange(uint32_t fg)
{
    unsigned r = (fg >> 16) & 255, g = (fg >> 8) & 255, b = fg & 255;
    return (fg >> 24) == FR_COL_TAG_RGB && r > b + 60 && r > g + 30;
}
static int is_purple(uint32_t fg)
{
    unsigned r = (fg >> 16) & 255, g = (fg >> 8) & 255, b = fg & 255;
    return (fg >> 24) == FR_COL_TAG_RGB && b > g + 30 && r > g + 15;
}

static void test_compare_classes(void)
{
    fr_ui ui;
    fr_ui_init(&ui, 1, 0);
    fr_view_out o;
    key(&ui, S, "kkc", &o);
    FR_CHECK(ui.mode == FR_MODE_COMPARE && ui.sel_unit == 3);
    const fr_layer_view *R = &S->units[3]->alt[FR_METHOD_RTN]->layers[0];
    FR_CHECK(R->st.aggressive == 0 && R->st.clipped > 0);
    fr_canvas c;
    fr_canvas_init(&c, 160, 48, 1);
    fr_view_render(&ui, S, &c);
    /* the RTN panel spans the columns left of the AdaRound panel's title */
    int xa = -1, ytext = -1;
    for (int y = 0; y < c.rows && xa < 0; y++)
        for (int x = 0; x + 8 < c.cols && xa < 0; x++) {
            const fr_cell *a = fr_canvas_at(&c, x, y);
            /* the panel's title ("╭ AdaRound"), not the loss overlay's legend above it */
            if (a->cp == 'A' && fr_canvas_at(&c, x + 1, y)->cp == 'd' && fr_canvas_at(&c, x + 2, y)->cp == 'a' && x >= 2 &&
                fr_canvas_at(&c, x - 2, y)->cp == 0x256D)
                xa = x, ytext = y + 1;
        }
    FR_CHECK(xa > 20);
    int xr = -1, yend = -1;   /* the RTN title on the same row; the scatter ends at "shift heatmap" */
    for (int x = 0; x + 3 < xa && xr < 0; x++)
        if (fr_canvas_at(&c, x, ytext - 1)->cp == 'R' && fr_canvas_at(&c, x + 1, ytext - 1)->cp == 'T' &&
            fr_canvas_at(&c, x + 2, ytext - 1)->cp == 'N')
            xr = x;
    for (int y = ytext + 1; y < c.rows && yend < 0; y++)
        if (fr_canvas_at(&c, xr - 1, y)->cp == 's' && fr_canvas_at(&c, xr, y)->cp == 'h') yend = y;
    FR_CHECK(xr > 0 && yend > ytext + 4);
    int orange = 0, purple = 0;
    char row[400] = "";
    for (int y = ytext; y < ytext + 2; y++)
        for (int x = xr - 1; x < xa - 2; x++) {
            uint32_t cp = fr_canvas_at(&c, x, y)->cp;
            size_t l = strlen(row);
            if (l < sizeof row - 1) row[l] = (char)(cp < 128 ? cp : '?');
        }
    for (int y = ytext + 2; y < yend; y++)   /* below the legend row */
        for (int x = xr; x < xa - 2; x++) {
            const fr_cell *a = fr_canvas_at(&c, x, y);
            if (a->cp == ' ') continue;
            orange += is_orange(a->fg);
            purple += is_purple(a->fg);
        }
    FR_CHECKF(orange == 0, "RTN panel: %d cells in the aggressive colour", orange);
    FR_CHECKF(purple > 0, "RTN panel: no clipped points drawn");
    FR_CHECKF(strstr(row, "aggr 0.00%") && strstr(row, "clipped "), "RTN panel text '%s'", row);
    fr_canvas_free(&c);
}

static void test_golden(void)
{
    golden("main_100x30_utf8", S, 100, 30, 1, 0, "", 0);
    golden("main_100x30_ascii", S, 100, 30, 0, 0, "", 0);
    golden("main_160x48_utf8", S, 160, 48, 1, 0, "", 0);
    golden("main_160x48_ascii", S, 160, 48, 0, 0, "", 0);
    golden("heat_cursor_120x36_utf8", S, 120, 36, 1, 0, "<Tab><Tab>++llljjjv", 0);
    golden("compare_160x48_utf8", S, 160, 48, 1, 0, "kkc", 0);
    golden("recip_120x36_utf8", S, 120, 36, 1, 0, "R", 0);
    golden("help_100x30_utf8", S, 100, 30, 1, 0, "?", 0);
    golden("explain_loss_100x34_utf8", S, 100, 34, 1, 0, "<Tab>iy", 0);
    golden("pending_replay_100x30_utf8", S, 100, 30, 1, 0, "jj", 1);
    golden("too_small_70x20", S, 70, 20, 1, 0, "", 0);
    golden("main_100x30_256", S, 100, 30, 1, 256, "", 0);
    for (int w = 80; w <= 240; w += 40)
        for (int h = 24; h <= 72; h += 12) {
            check_frame_shape(w, h, 1);
            check_frame_shape(w, h, 0);
        }
}

static void test_bench_helper(void)
{
    double ms = fr_view_bench_frame(S, 200, 60, 1, 3);
    FR_CHECK(ms > 0 && ms < 1000);
    printf("  frame 200x60: %.3f ms (measured, not asserted)\n", ms);
}

static void test_mouse_and_smoothing(void)
{
    fr_ui ui;
    fr_ui_init(&ui, 1, 0);
    fr_canvas c;
    fr_canvas_init(&c, 100, 30, 1);
    fr_view_render(&ui, S, &c);
    fr_view_out o;
    /* function bar: the "Pause" label acts as p */
    int px = -1;
    for (int i = 0; i < ui.n_bar; i++) if (ui.bar[i].key == 'p') px = ui.bar[i].x0 + 1;
    FR_CHECK(px > 0 && fr_view_bar_key_at(&ui, px) == 'p');
    fr_view_click(&ui, S, px, 29, &o);
    FR_CHECK(o.n_cmds == 1 && o.cmd[0].type == FR_CMD_PAUSE);
    /* click on the third unit row selects unit 2 and focuses the list */
    fr_view_click(&ui, S, 5, 1 + 2 + 2, &o);
    FR_CHECK(ui.sel_unit == 2 && ui.focus == FR_L_LIST && !ui.follow_run);
    fr_view_render(&ui, S, &c);
    /* click inside the heatmap image moves the cursor there */
    fr_rect m = ui.heat_map;
    fr_view_click(&ui, S, m.x + m.w - 1, m.y + m.h - 1, &o);
    FR_CHECK(ui.focus == FR_L_HEAT && ui.cur_r > 0 && ui.cur_c > 0);
    fr_view_click(&ui, S, m.x, m.y, &o);
    FR_CHECK(ui.cur_r == 0 && ui.cur_c == 0);
    /* smoothing ladder, capped at FR_SMOOTH_MAX */
    key(&ui, S, "}}}}}}}}}}", &o);
    FR_CHECK(ui.smooth == FR_SMOOTH_MAX);
    key(&ui, S, "{{{{{{{{{{{{", &o);
    FR_CHECK(ui.smooth == 0);
    fr_canvas_free(&c);
    fr_ui_free(&ui);
}


/* What you see is what you export (issue 12 §3): for every view, the model the panel draws
 * from and the model `e` hands to the PNG renderer are the same (ranges, smoothing, axes,
 * classes, window), and the PNG renderer draws exactly those ranges. */
static void same_model(const fr_plot_model *a, const fr_plot_model *b, const char *view)
{
    FR_CHECKF(a->kind == b->kind && a->logy == b->logy && a->abs_x == b->abs_x && a->band == b->band, "%s", view);
    FR_CHECKF(a->xmin == b->xmin && a->xmax == b->xmax && a->ymin == b->ymin && a->ymax == b->ymax,
              "%s: ranges [%g,%g]x[%g,%g] vs [%g,%g]x[%g,%g]", view, a->xmin, a->xmax, a->ymin, a->ymax, b->xmin,
              b->xmax, b->ymin, b->ymax);
    FR_CHECKF(a->smooth == b->smooth && a->win_a == b->win_a && a->win_b == b->win_b && a->n_loss == b->n_loss, "%s", view);
    if (a->n_loss) FR_CHECKF(a->ema[a->n_loss - 1] == b->ema[b->n_loss - 1], "%s: EMA", view);
    FR_CHECKF(a->n_series == b->n_series, "%s", view);
    for (int k = 0; k < a->n_series; k++) {
        FR_CHECKF(a->series[k].n == b->series[k].n && a->series[k].cls == b->series[k].cls, "%s series %d", view, k);
        for (int c = 0; c < FR_WC__COUNT; c++)
            FR_CHECKF(a->series[k].class_count[c] == b->series[k].class_count[c], "%s series %d class %d", view, k, c);
    }
    FR_CHECKF(a->rows == b->rows && a->cols == b->cols && a->r0 == b->r0 && a->c0 == b->c0 && a->heat_mode == b->heat_mode &&
                  a->heat_range == b->heat_range,
              "%s: heatmap window %dx%d@%d,%d vs %dx%d@%d,%d", view, a->rows, a->cols, a->r0, a->c0, b->rows, b->cols, b->r0,
              b->c0);
}

static void export_matches(fr_ui *ui, int focus, const char *keys, const char *view)
{
    fr_canvas c;
    fr_canvas_init(&c, 160, 48, 1);
    fr_view_out o;
    key(ui, S, keys, &o);
    ui->focus = focus;
    fr_view_render(ui, S, &c);
    fr_view_key(ui, S, 'e', &o);
    FR_CHECKF(o.export_view && strcmp(o.export_view, view) == 0, "%s: export of %s", view, o.export_view);
    fr_plot_model shown, exported;
    fr_err e = {0};
    FR_CHECKF(fr_view_panel_model(ui, S, view, &shown, &e) == FR_OK, "%s: %s", view, e.msg);
    FR_CHECKF(fr_plot_model_build(S, o.export_unit, o.export_layer, o.export_view, &o.export_state, &exported, &e) == FR_OK,
              "%s: %s", view, e.msg);
    same_model(&shown, &exported, view);
    /* the pixel renderer draws the model's ranges, not its own */
    fr_raster r;
    fr_plot_geom g[3];
    FR_CHECKF(fr_plot_model_render_png(&r, &exported, g, &e) == FR_OK, "%s: %s", view, e.msg);
    if (exported.kind != FR_PLOT_HEAT && exported.kind != FR_PLOT_HIST)
        FR_CHECKF(g[0].xmin == exported.xmin && g[0].xmax == exported.xmax && g[0].ymin == exported.ymin &&
                      g[0].ymax == exported.ymax && g[0].logy == exported.logy,
                  "%s: PNG axes [%g,%g]x[%g,%g] log %d", view, g[0].xmin, g[0].xmax, g[0].ymin, g[0].ymax, g[0].logy);
    if (exported.kind == FR_PLOT_HEAT) FR_CHECK(g[0].xmax == exported.cols && g[0].ymax == exported.rows);
    fr_raster_free(&r);
    fr_plot_model_free(&shown);
    fr_plot_model_free(&exported);
    fr_canvas_free(&c);
}

static void test_export_is_the_panel(void)
{
    fr_ui ui;
    fr_ui_init(&ui, 1, 0);
    /* loss of the running unit: linear axis, the user's smoothing 0.98, zoomed window */
    export_matches(&ui, FR_L_LOSS, "}<Tab>+", "loss");
    FR_CHECK(!ui.loss_logy && ui.smooth == 0.98 && ui.loss_zoom == 1);
    fr_plot_model m;
    fr_err e = {0};
    fr_view_out o;
    fr_view_key(&ui, S, 'e', &o);
    FR_CHECK(fr_plot_model_build(S, o.export_unit, o.export_layer, "loss", &o.export_state, &m, &e) == FR_OK);
    FR_CHECK(!m.logy && m.smooth == 0.98 && m.win_b - m.win_a == 500);   /* not log-y, not EMA 0.9, not all 1000 */
    fr_plot_model_free(&m);
    export_matches(&ui, FR_L_LOSS, "y", "loss");                   /* and log when the panel is log */
    export_matches(&ui, FR_L_SCATTER, "", "scatter");
    export_matches(&ui, FR_L_SCATTER, "a", "scatter");             /* signed W */
    export_matches(&ui, FR_L_HIST, "", "hist");
    export_matches(&ui, FR_L_HEAT, "", "heatmap");
    export_matches(&ui, FR_L_HEAT, "++lljj", "heatmap");           /* the zoomed window */
    export_matches(&ui, FR_L_HEAT, "vv", "heatmap");               /* another quantity, linear scale */
    export_matches(&ui, FR_L_SCATTER, "R", "reciprocal");
    key(&ui, S, "<Esc>", &o);
    ui.sel_unit = 3;   /* the unit with all three methods */
    ui.follow_run = 0;
    export_matches(&ui, FR_L_CMP1, "c", "compare");
    fr_ui_free(&ui);
}

/* ---------------------------------------------------------------- issue 13 §3: what ran */

/* Line y (0-based) of a rendered text frame, copied into buf. */
static const char *frame_line(const char *t, int y, char *buf, size_t n)
{
    for (int k = 0; k < y && t; k++) {
        t = strchr(t, '\n');
        if (t) t++;
    }
    size_t len = t ? strcspn(t, "\n") : 0;
    if (len >= n) len = n - 1;
    if (t) memcpy(buf, t, len);
    buf[len] = 0;
    return buf;
}

static void test_shows_what_ran(void)
{
    char line[1024];
    /* real widths: the first and last layers ran at 8 bits; Stats, list and header say so */
    char *t = render_text(S, 100, 30, 0, 0, "G", 0);
    FR_CHECKF(strstr(t, "|unit   fc  pending") && strstr(t, "runs   flexround W8, 1000 it"), "%s", t);
    FR_CHECKF(strstr(t, "fc W8") != NULL, "narrow list marks the 8-bit unit:\n%s", t);
    free(t);
    t = render_text(S, 100, 30, 0, 0, "gg", 0);
    FR_CHECKF(strstr(t, "method flexround W8 1000/") && strstr(t, "layer  conv1 W8"), "%s", t);
    free(t);
    t = render_text(S, 160, 48, 0, 0, "", 0);
    FR_CHECKF(strstr(t, "conv1             W8 ") && strstr(t, "flexround W4/A8, ends W8"), "wide list has a bits column; header names the 8-bit ends:\n%s", t);
    free(t);

    /* after a FlexRound run, m changes the next run, not the header */
    fr_method was = S->info.method;
    S->info.method = FR_METHOD_RTN;   /* what the worker does with FR_CMD_SET_METHOD */
    t = render_text(S, 120, 30, 0, 0, "m", 0);
    FR_CHECKF(strstr(frame_line(t, 0, line, sizeof line), "flexround W4") && !strstr(line, " rtn "), "header: %s", line);
    FR_CHECKF(strstr(frame_line(t, 28, line, sizeof line), "next run: adaround"), "status: %s", line);
    free(t);
    S->info.method = was;
    fr_ui ui;
    fr_view_out o;

    /* a pending unit shows "pending" and its settings, no invented method, count or RTN 0 */
    double rtn = S->units[7]->loss_rtn;
    S->units[7]->loss_rtn = 0;
    t = render_text(S, 100, 30, 0, 0, "jj", 0);   /* unit 8 of 12, pending */
    FR_CHECKF(strstr(t, "unit   layer4.0  pending") && !strstr(t, "W4 0/1000") && !strstr(t, "rtn W4") && !strstr(t, "RTN    0"), "%s", t);
    FR_CHECKF(strstr(t, "pending: will run ") && strstr(t, " flexround W4, 1000 it "), "%s", t);
    free(t);
    S->units[7]->loss_rtn = rtn;

    /* paused / finished runs have no rate or ETA; an idle run has no elapsed time */
    fr_run_status st = S->status;
    static const fr_run_status quiet[] = {FR_RUN_PAUSED, FR_RUN_DONE};
    for (int k = 0; k < 2; k++) {
        S->status = quiet[k];
        t = render_text(S, 160, 48, 0, 0, "", 0);
        FR_CHECKF(!strstr(frame_line(t, 0, line, sizeof line), "it/s") && !strstr(line, "ETA"), "%s", line);
        free(t);
    }
    double el = S->elapsed_s;
    S->status = FR_RUN_IDLE;
    S->elapsed_s = 123456;   /* a worker that never started measured from boot */
    t = render_text(S, 160, 48, 0, 0, "", 0);
    FR_CHECKF(!strstr(t, "elapsed"), "%s", frame_line(t, 46, line, sizeof line));
    free(t);
    S->elapsed_s = el;

    /* p / o after DONE: no command, and no "pausing" */
    S->status = FR_RUN_DONE;
    fr_ui_init(&ui, 0, 0);
    fr_view_key(&ui, S, 'p', &o);
    FR_CHECKF(o.n_cmds == 0 && !strstr(ui.msg, "pausing") && strstr(ui.msg, "finished"), "%s", ui.msg);
    fr_view_key(&ui, S, 'o', &o);
    FR_CHECKF(o.n_cmds == 0 && !strstr(ui.msg, "step:") && strstr(ui.msg, "finished"), "%s", ui.msg);
    S->status = st;
    /* numbers a person reads count from 1 */
    key(&ui, S, "ggjjjr", &o);
    FR_CHECKF(strstr(ui.msg, "Restart unit 4 ") != NULL, "%s", ui.msg);
    key(&ui, S, "y", &o);
    /* the command carries the 0-based index; the worker's reply ("restarted ...") is the feedback */
    FR_CHECKF(o.n_cmds == 1 && o.cmd[0].type == FR_CMD_RESTART_UNIT && o.cmd[0].arg == 3, "%d", o.n_cmds);
    fr_ui_free(&ui);

    /* unit names: blocks by their block, cut in the middle, never five "block:laye" */
    t = render_text(S, 80, 24, 0, 0, "", 0);
    FR_CHECKF(!strstr(t, "block:") && strstr(t, "layer1.0 ") && strstr(t, "layer1.1 ") && strstr(t, "layer2.0 "), "%s", t);
    free(t);
    char b[64];
    fr_view_fit_middle("layer2.0.conv1", 9, 0, b, sizeof b);
    FR_CHECKF(strcmp(b, "laye~onv1") == 0, "%s", b);
    fr_view_fit_middle("layer2.0.conv1", 9, 1, b, sizeof b);
    FR_CHECKF(strcmp(b, "laye\u2026onv1") == 0, "%s", b);
    fr_view_unit_label(S, 3, 40, 0, b, sizeof b);
    FR_CHECKF(strcmp(b, "layer2.0") == 0, "%s", b);
    /* two blocks that would get the same name keep their full names */
    char keep[96];
    snprintf(keep, sizeof keep, "%s", S->units[2]->layers[0].name);
    snprintf(S->units[2]->layers[0].name, sizeof S->units[2]->layers[0].name, "layer1.0.conv7");
    snprintf(S->units[2]->layers[1].name, sizeof S->units[2]->layers[1].name, "layer1.0.conv8");
    fr_view_unit_label(S, 1, 40, 0, b, sizeof b);
    FR_CHECKF(strcmp(b, "layer1.0.conv1") == 0, "%s", b);
    snprintf(S->units[2]->layers[0].name, sizeof S->units[2]->layers[0].name, "%s", keep);
    snprintf(S->units[2]->layers[1].name, sizeof S->units[2]->layers[1].name, "layer1.1.conv2");
}

int main(void)
{
    S = fixture_snapshot();
    FR_RUN(test_parse_keys);
    FR_RUN(test_selection);
    FR_RUN(test_commands);
    FR_RUN(test_readonly_and_freeze);
    FR_RUN(test_mouse_and_smoothing);
    FR_RUN(test_export_is_the_panel);
    FR_RUN(test_shows_what_ran);
    FR_RUN(test_compare_classes);
    FR_RUN(test_golden);
    FR_RUN(test_bench_helper);
    fr_snapshot_release(S);
    return FR_REPORT();
}
