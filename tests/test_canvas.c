/* test_canvas.c — cell grid, braille mapping, colour ladder, plots, layout and keymap. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fr_test.h"
#include "frtui/canvas.h"
#include "frtui/colour.h"
#include "frtui/heatagg.h"
#include "frtui/keymap.h"
#include "frtui/layout.h"
#include "frtui/plot.h"

static char *canvas_text(const fr_canvas *c, int depth)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    fr_text_opts o = {depth, NULL, 0};
    fr_canvas_write(c, f, &o);
    fclose(f);
    return buf;
}

static void test_braille_bits(void)
{
    /* Unicode braille: dots 1-3 left column (bits 0-2), 4-6 right column (bits 3-5), 7/8 bottom row */
    static const uint8_t want[2][4] = {{0x01, 0x02, 0x04, 0x40}, {0x08, 0x10, 0x20, 0x80}};
    uint8_t all = 0;
    for (int dx = 0; dx < 2; dx++)
        for (int dy = 0; dy < 4; dy++) {
            FR_CHECK(fr_braille_bit(dx, dy) == want[dx][dy]);
            FR_CHECK((all & fr_braille_bit(dx, dy)) == 0);   /* each dot its own bit */
            all |= fr_braille_bit(dx, dy);
        }
    FR_CHECK(all == 0xff);
    fr_canvas c;
    fr_canvas_init(&c, 3, 2, 1);
    fr_dots d;
    fr_dots_init(&d, 3, 2);
    fr_dots_set(&d, 0, 0, 0, 1, 0);       /* cell (0,0) dot 1 */
    fr_dots_set(&d, 1, 3, 0, 1, 0);       /* cell (0,0) dot 8 */
    fr_dots_set(&d, 5, 7, 0, 1, 0);       /* cell (2,1) dot 8 */
    fr_dots_set(&d, 99, 99, 0, 1, 0);     /* clipped */
    fr_dots_blit(&d, &c, 0, 0, 9, 0);
    FR_CHECK(fr_canvas_at(&c, 0, 0)->cp == 0x2800 + 0x81);
    FR_CHECK(fr_canvas_at(&c, 2, 1)->cp == 0x2880);
    FR_CHECK(fr_canvas_at(&c, 1, 0)->cp == ' ');
    /* a higher exclusive layer replaces lower dots in its cell */
    fr_dots_set(&d, 0, 2, FR_COL_ROLE(FR_R_LOSS_EMA), 2, 1);
    FR_CHECK(d.mask[0] == 0x04 && d.col[0] == FR_COL_ROLE(FR_R_LOSS_EMA));
    fr_dots_set(&d, 0, 0, FR_COL_ROLE(FR_R_LOSS_RAW), 1, 0);   /* lower layer cannot paint over */
    FR_CHECK(d.mask[0] == 0x04);
    fr_dots_free(&d);
    fr_canvas_free(&c);
}

static void test_utf8_and_ascii(void)
{
    char b[8];
    const char *s = b;
    int n = fr_utf8_encode(0x28ff, b);
    b[n] = 0;
    FR_CHECK(n == 3 && fr_utf8_decode(&s) == 0x28ff && *s == 0);
    FR_CHECK(fr_utf8_width("a╭─b") == 4);
    fr_canvas c;
    fr_canvas_init(&c, 20, 3, 0);
    fr_canvas_box(&c, (fr_rect){0, 0, 20, 3}, "Loss ∂L/∂S", 1);
    fr_canvas_put(&c, 1, 1, 0x2847, 0, 0, 0);
    fr_canvas_halfblock(&c, 2, 1, FR_COL_RGB(1, 2, 3), FR_COL_RGB(4, 5, 6));
    for (int i = 0; i < c.cols * c.rows; i++) FR_CHECKF(c.cells[i].cp < 128, "cell %d cp %u", i, c.cells[i].cp);
    char *t = canvas_text(&c, 0);
    FR_CHECK(strncmp(t, "+ Loss dL/dS ------+", 20) == 0);
    for (char *p = t; *p; p++) FR_CHECK((unsigned char)*p < 128);
    free(t);
    FR_CHECK(fr_canvas_ascii(0x2800 + 0x09) == '\'' && fr_canvas_ascii(0x2800 + 0xc0) == '.' && fr_canvas_ascii(0x28ff) == ':');
    FR_CHECK(fr_canvas_text(&c, 0, 0, 0, "x", 0, 0, 0) == 0 && fr_canvas_text(&c, 0, 0, -3, "x", 0, 0, 0) == 0);
    fr_canvas_free(&c);
}

