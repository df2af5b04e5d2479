/* test_png.c — PNG I/O, raster text, font file agreement, resize, and every plot type.
 * Sample plots are left in /tmp/frtui_png_test/ for eyeballing. */
#include "frtui/png.h"
#include "frtui/plot.h"
#include "frtui/heatagg.h"
#include "frtui/pngline.h"
#include "frtui/pngplot.h"
#include "frtui/qdefs.h"
#include "frtui/raster.h"
#include "fr_test.h"
#include "../src/view/pngplot_impl.h"

#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#define OUTDIR "/tmp/frtui_png_test"

static int exists(const char *p) { struct stat st; return stat(p, &st) == 0; }

/* Sample plots keep stable names (deterministic content, atomic writes, so concurrent runs of
 * the release and sanitizer builds agree); scratch files carry the pid and are removed. */
static void outpath(char *buf, size_t n, const char *name) { snprintf(buf, n, "%s/%s", OUTDIR, name); }
static const char *const scratch_names[] = { "roundtrip.png", "never.png", "garbage.png", "good.png", "fmt.png" };
static void scratch(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/scratch-%ld-%s", OUTDIR, (long)getpid(), name);
}

/* No "<name>.tmp.<our pid>" leftovers from fr_atomic in a directory. */
static int no_temp_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return 1;
    struct dirent *de;
    int ok = 1;
    char mine[32];
    snprintf(mine, sizeof mine, ".tmp.%ld", (long)getpid());
    while ((de = readdir(d)))
        if (strstr(de->d_name, mine)) ok = 0;
    closedir(d);
    return ok;
}

static int is_dark(fr_rgb c) { return c.r < 90 && c.g < 90 && c.b < 90; }

/* ---- font ---- */

static FILE *open_font_file(void)
{
    const char *env = getenv("FRTUI_SRCDIR");
    char p[1024];
    if (env) {
        snprintf(p, sizeof p, "%s/assets/font6x10.txt", env);
        FILE *f = fopen(p, "r");
        if (f) return f;
    }
    FILE *f = fopen("assets/font6x10.txt", "r");
    if (!f) f = fopen("../assets/font6x10.txt", "r");
    return f;
}

static void test_font_file_matches_array(void)
{
    FILE *f = open_font_file();
    FR_CHECKF(f != NULL, "assets/font6x10.txt not found (run from the repo root or set FRTUI_SRCDIR)");
    if (!f) return;
    char line[256];
    int glyphs = 0, expect = FR_FONT_FIRST, row = -1, mismatches = 0, badrows = 0, gapink = 0;
    unsigned code = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (line[0] == ';' || (line[0] == 0 && row < 0)) continue;
        if (row < 0) {
            if (sscanf(line, "0x%x", &code) != 1) { badrows++; continue; }
            FR_CHECKF(code == (unsigned)expect, "glyph header 0x%02x, expected 0x%02x", code, expect);
            expect = (int)code + 1;
            row = 0;
            glyphs++;
            continue;
        }
        if (strlen(line) != FR_FONT_W || strspn(line, ".#") != FR_FONT_W) { badrows++; row++; }
        else {
            unsigned bits = 0;
            for (int c = 0; c < FR_FONT_W; c++)
                if (line[c] == '#') bits |= 1u << (FR_FONT_W - 1 - c);
            if (code >= FR_FONT_FIRST && code <= FR_FONT_LAST && bits != fr_font6x10[code - FR_FONT_FIRST][row]) {
                mismatches++;
                if (mismatches < 5) printf("  glyph 0x%02x row %d: file %02x, array %02x\n", code, row, bits,
                                           fr_font6x10[code - FR_FONT_FIRST][row]);
            }
            if (bits & 1u) gapink++;
            row++;
        }
        if (row == FR_FONT_H) row = -1;
    }
    fclose(f);
    FR_CHECKF(glyphs == 95, "%d glyphs", glyphs);
    FR_CHECK(row == -1);
    FR_CHECKF(badrows == 0, "%d malformed rows", badrows);
    FR_CHECKF(mismatches == 0, "%d rows differ between the file and src/view/font.c", mismatches);
    FR_CHECK(gapink == 0);
    /* Every printable glyph but space has ink; no two glyphs of letters/digits are identical. */
    int blank = 0, dup = 0;
    for (int g = 1; g < 95; g++) {
        int ink = 0;
        for (int r = 0; r < FR_FONT_H; r++) ink |= fr_font6x10[g][r];
        blank += !ink;
        for (int h = 1; h < g; h++) dup += !memcmp(fr_font6x10[g], fr_font6x10[h], FR_FONT_H);
    }
    FR_CHECK(blank == 0);
    FR_CHECK(dup == 0);
}

static void test_text_render(void)
{
    fr_raster r;
    FR_CHECK(fr_raster_init(&r, 60, 40, FR_RGB(255, 255, 255), NULL) == FR_OK);
    const char *s = "Ag~";
    for (int scale = 1; scale <= 2; scale++) {
        fr_raster_fill_rect(&r, 0, 0, r.w, r.h, FR_RGB(255, 255, 255));
        int adv = fr_raster_text(&r, 3, 4, s, scale, FR_RGB(0, 0, 0));
        FR_CHECK(adv == 3 * FR_FONT_W * scale);
        FR_CHECK(fr_raster_text_width(s, scale) == adv);
        int bad = 0;
        for (int i = 0; i < 3; i++)
            for (int y = 0; y < FR_FONT_H * scale; y++)
                for (int x = 0; x < FR_FONT_W * scale; x++) {
                    int on = (fr_font6x10[s[i] - 32][y / scale] >> (FR_FONT_W - 1 - x / scale)) & 1;
                    fr_rgb c = fr_raster_get(&r, 3 + i * FR_FONT_W * scale + x, 4 + y);
                    bad += on != (c.r == 0);
                }
        FR_CHECKF(bad == 0, "scale %d: %d pixels differ from the font", scale, bad);
    }
    /* Rotated text: glyph pixel (col,row) of 'L' lands at (x+row, y+len-1-col). */
    fr_raster_fill_rect(&r, 0, 0, r.w, r.h, FR_RGB(255, 255, 255));
    fr_raster_text_up(&r, 5, 2, "L", 1, FR_RGB(0, 0, 0));
    int bad = 0;
    for (int row = 0; row < FR_FONT_H; row++)
        for (int col = 0; col < FR_FONT_W; col++) {
            int on = (fr_font6x10['L' - 32][row] >> (FR_FONT_W - 1 - col)) & 1;
            bad += on != (fr_raster_get(&r, 5 + row, 2 + FR_FONT_W - 1 - col).r == 0);
        }
    FR_CHECK(bad == 0);
    /* A non-ASCII code point is one '?' cell; clipping at the edges is safe. */
    FR_CHECK(fr_raster_text_width("in\xc2\xb7kh", 1) == 5 * FR_FONT_W);
    fr_raster_text(&r, -7, -3, "\xc3\xa9 edge text that runs off", 3, FR_RGB(1, 2, 3));
    fr_raster_line(&r, -100, -50, 200, 90, 3, FR_RGB(9, 9, 9));
    fr_raster_free(&r);
}

