/* sb.c — string builder and escapers (contract in include/frtui/sb.h).
 *
 * Design note: one UTF-8 decoder decides what is text; JSON keeps valid sequences as they are
 * (a JSON document is UTF-8) and replaces the rest with U+FFFD, the terminal filter replaces
 * C0 and C1 controls as well, because a terminal acts on ESC (0x1b) and on CSI (U+009B).
 * Writers build their text in an fr_sb and write it once, which also suits fr_atomic.
 */
#include "frtui/sb.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "frtui/common.h"

static void grow(fr_sb *b, size_t need)
{
    if (b->n + need + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->n + need + 1) cap *= 2;
    b->p = fr_xrealloc(b->p, cap);
    b->cap = cap;
}

void fr_sb_printf(fr_sb *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    va_list ap2;
    va_copy(ap2, ap);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    FR_ASSERT(k >= 0);
    grow(b, (size_t)k);
    vsnprintf(b->p + b->n, (size_t)k + 1, fmt, ap2);
    va_end(ap2);
    b->n += (size_t)k;
}

void fr_sb_puts(fr_sb *b, const char *s)
{
    size_t k = strlen(s);
    grow(b, k);
    memcpy(b->p + b->n, s, k + 1);
    b->n += k;
}

void fr_sb_putc(fr_sb *b, char c)
{
    grow(b, 1);
    b->p[b->n++] = c;
    b->p[b->n] = 0;
}

void fr_sb_put(fr_sb *b, const void *src, size_t n)
{
    grow(b, n);
    if (n) memcpy(b->p + b->n, src, n);
    b->n += n;
    b->p[b->n] = 0;
}

const char *fr_sb_str(const fr_sb *b) { return b->p ? b->p : ""; }

void fr_sb_reset(fr_sb *b)
{
    b->n = 0;
    if (b->p) b->p[0] = 0;
}

void fr_sb_free(fr_sb *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when s[0] does not start one.  Returns
 * the code point in *cp.  Overlong forms, surrogates and values above U+10FFFF are invalid. */
static int utf8_len(const unsigned char *s, unsigned *cp)
{
    unsigned c = s[0];
    if (c < 0x80) { *cp = c; return 1; }
    int n = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? (c < 0xf0 ? 3 : 0) : c >= 0xc2 ? 2 : 0;
    if (!n) return 0;
    unsigned v = c & (0x7fu >> n);
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        v = v << 6 | (s[i] & 0x3fu);
    }
    if ((n == 3 && v < 0x800) || (n == 4 && (v < 0x10000 || v > 0x10ffff)) || (v >= 0xd800 && v <= 0xdfff)) return 0;
    *cp = v;
    return n;
}

void fr_sb_json_str(fr_sb *b, const char *s)
{
    const unsigned char *u = (const unsigned char *)(s ? s : "");
    fr_sb_putc(b, '"');
    while (*u) {
        unsigned cp;
        int n = utf8_len(u, &cp);
        if (!n) { fr_sb_puts(b, "\\ufffd"); u++; continue; }
        if (cp == '"' || cp == '\\') { fr_sb_putc(b, '\\'); fr_sb_putc(b, (char)cp); }
        else if (cp < 0x20) fr_sb_printf(b, "\\u%04x", cp);
        else { grow(b, (size_t)n); memcpy(b->p + b->n, u, (size_t)n); b->n += (size_t)n; b->p[b->n] = 0; }
        u += n;
    }
    fr_sb_putc(b, '"');
}

void fr_sb_json_num(fr_sb *b, const char *fmt, double v)
{
    if (isfinite(v)) fr_sb_printf(b, fmt, v);
    else fr_sb_puts(b, "null");
}

void fr_sb_csv_field(fr_sb *b, const char *s)
{
    s = s ? s : "";
    size_t k = strlen(s);
    int quote = strpbrk(s, ",\"\r\n") != NULL || (k && (s[0] == ' ' || s[k - 1] == ' '));
    if (quote) fr_sb_putc(b, '"');
    const unsigned char *u = (const unsigned char *)s;
    while (*u) {
        unsigned cp;
        int n = utf8_len(u, &cp);
        if (!n) { fr_sb_puts(b, "\xef\xbf\xbd"); u++; continue; }   /* U+FFFD: a CSV file is UTF-8 too */
        if (cp == '"') fr_sb_puts(b, "\"\"");
        else if ((cp < 0x20 && cp != '\r' && cp != '\n' && cp != '\t') || cp == 0x7f) fr_sb_putc(b, '?');
        else { grow(b, (size_t)n); memcpy(b->p + b->n, u, (size_t)n); b->n += (size_t)n; b->p[b->n] = 0; }
        u += n;
    }
    if (quote) fr_sb_putc(b, '"');
}

void fr_sb_term(fr_sb *b, const char *s, int keep_nl)
{
    const unsigned char *u = (const unsigned char *)(s ? s : "");
    while (*u) {
        unsigned cp;
        int n = utf8_len(u, &cp);
        if (!n) { fr_sb_putc(b, '?'); u++; continue; }
        int ctl = cp < 0x20 || (cp >= 0x7f && cp < 0xa0);
        if (ctl && !(keep_nl && (cp == '\n' || cp == '\t'))) fr_sb_putc(b, '?');
        else { grow(b, (size_t)n); memcpy(b->p + b->n, u, (size_t)n); b->n += (size_t)n; b->p[b->n] = 0; }
        u += n;
    }
}

void fr_fput_json_str(FILE *f, const char *s)
{
    fr_sb b = {0};
    fr_sb_json_str(&b, s);
    fputs(fr_sb_str(&b), f);
    fr_sb_free(&b);
}

void fr_fput_json_num(FILE *f, const char *fmt, double v)
{
    fr_sb b = {0};
    fr_sb_json_num(&b, fmt, v);
    fputs(fr_sb_str(&b), f);
    fr_sb_free(&b);
}

void fr_fput_csv_field(FILE *f, const char *s)
{
    fr_sb b = {0};
    fr_sb_csv_field(&b, s);
    fputs(fr_sb_str(&b), f);
    fr_sb_free(&b);
}

char *fr_term_clean(char *dst, size_t n, const char *s)
{
    fr_sb b = {0};
    fr_sb_term(&b, s, 0);
    snprintf(dst, n, "%s", fr_sb_str(&b));
    fr_sb_free(&b);
    return dst;
}