static void test_colour_ladder(void)
{
    FR_CHECK(fr_colour_rgb_to_256(FR_RGB(0, 0, 0)) == 16);
    FR_CHECK(fr_colour_rgb_to_256(FR_RGB(255, 255, 255)) == 231);
    FR_CHECK(fr_colour_rgb_to_256(FR_RGB(0x5f, 0x87, 0xaf)) == 16 + 36 * 1 + 6 * 2 + 3);
    FR_CHECK(fr_colour_rgb_to_256(FR_RGB(128, 128, 128)) == 244);   /* grey ramp beats the cube */
    FR_CHECK(fr_colour_rgb_to_256(FR_RGB(8, 8, 8)) == 232);
    for (int i = 16; i < 256; i++) {   /* round trip of every 256-colour entry */
        fr_rgb c = fr_colour_256_to_rgb(i);
        int j = fr_colour_rgb_to_256(c);
        fr_rgb d = fr_colour_256_to_rgb(j);
        FR_CHECKF(c.r == d.r && c.g == d.g && c.b == d.b, "idx %d -> %d", i, j);
    }
    FR_CHECK(fr_colour_rgb_to_16(FR_RGB(250, 10, 10)) == 9 || fr_colour_rgb_to_16(FR_RGB(250, 10, 10)) == 1);
    FR_CHECK(fr_colour_rgb_to_16(FR_RGB(20, 40, 200)) == 4);    /* dark blue stays blue, not black */
    FR_CHECK(fr_colour_rgb_to_16(FR_RGB(60, 60, 60)) == 0 || fr_colour_rgb_to_16(FR_RGB(60, 60, 60)) == 8);
    const fr_palette *p = fr_colour_palette(NULL);
    FR_CHECK(p && fr_colour_palette("light") && !fr_colour_palette("nope"));
    FR_CHECK(fr_colour_index(p, FR_COL_DEFAULT, 256) == -1);
    FR_CHECK(fr_colour_index(p, FR_COL_ROLE(FR_R_BAD), 16) == p->role16[FR_R_BAD]);
    char sgr[96];
    fr_canvas_sgr(sgr, sizeof sgr, p, FR_COL_RGB(1, 2, 3), 0, FR_A_BOLD, 24);
    FR_CHECK(strcmp(sgr, "\033[0;1;38;2;1;2;3m") == 0);
    fr_canvas_sgr(sgr, sizeof sgr, p, FR_COL_RGB(255, 255, 255), FR_COL_RGB(0, 0, 0), 0, 256);
    FR_CHECK(strcmp(sgr, "\033[0;38;5;231;48;5;16m") == 0);
    fr_canvas_sgr(sgr, sizeof sgr, p, FR_COL_ROLE(FR_R_BAD), 0, 0, 16);
    FR_CHECK(strcmp(sgr, "\033[0;91m") == 0);
    fr_canvas_sgr(sgr, sizeof sgr, p, FR_COL_ROLE(FR_R_BAD), 0, FR_A_REVERSE, 0);
    FR_CHECK(strcmp(sgr, "\033[0;7m") == 0);
    /* NO_COLOR and TERM detection */
    setenv("NO_COLOR", "1", 1);
    FR_CHECK(fr_colour_depth_from_env() == 0);
    unsetenv("NO_COLOR");
    setenv("COLORTERM", "truecolor", 1);
    FR_CHECK(fr_colour_depth_from_env() == 24);
    unsetenv("COLORTERM");
    setenv("TERM", "xterm-256color", 1);
    FR_CHECK(fr_colour_depth_from_env() == 256);
    setenv("TERM", "vt100", 1);
    FR_CHECK(fr_colour_depth_from_env() == 16);
}

static double luma(fr_rgb c) { return 0.2126 * c.r + 0.7152 * c.g + 0.0722 * c.b; }