/* ---- PNG I/O ---- */

static void test_roundtrip_random(void)
{
    fr_rng g;
    fr_rng_seed(&g, 42);
    static const int dims[][2] = { { 1, 1 }, { 17, 5 }, { 3, 64 }, { 300, 200 } };
    char path[256];
    scratch(path, sizeof path, "roundtrip.png");
    for (int k = 0; k < 4; k++) {
        int w = dims[k][0], h = dims[k][1];
        uint8_t *img = malloc((size_t)w * h * 3);
        for (int i = 0; i < w * h * 3; i++) img[i] = (uint8_t)fr_rng_below(&g, 256);
        fr_err e = { 0 };
        FR_CHECK(fr_png_write(path, img, w, h, &e) == FR_OK);
        uint8_t *back = NULL;
        int bw = 0, bh = 0;
        FR_CHECKF(fr_png_read(path, &back, &bw, &bh, &e) == FR_OK, "%s", e.msg);
        FR_CHECK(bw == w && bh == h);
        FR_CHECK(back && memcmp(back, img, (size_t)w * h * 3) == 0);
        fr_afree(back);
        free(img);
    }
    FR_CHECK(no_temp_files(OUTDIR));
}

static void test_write_errors(void)
{
    uint8_t px[12] = { 0 };
    fr_err e = { 0 };
    FR_CHECK(fr_png_write("/nonexistent/x.png", px, 2, 2, &e) == FR_EIO);
    FR_CHECK(e.code == FR_EIO && strstr(e.msg, "/nonexistent/x.png") != NULL);
    FR_CHECK(!exists("/nonexistent/x.png"));
    char path[256];
    scratch(path, sizeof path, "never.png");
    unlink(path);
    FR_CHECK(fr_png_write(path, px, 0, 2, &e) == FR_EINPUT);
    FR_CHECK(fr_png_write(path, px, 20000, 1, &e) == FR_EINPUT);
    FR_CHECK(!exists(path));
    FR_CHECK(no_temp_files(OUTDIR));
}

static uint32_t crc32_of(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return ~c;
}

static void put32(uint8_t *p, uint32_t v) { p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = (uint8_t)v; }

static void test_read_errors(void)
{
    char path[256];
    uint8_t *img = NULL;
    int w = 0, h = 0;
    fr_err e = { 0 };
    FR_CHECK(fr_png_read(OUTDIR "/does-not-exist.png", &img, &w, &h, &e) == FR_EIO);
    FR_CHECK(img == NULL);

    scratch(path, sizeof path, "garbage.png");
    FR_CHECK(fr_atomic_write(path, "this is not a png at all", 24, &e) == FR_OK);
    FR_CHECK(fr_png_read(path, &img, &w, &h, &e) == FR_EINPUT);
    FR_CHECK(img == NULL && strstr(e.msg, path) != NULL);

    FR_CHECK(fr_atomic_write(path, "", 0, &e) == FR_OK);
    FR_CHECK(fr_png_read(path, &img, &w, &h, &e) == FR_EINPUT);

    /* Truncations of a valid file at several points, and a corrupted data byte. */
    uint8_t *good = malloc(64 * 48 * 3);
    fr_rng g;
    fr_rng_seed(&g, 7);
    for (int i = 0; i < 64 * 48 * 3; i++) good[i] = (uint8_t)fr_rng_below(&g, 256);
    char gp[256];
    scratch(gp, sizeof gp, "good.png");
    FR_CHECK(fr_png_write(gp, good, 64, 48, &e) == FR_OK);
    uint8_t *bytes = NULL;
    size_t n = 0;
    FR_CHECK(fr_read_file(gp, 1 << 20, &bytes, &n, &e) == FR_OK);
    static const double cut[] = { 0.1, 0.5, 0.9 };
    int refused = 0;
    for (int k = 0; k < 3; k++) {
        size_t m = (size_t)(n * cut[k]);
        fr_atomic_write(path, bytes, m, &e);
        int rc = fr_png_read(path, &img, &w, &h, &e);
        refused += rc == FR_EINPUT && img == NULL;
        if (img) fr_afree(img), img = NULL;
    }
    FR_CHECK(refused == 3);
    /* Flip a byte in the IHDR: CRC mismatch in a critical chunk. */
    bytes[20] ^= 0x40;
    fr_atomic_write(path, bytes, n, &e);
    FR_CHECK(fr_png_read(path, &img, &w, &h, &e) == FR_EINPUT && img == NULL);
    free(bytes);
    free(good);

    /* A well-formed IHDR declaring 20000 x 20000 is refused before any allocation. */
    uint8_t hdr[8 + 25 + 12];
    memcpy(hdr, "\x89PNG\r\n\x1a\n", 8);
    put32(hdr + 8, 13);
    memcpy(hdr + 12, "IHDR", 4);
    put32(hdr + 16, 20000);
    put32(hdr + 20, 20000);
    hdr[24] = 8; hdr[25] = 2; hdr[26] = 0; hdr[27] = 0; hdr[28] = 0;
    put32(hdr + 29, crc32_of(hdr + 12, 17));
    put32(hdr + 33, 0);
    memcpy(hdr + 37, "IEND", 4);
    put32(hdr + 41, crc32_of((const uint8_t *)"IEND", 4));
    fr_atomic_write(path, hdr, sizeof hdr, &e);
    int rc = fr_png_read(path, &img, &w, &h, &e);
    FR_CHECKF(rc == FR_EINPUT || rc == FR_ENOMEM, "rc=%d %s", rc, e.msg);
    FR_CHECK(img == NULL && w == 0 && h == 0);
}

