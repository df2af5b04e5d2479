/* apng.h — animated PNG writer (src/io/apng.c).
 *
 * An APNG is a PNG whose first frame is the ordinary image (viewers without APNG support show
 * it), followed by more frames in fdAT chunks: acTL (frame count, plays) before IDAT, an fcTL
 * before each frame, fcTL and fdAT sharing one sequence counter from 0.  libpng 1.6 as shipped
 * has no APNG support, so the chunks are built here with zlib (deflate, crc32).
 */
#ifndef FRTUI_APNG_H
#define FRTUI_APNG_H

#include <stdint.h>
#include "frtui/common.h"

/* Writes n frames (each w x h packed 8-bit RGB) as an endlessly looping APNG, delay_ms per
 * frame, through fr_atomic_*.  n in [1, 10000], w, h in [1, FR_PNG_MAX_DIM]. */
int fr_apng_write(const char *path, const uint8_t *const *frames, int n, int w, int h, int delay_ms, fr_err *e);

#endif
