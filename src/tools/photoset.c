/* photoset.c — `frtui-dev photo-set`: calibration / evaluation images for real ImageNet networks,
 * cut from natural photographs that Debian ships (python3-skimage, see samples/README.md).
 *
 * Design note
 *   A photo set is N random crops of a fixed list of photographs: crop i comes from photo
 *   i mod P (so every photo is used equally), a square whose side is a uniform fraction in
 *   [FR_PHOTO_MIN_SIDE, 1] of the photo's shorter side, at a uniform position, mirrored
 *   left-right with probability 1/2, and resized bilinearly (fr_image_resize_bilinear, half-pixel
 *   centres, no antialias) to size x size.  Grey photos arrive from fr_png_read as three equal
 *   planes.  Output is uint8 NCHW (N,3,size,size); the model sees byte/255 in [0,1] (the .npy
 *   reader gives uint8 data scale 1/255), which is what the nsfwjs MobileNetV2 expects.
 *
 *   The split is fixed by photo, not by crop: calibration crops never come from a photograph the
 *   evaluation crops come from, so fidelity is measured on held-out images.  The random stream is
 *   fr_rng_stream(seed, split) and every draw happens in sample order, so the bytes depend only
 *   on (photos, split, n, size, seed) — not on threads.  The bilinear resize and rounding are
 *   plain C in a fixed order.
 *
 *   Ownership: fr_photo_crops writes into the caller's buffer; the photos are read one at a time
 *   and kept only while the crops run (P photos of at most 741x500x3 bytes).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frtui/dataio.h"
#include "frtui/devtools.h"
#include "frtui/opt.h"
#include "frtui/png.h"
#include "frtui/cli.h"

/* The split of the python3-skimage photographs (file names in skimage/data/).  Licences, from
 * the per-image docstrings of skimage/data/_fetchers.py, are listed in samples/README.md.
 * Not used: motorcycle_left/right (the docstring states no licence), moon (none stated),
 * text/page/horse/logo/color (drawings or scans, not photographs). */
static const char *const calib_photos[] = {"astronaut.png", "coffee.png", "ihc.png", "camera.png",
                                           "grass.png", "brick.png", "cell.png"};
static const char *const eval_photos[] = {"chelsea.png", "clock_motion.png", "coins.png", "gravel.png"};

const char *const *fr_photo_split(int split, int *n)
{
    if (split == FR_PHOTO_CALIB) { *n = (int)(sizeof calib_photos / sizeof *calib_photos); return calib_photos; }
    *n = (int)(sizeof eval_photos / sizeof *eval_photos);
    return eval_photos;
}

int fr_photo_crops(const char *dir, const char *const *names, int n_names, int split, int n, int size, uint64_t seed,
                   uint8_t *out, fr_err *e)
{
    if (n_names < 1 || n < 1 || size < 1 || size > FR_PNG_MAX_DIM)
        return fr_err_set(e, FR_EINPUT, "photo-set: bad sizes (%d photos, %d crops of %d)", n_names, n, size);
    uint8_t **img = fr_xcalloc((size_t)n_names, sizeof *img);
    int *w = fr_xcalloc((size_t)n_names, sizeof(int)), *h = fr_xcalloc((size_t)n_names, sizeof(int));
    int rc = FR_OK;
    for (int p = 0; p < n_names && rc == FR_OK; p++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[p]);
        rc = fr_png_read(path, &img[p], &w[p], &h[p], e);
    }
    size_t plane = (size_t)size * size;
    float *crop = NULL, *res = fr_xmalloc(3 * plane * sizeof(float));
    size_t crop_cap = 0;
    fr_rng r;
    fr_rng_stream(&r, seed, 0x5000 + (uint64_t)split);
    for (int i = 0; i < n && rc == FR_OK; i++) {
        int p = i % n_names, W = w[p], H = h[p], s_min = W < H ? W : H;
        /* Draw order is part of the format: side, x, y, flip. */
        float f = FR_PHOTO_MIN_SIDE + (1.0f - FR_PHOTO_MIN_SIDE) * fr_rng_uniform(&r);
        int side = (int)lrintf(f * (float)s_min);
        if (side < 1) side = 1;
        if (side > s_min) side = s_min;
        int x0 = (int)fr_rng_below(&r, (uint32_t)(W - side + 1)), y0 = (int)fr_rng_below(&r, (uint32_t)(H - side + 1));
        int flip = fr_rng_below(&r, 2) == 1;
        size_t cp = (size_t)side * side;
        if (3 * cp > crop_cap) { crop_cap = 3 * cp; crop = fr_xrealloc(crop, crop_cap * sizeof(float)); }
        for (int y = 0; y < side; y++)
            for (int x = 0; x < side; x++) {
                int sx = flip ? x0 + side - 1 - x : x0 + x;
                const uint8_t *px = img[p] + 3 * ((size_t)(y0 + y) * W + sx);
                for (int c = 0; c < 3; c++) crop[(size_t)c * cp + (size_t)y * side + x] = px[c];
            }
        fr_image_resize_bilinear(crop, side, side, 3, res, size, size);
        uint8_t *o = out + (size_t)i * 3 * plane;
        for (size_t k = 0; k < 3 * plane; k++) {
            float v = floorf(res[k] + 0.5f);
            o[k] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    }
    for (int p = 0; p < n_names; p++) fr_afree(img[p]);
    free(img); free(w); free(h); free(crop); free(res);
    return rc;
}