/* Writes formats our writer never produces through libpng's simplified API. */
static int write_simple(const char *path, uint32_t format, const void *buf, const void *cmap, int cmap_n)
{
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    im.width = 4;
    im.height = 3;
    im.format = format;
    im.colormap_entries = (png_uint_32)cmap_n;
    int ok = png_image_write_to_file(&im, path, 0, buf, 0, cmap);
    png_image_free(&im);
    return ok;
}

/* Low-level writer for what the simplified API cannot produce: interlacing, 1-bit grey,
 * 16-bit RGB.  rows hold raw PNG sample bytes (big-endian for 16-bit). */
static int write_raw(const char *path, int w, int h, int depth, int ct, int interlace, uint8_t *const *rows)
{
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) { png_destroy_write_struct(&png, &info); fclose(f); return 0; }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, depth, ct, interlace, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    png_write_image(png, (png_bytepp)rows);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    return fclose(f) == 0;
}

static void test_read_raw_formats(void)
{
    char path[256];
    scratch(path, sizeof path, "fmt.png");
    enum { W = 13, H = 9 };
    static uint8_t rgb16[H][W * 6], bits[H][2];
    uint8_t *rows16[H], *rows1[H];
    for (int y = 0; y < H; y++) {
        for (int x = 0; x < W; x++)
            for (int c = 0; c < 3; c++) {
                uint16_t v = (uint16_t)(1000 * x + 300 * y + 20000 * c);
                rgb16[y][x * 6 + 2 * c] = (uint8_t)(v >> 8);
                rgb16[y][x * 6 + 2 * c + 1] = (uint8_t)v;
            }
        bits[y][0] = (uint8_t)(y & 1 ? 0xaa : 0x55);   /* checkerboard */
        bits[y][1] = (uint8_t)(y & 1 ? 0xa8 : 0x50);
        rows16[y] = rgb16[y];
        rows1[y] = bits[y];
    }
    uint8_t *img = NULL;
    int w, h, bad = 0;
    fr_err e = { 0 };
    FR_CHECK(write_raw(path, W, H, 16, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_ADAM7, rows16));
    FR_CHECKF(fr_png_read(path, &img, &w, &h, &e) == FR_OK && w == W && h == H, "%s", e.msg);
    for (int y = 0; img && y < H; y++)
        for (int x = 0; x < W; x++)
            for (int c = 0; c < 3; c++) {
                int v16 = 1000 * x + 300 * y + 20000 * c;
                bad += abs(img[3 * (y * W + x) + c] - (v16 * 255 + 32767) / 65535) > 1;
            }
    FR_CHECK(img && bad == 0);
    fr_afree(img);
    FR_CHECK(write_raw(path, W, H, 1, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, rows1));
    FR_CHECK(fr_png_read(path, &img, &w, &h, &e) == FR_OK && w == W);
    bad = 0;
    for (int y = 0; img && y < H; y++)
        for (int x = 0; x < W; x++) bad += img[3 * (y * W + x) + 1] != (((x + y) & 1) ? 255 : 0);
    FR_CHECK(img && bad == 0);
    fr_afree(img);
}

static void test_read_formats(void)
{
    char path[256];
    scratch(path, sizeof path, "fmt.png");
    uint8_t *img = NULL;
    int w, h;
    fr_err e = { 0 };
    uint8_t grey[12], ga[24], rgba[48], idx[12], pal[3 * 4];
    uint16_t g16[12];
    for (int i = 0; i < 12; i++) {
        grey[i] = (uint8_t)(i * 20);
        ga[2 * i] = (uint8_t)(i * 20); ga[2 * i + 1] = 255;
        rgba[4 * i] = (uint8_t)i; rgba[4 * i + 1] = (uint8_t)(100 + i); rgba[4 * i + 2] = (uint8_t)(200 + i);
        rgba[4 * i + 3] = 255;
        idx[i] = (uint8_t)(i % 4);
        g16[i] = (uint16_t)(i * 5000);
    }
    for (int k = 0; k < 4; k++) { pal[3 * k] = (uint8_t)(10 * k); pal[3 * k + 1] = (uint8_t)(50 + k); pal[3 * k + 2] = 250; }

    FR_CHECK(write_simple(path, PNG_FORMAT_GRAY, grey, NULL, 0));
    FR_CHECK(fr_png_read(path, &img, &w, &h, &e) == FR_OK && w == 4 && h == 3);
    FR_CHECK(img && img[3 * 5] == 100 && img[3 * 5 + 1] == 100 && img[3 * 5 + 2] == 100);
    fr_afree(img);

    FR_CHECK(write_simple(path, PNG_FORMAT_GA, ga, NULL, 0));
    FR_CHECK(fr_png_read(path, &img, &w, &h, &e) == FR_OK);
    FR_CHECK(img && img[3 * 11] == 220 && img[3 * 11 + 2] == 220);
    fr_afree(img);

    FR_CHECK(write_simple(path, PNG_FORMAT_RGBA, rgba, NULL, 0));
    FR_CHECK(fr_png_read(path, &img, &w, &h, &e) == FR_OK);
    FR_CHECK(img && img[3 * 7] == 7 && img[3 * 7 + 1] == 107 && img[3 * 7 + 2] == 207);
    fr_afree(img);

    FR_CHECK(write_simple(path, PNG_FORMAT_RGB_COLORMAP, idx, pal, 4));
    FR_CHECK(fr_png_read(path, &img, &w, &h, &e) == FR_OK);
    FR_CHECK(img && img[3 * 6] == 20 && img[3 * 6 + 1] == 52 && img[3 * 6 + 2] == 250);
    fr_afree(img);

    /* Palette with transparency (a tRNS chunk): alpha dropped, colour kept. */
    uint8_t pal4[4 * 4];
    for (int k = 0; k < 4; k++) { pal4[4 * k] = (uint8_t)(10 * k); pal4[4 * k + 1] = 60; pal4[4 * k + 2] = 250; pal4[4 * k + 3] = (uint8_t)(k ? 255 : 0); }
    FR_CHECK(write_simple(path, PNG_FORMAT_RGBA_COLORMAP, idx, pal4, 4));
    FR_CHECK(fr_png_read(path, &img, &w, &h, &e) == FR_OK && w == 4);
    FR_CHECK(img && img[3 * 6] == 20 && img[3 * 6 + 1] == 60);
    fr_afree(img);

    /* 16-bit linear grey: stored as 16-bit samples; we scale to 8 bits (no gamma handling). */
    FR_CHECK(write_simple(path, PNG_FORMAT_LINEAR_Y, g16, NULL, 0));
    FR_CHECK(fr_png_read(path, &img, &w, &h, &e) == FR_OK && w == 4);
    FR_CHECK(img && abs(img[3 * 11] - (int)((11 * 5000 + 128) / 257)) <= 1);
    fr_afree(img);
}

