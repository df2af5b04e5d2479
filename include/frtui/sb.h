/* sb.h — a growable string builder and the one JSON / CSV / terminal escaper every writer uses.
 *
 * Names in reports come from imported files (ONNX node names, tfjs layer names), so they can
 * hold quotes, backslashes, commas, newlines, control bytes and broken UTF-8.  Every JSON or
 * CSV writer goes through fr_sb_json_str / fr_sb_csv_field, and every name printed to a
 * terminal through fr_sb_term, so one file cannot break a report or drive the terminal.
 */
#ifndef FRTUI_SB_H
#define FRTUI_SB_H

#include <stddef.h>
#include <stdio.h>

typedef struct fr_sb {
    char *p;      /* NUL-terminated once anything was appended; NULL while empty */
    size_t n, cap;
} fr_sb;

void fr_sb_printf(fr_sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fr_sb_puts(fr_sb *b, const char *s);
void fr_sb_putc(fr_sb *b, char c);
/* n raw bytes (binary buffers too: NUL bytes are kept, a NUL still follows the end). */
void fr_sb_put(fr_sb *b, const void *src, size_t n);
/* The text so far ("" while empty); stays owned by b. */
const char *fr_sb_str(const fr_sb *b);
void fr_sb_reset(fr_sb *b);   /* empty, keeps the buffer */
void fr_sb_free(fr_sb *b);

/* A JSON string literal with its quotes.  '"', '\\' and bytes < 0x20 are escaped (as \u00XX); bytes that
 * are not valid UTF-8 become \ufffd so the document always parses. */
void fr_sb_json_str(fr_sb *b, const char *s);
/* A JSON number with printf format fmt ("%.6f"), or null when v is NaN or infinite. */
void fr_sb_json_num(fr_sb *b, const char *fmt, double v);
/* One CSV field (RFC 4180): quoted, with quotes doubled, when it holds ',', '"', CR or LF or
 * starts/ends with a space; control bytes other than CR/LF/TAB become '?', invalid UTF-8 U+FFFD. */
void fr_sb_csv_field(fr_sb *b, const char *s);
/* Text safe for a terminal: C0/C1 control bytes (except '\n' and '\t' when keep_nl),
 * DEL and invalid UTF-8 become '?'. */
void fr_sb_term(fr_sb *b, const char *s, int keep_nl);

/* FILE conveniences built on the above. */
void fr_fput_json_str(FILE *f, const char *s);
void fr_fput_json_num(FILE *f, const char *fmt, double v);
void fr_fput_csv_field(FILE *f, const char *s);
/* Copies s into dst (size n, always terminated) with fr_sb_term's rules; returns dst. */
char *fr_term_clean(char *dst, size_t n, const char *s);

#endif
