/* png.c — libpng writer and reader, bilinear resize.
 *
 * Design note
 *   libpng reports errors by longjmp()ing out of its calls.  Each entry point installs its own
 *   error handler that copies libpng's message into a local context and jumps back to a
 *   setjmp() in the same function; everything that must be released on that path is either set
 *   before setjmp() or declared volatile.  No libpng state outlives a call, so the functions are
 *   thread-safe (libpng itself keeps no globals).
 *   The reader bounds width/height twice: through png_set_user_limits (libpng refuses the IHDR
 *   before allocating anything) and again explicitly, then sizes the pixel buffer with
 *   fr_size_mul against FR_MAX_ALLOC.
 */
#include "frtui/png.h"

#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

typedef struct png_ctx {
    char msg[200];
} png_ctx;

static void on_png_error(png_structp png, png_const_charp msg)
{
    png_ctx *c = png_get_error_ptr(png);
    if (c) snprintf(c->msg, sizeof c->msg, "%s", msg ? msg : "libpng error");
    png_longjmp(png, 1);
}

static void on_png_warning(png_structp png, png_const_charp msg)
{
    (void)png; (void)msg;   /* warnings (e.g. bad ancillary CRC) are not faults for us */
}

int fr_png_write(const char *path, const uint8_t *rgb, int w, int h, fr_err *e)
{
    if (!rgb || w < 1 || h < 1 || w > FR_PNG_MAX_DIM || h > FR_PNG_MAX_DIM)
        return fr_err_set(e, FR_EINPUT, "%s: cannot write a %dx%d image (limit %d)", path, w, h,
                          FR_PNG_MAX_DIM);
    fr_atomic a;
    int rc = fr_atomic_open(&a, path, e);
    if (rc) return rc;
    png_ctx ctx = { "" };
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &ctx, on_png_error, on_png_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_write_struct(&png, &info);
        fr_atomic_abort(&a);
        return fr_err_set(e, FR_EIO, "%s: libpng initialisation failed", path);
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        fr_atomic_abort(&a);
        return fr_err_set(e, FR_EIO, "%s: PNG write failed: %s", path, ctx.msg);
    }
    png_init_io(png, a.f);
    png_set_compression_level(png, 6);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < h; y++)
        png_write_row(png, (png_const_bytep)(rgb + (size_t)y * (size_t)w * 3));
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    return fr_atomic_commit(&a, e);
}

