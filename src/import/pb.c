/* pb.c — protobuf wire format; see include/frtui/pb.h.  Fixed-width values are assembled
 * byte by byte, so the code is endian-independent. */
#include "frtui/pb.h"

#include <stdlib.h>
#include <string.h>

#include "frtui/common.h"

void fr_pb_init(fr_pb *r, const void *buf, size_t n)
{
    r->p = buf;
    r->end = r->p + n;
}

int fr_pb_varint(const uint8_t **pp, const uint8_t *end, uint64_t *v)
{
    const uint8_t *p = *pp;
    uint64_t x = 0;
    for (int i = 0; i < 10; i++) {
        if (p >= end) return -1;
        uint8_t b = *p++;
        if (i == 9 && b > 1) return -1;   /* bits beyond 64 */
        x |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) { *v = x; *pp = p; return 0; }
    }
    return -1;
}

static uint64_t le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

int fr_pb_next(fr_pb *r, fr_pb_field *f)
{
    if (r->p >= r->end) return 0;
    memset(f, 0, sizeof *f);
    f->start = r->p;
    const uint8_t *p = r->p;
    uint64_t tag;
    if (fr_pb_varint(&p, r->end, &tag) != 0) return -1;
    if ((tag >> 3) == 0 || (tag >> 3) > 0x1fffffff) return -1;
    f->num = (uint32_t)(tag >> 3);
    f->wt = (int)(tag & 7);
    size_t avail;
    switch (f->wt) {
    case FR_PB_VARINT:
        if (fr_pb_varint(&p, r->end, &f->v) != 0) return -1;
        break;
    case FR_PB_I64:
        if ((size_t)(r->end - p) < 8) return -1;
        f->v = le(p, 8);
        p += 8;
        break;
    case FR_PB_I32:
        if ((size_t)(r->end - p) < 4) return -1;
        f->v = le(p, 4);
        p += 4;
        break;
    case FR_PB_LEN: {
        uint64_t n;
        if (fr_pb_varint(&p, r->end, &n) != 0) return -1;
        avail = (size_t)(r->end - p);
        if (n > avail) return -1;
        f->data = p;
        f->len = (size_t)n;
        p += n;
        break;
    }
    default:
        return -1;   /* groups and reserved wire types */
    }
    f->end = p;
    r->p = p;
    return 1;
}

int64_t fr_pb_count_varints(const fr_pb_field *f)
{
    if (f->wt == FR_PB_VARINT) return 1;
    if (f->wt != FR_PB_LEN) return -1;
    int64_t n = 0;
    const uint8_t *p = f->data, *end = f->data + f->len;
    uint64_t v;
    while (p < end) {
        if (fr_pb_varint(&p, end, &v) != 0) return -1;
        n++;
    }
    return n;
}

int fr_pb_get_varints(const fr_pb_field *f, int64_t *out, int64_t cap, int64_t *n)
{
    if (f->wt == FR_PB_VARINT) {
        if (*n >= cap) return -1;
        out[(*n)++] = (int64_t)f->v;
        return 0;
    }
    if (f->wt != FR_PB_LEN) return -1;
    const uint8_t *p = f->data, *end = f->data + f->len;
    while (p < end) {
        uint64_t v;
        if (fr_pb_varint(&p, end, &v) != 0 || *n >= cap) return -1;
        out[(*n)++] = (int64_t)v;
    }
    return 0;
}

int64_t fr_pb_count_fixed(const fr_pb_field *f, int width)
{
    if ((width == 4 && f->wt == FR_PB_I32) || (width == 8 && f->wt == FR_PB_I64)) return 1;
    if (f->wt != FR_PB_LEN || f->len % (size_t)width) return -1;
    return (int64_t)(f->len / (size_t)width);
}

float fr_pb_f32(uint64_t bits)
{
    uint32_t b = (uint32_t)bits;
    float x;
    memcpy(&x, &b, 4);
    return x;
}

double fr_pb_f64(uint64_t bits)
{
    double x;
    memcpy(&x, &bits, 8);
    return x;
}

/* ---- writer ---- */

void fr_pbw_init(fr_pbw *w) { memset(w, 0, sizeof *w); }

void fr_pbw_free(fr_pbw *w)
{
    free(w->buf);
    memset(w, 0, sizeof *w);
}

void fr_pbw_raw(fr_pbw *w, const void *p, size_t n)
{
    if (n == 0) return;
    if (w->n + n > w->cap) {
        size_t c = w->cap ? w->cap : 256;
        while (c < w->n + n) c *= 2;
        w->buf = fr_xrealloc(w->buf, c);
        w->cap = c;
    }
    memcpy(w->buf + w->n, p, n);
    w->n += n;
}

void fr_pbw_varint(fr_pbw *w, uint64_t v)
{
    uint8_t b[10];
    int n = 0;
    do {
        b[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v) b[n] |= 0x80;
        n++;
    } while (v);
    fr_pbw_raw(w, b, (size_t)n);
}

void fr_pbw_tag(fr_pbw *w, uint32_t num, int wt) { fr_pbw_varint(w, ((uint64_t)num << 3) | (uint64_t)wt); }

void fr_pbw_int(fr_pbw *w, uint32_t num, int64_t v)
{
    fr_pbw_tag(w, num, FR_PB_VARINT);
    fr_pbw_varint(w, (uint64_t)v);
}

void fr_pbw_f32(fr_pbw *w, uint32_t num, float v)
{
    uint32_t b;
    memcpy(&b, &v, 4);
    uint8_t o[4] = {(uint8_t)b, (uint8_t)(b >> 8), (uint8_t)(b >> 16), (uint8_t)(b >> 24)};
    fr_pbw_tag(w, num, FR_PB_I32);
    fr_pbw_raw(w, o, 4);
}

void fr_pbw_bytes(fr_pbw *w, uint32_t num, const void *p, size_t n)
{
    fr_pbw_tag(w, num, FR_PB_LEN);
    fr_pbw_varint(w, n);
    fr_pbw_raw(w, p, n);
}

void fr_pbw_str(fr_pbw *w, uint32_t num, const char *s) { fr_pbw_bytes(w, num, s, strlen(s)); }

void fr_pbw_msg(fr_pbw *w, uint32_t num, const fr_pbw *sub) { fr_pbw_bytes(w, num, sub->buf, sub->n); }

void fr_pbw_packed_ints(fr_pbw *w, uint32_t num, const int64_t *v, int n)
{
    fr_pbw s;
    fr_pbw_init(&s);
    for (int i = 0; i < n; i++) fr_pbw_varint(&s, (uint64_t)v[i]);
    fr_pbw_tag(w, num, FR_PB_LEN);
    fr_pbw_varint(w, s.n);
    fr_pbw_raw(w, s.buf, s.n);
    fr_pbw_free(&s);
}

void fr_pbw_packed_f32(fr_pbw *w, uint32_t num, const float *v, int64_t n)
{
    fr_pbw_tag(w, num, FR_PB_LEN);
    fr_pbw_varint(w, (uint64_t)n * 4);
    for (int64_t i = 0; i < n; i++) {
        uint32_t b;
        memcpy(&b, &v[i], 4);
        uint8_t o[4] = {(uint8_t)b, (uint8_t)(b >> 8), (uint8_t)(b >> 16), (uint8_t)(b >> 24)};
        fr_pbw_raw(w, o, 4);
    }
}
