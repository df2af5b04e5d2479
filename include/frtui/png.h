/* png.h — PNG file I/O (libpng) and a bilinear resize helper.
 *
 * Images are packed 8-bit RGB, row-major, no padding: pixel (x, y) is at rgb[3 * (y * w + x)].
 * The writer goes through fr_atomic_* so a failed write never leaves a partial file; the reader
 * validates everything and returns errors as values (FR_EINPUT for bad files, FR_EIO when the
 * file cannot be opened, FR_ENOMEM for sizes over the limit). */
#ifndef FRTUI_PNG_H
#define FRTUI_PNG_H

#include <stdint.h>
#include "frtui/common.h"

/* Largest width or height the reader accepts (checked before any pixel buffer is allocated)
 * and the writer produces. */
#define FR_PNG_MAX_DIM 16384

/* Writes an 8-bit RGB PNG atomically.  w, h in [1, FR_PNG_MAX_DIM]. */
int fr_png_write(const char *path, const uint8_t *rgb, int w, int h, fr_err *e);

/* Reads any PNG (grey, grey+alpha, RGB, RGBA, palette, 1..16 bit, interlaced) and converts it to
 * 8-bit RGB: alpha is dropped (the stored colour is kept), 16-bit is scaled to 8-bit, grey is
 * replicated.  On success *rgb is a new buffer of w*h*3 bytes the caller frees with fr_afree;
 * on failure *rgb is NULL. */
int fr_png_read(const char *path, uint8_t **rgb, int *w, int *h, fr_err *e);

/* Bilinear resize of a planar float image, ch planes of sh x sw (CHW, like one NCHW sample)
 * into ch planes of dh x dw.  align_corners=False / half-pixel-centre semantics, matching
 * torch.nn.functional.interpolate(mode="bilinear", align_corners=False, antialias=False) and
 * tf.image.resize(method="bilinear") in TF2: source coordinate = (d + 0.5) * s/d - 0.5, clamped
 * at the low edge to 0 and at the high edge to the last pixel. */
void fr_image_resize_bilinear(const float *src, int sw, int sh, int ch, float *dst, int dw, int dh);

#endif
