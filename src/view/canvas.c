/* canvas.c — cell grid, braille dots, half-blocks, ASCII fallbacks and text output (canvas.h).
 *
 * Design note
 *   The grid is the single intermediate representation of a frame: views draw into it, the
 *   curses front end and the headless writer read it.  Transliteration to ASCII happens at
 *   write time into the grid (fr_canvas_put), so an ASCII frame never contains a non-ASCII
 *   code point and golden files compare byte for byte.
 *
 *   Braille numbering (Unicode): dots 1,2,3 are the left column top-down (bits 0,1,2), dots
 *   4,5,6 the right column (bits 3,4,5), and dots 7,8 the bottom row (bits 6 left, 7 right).
 */
#include "frtui/canvas.h"

#include <stdlib.h>
#include <string.h>

#include "frtui/common.h"

void fr_canvas_init(fr_canvas *c, int cols, int rows, int utf8)
{
    FR_ASSERT(cols >= 1 && rows >= 1);
    c->cols = cols;
    c->rows = rows;
    c->utf8 = utf8;
    c->cells = fr_xmalloc((size_t)cols * rows * sizeof *c->cells);
    fr_canvas_clear(c);
}

void fr_canvas_free(fr_canvas *c)
{
    free(c->cells);
    c->cells = NULL;
    c->cols = c->rows = 0;
}

void fr_canvas_resize(fr_canvas *c, int cols, int rows)
{
    if (cols == c->cols && rows == c->rows && c->cells) {
        fr_canvas_clear(c);
        return;
    }
    int utf8 = c->utf8;
    fr_canvas_free(c);
    fr_canvas_init(c, cols, rows, utf8);
}

void fr_canvas_clear(fr_canvas *c)
{
    size_t n = (size_t)c->cols * c->rows;
    for (size_t i = 0; i < n; i++) c->cells[i] = (fr_cell){' ', 0, 0, 0};
}

fr_cell *fr_canvas_at(fr_canvas *c, int x, int y)
{
    if (x < 0 || y < 0 || x >= c->cols || y >= c->rows) return NULL;
    return &c->cells[(size_t)y * c->cols + x];
}

uint32_t fr_canvas_ascii(uint32_t cp)
{
    if (cp < 0x80) return cp;
    if (cp >= 0x2800 && cp <= 0x28ff) {
        unsigned m = cp - 0x2800;
        int top = (m & 0x1b) != 0, bot = (m & 0xe4) != 0;
        return top && bot ? ':' : top ? '\'' : bot ? '.' : ' ';
    }
    switch (cp) {
    case 0x2500: case 0x2501: case 0x2504: case 0x2508: case 0x254c: return '-';
    case 0x2502: case 0x2503: case 0x2506: case 0x250a: case 0x254e: return '|';
    case 0x250c: case 0x2510: case 0x2514: case 0x2518: case 0x251c: case 0x2524:
    case 0x252c: case 0x2534: case 0x253c: case 0x256d: case 0x256e: case 0x256f: case 0x2570:
    case 0x250f: case 0x2513: case 0x2517: case 0x251b: return '+';
    case 0x2581: case 0x2582: return '_';
    case 0x2583: case 0x2584: case 0x2585: case 0x2586: case 0x2587: case 0x2588: return '#';
    case 0x2580: return '"';
    case 0x2591: return '.';
    case 0x2592: return ':';
    case 0x2593: return '#';
    case 0x25b6: case 0x25b8: case 0x2192: case 0x276f: return '>';
    case 0x25c0: case 0x25c2: case 0x2190: return '<';
    case 0x25b2: case 0x25b4: case 0x2191: return '^';
    case 0x25bc: case 0x25be: case 0x2193: return 'v';
    case 0x2713: case 0x2714: return '+';
    case 0x00b7: case 0x2022: case 0x2219: return '.';
    case 0x25cf: case 0x25c6: return '*';
    case 0x00b1: return '~';
    case 0x00d7: return 'x';
    case 0x2264: return '<';
    case 0x2265: return '>';
    case 0x2248: return '~';
    case 0x2202: return 'd';
    case 0x03bb: return 'L';
    case 0x2026: return '_';
    case 0x2016: return '|';
    case 0x23f8: return '=';
    default: return '?';
    }
}

