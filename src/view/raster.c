/* raster.c — RGB canvas, clipped primitives, bitmap text.
 *
 * Design note
 *   The canvas owns its pixel buffer (fr_raster_init / fr_raster_free).  All primitives clip
 *   per pixel through put(), which keeps them short and obviously memory-safe; plots are small
 *   (well under 10 Mpx), so the per-pixel bounds check costs nothing that matters.
 */
#include "frtui/raster.h"
#include "frtui/png.h"

#include <stdlib.h>
#include <string.h>

int fr_raster_init(fr_raster *r, int w, int h, fr_rgb bg, fr_err *e)
{
    r->w = r->h = 0;
    r->px = NULL;
    if (w < 1 || h < 1 || w > FR_PNG_MAX_DIM || h > FR_PNG_MAX_DIM)
        return fr_err_set(e, FR_EINPUT, "image size %dx%d out of range (1..%d)", w, h, FR_PNG_MAX_DIM);
    r->px = fr_xmalloc((size_t)w * h * 3);
    r->w = w;
    r->h = h;
    for (size_t i = 0; i < (size_t)w * h; i++) {
        r->px[3 * i] = bg.r;
        r->px[3 * i + 1] = bg.g;
        r->px[3 * i + 2] = bg.b;
    }
    return FR_OK;
}

void fr_raster_free(fr_raster *r)
{
    free(r->px);
    r->px = NULL;
    r->w = r->h = 0;
}

int fr_raster_write_png(const fr_raster *r, const char *path, fr_err *e)
{
    return fr_png_write(path, r->px, r->w, r->h, e);
}

int fr_raster_write_png_free(fr_raster *r, int rc, const char *path, fr_err *e)
{
    if (rc) return rc;
    rc = fr_raster_write_png(r, path, e);
    fr_raster_free(r);
    return rc;
}

static inline void put(fr_raster *r, int x, int y, fr_rgb c)
{
    if (x < 0 || y < 0 || x >= r->w || y >= r->h) return;
    uint8_t *p = r->px + 3 * ((size_t)y * r->w + x);
    p[0] = c.r; p[1] = c.g; p[2] = c.b;
}

fr_rgb fr_raster_get(const fr_raster *r, int x, int y)
{
    if (x < 0 || y < 0 || x >= r->w || y >= r->h) return FR_RGB(0, 0, 0);
    const uint8_t *p = r->px + 3 * ((size_t)y * r->w + x);
    return FR_RGB(p[0], p[1], p[2]);
}

void fr_raster_blend(fr_raster *r, int x, int y, fr_rgb c, float alpha)
{
    if (x < 0 || y < 0 || x >= r->w || y >= r->h) return;
    if (alpha <= 0) return;
    if (alpha > 1) alpha = 1;
    uint8_t *p = r->px + 3 * ((size_t)y * r->w + x);
    const uint8_t src[3] = { c.r, c.g, c.b };
    for (int k = 0; k < 3; k++) p[k] = (uint8_t)(p[k] + (src[k] - p[k]) * alpha + 0.5f);
}

void fr_raster_fill_rect(fr_raster *r, int x, int y, int w, int h, fr_rgb c)
{
    int x0 = FR_MAX(x, 0), y0 = FR_MAX(y, 0);
    int x1 = FR_MIN(x + w, r->w), y1 = FR_MIN(y + h, r->h);
    for (int yy = y0; yy < y1; yy++)
        for (int xx = x0; xx < x1; xx++) put(r, xx, yy, c);
}

void fr_raster_blend_rect(fr_raster *r, int x, int y, int w, int h, fr_rgb c, float alpha)
{
    int x0 = FR_MAX(x, 0), y0 = FR_MAX(y, 0);
    int x1 = FR_MIN(x + w, r->w), y1 = FR_MIN(y + h, r->h);
    for (int yy = y0; yy < y1; yy++)
        for (int xx = x0; xx < x1; xx++) fr_raster_blend(r, xx, yy, c, alpha);
}

void fr_raster_hline(fr_raster *r, int x0, int x1, int y, fr_rgb c)
{
    if (x0 > x1) { int t = x0; x0 = x1; x1 = t; }
    if (y < 0 || y >= r->h) return;
    x0 = FR_MAX(x0, 0);
    x1 = FR_MIN(x1, r->w - 1);
    for (int x = x0; x <= x1; x++) put(r, x, y, c);
}

