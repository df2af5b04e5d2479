/* jpeg.h — JPEG reading (libjpeg-turbo), for the photographs the photo sets are cut from.
 *
 * Same conventions as png.h: packed 8-bit RGB, row-major; errors are values naming the file
 * (FR_EIO when it cannot be opened, FR_EINPUT for a file that is not a valid JPEG, FR_ENOMEM
 * past FR_PNG_MAX_DIM on a side). */
#ifndef FRTUI_JPEG_H
#define FRTUI_JPEG_H

#include <stdint.h>
#include "frtui/common.h"

/* Reads a baseline or progressive JPEG (grey, RGB or YCbCr; CMYK is refused) as 8-bit RGB.  On
 * success *rgb is a new buffer of w*h*3 bytes the caller frees with fr_afree; on failure it is
 * NULL.  Decoding uses libjpeg's accurate integer IDCT and its default ("fancy") chroma
 * upsampling, so the pixels are the same on every machine with the same libjpeg. */
int fr_jpeg_read(const char *path, uint8_t **rgb, int *w, int *h, fr_err *e);

/* Either reader by the file's first bytes (PNG signature or JPEG SOI marker). */
int fr_image_read(const char *path, uint8_t **rgb, int *w, int *h, fr_err *e);

#endif
