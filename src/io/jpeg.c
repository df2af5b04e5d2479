/* jpeg.c — JPEG reader (libjpeg-turbo) for the photo sets' photographs.
 *
 * Design note
 *   Why a library: the wallpapers Debian ships as photographs are JPEGs, and a baseline plus
 *   progressive decoder with chroma upsampling is thousands of lines that libjpeg-turbo already
 *   maintains and fuzzes.  It is used by `frtui-dev photo-set` only.
 *   Errors: libjpeg calls error_exit and expects it not to return; ours longjmp()s back to the
 *   setjmp in fr_jpeg_read with the library's message, and everything released on that path is
 *   volatile or set before setjmp.  Warnings (a corrupt but decodable stream) are treated as
 *   errors: a photo set is only reproducible from files that decode cleanly.
 *   Threading: no globals; every call has its own decompressor.
 *   Bits: JDCT_ISLOW and fancy upsampling are libjpeg's defaults and its SIMD versions give the
 *   C code's bits, so the pixels depend on the file alone.
 */
#include "frtui/jpeg.h"

#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jpeglib.h>

#include "frtui/png.h"

typedef struct jerr_ctx {
    struct jpeg_error_mgr pub;   /* first: libjpeg casts the error manager to this */
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX];
} jerr_ctx;

static void on_jpeg_error(j_common_ptr cinfo)
{
    jerr_ctx *c = (jerr_ctx *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, c->msg);
    longjmp(c->jump, 1);
}

static void on_jpeg_message(j_common_ptr cinfo, int level)
{
    if (level < 0) on_jpeg_error(cinfo);   /* a warning: corrupt data */
}

int fr_jpeg_read(const char *path, uint8_t **rgb, int *w, int *h, fr_err *e)
{
    *rgb = NULL;
    *w = *h = 0;
    int fd = fr_open_regular(path, 0, NULL, e);
    if (fd < 0) {
        if (e && strstr(e->msg, ": cannot open: ")) e->code = FR_EIO;
        return e ? e->code : FR_EINPUT;
    }
    FILE *f = fdopen(fd, "rb");
    if (!f) { close(fd); return fr_err_set(e, FR_EIO, "%s: cannot open: %s", path, strerror(errno)); }
    struct jpeg_decompress_struct cinfo;
    jerr_ctx err;
    memset(&err, 0, sizeof err);
    cinfo.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = on_jpeg_error;
    err.pub.emit_message = on_jpeg_message;
    uint8_t *volatile buf = NULL;
    volatile int status = FR_EINPUT;
    if (setjmp(err.jump)) {
        jpeg_destroy_decompress(&cinfo);
        fclose(f);
        fr_afree(buf);
        if (status == FR_ENOMEM) return fr_err_set(e, FR_ENOMEM, "%s: %s", path, err.msg);
        return fr_err_set(e, FR_EINPUT, "%s: invalid or truncated JPEG: %s", path, err.msg);
    }
    jpeg_create_decompress(&cinfo);
    jpeg_stdio_src(&cinfo, f);
    jpeg_read_header(&cinfo, TRUE);
    if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
        snprintf(err.msg, sizeof err.msg, "CMYK images are not supported");
        longjmp(err.jump, 1);
    }
    cinfo.out_color_space = JCS_RGB;   /* grey is replicated, YCbCr converted */
    if (cinfo.image_width > FR_PNG_MAX_DIM || cinfo.image_height > FR_PNG_MAX_DIM) {
        status = FR_ENOMEM;
        snprintf(err.msg, sizeof err.msg, "%ux%u is larger than %d on a side", cinfo.image_width,
                 cinfo.image_height, FR_PNG_MAX_DIM);
        longjmp(err.jump, 1);
    }
    jpeg_start_decompress(&cinfo);
    const int iw = (int)cinfo.output_width, ih = (int)cinfo.output_height;
    size_t bytes;
    if (cinfo.output_components != 3 || fr_size_mul(&bytes, (size_t)iw * 3, (size_t)ih) != FR_OK ||
        !(buf = fr_amalloc(bytes ? bytes : 1))) {
        status = FR_ENOMEM;
        snprintf(err.msg, sizeof err.msg, "cannot hold a %dx%d image", iw, ih);
        longjmp(err.jump, 1);
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = buf + (size_t)cinfo.output_scanline * (size_t)iw * 3;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    fclose(f);
    *rgb = buf;
    *w = iw;
    *h = ih;
    return FR_OK;
}

int fr_image_read(const char *path, uint8_t **rgb, int *w, int *h, fr_err *e)
{
    *rgb = NULL;
    *w = *h = 0;
    int fd = fr_open_regular(path, 0, NULL, e);
    if (fd < 0) {
        if (e && strstr(e->msg, ": cannot open: ")) e->code = FR_EIO;
        return e ? e->code : FR_EINPUT;
    }
    unsigned char m[3];
    const ssize_t k = read(fd, m, sizeof m);
    close(fd);
    if (k == 3 && m[0] == 0xFF && m[1] == 0xD8 && m[2] == 0xFF) return fr_jpeg_read(path, rgb, w, h, e);
    return fr_png_read(path, rgb, w, h, e);
}