static void test_resize(void)
{
    const float src[8] = { 0, 1, 2, 3, 10, 20, 30, 40 };   /* two planes of 2x2 */
    float up[32];
    fr_image_resize_bilinear(src, 2, 2, 2, up, 4, 4);
    /* torch.nn.functional.interpolate(x, size=4, mode="bilinear", align_corners=False) */
    static const float want[16] = { 0, 0.25f, 0.75f, 1, 0.5f, 0.75f, 1.25f, 1.5f,
                                    1.5f, 1.75f, 2.25f, 2.5f, 2, 2.25f, 2.75f, 3 };
    int bad = 0;
    for (int i = 0; i < 16; i++) bad += fabsf(up[i] - want[i]) > 1e-6f;
    FR_CHECK(bad == 0);
    FR_CHECK_NEAR(up[16 + 5], 17.5, 1e-6);   /* second plane, (1,1): 10 + .25*10 + .25*20 */
    float id[8];
    fr_image_resize_bilinear(src, 2, 2, 2, id, 2, 2);
    FR_CHECK(memcmp(id, src, sizeof id) == 0);
    /* 4x4 -> 2x2 samples at 0.5 and 2.5: the mean of each 2x2 block for a linear ramp. */
    float ramp[16], dn[4];
    for (int i = 0; i < 16; i++) ramp[i] = (float)i;
    fr_image_resize_bilinear(ramp, 4, 4, 1, dn, 2, 2);
    FR_CHECK_NEAR(dn[0], 2.5, 1e-6);
    FR_CHECK_NEAR(dn[3], 12.5, 1e-6);
    /* Non-square 3 -> 7 along x on a 1-row image stays within range and is monotone. */
    float row[3] = { 1, 4, 9 }, wide[7];
    fr_image_resize_bilinear(row, 3, 1, 1, wide, 7, 1);
    int mono = 1;
    for (int i = 1; i < 7; i++) mono &= wide[i] >= wide[i - 1];
    FR_CHECK(mono && wide[0] == 1 && wide[6] == 9);
}

/* ---- helpers ---- */

static void test_ticks_and_format(void)
{
    char b[32];
    fr_plot_fmt_step(1e-3, 0, b, sizeof b);     FR_CHECKF(!strcmp(b, "1e-3"), "%s", b);
    fr_plot_fmt_step(1e-3, 1e-3, b, sizeof b);  FR_CHECKF(!strcmp(b, "1e-3"), "%s", b);
    fr_plot_fmt_step(2.5e-4, 5e-5, b, sizeof b); FR_CHECKF(!strcmp(b, "2.5e-4"), "%s", b);
    fr_plot_fmt_step(120000, 0, b, sizeof b);   FR_CHECKF(!strcmp(b, "1.2e5"), "%s", b);
    fr_plot_fmt_step(0.0, 0.1, b, sizeof b);    FR_CHECKF(!strcmp(b, "0"), "%s", b);
    fr_plot_fmt_step(0.5, 0.1, b, sizeof b);    FR_CHECKF(!strcmp(b, "0.5"), "%s", b);
    fr_plot_fmt_step(0.25, 0.05, b, sizeof b);  FR_CHECKF(!strcmp(b, "0.25"), "%s", b);
    fr_plot_fmt_step(1500, 500, b, sizeof b);   FR_CHECKF(!strcmp(b, "1500"), "%s", b);
    fr_plot_fmt_step(-2, 0.5, b, sizeof b);     FR_CHECKF(!strcmp(b, "-2.0"), "%s", b);
    fr_plot_fmt_step(1e-17, 0.2, b, sizeof b);  FR_CHECKF(!strcmp(b, "0"), "%s", b);
    fr_plot_fmt_step(0.002, 1e-3, b, sizeof b); FR_CHECKF(!strcmp(b, "2e-3"), "%s", b);
    fr_plot_fmt_step(0.0123, 1e-4, b, sizeof b); FR_CHECKF(!strcmp(b, "0.0123"), "%s", b);

    double t[32], st;
    int n = fr_plot_nice_ticks(0, 1, 6, t, 32, &st);
    FR_CHECK(n == 6 && st == 0.2 && t[0] == 0 && fabs(t[5] - 1) < 1e-12);
    n = fr_plot_nice_ticks(-0.31, 0.29, 5, t, 32, &st);
    FR_CHECK(st == 0.2 && n == 3 && fabs(t[0] + 0.2) < 1e-12 && t[1] == 0);
    n = fr_plot_nice_ticks(3, 3, 5, t, 32, &st);
    FR_CHECK(n == 1 && t[0] == 3);
    n = fr_plot_nice_ticks(0, 1e6, 3, t, 2, &st);
    FR_CHECK(n == 2);   /* cap respected */
    n = fr_plot_nice_ticks(0, NAN, 3, t, 32, &st);
    FR_CHECK(n == 0);
}

