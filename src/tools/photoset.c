/* photoset.c — `frtui-dev photo-set`: calibration / evaluation images for real ImageNet networks,
 * cut from natural photographs that Debian ships (python3-skimage, mate-backgrounds,
 * plasma-workspace-wallpapers, python3-sklearn; see samples/README.md).
 *
 * Design note
 *   A photo set is N random crops of a fixed list of photographs: crop i comes from photo
 *   i mod P (so every photo is used equally), a square whose side is a uniform fraction in
 *   [FR_PHOTO_MIN_SIDE, 1] of the photo's shorter side, at a uniform position, mirrored
 *   left-right with probability 1/2, and resized bilinearly (fr_image_resize_bilinear, half-pixel
 *   centres, no antialias) to size x size.  Grey photos arrive from the readers as three equal
 *   planes.  Output is uint8 NCHW (N,3,size,size); the model sees byte/255 in [0,1] (the .npy
 *   reader gives uint8 data scale 1/255), which is what the nsfwjs MobileNetV2 expects.
 *
 *   Large photos first shrink by an integer box filter: a wallpaper's 1600-pixel side cut to 224
 *   by a bilinear resize without antialias would alias (every 7th pixel), which no camera
 *   pipeline produces and a network never saw in training.  The factor k = floor(shorter side /
 *   FR_PHOTO_BASE_SIDE), applied when it is 2 or more, leaves every photo under 1024 pixels on
 *   its shorter side (the wallpapers: 512-640), so the later bilinear step shrinks by at most
 *   about 4.6 (the skimage photos, 400-512 pixels, are used as they are).  [I] decision: a box average is the simplest deterministic
 *   antialias; it is what PIL's reducing_gap pre-step does too.
 *
 *   The split is fixed by photo, not by crop: calibration crops never come from a photograph the
 *   evaluation crops come from, so fidelity is measured on held-out images.  The random stream is
 *   fr_rng_stream(seed, split) and every draw happens in sample order, so the bytes depend only
 *   on (photos, split, n, size, seed) — not on threads.  The box filter, the bilinear resize and
 *   rounding are plain C in a fixed order, and the JPEG decoder's bits depend on the file alone
 *   (jpeg.c).
 *
 *   Ownership: fr_photo_crops writes into the caller's buffer; the photos are read and reduced
 *   one at a time and kept only while the crops run (at most 21, each under 1024 pixels on its
 *   shorter side once reduced).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frtui/dataio.h"
#include "frtui/devtools.h"
#include "frtui/opt.h"
#include "frtui/jpeg.h"
#include "frtui/png.h"
#include "frtui/cli.h"

/* The two photo sets and their splits, as paths under the folder the Debian packages are
 * unpacked into (`make photos`: build/deb).  Licences are listed in samples/README.md.
 * "skimage" (the default, what every real-network table in the README was measured on): seven
 * calibration and four evaluation photographs from python3-skimage.  Not used there: the images
 * whose docstring states no licence (motorcycle_left/right, moon) and the drawings and scans
 * (text, page, horse, logo, color).
 * "wide" (session 16, `make samples-real PHOTO_SET=wide`): photographs only -- the skimage ones
 * without its two micrographs (ihc, cell), plus mate-backgrounds' nature folder, the
 * plasma-workspace-wallpapers that are photographs and python3-sklearn's two -- 21 for
 * calibration and 12 for evaluation, about a third of each package's on the evaluation side. */
#define SKI "usr/lib/python3/dist-packages/skimage/data/"
#define MATE "usr/share/backgrounds/mate/nature/"
#define KDE(n) "usr/share/wallpapers/" n "/contents/images/2560x1600.jpg"
#define SKL "usr/lib/python3/dist-packages/sklearn/datasets/images/"
static const char *const skimage_calib[] = {SKI "astronaut.png", SKI "coffee.png", SKI "ihc.png", SKI "camera.png",
                                            SKI "grass.png", SKI "brick.png", SKI "cell.png"};
static const char *const skimage_eval[] = {SKI "chelsea.png", SKI "clock_motion.png", SKI "coins.png", SKI "gravel.png"};
static const char *const wide_calib[] = {
    SKI "astronaut.png", SKI "coffee.png", SKI "camera.png", SKI "grass.png", SKI "brick.png",
    MATE "Aqua.jpg", MATE "Blinds.jpg", MATE "FreshFlower.jpg", MATE "Garden.jpg", MATE "GreenMeadow.jpg",
    MATE "RainDrops.jpg", MATE "TwoWings.jpg", MATE "Wood.jpg",
    KDE("BytheWater"), KDE("ColdRipple"), KDE("DarkestHour"), KDE("FallenLeaf"), KDE("Grey"),
    KDE("OneStandsOut"), KDE("summer_1am"), SKL "china.jpg"};
