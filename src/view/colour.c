/* colour.c — palettes, RGB -> 256 -> 16 mapping, and the data colour maps (colour.h).
 *
 * Design note
 *   Pure functions and constant tables only; safe from any thread.  The 256-colour mapping is
 *   tmux's colour_find_rgb (cube vs grey ramp by squared distance), so a truecolor palette
 *   degrades the way users already know from tmux.  The diverging map interpolates in sRGB
 *   between anchors that are exact xterm-256 colours, chosen so lightness rises monotonically
 *   away from the centre on both sides, so the 256-colour rendering stays ordered (tested). */
#include "frtui/colour.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ANSI 16: 0 black 1 red 2 green 3 yellow 4 blue 5 magenta 6 cyan 7 white, +8 bright. */
static const fr_palette pal_dark = {
    "dark",
    {
        [FR_R_DEFAULT] = {200, 200, 200}, [FR_R_TEXT] = {208, 208, 208}, [FR_R_DIM] = {118, 118, 118},
        [FR_R_TITLE] = {135, 215, 255}, [FR_R_BORDER] = {88, 88, 88}, [FR_R_BORDER_FOCUS] = {95, 175, 255},
        [FR_R_AXIS] = {108, 108, 108}, [FR_R_LABEL] = {158, 158, 158}, [FR_R_LOSS_RAW] = {95, 110, 135},
        [FR_R_LOSS_EMA] = {255, 200, 80}, [FR_R_SELECTION_BG] = {38, 58, 88}, [FR_R_CURSOR] = {255, 255, 255},
        [FR_R_GOOD] = {135, 215, 135}, [FR_R_BAD] = {255, 110, 90}, [FR_R_WARN] = {255, 200, 80},
        [FR_R_RUNNING] = {255, 200, 80}, [FR_R_PENDING] = {118, 118, 118}, [FR_R_DONE] = {135, 215, 135},
        [FR_R_KEY] = {0, 0, 0}, [FR_R_BAR_BG] = {95, 175, 215}, [FR_R_BAR_TEXT] = {208, 208, 208},
        [FR_R_POINT] = {95, 175, 215}, [FR_R_POINT_HOT] = {255, 130, 80}, [FR_R_BAND] = {98, 98, 98},
        [FR_R_HIST] = {95, 175, 215}, [FR_R_HIST_ALT] = {215, 135, 215}, [FR_R_RTN] = {175, 175, 175},
        [FR_R_ADAROUND] = {135, 175, 255}, [FR_R_FLEXROUND] = {255, 175, 95}, [FR_R_DISABLED] = {78, 78, 78},
        [FR_R_HEADER_BG] = {28, 28, 40}, [FR_R_OVERLAY_BG] = {24, 24, 32},
    },
    {
        [FR_R_DEFAULT] = 7, [FR_R_TEXT] = 7, [FR_R_DIM] = 8, [FR_R_TITLE] = 14, [FR_R_BORDER] = 8,
        [FR_R_BORDER_FOCUS] = 12, [FR_R_AXIS] = 8, [FR_R_LABEL] = 7, [FR_R_LOSS_RAW] = 4,
        [FR_R_LOSS_EMA] = 11, [FR_R_SELECTION_BG] = 4, [FR_R_CURSOR] = 15, [FR_R_GOOD] = 10,
        [FR_R_BAD] = 9, [FR_R_WARN] = 11, [FR_R_RUNNING] = 11, [FR_R_PENDING] = 8, [FR_R_DONE] = 10,
        [FR_R_KEY] = 0, [FR_R_BAR_BG] = 6, [FR_R_BAR_TEXT] = 7, [FR_R_POINT] = 6, [FR_R_POINT_HOT] = 9,
        [FR_R_BAND] = 8, [FR_R_HIST] = 6, [FR_R_HIST_ALT] = 5, [FR_R_RTN] = 7, [FR_R_ADAROUND] = 12,
        [FR_R_FLEXROUND] = 11, [FR_R_DISABLED] = 8, [FR_R_HEADER_BG] = 0, [FR_R_OVERLAY_BG] = 0,
    },
};