static void test_ema(void)
{
    float v[5] = { 2, 2, 2, 2, 2 }, o[5];
    fr_plot_ema(v, 5, 0.9f, o);
    FR_CHECK_NEAR(o[0], 2, 1e-6);
    FR_CHECK_NEAR(o[4], 2, 1e-6);   /* debiasing removes the pull towards 0 */
    float w[3] = { 1, NAN, 2 }, p[3];
    fr_plot_ema(w, 3, 0.5f, p);
    FR_CHECK_NEAR(p[0], 1, 1e-6);
    FR_CHECK_NEAR(p[1], 1, 1e-6);   /* one EMA for screen and PNG: a gap repeats the last value */
    FR_CHECK_NEAR(p[2], 1.25 / 0.75, 1e-6);
}

/* ---- plots ---- */

static int count_dark_in_rows(const fr_raster *r, int y0, int y1)
{
    int n = 0;
    for (int y = y0; y < y1; y++)
        for (int x = 0; x < r->w; x++) n += is_dark(fr_raster_get(r, x, y));
    return n;
}

/* Writes the raster, reads it back and checks the file holds exactly these pixels. */
static void check_png_roundtrip(const fr_raster *r, const char *name)
{
    char path[256];
    outpath(path, sizeof path, name);
    fr_err e = { 0 };
    FR_CHECKF(fr_raster_write_png(r, path, &e) == FR_OK, "%s", e.msg);
    uint8_t *img = NULL;
    int w = 0, h = 0;
    FR_CHECK(fr_png_read(path, &img, &w, &h, &e) == FR_OK);
    FR_CHECK(w == r->w && h == r->h);
    FR_CHECK(img && memcmp(img, r->px, (size_t)w * h * 3) == 0);
    fr_afree(img);
}

/* The aggregate view in pixels: 8 x 16 shifts in 4 x 8 tiles, each tile drawn as one block
 * coloured by its mean |shift| (worked out by hand), with the screen's label in the note. */
static void test_heatmap_agg(void)
{
    float s[8 * 16];
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 16; j++) s[i * 16 + j] = i < 4 ? (j < 8 ? 0.25f : -0.5f) : (j < 8 ? ((i + j) % 2 ? 1.0f : -1.0f) : 0.0f);
    s[2 * 16 + 5] = -1.5f;   /* tile (0,0): mean (31 * 0.25 + 1.5) / 32 = 0.2890625 */
    fr_heatmap_in in = { s, 8, 16, 1.0f, "agg", NULL, NULL, 1, 1, "mean |shift|", 0, 0, 0, 0, FR_HAGG_MEAN_ABS, 4, 8, "shift" };
    fr_raster r;
    fr_plot_geom g;
    fr_err e = { 0 };
    FR_CHECKF(fr_pngplot_render_heatmap(&r, &in, &g, &e) == FR_OK, "%s", e.msg);
    FR_CHECKF(g.down == 8 && g.down_h == 4 && g.w == 2 * g.cell && g.h == 2 * g.cell_h, "down %d x %d, %d x %d px", g.down_h,
              g.down, g.w, g.h);
    const float want[4] = {0.2890625f, 0.5f, 1.0f, 0.0f};
    int bad = 0;
    for (int t = 0; t < 4; t++) {
        fr_rgb p = fr_raster_get(&r, g.x0 + (t % 2) * g.cell + g.cell / 2, g.y0 + (t / 2) * g.cell_h + g.cell_h / 2);
        fr_rgb q = fr_pngplot_diverging(want[t]);
        bad += p.r != q.r || p.g != q.g || p.b != q.b;
    }
    FR_CHECKF(bad == 0, "%d tiles with the wrong colour", bad);
    fr_raster_free(&r);
    /* the default view of the same matrix: one block per weight, the -1.5 is its own pixel */
    in.agg = 0;
    FR_CHECK(fr_pngplot_render_heatmap(&r, &in, &g, &e) == FR_OK && g.down == 1 && g.down_h == 1);
    fr_raster_free(&r);
}

