/* test_jpeg.c — the JPEG reader (src/io/jpeg.c), the reader chosen by a file's first bytes, and
 * the photo set's box reduction of large photographs (src/tools/photoset.c).
 *   - known answers: JPEGs written here with libjpeg's own encoder at quality 100 without chroma
 *     subsampling decode to within a few levels of the pixels encoded (colour and grey);
 *   - errors are values naming the file: missing, truncated, not a JPEG, CMYK;
 *   - fr_image_read picks the decoder by the magic bytes, not the name;
 *   - a photo with a shorter side >= 2 x FR_PHOTO_BASE_SIDE gives the crops of its box-reduced
 *     copy, and a JPEG photo gives the crops of the same pixels stored as PNG. */
#include "frtui/jpeg.h"
#include "frtui/devtools.h"
#include "frtui/png.h"
#include "fr_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jpeglib.h>

static char dir[] = "/tmp/fr_jpeg_XXXXXX";

static void path_of(char *buf, size_t n, const char *name) { snprintf(buf, n, "%s/%s", dir, name); }

/* Writes px (w x h, `comps` bytes per pixel in colour space cs) as a quality-100 JPEG with no
 * chroma subsampling. */
static void write_jpeg(const char *path, const uint8_t *px, int w, int h, int comps, J_COLOR_SPACE cs)
{
    FILE *f = fopen(path, "wb");
    FR_CHECK(f != NULL);
    if (!f) return;
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = comps;
    c.in_color_space = cs;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 100, TRUE);
    for (int i = 0; i < c.num_components; i++) c.comp_info[i].h_samp_factor = c.comp_info[i].v_samp_factor = 1;
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = (JSAMPROW)(px + (size_t)c.next_scanline * w * comps);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    fclose(f);
}

static uint8_t *gradient(int w, int h)
{
    uint8_t *p = fr_xmalloc((size_t)w * h * 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *q = p + 3 * ((size_t)y * w + x);
            q[0] = (uint8_t)(255 * x / (w - 1));
            q[1] = (uint8_t)(255 * y / (h - 1));
            q[2] = (uint8_t)(128 + 100 * ((x / 8 + y / 8) % 2 ? 1 : -1) / 2);
        }
    return p;
}

static int max_diff(const uint8_t *a, const uint8_t *b, size_t n)
{
    int m = 0;
    for (size_t i = 0; i < n; i++) {
        int d = abs((int)a[i] - (int)b[i]);
        if (d > m) m = d;
    }
    return m;
}

static void test_decode(void)
{
    char p[256];
    fr_err e;
    fr_err_clear(&e);
    const int W = 48, H = 40;
    uint8_t *src = gradient(W, H), *rgb = NULL;
    int w = 0, h = 0;
    path_of(p, sizeof p, "c.jpg");
    write_jpeg(p, src, W, H, 3, JCS_RGB);
    FR_CHECK(fr_jpeg_read(p, &rgb, &w, &h, &e) == FR_OK);
    FR_CHECK(w == W && h == H && rgb != NULL);
    if (rgb) FR_CHECKF(max_diff(rgb, src, (size_t)W * H * 3) <= 6, "q100 4:4:4 max error %d", max_diff(rgb, src, (size_t)W * H * 3));
    fr_afree(rgb);

    /* grey: one component in the file, three equal planes out */
    uint8_t *g = fr_xmalloc((size_t)W * H);
    for (int i = 0; i < W * H; i++) g[i] = (uint8_t)(i * 7 % 256 / 2 + 60);
    path_of(p, sizeof p, "g.jpg");
    write_jpeg(p, g, W, H, 1, JCS_GRAYSCALE);
    rgb = NULL;
    FR_CHECK(fr_jpeg_read(p, &rgb, &w, &h, &e) == FR_OK && w == W && h == H);
    int same = 1, err = 0;
    for (int i = 0; rgb && i < W * H; i++) {
        same &= rgb[3 * i] == rgb[3 * i + 1] && rgb[3 * i] == rgb[3 * i + 2];
        int d = abs((int)rgb[3 * i] - (int)g[i]);
        if (d > err) err = d;
    }
    FR_CHECK(rgb && same);
    FR_CHECKF(err <= 6, "grey max error %d", err);
    fr_afree(rgb);

    /* fr_image_read goes by the magic bytes: the JPEG under a .png name, a PNG under .jpg */
    char q[256];
    path_of(q, sizeof q, "really-jpeg.png");
    FR_CHECK(rename(p, q) == 0);
    rgb = NULL;
    FR_CHECK(fr_image_read(q, &rgb, &w, &h, &e) == FR_OK && w == W && h == H);
    fr_afree(rgb);
    unlink(q);
    path_of(q, sizeof q, "really-png.jpg");
    FR_CHECK(fr_png_write(q, src, W, H, &e) == FR_OK);
    rgb = NULL;
    FR_CHECK(fr_image_read(q, &rgb, &w, &h, &e) == FR_OK && w == W && h == H && rgb && memcmp(rgb, src, (size_t)W * H * 3) == 0);
    fr_afree(rgb);
    unlink(q);
    path_of(p, sizeof p, "c.jpg");
    unlink(p);
    free(src);
    free(g);
}

