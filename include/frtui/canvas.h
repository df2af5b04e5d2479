/* canvas.h — the cell grid every view renders into, plus braille dot and half-block helpers.
 *
 * Design note
 *   A frame is a plain array of cells {codepoint, fg, bg, attr}; colours are packed role or RGB
 *   values (colour.h), so the same frame can be printed as text (--dump-screen, golden tests)
 *   or handed to curses (tui.c, the only curses user).  All glyphs used are single-width.
 *   In ASCII mode (utf8 = 0) drawing helpers substitute ASCII for box drawing, braille and
 *   blocks, so callers draw once and the grid stays valid in both modes.
 *
 *   Ownership: fr_canvas owns its cell array; fr_dots owns its masks.  Not thread-safe; each
 *   thread renders into its own canvas.
 */
#ifndef FRTUI_CANVAS_H
#define FRTUI_CANVAS_H

#include <stdint.h>
#include <stdio.h>
#include "frtui/colour.h"

enum { FR_A_BOLD = 1, FR_A_DIM = 2, FR_A_REVERSE = 4, FR_A_UNDERLINE = 8 };

typedef struct fr_cell {
    uint32_t cp;      /* Unicode code point (single-width); ' ' for empty */
    uint32_t fg, bg;  /* packed colours (FR_COL_*); 0 = terminal default */
    uint16_t attr;    /* FR_A_* */
} fr_cell;

typedef struct fr_rect { int x, y, w, h; } fr_rect;

typedef struct fr_canvas {
    int cols, rows;
    int utf8;         /* 0: only ASCII code points are ever stored */
    fr_cell *cells;   /* [rows * cols], row-major, owned */
} fr_canvas;

void fr_canvas_init(fr_canvas *c, int cols, int rows, int utf8);   /* cols, rows >= 1 */
void fr_canvas_free(fr_canvas *c);
void fr_canvas_resize(fr_canvas *c, int cols, int rows);          /* contents cleared */
void fr_canvas_clear(fr_canvas *c);
fr_cell *fr_canvas_at(fr_canvas *c, int x, int y);                 /* NULL outside */
/* Writes one cell (clipped).  Non-ASCII code points are transliterated in ASCII mode. */
void fr_canvas_put(fr_canvas *c, int x, int y, uint32_t cp, uint32_t fg, uint32_t bg, uint16_t attr);
/* Writes UTF-8 text starting at (x, y), at most maxw cells (maxw <= 0 writes nothing, so
 * computed widths need no guard).  bg 0 keeps the existing background.  Returns cells written. */
int fr_canvas_text(fr_canvas *c, int x, int y, int maxw, const char *s, uint32_t fg, uint32_t bg, uint16_t attr);
void fr_canvas_fill(fr_canvas *c, fr_rect r, uint32_t cp, uint32_t fg, uint32_t bg, uint16_t attr);
/* Box with a title in the top border; `focus` draws it with the focus role and heavy title. */
void fr_canvas_box(fr_canvas *c, fr_rect r, const char *title, int focus);
void fr_canvas_hline(fr_canvas *c, int x, int y, int w, uint32_t cp, uint32_t fg);
/* Half-block pixel pair: upper half `top`, lower half `bot` (both RGB or role colours). */
void fr_canvas_halfblock(fr_canvas *c, int x, int y, uint32_t top, uint32_t bot);

/* ASCII stand-in for a code point (box drawing, braille, blocks, arrows, Greek...). */
uint32_t fr_canvas_ascii(uint32_t cp);
/* Encodes cp as UTF-8 into out (>= 4 bytes); returns the length. */
int fr_utf8_encode(uint32_t cp, char *out);
/* Decodes one code point from s (advances *s); invalid bytes decode as '?'. */
uint32_t fr_utf8_decode(const char **s);
int fr_utf8_width(const char *s);   /* cells (= code points; all our glyphs are single-width) */

/* ---- braille dot canvas: 2 x 4 dots per cell ---- */
typedef struct fr_dots {
    int cw, ch;          /* size in cells */
    int w, h;            /* size in dots (2*cw, 4*ch) */
    uint8_t *mask;       /* [cw*ch] braille bit masks */
    uint32_t *col;       /* [cw*ch] colour of the cell (last layer wins) */
    uint16_t *count;     /* [cw*ch] dots set into the cell (with repeats), for density */
    uint8_t *layer;      /* [cw*ch] highest layer that touched the cell */
} fr_dots;

/* Braille bit for dot (dx in 0..1, dy in 0..3) within a cell: Unicode U+2800 numbering. */
uint8_t fr_braille_bit(int dx, int dy);
void fr_dots_init(fr_dots *d, int cw, int ch);
void fr_dots_free(fr_dots *d);
/* Sets dot (x, y) (clipped).  A higher `layer` replaces the cell's colour and, when
 * `exclusive`, the dots of lower layers (so a line drawn over an envelope stays crisp). */
void fr_dots_set(fr_dots *d, int x, int y, uint32_t col, int layer, int exclusive);
void fr_dots_vline(fr_dots *d, int x, int y0, int y1, uint32_t col, int layer, int exclusive);
/* Copies non-empty cells to the canvas at (x0, y0).  UTF-8: braille glyphs; ASCII: a glyph
 * from the dot rows used (' . : ' ...) or `ascii_mark` for the top layer when non-zero. */
void fr_dots_blit(const fr_dots *d, fr_canvas *c, int x0, int y0, int top_layer, uint32_t ascii_mark);

/* ---- text output ---- */
typedef struct fr_text_opts {
    int depth;                 /* 0 mono (no escapes), 16, 256, 24 */
    const fr_palette *pal;     /* NULL: dark */
    int keep_trailing;         /* 0: strip trailing blanks of each line (mono only) */
} fr_text_opts;
/* Prints the grid as UTF-8 (or ASCII when c->utf8 == 0) lines with SGR escapes per depth. */
void fr_canvas_write(const fr_canvas *c, FILE *out, const fr_text_opts *o);
/* The SGR sequence for one colour pair at a depth (for tests); returns length. */
int fr_canvas_sgr(char *buf, size_t n, const fr_palette *p, uint32_t fg, uint32_t bg, uint16_t attr, int depth);

#endif