static void test_heatmap(void)
{
    enum { R = 16, C = 10 };
    float s[R * C];
    for (int i = 0; i < R * C; i++) s[i] = 1.0f;
    s[3 * C + 4] = 2.0f;
    s[5 * C + 6] = 0.5f;
    fr_heatmap_in in = { s, R, C, 0, "test / conv1 / FlexRound / W4 / it 100", NULL, NULL, 0, 0, NULL, 0, 0, 0, 0, 0, 0, 0, NULL };
    fr_raster r;
    fr_plot_geom g;
    fr_err e = { 0 };
    FR_CHECK(fr_pngplot_render_heatmap(&r, &in, &g, &e) == FR_OK);
    FR_CHECK(g.down == 1 && g.cell >= 1 && g.cell == g.cell_h && g.w == C * g.cell && g.h == R * g.cell_h);
    FR_CHECK(r.w >= 400);
#define CELL(rr, cc) fr_raster_get(&r, g.x0 + (cc) * g.cell + g.cell / 2, g.y0 + (rr) * g.cell_h + g.cell_h / 2)
    fr_rgb n = CELL(0, 0), hi = CELL(3, 4), lo = CELL(5, 6);
    FR_CHECK(n.r == 247 && n.g == 247 && n.b == 247);   /* S = 1 is neutral */
    FR_CHECK(hi.r > hi.g + 60 && hi.r > hi.b + 60);      /* S > 1 red */
    FR_CHECK(lo.b > lo.r + 60);                          /* S < 1 blue */
    /* Symmetric range = |ln 2|: the extremes take the end colours of the map. */
    fr_rgb top = fr_pngplot_diverging(1), bot = fr_pngplot_diverging(-1);
    FR_CHECK(hi.r == top.r && hi.g == top.g && lo.b == bot.b);
    FR_CHECK(count_dark_in_rows(&r, g.title_y0, g.title_y1) > 100);   /* title text drawn */
    check_png_roundtrip(&r, "heatmap.png");
    fr_raster_free(&r);

    /* A fixed range makes S=2 less than saturated. */
    in.log_range = 2.0f;
    FR_CHECK(fr_pngplot_render_heatmap(&r, &in, &g, &e) == FR_OK);
    hi = CELL(3, 4);
    FR_CHECK(hi.r > hi.b && hi.r != top.r);
    fr_raster_free(&r);

    /* Invalid input. */
    in.rows = 0;
    FR_CHECK(fr_pngplot_render_heatmap(&r, &in, NULL, &e) == FR_EINPUT);
    /* Wide matrix: one pixel per weight, then block downsampling above 4096. */
    enum { WC = 9000 };
    float *big = malloc(sizeof(float) * 2 * WC);
    for (int i = 0; i < 2 * WC; i++) big[i] = 1.0f;
    big[WC + 8999] = 3.0f;   /* row 1, last column: must survive downsampling */
    big[5] = -1.0f;          /* invalid: drawn black */
    fr_heatmap_in wide = { big, 2, WC, 0, "wide", NULL, NULL, 0, 0, NULL, 0, 0, 0, 0, 0, 0, 0, NULL };
    FR_CHECK(fr_pngplot_render_heatmap(&r, &wide, &g, &e) == FR_OK);
    FR_CHECK(g.down == 3 && g.cell == 1 && g.w == 3000 && g.h >= 40);
    fr_rgb last = fr_raster_get(&r, g.x0 + 8999 / 3, g.y0 + 0);
    FR_CHECK(last.r > last.b + 60);
    fr_rgb black = fr_raster_get(&r, g.x0 + 1, g.y0);
    FR_CHECK(black.r == 0 && black.g == 0 && black.b == 0);
    check_png_roundtrip(&r, "heatmap_wide.png");
    fr_raster_free(&r);
    free(big);
#undef CELL
    /* Realistic sample for eyeballing. */
    enum { R2 = 64, C2 = 3 * 3 * 16 };
    float *s2 = malloc(sizeof(float) * R2 * C2);
    fr_rng rng;
    fr_rng_seed(&rng, 5);
    for (int i = 0; i < R2 * C2; i++) s2[i] = expf(0.12f * fr_rng_normal(&rng) * (1 + (i / C2) / 32.0f));
    fr_heatmap_in in2 = { s2, R2, C2, 0, "resnet-tiny / layer2.0.conv1 / FlexRound / W3 / it 5000", NULL, NULL, 0, 0, NULL, 0, 0, 0, 0, 0, 0, 0, NULL };
    char path[256];
    outpath(path, sizeof path, "heatmap_conv.png");
    FR_CHECKF(fr_pngplot_heatmap(path, &in2, &e) == FR_OK, "%s", e.msg);
    free(s2);
    /* A flat 10 x 784 classifier layer is stretched vertically rather than a 10-pixel strip. */
    float *s3 = malloc(sizeof(float) * 10 * 784);
    for (int i = 0; i < 10 * 784; i++) s3[i] = expf(0.08f * fr_rng_normal(&rng));
    fr_heatmap_in in3 = { s3, 10, 784, 0.25f, "mlp / fc3 / FlexRound / W4 / it 5000", NULL, NULL, 0, 0, NULL, 0, 0, 0, 0, 0, 0, 0, NULL };
    FR_CHECK(fr_pngplot_render_heatmap(&r, &in3, &g, &e) == FR_OK);
    FR_CHECK(g.cell == 1 && g.cell_h == 12 && g.w == 784 && g.h == 120);
    /* heads of 2 of the 10 rows (a q projection): a line in the axis colour at rows 2, 4, 6, 8,
     * none at the matrix edge; the data pixels elsewhere keep their colours */
    fr_raster_free(&r);
    in3.head_rows = 2;
    FR_CHECK(fr_pngplot_render_heatmap(&r, &in3, &g, &e) == FR_OK);
    int lines = 0, wrong = 0;
    for (int row = 0; row < 10; row++) {
        const int y = g.y0 + row * g.cell_h, x = g.x0 + 100;
        const uint8_t *p = r.px + ((size_t)y * r.w + (size_t)x) * 3;
        const int axis = p[0] == 70 && p[1] == 70 && p[2] == 70;   /* pngplot.c C_AXIS */
        lines += axis;
        wrong += axis != (row > 0 && row % 2 == 0);
    }
    FR_CHECKF(lines == 4 && wrong == 0, "%d head lines, %d wrong", lines, wrong);
    check_png_roundtrip(&r, "heatmap_flat.png");
    fr_raster_free(&r);
    free(s3);
}

/* Synthetic shifts: mostly within +-1, with large-|W| outliers like FlexRound's. */
static void make_shifts(fr_rng *g, float *x, float *y, int n, int spread)
{
    for (int i = 0; i < n; i++) {
        float w = 0.1f * fr_rng_normal(g), u = w / 0.0125f;
        float c = roundf(u);
        if (spread == 1) c = fr_rng_uniform(g) < 0.5f ? floorf(u) : ceilf(u);
        if (spread == 2 && fabsf(w) > 0.12f && fr_rng_uniform(g) < 0.5f) c += (w > 0 ? 1 : -1) * (float)(1 + fr_rng_below(g, 3));
        x[i] = w;
        y[i] = c - u;
    }
}

static int band_fraction(const fr_raster *r, const fr_plot_geom *g, double yv)
{
    int py = fr_plot_geom_py(g, yv), n = 0;
    for (int x = g->x0; x < g->x0 + g->w; x++) {
        fr_rgb c = fr_raster_get(r, x, py);
        n += c.r == 200 && c.g == 30 && c.b == 30;
    }
    return 100 * n / g->w;
}

