/* inflate.c — DEFLATE / gzip decoder; see include/frtui/inflate.h for the design note.
 *
 * The decoder follows the structure of Mark Adler's puff.c (zlib/contrib/puff), rewritten
 * without setjmp: running out of input sets s->err and every caller checks it.  The bit buffer
 * never holds more than 7 leftover bits between calls, which decode() relies on.
 */
#include "frtui/inflate.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MAXBITS 15
#define MAXLCODES 286
#define MAXDCODES 30
#define MAXCODES (MAXLCODES + MAXDCODES)
#define FIXLCODES 288

typedef struct st {
    const uint8_t *in;
    size_t inlen, incnt;
    int bitbuf, bitcnt;
    uint8_t *out;
    size_t outcnt, outcap, max_out, start;  /* start: where this member's output begins */
    const char *err;                        /* first error, a static string */
    int nomem;
    size_t head;                            /* fr_gunzip_head: stop once this much is out */
} st;

/* Not an error: the "error" fr_gunzip_head uses to stop decoding once it has enough. */
static const char head_done[] = "head decoded";

typedef struct huff { short count[MAXBITS + 1]; short symbol[FIXLCODES]; } huff;

static int fail(st *s, const char *msg) { if (!s->err) s->err = msg; return -1; }

static int bits(st *s, int need)
{
    long val = s->bitbuf;
    while (s->bitcnt < need) {
        if (s->incnt == s->inlen) return fail(s, "unexpected end of input");
        val |= (long)s->in[s->incnt++] << s->bitcnt;
        s->bitcnt += 8;
    }
    s->bitbuf = (int)(val >> need);
    s->bitcnt -= need;
    return (int)(val & ((1L << need) - 1));
}

static int room(st *s, size_t k)
{
    if (s->head && s->outcnt >= s->head) return fail(s, head_done);
    if (k > s->max_out - s->outcnt) return fail(s, "output exceeds the size limit");
    if (s->outcap - s->outcnt >= k) return 0;
    /* First buffer: 64 KiB, or just the head fr_gunzip_head asked for (it grows by doubling). */
    size_t c = s->outcap ? s->outcap : FR_MIN((size_t)65536, s->head ? s->head : s->max_out);
    while (c - s->outcnt < k) c = c > s->max_out / 2 ? s->max_out : c * 2;
    uint8_t *p = realloc(s->out, c);
    if (!p) { s->nomem = 1; return fail(s, "out of memory"); }
    s->out = p;
    s->outcap = c;
    return 0;
}

static int stored(st *s)
{
    s->bitbuf = 0;
    s->bitcnt = 0;
    if (s->inlen - s->incnt < 4) return fail(s, "stored block header truncated");
    unsigned len = s->in[s->incnt] | (unsigned)s->in[s->incnt + 1] << 8;
    unsigned nlen = s->in[s->incnt + 2] | (unsigned)s->in[s->incnt + 3] << 8;
    s->incnt += 4;
    if (len != (~nlen & 0xffff)) return fail(s, "stored block length check failed");
    if (s->inlen - s->incnt < len) return fail(s, "stored block truncated");
    if (room(s, len)) return -1;
    /* An empty stored block may arrive before any output buffer exists (out == NULL):
     * memcpy with a NULL pointer is undefined even for zero bytes. */
    if (len) memcpy(s->out + s->outcnt, s->in + s->incnt, len);
    s->outcnt += len;
    s->incnt += len;
    return 0;
}

static int decode(st *s, const huff *h)
{
    int code = 0, first = 0, index = 0, len = 1, bitbuf = s->bitbuf, left = s->bitcnt;
    const short *next = h->count + 1;
    for (;;) {
        while (left--) {
            code |= bitbuf & 1;
            bitbuf >>= 1;
            int count = *next++;
            if (code - count < first) {
                s->bitbuf = bitbuf;
                s->bitcnt = (s->bitcnt - len) & 7;
                return h->symbol[index + (code - first)];
            }
            index += count;
            first += count;
            first <<= 1;
            code <<= 1;
            len++;
        }
        left = (MAXBITS + 1) - len;
        if (left == 0) break;
        if (s->incnt == s->inlen) return fail(s, "unexpected end of input");
        bitbuf = s->in[s->incnt++];
        if (left > 8) left = 8;
    }
    return fail(s, "invalid Huffman code");
}