static void test_diverging_centre(void)
{
    FR_CHECK(fr_colour_log_t(1.0f, 1.0f) == 0.0f);
    FR_CHECK_NEAR(fr_colour_log_t(2.0f, 1.0f), 1.0, 1e-6);
    FR_CHECK_NEAR(fr_colour_log_t(0.5f, 1.0f), -1.0, 1e-6);
    FR_CHECK_NEAR(fr_colour_log_t(1.4142135f, 1.0f), 0.5, 1e-5);   /* log scale, not linear */
    FR_CHECK(fr_colour_log_t(100.0f, 1.0f) == 1.0f && fr_colour_log_t(0.0f, 1.0f) == -1.0f);
    fr_rgb mid = fr_colour_diverging(0);
    FR_CHECK(mid.r == mid.g && mid.g == mid.b);                     /* neutral grey at S = 1 */
    uint32_t hc = fr_plot_heat_colour(1.0f, FR_HEAT_LOG2, 1.0f);
    FR_CHECK(hc == FR_COL_RGB(mid.r, mid.g, mid.b));
    fr_rgb lo = fr_colour_diverging(-1), hi = fr_colour_diverging(1);
    FR_CHECK(lo.b > lo.r && hi.r > hi.b);                           /* blue below 1, orange above */
    /* lightness rises monotonically away from the centre, in RGB and after 256-colour mapping */
    double prev = luma(mid), prev256 = luma(fr_colour_256_to_rgb(fr_colour_rgb_to_256(mid)));
    int mono_ok = 1, mono256_ok = 1;
    for (int side = -1; side <= 1; side += 2) {
        prev = luma(mid);
        prev256 = luma(fr_colour_256_to_rgb(fr_colour_rgb_to_256(mid)));
        for (int k = 1; k <= 20; k++) {
            fr_rgb c = fr_colour_diverging(side * k / 20.0f);
            double l = luma(c), l256 = luma(fr_colour_256_to_rgb(fr_colour_rgb_to_256(c)));
            if (l < prev - 1e-9) mono_ok = 0;
            if (l256 < prev256 - 12) mono256_ok = 0;   /* cube steps are coarse; no large reversals */
            prev = l;
            prev256 = fmax(prev256, l256);
        }
    }
    FR_CHECK(mono_ok);
    FR_CHECK(mono256_ok);
    fr_rgb nan = fr_colour_diverging(NAN);
    FR_CHECK(nan.r == 255 && nan.b == 255 && nan.g == 0);
}

static void test_ema(void)
{
    float x[200], y[200];
    for (int i = 0; i < 200; i++) x[i] = 3.5f;
    fr_plot_ema(x, 200, 0.99, y);
    int flat = 1;
    for (int i = 0; i < 200; i++) flat &= fabsf(y[i] - 3.5f) < 1e-5f;   /* debiased: no ramp from 0 (TF#6439) */
    FR_CHECK(flat);
    x[0] = 10;
    x[1] = 0;
    fr_plot_ema(x, 2, 0.5, y);
    FR_CHECK_NEAR(y[0], 10.0, 1e-6);                  /* first value is the sample itself */
    FR_CHECK_NEAR(y[1], (0.5 * 0.5 * 10 + 0.5 * 0) / 0.75, 1e-6);
    /* smoothing 1.0 is capped at FR_SMOOTH_MAX: the curve still moves */
    for (int i = 0; i < 200; i++) x[i] = i < 100 ? 1.0f : 2.0f;
    fr_plot_ema(x, 200, 1.0, y);
    FR_CHECK(y[199] > 1.05f);
    /* NaNs are skipped */
    x[0] = NAN;
    x[1] = 4;
    fr_plot_ema(x, 2, 0.9, y);
    FR_CHECK(isnan(y[0]) && fabsf(y[1] - 4) < 1e-6f);
    /* smoothing happens before downsampling: two widths, same EMA series */
    float a[1000], e1[1000];
    for (int i = 0; i < 1000; i++) a[i] = 1.0f + (float)((i * 7919) % 13) / 13.0f;
    fr_plot_ema(a, 1000, 0.9, e1);
    FR_CHECK(isfinite(e1[999]));
    fr_canvas c1, c2;
    fr_canvas_init(&c1, 40, 10, 1);
    fr_canvas_init(&c2, 90, 10, 1);
    fr_loss_opts o = {0, 1, 0, 0, 0.9, 0, 0, 0, NULL};
    fr_plot_loss(&c1, (fr_rect){0, 0, 40, 10}, a, 1000, 1000, &o);
    fr_plot_loss(&c2, (fr_rect){0, 0, 90, 10}, a, 1000, 1000, &o);
    int ema1 = 0, ema2 = 0;
    for (int i = 0; i < 400; i++) ema1 += c1.cells[i].fg == FR_COL_ROLE(FR_R_LOSS_EMA);
    for (int i = 0; i < 900; i++) ema2 += c2.cells[i].fg == FR_COL_ROLE(FR_R_LOSS_EMA);
    FR_CHECK(ema1 > 0 && ema2 > 0);
    fr_canvas_free(&c1);
    fr_canvas_free(&c2);
    int wa, wb;
    fr_loss_opts z = {0, 1, 2, 0, 0.9, 0, 0, 0, NULL};
    fr_plot_loss_window(600, 1000, &z, &wa, &wb);
    FR_CHECK(wb == 600 && wa == 350);                 /* follow tail with a quarter window */
    z.follow = 0;
    z.start = 100;
    fr_plot_loss_window(600, 1000, &z, &wa, &wb);
    FR_CHECK(wa == 100 && wb == 350);
}

