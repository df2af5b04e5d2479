/* repack.h — .frc frames as their decompressed bytes, and back: the structure-aware fuzz
 * harness (fuzz_frcs.c) and test_ckpt's malformed corpus edit what the decoder reads, then
 * rebuild a file whose sizes, zstd frames and checksums are all consistent again.
 *
 * Design note
 *   Checksum repair alone (fixup.h) keeps the compressed bytes, so a byte-level mutation lands
 *   in zstd data and almost never decodes to anything but "corrupt"; the decoders behind it
 *   (counts, shapes, floats) were reached only through the handful of hand-made cases.
 *   Unpacking gives the mutator the raw frame content; packing recompresses (level 1, no
 *   checksum: what the writer does apart from the level) and recomputes raw_len, comp_len, the
 *   FNV of every frame and the header hash.  Header-only; needs <zstd.h> and frtui/common.h.
 */
#ifndef FR_FUZZ_REPACK_H
#define FR_FUZZ_REPACK_H
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "frtui/common.h"

#define FZ_MAX_FRAMES 256

typedef struct fz_frc {
    uint8_t head[32];               /* the file header as read (hlen is forced to 32 on pack) */
    int nf;
    uint32_t type[FZ_MAX_FRAMES];
    uint8_t *raw[FZ_MAX_FRAMES];    /* malloc'd decompressed content; NULL = not unpacked (lazy) */
    size_t len[FZ_MAX_FRAMES];      /* content size (from the zstd frame header) */
    /* The frame as stored, for frames packed again unchanged (raw[k] == NULL): its zstd bytes
     * (pointing into the unpacked input, which must outlive fz_frc_pack) and its record's FNV.
     * Recompressing and re-hashing every frame on every mutation, when one changed, was the
     * custom mutator's main cost. */
    const uint8_t *comp[FZ_MAX_FRAMES];
    size_t clen[FZ_MAX_FRAMES];
    uint64_t fnv[FZ_MAX_FRAMES];
} fz_frc;

/* One context each for the process (reachable at exit, not a leak): making one per call was
 * most of the custom mutator's time. */
static inline ZSTD_DCtx *fz_dctx(void)
{
    static ZSTD_DCtx *d;
    if (!d && !(d = ZSTD_createDCtx())) abort();
    return d;
}
static inline ZSTD_CCtx *fz_cctx(void)
{
    static ZSTD_CCtx *c;
    if (!c && !(c = ZSTD_createCCtx())) abort();
    return c;
}

static inline void fz_frc_free(fz_frc *f)
{
    for (int k = 0; k < f->nf; k++) free(f->raw[k]);
    f->nf = 0;
}

/* Decompresses frame k (when not already); 0 on success. */
static inline int fz_frc_load(fz_frc *f, int k)
{
    if (f->raw[k]) return 0;
    size_t cs = f->len[k];
    uint8_t *r = malloc(cs ? cs : 1);
    if (!r) return -1;
    size_t got = ZSTD_decompressDCtx(fz_dctx(), r, cs ? cs : 1, f->comp[k], f->clen[k]);
    if (ZSTD_isError(got) || got != cs) { free(r); return -1; }
    f->raw[k] = r;
    return 0;
}

/* Splits a structurally sound .frc (any checksums) into frame records without decompressing
 * anything (fz_frc_load does it per frame); 0 on success.  Frames whose zstd header declares
 * more than `max_raw` bytes, or none, make it fail (-1).  b must outlive f. */