static void test_scatter(void)
{
    enum { N = 3000 };
    static float x[3][N], y[3][N];
    fr_rng g;
    fr_rng_seed(&g, 11);
    for (int k = 0; k < 3; k++) make_shifts(&g, x[k], y[k], N, k);
    x[2][0] = 0.3f; y[2][0] = 2.5f;   /* a known outlier */
    x[2][1] = 0.05f; y[2][1] = 0.3f;  /* a known in-band point */
    fr_scatter_in in = { x[2], y[2], N, "test / fc1 / FlexRound / W4 / it 100", NULL, NULL, 0, 0, 0, 0, 0, NULL, 0 };
    fr_raster r;
    fr_plot_geom gm;
    fr_err e = { 0 };
    FR_CHECK(fr_pngplot_render_scatter(&r, &in, &gm, &e) == FR_OK);
    FR_CHECK(gm.ymax >= 2.5 && gm.ymin == -gm.ymax && gm.xmax >= 0.3);
    FR_CHECKF(band_fraction(&r, &gm, 1.0) >= 50, "%d%%", band_fraction(&r, &gm, 1.0));
    FR_CHECK(band_fraction(&r, &gm, -1.0) >= 50);
    fr_rgb o = fr_raster_get(&r, fr_plot_geom_px(&gm, 0.3), fr_plot_geom_py(&gm, 2.5));
    FR_CHECKF(o.r > o.b + 80, "outlier colour %d,%d,%d", o.r, o.g, o.b);   /* highlighted orange */
    fr_rgb c0 = fr_raster_get(&r, fr_plot_geom_px(&gm, 0.05), fr_plot_geom_py(&gm, 0.3));
    FR_CHECKF(c0.b > c0.r + 40, "in-band colour %d,%d,%d", c0.r, c0.g, c0.b);   /* in-band blue */
    FR_CHECK(count_dark_in_rows(&r, gm.title_y0, gm.title_y1) > 100);
    check_png_roundtrip(&r, "scatter.png");
    fr_raster_free(&r);

    /* With the quantizer's classes (issue 13 §2): a clipped weight far outside the band is drawn
     * in the clipped colour (purple), not the aggressive orange, and the note counts it apart. */
    static uint8_t cls[N];
    for (int k = 0; k < N; k++) cls[k] = fabsf(y[2][k]) > 1.0f ? FR_WC_AGGRESSIVE : FR_WC_INSIDE;
    x[2][2] = 0.45f; y[2][2] = -3.0f; cls[2] = FR_WC_CLIPPED;
    in.cls = cls;
    FR_CHECK(fr_pngplot_render_scatter(&r, &in, &gm, &e) == FR_OK);
    fr_rgb cp = fr_raster_get(&r, fr_plot_geom_px(&gm, 0.45), fr_plot_geom_py(&gm, -3.0));
    FR_CHECKF(cp.b > cp.g + 40 && cp.r > cp.g, "clipped colour %d,%d,%d", cp.r, cp.g, cp.b);   /* purple */
    o = fr_raster_get(&r, fr_plot_geom_px(&gm, 0.3), fr_plot_geom_py(&gm, 2.5));
    FR_CHECKF(o.r > o.b + 80, "aggressive colour %d,%d,%d", o.r, o.g, o.b);
    fr_raster_free(&r);
    in.cls = NULL;

    /* Fixed range: points outside are counted, not drawn outside the frame. */
    in.fixed_range = 1;
    in.xmin = -0.1; in.xmax = 0.1; in.ymin = -2; in.ymax = 2;
    FR_CHECK(fr_pngplot_render_scatter(&r, &in, &gm, &e) == FR_OK);
    FR_CHECK(gm.xmin == -0.1 && gm.ymax == 2);
    fr_raster_free(&r);
    in.xmax = in.xmin;
    FR_CHECK(fr_pngplot_render_scatter(&r, &in, NULL, &e) == FR_EINPUT);
    in.fixed_range = 0;
    in.n = 0;   /* empty scatter still renders axes */
    FR_CHECK(fr_pngplot_render_scatter(&r, &in, NULL, &e) == FR_OK);
    fr_raster_free(&r);

    fr_scatter_in p[3] = {
        { x[0], y[0], N, "RTN", NULL, NULL, 0, 0, 0, 0, 0, NULL, 0 },
        { x[1], y[1], N, "AdaRound", NULL, NULL, 0, 0, 0, 0, 0, NULL, 0 },
        { x[2], y[2], N, "FlexRound", NULL, NULL, 0, 0, 0, 0, 0, NULL, 0 },
    };
    fr_plot_geom g3[3];
    FR_CHECK(fr_pngplot_render_compare(&r, p, "test / fc1 / W4 / it 100", g3, &e) == FR_OK);
    FR_CHECK(g3[0].xmin == g3[2].xmin && g3[0].ymax == g3[1].ymax && g3[0].w == g3[2].w);
    FR_CHECK(g3[1].x0 > g3[0].x0 + g3[0].w && g3[2].x0 + g3[2].w <= r.w);
    for (int k = 0; k < 3; k++) FR_CHECK(band_fraction(&r, &g3[k], 1.0) >= 50);
    FR_CHECK(count_dark_in_rows(&r, g3[0].title_y0, g3[0].title_y1) > 100);
    check_png_roundtrip(&r, "compare.png");
    fr_raster_free(&r);
}

static void test_loss(void)
{
    enum { N = 2000 };
    static float l[N];
    static int64_t it[N];
    fr_rng g;
    fr_rng_seed(&g, 3);
    for (int i = 0; i < N; i++) {
        it[i] = 10 * (i + 1);
        l[i] = 0.02f + 0.4f * expf(-i / 300.0f) * (1 + 0.3f * fr_rng_normal(&g));
    }
    l[100] = NAN;
    fr_loss_in in = { l, it, N, 0.9f, 0, "test / fc1 / FlexRound / W4 / loss", NULL, NULL, 0, 0, 0, 0, 0, 0 };
    fr_raster r;
    fr_plot_geom gm;
    fr_err e = { 0 };
    FR_CHECK(fr_pngplot_render_loss(&r, &in, &gm, &e) == FR_OK);
    FR_CHECK(gm.xmin == 10 && gm.xmax == 10 * N);
    float ema[N];
    fr_plot_ema(l, N, 0.9f, ema);
    fr_rgb c = fr_raster_get(&r, fr_plot_geom_px(&gm, it[N - 1]), fr_plot_geom_py(&gm, ema[N - 1]));
    FR_CHECKF(c.r == 31 && c.g == 119 && c.b == 180, "%d,%d,%d", c.r, c.g, c.b);   /* EMA line */
    FR_CHECK(count_dark_in_rows(&r, gm.title_y0, gm.title_y1) > 100);
    check_png_roundtrip(&r, "loss.png");
    fr_raster_free(&r);

    in.log_y = 1;
    l[5] = -1;   /* skipped on a log axis */
    FR_CHECK(fr_pngplot_render_loss(&r, &in, &gm, &e) == FR_OK);
    FR_CHECK(gm.logy && gm.ymin > 0);
    check_png_roundtrip(&r, "loss_log.png");
    fr_raster_free(&r);

    in.beta = 1.0f;
    FR_CHECK(fr_pngplot_render_loss(&r, &in, NULL, &e) == FR_EINPUT);
    in.beta = 0;
    in.n = 0;
    FR_CHECK(fr_pngplot_render_loss(&r, &in, NULL, &e) == FR_EINPUT);
    in.n = N;
    it[7] = 0;
    FR_CHECK(fr_pngplot_render_loss(&r, &in, NULL, &e) == FR_EINPUT);
    in.iter = NULL;   /* 1..n, raw only */
    FR_CHECK(fr_pngplot_render_loss(&r, &in, NULL, &e) == FR_OK);
    fr_raster_free(&r);
}