static void test_ticks_fmt(void)
{
    double t[16];
    int n = fr_plot_ticks(0, 1, 6, t);
    FR_CHECK(n >= 3 && t[0] == 0);
    for (int i = 1; i < n; i++) FR_CHECK(t[i] > t[i - 1]);
    char b[32];
    fr_plot_fmt(b, sizeof b, 0.0012);
    FR_CHECK(strcmp(b, "1.2e-3") == 0);
    fr_plot_fmt(b, sizeof b, 0.001);
    FR_CHECK(strcmp(b, "1e-3") == 0);
    fr_plot_fmt(b, sizeof b, 0.25);
    FR_CHECK(strcmp(b, "0.25") == 0);
    fr_plot_fmt(b, sizeof b, 0);
    FR_CHECK(strcmp(b, "0") == 0);
}

static void test_heat_geom(void)
{
    fr_heat_geom g = fr_plot_heat_geom((fr_rect){0, 0, 40, 10}, 1, 64, 288, 0);
    FR_CHECK(g.px_w == 40 && g.px_h == 20 && g.vis_rows == 64 && g.vis_cols == 288);   /* zoom 0 fits */
    FR_CHECK(g.step_r == 4 && g.step_c == 8);
    g = fr_plot_heat_geom((fr_rect){0, 0, 40, 10}, 1, 64, 288, 3);
    FR_CHECK(g.vis_rows == 8 && g.vis_cols == 36 && g.step_c == 1 && g.step_r == 1);
    g = fr_plot_heat_geom((fr_rect){0, 0, 40, 10}, 0, 10, 10, 0);   /* ASCII: one pixel per cell */
    FR_CHECK(g.px_h == 10 && g.vis_rows == 10 && g.sr == 1.0);
    /* the cursor pixel is painted with the cursor role; S = 1 elsewhere is the neutral colour */
    float v[16];
    for (int i = 0; i < 16; i++) v[i] = 1.0f;
    fr_canvas c;
    fr_canvas_init(&c, 4, 2, 1);
    fr_heat_opts o = {4, 4, 0, 0, 0, 1, 2, 1, FR_HEAT_LOG2, 1.0f, 0, 0, 0};
    fr_plot_heatmap(&c, (fr_rect){0, 0, 4, 2}, v, &o);
    fr_rgb mid = fr_colour_diverging(0);
    FR_CHECK(fr_canvas_at(&c, 2, 0)->bg == FR_COL_ROLE(FR_R_CURSOR));   /* row 1 = lower half of cell row 0 */
    FR_CHECK(fr_canvas_at(&c, 2, 0)->fg == FR_COL_RGB(mid.r, mid.g, mid.b));
    FR_CHECK(fr_canvas_at(&c, 0, 1)->cp == 0x2580);
    fr_canvas_free(&c);
}

/* Attention heads of 2 rows on an 8 x 4 matrix drawn 2 pixels per row: a boundary line on the
 * first pixel row of rows 2, 4 and 6 (cell rows 2, 4, 6, upper halves), none at the edge; with
 * heads narrower than 3 pixels, none at all. */
static void test_heat_head_lines(void)
{
    float v[32];
    for (int i = 0; i < 32; i++) v[i] = 1.0f;
    fr_canvas c;
    fr_canvas_init(&c, 4, 8, 1);
    fr_heat_opts o = {8, 4, 0, 0, 0, 0, 0, 0, FR_HEAT_LOG2, 1.0f, 2, 0, 0};
    fr_plot_heatmap(&c, (fr_rect){0, 0, 4, 8}, v, &o);
    int bad = 0;
    for (int y = 0; y < 8; y++)
        for (int x = 0; x < 4; x++) {
            const fr_cell *p = fr_canvas_at(&c, x, y);
            const int line = y == 2 || y == 4 || y == 6;
            bad += (p->fg == FR_COL_ROLE(FR_R_AXIS)) != line || p->bg == FR_COL_ROLE(FR_R_AXIS);
        }
    FR_CHECKF(bad == 0, "%d cells wrong", bad);
    o.head_rows = 1;   /* 2 pixels per head: too thin to mark */
    fr_plot_heatmap(&c, (fr_rect){0, 0, 4, 8}, v, &o);
    bad = 0;
    for (int y = 0; y < 8; y++)
        for (int x = 0; x < 4; x++) bad += fr_canvas_at(&c, x, y)->fg == FR_COL_ROLE(FR_R_AXIS);
    FR_CHECK(bad == 0);
    fr_canvas_free(&c);
}

/* Aggregate heatmap (issue 16 §7): an 8 x 16 shift matrix in four 4 x 8 tiles whose max and
 * mean |shift| are worked out by hand:
 *   tile (0,0): 31 x 0.25 and one -1.5  -> max 1.5, mean (31 * 0.25 + 1.5) / 32 = 0.2890625
 *   tile (0,1): all -0.5                -> max 0.5, mean 0.5
 *   tile (1,0): +1 / -1 alternating     -> max 1,   mean 1
 *   tile (1,1): zeros and one NaN       -> max 0,   mean 0 (the NaN is skipped, not spread) */
