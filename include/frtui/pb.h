/* pb.h — minimal protobuf wire-format reader and writer (no schema, no allocation on read).
 *
 * Design note
 *   The reader is a cursor over a caller-owned buffer.  fr_pb_next never reads outside
 *   [p, end): every varint, fixed-width value and length prefix is checked against the end of
 *   the enclosing message, so truncated or hostile input yields -1, never an out-of-bounds read.
 *   Groups (wire types 3/4) are refused: ONNX does not use them.  Each field also reports its
 *   byte span [start, end) so callers can copy or patch fields byte-for-byte.
 *   The writer appends to a growable buffer; nested messages are written into their own
 *   fr_pbw and then emitted with fr_pbw_bytes (sizes are known before the length prefix).
 */
#ifndef FRTUI_PB_H
#define FRTUI_PB_H

#include <stddef.h>
#include <stdint.h>

enum { FR_PB_VARINT = 0, FR_PB_I64 = 1, FR_PB_LEN = 2, FR_PB_I32 = 5 };

typedef struct fr_pb {
    const uint8_t *p, *end;
} fr_pb;

typedef struct fr_pb_field {
    uint32_t num;
    int wt;
    uint64_t v;                 /* varint, fixed64 or fixed32 payload */
    const uint8_t *data;        /* FR_PB_LEN payload */
    size_t len;
    const uint8_t *start, *end; /* the whole field, tag included */
} fr_pb_field;

void fr_pb_init(fr_pb *r, const void *buf, size_t n);
/* 1 = one field read into f, 0 = clean end of message, -1 = malformed. */
int fr_pb_next(fr_pb *r, fr_pb_field *f);
/* Decodes one varint at *p (advancing it); -1 on truncation or more than 10 bytes. */
int fr_pb_varint(const uint8_t **p, const uint8_t *end, uint64_t *v);

/* Repeated scalar fields arrive either packed (one LEN field) or one element per field.
 * These count / decode elements of one such field; -1 when malformed. */
int64_t fr_pb_count_varints(const fr_pb_field *f);
int fr_pb_get_varints(const fr_pb_field *f, int64_t *out, int64_t cap, int64_t *n);
int64_t fr_pb_count_fixed(const fr_pb_field *f, int width);

float fr_pb_f32(uint64_t bits);
double fr_pb_f64(uint64_t bits);

typedef struct fr_pbw {
    uint8_t *buf;
    size_t n, cap;
} fr_pbw;

void fr_pbw_init(fr_pbw *w);
void fr_pbw_free(fr_pbw *w);
void fr_pbw_raw(fr_pbw *w, const void *p, size_t n);
void fr_pbw_varint(fr_pbw *w, uint64_t v);
void fr_pbw_tag(fr_pbw *w, uint32_t num, int wt);
void fr_pbw_int(fr_pbw *w, uint32_t num, int64_t v);        /* varint field (negative = 10 bytes) */
void fr_pbw_f32(fr_pbw *w, uint32_t num, float v);          /* fixed32 field */
void fr_pbw_bytes(fr_pbw *w, uint32_t num, const void *p, size_t n);
void fr_pbw_str(fr_pbw *w, uint32_t num, const char *s);
void fr_pbw_msg(fr_pbw *w, uint32_t num, const fr_pbw *sub);
void fr_pbw_packed_ints(fr_pbw *w, uint32_t num, const int64_t *v, int n);
void fr_pbw_packed_f32(fr_pbw *w, uint32_t num, const float *v, int64_t n);

#endif