static void test_errors(void)
{
    char p[256], q[256];
    fr_err e;
    uint8_t *rgb = (uint8_t *)1;
    int w = 1, h = 1;
    path_of(p, sizeof p, "missing.jpg");
    fr_err_clear(&e);
    FR_CHECK(fr_jpeg_read(p, &rgb, &w, &h, &e) == FR_EIO && rgb == NULL && w == 0 && strstr(e.msg, "missing.jpg"));

    /* truncated: the first half of a valid file */
    uint8_t *src = gradient(64, 64);
    path_of(p, sizeof p, "whole.jpg");
    write_jpeg(p, src, 64, 64, 3, JCS_RGB);
    FILE *f = fopen(p, "rb");
    static uint8_t buf[65536];
    size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f) fclose(f);
    FR_CHECK(n > 200);
    path_of(q, sizeof q, "half.jpg");
    f = fopen(q, "wb");
    if (f) { fwrite(buf, 1, n / 2, f); fclose(f); }
    fr_err_clear(&e);
    rgb = (uint8_t *)1;
    FR_CHECK(fr_jpeg_read(q, &rgb, &w, &h, &e) == FR_EINPUT && rgb == NULL && strstr(e.msg, "half.jpg"));
    FR_CHECKF(strstr(e.msg, "JPEG") != NULL, "message: %s", e.msg);
    unlink(q);
    unlink(p);

    /* not a JPEG at all */
    path_of(q, sizeof q, "text.jpg");
    f = fopen(q, "wb");
    if (f) { fputs("hello, this is not an image\n", f); fclose(f); }
    fr_err_clear(&e);
    FR_CHECK(fr_jpeg_read(q, &rgb, &w, &h, &e) == FR_EINPUT && rgb == NULL && strstr(e.msg, "text.jpg"));
    fr_err_clear(&e);   /* and through the dispatcher: not a JPEG, so the PNG reader names it */
    FR_CHECK(fr_image_read(q, &rgb, &w, &h, &e) == FR_EINPUT && rgb == NULL && strstr(e.msg, "text.jpg"));
    unlink(q);

    /* CMYK is refused by name */
    uint8_t *cmyk = fr_xmalloc(16 * 16 * 4);
    for (int i = 0; i < 16 * 16 * 4; i++) cmyk[i] = (uint8_t)(i * 13);
    path_of(q, sizeof q, "cmyk.jpg");
    write_jpeg(q, cmyk, 16, 16, 4, JCS_CMYK);
    fr_err_clear(&e);
    FR_CHECK(fr_jpeg_read(q, &rgb, &w, &h, &e) == FR_EINPUT && rgb == NULL && strstr(e.msg, "CMYK") && strstr(e.msg, "cmyk.jpg"));
    unlink(q);
    free(cmyk);
    free(src);
}

