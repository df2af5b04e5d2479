/* fixup.h — checksum repair shared by the fuzz harnesses and tests/test_regress.c.
 *
 * .frm and .frc files carry FNV-1a checksums; a mutated input would almost always stop at the
 * first checksum compare.  The harnesses parse a repaired copy instead, and the regression
 * test replays stored inputs through the same repair, so a stored crash input reproduces
 * exactly as found.  Header-only (static inline functions); needs <zstd.h> and frtui/common.h.
 */
#ifndef FR_FUZZ_FIXUP_H
#define FR_FUZZ_FIXUP_H
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "frtui/common.h"

/* .frm: file_size := n, each in-range section checksum, then the header hash. */
static inline uint64_t fz_rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static inline uint32_t fz_rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline void fz_wr64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

static inline void fr_fuzz_fix_frm(uint8_t *b, size_t n)
{
    if (n < 32 || memcmp(b, "FRTM", 4) != 0) return;
    fz_wr64(b + 16, (uint64_t)n);
    uint32_t ns = fz_rd32(b + 12);
    if (ns > 64 || 32 + (size_t)ns * 32 > n) return;
    for (uint32_t i = 0; i < ns; i++) {
        uint8_t *t = b + 32 + (size_t)i * 32;
        uint64_t off = fz_rd64(t + 8), len = fz_rd64(t + 16);
        if (off <= n && len <= n - off) fz_wr64(t + 24, fr_fnv1a(FR_FNV_INIT, b + off, (size_t)len));
    }
    uint64_t h = fr_fnv1a(FR_FNV_INIT, b, 24);
    h = fr_fnv1a(h, b + 32, (size_t)ns * 32);
    fz_wr64(b + 24, h);
}

/* The memory figure (FRTUI_MEM_AVAILABLE) the harnesses run with, and regress replays too, so
 * a stored input reproduces as found; see harness.h. */
#define FR_FUZZ_MEM_AVAILABLE "4M"
/* Frames larger than this are not repaired: the readers refuse them anyway under the figure
 * above, and inflating a mutant's 64 MiB frame twice per exec made fuzz_frc crawl. */
#define FR_FUZZ_FIX_MAX ((size_t)4 << 20)

/* .frc: header hash, and the raw-bytes FNV of every frame that decompresses (<= FR_FUZZ_FIX_MAX). */
static inline void fr_fuzz_fix_frc(uint8_t *b, size_t n)
{
    if (n < 32 || memcmp(b, "FRTC", 4) != 0) return;
    uint64_t h = fr_fnv1a(FR_FNV_INIT, b, 24);
    memcpy(b + 24, &h, 8);
    uint32_t hlen, nf;
    memcpy(&hlen, b + 12, 4);
    memcpy(&nf, b + 16, 4);
    size_t off = hlen;
    for (uint32_t k = 0; k < nf && off <= n && n - off >= 32; k++) {
        uint64_t raw_len, comp_len;
        memcpy(&raw_len, b + off + 8, 8);
        memcpy(&comp_len, b + off + 16, 8);
        uint8_t *fnvp = b + off + 24;
        off += 32;
        if (comp_len > n - off) return;
        if (raw_len <= FR_FUZZ_FIX_MAX) {
            /* One context for the process: ZSTD_decompress makes and frees one per call, which
             * was a tenth of fuzz_frc's time.  Still reachable at exit, so not a leak. */
            static ZSTD_DCtx *dc;
            if (!dc && !(dc = ZSTD_createDCtx())) return;
            uint8_t *raw = malloc(raw_len ? raw_len : 1);
            if (raw) {
                size_t got = ZSTD_decompressDCtx(dc, raw, raw_len ? raw_len : 1, b + off, comp_len);
                if (!ZSTD_isError(got) && got == raw_len) {
                    uint64_t f = fr_fnv1a(FR_FNV_INIT, raw, raw_len);
                    memcpy(fnvp, &f, 8);
                }
                free(raw);
            }
        }
        off += comp_len;
    }
}

#endif
