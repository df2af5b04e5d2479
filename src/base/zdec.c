/* zdec.c — see include/frtui/zdec.h. */
#include "frtui/zdec.h"

#include <stdatomic.h>
#include <stdint.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "frtui/fmap.h"

static _Atomic(ZSTD_DCtx *) g_idle;

#define ZERR(code) ((size_t)-(ZSTD_error_##code))

/* One frame fed in FR_FMAP_WINDOW pieces, each dropped (fr_fmap_drop) once consumed: for a
 * mapped file, the compressed bytes never become resident all at once. */
static size_t windowed(ZSTD_DCtx *d, void *dst, size_t cap, const uint8_t *src, size_t n)
{
    ZSTD_outBuffer out = {dst, cap, 0};
    ZSTD_inBuffer in = {src, 0, 0};
    size_t pos = 0, z = 1;
    while (z != 0) {
        if (in.pos == in.size) {   /* next window */
            if (in.size) fr_fmap_drop(in.src, in.size);
            if (pos == n) return ZERR(srcSize_wrong);   /* the frame does not end */
            size_t k = n - pos < FR_FMAP_WINDOW ? n - pos : FR_FMAP_WINDOW;
            in.src = src + pos;
            in.size = k;
            in.pos = 0;
            pos += k;
        }
        size_t ip = in.pos, op = out.pos;
        z = ZSTD_decompressStream(d, &out, &in);
        if (ZSTD_isError(z)) return z;
        if (z != 0 && in.pos == ip && out.pos == op) return ZERR(dstSize_tooSmall);   /* no progress */
    }
    fr_fmap_drop(in.src, in.size);
    if (in.pos != in.size || pos != n) return ZERR(srcSize_wrong);   /* bytes after the frame */
    return out.pos;
}

size_t fr_zstd_decompress(void *dst, size_t cap, const void *src, size_t n)
{
    ZSTD_DCtx *d = atomic_exchange(&g_idle, NULL);
    if (!d && !(d = ZSTD_createDCtx())) return ZERR(memory_allocation);
    ZSTD_DCtx_reset(d, ZSTD_reset_session_only);
    size_t r = n <= FR_FMAP_WINDOW ? ZSTD_decompressDCtx(d, dst, cap, src, n) : windowed(d, dst, cap, src, n);
    ZSTD_DCtx_reset(d, ZSTD_reset_session_only);   /* a failed frame leaves it mid-stream */
    ZSTD_DCtx *expect = NULL;
    if (!atomic_compare_exchange_strong(&g_idle, &expect, d)) ZSTD_freeDCtx(d);
    return r;
}

static _Atomic(ZSTD_CCtx *) g_idle_c;

size_t fr_zstd_compress(void *dst, size_t cap, const void *src, size_t n, int level)
{
    ZSTD_CCtx *c = atomic_exchange(&g_idle_c, NULL);
    if (!c && !(c = ZSTD_createCCtx())) return ZERR(memory_allocation);
    size_t r = ZSTD_compressCCtx(c, dst, cap, src, n, level);   /* the same bytes as ZSTD_compress */
    ZSTD_CCtx *expect = NULL;
    if (!atomic_compare_exchange_strong(&g_idle_c, &expect, c)) ZSTD_freeCCtx(c);
    return r;
}