/* A 1030 x 1100 photo (shorter side >= 2 x 512) is box-reduced by 2 before cropping: its crops
 * equal those of a 515 x 550 copy reduced here (which is not reduced again). */
static void test_box_reduce(void)
{
    FR_CHECK(FR_PHOTO_BASE_SIDE == 512);
    const int W = 1030, H = 1100, w2 = W / 2, h2 = H / 2;
    uint8_t *big = fr_xmalloc((size_t)W * H * 3), *small = fr_xmalloc((size_t)w2 * h2 * 3);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            for (int c = 0; c < 3; c++) big[3 * ((size_t)y * W + x) + c] = (uint8_t)((x * (c + 1) + y * 3 + (x ^ y)) % 256);
    for (int y = 0; y < h2; y++)
        for (int x = 0; x < w2; x++)
            for (int c = 0; c < 3; c++) {
                unsigned s = 0;
                for (int dy = 0; dy < 2; dy++)
                    for (int dx = 0; dx < 2; dx++) s += big[3 * ((size_t)(2 * y + dy) * W + 2 * x + dx) + c];
                small[3 * ((size_t)y * w2 + x) + c] = (uint8_t)((s + 2) / 4);
            }
    char p[256], q[256];
    fr_err e;
    fr_err_clear(&e);
    path_of(p, sizeof p, "big.png");
    path_of(q, sizeof q, "small.png");
    FR_CHECK(fr_png_write(p, big, W, H, &e) == FR_OK && fr_png_write(q, small, w2, h2, &e) == FR_OK);
    const int n = 5, S = 32;
    const size_t per = (size_t)3 * S * S;
    uint8_t *a = fr_xmalloc(n * per), *b = fr_xmalloc(n * per);
    const char *nb[1] = {"big.png"}, *ns[1] = {"small.png"};
    FR_CHECK(fr_photo_crops(dir, nb, 1, FR_PHOTO_CALIB, n, S, 3, a, &e) == FR_OK);
    FR_CHECK(fr_photo_crops(dir, ns, 1, FR_PHOTO_CALIB, n, S, 3, b, &e) == FR_OK);
    FR_CHECK(memcmp(a, b, n * per) == 0);

    /* a JPEG photo: the crops of its decoded pixels stored losslessly */
    uint8_t *src = gradient(300, 200), *dec = NULL;
    int w = 0, h = 0;
    path_of(p, sizeof p, "photo.jpg");
    write_jpeg(p, src, 300, 200, 3, JCS_RGB);
    FR_CHECK(fr_jpeg_read(p, &dec, &w, &h, &e) == FR_OK);
    path_of(q, sizeof q, "photo-decoded.png");
    FR_CHECK(dec && fr_png_write(q, dec, w, h, &e) == FR_OK);
    const char *nj[1] = {"photo.jpg"}, *np[1] = {"photo-decoded.png"};
    FR_CHECK(fr_photo_crops(dir, nj, 1, FR_PHOTO_EVAL, n, S, 4, a, &e) == FR_OK);
    FR_CHECK(fr_photo_crops(dir, np, 1, FR_PHOTO_EVAL, n, S, 4, b, &e) == FR_OK);
    FR_CHECK(memcmp(a, b, n * per) == 0);
    unlink(p);
    unlink(q);
    path_of(p, sizeof p, "big.png");
    unlink(p);
    path_of(p, sizeof p, "small.png");
    unlink(p);
    fr_afree(dec);
    free(src); free(big); free(small); free(a); free(b);
}

int main(void)
{
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
    FR_RUN(test_decode);
    FR_RUN(test_errors);
    FR_RUN(test_box_reduce);
    rmdir(dir);
    return FR_REPORT();
}