void fr_canvas_put(fr_canvas *c, int x, int y, uint32_t cp, uint32_t fg, uint32_t bg, uint16_t attr)
{
    fr_cell *p = fr_canvas_at(c, x, y);
    if (!p) return;
    if (!c->utf8) cp = fr_canvas_ascii(cp);
    p->cp = cp;
    p->fg = fg;
    if (bg) p->bg = bg;
    p->attr = attr;
}

int fr_utf8_encode(uint32_t cp, char *o)
{
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xc0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 63)); return 2; }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12)); o[1] = (char)(0x80 | ((cp >> 6) & 63)); o[2] = (char)(0x80 | (cp & 63));
        return 3;
    }
    o[0] = (char)(0xf0 | (cp >> 18)); o[1] = (char)(0x80 | ((cp >> 12) & 63));
    o[2] = (char)(0x80 | ((cp >> 6) & 63)); o[3] = (char)(0x80 | (cp & 63));
    return 4;
}

uint32_t fr_utf8_decode(const char **sp)
{
    const unsigned char *s = (const unsigned char *)*sp;
    uint32_t cp;
    int n;
    if (s[0] < 0x80) { cp = s[0]; n = 1; }
    else if ((s[0] & 0xe0) == 0xc0) { cp = s[0] & 0x1f; n = 2; }
    else if ((s[0] & 0xf0) == 0xe0) { cp = s[0] & 0x0f; n = 3; }
    else if ((s[0] & 0xf8) == 0xf0) { cp = s[0] & 0x07; n = 4; }
    else { *sp += 1; return '?'; }
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) { *sp += i; return '?'; }
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    *sp += n;
    return cp;
}

int fr_utf8_width(const char *s)
{
    int n = 0;
    while (*s) { fr_utf8_decode(&s); n++; }
    return n;
}

int fr_canvas_text(fr_canvas *c, int x, int y, int maxw, const char *s, uint32_t fg, uint32_t bg, uint16_t attr)
{
    int n = 0;
    while (*s && n < maxw) {
        uint32_t cp = fr_utf8_decode(&s);
        fr_canvas_put(c, x + n, y, cp, fg, bg, attr);
        n++;
    }
    return n;
}

void fr_canvas_fill(fr_canvas *c, fr_rect r, uint32_t cp, uint32_t fg, uint32_t bg, uint16_t attr)
{
    for (int y = r.y; y < r.y + r.h; y++)
        for (int x = r.x; x < r.x + r.w; x++) {
            fr_cell *p = fr_canvas_at(c, x, y);
            if (p) *p = (fr_cell){c->utf8 ? cp : fr_canvas_ascii(cp), fg, bg, attr};
        }
}

void fr_canvas_hline(fr_canvas *c, int x, int y, int w, uint32_t cp, uint32_t fg)
{
    for (int i = 0; i < w; i++) fr_canvas_put(c, x + i, y, cp, fg, 0, 0);
}

