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
    uint8_t *raw[FZ_MAX_FRAMES];    /* malloc'd decompressed content */
    size_t len[FZ_MAX_FRAMES];
} fz_frc;

static inline void fz_frc_free(fz_frc *f)
{
    for (int k = 0; k < f->nf; k++) free(f->raw[k]);
    f->nf = 0;
}

/* Splits a structurally sound .frc (any checksums) into frames; 0 on success.  Frames larger
 * than `max_raw` are not unpacked (-1). */
static inline int fz_frc_unpack(const uint8_t *b, size_t n, fz_frc *f, size_t max_raw)
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
        if (n - off < 32) { fz_frc_free(f); return -1; }
        uint64_t raw_len, comp_len;
        memcpy(&f->type[k], b + off, 4);
        memcpy(&raw_len, b + off + 8, 8);
        memcpy(&comp_len, b + off + 16, 8);
        off += 32;
        if (comp_len > n - off || raw_len > max_raw) { fz_frc_free(f); return -1; }
        unsigned long long cs = ZSTD_getFrameContentSize(b + off, comp_len);
        if (cs == ZSTD_CONTENTSIZE_ERROR || cs == ZSTD_CONTENTSIZE_UNKNOWN || cs > max_raw) { fz_frc_free(f); return -1; }
        f->raw[k] = malloc(cs ? cs : 1);
        if (!f->raw[k]) { fz_frc_free(f); return -1; }
        f->nf = (int)k + 1;
        size_t got = ZSTD_decompress(f->raw[k], cs ? cs : 1, b + off, comp_len);
        if (ZSTD_isError(got) || got != cs) { fz_frc_free(f); return -1; }
        f->len[k] = (size_t)cs;
        off += comp_len;
    }
    return 0;
}

/* Builds the file: header (frame count = f->nf, hlen 32, hash), then every frame recompressed
 * with its record repaired.  Returns a malloc'd buffer (NULL on failure), its size in *n. */
static inline uint8_t *fz_frc_pack(const fz_frc *f, size_t *n)
{
    size_t cap = 32;
    for (int k = 0; k < f->nf; k++) cap += 32 + ZSTD_compressBound(f->len[k]);
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
        size_t cl = ZSTD_compress(b + off, cap - off, f->raw[k], f->len[k], 1);
        if (ZSTD_isError(cl)) { free(b); return NULL; }
        uint32_t res = 0;
        uint64_t rl = f->len[k], cl64 = cl, fnv = fr_fnv1a(FR_FNV_INIT, f->raw[k], f->len[k]);
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
#endif