static void known_shift(float *v)
{
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 16; j++) {
            float x = i < 4 ? (j < 8 ? 0.25f : -0.5f) : (j < 8 ? ((i + j) % 2 ? 1.0f : -1.0f) : 0.0f);
            v[i * 16 + j] = x;
        }
    v[2 * 16 + 5] = -1.5f;
    v[6 * 16 + 12] = NAN;
}

static void test_heatagg_known(void)
{
    float v[8 * 16], g[4];
    known_shift(v);
    fr_heatagg_grid(v, 8, 16, 4, 8, FR_HAGG_MEAN_ABS, g);
    FR_CHECKF(g[0] == 0.2890625f && g[1] == 0.5f && g[2] == 1.0f && g[3] == 0.0f, "mean %g %g %g %g", g[0], g[1], g[2], g[3]);
    fr_heatagg_grid(v, 8, 16, 4, 8, FR_HAGG_MAX_ABS, g);
    FR_CHECKF(g[0] == 1.5f && g[1] == 0.5f && g[2] == 1.0f && g[3] == 0.0f, "max %g %g %g %g", g[0], g[1], g[2], g[3]);
    /* ragged edge: 3 x 5 tiles over 8 x 16 give 3 x 4 tiles, the last ones smaller */
    float h[12];
    fr_heatagg_grid(v, 8, 16, 3, 5, FR_HAGG_MAX_ABS, h);
    FR_CHECK(h[0] == 0.25f && h[1] == 1.5f && h[3] == 0.5f);   /* tile (0,3) is column 15 alone, rows 0-2: -0.5 */
    FR_CHECK(isnan(fr_heatagg_tile(v, 16, 6, 7, 12, 13, FR_HAGG_MEAN_ABS)));   /* only the NaN */

    /* the cell renderer: 2 x 1 cells = 2 x 2 half-block pixels = one 4 x 8 tile each; the upper
     * half of a cell is its fg, the lower its bg (fr_canvas_halfblock) */
    fr_canvas c;
    fr_canvas_init(&c, 2, 1, 1);
    fr_heat_opts o = {8, 16, 0, 0, 0, 0, 0, 0, FR_HEAT_LINEAR, 1.0f, 0, 0, FR_HAGG_MEAN_ABS};
    fr_plot_heatmap(&c, (fr_rect){0, 0, 2, 1}, v, &o);
    FR_CHECK(fr_canvas_at(&c, 0, 0)->fg == fr_plot_heat_colour(0.2890625f, FR_HEAT_LINEAR, 1.0f));
    FR_CHECK(fr_canvas_at(&c, 1, 0)->fg == fr_plot_heat_colour(0.5f, FR_HEAT_LINEAR, 1.0f));
    FR_CHECK(fr_canvas_at(&c, 0, 0)->bg == fr_plot_heat_colour(1.0f, FR_HEAT_LINEAR, 1.0f));
    FR_CHECK(fr_canvas_at(&c, 1, 0)->bg == fr_plot_heat_colour(0.0f, FR_HEAT_LINEAR, 1.0f));
    /* the default view of the same matrix keeps the most extreme signed shift: -1.5 in tile (0,0) */
    o.agg = FR_HAGG_EXTREME;
    fr_plot_heatmap(&c, (fr_rect){0, 0, 2, 1}, v, &o);
    FR_CHECK(fr_canvas_at(&c, 0, 0)->fg == fr_plot_heat_colour(-1.5f, FR_HEAT_LINEAR, 1.0f));
    fr_canvas_free(&c);

    /* whole tiles: 64 x 288 in 40 x 10 cells is 3.2 x 7.2 weights per pixel; the aggregate
     * geometry rounds that to 4 x 8 (uniform), the default one alternates 3-4 x 7-8 */
    fr_heat_geom t = fr_plot_heat_geom_tiled((fr_rect){0, 0, 40, 10}, 1, 64, 288, 0, 1);
    FR_CHECK(t.tile_r_lo == 4 && t.tile_r_hi == 4 && t.tile_c_lo == 8 && t.tile_c_hi == 8);
    FR_CHECK(t.sr == 0.25 && t.sc == 0.125 && t.vis_rows == 64 && t.vis_cols == 288 && t.step_r == 4 && t.step_c == 8);
    char b[64];
    fr_heatagg_label(b, sizeof b, FR_HAGG_MEAN_ABS, "shift", t.tile_r_lo, t.tile_r_hi, t.tile_c_lo, t.tile_c_hi);
    FR_CHECKF(strcmp(b, "mean |shift| per 4x8 tile") == 0, "%s", b);
    fr_heatagg_label_short(b, sizeof b, FR_HAGG_MEAN_ABS, "shift", 4, 4, 8, 8);
    FR_CHECKF(strcmp(b, "mean|shift| 4x8") == 0, "%s", b);
    t = fr_plot_heat_geom((fr_rect){0, 0, 40, 10}, 1, 64, 288, 0);
    fr_heatagg_label(b, sizeof b, FR_HAGG_EXTREME, "log2 S2", t.tile_r_lo, t.tile_r_hi, t.tile_c_lo, t.tile_c_hi);
    FR_CHECKF(strcmp(b, "max |log2 S2| per 3-4x7-8 tile") == 0, "%s", b);
    fr_heatagg_label(b, sizeof b, FR_HAGG_MEAN_ABS, "shift", 1, 1, 1, 1);
    FR_CHECKF(strcmp(b, "|shift| per weight") == 0, "%s", b);
}

