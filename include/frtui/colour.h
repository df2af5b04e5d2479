/* colour.h — semantic colour roles, palettes and the colour-depth ladder.
 *
 * Rendering code never names a colour: it names a role (FR_R_AXIS, FR_R_LOSS_EMA, ...) or,
 * for data (heatmaps, density), an RGB value.  A palette maps roles to RGB; the output stage
 * (canvas text writer or curses front end) then walks down the ladder
 *     truecolor (24) -> 256 (xterm cube + grey ramp, tmux colour_find_rgb) -> 16 -> mono (0)
 * only as far as the terminal requires.
 *
 * Colour values in cells are packed uint32: see FR_COL_* below.  0 is "terminal default".
 */
#ifndef FRTUI_COLOUR_H
#define FRTUI_COLOUR_H

#include <stdint.h>
#include "frtui/raster.h"   /* fr_rgb */

typedef enum fr_role {
    FR_R_DEFAULT = 0,
    FR_R_TEXT, FR_R_DIM, FR_R_TITLE, FR_R_BORDER, FR_R_BORDER_FOCUS, FR_R_AXIS, FR_R_LABEL,
    FR_R_LOSS_RAW, FR_R_LOSS_EMA, FR_R_SELECTION_BG, FR_R_CURSOR, FR_R_GOOD, FR_R_BAD, FR_R_WARN,
    FR_R_RUNNING, FR_R_PENDING, FR_R_DONE, FR_R_KEY, FR_R_BAR_BG, FR_R_BAR_TEXT, FR_R_POINT,
    FR_R_POINT_HOT, FR_R_BAND, FR_R_HIST, FR_R_HIST_ALT, FR_R_RTN, FR_R_ADAROUND, FR_R_FLEXROUND,
    FR_R_DISABLED, FR_R_HEADER_BG, FR_R_OVERLAY_BG,
    FR_R__COUNT
} fr_role;

/* Packed colour: bits 24..31 tag, low 24 bits payload. */
#define FR_COL_DEFAULT 0u
#define FR_COL_TAG_ROLE 1u
#define FR_COL_TAG_RGB 2u
#define FR_COL_ROLE(r) ((FR_COL_TAG_ROLE << 24) | (uint32_t)(r))
#define FR_COL_RGB(r, g, b) ((FR_COL_TAG_RGB << 24) | ((uint32_t)(r) << 16) | ((uint32_t)(g) << 8) | (uint32_t)(b))
#define FR_COL_TAG(c) ((c) >> 24)

typedef struct fr_palette {
    const char *name;
    fr_rgb role[FR_R__COUNT];
    uint8_t role16[FR_R__COUNT];   /* hand-picked ANSI 0..15 per role (better than nearest-RGB) */
} fr_palette;

/* Built-in palettes: "dark" (default) and "light".  NULL name -> dark.  Unknown -> NULL. */
const fr_palette *fr_colour_palette(const char *name);

/* Colour depth: 0 = mono, 16, 256, 24 (truecolor). */
int fr_colour_depth_from_env(void);   /* NO_COLOR -> 0; COLORTERM=truecolor/24bit -> 24; *256color* -> 256; else 16 */

/* tmux colour_find_rgb: nearest of the 6x6x6 cube and the 24-step grey ramp (returns 16..255). */
int fr_colour_rgb_to_256(fr_rgb c);
fr_rgb fr_colour_256_to_rgb(int idx);
int fr_colour_rgb_to_16(fr_rgb c);   /* nearest of the xterm 16-colour palette */

/* Resolves a packed colour to RGB with palette p.  Returns 0 for FR_COL_DEFAULT (no colour). */
int fr_colour_resolve(const fr_palette *p, uint32_t col, fr_rgb *out);
/* Resolves to an index at the given depth (16 or 256); -1 for default. */
int fr_colour_index(const fr_palette *p, uint32_t col, int depth);

/* Diverging map for t in [-1, 1]: blue (t<0) -> neutral grey (0) -> orange/red (t>0), monotone
 * in lightness on each side.  NaN -> magenta. */
fr_rgb fr_colour_diverging(float t);
/* S heatmap: t = clamp(log2(s) / log2_range, -1, 1), so S = 1 is the centre. */
float fr_colour_log_t(float s, float log2_range);
/* Sequential density ramp for t in [0, 1] from `lo` to `hi`. */
fr_rgb fr_colour_lerp(fr_rgb lo, fr_rgb hi, float t);

#endif