void fr_canvas_box(fr_canvas *c, fr_rect r, const char *title, int focus)
{
    if (r.w < 2 || r.h < 2) return;
    uint32_t col = FR_COL_ROLE(focus ? FR_R_BORDER_FOCUS : FR_R_BORDER);
    /* Rounded corners read as "panel" rather than "table" and are in every braille-capable font. */
    uint32_t tl = 0x256d, tr = 0x256e, bl = 0x2570, br = 0x256f, hz = 0x2500, vt = 0x2502;
    for (int x = r.x + 1; x < r.x + r.w - 1; x++) {
        fr_canvas_put(c, x, r.y, hz, col, 0, 0);
        fr_canvas_put(c, x, r.y + r.h - 1, hz, col, 0, 0);
    }
    for (int y = r.y + 1; y < r.y + r.h - 1; y++) {
        fr_canvas_put(c, r.x, y, vt, col, 0, 0);
        fr_canvas_put(c, r.x + r.w - 1, y, vt, col, 0, 0);
    }
    fr_canvas_put(c, r.x, r.y, tl, col, 0, 0);
    fr_canvas_put(c, r.x + r.w - 1, r.y, tr, col, 0, 0);
    fr_canvas_put(c, r.x, r.y + r.h - 1, bl, col, 0, 0);
    fr_canvas_put(c, r.x + r.w - 1, r.y + r.h - 1, br, col, 0, 0);
    if (title && *title && r.w > 6) {
        fr_canvas_put(c, r.x + 1, r.y, ' ', col, 0, 0);
        /* the focused title is also reversed, so focus is visible without colour */
        int n = fr_canvas_text(c, r.x + 2, r.y, r.w - 5, title, FR_COL_ROLE(focus ? FR_R_BORDER_FOCUS : FR_R_TITLE), 0,
                               focus ? FR_A_BOLD | FR_A_REVERSE : FR_A_BOLD);
        fr_canvas_put(c, r.x + 2 + n, r.y, ' ', col, 0, 0);
    }
}

void fr_canvas_halfblock(fr_canvas *c, int x, int y, uint32_t top, uint32_t bot)
{
    fr_cell *p = fr_canvas_at(c, x, y);
    if (!p) return;
    if (c->utf8) *p = (fr_cell){0x2580, top, bot, 0};
    else *p = (fr_cell){' ', top, top, 0};
}

/* ---- braille ---- */

uint8_t fr_braille_bit(int dx, int dy)
{
    static const uint8_t bits[2][4] = {{0x01, 0x02, 0x04, 0x40}, {0x08, 0x10, 0x20, 0x80}};
    return bits[dx & 1][dy & 3];
}

void fr_dots_init(fr_dots *d, int cw, int ch)
{
    if (cw < 1) cw = 1;
    if (ch < 1) ch = 1;
    d->cw = cw;
    d->ch = ch;
    d->w = 2 * cw;
    d->h = 4 * ch;
    size_t n = (size_t)cw * ch;
    d->mask = fr_xcalloc(n, 1);
    d->col = fr_xcalloc(n, sizeof *d->col);
    d->count = fr_xcalloc(n, sizeof *d->count);
    d->layer = fr_xcalloc(n, 1);
}

void fr_dots_free(fr_dots *d)
{
    free(d->mask); free(d->col); free(d->count); free(d->layer);
    memset(d, 0, sizeof *d);
}

void fr_dots_set(fr_dots *d, int x, int y, uint32_t col, int layer, int exclusive)
{
    if (x < 0 || y < 0 || x >= d->w || y >= d->h) return;
    size_t i = (size_t)(y >> 2) * d->cw + (x >> 1);
    if (layer < d->layer[i]) return;          /* a lower layer never paints over a higher one */
    if (layer > d->layer[i]) {
        if (exclusive) { d->mask[i] = 0; d->count[i] = 0; }
        d->layer[i] = (uint8_t)layer;
    }
    d->mask[i] |= fr_braille_bit(x & 1, y & 3);
    if (d->count[i] < 65535) d->count[i]++;
    d->col[i] = col;
}

void fr_dots_vline(fr_dots *d, int x, int y0, int y1, uint32_t col, int layer, int exclusive)
{
    if (y0 > y1) { int t = y0; y0 = y1; y1 = t; }
    for (int y = y0; y <= y1; y++) fr_dots_set(d, x, y, col, layer, exclusive);
}