static inline int fz_frc_unpack_lazy(const uint8_t *b, size_t n, fz_frc *f, size_t max_raw)
{
    memset(f, 0, sizeof *f);
    if (n < 32 || memcmp(b, "FRTC", 4) != 0) return -1;
    memcpy(f->head, b, 32);
    uint32_t hlen, nf;
    memcpy(&hlen, b + 12, 4);
    memcpy(&nf, b + 16, 4);
    if (hlen < 32 || hlen > n || nf > FZ_MAX_FRAMES) return -1;
    size_t off = hlen;
    for (uint32_t k = 0; k < nf; k++) {
        if (n - off < 32) return -1;
        uint64_t raw_len, comp_len;
        memcpy(&f->type[k], b + off, 4);
        memcpy(&raw_len, b + off + 8, 8);
        memcpy(&comp_len, b + off + 16, 8);
        memcpy(&f->fnv[k], b + off + 24, 8);
        off += 32;
        if (comp_len > n - off || raw_len > max_raw) return -1;
        unsigned long long cs = ZSTD_getFrameContentSize(b + off, comp_len);
        if (cs == ZSTD_CONTENTSIZE_ERROR || cs == ZSTD_CONTENTSIZE_UNKNOWN || cs > max_raw) return -1;
        f->comp[k] = b + off;
        f->clen[k] = (size_t)comp_len;
        f->len[k] = (size_t)cs;
        f->nf = (int)k + 1;
        off += comp_len;
    }
    return 0;
}

/* The same, every frame decompressed (the malformed-corpus generator edits any of them). */
static inline int fz_frc_unpack(const uint8_t *b, size_t n, fz_frc *f, size_t max_raw)
{
    if (fz_frc_unpack_lazy(b, n, f, max_raw) != 0) return -1;
    for (int k = 0; k < f->nf; k++)
        if (fz_frc_load(f, k) != 0) { fz_frc_free(f); return -1; }
    return 0;
}

/* Builds the file: header (frame count = f->nf, hlen 32, hash), then every frame with its
 * record repaired: unpacked frames recompressed (level 1, no checksum: what the writer does
 * apart from the level) with their FNV recomputed, the others copied as they were.  Returns a
 * malloc'd buffer (NULL on failure), its size in *n. */
static inline uint8_t *fz_frc_pack(const fz_frc *f, size_t *n)
{
    size_t cap = 32;
    for (int k = 0; k < f->nf; k++) cap += 32 + (f->raw[k] ? ZSTD_compressBound(f->len[k]) : f->clen[k]);
    uint8_t *b = malloc(cap);
    if (!b) return NULL;
    memcpy(b, f->head, 32);
    uint32_t hlen = 32, nf = (uint32_t)f->nf;
    memcpy(b + 12, &hlen, 4);
    memcpy(b + 16, &nf, 4);
    uint64_t h = fr_fnv1a(FR_FNV_INIT, b, 24);
    memcpy(b + 24, &h, 8);
    size_t off = 32;
    for (int k = 0; k < f->nf; k++) {
        uint8_t *rec = b + off;
        off += 32;
        size_t cl;
        uint64_t fnv;
        if (f->raw[k]) {
            cl = ZSTD_compressCCtx(fz_cctx(), b + off, cap - off, f->raw[k], f->len[k], 1);
            if (ZSTD_isError(cl)) { free(b); return NULL; }
            fnv = fr_fnv1a(FR_FNV_INIT, f->raw[k], f->len[k]);
        } else {
            cl = f->clen[k];
            memcpy(b + off, f->comp[k], cl);
            fnv = f->fnv[k];
        }
        uint32_t res = 0;
        uint64_t rl = f->len[k], cl64 = cl;
        memcpy(rec, &f->type[k], 4); memcpy(rec + 4, &res, 4); memcpy(rec + 8, &rl, 8);
        memcpy(rec + 16, &cl64, 8); memcpy(rec + 24, &fnv, 8);
        off += cl;
    }
    *n = off;
    return b;
}

/* Offset of the first occurrence of a length-prefixed string (u16 + bytes) in p[0..n), or -1:
 * the malformed-corpus generator finds fields next to a marker name this way. */