/* Per-channel statistics: an outlier row and an outlier input channel planted at known indices
 * are found, listed largest first with their own aggressive fraction and mean |shift|; a layer
 * without outliers lists none. */
static void test_chanstats_outliers(void)
{
    enum { R = 16, IC = 12, G = 2, C = IC * G };   /* a conv-like layer: 12 input channels of 2 columns */
    float w[R * C], sh[R * C];
    uint8_t cls[R * C];
    for (int i = 0; i < R; i++)
        for (int j = 0; j < C; j++) {
            int k = i * C + j;
            w[k] = 0.01f * (float)(1 + (i + j) % 5) * ((i + j) % 2 ? -1.0f : 1.0f);   /* |W| <= 0.05 */
            sh[k] = 0.25f;
            cls[k] = FR_WC_INSIDE;
        }
    fr_chanstats cs;
    fr_chanstats_compute(w, sh, cls, R, IC, G, 0, &cs);
    FR_CHECKF(cs.row.n_out == 0 && cs.col.n_out == 0, "%d %d outliers in a clean layer", cs.row.n_out, cs.col.n_out);
    FR_CHECK(cs.row.n == R && cs.col.n == IC && fabsf(cs.row.median - 0.05f) < 1e-7f && cs.row.thresh > 0.29f && cs.row.thresh < 0.31f);
    fr_chanstats_free(&cs);
    /* row 9: one weight of 0.9 (18x the median max 0.05), aggressive, shift 2 */
    w[9 * C + 3] = -0.9f;
    sh[9 * C + 3] = 2.0f;
    cls[9 * C + 3] = FR_WC_AGGRESSIVE;
    /* input channel 7 (columns 14, 15): 0.4 in rows 0 and 1 -> 8x the median */
    w[0 * C + 14] = 0.4f;
    w[1 * C + 15] = 0.4f;
    /* row 4 at 0.29: below 6x 0.05 = 0.3, must not be flagged */
    w[4 * C + 0] = 0.29f;
    fr_chanstats_compute(w, sh, cls, R, IC, G, 0, &cs);
    FR_CHECKF(cs.row.n_out == 3 && cs.row.out[0] == 9 && cs.row.out[1] == 0 && cs.row.out[2] == 1,
              "rows: %d outliers, first %d", cs.row.n_out, cs.row.n_out ? cs.row.out[0] : -1);
    FR_CHECK(cs.row.max_w[9] == 0.9f && fabsf(cs.row.aggr[9] - 1.0f / C) < 1e-6f);
    FR_CHECK(fabsf(cs.row.mean_shift[9] - (23 * 0.25f + 2.0f) / C) < 1e-6f && cs.row.mean_shift[2] == 0.25f);
    /* columns: channel 1 holds column 3 (row 9's 0.9), channel 7 the two 0.4s; channel 0 has the 0.29 */
    FR_CHECKF(cs.col.n_out == 2 && cs.col.out[0] == 1 && cs.col.out[1] == 7, "cols: %d outliers", cs.col.n_out);
    FR_CHECK(fabsf(cs.col.aggr[1] - 1.0f / (R * G)) < 1e-6f && cs.col.aggr[7] == 0);
    fr_chanstats_free(&cs);
    /* without classes the scatter's band rule decides: |shift| 2 > 1 is aggressive */
    fr_chanstats_compute(w, sh, NULL, R, IC, G, 0, &cs);
    FR_CHECK(fabsf(cs.row.aggr[9] - 1.0f / C) < 1e-6f);
    fr_chanstats_free(&cs);
    /* too few channels for a median: no rule */
    fr_chanstats_compute(w, sh, cls, 3, IC, G, 0, &cs);
    FR_CHECK(cs.row.n_out == 0 && cs.row.thresh == 0);
    fr_chanstats_free(&cs);
}