int fr_png_read(const char *path, uint8_t **rgb, int *w, int *h, fr_err *e)
{
    *rgb = NULL;
    *w = *h = 0;
    int fd = fr_open_regular(path, 0, NULL, e);   /* a FIFO is refused, not waited on */
    if (fd < 0) {
        /* A file that cannot be opened stays an I/O error here, as it always was for PNGs. */
        if (e && strstr(e->msg, ": cannot open: ")) e->code = FR_EIO;
        return e ? e->code : FR_EINPUT;
    }
    FILE *f = fdopen(fd, "rb");
    if (!f) { close(fd); return fr_err_set(e, FR_EIO, "%s: cannot open: %s", path, strerror(errno)); }
    unsigned char sig[8];
    if (fread(sig, 1, 8, f) != 8 || png_sig_cmp(sig, 0, 8) != 0) {
        fclose(f);
        return fr_err_set(e, FR_EINPUT, "%s: not a PNG file (bad signature)", path);
    }
    png_ctx ctx = { "" };
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &ctx, on_png_error, on_png_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_read_struct(&png, &info, NULL);
        fclose(f);
        return fr_err_set(e, FR_EIO, "%s: libpng initialisation failed", path);
    }
    uint8_t *volatile buf = NULL;
    png_bytep *volatile rows = NULL;
    volatile int status = FR_EINPUT;
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        fclose(f);
        fr_afree(buf);
        free(rows);
        if (status == FR_ENOMEM) return fr_err_set(e, FR_ENOMEM, "%s: %s", path, ctx.msg);
        return fr_err_set(e, FR_EINPUT, "%s: invalid or truncated PNG: %s", path, ctx.msg);
    }
    png_init_io(png, f);
    png_set_sig_bytes(png, 8);
    png_set_user_limits(png, FR_PNG_MAX_DIM, FR_PNG_MAX_DIM);
    png_set_chunk_malloc_max(png, (png_alloc_size_t)64 << 20);
    /* Metadata we never use is skipped unread: libpng allocates a text or ICC chunk's declared
     * length before reading it (a 47-byte file declaring a 1.8 GB zTXt chunk, found by
     * fuzz_png), and the chunk_malloc_max above does not cover that path. */
    static const png_byte skip[] = "tEXt\0zTXt\0iTXt\0iCCP\0sPLT\0eXIf\0";
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, skip, (int)(sizeof skip / 5));
    png_read_info(png, info);

    png_uint_32 pw = png_get_image_width(png, info), ph = png_get_image_height(png, info);
    if (pw < 1 || ph < 1 || pw > FR_PNG_MAX_DIM || ph > FR_PNG_MAX_DIM) {
        snprintf(ctx.msg, sizeof ctx.msg, "image is %lux%lu, limit is %d per side", (unsigned long)pw,
                 (unsigned long)ph, FR_PNG_MAX_DIM);
        status = FR_ENOMEM;
        png_longjmp(png, 1);
    }
    int ct = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
    if (depth == 16) {
#ifdef PNG_READ_SCALE_16_TO_8_SUPPORTED
        png_set_scale_16(png);
#else
        png_set_strip_16(png);
#endif
    }
    if (ct == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (ct == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (ct == PNG_COLOR_TYPE_GRAY || ct == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
    /* Unconditional: palette expansion turns a tRNS chunk into an alpha channel too. */
    png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_rowbytes(png, info) != (size_t)pw * 3) {
        snprintf(ctx.msg, sizeof ctx.msg, "unsupported pixel format (colour type %d, %d-bit)", ct, depth);
        png_longjmp(png, 1);
    }
    size_t n;
    if (fr_size_mul(&n, (size_t)pw * 3, ph) != FR_OK) {
        snprintf(ctx.msg, sizeof ctx.msg, "image of %lux%lu is too large", (unsigned long)pw, (unsigned long)ph);
        status = FR_ENOMEM;
        png_longjmp(png, 1);
    }
    fr_err lim;
    if (fr_mem_check(&lim, n, "image of %lux%lu", (unsigned long)pw, (unsigned long)ph)) {
        snprintf(ctx.msg, sizeof ctx.msg, "%.199s", lim.msg);
        status = FR_ENOMEM;
        png_longjmp(png, 1);
    }
    buf = fr_amalloc(n);
    if (!buf) {
        snprintf(ctx.msg, sizeof ctx.msg, "out of memory for %zu bytes", n);
        status = FR_ENOMEM;
        png_longjmp(png, 1);
    }
    rows = fr_xmalloc(sizeof(png_bytep) * ph);
    for (png_uint_32 y = 0; y < ph; y++) rows[y] = buf + (size_t)y * pw * 3;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    fclose(f);
    free(rows);
    *rgb = buf;
    *w = (int)pw;
    *h = (int)ph;
    return FR_OK;
}

/* Per-axis sampling table: index pair and weight of the upper neighbour. */
static void bilinear_axis(int s, int d, int *i0, int *i1, float *t)
{
    double scale = (double)s / (double)d;
    for (int k = 0; k < d; k++) {
        double src = ((double)k + 0.5) * scale - 0.5;
        if (src < 0) src = 0;
        int a = (int)floor(src);
        if (a > s - 1) a = s - 1;
        int b = a + 1 < s ? a + 1 : s - 1;
        i0[k] = a;
        i1[k] = b;
        t[k] = (float)(src - a);
        if (b == a) t[k] = 0.0f;
    }
}

void fr_image_resize_bilinear(const float *src, int sw, int sh, int ch, float *dst, int dw, int dh)
{
    FR_ASSERT(src && dst && sw > 0 && sh > 0 && ch > 0 && dw > 0 && dh > 0);
    int *x0 = fr_xmalloc(sizeof(int) * (size_t)dw * 2), *x1 = x0 + dw;
    int *y0 = fr_xmalloc(sizeof(int) * (size_t)dh * 2), *y1 = y0 + dh;
    float *tx = fr_xmalloc(sizeof(float) * (size_t)dw), *ty = fr_xmalloc(sizeof(float) * (size_t)dh);
    bilinear_axis(sw, dw, x0, x1, tx);
    bilinear_axis(sh, dh, y0, y1, ty);
    for (int c = 0; c < ch; c++) {
        const float *p = src + (size_t)c * sw * sh;
        float *q = dst + (size_t)c * dw * dh;
        for (int y = 0; y < dh; y++) {
            const float *r0 = p + (size_t)y0[y] * sw, *r1 = p + (size_t)y1[y] * sw;
            float v = ty[y];
            for (int x = 0; x < dw; x++) {
                float u = tx[x];
                float top = r0[x0[x]] + (r0[x1[x]] - r0[x0[x]]) * u;
                float bot = r1[x0[x]] + (r1[x1[x]] - r1[x0[x]]) * u;
                q[(size_t)y * dw + x] = top + (bot - top) * v;
            }
        }
    }
    free(x0); free(y0); free(tx); free(ty);
}