int fr_dev_photo_set(int argc, char **argv)
{
    const char *dir = "build/deb/usr/lib/python3/dist-packages/skimage/data", *out = NULL;
    int split = -1, n = 1024, size = 224;
    uint64_t seed = 1;
    fr_opt t[] = {
        {.name = "--dir", .kind = FR_OPT_STR, .dst = &dir},
        {.name = "--split", .kind = FR_OPT_CHOICE, .dst = &split, .choices = "calib|eval"},
        {.name = "--n", .kind = FR_OPT_INT, .dst = &n, .lo = 1, .hi = 1000000},
        {.name = "--size", .kind = FR_OPT_INT, .dst = &size, .lo = 8, .hi = 4096},
        {.name = "--seed", .kind = FR_OPT_U64, .dst = &seed, .lo = 0, .hi = 9223372036854775807LL},
        {.name = "--out", .alias = "-o", .kind = FR_OPT_STR, .dst = &out},
        {.name = NULL},
    };
    static const char help[] =
        "usage: frtui-dev photo-set --split calib|eval [--n N] [--size S] [--seed S] [--dir DIR] -o OUT.npy\n"
        "  N random square crops (side 35..100 % of the shorter side, random position, random left-right flip)\n"
        "  of the python3-skimage photographs of one split, bilinear to SxS, uint8 N,3,S,S (model sees x/255)\n"
        "  calib photos: astronaut coffee ihc camera grass brick cell; eval: chelsea clock_motion coins gravel\n"
        "  DIR default build/deb/usr/lib/python3/dist-packages/skimage/data (make photos)\n";
    if (fr_opt_wants_help(argc, argv)) { fputs(help, stdout); return 0; }
    fr_err pe;
    fr_err_clear(&pe);
    if (fr_opt_parse(t, argc, argv, NULL, 0, NULL, &pe)) { fprintf(stderr, "frtui-dev photo-set: %s\n", pe.msg); return 2; }
    if (split < 0 || !out) { fprintf(stderr, "frtui-dev photo-set: needs --split calib|eval and -o OUT.npy\n"); return 2; }
    int np_;
    const char *const *names = fr_photo_split(split, &np_);
    fr_npy a = {.dtype = FR_NPY_U8, .ndim = 4, .shape = {n, 3, size, size}};
    a.count = (size_t)n * 3 * size * size;
    a.data = fr_amalloc(a.count);
    if (!a.data) { fprintf(stderr, "frtui-dev photo-set: out of memory for %d crops of %d\n", n, size); return 2; }
    fr_err e;
    fr_err_clear(&e);
    int rc = fr_photo_crops(dir, names, np_, split, n, size, seed, a.data, &e);
    if (!rc) rc = fr_npy_write(out, &a, &e);
    fr_afree(a.data);
    if (rc) return fr_cli_fail(&e);
    printf("wrote %s: %d %s crops %dx%d from %d photos (seed %llu)\n", out, n, split ? "eval" : "calib", size, size, np_,
           (unsigned long long)seed);
    return 0;
}