static inline long fz_find_str(const uint8_t *p, size_t n, const char *s)
{
    size_t l = strlen(s);
    for (size_t k = 0; k + 2 + l <= n; k++)
        if (p[k] == (uint8_t)(l & 0xff) && p[k + 1] == (uint8_t)(l >> 8) && memcmp(p + k + 2, s, l) == 0) return (long)k;
    return -1;
}
/* ---- .frm: sections, and the payloads inside TENSORS and DATASETS -------------------------- */

#define FZ_MAX_SECT 16
#define FZ_MAX_PAY 512

typedef struct fz_pay {
    size_t ent;        /* offset of the entry's u64 offset/length pair in the section's table */
    uint8_t *p;        /* malloc'd payload bytes (compressed as stored, or raw) */
    size_t n;
    int zstd;          /* stored as a zstd frame */
} fz_pay;

typedef struct fz_frm {
    uint8_t head[32];
    int ns;
    uint32_t type[FZ_MAX_SECT];
    uint8_t *sec[FZ_MAX_SECT];   /* malloc'd; for TENSORS/DATASETS only the table part */
    size_t len[FZ_MAX_SECT];
    int np[FZ_MAX_SECT];
    fz_pay *pay[FZ_MAX_SECT];
} fz_frm;

static inline void fz_frm_free(fz_frm *f)
{
    for (int i = 0; i < f->ns; i++) {
        free(f->sec[i]);
        for (int k = 0; k < f->np[i]; k++) free(f->pay[i][k].p);
        free(f->pay[i]);
    }
    f->ns = 0;
}

static inline uint64_t fz_le(const uint8_t *p, int k) { uint64_t v = 0; for (int i = k - 1; i >= 0; i--) v = v << 8 | p[i]; return v; }
static inline void fz_set_le(uint8_t *p, uint64_t v, int k) { for (int i = 0; i < k; i++) p[i] = (uint8_t)(v >> (8 * i)); }

/* Walks a TENSORS (type 3) or DATASETS (type 4) table; fills the payload list and returns the
 * table's length, or 0 when the table does not parse. */
static inline size_t fz_frm_table(uint32_t type, const uint8_t *s, size_t n, fz_pay *pay, int *np)
{
    if (n < 4) return 0;
    uint64_t cnt = fz_le(s, 4);
    size_t pos = 4;
    *np = 0;
    for (uint64_t i = 0; i < cnt; i++) {
        if (n - pos < 2) return 0;
        size_t l = (size_t)fz_le(s + pos, 2);
        size_t fixed = type == 3 ? 1 + 32 + 1 + 16 : 26 + 32;
        if (n - pos < 2 + l + fixed) return 0;
        size_t e = pos + 2 + l;
        if (type == 3) {
            if (*np >= FZ_MAX_PAY) return 0;
            pay[*np].ent = e + 34;
            pay[*np].zstd = s[e + 33] == 1;
            (*np)++;
        } else {
            if (*np + 2 > FZ_MAX_PAY) return 0;
            pay[*np].ent = e + 26; pay[*np].zstd = 1; (*np)++;
            if (s[e + 25]) { pay[*np].ent = e + 42; pay[*np].zstd = 1; (*np)++; }
        }
        pos += 2 + l + fixed;
    }
    return pos;
}

