/* inflate.c — DEFLATE / gzip decoding on top of zlib; see include/frtui/inflate.h.
 *
 * Design note
 *   This file used to be a 380-line decoder in the style of zlib's contrib/puff; zlib is
 *   already in the process (libpng links it), so the decoding is zlib's (issue 12, section 5)
 *   and what stays here is the policy around it for untrusted input: the output may not grow
 *   past max_out (a bomb stops at the cap, whatever its header says), buffers grow by doubling
 *   from 64 KiB (or the head asked for) with a failed allocation reported as FR_ENOMEM, the
 *   gzip member headers are checked before zlib sees them (magic, method, reserved flags: the
 *   messages the readers have always given), several members are decoded in turn, anything
 *   after the last one is refused, and every error is one line naming the input and the input
 *   byte where decoding stopped.  zlib verifies each member's CRC-32 and length itself.
 */
#include "frtui/inflate.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

typedef struct sink {
    uint8_t *out;
    size_t n, cap, max_out, head;   /* head > 0: stop once n >= head */
    int nomem;
} sink;

/* Room for at least one more byte (up to max_out + 1: one byte past the cap tells "too long"). */
static int grow(sink *s)
{
    if (s->n < s->cap) return 0;
    size_t limit = s->max_out + 1;
    if (s->cap >= limit) return -1;
    size_t c = s->cap ? s->cap : FR_MIN((size_t)65536, s->head ? s->head : s->max_out);
    if (c == 0) c = 1;
    if (s->cap) c = s->cap > limit / 2 ? limit : s->cap * 2;
    if (c > limit) c = limit;
    uint8_t *p = realloc(s->out, c);
    if (!p) { s->nomem = 1; return -1; }
    s->out = p;
    s->cap = c;
    return 0;
}

/* zlib's messages, in the words the readers used before (tests and users know them). */
static const char *z_what(int zrc, const z_stream *zs)
{
    const char *m = zs->msg;
    if (m && strstr(m, "incorrect data check")) return "CRC-32 mismatch";
    if (m && strstr(m, "incorrect length check")) return "length mismatch";
    if (m) return m;
    if (zrc == Z_BUF_ERROR) return "unexpected end of input";
    if (zrc == Z_MEM_ERROR) return "out of memory";
    return "corrupt data";
}

enum { D_OK, D_HEAD, D_ERR };

/* Decodes one stream (raw DEFLATE: wbits -15; one gzip member: 31) from in[0..n) into s.
 * *used receives the input bytes consumed.  D_HEAD: stopped because the head is complete. */
static int decode(const uint8_t *in, size_t n, int wbits, sink *s, size_t *used, const char **err)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    *used = 0;
    if (inflateInit2(&zs, wbits) != Z_OK) { s->nomem = 1; *err = "out of memory"; return D_ERR; }
    int rc = D_ERR;
    size_t fed = 0;
    for (;;) {
        if (s->head && s->n >= s->head) { rc = D_HEAD; break; }
        if (grow(s)) { *err = s->nomem ? "out of memory" : "output exceeds the size limit"; break; }
        if (zs.avail_in == 0 && fed < n) {
            size_t k = FR_MIN(n - fed, (size_t)UINT_MAX);
            zs.next_in = (Bytef *)(uintptr_t)(in + fed);
            zs.avail_in = (uInt)k;
            fed += k;
        }
        size_t room = FR_MIN(s->cap - s->n, (size_t)UINT_MAX);
        zs.next_out = s->out + s->n;
        zs.avail_out = (uInt)room;
        int zrc = inflate(&zs, Z_NO_FLUSH);
        s->n += room - zs.avail_out;
        if (s->n > s->max_out) { *err = "output exceeds the size limit"; break; }
        if (zrc == Z_STREAM_END) { rc = D_OK; break; }
        if (zrc == Z_OK) continue;
        if (zrc == Z_BUF_ERROR && zs.avail_in == 0 && fed < n) continue;
        if (zrc == Z_BUF_ERROR && zs.avail_out == 0) continue;   /* needs more room */
        if (zrc == Z_MEM_ERROR) s->nomem = 1;
        *err = zrc == Z_BUF_ERROR ? "unexpected end of input" : z_what(zrc, &zs);
        break;
    }
    *used = (size_t)(fed - zs.avail_in);
    inflateEnd(&zs);
    return rc;
}