static const char *const wide_eval[] = {
    SKI "chelsea.png", SKI "clock_motion.png", SKI "coins.png", SKI "gravel.png",
    MATE "Dune.jpg", MATE "LadyBird.jpg", MATE "Storm.jpg", MATE "YellowFlower.jpg",
    KDE("EveningGlow"), KDE("Path"), KDE("ColorfulCups"), SKL "flower.jpg"};

#define NAMES(a) (*n = (int)(sizeof a / sizeof *a), a)
const char *const *fr_photo_split(int set, int split, int *n)
{
    if (set == FR_PHOTO_WIDE) return split == FR_PHOTO_CALIB ? NAMES(wide_calib) : NAMES(wide_eval);
    return split == FR_PHOTO_CALIB ? NAMES(skimage_calib) : NAMES(skimage_eval);
}

/* Shrinks *img (packed RGB, w x h) in place of itself by k = floor(min(w, h) / BASE) when k >= 2:
 * each output pixel is the rounded mean of a k x k block (a trailing partial block is dropped). */
static void box_reduce(uint8_t **img, int *w, int *h)
{
    const int k = (*w < *h ? *w : *h) / FR_PHOTO_BASE_SIDE;
    if (k < 2) return;
    const int ow = *w / k, oh = *h / k;
    uint8_t *o = fr_amalloc((size_t)ow * oh * 3), *src = *img;
    if (!o) fr_abort(__FILE__, __LINE__, "photo-set: out of memory reducing a %dx%d photo", *w, *h);
    const unsigned kk = (unsigned)(k * k);
    for (int y = 0; y < oh; y++)
        for (int x = 0; x < ow; x++)
            for (int c = 0; c < 3; c++) {
                unsigned sum = 0;
                for (int dy = 0; dy < k; dy++)
                    for (int dx = 0; dx < k; dx++) sum += src[3 * ((size_t)(y * k + dy) * *w + (size_t)x * k + dx) + c];
                o[3 * ((size_t)y * ow + x) + c] = (uint8_t)((sum + kk / 2) / kk);
            }
    fr_afree(src);
    *img = o;
    *w = ow;
    *h = oh;
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
        rc = fr_image_read(path, &img[p], &w[p], &h[p], e);
        if (rc == FR_OK) box_reduce(&img[p], &w[p], &h[p]);
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
    const char *dir = "build/deb", *out = NULL;
    int split = -1, set = FR_PHOTO_SKIMAGE, n = 1024, size = 224;
    uint64_t seed = 1;
    fr_opt t[] = {
        {.name = "--dir", .kind = FR_OPT_STR, .dst = &dir},
        {.name = "--split", .kind = FR_OPT_CHOICE, .dst = &split, .choices = "calib|eval"},
        {.name = "--set", .kind = FR_OPT_CHOICE, .dst = &set, .choices = "skimage|wide"},
        {.name = "--n", .kind = FR_OPT_INT, .dst = &n, .lo = 1, .hi = 1000000},
        {.name = "--size", .kind = FR_OPT_INT, .dst = &size, .lo = 8, .hi = 4096},
        {.name = "--seed", .kind = FR_OPT_U64, .dst = &seed, .lo = 0, .hi = 9223372036854775807LL},
        {.name = "--out", .alias = "-o", .kind = FR_OPT_STR, .dst = &out},
        {.name = NULL},
    };
    static const char help[] =
        "usage: frtui-dev photo-set --split calib|eval [--set skimage|wide] [--n N] [--size S] [--seed S] [--dir DIR]\n"
        "                           -o OUT.npy\n"
        "  N random square crops (side 35..100 % of the shorter side, random position, random left-right flip)\n"
        "  of the photographs of one split, bilinear to SxS, uint8 N,3,S,S (model sees x/255); photos with a\n"
        "  shorter side of 1024 or more are first box-reduced by an integer factor\n"
        "  --set skimage (default): python3-skimage, calib astronaut coffee ihc camera grass brick cell,\n"
        "      eval chelsea clock_motion coins gravel\n"
        "  --set wide: 21 calib / 12 eval photographs from python3-skimage, mate-backgrounds,\n"
        "      plasma-workspace-wallpapers and python3-sklearn (samples/README.md lists them)\n"
        "  DIR: where the Debian packages are unpacked, default build/deb (make photos [PHOTO_SET=wide])\n";
    if (fr_opt_wants_help(argc, argv)) { fputs(help, stdout); return 0; }
    fr_err pe;
    fr_err_clear(&pe);
    if (fr_opt_parse(t, argc, argv, NULL, 0, NULL, &pe)) { fprintf(stderr, "frtui-dev photo-set: %s\n", pe.msg); return 2; }
    if (split < 0 || !out) { fprintf(stderr, "frtui-dev photo-set: needs --split calib|eval and -o OUT.npy\n"); return 2; }
    int np_;
    const char *const *names = fr_photo_split(set, split, &np_);
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
