/* raster.h — an owned 8-bit RGB canvas with clipped drawing primitives and bitmap text.
 *
 * Coordinates are pixels, (0, 0) top-left; every primitive clips to the canvas, so callers may
 * draw partly outside it.  Text uses the 6x10 font of src/view/font.c (ASCII 32..126; other bytes
 * draw as '?'), scaled by an integer factor.  Not thread-safe per canvas; canvases are
 * independent.  A UTF-8 sequence outside ASCII draws as a single '?'. */
#ifndef FRTUI_RASTER_H
#define FRTUI_RASTER_H

#include <stdint.h>
#include "frtui/common.h"

#define FR_FONT_W 6
#define FR_FONT_H 10
#define FR_FONT_FIRST 32
#define FR_FONT_LAST 126
/* fr_font6x10[c - 32][row]: bit 5 = leftmost column.  Defined in src/view/font.c, transcribed from
 * assets/font6x10.txt. */
extern const uint8_t fr_font6x10[95][10];

typedef struct fr_rgb { uint8_t r, g, b; } fr_rgb;
#define FR_RGB(r_, g_, b_) ((fr_rgb){ (uint8_t)(r_), (uint8_t)(g_), (uint8_t)(b_) })

typedef struct fr_raster {
    int w, h;
    uint8_t *px;    /* w*h*3 bytes, packed RGB rows (the layout fr_png_write takes) */
} fr_raster;

/* Allocates a w x h canvas filled with bg.  w, h in [1, 16384]; returns FR_EINPUT otherwise. */
int fr_raster_init(fr_raster *r, int w, int h, fr_rgb bg, fr_err *e);
void fr_raster_free(fr_raster *r);
int fr_raster_write_png(const fr_raster *r, const char *path, fr_err *e);
/* The tail of every "render, then write the PNG" entry point: rc is the renderer's result.
 * Nonzero: returned as is and r left alone (a failed renderer holds nothing).  Zero: r is
 * written to path, then freed whether or not the write worked. */
int fr_raster_write_png_free(fr_raster *r, int rc, const char *path, fr_err *e);

fr_rgb fr_raster_get(const fr_raster *r, int x, int y);        /* outside: black */
/* alpha in [0, 1]: result = (1 - alpha) * old + alpha * c. */
void fr_raster_blend(fr_raster *r, int x, int y, fr_rgb c, float alpha);
void fr_raster_fill_rect(fr_raster *r, int x, int y, int w, int h, fr_rgb c);
void fr_raster_blend_rect(fr_raster *r, int x, int y, int w, int h, fr_rgb c, float alpha);
void fr_raster_rect(fr_raster *r, int x, int y, int w, int h, fr_rgb c);      /* 1-px outline */
void fr_raster_hline(fr_raster *r, int x0, int x1, int y, fr_rgb c);
void fr_raster_vline(fr_raster *r, int x, int y0, int y1, fr_rgb c);
/* Horizontal line drawn `on` pixels, skipped `off` pixels. */
void fr_raster_hline_dashed(fr_raster *r, int x0, int x1, int y, int on, int off, fr_rgb c);
/* Bresenham line; thickness >= 1 draws a square pen of that size. */
void fr_raster_line(fr_raster *r, int x0, int y0, int x1, int y1, int thickness, fr_rgb c);

/* Text: the top-left of the first glyph cell is at (x, y).  Returns the advance in pixels. */
int fr_raster_text(fr_raster *r, int x, int y, const char *s, int scale, fr_rgb c);
int fr_raster_text_width(const char *s, int scale);
/* Text rotated 90 degrees counter-clockwise (reads bottom to top), for y-axis labels; (x, y) is
 * the top-left of its bounding box, which is FR_FONT_H*scale wide and text_width tall. */
void fr_raster_text_up(fr_raster *r, int x, int y, const char *s, int scale, fr_rgb c);
/* Text horizontally centred on cx. */
void fr_raster_text_centered(fr_raster *r, int cx, int y, const char *s, int scale, fr_rgb c);

#endif