static int report(sink *s, const char *name, const char *what, const char *err, size_t at, fr_err *e)
{
    free(s->out);
    s->out = NULL;
    if (s->nomem) return fr_err_set(e, FR_ENOMEM, "%s: %s: out of memory", name, what);
    return fr_err_set(e, FR_EINPUT, "%s: %s: %s, at input byte %zu", name, what, err ? err : "corrupt data", at);
}

static void finish(sink *s, uint8_t **out, size_t *out_n)
{
    if (!s->out) s->out = fr_xmalloc(1);
    *out = s->out;
    *out_n = s->n;
}

int fr_inflate(const uint8_t *in, size_t n, size_t *consumed, uint8_t **out, size_t *out_n,
               size_t max_out, const char *name, fr_err *e)
{
    sink s = {.max_out = max_out};
    *out = NULL;
    *out_n = 0;
    size_t used = 0;
    const char *err = NULL;
    if (decode(in, n, -15, &s, &used, &err) != D_OK) return report(&s, name, "deflate", err, used, e);
    if (consumed) *consumed = used;
    finish(&s, out, out_n);
    return FR_OK;
}

uint32_t fr_crc32(uint32_t crc, const void *p, size_t n)
{
    return (uint32_t)crc32_z(crc, n ? p : Z_NULL, n);
}

int fr_is_gzip(const uint8_t *p, size_t n) { return n >= 2 && p[0] == 0x1f && p[1] == 0x8b; }

/* head == 0: the whole file, verified.  head > 0: stop after at least `head` bytes of output. */
static int gunzip(const uint8_t *in, size_t n, uint8_t **out, size_t *out_n, size_t max_out, size_t head,
                  const char *name, fr_err *e)
{
    sink s = {.max_out = max_out, .head = head};
    *out = NULL;
    *out_n = 0;
    int members = 0, stopped = 0;
    size_t pos = 0;
    while (pos < n) {
        const uint8_t *h = in + pos;
        size_t left = n - pos;
        if (left < 10 || !fr_is_gzip(h, left))
            return report(&s, name, "gzip", members ? "trailing garbage after gzip member" : "not a gzip file (bad magic)", pos, e);
        if (h[2] != 8) return report(&s, name, "gzip", "unknown compression method", pos, e);
        if (h[3] & 0xe0) return report(&s, name, "gzip", "reserved header flags set", pos, e);
        size_t used = 0;
        const char *err = NULL;
        int rc = decode(h, left, 31, &s, &used, &err);
        if (rc == D_HEAD) { stopped = 1; break; }
        if (rc != D_OK) return report(&s, name, "gzip", err, pos + used, e);
        pos += used;
        members++;
    }
    if (!members && !stopped) return report(&s, name, "gzip", "empty file", pos, e);
    finish(&s, out, out_n);
    return FR_OK;
}

int fr_gunzip(const uint8_t *in, size_t n, uint8_t **out, size_t *out_n, size_t max_out, const char *name, fr_err *e)
{
    return gunzip(in, n, out, out_n, max_out, 0, name, e);
}

int fr_gunzip_head(const uint8_t *in, size_t n, size_t want, uint8_t **out, size_t *out_n, const char *name, fr_err *e)
{
    /* The slack lets the last inflate call finish its output, so a head is never cut short
     * while the stream has more. */
    return gunzip(in, n, out, out_n, want + 65536, want ? want : 1, name, e);
}