static void test_layout_property(void)
{
    int bad = 0, checked = 0;
    for (int mode = 0; mode < 4; mode++)   /* main, compare, reciprocal, channels */
        for (int ex = -1; ex <= FR_L_CMP2; ex++)
            for (int expl = 0; expl < 4; expl++)   /* bit 0 explain box, bit 1 equation strip */
                for (int w = 60; w <= 320; w += 7)
                    for (int h = 16; h <= 120; h += 5) {
                        fr_layout_req q = {(fr_view_mode)mode, ex == 0 ? -1 : ex, expl & 1, expl >> 1};
                        fr_layout L;
                        int ok = fr_layout_compute(w, h, &q, &L);
                        int need_ok = w >= L.need_w && h >= L.need_h;
                        if (ok != need_ok) bad++;
                        if (!ok) continue;
                        fr_rect scr = {0, 0, w, h};
                        for (int i = 0; i < FR_L__COUNT; i++) {
                            if (L.r[i].w == 0) continue;
                            checked++;
                            if (!fr_rect_contains(scr, L.r[i])) bad++;
                            int minw = i == FR_L_HEADER || i == FR_L_STATUS || i == FR_L_BAR ? 1 : 3;
                            if (L.r[i].w < minw || L.r[i].h < 1) bad++;
                            if (i != FR_L_HEADER && i != FR_L_STATUS && i != FR_L_BAR && L.r[i].h < 4) bad++;
                            for (int j = i + 1; j < FR_L__COUNT; j++)
                                if (fr_rect_overlaps(L.r[i], L.r[j])) bad++;
                        }
                        if (L.r[FR_L_HEADER].w != w || L.r[FR_L_BAR].y != h - 1) bad++;
                        if (ex < 0 && mode == FR_MODE_MAIN && (!L.r[FR_L_HEAT].w || !L.r[FR_L_SCATTER].w || !L.r[FR_L_HIST].w)) bad++;
                        if (ex < 0 && mode == FR_MODE_COMPARE && !L.r[FR_L_CMP2].w) bad++;
                        if ((expl & 1) != (L.r[FR_L_EXPLAIN].w > 0)) bad++;
                        if ((expl >> 1) != (L.r[FR_L_EQN].w > 0)) bad++;
                    }
    FR_CHECKF(bad == 0, "%d layout violations over %d rectangles", bad, checked);
    FR_CHECK(checked > 10000);
    fr_layout L;
    fr_layout_req q = {FR_MODE_MAIN, -1, 0, 0};
    FR_CHECK(!fr_layout_compute(79, 24, &q, &L) && L.need_w == 80 && L.need_h == 24);
    FR_CHECK(fr_layout_compute(80, 24, &q, &L));
    /* the equation strip sits between the body and the explain box, full width */
    fr_layout_req qe = {FR_MODE_MAIN, -1, 1, 1};
    FR_CHECK(!fr_layout_compute(80, 31, &qe, &L) && L.need_h == 32 && fr_layout_compute(80, 32, &qe, &L));
    FR_CHECK(fr_layout_compute(100, 34, &qe, &L) && L.r[FR_L_EQN].w == 100 && L.r[FR_L_EQN].h == FR_LAYOUT_EQN_H &&
             L.r[FR_L_EQN].y + L.r[FR_L_EQN].h == L.r[FR_L_EXPLAIN].y && L.r[FR_L_HEAT].y + L.r[FR_L_HEAT].h == L.r[FR_L_EQN].y);
}