/* Splits a .frm into sections and payloads; 0 on success. */
static inline int fz_frm_unpack(const uint8_t *b, size_t n, fz_frm *f)
{
    memset(f, 0, sizeof *f);
    if (n < 32 || memcmp(b, "FRTM", 4) != 0) return -1;
    memcpy(f->head, b, 32);
    uint64_t ns = fz_le(b + 12, 4);
    if (ns < 1 || ns > FZ_MAX_SECT || 32 + ns * 32 > n) return -1;
    for (uint64_t i = 0; i < ns; i++) {
        const uint8_t *t = b + 32 + i * 32;
        uint64_t off = fz_le(t + 8, 8), len = fz_le(t + 16, 8);
        if (off > n || len > n - off) { fz_frm_free(f); return -1; }
        const uint8_t *s = b + off;
        f->type[i] = (uint32_t)fz_le(t, 4);
        f->ns = (int)i + 1;
        size_t keep = (size_t)len;
        if (f->type[i] == 3 || f->type[i] == 4) {
            fz_pay tmp[FZ_MAX_PAY];
            int np = 0;
            size_t tl = fz_frm_table(f->type[i], s, (size_t)len, tmp, &np);
            if (!tl) { fz_frm_free(f); return -1; }
            f->pay[i] = calloc((size_t)(np ? np : 1), sizeof(fz_pay));
            if (!f->pay[i]) { fz_frm_free(f); return -1; }
            for (int k = 0; k < np; k++) {
                uint64_t po = fz_le(s + tmp[k].ent, 8), pl = fz_le(s + tmp[k].ent + 8, 8);
                if (po > len || pl > len - po) { f->np[i] = k; fz_frm_free(f); return -1; }
                f->pay[i][k] = tmp[k];
                f->pay[i][k].p = malloc(pl ? pl : 1);
                if (!f->pay[i][k].p) { f->np[i] = k; fz_frm_free(f); return -1; }
                memcpy(f->pay[i][k].p, s + po, pl);
                f->pay[i][k].n = (size_t)pl;
                f->np[i] = k + 1;
            }
            keep = tl;
        }
        f->sec[i] = malloc(keep ? keep : 1);
        if (!f->sec[i]) { fz_frm_free(f); return -1; }
        memcpy(f->sec[i], s, keep);
        f->len[i] = keep;
    }
    return 0;
}

/* Lays the file out again: sections at 64-byte offsets after the table, payloads at 64-byte
 * offsets after their section's table (entries patched), every checksum, the file size and
 * the header hash recomputed.  Returns a malloc'd buffer or NULL. */
static inline uint8_t *fz_frm_pack(const fz_frm *f, size_t *out_n)
{
    size_t cap = 32 + (size_t)f->ns * 32 + 64;
    for (int i = 0; i < f->ns; i++) {
        cap += f->len[i] + 128;
        for (int k = 0; k < f->np[i]; k++) cap += f->pay[i][k].n + 64;
    }
    uint8_t *b = calloc(1, cap);
    if (!b) return NULL;
    memcpy(b, f->head, 32);
    fz_set_le(b + 12, (uint64_t)f->ns, 4);
    size_t pos = 32 + (size_t)f->ns * 32;
    for (int i = 0; i < f->ns; i++) {
        pos = (pos + 63) & ~(size_t)63;
        size_t start = pos;
        memcpy(b + pos, f->sec[i], f->len[i]);
        pos += f->len[i];
        for (int k = 0; k < f->np[i]; k++) {
            pos = (pos + 63) & ~(size_t)63;
            memcpy(b + pos, f->pay[i][k].p, f->pay[i][k].n);
            if (f->pay[i][k].ent + 16 <= f->len[i]) {   /* a mutated table may have shrunk */
                fz_set_le(b + start + f->pay[i][k].ent, pos - start, 8);
                fz_set_le(b + start + f->pay[i][k].ent + 8, f->pay[i][k].n, 8);
            }
            pos += f->pay[i][k].n;
        }
        uint8_t *t = b + 32 + (size_t)i * 32;
        fz_set_le(t, f->type[i], 4);
        fz_set_le(t + 4, 0, 4);
        fz_set_le(t + 8, start, 8);
        fz_set_le(t + 16, pos - start, 8);
        fz_set_le(t + 24, fr_fnv1a(FR_FNV_INIT, b + start, pos - start), 8);
    }
    fz_set_le(b + 16, pos, 8);
    uint64_t h = fr_fnv1a(fr_fnv1a(FR_FNV_INIT, b, 24), b + 32, (size_t)f->ns * 32);
    fz_set_le(b + 24, h, 8);
    *out_n = pos;
    return b;
}
#endif