static void test_hist(void)
{
    float ed[41];
    double c1[40], c2[40];
    for (int b = 0; b <= 40; b++) ed[b] = -0.2f + 0.01f * b;
    for (int b = 0; b < 40; b++) {
        double x = -0.195 + 0.01 * b;
        c1[b] = floor(1000 * exp(-x * x / 0.003));
        c2[b] = floor(800 * exp(-(x - 0.03) * (x - 0.03) / 0.005));
    }
    fr_hist_series hs[2] = { { ed, c1, 40, "FP weights" }, { ed, c2, 40, "after FlexRound" } };
    fr_hist_in in = { hs, 1, 0, "test / fc1 / weights", "W", NULL };
    fr_raster r;
    fr_plot_geom gm;
    fr_err e = { 0 };
    FR_CHECK(fr_pngplot_render_hist(&r, &in, &gm, &e) == FR_OK);
    /* Inside the tallest bin (centre ~0.0) the fill is a tint of the first palette colour. */
    fr_rgb f = fr_raster_get(&r, fr_plot_geom_px(&gm, 0.0), fr_plot_geom_py(&gm, 300));
    FR_CHECKF(f.b > f.r + 40 && f.r < 200, "%d,%d,%d", f.r, f.g, f.b);
    /* Above every bar it stays background. */
    fr_rgb bg = fr_raster_get(&r, fr_plot_geom_px(&gm, -0.18) + 3, fr_plot_geom_py(&gm, 900));
    FR_CHECK(bg.r >= 230 && bg.g >= 230 && bg.b >= 230);
    check_png_roundtrip(&r, "hist.png");
    fr_raster_free(&r);

    in.nseries = 2;
    in.log_y = 1;
    FR_CHECK(fr_pngplot_render_hist(&r, &in, &gm, &e) == FR_OK);
    FR_CHECK(gm.logy && gm.ymin > 0);
    fr_raster_free(&r);
    in.log_y = 0;
    FR_CHECK(fr_pngplot_render_hist(&r, &in, &gm, &e) == FR_OK);
    check_png_roundtrip(&r, "hist_overlay.png");
    fr_raster_free(&r);

    ed[7] = ed[6];
    FR_CHECK(fr_pngplot_render_hist(&r, &in, NULL, &e) == FR_EINPUT);
    ed[7] = ed[6] + 0.01f;
    c1[3] = -1;
    FR_CHECK(fr_pngplot_render_hist(&r, &in, NULL, &e) == FR_EINPUT);
    in.nseries = 0;
    FR_CHECK(fr_pngplot_render_hist(&r, &in, NULL, &e) == FR_EINPUT);
    c1[3] = 1;

    /* A legend wider than the plot wraps into rows instead of running off both edges (the
     * four-run contrast plot lost its first and last entries): every entry's 10x10 swatch is
     * drawn whole above the plot, and the plot moves down to make room for a third row. */
    FR_CHECK(fr_pngplot_render_hist(&r, &(fr_hist_in){ hs, 1, 0, "t", "W", NULL }, &gm, &e) == FR_OK);
    const int y0_one = gm.y0;
    fr_raster_free(&r);
    fr_hist_series many[6];
    char labels[6][64];
    for (int k = 0; k < 6; k++) {
        snprintf(labels[k], sizeof labels[k], "series %d with a label as long as a contrast run's", k);
        many[k] = (fr_hist_series){ ed, k % 2 ? c2 : c1, 40, labels[k] };
    }
    FR_CHECK(fr_pngplot_render_hist(&r, &(fr_hist_in){ many, 6, 0, "t", "W", NULL }, &gm, &e) == FR_OK);
    FR_CHECKF(gm.y0 > y0_one, "plot top %d, with one entry %d", gm.y0, y0_one);
    for (int k = 0; k < 6; k++) {
        int hits = 0;
        for (int y = 0; y < gm.y0; y++)
            for (int x = 0; x < r.w; x++) {
                fr_rgb p = fr_raster_get(&r, x, y);
                hits += p.r == fr_pp_palette[k].r && p.g == fr_pp_palette[k].g && p.b == fr_pp_palette[k].b;
            }
        FR_CHECKF(hits == 100, "legend swatch %d: %d of its 100 pixels on the canvas", k, hits);
    }
    fr_raster_free(&r);
}

static void test_diverging(void)
{
    fr_rgb m = fr_pngplot_diverging(0), r = fr_pngplot_diverging(0.5f), b = fr_pngplot_diverging(-0.5f);
    FR_CHECK(m.r == 247 && m.g == 247 && m.b == 247);
    FR_CHECK(r.r > r.b && b.b > b.r);
    fr_rgb n = fr_pngplot_diverging(NAN), big = fr_pngplot_diverging(7);
    FR_CHECK(n.b == 97 && big.r == 103);
}

int main(void)
{
    mkdir(OUTDIR, 0755);
    FR_RUN(test_font_file_matches_array);
    FR_RUN(test_text_render);
    FR_RUN(test_roundtrip_random);
    FR_RUN(test_write_errors);
    FR_RUN(test_read_errors);
    FR_RUN(test_read_formats);
    FR_RUN(test_read_raw_formats);
    FR_RUN(test_resize);
    FR_RUN(test_ticks_and_format);
    FR_RUN(test_ema);
    FR_RUN(test_diverging);
    FR_RUN(test_heatmap);
    FR_RUN(test_heatmap_agg);
    FR_RUN(test_scatter);
    FR_RUN(test_loss);
    FR_RUN(test_hist);
    for (size_t i = 0; i < sizeof scratch_names / sizeof scratch_names[0]; i++) {
        char p[256];
        scratch(p, sizeof p, scratch_names[i]);
        unlink(p);
    }
    return FR_REPORT();
}