static const fr_palette pal_light = {
    "light",
    {
        [FR_R_DEFAULT] = {40, 40, 40}, [FR_R_TEXT] = {30, 30, 30}, [FR_R_DIM] = {128, 128, 128},
        [FR_R_TITLE] = {0, 95, 175}, [FR_R_BORDER] = {168, 168, 168}, [FR_R_BORDER_FOCUS] = {0, 95, 215},
        [FR_R_AXIS] = {138, 138, 138}, [FR_R_LABEL] = {88, 88, 88}, [FR_R_LOSS_RAW] = {175, 185, 205},
        [FR_R_LOSS_EMA] = {215, 95, 0}, [FR_R_SELECTION_BG] = {215, 228, 248}, [FR_R_CURSOR] = {0, 0, 0},
        [FR_R_GOOD] = {0, 135, 0}, [FR_R_BAD] = {215, 0, 0}, [FR_R_WARN] = {175, 95, 0},
        [FR_R_RUNNING] = {175, 95, 0}, [FR_R_PENDING] = {138, 138, 138}, [FR_R_DONE] = {0, 135, 0},
        [FR_R_KEY] = {255, 255, 255}, [FR_R_BAR_BG] = {0, 95, 175}, [FR_R_BAR_TEXT] = {30, 30, 30},
        [FR_R_POINT] = {0, 95, 175}, [FR_R_POINT_HOT] = {215, 55, 0}, [FR_R_BAND] = {178, 178, 178},
        [FR_R_HIST] = {0, 95, 175}, [FR_R_HIST_ALT] = {135, 0, 135}, [FR_R_RTN] = {88, 88, 88},
        [FR_R_ADAROUND] = {0, 95, 215}, [FR_R_FLEXROUND] = {215, 95, 0}, [FR_R_DISABLED] = {188, 188, 188},
        [FR_R_HEADER_BG] = {228, 228, 236}, [FR_R_OVERLAY_BG] = {245, 245, 250},
    },
    {
        [FR_R_DEFAULT] = 0, [FR_R_TEXT] = 0, [FR_R_DIM] = 8, [FR_R_TITLE] = 4, [FR_R_BORDER] = 8,
        [FR_R_BORDER_FOCUS] = 4, [FR_R_AXIS] = 8, [FR_R_LABEL] = 0, [FR_R_LOSS_RAW] = 8,
        [FR_R_LOSS_EMA] = 1, [FR_R_SELECTION_BG] = 14, [FR_R_CURSOR] = 0, [FR_R_GOOD] = 2,
        [FR_R_BAD] = 1, [FR_R_WARN] = 3, [FR_R_RUNNING] = 3, [FR_R_PENDING] = 8, [FR_R_DONE] = 2,
        [FR_R_KEY] = 15, [FR_R_BAR_BG] = 4, [FR_R_BAR_TEXT] = 0, [FR_R_POINT] = 4, [FR_R_POINT_HOT] = 1,
        [FR_R_BAND] = 8, [FR_R_HIST] = 4, [FR_R_HIST_ALT] = 5, [FR_R_RTN] = 8, [FR_R_ADAROUND] = 4,
        [FR_R_FLEXROUND] = 1, [FR_R_DISABLED] = 7, [FR_R_HEADER_BG] = 7, [FR_R_OVERLAY_BG] = 15,
    },
};

const fr_palette *fr_colour_palette(const char *name)
{
    if (!name || !*name || strcmp(name, "dark") == 0) return &pal_dark;
    if (strcmp(name, "light") == 0) return &pal_light;
    return NULL;
}

int fr_colour_depth_from_env(void)
{
    const char *nc = getenv("NO_COLOR");
    if (nc && *nc) return 0;
    const char *ct = getenv("COLORTERM");
    if (ct && (strcmp(ct, "truecolor") == 0 || strcmp(ct, "24bit") == 0)) return 24;
    const char *term = getenv("TERM");
    if (term && (strstr(term, "direct"))) return 24;
    if (term && strstr(term, "256")) return 256;
    if (term && strcmp(term, "dumb") == 0) return 0;
    return 16;
}

static int dist_sq(int R, int G, int B, int r, int g, int b)
{
    return (R - r) * (R - r) + (G - g) * (G - g) + (B - b) * (B - b);
}

static int to_6cube(int v)
{
    if (v < 48) return 0;
    if (v < 114) return 1;
    return (v - 35) / 40;
}

static const int q2c[6] = {0x00, 0x5f, 0x87, 0xaf, 0xd7, 0xff};

int fr_colour_rgb_to_256(fr_rgb c)
{
    int r = c.r, g = c.g, b = c.b;
    int qr = to_6cube(r), qg = to_6cube(g), qb = to_6cube(b);
    int cr = q2c[qr], cg = q2c[qg], cb = q2c[qb];
    if (cr == r && cg == g && cb == b) return 16 + 36 * qr + 6 * qg + qb;
    int grey_avg = (r + g + b) / 3;
    int grey_idx = grey_avg > 238 ? 23 : (grey_avg - 3) / 10;
    if (grey_idx < 0) grey_idx = 0;
    int grey = 8 + 10 * grey_idx;
    int d = dist_sq(cr, cg, cb, r, g, b);
    if (dist_sq(grey, grey, grey, r, g, b) < d) return 232 + grey_idx;
    return 16 + 36 * qr + 6 * qg + qb;
}

