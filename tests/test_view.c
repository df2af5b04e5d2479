/* test_view.c — inspector state machine, key scripts and golden frames (hand-built snapshots).
 *
 * Golden frames live in tests/golden/NAME.txt (run from the repository root, as `make test`
 * does).  FRTUI_UPDATE_GOLDEN=1 rewrites them; inspect the diff before committing. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fr_test.h"
#include "frtui/heatagg.h"
#include "frtui/raster.h"
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
    key(&ui, S, "v", &o);
    FR_CHECK(ui.heat_qty == FR_HQ_SHIFT);
    key(&ui, S, "v", &o);
    FR_CHECK(ui.heat_qty == FR_HQ_SHIFT_MEAN);    /* the aggregate view comes after the shift */
    FR_CHECK(strstr(ui.msg, "mean |shift| per tile") != NULL);
    key(&ui, S, "v", &o);
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

/* The line of t that contains `a` also contains `b`. */
static int line_has(const char *t, const char *a, const char *b)
{
    const char *p = strstr(t, a);
    if (!p) return 0;
    const char *s = p, *e = strchr(p, '\n');
    while (s > t && s[-1] != '\n') s--;
    if (!e) e = p + strlen(p);
    const char *q = strstr(s, b);
    return q && q < e;
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

/* On a language model the explain box speaks of decoder blocks, heads and perplexity; on the
 * CNN fixture it does not (issue 16, item 7). */
/* The aggregate heatmap on screen: `v` reaches mean |shift|, the panel and the status line say
 * which aggregate and which tile, the readout gives the cursor tile's value, and the cursor
 * steps by whole tiles. */
static void test_heat_aggregate_view(void)
{
    fr_ui ui;
    fr_ui_init(&ui, 1, 0);
    fr_view_out o;
    key(&ui, S, "<Tab><Tab>vvv", &o);
    FR_CHECK(ui.heat_qty == FR_HQ_SHIFT_MEAN && ui.focus == FR_L_HEAT);
    fr_canvas c;
    fr_canvas_init(&c, 160, 48, 1);
    fr_view_render(&ui, S, &c);
    char want[64];
    snprintf(want, sizeof want, "mean |shift| per %dx%d tile", ui.heat_wpp_r, ui.heat_wpp_c);
    FR_CHECK(ui.heat_wpp_r > 1 && ui.heat_wpp_c > 1);
    char *t = render_text(S, 160, 48, 1, 0, "<Tab><Tab>vvv", 0);
    FR_CHECKF(t && strstr(t, want), "no '%s' in the frame", want);
    FR_CHECKF(t && strstr(t, "heatmap: mean |shift| per tile"), "status line");
    FR_CHECKF(t && strstr(t, "tile 0."), "the cursor tile's value in the readout");
    free(t);
    /* the cursor moves a whole tile per key */
    key(&ui, S, "j", &o);
    FR_CHECK(ui.cur_r == ui.heat_wpp_r);
    /* the shift quantity before it is the max |shift| per tile (sign kept), and says so */
    t = render_text(S, 160, 48, 1, 0, "<Tab><Tab>vv", 0);
    FR_CHECKF(t && strstr(t, "max |shift| per ") && strstr(t, "heatmap: shift, max |shift| per tile"), "shift label");
    free(t);
    /* narrow terminal: the short form */
    t = render_text(S, 100, 30, 1, 0, "<Tab><Tab>vvv", 0);
    FR_CHECKF(t && strstr(t, "mean|shift| "), "short label");
    free(t);
    fr_canvas_free(&c);
    fr_ui_free(&ui);
}

static void export_matches(fr_ui *ui, int focus, const char *keys, const char *view);

/* The channel view (W) of fc1 (64 x 64 linear): with the fixture's weights (clipped rays, but
 * no channel 6x the median) it lists no outlier; with one weight planted at row 37, column 12
 * at 10x the layer's max it lists exactly row 37 and input channel 12, with their numbers. */
static void test_channel_view(void)
{
    const char *keys = "nnnnnW";   /* from the running unit 5 to fc1 (unit 10), then W */
    const fr_layer_view *L = &S->units[10]->layers[0];
    FR_CHECK(strcmp(L->name, S->units[10]->layers[0].name) == 0 && L->o == 64 && L->n == 64 * 64);
    char *t = render_text(S, 120, 40, 1, 0, keys, 0);
    FR_CHECKF(t && strstr(t, "Channels of") && strstr(t, "out ch (rows): 64, no outliers") && strstr(t, "in ch (cols): 64, no outliers"),
              "%s", t ? t : "");
    FR_CHECK(t && strstr(t, "]Layer") && strstr(t, "WHeatmap"));   /* the footer hints of the view */
    free(t);
    float *w = (float *)L->w, amax = 0;
    for (int64_t i = 0; i < L->n; i++) amax = fmaxf(amax, fabsf(w[i]));
    float keep = w[37 * 64 + 12];
    w[37 * 64 + 12] = -10 * amax;
    t = render_text(S, 120, 40, 1, 0, keys, 0);
    /* the PNG of the same model: channel 37's bar orange, its neighbour's blue (pngchan.c) */
    fr_plot_model m;
    fr_err e = {0};
    FR_CHECKF(fr_plot_model_build(S, 10, 0, "channels", NULL, &m, &e) == FR_OK, "%s", e.msg);
    FR_CHECK(m.kind == FR_PLOT_CHAN && m.chan && m.chan->row.n_out == 1 && m.chan->row.out[0] == 37 && m.chan_group == 1);
    fr_raster r;
    fr_plot_geom g;
    FR_CHECKF(fr_plot_model_render_png(&r, &m, &g, &e) == FR_OK, "%s", e.msg);
    fr_rgb hot = fr_raster_get(&r, g.x0 + 37 * g.w / 64 + 3, g.y0 + g.h - 2), cold = fr_raster_get(&r, g.x0 + 36 * g.w / 64 + 3, g.y0 + g.h - 2);
    FR_CHECKF(hot.r == 255 && hot.g == 127 && hot.b == 14 && cold.r == 31 && cold.b == 180, "bars %d,%d,%d / %d,%d,%d", hot.r,
              hot.g, hot.b, cold.r, cold.g, cold.b);
    fr_raster_free(&r);
    fr_plot_model_free(&m);
    w[37 * 64 + 12] = keep;
    FR_CHECKF(t && strstr(t, "out ch (rows): 64, 1 outlier") && strstr(t, "in ch (cols): 64, 1 outlier"), "%s", t ? t : "");
    char row[64], col[64], mw[24];
    fr_plot_fmt(mw, sizeof mw, 10 * amax);
    snprintf(row, sizeof row, "%7d %8s", 37, mw);
    snprintf(col, sizeof col, "%7d %8s", 12, mw);
    FR_CHECKF(t && strstr(t, row) && strstr(t, col), "'%s' / '%s' not listed", row, col);
    free(t);
    /* e exports the view's model; Esc (or W again) goes back to the heatmap */
    fr_ui ui;
    fr_ui_init(&ui, 1, 0);
    fr_view_out o;
    export_matches(&ui, FR_L_SCATTER, "W", "channels");
    FR_CHECK(ui.mode == FR_MODE_CHAN && strcmp(fr_view_focus_name(&ui), "channels") == 0);
    key(&ui, S, "<Esc>", &o);
    FR_CHECK(ui.mode == FR_MODE_MAIN);
    key(&ui, S, "WW", &o);
    FR_CHECK(ui.mode == FR_MODE_MAIN);
    fr_ui_free(&ui);
}

static void test_explain_llm(void)
{
    char *cnn = render_text(S, 120, 40, 1, 0, "i", 0);
    S->info.lm_vocab = 256;
    char *list = render_text(S, 120, 40, 1, 0, "i", 0), *heat = render_text(S, 120, 40, 1, 0, "<Tab><Tab>i", 0);
    S->info.lm_vocab = 0;
    FR_CHECK(cnn && !strstr(cnn, "decoder block") && strstr(cnn, "reconstruction unit"));
    FR_CHECKF(list && strstr(list, "decoder block") && strstr(list, "perplexity"), "%s", list ? list : "");
    FR_CHECKF(heat && strstr(heat, "attention heads"), "%s", heat ? heat : "");
    free(cnn), free(list), free(heat);
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
    FR_CHECKF(a->heat_agg == b->heat_agg && a->tile_r == b->tile_r && a->tile_c == b->tile_c, "%s: tiles %dx%d vs %dx%d", view,
              a->tile_r, a->tile_c, b->tile_r, b->tile_c);
    FR_CHECKF(!a->chan == !b->chan && (!a->chan || (a->chan->row.n_out == b->chan->row.n_out && a->chan->col.n_out == b->chan->col.n_out &&
                                                    a->chan->row.thresh == b->chan->row.thresh)),
              "%s: channel statistics", view);
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
    if (exported.kind != FR_PLOT_HEAT && exported.kind != FR_PLOT_HIST && exported.kind != FR_PLOT_CHAN)
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
    export_matches(&ui, FR_L_HEAT, "v0", "heatmap");               /* mean |shift| in the panel's tiles */
    {
        fr_view_key(&ui, S, 'e', &o);
        FR_CHECK(fr_plot_model_build(S, o.export_unit, o.export_layer, "heatmap", &o.export_state, &m, &e) == FR_OK);
        FR_CHECKF(m.heat_agg == FR_HAGG_MEAN_ABS && m.tile_r == ui.heat_wpp_r && m.tile_c == ui.heat_wpp_c && m.tile_r > 1,
                  "tiles %dx%d, panel %dx%d", m.tile_r, m.tile_c, ui.heat_wpp_r, ui.heat_wpp_c);
        fr_plot_model_free(&m);
    }
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
    FR_CHECKF(line_has(t, "|+ conv1 ", " W8 ") && line_has(t, "|  unit ", " bits ") && strstr(t, "flexround W4/A8, ends W8"),
              "wide list has a bits column; header names the 8-bit ends:\n%s", t);
    free(t);

    /* the header's fidelity: a cosine, and the count of samples whose quantized feature died
     * (a bare "cos 0.000" would not say that the features are all zeros) */
    fr_fid_view fid0 = S->fid;
    S->fid = (fr_fid_view){.n = 256, .dim = 1280, .cos = 0.8078, .rel_mse = 0.4, .agree = 0.73};
    t = render_text(S, 200, 48, 0, 0, "", 0);
    FR_CHECKF(strstr(t, " feature cos 0.808 ") && !strstr(t, "dead"), "%s", t);
    free(t);
    S->fid.cos = 0, S->fid.zero_q = 256;
    t = render_text(S, 200, 48, 0, 0, "", 0);
    FR_CHECKF(strstr(t, " feature cos 0.000, 256/256 dead ") != NULL, "%s", t);
    free(t);
    S->fid = fid0;

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


/* ---------------------------------------------------------------- the teaching layer (issue 18) */

static char *frame_text(fr_ui *ui, fr_snapshot *s, int cols, int rows, int utf8)
{
    fr_canvas c;
    fr_canvas_init(&c, cols, rows, utf8);
    fr_view_render(ui, s, &c);
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    fr_text_opts to = {0, NULL, 0};
    fr_canvas_write(&c, f, &to);
    fclose(f);
    fr_canvas_free(&c);
    return buf;
}

/* The number after `key` in t (the first occurrence at or after `from`), NAN when absent. */
static double num_after(const char *t, const char *key)
{
    const char *p = strstr(t, key);
    return p ? strtod(p + strlen(key), NULL) : NAN;
}

/* §1: the strip's numbers against an independent computation from the same weights, on a
 * large weight that FlexRound moved two grid steps from RTN while AdaRound kept it next to W. */
static void test_equation_strip(void)
{
    const fr_unit_view *U = S->units[3];
    const fr_layer_view *L = &U->layers[0], *A = &U->alt[FR_METHOD_ADAROUND]->layers[0];
    int cols = (int)(L->n / L->o), khw = L->kh * L->kw;
    int64_t pick = -1;
    for (int64_t k = 0; k < L->n && pick < 0; k++) {
        double u1 = (double)L->w[k] / L->s1[0];
        double fl = floor(u1), ada = fmin(7, fmax(-8, fl + (A->h[k] >= 0.5f)));
        int rtn = (int)fmin(7, fmax(-8, rint(u1)));
        if (fabs(u1) < 6.5 && fabs(L->code[k] - rtn) >= 2 && ada >= fl && ada <= fl + 1) pick = k;
    }
    FR_CHECKF(pick >= 0, "the fixture has no weight FlexRound moved two steps");
    if (pick < 0) return;
    int r = (int)(pick / cols), col = (int)(pick % cols), ic = col / khw;
    fr_ui ui;
    fr_ui_init(&ui, 0, 0);
    fr_view_out o;
    key(&ui, S, "kkE", &o);
    FR_CHECK(ui.sel_unit == 3 && ui.eqn);
    ui.cur_r = r, ui.cur_c = col;
    char *t = frame_text(&ui, S, 200, 50, 0);
    /* independently: the quotient, its rounding and clamp, RTN's code, the shift, the class */
    double W = L->w[pick], s1 = L->s1[0], S2 = L->s2[pick], s3 = L->s3[r], s4 = L->s4[ic];
    double v = W / (s1 * S2 * s3 * s4), u1 = W / s1;
    int code = (int)fmin(7, fmax(-8, rint(v))), rtn = (int)fmin(7, fmax(-8, rint(u1)));
    int ada = (int)fmin(7, fmax(-8, floor(u1) + (A->h[pick] >= 0.5f)));
    int aggressive = code < floor(u1) || code > floor(u1) + 1;
    char want[200];
    snprintf(want, sizeof want, "W[%d,%d] = ", r, col);
    FR_CHECKF(strstr(t, want) != NULL, "strip names the weight %s:\n%s", want, t);
    FR_CHECK_NEAR(num_after(t, want), W, 5e-4);
    FR_CHECK_NEAR(num_after(t, "s1 = "), s1, 5e-4);
    FR_CHECK_NEAR(num_after(t, "S2 = "), S2, 5e-4);
    FR_CHECK_NEAR(num_after(t, "s3 = "), s3, 5e-4);
    FR_CHECK_NEAR(num_after(t, "s4 = "), s4, 5e-4);
    FR_CHECK_NEAR(num_after(t, "W/s1 = "), u1, 5e-4);
    FR_CHECK_NEAR(num_after(t, "W/(s1*S2*s3*s4) = "), v, 5e-4);
    FR_CHECK_NEAR(num_after(t, "shift = code - W/s1 = "), code - u1, 5e-4);
    snprintf(want, sizeof want, "(row %d)", r);
    FR_CHECK(strstr(t, want) != NULL && strstr(t, "s1 = ") && strstr(t, "(tensor)") && strstr(t, "(weight)"));
    snprintf(want, sizeof want, "s4 = %.4g (in-ch %d)", s4, ic);
    FR_CHECKF(strstr(t, want) != NULL, "%s", want);
    snprintf(want, sizeof want, "-> RTN code %d", rtn);
    FR_CHECKF(strstr(t, want) != NULL, "%s", want);
    snprintf(want, sizeof want, "W/(s1*S2*s3*s4) = %.4g -> code %d (moved %+d grid steps from RTN)", v, code, code - rtn);
    FR_CHECKF(strstr(t, want) != NULL, "%s", want);
    snprintf(want, sizeof want, "h(V) = %.4g -> code %d", (double)A->h[pick], ada);
    FR_CHECKF(strstr(t, want) != NULL, "AdaRound's side: %s", want);
    FR_CHECK(aggressive && strstr(t, "aggressive: past the two nearest grid points"));
    FR_CHECK(strstr(t, "FlexRound  W^ = s1*clamp(round(W / (s1*S2*s3*s4)), -8, 7)") &&
             strstr(t, "AdaRound  W^ = s1*clamp(floor(W/s1) + h(V))"));
    free(t);
    /* the explain box beside the strip says what each factor is and what it belongs to */
    key(&ui, S, "i", &o);
    t = frame_text(&ui, S, 120, 40, 0);
    FR_CHECKF(strstr(t, "one per tensor") && strstr(t, "one per output") && strstr(t, "one per input"), "%s", t);
    free(t);
    /* a pending unit is RTN's preview: the strip says so instead of inventing divisors */
    key(&ui, S, "G", &o);
    t = frame_text(&ui, S, 160, 48, 1);
    FR_CHECKF(strstr(t, "RTN  \u0174 = s1\u00b7clamp(\u230aW/s1\u2309, -8, 7)") && strstr(t, "S2 = s3 = s4 = 1"), "%s", t);
    free(t);
    key(&ui, S, "E", &o);
    FR_CHECK(!ui.eqn);
    fr_ui_free(&ui);
}

/* §5: filter, sort, sparkline. */
static void test_filter_sort(void)
{
    fr_ui ui;
    fr_ui_init(&ui, 1, 0);
    fr_view_out o;
    key(&ui, S, "/laYer2", &o);
    FR_CHECK(ui.filter_edit && strcmp(ui.filter, "laYer2") == 0 && ui.sel_unit == 3);
    key(&ui, S, "q", &o);                        /* text while typing: no quit prompt */
    FR_CHECK(!o.quit && ui.confirm == FR_ACT_NONE && strcmp(ui.filter, "laYer2q") == 0);
    key(&ui, S, "<BS><Enter>", &o);
    FR_CHECK(!ui.filter_edit && strcmp(ui.filter, "laYer2") == 0);
    int idx[12];
    FR_CHECK(fr_view_list_order(&ui, S, idx) == 2 && idx[0] == 3 && idx[1] == 4);
    key(&ui, S, "jjj", &o);
    FR_CHECK(ui.sel_unit == 4);
    key(&ui, S, "kk", &o);
    FR_CHECK(ui.sel_unit == 3);
    char *t = frame_text(&ui, S, 100, 30, 1);
    FR_CHECKF(strstr(t, "Units 2/12 /laYer2") && strstr(t, "layer2.1") && !strstr(t, "layer1.0"), "%s", t);
    free(t);
    key(&ui, S, "/xyz<Enter>", &o);
    t = frame_text(&ui, S, 100, 30, 1);
    FR_CHECKF(strstr(t, "no unit matches /laYer2xyz"), "%s", t);
    free(t);
    key(&ui, S, "<Esc>", &o);                    /* Esc in the list clears the filter */
    FR_CHECK(ui.filter[0] == 0 && fr_view_list_order(&ui, S, idx) == 12);
    key(&ui, S, "/conv,relu<Esc>", &o);          /* matches ops too; Esc while typing clears */
    FR_CHECK(ui.filter[0] == 0 && !ui.filter_edit);
    /* sort orders against a plain re-computation: largest first, missing last, ties in run order */
    for (int sort = FR_SORT_LOSS; sort < FR_SORT__COUNT; sort++) {
        key(&ui, S, "O", &o);
        FR_CHECK(ui.sort == sort);
        double v[12];
        int want[12], n = 0;
        for (int i = 0; i < 12; i++) {
            const fr_unit_view *u = S->units[i];
            int ran = u->status != FR_UNIT_PENDING;
            v[i] = sort == FR_SORT_LOSS ? (ran ? u->loss_after : u->loss_rtn)
                 : sort == FR_SORT_VS_RTN ? (ran ? u->rel_vs_rtn : NAN)
                 : sort == FR_SORT_AGGR ? (ran ? u->aggressive : NAN) : u->clipped;
        }
        int used[12] = {0};
        for (int k = 0; k < 12; k++) {
            int best = -1;
            for (int i = 0; i < 12; i++) {
                if (used[i]) continue;
                if (best < 0 || (isfinite(v[i]) && (!isfinite(v[best]) || v[i] > v[best]))) best = i;
            }
            used[best] = 1;
            want[n++] = best;
        }
        FR_CHECK(fr_view_list_order(&ui, S, idx) == 12);
        int same = 1;
        for (int k = 0; k < 12; k++) same &= idx[k] == want[k];
        FR_CHECKF(same, "sort %s: first %d want %d", fr_sort_name(sort), idx[0], want[0]);
        /* the list draws in that order and j walks it */
        ui.sel_unit = want[0], ui.follow_run = 0;
        key(&ui, S, "j", &o);
        FR_CHECK(ui.sel_unit == want[1]);
        t = frame_text(&ui, S, 160, 48, 0);
        char l0[64], l1[64];
        fr_view_unit_label(S, want[0], 40, 0, l0, sizeof l0);
        fr_view_unit_label(S, want[11], 40, 0, l1, sizeof l1);
        char *p0 = strstr(t, l0), *p1 = strstr(t, l1);
        FR_CHECKF(p0 && p1 && p0 < p1 && strstr(t, fr_sort_name(sort)), "sort %s drawn:\n%s", fr_sort_name(sort), t);
        free(t);
    }
    key(&ui, S, "O", &o);
    FR_CHECK(ui.sort == FR_SORT_RUN);
    fr_ui_free(&ui);
    /* sparkline: a unit whose loss halves every 100 iterations falls from the top level to 0 */
    fr_unit_view *u = fr_unit_view_new(0, 1024);
    float *l = fr_unit_view_alloc_floats(u, 800);
    for (int i = 0; i < 800; i++) l[i] = (float)exp2(-i / 100.0);
    u->loss = l, u->n_loss = 800;
    int lv[8];
    FR_CHECK(fr_view_sparkline(u, 8, lv));
    int mono = 1;
    for (int b = 1; b < 8; b++) mono &= lv[b] < lv[b - 1];
    FR_CHECKF(lv[0] == 7 && lv[7] == 0 && mono, "%d %d %d %d %d %d %d %d", lv[0], lv[1], lv[2], lv[3], lv[4], lv[5], lv[6], lv[7]);
    u->n_loss = 1;
    FR_CHECK(!fr_view_sparkline(u, 8, lv));
    fr_unit_view_release(u);
}

/* §4: the tour, driven by the keys each step names. */
static void test_tour(void)
{
    fr_ui ui;
    fr_ui_init(&ui, 1, 0);
    fr_view_out o;
    FR_CHECK(!ui.cfg.tour_done && ui.tour == 0);
    key(&ui, S, "<Tab>", &o);
    fr_view_key(&ui, S, 'T', &o);
    FR_CHECK(ui.tour == 1 && ui.focus == FR_L_LIST && o.save_settings && ui.cfg.tour_done);
    /* what each step asks for, as the box shows it */
    static const char *const says[] = {"", "press Tab twice", "press E", "Press Tab to go to the scatter", "Press R", "Press c",
                                       "Press m", "Press r, then y"};
    static const char *const keys[] = {"<Tab>", "<Tab>", "hjl", "E", "<Tab>", "R", "c", "m", "r"};
    int want_step[] = {1, 2, 2, 3, 4, 5, 6, 7, 7};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char *t = frame_text(&ui, S, 100, 30, 1);
        char title[32];
        snprintf(title, sizeof title, "Tour %d/%d", ui.tour, fr_view_tour_steps());
        FR_CHECKF(strstr(t, title) && strstr(t, says[ui.tour]), "before '%s' (step %d): %s\n%s", keys[i], ui.tour, says[ui.tour], t);
        free(t);
        key(&ui, S, keys[i], &o);
        FR_CHECKF(ui.tour == want_step[i], "after '%s': step %d, want %d", keys[i], ui.tour, want_step[i]);
    }
    FR_CHECK(ui.confirm == FR_ACT_RESTART && ui.next_method >= 0);
    fr_view_key(&ui, S, 'y', &o);                /* the restart itself ends the tour */
    FR_CHECK(ui.tour == 0 && o.n_cmds == 1 && o.cmd[0].type == FR_CMD_RESTART_UNIT);
    fr_ui_free(&ui);
    /* from the help overlay; T skips a step, and on the last it ends the tour */
    fr_ui_init(&ui, 1, 1);
    key(&ui, S, "?", &o);
    fr_view_key(&ui, S, 'T', &o);
    FR_CHECK(!ui.help && ui.tour == 1 && o.save_settings);
    for (int k = 2; k <= fr_view_tour_steps(); k++) {
        key(&ui, S, "T", &o);
        FR_CHECK(ui.tour == k);
    }
    key(&ui, S, "T", &o);
    FR_CHECK(ui.tour == 0 && strstr(ui.msg, "tour finished"));
    fr_ui_free(&ui);
    /* every step's text fits the tour box at 80x27, and at 80x24, where the box floats over
     * the body instead of making the terminal "too small" (its last word is on screen) */
    for (int k = 1; k <= fr_view_tour_steps(); k++)
        for (int rows = 24; rows <= 27; rows += 3) {
            fr_ui_init(&ui, 1, 0);
            fr_view_tour_start(&ui);
            ui.tour = k;
            ui.eqn = k >= 3;
            char *t = frame_text(&ui, S, 80, rows, 1);
            const char *txt = fr_view_tour_text(k), *last = strrchr(txt, ' ');
            FR_CHECKF(last && strstr(t, last + 1) && !strstr(t, "too small"), "step %d does not fit 80x%d:\n%s", k, rows, t);
            free(t);
            fr_ui_free(&ui);
        }
    FR_CHECK(fr_view_tour_text(0) == NULL && fr_view_tour_text(fr_view_tour_steps() + 1) == NULL);
}

/* Footer hints follow the focused panel; the help overlay lists the new keys. */
static void test_hints_and_help(void)
{
    fr_ui ui;
    fr_ui_init(&ui, 1, 0);
    fr_view_out o;
    char *t = frame_text(&ui, S, 120, 36, 0);
    const char *bar = strrchr(t, '\n');
    while (bar > t && bar[-1] != '\n') bar--;   /* t ends in a newline: the last line is the bar */
    bar = t + strlen(t) - 1;
    while (bar > t && bar[-1] != '\n') bar--;
    FR_CHECKF(strstr(bar, "/Filter") && strstr(bar, "OSort") && strstr(bar, "?Help") && strstr(bar, "qQuit"), "%s", bar);
    free(t);
    key(&ui, S, "<Tab><Tab>", &o);
    t = frame_text(&ui, S, 120, 36, 0);
    bar = t + strlen(t) - 1;
    while (bar > t && bar[-1] != '\n') bar--;
    FR_CHECKF(strstr(bar, "EEquation") && !strstr(bar, "/Filter") && strstr(bar, "qQuit"), "%s", bar);
    /* a hint is a click target acting as its key */
    int ex = -1;
    for (int i = 0; i < ui.n_bar; i++) if (ui.bar[i].key == 'E') ex = ui.bar[i].x0;
    FR_CHECK(ex >= 0);
    fr_view_click(&ui, S, ex, 35, &o);
    FR_CHECK(ui.eqn);
    free(t);
    /* narrow terminals keep Help and Quit */
    t = frame_text(&ui, S, 80, 32, 0);
    bar = t + strlen(t) - 1;
    while (bar > t && bar[-1] != '\n') bar--;
    FR_CHECKF(strstr(bar, "?Help") && strstr(bar, "qQuit"), "%s", bar);
    free(t);
    fr_ui_free(&ui);
    fr_ui_init(&ui, 0, 0);
    key(&ui, S, "?", &o);
    t = frame_text(&ui, S, 110, 90, 0);
    FR_CHECKF(strstr(t, "T starts the guided tour") && strstr(t, "Unit list") && strstr(t, "equation strip") &&
              strstr(t, "filter the unit list") && strstr(t, "sort the unit list") && strstr(t, "guided tour") &&
              strstr(t, ", F2") && strstr(t, "settings screen"), "%s", t);
    free(t);
    fr_ui_free(&ui);
    /* --help-keys lists them too, with the settings screen's own keys */
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    fr_keymap_print_help(f);
    fclose(f);
    FR_CHECKF(strstr(buf, "Settings screen") && strstr(buf, "\n  E ") && strstr(buf, "\n  / ") && strstr(buf, "\n  O ") &&
              strstr(buf, "\n  T "), "%s", buf);
    free(buf);
}

/* Mouse: wheel over the list moves the selection, over the heatmap and the loss it zooms. */
static void test_wheel(void)
{
    fr_ui ui;
    fr_ui_init(&ui, 1, 0);
    fr_view_out o;
    fr_canvas c;
    fr_canvas_init(&c, 100, 30, 1);
    fr_view_render(&ui, S, &c);
    fr_layout L;
    fr_view_layout(&ui, 100, 30, &L);
    fr_view_wheel(&ui, S, L.r[FR_L_LIST].x + 3, L.r[FR_L_LIST].y + 3, 1, &o);
    FR_CHECK(ui.sel_unit == 6 && !ui.follow_run);
    fr_view_wheel(&ui, S, L.r[FR_L_LIST].x + 3, L.r[FR_L_LIST].y + 3, -1, &o);
    FR_CHECK(ui.sel_unit == 5);
    fr_view_wheel(&ui, S, L.r[FR_L_HEAT].x + 3, L.r[FR_L_HEAT].y + 3, -1, &o);
    fr_view_wheel(&ui, S, L.r[FR_L_HEAT].x + 3, L.r[FR_L_HEAT].y + 3, -1, &o);
    FR_CHECK(ui.heat_zoom == 2);
    fr_view_wheel(&ui, S, L.r[FR_L_HEAT].x + 3, L.r[FR_L_HEAT].y + 3, 1, &o);
    FR_CHECK(ui.heat_zoom == 1);
    fr_view_wheel(&ui, S, L.r[FR_L_LOSS].x + 3, L.r[FR_L_LOSS].y + 3, -1, &o);
    FR_CHECK(ui.loss_zoom == 1);
    key(&ui, S, "?", &o);
    fr_view_wheel(&ui, S, 50, 10, 1, &o);
    FR_CHECK(ui.help_scroll == 1);
    fr_canvas_free(&c);
    fr_ui_free(&ui);
}

/* §6: settings round trip, the path rules, malformed files, the settings screen. */
static void same_settings(const fr_settings *a, const fr_settings *b, const char *what)
{
    FR_CHECKF(strcmp(a->palette, b->palette) == 0 && fabs(a->smooth - b->smooth) < 1e-9 && a->explain == b->explain &&
                  a->equation == b->equation && a->focus == b->focus && a->expanded == b->expanded &&
                  a->heat_qty == b->heat_qty && a->scatter_abs == b->scatter_abs && a->loss_logy == b->loss_logy &&
                  a->sort == b->sort && a->mouse == b->mouse && a->tour_done == b->tour_done,
              "%s", what);
}

static void test_settings(void)
{
    char dir[] = "/tmp/frtui-settings-XXXXXX";
    FR_CHECK(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/frtui/config", dir);   /* the directory is created on save */
    fr_settings a, b, def0;
    fr_settings_default(&def0);
    fr_settings_default(&a);
    int existed = 1;
    fr_err e = {0};
    FR_CHECK(fr_settings_load(&b, path, &existed, &e) == FR_OK && !existed);   /* first start */
    same_settings(&a, &b, "missing file = defaults");
    snprintf(a.palette, sizeof a.palette, "light");
    a.smooth = 0.9, a.explain = 1, a.equation = 1, a.focus = FR_L_HEAT, a.expanded = FR_L_SCATTER, a.heat_qty = FR_HQ_SHIFT;
    a.scatter_abs = 0, a.loss_logy = 1, a.sort = FR_SORT_CLIP, a.mouse = 0, a.tour_done = 1;
    FR_CHECKF(fr_settings_save(&a, path, &e) == FR_OK, "%s", e.msg);
    FR_CHECKF(fr_settings_load(&b, path, &existed, &e) == FR_OK && existed, "%s", e.msg);
    same_settings(&a, &b, "round trip");
    a.heat_qty = FR_HQ_SHIFT_MEAN;   /* the aggregate view is a start-up choice too ("shift-mean") */
    FR_CHECKF(fr_settings_save(&a, path, &e) == FR_OK, "%s", e.msg);
    FR_CHECKF(fr_settings_load(&b, path, &existed, &e) == FR_OK && b.heat_qty == FR_HQ_SHIFT_MEAN, "%s", e.msg);
    a.heat_qty = FR_HQ_SHIFT;
    FR_CHECKF(fr_settings_save(&a, path, &e) == FR_OK, "%s", e.msg);
    /* no temp file left beside it */
    char sub[256];
    snprintf(sub, sizeof sub, "%s/frtui", dir);
    DIR *d = opendir(sub);
    int files = 0;
    for (struct dirent *de; d && (de = readdir(d));) files += de->d_name[0] != '.';
    if (d) closedir(d);
    FR_CHECK(files == 1);
    /* a file the user wrote keeps its comments, order and unknown lines; known keys change in
     * place, a repeated key once, missing keys are appended */
    FILE *uf = fopen(path, "w");
    FR_ASSERT(uf);
    fputs("# my frtui settings\n\n  Palette = mono   # inline remarks are part of the value\nsmoothing=0.5\nfuture_key = 3\n"
          "# keep this one too\nsmoothing = 0.7\n", uf);
    fclose(uf);
    FR_CHECKF(fr_settings_save(&a, path, &e) == FR_OK, "%s", e.msg);
    uint8_t *saved = NULL;
    size_t sn = 0;
    FR_CHECK(fr_read_file(path, 1 << 16, &saved, &sn, &e) == FR_OK);
    saved = fr_xrealloc(saved, sn + 1);   /* fr_read_file does not terminate the text */
    saved[sn] = 0;
    const char *sv = (const char *)saved;
    const char *c1 = strstr(sv, "# my frtui settings\n\npalette = light\nsmoothing = 0.9\nfuture_key = 3\n# keep this one too\n");
    FR_CHECKF(c1 == sv, "saved over a user's file:\n%.*s", (int)sn, sv);
    FR_CHECK(strstr(sv, "smoothing = 0.7") == NULL && strstr(sv, "tour_done = on\n") && strstr(sv, "mouse = off\n"));
    int nlines = 0;
    for (size_t q = 0; q < sn; q++) nlines += sv[q] == '\n';
    FR_CHECKF(nlines == 6 + 10, "%d lines", nlines);   /* the six kept/updated lines, then the 10 other keys */
    free(saved);
    FR_CHECK(fr_settings_load(&b, path, &existed, &e) == FR_EINPUT && strstr(e.msg, "future_key"));
    same_settings(&a, &b, "round trip through a user's file");
    /* the README's example file, remarks and all, loads without a complaint */
    uint8_t *rd = NULL;
    size_t rn = 0;
    FR_CHECK(fr_read_file("README.md", 1 << 22, &rd, &rn, &e) == FR_OK);
    rd = fr_xrealloc(rd, rn + 1);
    rd[rn] = 0;
    const char *blk = rd ? strstr((const char *)rd, "`~/.config/frtui/config`") : NULL;
    blk = blk ? strstr(blk, "```\n") : NULL;
    const char *bend = blk ? strstr(blk + 4, "```") : NULL;
    FR_CHECK(blk && bend && strstr(blk, "tour_done") < bend);
    if (blk && bend) {
        fr_settings rdme = def0;
        snprintf(rdme.palette, sizeof rdme.palette, "light");
        rdme.tour_done = 1;
        FR_CHECKF(fr_settings_parse(&rdme, blk + 4, (size_t)(bend - blk - 4), "README.md", &e) == FR_OK, "%s", e.msg);
        same_settings(&rdme, &def0, "the README's example (the defaults)");
    }
    free(rd);
    /* the view puts them into effect */
    fr_ui ui;
    fr_ui_init(&ui, 1, 0);
    fr_ui_apply_settings(&ui, &b);
    FR_CHECK(ui.smooth == 0.9 && ui.explain && ui.eqn && ui.expanded == FR_L_SCATTER && ui.focus == FR_L_SCATTER &&
             ui.heat_qty == FR_HQ_SHIFT && !ui.scatter_abs && ui.loss_logy && ui.sort == FR_SORT_CLIP);
    fr_ui_free(&ui);
    /* path rules: FRTUI_CONFIG, then XDG_CONFIG_HOME (absolute only), then HOME */
    char *keep_c = getenv("FRTUI_CONFIG") ? strdup(getenv("FRTUI_CONFIG")) : NULL;
    char *keep_x = getenv("XDG_CONFIG_HOME") ? strdup(getenv("XDG_CONFIG_HOME")) : NULL;
    char *keep_h = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
    char p[256];
    setenv("FRTUI_CONFIG", "/x/c", 1), setenv("XDG_CONFIG_HOME", "/xdg", 1), setenv("HOME", "/home/u", 1);
    FR_CHECK(fr_settings_path(p, sizeof p) && strcmp(p, "/x/c") == 0);
    unsetenv("FRTUI_CONFIG");
    FR_CHECK(fr_settings_path(p, sizeof p) && strcmp(p, "/xdg/frtui/config") == 0);
    setenv("XDG_CONFIG_HOME", "relative", 1);
    FR_CHECK(fr_settings_path(p, sizeof p) && strcmp(p, "/home/u/.config/frtui/config") == 0);
    unsetenv("XDG_CONFIG_HOME"), unsetenv("HOME");
    FR_CHECK(!fr_settings_path(p, sizeof p));
    if (keep_c) setenv("FRTUI_CONFIG", keep_c, 1);
    if (keep_x) setenv("XDG_CONFIG_HOME", keep_x, 1);
    if (keep_h) setenv("HOME", keep_h, 1);
    free(keep_c), free(keep_x), free(keep_h);
    /* malformed files (tests/bad/config/L<line>-*.conf): the message names file and line, the
     * bad setting keeps its default, the good lines still apply, nothing unprintable leaks */
    d = opendir("tests/bad/config");
    FR_CHECK(d != NULL);
    int seen = 0;
    for (struct dirent *de; d && (de = readdir(d));) {
        if (de->d_name[0] != 'L') continue;
        char f[512], want[600];
        snprintf(f, sizeof f, "tests/bad/config/%s", de->d_name);
        int line = atoi(de->d_name + 1);
        fr_err_clear(&e);
        int rc = fr_settings_load(&b, f, &existed, &e);
        snprintf(want, sizeof want, "%s:%d: ", f, line);
        int clean = 1;
        for (const char *q = e.msg; *q; q++) clean &= (unsigned char)*q >= 32 && *q != 127;
        FR_CHECKF(rc == FR_EINPUT && strstr(e.msg, want) == e.msg && clean, "%s: rc %d '%s'", f, rc, e.msg);
        seen++;
    }
    if (d) closedir(d);
    FR_CHECK(seen >= 10);
    fr_settings_load(&b, "tests/bad/config/L2-unknown-key.conf", &existed, &e);
    FR_CHECKF(strcmp(b.palette, "light") == 0 && b.smooth == 0.8 && strstr(e.msg, "unknown key 'pallete'"), "%s", e.msg);
    fr_settings_load(&b, "tests/bad/config/L2-several.conf", &existed, &e);
    FR_CHECKF(strstr(e.msg, "and 2 more bad lines") && b.equation && b.focus == FR_L_LIST, "%s", e.msg);
    fr_settings_load(&b, "tests/bad/config/L1-out-of-range.conf", &existed, &e);
    FR_CHECKF(strstr(e.msg, "expected a number from 0 to 0.999") && b.smooth == 0.95, "%s", e.msg);
    /* a directory, and a file over the size limit: named, defaults */
    FR_CHECK(fr_settings_load(&b, dir, &existed, &e) != FR_OK && strstr(e.msg, dir));
    char big[256];
    snprintf(big, sizeof big, "%s/big", dir);
    FILE *bf = fopen(big, "w");
    for (int i = 0; bf && i < FR_SETTINGS_MAX_BYTES / 16 + 2; i++) fputs("# padding......\n", bf);
    if (bf) fclose(bf);
    FR_CHECK(fr_settings_load(&b, big, &existed, &e) != FR_OK && strstr(e.msg, big));
    fr_settings def;
    fr_settings_default(&def);
    same_settings(&b, &def, "an unreadable file leaves the defaults");
    unlink(big);
    /* the settings screen: F2 or `,` opens it, changes apply, closing asks to save */
    fr_ui_init(&ui, 1, 0);
    fr_view_out o;
    key(&ui, S, "<F2>", &o);
    FR_CHECK(ui.settings_open);
    key(&ui, S, "<Esc>", &o);
    FR_CHECK(!ui.settings_open && o.save_settings);
    key(&ui, S, ",jl", &o);
    FR_CHECK(ui.settings_open && ui.settings_sel == 1 && ui.cfg.smooth == 0.98 && ui.smooth == 0.98);
    key(&ui, S, "jjl", &o);                      /* equation strip on, now */
    FR_CHECK(ui.cfg.equation && ui.eqn);
    key(&ui, S, "q", &o);                        /* q closes the screen, it does not quit */
    FR_CHECK(!ui.settings_open && !o.quit && o.save_settings);
    char *t = (key(&ui, S, ",", &o), frame_text(&ui, S, 100, 34, 0));
    FR_CHECKF(strstr(t, "Loss smoothing (EMA)") && strstr(t, "0.98") && strstr(t, "Tour at next start"), "%s", t);
    free(t);
    fr_ui_free(&ui);
    unlink(path);
    rmdir(sub);
    rmdir(dir);
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
    FR_RUN(test_equation_strip);
    FR_RUN(test_filter_sort);
    FR_RUN(test_tour);
    FR_RUN(test_hints_and_help);
    FR_RUN(test_wheel);
    FR_RUN(test_settings);
    FR_RUN(test_golden);
    FR_RUN(test_heat_aggregate_view);
    FR_RUN(test_channel_view);
    FR_RUN(test_explain_llm);
    FR_RUN(test_bench_helper);
    fr_snapshot_release(S);
    return FR_REPORT();
}