void fr_dots_blit(const fr_dots *d, fr_canvas *c, int x0, int y0, int top_layer, uint32_t ascii_mark)
{
    for (int cy = 0; cy < d->ch; cy++)
        for (int cx = 0; cx < d->cw; cx++) {
            size_t i = (size_t)cy * d->cw + cx;
            uint8_t m = d->mask[i];
            if (!m) continue;
            uint32_t cp = 0x2800 + m;
            if (!c->utf8) {
                if (ascii_mark && d->layer[i] >= top_layer) {
                    /* rows used: a tall run reads as a vertical stroke */
                    int top = (m & 0x09) != 0, mid = (m & 0x36) != 0, bot = (m & 0xc0) != 0;
                    cp = (top && bot) ? '|' : ascii_mark;
                    (void)mid;
                } else {
                    cp = fr_canvas_ascii(cp);
                }
            }
            fr_canvas_put(c, x0 + cx, y0 + cy, cp, d->col[i], 0, 0);
        }
}

/* ---- text output ---- */

int fr_canvas_sgr(char *buf, size_t n, const fr_palette *p, uint32_t fg, uint32_t bg, uint16_t attr, int depth)
{
    size_t k = (size_t)snprintf(buf, n, "\033[0");
    if (attr & FR_A_BOLD) k += (size_t)snprintf(buf + k, n - k, ";1");
    if (attr & FR_A_DIM) k += (size_t)snprintf(buf + k, n - k, ";2");
    if (attr & FR_A_UNDERLINE) k += (size_t)snprintf(buf + k, n - k, ";4");
    if (attr & FR_A_REVERSE) k += (size_t)snprintf(buf + k, n - k, ";7");
    for (int pass = 0; pass < 2; pass++) {
        uint32_t col = pass ? bg : fg;
        fr_rgb rgb;
        if (depth == 0 || !fr_colour_resolve(p, col, &rgb)) continue;
        if (depth == 24) {
            k += (size_t)snprintf(buf + k, n - k, ";%d;2;%d;%d;%d", pass ? 48 : 38, rgb.r, rgb.g, rgb.b);
        } else if (depth == 256) {
            k += (size_t)snprintf(buf + k, n - k, ";%d;5;%d", pass ? 48 : 38, fr_colour_index(p, col, 256));
        } else {
            int i = fr_colour_index(p, col, 16);
            int base = pass ? (i < 8 ? 40 : 100) : (i < 8 ? 30 : 90);
            k += (size_t)snprintf(buf + k, n - k, ";%d", base + (i & 7));
        }
    }
    k += (size_t)snprintf(buf + k, n - k, "m");
    return (int)k;
}

void fr_canvas_write(const fr_canvas *c, FILE *out, const fr_text_opts *o)
{
    fr_text_opts def = {0, NULL, 0};
    if (!o) o = &def;
    char sgr[96], u[8];
    for (int y = 0; y < c->rows; y++) {
        const fr_cell *row = &c->cells[(size_t)y * c->cols];
        int end = c->cols;
        if (!o->depth && !o->keep_trailing)
            while (end > 0 && row[end - 1].cp == ' ') end--;
        uint32_t pf = ~0u, pb = ~0u;
        uint16_t pa = 0xffff;
        for (int x = 0; x < end; x++) {
            const fr_cell *p = &row[x];
            if (o->depth && (p->fg != pf || p->bg != pb || p->attr != pa)) {
                fr_canvas_sgr(sgr, sizeof sgr, o->pal, p->fg, p->bg, p->attr, o->depth);
                fputs(sgr, out);
                pf = p->fg; pb = p->bg; pa = p->attr;
            }
            uint32_t cp = c->utf8 ? p->cp : fr_canvas_ascii(p->cp);
            int len = fr_utf8_encode(cp, u);
            fwrite(u, 1, (size_t)len, out);
        }
        if (o->depth) fputs("\033[0m", out);
        fputc('\n', out);
    }
}
