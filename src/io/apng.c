/* apng.c — animated PNG writer (contract in include/frtui/apng.h).
 *
 * Design note: the whole file is built in memory (frames are heatmaps of at most a few MB) and
 * written with one fr_atomic_write, so a failure never leaves a partial animation.  Each frame's
 * scanlines get filter byte 0 (none) and are deflated with zlib at level 6; the first frame goes
 * in IDAT (with its fcTL before it, so it is part of the animation), the others in fdAT.  The
 * delay is delay_ms / 1000 s (fcTL delay_num / delay_den).
 */
#include "frtui/apng.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "frtui/png.h"
#include "frtui/sb.h"

static void be32(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v; }
static void be16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

/* length, type, data, CRC over type and data */
static void chunk(fr_sb *b, const char *type, const uint8_t *a, size_t an, const uint8_t *d, size_t dn)
{
    uint8_t h[8];
    be32(h, (uint32_t)(an + dn));
    memcpy(h + 4, type, 4);
    fr_sb_put(b, h, 8);
    if (an) fr_sb_put(b, a, an);
    if (dn) fr_sb_put(b, d, dn);
    uLong crc = crc32(0L, (const Bytef *)type, 4);
    if (an) crc = crc32(crc, a, (uInt)an);
    if (dn) crc = crc32(crc, d, (uInt)dn);
    be32(h, (uint32_t)crc);
    fr_sb_put(b, h, 4);
}

static void fctl(fr_sb *b, uint32_t seq, int w, int h, int delay_ms)
{
    uint8_t c[26];
    be32(c, seq); be32(c + 4, (uint32_t)w); be32(c + 8, (uint32_t)h); be32(c + 12, 0); be32(c + 16, 0);
    be16(c + 20, (uint16_t)delay_ms); be16(c + 22, 1000);
    c[24] = 0;   /* dispose: none (every frame covers the canvas) */
    c[25] = 0;   /* blend: source */
    chunk(b, "fcTL", c, sizeof c, NULL, 0);
}

int fr_apng_write(const char *path, const uint8_t *const *frames, int n, int w, int h, int delay_ms, fr_err *e)
{
    if (n < 1 || n > 10000 || w < 1 || h < 1 || w > FR_PNG_MAX_DIM || h > FR_PNG_MAX_DIM || delay_ms < 1 || delay_ms > 65535)
        return fr_err_set(e, FR_EINPUT, "%s: bad animation (%d frames of %dx%d, %d ms)", path, n, w, h, delay_ms);
    size_t row = (size_t)w * 3 + 1, raw_n = row * (size_t)h;
    uint8_t *raw = fr_xmalloc(raw_n);
    uLong zcap = compressBound((uLong)raw_n);
    uint8_t *z = fr_xmalloc(zcap);
    fr_sb b = {0};
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    fr_sb_put(&b, sig, 8);
    uint8_t ihdr[13];
    be32(ihdr, (uint32_t)w); be32(ihdr + 4, (uint32_t)h);
    ihdr[8] = 8; ihdr[9] = 2; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;   /* 8-bit RGB, deflate, no interlace */
    chunk(&b, "IHDR", ihdr, sizeof ihdr, NULL, 0);
    uint8_t actl[8];
    be32(actl, (uint32_t)n); be32(actl + 4, 0);   /* 0 plays = loop forever */
    chunk(&b, "acTL", actl, sizeof actl, NULL, 0);
    uint32_t seq = 0;
    int rc = FR_OK;
    for (int f = 0; f < n && !rc; f++) {
        for (int y = 0; y < h; y++) {
            raw[(size_t)y * row] = 0;
            memcpy(raw + (size_t)y * row + 1, frames[f] + (size_t)y * w * 3, (size_t)w * 3);
        }
        uLongf zn = zcap;
        if (compress2(z, &zn, raw, (uLong)raw_n, 6) != Z_OK) { rc = fr_err_set(e, FR_EIO, "%s: deflate failed", path); break; }
        fctl(&b, seq++, w, h, delay_ms);
        if (f == 0) {
            chunk(&b, "IDAT", z, zn, NULL, 0);
        } else {
            uint8_t s4[4];
            be32(s4, seq++);
            chunk(&b, "fdAT", s4, 4, z, zn);
        }
    }
    chunk(&b, "IEND", NULL, 0, NULL, 0);
    free(raw);
    free(z);
    if (!rc) rc = fr_atomic_write(path, b.p, b.n, e);
    fr_sb_free(&b);
    return rc;
}