static void test_keymap_consistency(void)
{
    /* no key bound twice in one context (F-key aliases included) */
    int dups = 0;
    for (int i = 0; i < fr_keymap_len; i++)
        for (int j = i + 1; j < fr_keymap_len; j++) {
            const fr_keybind *a = &fr_keymap[i], *b = &fr_keymap[j];
            if (!(a->ctx & b->ctx)) continue;
            for (int x = 0; x < FR_KEYMAP_MAX_KEYS && a->keys[x]; x++)
                for (int y = 0; y < FR_KEYMAP_MAX_KEYS && b->keys[y]; y++)
                    if (a->keys[x] == b->keys[y]) {
                        dups++;
                        printf("  duplicate key %d in entries %d and %d\n", a->keys[x], i, j);
                    }
            if (a->fkey && a->fkey == b->fkey) dups++;
        }
    FR_CHECK(dups == 0);
    int fkeys = 0;
    for (int i = 0; i < fr_keymap_len; i++) {
        const fr_keybind *b = &fr_keymap[i];
        FR_CHECK(b->help && *b->help && b->group && b->keys[0]);
        if (b->fkey && (b->ctx & FR_CTX_NORMAL)) {
            fkeys++;
            /* every F-key action also has a printable letter / symbol */
            FR_CHECK(b->keys[0] > 32 && b->keys[0] < 127);
        }
        if (b->label) FR_CHECK(b->keys[0] > 32 && b->keys[0] < 127);   /* the bar shows letters */
        FR_CHECK(fr_keymap_lookup(b->keys[0], b->ctx) == b || (b->ctx & FR_CTX_NORMAL) == 0);
    }
    FR_CHECK(fkeys >= 8);
    /* vim keys always on */
    FR_CHECK(fr_keymap_lookup('j', FR_CTX_NORMAL)->act == FR_ACT_DOWN);
    FR_CHECK(fr_keymap_lookup('k', FR_CTX_NORMAL)->act == FR_ACT_UP);
    FR_CHECK(fr_keymap_lookup('h', FR_CTX_NORMAL)->act == FR_ACT_LEFT);
    FR_CHECK(fr_keymap_lookup('l', FR_CTX_NORMAL)->act == FR_ACT_RIGHT);
    FR_CHECK(fr_keymap_lookup('G', FR_CTX_NORMAL)->act == FR_ACT_BOTTOM);
    FR_CHECK(fr_keymap_lookup(FR_KEY_F(1), FR_CTX_NORMAL)->act == FR_ACT_HELP);
    FR_CHECK(fr_keymap_lookup('?', FR_CTX_NORMAL)->act == FR_ACT_HELP);
    FR_CHECK(fr_keymap_lookup(FR_KEY_F(10), FR_CTX_NORMAL)->act == FR_ACT_QUIT);
    FR_CHECK(fr_keymap_lookup('p', FR_CTX_NORMAL)->act == FR_ACT_PAUSE);
    FR_CHECK(fr_keymap_lookup('f', FR_CTX_NORMAL)->act == FR_ACT_FREEZE);
    FR_CHECK(fr_keymap_lookup('n', FR_CTX_CONFIRM)->act == FR_ACT_NO);
    FR_CHECK(fr_keymap_lookup('x', FR_CTX_NORMAL)->act == FR_ACT_LOSS_X);
    FR_CHECK(fr_keymap_lookup('Z', FR_CTX_NORMAL) == NULL);   /* an unbound key stays unbound */
    /* --help-keys lists every binding */
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    fr_keymap_print_help(f);
    fclose(f);
    for (int i = 0; i < fr_keymap_len; i++) FR_CHECK(strstr(buf, fr_keymap[i].help) != NULL);
    FR_CHECK(strstr(buf, "F10") && strstr(buf, "gg Home"));
    free(buf);
}

/* A layer of 1.2 M weights (a transformer projection) is subsampled for the frame rate, but a
 * lone aggressive weight at an index the subsampling steps over must still be drawn. */
static void test_scatter_keeps_rare_points(void)
{
    const int64_t n = 1200000, lone = 1000001;   /* lone % 3 != 0: the stride of 3 skips it */
    float *x = fr_xmalloc((size_t)n * sizeof *x), *y = fr_xmalloc((size_t)n * sizeof *y);
    uint8_t *cls = fr_xmalloc((size_t)n);
    for (int64_t i = 0; i < n; i++) x[i] = 0.1f + 0.2f * (float)(i % 1000) / 1000.0f, y[i] = 0.0f, cls[i] = FR_WC_INSIDE;
    x[lone] = 0.9f, y[lone] = 1.6f, cls[lone] = FR_WC_AGGRESSIVE;
    fr_canvas c;
    fr_canvas_init(&c, 60, 16, 1);
    fr_scatter_opts o = {.abs_x = 1, .xmax = 1.0f, .ymax = 2.0f, .band = 1, .cls = cls};
    fr_plot_scatter(&c, (fr_rect){0, 0, 60, 16}, x, y, n, &o);
    const uint32_t hot = fr_plot_class_colour(FR_WC_AGGRESSIVE, 0.0f);
    int found = 0;
    for (int r = 0; r < 16; r++)
        for (int q = 0; q < 60; q++) found += fr_canvas_at(&c, q, r)->fg == hot;
    FR_CHECKF(found == 1, "%d cells in the aggressive colour, want the lone point's 1", found);
    fr_canvas_free(&c);
    free(x), free(y), free(cls);
}

int main(void)
{
    FR_RUN(test_braille_bits);
    FR_RUN(test_utf8_and_ascii);
    FR_RUN(test_colour_ladder);
    FR_RUN(test_diverging_centre);
    FR_RUN(test_ema);
    FR_RUN(test_ticks_fmt);
    FR_RUN(test_heat_geom);
    FR_RUN(test_heat_head_lines);
    FR_RUN(test_heatagg_known);
    FR_RUN(test_chanstats_outliers);
    FR_RUN(test_layout_property);
    FR_RUN(test_keymap_consistency);
    FR_RUN(test_scatter_keeps_rare_points);
    return FR_REPORT();
}