/* Returns 0 for a complete code, >0 incomplete, <0 over-subscribed. */
static int construct(huff *h, const short *length, int n)
{
    for (int len = 0; len <= MAXBITS; len++) h->count[len] = 0;
    for (int sym = 0; sym < n; sym++) h->count[length[sym]]++;
    if (h->count[0] == n) return 0;
    int left = 1;
    for (int len = 1; len <= MAXBITS; len++) {
        left <<= 1;
        left -= h->count[len];
        if (left < 0) return left;
    }
    short offs[MAXBITS + 1];
    offs[1] = 0;
    for (int len = 1; len < MAXBITS; len++) offs[len + 1] = (short)(offs[len] + h->count[len]);
    for (int sym = 0; sym < n; sym++)
        if (length[sym] != 0) h->symbol[offs[length[sym]]++] = (short)sym;
    return left;
}

static int codes(st *s, const huff *lencode, const huff *distcode)
{
    static const short lbase[29] = {3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31,
                                    35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
    static const short lext[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
    static const short dbase[30] = {1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769,
                                    1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
    static const short dext[30] = {0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11,
                                   12, 12, 13, 13};
    for (;;) {
        int symbol = decode(s, lencode);
        if (symbol < 0) return -1;
        if (symbol < 256) {
            if (room(s, 1)) return -1;
            s->out[s->outcnt++] = (uint8_t)symbol;
        } else if (symbol == 256) {
            return 0;
        } else {
            symbol -= 257;
            if (symbol >= 29) return fail(s, "invalid length symbol");
            int e1 = bits(s, lext[symbol]);
            if (e1 < 0) return -1;
            size_t len = (size_t)(lbase[symbol] + e1);
            symbol = decode(s, distcode);
            if (symbol < 0) return -1;
            if (symbol >= 30) return fail(s, "invalid distance symbol");
            int e2 = bits(s, dext[symbol]);
            if (e2 < 0) return -1;
            size_t dist = (size_t)(dbase[symbol] + e2);
            if (dist > s->outcnt - s->start) return fail(s, "distance too far back");
            if (room(s, len)) return -1;
            uint8_t *o = s->out + s->outcnt;
            const uint8_t *from = o - dist;
            for (size_t k = 0; k < len; k++) o[k] = from[k];   /* overlapping copy is intended */
            s->outcnt += len;
        }
    }
}

/* Fixed Huffman codes and the CRC table are built once (pthread_once keeps TSan quiet). */
static huff fixed_len, fixed_dist;
static uint32_t crc_table[256];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void build_tables(void)
{
    short lengths[FIXLCODES];
    int sym = 0;
    for (; sym < 144; sym++) lengths[sym] = 8;
    for (; sym < 256; sym++) lengths[sym] = 9;
    for (; sym < 280; sym++) lengths[sym] = 7;
    for (; sym < FIXLCODES; sym++) lengths[sym] = 8;
    construct(&fixed_len, lengths, FIXLCODES);
    for (sym = 0; sym < MAXDCODES; sym++) lengths[sym] = 5;
    construct(&fixed_dist, lengths, MAXDCODES);
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

static int fixed(st *s)
{
    pthread_once(&tables_once, build_tables);
    return codes(s, &fixed_len, &fixed_dist);
}

static int dynamic(st *s)
{
    static const short order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
    short lengths[MAXCODES];
    huff lencode, distcode;
    int nlen = bits(s, 5), ndist, ncode;
    if (nlen < 0) return -1;
    nlen += 257;
    if ((ndist = bits(s, 5)) < 0) return -1;
    ndist += 1;
    if ((ncode = bits(s, 4)) < 0) return -1;
    ncode += 4;
    if (nlen > MAXLCODES || ndist > MAXDCODES) return fail(s, "bad code counts");
    int index;
    for (index = 0; index < ncode; index++) {
        int v = bits(s, 3);
        if (v < 0) return -1;
        lengths[order[index]] = (short)v;
    }
    for (; index < 19; index++) lengths[order[index]] = 0;
    if (construct(&lencode, lengths, 19) != 0) return fail(s, "incomplete or over-subscribed code-length code");
    index = 0;
    while (index < nlen + ndist) {
        int symbol = decode(s, &lencode);
        if (symbol < 0) return -1;
        if (symbol < 16) {
            lengths[index++] = (short)symbol;
        } else {
            int len = 0, rep;
            if (symbol == 16) {
                if (index == 0) return fail(s, "repeat with no previous length");
                len = lengths[index - 1];
                rep = bits(s, 2);
                if (rep < 0) return -1;
                rep += 3;
            } else if (symbol == 17) {
                if ((rep = bits(s, 3)) < 0) return -1;
                rep += 3;
            } else {
                if ((rep = bits(s, 7)) < 0) return -1;
                rep += 11;
            }
            if (index + rep > nlen + ndist) return fail(s, "too many code lengths");
            while (rep--) lengths[index++] = (short)len;
        }
    }
    if (lengths[256] == 0) return fail(s, "no end-of-block code");
    int err = construct(&lencode, lengths, nlen);
    if (err && (err < 0 || nlen != lencode.count[0] + lencode.count[1]))
        return fail(s, "incomplete or over-subscribed literal/length code");
    err = construct(&distcode, lengths + nlen, ndist);
    if (err && (err < 0 || ndist != distcode.count[0] + distcode.count[1]))
        return fail(s, "incomplete or over-subscribed distance code");
    return codes(s, &lencode, &distcode);
}

/* Decodes one deflate stream starting at s->incnt. */
static int inflate_stream(st *s)
{
    int last;
    s->bitbuf = s->bitcnt = 0;
    do {
        if ((last = bits(s, 1)) < 0) return -1;
        int type = bits(s, 2);
        if (type < 0) return -1;
        int rc = type == 0 ? stored(s) : type == 1 ? fixed(s) : type == 2 ? dynamic(s) : fail(s, "invalid block type");
        if (rc) return -1;
    } while (!last);
    return 0;
}

static int report(st *s, const char *name, const char *what, fr_err *e)
{
    free(s->out);
    s->out = NULL;
    if (s->nomem) return fr_err_set(e, FR_ENOMEM, "%s: %s: out of memory", name, what);
    return fr_err_set(e, FR_EINPUT, "%s: %s: %s, at input byte %zu", name, what, s->err ? s->err : "corrupt data", s->incnt);
}

static void finish(st *s, uint8_t **out, size_t *out_n)
{
    if (!s->out) s->out = fr_xmalloc(1);
    *out = s->out;
    *out_n = s->outcnt;
}

int fr_inflate(const uint8_t *in, size_t n, size_t *consumed, uint8_t **out, size_t *out_n,
               size_t max_out, const char *name, fr_err *e)
{
    st s = {.in = in, .inlen = n, .max_out = max_out};
    *out = NULL;
    *out_n = 0;
    if (inflate_stream(&s)) return report(&s, name, "deflate", e);
    if (consumed) *consumed = s.incnt;
    finish(&s, out, out_n);
    return FR_OK;
}

uint32_t fr_crc32(uint32_t crc, const void *p, size_t n)
{
    pthread_once(&tables_once, build_tables);
    const uint8_t *b = p;
    crc = ~crc;
    for (size_t i = 0; i < n; i++) crc = crc_table[(crc ^ b[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

int fr_is_gzip(const uint8_t *p, size_t n) { return n >= 2 && p[0] == 0x1f && p[1] == 0x8b; }

/* head == 0: the whole file, verified.  head > 0: stop after at least `head` bytes of output. */
static int gunzip(const uint8_t *in, size_t n, uint8_t **out, size_t *out_n, size_t max_out, size_t head,
                  const char *name, fr_err *e)
{
    st s = {.in = in, .inlen = n, .max_out = max_out, .head = head};
    *out = NULL;
    *out_n = 0;
    int members = 0;
    while (s.incnt < n) {
        const uint8_t *h = in + s.incnt;
        size_t left = n - s.incnt;
        if (left < 10 || !fr_is_gzip(h, left)) {
            if (members) { fail(&s, "trailing garbage after gzip member"); return report(&s, name, "gzip", e); }
            fail(&s, "not a gzip file (bad magic)");
            return report(&s, name, "gzip", e);
        }
        if (h[2] != 8) { fail(&s, "unknown compression method"); return report(&s, name, "gzip", e); }
        unsigned flg = h[3];
        if (flg & 0xe0) { fail(&s, "reserved header flags set"); return report(&s, name, "gzip", e); }
        size_t pos = s.incnt + 10;
        if (flg & 4) {   /* FEXTRA */
            if (n - pos < 2) { s.incnt = pos; fail(&s, "header truncated"); return report(&s, name, "gzip", e); }
            size_t xlen = in[pos] | (size_t)in[pos + 1] << 8;
            pos += 2;
            if (n - pos < xlen) { s.incnt = pos; fail(&s, "header truncated"); return report(&s, name, "gzip", e); }
            pos += xlen;
        }
        for (unsigned f = 8; f <= 16; f <<= 1) {   /* FNAME, FCOMMENT: zero-terminated */
            if (!(flg & f)) continue;
            const uint8_t *z = pos < n ? memchr(in + pos, 0, n - pos) : NULL;
            if (!z) { s.incnt = pos; fail(&s, "header truncated"); return report(&s, name, "gzip", e); }
            pos = (size_t)(z - in) + 1;
        }
        if (flg & 2) {   /* FHCRC */
            if (n - pos < 2) { s.incnt = pos; fail(&s, "header truncated"); return report(&s, name, "gzip", e); }
            pos += 2;
        }
        s.incnt = pos;
        s.start = s.outcnt;
        if (inflate_stream(&s)) {
            if (s.err == head_done) break;
            return report(&s, name, "gzip", e);
        }
        if (n - s.incnt < 8) { fail(&s, "trailer truncated"); return report(&s, name, "gzip", e); }
        const uint8_t *t = in + s.incnt;
        uint32_t crc = (uint32_t)t[0] | (uint32_t)t[1] << 8 | (uint32_t)t[2] << 16 | (uint32_t)t[3] << 24;
        uint32_t isz = (uint32_t)t[4] | (uint32_t)t[5] << 8 | (uint32_t)t[6] << 16 | (uint32_t)t[7] << 24;
        size_t got = s.outcnt - s.start;
        if (fr_crc32(0, s.out ? s.out + s.start : (const uint8_t *)"", got) != crc) {
            fail(&s, "CRC-32 mismatch");
            return report(&s, name, "gzip", e);
        }
        if ((uint32_t)got != isz) { fail(&s, "length mismatch"); return report(&s, name, "gzip", e); }
        s.incnt += 8;
        members++;
    }
    if (!members && s.err != head_done) { fail(&s, "empty file"); return report(&s, name, "gzip", e); }
    finish(&s, out, out_n);
    return FR_OK;
}

int fr_gunzip(const uint8_t *in, size_t n, uint8_t **out, size_t *out_n, size_t max_out, const char *name, fr_err *e)
{
    return gunzip(in, n, out, out_n, max_out, 0, name, e);
}

int fr_gunzip_head(const uint8_t *in, size_t n, size_t want, uint8_t **out, size_t *out_n, const char *name, fr_err *e)
{
    /* One stored block (64 KiB) or one match (258 bytes) may overshoot `want`: the slack lets
     * it finish, so the result is never cut short while the stream has more. */
    return gunzip(in, n, out, out_n, want + 65536, want ? want : 1, name, e);
}