void fr_raster_vline(fr_raster *r, int x, int y0, int y1, fr_rgb c)
{
    if (y0 > y1) { int t = y0; y0 = y1; y1 = t; }
    if (x < 0 || x >= r->w) return;
    y0 = FR_MAX(y0, 0);
    y1 = FR_MIN(y1, r->h - 1);
    for (int y = y0; y <= y1; y++) put(r, x, y, c);
}

void fr_raster_rect(fr_raster *r, int x, int y, int w, int h, fr_rgb c)
{
    if (w < 1 || h < 1) return;
    fr_raster_hline(r, x, x + w - 1, y, c);
    fr_raster_hline(r, x, x + w - 1, y + h - 1, c);
    fr_raster_vline(r, x, y, y + h - 1, c);
    fr_raster_vline(r, x + w - 1, y, y + h - 1, c);
}

void fr_raster_hline_dashed(fr_raster *r, int x0, int x1, int y, int on, int off, fr_rgb c)
{
    if (x0 > x1) { int t = x0; x0 = x1; x1 = t; }
    if (on < 1) on = 1;
    if (off < 0) off = 0;
    for (int x = x0; x <= x1; x++)
        if ((x - x0) % (on + off) < on) put(r, x, y, c);
}

void fr_raster_line(fr_raster *r, int x0, int y0, int x1, int y1, int thickness, fr_rgb c)
{
    if (thickness < 1) thickness = 1;
    int off = (thickness - 1) / 2;
    /* Far-off endpoints (e.g. a value mapped outside the plot) would make the walk long; the
     * caller clips to a rectangle first, so only guard against absurd coordinates here. */
    const int lim = 1 << 20;
    if (abs(x0) > lim || abs(x1) > lim || abs(y0) > lim || abs(y1) > lim) return;
    int dx = abs(x1 - x0), sx = x0 < x1 ? 1 : -1;
    int dy = -abs(y1 - y0), sy = y0 < y1 ? 1 : -1;
    int err = dx + dy;
    for (;;) {
        if (thickness == 1) put(r, x0, y0, c);
        else fr_raster_fill_rect(r, x0 - off, y0 - off, thickness, thickness, c);
        if (x0 == x1 && y0 == y1) break;
        int e2 = 2 * err;
        if (e2 >= dy) { err += dy; x0 += sx; }
        if (e2 <= dx) { err += dx; y0 += sy; }
    }
}

static const uint8_t *glyph(unsigned char ch)
{
    if (ch < FR_FONT_FIRST || ch > FR_FONT_LAST) ch = '?';
    return fr_font6x10[ch - FR_FONT_FIRST];
}

/* UTF-8 continuation bytes draw nothing, so each non-ASCII code point is one '?' cell. */
static int is_cont(unsigned char ch) { return (ch & 0xc0) == 0x80; }

int fr_raster_text_width(const char *s, int scale)
{
    if (scale < 1) scale = 1;
    int n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) n += !is_cont(*p);
    return n * FR_FONT_W * scale;
}

int fr_raster_text(fr_raster *r, int x, int y, const char *s, int scale, fr_rgb c)
{
    if (scale < 1) scale = 1;
    int x0 = x;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (is_cont(*p)) continue;
        const uint8_t *g = glyph(*p);
        for (int row = 0; row < FR_FONT_H; row++)
            for (int col = 0; col < FR_FONT_W; col++)
                if (g[row] & (1u << (FR_FONT_W - 1 - col)))
                    fr_raster_fill_rect(r, x + col * scale, y + row * scale, scale, scale, c);
        x += FR_FONT_W * scale;
    }
    return x - x0;
}

void fr_raster_text_up(fr_raster *r, int x, int y, const char *s, int scale, fr_rgb c)
{
    if (scale < 1) scale = 1;
    int len = fr_raster_text_width(s, scale);
    /* Glyph pixel (col, row) of a string laid out horizontally maps to (row, len - 1 - col). */
    int cx = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (is_cont(*p)) continue;
        const uint8_t *g = glyph(*p);
        for (int row = 0; row < FR_FONT_H; row++)
            for (int col = 0; col < FR_FONT_W; col++)
                if (g[row] & (1u << (FR_FONT_W - 1 - col)))
                    fr_raster_fill_rect(r, x + row * scale, y + len - (cx + col + 1) * scale, scale, scale, c);
        cx += FR_FONT_W;
    }
}

void fr_raster_text_centered(fr_raster *r, int cx, int y, const char *s, int scale, fr_rgb c)
{
    fr_raster_text(r, cx - fr_raster_text_width(s, scale) / 2, y, s, scale, c);
}