static const fr_rgb ansi16[16] = {
    {0, 0, 0}, {205, 0, 0}, {0, 205, 0}, {205, 205, 0}, {0, 0, 238}, {205, 0, 205}, {0, 205, 205},
    {229, 229, 229}, {127, 127, 127}, {255, 0, 0}, {0, 255, 0}, {255, 255, 0}, {92, 92, 255},
    {255, 0, 255}, {0, 255, 255}, {255, 255, 255},
};

fr_rgb fr_colour_256_to_rgb(int idx)
{
    if (idx < 0) idx = 0;
    if (idx < 16) return ansi16[idx];
    if (idx >= 232) {
        int v = 8 + 10 * (idx - 232);
        return FR_RGB(v, v, v);
    }
    idx -= 16;
    return FR_RGB(q2c[idx / 36], q2c[(idx / 6) % 6], q2c[idx % 6]);
}

int fr_colour_rgb_to_16(fr_rgb c)
{
    /* Nearest by squared distance, but with chroma kept: greys only match greys, so a dark
     * blue does not collapse to black. */
    int best = 0, bd = 1 << 30;
    int mx = FR_MAX(c.r, FR_MAX(c.g, c.b)), mn = FR_MIN(c.r, FR_MIN(c.g, c.b));
    int grey = (mx - mn) < 24;
    for (int i = 0; i < 16; i++) {
        fr_rgb a = ansi16[i];
        int amx = FR_MAX(a.r, FR_MAX(a.g, a.b)), amn = FR_MIN(a.r, FR_MIN(a.g, a.b));
        int agrey = (amx - amn) < 24;
        int d = dist_sq(a.r, a.g, a.b, c.r, c.g, c.b) + (grey != agrey ? 40000 : 0);
        if (d < bd) { bd = d; best = i; }
    }
    return best;
}

int fr_colour_resolve(const fr_palette *p, uint32_t col, fr_rgb *out)
{
    if (!p) p = &pal_dark;
    switch (FR_COL_TAG(col)) {
    case FR_COL_TAG_ROLE: {
        uint32_t r = col & 0xffffff;
        if (r >= FR_R__COUNT) r = FR_R_TEXT;
        *out = p->role[r];
        return 1;
    }
    case FR_COL_TAG_RGB:
        *out = FR_RGB((col >> 16) & 255, (col >> 8) & 255, col & 255);
        return 1;
    default:
        return 0;
    }
}

int fr_colour_index(const fr_palette *p, uint32_t col, int depth)
{
    if (!p) p = &pal_dark;
    fr_rgb c;
    if (!fr_colour_resolve(p, col, &c)) return -1;
    if (depth == 16) {
        if (FR_COL_TAG(col) == FR_COL_TAG_ROLE) {
            uint32_t r = col & 0xffffff;
            return p->role16[r < FR_R__COUNT ? r : FR_R_TEXT];
        }
        return fr_colour_rgb_to_16(c);
    }
    return fr_colour_rgb_to_256(c);
}

fr_rgb fr_colour_lerp(fr_rgb lo, fr_rgb hi, float t)
{
    if (!(t > 0)) t = 0;
    if (t > 1) t = 1;
    return FR_RGB(lo.r + (hi.r - lo.r) * t + 0.5f, lo.g + (hi.g - lo.g) * t + 0.5f, lo.b + (hi.b - lo.b) * t + 0.5f);
}

fr_rgb fr_colour_diverging(float t)
{
    /* 15 anchors, evenly spaced over t in [-1, 1]; every anchor is an exact xterm-256 cube
     * or grey-ramp colour, so the 256-colour rendering hits the anchors themselves and stays
     * ordered.  The centre is a quiet grey (visible against a black background) so only
     * departures from S = 1 draw the eye; lightness rises away from it on both sides. */
    static const fr_rgb a[15] = {
        {175, 215, 255}, {135, 215, 255}, {135, 175, 255}, {95, 175, 215}, {95, 135, 215}, {0, 135, 175}, {0, 95, 175},
        {58, 58, 58},
        {175, 95, 0}, {215, 95, 0}, {215, 135, 0}, {255, 135, 0}, {255, 175, 0}, {255, 175, 95}, {255, 215, 135},
    };
    if (isnan(t)) return FR_RGB(255, 0, 255);
    if (t < -1) t = -1;
    if (t > 1) t = 1;
    float x = (t + 1) * 7;   /* 0..14 */
    int i = (int)x;
    if (i >= 14) i = 13;
    return fr_colour_lerp(a[i], a[i + 1], x - i);
}

float fr_colour_log_t(float s, float log2_range)
{
    if (isnan(s)) return NAN;
    if (!(s > 0)) return -1;
    float t = log2f(s) / (log2_range > 0 ? log2_range : 1);
    return t < -1 ? -1 : t > 1 ? 1 : t;
}
